import numpy as np
import pytest

from denoiser.errors import DenoiserError
from denoiser.training.splits import PixelSplit, make_masks


def test_masks_are_disjoint_cover_everything_and_have_the_right_sizes(rng):
    masks = make_masks((50, 40), PixelSplit(), rng)
    total = masks.train.astype(int) + masks.validation + masks.test
    assert (total == 1).all()
    assert masks.train.sum() == 1600 and masks.validation.sum() == 200 and masks.test.sum() == 200


def test_masks_are_seeded():
    a = make_masks((30, 30), PixelSplit(0.6, 0.2, 0.2), np.random.default_rng(3))
    b = make_masks((30, 30), PixelSplit(0.6, 0.2, 0.2), np.random.default_rng(3))
    c = make_masks((30, 30), PixelSplit(0.6, 0.2, 0.2), np.random.default_rng(4))
    np.testing.assert_array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_split_without_validation_is_allowed_and_bad_fractions_are_not(rng):
    masks = make_masks((10, 10), PixelSplit(0.9, 0.0, 0.1), rng)
    assert masks.validation.sum() == 0 and masks.test.sum() == 10
    with pytest.raises(DenoiserError):
        PixelSplit(0.5, 0.2, 0.2)
    with pytest.raises(DenoiserError):
        PixelSplit(0.0, 0.5, 0.5)
