"""Blind noise-level estimation, for photos with no clean reference."""

from __future__ import annotations

import numpy as np
from skimage.restoration import estimate_sigma as _wavelet_sigma


def estimate_sigma(image: np.ndarray) -> float:
    """Gaussian noise sigma on the 0..255 scale (wavelet median absolute deviation, averaged over channels)."""
    if min(image.shape[:2]) < 4:
        return 0.0
    sigmas = _wavelet_sigma(image.astype(np.float64), channel_axis=-1, average_sigmas=False)
    return float(255.0 * np.mean(sigmas))
