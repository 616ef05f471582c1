"""Quality measures of stylized images, by hand on tiny images."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from gluon_style import quality


def test_psnr_by_hand():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255                       # one error of 255 in 48 values: mse = 255^2 / 48
    assert_allclose(quality.psnr(a, b), 10 * np.log10(48), rtol=1e-12)
    assert quality.psnr(a, a) == float("inf")
    with pytest.raises(ValueError, match="shapes"):
        quality.psnr(a, np.zeros((4, 5, 3), np.uint8))


def test_diagonal_is_row_minimum():
    D = np.array([[1.0, 2.0, 3.0], [0.5, 1.0, 2.0], [3.0, 2.0, 1.0]])
    assert quality.diagonal_is_row_minimum(D) == [True, False, True]
    assert quality.diagonal_is_row_minimum([[1.0, 1.0], [2.0, 1.0]]) == [False, True]  # ties fail


@pytest.mark.pretrained
def test_style_distance_is_zero_to_itself_and_ranks_paintings():
    distance = quality.StyleDistance(style_size=64)
    coffee = quality.load_image("coffee", max_size=64)
    D = quality.confusion(distance, [coffee, "chelsea"], ["coffee", "chelsea"])
    assert D.shape == (2, 2) and D[0, 0] < 1e-6 * D[0, 1]   # zero up to float32 rounding
    assert quality.diagonal_is_row_minimum(D) == [True, True]
    # by hand: the weighted Gram MSE at the four layers
    grams_a, grams_b = distance.grams(coffee), distance.grams(quality.load_image("chelsea", max_size=64))
    weights = [1 / 64**2, 1 / 128**2, 1 / 256**2, 1 / 512**2]   # 1/C^2 at the four layers
    by_hand = sum(w * float(((grams_a[n] - grams_b[n]) ** 2).mean().asscalar())
                  for n, w in zip(quality.LAYERS, weights))
    assert_allclose(distance(coffee, "chelsea"), by_hand, rtol=1e-4)


def _bench(script, *args, env=None):
    import os
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    r = subprocess.run([sys.executable, str(bench / script), *args], capture_output=True,
                       text=True, cwd=bench, env={**(env or os.environ), "TQDM_DISABLE": "1"})
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.pretrained
def test_the_feedforward_quality_scripts_run_at_tiny_size(tmp_path):
    from gluon_style import training

    tiny = dict(content=("astronaut",), crop=32, batch_size=1, steps=2, style_size=64,
                progress=False)
    training.train(kind="cin", styles=("coffee", "chelsea"), out_dir=str(tmp_path / "cin"), **tiny)
    training.train(kind="johnson", styles=("coffee",), out_dir=str(tmp_path / "j"), **tiny)
    training.train(kind="adain", styles=("coffee", "chelsea"), out_dir=str(tmp_path / "a"), **tiny)
    out = _bench("cin_quality.py", str(tmp_path / "cin"), "--photos", "rocket", "--size", "64",
                 "--johnson", f"coffee={tmp_path / 'j'}")
    assert "diagonal is the row minimum in" in out and "of 2 rows" in out
    assert "strip t: 0.00" in out and "coffee: CIN total loss" in out
    out = _bench("feedforward_quality.py", str(tmp_path / "j"), "--photos", "rocket", "--size",
                 "64", "--evaluations", "2")
    assert "2 L-BFGS evaluations from the photo" in out and "from white noise" in out
    assert out.count("content + style + tv: network") == 2
    assert "one forward pass at 512 px" in out
    out = _bench("adain_quality.py", str(tmp_path / "a"), "--photos", "rocket", "--size", "64",
                 "--unseen", "klimt_the_kiss,picabia_udnie")
    assert "PSNR at alpha 0" in out and "of 2 rows" in out and "lower)" in out
    bad = _bench_fails("adain_quality.py", str(tmp_path / "a"), "--unseen", "coffee")
    assert "were seen in training" in bad


@pytest.mark.pretrained
def test_train_monitored_scores_the_mean_of_its_last_snapshots(tmp_path, monkeypatch):
    import json
    from pathlib import Path

    import mxnet as mx

    run = tmp_path / "run"
    _bench("train_monitored.py", str(run), "--steps", "6", "--every", "2", "--crop", "64",
           "--content", "astronaut", "--photos", "rocket", "--evaluations", "2", "--average", "2")
    lines = [json.loads(line) for line in (run / "monitor.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4, 6]
    assert "held_out_average" not in lines[0]          # one snapshot is no average
    assert [line["average_of_steps"] for line in lines[1:]] == [[2, 4], [4, 6]]
    last, mean = lines[-1]["held_out"]["rocket"], lines[-1]["held_out_average"]["rocket"]
    assert mean["lbfgs50"] == last["lbfgs50"] and mean["network"] != last["network"]
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import train_monitored
    from feedforward_quality import compare

    a, b = (mx.nd.load(str(run / "snapshots" / f"step_{s:06d}.params")) for s in (4, 6))
    final = mx.nd.load(str(run / "checkpoint.params"))
    assert all((b[name] == final[name]).min() == 1 for name in final)   # the last snapshot
    model, steps = train_monitored.averaged(run, 2)
    assert steps == [4, 6] and a.keys() == b.keys()
    for name, param in model.net._collect_params_with_prefix().items():
        assert_allclose(param.data().asnumpy(), (a[name].asnumpy() + b[name].asnumpy()) / 2,
                        rtol=1e-6, atol=1e-7)
    terms, _, _ = compare(model, "rocket", size=64, evaluations=2, inits=())
    assert_allclose(sum(terms), mean["network"], rtol=1e-4)   # the mean network was scored
    assert train_monitored.averaged(run, 4) is None    # fewer snapshots than asked
    # shipping it: the mean of those snapshots, with the quality its monitor line scored
    monkeypatch.setenv("GLUON_STYLE_MODELS", str(tmp_path / "models"))
    _bench("ship_feedforward.py", str(run), "--name", "tiny", "--average", "2", "--photo",
           "rocket", "--size", "64", "--repeats", "1")
    from gluon_style import pretrained

    info = pretrained.entry("tiny")
    assert info["quality"]["held_out_ratio"] == {"rocket": round(mean["ratio"], 4)}
    assert "[4, 6]" in info["quality"]["parameters"] and info["steps"] == 6
    assert info["quality"]["reference"].startswith("2 L-BFGS evaluations")
    assert info["quality"]["summary"] == (f"held-out loss {mean['ratio']:.2f}x on rocket that of "
                                          "2 L-BFGS evaluations")
    assert info["settings"]["content"] == ["astronaut"] and "out_dir" not in info["settings"]
    # a run stopped past its last snapshot: the shipped steps are the snapshots'
    import shutil

    shutil.copytree(run, tmp_path / "later")
    saved = json.loads((tmp_path / "later" / "checkpoint.json").read_text())
    (tmp_path / "later" / "checkpoint.json").write_text(json.dumps({**saved, "step": 7}))
    _bench("ship_feedforward.py", str(tmp_path / "later"), "--name", "later", "--average", "2",
           "--photo", "rocket", "--size", "64", "--repeats", "1")
    assert pretrained.entry("later")["steps"] == 6
    assert info["quality"]["forward_seconds"]["size"] == 64
    shipped = pretrained.open_model("tiny").apply("rocket", size=64).astype(int)
    assert np.abs(shipped - model.apply("rocket", size=64)).max() <= 2
    assert "scored no mean of snapshots" in _bench_fails(
        "ship_feedforward.py", str(run), "--name", "tiny3", "--average", "3")


@pytest.mark.pretrained
def test_train_monitored_scores_a_cin_run_by_its_confusion_matrix(tmp_path):
    import json

    from gluon_style import training

    training.train(kind="johnson", styles=("coffee",), content=("astronaut",), crop=32,
                   batch_size=1, steps=1, style_size=64, out_dir=str(tmp_path / "j"),
                   progress=False)
    run = tmp_path / "cin"
    _bench("train_monitored.py", str(run), "--kind", "cin", "--styles", "coffee,chelsea",
           "--steps", "4", "--every", "2", "--crop", "64", "--content", "astronaut",
           "--photos", "rocket", "--average", "2", "--johnson", str(tmp_path / "j"))
    lines = [json.loads(line) for line in (run / "monitor.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4] and lines[1]["average_of_steps"] == [2, 4]
    for scores in (lines[0]["held_out"]["rocket"], lines[1]["held_out_average"]["rocket"]):
        D = np.array(scores["confusion"])
        assert D.shape == (2, 2) and scores["rows"] == 2
        assert scores["diagonal_minimum"] == sum(quality.diagonal_is_row_minimum(D))
        assert_allclose(scores["ratio"], scores["network"] / scores["johnson"], rtol=1e-12)
    assert "needs two or more --styles" in _bench_fails(
        "train_monitored.py", str(tmp_path / "x"), "--kind", "cin", "--styles", "coffee")
    assert "not a Johnson network of one of" in _bench_fails(   # refused before training
        "train_monitored.py", str(tmp_path / "x"), "--kind", "cin", "--styles", "rocket,chelsea",
        "--johnson", str(tmp_path / "j"))
    assert "for --kind cin" in _bench_fails(
        "train_monitored.py", str(tmp_path / "x"), "--johnson", str(tmp_path / "j"))
    assert not (tmp_path / "x").exists()
    # shipping it: the quality is the monitor line's for the mean of snapshots 2 and 4
    import os

    models = {**os.environ, "GLUON_STYLE_MODELS": str(tmp_path / "models")}
    assert lines[0]["johnson"] == str(tmp_path / "j")   # what the ratios are over
    _bench("ship_feedforward.py", str(run), "--name", "tiny_cin", "--average", "2", "--photo",
           "rocket", "--size", "64", "--repeats", "1", "--johnson", str(tmp_path / "j"),
           env=models)
    info = json.loads((tmp_path / "models" / "MANIFEST.json").read_text())["tiny_cin"]
    mean = lines[1]["held_out_average"]["rocket"]
    assert info["method"] == "cin" and info["quality"]["johnson_ratio"] == {
        "rocket": round(mean["ratio"], 4)}
    assert info["quality"]["diagonal_minimum"] == {"rocket": [mean["diagonal_minimum"], 2]}
    assert info["quality"]["summary"].startswith(
        f"own painting the nearest in {mean['diagonal_minimum']} of 2 rows on rocket")
    training.train(kind="johnson", styles=("coffee",), content=("astronaut",), crop=32,
                   batch_size=1, steps=1, style_size=64, out_dir=str(tmp_path / "j2"),
                   progress=False)   # a network of the same painting, not the one compared with
    for wrong, message in (((), "--johnson"), (("--johnson", str(tmp_path / "rocket")), "no "),
                           (("--johnson", str(tmp_path / "j"), "--evaluations", "2"), "--johnson"),
                           (("--johnson", str(tmp_path / "j2")), "the monitor compared with")):
        assert message in _bench_fails("ship_feedforward.py", str(run), "--name", "no",
                                       "--average", "2", *wrong, env=models)
    assert "no" not in json.loads((tmp_path / "models" / "MANIFEST.json").read_text())


@pytest.mark.pretrained
def test_train_monitored_scores_an_adain_run_on_unseen_paintings(tmp_path, monkeypatch):
    import json
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    run = tmp_path / "adain"
    _bench("train_monitored.py", str(run), "--kind", "adain", "--styles", "coffee,chelsea",
           "--unseen", "klimt_the_kiss,picabia_udnie", "--steps", "2", "--every", "2",
           "--crop", "32", "--content", "astronaut", "--photos", "rocket", "--style-weight",
           "0.01", "--pixel-weight", "1")
    from adain_quality import reconstruction_psnr
    from gluon_style import training

    saved = training.Model.settings(run)
    assert saved.style_weight == 0.01 and saved.pixel_weight == 1.0
    line = json.loads((run / "monitor.jsonl").read_text())
    scores = line["held_out"]["rocket"]
    D, own = np.array(scores["confusion"]), scores["photo_distance"]
    assert D.shape == (2, 2) and len(own) == 2
    model = training.Model.load(run)   # the scored network is the run's last one
    assert_allclose(scores["psnr_alpha0"], reconstruction_psnr(model, "rocket", 256), rtol=1e-6)
    assert scores["diagonal_minimum"] == sum(quality.diagonal_is_row_minimum(D))
    assert_allclose(scores["below_photo"], [1 - D[0, 0] / own[0], 1 - D[1, 1] / own[1]])
    assert "--unseen" in _bench_fails(   # refused before any training
        "train_monitored.py", str(tmp_path / "x"), "--kind", "adain", "--styles", "coffee,chelsea",
        "--unseen", "coffee")
    assert "--unseen" in _bench_fails(
        "train_monitored.py", str(tmp_path / "x"), "--kind", "adain", "--styles", "coffee,chelsea")
    assert "--pixel-weight is for --kind adain" in _bench_fails(
        "train_monitored.py", str(tmp_path / "x"), "--pixel-weight", "1")
    assert "evaluations" not in line   # no L-BFGS reference for AdaIN
    assert not (tmp_path / "x").exists()


def _bench_fails(script, *args, env=None):
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    r = subprocess.run([sys.executable, str(bench / script), *args], capture_output=True,
                       text=True, cwd=bench, env=env)
    assert r.returncode != 0
    return r.stderr
