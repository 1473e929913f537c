"""Shared Streamlit widgets and the scenario page: each scenario page is `render_scenario_page(key)`.

State lives in `st.session_state` only, under keys scoped by page (`"gray-gaussian:seed"`, ...):
uploads are decoded per session and never cached globally or written to disk; the last result of
each page (an `Outcome`) survives reruns and page switches. Heavy, shared, read-only objects (the
bundled models, the sample photos) sit behind `st.cache_resource` / `st.cache_data`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import streamlit as st
import torch
from skimage.transform import resize

from denoiser.baselines import BASELINES, baselines_for, run_baseline
from denoiser.checkpoint import Checkpoint, checkpoint_bytes
from denoiser.errors import DenoiserError
from denoiser.images import convert_channels, encode_png, load_image, to_uint8
from denoiser.inference import denoise
from denoiser.jobs import training_slots
from denoiser.metrics import Scores, psnr, score_splits, ssim
from denoiser.models import ModelConfig, build_model
from denoiser.noise import GaussianNoise, NoiseModel, SaltPepperNoise
from denoiser.pretrained import load_pretrained, pretrained_path
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS, TRAINING_PHOTOS, sample_photo
from denoiser.scenarios import Scenario, get_scenario
from denoiser.splits import PixelSplit, make_masks
from denoiser.train import QUICK, Progress, TrainConfig, notebook_preset, train_on_image

from . import figures

TORCH_THREADS = 1
"""One intra-op thread per run: sessions share the process, and torch with 2 threads on 2 busy cores
ran 20-30x slower here (6.5 s against 0.24 s to denoise 256x256) than with 1."""
torch.set_num_threads(TORCH_THREADS)

MAX_TRAIN_SIDE = 256
"""Images are downscaled to this largest side on scenario pages, so training stays quick."""
UPLOAD_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "webp"]
QUICK_PRESET, NOTEBOOK_PRESET = "Quick: bundled weights, fine-tuned", "Original notebook: from scratch"
ARCHITECTURES = {"renet": "2-D LSTM (ReNet row + column sweeps)", "row": "Row LSTM (the original notebook)"}
HIDDEN_SIZES = (8, 16, 24, 32, 48, 64, 96, 128)
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
REMEMBERED = {"source", "sample", "variance", "density", "seed", "preset", "architecture", "hidden", "epochs",
              "time_limit", "batch", "lr", "split", "from_bundled", "baselines", "kind", "scenario", "sigma", "side",
              "images", "methods"}
"""Widgets whose values are kept while the visitor is on another page (keys `page:name[:more]`)."""


PAGES_DIR = "app_pages"
"""Not `pages/`: Streamlit treats a `pages/` folder beside the entry point as a legacy multipage app
on the first run after the server starts, so a deep link (/gray-gaussian) would then show "Page
not found" or the wrong sidebar."""


def page_file(url_path: str) -> str:
    """The thin page script behind a url path ('gray-gaussian', 'benchmark'), relative to the entry point."""
    return f"{PAGES_DIR}/{url_path.replace('-', '_')}.py"


# --- cached, shared, read-only -------------------------------------------------------------------

@st.cache_resource(show_spinner="Loading the bundled weights…")
def _bundled(scenario_key: str) -> Checkpoint:
    return load_pretrained(scenario_key)


def bundled_checkpoint(scenario_key: str) -> Checkpoint | None:
    """The bundled model (shared by all sessions: copy it before training), or None when missing."""
    if not pretrained_path(scenario_key).is_file():
        return None
    return _bundled(scenario_key)


@st.cache_data(show_spinner=False, max_entries=64)
def sample_image(name: str, channels: int, max_side: int | None) -> np.ndarray:
    """A built-in photo, converted and downscaled (public data, so a global cache is fine)."""
    return fit_to(sample_photo(name, channels), max_side)


