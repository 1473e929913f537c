"""AppTest of the row-best preset on a scenario page: the row LSTM trained to its best in 120 s."""

from __future__ import annotations

import pytest
from apptest_tools import TIMEOUT, open_page, started_app
from test_app import png_bytes, upload


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
