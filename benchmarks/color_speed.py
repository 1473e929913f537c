"""A 12-megapixel color photo with Gaussian noise through the command line, against CBM3D from a crop.

    python benchmarks/color_speed.py CORPUS_BENCHMARK_DIR [--photo NAME] [--model NAME=PATH ...] [--crop 1024]

Makes a 4000x3000 color photo the way a user would have one (the first benchmark photo, or
`--photo`, resized to 12 megapixels, Gaussian noise of sigma 15, 8 bits, saved as PNG) and times
`python -m denoiser denoise --scenario color-gaussian --sigma 15` on it with the bundled weights and
with each `--model`: wall seconds from the command's start to its exit, start-up and writing
included, and its peak memory (`camera_speed.timed_command`). CBM3D at 12 megapixels would take
many minutes, so it runs in a fresh Python (`bm3d.bm3d_rgb`, the true sigma; not charged for torch)
on a centre crop of CROP x 3/4 CROP pixels in the same run, and its seconds are scaled by the
pixel count. Writes docs/benchmarks/color-speed.json and .md with each model's time over CBM3D's
scaled time and its peak.
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

from camera_speed import benchmark_photo, timed_command  # noqa: E402

from denoiser.errors import DenoiserError  # noqa: E402
from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.images import load_image, save_image  # noqa: E402
from denoiser.noise import GaussianNoise  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
WIDTH, HEIGHT, SIGMA = 4000, 3000, 15
CBM3D_PROCESS = """
import sys
import bm3d
import numpy as np
from PIL import Image
noisy = np.asarray(Image.open(sys.argv[1]), dtype=np.float32) / 255
clean = bm3d.bm3d_rgb(noisy, sigma_psd=float(sys.argv[3]) / 255)
Image.fromarray(np.uint8(np.clip(np.round(clean * 255), 0, 255))).save(sys.argv[2])
"""
"""CBM3D as its own user runs it: read the PNG, denoise at the true sigma, write the PNG."""


def noisy_photo(source: Path, target: Path, crop_target: Path, crop: int) -> tuple[int, int]:
    """`source` resized to WIDTH x HEIGHT with seeded noise of SIGMA, saved at `target`, and its centre
    crop of `crop` x 3/4 `crop` at `crop_target`; returns the crop's (width, height)."""
    from PIL import Image

    clean = load_image(source, 3)
    resized = Image.fromarray(np.round(clean * 255).astype(np.uint8)).resize((WIDTH, HEIGHT), Image.LANCZOS)
    rgb = np.asarray(resized, np.float32) / 255
    noisy = GaussianNoise(SIGMA ** 2, quantize=True).apply(rgb, np.random.default_rng(0))
    save_image(noisy, target)
    width, height = min(crop, WIDTH), min(crop * 3 // 4, HEIGHT)
    top, left = (HEIGHT - height) // 2, (WIDTH - width) // 2
    save_image(noisy[top:top + height, left:left + width], crop_target)
    return width, height


def cbm3d_seconds(crop: Path, folder: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", CBM3D_PROCESS, str(crop), str(folder / "cbm3d.png"), str(SIGMA)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise DenoiserError(f"CBM3D failed: {result.stderr.strip()[-300:]}")
    return time.perf_counter() - started


def render(record: dict) -> str:
    cbm3d = record["cbm3d"]
    lines = [f"A {WIDTH}x{HEIGHT} color photo ({record['photo']}, Gaussian sigma {SIGMA}, 8 bits, PNG) through "
             f"`python -m denoiser denoise`, start-up included; CBM3D on a {cbm3d['crop'][0]}x{cbm3d['crop'][1]} "
             f"crop in {cbm3d['crop_seconds']:.1f} s, scaled by {cbm3d['scale']:.2f} to {cbm3d['seconds']:.0f} s; "
             f"{record['machine'].get('cpu', '')}.", "",
             "| model | seconds | peak memory (MB) | time / CBM3D's |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {run['seconds']:.1f} | {run['peak_mb']:.0f} | {run['over_cbm3d']:.3f} |"
              for name, run in record["runs"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_benchmark", type=Path)
    parser.add_argument("--photo", help="a benchmark photo's name (default: the first)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                        help="a color checkpoint to time beside the bundled weights (repeatable)")
    parser.add_argument("--crop", type=int, default=1024, help="the CBM3D crop's width (its height is 3/4 of it)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    models: dict[str, list[str]] = {"bundled color model": []}
    for item in args.model:
        name, _, path = item.partition("=")
        if not (name and Path(path).is_file()):
            print(f"error: --model wants NAME=PATH of a checkpoint, not {item!r}.", file=sys.stderr)
            return 2
        models[name] = ["--model", path]
    try:
        source = benchmark_photo(args.corpus_benchmark, args.photo)
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(temporary)
            width, height = noisy_photo(source, folder / "noisy.png", folder / "crop.png", args.crop)
            crop_seconds = cbm3d_seconds(folder / "crop.png", folder)
            scale = WIDTH * HEIGHT / (width * height)
            runs = {}
            for name, extra in models.items():
                runs[name] = timed_command(["denoise", str(folder / "noisy.png"), "-o", str(folder / "out.png"),
                                            "--scenario", "color-gaussian", "--sigma", str(SIGMA), *extra])
                runs[name]["over_cbm3d"] = round(runs[name]["seconds"] / (crop_seconds * scale), 3)
                print(f"{name}: {runs[name]['seconds']} s, peak {runs[name]['peak_mb']} MB", flush=True)
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    record = {"photo": source.stem, "size": [WIDTH, HEIGHT], "sigma": SIGMA,
              "models": {name: extra[1:] for name, extra in models.items()},
              "cbm3d": {"crop": [width, height], "crop_seconds": round(crop_seconds, 2), "scale": round(scale, 3),
                        "seconds": round(crop_seconds * scale, 1)},
              "runs": runs, "machine": machine(), "load_average": os.getloadavg()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "color-speed.json").write_text(json.dumps(record, indent=2) + "\n")
    (args.out / "color-speed.md").write_text(render(record))
    print(render(record), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
