"""Inference in float32 and in bfloat16 autocast: what it costs in PSNR on the validation photos, and
what it saves in time, for each bundled Gaussian or camera model and any checkpoint named.

    python benchmarks/inference_precision.py VALIDATION_DIR [--model NAME=PATH ...] [--repeats 3]

Training already runs in bfloat16 autocast on CPUs with bfloat16 instructions (`training.loops.
cpu_bfloat16`); `inference.tiled.denoise` runs in float32. Each model is scored in both precisions
on the validation crops of its study (`model_design.validation_psnr` at sigma 10, 25 and 50;
`camera_design.scores` through the validation cameras and the unseen check), and timed on a
512x512 photo (camera, or coffee for three channels) at sigma 25, the precisions alternating within
each round so that a background load hits them alike. A decision for the validation set: the
benchmark photos are not read. Writes docs/benchmarks/inference-precision.json and .md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import camera_design  # noqa: E402
from campaign import column  # noqa: E402
import model_design  # noqa: E402

from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.inference.tiled import denoise  # noqa: E402
from denoiser.noise import GaussianNoise  # noqa: E402
from denoiser.samples import sample_photo  # noqa: E402
from denoiser.training.loops import cpu_bfloat16  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "inference-precision"
BUNDLED = ("gray-gaussian", "color-gaussian", "color-camera")
SIZE, SIGMA, THREADS = 512, 25, 2


def precision(name: str):
    """The context a precision runs in: nothing for float32, bfloat16 autocast on the CPU otherwise."""
    return contextlib.nullcontext() if name == "float32" else torch.autocast("cpu", dtype=torch.bfloat16)


def scorer(model, validation: Path):
    """The validation scores of the model's kind: camera (blind, three channels) or Gaussian."""
    if model.metadata.get("scenario") == "color-camera":
        crops = camera_design.validation_crops(validation)
        return lambda: camera_design.scores(model.model, crops)
    crops = model_design.validation_crops(validation, model.model.config.channels)
    return lambda: model_design.validation_psnr(model.model, crops)


def seconds(model, repeats: int) -> dict[str, float]:
    """Median seconds of `denoise` on a 512x512 photo per precision, alternating within each round."""
    photo = sample_photo("coffee" if model.model.config.channels == 3 else "camera", model.model.config.channels)
    clean = np.ascontiguousarray(photo[:SIZE, :SIZE])
    noisy = GaussianNoise(SIGMA ** 2, quantize=True).apply(clean, np.random.default_rng(0))
    times = {"float32": [], "bfloat16": []}
    for round_ in range(repeats + 1):  # the first round warms up
        for name in times:
            with precision(name):
                started = time.perf_counter()
                denoise(model.model, noisy, float(SIGMA))
                if round_:
                    times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def render(record: dict) -> str:
    lines = [f"Validation crops of `{record['validation']}`; {SIZE}x{SIZE} timing at sigma {SIGMA}, {THREADS} threads, "
             f"medians of {record['repeats']}; {record['machine']['cpu']}, {record['machine']['cores']} cores.", "",
             "| model | score | float32 | bfloat16 | difference |", "|---|---|---:|---:|---:|"]
    for name, row in record["models"].items():
        for key, value in row["float32"].items():
            lines.append(f"| {name} | {column(key)} | {value:.3f} | {row['bfloat16'][key]:.3f} | "
                         f"{row['bfloat16'][key] - value:+.3f} |")
        lines.append(f"| {name} | seconds | {row['seconds']['float32']:.3f} | {row['seconds']['bfloat16']:.3f} | "
                     f"x{row['seconds']['bfloat16'] / row['seconds']['float32']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from denoiser.models.bundled import load_pretrained
    from denoiser.models.checkpoint import load_checkpoint

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("validation", type=Path)
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not cpu_bfloat16():
        print("error: this CPU has no bfloat16 instructions; there is nothing to compare.", file=sys.stderr)
        return 2
    if not args.validation.is_dir():
        print(f"error: no validation folder {args.validation}.", file=sys.stderr)
        return 2
    named = {}
    for item in args.model:  # checked before any model loads
        name, _, path = item.partition("=")
        if not (name and Path(path).is_file()):
            print(f"error: --model wants NAME=PATH of a checkpoint, not {item!r}.", file=sys.stderr)
            return 2
        named[name] = Path(path)
    torch.set_num_threads(THREADS)
    models = {name: load_pretrained(name) for name in BUNDLED}
    models.update({name: load_checkpoint(path) for name, path in named.items()})
    record = {"validation": str(args.validation), "repeats": args.repeats, "machine": machine(), "models": {}}
    for name, model in models.items():
        score = scorer(model, args.validation)
        row = {}
        for kind in ("float32", "bfloat16"):
            with precision(kind):
                row[kind] = score()
        row["seconds"] = seconds(model, args.repeats)
        record["models"][name] = row
        print(name, {kind: {key: round(value, 3) for key, value in row[kind].items()} for kind in ("float32", "bfloat16")},
              row["seconds"], flush=True)
    OUT.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    OUT.with_suffix(".md").write_text(render(record))
    print(f"wrote {OUT.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
