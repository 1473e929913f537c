"""First page view: seconds from opening a page of a freshly started `streamlit run` to its title.

Each repeat starts the app on a free local port, waits for the server's health check, opens the
page in a fresh headless Chromium context and records the seconds until the page's title is drawn
and until the page's script has finished (Streamlit's status widget gone), then a second view in
a new session (imports and caches warm). Chromium starts before the server, so its own start-up is
not counted. Each `--tree LABEL=DIR` serves the app in DIR (another checkout: an earlier commit,
via `git archive COMMIT | tar -x -C DIR`); the trees take turns, so they share the machine's load.
Results go under their labels in `--json`, keeping other labels, with the machine they ran on.

    python benchmarks/first_view.py                                   # this tree, page /, 3 fresh servers
    python benchmarks/first_view.py --tree before=/tmp/head --tree after=. --path /gray-gaussian
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load_test import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, healthy, server_command, stop_server

TITLES = {"/": "LSTM image-denoising lab", "/gray-gaussian": "Gray · Gaussian",
          "/gray-salt-pepper": "Gray · Salt & pepper", "/color-gaussian": "Color · Gaussian",
          "/your-photo": "Your photo", "/benchmark": "Benchmark"}
"""Each page's title, drawn by its first `st.title`."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", metavar="LABEL=DIR",
                        help="a checkout to serve, and the label its numbers are stored under (default: now=.)")
    parser.add_argument("--path", default="/", choices=list(TITLES), help="the page to open")
    parser.add_argument("--repeats", type=int, default=3, help="fresh servers, one first view each")
    parser.add_argument("--json", default=str(ROOT / "docs" / "benchmarks" / "first_view.json"))
    return parser.parse_args(argv)


def view(browser, url: str, title: str) -> tuple[float, float]:
    """Seconds from `goto` to the title drawn, and to the page's script finished, in a new session."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        started = time.perf_counter()
        page.goto(url)
        page.get_by_role("heading", name=title).first.wait_for()
        drawn = time.perf_counter() - started
        page.wait_for_timeout(200)
        page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
        finished = time.perf_counter() - started
        if page.get_by_test_id("stException").count():
            raise RuntimeError(page.get_by_test_id("stException").first.inner_text())
        return drawn, finished
    finally:
        context.close()


def one_server(browser, tree: Path, path: str) -> dict:
    """Start `streamlit run` in `tree`, then time a first and a second view of `path`."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        server = subprocess.Popen(server_command(port), cwd=tree, stdout=log, stderr=subprocess.STDOUT)
        try:
            while not healthy(port):
                if server.poll() is not None or time.perf_counter() - started > 120:
                    log.seek(0)
                    raise RuntimeError(f"streamlit did not start:\n{log.read()[-2000:]}")
                time.sleep(0.1)
            ready = time.perf_counter() - started
            url = f"http://127.0.0.1:{port}{path}"
            first = view(browser, url, TITLES[path])
            second = view(browser, url, TITLES[path])
        finally:
            stop_server(server)
    return {"server_ready_s": round(ready, 2), "first_title_s": round(first[0], 2), "first_finished_s": round(first[1], 2),
            "second_title_s": round(second[0], 2), "second_finished_s": round(second[1], 2)}


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    from denoiser.evaluation.comparison import machine

    args = parse_args(argv)
    trees = {label: Path(folder).resolve() for label, folder in
             (entry.split("=", 1) for entry in args.tree or [f"now={ROOT}"])}
    load_before = round(os.getloadavg()[0], 2)  # other work on the machine slows every number
    runs = {label: [] for label in trees}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for repeat in range(args.repeats):
                for label, tree in trees.items():  # the trees take turns
                    runs[label].append(one_server(browser, tree, args.path))
                    print(f"{label}, repeat {repeat + 1}: {runs[label][-1]}", file=sys.stderr, flush=True)
        finally:
            browser.close()
    path = Path(args.json)
    report = json.loads(path.read_text()) if path.is_file() else {}
    report["command"] = "python benchmarks/first_view.py [--tree LABEL=DIR ...] [--path /] [--repeats 3]"
    report["what"] = ("seconds from opening the page of a freshly started `streamlit run` to its title drawn and "
                      "to its script finished (median of fresh servers), then a second view in a new session")
    for label, tree_runs in runs.items():
        median = {key: round(statistics.median(run[key] for run in tree_runs), 2) for key in tree_runs[0]}
        report.setdefault("runs", {})[f"{label} {args.path}"] = {
            "page": args.path, "tree": str(trees[label]), "repeats": args.repeats, "median": median, "runs": tree_runs,
            "machine": machine(), "load_average_at_start": load_before, "measured": time.strftime("%Y-%m-%d %H:%M")}
        print(label, json.dumps(median))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
