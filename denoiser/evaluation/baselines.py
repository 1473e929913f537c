"""Classical denoisers to compare the LSTMs against, each behind one signature: run(noisy, sigma).

`noisy` is float32 (H, W, C) in [0, 1] with C = 1 or 3; `sigma` is the Gaussian noise level on
the 0..255 scale, or 0 when unknown (salt-and-pepper, camera noise): methods that need one then
estimate it.
Parameters that are not the noise level were chosen once on crops of the training photos
(astronaut, brick, clock), never on the benchmark photos.
"""

from __future__ import annotations

import importlib.util
import time
from functools import lru_cache
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import ndimage

from denoiser.errors import DenoiserError, choose
from denoiser.noise.level import estimate_sigma
from denoiser.scenarios import get_scenario


@dataclass(frozen=True)
class Baseline:
    key: str
    title: str
    run: Callable[[np.ndarray, float], np.ndarray]
    package: str | None = None
    """The optional package the method needs, when it may be missing (the hosted demo has no bm3d)."""

    @property
    def available(self) -> bool:
        return self.package is None or importlib.util.find_spec(self.package) is not None


def _known_sigma(noisy: np.ndarray, sigma: float) -> float:
    """The given noise level, or the blind estimate when none is given (at least 1, so no method divides by 0)."""
    return float(sigma) if sigma > 0 else max(1.0, estimate_sigma(noisy))


