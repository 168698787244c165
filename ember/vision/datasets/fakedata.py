"""FakeData: random images, the same for the same index (torchvision.datasets.FakeData)."""
import numpy as np

from .utils import pil_image
from .vision import VisionDataset

__all__ = ["FakeData"]


def _to_pil(img):
    """A float (C, H, W) array as ToPILImage converts it: ``mul(255)`` then a cast to uint8 that
    truncates and wraps (as torch's ``.byte()`` does), channels last; C = 1, 3 or 4."""
    c = img.shape[0]
    if c not in (1, 3, 4):
        raise ValueError(f"FakeData: image_size must have 1, 3 or 4 channels to make a PIL image, got {c}")
    u8 = (np.trunc(img * np.float32(255)).astype(np.int64) & 0xFF).astype(np.uint8)
    u8 = np.ascontiguousarray(u8.transpose(1, 2, 0))
    return pil_image(u8[:, :, 0] if c == 1 else u8)


class FakeData(VisionDataset):
    """A fake dataset of ``size`` random images of ``image_size`` (C, H, W) and random labels.

    Item ``i`` seeds ember's global generator with ``i + random_offset`` (saving and restoring
    its state, so the caller's random stream is untouched), draws ``randn(*image_size)`` and a
    label in ``[0, num_classes)``: the same index always gives the same sample. (The values are
    ember's random stream, not torch's, so they differ from torchvision's.)
    """

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        super().__init__(transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index):
        import ember

        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        rng_state = ember.get_rng_state()
        try:
            ember.manual_seed(index + self.random_offset)
            img = ember.randn(*self.image_size)
            target = ember.randint(0, self.num_classes, size=(1,), dtype=ember.long)[0]
        finally:
            ember.set_rng_state(rng_state)
        img = _to_pil(img.numpy())
        img, target = self._transformed(img, target)
        return img, target.item()

    def __len__(self):
        return self.size
