"""A scenario page's influence section: pick a pixel (click a map or use two sliders) and see what
each method looks at to denoise it. The row LSTM and the bundled network by their influence maps
(`denoiser.evaluation.influence`, one backward pass each), BM3D by its search window.

The maps use the bundled network (a 2-D LSTM, or the gray page's U-net with LSTM sweeps), and the
row LSTM this page trained last when it trained one;
otherwise a row LSTM trained here for a few seconds on this noisy image (the notebook's preset,
cut short), which shows where a row LSTM looks, if not yet how well it weighs what it sees.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from denoiser.evaluation.influence import influence_map, reach
from denoiser.models.checkpoint import load_checkpoint
from denoiser.noise import NoiseModel
from denoiser.scenarios import Scenario
from denoiser.training.experiment import make_experiment, run_experiment

from .bundled_models import bundled_checkpoint
from .torch_threads import TORCH_THREADS
from .influence_figures import BM3D_BLOCK, BM3D_SEARCH_WINDOW, influence_figure, search_window_figure

QUICK_ROW_SECONDS = 3.0
"""The time limit of the row LSTM trained for the maps when the page has not trained one."""
IMPULSE_NOTE = ("With salt-and-pepper noise the networks keep every pixel that is not an impulse as it is, so there "
                "a map holds the pixel alone: pick a black or white dot.")
CAPTION = ("The row LSTM estimates a pixel from three rows only, so it can neither average down its column nor "
           "borrow from alike patches elsewhere; the bundled network can draw on the whole image and BM3D on every "
           "alike block in its window, which is why both remove more of the noise.")
BUNDLED_TITLES = {"renet": "2-D LSTM", "unet": "U-net LSTM"}
"""The bundled network's map title, by its architecture."""


@st.cache_resource(show_spinner="Training a row LSTM for a few seconds for the influence maps…", max_entries=16)
def _quick_row_lstm(key: tuple, _scenario: Scenario, _noise: NoiseModel, _clean: np.ndarray, seed: int):
    """A row LSTM trained for `QUICK_ROW_SECONDS` on this image with the notebook's preset; `key`
    names the image, noise and seed."""
    experiment = make_experiment(_scenario, _noise, "notebook", None, time_limit=QUICK_ROW_SECONDS, seed=seed,
                                 threads=TORCH_THREADS)
    return run_experiment(experiment, _clean).model


def _row_lstm(scope: str, scenario: Scenario, noise: NoiseModel, clean: np.ndarray, seed: int):
    """(model, what it is, a key naming its weights): the row LSTM this page trained last, else one
    trained here for a few seconds."""
    outcome = st.session_state.get(f"{scope}:outcome")
    settings = outcome.settings if outcome is not None else {}
    if outcome is not None and outcome.action == "trained" and settings.get("model", {}).get("architecture") == "row":
        return (load_checkpoint(outcome.weights).model, f"the row LSTM this page trained on {outcome.image}",
                hashlib.sha1(outcome.weights).hexdigest())
    key = (scenario.key, hashlib.sha1(clean.tobytes()).hexdigest(), clean.shape, noise.name, seed)
    return (_quick_row_lstm(key, scenario, noise, clean, seed),
            f"a row LSTM trained here for {QUICK_ROW_SECONDS:g} s on this noisy image (the notebook's preset, "
            "cut short; train one above to see yours)", key)


def _remembered_map(scope: str, role: str, model_key, model, noisy: np.ndarray, pixel: tuple[int, int],
                    sigma: float) -> np.ndarray:
    """`influence_map`, kept in the session for the last model (`model_key` names it), image and
    pixel of each `role`, so that a rerun for another widget does not pay the backward pass again."""
    memory = st.session_state.setdefault(f"{scope}:influence_maps", {})
    key = (model_key, hashlib.sha1(noisy.tobytes()).hexdigest(), pixel, sigma)
    if memory.get(role, (None,))[0] != key:
        memory[role] = (key, influence_map(model, noisy, pixel, sigma))
    return memory[role][1]


