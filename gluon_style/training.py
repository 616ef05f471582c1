"""Training and applying the feed-forward networks of ``feedforward``.

One loop serves three kinds of model:

* ``'johnson'``: a ``TransformNet`` for one style, trained with perceptual losses
  (Johnson et al. 2016): content at relu2_2, Gram style at relu1_2, relu2_2,
  relu3_3, relu4_3, plus total variation.
* ``'cin'``: the same network with conditional instance norm for several styles
  (Dumoulin et al. 2017); each step trains one style, drawn at random.
* ``'adain'``: AdaIN (Huang and Belongie 2017): frozen VGG-19 encoder to relu4_1,
  a trained decoder; content loss against the AdaIN target, style loss on the
  per-channel mean and std at relu1_1 ... relu4_1; any style at test time. As in
  the paper the encoder is the normalized VGG-19 (``vgg_features(normalized=True)``):
  its features are of order 1, so an initial decoder's output is of image scale.

Departure from Johnson et al.: the loss network is VGG-19 by default (the same
layer names exist in it). Their VGG-16 needs Gluon's model-zoo weights in the
models folder (``loss_network=16``); the original VGG-19 weights need no model hub.

A run lives in one folder: ``checkpoint.params`` (network), ``checkpoint.states``
(Adam's moments), ``checkpoint.json`` (settings, step, loss history), written
atomically every ``checkpoint_every`` steps, at the end, and on Ctrl-C. Calling
``train`` again with the same folder and architecture resumes where it stopped;
a batch depends only on (seed, step), so a resumed run takes the same next step
as one that was never interrupted.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import os
import sys
import time
import warnings
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from . import feedforward as ff
from . import losses, runtime
from .data import DEFAULT_STYLE, SKIMAGE_IMAGES
from .files import atomic_path, write_json
from .image import ImageError, load_image, postprocess, preprocess, resize
from .vgg import layer_channels, vgg_features

KINDS = ("johnson", "cin", "adain")
JOHNSON_CONTENT_LAYERS = ("relu2_2",)
JOHNSON_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
ADAIN_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
# Default training photos: bundled with scikit-image, so they need no download.
DEFAULT_CONTENT = tuple(n for n in SKIMAGE_IMAGES if n != "hubble_deep_field")
ARCH_FIELDS = ("kind", "norm", "upsample", "styles")


def content_images(content) -> list:
    """A folder of images (its files, sorted) or a sequence of image names/paths."""
    if isinstance(content, (str, Path)) and Path(content).is_dir():
        files = sorted(p for p in Path(content).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise ImageError(f"{content}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder")
        return files
    refs = [content] if isinstance(content, (str, Path)) else list(content)
    if not refs:
        raise ValueError("give at least one content image or a folder of them")
    return refs


class CropSampler:
    """Random square crops of random images, resized to ``crop`` px, as a normalized batch.

    A crop's side is drawn between half and all of the image's shorter side, its position
    uniformly (scale and position augmentation, which a small photo set needs; Johnson et
    al. simply resized COCO images to 256 x 256). Images are loaded lazily with a longer
    side of ``4 * crop`` and kept; an unreadable
    file is skipped with a warning (an error only if none is readable). The batch for a
    step depends only on (seed, step).
    """

    def __init__(self, refs, *, crop: int, seed: int):
        self.refs, self.crop, self.seed = list(refs), crop, seed
        self._images, self._bad = {}, set()

    def _image(self, ref):
        if ref not in self._images:
            try:
                self._images[ref] = load_image(ref, max_size=4 * self.crop)
            except (ImageError, OSError, ValueError, KeyError) as e:
                warnings.warn(f"skipping {ref}: {e}")
                self._bad.add(ref)
                self._images[ref] = None
        return self._images[ref]

    def batch(self, n: int, *, step: int, ctx=None) -> mx.nd.NDArray:
        rng = np.random.default_rng([self.seed, step])
        out = []
        while len(out) < n:
            if len(self._bad) == len(self.refs):
                raise ImageError(f"none of the {len(self.refs)} training images could be read")
            image = self._image(self.refs[rng.integers(len(self.refs))])
            if image is None:
                continue
            side = int(rng.integers(min(image.size) // 2, min(image.size) + 1))
            x, y = rng.integers(image.width - side + 1), rng.integers(image.height - side + 1)
            square = image.crop((x, y, x + side, y + side))
            out.append(preprocess(resize(square, shape=(self.crop, self.crop)), ctx=ctx))
        return mx.nd.concat(*out, dim=0)


def _mean_std(X):
    """Per-sample, per-channel mean and standard deviation (with AdaIN's epsilon)."""
    mean, var = ff.channel_moments(mx.nd, X)
    return mean, (var + ff.EPS).sqrt()


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
          norm: str = "instance",
          upsample: str = "resize",
          loss_network: int = 19,
          style_size: int = 256,
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
        Raise the learning rate linearly from ``lr / warmup_steps`` to ``lr`` over these steps
        (0: none). Adam's first step moves every weight by about ``lr`` whatever its gradient:
        from scratch at lr 1e-3 it sent AdaIN's content loss from 5.7 to 2865 for a step, and
        on a trained network (``init_from``) it can undo much of the training.
    content_weight : float
        Weight of the content loss.
    style_weight : float
        Weight of the style loss (johnson/cin: times 1/C^2 per layer, as ``stylize``).
        Far below ``stylize``'s 1e3 because content is matched at relu2_2, whose raw Caffe
        features differ far more than conv4_2's: at 1e3 (and at 3 to 300) the network
        learned texture only, its content loss no lower than a flat grey image's (8.5e4);
        after 150 steps 0.1 kept the photo with little style and 1.0 painted it visibly
        (crop 128, The Starry Night). AdaIN's style loss is another one; the paper used 10
        for 160k steps, but in runs of a few hundred steps on a CPU any weight from 0.3 up
        let the decoder learn only the paintings' colours (the content loss stayed flat),
        so notebook 10 trains in two stages: 0.01 to learn to reconstruct, then 1 (via
        ``init_from``) to bring in the paintings' colours.
    tv_weight : float
        Weight of the total-variation loss (johnson/cin only).
    norm : str
        'instance' or 'batch' for johnson (cin always uses conditional instance norm).
    upsample : str
        'resize' (nearest then conv) or 'transposed' convolution.
    loss_network : int
        19 (original VGG-19 weights) or 16 (Johnson et al.'s, needs Gluon's vgg16 params).
    style_size : int
        Longer side of the style images when their targets are computed.
    checkpoint_every : int
        Steps between checkpoints.
    init_from : str, optional
        A run folder whose trained network starts this run: a second stage with other loss
        weights (e.g. an AdaIN decoder trained to reconstruct first, then to match styles).
        The architecture must match. Adam starts afresh (use ``warmup_steps``): when a
        resumed run went on with its moments at a 100x larger style weight, the decoder
        collapsed to a flat colour (Adam's second moment lags a jump in the gradients, so
        its steps can grow up to 1/sqrt(1 - beta2), about 30x). Once ``out_dir`` has its
        own checkpoint, resuming takes precedence.
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
    from tqdm.auto import tqdm

    config = TrainConfig(**{k: v for k, v in locals().items() if k in _TRAIN_FIELDS})
    _validate(config)
    ctx = runtime.get_ctx(ctx)
    runtime.seed(seed)
    sampler = CropSampler(content_images(content), crop=crop, seed=seed)
    model = Model.build(config, ctx=ctx)
    net = model.net
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})

    folder = Path(out_dir)
    start, history = 0, []
    if (folder / "checkpoint.json").exists():
        saved = _load_network(folder, config, net, ctx, trainer=trainer)
        start, history = saved["step"], saved["history"]
    elif init_from is not None:
        _load_network(Path(init_from), config, net, ctx)
    net.hybridize()

    loss_layers = ADAIN_LAYERS if kind == "adain" else tuple(
        dict.fromkeys(JOHNSON_CONTENT_LAYERS + JOHNSON_STYLE_LAYERS))
    encoder = model.encoder if kind == "adain" else vgg_features(
        list(loss_layers), num_layers=loss_network, ctx=ctx, progress=progress)
    encoder.hybridize(static_alloc=True)   # the frozen loss network as one graph
    # The photos' own features are needed only at the content layer: a second network of four
    # convolutions (0.3 s to build). A view sharing the encoder's layers would save that, but
    # building this one draws from mx.random before the network's deferred initialization, so
    # dropping it would change every trained network, and the committed figures of 08 and 09.
    if kind != "adain":
        content_encoder = vgg_features(list(JOHNSON_CONTENT_LAYERS), num_layers=loss_network,
                                       ctx=ctx, progress=False)
        content_encoder.hybridize(static_alloc=True)
    style_images = [load_image(s, max_size=style_size) for s in styles]
    if kind != "adain":
        channels = layer_channels(loss_network)
        targets = [{name: losses.gram(f) for name, f in encoder(preprocess(im, ctx=ctx)).items()
                    if name in JOHNSON_STYLE_LAYERS} for im in style_images]
        layer_w = {name: style_weight / channels[name] ** 2 for name in JOHNSON_STYLE_LAYERS}
    else:
        style_sampler = CropSampler(list(styles), crop=crop, seed=seed + 1)

    def loss_terms(X, step):
        """(content, style, tv) for one batch."""
        zero = mx.nd.zeros((1,), ctx=ctx)
        if kind == "adain":
            S = style_sampler.batch(X.shape[0], step=step, ctx=ctx)
            with autograd.pause():  # the targets need no gradient
                fs = encoder(S)
                fc = encoder(X)["relu4_1"]
            t = ff.adain(mx.nd, fc, fs["relu4_1"])
            Y = model.decoder(t)
            fy = encoder(Y)
            c = content_weight * mx.nd.square(fy["relu4_1"] - t).mean()
            s = []
            for name in ADAIN_LAYERS:
                (m_y, s_y), (m_s, s_s) = _mean_std(fy[name]), _mean_std(fs[name])
                s.append(mx.nd.square(m_y - m_s).mean() + mx.nd.square(s_y - s_s).mean())
            return c, style_weight * mx.nd.add_n(*s), zero
        index = np.random.default_rng([seed, step, 1]).integers(len(styles))
        weights = (mx.nd.one_hot(mx.nd.array([index] * X.shape[0], ctx=ctx), len(styles))
                   if kind == "cin" else None)
        Y = net(X, weights) if kind == "cin" else net(X)
        fy = encoder(Y)
        with autograd.pause():
            fx = content_encoder(X)
        c = content_weight * mx.nd.add_n(*[mx.nd.square(fy[n] - fx[n]).mean()
                                           for n in JOHNSON_CONTENT_LAYERS])
        s = mx.nd.add_n(*[layer_w[n] * mx.nd.square(mx.nd.broadcast_sub(
            losses.batch_gram(fy[n]), targets[index][n].expand_dims(0))).mean()
            for n in JOHNSON_STYLE_LAYERS])
        return c, s, tv_weight * losses.tv_loss(Y)

    tic = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    bar = tqdm(total=steps, initial=start, desc=f"train {kind}", unit="step",
               disable=not progress, file=sys.stderr)
    step = start
    try:
        while step < steps:
            X = sampler.batch(batch_size, step=step, ctx=ctx)
            with autograd.record():
                c, s, t = loss_terms(X, step)
                total = c + s + t
            total.backward()
            if warmup_steps:
                trainer.set_learning_rate(lr * min(1.0, (step + 1) / warmup_steps))
            trainer.step(1)
            rec = dict(step=step, content=float(c.asscalar()), style=float(s.asscalar()),
                       tv=float(t.asscalar()), seconds=time.perf_counter() - tic)
            rec["total"] = rec["content"] + rec["style"] + rec["tv"]
            if not np.isfinite(rec["total"]):
                raise FloatingPointError(f"the loss became {rec['total']} at step {step}; "
                                         f"lower the learning rate (lr was {lr:g})")
            history.append(rec)
            step += 1
            bar.update(1)
            bar.set_postfix(content=f"{rec['content']:.3g}", style=f"{rec['style']:.3g}",
                            tv=f"{rec['tv']:.3g}")
            if step % checkpoint_every == 0 or step == steps:
                _save(folder, config, net, trainer, step, history)
    except KeyboardInterrupt:
        _save(folder, config, net, trainer, step, history)
        warnings.warn(f"interrupted at step {step}; checkpoint saved in {folder}, "
                      "call train() again with the same out_dir to resume")
    finally:
        bar.close()
    return model, history


