"""The notebook's row LSTM on held-out photos (issue 32): the faithful notebook preset against
`row-best`, the same network trained to its best on the validation pixels within 120 s.

Each photo is one that no model here trains or chooses on: the five benchmark photos and three
more of scikit-image's built-in photos outside the training list (the two views of the stereo
motorcycle and the microaneurysms retina). Gray, Gaussian noise of variance 100 (sigma 10), seed 0,
downscaled to 256 pixels: what `python -m denoiser fit PHOTO.png --scenario gray-gaussian --preset
PRESET --threads 1` runs (the same functions, called here so the validation curve is kept).
The 1-minute load average is recorded before and after each run: the machine is shared, and a
120 s budget buys fewer steps on a busy one.

With --choose, the runs that chose `row-best`'s settings instead: candidate settings on the
validation pixels of photos from the training list (never a benchmark photo).

Writes docs/benchmarks/row-lstm.json and .md (or row-lstm-choice.json and .md with --choose).
Usage: python benchmarks/row_lstm.py [--photos camera,...] [--presets notebook,row-best] [--threads 1]
       [--choose] [--render]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.images import convert_channels, downscale  # noqa: E402
from denoiser.samples import BENCHMARK_PHOTOS, TRAINING_PHOTOS, sample_photo  # noqa: E402
from denoiser.scenarios import SCENARIOS  # noqa: E402
from denoiser.training.experiment import MAX_SIDE, fit_record, make_experiment, run_experiment  # noqa: E402

SCENARIO = "gray-gaussian"
MORE_HELD_OUT = ("motorcycle_left", "motorcycle_right", "microaneurysms")
"""scikit-image photos outside TRAINING_PHOTOS and BENCHMARK_PHOTOS, shipped in its wheel."""
HELD_OUT = BENCHMARK_PHOTOS + MORE_HELD_OUT
TARGET_GAIN = 3.0
CHOICE_PHOTOS = ("astronaut", "brick")
CANDIDATES = {
    "batch 16 rows, lr 0.003 (chosen)": {},
    "batch 32 rows, lr 0.003": {"batch_size": 32},
    "batch 32 rows, lr 0.001": {"batch_size": 32, "learning_rate": 1e-3},
    "batch 128 rows of 64, lr 0.003": {"batch_size": 128, "patch_size": 64},
}
"""Changes to `row-best`'s settings that --choose compares (all with fresh noise and the cosine over 120 s)."""


def held_out_photo(name: str) -> np.ndarray:
    """A held-out photo, float32 (H, W, C) in [0, 1]."""
    if name in BENCHMARK_PHOTOS or name in TRAINING_PHOTOS:
        return sample_photo(name)
    if name not in MORE_HELD_OUT:
        raise SystemExit(f"unknown photo {name}: choose among {', '.join(HELD_OUT)}")
    import skimage.data

    image = {"motorcycle_left": lambda: skimage.data.stereo_motorcycle()[0],
             "motorcycle_right": lambda: skimage.data.stereo_motorcycle()[1],
             "microaneurysms": skimage.data.microaneurysms}[name]()
    image = np.asarray(image, dtype=np.float32) / 255.0
    return image[..., None] if image.ndim == 2 else image[..., :3]


def one_run(photo: str, preset: str, threads: int, changes: dict | None = None) -> dict:
    """`fit`'s record of one run, with its validation curve and the load around it."""
    scenario = SCENARIOS[SCENARIO]
    clean = downscale(convert_channels(held_out_photo(photo), scenario.channels), MAX_SIDE)
    experiment = make_experiment(scenario, scenario.noise, preset, None, threads=threads)
    if changes:
        experiment = replace(experiment, training=replace(experiment.training, **changes))
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = run_experiment(experiment, clean)
    seconds = time.perf_counter() - started
    curve = [{"epoch": p.epoch, "step": p.step, "seconds": round(p.elapsed, 1), "val_psnr": round(p.val_psnr, 3),
              "train_loss": round(p.train_loss, 2)} for p in result.training.history]
    record = fit_record(experiment, result, seconds, image=f"{photo}.png", validation_curve=curve,
                        load_before=round(load_before, 2), load_after=round(os.getloadavg()[0], 2))
    test = record["splits"]["test"]
    record["test_gain"] = round(test["denoised_psnr"] - test["noisy_psnr"], 3)
    record["validation_gain"] = round(record["splits"]["validation"]["denoised_psnr"]
                                      - record["splits"]["validation"]["noisy_psnr"], 3)
    return record


