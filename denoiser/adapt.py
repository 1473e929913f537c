"""Self-supervised adaptation to one noisy photo with no clean reference (blind-spot training).

In the spirit of Noise2Void / Noise2Self: a few pixels of each patch are hidden (replaced by a
random neighbour) and the network learns to predict their *noisy* values from the context. Noise
independent between pixels cannot be predicted, so the best prediction is the clean value: the
loss on hidden pixels equals the error to the clean image plus the noise variance.

The weights before and after are scored by an estimate of the error to the unknown clean image,
and the adapted ones are kept only if they score better. For Gaussian noise the score is
Monte-Carlo SURE (Stein's unbiased risk estimate) of the ordinary, unmasked output; the
blind-spot loss would favour the adapted weights unfairly, since the starting weights were never
trained to work with hidden pixels. SURE needs the true noise level, which a blind photo only
gives as an estimate, and its verdict can flip with it: blind-spot training lowers the output's
dependence on each pixel (the divergence), which an overestimated sigma rewards. So the adapted
weights must win for every sigma within `SIGMA_UNCERTAINTY` of the one given. Without a noise
level (impulse models) the blind-spot loss on a fixed held-out set of pixels is the score.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .data import augment, random_patch
from .inference import ENSEMBLE_SIZES, denoise, denoise_ensemble
from .train import Progress, set_threads


@dataclass(frozen=True)
class AdaptConfig:
    steps: int = 150
    batch_size: int = 8
    patch_size: int = 48
    learning_rate: float = 1e-4
    hidden_fraction: float = 0.02
    """Share of pixels hidden per patch: few enough that context stays intact."""

    seed: int = 0
    threads: int | None = None
    views: int = 1
    """Self-ensemble size of the final denoise (1, 2, 4 or 8; see inference.denoise_ensemble)."""


@dataclass
class AdaptResult:
    denoised: np.ndarray
    history: list[Progress]
    loss_before: float
    """The score (estimated error to the clean image, 0..255 MSE) of the starting weights."""
    loss_after: float
    """The score of the weights returned: the adapted ones if kept, else the starting ones."""
    kept: bool
    """False when the adapted weights did not score better (for Gaussian noise: at every sigma
    within `SIGMA_UNCERTAINTY` of the one given) and the starting weights were kept."""
    seconds: float


def hide_pixels(batch: torch.Tensor, fraction: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace a random `fraction` of pixels by a random neighbour within a 5x5 window; returns
    the masked batch and the (B, 1, H, W) mask of hidden pixels."""
    b, c, h, w = batch.shape
    mask = torch.rand(b, 1, h, w, generator=generator) < fraction
    dy = torch.randint(-2, 3, (b, 1, h, w), generator=generator)
    dx = torch.randint(-2, 3, (b, 1, h, w), generator=generator)
    same = (dy == 0) & (dx == 0)
    dx = torch.where(same, torch.ones_like(dx), dx)  # never the pixel itself
    rows = _reflect(torch.arange(h).view(1, 1, h, 1), dy, h)
    cols = _reflect(torch.arange(w).view(1, 1, 1, w), dx, w)
    index = (rows * w + cols).expand(b, c, h, w).reshape(b, c, -1)
    neighbours = batch.reshape(b, c, -1).gather(2, index).reshape(b, c, h, w)
    return torch.where(mask, neighbours, batch), mask


def _reflect(position: torch.Tensor, offset: torch.Tensor, size: int) -> torch.Tensor:
    """position + offset, or position - offset where that would leave the image."""
    moved = position + offset
    moved = torch.where((moved < 0) | (moved >= size), position - offset, moved)
    return moved.clamp(0, size - 1)


