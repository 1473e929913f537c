"""The camera image path as pure functions on numpy arrays, for realistic (raw) photo noise.

`unprocess` turns an sRGB image into the RGGB mosaic a sensor would have recorded, `add_sensor_noise`
adds the sensor's Poisson-Gaussian noise there, and `process` develops the mosaic back to sRGB the
way a simple camera would; `jpeg` optionally compresses the result. Noise added on the raw mosaic
comes out of the camera path spatially correlated, channel-correlated and signal-dependent, as in
real photos. Follows "Unprocessing Images for Learned Raw Denoising" (Brooks et al., CVPR 2019) and
CBDNet (Guo et al., CVPR 2019). Images are float arrays in [0, 1], shape (H, W, 3); a mosaic is one
plane of shape (H, W).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

XYZ_TO_CAMS = np.array([
    [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
    [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
    [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
    [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
])
"""XYZ -> camera matrices of the four cameras listed in Brooks et al.'s unprocess.py."""

RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])
"""Linear sRGB (D65) -> CIE XYZ."""

SHOT_RANGE = (0.0001, 0.012)
"""Shot-noise factors Brooks et al. draw from, log-uniformly: a clean daylight photo to a dark one."""

GAMMA = 2.2


@dataclass(frozen=True, eq=False)  # eq=False: a numpy matrix has no single truth value to compare
class CameraParameters:
    """What one photo draws: the camera's colour matrix, its gains and its sensor noise levels."""

    rgb_to_cam: np.ndarray  # 3x3, rows sum to 1 so gray stays gray
    rgb_gain: float  # overall brightening
    red_gain: float  # white balance, relative to green
    blue_gain: float
    shot: float  # raw noise variance per unit of raw intensity (photon noise)
    read: float  # raw noise variance at zero intensity (read-out noise)

    @property
    def cam_to_rgb(self) -> np.ndarray:
        """The camera's colour correction matrix, which `process` applies."""
        return np.linalg.inv(self.rgb_to_cam)


def camera_matrix(weights: np.ndarray) -> np.ndarray:
    """The RGB -> camera matrix of a convex combination of the four cameras, rows normalised to sum 1."""
    xyz_to_cam = np.tensordot(weights / np.sum(weights), XYZ_TO_CAMS, axes=1)
    rgb_to_cam = xyz_to_cam @ RGB_TO_XYZ
    return rgb_to_cam / rgb_to_cam.sum(axis=1, keepdims=True)


def random_camera_matrix(rng: np.random.Generator) -> np.ndarray:
    """An RGB -> camera matrix for a random camera: uniform random weights on the four."""
    return camera_matrix(rng.uniform(1e-8, 1.0, size=len(XYZ_TO_CAMS)))


def random_gains(rng: np.random.Generator) -> tuple[float, float, float]:
    """Brightening and white-balance gains (rgb, red, blue), drawn as in Brooks et al."""
    rgb_gain = 1.0 / rng.normal(0.8, 0.1)
    red_gain = rng.uniform(1.9, 2.4)
    blue_gain = rng.uniform(1.5, 1.9)
    return float(rgb_gain), float(red_gain), float(blue_gain)


def shot_for_gain(gain: float) -> float:
    """The shot-noise factor for an ISO-like `gain` in [0, 1], log-linear across `SHOT_RANGE`."""
    low, high = math.log(SHOT_RANGE[0]), math.log(SHOT_RANGE[1])
    return math.exp(low + gain * (high - low))


def read_for_shot(shot: float, scatter: float = 0.0) -> float:
    """Read-noise variance for a shot factor: log(read) = 2.18 log(shot) + 1.20 + scatter (Brooks et al.'s fit)."""
    return math.exp(2.18 * math.log(shot) + 1.20 + scatter)


def random_read(shot: float, rng: np.random.Generator) -> float:
    """Read-noise variance for one photo: the fit's scatter drawn as N(0, 0.26)."""
    return read_for_shot(shot, rng.normal(0.0, 0.26))


