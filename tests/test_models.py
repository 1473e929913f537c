import numpy as np
import pytest
import torch
import torch.nn.functional as F

from denoiser.models.networks import (
    OPPONENT_NOISE_SCALE,
    ModelConfig,
    add_specialist,
    build_model,
    count_parameters,
    deepen,
    fill_impulses,
    from_opponent,
    guide_planes,
    impulse_mask,
    opponent_colors,
    specialist_of,
    specialist_or_network,
    specialist_reach,
    to_opponent,
)
from denoiser.noise import SaltPepperNoise


@pytest.mark.parametrize("architecture", ["renet", "row", "unet"])
@pytest.mark.parametrize("downscale", [1, 2])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(17, 23), (1, 1), (32, 5)])
def test_output_shape_matches_input_for_odd_sizes(architecture, downscale, channels, size):
    model = build_model(ModelConfig(architecture=architecture, channels=channels, hidden=8, features=8,
                                    downscale=downscale))
    noisy = torch.rand(2, channels, *size)
    assert model(noisy, torch.tensor([0.1, 0.2])).shape == noisy.shape


def test_downscale_runs_the_network_on_the_pixel_unshuffled_image():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=8, features=8, downscale=2))
    assert model.stem[0].in_channels == 4 * 2 and model.head[-1].out_channels == 4  # image and noise map, 2x2 blocks
    noisy, sigma = torch.rand(1, 1, 8, 10), torch.tensor([0.1])
    level = sigma.view(1, 1, 1, 1).expand(1, 1, 8, 10)
    blocks = F.pixel_unshuffle(torch.cat([noisy, level], dim=1), 2)
    expected = noisy - F.pixel_shuffle(model.predict_noise(blocks), 2)
    assert torch.allclose(model(noisy, sigma), expected)
    assert model.predict_noise(blocks).shape[2:] == (4, 5)  # the sweeps see a quarter of the positions


def test_gru_cell_replaces_the_sweeps_lstm_and_keeps_its_weights_apart():
    gru = build_model(ModelConfig(hidden=8, features=8, cell="gru"))
    sweep = gru.blocks[0][0]
    assert isinstance(sweep.gru, torch.nn.GRU) and not hasattr(sweep, "lstm")
    lstm = build_model(ModelConfig(hidden=8, features=8))
    with pytest.raises(RuntimeError):
        lstm.load_state_dict(gru.state_dict())
    with pytest.raises(ValueError):
        build_model(ModelConfig(architecture="row", cell="gru"))
    with pytest.raises(ValueError):
        build_model(ModelConfig(cell="transformer"))
    with pytest.raises(ValueError):
        build_model(ModelConfig(downscale=3))


def test_unet_sweeps_at_half_and_quarter_resolution_and_sees_the_whole_image():
    model = build_model(ModelConfig(architecture="unet", hidden=8, features=8))
    lengths = []
    for sweeps in model.sweeps:
        sweeps[0][0].register_forward_hook(lambda module, inputs, output: lengths.append(inputs[0].shape[2:]))
    noisy = torch.rand(1, 1, 30, 41, requires_grad=True)
    model(noisy, torch.tensor([0.1]))[0, 0, 0, 0].backward()
    assert lengths == [(16, 22), (8, 11)]  # padded to 32 x 44, then halved twice
    assert (noisy.grad[0, 0].abs() > 0).float().mean() > 0.99


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


def test_fill_impulses_takes_the_mean_of_known_neighbours_and_keeps_the_rest():
    noisy = torch.tensor([[[[0.2, 0.4, 0.6],
                            [0.3, 1.0, 0.5],
                            [0.1, 0.9, 0.0]]]])
    mask = impulse_mask(noisy)
    filled = fill_impulses(noisy, mask)
    known = ~mask.bool()
    assert torch.equal(filled[known], noisy[known])
    assert filled[0, 0, 1, 1] == pytest.approx((0.2 + 0.4 + 0.6 + 0.3 + 0.5 + 0.1 + 0.9) / 7)
    assert filled[0, 0, 2, 2] == pytest.approx((0.5 + 0.9) / 2)  # its masked neighbour does not count


