"""Blind denoising on held-out photos with synthetic noise (the clean image only scores).

Rows: the bundled gray model given the true sigma, given the estimated sigma, and after
`--adapt` (self-supervised adaptation, default settings) on a 256x256 crop; BM3D with the true
sigma for reference; and the estimator's error. Writes docs/benchmarks/blind.json and prints a table.
Usage: python benchmarks/blind.py [--sigmas 10,25,50] [--adapt-sigma 25]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.baselines import run_baseline  # noqa: E402
from denoiser.evaluation.comparison import image_rng, machine, model_record  # noqa: E402
from denoiser.evaluation.metrics import psnr  # noqa: E402
from denoiser.inference.adaptation import AdaptConfig, adapt_to_photo  # noqa: E402
from denoiser.inference.tiled import denoise  # noqa: E402
from denoiser.models.bundled import load_pretrained, pretrained_path  # noqa: E402
from denoiser.noise import GaussianNoise  # noqa: E402
from denoiser.noise.level import estimate_sigma  # noqa: E402
from denoiser.samples import BENCHMARK_PHOTOS, sample_photo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sigmas", default="10,25,50")
    parser.add_argument("--adapt-sigma", type=float, default=25.0)
    args = parser.parse_args()
    model = load_pretrained("gray-gaussian").model
    rows = []
    for sigma in [float(s) for s in args.sigmas.split(",")]:
        for name in BENCHMARK_PHOTOS:
            clean = sample_photo(name, 1)
            noisy = GaussianNoise(sigma ** 2).apply(clean, image_rng(0, name))
            estimated = estimate_sigma(noisy)
            rows.append({"image": name, "sigma": sigma, "estimated_sigma": round(estimated, 2),
                         "true_sigma_psnr": psnr(clean, denoise(model, noisy, sigma)),
                         "blind_psnr": psnr(clean, denoise(model, noisy, estimated))})
    adapted = []
    for name in BENCHMARK_PHOTOS:
        clean = np.ascontiguousarray(sample_photo(name, 1)[:256, :256])
        sigma = args.adapt_sigma
        noisy = GaussianNoise(sigma ** 2).apply(clean, image_rng(0, name))
        estimated = estimate_sigma(noisy)
        result = adapt_to_photo(load_pretrained("gray-gaussian").model, noisy, estimated, AdaptConfig())
        bm3d, _ = run_baseline("bm3d", noisy, sigma)
        adapted.append({"image": name, "sigma": sigma, "bundled_blind_psnr": psnr(clean, denoise(model, noisy, estimated)),
                        "adapted_psnr": psnr(clean, result.denoised), "kept": result.kept,
                        "adapt_seconds": round(result.seconds, 1), "bm3d_true_sigma_psnr": psnr(clean, bm3d)})
    print("| sigma | estimate error (mean, max) | LSTM, true sigma | LSTM, estimated sigma | difference |")
    print("|---:|---:|---:|---:|---:|")
    for sigma in sorted({r["sigma"] for r in rows}):
        group = [r for r in rows if r["sigma"] == sigma]
        errors = [abs(r["estimated_sigma"] / sigma - 1) for r in group]
        true, blind = statistics.mean(r["true_sigma_psnr"] for r in group), statistics.mean(r["blind_psnr"] for r in group)
        print(f"| {sigma:g} | {100 * statistics.mean(errors):.1f}%, {100 * max(errors):.1f}% | {true:.2f} | {blind:.2f} | {blind - true:+.2f} |")
    mean = lambda key: statistics.mean(r[key] for r in adapted)  # noqa: E731
    print(f"\nadapt (256x256 crops, sigma {args.adapt_sigma:g}): bundled blind {mean('bundled_blind_psnr'):.2f}, "
          f"adapted {mean('adapted_psnr'):.2f}, BM3D true sigma {mean('bm3d_true_sigma_psnr'):.2f}, "
          f"median seconds {statistics.median(r['adapt_seconds'] for r in adapted):.1f}, "
          f"kept {sum(r['kept'] for r in adapted)}/{len(adapted)}")
    out = ROOT / "docs" / "benchmarks" / "blind.json"
    record = {"blind": rows, "adapt": adapted, "model": model_record(pretrained_path("gray-gaussian")), "machine": machine()}
    out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
