"""Debian packages by apt: `apt-get download NAME=VERSION` with the corpus's own sources list and
package lists under the cache folder, so it needs no root, leaves /etc/apt alone and sees the
same suites on every machine; then SHA-256 checks and `dpkg-deb -x`."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from denoiser.errors import DenoiserError

KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
"""Debian's archive key; where it is missing (not Debian) the lists are fetched unsigned, which is
safe here because every .deb is then checked against the SHA-256 the manifest pins."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class AptArchive:
    """apt-get over `sources` (suite -> archive URL, main component) with its state in `folder`."""

    folder: Path
    sources: dict[str, str]

    def download(self, name: str, version: str, into: Path) -> Path:
        """Fetch NAME=VERSION into the folder `into` and return the .deb; on a miss the package lists
        are refreshed once (always so on a fresh cache) and the download tried again."""
        self._write_sources()
        for attempt in range(2):
            run = self._apt("apt-get", "download", f"{name}={version}", cwd=into)
            debs = sorted(into.glob(f"{name}_*.deb"))
            if run.returncode == 0 and debs:
                return debs[0]
            if attempt == 0:
                self.update()
        suites = ", ".join(f"{suite} at {url}" for suite, url in self.sources.items())
        raise DenoiserError(f"apt-get found no {name} {version} in {suites}: {_last_line(run)}")

    def update(self) -> None:
        run = self._apt("apt-get", "update")
        if run.returncode != 0:
            raise DenoiserError(f"apt-get update of the corpus package lists failed: {_last_line(run)}")

    def _write_sources(self) -> None:
        (self.folder / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.folder / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        (self.folder / "empty.d").mkdir(exist_ok=True)
        option = f"signed-by={KEYRING}" if KEYRING.is_file() else "trusted=yes"
        lines = [f"deb [{option}] {url} {suite} main" for suite, url in sorted(self.sources.items())]
        (self.folder / "sources.list").write_text("\n".join(lines) + "\n")

    def _apt(self, *command: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        options = {"Dir::Etc::SourceList": self.folder / "sources.list",
                   "Dir::Etc::SourceParts": self.folder / "empty.d",
                   "Dir::Etc::Preferences": "/dev/null", "Dir::Etc::PreferencesParts": self.folder / "empty.d",
                   "Dir::State::Lists": self.folder / "lists", "Dir::Cache": self.folder / "cache",
                   "Dir::State::status": "/dev/null", "Acquire::Languages": "none",
                   # Lists from archive.debian.org or snapshot.debian.org are past their Valid-Until
                   # by design; the SHA-256 pins, not the lists' age, vouch for each .deb.
                   "Acquire::Check-Valid-Until": "false"}
        arguments = [command[0], *(f"-o{key}={value}" for key, value in options.items()), *command[1:]]
        try:
            return subprocess.run(arguments, cwd=cwd, capture_output=True, text=True)
        except FileNotFoundError:
            raise DenoiserError("The corpus command needs apt-get and dpkg-deb (Debian or Ubuntu).") from None


def extract(deb: Path, into: Path) -> None:
    """Unpack the files of a .deb (`dpkg-deb -x`) into the folder `into`."""
    try:
        run = subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], capture_output=True, text=True)
    except FileNotFoundError:
        raise DenoiserError("The corpus command needs apt-get and dpkg-deb (Debian or Ubuntu).") from None
    if run.returncode != 0:
        raise DenoiserError(f"dpkg-deb could not unpack {deb.name}: {_last_line(run)}")


def _last_line(run: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in (run.stderr + "\n" + run.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E:")]
    return (errors or lines or [f"exit status {run.returncode}"])[-1]
