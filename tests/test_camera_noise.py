import numpy as np
import pytest

from denoiser.errors import DenoiserError
from denoiser.evaluation.metrics import psnr
from denoiser.noise import CameraNoise, camera


def smooth_image(height=48, width=64) -> np.ndarray:
    """Gentle colour gradients, away from black, white and saturated colours."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    return np.stack([0.3 + 0.3 * x, 0.35 + 0.2 * y, 0.5 - 0.2 * x + 0.1 * y], axis=-1).astype(np.float32)


def test_tone_curve_and_gamma_invert_each_other():
    values = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_allclose(camera.smoothstep(camera.inverse_smoothstep(values)), values, atol=1e-12)
    np.testing.assert_allclose(camera.inverse_smoothstep(camera.smoothstep(values)), values, atol=1e-12)
    assert camera.smoothstep(np.array([0.0, 0.5, 1.0])).tolist() == [0.0, 0.5, 1.0]
    positive = np.linspace(0.01, 1.0, 1000)
    np.testing.assert_allclose(camera.gamma_compress(camera.gamma_expand(positive)), positive, rtol=1e-12)
    np.testing.assert_allclose(camera.gamma_expand(positive), positive**2.2, rtol=1e-12)
    assert np.isfinite(camera.gamma_expand(np.array([0.0, -0.5]))).all()


def test_mosaic_is_rggb_and_demosaic_restores_a_flat_colour_exactly():
    color = np.array([0.2, 0.5, 0.7])
    image = np.ones((7, 10, 3)) * color  # odd sizes: the borders must work too
    raw = camera.mosaic(image)
    assert raw.shape == (7, 10)
    assert raw[0, 0] == 0.2 and raw[0, 1] == 0.5 and raw[1, 0] == 0.5 and raw[1, 1] == 0.7
    np.testing.assert_allclose(camera.demosaic(raw), image, atol=1e-12)


def test_demosaic_keeps_the_samples_it_has():
    image = np.random.default_rng(0).random((12, 16, 3))
    rebuilt = camera.demosaic(camera.mosaic(image))
    masks = camera.bayer_masks(image.shape[:2])
    np.testing.assert_allclose(rebuilt[masks], image[masks], atol=1e-12)


def test_sensor_noise_variance_is_read_plus_shot_times_intensity():
    shot, read = 0.005, 0.0005
    levels = np.array([0.1, 0.2, 0.35, 0.5, 0.65])
    rng = np.random.default_rng(3)
    means, variances = [], []
    for level in levels:
        noisy = camera.add_sensor_noise(np.full((1000, 1000), level), shot, read, rng)
        means.append(noisy.mean())
        variances.append(noisy.var())
    np.testing.assert_allclose(means, levels, atol=2e-4)
    slope, intercept = np.polyfit(levels, variances, 1)
    assert slope == pytest.approx(shot, rel=0.03)
    assert intercept == pytest.approx(read, rel=0.03)


def test_unprocess_then_process_without_noise_returns_a_smooth_image():
    image = smooth_image()
    for seed in range(5):
        params = camera.draw_parameters(np.random.default_rng(seed))
        developed = camera.process(camera.unprocess(image, params), params)
        assert developed.dtype == np.float32 and developed.shape == image.shape
        assert np.abs(developed - image)[2:-2, 2:-2].max() < 1e-3  # bilinear demosaic is near exact on gradients
        assert np.abs(developed - image).max() < 0.02  # the border, where demosaic has one-sided neighbours


def test_drawn_parameters_stay_in_their_published_ranges():
    for seed in range(50):
        params = camera.draw_parameters(np.random.default_rng(seed))
        np.testing.assert_allclose(params.rgb_to_cam.sum(axis=1), 1.0)
        np.testing.assert_allclose(params.cam_to_rgb @ params.rgb_to_cam, np.eye(3), atol=1e-10)
        assert 1.9 <= params.red_gain <= 2.4 and 1.5 <= params.blue_gain <= 1.9
        assert 0.0001 <= params.shot <= 0.012 and params.read > 0
    assert camera.shot_for_gain(0.0) == pytest.approx(0.0001)
    assert camera.shot_for_gain(1.0) == pytest.approx(0.012)
    assert camera.shot_for_gain(0.5) == pytest.approx(np.sqrt(0.0001 * 0.012))


def test_measured_noise_after_the_camera_path_matches_the_first_order_prediction():
    params = camera.typical_parameters(0.5)
    raw = camera.unprocess(np.full((256, 256, 3), 0.5, np.float32), params)
    reference = camera.process(raw, params)
    noisy = camera.process(camera.add_sensor_noise(raw, params.shot, params.read, np.random.default_rng(5)), params)
    measured = (noisy - reference)[2:-2, 2:-2].std(axis=(0, 1))
    np.testing.assert_allclose(measured, camera.developed_noise_std(0.5, params), rtol=0.05)
    assert CameraNoise(0.5).typical_sigma == pytest.approx(255.0 * np.sqrt(np.mean(measured**2)), rel=0.05)


def test_pair_reference_is_the_noiseless_camera_path(color_image):
    reference, noisy = CameraNoise(0.5).pair(color_image, np.random.default_rng(11))
    params = camera.draw_parameters(np.random.default_rng(11), 0.5)
    np.testing.assert_array_equal(reference, camera.process(camera.unprocess(color_image, params), params))
    assert reference.shape == noisy.shape == color_image.shape
    assert noisy.dtype == np.float32 and 0.0 <= noisy.min() and noisy.max() <= 1.0
    assert np.abs(noisy - reference).mean() > 1e-3
    np.testing.assert_array_equal(CameraNoise(0.5).apply(color_image, np.random.default_rng(11)), noisy)


def test_higher_gain_moves_further_from_the_reference(color_image):
    errors = []
    for gain in (0.0, 0.5, 1.0):
        reference, noisy = CameraNoise(gain).pair(color_image, np.random.default_rng(2))
        errors.append(np.mean((noisy - reference) ** 2))
    assert errors[0] < errors[1] < errors[2]


def test_jpeg_lowers_psnr_at_the_same_seed(color_image):
    reference, plain = CameraNoise(0.2).pair(color_image, np.random.default_rng(4))
    _, compressed = CameraNoise(0.2, jpeg_quality=10).pair(color_image, np.random.default_rng(4))
    assert psnr(reference, compressed) < psnr(reference, plain)
    np.testing.assert_allclose(compressed * 255.0, np.round(compressed * 255.0), atol=1e-4)  # 8-bit


def test_same_seed_same_output_different_seed_differs(color_image):
    noise = CameraNoise(0.6, jpeg_quality=90)
    a = noise.apply(color_image, np.random.default_rng(8))
    b = noise.apply(color_image, np.random.default_rng(8))
    c = noise.apply(color_image, np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_name_and_sigma_follow_the_settings():
    assert CameraNoise(0.5, jpeg_quality=90).name == "Camera, gain 0.50, JPEG 90"
    assert CameraNoise(0.25).name == "Camera, gain 0.25"
    assert 0 < CameraNoise(0.0).typical_sigma < CameraNoise(0.5).typical_sigma < CameraNoise(1.0).typical_sigma < 255
    assert CameraNoise(0.5).sigma == 0.0  # no single level to give: networks run blind, baselines estimate


@pytest.mark.parametrize("kwargs", [{"gain": -0.1}, {"gain": 1.5}, {"gain": float("nan")},
                                    {"jpeg_quality": 0}, {"jpeg_quality": 101}, {"jpeg_quality": 50.5}])
def test_bad_settings_raise_one_clear_error(kwargs):
    with pytest.raises(DenoiserError):
        CameraNoise(**kwargs)


def test_gray_image_is_refused(gray_image, rng):
    with pytest.raises(DenoiserError, match="3 channels"):
        CameraNoise().apply(gray_image, rng)
