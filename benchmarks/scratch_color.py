"""Should the 2-D LSTM from scratch denoise a color photo as three opponent planes or with one network
over R, G and B? Decided on validation photos, in the preset's own time.

    python benchmarks/scratch_color.py VALIDATION_DIR [--variants planes:500,rgb:500,rgb:1500] [--photos 4]

The preset trains a new network on one photo's training pixels for 120 s or its epoch cap, whichever
comes first. Each variant is a color network and a cap: `planes`, one single-channel network run on the
three opponent planes (three passes a step, as the bundled color models), or `rgb`, one network taking
R, G and B together (one pass). For the first `--photos` validation photos (sorted by name, never
trained on, never benchmark photos), each variant runs as `fit --preset scratch` runs it (seed 0,
downscaled to 256 pixels, 2 threads), and CBM3D (true sigma) is scored on the same noisy image's test
pixels (`notebook.reference_on`). Writes docs/benchmarks/scratch-color.json and .md: per photo and variant
the test PSNR's lead over CBM3D, the seconds and the epochs run, and per variant the mean and median lead.

The rule, fixed before the runs: the variant with the highest mean lead becomes the preset's color
network and cap if it leads the preset's own (the first variant) by more than the spread of the
per-photo differences between the two; otherwise the preset stays.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from notebook import reference_on  # noqa: E402
from preset_caps import lead_lines, leads  # noqa: E402

from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.images import IMAGE_SUFFIXES, downscale, load_image  # noqa: E402
from denoiser.scenarios import SCENARIOS  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
NETWORKS = ("planes", "rgb")
THREADS = 2


def parse_variants(text: str) -> list[tuple[str, int]]:
    """`planes:500,rgb:1500` as [(network, epoch cap), ...]; a clear error for anything else."""
    variants = []
    for item in text.split(","):
        network, _, cap = item.partition(":")
        if network not in NETWORKS or not cap.isdigit() or int(cap) < 1:
            raise SystemExit(f"error: a variant is NETWORK:EPOCHS with NETWORK one of {', '.join(NETWORKS)} and "
                             f"EPOCHS a whole number from 1, not {item!r}.")
        variants.append((network, int(cap)))
    return variants


def run_variant(clean, network: str, cap: int) -> dict:
    """One scratch run on `clean` (already downscaled) with the variant's network and cap."""
    from denoiser.training.experiment import make_experiment, run_experiment

    scenario = SCENARIOS["color-gaussian"]
    experiment = make_experiment(scenario, scenario.noise, "scratch", None, epochs=cap, threads=THREADS)
    experiment = replace(experiment, model=replace(experiment.model, opponent_colors=network == "planes"))
    started = time.perf_counter()
    result = run_experiment(experiment, clean)
    return {"test_psnr": result.scores["test"].denoised_psnr, "seconds": round(time.perf_counter() - started, 1),
            "epochs": result.epochs}


def summary(rows: list[dict], names: list[str]) -> dict:
    """Per variant the mean and median lead over CBM3D; for each the spread (standard deviation) of its
    per-photo difference from the first variant."""
    each = {name: [row["variants"][name]["test_psnr"] for row in rows] for name in names}
    return {name: {**lead, "spread_against_first": statistics.stdev([a - b for a, b in zip(each[name], each[names[0]])])
                   if len(rows) > 1 else 0.0} for name, lead in leads(rows, "variants").items()}


def render(record: dict) -> str:
    names = list(record["summary"])
    lines = [f"2-D LSTM from scratch on color photos: test-pixel PSNR minus CBM3D's (true sigma) per variant, on "
             f"{len(record['rows'])} validation photos; `{record['command']}`; {record['machine']['cpu']} "
             f"({record['machine'].get('last_level_cache', '')}), {THREADS} threads.", ""]
    lines += lead_lines(record["rows"], "variants", names, names)
    lines.append("| **mean (median)** | " + " | ".join(
        f"{record['summary'][n]['mean']:+.2f} ({record['summary'][n]['median']:+.2f})" for n in names) + " |")
    lines.append("| spread of the difference from the first | " + " | ".join(
        f"{record['summary'][n]['spread_against_first']:.2f}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("validation", type=Path)
    parser.add_argument("--variants", default="planes:500,rgb:500,rgb:1500",
                        help="comma-separated NETWORK:EPOCHS; the first is the preset's own")
    parser.add_argument("--photos", type=int, default=4)
    args = parser.parse_args(argv)
    variants = parse_variants(args.variants)
    if args.photos < 1 or not args.validation.is_dir():
        raise SystemExit(f"error: give a validation folder and --photos of at least 1 (not {args.validation}, "
                         f"{args.photos}).")
    files = sorted(p for p in args.validation.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:args.photos]
    if not files:
        raise SystemExit(f"error: no photos in {args.validation}.")
    from denoiser.training.experiment import MAX_SIDE

    names = [f"{network}:{cap}" for network, cap in variants]
    rows = []
    for photo in files:
        image = load_image(photo, 3)
        clean = downscale(image, MAX_SIDE)
        runs = {name: run_variant(clean, network, cap) for name, (network, cap) in zip(names, variants)}
        rows.append({"photo": photo.stem, "reference_psnr": reference_on(image, "color-gaussian")["test_psnr"],
                     "variants": runs})
        print(photo.stem, {n: round(r["test_psnr"] - rows[-1]["reference_psnr"], 2) for n, r in runs.items()},
              file=sys.stderr)
    command = f"python benchmarks/scratch_color.py VALIDATION_DIR --variants {args.variants} --photos {args.photos}"
    record = {"command": command, "machine": machine(), "threads": THREADS, "rows": rows,
              "summary": summary(rows, names)}
    (OUT / "scratch-color.json").write_text(json.dumps(record, indent=2) + "\n")
    (OUT / "scratch-color.md").write_text(render(record))
    print(render(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
