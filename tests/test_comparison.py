import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from denoiser.cli import main
from denoiser.errors import DenoiserError
from denoiser.evaluation import comparison
from denoiser.evaluation.comparison import (
    BenchmarkRow,
    default_images,
    image_rng,
    load_images,
    run_benchmark,
    summarize,
    to_json,
    to_markdown,
)
from denoiser.evaluation.metrics import psnr
from denoiser.images import save_image
from denoiser.inference.precision import bundled_inference
from denoiser.inference.tiled import denoise_ensemble
from denoiser.models import bundled
from denoiser.models.checkpoint import load_checkpoint, save_checkpoint
from denoiser.models.networks import ModelConfig, build_model
from denoiser.noise import GaussianNoise
from denoiser.samples import BENCHMARK_PHOTOS, COLOR_BENCHMARK_PHOTOS, TRAINING_PHOTOS, sample_photo
from denoiser.scenarios import get_scenario

FAST = ["noisy", "median", "tv"]


@pytest.fixture
def images() -> dict[str, np.ndarray]:
    """Two small gray crops, one of them not square."""
    return {"face": np.ascontiguousarray(sample_photo("astronaut", 1)[60:108, 180:228]),
            "wall": np.ascontiguousarray(sample_photo("brick", 1)[:40, :56])}


@pytest.fixture
def image_folder(tmp_path, images):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, image in images.items():
        save_image(image, folder / f"{name}.png")
    return folder


def tiny_model_path(tmp_path, channels=1):
    torch.manual_seed(0)
    model = build_model(ModelConfig(channels=channels, hidden=4, features=4))
    path = tmp_path / f"tiny-{channels}.pt"
    save_checkpoint(path, model, {"note": "test"})
    return path


def test_rows_cover_every_image_and_method_in_order(images):
    progress = []
    rows = run_benchmark("gray-gaussian", sigma=25, images=images, methods=FAST,
                         on_progress=lambda done, total: progress.append((done, total)))
    assert [(r.image, r.method) for r in rows] == [(i, m) for i in images for m in FAST]
    assert progress == [(n, 6) for n in range(1, 7)]
    by_method = summarize(rows)
    assert by_method["tv"]["psnr"] > by_method["noisy"]["psnr"] + 7.2  # measured +7.47 dB
    assert all(r.seconds == 0.0 for r in rows if r.method == "noisy")


def test_reruns_give_identical_numbers_and_the_seed_changes_them(images):
    first = run_benchmark("gray-gaussian", sigma=25, images=images, methods=FAST)
    again = run_benchmark("gray-gaussian", sigma=25, images=images, methods=FAST)
    assert [(r.psnr, r.ssim) for r in again] == [(r.psnr, r.ssim) for r in first]
    other = run_benchmark("gray-gaussian", sigma=25, images=images, methods=FAST, seed=1)
    assert [r.psnr for r in other] != [r.psnr for r in first]


def test_each_image_gets_its_own_noise(images):
    same = {"one": images["face"], "two": images["face"]}
    rows = run_benchmark("gray-gaussian", sigma=25, images=same, methods=["noisy"])
    assert rows[0].psnr != rows[1].psnr


def test_salt_and_pepper_uses_the_density(images):
    light = summarize(run_benchmark("gray-salt-pepper", density=0.1, images=images, methods=["noisy"]))
    heavy = summarize(run_benchmark("gray-salt-pepper", density=0.5, images=images, methods=["noisy"]))
    assert heavy["noisy"]["psnr"] < light["noisy"]["psnr"] - 5


def test_default_images_are_the_held_out_photos():
    gray = default_images("gray-gaussian")
    assert list(gray) == list(BENCHMARK_PHOTOS) and all(im.shape[-1] == 1 for im in gray.values())
    color = default_images("color-gaussian")
    assert list(color) == list(COLOR_BENCHMARK_PHOTOS) and all(im.shape[-1] == 3 for im in color.values())
    assert not set(gray) & set(TRAINING_PHOTOS)


def test_color_images_are_converted_for_a_gray_scenario():
    crop = np.ascontiguousarray(sample_photo("coffee")[:32, :32])
    rows = run_benchmark("gray-gaussian", sigma=10, images={"coffee": crop}, methods=["noisy", "median"])
    assert len(rows) == 2


