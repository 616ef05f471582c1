"""Image-optimization style transfer (Gatys et al. 2016), the MXNet/Gluon way.

The target features are computed once; the image is the only variable. Each
step runs the frozen VGG once, adds the weighted loss terms, and moves the
image against the gradient. The default update is the Gluon tutorial's
*normalized gradient descent*: the gradient divided by its mean absolute value,
so ``lr`` is roughly the average change of a (normalized) pixel per step,
whatever the loss weights. Gatys et al. used L-BFGS instead; ``optimizer='lbfgs'``
runs scipy's L-BFGS-B on MXNet's gradients, bounded to the valid pixel range,
with ``steps`` counting loss evaluations (one forward and backward each) so the
optimizers are compared at equal cost.

Departure from the tutorial's numbers: it used Gluon's model-zoo VGG-19 with
style weight 1e4 and lr 0.1. Our default network is the original Caffe VGG-19,
whose activations are about 60x larger (it was trained on 0-255 input), so the
same weights let style swamp content and lr 0.1 oscillates. On Tubingen/Starry
Night at 384 px, style weight 1e3 with lr 0.03 decayed x0.3 every 50 steps
brought the total loss from 3.0e8 to 3.2e6 in 150 steps (Adam, same lr: 4.0e6).
The tutorial's exact settings remain one argument list away (notebook 02).

``stylize``'s keyword-only signature is the single source of defaults: the
``StyleConfig`` dataclass and the command line are both built from it.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
import sys
import time
import warnings
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd
from PIL import Image

from . import color as colors
from . import losses, runtime
from . import masks as mask_tools
from .image import load_image, postprocess, preprocess, resize, save_image
from .vgg import check_layers, layer_channels, vgg19_features

GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# The MXNet/Gluon tutorial's objective and schedule (model-zoo indices [0, 5, 10, 19, 28] for
# style and [25] for content are these layers' pre-ReLU outputs), for comparisons such as
# notebook 02, benchmarks/time_to_quality.py and notebook 11 (style weights are 1/C^2 per layer).
TUTORIAL_SETTINGS = dict(content_layers=("conv4_4",),
                         style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
                         style_weight=1e4, tv_weight=10.0, init="content",
                         optimizer="normalized_gd", lr=0.1, lr_decay=0.1, lr_decay_every=100,
                         pyramid=())
INITS = ("content", "style", "noise")
OPTIMIZERS = ("normalized_gd", "adam", "lbfgs")
# White-noise init, in normalized units (0.1 is about 6 grey levels around the ImageNet
# mean). Unit-variance noise (+-57 levels) survives hundreds of steps: deep layers barely
# see pixel-scale noise, so nothing pushes it away.
NOISE_STD = 0.1
# pyramid='auto': coarse-to-fine where it was measured to pay. Half-size steps cost a quarter
# of a full-size step and build the large structures cheaply. With normalized GD, at equal
# time (`python benchmarks/coarse_to_fine.py`, 384 px, 150 steps): from the content 2.55e6 vs
# 3.16e6 single scale, from noise 6.51e6 vs 1.15e7 (notebook 06 at 256 px from noise: 2.0e7
# vs 3.8e7). With L-BFGS it did not pay: from the content at 512 px it reached the tutorial's
# target in a median 100 s with 100 evaluations at 256 px first vs 103 s without, less than
# the spread between runs (benchmarks/time_to_quality.py). Adam was not measured: single scale.
AUTO_PYRAMID_MIN = 128   # the smallest coarse level 'auto' uses (smaller ones were not measured)


def auto_pyramid(*, size: int, optimizer: str, steps: int) -> tuple[int, ...]:
    """The coarser levels of ``pyramid='auto'``: one at half size for normalized GD, else none.

    Also none below 256 px and for ``steps=0`` (an evaluation of the initial image).
    """
    if optimizer == "normalized_gd" and steps > 0 and size // 2 >= AUTO_PYRAMID_MIN:
        return (size // 2,)
    return ()


def stylize(content, style, *,
            size: int = 384,
            steps: int = 150,
            lr: float = 0.03,
            lr_decay: float = 0.3,
            lr_decay_every: int = 50,
            optimizer: str = "normalized_gd",
            content_layers: tuple[str, ...] = ("relu4_2",),
            style_layers: tuple[str, ...] = GATYS_STYLE_LAYERS,
            content_weight: float = 1.0,
            style_weight: float = 1e3,
            style_layer_weights: tuple[float, ...] | None = None,
            style_loss: str = "gram",
            tv_weight: float = 10.0,
            init: str = "content",
            pooling: str = "max",
            weights: str = "auto",
            pretrained: bool = True,
            normalized_vgg: bool = False,
            pyramid: tuple[int, ...] | str = "auto",
            pyramid_steps: int = 100,
            style_scale: float = 1.0,
            style_blend: tuple[float, ...] | None = None,
            fine_style: str | None = None,
            masks: tuple[str, ...] = (),
            color: str = "style",
            seed: int = 0,
            ctx: str = "cpu",
            callback=None,
            progress: bool = True):
    """Render ``content`` in the style of ``style``.

    Parameters
    ----------
    content : str, path or PIL.Image
        Image file or registered name (``python -m gluon_style list-images``).
    style : str, path or PIL.Image, or a tuple of them
        The painting, or several: blended everywhere by ``style_blend``, or one per region of
        ``masks``.
    size : int
        Longer side of the output in pixels; the style image is resized to the same longer side.
    steps : int
        Number of image updates (for lbfgs: loss evaluations, line-search trials included).
    lr : float
        Step size (normalized-image units per step for normalized_gd and Adam alike; for lbfgs
        the average size of the first step only, after which its line search decides).
    lr_decay : float
        Factor applied to lr every lr_decay_every steps.
    lr_decay_every : int
        Steps between learning-rate decays.
    optimizer : str
        'normalized_gd' (gradient over its mean absolute value; the Gluon tutorial), 'adam', or
        'lbfgs' (scipy's L-BFGS-B within the valid pixel range, as Gatys et al.).
    content_layers : tuple of str
        Layers whose activations must match the content image (Gatys: relu4_2).
    style_layers : tuple of str
        Layers whose Gram matrices must match the style image's.
    content_weight : float
        Weight of the content loss.
    style_weight : float
        Weight of the style loss; each layer's term is further weighted by 1/C^2 (C its channels).
    style_layer_weights : tuple of float, optional
        Explicit per-layer style weights replacing the 1/C^2 default (still times style_weight).
    style_loss : str
        Style representation (see ``gluon_style.losses``): 'gram' (Gatys et al.), 'mean_std',
        'mmd_linear', 'mmd_poly', 'mmd_gaussian' or 'mean_cov'. Their scales differ: retune
        style_weight when you change it (notebook 07 does).
    tv_weight : float
        Weight of the total-variation loss (smoothness).
    init : str
        Starting image: 'content', 'style' (resized to the content's shape) or 'noise'
        (low-amplitude white noise, see NOISE_STD).
    pooling : str
        'max' or 'avg' (Gatys et al. prefer average pooling).
    weights : str
        'auto'/'caffe' (the original VGG-19, as in Gatys et al.) or 'gluon' (model-zoo params).
    pretrained : bool
        Use ImageNet weights; False gives a random network (a baseline that shows why they matter).
    normalized_vgg : bool
        Rescale the filters to mean activation 1, Gatys et al.'s normalized network (needed for
        their alpha/beta ratios to mean the same here; see ``gatys_weights``).
    pyramid : tuple of int or 'auto'
        Coarse-to-fine: longer sides of coarser levels, increasing and below ``size``, each
        optimized for ``pyramid_steps`` steps and upsampled to start the next (Gatys et al. 2017,
        scale control). Empty: single scale. The lr schedule restarts at every level. 'auto':
        one level at half size for normalized GD at size >= 256, where it was measured to
        help, else single scale (``auto_pyramid``).
    pyramid_steps : int
        Steps at each coarser level (``steps`` is spent at the full size).
    style_scale : float
        The style image's longer side relative to the content's at every level: above 1 the
        painting's brush strokes come out smaller, below 1 larger.
    style_blend : tuple of float, optional
        Weight of each style's loss (default: equal weights summing to 1; with masks, 1 each).
        For Gram matrices this is matching their weighted average (Gatys et al. 2017).
    fine_style : str, optional
        Scale control (Gatys et al. 2017): keep only the coarse structure of ``style`` and paint
        it with this painting's fine texture (``mix_scales``, run first with ``steps`` steps at
        the style's size); the mixed image is then the style.
    masks : tuple of str
        Spatial control (Gatys et al. 2017, see ``gluon_style.masks``): one greyscale mask file
        per style, white where that style goes, drawn on the content image; or ('kmeans',) to
        split the photo by color into as many regions as styles. Gram style loss only.
    color : str
        Whose colors the result has (Gatys et al. 2017, see ``gluon_style.color``): 'style' (the
        painting's, plain transfer), 'luminance' (transfer on luminance only, then the photo's
        chroma), 'histogram' or 'histogram_pca' (the painting's colors matched to the photo's
        mean and covariance before transfer, Cholesky or eigen square root).
    seed : int
        Seed for the noise initialization and anything else random.
    ctx : str
        'cpu', 'gpu' or 'gpu:N'.
    callback : callable, optional
        Called as callback(record, X) for every history record, with the image NDArray that
        record is of (before its update); returning True stops the run (e.g. once a target loss
        is reached), which then returns the best image seen.
    progress : bool
        Show a progress bar.

    Returns
    -------
    image : numpy.ndarray
        The result, HxWx3 uint8.
    history : list of dict
        One record per evaluated image: step (updates applied so far, counted across pyramid
        levels; for lbfgs the evaluation's index), size (the level's longer side), content,
        style, tv, total, lr (None for lbfgs), seconds (since the start of optimization).
    """
    from tqdm.auto import tqdm

    if init not in INITS:
        raise ValueError(f"invalid init {init!r}; options are {INITS}")
    if style_loss not in losses.STYLE_LOSSES:
        raise ValueError(f"invalid style_loss {style_loss!r}; options are {losses.STYLE_LOSSES}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"invalid optimizer {optimizer!r}; options are {OPTIMIZERS}")
    if color not in colors.COLOR_MODES:
        raise ValueError(f"invalid color {color!r}; options are {colors.COLOR_MODES}")
    if optimizer == "lbfgs" and style_loss in ("mmd_poly", "mmd_gaussian") and style_layers:
        raise ValueError(f"style_loss {style_loss!r} samples positions afresh at every step, and "
                         "L-BFGS's line search needs a deterministic loss: use optimizer "
                         "'normalized_gd' or 'adam' with it")
    if steps < 0 or size < 1 or lr <= 0 or lr_decay_every < 1:
        raise ValueError("steps must be >= 0, size >= 1, lr > 0 and lr_decay_every >= 1")
    # An empty list switches a term off (the reconstructions of Gatys et al., Fig. 1).
    content_layers = check_layers(content_layers) if content_layers else []
    style_layers = check_layers(style_layers) if style_layers else []
    if not content_layers and not style_layers:
        raise ValueError("give at least one content or style layer")
    if style_layer_weights is None:
        channels = layer_channels()
        style_layer_weights = [1.0 / channels[name] ** 2 for name in style_layers]
    if len(style_layer_weights) != len(style_layers):
        raise ValueError(f"{len(style_layer_weights)} style_layer_weights for "
                         f"{len(style_layers)} style_layers")
    if isinstance(pyramid, str):
        if pyramid != "auto":
            raise ValueError(f"pyramid must be a tuple of sizes or 'auto', got {pyramid!r}")
        pyramid = auto_pyramid(size=size, optimizer=optimizer, steps=steps)
    sizes = [*pyramid, size]
    if any(a >= b for a, b in zip(sizes, sizes[1:])) or pyramid_steps < 0 or style_scale <= 0:
        raise ValueError(f"pyramid sizes must increase and stay below size={size} (got "
                         f"{tuple(pyramid)}); pyramid_steps must be >= 0 and style_scale > 0")
    single = isinstance(style, (str, Path, np.ndarray, Image.Image))
    styles = (style,) if single else tuple(style)
    if not styles:
        raise ValueError("give at least one style image")
    if fine_style is not None and len(styles) != 1:
        raise ValueError("fine_style mixes the scales of one style; got several styles")
    if masks and (style_loss != "gram" or len(masks) != len(styles) and tuple(masks) != ("kmeans",)):
        raise ValueError(f"{len(masks)} masks for {len(styles)} styles: give one mask per style "
                         "(or masks=('kmeans',)), with style_loss 'gram'")
    if style_blend is None:
        style_blend = (1.0,) * len(styles) if masks else (1.0 / len(styles),) * len(styles)
    if len(style_blend) != len(styles):
        raise ValueError(f"{len(style_blend)} style_blend weights for {len(styles)} styles")
    ctx = runtime.get_ctx(ctx)
    if fine_style is not None:
        # made before this run's seeding, so that it equals mix_scales(...) run on its own
        styles = (mix_scales(coarse=styles[0], fine=fine_style, size=round(size * style_scale),
                             steps=steps, seed=seed, ctx=ctx, pretrained=pretrained,
                             weights=weights, progress=progress),)
    runtime.seed(seed)

    def prepare(content_img, style_imgs):
        if color == "luminance":
            pairs = [colors.transfer_luminance(content=content_img, style=s) for s in style_imgs]
            return pairs[0][0], [grey_style for _, grey_style in pairs]
        if color.startswith("histogram"):
            method = "pca" if color == "histogram_pca" else "cholesky"
            return content_img, [colors.match_color(style=s, content=content_img, method=method)
                                 for s in style_imgs]
        return content_img, style_imgs

    # Load everything first, so that a bad image, mask or size fails before any work.
    photos = [load_image(content, max_size=s) for s in sizes]
    photo = photos[-1]  # full size, before any colour change
    levels = [prepare(p, [load_image(st, max_size=round(s * style_scale)) for st in styles])
              for p, s in zip(photos, sizes)]
    if tuple(masks) == ("kmeans",):
        region_masks = mask_tools.kmeans_masks(photo, k=len(styles), seed=seed)
    else:
        region_masks = [mask_tools.load_mask(m, shape=photo.size[::-1]) for m in masks]
    if ctx.device_type == "cpu":  # (GPU memory is not estimated)
        _check_memory(shape=levels[-1][0].size[::-1], layers=[*content_layers, *style_layers],
                      optimizer=optimizer, size=size)
    net = vgg19_features(list(dict.fromkeys([*content_layers, *style_layers])), pretrained=pretrained,
                         pooling=pooling, weights=weights, normalized=normalized_vgg, ctx=ctx,
                         progress=progress)
    net.hybridize(static_alloc=True)
    level_steps = [pyramid_steps] * len(pyramid) + [steps]

    history, tic = [], time.perf_counter()
    bar = tqdm(total=sum(level_steps), desc="stylize", unit="step", disable=not progress,
               file=sys.stderr)
    X = None
    try:
        for (content_img, style_imgs), n, offset in zip(
                levels, level_steps, np.cumsum([0, *level_steps])):
            C = preprocess(content_img, ctx=ctx)
            if X is None:
                if init == "content":
                    X = C.copy()
                elif init == "style":  # the first style, resized to the content's shape
                    X = preprocess(resize(style_imgs[0], shape=content_img.size[::-1]), ctx=ctx)
                else:
                    X = NOISE_STD * mx.nd.random.normal(0, 1, shape=C.shape, ctx=ctx)
            else:  # coarse-to-fine: the previous level's result, upsampled, starts this one
                X = mx.nd.contrib.BilinearResize2D(X, height=C.shape[2], width=C.shape[3])
            content_features = net(C)
            style_terms = []  # (layer, weight, target, mask or None), for every style and layer
            for style_img, blend, mask in zip(style_imgs, style_blend,
                                              region_masks or [None] * len(styles)):
                style_features = net(preprocess(style_img, ctx=ctx))
                if mask is not None:  # the mask at this level's size, then at each layer's grid
                    mask = mask_tools.layer_mask(mask, shape=content_img.size[::-1])
                for name, w in zip(style_layers, style_layer_weights):
                    target = losses.style_target(style_features[name], kind=style_loss)
                    grid_mask = None if mask is None else mx.nd.array(
                        mask_tools.layer_mask(mask, shape=content_features[name].shape[2:])[None, None],
                        ctx=ctx)
                    style_terms.append((name, style_weight * w * blend, target, grid_mask))
            # Plain Gram losses run as one compiled graph; masks and the other representations
            # (sampling, eigendecompositions) run imperatively, layer by layer.
            compiled = style_loss == "gram" and not region_masks
            objective = (_CompiledObjective if compiled else _Objective)(
                net=net, content_weight=content_weight, tv_weight=tv_weight,
                content_Y=[(name, content_features[name]) for name in content_layers],
                style_terms=style_terms, **({"ctx": ctx} if compiled else {}))
            X, interrupted = _descend(
                X, objective, steps=int(n), lr=lr, lr_decay=lr_decay,
                lr_decay_every=lr_decay_every, optimizer=optimizer, history=history,
                step_offset=int(offset), size=max(content_img.size), tic=tic, bar=bar,
                callback=callback)
            if interrupted:
                break
    finally:
        bar.close()
    if color == "luminance":
        return colors.recombine_luminance(stylized=postprocess(X), content=photo), history
    return postprocess(X), history


# Peak memory model, fitted with benchmarks/memory.py on this project's machine (CPU, the
# default layers, the compiled graph): 0.46 GiB for Python, MXNet and the weights, plus 2.02 x
# the bytes of every VGG activation up to the deepest layer (forward outputs and their
# gradients), from the peaks measured at 1024x768 (4.03 GiB) and 2048x1536 (14.88 GiB). We
# round up, so the estimate errs on the safe side.
MEMORY_BASE_BYTES = 0.5 * 2**30
MEMORY_PER_ACTIVATION_BYTE = 2.1
LBFGS_HISTORY_VECTORS = 25   # scipy's 10 (s, y) pairs and its work arrays, float64


def estimate_memory(*, shape: tuple[int, int], layers=("relu4_2", *GATYS_STYLE_LAYERS),
                    optimizer: str = "normalized_gd") -> int:
    """Estimated peak bytes of a ``stylize`` run on the CPU for a content image of ``shape``."""
    from .vgg import layer_names, layer_table

    names = layer_names(19)
    cut = max(names.index(n) for n in layers)
    rows = layer_table(19, height=shape[0], width=shape[1])[: cut + 1]
    activations = sum(c * h * w for c, h, w in (r["shape"] for r in rows))
    extra = LBFGS_HISTORY_VECTORS * 3 * shape[0] * shape[1] * 8 if optimizer == "lbfgs" else 0
    return int(MEMORY_BASE_BYTES + MEMORY_PER_ACTIVATION_BYTE * 4 * activations + extra)


def _check_memory(*, shape, layers, optimizer, size: int) -> None:
    """Refuse, before any work, a size whose estimate exceeds the memory available now."""
    available = runtime.available_memory()
    need = estimate_memory(shape=shape, layers=layers, optimizer=optimizer)
    if need <= available:
        return
    aspect = shape[0] / shape[1]
    fits = lambda side: estimate_memory(  # noqa: E731 (side = longer side, same aspect)
        shape=(side, round(side / aspect)) if aspect >= 1 else (round(side * aspect), side),
        layers=layers, optimizer=optimizer) <= available
    lo, hi = 0, size
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    raise MemoryError(f"size {size} ({shape[1]}x{shape[0]} px) needs about {need / 2**30:.1f} GiB "
                      f"but {available / 2**30:.1f} GiB is available; the largest size that fits "
                      f"is about {lo} (--size {lo})")


class _Objective:
    """The weighted loss terms of one pyramid level (targets computed once)."""

    def __init__(self, *, net, content_Y, style_terms, content_weight, tv_weight):
        self.net, self.content_Y, self.style_terms = net, content_Y, style_terms
        self.content_weight, self.tv_weight = content_weight, tv_weight

    def __call__(self, X):
        """(content, style, tv) loss NDArrays at X; call inside autograd.record()."""
        feats = self.net(X)
        zero = mx.nd.zeros((1,), ctx=X.context)
        c = [self.content_weight * losses.content_loss(feats[n], Y) for n, Y in self.content_Y]
        s = [w * (losses.style_distance(feats[n], target) if mask is None
                  else losses.style_loss(feats[n], target["G"], mask=mask))
             for n, w, target, mask in self.style_terms]
        return (mx.nd.add_n(*c) if c else zero, mx.nd.add_n(*s) if s else zero,
                self.tv_weight * losses.tv_loss(X))


class _CompiledObjective(mx.gluon.HybridBlock):
    """``_Objective`` for plain Gram style losses as one hybridized graph.

    The frozen VGG (``net`` itself, traced into this graph), the content, Gram and TV terms
    and the targets (as constants) are one block: a step is one forward and one backward
    call, with MXNet planning the memory of the whole graph once per image shape.
    """

    def __init__(self, *, net, content_Y, style_terms, content_weight, tv_weight, ctx, **kwargs):
        super().__init__(**kwargs)
        self.content_weight, self.tv_weight = content_weight, tv_weight
        self.content = [n for n, _ in content_Y]
        self.style = [(n, w) for n, w, _, _ in style_terms]
        with self.name_scope():
            self.net = net
            # attributes, so that hybrid_forward receives them by these names
            for k, (_, Y) in enumerate(content_Y):
                setattr(self, f"content{k}", self.params.get_constant(f"content{k}", Y))
            for k, (_, _, target, _) in enumerate(style_terms):
                setattr(self, f"gram{k}",
                        self.params.get_constant(f"gram{k}", target["G"].expand_dims(0)))
        for param in self.params.values():
            param.initialize(ctx=ctx)
        self.hybridize(static_alloc=True, static_shape=True)

    def hybrid_forward(self, F, X, **targets):
        feats = self.net(X)
        c = [self.content_weight * F.mean(F.square(feats[n] - targets[f"content{k}"]))
             for k, n in enumerate(self.content)]
        s = []
        for k, (n, w) in enumerate(self.style):
            M = F.reshape(feats[n], shape=(0, 0, -1))                    # (1, C, H W)
            hw = F.slice_axis(F.shape_array(M), axis=0, begin=2, end=3)  # H W, as an array
            G = F.broadcast_div(F.batch_dot(M, M, transpose_b=True), F.cast(hw, "float32"))
            s.append(w * F.mean(F.square(G - targets[f"gram{k}"])))
        dh = F.slice_axis(X, axis=2, begin=1, end=None) - F.slice_axis(X, axis=2, begin=0, end=-1)
        dw = F.slice_axis(X, axis=3, begin=1, end=None) - F.slice_axis(X, axis=3, begin=0, end=-1)
        t = self.tv_weight * 0.5 * (F.mean(F.abs(dh)) + F.mean(F.abs(dw)))
        zero = F.zeros_like(t)
        return (F.add_n(*c) if c else zero), (F.add_n(*s) if s else zero), t


def _descend(X, objective, *, steps, lr, lr_decay, lr_decay_every, optimizer, history,
             step_offset, size, tic, bar, callback):
    """Optimize one level from X; append its records to history.

    Returns (image, interrupted): the final image (for lbfgs, or after an interrupt, the
    best one seen) and whether the user pressed Ctrl-C.
    """
    X = X.copy()
    X.attach_grad()
    best = (math.inf, X.copy())

    def record(step, terms):
        c, s, t = (float(x.asscalar()) for x in terms)
        rec = dict(step=step_offset + step, size=size, content=c, style=s, tv=t, total=c + s + t,
                   lr=None if optimizer == "lbfgs" else lr, seconds=time.perf_counter() - tic)
        if not math.isfinite(rec["total"]):
            hint = ("lower the loss weights" if optimizer == "lbfgs"
                    else f"lower the learning rate (lr was {lr:g})")
            raise FloatingPointError(
                f"the loss became {rec['total']} at step {rec['step']} (content {c:.3g}, "
                f"style {s:.3g}, tv {t:.3g}); {hint}")
        history.append(rec)
        return rec

    def evaluate(step):
        """Loss terms and X.grad at the current X; keeps the best image seen."""
        nonlocal best
        with autograd.record():
            terms = objective(X)
            total = terms[0] + terms[1] + terms[2]
        total.backward()
        rec = record(step, terms)
        if rec["total"] < best[0]:
            best = (rec["total"], X.copy())
        bar.set_postfix(loss=f"{rec['total']:.4g}", content=f"{rec['content']:.3g}",
                        style=f"{rec['style']:.3g}", tv=f"{rec['tv']:.3g}")
        return rec

    m = v = None  # Adam moments
    try:
        if optimizer == "lbfgs":
            stopped = _lbfgs(X, evaluate, steps=steps, lr=lr, bar=bar, callback=callback)
            return best[1], stopped  # the last evaluation may be a rejected line-search trial
        for step in range(steps):
            rec = evaluate(step)
            if callback is not None and callback(rec, X) is True:  # X is the image rec is of
                return best[1], True
            g = X.grad
            if optimizer == "normalized_gd":
                X[:] = X - lr * g / (g.abs().mean() + 1e-8)
            else:  # Adam (Kingma & Ba 2015) with bias correction
                if m is None:
                    m, v = mx.nd.zeros_like(X), mx.nd.zeros_like(X)
                m[:] = 0.9 * m + 0.1 * g
                v[:] = 0.999 * v + 0.001 * g * g
                k = step + 1
                X[:] = X - lr * (m / (1 - 0.9 ** k)) / ((v / (1 - 0.999 ** k)).sqrt() + 1e-8)
            if (step + 1) % lr_decay_every == 0:
                lr *= lr_decay
            bar.update(1)
        rec = record(steps, objective(X))  # the final image, after the last update
        if callback is not None:
            callback(rec, X)
        return X, False
    except KeyboardInterrupt:
        warnings.warn(f"interrupted after {len(history)} steps: returning the best image so far")
        return best[1], True


class _Budget(Exception):
    """Raised inside scipy's objective when the evaluation budget is spent."""


def _lbfgs(X, evaluate, *, steps: int, lr: float, bar, callback):
    """Minimize over X's pixels with scipy's L-BFGS-B, ``steps`` + 1 loss evaluations at most.

    Returns True if the callback asked to stop.

    L-BFGS-B's first step with bounds is x - g, so its size depends on the loss's scale
    (with small weights it can be too small to register in float32, and nothing moves). The
    objective handed to scipy is therefore the loss times lr / mean|g_0|: the first step
    changes a pixel by lr on average, as in normalized gradient descent; later steps
    follow L-BFGS's own curvature estimate, which a constant factor does not change.
    Pixels stay in the valid range: the bounds are 0 and 1 before normalization. The
    image crosses between float64 (scipy) and float32 (MXNet) once per evaluation, one
    copy each way; everything else stays on X's context. ``evaluate`` keeps the best image.
    """
    from scipy.optimize import Bounds, minimize

    from .image import IMAGENET_MEAN, IMAGENET_STD

    mean = np.array(IMAGENET_MEAN).reshape(1, 3, 1, 1)
    std = np.array(IMAGENET_STD).reshape(1, 3, 1, 1)
    lo = np.broadcast_to((0.0 - mean) / std, X.shape).ravel()
    hi = np.broadcast_to((1.0 - mean) / std, X.shape).ravel()
    count, scale, stopped = 0, None, False

    def fun(x):
        nonlocal count, scale, stopped
        if count > steps:
            raise _Budget
        X[:] = mx.nd.array(x.reshape(X.shape), ctx=X.context, dtype="float32")
        rec = evaluate(count)
        g = X.grad.asnumpy().astype(np.float64).ravel()
        if scale is None:
            scale = lr / max(np.abs(g).mean(), 1e-30)
        if count:
            bar.update(1)
        if callback is not None and callback(rec, X) is True:
            stopped = True
            raise _Budget
        count += 1
        return scale * rec["total"], scale * g

    x0 = np.clip(X.asnumpy().astype(np.float64).ravel(), lo, hi)
    try:
        # ftol = gtol = 0: run until the budget is spent (or the line search gives up).
        minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=Bounds(lo, hi),
                 options=dict(maxiter=steps + 1, maxfun=steps + 1, ftol=0.0, gtol=0.0))
    except _Budget:
        pass
    return stopped