def _take_clicked_pixel(scope: str, charts: list[str]) -> None:
    """Move the pixel sliders to a point clicked on any of the maps (once per click)."""
    for chart in charts:
        points = (st.session_state.get(chart) or {}).get("selection", {}).get("points", [])
        if not points:
            continue
        clicked = (int(round(points[0]["y"])), int(round(points[0]["x"])))
        if st.session_state.get(f"{chart}:taken") != clicked:
            st.session_state[f"{chart}:taken"] = clicked
            st.session_state[f"{scope}:influence_row"], st.session_state[f"{scope}:influence_column"] = clicked


def show_influence(scope: str, scenario: Scenario, clean: np.ndarray, noisy: np.ndarray, noise: NoiseModel,
                   seed: int) -> None:
    """The section, behind a toggle: its maps cost a few seconds the first time."""
    if not st.toggle("Show what each method looks at: influence maps of one pixel", key=f"{scope}:influence"):
        return
    height, width = noisy.shape[:2]
    charts = [f"{scope}:influence_pick_{i}" for i in range(3)]
    _take_clicked_pixel(scope, charts)
    for name, size in (("row", height), ("column", width)):
        current = st.session_state.get(f"{scope}:influence_{name}", size // 2)
        st.session_state[f"{scope}:influence_{name}"] = min(max(0, int(current)), size - 1)
    left, right = st.columns(2)
    row = left.slider("Pixel row", 0, height - 1, key=f"{scope}:influence_row")
    column = right.slider("Pixel column", 0, width - 1, key=f"{scope}:influence_column")
    pixel = (int(row), int(column))
    pick_every = max(1, max(height, width) // 64)

    row_model, row_source, row_weights = _row_lstm(scope, scenario, noise, clean, seed)
    bundled = bundled_checkpoint(scope)
    maps = [("Row LSTM", _remembered_map(scope, "row", row_weights, row_model, noisy, pixel, noise.sigma))]
    models = row_source
    if bundled is not None:
        title = BUNDLED_TITLES[bundled.config.architecture]
        maps.append((title, _remembered_map(scope, "2-D", "bundled", bundled.model, noisy, pixel, noise.sigma)))
        models += f"; the bundled {title} weights"
    columns = st.columns(3)
    for place, chart, (title, influence) in zip(columns, charts, maps):
        found = reach(influence, pixel)
        place.plotly_chart(influence_figure(noisy, influence, pixel, f"{title}: 90% within {found.radius:.0f} px",
                                            found.radius, pick_every),
                           key=chart, on_select="rerun", selection_mode="points", config={"displayModeBar": False})
        place.caption(f"{title}: 90% of the other pixels' influence lies within {found.radius:.1f} pixels (dotted "
                      f"circle), the farthest pixel it sees is {found.farthest:.0f} pixels away, and the pixel's "
                      f"own noisy value has {found.at_the_pixel:.0%} of the whole influence.")
    if bundled is None:
        columns[1].caption("No bundled network for this scenario, so no map.")
    columns[2].plotly_chart(search_window_figure(noisy, pixel, f"BM3D: {BM3D_SEARCH_WINDOW}×{BM3D_SEARCH_WINDOW} "
                                                 "search window", pick_every=pick_every),
                            key=charts[2], on_select="rerun", selection_mode="points", config={"displayModeBar": False})
    columns[2].caption(f"BM3D: the {BM3D_BLOCK}×{BM3D_BLOCK} block at the pixel is denoised together with the "
                       f"alike blocks it finds in the {BM3D_SEARCH_WINDOW}×{BM3D_SEARCH_WINDOW} window around it.")
    note = f" {IMPULSE_NOTE}" if scenario.noise_kind == "salt-pepper" else ""
    st.caption(f"{CAPTION}{note} Colour: the size of the gradient of the pixel's output with respect to each input "
               f"pixel, on a log scale over four powers of ten; uncoloured pixels have no influence at all. Models: "
               f"{models}. Click a map or move the sliders to pick the pixel.")
