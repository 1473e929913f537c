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
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from torch import nn

from denoiser.evaluation.metrics import mse_255, psnr
from denoiser.inference.precision import Inference, cpu_bfloat16
from denoiser.models.networks import specialist_of, specialist_reach
from denoiser.noise import NoiseModel, reference_and_noisy
from denoiser.scenarios import Scenario
from denoiser.training.patches import PatchStream, augment, patch_batch, random_patch
from denoiser.training.splits import PixelSplit, SplitMasks

if TYPE_CHECKING:
    from denoiser.training.distributed import World

MSE_255 = 255.0 ** 2
"""Losses are computed on [0, 1] pixels and reported on the 0..255 scale (the notebook's unit)."""
SAMPLES = ("patch", "row")


@dataclass(frozen=True)
class TrainConfig:
    """Per-image training. The defaults are the original notebook's (Adam, lr 0.001, MSE, batch 32,
    60 epochs, 80/10/10 pixels); the notebook used batch 8 for color (see `notebook_preset`)."""

    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 1e-3
    patch_size: int = 32
    sample: str = "patch"
    """What `batch_size` counts: square patches of `patch_size` pixels, or with "row" rows of
    `patch_size` pixels, the sequences a row LSTM reads (the notebook's samples): a batch of 32 rows
    is one 32x32 patch. Either way an epoch is one pass over the training pixels."""
    split: PixelSplit = field(default_factory=PixelSplit)
    fresh_noise: bool = True
    """Draw new noise for every patch on the training pixels, where the clean image is known; the
    validation and test pixels keep their one noisy value, so their clean value never reaches the
    model. False reuses the one noisy image everywhere."""
    cosine: bool = False
    validate_every: int = 1
    """Denoise the whole image to score the validation pixels every this many epochs (and after the
    last): each check costs about a quarter of an epoch, so long runs on a time budget check less."""
    bfloat16: bool = False
    """Train in bfloat16 autocast where the CPU computes it natively (AMX or AVX-512 BF16), for more
    steps per second (docs/benchmarks/precision.json); elsewhere float32 as usual."""
    time_budget: float | None = None
    """Seconds the run may take, its validation checks and the last one included: no step starts
    that would end past it. With `cosine`, the learning rate follows the time as well as the steps
    (whichever is further along), so a run cut short by a slow machine still ends annealed."""
    seed: int = 0
    threads: int | None = None
    inference: Inference = Inference()
    """How the validation checks, and so the image returned, run the model: one float32 pass, or for
    fine-tuned bundled weights as the bundled model runs on this CPU (`experiment.with_check_inference`)."""

    def __post_init__(self):
        if self.validate_every < 1:
            raise ValueError(f"validate_every must be at least 1, not {self.validate_every}.")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ValueError(f"time_budget must be above 0 seconds, not {self.time_budget}.")
        if self.sample not in SAMPLES:
            raise ValueError(f"sample must be one of {SAMPLES}, not {self.sample!r}.")

    def patch_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(patches, rows, columns) of one step's batch on an image of `height` x `width`."""
        if self.sample == "row":
            return 1, min(self.batch_size, height), min(self.patch_size, width)
        size = min(self.patch_size, height, width)
        return self.batch_size, size, size

    def steps_per_epoch(self, train_pixels: int, height: int, width: int) -> int:
        """Steps in one pass over the training pixels."""
        patches, rows, columns = self.patch_shape(height, width)
        return max(1, math.ceil(train_pixels / (patches * rows * columns)))

    def done(self, step: int, steps: int, elapsed: float) -> float:
        """The share of the run behind after `step` of `steps`, `elapsed` seconds in: by the steps, or
        by the time budget where that is further along (what the cosine schedule follows)."""
        done = step / max(1, steps)
        return max(done, elapsed / self.time_budget) if self.time_budget is not None else done


NOTEBOOK_TIME_LIMIT = 120.0
"""Seconds the notebook's 60 epochs may take on a page: what a person waits for."""


