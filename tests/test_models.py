import pytest
import torch

from denoiser.models import ModelConfig, build_model, impulse_mask


@pytest.mark.parametrize("architecture", ["renet", "row"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(17, 23), (1, 1), (32, 5)])
def test_output_shape_matches_input_for_odd_sizes(architecture, channels, size):
    model = build_model(ModelConfig(architecture=architecture, channels=channels, hidden=8, features=8))
    noisy = torch.rand(2, channels, *size)
    assert model(noisy, torch.tensor([0.1, 0.2])).shape == noisy.shape


def test_config_sets_size_without_code_edits():
    small = build_model(ModelConfig(hidden=8, features=8, depth=1))
    large = build_model(ModelConfig(hidden=32, features=16, depth=2))
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(large) > 5 * count(small)
    with pytest.raises(ValueError):
        build_model(ModelConfig(architecture="transformer"))


def test_noise_level_input_changes_the_output():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    noisy = torch.rand(1, 1, 16, 16)
    assert not torch.allclose(model(noisy, torch.tensor([0.0])), model(noisy, torch.tensor([0.2])))


def test_impulse_model_keeps_every_pixel_that_is_not_an_impulse():
    model = build_model(ModelConfig(hidden=8, features=8, noise_map=False, impulse_mask=True))
    noisy = torch.rand(1, 1, 12, 12) * 0.8 + 0.1
    noisy[0, 0, 3, 4], noisy[0, 0, 5, 6] = 0.0, 1.0
    out = model(noisy)
    mask = impulse_mask(noisy).bool()
    assert mask.sum() == 2
    assert torch.equal(out[~mask], noisy[~mask])
    assert not torch.equal(out[mask], noisy[mask])


def test_each_output_pixel_sees_the_whole_image():
    """The row-then-column sweep makes the receptive field global, unlike a small CNN."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8))
    noisy = torch.rand(1, 1, 20, 20, requires_grad=True)
    model(noisy, torch.tensor([0.1]))[0, 0, 0, 0].backward()
    assert noisy.grad[0, 0, 19, 19].abs() > 0
