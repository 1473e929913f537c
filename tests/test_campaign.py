"""benchmarks/campaign.py: a design study's run adopted as a recipe's first stage (and refused when it
was trained otherwise), the recipe carrying it on, and the validation point it appends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from denoiser.errors import DenoiserError
from denoiser.images import save_image
from denoiser.models.checkpoint import read_payload
from denoiser.training.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import campaign  # noqa: E402
import model_design  # noqa: E402
from study import train_for_cpu_minutes  # noqa: E402


def photos(folder: Path, count: int, size: int) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        smooth = np.cumsum(rng.normal(size=(size, size, 1)), axis=1)
        save_image(((smooth - smooth.min()) / np.ptp(smooth)).astype(np.float32), folder / f"p{index}.png")
    return folder


def study_run(tmp_path: Path, candidate: str, corpus: Path) -> Path:
    """A few seconds of the design study's own training of `candidate`, in its state file."""
    from denoiser.images import load_image
    from denoiser.models.networks import build_model
    from denoiser.scenarios import get_scenario
    from denoiser.training.loops import CorpusConfig
    from denoiser.training.patches import image_files

    config = CorpusConfig(steps=model_design.HORIZON, batch_size=model_design.BATCH, patch_size=model_design.PATCH,
                          learning_rate=model_design.LEARNING_RATE, seed=list(model_design.CANDIDATES).index(candidate),
                          threads=1, checkpoint_every=model_design.SAVE_EVERY, balance_noise_levels=True)
    state = tmp_path / f"{candidate}.pt"
    train_for_cpu_minutes(lambda: build_model(model_design.CANDIDATES[candidate]),
                          [load_image(path, 1) for path in image_files(corpus)], get_scenario("gray-gaussian"), config,
                          state, {"scenario": "gray-gaussian", "candidate": candidate}, 0.02, candidate)
    return state


@pytest.fixture()
def folders(tmp_path, monkeypatch) -> tuple[Path, Path]:
    monkeypatch.setattr(campaign, "CAMPAIGNS", tmp_path / "campaigns")
    monkeypatch.setattr(campaign, "CURVES", tmp_path / "curves")
    (tmp_path / "curves").mkdir()
    return photos(tmp_path / "corpus", 2, 96), photos(tmp_path / "validation", 2, 160)


def test_the_study_unet_run_becomes_the_gray_recipes_first_stage_and_the_recipe_carries_it_on(tmp_path, folders):
    corpus, validation = folders
    state = study_run(tmp_path, "unet", corpus)
    study = read_payload(state)
    stage_file = campaign.adopt("gray-gaussian", state, corpus)
    adopted = read_payload(stage_file)["metadata"]
    stage = RECIPES["gray-gaussian"].stages[0]
    assert stage_file == tmp_path / "campaigns" / "gray-gaussian" / f"{stage.name}.pt"
    assert adopted["recipe"]["settings"] == stage.settings() and not adopted["recipe"]["complete"]
    assert (adopted["steps"], adopted["cpu_seconds"]) == (study["training"]["step"], study["training"]["cpu_seconds"])
    with pytest.raises(DenoiserError, match="the campaign has started"):
        campaign.adopt("gray-gaussian", state, corpus)

    result = subprocess.run([sys.executable, "-m", "denoiser", "recipe", "gray-gaussian", "--corpus", str(corpus),
                             "--out", str(stage_file.parent), "--resume", "--minutes", "0.05", "--threads", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    carried = read_payload(stage_file)["metadata"]
    assert carried["steps"] > adopted["steps"] and carried["cpu_seconds"] > adopted["cpu_seconds"]

    point = campaign.record_point("gray-gaussian", validation)
    assert (point["stage"], point["steps"]) == (stage.name, carried["steps"])
    assert point["cpu_hours"] == round(carried["cpu_seconds"] / 3600, 3)
    curve = json.loads((tmp_path / "curves" / "campaign-gray-gaussian.json").read_text())
    assert curve["curve"] == [point] and set(curve["noisy"]) == {"10", "25", "50"}
    for sigma in (10, 25, 50):  # the noisy row is the noise itself: 20 log10(255 / sigma), a little more once clipped
        assert 20 * np.log10(255 / sigma) - 0.1 < curve["noisy"][str(sigma)] < 20 * np.log10(255 / sigma) + 0.5
    assert set(point["psnr"]) == set(curve["noisy"]) and all(np.isfinite(list(point["psnr"].values())))
    table = (tmp_path / "curves" / "campaign-gray-gaussian.md").read_text().splitlines()
    assert table[0] == "| stage | steps | CPU-hours | sigma 10 | sigma 25 | sigma 50 |"
    assert table[3].startswith(f"| {stage.name} | {carried['steps']} |")


def test_a_study_run_of_other_settings_is_refused(tmp_path, folders):
    corpus, _ = folders
    state = study_run(tmp_path, "today", corpus)
    with pytest.raises(DenoiserError, match="seed 0, the stage's 2; the network's design"):
        campaign.adopt("gray-gaussian", state, corpus)
    assert not (tmp_path / "campaigns").exists()
