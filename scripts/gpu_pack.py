"""Pack the gray training corpus small enough to travel to a lent GPU (the device's 64 MiB carry).

    python scripts/gpu_pack.py CORPUS_DIR [--out .corpus-gray]

Writes each training photo as an 8-bit gray PNG, its luminance as `load_image(path, 1)` computes it
(ITU-R 601), rounded to 8 bits: the 101 MB color corpus packs to about 35 MiB. A gray recipe reads the
same photos from it, within half a level of 255 per pixel. The color corpus does not fit, so color
stages run on the CPU. `scripts/gpu_chunk.sh` reads the pack; keep the folder out of git
(`echo /.corpus-gray/ >> .git/info/exclude`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from denoiser.errors import DenoiserError  # noqa: E402
from denoiser.images import load_image  # noqa: E402
from denoiser.training.patches import image_files  # noqa: E402


def pack(corpus: Path, out: Path) -> int:
    """Write the gray copies; returns their total bytes."""
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in image_files(corpus):
        gray = np.round(np.clip(load_image(path, 1)[..., 0], 0.0, 1.0) * 255.0).astype(np.uint8)
        target = out / path.relative_to(corpus).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(gray).save(target, optimize=True)
        total += target.stat().st_size
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / ".corpus-gray")
    args = parser.parse_args(argv)
    try:
        total = pack(args.corpus, args.out)
    except DenoiserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.out}: {total / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
