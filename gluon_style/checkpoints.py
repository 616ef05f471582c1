"""A training run's checkpoint: ``checkpoint.params`` (network), ``checkpoint.states`` (Adam's
moments), ``checkpoint.json`` (method, architecture, settings, step, loss history), each
written atomically, the JSON (which names the others) last."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import mxnet as mx

from .files import atomic_path, write_json

def save(folder: Path, config, arch: dict, net, trainer, step: int, history: list) -> None:
    """Write the checkpoint atomically: params and states first, the JSON (which names them) last."""
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "checkpoint.params") as tmp:
        net.save_parameters(str(tmp))
    with atomic_path(folder / "checkpoint.states") as tmp:
        trainer.save_states(str(tmp))
    write_json(folder / "checkpoint.json", {"method": config.kind,
                                            "arch": arch,
                                            "settings": dataclasses.asdict(config),
                                            "step": step, "history": history})


# settings a resumed run may change: how long it runs, how often it saves, where it runs
RESUMABLE_CHANGES = ("steps", "checkpoint_every", "out_dir", "ctx")


def check_resumable(folder: Path, saved: dict, config) -> None:
    """Refuse to resume a run under other settings: the result would be neither run."""
    now = json.loads(json.dumps(dataclasses.asdict(config), default=str))
    # a setting added after the run was saved reads as its default, which is how that run
    # behaved (a new option's default keeps the old behaviour)
    defaults = json.loads(json.dumps({f.name: f.default for f in dataclasses.fields(config)},
                                     default=str))
    changed = sorted(k for k, v in now.items() if k not in RESUMABLE_CHANGES
                     and saved["settings"].get(k, defaults[k]) != v)
    if changed:
        raise ValueError(f"{folder} holds a run with other settings ({', '.join(changed)}); "
                         "resume it with its own settings, or start a new run in another "
                         "folder (init_from= starts from its network)")


def read_checkpoint(folder: Path) -> dict:
    """The JSON of the checkpoint in ``folder`` (method, arch, settings, step, history)."""
    if not (folder / "checkpoint.json").exists():
        raise FileNotFoundError(f"{folder}: no checkpoint.json; train a model there first")
    try:
        saved = json.loads((folder / "checkpoint.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{folder / 'checkpoint.json'}: damaged (not the JSON a training run "
                         "writes); train again in another folder") from None
    if not isinstance(saved, dict) or "settings" not in saved:
        raise ValueError(f"{folder / 'checkpoint.json'}: not a training checkpoint")
    if "method" not in saved:
        raise ValueError(f"{folder}: a checkpoint of an older gluon_style (before checkpoints "
                         "named their method); train it again")
    return saved


def load_network(folder: Path, arch: dict, net, ctx, *, trainer=None) -> dict:
    """Load the network (and, given ``trainer``, Adam's state) of the checkpoint in ``folder``;
    returns its JSON."""
    saved = read_checkpoint(folder)
    if saved.get("arch") != arch:
        raise ValueError(f"{folder} holds a checkpoint of another network ({saved.get('arch')}), "
                         f"not {arch}; choose another folder or delete that one")
    try:
        net.load_parameters(str(folder / "checkpoint.params"), ctx=ctx)
        if trainer is not None:
            trainer.load_states(str(folder / "checkpoint.states"))
    except (mx.base.MXNetError, AssertionError, OSError) as e:
        raise ValueError(f"{folder}: cannot load the checkpoint ({e})") from None
    return saved


def load_params(path: Path, net, ctx, *, allow_missing: bool = False) -> None:
    """Load a parameter file, float32 or float16 (a shipped model), into ``net``'s float32
    parameters; ``ValueError`` if it does not fit."""
    try:
        net.load_parameters(str(path), ctx=ctx, allow_missing=allow_missing, cast_dtype=True,
                            dtype_source="current")
    except (mx.base.MXNetError, AssertionError, OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot load these parameters ({e})") from None
