"""The per-image presets as data (no torch here, so the command line checks a choice at once):
the network each trains, and whether it starts from the bundled weights. Their training settings
are `denoiser.training.loops.QUICK`, `notebook_preset`, `ROW_BEST` and `scratch_preset`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from denoiser.errors import DenoiserError, choose

if TYPE_CHECKING:
    from denoiser.scenarios import Scenario
    from denoiser.training.loops import TrainConfig


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    architecture: str | None
    """The network it trains; None: the bundled one's (the scenario's design where none is bundled)."""
    from_bundled: bool
    """Fine-tune the bundled weights (when the scenario has them) instead of random weights."""
    depth: int | None = None
    """Sweep blocks of the 2-D LSTM it trains from scratch; None keeps the bundled design's."""
    opponent_colors: bool = True
    """For color, the network it trains from scratch: one network run on the three opponent planes (as
    the bundled color models), or with False one network over R, G and B together, a third of the
    cost a step (docs/NOTEBOOK.md)."""

    def training(self, scenario: Scenario) -> TrainConfig:
        from denoiser.training.loops import QUICK, ROW_BEST, notebook_preset, scratch_preset

        return {"quick": QUICK, "notebook": notebook_preset(scenario), "row-best": ROW_BEST,
                "scratch": scratch_preset(scenario)}[self.key]

    def check(self, architecture: str, bundled_architecture: str | None) -> None:
        """Refuse a network that this preset cannot start: fine-tuning keeps the bundled one."""
        if self.from_bundled and bundled_architecture is not None and architecture != bundled_architecture:
            raise DenoiserError(f"The {self.key} preset fine-tunes the bundled {bundled_architecture} network; "
                                f"the {architecture} network trains from scratch (preset notebook or scratch).")


PRESETS = {p.key: p for p in (
    Preset("quick", "Quick: bundled weights, fine-tuned", None, True),
    Preset("notebook", "Original notebook: row LSTM from scratch", "row", False),
    Preset("row-best", "Row LSTM trained to its best in 120 s", "row", False),
    Preset("scratch", "2-D LSTM from scratch", "renet", False, depth=1,  # one block: twice the steps in the time
           opponent_colors=False),
)}

NOTEBOOK_EPOCHS = ("An epoch is one pass over the training pixels, as in the notebook; with the notebook's preset a batch "
                   "of 32 (8 for color) is that many rows of 32 pixels, the sequences its LSTM reads.")
"""The page's one line on what an epoch and a batch mean."""


def get_preset(key: str) -> Preset:
    return choose(PRESETS, key, "preset")