def summary(record: dict) -> dict:
    """What the tables show of a run."""
    keys = ("test_gain", "validation_gain", "seconds", "epochs", "steps", "best_epoch", "load_before", "load_after")
    return {key: record[key] for key in keys} | {"noisy_test_psnr": record["splits"]["test"]["noisy_psnr"],
                                                 "validation_curve": record["validation_curve"]}


def render(record: dict) -> str:
    """The markdown table of a row-lstm.json (or row-lstm-choice.json) record."""
    m = record["machine"]
    head = (f"Machine: {m['cpu']}, {m['cores']} cores, shared; torch threads {record['threads']}; Python {m['python']}, "
            f"torch {m['torch']}.\n{record['scenario']}, {record['noise']}, seed 0, photos downscaled to "
            f"{record['max_side']} pixels.\nWritten by `{record['command']}`; load average (1 min) at the start: "
            f"{record['load_at_start']:.1f}.\n\n")
    if record.get("choice"):
        lines = ["| settings | " + " | ".join(f"{p}: validation gain, steps" for p in record["photos"]) + " | mean |",
                 "|---|" + "---:|" * (len(record["photos"]) + 1)]
        for name, runs in record["runs"].items():
            cells = [f"{runs[p]['validation_gain']:+.2f}, {runs[p]['steps']:,}" for p in record["photos"]]
            mean = statistics.mean(runs[p]["validation_gain"] for p in record["photos"])
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {mean:+.2f} |")
        return head + "\n".join(lines) + "\n"
    presets = record["presets"]
    lines = ["| photo | noisy test PSNR | " + " | ".join(f"{p}: test gain (s, steps, load)" for p in presets)
             + f" | {presets[-1]} ≥ +{TARGET_GAIN:g} dB |", "|---|---:|" + "---:|" * len(presets) + ":-:|"]
    for photo, runs in record["runs"].items():
        cells = [f"{runs[p]['test_gain']:+.2f} ({runs[p]['seconds']:.0f}, {runs[p]['steps']:,}, "
                 f"{runs[p]['load_before']:.1f})" for p in presets]
        met = "yes" if runs[presets[-1]]["test_gain"] >= TARGET_GAIN else "**no**"
        lines.append(f"| {photo} | {runs[presets[0]]['noisy_test_psnr']:.2f} | " + " | ".join(cells) + f" | {met} |")
    gains = {p: [runs[p]["test_gain"] for runs in record["runs"].values()] for p in presets}
    lines.append("| **mean (min to max)** | | " + " | ".join(
        f"{statistics.mean(g):+.2f} ({min(g):+.2f} to {max(g):+.2f})" for g in gains.values()) + " | |")
    return head + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", help="comma-separated (default: the eight held-out photos, or with --choose "
                                         "the choice photos)")
    parser.add_argument("--presets", default="notebook,row-best")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--choose", action="store_true", help="compare row-best's candidate settings instead")
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from the JSON")
    args = parser.parse_args()
    out = ROOT / "docs" / "benchmarks" / ("row-lstm-choice.json" if args.choose else "row-lstm.json")
    if args.render:
        out.with_suffix(".md").write_text(render(json.loads(out.read_text())))
        return
    photos = args.photos.split(",") if args.photos else list(CHOICE_PHOTOS if args.choose else HELD_OUT)
    if args.choose and set(photos) & set(HELD_OUT):
        raise SystemExit("--choose runs on photos outside the held-out ones")
    record = {"command": "python benchmarks/row_lstm.py" + "".join(f" {a}" for a in sys.argv[1:]),
              "scenario": SCENARIO, "noise": SCENARIOS[SCENARIO].noise.name, "max_side": MAX_SIDE,
              "threads": args.threads, "machine": machine(), "load_at_start": os.getloadavg()[0], "photos": photos,
              "choice": args.choose, "runs": {}}
    if args.choose:
        for name, changes in CANDIDATES.items():
            record["runs"][name] = {}
            for photo in photos:
                run = summary(one_run(photo, "row-best", args.threads, changes))
                record["runs"][name][photo] = run
                print(f"{name} {photo}: validation {run['validation_gain']:+.2f}, {run['steps']} steps", flush=True)
    else:
        record["presets"] = args.presets.split(",")
        for photo in photos:
            record["runs"][photo] = {}
            for preset in record["presets"]:
                run = summary(one_run(photo, preset, args.threads))
                record["runs"][photo][preset] = run
                print(f"{photo} {preset}: test {run['test_gain']:+.2f} in {run['seconds']:.0f} s, {run['steps']} steps, "
                      f"load {run['load_before']:.1f}", flush=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    out.with_suffix(".md").write_text(render(record))
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
