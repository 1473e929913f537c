"""Blind denoising: the noise-level estimator and self-supervised adaptation (no clean image)."""

import copy

import numpy as np
import pytest
import torch

from denoiser.evaluation.metrics import psnr
from denoiser.inference.adaptation import (
    SIGMA_UNCERTAINTY,
    AdaptConfig,
    SureTerms,
    adapt_to_photo,
    adaptation_score,
    blend,
    hide_pixels,
    sure_mse,
    sure_terms,
    trust_map,
)
from denoiser.inference.tiled import denoise, denoise_ensemble
from denoiser.models.bundled import load_pretrained
from denoiser.models.networks import ModelConfig, build_model
from denoiser.noise import GaussianNoise
from denoiser.noise.level import estimate_sigma
from denoiser.samples import BENCHMARK_PHOTOS, sample_photo


@pytest.mark.parametrize("name", BENCHMARK_PHOTOS)
@pytest.mark.parametrize("sigma", [10.0, 15.0, 25.0, 50.0])
def test_sigma_estimate_is_within_10_percent_on_photos(name, sigma):
    # The issue asks for 15%; the worst case here is camera at sigma 15, 5.8% high.
    clean = sample_photo(name, 1)
    noisy = GaussianNoise(sigma ** 2).apply(clean, np.random.default_rng(0))
    assert estimate_sigma(noisy) == pytest.approx(sigma, rel=0.10)


def test_sigma_estimate_does_not_read_texture_as_noise():
    # grass at sigma 10: blades as fine as the noise; the wavelet estimate over every pixel reads 15.6.
    from skimage.restoration import estimate_sigma as plain_wavelet_sigma

    noisy = GaussianNoise(10.0 ** 2).apply(sample_photo("grass", 1), np.random.default_rng(0))
    assert 255 * plain_wavelet_sigma(noisy[..., 0]) > 1.4 * 10
    assert estimate_sigma(noisy) == pytest.approx(10.0, rel=0.25)


def test_sigma_estimate_leaves_out_clipped_parts():
    # camera's bright sky and dark coat: at sigma 50, 16% of its noisy pixels are clipped to 0 or 1,
    # which takes noise away; the plain wavelet estimate over every pixel runs 13% low.
    from skimage.restoration import estimate_sigma as plain_wavelet_sigma

    noisy = GaussianNoise(50.0 ** 2).apply(sample_photo("camera", 1), np.random.default_rng(0))
    assert 255 * plain_wavelet_sigma(noisy[..., 0]) < 0.9 * 50
    assert estimate_sigma(noisy) == pytest.approx(50.0, rel=0.03)


def test_gradient_energy_sums_each_windows_central_differences():
    from denoiser.noise.level import PATCH, _difference_operators, _gradient_energy

    plane = np.random.default_rng(0).random((15, 12))
    energy = _gradient_energy(plane)
    assert energy.shape == (15 - PATCH + 1, 12 - PATCH + 1)
    for i, j in [(0, 0), (3, 5), (8, 5)]:
        patch = plane[i:i + PATCH, j:j + PATCH].ravel()
        expected = sum(np.sum((operator @ patch) ** 2) for operator in _difference_operators())
        assert energy[i, j] == pytest.approx(expected)


def test_texture_threshold_passes_pure_noise_and_stops_a_slope_twice_as_steep_as_the_noise():
    from denoiser.noise.level import _gradient_energy, _texture_threshold

    sigma = 0.01
    noise = np.random.default_rng(0).normal(0.0, sigma, (600, 600))
    threshold = sigma ** 2 * _texture_threshold()
    assert np.mean(_gradient_energy(noise) < threshold) > 1 - 1e-4
    slope = noise + 2 * sigma * np.arange(600)[None, :]  # rises two sigmas per pixel
    assert np.mean(_gradient_energy(slope) < threshold) < 0.05


