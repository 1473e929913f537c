"""Streamlit AppTest: every page runs headless in-process, with real widgets and the real core.

Scenario pages get a small upload (48x48) and train one epoch, so each test takes seconds.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from apptest_tools import ENTRY, TIMEOUT, open_page, started_app
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard.training_settings import MAX_EPOCHS, NOTEBOOK_PRESET, counted, preset_values
from denoiser.inference.precision import bundled_inference
from denoiser.models.bundled import load_pretrained, pretrained_path
from denoiser.samples import sample_photo
from denoiser.scenarios import SCENARIOS
from denoiser.training.presets import PRESETS


PSNR_AFTER_ONE_EPOCH = {"gray-gaussian": (22.22, 29.49), "gray-salt-pepper": (12.00, 34.96),
                        "color-gaussian": (22.46, 35.59), "color-camera": (25.52, 32.90)}
"""(noisy, denoised) dB the scenario pages show for their 48x48 test crop after one epoch from the
bundled weights, as measured (variance 400, density 0.2, or camera gain 0.8 with JPEG 80)."""


def png_bytes(photo: str = "camera", size: tuple[int, int] = (48, 48), gray: bool | None = None) -> bytes:
    """A crop of a sample photo as PNG bytes (gray=True forces one channel, False forces RGB)."""
    crop = sample_photo(photo)[120:120 + size[1], 220:220 + size[0]]
    array = np.round(crop * 255).astype(np.uint8)
    image = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    if gray is not None:
        image = image.convert("L" if gray else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def app() -> AppTest:
    return started_app()


def upload(at: AppTest, key: str, data: bytes, name: str = "photo.png") -> AppTest:
    at.radio(key=f"{key}:source").set_value("Upload").run()
    at.file_uploader(key=f"{key}:upload").set_value((name, data, "image/png"))
    return at.run()


def train_one_epoch(at: AppTest, key: str, noise_widget: str, level: float) -> AppTest:
    """Upload a camera crop to a scenario page, set its noise slider, and train for one epoch."""
    open_page(at, key)
    upload(at, key, png_bytes())
    at.slider(key=f"{key}:{noise_widget}").set_value(level).run()
    at.number_input(key=f"{key}:epochs").set_value(1).run()
    return at.button(key=f"{key}:train").click().run(timeout=TIMEOUT)


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def decibels(text: str) -> float:
    return float(text.split()[0])


def test_home_shows_the_picture_and_links_every_page(app):
    assert app.title[0].value == "LSTM image-denoising lab"
    links = [link.proto.page for link in app.get("page_link")]
    assert set(links) >= {*SCENARIOS, "your-photo", "benchmark"}  # the url paths
    assert [i.proto.imgs[0].caption for i in app.image] == [
        "Clean (held-out photo)", "Noisy, sigma 20", "Denoised by the bundled LSTM"]


def python_output(code: str) -> str:
    """What `code` prints, run in a fresh interpreter beside the app (it must succeed)."""
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(ENTRY).parent, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_home_page_draws_without_torch_or_the_baselines():
    """The first view after a server start is Home: it waits for no model and no heavy import
    (docs/benchmarks/first_view.json has the seconds)."""
    code = ("import sys; from streamlit.testing.v1 import AppTest; "
            "at = AppTest.from_file('streamlit_app.py', default_timeout=60); at.run(); "
            "assert not at.exception and at.title[0].value == 'LSTM image-denoising lab'; "
            "print(sorted(m for m in ('torch', 'bm3d', 'skimage.restoration', 'scipy.stats') if m in sys.modules))")
    assert python_output(code) == "[]"


def test_the_thread_count_is_set_while_another_session_imports_torch():
    """Every run of the entry point sets torch's thread count; a session's first run while another
    session's page is importing torch met a half-initialised module ("partially initialized
    module 'torch' has no attribute 'get_num_threads'", six of ten visitors in the load test)."""
    code = ("import sys, threading; from dashboard.torch_threads import use_torch_threads\n"
            "importing = threading.Thread(target=lambda: __import__('torch')); importing.start()\n"
            "while importing.is_alive(): use_torch_threads()\n"
            "use_torch_threads(); import torch; print(torch.get_num_threads())")
    assert python_output(code) == "1"


