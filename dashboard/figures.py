"""Plotly figures and the tables beside them: pure functions of arrays and numbers (no Streamlit),
so tests call them directly. Images are float32 (H, W, C) in [0, 1], as in the core."""

from __future__ import annotations

import base64
import math
from typing import TYPE_CHECKING, Collection, Iterable, Mapping, Sequence

import numpy as np

# pandas up front: Plotly takes it from sys.modules, and two sessions drawing their first chart at once
# saw it half-imported ("partially initialized module 'pandas' has no attribute 'Series'").
import pandas  # noqa: F401
import plotly.graph_objects as go
from scipy import special

from denoiser.evaluation.metrics import Scores
from denoiser.images import encode_png

if TYPE_CHECKING:
    from denoiser.training.loops import Progress

TRAIN_COLOR, VALIDATION_COLOR, ACCENT = "#2f6fdf", "#e4572e", "#17a398"
SLIDER_END_ROOM = 20
"""Pixels left free at each end of a comparison's slider: its end labels ("100%") are centred on
the end ticks and were clipped at the figure's edge."""


def _image_layout(figure: go.Figure, height: int, width: int) -> go.Figure:
    """Square pixels, row 0 at the top, no axes, and zoom kept across reruns."""
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, scaleanchor="x", autorange="reversed", constrain="domain")
    figure.update_layout(margin=dict(l=0, r=0, t=30, b=0), uirevision="keep",
                         height=min(760, max(300, int(640 * height / max(width, 1)))))
    return figure


def png_data_uri(image: np.ndarray) -> str:
    """An image as a `data:image/png` URI: compact in a figure, and the browser draws it at full resolution."""
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


def strip_edges(width: int, strips: int) -> list[int]:
    """Column boundaries that cut a width into `strips` nearly equal vertical strips."""
    strips = max(1, min(strips, width))
    return [round(i * width / strips) for i in range(strips + 1)]


def comparison_figure(before: np.ndarray, after: np.ndarray, before_label: str = "Noisy",
                      after_label: str = "Denoised", strips: int = 16) -> go.Figure:
    """A before/after wipe: the slider moves the boundary; zoom and pan with the mouse.

    Both images are cut into vertical strips (one trace each); a slider step shows `before` on the
    strips left of the boundary and `after` on the rest, so the figure carries each image once.
    Each strip reaches one pixel into the next, which is drawn over it, so no seam shows.
    """
    if before.shape != after.shape:
        raise ValueError(f"Images differ in shape: {before.shape} and {after.shape}.")
    height, width = before.shape[:2]
    edges = strip_edges(width, strips)
    count = len(edges) - 1
    figure = go.Figure()
    for name, image in ((before_label, before), (after_label, after)):
        for left, right in zip(edges[:-1], edges[1:]):
            figure.add_trace(go.Image(source=png_data_uri(image[:, left:min(right + 1, width)]), x0=left, dx=1,
                                      y0=0, dy=1, name=name,
                                      hovertemplate=f"{name}<br>x %{{x}}, y %{{y}}<extra></extra>"))

    def boundary_line(column: int) -> list[dict]:
        return [dict(type="line", x0=column - 0.5, x1=column - 0.5, y0=-0.5, y1=height - 0.5,
                     line=dict(color="#f5c400", width=2))] if 0 < column < width else []

    steps = []
    for boundary in range(count + 1):
        visible = [i < boundary for i in range(count)] + [i >= boundary for i in range(count)]
        percent = round(100 * edges[boundary] / width)
        steps.append(dict(method="update", label=f"{percent}%",
                          args=[{"visible": visible}, {"shapes": boundary_line(edges[boundary])}]))
    start = count // 2
    for trace, visible in zip(figure.data, steps[start]["args"][0]["visible"]):
        trace.visible = visible
    figure.update_layout(
        shapes=boundary_line(edges[start]),
        sliders=[dict(active=start, steps=steps, pad=dict(t=10, l=SLIDER_END_ROOM, r=SLIDER_END_ROOM), currentvalue=dict(
            prefix=f"{before_label} left of the line, {after_label} right · boundary at "))],
        title=dict(text=f"{before_label} | {after_label}: drag the slider; zoom with the mouse", font=dict(size=14)))
    return _image_layout(figure, height, width)


