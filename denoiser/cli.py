"""Command line: `python -m denoiser {noise,denoise,train,samples,benchmark} ...`.

Errors a user can cause exit with status 2 and one line on stderr, and leave no output file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from .errors import DenoiserError
from .images import load_image, save_image
from .inference import ENSEMBLE_SIZES
from .noise import make_noise
from .scenarios import SCENARIOS, get_scenario


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m denoiser", description="LSTM image-denoising lab.")
    commands = parser.add_subparsers(dest="command", required=True)

    noise = commands.add_parser("noise", help="add seeded noise to an image")
    noise.add_argument("input")
    noise.add_argument("-o", "--output", required=True)
    noise.add_argument("--noise", default="gaussian", choices=["gaussian", "salt-pepper", "poisson", "speckle"])
    noise.add_argument("--variance", type=float, default=100.0, help="Gaussian/speckle variance, 0..255 scale")
    noise.add_argument("--density", type=float, default=0.1, help="salt-and-pepper fraction of pixels")
    noise.add_argument("--peak", type=float, default=30.0, help="Poisson photons at white")
    noise.add_argument("--seed", type=int, default=0)
    noise.add_argument("--gray", action="store_true", help="convert to gray first")
    noise.set_defaults(run=run_noise)

    den = commands.add_parser("denoise", help="denoise images with a bundled or given model")
    den.add_argument("inputs", nargs="+")
    den.add_argument("-o", "--output", required=True, help="a file for one input, a folder for several")
    den.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    den.add_argument("--sigma", type=float, help="Gaussian noise sigma on the 0..255 scale; estimated if left out")
    den.add_argument("--model", help="a checkpoint made by `train` (default: the bundled weights)")
    den.add_argument("--adapt", action="store_true",
                     help="first adapt the model to each photo by self-supervised training "
                          "(Recorrupted-to-Recorrupted for Gaussian noise, blind-spot for impulses)")
    den.add_argument("--adapt-steps", type=int, default=150, help="steps of adaptation per photo")
    den.add_argument("--ensemble", type=int, default=1, choices=ENSEMBLE_SIZES,
                     help="average over this many flips and rotations (self-ensemble): a little better, that many times slower")
    den.set_defaults(run=run_denoise)

    train = commands.add_parser("train", help="train a scenario's model on a folder of clean images")
    train.add_argument("--data", required=True)
    train.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int)
    length.add_argument("--epochs", type=int, help="passes over the data, in patches")
    train.add_argument("--out", required=True, help="folder for <scenario>.pt and train_log.jsonl")
    train.add_argument("--batch-size", type=int, default=8, help="patches per optimizer step, over all processes")
    train.add_argument("--patch-size", type=int, default=48)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--hidden", type=int, help="LSTM hidden size (default: the scenario's)")
    train.add_argument("--features", type=int, help="convolution width (default: the scenario's)")
    train.add_argument("--depth", type=int,
                       help="sweep blocks (default: the scenario's; with --init, new blocks start as the identity)")
    train.add_argument("--architecture", choices=["renet", "row"])
    train.add_argument("--init", help="start from this checkpoint's weights")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--accumulate", type=int, default=1, help="micro-steps per optimizer step (they split the batch)")
    train.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints (and one at the end)")
    train.add_argument("--resume", action="store_true", help="carry on from the checkpoint in --out up to --steps")
    train.add_argument("--stream", action="store_true",
                       help="decode images in worker processes, not all at once in memory (always on under torchrun)")
    train.add_argument("--workers", type=int, default=2, help="image-decoding processes per rank when streaming")
    train.add_argument("--threads", type=int, help="torch threads per process (default: the node's cores, shared)")
    train.add_argument("--float32", action="store_true",
                       help="no mixed precision (by default float16 on GPUs, bfloat16 on CPUs with native support)")
    train.add_argument("--specialize-below", type=float, metavar="SIGMA",
                       help="with --init: add a copy of the model for noise levels below SIGMA and train only that "
                            "copy, on those levels (the rest keeps the --init model)")
    train.add_argument("--low-from", metavar="CHECKPOINT",
                       help="with --specialize-below: start the copy from this checkpoint's low-noise specialist "
                            "(or its network if it has none) instead of the --init model")
    train.add_argument("--balance-noise-levels", action="store_true",
                       help="weight each patch's error by 1 / (sigma^2 + 10^2) so low noise levels count as much as high ones")
    train.set_defaults(run=run_train)

    samples = commands.add_parser("samples", help="write the built-in sample photos to a folder")
    samples.add_argument("--set", choices=["training", "benchmark"], default="training")
    samples.add_argument("-o", "--output", required=True)
    samples.set_defaults(run=run_samples)

    bench = commands.add_parser("benchmark", help="score the LSTM and classical baselines on held-out photos")
    bench.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    level = bench.add_mutually_exclusive_group()
    level.add_argument("--sigma", type=float, help="Gaussian noise sigma on the 0..255 scale (default: the scenario's)")
    level.add_argument("--density", type=float, help="salt-and-pepper fraction of pixels (default: the scenario's)")
    bench.add_argument("--images", help="a folder of clean images (default: the built-in benchmark photos)")
    bench.add_argument("--methods", help="comma-separated, e.g. noisy,lstm,bm3d (default: the scenario's set)")
    bench.add_argument("--model", help="the checkpoint the lstm method runs (default: the bundled weights)")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--json", help="write every row and the settings to this JSON file")
    bench.add_argument("--markdown", help="write the per-image table to this Markdown file")
    bench.set_defaults(run=run_benchmark)
    return parser


def run_noise(args) -> None:
    image = load_image(args.input, 1 if args.gray else None)
    model = make_noise(args.noise, variance=args.variance, density=args.density, peak=args.peak)
    noisy = model.apply(image, np.random.default_rng(args.seed))
    save_image(noisy, _output_file(args.output))
    print(f"{model.name}: wrote {args.output}")


def run_denoise(args) -> None:
    from .adapt import AdaptConfig, adapt_to_photo
    from .checkpoint import load_checkpoint
    from .inference import denoise_ensemble
    from .noise_level import estimate_sigma
    from .pretrained import load_pretrained

    scenario = get_scenario(args.scenario)
    if args.sigma is not None and args.sigma < 0:
        raise DenoiserError("--sigma must be zero or positive.")
    if args.adapt_steps < 1:
        raise DenoiserError("--adapt-steps must be at least 1.")
    images = [load_image(path, scenario.channels) for path in args.inputs]  # all checked before writing
    load = (lambda: load_checkpoint(args.model)) if args.model else (lambda: load_pretrained(scenario.key))
    checkpoint = load()
    if checkpoint.config.channels != scenario.channels:
        raise DenoiserError(f"The model has {checkpoint.config.channels} channel(s); {scenario.key} needs {scenario.channels}.")
    targets = _output_targets(args.inputs, args.output)  # makes the output folder: only once all is well
    for image, target in zip(images, targets):
        sigma = args.sigma if args.sigma is not None else estimate_sigma(image)
        level = f"sigma {sigma:.1f}" if checkpoint.config.noise_map else "impulses detected"
        if args.adapt:
            model = load().model  # each photo adapts from the same starting weights
            result = adapt_to_photo(model, image, sigma, AdaptConfig(steps=args.adapt_steps, views=args.ensemble))
            save_image(result.denoised, target)
            verdict = "adapted" if result.kept else "adaptation did not help, kept the starting weights"
            print(f"wrote {target} ({level}; {verdict}; estimated MSE {result.loss_before:.1f} -> "
                  f"{result.loss_after:.1f}; {result.seconds:.1f} s)")
        else:
            save_image(denoise_ensemble(checkpoint.model, image, sigma, args.ensemble), target)
            print(f"wrote {target} ({level})")


def run_train(args) -> None:
    """One process, or one rank of `torchrun ... -m denoiser train`: every rank trains a replica,
    rank 0 alone writes the checkpoint and the log."""
    import os

    import torch
    from tqdm import tqdm

    from . import distributed
    from .checkpoint import save_checkpoint
    from .data import PatchStream, image_files, image_pixels
    from .train import CorpusConfig, precision_name, train_on_corpus

    scenario = get_scenario(args.scenario)
    world = distributed.world_from_env()
    for flag, value, least in (("--accumulate", args.accumulate, 1), ("--checkpoint-every", args.checkpoint_every, 1),
                               ("--workers", args.workers, 0), ("--threads", args.threads, 1)):
        if value is not None and value < least:
            raise DenoiserError(f"{flag} must be at least {least}.")
    out = Path(args.out)
    target = out / f"{scenario.key}.pt"
    files = image_files(args.data)
    model, resume = _starting_model(args, scenario, target)  # a wrong start fails before any decoding
    streamed = args.stream or world.size > 1
    images = PatchStream(tuple(files), scenario.channels, workers=args.workers) if streamed \
        else [load_image(path, scenario.channels) for path in files]
    steps = args.steps
    if steps is None:
        steps = max(1, (args.epochs or 1) * image_pixels(files) // (args.patch_size ** 2 * args.batch_size))
    config = CorpusConfig(steps=steps, batch_size=args.batch_size, patch_size=args.patch_size, learning_rate=args.lr,
                          seed=args.seed, threads=args.threads, accumulate=args.accumulate,
                          checkpoint_every=args.checkpoint_every, mixed_precision=not args.float32,
                          balance_noise_levels=args.balance_noise_levels)
    per_process = distributed.split_batch(config.batch_size, world.size, config.accumulate)
    metadata = {"scenario": scenario.key, "data": str(args.data), "images": len(files),
                "torch": str(torch.__version__),  # a str: TorchVersion would not pass the safe loader
                "world_size": world.size, "precision": precision_name(world.device, config.mixed_precision),
                "config": {k: getattr(config, k) for k in config.__dataclass_fields__}}
    if args.init:  # a second stage of training: which weights it started from
        metadata["init"] = _file_record(args.init)
    if args.low_from:  # and where its low-noise specialist started
        metadata["low_from"] = _file_record(args.low_from)
    first = resume["step"] if resume else 0
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "train_log.jsonl" if world.is_main else os.devnull
    with distributed.process_group(world), open(log_path, "a" if resume else "w") as log:
        def write(record: dict) -> None:
            log.write(json.dumps(record) + "\n")
            log.flush()

        def report(progress) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{progress.train_loss:.1f}")
            if progress.step % 50 == 0 or progress.step == steps:
                write({"step": progress.step, "loss_255": progress.train_loss, "seconds": round(progress.elapsed, 2)})

        def save(state: dict) -> None:
            ranks = state.pop("ranks", None)  # given with the last checkpoint only
            facts = {"steps": state["step"], "train_seconds": round(time.perf_counter() - started, 1)}
            if world.is_main:
                save_checkpoint(target, model, {**metadata, **facts, **({"ranks": ranks} if ranks else {})},
                                extra={"training": state})
            if ranks:
                write({"end": True, **facts, "world_size": world.size, "ranks": ranks,
                       "replicas_identical": len({rank["weights"] for rank in ranks}) == 1})

        write({"world_size": world.size, "backend": world.backend if world.size > 1 else None,
               "device": str(world.device), "precision": metadata["precision"], "batch_size": config.batch_size,
               "per_process_batch": per_process, "accumulate": config.accumulate,
               "data": "stream" if streamed else "memory", "workers": args.workers if streamed else 0,
               "start_step": first, "steps": steps})
        bar = tqdm(total=steps, initial=first, desc=f"train {scenario.key}", unit="step", file=sys.stderr,
                   disable=not world.is_main)
        started = time.perf_counter()
        train_on_corpus(model, images, scenario, config, on_progress=report, world=world, resume=resume,
                        on_checkpoint=save)
        bar.close()
    if world.is_main:
        print(f"wrote {target} at step {max(first, steps)} ({world.size} process(es))")


def _file_record(path: str) -> dict:
    """A file's name and the start of its SHA-256, enough to tell which weights a stage started from."""
    return {"file": Path(path).name, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]}


