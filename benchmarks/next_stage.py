"""What a recipe's next stage should change, at equal CPU cost, decided on the validation photos.

    python benchmarks/next_stage.py CORPUS_DIR VALIDATION_DIR --study camera-fourth-stage --candidate balanced-mix --cpu-minutes 10

Every candidate of a study starts from one finished stage of a campaign (its file in the campaign's
folder, `campaign.campaign_folder`) at one learning rate, and differs from the others in one thing. Each call
trains one candidate for that many more CPU-minutes (state in `runs/<study>/`), scores it with the
campaign's validation scorer (`campaign.SCORERS`) and appends the point to the study's JSON and
Markdown table in docs/benchmarks/. Each study's rule was fixed, in this docstring, before its runs.

`camera-second-stage`, color-camera after camera-1 (docs/benchmarks/camera-second-stage.*):
- `plain`: camera-1's patches and loss, carried on;
- `balanced`: each patch's error weighted by its measured noise level (`balance_noise_levels`), so the
  faint noise of a bright photo counts as much as a dark photo's;
- `patch-128`: patches of 128 pixels (2 a batch, the same pixels a step), for the smooth gradients
  of wallpapers, where CBM3D at a large sigma does best;
- `demosaic-mix`: half the patches developed by Hamilton-Adams demosaicing instead of bilinear, so the
  model meets noise shaped by an edge-directed method too (never Malvar: that stays the unseen camera's).
The choice was the best mean over the validation cameras; within 0.05 dB, the one better through
the unseen check (`camera_design.UNSEEN_CHECK`, reported and never trained on).

`camera-third-stage`, color-camera after camera-2:
- `patch-128`: camera-2 carried on;
- `mix-128`: 128-pixel patches, half of them developed by Hamilton-Adams.
The choice is the best sum of the validation mean and the unseen check: after camera-2 the unseen
camera is the target farthest from holding, so it weighs as much as the trained ones.

`camera-fourth-stage`, color-camera after camera-3:
- `mix-128`: camera-3 carried on;
- `balanced-mix`: the same patches with each patch's error weighted by its noise level, for the faint
  noise of gain 0.3, the trained camera where the lead over CBM3D is a tie.
The rule is camera-3's: the best sum of the validation mean and the unseen check.

`gray-unet-second-stage`, gray-gaussian after gray-unet-1:
- `carried`: gray-unet-1's patches (64 pixels, 8 a batch) and sigmas 0 to 55, carried on;
- `patch-128`: patches of 128 pixels, 2 a batch (the same pixels a step);
- `specialist-20`: a low-noise specialist for sigma below 20, a copy of the network trained only on
  sigma 0 to 20 (the rest stays gray-unet-1's), as the bundled gray model has.
The choice is the largest smallest margin over the issue's targets against BM3D on validation
(sigma 10: +0.4 dB, sigma 25 and 50: +0.6 dB; BM3D's validation PSNR from model-design.json):
the target farthest from holding decides.

`color-from-gray-unet`, color-gaussian after gray-unet-1:
- `planes`: gray-unet-1's network shared by the three opponent planes (as the bundled color model
  serves them), trained in color on gray-unet-1's patches (64 pixels, 8 a batch), sigma 0 to 55.
It measures what a color model started from the gray unet reaches in CPU-minutes, against the color
networks trained from scratch in the design study (`model_design.py`): the choice of the color
design is made between them, at equal inference cost (docs/MODEL_DESIGN.md).

`gray-unet-third-stage`, gray-gaussian after gray-unet-2:
- `specialist-carried`: gray-unet-2's low-noise specialist trained on (sigma 0 to 20, its patches), the
  general network untouched.
Sigma 10 is the one gray target short (+0.39 of +0.4 dB on the benchmark set). The rule: a third
stage is run if this candidate's sigma 10 on validation is 0.03 dB or more above gray-unet-2's
36.96 within 20 CPU-minutes; otherwise the low-noise curve is taken as flat.

`color-unet-second-stage`, color-gaussian after color-unet-1 (sigmas below are the planes' own: the
opponent planes scale the input's sigma by 0.58, 0.71 and 0.61, `networks.OPPONENT_NOISE_SCALE`):
- `carried`: color-unet-1's patches and sigmas 0 to 55, carried on;
- `specialist-20`: a low-noise specialist for planes below sigma 20, started from gray-unet-2's
  specialist (trained below gray sigma 20), trained on input sigmas 0 to 34.7 (20 / 0.577: every
  input whose mean plane it serves); it serves every plane of inputs up to sigma 28;
- `specialist-12`: the same below plane sigma 12 (input sigmas 0 to 20.8), the bundled color LSTM's
  threshold; it serves sigma 10 and leaves sigma 25 to the general network.
The rule is gray-unet-second-stage's: the largest smallest margin over the issue's targets against
CBM3D on validation (sigma 10: +0.4 dB, 25 and 50: +0.6 dB; CBM3D's validation PSNR from
model-design.json), 10 CPU-minutes each.
Added after both specialists above fell below their start in 10 CPU-minutes (the gray specialist
undoes the color training):
- `copy-20`: the specialist below plane sigma 20 as a copy of color-unet-1's network (as gray-unet-2's
  was of gray-unet-1's), on input sigmas 0 to 34.7. The rule stays.

`color-plane-guides`, color-gaussian after color-unet-1 (whose second stage, `copy-20` run on a full
cosine, ended below it at sigma 10; the network, which sees one plane at a time, is what limits it):
- `carried`: color-unet-1's patches and sigmas 0 to 55, carried on, as `color-unet-second-stage`'s;
- `guided`: the same, with each plane's pass also given the three noisy planes and which one it
  denoises (`networks.guide_planes`, new input weights started at zero), so the chroma planes'
  faint edges can be read from the luminance's, as CBM3D groups its chroma blocks.
Both run 15 CPU-minutes on one thread each, side by side. The rule: `guided` is chosen if its
smallest margin over the targets against CBM3D (gray-unet-second-stage's rule) is 0.05 dB or more
above `carried`'s; then it runs on a full cosine as stage color-unet-2, which stays in the recipe
only if its smallest margin on validation beats color-unet-1's.

`color-image-float32`, color-gaussian after color-unet-1. Every color stage so far trained under
bfloat16 autocast with the image itself rounded to bfloat16: the opponent transforms and the first
convolution, now kept in float32 (`networks.ImageConv2d`), which lifted one epoch of Quick on a color
crop by 0.5 dB (tests/test_app.py). Both `carried` runs above, with the image rounded, fell below
color-unet-1 at sigma 10 (38.27 after 10 CPU-minutes, 38.30 after 15):
- `carried`: color-unet-1's patches and sigmas 0 to 55, carried on, the image in float32.
15 CPU-minutes on one thread, as color-plane-guides'. The rule: a stage color-unet-2 (this candidate
on a full cosine) is run if its sigma 10 is 0.03 dB or more above color-unet-1's and neither sigma 25
nor 50 falls more than 0.03 dB; otherwise the float32 image changes inference and fine-tuning only.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from campaign import SCORERS, campaign_folder, column  # noqa: E402
from study import train_for_cpu_minutes  # noqa: E402

from denoiser.errors import DenoiserError  # noqa: E402
from denoiser.images import load_image  # noqa: E402
from denoiser.scenarios import get_scenario  # noqa: E402
from denoiser.training.recipes import STAGES, Stage  # noqa: E402

LEARNING_RATE, HORIZON, SAVE_EVERY = 2e-4, 100_000, 500
"""One learning rate for every candidate, held near-constant by a long cosine; the state saved every
SAVE_EVERY steps, so a run stopped early loses little."""


@dataclass(frozen=True)
class Candidate:
    """How a candidate's training differs from its study's finished stage."""
    patch: int = 64
    batch: int = 8
    balance: bool = False
    demosaics: tuple[str, ...] = ("bilinear",)
    noise: tuple[float, float] | None = None
    """The noise levels trained on; None keeps the finished stage's."""
    specialist_below: float | None = None
    """Add a low-noise specialist below this sigma and train only it (`training.start`)."""
    specialist_from: str | None = None
    """The stage whose specialist starts the candidate's, instead of a copy of the start's network."""
    plane_guides: bool = False
    """Give the color start's plane network the three planes as guides (`training.start`)."""

    def stage(self, name: str, after: Stage, seed: int) -> Stage:
        """The candidate as a recipe stage that starts from `after`, so the recipes' own code builds
        its model and noise."""
        return Stage(name, after.name, self.noise or after.noise, HORIZON, self.patch, self.batch, LEARNING_RATE,
                     "cpu", seed=seed, balance_noise_levels=self.balance, demosaics=self.demosaics,
                     specialist_below=self.specialist_below, specialist_from=self.specialist_from,
                     plane_guides=self.plane_guides)


