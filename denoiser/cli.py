"""Command line: `python -m denoiser {noise,denoise,train,fit,samples,benchmark,corpus,recipe} ...`.

Errors a user can cause exit with status 2 and one line on stderr, and leave no output file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from denoiser.errors import DenoiserError
from denoiser.images import load_image, output_format, save_image
from denoiser.models.config import ENSEMBLE_SIZES
from denoiser.noise import make_noise
from denoiser.option_ranges import (BATCH_SIZE, COUNT, DENSITY, DEPTH, GAIN, JPEG_QUALITY, LEARNING_RATE, MINUTES,
                                    PATCH_SIZE, PEAK, SECONDS, SEED, SIDE, SIGMA, SPECIALIST_SIGMA, THREADS, VARIANCE,
                                    WIDTH, WORKERS)
from denoiser.scenarios import SCENARIOS, get_scenario
from denoiser.training.presets import PRESETS
from denoiser.training.recipes import RECIPES


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


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), like every other error of the command line."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    prog = "denoiser" if Path(sys.argv[0]).name == "denoiser" else "python -m denoiser"  # the installed command
    parser = _Parser(prog=prog, description="LSTM image-denoising lab.")
    commands = parser.add_subparsers(dest="command", required=True)

    noise = commands.add_parser("noise", help="add seeded noise to an image")
    noise.add_argument("input")
    noise.add_argument("-o", "--output", required=True)
    noise.add_argument("--noise", default="gaussian", choices=["gaussian", "salt-pepper", "poisson", "speckle", "camera"])
    noise.add_argument("--variance", type=VARIANCE, default=100.0, help="Gaussian/speckle variance, 0..255 scale")
    noise.add_argument("--density", type=DENSITY, default=0.1, help="salt-and-pepper fraction of pixels")
    noise.add_argument("--peak", type=PEAK, default=30.0, help="Poisson photons at white")
    _camera_flags(noise)
    noise.add_argument("--seed", type=SEED, default=0)
    noise.add_argument("--gray", action="store_true", help="convert to gray first")
    noise.set_defaults(run=run_noise)

    den = commands.add_parser("denoise", help="denoise images with a bundled or given model")
    den.add_argument("inputs", nargs="+")
    den.add_argument("-o", "--output", required=True, help="a file for one input, a folder for several")
    den.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    den.add_argument("--sigma", type=SIGMA, help="Gaussian noise sigma on the 0..255 scale; estimated if left out")
    den.add_argument("--model", help="a checkpoint made by `train` (default: the bundled weights)")
    den.add_argument("--adapt", action="store_true",
                     help="first adapt the model to each photo by self-supervised training "
                          "(Recorrupted-to-Recorrupted for Gaussian noise, blind-spot for impulses)")
    den.add_argument("--adapt-steps", type=COUNT, default=150, help="steps of adaptation per photo")
    den.add_argument("--ensemble", type=int, choices=ENSEMBLE_SIZES,
                     help="average over this many flips and rotations (self-ensemble): a little better, that many times "
                          "slower (default: the bundled model's own choice on this CPU, else 1)")
    den.set_defaults(run=run_denoise)

    train = commands.add_parser("train", help="train a scenario's model on a folder of clean images")
    train.add_argument("--data", required=True)
    train.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=COUNT)
    length.add_argument("--epochs", type=COUNT, help="passes over the data, in patches")
    train.add_argument("--out", required=True, help="folder for <scenario>.pt and train_log.jsonl")
    train.add_argument("--batch-size", type=BATCH_SIZE, default=8, help="patches per optimizer step, over all processes")
    train.add_argument("--patch-size", type=PATCH_SIZE, default=48)
    train.add_argument("--lr", type=LEARNING_RATE, default=1e-3)
    train.add_argument("--hidden", type=WIDTH, help="LSTM hidden size (default: the scenario's)")
    train.add_argument("--features", type=WIDTH, help="convolution width (default: the scenario's)")
    train.add_argument("--depth", type=DEPTH,
                       help="sweep blocks (default: the scenario's; with --init, new blocks start as the identity)")
    train.add_argument("--architecture", choices=["renet", "row"])
    train.add_argument("--init", help="start from this checkpoint's weights")
    train.add_argument("--seed", type=SEED, default=0)
    train.add_argument("--accumulate", type=COUNT, default=1, help="micro-steps per optimizer step (they split the batch)")
    train.add_argument("--checkpoint-every", type=COUNT, default=500, help="steps between checkpoints (and one at the end)")
    train.add_argument("--resume", action="store_true", help="carry on from the checkpoint in --out up to --steps")
    train.add_argument("--stream", action="store_true",
                       help="decode images in worker processes, not all at once in memory (always on under torchrun)")
    train.add_argument("--workers", type=WORKERS, default=2, help="image-decoding processes per rank when streaming")
    train.add_argument("--threads", type=THREADS, help="torch threads per process (default: the node's cores, shared)")
    train.add_argument("--float32", action="store_true",
                       help="no mixed precision (by default float16 on GPUs, bfloat16 on CPUs with native support)")
    train.add_argument("--specialist-below", type=SPECIALIST_SIGMA, metavar="SIGMA",
                       help="with --init: add a low-noise specialist, a copy of the model for noise levels below SIGMA, "
                            "and train only the specialist, on those levels (the rest keeps the --init model)")
    train.add_argument("--specialist-from", metavar="CHECKPOINT",
                       help="with --specialist-below: start the specialist from this checkpoint's specialist "
                            "(or its network if it has none) instead of the --init model")
    train.add_argument("--balance-noise-levels", action="store_true",
                       help="weight each patch's error by 1 / (sigma^2 + 10^2) so low noise levels count as much as high ones")
    train.set_defaults(run=run_train)

    fit = commands.add_parser("fit", help="the original notebook's experiment: train on one noisy image's pixels")
    fit.add_argument("image")
    fit.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    fit_level = fit.add_mutually_exclusive_group()
    fit_level.add_argument("--variance", type=VARIANCE, help="Gaussian variance, 0..255 scale (default: the scenario's, 100)")
    fit_level.add_argument("--density", type=DENSITY, help="salt-and-pepper fraction of pixels (default: the scenario's, 0.1)")
    _camera_flags(fit)
    fit.add_argument("--preset", default="notebook", choices=list(PRESETS),
                     help="notebook: the row LSTM from scratch with the notebook's settings; row-best: the same row "
                          "LSTM trained to its best on the validation pixels in 120 s; quick: the bundled weights "
                          "fine-tuned; scratch: the 2-D LSTM from scratch")
    fit.add_argument("--architecture", choices=["row", "renet"], help="the network (default: the preset's)")
    fit.add_argument("--epochs", type=COUNT, help="passes over the training pixels (default: the preset's)")
    fit.add_argument("--time-limit", type=SECONDS, metavar="SECONDS", help="stop by then (default: the preset's; 0: none)")
    fit.add_argument("--seed", type=SEED, default=0, help="the noise, the pixel split and the starting weights")
    fit.add_argument("--max-side", type=SIDE, default=256,
                     help="downscale the image to this largest side first, as the pages do (0: keep its size)")
    fit.add_argument("--threads", type=THREADS, help="torch threads (default: the machine's cores)")
    fit.add_argument("-o", "--output", help="write the denoised image here")
    fit.add_argument("--noisy-out", help="write the noisy input the run used here")
    fit.add_argument("--json", help="write the scores per pixel split and the run's settings here")
    fit.set_defaults(run=run_fit)

    samples = commands.add_parser("samples", help="write the built-in sample photos to a folder")
    samples.add_argument("--set", choices=["training", "benchmark"], default="training")
    samples.add_argument("-o", "--output", required=True)
    samples.set_defaults(run=run_samples)

    bench = commands.add_parser("benchmark", help="score the LSTM and classical baselines on held-out photos")
    bench.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    level = bench.add_mutually_exclusive_group()
    level.add_argument("--sigma", type=SIGMA, help="Gaussian noise sigma on the 0..255 scale (default: the scenario's)")
    level.add_argument("--density", type=DENSITY, help="salt-and-pepper fraction of pixels (default: the scenario's)")
    _camera_flags(bench)
    bench.add_argument("--images", help="a folder of clean images (default: the built-in benchmark photos)")
    bench.add_argument("--methods", help="comma-separated, e.g. noisy,lstm,bm3d (default: the scenario's set)")
    bench.add_argument("--model", help="the checkpoint the lstm method runs (default: the bundled weights)")
    bench.add_argument("--seed", type=SEED, default=0)
    bench.add_argument("--json", help="write every row and the settings to this JSON file")
    bench.add_argument("--markdown", help="write the per-image table to this Markdown file")
    bench.set_defaults(run=run_benchmark)

    corpus = commands.add_parser("corpus", help="build the training photos (and validation and benchmark sets) "
                                                "from pinned Debian packages, checked against their SHA-256")
    corpus.add_argument("--out", help="folder for the training photos")
    corpus.add_argument("--validation", help="folder for the validation photos (never trained on)")
    corpus.add_argument("--benchmark", help="folder for the benchmark photos (never trained on or validated with)")
    corpus.add_argument("--cache", help="folder for the downloaded packages (default: ~/.cache/denoiser/corpus)")
    corpus.add_argument("--manifest", help="the pinned packages and photos (default: the bundled manifest)")
    corpus.set_defaults(run=run_corpus)

    recipe = commands.add_parser("recipe", help="train a model by its recipe (denoiser/training/recipes.py): every "
                                                "stage, each written to OUT/<stage>.pt")
    recipe.add_argument("recipe", choices=list(RECIPES), help="a scenario's name gives the recipe of its bundled weights")
    recipe.add_argument("--corpus", help="the training folder `corpus --out` wrote (not needed with --smoke, nor by a "
                        "recipe that reads only the scikit-image photos: gray-salt-pepper)")
    recipe.add_argument("--out", help="folder for each stage's <stage>.pt and <stage>.log.jsonl; the last is the model")
    recipe.add_argument("--resume", action="store_true",
                        help="skip the finished stages in --out and carry on an unfinished one from its checkpoint")
    recipe.add_argument("--smoke", action="store_true",
                        help="a few steps of tiny patches per stage on the scikit-image photos: does every stage run?")
    recipe.add_argument("--list", action="store_true", help="print the stages as a table and stop")
    recipe.add_argument("--workers", type=WORKERS, default=4, help="image-decoding processes per rank when streaming "
                                                               "(on a GPU or under torchrun)")
    recipe.add_argument("--threads", type=THREADS, help="torch threads per process (default: the node's cores, shared)")
    recipe.add_argument("--checkpoint-every", type=COUNT, default=200, help="steps between a stage's checkpoints")
    recipe.add_argument("--minutes", type=MINUTES, help="stop after this many minutes, saved for --resume (a chunk of "
                        "a long recipe)")
    recipe.set_defaults(run=run_recipe)
    return parser


def _camera_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gain", type=GAIN, help="camera noise: the ISO-like gain, 0 (bright daylight) to 1 "
                        "(dark, high ISO), setting shot and read noise together (default 0.5; color-camera: 0.6)")
    parser.add_argument("--jpeg-quality", type=JPEG_QUALITY, help="camera noise: the camera's JPEG quality, 1 to 100, or 0 for "
                        "none (default: none; color-camera: 90)")


def _camera_noise(args):
    """The camera noise the flags ask for, or None when neither is given."""
    if args.gain is None and args.jpeg_quality is None:
        return None
    from denoiser.noise import CameraNoise

    default = get_scenario("color-camera").noise
    return CameraNoise(default.gain if args.gain is None else args.gain,
                       default.jpeg_quality if args.jpeg_quality is None else (args.jpeg_quality or None))


def run_noise(args) -> None:
    if args.noise != "camera" and (args.gain is not None or args.jpeg_quality is not None):
        raise DenoiserError("--gain and --jpeg-quality are for --noise camera.")
    target = _image_output(args.output)
    image = load_image(args.input, 1 if args.gray else None)
    model = make_noise(args.noise, variance=args.variance, density=args.density, peak=args.peak,
                       gain=0.5 if args.gain is None else args.gain, jpeg_quality=args.jpeg_quality or None)
    noisy = model.apply(image, np.random.default_rng(args.seed))
    save_image(noisy, target)
    print(f"{model.name}: wrote {args.output}")


def run_denoise(args) -> None:
    scenario = get_scenario(args.scenario)
    if scenario.blind and (args.sigma is not None or args.adapt):
        raise DenoiserError(f"{scenario.key} is blind: it takes no --sigma, and --adapt is for Gaussian and impulse "
                            "noise; leave both out.")
    targets = _output_targets(args.inputs, args.output)  # checked now, the folder made only once all is well
    _input_file(args.model, "checkpoint")
    images = [load_image(path, scenario.channels) for path in args.inputs]  # all checked before writing

    from denoiser.inference.adaptation import (  # torch: only once the arguments and images are good
        AdaptConfig,
        adapt_to_photo,
    )
    from denoiser.inference.precision import model_inference
    from denoiser.models.bundled import load_pretrained
    from denoiser.models.checkpoint import load_checkpoint
    from denoiser.noise.level import estimate_sigma

    load = (lambda: load_checkpoint(args.model)) if args.model else (lambda: load_pretrained(scenario.key))
    checkpoint = load()
    if checkpoint.config.channels != scenario.channels:
        raise DenoiserError(f"The model has {checkpoint.config.channels} channel(s); {scenario.key} needs {scenario.channels}.")
    inference = model_inference(scenario, args.ensemble, checkpoint=bool(args.model))
    _make_folder(targets[0].parent)
    for image, target in zip(images, targets):
        if scenario.blind:
            sigma, level = 0.0, "blind: camera noise"
        else:
            sigma = args.sigma if args.sigma is not None else estimate_sigma(image)
            level = f"sigma {sigma:.1f}" if checkpoint.config.noise_map else "impulses detected"
        if args.adapt:
            model = load().model  # each photo adapts from the same starting weights
            result = adapt_to_photo(model, image, sigma, AdaptConfig(steps=args.adapt_steps, views=args.ensemble or 1))
            save_image(result.denoised, target)
            verdict = "adapted" if result.kept else "adaptation did not help, kept the starting weights"
            print(f"wrote {target} ({level}; {verdict}; estimated MSE {result.loss_before:.1f} -> "
                  f"{result.loss_after:.1f}; {result.seconds:.1f} s)")
        else:
            save_image(inference.run(checkpoint.model, image, sigma), target)
            print(f"wrote {target} ({level}; {inference.label})")


def run_train(args) -> None:
    """One process, or one rank of `torchrun ... -m denoiser train`: every rank trains a replica,
    rank 0 alone writes the checkpoint and the log."""
    scenario = get_scenario(args.scenario)
    _check_train_flags(args)

    from denoiser.training import distributed  # torch and the rest: only once the flags are good
    from denoiser.training.corpus_job import train_to_checkpoint
    from denoiser.training.loops import CorpusConfig
    from denoiser.training.patches import PatchStream, image_files, image_pixels
    from denoiser.training.recipe_runner import file_record

    world = distributed.world_from_env()
    out = Path(args.out)
    target = out / f"{scenario.key}.pt"
    files = image_files(args.data)
    model, resume = _model_to_train(args, scenario, target)  # a wrong start fails before any decoding
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
    distributed.split_batch(config.batch_size, world.size, config.accumulate)  # an uneven batch fails before writing
    metadata = {"scenario": scenario.key, "data": str(args.data), "images": len(files)}
    if args.init:  # a second stage of training: which weights it started from
        metadata["init"] = file_record(Path(args.init))
    if args.specialist_from:  # and where its low-noise specialist started
        metadata["specialist_from"] = file_record(Path(args.specialist_from))
    first = resume["step"] if resume else 0
    with distributed.process_group(world):
        train_to_checkpoint(model, images, scenario, config, target, out / "train_log.jsonl", metadata, world,
                            resume, label=f"train {scenario.key}")
    if world.is_main:
        print(f"wrote {target} at step {max(first, steps)} ({world.size} process(es))")


def _check_train_flags(args) -> None:
    """The `train` flags that are wrong on their own or together, checked before torch loads."""
    _input_folder(args.data)
    _folder_to_make(args.out)
    _input_file(args.init, "checkpoint")
    _input_file(args.specialist_from, "checkpoint")
    if args.specialist_from and args.specialist_below is None:
        raise DenoiserError("--specialist-from starts the specialist that --specialist-below adds: give both.")
    if args.resume and (args.init or args.specialist_from):
        raise DenoiserError("--resume carries on from the checkpoint in --out; leave out --init and --specialist-from.")
    if args.specialist_below is not None and not (args.init or args.resume):
        raise DenoiserError("--specialist-below adds a specialist to a trained model: give it with --init.")


def _model_to_train(args, scenario, target: Path):
    """The model to train and, with --resume, the training state saved beside its weights."""
    from dataclasses import replace

    from denoiser.models.checkpoint import load_checkpoint, read_payload
    from denoiser.training.start import Start, starting_model

    if args.resume:
        resume = read_payload(target).get("training") if target.is_file() else None
        if resume is None:
            raise DenoiserError(f"Nothing to resume: {target} is missing or holds no training state.")
        model = load_checkpoint(target).model
        asked = {"hidden": ("hidden", args.hidden), "features": ("features", args.features),
                 "depth": ("depth", args.depth), "architecture": ("architecture", args.architecture),
                 "specialist-below": ("specialist_below", args.specialist_below)}
        changed = [f"--{flag} {v:g} (it has {getattr(model.config, k):g})" if isinstance(v, float)
                   else f"--{flag} {v} (it has {getattr(model.config, k)})"
                   for flag, (k, v) in asked.items() if v and v != getattr(model.config, k)]
        if changed:
            raise DenoiserError(f"--resume continues the model in {target} as it is: leave out {', '.join(changed)}.")
        return model, resume
    if args.init and (args.hidden or args.features or args.architecture):
        raise DenoiserError("--init keeps its model's --hidden, --features and --architecture; only --depth can grow.")
    overrides = {k: v for k, v in (("hidden", args.hidden), ("features", args.features),
                                   ("architecture", args.architecture)) if v}
    start = Start(init=Path(args.init) if args.init else None, depth=args.depth,
                  specialist_below=args.specialist_below,
                  specialist_from=Path(args.specialist_from) if args.specialist_from else None)
    return starting_model(replace(scenario.model, **overrides), start), None


def run_fit(args) -> None:
    """The notebook's experiment on one image, as a scenario page runs it (`denoiser.training.experiment`)."""
    scenario = get_scenario(args.scenario)
    if args.density is not None and scenario.noise_kind != "salt-pepper":
        raise DenoiserError(f"--density is for salt-and-pepper noise; {scenario.key} takes --variance.")
    if args.variance is not None and scenario.noise_kind != "gaussian":
        raise DenoiserError(f"--variance is for Gaussian noise; {scenario.key} takes --density.")
    preset = PRESETS[args.preset]
    preset.check(args.architecture or preset.architecture or scenario.bundled_architecture, scenario.bundled_architecture)
    camera = _camera_noise(args)
    if camera is not None and scenario.noise_kind != "camera":
        raise DenoiserError(f"--gain and --jpeg-quality are for camera noise; {scenario.key} takes "
                            f"--{'density' if scenario.noise_kind == 'salt-pepper' else 'variance'}.")
    noise = camera or scenario.noise if scenario.noise_kind == "camera" else make_noise(
        scenario.noise_kind, variance=scenario.noise.sigma ** 2 if args.variance is None else args.variance,
        density=getattr(scenario.noise, "density", 0.0) if args.density is None else args.density)
    outputs = {name: check(path) for name, path, check in (("denoised", args.output, _image_output),
                                                           ("noisy", args.noisy_out, _image_output),
                                                           ("json", args.json, _output_file)) if path}  # before the run
    image = load_image(args.image, scenario.channels)

    from tqdm import tqdm

    from denoiser.images import downscale
    from denoiser.models.bundled import load_pretrained, pretrained_path
    from denoiser.training import experiment

    bundled = load_pretrained(scenario.key).model if pretrained_path(scenario.key).is_file() else None
    setup = experiment.make_experiment(scenario, noise, args.preset, bundled.config if bundled else None,
                                       architecture=args.architecture, epochs=args.epochs,
                                       time_limit=args.time_limit, seed=args.seed, threads=args.threads)
    clean = downscale(image, args.max_side or None)
    if clean.shape != image.shape:
        print(f"downscaled {image.shape[1]}x{image.shape[0]} to {clean.shape[1]}x{clean.shape[0]} "
              f"(--max-side {args.max_side})", file=sys.stderr)
    bar = tqdm(desc=f"fit {scenario.key} ({args.preset})", unit="step", file=sys.stderr)

    def report(progress) -> None:
        bar.total = progress.steps
        bar.update(progress.step - bar.n)
        if progress.val_psnr is not None:
            bar.set_postfix(epoch=progress.epoch, val_psnr=f"{progress.val_psnr:.2f}")

    started = time.perf_counter()
    result = experiment.run_experiment(setup, clean, bundled, on_progress=report)
    bar.close()
    record = experiment.fit_record(setup, result, seconds=time.perf_counter() - started, image=str(args.image))
    print(experiment.score_table(record), end="")
    if "denoised" in outputs:
        save_image(result.training.denoised, outputs["denoised"])
    if "noisy" in outputs:
        save_image(result.noisy, outputs["noisy"])
    if "json" in outputs:
        outputs["json"].write_text(json.dumps(record, indent=2) + "\n")