def _starting_model(args, scenario, target: Path):
    """The model to train and, with --resume, the training state saved beside its weights."""
    from dataclasses import replace

    from .checkpoint import load_checkpoint, read_payload
    from .models import build_model, deepen, low_noise_network, opponent_colors, specialize

    if args.depth is not None and args.depth < 1:
        raise DenoiserError(f"--depth must be at least 1, not {args.depth}.")
    if args.low_from and args.specialize_below is None:
        raise DenoiserError("--low-from starts the copy that --specialize-below adds: give both.")
    if args.resume:
        if args.init or args.low_from:
            raise DenoiserError("--resume carries on from the checkpoint in --out; leave out --init and --low-from.")
        resume = read_payload(target).get("training") if target.is_file() else None
        if resume is None:
            raise DenoiserError(f"Nothing to resume: {target} is missing or holds no training state.")
        model = load_checkpoint(target).model
        asked = {"hidden": ("hidden", args.hidden), "features": ("features", args.features),
                 "depth": ("depth", args.depth), "architecture": ("architecture", args.architecture),
                 "specialize-below": ("specialist_below", args.specialize_below)}
        changed = [f"--{flag} {v:g} (it has {getattr(model.config, k):g})" if isinstance(v, float)
                   else f"--{flag} {v} (it has {getattr(model.config, k)})"
                   for flag, (k, v) in asked.items() if v and v != getattr(model.config, k)]
        if changed:
            raise DenoiserError(f"--resume continues the model in {target} as it is: leave out {', '.join(changed)}.")
        return model, resume
    if args.init:
        start = load_checkpoint(args.init).model
        if scenario.model.opponent_colors and start.config.channels == 1:
            start = opponent_colors(start)  # a gray model starts the color one
        size = {field: getattr(start.config, field)
                for field in ("architecture", "hidden", "depth", "features", "specialist_below")}
        if start.config != replace(scenario.model, **size):
            raise DenoiserError(f"{args.init} holds a model for other inputs than {scenario.key} "
                                "(channels, noise level or impulse mask); start from one of its own.")
        if args.hidden or args.features or args.architecture:
            raise DenoiserError("--init keeps its model's --hidden, --features and --architecture; "
                                "only --depth can grow.")
        if args.depth and args.depth != start.config.depth:
            try:
                start = deepen(start, args.depth)
            except ValueError as error:
                raise DenoiserError(f"--depth {args.depth} with --init: {error}") from None
        if args.specialize_below is not None:
            low = low_noise_network(load_checkpoint(args.low_from).model) if args.low_from else None
            try:
                start = specialize(start, args.specialize_below, low)
            except ValueError as error:
                raise DenoiserError(f"--specialize-below {args.specialize_below:g}: {error}") from None
        return start, None
    if args.specialize_below is not None:
        raise DenoiserError("--specialize-below adds a copy of a trained model: give it with --init.")
    overrides = {k: v for k, v in (("hidden", args.hidden), ("features", args.features),
                                   ("depth", args.depth), ("architecture", args.architecture)) if v}
    return build_model(replace(scenario.model, **overrides)), None


