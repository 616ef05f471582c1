import numpy as np
import pytest
from numpy.testing import assert_allclose

import gluon_style as gs
from gluon_style import color

TINY = dict(size=48, content_layers=("relu2_2",), style_layers=("relu1_1", "relu2_1"),
            pretrained=False, progress=False)


def _random_image(seed, shape=(6, 7, 3)):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_yiq_by_hand_and_round_trip():
    # pure red: Y = 0.299, I = 0.595716, Q = 0.211456 (the first column of the matrix)
    red = np.zeros((1, 1, 3), np.uint8)
    red[..., 0] = 255
    assert_allclose(color.rgb_to_yiq(red)[0, 0], [0.299, 0.595716, 0.211456])
    # grey has no chroma
    assert_allclose(color.rgb_to_yiq(np.full((1, 1, 3), 0.5))[0, 0], [0.5, 0, 0], atol=1e-6)
    X = _random_image(0) / 255.0
    assert_allclose(color.yiq_to_rgb(color.rgb_to_yiq(X)), X, atol=1e-12)


def test_luminance_transfer_matches_mean_and_std_and_is_grey():
    content, style = _random_image(1, (20, 30, 3)), _random_image(2, (25, 25, 3)) // 2
    grey_c, grey_s = (np.asarray(im) for im in color.transfer_luminance(content=content, style=style))
    for grey in (grey_c, grey_s):
        assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 0] == grey[..., 2]).all()
    Y_c = color.rgb_to_yiq(content)[..., 0]
    Y_s = grey_s[..., 0] / 255.0
    assert_allclose(grey_c[..., 0] / 255.0, Y_c, atol=0.5 / 255 + 1e-9)   # rounding only
    assert_allclose([Y_s.mean(), Y_s.std()], [Y_c.mean(), Y_c.std()], atol=2e-3)


def test_recombine_keeps_content_chroma_and_stylized_luminance():
    content = _random_image(3) // 2 + 64     # away from 0 and 255 so nothing clips
    stylized = _random_image(4) // 4 + 96
    out = color.recombine_luminance(stylized=stylized, content=content)
    yiq_out, yiq_c, yiq_s = (color.rgb_to_yiq(a) for a in (out, content, stylized))
    assert_allclose(yiq_out[..., 0], yiq_s[..., 0], atol=1 / 255)
    assert_allclose(yiq_out[..., 1:], yiq_c[..., 1:], atol=1.5 / 255)


@pytest.mark.parametrize("method", ["cholesky", "pca"])
def test_color_transform_matches_mean_and_covariance(method):
    rng = np.random.default_rng(5)
    source = rng.normal(size=(500, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.2], [0, 0, 0.3]])
    target = rng.normal(size=(400, 3)) @ np.array([[0.2, 0, 0], [0.1, 0.4, 0], [0, 0.3, 1]]) + 2
    A, b = color.color_transform(source=source, target=target, method=method)
    moved = source @ A.T + b
    assert_allclose(moved.mean(0), target.mean(0), atol=1e-10)
    # exact up to the 1e-5 ridge color_transform adds to both covariances
    assert_allclose(np.cov(moved, rowvar=False, bias=True), np.cov(target, rowvar=False, bias=True),
                    rtol=1e-3, atol=1e-4)
    if method == "cholesky":
        assert_allclose(A, np.tril(A))     # L_t L_s^-1 is lower triangular
    else:                                  # S_t^1/2 S_s^-1/2, checked with scipy's sqrtm
        from scipy.linalg import sqrtm
        S_s = np.cov(source, rowvar=False, bias=True) + 1e-5 * np.eye(3)
        S_t = np.cov(target, rowvar=False, bias=True) + 1e-5 * np.eye(3)
        assert_allclose(A, sqrtm(S_t).real @ np.linalg.inv(sqrtm(S_s).real), rtol=1e-6)


def test_color_transform_by_hand_for_diagonal_covariances():
    # independent channels: A = diag(std_t / std_s) for both methods
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float)
    source = corners * [2, 4, 6]      # uncorrelated channels, std 1, 2, 3, mean 1, 2, 3
    target = corners                  # std 0.5, mean 0.5
    for method in color.MATCH_METHODS:
        A, b = color.color_transform(source=source, target=target, method=method)
        assert_allclose(np.diag(A), [0.5, 0.25, 1 / 6], rtol=1e-4)
        assert_allclose(A - np.diag(np.diag(A)), 0, atol=1e-8)
        assert_allclose(b, [0, 0, 0], atol=1e-4)


def test_match_color_moves_painting_toward_photo_colors():
    photo = gs.load_image("astronaut", max_size=64)
    painting = gs.load_image("coffee", max_size=64)
    matched = np.asarray(color.match_color(style=painting, content=photo)) / 255.0
    before = np.asarray(painting) / 255.0
    target = np.asarray(photo) / 255.0
    gap = lambda a: np.abs(a.reshape(-1, 3).mean(0) - target.reshape(-1, 3).mean(0)).max()
    assert gap(matched) < 0.02 < gap(before)


def test_bad_method_and_mode_list_the_options():
    with pytest.raises(ValueError, match="cholesky"):
        color.color_transform(source=np.eye(3), target=np.eye(3), method="lab")
    with pytest.raises(ValueError, match="luminance"):
        gs.stylize("astronaut", "coffee", steps=1, color="yuv", **TINY)


def test_stylize_luminance_only_keeps_the_photos_chroma():
    image, _ = gs.stylize("astronaut", "coffee", steps=3, color="luminance", **TINY)
    photo = np.asarray(gs.load_image("astronaut", max_size=48))
    iq_out, iq_photo = color.rgb_to_yiq(image)[..., 1:], color.rgb_to_yiq(photo)[..., 1:]
    unclipped = ((image > 2) & (image < 253)).all(axis=2)
    assert unclipped.mean() > 0.5
    assert_allclose(iq_out[unclipped], iq_photo[unclipped], atol=1.5 / 255)


def test_stylize_histogram_matching_runs_through_the_cli_options():
    a, _ = gs.stylize("astronaut", "coffee", steps=2, color="histogram", **TINY)
    b, _ = gs.stylize("astronaut", "coffee", steps=2, **TINY)
    assert a.shape == b.shape and (a != b).any()