def run_samples(args) -> None:
    from denoiser.samples import BENCHMARK_PHOTOS, TRAINING_PHOTOS, sample_photo

    out = _make_folder(args.output)
    for name in TRAINING_PHOTOS if args.set == "training" else BENCHMARK_PHOTOS:
        save_image(sample_photo(name), out / f"{name}.png")
    print(f"wrote the {args.set} photos to {out}")


def run_corpus(args) -> None:
    from .corpus.build import CorpusBuildConfig, build_corpus

    given = {"cache": args.cache, "manifest": args.manifest}
    config = CorpusBuildConfig(training=args.out, validation=args.validation, benchmark=args.benchmark,
                               **{key: Path(value) for key, value in given.items() if value})
    for written in build_corpus(config):
        print(f"{written.name}: {written.photos} photos, {written.pixels / 1e6:.1f} megapixels in {written.folder}")


def run_recipe(args) -> None:
    from denoiser.training.recipe_runner import RecipeRun  # light: torch loads once the checks have passed
    from denoiser.training.recipe_runner import run_recipe as run
    from denoiser.training.recipes import get_recipe, table

    if args.list:
        print(table(get_recipe(args.recipe)), end="")
        return
    if not args.out:
        raise DenoiserError("Give --out DIR, the folder for the stage files (or --list to see the stages).")
    run(RecipeRun(args.recipe, Path(args.out), Path(args.corpus) if args.corpus else None, args.resume, args.smoke,
                  args.workers, args.threads, args.checkpoint_every, args.minutes))


