"""Does an AdaIN decoder reconstruct the photo and follow paintings it never saw? Issue 20.

1. At alpha 0 the output should reconstruct the photo: PSNR against the photo at ``--size``
   px (the issue's floor is 18 dB at 256 px; the paper's decoder has no pixel loss).
2. With paintings never seen in training (``--unseen``): the style distance matrix
   (``gluon_style.quality``; row i: the output with painting i, column j: painting j), whose
   diagonal should be each row's minimum, and each output's distance to its painting
   against the photo's own distance to it (the target is at least 50% lower).

    python benchmarks/adain_quality.py RUN [--photos tubingen] [--size 256] [--unseen a,b,c]
"""
from __future__ import annotations

import argparse

import gluon_style as gs  # noqa: F401  (first: sets MXNet's threads)
from gluon_style import quality
from gluon_style.image import load_image

UNSEEN = ("klimt_the_kiss", "matisse_woman_with_a_hat", "monet_impression_sunrise")


def reconstruction_psnr(model, photo: str, size: int) -> float:
    out = model.apply(photo, size=size, style=model.config.styles[0], alpha=0.0)
    reference = load_image(photo, max_size=size).resize(out.shape[1::-1])
    return quality.psnr(out, reference)


def unseen_table(model, distance, photo: str, size: int, unseen) -> tuple:
    """(confusion matrix, the photo's own distance to each painting)."""
    outputs = [model.apply(photo, size=size, style=s) for s in unseen]
    own = [distance(load_image(photo, max_size=size), s) for s in unseen]
    return quality.confusion(distance, outputs, list(unseen)), own


def below_photo(matrix, own) -> list[float]:
    """Per painting, how much nearer its output is than the photo: 1 - D[i, i] / own[i]
    (the target is at least 0.5)."""
    return [1 - matrix[i][i] / own[i] for i in range(len(own))]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="an AdaIN training run's folder, or a shipped model's name")
    parser.add_argument("--photos", default="tubingen", help="comma-separated held-out photos")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--unseen", default=",".join(UNSEEN), help="comma-separated paintings")
    args = parser.parse_args(argv)
    from gluon_style import pretrained
    from gluon_style.runtime import cpu_name

    model = pretrained.open_model(args.run)
    if model.config.kind != "adain":
        raise SystemExit(f"{args.run}: not an AdaIN decoder")
    unseen = [s for s in args.unseen.split(",") if s]
    seen = set(unseen) & set(model.config.styles)
    if seen:
        raise SystemExit(f"{sorted(seen)} were seen in training; choose paintings it never saw")
    distance = quality.StyleDistance(style_size=model.config.style_size)
    print(f"{cpu_name()}; {args.run}: trained on {', '.join(model.config.styles)}; size {args.size}")
    for photo in args.photos.split(","):
        print(f"\n{photo}: PSNR at alpha 0 {reconstruction_psnr(model, photo, args.size):.2f} dB "
              "(floor 18 dB)")
        D, own = unseen_table(model, distance, photo, args.size, unseen)
        ok, margins = quality.diagonal_is_row_minimum(D), below_photo(D, own)
        for i, (name, row, good, base) in enumerate(zip(unseen, D, ok, own)):
            print(f"  {name:<28}" + " ".join(f"{v:10.4g}" for v in row)
                  + f"   own {row[i]:.4g} vs photo {base:.4g} ({margins[i]:+.0%} lower)"
                  + ("" if good else "  <- not min"))
        print(f"  diagonal is the row minimum in {sum(ok)} of {len(ok)} rows")


if __name__ == "__main__":
    main()
