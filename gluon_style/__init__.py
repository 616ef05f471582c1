"""gluon_style: neural style transfer on MXNet/Gluon.

    import gluon_style as gs
    gs.seed(0)
    image, history = gs.stylize("tubingen", "vangogh_starry_night", size=384)
"""
import os
import signal
import sys

from .runtime import STOPPED_BEFORE_A_RESULT, default_threads as _default_threads


def _run_as_command() -> bool:
    """True in ``python -m gluon_style ...`` and the ``gluon-style`` script."""
    argv = getattr(sys, "orig_argv", [])
    as_module = any(a == "-m" and b == "gluon_style" for a, b in zip(argv, argv[1:]))
    return as_module or (len(argv) > 1 and os.path.basename(argv[1]) == "gluon-style")


def _stop_before_a_result(signum, frame):
    """A command's Ctrl-C during start-up: one line and exit 130. A KeyboardInterrupt would
    surface wherever the press lands, once inside a library's import that printed it."""
    print(STOPPED_BEFORE_A_RESULT, file=sys.stderr, flush=True)
    os._exit(130)  # nothing is open yet, so nothing needs closing


# Importing MXNet takes a second or two, in which a command's Ctrl-C can land; cli.main puts
# Python's own handler back. A SIGINT that is ignored (a background job) stays ignored.
if _run_as_command() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _stop_before_a_result)

_default_threads()  # before mxnet is imported anywhere below

from .runtime import seed, get_ctx  # noqa: E402
from .image import load_image, preprocess, postprocess, save_image, resize  # noqa: E402
from .vgg import vgg_features, vgg19_features, vgg16_features, layer_names  # noqa: E402
from .losses import content_loss, gram, gram_loss, tv_loss  # noqa: E402
from .gatys import stylize, StyleConfig  # noqa: E402
from . import johnson, adain  # noqa: E402,F401  (register their training methods)
from . import presets  # noqa: E402,F401  (the notebooks' settings)

__version__ = "0.1.0"
__all__ = [
    "seed", "get_ctx", "load_image", "preprocess", "postprocess", "save_image", "resize",
    "vgg_features", "vgg19_features", "vgg16_features", "layer_names",
    "content_loss", "gram", "gram_loss", "tv_loss", "stylize", "StyleConfig",
]