def test_the_home_picture_is_what_the_bundled_weights_give():
    """The Home page shows a stored picture (no torch at first view); after new weights,
    `python scripts/home_picture.py` writes it again."""
    from dashboard.home_picture import PICTURE, make_picture
    from denoiser.images import load_image

    stored, expected = load_image(PICTURE, channels=1), make_picture()
    assert stored.shape == expected.shape == (256, 768, 1)
    assert np.abs(stored - expected).max() <= 1 / 255 + 1e-6  # the PNG's 8 bits
    clean, noisy, denoised = np.split(stored, 3, axis=1)
    assert np.mean((denoised - clean) ** 2) < np.mean((noisy - clean) ** 2) / 4  # over 6 dB better


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_each_scenario_page_trains_and_shows_results(app, key):
    open_page(app, key)
    upload(app, key, png_bytes("coffee" if SCENARIOS[key].channels == 3 else "camera"))
    assert not app.error
    if SCENARIOS[key].noise_kind == "gaussian":
        app.slider(key=f"{key}:variance").set_value(400).run()
        assert any("sigma = √400 = **20.0**" in c.value for c in app.caption)
    elif SCENARIOS[key].noise_kind == "camera":
        app.slider(key=f"{key}:gain").set_value(0.8).run()
        app.slider(key=f"{key}:jpeg").set_value(80).run()
        assert app.image[0].proto.imgs[0].caption == "Reference (the camera without noise)"
    else:
        app.slider(key=f"{key}:density").set_value(0.2).run()
    app.number_input(key=f"{key}:epochs").set_value(1).run()
    app.button(key=f"{key}:train").click().run(timeout=TIMEOUT)
    assert not app.exception, app.exception

    tiles = metrics(app)
    assert {"PSNR noisy", "PSNR denoised", "SSIM denoised", "Test MSE (0..255)", "Time"} <= set(tiles)
    noisy, denoised = decibels(tiles["PSNR noisy"][0]), decibels(tiles["PSNR denoised"][0])
    expected_noisy, expected_denoised = PSNR_AFTER_ONE_EPOCH[key]
    assert noisy == pytest.approx(expected_noisy, abs=0.05)  # seeded noise
    assert pretrained_path(key).is_file()  # fine-tuned from the bundled weights: a real gain
    assert denoised == pytest.approx(expected_denoised, abs=0.3)
    outcome = app.session_state[f"{key}:outcome"]
    assert outcome.action == "trained" and outcome.denoised.shape == outcome.clean.shape
    assert outcome.denoised.shape[:2] == (48, 48) and outcome.denoised.shape[2] == SCENARIOS[key].channels
    assert outcome.history and outcome.history[-1].epoch == 1 and outcome.best_epoch == 1
    assert float(tiles["Test MSE (0..255)"][0]) == pytest.approx(outcome.scores["test"].denoised_mse, abs=0.05)
    labels = [d.proto.label for d in app.get("download_button")]
    assert labels == ["Denoised PNG", "Weights (.pt)", "Metrics (JSON)"]
    assert len(app.get("plotly_chart")) >= 4  # comparison, residual, error, histogram (+ loss)
    assert [t.label for t in app.tabs][:2] == ["Before / after", "Residual and error"]


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_bundled_weights_denoise_a_sample_photo_at_once(app, key):
    open_page(app, key)
    app.button(key=f"{key}:bundled").click().run()
    assert not app.exception
    tiles = metrics(app)
    assert decibels(tiles["PSNR denoised"][0]) > decibels(tiles["PSNR noisy"][0])
    assert tiles["PSNR denoised"][1].startswith("+")
    outcome = app.session_state[f"{key}:outcome"]
    assert outcome.action == "bundled" and max(outcome.clean.shape[:2]) == 256  # downscaled sample
    assert any("Downscaled from" in i.value for i in app.info)
    metrics_json = json.loads(json.dumps(outcome.metrics()))
    assert set(metrics_json["scores"]) == {"all", "train", "validation", "test"}
    assert outcome.settings["inference"] == bundled_inference(SCENARIOS[key]).label


