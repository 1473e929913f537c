"""Real-browser test of a scenario page's influence section: click a map to pick a pixel, see the three maps."""

from __future__ import annotations

import re

import pytest
from test_browser import (  # noqa: F401  (fixtures)
    assert_no_exception,
    browser,
    page,
    png_upload,
    screenshot,
    server,
    shots,
    upload,
    wait_until_idle,
)

TITLES = ("Row LSTM: 90% within", "U-net LSTM: 90% within", "BM3D: 39×39 search window")  # the gray page's


def slider_value(page, label: str) -> int:
    slider = page.get_by_test_id("stSlider").filter(has_text=label)
    return int(slider.get_by_test_id("stSliderThumbValue").inner_text())


@pytest.mark.parametrize("key", ["gray-gaussian"])
def test_clicking_a_map_picks_the_pixel_of_all_three(server, page, shots, tmp_path, key):
    page.goto(f"{server}/{key}")
    page.get_by_role("button", name="Train", exact=True).wait_for()
    upload(page, png_upload(tmp_path, "camera"))
    page.get_by_text("Show what each method looks at").click()
    for title in TITLES:
        page.get_by_text(title).first.wait_for(timeout=120_000)
    wait_until_idle(page)
    assert_no_exception(page)
    assert (slider_value(page, "Pixel row"), slider_value(page, "Pixel column")) == (32, 32)

    chart = page.locator(".js-plotly-plot").filter(has_text=TITLES[0]).first
    area = chart.locator(".nsewdrag").first.bounding_box()  # the plot area: the 64x64 image
    chart.locator(".nsewdrag").first.click(position={"x": area["width"] * 0.2, "y": area["height"] * 0.8})
    page.wait_for_timeout(500)
    wait_until_idle(page)
    assert_no_exception(page)
    row, column = slider_value(page, "Pixel row"), slider_value(page, "Pixel column")
    assert abs(row - 51) <= 3 and abs(column - 12) <= 3, (row, column)
    for title in TITLES:
        assert page.get_by_text(title).first.is_visible()
    caption = page.get_by_text(re.compile("Row LSTM: 90% of the other pixels' influence lies within")).inner_text()
    assert re.search(r"within \d+\.\d pixels", caption)
    screenshot(page, shots / f"{key}-influence.png")
