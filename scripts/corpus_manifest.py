"""Write denoiser/corpus/manifest.json from the photos chosen below: fetch each package, pin its and
each photo's SHA-256 and size, group near-duplicates, check that no photo repeats a scikit-image
sample, and split the groups into training, validation and benchmark sets.

Every photo below was looked at: photographs only, no renders, illustrations, paintings, abstract
art, gradients or logos (docs/DATA.md). Each kept file is the largest one of its photo.
Needs apt-get and dpkg-deb, and apt sources that hold the pinned versions (docs/DATA.md); about
400 MB of packages land in the cache.
Usage: python scripts/corpus_manifest.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from denoiser.corpus.apt import download, extract, sha256_of  # noqa: E402
from denoiser.corpus.build import default_cache  # noqa: E402
from denoiser.corpus.manifest import MANIFEST  # noqa: E402
from denoiser.corpus.photos import (  # noqa: E402
    SAME_PHOTO,
    block_average,
    group_photos,
    load_photo,
    name_stem,
    reduced_size,
    reduction_factor,
    signature,
)
from denoiser.corpus.split import SplitRule, assign_sets  # noqa: E402
from denoiser.noise.level import estimate_sigma  # noqa: E402
from denoiser.samples import BENCHMARK_PHOTOS, TRAINING_PHOTOS, sample_photo  # noqa: E402

LONGEST_SIDE = {"training": 2048, "validation": 768, "benchmark": 768}
MAX_SIGMA = 2.5
"""The most noise `estimate_sigma` may find in a photo once reduced for its set (0..255 scale; a
quarter of the lowest benchmark sigma, 10). It reads some fine texture as noise too, so it bounds
the photo's own noise from above. ukui-wallpapers' look.jpg read 5.7 at the training reduction."""
SPLIT = SplitRule(seed="corpus-2026-12", benchmark_below=0.13, validation_below=0.425,
                  training_only=("mate-backgrounds",))  # the bundled weights trained on its photos
"""The bounds keep the first split, which took the first 10 of the 84 groups then in hash order for
the benchmark and the next 20 for validation; groups added since fall by their own hash."""

# (package, version, license of the package, prefix of the photo names, [(file, name, license or None)])
MATE = "usr/share/backgrounds/mate/nature/"
LOMIRI = "usr/share/backgrounds/"
LXQT = "usr/share/lxqt/wallpapers/"
PLASMA = "usr/share/wallpapers/"
BUDGIE = "usr/share/backgrounds/budgie/"
GNOME = "usr/share/backgrounds/gnome/"
UKUI = "usr/share/backgrounds/"
CHOSEN = [
    ("mate-backgrounds", "1.26.0-1", "GPL-2+", "mate",
     [(f"{MATE}{n}.jpg", n.lower(), None) for n in ("Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow",
                                                      "LadyBird", "RainDrops", "Storm", "TwoWings", "Wood",
                                                      "YellowFlower")]),
    ("lomiri-wallpapers-16.04", "20.04.0-4", "per photo", "lomiri",
     [(f"{LOMIRI}{f}", n, lic) for f, n, lic in (
         ("Bridge_by_Sander_Klootwijk.jpg", "bridge", "CC-BY-SA-4.0"),
         ("Dragonfly_by_Bolly.jpg", "dragonfly", "CC-BY-SA-4.0"),
         ("Picture_0B_by_freespace.jpg", "fig", "CC-BY-4.0"),
         ("Picture_1A_by_freespace.jpg", "brushes", "CC-BY-4.0"),
         ("Wine_by_Jakkub_Mede.jpg", "wine", "CC-BY-4.0"),
         ("aitzgorri_by_Aitzol_Berasategi.jpg", "aitzgorri", "CC-BY-4.0"),
         ("free_by_Peter_Nerlich.jpg", "free", "CC-BY-SA-4.0"),
         ("friends_by_Aitzol_Berasategi.jpg", "friends", "CC-BY-4.0"),
         ("greentock_by_Peter_Nerlich.jpg", "greentock", "CC-BY-SA-4.0"),
         ("life_by_Aitzol_Berasategi.jpg", "life", "CC-BY-4.0"),
         ("picosdeeuropa_by_Aitzol_Berasategi.jpg", "picosdeeuropa", "CC-BY-4.0"),
         ("seeding_by_Clements_Engelhardt.jpg", "seeding", "CC0-1.0"),
         ("sunset_by_Aitzol_Berasategi.jpg", "sunset", "CC-BY-4.0"))]),
    ("lomiri-wallpapers-20.04", "20.04.0-4", "CC-BY-SA-3.0", "lomiri",
     [(f"{LOMIRI}Kleiber_by_Lukas_Baubkus.jpg", "kleiber", None)]),
    ("lxqt-themes", "2.1.0-1", "CC-BY-SA-3.0", "lxqt",
     [(f"{LXQT}{f}", f.rsplit(".", 1)[0].lower(), None) for f in (
         "Butterfly-Kenneth-Wimer.jpg", "Valendas.png", "after-the-rain.jpg", "appleflower.png", "beam.png",
         "butterfly.png", "cloud.png", "drop.png", "flowers.png", "fog.jpg", "this-is-not-windows.jpg")]),
    ("plasma-workspace-wallpapers", "4:6.3.4-1", "per photo", "plasma",
     [(f"{PLASMA}{folder}/contents/images/{size}", folder.lower().replace("_", "-"), lic) for folder, size, lic in (
         ("BytheWater", "2560x1600.jpg", "LGPL-3"), ("ColdRipple", "2560x1600.jpg", "LGPL-3"),
         ("ColorfulCups", "2560x1600.jpg", "LGPL-3"), ("DarkestHour", "2560x1600.jpg", "LGPL-3"),
         ("EveningGlow", "2560x1600.jpg", "LGPL-3"), ("FallenLeaf", "2560x1600.jpg", "LGPL-3"),
         ("Grey", "2560x1600.jpg", "LGPL-3"), ("Kite", "2560x1600.jpg", "LGPL-3"),
         ("OneStandsOut", "2560x1600.jpg", "LGPL-3"), ("Path", "2560x1600.jpg", "LGPL-3"),
         ("summer_1am", "2560x1600.jpg", "LGPL-3"), ("Mountain", "5120x2880.png", "CC-BY-SA-4.0"))]),
    ("sddm-theme-maldives", "0.21.0+git20250502.4fe234b-2", "CC-BY-3.0", "sddm",
     [("usr/share/sddm/themes/maldives/background.jpg", "maldives", None)]),
    ("budgie-backgrounds", "3.0-1", "CC0-1.0", "budgie",
     [(f"{BUDGIE}{n}.jpg", n, None) for n in (
         "abstract-spiral", "beacon-street-sunset", "blue-periwinkle", "canyon-wren", "casa-mila",
         "extreme-desert-hike", "high-trestle-trail", "lake-sherburne", "oakland-zoo-otters", "perched-osprey",
         "piazza-gae-aulenti", "roman-colosseum", "singaporean-cityscape", "tea-gardens")]),
    ("gnome-backgrounds", "3.38.0-1", "per photo", "gnome",
     [(f"{GNOME}{f}", f.rsplit(".", 1)[0].lower().replace("_", "-"), lic) for f, lic in (
         ("ColdWarm.jpg", "CC0-1.0"), ("Dark_Ivy.jpg", "CC-BY-SA-3.0"), ("Icetwigs.jpg", "GPL-2+"),
         ("LightWaves.jpg", "CC0-1.0"), ("Road.jpg", "CC0-1.0"), ("SeaSunset.jpg", "CC0-1.0"))]),
    ("budgie-backgrounds", "4.2-1", "CC0-1.0", "budgie",  # the four photos 3.0 lacks, in JPEG XL only
     [(f"{BUDGIE}{n}.jxl", n, None) for n in ("perched-shrike", "pondering-heron", "sunning-anhinga",
                                               "the-spices-of-life")]),  # not saturnian-profile: mostly black sky
    ("ukui-wallpapers", "20.04.4-1", "CC-BY-SA-3.0", "ukui",
     [(f"{UKUI}{n}.jpg", n, None) for n in (
         "bluebird", "bridgecity", "bridgecity2", "flamingos", "horse", "house", "mountain-range",
         "mountain", "mountain2", "sea", "sky", "snowy-mountains", "still-life", "sunf")]),  # not look.jpg: grainy
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache())
    args = parser.parse_args()
    (args.cache / "debs").mkdir(parents=True, exist_ok=True)
    packages, stems, signatures, owner, noise = [], {}, {}, {}, {}
    for name, version, license_, prefix, chosen in CHOSEN:
        with tempfile.TemporaryDirectory(dir=args.cache) as work:
            deb = download(name, version, Path(work))
            extract(deb, Path(work) / "tree")
            photos = []
            for file, short, photo_license in chosen:
                path = Path(work) / "tree" / file
                image, photo = load_photo(path), f"{prefix}-{short}"
                stems[photo], signatures[photo], owner[photo] = f"{name}/{name_stem(file)}", signature(image), name
                noise[photo] = _noise_after_reduction(image)
                photos.append({"name": photo, "file": file, "sha256": sha256_of(path), "width": image.shape[1],
                               "height": image.shape[0], "license": photo_license or license_})
            packages.append({"name": name, "version": version, "sha256": sha256_of(deb),
                             "license": license_, "photos": photos})
        print(f"{name} {version}: {len(photos)} photos", file=sys.stderr)
    _check_not_scikit_image(signatures)
    groups = group_photos(stems, signatures)
    pinned = {group for photo, group in groups.items() if owner[photo] in SPLIT.training_only}
    sets = assign_sets({group for group in groups.values() if group not in pinned}, SPLIT)
    for package in packages:
        for photo in package["photos"]:
            photo["group"] = groups[photo["name"]]
            photo["set"] = sets.get(photo["group"], "training")
            sigma = noise[photo["name"]][LONGEST_SIDE[photo["set"]]]
            if sigma > MAX_SIGMA:
                sys.exit(f"{photo['name']} still reads sigma {sigma:.1f} once reduced for {photo['set']}; leave it out.")
    manifest = {"about": "Pinned sources of the photo corpus; written by scripts/corpus_manifest.py, "
                         "read by `python -m denoiser corpus`. Sizes are as decoded; each set is block-averaged "
                         "by the smallest whole factor of 2 or more that brings the longest side to "
                         "longest_side pixels or fewer.",
                "longest_side": LONGEST_SIDE,
                "split": {"seed": SPLIT.seed, "benchmark_below": SPLIT.benchmark_below,
                          "validation_below": SPLIT.validation_below, "training_only": list(SPLIT.training_only)},
                "scikit_image": list(TRAINING_PHOTOS), "packages": packages}
    MANIFEST.write_text(_dump(manifest))
    for set_name, longest in LONGEST_SIDE.items():
        kept = [p for package in packages for p in package["photos"] if p["set"] == set_name]
        pixels = sum(w * h for w, h in (reduced_size(p["width"], p["height"], longest) for p in kept))
        print(f"{set_name}: {len(kept)} package photos, {pixels / 1e6:.1f} megapixels", file=sys.stderr)
    print(f"wrote {MANIFEST}")


def _noise_after_reduction(image) -> dict[int, float]:
    """`estimate_sigma` of the photo reduced to each set's longest side."""
    return {side: estimate_sigma(block_average(image, reduction_factor(image.shape[1], image.shape[0], side)))
            for side in set(LONGEST_SIDE.values())}


