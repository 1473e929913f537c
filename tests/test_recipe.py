"""The recipes as data (faithful to the bundled models' history, every start before its stage), and
`python -m denoiser recipe ... --smoke` run for real: every stage of every recipe, its files and
metadata, `--resume` skipping finished stages and carrying on an unfinished one, under torchrun,
and one-line errors that write nothing."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from denoiser.images import save_image
from denoiser.models.checkpoint import load_checkpoint, read_payload
from denoiser.models.networks import build_model, specialist_reach
from denoiser.scenarios import SCENARIOS
from denoiser.training.recipe_runner import source_version, stage_scenario
from denoiser.training.recipes import COLOR_REACH, RANDOM, RECIPES, STAGES, lineage, plan, table

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}


def recipe(*args, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "denoiser", "recipe", *map(str, args)], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def metadata(path: Path) -> dict:
    return read_payload(path)["metadata"]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def same_weights(first: torch.nn.Module, second: torch.nn.Module) -> bool:
    return all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


# The recipes as data.

def test_the_recipes_transcribe_the_lstm_models_stages():
    gray = RECIPES["gray-lstm"]
    assert [s.name for s in gray.stages] == [f"gray-{i}" for i in range(1, 13)]
    assert [s.steps for s in gray.stages] == [2000, 7000, 7000, 11000, 6000, 6000, 1623, 600, 9000, 1300, 1400, 1200]
    assert [s.runs_on for s in gray.stages] == ["cpu"] * 6 + ["gpu"] * 2 + ["cpu"] + ["gpu"] * 3
    assert gray.stages[0].depth == 1 and gray.stages[3].depth == 2  # the second block is grown in stage 4
    assert [s.data for s in gray.stages[:5]] == ["scikit-image"] * 4 + ["corpus"]
    assert all(s.balance_noise_levels == (i >= 4) for i, s in enumerate(gray.stages))
    assert all((s.patch_size, s.batch_size) == (96, 128) for s in gray.stages if s.runs_on == "gpu")
    specialists = {s.name: (s.start, s.specialist_below, s.specialist_from) for s in gray.stages if s.specialist_below}
    assert specialists == {"gray-9": ("gray-8", 20, None), "gray-11": ("gray-10", 20, "gray-9")}
    assert all(s.noise == (0, 20) for s in gray.stages[8:] if s.name != "gray-10")

    (salt_pepper,) = RECIPES["gray-salt-pepper"].stages
    assert (salt_pepper.start, salt_pepper.noise, salt_pepper.steps) == (RANDOM, (0.02, 0.8), 4000)

    color = RECIPES["color-lstm"]
    assert color.stages[0].start == "gray-6"
    assert (color.stages[3].specialist_below, color.stages[3].specialist_from) == (12, "gray-9")


def test_every_stage_starts_from_one_that_runs_before_it():
    assert len(STAGES) == sum(len(r.stages) for r in RECIPES.values())  # names are unique across recipes
    for key, each in RECIPES.items():
        order = [stage.name for _, stage in plan(each)]
        assert len(order) == len(set(order)) and order[-1] == each.model.name
        for _, stage in plan(each):
            assert all(order.index(start) < order.index(stage.name) for start in stage.starts())
    color = [stage.name for _, stage in plan(RECIPES["color-lstm"])]
    assert color[:6] == [f"gray-{i}" for i in range(1, 7)] and "gray-9" in color and "gray-10" not in color
    assert lineage("gray-10") == [f"gray-{i}" for i in range(1, 9)] + ["gray-10"]  # not the specialist of gray-9


def test_the_color_specialist_trains_up_to_the_reach_of_its_threshold():
    reach = specialist_reach(build_model(replace(SCENARIOS["color-gaussian"].model, specialist_below=12.0)))
    assert reach <= COLOR_REACH < reach + 0.1


def test_a_camera_stage_hands_its_gains_and_demosaicing_methods_to_the_draws():
    first = RECIPES["color-camera"].stages[0]
    mixed = replace(first, name="mixed", noise=(0.2, 0.4), demosaics=("bilinear", "hamilton-adams"))
    camera = stage_scenario(SCENARIOS["color-camera"], mixed).training_camera
    assert camera.gain == (0.2, 0.4) and camera.demosaics == ("bilinear", "hamilton-adams")
    # a setting added after the first stage files were written stays out of their record at its default
    assert "demosaics" not in first.settings() and mixed.settings()["demosaics"] == ["bilinear", "hamilton-adams"]


def test_only_a_random_start_chooses_the_architecture_and_hidden_size():
    first = RECIPES["gray-gaussian"].stages[0]
    assert (first.start, first.architecture, first.hidden) == (RANDOM, "unet", 48)
    assert first.settings()["architecture"] == "unet" and "architecture" not in RECIPES["gray-lstm"].stages[0].settings()
    with pytest.raises(ValueError, match="only a random start chooses"):
        replace(RECIPES["gray-lstm"].stages[1], hidden=64)
    assert [each.name for each in RECIPES.values() if not each.bundled] == ["gray-lstm", "color-lstm"]
    assert RECIPES["gray-lstm"].scenario == "gray-gaussian"


def test_a_new_network_takes_the_starts_architecture_and_trained_weights_keep_theirs():
    from denoiser.errors import DenoiserError
    from denoiser.models.bundled import pretrained_path
    from denoiser.training.start import Start, starting_model

    design = SCENARIOS["gray-gaussian"].model
    config = starting_model(design, Start(depth=1, architecture="unet", hidden=48)).config
    assert config == replace(design, architecture="unet", hidden=48, depth=1)
    with pytest.raises(DenoiserError, match="Only a new network chooses"):
        starting_model(design, Start(init=pretrained_path("gray-gaussian"), architecture="unet"))


def test_plane_guides_are_added_to_a_trained_color_model_only():
    from denoiser.errors import DenoiserError
    from denoiser.models.bundled import pretrained_path
    from denoiser.training.recipes import Stage, describe_start
    from denoiser.training.start import Start, starting_model

    guided = Stage("guided", "color-unet-1", (0, 55), 10, 64, 8, 2e-4, "cpu", plane_guides=True)
    assert guided.settings()["plane_guides"] and "plane_guides" not in RECIPES["gray-lstm"].stages[1].settings()
    assert describe_start(guided) == "color-unet-1; adds plane guides"
    with pytest.raises(ValueError, match="not random ones"):
        replace(guided, start=RANDOM)
    design = SCENARIOS["color-gaussian"].model
    model = starting_model(design, Start(init=pretrained_path("color-gaussian"), plane_guides=True))
    assert model.config == replace(load_checkpoint(pretrained_path("color-gaussian")).config, plane_guides=True)
    with pytest.raises(DenoiserError, match="not a new network"):
        starting_model(design, Start(plane_guides=True))
    with pytest.raises(DenoiserError, match="plane guides: Only a color model"):
        starting_model(SCENARIOS["gray-gaussian"].model, Start(init=pretrained_path("gray-gaussian"), plane_guides=True))


def test_the_commit_is_unknown_outside_a_git_checkout(tmp_path):
    assert source_version(tmp_path) == {"commit": "unknown", "dirty": None}
    known = source_version()
    assert re.fullmatch(r"[0-9a-f]{40}", known["commit"]) and isinstance(known["dirty"], bool)


def test_list_prints_every_stage_with_the_totals():
    result = recipe("color-gaussian", "--list")
    rows = [line.split("|")[1].strip() for line in result.stdout.splitlines()[2:]]
    assert rows == [stage.name for _, stage in plan(RECIPES["color-gaussian"])] + ["**all**"]
    assert f"| {sum(s.steps for _, s in plan(RECIPES['color-gaussian']))} |" in result.stdout.splitlines()[-1]


def test_every_bundled_model_names_its_recipe_and_last_stage():
    from denoiser.models.bundled import pretrained_path

    for key, each in RECIPES.items():
        if not each.bundled:  # a campaign's recipe: its weights become the scenario's once they win
            continue
        last = plan(each)[-1][1]
        bundled = metadata(pretrained_path(key))
        record = bundled["recipe"]
        campaign = bundled.get("campaign")  # weights a campaign bundled, finished or still under way
        finished = campaign is None or campaign["steps"] == campaign["of"]
        assert (record["name"], record["stage"], record["complete"], record["smoke"]) == (key, last.name, finished, False)
        assert record["stages"] == lineage(last.name) and record["settings"] == last.settings()
        assert re.fullmatch(r"[0-9a-f]{40}", record["commit"])
        if campaign:  # its stage file is in the repository, at least as far on
            state = metadata(ROOT / campaign["state"] / f"{last.name}.pt")
            assert campaign["steps"] <= state["steps"] <= last.steps == campaign["of"]
            assert (state["steps"] == last.steps) == finished == bool(state["recipe"]["complete"])


def test_the_model_card_shows_the_recipes_as_they_are():
    card = (ROOT / "docs" / "MODEL_CARD.md").read_text()
    rows = [row for each in RECIPES.values() for row in table(each).splitlines()
            if row.startswith(f"| {each.stages[0].name.rsplit('-', 1)[0]}-")]
    assert len(rows) == len(STAGES) and all(row in card for row in rows)


# Smoke runs through the command line.

@pytest.fixture(scope="module")
def gray_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("recipe") / "runs"
    result = recipe("gray-lstm", "--smoke", "--out", out)
    assert result.stdout.splitlines()[-1] == f"the gray-lstm model: {out / 'gray-12.pt'}"
    return out


def test_smoke_runs_every_gray_stage_with_its_start(gray_run):
    names = [stage.name for stage in RECIPES["gray-lstm"].stages]
    assert sorted(p.name for p in gray_run.iterdir()) == sorted([f"{n}.pt" for n in names] +
                                                               [f"{n}.log.jsonl" for n in names])
    model = metadata(gray_run / "gray-12.pt")
    record = model["recipe"]
    assert (record["name"], record["stage"], record["stages"]) == ("gray-lstm", "gray-12", names)
    assert record["complete"] and record["smoke"] and record["commit"] == source_version()["commit"]
    assert record["settings"]["steps"] == 1200 and model["config"]["steps"] == 2  # the recipe's, then the smoke's
    assert model["init"]["file"] == "gray-11.pt"
    assert json.loads((gray_run / "gray-12.log.jsonl").read_text().splitlines()[-1])["end"]

    stage = {name: load_checkpoint(gray_run / f"{name}.pt") for name in names}
    assert stage["gray-1"].config.depth == 1 and stage["gray-4"].config.depth == 2
    assert stage["gray-9"].config.specialist_below == 20 and stage["gray-10"].config.specialist_below == 0
    assert same_weights(stage["gray-9"].model.general, stage["gray-8"].model)  # only the specialist trains
    assert same_weights(stage["gray-11"].model.general, stage["gray-10"].model)
    assert stage["gray-11"].metadata["specialist_from"] == {
        "file": "gray-9.pt", "sha256": hashlib.sha256((gray_run / "gray-9.pt").read_bytes()).hexdigest()[:16]}
    assert not same_weights(stage["gray-12"].model.specialist, stage["gray-11"].model.specialist)


def test_resume_skips_finished_stages_and_without_it_nothing_is_overwritten(gray_run, tmp_path):
    before = digests(gray_run)
    result = recipe("gray-lstm", "--smoke", "--out", gray_run, "--resume")
    assert result.stdout.count("finished, skipped") == 12 and digests(gray_run) == before
    result = recipe("gray-lstm", "--smoke", "--out", gray_run, check=False)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        f"error: {gray_run} already holds gray-1.pt: add --resume to skip finished stages and carry on, "
        "or choose an empty --out."]
    save_image(np.full((32, 32, 1), 0.5, np.float32), tmp_path / "photo.png")
    result = recipe("gray-lstm", "--corpus", tmp_path, "--out", gray_run, "--resume",
                    check=False)  # a full run does not take a smoke run's files for finished ones
    assert result.returncode == 2 and "a smoke run" in result.stderr and len(result.stderr.splitlines()) == 1
    assert digests(gray_run) == before


def test_resume_carries_on_an_unfinished_stage(gray_run, tmp_path):
    out = shutil.copytree(gray_run, tmp_path / "runs")
    payload = read_payload(out / "gray-12.pt")  # as if stopped after its first step
    payload["metadata"]["recipe"]["complete"] = False
    payload["training"]["step"] = 1
    torch.save(payload, out / "gray-12.pt")
    before = digests(out)
    result = recipe("gray-lstm", "--smoke", "--out", out, "--resume")
    assert result.stdout.count("finished, skipped") == 11 and "gray-12: 2 steps from step 1" in result.stdout
    after = digests(out)
    assert {name for name in before if before[name] != after[name]} == {"gray-12.pt", "gray-12.log.jsonl"}
    assert metadata(out / "gray-12.pt")["recipe"]["complete"]
    log = [json.loads(line) for line in (out / "gray-12.log.jsonl").read_text().splitlines()]
    starts = [line["start_step"] for line in log if "start_step" in line]
    assert starts == [0, 1] and log[-1]["ranks"][0]["steps"] == 1  # appended: the one step left


def test_color_starts_from_the_gray_stages_in_the_same_folder(gray_run, tmp_path):
    out = shutil.copytree(gray_run, tmp_path / "runs")
    result = recipe("color-lstm", "--smoke", "--out", out, "--resume")
    assert result.stdout.count("finished, skipped") == 9  # gray-1 to gray-9; gray-10 to 12 are not needed
    color = {i: load_checkpoint(out / f"color-{i}.pt") for i in range(1, 6)}
    assert color[5].metadata["recipe"]["stages"] == [stage.name for _, stage in plan(RECIPES["color-lstm"])]
    assert color[1].config.opponent_colors and color[1].metadata["init"]["file"] == "gray-6.pt"
    assert color[4].config.specialist_below == 12 and color[4].metadata["specialist_from"]["file"] == "gray-9.pt"
    assert same_weights(color[4].model.plane.general, color[3].model.plane)  # only the specialist trains


def test_smoke_runs_the_salt_and_pepper_recipe(tmp_path):
    recipe("gray-salt-pepper", "--smoke", "--out", tmp_path / "runs")
    model = load_checkpoint(tmp_path / "runs" / "salt-pepper-1.pt")
    assert model.config.impulse_mask and model.metadata["recipe"]["stages"] == ["salt-pepper-1"]
    assert "init" not in model.metadata  # from random weights


def test_smoke_runs_the_gray_recipe_from_a_new_unet_then_its_low_noise_specialist(tmp_path):
    result = recipe("gray-gaussian", "--smoke", "--out", tmp_path / "runs")
    assert result.stdout.splitlines()[-1] == f"the gray-gaussian model: {tmp_path / 'runs' / 'gray-unet-2.pt'}"
    first, model = (load_checkpoint(tmp_path / "runs" / f"gray-unet-{n}.pt") for n in (1, 2))
    assert (first.config.architecture, first.config.hidden, first.config.depth) == ("unet", 48, 1)
    assert (model.config.architecture, model.config.specialist_below) == ("unet", 20)
    assert model.metadata["recipe"]["name"] == "gray-gaussian" and model.metadata["scenario"] == "gray-gaussian"
    general = dict(first.model.named_parameters())  # the specialist trains; the network above sigma 20 does not
    assert all(torch.equal(value, general[name.removeprefix("general.")])
               for name, value in model.model.named_parameters() if name.startswith("general."))


def test_smoke_runs_the_color_recipe_from_the_gray_unet_on_opponent_planes(tmp_path):
    recipe("color-gaussian", "--smoke", "--out", tmp_path / "runs")
    gray, model = (load_checkpoint(tmp_path / "runs" / f"{name}.pt") for name in ("gray-unet-1", "color-unet-1"))
    config = model.config
    assert (config.architecture, config.hidden, config.channels, config.opponent_colors) == ("unet", 48, 3, True)
    assert model.metadata["scenario"] == "color-gaussian" and model.metadata["init"]["file"] == "gray-unet-1.pt"
    assert not (tmp_path / "runs" / "gray-unet-2.pt").exists()  # the gray specialist is not needed
    assert not same_weights(model.model.plane, gray.model)  # the whole plane network trains on color


def test_two_processes_run_a_recipe_under_torchrun(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(port), "-m", "denoiser", "recipe", "gray-gaussian", "--smoke",
               "--out", str(tmp_path / "runs")]
    result = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    for stage in RECIPES["gray-gaussian"].stages:
        end = json.loads((tmp_path / "runs" / f"{stage.name}.log.jsonl").read_text().splitlines()[-1])
        assert end["world_size"] == 2 and end["replicas_identical"], stage.name
    assert metadata(tmp_path / "runs" / f"{RECIPES['gray-gaussian'].model.name}.pt")["recipe"]["complete"]


def test_a_recipe_that_reads_only_the_scikit_image_photos_needs_no_corpus(tmp_path):
    from denoiser.errors import DenoiserError
    from denoiser.training.recipe_runner import RecipeRun, check_run

    assert [stage.name for _, stage in check_run(RecipeRun("gray-salt-pepper", tmp_path))] == ["salt-pepper-1"]
    with pytest.raises(DenoiserError, match="Give --corpus DIR"):
        check_run(RecipeRun("gray-gaussian", tmp_path))


@pytest.mark.parametrize("args, message", [
    (["sepia", "--smoke", "--out", "{tmp}/runs"], "invalid choice: 'sepia'"),
    (["gray-gaussian", "--corpus", "{tmp}/missing", "--out", "{tmp}/runs"], "No such corpus folder"),
    (["gray-gaussian", "--corpus", "{tmp}/empty", "--out", "{tmp}/runs"], "No images"),
    (["gray-gaussian", "--out", "{tmp}/runs"], "Give --corpus DIR"),
    (["gray-gaussian", "--smoke"], "Give --out DIR"),
    (["gray-gaussian", "--smoke", "--out", "{tmp}/runs", "--workers", "-1"], "argument --workers: must be a whole number from 0"),
])
def test_mistakes_are_one_line_and_write_nothing(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no photos here")
    before = set(tmp_path.rglob("*"))
    result = recipe(*[a.format(tmp=tmp_path) for a in args], check=False)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and message in result.stderr, result.stderr
    assert result.stderr.startswith("error: ") and set(tmp_path.rglob("*")) == before


def test_the_gpu_chunk_script_resumes_a_recipe_and_hands_back_only_the_files_it_changed(tmp_path):
    """scripts/gpu_chunk.sh, as the device tool runs it (OUT set), on the CPU with the recipe's --smoke."""
    env = {**ENV, "OUT": str(tmp_path / "out"), "CAMPAIGNS": str(tmp_path / "campaigns"), "SMOKE": "1"}

    def chunk() -> set[str]:
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        (tmp_path / "out").mkdir()
        result = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_chunk.sh"), "gray-salt-pepper", "1"], env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        return {path.name for path in (tmp_path / "out").iterdir()}

    assert chunk() == {"chunk.log", "salt-pepper-1.pt", "salt-pepper-1.log.jsonl"}
    assert read_payload(tmp_path / "campaigns" / "gray-salt-pepper" / "salt-pepper-1.pt")["metadata"]["recipe"]["complete"]
    assert chunk() == {"chunk.log"}  # finished: --resume skips it and nothing changed comes back

    shutil.rmtree(tmp_path / "out")
    (tmp_path / "out").mkdir()
    color = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_chunk.sh"), "color-gaussian", "1"], env=env,
                           capture_output=True, text=True, timeout=120)  # the gray pack cannot train color
    assert color.returncode != 0 and color.stderr.strip().endswith("the pack is gray: they run on the CPU.")
    assert not list((tmp_path / "out").iterdir()) and not (tmp_path / "campaigns" / "gray-gaussian").exists()


def test_the_gpu_pack_is_each_photos_luminance_in_8_bits(tmp_path):
    from denoiser.images import load_image

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        save_image(rng.uniform(size=(20, 30, 3)).astype(np.float32), corpus / f"{name}.png")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_pack.py"), str(corpus), "--out",
                             str(tmp_path / "pack")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in ("a", "b"):
        packed = load_image(tmp_path / "pack" / f"{name}.png")
        assert packed.shape == (20, 30, 1)
        np.testing.assert_allclose(packed, load_image(corpus / f"{name}.png", 1), atol=0.5 / 255 + 1e-6)
    missing = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_pack.py"), str(tmp_path / "nothing")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
