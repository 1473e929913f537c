"""PSNR, SSIM and MSE on all pixels or on a mask (for the held-out test pixels)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from denoiser.training.splits import SplitMasks


def mse_255(clean: np.ndarray, estimate: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared error on the 0..255 scale, the unit of the original notebook's test loss."""
    error = (255.0 * (clean.astype(np.float64) - estimate.astype(np.float64))) ** 2
    return float(np.mean(error[mask] if mask is not None else error))


def psnr(clean: np.ndarray, estimate: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]; inf for a perfect match."""
    mse = mse_255(clean, estimate, mask)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def ssim(clean: np.ndarray, estimate: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean structural similarity, over the mask's pixels when given; nan below 3 pixels a side."""
    side = min(clean.shape[:2])
    if side < 3:
        return float("nan")
    from skimage.metrics import structural_similarity  # here: the command line starts without scikit-image

    window = min(7, side if side % 2 else side - 1)
    _, local = structural_similarity(clean, estimate, data_range=1.0, channel_axis=-1,
                                     win_size=window, full=True)
    local = local.mean(axis=-1)
    return float(local[mask].mean() if mask is not None else local.mean())


@dataclass(frozen=True)
class Scores:
    """How the noisy input and the denoised output compare to the clean image on one pixel set."""

    pixels: int
    noisy_psnr: float
    denoised_psnr: float
    noisy_ssim: float
    denoised_ssim: float
    noisy_mse: float
    """On the 0..255 scale, the unit of the original notebook's test loss."""
    denoised_mse: float

    @property
    def gain(self) -> float:
        return self.denoised_psnr - self.noisy_psnr

    def to_dict(self) -> dict:
        return {**asdict(self), "gain": self.gain}


def score(clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray,
          mask: np.ndarray | None = None) -> Scores:
    pixels = int(mask.sum()) if mask is not None else clean.shape[0] * clean.shape[1]
    if pixels == 0:
        nan = float("nan")
        return Scores(0, nan, nan, nan, nan, nan, nan)
    return Scores(pixels, psnr(clean, noisy, mask), psnr(clean, denoised, mask), ssim(clean, noisy, mask),
                  ssim(clean, denoised, mask), mse_255(clean, noisy, mask), mse_255(clean, denoised, mask))


def score_splits(clean, noisy, denoised, masks: SplitMasks | None) -> dict[str, Scores]:
    """Scores on the whole image and, when a split is given, on each of its pixel sets."""
    table = {"all": score(clean, noisy, denoised)}
    if masks is not None:
        table.update({name: score(clean, noisy, denoised, mask) for name, mask in masks.items()})
    return table
