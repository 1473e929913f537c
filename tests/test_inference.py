from dataclasses import replace

import numpy as np
import pytest
import torch

from denoiser.evaluation.metrics import psnr
from denoiser.inference import tiled
from denoiser.inference.precision import Inference, bundled_inference
from denoiser.inference.tiled import ENSEMBLE_SIZES, _layout, _tiles, denoise, denoise_ensemble
from denoiser.models.bundled import load_pretrained
from denoiser.models.networks import ModelConfig, build_model, from_opponent, to_opponent
from denoiser.noise import GaussianNoise
from denoiser.samples import sample_photo
from denoiser.scenarios import SCENARIOS


class Scale(torch.nn.Module):
    """A per-pixel stand-in network: tiling must then give exactly the untiled result."""
    config = ModelConfig(noise_map=False)

    def forward(self, noisy, sigma=None):
        return noisy * 0.5


def test_tiles_cover_the_image_with_overlap():
    covered = np.zeros((300, 520), int)
    for top, left, h, w in _tiles(300, 520, 128, 16):
        covered[top:top + h, left:left + w] += 1
    assert covered.min() >= 1 and covered.max() >= 2


@pytest.mark.parametrize("size", [1, 300, 512, 513, 600, 1000, 4000])
def test_layout_uses_the_fewest_equal_tiles_with_the_overlap(size):
    starts, length = _layout(size, 512, 32)
    assert starts[0] == 0 and starts[-1] + length == size and length <= 512
    assert all(0 < b - a <= length - 32 for a, b in zip(starts, starts[1:]))
    fewer = len(starts) - 1  # that many tiles of 512 overlapping by 32 would not reach the end
    assert fewer == 0 or fewer * 512 - (fewer - 1) * 32 < size
    assert len(list(_tiles(size, 512, 512, 32))) == len(starts)


def test_a_512_photo_is_one_tile():
    assert list(_tiles(512, 512, 512, 32)) == [(0, 0, 512, 512)]


def test_tiled_equals_untiled_for_a_pixelwise_model(gray_image):
    image = np.tile(gray_image, (3, 4, 1))  # 144 x 160
    np.testing.assert_allclose(denoise(Scale(), image, tile=48, overlap=8), image * 0.5, atol=1e-6)


@pytest.mark.parametrize("tile, overlap", [(32, 32), (16, 40), (48, -1)])
def test_a_tile_that_cannot_hold_its_overlap_is_a_clear_error(gray_image, tile, overlap):
    with pytest.raises(ValueError, match=f"Tiles of {tile} pixels need an overlap from 0 to {tile - 1}"):
        denoise(Scale(), np.tile(gray_image, (3, 3, 1)), tile=tile, overlap=overlap)


def test_denoise_keeps_shape_and_range_for_any_size(color_image):
    model = build_model(ModelConfig(channels=3, hidden=8, features=8))
    for image in (color_image, color_image[:1, :1], np.tile(color_image, (2, 2, 1))):
        out = denoise(model, image, sigma=10.0, tile=40, overlap=8)
        assert out.shape == image.shape and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0


def test_tiling_stays_close_to_a_whole_image_pass(gray_image):
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    whole = denoise(model, gray_image, 10.0, tile=512)
    tiled = denoise(model, gray_image, 10.0, tile=32, overlap=12)
    assert np.abs(whole - tiled).mean() < 0.02


class TopLeftBias(torch.nn.Module):
    """Brightens the top-left pixel of whatever it sees: turned back, each orientation marks a
    different corner, so the ensemble shows whether every view was turned back correctly."""
    config = ModelConfig(noise_map=False)

    def forward(self, noisy, sigma=None):
        out = noisy.clone()
        out[..., 0, 0] += 0.8
        return out


@pytest.mark.parametrize("size", ENSEMBLE_SIZES)
def test_self_ensemble_turns_every_view_back(size):
    image = np.random.default_rng(0).uniform(0.0, 0.2, (6, 10, 1)).astype(np.float32)  # not square
    out = denoise_ensemble(TopLeftBias(), image, size=size)
    marked = np.argwhere(np.abs(out - image)[..., 0] > 1e-6)
    corners = {(0, 0), (0, 9), (5, 0), (5, 9)}
    assert {tuple(p) for p in marked} <= corners
    assert len(marked) == min(size, 4)  # 8 views mark each corner twice
    np.testing.assert_allclose(out[0, 0], image[0, 0] + 0.8 * (2 if size == 8 else 1) / size, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 5, 3)])
