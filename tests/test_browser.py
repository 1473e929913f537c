"""Real-browser test: `streamlit run` on a free port, Chromium driven by Playwright through every page.

Each scenario page takes an upload through the file chooser, trains with the quick preset cut to
one epoch, shows the PSNR tiles, images and plots, and hands out a PNG download. Screenshots go
to $SCREENSHOTS_DIR (docs/screenshots for the README) or to a temporary folder.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from denoiser.models.bundled import pretrained_path
from denoiser.samples import sample_photo

sync_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCENARIO_PAGES = {"gray-gaussian": "camera", "gray-salt-pepper": "camera", "color-gaussian": "chelsea"}
CROPS = {"camera": (60, 190), "chelsea": (60, 150)}
"""Top-left corners of 64x64 crops with texture and edges (hair, fur), where denoising shows."""
TRAINING = 240_000  # ms: one epoch on a 64x64 image, on a loaded 2-core machine

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium at /usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            pytest.fail(f"streamlit did not start:\n{process.stdout.read().decode(errors='replace')[-3000:]}")
        time.sleep(0.5)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def png_upload(folder: Path, photo: str, sigma: float = 0.0) -> Path:
    """A 64x64 crop of a sample photo (with Gaussian noise of `sigma` on the 0..255 scale), as a file."""
    top, left = CROPS[photo]
    crop = sample_photo(photo)[top:top + 64, left:left + 64]
    crop = np.clip(crop + np.random.default_rng(0).normal(0, sigma / 255, crop.shape), 0, 1)
    array = np.round(crop * 255).astype(np.uint8)
    path = folder / f"{photo}-64{'-noisy' if sigma else ''}.png"
    Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(path)
    return path


def wait_until_idle(page) -> None:
    """Streamlit shows its status widget while a script runs."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=TRAINING)


def assert_no_exception(page) -> None:
    assert page.get_by_test_id("stException").count() == 0, page.get_by_test_id("stException").first.inner_text()


