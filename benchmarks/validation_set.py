"""The validation photos the design studies and campaigns decide on: centre crops of the first photos
of the corpus's validation folder (`python -m denoiser corpus --validation DIR`), sorted by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from denoiser.images import IMAGE_SUFFIXES, load_image


def centre_crops(folder: Path, channels: int, crop: int, photos: int) -> list[tuple[str, np.ndarray]]:
    """(name, crop) of the first `photos` photos in `folder`, centre crops of `crop` pixels a side."""
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:photos]
    crops = []
    for path in files:
        image = load_image(path, channels)
        top, left = (image.shape[0] - crop) // 2, (image.shape[1] - crop) // 2
        crops.append((path.stem, image[top:top + crop, left:left + crop]))
    return crops
