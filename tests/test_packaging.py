"""Packaging: the three dependency lists agree, every import is declared, and the wheel carries the
weights, the licenses and the `denoiser` command."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found[normal(match[1])] = match[2]
    return found


CORE = pins(PROJECT["dependencies"])
APP = pins(PROJECT["optional-dependencies"]["app"])
CORPUS = pins(PROJECT["optional-dependencies"]["corpus"])
DEV = pins(PROJECT["optional-dependencies"]["dev"])
NOT_HOSTED = {"bm3d", "pillow-jxl-plugin"}
"""Left out of the hosted demo's Pipfile: bm3d's license asks for consent before it goes on a server,
and only the `corpus` command reads JPEG XL."""


def test_every_requirement_is_pinned_once():
    extras = PROJECT["optional-dependencies"]
    listed = PROJECT["dependencies"] + extras["app"] + extras["corpus"] + extras["dev"]
    assert len(CORE) + len(APP) + len(CORPUS) + len(DEV) == len(listed)  # every entry is a pin; no name twice
    assert CORE["torch"] == "2.13.0"  # an unpinned torch is a multi-GB CUDA build on Linux


def test_requirements_files_hold_the_same_pins():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert pins(requirements) == CORE | APP | CORPUS
    options = [line for line in requirements if line.startswith("-")]
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]  # torch's CPU build; the rest PyPI
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in dev and pins(dev) == DEV


def test_pipfile_holds_the_same_pins_with_torch_from_the_cpu_index():
    pipfile = tomllib.loads((ROOT / "Pipfile").read_text())
    packages = {normal(name): spec for name, spec in pipfile["packages"].items()}
    versions = {name: spec if isinstance(spec, str) else spec["version"] for name, spec in packages.items()}
    assert versions == {name: f"=={version}" for name, version in (CORE | APP).items() if name not in NOT_HOSTED}
    sources = {source["name"]: source["url"] for source in pipfile["source"]}
    assert sources[packages["torch"]["index"]] == "https://download.pytorch.org/whl/cpu"
    assert pipfile["source"][0]["url"] == "https://pypi.org/simple"  # the default: everything else
    assert all(isinstance(spec, str) for name, spec in packages.items() if name != "torch")


def imported_distributions(paths: list[Path]) -> dict[str, set[str]]:
    """The installed distributions that the absolute imports in `paths` come from, and where."""
    local = ({p.name for p in ROOT.iterdir() if p.is_dir()} | {p.stem for p in ROOT.glob("*.py")}
             | {p.stem for path in paths for p in path.parent.glob("*.py")})
    owners = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in local:
                    continue
                for owner in owners.get(top, [f"unknown module {top}"]):
                    found.setdefault(normal(owner), set()).add(path.relative_to(ROOT).as_posix())
    return found


def python_files(*parts: str) -> list[Path]:
    return [path for part in parts for path in
            ([ROOT / part] if part.endswith(".py") else sorted((ROOT / part).rglob("*.py")))]


@pytest.mark.parametrize("parts, declared", [
    (("denoiser",), CORE | CORPUS),
    (("dashboard", "app_pages", "streamlit_app.py"), CORE | APP),
    (("benchmarks", "scripts", "tests"), CORE | APP | CORPUS | DEV),
])
def test_every_import_is_declared(parts, declared):
    used = imported_distributions(python_files(*parts))
    assert used, "no imports found: the scan is broken"
    assert {name: where for name, where in used.items() if name not in declared} == {}


def test_the_dashboard_declares_pandas_it_imports():
    assert "pandas" in imported_distributions(python_files("dashboard", "app_pages", "streamlit_app.py"))
    assert "pandas" in APP


def test_the_wheel_carries_the_weights_the_licenses_and_the_command(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT / "denoiser", source / "denoiser", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(name.rsplit("/", 1)[0] for name in names if name.endswith(".dist-info/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
    modules = {path.relative_to(source).as_posix() for path in (source / "denoiser").rglob("*.py")}
    assert modules <= names  # subpackages too
    weights = {path.name for path in (ROOT / "denoiser" / "weights").glob("*.pt")}
    assert weights and {f"denoiser/weights/{name}" for name in weights} <= names
    assert {"denoiser/weights/COPYING", f"{info}/licenses/LICENSE"} <= names
    assert "denoiser = denoiser.__main__:run" in entry_points
    assert "License-Expression: BSD-3-Clause AND GPL-2.0-or-later" in metadata
    assert "Requires-Dist: torch==2.13.0" in metadata and "Requires-Dist: pandas==3.1.1; extra == \"app\"" in metadata
