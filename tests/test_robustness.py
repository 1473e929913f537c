"""A public demo gets odd files, probing and crowds: bad files give one clear line (CLI and every
page) and nothing else, odd but valid images work, parameters at their limits give a result,
uploads stay in their session, and the training queue and time cap behave on the page.

The real-browser checks at the end (an upload over the size limit, a file of the wrong type, an
upload request without the XSRF token) drive `streamlit run` with Chromium, as tests/test_browser.py does.
"""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import threading
import tomllib
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pytest
from apptest_tools import ENTRY, TIMEOUT, open_page, started_app
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard import training_slots
from dashboard.training_slots import TrainingSlots
from denoiser import cli
from denoiser.samples import sample_photo

ROOT = Path(__file__).resolve().parents[1]
UPLOAD_PAGES = ("gray-gaussian", "gray-salt-pepper", "color-gaussian", "your-photo")


# --- files ---------------------------------------------------------------------------------------

def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def photo(mode: str = "RGB", size: tuple[int, int] = (24, 16)) -> Image.Image:
    """A crop of the coffee photo with texture, in any Pillow mode."""
    crop = sample_photo("coffee")[150:150 + size[1], 250:250 + size[0]]
    return Image.fromarray(np.round(crop * 255).astype(np.uint8)).convert(mode)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_16_bit(array: np.ndarray) -> bytes:
    """A 16-bit gray (H, W) or color (H, W, 3) PNG, written by hand: Pillow cannot write 48-bit PNG."""
    height, width = array.shape[:2]
    rows = b"".join(b"\x00" + array[row].astype(">u2").tobytes() for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 2 if array.ndim == 3 else 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows)) + \
        png_chunk(b"IEND", b"")


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header claiming 10^10 pixels, with almost no data (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"")) + \
        png_chunk(b"IEND", b"")


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    return encode(photo("RGB", (24, 16)), "JPEG", exif=exif.tobytes())


BAD_FILES = {
    "empty.png": (b"", "is empty"),
    "notes.png": (b"just some text, not an image\n", "Not a readable image"),
    "truncated.png": (encode(photo("RGB", (64, 64)))[:400], "damaged or truncated"),
    "truncated.jpg": (encode(photo("RGB", (64, 64)), "JPEG")[:600], "damaged or truncated"),
    "bomb.png": (bomb_png(), "over the limit"),
}
"""Name -> (bytes, the words the one-line message must hold)."""

ramp16 = np.linspace(0, 65535, 16 * 24).reshape(16, 24).astype(np.uint16)
ODD_FILES = {
    "gray16.png": (png_16_bit(ramp16), (16, 24, 1)),
    "color16.png": (png_16_bit(np.stack([ramp16, ramp16[::-1], ramp16], axis=-1)), (16, 24, 3)),
    "gray16.tif": (encode(Image.fromarray(ramp16), "TIFF"), (16, 24, 1)),
    "rgba.png": (encode(photo("RGBA")), (16, 24, 3)),
    "la.png": (encode(photo("LA")), (16, 24, 1)),
    "palette.png": (encode(photo("P")), (16, 24, 3)),
    "cmyk.jpg": (encode(photo("CMYK"), "JPEG"), (16, 24, 3)),
    "rotated.jpg": (exif_rotated_jpeg(), (24, 16, 3)),
    "one-pixel.png": (encode(photo("L", (1, 1))), (1, 1, 1)),
    "tiny.png": (encode(photo("L", (7, 5))), (5, 7, 1)),
}
"""Name -> (bytes, the shape load_image gives: height, width, channels as stored)."""


# --- the command line ----------------------------------------------------------------------------

