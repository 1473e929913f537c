"""Should a per-image preset's epoch cap be raised, so that its time ends it? Decided on validation photos.

    python benchmarks/preset_caps.py VALIDATION_DIR --scenario color-gaussian --preset scratch --epochs 500,2000
                                     [--photos 4] [--threads 2]

Quick (30 s) and the 2-D LSTM from scratch (120 s) stop at their epoch cap or their time, whichever
comes first; on a fast machine the cap comes first and leaves time unused. For the first `--photos`
validation photos (sorted by name, never trained on, never benchmark photos), runs `python -m denoiser
fit PHOTO --scenario S --preset P --epochs E` for each cap (seed 0, downscaled to 256 pixels as the
pages do), and scores the classical reference (BM3D or CBM3D, true sigma) on the same noisy image's
test pixels. Writes docs/benchmarks/preset-caps-<scenario>-<preset>.json and .md: per photo and cap
the test PSNR, the seconds, the epochs run and the lead over the reference, and per cap the mean and
median lead.

The rule for a cap, fixed before the gray runs: the higher cap replaces the preset's if its mean lead is
0.1 dB or more above the preset cap's (two runs of the same color command differed by 0.09).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "benchmarks"))

from notebook import reference_on  # noqa: E402

from denoiser.cli import main as denoiser_cli  # noqa: E402
from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.images import IMAGE_SUFFIXES, load_image  # noqa: E402
from denoiser.scenarios import SCENARIOS  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"


def run_cap(photo: Path, scenario: str, preset: str, epochs: int, threads: int, workdir: Path) -> dict:
    """One `fit` run with the preset at `epochs`: its record."""
    record = workdir / f"{photo.stem}-{epochs}.json"
    status = denoiser_cli(["fit", str(photo), "--scenario", scenario, "--preset", preset, "--epochs", str(epochs),
                           "--threads", str(threads), "--json", str(record)])
    if status != 0:
        raise SystemExit(f"fit failed for {photo.name} ({scenario}, {preset}, {epochs} epochs)")
    return json.loads(record.read_text())


def study(files: list[Path], scenario: str, preset: str, caps: list[int], threads: int, command: str) -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for photo in files:
            runs = {cap: run_cap(photo, scenario, preset, cap, threads, Path(folder)) for cap in caps}
            reference = reference_on(load_image(photo, SCENARIOS[scenario].channels), scenario)["test_psnr"]
            rows.append({"photo": photo.stem, "reference_psnr": reference, "caps": {
                str(cap): {"test_psnr": run["splits"]["test"]["denoised_psnr"], "seconds": run["training_seconds"],
                           "epochs": run["epochs"]} for cap, run in runs.items()}})
            print(photo.stem, {cap: round(row["test_psnr"] - reference, 2) for cap, row in rows[-1]["caps"].items()},
                  file=sys.stderr)
    return {"scenario": scenario, "preset": preset, "caps": caps, "threads": threads, "machine": machine(),
            "command": command, "rows": rows, "leads": leads(rows)}


def leads(rows: list[dict], runs: str = "caps") -> dict[str, dict[str, float]]:
    """Per run (a cap, under `runs`), the mean and median over the photos of its test PSNR minus the reference's."""
    values = {key: [row[runs][key]["test_psnr"] - row["reference_psnr"] for row in rows] for key in rows[0][runs]}
    return {key: {"mean": statistics.mean(each), "median": statistics.median(each)} for key, each in values.items()}


def lead_lines(rows: list[dict], runs: str, keys: list[str], titles: list[str]) -> list[str]:
    """The per-photo table: each run's test PSNR minus the reference's, with its seconds and epochs."""
    lines = ["| photo | " + " | ".join(f"{title}: lead (s, epochs)" for title in titles) + " |",
             "|---|" + "---:|" * len(keys)]
    for row in rows:
        cells = [f"{row[runs][key]['test_psnr'] - row['reference_psnr']:+.2f} ({row[runs][key]['seconds']:.0f}, "
                 f"{row[runs][key]['epochs']})" for key in keys]
        lines.append(f"| {row['photo']} | " + " | ".join(cells) + " |")
    return lines


def render(record: dict) -> str:
    caps = [str(cap) for cap in record["caps"]]
    lines = [f"{record['scenario']}, preset {record['preset']}: test-pixel PSNR minus the reference's (true sigma) per "
             f"epoch cap, on {len(record['rows'])} validation photos; `{record['command']}`; "
             f"{record['machine']['cpu']} ({record['machine'].get('last_level_cache', '')}), {record['threads']} threads.",
             ""] + lead_lines(record["rows"], "caps", caps, [f"cap {cap}" for cap in caps])
    lines.append("| **mean (median)** | " + " | ".join(
        f"{record['leads'][cap]['mean']:+.2f} ({record['leads'][cap]['median']:+.2f})" for cap in caps) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("validation", type=Path)
    parser.add_argument("--scenario", choices=["gray-gaussian", "color-gaussian"], default="color-gaussian")
    parser.add_argument("--preset", choices=["quick", "scratch"], default="scratch")
    parser.add_argument("--epochs", default="500,2000", help="comma-separated caps; the first is the preset's own")
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    try:
        caps = [int(cap) for cap in args.epochs.split(",")]
    except ValueError:
        parser.error(f"--epochs takes whole numbers separated by commas, not {args.epochs!r}")
    if min(caps) < 1 or args.photos < 1:
        parser.error("every --epochs cap and --photos must be at least 1")
    if not args.validation.is_dir():
        parser.error(f"no such folder: {args.validation}")
    files = sorted(path for path in args.validation.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)[:args.photos]
    if not files:
        parser.error(f"no photos in {args.validation}")
    command = (f"python benchmarks/preset_caps.py VALIDATION_DIR --scenario {args.scenario} --preset {args.preset} "
               f"--epochs {args.epochs} --photos {args.photos}")
    record = study(files, args.scenario, args.preset, caps, args.threads, command)
    name = f"preset-caps-{args.scenario}-{args.preset}"
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    (OUT / f"{name}.md").write_text(render(record))
    print(render(record))


if __name__ == "__main__":
    main()
