"""The ``ember`` command: train a named model on MNIST or Fashion-MNIST, evaluate it, predict with it.

    ember train --dataset mnist --model mlp --epochs 5 --out runs/mnist-mlp
    ember evaluate runs/mnist-mlp
    ember predict runs/mnist-mlp digit.png sample.npy
    ember run train.py --epochs 3      # a PyTorch script, torch resolved to ember (ember/run.py)

This is the only place where strings become objects: datasets, models and optimizers are
looked up in one registry each, and an unknown name is an error that lists the valid ones.
Errors are one line on stderr (``ember: error: ...``, exit status 1); ``--debug`` shows the
traceback instead.
"""
import argparse
import json
import os
import sys

import numpy as np

__all__ = ["main", "DATASETS", "OPTIMIZERS"]

# name on the command line -> class in ember.datasets
DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
# name on the command line -> class in ember.optim
OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
              "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "NAdam", "radam": "RAdam", "lion": "Lion"}
RUN_FORMAT = "ember.run"
# ----- gpt-cli -----
# text datasets train language models by steps (ember/_cli_text.py); the rest are image datasets
DATASETS["tinyshakespeare"] = "TinyShakespeare"
TEXT_DATASETS = ("tinyshakespeare",)
TEXT_MODELS = ("gpt", "lstm")
# defaults that differ between image and text training: option -> (image, text)
# (None: the option does not apply to that kind, and giving it is an error)
KIND_DEFAULTS = {"model": ("mlp", "gpt"), "batch_size": (128, 12), "optimizer": ("adam", "adamw"),
                 "weight_decay": (0.0, 0.1), "epochs": (5, None), "val_split": (0.0, None), "subset": (0, None),
                 "steps": (None, 2000), "block_size": (None, 64), "n_layer": (None, None), "n_head": (None, None),
                 "n_embd": (None, None), "warmup_steps": (None, 100), "eval_interval": (None, 250),
                 "eval_batches": (None, 50)}
TEXT_ONLY = ("steps", "block_size", "n_layer", "n_head", "n_embd", "warmup_steps", "eval_interval", "eval_batches")
# ----- end gpt-cli -----


class CLIError(Exception):
    """A mistake the user can fix; printed as one line."""


def _lookup(registry, name, what):
    if name not in registry:
        raise CLIError(f"unknown {what} {name!r}; valid names: {', '.join(registry)}")
    return registry[name]


def _dataset_class(name):
    import ember.datasets

    return getattr(ember.datasets, _lookup(DATASETS, name, "dataset"))


def _optimizer(name, params, lr, weight_decay, momentum):
    import ember.optim

    cls = getattr(ember.optim, _lookup(OPTIMIZERS, name, "optimizer"), None)
    if cls is None:
        valid = [k for k, v in OPTIMIZERS.items() if hasattr(ember.optim, v)]
        raise CLIError(f"optimizer {name!r} is not available in this ember; valid names: {', '.join(valid)}")
    kwargs = {"lr": lr, "weight_decay": weight_decay}
    if momentum:
        if name not in ("sgd", "rmsprop"):
            raise CLIError(f"--momentum applies to sgd and rmsprop, not {name}")
        kwargs["momentum"] = momentum
    return cls(params, **kwargs)


# ----- data -----
def _load_split(name, data_dir, train, download=False):
    from ember.datasets import DatasetNotFoundError

    cls = _dataset_class(name)
    try:
        return cls(root=data_dir, train=train, download=download)
    except DatasetNotFoundError:
        looked = ", ".join(str(f) for f in cls.search_folders(data_dir))
        raise CLIError(f"{name} ({'train' if train else 'test'} split) not found in {looked}; pass --download to "
                       f"fetch it, or --data-dir DIR for a folder that holds its files") from None


def _normalize(x, mean, std):
    """(x - mean) / std in place: x is the dataset's own float32 array."""
    x -= np.float32(mean)
    x /= np.float32(std)
    return x


def _loader(x, y, batch_size, shuffle=False, generator=None, sampler=None):
    from ember.data import DataLoader, TensorDataset

    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=generator,
                      sampler=sampler)


