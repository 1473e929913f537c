"""Benchmark: the bundled LSTM against classical denoisers on held-out photos (`denoiser.evaluation.comparison`),
with a progress bar, a table, charts and downloads."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import streamlit as st

from dashboard import figures
from dashboard.widgets import sample_image
from denoiser.errors import DenoiserError
from denoiser.evaluation.baselines import BASELINES, NOT_HOSTED, available_baselines
from denoiser.evaluation.comparison import (
    LSTM_VIEWS,
    REFERENCE_METHODS,
    default_methods,
    method_title,
    run_benchmark,
    summarize,
    to_json,
    to_markdown,
)
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS
from denoiser.scenarios import SCENARIOS, get_scenario

SCOPE = "benchmark"


def show_benchmark(result: dict) -> None:
    """The mean scores per method as a table and charts, every run, and the downloads."""
    rows, key = result["rows"], result["scenario"]
    level = f"density {result['density']:.2f}" if "density" in result else f"sigma {result['sigma']:g}"
    st.success(f"{SCENARIOS[key].title}, {level}, photos at most {result['side']} px, seed {result['seed']}: "
               f"{len(rows)} runs.")
    titles = {row.method: method_title(row.method) for row in rows}
    means = summarize(rows)
    st.dataframe([{"method": titles[m], "mean PSNR (dB)": round(v["psnr"], 2), "mean SSIM": round(v["ssim"], 4),
                   "seconds per image": round(v["seconds"], 2)} for m, v in means.items()], hide_index=True)
    charts = figures.benchmark_figures(rows, titles, highlighted=LSTM_VIEWS)
    left, right = st.columns(2)
    left.plotly_chart(charts["mean"], key=f"{SCOPE}:mean")
    right.plotly_chart(charts["speed"], key=f"{SCOPE}:speed")
    st.plotly_chart(charts["per_image"], key=f"{SCOPE}:per-image")
    with st.expander("Every run"):
        st.dataframe([{**asdict(row), "method": titles[row.method]} for row in rows], hide_index=True)
    settings = {k: v for k, v in result.items() if k not in ("rows", "scenario")}
    left, right = st.columns(2)
    left.download_button("Table (Markdown)", to_markdown(rows), f"benchmark-{key}.md", "text/markdown",
                         key=f"{SCOPE}:download-md", on_click="ignore")
    right.download_button("Results (JSON)", json.dumps(to_json(key, rows, **settings), indent=2),
                          f"benchmark-{key}.json", "application/json", key=f"{SCOPE}:download-json", on_click="ignore")


def render() -> None:
    st.title("Benchmark")
    st.caption("The bundled LSTM against classical denoisers on sample photos the bundled weights never saw. "
               "Every method gets the same seeded noisy image; PSNR and SSIM are on all pixels.")
    key = st.selectbox("Scenario", list(SCENARIOS), format_func=lambda k: SCENARIOS[k].title, key=f"{SCOPE}:scenario")
    scenario = get_scenario(key)
    photos = COLOR_BENCHMARK_PHOTOS if scenario.channels == 3 else BENCHMARK_PHOTOS
    for name, value in (("density", float(scenario.noise.density) if scenario.noise_kind == "salt-pepper" else 0.1),
                        ("sigma", int(scenario.noise.sigma)), ("seed", 0), ("side", 256),
                        (f"images:{key}", list(photos)), (f"methods:{key}", default_methods(key))):
        st.session_state.setdefault(f"{SCOPE}:{name}", value)
    left, middle, right = st.columns(3)
    if scenario.noise_kind == "salt-pepper":
        level = {"density": left.slider("Density", 0.01, 0.9, step=0.01, key=f"{SCOPE}:density")}
    else:
        level = {"sigma": float(left.slider("Sigma (0..255 scale)", 1, 50, key=f"{SCOPE}:sigma"))}
    side = middle.select_slider("Largest side (pixels)", [64, 128, 256, 512], key=f"{SCOPE}:side",
                                help="Smaller is faster; BM3D and non-local means grow with the pixel count.")
    seed = int(right.number_input("Seed", 0, 2 ** 31 - 1, key=f"{SCOPE}:seed"))
    # the lists take the page's width: in a third of it their chips were cut ("co…")
    names = st.multiselect("Photos (held out)", list(photos), key=f"{SCOPE}:images:{key}")
    choices = list(dict.fromkeys([*default_methods(key), *REFERENCE_METHODS, *available_baselines()]))
    methods = st.multiselect("Methods", choices, format_func=method_title, key=f"{SCOPE}:methods:{key}")
    if not BASELINES["bm3d"].available:
        st.caption(NOT_HOSTED)
    if st.button("Run benchmark", type="primary", key=f"{SCOPE}:run", disabled=not (names and methods)):
        bar = st.progress(0.0, text="Starting…")
        started = time.perf_counter()

        def on_progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"{done} of {total} runs · {time.perf_counter() - started:.0f} s")

        images = {name: sample_image(name, scenario.channels, side) for name in names}
        try:
            rows = run_benchmark(key, images=images, methods=methods, seed=seed, on_progress=on_progress, **level)
        except DenoiserError as error:
            st.error(str(error))
            rows = None
        bar.empty()
        if rows:
            st.session_state[f"{SCOPE}:result"] = {"scenario": key, "rows": rows, "side": side, "seed": seed, **level}
    result = st.session_state.get(f"{SCOPE}:result")
    if result is None:
        st.caption("Choose the photos and methods, then press **Run benchmark**.")
    else:
        show_benchmark(result)


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it (tests, scripts) draws nothing
    render()
