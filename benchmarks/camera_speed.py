"""A 12-megapixel camera photo through the command line: the camera model against the color Gaussian model.

    python benchmarks/camera_speed.py CORPUS_BENCHMARK_DIR [--photo NAME]

Makes a 4000x3000 photo the way a user's camera would (the first benchmark photo, or `--photo`,
resized to 12 megapixels, then through the training camera at gain 0.6 with JPEG 90), saves it as a
PNG (the camera's JPEG decoded, not compressed again), and times, one after the other in this run, `python -m denoiser denoise --scenario
color-camera` (blind) and `--scenario color-gaussian` (sigma estimated, as a user without a sigma
runs it): wall seconds from the command's start to its exit, start-up and file writing included,
and each command's peak memory (its VmHWM, read while it runs). Writes
docs/benchmarks/camera-speed.json and .md with the ratio of the two times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from load_test import memory_mb  # noqa: E402

from denoiser.errors import DenoiserError  # noqa: E402
from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.images import IMAGE_SUFFIXES, load_image, save_image  # noqa: E402
from denoiser.noise import CameraNoise  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
WIDTH, HEIGHT = 4000, 3000
CAMERA = CameraNoise(0.6, 90)
SCENARIOS = ("color-camera", "color-gaussian")


def camera_photo(source: Path, target: Path) -> None:
    """`source` resized to WIDTH x HEIGHT and sent through `CAMERA`, saved at `target`."""
    from PIL import Image

    clean = load_image(source, 3)
    resized = Image.fromarray(np.round(clean * 255).astype(np.uint8)).resize((WIDTH, HEIGHT), Image.LANCZOS)
    noisy = CAMERA.apply(np.asarray(resized, dtype=np.float64) / 255.0, np.random.default_rng(0))
    save_image(noisy, target)


def benchmark_photo(folder: Path, name: str | None) -> Path:
    """The benchmark photo called `name` in `folder` (the first by name when None); a `DenoiserError` if none."""
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    chosen = [p for p in files if name in (None, p.stem)]
    if not chosen:
        raise DenoiserError(f"No benchmark photo {name or ''} in {folder}.")
    return chosen[0]


def timed_command(arguments: list[str]) -> dict:
    """Wall seconds and peak resident memory (MB) of one `python -m denoiser` command. The peak is the
    child's VmHWM, read every 0.2 s until it exits: it counts the command's own memory only (the kernel's
    maxrss of a forked child would include this process's, which held the 12-megapixel photo)."""
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "denoiser", *arguments], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0.0
        while child.poll() is None:
            try:
                peak = max(peak, memory_mb(child.pid, "VmHWM"))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass  # exiting between the poll and the read
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            raise DenoiserError(f"`denoise` failed: {errors.read().strip()[-300:]}")
    return {"seconds": round(seconds, 1), "peak_mb": round(peak, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_benchmark", type=Path)
    parser.add_argument("--photo", help="a benchmark photo's name (default: the first)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        source = benchmark_photo(args.corpus_benchmark, args.photo)
        with tempfile.TemporaryDirectory() as folder:
            photo = Path(folder) / "camera-12mp.png"
            camera_photo(source, photo)
            runs = {}
            for scenario in SCENARIOS:
                runs[scenario] = timed_command(["denoise", str(photo), "-o", str(Path(folder) / f"{scenario}.png"),
                                                "--scenario", scenario])
                print(f"{scenario}: {runs[scenario]['seconds']} s, peak {runs[scenario]['peak_mb']} MB", flush=True)
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    record = {"photo": source.stem, "size": [WIDTH, HEIGHT], "camera": CAMERA.name, "runs": runs,
              "ratio": round(runs["color-camera"]["seconds"] / runs["color-gaussian"]["seconds"], 3),
              "machine": machine(), "load_average": os.getloadavg()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "camera-speed.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [f"A {WIDTH}x{HEIGHT} photo ({record['photo']} through {CAMERA.name}, saved as PNG) through "
             f"`python -m denoiser denoise`, start-up included; {record['machine'].get('cpu', '')}.", "",
             "| scenario | seconds | peak memory (MB) |", "|---|---:|---:|"]
    lines += [f"| {name} | {run['seconds']:.1f} | {run['peak_mb']:.0f} |" for name, run in runs.items()]
    lines += ["", f"Camera model's time / color Gaussian model's: {record['ratio']:.2f}.", ""]
    (args.out / "camera-speed.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