def test_self_ensemble_takes_an_image_of_one_pixel_a_side(shape):
    """numpy counts a flipped one-pixel-wide view as contiguous, negative strides and all; torch refuses those."""
    image = np.random.default_rng(0).uniform(0.0, 1.0, shape).astype(np.float32)
    out = denoise_ensemble(Scale(), image, size=8)
    np.testing.assert_allclose(out, image * 0.5, atol=1e-6)


def test_self_ensemble_of_one_is_plain_denoising(gray_image):
    model = build_model(ModelConfig(hidden=8, features=8))
    np.testing.assert_array_equal(denoise_ensemble(model, gray_image, 10.0, size=1), denoise(model, gray_image, 10.0))
    with pytest.raises(ValueError, match="Ensemble size 3"):
        denoise_ensemble(model, gray_image, 10.0, size=3)


def test_self_ensemble_of_eight_beats_one_view_with_the_bundled_model():
    model = load_pretrained("gray-gaussian").model
    clean = np.ascontiguousarray(sample_photo("camera", 1)[:128, :128])
    noisy = GaussianNoise(25.0 ** 2).apply(clean, np.random.default_rng(0))
    one, eight = (psnr(clean, denoise_ensemble(model, noisy, 25.0, size=k)) for k in (1, 8))
    assert eight > one + 0.45, (one, eight)  # 0.51 dB better (measured 2026-12-02)