# Shallow layers alone give a small style loss; 1e4 (not stylize's 1e3) lets the fine texture
# show over the coarse painting's own at 256 px (notebook 06).
MIX_STYLE_WEIGHT = 1e4


def mix_scales(*, coarse, fine, fine_layers: tuple[str, ...] = ("relu1_1", "relu2_1"),
               **settings) -> np.ndarray:
    """A new style image: the coarse structure of ``coarse`` in the fine texture of ``fine``.

    Gatys et al. 2017 (scale control) make it by style transfer from one painting to the
    other: ``coarse`` is the content (its deep features, relu4_2, keep its large shapes) and
    only the shallow layers of ``fine`` (``fine_layers``, small receptive fields) are matched,
    so only its small-scale texture comes along. Use the result as ``style`` for a photo.
    ``settings`` go to ``stylize`` (size, steps, weights, ...; style_weight defaults to
    ``MIX_STYLE_WEIGHT``).

    Returns
    -------
    numpy.ndarray
        The new style image, HxWx3 uint8.
    """
    if "style_layers" in settings:
        raise TypeError("mix_scales takes fine_layers, not style_layers")
    image, _ = stylize(coarse, fine, style_layers=fine_layers,  # one scale, as Gatys et al. 2017
                       **{"style_weight": MIX_STYLE_WEIGHT, "pyramid": (), **settings})
    return image


