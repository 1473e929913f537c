"""Load test: many visitors training at once against one `streamlit run` server, in real Chromium.

Starts the app on a free local port, opens `--sessions` browser sessions (one context each, so
each is its own Streamlit session), uploads a crop of the camera photo in each on Gray · Gaussian,
keeps the page's defaults (the Quick preset), waits until every session is ready and then presses
Train in all of them at once. It reports how many reached a result, the time from the click to the result (the slowest is
what the last visitor in line waits), the places in line and the forecasts the pages showed, which
trainings were shortened because others waited, the server's peak memory (VmHWM of the server
process) and the machine's load average before and after, and writes them to `--json` (default
docs/load_test.json).

    python benchmarks/load_test.py                          # 10 sessions, 256x256 upload, the page's defaults
    LAB_MAX_TRAININGS=1 python benchmarks/load_test.py      # the server's slot settings (dashboard/training_slots.py)

The server and the browser are stopped however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.training_slots import training_slots  # noqa: E402
from denoiser.evaluation.comparison import machine  # noqa: E402
from denoiser.samples import sample_photo  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PAGES = ("gray-gaussian", "gray-salt-pepper", "color-gaussian")
"""Pages `--pages` may name; sessions cycle over those named."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--side", type=int, default=256, help="the uploaded image is side x side pixels")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=["gray-gaussian"],
                        help="scenario pages the sessions cycle over")
    parser.add_argument("--epochs", type=int, default=None, help="epochs instead of the page's default")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a session may take for its result")
    parser.add_argument("--json", default=str(ROOT / "docs" / "load_test.json"))
    return parser.parse_args(argv)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(port: int) -> list[str]:
    """`streamlit run streamlit_app.py` on a local port, headless."""
    return [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]


def start_server(port: int, log) -> subprocess.Popen:
    process = subprocess.Popen(server_command(port), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while not healthy(port):
        if process.poll() is not None or time.time() > deadline:
            raise RuntimeError("streamlit did not start; see the server log")
        time.sleep(0.5)
    return process


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as response:
            return response.read() == b"ok"
    except OSError:
        return False


def stop_server(server: subprocess.Popen) -> None:
    """Terminate the server; kill it if it has not exited within 15 s."""
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


def memory_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def uptime() -> str:
    """The machine's load averages now (1, 5, 15 minutes), as `uptime` prints them: other jobs share it."""
    return "load average: " + ", ".join(f"{load:.2f}" for load in os.getloadavg())


def first_traceback(log: str, lines: int = 40) -> str | None:
    """The server log's first traceback (up to `lines` lines), to tell what went wrong; None when none."""
    start = log.find("Traceback")
    return None if start < 0 else "\n".join(log[start:].splitlines()[:lines])


def write_upload(folder: Path, side: int) -> Path:
    crop = sample_photo("camera", 1)[60:60 + side, 190:190 + side]
    path = folder / f"camera-{side}.png"
    Image.fromarray(np.round(crop[..., 0] * 255).astype(np.uint8)).save(path)
    return path


async def wait_until_idle(page, timeout_ms: float) -> None:
    await page.wait_for_timeout(300)
    await page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=timeout_ms)


async def metric(page, label: str) -> float:
    """The number in a metric tile ("PSNR denoised": 28.31 dB)."""
    tile = page.get_by_test_id("stMetric").filter(has_text=label).first
    return float(re.search(r"-?\d+(\.\d+)?", await tile.get_by_test_id("stMetricValue").inner_text()).group())


