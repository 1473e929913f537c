"""benchmarks/inference_precision.py: a model scored on validation crops in float32 and in bfloat16
autocast (one pass and tile flips), timed in each, into one JSON and table, with the rule that
picks what each bundled model runs by default."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from denoiser.inference.precision import cpu_bfloat16
from denoiser.models.bundled import load_pretrained
from denoiser.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import inference_precision  # noqa: E402
import model_design  # noqa: E402
from test_campaign import photos  # noqa: E402


@pytest.mark.skipif(not cpu_bfloat16(), reason="the script compares only where the CPU has bfloat16 instructions")
def test_float32_scores_are_the_studys_own_and_the_bfloat16_variants_stay_close(tmp_path, monkeypatch):
    monkeypatch.setattr(inference_precision, "OUT", tmp_path / "inference-precision")
    monkeypatch.setattr(inference_precision, "BUNDLED", ("gray-gaussian",))
    validation = photos(tmp_path / "validation", 2, 160)
    assert inference_precision.main([str(validation), "--repeats", "1"]) == 0
    record = json.loads((tmp_path / "inference-precision.json").read_text())
    row = record["models"]["gray-gaussian"]
    crops = model_design.validation_crops(validation, 1)
    assert row["float32"] == model_design.validation_psnr(load_pretrained("gray-gaussian").model, crops)
    for sigma in ("10", "25", "50"):  # one bfloat16 pass within its rounding; each flip more gains
        assert row["bfloat16"][sigma] != row["float32"][sigma]
        assert abs(row["bfloat16"][sigma] - row["float32"][sigma]) < 0.05
        assert row["bfloat16 x4"][sigma] > row["bfloat16 x2"][sigma] > row["float32"][sigma] + 0.05
    assert row["seconds"]["bfloat16 x4"] > row["seconds"]["bfloat16"] > 0
    assert row["choice"] == inference_precision.choice(row)
    table = (tmp_path / "inference-precision.md").read_text().splitlines()
    assert table[2] == "| model | score | float32 | bfloat16 | bfloat16 x2 | bfloat16 x4 |" and len(table) == 4 + 4 + 2
    assert table[-1].startswith("By the rule") and "gray-gaussian: " in table[-1]


def test_the_rule_takes_the_most_flips_that_cost_no_more_time_and_lose_no_score():
    def row(seconds: dict, scores: dict) -> dict:
        base = {"10": 37.0, "25": 32.0}
        return {"float32": base, **{name: {key: value + scores.get(name, 0.0) for key, value in base.items()}
                                    for name in ("bfloat16", "bfloat16 x2", "bfloat16 x4")},
                "seconds": {"float32": 1.0, "bfloat16": 0.45, "bfloat16 x2": 0.9, "bfloat16 x4": 1.8} | seconds}

    assert inference_precision.choice(row({}, {"bfloat16": -0.01, "bfloat16 x2": 0.05, "bfloat16 x4": 0.1})) == 2
    assert inference_precision.choice(row({"bfloat16 x4": 1.0}, {"bfloat16 x2": 0.05, "bfloat16 x4": 0.1})) == 4
    assert inference_precision.choice(row({}, {"bfloat16": -0.01, "bfloat16 x2": -0.01, "bfloat16 x4": 0.1})) is None
    assert inference_precision.choice(row({"bfloat16 x2": 1.1}, {"bfloat16": 0.0, "bfloat16 x2": 0.05})) == 1


def test_each_bundled_model_runs_as_the_committed_run_chose():
    record = json.loads((ROOT / "docs" / "benchmarks" / "inference-precision.json").read_text())
    for name, row in record["models"].items():
        assert SCENARIOS[name].bfloat16_flips == row["choice"] == inference_precision.choice(row)


@pytest.mark.skipif(not cpu_bfloat16(), reason="the script compares only where the CPU has bfloat16 instructions")
def test_a_bad_model_argument_is_one_line_before_any_model_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(inference_precision, "OUT", tmp_path / "inference-precision")
    monkeypatch.setattr("denoiser.models.bundled.load_pretrained", lambda name: pytest.fail("a model loaded"))
    assert inference_precision.main([str(tmp_path), "--model", "unet"]) == 2
    assert capsys.readouterr().err == "error: --model wants NAME=PATH of a checkpoint, not 'unet'.\n"
    assert not list(tmp_path.iterdir())


def test_a_checkpoint_is_timed_in_a_fresh_process_per_variant(tmp_path):
    import torch

    from denoiser.models.checkpoint import save_checkpoint
    from denoiser.models.networks import ModelConfig, build_model

    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, build_model(ModelConfig(architecture="unet", noise_map=True, hidden=4, features=4)), {})
    seconds = inference_precision.seconds(str(path), 1)
    assert set(seconds) == set(inference_precision.VARIANTS) and all(value > 0 for value in seconds.values())
    assert seconds["bfloat16 x4"] > seconds["bfloat16"]  # four passes take longer than one
