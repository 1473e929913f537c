"""Write docs/camera-low-light.png and docs/benchmarks/camera-low-light.json: a dark, low-light crop
through the darkest trained camera (gain 0.9, JPEG 75), denoised by each method, side by side.

The crop is the darkest 128-pixel window with some detail (its reference's standard deviation at
least `MIN_DETAIL`) among the corpus's benchmark photos, on a grid of 64-pixel steps. Panels, zoomed
2x and brightened alike for the eye (every panel times one factor that takes the reference's 90th
percentile to 0.6; the scores are of the images as they are): the camera's reference, the noisy photo,
CBM3D and the Gaussian color LSTM each at their best single sigma for this crop (the oracle of
benchmarks/camera.py), and the camera LSTM (blind), each titled with its PSNR against the reference.

    python scripts/camera_low_light.py CORPUS_BENCHMARK_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from camera import best_single_sigma  # noqa: E402

from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.images import IMAGE_SUFFIXES, load_image, save_image  # noqa: E402
from denoiser.noise import CameraNoise  # noqa: E402

PICTURE = ROOT / "docs" / "camera-low-light.png"
RECORD = ROOT / "docs" / "benchmarks" / "camera-low-light.json"
CAMERA = CameraNoise(0.9, 75)
WINDOW, STEP, MIN_DETAIL, ZOOM, TITLE_HEIGHT, GAP = 128, 64, 0.04, 2, 18, 4


def darkest_window(folder: Path) -> tuple[str, tuple[int, int], np.ndarray]:
    """(photo name, (top, left), crop) of the darkest window with detail."""
    best = None
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        image = load_image(path, 3)
        for top in range(0, image.shape[0] - WINDOW + 1, STEP):
            for left in range(0, image.shape[1] - WINDOW + 1, STEP):
                crop = image[top:top + WINDOW, left:left + WINDOW]
                if crop.mean(axis=2).std() >= MIN_DETAIL and (best is None or crop.mean() < best[0]):
                    best = (crop.mean(), path.stem, (top, left), crop)
    if best is None:
        raise SystemExit(f"error: no {WINDOW}-pixel window with detail in {folder}")
    return best[1:]


def panel(image: np.ndarray, title: str, brighten: float) -> np.ndarray:
    """`image` brightened and zoomed, under a white strip with `title`."""
    zoomed = np.repeat(np.repeat(np.clip(image * brighten, 0, 1), ZOOM, axis=0), ZOOM, axis=1)
    strip = Image.new("RGB", (zoomed.shape[1], TITLE_HEIGHT), "white")
    ImageDraw.Draw(strip).text((4, 3), title, fill="black")
    return np.concatenate([np.asarray(strip, dtype=np.float64) / 255.0, zoomed], axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_benchmark", type=Path)
    args = parser.parse_args()
    from denoiser.evaluation.metrics import psnr, ssim
    from denoiser.inference.tiled import denoise
    from denoiser.models.bundled import load_pretrained

    name, (top, left), crop = darkest_window(args.corpus_benchmark)
    reference, noisy = CAMERA.pair(crop, np.random.default_rng([zlib.crc32(name.encode()), 90]))
    results = {"noisy": (noisy, None)}
    for method in ("bm3d", "gaussian-lstm"):
        oracle = best_single_sigma(method, noisy, reference)
        results[method] = (oracle.image, oracle.sigma)
    results["camera-lstm"] = (denoise(load_pretrained("color-camera").model, noisy, 0.0), None)
    titles = {"noisy": "noisy", "bm3d": "CBM3D", "gaussian-lstm": "Gaussian LSTM", "camera-lstm": "camera LSTM"}
    brighten = max(1.0, 0.6 / float(np.percentile(reference, 90)))
    panels = [panel(reference, f"reference (shown x{brighten:.1f})", brighten)]
    record = {"photo": name, "window": [top, left, WINDOW], "camera": CAMERA.name, "shown_brighter": round(brighten, 2),
              "reference_mean": round(float(reference.mean()), 4), "methods": {}, "machine": machine()}
    for method, (image, sigma) in results.items():
        score = psnr(reference, image)
        record["methods"][method] = {"psnr": round(score, 2), "ssim": round(ssim(reference, image), 4),
                                     **({"sigma": sigma} if sigma is not None else {})}
        at = f" at {sigma:g}" if sigma is not None else ""
        panels.append(panel(image, f"{titles[method]}{at}: {score:.2f} dB", brighten))
    gap = np.ones((panels[0].shape[0], GAP, 3))
    picture = np.concatenate([part for p in panels for part in (p, gap)][:-1], axis=1)
    save_image(picture, PICTURE)
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record["methods"], indent=2))


if __name__ == "__main__":
    main()
