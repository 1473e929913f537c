"""Your photo: a real photo has no clean original, so the bundled model denoises it at a noise level
estimated from the photo (adjustable), or after adapting itself to the photo alone. The result is a
before/after slider, the removed noise as a map and a histogram, and the PNG; a photo downscaled to
fit the page can then be done again at its full size.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import streamlit as st

from dashboard import figures
from dashboard.bundled_models import bundled_checkpoint
from dashboard.photo_results import (
    MODEL_LINES,
    PHOTO_KINDS,
    FullSizeResult,
    PhotoResult,
    adaptation_verdict,
    clean_photo_line,
    full_size_sigma,
    kind_for_upload,
    out_of_date_line,
    photo_inference,
)
from dashboard.torch_threads import TORCH_THREADS
from dashboard.training_progress import slot_in_line
from dashboard.training_slots import training_slots
from dashboard.widgets import Upload, conversion_note, sample_image, show_images, upload_image
from denoiser.errors import DenoiserError
from denoiser.images import convert_channels, downscale, encode_png
from denoiser.noise import GaussianNoise
from denoiser.noise.level import estimate_sigma
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS
from denoiser.scenarios import get_scenario

SCOPE = "your-photo"
MAX_PHOTO_SIDE = 1024
"""Real photos are only denoised (no training), so they may be larger than on the scenario pages."""
FULL_SIZE_MAX_PIXELS = 16_000_000
"""Largest original the page denoises at full size: larger ones take minutes and over 1 GB of memory
on a small server. The command line has no such limit."""
SAMPLE_SIGMA = 20.0
"""The grain added to the held-out sample photo, for visitors without a photo at hand."""
UPLOAD, SAMPLE = "Upload", f"A held-out sample with simulated grain (sigma {SAMPLE_SIGMA:g})"


def choose_upload() -> Upload | None:
    """The upload as the file has it; a new file sets the kind of photo to match it (color for a color file)."""
    upload = upload_image(SCOPE, None, "Upload a photo (PNG, JPEG, TIFF or WebP)",
                          f"Choose a photo. Photos larger than {MAX_PHOTO_SIDE} pixels a side are downscaled.")
    if upload is not None and st.session_state.get(f"{SCOPE}:kind-of-upload") != upload.identity:
        st.session_state[f"{SCOPE}:kind"] = kind_for_upload(upload.image.shape[-1], st.session_state.get(f"{SCOPE}:kind"))
        st.session_state[f"{SCOPE}:kind-of-upload"] = upload.identity
    return upload


def photo_for(kind: str, upload: Upload | None) -> tuple[np.ndarray, str, str]:
    """The photo for the kind's model, at full size: (photo, label, identity), from the upload or
    the held-out sample with grain."""
    channels = get_scenario(kind).channels
    if upload is None:
        name = COLOR_BENCHMARK_PHOTOS[1] if channels == 3 else BENCHMARK_PHOTOS[2]
        grainy = GaussianNoise(SAMPLE_SIGMA ** 2).apply(sample_image(name, channels, None), np.random.default_rng(0))
        return grainy, f"{name} + grain", name
    note = conversion_note(upload.image.shape[-1], channels)
    if note:
        st.caption(f"{upload.name}: {note}.")
    return convert_channels(upload.image, channels), upload.name, upload.identity


def choose_sigma(kind: str, photo: np.ndarray, identity: str) -> float:
    """The noise level slider, starting at the photo's blind estimate (once per photo); 0 for impulses
    and for the blind camera model, which only says when the photo looks clean."""
    scenario = get_scenario(kind)
    if scenario.noise_kind == "salt-pepper":
        return 0.0
    cached = f"{SCOPE}:estimate:{identity}:{kind}"
    if cached not in st.session_state:
        st.session_state[cached] = estimate_sigma(photo)
    estimated = st.session_state[cached]
    if scenario.blind:
        clean_line = clean_photo_line(estimated, blind=True)
        if clean_line:
            st.info(clean_line)
        return 0.0
    sigma = st.slider(f"Noise level sigma (estimated {estimated:.1f})", 0.0, 60.0, round(estimated, 1), 0.5,
                      key=f"{SCOPE}:sigma:{identity}:{kind}",
                      help="The standard deviation of the noise on the 0..255 scale, as the model should remove it; "
                           "it starts at the level read from the photo's flattest patches.")
    clean_line = clean_photo_line(estimated)
    if clean_line:
        st.info(clean_line)
    return sigma


def adapt_with_progress(bundled_model, photo: np.ndarray, sigma: float, views: int):
    """Self-supervised adaptation in a training slot, with a progress bar, a live loss chart and Stop
    (a click stops the run; the bundled result stays): an `AdaptResult` and its one-line verdict,
    or None (and a message) when the line is full."""
    from denoiser.inference.adaptation import AdaptConfig, adapt_to_photo  # here: only this action needs it

    holder = st.empty()
    history: list = []
    try:
        with slot_in_line(SCOPE, holder) as ticket:
            box = holder.container(border=True)
            bar_column, stop_column = box.columns([5, 1])
            bar = bar_column.progress(0.0, text="Adapting…")
            stop_column.button("Stop", key=f"{SCOPE}:stop-adapt", width="stretch")
            chart = box.empty()

            def on_progress(progress) -> None:
                history.append(progress)
                bar.progress(progress.fraction, text=f"Step {progress.step}/{progress.steps} · "
                             f"self-supervised loss {progress.train_loss:.1f} · {progress.elapsed:.0f} s")
                if progress.step % 10 == 0:
                    chart.plotly_chart(figures.loss_figure(history), key=f"{SCOPE}:adapt-loss:{progress.step}")

            result = adapt_to_photo(copy.deepcopy(bundled_model), photo, sigma,
                                    AdaptConfig(threads=TORCH_THREADS, views=views), on_progress=on_progress,
                                    should_stop=ticket.expired)
    except DenoiserError as error:
        holder.error(str(error))
        return None
    holder.empty()
    return result, adaptation_verdict(result, ticket.cut_to, training_slots().time_cap)


def show_result(result: PhotoResult) -> None:
    """Noise estimates and time, the before/after slider, the removed noise as a map and a histogram, the PNG."""
    tiles = st.columns(3)
    tiles[0].metric("Noise estimate before", f"{result.estimates[0]:.1f}")
    tiles[1].metric("Noise estimate after", f"{result.estimates[1]:.1f}")
    tiles[2].metric("Time", f"{result.seconds:.1f} s")
    st.caption(result.summary())
    st.plotly_chart(figures.comparison_figure(result.photo, result.denoised, "Photo", "Denoised"), key=f"{SCOPE}:compare")
    st.plotly_chart(figures.heatmap_figure(figures.signed_map(result.photo, result.denoised),
                                           "Removed: photo − denoised", diverging=True), key=f"{SCOPE}:residual")
    st.plotly_chart(figures.removed_noise_figure(255.0 * (result.photo - result.denoised), result.sigma),
                    key=f"{SCOPE}:removed-histogram")
    st.download_button("Denoised PNG", encode_png(result.denoised), "denoised.png", "image/png",
                       key=f"{SCOPE}:download", on_click="ignore")


def full_size_download(model, full: np.ndarray, result: PhotoResult) -> None:
    """For a photo downscaled to fit the page: the result again on the original size, on request
    (tiled, in a training slot): the bundled weights, or a fresh adaptation to the original when
    the page's result was adapted. Downscaling averages noise away, so the noise level chosen on
    the page is scaled by how the estimate grows from the page's photo to the original."""
    height, width = full.shape[:2]
    if height * width > FULL_SIZE_MAX_PIXELS:
        st.caption(f"At {width}×{height} the original is too large to denoise here; "
                   "`python -m denoiser denoise` does it at full size.")
        return
    request = (result.identity, result.kind, result.sigma, result.views, bool(result.adaptation))
    stored = st.session_state.get(f"{SCOPE}:full")
    if stored is None or stored.request != request:
        verb = "Adapt to and denoise" if result.adaptation else "Denoise"
        place = st.empty()  # the button gives way to its result
        if not place.button(f"{verb} the full {width}×{height} photo", key=f"{SCOPE}:full-size",
                            help="The same model and settings on every pixel of the original, in tiles."):
            return
        place.empty()
        sigma = full_size_sigma(result.sigma, result.estimates[0], estimate_sigma(full))
        started = time.perf_counter()
        if result.adaptation:
            adaptation = adapt_with_progress(model, full, sigma, result.views)
            if adaptation is None:
                return
            adapted, note = adaptation
            denoised = adapted.denoised
        else:
            note, holder = "", st.empty()
            try:
                with slot_in_line(SCOPE, holder), st.spinner(f"Denoising {width}×{height} pixels…"):
                    denoised = photo_inference(result.kind, result.views).run(model, full, sigma)
            except DenoiserError as error:
                holder.error(str(error))
                return
        stored = FullSizeResult(request, encode_png(denoised), sigma, time.perf_counter() - started, note)
        st.session_state[f"{SCOPE}:full"] = stored
    if stored.note:
        st.caption(f"Full size: {stored.note}")
    st.download_button(f"Full-size PNG ({width}×{height}, sigma {stored.sigma:.1f}, {stored.seconds:.0f} s)",
                       stored.png, "denoised-full.png", "image/png", key=f"{SCOPE}:download-full", on_click="ignore")


