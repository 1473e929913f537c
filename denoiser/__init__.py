"""LSTM image-denoising lab: the core (no Streamlit here).

Noise models, recurrent networks, pixel splits, training, metrics, tiled inference, checkpoints,
image I/O, blind adaptation and classical baselines. Pages and the command line call this small
public API.
"""

from .adapt import AdaptConfig, adapt_to_photo
from .baselines import BASELINES, run_baseline
from .checkpoint import Checkpoint, checkpoint_bytes, load_checkpoint, save_checkpoint
from .errors import DenoiserError
from .images import convert_channels, encode_png, load_image, save_image
from .inference import denoise
from .metrics import Scores, mse_255, psnr, score, score_splits, ssim
from .models import ModelConfig, build_model
from .noise import GaussianNoise, PoissonNoise, SaltPepperNoise, SpeckleNoise, make_noise
from .noise_level import estimate_sigma
from .pretrained import load_pretrained
from .samples import BENCHMARK_PHOTOS, TRAINING_PHOTOS, sample_photo
from .scenarios import SCENARIOS, Scenario, get_scenario
from .splits import PixelSplit, SplitMasks, make_masks
from .train import QUICK, CorpusConfig, Progress, TrainConfig, notebook_preset, train_on_corpus, train_on_image

__all__ = [name for name in dir() if not name.startswith("_")]