def test_fill_impulses_reaches_pixels_far_from_any_known_one():
    noisy = torch.zeros(1, 3, 9, 9)
    noisy[:, :, 0, 0] = torch.tensor([0.25, 0.5, 0.75])
    mask = torch.ones(1, 1, 9, 9)
    mask[..., 0, 0] = 0.0
    filled = fill_impulses(noisy, mask)
    assert torch.allclose(filled, noisy[:, :, :1, :1].expand_as(filled))
    assert torch.equal(fill_impulses(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 4)), torch.full((1, 1, 4, 4), 0.5))


def test_filling_model_starts_from_the_filled_image_and_needs_the_mask():
    with pytest.raises(ValueError, match="impulse_mask"):
        build_model(ModelConfig(fill_impulses=True, impulse_mask=False))
    torch.manual_seed(0)
    config = ModelConfig(hidden=8, features=8, noise_map=False, impulse_mask=True, fill_impulses=True)
    model = build_model(config)
    noisy = torch.rand(1, 1, 12, 12) * 0.8 + 0.1
    noisy[0, 0, 3, 4] = 0.0
    with torch.no_grad():
        model.head[-1].weight.zero_()
        model.head[-1].bias.zero_()  # the network adds nothing: the output is the fill alone
        out = model(noisy)
    assert torch.equal(out, fill_impulses(noisy, impulse_mask(noisy)))


def test_impulse_mask_spares_black_and_white_areas_but_not_dense_impulses():
    image = torch.full((1, 1, 20, 20), 0.5)
    image[..., 5:15, 5:15] = 1.0  # a white square, truly white
    image[..., 0, 0], image[..., 18, 2] = 0.0, 1.0  # two impulses
    mask = impulse_mask(image).bool()[0, 0]
    assert not mask[7:13, 7:13].any()  # the square's inside is kept as it is
    assert mask[5, 5:15].all()  # its rim is re-estimated, from the inside and the outside
    assert mask[0, 0] and mask[18, 2]
    grey = np.full((128, 128, 1), 0.5, np.float32)
    dense = torch.from_numpy(SaltPepperNoise(0.8).apply(grey, np.random.default_rng(0))).permute(2, 0, 1)[None]
    impulses = (dense != 0.5)[0, 0]  # the densest salt-and-pepper the bundled model trains on
    assert impulse_mask(dense).bool()[0, 0][impulses].float().mean() > 0.999


def test_opponent_planes_keep_the_noise_independent_and_invert_exactly():
    rgb = torch.rand(2, 3, 9, 11)
    torch.testing.assert_close(from_opponent(to_opponent(rgb)), rgb)
    assert to_opponent(rgb).min() >= 0 and to_opponent(rgb).max() <= 1
    noise = torch.randn(1, 3, 400, 400, generator=torch.Generator().manual_seed(0))
    planes = (to_opponent(noise) - to_opponent(torch.zeros_like(noise))).reshape(3, -1)
    covariance = torch.cov(planes)
    torch.testing.assert_close(covariance, torch.diag(OPPONENT_NOISE_SCALE ** 2), atol=0.01, rtol=0)


def test_opponent_model_runs_its_gray_network_on_each_plane_at_the_scaled_sigma():
    torch.manual_seed(0)
    gray = build_model(ModelConfig(hidden=8, features=8)).eval()
    color = opponent_colors(gray)
    assert color.config.channels == 3 and color.config.opponent_colors and color.plane is gray
    rgb, sigma = torch.rand(2, 3, 12, 10), torch.tensor([0.1, 0.2])
    planes = to_opponent(rgb)
    expected = torch.stack([gray(planes[:, k:k + 1], sigma * OPPONENT_NOISE_SCALE[k])[:, 0] for k in range(3)], dim=1)
    torch.testing.assert_close(color(rgb, sigma), from_opponent(expected), atol=1e-5, rtol=0)
    rebuilt = build_model(color.config)  # what a checkpoint loads: same weights, same result
    rebuilt.load_state_dict(color.state_dict())
    torch.testing.assert_close(rebuilt.eval()(rgb, sigma), color(rgb, sigma))
    with pytest.raises(ValueError):
        build_model(ModelConfig(channels=1, opponent_colors=True))
    with pytest.raises(ValueError):
        opponent_colors(build_model(ModelConfig(channels=3)))


