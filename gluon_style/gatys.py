"""Style transfer by image optimization: Gatys et al. 2016, with the controls of their 2017 paper.

Gatys, Ecker and Bethge (2016), "Image Style Transfer Using Convolutional Neural Networks":
the image is the only variable. The photo's features at relu4_2 and the painting's Gram
matrices at relu1_1 ... relu5_1 are computed once; every step runs the frozen VGG-19 on the
image, weighs the terms and moves the pixels against the gradient. Gatys et al. (2017),
"Controlling Perceptual Factors in Neural Style Transfer", act around that optimization:
colour (``color``), space (``masks``: one painting per region) and scale (``pyramid``,
``style_scale``, ``fine_style``/``mix_scales``).

Departure from the MXNet/Gluon tutorial: style weight 1e3 (not 1e4) and lr 0.03 (not 0.1),
because the original Caffe VGG-19's activations are about 60x larger than the model zoo's
(notebook 02 runs both). ``stylize``'s signature is the single source of defaults.
"""
from __future__ import annotations

import dataclasses
import sys
import time
import warnings
from pathlib import Path

import mxnet as mx
import numpy as np
from PIL import Image

from . import runtime
from .color import COLOR_MODES, apply_color_control, recombine_luminance
from .image import load_image, pixel_bounds, postprocess, preprocess, resize
from .losses import STYLE_REPRESENTATIONS, representation
from .masks import layer_mask, region_masks
from .memory import check_memory
from .objective import Objective, Term, evaluator, style_layer_weights
from .optimizers import OPTIMIZERS, minimize
from .settings import require, settings_dataclass
from .vgg import check_layers, layer_table, vgg19_features

GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# The MXNet/Gluon tutorial's objective and schedule (its model-zoo indices [0, 5, 10, 19, 28]
# for style and [25] for content are these layers' pre-ReLU outputs), for comparisons.
TUTORIAL_SETTINGS = dict(content_layers=("conv4_4",),
                         style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
                         style_weight=1e4, tv_weight=10.0, init="content",
                         optimizer="normalized_gd", lr=0.1, lr_decay=0.1, lr_decay_every=100,
                         pyramid=())
INITS = ("content", "style", "noise")
NOISE_STD = 0.1   # white-noise init, normalized units (about 6 grey levels); unit variance
# survives hundreds of steps, as deep layers barely see pixel-scale noise
AUTO_PYRAMID_MIN = 128   # the smallest coarse level 'auto' uses (smaller ones were not measured)


