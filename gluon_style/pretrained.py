"""Pretrained feed-forward networks shipped with the package, by name.

Each model is one half-precision ``<name>.params`` file (the network only, no optimizer
state) beside ``MANIFEST.json``, which records per name: the method, the paintings, the
training settings and steps, the measured quality, and the file's sha256. Loading checks
the checksum first, so a damaged or truncated file gives a clear error, not a wrong image.
``export`` turns a finished training run into such a model.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import mxnet as mx
import numpy as np

from .checkpoints import load_params, read_checkpoint
from .files import sha256, write_json

FOLDER = Path(__file__).parent / "pretrained"


def folder() -> Path:
    """Where the shipped models are (``$GLUON_STYLE_MODELS`` overrides, e.g. in tests)."""
    return Path(os.environ.get("GLUON_STYLE_MODELS", FOLDER))


def manifest() -> dict:
    """``{name: entry}`` of the shipped models (empty if there are none)."""
    path = folder() / "MANIFEST.json"
    return json.loads(path.read_text()) if path.exists() else {}


def entry(name: str) -> dict:
    """The manifest entry of model ``name``; ValueError naming the models there are."""
    found = manifest()
    if name not in found:
        raise ValueError(f"no pretrained model {name!r}; options are {sorted(found)} "
                         "(or give the folder of a train-feedforward run)")
    return found[name]


def params_file(name: str) -> Path:
    """The checked parameter file of model ``name``: ValueError if missing or damaged."""
    info = entry(name)
    path = folder() / info["file"]
    if not path.exists():
        raise ValueError(f"pretrained model {name!r}: {path} is missing; reinstall gluon_style")
    if sha256(path) != info["sha256"]:
        raise ValueError(f"pretrained model {name!r}: {path} is damaged (its sha256 is not the "
                         "manifest's); reinstall gluon_style")
    return path


NAME = re.compile(r"[a-z0-9][a-z0-9_]*")
LOCAL_SETTINGS = ("out_dir", "init_from")   # paths on the machine that trained it


def export(run_folder: str | Path, *, name: str, quality: dict, photo: str = "tubingen",
           size: int = 256, params: str | Path | None = None, steps: int | None = None
           ) -> dict:
    """Ship the network trained in ``run_folder`` as model ``name`` in half precision.

    ``params``, if given, is a float32 parameter file of that network to ship instead of the
    checkpoint's (e.g. the mean of the run's last snapshots; ``quality`` should say so),
    trained for ``steps`` (default: the checkpoint's). Training photos given as paths are
    recorded by file name only, as ``out_dir`` and ``init_from`` are left out: they are
    paths on the machine that trained it.
    The fp16 copy's outputs on ``photo`` at ``size`` px are compared with the fp32
    network's, for each of ``probe_options`` (every style index of a CIN network), and the
    largest difference (in 8-bit levels) and those options are recorded with ``quality``
    (the measured numbers) in the manifest. The file is moved into place only with its manifest entry.
    Returns the entry.
    """
    from .training import Model

    if not NAME.fullmatch(name):
        raise ValueError(f"invalid model name {name!r}: lower-case letters, digits and _")
    run_folder = Path(run_folder)
    model = Model.load(run_folder)
    if params is not None:
        load_into(model, Path(params))
    saved = json.loads((run_folder / "checkpoint.json").read_text())
    target = folder() / f"{name}.params"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        full, half = Path(tmp) / "full.params", Path(tmp) / "half.params"
        model.net.save_parameters(str(full))   # public API only: save, load, cast, save
        arrays = {k: v.astype("float16") for k, v in mx.nd.load(str(full)).items()}
        if not all(np.isfinite(v.asnumpy()).all() for v in arrays.values()):
            raise ValueError(f"{run_folder}: parameters beyond float16's range; keep float32")
        mx.nd.save(str(half), arrays)
        diff = _fp16_difference(model, half, photo=photo, size=size)
        info = {"method": model.config.kind, "paintings": list(model.config.styles),
                "file": target.name, "sha256": sha256(half), "dtype": "float16",
                "arch": model.arch, "steps": saved["step"] if steps is None else steps,
                "quality": quality, "settings": _portable(saved["settings"]),
                "fp16_max_level_difference": {"photo": photo, "size": size, **diff}}
        os.replace(half, target)
    write_json(folder() / "MANIFEST.json", {**manifest(), name: info})
    return info


def _portable(settings: dict) -> dict:
    """Training settings without the trainer's local paths (see ``export``)."""
    def name(path):
        return Path(path).name if os.path.isabs(path) else path

    out = {k: v for k, v in settings.items() if k not in LOCAL_SETTINGS}
    content = out.get("content")
    if content is not None:   # one folder or photo, or a list of them
        out["content"] = name(content) if isinstance(content, str) else list(map(name, content))
    return out


def probe_options(config) -> list[dict]:
    """The ``apply`` options that exercise the whole network, for checks and timings: one
    per style index for CIN (each has its own scales and shifts), the first training
    painting as the style for AdaIN (it needs one), none for Johnson."""
    if config.kind == "cin":
        return [{"style_index": i} for i in range(len(config.styles))]
    return [{"style": config.styles[0]}] if config.kind == "adain" else [{}]


def _fp16_difference(model, half: Path, *, photo: str, size: int) -> dict:
    """The largest difference in 8-bit levels between the network's images and those of its
    half-precision copy ``half`` (loaded into ``model``), over every ``probe_options``."""
    options = probe_options(model.config)
    full_images = [model.apply(photo, size=size, **o) for o in options]
    load_into(model, half)
    levels = max(int(np.abs(a.astype(int) - model.apply(photo, size=size, **o).astype(int)).max())
                 for a, o in zip(full_images, options))
    return {"levels": levels, "options": options}


def load_into(model, path: Path) -> None:
    """Load parameters (fp16 or fp32) from ``path`` into ``model``'s (fp32) network."""
    load_params(path, model.net, model.net.collect_params().list_ctx()[0])


def load(name: str, *, ctx: str = "cpu"):
    """The shipped model ``name``, ready to ``apply`` (checksum verified first)."""
    from . import runtime
    from .training import Model, config_from_json

    info, path = entry(name), params_file(name)
    model = Model.build(config_from_json(info["settings"]), ctx=runtime.get_ctx(ctx))
    if info.get("arch") != model.arch:
        raise ValueError(f"pretrained model {name!r} is a {info.get('arch')} network, but "
                         f"this gluon_style builds {model.arch} from its settings; reinstall")
    load_into(model, path)
    model.net.hybridize(static_alloc=True)
    return model


def is_name(ref: str | Path) -> bool:
    """True if ``ref`` names a shipped model, False if it is a run's folder (one holding a
    checkpoint wins over a name); neither: ValueError naming the models there are."""
    if (Path(ref) / "checkpoint.json").exists():
        return False
    if str(ref) in manifest():
        return True
    if Path(ref).exists():
        return False   # a folder without a checkpoint: loading it says so
    entry(str(ref))
    return True


def network_source(ref: str | Path) -> tuple[dict | None, Path]:
    """(architecture, parameter file) of a shipped model's name (checksum verified) or of the
    run in folder ``ref``: what ``train(init_from=ref)`` starts from."""
    if is_name(ref):
        return entry(str(ref)).get("arch"), params_file(str(ref))
    return read_checkpoint(Path(ref)).get("arch"), Path(ref) / "checkpoint.params"


def settings(ref: str | Path):
    """The training settings of a shipped model or of the run in folder ``ref`` (nothing
    built, checksum verified): for checking options before any work."""
    from .training import Model, config_from_json

    if not is_name(ref):
        return Model.settings(ref)
    params_file(ref)
    return config_from_json(entry(ref)["settings"])


def open_model(ref: str | Path, *, ctx: str = "cpu"):
    """A shipped model by name, or the network trained in folder ``ref``."""
    from .training import Model

    return load(str(ref), ctx=ctx) if is_name(ref) else Model.load(ref, ctx=ctx)
