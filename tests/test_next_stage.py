"""benchmarks/next_stage.py: a candidate next stage trained from a campaign's finished stage and scored
with the campaign's validation scorer; a low-noise specialist leaves the higher sigmas as they were, and
a color study starts from the gray stage on opponent planes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from denoiser.models.checkpoint import load_checkpoint, read_payload
from denoiser.models.networks import specialist_of

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import campaign  # noqa: E402
import next_stage  # noqa: E402
from test_campaign import photos  # noqa: E402


@pytest.fixture()
def finished_gray_unet(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A smoke run of the gray recipe (the unet) as the campaign's finished first stage; the study's
    files under tmp_path."""
    monkeypatch.setattr(campaign, "CAMPAIGNS", tmp_path / "campaigns")
    monkeypatch.setattr(next_stage, "ROOT", tmp_path)
    (tmp_path / "docs" / "benchmarks").mkdir(parents=True)
    corpus, validation = photos(tmp_path / "corpus", 2, 96), photos(tmp_path / "validation", 2, 160)
    result = subprocess.run([sys.executable, "-m", "denoiser", "recipe", "gray-gaussian", "--smoke", "--corpus",
                             str(corpus), "--out", str(tmp_path / "campaigns" / "gray-gaussian")], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return corpus, validation


def test_a_specialist_candidate_trains_only_below_its_sigma(tmp_path, finished_gray_unet, capsys):
    corpus, validation = finished_gray_unet
    assert next_stage.main([str(corpus), str(validation), "--study", "gray-unet-second-stage", "--candidate",
                            "specialist-20", "--cpu-minutes", "0.03"]) == 0
    results = json.loads((tmp_path / "docs" / "benchmarks" / "gray-unet-second-stage.json").read_text())
    record = results["candidates"]["specialist-20"]
    assert (record["noise"], record["specialist_below"], record["balance"]) == ([0, 20], 20, True)
    state = read_payload(tmp_path / "runs" / "gray-unet-second-stage" / "specialist-20.pt")
    assert state["model_config"]["specialist_below"] == 20 and state["model_config"]["architecture"] == "unet"
    assert state["metadata"]["config"]["learning_rate"] == next_stage.LEARNING_RATE
    point, start = record["curve"][0], results["start"]
    assert point["steps"] > 0 and 0.02 < point["cpu_minutes"] < 0.2
    assert point["psnr"]["25"] == start["25"] and point["psnr"]["50"] == start["50"]  # the general network: untouched
    assert point["psnr"]["10"] != start["10"] and np.isfinite(point["psnr"]["10"])
    table = (tmp_path / "docs" / "benchmarks" / "gray-unet-second-stage.md").read_text().splitlines()
    assert table[0] == "| candidate | CPU-minutes | steps | sigma 10 | sigma 25 | sigma 50 |"
    assert table[3].startswith("| gray-unet-1 (the start) | 0 | 0 |") and table[4].startswith("| specialist-20 |")
    assert "specialist-20:" in capsys.readouterr().out


def test_a_color_study_trains_the_gray_stages_network_on_opponent_planes(tmp_path, finished_gray_unet):
    corpus, validation = finished_gray_unet
    assert next_stage.main([str(corpus), str(validation), "--study", "color-from-gray-unet", "--candidate", "planes",
                            "--cpu-minutes", "0.03"]) == 0
    results = json.loads((tmp_path / "docs" / "benchmarks" / "color-from-gray-unet.json").read_text())
    state = read_payload(tmp_path / "runs" / "color-from-gray-unet" / "planes.pt")
    config = state["model_config"]
    assert (config["channels"], config["opponent_colors"], config["architecture"]) == (3, True, "unet")
    assert state["metadata"]["scenario"] == "color-gaussian" and results["after"] == "gray-unet-1"
    point, start, noisy = results["candidates"]["planes"]["curve"][0], results["start"], results["noisy"]
    assert point["steps"] > 0 and all(start[key] != point["psnr"][key] for key in start)  # the whole network trains
    assert all(np.isfinite(list(point["psnr"].values()))) and set(noisy) == set(start) == {"10", "25", "50"}


def distance(a, b) -> float:
    """The largest difference between two networks' weights."""
    return max(float((x - y).abs().max()) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_a_color_specialist_starts_from_the_gray_specialist(tmp_path, finished_gray_unet):
    corpus, validation = finished_gray_unet
    folder = tmp_path / "campaigns" / "gray-gaussian"
    result = subprocess.run([sys.executable, "-m", "denoiser", "recipe", "color-gaussian", "--smoke", "--resume", "--corpus", str(corpus),
                             "--out", str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert next_stage.main([str(corpus), str(validation), "--study", "color-unet-second-stage", "--candidate",
                            "specialist-20", "--cpu-minutes", "0.03"]) == 0
    results = json.loads((tmp_path / "docs" / "benchmarks" / "color-unet-second-stage.json").read_text())
    record = results["candidates"]["specialist-20"]
    assert (record["noise"], record["specialist_below"], record["specialist_from"]) == ([0, 34.7], 20, "gray-unet-2")
    state = read_payload(tmp_path / "runs" / "color-unet-second-stage" / "specialist-20.pt")
    assert state["model_config"]["specialist_below"] == 20 and state["model_config"]["opponent_colors"]
    specialist = specialist_of(load_checkpoint(tmp_path / "runs" / "color-unet-second-stage" / "specialist-20.pt").model)
    gray = specialist_of(load_checkpoint(folder / "gray-unet-2.pt").model)
    general = load_checkpoint(folder / "color-unet-1.pt").model.plane
    assert distance(specialist, gray) < distance(specialist, general)  # a few steps from the gray specialist
    point, start = record["curve"][0], results["start"]
    assert point["psnr"]["50"] == start["50"]  # every plane of sigma 50 is above 20: the general network's
    assert point["psnr"]["10"] != start["10"] and np.isfinite(point["psnr"]["10"])


def test_a_guided_candidate_starts_as_the_color_stage_and_trains_its_guides(tmp_path, finished_gray_unet):
    corpus, validation = finished_gray_unet
    folder = tmp_path / "campaigns" / "gray-gaussian"
    result = subprocess.run([sys.executable, "-m", "denoiser", "recipe", "color-gaussian", "--smoke", "--resume", "--corpus",
                             str(corpus), "--out", str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert next_stage.main([str(corpus), str(validation), "--study", "color-plane-guides", "--candidate", "guided",
                            "--cpu-minutes", "0.03"]) == 0
    results = json.loads((tmp_path / "docs" / "benchmarks" / "color-plane-guides.json").read_text())
    assert results["candidates"]["guided"]["plane_guides"] and results["after"] == "color-unet-1"
    guided = load_checkpoint(tmp_path / "runs" / "color-plane-guides" / "guided.pt").model
    start = load_checkpoint(folder / "color-unet-1.pt").model
    assert guided.config.plane_guides and not start.config.plane_guides
    stem, started = guided.plane.stem[0].weight, start.plane.stem[0].weight
    assert stem.shape[1] == started.shape[1] + 6 and stem[:, -6:].abs().max() > 0  # the guides' weights trained
    point = results["candidates"]["guided"]["curve"][0]
    assert point["steps"] > 0 and all(np.isfinite(list(point["psnr"].values())))


def test_an_unknown_candidate_or_a_missing_start_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(campaign, "CAMPAIGNS", tmp_path / "campaigns")
    study = ["--study", "gray-unet-second-stage"]
    assert next_stage.main([str(tmp_path), str(tmp_path), *study, "--candidate", "wider"]) == 2
    assert capsys.readouterr().err == \
        "error: The candidates of gray-unet-second-stage are carried, patch-128, specialist-20.\n"
    assert next_stage.main([str(tmp_path), str(tmp_path), *study, "--candidate", "carried"]) == 2
    assert "run the gray-gaussian campaign first" in capsys.readouterr().err
