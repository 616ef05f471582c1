"""Style transfer by image optimization: Gatys et al. 2016, with the controls of their 2017 paper.

Gatys, Ecker and Bethge (2016), "Image Style Transfer Using Convolutional Neural Networks":
the image is the only variable. The photo's features at relu4_2 and the painting's Gram
matrices at relu1_1 ... relu5_1 are computed once; every step runs the frozen VGG-19 on the
image, weighs the terms and moves the pixels against the gradient. Gatys et al. (2017),
"Controlling Perceptual Factors in Neural Style Transfer", act around that optimization:
colour (``color``), space (``masks``: one painting per region) and scale (``pyramid``,
``style_scale``, ``fine_style``/``mix_scales``).

Departures from the MXNet/Gluon tutorial: L-BFGS (as Gatys et al.) rather than normalized GD
by default, as it reached the tutorial's 500-step quality 11x sooner (README); style weight
1e3 (not 1e4) and, for normalized GD, lr 0.03 (not 0.1), because the original Caffe VGG-19's
activations are about 60x larger than the model zoo's (notebook 02 runs both).
``stylize``'s signature is the single source of defaults.
"""
from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
import warnings

import mxnet as mx
import numpy as np

from . import levels, runtime
from .color import recombine_luminance
from .image import pixel_bounds, postprocess, preprocess, resize
from .losses import representation
from .masks import layer_mask
from .objective import Objective, Term, evaluator
from .optimizers import minimize
from .settings import settings_dataclass
from .vgg import layer_table, vgg19_features

GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# The MXNet/Gluon tutorial's objective and schedule (its model-zoo indices [0, 5, 10, 19, 28]
# for style and [25] for content are these layers' pre-ReLU outputs), for comparisons.
TUTORIAL_SETTINGS = dict(content_layers=("conv4_4",),
                         style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
                         style_weight=1e4, tv_weight=10.0, init="content",
                         optimizer="normalized_gd", lr=0.1, lr_decay=0.1, lr_decay_every=100,
                         pyramid=())
