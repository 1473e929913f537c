"""Image I/O: any upload to a float array in [0, 1] of shape (H, W, C), and back to a file.

Uploads arrive in every mode and bit depth; each is converted the way a user expects (EXIF
rotation applied, 16-bit scaled by 65535, alpha composited on white, CMYK and palette to RGB).
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from denoiser.errors import DenoiserError

MAX_PIXELS = 40_000_000
"""Largest image accepted (width x height); a larger header is treated as a decompression bomb."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")


def load_image(source: str | os.PathLike | bytes, channels: int | None = None,
               max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a file path or bytes to float32 (H, W, C); `channels` 1 or 3 converts, None keeps.
    Errors name the file when given a path (a command may read several)."""
    data = _read_bytes(source)
    name = "" if isinstance(source, (bytes, bytearray)) else f" {Path(source)}"
    if not data:
        raise DenoiserError(f"The file{name} is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise DenoiserError(
                    f"Image{name} of {image.width}x{image.height} pixels is over the limit of {max_pixels:,} pixels.")
            image.load()
    except DenoiserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DenoiserError(f"The image{name} is over the limit of {max_pixels:,} pixels (a decompression bomb?).") \
            from None
    except UnidentifiedImageError as error:
        raise DenoiserError(f"Not a readable image{':' if name else ''}{name} ({_short(error)}).") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise DenoiserError(f"The image file{name} is damaged or truncated ({_short(error)}).") from None
    array = _to_float(ImageOps.exif_transpose(image))
    return convert_channels(array, channels) if channels else array


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Gray to RGB by replication, RGB to gray by luminance (ITU-R 601, as Pillow does)."""
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return np.repeat(image, 3, axis=-1)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (image @ weights)[..., None].astype(np.float32)


def downscale(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """The image, downscaled (antialiased) so its largest side is at most `max_side`; None keeps it."""
    height, width = image.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return image
    from skimage.transform import resize  # here: reading and writing images needs no scikit-image

    scale = max_side / max(height, width)
    shape = (max(1, round(height * scale)), max(1, round(width * scale)), image.shape[2])
    return np.clip(resize(image, shape, anti_aliasing=True, preserve_range=True), 0, 1).astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] (H, W, C) to uint8 (H, W) or (H, W, 3)."""
    array = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    return array[..., 0] if array.shape[-1] == 1 else array


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a float image, for downloads."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def output_format(path: str | os.PathLike) -> str:
    """Pillow's format for writing `path`, which its suffix names; a command checks it before any work."""
    suffix = Path(path).suffix
    fmt = Image.registered_extensions().get(suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise DenoiserError(f"Unknown output format '{suffix}' ({path}): use .png, .jpg, .tif or .webp.")
    return fmt


def save_image(image: np.ndarray, path: str | os.PathLike) -> None:
    """Write a float image; the format follows the suffix. Written whole or not at all."""
    path = Path(path)
    fmt = output_format(path)
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format=fmt)
    path.write_bytes(buffer.getvalue())


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    path = Path(source)
    if not path.is_file():
        raise DenoiserError(f"No such file: {path}")
    return path.read_bytes()


def _to_float(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if array.max(initial=0) > 255 or mode.startswith("I;16") else 255.0
        return np.clip(array / scale, 0, 1).astype(np.float32)[..., None]
    if mode == "F":
        array = np.asarray(image, dtype=np.float32)
        top = 1.0 if array.max(initial=0) <= 1.0 else (255.0 if array.max() <= 255 else 65535.0)
        return np.clip(array / top, 0, 1)[..., None]
    if mode in ("1", "L"):
        return (np.asarray(image.convert("L"), dtype=np.float32) / 255.0)[..., None]
    if mode in ("LA", "PA", "RGBA") or (mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        return rgb[..., :1] if mode == "LA" else rgb
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def _short(error: Exception) -> str:
    """The error's first line, without the in-memory buffer Pillow names (`<_io.BytesIO object at 0x...>`)."""
    text = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(error))
    return text.splitlines()[0][:120] if text else type(error).__name__
