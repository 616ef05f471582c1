"""Command line: ``python -m gluon_style {stylize,train-feedforward,apply,list-images,fetch}``.

The ``stylize`` options are generated from ``gluon_style.stylize``'s signature
(names, types, defaults) and its docstring (help), so they cannot drift apart.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys

from . import data, gatys, johnson, training, weights
from .color import COLOR_MODES
from .experiments import write_result
from .losses import STYLE_REPRESENTATIONS
from .optimizers import OPTIMIZERS
from .vgg import POOLINGS

CHOICES = {"init": gatys.INITS, "optimizer": OPTIMIZERS, "pooling": POOLINGS,
           "vgg_weights": ("auto", "caffe", "gluon"), "style_representation": STYLE_REPRESENTATIONS,
           "color": COLOR_MODES}


def _param_help(func) -> dict[str, str]:
    """``name -> description`` from a numpy-style 'Parameters' section."""
    doc = inspect.getdoc(func) or ""
    section = doc.split("Parameters\n----------\n", 1)[-1].split("\n\n", 1)[0]
    helps, names = {}, []
    for line in section.splitlines():
        m = re.match(r"^(\w[\w, ]*) : ", line)
        if m:
            names = [n.strip() for n in m[1].split(",")]
        elif names and line.startswith("    "):
            for n in names:
                helps[n] = (helps.get(n, "") + " " + line.strip()).strip()
    return helps


def _list_of(kind):
    def parse(text: str):
        items = [s.strip() for s in text.split(",") if s.strip()]
        return tuple(kind(s) for s in items)
    parse.__name__ = f"comma-separated {kind.__name__}s"
    return parse


def _add_settings(parser: argparse.ArgumentParser, func=None, *, choices=None) -> None:
    """One option per keyword-only parameter of ``func`` (default: ``stylize``)."""
    func = func or gatys.stylize
    choices = CHOICES if choices is None else choices
    helps = _param_help(func)
    for p in inspect.signature(func).parameters.values():
        if p.kind is not p.KEYWORD_ONLY or p.name in ("callback", "progress"):
            continue
        flag, ann = "--" + p.name.replace("_", "-"), str(p.annotation)
        shown = ",".join(map(str, p.default)) if isinstance(p.default, tuple) else "%(default)s"
        kwargs = dict(default=p.default, help=f"{helps.get(p.name, '')} (default: {shown})")
        if ann == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif ann == "str | tuple[str, ...]":   # a folder, one image, or several (commas)
            kwargs.update(type=lambda t: tuple(x for x in t.split(",") if x) if "," in t else t,
                          metavar="FOLDER|A,B,...")
        elif ann.startswith("tuple[str"):
            kwargs.update(type=_list_of(str), metavar="A,B,...")
        elif ann.startswith("tuple[float"):
            kwargs.update(type=_list_of(float), metavar="W1,W2,...")
        elif ann == "tuple[int, ...] | str":   # sizes, or a word such as 'auto'
            kwargs.update(type=lambda t: t if t.isalpha() else _list_of(int)(t),
                          metavar="auto|N1,N2,...")
        elif ann.startswith("tuple[int"):
            kwargs.update(type=_list_of(int), metavar="N1,N2,...")
        else:
            kwargs["type"] = {"int": int, "float": float}.get(ann, str)
        if p.name in choices:
            kwargs["choices"] = choices[p.name]
        parser.add_argument(flag, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gluon_style",
                                     description="Neural style transfer on MXNet/Gluon.")
    sub = parser.add_subparsers(dest="command", required=True)

    st = sub.add_parser("stylize", help="render a content image in the style of a painting")
    st.add_argument("content", nargs="?", default=data.DEFAULT_CONTENT,
                    help="content image: a file or a registered name (default: %(default)s)")
    st.add_argument("style", nargs="?", default=data.DEFAULT_STYLE,
                    help="style image: a file or a registered name, or several separated by "
                         "commas (for --style-blend or --masks) (default: %(default)s)")
    st.add_argument("-o", "--output", required=True,
                    help="output image (.jpg or .png); settings and loss history go to the .json beside it")
    st.add_argument("--quiet", action="store_true", help="no progress bar")
    st.add_argument("--overwrite-input", action="store_true",
                    help="allow the output to replace one of the input images")
    _add_settings(st)

    ls = sub.add_parser("list-images", help="list the registered image names")
    ls.add_argument("--role", choices=("content", "style"))

    tr = sub.add_parser("train-feedforward",
                        help="train a feed-forward network (Johnson, CIN or AdaIN); resumes in --out-dir")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_settings(tr, training.train, choices={"kind": tuple(training.METHODS),
                                               "norm": ("instance", "batch"),
                                               "upsample": johnson.UPSAMPLINGS,
                                               "loss_network": (16, 19)})

    ap = sub.add_parser("apply", help="stylize an image with a trained feed-forward network")
    ap.add_argument("model", help="the folder a train-feedforward run wrote")
    ap.add_argument("content", help="content image: a file or a registered name")
    ap.add_argument("-o", "--output", required=True, help="output image (.jpg or .png)")
    ap.add_argument("--size", type=int, default=512, help="longer side in pixels (default: %(default)s)")
    ap.add_argument("--style", help="style image, for an AdaIN model")
    ap.add_argument("--alpha", type=float, default=1.0,
                    help="AdaIN content/style trade-off, 0..1 (default: %(default)s)")
    ap.add_argument("--style-index", type=int, help="which trained style, for a CIN model")
    ap.add_argument("--mix", type=_list_of(float), metavar="W1,W2,...",
                    help="weights over the trained styles, for a CIN model")
    ap.add_argument("--ctx", default="cpu", help="'cpu', 'gpu' or 'gpu:N' (default: %(default)s)")
    ap.add_argument("--overwrite-input", action="store_true",
                    help="allow the output to replace the content or style image")

    sub.add_parser("fetch", help="get and convert the VGG-19 weights now (stylize does it on "
                                 "first use) and check every registered image")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list-images":
            for name in data.names(args.role):
                print(f"{name:<34} {data.describe(name)}")
        elif args.command == "fetch":
            print(f"VGG-19 weights: {weights.caffe_vgg19_file()}")
            for path in data.fetch_all():
                print(f"image: {path}")
        elif args.command == "train-feedforward":
            return _train(args)
        elif args.command == "apply":
            return _apply(args)
        else:
            return _stylize(args)
    except (ValueError, KeyError, RuntimeError, OSError, MemoryError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted before any result; nothing was written", file=sys.stderr)
        return 130
    return 0


def _stylize(args) -> int:
    from .image import check_output

    names = [f.name for f in dataclasses.fields(gatys.StyleConfig)]
    if "," in args.style:
        args.style = tuple(s.strip() for s in args.style.split(",") if s.strip())
    config = gatys.StyleConfig(**{n: getattr(args, n) for n in names})
    styles = args.style if isinstance(args.style, tuple) else (args.style,)
    inputs = () if args.overwrite_input else (
        args.content, *styles, *(f for f in (args.fine_style, *args.masks) if f))
    check_output(args.output, inputs=inputs)  # before any work
    image, history = config.run(progress=not args.quiet)
    sidecar = write_result(args.output, image, config, history)
    last = history[-1]
    print(f"wrote {args.output} and {sidecar} ({last['step']} steps, {last['seconds']:.0f} s, "
          f"final loss {last['total']:.4g})")
    return 0


def _train(args) -> int:
    names = [f.name for f in dataclasses.fields(training.TrainConfig)]
    settings = {n: getattr(args, n) for n in names}
    _, history = training.train(**settings, progress=not args.quiet)
    if history:
        last = history[-1]
        print(f"trained to step {last['step'] + 1} in {args.out_dir} ({last['seconds']:.0f} s, "
              f"final loss {last['total']:.4g})")
    return 0


def _apply(args) -> int:
    from .image import check_output, save_image

    inputs = () if args.overwrite_input else (args.content, args.style)
    check_output(args.output, inputs=inputs, sidecar=False)  # before any work
    model = training.Model.load(args.model, ctx=args.ctx)
    image = model.apply(args.content, size=args.size, style=args.style, style_index=args.style_index,
                        mix=args.mix, alpha=args.alpha)
    save_image(image, args.output)
    print(f"wrote {args.output}")
    return 0
