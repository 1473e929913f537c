"""Training speed with 1 and 2 processes on this machine, through the command line.

    python benchmarks/train_speedup.py                 # 3 rounds of every setting
    python benchmarks/train_speedup.py --only 1 2 3    # leave out setting 0 (very slow when the CPU is shared)

Each run trains the gray-gaussian model (default size, batch 8, patch 48) on the built-in training
photos; its speed is taken between the log's step-50 record and the last one, so start-up and
the first batches do not count. Every run is float32 (`--float32`), as when these tables were
first measured; `benchmarks/precision.py` measures bfloat16 against it. Settings alternate within
a round, so a background load that comes and goes hits them alike; medians are reported,
speed-ups against the first setting run.
Writes docs/training_speedup.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "training_speedup.json"

# (name, launcher arguments before `-m denoiser train`, extra train arguments)
SETTINGS = [
    ("1 process, 2 threads (the default on 2 cores), images in memory", [], ["--threads", "2"]),
    ("1 process, 1 thread, images in memory", [], ["--threads", "1"]),
    ("torchrun 2 processes, 1 thread each, decoding in the main process", ["--nproc_per_node", "2"],
     ["--workers", "0"]),
    ("torchrun 2 processes, 1 thread each, 2 decoding workers each", ["--nproc_per_node", "2"], ["--workers", "2"]),
]


def run(launcher: list[str], extra: list[str], data: Path, out: Path, steps: int) -> dict:
    if launcher:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        prefix = [sys.executable, "-m", "torch.distributed.run", *launcher, "--master_port", str(port)]
    else:
        prefix = [sys.executable]
    command = [*prefix, "-m", "denoiser", "train", "--data", str(data), "--scenario", "gray-gaussian",
               "--steps", str(steps), "--out", str(out), "--checkpoint-every", str(steps), "--float32", *extra]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - started
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    timed = {r["step"]: r["seconds"] for r in records if "loss_255" in r}
    rate = (steps - 50) / (timed[steps] - timed[50])
    return {"steps_per_second": rate, "patches_per_second": 8 * rate, "wall_seconds": wall,
            "load_average": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100, help="per run; the speed is measured after step 50")
    parser.add_argument("--only", type=int, nargs="+", help="indices of the settings to run (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"the JSON to write (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args()
    settings = [SETTINGS[i] for i in args.only] if args.only else SETTINGS
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "photos"
        subprocess.run([sys.executable, "-m", "denoiser", "samples", "--set", "training", "-o", str(data)],
                       cwd=ROOT, check=True, capture_output=True)
        runs: dict[str, list[dict]] = {name: [] for name, _, _ in settings}
        for round_ in range(args.rounds):
            for name, launcher, extra in settings:
                result = run(launcher, extra, data, Path(scratch) / "out", args.steps)
                runs[name].append(result)
                print(f"round {round_ + 1}: {name}: {result['steps_per_second']:.2f} steps/s "
                      f"(load {result['load_average']:.1f})", flush=True)
    baseline = statistics.median(r["steps_per_second"] for r in runs[settings[0][0]])
    medians = {name: statistics.median(r["steps_per_second"] for r in rs) for name, rs in runs.items()}
    summary = [{"setting": name, "median_steps_per_second": round(medians[name], 3),
                "speedup": round(medians[name] / baseline, 2), "runs": rs} for name, rs in runs.items()]
    report = {"machine": {"cores": os.cpu_count(), "host": socket.gethostname()},
              "model": "gray-gaussian default, batch 8, patch 48", "steps": args.steps, "rounds": args.rounds,
              "baseline": settings[0][0], "settings": summary}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for row in summary:
        print(f"{row['setting']}: {row['median_steps_per_second']} steps/s, x{row['speedup']}")


if __name__ == "__main__":
    main()
