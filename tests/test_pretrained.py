"""Shipped pretrained models: export in half precision, load by name, checksums, the CLI."""
import json
import os
import subprocess
import sys

import numpy as np
from numpy.testing import assert_array_equal
import pytest
from PIL import Image

from gluon_style import pretrained, training

TINY = dict(content=("astronaut", "rocket"), crop=32, batch_size=1, steps=2, style_size=64,
            progress=False)


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A models folder holding one exported two-step Johnson network."""
    monkeypatch.setenv("GLUON_STYLE_MODELS", str(tmp_path / "models"))
    run = tmp_path / "run"
    net, _ = training.train(kind="johnson", styles=("coffee",), out_dir=str(run), **TINY)
    info = pretrained.export(run, name="tiny_coffee", quality={"summary": "untrained"},
                             photo="astronaut", size=48)
    return tmp_path / "models", net, info


def test_export_then_load_by_name_gives_the_same_image(models):
    folder, net, info = models
    assert info["method"] == "johnson" and info["paintings"] == ["coffee"] and info["steps"] == 2
    assert info["dtype"] == "float16" and info["fp16_max_level_difference"]["levels"] <= 2
    saved = json.loads((folder / "MANIFEST.json").read_text())["tiny_coffee"]
    assert saved["sha256"] == info["sha256"] and (folder / "tiny_coffee.params").exists()
    # half precision: about half the bytes of the float32 network
    full = sum(p.data().size for p in net.net.collect_params().values()) * 4
    assert (folder / "tiny_coffee.params").stat().st_size < 0.6 * full
    shipped = pretrained.open_model("tiny_coffee")
    a, b = shipped.apply("astronaut", size=48), net.apply("astronaut", size=48)
    assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 2


def test_export_ships_the_given_parameters_instead_of_the_checkpoints(models, tmp_path):
    _, first, _ = models
    other = tmp_path / "other"   # the same network trained one step more: other weights
    second, _ = training.train(kind="johnson", styles=("coffee",), out_dir=str(other),
                               **{**TINY, "steps": 3})
    pretrained.export(tmp_path / "run", name="given", quality={}, photo="astronaut", size=48,
                      params=other / "checkpoint.params")
    shipped = pretrained.open_model("given").apply("astronaut", size=48).astype(int)
    assert np.abs(shipped - second.apply("astronaut", size=48)).max() <= 2
    assert np.abs(shipped - first.apply("astronaut", size=48)).max() > 2
    (tmp_path / "junk.params").write_bytes(b"not parameters")
    with pytest.raises(ValueError, match="junk.params: cannot load"):
        pretrained.export(tmp_path / "run", name="junk", quality={}, photo="astronaut",
                          size=48, params=tmp_path / "junk.params")
    assert "junk" not in pretrained.manifest()


def test_a_conditional_network_exports_and_keeps_its_styles_apart(models, tmp_path):
    run = tmp_path / "cin_run"   # exporting checks fp16 on every style index
    cin, _ = training.train(kind="cin", styles=("chelsea", "coffee"), out_dir=str(run), **TINY)
    assert pretrained.probe_options(cin.config) == [{"style_index": 0}, {"style_index": 1}]
    info = pretrained.export(run, name="tiny_cin", quality={}, photo="astronaut", size=48)
    assert info["method"] == "cin" and info["paintings"] == ["chelsea", "coffee"]
    checked = info["fp16_max_level_difference"]   # over both styles' scales and shifts
    assert checked["options"] == [{"style_index": 0}, {"style_index": 1}]
    assert checked["levels"] <= 2
    shipped = pretrained.open_model("tiny_cin")
    for i in (0, 1):
        a = shipped.apply("astronaut", size=48, style_index=i).astype(int)
        assert np.abs(a - cin.apply("astronaut", size=48, style_index=i)).max() <= 2
    with pytest.raises(ValueError, match="style_index"):
        shipped.apply("astronaut", size=48)


def test_training_starts_from_a_shipped_model_by_name(models, tmp_path):
    _, net, _ = models   # shipped in float16; training casts it to float32
    start, _ = training.train(kind="johnson", styles=("coffee",), init_from="tiny_coffee",
                              out_dir=str(tmp_path / "from_name"), **{**TINY, "steps": 0})
    a = start.apply("astronaut", size=48).astype(int)
    assert np.abs(a - net.apply("astronaut", size=48)).max() <= 2
    cin, _ = training.train(kind="cin", styles=("chelsea", "coffee"), init_from="tiny_coffee",
                            out_dir=str(tmp_path / "cin"), **{**TINY, "steps": 0})
    assert_array_equal(cin.apply("astronaut", size=48, style_index=0), a)


def test_unknown_and_damaged_models_get_clear_errors(models):
    folder, _, _ = models
    with pytest.raises(ValueError, match=r"no pretrained model 'nope'; options are \['tiny_coffee'\]"):
        pretrained.open_model("nope")   # neither a name nor a folder
    params = folder / "tiny_coffee.params"
    params.write_bytes(params.read_bytes()[:-10])
    with pytest.raises(ValueError, match="damaged .*reinstall"):
        pretrained.open_model("tiny_coffee")
    params.unlink()
    with pytest.raises(ValueError, match="missing; reinstall"):
        pretrained.settings("tiny_coffee")


def test_cli_lists_and_applies_a_shipped_model_by_name(models, tmp_path):
    folder, _, _ = models
    env = {**os.environ, "TQDM_DISABLE": "1", "GLUON_STYLE_MODELS": str(folder)}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "gluon_style", *args], capture_output=True,
                              text=True, env=env)

    listed = cli("models")
    assert listed.returncode == 0 and "tiny_coffee" in listed.stdout and "johnson" in listed.stdout
    out = tmp_path / "out.jpg"
    r = cli("apply", "tiny_coffee", "astronaut", "-o", str(out), "--size", "48")
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (48, 48)
    (folder / "tiny_coffee.params").write_bytes(b"not parameters")
    r = cli("apply", "tiny_coffee", "astronaut", "-o", str(tmp_path / "x.jpg"), "--size", "48")
    assert r.returncode == 2 and "damaged" in r.stderr and not (tmp_path / "x.jpg").exists()


def test_a_folder_named_like_a_model_and_a_changed_architecture(models, tmp_path, monkeypatch):
    folder, net, _ = models
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny_coffee").mkdir()            # no checkpoint inside: the name wins
    assert pretrained.open_model("tiny_coffee").config.styles == ("coffee",)
    assert pretrained.is_name(tmp_path / "run") is False   # a run's folder is a folder
    info = json.loads((folder / "MANIFEST.json").read_text())
    assert "out_dir" not in info["tiny_coffee"]["settings"]   # no local paths shipped
    info["tiny_coffee"]["arch"]["upsample"] = "transposed"
    (folder / "MANIFEST.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="builds .* from its settings; reinstall"):
        pretrained.open_model("tiny_coffee")
    with pytest.raises(ValueError, match="invalid model name"):
        pretrained.export(tmp_path / "run", name="../escape", quality={})
