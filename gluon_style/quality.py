"""Measures of a stylized image, for judging trained networks by numbers as well as by eye.

``StyleDistance`` is the Gram-matrix style loss of Johnson et al.'s objective (at relu1_2,
relu2_2, relu3_3, relu4_3, each layer weighted 1/C^2 as in training; always on VGG-19, the
package's default loss network), between an image and a painting; ``confusion`` tabulates
it for several outputs against several paintings; ``psnr`` compares an image with the
photo it should reconstruct.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .image import load_image, preprocess
from .losses import gram, gram_loss
from .objective import style_layer_weights
from .vgg import vgg19_features

LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")   # johnson.STYLE_LAYERS


class StyleDistance:
    """``distance(image, painting)``: the weighted Gram loss at ``LAYERS``.

    The network is built once and each painting's Gram matrices (at ``style_size`` px, the
    training default) are kept; images are compared at their own size, since a Gram matrix
    is a mean over positions.
    """

    def __init__(self, *, style_size: int = 256, layers: tuple[str, ...] = LAYERS):
        import mxnet as mx

        self.mx, self.style_size, self.layers = mx, style_size, tuple(layers)
        self.net = vgg19_features(list(self.layers), progress=False)
        self.weights = style_layer_weights(self.layers)
        self._targets: dict = {}

    def grams(self, image) -> dict:
        """Gram matrices of ``image`` (a name, file, PIL image or uint8 array) at ``layers``."""
        features = self.net(preprocess(load_image(image)))
        return {name: gram(self.mx.nd, features[name]) for name in self.layers}

    def _painting(self, painting) -> dict:
        def compute():
            return self.grams(load_image(painting, max_size=self.style_size))

        if not isinstance(painting, (str, Path)):   # in memory: no stable key to cache by
            return compute()
        key = str(painting)
        if key not in self._targets:
            self._targets[key] = compute()
        return self._targets[key]

    def __call__(self, image, painting) -> float:
        features = self.net(preprocess(load_image(image)))
        target = self._painting(painting)
        return float(sum(w * gram_loss(self.mx.nd, features[n], target[n]).asscalar()
                         for n, w in zip(self.layers, self.weights)))


def confusion(distance: StyleDistance, outputs: list, paintings: list) -> np.ndarray:
    """``D[i, j]``: the style distance of ``outputs[i]`` to ``paintings[j]``."""
    return np.array([[distance(out, p) for p in paintings] for out in outputs])


def diagonal_is_row_minimum(matrix: np.ndarray) -> list[bool]:
    """Per row: is the diagonal entry the strict minimum (each output nearest its painting)?"""
    matrix = np.asarray(matrix)
    return [bool(matrix[i, i] < np.delete(matrix[i], i).min()) if matrix.shape[1] > 1 else True
            for i in range(matrix.shape[0])]


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB between two HxWx3 uint8 images of one size."""
    a, b = np.asarray(image, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"images of shapes {a.shape} and {b.shape}; resize one first")
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
