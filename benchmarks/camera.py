"""The camera model against CBM3D and the color Gaussian model, through the simulated camera.

    python benchmarks/camera.py CORPUS_BENCHMARK_DIR [--cameras trained|unseen] [--model PATH] [--crop 256]
                                [--baselines-from JSON]

Photos: the corpus's benchmark photos (`python -m denoiser corpus --benchmark DIR`) and the built-in
color ones (coffee, chelsea), centre crops of `--crop` pixels. Each goes through each camera of the
set with a seed fixed by its name; the reference is the same camera path without sensor noise or
JPEG (`CameraNoise.pair`).

- `trained`: the training camera (bilinear demosaicing, smoothstep tone curve) at three gains and
  JPEG settings inside the trained ranges;
- `unseen`: what training never saw: Malvar-He-Cutler demosaicing, a gamma-only tone curve and JPEG
  quality 40, below the trained 60..100.

Methods: the noisy photo; the camera LSTM (blind); CBM3D and the Gaussian color LSTM at the blind
estimate (what a user of either gets); and both at their best single sigma per photo, a grid search
against the reference that no user can run (the issue's bar). Writes
docs/benchmarks/camera-<cameras>.json and .md: per camera the mean PSNR and SSIM per method, the
camera LSTM's mean lead over each oracle with its spread across photos, and its wins.

The baselines do not depend on the camera model, so `--baselines-from` an earlier run's JSON (same
cameras, crop and grid) takes their rows from it and scores only the camera LSTM: a new model is
re-measured in a minute instead of the baselines' half hour. The Gaussian LSTM's rows are taken only
when that run measured the same bundled Gaussian weights (`gaussian_model`, their SHA-256); otherwise
they are scored again, which takes minutes (CBM3D's take the half hour).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.errors import DenoiserError  # noqa: E402
from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.images import IMAGE_SUFFIXES, load_image  # noqa: E402
from denoiser.noise import CameraNoise  # noqa: E402
from denoiser.samples import COLOR_BENCHMARK_PHOTOS, sample_photo  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
CAMERAS = {
    "trained": (CameraNoise(0.3, None), CameraNoise(0.6, 90), CameraNoise(0.9, 75)),
    "unseen": (CameraNoise(0.3, 40, demosaicing="malvar", tone_curve="gamma"),
               CameraNoise(0.6, 40, demosaicing="malvar", tone_curve="gamma"),
               CameraNoise(0.9, 40, demosaicing="malvar", tone_curve="gamma")),
}
SIGMA_GRID = (3, 5, 8, 12, 16, 20, 25, 32, 40)
"""The sigmas the oracles try per photo (0..255 scale): below the blind estimates up to twice CBM3D's
best on the darkest photos."""
ORACLES = {"bm3d": "CBM3D", "gaussian-lstm": "Gaussian LSTM"}


def photos(corpus_benchmark: Path, crop: int) -> dict[str, np.ndarray]:
    """The benchmark photos, centre-cropped to `crop` pixels (smaller ones whole)."""
    images = {path.stem: load_image(path, 3) for path in sorted(corpus_benchmark.iterdir())
              if path.suffix.lower() in IMAGE_SUFFIXES}
    images.update({name: sample_photo(name) for name in COLOR_BENCHMARK_PHOTOS})
    cropped = {}
    for name, image in images.items():
        top, left = max(0, (image.shape[0] - crop) // 2), max(0, (image.shape[1] - crop) // 2)
        cropped[name] = np.ascontiguousarray(image[top:top + crop, left:left + crop])
    return cropped


@dataclass(frozen=True)
class OracleRun:
    """A baseline at the grid sigma that scores best on one photo: its scores, sigma, one run's seconds
    and the denoised image."""

    psnr: float
    ssim: float
    sigma: float
    seconds: float
    image: np.ndarray


def best_single_sigma(method: str, noisy: np.ndarray, reference: np.ndarray) -> OracleRun:
    """`method` at the grid sigma that scores best on this photo.

    Either method's PSNR rises to one peak and falls as its sigma grows, so a climb over the grid from
    its middle reaches the grid's best in 3 to 5 runs instead of all 9."""
    from denoiser.evaluation.baselines import run_baseline
    from denoiser.evaluation.metrics import psnr, ssim

    runs: dict[int, OracleRun] = {}

    def score(index: int) -> float:
        if index not in runs:
            denoised, seconds = run_baseline(method, noisy, float(SIGMA_GRID[index]))
            runs[index] = OracleRun(psnr(reference, denoised), ssim(reference, denoised), float(SIGMA_GRID[index]),
                                    seconds, denoised)
        return runs[index].psnr

    index = len(SIGMA_GRID) // 2
    while (uphill := max((i for i in (index - 1, index, index + 1) if 0 <= i < len(SIGMA_GRID)), key=score)) != index:
        index = uphill
    return runs[index]


