"""Every numeric option of every command has a range (denoiser/option_ranges.py): values outside it,
nan and inf are refused in one line with exit status 2 while the arguments are parsed, before any
work and with nothing written; values inside it are taken as given."""

from __future__ import annotations

import argparse
import contextlib
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denoiser.cli import build_parser, main
from denoiser.option_ranges import Range

REQUIRED = {  # the least each command needs besides the option tested
    "noise": ["noise", "{tmp}/in.png", "-o", "{tmp}/out.png"],
    "denoise": ["denoise", "{tmp}/in.png", "-o", "{tmp}/out.png", "--scenario", "gray-gaussian"],
    "train": ["train", "--data", "{tmp}", "--scenario", "gray-gaussian", "--out", "{tmp}/run"],
    "fit": ["fit", "{tmp}/in.png", "--scenario", "gray-gaussian", "-o", "{tmp}/out.png"],
    "samples": ["samples", "-o", "{tmp}/photos"],
    "benchmark": ["benchmark", "--scenario", "gray-gaussian", "--json", "{tmp}/scores.json"],
    "corpus": ["corpus", "--out", "{tmp}/corpus"],
    "recipe": ["recipe", "gray-gaussian", "--out", "{tmp}/run"],
}


def commands() -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = [action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def numeric_options() -> list[tuple[str, str, Range]]:
    """(command, flag, range) for every option that takes a number."""
    found = []
    for command, parser in commands().items():
        for action in parser._actions:
            if isinstance(action.type, Range):
                found.append((command, action.option_strings[-1], action.type))
    return found


OPTIONS = numeric_options()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("outputs")


def test_every_command_is_covered_and_every_number_has_a_range():
    assert set(REQUIRED) == set(commands())
    untyped = [(command, action.option_strings) for command, parser in commands().items() for action in parser._actions
               if action.type in (int, float) and action.choices is None]
    assert untyped == []  # a plain int or float would take nan, inf or any size
    assert len(OPTIONS) >= 30 and {command for command, _, _ in OPTIONS} >= {"noise", "denoise", "train", "fit",
                                                                             "benchmark", "recipe"}


def outside(bounds: Range) -> st.SearchStrategy[str]:
    """Text of numbers the range refuses: nan, infinities, below or above it, and fractions for whole numbers."""
    texts = [st.sampled_from(["nan", "inf", "-inf", "1e400", "NaN", "-nan"])]
    if bounds.low is not None:
        below = (st.integers(max_value=int(bounds.low) - (0 if bounds.above else 1)) if bounds.kind is int
                 else st.floats(max_value=bounds.low, exclude_max=not bounds.above, allow_nan=False))
        texts.append(below.map(repr))
    if bounds.high is not None:
        above = (st.integers(min_value=int(bounds.high) + 1) if bounds.kind is int
                 else st.floats(min_value=bounds.high, exclude_min=True, allow_nan=False))
        texts.append(above.map(repr))
    if bounds.kind is int:
        texts.append(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()).map(repr))
    return st.one_of(texts)


def inside(bounds: Range) -> st.SearchStrategy[float]:
    high = bounds.high if bounds.high is not None else 1e9
    if bounds.kind is int:
        return st.integers(min_value=int(bounds.low), max_value=int(high))
    return st.floats(min_value=bounds.low, max_value=high, exclude_min=bounds.above)


@pytest.mark.parametrize("command, flag, bounds", OPTIONS, ids=[f"{c} {f}" for c, f, _ in OPTIONS])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_a_value_outside_the_range_is_refused_in_one_line_writing_nothing(folder, command, flag, bounds, data):
    text = data.draw(outside(bounds))
    argv = [part.format(tmp=folder) for part in REQUIRED[command]] + [f"{flag}={text}"]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()), \
            pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert stderr.getvalue().startswith(f"error: argument {flag}: must be {bounds}, not ")
    assert len(stderr.getvalue().splitlines()) == 1
    assert list(folder.iterdir()) == []  # nothing written


@pytest.mark.parametrize("command, flag, bounds", OPTIONS, ids=[f"{c} {f}" for c, f, _ in OPTIONS])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_a_value_inside_the_range_is_taken_as_given(folder, command, flag, bounds, data):
    value = data.draw(inside(bounds))
    argv = [part.format(tmp=folder) for part in REQUIRED[command]] + [f"{flag}={value!r}"]
    parsed = vars(build_parser().parse_args(argv))[flag.lstrip("-").replace("-", "_")]
    assert parsed == value and type(parsed) is bounds.kind and math.isfinite(parsed)
