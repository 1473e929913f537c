"""The split of photo groups into training, validation and benchmark sets: by a hash of each
group's name alone, so it never depends on the order of the manifest, on the machine, or on which
other photos the manifest holds. Adding photos never moves one already placed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SETS = ("training", "validation", "benchmark")


@dataclass(frozen=True)
class SplitRule:
    """Where SHA-256(seed/group) falls, as a fraction of the hash range, places a group: below
    `benchmark_below` in the benchmark, below `validation_below` in validation, else in training.
    Photos of `training_only` packages are never held out."""

    seed: str
    benchmark_below: float
    validation_below: float
    training_only: tuple[str, ...] = ()


def hash_fraction(seed: str, group: str) -> float:
    """SHA-256 of 'seed/group' as a number in [0, 1)."""
    return int(hashlib.sha256(f"{seed}/{group}".encode()).hexdigest(), 16) / 2 ** 256


def assign_sets(groups, rule: SplitRule) -> dict[str, str]:
    """Each group's set; `groups` are the names of the groups that may be held out."""
    sets = {}
    for group in groups:
        fraction = hash_fraction(rule.seed, group)
        sets[group] = ("benchmark" if fraction < rule.benchmark_below
                       else "validation" if fraction < rule.validation_below else "training")
    return sets
