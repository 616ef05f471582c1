"""The objective: weighted loss terms on the VGG features of an image, as one block.

Every method builds its loss from ``Term``s: Gatys et al. with targets computed once from
the photo and the painting (``constant``), the feed-forward methods with targets that change
every batch (``given`` at each call: the photos' own features, the AdaIN target, a style
crop's statistics). When every term's representation allows it (all but sampled kernel MMD
and mean+covariance), the frozen VGG, the terms and the targets are one hybridized graph: a
step is one forward and one backward call, with memory planned once per shape.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
from mxnet import autograd
from mxnet.gluon import HybridBlock

from .losses import representation, tv_loss
from .runtime import get_ctx
from .vgg import layer_channels

GROUPS = ("content", "style")


@dataclasses.dataclass(frozen=True)
class Term:
    """``weight * loss(features of the image at layer, target)``, added to ``group``.

    ``target`` maps the representation's argument names to NDArrays fixed for the
    objective's lifetime; ``given`` names arguments passed afresh at every call instead.
    """
    group: str
    layer: str
    weight: float
    representation: str            # 'content' or a style representation (losses.REPRESENTATIONS)
    target: dict = dataclasses.field(default_factory=dict)
    given: tuple[str, ...] = ()
    mask: object = None            # an NDArray (1, 1, h, w) restricting a Gram term to a region


class _Terms(HybridBlock):
    """The weighted terms on given feature maps, with the fixed targets as constants."""

    def __init__(self, *, terms, layers, tv_weight: float, ctx, **kwargs):
        super().__init__(**kwargs)
        self.terms, self.layers, self.tv_weight = terms, layers, tv_weight
        self.losses = [representation(t.representation) for t in terms]
        self.given = [(k, name) for k, t in enumerate(terms) for name in t.given]
        self.fixed = [{**t.target, **({} if t.mask is None else {"mask": t.mask})} for t in terms]
        with self.name_scope():
            for k, fixed in enumerate(self.fixed):  # attributes, so hybrid_forward gets them
                for name, value in fixed.items():
                    setattr(self, f"t{k}_{name}", self.params.get_constant(f"t{k}_{name}", value))
        for param in self.params.values():
            param.initialize(ctx=ctx)

    def hybrid_forward(self, F, Y, *arrays, **constants):
        feats = dict(zip(self.layers, arrays))
        per_call = dict(zip(self.given, arrays[len(self.layers):]))
        sums = {g: [] for g in GROUPS}
        for k, (term, loss) in enumerate(zip(self.terms, self.losses)):
            args = {name: constants[f"t{k}_{name}"] for name in self.fixed[k]}
            args.update({name: per_call[(k, name)] for name in term.given})
            sums[term.group].append(term.weight * loss.loss(F, feats[term.layer], **args))
        tv = self.tv_weight * tv_loss(F, Y)
        zero = F.zeros_like(tv)
        return tuple(F.add_n(*sums[g]) if sums[g] else zero for g in GROUPS) + (tv,)


class Objective:
    """``objective(Y, given)`` -> (content, style, tv): the terms' weighted sums and TV of Y.

    Parameters
    ----------
    net : VGGFeatures
        The frozen feature extractor.
    terms : list of Term
        The loss terms.
    tv_weight : float
        Weight of the total-variation loss of Y.
    ctx : mx.Context, optional
        Where the targets live (default CPU).

    The network and the terms are two compiled graphs, not one: traced into a single graph
    together, MXNet 1.9.1 computed wrong gradients when a term sits on a layer that feeds a
    pooling layer (relu1_2) and another term lies deeper (a 68% error against finite
    differences for Johnson et al.'s layers; tests/test_objective.py keeps the case).
    """

    def __init__(self, *, net, terms, tv_weight: float, ctx=None):
        bad = [t.group for t in terms if t.group not in GROUPS]
        if bad:
            raise ValueError(f"invalid term group(s) {bad}; options are {GROUPS}")
        self.net, self.layers = net, list(dict.fromkeys(t.layer for t in terms))
        self.terms = _Terms(terms=list(terms), layers=self.layers, tv_weight=tv_weight,
                            ctx=get_ctx(ctx))
        net.hybridize(static_alloc=True)
        if all(loss.hybridizable for loss in self.terms.losses):
            self.terms.hybridize(static_alloc=True, static_shape=True)

    def __call__(self, Y, given: dict | None = None):
        """``given`` maps a term's index to its per-call arguments: ``{0: {'Y': ...}}``."""
        given = given or {}
        feats = self.net(Y)
        return self.terms(Y, *[feats[name] for name in self.layers],
                          *[given[k][name] for k, name in self.terms.given])


def loss_record(terms, *, hint: str, **fields) -> dict:
    """``fields`` with the (content, style, tv) NDArrays as floats and their total;
    ``FloatingPointError`` (ending with ``hint``) if the total is not finite."""
    content, style, tv = (float(x.asscalar()) for x in terms)
    rec = dict(fields, content=content, style=style, tv=tv, total=content + style + tv)
    if not np.isfinite(rec["total"]):
        raise FloatingPointError(f"the loss became {rec['total']} at step {rec['step']} "
                                 f"(content {content:.3g}, style {style:.3g}, tv {tv:.3g}); "
                                 f"{hint}")
    return rec


def evaluator(objective, *, history, offset, size, tic, bar):
    """``evaluate(X, step, lr, gradient=True)`` for ``optimizers.minimize``: the loss (and
    X's gradient); appends a record (step + offset, size, content, style, tv, total, lr,
    seconds) to ``history``."""
    def evaluate(X, step, lr, gradient=True):
        if gradient:
            with autograd.record():
                terms = objective(X)
                total = terms[0] + terms[1] + terms[2]
            total.backward()
        else:  # forward only and unrecorded, as before the redesign
            terms = objective(X)
        hint = "lower the loss weights" if lr is None else \
            f"lower the learning rate (lr was {lr:g})"
        rec = loss_record(terms, hint=hint, step=offset + step, size=size, lr=lr,
                          seconds=time.perf_counter() - tic)
        history.append(rec)
        bar.set_postfix(loss=f"{rec['total']:.4g}", content=f"{rec['content']:.3g}",
                        style=f"{rec['style']:.3g}", tv=f"{rec['tv']:.3g}")
        return rec["total"]
    return evaluate


def style_layer_weights(layers, *, num_layers: int = 19) -> list[float]:
    """The default weight of each style layer's term: 1/C^2, C its channels (the Gluon
    tutorial's, so that shallow and deep layers contribute on a similar scale)."""
    channels = layer_channels(num_layers)
    return [1.0 / channels[name] ** 2 for name in layers]

