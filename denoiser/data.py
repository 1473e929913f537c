"""Training data: clean images from a folder, and random augmented patches cut from them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import DenoiserError
from .images import IMAGE_SUFFIXES, load_image


def image_files(folder: str | os.PathLike) -> list[Path]:
    """Every image file under `folder`, sorted so runs are reproducible."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DenoiserError(f"No such folder: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DenoiserError(f"No images (PNG, JPEG, TIFF, WebP) under {folder}.")
    return files


def load_folder(folder: str | os.PathLike, channels: int) -> list[np.ndarray]:
    return [load_image(path, channels) for path in image_files(folder)]


def augment(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of the eight flips and right-angle rotations, chosen at random."""
    patch = np.rot90(patch, k=int(rng.integers(4)), axes=(0, 1))
    return patch[:, ::-1] if rng.integers(2) else patch


def random_patch(image: np.ndarray, size: int, rng: np.random.Generator) -> tuple[int, int, np.ndarray]:
    """A square crop (smaller images are reflected up to `size`), with its top-left corner."""
    if min(image.shape[:2]) < size:
        pad_h, pad_w = max(0, size - image.shape[0]), max(0, size - image.shape[1])
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
    top = int(rng.integers(image.shape[0] - size + 1))
    left = int(rng.integers(image.shape[1] - size + 1))
    return top, left, image[top:top + size, left:left + size]


def patch_batch(images: list[np.ndarray], batch_size: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(B, size, size, C) clean patches, each from a random image (weighted by its area), augmented."""
    areas = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64)
    choice = rng.choice(len(images), size=batch_size, p=areas / areas.sum())
    return np.stack([augment(random_patch(images[i], size, rng)[2], rng) for i in choice]).astype(np.float32)
