"""Build the corpus: fetch and check every package a requested set needs, check each photo, reduce
it and write the sets. Every check runs before the first file lands in an output folder, so a
mismatch leaves them as they were."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from denoiser.corpus import apt
from denoiser.corpus.apt import extract, sha256_of
from denoiser.corpus.manifest import MANIFEST, Manifest, Package, Photo, load_manifest
from denoiser.corpus.photos import block_average, load_photo, reduction_factor
from denoiser.corpus.split import SETS
from denoiser.errors import DenoiserError
from denoiser.images import IMAGE_SUFFIXES, save_image

SUMMARY = "corpus.json"
"""Written into each output folder: what each photo is, where it came from and its license."""

Download = Callable[[str, str, Path], Path]
"""(package name, version, folder) -> the .deb fetched into that folder."""


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "denoiser" / "corpus"


@dataclass(frozen=True)
class CorpusBuildConfig:
    """The folder of each set to write (None: not written), the cache for packages, the manifest."""

    training: Path | None = None
    validation: Path | None = None
    benchmark: Path | None = None
    cache: Path = field(default_factory=default_cache)
    manifest: Path = MANIFEST

    def folders(self) -> dict[str, Path]:
        chosen = {name: getattr(self, name) for name in SETS}
        return {name: Path(folder) for name, folder in chosen.items() if folder is not None}


@dataclass(frozen=True)
class SetSummary:
    name: str
    folder: Path
    photos: int
    pixels: int


def build_corpus(config: CorpusBuildConfig, download: Download | None = None,
                 report: Callable[[str], None] = print) -> list[SetSummary]:
    """Write the requested sets; `download` fetches a package (default: apt-get, see apt.py)."""
    manifest = load_manifest(config.manifest)
    folders = config.folders()
    if not folders:
        raise DenoiserError("Name at least one set to write: --out, --validation or --benchmark.")
    if len({folder.resolve() for folder in folders.values()}) < len(folders):
        raise DenoiserError("Each set needs its own folder: the sets must never mix.")
    names = {name: _file_names(manifest, name) for name in folders}
    for name, folder in folders.items():
        _check_folder(folder, name, names[name])
    cache = Path(config.cache)
    (cache / "debs").mkdir(parents=True, exist_ok=True)
    download = download or apt.download
    wanted = [(name, package, photo) for name in folders for package, photo in manifest.photos(name)]
    packages = [package for package in manifest.packages if any(p is package for _, p, _ in wanted)]
    debs = {(package.name, package.version): _fetch(package, cache / "debs", download) for package in packages}
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=cache))
    try:
        for name in folders:
            (staging / name).mkdir()
        records: dict[str, list[dict]] = {name: [] for name in folders}
        for package in packages:
            mine = [(name, photo) for name, p, photo in wanted if p is package]
            with tempfile.TemporaryDirectory(prefix="unpacked-", dir=cache) as tree:
                extract(debs[package.name, package.version], Path(tree))
                for name, photo in mine:
                    records[name].append(_write_photo(package, photo, Path(tree), manifest.longest_side[name],
                                                      staging / name))
            report(f"{package.name} {package.version}: {len(mine)} photo(s) checked and reduced")
        if "training" in folders:
            records["training"] += _write_scikit_image(manifest, staging / "training")
        return [_publish(name, staging / name, folders[name], records[name], config.manifest) for name in folders]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _file_names(manifest: Manifest, name: str) -> set[str]:
    files = {f"{photo.name}.png" for _, photo in manifest.photos(name)}
    if name == "training":
        files |= {f"skimage-{photo}.png" for photo in manifest.scikit_image}
    return files


def _check_folder(folder: Path, name: str, ours: set[str]) -> None:
    """Training and benchmarks read every image in a folder, so a folder with other images is refused."""
    if folder.exists() and not folder.is_dir():
        raise DenoiserError(f"{folder} is a file; the {name} set needs a folder.")
    if folder.is_dir():
        strangers = sorted(p.name for p in folder.rglob("*")
                           if p.suffix.lower() in IMAGE_SUFFIXES and p.relative_to(folder).as_posix() not in ours)
        if strangers:
            raise DenoiserError(f"{folder} holds images that are not in the {name} set ({strangers[0]}, ...): "
                                "give an empty folder or one this command wrote.")


def _fetch(package: Package, folder: Path, download: Download) -> Path:
    """The package's .deb, from the cache when its SHA-256 matches, else downloaded and checked."""
    cached = folder / f"{package.name}_{package.version.replace(':', '%3a')}_all.deb"
    if cached.is_file() and sha256_of(cached) == package.sha256:
        return cached
    with tempfile.TemporaryDirectory(prefix="download-", dir=folder) as work:
        fetched = download(package.name, package.version, Path(work))
        digest = sha256_of(fetched)
        if digest != package.sha256:
            raise DenoiserError(f"{package.name} {package.version}: the .deb has SHA-256 {digest[:16]}..., "
                                f"the manifest pins {package.sha256[:16]}...; nothing was written.")
        fetched.replace(cached)
    return cached


def _write_photo(package: Package, photo: Photo, tree: Path, longest_side: int, folder: Path) -> dict:
    source = tree / photo.file
    if not source.is_file() or source.is_symlink():
        raise DenoiserError(f"{package.name} {package.version} has no file {photo.file}; nothing was written.")
    digest = sha256_of(source)
    if digest != photo.sha256:
        raise DenoiserError(f"{package.name} {package.version}: {photo.file} has SHA-256 {digest[:16]}..., "
                            f"the manifest pins {photo.sha256[:16]}...; nothing was written.")
    image = load_photo(source)
    if (image.shape[1], image.shape[0]) != (photo.width, photo.height):
        raise DenoiserError(f"{photo.file} decodes to {image.shape[1]}x{image.shape[0]} pixels, the manifest says "
                            f"{photo.width}x{photo.height}; nothing was written.")
    reduced = block_average(image, reduction_factor(photo.width, photo.height, longest_side))
    save_image(reduced, folder / f"{photo.name}.png")
    return {"name": photo.name, "package": package.name, "version": package.version, "file": photo.file,
            "license": photo.license, "group": photo.group, "width": reduced.shape[1], "height": reduced.shape[0]}


def _write_scikit_image(manifest: Manifest, folder: Path) -> list[dict]:
    import skimage

    from denoiser.samples import sample_photo

    records = []
    for name in manifest.scikit_image:
        image = sample_photo(name)
        save_image(image, folder / f"skimage-{name}.png")
        records.append({"name": f"skimage-{name}", "package": "scikit-image", "version": skimage.__version__,
                        "file": f"skimage.data.{name}", "license": "see docs/DATA.md", "group": f"skimage-{name}",
                        "width": image.shape[1], "height": image.shape[0]})
    return records


def _publish(name: str, staged: Path, folder: Path, records: list[dict], manifest: Path) -> SetSummary:
    folder.mkdir(parents=True, exist_ok=True)
    for file in sorted(staged.iterdir()):
        shutil.move(str(file), folder / file.name)
    pixels = sum(record["width"] * record["height"] for record in records)
    summary = {"set": name, "photos": len(records), "pixels": pixels,
               "manifest_sha256": sha256_of(Path(manifest)), "files": sorted(records, key=lambda r: r["name"])}
    (folder / SUMMARY).write_text(json.dumps(summary, indent=1) + "\n")
    return SetSummary(name, folder, len(records), pixels)
