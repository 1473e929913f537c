"""The Home page's picture: a held-out photo clean, noisy and denoised by the bundled gray model.

The page shows it from a stored file (`PICTURE`), so its first view neither imports torch nor runs
a model; `python scripts/home_picture.py` writes the file with `make_picture`, and
tests/test_app.py checks that the file is still what the bundled weights give.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PICTURE = Path(__file__).resolve().with_name("home_picture.png")
DEMO_SIGMA = 20.0


def make_picture() -> np.ndarray:
    """A 256-pixel crop of the held-out camera photo, with Gaussian noise of sigma 20 (seed 0), and
    denoised by the bundled gray model: the three side by side, as `PICTURE` stores them."""
    from denoiser.inference.tiled import denoise
    from denoiser.models.bundled import load_pretrained
    from denoiser.noise import GaussianNoise
    from denoiser.samples import sample_photo

    clean = sample_photo("camera", 1)[60:316, 130:386]
    noise = GaussianNoise(DEMO_SIGMA ** 2)
    noisy = noise.apply(clean, np.random.default_rng(0))
    return np.concatenate([clean, noisy, denoise(load_pretrained("gray-gaussian").model, noisy, noise.sigma)], axis=1)
