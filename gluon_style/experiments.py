"""Sweeps of stylize settings, cached on disk (``figures`` lays them out).

A run is keyed by what determines its pixels: its settings (a ``StyleConfig``), the
checksums of its input images (content, styles, ``fine_style``, mask files), of the network
weights, and of the code it executes (the abstract syntax of the package modules ``gatys``
imports, docstrings left out). So re-running a notebook after changing one cell recomputes
only what changed, and editing a comment, a docstring, the CLI or a notebook invalidates
nothing. Sweeps run serially, or on any ``concurrent.futures.Executor`` (a process pool, or
a cluster engine's executor).
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import math
import sys
import time
import warnings
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
from PIL import Image

from . import data
from .files import atomic_path, cache_dir, sha256, write_json
from .gatys import GATYS_STYLE_LAYERS, StyleConfig, gatys_weights, interruptions
from .levels import INITS
from .image import load_image, save_image
from .runtime import default_threads
from .settings import versions


@dataclasses.dataclass(frozen=True)
class Result:
    """One finished run: the image, its loss history and how long it took."""
    config: StyleConfig
    image: np.ndarray
    history: list
    seconds: float
    key: str
    cached: bool

    @property
    def final(self) -> dict:
        """The record of the image the run delivered. L-BFGS delivers its lowest-loss
        evaluation at the full size (its history also holds the rejected trials of its line
        searches); the other optimizers, when they finish, their last image."""
        if self.config.optimizer != "lbfgs":
            return self.history[-1]
        full = [h for h in self.history if h["size"] == self.history[-1]["size"]]
        return min(full, key=lambda h: h["total"])


def image_checksum(ref) -> str:
    """A stable identity for an input image: manifest sha256, bundled name, file or pixels."""
    if ref is None:
        return "none"
    if isinstance(ref, (tuple, list)):  # several styles, or mask files
        return ",".join(image_checksum(r) for r in ref)
    if isinstance(ref, (np.ndarray, Image.Image)):  # an image in memory
        a = np.asarray(ref)
        return hashlib.sha256(str(a.shape).encode() + a.tobytes()).hexdigest()
    ref = str(ref)
    if ref in data.SKIMAGE_IMAGES:
        import skimage
        return f"skimage:{ref}:{skimage.__version__}"
    if ref in data.manifest():
        return data.manifest()[ref]["sha256"]
    return sha256(ref)


def vgg_weights_checksum(*, num_layers: int = 19, vgg_weights: str = "auto") -> str:
    """sha256 of the pretrained VGG weights (for a figure that runs the network directly)."""
    from .weights import params_sha256, weights_file
    file, _ = weights_file(num_layers, vgg_weights, progress=False)
    digest = file.with_name(file.name + ".sha256")
    return digest.read_text().split()[0] if digest.exists() else params_sha256(file)


def weights_checksum(config: StyleConfig) -> str:
    """sha256 of the weights a run uses ('random' for an unpretrained network)."""
    return vgg_weights_checksum(vgg_weights=config.vgg_weights) if config.pretrained else "random"


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _package_imports(tree: ast.AST) -> set[str]:
    """Names of the sibling modules a module imports (``from . import x``, ``from .x import``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


def code_checksum(folder: str | Path = Path(__file__).parent, entry: str = "gatys") -> str:
    """sha256 of the code a run executes: the abstract syntax, without docstrings, of
    ``entry`` and of every package module it imports, directly or not (comments and
    formatting never reach the syntax tree)."""
    folder, h, todo, seen = Path(folder), hashlib.sha256(), [entry], set()
    while todo:
        name = todo.pop()
        if name in seen or not (folder / f"{name}.py").exists():
            continue
        seen.add(name)
        tree = ast.parse((folder / f"{name}.py").read_text())
        todo += sorted(_package_imports(tree))
        h.update(name.encode() + ast.dump(_without_docstrings(tree)).encode())
    return h.hexdigest()


@functools.cache
def _code_checksum() -> str:
    # once per process: the code that counts is the one imported, even if files change later
    return code_checksum()


def run_key(config: StyleConfig) -> str:
    """Hash of settings + input images + weights + code + thread count: equal keys mean equal
    pixels on one kind of CPU (the CPU model is not in the key)."""
    settings = dataclasses.asdict(config)
    for name in ("content", "style", "init"):  # images in memory: keyed by their pixels
        if not isinstance(settings[name], (str, Path, tuple, list)):
            settings[name] = "<image>"
    parts = {"settings": settings, "code": _code_checksum(), "threads": default_threads(),
             "content": image_checksum(config.content), "style": image_checksum(config.style),
             "fine_style": image_checksum(config.fine_style),
             "init": config.init if isinstance(config.init, str) and config.init in INITS
             else image_checksum(config.init),
             "masks": [m if m == "kmeans" else sha256(m) for m in config.masks],
             "weights": weights_checksum(config)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run(config: StyleConfig, *, cache: str | Path | None = None, progress: bool = False) -> Result:
    """Run one config, or load it from ``cache`` (default ``$GLUON_STYLE_CACHE/runs``)."""
    folder = Path(cache) if cache else cache_dir("runs")
    key = run_key(config)
    png, meta = folder / f"{key}.png", folder / f"{key}.json"
    if png.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        return Result(config, np.asarray(Image.open(png).convert("RGB")), saved["history"],
                      saved["seconds"], key, cached=True)
    # one line before and after each computed run: a notebook's progress bars are widgets,
    # so this is what make_figures.py's log shows of a run that takes an hour
    levels = config.pyramid if isinstance(config.pyramid, (list, tuple)) else ()
    print(f"run {key}: {config.size} px, {config.steps} {config.optimizer} steps"
          f"{', after ' + str(list(levels)) + ' px' if levels else ''} ...",
          file=sys.stderr, flush=True)
    tic = time.perf_counter()
    with interruptions() as stops:
        image, history = config.run(progress=progress)
    seconds = time.perf_counter() - tic
    print(f"run {key}: done in {seconds:.0f} s", file=sys.stderr, flush=True)
    if stops:  # not the run its key names: keep it out of the cache
        warnings.warn(stops[0])
        raise KeyboardInterrupt
    with atomic_path(png) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    write_json(meta, {"settings": dataclasses.asdict(config), "seconds": seconds,
                      "versions": versions(), "history": history})
    return Result(config, image, history, seconds, key, cached=False)


def _run_in_worker(config, cache):
    return run(config, cache=cache)


def sweep(configs, *, cache: str | Path | None = None, executor: Executor | None = None,
          progress: bool = True) -> list[Result]:
    """Run every config (serially, or with ``executor.map``), in order, using the cache."""
    from tqdm.auto import tqdm

    configs = list(configs)
    if executor is None:
        return [run(c, cache=cache) for c in tqdm(configs, desc="sweep", unit="run", disable=not progress)]
    jobs = executor.map(_run_in_worker, configs, [cache] * len(configs))
    return list(tqdm(jobs, total=len(configs), desc="sweep", unit="run", disable=not progress))


def equal_start_style_weights(config: StyleConfig, kinds, *, reference: str = "gram") -> dict:
    """A style weight per style representation such that every style term starts equal.

    The representations' losses live on different scales (see ``losses``). For a fair
    comparison each ``kind`` gets ``config.style_weight`` times reference/own, the ratio of
    the style terms at the initial image (one forward pass each, ``steps=0``): the
    optimization then starts from the same style loss, whatever the representation.
    """
    def start(kind):   # no step is taken, so any optimizer that takes every representation
        _, history = dataclasses.replace(config, style_representation=kind, steps=0,
                                         optimizer="adam").run(progress=False)
        return history[0]["style"]

    ref = start(reference)
    return {kind: config.style_weight * ref / max(start(kind), 1e-30) for kind in kinds}


def gatys_setup(*, content: str, style: str, size: int, ratio: float = 1e-3, steps: int = 1000,
                seed: int = 0, init: str = "noise", pooling: str = "max",
                content_layer: str = "relu4_2", style_layers: tuple[str, ...] = GATYS_STYLE_LAYERS,
                convention: str = "authors_code", **changes) -> StyleConfig:
    """Gatys et al. (2016)'s setup as one ``StyleConfig``, the notebooks' single source of it.

    The normalized VGG-19, L-BFGS, one scale, no total-variation term, content at
    ``content_layer``, style at ``style_layers`` with the weights for ``ratio`` (alpha/beta)
    of ``gatys_weights``, computed at the content image's shape at ``size`` px (the
    ``equations`` convention also uses ``content_layer``'s size, so change the content layer
    through ``content_layer``, not ``content_layers``). No style layers: a content
    reconstruction (no style weights). ``changes`` override any field.

    Departs from the paper's text: ``pooling="max"``, as in the authors' published code
    (leongatys/PytorchNeuralStyleTransfer builds its VGG with max pooling). The paper says
    average pooling for synthesis, but on a network normalized through max pooling that
    shrinks the deep activations, and the deep Gram terms with their fourth power, until
    the deep layers barely count (notebook 03 measures it).
    """
    weights = {"content_weight": 1.0}
    if style_layers:
        shape = load_image(content, max_size=size).size[::-1]   # (H, W)
        weights = gatys_weights(ratio, content_layer=content_layer, shape=shape,
                                style_layers=tuple(style_layers), convention=convention)
    settings = dict(content=content, style=style, size=size, steps=steps, seed=seed,
                    optimizer="lbfgs", init=init, pooling=pooling, normalized_vgg=True,
                    tv_weight=0.0, pyramid=(), content_layers=(content_layer,),
                    style_layers=tuple(style_layers), **weights)
    return StyleConfig(**{**settings, **changes})


def run_with_snapshots(config: StyleConfig, *, seconds, progress: bool = False):
    """Run ``config`` (never cached: its timing is the point) and keep, for every time budget
    in ``seconds``, the best image of the current pyramid level at that moment.

    Returns (Result, {budget: HxWx3 uint8}); a budget the run never reaches gets the final image.
    """
    from .image import postprocess

    pending, snapshots = sorted(seconds), {}
    best = {"size": None, "total": math.inf, "image": None}

    def keep(rec, X):
        while pending and rec["seconds"] >= pending[0]:
            snapshots[pending.pop(0)] = best["image"] if best["image"] is not None else postprocess(X)
        if rec["size"] != best["size"] or rec["total"] < best["total"]:
            best.update(size=rec["size"], total=rec["total"], image=postprocess(X))

    tic = time.perf_counter()
    image, history = config.run(callback=keep, progress=progress)
    result = Result(config, image, history, time.perf_counter() - tic, run_key(config), cached=False)
    for budget in pending:
        snapshots[budget] = image
    return result, snapshots


def write_result(out: str | Path, image: np.ndarray, config, history: list[dict], **extra) -> Path:
    """Save ``image`` to ``out`` and ``out``'s ``.json`` sidecar (settings, history, versions)."""
    out = Path(out)
    save_image(image, out)
    sidecar = out.with_suffix(".json")
    write_json(sidecar, {"settings": dataclasses.asdict(config), "versions": versions(),
                         **extra, "history": history})
    return sidecar
