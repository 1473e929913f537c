"""What the next camera stage should change, at equal CPU cost, decided on the validation photos.

    python benchmarks/camera_next_stage.py CORPUS_DIR VALIDATION_DIR --after camera-2 --candidate mix-128 --cpu-minutes 12

Every candidate of a study starts from one finished stage (its weights only, from
`campaigns/color-camera/`) at one learning rate, and differs from the others in one thing.

After camera-1 (the second stage; docs/benchmarks/camera-second-stage.*):
- `plain`: camera-1's patches and loss, carried on;
- `balanced`: each patch's error weighted by its measured noise level (`balance_noise_levels`), so the
  faint noise of a bright photo counts as much as a dark photo's;
- `patch-128`: patches of 128 pixels (2 a batch, the same pixels a step), for the smooth gradients
  of wallpapers, where CBM3D at a large sigma does best;
- `demosaic-mix`: half the patches developed by Hamilton-Adams demosaicing instead of bilinear, so the
  model meets noise shaped by an edge-directed method too (never Malvar: that stays the unseen camera's).
The choice was the best mean over the validation cameras; within 0.05 dB, the one better through
`UNSEEN_CHECK` (validation photos through a Malvar camera, reported and never trained on).

After camera-2 (the third stage; docs/benchmarks/camera-third-stage.*):
- `patch-128`: camera-2 carried on;
- `mix-128`: 128-pixel patches, half of them developed by Hamilton-Adams.
The choice is the best sum of the validation mean and the unseen check, fixed before the runs: after
camera-2 the unseen camera is the target farthest from holding, so it weighs as much as the trained ones.

After camera-3 (the fourth stage; docs/benchmarks/camera-fourth-stage.*):
- `mix-128`: camera-3 carried on;
- `balanced-mix`: the same patches with each patch's error weighted by its noise level, for the faint
  noise of gain 0.3, the trained camera where the lead over CBM3D is a tie.
The rule is camera-3's, fixed before the runs: the best sum of the validation mean and the unseen check.

Each call trains one candidate for that many more CPU-minutes (state in `runs/<study>/`), scores it
and appends the point to the study's JSON and Markdown table in docs/benchmarks/.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from camera_design import psnr_table, validation_crops, validation_psnr  # noqa: E402
from study import train_for_cpu_minutes  # noqa: E402

from denoiser.errors import DenoiserError  # noqa: E402
from denoiser.images import load_image  # noqa: E402
from denoiser.noise import CameraNoise  # noqa: E402
from denoiser.scenarios import get_scenario  # noqa: E402

CAMPAIGN = ROOT / "campaigns" / "color-camera"
"""The camera recipe's finished stage files, where every candidate starts."""
LEARNING_RATE, HORIZON, SAVE_EVERY = 2e-4, 100_000, 500
"""One learning rate for every candidate, held near-constant by a long cosine; the state saved every
SAVE_EVERY steps, so a run stopped early loses little."""


UNSEEN_CHECK = CameraNoise(0.5, 40, demosaicing="malvar", tone_curve="gamma")
"""The benchmark's unseen camera at a middle gain, on the validation photos, never trained on: the tie-breaker
after camera-1, half the rule after camera-2, and a column of the campaign's curve (`campaign.py`)."""


@dataclass(frozen=True)
class Candidate:
    patch: int = 64
    batch: int = 8
    balance: bool = False
    demosaics: tuple[str, ...] = ("bilinear",)


MIX = ("bilinear", "hamilton-adams")


@dataclass(frozen=True)
class Study:
    """One stage's choice: the finished stage every candidate starts from, and the candidates."""
    name: str
    candidates: dict[str, Candidate]
    first_seed: int

    @property
    def json(self) -> Path:
        return ROOT / "docs" / "benchmarks" / f"{self.name}.json"