def metric_value(page, label: str) -> float:
    tile = page.get_by_test_id("stMetric").filter(has_text=label).first
    text = tile.get_by_test_id("stMetricValue").inner_text()
    return float(re.search(r"-?\d+(\.\d+)?", text).group())


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main container, so grow the viewport to fit it."""
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(1000, height), 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)


def upload(page, path: Path) -> None:
    page.get_by_test_id("stRadio").first.get_by_text("Upload", exact=True).click()
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.get_by_text("Noisy · PSNR").wait_for()
    wait_until_idle(page)


def set_number(page, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_until_idle(page)


@pytest.mark.parametrize("key", list(SCENARIO_PAGES))
def test_scenario_page_uploads_trains_and_downloads(server, page, shots, tmp_path, key):
    page.goto(f"{server}/{key}")
    page.get_by_role("button", name="Train", exact=True).wait_for()
    upload(page, png_upload(tmp_path, SCENARIO_PAGES[key]))
    set_number(page, "Epochs", 1)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_test_id("stMetric").filter(has_text="PSNR denoised").wait_for(timeout=TRAINING)
    wait_until_idle(page)
    assert_no_exception(page)
    noisy, denoised = metric_value(page, "PSNR noisy"), metric_value(page, "PSNR denoised")
    assert 5 < noisy < 40 and 5 < denoised < 60
    assert pretrained_path(key).is_file()  # fine-tuned from the bundled weights: a real gain
    assert denoised > noisy
    assert page.get_by_text("Trained 1 of 1 epochs on").is_visible()
    page.locator(".js-plotly-plot").first.wait_for()  # the before/after comparison
    page.get_by_role("tab", name="Residual and error").click()
    page.get_by_text("Residual: noisy − denoised").wait_for()

    with page.expect_download() as download:
        page.get_by_role("button", name="Denoised PNG").click()
    saved = tmp_path / "denoised.png"
    download.value.save_as(saved)
    assert Image.open(saved).size == (64, 64)
    page.get_by_role("tab", name="Before / after").click()
    screenshot(page, shots / f"{key}.png")


def test_bundled_weights_denoise_a_sample_photo_at_once(server, page, shots):
    page.goto(f"{server}/gray-gaussian")
    page.get_by_role("button", name="Denoise now with the bundled weights").click()
    page.get_by_test_id("stMetric").filter(has_text="PSNR denoised").wait_for(timeout=TRAINING)
    wait_until_idle(page)
    assert_no_exception(page)
    assert page.get_by_text("Bundled weights on camera (256×256)").is_visible()
    assert metric_value(page, "PSNR denoised") > metric_value(page, "PSNR noisy")
    screenshot(page, shots / "gray-gaussian-bundled.png")


def test_stop_keeps_the_best_model_so_far(server, page, tmp_path):
    page.goto(f"{server}/gray-gaussian")
    upload(page, png_upload(tmp_path, "camera"))
    set_number(page, "Epochs", 500)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("validation PSNR").first.wait_for(timeout=TRAINING)  # at least one epoch ended
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Stopped in epoch").wait_for(timeout=TRAINING)
    wait_until_idle(page)
    assert_no_exception(page)
    summary = page.get_by_text("Stopped in epoch").inner_text()
    stopped_in = int(re.search(r"Stopped in epoch (\d+) of 500", summary).group(1))
    best = int(re.search(r"kept the best model so far \(epoch (\d+)\)", summary).group(1))
    assert 1 <= best <= stopped_in < 500
    assert pretrained_path("gray-gaussian").is_file()  # trained from the bundled weights: a real gain
    assert metric_value(page, "PSNR denoised") > metric_value(page, "PSNR noisy")


def test_home_links_every_page(server, page, shots):
    page.goto(server)
    page.get_by_text("LSTM image-denoising lab").first.wait_for()
    for title in ("Gray · Gaussian", "Gray · Salt & pepper", "Color · Gaussian", "Your photo", "Benchmark"):
        page.get_by_test_id("stPageLink").filter(has_text=title).first.wait_for()
    page.get_by_test_id("stImage").nth(2).wait_for()  # clean, noisy, denoised: a stored picture
    assert page.get_by_text("Denoised by the bundled LSTM").is_visible()
    wait_until_idle(page)
    assert_no_exception(page)
    screenshot(page, shots / "home.png")
    page.get_by_test_id("stPageLink").filter(has_text="Color · Gaussian").first.click()
    page.wait_for_url(re.compile(r".*/color-gaussian$"))


def test_no_page_requests_another_host(server, page):
    """The lab works offline: every request of every page, with results drawn, goes to the server
    itself (a ":material/...:" page icon made the browser fetch it from fonts.gstatic.com)."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server)
    page.get_by_test_id("stImage").nth(2).wait_for()
    wait_until_idle(page)
    page.goto(f"{server}/gray-gaussian")
    page.get_by_role("button", name="Denoise now with the bundled weights").click()
    page.locator(".js-plotly-plot").first.wait_for(timeout=TRAINING)
    wait_until_idle(page)
    for path in ("your-photo", "benchmark"):
        page.goto(f"{server}/{path}")
        page.get_by_test_id("stHeading").first.wait_for()
        wait_until_idle(page)
    page.wait_for_timeout(1000)
    assert any("/media/" in url for url in requested)  # the page icon, served by the lab
    assert [url for url in requested if not url.startswith(server)] == []


