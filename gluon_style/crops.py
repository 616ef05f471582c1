"""Training batches: random crops (or whole frames) of a set of images, normalized.

``CropSampler`` draws a step's batch from (seed, step) alone, so a resumed run sees the same
batches as one never interrupted (``training.train``'s exact resume relies on it).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import mxnet as mx
import numpy as np
from PIL import Image

from .image import MIN_SIDE, ImageError, load_image, preprocess, resize

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def content_images(content) -> list:
    """A folder of images (its files, sorted) or a sequence of image names/paths."""
    if isinstance(content, (str, Path)) and Path(content).is_dir():
        files = sorted(p for p in Path(content).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise ImageError(f"{content}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder")
        return files
    refs = [content] if isinstance(content, (str, Path)) else list(content)
    if not refs:
        raise ValueError("give at least one content image or a folder of them")
    return refs


class CropSampler:
    """Random crops of random images, square or whole frames, at ``crop`` px: a normalized batch.

    A crop's side is drawn between half and all of the image's shorter side, its position
    uniformly, and with ``flip`` mirrored half the time (augmentation, which a small photo
    set needs; Johnson et al. simply resized COCO images to 256 x 256). With probability
    ``full_frame`` a step's batch instead shows whole frames: the first image whole, at
    ``crop`` px on its longer side (the scale at which a photo is stylized and scored), the
    others cut to the same shape at their largest. Images are loaded
    lazily with a longer side of ``4 * crop`` and kept; an unreadable file is skipped with a
    warning (an error only if none is readable). The batch for a step depends only on
    (seed, step).
    """

    def __init__(self, refs, *, crop: int, seed: int, flip: bool = False,
                 full_frame: float = 0.0):
        self.refs, self.crop, self.seed, self.flip = list(refs), crop, seed, flip
        self.full_frame = full_frame
        self._images, self._bad = {}, set()

    def _image(self, ref):
        if ref not in self._images:
            try:
                self._images[ref] = load_image(ref, max_size=4 * self.crop)
            except (ImageError, OSError, ValueError, KeyError) as e:
                warnings.warn(f"skipping {ref}: {e}")
                self._bad.add(ref)
                self._images[ref] = None
        return self._images[ref]

    def batch(self, n: int, *, step: int, ctx=None) -> mx.nd.NDArray:
        rng = np.random.default_rng([self.seed, step])
        # Drawn only when full_frame is set, so that runs without it keep their batches.
        frames = self.full_frame > 0 and rng.random() < self.full_frame
        out, shape = [], None
        while len(out) < n:
            if len(self._bad) == len(self.refs):
                raise ImageError(f"none of the {len(self.refs)} training images could be read")
            image = self._image(self.refs[rng.integers(len(self.refs))])
            if image is None:
                continue
            if frames:
                shape = shape or self._frame_shape(image)
                region = _largest(image.size, aspect=shape[1] / shape[0])
            else:
                side = int(rng.integers(min(image.size) // 2, min(image.size) + 1))
                region, shape = (side, side), (self.crop, self.crop)
            x = rng.integers(image.width - region[0] + 1)
            y = rng.integers(image.height - region[1] + 1)
            piece = image.crop((x, y, x + region[0], y + region[1]))
            if self.flip and rng.random() < 0.5:   # drawn only with flip: old runs' batches stay
                piece = piece.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            out.append(preprocess(resize(piece, shape=shape), ctx=ctx))
        return mx.nd.concat(*out, dim=0)

    def _frame_shape(self, image) -> tuple[int, int]:
        """(h, w): ``crop`` on the image's longer side, the shorter side rounded to a multiple
        of 16 (a few batch shapes, each a multiple of every network's stride), at least 32."""
        short = max(MIN_SIDE, round(self.crop * min(image.size) / max(image.size) / 16) * 16)
        return (self.crop, short) if image.height >= image.width else (short, self.crop)


def _largest(size: tuple[int, int], *, aspect: float) -> tuple[int, int]:
    """(w, h) of the largest region of ``size`` = (W, H) whose width / height is ``aspect``."""
    width, height = size
    if width / height > aspect:
        return max(1, round(height * aspect)), height
    return width, max(1, round(width / aspect))
