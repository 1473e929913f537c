"""benchmarks/camera.py: `--baselines-from` reuses CBM3D's rows, and the Gaussian LSTM's only where the
earlier run measured the same bundled Gaussian weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import camera  # noqa: E402

from denoiser.models.bundled import load_pretrained  # noqa: E402
from denoiser.samples import sample_photo  # noqa: E402


def earlier_run(tmp_path: Path, **fields) -> Path:
    path = tmp_path / "camera-trained.json"
    path.write_text(json.dumps({"cameras": "trained", "crop": 24, "sigma_grid": list(camera.SIGMA_GRID),
                                "settings": {"gain 0.3": {"per_photo": {"coffee": {}}}}, **fields}))
    return path


def test_the_gaussian_rows_are_stale_unless_the_earlier_run_measured_the_same_weights(tmp_path):
    rows, stale = camera.earlier_baselines(earlier_run(tmp_path), "trained", 24)
    assert rows == {"gain 0.3": {"coffee": {}}} and stale == ("gaussian-lstm",)  # a run before the digest
    same = earlier_run(tmp_path, gaussian_model=camera.gaussian_weights_digest())
    assert camera.earlier_baselines(same, "trained", 24)[1] == ()


def test_stale_rows_are_scored_again_and_the_others_taken():
    image = np.ascontiguousarray(sample_photo("coffee")[100:132, 100:132])
    reference, noisy = camera.CAMERAS["trained"][1].pair(image, np.random.default_rng(0))
    model = load_pretrained("color-camera").model
    fresh = camera.score_photo(model, noisy, reference)
    marked = {name: {**row, "psnr": -1.0} if name.startswith(("bm3d", "gaussian")) else row
              for name, row in fresh.items()}
    again = camera.score_photo(model, noisy, reference, marked, stale=("gaussian-lstm",))
    assert list(again) == list(fresh)
    assert all(again[name]["psnr"] == -1.0 for name in ("bm3d-estimated", "bm3d-oracle"))
    for name in ("gaussian-lstm-estimated", "gaussian-lstm-oracle"):
        assert again[name]["psnr"] == fresh[name]["psnr"] > fresh["noisy"]["psnr"] - 1  # scored, not taken
        assert again[name]["sigma"] == fresh[name]["sigma"]
