"""Influence maps as pictures and Plotly figures: pure functions of arrays (no Streamlit), shared by
the scenario pages' influence section and `scripts/influence_picture.py` (the docs' PNG).

The influence (`denoiser.evaluation.influence`) is drawn on a log scale over `DECADES` powers of
ten below its largest value, over the dimmed noisy image; input pixels with no influence at all
(exactly zero) keep the plain image, so a network's blind area shows as uncoloured."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .figures import _image_layout, png_data_uri

DECADES = 4
"""Powers of ten of influence the colours span: weaker (but non-zero) pixels get the faintest colour."""
COLOR_STOPS = np.array([[0.25, 0.0, 0.45], [0.85, 0.15, 0.2], [1.0, 0.85, 0.2]])
"""Faint to strong: violet, red, yellow."""
BM3D_SEARCH_WINDOW, BM3D_BLOCK = 39, 8
"""The `bm3d` package's defaults (`BM3DProfile().search_window_ht`, `.bs_ht`): blocks of 8x8 pixels
are matched within a 39x39 window around each reference block."""
PIXEL_COLOR, WINDOW_COLOR = "#17a398", "#2f6fdf"


def influence_strength(influence: np.ndarray, decades: int = DECADES, pixel: tuple[int, int] | None = None) -> np.ndarray:
    """Each pixel's influence on a 0..1 log scale (1: the largest, 0: `decades` powers of ten
    below it or weaker); NaN where it is exactly zero. Given `pixel`, the scale is set by the largest
    influence of any other pixel (the pixel itself, which a residual denoiser passes through, is
    shown at 1), so the neighbours it draws on fill the scale."""
    influence = np.asarray(influence, dtype=np.float64)
    others = influence.copy()
    if pixel is not None:
        others[pixel] = 0.0
    largest = others.max() if others.max() > 0 else influence.max()
    strength = np.full(influence.shape, np.nan)
    if largest <= 0:
        return strength
    seen = influence > 0
    strength[seen] = np.clip(1 + np.log10(influence[seen] / largest) / decades, 0.0, 1.0)
    return strength


def influence_picture(image: np.ndarray, influence: np.ndarray, pixel: tuple[int, int] | None = None,
                      decades: int = DECADES) -> np.ndarray:
    """(H, W, 3) float32 RGB: the image in dimmed gray, coloured by the influence where it is non-zero
    (`influence_strength`'s scale)."""
    gray = np.asarray(image, dtype=np.float32).mean(axis=-1) if image.ndim == 3 else np.asarray(image, np.float32)
    base = np.repeat((0.25 + 0.5 * gray)[..., None], 3, axis=-1)
    strength = influence_strength(influence, decades, pixel)
    seen = ~np.isnan(strength)
    level = np.nan_to_num(strength)[..., None]
    color = np.where(level < 0.5, COLOR_STOPS[0] + (COLOR_STOPS[1] - COLOR_STOPS[0]) * 2 * level,
                     COLOR_STOPS[1] + (COLOR_STOPS[2] - COLOR_STOPS[1]) * (2 * level - 1))
    alpha = (0.35 + 0.6 * level) * seen[..., None]
    return (base * (1 - alpha) + color * alpha).astype(np.float32)


def search_window(pixel: tuple[int, int], shape: tuple[int, ...], window: int = BM3D_SEARCH_WINDOW) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), inclusive, of a `window`-pixel square centred on `pixel`, cut to the image."""
    before = (window - 1) // 2
    height, width = shape[:2]
    top, left = pixel[0] - before, pixel[1] - before
    return max(0, top), max(0, left), min(height - 1, top + window - 1), min(width - 1, left + window - 1)


def _pixel_figure(picture: np.ndarray, pixel: tuple[int, int], title: str, pick_every: int) -> go.Figure:
    """A picture with the chosen pixel marked and a grid of invisible points every `pick_every`
    pixels, which a click selects (Plotly selects scatter points, not image pixels)."""
    height, width = picture.shape[:2]
    figure = go.Figure(go.Image(source=png_data_uri(picture), hoverinfo="skip"))
    if pick_every:
        rows, columns = np.mgrid[0:height:pick_every, 0:width:pick_every]
        figure.add_trace(go.Scatter(x=columns.ravel(), y=rows.ravel(), mode="markers", name="pick",
                                    marker=dict(size=max(4, pick_every * 2), opacity=0.0, color="white"),
                                    hovertemplate="row %{y}, column %{x}<extra></extra>", showlegend=False))
    figure.add_trace(go.Scatter(x=[pixel[1]], y=[pixel[0]], mode="markers", name="pixel", showlegend=False,
                                marker=dict(symbol="x-thin", size=12, line=dict(width=2, color=PIXEL_COLOR)),
                                hoverinfo="skip"))
    figure.update_layout(title=dict(text=title, font=dict(size=13)), clickmode="event+select", dragmode=False)
    figure = _image_layout(figure, height, width)
    figure.update_layout(height=min(420, max(220, int(360 * height / max(width, 1)))))
    return figure


def influence_figure(image: np.ndarray, influence: np.ndarray, pixel: tuple[int, int], title: str,
                     radius: float | None = None, pick_every: int = 0) -> go.Figure:
    """The influence map over the image, the pixel marked and, given `radius`, the circle that
    holds 90% of the influence."""
    figure = _pixel_figure(influence_picture(image, influence, pixel), pixel, title, pick_every)
    if radius is not None and radius > 0:
        row, column = pixel
        figure.add_shape(type="circle", x0=column - radius, x1=column + radius, y0=row - radius, y1=row + radius,
                         line=dict(color="white", width=1.5, dash="dot"))
    return figure


def search_window_figure(image: np.ndarray, pixel: tuple[int, int], title: str, window: int = BM3D_SEARCH_WINDOW,
                         block: int = BM3D_BLOCK, pick_every: int = 0) -> go.Figure:
    """BM3D's view of a pixel: the block around it and the search window where its similar blocks are found."""
    gray = image.mean(axis=-1) if image.ndim == 3 else image
    picture = np.repeat((0.25 + 0.5 * gray)[..., None], 3, axis=-1).astype(np.float32)
    figure = _pixel_figure(picture, pixel, title, pick_every)
    top, left, bottom, right = search_window(pixel, image.shape, window)
    figure.add_shape(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
                     line=dict(color=WINDOW_COLOR, width=2), fillcolor=WINDOW_COLOR, opacity=0.25)
    top, left, bottom, right = search_window(pixel, image.shape, block)
    figure.add_shape(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
                     line=dict(color=PIXEL_COLOR, width=2))
    return figure


