"""Step 3 of a scenario page: the model and training settings, set by a preset and then by hand."""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from denoiser.models.checkpoint import Checkpoint
from denoiser.models.networks import ModelConfig
from denoiser.noise import NoiseModel
from denoiser.scenarios import Scenario
from denoiser.training.experiment import Experiment, estimate_cost, preset_design, with_check_inference
from denoiser.training.loops import TrainConfig
from denoiser.training.presets import NOTEBOOK_EPOCHS, PRESETS
from denoiser.training.splits import PixelSplit

from .bundled_models import training_pace
from .torch_threads import TORCH_THREADS

QUICK_PRESET, NOTEBOOK_PRESET, SCRATCH_PRESET = "quick", "notebook", "scratch"
ARCHITECTURES = {"renet": "2-D LSTM (ReNet row + column sweeps)", "row": "Row LSTM (the original notebook)",
                 "unet": "U-net with LSTM sweeps at 1/2 and 1/4 resolution (the bundled gray model)"}
HIDDEN_SIZES = (8, 16, 24, 32, 48, 64, 96, 128)
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)


@dataclass(frozen=True)
class TrainingChoice:
    """What the visitor chose: the preset, the network to train, whether it starts from the bundled weights."""

    preset: str
    model: ModelConfig
    from_bundled: bool
    config: TrainConfig

    def experiment(self, scenario: Scenario, noise: NoiseModel) -> Experiment:
        """The core's description of this run, which `python -m denoiser fit` builds the same way."""
        return Experiment(scenario, noise, self.preset, self.model, self.config, self.from_bundled)

    def to_dict(self) -> dict:
        c = self.config
        return {"preset": self.preset, "model": self.model.to_dict(), "from_bundled_weights": self.from_bundled,
                "epochs": c.epochs, "batch_size": c.batch_size, "sample": c.sample, "learning_rate": c.learning_rate,
                "patch_size": c.patch_size, "fresh_noise": c.fresh_noise, "cosine": c.cosine,
                "time_limit_seconds": c.time_budget, "seed": c.seed, "inference": c.inference.label,
                "split": {"train": c.split.train, "validation": c.split.validation, "test": c.split.test}}


MAX_EPOCHS = 2000
"""The Epochs field's largest value: above every preset's cap (1,500 for the color 2-D LSTM from scratch)."""


def preset_values(preset: str, scenario: Scenario, bundled: ModelConfig | None) -> dict:
    """The widget values a preset (`denoiser.training.experiment.PRESETS`) sets."""
    chosen = PRESETS[preset]
    from_bundled = chosen.from_bundled and bundled is not None
    model = bundled if from_bundled else preset_design(chosen, scenario.model, bundled)
    config = chosen.training(scenario)
    split = config.split
    return {"architecture": model.architecture, "hidden": model.hidden, "epochs": config.epochs,
            "time_limit": int(config.time_budget or 0), "batch": config.batch_size, "lr": config.learning_rate,
            "from_bundled": from_bundled, "split": (round(split.train, 2), round(split.train + split.validation, 2))}


def choose_training(scope: str, scenario: Scenario, bundled: Checkpoint | None, seed: int) -> TrainingChoice:
    """Architecture, sizes, epochs, batch, learning rate and split, set by a preset and then by hand."""
    bundled_config = bundled.config if bundled else None

    def apply_preset():
        for name, value in preset_values(st.session_state[f"{scope}:preset"], scenario, bundled_config).items():
            st.session_state[f"{scope}:{name}"] = value

    if f"{scope}:preset" not in st.session_state:
        st.session_state[f"{scope}:preset"] = QUICK_PRESET
        apply_preset()
    preset = st.radio("Preset", list(PRESETS), key=f"{scope}:preset", on_change=apply_preset, horizontal=True,
                      format_func=lambda key: PRESETS[key].title,
                      help="Sets the fields below; change any of them afterwards.")
    base = PRESETS[preset].training(scenario)
    left, middle, right = st.columns(3)
    architecture = left.selectbox("Architecture", list(ARCHITECTURES), key=f"{scope}:architecture",
                                  format_func=ARCHITECTURES.get)
    hidden_options = sorted({*HIDDEN_SIZES, st.session_state[f"{scope}:hidden"]})
    hidden = left.select_slider("LSTM hidden size", hidden_options, key=f"{scope}:hidden")
    epochs = middle.number_input("Epochs", min_value=1, max_value=MAX_EPOCHS, step=1, key=f"{scope}:epochs")
    time_limit = middle.number_input("Time limit (s)", min_value=0, max_value=3600, step=10, key=f"{scope}:time_limit",
                                     help="0: none. Otherwise no step starts that would end past it, and a "
                                          "cosine learning rate anneals over the time as well as the epochs.")
    unit = f" (rows of {base.patch_size} pixels)" if base.sample == "row" else f" ({base.patch_size}×{base.patch_size} patches)"
    batch = middle.select_slider(f"Batch size{unit}", BATCH_SIZES, key=f"{scope}:batch")
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
    model = preset_design(PRESETS[preset], scenario.model, bundled_config, architecture, int(hidden))
    config = replace(base, epochs=int(epochs), batch_size=int(batch), learning_rate=float(learning_rate),
                     split=split, seed=seed, threads=TORCH_THREADS, time_budget=float(time_limit) or None)
    from_bundled = bool(from_bundled and matches)
    return TrainingChoice(preset, bundled_config if from_bundled else model, from_bundled,
                          with_check_inference(config, scenario, from_bundled))


def show_cost(scope: str, experiment: Experiment, shape: tuple[int, ...], bundled: Checkpoint | None) -> None:
    """What the run will cost, before Train: its steps and about how long. The pace of a step and of a
    validation check is timed once per design and image size on this server."""
    config = experiment.training
    key = (experiment.model, experiment.from_bundled, config.patch_shape(*shape[:2]), config.threads, shape)
    cost = estimate_cost(experiment, shape, training_pace(key, experiment, shape, bundled.model if bundled else None))
    per_epoch = config.steps_per_epoch(round(shape[0] * shape[1] * config.split.train), *shape[:2])
    limit = f", cut at the {config.time_budget:g} s time limit" if cost.limited else ""
    st.caption(f"This run: {counted(cost.steps, 'step')} ({counted(config.epochs, 'epoch')} of {per_epoch:,}) and "
               f"{counted(cost.checks, 'validation check')}{limit}, about {cost.seconds:.0f} s on this server. "
               f"{NOTEBOOK_EPOCHS}")


def counted(number: int, noun: str) -> str:
    """'1 step', '3,120 steps'."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
