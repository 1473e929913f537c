"""Extra clean training photos from Debian's `mate-backgrounds` package (its 12 nature photos).

The package ships them as large JPEGs (1280 to 2560 pixels wide). Each is reduced by the smallest
whole factor that brings its longer side to at most `--longest` pixels, averaging blocks of
pixels, which leaves the JPEG artefacts and sensor noise well below the noise we train against,
and saved as PNG. Needs `apt-get` and `dpkg-deb` (Debian, Ubuntu); licenses in docs/DATA.md.
Usage: python scripts/mate_photos.py OUT_DIR [--longest 768]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

PACKAGE = "mate-backgrounds"
NATURE = "usr/share/backgrounds/mate/nature"


def reduce_photo(source: Path, target: Path, longest: int) -> tuple[int, int]:
    """Write `source`, block-averaged to at most `longest` pixels a side, to `target` as RGB;
    returns the new (width, height)."""
    with Image.open(source) as photo:
        photo = photo.convert("RGB")
        factor = max(1, math.ceil(max(photo.size) / longest))
        small = photo.reduce(factor)
    small.save(target)
    return small.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--longest", type=int, default=768)
    args = parser.parse_args()
    if args.longest < 64:
        parser.error("--longest must be at least 64")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        try:
            subprocess.run(["apt-get", "download", PACKAGE], cwd=work, check=True, capture_output=True)
            package = next(work.glob(f"{PACKAGE}_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(package), str(work / "files")], check=True)
        except (OSError, subprocess.CalledProcessError, StopIteration) as error:
            sys.exit(f"Could not fetch {PACKAGE} with apt-get and dpkg-deb: {error}")
        sources = sorted((work / "files" / NATURE).glob("*.jpg"))
        if not sources:
            sys.exit(f"{PACKAGE} has no photos under {NATURE}: a version other than 1.26 may have moved them.")
        for source in sources:
            target = args.out / f"mate-{source.stem.lower()}.png"
            width, height = reduce_photo(source, target, args.longest)
            print(f"{target}: {width}x{height}")


if __name__ == "__main__":
    main()
