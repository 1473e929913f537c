"""Run a scenario's recipe (`denoiser.training.recipes`): every stage its model needs, in order, each one
`train` run (the same distributed-capable training) written to `OUT/<stage>.pt` with its log
`OUT/<stage>.log.jsonl`. The last stage's file is the model.

With `resume`, a finished stage (its file says so) is skipped and an unfinished one carries on from
its last checkpoint, so a long recipe can be spread over several short sessions. Mistakes are
caught before anything is written; torch loads only once they are ruled out.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from denoiser.errors import DenoiserError
from denoiser.images import IMAGE_SUFFIXES
from denoiser.training.recipes import RANDOM, Recipe, Stage, get_recipe, lineage, plan

if TYPE_CHECKING:
    from denoiser.training.start import Start

REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RecipeRun:
    """How to run a recipe: which, on which photos, into which folder."""

    recipe: str
    """The recipe's name (`recipes.RECIPES`)."""
    out: Path
    corpus: Path | None = None
    """The training folder `python -m denoiser corpus --out` wrote; not needed with `smoke`, nor
    when every stage reads the scikit-image photos alone."""
    resume: bool = False
    smoke: bool = False
    """A few steps of tiny patches per stage on the scikit-image photos: does every stage still run?"""
    workers: int = 4
    """Image-decoding processes per rank when the corpus is streamed (on a GPU or under torchrun)."""
    threads: int | None = None
    checkpoint_every: int = 200
    minutes: float | None = None
    """Stop after this many minutes (a chunk), saved so that `resume` carries on; None runs to the end."""


@dataclass(frozen=True)
class SmokeSettings:
    """What `--smoke` trains each stage with instead of the recipe's steps, patches and batch."""

    steps: int = 2
    patch_size: int = 16
    patches_per_process: int = 2
    checkpoint_every: int = 1


SMOKE = SmokeSettings()


def stage_file(out: Path, name: str) -> Path:
    return Path(out) / f"{name}.pt"


def check_run(run: RecipeRun) -> list[tuple[Recipe, Stage]]:
    """The stages to run, once the mistakes a user can make are ruled out (no torch needed)."""
    stages = plan(get_recipe(run.recipe))
    for flag, value, least in (("--workers", run.workers, 0), ("--threads", run.threads, 1),
                               ("--checkpoint-every", run.checkpoint_every, 1)):
        if value is not None and value < least:
            raise DenoiserError(f"{flag} must be at least {least}, not {value}.")
    if run.minutes is not None and not 0 < run.minutes < float("inf"):
        raise DenoiserError(f"--minutes must be a number of minutes above 0, not {run.minutes}.")
    if run.corpus is None and not run.smoke and any(stage.data == "corpus" for _, stage in stages):
        raise DenoiserError("Give --corpus DIR, the training folder `python -m denoiser corpus --out DIR` wrote "
                            "(or --smoke to try the stages on the scikit-image photos).")
    if run.corpus is not None:
        if not Path(run.corpus).is_dir():
            raise DenoiserError(f"No such corpus folder: {run.corpus} (python -m denoiser corpus --out {run.corpus} "
                                "writes it).")
        if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in Path(run.corpus).rglob("*")):
            raise DenoiserError(f"No images (PNG, JPEG, TIFF, WebP) under the corpus folder {run.corpus}.")
    if Path(run.out).exists() and not Path(run.out).is_dir():
        raise DenoiserError(f"{run.out} is a file; --out needs a folder.")
    done = [stage.name for _, stage in stages if stage_file(run.out, stage.name).exists()]
    if done and not run.resume:
        raise DenoiserError(f"{run.out} already holds {stage_file(run.out, done[0]).name}: add --resume to skip "
                            "finished stages and carry on, or choose an empty --out.")
    return stages


