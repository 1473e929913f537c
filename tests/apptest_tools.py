"""Shared pieces of the Streamlit AppTest suites (test_app.py, test_robustness.py)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ENTRY = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
TIMEOUT = 180  # seconds for a run that trains; the machine may be busy


def started_app() -> AppTest:
    """The app, run once on its home page, without an exception."""
    at = AppTest.from_file(ENTRY, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Switch to the page at `url_path` ('gray-gaussian'): its file in app_pages/, as streamlit_app.py names it."""
    at.switch_page(f"app_pages/{url_path.replace('-', '_')}.py").run()
    assert not at.exception, at.exception
    return at
