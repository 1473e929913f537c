import numpy as np
import torch

from denoiser.inference import _tiles, denoise
from denoiser.models import ModelConfig, build_model


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


def test_tiled_equals_untiled_for_a_pixelwise_model(gray_image):
    image = np.tile(gray_image, (3, 4, 1))  # 144 x 160
    np.testing.assert_allclose(denoise(Scale(), image, tile=48, overlap=8), image * 0.5, atol=1e-6)


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
