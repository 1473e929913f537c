import numpy as np
import pytest
import torch
from torch import nn

from denoiser.evaluation.influence import farthest_reach, influence_map, influence_radius, reach
from denoiser.models.bundled import load_pretrained
from denoiser.models.networks import ModelConfig, build_model


@pytest.fixture
def noisy64(rng) -> np.ndarray:
    return rng.uniform(0, 1, (64, 64, 1)).astype(np.float32)


def test_row_lstm_influence_is_exactly_zero_outside_its_three_rows(noisy64):
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="row", channels=1, hidden=8, depth=1))
    row, column = 30, 12
    influence = influence_map(model, noisy64, (row, column), sigma=10.0)
    outside = np.delete(influence, [row - 1, row, row + 1], axis=0)
    assert outside.shape == (61, 64)
    assert np.all(outside == 0.0)
    for seen in (row - 1, row, row + 1):  # the LSTM reads each of the three rows, end to end
        assert influence[seen, 0] > 0 and influence[seen, -1] > 0


def test_row_lstm_at_the_top_row_sees_two_rows(noisy64):
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="row", channels=1, hidden=8, depth=1))
    influence = influence_map(model, noisy64, (0, 5), sigma=10.0)
    assert np.all(influence[2:] == 0.0) and influence[1].sum() > 0 and influence[0].sum() > 0


def test_bundled_2d_lstm_influence_reaches_the_far_corners(noisy64):
    model = load_pretrained("gray-gaussian").model
    for pixel in ((0, 0), (32, 32), (63, 63)):
        influence = influence_map(model, noisy64, pixel, sigma=10.0)
        corners = influence[[0, 0, -1, -1], [0, -1, 0, -1]]
        assert np.all(corners > 0), (pixel, corners)


def test_untrained_2d_lstm_of_one_block_reaches_the_far_corner(noisy64):
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="renet", channels=1, hidden=8, features=8, depth=1))
    assert influence_map(model, noisy64, (0, 0), sigma=10.0)[-1, -1] > 0


class ConvolutionStack(nn.Module):
    """Three 3x3 convolutions: each output pixel sees the 7x7 window around it, nothing further."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 4, 3, padding=1), nn.Tanh(),
                                    nn.Conv2d(4, 1, 3, padding=1))

    def forward(self, noisy, sigma=None):
        return self.layers(noisy)


def test_convolution_stack_influence_stays_inside_its_receptive_field(noisy64):
    torch.manual_seed(0)
    row, column = 20, 40
    influence = influence_map(ConvolutionStack(), noisy64, (row, column))
    window = np.zeros_like(influence, dtype=bool)
    window[row - 3:row + 4, column - 3:column + 4] = True
    assert np.all(influence[~window] == 0.0)
    assert influence[row - 3, column - 3] > 0 and influence[row + 3, column + 3] > 0  # and reaches its edge
    assert farthest_reach(influence, (row, column)) == pytest.approx(np.hypot(3, 3))
    assert influence_radius(influence, (row, column)) <= np.hypot(3, 3)


def test_influence_map_leaves_the_model_as_it_was(noisy64):
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="row", channels=1, hidden=8, depth=1))
    model.train()
    influence_map(model, noisy64, (3, 3), sigma=10.0)
    assert model.training and all(p.grad is None for p in model.parameters())


def test_influence_map_of_a_color_model_is_one_plane(rng):
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="row", channels=3, hidden=8, depth=1))
    influence = influence_map(model, rng.uniform(0, 1, (10, 12, 3)).astype(np.float32), (4, 4), sigma=10.0)
    assert influence.shape == (10, 12) and influence[4, 4] > 0


def test_pixel_outside_the_image_is_refused(noisy64):
    with pytest.raises(ValueError, match="outside"):
        influence_map(ConvolutionStack(), noisy64, (64, 0))


def test_radius_holds_the_share_of_the_influence():
    influence = np.zeros((21, 21))
    influence[10, 10] = 1.0
    assert influence_radius(influence, (10, 10)) == 0.0
    influence[10, 15] = 1.0  # the pixel itself is left out: all the rest lies 5 pixels away
    assert influence_radius(influence, (10, 10)) == 5.0
    assert influence_radius(influence, (10, 10), share=0.5) == 5.0
    influence[10, 12], influence[10, 15] = 8.0, 1.0  # 8 of 9 within 2 pixels, not yet 90%
    assert influence_radius(influence, (10, 10)) == 5.0 and influence_radius(influence, (10, 10), share=0.8) == 2.0
    influence[:] = 0.0
    influence[10, 10], influence[10, 12], influence[0, 0] = 10.0, 9.0, 1.0  # 90% within 2 pixels, 10% at the corner
    found = reach(influence, (10, 10))
    assert found.radius == 2.0 and found.farthest == pytest.approx(np.hypot(10, 10)) and found.share == 0.9
    assert found.at_the_pixel == 0.5
    assert influence_radius(np.zeros((4, 4)), (1, 1)) == 0.0