def gatys_weights(ratio: float, *, content_layer: str, shape: tuple[int, int],
                  style_layers: tuple[str, ...]) -> dict:
    """Our weights for Gatys et al.'s content/style ratio alpha/beta (their Fig. 3).

    Gatys: alpha * 1/2 sum (F - P)^2 + beta * sum_l w_l / (4 N_l^2 M_l^2) sum (G_l - A_l)^2,
    with w_l = 1/L and an unnormalized Gram G. Ours are means (see losses.py):
    c = sum (F - P)^2 / (N M) and s_l = sum (G_l - A_l)^2 / (N_l^2 M_l^2). Dividing
    their total by alpha N M / 2 gives c + (beta/alpha) / (2 N M) * sum_l s_l / L,
    N and M being the content layer's channels and positions at this image ``shape``.

    Gatys et al. computed their losses on a *normalized* VGG-19 (every filter's mean
    activation 1); use ``normalized_vgg=True`` with these weights to reproduce their
    figures. On the raw Caffe weights, whose deep activations are far larger, the
    fourth-power style terms outgrow the content term and every ratio looks style-heavy.
    """
    from .vgg import layer_table

    rows = {r["name"]: r for r in layer_table(19, height=shape[0], width=shape[1])}
    n, h, w = rows[content_layer]["shape"]
    return {"content_weight": 1.0, "style_weight": (1.0 / ratio) / (2.0 * n * h * w),
            "style_layer_weights": tuple(1.0 / len(style_layers) for _ in style_layers)}


