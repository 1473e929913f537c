"""Checks behind the deploy layout (docs/DEPLOY.md), run on this machine, which reaches PyPI but not
download.pytorch.org:

1. pip resolving requirements.txt for a fresh environment (`--dry-run --ignore-installed`): as it
   is (PyTorch's CPU index as an `--extra-index-url` line), with `--retries 1` (as scripts/test.sh
   installs it) and without that line (PyPI only): seconds, retry warnings, the torch build chosen.
2. pipenv locking the Pipfile, with its `pytorch-cpu` source pointed at a local stand-in index that
   holds the torch wheel `pip download torch==2.13.0 --no-deps` gives here (the +cpu build): which
   index each package came from. pip's own configuration is switched off, so only the Pipfile's
   sources count.

Writes docs/benchmarks/deploy_layout.json. Takes about 10 minutes.

    python benchmarks/deploy_layout.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
OUTPUT = ROOT / "docs" / "benchmarks" / "deploy_layout.json"


def resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


def pip_dry_run(requirements: Path, *options: str) -> dict:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", *options,
                             "-r", str(requirements)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    chosen = re.search(r"Would install .*?\btorch-(\S+)", result.stdout)
    return {"seconds": round(seconds, 1), "returncode": result.returncode,
            "retry_warnings": result.stderr.count("Retrying"), "torch": chosen[1] if chosen else None,
            "nvidia_packages": len(re.findall(r"\bnvidia-", result.stdout.split("Would install")[-1]))}


def pipenv_lock(work: Path) -> dict:
    venv = work / "pipenv-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "pipenv"], check=True, capture_output=True)
    version = subprocess.run([str(venv / "bin" / "pipenv"), "--version"], capture_output=True, text=True).stdout.split()[-1]

    index = work / "stand-in-index"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "torch==2.13.0", "-d", str(index / "torch")],
                   check=True, capture_output=True)
    (wheel,) = (index / "torch").glob("*.whl")
    if "+cpu" not in wheel.name:
        raise SystemExit(f"pip download gave {wheel.name}, not a +cpu build: no stand-in for the CPU index here")
    (index / "torch" / "index.html").write_text(f'<a href="{wheel.name.replace("+", "%2B")}">{wheel.name}</a>\n')

    project = work / "project"
    project.mkdir()
    pipfile = (ROOT / "Pipfile").read_text()
    if CPU_INDEX not in pipfile:
        raise SystemExit(f"The Pipfile has no source {CPU_INDEX}")
    (project / "Pipfile").write_text(pipfile.replace(CPU_INDEX, index.as_uri()))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PIPENV_"))}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIPENV_VENV_IN_PROJECT": "1", "PIPENV_YES": "1"}
    start = time.perf_counter()
    result = subprocess.run([str(venv / "bin" / "pipenv"), "lock"], cwd=project, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        return {"pipenv": version, "returncode": result.returncode, "error": result.stderr[-2000:]}
    lock = json.loads((project / "Pipfile.lock").read_text())
    sources = {source["name"]: source["url"] for source in lock["_meta"]["sources"]}
    sources["pytorch-cpu"] = CPU_INDEX + " (stand-in: a local index with the torch wheel)"
    packages = lock["default"]
    return {"pipenv": version, "returncode": 0, "lock_seconds": round(seconds, 1),
            "packages": len(packages), "torch": packages["torch"]["version"].lstrip("="),
            "torch_index": sources[packages["torch"].get("index", "pypi")],
            "packages_from_other_indexes": sorted(name for name, spec in packages.items()
                                                  if name != "torch" and spec.get("index", "pypi") != "pypi"),
            "nvidia_packages": sorted(name for name in packages if name.startswith("nvidia"))}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        lines = (ROOT / "requirements.txt").read_text().splitlines(keepends=True)
        if f"--extra-index-url {CPU_INDEX}\n" not in lines:
            raise SystemExit(f"requirements.txt has no line --extra-index-url {CPU_INDEX}")
        pypi_only = work / "requirements-pypi-only.txt"
        pypi_only.write_text("".join(line for line in lines if not line.startswith("--extra-index-url")))
        record = {
            "command": "python benchmarks/deploy_layout.py",
            "download.pytorch.org resolves": resolves("download.pytorch.org"),
            "pypi.org resolves": resolves("pypi.org"),
            "pip": subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()[1],
            "pip_requirements_txt": pip_dry_run(ROOT / "requirements.txt"),
            "pip_requirements_txt_retries_1": pip_dry_run(ROOT / "requirements.txt", "--retries", "1"),
            "pip_requirements_txt_without_cpu_extra_index": pip_dry_run(pypi_only),
            "pipenv_lock_pipfile": pipenv_lock(work),
        }
        shutil.rmtree(work / "pipenv-venv", ignore_errors=True)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