def render() -> None:
    st.title("Your photo")
    st.caption("A real photo has no clean original: the bundled model denoises it at a noise level "
               "estimated from the photo, which you can adjust.")
    source = st.radio("Photo", [UPLOAD, SAMPLE], key=f"{SCOPE}:source", horizontal=True)
    upload = choose_upload() if source == UPLOAD else None
    kind = st.radio("Kind of photo", list(PHOTO_KINDS), format_func=PHOTO_KINDS.get, key=f"{SCOPE}:kind",
                    horizontal=True, help="Which bundled model denoises it. An upload starts as what the file "
                                          "holds (color or gray); a color photo may be denoised as gray.")
    st.caption(MODEL_LINES[kind])
    bundled = bundled_checkpoint(kind)
    if bundled is None:
        st.warning(f"No bundled weights for {get_scenario(kind).title} yet.")
        return
    if source == UPLOAD and upload is None:
        return
    full, label, identity = photo_for(kind, upload)
    photo = downscale(full, MAX_PHOTO_SIDE)
    if photo.shape != full.shape:
        st.info(f"Downscaled from {full.shape[1]}×{full.shape[0]} to {photo.shape[1]}×{photo.shape[0]} pixels.")

    sigma = choose_sigma(kind, photo, identity)
    views = 8 if st.toggle("Self-ensemble", key=f"{SCOPE}:ensemble",
                           help="Denoise 8 flipped and rotated copies and average them: a little cleaner, 8 times slower.") else 1
    denoise_column, adapt_column = st.columns(2)
    if denoise_column.button("Denoise", type="primary", key=f"{SCOPE}:denoise", width="stretch"):
        started = time.perf_counter()
        with st.spinner("Denoising…"):
            denoised = photo_inference(kind, views).run(bundled.model, photo, sigma)
        st.session_state[f"{SCOPE}:outcome"] = PhotoResult(photo, denoised, label, identity, kind, sigma, views,
                                                           time.perf_counter() - started)
    if adapt_column.button("Adapt to this photo", key=f"{SCOPE}:adapt", width="stretch",
                           disabled=get_scenario(kind).blind,
                           help="Self-supervised training on this photo alone (Recorrupted-to-Recorrupted for "
                                "Gaussian noise, blind-spot for impulses), from the bundled weights; kept only if "
                                "an estimate of the error says it helps."):
        adaptation = adapt_with_progress(bundled.model, photo, sigma, views)
        if adaptation is not None:
            adapted, verdict = adaptation
            st.session_state[f"{SCOPE}:outcome"] = PhotoResult(photo, adapted.denoised, label, identity, kind, sigma,
                                                               views, adapted.seconds, verdict)
    result = st.session_state.get(f"{SCOPE}:outcome")
    if result is None or result.identity != identity:  # no result yet for this photo
        show_images([photo], [label])
        return
    out_of_date = out_of_date_line(result, kind, sigma, views)
    if out_of_date:
        st.warning(out_of_date)
    show_result(result)
    if full.shape != photo.shape and not out_of_date:
        full_size_download(bundled.model, full, result)


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it (tests, scripts) draws nothing
    render()
