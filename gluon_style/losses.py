"""Every loss term of the package, written once.

Each formula takes ``F`` first (``mx.nd``, or ``mx.sym`` inside a hybridized graph, as Gluon's
``hybrid_forward`` passes it), so the same line runs imperatively and compiled. Feature maps
are batches (N, C, H, W); statistics are per sample.

Conventions follow the MXNet/Gluon tutorial, so its weights carry over:

* ``content_loss`` = mean over all elements of (Y_hat - Y)^2.
* ``gram(X)`` = F F^T / (H W) per sample, F the C x HW matrix of one feature map.
  Gatys et al. use the unnormalized F F^T and weight a layer's squared error by
  1 / (4 N^2 M^2) (N channels, M positions); ``gram_loss``, the mean over the C^2 entries
  of (G_hat - G)^2, is 4 times theirs per layer.
* ``tv_loss`` = (mean |vertical differences| + mean |horizontal differences|) / 2.

Style representations (Li et al. 2017, "Demystifying Neural Style Transfer"), each a
distance between the distributions of the C-dimensional feature vectors at the positions of
a layer; ``REPRESENTATIONS[name].target(Y)`` summarizes the style image once and
``.loss(F, Y_hat, **target)`` compares an image with it:

* ``'gram'``: ``gram_loss``.
* ``'mean_std'``: mean over channels of (mu_c - mu'_c)^2 + (sigma_c - sigma'_c)^2
  (population std, with AdaIN's epsilon), the statistics instance normalization keeps.
* ``'mmd_linear'``, ``'mmd_poly'``, ``'mmd_gaussian'``: the biased squared maximum mean
  discrepancy E k(x,x') + E k(y,y') - 2 E k(x,y) with k = x.y, (x.y + c)^d or
  exp(-|x - y|^2 / (2 s^2)). Linear MMD is |mu - mu'|^2, in closed form; the others sample
  at most ``MMD_SAMPLES`` positions per map, so memory stays bounded. With d = 2, c = 0 and
  all positions, MMD^2 = |G - G'|_F^2 = C^2 * gram_loss: matching Gram matrices *is*
  matching feature distributions under that kernel. The Gaussian bandwidth s^2 is the mean
  squared distance between distinct sampled style positions (Li et al.'s choice).
* ``'mean_cov'``: (1/C) W2^2 between the Gaussians N(mu, S) and N(mu', S'):
  |mu - mu'|^2 + tr(S + S' - 2 (S'^1/2 S S'^1/2)^1/2); with diagonal covariances it equals
  ``'mean_std'``.

Kernel MMD (sampling) and mean+covariance (an eigendecomposition) run imperatively only.
"""
from __future__ import annotations

import mxnet as mx
import numpy as np

EPS = 1e-5           # inside every standard deviation (AdaIN's value)
TINY = 1e-8          # keeps a masked Gram matrix and a Gaussian bandwidth finite
MMD_SAMPLES = 1024   # positions per map for kernel MMD: two 1024x1024 kernels per layer
POLY_DEGREE, POLY_C = 2, 0.0


def mean_square(F, X):
    """The mean of X's squared elements, as one dot product of X with itself.

    The same number as ``F.mean(F.square(X))``; on CPU MXNet 1.9.1's reductions and their
    backward (a broadcast) run several times slower than a GEMV (README, Performance).
    """
    flat = F.reshape(X, (1, -1))
    total = F.reshape(F.dot(flat, flat, transpose_b=True), (1,))
    return total / F.cast(F.size_array(flat), "float32")


def content_loss(F, Y_hat, Y):
    """Mean squared error between two feature maps."""
    return mean_square(F, Y_hat - Y)


def _positions(F, M):
    """H W of an (N, C, H W) matrix as a (1,) float array (a shape is data inside a graph)."""
    return F.cast(F.slice_axis(F.shape_array(M), axis=0, begin=2, end=3), "float32")


def _gram_sums(F, X):
    """(F F^T, H W) of an (N, C, H, W) batch: the Gram matrices before averaging, (N, C, C)."""
    M = F.reshape(X, shape=(0, 0, -1))
    return F.batch_dot(M, M, transpose_b=True), _positions(F, M)


def gram(F, X):
    """Gram matrices F F^T / (H W) of an (N, C, H, W) batch, shape (N, C, C)."""
    sums, n = _gram_sums(F, X)
    return F.broadcast_div(sums, n)


def masked_gram(F, X, mask):
    """Gram matrix of a region: (F m)(F m)^T / sum(m^2) for a (1, 1, H, W) mask m.

    Dividing by the mask's own area (not H W) makes it a mean over the region's positions,
    comparable with a whole painting's ``gram``; an all-ones mask gives ``gram(X)``.
    """
    if isinstance(X, mx.nd.NDArray) and (mask.ndim != 4 or mask.shape[2:] != X.shape[2:]):
        raise ValueError(f"masked_gram takes a (N, C, H, W) feature map and a (1, 1, H, W) "
                         f"mask, got shapes {X.shape} and {mask.shape}")
    M = F.reshape(F.broadcast_mul(X, mask), shape=(0, 0, -1))
    return F.broadcast_div(F.batch_dot(M, M, transpose_b=True), F.sum(F.square(mask)) + TINY)


