"""One chunk of a recipe's training campaign on this CPU, then its point on the validation curve.

    python benchmarks/campaign.py RECIPE CORPUS_DIR VALIDATION_DIR [--minutes 85] [--threads 1] [--bundle]

runs `python -m denoiser recipe RECIPE --corpus CORPUS_DIR --out campaigns/FOLDER --resume --minutes M`
at low priority (nice 10), so the recipe carries on from its last chunk and stops, resumable, after M
minutes; then scores the newest stage file on the validation photos with the recipe's `Scorer` and
appends the point (CPU-hours so far, steps, PSNR) to docs/benchmarks/campaign-RECIPE.json and .md. FOLDER
is the recipe's own name, or that of the recipe whose stages it starts from (`campaign_folder`). Commit
`campaigns/FOLDER/` and those two files after each chunk: the stage files are the campaign's whole
resumable state.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import camera_design  # noqa: E402
import model_design  # noqa: E402

from denoiser.errors import DenoiserError  # noqa: E402
from denoiser.training.recipes import folder_name, get_recipe  # noqa: E402


@dataclass(frozen=True)
class Scorer:
    """How a scenario's validation curve is measured: the validation crops of a folder, and the mean
    PSNR of a model (of the noisy crops when the model is None) on them, by column."""

    crops: Callable[[Path], list]
    psnr: Callable[[object, list], dict]


SCORERS = {
    "color-camera": Scorer(camera_design.validation_crops, camera_design.scores),
    "gray-gaussian": Scorer(lambda folder: model_design.validation_crops(folder, 1), model_design.validation_psnr),
    "color-gaussian": Scorer(lambda folder: model_design.validation_crops(folder, 3), model_design.validation_psnr),
}
"""The camera scenario's validation cameras with the unseen check beside them (`camera_design.scores`),
and the Gaussian design study's sigmas 10, 25 and 50."""


CAMPAIGNS, CURVES = ROOT / "campaigns", ROOT / "docs" / "benchmarks"
"""Where the recipes' stage files (campaigns/FOLDER/) and validation curves live."""


def campaign_folder(recipe: str) -> Path:
    """campaigns/ and the recipe's `recipes.folder_name`: a color recipe that starts from gray stages
    shares the gray campaign's folder."""
    return CAMPAIGNS / folder_name(get_recipe(recipe))


def curve_file(recipe: str) -> Path:
    return CURVES / f"campaign-{recipe}.json"


def run_chunk(recipe: str, corpus: Path, minutes: float, threads: int | None) -> None:
    command = ["nice", "-n", "10", sys.executable, "-m", "denoiser", "recipe", recipe, "--corpus", str(corpus),
               "--out", str(campaign_folder(recipe)), "--resume", "--minutes", str(minutes)]
    command += ["--threads", str(threads)] if threads else []
    subprocess.run(command, cwd=ROOT, check=True)


def newest_stage(recipe: str) -> str:
    """The stage the campaign is on: the first started and unfinished one, else the last started."""
    folder = campaign_folder(recipe)
    started = [s.name for s in get_recipe(recipe).stages if (folder / f"{s.name}.pt").is_file()]
    if not started:
        raise SystemExit(f"error: no stage file in {folder}: run a chunk first.")
    return next((name for name in started if not _finished(folder / f"{name}.pt")), started[-1])


def record_point(recipe: str, validation: Path) -> dict:
    """Score the newest stage file on the validation photos and append the point to the curve."""
    from denoiser.models.checkpoint import load_checkpoint

    scorer, stage = SCORERS[get_recipe(recipe).scenario], newest_stage(recipe)
    checkpoint = load_checkpoint(campaign_folder(recipe) / f"{stage}.pt")
    crops = scorer.crops(validation)
    point = {"stage": stage, "steps": checkpoint.metadata["steps"],
             "cpu_hours": round(recipe_cpu_seconds(recipe, stage) / 3600, 3), "psnr": scorer.psnr(checkpoint.model, crops)}
    path = curve_file(recipe)
    results = json.loads(path.read_text()) if path.is_file() else {
        "recipe": recipe, "validation_photos": [name for name, _ in crops], "noisy": scorer.psnr(None, crops), "curve": []}
    results["curve"].append(point)
    path.write_text(json.dumps(results, indent=2) + "\n")
    path.with_suffix(".md").write_text(render(results))
    return point


def recipe_cpu_seconds(recipe: str, stage: str) -> float:
    """CPU seconds the recipe has spent up to `stage`'s file as it stands: its own and every stage's before it."""
    from denoiser.models.checkpoint import read_payload
    from denoiser.training.recipes import lineage

    return sum(read_payload(campaign_folder(recipe) / f"{name}.pt")["metadata"]["cpu_seconds"] for name in lineage(stage))