def fit_to(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """The image, downscaled (antialiased) so its largest side is at most `max_side`."""
    height, width = image.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    shape = (max(1, round(height * scale)), max(1, round(width * scale)), image.shape[2])
    return np.clip(resize(image, shape, anti_aliasing=True, preserve_range=True), 0, 1).astype(np.float32)


# --- small shared widgets ------------------------------------------------------------------------

def remember_widgets() -> None:
    """Streamlit drops a widget's value at the end of a run that did not draw it (another page was
    shown); writing the value back at the start of every run keeps it. Called by the entry point."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.count(":") in (1, 2) and key.split(":")[1] in REMEMBERED:
            st.session_state[key] = st.session_state[key]


def decode_upload(scope: str, upload, channels: int) -> tuple[np.ndarray, str]:
    """The upload as an image with `channels`, decoded once per file and kept in this session only."""
    cache_key = f"{scope}:upload-image"
    cached = st.session_state.get(cache_key)
    if cached is None or cached[0] != (upload.file_id, channels):
        raw = load_image(upload.getvalue())
        note = ""
        if raw.shape[-1] != channels:
            note = "converted from color to gray" if channels == 1 else "gray, replicated to three channels"
        cached = ((upload.file_id, channels), convert_channels(raw, channels), note)
        st.session_state[cache_key] = cached
    return cached[1], cached[2]


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
        upload = st.file_uploader("Upload an image (PNG, JPEG, TIFF or WebP)", type=UPLOAD_TYPES, key=f"{scope}:upload")
        if upload is None:
            st.info("Choose an image file to continue.")
            return None
        try:
            full, note = decode_upload(scope, upload, channels)
        except DenoiserError as error:
            st.error(f"Could not use {upload.name}: {error}")
            return None
        image, label = fit_to(full, max_side), upload.name
    if note:
        st.caption(f"{label}: {note}.")
    if image.shape != full.shape:
        st.info(f"Downscaled from {full.shape[1]}×{full.shape[0]} to {image.shape[1]}×{image.shape[0]} pixels "
                f"(largest side {max_side}) to keep training quick.")
    return image, label


def choose_noise(scope: str, scenario: Scenario) -> tuple[NoiseModel, int]:
    """The noise sliders of a scenario (Gaussian variance or salt-and-pepper density) and the seed."""
    if scenario.noise_kind == "salt-pepper":
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


def show_images(images: list[np.ndarray], captions: list[str]) -> None:
    for column, image, caption in zip(st.columns(len(images)), images, captions):
        column.image(to_uint8(image), caption=caption, width="stretch", output_format="PNG")


# --- training settings ---------------------------------------------------------------------------

def preset_values(preset: str, scenario: Scenario, bundled: ModelConfig | None) -> dict:
    """The widget values a preset sets: the quick fine-tuning default or the original notebook's settings."""
    if preset == QUICK_PRESET:
        model, config, from_bundled = bundled or scenario.model, QUICK, bundled is not None
    else:
        model, config, from_bundled = replace(scenario.model, architecture="row"), notebook_preset(scenario), False
    split = config.split
    return {"architecture": model.architecture, "hidden": model.hidden, "epochs": config.epochs,
            "time_limit": 0, "batch": config.batch_size, "lr": config.learning_rate, "from_bundled": from_bundled,
            "split": (round(split.train, 2), round(split.train + split.validation, 2))}


@dataclass(frozen=True)
class TrainingChoice:
    preset: str
    model: ModelConfig
    from_bundled: bool
    config: TrainConfig

    def to_dict(self) -> dict:
        c = self.config
        return {"preset": self.preset, "model": self.model.to_dict(), "from_bundled_weights": self.from_bundled,
                "epochs": c.epochs, "batch_size": c.batch_size, "learning_rate": c.learning_rate,
                "patch_size": c.patch_size, "fresh_noise": c.fresh_noise, "cosine": c.cosine,
                "time_limit_seconds": c.time_budget, "seed": c.seed,
                "split": {"train": c.split.train, "validation": c.split.validation, "test": c.split.test}}


def model_to_train(base: ModelConfig, architecture: str, hidden: int) -> ModelConfig:
    """The bundled (or scenario's) design with the chosen network and size, for training from
    scratch; the row LSTM is the original notebook's network, one layer that reads R, G and B
    together, not opponent planes. One network, no low-noise specialist: the page trains at one
    noise level."""
    model = replace(base, architecture=architecture, hidden=hidden, specialist_below=0.0)
    return replace(model, opponent_colors=False, depth=1) if architecture == "row" else model


def choose_training(scope: str, scenario: Scenario, bundled: Checkpoint | None, seed: int) -> TrainingChoice:
    """Architecture, sizes, epochs, batch, learning rate and split, set by a preset and then by hand."""
    bundled_config = bundled.config if bundled else None

    def apply_preset():
        for name, value in preset_values(st.session_state[f"{scope}:preset"], scenario, bundled_config).items():
            st.session_state[f"{scope}:{name}"] = value

    if f"{scope}:preset" not in st.session_state:
        st.session_state[f"{scope}:preset"] = QUICK_PRESET
        apply_preset()
    preset = st.radio("Preset", [QUICK_PRESET, NOTEBOOK_PRESET], key=f"{scope}:preset", on_change=apply_preset,
                      horizontal=True, help="Sets the fields below; change any of them afterwards.")
    left, middle, right = st.columns(3)
    architecture = left.selectbox("Architecture", list(ARCHITECTURES), key=f"{scope}:architecture",
                                  format_func=ARCHITECTURES.get)
    hidden_options = sorted({*HIDDEN_SIZES, st.session_state[f"{scope}:hidden"]})
    hidden = left.select_slider("LSTM hidden size", hidden_options, key=f"{scope}:hidden")
    epochs = middle.number_input("Epochs", min_value=1, max_value=500, step=1, key=f"{scope}:epochs")
    time_limit = middle.number_input("Time limit (s)", min_value=0, max_value=3600, step=10, key=f"{scope}:time_limit",
                                     help="0: none. Otherwise no step starts that would end past it, and the "
                                          "Quick preset's learning rate anneals over the time as well as the epochs.")
    batch = middle.select_slider("Batch size", BATCH_SIZES, key=f"{scope}:batch")
    learning_rate = right.select_slider("Learning rate", LEARNING_RATES, key=f"{scope}:lr", format_func=lambda v: f"{v:g}")
    train_end, validation_end = right.slider("Pixel split: train | validation | test", 0.05, 1.0, step=0.01,
                                             key=f"{scope}:split")
    split = PixelSplit(round(train_end, 2), round(validation_end - train_end, 2), round(1.0 - validation_end, 2))
    right.caption(f"train {split.train:.0%} · validation {split.validation:.0%} · test {split.test:.0%}")
    matches = bundled_config is not None and (architecture, hidden) == (bundled_config.architecture, bundled_config.hidden)
    if not matches:
        st.session_state[f"{scope}:from_bundled"] = False
    from_bundled = st.checkbox("Start from the bundled weights", key=f"{scope}:from_bundled", disabled=not matches,
                               help="Fine-tune the bundled model instead of starting from random weights.")
    if bundled_config is None:
        st.caption("No bundled weights for this scenario yet: training starts from scratch.")
    elif not matches:
        st.caption(f"The bundled model is {bundled_config.architecture} with hidden size {bundled_config.hidden}; "
                   "other choices train from scratch.")
    base = QUICK if preset == QUICK_PRESET else notebook_preset(scenario)
    model = model_to_train(bundled_config or scenario.model, architecture, int(hidden))
    config = replace(base, epochs=int(epochs), batch_size=int(batch), learning_rate=float(learning_rate),
                     split=split, seed=seed, threads=TORCH_THREADS, time_budget=float(time_limit) or None)
    from_bundled = bool(from_bundled and matches)
    return TrainingChoice(preset, bundled_config if from_bundled else model, from_bundled, config)


# --- results -------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """A page's last result, with everything needed to draw it again after a rerun or a page switch."""

    action: str
    """'trained' or 'bundled'."""
    image: str
    noise: str
    sigma: float
    clean: np.ndarray
    noisy: np.ndarray
    denoised: np.ndarray
    scores: dict[str, Scores]
    seconds: float
    weights: bytes
    settings: dict = field(default_factory=dict)
    history: list[Progress] = field(default_factory=list)
    best_epoch: int | None = None
    stopped: bool = False
    baselines: dict[str, dict] = field(default_factory=dict)
    out_of_time: bool = False

    @property
    def method(self) -> str:
        return "LSTM (trained here)" if self.action == "trained" else "LSTM (bundled weights)"

    def summary(self) -> str:
        size = f"{self.clean.shape[1]}×{self.clean.shape[0]}"
        if self.action == "bundled":
            return f"Bundled weights on {self.image} ({size}), {self.noise}: {self.seconds:.1f} s."
        last = self.history[-1] if self.history else None
        epochs = f"{last.epoch} of {last.epochs}" if last else "0"
        if self.out_of_time:
            return (f"Reached the time limit in epoch {epochs} on {self.image} ({size}), {self.noise}; "
                    f"best epoch {self.best_epoch}. {self.seconds:.1f} s.")
        if self.stopped:
            kept = f"epoch {self.best_epoch}" if self.best_epoch else "the starting weights, no epoch had ended"
            return (f"Stopped in epoch {epochs} on {self.image} ({size}), {self.noise}; kept the best model so far "
                    f"({kept}). {self.seconds:.1f} s.")
        return (f"Trained {epochs} epochs on {self.image} ({size}), {self.noise}; best epoch {self.best_epoch}. "
                f"{self.seconds:.1f} s.")

    def metrics(self) -> dict:
        """Everything measured, JSON-ready (non-finite numbers become null)."""
        def clean_number(value):
            return value if not isinstance(value, float) or math.isfinite(value) else None
        scores = {name: {k: clean_number(v) for k, v in s.to_dict().items()} for name, s in self.scores.items()}
        return {"action": self.action, "image": self.image, "noise": self.noise, "sigma": self.sigma,
                "seconds": round(self.seconds, 3), "best_epoch": self.best_epoch, "stopped": self.stopped,
                "out_of_time": self.out_of_time,
                "settings": self.settings, "scores": scores,
                "history": [{"epoch": p.epoch, "step": p.step, "val_loss": p.val_loss, "val_psnr": p.val_psnr}
                            for p in self.history if p.val_loss is not None],
                "baselines": {k: {m: clean_number(v) for m, v in row.items()} for k, row in self.baselines.items()}}


def make_outcome(action: str, clean, noisy, denoised, masks, seconds: float, weights: bytes, *, image: str,
                 noise: NoiseModel, settings: dict, history=(), best_epoch=None, stopped=False,
                 out_of_time=False) -> Outcome:
    return Outcome(action, image, noise.name, noise.sigma, clean, noisy, denoised,
                   score_splits(clean, noisy, denoised, masks), seconds, weights, settings,
                   list(history), best_epoch, stopped, out_of_time=out_of_time)


@dataclass
class TrainingRun:
    """A training in progress, kept in session_state while it runs.

    Streamlit handles a click during a run (Stop, or any widget) by stopping the running script at
    its next `st.*` call and starting a new run at once; the stopped thread may no longer write to
    session_state. So the progress callback updates this object in place (the best weights so far,
    the history), and the next run of the page turns whatever it holds into the result.
    """

    scope: str
    model_config: ModelConfig
    clean: np.ndarray
    noisy: np.ndarray
    noise: NoiseModel
    masks: object
    image: str
    settings: dict
    best_state: dict
    best_epoch: int = 0
    history: list[Progress] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def outcome(self, model, denoised: np.ndarray, stopped: bool, out_of_time: bool = False) -> Outcome:
        weights = checkpoint_bytes(model, {"scenario": self.scope, "trained_on": self.image, "settings": self.settings,
                                           "best_epoch": self.best_epoch})
        return make_outcome("trained", self.clean, self.noisy, denoised, self.masks, time.perf_counter() - self.started,
                            weights, image=self.image, noise=self.noise, settings=self.settings,
                            history=list(self.history), best_epoch=self.best_epoch, stopped=stopped,
                            out_of_time=out_of_time)

    def interrupted_outcome(self) -> Outcome:
        """The result of an interrupted run: the best weights so far (the starting ones before any epoch ended)."""
        model = build_model(self.model_config)
        model.load_state_dict(self.best_state)
        return self.outcome(model, denoise(model, self.noisy, self.noise.sigma), stopped=True)


def collect_interrupted_training(scope: str) -> None:
    """If the last run of this page was interrupted while training, keep its best model as the result."""
    run = st.session_state.pop(f"{scope}:training", None)
    if run is not None:
        with st.spinner("Keeping the best model so far…"):
            st.session_state[f"{scope}:outcome"] = run.interrupted_outcome()


@contextlib.contextmanager
def slot_in_line(scope: str, holder):
    """Hold one of the server's training slots for this block. While waiting, `holder` shows this
    session's place in line and a button to leave it (a click stops the run here, as Stop does)."""
    slots, leave, leave_drawn = training_slots(), st.empty(), []

    def on_wait(position: int) -> None:
        holder.info(f"Waiting for a free training slot: you are number {position} in line "
                    f"({slots.running} of {slots.capacity} training now).", icon=":material/hourglass_top:")
        if not leave_drawn:
            leave_drawn.append(leave.button("Leave the line", key=f"{scope}:leave-line"))

    with slots.slot(on_wait=on_wait) as ticket:
        leave.empty()
        yield ticket


def train_with_progress(run: TrainingRun, model, config: TrainConfig) -> Outcome | None:
    """Wait for a free training slot (the server runs a few trainings at once), then train while
    drawing a progress bar, times and a live loss chart, with a Stop button; the slot's time cap
    stops a long run, keeping its best model. None (and a message) when the line is full."""
    scope = run.scope
    holder, slots = st.empty(), training_slots()
    try:
        with slot_in_line(scope, holder) as ticket:
            result = _train_in_slot(run, model, config, holder, ticket)
    except DenoiserError as error:
        holder.error(str(error))
        return None
    run.best_epoch = result.best_epoch
    outcome = run.outcome(model, result.denoised, result.stopped, result.out_of_time)
    capped = result.stopped and ticket.expired()
    if capped:
        outcome.settings["stopped_by"] = f"time cap of {slots.time_cap:g} s"
    st.session_state[f"{scope}:outcome"] = outcome
    del st.session_state[f"{scope}:training"]
    if capped:
        holder.warning(f"Training stopped at the time cap of {slots.time_cap:g} s per training on this shared "
                       "server; the best model so far is kept. Fewer epochs or a smaller image finish in time.")
    else:
        holder.empty()  # the curve moves to the results' "Training curve" tab
    if ticket.first_position:
        st.caption(f"Waited {ticket.waited:.0f} s for a free training slot "
                   f"(number {ticket.first_position} in line at the start).")
    return outcome


def _train_in_slot(run: TrainingRun, model, config: TrainConfig, holder, ticket):
    """The training itself, drawn in `holder`; stops at Stop (a rerun) or at the ticket's time cap."""
    scope = run.scope
    st.session_state[f"{scope}:training"] = run
    box = holder.container(border=True)
    bar_column, stop_column = box.columns([5, 1])
    bar = bar_column.progress(0.0, text="Starting…")
    stop_column.button("Stop", key=f"{scope}:stop", help="Stop now and keep the best model so far", width="stretch")
    timing, chart = box.empty(), box.empty()
    last_draw = [0.0]

    def on_progress(progress: Progress) -> None:
        run.history.append(progress)
        epoch_end = progress.val_loss is not None
        if epoch_end and progress.best_epoch == progress.epoch:
            run.best_state, run.best_epoch = copy.deepcopy(model.state_dict()), progress.epoch
        text = f"Epoch {progress.epoch}/{progress.epochs} · step {progress.step}/{progress.steps} · loss {progress.train_loss:.1f}"
        if epoch_end:
            text += f" · validation PSNR {progress.val_psnr:.2f} dB"
        bar.progress(min(1.0, progress.fraction), text=text)  # a click since the last call stops the script here
        remaining = progress.remaining
        timing.caption(f"Elapsed {progress.elapsed:.1f} s · remaining "
                       f"{'…' if math.isnan(remaining) else f'about {remaining:.0f} s'}")
        now = time.perf_counter()
        if epoch_end or now - last_draw[0] > 0.5:
            last_draw[0] = now
            chart.plotly_chart(figures.loss_figure(run.history), key=f"{scope}:live-loss:{len(run.history)}")

    return train_on_image(model, run.clean, run.noisy, run.noise, run.masks, config, on_progress=on_progress,
                          should_stop=ticket.expired)


def show_outcome(scope: str, outcome: Outcome) -> None:
    """Metric tiles, the images, comparison, residual and error maps, histogram, split table, downloads."""
    (st.warning if outcome.stopped else st.success)(outcome.summary())
    everything, test = outcome.scores["all"], outcome.scores.get("test")
    tiles = st.columns(5)
    tiles[0].metric("PSNR noisy", f"{everything.noisy_psnr:.2f} dB", help="Noisy input against the clean image")
    tiles[1].metric("PSNR denoised", f"{everything.denoised_psnr:.2f} dB", f"{everything.gain:+.2f} dB",
                    help="Denoised output against the clean image; the delta is the gain")
    tiles[2].metric("SSIM denoised", f"{everything.denoised_ssim:.4f}",
                    f"{everything.denoised_ssim - everything.noisy_ssim:+.4f}")
    if test is not None and test.pixels:
        noisy_mse = 255.0 ** 2 / 10 ** (test.noisy_psnr / 10) if math.isfinite(test.noisy_psnr) else 0.0
        tiles[3].metric("Test MSE (0..255)", f"{test.mse:.1f}", f"{test.mse - noisy_mse:+.1f}", delta_color="inverse",
                        help=f"On the {test.pixels:,} held-out test pixels; the delta is against the noisy input")
    else:
        tiles[3].metric("Test MSE (0..255)", "—", help="No test pixels in this split")
    tiles[4].metric("Time", f"{outcome.seconds:.1f} s", help="Seconds from the click to the result")

    show_images([outcome.clean, outcome.noisy, outcome.denoised], ["Clean", "Noisy", "Denoised"])
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


def compare_baselines(scope: str, outcome: Outcome) -> None:
    """Classical denoisers on the result's noisy image, in one table and one bar chart beside the LSTM."""
    st.session_state.setdefault(f"{scope}:baselines", baselines_for(scope))
    chosen = st.multiselect("Baselines", list(BASELINES), key=f"{scope}:baselines",
                            format_func=lambda key: BASELINES[key].title)
    missing = [key for key in chosen if key not in outcome.baselines]
    if st.button(f"Run {len(missing)} baseline(s)" if missing else "Baselines up to date", key=f"{scope}:run-baselines",
                 disabled=not missing):
        bar = st.progress(0.0)
        for done, key in enumerate(missing):
            bar.progress(done / len(missing), text=f"{BASELINES[key].title}…")
            denoised, seconds = run_baseline(key, outcome.noisy, outcome.sigma)
            outcome.baselines[key] = {"psnr": psnr(outcome.clean, denoised), "ssim": ssim(outcome.clean, denoised),
                                      "seconds": seconds}
        bar.empty()
    everything = outcome.scores["all"]
    rows = [{"method": "Noisy input", "psnr": everything.noisy_psnr, "ssim": everything.noisy_ssim, "seconds": 0.0},
            {"method": outcome.method, "psnr": everything.denoised_psnr, "ssim": everything.denoised_ssim,
             "seconds": outcome.seconds, "highlight": True}]
    rows += [{"method": BASELINES[key].title, **outcome.baselines[key]} for key in chosen if key in outcome.baselines]
    if len(rows) == 2:
        st.caption("Pick baselines and run them to compare.")
        return
    st.dataframe([{"method": r["method"], "PSNR (dB)": round(r["psnr"], 2), "SSIM": round(r["ssim"], 4),
                   "seconds": round(r["seconds"], 2)} for r in rows], hide_index=True)
    st.caption("The LSTM's seconds include training when it was trained here.")
    st.plotly_chart(figures.method_bars_figure(rows), key=f"{scope}:baseline-bars")


# --- the scenario page ---------------------------------------------------------------------------

def render_scenario_page(scenario_key: str) -> None:
    """A whole scenario page: image, noise, training or bundled weights, results, baselines."""
    scenario = get_scenario(scenario_key)
    scope = scenario.key
    collect_interrupted_training(scope)
    st.title(scenario.title)
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
        noisy = noise.apply(clean, np.random.default_rng(seed))
        show_images([clean, noisy], ["Clean", f"Noisy · PSNR {psnr(clean, noisy):.2f} dB"])

        st.subheader("3 · Model and training")
        choice = choose_training(scope, scenario, bundled, seed)
        masks = make_masks(clean.shape[:2], choice.config.split, np.random.default_rng(seed))
        left, right = st.columns(2)
        train = left.button("Train", type="primary", key=f"{scope}:train", width="stretch")
        use_bundled = right.button("Denoise now with the bundled weights", key=f"{scope}:bundled", width="stretch",
                                   disabled=bundled is None, help=None if bundled else "No bundled weights yet")
        settings = {"image": label, "noise": noise.name, **choice.to_dict()}
        if train:
            if choice.from_bundled:
                model = copy.deepcopy(bundled.model)
            else:
                torch.manual_seed(seed)
                model = build_model(choice.model)
            run = TrainingRun(scope, model.config, clean, noisy, noise, masks, label, settings,
                              best_state=copy.deepcopy(model.state_dict()))
            train_with_progress(run, model, choice.config)
        if use_bundled:
            started = time.perf_counter()
            with st.spinner("Denoising with the bundled weights…"):
                denoised = denoise(bundled.model, noisy, noise.sigma)
            st.session_state[f"{scope}:outcome"] = make_outcome(
                "bundled", clean, noisy, denoised, masks, time.perf_counter() - started,
                pretrained_path(scope).read_bytes(), image=label, noise=noise,
                settings={"image": label, "noise": noise.name, "weights": "bundled", "seed": seed})

    outcome = st.session_state.get(f"{scope}:outcome")
    st.subheader("4 · Results")
    if outcome is None:
        st.caption("Press **Train**, or denoise at once with the bundled weights, to see results here.")
        return
    show_outcome(scope, outcome)
    st.subheader("5 · Classical baselines")
    compare_baselines(scope, outcome)

