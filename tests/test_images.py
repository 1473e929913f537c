import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from denoiser.errors import DenoiserError
from denoiser.images import convert_channels, encode_png, load_image, save_image


def encode(image: Image.Image, fmt="PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def gradient(mode="L", size=(20, 12)):
    array = np.tile(np.linspace(0, 255, size[0], dtype=np.uint8), (size[1], 1))
    return Image.fromarray(array).convert(mode)


def test_gray_png_loads_as_one_channel_in_unit_range():
    image = load_image(encode(gradient()))
    assert image.shape == (12, 20, 1) and image.dtype == np.float32
    assert image.min() == 0.0 and image.max() == 1.0


def test_16_bit_gray_uses_the_full_depth():
    array = np.tile(np.linspace(0, 65535, 16).astype(np.uint16), (4, 1))
    image = load_image(encode(Image.fromarray(array)))
    assert image.shape == (4, 16, 1)
    np.testing.assert_allclose(image[0, :, 0], array[0] / 65535.0, atol=1e-6)


@pytest.mark.parametrize("mode, channels", [("RGB", 3), ("RGBA", 3), ("LA", 1), ("P", 3), ("1", 1)])
def test_modes_convert_as_a_user_expects(mode, channels):
    image = load_image(encode(gradient(mode)))
    assert image.shape == (12, 20, channels)


def test_transparent_pixels_become_white():
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    np.testing.assert_allclose(load_image(encode(rgba)), 1.0)


def test_cmyk_jpeg_and_tiff_and_webp():
    assert load_image(encode(gradient("CMYK"), "JPEG")).shape == (12, 20, 3)
    assert load_image(encode(gradient("RGB"), "TIFF")).shape == (12, 20, 3)
    assert load_image(encode(gradient("RGB"), "WEBP", lossless=True)).shape == (12, 20, 3)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    data = encode(gradient("RGB", (20, 12)), "JPEG", exif=exif.tobytes())
    assert load_image(data).shape == (20, 12, 3)


def test_channel_conversion_both_ways(color_image):
    gray = convert_channels(color_image, 1)
    assert gray.shape == color_image.shape[:2] + (1,)
    assert convert_channels(gray, 3).shape == color_image.shape
    assert load_image(encode(gradient("RGB")), channels=1).shape == (12, 20, 1)


def bomb_png(width=100_000, height=100_000) -> bytes:
    """A valid PNG header that claims a huge image, with almost no data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, not an image", "Not a readable image"),
    (encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)))[:300],
     "damaged or truncated"),
    (bomb_png(), "over the limit"),
])
def test_bad_files_give_one_clear_error(data, message):
    with pytest.raises(DenoiserError, match=message):
        load_image(data)


@pytest.mark.parametrize("data, message", [
    (b"", "The file {path} is empty."),
    (b"hello, not an image", "Not a readable image: {path} (cannot identify image file)."),
    (encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)))[:300],
     "The image file {path} is damaged or truncated"),
])
def test_errors_name_the_file_they_were_given(tmp_path, data, message):
    path = tmp_path / "holiday.png"
    path.write_bytes(data)
    with pytest.raises(DenoiserError) as error:
        load_image(path)
    assert str(error.value).startswith(message.format(path=path))
    with pytest.raises(DenoiserError) as error:  # bytes have no name, and Pillow's buffer is no name either
        load_image(data)
    assert "BytesIO" not in str(error.value) and "0x" not in str(error.value)


def test_truncated_jpeg_is_rejected():
    data = encode(gradient("RGB", (64, 64)), "JPEG")
    with pytest.raises(DenoiserError):
        load_image(data[: len(data) // 2])


def test_save_and_encode_round_trip(tmp_path, color_image):
    save_image(color_image, tmp_path / "out.png")
    np.testing.assert_allclose(load_image(tmp_path / "out.png"), color_image, atol=0.5 / 255 + 1e-6)
    assert Image.open(io.BytesIO(encode_png(color_image[..., :1]))).mode == "L"
    with pytest.raises(DenoiserError, match="Unknown output format"):
        save_image(color_image, tmp_path / "out.xyz")
