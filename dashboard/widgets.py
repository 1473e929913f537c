"""Widgets every page shares: choosing an image (sample or upload), the noise sliders, a row of images.

State lives in `st.session_state` only, under keys scoped by page (`"gray-gaussian:seed"`, ...):
uploads are decoded per session, never cached globally or written to disk. The built-in photos are
public, so they sit behind `st.cache_data`. Nothing here imports torch: the Home page draws with
these widgets, and its first view should not wait for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import streamlit as st

from denoiser.errors import DenoiserError
from denoiser.images import convert_channels, downscale, load_image, to_uint8
from denoiser.noise import CameraNoise, GaussianNoise, NoiseModel, SaltPepperNoise
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS, TRAINING_PHOTOS, sample_photo

if TYPE_CHECKING:
    from denoiser.scenarios import Scenario

UPLOAD_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "webp"]
REMEMBERED = {"source", "sample", "variance", "density", "seed", "preset", "architecture", "hidden", "epochs",
              "time_limit", "batch", "lr", "split", "from_bundled", "baselines", "kind", "scenario", "sigma", "side",
              "images", "methods", "gain", "jpeg"}
"""Widgets whose values are kept while the visitor is on another page (keys `page:name[:more]`)."""


def remember_widgets() -> None:
    """Streamlit drops a widget's value at the end of a run that did not draw it (another page was
    shown); writing the value back at the start of every run keeps it. Called by the entry point."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.count(":") in (1, 2) and key.split(":")[1] in REMEMBERED:
            st.session_state[key] = st.session_state[key]


@st.cache_data(show_spinner=False, max_entries=64)
def sample_image(name: str, channels: int, max_side: int | None) -> np.ndarray:
    """A built-in photo, converted and downscaled (public data, so a global cache is fine)."""
    return downscale(sample_photo(name, channels), max_side)


class Upload(NamedTuple):
    """An uploaded file, decoded."""

    image: np.ndarray
    name: str
    identity: str
    """The file's id in this session: a new file, even of the same name, is a new photo."""
    note: str
    """How its channels were converted for the page; empty when they were not."""


def conversion_note(file_channels: int, channels: int) -> str:
    """What became of a file's channels on a page that works in `channels`; empty when nothing did."""
    if file_channels == channels:
        return ""
    return "converted from color to gray" if channels == 1 else "gray, replicated to three channels"


def decode_upload(scope: str, upload, channels: int | None) -> tuple[np.ndarray, str]:
    """The upload as an image with `channels` (None: the file's own) and its conversion note,
    decoded once per file and kept in this session only."""
    cache_key = f"{scope}:upload-image"
    cached = st.session_state.get(cache_key)
    if cached is None or cached[0] != (upload.file_id, channels):
        raw = load_image(upload.getvalue())
        wanted = channels or raw.shape[-1]
        cached = ((upload.file_id, channels), convert_channels(raw, wanted), conversion_note(raw.shape[-1], wanted))
        st.session_state[cache_key] = cached
    return cached[1], cached[2]


def upload_image(scope: str, channels: int | None, prompt: str, waiting: str) -> Upload | None:
    """The page's uploader and its file, decoded with `channels` (None: the file's own); None with
    `waiting` shown while there is no file, or with one error line for a file that cannot be used."""
    upload = st.file_uploader(prompt, type=UPLOAD_TYPES, key=f"{scope}:upload")
    if upload is None:
        st.info(waiting)
        return None
    try:
        image, note = decode_upload(scope, upload, channels)
    except DenoiserError as error:
        st.error(f"Could not use {upload.name}: {error}")
        return None
    return Upload(image, upload.name, upload.file_id, note)