# ----- run directory (ember/_run_folder.py: atomic writes, checked reads) -----
def _read_config(run_dir):
    """config.json of ``run_dir``: its form, version, model and weights path checked."""
    from ._run_folder import read_config

    return read_config(str(run_dir))


def _load_model(run_dir, config):
    """The run's model: the weights' shapes are checked against the config before it is built."""
    from ember.models import build_model

    from ._run_folder import load_weights

    state = load_weights(str(run_dir), config)
    model = build_model(config["model"])
    model.load_state_dict(state)
    return model.eval()


def _weights_name():
    try:
        import safetensors  # noqa: F401
    except ImportError:
        return "model.npz"
    return "model.safetensors"


def _distributed():
    """True when started by ``mpirun -n N`` with N > 1: then train data-parallel over MPI."""
    from ember import distributed as dist

    return dist.launched_by_mpirun()


def _is_main_process():
    """The one place that decides which process writes the run directory: rank 0."""
    from ember import distributed as dist

    return dist.get_rank() == 0


# ----- commands -----
def _check_train_args(args):
    for name, value, low in (("--epochs", args.epochs, 1), ("--batch-size", args.batch_size, 1),
                             ("--subset", args.subset, 0), ("--seed", args.seed, 0)):
        if value < low:
            raise CLIError(f"{name} must be at least {low}, got {value}")
    if not args.lr > 0:
        raise CLIError(f"--lr must be positive, got {args.lr}")
    if not 0 <= args.val_split < 1:
        raise CLIError(f"--val-split must be in [0, 1), got {args.val_split}")
    _lookup(OPTIMIZERS, args.optimizer, "optimizer")


def _train_data(args):
    """Normalized (x, y) for training, validation (None without --val-split) and test; the stats."""
    train_set = _load_split(args.dataset, args.data_dir, True, args.download)
    test_set = _load_split(args.dataset, args.data_dir, False, args.download)
    x, y = train_set.data, train_set.targets
    if args.subset:
        x, y = x[:args.subset], y[:args.subset]
    val = None
    n_val = int(round(len(x) * args.val_split))
    if n_val:  # a seeded permutation's first n_val images are held out
        perm = np.random.default_rng(args.seed).permutation(len(x))
        val, x, y = (x[perm[:n_val]], y[perm[:n_val]]), x[perm[n_val:]], y[perm[n_val:]]
    mean, std = float(x.mean()), float(x.std())  # the training images' statistics, applied to all
    if not (np.isfinite(mean) and std > 0):
        raise CLIError(f"{args.dataset}: the training images have mean {mean} and standard deviation {std}; "
                       "normalizing needs a finite mean and a positive deviation")
    x = _normalize(x, mean, std)
    if val is not None:
        val = (_normalize(val[0], mean, std), val[1])
    test = (_normalize(test_set.data, mean, std), test_set.targets)
    stats = {"shape": list(x.shape[1:]), "mean": mean, "std": std}
    return (x, y), val, test, list(test_set.classes), stats


