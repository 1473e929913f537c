"""The command line as a user runs it: a real subprocess, its exit status, stderr and files."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from denoiser.images import load_image, save_image
from denoiser.samples import sample_photo

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "denoiser", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def photo(tmp_path, gray_image):
    path = tmp_path / "photo.png"
    save_image(gray_image, path)
    return path


def test_noise_round_trip_is_seeded(tmp_path, photo, gray_image):
    for name in ("a.png", "b.png"):
        result = cli("noise", photo, "-o", tmp_path / name, "--noise", "gaussian", "--variance", 100, "--seed", 0)
        assert result.returncode == 0, result.stderr
    a, b = load_image(tmp_path / "a.png"), load_image(tmp_path / "b.png")
    np.testing.assert_array_equal(a, b)
    assert 6 < np.std((a - gray_image) * 255) < 14  # sigma 10, after 8-bit rounding and clipping


@pytest.mark.parametrize("args", [["--noise", "salt-pepper", "--density", 0.1], ["--noise", "poisson"],
                                  ["--noise", "speckle"]])
def test_other_noises(tmp_path, photo, gray_image, args):
    result = cli("noise", photo, "-o", tmp_path / "n.png", *args)
    assert result.returncode == 0, result.stderr
    assert not np.array_equal(load_image(tmp_path / "n.png"), gray_image)


def test_denoise_one_file_and_a_folder(tmp_path, photo, tiny_checkpoint):
    out = tmp_path / "clean.png"
    result = cli("denoise", photo, "-o", out, "--scenario", "gray-gaussian", "--sigma", 10, "--model", tiny_checkpoint)
    assert result.returncode == 0, result.stderr
    assert load_image(out).shape == load_image(photo).shape

    second = tmp_path / "second.jpg"
    save_image(np.zeros((9, 7, 3), np.float32), second)
    folder = tmp_path / "outs"
    result = cli("denoise", photo, second, "-o", folder, "--scenario", "gray-gaussian", "--model", tiny_checkpoint)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["photo.png", "second.jpg"]
    assert load_image(folder / "second.jpg").shape == (9, 7, 1)  # input size, the scenario's mode
    assert "sigma" in result.stdout  # estimated when not given


def test_denoise_with_a_self_ensemble_writes_the_ensemble_result(tmp_path, photo, tiny_checkpoint):
    from denoiser.inference.tiled import denoise_ensemble
    from denoiser.models.checkpoint import load_checkpoint

    out = tmp_path / "x4.png"
    result = cli("denoise", photo, "-o", out, "--scenario", "gray-gaussian", "--sigma", 10,
                 "--model", tiny_checkpoint, "--ensemble", 4)
    assert result.returncode == 0, result.stderr
    expected = denoise_ensemble(load_checkpoint(tiny_checkpoint).model, load_image(photo), 10.0, size=4)
    assert np.abs(load_image(out) - expected).max() <= 1 / 255 + 1e-6  # 8-bit PNG rounding
    assert cli("denoise", photo, "-o", tmp_path / "x3.png", "--scenario", "gray-gaussian", "--ensemble", 3).returncode == 2


def test_denoise_runs_the_bundled_weights_as_the_lab_runs_them_on_this_cpu(tmp_path, photo):
    from denoiser.inference.precision import bundled_inference
    from denoiser.models.bundled import load_pretrained
    from denoiser.scenarios import get_scenario

    inference = bundled_inference(get_scenario("gray-gaussian"))
    out = tmp_path / "out.png"
    result = cli("denoise", photo, "-o", out, "--scenario", "gray-gaussian", "--sigma", 10)
    assert result.returncode == 0, result.stderr
    assert f"(sigma 10.0; {inference.label})" in result.stdout
    expected = inference.run(load_pretrained("gray-gaussian").model, load_image(photo), 10.0)
    assert np.abs(load_image(out) - expected).max() <= 1 / 255 + 1e-6


def test_denoise_adapts_to_each_photo_before_denoising(tmp_path, photo, tiny_checkpoint):
    out = tmp_path / "adapted.png"
    result = cli("denoise", photo, "-o", out, "--scenario", "gray-gaussian", "--sigma", 10, "--model", tiny_checkpoint,
                 "--adapt", "--adapt-steps", 2, "--ensemble", 2)
    assert result.returncode == 0, result.stderr
    assert load_image(out).shape == load_image(photo).shape
    assert "estimated MSE" in result.stdout and ("adapted" in result.stdout or "kept the starting" in result.stdout)


def test_train_writes_a_checkpoint_that_denoise_can_use(tmp_path, gray_image):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(2):
        save_image(np.rot90(gray_image, i), data / f"{i}.png")
    result = cli("train", "--data", data, "--scenario", "gray-gaussian", "--steps", 3, "--out", tmp_path / "run",
                 "--batch-size", 2, "--patch-size", 16, "--hidden", 8, "--features", 8)
    assert result.returncode == 0, result.stderr
    checkpoint = tmp_path / "run" / "gray-gaussian.pt"
    assert checkpoint.is_file() and "train gray-gaussian" in result.stderr  # the progress bar
    result = cli("denoise", data / "0.png", "-o", tmp_path / "d.png", "--scenario", "gray-gaussian", "--model", checkpoint)
    assert result.returncode == 0, result.stderr

    result = cli("train", "--data", data, "--scenario", "gray-gaussian", "--steps", 2, "--out", tmp_path / "stage2",
                 "--batch-size", 2, "--patch-size", 16, "--init", checkpoint, "--balance-noise-levels")
    assert result.returncode == 0, result.stderr
    from denoiser.models.checkpoint import load_checkpoint
    second = load_checkpoint(tmp_path / "stage2" / "gray-gaussian.pt")
    assert second.config == load_checkpoint(checkpoint).config  # the first stage's small model, carried on
    assert second.metadata["config"]["balance_noise_levels"] is True
    assert load_checkpoint(checkpoint).metadata["config"]["balance_noise_levels"] is False
    assert second.metadata["init"] == {"file": "gray-gaussian.pt",
                                       "sha256": hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:16]}

    # --depth with --init grows the trained model by blocks that start as the identity.
    result = cli("train", "--data", data, "--scenario", "gray-gaussian", "--steps", 1, "--out", tmp_path / "deeper",
                 "--batch-size", 1, "--patch-size", 16, "--lr", 1e-9, "--init", checkpoint, "--depth", 2)
    assert result.returncode == 0, result.stderr
    deeper = load_checkpoint(tmp_path / "deeper" / "gray-gaussian.pt")
    assert deeper.config.depth == 2 and deeper.config.hidden == 8
    probe = torch.rand(1, 1, 16, 16)
    torch.testing.assert_close(deeper.model(probe, torch.tensor([0.1])),
                               load_checkpoint(checkpoint).model(probe, torch.tensor([0.1])), atol=1e-4, rtol=0)

    # --specialist-below with --init adds a low-noise specialist and trains only the specialist.
    result = cli("train", "--data", data, "--scenario", "gray-gaussian", "--steps", 2, "--out", tmp_path / "low",
                 "--batch-size", 2, "--patch-size", 16, "--lr", 1e-2, "--init", checkpoint, "--specialist-below", 20)
    assert result.returncode == 0, result.stderr
    specialized = load_checkpoint(tmp_path / "low" / "gray-gaussian.pt")
    assert specialized.config.specialist_below == 20.0
    first = load_checkpoint(checkpoint).model.state_dict()
    for key, value in first.items():
        torch.testing.assert_close(specialized.model.general.state_dict()[key], value, atol=0, rtol=0)
    assert any(not torch.equal(specialized.model.specialist.state_dict()[key], value) for key, value in first.items())
    result = cli("train", "--data", data, "--scenario", "gray-gaussian", "--steps", 3, "--out", tmp_path / "low",
                 "--batch-size", 2, "--patch-size", 16, "--resume", "--specialist-below", 10)
    assert result.returncode != 0 and "--specialist-below 10 (it has 20)" in result.stderr

    # --specialist-from starts the specialist from another run's; the general network is --init's.
    result = cli("train", "--data", data, "--scenario", "gray-gaussian", "--steps", 1, "--out", tmp_path / "paired",
                 "--batch-size", 1, "--patch-size", 16, "--lr", 1e-9, "--init", checkpoint, "--specialist-below", 20,
                 "--specialist-from", tmp_path / "low" / "gray-gaussian.pt")
    assert result.returncode == 0, result.stderr
    paired = load_checkpoint(tmp_path / "paired" / "gray-gaussian.pt")
    for key, value in specialized.model.specialist.state_dict().items():
        torch.testing.assert_close(paired.model.specialist.state_dict()[key], value, atol=1e-5, rtol=0)
        torch.testing.assert_close(paired.model.general.state_dict()[key], first[key], atol=0, rtol=0)
    assert paired.metadata["specialist_from"]["file"] == "gray-gaussian.pt"
    result = cli("train", "--data", data, "--scenario", "gray-gaussian", "--steps", 1, "--out", tmp_path / "mismatch",
                 "--init", checkpoint, "--specialist-below", 20,
                 "--specialist-from", ROOT / "denoiser" / "weights" / "gray-gaussian.pt")
    assert result.returncode != 0 and "same design" in result.stderr  # a hidden-32 specialist for a hidden-8 model

    # A gray model starts the color one: its network, shared by the three opponent planes.
    color_data = tmp_path / "color"
    color_data.mkdir()
    save_image(np.ascontiguousarray(sample_photo("coffee", 3)[:64, :64]), color_data / "c.png")
    result = cli("train", "--data", color_data, "--scenario", "color-gaussian", "--steps", 1, "--out", tmp_path / "color-run",
                 "--batch-size", 1, "--patch-size", 16, "--lr", 1e-9, "--init", checkpoint)
    assert result.returncode == 0, result.stderr
    color = load_checkpoint(tmp_path / "color-run" / "color-gaussian.pt")
    assert color.config.channels == 3 and color.config.opponent_colors and color.config.hidden == 8
    for key, value in load_checkpoint(checkpoint).model.state_dict().items():
        torch.testing.assert_close(color.model.plane.state_dict()[key], value, atol=1e-5, rtol=0)
    # ... and the gray model's specialist can start the color one's.
    result = cli("train", "--data", color_data, "--scenario", "color-gaussian", "--steps", 1, "--out", tmp_path / "color-low",
                 "--batch-size", 1, "--patch-size", 16, "--lr", 1e-9, "--init", tmp_path / "color-run" / "color-gaussian.pt",
                 "--specialist-below", 12, "--specialist-from", tmp_path / "low" / "gray-gaussian.pt")
    assert result.returncode == 0, result.stderr
    color_low = load_checkpoint(tmp_path / "color-low" / "color-gaussian.pt")
    assert color_low.config.specialist_below == 12.0 and color_low.config.channels == 3
    for key, value in specialized.model.specialist.state_dict().items():
        torch.testing.assert_close(color_low.model.plane.specialist.state_dict()[key], value, atol=1e-5, rtol=0)


def test_fit_runs_the_notebook_experiment_and_writes_its_scores(tmp_path, photo, gray_image):
    from denoiser.noise import GaussianNoise
    from denoiser.training.experiment import noisy_input

    files = {"json": tmp_path / "m.json", "denoised": tmp_path / "d.png", "noisy": tmp_path / "n.png"}
    result = cli("fit", photo, "--scenario", "gray-gaussian", "--variance", 400, "--epochs", 2, "--seed", 5,
                 "--threads", 1, "--json", files["json"], "-o", files["denoised"], "--noisy-out", files["noisy"])
    assert result.returncode == 0, result.stderr
    record = json.loads(files["json"].read_text())
    assert set(record["splits"]) == {"train", "validation", "test", "all"}
    for scores in record["splits"].values():
        assert {"noisy_psnr", "denoised_psnr", "noisy_ssim", "denoised_ssim", "noisy_mse", "denoised_mse"} <= set(scores)
    assert record["splits"]["all"]["pixels"] == gray_image.shape[0] * gray_image.shape[1]
    assert (record["preset"], record["architecture"], record["scenario"], record["epochs"]) == \
        ("notebook", "row", "gray-gaussian", 2)
    assert record["steps"] > 0 and record["seconds"] > 0 and "variance 400" in record["noise"]
    test = record["splits"]["test"]
    assert f"{test['denoised_psnr']:.2f}" in result.stdout and f"{test['noisy_mse']:.1f}" in result.stdout
    expected_noisy = noisy_input(gray_image, GaussianNoise(400.0), 5)  # the run's noise, 8-bit in the file
    assert np.abs(load_image(files["noisy"]) - expected_noisy).max() <= 0.5 / 255 + 1e-6
    assert load_image(files["denoised"]).shape == gray_image.shape
    mse = np.mean((255 * (load_image(files["noisy"]) - gray_image)) ** 2)
    assert record["splits"]["all"]["noisy_mse"] == pytest.approx(mse, rel=0.02)


def test_fit_downscales_as_the_pages_do(tmp_path):
    big = tmp_path / "big.png"
    save_image(np.ascontiguousarray(sample_photo("camera", 1)[:300, :150]), big)
    result = cli("fit", big, "--scenario", "gray-salt-pepper", "--epochs", 1, "--threads", 1, "--json", tmp_path / "m.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "m.json").read_text())["size"] == [256, 128]
    assert "downscaled 150x300 to 128x256" in result.stderr


@pytest.mark.parametrize("make_args, message", [
    (lambda t, p: ["noise", t / "missing.png", "-o", t / "o.png"], "No such file"),
    (lambda t, p: ["noise", t / "junk.png", "-o", t / "o.png"], "Not a readable image: "),
    (lambda t, p: ["noise", p, "-o", t / "o.png", "--noise", "salt-pepper", "--density", 2], "density"),
    (lambda t, p: ["noise", p, "-o", t / "o.xyz"], "Unknown output format"),
    (lambda t, p: ["denoise", p, "-o", t / "o.png", "--scenario", "gray-gaussian", "--model", t / "junk.png"],
     "not a denoiser checkpoint"),
    (lambda t, p: ["denoise", p, t / "junk.png", "-o", t / "outs", "--scenario", "gray-gaussian"],
     "junk.png (cannot identify image file)."),  # names which of the inputs
    (lambda t, p: ["denoise", p, "-o", t / "o.png", "--scenario", "gray-gaussian", "--sigma", -3], "--sigma"),
    (lambda t, p: ["denoise", p, "-o", t / "o.png", "--scenario", "gray-gaussian", "--adapt", "--adapt-steps", 0],
     "--adapt-steps"),
    (lambda t, p: ["train", "--data", t / "nothing", "--scenario", "gray-gaussian", "--steps", 1, "--out", t / "r"],
     "No such folder"),
    (lambda t, p: ["fit", t / "missing.png", "--scenario", "gray-gaussian", "--json", t / "m.json", "-o", t / "d.png"],
     "No such file"),
    (lambda t, p: ["fit", p, "--scenario", "gray-gaussian", "--preset", "keras", "--json", t / "m.json"], "invalid choice"),
    (lambda t, p: ["fit", p, "--scenario", "gray-gaussian", "--density", 0.1, "--json", t / "m.json"],
     "--density is for salt-and-pepper noise"),
    (lambda t, p: ["fit", p, "--scenario", "gray-salt-pepper", "--variance", 100, "--json", t / "m.json"],
     "--variance is for Gaussian noise"),
    (lambda t, p: ["fit", p, "--scenario", "gray-gaussian", "--preset", "quick", "--architecture", "row",
                   "--json", t / "m.json"], "trains from scratch"),
    (lambda t, p: ["fit", p, "--scenario", "gray-gaussian", "--epochs", 0, "--json", t / "m.json"], "at least 1"),
    (lambda t, p: ["fit", p, "--scenario", "gray-gaussian", "--json", t / "no-folder" / "m.json"], "No such folder"),
    (lambda t, p: ["train", "--data", p.parent, "--scenario", "color-gaussian", "--steps", 1, "--out", t / "r",
                   "--init", ROOT / "denoiser" / "weights" / "gray-salt-pepper.pt"], "holds a model for other inputs"),
    (lambda t, p: ["train", "--data", p.parent, "--scenario", "gray-gaussian", "--steps", 1, "--out", t / "r",
                   "--init", ROOT / "denoiser" / "weights" / "gray-gaussian.pt", "--hidden", 64], "only --depth can grow"),
    (lambda t, p: ["train", "--data", p.parent, "--scenario", "gray-gaussian", "--steps", 1, "--out", t / "r",
                   "--init", ROOT / "denoiser" / "weights" / "gray-gaussian.pt", "--depth", 0], "argument --depth: must be a whole number from 1"),
    (lambda t, p: ["train", "--data", p.parent, "--scenario", "gray-gaussian", "--steps", 1, "--out", t / "r",
                   "--specialist-below", 20], "give it with --init"),
    (lambda t, p: ["train", "--data", p.parent, "--scenario", "gray-salt-pepper", "--steps", 1, "--out", t / "r",
                   "--init", ROOT / "denoiser" / "weights" / "gray-salt-pepper.pt", "--specialist-below", 20],
     "only a model given the noise level"),
    (lambda t, p: ["train", "--data", p.parent, "--scenario", "gray-gaussian", "--steps", 1, "--out", t / "r",
                   "--init", ROOT / "denoiser" / "weights" / "gray-gaussian.pt", "--specialist-below", "nan"],
     "must be a number above 0"),
    (lambda t, p: ["train", "--data", p.parent, "--scenario", "gray-gaussian", "--steps", 1, "--out", t / "r",
                   "--init", ROOT / "denoiser" / "weights" / "gray-gaussian.pt",
                   "--specialist-from", ROOT / "denoiser" / "weights" / "gray-gaussian.pt"], "give both"),
])
def test_errors_are_one_line_without_traceback_or_output(tmp_path, photo, make_args, message):
    (tmp_path / "junk.png").write_bytes(b"this is not an image")
    before = set(tmp_path.rglob("*"))
    result = cli(*make_args(tmp_path, photo))
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    created = {p for p in set(tmp_path.rglob("*")) - before if p.is_file()}
    assert not created
