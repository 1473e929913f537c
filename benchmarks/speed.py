"""Speed of the bundled gray model against BM3D on a 512x512 photo, measured in one process.

Prints medians over repeated runs (BM3D and the self-ensemble of 8 half as many), megapixels per second, where the LSTM's time goes (torch
profiler, by operator) and how close its arithmetic gets to this machine's matrix-multiply
throughput. Writes docs/speed.json. Usage: python benchmarks/speed.py [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.baselines import run_baseline  # noqa: E402
from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.inference.tiled import denoise, denoise_ensemble  # noqa: E402
from denoiser.models.bundled import load_pretrained  # noqa: E402
from denoiser.noise import GaussianNoise  # noqa: E402
from denoiser.samples import sample_photo  # noqa: E402


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def model_flops_per_pixel(config) -> float:
    """Multiply-adds x 2 of one forward pass, per pixel, for the ReNet denoiser."""
    f, h, c = config.features, config.hidden, config.channels
    c_in = c + int(config.noise_map) + int(config.impulse_mask)
    conv = 9 * (c_in * f + f * f) + config.depth * 9 * f * f + 9 * (f * f + f * c)
    sweep = 2 * 4 * h * (f + h) + 2 * h * f  # two directions of an LSTM, then the projection
    return 2.0 * (conv + config.depth * 2 * sweep)


def matmul_gflops(repeats: int) -> float:
    """This machine's float32 GEMM throughput at the LSTM's shapes' scale (1024 x 256 x 256)."""
    a, b = torch.randn(4096, 256), torch.randn(256, 256)
    seconds = median_seconds(lambda: [a @ b for _ in range(20)], repeats)
    return 20 * 2 * 4096 * 256 * 256 / seconds / 1e9


def profile_ops(model, noisy, sigma) -> list[dict]:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        denoise(model, noisy, sigma)
    table = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in table)
    return [{"op": e.key, "share": round(e.self_cpu_time_total / total, 3)} for e in table[:6]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clean = sample_photo("camera", 1)
    noisy = GaussianNoise(625.0).apply(clean, np.random.default_rng(0))
    checkpoint = load_pretrained("gray-gaussian")
    model = checkpoint.model
    denoise(model, noisy, 25.0)  # warm-up
    lstm = median_seconds(lambda: denoise(model, noisy, 25.0), args.repeats)
    bm3d = median_seconds(lambda: run_baseline("bm3d", noisy, 25.0), max(1, args.repeats // 2))
    ensemble = median_seconds(lambda: denoise_ensemble(model, noisy, 25.0, size=8), max(1, args.repeats // 2))
    megapixels = clean.shape[0] * clean.shape[1] / 1e6
    achieved = model_flops_per_pixel(checkpoint.config) * clean.shape[0] * clean.shape[1] / lstm / 1e9
    peak = matmul_gflops(args.repeats)
    report = {
        "image": "camera 512x512, sigma 25", "threads": args.threads, "repeats": args.repeats,
        "lstm_seconds": round(lstm, 3), "bm3d_seconds": round(bm3d, 3), "lstm_over_bm3d": round(lstm / bm3d, 3),
        "lstm_x8_seconds": round(ensemble, 3), "lstm_x8_over_bm3d": round(ensemble / bm3d, 3),
        "lstm_megapixels_per_second": round(megapixels / lstm, 3),
        "bm3d_megapixels_per_second": round(megapixels / bm3d, 3),
        "lstm_gflops": round(achieved, 1), "matmul_gflops": round(peak, 1),
        "share_of_matmul_peak": round(achieved / peak, 3),
        "profile": profile_ops(model, noisy, 25.0),
        "machine": machine(),
    }
    print(json.dumps(report, indent=2))
    (ROOT / "docs" / "speed.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