NOISE_STD = 0.1   # white-noise init, normalized units (about 6 grey levels); unit variance
# survives hundreds of steps, as deep layers barely see pixel-scale noise
def stylize(content, style, *,
            size: int = 512,
            steps: int = 100,
            lr: float = 0.03,
            lr_decay: float = 0.3,
            lr_decay_every: int = 50,
            optimizer: str = "lbfgs",
            content_layers: tuple[str, ...] = ("relu4_2",),
            style_layers: tuple[str, ...] = GATYS_STYLE_LAYERS,
            content_weight: float = 1.0,
            content_layer_weights: tuple[float, ...] | None = None,
            style_weight: float = 1e3,
            style_layer_weights: tuple[float, ...] | None = None,
            style_representation: str = "gram",
            tv_weight: float = 10.0,
            init: str = "content",
            pooling: str = "max",
            vgg_weights: str = "auto",
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
        Image updates at full size (for lbfgs: loss evaluations, line-search trials included).
        With pyramid 'auto', normalized GD first runs pyramid_steps at half size; it needs
        more steps (at 512 px, 100 at half size and 150 at full size for the quality L-BFGS
        reached in 41 evaluations; README).
    lr : float
        Step size in normalized-image units per step (lbfgs: the first step's average size).
    lr_decay : float
        Factor applied to lr every lr_decay_every steps.
    lr_decay_every : int
        Steps between learning-rate decays.
    optimizer : str
        lbfgs (as Gatys et al.; the default: at 512 px it reached the quality of the Gluon
        tutorial's 500 steps 11x sooner, README), normalized_gd (the tutorial's, with lr
        decay), or adam.
    content_layers : tuple of str
        Layers whose activations must match the content image (Gatys: relu4_2).
    style_layers : tuple of str
        Layers whose style statistics must match the style image's.
    content_weight : float
        Weight of the content loss.
    content_layer_weights : tuple of float, optional
        Per-layer content weights (default 1 each; still times content_weight).
    style_weight : float
        Weight of the style loss; each layer's term is further weighted by 1/C^2 (C its channels).
    style_layer_weights : tuple of float, optional
        Per-layer style weights replacing the 1/C^2 default (still times style_weight).
    style_representation : str
        What of the style features is matched: gram (Gatys et al.), or mean_std, mmd_linear,
        mmd_poly, mmd_gaussian, mean_cov (Li et al. 2017; see gluon_style.losses). Their
        scales differ: retune style_weight when you change it.
    tv_weight : float
        Weight of the total-variation loss (smoothness).
    init : str
        Starting image: content, style (resized to the content's shape), noise, or an image
        file or registered name (resized to the content's shape).
    pooling : str
        max or avg (Gatys et al. prefer average pooling).
    vgg_weights : str
        auto or caffe (the original VGG-19, as Gatys et al.), or gluon (model-zoo params).
    pretrained : bool
        Use ImageNet weights; --no-pretrained gives a random network (a baseline).
    normalized_vgg : bool
        Rescale the filters to mean activation 1, Gatys et al.'s normalized network.
    pyramid : tuple of int or 'auto'
        Coarse-to-fine (Gatys et al. 2017): longer sides of coarser levels, increasing and below
        size, each run for pyramid_steps and upsampled to start the next. Empty is a single
        scale (on the command line --pyramid ''); auto adds one half-size level for
        normalized GD from 256 px.
    pyramid_steps : int
        Steps at each coarser level.
    style_scale : float
        The painting's longer side relative to the photo's: above 1, smaller brush strokes.
    style_blend : tuple of float, optional
        Weight of each style's loss (default: equal, summing to 1; with masks, 1 each).
    fine_style : str, optional
        Scale control: the style's layout painted in this painting's fine texture (made
        first with these settings, see mix_scales) becomes the style.
    masks : tuple of str
        Spatial control: one greyscale mask file per style (white where it goes), or kmeans
        to split the photo by colour into as many regions as styles. Gram only.
    color : str
        style (the painting's colours), luminance (transfer on luminance, then the photo's
        chroma), histogram or histogram_pca (the painting's colours matched to the photo's).
    seed : int
        Seed for the noise initialization and anything else random.
    ctx : str
        cpu, gpu or gpu:N.
    callback : callable, optional
        callback(record, X) for every history record, with the image it is of; returning True
        stops the run, which then returns the best image seen.
    progress : bool
        Show a progress bar.

    Returns
    -------
    image : numpy.ndarray
        The result, HxWx3 uint8.
    history : list of dict
        One record per evaluated image: step (counted across pyramid levels), size (the level's
        longer side), content, style, tv, total, lr (None for lbfgs), seconds.
    """
    config = StyleConfig(**{k: v for k, v in locals().items() if k in _FIELDS})
    plan = levels.plan(config)
    ctx = runtime.get_ctx(ctx)
    cpu = ctx.device_type == "cpu"  # (GPU memory is not estimated)
    prepared = levels.prepare(config, plan, plan.styles, check_memory=cpu)  # before any work
    if fine_style is not None:  # made before this run's seeding: equal to mix_scales on its own
        mixed = _mix_or_interrupt(plan.styles[0], config, progress=progress)
        prepared = levels.prepare(config, plan, (mixed,), check_memory=cpu)
    runtime.seed(seed)
    net = vgg19_features(plan.layers, pretrained=pretrained, pooling=pooling,
                         vgg_weights=vgg_weights, normalized=normalized_vgg, ctx=ctx,
                         progress=progress)
    net.hybridize(static_alloc=True)
    X, history = _optimize(config, plan, prepared, net=net, ctx=ctx,
                           callback=callback, progress=progress)
    if color == "luminance":
        return recombine_luminance(stylized=postprocess(X), content=prepared.photo), history
    return postprocess(X), history


def _objective(c, plan: levels.Plan, net, content_img, style_imgs, masks, ctx):
    """The preprocessed photo and the objective of one level (targets computed once)."""
    C = preprocess(content_img, ctx=ctx)
    content_features = net(C)
    terms = [Term("content", name, w, "content", target={"Y": content_features[name]})
             for name, w in zip(plan.content_layers, plan.content_weights)]
    summary = representation(c.style_representation)
    for style_img, blend, mask in zip(style_imgs, plan.blend,
                                      masks or [None] * len(style_imgs)):
        features = net(preprocess(style_img, ctx=ctx))
        if mask is not None:  # the mask at this level's size, then at each layer's grid
            mask = layer_mask(mask, shape=content_img.size[::-1])
        for name, w in zip(plan.style_layers, plan.layer_weights):
            grid = None if mask is None else mx.nd.array(
                layer_mask(mask, shape=content_features[name].shape[2:])[None, None], ctx=ctx)
            terms.append(Term("style", name, c.style_weight * w * blend, c.style_representation,
                              target=summary.target(features[name]), mask=grid))
    return C, Objective(net=net, terms=terms, tv_weight=c.tv_weight, ctx=ctx)


def _initial(c, C, content_img, style_imgs, init_image, ctx):
    if init_image is not None or c.init == "style":  # resized to the content's shape
        image = init_image if init_image is not None else style_imgs[0]
        return preprocess(resize(image, shape=content_img.size[::-1]), ctx=ctx)
    if c.init == "content":
        return C.copy()
    return NOISE_STD * mx.nd.random.normal(0, 1, shape=C.shape, ctx=ctx)


def _optimize(c, plan: levels.Plan, prepared, *, net, ctx, callback, progress):
    """Run every level in turn, each starting from the previous one's result, upsampled."""
    from tqdm.auto import tqdm

    history, tic, X = [], time.perf_counter(), None
    offsets = np.cumsum([0, *plan.level_steps])
    with tqdm(total=sum(plan.level_steps), desc="stylize", unit="step", disable=not progress,
              file=sys.stderr) as bar:
        for (content_img, style_imgs), steps, offset in zip(prepared.levels, plan.level_steps,
                                                            offsets):
            C, objective = _objective(c, plan, net, content_img, style_imgs, prepared.masks, ctx)
            X = (_initial(c, C, content_img, style_imgs, prepared.init, ctx) if X is None else
                 mx.nd.contrib.BilinearResize2D(X, height=C.shape[2], width=C.shape[3]))
            evaluate = evaluator(objective, history=history, offset=int(offset), tic=tic,
                                 size=max(content_img.size), bar=bar)
            stop = None if callback is None else lambda Z: callback(history[-1], Z)
            X, how = minimize(X, evaluate, optimizer=c.optimizer, steps=int(steps), lr=c.lr,
                              lr_decay=c.lr_decay, lr_decay_every=c.lr_decay_every,
                              bounds=pixel_bounds(X.shape), on_step=lambda: bar.update(1),
                              stop=stop)
            if how != "done":
                return _stopped_early(X, how, history, level_start=int(offset),
                                      size=max(content_img.size),
                                      full=prepared.levels[-1][0].size), history
    return X, history


class Interrupted(UserWarning):
    """Ctrl-C ended a ``stylize`` run early; ``saved`` says what it returned instead."""

    def __init__(self, message: str, saved: dict):
        super().__init__(message)
        self.saved = saved


@contextlib.contextmanager
def interruptions():
    """Collect the ``Interrupted`` warnings of the runs inside, in the list it yields (filled
    when the block ends); every other warning is shown as usual."""
    found = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", Interrupted)
        yield found
    for w in caught:
        if isinstance(w.message, Interrupted):
            found.append(w.message)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _stopped_early(X, how: str, history, *, level_start: int, size: int, full: tuple):
    """The lowest-loss image of the level that was running (``size`` px), upsampled to the
    full size (W, H) if that level was a coarse one; on Ctrl-C, an ``Interrupted`` warning
    that says which image that is."""
    level = [h for h in history if h["step"] >= level_start and h["size"] == size]
    best = min(level, key=lambda h: h["total"]) if level else None
    upsampled = tuple(X.shape[:1:-1]) != tuple(full)
    if upsampled:
        X = mx.nd.contrib.BilinearResize2D(X, height=full[1], width=full[0])
    if how == "interrupted":
        what = (f"the lowest-loss image of the {size} px level (step {best['step']}, loss "
                f"{best['total']:.4g})" if best else f"the initial image of the {size} px level")
        saved = dict(step=best and best["step"], size=size, total=best and best["total"],
                     upsampled_to=list(full) if upsampled else None)
        warnings.warn(Interrupted(
            f"interrupted after {len(history)} steps: returning {what}"
            + (f", upsampled to {full[0]}x{full[1]} px" if upsampled else ""), saved))
    return X


# Shallow layers alone give a small style loss; 1e4 (not stylize's 1e3) lets the fine texture
# show over the coarse painting's own at 256 px (notebook 06).
MIX_STYLE_WEIGHT = 1e4
# the settings a fine_style run passes on to the mix_scales run that makes its style image
_MIX_PASSED = ("steps", "optimizer", "lr", "lr_decay", "lr_decay_every", "init", "pooling",
               "vgg_weights", "pretrained", "normalized_vgg", "seed", "ctx")


def _mix_or_interrupt(coarse, c, *, progress: bool):
    """The fine_style run's style image; Ctrl-C during its making stops the whole run."""
    shared = {name: getattr(c, name) for name in _MIX_PASSED}
    with interruptions() as stops:
        mixed = mix_scales(coarse=coarse, fine=c.fine_style, size=round(c.size * c.style_scale),
                           progress=progress, **shared)
    if stops:
        raise KeyboardInterrupt
    return mixed


def mix_scales(*, coarse, fine, fine_layers: tuple[str, ...] = ("relu1_1", "relu2_1"),
               **settings) -> np.ndarray:
    """A new style image: the coarse structure of ``coarse`` in the fine texture of ``fine``.

    Gatys et al. 2017 (scale control) make it by style transfer from one painting to the
    other: ``coarse`` is the content (its deep features keep its large shapes) and only the
    shallow layers of ``fine`` (``fine_layers``) are matched, so only its small-scale texture
    comes along. ``settings`` go to ``stylize`` (style_weight defaults to MIX_STYLE_WEIGHT).
    Returns the new style image, HxWx3 uint8.
    """
    if "style_layers" in settings:
        raise TypeError("mix_scales takes fine_layers, not style_layers")
    image, _ = stylize(coarse, fine, style_layers=fine_layers,  # one scale, as Gatys et al. 2017
                       **{"style_weight": MIX_STYLE_WEIGHT, "pyramid": (), **settings})
    return image


RATIO_CONVENTIONS = ("authors_code", "equations")


def gatys_weights(ratio: float, *, content_layer: str, shape: tuple[int, int],
                  style_layers: tuple[str, ...], convention: str = "authors_code") -> dict:
    """Our weights for Gatys et al.'s content/style ratio alpha/beta (their Fig. 3).

    ``convention='authors_code'``: the normalizations of the authors' own published code
    (leongatys/PytorchNeuralStyleTransfer: content weight 1, style weight 1e3/N_l^2 per
    layer, Gram over M, mean squared errors), which are ours. Its weights read as alpha = 1,
    beta = 1e3, so alpha/beta = 1e-3 there; other ratios scale beta, and fewer layers get
    5/L times the weight each (the paper's w_l = 1/L, anchored at the five-layer code).

    ``convention='equations'``: the paper's equations taken literally,
    alpha * 1/2 sum (F - P)^2 + beta * sum_l w_l / (4 N_l^2 M_l^2) sum (G_l - A_l)^2,
    w_l = 1/L. Ours are means, c = sum (F - P)^2 / (N M) and s_l = sum (G_l - A_l)^2 /
    (N_l^2 M_l^2); dividing by alpha N M / 2 gives c + (beta/alpha) / (2 N M) sum_l s_l / L,
    N and M the content layer's channels and positions at this image ``shape``. At 512 px
    this weighs style 60-3840x less, layer by layer, than the authors' code (15-960x at
    256 px; notebook 04 shows the result).
    """
    if convention not in RATIO_CONVENTIONS:
        raise ValueError(f"invalid convention {convention!r}; options are {RATIO_CONVENTIONS}")
    rows = {r["name"]: r for r in layer_table(19, height=shape[0], width=shape[1])}
    if convention == "authors_code":
        scale = len(GATYS_STYLE_LAYERS) / len(style_layers)
        return {"content_weight": 1.0, "style_weight": 1.0 / ratio,
                "style_layer_weights": tuple(scale / rows[l]["shape"][0] ** 2 for l in style_layers)}
    n, h, w = rows[content_layer]["shape"]
    return {"content_weight": 1.0, "style_weight": (1.0 / ratio) / (2.0 * n * h * w),
            "style_layer_weights": tuple(1.0 / len(style_layers) for _ in style_layers)}


StyleConfig = settings_dataclass(stylize, "StyleConfig", __name__,
                                 exclude=("callback", "progress"),
                                 doc="The settings of one stylize run (fields and defaults are "
                                     "stylize's own); ``config.run()`` runs it.")
_FIELDS = [f.name for f in dataclasses.fields(StyleConfig)]
