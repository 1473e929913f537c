"""Step 4 of a scenario page: an `Outcome` drawn as metric tiles, images, figures and downloads."""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from denoiser.images import encode_png
from denoiser.scenarios import get_scenario

from . import figures
from .outcome import Outcome
from .widgets import show_images


def show_outcome(scope: str, outcome: Outcome) -> None:
    """Metric tiles, the images, comparison, residual and error maps, histogram, split table, downloads."""
    (st.warning if outcome.stopped else st.success)(outcome.summary())
    if outcome.beside is not None:
        st.info(replaced_line(outcome))
    everything, test = outcome.scores["all"], outcome.scores.get("test")
    tiles = st.columns(5)
    tiles[0].metric("PSNR noisy", f"{everything.noisy_psnr:.2f} dB", help="Noisy input against the clean image")
    tiles[1].metric("PSNR denoised", f"{everything.denoised_psnr:.2f} dB", f"{everything.gain:+.2f} dB",
                    help="Denoised output against the clean image; the delta is the gain")
    tiles[2].metric("SSIM denoised", f"{everything.denoised_ssim:.4f}",
                    f"{everything.denoised_ssim - everything.noisy_ssim:+.4f}")
    if test is not None and test.pixels:
        tiles[3].metric("Test MSE (0..255)", f"{test.denoised_mse:.1f}", f"{test.denoised_mse - test.noisy_mse:+.1f}",
                        delta_color="inverse",
                        help=f"On the {test.pixels:,} held-out test pixels; the delta is against the noisy input")
    else:
        tiles[3].metric("Test MSE (0..255)", "—", help="No test pixels in this split")
    tiles[4].metric("Time", f"{outcome.seconds:.1f} s", help="Seconds from the click to the result")
    scenario = get_scenario(scope)
    if test is not None and test.pixels and scenario.notebook_test_mse is not None:
        st.dataframe(figures.notebook_table(test, scenario.notebook_test_mse, outcome.method), hide_index=True)

    clean = "Reference (the camera without noise)" if scenario.noise_kind == "camera" else "Clean"
    show_images([outcome.clean, outcome.noisy, outcome.denoised], [clean, "Noisy", "Denoised"])
    tabs = st.tabs(["Before / after", "Residual and error", "Noise histogram", "Per split", "Training curve"])
    with tabs[0]:
        st.plotly_chart(figures.comparison_figure(outcome.noisy, outcome.denoised), key=f"{scope}:compare")
    with tabs[1]:
        left, right = st.columns(2)
        left.plotly_chart(figures.heatmap_figure(figures.signed_map(outcome.noisy, outcome.denoised),
                                                 "Residual: noisy − denoised", diverging=True), key=f"{scope}:residual")
        right.plotly_chart(figures.heatmap_figure(np.abs(figures.signed_map(outcome.clean, outcome.denoised)),
                                                  "Error: |clean − denoised|", diverging=False), key=f"{scope}:error")
    with tabs[2]:
        st.plotly_chart(figures.noise_histogram_figure(255 * (outcome.noisy - outcome.denoised),
                                                       255 * (outcome.noisy - outcome.clean)), key=f"{scope}:hist")
    with tabs[3]:
        st.dataframe(figures.split_table(outcome.scores), hide_index=True)
    with tabs[4]:
        if outcome.history:
            st.plotly_chart(figures.loss_figure(outcome.history), key=f"{scope}:loss")
        else:
            st.caption("The bundled weights were used as they are: no training curve.")

    downloads = st.columns(3)
    downloads[0].download_button("Denoised PNG", encode_png(outcome.denoised), f"{scope}-denoised.png", "image/png",
                                 key=f"{scope}:download-png", on_click="ignore", width="stretch")
    downloads[1].download_button("Weights (.pt)", outcome.weights, f"{scope}.pt", "application/octet-stream",
                                 key=f"{scope}:download-weights", on_click="ignore", width="stretch")
    downloads[2].download_button("Metrics (JSON)", json.dumps(outcome.metrics(), indent=2), f"{scope}-metrics.json",
                                 "application/json", key=f"{scope}:download-metrics", on_click="ignore", width="stretch")


def replaced_line(outcome: Outcome) -> str:
    """What the result replaced on the same noisy image, and where the earlier one still is."""
    earlier, now = outcome.beside, outcome
    return (f"This result ({now.method}, PSNR {now.scores['all'].denoised_psnr:.2f} dB) replaced the one of "
            f"{earlier.method} (PSNR {earlier.scores['all'].denoised_psnr:.2f} dB) on the same noisy image; "
            "both are in the table of step 5.")
