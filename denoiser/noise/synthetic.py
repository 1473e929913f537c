"""Noise models: small objects with their parameters, a display name and a seeded `apply`.

Images are float32 arrays in [0, 1], shape (H, W, C). Gaussian variances are given on the
0..255 scale, the unit of the original notebook (variance 100 is sigma 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from denoiser.errors import DenoiserError
from denoiser.noise import camera


def _finish(noisy: np.ndarray, clip: bool, quantize: bool) -> np.ndarray:
    if clip:
        noisy = np.clip(noisy, 0.0, 1.0)
    if quantize:
        noisy = np.round(np.clip(noisy, 0.0, 1.0) * 255.0) / 255.0
    return noisy.astype(np.float32)


@dataclass(frozen=True)
class GaussianNoise:
    """Zero-mean additive Gaussian noise; `variance` on the 0..255 scale, one value or one per channel."""

    variance: float | tuple[float, ...] = 100.0
    clip: bool = True
    quantize: bool = False

    def __post_init__(self):
        variance = np.asarray(self.variance, dtype=float)
        if not np.all(np.isfinite(variance) & (variance >= 0)):  # NaN fails both comparisons
            raise DenoiserError("Gaussian variance must be a finite number, zero or positive.")

    @property
    def sigma(self) -> float:
        """Standard deviation on the 0..255 scale (the mean over channels when they differ)."""
        return float(np.mean(np.sqrt(np.asarray(self.variance, dtype=float))))

    @property
    def name(self) -> str:
        return f"Gaussian, variance {_fmt(self.variance)} (sigma {self.sigma:.1f})"

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sigma = np.sqrt(np.asarray(self.variance, dtype=np.float64)) / 255.0
        if sigma.ndim == 1 and sigma.size != image.shape[-1]:
            raise DenoiserError(f"{sigma.size} channel variances for an image with {image.shape[-1]} channels.")
        noise = rng.standard_normal(image.shape) * sigma
        return _finish(image + noise, self.clip, self.quantize)


@dataclass(frozen=True)
class SaltPepperNoise:
    """Impulse noise: a `density` fraction of pixels set to 0 or 1 (all channels of a pixel together).

    The original notebook spoke of "variance 100" for salt-and-pepper, which has no meaning for
    impulses; the density (fraction of pixels hit) is the parameter that matters.
    """

    density: float = 0.1
    salt_ratio: float = 0.5
    clip: bool = True
    quantize: bool = False

    def __post_init__(self):
        if not 0.0 <= self.density <= 1.0:
            raise DenoiserError("Salt-and-pepper density must lie between 0 and 1.")
        if not 0.0 <= self.salt_ratio <= 1.0:
            raise DenoiserError("Salt ratio must lie between 0 and 1.")

    @property
    def sigma(self) -> float:
        return 0.0

    @property
    def name(self) -> str:
        return f"Salt & pepper, density {self.density:.2f}"

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        hit = rng.random(image.shape[:2]) < self.density
        salt = rng.random(image.shape[:2]) < self.salt_ratio
        noisy = image.astype(np.float32).copy()
        noisy[hit & salt] = 1.0
        noisy[hit & ~salt] = 0.0
        return _finish(noisy, self.clip, self.quantize)


@dataclass(frozen=True)
class PoissonNoise:
    """Photon-count noise: a pixel of value v sees Poisson(v * peak) / peak; lower peak is noisier."""

    peak: float = 30.0
    clip: bool = True
    quantize: bool = False

    def __post_init__(self):
        if not (math.isfinite(self.peak) and self.peak > 0):
            raise DenoiserError("Poisson peak must be a finite positive number.")

    @property
    def sigma(self) -> float:
        """Noise standard deviation at mid-gray, on the 0..255 scale."""
        return 255.0 * math.sqrt(0.5 / self.peak)

    @property
    def name(self) -> str:
        return f"Poisson, peak {self.peak:g} photons"

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        counts = rng.poisson(np.clip(image, 0.0, None) * self.peak)
        return _finish(counts / self.peak, self.clip, self.quantize)


@dataclass(frozen=True)
class SpeckleNoise:
    """Multiplicative noise v * (1 + n), n Gaussian with `variance` on the 0..255 scale."""

    variance: float = 400.0
    clip: bool = True
    quantize: bool = False

    def __post_init__(self):
        if not (math.isfinite(self.variance) and self.variance >= 0):
            raise DenoiserError("Speckle variance must be a finite number, zero or positive.")

    @property
    def sigma(self) -> float:
        return 0.5 * math.sqrt(self.variance)

    @property
    def name(self) -> str:
        return f"Speckle, variance {self.variance:g}"

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal(image.shape) * math.sqrt(self.variance) / 255.0
        return _finish(image * (1.0 + noise), self.clip, self.quantize)


@dataclass(frozen=True)
class CameraNoise:
    """Real-camera noise: the image goes back to a raw sensor mosaic, gets sensor noise there and is developed again.

    `gain` in [0, 1] is an ISO-like control that sets the shot and read noise together, from a clean
    daylight photo (0) to a dark, high-ISO one (1); each photo draws its own camera colour matrix,
    white balance and read-noise scatter from the generator. `jpeg_quality` (1..100) compresses the
    result as a camera would, None leaves it uncompressed. See `denoiser.noise.camera` for the steps.
    """

    gain: float = 0.5
    jpeg_quality: int | None = None
    demosaicing: str = "bilinear"
    tone_curve: str = "smoothstep"
    """`demosaicing` and `tone_curve` choose another camera than the training one (`camera.DEMOSAICS`,
    `camera.TONE_CURVES`), for robustness checks."""

    def __post_init__(self):
        if not 0.0 <= self.gain <= 1.0:  # NaN fails both comparisons
            raise DenoiserError("Camera gain must lie between 0 and 1.")
        if self.demosaicing not in camera.DEMOSAICS or self.tone_curve not in camera.TONE_CURVES:
            raise DenoiserError(f"Demosaicing must be one of {', '.join(camera.DEMOSAICS)} and the tone curve one "
                                f"of {', '.join(camera.TONE_CURVES)}.")
        quality = self.jpeg_quality
        if quality is not None and not (isinstance(quality, (int, np.integer)) and 1 <= quality <= 100):
            raise DenoiserError("JPEG quality must be a whole number from 1 to 100, or None for no JPEG.")

    @property
    def sigma(self) -> float:
        """0: camera noise has no single level to give a network or a baseline, so networks run blind
        and baselines estimate one (the convention salt-and-pepper noise follows too)."""
        return 0.0

    @property
    def typical_sigma(self) -> float:
        """Rough noise level on the 0..255 scale, for display: noisy minus reference at mid-gray.

        The root mean square over channels of `camera.developed_noise_std(0.5, ...)` for a typical camera
        (averaged matrix, median gains and read noise); a drawn camera varies about it by some 20%, and
        JPEG is left out.
        """
        per_channel = camera.developed_noise_std(0.5, camera.typical_parameters(self.gain))
        return 255.0 * float(np.sqrt(np.mean(per_channel**2)))

    @property
    def name(self) -> str:
        jpeg = f", JPEG {self.jpeg_quality}" if self.jpeg_quality is not None else ""
        variant = "" if (self.demosaicing, self.tone_curve) == ("bilinear", "smoothstep") else \
            f", {self.demosaicing} demosaicing, {self.tone_curve} tone curve"
        return f"Camera, gain {self.gain:.2f}{jpeg}{variant}"

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.pair(image, rng)[1]

    def pair(self, image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(reference, noisy): one drawn camera, with and without sensor noise and JPEG.

        The reference is SIDD's ground truth, the same camera path without noise, so it differs from
        `image` (bilinear demosaicing, highlights); a denoiser should be scored against it.
        """
        if image.ndim != 3 or image.shape[-1] != 3:
            channels = image.shape[-1] if image.ndim == 3 else 1
            raise DenoiserError(f"Camera noise needs a colour image (3 channels); this one has {channels}.")
        if min(image.shape[:2]) < 2:
            raise DenoiserError("Camera noise needs an image of at least 2x2 pixels.")
        params = camera.draw_parameters(rng, self.gain)
        raw = camera.unprocess(image, params)
        develop = partial(camera.process, params=params, demosaicing=self.demosaicing, tone_curve=self.tone_curve)
        reference = develop(raw)
        noisy = develop(camera.add_sensor_noise(raw, params.shot, params.read, rng))
        if self.jpeg_quality is not None:
            noisy = camera.jpeg(noisy, self.jpeg_quality)
        return reference, noisy


