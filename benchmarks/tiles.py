"""Tile size against speed and quality for the bundled gray model, measured in one process.

For each largest tile side: the tile layout of a 512x512 photo (`inference._layout`), the median
seconds to denoise camera at sigma 25, and the mean PSNR over the held-out photos at sigma 25.
Writes docs/benchmarks/tiles.json. Usage: python benchmarks/tiles.py [--tiles 512,384,256,160]
[--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.comparison import image_rng, machine  # noqa: E402
from denoiser.evaluation.metrics import psnr  # noqa: E402
from denoiser.inference.tiled import OVERLAP, _layout, denoise  # noqa: E402
from denoiser.models.bundled import load_pretrained  # noqa: E402
from denoiser.noise import GaussianNoise  # noqa: E402
from denoiser.samples import BENCHMARK_PHOTOS, sample_photo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", default="512,384,256,160")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    try:
        tiles = [int(t) for t in args.tiles.split(",")]
    except ValueError:
        parser.error(f"--tiles takes whole numbers separated by commas, not {args.tiles!r}")
    if min(tiles) <= OVERLAP or args.repeats < 1 or args.threads < 1:
        parser.error(f"every --tiles size must exceed the {OVERLAP}-pixel overlap; --repeats and --threads at least 1")
    torch.set_num_threads(args.threads)
    model = load_pretrained("gray-gaussian").model
    noise = GaussianNoise(625.0)
    photos = {name: sample_photo(name, 1) for name in BENCHMARK_PHOTOS}
    noisy = {name: noise.apply(clean, image_rng(0, name)) for name, clean in photos.items()}
    camera = noisy["camera"]
    denoise(model, camera[:128, :128], 25.0)  # warm-up
    rows = []
    for tile in tiles:
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            denoise(model, camera, 25.0, tile=tile)
            times.append(time.perf_counter() - start)
        starts, length = _layout(camera.shape[0], tile, OVERLAP)
        quality = statistics.mean(psnr(photos[n], denoise(model, noisy[n], 25.0, tile=tile)) for n in photos)
        rows.append({"tile": tile, "tiles_of_512": len(starts) ** 2, "tile_side": length,
                     "pixels_computed": round(len(starts) ** 2 * length ** 2 / camera[..., 0].size, 3),
                     "seconds": round(statistics.median(times), 3), "mean_psnr": round(quality, 4)})
        print(" ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
    out = ROOT / "docs" / "benchmarks" / "tiles.json"
    out.write_text(json.dumps({"image": "camera 512x512, sigma 25", "threads": args.threads, "repeats": args.repeats,
                               "machine": machine(), "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
