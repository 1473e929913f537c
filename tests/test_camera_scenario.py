"""The color-camera scenario end to end: the simulated camera's variants, training draws, and the
command line's noise, denoise, fit, benchmark and recipe (with --minutes chunks) on camera noise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from denoiser.errors import DenoiserError
from denoiser.images import load_image, save_image
from denoiser.models.checkpoint import load_checkpoint, read_payload, save_checkpoint
from denoiser.models.networks import build_model
from denoiser.noise import CameraNoise, GaussianNoise, reference_and_noisy
from denoiser.noise.camera import demosaic, demosaic_hamilton_adams, demosaic_malvar, mosaic
from denoiser.samples import sample_photo
from denoiser.scenarios import SCENARIOS, CameraDraw

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "denoiser", *map(str, args)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def color_photo(tmp_path, color_image) -> Path:
    path = tmp_path / "photo.png"
    save_image(color_image, path)
    return path


def test_malvar_demosaicing_is_exact_on_flat_colour_and_sharper_than_bilinear_on_edges():
    flat = np.full((12, 12, 3), (0.2, 0.5, 0.7))
    np.testing.assert_allclose(demosaic_malvar(mosaic(flat)), flat, atol=1e-12)
    image = sample_photo("coffee")[100:164, 200:264].astype(np.float64)
    inner = (slice(4, -4), slice(4, -4))
    bilinear = np.mean((demosaic(mosaic(image)) - image)[inner] ** 2)
    malvar = np.mean((demosaic_malvar(mosaic(image)) - image)[inner] ** 2)
    assert malvar < 0.8 * bilinear  # the gradient correction restores detail (about 2 dB in the paper)


def test_hamilton_adams_is_exact_on_flat_colour_keeps_its_samples_and_follows_edges():
    flat = np.full((12, 13, 3), (0.2, 0.5, 0.7))
    np.testing.assert_allclose(demosaic_hamilton_adams(mosaic(flat)), flat, atol=1e-12)
    image = sample_photo("coffee")[100:164, 200:264].astype(np.float64)
    developed = demosaic_hamilton_adams(mosaic(image))
    np.testing.assert_allclose(mosaic(developed), mosaic(image), atol=1e-12)  # the sensor's own samples stay
    inner = (slice(4, -4), slice(4, -4))
    bilinear = np.mean((demosaic(mosaic(image)) - image)[inner] ** 2)
    assert np.mean((developed - image)[inner] ** 2) < 0.8 * bilinear
    stripes = np.zeros((16, 16, 3))
    stripes[:, 8:] = 1.0  # a vertical edge: green at a red or blue site must come from its column
    green = demosaic_hamilton_adams(mosaic(stripes))[..., 1]
    np.testing.assert_allclose(green[2:-2, 2:-2], stripes[2:-2, 2:-2, 1], atol=1e-12)
    assert not np.allclose(demosaic(mosaic(stripes))[2:-2, 2:-2, 1], stripes[2:-2, 2:-2, 1])


def test_a_training_draw_may_mix_demosaicing_methods_and_one_method_draws_nothing_more():
    mixed = CameraDraw(demosaics=("bilinear", "hamilton-adams"))
    methods = [mixed.draw(np.random.default_rng(seed)).demosaicing for seed in range(200)]
    assert 0.35 < methods.count("hamilton-adams") / len(methods) < 0.65
    rng = np.random.default_rng(7)
    CameraDraw().draw(rng)
    assert rng.uniform() == _after_gain_and_jpeg_draws(np.random.default_rng(7))


def _after_gain_and_jpeg_draws(rng: np.random.Generator) -> float:
    rng.uniform()  # gain
    if rng.uniform() >= CameraDraw().no_jpeg:
        rng.integers(60, 101)
    return rng.uniform()


def test_a_camera_variant_keeps_its_noise_but_develops_another_reference(color_image):
    plain = CameraNoise(0.6, None).pair(color_image, np.random.default_rng(3))
    other = CameraNoise(0.6, None, demosaicing="malvar", tone_curve="gamma").pair(color_image, np.random.default_rng(3))
    assert not np.allclose(plain[0], other[0], atol=0.01)
    for reference, noisy in (plain, other):
        assert 0.005 < np.std(noisy - reference) < 0.15
    with pytest.raises(DenoiserError, match="Demosaicing must be one of"):
        CameraNoise(0.5, None, demosaicing="ahd")


def test_reference_and_noisy_keeps_the_image_for_additive_noise(color_image):
    reference, noisy = reference_and_noisy(GaussianNoise(100.0), color_image, np.random.default_rng(0))
    assert reference is color_image and not np.array_equal(noisy, color_image)


def test_training_draws_cover_the_fixed_ranges_half_without_jpeg():
    rng = np.random.default_rng(0)
    draws = [SCENARIOS["color-camera"].random_training_noise(rng) for _ in range(2000)]
    gains = np.array([d.gain for d in draws])
    qualities = [d.jpeg_quality for d in draws if d.jpeg_quality is not None]
    assert 0.45 < len(qualities) / len(draws) < 0.55
    assert min(qualities) == 60 and max(qualities) == 100
    assert gains.min() < 0.01 and gains.max() > 0.99 and abs(gains.mean() - 0.5) < 0.03
    assert CameraDraw().draw(np.random.default_rng(5)) == CameraDraw().draw(np.random.default_rng(5))


def test_noise_writes_seeded_camera_noise(tmp_path, color_photo, color_image):
    for name in ("a.png", "b.png"):
        result = cli("noise", color_photo, "-o", tmp_path / name, "--noise", "camera", "--gain", 0.8,
                     "--jpeg-quality", 70, "--seed", 4)
        assert result.returncode == 0, result.stderr
        assert "Camera, gain 0.80, JPEG 70" in result.stdout
    a, b = load_image(tmp_path / "a.png"), load_image(tmp_path / "b.png")
    np.testing.assert_array_equal(a, b)
    assert 0.01 < np.std(a - color_image) < 0.2


def test_fit_trains_on_camera_noise_against_the_reference(tmp_path, color_photo, color_image):
    result = cli("fit", color_photo, "--scenario", "color-camera", "--gain", 0.9, "--jpeg-quality", 0,
                 "--preset", "scratch", "--epochs", 1, "--time-limit", 0, "--threads", 1, "--json", tmp_path / "m.json",
                 "--noisy-out", tmp_path / "noisy.png")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["noise"] == "Camera, gain 0.90" and record["scenario"] == "color-camera"
    reference, noisy = CameraNoise(0.9, None).pair(color_image, np.random.default_rng(0))
    np.testing.assert_allclose(load_image(tmp_path / "noisy.png"), noisy, atol=1 / 255 + 1e-6)
    assert record["splits"]["all"]["noisy_psnr"] == pytest.approx(10 * np.log10(1 / np.mean((noisy - reference) ** 2)),
                                                                   abs=1e-3)


def test_benchmark_scores_camera_noise_against_the_reference_with_blind_baselines(tmp_path, color_image):
    folder = tmp_path / "photos"
    folder.mkdir()
    save_image(color_image, folder / "crop.png")
    result = cli("benchmark", "--scenario", "color-camera", "--gain", 0.7, "--jpeg-quality", 85, "--images", folder,
                 "--methods", "noisy,wavelet", "--json", tmp_path / "b.json")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "b.json").read_text())
    assert record["noise"] == "Camera, gain 0.70, JPEG 85"
    from denoiser.evaluation.comparison import image_rng

    reference, noisy = CameraNoise(0.7, 85).pair(color_image, image_rng(0, "crop"))
    rows = {row["method"]: row for row in record["results"]}
    assert rows["noisy"]["psnr"] == pytest.approx(10 * np.log10(1 / np.mean((noisy - reference) ** 2)), abs=1e-3)
    assert rows["wavelet"]["psnr"] > rows["noisy"]["psnr"]  # at its own blind estimate


def test_denoise_is_blind_on_camera_photos(tmp_path, color_photo):
    torch.manual_seed(0)
    model_path = tmp_path / "tiny.pt"
    save_checkpoint(model_path, build_model(SCENARIOS["color-camera"].model), {"scenario": "color-camera"})
    result = cli("denoise", color_photo, "-o", tmp_path / "out.png", "--scenario", "color-camera", "--model", model_path)
    assert result.returncode == 0, result.stderr
    assert "blind: camera noise" in result.stdout and load_image(tmp_path / "out.png").shape == (40, 48, 3)


@pytest.mark.parametrize("args, message", [
    (["denoise", "{photo}", "-o", "{tmp}/o.png", "--scenario", "color-camera", "--sigma", 10], "is blind"),
    (["denoise", "{photo}", "-o", "{tmp}/o.png", "--scenario", "color-camera", "--adapt"], "is blind"),
    (["fit", "{photo}", "--scenario", "color-gaussian", "--gain", 0.5, "--json", "{tmp}/m.json"], "for camera noise"),
    (["benchmark", "--scenario", "color-camera", "--sigma", 10, "--json", "{tmp}/b.json"], "adds camera noise"),
    (["noise", "{photo}", "-o", "{tmp}/o.png", "--gain", 0.5], "for --noise camera"),
    (["noise", "{photo}", "-o", "{tmp}/o.png", "--noise", "camera", "--gain", 1.5], "argument --gain"),
    (["recipe", "color-camera", "--smoke", "--out", "{tmp}/r", "--minutes", 0], "--minutes"),
])
def test_camera_mistakes_are_one_line_and_write_nothing(tmp_path, color_photo, args, message):
    before = set(tmp_path.rglob("*"))
    result = cli(*[str(a).format(photo=color_photo, tmp=tmp_path) for a in args])
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert {p for p in set(tmp_path.rglob("*")) - before if p.is_file()} == set()


def test_recipe_smoke_trains_the_camera_model_blind_from_random_weights(tmp_path):
    result = cli("recipe", "color-camera", "--smoke", "--out", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    model = load_checkpoint(tmp_path / "runs" / "camera-1.pt")
    assert model.config.channels == 3 and not model.config.noise_map and not model.config.opponent_colors
    assert model.metadata["recipe"]["complete"] and model.metadata["cpu_seconds"] > 0


def test_a_chunk_stops_early_unfinished_and_resume_finishes_it(tmp_path):
    """--minutes ends a stage at its deadline with a resumable, unfinished file; --resume carries on to
    the last step and adds up the CPU seconds of both chunks."""
    out = tmp_path / "runs"
    first = cli("recipe", "color-camera", "--smoke", "--out", out, "--minutes", 1e-6)
    assert first.returncode == 0, first.stderr
    assert "camera-1: stopped after 1e-06 minutes; run again with --resume" in first.stdout
    payload = read_payload(out / "camera-1.pt")
    assert payload["training"]["step"] == 1 and not payload["metadata"]["recipe"]["complete"]
    chunk_cpu = payload["training"]["cpu_seconds"]
    second = cli("recipe", "color-camera", "--smoke", "--out", out, "--resume")
    assert second.returncode == 0, second.stderr
    assert "camera-1: 2 steps from step 1" in second.stdout
    payload = read_payload(out / "camera-1.pt")
    assert payload["metadata"]["recipe"]["complete"] and payload["training"]["step"] == 2
    assert payload["training"]["cpu_seconds"] > chunk_cpu
