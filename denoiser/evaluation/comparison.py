"""Benchmark: the LSTM against the classical baselines on photos it never trained on.

Each image gets its own seeded noise (the seed and the image name fix it), so a rerun gives the
same numbers; every method sees the same noisy image and is scored by PSNR and SSIM on all pixels.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from denoiser.errors import DenoiserError
from denoiser.evaluation.baselines import BASELINES, baselines_for, run_baseline
from denoiser.evaluation.metrics import psnr, ssim
from denoiser.images import convert_channels, load_image
from denoiser.noise import CameraNoise, GaussianNoise, NoiseModel, SaltPepperNoise, reference_and_noisy
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS, sample_photo
from denoiser.scenarios import Scenario, get_scenario

REFERENCE_METHODS = {"noisy": "Noisy input", "lstm": "LSTM", "lstm-x8": "LSTM, self-ensemble of 8"}
LSTM_VIEWS = {"lstm": None, "lstm-x8": 8}
"""The methods that run the LSTM, and how many flips and rotations each averages (None: as the lab
runs the model on this CPU, `lstm_inference`)."""


@dataclass(frozen=True)
class BenchmarkRow:
    image: str
    method: str
    psnr: float
    ssim: float
    seconds: float


def method_title(key: str) -> str:
    if key in REFERENCE_METHODS:
        return REFERENCE_METHODS[key]
    return BASELINES[key].title if key in BASELINES else key


def default_methods(scenario_key: str) -> list[str]:
    return ["noisy", "lstm", *baselines_for(scenario_key)]


def default_images(scenario_key: str) -> dict[str, np.ndarray]:
    """The held-out sample photos (never the training ones); color scenarios use the color ones only."""
    scenario = get_scenario(scenario_key)
    names = COLOR_BENCHMARK_PHOTOS if scenario.channels == 3 else BENCHMARK_PHOTOS
    return {name: sample_photo(name, scenario.channels) for name in names}


def load_images(folder: str | os.PathLike, channels: int) -> dict[str, np.ndarray]:
    """Every image under `folder`, named by its path inside it without the suffix."""
    from denoiser.training.patches import image_files

    images: dict[str, np.ndarray] = {}
    for path in image_files(folder):
        name = path.relative_to(folder).with_suffix("").as_posix()
        if name in images:
            raise DenoiserError(f"Two images are named '{name}' under {folder} (same name, different suffix).")
        images[name] = load_image(path, channels)
    return images


def benchmark_noise(scenario: Scenario, sigma: float | None = None, density: float | None = None,
                    camera: CameraNoise | None = None) -> NoiseModel:
    """The scenario's kind of noise at the asked level (its notebook default when none is asked)."""
    if scenario.noise_kind == "camera":
        if sigma is not None or density is not None:
            raise DenoiserError(f"{scenario.key} adds camera noise: give --gain and --jpeg-quality, not a sigma or "
                                "density.")
        return camera or scenario.noise
    if camera is not None:
        raise DenoiserError(f"--gain and --jpeg-quality are for camera noise; {scenario.key} takes a "
                            f"{'density' if scenario.noise_kind == 'salt-pepper' else 'sigma'}.")
    if scenario.noise_kind == "salt-pepper":
        if sigma is not None:
            raise DenoiserError(f"{scenario.key} adds salt-and-pepper noise: give a density, not a sigma.")
        return SaltPepperNoise(scenario.noise.density if density is None else density)
    if density is not None:
        raise DenoiserError(f"{scenario.key} adds Gaussian noise: give a sigma, not a density.")
    if sigma is not None and sigma < 0:
        raise DenoiserError("The sigma must be zero or positive.")
    return GaussianNoise((scenario.noise.sigma if sigma is None else sigma) ** 2)


