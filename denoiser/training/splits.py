"""Pixel splits, as in the original notebook: most pixels train, the rest validate and test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from denoiser.errors import DenoiserError


@dataclass(frozen=True)
class PixelSplit:
    """Fractions of pixels for training, validation (picks the best epoch) and test (reported)."""

    train: float = 0.8
    validation: float = 0.1
    test: float = 0.1

    def __post_init__(self):
        fractions = (self.train, self.validation, self.test)
        if min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
            raise DenoiserError("Split fractions must be non-negative and add up to 1.")
        if self.train <= 0:
            raise DenoiserError("The training fraction must be above 0.")


@dataclass(frozen=True)
class SplitMasks:
    """Disjoint boolean (H, W) masks that together cover every pixel."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray

    def items(self):
        return (("train", self.train), ("validation", self.validation), ("test", self.test))


def make_masks(shape: tuple[int, int], split: PixelSplit, rng: np.random.Generator) -> SplitMasks:
    """Shuffle the pixel indices once and cut them at the split's fractions."""
    count = shape[0] * shape[1]
    order = rng.permutation(count)
    n_train = int(round(split.train * count))
    n_validation = int(round(split.validation * count))
    labels = np.empty(count, dtype=np.int8)
    labels[order[:n_train]] = 0
    labels[order[n_train:n_train + n_validation]] = 1
    labels[order[n_train + n_validation:]] = 2
    labels = labels.reshape(shape)
    return SplitMasks(labels == 0, labels == 1, labels == 2)