def _settings_fields():
    for p in inspect.signature(train).parameters.values():
        if p.name != "progress":
            yield p.name, p.annotation, dataclasses.field(default=p.default)


TrainConfig = dataclasses.make_dataclass("TrainConfig", list(_settings_fields()), frozen=True)
TrainConfig.__doc__ = "The settings of one training run (fields and defaults are train's own)."
TrainConfig.__module__ = __name__
_TRAIN_FIELDS = [f.name for f in dataclasses.fields(TrainConfig)]


def _validate(config) -> None:
    if config.kind not in KINDS:
        raise ValueError(f"invalid kind {config.kind!r}; options are {KINDS}")
    if config.norm not in ("instance", "batch"):
        raise ValueError(f"invalid norm {config.norm!r}; options are ('instance', 'batch')")
    if config.upsample not in ff.UPSAMPLINGS:
        raise ValueError(f"invalid upsample {config.upsample!r}; options are {ff.UPSAMPLINGS}")
    if not config.styles or isinstance(config.styles, str):
        raise ValueError("styles must be a non-empty tuple of style images")
    if config.kind == "johnson" and len(config.styles) != 1:
        raise ValueError(f"kind 'johnson' trains one style, got {len(config.styles)}; "
                         "use kind 'cin' for several")
    if config.loss_network not in (16, 19):
        raise ValueError(f"invalid loss_network {config.loss_network}; options are (16, 19)")
    if min(config.crop, config.batch_size, config.steps + 1, config.checkpoint_every,
           config.warmup_steps + 1) < 1:
        raise ValueError("crop, batch_size and checkpoint_every must be >= 1, "
                         "steps and warmup_steps >= 0")
    if config.kind != "adain" and config.crop % 4:
        raise ValueError(f"crop must be a multiple of 4 for the transformation network, got {config.crop}")
    if config.kind == "adain" and config.crop % 8:
        raise ValueError(f"crop must be a multiple of 8 for AdaIN's decoder, got {config.crop}")


