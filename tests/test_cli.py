"""End to end through `python -m gluon_style`, as a user runs it."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image



def run(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "gluon_style", *args], capture_output=True, text=True,
                       env={**os.environ, "TQDM_DISABLE": "1"})
    if check and r.returncode != 0:
        raise AssertionError(r.stderr)
    return r


def test_list_images():
    out = run("list-images").stdout
    assert "vangogh_starry_night" in out and "astronaut" in out
    assert len(out.strip().splitlines()) == 23
    styles = run("list-images", "--role", "style").stdout.strip().splitlines()
    assert len(styles) == 12


def test_bad_inputs_exit_cleanly_and_write_nothing(tmp_path):
    out = tmp_path / "o.png"
    r = run("stylize", str(tmp_path / "missing.jpg"), "coffee", "-o", str(out), check=False)
    assert r.returncode == 2 and "missing.jpg: no such file" in r.stderr and "Traceback" not in r.stderr
    r = run("stylize", "astronaut", "coffee", "-o", str(out), "--ctx", "gpu:0", check=False)
    assert r.returncode == 2 and "GPU 0 was requested" in r.stderr
    r = run("stylize", "astronaut", "coffee", "-o", str(tmp_path / "o.tiff2"), check=False)
    assert r.returncode == 2 and "cannot write images with the extension" in r.stderr
    r = run("stylize", "astronaut", "coffee", "-o", str(out), "--style-layers", "relu9_1", check=False)
    assert r.returncode == 2 and "valid names are" in r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.pretrained
def test_stylize_writes_image_and_sidecar(tmp_path):
    out = tmp_path / "sub" / "chelsea.png"
    r = run("stylize", "chelsea", "coffee", "-o", str(out), "--size", "64", "--steps", "4",
            "--style-layers", "relu1_1,relu2_1", "--seed", "5")
    assert "wrote" in r.stdout
    assert Image.open(out).size == (64, 43)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["settings"]["content"] == "chelsea" and meta["settings"]["steps"] == 4
    assert meta["settings"]["style_layers"] == ["relu1_1", "relu2_1"]
    assert meta["settings"]["seed"] == 5 and meta["versions"]["mxnet"] == "1.9.1"
    steps = [h["step"] for h in meta["history"]]
    assert steps == [0, 1, 2, 3, 4]
    assert meta["history"][-1]["total"] < meta["history"][0]["total"]


@pytest.mark.pretrained
def test_defaults_need_only_an_output_path(tmp_path):
    out = tmp_path / "default.jpg"
    run("stylize", "-o", str(out), "--size", "48", "--steps", "2")
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["settings"]["content"] == "tubingen"
    assert meta["settings"]["style"] == "vangogh_starry_night"
    assert Image.open(out).size == (48, 36)


@pytest.mark.pretrained
def test_train_feedforward_then_apply(tmp_path):
    model = tmp_path / "cin"
    r = run("train-feedforward", "--kind", "cin", "--styles", "coffee,chelsea",
            "--content", "astronaut,rocket", "--crop", "32", "--batch-size", "1", "--steps", "2",
            "--style-size", "64", "--out-dir", str(model), "--quiet")
    assert "trained to step 2" in r.stdout
    assert json.loads((model / "checkpoint.json").read_text())["settings"]["styles"] == ["coffee", "chelsea"]
    out = tmp_path / "out.png"
    run("apply", str(model), "astronaut", "-o", str(out), "--size", "48", "--mix", "0.3,0.7")
    assert Image.open(out).size == (48, 48)
    r = run("apply", str(model), "astronaut", "-o", str(tmp_path / "x.png"), "--size", "48", check=False)
    assert r.returncode == 2 and "style_index" in r.stderr and not (tmp_path / "x.png").exists()
    r = run("train-feedforward", "--kind", "johnson", "--styles", "coffee", "--content", "astronaut",
            "--crop", "32", "--steps", "3", "--out-dir", str(model), "--quiet", check=False)
    assert r.returncode == 2 and "another network" in r.stderr


@pytest.mark.parametrize("text, expected", [("auto", "auto"), ("128,256", (128, 256)), ("", ())])
def test_pyramid_option_takes_auto_or_sizes(text, expected):
    from gluon_style import cli
    args = cli.build_parser().parse_args(["stylize", "-o", "x.png", "--pyramid", text])
    assert args.pyramid == expected
    assert cli.build_parser().parse_args(["stylize", "-o", "x.png"]).pyramid == "auto"


BAD_RUNS = [  # (extra arguments, what the one error line must say)
    (["--style-weight", "nan"], "--style-weight must be a finite number >= 0, got nan"),
    (["--tv-weight", "-1"], "--tv-weight must be a finite number >= 0"),
    (["--content-weight", "inf"], "--content-weight must be a finite number"),
    (["--lr", "0"], "--lr must be a finite number > 0"),
    (["--lr-decay", "2"], "--lr-decay must be a finite number > 0 and <= 1"),
    (["--style-scale", "inf"], "--style-scale must be a finite number > 0"),
    (["--style-blend", "-1"], "--style-blend must be a finite number >= 0"),
    (["--content", "https://example.org/photo.jpg"], "URLs are not fetched"),
    (["--content", ""], "an image name or path is empty"),
    (["--content", "tubingn"], "did you mean 'tubingen'"),
    (["-o", "{tmp}"], "is a directory"),
    (["-o", "/proc/out.png"], "cannot write into /proc"),
    (["-o", "{tmp}/in.png", "--content", "{tmp}/in.png"], "is an input of this run"),
    (["-o", "{tmp}/out.png", "--init", "{tmp}/out.png"], "is an input of this run"),
    (["-o", "{tmp}/o.psd"], "cannot write images with the extension '.psd'"),
    (["--steps", "-1"], "--steps must be a whole number >= 0"),
    (["--style-layer-weights", "1,-1,1,1,1"], "--style-layer-weights must be a finite number"),
    (["--size", "100000"], "the largest size that"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize("extra, message", BAD_RUNS)
def test_errors_come_before_any_work_as_one_line(extra, message, tmp_path, capsys, monkeypatch):
    from gluon_style import cli, gatys

    def no_work(*args, **kwargs):
        raise AssertionError("a network was built before the error")

    monkeypatch.setattr(gatys, "vgg19_features", no_work)
    (tmp_path / "in.png").write_bytes(b"keep me")
    (tmp_path / "out.png").write_bytes(b"keep me too")
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    content = args.pop(args.index("--content") + 1) if "--content" in args else "astronaut"
    args = [a for a in args if a != "--content"]
    output = [] if "-o" in args else ["-o", str(tmp_path / "out.png")]
    code = cli.main(["stylize", content, "coffee", *output, *args, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]
    assert (tmp_path / "out.png").read_bytes() == b"keep me too"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_a_read_only_folder_is_refused_before_any_work(tmp_path, capsys):
    from gluon_style import cli

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    code = cli.main(["stylize", "astronaut", "coffee", "-o", str(folder / "o.png"), "--quiet"])
    assert code == 2 and "cannot write into" in capsys.readouterr().err


def test_training_and_apply_refuse_bad_settings_before_any_work(tmp_path, capsys):
    from gluon_style import cli

    code = cli.main(["train-feedforward", "--style-weight", "nan", "--out-dir", str(tmp_path),
                     "--quiet"])
    assert code == 2 and "--style-weight must be a finite number" in capsys.readouterr().err
    (tmp_path / "a_file").write_text("")
    code = cli.main(["train-feedforward", "--out-dir", str(tmp_path / "a_file"), "--quiet"])
    assert code == 2 and "exists and is not a folder" in capsys.readouterr().err
    code = cli.main(["train-feedforward", "--out-dir", "/proc/run", "--quiet"])
    assert code == 2 and "cannot write into /proc" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_an_immutable_output_is_refused_before_any_work(tmp_path, capsys):
    import shutil

    from gluon_style import cli

    out = tmp_path / "o.png"
    out.write_bytes(b"old")
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(out)]).returncode:
        pytest.skip("no chattr +i on this file system")
    try:
        code = cli.main(["stylize", "astronaut", "coffee", "-o", str(out), "--quiet"])
    finally:
        subprocess.run(["chattr", "-i", str(out)])
    assert code == 2 and "cannot be replaced" in capsys.readouterr().err
    assert out.read_bytes() == b"old"


def _default_sigint():
    """In the child: Ctrl-C as in a terminal (a shell's background job ignores SIGINT, and
    Python then installs no KeyboardInterrupt handler)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_keeps_a_result_that_says_what_it_is(tmp_path):
    """--print-every and --save-every report as it runs; SIGINT at the coarse level writes
    that level's best image upsampled, and the sidecar and the last line say so."""
    import signal
    import time

    out = tmp_path / "o.png"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gluon_style", "stylize", "astronaut", "coffee", "-o", str(out),
         "--size", "96", "--pyramid", "48", "--pyramid-steps", "100000", "--no-pretrained",
         "--style-layers", "relu1_1", "--content-layers", "relu2_1", "--print-every", "1",
         "--save-every", "2", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    for line in proc.stderr:                  # wait until it has run a few steps
        if line.startswith("step 5 "):
            break
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "interrupted after" in stdout and "upsampled to 96x96 px" in stdout
    assert Image.open(out).size == (96, 96) and (tmp_path / "o_00002.png").exists()
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["interrupted"]["size"] == 48 and meta["interrupted"]["upsampled_to"] == [96, 96]
    best = min(h["total"] for h in meta["history"])
    assert meta["interrupted"]["total"] == best