def test_nothing_is_cut_at_an_edge(server, browser):
    """On a 1000-pixel-wide window the before/after slider's labels ("100%" included) lie inside
    their figure, and the Benchmark page's chips show their whole names (in a third of the page
    they read "co…")."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server}/benchmark")
        page.get_by_role("button", name="Run benchmark").wait_for()
        wait_until_idle(page)
        chips = page.locator("[data-testid=stMultiSelect] span[title]")
        assert chips.count() >= 5
        assert chips.evaluate_all("spans => spans.filter(s => s.scrollWidth > s.clientWidth).map(s => s.title)") == []
        page.goto(f"{server}/gray-gaussian")
        page.get_by_role("button", name="Denoise now with the bundled weights").click()
        page.locator(".slider-label").last.wait_for(timeout=TRAINING)
        wait_until_idle(page)
        figure = page.locator(".js-plotly-plot").filter(has=page.locator(".slider-label")).first
        box = figure.bounding_box()
        labels = figure.locator(".slider-label").evaluate_all(
            "labels => labels.map(l => [l.textContent, l.getBoundingClientRect().left, l.getBoundingClientRect().right])")
        assert "100%" in [text for text, _, _ in labels]
        assert all(box["x"] <= left and right <= box["x"] + box["width"] for _, left, right in labels), labels
    finally:
        context.close()


def test_your_photo_page_denoises_an_upload(server, page, shots, tmp_path):
    page.goto(f"{server}/your-photo")
    page.locator("input[type=file]").first.set_input_files(str(png_upload(tmp_path, "camera", sigma=15)))
    label = page.get_by_text(re.compile(r"estimated \d")).inner_text()
    assert 10 < float(re.search(r"estimated ([\d.]+)", label).group(1)) < 20  # blind estimate of the added 15
    page.get_by_role("button", name="Denoise", exact=True).click()
    page.get_by_test_id("stMetric").filter(has_text="Noise estimate after").wait_for(timeout=TRAINING)
    wait_until_idle(page)
    assert_no_exception(page)
    screenshot(page, shots / "your-photo.png")


def test_your_photo_page_denoises_a_camera_jpeg_with_the_camera_model(server, page, tmp_path):
    """A phone-like JPEG (simulated camera at gain 0.8, JPEG quality 85) starts with the camera model,
    denoised blind: the downloaded PNG is closer to the camera's noiseless reference than the upload."""
    from denoiser.evaluation.metrics import psnr
    from denoiser.images import load_image
    from denoiser.noise import CameraNoise

    reference, noisy = CameraNoise(0.8, 85).pair(sample_photo("chelsea")[40:168, 100:228], np.random.default_rng(0))
    path = tmp_path / "phone.jpg"
    Image.fromarray(np.round(noisy * 255).astype(np.uint8)).save(path, quality=95)
    page.goto(f"{server}/your-photo")
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.get_by_text("The camera model, blind").wait_for()  # a color upload starts with it
    assert page.get_by_text(re.compile(r"Noise level sigma")).count() == 0  # blind: no noise level to set
    page.get_by_role("button", name="Denoise", exact=True).click()
    page.get_by_test_id("stMetric").filter(has_text="Noise estimate after").wait_for(timeout=TRAINING)
    wait_until_idle(page)
    assert_no_exception(page)
    assert page.get_by_text("phone.jpg, color, from a camera, denoised blind.").is_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Denoised PNG").click()
    download.value.save_as(tmp_path / "denoised.png")
    uploaded, denoised = load_image(path, 3), load_image(tmp_path / "denoised.png", 3)
    assert psnr(reference, denoised) > psnr(reference, uploaded) + 3.3  # +3.62 dB measured


def test_benchmark_page_runs_and_charts(server, page, shots):
    page.goto(f"{server}/benchmark")
    page.get_by_role("button", name="Run benchmark").wait_for()
    slider = page.get_by_test_id("stSlider").filter(has_text="Largest side")
    slider.get_by_role("slider").press("Home")  # 256 -> 64 pixels
    sync_api.expect(slider.get_by_test_id("stSliderThumbValue")).to_have_text("64")
    page.wait_for_timeout(500)  # the slider sends its value after a short pause
    wait_until_idle(page)
    page.get_by_role("button", name="Run benchmark").click()
    page.get_by_text("runs.", exact=False).first.wait_for(timeout=TRAINING)
    wait_until_idle(page)
    assert_no_exception(page)
    assert "at most 64 px" in page.get_by_test_id("stAlertContentSuccess").inner_text()
    page.locator(".js-plotly-plot").nth(2).wait_for()  # mean, speed and per-image charts
    screenshot(page, shots / "benchmark.png")