def wipe(before: np.ndarray, after: np.ndarray, boundary: int) -> np.ndarray:
    """What a comparison shows with the boundary at column `boundary`: `before` left of it, `after` right."""
    shown = after.copy()
    shown[:, :boundary] = before[:, :boundary]
    return shown


def loss_figure(history: Sequence[Progress]) -> go.Figure:
    """Training loss per step and validation loss per epoch, MSE on the 0..255 scale (log axis)."""
    figure = go.Figure()
    steps = [p.step for p in history]
    figure.add_trace(go.Scatter(x=steps, y=[p.train_loss for p in history], mode="lines",
                                name="train (per step)", line=dict(color=TRAIN_COLOR, width=1.5)))
    epochs = [p for p in history if p.val_loss is not None]
    figure.add_trace(go.Scatter(x=[p.step for p in epochs], y=[p.val_loss for p in epochs], mode="lines+markers",
                                name="validation (per epoch)", line=dict(color=VALIDATION_COLOR, width=2),
                                customdata=[[p.epoch, p.val_psnr] for p in epochs],
                                hovertemplate="epoch %{customdata[0]}: MSE %{y:.1f}, PSNR %{customdata[1]:.2f} dB"
                                              "<extra></extra>"))
    best = [p for p in epochs if p.best_epoch == p.epoch]
    if best:
        figure.add_trace(go.Scatter(x=[best[-1].step], y=[best[-1].val_loss], mode="markers", name="best epoch",
                                    marker=dict(symbol="star", size=14, color=ACCENT)))
    total = history[-1].steps if history else 1
    figure.update_layout(xaxis=dict(title="step", range=[0, max(total, 1)]),
                         yaxis=dict(title="MSE (0..255 scale)", type="log"),
                         margin=dict(l=10, r=10, t=40, b=10), height=320,
                         legend=dict(orientation="h", y=1.12), title=dict(text="Loss", font=dict(size=14)))
    return figure


