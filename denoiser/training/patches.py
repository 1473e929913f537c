"""Training data: clean images from a folder, and random augmented patches cut from them.

Two ways to feed training: images held in memory give `patch_batch` (the bundled models), and
`PatchStream` decodes images on demand in worker processes and shares them out among the ranks
of a distributed run (a large photo collection).
"""

from __future__ import annotations

import itertools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from denoiser.errors import DenoiserError
from denoiser.images import IMAGE_SUFFIXES, load_image
from denoiser.noise import NoiseModel, reference_and_noisy


def image_files(folder: str | os.PathLike) -> list[Path]:
    """Every image file under `folder`, sorted so runs are reproducible."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DenoiserError(f"No such folder: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DenoiserError(f"No images (PNG, JPEG, TIFF, WebP) under {folder}.")
    return files


def augment(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of the eight flips and right-angle rotations, chosen at random."""
    patch = np.rot90(patch, k=int(rng.integers(4)), axes=(0, 1))
    return patch[:, ::-1] if rng.integers(2) else patch


def random_patch(image: np.ndarray, size: int | tuple[int, int],
                 rng: np.random.Generator) -> tuple[int, int, np.ndarray]:
    """A crop of `size` (a side, or rows and columns) with its top-left corner; smaller images are
    reflected up to it."""
    rows, columns = (size, size) if isinstance(size, int) else size
    if image.shape[0] < rows or image.shape[1] < columns:
        pad_h, pad_w = max(0, rows - image.shape[0]), max(0, columns - image.shape[1])
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
    top = int(rng.integers(image.shape[0] - rows + 1))
    left = int(rng.integers(image.shape[1] - columns + 1))
    return top, left, image[top:top + rows, left:left + columns]


def patch_batch(images: list[np.ndarray], batch_size: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(B, size, size, C) clean patches, each from a random image (weighted by its area), augmented."""
    areas = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64)
    choice = rng.choice(len(images), size=batch_size, p=areas / areas.sum())
    return np.stack([augment(random_patch(images[i], size, rng)[2], rng) for i in choice]).astype(np.float32)


class PatchGroups(Dataset):
    """Item (epoch, i, rank): random augmented patches of image i with their noise, as arrays
    (noisy, sigma, clean). The image is decoded when asked, so in a DataLoader worker; the patches
    depend on the key and the seed only, not on which worker cuts them (the rank is in the key so
    that an image dealt to two ranks, to even out their shares, gives each its own patches).
    An unreadable file gives no patches and a warning, so one bad photo does not stop a long run."""

    def __init__(self, files: list[Path], channels: int, patch_size: int,
                 draw_noise: Callable[[np.random.Generator], NoiseModel], seed: int = 0,
                 patches_per_image: int = 16):
        self.files, self.channels, self.patch_size = list(files), channels, patch_size
        self.draw_noise, self.seed, self.patches_per_image = draw_noise, seed, patches_per_image

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        epoch, index, rank = key
        rng = np.random.default_rng([self.seed, epoch, index, rank])
        try:
            image = load_image(self.files[index], self.channels)
        except DenoiserError as error:
            warnings.warn(f"skipped {self.files[index]}: {error}")
            empty = np.zeros((0, self.channels, self.patch_size, self.patch_size), dtype=np.float32)
            return empty, np.zeros(0, dtype=np.float32), empty
        count = min(self.patches_per_image, max(1, image.shape[0] * image.shape[1] // self.patch_size ** 2))
        patches = [augment(random_patch(image, self.patch_size, rng)[2], rng) for _ in range(count)]
        noises = [self.draw_noise(rng) for _ in range(count)]
        clean, noisy = (np.stack(part) for part in zip(*(reference_and_noisy(noise, patch, rng)
                                                         for noise, patch in zip(noises, patches))))
        sigma = np.array([noise.sigma / 255.0 for noise in noises], dtype=np.float32)
        return _chw(noisy), sigma, _chw(clean)


def distributed_epochs(images: int, rank: int, world_size: int, seed: int) -> Iterator[tuple[int, int, int]]:
    """(epoch, image index, rank) for ever: each epoch PyTorch's DistributedSampler reshuffles the
    images and hands this rank its share (disjoint from the other ranks', padded so all get as many)."""
    sampler = DistributedSampler(range(images), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    for epoch in itertools.count():
        sampler.set_epoch(epoch)
        for index in sampler:
            yield epoch, index, rank


@dataclass(frozen=True)
class PatchStream:
    """Training patches streamed from image files: decoded by `workers` DataLoader processes,
    shared out among distributed ranks by `distributed_epochs`, mixed in a pool so a batch holds
    patches of many images. Memory stays bounded whatever the size of the folder."""

    files: tuple[Path, ...]
    channels: int
    workers: int = 2
    patches_per_image: int = 16
    pool: int = 256

    def batches(self, batch_size: int, patch_size: int, draw_noise: Callable[[np.random.Generator], NoiseModel],
                rank: int = 0, world_size: int = 1, seed: int = 0) -> Iterator[tuple[torch.Tensor, ...]]:
        """(noisy, sigma, clean) tensors of `batch_size` patches, for ever."""
        groups = PatchGroups(self.files, self.channels, patch_size, draw_noise, seed, self.patches_per_image)
        loader = DataLoader(groups, sampler=distributed_epochs(len(groups), rank, world_size, seed),
                            batch_size=None, num_workers=self.workers, prefetch_factor=4 if self.workers else None)
        rng = np.random.default_rng([seed, rank])
        pool: list[tuple[torch.Tensor, ...]] = []
        empty_in_a_row = 0
        for noisy, sigma, clean in loader:
            empty_in_a_row = 0 if len(clean) else empty_in_a_row + 1
            if empty_in_a_row > len(groups):
                raise DenoiserError("None of the images could be read.")
            pool.extend(zip(noisy, sigma, clean))
            while len(pool) >= max(batch_size, self.pool):
                picks = sorted(rng.choice(len(pool), size=batch_size, replace=False), reverse=True)
                yield tuple(torch.stack(part) for part in zip(*(pool.pop(i) for i in picks)))


def image_pixels(files: list[Path]) -> int:
    """Width x height summed over the files, read from their headers (nothing is decoded)."""
    total = 0
    for path in files:
        try:
            with Image.open(path) as image:
                total += image.width * image.height
        except (OSError, ValueError) as error:
            raise DenoiserError(f"Not a readable image: {path} ({error}).") from None
    return total


def _chw(batch: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
