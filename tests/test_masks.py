import numpy as np
import mxnet as mx
import pytest
from numpy.testing import assert_allclose
from PIL import Image

import gluon_style as gs
from gluon_style import losses, masks
from gluon_style.image import ImageError

TINY = dict(size=48, content_layers=("relu2_2",), style_layers=("relu1_1", "relu2_1"),
            pretrained=False, progress=False)


def test_masked_gram_by_hand():
    X = mx.nd.array(np.random.default_rng(0).normal(size=(1, 3, 4, 5)))
    # an all-ones mask is the plain Gram matrix
    assert_allclose(losses.masked_gram(mx.nd, X, mx.nd.ones((1, 1, 4, 5))).asnumpy(),
                    losses.gram(mx.nd, X).asnumpy(), rtol=1e-5)
    # a binary mask over the left two columns is the Gram matrix of that crop
    m = np.zeros((1, 1, 4, 5), np.float32)
    m[..., :2] = 1
    F = X.asnumpy()[0, :, :, :2].reshape(3, -1)
    assert_allclose(losses.masked_gram(mx.nd, X, mx.nd.array(m)).asnumpy()[0], F @ F.T / 8, rtol=1e-5)
    with pytest.raises(ValueError, match="mask"):
        losses.masked_gram(mx.nd, X, mx.nd.ones((1, 1, 2, 5)))


def test_layer_mask_averages_boxes():
    m = np.zeros((4, 4), np.float32)
    m[:, :2] = 1                       # left half
    m[0, 2] = 1                        # one extra pixel in the top-right box
    assert_allclose(masks.layer_mask(m, shape=(2, 2)), [[1, 0.25], [1, 0]])


def _save(tmp_path, name, array):
    path = tmp_path / name
    Image.fromarray(array).save(path)
    return path


def test_load_mask_checks_file_aspect_and_region(tmp_path):
    half = np.zeros((20, 30), np.uint8)
    half[:, :15] = 255
    mask = masks.load_mask(_save(tmp_path, "half.png", half), shape=(40, 60))
    assert mask.shape == (40, 60) and mask[:, :29].min() == 1 and mask[:, 31:].max() == 0
    with pytest.raises(ImageError, match="aspect ratio"):
        masks.load_mask(_save(tmp_path, "square.png", np.zeros((30, 30), np.uint8) + 255),
                        shape=(40, 60))
    with pytest.raises(ImageError, match="no region"):
        masks.load_mask(_save(tmp_path, "black.png", np.zeros((20, 30), np.uint8)), shape=(40, 60))
    with pytest.raises(ImageError, match="not found"):
        masks.load_mask(tmp_path / "missing.png", shape=(40, 60))
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageError, match="cannot read"):
        masks.load_mask(tmp_path / "text.png", shape=(40, 60))


def test_kmeans_splits_two_colors_exactly_darkest_first():
    image = np.zeros((6, 8, 3), np.uint8)
    image[:, :3] = (200, 180, 160)
    image[:, 3:] = (10, 20, 30)
    image[0, 5] = (14, 22, 33)         # a near-dark pixel joins the dark region
    dark, light = masks.kmeans_masks(image, k=2, seed=1)
    assert (light[:, :3] == 1).all() and light[:, 3:].sum() == 0
    assert_allclose(dark + light, 1)
    with pytest.raises(ValueError, match="distinct colors"):
        masks.kmeans_masks(np.zeros((4, 4, 3), np.uint8), k=2)


@pytest.mark.parametrize("bad, match", [
    (dict(style=("coffee", "chelsea"), masks=("a.png", "b.png", "c.png")), "3 masks for 2 styles"),
    (dict(style=("coffee", "chelsea"), masks=("kmeans",), style_representation="mean_std"), "gram"),
    (dict(style=("coffee", "chelsea"), style_blend=(1.0,)), "1 style_blend weights for 2 styles"),
    (dict(style=()), "at least one style"),
])
def test_bad_style_and_mask_settings_fail_early(bad, match):
    with pytest.raises(ValueError, match=match):
        gs.stylize("astronaut", steps=1, **{**TINY, **bad})


def _solid_noise(rgb, seed):
    rng = np.random.default_rng(seed)
    return Image.fromarray(np.clip(np.array(rgb) + rng.normal(0, 20, (48, 48, 3)), 0, 255)
                           .astype(np.uint8))


def test_each_region_takes_its_own_style(tmp_path):
    """Red paint in the left half, blue in the right: the result's halves follow the masks."""
    left = np.zeros((48, 48), np.uint8)
    left[:, :24] = 255
    paths = [_save(tmp_path, "left.png", left), _save(tmp_path, "right.png", 255 - left)]
    red, blue = _solid_noise((220, 40, 40), 0), _solid_noise((40, 40, 220), 1)
    image, history = gs.stylize("astronaut", (red, blue), masks=tuple(map(str, paths)),
                                steps=40, init="noise", lr=0.1, tv_weight=0.0,
                                **{**TINY, "content_layers": ()})
    assert history[-1]["style"] < 0.1 * history[0]["style"]
    r, g, b = image[:, 4:20].reshape(-1, 3).mean(0)        # away from the border
    assert r > b + 60
    r, g, b = image[:, 28:44].reshape(-1, 3).mean(0)
    assert b > r + 60


def test_blending_two_styles_lands_between_them():
    red, blue = _solid_noise((220, 40, 40), 0), _solid_noise((40, 40, 220), 1)
    settings = dict(steps=40, init="noise", lr=0.1, tv_weight=0.0,
                                **{**TINY, "content_layers": ()})
    means = {}
    for blend in [(1.0, 0.0), (0.5, 0.5), (0.0, 1.0)]:
        image, _ = gs.stylize("astronaut", (red, blue), style_blend=blend, **settings)
        means[blend] = image.reshape(-1, 3).mean(0)
    redness = {k: v[0] - v[2] for k, v in means.items()}
    assert redness[(1.0, 0.0)] > redness[(0.5, 0.5)] > redness[(0.0, 1.0)]
