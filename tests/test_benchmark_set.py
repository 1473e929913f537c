"""benchmarks/benchmark_set.py --reuse-reference: the model's fresh rows joined to the earlier run's
reference rows, only when both runs scored the same noisy photos."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import benchmark_set  # noqa: E402


def record(rows: list[tuple[str, str, float]], sigma: float = 10.0) -> dict:
    return {"sigma": sigma, "seed": 0, "machine": {"cpu": "earlier"},
            "results": [{"image": image, "method": method, "psnr": value, "ssim": value / 100, "seconds": 1.0}
                        for image, method, value in rows]}


def test_the_reference_rows_join_the_fresh_ones_and_the_summary_counts_them():
    earlier = record([("a", "noisy", 28.0), ("a", "lstm", 34.0), ("a", "bm3d", 35.0),
                      ("b", "noisy", 27.0), ("b", "lstm", 33.0), ("b", "bm3d", 32.0)])
    fresh = record([("a", "noisy", 28.0), ("a", "lstm", 36.0), ("b", "noisy", 27.0), ("b", "lstm", 34.0)])
    joined = benchmark_set.with_reference(fresh, earlier, "bm3d")
    assert [(row["image"], row["method"], row["psnr"]) for row in joined["results"]] == [
        ("a", "noisy", 28.0), ("a", "lstm", 36.0), ("a", "bm3d", 35.0),
        ("b", "noisy", 27.0), ("b", "lstm", 34.0), ("b", "bm3d", 32.0)]
    assert joined["summary"]["bm3d"]["psnr"] == 33.5 and joined["summary"]["lstm"]["psnr"] == 35.0
    assert joined["reference_from"] == {"cpu": "earlier"}


@pytest.mark.parametrize("fresh, message", [
    (record([("a", "noisy", 28.5), ("a", "lstm", 36.0)]), "other noisy photos"),
    (record([("a", "noisy", 28.0), ("a", "lstm", 36.0)], sigma=25.0), "other noisy photos"),
    (record([("a", "noisy", 28.0), ("a", "lstm", 36.0), ("c", "noisy", 20.0)]), "other noisy photos"),
])
def test_other_noisy_photos_refuse_the_earlier_reference(fresh, message):
    earlier = record([("a", "noisy", 28.0), ("a", "bm3d", 35.0)])
    with pytest.raises(SystemExit, match=message):
        benchmark_set.with_reference(fresh, earlier, "bm3d")


def test_an_earlier_run_without_the_reference_is_refused():
    earlier = record([("a", "noisy", 28.0), ("a", "lstm", 34.0)])
    with pytest.raises(SystemExit, match="no bm3d row"):
        benchmark_set.with_reference(record([("a", "noisy", 28.0), ("a", "lstm", 36.0)]), earlier, "bm3d")


def test_the_summary_and_its_table_say_how_the_lstm_ran(tmp_path, monkeypatch):
    monkeypatch.setattr(benchmark_set, "OUT", tmp_path)
    rows = record([("a", "noisy", 28.0), ("a", "lstm", 36.0), ("a", "bm3d", 35.0),
                   ("b", "noisy", 27.0), ("b", "lstm", 33.0), ("b", "bm3d", 32.5)])
    ran = {**rows, "inference": {"lstm": "bfloat16, self-ensemble of 2"}}
    (tmp_path / "benchmark-set-gray-sigma10.json").write_text(json.dumps(ran))
    summary = benchmark_set.summary("gray-sigma10")
    assert summary["inference"] == "bfloat16, self-ensemble of 2" and summary["mean_lead"] == pytest.approx(0.75)
    assert "### gray-sigma10\n\nThe LSTM ran in bfloat16, self-ensemble of 2.\n" in benchmark_set.markdown([summary])
    (tmp_path / "benchmark-set-gray-sigma10.json").write_text(json.dumps(rows))  # a run from before it was recorded
    assert "The LSTM ran" not in benchmark_set.markdown([benchmark_set.summary("gray-sigma10")])
