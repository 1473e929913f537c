"""Your photo's results and the lines that explain them; no Streamlit here, so tests call them directly.

A `PhotoResult` is kept in `st.session_state` to draw it again after a rerun or a page switch;
`FullSizeResult` is the same photo again at its original size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from denoiser.inference.precision import Inference, bundled_inference
from denoiser.noise.level import estimate_sigma
from denoiser.scenarios import get_scenario

PHOTO_KINDS = {"gray-gaussian": "Gray, grainy", "color-gaussian": "Color, grainy",
               "color-camera": "Color, from a camera", "gray-salt-pepper": "Gray, white and black specks"}
"""The bundled model for each kind of photo (a scenario key)."""
DEFAULT_COLOR_KIND = "color-camera"
"""What a color upload starts as: the camera model, which beats the color Gaussian model at its estimated
sigma (what this page would run) on the benchmark set at all 6 simulated cameras (docs/CAMERA.md)."""
MODEL_LINES = {
    "gray-gaussian": "The gray Gaussian model, at the noise level below (estimated from the photo).",
    "color-gaussian": "The color Gaussian model, at the noise level below (estimated from the photo): for grain that "
                      "is even and independent from pixel to pixel, as added by software.",
    "color-camera": "The camera model, blind (no noise level): the default for color photos, as it beats the color "
                    "Gaussian model on photos through simulated cameras. It learned simulated camera noise (sensor "
                    "shot and read noise, demosaicing, JPEG), not real noisy/clean pairs.",
    "gray-salt-pepper": "The salt-and-pepper model: it finds the white and black specks itself and replaces only them.",
}
"""What the page says about the model it uses, and why."""


@dataclass
class PhotoResult:
    """The page's last result and the settings it was made with."""

    photo: np.ndarray
    """The photo as denoised: downscaled to fit the page."""
    denoised: np.ndarray
    label: str
    identity: str
    """Which photo: the upload's file id or the sample's name (a full-size result is for this photo only)."""
    kind: str
    """The scenario key of the bundled model that ran."""
    sigma: float
    views: int
    """1, or 8 for a self-ensemble of flips and rotations."""
    seconds: float
    adaptation: str = ""
    """The adaptation's verdict; empty when the bundled weights ran as they are."""
    estimates: tuple[float, float] = field(init=False)
    """Noise estimates of the photo and of the result, computed once."""

    def __post_init__(self) -> None:
        self.estimates = (estimate_sigma(self.photo), estimate_sigma(self.denoised))

    @property
    def settings(self) -> tuple:
        """What the result depends on, as the page's widgets set it: photo, kind, sigma, views."""
        return self.identity, self.kind, round(self.sigma, 2), self.views

    def summary(self) -> str:
        return f"{self.label}, {describe_settings(self.kind, self.sigma, self.views)}." + (
            f" {self.adaptation}" if self.adaptation else "")


def photo_inference(kind: str, views: int) -> Inference:
    """How the page runs the bundled model of `kind`: with 8 views when the Self-ensemble toggle asks
    (`views`), else as the lab runs that model on this CPU (`inference.precision.bundled_inference`)."""
    return bundled_inference(get_scenario(kind), views if views > 1 else None)


def kind_for_upload(file_channels: int, current: str | None) -> str:
    """The kind of photo a new upload starts as: a color file keeps a color kind already chosen, else
    `DEFAULT_COLOR_KIND`; a gray file keeps a gray kind already chosen (grainy or specks), else gray grainy."""
    if file_channels == 3:
        return current if current in PHOTO_KINDS and current.startswith("color-") else DEFAULT_COLOR_KIND
    return current if current in PHOTO_KINDS and current.startswith("gray-") else "gray-gaussian"


def describe_settings(kind: str, sigma: float, views: int) -> str:
    """'color, grainy, denoised at sigma 12.0 (self-ensemble of 8)'."""
    ensemble = f" (self-ensemble of {views})" if views > 1 else ""
    level = "blind" if kind == "color-camera" else f"at sigma {sigma:.1f}"
    return f"{PHOTO_KINDS[kind].lower()}, denoised {level}{ensemble}"


def out_of_date_line(result: PhotoResult, kind: str, sigma: float, views: int) -> str:
    """Empty when `result` was made with the settings now on the page; else one line saying what changed."""
    if result.settings[1:] == (kind, round(sigma, 2), views):
        return ""
    return (f"Out of date: this result is {describe_settings(result.kind, result.sigma, result.views)}; the settings "
            f"above now ask for {describe_settings(kind, sigma, views)}. Press Denoise (or Adapt) to update it.")


CLEAN_BELOW = 2.0
"""A blind noise estimate under this (0..255 scale) reads as a clean photo: JPEG and sensor noise
of a good photo give 0 to 2, visible grain 5 and more."""


def clean_photo_line(estimate: float, blind: bool = False) -> str:
    """For a photo whose noise estimate says it is clean: what the estimate means and what to expect
    (from a blind model, which takes no noise level, or at that level); else empty."""
    if estimate >= CLEAN_BELOW:
        return ""
    reading = (f"This photo looks clean: its estimated noise level is sigma {estimate:.1f}, the standard deviation "
               "of the noise read from its flattest patches on the 0..255 scale (grain you can see is about 5 or more). ")
    if blind:
        return reading + "The camera model removes only what looks like camera noise to it: compare before and after."
    return reading + "Denoising at that level changes almost nothing; raise sigma to smooth it anyway."


@dataclass
class FullSizeResult:
    """The result again on the original of a downscaled photo, ready to download."""

    request: tuple
    """The photo and settings it was made for: a new result asks anew."""
    png: bytes
    sigma: float
    seconds: float
    note: str = ""


def full_size_sigma(chosen: float, page_estimate: float, full_estimate: float) -> float:
    """The noise level for the original of a downscaled photo: the one chosen on the page, scaled as
    the estimate grows from the page's photo to the original; the original's own estimate when the
    page's photo reads as noise-free (no ratio to keep); 0 stays 0 (no noise level: impulses)."""
    if chosen == 0:
        return 0.0
    return chosen * full_estimate / page_estimate if page_estimate >= 0.5 else full_estimate


def adaptation_verdict(result, cut_to: float | None = None, time_cap: float = math.inf) -> str:
    """One line on an adaptation (`denoiser.inference.adaptation.AdaptResult`): kept or not, the
    estimated error before and after, the steps, and why it stopped early when the server cut it
    (`cut_to`: the seconds it was allowed)."""
    verdict = ("Adapted to this photo" if result.kept else
               "Adaptation did not lower the estimated error, so the bundled weights were kept")
    line = f"{verdict} (estimated MSE {result.loss_before:.1f} → {result.loss_after:.1f}, {len(result.history)} steps)."
    if cut_to is not None and cut_to >= time_cap:
        line += f" Stopped at the time cap of {time_cap:g} s per training on this shared server."
    elif cut_to is not None:
        line += (f" Shortened to {cut_to:.0f} s because other visitors were waiting for a slot; "
                 "adapting again when nobody is waiting gives the full run.")
    return line