def _check_not_scikit_image(signatures: dict) -> None:
    """No corpus photo may repeat a scikit-image photo: the benchmark ones score, the training ones
    would count twice."""
    samples = {name: signature(sample_photo(name)) for name in TRAINING_PHOTOS + BENCHMARK_PHOTOS}
    for photo, mark in signatures.items():
        for name, sample in samples.items():
            if float(mark @ sample) > SAME_PHOTO:
                sys.exit(f"{photo} looks like the scikit-image photo {name}; leave it out.")


def _dump(manifest: dict) -> str:
    """JSON with one line per photo, so the manifest reads as a table and diffs line by line."""
    lines = ["{"] + [f" {json.dumps(key)}: {json.dumps(value)}," for key, value in manifest.items() if key != "packages"]
    lines.append(' "packages": [')
    for i, package in enumerate(manifest["packages"]):
        fields = {key: value for key, value in package.items() if key != "photos"}
        lines.append("  {" + json.dumps(fields)[1:-1] + ', "photos": [')
        lines += ["   " + json.dumps(photo) + ("," if j < len(package["photos"]) - 1 else "")
                  for j, photo in enumerate(package["photos"])]
        lines.append("  ]}" + ("," if i < len(manifest["packages"]) - 1 else ""))
    lines += [" ]", "}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
