"""Noise models: Gaussian, salt-and-pepper, camera (the raw image path), and blind noise-level
estimation. numpy only, so the command line and the scenarios load them before torch."""

from denoiser.noise.synthetic import (CameraNoise, GaussianNoise, NoiseModel, PoissonNoise, SaltPepperNoise,
                                      SpeckleNoise, make_noise, reference_and_noisy)

__all__ = ["CameraNoise", "GaussianNoise", "NoiseModel", "PoissonNoise", "SaltPepperNoise", "SpeckleNoise",
           "make_noise", "reference_and_noisy"]