def run_benchmark(args) -> None:
    from tqdm import tqdm

    from denoiser.evaluation import comparison  # light: torch, scikit-image and bm3d load when a method first runs

    scenario = get_scenario(args.scenario)
    noise = comparison.benchmark_noise(scenario, args.sigma, args.density, _camera_noise(args))
    json_path = _output_file(args.json) if args.json else None  # both checked before the long run
    markdown_path = _output_file(args.markdown) if args.markdown else None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods is not None else None
    _input_file(args.model, "checkpoint")
    images = comparison.load_images(_input_folder(args.images), scenario.channels) if args.images else None
    bars = []

    def report(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc=f"benchmark {scenario.key}", unit="run", file=sys.stderr))
        bars[0].update(done - bars[0].n)

    try:
        rows = comparison.run_benchmark(scenario.key, args.sigma, args.density, images, methods,
                                       args.seed, report, args.model, _camera_noise(args))
    finally:
        for bar in bars:
            bar.close()
    from denoiser.models.bundled import pretrained_path

    ran_lstm = sorted({row.method for row in rows} & set(comparison.LSTM_VIEWS))
    model = comparison.model_record(args.model or pretrained_path(scenario.key)) if ran_lstm else None
    inference = {method: comparison.lstm_inference(scenario, method, args.model).label for method in ran_lstm}
    settings = {"noise": noise.name, "sigma": noise.sigma, "density": getattr(noise, "density", None),
                "seed": args.seed, "images": args.images or "built-in benchmark photos",
                "model": model, "inference": inference or None, "machine": comparison.machine()}
    if json_path:
        json_path.write_text(json.dumps(comparison.to_json(scenario.key, rows, **settings), indent=2) + "\n")
    if markdown_path:
        markdown_path.write_text(comparison.to_markdown(rows))
    print(f"{scenario.key}: {noise.name}, {len({row.image for row in rows})} image(s), mean per method")
    print(comparison.to_markdown(rows, per_image=False), end="")


