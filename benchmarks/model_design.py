"""The stronger Gaussian model's design study: candidates trained from scratch at equal CPU cost.

    python benchmarks/model_design.py CORPUS_DIR VALIDATION_DIR --candidate unshuffle --cpu-minutes 15
    python benchmarks/model_design.py --speed      # every candidate's megapixels per second, one process
    python benchmarks/model_design.py --references VALIDATION_DIR   # the bundled models and (C)BM3D there
    python benchmarks/model_design.py --render     # the Markdown table from the JSON

Each call trains one candidate for that many more CPU-minutes (the process's CPU time, so other work
on the machine does not change the comparison) on the corpus at sigma 0 to 55, resuming from its
state in `campaigns/model-design/<candidate>.pt`, then scores it on the validation photos at sigma
10, 25 and 50 and appends the point to `docs/benchmarks/model-design.json`. Run it again to extend
the curve; commit the state files and the JSON after each run, so the study survives a session's end.

The candidates are today's gray design and the ideas of issue #31, each a `ModelConfig`:
- `today`: the bundled gray network (32 features, hidden 32, 2 sweep blocks at full resolution);
- `unshuffle`: FFDNet's pixel-unshuffle by 2, the same network on a quarter of the positions with
  64 features and hidden 64;
- `unet`: convolutions at full resolution, sweeps at 1/2 and 1/4 of it (hidden 48);
- `gru`: today's network with GRU sweeps;
- `wide`: today's network with hidden 64;
- for color, trained and scored in color: `color-planes`, today's color design (the gray network on
  three opponent planes, three passes), against `color-rgb`, one network that takes R, G and B together,
  and `rgb-unet`, the gray study's winner taking R, G and B together.

Added after both Gaussian models' curves flattened with the color model short of its sigma 10 target
(docs/MODEL_DESIGN.md): is the unet too small? Two larger unets, each within the color model's
speed budget (its 12-megapixel time may grow by 0.13 / 0.073, about 1.8 times):
- `unet-h96`: the unet with hidden 96 in its sweeps;
- `unet-deep`: the unet with two sweep blocks at each level;
- `unet-rerun`: the `unet` design trained again beside them, since a CPU-minute of this session's
  machine is not one of the machine that drew the first curves.
The three train side by side, one thread each, to 45 CPU-minutes. The rule, fixed before the runs:
the larger unet with the higher sigma 10 there is the design of the next campaign if it leads
`unet-rerun` at sigma 10 by 0.05 dB or more without falling behind it by more than 0.05 at 25 or 50;
otherwise size is not what holds the unet back at this training cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from study import train_for_cpu_minutes  # noqa: E402
from validation_set import centre_crops  # noqa: E402

from denoiser.errors import DenoiserError  # noqa: E402
from denoiser.images import load_image  # noqa: E402
from denoiser.models.config import ModelConfig  # noqa: E402
from denoiser.noise import GaussianNoise  # noqa: E402
from denoiser.scenarios import get_scenario  # noqa: E402

JSON = ROOT / "docs" / "benchmarks" / "model-design.json"
STATES = ROOT / "campaigns" / "model-design"
SCENARIOS = {1: "gray-gaussian", 3: "color-gaussian"}
"""The scenario a candidate trains in, by its channels."""
CANDIDATES = {
    "today": get_scenario("gray-gaussian").model,
    "unshuffle": ModelConfig(depth=2, downscale=2, features=64, hidden=64),
    "unet": ModelConfig(architecture="unet", hidden=48),
    "gru": ModelConfig(depth=2, cell="gru"),
    "wide": ModelConfig(depth=2, hidden=64),
    "color-planes": get_scenario("color-gaussian").model,
    "color-rgb": ModelConfig(channels=3, depth=2),
    "rgb-unet": ModelConfig(architecture="unet", hidden=48, channels=3),
    "unet-h96": ModelConfig(architecture="unet", hidden=96),
    "unet-deep": ModelConfig(architecture="unet", hidden=48, depth=2),
    "unet-rerun": ModelConfig(architecture="unet", hidden=48),
}
PATCH, BATCH, LEARNING_RATE, HORIZON = 64, 8, 1e-3, 100_000
"""Every candidate's training: patches, batch and rate of the recipes' from-scratch stages, with noise
levels balanced (`CorpusConfig.balance_noise_levels`); the cosine schedule's length is far beyond
the study, so the rate stays near its start while the curves are drawn."""
SAVE_EVERY = 500
"""Steps between saves of the state, so a run stopped early loses little."""
VALIDATION_SIGMAS = (10, 25, 50)
CROP, PHOTOS = 160, 12
SPEED_SIZE, SPEED_THREADS = 512, 2


def validation_crops(folder: Path, channels: int) -> list[tuple[str, np.ndarray]]:
    """The first `PHOTOS` validation photos (sorted by name), centre crops of `CROP` pixels."""
    return centre_crops(folder, channels, CROP, PHOTOS)


def validation_psnr(model, crops: list[tuple[str, np.ndarray]], method: str | None = None, inference=None) -> dict:
    """Mean PSNR at each validation sigma (true sigma given, 8-bit clipped noise): of `model` (run as
    `inference` says, one float32 pass by default), or of the baseline `method` (`evaluation.baselines`),
    or of the noisy crops themselves when both are None."""
    from denoiser.evaluation.baselines import run_baseline
    from denoiser.evaluation.metrics import psnr
    from denoiser.inference.precision import Inference

    run = (inference or Inference()).run

    scores = {}
    for sigma in VALIDATION_SIGMAS:
        values = []
        for index, (_, crop) in enumerate(crops):
            noisy = GaussianNoise(sigma ** 2, quantize=True).apply(crop, np.random.default_rng([index, sigma]))
            if model is not None:
                noisy = run(model, noisy, float(sigma))
            elif method is not None:
                noisy = run_baseline(method, noisy, float(sigma))[0]
            values.append(psnr(crop, noisy))
        scores[str(sigma)] = float(np.mean(values))
    return scores


def references(validation: Path) -> dict:
    """What the candidates are measured against, on the same crops: the bundled Gaussian models and
    BM3D (CBM3D for color), each at the true sigma."""
    from denoiser.models.bundled import load_pretrained

    found = {}
    for kind, channels in (("gray", 1), ("color", 3)):
        crops = validation_crops(validation, channels)
        found[kind] = {"bundled model": validation_psnr(load_pretrained(SCENARIOS[channels]).model, crops),
                       "BM3D" if channels == 1 else "CBM3D": validation_psnr(None, crops, "bm3d")}
    return found


def train_more(candidate: str, corpus: Path, cpu_minutes: float, threads: int):
    """Train `candidate` for `cpu_minutes` more CPU-minutes from its state file; returns (model, steps,
    CPU-minutes in all)."""
    from denoiser.models.networks import build_model
    from denoiser.training.loops import CorpusConfig
    from denoiser.training.patches import image_files

    channels = CANDIDATES[candidate].channels
    images = [load_image(path, channels) for path in image_files(corpus)]
    config = CorpusConfig(steps=HORIZON, batch_size=BATCH, patch_size=PATCH, learning_rate=LEARNING_RATE,
                          seed=list(CANDIDATES).index(candidate), threads=threads, checkpoint_every=SAVE_EVERY,
                          balance_noise_levels=True)
    scenario = SCENARIOS[channels]
    return train_for_cpu_minutes(lambda: build_model(CANDIDATES[candidate]), images, get_scenario(scenario), config,
                                 STATES / f"{candidate}.pt", {"scenario": scenario, "candidate": candidate},
                                 cpu_minutes, candidate)


def megapixels_per_second(config: ModelConfig, repeats: int = 3) -> float:
    """Inference speed of a fresh network of this design on a `SPEED_SIZE`-pixel square gray image,
    best of `repeats`, with `SPEED_THREADS` torch threads (as the app runs)."""
    import torch

    from denoiser.models.networks import build_model

    torch.set_num_threads(SPEED_THREADS)
    model = build_model(config).eval()
    image = torch.rand(1, config.channels, SPEED_SIZE, SPEED_SIZE)  # a color candidate: a color image
    sigma = torch.tensor([25 / 255])
    times = []
    with torch.inference_mode():
        model(image[..., :64, :64], sigma)
        for _ in range(repeats):
            started = time.perf_counter()
            model(image, sigma)
            times.append(time.perf_counter() - started)
    return SPEED_SIZE ** 2 / 1e6 / min(times)


def render(results: dict) -> str:
    """One table per kind of candidate (gray, color), each with its noisy input's row; the points in
    the order they were added."""
    speeds = results.get("speed", {}).get("megapixels_per_second", {})
    parts = []
    for channels, kind in ((1, "gray"), (3, "color")):
        records = {name: r for name, r in results["candidates"].items() if r["config"]["channels"] == channels}
        if not records:
            continue
        lines = [f"**{kind.capitalize()}**", "",
                 "| candidate | parameters | MP/s | CPU-minutes | steps | "
                 + " | ".join(f"sigma {s}" for s in VALIDATION_SIGMAS) + " |",
                 "|---|---:|---:|---:|---:|" + "---:|" * len(VALIDATION_SIGMAS)]
        noisy = results.get("noisy", {}).get(kind)
        if noisy:
            lines.append("| noisy input | | | | | " + " | ".join(f"{noisy[str(s)]:.2f}" for s in VALIDATION_SIGMAS) + " |")
        for name, scores in results.get("references", {}).get(kind, {}).items():
            lines.append(f"| {name} (reference) | | | | | " + " | ".join(f"{scores[str(s)]:.2f}" for s in VALIDATION_SIGMAS)
                         + " |")
        for candidate, record in records.items():
            speed = speeds.get(candidate)
            for point in record["curve"]:
                cells = " | ".join(f"{point['psnr'][str(s)]:.2f}" for s in VALIDATION_SIGMAS)
                lines.append(f"| {candidate} | {record['parameters']:,} | {'' if speed is None else f'{speed:.3f}'} "
                             f"| {point['cpu_minutes']:.1f} | {point['steps']} | {cells} |")
        parts.append("\n".join(lines))
    machine = results.get("speed", {}).get("machine")
    if machine:
        sizes = results["speed"]["parameters"]
        parts.append("\n".join([f"**Every candidate's cost** (inference on a {SPEED_SIZE}x{SPEED_SIZE} image, color for "
                                f"color candidates, {SPEED_THREADS} threads, {machine})", "",
                                "| candidate | parameters | MP/s |", "|---|---:|---:|"]
                               + [f"| {name} | {sizes[name]:,} | {speed:.3f} |" for name, speed in speeds.items()]))
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, help="the training folder `denoiser corpus --out` wrote")
    parser.add_argument("validation", nargs="?", type=Path, help="the validation folder (`corpus --validation`)")
    parser.add_argument("--candidate", choices=list(CANDIDATES))
    parser.add_argument("--cpu-minutes", type=float, default=15.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--speed", action="store_true", help="only measure every candidate's inference speed")
    parser.add_argument("--references", type=Path, metavar="VALIDATION_DIR",
                        help="only score the bundled models and (C)BM3D on the validation crops")
    parser.add_argument("--render", action="store_true", help="only write the Markdown table from the JSON")
    args = parser.parse_args(argv)
    results = json.loads(JSON.read_text()) if JSON.is_file() else {"candidates": {}}
    try:
        if args.speed:
            from denoiser.evaluation.comparison import machine

            from denoiser.models.networks import build_model, count_parameters

            speeds = {name: round(megapixels_per_second(config), 4) for name, config in CANDIDATES.items()}
            sizes = {name: count_parameters(build_model(config)) for name, config in CANDIDATES.items()}
            results["speed"] = {"megapixels_per_second": speeds, "parameters": sizes, "machine": machine()["cpu"]}
        elif args.references:
            results["references"] = references(args.references)
        elif not args.render:
            if not (args.corpus and args.validation and args.candidate):
                raise DenoiserError("Give CORPUS_DIR, VALIDATION_DIR and --candidate (or --speed, or --render).")
            if not args.cpu_minutes > 0:
                raise DenoiserError("--cpu-minutes must be above 0.")
            from denoiser.models.networks import count_parameters

            channels = CANDIDATES[args.candidate].channels
            kind = "gray" if channels == 1 else "color"
            crops = validation_crops(args.validation, channels)
            model, steps, spent = train_more(args.candidate, args.corpus, args.cpu_minutes, args.threads)
            point = {"cpu_minutes": round(spent, 2), "steps": steps, "psnr": validation_psnr(model, crops)}
            results = json.loads(JSON.read_text()) if JSON.is_file() else {"candidates": {}}  # another may have written
            record = results["candidates"].setdefault(args.candidate, {
                "config": CANDIDATES[args.candidate].to_dict(), "parameters": count_parameters(model),
                "threads": args.threads, "curve": []})
            record["curve"].append(point)
            results.update(validation_photos=[name for name, _ in crops], crop=CROP, patch=PATCH, batch=BATCH,
                           learning_rate=LEARNING_RATE)
            results.setdefault("noisy", {})[kind] = validation_psnr(None, crops)
            print(f"{args.candidate}: {spent:.1f} CPU-minutes, {steps} steps, validation "
                  + ", ".join(f"sigma {s} {point['psnr'][str(s)]:.2f}" for s in VALIDATION_SIGMAS))
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    JSON.parent.mkdir(parents=True, exist_ok=True)
    JSON.write_text(json.dumps(results, indent=2) + "\n")
    JSON.with_suffix(".md").write_text(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