NoiseModel = GaussianNoise | SaltPepperNoise | PoissonNoise | SpeckleNoise | CameraNoise


def reference_and_noisy(noise: NoiseModel, image: np.ndarray,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(what a denoiser should return, what it is given). Camera noise has its own reference, the
    same camera path without sensor noise or JPEG; every other model keeps the image itself."""
    if isinstance(noise, CameraNoise):
        return noise.pair(image, rng)
    return image, noise.apply(image, rng)


def make_noise(kind: str, *, variance: float = 100.0, density: float = 0.1, peak: float = 30.0,
               gain: float = 0.5, jpeg_quality: int | None = None, clip: bool = True,
               quantize: bool = False) -> NoiseModel:
    """Build a noise model from its command-line name."""
    if kind == "camera":
        return CameraNoise(gain, jpeg_quality)
    if kind == "gaussian":
        return GaussianNoise(variance, clip, quantize)
    if kind == "salt-pepper":
        return SaltPepperNoise(density, clip=clip, quantize=quantize)
    if kind == "poisson":
        return PoissonNoise(peak, clip, quantize)
    if kind == "speckle":
        return SpeckleNoise(variance, clip, quantize)
    raise DenoiserError(f"Unknown noise '{kind}': choose gaussian, salt-pepper, poisson, speckle or camera.")


def _fmt(variance) -> str:
    values = np.atleast_1d(np.asarray(variance, dtype=float))
    return "/".join(f"{v:g}" for v in values)
