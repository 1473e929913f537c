"""The models' training recipes as data, each a list of `Stage`s: one `Recipe` per scenario for its
bundled weights, plus the recipes of the LSTMs bundled before the unets (`gray-lstm`, `color-lstm`),
which are not.

`python -m denoiser recipe NAME --corpus DIR --out DIR` runs them (`denoiser.training.recipe_runner`);
`--list` prints the table below. Each stage is one `train` run: where it starts, on which noise
levels, for how many steps, with which patches, batch, learning rate (Adam, cosine decay to 0 over
the stage), seed, loss and photos. Stage names are unique across the recipes, so one stage can
start from another scenario's (the color model starts from a gray stage) and the recipes can
share an output folder. No torch here: the command line reads this before the heavy imports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from denoiser.errors import choose

RANDOM = "random"
"""A stage's start when it begins from freshly initialised weights."""
DATA = ("corpus", "scikit-image")
"""The corpus's training folder (`corpus --out`), or the 13 scikit-image training photos alone."""
DEVICES = ("cpu", "gpu")


@dataclass(frozen=True)
class Stage:
    """One training run of a recipe: `train --init START ...` with these settings."""

    name: str
    start: str
    """`RANDOM`, or the stage (of any recipe) whose finished weights this one starts from."""
    noise: tuple[float, float]
    """The noise levels trained on, drawn uniformly per patch: Gaussian sigma (0..255 scale) or
    salt-and-pepper density. A stage that trains a low-noise specialist trains it below its reach."""
    steps: int
    patch_size: int
    batch_size: int
    learning_rate: float
    runs_on: str
    """Where this stage ran for today's bundled weights, and so where the plan puts it ("cpu" or
    "gpu"); the recipe itself runs every stage on whatever the machine has."""
    depth: int | None = None
    """Sweep blocks: from `RANDOM`, how many to build; from a stage, grow to this many (the new
    blocks start as the identity). None keeps the start's (or the scenario's) depth."""
    specialist_below: float | None = None
    """Add a low-noise specialist for noise levels below this sigma and train only it."""
    specialist_from: str | None = None
    """The stage whose specialist (or network) starts this one's specialist, instead of a copy of the start."""
    seed: int = 0
    schedule: str = "cosine"
    balance_noise_levels: bool = False
    """Weight each patch's error by 1 / (sigma^2 + 10^2), so low noise levels count as much as high ones."""
    data: str = "corpus"
    float32: bool = False
    """No mixed precision, as the first CPU stages ran before bfloat16 became the default there."""
    demosaics: tuple[str, ...] = ("bilinear",)
    """Camera stages: the demosaicing methods a patch's camera draws from (`scenarios.CameraDraw`)."""
    architecture: str | None = None
    """From `RANDOM`: build this architecture (`models.config.ARCHITECTURES`) instead of the scenario's."""
    hidden: int | None = None
    """From `RANDOM`: the sweeps' hidden size instead of the scenario's."""
    plane_guides: bool = False
    """From a color stage: its plane network also takes the three noisy planes as guides
    (`models.networks.guide_planes`), their weights started at zero."""

    def __post_init__(self):
        if self.data not in DATA or self.runs_on not in DEVICES or self.schedule != "cosine":
            raise ValueError(f"stage {self.name}: data must be one of {DATA}, runs_on one of {DEVICES}, "
                             "schedule 'cosine'.")
        if self.specialist_from and self.specialist_below is None:
            raise ValueError(f"stage {self.name}: specialist_from needs specialist_below.")
        if self.start == RANDOM and (self.specialist_below or self.specialist_from):
            raise ValueError(f"stage {self.name}: a specialist is added to trained weights, not random ones.")
        if self.start != RANDOM and (self.architecture or self.hidden):
            raise ValueError(f"stage {self.name}: only a random start chooses the architecture and hidden size.")
        if self.start == RANDOM and self.plane_guides:
            raise ValueError(f"stage {self.name}: plane guides are added to trained weights, not random ones.")

    def settings(self) -> dict:
        """What decides the stage's weights (not where it is planned to run): a finished stage
        file must have been trained with exactly these."""
        record = asdict(self)
        record.pop("runs_on")
        record["noise"] = list(self.noise)
        if self.demosaics == ("bilinear",):
            record.pop("demosaics")  # added later: the stage files written before it have no such setting
        else:
            record["demosaics"] = list(self.demosaics)
        for later in ("architecture", "hidden", "plane_guides"):  # the same
            if not record[later]:
                record.pop(later)
        return record

    def starts(self) -> tuple[str, ...]:
        """The stages whose weights this one needs."""
        return tuple(s for s in (self.start, self.specialist_from) if s and s != RANDOM)

    def pixels(self, planes: int) -> int:
        """Pixels (of single-channel planes) this stage trains on: steps x batch x patch area."""
        return self.steps * self.batch_size * self.patch_size ** 2 * planes


