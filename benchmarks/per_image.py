"""Per-image training as in the original notebook (issue 5, target 4), on held-out photos.

For each photo (a 256x256 crop, Gaussian noise seeded as in the benchmark): the 80/10/10 pixel
split, then the bundled gray model fine-tuned on the training pixels for at most `--budget`
seconds (the dashboard's Quick settings, with more epochs when asked), and test-pixel PSNR for
the bundled model, the fine-tuned one, the fine-tuned one with a self-ensemble of 8, and BM3D
given the true sigma. Writes docs/benchmarks/per-image.json and prints a table.
Usage: python benchmarks/per_image.py [--sigma 25] [--epochs 6] [--lr 0.0003] [--batch-size 8] [--patch-size 48]
       [--validate-every 1] [--float32] [--budget 60] [--threads 2] [--size 256] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.baselines import run_baseline  # noqa: E402
from denoiser.evaluation.comparison import image_rng, machine  # noqa: E402
from denoiser.evaluation.metrics import psnr  # noqa: E402
from denoiser.inference.tiled import denoise, denoise_ensemble  # noqa: E402
from denoiser.models.bundled import load_pretrained  # noqa: E402
from denoiser.noise import GaussianNoise  # noqa: E402
from denoiser.samples import BENCHMARK_PHOTOS, sample_photo  # noqa: E402
from denoiser.training.loops import QUICK, precision_name, train_on_image  # noqa: E402
from denoiser.training.splits import make_masks  # noqa: E402

METHODS = ("bundled", "fine-tuned", "fine-tuned-x8", "bm3d")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("--epochs", type=int, default=QUICK.epochs)
    parser.add_argument("--lr", type=float, default=QUICK.learning_rate)
    parser.add_argument("--batch-size", type=int, default=QUICK.batch_size)
    parser.add_argument("--patch-size", type=int, default=QUICK.patch_size)
    parser.add_argument("--validate-every", type=int, default=QUICK.validate_every,
                        help="score the validation pixels every this many epochs")
    parser.add_argument("--float32", action="store_true", help="train in float32 even where the CPU has bfloat16")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of training at most")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "per-image.json")
    args = parser.parse_args()
    if min(args.epochs, args.batch_size, args.validate_every) < 1 or args.budget <= 0 or args.lr <= 0 \
            or args.size < 16 or args.patch_size < 8:
        parser.error("--epochs, --batch-size and --validate-every must be at least 1, --budget and --lr above 0, "
                     "--size at least 16, --patch-size at least 8")
    config = replace(QUICK, epochs=args.epochs, learning_rate=args.lr, threads=args.threads,
                     validate_every=args.validate_every, batch_size=args.batch_size,
                     patch_size=args.patch_size, bfloat16=not args.float32, time_budget=args.budget)
    noise = GaussianNoise(args.sigma ** 2)
    rows = []
    for name in BENCHMARK_PHOTOS:
        clean = np.ascontiguousarray(sample_photo(name, 1)[:args.size, :args.size])
        noisy = noise.apply(clean, image_rng(0, name))
        masks = make_masks(clean.shape[:2], config.split, np.random.default_rng(0))
        test = masks.test
        model = load_pretrained("gray-gaussian").model
        scores = {"bundled": psnr(clean, denoise(model, noisy, args.sigma), test)}
        result = train_on_image(model, clean, noisy, noise, masks, config)
        scores["fine-tuned"] = psnr(clean, result.denoised, test)
        scores["fine-tuned-x8"] = psnr(clean, denoise_ensemble(model, noisy, args.sigma, size=8), test)
        scores["bm3d"] = psnr(clean, run_baseline("bm3d", noisy, args.sigma)[0], test)
        rows.append({"image": name, "train_seconds": result.seconds, "epochs": result.history[-1].epoch,
                     "stopped_by_budget": result.out_of_time, **scores})
        print(f"{name:8s} " + " ".join(f"{m} {scores[m]:.2f}" for m in METHODS)
              + f" ({result.seconds:.0f} s, {result.history[-1].epoch} epochs)", flush=True)
    means = {m: statistics.mean(r[m] for r in rows) for m in METHODS}
    summary = {**means, "train_seconds_median": statistics.median(r["train_seconds"] for r in rows),
               "fine-tuned-x8_minus_bm3d": means["fine-tuned-x8"] - means["bm3d"]}
    print("mean     " + " ".join(f"{m} {means[m]:.2f}" for m in METHODS)
          + f"; median training {summary['train_seconds_median']:.0f} s")
    record = {"sigma": args.sigma, "size": args.size, "config": {"epochs": config.epochs, "batch_size": config.batch_size,
              "patch_size": config.patch_size, "learning_rate": config.learning_rate, "threads": config.threads,
              "validate_every": config.validate_every,
              "precision": precision_name(torch.device("cpu"), config.bfloat16)},
              "budget_seconds": args.budget, "machine": machine(), "results": rows, "summary": summary}
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
