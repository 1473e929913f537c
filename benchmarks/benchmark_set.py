"""The bundled models against their classical reference on the larger benchmark set: the corpus's
benchmark photos (`python -m denoiser corpus --benchmark DIR`) beside the five built-in ones.

    python -m denoiser corpus --benchmark data/corpus-benchmark
    python benchmarks/benchmark_set.py data/corpus-benchmark [--settings gray-sigma25,...] [--tables-only]
    python benchmarks/benchmark_set.py data/corpus-benchmark --settings color-sigma10 --reuse-reference

Runs `python -m denoiser benchmark --images FOLDER --methods noisy,lstm,REFERENCE` per setting (the
gray settings on every photo, the color ones on the color photos: the corpus's and coffee, chelsea)
and writes docs/benchmarks/benchmark-set-<setting>.json, then docs/benchmarks/benchmark-set.json
and .md: per setting the mean and median lead of the LSTM over the reference, its spread (the
standard deviation of the per-photo leads), how many photos each method wins, and the per-photo
table. A mean lead smaller than the spread is called a tie. `--reuse-reference` runs only the noisy
input and the model and keeps the reference's rows of the setting's earlier JSON (CBM3D takes most of
the time, and its result depends only on the photos and the seeded noise): every noisy row must
match the earlier run's to the last digit, which shows that the noise, photos and seed are the same.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.comparison import BenchmarkRow, machine, summarize  # noqa: E402
from denoiser.images import IMAGE_SUFFIXES, save_image  # noqa: E402
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS, sample_photo  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
# name: (scenario, level flag, level, reference method, its title, built-in photos)
SETTINGS = {
    "gray-sigma10": ("gray-gaussian", "--sigma", "10", "bm3d", "BM3D", BENCHMARK_PHOTOS),
    "gray-sigma25": ("gray-gaussian", "--sigma", "25", "bm3d", "BM3D", BENCHMARK_PHOTOS),
    "gray-sigma50": ("gray-gaussian", "--sigma", "50", "bm3d", "BM3D", BENCHMARK_PHOTOS),
    "color-sigma10": ("color-gaussian", "--sigma", "10", "bm3d", "CBM3D", COLOR_BENCHMARK_PHOTOS),
    "color-sigma25": ("color-gaussian", "--sigma", "25", "bm3d", "CBM3D", COLOR_BENCHMARK_PHOTOS),
    "color-sigma50": ("color-gaussian", "--sigma", "50", "bm3d", "CBM3D", COLOR_BENCHMARK_PHOTOS),
    "salt-pepper-0.1": ("gray-salt-pepper", "--density", "0.1", "adaptive-median", "adaptive median", BENCHMARK_PHOTOS),
    "salt-pepper-0.5": ("gray-salt-pepper", "--density", "0.5", "adaptive-median", "adaptive median", BENCHMARK_PHOTOS),
}


def photo_folder(corpus_benchmark: Path, built_in: tuple[str, ...], folder: Path) -> Path:
    """One folder with the corpus's benchmark photos and the chosen built-in ones, as PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(corpus_benchmark.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:  # not its corpus.json
            shutil.copy(path, folder / path.name)
    for name in built_in:
        save_image(sample_photo(name), folder / f"{name}.png")
    return folder


def run_setting(name: str, corpus_benchmark: Path, reuse_reference: bool = False) -> None:
    scenario, flag, level, reference, _, built_in = SETTINGS[name]
    record = OUT / f"benchmark-set-{name}.json"
    if reuse_reference and not record.is_file():
        raise SystemExit(f"No {record} to take the reference from: run {name} without --reuse-reference.")
    earlier = json.loads(record.read_text()) if reuse_reference else None
    with tempfile.TemporaryDirectory() as temporary:
        folder = photo_folder(corpus_benchmark, built_in, Path(temporary) / "photos")
        command = [sys.executable, "-m", "denoiser", "benchmark", "--scenario", scenario, flag, level,
                   "--images", str(folder), "--methods", "noisy,lstm" if earlier else f"noisy,lstm,{reference}",
                   "--json", str(record)]
        print("$", " ".join(command[1:]), flush=True)
        subprocess.run(command, cwd=ROOT, check=True)
    if earlier:
        fresh = with_reference(json.loads(record.read_text()), earlier, reference)
        record.write_text(json.dumps(fresh, indent=2) + "\n")