def _per_channel(noisy: np.ndarray, filter_plane: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.stack([filter_plane(noisy[..., c]) for c in range(noisy.shape[-1])], axis=-1)


def median(size: int) -> Callable[[np.ndarray, float], np.ndarray]:
    """A size x size median on each channel; the sigma is not used."""
    def run(noisy: np.ndarray, sigma: float) -> np.ndarray:
        return _per_channel(noisy, lambda plane: ndimage.median_filter(plane, size, mode="reflect"))
    return run


def adaptive_median_plane(plane: np.ndarray, max_window: int = 11) -> np.ndarray:
    """The adaptive median filter (Hwang and Haddad, 1995) on one channel, vectorised.

    A pixel's window grows from 3x3 until its median is not an extreme (min < median < max). The
    pixel is then kept if it is not an extreme itself, else replaced by that median; pixels whose
    window reaches `max_window` without such a median get the last median. Up to 11x11 the filter
    still restores density 0.7 (a 7x7 limit loses about 6 dB there on the training photos).
    """
    output = plane.copy()
    pending = np.ones(plane.shape, dtype=bool)
    for size in range(3, max_window + 1, 2):
        low = ndimage.minimum_filter(plane, size, mode="reflect")
        high = ndimage.maximum_filter(plane, size, mode="reflect")
        middle = ndimage.median_filter(plane, size, mode="reflect")
        settled = pending & (low < middle) & (middle < high)
        is_impulse = (plane <= low) | (plane >= high)
        output[settled] = np.where(is_impulse, middle, plane)[settled]
        pending &= ~settled
        if not pending.any():
            return output
    output[pending] = middle[pending]
    return output


def adaptive_median(noisy: np.ndarray, sigma: float) -> np.ndarray:
    return _per_channel(noisy, adaptive_median_plane)


def gaussian_blur(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur whose width grows with the noise (0.7 px at sigma 10, 1.2 at 25, 2.1 at 50)."""
    width = 0.4 + _known_sigma(noisy, sigma) / 30.0
    return ndimage.gaussian_filter(noisy, sigma=(width, width, 0), mode="reflect")


def non_local_means(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """scikit-image's fast non-local means with its documented setting h = 0.8 sigma."""
    from skimage.restoration import denoise_nl_means  # scikit-image and bm3d load on first use

    level = _known_sigma(noisy, sigma) / 255.0
    color = noisy.shape[-1] == 3
    image = noisy if color else noisy[..., 0]
    result = denoise_nl_means(image, h=0.8 * level, sigma=level, patch_size=5, patch_distance=6,
                              fast_mode=True, channel_axis=-1 if color else None)
    return result if color else result[..., None]


def total_variation(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Chambolle's total-variation denoising, weight = sigma on the 0..1 scale."""
    from skimage.restoration import denoise_tv_chambolle

    weight = _known_sigma(noisy, sigma) / 255.0
    return denoise_tv_chambolle(noisy, weight=weight, channel_axis=-1)


def wavelet(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """BayesShrink soft thresholding of Daubechies-2 wavelets; color is denoised in YCbCr."""
    from skimage.restoration import denoise_wavelet

    return denoise_wavelet(noisy, sigma=_known_sigma(noisy, sigma) / 255.0, wavelet="db2",
                           method="BayesShrink", mode="soft", rescale_sigma=True,
                           convert2ycbcr=noisy.shape[-1] == 3, channel_axis=-1)


def block_matching_3d(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """BM3D from the `bm3d` package (Mäkinen, Azzari and Foi); color goes through CBM3D (`bm3d_rgb`)."""
    import bm3d

    sigma_psd = _known_sigma(noisy, sigma) / 255.0
    if noisy.shape[-1] == 3:
        return bm3d.bm3d_rgb(noisy, sigma_psd)
    return np.asarray(bm3d.bm3d(noisy[..., 0], sigma_psd)).reshape(noisy.shape)


def gaussian_model(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """The bundled LSTM for Gaussian noise (gray or color) at the given or estimated sigma: what the lab
    offered camera photos before it had a camera model."""
    from denoiser.inference.tiled import denoise

    return denoise(_bundled_gaussian_model(noisy.shape[-1]), noisy, _known_sigma(noisy, sigma))


@lru_cache(maxsize=2)
def _bundled_gaussian_model(channels: int):
    """Loaded once per process: a baseline only reads it."""
    from denoiser.models.bundled import load_pretrained

    return load_pretrained("color-gaussian" if channels == 3 else "gray-gaussian").model


BASELINES: dict[str, Baseline] = {
    b.key: b for b in (
        Baseline("median", "Median 3×3", median(3)),
        Baseline("median-5", "Median 5×5", median(5)),
        Baseline("adaptive-median", "Adaptive median (up to 11×11)", adaptive_median),
        Baseline("gaussian-blur", "Gaussian blur", gaussian_blur),
        Baseline("nlm", "Non-local means", non_local_means),
        Baseline("tv", "Total variation (Chambolle)", total_variation),
        Baseline("wavelet", "Wavelet (BayesShrink)", wavelet),
        Baseline("bm3d", "BM3D", block_matching_3d, package="bm3d"),
        Baseline("gaussian-lstm", "LSTM for Gaussian noise (bundled)", gaussian_model),
    )
}


NOT_HOSTED = ("BM3D is not installed here: its license (Tampere University) asks for the authors' consent before "
              "it is copied to a server, so the hosted demo leaves it out. Run the lab on your own machine to compare.")
"""What a page says where an optional baseline's package is missing."""


def available_baselines() -> list[str]:
    """The baselines whose packages are installed."""
    return [key for key, baseline in BASELINES.items() if baseline.available]


def baselines_for(scenario_key: str) -> list[str]:
    """The baselines worth showing for a scenario's noise, strongest first (those installed)."""
    kind = get_scenario(scenario_key).noise_kind
    if kind == "salt-pepper":
        keys = ["adaptive-median", "median", "median-5", "bm3d"]
    elif kind == "camera":  # blind: each at the estimated sigma
        keys = ["bm3d", "gaussian-lstm", "nlm", "wavelet"]
    else:
        keys = ["bm3d", "nlm", "tv", "wavelet", "gaussian-blur", "median"]
    return [key for key in keys if BASELINES[key].available]


def get_baseline(key: str) -> Baseline:
    return choose(BASELINES, key, "baseline")


def run_baseline(key: str, noisy: np.ndarray, sigma: float) -> tuple[np.ndarray, float]:
    """The denoised image (float32, same shape, in [0, 1]) and the seconds the method took."""
    baseline = get_baseline(key)
    if not baseline.available:
        raise DenoiserError(f"{baseline.title} needs the {baseline.package} package, which is not installed "
                            f"(pip install -r requirements.txt).")
    if noisy.ndim != 3 or noisy.shape[-1] not in (1, 3):
        raise DenoiserError(f"Expected an (H, W, 1) or (H, W, 3) image, got shape {noisy.shape}.")
    if sigma < 0:
        raise DenoiserError("The noise sigma must be zero or positive.")
    image = np.ascontiguousarray(noisy, dtype=np.float32)
    started = time.perf_counter()
    denoised = baseline.run(image, float(sigma))
    seconds = time.perf_counter() - started
    return np.clip(denoised, 0.0, 1.0).astype(np.float32).reshape(noisy.shape), seconds