@dataclass(frozen=True)
class Recipe:
    """A scenario's model: its stages in order; the last one's file is the model."""

    scenario: str
    stages: tuple[Stage, ...]
    planes: int = 1
    """Single-channel planes one patch costs: the color model runs its network on three."""
    name: str = ""
    """What `recipe NAME` calls it: the scenario's name for the recipe of its bundled weights (the default)."""

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, "name", self.scenario)

    @property
    def model(self) -> Stage:
        return self.stages[-1]

    @property
    def bundled(self) -> bool:
        """Whether this is the recipe of the scenario's bundled weights (it goes by the scenario's name)."""
        return self.name == self.scenario


GRAY_LSTM = Recipe("gray-gaussian", (
    Stage("gray-1", RANDOM, (0, 55), 2000, 48, 8, 1e-3, "cpu", depth=1, data="scikit-image", float32=True),
    Stage("gray-2", "gray-1", (0, 55), 7000, 64, 16, 5e-4, "cpu", data="scikit-image", float32=True),
    Stage("gray-3", "gray-2", (0, 55), 7000, 64, 16, 3e-4, "cpu", data="scikit-image", float32=True),
    Stage("gray-4", "gray-3", (0, 55), 11000, 64, 16, 3e-4, "cpu", depth=2, data="scikit-image"),
    Stage("gray-5", "gray-4", (0, 55), 6000, 64, 16, 2e-4, "cpu", seed=2, balance_noise_levels=True),
    Stage("gray-6", "gray-5", (0, 55), 6000, 64, 16, 1.5e-4, "cpu", seed=3, balance_noise_levels=True),
    Stage("gray-7", "gray-6", (0, 55), 1623, 96, 128, 3e-4, "gpu", seed=7, balance_noise_levels=True),
    Stage("gray-8", "gray-7", (0, 55), 600, 96, 128, 1e-4, "gpu", seed=11, balance_noise_levels=True),
    Stage("gray-9", "gray-8", (0, 20), 9000, 64, 16, 1e-4, "cpu", specialist_below=20, seed=21,
          balance_noise_levels=True),
    Stage("gray-10", "gray-8", (0, 55), 1300, 96, 128, 1.5e-4, "gpu", seed=32, balance_noise_levels=True),
    Stage("gray-11", "gray-10", (0, 20), 1400, 96, 128, 2e-4, "gpu", specialist_below=20, specialist_from="gray-9",
          seed=31, balance_noise_levels=True),
    Stage("gray-12", "gray-11", (0, 20), 1200, 96, 128, 1e-4, "gpu", seed=41, balance_noise_levels=True),
), name="gray-lstm")
"""The gray LSTM bundled before the unet: hand-joined CPU and GPU stages. Kept with the color LSTM's
recipe (`color-lstm`), which starts from its stage gray-6 and its specialist from gray-9."""

GRAY_GAUSSIAN = Recipe("gray-gaussian", (
    Stage("gray-unet-1", RANDOM, (0, 55), 100000, 64, 8, 1e-3, "cpu", depth=1, seed=2, balance_noise_levels=True,
          architecture="unet", hidden=48),
    Stage("gray-unet-2", "gray-unet-1", (0, 20), 40000, 64, 8, 2e-4, "cpu", specialist_below=20, seed=3,
          balance_noise_levels=True),
))
"""The design study's winner (docs/MODEL_DESIGN.md), trained on this CPU only, in chunks: a U-shaped
network with its sweeps at 1/2 and 1/4 resolution. Its first stage has the study's settings, and
started from the study's unet run (`benchmarks/campaign.py --adopt`). Its second stage adds a
low-noise specialist below sigma 20, the best of three second stages on the validation photos
(`benchmarks/next_stage.py`, docs/MODEL_DESIGN.md)."""

