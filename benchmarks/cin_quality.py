"""Does one conditional-instance-norm network hold its styles apart? Issue 20's CIN measures.

For each test photo (held out from training), at ``--size`` px:
1. a confusion matrix of style distances (``gluon_style.quality``: the Gram loss at
   relu1_2 ... relu4_3): row i is the output with style index i, column j painting j; each
   row's diagonal should be its minimum;
2. for paintings that also have a single-style Johnson network (``--johnson LABEL=RUN``, RUN
   a folder or a shipped model's name), the CIN network's total loss against that
   network's, both on the Johnson network's training objective (Dumoulin et al.: one
   conditional network matches the single-style ones; the target is within 1.5x);
3. an interpolation strip between styles 0 and 1: the distance to painting 1 should fall
   and the distance to painting 0 rise along it.

    python benchmarks/cin_quality.py RUN [--photos tubingen] [--size 256] [--johnson starry=RUN2]
"""
from __future__ import annotations

import argparse

import numpy as np

import gluon_style as gs  # noqa: F401  (first: sets MXNet's threads)
from gluon_style import johnson, quality
from gluon_style.image import load_image


def confusion_for(model, distance, photo: str, size: int) -> np.ndarray:
    outputs = [model.apply(photo, size=size, style_index=i) for i in range(len(model.config.styles))]
    return quality.confusion(distance, outputs, list(model.config.styles))


def strip_for(model, distance, photo: str, size: int, points: int = 5) -> list[tuple]:
    """(t, distance to painting 0, distance to painting 1) along the mix (1 - t, t)."""
    styles, rows = model.config.styles, []
    for t in np.linspace(0.0, 1.0, points):
        mix = tuple([1.0 - t, t] + [0.0] * (len(styles) - 2))
        out = model.apply(photo, size=size, mix=mix)
        rows.append((float(t), distance(out, styles[0]), distance(out, styles[1])))
    return rows


def total_losses(cin, johnson_model, photo: str, size: int) -> tuple[float, float]:
    """The CIN output's and the Johnson network's loss on the Johnson network's objective."""
    from time_to_quality import Scorer

    image = load_image(photo, max_size=size)
    w, h = (d - d % johnson_model.method.crop_multiple for d in image.size)
    photo_img = image.resize((w, h))
    painting = johnson_model.config.styles[0]
    score = Scorer(max(w, h), content=photo_img, style=painting,
                   **johnson.objective(johnson_model.config, size=max(w, h)))
    if painting not in cin.config.styles:
        raise SystemExit(f"the Johnson network's painting {painting!r} is not one of the CIN "
                         f"network's {list(cin.config.styles)}")
    index = list(cin.config.styles).index(painting)
    return (score(cin.apply(photo_img, size=max(w, h), style_index=index)),
            score(johnson_model.apply(photo_img, size=max(w, h))))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a CIN training run's folder, or a shipped model's name")
    parser.add_argument("--photos", default="tubingen", help="comma-separated held-out photos")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--johnson", action="append", default=[], metavar="NAME=RUN",
                        help="a single-style Johnson network to compare with (repeatable)")
    args = parser.parse_args(argv)
    from gluon_style import pretrained
    from gluon_style.runtime import cpu_name

    model = pretrained.open_model(args.run)
    if model.config.kind != "cin" or len(model.config.styles) < 2:
        raise SystemExit(f"{args.run}: not a CIN network of two or more styles")
    distance, styles = quality.StyleDistance(style_size=model.config.style_size), model.config.styles
    print(f"{cpu_name()}; {args.run}: {len(styles)} styles {', '.join(styles)}; size {args.size}")
    for photo in args.photos.split(","):
        D = confusion_for(model, distance, photo, args.size)
        ok = quality.diagonal_is_row_minimum(D)
        print(f"\n{photo}: style distances (rows: style index, columns: painting)")
        for name, row, good in zip(styles, D, ok):
            print(f"  {name:<28}" + " ".join(f"{v:10.4g}" for v in row) + ("" if good else "  <- not min"))
        print(f"  diagonal is the row minimum in {sum(ok)} of {len(ok)} rows")
        strip = strip_for(model, distance, photo, args.size)
        to0, to1 = [r[1] for r in strip], [r[2] for r in strip]
        monotone = all(np.diff(to0) >= 0) and all(np.diff(to1) <= 0)
        print("  strip t: " + ", ".join(f"{t:.2f} ({a:.3g}, {b:.3g})" for t, a, b in strip)
              + f"; monotone: {monotone}")
        for item in args.johnson:
            name, run = item.split("=", 1)
            ours, theirs = total_losses(model, pretrained.open_model(run), photo, args.size)
            print(f"  {name}: CIN total loss {ours:.4g}, Johnson network {theirs:.4g} "
                  f"({ours / theirs:.2f}x; target at most 1.5x)")


if __name__ == "__main__":
    main()
