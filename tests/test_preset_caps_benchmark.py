"""benchmarks/preset_caps.py: the table gives each cap's lead over the reference per photo, and the
mean and median."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import preset_caps  # noqa: E402


def test_the_table_gives_each_caps_lead_over_the_reference():
    rows = [{"photo": name, "reference_psnr": 30.0, "caps": {
        "100": {"test_psnr": 30.0 + lead, "seconds": 12.0, "epochs": 100},
        "1000": {"test_psnr": 30.5 + lead, "seconds": 30.0, "epochs": 640}}} for name, lead in (("a", 0.1), ("b", 0.3))]
    record = {"scenario": "color-gaussian", "preset": "quick", "caps": [100, 1000], "threads": 2, "command": "c",
              "machine": {"cpu": "cpu"}, "rows": rows, "leads": preset_caps.leads(rows)}
    lines = preset_caps.render(record).splitlines()
    assert lines[2] == "| photo | cap 100: lead (s, epochs) | cap 1000: lead (s, epochs) |"
    assert lines[4] == "| a | +0.10 (12, 100) | +0.60 (30, 640) |"
    assert lines[-1] == "| **mean (median)** | +0.20 (+0.20) | +0.70 (+0.70) |"
