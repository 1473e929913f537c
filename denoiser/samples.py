"""Built-in sample photos from scikit-image (shipped in its wheel, no download).

They are split once: the bundled weights train on TRAINING_PHOTOS (and on photos from outside
scikit-image, docs/DATA.md), never on BENCHMARK_PHOTOS, which benchmarks score on, so no reported
number comes from an image the model saw.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from denoiser.errors import DenoiserError
from denoiser.images import convert_channels

TRAINING_PHOTOS = ("astronaut", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
                   "brick", "grass", "gravel", "cell", "clock", "text", "page", "colorwheel")
BENCHMARK_PHOTOS = ("camera", "moon", "coins", "coffee", "chelsea")
COLOR_BENCHMARK_PHOTOS = ("coffee", "chelsea")


@lru_cache(maxsize=32)
def _load(name: str) -> np.ndarray:
    import skimage.data  # here, not at the top: the command line starts without scikit-image

    loader = getattr(skimage.data, name, None)
    if name not in TRAINING_PHOTOS + BENCHMARK_PHOTOS or loader is None:
        raise DenoiserError(f"Unknown sample photo '{name}'.")
    array = np.asarray(loader())
    image = array.astype(np.float32) / 255.0
    image = image[..., None] if image.ndim == 2 else image[..., :3]
    image.setflags(write=False)
    return image


def sample_photo(name: str, channels: int | None = None) -> np.ndarray:
    """A sample photo as float32 (H, W, C) in [0, 1], converted to `channels` when given."""
    image = _load(name)
    return convert_channels(image, channels) if channels else image