def run_recipe(run: RecipeRun, report: Callable[[str], None] = print) -> Path:
    """Train every stage that is not finished yet; returns the model's file (the last stage's)."""
    stages = check_run(run)

    from denoiser.training import distributed  # torch: only once the checks passed

    world = distributed.world_from_env()
    say = report if world.is_main else (lambda _: None)
    for _, stage in stages:  # an uneven batch or a stage file of other settings stops the run before it writes
        if not run.smoke:
            distributed.split_batch(stage.batch_size, world.size, 1)
        _stage_payload(run, stage)
    source = source_version()
    photos = _Photos(run)
    deadline = None if run.minutes is None else time.monotonic() + run.minutes * 60
    with distributed.process_group(world):
        for owner, stage in stages:
            if not _run_stage(run, owner, stage, world, source, photos, say, deadline):
                say(f"{stage.name}: stopped after {run.minutes:g} minutes; run again with --resume to carry on")
                return stage_file(run.out, stage.name)
    recipe = get_recipe(run.recipe)
    model = stage_file(run.out, recipe.model.name)
    say(f"the {recipe.name} model: {model}" + ("" if run.smoke else
        f" (copy it to denoiser/weights/{recipe.scenario}.pt)"))
    return model


def source_version(root: Path = REPOSITORY) -> dict:
    """The git commit of the code in `root` (`"unknown"` outside a git checkout) and whether the
    tree had changes not committed, so a stage file says what trained it."""
    root = Path(root).resolve()

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    commit = git("rev-parse", "HEAD") if top and Path(top).resolve() == root else None
    if commit is None:
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": bool(git("status", "--porcelain"))}


def file_record(path: Path) -> dict:
    """A file's name and the start of its SHA-256, as `train` records the weights a run started from."""
    return {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}


def _stage_payload(run: RecipeRun, stage: Stage) -> dict | None:
    """The stage's file as saved (None if there is none), checked to be this stage of this recipe."""
    from denoiser.models.checkpoint import read_payload

    path = stage_file(run.out, stage.name)
    if not path.is_file():
        return None
    payload = read_payload(path)
    record = payload.get("metadata", {}).get("recipe") or {}
    if record.get("stage") != stage.name:
        raise DenoiserError(f"{path} is not a file of the recipe's stage {stage.name}: move it away or choose "
                            "another --out.")
    settings = record.get("settings", {})
    changed = [f"{key} {settings.get(key)!r}, now {value!r}" for key, value in stage.settings().items()
               if settings.get(key) != value]
    if record.get("smoke") != run.smoke:
        changed.append("a smoke run" if record.get("smoke") else "a full run, not a smoke run")
    if changed:
        raise DenoiserError(f"{path} was trained with other settings than stage {stage.name} has now "
                            f"({'; '.join(changed)}): move it away or choose another --out.")
    if record.get("complete"):
        for key, name in (("init", stage.start), ("specialist_from", stage.specialist_from)):
            if name not in (None, RANDOM) and stage_file(run.out, name).is_file() and \
                    payload["metadata"].get(key) != file_record(stage_file(run.out, name)):
                raise DenoiserError(f"{path} started from another {name}.pt than the one in {run.out}: "
                                    "move the later stages away to train them again.")
    return payload


def _run_stage(run: RecipeRun, owner: Recipe, stage: Stage, world, source: dict, photos: _Photos,
               say: Callable[[str], None], deadline: float | None = None) -> bool:
    """Train one stage (or carry it on); returns whether it is finished."""
    from denoiser.models.checkpoint import load_checkpoint
    from denoiser.scenarios import get_scenario
    from denoiser.training.corpus_job import train_to_checkpoint
    from denoiser.training.start import starting_model

    path = stage_file(run.out, stage.name)
    payload = _stage_payload(run, stage)
    if payload is not None and payload["metadata"]["recipe"]["complete"]:
        say(f"{stage.name}: finished, skipped")
        return True
    scenario = stage_scenario(get_scenario(owner.scenario), stage)
    resume = payload.get("training") if payload else None
    if resume:
        model = load_checkpoint(path).model
    else:
        try:
            model = starting_model(scenario.model, stage_start(stage, Path(run.out)))
        except DenoiserError as error:
            raise DenoiserError(f"stage {stage.name}: {error}") from None
    images, count, described = photos.get(stage, scenario.channels, world)
    smoke = {"steps": SMOKE.steps, "patch_size": SMOKE.patch_size, "checkpoint_every": SMOKE.checkpoint_every,
             "batch_size": SMOKE.patches_per_process * world.size} if run.smoke else {}
    config = stage_config(stage, run.threads or (1 if run.smoke else None),  # tiny batches: more threads only wait
                          run.checkpoint_every)
    config = replace(config, **smoke)
    recipe = {"name": owner.name, "stage": stage.name, "stages": lineage(stage.name),
              "settings": stage.settings(), "smoke": run.smoke, **source}
    metadata = {"scenario": owner.scenario, "data": described, "images": count,
                "recipe": {**recipe, "complete": False}}
    for key, name in (("init", stage.start), ("specialist_from", stage.specialist_from)):
        if name not in (None, RANDOM):
            metadata[key] = file_record(stage_file(run.out, name))
    start = f"step {resume['step']} of its last checkpoint" if resume else stage.start
    say(f"{stage.name}: {config.steps} steps from {start}, on {described}")
    out_of_time = None if deadline is None else (lambda: time.monotonic() >= deadline)
    finished = train_to_checkpoint(model, images, scenario, config, path, Path(run.out) / f"{stage.name}.log.jsonl",
                                   metadata, world, resume, finished={"recipe": {**recipe, "complete": True}},
                                   label=f"recipe {stage.name}", should_stop=out_of_time)
    _barrier(world)  # every rank reads this stage's file only once rank 0 has written it
    say(f"{stage.name}: wrote {path}")
    return finished


