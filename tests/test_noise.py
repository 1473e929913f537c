import numpy as np
import pytest

from denoiser.errors import DenoiserError
from denoiser.noise import GaussianNoise, PoissonNoise, SaltPepperNoise, SpeckleNoise, make_noise


def flat(value=0.5, shape=(200, 200, 1)):
    return np.full(shape, value, dtype=np.float32)


@pytest.mark.parametrize("variance", [25.0, 100.0, 400.0])
def test_gaussian_sample_variance_matches_on_the_255_scale(variance, rng):
    noisy = GaussianNoise(variance, clip=False).apply(flat(), rng)
    measured = np.var((noisy - 0.5) * 255.0)
    assert measured == pytest.approx(variance, rel=0.03)


def test_gaussian_sigma_and_name_follow_the_variance():
    noise = GaussianNoise(100.0)
    assert noise.sigma == pytest.approx(10.0)
    assert "sigma 10.0" in noise.name and "variance 100" in noise.name


def test_gaussian_per_channel_variances(rng):
    noisy = GaussianNoise((25.0, 100.0, 400.0), clip=False).apply(flat(shape=(200, 200, 3)), rng)
    measured = np.var((noisy - 0.5) * 255.0, axis=(0, 1))
    np.testing.assert_allclose(measured, [25, 100, 400], rtol=0.05)


def test_gaussian_is_seeded_clipped_and_can_quantize():
    image = flat(0.98)
    a = GaussianNoise(400.0).apply(image, np.random.default_rng(7))
    b = GaussianNoise(400.0).apply(image, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert a.max() <= 1.0 and a.min() >= 0.0
    q = GaussianNoise(400.0, quantize=True).apply(image, np.random.default_rng(7))
    np.testing.assert_allclose(q * 255.0, np.round(q * 255.0), atol=1e-4)


@pytest.mark.parametrize("density", [0.0, 0.1, 0.5, 1.0])
def test_salt_pepper_hit_fraction_matches_density(density, rng):
    noisy = SaltPepperNoise(density).apply(flat(), rng)
    hit = ((noisy == 0.0) | (noisy == 1.0)).mean()
    assert hit == pytest.approx(density, abs=0.01)


def test_salt_ratio_and_whole_pixels(rng):
    noisy = SaltPepperNoise(0.5, salt_ratio=0.8).apply(flat(shape=(200, 200, 3)), rng)
    salt, pepper = (noisy == 1.0).all(-1).mean(), (noisy == 0.0).all(-1).mean()
    assert salt / (salt + pepper) == pytest.approx(0.8, abs=0.03)
    partial = ((noisy == 1.0).any(-1) & ~(noisy == 1.0).all(-1)).sum()
    assert partial == 0


def test_poisson_variance_follows_peak(rng):
    noisy = PoissonNoise(peak=50.0, clip=False).apply(flat(0.4), rng)
    assert np.mean(noisy) == pytest.approx(0.4, abs=0.01)
    assert np.var(noisy) == pytest.approx(0.4 / 50.0, rel=0.05)


def test_speckle_scales_with_the_signal(rng):
    dark = SpeckleNoise(400.0, clip=False).apply(flat(0.1), rng)
    bright = SpeckleNoise(400.0, clip=False).apply(flat(0.8), rng)
    assert np.std(bright) / np.std(dark) == pytest.approx(8.0, rel=0.1)


def test_make_noise_and_bad_parameters():
    assert isinstance(make_noise("salt-pepper", density=0.2), SaltPepperNoise)
    for bad in (lambda: make_noise("pink"), lambda: SaltPepperNoise(1.5), lambda: GaussianNoise(-1.0),
                lambda: PoissonNoise(0.0)):
        with pytest.raises(DenoiserError):
            bad()
