"""Denoise an image of any size with a trained network, in overlapping tiles so memory stays bounded."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from denoiser.models.config import ENSEMBLE_SIZES  # re-exported
from denoiser.noise.level import estimate_sigma

OVERLAP = 32
"""Pixels neighbouring tiles share, blended with linear ramps so no seam shows."""
TILE, FLIPPED_TILE = 256, 192
"""Largest tile side of one plain pass, and of a tile batched with its flips: a batch of two or four
tiles leaves the cache sooner, so its tiles are smaller. A 512x512 photo gets 192-pixel tiles from
either; a 12-megapixel one with two flips ran slower at 256 (`benchmarks/color_speed.py`, CHANGELOG)."""

TILE_FLIPS = {1: [()], 2: [(), (-2,)], 4: [(), (-2,), (-1,), (-2, -1)]}
"""The mirror images of a tile that `denoise` batches for each number of flips: as it is, upside down,
left to right, both. Flips keep a tile's shape, so they share a batch; rotations by a quarter would not."""


def denoise(model: nn.Module, image: np.ndarray, sigma: float | None = None,
            tile: int | None = None, overlap: int = OVERLAP, flips: int = 1) -> np.ndarray:
    """Denoised float32 (H, W, C). `sigma` is the Gaussian noise level on the 0..255 scale;
    None estimates it from the image (ignored by models without a noise-level input).
    `flips` (1, 2 or 4) averages each tile with its mirror images (`TILE_FLIPS`), all in one batch: a
    self-ensemble whose views share a forward pass, which costs less than passes one after another.
    Tiles are at most `tile` pixels a side (`TILE`, or `FLIPPED_TILE` with flips); their size changes
    the time more than the PSNR: `python benchmarks/tiles.py` writes both to docs/benchmarks/tiles.json."""
    if tile is None:
        tile = TILE if flips == 1 else FLIPPED_TILE
    if not 0 <= overlap < tile:
        raise ValueError(f"Tiles of {tile} pixels need an overlap from 0 to {tile - 1}, not {overlap}.")
    if flips not in TILE_FLIPS:
        raise ValueError(f"Flips {flips}: choose one of {tuple(TILE_FLIPS)}.")
    if sigma is None:
        sigma = estimate_sigma(image) if model.config.noise_map else 0.0
    level = torch.tensor([sigma / 255.0], dtype=torch.float32)
    height, width = image.shape[:2]
    output = np.zeros(image.shape, dtype=np.float64)
    weight = np.zeros((height, width, 1), dtype=np.float64)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for top, left, h, w in _tiles(height, width, tile, overlap):
            # a copy, not ascontiguousarray: numpy counts a view one pixel wide as contiguous with the
            # negative strides of a flip, which torch refuses
            patch = torch.from_numpy(np.array(image[top:top + h, left:left + w])).permute(2, 0, 1)[None].float()
            result = _flipped_mean(model, patch, level, TILE_FLIPS[flips])[0].permute(1, 2, 0).numpy()
            ramp = _ramp(h, w, overlap, top, left, height, width)
            output[top:top + h, left:left + w] += result * ramp
            weight[top:top + h, left:left + w] += ramp
    model.train(was_training)
    output /= weight  # in place: at 12 megapixels each float64 copy of the image is 288 MB
    return np.clip(output, 0.0, 1.0, out=output).astype(np.float32)


def _flipped_mean(model: nn.Module, patch: torch.Tensor, level: torch.Tensor, dims: list[tuple]) -> torch.Tensor:
    """The float32 mean of the model's output over the flips of `patch` (1, C, h, w), each turned back."""
    if len(dims) == 1:
        return model(patch, level).float()  # bfloat16 under autocast
    results = model(torch.cat([patch.flip(axes) for axes in dims]), level.expand(len(dims))).float()
    return torch.stack([result.flip(axes) for result, axes in zip(results, dims)]).mean(0, keepdim=True)


def denoise_ensemble(model: nn.Module, image: np.ndarray, sigma: float | None = None,
                     size: int = 8, **tiling) -> np.ndarray:
    """The mean of `denoise` over `size` flips and right-angle rotations of the image, each turned
    back (self-ensemble): a network's errors differ between orientations while the image does not,
    so averaging them removes part of the error, at `size` times the cost. `tiling` goes to `denoise`
    (tile, overlap, flips)."""
    if size not in ENSEMBLE_SIZES:
        raise ValueError(f"Ensemble size {size}: choose one of {ENSEMBLE_SIZES}.")
    if size == 1:
        return denoise(model, image, sigma, **tiling)
    if sigma is None and model.config.noise_map:
        sigma = estimate_sigma(image)
    total = np.zeros(image.shape, dtype=np.float32)  # float32 sums of at most 8 views in [0, 1]: exact enough
    for turns, flip in _ORIENTATIONS[:size]:
        view = np.rot90(image[:, ::-1] if flip else image, turns)
        result = np.rot90(denoise(model, np.ascontiguousarray(view), sigma, **tiling), -turns)
        total += result[:, ::-1] if flip else result
    total /= size
    return total


_ORIENTATIONS = [(0, False), (2, True), (1, False), (3, True), (2, False), (0, True), (3, False), (1, True)]
"""Orientations in an order where every prefix of size 2 and 4 is a balanced mix of flips and turns."""


def _layout(size: int, tile: int, overlap: int) -> tuple[list[int], int]:
    """Starts and length of the fewest equal tiles, at most `tile` long, that cover `size` with
    at least `overlap` in common: equal lengths keep the pixels computed twice to a minimum."""
    if size <= tile:
        return [0], size
    count = -(-(size - overlap) // (tile - overlap))
    length = -(-(size + (count - 1) * overlap) // count)
    step = (size - length) / (count - 1)
    return [round(i * step) for i in range(count)], length


def _tiles(height: int, width: int, tile: int, overlap: int):
    rows, h = _layout(height, tile, overlap)
    columns, w = _layout(width, tile, overlap)
    for top in rows:
        for left in columns:
            yield top, left, h, w


def _ramp(h: int, w: int, overlap: int, top: int, left: int, height: int, width: int) -> np.ndarray:
    """Blending weights that fall off linearly over the overlap, except at the image border."""
    def axis(n, start, size):
        weights = np.ones(n)
        fade = min(overlap, n // 2)
        if fade > 0:
            ramp = (np.arange(fade) + 1) / (fade + 1)
            if start > 0:
                weights[:fade] = ramp
            if start + n < size:
                weights[-fade:] = ramp[::-1]
        return weights
    return (axis(h, top, height)[:, None] * axis(w, left, width)[None, :])[..., None]
