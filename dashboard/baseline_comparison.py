"""Step 5 of a scenario page: classical denoisers on the result's noisy image, beside the LSTM.

Imported when a page has a result, not before: the baselines bring BM3D and scikit-image's
restoration module, which a first view does not need.
"""

from __future__ import annotations

import streamlit as st

from denoiser.evaluation.baselines import BASELINES, NOT_HOSTED, available_baselines, baselines_for, run_baseline
from denoiser.evaluation.metrics import psnr, ssim

from . import figures
from .outcome import Outcome


def comparison_rows(outcome: Outcome, chosen: list[str]) -> list[dict]:
    """Noisy input, the LSTM (and its earlier result of the other kind on this image), and each
    chosen baseline that has run: method, PSNR, SSIM, seconds."""
    everything = outcome.scores["all"]
    rows = [{"method": "Noisy input", "psnr": everything.noisy_psnr, "ssim": everything.noisy_ssim, "seconds": 0.0},
            {"method": outcome.method, "psnr": everything.denoised_psnr, "ssim": everything.denoised_ssim,
             "seconds": outcome.seconds, "highlight": True}]
    if outcome.beside is not None:
        earlier = outcome.beside.scores["all"]
        rows.append({"method": f"{outcome.beside.method}, earlier", "psnr": earlier.denoised_psnr,
                     "ssim": earlier.denoised_ssim, "seconds": outcome.beside.seconds})
    return rows + [{"method": BASELINES[key].title, **outcome.baselines[key]} for key in chosen if key in outcome.baselines]


def compare_baselines(scope: str, outcome: Outcome) -> None:
    """The baselines to run, a button that runs the missing ones, then one table and one bar chart."""
    st.session_state.setdefault(f"{scope}:baselines", baselines_for(scope))
    chosen = st.multiselect("Baselines", available_baselines(), key=f"{scope}:baselines",
                            format_func=lambda key: BASELINES[key].title)
    if not BASELINES["bm3d"].available:
        st.caption(NOT_HOSTED)
    missing = [key for key in chosen if key not in outcome.baselines]
    if st.button(f"Run {len(missing)} baseline(s)" if missing else "Baselines up to date", key=f"{scope}:run-baselines",
                 disabled=not missing):
        bar = st.progress(0.0)
        for done, key in enumerate(missing):
            bar.progress(done / len(missing), text=f"{BASELINES[key].title}…")
            denoised, seconds = run_baseline(key, outcome.noisy, outcome.sigma)  # 0 (camera): each estimates it
            outcome.baselines[key] = {"psnr": psnr(outcome.clean, denoised), "ssim": ssim(outcome.clean, denoised),
                                      "seconds": seconds}
        bar.empty()
    rows = comparison_rows(outcome, chosen)
    if len(rows) == 2:
        st.caption("Pick baselines and run them to compare.")
        return
    st.dataframe([{"method": r["method"], "PSNR (dB)": round(r["psnr"], 2), "SSIM": round(r["ssim"], 4),
                   "seconds": round(r["seconds"], 2)} for r in rows], hide_index=True)
    st.caption("The LSTM's seconds include training when it was trained here.")
    st.plotly_chart(figures.method_bars_figure(rows), key=f"{scope}:baseline-bars")
