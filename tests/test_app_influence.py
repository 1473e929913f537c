"""AppTest of a scenario page's influence section: pick a pixel, see the three maps."""

from __future__ import annotations

import json

import pytest
from apptest_tools import TIMEOUT, open_page, started_app
from test_app import png_bytes, upload


def chart_titles(at) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


@pytest.mark.parametrize("key", ["gray-gaussian", "gray-salt-pepper", "color-gaussian", "color-camera"])
def test_picking_a_pixel_shows_the_three_maps(key):
    at = open_page(started_app(), key)
    upload(at, key, png_bytes())
    assert not chart_titles(at)  # behind the toggle: no map costs anything until asked for
    at.toggle(key=f"{key}:influence").set_value(True).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    at.slider(key=f"{key}:influence_row").set_value(5).run()
    at.slider(key=f"{key}:influence_column").set_value(40).run()
    assert not at.exception, at.exception
    titles = chart_titles(at)
    bundled = "U-net LSTM" if key in ("gray-gaussian", "color-gaussian") else "2-D LSTM"  # the bundled network's own map
    assert [t.split(":")[0] for t in titles] == ["Row LSTM", bundled, "BM3D"], titles
    captions = " ".join(c.value for c in at.caption)
    assert "a row LSTM trained here" in captions and "90% of the other pixels' influence lies within" in captions
    row_chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    pixel = next(t for t in row_chart["data"] if t.get("name") == "pixel")
    assert (pixel["y"], pixel["x"]) == ([5], [40])
    assert ("pick a black or white dot" in captions) == (key == "gray-salt-pepper")


def test_the_row_map_uses_the_row_lstm_the_page_trained():
    key = "gray-gaussian"
    at = open_page(started_app(), key)
    upload(at, key, png_bytes())
    at.radio(key=f"{key}:preset").set_value("notebook").run()
    at.number_input(key=f"{key}:epochs").set_value(1).run()
    at.button(key=f"{key}:train").click().run(timeout=TIMEOUT)
    at.toggle(key=f"{key}:influence").set_value(True).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert "the row LSTM this page trained on" in " ".join(c.value for c in at.caption)