def _save_run(writer, model, config, history, plot=None):
    """Write the weights, config.json, history.json and curves.png (by ``plot(history, path)``,
    default ``history.plot``), then put them at the run folder in one atomic step."""
    import ember

    ember.save(dict(model.state_dict()), writer.path(config["weights"]))
    with open(writer.path("config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    history.save(writer.path("history.json"))
    saved = f"{config['weights']}, config.json, history.json"
    try:
        (plot or type(history).plot)(history, writer.path("curves.png"))
        saved += " and curves.png"
    except ImportError:
        print("curves.png skipped: matplotlib is not installed (pip install 'ember[plot]')")
    writer.commit()
    print(f"saved {saved} in {writer.out}")


def _run_writer(args):
    """The run folder's writer on the process that writes it (rank 0), None on the others; every
    process refuses an existing run without --overwrite before training starts."""
    from ._run_folder import RunWriter, check_out

    if not _is_main_process():
        check_out(args.out, args.overwrite, clean=False)
        return None
    return RunWriter(args.out, args.overwrite)


def cmd_train(args):
    from ember.models import model_config

    # ----- gpt-cli -----
    text = args.dataset in TEXT_DATASETS
    for k, defaults in KIND_DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, defaults[text])
        elif text and k not in TEXT_ONLY and defaults[1] is None:
            raise CLIError(f"--{k.replace('_', '-')} applies to image datasets; {args.dataset} is text and trains "
                           "a language model for --steps (see ember train --help)")
        elif not text and k in TEXT_ONLY:
            raise CLIError(f"--{k.replace('_', '-')} applies to text datasets ({', '.join(TEXT_DATASETS)}); "
                           f"{args.dataset} trains for --epochs")
    if text:
        from ._cli_text import cmd_train_text

        return cmd_train_text(args)
    if args.model in TEXT_MODELS:
        raise CLIError(f"{args.model} is a language model: train it on a text dataset ({', '.join(TEXT_DATASETS)})")
    # ----- end gpt-cli -----
    _check_train_args(args)
    model_cfg = model_config(args.model)  # an unknown name fails before the data is read
    distributed = _distributed()
    if distributed:
        from ember import distributed as dist

        rank, world = dist.init()
        if args.batch_size % world:
            raise ValueError(f"--batch-size {args.batch_size} must divide evenly among {world} ranks")
    writer = _run_writer(args)  # an existing run or an unwritable --out fails now, not after training
    try:
        _train_images(args, model_cfg, distributed, writer)
    finally:
        if writer is not None:
            writer.discard()  # a no-op once committed


def _train_images(args, model_cfg, distributed, writer):
    import ember
    from ember import nn
    from ember.models import build_model
    from ember.train import Trainer

    if distributed:
        from ember import distributed as dist

        world = dist.get_world_size()
    ember.manual_seed(args.seed)  # the weights and dropout
    shuffle_gen = ember.Generator(args.seed + 1)  # the data order: a stream of its own

    (x, y), val, (xt, yt), classes, stats = _train_data(args)
    # fit the model's input and output sizes to the data, whichever of these options it has
    sizes = {"in_features": int(np.prod(x.shape[1:])), "in_channels": int(x.shape[1]),
             "image_size": int(x.shape[-1]), "num_classes": len(classes)}
    model_cfg.update({k: v for k, v in sizes.items() if k in model_cfg})
    model = build_model(model_cfg)
    optimizer = _optimizer(args.optimizer, model.parameters(), args.lr, args.weight_decay, args.momentum)
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), metrics=["accuracy"], progress=not args.quiet,
                      distributed=distributed)
    if distributed:  # --batch-size is the global batch: each rank takes its share of a disjoint shard
        sampler = dist.DistributedSampler(len(x), shuffle=True, seed=args.seed)
        train_loader = _loader(x, y, args.batch_size // world, sampler=sampler)
    else:
        train_loader = _loader(x, y, args.batch_size, shuffle=True, generator=shuffle_gen)

    n_params = sum(p.numel() for p in model.parameters())
    if _is_main_process():
        print(f"{args.model} ({n_params:,} parameters) on {args.dataset}: {len(x)} training images"
              + (f", {len(val[1])} for validation" if val else "") + f", {len(xt)} test images"
              + (f", {world} ranks" if distributed else ""))
    history = trainer.fit(train_loader, args.epochs, val_loader=_loader(*val, 1000) if val else None)
    test = trainer.evaluate(_loader(xt, yt, 1000))
    if _is_main_process():
        config = {
            "format": RUN_FORMAT, "version": 1, "model": model_cfg, "weights": _weights_name(),
            "dataset": args.dataset, "classes": classes, "input": stats,
            "train": {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "optimizer", "weight_decay",
                                                      "momentum", "seed", "val_split", "subset")},
            "test": test,
        }
        _save_run(writer, model, config, history)
        print(f"test accuracy: {test['accuracy']:.4f}")


