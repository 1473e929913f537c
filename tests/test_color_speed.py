"""benchmarks/color_speed.py: a color photo through `denoise`, timed against CBM3D on a crop scaled to
the photo's pixels, with each model's peak memory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from denoiser.images import save_image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import color_speed  # noqa: E402


@pytest.fixture()
def small(tmp_path, monkeypatch) -> Path:
    """A benchmark folder of one photo, and a 'photo' of 160x120 instead of 12 megapixels."""
    monkeypatch.setattr(color_speed, "WIDTH", 160)
    monkeypatch.setattr(color_speed, "HEIGHT", 120)
    folder = tmp_path / "benchmark"
    folder.mkdir()
    save_image(np.random.default_rng(0).uniform(size=(90, 120, 3)).astype(np.float32), folder / "photo.png")
    return folder


def test_each_model_is_timed_against_cbm3d_scaled_from_its_crop(tmp_path, small):
    model = ROOT / "denoiser" / "weights" / "color-gaussian.pt"
    assert color_speed.main([str(small), "--crop", "80", "--model", f"again={model}", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "color-speed.json").read_text())
    cbm3d = record["cbm3d"]
    assert cbm3d["crop"] == [80, 60] and cbm3d["scale"] == 4.0
    assert cbm3d["seconds"] == pytest.approx(cbm3d["crop_seconds"] * 4, abs=0.1)
    assert list(record["runs"]) == ["bundled color model", "again"] and record["models"]["again"] == [str(model)]
    for run in record["runs"].values():
        assert run["seconds"] > 0 and run["peak_mb"] > 100  # torch alone takes more
        assert run["over_cbm3d"] == pytest.approx(run["seconds"] / (cbm3d["crop_seconds"] * 4), abs=0.002)
    table = (tmp_path / "color-speed.md").read_text().splitlines()
    assert table[2] == "| model | seconds | peak memory (MB) | time / CBM3D's |" and len(table) == 6


def test_a_bad_model_argument_is_one_line_and_writes_nothing(tmp_path, small, capsys):
    assert color_speed.main([str(small), "--model", "nothing", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == "error: --model wants NAME=PATH of a checkpoint, not 'nothing'.\n"
    assert not (tmp_path / "out").exists()