def blind_spot_loss(model: nn.Module, noisy: np.ndarray, sigma: float, seed: int = 1,
                    fraction: float = 0.02) -> float:
    """Mean squared error, on the 0..255 scale, of the model's prediction of hidden noisy pixels.
    Equals the error to the (unknown) clean image plus the noise variance, so lower is better."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.from_numpy(np.ascontiguousarray(noisy)).permute(2, 0, 1)[None]
    masked, mask = hide_pixels(image, fraction, generator)
    estimate = denoise(model, masked[0].permute(1, 2, 0).numpy(), sigma)
    hidden = mask[0, 0].numpy()
    return float(np.mean((255.0 * (estimate[hidden] - noisy[hidden])) ** 2))


SIGMA_UNCERTAINTY = 0.15
"""Relative error of a blind noise-level estimate that the keep-or-revert verdict must survive
(`noise_level.estimate_sigma` is within 15% on natural photos at sigma 10 to 50)."""


@dataclass(frozen=True)
class SureTerms:
    """What Monte-Carlo SURE needs from one model's output, on the 0..1 scale: the mean squared
    residual to the noisy photo and the divergence per pixel. SURE for a true noise level s is
    residual - s^2 + 2 s^2 divergence, so one pass of the model serves every s."""

    residual: float
    divergence: float

    def mse(self, sigma: float) -> float:
        """The SURE estimate of the error to the clean image (0..255 MSE) if the noise has `sigma`."""
        level = sigma / 255.0
        return 255.0 ** 2 * (self.residual - level ** 2 + 2 * level ** 2 * self.divergence)


def sure_terms(model: nn.Module, noisy: np.ndarray, sigma: float, seed: int = 1) -> SureTerms:
    """SURE's terms for `denoise(model, noisy, sigma)`; the divergence comes from one random probe."""
    epsilon = max(sigma / 255.0, 1e-3) / 100.0
    probe = np.random.default_rng(seed).standard_normal(noisy.shape).astype(np.float32)
    output = denoise(model, noisy, sigma).astype(np.float64)
    nudged = denoise(model, noisy + epsilon * probe, sigma).astype(np.float64)
    divergence = float(np.sum(probe * (nudged - output))) / epsilon / noisy.size
    return SureTerms(float(np.mean((output - noisy) ** 2)), divergence)


def sure_mse(model: nn.Module, noisy: np.ndarray, sigma: float, seed: int = 1) -> float:
    """Monte-Carlo SURE: an unbiased estimate, from the noisy photo alone, of the mean squared
    error (0..255 scale) of `denoise(model, noisy, sigma)` against the clean image, for Gaussian
    noise of that sigma."""
    return sure_terms(model, noisy, sigma, seed).mse(sigma)


def adaptation_score(model: nn.Module, noisy: np.ndarray, sigma: float, seed: int) -> float:
    """Lower is better: SURE for models that take a noise level, else the blind-spot loss."""
    return _scores(model, noisy, sigma, seed)[0]


def _scores(model: nn.Module, noisy: np.ndarray, sigma: float, seed: int) -> list[float]:
    """The model's score at `sigma`, then at the ends of the range the true noise level may lie
    in (SURE is linear in sigma^2, so winning at both ends means winning all through)."""
    if not model.config.noise_map:
        return [blind_spot_loss(model, noisy, sigma, seed)]
    terms = sure_terms(model, noisy, sigma, seed)
    return [terms.mse(s) for s in (sigma, sigma * (1 - SIGMA_UNCERTAINTY), sigma * (1 + SIGMA_UNCERTAINTY))]


def adapt_to_photo(model: nn.Module, noisy: np.ndarray, sigma: float, config: AdaptConfig = AdaptConfig(),
                   on_progress: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> AdaptResult:
    """Fine-tune `model` on the noisy photo alone; returns the denoised photo from the kept weights."""
    if config.views not in ENSEMBLE_SIZES:
        raise ValueError(f"Ensemble size {config.views}: choose one of {ENSEMBLE_SIZES}.")
    set_threads(config.threads)
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    size = min(config.patch_size, *noisy.shape[:2])
    level = torch.full((config.batch_size,), sigma / 255.0)
    before = _scores(model, noisy, sigma, seed=config.seed + 1)
    initial = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    history: list[Progress] = []
    model.train()
    for step in range(1, config.steps + 1):
        patches = np.stack([augment(random_patch(noisy, size, rng)[2], rng) for _ in range(config.batch_size)])
        target = torch.from_numpy(np.ascontiguousarray(patches)).permute(0, 3, 1, 2)
        masked, mask = hide_pixels(target, config.hidden_fraction, generator)
        error = (model(masked, level) - target) ** 2 * mask
        loss = error.sum() / (mask.sum() * target.shape[1]).clamp_min(1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(Progress(1, 1, step, config.steps, loss.item() * 255.0 ** 2, time.perf_counter() - start))
        if on_progress:
            on_progress(history[-1])
        if should_stop and should_stop():
            break
    model.eval()
    after = _scores(model, noisy, sigma, seed=config.seed + 1)
    kept = all(a < b for a, b in zip(after, before))
    if not kept:
        model.load_state_dict(initial)
    return AdaptResult(denoise_ensemble(model, noisy, sigma, config.views), history, before[0],
                       after[0] if kept else before[0], kept, time.perf_counter() - start)

