"""How a trained network runs on a photo: in float32 or bfloat16, one pass or a self-ensemble, and
what each bundled model runs by default on this CPU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from denoiser.inference.tiled import ENSEMBLE_SIZES, TILE_FLIPS, denoise_ensemble

if TYPE_CHECKING:
    from denoiser.scenarios import Scenario


def cpu_bfloat16() -> bool:
    """Whether this CPU has bfloat16 instructions (AMX or AVX-512 BF16). oneDNN also runs bfloat16
    on plain AVX-512, converting as it goes: there a training step is slower than in float32
    (`python benchmarks/precision.py` times both), so such CPUs train and denoise in float32."""
    def has(feature: str) -> bool:  # private probes: absent in some builds, then taken as no
        return bool(getattr(torch.cpu, f"_is_{feature}_supported", lambda: False)())

    return torch.backends.mkldnn.is_available() and (has("amx_tile") or has("avx512_bf16"))


@dataclass(frozen=True)
class Inference:
    """One way to run a network on a photo."""

    views: int = 1
    """Flips and right-angle rotations of the whole image averaged, one pass after another
    (`tiled.denoise_ensemble`); 1 is one plain pass."""
    bfloat16: bool = False
    """Compute in bfloat16 autocast, the image itself kept in float32 (`networks.ImageConv2d`)."""
    flips: int = 1
    """Mirror images of each tile averaged within one batched pass (`tiled.TILE_FLIPS`)."""

    def __post_init__(self):
        if self.views not in ENSEMBLE_SIZES:
            raise ValueError(f"Ensemble size {self.views}: choose one of {ENSEMBLE_SIZES}.")
        if self.flips not in TILE_FLIPS:
            raise ValueError(f"Tile flips {self.flips}: choose one of {tuple(TILE_FLIPS)}.")

    def run(self, model: nn.Module, image: np.ndarray, sigma: float | None = None) -> np.ndarray:
        """`model`'s denoised float32 (H, W, C) of `image`, as `tiled.denoise` takes them."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bfloat16):
            return denoise_ensemble(model, image, sigma, self.views, flips=self.flips)

    @property
    def label(self) -> str:
        """'bfloat16, 2 tile flips', 'float32, self-ensemble of 8', 'float32'."""
        return ", ".join(["bfloat16" if self.bfloat16 else "float32"]
                         + ([f"self-ensemble of {self.views}"] if self.views > 1 else [])
                         + ([f"{self.flips} tile flips"] if self.flips > 1 else []))


def bundled_inference(scenario: Scenario, views: int | None = None) -> Inference:
    """How the scenario's bundled model runs on this CPU: in bfloat16 where the CPU has it and the
    scenario names bfloat16 tile flips (`Scenario.bfloat16_flips`), with those flips, or with a
    self-ensemble of `views` in their place where `views` is given; elsewhere in float32, one pass
    unless `views` says otherwise."""
    if scenario.bfloat16_flips is not None and cpu_bfloat16():
        return Inference(views, bfloat16=True) if views else Inference(bfloat16=True, flips=scenario.bfloat16_flips)
    return Inference(views or 1)


def model_inference(scenario: Scenario, views: int | None = None, checkpoint: bool = False) -> Inference:
    """How a model of `scenario` runs: the bundled weights as `bundled_inference` says, a checkpoint
    someone trained (`checkpoint`) in float32, whose bfloat16 scores nobody measured; `views` as there."""
    return Inference(views or 1) if checkpoint else bundled_inference(scenario, views)