def draw_parameters(rng: np.random.Generator, gain: float | None = None) -> CameraParameters:
    """Draw one photo's camera; `gain` in [0, 1] fixes the shot noise, None draws it log-uniformly."""
    rgb_to_cam = random_camera_matrix(rng)
    rgb_gain, red_gain, blue_gain = random_gains(rng)
    if gain is None:
        shot = math.exp(rng.uniform(math.log(SHOT_RANGE[0]), math.log(SHOT_RANGE[1])))
    else:
        shot = shot_for_gain(gain)
    read = random_read(shot, rng)
    return CameraParameters(rgb_to_cam, rgb_gain, red_gain, blue_gain, shot, read)


def typical_parameters(gain: float) -> CameraParameters:
    """A middle-of-the-road camera at `gain`: the four matrices averaged, median gains and read noise."""
    rgb_to_cam = camera_matrix(np.ones(len(XYZ_TO_CAMS)))
    shot = shot_for_gain(gain)
    return CameraParameters(rgb_to_cam, 1.0 / 0.8, 2.15, 1.7, shot, read_for_shot(shot))


# --- sRGB -> raw -------------------------------------------------------------------------------

def smoothstep(image: np.ndarray) -> np.ndarray:
    """The global tone curve y = 3x^2 - 2x^3 a camera applies last."""
    return 3.0 * image**2 - 2.0 * image**3


def inverse_smoothstep(image: np.ndarray) -> np.ndarray:
    """Exact inverse of `smoothstep` on [0, 1] (the input is clipped there first)."""
    image = np.clip(image, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * image) / 3.0)


def gamma_expand(image: np.ndarray) -> np.ndarray:
    """Gamma-encoded -> linear light, x ** 2.2; clipped at 1e-8 so it is defined for x <= 0."""
    return np.maximum(image, 1e-8) ** GAMMA


def gamma_compress(image: np.ndarray) -> np.ndarray:
    """Linear light -> gamma-encoded, x ** (1 / 2.2); the inverse of `gamma_expand`."""
    return np.maximum(image, 1e-8) ** (1.0 / GAMMA)