def notebook_preset(scenario: Scenario) -> TrainConfig:
    """The original notebook's settings for a scenario, from scratch and on one fixed noisy image:
    Adam at 0.001, MSE, 60 epochs of the training pixels in batches of 32 rows (8 for color)."""
    return TrainConfig(batch_size=scenario.notebook_batch_size, fresh_noise=False, sample="row",
                       time_budget=NOTEBOOK_TIME_LIMIT)


SCRATCH = TrainConfig(epochs=500, batch_size=4, patch_size=32, learning_rate=1e-3, cosine=True, bfloat16=True,
                      validate_every=50, time_budget=120.0)
"""The 2-D LSTM from random weights on one image for two minutes (the time ends it, not the epochs;
the cosine schedule follows the time). Small batches: the most steps in the time (docs/NOTEBOOK.md)."""

SCRATCH_GAUSSIAN_EPOCHS = 1500
"""The cap on Gaussian noise, which the two minutes end first on this project's machines: 500 epochs
ended gray runs in about a minute (`benchmarks/preset_caps.py`), and the color 2-D LSTM, one network over
R, G and B (`Preset.opponent_colors`), runs three times the epochs of three opponent-plane passes
(`benchmarks/scratch_color.py`; docs/NOTEBOOK.md). Salt-and-pepper keeps 500, which its time ends."""


def scratch_preset(scenario: Scenario) -> TrainConfig:
    """`SCRATCH`, with the Gaussian cap on Gaussian noise."""
    return replace(SCRATCH, epochs=SCRATCH_GAUSSIAN_EPOCHS) if scenario.noise_kind == "gaussian" else SCRATCH


ROW_BEST = TrainConfig(epochs=500, batch_size=16, sample="row", patch_size=32, learning_rate=3e-3, cosine=True,
                      fresh_noise=True, validate_every=10, time_budget=NOTEBOOK_TIME_LIMIT)
"""The notebook's row LSTM trained to its best on one image in two minutes: fresh noise on the
training pixels every step, batches of 16 rows of 32 pixels (the most steps in the time), Adam at
0.003 annealed by a cosine over the time, and the weights best on the validation pixels kept.
Chosen on the validation pixels of training photos, never benchmark ones (docs/NOTEBOOK.md)."""

QUICK = TrainConfig(epochs=100, batch_size=8, patch_size=48, learning_rate=3e-4, cosine=True, bfloat16=True,
                    validate_every=5, time_budget=30.0)
"""The bundled weights fine-tuned on one image for half a minute (the cosine schedule follows the
time); a shared server shortens it while others wait for a turn."""


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
    time_budget: float | None = None

    @property
    def fraction(self) -> float:
        """How far the run is: by its steps, or by its time budget where that is further along."""
        done = self.step / max(1, self.steps)
        return max(done, min(1.0, self.elapsed / self.time_budget)) if self.time_budget else done

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
    """Ended by `should_stop`."""
    seconds: float
    """The training with its validation checks, not the final denoise with the kept weights."""
    out_of_time: bool = False
    """Ended by the config's `time_budget`."""


def set_threads(threads: int | None) -> None:
    """Torch intra-op threads: as told, else OMP_NUM_THREADS, else the machine's cores (at most 8)."""
    threads = threads or int(os.environ.get("OMP_NUM_THREADS") or 0) or min(8, os.cpu_count() or 1)
    torch.set_num_threads(max(1, threads))


