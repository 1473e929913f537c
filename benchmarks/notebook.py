"""The original notebook's three experiments, reproduced with `python -m denoiser fit` (issue 22).

For each scenario, held-out photo (as `python -m denoiser samples --set benchmark` writes them) and
preset, runs the `fit` command in this process (seed 0, downscaled to 256 pixels as the pages do)
and scores the classical reference on the same noisy image's test pixels: BM3D given the true
sigma for Gaussian noise, the adaptive median for impulses. Writes docs/benchmarks/notebook.json
and docs/benchmarks/notebook.md (a table per scenario, the median over the photos last).
With --diagnose, the gray Gaussian notebook run is repeated with a batch of 32 patches instead of
32 rows (the earlier reading of the notebook's batch), which shows why that preset learned nothing.
Usage: python benchmarks/notebook.py [--scenarios gray-gaussian,...] [--presets notebook,scratch,quick]
       [--photos camera,...] [--threads 2] [--diagnose] [--out docs/benchmarks/notebook.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.baselines import run_baseline  # noqa: E402
from denoiser.benchmark import machine  # noqa: E402
from denoiser.cli import main as denoiser_cli  # noqa: E402
from denoiser.experiment import MAX_SIDE, noisy_input, split_pixels  # noqa: E402
from denoiser.images import downscale, save_image  # noqa: E402
from denoiser.metrics import psnr, mse_255  # noqa: E402
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS, sample_photo  # noqa: E402
from denoiser.scenarios import SCENARIOS  # noqa: E402
from denoiser.splits import PixelSplit  # noqa: E402

PRESETS = ("notebook", "scratch", "quick")
REFERENCE = {"gaussian": ("bm3d", "BM3D (true sigma)"), "salt-pepper": ("adaptive-median", "adaptive median")}
PHOTOS = {"gray-gaussian": BENCHMARK_PHOTOS, "gray-salt-pepper": BENCHMARK_PHOTOS,
          "color-gaussian": COLOR_BENCHMARK_PHOTOS}


def fit(photo: Path, scenario: str, preset: str, threads: int, workdir: Path) -> dict:
    """The `fit` command's JSON record for one run."""
    record = workdir / f"{scenario}-{photo.stem}-{preset}.json"
    status = denoiser_cli(["fit", str(photo), "--scenario", scenario, "--preset", preset, "--threads", str(threads),
                           "--json", str(record)])
    if status != 0:
        raise SystemExit(f"fit failed for {photo.name} ({scenario}, {preset})")
    return json.loads(record.read_text())


def reference(photo: Path, scenario_key: str) -> dict:
    """The classical reference on the noisy image `fit` made (same noise, same split, seed 0)."""
    scenario = SCENARIOS[scenario_key]
    clean = downscale(sample_photo(photo.stem, scenario.channels), MAX_SIDE)
    noisy = noisy_input(clean, scenario.noise, 0)
    test = split_pixels(clean.shape, PixelSplit(), 0).test
    method, _ = REFERENCE[scenario.noise_kind]
    denoised, seconds = run_baseline(method, noisy, scenario.noise.sigma)
    return {"method": method, "test_psnr": psnr(clean, denoised, test), "test_mse": mse_255(clean, denoised, test),
            "seconds": seconds}


def patch_batches(photo: Path, scenario_key: str, threads: int) -> dict:
    """Why the notebook's preset used to learn nothing: the same run with a batch of 32 *patches* of
    32x32 (the page's earlier reading), so an epoch of the training pixels is two steps, not 52."""
    from dataclasses import replace

    from denoiser.experiment import make_experiment, run_experiment

    scenario = SCENARIOS[scenario_key]
    clean = downscale(sample_photo(photo.stem, scenario.channels), MAX_SIDE)
    experiment = make_experiment(scenario, scenario.noise, "notebook", None, threads=threads)
    experiment = replace(experiment, training=replace(experiment.training, sample="patch"))
    started = time.perf_counter()
    result = run_experiment(experiment, clean)
    test = result.scores["test"]
    return {"test_psnr": test.denoised_psnr, "gain": test.gain, "steps": result.steps, "epochs": result.epochs,
            "seconds": round(time.perf_counter() - started, 1)}