def auto_pyramid(*, size: int, optimizer: str, steps: int) -> tuple[int, ...]:
    """The coarser levels of ``pyramid='auto'``: one at half size for normalized GD from 256 px
    (measured to reach a lower loss in the same time, README), else none (also for steps=0)."""
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
    lr : float
        Step size in normalized-image units per step (lbfgs: the first step's average size).
    lr_decay : float
        Factor applied to lr every lr_decay_every steps.
    lr_decay_every : int
        Steps between learning-rate decays.
    optimizer : str
        'normalized_gd' (the Gluon tutorial), 'adam', or 'lbfgs' (as Gatys et al.).
    content_layers : tuple of str
        Layers whose activations must match the content image (Gatys: relu4_2).
    style_layers : tuple of str
        Layers whose style statistics must match the style image's.
    content_weight : float
        Weight of the content loss.
    style_weight : float
        Weight of the style loss; each layer's term is further weighted by 1/C^2 (C its channels).
    style_layer_weights : tuple of float, optional
        Per-layer style weights replacing the 1/C^2 default (still times style_weight).
    style_representation : str
        What of the style features is matched (``gluon_style.losses``): 'gram' (Gatys et al.),
        'mean_std', 'mmd_linear', 'mmd_poly', 'mmd_gaussian' or 'mean_cov' (Li et al. 2017).
        Their scales differ: retune style_weight when you change it.
    tv_weight : float
        Weight of the total-variation loss (smoothness).
    init : str
        Starting image: 'content', 'style' (resized to the content's shape) or 'noise'.
    pooling : str
        'max' or 'avg' (Gatys et al. prefer average pooling).
    vgg_weights : str
        'auto'/'caffe' (the original VGG-19, as Gatys et al.) or 'gluon' (model-zoo params).
    pretrained : bool
        Use ImageNet weights; --no-pretrained gives a random network (a baseline).
    normalized_vgg : bool
        Rescale the filters to mean activation 1, Gatys et al.'s normalized network.
    pyramid : tuple of int or 'auto'
        Coarse-to-fine (Gatys et al. 2017): longer sides of coarser levels, increasing and below
        size, each run for pyramid_steps and upsampled to start the next. Empty (--pyramid '')
        is a single scale; 'auto' adds one half-size level for normalized GD from 256 px.
    pyramid_steps : int
        Steps at each coarser level.
    style_scale : float
        The painting's longer side relative to the photo's: above 1, smaller brush strokes.
    style_blend : tuple of float, optional
        Weight of each style's loss (default: equal, summing to 1; with masks, 1 each).
    fine_style : str, optional
        Scale control: the style's layout painted in this painting's fine texture
        (``mix_scales``, made first with these settings) becomes the style.
    masks : tuple of str
        Spatial control: one greyscale mask file per style (white where it goes), or kmeans
        to split the photo by colour into as many regions as styles. Gram only.
    color : str
        'style' (the painting's colours), 'luminance' (transfer on luminance, then the photo's
        chroma), 'histogram' or 'histogram_pca' (the painting's colours matched to the photo's).
    seed : int
        Seed for the noise initialization and anything else random.
    ctx : str
        'cpu', 'gpu' or 'gpu:N'.
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
    plan = _plan(config)
    ctx = runtime.get_ctx(ctx)
    styles = plan.styles
    if fine_style is not None:  # made before this run's seeding: equal to mix_scales on its own
        shared = {name: getattr(config, name) for name in _MIX_PASSED}
        styles = (mix_scales(coarse=styles[0], fine=fine_style, size=round(size * style_scale),
                             progress=progress, **shared),)
    runtime.seed(seed)
    photo, levels, masks_, (content_wh, styles_wh) = _prepare(config, plan, styles)
    if ctx.device_type == "cpu":  # (GPU memory is not estimated)
        check_memory(content_wh=content_wh, styles_wh=styles_wh, size=size,
                     style_scale=style_scale, layers=plan.layers, optimizer=optimizer)
    net = vgg19_features(plan.layers, pretrained=pretrained, pooling=pooling,
                         vgg_weights=vgg_weights, normalized=normalized_vgg, ctx=ctx,
                         progress=progress)
    net.hybridize(static_alloc=True)
    X, history = _optimize(config, plan, levels, masks_, net=net, ctx=ctx,
                           callback=callback, progress=progress)
    if color == "luminance":
        return recombine_luminance(stylized=postprocess(X), content=photo), history
    return postprocess(X), history


@dataclasses.dataclass(frozen=True)
class _Plan:
    """A run's settings resolved and checked: layers, per-layer weights, levels, styles."""
    content_layers: list
    style_layers: list
    layer_weights: list
    sizes: list            # longer side of each level, the last the full size
    level_steps: list
    styles: tuple
    blend: tuple

    @property
    def layers(self) -> list:
        return list(dict.fromkeys([*self.content_layers, *self.style_layers]))


def _plan(c) -> _Plan:
    """Check every setting that can be checked without loading anything."""
    for name, options in (("init", INITS), ("style_representation", STYLE_REPRESENTATIONS),
                          ("optimizer", OPTIMIZERS), ("color", COLOR_MODES)):
        if getattr(c, name) not in options:
            raise ValueError(f"invalid {name} {getattr(c, name)!r}; options are {options}")
    if c.optimizer == "lbfgs" and c.style_representation in ("mmd_poly", "mmd_gaussian") \
            and c.style_layers:
        raise ValueError(f"style_representation {c.style_representation!r} samples positions "
                         "afresh at every step, and L-BFGS's line search needs a deterministic "
                         "loss: use optimizer 'normalized_gd' or 'adam' with it")
    if c.steps < 0 or c.size < 1 or c.lr_decay_every < 1 or c.pyramid_steps < 0:
        raise ValueError("steps and pyramid_steps must be >= 0, size and lr_decay_every >= 1")
    for name in ("content_weight", "style_weight", "tv_weight"):
        require(name, getattr(c, name), at_least=0.0)
    require("lr", c.lr, above=0.0)
    require("lr_decay", c.lr_decay, above=0.0, at_most=1.0)
    require("style_scale", c.style_scale, above=0.0)
    if c.style_layer_weights is not None:
        require("style_layer_weights", c.style_layer_weights, at_least=0.0)
    # An empty list switches a term off (the reconstructions of Gatys et al., Fig. 1).
    content_layers = check_layers(c.content_layers) if c.content_layers else []
    style_layers = check_layers(c.style_layers) if c.style_layers else []
    if not content_layers and not style_layers:
        raise ValueError("give at least one content or style layer")
    layer_weights = c.style_layer_weights
    if layer_weights is None:
        layer_weights = style_layer_weights(style_layers)
    if len(layer_weights) != len(style_layers):
        raise ValueError(f"{len(layer_weights)} style_layer_weights for "
                         f"{len(style_layers)} style_layers")
    pyramid = c.pyramid
    if isinstance(pyramid, str):
        if pyramid != "auto":
            raise ValueError(f"pyramid must be a tuple of sizes or 'auto', got {pyramid!r}")
        pyramid = auto_pyramid(size=c.size, optimizer=c.optimizer, steps=c.steps)
    sizes = [*pyramid, c.size]
    if any(a >= b for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"pyramid sizes must increase and stay below size={c.size} (got "
                         f"{tuple(pyramid)})")
    styles = (c.style,) if isinstance(c.style, (str, Path, np.ndarray, Image.Image)) \
        else tuple(c.style)
    _check_styles(c, styles)
    blend = c.style_blend
    if blend is None:
        blend = ((1.0,) if c.masks else (1.0 / len(styles),)) * len(styles)
    if len(blend) != len(styles):
        raise ValueError(f"{len(blend)} style_blend weights for {len(styles)} styles")
    require("style_blend", blend, at_least=0.0)
    if not sum(blend) > 0:
        raise ValueError("--style-blend needs at least one weight above 0")
    return _Plan(content_layers, style_layers, list(layer_weights), sizes,
                 [c.pyramid_steps] * len(pyramid) + [c.steps], styles, tuple(blend))


def _check_styles(c, styles) -> None:
    if not styles:
        raise ValueError("give at least one style image")
    if c.fine_style is not None and len(styles) != 1:
        raise ValueError("fine_style mixes the scales of one style; got several styles")
    if c.masks and (c.style_representation != "gram"
                    or len(c.masks) != len(styles) and tuple(c.masks) != ("kmeans",)):
        raise ValueError(f"{len(c.masks)} masks for {len(styles)} styles: give one mask per "
                         "style (or masks=('kmeans',)), with style_representation 'gram'")


def _prepare(c, plan: _Plan, styles):
    """Load every image and mask first, so that a bad one fails before any work.

    Returns the full-size photo, (content, styles) per level, the region masks, and the
    images' original (W, H) sizes.
    """
    label = lambda ref: str(ref) if isinstance(ref, (str, Path)) else "<image>"  # noqa: E731
    photo, paintings = load_image(c.content), [load_image(st) for st in styles]
    photos = [resize(photo, max_size=s, label=label(c.content)) for s in plan.sizes]
    levels = [apply_color_control(c.color, p, [
        resize(image, max_size=round(s * c.style_scale), label=label(ref))
        for image, ref in zip(paintings, styles)]) for p, s in zip(photos, plan.sizes)]
    masks = region_masks(c.masks, photo=photos[-1], count=len(styles), seed=c.seed)
    return photos[-1], levels, masks, (photo.size, [st.size for st in paintings])
def _objective(c, plan: _Plan, net, content_img, style_imgs, masks, ctx):
    """The preprocessed photo and the objective of one level (targets computed once)."""
    C = preprocess(content_img, ctx=ctx)
    content_features = net(C)
    terms = [Term("content", name, c.content_weight, "content",
                  target={"Y": content_features[name]}) for name in plan.content_layers]
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


def _initial(c, C, content_img, style_imgs, ctx):
    if c.init == "content":
        return C.copy()
    if c.init == "style":  # the first style, resized to the content's shape
        return preprocess(resize(style_imgs[0], shape=content_img.size[::-1]), ctx=ctx)
    return NOISE_STD * mx.nd.random.normal(0, 1, shape=C.shape, ctx=ctx)


def _optimize(c, plan: _Plan, levels, masks, *, net, ctx, callback, progress):
    """Run every level in turn, each starting from the previous one's result, upsampled."""
    from tqdm.auto import tqdm

    history, tic, X = [], time.perf_counter(), None
    offsets = np.cumsum([0, *plan.level_steps])
    with tqdm(total=sum(plan.level_steps), desc="stylize", unit="step", disable=not progress,
              file=sys.stderr) as bar:
        for (content_img, style_imgs), steps, offset in zip(levels, plan.level_steps, offsets):
            C, objective = _objective(c, plan, net, content_img, style_imgs, masks, ctx)
            X = (_initial(c, C, content_img, style_imgs, ctx) if X is None else
                 mx.nd.contrib.BilinearResize2D(X, height=C.shape[2], width=C.shape[3]))
            evaluate = evaluator(objective, history=history, offset=int(offset), tic=tic,
                                 size=max(content_img.size), bar=bar)
            stop = None if callback is None else lambda Z: callback(history[-1], Z)
            X, how = minimize(X, evaluate, optimizer=c.optimizer, steps=int(steps), lr=c.lr,
                              lr_decay=c.lr_decay, lr_decay_every=c.lr_decay_every,
                              bounds=pixel_bounds(X.shape), on_step=lambda: bar.update(1),
                              stop=stop)
            if how == "interrupted":
                warnings.warn(f"interrupted after {len(history)} steps: returning the best "
                              "image so far")
            if how != "done":
                break
    return X, history


# Shallow layers alone give a small style loss; 1e4 (not stylize's 1e3) lets the fine texture
# show over the coarse painting's own at 256 px (notebook 06).
MIX_STYLE_WEIGHT = 1e4
# the settings a fine_style run passes on to the mix_scales run that makes its style image
_MIX_PASSED = ("steps", "optimizer", "lr", "lr_decay", "lr_decay_every", "init", "pooling",
               "vgg_weights", "pretrained", "normalized_vgg", "seed", "ctx")


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


def gatys_weights(ratio: float, *, content_layer: str, shape: tuple[int, int],
                  style_layers: tuple[str, ...]) -> dict:
    """Our weights for Gatys et al.'s content/style ratio alpha/beta (their Fig. 3).

    Gatys: alpha * 1/2 sum (F - P)^2 + beta * sum_l w_l / (4 N_l^2 M_l^2) sum (G_l - A_l)^2,
    with w_l = 1/L and an unnormalized Gram G. Ours are means (see losses.py):
    c = sum (F - P)^2 / (N M) and s_l = sum (G_l - A_l)^2 / (N_l^2 M_l^2). Dividing their
    total by alpha N M / 2 gives c + (beta/alpha) / (2 N M) * sum_l s_l / L, N and M the
    content layer's channels and positions at this image ``shape``. Their ratios assume
    their normalized network (``normalized_vgg=True``).
    """
    rows = {r["name"]: r for r in layer_table(19, height=shape[0], width=shape[1])}
    n, h, w = rows[content_layer]["shape"]
    return {"content_weight": 1.0, "style_weight": (1.0 / ratio) / (2.0 * n * h * w),
            "style_layer_weights": tuple(1.0 / len(style_layers) for _ in style_layers)}


StyleConfig = settings_dataclass(stylize, "StyleConfig", __name__,
                                 exclude=("callback", "progress"),
                                 doc="The settings of one stylize run (fields and defaults are "
                                     "stylize's own); ``config.run()`` runs it.")
_FIELDS = [f.name for f in dataclasses.fields(StyleConfig)]
