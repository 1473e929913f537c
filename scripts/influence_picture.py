"""Write docs/influence.png and docs/benchmarks/influence.json: what the row LSTM, the bundled gray model and
BM3D look at to denoise one pixel of the camera man (a benchmark photo, downscaled to 256 pixels,
Gaussian noise of variance 100, seed 0), side by side.

The row LSTM is trained with the notebook's preset (`fit --preset notebook`, seed 0); the bundled gray
model is the U-net with LSTM sweeps (the JSON names its weights). Each map is one backward pass
(`denoiser.evaluation.influence`). The JSON holds, at the drawn pixel and as medians over a 4x4 grid
of pixels, each map's 90% radius
(of the other pixels' influence), its farthest non-zero pixel, the pixel's own share and the share outside
the pixel's own row and the rows above and below; also for the row LSTM trained with `row-best`
(120 s), which the picture leaves out.

    python scripts/influence_picture.py [--pixel ROW COLUMN]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.influence_figures import BM3D_BLOCK, BM3D_SEARCH_WINDOW, influence_picture, marked, search_window_picture  # noqa: E402
from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.evaluation.influence import influence_map, reach  # noqa: E402
from denoiser.images import downscale, save_image  # noqa: E402
from denoiser.models.bundled import load_pretrained, pretrained_path  # noqa: E402
from denoiser.training.recipe_runner import file_record  # noqa: E402
from denoiser.samples import sample_photo  # noqa: E402
from denoiser.scenarios import SCENARIOS  # noqa: E402
from denoiser.training.experiment import MAX_SIDE, make_experiment, run_experiment  # noqa: E402

PICTURE = ROOT / "docs" / "influence.png"
RECORD = ROOT / "docs" / "benchmarks" / "influence.json"
PHOTO, PIXEL, GAP, ZOOM = "camera", (170, 50), 3, 2  # a pixel in the dark coat


def outside_three_rows(influence: np.ndarray, row: int) -> float:
    """The share of the influence outside rows row-1 .. row+1."""
    outside = np.delete(influence, range(max(0, row - 1), min(influence.shape[0], row + 2)), axis=0)
    return float(outside.sum() / influence.sum())


def measures(influence: np.ndarray, pixel: tuple[int, int]) -> dict:
    """One map's reach, in numbers."""
    found = reach(influence, pixel)
    return {"radius_90": round(found.radius, 1), "farthest": round(found.farthest, 1),
            "at_the_pixel": round(found.at_the_pixel, 4),
            "outside_three_rows": round(outside_three_rows(influence, pixel[0]), 4)}


def grid_medians(model, noisy: np.ndarray, sigma: float) -> dict:
    """`measures` over a 4x4 grid of pixels spread over the image, median of each."""
    height, width = noisy.shape[:2]
    pixels = [(int(r), int(c)) for r in np.linspace(16, height - 17, 4) for c in np.linspace(16, width - 17, 4)]
    found = [measures(influence_map(model, noisy, pixel, sigma), pixel) for pixel in pixels]
    return {key: round(float(np.median([f[key] for f in found])), 4) for key in found[0]} | {"pixels": len(pixels)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixel", type=int, nargs=2, default=PIXEL, metavar=("ROW", "COLUMN"))
    args = parser.parse_args()
    pixel = tuple(args.pixel)
    scenario = SCENARIOS["gray-gaussian"]
    clean = downscale(sample_photo(PHOTO, 1), MAX_SIDE)
    runs = {}
    for preset in ("notebook", "row-best"):
        started = time.perf_counter()
        runs[preset] = (run_experiment(make_experiment(scenario, scenario.noise, preset, None, threads=1), clean),
                        time.perf_counter() - started)
    result = runs["notebook"][0]
    models = {"row LSTM (notebook preset)": result.model, "U-net LSTM (bundled weights)": load_pretrained(scenario.key).model,
              "row LSTM (row-best preset)": runs["row-best"][0].model}
    maps = {name: influence_map(model, result.noisy, pixel, scenario.noise.sigma) for name, model in models.items()}
    pictures = [marked(influence_picture(result.noisy, maps[name], pixel), pixel) for name in list(models)[:2]]
    pictures.append(marked(search_window_picture(result.noisy, pixel), pixel))
    gap = np.ones((clean.shape[0], GAP, 3), dtype=np.float32)
    side_by_side = np.concatenate([pictures[0], gap, pictures[1], gap, pictures[2]], axis=1)
    save_image(side_by_side.repeat(ZOOM, axis=0).repeat(ZOOM, axis=1), PICTURE)  # three rows stay visible
    record = {"command": "python scripts/influence_picture.py" + "".join(f" {a}" for a in sys.argv[1:]),
              "photo": PHOTO, "size": list(clean.shape[:2]), "noise": scenario.noise.name, "seed": 0, "pixel": list(pixel),
              "bundled_weights": file_record(pretrained_path(scenario.key)),
              "row_lstm": {preset: {"test_gain": round(run.scores["test"].gain, 2), "steps": run.steps,
                                    "training_seconds": round(seconds, 1)} for preset, (run, seconds) in runs.items()},
              "machine": machine(), "bm3d": {"search_window": BM3D_SEARCH_WINDOW, "block": BM3D_BLOCK},
              "maps": {name: measures(influence, pixel) for name, influence in maps.items()},
              "grid": {name: grid_medians(model, result.noisy, scenario.noise.sigma) for name, model in models.items()}}
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({"maps": record["maps"], "grid": record["grid"]}, indent=2))
    print(f"wrote {PICTURE} and {RECORD}")


if __name__ == "__main__":
    main()
