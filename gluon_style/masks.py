"""Spatial control (Gatys et al. 2017): guidance masks that give each region its own style.

A mask is a greyscale image the size (or at least the aspect) of the content photo:
white = inside the region, black = outside, grey = partly. Region r is paired
with style image r. At each style layer the mask is resized to the layer's grid
(box filter, so a pooled cell is weighted by how much of it lies inside) and the
generated image's features are multiplied by it before their Gram matrix
(``losses.masked_gram``), which then describes the region alone; the painting's
Gram matrix is its target. Gatys et al. also guide the style image with masks of
its own; here each region takes the whole painting paired with it.

``kmeans_masks`` splits a photo into regions by k-means on its colors, for demos
without hand-drawn masks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .image import ImageError

MIN_REGION = 1e-3   # a region must cover at least 0.1% of the image
_ASPECT_TOLERANCE = 0.02


def load_mask(path, *, shape: tuple[int, int]) -> np.ndarray:
    """A mask file as an HxW float array in [0, 1], resized to ``shape`` = (H, W).

    The file must have the content image's aspect ratio (within 2%) and a region in it.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: mask file not found")
    try:
        with Image.open(path) as im:
            im.load()
            grey = im.convert("L")
    except OSError as e:
        raise ImageError(f"{path}: cannot read the mask ({e})") from None
    h, w = shape
    if abs(grey.width / grey.height - w / h) > _ASPECT_TOLERANCE * (w / h):
        raise ImageError(f"{path}: the mask is {grey.width}x{grey.height} px but the content image "
                         f"is {w}x{h}; draw the mask on the content image (same aspect ratio)")
    return check_mask(np.asarray(grey.resize((w, h), Image.BILINEAR), np.float32) / 255.0,
                      label=str(path))


def check_mask(mask: np.ndarray, *, label: str = "<mask>") -> np.ndarray:
    """Validate an HxW float mask in [0, 1] (non-empty region); return it as float32."""
    mask = np.asarray(mask, dtype=np.float32)
    if mask.ndim != 2:
        raise ImageError(f"{label}: a mask is one HxW channel, got shape {mask.shape}")
    if mask.min() < 0 or mask.max() > 1:
        raise ImageError(f"{label}: mask values must lie in [0, 1]")
    if mask.mean() < MIN_REGION:
        raise ImageError(f"{label}: the mask has no region (white pixels cover "
                         f"{100 * mask.mean():.3g}% of it)")
    return mask


def kmeans_masks(image, *, k: int, seed: int = 0, iterations: int = 20) -> list[np.ndarray]:
    """Split an RGB image into ``k`` binary HxW masks by k-means (Lloyd) on pixel colors.

    Regions are ordered by mean brightness, darkest first, so the pairing with styles is
    stable. Initial centers are ``k`` distinct pixels drawn with ``seed``.
    """
    X = np.asarray(image, dtype=np.float64).reshape(-1, 3) / 255.0
    colors = np.unique(X, axis=0)
    if k < 1 or len(colors) < k:
        raise ValueError(f"cannot split an image with {len(colors)} distinct colors into {k} regions")
    rng = np.random.default_rng(seed)
    centers = colors[rng.choice(len(colors), k, replace=False)]
    for _ in range(iterations):
        labels = ((X[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)
        new = np.array([X[labels == j].mean(0) if (labels == j).any() else centers[j]
                        for j in range(k)])
        if np.allclose(new, centers):
            break
        centers = new
    labels = ((X[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)
    order = np.argsort(centers.sum(1))
    h, w = np.asarray(image).shape[:2]
    return [(labels == j).reshape(h, w).astype(np.float32) for j in order]


def layer_mask(mask: np.ndarray, *, shape: tuple[int, int]) -> np.ndarray:
    """Resize an HxW mask to a layer's (h, w) grid with a box filter (area average)."""
    h, w = shape
    return np.asarray(Image.fromarray(np.asarray(mask, np.float32), mode="F")
                      .resize((w, h), Image.BOX), dtype=np.float32)


def region_masks(masks, *, photo, count: int, seed: int = 0) -> list[np.ndarray]:
    """The HxW masks a run's ``masks`` setting names for ``count`` styles on ``photo``:
    ('kmeans',) splits the photo by colour, else one mask file per style; () none."""
    if tuple(masks) == ("kmeans",):
        return kmeans_masks(photo, k=count, seed=seed)
    return [load_mask(m, shape=photo.size[::-1]) for m in masks]
