"""The original notebook's experiment on one image: add seeded noise, split the pixels, train a
recurrent denoiser on the training pixels and score every split.

The `fit` command and the scenario pages both build their run here (`make_experiment`,
`noisy_input`, `split_pixels`, `experiment_model`), so the same settings and seed give the same
numbers in both. A preset is data: the network it trains, how it trains, and whether it starts
from the bundled weights.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from denoiser.errors import DenoiserError
from denoiser.evaluation.metrics import Scores, score_splits
from denoiser.models.networks import ARCHITECTURES, ModelConfig, build_model
from denoiser.noise import NoiseModel, reference_and_noisy
from denoiser.scenarios import Scenario
from denoiser.training.loops import ImageTrainingResult, TrainConfig, train_on_image
from denoiser.training.presets import Preset, get_preset
from denoiser.training.splits import PixelSplit, SplitMasks, make_masks

MAX_SIDE = 256
"""Images are downscaled to this largest side before the experiment, on the pages as in `fit`,
so a run takes seconds to minutes on two cores."""


@dataclass(frozen=True)
class Experiment:
    """Everything one run depends on: the same experiment on the same image gives the same numbers."""

    scenario: Scenario
    noise: NoiseModel
    preset: str
    model: ModelConfig
    training: TrainConfig
    from_bundled: bool

    @property
    def seed(self) -> int:
        return self.training.seed


def network_design(base: ModelConfig, architecture: str, hidden: int | None = None,
                   depth: int | None = None) -> ModelConfig:
    """`base` (the bundled or the scenario's design) with the chosen network, for training on one
    image: one network, no low-noise specialist (a page trains at one noise level). The row LSTM is
    the notebook's network, one layer reading all channels together (R, G and B for color)."""
    if architecture not in ARCHITECTURES:
        raise DenoiserError(f"Unknown architecture '{architecture}': choose one of {', '.join(ARCHITECTURES)}.")
    model = replace(base, architecture=architecture, hidden=hidden or base.hidden, depth=depth or base.depth,
                    specialist_below=0.0)
    return replace(model, opponent_colors=False, depth=1) if architecture == "row" else model


def preset_design(preset: Preset, design: ModelConfig, bundled: ModelConfig | None, architecture: str | None = None,
                  hidden: int | None = None) -> ModelConfig:
    """The network a preset trains from scratch: the bundled network's sizes when it keeps the bundled
    architecture, else the scenario's `design`'s (the bundled gray unet does not size the LSTMs); its
    own depth and color network when it keeps its architecture."""
    architecture = architecture or preset.architecture or (bundled or design).architecture
    base = bundled if bundled is not None and bundled.architecture == architecture else design
    own = architecture == preset.architecture
    model = network_design(base, architecture, hidden, preset.depth if own else None)
    return replace(model, opponent_colors=False) if own and not preset.opponent_colors else model


def with_check_inference(training: TrainConfig, scenario: Scenario, from_bundled: bool) -> TrainConfig:
    """`training` with the checks that suit its start: fine-tuned bundled weights run as the bundled
    model runs on this CPU (`inference.precision.bundled_inference`), so a fine-tuned result is never
    made a worse way than the bundled weights' own; a network from random weights one float32 pass."""
    from denoiser.inference.precision import Inference, bundled_inference

    return replace(training, inference=bundled_inference(scenario) if from_bundled else Inference())


def make_experiment(scenario: Scenario, noise: NoiseModel, preset: str, bundled: ModelConfig | None, *,
                    architecture: str | None = None, epochs: int | None = None, time_limit: float | None = None,
                    seed: int = 0, threads: int | None = None) -> Experiment:
    """A preset's experiment, with the given changes. `time_limit` 0 removes the preset's limit."""
    chosen = get_preset(preset)
    if epochs is not None and epochs < 1:
        raise DenoiserError(f"Epochs must be at least 1, not {epochs}.")
    if time_limit is not None and not time_limit >= 0:
        raise DenoiserError(f"The time limit must be 0 (none) or a number of seconds above 0, not {time_limit}.")
    architecture = architecture or chosen.architecture or (bundled or scenario.model).architecture
    chosen.check(architecture, bundled.architecture if bundled else None)
    from_bundled = chosen.from_bundled and bundled is not None
    model = bundled if from_bundled else preset_design(chosen, scenario.model, bundled, architecture)
    training = chosen.training(scenario)
    budget = training.time_budget if time_limit is None else (time_limit or None)
    training = replace(training, epochs=epochs or training.epochs, time_budget=budget, seed=seed, threads=threads)
    training = with_check_inference(training, scenario, from_bundled)
    return Experiment(scenario, noise, preset, model, training, from_bundled)


def reference_and_noisy_input(clean: np.ndarray, noise: NoiseModel, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(reference, noisy): the image with the experiment's noise, drawn from `seed`, and what a
    denoiser should return (the image itself, or for camera noise the camera's noiseless picture)."""
    return reference_and_noisy(noise, clean, np.random.default_rng(seed))


def noisy_input(clean: np.ndarray, noise: NoiseModel, seed: int) -> np.ndarray:
    """The image with the experiment's noise, drawn from `seed`."""
    return reference_and_noisy_input(clean, noise, seed)[1]


def split_pixels(shape: tuple[int, ...], split: PixelSplit, seed: int) -> SplitMasks:
    """The train / validation / test pixels, drawn from `seed`."""
    return make_masks(shape[:2], split, np.random.default_rng(seed))


def experiment_model(experiment: Experiment, bundled: nn.Module | None) -> nn.Module:
    """A copy of the bundled network, or a new one initialised from the experiment's seed."""
    if experiment.from_bundled:
        return copy.deepcopy(bundled)
    torch.manual_seed(experiment.seed)
    return build_model(experiment.model)


@dataclass(frozen=True)
class Pace:
    """Seconds one training step and one validation check take for a design on an image size."""

    step: float
    check: float


@dataclass(frozen=True)
class Cost:
    """What a run will take: its steps, its validation checks and about how many seconds."""

    steps: int
    checks: int
    seconds: float
    limited: bool
    """The time limit ends the run before its last epoch."""


def measure_pace(experiment: Experiment, shape: tuple[int, ...], bundled: nn.Module | None = None) -> Pace:
    """Time two training steps (after a warm-up) and one validation pass on a 64-pixel crop with the
    experiment's network, threads and precision (bfloat16 where the run trains in it: twice the
    steps a second); the check is scaled to the whole image. About a second."""
    import time

    from denoiser.training.loops import precision_name, set_threads

    config, (height, width) = experiment.training, shape[:2]
    set_threads(config.threads)
    model = experiment_model(experiment, bundled)
    patches, rows, columns = config.patch_shape(height, width)
    channels = experiment.scenario.channels
    clean = torch.rand(patches, channels, rows, columns)
    sigma = torch.full((patches,), experiment.noise.sigma / 255.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.0)  # the steps leave the weights as they are
    low_precision = precision_name(torch.device("cpu"), config.bfloat16) == "bfloat16"  # as `train_on_image` runs
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=low_precision):
            output = model(clean, sigma).float()
        loss = ((output - clean) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - started)
    crop = np.zeros((min(height, 64), min(width, 64), channels), dtype=np.float32)
    started = time.perf_counter()
    config.inference.run(model, crop, experiment.noise.sigma)
    check = (time.perf_counter() - started) * height * width / (crop.shape[0] * crop.shape[1])
    return Pace(min(seconds[1:]), check)


def estimate_cost(experiment: Experiment, shape: tuple[int, ...], pace: Pace) -> Cost:
    """The run's steps and checks, and its seconds at `pace`, cut at its time limit."""
    config, (height, width) = experiment.training, shape[:2]
    per_epoch = config.steps_per_epoch(round(height * width * config.split.train), height, width)
    steps, checks = per_epoch * config.epochs, -(-config.epochs // config.validate_every)
    seconds = steps * pace.step + checks * pace.check
    budget = config.time_budget
    if budget is None or seconds <= budget:
        return Cost(steps, checks, seconds, False)
    return Cost(max(1, int(steps * budget / seconds)), max(1, int(checks * budget / seconds)), budget, True)


@dataclass
class FitResult:
    noisy: np.ndarray
    masks: SplitMasks
    training: ImageTrainingResult
    scores: dict[str, Scores]
    model: nn.Module

    @property
    def steps(self) -> int:
        return self.training.history[-1].step if self.training.history else 0

    @property
    def epochs(self) -> int:
        return self.training.history[-1].epoch if self.training.history else 0


def run_experiment(experiment: Experiment, clean: np.ndarray, bundled: nn.Module | None = None,
                   on_progress=None, should_stop=None) -> FitResult:
    """Noise, split, train on the training pixels, and score each split (and the whole image)."""
    clean, noisy = reference_and_noisy_input(clean, experiment.noise, experiment.seed)
    masks = split_pixels(clean.shape, experiment.training.split, experiment.seed)
    model = experiment_model(experiment, bundled)
    result = train_on_image(model, clean, noisy, experiment.noise, masks, experiment.training,
                            on_progress=on_progress, should_stop=should_stop)
    return FitResult(noisy, masks, result, score_splits(clean, noisy, result.denoised, masks), model)


def fit_record(experiment: Experiment, result: FitResult, seconds: float, **extra) -> dict:
    """The run as JSON: scores per pixel split (MSE on the 0..255 scale, as the notebook reported it)
    and what produced them."""
    fields = ("noisy_psnr", "denoised_psnr", "noisy_ssim", "denoised_ssim", "noisy_mse", "denoised_mse")
    splits = {name: {"pixels": s.pixels, **{f: _finite(getattr(s, f)) for f in fields}}
              for name, s in result.scores.items()}
    training = experiment.training
    return {"splits": splits, "seconds": round(seconds, 2), "training_seconds": round(result.training.seconds, 2),
            "epochs": result.epochs, "steps": result.steps, "best_epoch": result.training.best_epoch,
            "stopped_by_time_limit": result.training.out_of_time, "preset": experiment.preset,
            "architecture": experiment.model.architecture, "from_bundled_weights": experiment.from_bundled,
            "scenario": experiment.scenario.key, "noise": experiment.noise.name, "seed": experiment.seed,
            "size": list(result.noisy.shape[:2]),
            "training": {"epochs": training.epochs, "batch_size": training.batch_size, "sample": training.sample,
                         "patch_size": training.patch_size, "learning_rate": training.learning_rate,
                         "fresh_noise": training.fresh_noise, "cosine": training.cosine,
                         "time_limit": training.time_budget, "threads": training.threads,
                         "inference": training.inference.label}, **extra}


def score_table(record: dict) -> str:
    """`fit_record`'s scores as a plain-text table, a row per pixel split."""
    head = (f"{record['scenario']}, {record['noise']}, preset {record['preset']} ({record['architecture']}): "
            f"{record['epochs']} epochs, {record['steps']} steps, {record['seconds']:.1f} s\n")
    lines = [f"{'pixels':<11}{'count':>8}{'noisy PSNR':>12}{'denoised':>10}{'gain':>8}{'noisy SSIM':>12}"
             f"{'denoised':>10}{'noisy MSE':>11}{'denoised':>10}"]
    for name in ("train", "validation", "test", "all"):
        s = record["splits"].get(name)
        if not s or not s["pixels"]:
            continue
        gain = s["denoised_psnr"] - s["noisy_psnr"] if None not in (s["denoised_psnr"], s["noisy_psnr"]) else None
        lines.append(f"{name:<11}{s['pixels']:>8}{_cell(s['noisy_psnr'], 12)}{_cell(s['denoised_psnr'], 10)}"
                     f"{_cell(gain, 8, '+.2f')}{_cell(s['noisy_ssim'], 12, '.4f')}{_cell(s['denoised_ssim'], 10, '.4f')}"
                     f"{_cell(s['noisy_mse'], 11, '.1f')}{_cell(s['denoised_mse'], 10, '.1f')}")
    return head + "\n".join(lines) + "\n"


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _cell(value: float | None, width: int, spec: str = ".2f") -> str:
    return f"{'-' if value is None else format(value, spec):>{width}}"

