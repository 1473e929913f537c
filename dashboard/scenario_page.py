"""The scenario page: one generic page that every scenario renders (`render_scenario_page(key)`).

A scenario is data in `denoiser.scenarios`; the page reads top to bottom: 1 image, 2 noise,
3 model and training (or the bundled weights), 4 results, 5 classical baselines. Each page keeps
its last result (an `Outcome`) in `st.session_state` under `"<key>:outcome"`.
"""

from __future__ import annotations

import copy
import time

import streamlit as st

from denoiser.evaluation.metrics import psnr
from denoiser.inference.precision import bundled_inference
from denoiser.models.bundled import pretrained_path
from denoiser.scenarios import get_scenario
from denoiser.training.experiment import MAX_SIDE, experiment_model, reference_and_noisy_input, split_pixels

from .bundled_models import bundled_checkpoint
from .influence_section import show_influence
from .outcome import make_outcome, store_outcome
from .results import show_outcome
from .training_progress import TrainingRun, collect_interrupted_training, train_with_progress
from .training_settings import choose_training, show_cost
from .widgets import choose_image, choose_noise, show_images

MAX_TRAIN_SIDE = MAX_SIDE
"""Images are downscaled to this largest side on scenario pages (and in `fit`), so training stays quick."""


def render_scenario_page(scenario_key: str) -> None:
    """A whole scenario page: image, noise, training or bundled weights, results, baselines."""
    scenario = get_scenario(scenario_key)
    scope = scenario.key
    collect_interrupted_training(scope)
    st.title(scenario.title)
    if scenario.noise_kind == "camera":
        st.caption("Color photos through a simulated camera: back to the raw sensor, shot and read noise there, then "
                   "demosaicing, white balance, colour, tone curve and JPEG, as a phone or camera develops a photo. "
                   "The model is blind: it is given no noise level. Train an LSTM on one image or use the bundled "
                   "weights.")
    else:
        st.caption(f"{'Gray' if scenario.channels == 1 else 'Color'} images · the original notebook's noise: "
                   f"{scenario.noise.name}. Train an LSTM on one image or use the bundled weights.")
    bundled = bundled_checkpoint(scope)

    image_column, noise_column = st.columns([3, 2])
    with image_column:
        st.subheader("1 · Image")
        chosen = choose_image(scope, scenario.channels, scenario.sample, MAX_TRAIN_SIDE)
    with noise_column:
        st.subheader("2 · Noise")
        noise, seed = choose_noise(scope, scenario)
    if chosen is not None:
        clean, label = chosen
        clean, noisy = reference_and_noisy_input(clean, noise, seed)  # a camera's reference is its noiseless photo
        show_images([clean, noisy], ["Reference (the camera without noise)" if scenario.noise_kind == "camera"
                                     else "Clean", f"Noisy · PSNR {psnr(clean, noisy):.2f} dB"])
        show_influence(scope, scenario, clean, noisy, noise, seed)

        st.subheader("3 · Model and training")
        choice = choose_training(scope, scenario, bundled, seed)
        experiment = choice.experiment(scenario, noise)
        masks = split_pixels(clean.shape, choice.config.split, seed)
        show_cost(scope, experiment, clean.shape, bundled)
        left, right = st.columns(2)
        train = left.button("Train", type="primary", key=f"{scope}:train", width="stretch")
        use_bundled = right.button("Denoise now with the bundled weights", key=f"{scope}:bundled", width="stretch",
                                   disabled=bundled is None, help=None if bundled else "No bundled weights yet")
        settings = {"image": label, "noise": noise.name, **choice.to_dict()}
        if train:
            model = experiment_model(experiment, bundled.model if bundled else None)
            run = TrainingRun(scope, model.config, clean, noisy, noise, masks, label, settings,
                              best_state=copy.deepcopy(model.state_dict()), inference=choice.config.inference)
            train_with_progress(run, model, choice.config)
        if use_bundled:
            started, inference = time.perf_counter(), bundled_inference(scenario)
            with st.spinner("Denoising with the bundled weights…"):
                denoised = inference.run(bundled.model, noisy, noise.sigma)
            store_outcome(st.session_state, scope, make_outcome(
                "bundled", clean, noisy, denoised, masks, time.perf_counter() - started,
                pretrained_path(scope).read_bytes(), image=label, noise=noise,
                settings={"image": label, "noise": noise.name, "weights": "bundled", "inference": inference.label,
                          "seed": seed}))

    outcome = st.session_state.get(f"{scope}:outcome")
    st.subheader("4 · Results")
    if outcome is None:
        st.caption("Press **Train**, or denoise at once with the bundled weights, to see results here.")
        return
    show_outcome(scope, outcome)
    st.subheader("5 · Classical baselines")
    from .baseline_comparison import compare_baselines  # here: BM3D and friends load only once there is a result

    compare_baselines(scope, outcome)