def stage_scenario(scenario, stage: Stage):
    """The scenario with the stage's noise levels: Gaussian sigmas, salt-and-pepper densities or camera gains."""
    if scenario.noise_kind == "camera":
        return replace(scenario, training_camera=replace(scenario.training_camera, gain=tuple(stage.noise),
                                                         demosaics=stage.demosaics))
    noise = "training_density" if scenario.noise_kind == "salt-pepper" else "training_sigma"
    return replace(scenario, **{noise: tuple(stage.noise)})


def stage_config(stage: Stage, threads: int | None, checkpoint_every: int):
    """The `CorpusConfig` that trains `stage`: its steps, patches, batch, rate, seed, precision and loss."""
    from denoiser.training.loops import CorpusConfig

    return CorpusConfig(steps=stage.steps, batch_size=stage.batch_size, patch_size=stage.patch_size,
                        learning_rate=stage.learning_rate, seed=stage.seed, threads=threads,
                        checkpoint_every=checkpoint_every, mixed_precision=not stage.float32,
                        balance_noise_levels=stage.balance_noise_levels)


def stage_start(stage: Stage, out: Path) -> Start:
    """Where `stage` starts (`training.start`): random, or a finished stage's file in `out`, grown in
    depth or given a low-noise specialist or plane guides as the stage says."""
    from denoiser.training.start import Start  # noqa: F811  (torch: only once the run's checks passed)

    def file(name: str | None) -> Path | None:
        return None if name in (None, RANDOM) else stage_file(out, name)

    return Start(init=file(stage.start), depth=stage.depth, specialist_below=stage.specialist_below,
                 specialist_from=file(stage.specialist_from), architecture=stage.architecture, hidden=stage.hidden,
                 plane_guides=stage.plane_guides)


class _Photos:
    """Each stage's training photos, kept while consecutive stages share them: the corpus's files,
    streamed on a GPU or under torchrun and held in memory otherwise, or the scikit-image photos."""

    def __init__(self, run: RecipeRun):
        self.run, self.key, self.images = run, None, None

    def get(self, stage: Stage, channels: int, world) -> tuple[list | object, int, str]:
        """(the photos, as arrays or a `PatchStream`; how many; where they come from, in words)."""
        from denoiser.images import load_image
        from denoiser.samples import TRAINING_PHOTOS, sample_photo
        from denoiser.training.patches import PatchStream, image_files

        source = "scikit-image" if self.run.smoke else stage.data
        streamed = source == "corpus" and (world.size > 1 or world.device.type == "cuda")
        if (source, channels, streamed) != self.key:
            self.images = None  # the last stage's photos go before the next ones load
            if source == "scikit-image":
                self.images = [sample_photo(name, channels) for name in sorted(TRAINING_PHOTOS)]
            elif streamed:
                self.images = PatchStream(tuple(image_files(self.run.corpus)), channels, workers=self.run.workers)
            else:
                self.images = [load_image(path, channels) for path in image_files(self.run.corpus)]
            self.key = (source, channels, streamed)
        described = "the scikit-image training photos" if source == "scikit-image" else str(self.run.corpus)
        return self.images, len(getattr(self.images, "files", self.images)), described


def _barrier(world) -> None:
    if world.size > 1:
        import torch.distributed

        torch.distributed.barrier()