def search_window_picture(image: np.ndarray, pixel: tuple[int, int], window: int = BM3D_SEARCH_WINDOW,
                          block: int = BM3D_BLOCK) -> np.ndarray:
    """(H, W, 3) float32: the dimmed gray image with BM3D's search window tinted and the block outlined,
    as `search_window_figure` draws them, for a still picture."""
    picture = influence_picture(image, np.zeros(image.shape[:2]))
    top, left, bottom, right = search_window(pixel, image.shape, window)
    tint = np.array([int(WINDOW_COLOR[i:i + 2], 16) / 255 for i in (1, 3, 5)], dtype=np.float32)
    picture[top:bottom + 1, left:right + 1] = 0.7 * picture[top:bottom + 1, left:right + 1] + 0.3 * tint
    _outline(picture, search_window(pixel, image.shape, window), tint)
    _outline(picture, search_window(pixel, image.shape, block), np.array([0.09, 0.64, 0.6], dtype=np.float32))
    return picture


def marked(picture: np.ndarray, pixel: tuple[int, int], size: int = 3) -> np.ndarray:
    """`picture` with a small white cross on `pixel`, for a still picture."""
    picture = picture.copy()
    row, column = pixel
    picture[max(0, row - size):row + size + 1, column] = 1.0
    picture[row, max(0, column - size):column + size + 1] = 1.0
    return picture


def _outline(picture: np.ndarray, box: tuple[int, int, int, int], color: np.ndarray) -> None:
    top, left, bottom, right = box
    picture[top, left:right + 1] = picture[bottom, left:right + 1] = color
    picture[top:bottom + 1, left] = picture[top:bottom + 1, right] = color
