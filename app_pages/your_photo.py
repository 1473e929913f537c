"""Your photo: a real photo has no clean original, so the bundled model denoises it at a noise level
estimated from the photo (adjustable), or after adapting itself to the photo alone. The result is a
before/after slider, the removed noise as a map and a histogram, and the PNG; a photo downscaled to
fit the page can then be done again at its full size.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from dashboard import figures
from dashboard.bundled_models import TORCH_THREADS, bundled_checkpoint
from dashboard.training_progress import slot_in_line
from dashboard.training_slots import training_slots
from dashboard.widgets import UPLOAD_TYPES, decode_upload, sample_image, show_images
from denoiser.errors import DenoiserError
from denoiser.images import downscale, encode_png
from denoiser.inference.tiled import denoise_ensemble
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
PHOTO_KINDS = {"gray-gaussian": "Gray, grainy", "color-gaussian": "Color, grainy",
               "gray-salt-pepper": "Gray, white and black specks"}
"""The bundled model for each kind of photo (a scenario key)."""


@dataclass
class PhotoResult:
    """The page's last result, kept in session_state to draw again after a rerun or a page switch."""

    photo: np.ndarray
    """The photo as denoised: downscaled to at most `MAX_PHOTO_SIDE` a side."""
    denoised: np.ndarray
    label: str
    identity: str
    """Which photo: the upload's file id or the sample's name (a full-size result is for this photo only)."""
    kind: str
    """The scenario key of the bundled model that ran."""
    sigma: float
    views: int
    """1, or 8 for a self-ensemble of flips and rotations."""
    seconds: float
    adaptation: str = ""
    """The adaptation's verdict; empty when the bundled weights ran as they are."""
    estimates: tuple[float, float] = field(init=False)
    """Noise estimates of the photo and of the result, computed once."""

    def __post_init__(self) -> None:
        self.estimates = (estimate_sigma(self.photo), estimate_sigma(self.denoised))

    def summary(self) -> str:
        views = f" (self-ensemble of {self.views})" if self.views > 1 else ""
        return (f"{self.label}, {PHOTO_KINDS[self.kind].lower()}, denoised at sigma {self.sigma:.1f}{views}."
                + (f" {self.adaptation}" if self.adaptation else ""))


@dataclass
class FullSizeResult:
    """The result again on the original of a downscaled photo, ready to download."""

    request: tuple
    """The photo and settings it was made for: a new result asks anew."""
    png: bytes
    sigma: float
    seconds: float
    note: str = ""


def full_size_sigma(chosen: float, page_estimate: float, full_estimate: float) -> float:
    """The noise level for the original of a downscaled photo: the one chosen on the page, scaled as
    the estimate grows from the page's photo to the original; the original's own estimate when the
    page's photo reads as noise-free (no ratio to keep); 0 stays 0 (no noise level: impulses)."""
    if chosen == 0:
        return 0.0
    return chosen * full_estimate / page_estimate if page_estimate >= 0.5 else full_estimate


def choose_photo(channels: int) -> tuple[np.ndarray, str, str] | None:
    """An upload or the held-out sample with grain, at full size: (photo, label, identity); None when none."""
    source = st.radio("Photo", ["Upload", f"A held-out sample with simulated grain (sigma {SAMPLE_SIGMA:g})"],
                      key=f"{SCOPE}:source", horizontal=True)
    if source != "Upload":
        name = COLOR_BENCHMARK_PHOTOS[1] if channels == 3 else BENCHMARK_PHOTOS[2]
        grainy = GaussianNoise(SAMPLE_SIGMA ** 2).apply(sample_image(name, channels, None), np.random.default_rng(0))
        return grainy, f"{name} + grain", name
    upload = st.file_uploader("Upload a photo (PNG, JPEG, TIFF or WebP)", type=UPLOAD_TYPES, key=f"{SCOPE}:upload")
    if upload is None:
        st.info(f"Choose a photo. Photos larger than {MAX_PHOTO_SIDE} pixels a side are downscaled.")
        return None
    try:
        full, note = decode_upload(SCOPE, upload, channels)
    except DenoiserError as error:
        st.error(f"Could not use {upload.name}: {error}")
        return None
    if note:
        st.caption(f"{upload.name}: {note}.")
    return full, upload.name, upload.file_id


def choose_sigma(kind: str, photo: np.ndarray, identity: str) -> float:
    """The noise level slider, starting at the photo's blind estimate (once per photo); 0 for impulses."""
    if get_scenario(kind).noise_kind != "gaussian":
        return 0.0
    cached = f"{SCOPE}:estimate:{identity}:{kind}"
    if cached not in st.session_state:
        st.session_state[cached] = estimate_sigma(photo)
    estimated = st.session_state[cached]
    return st.slider(f"Noise level sigma (estimated {estimated:.1f})", 0.0, 60.0, round(estimated, 1), 0.5,
                     key=f"{SCOPE}:sigma:{identity}:{kind}")


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


def adaptation_verdict(result, cut_to: float | None = None, time_cap: float = math.inf) -> str:
    """One line on an adaptation: kept or not, the estimated error before and after, the steps, and
    why it stopped early when the server cut it (`cut_to`: the seconds it was allowed)."""
    verdict = ("Adapted to this photo" if result.kept else
               "Adaptation did not lower the estimated error, so the bundled weights were kept")
    line = f"{verdict} (estimated MSE {result.loss_before:.1f} → {result.loss_after:.1f}, {len(result.history)} steps)."
    if cut_to is not None and cut_to >= time_cap:
        line += f" Stopped at the time cap of {time_cap:g} s per training on this shared server."
    elif cut_to is not None:
        line += (f" Shortened to {cut_to:.0f} s because other visitors were waiting for a slot; "
                 "adapting again when nobody is waiting gives the full run.")
    return line


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
                    denoised = denoise_ensemble(model, full, sigma, size=result.views)
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
    kind = st.radio("Kind of photo", list(PHOTO_KINDS), format_func=PHOTO_KINDS.get, key=f"{SCOPE}:kind",
                    horizontal=True)
    scenario = get_scenario(kind)
    bundled = bundled_checkpoint(kind)
    if bundled is None:
        st.warning(f"No bundled weights for {scenario.title} yet.")
        return
    chosen = choose_photo(scenario.channels)
    if chosen is None:
        return
    full, label, identity = chosen
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
            denoised = denoise_ensemble(bundled.model, photo, sigma, size=views)
        st.session_state[f"{SCOPE}:outcome"] = PhotoResult(photo, denoised, label, identity, kind, sigma, views,
                                                           time.perf_counter() - started)
    if adapt_column.button("Adapt to this photo", key=f"{SCOPE}:adapt", width="stretch",
                           help="Self-supervised training on this photo alone (Recorrupted-to-Recorrupted for "
                                "Gaussian noise, blind-spot for impulses), from the bundled weights; kept only if "
                                "an estimate of the error says it helps."):
        adaptation = adapt_with_progress(bundled.model, photo, sigma, views)
        if adaptation is not None:
            adapted, verdict = adaptation
            st.session_state[f"{SCOPE}:outcome"] = PhotoResult(photo, adapted.denoised, label, identity, kind, sigma,
                                                               views, adapted.seconds, verdict)
    result = st.session_state.get(f"{SCOPE}:outcome")
    if result is None:
        show_images([photo], [label])
        return
    show_result(result)
    if full.shape != photo.shape and (result.identity, result.kind) == (identity, kind):  # this photo's result
        full_size_download(bundled.model, full, result)


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it (tests, scripts) draws nothing
    render()
