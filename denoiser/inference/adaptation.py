"""Self-supervised adaptation to one noisy photo with no clean reference.

The noisy photo is its own target, as in Noise2Self and Noise2Void, in one of two ways:

- Models told the Gaussian noise level train Recorrupted-to-Recorrupted (Pang et al. 2021): the
  input is the photo plus `recorruption` times fresh Gaussian noise z of the photo's level, the
  target the photo minus z / `recorruption`. The two noises are independent, so the best
  prediction of the target is the clean image, and the network keeps using every pixel. (The
  blind-spot objective below, the first one here, teaches a network to ignore the pixel it
  restores, which the supervised weights use well: the bundled Gaussian model never gained.)
  Clipping at black and white takes noise away and breaks the Gaussian assumption, so pixels
  near them (`trust_map`) are left out of the loss and keep the starting weights' result.
- Models without a noise level (impulse noise) train blind-spot: a few pixels of each patch are
  hidden (replaced by a random neighbour) and the network predicts their *noisy* values from the
  context. Noise independent between pixels cannot be predicted, so the best prediction is the
  clean value: the loss on hidden pixels is the error to the clean image plus the noise variance.

The results before and after are scored by an estimate of the error to the unknown clean image,
and the adapted weights are kept only if they score better. For Gaussian noise the score is
Monte-Carlo SURE (Stein's unbiased risk estimate). SURE needs the true noise level, which a blind
photo only gives as an estimate, and its verdict can flip with it: an output that depends less
on each pixel (a smaller divergence) is rewarded by an overestimated sigma. So the adapted
weights must win for every sigma within `SIGMA_UNCERTAINTY` of the one given. Without a noise
level the blind-spot loss on a fixed held-out set of pixels is the score.
"""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from denoiser.inference.tiled import ENSEMBLE_SIZES, denoise, denoise_ensemble
from denoiser.training.loops import Progress, cosine_schedule, set_threads
from denoiser.training.patches import augment, random_patch

Denoise = Callable[[np.ndarray], np.ndarray]
"""A noisy photo in, its denoised version out: what the scores judge."""


@dataclass(frozen=True)
class AdaptConfig:
    steps: int = 150
    batch_size: int = 8
    patch_size: int = 48
    learning_rate: float = 2e-4
    """At the start; it decays to 0 over the steps (cosine). On 256-pixel crops of six training
    photos at sigma 25, 2e-4 gained 0.09 dB on average before the check, 1e-4 0.08."""

    recorruption: float = 0.5
    """Recorrupted-to-Recorrupted's alpha (Gaussian models): alpha z is added to the input and
    z / alpha taken from the target."""

    hidden_fraction: float = 0.02
    """Blind-spot training (impulse models): share of pixels hidden per patch, few enough that
    context stays intact."""

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
    """The score of the result returned: the adapted weights' if kept, else the starting ones'."""
    kept: bool
    """False when the adapted weights did not score better (for Gaussian noise: at every sigma
    within `SIGMA_UNCERTAINTY` of the one given) and the starting weights were kept."""
    seconds: float


TRUST_MARGIN = 1.0
"""Near black and white, clipping takes noise away: where a pixel's neighbourhood mean lies within
this many sigmas of 0 or 1, the adapted network is not trusted. On the 256-pixel crops of the
benchmark photos at sigma 25, trusting it everywhere lost 0.7 dB on camera (its bright sky)."""


