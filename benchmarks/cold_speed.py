"""A 512x512 gray photo denoised by a fresh process, start-up included: the LSTM models against BM3D.

    python benchmarks/cold_speed.py [--model NAME=PATH ...] [--repeats 5]

A user who denoises one photo pays the process's start-up too: Python, the imports, the weights.
So each method runs as its own fresh process on the same noisy PNG (camera, sigma 25) and writes its
result: the models through `python -m denoiser denoise --scenario gray-gaussian --sigma 25 [--model
PATH]`, BM3D through a fresh Python that imports only `bm3d`, NumPy and Pillow (`BM3D_PROCESS`), so
BM3D is not charged for torch. The runs go round robin, so that all share the machine's load; the
table gives each median, the fastest, and the median's ratio to BM3D's median of the same run.
Writes docs/benchmarks/cold-speed.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.images import save_image  # noqa: E402
from denoiser.noise import GaussianNoise  # noqa: E402
from denoiser.samples import sample_photo  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "cold-speed"
SIGMA, THREADS = 25, 2
BM3D_PROCESS = """
import sys
import bm3d
import numpy as np
from PIL import Image
noisy = np.asarray(Image.open(sys.argv[1]), dtype=np.float32) / 255
clean = bm3d.bm3d(noisy, sigma_psd=float(sys.argv[3]) / 255)
Image.fromarray(np.uint8(np.clip(np.round(clean * 255), 0, 255))).save(sys.argv[2])
"""
"""BM3D as its own user runs it: read the PNG, denoise at the true sigma, write the PNG."""


def commands(noisy: Path, folder: Path, models: dict[str, Path | None]) -> dict[str, list[str]]:
    """Each method's command line, writing into `folder`."""
    found = {"BM3D": [sys.executable, "-c", BM3D_PROCESS, str(noisy), str(folder / "bm3d.png"), str(SIGMA)]}
    for name, path in models.items():
        found[name] = [sys.executable, "-m", "denoiser", "denoise", str(noisy), "-o", str(folder / f"{name}.png"),
                       "--scenario", "gray-gaussian", "--sigma", str(SIGMA)] + (["--model", str(path)] if path else [])
    return found


def timed(command: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(command[:4])} failed: {result.stderr.strip().splitlines()[-1:]}")
    return seconds


def render(report: dict) -> str:
    lines = [f"{report['image']}, {THREADS} threads, medians of {report['repeats']} fresh processes; {report['machine']['cpu']}, "
             f"{report['machine']['cores']} cores.",
             "", "| method | median s | fastest s | time / BM3D's |", "|---|---:|---:|---:|"]
    for name, row in report["methods"].items():
        lines.append(f"| {name} | {row['median']:.2f} | {row['fastest']:.2f} | {row['over_bm3d']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                        help="a gray checkpoint to time beside the bundled weights (repeatable)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    models: dict[str, Path | None] = {"bundled gray model": None}
    for item in args.model:
        name, _, path = item.partition("=")
        if not path or not Path(path).is_file():
            print(f"error: --model wants NAME=PATH of a checkpoint, not {item!r}.", file=sys.stderr)
            return 2
        models[name] = Path(path)
    with tempfile.TemporaryDirectory() as folder:
        noisy = Path(folder) / "noisy.png"
        clean = sample_photo("camera", 1)
        save_image(GaussianNoise(SIGMA ** 2, quantize=True).apply(clean, np.random.default_rng(0)), noisy)
        runs = commands(noisy, Path(folder), models)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, command in runs.items():
                times[name].append(timed(command))
    bm3d = statistics.median(times["BM3D"])
    report = {"image": f"camera 512x512, sigma {SIGMA}", "repeats": args.repeats, "machine": machine(),
              "models": {name: str(path) if path else "denoiser/weights/gray-gaussian.pt" for name, path in models.items()},
              "methods": {name: {"median": round(statistics.median(seconds), 3), "fastest": round(min(seconds), 3),
                                 "over_bm3d": round(statistics.median(seconds) / bm3d, 3), "seconds": seconds}
                          for name, seconds in times.items()}}
    OUT.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    OUT.with_suffix(".md").write_text(render(report))
    print(render(report), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
