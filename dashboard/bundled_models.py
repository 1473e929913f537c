"""What every session shares in the one server process: the bundled models, loaded once, and the
pace of a training step, timed once per design and image size."""

from __future__ import annotations

import threading

import streamlit as st

from denoiser.models.bundled import load_pretrained, pretrained_path
from denoiser.models.checkpoint import Checkpoint
from denoiser.training.experiment import Experiment, Pace, measure_pace

_timing_one_at_a_time = threading.Lock()


@st.cache_resource(show_spinner="Loading the bundled weights…")
def _bundled(scenario_key: str) -> Checkpoint:
    return load_pretrained(scenario_key)


def bundled_checkpoint(scenario_key: str) -> Checkpoint | None:
    """The bundled model (shared by all sessions: copy it before training), or None when missing."""
    if not pretrained_path(scenario_key).is_file():
        return None
    return _bundled(scenario_key)


@st.cache_resource(show_spinner="Timing a training step…", max_entries=64)
def training_pace(key: tuple, _experiment: Experiment, _shape: tuple[int, ...], _bundled_model) -> Pace:
    """The pace of a training step and a validation check for the design and image size that `key`
    names, timed once per server and one at a time: it is the server's pace, not a session's, and
    visitors arriving together each timing their own steps held the autograd memory of all of them
    at once (docs/RELIABILITY.md, "Load")."""
    with _timing_one_at_a_time:
        return measure_pace(_experiment, _shape, _bundled_model)
