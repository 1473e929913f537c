"""The dashboard's figures and tables are pure functions of arrays: check what they show."""

from __future__ import annotations

import base64
import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from dashboard import figures
from denoiser.evaluation.metrics import score_splits
from denoiser.images import to_uint8
from denoiser.training.loops import Progress
from denoiser.training.splits import PixelSplit, make_masks


def decode(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def shown(figure, step: int) -> np.ndarray:
    """The picture a comparison shows at a slider step: visible strips pasted at their x0, later over earlier."""
    visible = figure.layout.sliders[0].steps[step].args[0]["visible"]
    first = decode(figure.data[0].source)
    height = first.shape[0]
    width = int(max(t.x0 + decode(t.source).shape[1] for t in figure.data))
    canvas = np.zeros((height, width) + first.shape[2:], dtype=np.uint8)
    for trace, is_visible in zip(figure.data, visible):
        if is_visible:
            strip = decode(trace.source)
            canvas[:, int(trace.x0):int(trace.x0) + strip.shape[1]] = strip
    return canvas


@pytest.mark.parametrize("channels", [1, 3])
def test_comparison_slider_shows_before_left_of_the_boundary_and_after_right(channels):
    rng = np.random.default_rng(0)
    before = rng.random((20, 37, channels)).astype(np.float32)
    after = rng.random((20, 37, channels)).astype(np.float32)
    figure = figures.comparison_figure(before, after, strips=5)
    edges = figures.strip_edges(37, 5)
    assert edges[0] == 0 and edges[-1] == 37 and len(figure.data) == 10
    steps = figure.layout.sliders[0].steps
    assert [s.label for s in steps] == ["0%", "19%", "41%", "59%", "81%", "100%"]
    for step, boundary in enumerate(edges):
        assert np.array_equal(shown(figure, step), to_uint8(figures.wipe(before, after, boundary))), step
    assert figure.layout.sliders[0].active == 2
    assert [t.visible for t in figure.data] == [True, True, False, False, False, False, False, True, True, True]
    assert figure.layout.shapes[0].x0 == pytest.approx(edges[2] - 0.5)  # the boundary line


def test_comparison_refuses_images_of_different_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        figures.comparison_figure(np.zeros((4, 4, 1)), np.zeros((4, 5, 1)))


def test_wipe_takes_columns_left_of_the_boundary_from_before():
    before, after = np.zeros((2, 4, 1)), np.ones((2, 4, 1))
    assert figures.wipe(before, after, 1)[0, :, 0].tolist() == [0, 1, 1, 1]
    assert figures.wipe(before, after, 0).min() == 1 and figures.wipe(before, after, 4).max() == 0


def progress(step, epoch, loss, val=None, best=None):
    return Progress(epoch, 2, step, 4, loss, step * 0.1, val, None if val is None else 30.0, best)


def test_loss_figure_plots_steps_epochs_and_marks_the_best_epoch():
    history = [progress(1, 1, 90.0), progress(2, 1, 80.0, 70.0, 1), progress(3, 2, 60.0), progress(4, 2, 50.0, 75.0, 1)]
    figure = figures.loss_figure(history)
    train, validation, best = figure.data
    assert list(train.x) == [1, 2, 3, 4] and list(train.y) == [90.0, 80.0, 60.0, 50.0]
    assert list(validation.x) == [2, 4] and list(validation.y) == [70.0, 75.0]
    assert list(best.x) == [2] and list(best.y) == [70.0]  # epoch 1 stayed the best
    assert figure.layout.yaxis.type == "log" and tuple(figure.layout.xaxis.range) == (0, 4)


def test_loss_figure_draws_an_empty_history():
    assert len(figures.loss_figure([]).data) == 2


def test_signed_map_is_on_the_255_scale_and_averages_channels():
    first = np.full((2, 3, 3), 0.5, np.float32)
    second = first.copy()
    second[..., 0] = 0.2  # one channel differs by 0.3 -> 76.5 / 3
    result = figures.signed_map(first, second)
    assert result.shape == (2, 3) and np.allclose(result, 25.5)
    assert np.allclose(figures.signed_map(second, first), -25.5)


def test_heatmaps_are_symmetric_when_diverging_and_start_at_zero_otherwise():
    values = np.linspace(-30, 10, 400, dtype=np.float32).reshape(20, 20)
    signed = figures.heatmap_figure(values, "residual", diverging=True).data[0]
    assert signed.zmid == 0 and signed.zmin == -signed.zmax and 25 < signed.zmax <= 30
    error = figures.heatmap_figure(np.abs(values), "error", diverging=False).data[0]
    assert error.zmin == 0 and error.zmax > 25
    assert figures.heatmap_figure(np.zeros((3, 3)), "flat", diverging=False).data[0].zmax == 1.0


def test_noise_histograms_share_symmetric_bins_and_count_every_pixel():
    rng = np.random.default_rng(0)
    added = rng.normal(0, 10, 5000)
    centres, removed_counts, added_counts = figures.noise_histograms(added * 0.5, added, bins=41)
    assert len(centres) == 41 and centres[20] == pytest.approx(0.0) and centres[0] == pytest.approx(-centres[-1])
    assert removed_counts.sum() == added_counts.sum() == 5000  # outliers clipped into the end bins
    assert removed_counts[20] > added_counts[20]  # half the noise removed: narrower around 0
    same = figures.noise_histograms(added, added)
    assert np.array_equal(same[1], same[2])


def test_removed_noise_histogram_matches_the_gaussian_of_the_estimate_only_when_it_is_noise():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 15, 200_000)
    centres, counts, expected = figures.removed_noise_histogram(noise, 15.0, bins=61)
    assert counts.sum() == noise.size and expected.sum() == pytest.approx(noise.size, rel=0.01)
    assert centres[30] == pytest.approx(0.0) and centres[-1] >= 3 * 15.0 * 60 / 61
    assert np.abs(counts - expected).sum() < 0.02 * noise.size
    with_detail = noise + np.where(rng.random(noise.size) < 0.2, 40.0, 0.0)  # edges taken out with the noise
    _, counts, expected = figures.removed_noise_histogram(with_detail, 15.0, bins=61)
    assert np.abs(counts - expected).sum() > 0.2 * noise.size


