"""The lab's scenarios as data: one description per page, CLI choice and bundled model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from denoiser.errors import choose
from denoiser.models.config import ModelConfig
from denoiser.noise import CameraNoise, GaussianNoise, NoiseModel, SaltPepperNoise


@dataclass(frozen=True)
class CameraDraw:
    """The cameras a camera model trains on, drawn per patch. Fixed from the literature before any
    result was seen: the shot noise log-uniform over Brooks et al.'s range (gain uniform in 0..1,
    `camera.SHOT_RANGE`), read noise, colour matrix and white balance as they draw them; JPEG at a
    quality uniform in CBDNet's 60..100 for half the patches, none for the other half."""

    gain: tuple[float, float] = (0.0, 1.0)
    jpeg_quality: tuple[int, int] = (60, 100)
    no_jpeg: float = 0.5
    """The share of patches left uncompressed."""
    demosaics: tuple[str, ...] = ("bilinear",)
    """Demosaicing methods drawn from with equal odds (`camera.DEMOSAICS`); never Malvar, which stays the
    unseen camera's. One method draws nothing, so a one-method recipe's random stream is unchanged."""

    def draw(self, rng: np.random.Generator) -> CameraNoise:
        gain = float(rng.uniform(*self.gain))
        compressed = rng.uniform() >= self.no_jpeg
        quality = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)) if compressed else None
        demosaicing = self.demosaics[int(rng.integers(len(self.demosaics)))] if len(self.demosaics) > 1 else \
            self.demosaics[0]
        return CameraNoise(gain, quality, demosaicing)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    channels: int
    noise: NoiseModel
    """The original notebook's noise for this scenario (the page's default)."""
    model: ModelConfig
    notebook_batch_size: int
    notebook_test_mse: float | None
    """The test MSE (0..255 scale) the original notebook reported for this scenario: it failed.
    None where the notebook had no such experiment (camera noise)."""
    sample: str
    training_sigma: tuple[float, float] = (0.0, 55.0)
    training_density: tuple[float, float] = (0.0, 0.0)
    training_camera: CameraDraw | None = None
    bundled_architecture: str = "renet"
    """The network of the bundled weights, known before torch loads (so the command line refuses at
    once a preset that cannot fine-tune it); `model` is the design a new network of the scenario has."""
    bfloat16_flips: int | None = None
    """On a CPU with bfloat16 instructions, the bundled model runs in bfloat16 with this many mirror
    images of each tile batched (`inference.precision.bundled_inference`): the most that cost no more
    than one float32 pass and score no lower, as `benchmarks/inference_precision.py` chose. None: float32."""

    @property
    def noise_kind(self) -> str:
        if isinstance(self.noise, CameraNoise):
            return "camera"
        return "salt-pepper" if isinstance(self.noise, SaltPepperNoise) else "gaussian"

    @property
    def blind(self) -> bool:
        """Whether the network is given no noise level: camera noise has no single sigma to give."""
        return self.noise_kind == "camera"

    def random_training_noise(self, rng: np.random.Generator) -> NoiseModel:
        """A noise level drawn for one training patch, so one model covers the whole range."""
        if self.noise_kind == "camera":
            return (self.training_camera or CameraDraw()).draw(rng)
        if self.noise_kind == "salt-pepper":
            return SaltPepperNoise(float(rng.uniform(*self.training_density)))
        return GaussianNoise(float(rng.uniform(*self.training_sigma)) ** 2)


SCENARIOS: dict[str, Scenario] = {
    s.key: s for s in (
        Scenario("gray-gaussian", "Gray · Gaussian", 1, GaussianNoise(100.0),
                 ModelConfig(channels=1, noise_map=True, depth=2), 32, 8953.0, "camera", bundled_architecture="unet"),
        Scenario("gray-salt-pepper", "Gray · Salt & pepper", 1, SaltPepperNoise(0.1),
                 ModelConfig(channels=1, noise_map=False, impulse_mask=True, fill_impulses=True), 32, 8953.0, "camera",
                 training_density=(0.02, 0.8)),
        Scenario("color-gaussian", "Color · Gaussian", 3, GaussianNoise(100.0),
                 ModelConfig(channels=3, noise_map=True, opponent_colors=True, depth=2), 8, 9986.0, "coffee",
                 bundled_architecture="unet", bfloat16_flips=2),
        Scenario("color-camera", "Color · Camera", 3, CameraNoise(0.6, 90),
                 ModelConfig(channels=3, noise_map=False, depth=2), 8, None, "coffee",
                 training_camera=CameraDraw()),
    )
}


def get_scenario(key: str) -> Scenario:
    return choose(SCENARIOS, key, "scenario")