def signed_map(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(first - second) on the 0..255 scale, averaged over channels: (H, W) float32."""
    return (255.0 * (first.astype(np.float32) - second.astype(np.float32))).mean(axis=-1)


def heatmap_figure(values: np.ndarray, title: str, diverging: bool) -> go.Figure:
    """A (H, W) map on the 0..255 scale: diverging colors around 0 for signed values, else 0 upward."""
    values = np.asarray(values, dtype=np.float32)
    limit = float(np.percentile(np.abs(values), 99.5)) if values.size else 1.0
    limit = max(limit, 1.0)
    if diverging:
        colors = dict(colorscale="RdBu", zmid=0.0, zmin=-limit, zmax=limit)
    else:
        colors = dict(colorscale="Inferno", zmin=0.0, zmax=limit)
    figure = go.Figure(go.Heatmap(z=values, colorbar=dict(title="0..255", thickness=12),
                                  hovertemplate="x %{x}, y %{y}: %{z:.1f}<extra></extra>", **colors))
    figure.update_layout(title=dict(text=title, font=dict(size=14)))
    return _image_layout(figure, *values.shape)


def noise_histograms(removed: np.ndarray, added: np.ndarray, bins: int = 81) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin centres, removed counts, added counts) on shared bins symmetric around 0, 0..255 scale."""
    removed, added = np.ravel(removed), np.ravel(added)
    edges = _symmetric_edges(np.concatenate([removed, added]), bins)
    return (edges[:-1] + edges[1:]) / 2, _counts(removed, edges), _counts(added, edges)


def _symmetric_edges(values: np.ndarray, bins: int, least: float = 1.0) -> np.ndarray:
    """Bin edges from -limit to limit, the limit covering 99.5% of |values| and at least `least`."""
    limit = max(least, float(np.percentile(np.abs(values), 99.5)))
    return np.linspace(-limit, limit, bins + 1)


def _counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram counts, with values beyond the edges counted in the end bins."""
    return np.histogram(np.clip(values, edges[0], edges[-1]), edges)[0]


def noise_histogram_figure(removed: np.ndarray, added: np.ndarray) -> go.Figure:
    """The noise the model removed (noisy - denoised) against the noise truly added (noisy - clean)."""
    centres, removed_counts, added_counts = noise_histograms(removed, added)
    figure = go.Figure()
    figure.add_trace(go.Bar(x=centres, y=added_counts, name="added (noisy − clean)", marker_color="#999999",
                            opacity=0.6))
    figure.add_trace(go.Bar(x=centres, y=removed_counts, name="removed (noisy − denoised)",
                            marker_color=TRAIN_COLOR, opacity=0.6))
    peaked = added_counts.max(initial=0) > 20 * max(1.0, float(np.median(added_counts)))
    figure.update_layout(barmode="overlay", bargap=0, height=320, margin=dict(l=10, r=10, t=40, b=10),
                         xaxis_title="pixel change (0..255 scale)", yaxis=dict(title="pixels", type="log" if peaked else "linear"),
                         legend=dict(orientation="h", y=1.12), title=dict(text="Noise histogram", font=dict(size=14)))
    return figure


def removed_noise_histogram(removed: np.ndarray, sigma: float, bins: int = 81) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin centres, counts of the removed noise, counts a Gaussian of `sigma` would give) on bins
    symmetric around 0, 0..255 scale. With no clean image, the removed noise should look like the
    noise the photo is thought to have: a wider or lopsided histogram means detail was removed."""
    removed = np.ravel(removed)
    edges = _symmetric_edges(removed, bins, least=max(1.0, 3.0 * sigma))
    expected = removed.size * np.diff(special.ndtr(edges / sigma)) if sigma > 0 else np.zeros(bins)
    return (edges[:-1] + edges[1:]) / 2, _counts(removed, edges), expected


def removed_noise_figure(removed: np.ndarray, sigma: float) -> go.Figure:
    """Histogram of the noise taken out of a photo, with the Gaussian of the estimated `sigma`."""
    centres, counts, expected = removed_noise_histogram(removed, sigma)
    figure = go.Figure(go.Bar(x=centres, y=counts, name="removed (photo − denoised)", marker_color=TRAIN_COLOR,
                              opacity=0.7))
    if sigma > 0:
        figure.add_trace(go.Scatter(x=centres, y=expected, name=f"Gaussian, sigma {sigma:.1f}", mode="lines",
                                    line=dict(color="#333333")))
    spread = float(np.std(removed))
    figure.update_layout(barmode="overlay", bargap=0, height=320, margin=dict(l=10, r=10, t=40, b=10),
                         xaxis_title="pixel change (0..255 scale)",
                         yaxis=dict(title="pixels", type="linear" if sigma > 0 else "log"),  # impulses: a spike at 0
                         legend=dict(orientation="h", y=1.12),
                         title=dict(text=f"Removed noise: standard deviation {spread:.1f}", font=dict(size=14)))
    return figure


def split_table(scores: Mapping[str, Scores]) -> list[dict]:
    """One row per pixel set ('all', 'train', 'validation', 'test'): pixels, PSNR before/after, SSIM, MSE."""
    return [{"pixels": name, "count": s.pixels, "noisy PSNR (dB)": round(s.noisy_psnr, 2),
             "denoised PSNR (dB)": round(s.denoised_psnr, 2), "gain (dB)": round(s.gain, 2),
             "denoised SSIM": round(s.denoised_ssim, 4), "MSE (0..255)": round(s.denoised_mse, 2)}
            for name, s in scores.items()]


def notebook_table(test: Scores, notebook_mse: float, method: str) -> list[dict]:
    """The test pixels' MSE (0..255 scale) and PSNR: the original notebook's reported result, the
    noisy input and this run, for the comparison beside a result."""
    def row(name: str, mse: float) -> dict:
        return {"on the test pixels": name, "MSE (0..255)": round(mse, 1),
                "PSNR (dB)": round(10 * math.log10(255.0 ** 2 / mse), 2) if mse > 0 else float("inf")}
    return [row("Original notebook (reported)", notebook_mse), row("Noisy input", test.noisy_mse),
            row(method, test.denoised_mse)]


def method_bars_figure(rows: Iterable[Mapping], title: str = "PSNR by method") -> go.Figure:
    """Bars of PSNR per method (SSIM and seconds in the hover); rows carry method, psnr, ssim, seconds."""
    rows = list(rows)
    figure = go.Figure(go.Bar(
        x=[r["method"] for r in rows], y=[r["psnr"] for r in rows],
        marker_color=[ACCENT if r.get("highlight") else TRAIN_COLOR for r in rows],
        text=[f"{r['psnr']:.2f}" for r in rows], textposition="outside",
        customdata=[[r["ssim"], r["seconds"]] for r in rows],
        hovertemplate="%{x}: PSNR %{y:.2f} dB, SSIM %{customdata[0]:.4f}, %{customdata[1]:.2f} s<extra></extra>"))
    values = [r["psnr"] for r in rows if math.isfinite(r["psnr"])]
    low = min(values) - 2 if values else 0
    high = max(values) + 1.5 if values else 1
    figure.update_layout(yaxis=dict(title="PSNR (dB)", range=[max(0, low), high]), height=340,
                         margin=dict(l=10, r=10, t=40, b=10), title=dict(text=title, font=dict(size=14)))
    return figure


def benchmark_figures(rows: Sequence, titles: Mapping[str, str], highlighted: Collection[str]) -> dict[str, go.Figure]:
    """Benchmark charts from BenchmarkRow-like objects (image, method, psnr, ssim, seconds):
    mean PSNR per method, PSNR per image and method, and mean PSNR against mean seconds; the
    `highlighted` methods (the LSTM's) in the accent colour."""
    methods = list(dict.fromkeys(r.method for r in rows))
    images = list(dict.fromkeys(r.image for r in rows))
    means = {m: {key: float(np.mean([getattr(r, key) for r in rows if r.method == m]))
                 for key in ("psnr", "ssim", "seconds")} for m in methods}
    mean_rows = [{"method": titles.get(m, m), "highlight": m in highlighted, **means[m]} for m in methods]
    per_image = go.Figure([go.Bar(name=titles.get(m, m), x=images,
                                  y=[next((r.psnr for r in rows if r.method == m and r.image == i), None) for i in images])
                           for m in methods])
    finite = [r.psnr for r in rows if math.isfinite(r.psnr)]
    low, high = (max(0.0, min(finite) - 2), max(finite) + 1) if finite else (0, 1)
    per_image.update_layout(barmode="group", height=360, yaxis=dict(title="PSNR (dB)", range=[low, high]),
                            margin=dict(l=10, r=10, t=40, b=10), title=dict(text="PSNR per image", font=dict(size=14)))
    speed = go.Figure(go.Scatter(
        x=[max(means[m]["seconds"], 1e-3) for m in methods], y=[means[m]["psnr"] for m in methods],
        mode="markers+text", text=[titles.get(m, m) for m in methods], textposition="top center", cliponaxis=False,
        marker=dict(size=12, color=[ACCENT if m in highlighted else TRAIN_COLOR for m in methods])))
    speed.update_layout(xaxis=dict(title="seconds per image (log)", type="log"), yaxis_title="mean PSNR (dB)",
                        height=360, margin=dict(l=10, r=10, t=40, b=10),
                        title=dict(text="Quality against time", font=dict(size=14)))
    return {"mean": method_bars_figure(mean_rows, "Mean PSNR by method"), "per_image": per_image, "speed": speed}