def image_rng(seed: int, name: str) -> np.random.Generator:
    """The generator for one image's noise: fixed by the run's seed and the image's name."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def run_benchmark(scenario_key: str, sigma: float | None = None, density: float | None = None,
                  images: dict[str, np.ndarray] | None = None, methods: list[str] | None = None,
                  seed: int = 0, on_progress: Callable[[int, int], None] | None = None,
                  model_path: str | os.PathLike | None = None,
                  camera: CameraNoise | None = None) -> list[BenchmarkRow]:
    """One row per (image, method). `lstm` is the bundled model, or the checkpoint at `model_path`
    (`lstm-x8` the same with a self-ensemble of 8); `noisy` scores the input itself. Everything
    is checked before the first method runs. Camera noise (`camera`) is scored against the camera's
    noiseless reference, and every method is blind to its level (the baselines estimate a sigma)."""
    scenario = get_scenario(scenario_key)
    noise = benchmark_noise(scenario, sigma, density, camera)
    methods = list(default_methods(scenario.key) if methods is None else methods)
    unknown = [m for m in methods if m not in REFERENCE_METHODS and m not in BASELINES]
    if unknown or not methods:
        choices = ", ".join([*REFERENCE_METHODS, *BASELINES])
        raise DenoiserError(f"Unknown method '{unknown[0]}': choose from {choices}." if unknown
                            else f"No methods given: choose from {choices}.")
    images = default_images(scenario.key) if images is None else images
    if not images:
        raise DenoiserError("No images to benchmark.")
    images = {name: _as_image(image, scenario.channels, name) for name, image in images.items()}
    model = _load_model(scenario, model_path) if set(LSTM_VIEWS) & set(methods) else None

    rows: list[BenchmarkRow] = []
    total = len(images) * len(methods)
    for name, clean in images.items():
        clean, noisy = reference_and_noisy(noise, clean, image_rng(seed, name))
        for method in methods:
            denoised, seconds = _run_method(method, noisy, noise.sigma, model, scenario, model_path)
            rows.append(BenchmarkRow(name, method, psnr(clean, denoised), ssim(clean, denoised), seconds))
            if on_progress:
                on_progress(len(rows), total)
    return rows


def summarize(rows: list[BenchmarkRow]) -> dict[str, dict[str, float]]:
    """Mean PSNR, SSIM and seconds per method, in the order the methods first appear."""
    by_method: dict[str, list[BenchmarkRow]] = {}
    for row in rows:
        by_method.setdefault(row.method, []).append(row)
    return {method: {"psnr": float(np.mean([r.psnr for r in group])),
                     "ssim": float(np.mean([r.ssim for r in group])),
                     "seconds": float(np.mean([r.seconds for r in group]))}
            for method, group in by_method.items()}


def to_json(scenario_key: str, rows: list[BenchmarkRow], **settings) -> dict:
    """A JSON-ready record: the scenario, the settings given, every row and the means per method."""
    return {"scenario": scenario_key, **settings,
            "results": [asdict(row) for row in rows], "summary": summarize(rows)}


def to_markdown(rows: list[BenchmarkRow], per_image: bool = True) -> str:
    """A Markdown table: one row per (image, method), then a mean row per method; with
    `per_image` False, only the means (one row per method)."""
    means = summarize(rows)
    if not per_image:
        lines = ["| method | PSNR (dB) | SSIM | seconds |", "|---|---:|---:|---:|"]
        lines += [f"| {method} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['seconds']:.2f} |" for method, m in means.items()]
        return "\n".join(lines) + "\n"
    lines = ["| image | method | PSNR (dB) | SSIM | seconds |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r.image} | {r.method} | {r.psnr:.2f} | {r.ssim:.4f} | {r.seconds:.2f} |" for r in rows]
    lines += [f"| **mean** | {method} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['seconds']:.2f} |"
              for method, m in means.items()]
    return "\n".join(lines) + "\n"


def model_record(path: str | os.PathLike) -> dict:
    """Which weights the lstm rows came from: the file, a hash of it and its training steps."""
    from denoiser.models.checkpoint import read_payload

    data = Path(path).read_bytes() if Path(path).is_file() else b""
    metadata = read_payload(data).get("metadata", {}) if data else {}
    record = {"file": str(path), "sha256": hashlib.sha256(data).hexdigest()[:16]}
    return record | ({"steps": metadata["steps"]} if "steps" in metadata else {})


def machine() -> dict[str, str | int]:
    """Where the numbers were measured: the CPU model, its cores and last-level cache, the accelerator if
    any, versions. The cache tells apart machines that share a model name ("Intel(R) Xeon(R) Processor")."""
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    found = {"cpu": cpu, "cores": os.cpu_count() or 0}
    if cache := last_level_cache():
        found["last_level_cache"] = cache
    return {**found, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
            "python": platform.python_version(), "torch": torch.__version__}


def last_level_cache() -> str | None:
    """The first CPU's largest cache level and size as Linux reports it ("L3 491520K"), None elsewhere."""
    levels = []
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            levels.append((int((index / "level").read_text()), (index / "size").read_text().strip()))
        except (OSError, ValueError):
            continue
    if not levels:
        return None
    level, size = max(levels)
    return f"L{level} {size}"


def _as_image(image: np.ndarray, channels: int, name: str) -> np.ndarray:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3):
        raise DenoiserError(f"Image '{name}' has shape {array.shape}; expected (H, W, 1) or (H, W, 3).")
    return convert_channels(array, channels)


def _load_model(scenario: Scenario, model_path):
    from denoiser.models.bundled import load_pretrained, pretrained_path
    from denoiser.models.checkpoint import load_checkpoint

    if not model_path and not pretrained_path(scenario.key).is_file():
        raise DenoiserError(f"No bundled weights for {scenario.key} yet: give a model, or leave 'lstm' out of the methods.")
    checkpoint = load_checkpoint(model_path) if model_path else load_pretrained(scenario.key)
    if checkpoint.config.channels != scenario.channels:
        raise DenoiserError(f"The model has {checkpoint.config.channels} channel(s); "
                            f"{scenario.key} needs {scenario.channels}.")
    return checkpoint.model


def lstm_inference(scenario: Scenario, method: str, model_path=None):
    """How an LSTM `method` runs: the bundled weights as the lab runs them on this CPU
    (`inference.precision.bundled_inference`), a given checkpoint in float32."""
    from denoiser.inference.precision import model_inference

    return model_inference(scenario, LSTM_VIEWS[method], checkpoint=bool(model_path))


def _run_method(method: str, noisy: np.ndarray, sigma: float, model, scenario: Scenario,
                model_path) -> tuple[np.ndarray, float]:
    if method == "noisy":
        return noisy, 0.0
    if method in LSTM_VIEWS:
        started = time.perf_counter()
        denoised = lstm_inference(scenario, method, model_path).run(model, noisy, sigma)
        return denoised, time.perf_counter() - started
    return run_baseline(method, noisy, sigma)
