"""Command line: ``python -m gluon_style {stylize,train-feedforward,apply,models,list-images,fetch}``.

The ``stylize`` options are generated from ``gluon_style.stylize``'s signature
(names, types, defaults) and its docstring (help), so they cannot drift apart.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import re
import signal
import sys
import threading
from pathlib import Path

from . import data, gatys, johnson, pretrained, runtime, training, weights
from .color import COLOR_MODES
from .experiments import write_result
from .losses import STYLE_REPRESENTATIONS
from .optimizers import OPTIMIZERS
from .vgg import POOLINGS

CHOICES = {"optimizer": OPTIMIZERS, "pooling": POOLINGS,
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


def _for_the_command_line(text: str, names) -> str:
    """A docstring sentence as command-line help: flags for parameter names, no markup."""
    text = text.replace("``", "")
    for name in sorted((n for n in names if "_" in n), key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){name}(?![\w-])", "--" + name.replace("_", "-"), text)
    return text.replace("%", "%%")


def _shown_default(p) -> str:
    """The default as one would type it: a,b for tuples, the flag for booleans, 'none'."""
    if isinstance(p.default, bool):
        return "--" + ("" if p.default else "no-") + p.name.replace("_", "-")
    if p.default is None or p.default == ():
        return "none"
    if isinstance(p.default, tuple):
        return ",".join(map(str, p.default))
    return str(p.default)


def _add_settings(parser: argparse.ArgumentParser, func=None, *, choices=None) -> None:
    """One option per keyword-only parameter of ``func`` (default: ``stylize``)."""
    func = func or gatys.stylize
    choices = CHOICES if choices is None else choices
    helps = _param_help(func)
    params = [p for p in inspect.signature(func).parameters.values()
              if p.kind is p.KEYWORD_ONLY and p.name not in ("callback", "progress")]
    for p in params:
        flag, ann = "--" + p.name.replace("_", "-"), str(p.annotation)
        text = _for_the_command_line(helps.get(p.name, ""), [q.name for q in params])
        kwargs = dict(default=p.default, help=f"{text} (default: {_shown_default(p)})")
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


class _Parser(argparse.ArgumentParser):
    """Usage mistakes as one ``error: ...`` line and exit code 2, like every other error."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m gluon_style",
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
    st.add_argument("--print-every", type=int, default=0, metavar="N",
                    help="print the loss terms every N steps (default: never)")
    st.add_argument("--save-every", type=int, default=0, metavar="N",
                    help="save the image every N steps, as OUTPUT_00050.png (with OUTPUT's "
                         "extension) and so on (default: never)")
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
    ap.add_argument("model", help="a shipped model's name (see 'models') or the folder a "
                                  "train-feedforward run wrote")
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

    sub.add_parser("models", help="list the pretrained feed-forward models shipped with the package")
    sub.add_parser("fetch", help="get and convert the VGG-19 weights now (stylize does it on "
                                 "first use) and check every registered image")
    return parser


def main(argv=None) -> int:
    _python_ctrl_c()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:   # --help, or a usage error (already printed as one line)
        return e.code
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
        elif args.command == "models":
            return _models()
        else:
            return _stylize(args)
    except (ValueError, KeyError, RuntimeError, OSError, MemoryError, ArithmeticError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(runtime.STOPPED_BEFORE_A_RESULT, file=sys.stderr)
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
        args.content, *styles, *(f for f in (args.fine_style, args.init, *args.masks) if f))
    check_output(args.output, inputs=inputs)  # before any work
    if args.save_every:
        check_output(_snapshot(args.output, args.save_every), inputs=inputs, sidecar=False)
    with gatys.interruptions() as stops, _ctrl_c_between_steps(_reporter(args)) as callback:
        image, history = config.run(progress=not args.quiet, callback=callback)
    extra = {"interrupted": stops[0].saved} if stops else {}
    sidecar = write_result(args.output, image, config, history, **extra)
    if stops:   # (possibly before the first record: history may be empty)
        print(f"{stops[0]}; wrote {args.output} and {sidecar}")
    else:
        last = history[-1]
        print(f"wrote {args.output} and {sidecar} ({last['step']} steps, "
              f"{last['seconds']:.0f} s, final loss {last['total']:.4g})")
    return 0


