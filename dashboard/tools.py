"""The pages beside the scenarios: Home, Your photo (real photos, no clean original) and Benchmark."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict

import numpy as np
import streamlit as st

from denoiser.adapt import AdaptConfig, adapt_to_photo
from denoiser.baselines import BASELINES
from denoiser.benchmark import (REFERENCE_METHODS, default_methods, method_title, run_benchmark, summarize,
                                to_json, to_markdown)
from denoiser.errors import DenoiserError
from denoiser.images import encode_png
from denoiser.inference import denoise, denoise_ensemble
from denoiser.noise import GaussianNoise
from denoiser.noise_level import estimate_sigma
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS
from denoiser.scenarios import SCENARIOS, get_scenario

from . import figures
from .ui import (TORCH_THREADS, UPLOAD_TYPES, bundled_checkpoint, decode_upload, fit_to, page_file,
                 sample_image, show_images, slot_in_line)


MAX_PHOTO_SIDE = 1024
"""Real photos are only denoised (no training), so they may be larger than on the scenario pages."""
FULL_SIZE_MAX_PIXELS = 16_000_000
"""Largest original the page denoises at full size: about a minute gray and 2.5 minutes color on 2
cores (4 megapixels gray took 12.6 s), and about 1 GB of memory while it runs. The command line
has no such limit."""
DEMO_SIGMA = 20.0


# --- Home ----------------------------------------------------------------------------------------

@st.cache_data(show_spinner="Preparing the picture…")
def demo_pictures() -> list[tuple[np.ndarray, str]]:
    """A held-out photo, with noise of sigma 20, and denoised by the bundled gray model when it exists."""
    clean = sample_image("camera", 1, None)[60:316, 130:386]
    noise = GaussianNoise(DEMO_SIGMA ** 2)
    noisy = noise.apply(clean, np.random.default_rng(0))
    pictures = [(clean, "Clean (held-out photo)"), (noisy, f"Noisy, sigma {DEMO_SIGMA:g}")]
    bundled = bundled_checkpoint("gray-gaussian")
    if bundled is not None:
        pictures.append((denoise(bundled.model, noisy, noise.sigma), "Denoised by the bundled LSTM"))
    return pictures


def render_home() -> None:
    st.title("LSTM image-denoising lab")
    st.markdown(
        "Add noise to a photo, train a recurrent (LSTM) denoiser on it while you watch the loss fall, and "
        "compare the result with the noisy input and with classical denoisers. Each scenario below is its "
        "own page; a model trained there stays with you while you switch pages.\n\n"
        "The lab started from a notebook that trained a Keras LSTM on one image and failed (test MSE about "
        "8,950). Its settings are kept as the *Original notebook* preset; the *Quick* preset fine-tunes the "
        "bundled weights and gives a good result in seconds.")
    pictures = demo_pictures()
    show_images([p for p, _ in pictures], [caption for _, caption in pictures])
    st.subheader("Scenarios")
    for key, scenario in SCENARIOS.items():
        st.page_link(page_file(key), label=f"{scenario.title}: {scenario.noise.name}", icon=":material/tune:")
    st.subheader("Tools")
    st.page_link(page_file("your-photo"), label="Your photo: denoise a real photo with the bundled weights",
                 icon=":material/photo_camera:")
    st.page_link(page_file("benchmark"), label="Benchmark: the LSTM against classical denoisers on held-out photos",
                 icon=":material/leaderboard:")


# --- Your photo ----------------------------------------------------------------------------------

PHOTO_KINDS = {"gray-gaussian": "Gray, grainy", "color-gaussian": "Color, grainy",
               "gray-salt-pepper": "Gray, white and black specks"}


def render_photo_page() -> None:
    """Denoise an uploaded photo at its own noise level; no clean original, so no PSNR."""
    scope = "your-photo"
    st.title("Your photo")
    st.caption("A real photo has no clean original: the bundled model denoises it at a noise level "
               "estimated from the photo, which you can adjust.")
    key = st.radio("Kind of photo", list(PHOTO_KINDS), format_func=PHOTO_KINDS.get, key=f"{scope}:kind",
                   horizontal=True)
    scenario = get_scenario(key)
    bundled = bundled_checkpoint(key)
    if bundled is None:
        st.warning(f"No bundled weights for {scenario.title} yet.")
        return
    source = st.radio("Photo", ["Upload", f"A held-out sample with simulated grain (sigma {DEMO_SIGMA:g})"],
                      key=f"{scope}:source", horizontal=True)
    if source == "Upload":
        upload = st.file_uploader("Upload a photo (PNG, JPEG, TIFF or WebP)", type=UPLOAD_TYPES, key=f"{scope}:upload")
        if upload is None:
            st.info(f"Choose a photo. Photos larger than {MAX_PHOTO_SIDE} pixels a side are downscaled.")
            return
        try:
            full, note = decode_upload(scope, upload, scenario.channels)
        except DenoiserError as error:
            st.error(f"Could not use {upload.name}: {error}")
            return
        label, identity = upload.name, upload.file_id
        if note:
            st.caption(f"{label}: {note}.")
    else:
        name = COLOR_BENCHMARK_PHOTOS[1] if scenario.channels == 3 else BENCHMARK_PHOTOS[2]
        full = GaussianNoise(DEMO_SIGMA ** 2).apply(sample_image(name, scenario.channels, None), np.random.default_rng(0))
        label, identity = f"{name} + grain", name
    photo = fit_to(full, MAX_PHOTO_SIDE)
    if photo.shape != full.shape:
        st.info(f"Downscaled from {full.shape[1]}×{full.shape[0]} to {photo.shape[1]}×{photo.shape[0]} pixels.")

    if scenario.noise_kind == "gaussian":
        cached = f"{scope}:estimate:{identity}:{key}"  # once per photo, not on every rerun
        if cached not in st.session_state:
            st.session_state[cached] = estimate_sigma(photo)
        estimated = st.session_state[cached]
        sigma = st.slider(f"Noise level sigma (estimated {estimated:.1f})", 0.0, 60.0, round(estimated, 1), 0.5,
                          key=f"{scope}:sigma:{identity}:{key}")
    else:
        sigma = 0.0
    views = 8 if st.toggle("Self-ensemble", key=f"{scope}:ensemble",
                           help="Denoise 8 flipped and rotated copies and average them: a little cleaner, 8 times slower.") else 1
    denoise_column, adapt_column = st.columns(2)
    if denoise_column.button("Denoise", type="primary", key=f"{scope}:denoise", width="stretch"):
        started = time.perf_counter()
        with st.spinner("Denoising…"):
            denoised = denoise_ensemble(bundled.model, photo, sigma, size=views)
        st.session_state[f"{scope}:outcome"] = {"photo": photo, "denoised": denoised, "label": label, "sigma": sigma,
                                                "identity": identity, "kind": key, "views": views,
                                                "seconds": time.perf_counter() - started}
    if adapt_column.button("Adapt to this photo", key=f"{scope}:adapt", width="stretch",
                           help="Self-supervised training on this photo alone (Recorrupted-to-Recorrupted for "
                                "Gaussian noise, blind-spot for impulses), from the bundled weights; kept only if "
                                "an estimate of the error says it helps."):
        adapted = adapt_with_progress(scope, bundled.model, photo, sigma, views)
        if adapted is not None:
            st.session_state[f"{scope}:outcome"] = {"photo": photo, "label": label, "sigma": sigma, "kind": key,
                                                    "identity": identity, "views": views, **adapted}
    outcome = st.session_state.get(f"{scope}:outcome")
    if outcome is None:
        show_images([photo], [label])
        return
    tiles = st.columns(3)
    if "estimates" not in outcome:  # once per result, not on every rerun
        outcome["estimates"] = (estimate_sigma(outcome["photo"]), estimate_sigma(outcome["denoised"]))
    tiles[0].metric("Noise estimate before", f"{outcome['estimates'][0]:.1f}")
    tiles[1].metric("Noise estimate after", f"{outcome['estimates'][1]:.1f}")
    tiles[2].metric("Time", f"{outcome['seconds']:.1f} s")
    views = f" (self-ensemble of {outcome['views']})" if outcome.get("views", 1) > 1 else ""
    st.caption(f"{outcome['label']}, {PHOTO_KINDS[outcome['kind']].lower()}, denoised at sigma {outcome['sigma']:.1f}{views}."
               + (f" {outcome['adaptation']}" if "adaptation" in outcome else ""))
    st.plotly_chart(figures.comparison_figure(outcome["photo"], outcome["denoised"], "Photo", "Denoised"),
                    key=f"{scope}:compare")
    st.plotly_chart(figures.heatmap_figure(figures.signed_map(outcome["photo"], outcome["denoised"]),
                                           "Removed: photo − denoised", diverging=True), key=f"{scope}:residual")
    st.plotly_chart(figures.removed_noise_figure(255.0 * (outcome["photo"] - outcome["denoised"]), outcome["sigma"]),
                    key=f"{scope}:removed-histogram")
    st.download_button("Denoised PNG", encode_png(outcome["denoised"]), "denoised.png", "image/png",
                       key=f"{scope}:download", on_click="ignore")
    if full.shape != photo.shape and (outcome["identity"], outcome["kind"]) == (identity, key):  # this photo's
        full_resolution_download(scope, bundled.model, full, outcome, identity)


def full_size_sigma(chosen: float, page_estimate: float, full_estimate: float) -> float:
    """The noise level for the original of a downscaled photo: the one chosen on the page, scaled as
    the estimate grows from the page's photo to the original; the original's own estimate when the
    page's photo reads as noise-free (no ratio to keep); 0 stays 0 (no noise level: impulses)."""
    if chosen == 0:
        return 0.0
    return chosen * full_estimate / page_estimate if page_estimate >= 0.5 else full_estimate