def test_a_bad_upload_shows_the_error_and_the_page_keeps_running(app):
    open_page(app, "gray-gaussian")
    upload(app, "gray-gaussian", b"this is not an image", name="notes.png")
    assert not app.exception
    assert "Could not use notes.png" in app.error[0].value and "Not a readable image" in app.error[0].value
    assert not [b for b in app.button if b.key == "gray-gaussian:train"]
    app.radio(key="gray-gaussian:source").set_value("Sample photo").run()
    assert not app.error and app.button(key="gray-gaussian:train")


def test_uploads_are_converted_to_the_page_channels_and_downscaled(app):
    open_page(app, "gray-gaussian")
    upload(app, "gray-gaussian", png_bytes("coffee", size=(300, 200)))
    assert any("converted from color to gray" in c.value for c in app.caption)
    assert any("Downscaled from 300×200 to 256×171" in i.value for i in app.info)
    open_page(app, "color-gaussian")
    upload(app, "color-gaussian", png_bytes("camera", gray=True))
    assert any("replicated to three channels" in c.value for c in app.caption)


def test_the_notebook_preset_sets_the_original_settings(app):
    open_page(app, "color-gaussian")
    app.radio(key="color-gaussian:preset").set_value(NOTEBOOK_PRESET).run()
    assert app.selectbox(key="color-gaussian:architecture").value == "row"
    assert app.number_input(key="color-gaussian:epochs").value == 60
    assert app.number_input(key="color-gaussian:time_limit").value == 120  # what a person waits for
    batch = app.select_slider(key="color-gaussian:batch")
    assert batch.value == 8 and "rows of 32 pixels" in batch.label  # the notebook's color batch, in sequences
    assert app.select_slider(key="color-gaussian:lr").value == pytest.approx(1e-3)
    assert tuple(app.slider(key="color-gaussian:split").value) == pytest.approx((0.8, 0.9))
    assert app.checkbox(key="color-gaussian:from_bundled").value is False
    assert any("An epoch is one pass over the training pixels" in c.value for c in app.caption)


def test_the_scratch_preset_on_the_color_page_fits_its_1500_epochs_in_the_field(app):
    open_page(app, "color-gaussian")
    app.radio(key="color-gaussian:preset").set_value("scratch").run()
    assert not app.exception
    assert app.selectbox(key="color-gaussian:architecture").value == "renet"
    assert app.number_input(key="color-gaussian:epochs").value == 1500 <= MAX_EPOCHS
    assert app.number_input(key="color-gaussian:time_limit").value == 120  # the time ends it first
    for scenario in SCENARIOS.values():  # every preset's cap fits the field on every page
        assert all(preset_values(key, scenario, None)["epochs"] <= MAX_EPOCHS for key in PRESETS)


def test_the_quick_preset_on_the_gray_page_fine_tunes_the_bundled_unet(app):
    open_page(app, "gray-gaussian")
    assert app.radio(key="gray-gaussian:preset").value == "quick"
    architecture = app.selectbox(key="gray-gaussian:architecture")
    assert architecture.value == "unet" and "U-net" in architecture.format_func(architecture.value)
    assert app.select_slider(key="gray-gaussian:hidden").value == 48
    assert app.checkbox(key="gray-gaussian:from_bundled").value is True
    architecture.set_value("renet").run()  # another network trains from scratch
    assert app.checkbox(key="gray-gaussian:from_bundled").value is False
    assert any("The bundled model is unet with hidden size 48" in c.value for c in app.caption)
    assert not app.exception


def test_counts_read_as_english():
    assert [counted(1, "step"), counted(3120, "step"), counted(0, "validation check")] == \
        ["1 step", "3,120 steps", "0 validation checks"]