def table(scenario: str, rows: list[dict], presets: list[str]) -> str:
    """Markdown: one row per photo, test-pixel PSNR of the noisy input, each preset and the reference."""
    name = REFERENCE[SCENARIOS[scenario].noise_kind][1]
    head = ["photo", "noisy", *[f"{p} (gain, s)" for p in presets], name]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows + [median_row(rows, presets)]:
        cells = [row["photo"], f"{row['noisy']:.2f}"]
        for p in presets:
            run = row["runs"][p]
            cells.append(f"{run['test_psnr']:.2f} ({run['gain']:+.2f}, {run['seconds']:.0f})")
        cells.append(f"{row['reference']['test_psnr']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def median_row(rows: list[dict], presets: list[str]) -> dict:
    def med(values):
        return statistics.median(values)
    return {"photo": "**median**", "noisy": med(r["noisy"] for r in rows),
            "runs": {p: {k: med(r["runs"][p][k] for r in rows) for k in ("test_psnr", "gain", "seconds")}
                     for p in presets},
            "reference": {"test_psnr": med(r["reference"]["test_psnr"] for r in rows)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(PHOTOS))
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--photos", help="comma-separated (default: the scenario's held-out photos)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "notebook.json")
    parser.add_argument("--diagnose", action="store_true",
                        help="also run the notebook preset with batches of 32 patches (the earlier reading)")
    args = parser.parse_args()
    presets = args.presets.split(",")
    results, markdown = {}, []
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        for scenario in args.scenarios.split(","):
            names = args.photos.split(",") if args.photos else PHOTOS[scenario]
            rows = []
            for name in names:
                photo = workdir / f"{name}.png"  # what `python -m denoiser samples --set benchmark` writes
                save_image(sample_photo(name), photo)
                runs = {}
                for preset in presets:
                    started = time.perf_counter()
                    record = fit(photo, scenario, preset, args.threads, workdir)
                    test = record["splits"]["test"]
                    runs[preset] = {"test_psnr": test["denoised_psnr"], "test_mse": test["denoised_mse"],
                                    "gain": test["denoised_psnr"] - test["noisy_psnr"], "seconds": record["seconds"],
                                    "training_seconds": record["training_seconds"], "epochs": record["epochs"],
                                    "steps": record["steps"], "stopped_by_time_limit": record["stopped_by_time_limit"],
                                    "wall_seconds": round(time.perf_counter() - started, 1),
                                    "command": f"python -m denoiser fit {name}.png --scenario {scenario} "
                                               f"--preset {preset} --threads {args.threads}"}
                    noisy = (test["noisy_psnr"], test["noisy_mse"])
                    print(f"{scenario} {name} {preset}: {test['noisy_psnr']:.2f} -> {test['denoised_psnr']:.2f} "
                          f"({runs[preset]['gain']:+.2f}) in {record['seconds']:.0f} s", flush=True)
                rows.append({"photo": name, "noisy": noisy[0], "noisy_mse": noisy[1], "runs": runs,
                             "reference": reference(photo, scenario)})
                if args.diagnose and scenario == "gray-gaussian":
                    rows[-1]["notebook_with_patch_batches"] = patch_batches(photo, scenario, args.threads)
                    print(f"{scenario} {name} notebook, batches of patches: "
                          f"{rows[-1]['notebook_with_patch_batches']['gain']:+.2f}", flush=True)
                print(f"{scenario} {name} reference: {rows[-1]['reference']['test_psnr']:.2f}", flush=True)
            results[scenario] = {"notebook_test_mse": SCENARIOS[scenario].notebook_test_mse, "rows": rows,
                                 "median": median_row(rows, presets)}
            markdown.append(f"### {scenario}\n\n{table(scenario, rows, presets)}")
    record = {"command": "python benchmarks/notebook.py " + " ".join(sys.argv[1:]), "threads": args.threads,
              "max_side": MAX_SIDE, "seed": 0, "machine": machine(), "scenarios": results}
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    args.out.with_suffix(".md").write_text("\n".join(markdown))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
