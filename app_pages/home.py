"""Home: what the lab does, a held-out photo noisy and denoised, and a link to every page.

The picture is stored (`dashboard/home_picture.py` says how it is made), so the first view after a
server start neither imports torch nor runs a model.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.home_picture import DEMO_SIGMA, PICTURE
from dashboard.widgets import show_images
from denoiser.images import load_image
from denoiser.scenarios import SCENARIOS

CAPTIONS = ["Clean (held-out photo)", f"Noisy, sigma {DEMO_SIGMA:g}", "Denoised by the bundled LSTM"]


@st.cache_data(show_spinner=False)
def stored_pictures() -> list[np.ndarray]:
    """The clean, noisy and denoised pictures from `PICTURE`."""
    return np.split(load_image(PICTURE, channels=1), 3, axis=1)


def render() -> None:
    st.title("LSTM image-denoising lab")
    st.markdown(
        "Add noise to a photo, train a recurrent (LSTM) denoiser on it while you watch the loss fall, and "
        "compare the result with the noisy input and with classical denoisers. Each scenario below is its "
        "own page; a model trained there stays with you while you switch pages.\n\n"
        "The lab started from a notebook that trained a Keras LSTM on one image and failed (test MSE about "
        "8,950). Its experiment is kept as the *Original notebook* preset, and here it works; the *Quick* preset "
        "fine-tunes the bundled weights for half a minute, and *Denoise now* uses them as they are.")
    show_images(stored_pictures(), CAPTIONS)
    st.subheader("Scenarios")
    for key, scenario in SCENARIOS.items():
        st.page_link(f"app_pages/{key.replace('-', '_')}.py", label=f"{scenario.title}: {scenario.noise.name}",
                     icon=":material/tune:")
    st.subheader("Tools")
    st.page_link("app_pages/your_photo.py", label="Your photo: denoise a real photo with the bundled weights",
                 icon=":material/photo_camera:")
    st.page_link("app_pages/benchmark.py", label="Benchmark: the LSTM against classical denoisers on held-out photos",
                 icon=":material/leaderboard:")


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it (tests, scripts) draws nothing
    render()
