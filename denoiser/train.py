"""Training loops with progress callbacks and a stop flag.

- `train_on_image`: the original notebook's setting. One clean image, its pixels split into
  train / validation / test; the loss sees train pixels only, validation picks the best epoch.
- `train_on_corpus`: the bundled models. Random patches of many clean photos with a random noise
  level each, so one model serves the whole range of levels.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch
from torch import nn

from .data import augment, patch_batch, random_patch
from .inference import denoise
from .metrics import mse_255, psnr
from .noise import NoiseModel
from .scenarios import Scenario
from .splits import PixelSplit, SplitMasks

MSE_255 = 255.0 ** 2
"""Losses are computed on [0, 1] pixels and reported on the 0..255 scale (the notebook's unit)."""


@dataclass(frozen=True)
class TrainConfig:
    """Per-image training. The defaults are the original notebook's (Adam, lr 0.001, MSE, batch 32,
    60 epochs, 80/10/10 pixels); the notebook used batch 8 for color (see `notebook_preset`)."""

    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 1e-3
    patch_size: int = 32
    split: PixelSplit = field(default_factory=PixelSplit)
    fresh_noise: bool = True
    """Draw new noise for every patch (the clean image is known); False reuses the one noisy image."""
    cosine: bool = False
    seed: int = 0
    threads: int | None = None


def notebook_preset(scenario: Scenario) -> TrainConfig:
    """The original notebook's settings for a scenario, from scratch and on one fixed noisy image."""
    return TrainConfig(batch_size=scenario.notebook_batch_size, fresh_noise=False)


QUICK = TrainConfig(epochs=6, batch_size=8, patch_size=48, learning_rate=3e-4, cosine=True)
"""A good result in seconds on 2 CPU cores, when starting from the bundled weights."""


@dataclass(frozen=True)
class Progress:
    """What a callback sees after each step; validation fields are set at the end of an epoch."""

    epoch: int
    epochs: int
    step: int
    steps: int
    train_loss: float
    elapsed: float
    val_loss: float | None = None
    val_psnr: float | None = None
    best_epoch: int | None = None

    @property
    def fraction(self) -> float:
        return self.step / max(1, self.steps)

    @property
    def remaining(self) -> float:
        """Seconds left, extrapolated from the pace so far."""
        return self.elapsed / max(self.fraction, 1e-9) * (1 - self.fraction) if self.step else float("nan")


@dataclass
class ImageTrainingResult:
    denoised: np.ndarray
    history: list[Progress]
    best_epoch: int
    stopped: bool
    seconds: float


def set_threads(threads: int | None) -> None:
    """Torch intra-op threads: the machine's cores unless told, never more than 8."""
    torch.set_num_threads(threads or max(1, min(8, os.cpu_count() or 1)))


def train_on_image(model: nn.Module, clean: np.ndarray, noisy: np.ndarray, noise: NoiseModel,
                   masks: SplitMasks, config: TrainConfig,
                   on_progress: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> ImageTrainingResult:
    """Fit `model` to one image; returns the denoised image from the best epoch's weights."""
    set_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    height, width = clean.shape[:2]
    size = min(config.patch_size, height, width)
    steps_per_epoch = max(1, math.ceil(height * width / size ** 2 / config.batch_size))
    total = steps_per_epoch * config.epochs
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    schedule = _cosine(optimizer, total) if config.cosine else None
    sigma = torch.full((config.batch_size,), noise.sigma / 255.0)
    stacked = np.concatenate([clean, noisy, masks.train[..., None].astype(np.float32)], axis=-1)
    channels = clean.shape[-1]
    has_validation = bool(masks.validation.any())

    history: list[Progress] = []
    best = (float("inf"), 0, copy.deepcopy(model.state_dict()))
    start, step, stopped = time.perf_counter(), 0, False
    model.train()
    for epoch in range(1, config.epochs + 1):
        for _ in range(steps_per_epoch):
            patches = np.stack([augment(random_patch(stacked, size, rng)[2], rng)
                                for _ in range(config.batch_size)])
            target, weight = patches[..., :channels], patches[..., -1:]
            inputs = np.stack([noise.apply(p, rng) for p in target]) if config.fresh_noise \
                else patches[..., channels:2 * channels]
            loss = _masked_mse(model(_nchw(inputs), sigma), _nchw(target), _nchw(weight))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if schedule:
                schedule.step()
            step += 1
            progress = Progress(epoch, config.epochs, step, total, loss.item() * MSE_255,
                                time.perf_counter() - start)
            if should_stop and should_stop():
                stopped = True
                break
            if on_progress and step % steps_per_epoch:
                on_progress(progress)
        estimate = denoise(model, noisy, noise.sigma)
        val_mask = masks.validation if has_validation else masks.train
        val_loss = mse_255(clean, estimate, val_mask)
        if val_loss < best[0]:
            best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
        progress = replace(progress, val_loss=val_loss, val_psnr=psnr(clean, estimate, val_mask),
                           best_epoch=best[1], elapsed=time.perf_counter() - start)
        history.append(progress)
        if on_progress:
            on_progress(progress)
        if stopped:
            break
    model.load_state_dict(best[2])
    return ImageTrainingResult(denoise(model, noisy, noise.sigma), history, best[1], stopped,
                               time.perf_counter() - start)


@dataclass(frozen=True)
class CorpusConfig:
    """Training a bundled model on a folder of clean photos, with random noise levels."""

    steps: int = 3000
    batch_size: int = 8
    patch_size: int = 48
    learning_rate: float = 1e-3
    seed: int = 0
    threads: int | None = None


def corpus_batch(images: list[np.ndarray], scenario: Scenario, config: CorpusConfig,
                 rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(noisy, sigma, clean) tensors: random patches, each with its own random noise level."""
    clean = patch_batch(images, config.batch_size, config.patch_size, rng)
    noises = [scenario.random_training_noise(rng) for _ in range(config.batch_size)]
    noisy = np.stack([n.apply(p, rng) for n, p in zip(noises, clean)])
    sigma = torch.tensor([n.sigma / 255.0 for n in noises], dtype=torch.float32)
    return _nchw(noisy), sigma, _nchw(clean)


def train_on_corpus(model: nn.Module, images: list[np.ndarray], scenario: Scenario, config: CorpusConfig,
                    on_progress: Callable[[Progress], None] | None = None,
                    should_stop: Callable[[], bool] | None = None) -> list[Progress]:
    """Adam with a cosine schedule over `config.steps`; reports every step."""
    set_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    schedule = _cosine(optimizer, config.steps)
    history, start = [], time.perf_counter()
    model.train()
    for step in range(1, config.steps + 1):
        noisy, sigma, clean = corpus_batch(images, scenario, config, rng)
        loss = nn.functional.mse_loss(model(noisy, sigma), clean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        progress = Progress(1, 1, step, config.steps, loss.item() * MSE_255, time.perf_counter() - start)
        history.append(progress)
        if on_progress:
            on_progress(progress)
        if should_stop and should_stop():
            break
    model.eval()
    return history


def _cosine(optimizer, total: int):
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))


def _nchw(batch: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).permute(0, 3, 1, 2)


def _masked_mse(output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return ((output - target) ** 2 * weight).sum() / (weight.sum() * output.shape[1]).clamp_min(1.0)
