"""One corpus training written to disk: `train_on_corpus` with a progress bar, a JSON-lines log and
resumable checkpoints. It runs as one process or as one rank of a torchrun job inside an open
process group (rank 0 alone writes). `train` runs one; `recipe` runs one per stage."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from denoiser.models.checkpoint import save_checkpoint
from denoiser.scenarios import Scenario
from denoiser.training.distributed import World, split_batch
from denoiser.training.loops import CorpusConfig, precision_name, train_on_corpus
from denoiser.training.patches import PatchStream


def train_to_checkpoint(model: nn.Module, images: list[np.ndarray] | PatchStream, scenario: Scenario,
                        config: CorpusConfig, checkpoint: Path, log: Path, metadata: dict, world: World,
                        resume: dict | None = None, finished: dict | None = None, label: str = "train",
                        should_stop=None) -> bool:
    """Train `model`, saving it to `checkpoint` every `config.checkpoint_every` steps and at the end,
    with `metadata` and the training state (`resume` carries on from such a state). `finished` is
    merged into the last checkpoint's metadata only once the run reached its last step, so a file
    holding it is a finished run; `should_stop` ends a run early (a chunk), saved to resume. The
    log gets the run's settings, then a line every 50 steps, then every rank's report. Returns
    whether the run reached its last step."""
    per_process = split_batch(config.batch_size, world.size, config.accumulate)
    metadata = {**metadata, "torch": str(torch.__version__),  # a str: TorchVersion would not pass the safe loader
                "world_size": world.size, "precision": precision_name(world.device, config.mixed_precision),
                "config": {k: getattr(config, k) for k in config.__dataclass_fields__}}
    streamed = isinstance(images, PatchStream)
    first = resume["step"] if resume else 0
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    with open(log if world.is_main else os.devnull, "a" if resume else "w") as log_file:
        def write(record: dict) -> None:
            log_file.write(json.dumps(record) + "\n")
            log_file.flush()

        def report(progress) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{progress.train_loss:.1f}")
            if progress.step % 50 == 0 or progress.step == config.steps:
                write({"step": progress.step, "loss_255": progress.train_loss, "seconds": round(progress.elapsed, 2)})

        def save(state: dict) -> None:
            ranks = state.pop("ranks", None)  # given with the last checkpoint only
            state["cpu_seconds"] = round(earlier_cpu + time.process_time() - cpu_started, 1)  # all chunks so far
            facts = {"steps": state["step"], "train_seconds": round(time.perf_counter() - started, 1),
                     "cpu_seconds": state["cpu_seconds"]}
            if world.is_main:
                complete = state["step"] >= config.steps
                last = {**((finished or {}) if complete else {}), "ranks": ranks} if ranks else {}
                save_checkpoint(checkpoint, model, {**metadata, **facts, **last}, extra={"training": state})
            if ranks:
                write({"end": True, **facts, "world_size": world.size, "ranks": ranks,
                       "replicas_identical": len({rank["weights"] for rank in ranks}) == 1})

        write({"world_size": world.size, "backend": world.backend if world.size > 1 else None,
               "device": str(world.device), "precision": metadata["precision"], "batch_size": config.batch_size,
               "per_process_batch": per_process, "accumulate": config.accumulate,
               "data": "stream" if streamed else "memory", "workers": images.workers if streamed else 0,
               "start_step": first, "steps": config.steps})
        bar = tqdm(total=config.steps, initial=first, desc=label, unit="step", file=sys.stderr,
                   disable=not world.is_main)
        started, cpu_started = time.perf_counter(), time.process_time()
        earlier_cpu = (resume or {}).get("cpu_seconds", 0.0)  # this process's CPU time, over every chunk
        history = train_on_corpus(model, images, scenario, config, on_progress=report, world=world, resume=resume,
                                  on_checkpoint=save, should_stop=should_stop)
        bar.close()
    return bool(history) and history[-1].step >= config.steps
