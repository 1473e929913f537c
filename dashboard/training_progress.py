"""Training on a page: wait for a training slot, then train while drawing progress, with Stop.

How Stop works: Streamlit handles a click during a run (Stop, or any widget) by stopping the
running script at its next `st.*` call and starting a new run at once; the stopped thread may no
longer write to session_state. So a `TrainingRun` sits in session_state while it trains, the
progress callback updates it in place (the best weights so far, the history), and the next run of
the page turns whatever it holds into the result (`collect_interrupted_training`).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import streamlit as st

from denoiser.errors import DenoiserError
from denoiser.inference.precision import Inference
from denoiser.models.checkpoint import checkpoint_bytes
from denoiser.models.networks import ModelConfig, build_model
from denoiser.noise import NoiseModel
from denoiser.training.loops import ImageTrainingResult, Progress, TrainConfig, train_on_image
from denoiser.training.splits import SplitMasks

from . import figures
from .outcome import Outcome, make_outcome, store_outcome
from .training_slots import MIN_SHARE, Place, Ticket, training_slots


@dataclass
class TrainingRun:
    """A training in progress, kept in session_state while it runs (see the module's docstring)."""

    scope: str
    model_config: ModelConfig
    clean: np.ndarray
    noisy: np.ndarray
    noise: NoiseModel
    masks: SplitMasks
    image: str
    settings: dict
    best_state: dict
    best_epoch: int = 0
    history: list[Progress] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    inference: Inference = Inference()
    """How the run's checks denoise (`TrainConfig.inference`), and so a run stopped between them."""

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
        return self.outcome(model, self.inference.run(model, self.noisy, self.noise.sigma), stopped=True)


def collect_interrupted_training(scope: str) -> None:
    """If the last run of this page was interrupted while training, keep its best model as the result."""
    run = st.session_state.pop(f"{scope}:training", None)
    if run is not None:
        with st.spinner("Keeping the best model so far…"):
            store_outcome(st.session_state, scope, run.interrupted_outcome())


@contextlib.contextmanager
def slot_in_line(scope: str, holder, min_share: float = MIN_SHARE, full_seconds: float | None = None):
    """Hold one of the server's training slots for this block. While waiting, `holder` shows this
    session's place in line and about when the result comes, with a button to leave the line (a
    click stops the run here, as Stop does). `min_share` 0: the run may keep its starting weights;
    `full_seconds`: how long the run takes at most when nobody waits (default: the time cap)."""
    slots, leave, leave_drawn = training_slots(), st.empty(), []
    full_seconds = min(full_seconds or slots.time_cap, slots.time_cap)

    def on_wait(place: Place) -> None:
        line = waiting_line(place, full_seconds)
        holder.info(line, icon=":material/hourglass_top:")  # a click since the last call stops the run here
        if not leave_drawn:
            leave_drawn.append(leave.button("Leave the line", key=f"{scope}:leave-line"))

    with slots.slot(on_wait=on_wait, min_share=min_share) as ticket:
        leave.empty()
        yield ticket


def waiting_line(place: Place, full_seconds: float) -> str:
    """The one line a waiting visitor reads, for a run of at most `full_seconds` when nobody waits;
    the forecast in steps of 5 s, so it does not flicker."""
    line = (f"Waiting for a free training slot: you are number {place.position} in line "
            f"({place.running} of {place.capacity} training now); your result in about "
            f"{5 * max(1, math.ceil(place.result_in / 5))} s")
    if place.training_seconds == 0:
        line += ", with the bundled weights as they are: no time to fine-tune while others wait"
    elif place.training_seconds < full_seconds:
        line += f", after a training shortened to about {place.training_seconds:.0f} s while others wait"
    return line + "."


def train_with_progress(run: TrainingRun, model, config: TrainConfig) -> Outcome | None:
    """Wait for a free training slot (the server runs a few trainings at once), then train while
    drawing a progress bar, times and a live loss chart, with a Stop button. While others wait the
    run is cut to its fair share (none at all for a run from the bundled weights when the line is
    long), and the time cap stops a long one; either way it keeps its best model and says so in one
    line. None (and a message) when the line is full."""
    scope = run.scope
    holder, slots = st.empty(), training_slots()
    from_bundled = bool(run.settings.get("from_bundled_weights"))
    starting = copy.deepcopy(model.state_dict())
    try:
        with slot_in_line(scope, holder, 0.0 if from_bundled else MIN_SHARE, config.time_budget) as ticket:
            shared = fair_config(config, ticket)
            if shared is not None:
                result = _train_in_slot(run, model, shared, holder, ticket)
            if shared is None or ticket.cut_to == 0:  # no time to train, or none left once others joined
                model.load_state_dict(starting)  # a few steps score below the starting weights
                run.history.clear()
                result = _keep_starting_weights(run, model, holder, ticket)
    except DenoiserError as error:
        holder.error(str(error))
        return None
    run.best_epoch = result.best_epoch
    outcome = run.outcome(model, result.denoised, result.stopped, result.out_of_time)
    cut_to = ticket.cut_to if result.stopped else None
    if result.out_of_time and shared is not config:
        cut_to = shared.time_budget
    capped = cut_to is not None and cut_to >= slots.time_cap
    if capped:
        outcome.settings["stopped_by"] = f"time cap of {slots.time_cap:g} s"
    elif cut_to is not None:
        outcome.settings["shortened_to_seconds"] = round(cut_to, 1)
    outcome = store_outcome(st.session_state, scope, outcome)
    st.session_state.pop(f"{scope}:training", None)
    if capped:
        holder.warning(f"Training stopped at the time cap of {slots.time_cap:g} s per training on this shared "
                       "server; the best model so far is kept. Fewer epochs or a smaller image finish in time.")
    elif cut_to is not None:
        holder.info(shortened_line(cut_to), icon=":material/group:")
    else:
        holder.empty()  # the curve moves to the results' "Training curve" tab
    if ticket.first_position:
        st.caption(f"Waited {ticket.waited:.0f} s for a free training slot "
                   f"(number {ticket.first_position} in line at the start).")
    return outcome


def shortened_line(seconds: float) -> str:
    """The one line after a run cut short because others were waiting."""
    if seconds == 0:
        return ("Not fine-tuned: other visitors were waiting for a training slot, so this is the bundled model's "
                "result; training again when nobody is waiting gives the full run.")
    return (f"Training shortened to {seconds:.0f} s because other visitors were waiting for a slot; "
            "training again when nobody is waiting gives the full run.")


def fair_config(config: TrainConfig, ticket: Ticket) -> TrainConfig | None:
    """The run with its time budget cut to the ticket's fair share while others wait, so that its
    cosine learning rate anneals within the shorter time; unchanged when nobody waits; None when
    the share is 0 (the run keeps its starting weights)."""
    share = ticket.allowed()
    if share == 0:
        return None
    if share < min(config.time_budget or math.inf, ticket.slots.time_cap):
        return replace(config, time_budget=share)
    return config


def _keep_starting_weights(run: TrainingRun, model, holder, ticket: Ticket) -> ImageTrainingResult:
    """A run left no time to train: its starting weights' result, as a training stopped before its first step."""
    ticket.skip_training()
    holder.info("Denoising with the bundled weights: no time to fine-tune while others wait…",
                icon=":material/hourglass_top:")
    return ImageTrainingResult(run.inference.run(model, run.noisy, run.noise.sigma), [], 0, stopped=True, seconds=0.0)


def _train_in_slot(run: TrainingRun, model, config: TrainConfig, holder, ticket):
    """The training itself, drawn in `holder`; stops at Stop (a rerun) or when the ticket expires."""
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
