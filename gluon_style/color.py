"""Color control (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer").

Style transfer copies the painting's colors along with its brush strokes. Two ways
to keep the photograph's colors instead, both acting on the images before and
after optimization, so the optimizer itself is unchanged:

* **luminance-only transfer** (``transfer_luminance`` / ``recombine_luminance``):
  run style transfer on the luminance channel alone (YIQ's Y, repeated to three
  channels for the network), with the style's luminance first matched in mean
  and standard deviation to the content's; then put the result's luminance
  together with the content's I and Q (chroma) channels.
* **color histogram matching** (``match_color``): before transfer, move the
  style image's pixel colors by an affine map x -> A x + b so that their mean
  and 3x3 covariance equal the content's. ``A`` is any matrix with
  A S_style A^T = S_content; ``'cholesky'`` takes A = L_c L_s^-1 (Cholesky
  factors), ``'pca'`` takes A = S_c^1/2 S_s^-1/2 (symmetric square roots by
  eigen decomposition, as in Hertzmann et al.'s image analogies). Both match the first two
  moments exactly; they differ in how they rotate colors.

Images here are HxWx3 uint8 arrays or PIL images, as ``load_image`` returns.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .losses import psd_power

COLOR_MODES = ("style", "luminance", "histogram", "histogram_pca")
MATCH_METHODS = ("cholesky", "pca")

# NTSC YIQ (the transform Gatys et al. 2017 name); rows give Y, I, Q from RGB in [0, 1].
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                       [0.595716, -0.274453, -0.321263],
                       [0.211456, -0.522591, 0.311135]])
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)
_EPS = 1e-5


def _float(image) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got an array of shape {a.shape}")
    return a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)


def _uint8(a: np.ndarray) -> np.ndarray:
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def rgb_to_yiq(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 RGB (uint8, or float in [0, 1]) -> HxWx3 float YIQ."""
    return _float(rgb) @ RGB_TO_YIQ.T


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    """HxWx3 float YIQ -> HxWx3 float RGB (not clipped)."""
    return np.asarray(yiq, dtype=np.float64) @ YIQ_TO_RGB.T


def transfer_luminance(*, content, style) -> tuple[Image.Image, Image.Image]:
    """The grey (luminance, three equal channels) content and style images to stylize.

    The style's luminance is matched to the content's mean and standard deviation, so that
    the transfer keeps the photo's overall brightness and contrast (Gatys et al. 2017, eq. 5).
    """
    Y_c = rgb_to_yiq(content)[..., 0]
    Y_s = rgb_to_yiq(style)[..., 0]
    Y_s = (Y_s - Y_s.mean()) * (Y_c.std() / (Y_s.std() + _EPS)) + Y_c.mean()
    grey = [Image.fromarray(_uint8(np.repeat(Y[..., None], 3, axis=2))) for Y in (Y_c, Y_s)]
    return grey[0], grey[1]


def recombine_luminance(*, stylized, content) -> np.ndarray:
    """The luminance of ``stylized`` with the chroma (I, Q) of ``content``, as uint8 RGB."""
    stylized, content = np.asarray(stylized), np.asarray(content)
    if stylized.shape != content.shape:
        raise ValueError(f"stylized image {stylized.shape} and content {content.shape} differ in shape")
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = rgb_to_yiq(stylized)[..., 0]
    return _uint8(yiq_to_rgb(yiq))


def color_transform(*, source, target, method: str = "cholesky") -> tuple[np.ndarray, np.ndarray]:
    """(A, b) with A cov(source) A^T = cov(target) and A mean(source) + b = mean(target).

    ``source`` and ``target`` are HxWx3 images (or Nx3 arrays of colors in [0, 1]).
    """
    if method not in MATCH_METHODS:
        raise ValueError(f"invalid method {method!r}; options are {MATCH_METHODS}")
    X_s = _float(source).reshape(-1, 3) if np.ndim(source) == 3 else np.asarray(source, float)
    X_t = _float(target).reshape(-1, 3) if np.ndim(target) == 3 else np.asarray(target, float)
    mu_s, mu_t = X_s.mean(0), X_t.mean(0)
    # A small ridge keeps flat (e.g. grey) images invertible.
    S_s = np.cov(X_s, rowvar=False, bias=True) + _EPS * np.eye(3)
    S_t = np.cov(X_t, rowvar=False, bias=True) + _EPS * np.eye(3)
    if method == "cholesky":
        A = np.linalg.cholesky(S_t) @ np.linalg.inv(np.linalg.cholesky(S_s))
    else:
        A = psd_power(S_t, 0.5, floor=_EPS) @ psd_power(S_s, -0.5, floor=_EPS)
    return A, mu_t - A @ mu_s


def match_color(*, style, content, method: str = "cholesky") -> Image.Image:
    """``style`` with its colors moved to the mean and covariance of ``content``'s colors.

    Colors that land outside [0, 1] are clipped (which is why the moments of the uint8
    result match only approximately for extreme pairs).
    """
    A, b = color_transform(source=style, target=content, method=method)
    return Image.fromarray(_uint8(_float(style) @ A.T + b))


def apply_color_control(color: str, content, styles) -> tuple:
    """The content and style images a transfer sees under colour mode ``color``.

    'style': unchanged; 'luminance': both as grey luminance (``transfer_luminance``; put the
    photo's chroma back with ``recombine_luminance`` after); 'histogram' or 'histogram_pca':
    each painting's colours matched to the photo's (``match_color``).
    """
    if color not in COLOR_MODES:
        raise ValueError(f"invalid color {color!r}; options are {COLOR_MODES}")
    if color == "luminance":
        pairs = [transfer_luminance(content=content, style=s) for s in styles]
        return pairs[0][0], [grey_style for _, grey_style in pairs]
    if color.startswith("histogram"):
        method = "pca" if color == "histogram_pca" else "cholesky"
        return content, [match_color(style=s, content=content, method=method) for s in styles]
    return content, list(styles)