def choose_image(scope: str, channels: int, default_sample: str, max_side: int | None) -> tuple[np.ndarray, str] | None:
    """A sample photo or an upload, downscaled to `max_side` with a notice; None (and a message) when none."""
    source = st.radio("Source", ["Sample photo", "Upload"], horizontal=True, key=f"{scope}:source")
    if source == "Sample photo":
        first = COLOR_BENCHMARK_PHOTOS if channels == 3 else BENCHMARK_PHOTOS
        names = list(dict.fromkeys([*first, *BENCHMARK_PHOTOS, *TRAINING_PHOTOS]))
        st.session_state.setdefault(f"{scope}:sample", default_sample)
        name = st.selectbox("Sample photo (scikit-image)", names, key=f"{scope}:sample", format_func=lambda n: (
            f"{n} · held out from the bundled weights" if n in BENCHMARK_PHOTOS else f"{n} · bundled weights trained on it"))
        full = sample_photo(name, channels)
        image, label, note = sample_image(name, channels, max_side), name, ""
    else:
        upload = upload_image(scope, channels, "Upload an image (PNG, JPEG, TIFF or WebP)",
                              "Choose an image file to continue.")
        if upload is None:
            return None
        full, label, note = upload.image, upload.name, upload.note
        image = downscale(full, max_side)
    if note:
        st.caption(f"{label}: {note}.")
    if image.shape != full.shape:
        st.info(f"Downscaled from {full.shape[1]}×{full.shape[0]} to {image.shape[1]}×{image.shape[0]} pixels "
                f"(largest side {max_side}) to keep training quick.")
    return image, label


def choose_noise(scope: str, scenario: Scenario) -> tuple[NoiseModel, int]:
    """The noise sliders of a scenario (Gaussian variance, salt-and-pepper density or the camera's gain
    and JPEG quality) and the seed."""
    if scenario.noise_kind == "camera":
        noise = choose_camera(scope, scenario.noise)
    elif scenario.noise_kind == "salt-pepper":
        st.session_state.setdefault(f"{scope}:density", float(scenario.noise.density))
        density = st.slider("Density (fraction of pixels hit)", 0.0, 0.9, step=0.01, key=f"{scope}:density")
        noise: NoiseModel = SaltPepperNoise(density)
    else:
        st.session_state.setdefault(f"{scope}:variance", int(round(float(np.mean(scenario.noise.variance)))))
        variance = st.slider("Variance (0..255 scale)", 0, 2500, step=5, key=f"{scope}:variance",
                             help="The original notebook used variance 100 (sigma 10).")
        noise = GaussianNoise(float(variance))
        st.caption(f"sigma = √{variance} = **{noise.sigma:.1f}** on the 0..255 scale")
    st.session_state.setdefault(f"{scope}:seed", 0)
    seed = st.number_input("Seed", min_value=0, max_value=2 ** 31 - 1, step=1, key=f"{scope}:seed")
    return noise, int(seed)


def choose_camera(scope: str, default: CameraNoise) -> CameraNoise:
    """The camera's gain (ISO-like: shot and read noise together) and its JPEG quality, or no JPEG."""
    st.session_state.setdefault(f"{scope}:gain", float(default.gain))
    gain = st.slider("Camera gain (like ISO: 0 a bright daylight photo, 1 a dark high-ISO one)", 0.0, 1.0, step=0.05,
                     key=f"{scope}:gain", help="Sets the sensor's shot and read noise together (Brooks et al. 2019).")
    st.session_state.setdefault(f"{scope}:jpeg", default.jpeg_quality or 0)
    quality = st.slider("JPEG quality (0: no JPEG)", 0, 100, step=5, key=f"{scope}:jpeg",
                        help="The camera saves a JPEG at this quality; 0 keeps the developed image uncompressed.")
    noise = CameraNoise(float(gain), int(quality) or None)
    st.caption(f"About sigma **{noise.typical_sigma:.1f}** at mid-gray on the 0..255 scale, more in the shadows' colour; "
               "the noise is correlated between neighbouring pixels and channels.")
    return noise


def show_images(images: list[np.ndarray], captions: list[str]) -> None:
    """Images side by side, one column each, with their captions."""
    for column, image, caption in zip(st.columns(len(images)), images, captions):
        column.image(to_uint8(image), caption=caption, width="stretch", output_format="PNG")