def _arch(config) -> dict:
    d = dataclasses.asdict(config)
    return {k: (list(d[k]) if isinstance(d[k], tuple) else d[k]) for k in ARCH_FIELDS}


def _save(folder: Path, config, net, trainer, step: int, history: list) -> None:
    """Write the checkpoint atomically: params and states first, the JSON (which names them) last."""
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "checkpoint.params") as tmp:
        net.save_parameters(str(tmp))
    with atomic_path(folder / "checkpoint.states") as tmp:
        trainer.save_states(str(tmp))
    write_json(folder / "checkpoint.json", {"settings": dataclasses.asdict(config),
                                            "arch": _arch(config), "step": step,
                                            "history": history})


def _read_checkpoint(folder: Path) -> dict:
    """The JSON of the checkpoint in ``folder`` (settings, arch, step, history)."""
    if not (folder / "checkpoint.json").exists():
        raise FileNotFoundError(f"{folder}: no checkpoint.json; train a model there first")
    return json.loads((folder / "checkpoint.json").read_text())


def _load_network(folder: Path, config, net, ctx, *, trainer=None) -> dict:
    """Load the network (and, given ``trainer``, Adam's state) of the checkpoint in ``folder``;
    returns its JSON."""
    saved = _read_checkpoint(folder)
    if saved.get("arch") != _arch(config):
        raise ValueError(f"{folder} holds a checkpoint of another network ({saved.get('arch')}), "
                         f"not {_arch(config)}; choose another folder or delete that one")
    try:
        net.load_parameters(str(folder / "checkpoint.params"), ctx=ctx)
        if trainer is not None:
            trainer.load_states(str(folder / "checkpoint.states"))
    except (mx.base.MXNetError, AssertionError, OSError) as e:
        raise ValueError(f"{folder}: cannot load the checkpoint ({e})") from None
    return saved