def test_lstm_runs_the_given_checkpoint_with_the_true_sigma(tmp_path, images):
    path = tiny_model_path(tmp_path)
    rows = run_benchmark("gray-gaussian", sigma=25, images=images, methods=["noisy", "lstm", "lstm-x8"],
                         model_path=path)
    model = load_checkpoint(path).model
    for row in (r for r in rows if r.method.startswith("lstm")):
        noisy = GaussianNoise(625.0).apply(images[row.image], image_rng(0, row.image))
        expected = denoise_ensemble(model, noisy, 25.0, size=8 if row.method == "lstm-x8" else 1)
        assert row.psnr == pytest.approx(psnr(images[row.image], expected), abs=1e-6)


def test_lstm_runs_the_bundled_weights_as_the_lab_runs_them_on_this_cpu(images):
    rows = run_benchmark("gray-gaussian", sigma=25, images=images, methods=["lstm", "lstm-x8"])
    model = bundled.load_pretrained("gray-gaussian").model
    for row in rows:
        inference = bundled_inference(get_scenario("gray-gaussian"), 8 if row.method == "lstm-x8" else None)
        noisy = GaussianNoise(625.0).apply(images[row.image], image_rng(0, row.image))
        assert row.psnr == pytest.approx(psnr(images[row.image], inference.run(model, noisy, 25.0)), abs=1e-6)


def test_lstm_errors_are_user_errors(tmp_path, images, monkeypatch):
    with pytest.raises(DenoiserError, match="channel"):
        run_benchmark("gray-gaussian", images=images, methods=["lstm"], model_path=tiny_model_path(tmp_path, 3))
    monkeypatch.setattr(bundled, "WEIGHTS_DIR", tmp_path / "empty")
    with pytest.raises(DenoiserError, match="No bundled weights"):
        run_benchmark("gray-gaussian", images=images, methods=["noisy", "lstm"])


@pytest.mark.parametrize("kwargs, message", [
    ({"scenario_key": "gray-gaussian", "density": 0.1}, "sigma, not a density"),
    ({"scenario_key": "gray-salt-pepper", "sigma": 25}, "density, not a sigma"),
    ({"scenario_key": "gray-gaussian", "sigma": -1}, "zero or positive"),
    ({"scenario_key": "gray-salt-pepper", "density": 1.5}, "between 0 and 1"),
    ({"scenario_key": "gray-gaussian", "methods": ["noisy", "magic"]}, "Unknown method 'magic'"),
    ({"scenario_key": "gray-gaussian", "methods": []}, "No methods"),
    ({"scenario_key": "gray-gaussian", "images": {}}, "No images"),
    ({"scenario_key": "gray-gaussian", "images": {"flat": np.zeros((4, 4, 2))}}, "shape"),
    ({"scenario_key": "sepia"}, "Unknown scenario"),
])
def test_bad_settings_are_user_errors(kwargs, message, images):
    kwargs = {"images": images, "methods": ["noisy"], **kwargs}
    with pytest.raises(DenoiserError, match=message):
        run_benchmark(**kwargs)


def test_summary_json_and_markdown():
    rows = [BenchmarkRow("a", "noisy", 20.0, 0.2, 0.0), BenchmarkRow("a", "bm3d", 30.0, 0.8, 2.0),
            BenchmarkRow("b", "noisy", 22.0, 0.4, 0.0), BenchmarkRow("b", "bm3d", 32.0, 0.9, 4.0)]
    assert summarize(rows) == {"noisy": {"psnr": 21.0, "ssim": pytest.approx(0.3), "seconds": 0.0},
                               "bm3d": {"psnr": 31.0, "ssim": pytest.approx(0.85), "seconds": 3.0}}
    record = json.loads(json.dumps(to_json("gray-gaussian", rows, sigma=25.0, seed=0)))
    assert record["scenario"] == "gray-gaussian" and record["sigma"] == 25.0 and record["seed"] == 0
    assert record["results"][1] == {"image": "a", "method": "bm3d", "psnr": 30.0, "ssim": 0.8, "seconds": 2.0}
    assert record["summary"]["bm3d"]["psnr"] == 31.0

    table = to_markdown(rows).splitlines()
    assert table[0] == "| image | method | PSNR (dB) | SSIM | seconds |"
    assert table[2] == "| a | noisy | 20.00 | 0.2000 | 0.00 |"
    assert table[-1] == "| **mean** | bm3d | 31.00 | 0.8500 | 3.00 |"
    assert len(table) == 2 + 4 + 2
    means = to_markdown(rows, per_image=False).splitlines()
    assert means[0] == "| method | PSNR (dB) | SSIM | seconds |" and means[2:] == [
        "| noisy | 21.00 | 0.3000 | 0.00 |", "| bm3d | 31.00 | 0.8500 | 3.00 |"]


