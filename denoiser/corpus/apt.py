"""Debian packages by apt: `apt-get download NAME=VERSION` through the apt sources this machine is
configured with (`/etc/apt/sources.list*`), then SHA-256 checks (the manifest's pins, not the
source, vouch for each .deb) and `dpkg-deb -x`."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from denoiser.errors import DenoiserError


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(name: str, version: str, into: Path) -> Path:
    """Fetch NAME=VERSION into the folder `into` and return the .deb."""
    run = _run(["apt-get", "download", f"{name}={version}"], cwd=into)
    debs = sorted(Path(into).glob(f"{name}_*.deb"))
    if run.returncode == 0 and debs:
        return debs[0]
    raise DenoiserError(f"apt-get found no {name} {version} in this machine's apt sources ({_last_line(run)}): "
                        "add a suite that holds it (docs/DATA.md) and run apt-get update.")


def extract(deb: Path, into: Path) -> None:
    """Unpack the files of a .deb (`dpkg-deb -x`) into the folder `into`."""
    run = _run(["dpkg-deb", "-x", str(deb), str(into)])
    if run.returncode != 0:
        raise DenoiserError(f"dpkg-deb could not unpack {deb.name}: {_last_line(run)}")


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise DenoiserError("The corpus command needs apt-get and dpkg-deb (Debian or Ubuntu).") from None


def _last_line(run: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in (run.stderr + "\n" + run.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E:")]
    return (errors or lines or [f"exit status {run.returncode}"])[-1]