MIX = ("bilinear", "hamilton-adams")


@dataclass(frozen=True)
class Study:
    """One stage's choice: the finished stage every candidate starts from, and the candidates."""
    after: str
    candidates: dict[str, Candidate] = field(default_factory=dict)
    first_seed: int = 0
    scenario: str | None = None
    """The scenario the candidates train and are scored in; None keeps the finished stage's recipe's
    (a color stage may start from a gray one)."""

    @property
    def recipe(self) -> str:
        """The recipe of the finished stage: its campaign's folder holds the start."""
        return STAGES[self.after][0].name

    @property
    def trains_in(self) -> str:
        """The scenario the candidates train and are scored in."""
        return self.scenario or STAGES[self.after][0].scenario


STUDIES = {
    "camera-second-stage": Study("camera-1", {
        "plain": Candidate(), "balanced": Candidate(balance=True), "patch-128": Candidate(patch=128, batch=2),
        "demosaic-mix": Candidate(demosaics=MIX)}, 101),
    "camera-third-stage": Study("camera-2", {
        "patch-128": Candidate(patch=128, batch=2), "mix-128": Candidate(patch=128, batch=2, demosaics=MIX)}, 201),
    "camera-fourth-stage": Study("camera-3", {
        "mix-128": Candidate(patch=128, batch=2, demosaics=MIX),
        "balanced-mix": Candidate(patch=128, batch=2, balance=True, demosaics=MIX)}, 301),
    "gray-unet-second-stage": Study("gray-unet-1", {
        "carried": Candidate(balance=True), "patch-128": Candidate(patch=128, batch=2, balance=True),
        "specialist-20": Candidate(balance=True, noise=(0, 20), specialist_below=20)}, 401),
    "color-from-gray-unet": Study("gray-unet-1", {"planes": Candidate(balance=True)}, 501, "color-gaussian"),
    "gray-unet-third-stage": Study("gray-unet-2", {"specialist-carried": Candidate(balance=True, noise=(0, 20))}, 601),
    "color-unet-second-stage": Study("color-unet-1", {
        "carried": Candidate(balance=True),
        "specialist-20": Candidate(balance=True, noise=(0, 34.7), specialist_below=20, specialist_from="gray-unet-2"),
        "specialist-12": Candidate(balance=True, noise=(0, 20.8), specialist_below=12, specialist_from="gray-unet-2"),
        "copy-20": Candidate(balance=True, noise=(0, 34.7), specialist_below=20)},
        701),
    "color-plane-guides": Study("color-unet-1", {
        "carried": Candidate(balance=True), "guided": Candidate(balance=True, plane_guides=True)}, 801),
    "color-image-float32": Study("color-unet-1", {"carried": Candidate(balance=True)}, 901),
}
"""Keyed by the study's name, that of its JSON and table in docs/benchmarks/."""


