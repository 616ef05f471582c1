"""The one training loop of the feed-forward methods, their checkpoints, and applying them.

A method (``johnson.py``: 'johnson' and 'cin'; ``adain.py``: 'adain') registers a ``Method``:
its network, its loss and how it stylizes. ``train`` knows no method by name: it samples
batches, steps Adam and keeps the checkpoint.

A run lives in one folder: ``checkpoint.params`` (network), ``checkpoint.states`` (Adam's
moments), ``checkpoint.json`` (method, architecture, settings, step, loss history), written
atomically every ``checkpoint_every`` steps, at the end, and on Ctrl-C. Calling ``train``
again with the same folder and architecture resumes where it stopped; a batch depends only
on (seed, step), so a resumed run takes the same next step as one never interrupted.
"""
from __future__ import annotations

import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from mxnet import autograd, gluon

from . import pretrained, runtime
from .checkpoints import check_resumable, load_network, load_params, read_checkpoint, save
from .crops import CropSampler, content_images
from .data import DEFAULT_STYLE, SKIMAGE_IMAGES
from .files import check_folder
from .image import load_image, postprocess, preprocess, resize
from .objective import loss_record
from .settings import require, settings_dataclass

# Default training photos: bundled with scikit-image, so they need no download.
DEFAULT_CONTENT = tuple(n for n in SKIMAGE_IMAGES if n != "hubble_deep_field")