def cmd_evaluate(args):
    from ember import nn
    from ember.train import Trainer

    from ._run_folder import check_image_run

    config = _read_config(args.run_dir)
    if "vocab" in config:  # ----- gpt-cli: a language model run -----
        from ._cli_text import cmd_evaluate_text

        return cmd_evaluate_text(args, config)
    check_image_run(config, str(args.run_dir))
    dataset = args.dataset or config["dataset"]
    model = _load_model(args.run_dir, config)
    test_set = _load_split(dataset, args.data_dir, False, args.download)
    if list(test_set.data.shape[1:]) != config["input"]["shape"]:
        raise CLIError(f"{dataset} has images of shape {list(test_set.data.shape[1:])}; the run "
                       f"{args.run_dir} takes {config['input']['shape']} (its config.json input.shape)")
    xt = _normalize(test_set.data, config["input"]["mean"], config["input"]["std"])
    trainer = Trainer(model, None, nn.CrossEntropyLoss(), metrics=["accuracy"], progress=False)
    test = trainer.evaluate(_loader(xt, test_set.targets, 1000))
    if not np.isfinite(test["loss"]):
        raise CLIError(f"the test loss of run {args.run_dir} on {dataset} is {test['loss']}; check the run's "
                       "weights and its config.json input.mean and input.std")
    print(f"test loss: {test['loss']:.4f}")
    print(f"test accuracy: {test['accuracy']:.4f}")


def _read_npy(path, image_shape):
    """A .npy file's array of C*H*W values, its header checked against the file before reading."""
    c, h, w = image_shape
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                raise ValueError("the file is empty")
            version = fmt.read_magic(f)
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read_header(f)
            data = os.fstat(f.fileno()).st_size - f.tell()
    except (OSError, ValueError, EOFError) as e:
        raise CLIError(f"cannot read {path} as a .npy array: {e}") from None
    if dtype.kind not in "uif" or dtype.fields is not None:
        raise CLIError(f"{path}: expected a numeric image array, got dtype {dtype}")
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if n != c * h * w:
        raise CLIError(f"{path}: expected an image of {c}x{h}x{w} = {c * h * w} values, got shape {tuple(shape)}")
    if data < n * dtype.itemsize:
        raise CLIError(f"{path}: its header says shape {tuple(shape)} ({n * dtype.itemsize} bytes), but the file "
                       f"holds {data} bytes after it (truncated)")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise CLIError(f"cannot read {path} as a .npy array: {e}") from None


def _read_image(path, shape, invert):
    """A (C, H, W) float32 image in [0, 1] from a PNG/JPEG (through Pillow) or a .npy file."""
    c, h, w = shape
    if not os.path.isfile(path):
        raise CLIError(f"cannot read image {path}: " + ("it is not a regular file" if os.path.exists(path) else
                                                       "no such file"))
    if path.lower().endswith(".npy"):
        a = _read_npy(path, shape).reshape(c, h, w)
        a = a / np.float32(255) if a.dtype.kind in "ui" else a.astype(np.float32)
    else:
        try:
            from PIL import Image
        except ImportError:
            raise CLIError("reading PNG or JPEG images needs Pillow: pip install 'ember[images]' "
                           "(or pass .npy arrays)") from None
        try:
            img = Image.open(path)
            img = img.convert("L" if c == 1 else "RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise CLIError(f"cannot read image {path}: {e}") from None
        if img.size != (w, h):
            img = img.resize((w, h), Image.BILINEAR)
        a = np.asarray(img, dtype=np.float32) / np.float32(255)
        a = a.reshape(h, w, c).transpose(2, 0, 1)
    if invert:
        a = 1 - a
    if not np.isfinite(a).all():
        raise CLIError(f"{path}: the image holds {int(np.isnan(a).sum())} NaN and {int(np.isinf(a).sum())} "
                       "infinite values; expected finite pixel values")
    return a.astype(np.float32, copy=False)


def _image_run(run_dir, command):
    """The run's config, refusing a language model run (no images to classify or export)."""
    from ._run_folder import check_image_run

    config = _read_config(run_dir)
    if "vocab" in config:
        raise CLIError(f"{command}: run {str(run_dir)!r} is a language model ({config['model']['name']} on "
                       f"{config.get('dataset')}); it takes text: use 'ember generate {run_dir} --prompt TEXT'")
    return check_image_run(config, str(run_dir))


def cmd_predict(args):
    import ember

    config = _image_run(args.run_dir, "predict")
    model = _load_model(args.run_dir, config)
    inp = config["input"]
    x = np.stack([_read_image(p, inp["shape"], args.invert) for p in args.images])
    config_path = os.path.join(args.run_dir, "config.json")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, by image
        x = _normalize(x, inp["mean"], inp["std"])
        for path, image in zip(args.images, x):
            if not np.isfinite(image).all():
                raise CLIError(f"{path}: normalized by {config_path}'s input.mean {inp['mean']} and input.std "
                               f"{inp['std']}, the image is not finite (overflow)")
        with ember.no_grad():
            logits = ember.nn.utils.fuse(model)(x)._data
    for path, row in zip(args.images, logits):
        if not np.isfinite(row).all():
            raise CLIError(f"{path}: the model's output is not finite ({', '.join(map(str, row[:3]))}, ...); "
                           f"check the run's weights and {config_path}'s input.mean and input.std")
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z)
    probs /= probs.sum(axis=1, keepdims=True)
    classes = config["classes"]
    for path, p in zip(args.images, probs):
        k = int(p.argmax())
        print(f"{path}: {classes[k]} ({p[k]:.4f})")