def full_resolution_download(scope: str, model, full: np.ndarray, outcome: dict, identity: str) -> None:
    """For a photo downscaled to fit the page: the result again on the original size, on request
    (tiled, in a training slot): the bundled weights, or a fresh adaptation to the original when
    the page's result was adapted. Downscaling averages noise away, so the noise level chosen on
    the page is scaled by how the estimate grows from the page's photo to the original."""
    height, width = full.shape[:2]
    if height * width > FULL_SIZE_MAX_PIXELS:
        st.caption(f"At {width}×{height} the original is too large to denoise here; "
                   "`python -m denoiser denoise` does it at full size.")
        return
    adapting = "adaptation" in outcome
    wanted = (identity, outcome["kind"], outcome["sigma"], outcome["views"], adapting)  # a new result asks anew
    stored = st.session_state.get(f"{scope}:full")
    if stored is None or stored["for"] != wanted:
        verb = "Adapt to and denoise" if adapting else "Denoise"
        place = st.empty()  # the button gives way to its result
        if not place.button(f"{verb} the full {width}×{height} photo", key=f"{scope}:full-size",
                            help="The same model and settings on every pixel of the original, in tiles."):
            return
        place.empty()
        sigma = full_size_sigma(outcome["sigma"], outcome["estimates"][0], estimate_sigma(full))
        started = time.perf_counter()
        if adapting:
            adapted = adapt_with_progress(scope, model, full, sigma, outcome["views"])
            if adapted is None:
                return
            denoised, note = adapted["denoised"], adapted["adaptation"]
        else:
            note, holder = "", st.empty()
            try:
                with slot_in_line(scope, holder), st.spinner(f"Denoising {width}×{height} pixels…"):
                    denoised = denoise_ensemble(model, full, sigma, size=outcome["views"])
            except DenoiserError as error:
                holder.error(str(error))
                return
        stored = {"for": wanted, "png": encode_png(denoised), "sigma": sigma, "note": note,
                  "seconds": time.perf_counter() - started}
        st.session_state[f"{scope}:full"] = stored
    if stored["note"]:
        st.caption(f"Full size: {stored['note']}")
    st.download_button(f"Full-size PNG ({width}×{height}, sigma {stored['sigma']:.1f}, {stored['seconds']:.0f} s)",
                       stored["png"], "denoised-full.png", "image/png", key=f"{scope}:download-full", on_click="ignore")