@pytest.mark.parametrize("channels", [1, 3])
def test_deepen_adds_blocks_that_start_as_the_identity_and_can_learn(channels):
    torch.manual_seed(0)
    plane = build_model(ModelConfig(hidden=8, features=8))
    for parameter in plane.parameters():  # a trained-looking model, not a fresh one's small weights
        parameter.data.normal_(0, 0.3)
    model = opponent_colors(plane) if channels == 3 else plane
    deeper = deepen(model, 3)
    noisy, sigma = torch.rand(2, channels, 12, 15), torch.tensor([0.1, 0.3])
    assert (deeper.plane if channels == 3 else deeper).config.depth == 3
    assert count_parameters(deeper) == count_parameters(model) + 2 * count_parameters(plane.blocks[0])
    torch.testing.assert_close(deeper(noisy, sigma), model(noisy, sigma), atol=1e-6, rtol=0)

    optimizer = torch.optim.SGD(deeper.parameters(), lr=0.1)
    ((deeper(noisy, sigma) - noisy) ** 2).mean().backward()
    optimizer.step()
    new_block = (deeper.plane if channels == 3 else deeper).blocks[2]
    assert new_block[0].project.weight.abs().sum() > 0  # the zero projections get gradients


def test_deepen_refuses_to_shrink_or_another_architecture():
    with pytest.raises(ValueError, match="cannot become"):
        deepen(build_model(ModelConfig(hidden=8, features=8, depth=2)), 1)
    with pytest.raises(ValueError, match="renet"):
        deepen(build_model(ModelConfig(architecture="row", hidden=8)), 2)


def _trained_looking(model):
    for parameter in model.parameters():  # not a fresh model's small weights
        parameter.data.normal_(0, 0.3)
    return model


@pytest.mark.parametrize("channels", [1, 3])
def test_add_specialist_starts_as_the_model_and_routes_each_sample_by_its_noise_level(channels):
    torch.manual_seed(0)
    plane = _trained_looking(build_model(ModelConfig(hidden=8, features=8))).eval()
    model = opponent_colors(plane) if channels == 3 else plane
    specialized = add_specialist(model, 20.0)
    noisy, sigma = torch.rand(3, channels, 12, 15), torch.tensor([5.0, 30.0, 12.0]) / 255
    torch.testing.assert_close(specialized(noisy, sigma), model(noisy, sigma), atol=1e-5, rtol=0)
    assert count_parameters(specialized) == 2 * count_parameters(model)

    specialist = _trained_looking(specialist_of(specialized))  # it moves away from the general network
    if channels == 1:
        for i, level in enumerate(sigma):
            serving, other = (specialist, plane) if level * 255 < 20 else (plane, specialist)
            routed = specialized(noisy, sigma)[i]
            torch.testing.assert_close(routed, serving(noisy[i:i + 1], level[None])[0], atol=1e-4, rtol=0)
            assert (routed - other(noisy[i:i + 1], level[None])[0]).abs().max() > 0.01
        torch.testing.assert_close(specialized(noisy), plane(noisy))  # no level given: the general one
    else:  # each opponent plane goes by its own level, sigma times its row's length
        assert specialist_reach(specialized) == pytest.approx(20.0 / float(OPPONENT_NOISE_SCALE.min()))
    rebuilt = build_model(specialized.config)  # what a checkpoint loads: same weights, same result
    rebuilt.load_state_dict(specialized.state_dict())
    torch.testing.assert_close(rebuilt.eval()(noisy, sigma), specialized(noisy, sigma))


