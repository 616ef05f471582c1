"""Is a trained Johnson network as good as optimization? Issue 20's first measure.

For each test photo, at ``--size`` px (the training crop size by default), the network's
output is scored by its own training objective (content at relu2_2 against the photo,
Gram matrices at relu1_2 ... relu4_3 against the painting at the run's ``style_size``, TV),
and so is the image that ``stylize`` makes from the photo with 50 L-BFGS evaluations on
that same objective (Johnson et al. report that their networks match 50 to 100 iterations
of optimization). Also one forward pass at 512 px, the median of 5.

    python benchmarks/feedforward_quality.py RUN_FOLDER [--photos tubingen] [--size 128]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import gluon_style as gs
import mxnet as mx

from gluon_style import johnson, training
from gluon_style.checkpoints import read_checkpoint
from gluon_style.image import load_image, preprocess, resize


def network_loss(model, photo, size: int) -> tuple[float, tuple[int, int]]:
    """The network's training objective on one photo (a batch of one, no gradient)."""
    c = model.config
    image = load_image(photo, max_size=size)
    w, h = (d - d % model.method.crop_multiple for d in image.size)
    X = preprocess(resize(image, shape=(h, w)))
    loss = model.method.loss(c, model.parts, ctx=mx.cpu(), progress=False)
    return float(sum(t.asscalar() for t in loss(X, 0))), (h, w)


def optimization_loss(model, photo, shape, evaluations: int) -> float:
    """The same objective after ``evaluations`` L-BFGS evaluations from the photo."""
    c = model.config
    image = resize(load_image(photo), shape=shape)
    style_scale = c.style_size / max(shape)       # the painting at the run's style_size
    _, history = gs.stylize(image, c.styles[0], size=max(shape), steps=evaluations,
                            optimizer="lbfgs", init="content", pyramid=(),
                            content_layers=johnson.CONTENT_LAYERS,
                            style_layers=johnson.STYLE_LAYERS, content_weight=c.content_weight,
                            style_weight=c.style_weight, tv_weight=c.tv_weight,
                            style_scale=style_scale, progress=False)
    return min(h["total"] for h in history)


def forward_seconds(model, photo, size: int = 512) -> float:
    model.apply(photo, size=size)                     # builds the graph at this shape
    times = []
    for _ in range(5):
        tic = time.perf_counter()
        model.apply(photo, size=size)
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a training run's folder (checkpoint.json inside)")
    parser.add_argument("--photos", default="tubingen", help="comma-separated test photos")
    parser.add_argument("--size", type=int, help="longer side (default: the run's crop)")
    parser.add_argument("--evaluations", type=int, default=50)
    args = parser.parse_args()
    from step_time import cpu_name

    model = training.Model.load(args.run)
    if model.config.kind != "johnson":
        raise SystemExit(f"{args.run} is a {model.config.kind!r} run; this measures 'johnson'")
    size = args.size or model.config.crop
    trained = read_checkpoint(Path(args.run))["step"]
    print(f"{cpu_name()}; {args.run}: {model.config.styles[0]}, crop {model.config.crop}, "
          f"{trained} of {model.config.steps} steps trained")
    for photo in args.photos.split(","):
        net, shape = network_loss(model, photo, size)
        opt = optimization_loss(model, photo, shape, args.evaluations)
        verdict = "at or below" if net <= opt else f"{net / opt:.2f}x"
        print(f"{photo} {shape[1]}x{shape[0]}: network {net:.4g}, {args.evaluations} L-BFGS "
              f"evaluations {opt:.4g} ({verdict})")
    print(f"one forward pass at 512 px: {forward_seconds(model, args.photos.split(',')[0]):.3f} s")


if __name__ == "__main__":
    main()