def adapt_with_progress(scope: str, bundled_model, photo: np.ndarray, sigma: float, views: int) -> dict | None:
    """Self-supervised adaptation in a training slot, with a progress bar, a live loss chart and Stop
    (a click stops the run; the bundled result stays). None (and a message) when the line is full."""
    holder = st.empty()
    history: list = []
    try:
        with slot_in_line(scope, holder) as ticket:
            box = holder.container(border=True)
            bar_column, stop_column = box.columns([5, 1])
            bar = bar_column.progress(0.0, text="Adapting…")
            stop_column.button("Stop", key=f"{scope}:stop-adapt", width="stretch")
            chart = box.empty()

            def on_progress(progress) -> None:
                history.append(progress)
                bar.progress(progress.fraction, text=f"Step {progress.step}/{progress.steps} · "
                             f"self-supervised loss {progress.train_loss:.1f} · {progress.elapsed:.0f} s")
                if progress.step % 10 == 0:
                    chart.plotly_chart(figures.loss_figure(history), key=f"{scope}:adapt-loss:{progress.step}")

            result = adapt_to_photo(copy.deepcopy(bundled_model), photo, sigma,
                                    AdaptConfig(threads=TORCH_THREADS, views=views), on_progress=on_progress,
                                    should_stop=ticket.expired)
    except DenoiserError as error:
        holder.error(str(error))
        return None
    holder.empty()
    verdict = ("Adapted to this photo" if result.kept else
               "Adaptation did not lower the estimated error, so the bundled weights were kept")
    return {"denoised": result.denoised, "seconds": result.seconds,
            "adaptation": f"{verdict} (estimated MSE {result.loss_before:.1f} → {result.loss_after:.1f}, "
                          f"{len(result.history)} steps)."}