def gram_loss(F, Y_hat, G, mask=None):
    """Mean squared error between the Gram matrices of ``Y_hat`` (of its ``mask``ed region if
    given) and ``G``: (1, C, C) for every sample, or (N, C, C) one per sample."""
    if mask is not None:
        return mean_square(F, F.broadcast_sub(masked_gram(F, Y_hat, mask), G))
    # mean((M M^T / n - G)^2) as mean((M M^T - n G)^2) / n^2: the same number, without
    # dividing the (N, C, C) product and back-propagating through that broadcast
    sums, n = _gram_sums(F, Y_hat)
    return mean_square(F, F.broadcast_sub(sums, F.broadcast_mul(G, n))) / F.square(n)


def tv_loss(F, X):
    """Anisotropic total variation (L1 of neighbour differences, averaged)."""
    dh = F.slice_axis(X, axis=2, begin=1, end=None) - F.slice_axis(X, axis=2, begin=0, end=-1)
    dw = F.slice_axis(X, axis=3, begin=1, end=None) - F.slice_axis(X, axis=3, begin=0, end=-1)
    return 0.5 * (F.mean(F.abs(dh)) + F.mean(F.abs(dw)))


def channel_stats(F, X, eps: float = EPS):
    """Per-sample, per-channel mean and standard deviation over H x W, each (N, C, 1, 1).

    Written with products by a row of ones (sums over positions as a GEMV, the mean spread
    back as an outer product) rather than ``F.mean`` and broadcasting: the same numbers, and
    forward + backward run several times faster on CPU (see ``mean_square``).
    """
    flat = F.reshape(X, (-3, -1))                                   # (N*C, H*W)
    ones = F.ones_like(F.slice_axis(flat, axis=0, begin=0, end=1))  # (1, H*W)
    n = _positions(F, F.expand_dims(flat, axis=0))
    mean = F.broadcast_div(F.dot(flat, ones, transpose_b=True), n)  # (N*C, 1)
    centered = flat - F.dot(mean, ones)
    var = F.broadcast_div(F.dot(F.square(centered), ones, transpose_b=True), n)
    shape = F.slice_axis(F.slice_axis(X, axis=2, begin=0, end=1), axis=3, begin=0, end=1)
    return F.reshape_like(mean, shape), F.reshape_like(F.sqrt(var + eps), shape)


def mean_std_loss(F, Y_hat, mean, std):
    """Mean squared differences of the channel means plus those of the channel stds."""
    mu, sigma = channel_stats(F, Y_hat)
    return (F.mean(F.square(F.broadcast_sub(mu, mean)))
            + F.mean(F.square(F.broadcast_sub(sigma, std))))


def mean_loss(F, Y_hat, mean):
    """Squared distance of the channel means, summed over channels (linear-kernel MMD)."""
    mu = F.mean(Y_hat, axis=(2, 3), keepdims=True)
    return F.mean(F.sum(F.square(F.broadcast_sub(mu, mean)), axis=1))


# --- imperative only: sampled kernels and a matrix square root --------------------------

def psd_power(S: np.ndarray, power: float, *, floor: float = 0.0) -> np.ndarray:
    """S^power of a symmetric positive semi-definite matrix (eigenvalues clipped at floor)."""
    w, V = np.linalg.eigh(np.asarray(S, dtype=np.float64))
    return (V * np.maximum(w, floor) ** power) @ V.T


def _vectors(X):
    """(1, C, H, W) feature map -> (H W, C) matrix of feature vectors (one row per position)."""
    if X.ndim != 4 or X.shape[0] != 1:
        raise ValueError(f"this style loss takes a (1, C, H, W) feature map, got shape {X.shape}")
    return X.reshape((X.shape[1], -1)).T


def _sample(P, samples: int):
    """At most ``samples`` distinct rows of P (numpy's seeded RNG picks them)."""
    if P.shape[0] <= samples:
        return P
    idx = np.random.choice(P.shape[0], samples, replace=False)
    return mx.nd.take(P, mx.nd.array(idx, ctx=P.context))


def squared_distances(A, B, dot=None):
    """|a_i - b_j|^2 for the rows of A and B (clipped at 0 against rounding)."""
    dot = mx.nd.dot(A, B, transpose_b=True) if dot is None else dot
    sq = (A ** 2).sum(axis=1).reshape((-1, 1)) + (B ** 2).sum(axis=1).reshape((1, -1)) - 2 * dot
    return mx.nd.relu(sq)


