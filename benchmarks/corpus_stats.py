"""Build the corpus from scratch, timed, and measure it: photos and megapixels per set against
today's 25-photo set, and the noise left in the reduced photos (`estimate_sigma`, an upper bound:
it reads some fine texture as noise). Writes docs/corpus_stats.json, which docs/DATA.md quotes.
Usage: python benchmarks/corpus_stats.py OUT_DIR [--cache DIR]   (OUT_DIR gets training/, validation/, benchmark/)
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.corpus.build import CorpusBuildConfig, build_corpus  # noqa: E402
from denoiser.corpus.manifest import load_manifest  # noqa: E402
from denoiser.corpus.photos import reduced_size  # noqa: E402
from denoiser.images import load_image  # noqa: E402
from denoiser.noise.level import estimate_sigma  # noqa: E402
from denoiser.samples import TRAINING_PHOTOS, sample_photo  # noqa: E402

TARGET = ROOT / "docs" / "corpus_stats.json"


def todays_pixels() -> dict:
    """The 25-photo set the bundled weights last trained on: the scikit-image photos as they are,
    the 12 mate photos as scripts/mate_photos.py reduced them (factor ceil(longest / 768), partial
    blocks kept)."""
    scikit = sum(sample_photo(name).shape[0] * sample_photo(name).shape[1] for name in TRAINING_PHOTOS)
    mate = next(p for p in load_manifest().packages if p.name == "mate-backgrounds").photos
    factors = [(photo, max(1, math.ceil(max(photo.width, photo.height) / 768))) for photo in mate]
    reduced = sum(math.ceil(photo.width / f) * math.ceil(photo.height / f) for photo, f in factors)
    return {"photos": len(TRAINING_PHOTOS) + len(mate), "pixels": scikit + reduced,
            "scikit_image_pixels": scikit, "mate_pixels": reduced}


def training_pixels_if(longest_side: int) -> int:
    """The training set's pixels had its photos been reduced to `longest_side` instead."""
    scikit = sum(sample_photo(name).shape[0] * sample_photo(name).shape[1] for name in TRAINING_PHOTOS)
    return scikit + sum(math.prod(reduced_size(photo.width, photo.height, longest_side))
                        for _, photo in load_manifest().photos("training"))


def measure(folder: Path) -> dict:
    sigmas = {path.stem: round(estimate_sigma(load_image(path)), 2) for path in sorted(folder.glob("*.png"))}
    values = np.array(list(sigmas.values()))
    summary = json.loads((folder / "corpus.json").read_text())
    return {"photos": summary["photos"], "pixels": summary["pixels"], "megapixels": round(summary["pixels"] / 1e6, 1),
            "estimate_sigma": {"median": round(float(np.median(values)), 2),
                               "p90": round(float(np.percentile(values, 90)), 2), "max": float(values.max()),
                               "over_2": sorted(name for name, value in sigmas.items() if value > 2)},
            "estimate_sigma_per_photo": sigmas}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache", type=Path, help="default: a fresh temporary folder, so the time includes downloads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as fresh:
        folders = {name: args.out / name for name in ("training", "validation", "benchmark")}
        config = CorpusBuildConfig(**folders, cache=args.cache or Path(fresh))
        started = time.perf_counter()
        build_corpus(config, report=lambda line: print(line, file=sys.stderr))
        seconds = time.perf_counter() - started
    today = todays_pixels()
    sets = {name: measure(folder) for name, folder in folders.items()}
    manifest = load_manifest()
    stats = {"command": "python benchmarks/corpus_stats.py OUT_DIR" + (" --cache DIR" if args.cache else ""),
             "build_seconds": round(seconds), "fresh_cache": args.cache is None,
             "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
             "packages": [f"{p.name} {p.version} ({p.suite})" for p in manifest.packages],
             "longest_side": manifest.longest_side,
             "today": today, "training_over_today": round(sets["training"]["pixels"] / today["pixels"], 1),
             "training_megapixels_if_longest_side": {side: round(training_pixels_if(side) / 1e6, 1)
                                                     for side in (768, 1024, 1536, 2048)},
             "sets": sets}
    TARGET.write_text(json.dumps(stats, indent=1) + "\n")
    for name, values in sets.items():
        print(f"{name}: {values['photos']} photos, {values['megapixels']} megapixels, "
              f"estimate_sigma median {values['estimate_sigma']['median']}")
    print(f"built in {seconds:.0f} s; training holds {stats['training_over_today']} times today's pixels; wrote {TARGET}")


if __name__ == "__main__":
    main()