def test_sigma_estimate_takes_gray_and_color_arrays():
    noisy = GaussianNoise(20.0 ** 2).apply(np.full((64, 64, 3), 0.5, np.float32), np.random.default_rng(0))
    assert estimate_sigma(noisy) == pytest.approx(20.0, rel=0.1)
    assert estimate_sigma(noisy[..., 0]) == pytest.approx(estimate_sigma(noisy[..., :1]))


def test_sigma_estimate_of_an_all_white_photo_is_finite():
    noisy = GaussianNoise(30.0 ** 2).apply(np.ones((64, 64, 1), np.float32), np.random.default_rng(0))
    assert 0.0 < estimate_sigma(noisy) < 60.0  # half the pixels clipped: kept, not an error


def test_sigma_estimate_of_a_clean_flat_image_is_zero():
    assert estimate_sigma(np.full((64, 64, 3), 0.5, np.float32)) == pytest.approx(0.0, abs=1e-6)
    assert estimate_sigma(np.zeros((2, 2, 1), np.float32)) == 0.0


def test_hidden_pixels_take_a_neighbours_value():
    batch = torch.arange(400, dtype=torch.float32).reshape(1, 1, 20, 20)
    masked, mask = hide_pixels(batch, 0.2, torch.Generator().manual_seed(0))
    changed = masked != batch
    assert changed.sum() > 0 and (changed <= mask).all()  # only hidden pixels change
    rows, cols = torch.nonzero(mask[0, 0], as_tuple=True)
    for r, c in zip(rows.tolist(), cols.tolist()):
        value = int(masked[0, 0, r, c])
        assert (value // 20, value % 20) != (r, c) and abs(value // 20 - r) <= 2 and abs(value % 20 - c) <= 2


def test_adaptation_improves_psnr_without_seeing_the_clean_image(monkeypatch):
    clean = np.ascontiguousarray(sample_photo("chelsea", 1)[200:296, 200:296])  # fur, away from black and white
    noisy = GaussianNoise(625.0).apply(clean, np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=16, features=16))
    before = psnr(clean, denoise(model, noisy, 25.0))

    import denoiser.inference.adaptation as adapt
    seen_arrays = []
    real_random_patch = adapt.random_patch
    monkeypatch.setattr(adapt, "random_patch", lambda image, *a: seen_arrays.append(image) or real_random_patch(image, *a))
    result = adapt_to_photo(model, noisy, 25.0, AdaptConfig(steps=80, learning_rate=1e-3, threads=2))
    assert all(array is noisy for array in seen_arrays)  # training only ever cut the noisy photo
    assert result.kept and result.loss_after < result.loss_before
    assert psnr(clean, result.denoised) > max(before, psnr(clean, noisy)) + 2.0


def test_the_check_keeps_the_bundled_color_unet_as_it_is_on_wood_grain():
    # coffee's top-left crop at sigma 25 (docs/BENCHMARKS.md, blind.py): the table's wood grain, where
    # the LSTMs before the unets gained from adaptation. The color unet scores better there than what
    # 60 steps make of it, so the check keeps its own weights and its own result.
    from denoiser.evaluation.comparison import image_rng

    clean = np.ascontiguousarray(sample_photo("coffee", 3)[:256, :256])
    noisy = GaussianNoise(625.0).apply(clean, image_rng(0, "coffee"))
    sigma = estimate_sigma(noisy)
    model = load_pretrained("color-gaussian").model
    weights = {name: value.clone() for name, value in model.state_dict().items()}
    plain = denoise(model, noisy, sigma)
    result = adapt_to_photo(model, noisy, sigma, AdaptConfig(steps=60, threads=2))
    assert not result.kept and result.loss_after == result.loss_before
    assert len(result.history) >= 60  # it did train, and then chose the starting weights
    assert np.allclose(result.denoised, plain, atol=1e-6)
    assert all(torch.equal(value, weights[name]) for name, value in model.state_dict().items())