GRAY_SALT_PEPPER = Recipe("gray-salt-pepper", (
    Stage("salt-pepper-1", RANDOM, (0.02, 0.8), 4000, 64, 16, 1e-3, "cpu", data="scikit-image", float32=True),
))

COLOR_REACH = 20.8
"""The input sigma whose mean plane (sigma x 0.577, the least-scaled opponent plane) reaches the
color specialist's threshold of 12: the color specialist trains below it."""

COLOR_LSTM = Recipe("color-gaussian", (
    Stage("color-1", "gray-6", (0, 55), 1500, 64, 8, 2e-4, "cpu", balance_noise_levels=True),
    Stage("color-2", "color-1", (0, 55), 1449, 96, 64, 2e-4, "gpu", seed=9, balance_noise_levels=True),
    Stage("color-3", "color-2", (0, 55), 500, 96, 64, 1e-4, "gpu", seed=12, balance_noise_levels=True),
    Stage("color-4", "color-3", (0, COLOR_REACH), 1100, 96, 64, 2e-4, "gpu", specialist_below=12,
          specialist_from="gray-9", seed=33, balance_noise_levels=True),
    Stage("color-5", "color-4", (0, COLOR_REACH), 950, 96, 64, 1e-4, "gpu", seed=43, balance_noise_levels=True),
), planes=3, name="color-lstm")
"""The color LSTM bundled before the unet: the gray LSTM's network on opponent planes, hand-joined CPU
and GPU stages."""

COLOR_CAMERA = Recipe("color-camera", (
    Stage("camera-1", RANDOM, (0, 1), 40000, 64, 8, 1e-3, "cpu", depth=2),
    Stage("camera-2", "camera-1", (0, 1), 15000, 128, 2, 2e-4, "cpu", seed=1),
    Stage("camera-3", "camera-2", (0, 1), 20000, 128, 2, 2e-4, "cpu", seed=2, demosaics=("bilinear", "hamilton-adams")),
    Stage("camera-4", "camera-3", (0, 1), 13000, 128, 2, 2e-4, "cpu", seed=3, demosaics=("bilinear", "hamilton-adams")),
), planes=1)
"""One network over R, G and B together, blind, on the corpus through the simulated camera
(`scenarios.CameraDraw`): its noise is the camera gain, 0 to 1. Trained in chunks (`--minutes`).
camera-2 carries on with patches of 128 pixels, the best of four second stages on the validation
photos at equal CPU cost; camera-3 develops half its patches by Hamilton-Adams demosaicing, the
better of two third stages there, and camera-4 carries it on, the better of two fourth stages
(`benchmarks/next_stage.py`, docs/CAMERA.md). 13,000 steps fill the issue's 8 CPU-hours."""

COLOR_GAUSSIAN = Recipe("color-gaussian", (
    Stage("color-unet-1", "gray-unet-1", (0, 55), 20000, 64, 8, 2e-4, "cpu", seed=5, balance_noise_levels=True),
), planes=3)
"""gray-unet-1's network serving the three opponent planes (as the color LSTM served them), trained on
color patches: the color study's `planes` (`benchmarks/next_stage.py`), which led every color network
trained from scratch on the validation photos (docs/MODEL_DESIGN.md). Trained on this CPU only, in
chunks; its stage files live in the gray campaign's folder (`folder_name`)."""

RECIPES = {recipe.name: recipe for recipe in (GRAY_GAUSSIAN, GRAY_SALT_PEPPER, COLOR_GAUSSIAN, COLOR_CAMERA, GRAY_LSTM,
                                              COLOR_LSTM)}
STAGES = {stage.name: (recipe, stage) for recipe in RECIPES.values() for stage in recipe.stages}

CPU_MEGAPIXELS_PER_SECOND = 0.15
"""Training throughput of the two-block network on this 2-core CPU (bfloat16, 2 threads;
docs/TRAINING.md); the one-block stages ran about twice as fast, in float32 about as fast."""
GPU_MEGAPIXELS_PER_SECOND = 5.0
"""The same on one H100 (float16), measured while two or three trainings shared it (docs/TRAINING.md)."""


