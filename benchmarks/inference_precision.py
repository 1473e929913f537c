"""Inference in float32 and in bfloat16 autocast, one pass and tile flips: what each scores on the
validation photos and costs in time, for each bundled Gaussian or camera model and any checkpoint named,
and which one a bundled model runs by default on a CPU with bfloat16 instructions.

    python benchmarks/inference_precision.py VALIDATION_DIR [--model NAME=PATH ...] [--repeats 3]

Each model is scored in every variant (`VARIANTS`: one float32 pass, then bfloat16 with 1, 2 and 4
mirror images of each tile batched in one pass, `inference.tiled.TILE_FLIPS`) on the validation crops of its study
(`model_design.validation_psnr` at sigma 10, 25 and 50; `camera_design.scores` through the validation
cameras and the unseen check), and timed on a 512x512 photo (camera, or coffee for three channels) at
sigma 25, each variant in a fresh process of its own (`seconds`).

The rule, fixed before the run (`choice`): a bundled model runs by default the bfloat16 variant with the
most flips whose time is at most the float32 pass's and whose every score is at least the float32
pass's: more quality for no more time. Where none qualifies it stays in float32
(`Scenario.bfloat16_flips`). A decision for the validation set: the benchmark photos are not read.
Salt-and-pepper has no validation score here and stays in float32. Writes
docs/benchmarks/inference-precision.json and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import camera_design  # noqa: E402
from campaign import column  # noqa: E402
import model_design  # noqa: E402

from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.inference.precision import Inference, cpu_bfloat16  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "inference-precision"
BUNDLED = ("gray-gaussian", "color-gaussian", "color-camera")
SIZE, SIGMA, THREADS = 512, 25, 2
VARIANTS = {"float32": Inference(), "bfloat16": Inference(bfloat16=True),
            "bfloat16 x2": Inference(bfloat16=True, flips=2), "bfloat16 x4": Inference(bfloat16=True, flips=4)}
"""What each model is scored and timed in; the first is the reference the others must match."""


def scorer(model, validation: Path):
    """The validation scores of the model's kind (camera: blind, three channels; else Gaussian), for an
    `Inference`."""
    if model.metadata.get("scenario") == "color-camera":
        crops = camera_design.validation_crops(validation)
        return lambda inference: camera_design.scores(model.model, crops, inference)
    crops = model_design.validation_crops(validation, model.model.config.channels)
    return lambda inference: model_design.validation_psnr(model.model, crops, inference=inference)


TIMING_PROCESS = """
import json, sys, time
import numpy as np, torch
from denoiser.inference.precision import Inference
from denoiser.models.bundled import pretrained_path
from denoiser.models.checkpoint import load_checkpoint
from denoiser.noise import GaussianNoise
from denoiser.samples import sample_photo
from denoiser.scenarios import SCENARIOS
name, flips, low, repeats, size, sigma, threads = sys.argv[1:]
torch.set_num_threads(int(threads))
path = pretrained_path(name) if name in SCENARIOS else name  # a bundled model, or a checkpoint's path
model = load_checkpoint(path).model
channels = model.config.channels
clean = np.ascontiguousarray(sample_photo("coffee" if channels == 3 else "camera", channels)[:int(size), :int(size)])
noisy = GaussianNoise(float(sigma) ** 2, quantize=True).apply(clean, np.random.default_rng(0))
inference, times = Inference(bfloat16=low == "1", flips=int(flips)), []
for run in range(int(repeats) + 1):  # the first run warms up
    started = time.perf_counter()
    inference.run(model, noisy, float(sigma))
    times.append(time.perf_counter() - started)
print(json.dumps(times[1:]))
"""
"""One variant timed in a fresh Python: warm-up, then `repeats` runs, of a bundled model or a checkpoint."""


def seconds(model_name: str, repeats: int) -> dict[str, float]:
    """Median seconds of each variant on a 512x512 photo, each timed in a fresh process of its own
    (`TIMING_PROCESS`), as a process that denoises runs one way: once a process has computed in
    bfloat16, its float32 passes run slower (interleaved with bfloat16 ones in an earlier run of this
    script, b006453, a float32 pass took 0.476 s against 0.363 in a process of its own), which
    favoured bfloat16. The variants run in order and then in reverse, a process each time, so that a
    drifting load hits them alike: the median is over 2 x `repeats` runs."""
    times = {name: [] for name in VARIANTS}
    for order in (list(VARIANTS), list(reversed(VARIANTS))):
        for name in order:
            inference = VARIANTS[name]
            command = [sys.executable, "-c", TIMING_PROCESS, model_name, str(inference.flips),
                       str(int(inference.bfloat16)), str(repeats), str(SIZE), str(SIGMA), str(THREADS)]
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
            times[name] += json.loads(done.stdout.strip().splitlines()[-1])
    return {name: statistics.median(values) for name, values in times.items()}


def choice(row: dict) -> int | None:
    """The rule: the flips of the bfloat16 variant with the most flips that takes at most the float32
    pass's time and scores at least as high on every score; None where none does (float32 stays)."""
    reference, limit = row["float32"], row["seconds"]["float32"]
    fitting = [VARIANTS[name].flips for name in VARIANTS if VARIANTS[name].bfloat16 and row["seconds"][name] <= limit
               and all(row[name][key] >= value for key, value in reference.items())]
    return max(fitting, default=None)


def render(record: dict) -> str:
    names = list(VARIANTS)
    lines = [f"Validation crops of `{record['validation']}`; {SIZE}x{SIZE} timing at sigma {SIGMA}, {THREADS} threads, "
             f"medians of {2 * record['repeats']} runs in two fresh processes per variant; {record['machine']['cpu']}, "
             f"{record['machine']['cores']} cores. "
             "Differences from float32 in brackets.", "",
             "| model | score | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)]
    for name, row in record["models"].items():
        for key, value in row["float32"].items():
            cells = [f"{value:.3f}"] + [f"{row[variant][key]:.3f} ({row[variant][key] - value:+.3f})" for variant in names[1:]]
            lines.append(f"| {name} | {column(key)} | " + " | ".join(cells) + " |")
        reference = row["seconds"]["float32"]
        cells = [f"{reference:.3f}"] + [f"{row['seconds'][variant]:.3f} (x{row['seconds'][variant] / reference:.2f})"
                                        for variant in names[1:]]
        lines.append(f"| {name} | seconds | " + " | ".join(cells) + " |")
    chosen = ", ".join(f"{name}: " + (f"bfloat16, {row['choice']} tile flips" if row["choice"] else "float32")
                       for name, row in record["models"].items())
    lines += ["", f"By the rule (the most tile flips in bfloat16 at no more time and no lower score): {chosen}."]
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
        row = {variant: score(inference) for variant, inference in VARIANTS.items()}
        row["seconds"] = seconds(str(named[name].resolve()) if name in named else name, args.repeats)
        row["choice"] = choice(row)
        record["models"][name] = row
        print(name, {variant: {key: round(value, 3) for key, value in row[variant].items()} for variant in VARIANTS},
              row["seconds"], row["choice"], flush=True)
    OUT.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    OUT.with_suffix(".md").write_text(render(record))
    print(f"wrote {OUT.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