# ----- argument parsing -----
def cmd_export(args):
    import ember.onnx

    config = _image_run(args.run_dir, "export")
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {args.output}: the folder {folder} does not exist")
    model = _load_model(args.run_dir, config)
    shape = [1] + list(config["input"]["shape"])
    ember.onnx.export(model, np.zeros(shape, np.float32), args.output, opset_version=args.opset)
    print(f"wrote {args.output} (opset {args.opset}, input 'input' of shape [batch, "
          f"{', '.join(map(str, shape[1:]))}], normalized as in training: (x - {config['input']['mean']:.4f}) / "
          f"{config['input']['std']:.4f})")


def _parser():
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback on errors")
    p = argparse.ArgumentParser(prog="ember", description="Train, evaluate and use ember models on MNIST-like data.",
                                parents=[debug])
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser("train", parents=[debug], help="train a model and evaluate it on the test set",
                       description="Train a model, evaluate it on the test set, and save the run in --out.")
    t.add_argument("--dataset", default="mnist", help=f"one of {', '.join(DATASETS)} (default: mnist)")
    t.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder holding the dataset's files (or a <dataset>/ folder with them)")
    t.add_argument("--download", action="store_true", help="fetch the dataset if it is not found (verified by SHA-256)")
    t.add_argument("--model", default=None, help="mlp or cnn; gpt or lstm for text (default: mlp; text: gpt)")
    t.add_argument("--epochs", type=int, default=None, help="default: 5")
    t.add_argument("--batch-size", type=int, default=None, help="default: 128 (text: 12)")
    t.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: 0.001)")
    t.add_argument("--optimizer", default=None, help=f"one of {', '.join(OPTIMIZERS)} (default: adam; text: adamw)")
    t.add_argument("--weight-decay", type=float, default=None, help="default: 0 (text: 0.1, on weight matrices)")
    t.add_argument("--momentum", type=float, default=0.0, help="for sgd and rmsprop (default: 0)")
    t.add_argument("--seed", type=int, default=0, help="seeds the weights, dropout and the data order (default: 0)")
    t.add_argument("--val-split", type=float, default=None, metavar="FRACTION",
                   help="hold out this fraction of the training set for per-epoch validation (default: 0)")
    t.add_argument("--subset", type=int, default=None, metavar="N",
                   help="train on the first N training images only (a quick check)")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.add_argument("--out", required=True, metavar="RUN_DIR", help="folder for the weights, config and curves")
    t.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (as a whole, in one atomic step)")
    t.set_defaults(func=cmd_train)
    # ----- gpt-cli: language models on text datasets -----
    lm = t.add_argument_group("language models (--dataset tinyshakespeare --model gpt or lstm)")
    lm.add_argument("--steps", type=int, default=None, help="training steps (default: 2000)")
    lm.add_argument("--block-size", type=int, default=None, help="context length in characters (default: 64)")
    lm.add_argument("--n-layer", type=int, default=None, help="layers (default: gpt 4, lstm 2)")
    lm.add_argument("--n-head", type=int, default=None, help="gpt attention heads (default: 4)")
    lm.add_argument("--n-embd", type=int, default=None, help="width: gpt embedding (128), lstm hidden size (256)")
    lm.add_argument("--warmup-steps", type=int, default=None, help="linear warm-up, then cosine decay (default: 100)")
    lm.add_argument("--eval-interval", type=int, default=None, help="steps between validations (default: 250)")
    lm.add_argument("--eval-batches", type=int, default=None, help="validation batches per evaluation (default: 50)")

    g = sub.add_parser("generate", parents=[debug], help="generate text with a trained language model run")
    g.add_argument("run_dir", metavar="RUN_DIR")
    g.add_argument("--prompt", default="\n", help="the text to continue (default: a newline)")
    g.add_argument("--max-new-tokens", type=int, default=500, metavar="N", help="characters to add (default: 500)")
    g.add_argument("--temperature", type=float, default=1.0, help="below 1: safer, above 1: wilder; 0: greedy")
    g.add_argument("--top-k", type=int, default=None, metavar="K", help="sample among the K most likely only")
    g.add_argument("--seed", type=int, default=0, help="default: 0")
    g.set_defaults(func=_cmd_generate)
    # ----- end gpt-cli -----

    e = sub.add_parser("evaluate", parents=[debug], help="evaluate a trained run on the test set")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--dataset", default=None, help="default: the dataset the run was trained on")
    e.add_argument("--data-dir", default=None, metavar="DIR")
    e.add_argument("--download", action="store_true", help="fetch the dataset if it is not found")
    e.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", parents=[debug], help="classify images with a trained run")
    pr.add_argument("run_dir", metavar="RUN_DIR")
    pr.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG (needs Pillow) or .npy files")
    pr.add_argument("--invert", action="store_true",
                    help="invert the images (dark ink on a light background, unlike MNIST)")
    pr.set_defaults(func=cmd_predict)

    x = sub.add_parser("export", parents=[debug], help="export a trained run to ONNX")
    x.add_argument("run_dir", metavar="RUN_DIR")
    x.add_argument("output", metavar="MODEL.onnx")
    x.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    x.set_defaults(func=cmd_export)

    r = sub.add_parser("run", help="run a PyTorch script with torch resolved to ember",
                       description="Run an unmodified PyTorch script (or -m MODULE) with torch resolved to ember; "
                                   "the arguments after it are the script's.")
    r.add_argument("script", metavar="SCRIPT.py")
    r.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    r.set_defaults(func=cmd_run)
    return p


def _cmd_generate(args):  # ----- gpt-cli -----
    from ._cli_text import cmd_generate

    cmd_generate(args)


def cmd_run(args):
    from .run import main as run_main

    code = run_main([args.script] + list(args.args))
    if code:
        raise SystemExit(code)


def _abort_other_ranks():
    """Under mpirun, one failing rank ends the job rather than leaving the others waiting."""
    from ember import distributed as dist

    if dist.is_initialized() and dist.get_world_size() > 1:
        sys.stderr.flush()
        dist._state["comm"].Abort(1)


def main(argv=None):
    """Run the ``ember`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"] and argv[1:2] not in (["-h"], ["--help"]):
        from .run import main as run_main  # everything after `run` is the script's, untouched

        return run_main(argv[1:])
    args = _parser().parse_args(argv)  # usage errors: argparse prints them and exits with 2
    debug = getattr(args, "debug", False)
    try:
        args.func(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("ember: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one clear message, not a traceback (--debug shows it)
        if debug:
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"ember: error: {str(msg).strip() or type(e).__name__}", file=sys.stderr)
        _abort_other_ranks()
        return 1
    return 0