def with_reference(fresh: dict, earlier: dict, reference: str) -> dict:
    """`fresh` (noisy and model rows) with `earlier`'s reference rows, its summary recomputed; an error
    unless both scored the same noisy photos."""
    def noisy(record: dict) -> dict:
        return {row["image"]: (row["psnr"], row["ssim"]) for row in record["results"] if row["method"] == "noisy"}

    scored = noisy(fresh)
    if scored != noisy(earlier) or (fresh["sigma"], fresh["seed"]) != (earlier["sigma"], earlier["seed"]):
        raise SystemExit("The earlier run scored other noisy photos: run the setting without --reuse-reference.")
    reused = [row for row in earlier["results"] if row["method"] == reference]
    if {row["image"] for row in reused} != set(scored):
        raise SystemExit(f"The earlier run has no {reference} row for every photo: run it without --reuse-reference.")
    order = {image: index for index, image in enumerate(scored)}
    rows = [BenchmarkRow(**row) for row in fresh["results"] + reused]
    rows.sort(key=lambda row: order[row.image])  # photo by photo, as a full run writes them
    return {**fresh, "results": [asdict(row) for row in rows], "summary": summarize(rows),
            "reference_from": earlier["machine"]}


def summary(name: str) -> dict:
    """The lead of the LSTM over the reference per photo, its mean and spread, and the wins."""
    _, _, _, reference, title, _ = SETTINGS[name]
    record = json.loads((OUT / f"benchmark-set-{name}.json").read_text())
    psnr = {(row["image"], row["method"]): row["psnr"] for row in record["results"]}
    photos = list(dict.fromkeys(row["image"] for row in record["results"]))
    rows = [{"photo": photo, "noisy": psnr[photo, "noisy"], "lstm": psnr[photo, "lstm"],
             "reference": psnr[photo, reference], "lead": psnr[photo, "lstm"] - psnr[photo, reference]}
            for photo in photos]
    leads = [row["lead"] for row in rows]
    mean, spread = statistics.mean(leads), statistics.stdev(leads)
    return {"setting": name, "reference": title, "photos": len(rows), "rows": rows,
            "mean_lstm": statistics.mean(row["lstm"] for row in rows),
            "mean_reference": statistics.mean(row["reference"] for row in rows),
            "mean_lead": mean, "median_lead": statistics.median(leads), "spread": spread,
            "lstm_wins": sum(lead > 0 for lead in leads), "reference_wins": sum(lead < 0 for lead in leads),
            "verdict": "tie" if abs(mean) < spread else ("LSTM ahead" if mean > 0 else "reference ahead"),
            "model": record.get("model"), "inference": (record.get("inference") or {}).get("lstm"),
            "machine": record.get("machine")}


def markdown(summaries: list[dict]) -> str:
    head = ["| setting | photos | LSTM | reference | mean lead | median lead | spread | wins (LSTM / reference) | verdict |",
            "|---|---:|---:|---|---:|---:|---:|---|---|"]
    for s in summaries:
        head.append(f"| {s['setting']} | {s['photos']} | {s['mean_lstm']:.2f} | {s['reference']} {s['mean_reference']:.2f} | "
                    f"{s['mean_lead']:+.2f} | {s['median_lead']:+.2f} | {s['spread']:.2f} | "
                    f"{s['lstm_wins']} / {s['reference_wins']} | {s['verdict']} |")
    parts = ["\n".join(head) + "\n"]
    for s in summaries:
        ran = [f"The LSTM ran in {s['inference']}.\n"] if s.get("inference") else []  # absent before it was recorded
        lines = [f"### {s['setting']}\n", *ran, f"| photo | noisy | LSTM | {s['reference']} | lead |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['photo']} | {r['noisy']:.2f} | {r['lstm']:.2f} | {r['reference']:.2f} | {r['lead']:+.2f} |"
                  for r in s["rows"]]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_benchmark", type=Path, help="the folder `corpus --benchmark` wrote")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated, of: " + ", ".join(SETTINGS))
    parser.add_argument("--tables-only", action="store_true", help="rebuild the summary from the JSONs already written")
    parser.add_argument("--reuse-reference", action="store_true",
                        help="run only the noisy input and the model; keep the reference's rows of the earlier JSON")
    args = parser.parse_args()
    names = args.settings.split(",")
    unknown = [name for name in names if name not in SETTINGS]
    if unknown:
        parser.error(f"unknown setting {unknown[0]}: choose from {', '.join(SETTINGS)}")
    if not args.tables_only:
        if not args.corpus_benchmark.is_dir():
            raise SystemExit(f"No such folder: {args.corpus_benchmark} (python -m denoiser corpus --benchmark DIR)")
        for name in names:
            run_setting(name, args.corpus_benchmark, args.reuse_reference)
    summaries = [summary(name) for name in SETTINGS if (OUT / f"benchmark-set-{name}.json").is_file()]
    command = "python benchmarks/benchmark_set.py " + " ".join(sys.argv[1:])
    if args.tables_only and (OUT / "benchmark-set.json").is_file():  # the command that ran the benchmarks
        command = json.loads((OUT / "benchmark-set.json").read_text())["command"]
    record = {"command": command, "machine": machine(), "settings": summaries}
    (OUT / "benchmark-set.json").write_text(json.dumps(record, indent=2) + "\n")
    (OUT / "benchmark-set.md").write_text(markdown(summaries))
    print(f"wrote {OUT / 'benchmark-set.json'} and {OUT / 'benchmark-set.md'}")


if __name__ == "__main__":
    main()