def trust_map(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, 1) weights of the adapted network's result: 1 where every 7x7 mean within two pixels
    lies more than TRUST_MARGIN + 1 sigmas from black and white, 0 within TRUST_MARGIN, a ramp
    between."""
    from scipy import ndimage  # here: `denoise` without --adapt never pays for SciPy's import

    local = ndimage.uniform_filter(noisy.astype(np.float32), size=(7, 7, 1), mode="reflect")
    margin = ndimage.minimum_filter(np.minimum(local, 1.0 - local).min(axis=2), 5, mode="nearest")
    return np.clip(margin / max(sigma / 255.0, 1e-6) - TRUST_MARGIN, 0.0, 1.0)[..., None].astype(np.float32)


def blend(trust: np.ndarray, adapted: np.ndarray, starting: np.ndarray) -> np.ndarray:
    return (trust * adapted + (1.0 - trust) * starting).astype(np.float32)


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


def blind_spot_loss(run: Denoise, noisy: np.ndarray, seed: int = 1, fraction: float = 0.02) -> float:
    """Mean squared error, on the 0..255 scale, of `run`'s prediction of hidden noisy pixels.
    Equals the error to the (unknown) clean image plus the noise variance, so lower is better."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.from_numpy(np.ascontiguousarray(noisy)).permute(2, 0, 1)[None]
    masked, mask = hide_pixels(image, fraction, generator)
    estimate = run(masked[0].permute(1, 2, 0).numpy())
    hidden = mask[0, 0].numpy()
    return float(np.mean((255.0 * (estimate[hidden] - noisy[hidden])) ** 2))


SIGMA_UNCERTAINTY = 0.15
"""Relative error of a blind noise-level estimate that the keep-or-revert verdict must survive
(`noise_level.estimate_sigma` is within 10% on the benchmark photos at sigma 10 to 50; up to 20%
high on the training photos, on grass at sigma 10)."""


@dataclass(frozen=True)
class SureTerms:
    """What Monte-Carlo SURE needs from one output, on the 0..1 scale: the mean squared residual
    to the noisy photo and the divergence per pixel. SURE for a true noise level s is
    residual - s^2 + 2 s^2 divergence, so one pass serves every s."""

    residual: float
    divergence: float

    def mse(self, sigma: float) -> float:
        """The SURE estimate of the error to the clean image (0..255 MSE) if the noise has `sigma`."""
        level = sigma / 255.0
        return 255.0 ** 2 * (self.residual - level ** 2 + 2 * level ** 2 * self.divergence)


def sure_terms(run: Denoise, noisy: np.ndarray, sigma: float, seed: int = 1) -> SureTerms:
    """SURE's terms for `run(noisy)`; the divergence comes from one random probe of a size that
    suits noise of `sigma`."""
    epsilon = max(sigma / 255.0, 1e-3) / 100.0
    probe = np.random.default_rng(seed).standard_normal(noisy.shape).astype(np.float32)
    output = run(noisy).astype(np.float64)
    nudged = run(noisy + epsilon * probe).astype(np.float64)
    divergence = float(np.sum(probe * (nudged - output))) / epsilon / noisy.size
    return SureTerms(float(np.mean((output - noisy) ** 2)), divergence)


def sure_mse(model: nn.Module, noisy: np.ndarray, sigma: float, seed: int = 1) -> float:
    """Monte-Carlo SURE: an unbiased estimate, from the noisy photo alone, of the mean squared
    error (0..255 scale) of `denoise(model, noisy, sigma)` against the clean image, for Gaussian
    noise of that sigma."""
    return sure_terms(lambda image: denoise(model, image, sigma), noisy, sigma, seed).mse(sigma)


def adaptation_score(model: nn.Module, noisy: np.ndarray, sigma: float, seed: int) -> float:
    """Lower is better: SURE for models that take a noise level, else the blind-spot loss."""
    return _scores(lambda image: denoise(model, image, sigma), model.config.noise_map, noisy, sigma, seed)[0]


def _scores(run: Denoise, gaussian: bool, noisy: np.ndarray, sigma: float, seed: int) -> list[float]:
    """`run`'s score at `sigma`, then at the ends of the range the true noise level may lie in
    (SURE is linear in sigma^2, so winning at both ends means winning all through)."""
    if not gaussian:
        return [blind_spot_loss(run, noisy, seed)]
    terms = sure_terms(run, noisy, sigma, seed)
    return [terms.mse(s) for s in (sigma, sigma * (1 - SIGMA_UNCERTAINTY), sigma * (1 + SIGMA_UNCERTAINTY))]


