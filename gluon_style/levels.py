"""A ``stylize`` run's settings, checked and resolved before any work: its levels (sizes and
steps of coarse-to-fine), layers and per-layer weights, styles and blend; then every image of
every level loaded and prepared (colour control, masks), so that a bad input fails at once.
"""
from __future__ import annotations

import dataclasses
import numbers
from pathlib import Path

import numpy as np
from PIL import Image

from .color import COLOR_MODES, apply_color_control
from .image import load_image, resize
from .losses import STYLE_REPRESENTATIONS
from .masks import region_masks
from .memory import check_size
from .objective import style_layer_weights
from .optimizers import OPTIMIZERS
from .settings import require
from .vgg import check_layers

INITS = ("content", "style", "noise")   # or an image: a file or a registered name
AUTO_PYRAMID_MIN = 128   # the smallest coarse level 'auto' uses (smaller ones were not measured)


def auto_pyramid(*, size: int, optimizer: str, steps: int) -> tuple[int, ...]:
    """The coarser levels of ``pyramid='auto'``: one at half size for normalized GD from 256 px
    (measured to reach a lower loss in the same time, README), else none (also for steps=0)."""
    if optimizer == "normalized_gd" and steps > 0 and size // 2 >= AUTO_PYRAMID_MIN:
        return (size // 2,)
    return ()



@dataclasses.dataclass(frozen=True)
class Plan:
    """A run's settings resolved and checked: layers, per-layer weights, levels, styles."""
    content_layers: list
    content_weights: list  # per content layer, content_weight included
    style_layers: list
    layer_weights: list    # per style layer, before style_weight and the blend
    sizes: list            # longer side of each level, the last the full size
    level_steps: list
    styles: tuple
    blend: tuple

    @property
    def layers(self) -> list:
        return list(dict.fromkeys([*self.content_layers, *self.style_layers]))


def plan(c) -> Plan:
    """Check every setting that can be checked without loading anything."""
    for name, options in (("style_representation", STYLE_REPRESENTATIONS),
                          ("optimizer", OPTIMIZERS), ("color", COLOR_MODES)):
        if getattr(c, name) not in options:
            raise ValueError(f"invalid {name} {getattr(c, name)!r}; options are {options}")
    if c.optimizer == "lbfgs" and c.style_representation in ("mmd_poly", "mmd_gaussian") \
            and c.style_layers:
        raise ValueError(f"style_representation {c.style_representation!r} samples positions "
                         "afresh at every step, and L-BFGS's line search needs a deterministic "
                         "loss: use optimizer 'normalized_gd' or 'adam' with it")
    _check_numbers(c)
    content_layers, content_weights, style_layers, layer_weights = _layers(c)
    sizes = _sizes(c)
    styles = (c.style,) if isinstance(c.style, (str, Path, np.ndarray, Image.Image)) \
        else tuple(c.style)
    blend = _check_styles(c, styles)
    return Plan(content_layers, content_weights, style_layers, layer_weights, sizes,
                [c.pyramid_steps] * (len(sizes) - 1) + [c.steps], styles, blend)


def _check_numbers(c) -> None:
    for name, least in (("steps", 0), ("pyramid_steps", 0), ("size", 1), ("lr_decay_every", 1)):
        value = getattr(c, name)
        if not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(f"--{name.replace('_', '-')} must be a whole number >= {least}, "
                             f"got {value!r}")
    for name in ("content_weight", "style_weight", "tv_weight"):
        require(name, getattr(c, name), at_least=0.0)
    for name in ("content_layer_weights", "style_layer_weights"):
        if getattr(c, name) is not None:
            require(name, getattr(c, name), at_least=0.0)
    require("lr", c.lr, above=0.0)
    require("lr_decay", c.lr_decay, above=0.0, at_most=1.0)
    require("style_scale", c.style_scale, above=0.0)


def _layers(c):
    """Content and style layers with their weights; an empty list switches a term off (the
    reconstructions of Gatys et al., Fig. 1)."""
    content_layers = check_layers(c.content_layers) if c.content_layers else []
    style_layers = check_layers(c.style_layers) if c.style_layers else []
    if not content_layers and not style_layers:
        raise ValueError("give at least one content or style layer")
    content_weights = c.content_layer_weights or (1.0,) * len(content_layers)
    layer_weights = c.style_layer_weights
    if layer_weights is None:
        layer_weights = style_layer_weights(style_layers)
    for what, weights, layers in (("content", content_weights, content_layers),
                                  ("style", layer_weights, style_layers)):
        if len(weights) != len(layers):
            raise ValueError(f"{len(weights)} {what}_layer_weights for {len(layers)} "
                             f"{what}_layers")
    return (content_layers, [c.content_weight * w for w in content_weights], style_layers,
            list(layer_weights))


def _sizes(c) -> list:
    """The longer side of every level, coarse to fine."""
    pyramid = c.pyramid
    if isinstance(pyramid, str):
        if pyramid != "auto":
            raise ValueError(f"pyramid must be a tuple of sizes or 'auto', got {pyramid!r}")
        pyramid = auto_pyramid(size=c.size, optimizer=c.optimizer, steps=c.steps)
    sizes = [*pyramid, c.size]
    if any(a >= b for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"pyramid sizes must increase and stay below size={c.size} (got "
                         f"{tuple(pyramid)})")
    return sizes


def _check_styles(c, styles) -> tuple:
    """Check the styles against fine_style and masks; returns the blend weights."""
    if not styles:
        raise ValueError("give at least one style image")
    if c.fine_style is not None and len(styles) != 1:
        raise ValueError("fine_style mixes the scales of one style; got several styles")
    if c.masks and (c.style_representation != "gram"
                    or len(c.masks) != len(styles) and tuple(c.masks) != ("kmeans",)):
        raise ValueError(f"{len(c.masks)} masks for {len(styles)} styles: give one mask per "
                         "style (or kmeans), with style_representation gram")
    blend = c.style_blend
    if blend is None:
        blend = ((1.0,) if c.masks else (1.0 / len(styles),)) * len(styles)
    if len(blend) != len(styles):
        raise ValueError(f"{len(blend)} style_blend weights for {len(styles)} styles")
    require("style_blend", blend, at_least=0.0)
    if not sum(blend) > 0:
        raise ValueError("--style-blend needs at least one weight above 0")
    return tuple(blend)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """The images of a run, loaded: per level (content, styles) after colour control."""
    photo: Image.Image      # the full-size photo, before colour control
    levels: list
    masks: list             # one HxW region mask per style, or none
    init: Image.Image | None  # an initial image given as a file or name


def prepare(c, plan: Plan, styles, *, check_memory: bool = True) -> Prepared:
    """Load every image and mask first, so that a bad one fails before any work; refuse a
    size the images cannot have (pixel cap, and memory with ``check_memory``)."""
    label = lambda ref: str(ref) if isinstance(ref, (str, Path)) else "<image>"  # noqa: E731
    photo, paintings = load_image(c.content), [load_image(st) for st in styles]
    check_size(content_wh=photo.size, styles_wh=[st.size for st in paintings], size=c.size,
               style_scale=c.style_scale, layers=plan.layers, optimizer=c.optimizer,
               memory=check_memory)
    photos = [resize(photo, max_size=s, label=label(c.content)) for s in plan.sizes]
    levels = [apply_color_control(c.color, p, [
        resize(image, max_size=round(s * c.style_scale), label=label(ref))
        for image, ref in zip(paintings, styles)]) for p, s in zip(photos, plan.sizes)]
    masks = region_masks(c.masks, photo=photos[-1], count=len(styles), seed=c.seed)
    init = None if isinstance(c.init, str) and c.init in INITS else load_image(c.init)
    return Prepared(photos[-1], levels, masks, init)
