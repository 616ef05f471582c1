"""Content, style (Gram) and total-variation losses.

Conventions follow the MXNet/Gluon tutorial, so its weights (content 1, style
1e4/C^2 per layer, TV 10) carry over unchanged:

* ``content_loss`` = mean over all elements of (Y_hat - Y)^2.
* ``gram(X)`` = F F^T / (H W), with F the C x HW matrix of one feature map.
  Gatys et al. use the unnormalized F F^T and weight a layer's squared error
  by 1 / (4 C^2 (HW)^2); ours is 4 / C^2 times theirs per layer (mean over
  the C^2 entries, and the 1/HW inside the Gram).
* ``style_loss`` = mean over the C x C entries of (G_hat - G)^2.
* ``tv_loss`` = (mean |vertical differences| + mean |horizontal differences|) / 2.
"""
from __future__ import annotations

import mxnet as mx


def content_loss(Y_hat, Y):
    """Mean squared error between two feature maps."""
    return ((Y_hat - Y) ** 2).mean()


def gram(X):
    """Gram matrix F F^T / (H W) of a (1, C, H, W) feature map, shape (C, C)."""
    if X.ndim != 4 or X.shape[0] != 1:
        raise ValueError(f"gram takes a (1, C, H, W) feature map, got shape {X.shape}")
    num_channels, n = X.shape[1], X.shape[2] * X.shape[3]
    F = X.reshape((num_channels, n))
    return mx.nd.dot(F, F, transpose_b=True) / n


def style_loss(Y_hat, gram_Y):
    """Mean squared error between the Gram matrix of ``Y_hat`` and a target Gram matrix."""
    return ((gram(Y_hat) - gram_Y) ** 2).mean()


def tv_loss(X):
    """Anisotropic total variation (L1 of neighbour differences, averaged)."""
    return 0.5 * ((X[:, :, 1:, :] - X[:, :, :-1, :]).abs().mean()
                  + (X[:, :, :, 1:] - X[:, :, :, :-1]).abs().mean())