def run_samples(args) -> None:
    from .samples import BENCHMARK_PHOTOS, TRAINING_PHOTOS, sample_photo

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for name in TRAINING_PHOTOS if args.set == "training" else BENCHMARK_PHOTOS:
        save_image(sample_photo(name), out / f"{name}.png")
    print(f"wrote the {args.set} photos to {out}")


def run_benchmark(args) -> None:
    from tqdm import tqdm

    from . import benchmark
    from .pretrained import pretrained_path

    scenario = get_scenario(args.scenario)
    noise = benchmark.benchmark_noise(scenario, args.sigma, args.density)
    json_path = _output_file(args.json) if args.json else None  # both checked before the long run
    markdown_path = _output_file(args.markdown) if args.markdown else None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods is not None else None
    images = benchmark.load_images(args.images, scenario.channels) if args.images else None
    bars = []

    def report(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc=f"benchmark {scenario.key}", unit="run", file=sys.stderr))
        bars[0].update(done - bars[0].n)

    try:
        rows = benchmark.run_benchmark(scenario.key, args.sigma, args.density, images, methods,
                                       args.seed, report, args.model)
    finally:
        for bar in bars:
            bar.close()
    ran_lstm = any(row.method in benchmark.LSTM_VIEWS for row in rows)
    model = benchmark.model_record(args.model or pretrained_path(scenario.key)) if ran_lstm else None
    settings = {"noise": noise.name, "sigma": noise.sigma, "density": getattr(noise, "density", None),
                "seed": args.seed, "images": args.images or "built-in benchmark photos",
                "model": model, "machine": benchmark.machine()}
    if json_path:
        json_path.write_text(json.dumps(benchmark.to_json(scenario.key, rows, **settings), indent=2) + "\n")
    if markdown_path:
        markdown_path.write_text(benchmark.to_markdown(rows))
    print(f"{scenario.key}: {noise.name}, {len({row.image for row in rows})} image(s), mean per method")
    print(benchmark.to_markdown(rows, per_image=False), end="")


def _output_file(path: str) -> Path:
    target = Path(path)
    if target.is_dir():
        raise DenoiserError(f"{target} is a folder; give a file name.")
    if not target.parent.is_dir():
        raise DenoiserError(f"No such folder: {target.parent}")
    return target


def _output_targets(inputs: list[str], output: str) -> list[Path]:
    """One input: OUT is a file. Several: OUT is a folder and the outputs keep the input names."""
    if len(inputs) == 1 and not Path(output).is_dir():
        return [_output_file(output)]
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    names = [Path(p).name for p in inputs]
    if len(set(names)) != len(names):
        raise DenoiserError("Two inputs share a file name; their outputs would overwrite each other.")
    return [folder / name for name in names]