class Method:
    """What a feed-forward method supplies to the training loop and to ``Model``.

    ``kind`` names it in ``train(kind=...)`` and in checkpoints; crops and applied images
    are cut to a multiple of ``crop_multiple`` (the network's total stride).
    """
    kind: str = ""
    crop_multiple: int = 1

    def check(self, config) -> None:
        """Raise ``ValueError`` for settings this method cannot train (before any work)."""

    def arch(self, config) -> dict:
        """What a checkpoint must match to be loaded into this method's network."""
        raise NotImplementedError

    def build(self, config, *, ctx) -> dict:
        """The networks: ``{'net': the block to train, ...frozen parts}``, initialized."""
        raise NotImplementedError

    def start_from(self, arch: dict | None, params: Path, model, *, ctx) -> None:
        """Load a trained network of architecture ``arch`` from the file ``params`` into
        ``model.net`` (``init_from``: see ``pretrained.network_source``)."""
        if arch != model.arch:
            raise ValueError(f"{params} holds the parameters of another network ({arch}), "
                             f"not {model.arch}")
        load_params(params, model.net, ctx)

    def loss(self, config, parts, *, ctx, progress):
        """A function ``loss(X, step)`` -> (content, style, tv) NDArrays for a batch X."""
        raise NotImplementedError

    def check_options(self, config, *, style, style_index, mix, alpha) -> None:
        """Raise ``ValueError`` for apply options this method cannot take (before any work)."""

    def stylize(self, config, parts, X, *, style, style_index, mix, alpha, size):
        """The stylized (1, 3, H, W) image for the preprocessed photo X (see ``Model.apply``)."""
        raise NotImplementedError


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Make ``method`` trainable as ``train(kind=method.kind)``."""
    METHODS[method.kind] = method
    return method


def method(kind: str) -> Method:
    if kind not in METHODS:
        raise ValueError(f"invalid kind {kind!r}; options are {tuple(METHODS)}")
    return METHODS[kind]


def train(*,
          kind: str = "johnson",
          styles: tuple[str, ...] = (DEFAULT_STYLE,),
          content: str | tuple[str, ...] = DEFAULT_CONTENT,
          out_dir: str = "runs/feedforward",
          crop: int = 128,
          batch_size: int = 4,
          steps: int = 500,
          lr: float = 1e-3,
          warmup_steps: int = 0,
          content_weight: float = 1.0,
          style_weight: float = 1.0,
          tv_weight: float = 10.0,
          pixel_weight: float = 0.0,
          norm: str = "instance",
          upsample: str = "resize",
          res_blocks: int = 5,
          loss_network: int = 19,
          style_size: int = 256,
          flip: bool = False,
          full_frame: float = 0.0,
          checkpoint_every: int = 100,
          init_from: str | None = None,
          seed: int = 0,
          ctx: str = "cpu",
          progress: bool = True):
    """Train (or resume training) a feed-forward style network in ``out_dir``.

    Parameters
    ----------
    kind : str
        'johnson' (one style), 'cin' (conditional instance norm, several styles) or 'adain'
        (any style; ``styles`` are the training paintings).
    styles : tuple of str
        Style images (registered names or files).
    content : str or tuple of str
        A folder of training photos (e.g. MS-COCO train2014) or image names/paths.
    out_dir : str
        Folder of the checkpoint; an existing checkpoint there is resumed.
    crop : int
        Side of the random square crops, in pixels.
    batch_size : int
        Crops per step.
    steps : int
        Total optimizer steps (a resumed run continues up to this number).
    lr : float
        Adam's learning rate.
    warmup_steps : int
        Raise the learning rate linearly from lr / warmup_steps to lr over these steps (0:
        none). Adam's first step moves every weight by about lr whatever its gradient.
    content_weight : float
        Weight of the content loss.
    style_weight : float
        Weight of the style loss (johnson/cin: times 1/C^2 per layer, as ``stylize``; AdaIN:
        its mean/std loss). Notebooks 08-10 record the weights tried.
    tv_weight : float
        Weight of the total-variation loss (johnson/cin only).
    pixel_weight : float
        AdaIN only: weight of a reconstruction term, the mean squared error between the
        decoded photo features and the photo, added to the content loss (0: the paper's
        loss; see ``adain``).
    norm : str
        'instance' or 'batch' for johnson (cin always uses conditional instance norm).
    upsample : str
        'resize' (nearest then conv) or 'transposed' convolution.
    res_blocks : int
        Residual blocks of the johnson/cin network (Johnson et al.: 5). ``init_from`` a run
        with fewer starts the extra blocks as the identity.
    loss_network : int
        19 (original VGG-19 weights) or 16 (Johnson et al.'s, needs Gluon's vgg16 params).
    style_size : int
        Longer side of the style images when their targets are computed.
    flip : bool
        Mirror each crop left to right with probability 1/2 (augmentation for a small photo
        set; Johnson et al. trained on COCO's 80,000 photos).
    full_frame : float
        Share of steps whose batch shows whole photos at ``crop`` px on the longer side (the
        scale they are scored at) instead of square crops; 0 keeps square crops only.
    checkpoint_every : int
        Steps between checkpoints.
    init_from : str, optional
        A run folder or a shipped model's name whose network starts this run (same
        architecture, or fewer res_blocks; for 'cin', also a single-style 'johnson' run
        with instance norm, whose scales and shifts every painting starts from): a second
        stage with other loss weights or paintings. Adam starts afresh (use warmup_steps).
        Once out_dir has its own checkpoint, resuming takes precedence.
    seed : int
        Seed for initialization and the sequence of batches.
    ctx : str
        'cpu', 'gpu' or 'gpu:N'.
    progress : bool
        Show a progress bar.

    Returns
    -------
    model : Model
        The trained network with its settings (``model.apply(...)`` stylizes).
    history : list of dict
        One record per step: step, content, style, tv, total, seconds.
    """
    config = TrainConfig(**{k: v for k, v in locals().items() if k in _TRAIN_FIELDS})
    _validate(config)
    ctx = runtime.get_ctx(ctx)
    runtime.seed(seed)
    sampler = CropSampler(content_images(content), crop=crop, seed=seed, flip=flip,
                          full_frame=full_frame)
    model = Model.build(config, ctx=ctx)
    trainer = gluon.Trainer(model.net.collect_params(), "adam", {"learning_rate": lr})
    start, history = 0, []
    if (Path(out_dir) / "checkpoint.json").exists():
        saved = load_network(Path(out_dir), model.arch, model.net, ctx, trainer=trainer)
        check_resumable(Path(out_dir), saved, config)
        start, history = saved["step"], saved["history"]
    elif init_from is not None:
        model.method.start_from(*pretrained.network_source(init_from), model, ctx=ctx)
    model.net.hybridize(static_alloc=True)   # memory planned once: ~3% a step (README)
    loss = model.method.loss(config, model.parts, ctx=ctx, progress=progress)
    _loop(config, loss, sampler, trainer, model.net, start=start, history=history, ctx=ctx,
          progress=progress)
    return model, history


def _loop(c, loss, sampler, trainer, net, *, start, history, ctx, progress) -> None:
    """Adam steps from ``start`` to ``c.steps``; checkpoints on schedule and on Ctrl-C."""
    from tqdm.auto import tqdm

    folder, step, arch = Path(c.out_dir), start, method(c.kind).arch(c)
    tic = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    bar = tqdm(total=c.steps, initial=start, desc=f"train {c.kind}", unit="step",
               disable=not progress, file=sys.stderr)
    try:
        while step < c.steps:
            rec = _step(c, loss, sampler.batch(c.batch_size, step=step, ctx=ctx), trainer,
                        step=step, tic=tic)
            history.append(rec)
            step += 1
            bar.update(1)
            bar.set_postfix(content=f"{rec['content']:.3g}", style=f"{rec['style']:.3g}",
                            tv=f"{rec['tv']:.3g}")
            if step % c.checkpoint_every == 0 or step == c.steps:
                save(folder, c, arch, net, trainer, step, history)
    except KeyboardInterrupt:
        save(folder, c, arch, net, trainer, step, history)
        warnings.warn(f"interrupted at step {step}; checkpoint saved in {folder}, "
                      "call train() again with the same out_dir to resume")
    finally:
        bar.close()


def _step(c, loss, X, trainer, *, step: int, tic: float) -> dict:
    """One Adam step on the batch X (with the warm-up's lr); its history record."""
    with autograd.record():
        terms = loss(X, step)
        total = terms[0] + terms[1] + terms[2]
    total.backward()
    if c.warmup_steps:
        trainer.set_learning_rate(c.lr * min(1.0, (step + 1) / c.warmup_steps))
    trainer.step(1)
    return loss_record(terms, hint=f"lower the learning rate (lr was {c.lr:g})", step=step,
                       seconds=time.perf_counter() - tic)


TrainConfig = settings_dataclass(train, "TrainConfig", __name__, exclude=("progress",),
                                 doc="The settings of one training run (fields and defaults "
                                     "are train's own).")
_TRAIN_FIELDS = [f.name for f in dataclasses.fields(TrainConfig)]


def config_from_json(settings: dict) -> "TrainConfig":
    """A ``TrainConfig`` from its JSON form (lists back to tuples; unknown keys, such as those
    of an older version, left out)."""
    return TrainConfig(**{k: tuple(v) if isinstance(v, list) else v
                          for k, v in settings.items() if k in _TRAIN_FIELDS})


def _validate(config) -> None:
    """The settings every method shares, then the method's own."""
    found = method(config.kind)
    if not config.styles or isinstance(config.styles, str):
        raise ValueError("styles must be a non-empty tuple of style images")
    if min(config.crop, config.batch_size, config.steps + 1, config.checkpoint_every,
           config.warmup_steps + 1) < 1:
        raise ValueError("crop, batch_size and checkpoint_every must be >= 1, "
                         "steps and warmup_steps >= 0")
    for name in ("content_weight", "style_weight", "tv_weight", "pixel_weight"):
        require(name, getattr(config, name), at_least=0.0)
    require("lr", config.lr, above=0.0)
    require("full_frame", config.full_frame, at_least=0.0, at_most=1.0)
    check_folder(config.out_dir)
    if config.crop % found.crop_multiple:
        raise ValueError(f"crop must be a multiple of {found.crop_multiple} for the "
                         f"{config.kind} network, got {config.crop}")
    found.check(config)


class Model:
    """A feed-forward network with the settings it was trained with."""

    def __init__(self, config, *, parts: dict):
        self.config, self.parts = config, parts
        self.method, self.net = method(config.kind), parts["net"]
        self.arch = self.method.arch(config)   # what a checkpoint must match

    @classmethod
    def build(cls, config, *, ctx) -> "Model":
        return cls(config, parts=method(config.kind).build(config, ctx=ctx))

    @staticmethod
    def settings(folder) -> "TrainConfig":
        """The settings of the run in ``folder``, read from its checkpoint (nothing built)."""
        return config_from_json(read_checkpoint(Path(folder))["settings"])

    @classmethod
    def load(cls, folder, *, ctx="cpu") -> "Model":
        """The network trained in ``folder`` (see ``train``)."""
        folder = Path(folder)
        config = cls.settings(folder)
        ctx = runtime.get_ctx(ctx)
        model = cls.build(config, ctx=ctx)
        load_network(folder, model.arch, model.net, ctx)
        model.net.hybridize(static_alloc=True)   # as in train
        return model

    def apply(self, content, *, size: int | None = 512, style=None,
              style_index: int | None = None, mix: tuple[float, ...] | None = None,
              alpha: float = 1.0) -> np.ndarray:
        """Stylize ``content`` in one forward pass; returns HxWx3 uint8.

        AdaIN takes ``style`` (any image) and ``alpha`` (0: content, 1: full style); CIN takes
        ``style_index`` or ``mix`` (one weight per trained style); Johnson needs neither.
        """
        self.method.check_options(self.config, style=style, style_index=style_index, mix=mix,
                                  alpha=alpha)
        ctx, multiple = self.net.collect_params().list_ctx()[0], self.method.crop_multiple
        image = load_image(content, max_size=size)
        w, h = (max(multiple, d - d % multiple) for d in image.size)
        X = preprocess(resize(image, shape=(h, w)), ctx=ctx)
        return postprocess(self.method.stylize(self.config, self.parts, X, style=style,
                                               style_index=style_index, mix=mix, alpha=alpha,
                                               size=size))