def score_photo(model, noisy: np.ndarray, reference: np.ndarray, baselines: dict | None = None,
                stale: tuple[str, ...] = ()) -> dict[str, dict]:
    """Every method's PSNR, SSIM and seconds on one noisy photo (and the oracles' chosen sigmas); the
    baselines' rows are taken from `baselines` (an earlier run's rows for this photo) when given, except
    those of the `stale` methods (whose model changed since), which are scored again."""
    from denoiser.evaluation.baselines import run_baseline
    from denoiser.evaluation.metrics import psnr, ssim
    from denoiser.inference.tiled import denoise
    from denoiser.noise.level import estimate_sigma

    rows = {"noisy": {"psnr": psnr(reference, noisy), "ssim": ssim(reference, noisy), "seconds": 0.0}}
    started = time.perf_counter()
    denoised = denoise(model, noisy, 0.0)
    rows["camera-lstm"] = {"psnr": psnr(reference, denoised), "ssim": ssim(reference, denoised),
                           "seconds": time.perf_counter() - started}
    if baselines is not None and abs(baselines["noisy"]["psnr"] - rows["noisy"]["psnr"]) > 1e-6:
        raise DenoiserError("The earlier run's noisy photo differs from this one: its baselines do not apply.")
    estimate = estimate_sigma(noisy)
    for method in ORACLES:
        if baselines is not None and method not in stale:
            rows.update({f"{method}-{kind}": baselines[f"{method}-{kind}"] for kind in ("estimated", "oracle")})
            continue
        denoised, seconds = run_baseline(method, noisy, 0.0)  # at the blind estimate
        rows[f"{method}-estimated"] = {"psnr": psnr(reference, denoised), "ssim": ssim(reference, denoised),
                                       "seconds": seconds, "sigma": estimate}
        oracle = best_single_sigma(method, noisy, reference)
        rows[f"{method}-oracle"] = {"psnr": oracle.psnr, "ssim": oracle.ssim, "seconds": oracle.seconds,
                                    "sigma": oracle.sigma}
    return rows


def summary(per_photo: dict[str, dict[str, dict]]) -> dict:
    """Means per method, and the camera LSTM's lead over each oracle: mean, spread, wins."""
    methods = list(next(iter(per_photo.values())))
    means = {m: {"psnr": float(np.mean([rows[m]["psnr"] for rows in per_photo.values()])),
                 "ssim": float(np.mean([rows[m]["ssim"] for rows in per_photo.values()]))} for m in methods}
    leads = {}
    for method in ORACLES:
        values = [rows["camera-lstm"]["psnr"] - rows[f"{method}-oracle"]["psnr"] for rows in per_photo.values()]
        leads[method] = {"mean": float(np.mean(values)), "spread": float(statistics.pstdev(values)),
                         "wins": sum(v > 0 for v in values), "photos": len(values)}
    return {"means": means, "leads_over_oracles": leads}


def gaussian_weights_digest() -> str:
    """The SHA-256 of the bundled color Gaussian weights, which the Gaussian LSTM's rows measure."""
    from denoiser.models.bundled import pretrained_path

    return hashlib.sha256(pretrained_path("color-gaussian").read_bytes()).hexdigest()


def earlier_baselines(path: Path, cameras: str, crop: int) -> tuple[dict, tuple[str, ...]]:
    """Per camera and photo, the baseline rows of an earlier run of the same set, crop and grid, and the
    methods among them to score again: the Gaussian LSTM where that run measured other weights."""
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DenoiserError(f"Cannot read the earlier run {path}: {error}") from None
    if (earlier["cameras"], earlier["crop"], earlier["sigma_grid"]) != (cameras, crop, list(SIGMA_GRID)):
        raise DenoiserError(f"{path} measured other cameras, crop or sigmas: its baselines do not apply.")
    stale = () if earlier.get("gaussian_model") == gaussian_weights_digest() else ("gaussian-lstm",)
    return {camera: result["per_photo"] for camera, result in earlier["settings"].items()}, stale