# --- Benchmark -----------------------------------------------------------------------------------

def render_benchmark_page() -> None:
    """The benchmark of denoiser.benchmark on the held-out photos, with a progress bar, table and charts."""
    scope = "benchmark"
    st.title("Benchmark")
    st.caption("The bundled LSTM against classical denoisers on sample photos the bundled weights never saw. "
               "Every method gets the same seeded noisy image; PSNR and SSIM are on all pixels.")
    key = st.selectbox("Scenario", list(SCENARIOS), format_func=lambda k: SCENARIOS[k].title, key=f"{scope}:scenario")
    scenario = get_scenario(key)
    photos = COLOR_BENCHMARK_PHOTOS if scenario.channels == 3 else BENCHMARK_PHOTOS
    for name, value in (("density", float(scenario.noise.density) if scenario.noise_kind == "salt-pepper" else 0.1),
                        ("sigma", int(scenario.noise.sigma)), ("seed", 0), ("side", 256),
                        (f"images:{key}", list(photos)), (f"methods:{key}", default_methods(key))):
        st.session_state.setdefault(f"{scope}:{name}", value)
    left, middle, right = st.columns(3)
    if scenario.noise_kind == "salt-pepper":
        level = {"density": left.slider("Density", 0.01, 0.9, step=0.01, key=f"{scope}:density")}
    else:
        level = {"sigma": float(left.slider("Sigma (0..255 scale)", 1, 50, key=f"{scope}:sigma"))}
    seed = int(left.number_input("Seed", 0, 2 ** 31 - 1, key=f"{scope}:seed"))
    names = middle.multiselect("Photos (held out)", list(photos), key=f"{scope}:images:{key}")
    side = middle.select_slider("Largest side (pixels)", [64, 128, 256, 512], key=f"{scope}:side",
                                help="Smaller is faster; BM3D and non-local means grow with the pixel count.")
    choices = list(dict.fromkeys([*default_methods(key), *REFERENCE_METHODS, *BASELINES]))
    methods = right.multiselect("Methods", choices, format_func=method_title, key=f"{scope}:methods:{key}")
    if st.button("Run benchmark", type="primary", key=f"{scope}:run", disabled=not (names and methods)):
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
            st.session_state[f"{scope}:result"] = {"scenario": key, "rows": rows, "side": side, "seed": seed, **level}
    result = st.session_state.get(f"{scope}:result")
    if result is None:
        st.caption("Choose the photos and methods, then press **Run benchmark**.")
        return
    show_benchmark(scope, result)


def show_benchmark(scope: str, result: dict) -> None:
    rows, key = result["rows"], result["scenario"]
    level = f"density {result['density']:.2f}" if "density" in result else f"sigma {result['sigma']:g}"
    st.success(f"{SCENARIOS[key].title}, {level}, photos at most {result['side']} px, seed {result['seed']}: "
               f"{len(rows)} runs.")
    titles = {row.method: method_title(row.method) for row in rows}
    means = summarize(rows)
    st.dataframe([{"method": titles[m], "mean PSNR (dB)": round(v["psnr"], 2), "mean SSIM": round(v["ssim"], 4),
                   "seconds per image": round(v["seconds"], 2)} for m, v in means.items()], hide_index=True)
    charts = figures.benchmark_figures(rows, titles)
    left, right = st.columns(2)
    left.plotly_chart(charts["mean"], key=f"{scope}:mean")
    right.plotly_chart(charts["speed"], key=f"{scope}:speed")
    st.plotly_chart(charts["per_image"], key=f"{scope}:per-image")
    with st.expander("Every run"):
        st.dataframe([{**asdict(row), "method": titles[row.method]} for row in rows], hide_index=True)
    settings = {k: v for k, v in result.items() if k not in ("rows", "scenario")}
    left, right = st.columns(2)
    left.download_button("Table (Markdown)", to_markdown(rows), f"benchmark-{key}.md", "text/markdown",
                         key=f"{scope}:download-md", on_click="ignore")
    right.download_button("Results (JSON)", json.dumps(to_json(key, rows, **settings), indent=2),
                          f"benchmark-{key}.json", "application/json", key=f"{scope}:download-json", on_click="ignore")