def test_blind_spot_adaptation_improves_a_model_without_a_noise_level():
    clean = np.ascontiguousarray(sample_photo("camera", 1)[100:196, 150:246])
    noisy = GaussianNoise(625.0).apply(clean, np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=16, features=16, noise_map=False))
    before = psnr(clean, denoise(model, noisy))
    result = adapt_to_photo(model, noisy, 0.0, AdaptConfig(steps=80, learning_rate=1e-3, threads=2))
    assert result.kept and result.loss_after < result.loss_before  # by the blind-spot loss: no sigma to use
    assert psnr(clean, result.denoised) > max(before, psnr(clean, noisy)) + 2.0


def test_trust_map_is_zero_near_black_and_white_and_one_in_the_midtones():
    clean = np.full((64, 96, 1), 0.5, np.float32)
    clean[:, :32] = 1.0  # white
    clean[:, 64:] = 0.0  # black
    noisy = GaussianNoise(625.0).apply(clean, np.random.default_rng(0))
    trust = trust_map(noisy, 25.0)
    assert trust.shape == (64, 96, 1)
    assert np.all(trust[:, :30] == 0) and np.all(trust[:, 66:] == 0)
    assert np.all(trust[:, 40:56] == 1)  # 0.5 is five sigmas from either end


def test_gaussian_adaptation_keeps_the_starting_result_near_black_and_white():
    clean = np.full((64, 96, 1), 0.5, np.float32)
    clean[:, :32] = 1.0
    noisy = GaussianNoise(400.0).apply(clean, np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    start = denoise(model, noisy, 20.0)
    result = adapt_to_photo(model, noisy, 20.0, AdaptConfig(steps=20, learning_rate=1e-2, threads=2))
    assert result.kept  # an untrained model gains a lot on the grey half
    white = trust_map(noisy, 20.0)[..., 0] == 0
    assert white[:, :30].all()
    np.testing.assert_allclose(result.denoised[white], start[white], atol=1e-6)
    assert np.abs(result.denoised[:, 40:] - start[:, 40:]).mean() > 1e-3  # and the adapted one elsewhere


@pytest.mark.parametrize("learning_rate, kept", [(1e-3, True), (10.0, False)])
def test_adaptation_runs_each_network_once_per_image(monkeypatch, learning_rate, kept):
    import denoiser.inference.adaptation as adapt

    passes = []
    real_denoise = adapt.denoise
    monkeypatch.setattr(adapt, "denoise", lambda net, image, sigma: passes.append(net) or real_denoise(net, image, sigma))
    noisy = GaussianNoise(400.0).apply(sample_photo("camera", 1)[100:164, 150:214], np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    result = adapt_to_photo(model, noisy, 20.0, AdaptConfig(steps=3, learning_rate=learning_rate, threads=2))
    assert result.kept is kept
    assert len(passes) == 4  # the starting and the adapted network, each on the photo and on SURE's probe
    assert len({id(net) for net in passes}) == 2


def test_adaptation_that_does_not_help_keeps_the_starting_weights():
    noisy = GaussianNoise(400.0).apply(np.full((32, 32, 1), 0.5, np.float32), np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    result = adapt_to_photo(model, noisy, 20.0, AdaptConfig(steps=2, learning_rate=10.0))  # a step far too big
    assert not result.kept
    for key, value in model.state_dict().items():
        assert torch.equal(value, start[key])
    assert result.loss_after == pytest.approx(adaptation_score(model, noisy, 20.0, seed=1))


def test_sure_estimates_the_error_to_the_clean_image_without_it():
    clean = np.ascontiguousarray(sample_photo("camera", 1)[100:228, 150:278])
    for model in (build_model(ModelConfig(hidden=8, features=8)), load_pretrained("gray-gaussian").model):
        true_mse, estimates = [], []
        for draw in range(100, 104):  # noise drawn apart from the probes (seeds 1 to 4)
            noisy = GaussianNoise(625.0, clip=False).apply(clean, np.random.default_rng(draw))
            true_mse.append(np.mean((255.0 * (denoise(model, noisy, 25.0) - clean)) ** 2))
            # One random probe's divergence estimate is off by up to about 10% on a 128x128 crop; four
            # probes (Monte-Carlo SURE's usual remedy) average that out.
            estimates.append(np.mean([sure_mse(model, noisy, 25.0, seed=seed) for seed in range(1, 5)]))
        # SURE is unbiased over the noise, not exact for one draw: for the bundled unet one draw's
        # estimate was 21% low, the mean of these four is 4% low.
        assert np.mean(estimates) == pytest.approx(np.mean(true_mse), rel=0.1)


def test_sure_terms_give_sure_at_any_noise_level():
    noisy = GaussianNoise(400.0).apply(sample_photo("camera", 1)[100:164, 150:214], np.random.default_rng(0))
    model = build_model(ModelConfig(hidden=8, features=8))
    terms = sure_terms(lambda image: denoise(model, image, 20.0), noisy, 20.0, seed=3)
    assert terms.mse(20.0) == pytest.approx(sure_mse(model, noisy, 20.0, seed=3))
    # linear in sigma^2: the residual, less sigma^2, plus 2 sigma^2 times the divergence
    assert terms.mse(0.0) == pytest.approx(255.0 ** 2 * terms.residual)
    assert terms.mse(30.0) - terms.mse(0.0) == pytest.approx((30.0 / 255) ** 2 * 255.0 ** 2 * (2 * terms.divergence - 1))


def test_adapted_weights_must_win_over_the_whole_plausible_noise_range(monkeypatch):
    # Blind-spot weights have the smaller divergence, which an overestimated sigma rewards: here
    # they win by SURE at the sigma given but lose if the truth is 15% lower, so they are not kept.
    import denoiser.inference.adaptation as adapt

    starting, adapted = SureTerms(residual=0.0040, divergence=0.10), SureTerms(residual=0.0053, divergence=0.02)
    assert adapted.mse(25.0) < starting.mse(25.0)
    assert adapted.mse(25.0 * (1 - SIGMA_UNCERTAINTY)) > starting.mse(25.0 * (1 - SIGMA_UNCERTAINTY))
    verdicts = iter([starting, adapted])
    monkeypatch.setattr(adapt, "sure_terms", lambda *args, **kwargs: next(verdicts))
    noisy = GaussianNoise(625.0).apply(np.full((32, 32, 1), 0.5, np.float32), np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    result = adapt_to_photo(model, noisy, 25.0, AdaptConfig(steps=2, learning_rate=1e-2))
    assert not result.kept and result.loss_after == result.loss_before == pytest.approx(starting.mse(25.0))
    for key, value in model.state_dict().items():
        assert torch.equal(value, start[key])


def test_adaptation_denoises_once_with_the_asked_self_ensemble():
    clean = np.ascontiguousarray(sample_photo("camera", 1)[100:164, 150:214])
    noisy = GaussianNoise(400.0).apply(clean, np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    starting = copy.deepcopy(model)
    result = adapt_to_photo(model, noisy, 20.0, AdaptConfig(steps=3, views=8, threads=2))
    assert result.kept
    expected = blend(trust_map(noisy, 20.0), denoise_ensemble(model, noisy, 20.0, 8),
                     denoise_ensemble(starting, noisy, 20.0, 8))
    np.testing.assert_allclose(result.denoised, expected, atol=1e-6)
    single = blend(trust_map(noisy, 20.0), denoise(model, noisy, 20.0), denoise(starting, noisy, 20.0))
    assert np.abs(result.denoised - single).max() > 1e-4  # not the single view
    with pytest.raises(ValueError, match="Ensemble size 3"):
        adapt_to_photo(model, noisy, 20.0, AdaptConfig(steps=1, views=3))