@pytest.mark.parametrize("channels", [1, 3])
def test_add_specialist_can_start_the_specialist_from_another_trained_network(channels):
    torch.manual_seed(0)
    plane = _trained_looking(build_model(ModelConfig(hidden=8, features=8))).eval()
    model = opponent_colors(plane) if channels == 3 else plane
    elsewhere = add_specialist(_trained_looking(build_model(ModelConfig(hidden=8, features=8))), 20.0)
    specialized = add_specialist(model, 12.0, specialist_or_network(elsewhere))
    specialist = specialist_of(specialized)
    general = (specialized.plane if channels == 3 else specialized).general
    assert general is plane and specialist is not elsewhere.specialist  # a copy: training one leaves the other
    for key, value in elsewhere.specialist.state_dict().items():
        assert torch.equal(specialist.state_dict()[key], value)
    noisy, sigma = torch.rand(2, 1, 12, 15), torch.tensor([5.0, 30.0]) / 255
    if channels == 1:  # low levels go to the borrowed specialist, the rest to the model
        torch.testing.assert_close(specialized(noisy[:1], sigma[:1]), elsewhere.specialist(noisy[:1], sigma[:1]))
        torch.testing.assert_close(specialized(noisy[1:], sigma[1:]), plane(noisy[1:], sigma[1:]))
    assert specialist_or_network(specialized) is specialist
    assert specialist_or_network(model) is plane  # no specialist: the network itself
    with pytest.raises(ValueError, match="same design"):
        add_specialist(model, 12.0, build_model(ModelConfig(hidden=16, features=8)))


@pytest.mark.parametrize("specialist", [False, True])
def test_guide_planes_starts_as_the_color_model_and_lets_each_plane_see_the_others(specialist):
    torch.manual_seed(0)
    plane = _trained_looking(build_model(ModelConfig(architecture="unet", hidden=8, features=8))).eval()
    model = opponent_colors(add_specialist(plane, 20.0) if specialist else plane)
    guided = guide_planes(model)
    assert guided.config.plane_guides and guided.plane.config.plane_guides
    assert count_parameters(guided) - count_parameters(model) == 6 * 8 * 9 * (2 if specialist else 1)
    rgb, sigma = torch.rand(3, 3, 13, 11), torch.tensor([5.0, 30.0, 50.0]) / 255
    torch.testing.assert_close(guided(rgb, sigma), model(rgb, sigma), atol=1e-6, rtol=0)

    planes = to_opponent(rgb)
    planes[:, 1] += 0.05  # more red against blue, the luminance plane as it was
    recolored = from_opponent(planes)

    def luminance_change(network):
        return (to_opponent(network(recolored, sigma)) - to_opponent(network(rgb, sigma)))[:, 0].abs().max()

    assert luminance_change(model) < 1e-3  # without guides each plane is denoised on its own (up to round-off)
    stems = [network.stem[0] for network in ((guided.plane.general, guided.plane.specialist) if specialist
                                              else (guided.plane,))]
    for stem in stems:  # once the guides' weights move off zero, the red-blue plane reaches the luminance
        stem.weight.data[:, -6:].normal_(0, 0.3)
    assert luminance_change(guided) > 1.0
    rebuilt = build_model(guided.config)  # what a checkpoint loads: same weights, same result
    rebuilt.load_state_dict(guided.state_dict())
    torch.testing.assert_close(rebuilt.eval()(rgb, sigma), guided(rgb, sigma))
    with pytest.raises(ValueError, match="guides"):
        guided.plane(rgb[:, :1], sigma)


def test_guide_planes_refuses_gray_models_the_row_lstm_and_a_second_time():
    plane = build_model(ModelConfig(hidden=8, features=8))
    with pytest.raises(ValueError, match="color model"):
        guide_planes(plane)
    with pytest.raises(ValueError, match="already"):
        guide_planes(guide_planes(opponent_colors(plane)))
    with pytest.raises(ValueError, match="sweeping"):
        build_model(ModelConfig(architecture="row", hidden=8, plane_guides=True))
    with pytest.raises(ValueError, match="sweeping"):
        build_model(ModelConfig(channels=3, hidden=8, plane_guides=True))


def test_add_specialist_refuses_a_model_without_noise_level_or_a_second_specialist():
    with pytest.raises(ValueError, match="noise level"):
        add_specialist(build_model(ModelConfig(hidden=8, features=8, noise_map=False, impulse_mask=True)), 20)
    with pytest.raises(ValueError, match="already"):
        add_specialist(add_specialist(build_model(ModelConfig(hidden=8, features=8)), 20), 10)
    with pytest.raises(ValueError, match="above 0"):
        add_specialist(build_model(ModelConfig(hidden=8, features=8)), 0)
    assert specialist_of(build_model(ModelConfig(hidden=8, features=8))) is None
    assert specialist_reach(build_model(ModelConfig(hidden=8, features=8))) == 0.0
