"""The docs' own rules: a short README, lines a reader can follow, the present tense, and no link or
named file that leads nowhere. History belongs in CHANGELOG.md, which only the line rule covers."""

import json
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
    r"|the issue's|this session|these sessions|previous sessions?|session \d+|predates|another engineer"
    r"|was not available", re.IGNORECASE)
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


def _json(name: str) -> dict:
    return json.loads((ROOT / "docs" / name).read_text())


def _readme_number_sources() -> list[tuple[list[str], list[str], list[int]]]:
    """Per bullet of the README's "Numbers": the JSONs its linked doc must name, the numbers as the
    README prints them, computed from those JSONs, and its counts of held-out photos."""
    def summary(name: str) -> dict:
        return _json(f"benchmarks/{name}.json")["summary"]

    def photos(name: str) -> int:
        return len({row["image"] for row in _json(f"benchmarks/{name}.json")["results"]})

    gray = [summary(f"gray-sigma{sigma}") for sigma in (10, 25, 50)]
    color = [summary(f"color-sigma{sigma}") for sigma in (10, 25, 50)]
    impulses = [summary(f"salt-pepper-{density}") for density in (0.1, 0.3, 0.5, 0.7)]
    margins = [each["lstm"]["psnr"] - each["adaptive-median"]["psnr"] for each in impulses]
    camera = _json("benchmarks/camera-trained.json")
    darker = [camera["settings"][name]["means"] for name in ("Camera, gain 0.60, JPEG 90", "Camera, gain 0.90, JPEG 75")]
    per_image = _json("benchmarks/per-image.json")["summary"]
    notebook = _json("benchmarks/notebook.json")["scenarios"]["gray-gaussian"]
    load = _json("load_test.json")
    assert load["completed"] == load["sessions"] == 10 and not load["failed"]  # "all served"
    startup = _json("benchmarks/startup.json")["results"]["python -m denoiser --help"]["median_s"]
    home = _json("benchmarks/first_view.json")["runs"]["after /"]["median"]["first_title_s"]
    return [
        (["gray-sigma10", "color-sigma10"],
         [f"{each[method]['psnr']:.2f}" for each in gray for method in ("lstm", "bm3d")]
         + [f"{each[method]['psnr']:.2f}" for each in color for method in ("lstm", "bm3d")],
         [photos("gray-sigma25"), photos("color-sigma25")]),
        (["salt-pepper-0.1"], [f"{_json(f'benchmarks/salt-pepper-{d}.json')['density']:g}" for d in (0.1, 0.7)]
         + [f"{min(margins):.1f}", f"{max(margins):.1f}"], []),
        (["camera-trained.json"], [f"{means[method]['psnr']:.2f}" for method in ("camera-lstm", "bm3d-oracle")
                                   for means in darker], [len(camera["photos"])]),
        (["per-image.json"], [f"{per_image['fine-tuned-x8_minus_bm3d']:.2f}"], []),
        (["notebook.json"], [f"{notebook['notebook_test_mse']:,.0f}", f"{notebook['median']['runs']['notebook']['gain']:.2f}"],
         [len(notebook["rows"])]),
        (["load_test.json"], [f"{load['median_seconds_to_result']:.1f}", f"{load['slowest_seconds_to_result']:.1f}",
                              f"{load['server_peak_memory_mb']:,.1f}"], []),
        (["startup.json", "first_view.json"], [f"{startup:.2f}", f"{home:.2f}"], []),
    ]


def test_every_number_in_the_readme_is_the_one_its_doc_s_json_holds():
    text = README.read_text()
    section = text.split("## Numbers", 1)[1].split("\n## ", 1)[0]
    bullets = [" ".join(item.split()) for item in re.split(r"\n- ", section)[1:]]
    sources = _readme_number_sources()
    assert len(bullets) == len(sources)
    for bullet, (jsons, numbers, counts) in zip(bullets, sources):
        linked = "\n".join((ROOT / link.split("#")[0]).read_text() for link in LINK.findall(bullet))
        assert all(name in linked for name in jsons), (bullet, jsons)  # the doc names the JSON (or its table)
        printed = re.findall(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+\.\d+)(?![\w.])", bullet)
        assert sorted(printed) == sorted(numbers), bullet
        assert [int(n) for n in re.findall(r"(\d+) held-out photos", bullet)] == counts, bullet


NAMED_TABLE = re.compile(r"\bdocs/(benchmarks/[\w./-]+\.md)\b")


def _copied_tables(path: Path) -> list[tuple[str, list[str]]]:
    """The doc's study and campaign tables (first column *candidate* or *stage*) whose paragraph just
    above names a written table (docs/benchmarks/*.md): (the last file named, the rows with scores)."""
    found, named, table, previous = [], None, [], ""
    for line in path.read_text().splitlines() + [""]:
        if line.startswith("|"):
            table.append(line)
        else:
            if table and named and table[0].split("|")[1].strip() in ("candidate", "stage"):
                found.append((named, [row for row in table if _scores(row)]))
            if table or (line.strip() and not previous.strip()):
                named = None  # a new paragraph
            table, named = [], (NAMED_TABLE.findall(line) or [named])[-1]
        previous = line
    return [(name, rows) for name, rows in found if rows]


def _scores(line: str) -> list[str]:
    return re.findall(r"-?\d+\.\d\d\b", line)


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_a_copied_table_row_is_the_one_its_benchmark_wrote(path):
    """A table of scores that follows a mention of the table a benchmark script wrote copies it: each
    row's first cell and its scores, in order, are on one line of that file (columns may be left out)."""
    def label(line: str) -> str:
        return line.strip().strip("|").split("|")[0].replace("**", "").replace("`", "").strip().lower()

    for name, rows in _copied_tables(path):
        written = [line.lower() for line in (ROOT / "docs" / name).read_text().splitlines()]
        for line in rows:
            assert any(label(line) in source and _in_order(_scores(line), _scores(source)) for source in written), \
                (name, line)


def _in_order(wanted: list[str], found: list[str]) -> bool:
    remaining = iter(found)
    return all(any(value == each for each in remaining) for value in wanted)
