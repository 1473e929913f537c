"""The photo corpus: training, validation and benchmark photos built from pinned Debian packages.

`python -m denoiser corpus` fetches each package named in `manifest.json` with apt, checks it and
every photo taken from it against the SHA-256 there, block-averages the photos down so that JPEG
artefacts and sensor noise fall far below the noise we train against, and writes them as PNGs,
one folder per set. The sets are disjoint by photo group; docs/DATA.md has the sources and licenses.
"""