def test_removed_noise_figure_overlays_the_gaussian_and_shows_the_spread():
    noise = np.random.default_rng(0).normal(0, 15, 20_000)
    figure = figures.removed_noise_figure(noise, 15.0)
    assert [trace.type for trace in figure.data] == ["bar", "scatter"] and "sigma 15.0" in figure.data[1].name
    assert f"{np.std(noise):.1f}" in figure.layout.title.text
    impulses = figures.removed_noise_figure(np.where(np.arange(10000) < 500, 200.0, 0.0), 0.0)
    assert len(impulses.data) == 1 and impulses.layout.yaxis.type == "log"


def test_noise_histogram_uses_a_log_axis_for_impulses():
    impulses = np.zeros(10000)
    impulses[:500] = 200
    assert figures.noise_histogram_figure(impulses, impulses).layout.yaxis.type == "log"
    gaussian = np.random.default_rng(0).normal(0, 10, 10000)
    assert figures.noise_histogram_figure(gaussian, gaussian).layout.yaxis.type == "linear"


def test_split_table_has_one_row_per_pixel_set():
    rng = np.random.default_rng(0)
    clean = rng.random((10, 10, 1)).astype(np.float32)
    noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
    masks = make_masks((10, 10), PixelSplit(0.6, 0.2, 0.2), rng)
    rows = figures.split_table(score_splits(clean, noisy, (clean + noisy) / 2, masks))
    assert [r["pixels"] for r in rows] == ["all", "train", "validation", "test"]
    assert [r["count"] for r in rows] == [100, 60, 20, 20]
    for row in rows:
        assert row["gain (dB)"] == pytest.approx(row["denoised PSNR (dB)"] - row["noisy PSNR (dB)"], abs=0.02)
        assert row["gain (dB)"] > 0


def test_method_bars_highlight_the_lstm():
    rows = [{"method": "Noisy", "psnr": 20.0, "ssim": 0.5, "seconds": 0.0},
            {"method": "LSTM", "psnr": 30.0, "ssim": 0.9, "seconds": 2.0, "highlight": True}]
    bar = figures.method_bars_figure(rows).data[0]
    assert list(bar.x) == ["Noisy", "LSTM"] and list(bar.y) == [20.0, 30.0]
    assert bar.marker.color[1] == figures.ACCENT and bar.marker.color[0] != figures.ACCENT
    assert figures.method_bars_figure(rows).layout.yaxis.range[0] == 18.0


def test_benchmark_figures_average_per_method():
    Row = SimpleNamespace
    rows = [Row(image="a", method="noisy", psnr=20.0, ssim=0.4, seconds=0.0),
            Row(image="a", method="lstm", psnr=30.0, ssim=0.8, seconds=1.0),
            Row(image="b", method="noisy", psnr=22.0, ssim=0.5, seconds=0.0),
            Row(image="b", method="lstm", psnr=32.0, ssim=0.9, seconds=3.0)]
    charts = figures.benchmark_figures(rows, {"noisy": "Noisy input", "lstm": "LSTM"}, highlighted={"lstm"})
    mean = charts["mean"].data[0]
    assert list(mean.x) == ["Noisy input", "LSTM"] and list(mean.y) == [21.0, 31.0]
    assert list(mean.marker.color) == [figures.TRAIN_COLOR, figures.ACCENT]  # the LSTM stands out
    assert list(charts["speed"].data[0].marker.color) == [figures.TRAIN_COLOR, figures.ACCENT]
    assert [bar.name for bar in charts["per_image"].data] == ["Noisy input", "LSTM"]
    assert list(charts["per_image"].data[1].y) == [30.0, 32.0]
    assert list(charts["speed"].data[0].x) == [1e-3, 2.0]  # zero seconds drawn at 1 ms on the log axis
