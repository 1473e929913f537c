"""Property-based tests (hypothesis): over image sizes, modes and formats, noise parameters and
tilings, the loader, the noise models and `denoise` give well-formed images or one clear error."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from torch import nn

from denoiser.errors import DenoiserError
from denoiser.images import load_image
from denoiser.inference.tiled import denoise
from denoiser.models.networks import ModelConfig, build_model
from denoiser.noise import GaussianNoise, PoissonNoise, SaltPepperNoise, SpeckleNoise

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sides = st.integers(min_value=1, max_value=40)
seeds = st.integers(min_value=0, max_value=2 ** 32 - 1)
MODES = {  # Pillow mode -> the formats that store it, and the channels the loader returns
    "L": (("PNG", "TIFF", "JPEG", "WEBP"), 1), "1": (("PNG", "TIFF"), 1), "I;16": (("PNG", "TIFF"), 1),
    "LA": (("PNG",), 1), "P": (("PNG", "TIFF"), 3), "RGB": (("PNG", "TIFF", "JPEG", "WEBP"), 3),
    "RGBA": (("PNG", "TIFF", "WEBP"), 3), "CMYK": (("JPEG", "TIFF"), 3),
}


@st.composite
def encoded_images(draw):
    """(file bytes, height, width, channels) for a random image in a random mode and format."""
    height, width = draw(sides), draw(sides)
    mode = draw(st.sampled_from(sorted(MODES)))
    formats, channels = MODES[mode]
    fmt = draw(st.sampled_from(formats))
    rng = np.random.default_rng(draw(seeds))
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    else:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), "RGBA").convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return buffer.getvalue(), height, width, 3 if fmt == "WEBP" else channels  # WebP stores no gray


def well_formed(image: np.ndarray, shape: tuple[int, ...]) -> None:
    assert image.shape == shape and image.dtype == np.float32
    assert np.isfinite(image).all() and image.min() >= 0.0 and image.max() <= 1.0


# --- the loader ----------------------------------------------------------------------------------

@SETTINGS
@given(encoded_images(), st.sampled_from([None, 1, 3]))
def test_every_mode_and_format_loads_in_unit_range(encoded, channels):
    data, height, width, stored = encoded
    well_formed(load_image(data, channels), (height, width, channels or stored))


@SETTINGS
@given(sides, sides, st.booleans(), seeds)
def test_8_bit_png_round_trips_exactly(height, width, color, seed):
    shape = (height, width, 3) if color else (height, width)
    array = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    loaded = load_image(buffer.getvalue())
    np.testing.assert_array_equal(np.round(loaded * 255).astype(np.uint8), array.reshape(height, width, -1))


@SETTINGS
@given(st.binary(max_size=2048))
def test_any_bytes_load_or_raise_the_one_user_error(data):
    try:
        image = load_image(data)
    except DenoiserError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert image.ndim == 3 and image.shape[-1] in (1, 3)


@SETTINGS
@given(encoded_images(), st.floats(min_value=0.0, max_value=0.99))
def test_a_cut_off_file_loads_or_raises_the_one_user_error(encoded, keep):
    data = encoded[0]
    try:
        image = load_image(data[:int(len(data) * keep)])
    except DenoiserError as error:
        assert str(error) and "\n" not in str(error)
    else:
        well_formed(image, image.shape)


# --- the noise models ----------------------------------------------------------------------------

@st.composite
def clean_images(draw):
    height, width, channels = draw(sides), draw(sides), draw(st.sampled_from([1, 3]))
    return np.random.default_rng(draw(seeds)).random((height, width, channels)).astype(np.float32)


noise_models = st.one_of(
    st.builds(GaussianNoise, st.floats(min_value=0.0, max_value=2500.0)),
    st.builds(SaltPepperNoise, st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=0.0, max_value=1.0)),
    st.builds(PoissonNoise, st.floats(min_value=0.01, max_value=1000.0)),
    st.builds(SpeckleNoise, st.floats(min_value=0.0, max_value=2500.0)),
)


@SETTINGS
@given(clean_images(), noise_models, seeds)
def test_noise_keeps_shape_and_range_and_is_seeded(image, noise, seed):
    noisy = noise.apply(image, np.random.default_rng(seed))
    well_formed(noisy, image.shape)
    np.testing.assert_array_equal(noisy, noise.apply(image, np.random.default_rng(seed)))
    assert np.isfinite(noise.sigma) and noise.sigma >= 0 and noise.name


@SETTINGS
@given(clean_images(), seeds)
def test_zero_noise_changes_nothing(image, seed):
    for noise in (GaussianNoise(0.0), SaltPepperNoise(0.0), SpeckleNoise(0.0)):
        np.testing.assert_array_equal(noise.apply(image, np.random.default_rng(seed)), image)


@SETTINGS
@given(clean_images(), st.floats(min_value=0.0, max_value=1.0), seeds)
def test_salt_and_pepper_only_sets_whole_pixels_to_black_or_white(image, density, seed):
    noisy = SaltPepperNoise(density).apply(image, np.random.default_rng(seed))
    changed = (noisy != image).any(axis=-1)
    hit = noisy[changed]
    assert ((hit == 0.0).all(axis=-1) | (hit == 1.0).all(axis=-1)).all()
    if density == 1.0:
        assert np.isin(noisy, (0.0, 1.0)).all()


not_a_fraction = st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1.0 + 1e-9), st.just(float("nan")))
not_a_variance = st.one_of(st.floats(max_value=-1e-9), st.just(float("nan")), st.just(float("inf")))


@SETTINGS
@given(not_a_fraction, not_a_variance)
def test_parameters_out_of_range_are_refused(fraction, variance):
    for make in (lambda: SaltPepperNoise(fraction), lambda: SaltPepperNoise(0.1, fraction),
                 lambda: GaussianNoise(variance), lambda: GaussianNoise((1.0, variance, 1.0)),
                 lambda: SpeckleNoise(variance), lambda: PoissonNoise(-abs(variance))):
        with pytest.raises(DenoiserError):
            make()


# --- denoise -------------------------------------------------------------------------------------

class Identity(nn.Module):
    """A 'model' that returns its input, so any tiling must give back the image exactly."""

    def __init__(self, channels: int):
        super().__init__()
        self.config = ModelConfig(channels=channels, noise_map=True)

    def forward(self, noisy, sigma=None):
        return noisy


torch.set_num_threads(1)  # as the dashboard runs; two threads on two busy cores are many times slower
torch.manual_seed(0)
TINY = {c: build_model(ModelConfig(channels=c, hidden=4, features=4)) for c in (1, 3)}
TINY_IMPULSE = build_model(ModelConfig(channels=1, hidden=4, features=4, noise_map=False, impulse_mask=True))
tiles = st.integers(min_value=4, max_value=48)


@SETTINGS
@given(clean_images(), tiles, st.integers(min_value=0, max_value=24))
def test_tiles_blend_back_to_the_whole_image(image, tile, overlap):
    overlap = min(overlap, tile - 1)
    result = denoise(Identity(image.shape[-1]), image, 0.0, tile=tile, overlap=overlap)
    np.testing.assert_allclose(result, image, atol=1e-6)


@SETTINGS
@given(clean_images(), st.one_of(st.none(), st.floats(min_value=0.0, max_value=255.0)), tiles)
def test_denoise_gives_an_image_of_the_same_shape_for_any_size_and_sigma(image, sigma, tile):
    model = TINY[image.shape[-1]]
    well_formed(denoise(model, image, sigma, tile=tile, overlap=tile // 4), image.shape)


@SETTINGS
@given(clean_images(), st.floats(min_value=0.0, max_value=1.0), seeds)
def test_the_impulse_model_leaves_unhit_pixels_alone(image, density, seed):
    gray = image[..., :1]
    noisy = SaltPepperNoise(density).apply(gray, np.random.default_rng(seed))
    result = denoise(TINY_IMPULSE, noisy, tile=32, overlap=8)
    well_formed(result, gray.shape)
    unhit = (noisy > 0.0) & (noisy < 1.0)
    np.testing.assert_allclose(result[unhit], noisy[unhit], atol=1e-6)


def test_denoise_restores_the_training_mode():
    model = TINY[1]
    model.train()
    denoise(model, np.full((5, 5, 1), 0.5, np.float32), 10.0)
    assert model.training


# --- the checkpoint loader -----------------------------------------------------------------------

@SETTINGS
@given(st.one_of(st.binary(max_size=512), st.text(max_size=200).map(str.encode)))
def test_any_bytes_as_weights_raise_the_one_user_error(data):
    from denoiser.models.checkpoint import read_payload

    with pytest.raises(DenoiserError, match="not a denoiser checkpoint|refused"):
        read_payload(data)