def results_file(name: str) -> Path:
    return ROOT / "docs" / "benchmarks" / f"{name}.json"


def render(results: dict) -> str:
    """The study's table: the noisy input, the start, then every candidate's points."""
    keys = list(results["start"])
    rows = [(["noisy input", "", ""], results.get("noisy")), ([f"{results['after']} (the start)", "0", "0"], results["start"])]
    rows += [([candidate, f"{point['cpu_minutes']:.1f}", str(point["steps"])], point["psnr"])
             for candidate, record in results["candidates"].items() for point in record["curve"]]
    lines = ["| candidate | CPU-minutes | steps | " + " | ".join(map(column, keys)) + " |",
             "|---|---:|---:|" + "---:|" * len(keys)]
    lines += ["| " + " | ".join(cells + [f"{scores[key]:.2f}" if scores else "" for key in keys]) + " |"
              for cells, scores in rows]
    note = "*unseen*: the unseen check (`camera_design.UNSEEN_CHECK`), never trained on.\n\n" if "unseen" in keys else ""
    return note + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("validation", type=Path)
    parser.add_argument("--study", choices=list(STUDIES), required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--cpu-minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        if not args.cpu_minutes > 0:
            raise DenoiserError("--cpu-minutes must be above 0.")
        study, record = STUDIES[args.study], results_file(args.study)
        folder, scenario_name = campaign_folder(study.recipe), study.trains_in
        start = folder / f"{study.after}.pt"
        if args.candidate not in study.candidates:
            raise DenoiserError(f"The candidates of {args.study} are {', '.join(study.candidates)}.")
        if not start.is_file():
            raise DenoiserError(f"No {start}: run the {study.recipe} campaign first.")
        from denoiser.models.checkpoint import read_payload
        from denoiser.training.patches import image_files
        from denoiser.training.recipe_runner import stage_config, stage_scenario, stage_start
        from denoiser.training.start import Start, starting_model

        scorer = SCORERS[scenario_name]
        crops = scorer.crops(args.validation)
        candidate = study.candidates[args.candidate]
        stage = candidate.stage(args.candidate, STAGES[study.after][1],
                                study.first_seed + list(study.candidates).index(args.candidate))
        scenario = stage_scenario(get_scenario(scenario_name), stage)
        config = stage_config(stage, args.threads, SAVE_EVERY)
        images = [load_image(path, scenario.channels) for path in image_files(args.corpus)]
        start_steps = read_payload(start)["metadata"]["steps"]
        model, steps, spent = train_for_cpu_minutes(
            lambda: starting_model(scenario.model, stage_start(stage, folder)), images, scenario, config,
            ROOT / "runs" / args.study / f"{args.candidate}.pt",
            {"scenario": scenario_name, "candidate": args.candidate, "start": f"{study.after} at {start_steps} steps",
             "specialist_from": candidate.specialist_from},
            args.cpu_minutes, args.candidate)
        point = {"cpu_minutes": round(spent, 2), "steps": steps, "psnr": scorer.psnr(model, crops)}
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    fresh = None if record.is_file() else {
        "after": study.after, "start": scorer.psnr(starting_model(scenario.model, Start(init=start)), crops),
        "start_steps": start_steps,
        "learning_rate": LEARNING_RATE, "noisy": scorer.psnr(None, crops), "candidates": {}}
    # read only now, after the slow scoring: a candidate trained beside this one may have written it meanwhile
    results = json.loads(record.read_text()) if record.is_file() else fresh
    settings = {"patch": candidate.patch, "batch": candidate.batch, "balance": candidate.balance,
                "demosaics": candidate.demosaics, "noise": stage.noise, "specialist_below": candidate.specialist_below,
                "specialist_from": candidate.specialist_from, "plane_guides": candidate.plane_guides}
    results["candidates"].setdefault(args.candidate, {**settings, "curve": []})["curve"].append(point)
    record.write_text(json.dumps(results, indent=2) + "\n")
    record.with_suffix(".md").write_text(render(results))
    print(f"{args.candidate}: {spent:.1f} CPU-minutes, {steps} steps, validation "
          + ", ".join(f"{column(key)} {value:.2f}" for key, value in point["psnr"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
