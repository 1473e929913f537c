"""The docs' own rules: a short README, lines a reader can follow, the present tense, and no link or
named file that leads nowhere. History belongs in CHANGELOG.md, which only the line rule covers."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PRESENT = [README, *DOCS]  # the docs that describe the present
ALL = [*PRESENT, ROOT / "CHANGELOG.md"]

MAX_README_LINES = 100
MAX_LINE = 200
HISTORY = re.compile(  # phrases that tell history: they belong in CHANGELOG.md
    r"this version|versions? ago|previous versions?|earlier versions?|previous weights|earlier host|previous host"
    r"|the issue's|this session|these sessions|previous sessions?|session \d+", re.IGNORECASE)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
DOCS_PATH = re.compile(r"\bdocs/[\w./-]+\.(?:json|md)\b")

def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = [line.lstrip("#").strip() for line in path.read_text().splitlines() if re.match(r"#{1,6} ", line)]
    return {re.sub(r"[^\w\- ]", "", heading.replace("`", "")).lower().replace(" ", "-") for heading in headings}


def test_the_readme_is_a_front_page():
    assert len(README.read_text().splitlines()) <= MAX_README_LINES


@pytest.mark.parametrize("path", ALL, ids=_name)
def test_no_line_runs_past_the_limit(path):
    long = [f"{number}: {len(line)} characters" for number, line in enumerate(path.read_text().splitlines(), 1)
            if len(line) > MAX_LINE]
    assert not long, long


@pytest.mark.parametrize("path", PRESENT, ids=_name)
def test_docs_describe_the_present(path):
    found = [f"{number}: {match.group(0)!r}" for number, line in enumerate(path.read_text().splitlines(), 1)
             for match in HISTORY.finditer(line)]
    assert not found, found


@pytest.mark.parametrize("path", PRESENT, ids=_name)
def test_every_relative_link_leads_to_a_file(path):
    broken = []
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#") and not target[1:]:
            continue  # a web address, or a bare "#"
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target} (no such heading)")
    assert not broken, broken


@pytest.mark.parametrize("path", PRESENT, ids=_name)
def test_every_named_docs_file_exists(path):
    missing = sorted({name for name in DOCS_PATH.findall(path.read_text())
                      if not (ROOT / name).exists()})
    assert not missing, missing
