"""The model a training run starts from: a new network, or trained weights given opponent colours,
more depth, a low-noise specialist or plane guides. `train --init` and every recipe stage build it here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from torch import nn

from denoiser.errors import DenoiserError
from denoiser.models.config import ModelConfig

GROWABLE = ("architecture", "hidden", "depth", "features", "specialist_below", "plane_guides")
"""What a started model may differ in from the design it trains for: its size, specialist and guides."""


@dataclass(frozen=True)
class Start:
    """Where the weights come from and how they grow."""

    init: Path | None = None
    """A checkpoint to start from; None starts a new network of the design."""
    depth: int | None = None
    """Sweep blocks to grow the network to (`models.networks.deepen`); None keeps its depth."""
    specialist_below: float | None = None
    """Add a low-noise specialist serving the noise levels below this sigma (needs `init`)."""
    specialist_from: Path | None = None
    """A checkpoint whose specialist (or network) starts the specialist, instead of a copy of `init`'s."""
    architecture: str | None = None
    """A new network's architecture instead of the design's (without `init`)."""
    hidden: int | None = None
    """A new network's hidden size instead of the design's (without `init`)."""
    plane_guides: bool = False
    """Give a color model's plane network the planes as guides (`models.networks.guide_planes`; needs `init`)."""


def starting_model(design: ModelConfig, start: Start = Start()) -> nn.Module:
    """A new network of `design` (at `start.depth` blocks), or `start.init`'s weights fitted to it: a
    single-channel network serves a color design's opponent planes, then it is deepened and given a
    specialist and plane guides as `start` says. A start that cannot become `design` is a `DenoiserError`."""
    from denoiser.models.checkpoint import load_checkpoint
    from denoiser.models.networks import (add_specialist, build_model, deepen, guide_planes, opponent_colors,
                                          specialist_or_network)

    if start.init is None:
        if start.plane_guides:
            raise DenoiserError("Plane guides are added to trained weights, not a new network.")
        return build_model(replace(design, depth=start.depth or design.depth, hidden=start.hidden or design.hidden,
                                   architecture=start.architecture or design.architecture))
    if start.architecture or start.hidden:
        raise DenoiserError("Only a new network chooses its architecture and hidden size, not trained weights.")
    model = load_checkpoint(start.init).model
    if design.opponent_colors and model.config.channels == 1:
        model = opponent_colors(model)  # a gray model starts the color one: its network serves the planes
    if model.config != replace(design, **{field: getattr(model.config, field) for field in GROWABLE}):
        raise DenoiserError(f"{start.init} holds a model for other inputs than the one to train (channels, noise "
                            "level or impulse mask); start from one of its own.")
    if start.depth and start.depth != model.config.depth:
        try:
            model = deepen(model, start.depth)
        except ValueError as error:
            raise DenoiserError(f"depth {start.depth} from {start.init}: {error}") from None
    if start.specialist_below is not None:
        specialist = specialist_or_network(load_checkpoint(start.specialist_from).model) \
            if start.specialist_from else None
        try:
            model = add_specialist(model, start.specialist_below, specialist)
        except ValueError as error:
            raise DenoiserError(f"specialist below {start.specialist_below:g}: {error}") from None
    if start.plane_guides and not model.config.plane_guides:
        try:
            model = guide_planes(model)
        except ValueError as error:
            raise DenoiserError(f"plane guides: {error}") from None
    return model