def kernel(A, B, kind: str, bandwidth2=None):
    """Kernel matrix k(a_i, b_j): 'poly' (a.b + c)^d or 'gaussian' exp(-|a-b|^2 / (2 s^2))."""
    dot = mx.nd.dot(A, B, transpose_b=True)
    if kind == "poly":
        return (dot + POLY_C) ** POLY_DEGREE
    return mx.nd.exp(-mx.nd.broadcast_div(squared_distances(A, B, dot), 2 * bandwidth2))


def kernel_mmd_loss(F, Y_hat, Ys, Kyy, bandwidth2, *, kind: str, samples: int = MMD_SAMPLES):
    """Squared MMD between the sampled positions of ``Y_hat`` and the style's samples ``Ys``."""
    X = _sample(_vectors(Y_hat), samples)
    return (kernel(X, X, kind, bandwidth2).mean() + Kyy
            - 2 * kernel(X, Ys, kind, bandwidth2).mean()).reshape((1,))


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


def mean_cov_loss(F, Y_hat, mean, trace, root):
    """(1/C) W2^2 between Gaussians: the image's N(mu, S) and the style's (mean, S' = root^2)."""
    P = _vectors(Y_hat)
    mu = P.mean(axis=0)
    S = _covariance(P, mu)
    B = mx.nd.dot(mx.nd.dot(root, S), root)
    cross = _TraceSqrt()(0.5 * (B + B.T))
    w2 = ((mu - mean.reshape((-1,))) ** 2).sum() + mx.nd.diag(S).sum() + trace - 2 * cross
    return w2 / P.shape[1]


# --- what each term needs of its target image, computed once ---------------------------

class Representation:
    """A way to summarize a layer's features (``target``) and compare an image with it (``loss``)."""
    hybridizable = True

    def target(self, Y) -> dict:
        raise NotImplementedError

    def loss(self, F, Y_hat, **target):
        raise NotImplementedError


class Content(Representation):
    def target(self, Y):
        return {"Y": Y}

    def loss(self, F, Y_hat, Y):
        return content_loss(F, Y_hat, Y)


class Gram(Representation):
    def target(self, Y):
        return {"G": gram(mx.nd, Y)}

    def loss(self, F, Y_hat, G, mask=None):
        return gram_loss(F, Y_hat, G, mask)


class MeanStd(Representation):
    def target(self, Y):
        mean, std = channel_stats(mx.nd, Y)
        return {"mean": mean, "std": std}

    def loss(self, F, Y_hat, mean, std):
        return mean_std_loss(F, Y_hat, mean, std)


class Mean(Representation):
    def target(self, Y):
        return {"mean": Y.mean(axis=(2, 3), keepdims=True)}

    def loss(self, F, Y_hat, mean):
        return mean_loss(F, Y_hat, mean)


class KernelMMD(Representation):
    hybridizable = False

    def __init__(self, kind: str, samples: int = MMD_SAMPLES):
        self.kind, self.samples = kind, samples

    def target(self, Y):
        Ys = _sample(_vectors(Y), self.samples)
        bandwidth2 = mx.nd.ones((1,), ctx=Y.context)
        if self.kind == "gaussian":
            m = Ys.shape[0]
            mean_d2 = float(squared_distances(Ys, Ys).sum().asscalar()) / max(m * (m - 1), 1)
            bandwidth2 = mx.nd.array([max(mean_d2, TINY)], ctx=Y.context)
        return {"Ys": Ys, "Kyy": kernel(Ys, Ys, self.kind, bandwidth2).mean(),
                "bandwidth2": bandwidth2}

    def loss(self, F, Y_hat, Ys, Kyy, bandwidth2):
        return kernel_mmd_loss(F, Y_hat, Ys, Kyy, bandwidth2, kind=self.kind, samples=self.samples)


class MeanCov(Representation):
    hybridizable = False

    def target(self, Y):
        P = _vectors(Y)
        mu = P.mean(axis=0)
        S = _covariance(P, mu).asnumpy().astype(np.float64)
        root = psd_power(S, 0.5)
        return {"mean": mu, "trace": mx.nd.array([np.trace(S)], ctx=Y.context),
                "root": mx.nd.array(root, ctx=Y.context, dtype="float32")}

    def loss(self, F, Y_hat, mean, trace, root):
        return mean_cov_loss(F, Y_hat, mean, trace, root)


REPRESENTATIONS = {"content": Content(), "gram": Gram(), "mean_std": MeanStd(),
                   "mmd_linear": Mean(), "mmd_poly": KernelMMD("poly"),
                   "mmd_gaussian": KernelMMD("gaussian"), "mean_cov": MeanCov()}
STYLE_REPRESENTATIONS = tuple(k for k in REPRESENTATIONS if k != "content")


def representation(name: str, *, samples: int = MMD_SAMPLES) -> Representation:
    """The representation called ``name``; ``ValueError`` lists the valid names."""
    if name not in REPRESENTATIONS:
        raise ValueError(f"invalid style representation {name!r}; options are "
                         f"{STYLE_REPRESENTATIONS}")
    found = REPRESENTATIONS[name]
    return KernelMMD(found.kind, samples) if isinstance(found, KernelMMD) else found
