"""benchmarks/run_benchmarks.py: the sentences above each table of docs/BENCHMARKS.md, from the JSONs."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import run_benchmarks  # noqa: E402

MACHINE = {"cpu": "Intel(R) Xeon(R) Processor", "cores": 2, "gpu": "none", "python": "3.11.7", "torch": "2.13.0+cpu"}


def record(inference: dict | None) -> dict:
    return {"machine": MACHINE, "model": {"file": "denoiser/weights/gray-gaussian.pt", "sha256": "abc", "steps": 7},
            "inference": inference, "results": [{"image": "camera"}, {"image": "moon"}]}


def test_the_sentences_name_the_photos_the_machine_the_weights_and_how_the_lstm_ran():
    about = " ".join(run_benchmarks._about({"gray-sigma10": record({"lstm": "bfloat16, self-ensemble of 2",
                                                                    "lstm-x8": "bfloat16, self-ensemble of 8"})}).split())
    assert about.startswith("Mean over 2 photos (camera, moon);")
    assert "Intel(R) Xeon(R) Processor, 2 CPU cores" in about and "`gray-gaussian.pt` (sha256 abc, 7 training steps)" in about
    assert "`lstm` ran in bfloat16, self-ensemble of 2." in about


def test_a_run_from_before_the_inference_was_recorded_says_nothing_of_it():
    assert "ran in" not in run_benchmarks._about({"gray-sigma10": record(None)})
