"""Command line: `python -m denoiser {noise,denoise,train,samples} ...`.

Errors a user can cause exit with status 2 and one line on stderr, and leave no output file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .errors import DenoiserError
from .images import load_image, save_image
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
    den.set_defaults(run=run_denoise)

    train = commands.add_parser("train", help="train a scenario's model on a folder of clean images")
    train.add_argument("--data", required=True)
    train.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int)
    length.add_argument("--epochs", type=int, help="passes over the data, in patches")
    train.add_argument("--out", required=True, help="folder for <scenario>.pt and train_log.jsonl")
    train.add_argument("--batch-size", type=int, default=8)
    train.add_argument("--patch-size", type=int, default=48)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--hidden", type=int, help="LSTM hidden size (default: the scenario's)")
    train.add_argument("--features", type=int, help="convolution width (default: the scenario's)")
    train.add_argument("--depth", type=int, help="sweep blocks (default: the scenario's)")
    train.add_argument("--architecture", choices=["renet", "row"])
    train.add_argument("--init", help="start from this checkpoint's weights")
    train.add_argument("--seed", type=int, default=0)
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
    from .checkpoint import load_checkpoint
    from .inference import denoise
    from .noise_level import estimate_sigma
    from .pretrained import load_pretrained

    scenario = get_scenario(args.scenario)
    if args.sigma is not None and args.sigma < 0:
        raise DenoiserError("--sigma must be zero or positive.")
    targets = _output_targets(args.inputs, args.output)
    images = [load_image(path, scenario.channels) for path in args.inputs]  # all checked before writing
    checkpoint = load_checkpoint(args.model) if args.model else load_pretrained(scenario.key)
    if checkpoint.config.channels != scenario.channels:
        raise DenoiserError(f"The model has {checkpoint.config.channels} channel(s); {scenario.key} needs {scenario.channels}.")
    for image, target in zip(images, targets):
        sigma = args.sigma if args.sigma is not None else estimate_sigma(image)
        save_image(denoise(checkpoint.model, image, sigma), target)
        print(f"wrote {target} (sigma {sigma:.1f})")


def run_train(args) -> None:
    import torch
    from tqdm import tqdm

    from .checkpoint import load_checkpoint, save_checkpoint
    from .data import load_folder
    from .models import build_model
    from .train import CorpusConfig, train_on_corpus
    from dataclasses import replace

    scenario = get_scenario(args.scenario)
    images = load_folder(args.data, scenario.channels)
    if args.init:
        model = load_checkpoint(args.init).model
    else:
        overrides = {k: v for k, v in (("hidden", args.hidden), ("features", args.features),
                                       ("depth", args.depth), ("architecture", args.architecture)) if v}
        model = build_model(replace(scenario.model, **overrides))
    steps = args.steps
    if steps is None:
        pixels = sum(im.shape[0] * im.shape[1] for im in images)
        steps = max(1, (args.epochs or 1) * pixels // (args.patch_size ** 2 * args.batch_size))
    config = CorpusConfig(steps=steps, batch_size=args.batch_size, patch_size=args.patch_size,
                          learning_rate=args.lr, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=steps, desc=f"train {scenario.key}", unit="step", file=sys.stderr)
    with open(out / "train_log.jsonl", "w") as log:
        def report(progress):
            bar.update(1)
            bar.set_postfix(loss=f"{progress.train_loss:.1f}")
            if progress.step % 50 == 0 or progress.step == steps:
                log.write(json.dumps({"step": progress.step, "loss_255": progress.train_loss,
                                      "seconds": round(progress.elapsed, 2)}) + "\n")
                log.flush()
        started = time.perf_counter()
        history = train_on_corpus(model, images, scenario, config, on_progress=report)
    bar.close()
    metadata = {"scenario": scenario.key, "steps": len(history), "data": str(args.data),
                "images": len(images), "train_seconds": round(time.perf_counter() - started, 1),
                "torch": torch.__version__, "config": vars(config) if hasattr(config, "__dict__") else {}}
    metadata["config"] = {k: getattr(config, k) for k in config.__dataclass_fields__}
    save_checkpoint(out / f"{scenario.key}.pt", model, metadata)
    print(f"wrote {out / f'{scenario.key}.pt'} after {len(history)} steps")


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
    settings = {"noise": noise.name, "sigma": noise.sigma, "density": getattr(noise, "density", None),
                "seed": args.seed, "images": args.images or "built-in benchmark photos",
                "model": args.model or "bundled", "machine": benchmark.machine()}
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