def _output_file(path: str) -> Path:
    """A file to write later: its folder must exist and be writable (checked before any work)."""
    target = Path(path)
    if target.is_dir():
        raise DenoiserError(f"{target} is a folder; give a file name.")
    if not target.parent.is_dir():
        raise DenoiserError(f"No such folder: {target.parent}")
    if not os.access(target.parent, os.W_OK):
        raise DenoiserError(f"Cannot write to the folder {target.parent} (permission denied).")
    return target


def _image_output(path: str) -> Path:
    """An image to write later: a file as above, with a suffix that names a format Pillow writes."""
    target = _output_file(path)
    output_format(target)
    return target


def _folder_to_make(path: str) -> Path:
    """A folder to make later (or one that exists): no file stands in its way and it can be written."""
    folder = Path(path)
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise DenoiserError(f"Cannot make the folder {path}: {existing} is a file.")
    if not os.access(existing, os.W_OK):
        raise DenoiserError(f"Cannot make the folder {path}: {existing} is not writable (permission denied).")
    return folder


def _input_folder(path: str) -> str:
    if not Path(path).is_dir():
        raise DenoiserError(f"No such folder: {path}")
    return path


def _input_file(path: str | None, kind: str) -> None:
    """A file named on the command line (None: not given) must exist before the heavy imports."""
    if path is not None and not Path(path).is_file():
        raise DenoiserError(f"No such {kind}: {path}")


def _make_folder(path: str) -> Path:
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DenoiserError(f"Cannot make the folder {path}: {error.strerror}.") from None
    return Path(path)


def _output_targets(inputs: list[str], output: str) -> list[Path]:
    """One input: OUT is a file. Several: OUT is a folder (made later) and the outputs keep the input names.
    Only checks: nothing is made."""
    if len(inputs) == 1 and not Path(output).is_dir():
        return [_image_output(output)]
    folder = _folder_to_make(output)
    names = [Path(p).name for p in inputs]
    if len(set(names)) != len(names):
        raise DenoiserError("Two inputs share a file name; their outputs would overwrite each other.")
    for name in names:
        output_format(folder / name)
    return [folder / name for name in names]
