"""Server memory: the peak of one `streamlit run` process after one visitor has used every page and
run one training, in real Chromium.

Starts the app on a free local port and, in one browser session: opens Home; on each scenario page
presses "Denoise now with the bundled weights" (so every bundled model is loaded); on Your photo
presses Denoise on the held-out sample photo (1024 pixels a side); on Benchmark runs the default benchmark; then trains once on
Gray · Gaussian with the Quick preset on its 256-pixel sample photo. It reads the server's peak
memory (VmHWM, from /proc) after the pages and after the training, and writes them to `--json`
(default docs/benchmarks/memory.json) with the machine's load average before and after.

    python benchmarks/memory.py

The server and the browser are stopped however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from load_test import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGES,
    ROOT,
    free_port,
    healthy,
    memory_mb,
    say,
    start_server,
    stop_server,
    uptime,
    wait_until_idle,
)

from denoiser.evaluation.comparison import machine


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=600, help="seconds one step may take")
    parser.add_argument("--json", default=str(ROOT / "docs" / "benchmarks" / "memory.json"))
    return parser.parse_args(argv)


async def visit_every_page_then_train(url: str, pid: int, timeout: float) -> dict:
    """One visitor's tour; the server's VmHWM after each step, in MB."""
    from playwright.async_api import async_playwright

    peaks = {}

    def note(step: str) -> None:
        peaks[step] = round(memory_mb(pid, "VmHWM"), 1)
        say(f"{step}: peak {peaks[step]} MB")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(timeout * 1000)
            await page.goto(url)
            await wait_until_idle(page, timeout * 1000)
            note("home")
            for key in PAGES:
                await page.goto(f"{url}/{key}")
                await page.get_by_role("button", name="Denoise now with the bundled weights").click()
                await page.get_by_test_id("stMetric").filter(has_text="PSNR denoised").wait_for()
                await wait_until_idle(page, timeout * 1000)
                note(f"{key}: bundled weights")
            await page.goto(f"{url}/your-photo")
            await page.get_by_text("A held-out sample with simulated grain").click()
            await page.get_by_role("button", name="Denoise", exact=True).click()
            await page.get_by_test_id("stMetric").filter(has_text="Noise estimate after").wait_for()
            await wait_until_idle(page, timeout * 1000)
            note("your-photo: denoise")
            await page.goto(f"{url}/benchmark")
            await page.get_by_role("button", name="Run benchmark").click()
            await page.get_by_test_id("stDataFrame").first.wait_for()
            await wait_until_idle(page, timeout * 1000)
            note("benchmark: default run")
            await page.goto(f"{url}/gray-gaussian")
            await page.get_by_role("button", name="Train", exact=True).click()
            await page.get_by_test_id("stMetric").filter(has_text="PSNR denoised").wait_for()
            await wait_until_idle(page, timeout * 1000)
            note("gray-gaussian: Quick training")
            if await page.get_by_test_id("stException").count():
                raise RuntimeError(await page.get_by_test_id("stException").first.inner_text())
        finally:
            await browser.close()
    return peaks


def main(argv=None) -> int:
    args = parse_args(argv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    load_before = uptime()
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "server.log", "w+") as log:
        server = start_server(port, log)
        say(f"server up on {url}, pid {server.pid}")
        try:
            started_mb = round(memory_mb(server.pid, "VmHWM"), 1)
            peaks = asyncio.run(visit_every_page_then_train(url, server.pid, args.timeout))
            alive = server.poll() is None and healthy(port)
            load_after = uptime()
        finally:
            stop_server(server)
            log.seek(0)
            server_log = log.read()
    report = {
        "command": "python benchmarks/memory.py",
        "server_peak_memory_mb": max(peaks.values()), "server_peak_after_start_mb": started_mb,
        "server_peak_after_each_step_mb": peaks,
        "server_alive_after": alive, "server_tracebacks": server_log.count("Traceback"),
        "load_before": load_before, "load_after": load_after,
        "machine": {**machine(), "platform": platform.platform()},
        "measured": time.strftime("%Y-%m-%d"),
    }
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"wrote {args.json}")
    return 0 if alive and not report["server_tracebacks"] else 1


if __name__ == "__main__":
    sys.exit(main())