def adapt_to_photo(model: nn.Module, noisy: np.ndarray, sigma: float, config: AdaptConfig = AdaptConfig(),
                   on_progress: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> AdaptResult:
    """Fine-tune `model` on the noisy photo alone. `model` ends with the kept weights; the photo
    returned is theirs, blended with the starting weights' result by `trust_map` for Gaussian
    models (the starting result near black and white)."""
    if config.views not in ENSEMBLE_SIZES:
        raise ValueError(f"Ensemble size {config.views}: choose one of {ENSEMBLE_SIZES}.")
    set_threads(config.threads)
    start = time.perf_counter()
    gaussian = model.config.noise_map
    trust = trust_map(noisy, sigma) if gaussian else np.ones((*noisy.shape[:2], 1), np.float32)
    starting = copy.deepcopy(model).eval()
    start_pass = _remembered(lambda image: denoise(starting, image, sigma))
    adapted_pass = _remembered(lambda image: denoise(model, image, sigma))  # asked only after training

    def outputs(net: nn.Module, views: int) -> Denoise:
        if views == 1:
            return start_pass if net is starting else adapted_pass
        return lambda image: denoise_ensemble(net, image, sigma, views)

    def result(views: int) -> Denoise:
        if not gaussian:
            return outputs(model, views)
        return lambda image: blend(trust, outputs(model, views)(image), outputs(starting, views)(image))

    before = _scores(start_pass, gaussian, noisy, sigma, config.seed + 1)
    history = _train(model, noisy, trust, sigma, config, start, on_progress, should_stop)
    after = _scores(result(1), gaussian, noisy, sigma, config.seed + 1)
    kept = all(a < b for a, b in zip(after, before))
    if not kept:
        model.load_state_dict(starting.state_dict())
    final = result(config.views) if kept else outputs(starting, config.views)
    return AdaptResult(final(noisy), history, before[0], after[0] if kept else before[0], kept,
                       time.perf_counter() - start)


def _remembered(run: Denoise) -> Denoise:
    """`run`, computed once per distinct input: the scores before and after and the result ask for
    the same network's output on the same images (the photo and its SURE probe)."""
    memory: dict[bytes, np.ndarray] = {}

    def once(image: np.ndarray) -> np.ndarray:
        key = repr(image.shape).encode() + hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest()
        if key not in memory:
            memory[key] = run(image)
        return memory[key]
    return once


def _train(model: nn.Module, noisy: np.ndarray, trust: np.ndarray, sigma: float, config: AdaptConfig,
           start: float, on_progress: Callable[[Progress], None] | None,
           should_stop: Callable[[], bool] | None) -> list[Progress]:
    """The adaptation steps: Recorrupted-to-Recorrupted for Gaussian models, else blind-spot."""
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    size = min(config.patch_size, *noisy.shape[:2])
    channels = noisy.shape[2]
    level = torch.full((config.batch_size,), sigma / 255.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    schedule = cosine_schedule(optimizer, lambda step: step / config.steps)
    history: list[Progress] = []
    model.train()
    for step in range(1, config.steps + 1):
        cuts = []
        for _ in range(config.batch_size):
            top, left, patch = random_patch(noisy, size, rng)
            cuts.append(augment(np.concatenate([patch, trust[top:top + size, left:left + size]], axis=2), rng))
        batch = torch.from_numpy(np.ascontiguousarray(np.stack(cuts))).permute(0, 3, 1, 2)
        target, weight = batch[:, :channels], batch[:, channels:]
        if model.config.noise_map:
            alpha = config.recorruption
            noise = torch.randn(target.shape, generator=generator) * (sigma / 255.0)
            error = (model(target + alpha * noise, level * np.sqrt(1 + alpha ** 2)) - (target - noise / alpha)) ** 2
        else:
            masked, weight = hide_pixels(target, config.hidden_fraction, generator)
            error = (model(masked, level) - target) ** 2
        loss = (error * weight).sum() / (weight.sum() * channels).clamp_min(1e-6)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        history.append(Progress(1, 1, step, config.steps, loss.item() * 255.0 ** 2, time.perf_counter() - start))
        if on_progress:
            on_progress(history[-1])
        if should_stop and should_stop():
            break
    model.eval()
    return history