STUDIES = {
    "camera-1": Study("camera-second-stage", {
        "plain": Candidate(), "balanced": Candidate(balance=True), "patch-128": Candidate(patch=128, batch=2),
        "demosaic-mix": Candidate(demosaics=MIX)}, 101),
    "camera-2": Study("camera-third-stage", {
        "patch-128": Candidate(patch=128, batch=2), "mix-128": Candidate(patch=128, batch=2, demosaics=MIX)}, 201),
    "camera-3": Study("camera-fourth-stage", {
        "mix-128": Candidate(patch=128, batch=2, demosaics=MIX),
        "balanced-mix": Candidate(patch=128, batch=2, balance=True, demosaics=MIX)}, 301),
}


def scores(model, crops) -> dict:
    """Validation PSNR through the validation cameras, with the unseen check beside them."""
    return {**validation_psnr(model, crops), "unseen": validation_psnr(model, crops, (UNSEEN_CHECK,))["mean"]}


def render(results: dict) -> str:
    head = f"*unseen*: the unseen check, {UNSEEN_CHECK.name}, never trained on.\n\n"
    return head + psnr_table(["candidate", "CPU-minutes", "steps"], [
        (["noisy input", "", ""], results.get("noisy")), (
        [f"{results.get('after', 'camera-1')} (the start)", "0", "0"], results["start"])] + [
        ([candidate, f"{point['cpu_minutes']:.1f}", str(point["steps"])], point["psnr"])
        for candidate, record in results["candidates"].items() for point in record["curve"]], extra=("unseen",))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("validation", type=Path)
    parser.add_argument("--after", choices=list(STUDIES), default="camera-1", help="the finished stage to start from")
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--cpu-minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        if not args.cpu_minutes > 0:
            raise DenoiserError("--cpu-minutes must be above 0.")
        study, start = STUDIES[args.after], CAMPAIGN / f"{args.after}.pt"
        if args.candidate not in study.candidates:
            raise DenoiserError(f"After {args.after} the candidates are {', '.join(study.candidates)}.")
        if not start.is_file():
            raise DenoiserError(f"No {start.relative_to(ROOT)}: run the camera campaign first.")
        from denoiser.models.checkpoint import load_checkpoint, read_payload
        from denoiser.training.loops import CorpusConfig
        from denoiser.training.patches import image_files

        crops = validation_crops(args.validation)
        candidate = study.candidates[args.candidate]
        config = CorpusConfig(steps=HORIZON, batch_size=candidate.batch, patch_size=candidate.patch,
                              learning_rate=LEARNING_RATE, seed=study.first_seed + list(study.candidates).index(args.candidate),
                              threads=args.threads, checkpoint_every=SAVE_EVERY, balance_noise_levels=candidate.balance)
        images = [load_image(path, 3) for path in image_files(args.corpus)]
        start_steps = read_payload(start)["metadata"]["steps"]
        scenario = get_scenario("color-camera")
        scenario = replace(scenario, training_camera=replace(scenario.training_camera, demosaics=candidate.demosaics))
        model, steps, spent = train_for_cpu_minutes(
            lambda: load_checkpoint(start).model, images, scenario, config,
            ROOT / "runs" / study.name / f"{args.candidate}.pt",
            {"scenario": "color-camera", "candidate": args.candidate, "start": f"{args.after} at {start_steps} steps"},
            args.cpu_minutes, args.candidate)
        point = {"cpu_minutes": round(spent, 2), "steps": steps, "psnr": scores(model, crops)}
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    fresh = None if study.json.is_file() else {
        "after": args.after, "start": scores(load_checkpoint(start).model, crops), "start_steps": start_steps,
        "learning_rate": LEARNING_RATE, "noisy": scores(None, crops), "candidates": {}}
    # read only now, after the slow scoring: a candidate trained beside this one may have written it meanwhile
    results = json.loads(study.json.read_text()) if study.json.is_file() else fresh
    results["candidates"].setdefault(args.candidate, {**candidate.__dict__, "curve": []})["curve"].append(point)
    study.json.write_text(json.dumps(results, indent=2) + "\n")
    study.json.with_suffix(".md").write_text(render(results))
    print(f"{args.candidate}: {spent:.1f} CPU-minutes, {steps} steps, validation {point['psnr']['mean']:.2f} dB, "
          f"unseen check {point['psnr']['unseen']:.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
