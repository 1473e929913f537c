"""Which part of the unseen camera the camera model cannot read, on the validation photos.

    python benchmarks/camera_unseen_parts.py VALIDATION_DIR [--model PATH]

The unseen camera of benchmarks/camera.py changes three things at once: Malvar-He-Cutler demosaicing,
the gamma tone curve and JPEG 40. This sends the validation crops of camera_design.py through the
trained camera at gain 0.6 with one change at a time, and with pairs of them, and writes the camera
model's mean gain over the noisy crops to docs/benchmarks/camera-unseen-parts.json and .md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from camera_design import validation_crops  # noqa: E402

from denoiser.noise import CameraNoise  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "camera-unseen-parts"
GAIN = 0.6
VARIANTS = {
    "trained camera, JPEG 90": CameraNoise(GAIN, 90),
    "JPEG 40": CameraNoise(GAIN, 40),
    "gamma tone curve, JPEG 90": CameraNoise(GAIN, 90, tone_curve="gamma"),
    "Malvar demosaicing, no JPEG": CameraNoise(GAIN, None, demosaicing="malvar"),
    "Malvar demosaicing, JPEG 90": CameraNoise(GAIN, 90, demosaicing="malvar"),
    "Malvar demosaicing, gamma tone curve, JPEG 40 (the unseen camera)":
        CameraNoise(GAIN, 40, demosaicing="malvar", tone_curve="gamma"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("validation", type=Path)
    parser.add_argument("--model", type=Path, help="a checkpoint (default: the bundled color-camera weights)")
    args = parser.parse_args(argv)
    from denoiser.evaluation.metrics import psnr
    from denoiser.inference.tiled import denoise
    from denoiser.models.bundled import load_pretrained
    from denoiser.models.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(args.model) if args.model else load_pretrained("color-camera")
    crops = validation_crops(args.validation)
    rows = {}
    for name, camera in VARIANTS.items():
        noisy_scores, denoised_scores = [], []
        for index, (_, crop) in enumerate(crops):
            reference, noisy = camera.pair(crop, np.random.default_rng([index, int(GAIN * 100)]))
            noisy_scores.append(psnr(reference, noisy))
            denoised_scores.append(psnr(reference, denoise(checkpoint.model, noisy, 0.0)))
        rows[name] = {"noisy": float(np.mean(noisy_scores)), "denoised": float(np.mean(denoised_scores)),
                      "gain": float(np.mean(denoised_scores) - np.mean(noisy_scores))}
        print(f"{name}: {rows[name]['noisy']:.2f} -> {rows[name]['denoised']:.2f} dB", flush=True)
    record = {"model": str(args.model or "denoiser/weights/color-camera.pt"), "steps": checkpoint.metadata.get("steps"),
              "gain": GAIN, "validation_photos": [name for name, _ in crops], "variants": rows}
    OUT.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [f"Camera gain {GAIN}, {len(crops)} validation crops, model {record['model']} ({record['steps']} steps).", "",
             "| camera | noisy | camera LSTM | gain |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {row['noisy']:.2f} | {row['denoised']:.2f} | {row['gain']:+.2f} |" for name, row in rows.items()]
    OUT.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
