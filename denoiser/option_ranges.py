"""The range of every numeric command-line option, declared once. Each range is an argparse `type`:
it parses the number and refuses nan, inf and values outside the range in one line, while the
arguments are parsed, so nothing heavy has loaded and nothing has been written."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """Numbers of `kind` (int or float) from `low` to `high`, both included; None: no bound that side.
    `above` leaves `low` itself out (a learning rate above 0)."""

    kind: type
    low: float | None = None
    high: float | None = None
    above: bool = False

    def __call__(self, text: str):
        try:
            value = self.kind(text)
        except ValueError:
            value = None
        if value is None or not self.holds(value):
            raise argparse.ArgumentTypeError(f"must be {self}, not {text!r}")
        return value

    def holds(self, value: float) -> bool:
        return (math.isfinite(value)
                and (self.low is None or value > self.low or (value == self.low and not self.above))
                and (self.high is None or value <= self.high))

    def __str__(self) -> str:
        noun = "a whole number" if self.kind is int else "a number"
        if self.low is None:
            return f"{noun} up to {_number(self.high)}" if self.high is not None else f"a finite {noun[2:]}"
        if self.high is None:
            return f"{noun} {'above' if self.above else 'of at least'} {_number(self.low)}"
        if self.above:
            return f"{noun} above {_number(self.low)} and at most {_number(self.high)}"
        return f"{noun} from {_number(self.low)} to {_number(self.high)}"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


SIGMA = Range(float, 0, 255)
"""Gaussian noise sigma on the 0..255 scale."""
VARIANCE = Range(float, 0, 255 ** 2)
"""Gaussian or speckle variance on the 0..255 scale: a sigma of at most 255."""
DENSITY = Range(float, 0, 1)
"""Salt-and-pepper: the fraction of pixels hit."""
PEAK = Range(float, 0, 1e6, above=True)
"""Poisson: photons at white."""
SPECIALIST_SIGMA = Range(float, 0, 255, above=True)
"""The noise level below which a low-noise specialist serves."""
SEED = Range(int, 0, 2 ** 32 - 1)
COUNT = Range(int, 1)
"""Steps, epochs, micro-steps: at least one."""
THREADS = Range(int, 1, 1024)
WORKERS = Range(int, 0, 256)
"""Image-decoding processes; 0 decodes in the training process."""
BATCH_SIZE = Range(int, 1, 4096)
PATCH_SIZE = Range(int, 8, 1024)
LEARNING_RATE = Range(float, 0, 1, above=True)
WIDTH = Range(int, 1, 1024)
"""The LSTM's hidden size and the convolutions' features."""
DEPTH = Range(int, 1, 64)
SECONDS = Range(float, 0)
"""A time limit; 0: none."""
SIDE = Range(int, 0)
"""The largest side in pixels; 0: keep the size."""
GAIN = Range(float, 0, 1)
"""Camera noise: the ISO-like gain, 0 (bright daylight) to 1 (dark, high ISO)."""
JPEG_QUALITY = Range(int, 0, 100)
"""Camera noise: the camera's JPEG quality; 0: no JPEG."""
MINUTES = Range(float, 0, 24 * 60, above=True)
"""A chunk of a long recipe: stop after this many minutes."""
