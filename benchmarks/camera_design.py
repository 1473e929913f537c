"""The camera model's design study: candidates trained at equal CPU cost, scored on validation photos.

    python benchmarks/camera_design.py CORPUS_DIR VALIDATION_DIR --candidate rgb-scratch --cpu-minutes 10

trains one candidate for that many more CPU-minutes (the process's CPU time, so other work on the
machine does not change the comparison), resuming from `runs/camera-design/<candidate>.pt`, then
scores it on the validation photos through the camera simulation and appends the point to
`docs/benchmarks/camera-design.json`. Run it again to extend the curve; `--render` writes the table
`docs/benchmarks/camera-design.md` from the JSON.

The candidates (issue #30: "measure both ideas"):
- `rgb-scratch`: one network that sees R, G and B together (3 input channels), from random weights;
- `opponent-from-color`: the bundled color model's network on three opponent planes, as the color
  Gaussian model works, started from its weights (without its low-noise specialist).
Both are blind: they are given no noise level (a zero noise map for the second).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from study import train_for_cpu_minutes  # noqa: E402
from validation_set import centre_crops  # noqa: E402

from denoiser.errors import DenoiserError  # noqa: E402
from denoiser.images import load_image  # noqa: E402
from denoiser.noise import CameraNoise  # noqa: E402
from denoiser.scenarios import get_scenario  # noqa: E402

JSON = ROOT / "docs" / "benchmarks" / "camera-design.json"
STATES = ROOT / "runs" / "camera-design"
CANDIDATES = ("rgb-scratch", "opponent-from-color")
LEARNING_RATES = {"rgb-scratch": 1e-3, "opponent-from-color": 2e-4}
"""From scratch at the recipes' first-stage rate; a trained network fine-tuned at the rate the color
model's own fine-tuning stages used."""
PATCH, BATCH, HORIZON, SAVE_EVERY = 64, 8, 40_000, 500
"""Patches and batch of both candidates; the cosine schedule's length, far beyond the study, so the
rate stays near its start while the curves are drawn."""
VALIDATION_CAMERAS = (CameraNoise(0.25, None), CameraNoise(0.5, 90), CameraNoise(0.8, 75))
"""The validation cameras: a bright photo uncompressed, a middle one lightly compressed, a dark one
compressed harder."""
UNSEEN_CHECK = CameraNoise(0.5, 40, demosaicing="malvar", tone_curve="gamma")
"""The benchmark's unseen camera at a middle gain, on the validation photos, never trained on: a column of
the camera campaign's curve and of its next-stage studies (`campaign.py`, `next_stage.py`)."""
CROP, PHOTOS = 160, 12


def build(candidate: str):
    from denoiser.models.bundled import load_pretrained
    from denoiser.models.networks import build_model, opponent_colors, specialist_or_network

    if candidate == "rgb-scratch":
        return build_model(get_scenario("color-camera").model)
    color = load_pretrained("color-gaussian").model
    general = color.plane.general if hasattr(color.plane, "general") else specialist_or_network(color)
    return opponent_colors(general)


def validation_crops(folder: Path) -> list[tuple[str, np.ndarray]]:
    """The first `PHOTOS` validation photos (sorted by name), centre crops of `CROP` pixels."""
    return centre_crops(folder, 3, CROP, PHOTOS)


def validation_psnr(model, crops: list[tuple[str, np.ndarray]], cameras=VALIDATION_CAMERAS, inference=None) -> dict:
    """Mean PSNR against the camera's noiseless reference, per camera (the validation cameras unless
    given) and overall (of the noisy photos themselves when `model` is None); the model runs as
    `inference` says, one float32 pass by default."""
    from denoiser.evaluation.metrics import psnr
    from denoiser.inference.precision import Inference

    run = (inference or Inference()).run

    scores = {}
    for camera in cameras:
        values = []
        for index, (_, crop) in enumerate(crops):
            reference, noisy = camera.pair(crop, np.random.default_rng([index, int(camera.gain * 100)]))
            values.append(psnr(reference, noisy if model is None else run(model, noisy, 0.0)))
        scores[camera.name] = float(np.mean(values))
    scores["mean"] = float(np.mean(list(scores.values())))
    return scores


def scores(model, crops, inference=None) -> dict:
    """Validation PSNR through the validation cameras, with the unseen check beside them."""
    return {**validation_psnr(model, crops, inference=inference),
            "unseen": validation_psnr(model, crops, (UNSEEN_CHECK,), inference)["mean"]}


