"""The row-best preset (the notebook's row LSTM trained to its best in 120 s) from `fit` and on a
scenario page (AppTest)."""

from __future__ import annotations

import json

import pytest
from apptest_tools import TIMEOUT, open_page, started_app
from test_app import png_bytes, upload
from test_cli import cli

from denoiser.images import save_image


def test_fit_offers_row_best_and_records_its_training(tmp_path, gray_image):
    save_image(gray_image, tmp_path / "photo.png")
    result = cli("fit", tmp_path / "photo.png", "--scenario", "gray-gaussian", "--preset", "row-best", "--epochs", 20,
                 "--threads", 1, "--json", tmp_path / "m.json")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "m.json").read_text())
    assert (record["preset"], record["architecture"], record["epochs"]) == ("row-best", "row", 20)
    training = record["training"]
    assert training["fresh_noise"] and training["cosine"] and training["time_limit"] == 120.0
    assert (training["batch_size"], training["learning_rate"], training["sample"]) == (16, 3e-3, "row")
    assert record["best_epoch"] in (10, 20)  # checked every tenth epoch, the best kept


def test_the_row_best_preset_sets_its_settings_and_trains():
    key = "gray-gaussian"
    at = open_page(started_app(), key)
    at.radio(key=f"{key}:preset").set_value("row-best").run()
    assert at.selectbox(key=f"{key}:architecture").value == "row"
    assert at.number_input(key=f"{key}:time_limit").value == 120
    batch = at.select_slider(key=f"{key}:batch")
    assert batch.value == 16 and "rows of 32 pixels" in batch.label
    assert at.select_slider(key=f"{key}:lr").value == pytest.approx(3e-3)
    upload(at, key, png_bytes())
    at.number_input(key=f"{key}:epochs").set_value(10).run()
    at.button(key=f"{key}:train").click().run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert at.success and at.success[0].value.startswith("Trained 10 of 10 epochs")
