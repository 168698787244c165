import numpy as np
import pytest

from ember.models import build_model, model_config


def test_configs_fill_in_defaults_and_rebuild_the_same_model():
    c = model_config("mlp")
    assert c == {"name": "mlp", "in_features": 784, "hidden": [256, 128], "num_classes": 10, "init": "pytorch"}
    m = build_model(c)
    assert [tuple(p.shape) for p in m.parameters()] == [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]
    assert model_config("cnn", num_classes=5)["num_classes"] == 5


def test_mlp_takes_images_or_flat_vectors():
    m = build_model(model_config("mlp", in_features=12, hidden=[5], num_classes=3))
    x = np.random.default_rng(0).random((4, 1, 3, 4), dtype=np.float32)
    np.testing.assert_allclose(m(x).data, m(x.reshape(4, 12)).data)


def test_cnn_matches_keras_mnist_convnet_in_torch(torch):
    m = build_model(model_config("cnn")).eval()
    assert sum(p.numel() for p in m.parameters()) == 34826  # Keras' summary of mnist_convnet
    tn = torch.nn
    t = tn.Sequential(tn.Conv2d(1, 32, 3), tn.ReLU(), tn.MaxPool2d(2), tn.Conv2d(32, 64, 3), tn.ReLU(),
                      tn.MaxPool2d(2), tn.Flatten(), tn.Dropout(0.5), tn.Linear(1600, 10)).eval()
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(m(x).data, t(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_keras_init_is_glorot_uniform_with_zero_biases():
    m = build_model(model_config("cnn"))
    conv2, fc = m[3], m[8]
    assert not fc.bias.detach().numpy().any() and not conv2.bias.detach().numpy().any()
    limit = np.sqrt(6 / (32 * 9 + 64 * 9))  # Glorot: fan_in + fan_out of a 3x3 conv 32 -> 64
    assert np.abs(conv2.weight.detach().numpy()).max() <= limit and np.abs(conv2.weight.detach().numpy()).max() > 0.9 * limit
    torch_like = build_model(model_config("cnn", init="pytorch"))
    assert torch_like[8].bias.detach().numpy().any()  # PyTorch draws the biases too


def test_model_errors_list_the_valid_choices():
    with pytest.raises(ValueError, match="unknown model 'resnet'; valid names: mlp, cnn"):
        model_config("resnet")
    with pytest.raises(ValueError, match="model 'mlp' has no option 'width'; its options: in_features, hidden"):
        build_model({"name": "mlp", "width": 3})
    with pytest.raises(ValueError, match="at least 10x10"):
        build_model(model_config("cnn", image_size=8))
    with pytest.raises(ValueError, match="unknown init 'he'; valid names: pytorch, keras"):
        build_model(model_config("mlp", init="he"))
    with pytest.raises(ValueError, match="'name' key"):
        build_model({"hidden": [3]})
