"""The photo corpus: reduction, grouping and split, the bundled manifest, the build from a tiny
package made here with dpkg-deb, and one build from a real package fetched through the machine's apt
sources."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from denoiser.corpus.apt import download
from denoiser.corpus.build import SUMMARY, CorpusBuildConfig, build_corpus
from denoiser.corpus.manifest import load_manifest
from denoiser.corpus.photos import (
    block_average,
    group_photos,
    load_photo,
    name_stem,
    reduced_size,
    reduction_factor,
    signature,
)
from denoiser.corpus.split import SETS, SplitRule, assign_sets, hash_fraction
from denoiser.errors import DenoiserError
from denoiser.samples import BENCHMARK_PHOTOS, TRAINING_PHOTOS, sample_photo

ROOT = Path(__file__).resolve().parents[1]
needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian or Ubuntu)")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Reduction, grouping and split

def test_reduction_factor_is_the_smallest_whole_factor_of_two_or_more_that_fits():
    assert reduction_factor(2560, 1600, 2048) == 2
    assert reduction_factor(6016, 4016, 2048) == 3  # 6016 / 2 = 3008 would not fit
    assert reduction_factor(1000, 600, 2048) == 2  # small photos are still averaged by 2
    assert reduction_factor(3840, 2160, 768) == 5
    assert reduction_factor(768 * 4, 10, 768) == 4  # exactly fits
    assert reduced_size(3840, 2160, 768) == (768, 432)


def test_block_average_takes_the_mean_of_each_block_and_drops_partial_ones():
    image = np.random.default_rng(0).random((7, 5, 3)).astype(np.float32)
    small = block_average(image, 2)
    assert small.shape == (3, 2, 3) and small.dtype == np.float32
    assert np.allclose(small[1, 1], image[2:4, 2:4].mean(axis=(0, 1)))
    assert np.allclose(small[2, 0], image[4:6, 0:2].mean(axis=(0, 1)))  # row 6 and column 4 are dropped
    noise = np.random.default_rng(1).normal(0, 1, (400, 400, 1))
    assert block_average(noise, 2).std() == pytest.approx(0.5, rel=0.05)  # white noise falls by the factor
    with pytest.raises(ValueError):
        block_average(image, 8)


def test_name_stem_drops_sizes_variants_and_suffixes():
    assert name_stem("usr/share/wallpapers/Mountain/contents/images_dark/5120x2880.png") == "mountain"
    assert name_stem("usr/share/backgrounds/mate/abstract/Elephants_3840x2160.jpg") == "elephants"
    assert name_stem("usr/share/backgrounds/sway/Sway_Wallpaper_Blue_768x1024_Portrait.png") == "sway_wallpaper_blue"
    assert name_stem("usr/share/backgrounds/gnome/adwaita-d.webp") == "adwaita"
    assert name_stem("usr/share/backgrounds/budgie/tea-gardens.jpg") == "tea-gardens"


def test_a_jpeg_xl_photo_reads_as_any_other(tmp_path):
    import pillow_jxl  # noqa: F401  (lets Pillow write one)

    pixels = np.random.default_rng(3).integers(0, 256, (24, 40, 3), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.jxl", lossless=True)
    image = load_photo(tmp_path / "photo.jxl")
    assert image.shape == (24, 40, 3) and image.dtype == np.float32
    assert np.array_equal(np.round(image * 255).astype(np.uint8), pixels)


def test_groups_join_one_photo_at_another_size_or_grade_and_keep_others_apart():
    astronaut = sample_photo("astronaut")
    smaller = np.asarray(Image.fromarray((astronaut * 255).astype(np.uint8)).resize((300, 300)), np.float32) / 255
    darker = astronaut ** 1.8  # a darker grade, as KDE's dark variants
    photos = {"astronaut": astronaut, "astronaut-small": smaller, "astronaut-dark": darker,
              **{name: sample_photo(name) for name in ("coffee", "chelsea", "rocket")}}
    groups = group_photos({name: name for name in photos}, {name: signature(image) for name, image in photos.items()})
    assert groups["astronaut-small"] == groups["astronaut-dark"] == groups["astronaut"] == "astronaut"
    assert len({groups[name] for name in ("astronaut", "coffee", "chelsea", "rocket")}) == 4


def test_groups_join_photos_sharing_a_stem_even_when_they_look_different():
    marks = {name: signature(sample_photo(name)) for name in ("coffee", "chelsea", "rocket")}
    groups = group_photos({"coffee": "kde/mountain", "chelsea": "kde/mountain", "rocket": "kde/rocket"}, marks)
    assert groups == {"coffee": "chelsea", "chelsea": "chelsea", "rocket": "rocket"}


def test_split_places_each_group_by_its_own_hash_so_new_groups_move_none():
    groups = [f"photo-{i}" for i in range(400)]
    rule = SplitRule(seed="s", benchmark_below=0.1, validation_below=0.3)
    sets = assign_sets(groups, rule)
    assert sets == assign_sets(list(reversed(groups)), rule)
    assert assign_sets(groups[:100], rule) == {group: sets[group] for group in groups[:100]}  # adding moves none
    assert all(sets[group] == ("benchmark" if hash_fraction("s", group) < 0.1 else
                               "validation" if hash_fraction("s", group) < 0.3 else "training") for group in groups)
    shares = {name: sum(value == name for value in sets.values()) / len(groups) for name in SETS}
    assert shares["benchmark"] == pytest.approx(0.1, abs=0.04) and shares["validation"] == pytest.approx(0.2, abs=0.05)
    assert assign_sets(groups, SplitRule(seed="other", benchmark_below=0.1, validation_below=0.3)) != sets


# The bundled manifest

MANIFEST = load_manifest()
PHOTOS = [(package, photo) for package in MANIFEST.packages for photo in package.photos]


def test_manifest_pins_every_package_and_photo():
    hexes = [package.sha256 for package in MANIFEST.packages] + [photo.sha256 for _, photo in PHOTOS]
    assert all(len(value) == 64 and int(value, 16) >= 0 for value in hexes)
    assert len({photo.name for _, photo in PHOTOS}) == len(PHOTOS)
    assert len({(package.name, package.version) for package in MANIFEST.packages}) == len(MANIFEST.packages)
    assert all(package.version and package.license for package in MANIFEST.packages)
    assert MANIFEST.scikit_image == TRAINING_PHOTOS and not set(BENCHMARK_PHOTOS) & set(MANIFEST.scikit_image)


def test_manifest_sets_are_disjoint_by_group_and_large_enough():
    set_of_group: dict[str, set[str]] = {}
    for _, photo in PHOTOS:
        set_of_group.setdefault(photo.group, set()).add(photo.set)
    assert all(len(sets) == 1 for sets in set_of_group.values())
    groups_in = {name: {group for group, sets in set_of_group.items() if name in sets} for name in SETS}
    assert len(MANIFEST.photos("validation")) >= 20
    assert len(groups_in["benchmark"]) >= 10
    assert len(PHOTOS) + len(MANIFEST.scikit_image) >= 100  # distinct photographs in all
    assert len({photo.sha256 for _, photo in PHOTOS}) == len(PHOTOS)
    training_only = [photo for package, photo in PHOTOS if package.name in MANIFEST.split.training_only]
    assert training_only and all(photo.set == "training" for photo in training_only)


def test_manifest_split_is_the_rule_applied_to_its_groups():
    pinned = {photo.group for package, photo in PHOTOS if package.name in MANIFEST.split.training_only}
    expected = assign_sets({photo.group for _, photo in PHOTOS} - pinned, MANIFEST.split)
    assert {photo.name: photo.set for _, photo in PHOTOS} == \
           {photo.name: expected.get(photo.group, "training") for _, photo in PHOTOS}


def test_training_set_has_ten_times_the_pixels_of_the_25_photo_set():
    """Today's set: the 13 scikit-image photos as they are and the 12 mate photos reduced as
    scripts/mate_photos.py did (factor ceil(longest / 768), partial blocks kept)."""
    scikit = sum(sample_photo(name).shape[0] * sample_photo(name).shape[1] for name in TRAINING_PHOTOS)
    mate = [photo for package, photo in PHOTOS if package.name == "mate-backgrounds"]
    assert len(mate) == 12
    old = sum(math.ceil(p.width / f) * math.ceil(p.height / f)
              for p, f in ((p, max(1, math.ceil(max(p.width, p.height) / 768))) for p in mate))
    assert scikit + old == 8_327_885
    longest = MANIFEST.longest_side["training"]
    training = scikit + sum(math.prod(reduced_size(p.width, p.height, longest)) for _, p in MANIFEST.photos("training"))
    assert training >= 10 * (scikit + old)


# Building from a tiny package

def make_deb(folder: Path, files: dict[str, Image.Image], name: str = "tiny-wallpapers",
             version: str = "1.0-1") -> Path:
    """A real .deb holding `files` (path inside -> image), built with dpkg-deb."""
    root = folder / f"{name}-root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: Lab <lab@example.org>\n"
        "Description: tiny wallpapers for a test\n")
    for inside, image in files.items():
        (root / inside).parent.mkdir(parents=True, exist_ok=True)
        image.save(root / inside)
    deb = folder / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "-Zgzip", "--root-owner-group", "-b", str(root), str(deb)],
                   check=True, capture_output=True)
    return deb


@pytest.fixture
def tiny(tmp_path):
    """A .deb with three photos and a manifest pinning it: one photo per set, reduced to 16 pixels;
    the benchmark one is JPEG XL, as budgie-backgrounds 4 ships them."""
    import pillow_jxl  # noqa: F401  (lets Pillow write the JPEG XL one)

    rng = np.random.default_rng(7)
    files = {"a": "a.png", "b": "b.png", "c": "c.jxl"}
    images = {f"usr/share/backgrounds/tiny/{file}": Image.fromarray(rng.integers(0, 256, (48, 64, 3), np.uint8))
              for file in files.values()}
    deb = make_deb(tmp_path, images)
    tree = tmp_path / "tiny-wallpapers-root"
    photos = [{"name": f"tiny-{name}", "file": f"usr/share/backgrounds/tiny/{files[name]}",
               "sha256": sha256(tree / f"usr/share/backgrounds/tiny/{files[name]}"), "width": 64, "height": 48,
               "group": f"tiny-{name}", "set": set_name, "license": "CC0-1.0"}
              for name, set_name in (("a", "training"), ("b", "validation"), ("c", "benchmark"))]
    manifest = {"longest_side": {"training": 32, "validation": 16, "benchmark": 16},
                "split": {"seed": "t", "benchmark_below": 0.1, "validation_below": 0.3, "training_only": []},
                "scikit_image": ["clock"],
                "packages": [{"name": "tiny-wallpapers", "version": "1.0-1", "sha256": sha256(deb),
                              "license": "CC0-1.0", "photos": photos}]}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    calls = []

    def download(name, version, into):
        calls.append((name, version))
        return Path(shutil.copy(deb, into))

    return {"deb": deb, "manifest": path, "data": manifest, "download": download, "calls": calls,
            "images": images, "cache": tmp_path / "cache"}


def outputs(tmp_path) -> dict[str, Path]:
    return {name: tmp_path / "out" / name for name in SETS}


@needs_dpkg
def test_build_writes_each_set_reduced_with_its_summary(tiny, tmp_path):
    folders = outputs(tmp_path)
    config = CorpusBuildConfig(**folders, cache=tiny["cache"], manifest=tiny["manifest"])
    written = build_corpus(config, download=tiny["download"], report=lambda line: None)
    assert {summary.name: summary.photos for summary in written} == {"training": 2, "validation": 1, "benchmark": 1}
    assert sorted(p.name for p in folders["training"].glob("*.png")) == ["skimage-clock.png", "tiny-a.png"]
    assert Image.open(folders["training"] / "tiny-a.png").size == (32, 24)  # factor 2 (the least)
    small = np.asarray(Image.open(folders["validation"] / "tiny-b.png"), np.float64)
    assert small.shape == (12, 16, 3)  # factor 4 brings 64 to 16
    source = np.asarray(tiny["images"]["usr/share/backgrounds/tiny/b.png"], np.float64)
    assert np.abs(small[0, 0] - source[:4, :4].mean(axis=(0, 1))).max() <= 0.5
    summary = json.loads((folders["benchmark"] / SUMMARY).read_text())
    assert summary["photos"] == 1 and summary["files"][0]["package"] == "tiny-wallpapers"
    build_corpus(config, download=tiny["download"], report=lambda line: None)  # a rerun uses the cache
    assert tiny["calls"] == [("tiny-wallpapers", "1.0-1")]


@needs_dpkg
def test_a_deb_that_differs_from_the_manifest_stops_the_build_and_writes_nothing(tiny, tmp_path):
    data = tiny["data"]
    data["packages"][0]["sha256"] = "0" * 64
    tiny["manifest"].write_text(json.dumps(data))
    folders = outputs(tmp_path)
    with pytest.raises(DenoiserError) as error:
        build_corpus(CorpusBuildConfig(**folders, cache=tiny["cache"], manifest=tiny["manifest"]),
                     download=tiny["download"], report=lambda line: None)
    assert "SHA-256" in str(error.value) and "\n" not in str(error.value)
    assert not any(folder.exists() for folder in folders.values())


@needs_dpkg
def test_a_photo_that_differs_from_the_manifest_exits_2_with_one_line_and_writes_nothing(tiny, tmp_path):
    data = tiny["data"]
    data["packages"][0]["photos"][2]["sha256"] = "f" * 64
    tiny["manifest"].write_text(json.dumps(data))
    (tiny["cache"] / "debs").mkdir(parents=True)
    shutil.copy(tiny["deb"], tiny["cache"] / "debs")  # cached and matching: no apt-get runs
    folders = outputs(tmp_path)
    run = subprocess.run([sys.executable, "-m", "denoiser", "corpus", "--out", str(folders["training"]),
                          "--benchmark", str(folders["benchmark"]), "--cache", str(tiny["cache"]),
                          "--manifest", str(tiny["manifest"])], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2
    assert run.stderr.startswith("error: tiny-wallpapers 1.0-1: usr/share/backgrounds/tiny/c.jxl has SHA-256")
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    assert not [p for p in tiny["cache"].iterdir() if p.name != "debs"]  # no staging or unpacked tree left


@needs_dpkg
def test_a_folder_holding_other_images_is_refused_before_any_download(tiny, tmp_path):
    folders = outputs(tmp_path)
    folders["validation"].mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(folders["validation"] / "holiday.png")
    with pytest.raises(DenoiserError, match="holiday.png"):
        build_corpus(CorpusBuildConfig(validation=folders["validation"], cache=tiny["cache"],
                                       manifest=tiny["manifest"]), download=tiny["download"])
    with pytest.raises(DenoiserError, match="own folder"):
        build_corpus(CorpusBuildConfig(training=folders["training"], benchmark=folders["training"],
                                       cache=tiny["cache"], manifest=tiny["manifest"]), download=tiny["download"])
    with pytest.raises(DenoiserError, match="at least one set"):
        build_corpus(CorpusBuildConfig(cache=tiny["cache"], manifest=tiny["manifest"]), download=tiny["download"])
    assert tiny["calls"] == []


def test_a_version_the_apt_sources_lack_stops_with_apt_s_error_in_one_line(tmp_path, monkeypatch):
    """apt-get replaced by a script that finds nothing and logs its calls."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    log = tmp_path / "calls.log"
    fake = bin_folder / "apt-get"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n"
                    "echo \"E: Version '9.9-1' for 'tiny-wallpapers' was not found\" >&2; exit 100\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DenoiserError) as error:
        download("tiny-wallpapers", "9.9-1", tmp_path)
    assert "\n" not in str(error.value)
    assert "(E: Version '9.9-1' for 'tiny-wallpapers' was not found)" in str(error.value)
    assert log.read_text().split() == ["download", "tiny-wallpapers=9.9-1"]  # the machine's sources, as configured


@needs_dpkg
def test_fetches_a_real_package_through_the_machine_s_apt_sources(tmp_path):
    """mate-backgrounds 1.26.0-1 (47 MB, in bookworm and trixie): apt-get download, both hashes
    checked, one photo written."""
    package = next(p for p in MANIFEST.packages if p.name == "mate-backgrounds")
    data = json.loads((ROOT / "denoiser" / "corpus" / "manifest.json").read_text())
    data["packages"] = [p for p in data["packages"] if p["name"] == package.name]
    data["packages"][0]["photos"] = [p for p in data["packages"][0]["photos"] if p["name"] == "mate-dune"]
    data["packages"][0]["photos"][0]["set"] = "benchmark"
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    written = build_corpus(CorpusBuildConfig(benchmark=tmp_path / "benchmark", cache=tmp_path / "cache",
                                             manifest=tmp_path / "manifest.json"), report=lambda line: None)
    assert written[0].photos == 1
    assert Image.open(tmp_path / "benchmark" / "mate-dune.png").size == reduced_size(1680, 1050, 768)