def train_on_image(model: nn.Module, clean: np.ndarray, noisy: np.ndarray, noise: NoiseModel,
                   masks: SplitMasks, config: TrainConfig,
                   on_progress: Callable[[Progress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> ImageTrainingResult:
    """Fit `model` to one image; returns the denoised image from the best epoch's weights."""
    set_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    height, width = clean.shape[:2]
    patches, rows, columns = config.patch_shape(height, width)
    steps_per_epoch = config.steps_per_epoch(int(masks.train.sum()), height, width)
    total = steps_per_epoch * config.epochs
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    sigma = torch.full((patches,), noise.sigma / 255.0)
    stacked = np.concatenate([clean, noisy, masks.train[..., None].astype(np.float32)], axis=-1)
    channels = clean.shape[-1]
    has_validation = bool(masks.validation.any())
    low_precision = torch.autocast("cpu", dtype=torch.bfloat16,
                                   enabled=precision_name(torch.device("cpu"), config.bfloat16) == "bfloat16")

    history: list[Progress] = []
    best = (float("inf"), 0, copy.deepcopy(model.state_dict()), None)  # loss, epoch, weights, their denoised image
    start, step, stopped, out_of_time = time.perf_counter(), 0, False, False
    schedule = cosine_schedule(optimizer, lambda at: config.done(at, total, time.perf_counter() - start)) \
        if config.cosine else None
    check_seconds, checked_at = 0.0, 0
    model.train()
    for epoch in range(1, config.epochs + 1):
        for _ in range(steps_per_epoch):
            elapsed = time.perf_counter() - start
            if config.time_budget is not None and step and \
                    elapsed + elapsed / step + check_seconds > config.time_budget:
                out_of_time = True  # the next step and the last check would not fit
                break
            if schedule and step:
                schedule.step()  # the rate for this step, from the steps and the time behind it
            batch = np.stack([augment(random_patch(stacked, (rows, columns), rng)[2], rng) for _ in range(patches)])
            target, given, weight = batch[..., :channels], batch[..., channels:2 * channels], batch[..., -1:]
            inputs = given
            if config.fresh_noise:  # new noise where the clean pixels are known (camera noise: a new reference too)
                fresh_target, fresh = (np.stack(part) for part in zip(*(reference_and_noisy(noise, p, rng)
                                                                        for p in target)))
                target, inputs = np.where(weight > 0, fresh_target, target), np.where(weight > 0, fresh, given)
            with low_precision:
                output = model(_nchw(inputs), sigma).float()
            loss = _masked_mse(output, _nchw(target), _nchw(weight))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            progress = Progress(epoch, config.epochs, step, total, loss.item() * MSE_255,
                                time.perf_counter() - start, time_budget=config.time_budget)
            if should_stop and should_stop():
                stopped = True
                break
            if on_progress and step % steps_per_epoch:
                on_progress(progress)
        if out_of_time and step == checked_at:  # right after a check: nothing new to score
            break
        if not (stopped or out_of_time or epoch == config.epochs or epoch % config.validate_every == 0):
            if on_progress:
                on_progress(progress)
            continue
        checked = time.perf_counter()
        estimate = config.inference.run(model, noisy, noise.sigma)
        check_seconds, checked_at = time.perf_counter() - checked, step
        val_mask = masks.validation if has_validation else masks.train
        val_loss = mse_255(clean, estimate, val_mask)
        if val_loss < best[0]:
            best = (val_loss, epoch, copy.deepcopy(model.state_dict()), estimate)
        progress = replace(progress, val_loss=val_loss, val_psnr=psnr(clean, estimate, val_mask),
                           best_epoch=best[1], elapsed=time.perf_counter() - start)
        history.append(progress)
        if on_progress:
            on_progress(progress)
        if stopped or out_of_time:
            break
    seconds = time.perf_counter() - start
    model.load_state_dict(best[2])
    # the best check's image, or (no check ran) the kept weights' own
    denoised = best[3] if best[3] is not None else config.inference.run(model, noisy, noise.sigma)
    return ImageTrainingResult(denoised, history, best[1], stopped, seconds, out_of_time)


@dataclass(frozen=True)
class CorpusConfig:
    """Training a bundled model on a folder of clean photos, with random noise levels.

    `batch_size` is the global batch of one optimizer step: it is split over the processes of a
    distributed run and over `accumulate` micro-steps in each, so it does not depend on either."""

    steps: int = 3000
    batch_size: int = 8
    patch_size: int = 48
    learning_rate: float = 1e-3
    seed: int = 0
    threads: int | None = None
    accumulate: int = 1
    checkpoint_every: int = 500
    mixed_precision: bool = True
    """float16 autocast with a gradient scaler on GPUs; bfloat16 autocast on CPUs that compute it
    natively (`cpu_bfloat16`), about twice the steps per second on this machine's AMX cores."""
    balance_noise_levels: bool = False
    """Weight each patch's squared error by 1 / (sigma^2 + `BALANCE_FLOOR`^2), a weighted mean over
    the batch (also the loss reported). Plain MSE is dominated by the noisiest patches, whose
    errors are largest, which leaves a model that serves many noise levels weakest at low ones.
    For a blind scenario (camera noise) sigma is each patch's measured level (`measured_noise_level`)."""


def corpus_batch(images: list[np.ndarray], scenario: Scenario, config: CorpusConfig,
                 rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(noisy, sigma, clean) tensors: random patches, each with its own random noise level."""
    patches = patch_batch(images, config.batch_size, config.patch_size, rng)
    noises = [scenario.random_training_noise(rng) for _ in range(config.batch_size)]
    clean, noisy = (np.stack(part) for part in zip(*(reference_and_noisy(n, p, rng) for n, p in zip(noises, patches))))
    sigma = torch.tensor([n.sigma / 255.0 for n in noises], dtype=torch.float32)
    return _nchw(noisy), sigma, _nchw(clean)


def train_on_corpus(model: nn.Module, images: list[np.ndarray] | PatchStream, scenario: Scenario,
                    config: CorpusConfig, on_progress: Callable[[Progress], None] | None = None,
                    should_stop: Callable[[], bool] | None = None, world: World | None = None,
                    resume: dict | None = None,
                    on_checkpoint: Callable[[dict], None] | None = None) -> list[Progress]:
    """Adam with a cosine schedule over `config.steps`; reports every step.

    `images` are held in memory, or streamed from files (`PatchStream`). In a distributed `world`
    (torchrun) each rank trains a DDP replica on its own patches. `on_checkpoint` receives the
    resumable state every `config.checkpoint_every` steps and at the end (there with every rank's
    report); passing that state back as `resume` carries on from its step to `config.steps`."""
    from contextlib import nullcontext
    from itertools import count

    from denoiser.training.distributed import World, describe_rank, fingerprint, gather, mean, split_batch, wrap

    world = world or World()
    specialist = specialist_of(model)
    if specialist is not None:  # a model with a low-noise specialist trains it alone, on the levels it serves
        model.requires_grad_(False)
        specialist.requires_grad_(True)
        low, high = scenario.training_sigma
        scenario = replace(scenario, training_sigma=(low, min(high, specialist_reach(model))))
    set_threads(config.threads or world.cpu_threads)
    torch.manual_seed(config.seed)
    micro_batch = split_batch(config.batch_size, world.size, config.accumulate)
    network = wrap(model.to(world.device), world)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    precision = precision_name(world.device, config.mixed_precision)
    mixed = precision == "float16"  # bfloat16 has float32's range: no gradient scaling needed
    scaler = torch.amp.GradScaler("cuda", enabled=mixed)
    low_precision = torch.autocast(world.device.type, dtype=getattr(torch, precision), enabled=precision != "float32")
    rng = np.random.default_rng(config.seed if world.size == 1 else [config.seed, world.rank])
    first = 1
    if resume:
        first = resume["step"] + 1
        optimizer.load_state_dict(resume["optimizer"])
        if mixed and resume.get("scaler"):
            scaler.load_state_dict(resume["scaler"])
        rng.bit_generator.state = resume["rng"]
    # a resumed run carries on from the rate it reached, down to 0 at its (perhaps later) last step
    schedule = cosine_schedule(optimizer, lambda step: step / config.steps, first - 1)
    if isinstance(images, PatchStream):  # a resumed stream draws new patches, not the first ones again
        batches = images.batches(micro_batch, config.patch_size, scenario.random_training_noise,
                                 world.rank, world.size, seed=config.seed + first - 1)
    else:
        micro_config = replace(config, batch_size=micro_batch)
        batches = (corpus_batch(images, scenario, micro_config, rng) for _ in count())

    def state(step: int) -> dict:
        return {"step": step, "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "scaler": scaler.state_dict(), "rng": rng.bit_generator.state, "world_size": world.size}

    history, start, patches, step = [], time.perf_counter(), 0, first - 1
    model.train()
    for step in range(first, config.steps + 1):
        optimizer.zero_grad()
        step_loss = 0.0
        for micro_step in range(config.accumulate):
            noisy, sigma, clean = (t.to(world.device, non_blocking=True) for t in next(batches))
            last = micro_step == config.accumulate - 1
            with nullcontext() if last or world.size == 1 else network.no_sync():  # all-reduce once a step
                level = measured_noise_level(noisy, clean) if scenario.blind and config.balance_noise_levels else sigma
                with low_precision:
                    loss = corpus_loss(network(noisy, sigma).float(), clean, level,
                                       config.balance_noise_levels) / config.accumulate
                scaler.scale(loss).backward()
            step_loss += loss.item()
            patches += len(clean)
        scaler.step(optimizer)
        scaler.update()
        schedule.step()
        progress = Progress(1, 1, step, config.steps, mean(step_loss, world) * MSE_255, time.perf_counter() - start)
        history.append(progress)
        if on_progress:
            on_progress(progress)
        if on_checkpoint and step % config.checkpoint_every == 0 and step < config.steps:
            on_checkpoint(state(step))
        if should_stop and should_stop():
            break
    batches.close()
    model.eval()
    ranks = gather(describe_rank(world, steps=len(history), patches=patches, weights=fingerprint(model)), world)
    if on_checkpoint:
        on_checkpoint({**state(step), "ranks": ranks})
    return history


BALANCE_FLOOR = 10 / 255
"""The noise level below which `balance_noise_levels` stops raising a patch's weight (0..1 scale)."""


def measured_noise_level(noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Each patch's noise level as its noise shows it: the standard deviation of noisy minus clean
    (0..1 scale). A blind scenario's patches give the network no level (camera noise has none), but
    `balance_noise_levels` still needs to know which patches are the faint ones."""
    return (noisy - clean).float().std(dim=(1, 2, 3))


def corpus_loss(output: torch.Tensor, clean: torch.Tensor, sigma: torch.Tensor, balance: bool) -> torch.Tensor:
    """MSE over a batch, or with `balance` the mean of each patch's MSE weighted by its noise level
    `sigma` (the level drawn, or for blind scenarios the one measured)."""
    if not balance:
        return nn.functional.mse_loss(output, clean)
    weight = 1.0 / (sigma.float() ** 2 + BALANCE_FLOOR ** 2)
    return (weight * ((output - clean) ** 2).mean(dim=(1, 2, 3))).sum() / weight.sum()


def precision_name(device: torch.device, mixed_precision: bool) -> str:
    """The number format training computes in on `device`, for logs and checkpoints."""
    if mixed_precision and device.type == "cuda":
        return "float16"
    return "bfloat16" if mixed_precision and device.type == "cpu" and cpu_bfloat16() else "float32"


def cosine_schedule(optimizer: torch.optim.Optimizer, done: Callable[[int], float],
                    step: int = 0) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning rate falls by half a cosine to 0 as `done(step)`, the share of the run behind, goes
    from 0 to 1. At `step` above 0 (a resumed run) it starts from the rate the optimizer reached."""
    def factor(at: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * min(1.0, done(at))))

    group = optimizer.param_groups[0]
    reached = group["lr"] / group.setdefault("initial_lr", group["lr"])
    scale = 1.0  # a fresh run, or one resumed at its own length: the rate reached is this schedule's
    if step and factor(step) and not math.isclose(reached, factor(step), rel_tol=1e-9):
        scale = reached / factor(step)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda at: scale * factor(at), last_epoch=step - 1)



def _nchw(batch: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).permute(0, 3, 1, 2)


def _masked_mse(output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return ((output - target) ** 2 * weight).sum() / (weight.sum() * output.shape[1]).clamp_min(1.0)
