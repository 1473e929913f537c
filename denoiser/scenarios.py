"""The lab's scenarios as data: one description per page, CLI choice and bundled model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from denoiser.errors import choose
from denoiser.models.config import ModelConfig
from denoiser.noise import GaussianNoise, NoiseModel, SaltPepperNoise


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    channels: int
    noise: NoiseModel
    """The original notebook's noise for this scenario (the page's default)."""
    model: ModelConfig
    notebook_batch_size: int
    notebook_test_mse: float
    """The test MSE (0..255 scale) the original notebook reported for this scenario: it failed."""
    sample: str
    training_sigma: tuple[float, float] = (0.0, 55.0)
    training_density: tuple[float, float] = (0.0, 0.0)

    @property
    def noise_kind(self) -> str:
        return "salt-pepper" if isinstance(self.noise, SaltPepperNoise) else "gaussian"

    def random_training_noise(self, rng: np.random.Generator) -> NoiseModel:
        """A noise level drawn for one training patch, so one model covers the whole range."""
        if self.noise_kind == "salt-pepper":
            return SaltPepperNoise(float(rng.uniform(*self.training_density)))
        return GaussianNoise(float(rng.uniform(*self.training_sigma)) ** 2)


SCENARIOS: dict[str, Scenario] = {
    s.key: s for s in (
        Scenario("gray-gaussian", "Gray · Gaussian", 1, GaussianNoise(100.0),
                 ModelConfig(channels=1, noise_map=True, depth=2), 32, 8953.0, "camera"),
        Scenario("gray-salt-pepper", "Gray · Salt & pepper", 1, SaltPepperNoise(0.1),
                 ModelConfig(channels=1, noise_map=False, impulse_mask=True, fill_impulses=True), 32, 8953.0, "camera",
                 training_density=(0.02, 0.8)),
        Scenario("color-gaussian", "Color · Gaussian", 3, GaussianNoise(100.0),
                 ModelConfig(channels=3, noise_map=True, opponent_colors=True, depth=2), 8, 9986.0, "coffee"),
    )
}


def get_scenario(key: str) -> Scenario:
    return choose(SCENARIOS, key, "scenario")