def test_ctrl_c_before_the_first_record_still_writes_what_it_says(tmp_path, capsys,
                                                                 monkeypatch):
    """Ctrl-C inside the first evaluation, when the history is still empty."""
    from gluon_style import cli, gatys

    def interrupted_evaluator(*args, **kwargs):
        def evaluate(*a, **k):
            raise KeyboardInterrupt
        return evaluate

    monkeypatch.setattr(gatys, "evaluator", interrupted_evaluator)
    out = tmp_path / "o.png"
    code = cli.main(["stylize", "astronaut", "coffee", "-o", str(out), "--size", "48",
                     "--no-pretrained", "--quiet"])
    assert code == 0 and "interrupted after 0 steps: returning the initial image" in \
        capsys.readouterr().out
    assert Image.open(out).size == (48, 48)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["interrupted"]["step"] is None and meta["history"] == []


@pytest.mark.parametrize("press_at, records", [(1, 0), (3, 3)])
def test_ctrl_c_is_deferred_to_the_next_record_once_records_flow(press_at, records, tmp_path,
                                                                 capsys, monkeypatch):
    """A press inside evaluation ``press_at``: before the first record it raises at once (0
    records); later it sets a flag and the next record stops the run (3 records, not 2).
    Python's own handler is back afterwards."""
    import signal

    from gluon_style import cli, gatys

    real, calls = gatys.evaluator, []

    def pressing_evaluator(*args, **kwargs):
        evaluate = real(*args, **kwargs)

        def evaluate_and_press(*a, **k):
            calls.append(1)
            if len(calls) == press_at:
                os.kill(os.getpid(), signal.SIGINT)   # handled before the evaluation is done
            return evaluate(*a, **k)
        return evaluate_and_press

    monkeypatch.setattr(gatys, "evaluator", pressing_evaluator)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a terminal
    try:
        out = tmp_path / "o.png"
        code = cli.main(["stylize", "astronaut", "coffee", "-o", str(out), "--size", "48",
                         "--steps", "50", "--no-pretrained", "--quiet"])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 0 and f"interrupted after {records} steps" in capsys.readouterr().out
    assert len(json.loads(out.with_suffix(".json").read_text())["history"]) == records


def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "gluon_style", "stylize", "-o",
                             str(tmp_path / "o.png"), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    time.sleep(0.2)                            # importing MXNet (about a second)
    # Press again, as a user would, if the first press is lost: one clean-clone CI run lost
    # it somewhere in start-up (not reproduced in 12 tries since; cause not found).
    for _ in range(20):
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        proc.kill()
        raise AssertionError("Ctrl-C did not stop the start-up within 20 presses")
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted") and not list(tmp_path.iterdir())