@pytest.mark.parametrize("key", ["gray-gaussian", "color-gaussian"])
def test_denoise_under_bfloat16_autocast_returns_float32_close_to_the_float32_result(key):
    """`benchmarks/inference_precision.py` runs the bundled models under autocast: the network's
    bfloat16 output comes back as a float32 image, within bfloat16's rounding of the float32 one."""
    model = load_pretrained(key).model
    clean = sample_photo("coffee", model.config.channels)[:96, :96]
    noisy = GaussianNoise(625).apply(clean, np.random.default_rng(0))
    exact = denoise(model, noisy, 25.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rounded = denoise(model, noisy, 25.0)
    assert rounded.dtype == np.float32 and rounded.shape == exact.shape
    assert 0 < np.abs(rounded - exact).max() < 0.05 and abs(psnr(clean, rounded) - psnr(clean, exact)) < 0.5


def test_the_image_is_read_and_turned_to_opponent_planes_in_float32_under_bfloat16_autocast():
    """bfloat16 keeps 8 bits: an image rounded to it loses up to half a level of 8-bit color, which
    cost the color unet 0.2 dB at sigma 10. The first convolution and the opponent transforms stay in
    float32; the layers after them compute in bfloat16."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="unet", channels=3, opponent_colors=True, noise_map=True,
                                    hidden=8, features=8, depth=1))
    seen = {}

    def record(index: int):
        def hook(module, inputs, output) -> None:
            seen[index] = output.dtype
        return hook

    for index in (0, 2):
        model.plane.stem[index].register_forward_hook(record(index))
    rgb = torch.rand(1, 3, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        planes = to_opponent(rgb)
        back = from_opponent(planes)
        model(rgb, torch.tensor([0.04]))
    assert planes.dtype == back.dtype == torch.float32
    assert torch.allclose(planes, to_opponent(rgb)) and torch.allclose(back, rgb, atol=1e-6)
    assert seen == {0: torch.float32, 2: torch.bfloat16}


def test_the_color_unet_in_bfloat16_scores_as_in_float32_at_low_noise():
    model = load_pretrained("color-gaussian").model
    clean = np.ascontiguousarray(sample_photo("coffee", 3)[100:228, 200:328])
    noisy = GaussianNoise(100.0, quantize=True).apply(clean, np.random.default_rng(0))
    exact, rounded = (psnr(clean, Inference(bfloat16=low).run(model, noisy, 10.0)) for low in (False, True))
    assert abs(rounded - exact) < 0.03, (exact, rounded)


def test_an_inference_runs_its_views_in_its_precision(gray_image):
    model = load_pretrained("gray-gaussian").model
    assert np.array_equal(Inference().run(model, gray_image, 20.0), denoise(model, gray_image, 20.0))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = denoise_ensemble(model, gray_image, 20.0, size=2)
    assert np.array_equal(Inference(2, bfloat16=True).run(model, gray_image, 20.0), expected)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = denoise(model, gray_image, 20.0, flips=2)
    assert np.array_equal(Inference(bfloat16=True, flips=2).run(model, gray_image, 20.0), expected)
    assert Inference(2, bfloat16=True).label == "bfloat16, self-ensemble of 2" and Inference().label == "float32"
    assert Inference(8, flips=4).label == "float32, self-ensemble of 8, 4 tile flips"
    with pytest.raises(ValueError, match="Ensemble size 3"):
        Inference(3)
    with pytest.raises(ValueError, match="Tile flips 8"):
        Inference(flips=8)


@pytest.mark.parametrize("native", [True, False])
def test_a_bundled_model_runs_its_scenarios_bfloat16_flips_only_where_the_cpu_has_bfloat16(monkeypatch, native):
    monkeypatch.setattr("denoiser.inference.precision.cpu_bfloat16", lambda: native)
    chosen = replace(SCENARIOS["gray-gaussian"], bfloat16_flips=2)
    assert bundled_inference(chosen) == (Inference(bfloat16=True, flips=2) if native else Inference())
    assert bundled_inference(chosen, 8) == Inference(8, bfloat16=native)  # asked-for views replace the flips
    unmeasured = replace(chosen, bfloat16_flips=None)
    assert bundled_inference(unmeasured) == Inference() and bundled_inference(unmeasured, 8) == Inference(8)


def test_tile_flips_are_a_batched_self_ensemble_of_each_tile(gray_image):
    model = load_pretrained("gray-gaussian").model
    noisy = np.tile(gray_image, (2, 2, 1))  # 96 x 80
    one_tile = denoise(model, noisy, 20.0, flips=2)
    assert np.allclose(one_tile, denoise_ensemble(model, noisy, 20.0, size=2), atol=1e-6)  # the same two views
    assert not np.allclose(one_tile, denoise(model, noisy, 20.0), atol=1e-4)
    flipped_back = [denoise(model, np.ascontiguousarray(view), 20.0) for view in
                    (noisy, noisy[::-1], noisy[:, ::-1], noisy[::-1, ::-1])]
    mean = sum(view[::-1] if i == 1 else view[:, ::-1] if i == 2 else view[::-1, ::-1] if i == 3 else view
               for i, view in enumerate(flipped_back)) / 4
    assert np.allclose(denoise(model, noisy, 20.0, flips=4), mean, atol=1e-5)
    blended = denoise(model, noisy, 20.0, tile=48, overlap=8, flips=4)  # each tile's own flips, blended
    assert blended.shape == noisy.shape and np.abs(blended - mean).mean() < 0.01
    with pytest.raises(ValueError, match="Flips 3"):
        denoise(model, noisy, 20.0, flips=3)


def test_tiles_batched_with_their_flips_are_smaller(monkeypatch):
    model = load_pretrained("gray-gaussian").model
    seen = []
    original = tiled._flipped_mean
    monkeypatch.setattr(tiled, "_flipped_mean", lambda net, patch, *rest: seen.append(patch.shape[-2:]) or
                        original(net, patch, *rest))
    image = np.zeros((600, 230, 1), np.float32)
    denoise(model, image, 10.0)
    assert set(seen) == {(222, 230)}  # three rows of tiles at most TILE (256) a side, the narrow side whole
    seen.clear()
    denoise(model, image, 10.0, flips=2)
    assert set(seen) == {(174, 131)}  # four by two, at most FLIPPED_TILE (192) a side
    assert max(max(shape) for shape in seen) <= tiled.FLIPPED_TILE < tiled.TILE
