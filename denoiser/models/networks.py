"""Recurrent denoisers. Both take a noisy batch (B, C, H, W) in [0, 1] and the noise level
sigma (B,) on the 0..1 scale, and return the denoised batch (residual learning: they predict
the noise and subtract it).

- `RowLSTM`: the original notebook's idea. Each image row is a sequence read by a bidirectional
  LSTM; each step sees its pixel and the pixels above and below it.
- `ReNetDenoiser`: a small convolutional stem, then ReNet-style bidirectional sweeps over rows
  and then columns (so every output pixel sees the whole image), then a convolutional head.
- `SweepUNet`: convolutions at full resolution, the sweeps at 1/2 and 1/4 of it, joined back by
  skip connections: the sequences are shorter and fewer, the receptive field still the whole image.
- `OpponentColorDenoiser`: color as three decorrelated planes (luminance and two colour
  differences, as CBM3D works) through one shared single-channel network, so a gray model
  denoises color and all its training serves both. With `plane_guides` each plane's pass also
  sees all three noisy planes (`guide_planes` adds them to a trained network).
- `WithSpecialist`: a general network and its low-noise specialist, a second network of the
  same design fine-tuned on low noise levels; each image goes to one of them by its noise level.

Optional conditioning channels: a constant noise-level map (as FFDNet does, so one model serves
many sigmas) and an impulse mask (pixels at exactly 0 or 1 outside black or white areas, for
salt-and-pepper; only those are replaced, every other pixel is known to be clean). With `fill_impulses` the network never sees the
impulses' 0 and 1: they are first filled from their clean neighbours (`fill_impulses`), and the
network refines that first guess, which matters most when most pixels are impulses.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from denoiser.models.config import ARCHITECTURES, CELLS, DOWNSCALES, ModelConfig  # re-exported: the config needs no torch


def build_model(config: ModelConfig) -> nn.Module:
    """The network a config describes, its convolution weights stored channels-last: oneDNN's
    convolutions run about a quarter faster on them on this CPU, in inference and training alike,
    with the same results to 1e-6 (a loaded checkpoint's weights are copied into this layout)."""
    return _network(config).to(memory_format=torch.channels_last)


def _network(config: ModelConfig) -> nn.Module:
    if config.fill_impulses and not config.impulse_mask:
        raise ValueError("fill_impulses needs impulse_mask: only detected impulses are filled.")
    if config.cell not in CELLS:
        raise ValueError(f"Unknown cell '{config.cell}': choose one of {CELLS}.")
    if config.downscale not in DOWNSCALES:
        raise ValueError(f"downscale must be one of {DOWNSCALES}.")
    if config.cell != "lstm" and config.architecture == "row":
        raise ValueError("The row LSTM is an LSTM: only the sweeping architectures take another cell.")
    if config.plane_guides and (config.architecture == "row" or config.channels == 3 and not config.opponent_colors):
        raise ValueError("Plane guides serve the opponent planes of a sweeping network.")
    if config.opponent_colors:
        if config.channels != 3:
            raise ValueError("opponent_colors needs 3 channels.")
        return OpponentColorDenoiser(config, _network(replace(config, channels=1, opponent_colors=False)))
    if config.specialist_below > 0:
        general = replace(config, specialist_below=0.0)
        return WithSpecialist(config, _network(general), _network(general))
    if config.architecture == "renet":
        return ReNetDenoiser(config)
    if config.architecture == "row":
        return RowLSTM(config)
    if config.architecture == "unet":
        return SweepUNet(config)
    raise ValueError(f"Unknown architecture '{config.architecture}': choose one of {ARCHITECTURES}.")


SATURATED_NEIGHBOURS = 20
"""Of the 24 neighbours in a 5x5 window, this many at the same extreme make a pixel part of a truly
black or white area, not an impulse: impulses that dense are vanishingly rare below density 0.9."""


def impulse_mask(noisy: torch.Tensor) -> torch.Tensor:
    """1 where every channel of a pixel sits at exactly 0 or exactly 1 (a likely impulse), except
    inside black or white areas, which would otherwise be re-estimated from their surroundings."""
    low = (noisy <= 0.0).all(dim=1, keepdim=True).to(noisy.dtype)
    high = (noisy >= 1.0).all(dim=1, keepdim=True).to(noisy.dtype)
    window = torch.ones(1, 1, 5, 5, dtype=noisy.dtype, device=noisy.device)
    mask = torch.zeros_like(low)
    for extreme in (low, high):
        alike = F.conv2d(extreme, window, padding=2) - extreme
        mask = mask + extreme * (alike < SATURATED_NEIGHBOURS).to(noisy.dtype)
    return mask


def fill_impulses(noisy: torch.Tensor, mask: torch.Tensor, max_rounds: int = 32) -> torch.Tensor:
    """`noisy` with each masked pixel replaced by the mean of its known 3x3 neighbours.

    Rounds grow the known region outward, so a pixel deep inside a run of impulses takes the
    mean of pixels filled in the round before (a normalised convolution). A batch with no known
    pixel at all is left at mid-grey."""
    channels = noisy.shape[1]
    known = 1.0 - mask
    values = noisy * known
    kernel = torch.ones(channels, 1, 3, 3, dtype=noisy.dtype, device=noisy.device)
    for _ in range(max_rounds):
        if bool((known > 0).all()):
            break
        total = F.conv2d(values, kernel, padding=1, groups=channels)
        count = F.conv2d(known, kernel[:1], padding=1)
        new = (count > 0) & (known == 0)
        values = torch.where(new, total / count.clamp(min=1.0), values)
        known = torch.where(new, torch.ones_like(known), known)
    return torch.where(known > 0, values, torch.full_like(values, 0.5))


class _Conditioned(nn.Module):
    """Shared input and output handling: conditioning channels in, residual and masking out."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.in_channels = config.channels + int(config.noise_map) + int(config.impulse_mask) \
            + GUIDE_CHANNELS * int(config.plane_guides)
        self.scale = config.downscale
        """The pixel-unshuffle factor (`ModelConfig.downscale`): each scale x scale block of pixels is
        one position of the network."""

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor | None = None,
                guide: torch.Tensor | None = None) -> torch.Tensor:
        if self.config.plane_guides and guide is None:
            raise ValueError("This network denoises opponent planes beside their guides: run its color model.")
        mask = impulse_mask(noisy) if self.config.impulse_mask else None
        start = fill_impulses(noisy, mask) if mask is not None and self.config.fill_impulses else noisy
        inputs = [start]
        if self.config.noise_map:
            level = torch.zeros(noisy.shape[0], device=noisy.device) if sigma is None else sigma
            inputs.append(level.to(noisy.dtype).view(-1, 1, 1, 1).expand(-1, 1, *noisy.shape[2:]))
        if mask is not None:
            inputs.append(mask)
        if self.config.plane_guides:
            inputs.append(guide.to(noisy.dtype))  # last, so a network given guides keeps its other inputs' weights
        denoised = start - self._at_scale(torch.cat(inputs, dim=1))
        if mask is not None:
            denoised = torch.where(mask.bool(), denoised, noisy)
        return denoised

    def _at_scale(self, x: torch.Tensor) -> torch.Tensor:
        """`predict_noise` on the pixel-unshuffled input, shuffled back (edges replicated up to a
        multiple of the scale, then cropped), or on the input itself at scale 1."""
        if self.scale == 1:
            return self.predict_noise(x)
        height, width = x.shape[2:]
        padded = F.pad(x, (0, -width % self.scale, 0, -height % self.scale), mode="replicate")
        noise = F.pixel_shuffle(self.predict_noise(F.pixel_unshuffle(padded, self.scale)), self.scale)
        return noise[:, :, :height, :width]

    @property
    def network_in(self) -> int:
        """Channels the network proper takes: the conditioned input's, times the unshuffled block."""
        return self.in_channels * self.scale ** 2

    @property
    def network_out(self) -> int:
        """Channels the network proper predicts: the image's, times the unshuffled block."""
        return self.config.channels * self.scale ** 2

    def predict_noise(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _in_float32(tensor: torch.Tensor):
    """Autocast off, for what touches the image itself: bfloat16 keeps 8 bits of a value, so an image
    rounded to it (unlike a residual, whose values are small) is off by up to half a level of 8-bit
    color near white. Rounded so, the color unet lost 0.2 dB at sigma 10 in bfloat16 inference
    (`benchmarks/inference_precision.py`); its chroma planes, at sigma 6 and 7, hold fine detail."""
    return torch.autocast(tensor.device.type, enabled=False)


class ImageConv2d(nn.Conv2d):
    """The convolution that reads the image, in float32 under bfloat16 autocast (`_in_float32`): with
    few input channels it costs next to nothing."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with _in_float32(x):
            return super().forward(x.float())


class RowLSTM(_Conditioned):
    """Each row a sequence; a bidirectional LSTM over (pixel, above, below) features."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.lstm = nn.LSTM(3 * self.network_in, config.hidden, num_layers=config.depth,
                            batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * config.hidden, self.network_out)

    def predict_noise(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        padded = F.pad(x, (0, 0, 1, 1), mode="replicate")
        rows = torch.cat([padded[:, :, :-2], x, padded[:, :, 2:]], dim=1)  # above, pixel, below
        sequences = rows.permute(0, 2, 3, 1).reshape(batch * height, width, 3 * channels)
        out, _ = self.lstm(sequences)
        noise = self.head(out).reshape(batch, height, width, self.network_out)
        return noise.permute(0, 3, 1, 2)


class BiSweep(nn.Module):
    """A bidirectional LSTM (or GRU) along rows (axis 3) or columns (axis 2) of a feature map, added back.

    The recurrent layer is named after its cell (`lstm` or `gru`), so weights of one cell never
    load into the other."""

    def __init__(self, features: int, hidden: int, along_rows: bool, cell: str = "lstm"):
        super().__init__()
        self.along_rows = along_rows
        self.cell = cell
        recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.add_module(cell, recurrent(features, hidden, batch_first=True, bidirectional=True))
        self.project = nn.Linear(2 * hidden, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, features, height, width = x.shape
        lines = x.permute(0, 2, 3, 1) if self.along_rows else x.permute(0, 3, 2, 1)
        length = lines.shape[2]
        out, _ = getattr(self, self.cell)(lines.reshape(-1, length, features))
        out = self.project(out).reshape(lines.shape)
        out = out.permute(0, 3, 1, 2) if self.along_rows else out.permute(0, 3, 2, 1)
        return x + out


class ReNetDenoiser(_Conditioned):
    """Conv stem, `depth` x (row sweep, column sweep, conv), conv head."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        f = config.features
        self.stem = nn.Sequential(ImageConv2d(self.network_in, f, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(f, f, 3, padding=1), nn.ReLU())
        self.blocks = nn.ModuleList(sweep_block(f, config.hidden, config.cell) for _ in range(config.depth))
        self.head = nn.Sequential(nn.Conv2d(f, f, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(f, self.network_out, 3, padding=1))

    def predict_noise(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def sweep_block(features: int, hidden: int, cell: str) -> nn.Sequential:
    """A row sweep, a column sweep and a 3x3 convolution: one block of the sweeping networks."""
    return nn.Sequential(BiSweep(features, hidden, along_rows=True, cell=cell),
                         BiSweep(features, hidden, along_rows=False, cell=cell),
                         nn.Conv2d(features, features, 3, padding=1), nn.ReLU())


class SweepUNet(_Conditioned):
    """A U-shaped ReNet: convolutions at full resolution, `depth` sweep blocks at 1/2 and `depth` at
    1/4 of it (on `2 * features` channels), each level joined back to the finer one by a skip
    connection. Sweeps at 1/2 resolution cost a quarter of full-resolution ones, at 1/4 a sixteenth."""

    LEVELS = 2

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        f, wide = config.features, 2 * config.features
        self.stem = nn.Sequential(ImageConv2d(self.network_in, f, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(f, f, 3, padding=1), nn.ReLU())
        self.down = nn.ModuleList([nn.Sequential(nn.Conv2d(f, wide, 3, stride=2, padding=1), nn.ReLU()),
                                   nn.Sequential(nn.Conv2d(wide, wide, 3, stride=2, padding=1), nn.ReLU())])
        self.sweeps = nn.ModuleList(nn.Sequential(*(sweep_block(wide, config.hidden, config.cell)
                                                    for _ in range(config.depth))) for _ in range(self.LEVELS))
        self.up = nn.ModuleList([nn.ConvTranspose2d(wide, f, 2, stride=2), nn.ConvTranspose2d(wide, wide, 2, stride=2)])
        self.merge = nn.ModuleList([nn.Sequential(nn.Conv2d(f, f, 3, padding=1), nn.ReLU()),
                                    nn.Sequential(nn.Conv2d(wide, wide, 3, padding=1), nn.ReLU())])
        self.head = nn.Sequential(nn.Conv2d(f, f, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(f, self.network_out, 3, padding=1))

    def predict_noise(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[2:]
        step = 2 ** self.LEVELS
        x = F.pad(x, (0, -width % step, 0, -height % step), mode="replicate")
        skips = [self.stem(x)]
        for down, sweeps in zip(self.down, self.sweeps):
            skips.append(sweeps(down(skips[-1])))
        x = skips.pop()
        for up, merge in zip(reversed(self.up), reversed(self.merge)):
            x = merge(up(x) + skips.pop())
        return self.head(x)[:, :, :height, :width]


OPPONENT = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [1 / 2, 0.0, -1 / 2], [1 / 4, -1 / 2, 1 / 4]])
"""RGB to planes: mean, red minus blue, green against magenta. The rows are orthogonal, so
independent noise of one sigma in R, G and B stays independent in the planes, with the sigma
scaled by each row's length; the offset keeps every plane in [0, 1]."""
OPPONENT_INVERSE = torch.linalg.inv(OPPONENT)
OPPONENT_OFFSET = torch.tensor([0.0, 0.5, 0.5]).view(1, 3, 1, 1)
OPPONENT_NOISE_SCALE = OPPONENT.norm(dim=1)


GUIDE_CHANNELS = 6
"""A plane's guides: the three noisy opponent planes, and a one-hot of the plane being denoised."""


def to_opponent(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] to opponent planes in [0, 1], in float32 under autocast (`_in_float32`)."""
    with _in_float32(rgb):
        return torch.einsum("kc,bchw->bkhw", OPPONENT.to(rgb.device), rgb.float()) + OPPONENT_OFFSET.to(rgb.device)


def from_opponent(planes: torch.Tensor) -> torch.Tensor:
    """The inverse of `to_opponent`, in float32 as well."""
    with _in_float32(planes):
        return torch.einsum("ck,bkhw->bchw", OPPONENT_INVERSE.to(planes.device),
                            planes.float() - OPPONENT_OFFSET.to(planes.device))


class OpponentColorDenoiser(nn.Module):
    """RGB in and out; inside, each opponent plane is one single-channel image for `plane`."""

    def __init__(self, config: ModelConfig, plane: nn.Module):
        super().__init__()
        self.config = config
        self.plane = plane

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        batch, _, height, width = noisy.shape
        opponent = to_opponent(noisy)
        planes = opponent.reshape(batch * 3, 1, height, width)
        level = None if sigma is None else (sigma.view(-1, 1) * OPPONENT_NOISE_SCALE.to(sigma)).reshape(-1)
        if not self.config.plane_guides:
            return from_opponent(self.plane(planes, level).reshape(batch, 3, height, width))
        which = torch.eye(3, dtype=noisy.dtype, device=noisy.device).view(1, 3, 3, 1, 1)
        guide = torch.cat([opponent.unsqueeze(1).expand(-1, 3, -1, -1, -1),
                           which.expand(batch, -1, -1, height, width)], dim=2)
        return from_opponent(self.plane(planes, level, guide.reshape(batch * 3, GUIDE_CHANNELS, height, width))
                             .reshape(batch, 3, height, width))


class WithSpecialist(nn.Module):
    """Two networks of one design: the `specialist` for the noise levels below
    `config.specialist_below`, the `general` one for the rest (and when no level is given). Each
    sample goes to one of them."""

    def __init__(self, config: ModelConfig, general: nn.Module, specialist: nn.Module):
        super().__init__()
        self.config = config
        self.general = general
        self.specialist = specialist

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor | None = None,
                guide: torch.Tensor | None = None) -> torch.Tensor:
        if sigma is None:
            return self.general(noisy, None, guide)
        to_specialist = sigma * 255.0 < self.config.specialist_below
        if bool(to_specialist.all()):
            return self.specialist(noisy, sigma, guide)
        if not bool(to_specialist.any()):
            return self.general(noisy, sigma, guide)
        out = torch.empty_like(noisy)
        for network, chosen in ((self.specialist, to_specialist), (self.general, ~to_specialist)):
            out[chosen] = network(noisy[chosen], sigma[chosen], None if guide is None else guide[chosen])
        return out


def add_specialist(model: nn.Module, below: float, start: nn.Module | None = None) -> nn.Module:
    """`model` as the general network of a `WithSpecialist` whose specialist starts as a copy of
    it, so it computes exactly what `model` computes until training on low noise moves the
    specialist. `start`, a single-channel network of the same design (`specialist_or_network`),
    begins the specialist instead: one trained elsewhere, say a gray one for a color model."""
    if not math.isfinite(below) or below <= 0:
        raise ValueError("the specialist's noise level must be a number above 0.")
    if isinstance(model, OpponentColorDenoiser):
        return opponent_colors(add_specialist(model.plane, below, start))
    if specialist_of(model) is not None:
        raise ValueError("the model already has a low-noise specialist.")
    if not model.config.noise_map:
        raise ValueError("only a model given the noise level can route by it.")
    if start is not None and start.config != model.config:
        raise ValueError("the specialist to start from is not of the same design as the model's network.")
    config = replace(model.config, specialist_below=float(below))
    return WithSpecialist(config, model, copy.deepcopy(model if start is None else start))


def specialist_of(model: nn.Module) -> nn.Module | None:
    """`model`'s low-noise specialist (a color model holds it in its plane network), if it has one."""
    plane = model.plane if isinstance(model, OpponentColorDenoiser) else model
    return plane.specialist if isinstance(plane, WithSpecialist) else None


def specialist_or_network(model: nn.Module) -> nn.Module:
    """The single-channel network that serves `model`'s lowest noise levels: its specialist if it
    has one, else its network (a color model's plane network). It can start another's specialist."""
    specialist = specialist_of(model)
    if specialist is not None:
        return specialist
    return model.plane if isinstance(model, OpponentColorDenoiser) else model


def specialist_reach(model: nn.Module) -> float:
    """The input sigma (0..255) below which some of the input goes to the specialist: its
    threshold, or for a color model the sigma whose least-scaled opponent plane reaches it."""
    if specialist_of(model) is None:
        return 0.0
    least_scale = float(OPPONENT_NOISE_SCALE.min()) if isinstance(model, OpponentColorDenoiser) else 1.0
    return model.config.specialist_below / least_scale


def opponent_colors(plane: nn.Module) -> OpponentColorDenoiser:
    """A color denoiser from a trained single-channel one (which it shares, not copies)."""
    if plane.config.channels != 1:
        raise ValueError("Only a single-channel model can denoise opponent planes.")
    return OpponentColorDenoiser(replace(plane.config, channels=3, opponent_colors=True), plane)


def guide_planes(model: nn.Module) -> OpponentColorDenoiser:
    """A color model whose plane network also takes the planes' guides (`ModelConfig.plane_guides`)
    and computes exactly what `model` computes: the guides enter through new input channels of the
    first convolution, started at zero, so training starts from the trained model's quality."""
    if not isinstance(model, OpponentColorDenoiser):
        raise ValueError("Only a color model on opponent planes takes plane guides.")
    if model.config.plane_guides:
        raise ValueError("The model already takes plane guides.")
    plane_config = replace(model.plane.config, plane_guides=True)
    guided = build_model(plane_config)
    state = guided.state_dict()
    for name, weights in model.plane.state_dict().items():
        if state[name].shape != weights.shape:  # a first convolution: the old inputs, then the guides at zero
            if not name.endswith("stem.0.weight"):
                raise ValueError("Only a network that begins with a convolution stem takes plane guides.")
            added = state[name].shape[1] - weights.shape[1]
            weights = torch.cat([weights, weights.new_zeros(weights.shape[0], added, *weights.shape[2:])], dim=1)
        state[name] = weights
    guided.load_state_dict(state)
    return opponent_colors(guided)


def deepen(model: nn.Module, depth: int) -> nn.Module:
    """A `ReNetDenoiser` with `depth` sweep blocks that computes exactly what `model` computes.

    The new blocks start as the identity (sweeps projected through zeros, a centre-tap identity
    convolution on the non-negative features a block passes on), so further training starts from
    the trained model's quality and can only use the extra depth where it pays."""
    plane = model.plane if isinstance(model, OpponentColorDenoiser) else model
    if not isinstance(plane, ReNetDenoiser):
        raise ValueError("Only the renet architecture can be deepened.")
    if depth < plane.config.depth:
        raise ValueError(f"A model of depth {plane.config.depth} cannot become one of depth {depth}.")
    deeper = build_model(replace(plane.config, depth=depth))
    deeper.load_state_dict(plane.state_dict(), strict=False)
    with torch.no_grad():
        for block in deeper.blocks[plane.config.depth:]:
            row_sweep, column_sweep, conv = block[0], block[1], block[2]
            for sweep in (row_sweep, column_sweep):
                nn.init.zeros_(sweep.project.weight)
                nn.init.zeros_(sweep.project.bias)
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
            conv.weight[:, :, 1, 1] = torch.eye(conv.out_channels)
    return opponent_colors(deeper) if isinstance(model, OpponentColorDenoiser) else deeper


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