def adopt(recipe: str, state: Path, corpus: Path) -> Path:
    """Start the campaign from a design study's state file (`benchmarks/study.py`) trained with exactly
    the first stage's settings: a random start of the same design, patches, batch, rate, seed, loss and
    cosine length. It becomes the stage file, CPU seconds included, so the study's minutes count toward
    the recipe. Anything that differs is a `DenoiserError`, and an existing stage file is never replaced."""
    from denoiser.models.checkpoint import load_checkpoint, read_payload, save_checkpoint
    from denoiser.scenarios import get_scenario
    from denoiser.training.patches import image_files
    from denoiser.training.recipe_runner import source_version, stage_file, stage_scenario, stage_start
    from denoiser.training.recipes import RANDOM
    from denoiser.training.start import starting_model

    owner = get_recipe(recipe)
    stage, target = owner.stages[0], stage_file(campaign_folder(recipe), owner.stages[0].name)
    if target.exists():
        raise DenoiserError(f"{target} exists: the campaign has started.")
    payload = read_payload(state)
    trained = payload["metadata"]["config"]
    wanted = {"steps": stage.steps, "batch_size": stage.batch_size, "patch_size": stage.patch_size,
              "learning_rate": stage.learning_rate, "seed": stage.seed, "mixed_precision": not stage.float32,
              "balance_noise_levels": stage.balance_noise_levels}
    differ = [f"{key} {trained.get(key)!r}, the stage's {value!r}" for key, value in wanted.items() if trained.get(key) != value]
    scenario = stage_scenario(get_scenario(owner.scenario), stage)
    design = starting_model(scenario.model, stage_start(stage, campaign_folder(recipe))).config
    if payload["model_config"] != design.to_dict():
        differ.append("the network's design")
    if stage.start != RANDOM or stage.data != "corpus" or payload["metadata"].get("scenario") != owner.scenario:
        differ.append("the start, photos or scenario")
    if differ:
        raise DenoiserError(f"{state} was not trained as stage {stage.name}: {'; '.join(differ)}.")
    training = payload["training"]
    record = {"name": owner.name, "stage": stage.name, "stages": [stage.name], "settings": stage.settings(),
              "smoke": False, **source_version(), "complete": False}
    metadata = {"scenario": owner.scenario, "data": str(corpus), "images": len(image_files(corpus)), "recipe": record,
                "steps": training["step"], "cpu_seconds": training["cpu_seconds"], "adopted_from": str(state)}
    target.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(target, load_checkpoint(state).model, metadata, extra={"training": training})
    return target


def bundle(recipe: str) -> Path:
    """Copy the campaign's latest model weights (no training state) to the scenario's bundled file,
    saying in their metadata how far the campaign has come."""
    from denoiser.models.bundled import pretrained_path
    from denoiser.models.checkpoint import load_checkpoint, save_checkpoint

    scenario, stage = get_recipe(recipe).scenario, get_recipe(recipe).model
    checkpoint = load_checkpoint(campaign_folder(recipe) / f"{stage.name}.pt")
    metadata = {key: value for key, value in checkpoint.metadata.items() if key != "ranks"}
    metadata["recipe"] = {**metadata["recipe"], "name": recipe}  # the stage's recipe may have been renamed since
    metadata["campaign"] = {"steps": metadata["steps"], "of": stage.steps,
                            "cpu_hours": round(recipe_cpu_seconds(recipe, stage.name) / 3600, 3),
                            "state": str(campaign_folder(recipe).relative_to(ROOT))}
    save_checkpoint(pretrained_path(scenario), checkpoint.model, metadata)
    return pretrained_path(scenario)


def column(key: str) -> str:
    """A score's column heading: a digit key is a Gaussian sigma."""
    return f"sigma {key}" if key.isdigit() else key


def render(results: dict) -> str:
    """The curve as a Markdown table: one column per score (a digit key is a Gaussian sigma), blank where
    a point predates the column."""
    keys = list(results["noisy"])
    heads = [column(key) for key in keys]
    lines = ["| stage | steps | CPU-hours | " + " | ".join(heads) + " |", "|---|---:|---:|" + "---:|" * len(keys),
             "| noisy input | | | " + " | ".join(f"{results['noisy'][key]:.2f}" for key in keys) + " |"]
    lines += [f"| {p['stage']} | {p['steps']} | {p['cpu_hours']:.2f} | "
              + " | ".join(f"{p['psnr'][key]:.2f}" if key in p["psnr"] else "" for key in keys) + " |" for p in results["curve"]]
    return "\n".join(lines) + "\n"


def _finished(path: Path) -> bool:
    from denoiser.models.checkpoint import read_payload

    return path.is_file() and bool(read_payload(path)["metadata"].get("recipe", {}).get("complete"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe")
    parser.add_argument("corpus", type=Path)
    parser.add_argument("validation", type=Path)
    parser.add_argument("--minutes", type=float, default=85.0, help="the chunk's length (at most 90)")
    parser.add_argument("--threads", type=int, help="torch threads (1 leaves the other core to other work; "
                        "small batches gain little from a second thread)")
    parser.add_argument("--score-only", action="store_true", help="only add the validation point of the files as they are")
    parser.add_argument("--bundle", action="store_true", help="then copy the campaign's model weights to denoiser/weights/")
    parser.add_argument("--adopt", type=Path, metavar="STATE_FILE",
                        help="first start the campaign from a design study's run of the first stage's settings (once)")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 90:
        print("error: --minutes must lie between 0 and 90.", file=sys.stderr)
        return 2
    try:
        scenario = get_recipe(args.recipe).scenario
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if scenario not in SCORERS:
        print(f"error: no validation scorer for {scenario}; those with one: {', '.join(SCORERS)}.", file=sys.stderr)
        return 2
    if not args.validation.is_dir():
        print(f"error: no validation folder {args.validation}.", file=sys.stderr)
        return 2
    if args.adopt:
        try:
            print(f"started the campaign from {args.adopt}: {adopt(args.recipe, args.adopt, args.corpus)}")
        except DenoiserError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if not args.score_only:
        run_chunk(args.recipe, args.corpus, args.minutes, args.threads)
    point = record_point(args.recipe, args.validation)
    if args.bundle:
        print(f"bundled {bundle(args.recipe)}")
    print(f"{point['stage']}: {point['steps']} steps, {point['cpu_hours']:.2f} CPU-hours, "
          f"validation {', '.join(f'{key} {value:.2f}' for key, value in point['psnr'].items())} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