def apply_color_matrix(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Multiply every pixel's colour vector by `matrix` (3x3)."""
    return image @ matrix.T


def white_balance_gains(params: CameraParameters) -> np.ndarray:
    """Per-channel gains (R, G, B) that a camera applies to raw values: white balance times brightening.

    Brooks et al.'s `process` leaves brightening out (their network sees raw data); here it goes back in
    so that a noiseless round trip returns the image.
    """
    return np.array([params.red_gain, 1.0, params.blue_gain]) * params.rgb_gain


def safe_invert_gains(image: np.ndarray, params: CameraParameters) -> np.ndarray:
    """Divide by the white-balance gains, except near white, so saturated highlights are not dimmed (Brooks et al.)."""
    gains = 1.0 / white_balance_gains(params)
    gray = image.mean(axis=-1, keepdims=True)
    inflection = 0.9
    mask = (np.maximum(gray - inflection, 0.0) / (1.0 - inflection)) ** 2
    safe_gains = np.maximum(mask + (1.0 - mask) * gains, gains)
    return image * safe_gains


def bayer_masks(shape: tuple[int, int]) -> np.ndarray:
    """Boolean (H, W, 3) masks of where an RGGB sensor samples red, green and blue."""
    rows, cols = np.indices(shape)
    red = (rows % 2 == 0) & (cols % 2 == 0)
    blue = (rows % 2 == 1) & (cols % 2 == 1)
    return np.stack([red, ~(red | blue), blue], axis=-1)


def mosaic(image: np.ndarray) -> np.ndarray:
    """Keep one colour per pixel in the RGGB Bayer pattern: (H, W, 3) -> one (H, W) plane."""
    return np.sum(image * bayer_masks(image.shape[:2]), axis=-1)


def unprocess(image: np.ndarray, params: CameraParameters) -> np.ndarray:
    """sRGB image -> noiseless raw mosaic: undo tone curve, gamma, colour correction and white balance."""
    linear = gamma_expand(inverse_smoothstep(image.astype(np.float64)))
    camera = apply_color_matrix(linear, params.rgb_to_cam)
    raw = np.clip(safe_invert_gains(camera, params), 0.0, 1.0)
    return mosaic(raw)


# --- the sensor --------------------------------------------------------------------------------

def add_sensor_noise(raw: np.ndarray, shot: float, read: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson-Gaussian noise: photon counts of mean raw / shot, scaled back, plus Gaussian read noise.

    The variance is read + shot * raw, the model Brooks et al. fit to real sensors (they approximate
    the Poisson part by a Gaussian; here it is drawn exactly). The result is clipped to [0, 1].
    """
    photons = rng.poisson(np.clip(raw, 0.0, None) / shot)
    noisy = photons * shot + rng.normal(0.0, math.sqrt(read), size=raw.shape)
    return np.clip(noisy, 0.0, 1.0)


# --- raw -> sRGB -------------------------------------------------------------------------------

def demosaic(raw: np.ndarray) -> np.ndarray:
    """Bilinear demosaicing of an RGGB plane: each missing colour is the mean of its nearest samples.

    Bilinear is the simplest method and softens edges a little; real cameras use edge-aware methods.
    Written as a normalised convolution, so borders need no special case and a flat colour is exact.
    Needs at least 2x2 pixels.
    """
    from scipy import ndimage  # here, not at the top: the command line imports this module and starts faster

    masks = bayer_masks(raw.shape)
    samples = raw[..., None] * masks
    red_blue = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
    green = np.array([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]])
    image = np.empty(masks.shape)
    for channel, kernel in zip(range(3), (red_blue, green, red_blue)):
        part = (slice(None), slice(None), slice(channel, channel + 1))
        weight_sum = ndimage.correlate(masks[part].astype(np.float64), kernel[..., None], mode="constant")
        image[part] = ndimage.correlate(samples[part], kernel[..., None], mode="constant") / weight_sum
    return image


DEMOSAICS = ("bilinear", "malvar", "hamilton-adams")
"""Demosaicing methods `process` knows: bilinear (the training camera's), Malvar-He-Cutler (kept out of
training, for the unseen camera) and Hamilton-Adams (an edge-directed one a training draw may use)."""
TONE_CURVES = ("smoothstep", "gamma")
"""Tone curves `process` knows: Brooks et al.'s smoothstep after gamma (the training camera's), or gamma alone."""


def demosaic_malvar(raw: np.ndarray) -> np.ndarray:
    """Malvar-He-Cutler demosaicing of an RGGB plane (ICASSP 2004): bilinear plus a gradient correction
    from the other colours' samples, the 5x5 linear filters many cameras' fast paths use. Mirrored borders."""
    from scipy.ndimage import correlate

    g_at_rb = np.array([[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]]) / 8
    along_row = np.array([[0, 0, 0.5, 0, 0], [0, -1, 0, -1, 0], [-1, 4, 5, 4, -1], [0, -1, 0, -1, 0],
                          [0, 0, 0.5, 0, 0]]) / 8  # a colour whose samples sit left and right
    across = np.array([[0, 0, -1.5, 0, 0], [0, 2, 0, 2, 0], [-1.5, 0, 6, 0, -1.5], [0, 2, 0, 2, 0],
                       [0, 0, -1.5, 0, 0]]) / 8  # red at blue, blue at red
    filtered = {name: correlate(raw, kernel, mode="mirror") for name, kernel in
                (("g", g_at_rb), ("row", along_row), ("column", along_row.T), ("across", across))}
    rows, cols = np.indices(raw.shape)
    red_site, blue_site = (rows % 2 == 0) & (cols % 2 == 0), (rows % 2 == 1) & (cols % 2 == 1)
    green_in_red_row, green_in_blue_row = (rows % 2 == 0) & (cols % 2 == 1), (rows % 2 == 1) & (cols % 2 == 0)
    red = np.select([red_site, green_in_red_row, green_in_blue_row], [raw, filtered["row"], filtered["column"]],
                    filtered["across"])
    blue = np.select([blue_site, green_in_blue_row, green_in_red_row], [raw, filtered["row"], filtered["column"]],
                     filtered["across"])
    green = np.where(red_site | blue_site, filtered["g"], raw)
    return np.clip(np.stack([red, green, blue], axis=-1), 0.0, None)


def demosaic_hamilton_adams(raw: np.ndarray) -> np.ndarray:
    """Hamilton-Adams demosaicing of an RGGB plane (US patent 5,629,734): green at a red or blue site is
    interpolated along the direction (row or column) with the smaller gradient, corrected by the site's
    own colour's second difference; red and blue then follow green through bilinearly interpolated
    colour differences. Edge-directed, so unlike bilinear and Malvar it is not one linear filter.
    Mirrored borders; needs at least 3x3 pixels."""
    padded = np.pad(raw, 2, mode="reflect")  # reflect keeps each site's Bayer colour

    def shifted(rows: int, cols: int) -> np.ndarray:
        return padded[2 + rows:padded.shape[0] - 2 + rows, 2 + cols:padded.shape[1] - 2 + cols]

    estimates, gradients = [], []
    for step in ((0, 1), (1, 0)):  # along the row, then along the column
        near_sum = shifted(-step[0], -step[1]) + shifted(*step)
        curvature = 2.0 * raw - shifted(-2 * step[0], -2 * step[1]) - shifted(2 * step[0], 2 * step[1])
        estimates.append(near_sum / 2.0 + curvature / 4.0)
        gradients.append(np.abs(shifted(-step[0], -step[1]) - shifted(*step)) + np.abs(curvature))
    interpolated = np.where(gradients[0] < gradients[1], estimates[0],
                            np.where(gradients[1] < gradients[0], estimates[1], (estimates[0] + estimates[1]) / 2.0))
    masks = bayer_masks(raw.shape)
    green = np.where(masks[..., 1], raw, interpolated)
    red = green + _interpolate_samples(raw - green, masks[..., 0])
    blue = green + _interpolate_samples(raw - green, masks[..., 2])
    return np.clip(np.stack([red, green, blue], axis=-1), 0.0, None)


def _interpolate_samples(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of `values` known where `mask` holds (one red or blue Bayer site in four)."""
    from scipy import ndimage

    kernel = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
    weight_sum = ndimage.correlate(mask.astype(np.float64), kernel, mode="constant")
    return ndimage.correlate(np.where(mask, values, 0.0), kernel, mode="constant") / weight_sum


DEMOSAIC_METHODS = {"bilinear": demosaic, "malvar": demosaic_malvar, "hamilton-adams": demosaic_hamilton_adams}


def process(raw: np.ndarray, params: CameraParameters, demosaicing: str = "bilinear",
            tone_curve: str = "smoothstep") -> np.ndarray:
    """Raw mosaic -> sRGB image, as a simple camera develops it: white balance, demosaic, colour, gamma, tone.

    `demosaicing` and `tone_curve` pick another camera than the one the models train on (`DEMOSAICS`,
    `TONE_CURVES`), to check what a model does on a camera it did not see."""
    balanced = np.clip(raw * (bayer_masks(raw.shape) @ white_balance_gains(params)), 0.0, 1.0)
    linear = apply_color_matrix(DEMOSAIC_METHODS[demosaicing](balanced), params.cam_to_rgb)
    image = gamma_compress(np.clip(linear, 0.0, 1.0))
    if tone_curve == "smoothstep":
        image = smoothstep(image)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Compress an 8-bit version of the image as JPEG at `quality` (1..100) through Pillow, in memory, and decode it."""
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return (np.asarray(decoded.convert("RGB"), dtype=np.float32) / 255.0).astype(np.float32)


# --- how much noise comes out ------------------------------------------------------------------

DEMOSAIC_VARIANCE = np.array([9 / 16, 5 / 8, 9 / 16])
"""Mean fraction of a raw sample's noise variance left after bilinear demosaicing, per channel (R, G, B)."""


def developed_noise_std(level: float, params: CameraParameters) -> np.ndarray:
    """First-order noise standard deviation (0..1 scale) per output channel of a flat gray sRGB `level`.

    The raw noise of each channel, scaled by its white-balance gain, averaged by bilinear demosaicing
    (the channels come from different pixels, so they are independent), mixed by colour correction and
    stretched by gamma and tone curve. No JPEG; `level` below the highlights (the reference under 0.9).
    """
    encoded = float(inverse_smoothstep(np.float64(level)))
    linear = float(gamma_expand(np.float64(encoded)))
    gains = white_balance_gains(params)
    raw = linear / gains  # gray stays gray through the camera matrix: its rows sum to 1
    variance = (params.read + params.shot * raw) * gains**2 * DEMOSAIC_VARIANCE
    linear_std = np.sqrt(params.cam_to_rgb**2 @ variance)
    slope = 6.0 * encoded * (1.0 - encoded) * encoded / (GAMMA * linear)  # tone curve' times gamma'
    return slope * linear_std