def test_the_page_says_what_a_run_will_cost_before_train(app):
    key = "gray-gaussian"
    open_page(app, key)
    upload(app, key, png_bytes(size=(64, 48)))
    app.radio(key=f"{key}:preset").set_value(NOTEBOOK_PRESET).run()
    app.number_input(key=f"{key}:epochs").set_value(10).run()
    cost = [c.value for c in app.caption if c.value.startswith("This run: ")]
    per_epoch = -(-round(64 * 48 * 0.8) // (32 * 32))  # one pass over the training pixels, 32 rows of 32
    assert len(cost) == 1 and f"This run: {10 * per_epoch} steps (10 epochs of {per_epoch}) and 10 validation" in cost[0]
    seconds = float(cost[0].split("about ")[1].split(" s")[0])
    assert 0 <= seconds < 120


def test_the_page_and_fit_give_the_same_numbers_for_the_same_seed(app, tmp_path):
    """The page and `python -m denoiser fit` build the run through denoiser.training.experiment."""
    key, data = "gray-gaussian", png_bytes(size=(48, 40))
    open_page(app, key)
    upload(app, key, data)
    app.radio(key=f"{key}:preset").set_value(NOTEBOOK_PRESET).run()
    app.number_input(key=f"{key}:seed").set_value(3).run()
    app.number_input(key=f"{key}:epochs").set_value(2).run()
    app.button(key=f"{key}:train").click().run(timeout=TIMEOUT)
    assert not app.exception, app.exception
    page = app.session_state[f"{key}:outcome"].scores
    (tmp_path / "photo.png").write_bytes(data)
    result = subprocess.run([sys.executable, "-m", "denoiser", "fit", tmp_path / "photo.png", "--scenario", key,
                             "--preset", "notebook", "--epochs", "2", "--seed", "3", "--threads", "1",
                             "--json", tmp_path / "m.json"], cwd=Path(ENTRY).parent, capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    fit = json.loads((tmp_path / "m.json").read_text())["splits"]
    for split in ("train", "validation", "test", "all"):
        assert fit[split]["noisy_psnr"] == pytest.approx(page[split].noisy_psnr, abs=1e-9)
        assert fit[split]["denoised_psnr"] == pytest.approx(page[split].denoised_psnr, abs=1e-4)
    assert page["test"].denoised_psnr != pytest.approx(page["test"].noisy_psnr, abs=0.01)  # it did train
    table = app.dataframe[0].value  # beside the result: the notebook's reported test MSE and this run's
    assert list(table["on the test pixels"]) == ["Original notebook (reported)", "Noisy input", "LSTM (trained here)"]
    assert list(table["MSE (0..255)"])[0] == 8953.0
    assert list(table["MSE (0..255)"])[2] == pytest.approx(page["test"].denoised_mse, abs=0.05)


def test_results_and_settings_survive_a_page_switch(app):
    train_one_epoch(app, "gray-salt-pepper", "density", 0.3)
    before = metrics(app)["PSNR denoised"]
    open_page(app, "benchmark")
    open_page(app, "gray-salt-pepper")
    assert metrics(app)["PSNR denoised"] == before
    assert app.slider(key="gray-salt-pepper:density").value == pytest.approx(0.3)


def test_baselines_run_beside_the_lstm(app):
    train_one_epoch(app, "gray-gaussian", "variance", 900)
    app.multiselect(key="gray-gaussian:baselines").set_value(["median", "gaussian-blur"]).run()
    app.button(key="gray-gaussian:run-baselines").click().run(timeout=TIMEOUT)
    assert not app.exception
    table = app.dataframe[-1].value
    assert list(table["method"]) == ["Noisy input", "LSTM (trained here)", "Median 3×3", "Gaussian blur"]
    assert (table["PSNR (dB)"].iloc[2:] > table["PSNR (dB)"].iloc[0]).all()  # both filters help at sigma 30


def test_the_camera_page_compares_blind_baselines_at_the_estimated_sigma(app):
    """Camera noise has no sigma to give: CBM3D and the Gaussian LSTM run at the blind estimate, and the
    noisy image and the scores are against the camera's noiseless reference, not the upload."""
    key = "color-camera"
    open_page(app, key)
    upload(app, key, png_bytes("coffee", size=(64, 64)))
    app.slider(key=f"{key}:gain").set_value(0.9).run()
    app.slider(key=f"{key}:jpeg").set_value(0).run()
    assert any("correlated between neighbouring pixels and channels" in c.value for c in app.caption)
    app.number_input(key=f"{key}:epochs").set_value(1).run()
    app.button(key=f"{key}:train").click().run(timeout=TIMEOUT)
    assert not app.exception, app.exception
    outcome = app.session_state[f"{key}:outcome"]
    from denoiser.images import load_image

    uploaded = load_image(png_bytes("coffee", size=(64, 64)))
    assert np.abs(outcome.clean - uploaded).mean() > 1 / 255  # scored against the camera's reference, not the upload
    assert app.multiselect(key=f"{key}:baselines").value == ["bm3d", "gaussian-lstm", "nlm", "wavelet"]
    app.multiselect(key=f"{key}:baselines").set_value(["bm3d", "gaussian-lstm"]).run()
    app.button(key=f"{key}:run-baselines").click().run(timeout=TIMEOUT)
    assert not app.exception, app.exception
    table = app.dataframe[-1].value
    assert list(table["method"]) == ["Noisy input", "LSTM (trained here)", "BM3D", "LSTM for Gaussian noise (bundled)"]
    from denoiser.evaluation.baselines import run_baseline
    from denoiser.evaluation.metrics import psnr

    expected, _ = run_baseline("bm3d", outcome.noisy, 0.0)  # the blind estimate, as the page ran it
    assert table["PSNR (dB)"].iloc[2] == pytest.approx(psnr(outcome.clean, expected), abs=0.01)


def test_denoise_now_after_training_keeps_both_results_and_the_baselines(app):
    """The bundled result replaces a trained one on the same noisy image and says so; the trained
    result stays in the table beside it, with the baselines already run (the button agrees)."""
    train_one_epoch(app, "gray-gaussian", "variance", 900)
    trained = app.session_state["gray-gaussian:outcome"]
    app.multiselect(key="gray-gaussian:baselines").set_value(["median"]).run()
    app.button(key="gray-gaussian:run-baselines").click().run(timeout=TIMEOUT)
    app.button(key="gray-gaussian:bundled").click().run(timeout=TIMEOUT)
    assert not app.exception
    outcome = app.session_state["gray-gaussian:outcome"]
    assert outcome.action == "bundled" and outcome.beside.action == "trained"
    assert any("replaced the one of LSTM (trained here)" in i.value for i in app.info)
    table = app.dataframe[-1].value
    assert list(table["method"]) == ["Noisy input", "LSTM (bundled weights)", "LSTM (trained here), earlier",
                                     "Median 3×3"]
    assert table["PSNR (dB)"].iloc[2] == pytest.approx(trained.scores["all"].denoised_psnr, abs=0.005)
    assert app.button(key="gray-gaussian:run-baselines").label == "Baselines up to date"
    app.number_input(key="gray-gaussian:seed").set_value(1).run()  # another noisy image: nothing carried over
    app.button(key="gray-gaussian:bundled").click().run(timeout=TIMEOUT)
    assert app.session_state["gray-gaussian:outcome"].beside is None
    assert app.button(key="gray-gaussian:run-baselines").label == "Run 1 baseline(s)"


def test_no_page_writes_the_docstrings_under_its_constants(app):
    """Streamlit's "magic" writes a page script's bare strings; .streamlit/config.toml turns it off."""
    import ast

    for page in sorted((Path(__file__).resolve().parents[1] / "app_pages").glob("*.py")):
        body = ast.parse(page.read_text()).body[1:]  # the module docstring is never written
        strings = {node.value.value for node in body if isinstance(node, ast.Expr)
                   and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
        open_page(app, page.stem.replace("_", "-"))
        shown = {element.value for element in [*app.markdown, *app.caption]}
        assert not strings & shown, page.name


def test_your_photo_page_denoises_an_upload(app):
    open_page(app, "your-photo")
    app.file_uploader(key="your-photo:upload").set_value(("photo.png", png_bytes(size=(64, 64)), "image/png"))
    app.run()
    app.button(key="your-photo:denoise").click().run()
    assert not app.exception
    tiles = metrics(app)
    assert float(tiles["Noise estimate after"][0]) <= float(tiles["Noise estimate before"][0])
    assert app.session_state["your-photo:outcome"].denoised.shape == (64, 64, 1)
    charts = " ".join(chart.proto.spec for chart in app.get("plotly_chart"))
    assert "Removed: photo" in charts and "Removed noise: standard deviation" in charts  # map and histogram


def test_your_photo_page_takes_the_kind_of_photo_from_the_upload(app):
    """A color file is denoised in color (by the camera model) unless the visitor picks gray; a gray file stays gray."""
    open_page(app, "your-photo")
    app.file_uploader(key="your-photo:upload").set_value(("color.png", png_bytes("coffee", gray=False), "image/png"))
    app.run()
    assert app.radio(key="your-photo:kind").value == "color-camera"
    app.button(key="your-photo:denoise").click().run()
    assert app.session_state["your-photo:outcome"].denoised.shape == (48, 48, 3)
    app.radio(key="your-photo:kind").set_value("gray-gaussian").run()  # the visitor may still choose gray
    assert any("converted from color to gray" in c.value for c in app.caption)
    app.file_uploader(key="your-photo:upload").set_value(("gray.png", png_bytes("camera", gray=True), "image/png"))
    app.run()
    assert app.radio(key="your-photo:kind").value == "gray-gaussian" and not app.exception


def test_your_photo_page_starts_a_color_upload_with_the_camera_model_blind_and_says_why(app):
    """A color upload starts as 'Color, from a camera': the camera model at no noise level (no slider, no
    Adapt); the page says which model it used and why; the Gaussian one stays a choice away."""
    open_page(app, "your-photo")
    app.file_uploader(key="your-photo:upload").set_value(("color.png", png_bytes("coffee", gray=False), "image/png"))
    app.run()
    assert app.radio(key="your-photo:kind").value == "color-camera"
    assert any("the default for color photos, as it beats the color Gaussian model" in c.value for c in app.caption)
    assert not [s for s in app.slider if s.label.startswith("Noise level sigma")]
    assert app.button(key="your-photo:adapt").disabled
    assert any("not real noisy/clean pairs" in c.value for c in app.caption)
    app.button(key="your-photo:denoise").click().run()
    assert not app.exception
    result = app.session_state["your-photo:outcome"]
    from denoiser.inference.tiled import denoise
    from denoiser.models.bundled import load_pretrained

    np.testing.assert_allclose(result.denoised, denoise(load_pretrained("color-camera").model, result.photo, 0.0),
                               atol=1e-6)
    app.radio(key="your-photo:kind").set_value("color-gaussian").run()
    assert [s for s in app.slider if s.label.startswith("Noise level sigma")]
    app.file_uploader(key="your-photo:upload").set_value(("other.png", png_bytes("chelsea", gray=False), "image/png"))
    app.run()
    assert app.radio(key="your-photo:kind").value == "color-gaussian"  # a new color file keeps the chosen color kind


def test_your_photo_page_says_when_its_result_is_out_of_date(app):
    """A result made with other settings than those shown says so, until Denoise makes it anew."""
    open_page(app, "your-photo")
    app.file_uploader(key="your-photo:upload").set_value(("color.png", png_bytes("coffee", gray=False), "image/png"))
    app.run()
    app.radio(key="your-photo:kind").set_value("gray-gaussian").run()
    app.button(key="your-photo:denoise").click().run()
    assert not app.warning
    app.radio(key="your-photo:kind").set_value("color-gaussian").run()
    assert "Out of date" in app.warning[0].value and "now ask for color, grainy" in app.warning[0].value
    app.button(key="your-photo:denoise").click().run()
    assert not app.warning and app.session_state["your-photo:outcome"].kind == "color-gaussian"
    slider = next(s for s in app.slider if s.key.startswith("your-photo:sigma:"))
    slider.set_value(slider.value + 5).run()
    assert "Out of date" in app.warning[0].value


def test_your_photo_page_says_when_a_photo_looks_clean(app):
    """A clean JPEG (the chelsea photo) reads as sigma under 1: the page says what that means."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(sample_photo("chelsea", 3)[:160, :160] * 255).astype(np.uint8)).save(buffer, "JPEG")
    open_page(app, "your-photo")
    app.file_uploader(key="your-photo:upload").set_value(("chelsea.jpg", buffer.getvalue(), "image/jpeg"))
    app.run()
    assert app.radio(key="your-photo:kind").value == "color-camera"  # blind: no level to raise
    assert any("looks clean" in i.value and "compare before and after" in i.value for i in app.info)
    app.radio(key="your-photo:kind").set_value("color-gaussian").run()
    assert any("looks clean" in i.value and "0..255 scale" in i.value and "raise sigma" in i.value for i in app.info)
    upload_downscaled_photo(app)  # grain of sigma 15
    assert not any("looks clean" in i.value for i in app.info)


def upload_png(app: AppTest, pixels: np.ndarray, name: str) -> None:
    """Upload a uint8 (H, W) array as a PNG on the Your photo page."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    open_page(app, "your-photo")
    app.file_uploader(key="your-photo:upload").set_value((name, buffer.getvalue(), "image/png"))
    app.run()
    assert not app.exception, app.exception


def upload_downscaled_photo(app: AppTest) -> np.ndarray:
    """Your photo with a 2048x32 gray strip of the camera photo (noise of sigma 15): over the page's
    1024 pixels a side, so the page works on a 1024x16 copy; returns the upload as it decodes."""
    from denoiser.noise import GaussianNoise

    camera = sample_photo("camera", 1)
    clean = np.concatenate([camera[top:top + 32] for top in (100, 200, 300, 400)], axis=1)
    pixels = np.round(GaussianNoise(225.0).apply(clean, np.random.default_rng(0))[..., 0] * 255).astype(np.uint8)
    upload_png(app, pixels, "grainy.png")
    return pixels[..., None].astype(np.float32) / 255


def test_full_size_noise_level_scales_the_choice_by_the_estimates():
    from dashboard.photo_results import full_size_sigma

    assert full_size_sigma(6.0, 5.0, 20.0) == pytest.approx(24.0)  # chosen 20% above the estimate: so at full size
    assert full_size_sigma(3.0, 0.0, 12.0) == 12.0  # nothing to scale from
    assert full_size_sigma(0.0, 5.0, 20.0) == 0.0


def test_your_photo_page_denoises_a_downscaled_photo_at_full_size_on_request(app):
    from dashboard.photo_results import photo_inference
    from denoiser.images import load_image
    from denoiser.noise.level import estimate_sigma

    full = upload_downscaled_photo(app)
    assert any("Downscaled from 2048×32 to 1024×16" in i.value for i in app.info)
    app.button(key="your-photo:denoise").click().run()
    outcome = app.session_state["your-photo:outcome"]
    assert outcome.denoised.shape == (16, 1024, 1)  # the page's size
    app.button(key="your-photo:full-size").click().run()
    assert not app.exception
    stored = app.session_state["your-photo:full"]
    assert stored.sigma == pytest.approx(outcome.sigma * estimate_sigma(full) / estimate_sigma(outcome.photo))
    assert stored.sigma > 1.3 * outcome.sigma  # halving the size averaged noise away
    result = load_image(stored.png, channels=1)
    assert result.shape == (32, 2048, 1)
    expected = photo_inference("gray-gaussian", 1).run(load_pretrained("gray-gaussian").model, full, stored.sigma)
    assert np.abs(result - expected).max() <= 1 / 255 + 1e-6  # the PNG's 8 bits
    assert any("Full-size PNG (2048×32" in d.proto.label for d in app.get("download_button"))


def test_your_photo_page_leaves_an_original_over_16_megapixels_to_the_command_line(app):
    upload_png(app, np.full((2001, 8000), 128, np.uint8), "huge.png")  # 16,008,000 pixels
    assert any("Downscaled from 8000×2001 to 1024×256" in i.value for i in app.info)
    app.button(key="your-photo:denoise").click().run(timeout=TIMEOUT)
    assert not app.exception
    assert not [b for b in app.button if b.key == "your-photo:full-size"]
    assert any("too large to denoise here" in caption.value for caption in app.caption)


def test_your_photo_page_adapts_again_to_the_full_size_of_a_downscaled_photo(app):
    from denoiser.images import load_image

    upload_downscaled_photo(app)
    app.button(key="your-photo:adapt").click().run(timeout=300)
    assert "steps" in app.session_state["your-photo:outcome"].adaptation
    assert [b.label for b in app.button if b.key == "your-photo:full-size"] == ["Adapt to and denoise the full 2048×32 photo"]
    app.button(key="your-photo:full-size").click().run(timeout=300)
    assert not app.exception
    stored = app.session_state["your-photo:full"]
    assert load_image(stored.png, channels=1).shape == (32, 2048, 1)
    assert "steps" in stored.note and any(caption.value.startswith("Full size: ") for caption in app.caption)


def test_your_photo_page_self_ensemble_averages_eight_views(app):
    from dashboard.photo_results import photo_inference
    from denoiser.inference.precision import bundled_inference

    open_page(app, "your-photo")
    app.file_uploader(key="your-photo:upload").set_value(("photo.png", png_bytes(size=(40, 56)), "image/png"))
    app.run()
    app.toggle(key="your-photo:ensemble").set_value(True).run()
    app.button(key="your-photo:denoise").click().run()
    assert not app.exception
    outcome = app.session_state["your-photo:outcome"]
    inference = photo_inference("gray-gaussian", 8)
    assert inference == bundled_inference(SCENARIOS["gray-gaussian"], 8) and inference.views == 8
    expected = inference.run(load_pretrained("gray-gaussian").model, outcome.photo, outcome.sigma)
    np.testing.assert_allclose(outcome.denoised, expected, atol=1e-6)
    assert any("self-ensemble of 8" in caption.value for caption in app.caption)


def test_your_photo_page_adapts_to_the_photo_alone(app):
    open_page(app, "your-photo")
    app.radio(key="your-photo:source").set_value(app.radio(key="your-photo:source").options[1]).run()
    app.toggle(key="your-photo:ensemble").set_value(True).run()
    app.button(key="your-photo:adapt").click().run(timeout=300)
    assert not app.exception
    outcome = app.session_state["your-photo:outcome"]
    assert "steps" in outcome.adaptation and outcome.denoised.shape == outcome.photo.shape
    assert outcome.views == 8  # the adapted weights' result is the self-ensemble, as the toggle asks
    assert any("estimated MSE" in caption.value and "self-ensemble of 8" in caption.value for caption in app.caption)


def test_benchmark_page_runs_and_tabulates(app):
    open_page(app, "benchmark")
    app.multiselect(key="benchmark:images:gray-gaussian").set_value(["camera", "coins"])
    app.multiselect(key="benchmark:methods:gray-gaussian").set_value(["noisy", "lstm", "median"])
    app.select_slider(key="benchmark:side").set_value(64)
    app.run()
    app.button(key="benchmark:run").click().run(timeout=TIMEOUT)
    assert not app.exception
    rows = app.session_state["benchmark:result"]["rows"]
    assert len(rows) == 6 and {r.method for r in rows} == {"noisy", "lstm", "median"}
    summary = app.dataframe[0].value
    assert list(summary["method"]) == ["Noisy input", "LSTM", "Median 3×3"]
    assert summary["mean PSNR (dB)"].iloc[1] > summary["mean PSNR (dB)"].iloc[0]


def test_a_time_limit_ends_training_early_and_says_so(app):
    key = "gray-gaussian"
    open_page(app, key)
    upload(app, key, png_bytes())
    app.number_input(key=f"{key}:epochs").set_value(500).run()
    app.number_input(key=f"{key}:time_limit").set_value(2).run()
    app.button(key=f"{key}:train").click().run(timeout=TIMEOUT)
    assert not app.exception, app.exception
    outcome = app.session_state[f"{key}:outcome"]
    assert outcome.out_of_time and not outcome.stopped and outcome.history[-1].epoch < 500
    assert outcome.settings["time_limit_seconds"] == 2 and outcome.metrics()["out_of_time"]
    assert any(s.value.startswith("Reached the time limit in epoch") for s in app.success)


def test_a_run_interrupted_mid_training_leaves_its_best_model_as_the_result(app):
    """What Stop leaves behind: the TrainingRun the progress callback kept up to date in session_state."""
    import copy

    import torch

    from dashboard.training_progress import TrainingRun
    from denoiser.models.networks import build_model
    from denoiser.noise import GaussianNoise
    from denoiser.training.splits import PixelSplit, make_masks

    open_page(app, "gray-gaussian")
    clean = np.ascontiguousarray(sample_photo("camera", 1)[100:132, 200:232])
    noise = GaussianNoise(400.0)
    noisy = noise.apply(clean, np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model(SCENARIOS["gray-gaussian"].model)
    masks = make_masks((32, 32), PixelSplit(), np.random.default_rng(0))
    run = TrainingRun("gray-gaussian", model.config, clean, noisy, noise, masks, "crop", {},
                      best_state=copy.deepcopy(model.state_dict()), best_epoch=3)
    app.session_state["gray-gaussian:training"] = run
    app.run()
    assert not app.exception
    outcome = app.session_state["gray-gaussian:outcome"]
    assert outcome.stopped and outcome.best_epoch == 3 and outcome.denoised.shape == (32, 32, 1)
    assert "gray-gaussian:training" not in app.session_state
    assert "kept the best model so far (epoch 3)" in app.warning[0].value
    assert "PSNR denoised" in metrics(app)
