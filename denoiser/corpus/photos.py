"""Photos from wallpaper packages: block-averaged down, and grouped so that one photo shipped at
several sizes, crops or grades counts once."""

from __future__ import annotations

import math
import re
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from denoiser.errors import DenoiserError
from denoiser.images import load_image

MAX_PIXELS = 64_000_000
"""The most pixels a package photo may decode to; the largest kept, lomiri's Kleiber, holds 20 million."""

MIN_FACTOR = 2
"""Every photo is block-averaged by at least this factor: white noise falls by the factor, and JPEG's
8x8 blocks shrink to 4x4 with their high frequencies averaged away."""

SAME_PHOTO = 0.7
"""Signatures correlating above this are the same photo. Among the 88 corpus photos the highest
correlation of two different photos is 0.48; one photo at another size, re-encoded or regraded
(light and dark), 0.75 and above. Crops to another aspect ratio fall below it: name stems catch those."""

_SIGNATURE_SIDE = 32


def load_photo(path: Path) -> np.ndarray:
    """A photo file from a package as float32 (H, W, C). JPEG XL files (budgie-backgrounds 4 ships
    only those) are read by the pillow-jxl-plugin, registered with Pillow on first need: the app
    never reads them, so it never loads the plugin."""
    if Path(path).suffix.lower() == ".jxl":
        try:
            import pillow_jxl  # noqa: F401  (registers the JPEG XL format with Pillow)
        except ImportError:
            raise DenoiserError("JPEG XL photos need the pillow-jxl-plugin package: "
                                "pip install pillow-jxl-plugin==1.3.8 (or pip install '.[corpus]').") from None
    return load_image(path, max_pixels=MAX_PIXELS)


def reduction_factor(width: int, height: int, longest_side: int) -> int:
    """The smallest whole factor, at least MIN_FACTOR, that brings the longer side to `longest_side`
    pixels or fewer."""
    return max(MIN_FACTOR, math.ceil(max(width, height) / longest_side))


def block_average(image: np.ndarray, factor: int) -> np.ndarray:
    """Each output pixel is the mean of a `factor` x `factor` block of an (H, W, C) image; the last
    rows and columns that do not fill a block are dropped, so every pixel averages as many."""
    rows, columns = image.shape[0] // factor, image.shape[1] // factor
    if rows == 0 or columns == 0:
        raise ValueError(f"a {image.shape[1]}x{image.shape[0]} image is smaller than one {factor}x{factor} block")
    blocks = image[:rows * factor, :columns * factor].reshape(rows, factor, columns, factor, image.shape[2])
    return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def reduced_size(width: int, height: int, longest_side: int) -> tuple[int, int]:
    """(width, height) after `block_average` by `reduction_factor`."""
    factor = reduction_factor(width, height, longest_side)
    return width // factor, height // factor


def name_stem(path: str) -> str:
    """What a wallpaper package calls the photo, without size, variant or suffix: KDE's
    'Mountain/contents/images_dark/5120x2880.png' and 'Elephants_3840x2160.jpg' give 'mountain' and
    'elephants'."""
    parts = PurePosixPath(path).parts
    stem = parts[parts.index("contents") - 1] if "contents" in parts[1:] else PurePosixPath(path).stem
    stem = re.sub(r"[_-]?\d{3,5}x\d{3,5}", "", stem)
    stem = re.sub(r"[_-](portrait|dark|light|night|day|d|l)$", "", stem, flags=re.IGNORECASE)
    return stem.lower()


def signature(image: np.ndarray) -> np.ndarray:
    """A fingerprint of the photo's layout: the gradients of a 32x32 gray thumbnail of its central
    square, scaled to unit length. Gradients, not gray levels: skies bright at the top would make
    every landscape alike."""
    gray = image.mean(axis=2) if image.ndim == 3 else image
    side = min(gray.shape)
    top, left = (gray.shape[0] - side) // 2, (gray.shape[1] - side) // 2
    square = Image.fromarray(np.ascontiguousarray(gray[top:top + side, left:left + side], dtype=np.float32))
    thumbnail = np.asarray(square.resize((_SIGNATURE_SIDE, _SIGNATURE_SIDE), Image.Resampling.BOX), dtype=np.float64)
    gradients = np.concatenate([np.diff(thumbnail, axis=0).ravel(), np.diff(thumbnail, axis=1).ravel()])
    return gradients / max(float(np.linalg.norm(gradients)), 1e-12)


def group_photos(stems: dict[str, str], signatures: dict[str, np.ndarray]) -> dict[str, str]:
    """Each photo's group: photos sharing a stem key (e.g. package and name stem) or whose
    signatures correlate above SAME_PHOTO fall in one group, named after its first photo in sorted
    order. `stems` and `signatures` map photo names to those."""
    names = sorted(stems)
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    def join(a: str, b: str) -> None:
        first, second = sorted((root(a), root(b)))
        parent[second] = first

    by_stem: dict[str, str] = {}
    for name in names:
        if stems[name] in by_stem:
            join(by_stem[stems[name]], name)
        by_stem.setdefault(stems[name], name)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if float(signatures[a] @ signatures[b]) > SAME_PHOTO:
                join(a, b)
    return {name: root(name) for name in names}
