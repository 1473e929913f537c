"""The original notebook's three experiments, reproduced with `python -m denoiser fit` (issue 22).

For each scenario, held-out photo (as `python -m denoiser samples --set benchmark` writes them) and
preset, runs the `fit` command in this process (seed 0, downscaled to 256 pixels as the pages do)
and scores the classical reference on the same noisy image's test pixels: BM3D given the true
sigma for Gaussian noise, the adaptive median for impulses. Writes docs/benchmarks/notebook.json
and docs/benchmarks/notebook.md (per scenario: the median of each method with its command, then
each photo); --render rewrites the .md and the medians from the JSON's runs alone; --update
replaces only the runs asked for (new weights for the Quick preset, say) and keeps the rest.
With --diagnose, the gray Gaussian notebook run is repeated with a batch of 32 patches instead of
32 rows (the earlier reading of the notebook's batch), which shows why that preset learned nothing.
Usage: python benchmarks/notebook.py [--scenarios gray-gaussian,...] [--presets notebook,scratch,quick]
       [--photos camera,...] [--threads 2] [--diagnose] [--render] [--update] [--out docs/benchmarks/notebook.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.cli import main as denoiser_cli  # noqa: E402
from denoiser.evaluation.baselines import run_baseline  # noqa: E402
from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.evaluation.metrics import mse_255, psnr  # noqa: E402
from denoiser.images import downscale, save_image  # noqa: E402
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS, sample_photo  # noqa: E402
from denoiser.scenarios import SCENARIOS  # noqa: E402
from denoiser.training.experiment import MAX_SIDE, noisy_input, split_pixels  # noqa: E402
from denoiser.training.splits import PixelSplit  # noqa: E402

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
    """The classical reference on the noisy image `fit` made of a built-in photo (same noise, same split, seed 0)."""
    return reference_on(sample_photo(photo.stem, SCENARIOS[scenario_key].channels), scenario_key)


def reference_on(image, scenario_key: str) -> dict:
    """The classical reference on the noisy image `fit` makes of `image` (downscaled as `fit` does, same
    noise, same split, seed 0)."""
    scenario = SCENARIOS[scenario_key]
    clean = downscale(image, MAX_SIDE)
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

    from denoiser.training.experiment import make_experiment, run_experiment

    scenario = SCENARIOS[scenario_key]
    clean = downscale(sample_photo(photo.stem, scenario.channels), MAX_SIDE)
    experiment = make_experiment(scenario, scenario.noise, "notebook", None, threads=threads)
    experiment = replace(experiment, training=replace(experiment.training, sample="patch"))
    started = time.perf_counter()
    result = run_experiment(experiment, clean)
    test = result.scores["test"]
    return {"test_psnr": test.denoised_psnr, "gain": test.gain, "steps": result.steps, "epochs": result.epochs,
            "seconds": round(time.perf_counter() - started, 1)}


PRESET_ROWS = {"notebook": "row LSTM from scratch (notebook preset)", "scratch": "2-D LSTM from scratch",
               "quick": "Quick: bundled weights, fine-tuned"}


def median_row(rows: list[dict]) -> dict:
    """Per method, the median over the photos of its test PSNR, gain and seconds (the .md's medians),
    rewritten with every record so an `--update` refreshes it too."""
    median = statistics.median
    runs = {preset: {key: median(r["runs"][preset][key] for r in rows) for key in ("test_psnr", "gain", "seconds")}
            for preset in rows[0]["runs"]}
    return {"photo": "**median**", "noisy": median(r["noisy"] for r in rows), "runs": runs,
            "reference": {"test_psnr": median(r["reference"]["test_psnr"] for r in rows)}}


def psnr_of_mse(mse: float) -> float:
    """PSNR on the 0..255 scale of an MSE on that scale, as the notebook's reported MSE converts."""
    return 10 * math.log10(255 ** 2 / mse)


def method_table(scenario: str, result: dict, threads: int) -> str:
    """Markdown: one row per method, the median over the photos of its test-pixel MSE, PSNR, gain and
    seconds, with the command that produced it (PHOTO: a photo `samples --set benchmark` wrote)."""
    rows = result["rows"]
    name = reference_name(scenario)
    noisy = statistics.median(r["noisy"] for r in rows)
    lines = [f"| method | test MSE | test PSNR | gain | lead over {name} | seconds | command |",
             "|---|---:|---:|---:|---:|---:|---|",
             f"| noisy input | {statistics.median(r['noisy_mse'] for r in rows):,.1f} | {noisy:.2f} | | | | |",
             f"| notebook, as reported | {result['notebook_test_mse']:,.0f} | {psnr_of_mse(result['notebook_test_mse']):.2f}"
             " | | | | the Keras notebook |"]
    for preset in rows[0]["runs"]:
        runs = [r["runs"][preset] for r in rows]
        lead = statistics.median(r["runs"][preset]["test_psnr"] - r["reference"]["test_psnr"] for r in rows)
        lines.append(f"| {PRESET_ROWS[preset]} | {statistics.median(x['test_mse'] for x in runs):,.1f} | "
                     f"{statistics.median(x['test_psnr'] for x in runs):.2f} | "
                     f"{statistics.median(x['gain'] for x in runs):+.2f} | {lead:+.2f} | "
                     f"{statistics.median(x['seconds'] for x in runs):.0f} | "
                     f"`python -m denoiser fit PHOTO.png --scenario {scenario} --preset {preset} --threads {threads}` |")
    method = REFERENCE[SCENARIOS[scenario].noise_kind][0]
    references = [r["reference"] for r in rows]
    reference_psnr = statistics.median(x["test_psnr"] for x in references)
    lines.append(f"| {name} | {statistics.median(x['test_mse'] for x in references):,.1f} | {reference_psnr:.2f} | "
                 f"{reference_psnr - noisy:+.2f} | | {statistics.median(x['seconds'] for x in references):.0f} | "
                 f"`run_baseline('{method}', ...)` in this script, on the same noisy image |")
    return "\n".join(lines) + "\n"


def reference_name(scenario: str) -> str:
    """The classical reference's name in the tables: CBM3D for color, as BM3D runs on color images."""
    name = REFERENCE[SCENARIOS[scenario].noise_kind][1]
    return "C" + name if name.startswith("BM3D") and SCENARIOS[scenario].channels == 3 else name


def photo_table(scenario: str, rows: list[dict]) -> str:
    """Markdown: one row per photo, test-pixel PSNR of the noisy input, each preset (gain, seconds),
    the reference, and each preset's lead over the reference."""
    name = reference_name(scenario)
    presets = list(rows[0]["runs"])
    head = ["photo", "noisy", *[f"{p} (gain, s)" for p in presets], name, *[f"{p} − reference" for p in presets]]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for row in rows:
        reference = row["reference"]["test_psnr"]
        cells = [row["photo"], f"{row['noisy']:.2f}"]
        cells += [f"{run['test_psnr']:.2f} ({run['gain']:+.2f}, {run['seconds']:.0f})" for run in row["runs"].values()]
        cells.append(f"{reference:.2f}")
        cells += [f"{run['test_psnr'] - reference:+.2f}" for run in row["runs"].values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def diagnosis_table(rows: list[dict]) -> str:
    """Markdown: the notebook preset with batches of 32 rows (as it runs) against 32 patches."""
    lines = ["| photo | batches of 32 rows: gain, steps | batches of 32 patches: gain, steps |", "|---|---:|---:|"]
    for row in rows:
        rows_run, patches = row["runs"]["notebook"], row["notebook_with_patch_batches"]
        lines.append(f"| {row['photo']} | {rows_run['gain']:+.2f}, {rows_run['steps']} | "
                     f"{patches['gain']:+.2f}, {patches['steps']} |")
    return "\n".join(lines) + "\n"


def commands_of(record: dict) -> list[str]:
    """The commands that wrote a record: one, or the first and then each `--update`."""
    return record["command"] if isinstance(record["command"], list) else [record["command"]]


def machines_of(record: dict) -> list[dict]:
    """The machine each of `commands_of(record)` ran on (a record from before they were kept per
    command ran all its commands on its one `machine`)."""
    return record.get("machines") or [record["machine"]] * len(commands_of(record))


def render(record: dict) -> str:
    """The markdown tables of a notebook.json record, a section per scenario."""
    machine = record["machine"]
    elsewhere = [f" (on {other['cpu']}, {other['cores']} cores)" if other != machine else "" for other in machines_of(record)]
    parts = [f"Machine: {machine['cpu']}, {machine['cores']} cores, GPU: {machine['gpu']}; Python {machine['python']}, "
             f"torch {machine['torch']}. Threads: {record['threads']}; photos downscaled to "
             f"{record['max_side']} pixels; seed {record['seed']}. Written by\n"
             + ",\nthen ".join(f"`{command}`{where}" for command, where in zip(commands_of(record), elsewhere)) + ".\n"]
    for scenario, result in record["scenarios"].items():
        parts.append(f"### {scenario}\n\nMedian over {len(result['rows'])} photos:\n\n"
                     f"{method_table(scenario, result, record['threads'])}\nPer photo:\n\n"
                     f"{photo_table(scenario, result['rows'])}")
        if all("notebook_with_patch_batches" in row for row in result["rows"]):
            parts.append(f"Notebook preset, batches of rows against batches of patches:\n\n"
                         f"{diagnosis_table(result['rows'])}")
    return "\n".join(parts)


def updated(record: dict, new: dict) -> dict:
    """`record` with the runs (and references) of `new` put in place of its own, photo by photo;
    its command becomes the list of commands that wrote it, `machines` the machine of each."""
    for scenario, result in new["scenarios"].items():
        rows = {row["photo"]: row for row in record["scenarios"][scenario]["rows"]}
        for row in result["rows"]:
            rows[row["photo"]]["runs"].update(row["runs"])
            rows[row["photo"]]["reference"] = row["reference"]
    return {**record, "command": [*commands_of(record), new["command"]],
            "machines": [*machines_of(record), new["machine"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(PHOTOS))
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--photos", help="comma-separated (default: the scenario's held-out photos)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "notebook.json")
    parser.add_argument("--diagnose", action="store_true",
                        help="also run the notebook preset with batches of 32 patches (the earlier reading)")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md and the medians from the runs in the JSON in --out")
    parser.add_argument("--update", action="store_true",
                        help="replace only these runs in the JSON in --out (new weights for one preset, say)")
    args = parser.parse_args()
    if (args.render or args.update) and not args.out.is_file():
        parser.error(f"--render and --update read {args.out}: run without them first")
    if args.render:
        write(json.loads(args.out.read_text()), args.out)
        return
    presets = args.presets.split(",")
    results = {}
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
            results[scenario] = {"notebook_test_mse": SCENARIOS[scenario].notebook_test_mse, "rows": rows}
    command = "python benchmarks/notebook.py " + " ".join(sys.argv[1:])
    record = {"command": command, "threads": args.threads, "max_side": MAX_SIDE, "seed": 0, "machine": machine(),
              "scenarios": results}
    if args.update:
        record = updated(json.loads(args.out.read_text()), record)
    write(record, args.out)


def write(record: dict, out: Path) -> None:
    """The JSON, each scenario's medians computed afresh from its rows, and its .md beside it."""
    for result in record["scenarios"].values():
        result["median"] = median_row(result["rows"])
    out.write_text(json.dumps(record, indent=2) + "\n")
    out.with_suffix(".md").write_text(render(record))
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
