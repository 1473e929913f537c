"""The command line starts light: help, `noise` and every argument error answer with torch,
scikit-image and bm3d unimportable, as on a machine where they are not installed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import denoiser
from denoiser.images import load_image, save_image
from denoiser.noise import GaussianNoise

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "skimage", "bm3d")

BLOCKER = textwrap.dedent(f"""
    import os, sys

    class Blocker:
        '''Refuse {HEAVY} and write down every attempt, even one the code catches.'''
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {HEAVY!r}:
                with open(os.environ["BLOCKED_LOG"], "a") as log:
                    log.write(name + "\\n")
                raise ImportError(f"{{name}} is blocked by the test")
            return None

    sys.meta_path.insert(0, Blocker())
""")


@pytest.fixture
def light_cli(tmp_path):
    """Run `python -m denoiser ARGS` with the heavy packages blocked; returns (result, blocked names)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    log = tmp_path / "blocked.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), "BLOCKED_LOG": str(log),
           "PYTHONDONTWRITEBYTECODE": "1"}

    def run(*args):
        result = subprocess.run([sys.executable, "-m", "denoiser", *map(str, args)], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        return result, log.read_text().split() if log.exists() else []
    return run


def test_the_blocker_blocks(light_cli, tmp_path):
    """Without this, a passing test below could mean the blocker never ran."""
    (tmp_path / "junk.png").write_bytes(b"not an image")
    result, blocked = light_cli("denoise", tmp_path / "junk.png", "-o", tmp_path / "o.png",
                                "--scenario", "gray-gaussian")
    assert "Not a readable image" in result.stderr and blocked == []  # a bad file: nothing heavy tried
    save_image(np.full((8, 8, 1), 0.5, np.float32), tmp_path / "gray.png")
    result, blocked = light_cli("denoise", tmp_path / "gray.png", "-o", tmp_path / "o.png",
                                "--scenario", "gray-gaussian", "--sigma", 10)
    assert result.returncode != 0 and "torch" in blocked  # a good one goes on to torch, which is refused


def test_help_needs_no_heavy_package(light_cli):
    result, blocked = light_cli("--help")
    assert result.returncode == 0, result.stderr
    commands = re.search(r"\{([a-z,-]+)\}", result.stdout)[1].split(",")
    assert {"noise", "denoise", "train", "samples", "benchmark"} <= set(commands)
    assert blocked == []


def test_recipe_list_needs_no_heavy_package(light_cli):
    result, blocked = light_cli("recipe", "gray-gaussian", "--list")
    assert result.returncode == 0 and "| gray-unet-2 |" in result.stdout, result.stderr
    assert blocked == []


def test_noise_needs_no_heavy_package(light_cli, tmp_path, gray_image):
    save_image(gray_image, tmp_path / "in.png")
    result, blocked = light_cli("noise", tmp_path / "in.png", "-o", tmp_path / "out.png", "--variance", 100, "--seed", 3)
    assert result.returncode == 0, result.stderr
    assert blocked == []
    expected = GaussianNoise(100.0).apply(load_image(tmp_path / "in.png"), np.random.default_rng(3))
    np.testing.assert_allclose(load_image(tmp_path / "out.png"), expected, atol=0.5 / 255)


@pytest.mark.parametrize("args, message", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "required: command"),
    (["noise", "{photo}", "-o", "{tmp}/o.png", "--noise", "pink"], "invalid choice: 'pink'"),
    (["noise", "{photo}", "-o", "{tmp}/o.png", "--variance", "loud"], "argument --variance: must be a number from 0 to 65,025, not 'loud'"),
    (["noise", "{tmp}/missing.png", "-o", "{tmp}/o.png"], "No such file"),
    (["denoise", "{photo}", "-o", "{tmp}/o.png", "--scenario", "gray-gaussian", "--ensemble", "3"], "invalid choice: 3"),
    (["denoise", "{photo}", "-o", "{tmp}/o.png", "--scenario", "sepia"], "invalid choice: 'sepia'"),
    (["denoise", "{photo}", "-o", "{tmp}/o.png", "--scenario", "gray-gaussian", "--sigma", "-3"], "--sigma"),
    (["denoise", "{photo}", "-o", "{tmp}/o.png", "--scenario", "gray-gaussian", "--adapt-steps", "0"],
     "--adapt-steps"),
    (["denoise", "{photo}", "-o", "{tmp}/o.png", "--scenario", "gray-gaussian", "--sigma", "nan"],
     "argument --sigma: must be a number from 0 to 255, not 'nan'"),
    (["denoise", "{photo}", "-o", "{tmp}/o.png", "--scenario", "gray-gaussian", "--sigma", "1e9"], "not '1e9'"),
    (["train", "--data", "{tmp}", "--scenario", "gray-gaussian", "--out", "{tmp}/r", "--lr", "inf"],
     "argument --lr: must be a number above 0 and at most 1, not 'inf'"),
    (["train", "--data", "{tmp}", "--scenario", "gray-gaussian", "--out", "{tmp}/r", "--depth", "0"], "--depth"),
    (["train", "--data", "{tmp}", "--scenario", "gray-gaussian", "--out", "{tmp}/r", "--workers", "-1"], "--workers"),
    (["train", "--data", "{tmp}", "--scenario", "gray-gaussian", "--out", "{tmp}/r", "--specialist-below", "20"],
     "give it with --init"),
    (["train", "--data", "{tmp}", "--scenario", "gray-gaussian", "--out", "{tmp}/r", "--resume", "--init", "{photo}"],
     "--resume"),
    (["benchmark", "--scenario", "gray-salt-pepper", "--sigma", "25"], "give a density"),
    (["benchmark", "--scenario", "gray-gaussian", "--methods", "lstm,magic"], "Unknown method 'magic'"),
    (["benchmark", "--scenario", "gray-gaussian", "--json", "{tmp}/no/such/folder/x.json"], "No such folder"),
    (["samples", "-o", "{photo}/inside-a-file"], "Cannot make the folder"),
    (["fit", "{tmp}/missing.png", "--scenario", "gray-gaussian"], "No such file"),
    (["fit", "{photo}", "--scenario", "gray-gaussian", "--preset", "keras"], "invalid choice: 'keras'"),
    (["fit", "{photo}", "--scenario", "gray-gaussian", "--density", "0.1"], "--density is for salt-and-pepper"),
    (["fit", "{photo}", "--scenario", "gray-gaussian", "--preset", "quick", "--architecture", "row"],
     "trains from scratch"),
    (["fit", "{photo}", "--scenario", "gray-gaussian", "--epochs", "0", "-o", "{tmp}/d.png"], "--epochs"),
    (["fit", "{photo}", "--scenario", "gray-gaussian", "--json", "{tmp}/no/folder/m.json"], "No such folder"),
    (["recipe", "sepia", "--smoke", "--out", "{tmp}/r"], "invalid choice: 'sepia'"),
    # output paths, model files and folders: checked before torch loads, not after it (1.3 to 2.5 s later)
    (["denoise", "{photo}", "-o", "{tmp}/no/such/dir/out.png", "--scenario", "gray-gaussian"],
     "No such folder: {tmp}/no/such/dir"),
    (["denoise", "{photo}", "-o", "{tmp}/out.xyz", "--scenario", "gray-gaussian"], "Unknown output format '.xyz'"),
    (["denoise", "{photo}", "-o", "{tmp}/out", "--scenario", "gray-gaussian"], "Unknown output format ''"),
    (["denoise", "{photo}", "{tmp}/b.png", "-o", "{photo}/outs", "--scenario", "gray-gaussian"],
     "Cannot make the folder {photo}/outs: {photo} is a file."),
    (["denoise", "{photo}", "-o", "{tmp}/o.png", "--scenario", "gray-gaussian", "--model", "{tmp}/missing.pt"],
     "No such checkpoint: {tmp}/missing.pt"),
    (["noise", "{photo}", "-o", "{tmp}/noisy.psd"], "Unknown output format '.psd'"),
    (["fit", "{photo}", "--scenario", "gray-gaussian", "-o", "{tmp}/d.xyz"], "Unknown output format '.xyz'"),
    (["train", "--data", "{tmp}/missing", "--scenario", "gray-gaussian", "--out", "{tmp}/r"],
     "No such folder: {tmp}/missing"),
    (["train", "--data", "{tmp}", "--scenario", "gray-gaussian", "--out", "{photo}/r"], "{photo} is a file"),
    (["train", "--data", "{tmp}", "--scenario", "gray-gaussian", "--out", "{tmp}/r", "--init", "{tmp}/no.pt"],
     "No such checkpoint: {tmp}/no.pt"),
    (["benchmark", "--scenario", "gray-gaussian", "--images", "{tmp}/missing"], "No such folder: {tmp}/missing"),
    (["benchmark", "--scenario", "gray-gaussian", "--model", "{tmp}/no.pt"], "No such checkpoint"),
    (["recipe", "gray-gaussian", "--corpus", "{tmp}/missing", "--out", "{tmp}/r"], "No such corpus folder"),
    (["recipe", "gray-gaussian", "--out", "{tmp}/r"], "Give --corpus DIR"),
    (["recipe", "gray-gaussian", "--corpus", "{tmp}", "--out", "{photo}"], "needs a folder"),
])
def test_argument_errors_are_one_line_before_heavy_imports(light_cli, tmp_path, gray_image, args, message):
    photo = tmp_path / "photo.png"
    save_image(gray_image, photo)
    before = set(tmp_path.rglob("*"))
    result, blocked = light_cli(*[a.format(photo=photo, tmp=tmp_path) for a in args])
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1, result.stderr
    assert message.format(photo=photo, tmp=tmp_path) in result.stderr
    assert blocked == []  # torch, scikit-image and bm3d were never imported
    assert set(tmp_path.rglob("*")) == before  # nothing written


def test_import_denoiser_is_lazy_and_keeps_its_public_names():
    code = ("import sys, denoiser; print(sorted(m for m in sys.modules if m.split('.')[0] in %r)); "
            "denoiser.DenoiserError, denoiser.GaussianNoise, denoiser.SCENARIOS; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in %r))" % (HEAVY, HEAVY))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.split("\n")[:2] == ["[]", "[]"], result.stderr
    for name in denoiser.__all__:  # every public name resolves, to the object of its module
        assert getattr(denoiser, name) is not None
    from denoiser.models.networks import ModelConfig, build_model
    assert denoiser.ModelConfig is ModelConfig and denoiser.build_model is build_model
    with pytest.raises(AttributeError):
        denoiser.no_such_name