def run(corpus_benchmark: Path, cameras: str, model_path: Path | None, crop: int,
        baselines: dict | None = None, stale: tuple[str, ...] = ()) -> dict:
    from denoiser.models.bundled import load_pretrained, pretrained_path
    from denoiser.models.checkpoint import load_checkpoint

    model = (load_checkpoint(model_path) if model_path else load_pretrained("color-camera")).model
    images = photos(corpus_benchmark, crop)
    record = {"cameras": cameras, "crop": crop, "photos": list(images), "sigma_grid": list(SIGMA_GRID),
              "model": str(model_path or pretrained_path("color-camera").relative_to(ROOT)),
              "gaussian_model": gaussian_weights_digest(), "machine": machine(), "settings": {}}
    for camera in CAMERAS[cameras]:
        per_photo = {}
        for name, image in images.items():
            reference, noisy = camera.pair(image, np.random.default_rng([zlib.crc32(name.encode()),
                                                                         int(camera.gain * 100)]))
            earlier = None if baselines is None else baselines[camera.name][name]
            per_photo[name] = score_photo(model, noisy, reference, earlier, stale)
            print(f"{camera.name} {name}: camera LSTM {per_photo[name]['camera-lstm']['psnr']:.2f}, CBM3D oracle "
                  f"{per_photo[name]['bm3d-oracle']['psnr']:.2f}", file=sys.stderr)
        record["settings"][camera.name] = {"per_photo": per_photo, **summary(per_photo)}
    return record


TITLES = {"noisy": "noisy", "camera-lstm": "camera LSTM (blind)", "bm3d-estimated": "CBM3D, estimated sigma",
          "gaussian-lstm-estimated": "Gaussian LSTM, estimated sigma", "bm3d-oracle": "CBM3D, best sigma per photo",
          "gaussian-lstm-oracle": "Gaussian LSTM, best sigma per photo"}


def render(record: dict) -> str:
    lines = [f"Cameras: {record['cameras']}; {len(record['photos'])} photos, centre crops of {record['crop']} "
             f"pixels; model {record['model']}; {record['machine'].get('cpu', '')}.", ""]
    for camera, result in record["settings"].items():
        lines += [f"**{camera}**", "", "| method | PSNR (dB) | SSIM |", "|---|---:|---:|"]
        lines += [f"| {TITLES[m]} | {v['psnr']:.2f} | {v['ssim']:.4f} |" for m, v in result["means"].items()]
        for method, lead in result["leads_over_oracles"].items():
            verdict = "a tie" if abs(lead["mean"]) < lead["spread"] else ("ahead" if lead["mean"] > 0 else "behind")
            lines.append(f"\nCamera LSTM over {ORACLES[method]} at its best sigma: {lead['mean']:+.2f} dB, spread "
                         f"{lead['spread']:.2f}, wins {lead['wins']}/{lead['photos']} ({verdict}).")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_benchmark", type=Path)
    parser.add_argument("--cameras", choices=list(CAMERAS), default="trained")
    parser.add_argument("--model", type=Path, help="a checkpoint (default: the bundled color-camera weights)")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--baselines-from", type=Path, help="an earlier run's JSON whose baseline rows to reuse")
    args = parser.parse_args(argv)
    try:
        if not args.corpus_benchmark.is_dir():
            raise DenoiserError(f"No such folder: {args.corpus_benchmark}")
        if args.crop < 16:
            raise DenoiserError("--crop must be at least 16 pixels.")
        baselines, stale = (None, ()) if args.baselines_from is None else earlier_baselines(
            args.baselines_from, args.cameras, args.crop)
        record = run(args.corpus_benchmark, args.cameras, args.model, args.crop, baselines, stale)
        if baselines is not None:
            record["baselines_from"] = args.baselines_from.name  # deterministic rows: a rerun without it gives the same
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"camera-{args.cameras}.json").write_text(json.dumps(record, indent=2) + "\n")
    (args.out / f"camera-{args.cameras}.md").write_text(render(record))
    print(render(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
