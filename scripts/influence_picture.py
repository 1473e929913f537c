"""Write docs/influence.png and docs/benchmarks/influence.json: what the row LSTM, the 2-D LSTM and
BM3D look at to denoise one pixel of the camera man (a benchmark photo, downscaled to 256 pixels,
Gaussian noise of variance 100, seed 0), side by side.

The row LSTM is trained with the notebook's preset (`fit --preset notebook`, seed 0), the 2-D LSTM
is the bundled gray model; each map is one backward pass (`denoiser.evaluation.influence`). The
JSON holds each map's 90% radius, its farthest non-zero pixel and the share of its influence
outside the pixel's own row and the rows above and below.

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
from denoiser.models.bundled import load_pretrained  # noqa: E402
from denoiser.samples import sample_photo  # noqa: E402
from denoiser.scenarios import SCENARIOS  # noqa: E402
from denoiser.training.experiment import MAX_SIDE, make_experiment, run_experiment  # noqa: E402

PICTURE = ROOT / "docs" / "influence.png"
RECORD = ROOT / "docs" / "benchmarks" / "influence.json"
PHOTO, PIXEL, GAP, ZOOM = "camera", (96, 118), 3, 2


def outside_three_rows(influence: np.ndarray, row: int) -> float:
    """The share of the influence outside rows row-1 .. row+1."""
    inside = influence[max(0, row - 1):row + 2].sum()
    return float(1 - inside / influence.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixel", type=int, nargs=2, default=PIXEL, metavar=("ROW", "COLUMN"))
    args = parser.parse_args()
    pixel = tuple(args.pixel)
    scenario = SCENARIOS["gray-gaussian"]
    clean = downscale(sample_photo(PHOTO, 1), MAX_SIDE)
    experiment = make_experiment(scenario, scenario.noise, "notebook", None, threads=2)
    started = time.perf_counter()
    result = run_experiment(experiment, clean)
    trained = time.perf_counter() - started
    models = {"row LSTM (notebook preset)": result.model, "2-D LSTM (bundled weights)": load_pretrained(scenario.key).model}
    maps = {name: influence_map(model, result.noisy, pixel, scenario.noise.sigma) for name, model in models.items()}
    pictures = [marked(influence_picture(result.noisy, influence, pixel), pixel) for influence in maps.values()]
    pictures.append(marked(search_window_picture(result.noisy, pixel), pixel))
    gap = np.ones((clean.shape[0], GAP, 3), dtype=np.float32)
    side_by_side = np.concatenate([pictures[0], gap, pictures[1], gap, pictures[2]], axis=1)
    save_image(side_by_side.repeat(ZOOM, axis=0).repeat(ZOOM, axis=1), PICTURE)  # three rows stay visible
    record = {"command": "python scripts/influence_picture.py" + "".join(f" {a}" for a in sys.argv[1:]),
              "photo": PHOTO, "size": list(clean.shape[:2]), "noise": scenario.noise.name, "seed": 0, "pixel": list(pixel),
              "row_lstm_test_gain": round(result.scores["test"].gain, 2), "row_lstm_steps": result.steps,
              "row_lstm_training_seconds": round(trained, 1), "machine": machine(),
              "bm3d": {"search_window": BM3D_SEARCH_WINDOW, "block": BM3D_BLOCK},
              "maps": {name: {"radius_90": round(found.radius, 1), "farthest": round(found.farthest, 1),
                              "outside_three_rows": round(outside_three_rows(influence, pixel[0]), 4),
                              "at_the_pixel": round(float(influence[pixel] / influence.sum()), 4)}
                       for name, influence in maps.items() for found in [reach(influence, pixel)]}}
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record["maps"], indent=2))
    print(f"wrote {PICTURE} and {RECORD}")


if __name__ == "__main__":
    main()
