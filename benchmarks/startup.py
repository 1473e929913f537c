"""Start-up time of the command line: `--help` and `noise` answer before torch, scikit-image or bm3d load.

Runs each command `--repeats` times, round robin so that all share the machine's load, and reports
the median, the fastest and the median's ratio to `python -c pass` measured in the same run. The
installed `denoiser` command comes from a temporary venv (`--system-site-packages`) that this
checkout is installed into; `--before REV` adds `python -m denoiser --help` at a git revision.
Writes docs/benchmarks/startup.json.

    python benchmarks/startup.py [--repeats 9] [--before REV]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.comparison import machine  # noqa: E402

HEAVY = ("torch", "skimage", "bm3d")
OUTPUT = ROOT / "docs" / "benchmarks" / "startup.json"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--before", metavar="REV", help="also time `python -m denoiser --help` at this git revision")
    parser.add_argument("--json", type=Path, default=OUTPUT)
    return parser.parse_args(argv)


def install_checkout(work: Path) -> Path:
    """This checkout installed (no dependencies, no downloads) into a venv that sees this Python's packages."""
    source = work / "source"
    shutil.copytree(ROOT / "denoiser", source / "denoiser", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-build-isolation", str(source)], check=True)
    return venv / "bin" / "denoiser"


def checkout_at(revision: str, work: Path) -> Path:
    """The `denoiser` package as it was at `revision` (read with git archive; the work tree is untouched)."""
    folder = work / f"at-{revision}"
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "denoiser"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def heavy_modules_loaded(command: list[str], cwd: Path) -> list[str]:
    """The heavy packages a command imports, read from `python -X importtime`."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in result.stderr.splitlines()
             if line.startswith("import time:")}
    return sorted(names & set(HEAVY))


def main(argv=None) -> None:
    args = parse_args(argv)
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        photo = work / "camera.png"
        subprocess.run([python, "-m", "denoiser", "samples", "--set", "benchmark", "-o", str(work)], cwd=ROOT,
                       check=True, capture_output=True)
        commands = {
            "python -c pass": ([python, "-c", "pass"], ROOT),
            "python -m denoiser --help": ([python, "-m", "denoiser", "--help"], ROOT),
            "denoiser --help (installed)": ([str(install_checkout(work)), "--help"], work),
            "python -m denoiser noise (512x512 photo)": (
                [python, "-m", "denoiser", "noise", str(photo), "-o", str(work / "noisy.png")], ROOT),
            "python -c 'import torch, skimage.restoration, bm3d'": (
                [python, "-c", "import torch, skimage.restoration, bm3d"], ROOT),
        }
        if args.before:
            commands[f"python -m denoiser --help at {args.before}"] = (
                [python, "-m", "denoiser", "--help"], checkout_at(args.before, work))
        load_before = os.getloadavg()
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, (command, cwd) in commands.items():
                start = time.perf_counter()
                subprocess.run(command, cwd=cwd, check=True, capture_output=True)
                seconds[name].append(time.perf_counter() - start)
        load_after = os.getloadavg()
        heavy = {name: heavy_modules_loaded(command, cwd) for name, (command, cwd) in commands.items()
                 if "denoiser" in name}

    baseline = statistics.median(seconds["python -c pass"])
    results = {name: {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
                      "max_s": round(max(times), 3),
                      "median_over_python_c_pass": round(statistics.median(times) / baseline, 2),
                      **({"heavy_modules_loaded": heavy[name]} if name in heavy else {})}
               for name, times in seconds.items()}
    record = {"command": "python benchmarks/startup.py" + (f" --before {args.before}" if args.before else ""),
              "repeats": args.repeats, "machine": machine(),
              "load_average_1min": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
              "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    for name, result in results.items():
        print(f"{name}: median {result['median_s']:.3f} s ({result['median_over_python_c_pass']:.2f} x python -c pass)")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