def run_main(capsys, *args) -> tuple[int, str]:
    """The CLI in this process (fast): its exit status and stderr; an uncaught exception fails the test."""
    code = cli.main([str(a) for a in args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", list(BAD_FILES))
@pytest.mark.parametrize("command", ["noise", "denoise"])
def test_the_cli_rejects_a_bad_file_with_one_line_and_writes_nothing(tmp_path, capsys, tiny_checkpoint, name, command):
    data, message = BAD_FILES[name]
    source = tmp_path / name
    source.write_bytes(data)
    target = tmp_path / "out.png"
    extra = ["--scenario", "gray-gaussian", "--model", tiny_checkpoint] if command == "denoise" else []
    code, err = run_main(capsys, command, source, "-o", target, *extra)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert str(source) in err  # names the file: a command may read several
    assert not target.exists()


def test_the_cli_process_exits_non_zero_without_a_traceback(tmp_path):
    """The same through a real process, for the bomb and a truncated JPEG given together."""
    for name in ("bomb.png", "truncated.jpg"):
        (tmp_path / name).write_bytes(BAD_FILES[name][0])
    good = tmp_path / "good.png"
    good.write_bytes(encode(photo("L")))
    result = subprocess.run([sys.executable, "-m", "denoiser", "denoise", good, tmp_path / "bomb.png",
                             tmp_path / "truncated.jpg", "-o", tmp_path / "outs", "--scenario", "gray-gaussian"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "over the limit" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "outs").exists()  # not even an empty output folder


@pytest.mark.parametrize("name", ["gray16.png", "color16.png", "rgba.png", "cmyk.jpg", "rotated.jpg", "one-pixel.png"])
def test_the_cli_adds_noise_to_odd_but_valid_images(tmp_path, capsys, name):
    from denoiser.images import load_image

    data, shape = ODD_FILES[name]
    source = tmp_path / name
    source.write_bytes(data)
    code, err = run_main(capsys, "noise", source, "-o", tmp_path / "noisy.png", "--variance", 2500)
    assert code == 0, err
    assert load_image(tmp_path / "noisy.png").shape == shape


@pytest.mark.parametrize("args", [["--variance", 0], ["--noise", "salt-pepper", "--density", 0],
                                  ["--noise", "salt-pepper", "--density", 1]])
def test_the_cli_takes_noise_parameters_at_their_limits(tmp_path, capsys, args):
    source = tmp_path / "in.png"
    source.write_bytes(encode(photo("L")))
    code, err = run_main(capsys, "noise", source, "-o", tmp_path / "noisy.png", *args)
    assert code == 0, err


# --- the pages -----------------------------------------------------------------------------------

@pytest.fixture
def app() -> AppTest:
    return started_app()


def upload(at: AppTest, page: str, name: str, data: bytes) -> AppTest:
    if page != "your-photo":
        at.radio(key=f"{page}:source").set_value("Upload").run()
    at.file_uploader(key=f"{page}:upload").set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception
    return at


def train(at: AppTest, page: str, epochs: int = 1) -> AppTest:
    at.number_input(key=f"{page}:epochs").set_value(epochs).run()
    at.button(key=f"{page}:train").click().run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    return at


def test_every_bad_file_gives_one_red_line_and_the_page_keeps_working(app):
    open_page(app, "gray-gaussian")
    for name, (data, message) in BAD_FILES.items():
        upload(app, "gray-gaussian", name, data)
        assert len(app.error) == 1, name
        assert app.error[0].value.startswith(f"Could not use {name}:") and message in app.error[0].value
        assert "\n" not in app.error[0].value
    upload(app, "gray-gaussian", "good.png", encode(photo("L", (16, 16))))
    assert not app.error and app.button(key="gray-gaussian:train")


@pytest.mark.parametrize("page", UPLOAD_PAGES[1:])
def test_the_other_upload_pages_show_the_error_too(app, page):
    open_page(app, page)
    upload(app, page, "bomb.png", BAD_FILES["bomb.png"][0])
    assert "Could not use bomb.png" in app.error[0].value and "over the limit" in app.error[0].value


def test_odd_but_valid_images_load_on_the_gray_and_color_pages(app):
    for page, channels in (("gray-gaussian", 1), ("color-gaussian", 3)):
        open_page(app, page)
        for name, (data, shape) in ODD_FILES.items():
            upload(app, page, name, data)
            assert not app.error, (page, name, app.error[0].value if app.error else "")
            image = app.session_state[f"{page}:upload-image"][1]
            assert image.shape == shape[:2] + (channels,), (page, name)
            assert image.dtype == np.float32 and 0.0 <= image.min() and image.max() <= 1.0


@pytest.mark.parametrize("name", ["one-pixel.png", "tiny.png"])
def test_images_smaller_than_the_training_crop_train_and_show_results(app, name):
    open_page(app, "gray-gaussian")
    upload(app, "gray-gaussian", name, ODD_FILES[name][0])
    train(app, "gray-gaussian")
    outcome = app.session_state["gray-gaussian:outcome"]
    assert outcome.denoised.shape == ODD_FILES[name][1] and np.isfinite(outcome.denoised).all()
    assert "PSNR denoised" in {m.label for m in app.metric}


@pytest.mark.parametrize("page, setting, value, split", [
    ("gray-gaussian", "variance", 0, (0.9, 0.9)),           # no noise; no validation pixels
    ("gray-gaussian", "variance", 2500, (1.0, 1.0)),        # the slider's maximum; every pixel trains
    ("gray-salt-pepper", "density", 0.0, (0.8, 0.9)),
    ("gray-salt-pepper", "density", 0.9, (0.05, 0.05)),     # the slider's maximum; the least training
])
def test_parameters_at_their_limits_give_a_result(app, page, setting, value, split):
    open_page(app, page)
    upload(app, page, "crop.png", encode(photo("L", (16, 16))))
    app.slider(key=f"{page}:{setting}").set_value(value).run()
    app.slider(key=f"{page}:split").set_value(split).run()
    train(app, page)
    assert not app.error
    outcome = app.session_state[f"{page}:outcome"]
    assert outcome.history[-1].epoch == 1 and np.isfinite(outcome.denoised).all()
    assert outcome.scores["validation"].pixels == round(16 * 16 * (split[1] - split[0]))
    if split[1] == 1.0:
        assert any(m.label == "Test MSE (0..255)" and m.value == "—" for m in app.metric)


def test_no_page_accepts_weights_or_other_non_image_uploads(app):
    """The app takes images only: uploaded weights (a pickle that could run code) have no way in.
    The core's safe loader refusing such a pickle is tested in tests/test_checkpoint.py."""
    for page in UPLOAD_PAGES:
        open_page(app, page)
        if page != "your-photo":
            app.radio(key=f"{page}:source").set_value("Upload").run()
        for uploader in app.get("file_uploader"):
            types = set(uploader.proto.type)
            assert types <= {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"}, (page, types)
            assert uploader.proto.max_upload_size_mb == 20


def test_an_upload_stays_in_its_session():
    first, second = (AppTest.from_file(ENTRY, default_timeout=TIMEOUT) for _ in range(2))
    for at in (first, second):
        at.run()
        open_page(at, "gray-gaussian")
    upload(first, "gray-gaussian", "private.png", encode(photo("L")))
    assert "gray-gaussian:upload-image" in first.session_state
    second.radio(key="gray-gaussian:source").set_value("Upload").run()
    assert "gray-gaussian:upload-image" not in second.session_state
    assert any("Choose an image file" in i.value for i in second.info)


def test_the_dashboard_writes_no_files():
    """Uploads are decoded in memory into session_state only: no file or temporary-file call anywhere."""
    sources = [*ROOT.glob("dashboard/*.py"), *ROOT.glob("app_pages/*.py"), ROOT / "streamlit_app.py"]
    pattern = re.compile(r"\bopen\(|write_bytes|write_text|tempfile|\.save\(|to_csv|mkdir|torch\.save")
    offenders = [f"{path.name}: {line.strip()}" for path in sources
                 for line in path.read_text().splitlines() if pattern.search(line)]
    assert not offenders


def test_the_dashboard_imports_pandas_before_any_session_draws_a_chart():
    """Two sessions drawing their first Plotly chart at once in a fresh server raced on importing pandas
    (Plotly takes it half-imported from sys.modules); the load test found it."""
    code = "import sys, dashboard.figures; sys.modules['pandas'].Series; print('pandas' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "True", result.stderr


def test_the_server_settings_keep_xsrf_protection_and_an_upload_limit():
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert settings["enableXsrfProtection"] is True
    assert settings["maxUploadSize"] == 20


# --- the training queue and the time cap on the page -----------------------------------------------

@pytest.fixture
def slots(monkeypatch) -> TrainingSlots:
    """Fresh process-wide slots for one test: one training at a time, a short time cap."""
    fresh = TrainingSlots(capacity=1, time_cap=60, max_waiting=2)
    monkeypatch.setattr(training_slots, "_slots", fresh)
    return fresh


def test_a_training_waits_for_a_free_slot_then_runs(app, slots):
    open_page(app, "gray-gaussian")
    upload(app, "gray-gaussian", "crop.png", encode(photo("L", (16, 16))))
    app.number_input(key="gray-gaussian:epochs").set_value(1).run()
    held = slots._join()
    assert slots._start(held, 1)  # another visitor is training
    threading.Timer(1.5, slots._leave, args=(held,)).start()
    app.button(key="gray-gaussian:train").click().run(timeout=TIMEOUT)
    assert not app.exception
    assert any(re.fullmatch(r"Waited \d+ s for a free training slot \(number 1 in line at the start\)\.", c.value)
               for c in app.caption)
    assert app.session_state["gray-gaussian:outcome"].history[-1].epoch == 1
    assert slots.running == 0 and slots.waiting == 0


def test_a_full_line_shows_busy_and_the_page_keeps_working(app, slots, monkeypatch):
    monkeypatch.setattr(slots, "max_waiting", 0)
    open_page(app, "gray-gaussian")
    held = slots._join()
    assert slots._start(held, 1)
    try:
        app.button(key="gray-gaussian:train").click().run()
    finally:
        slots._leave(held)
    assert not app.exception
    assert "The server is busy" in app.error[0].value
    assert "gray-gaussian:training" not in app.session_state


def test_the_time_cap_stops_a_training_and_keeps_its_best_model(app, slots, monkeypatch):
    monkeypatch.setattr(slots, "time_cap", 0.001)
    open_page(app, "gray-gaussian")
    upload(app, "gray-gaussian", "crop.png", encode(photo("L", (16, 16))))
    train(app, "gray-gaussian", epochs=500)
    outcome = app.session_state["gray-gaussian:outcome"]
    assert outcome.stopped and outcome.history[-1].epoch < 500
    assert outcome.settings["stopped_by"] == "time cap of 0.001 s"
    assert any("time cap of 0.001 s per training" in w.value for w in app.warning)
    assert any("Stopped in epoch 1 of 500" in w.value for w in app.warning)


# --- in a real browser -----------------------------------------------------------------------------

try:
    from test_browser import CHROMIUM, browser, page, server  # noqa: F401  (fixtures)
except pytest.skip.Exception:  # no Playwright
    CHROMIUM = ""

needs_chromium = pytest.mark.skipif(not CHROMIUM or not Path(CHROMIUM).exists(), reason="needs Playwright and Chromium")


@needs_chromium
def test_in_the_browser_oversized_and_wrong_files_are_refused_and_the_page_keeps_working(server, page, tmp_path):
    page.goto(f"{server}/gray-gaussian")
    page.get_by_role("button", name="Train", exact=True).wait_for()
    page.get_by_test_id("stRadio").first.get_by_text("Upload", exact=True).click()
    chooser = page.locator("input[type=file]").first

    big = tmp_path / "huge.png"
    big.write_bytes(encode(photo("L", (64, 64))) + bytes(21 * 1024 * 1024))  # over the 20 MB limit
    chooser.set_input_files(str(big))
    page.get_by_text("File must be 20.0MB or smaller.").wait_for()

    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    chooser.set_input_files(str(text))
    page.get_by_text(re.compile(r"not allowed")).first.wait_for()

    junk = tmp_path / "notes.png"
    junk.write_bytes(b"not an image either")
    chooser.set_input_files(str(junk))
    error = page.get_by_test_id("stAlertContentError").first
    error.wait_for()
    assert "Could not use notes.png: Not a readable image" in error.inner_text()
    assert page.get_by_test_id("stException").count() == 0

    good = tmp_path / "good.png"
    good.write_bytes(encode(photo("L", (32, 32))))
    chooser.set_input_files(str(good))
    page.get_by_text("Noisy · PSNR").wait_for()


@needs_chromium
def test_an_upload_request_without_the_xsrf_token_is_refused(server):
    request = urllib.request.Request(f"{server}/_stcore/upload_file/some-session/some-file", data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