class Model:
    """A feed-forward network with the settings it was trained with."""

    def __init__(self, config, *, net, encoder=None, decoder=None):
        self.config, self.net, self.encoder, self.decoder = config, net, encoder, decoder

    @classmethod
    def build(cls, config, *, ctx) -> "Model":
        if config.kind == "adain":
            encoder = vgg_features(list(ADAIN_LAYERS), num_layers=19, normalized=True, ctx=ctx,
                                   progress=False)
            decoder = ff.Decoder()
            decoder.initialize(mx.init.Xavier(), ctx=ctx)
            return cls(config, net=decoder, encoder=encoder, decoder=decoder)
        net = ff.TransformNet(norm="conditional" if config.kind == "cin" else config.norm,
                              upsample=config.upsample,
                              num_styles=len(config.styles) if config.kind == "cin" else 1)
        net.initialize(mx.init.Xavier(), ctx=ctx)
        return cls(config, net=net)

    @classmethod
    def load(cls, folder, *, ctx="cpu") -> "Model":
        """The network trained in ``folder`` (see ``train``)."""
        folder = Path(folder)
        saved = _read_checkpoint(folder)
        settings = {k: tuple(v) if isinstance(v, list) else v for k, v in saved["settings"].items()}
        config = TrainConfig(**{k: v for k, v in settings.items() if k in _TRAIN_FIELDS})
        ctx = runtime.get_ctx(ctx)
        model = cls.build(config, ctx=ctx)
        _load_network(folder, config, model.net, ctx)
        model.net.hybridize()
        return model

    def apply(self, content, *, size: int | None = 512, style=None, style_index: int | None = None,
              mix: tuple[float, ...] | None = None, alpha: float = 1.0) -> np.ndarray:
        """Stylize ``content`` in one forward pass; returns HxWx3 uint8.

        AdaIN takes ``style`` (any image) and ``alpha`` (0: content, 1: full style); CIN takes
        ``style_index`` or ``mix`` (one weight per trained style); Johnson needs neither.
        """
        kind, ctx = self.config.kind, self.net.collect_params().list_ctx()[0]
        multiple = 8 if kind == "adain" else 4
        image = load_image(content, max_size=size)
        w, h = (max(multiple, d - d % multiple) for d in image.size)
        X = preprocess(resize(image, shape=(h, w)), ctx=ctx)
        if kind == "adain":
            if style is None:
                raise ValueError("an AdaIN model needs style=... (any image)")
            if not 0.0 <= alpha <= 1.0:
                raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
            fc = self.encoder(X)["relu4_1"]
            fs = self.encoder(preprocess(load_image(style, max_size=size), ctx=ctx))["relu4_1"]
            t = alpha * ff.adain(mx.nd, fc, fs) + (1 - alpha) * fc
            return postprocess(self.decoder(t))
        if kind == "cin":
            n = len(self.config.styles)
            if (style_index is None) == (mix is None):
                raise ValueError(f"a CIN model needs style_index (0..{n - 1}) or mix ({n} weights)")
            if style_index is not None:
                if not 0 <= style_index < n:
                    raise ValueError(f"style_index must be in 0..{n - 1}, got {style_index}")
                mix = [float(i == style_index) for i in range(n)]
            if len(mix) != n:
                raise ValueError(f"mix needs {n} weights (one per trained style), got {len(mix)}")
            return postprocess(self.net(X, mx.nd.array([mix], ctx=ctx)))
        return postprocess(self.net(X))
