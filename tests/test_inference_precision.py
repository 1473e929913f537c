"""benchmarks/inference_precision.py: a model scored on validation crops in float32 and in bfloat16
autocast, and timed in both, into one JSON and table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from denoiser.models.bundled import load_pretrained
from denoiser.training.loops import cpu_bfloat16

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import inference_precision  # noqa: E402
import model_design  # noqa: E402
from test_campaign import photos  # noqa: E402


@pytest.mark.skipif(not cpu_bfloat16(), reason="the script compares only where the CPU has bfloat16 instructions")
def test_float32_scores_are_the_studys_own_and_bfloat16_stays_close(tmp_path, monkeypatch):
    monkeypatch.setattr(inference_precision, "OUT", tmp_path / "inference-precision")
    monkeypatch.setattr(inference_precision, "BUNDLED", ("gray-gaussian",))
    validation = photos(tmp_path / "validation", 2, 160)
    assert inference_precision.main([str(validation), "--repeats", "1"]) == 0
    record = json.loads((tmp_path / "inference-precision.json").read_text())
    row = record["models"]["gray-gaussian"]
    crops = model_design.validation_crops(validation, 1)
    assert row["float32"] == model_design.validation_psnr(load_pretrained("gray-gaussian").model, crops)
    assert row["bfloat16"] != row["float32"]
    assert all(abs(row["bfloat16"][sigma] - row["float32"][sigma]) < 0.2 for sigma in ("10", "25", "50"))
    assert row["seconds"]["float32"] > 0 and row["seconds"]["bfloat16"] > 0
    table = (tmp_path / "inference-precision.md").read_text().splitlines()
    assert table[2] == "| model | score | float32 | bfloat16 | difference |" and len(table) == 4 + 4


@pytest.mark.skipif(not cpu_bfloat16(), reason="the script compares only where the CPU has bfloat16 instructions")
def test_a_bad_model_argument_is_one_line_before_any_model_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(inference_precision, "OUT", tmp_path / "inference-precision")
    monkeypatch.setattr("denoiser.models.bundled.load_pretrained", lambda name: pytest.fail("a model loaded"))
    assert inference_precision.main([str(tmp_path), "--model", "unet"]) == 2
    assert capsys.readouterr().err == "error: --model wants NAME=PATH of a checkpoint, not 'unet'.\n"
    assert not list(tmp_path.iterdir())
