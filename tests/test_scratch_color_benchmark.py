"""benchmarks/scratch_color.py: each variant trains the network it names (three opponent-plane passes
or one RGB network) from scratch on real validation photos, scored against CBM3D on the same test
pixels; bad variants are one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import scratch_color  # noqa: E402

from denoiser.images import save_image  # noqa: E402


def test_each_variant_trains_its_network_and_the_table_gives_its_lead(tmp_path, monkeypatch):
    monkeypatch.setattr(scratch_color, "OUT", tmp_path)
    photos = tmp_path / "validation"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        ramp = np.linspace(0, 1, 40)[None, :, None] * np.ones((40, 40, 3)) * (0.3, 0.6, 0.9)
        save_image(np.clip(ramp + rng.normal(0, 0.02, ramp.shape), 0, 1), photos / f"{name}.png")
    from denoiser.training import experiment

    built, run = [], experiment.run_experiment
    monkeypatch.setattr(experiment, "run_experiment", lambda chosen, clean: built.append(chosen.model) or run(chosen, clean))
    assert scratch_color.main([str(photos), "--variants", "planes:2,rgb:2", "--photos", "2"]) == 0
    record = json.loads((tmp_path / "scratch-color.json").read_text())
    assert [model.opponent_colors for model in built] == [True, False, True, False]  # planes, then one RGB network
    assert all((model.channels, model.architecture, model.depth) == (3, "renet", 1) for model in built)
    assert [row["photo"] for row in record["rows"]] == ["a", "b"]
    for row in record["rows"]:
        assert set(row["variants"]) == {"planes:2", "rgb:2"} and np.isfinite(row["reference_psnr"])
        assert all(run["epochs"] == 2 and np.isfinite(run["test_psnr"]) for run in row["variants"].values())
    leads = [row["variants"]["rgb:2"]["test_psnr"] - row["reference_psnr"] for row in record["rows"]]
    assert record["summary"]["rgb:2"]["mean"] == pytest.approx(np.mean(leads))
    assert record["summary"]["planes:2"]["spread_against_first"] == 0.0
    table = (tmp_path / "scratch-color.md").read_text().splitlines()
    assert table[2] == "| photo | planes:2: lead (s, epochs) | rgb:2: lead (s, epochs) |"
    assert table[-2].startswith("| **mean (median)** |")


@pytest.mark.parametrize("variants", ["wide:500", "rgb:0", "rgb", "planes:5,rgb:x"])
def test_a_bad_variant_is_one_line(variants, capsys):
    with pytest.raises(SystemExit, match="a variant is NETWORK:EPOCHS"):
        scratch_color.parse_variants(variants)
