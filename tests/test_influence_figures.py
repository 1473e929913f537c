import numpy as np

from dashboard.influence_figures import (
    BM3D_SEARCH_WINDOW,
    influence_figure,
    influence_picture,
    influence_strength,
    search_window,
    search_window_figure,
)


def test_strength_is_a_log_scale_with_zero_influence_left_out():
    influence = np.array([[0.0, 1e-6, 1e-2], [1e-1, 1.0, 0.0]])
    strength = influence_strength(influence, decades=4)
    assert np.isnan(strength[0, 0]) and np.isnan(strength[1, 2])
    assert strength[1, 1] == 1.0 and strength[0, 1] == 0.0  # six decades down: clipped to the faintest
    assert np.isclose(strength[0, 2], 0.5) and np.isclose(strength[1, 0], 0.75)
    assert np.isnan(influence_strength(np.zeros((2, 2)))).all()


def test_picture_colours_only_where_there_is_influence(gray_image):
    influence = np.zeros(gray_image.shape[:2])
    influence[10, :] = 1.0
    picture = influence_picture(gray_image, influence)
    plain = influence_picture(gray_image, np.zeros_like(influence))
    assert picture.shape == gray_image.shape[:2] + (3,)
    assert np.array_equal(np.delete(picture, 10, axis=0), np.delete(plain, 10, axis=0))
    assert not np.allclose(picture[10], plain[10])
    assert np.allclose(plain[..., 0], plain[..., 1])  # no influence anywhere: the dimmed gray image


def test_search_window_is_centred_and_cut_to_the_image():
    assert search_window((100, 100), (256, 256)) == (81, 81, 119, 119)
    assert search_window((100, 100), (256, 256), 8) == (97, 97, 104, 104)
    assert search_window((3, 250), (256, 256)) == (0, 231, 22, 255)


def test_figures_mark_the_pixel_the_reach_and_the_window(color_image):
    influence = np.ones(color_image.shape[:2])
    figure = influence_figure(color_image, influence, (5, 7), "Row LSTM", radius=4.0, pick_every=2)
    circle = figure.layout.shapes[0]
    assert (circle.type, circle.x0, circle.x1, circle.y0, circle.y1) == ("circle", 3.0, 11.0, 1.0, 9.0)
    pick = next(t for t in figure.data if t.name == "pick")
    assert len(pick.x) == 20 * 24 and figure.layout.clickmode == "event+select"
    window = search_window_figure(color_image, (20, 20), "BM3D").layout.shapes
    assert [s.type for s in window] == ["rect", "rect"] and window[0].x1 - window[0].x0 == BM3D_SEARCH_WINDOW


def test_given_the_pixel_its_neighbours_set_the_scale():
    influence = np.array([[0.0, 0.01, 0.0], [0.001, 0.9, 0.0]])  # a residual denoiser: the pixel passes through
    assert np.isclose(influence_strength(influence, decades=4)[0, 1], 1 + np.log10(0.01 / 0.9) / 4)
    strength = influence_strength(influence, decades=4, pixel=(1, 1))
    assert strength[0, 1] == 1.0 and np.isclose(strength[1, 0], 0.75) and strength[1, 1] == 1.0
