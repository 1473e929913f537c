"""Training-step time in float32 and in bfloat16 autocast, in one process on this machine.

    python benchmarks/precision.py [--rounds 7] [--threads 2]

For the one-block network (the salt-and-pepper model) and the two-block one (the gray model; the
color model runs it on three planes), at the corpus-training shape (16 patches of 64x64) and the
per-image Quick shape (8 patches of 48x48): one Adam step on random patches, as the training
loops take it. The two precisions alternate within each round, so
a background load hits them alike; medians are reported, with the float32/bfloat16 ratio.
Writes docs/benchmarks/precision.json (or --out).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.models.networks import ModelConfig, build_model  # noqa: E402
from denoiser.inference.precision import cpu_bfloat16  # noqa: E402

NETWORKS = {"one block (impulses)": ModelConfig(), "two blocks (gray, color)": ModelConfig(depth=2)}
SHAPES = {"corpus: 16 x 64x64": (16, 64), "per-image Quick: 8 x 48x48": (8, 48)}


def step_seconds(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: int, size: int,
                 bfloat16: bool) -> float:
    """One training step (forward, MSE, backward, Adam) on random patches."""
    noisy, clean = torch.rand(batch, 1, size, size), torch.rand(batch, 1, size, size)
    sigma = torch.full((batch,), 0.1)
    started = time.perf_counter()
    precision = torch.autocast("cpu", dtype=torch.bfloat16) if bfloat16 else contextlib.nullcontext()
    with precision:
        output = model(noisy, sigma)
    loss = torch.nn.functional.mse_loss(output.float(), clean)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "precision.json")
    args = parser.parse_args()
    if args.rounds < 1 or args.threads < 1:
        parser.error("--rounds and --threads must be at least 1")
    if not cpu_bfloat16():
        sys.exit("precision.py: this CPU has no native bfloat16, so training stays float32 here.")
    torch.set_num_threads(args.threads)
    rows = []
    for network, config in NETWORKS.items():
        for shape, (batch, size) in SHAPES.items():
            torch.manual_seed(0)
            model = build_model(config)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
            for bfloat16 in (False, True):  # warm-up: oneDNN builds its kernels on first use
                step_seconds(model, optimizer, batch, size, bfloat16)
            times = {"float32": [], "bfloat16": []}
            for _ in range(args.rounds):
                for name in times:
                    times[name].append(step_seconds(model, optimizer, batch, size, name == "bfloat16"))
            medians = {name: statistics.median(values) for name, values in times.items()}
            rows.append({"network": network, "shape": shape,
                         **{f"{name}_seconds": round(median, 4) for name, median in medians.items()},
                         "ratio": round(medians["float32"] / medians["bfloat16"], 2), "runs": times})
            print(f"{network:24s} {shape:28s} float32 {medians['float32']:.3f} s  bfloat16 {medians['bfloat16']:.3f} s"
                  f"  x{rows[-1]['ratio']:.2f}", flush=True)
    record = {"threads": args.threads, "rounds": args.rounds, "machine": machine(), "results": rows}
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
