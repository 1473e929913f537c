"""Plain settings that need no torch, so the command line and the scenarios load fast and can
check a user's choices before the heavy imports: the model configuration and the self-ensemble sizes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

ARCHITECTURES = ("renet", "row", "unet")
CELLS = ("lstm", "gru")
DOWNSCALES = (1, 2)

ENSEMBLE_SIZES = (1, 2, 4, 8)
"""How many flips and right-angle rotations a self-ensemble may average (`inference.denoise_ensemble`)."""


@dataclass(frozen=True)
class ModelConfig:
    architecture: str = "renet"
    channels: int = 1
    hidden: int = 32
    depth: int = 1
    features: int = 32
    noise_map: bool = True
    impulse_mask: bool = False
    fill_impulses: bool = False
    """Fill the masked pixels from clean neighbours before the network (needs `impulse_mask`)."""
    opponent_colors: bool = False
    """Color only: denoise opponent-colour planes with one shared single-channel network."""
    plane_guides: bool = False
    """With `opponent_colors`: each plane's pass also sees the three noisy planes and which one it
    denoises (six more input channels), so a plane's edges can be found in the others, as CBM3D
    groups the colour planes by the luminance's blocks (`models.networks.guide_planes`)."""
    cell: str = "lstm"
    """The recurrent cell of the sweeps: an LSTM, or a GRU (three gates instead of four)."""
    downscale: int = 1
    """2: FFDNet's trick, the image pixel-unshuffled to half resolution with four times the channels
    before the network and shuffled back after, so the sweeps run over a quarter of the positions."""
    specialist_below: float = 0.0
    """If above 0, a low-noise specialist, a second network of the same design, serves the noise
    levels below this sigma (0..255 scale, the level the network is given), so a small network
    need not split itself between low and high noise (`models.WithSpecialist`)."""

    def to_dict(self) -> dict:
        return asdict(self)