def test_load_images_names_files_by_their_path(tmp_path, images):
    (tmp_path / "sub").mkdir()
    save_image(images["face"], tmp_path / "face.png")
    save_image(images["wall"], tmp_path / "sub" / "wall.jpg")
    loaded = load_images(tmp_path, 1)
    assert sorted(loaded) == ["face", "sub/wall"] and loaded["face"].shape == images["face"].shape
    save_image(images["wall"], tmp_path / "face.jpg")
    with pytest.raises(DenoiserError, match="Two images"):
        load_images(tmp_path, 1)


def test_cli_round_trip(tmp_path, image_folder, capsys):
    out_json, out_md = tmp_path / "result.json", tmp_path / "result.md"
    code = main(["benchmark", "--scenario", "gray-gaussian", "--sigma", "25", "--images", str(image_folder),
                 "--methods", "noisy, median,tv", "--json", str(out_json), "--markdown", str(out_md)])
    assert code == 0
    record = json.loads(out_json.read_text())
    assert record["scenario"] == "gray-gaussian" and record["sigma"] == 25.0
    assert record["machine"]["cores"] >= 1 and record["model"] is None
    direct = run_benchmark("gray-gaussian", sigma=25, images=load_images(image_folder, 1), methods=FAST)
    assert [(r["image"], r["method"], r["psnr"]) for r in record["results"]] == [
        (r.image, r.method, r.psnr) for r in direct]
    assert "| **mean** | tv |" in out_md.read_text()
    printed = capsys.readouterr()
    assert "| tv |" in printed.out and "| **mean**" not in printed.out


def test_cli_runs_a_given_model_and_records_it(tmp_path, image_folder, capsys):
    model, out_json = tiny_model_path(tmp_path), tmp_path / "result.json"
    code = main(["benchmark", "--scenario", "gray-gaussian", "--images", str(image_folder),
                 "--methods", "noisy,lstm", "--model", str(model), "--json", str(out_json)])
    assert code == 0 and "| lstm |" in capsys.readouterr().out
    record = json.loads(out_json.read_text())
    assert record["model"]["file"] == str(model) and len(record["model"]["sha256"]) == 16
    assert record["inference"] == {"lstm": "float32"}  # a given checkpoint: no measured choice


def test_cli_records_how_the_bundled_weights_ran(tmp_path, image_folder):
    out_json = tmp_path / "result.json"
    assert main(["benchmark", "--scenario", "gray-gaussian", "--images", str(image_folder),
                 "--methods", "noisy,lstm,lstm-x8", "--json", str(out_json)]) == 0
    expected = {method: bundled_inference(get_scenario("gray-gaussian"), views).label
                for method, views in (("lstm", None), ("lstm-x8", 8))}
    assert json.loads(out_json.read_text())["inference"] == expected


@pytest.mark.parametrize("extra, message", [
    (["--images", "/no/such/folder"], "No such folder"),
    (["--sigma", "25", "--methods", "noisy,magic"], "Unknown method"),
    (["--scenario", "gray-salt-pepper", "--sigma", "25"], "density, not a sigma"),
])
def test_cli_errors_are_one_line_and_write_nothing(tmp_path, image_folder, capsys, extra, message):
    out_json = tmp_path / "result.json"
    argv = ["benchmark", "--scenario", "gray-gaussian", "--images", str(image_folder), "--json", str(out_json)]
    code = main(argv + extra)
    error = capsys.readouterr().err.strip()
    assert code == 2 and error.startswith("error: ") and message in error and "\n" not in error
    assert not out_json.exists()


def test_cli_error_for_a_folder_without_images(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["benchmark", "--scenario", "gray-gaussian", "--images", str(empty)]) == 2
    assert "No images" in capsys.readouterr().err


def test_machine_describes_the_cpu():
    info = comparison.machine()
    assert info["cpu"] and info["cores"] >= 1 and info["torch"] == torch.__version__
    if list(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size")):  # Linux: tells same-named CPUs apart
        assert re.fullmatch(r"L[1-4] \d+[KMG]", info["last_level_cache"])
