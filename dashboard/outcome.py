"""A scenario page's result (`Outcome`): what it holds, its one-line summary and its metrics JSON.

Kept in `st.session_state` per page, so it survives reruns and page switches; no Streamlit here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, MutableMapping

import numpy as np

from denoiser.evaluation.metrics import Scores, score_splits
from denoiser.noise import NoiseModel
from denoiser.training.splits import SplitMasks

if TYPE_CHECKING:
    from denoiser.training.loops import Progress


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
    beside: Outcome | None = None
    """The other kind of result (trained or bundled) on the same noisy image, kept to compare with this one."""

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


def make_outcome(action: str, clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray, masks: SplitMasks,
                 seconds: float, weights: bytes, *, image: str, noise: NoiseModel, settings: dict, history=(),
                 best_epoch=None, stopped=False, out_of_time=False) -> Outcome:
    """An Outcome scored on every pixel split (all, train, validation, test)."""
    return Outcome(action, image, noise.name, noise.sigma, clean, noisy, denoised,
                   score_splits(clean, noisy, denoised, masks), seconds, weights, settings,
                   list(history), best_epoch, stopped, out_of_time=out_of_time)


def same_input(first: Outcome, second: Outcome) -> bool:
    """Both denoised the same noisy image of the same clean one (image, noise and seed alike)."""
    return (first.image, first.noise) == (second.image, second.noise) and np.array_equal(first.noisy, second.noisy) \
        and np.array_equal(first.clean, second.clean)


def keep_beside(new: Outcome, previous: Outcome | None) -> Outcome:
    """`new`, keeping what still holds from the result it replaces on the same noisy image: the
    classical baselines' scores (they depend on the noisy image alone) and the result of the other
    kind, so a trained and a bundled result stay side by side."""
    if previous is None or not same_input(new, previous):
        return new
    new.baselines = previous.baselines
    earlier = previous if previous.action != new.action else previous.beside
    new.beside = None if earlier is None else replace(earlier, beside=None)  # one result beside, not a chain
    return new


def store_outcome(state: MutableMapping, scope: str, outcome: Outcome) -> Outcome:
    """Make `outcome` the page's result (in `state`, the session's), kept beside the one it replaces."""
    key = f"{scope}:outcome"
    state[key] = keep_beside(outcome, state.get(key))
    return state[key]