def train_more(candidate: str, corpus: Path, cpu_minutes: float, threads: int) -> tuple[object, int, float]:
    """Train `candidate` for `cpu_minutes` more of this process's CPU time from its state file
    (`study.train_for_cpu_minutes`); returns (model, steps in all, CPU-minutes in all)."""
    from denoiser.training.loops import CorpusConfig
    from denoiser.training.patches import image_files

    images = [load_image(path, 3) for path in image_files(corpus)]
    config = CorpusConfig(steps=HORIZON, batch_size=BATCH, patch_size=PATCH, learning_rate=LEARNING_RATES[candidate],
                          seed=CANDIDATES.index(candidate), threads=threads, checkpoint_every=SAVE_EVERY)
    return train_for_cpu_minutes(lambda: build(candidate), images, get_scenario("color-camera"), config,
                                 STATES / f"{candidate}.pt", {"scenario": "color-camera", "candidate": candidate},
                                 cpu_minutes, candidate)


def psnr_table(leading: list[str], rows: list[tuple[list[str], dict]], extra: tuple[str, ...] = ()) -> str:
    """A Markdown table of validation scores: the `leading` columns, one per validation camera, the
    mean, then the `extra` keys; each row is (its leading cells, its scores), empty scores left blank."""
    keys = [camera.name for camera in VALIDATION_CAMERAS] + ["mean", *extra]
    lines = ["| " + " | ".join(leading + keys) + " |", "|---|" + "---:|" * (len(leading) - 1 + len(keys))]
    for cells, scores in rows:
        lines.append("| " + " | ".join(cells + [f"{scores[key]:.2f}" if scores else "" for key in keys]) + " |")
    return "\n".join(lines) + "\n"


def render(results: dict) -> str:
    noisy = results.get("noisy")
    head = "" if noisy is None else "Noisy input: " + ", ".join(f"{c.name} {noisy[c.name]:.2f}"
                                                               for c in VALIDATION_CAMERAS) + f"; mean {noisy['mean']:.2f} dB.\n\n"
    return head + psnr_table(["candidate", "parameters", "CPU-minutes", "steps"], [
        ([candidate, f"{record['parameters']:,}", f"{point['cpu_minutes']:.1f}", str(point["steps"])], point["psnr"])
        for candidate, record in results["candidates"].items() for point in record["curve"]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", help="the training folder `denoiser corpus --out` wrote")
    parser.add_argument("validation", nargs="?", help="the validation folder (`corpus --validation`)")
    parser.add_argument("--candidate", choices=CANDIDATES)
    parser.add_argument("--cpu-minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--render", action="store_true", help="only write the Markdown table from the JSON")
    args = parser.parse_args(argv)
    results = json.loads(JSON.read_text()) if JSON.is_file() else {"candidates": {}}
    try:
        if not args.render:
            if not (args.corpus and args.validation and args.candidate):
                raise DenoiserError("Give CORPUS_DIR, VALIDATION_DIR and --candidate (or --render).")
            if not args.cpu_minutes > 0:
                raise DenoiserError("--cpu-minutes must be above 0.")
            import torch

            crops = validation_crops(Path(args.validation))
            model, steps, spent = train_more(args.candidate, Path(args.corpus), args.cpu_minutes, args.threads)
            point = {"cpu_minutes": round(spent, 2), "steps": steps, "psnr": validation_psnr(model, crops)}
            results = json.loads(JSON.read_text()) if JSON.is_file() else {"candidates": {}}  # another may have written
            record = results["candidates"].setdefault(args.candidate, {
                "parameters": sum(p.numel() for p in model.parameters()), "learning_rate":
                LEARNING_RATES[args.candidate], "patch": PATCH, "batch": BATCH, "threads": args.threads, "curve": []})
            record["curve"].append(point)
            results.update(validation_photos=[name for name, _ in crops], crop=CROP, torch=torch.__version__,
                           noisy=validation_psnr(None, crops))
            JSON.parent.mkdir(parents=True, exist_ok=True)
            JSON.write_text(json.dumps(results, indent=2) + "\n")
            print(f"{args.candidate}: {spent:.1f} CPU-minutes, {steps} steps, validation {point['psnr']['mean']:.2f} dB")
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    JSON.with_suffix(".md").write_text(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
