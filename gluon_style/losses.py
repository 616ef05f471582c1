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

Other style representations (Li et al. 2017, "Demystifying Neural Style
Transfer"), each a distance between the distributions of the C-dimensional
feature vectors at the M positions of a layer; ``style_target`` computes the
style image's side once, ``style_distance`` compares an image with it:

* ``'gram'``: ``style_loss`` above.
* ``'mean_std'``: (1/C) sum_c (mu_c - mu'_c)^2 + (sigma_c - sigma'_c)^2, the
  per-channel statistics that batch normalization keeps (population std).
* ``'mmd_linear'``, ``'mmd_poly'``, ``'mmd_gaussian'``: the biased (V-statistic)
  squared maximum mean discrepancy E k(x,x') + E k(y,y') - 2 E k(x,y) with
  k = x.y, (x.y + c)^d or exp(-|x - y|^2 / (2 s^2)). Linear MMD is |mu - mu'|^2,
  computed in closed form; the others use at most ``samples`` random positions
  per map (all of them when the map is smaller), so memory stays bounded. With
  d = 2, c = 0 and all positions, MMD^2 = |G - G'|_F^2 = C^2 * style_loss: matching
  Gram matrices *is* matching feature distributions under that kernel.
  The Gaussian bandwidth s^2 is the mean squared distance between distinct
  sampled style positions of the layer (Li et al.'s choice), fixed once.
* ``'mean_cov'``: (1/C) W2^2 between the Gaussians N(mu, S) and N(mu', S'):
  |mu - mu'|^2 + tr(S + S' - 2 (S'^1/2 S S'^1/2)^1/2), the optimal-transport
  distance; with diagonal covariances it equals ``'mean_std'``.
"""
from __future__ import annotations

import mxnet as mx
import numpy as np

STYLE_LOSSES = ("gram", "mean_std", "mmd_linear", "mmd_poly", "mmd_gaussian", "mean_cov")
MMD_SAMPLES = 1024   # positions per map for kernel MMD: two 1024x1024 kernels per layer
POLY_DEGREE, POLY_C = 2, 0.0
_EPS = 1e-8


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


def batch_gram(X):
    """Gram matrices F F^T / (H W) of a (N, C, H, W) batch, shape (N, C, C) (feed-forward training)."""
    N, C, H, W = X.shape
    F = X.reshape((N, C, H * W))
    return mx.nd.batch_dot(F, F, transpose_b=True) / (H * W)


def masked_gram(X, mask):
    """Gram matrix of a region: (F m)(F m)^T / sum(m^2) for a (1, 1, H, W) mask m.

    Dividing by the mask's own area (not H W) makes it a mean over the region's positions,
    comparable with a whole painting's ``gram``; an all-ones mask gives ``gram(X)``.
    """
    if X.ndim != 4 or X.shape[0] != 1 or mask.shape != (1, 1, *X.shape[2:]):
        raise ValueError(f"masked_gram takes a (1, C, H, W) feature map and a (1, 1, H, W) mask, "
                         f"got shapes {X.shape} and {mask.shape}")
    F = (X * mask).reshape((X.shape[1], -1))
    return mx.nd.dot(F, F, transpose_b=True) / ((mask ** 2).sum() + _EPS)


def style_loss(Y_hat, gram_Y, *, mask=None):
    """Mean squared error between the Gram matrix of ``Y_hat`` (of its ``mask``ed region if
    given, see ``masked_gram``) and a target Gram matrix."""
    G = gram(Y_hat) if mask is None else masked_gram(Y_hat, mask)
    return ((G - gram_Y) ** 2).mean()


def tv_loss(X):
    """Anisotropic total variation (L1 of neighbour differences, averaged)."""
    return 0.5 * ((X[:, :, 1:, :] - X[:, :, :-1, :]).abs().mean()
                  + (X[:, :, :, 1:] - X[:, :, :, :-1]).abs().mean())


def _positions(X):
    """(1, C, H, W) feature map -> (H W, C) matrix of feature vectors (one row per position)."""
    if X.ndim != 4 or X.shape[0] != 1:
        raise ValueError(f"style losses take a (1, C, H, W) feature map, got shape {X.shape}")
    return X.reshape((X.shape[1], -1)).T


def _mean_std(P):
    mu = P.mean(axis=0)
    return mu, (((P - mu) ** 2).mean(axis=0) + _EPS).sqrt()


def _sample(P, samples: int):
    """At most ``samples`` distinct rows of P (numpy's seeded RNG picks them)."""
    n = P.shape[0]
    if n <= samples:
        return P
    idx = np.random.choice(n, samples, replace=False)
    return mx.nd.take(P, mx.nd.array(idx, ctx=P.context))


def _kernel(A, B, kind: str, bandwidth2=None):
    dot = mx.nd.dot(A, B, transpose_b=True)
    if kind == "mmd_poly":
        return (dot + POLY_C) ** POLY_DEGREE
    sq = (A ** 2).sum(axis=1).reshape((-1, 1)) + (B ** 2).sum(axis=1).reshape((1, -1)) - 2 * dot
    return mx.nd.exp(-mx.nd.relu(sq) / (2 * bandwidth2))


class _TraceSqrt(mx.autograd.Function):
    """tr(B^1/2) of a symmetric PSD matrix, by eigendecomposition; d/dB = B^-1/2 / 2."""

    def forward(self, B):
        w, V = np.linalg.eigh(B.asnumpy().astype(np.float64))
        root = np.sqrt(np.clip(w, 0, None))
        inv = np.where(root > 1e-6 * max(root.max(), 1e-30), 0.5 / np.maximum(root, 1e-30), 0.0)
        self._grad = mx.nd.array((V * inv) @ V.T, ctx=B.context)
        return mx.nd.array([root.sum()], ctx=B.context)

    def backward(self, dY):
        return dY * self._grad


def _covariance(P, mu):
    D = P - mu
    return mx.nd.dot(D, D, transpose_a=True) / P.shape[0]


def _sqrtm_psd(S: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(S.astype(np.float64))
    return (V * np.sqrt(np.clip(w, 0, None))) @ V.T


def style_target(Y, *, kind: str = "gram", samples: int = MMD_SAMPLES) -> dict:
    """What ``style_distance`` needs of the style image's feature map ``Y`` (computed once).

    Parameters
    ----------
    Y : NDArray
        A (1, C, H, W) feature map of the style image.
    kind : str
        One of ``STYLE_LOSSES``.
    samples : int
        Positions kept for kernel MMD (the style side is sampled once, here).
    """
    if kind not in STYLE_LOSSES:
        raise ValueError(f"invalid style loss {kind!r}; options are {STYLE_LOSSES}")
    if kind == "gram":
        return {"kind": kind, "G": gram(Y)}
    P = _positions(Y)
    mu, sigma = _mean_std(P)
    if kind in ("mean_std", "mmd_linear"):
        return {"kind": kind, "mu": mu, "sigma": sigma}
    if kind == "mean_cov":
        S = _covariance(P, mu).asnumpy()
        root = _sqrtm_psd(S)
        return {"kind": kind, "mu": mu, "trace": float(np.trace(S)),
                "root": mx.nd.array(root, ctx=Y.context, dtype="float32")}
    Ys = _sample(P, samples)
    target = {"kind": kind, "Ys": Ys, "samples": samples, "bandwidth2": None}
    if kind == "mmd_gaussian":
        m = Ys.shape[0]
        norms = (Ys ** 2).sum(axis=1)
        d2 = norms.reshape((-1, 1)) + norms.reshape((1, -1)) - 2 * mx.nd.dot(Ys, Ys, transpose_b=True)
        mean_d2 = float(mx.nd.relu(d2).sum().asscalar()) / max(m * (m - 1), 1)
        target["bandwidth2"] = max(mean_d2, _EPS)
    target["Kyy"] = _kernel(Ys, Ys, kind, target["bandwidth2"]).mean()
    return target


def style_distance(Y_hat, target: dict):
    """The style loss of feature map ``Y_hat`` against a ``style_target`` (a 1-element NDArray)."""
    kind = target["kind"]
    if kind == "gram":
        return style_loss(Y_hat, target["G"])
    P = _positions(Y_hat)
    if kind == "mean_std":
        mu, sigma = _mean_std(P)
        return (((mu - target["mu"]) ** 2).sum() + ((sigma - target["sigma"]) ** 2).sum()) / P.shape[1]
    if kind == "mmd_linear":
        return ((P.mean(axis=0) - target["mu"]) ** 2).sum()
    if kind == "mean_cov":
        mu = P.mean(axis=0)
        S = _covariance(P, mu)
        B = mx.nd.dot(mx.nd.dot(target["root"], S), target["root"])
        B = 0.5 * (B + B.T)
        cross = _TraceSqrt()(B)
        w2 = ((mu - target["mu"]) ** 2).sum() + mx.nd.diag(S).sum() + target["trace"] - 2 * cross
        return w2 / P.shape[1]
    X = _sample(P, target["samples"])
    Ys, h = target["Ys"], target["bandwidth2"]
    return (_kernel(X, X, kind, h).mean() + target["Kyy"]
            - 2 * _kernel(X, Ys, kind, h).mean()).reshape((1,))