def _settings_fields():
    """(name, annotation, default) of stylize's settings: everything but callback/progress."""
    for p in inspect.signature(stylize).parameters.values():
        if p.name in ("callback", "progress"):
            continue
        default = dataclasses.MISSING if p.default is p.empty else p.default
        yield p.name, p.annotation, dataclasses.field(default=default)


StyleConfig = dataclasses.make_dataclass("StyleConfig", list(_settings_fields()), frozen=True)
StyleConfig.__doc__ = ("The settings of one stylize run (fields and defaults are stylize's "
                       "own), run with config.run() and written as JSON beside its outputs.")
StyleConfig.__module__ = __name__


def _run(self, *, callback=None, progress: bool = True):
    return stylize(**dataclasses.asdict(self), callback=callback, progress=progress)


StyleConfig.run = _run


def versions() -> dict[str, str]:
    """Versions of Python and the packages that decide the pixels."""
    import PIL
    import platform

    from . import __version__
    return {"python": platform.python_version(), "mxnet": mx.__version__,
            "numpy": np.__version__, "pillow": PIL.__version__, "gluon_style": __version__,
            "omp_num_threads": runtime.default_threads()}


def write_result(out: str | Path, image: np.ndarray, config, history: list[dict], **extra) -> Path:
    """Save ``image`` to ``out`` and ``out``'s ``.json`` sidecar (settings, history, versions)."""
    from .files import write_json

    out = Path(out)
    save_image(image, out)
    sidecar = out.with_suffix(".json")
    write_json(sidecar, {"settings": dataclasses.asdict(config), "versions": versions(),
                         **extra, "history": history})
    return sidecar
