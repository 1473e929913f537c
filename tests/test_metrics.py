import numpy as np
import pytest

from denoiser.evaluation.metrics import mse_255, psnr, score, score_splits, ssim
from denoiser.training.splits import PixelSplit, make_masks


def test_psnr_of_known_error(gray_image):
    shifted = gray_image + 10.0 / 255.0
    assert mse_255(gray_image, shifted) == pytest.approx(100.0, rel=1e-4)
    assert psnr(gray_image, shifted) == pytest.approx(10 * np.log10(255 ** 2 / 100), rel=1e-4)
    assert psnr(gray_image, gray_image) == float("inf")


def test_notebook_test_loss_converts_to_its_psnr():
    # The original notebook's test MSE of about 8,950 on the 0..255 scale is about 8.6 dB.
    clean = np.zeros((10, 10, 1), np.float32)
    estimate = np.full_like(clean, np.sqrt(8950.0) / 255.0)
    assert psnr(clean, estimate) == pytest.approx(8.6, abs=0.05)


def test_masked_metrics_see_only_their_pixels(gray_image, rng):
    estimate = gray_image.copy()
    mask = np.zeros(gray_image.shape[:2], bool)
    mask[:10] = True
    estimate[~mask] = 0.0  # errors outside the mask only
    assert psnr(gray_image, estimate, mask) == float("inf")
    assert ssim(gray_image, estimate, mask) > ssim(gray_image, estimate)


def test_ssim_is_one_for_identical_and_lower_for_noisy(color_image, rng):
    noisy = np.clip(color_image + rng.normal(0, 0.1, color_image.shape), 0, 1).astype(np.float32)
    assert ssim(color_image, color_image) == pytest.approx(1.0)
    assert ssim(color_image, noisy) < 0.9
    assert np.isnan(ssim(color_image[:2, :2], noisy[:2, :2]))


def test_score_splits_table(gray_image, rng):
    noisy = np.clip(gray_image + rng.normal(0, 0.1, gray_image.shape), 0, 1).astype(np.float32)
    masks = make_masks(gray_image.shape[:2], PixelSplit(), rng)
    table = score_splits(gray_image, noisy, gray_image * 0.5 + noisy * 0.5, masks)
    assert set(table) == {"all", "train", "validation", "test"}
    assert table["test"].pixels == masks.test.sum()
    assert table["all"].gain == pytest.approx(6.02, abs=0.05)  # halving the error is +6 dB
    empty = score(gray_image, noisy, noisy, np.zeros(gray_image.shape[:2], bool))
    assert empty.pixels == 0 and np.isnan(empty.noisy_psnr)
