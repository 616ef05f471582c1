"""Is a trained Johnson network as good as optimization? Issue 20's first measure.

For each test photo, at ``--size`` px (the training crop size by default), the network's
output is scored by its own training objective (content at relu2_2 against the photo,
Gram matrices at relu1_2 ... relu4_3 against the painting at the run's ``style_size``, TV),
and so is the image that ``stylize`` makes from the same photo with 50 L-BFGS evaluations
on that objective (Johnson et al. report that their networks match 50 to 100 iterations of
optimization); both are scored as delivered, 8-bit pixels, by ``time_to_quality.Scorer``.
Issue 20 asks for L-BFGS from the photo; Johnson et al.'s baseline started from white noise
(``slow_neural_style.lua`` in their fast-neural-style code: ``torch.randn``), a weaker
reference, so that one is printed too. Also one forward pass at 512 px, the median of 5.

    python benchmarks/feedforward_quality.py RUN_FOLDER [--photos tubingen] [--size 128]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import gluon_style as gs

from gluon_style import johnson, pretrained, training
from gluon_style.checkpoints import read_checkpoint
from gluon_style.image import load_image, resize
from time_to_quality import Scorer


def compare(model, photo_name: str, *, size: int, evaluations: int,
            inits: tuple[str, ...] = ("content",)) -> tuple[list, dict, tuple]:
    """The network's and L-BFGS's delivered losses on one photo.

    Parameters
    ----------
    model : training.Model
        A trained Johnson network.
    photo_name : str
        A registered photo or image file, resized to ``size`` on its longer side.
    size, evaluations : int
        Longer side in px; L-BFGS evaluations.
    inits : tuple of str
        L-BFGS's starts, one run each: the photo ('content') and/or white noise ('noise').

    Returns
    -------
    (network's terms, {init: L-BFGS's terms}, (W, H)), terms as [content, style, tv].
    """
    image = load_image(photo_name, max_size=size)
    w, h = (d - d % model.method.crop_multiple for d in image.size)
    photo = resize(image, shape=(h, w))                    # the one copy both methods see
    style = model.config.styles[0]
    settings = johnson.objective(model.config, size=max(photo.size))
    score = Scorer(max(photo.size), content=photo, style=style, **settings)
    ours = score.terms(model.apply(photo, size=max(photo.size)))
    optimized = {}
    for init in inits:
        image, _ = gs.stylize(photo, style, size=max(photo.size), steps=evaluations,
                              optimizer="lbfgs", init=init, pyramid=(), progress=False,
                              **settings)
        optimized[init] = score.terms(image)
    return ours, optimized, (w, h)


def _terms(terms) -> str:
    return " + ".join(f"{t:.4g}" for t in terms)


def forward_seconds(model, photo, size: int = 512, repeats: int = 5) -> float:
    """Median seconds of one ``apply`` at ``size`` px over ``repeats``, after a warm-up."""
    options = pretrained.probe_options(model.config)[0]   # a style index or image if needed
    model.apply(photo, size=size, **options)           # builds the graph at this shape
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        model.apply(photo, size=size, **options)
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a training run's folder (checkpoint.json inside)")
    parser.add_argument("--photos", default="tubingen", help="comma-separated test photos")
    parser.add_argument("--size", type=int, help="longer side (default: the run's crop)")
    parser.add_argument("--evaluations", type=int, default=50)
    args = parser.parse_args()
    from gluon_style.runtime import cpu_name

    model = training.Model.load(args.run)
    if model.config.kind != "johnson" or model.config.loss_network != 19:
        raise SystemExit(f"{args.run}: this measures 'johnson' runs with the VGG-19 loss network "
                         f"(stylize's), not a {model.config.kind!r} run on VGG-{model.config.loss_network}")
    size = args.size or model.config.crop
    trained = read_checkpoint(Path(args.run))["step"]
    print(f"{cpu_name()}; {args.run}: {model.config.styles[0]}, crop {model.config.crop}, "
          f"{trained} of {model.config.steps} steps trained")
    for photo in args.photos.split(","):
        net_terms, optimized, (w, h) = compare(model, photo, size=size,
                                               evaluations=args.evaluations,
                                               inits=("content", "noise"))
        net = sum(net_terms)
        for init, opt_terms in optimized.items():
            opt = sum(opt_terms)
            verdict = "at or below" if net <= opt else f"{net / opt:.2f}x"
            start = "the photo" if init == "content" else "white noise"
            print(f"{photo} {w}x{h}: network {net:.4g}, {args.evaluations} L-BFGS evaluations "
                  f"from {start} {opt:.4g} ({verdict}; both as delivered 8-bit images); "
                  f"content + style + tv: network {_terms(net_terms)}, L-BFGS {_terms(opt_terms)}")
    print(f"one forward pass at 512 px: {forward_seconds(model, args.photos.split(',')[0]):.3f} s")


if __name__ == "__main__":
    main()