def _reporter(args):
    """The CLI's callback: a loss line every --print-every steps, a snapshot every
    --save-every steps (OUTPUT's name with the step number)."""
    from .image import postprocess, save_image

    if args.print_every < 0 or args.save_every < 0:
        raise ValueError("--print-every and --save-every take a number of steps >= 0")
    if not (args.print_every or args.save_every):
        return None
    seen = set()   # a level's last record and the next level's first share a step number

    def report(rec, X):
        step = rec["step"]
        if step in seen:
            return
        seen.add(step)
        if args.print_every and step % args.print_every == 0:
            print(f"step {step} ({rec['size']} px): total {rec['total']:.4g}, content "
                  f"{rec['content']:.3g}, style {rec['style']:.3g}, tv {rec['tv']:.3g}, "
                  f"{rec['seconds']:.0f} s", file=sys.stderr)
        if args.save_every and step and step % args.save_every == 0:
            save_image(postprocess(X), _snapshot(args.output, step))
    return report


def _python_ctrl_c() -> None:
    """Start-up is over: Ctrl-C raises KeyboardInterrupt again (gluon_style/__init__.py)."""
    import gluon_style

    if signal.getsignal(signal.SIGINT) is gluon_style._stop_before_a_result:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextlib.contextmanager
def _ctrl_c_between_steps(report):
    """Yield the run's callback, with Ctrl-C deferred to it once records flow: a press sets a
    flag and the next record raises KeyboardInterrupt from the callback, where the optimizer
    catches it. Raised where the signal lands, it can be lost: Python prints and drops an
    exception raised inside a finalizer (MXNet frees NDArrays in ``__del__``). Before the
    first record (loading, mixing a fine_style) a press raises at once, and so does a second
    press; one after the last record is not acted on (the result is complete)."""
    started = pressed = False

    def on_press(signum, frame):
        nonlocal pressed
        if not started:
            signal.default_int_handler(signum, frame)
        pressed = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def callback(rec, X):
        nonlocal started
        started = True
        if pressed:
            raise KeyboardInterrupt
        return None if report is None else report(rec, X)

    defer = (threading.current_thread() is threading.main_thread()
             and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if defer:
        signal.signal(signal.SIGINT, on_press)
    try:
        yield callback
    finally:
        if defer:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _snapshot(output, step: int) -> Path:
    """OUTPUT's name with the step number: out.png -> out_00050.png."""
    out = Path(output)
    return out.with_name(f"{out.stem}_{step:05d}{out.suffix}")


def _train(args) -> int:
    names = [f.name for f in dataclasses.fields(training.TrainConfig)]
    settings = {n: getattr(args, n) for n in names}
    _, history = training.train(**settings, progress=not args.quiet)
    if history:
        last = history[-1]
        print(f"trained to step {last['step'] + 1} in {args.out_dir} ({last['seconds']:.0f} s, "
              f"final loss {last['total']:.4g})")
    return 0


def _models() -> int:
    found = pretrained.manifest()
    if not found:
        print("no pretrained models are shipped in this version")
    for name, info in found.items():
        print(f"{name:<28} {info['method']:<8} {', '.join(info['paintings'])}; "
              f"{info['steps']} steps; {info['quality'].get('summary', '')}")
    return 0


def _apply(args) -> int:
    from .image import check_output, save_image

    inputs = () if args.overwrite_input else (args.content, args.style)
    check_output(args.output, inputs=inputs, sidecar=False)  # before any work
    config = pretrained.settings(args.model)   # a shipped model's checksum is checked here
    training.method(config.kind).check_options(config, style=args.style, mix=args.mix,
                                               style_index=args.style_index, alpha=args.alpha)
    model = pretrained.open_model(args.model, ctx=args.ctx)
    image = model.apply(args.content, size=args.size, style=args.style, style_index=args.style_index,
                        mix=args.mix, alpha=args.alpha)
    save_image(image, args.output)
    print(f"wrote {args.output}")
    return 0
