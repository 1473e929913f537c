"""Fixtures: tiny real photos so the suite stays fast, and a tiny trained checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from denoiser.models.checkpoint import save_checkpoint
from denoiser.models.networks import ModelConfig, build_model
from denoiser.samples import sample_photo


@pytest.fixture
def gray_image() -> np.ndarray:
    """A 48x40 crop of the camera man (gray, float32 (H, W, 1))."""
    return np.ascontiguousarray(sample_photo("camera", 1)[100:148, 200:240])


@pytest.fixture
def color_image() -> np.ndarray:
    """A 40x48 crop of the coffee photo (float32 (H, W, 3))."""
    return np.ascontiguousarray(sample_photo("coffee")[150:190, 250:298])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """Write a small untrained gray model to disk and return its path."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(channels=1, hidden=8, features=8))
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, model, {"scenario": "gray-gaussian", "note": "test"})
    return path