async def session(number: int, browser, url: str, upload: Path, pages: list[str], epochs: int | None, ready: list,
                  go: asyncio.Event, timeout: float) -> dict:
    """One visitor: open a scenario page, upload (and set the epochs if told), then (with everyone) Train."""
    key = pages[number % len(pages)]
    record = {"session": number, "page": key, "done": False, "seconds": None, "max_place": 0,
              "first_forecast_seconds": None, "shortened_to_seconds": None, "gain_db": None, "error": None}
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(timeout * 1000)
    try:
        await page.goto(f"{url}/{key}")
        await page.get_by_role("button", name="Train", exact=True).wait_for()
        await page.get_by_test_id("stRadio").first.get_by_text("Upload", exact=True).click()
        await page.locator("input[type=file]").first.set_input_files(str(upload))
        await page.get_by_text("Noisy · PSNR").wait_for()
        await wait_until_idle(page, timeout * 1000)
        if epochs is not None:
            epochs_field = page.get_by_label("Epochs", exact=True)
            await epochs_field.fill(str(epochs))
            await epochs_field.press("Enter")
            await wait_until_idle(page, timeout * 1000)
        ready.append(number)
        say(f"session {number} ready on /{key}")
        await go.wait()

        await page.get_by_role("button", name="Train", exact=True).click()
        started = time.perf_counter()
        result = page.get_by_test_id("stMetric").filter(has_text="PSNR denoised")
        queued = page.get_by_text(re.compile(r"you are number \d+ in line"))
        while await result.count() == 0:
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"no result after {timeout:.0f} s")
            if await queued.count():
                try:
                    text = await queued.first.inner_text(timeout=1000)
                    place = int(re.search(r"number (\d+) in line", text).group(1))
                    record["max_place"] = max(record["max_place"], place)
                    forecast = re.search(r"result in about (\d+) s", text)
                    if forecast and record["first_forecast_seconds"] is None:
                        record["first_forecast_seconds"] = round(time.perf_counter() - started + int(forecast[1]), 1)
                except Exception:  # the message went away between count() and inner_text()
                    pass
            if await page.get_by_test_id("stException").count():
                raise RuntimeError(await page.get_by_test_id("stException").first.inner_text())
            await page.wait_for_timeout(250)
        record["seconds"] = round(time.perf_counter() - started, 2)
        record["gain_db"] = round(await metric(page, "PSNR denoised") - await metric(page, "PSNR noisy"), 2)
        shortened = page.get_by_text(re.compile(r"Training shortened to \d+ s|Not fine-tuned: other visitors"))
        if await shortened.count():
            found = re.search(r"shortened to (\d+) s", await shortened.first.inner_text())
            record["shortened_to_seconds"] = int(found[1]) if found else 0
        await wait_until_idle(page, timeout * 1000)
        if await page.get_by_test_id("stException").count():
            raise RuntimeError(await page.get_by_test_id("stException").first.inner_text())
        record["done"] = True
        say(f"session {number}: result after {record['seconds']} s")
    except Exception as error:  # one visitor failing is a finding, not the end of the run
        record["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        say(f"session {number} failed: {record['error']}")
        if number not in ready:
            ready.append(number)
    finally:
        await context.close()
    return record


async def drive(url: str, upload: Path, args, pid: int) -> tuple[list[dict], dict]:
    from playwright.async_api import async_playwright

    memory = {"rss_samples_mb": []}

    async def sample_memory(stop: asyncio.Event) -> None:
        while not stop.is_set():
            memory["rss_samples_mb"].append(memory_mb(pid, "VmRSS"))
            await asyncio.sleep(0.5)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ready, go, stop = [], asyncio.Event(), asyncio.Event()
            sampler = asyncio.create_task(sample_memory(stop))
            tasks = [asyncio.create_task(session(i, browser, url, upload, args.pages, args.epochs, ready, go, args.timeout))
                     for i in range(args.sessions)]
            while len(ready) < args.sessions:
                await asyncio.sleep(0.2)
            memory["rss_before_trainings_mb"] = round(memory_mb(pid, "VmRSS"), 1)
            memory["peak_before_trainings_mb"] = round(memory_mb(pid, "VmHWM"), 1)
            say(f"all {args.sessions} sessions ready: Train")
            go.set()  # everyone presses Train now
            records = await asyncio.gather(*tasks)
            stop.set()
            await sampler
        finally:
            await browser.close()
    return records, memory


def main(argv=None) -> int:
    args = parse_args(argv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    slots = training_slots()  # the same environment the server reads
    load_before = uptime()
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "server.log", "w+") as log:
        upload = write_upload(Path(folder), args.side)
        server = start_server(port, log)
        say(f"server up on {url}, pid {server.pid}")
        try:
            started = time.perf_counter()
            records, memory = asyncio.run(drive(url, upload, args, server.pid))
            wall = time.perf_counter() - started
            alive = server.poll() is None and healthy(port)
            peak = memory_mb(server.pid, "VmHWM")
            load_after = uptime()
        finally:
            stop_server(server)
            log.seek(0)
            server_log = log.read()
    done = [r for r in records if r["done"]]
    seconds = sorted(r["seconds"] for r in done)
    report = {
        "command": " ".join(["python benchmarks/load_test.py", *(sys.argv[1:] if argv is None else argv)]),
        "sessions": args.sessions, "completed": len(done), "failed": [r for r in records if not r["done"]],
        "slowest_seconds_to_result": seconds[-1] if seconds else None,
        "median_seconds_to_result": round(statistics.median(seconds), 2) if seconds else None,
        "fastest_seconds_to_result": seconds[0] if seconds else None,
        "sessions_served_within_target": sum(s <= slots.serve_within for s in seconds) if slots.serve_within else None,
        "sessions_shown_a_place_in_line": sum(r["max_place"] > 0 for r in records),
        "largest_place_in_line_shown": max((r["max_place"] for r in records), default=0),
        "sessions_shortened": sum(r["shortened_to_seconds"] is not None for r in records),
        "smallest_gain_db": min((r["gain_db"] for r in done), default=None),
        "server_peak_memory_mb": round(peak, 1), "server_peak_before_trainings_mb": memory["peak_before_trainings_mb"],
        "server_rss_before_trainings_mb": memory["rss_before_trainings_mb"],
        "server_rss_max_sampled_mb": round(max(memory["rss_samples_mb"], default=float("nan")), 1),
        "server_alive_after": alive, "server_tracebacks": server_log.count("Traceback"),
        "first_server_traceback": first_traceback(server_log),
        "wall_seconds": round(wall, 1), "load_before": load_before, "load_after": load_after,
        "settings": {"upload": f"{args.side}x{args.side} gray PNG", "preset": "Quick",
                     "epochs": args.epochs or "the page's default", "pages": args.pages,
                     "max_trainings": slots.capacity, "serve_within_s": slots.serve_within, "serve_margin_s": slots.margin,
                     "time_cap_s": slots.time_cap, "torch_threads_per_training": 1},
        "machine": {**machine(), "platform": platform.platform()},
        "sessions_detail": records,
    }
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "sessions_detail"}, indent=2))
    print(f"wrote {args.json}")
    return 0 if len(done) == args.sessions and alive else 1


if __name__ == "__main__":
    sys.exit(main())
