"""One chunk of the camera model's training campaign, then its point on the validation curve.

    python benchmarks/camera_campaign.py CORPUS_DIR VALIDATION_DIR [--minutes 85] [--threads 1]

runs `python -m denoiser recipe color-camera --corpus CORPUS_DIR --out campaigns/color-camera
--resume --minutes M` at low priority (nice 10), so the recipe carries on from its last chunk and
stops, resumable, after M minutes; then scores the stage file on the validation photos through the
validation cameras of `camera_design.py` and appends the point (CPU-hours so far, steps, PSNR) to
docs/benchmarks/camera-campaign.json and .md. Commit `campaigns/color-camera/` and those two files
after each chunk: the stage file is the campaign's whole resumable state.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from camera_design import psnr_table, validation_crops, validation_psnr  # noqa: E402

from denoiser.training.recipes import get_recipe  # noqa: E402

CAMPAIGN = ROOT / "campaigns" / "color-camera"
JSON = ROOT / "docs" / "benchmarks" / "camera-campaign.json"


def run_chunk(corpus: Path, minutes: float, threads: int | None) -> None:
    command = ["nice", "-n", "10", sys.executable, "-m", "denoiser", "recipe", "color-camera", "--corpus", str(corpus),
               "--out", str(CAMPAIGN), "--resume", "--minutes", str(minutes)]
    command += ["--threads", str(threads)] if threads else []
    subprocess.run(command, cwd=ROOT, check=True)


def record_point(validation: Path) -> dict:
    from denoiser.models.checkpoint import load_checkpoint

    started = [s.name for s in get_recipe("color-camera").stages if (CAMPAIGN / f"{s.name}.pt").is_file()]
    stage = next((name for name in started if not _finished(CAMPAIGN / f"{name}.pt")), started[-1])  # the newest
    checkpoint = load_checkpoint(CAMPAIGN / f"{stage}.pt")
    crops = validation_crops(validation)
    point = {"stage": stage, "steps": checkpoint.metadata["steps"], "cpu_hours": round(recipe_cpu_seconds(stage) / 3600, 3),
             "psnr": validation_psnr(checkpoint.model, crops)}
    results = json.loads(JSON.read_text()) if JSON.is_file() else {
        "validation_photos": [name for name, _ in crops], "noisy": validation_psnr(None, crops), "curve": []}
    results["curve"].append(point)
    JSON.write_text(json.dumps(results, indent=2) + "\n")
    JSON.with_suffix(".md").write_text(render(results))
    return point


def recipe_cpu_seconds(stage: str) -> float:
    """CPU seconds the recipe has spent up to `stage`'s file as it stands: its own and every stage's before it."""
    from denoiser.models.checkpoint import read_payload
    from denoiser.training.recipes import lineage

    return sum(read_payload(CAMPAIGN / f"{name}.pt")["metadata"]["cpu_seconds"] for name in lineage(stage))


def adopt_study_run(corpus: Path) -> Path:
    """Start the campaign from the design study's `rgb-scratch` run, whose settings are stage camera-1's
    (random start, patches 64, batch 8, rate 1e-3, seed 0, the same cosine length): its state becomes
    the stage file, CPU time included, so the study's minutes count toward the recipe."""
    from camera_design import STATES

    from denoiser.models.checkpoint import load_checkpoint, read_payload, save_checkpoint
    from denoiser.training.patches import image_files
    from denoiser.training.recipe_runner import source_version, stage_file

    stage = get_recipe("color-camera").stages[0]
    study = read_payload(STATES / "rgb-scratch.pt")
    training = {**study["training"], "cpu_seconds": round(study["metadata"]["cpu_minutes"] * 60, 1)}
    recipe = {"name": "color-camera", "stage": stage.name, "stages": [stage.name], "settings": stage.settings(),
              "smoke": False, **source_version(), "complete": False}
    metadata = {"scenario": "color-camera", "data": str(corpus), "images": len(image_files(corpus)), "recipe": recipe,
                "steps": training["step"], "cpu_seconds": training["cpu_seconds"],
                "adopted_from": "benchmarks/camera_design.py rgb-scratch"}
    target = stage_file(CAMPAIGN, stage.name)
    save_checkpoint(target, load_checkpoint(STATES / "rgb-scratch.pt").model, metadata, extra={"training": training})
    return target


def bundle() -> Path:
    """Copy the campaign's latest weights (no training state) to denoiser/weights/color-camera.pt, saying
    in their metadata how far the campaign has come."""
    from denoiser.models.bundled import pretrained_path
    from denoiser.models.checkpoint import load_checkpoint, save_checkpoint

    stage = get_recipe("color-camera").model
    checkpoint = load_checkpoint(CAMPAIGN / f"{stage.name}.pt")
    metadata = {key: value for key, value in checkpoint.metadata.items() if key != "ranks"}
    metadata["campaign"] = {"steps": metadata["steps"], "of": stage.steps,
                            "cpu_hours": round(recipe_cpu_seconds(stage.name) / 3600, 3), "state": "campaigns/color-camera"}
    save_checkpoint(pretrained_path("color-camera"), checkpoint.model, metadata)
    return pretrained_path("color-camera")


def render(results: dict) -> str:
    return psnr_table(["stage", "steps", "CPU-hours"], [(["noisy input", "", ""], results["noisy"])] + [
        ([point["stage"], str(point["steps"]), f"{point['cpu_hours']:.2f}"], point["psnr"]) for point in results["curve"]])


def _finished(path: Path) -> bool:
    from denoiser.models.checkpoint import read_payload

    return path.is_file() and bool(read_payload(path)["metadata"].get("recipe", {}).get("complete"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("validation", type=Path)
    parser.add_argument("--minutes", type=float, default=85.0, help="the chunk's length (at most 90)")
    parser.add_argument("--threads", type=int, help="torch threads (1 leaves the other core to other work; "
                        "small batches gain little from a second thread)")
    parser.add_argument("--score-only", action="store_true", help="only add the validation point of the files as they are")
    parser.add_argument("--adopt-study", action="store_true",
                        help="first start the campaign from the design study's rgb-scratch run (once)")
    parser.add_argument("--bundle", action="store_true",
                        help="then copy the campaign's weights to denoiser/weights/color-camera.pt")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 90:
        print("error: --minutes must lie between 0 and 90.", file=sys.stderr)
        return 2
    if args.adopt_study:
        print(f"started the campaign from the design study: {adopt_study_run(args.corpus)}")
    if not args.score_only:
        run_chunk(args.corpus, args.minutes, args.threads)
    point = record_point(args.validation)
    if args.bundle:
        print(f"bundled {bundle()}")
    print(f"{point['stage']}: {point['steps']} steps, {point['cpu_hours']:.2f} CPU-hours, "
          f"validation {point['psnr']['mean']:.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
