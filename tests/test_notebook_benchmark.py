"""benchmarks/notebook.py: an `--update` replaces only the runs it made and says where it ran; the medians
follow the runs."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import notebook  # noqa: E402


def test_an_update_replaces_its_runs_and_names_the_machine_it_ran_on():
    record = json.loads((ROOT / "docs" / "benchmarks" / "notebook.json").read_text())
    record.pop("machines", None)  # as written before machines were kept per command
    first = record["scenarios"]["gray-gaussian"]["rows"][0]
    run = {**first["runs"]["quick"], "test_psnr": 40.0}
    other = {**record["machine"], "cpu": "Some Other CPU", "cores": 4}
    new = {"command": "python benchmarks/notebook.py --update", "machine": other, "scenarios": {
        "gray-gaussian": {"rows": [{"photo": first["photo"], "runs": {"quick": run}, "reference": first["reference"]}]}}}
    updated = notebook.updated(copy.deepcopy(record), new)
    assert updated["command"] == [*notebook.commands_of(record), new["command"]]
    assert updated["machines"] == [record["machine"]] * len(notebook.commands_of(record)) + [other]
    rows = updated["scenarios"]["gray-gaussian"]["rows"]
    assert rows[0]["runs"]["quick"]["test_psnr"] == 40.0 and rows[0]["runs"]["scratch"] == first["runs"]["scratch"]
    header = notebook.render(updated).split("\n\n")[0]
    assert header.endswith("`python benchmarks/notebook.py --update` (on Some Other CPU, 4 cores).")
    assert "(on " not in header.rsplit("then", 1)[0]  # the earlier commands ran on the record's machine


def test_the_medians_are_written_afresh_from_the_runs(tmp_path):
    record = json.loads((ROOT / "docs" / "benchmarks" / "notebook.json").read_text())
    rows = record["scenarios"]["color-gaussian"]["rows"]  # two photos: the median is their mean
    rows[0]["runs"]["quick"]["gain"], rows[1]["runs"]["quick"]["gain"] = 7.0, 8.0
    record["scenarios"]["color-gaussian"]["median"]["runs"]["quick"]["gain"] = 0.0  # stale
    notebook.write(record, tmp_path / "notebook.json")
    written = json.loads((tmp_path / "notebook.json").read_text())["scenarios"]["color-gaussian"]["median"]
    assert written["runs"]["quick"]["gain"] == 7.5
    assert written["reference"]["test_psnr"] == (rows[0]["reference"]["test_psnr"] + rows[1]["reference"]["test_psnr"]) / 2
    assert (tmp_path / "notebook.md").read_text() == notebook.render(record)
