"""The one exception type for mistakes a user can make (bad file, bad parameter)."""

from __future__ import annotations

from typing import Mapping, TypeVar

T = TypeVar("T")


class DenoiserError(Exception):
    """A problem with the user's input, reported as one clear line at the edge (CLI, page)."""


def choose(options: Mapping[str, T], key: str, what: str) -> T:
    """`options[key]`, or a `DenoiserError` that names the choices."""
    try:
        return options[key]
    except KeyError:
        raise DenoiserError(f"Unknown {what} '{key}': choose one of {', '.join(options)}.") from None
