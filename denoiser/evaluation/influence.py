"""What a denoiser looks at: the influence of every input pixel on one output pixel.

`influence_map` is the magnitude of the gradient of one output pixel with respect to the noisy
input, from one backward pass; `influence_radius` says how far it reaches: the radius of the
disc around the pixel that holds a given share (90%) of the influence of the other pixels. The
pixel's own input is left out of that share and reported apart (`Reach.at_the_pixel`): a
residual denoiser passes much of it through, which would hide how far the rest reaches.

A network that cannot see a pixel has a gradient of exactly zero there, so the map shows each
design's field of view: the row LSTM's three rows, the 2-D LSTM's whole image, a convolution
stack's receptive field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

SHARE = 0.9
"""The share of the other pixels' influence that `influence_radius` reports the reach of."""


def influence_map(model: nn.Module, noisy: np.ndarray, pixel: tuple[int, int], sigma: float | None = None) -> np.ndarray:
    """|d output(pixel) / d input| for every input pixel, summed over the input's and the output
    pixel's channels: (H, W) float32. `noisy` is (H, W, C) in [0, 1], `pixel` (row, column),
    `sigma` the noise level on the 0..255 scale (for models given a noise map)."""
    height, width = noisy.shape[:2]
    row, column = pixel
    if not (0 <= row < height and 0 <= column < width):
        raise ValueError(f"Pixel {pixel} lies outside the {height}x{width} image.")
    inputs = torch.from_numpy(np.ascontiguousarray(noisy, dtype=np.float32)).permute(2, 0, 1)[None]
    inputs.requires_grad_(True)  # only the input's gradient: a model shared by sessions is left alone
    level = None if sigma is None else torch.tensor([sigma / 255.0], dtype=torch.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            output = model(inputs, level)
            (gradient,) = torch.autograd.grad(output[0, :, row, column].sum(), inputs)
    finally:
        model.train(was_training)
    return gradient[0].abs().sum(dim=0).numpy()


@dataclass(frozen=True)
class Reach:
    """How far one output pixel's influence reaches."""

    radius: float
    """Pixels from the output pixel within which `share` of the other pixels' influence lies."""
    share: float
    farthest: float
    """Distance to the farthest input pixel with any influence at all."""
    at_the_pixel: float
    """The pixel's own share of the whole influence."""


def reach(influence: np.ndarray, pixel: tuple[int, int], share: float = SHARE) -> Reach:
    """The radius that holds `share` of the other pixels' influence around `pixel`, its farthest
    non-zero pixel and the pixel's own share."""
    total = float(np.sum(influence))
    own = float(influence[pixel]) / total if total > 0 else 0.0
    return Reach(influence_radius(influence, pixel, share), share, farthest_reach(influence, pixel), own)


def influence_radius(influence: np.ndarray, pixel: tuple[int, int], share: float = SHARE) -> float:
    """The smallest distance r from `pixel` such that the input pixels at most r away, the pixel
    itself left out, hold `share` of the influence of all but the pixel (0 when they have none)."""
    distances, weights = _by_distance(influence, pixel)
    weights[0] = 0.0  # the pixel itself: the nearest, at distance 0
    total = weights.sum()
    if total <= 0:
        return 0.0
    held = np.cumsum(weights)
    return float(distances[np.searchsorted(held, share * total * (1 - 1e-9))])


def farthest_reach(influence: np.ndarray, pixel: tuple[int, int]) -> float:
    """Distance from `pixel` to the farthest input pixel with a non-zero influence."""
    distances, weights = _by_distance(influence, pixel)
    reached = distances[weights > 0]
    return float(reached.max()) if reached.size else 0.0


def _by_distance(influence: np.ndarray, pixel: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each input pixel's distance from `pixel` and its influence, nearest first."""
    rows, columns = np.indices(influence.shape)
    distances = np.hypot(rows - pixel[0], columns - pixel[1]).ravel()
    order = np.argsort(distances, kind="stable")
    return distances[order], np.asarray(influence, dtype=np.float64).ravel()[order]
