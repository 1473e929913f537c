"""Helper scripts outside the core: the extra training photos."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reduce_photo_averages_blocks_down_to_the_longest_side(tmp_path):
    mate_photos = _load("mate_photos")
    pixels = np.random.default_rng(0).integers(0, 256, (300, 500, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "big.png")
    size = mate_photos.reduce_photo(tmp_path / "big.png", tmp_path / "small.png", longest=200)
    assert size == (167, 100)  # factor 3: 500 / 3 rounds up, 300 / 3
    small = np.asarray(Image.open(tmp_path / "small.png")).astype(float)
    assert small.shape == (100, 167, 3)
    block = pixels[:3, :3].reshape(-1, 3).mean(axis=0)
    assert np.allclose(small[0, 0], block, atol=1)


def test_mate_photos_says_in_one_line_when_apt_is_missing(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no apt-get, no dpkg-deb
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "mate_photos.py"), str(tmp_path / "out")],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 1
    assert run.stderr.strip().startswith("Could not fetch mate-backgrounds")
    assert len(run.stderr.strip().splitlines()) == 1