def get_recipe(scenario: str) -> Recipe:
    return choose(RECIPES, scenario, "recipe")


def plan(recipe: Recipe) -> list[tuple[Recipe, Stage]]:
    """Every stage the recipe's model needs, each after the stages it starts from: the recipe's
    own, and those of other recipes it starts from (the gray stages behind the color model)."""
    return _in_order([stage.name for stage in recipe.stages])


def folder_name(recipe: Recipe) -> str:
    """The name of the recipe whose stage `recipe`'s training starts from: its own, or another's (the
    color unet starts from the gray one's stages). A campaign's stage files live in a folder of
    that name, so a recipe that starts from another's finds the stages it needs there."""
    return plan(recipe)[0][0].name


def lineage(name: str) -> list[str]:
    """The stages whose training went into `name`'s weights, in the order its recipe runs them,
    ending with it."""
    behind = {stage.name for _, stage in _in_order([name])}
    return [stage.name for _, stage in plan(STAGES[name][0]) if stage.name in behind]


def _in_order(names: list[str]) -> list[tuple[Recipe, Stage]]:
    ordered: list[tuple[Recipe, Stage]] = []

    def visit(name: str) -> None:
        owner, stage = STAGES[name]
        if all(s is not stage for _, s in ordered):
            for before in stage.starts():
                visit(before)
            ordered.append((owner, stage))

    for name in names:
        visit(name)
    return ordered


def describe_start(stage: Stage) -> str:
    """The stage's start in words, for the table."""
    text = stage.start
    if stage.architecture or stage.hidden:
        text += f", {stage.architecture or 'the scenario design'}" + (f" hidden {stage.hidden}" if stage.hidden else "")
    if stage.depth:
        text += f", {stage.depth} block{'s' if stage.depth > 1 else ''}" if stage.start == RANDOM else \
            f", grown to {stage.depth} blocks"
    if stage.specialist_below is not None:
        text += f"; adds a specialist below {stage.specialist_below:g}"
        text += f", started from {stage.specialist_from}'s" if stage.specialist_from else ""
    if stage.plane_guides:
        text += "; adds plane guides"
    return text


def table(recipe: Recipe) -> str:
    """The recipe as a Markdown table, with the pixels each stage trains on and a time estimate."""
    level = {"gray-salt-pepper": "density", "color-camera": "camera gain"}.get(recipe.scenario, "sigma")
    rows = ["| stage | starts from | " + level + " | steps | patch x batch | lr | seed | loss | photos | runs on | "
            "megapixels | est. hours |", "|---|---|---|---:|---|---:|---:|---|---|---|---:|---:|"]
    total_pixels, hours = 0, dict.fromkeys(DEVICES, 0.0)
    for owner, stage in plan(recipe):
        pixels = stage.pixels(owner.planes)
        rate = CPU_MEGAPIXELS_PER_SECOND if stage.runs_on == "cpu" else GPU_MEGAPIXELS_PER_SECOND
        total_pixels += pixels
        hours[stage.runs_on] += pixels / 1e6 / rate / 3600
        demosaics = "" if stage.demosaics == ("bilinear",) else ", " + " + ".join(stage.demosaics)
        rows.append(f"| {stage.name} | {describe_start(stage)} | {stage.noise[0]:g}-{stage.noise[1]:g}{demosaics} | {stage.steps} "
                    f"| {stage.patch_size} x {stage.batch_size} | {stage.learning_rate:g} | {stage.seed} "
                    f"| {'balanced' if stage.balance_noise_levels else 'MSE'}{', float32' if stage.float32 else ''} "
                    f"| {stage.data} | {stage.runs_on} | {pixels / 1e6:,.0f} "
                    f"| {pixels / 1e6 / rate / 3600:.2f} |")
    steps = sum(stage.steps for _, stage in plan(recipe))
    rows.append(f"| **all** | | | {steps} | | | | | | | {total_pixels / 1e6:,.0f} "
                f"| cpu {hours['cpu']:.1f} + gpu {hours['gpu']:.1f} |")
    return "\n".join(rows) + "\n"
