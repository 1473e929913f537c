"""Run every benchmark in docs/BENCHMARKS.md through the command line, then rewrite its tables.

    python benchmarks/run_benchmarks.py                      # all settings (about 15 minutes on 2 CPU cores)
    python benchmarks/run_benchmarks.py gray-sigma25         # only some settings; the tables are rebuilt from every JSON
    python benchmarks/run_benchmarks.py --no-lstm            # the baselines only
    python benchmarks/run_benchmarks.py --tables-only        # rebuild the tables from the JSONs already written

Each setting writes docs/benchmarks/<name>.json (every row, the settings, the machine) and
docs/benchmarks/<name>.md (the per-image table); the summary tables go between the markers in
docs/BENCHMARKS.md, so the prose around them stays hand-written.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from denoiser.evaluation.baselines import baselines_for  # noqa: E402
from denoiser.evaluation.comparison import method_title  # noqa: E402
from denoiser.models.bundled import pretrained_path  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
DOC = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- results: start -->", "<!-- results: end -->"

# (name, scenario, level flag, level): one row of the docs' tables each.
SETTINGS = [
    ("gray-sigma10", "gray-gaussian", "--sigma", "10"),
    ("gray-sigma25", "gray-gaussian", "--sigma", "25"),
    ("gray-sigma50", "gray-gaussian", "--sigma", "50"),
    ("color-sigma10", "color-gaussian", "--sigma", "10"),
    ("color-sigma25", "color-gaussian", "--sigma", "25"),
    ("color-sigma50", "color-gaussian", "--sigma", "50"),
    ("salt-pepper-0.1", "gray-salt-pepper", "--density", "0.1"),
    ("salt-pepper-0.3", "gray-salt-pepper", "--density", "0.3"),
    ("salt-pepper-0.5", "gray-salt-pepper", "--density", "0.5"),
    ("salt-pepper-0.7", "gray-salt-pepper", "--density", "0.7"),
]
TABLES = [  # (heading, column label, settings in the table)
    ("Gray photos, Gaussian noise", "σ = {}", ["gray-sigma10", "gray-sigma25", "gray-sigma50"]),
    ("Color photos, Gaussian noise", "σ = {}", ["color-sigma10", "color-sigma25", "color-sigma50"]),
    ("Gray photos, salt-and-pepper noise", "density {}", [f"salt-pepper-{d}" for d in ("0.1", "0.3", "0.5", "0.7")]),
]


def run(name: str, scenario: str, flag: str, level: str, with_lstm: bool) -> None:
    command = [sys.executable, "-m", "denoiser", "benchmark", "--scenario", scenario, flag, level,
               "--json", str(OUT / f"{name}.json"), "--markdown", str(OUT / f"{name}.md")]
    lstm = ["lstm", "lstm-x8"] if with_lstm and pretrained_path(scenario).is_file() else []
    command += ["--methods", ",".join(["noisy", *lstm, *baselines_for(scenario)])]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def results_section() -> str:
    """The generated part of the docs: one table per family of settings, means over the photos."""
    records = {name: json.loads((OUT / f"{name}.json").read_text())
               for name, *_ in SETTINGS if (OUT / f"{name}.json").is_file()}
    if not records:
        return "No results yet: run `python benchmarks/run_benchmarks.py`.\n"
    parts = []
    for heading, label, names in TABLES:
        names = [n for n in names if n in records]
        if names:
            parts.append(_table(heading, label, {n: records[n] for n in names}))
    return "\n".join(parts)


def _about(records: dict[str, dict]) -> str:
    """The sentences above a table: photos, machine and weights, each as its JSONs record them."""
    photos = sorted({row["image"] for r in records.values() for row in r["results"]})
    machines = list(dict.fromkeys(f"{m['cpu']}, {m['cores']} CPU cores, GPU: {m['gpu']}; Python {m['python']}, "
                                  f"torch {m['torch']}" for m in (r["machine"] for r in records.values())))
    models = list(dict.fromkeys(f"`{Path(m['file']).name}` (sha256 {m['sha256']}, {m.get('steps', '?')} training steps)"
                                for m in (r.get("model") for r in records.values()) if isinstance(m, dict)))
    ran = list(dict.fromkeys(r["inference"]["lstm"] for r in records.values() if "lstm" in (r.get("inference") or {})))
    text = (f"Mean over {len(photos)} photos ({', '.join(photos)}); PSNR (dB) / SSIM; seconds per photo. "
            f"Measured on {' and '.join(machines)}. "
            + (f"LSTM weights: {'; '.join(models)}. " if models else "No LSTM rows: these ran without bundled weights. ")
            + (f"`lstm` ran in {' and '.join(ran)}. " if ran else "")
            + "Per-photo tables: " + ", ".join(f"[{n}](benchmarks/{n}.md)" for n in records) + ".")
    return textwrap.fill(text, width=110, break_long_words=False, break_on_hyphens=False)


def _table(heading: str, label: str, records: dict[str, dict]) -> str:
    """Methods down, settings across; each cell the mean PSNR / SSIM, the best PSNR in bold."""
    methods = list(dict.fromkeys(m for record in records.values() for m in record["summary"]))
    levels = [r["sigma"] if r["density"] is None else r["density"] for r in records.values()]
    best = {name: max(m["psnr"] for key, m in r["summary"].items() if key != "noisy") for name, r in records.items()}
    lines = [f"### {heading}", "", _about(records), "",
             "| method | " + " | ".join(label.format(f"{v:g}") for v in levels) + " | seconds |",
             "|---|" + "---:|" * (len(levels) + 1)]
    for method in methods:
        cells, seconds = [], []
        for name, record in records.items():
            m = record["summary"].get(method)
            if m is None:
                cells.append("–")
                continue
            value = f"{m['psnr']:.2f}"
            cells.append(f"{'**' + value + '**' if m['psnr'] == best[name] else value} / {m['ssim']:.3f}")
            seconds.append(m["seconds"])
        mean_seconds = f"{sum(seconds) / len(seconds):.2f}" if method != "noisy" else "–"
        lines.append(f"| {method_title(method)} (`{method}`) | " + " | ".join(cells) + f" | {mean_seconds} |")
    return "\n".join(lines) + "\n"


def rewrite_doc(section: str) -> None:
    text = DOC.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} lacks the markers {START} and {END}.")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{section}{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"settings to run (default: all): {', '.join(n for n, *_ in SETTINGS)}")
    parser.add_argument("--no-lstm", action="store_true", help="leave the LSTM out")
    parser.add_argument("--tables-only", action="store_true", help="only rebuild the tables in the docs")
    args = parser.parse_args()
    unknown = set(args.names) - {n for n, *_ in SETTINGS}
    if unknown:
        parser.error(f"unknown settings: {', '.join(sorted(unknown))}")
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.tables_only:
        for name, scenario, flag, level in SETTINGS:
            if not args.names or name in args.names:
                run(name, scenario, flag, level, not args.no_lstm)
    rewrite_doc(results_section())
    print(f"rewrote the tables in {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
