"""The bundled weights, one small model per scenario, shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from denoiser.errors import DenoiserError
from denoiser.models.checkpoint import Checkpoint, load_checkpoint
from denoiser.scenarios import get_scenario

WEIGHTS_DIR = Path(__file__).parents[1] / "weights"


def pretrained_path(scenario: str) -> Path:
    return WEIGHTS_DIR / f"{get_scenario(scenario).key}.pt"


def load_pretrained(scenario: str) -> Checkpoint:
    """A fresh copy of the bundled model (callers may fine-tune it)."""
    path = pretrained_path(scenario)
    if not path.is_file():
        raise DenoiserError(f"No bundled weights for '{scenario}' at {path}.")
    return load_checkpoint(path)
