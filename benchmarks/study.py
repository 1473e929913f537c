"""What the design studies share: training a candidate for a given CPU time, resumably.

A candidate's whole state (weights, optimizer, schedule, random state, CPU seconds so far) lives in
one state file, written by the recipes' own `train_to_checkpoint`; each call trains it for some more
of this process's CPU time (so other work on the machine does not change the comparison) and saves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def train_for_cpu_minutes(build: Callable[[], object], images: list[np.ndarray], scenario, config, state_file: Path,
                          metadata: dict, cpu_minutes: float, label: str) -> tuple[object, int, float]:
    """Train the candidate in `state_file` (or `build()`'s fresh one) for `cpu_minutes` more CPU-minutes
    with `config`; returns (model, steps in all, CPU-minutes in all)."""
    from denoiser.models.checkpoint import load_checkpoint, read_payload
    from denoiser.training.corpus_job import train_to_checkpoint
    from denoiser.training.distributed import World

    payload = read_payload(state_file) if state_file.is_file() else None
    model = load_checkpoint(state_file).model if payload else build()
    started = time.process_time()
    train_to_checkpoint(model, images, scenario, config, state_file, state_file.with_suffix(".log.jsonl"), metadata,
                        World(), resume=payload["training"] if payload else None, label=label,
                        should_stop=lambda: time.process_time() - started >= cpu_minutes * 60)
    saved = read_payload(state_file)["metadata"]
    return model, saved["steps"], saved["cpu_seconds"] / 60
