"""The corpus manifest (`manifest.json`): the pinned packages, the photos kept from each with their
SHA-256, group and set, how far each set is reduced, and the split rule that made the sets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from denoiser.corpus.split import SETS, SplitRule
from denoiser.errors import DenoiserError

MANIFEST = Path(__file__).with_name("manifest.json")


@dataclass(frozen=True)
class Photo:
    """One photo kept from a package: `file` is its path inside the package, `width` and `height`
    its size as decoded (EXIF rotation applied)."""

    name: str
    file: str
    sha256: str
    width: int
    height: int
    group: str
    set: str
    license: str


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str
    license: str
    photos: tuple[Photo, ...]


@dataclass(frozen=True)
class Manifest:
    longest_side: dict[str, int]
    """Per set, the longest side a photo is block-averaged down to (by a whole factor of 2 or more)."""
    split: SplitRule
    scikit_image: tuple[str, ...]
    """scikit-image sample photos that join the training set as they are."""
    packages: tuple[Package, ...]

    def photos(self, set_name: str) -> list[tuple[Package, Photo]]:
        return [(package, photo) for package in self.packages for photo in package.photos if photo.set == set_name]


def load_manifest(path: str | Path = MANIFEST) -> Manifest:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        manifest = Manifest(
            longest_side={name: int(data["longest_side"][name]) for name in SETS},
            split=SplitRule(data["split"]["seed"], float(data["split"]["benchmark_below"]),
                            float(data["split"]["validation_below"]), tuple(data["split"]["training_only"])),
            scikit_image=tuple(data["scikit_image"]),
            packages=tuple(Package(p["name"], p["version"], p["sha256"], p["license"],
                                   tuple(Photo(**photo) for photo in p["photos"]))
                           for p in data["packages"]))
    except FileNotFoundError:
        raise DenoiserError(f"No such manifest: {path}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise DenoiserError(f"{path} is not a corpus manifest ({type(error).__name__}: {error}).") from None
    for package in manifest.packages:
        for photo in package.photos:
            inside = PurePosixPath(photo.file)
            if inside.is_absolute() or ".." in inside.parts or photo.set not in SETS:
                raise DenoiserError(f"{path}: photo '{photo.name}' has a bad path or set ({photo.file}, {photo.set}).")
    return manifest
