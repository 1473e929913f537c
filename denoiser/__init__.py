"""LSTM image-denoising lab: the core (no Streamlit here).

Noise models, recurrent networks, pixel splits, training, metrics, tiled inference, checkpoints,
image I/O, blind adaptation and classical baselines. Pages and the command line call this small
public API.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "inference.adaptation": ("AdaptConfig", "adapt_to_photo"),
    "evaluation.baselines": ("BASELINES", "run_baseline"),
    "models.checkpoint": ("Checkpoint", "checkpoint_bytes", "load_checkpoint", "save_checkpoint"),
    "models.config": ("ModelConfig",),
    "errors": ("DenoiserError",),
    "images": ("convert_channels", "encode_png", "load_image", "save_image"),
    "inference.tiled": ("denoise",),
    "evaluation.metrics": ("Scores", "mse_255", "psnr", "score", "score_splits", "ssim"),
    "models.networks": ("build_model",),
    "noise": ("CameraNoise", "GaussianNoise", "PoissonNoise", "SaltPepperNoise", "SpeckleNoise", "make_noise"),
    "noise.level": ("estimate_sigma",),
    "models.bundled": ("load_pretrained",),
    "samples": ("BENCHMARK_PHOTOS", "TRAINING_PHOTOS", "sample_photo"),
    "scenarios": ("SCENARIOS", "Scenario", "get_scenario"),
    "training.splits": ("PixelSplit", "SplitMasks", "make_masks"),
    "training.loops": ("QUICK", "CorpusConfig", "Progress", "TrainConfig", "notebook_preset", "train_on_corpus",
                       "train_on_image"),
}
"""Each public name and the module it lives in. Names load on first use (PEP 562), so `import
denoiser` and the command line's help start without torch, scikit-image or bm3d."""

_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
