import json
import warnings

import mxnet as mx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image

from gluon_style import crops, training
from gluon_style.image import ImageError, load_image

TINY = dict(content=("astronaut", "rocket"), crop=32, batch_size=2, style_size=64, progress=False)


def _params(model):
    return {k.split("_", 1)[1]: v.data().asnumpy() for k, v in model.net.collect_params().items()}


@pytest.mark.pretrained
@pytest.mark.parametrize("kind, styles", [("johnson", ("coffee",)), ("cin", ("coffee", "chelsea")),
                                          ("adain", ("coffee", "chelsea"))])
def test_a_few_steps_lower_the_loss(kind, styles, tmp_path):
    _, history = training.train(kind=kind, styles=styles, steps=30, out_dir=str(tmp_path), **TINY)
    totals = [h["total"] for h in history]
    assert [h["step"] for h in history] == list(range(30))
    assert np.mean(totals[-4:]) < 0.6 * np.mean(totals[:4])


@pytest.mark.pretrained
def test_adain_encodes_with_the_normalized_network():
    # as in the paper; on the raw Caffe network the untrained decoder's first steps blew up
    model = training.Model.build(training.TrainConfig(kind="adain"), ctx=mx.cpu())
    assert model.parts["encoder"].weights_source.endswith("+normalized")
    assert model.net is model.parts["net"]


@pytest.mark.pretrained
def test_adain_pixel_weight_adds_the_reconstructions_pixel_error_to_the_content_term():
    from gluon_style.image import load_image, preprocess

    X = preprocess(load_image("astronaut", max_size=32).crop((0, 0, 32, 32)))
    import dataclasses

    config = training.TrainConfig(kind="adain", styles=("coffee",), crop=32, style_size=64)
    model, terms = training.Model.build(config, ctx=mx.cpu()), {}
    for w in (0.0, 2.0):   # one decoder, two losses
        loss = model.method.loss(dataclasses.replace(config, pixel_weight=w), model.parts,
                                 ctx=mx.cpu(), progress=False)
        terms[w] = [float(t.asscalar()) for t in loss(X, 0)]
    # by hand: the error of the decoded photo features
    decoded = model.net(model.parts["encoder"](X)["relu4_1"])
    by_hand = float(((decoded - X) ** 2).mean().asscalar())
    assert_allclose(terms[2.0][0] - terms[0.0][0], 2.0 * by_hand, rtol=1e-4)
    assert terms[2.0][1:] == terms[0.0][1:]   # style and tv unchanged


@pytest.mark.pretrained
def test_resume_takes_the_same_next_step(tmp_path):
    settings = dict(kind="cin", styles=("coffee", "chelsea"), checkpoint_every=2, **TINY)
    straight, h_straight = training.train(steps=4, out_dir=str(tmp_path / "a"), **settings)
    training.train(steps=2, out_dir=str(tmp_path / "b"), **settings)
    assert json.loads((tmp_path / "b" / "checkpoint.json").read_text())["step"] == 2
    resumed, h_resumed = training.train(steps=4, out_dir=str(tmp_path / "b"), **settings)
    assert [h["step"] for h in h_resumed] == [0, 1, 2, 3]
    assert [h["total"] for h in h_resumed] == pytest.approx([h["total"] for h in h_straight], rel=1e-5)
    a, b = _params(straight), _params(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.pretrained
def test_a_second_stage_starts_from_the_first_and_warms_up(tmp_path):
    settings = dict(kind="johnson", styles=("coffee",), **TINY)
    first, _ = training.train(steps=2, out_dir=str(tmp_path / "a"), **settings)
    start, history = training.train(steps=0, init_from=str(tmp_path / "a"),
                                    out_dir=str(tmp_path / "b"), **settings)
    a, b = _params(first), _params(start)
    assert a.keys() == b.keys() and history == []
    for k in a:
        assert_array_equal(a[k], b[k], err_msg=k)
    # Adam's first step moves a weight by lr whatever its gradient (m/sqrt(v) = g/|g| after
    # bias correction), so with 10 warm-up steps the largest move is lr / 10.
    one, _ = training.train(steps=1, lr=1e-2, warmup_steps=10, init_from=str(tmp_path / "a"),
                            out_dir=str(tmp_path / "c"), **settings)
    moved = max(np.abs(_params(one)[k] - a[k]).max() for k in a)
    assert_allclose(moved, 1e-3, rtol=1e-3)
    with pytest.raises(ValueError, match="another network"):
        training.train(steps=1, upsample="transposed", init_from=str(tmp_path / "a"),
                       out_dir=str(tmp_path / "d"), **settings)
    with pytest.raises(ValueError, match="no pretrained model .*nothing.*or give the folder"):
        training.train(steps=1, init_from=str(tmp_path / "nothing"), out_dir=str(tmp_path / "e"),
                       **settings)   # neither a run's folder nor a shipped model's name
    assert not (tmp_path / "e").exists()


@pytest.mark.pretrained
@pytest.mark.parametrize("kind, styles, norm, fewer, more", [
    ("johnson", ("coffee",), "instance", 5, 7), ("johnson", ("coffee",), "batch", 3, 5),
    ("cin", ("coffee", "chelsea"), "instance", 5, 6)])
def test_a_deeper_network_starts_from_a_shallower_one_as_the_same_function(
        kind, styles, norm, fewer, more, tmp_path):
    settings = dict(kind=kind, styles=styles, norm=norm, **TINY)
    small, _ = training.train(steps=2, res_blocks=fewer, out_dir=str(tmp_path / "a"), **settings)
    deep, _ = training.train(steps=0, res_blocks=more, init_from=str(tmp_path / "a"),
                             out_dir=str(tmp_path / "b"), **settings)
    photo = np.asarray(load_image("astronaut", max_size=32))
    pick = dict(style_index=0) if kind == "cin" else {}   # (the extra convolutions init here)
    assert_array_equal(deep.apply(photo, size=32, **pick), small.apply(photo, size=32, **pick))
    a, b = _params(small), _params(deep)
    assert len(deep.net.res) == more and a.keys() < b.keys()
    for k in a:                                   # every trained parameter carried over
        assert_array_equal(a[k], b[k], err_msg=k)
    extra = [np.abs(p.data().asnumpy()).max() for block in deep.net.res[fewer:]
             for p in (block.b.norm.gamma, block.b.norm.beta)]
    assert extra == [0.0] * 2 * (more - fewer)    # the extra blocks add zero: the identity
    training.train(steps=1, res_blocks=more, init_from=str(tmp_path / "a"),
                   out_dir=str(tmp_path / "c"), **settings)
    arch = json.loads((tmp_path / "c" / "checkpoint.json").read_text())["arch"]
    assert arch.get("res_blocks", 5) == more
    with pytest.raises(ValueError, match="another network"):   # fewer from more: refused
        training.train(steps=0, res_blocks=fewer, init_from=str(tmp_path / "c"),
                       out_dir=str(tmp_path / "d"), **settings)


@pytest.mark.pretrained
@pytest.mark.parametrize("blocks", [5, 6])
def test_a_conditional_network_starts_from_a_single_style_one_for_every_painting(blocks,
                                                                                 tmp_path):
    one, _ = training.train(kind="johnson", styles=("coffee",), steps=2,
                            out_dir=str(tmp_path / "a"), **TINY)
    cin, _ = training.train(kind="cin", styles=("chelsea", "coffee", "rocket"), steps=0,
                            res_blocks=blocks, init_from=str(tmp_path / "a"),
                            out_dir=str(tmp_path / "b"), **TINY)
    photo = np.asarray(load_image("astronaut", max_size=32))
    expected = one.apply(photo, size=32)
    for index in range(3):                        # each painting starts as the one network
        assert_array_equal(cin.apply(photo, size=32, style_index=index), expected)
    assert_array_equal(cin.apply(photo, size=32, mix=(0.2, 0.3, 0.5)), expected)
    gamma = cin.net.res[0].a.norm.gamma.data().asnumpy()
    assert gamma.shape[0] == 3 and (gamma == gamma[:1]).all()
    training.train(kind="cin", styles=("chelsea", "coffee"), steps=1, res_blocks=blocks,
                   init_from=str(tmp_path / "a"), out_dir=str(tmp_path / "c"), **TINY)
    training.train(kind="johnson", styles=("coffee",), steps=1, norm="batch",
                   out_dir=str(tmp_path / "d"), **TINY)
    with pytest.raises(ValueError, match="another network"):   # not from batch norm
        training.train(kind="cin", styles=("chelsea", "coffee"), steps=0,
                       init_from=str(tmp_path / "d"), out_dir=str(tmp_path / "e"), **TINY)


@pytest.mark.pretrained
def test_checkpoints_name_their_method_and_other_paintings_resume(tmp_path):
    training.train(kind="johnson", styles=("coffee",), steps=1, out_dir=str(tmp_path / "a"), **TINY)
    saved = json.loads((tmp_path / "a" / "checkpoint.json").read_text())
    assert saved["method"] == "johnson" and "styles" not in saved["arch"]
    # the same network with another painting: a second stage may start from it
    training.train(kind="johnson", styles=("chelsea",), steps=1, init_from=str(tmp_path / "a"),
                   out_dir=str(tmp_path / "b"), **TINY)
    training.train(kind="cin", styles=("coffee", "chelsea"), steps=1, out_dir=str(tmp_path / "c"),
                   **TINY)
    with pytest.raises(ValueError, match="another network"):   # 3 styles need other gammas
        training.train(kind="cin", styles=("coffee", "chelsea", "rocket"), steps=1,
                       init_from=str(tmp_path / "c"), out_dir=str(tmp_path / "d"), **TINY)


@pytest.mark.pretrained
def test_resuming_under_other_settings_is_refused_and_old_or_damaged_checkpoints_say_so(tmp_path):
    settings = dict(kind="johnson", styles=("coffee",), **TINY)
    training.train(steps=1, out_dir=str(tmp_path), **settings)
    with pytest.raises(ValueError, match=r"other settings \(lr, styles\)"):
        training.train(steps=2, out_dir=str(tmp_path), **{**settings, "styles": ("chelsea",),
                                                           "lr": 0.01})
    training.train(steps=2, checkpoint_every=1, out_dir=str(tmp_path), **settings)  # may change
    saved = json.loads((tmp_path / "checkpoint.json").read_text())
    del saved["method"]
    (tmp_path / "checkpoint.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="older gluon_style"):
        training.Model.load(tmp_path)
    (tmp_path / "checkpoint.json").write_text('{"settings": ')
    with pytest.raises(ValueError, match="checkpoint.json: damaged"):
        training.Model.load(tmp_path)


@pytest.mark.pretrained
def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    training.train(kind="johnson", styles=("coffee",), steps=1, out_dir=str(tmp_path), **TINY)
    with pytest.raises(ValueError, match="another network"):
        training.train(kind="johnson", styles=("coffee",), steps=2, upsample="transposed",
                       out_dir=str(tmp_path), **TINY)


@pytest.mark.pretrained
def test_a_damaged_checkpoint_gets_a_clear_error(tmp_path):
    settings = dict(kind="johnson", styles=("coffee",), **TINY)
    training.train(steps=1, out_dir=str(tmp_path), **settings)
    (tmp_path / "checkpoint.params").write_bytes(b"not parameters")
    with pytest.raises(ValueError, match="cannot load the checkpoint"):
        training.Model.load(tmp_path)
    with pytest.raises(ValueError, match="cannot load the checkpoint"):
        training.train(steps=2, out_dir=str(tmp_path), **settings)
    with pytest.raises(ValueError, match="checkpoint.params: cannot load these parameters"):
        training.train(steps=1, init_from=str(tmp_path), out_dir=str(tmp_path / "b"), **settings)


@pytest.mark.pretrained
def test_interrupt_saves_a_checkpoint(tmp_path, monkeypatch):
    real = crops.CropSampler.batch

    def batch(self, n, *, step, ctx=None):
        if step == 3:
            raise KeyboardInterrupt
        return real(self, n, step=step, ctx=ctx)

    monkeypatch.setattr(crops.CropSampler, "batch", batch)
    with pytest.warns(UserWarning, match="interrupted at step 3"):
        _, history = training.train(kind="johnson", styles=("coffee",), steps=10,
                                    checkpoint_every=100, out_dir=str(tmp_path), **TINY)
    saved = json.loads((tmp_path / "checkpoint.json").read_text())
    assert saved["step"] == 3 and len(saved["history"]) == 3 and len(history) == 3


def test_bad_data_gets_clear_errors_or_is_skipped(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageError, match="no images"):
        crops.content_images(empty)
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    Image.fromarray(np.full((40, 50, 3), 120, np.uint8)).save(photos / "grey.png")
    sampler = crops.CropSampler(crops.content_images(photos), crop=32, seed=0)
    with pytest.warns(UserWarning, match="skipping .*broken.jpg"):
        X = sampler.batch(6, step=0)
    assert X.shape == (6, 3, 32, 32)
    only_broken = crops.CropSampler([photos / "broken.jpg"], crop=32, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ImageError, match="none of the 1 training images"):
            only_broken.batch(1, step=0)


def test_batches_depend_only_on_seed_and_step():
    a = crops.CropSampler(["astronaut", "rocket"], crop=32, seed=3)
    b = crops.CropSampler(["astronaut", "rocket"], crop=32, seed=3)
    assert_array_equal(a.batch(2, step=5).asnumpy(), b.batch(2, step=5).asnumpy())
    assert not np.array_equal(a.batch(2, step=5).asnumpy(), a.batch(2, step=6).asnumpy())


def test_flip_mirrors_about_half_the_crops_and_off_leaves_the_batches_as_they_were():
    plain = crops.CropSampler(["astronaut"], crop=32, seed=3)
    flipped = crops.CropSampler(["astronaut"], crop=32, seed=3, flip=True)
    mirrored = 0
    for step in range(20):   # one crop per batch: its position is drawn before the flip
        a, b = plain.batch(1, step=step).asnumpy(), flipped.batch(1, step=step).asnumpy()
        if np.array_equal(a, b):
            continue
        assert_array_equal(a[..., ::-1], b)   # left-right mirror of the same crop
        mirrored += 1
    assert 4 <= mirrored <= 16   # 20 draws at p = 1/2


def test_without_full_frames_the_batches_are_those_of_runs_trained_before_it_existed():
    # values printed by the sampler as it was at commit 8a869a1, before full_frame
    X = crops.CropSampler(["astronaut", "rocket"], crop=32, seed=3).batch(2, step=5).asnumpy()
    assert_allclose(X.mean(), -0.387953, rtol=1e-5)
    assert_allclose(X[0, 0, 0, :4], [0.8960528, 0.7761795, 0.93030226, 0.8446785], rtol=1e-5)
    assert_allclose(X[1, 2, 31, -3:], [0.11276696, 0.13019615, -0.7064052], rtol=1e-5)
    flipped = crops.CropSampler(["astronaut", "rocket"], crop=32, seed=3, flip=True)
    X = flipped.batch(2, step=7).asnumpy()
    assert_allclose(X.mean(), -0.6967519, rtol=1e-5)
    assert_allclose(X[0, 1, 5, :4], [-1.0728291, -1.0728291, -1.0903361, -1.0903361], rtol=1e-5)


def test_full_frames_show_the_whole_first_photo_at_the_crop_size_on_its_longer_side(tmp_path):
    from gluon_style.image import load_image, preprocess, resize

    ramp = np.linspace(0, 255, 128 * 64 * 3).reshape(64, 128, 3).astype(np.uint8)   # 128 x 64
    Image.fromarray(ramp).save(tmp_path / "wide.png")
    Image.fromarray(ramp[:, :32]).save(tmp_path / "tall.png")                        # 32 x 64
    loaded = load_image(tmp_path / "wide.png", max_size=4 * 64)   # as the sampler keeps it
    whole = preprocess(resize(loaded, shape=(32, 64))).asnumpy()[0]
    sampler = crops.CropSampler([tmp_path / "wide.png", tmp_path / "tall.png"], crop=64,
                                seed=0, full_frame=1.0)
    firsts = 0
    for step in range(8):
        X = sampler.batch(2, step=step).asnumpy()
        assert X.shape[2:] in {(32, 64), (64, 32)}   # (h, w) of whichever photo came first
        if X.shape[2:] == (32, 64) and np.allclose(X[0], whole):
            firsts += 1
    assert firsts >= 1   # the wide photo came first, whole, at least once (p = 1/2 a step)
    mixed = crops.CropSampler([tmp_path / "wide.png"], crop=64, seed=0, full_frame=0.5)
    shapes = [mixed.batch(1, step=step).shape[2:] for step in range(20)]
    assert 4 <= shapes.count((32, 64)) <= 16
    assert shapes.count((64, 64)) == 20 - shapes.count((32, 64))   # the others: square crops
    with pytest.raises(ValueError, match="--full-frame must be"):
        training.train(full_frame=1.5, kind="johnson", out_dir=str(tmp_path / "run"), **TINY)


def test_a_run_saved_before_a_setting_existed_resumes_at_its_default(tmp_path):
    settings = dict(kind="johnson", styles=("coffee",), **TINY)
    training.train(steps=1, out_dir=str(tmp_path), **settings)
    saved = json.loads((tmp_path / "checkpoint.json").read_text())
    del saved["settings"]["flip"]                       # as written before flip existed
    (tmp_path / "checkpoint.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"other settings \(flip\)"):
        training.train(steps=2, flip=True, out_dir=str(tmp_path), **settings)
    _, history = training.train(steps=2, out_dir=str(tmp_path), **settings)
    assert [h["step"] for h in history] == [0, 1]   # step 0 saved, step 1 resumed


@pytest.mark.parametrize("bad, match", [
    (dict(kind="gan"), "johnson"), (dict(styles=("a", "b")), "use kind 'cin'"),
    (dict(crop=30), "multiple of 4"), (dict(kind="adain", crop=36), "multiple of 8"),
    (dict(norm="layer"), "instance"), (dict(loss_network=11), "16, 19"),
    (dict(warmup_steps=-1), "warmup_steps >= 0"), (dict(res_blocks=0), "res_blocks must be"),
    (dict(kind="adain", crop=32, res_blocks=6), "AdaIN's decoder"),
    (dict(pixel_weight=1.0), "for kind 'adain'"),
    (dict(kind="adain", crop=32, pixel_weight=-1.0), "pixel-weight must be"),
])
def test_bad_settings_fail_before_any_work(bad, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        training.train(**{**TINY, "steps": 1, "out_dir": str(tmp_path), **bad})
    assert not any(tmp_path.iterdir())


@pytest.mark.pretrained
def test_apply_checks_its_style_arguments(tmp_path):
    cin, _ = training.train(kind="cin", styles=("coffee", "chelsea"), steps=1,
                            out_dir=str(tmp_path / "cin"), **TINY)
    model = training.Model.load(tmp_path / "cin")
    assert_array_equal(model.apply("astronaut", size=48, style_index=1),
                       model.apply("astronaut", size=48, mix=(0.0, 1.0)))
    with pytest.raises(ValueError, match="style_index"):
        model.apply("astronaut", size=48)
    with pytest.raises(ValueError, match="0..1"):
        model.apply("astronaut", size=48, style_index=2)
    training.train(kind="adain", styles=("coffee",), steps=1, out_dir=str(tmp_path / "adain"), **TINY)
    adain = training.Model.load(tmp_path / "adain")
    with pytest.raises(ValueError, match="style="):
        adain.apply("astronaut", size=48)
    with pytest.raises(ValueError, match="alpha"):
        adain.apply("astronaut", size=48, style="chelsea", alpha=1.5)
    out = adain.apply("astronaut", size=50, style="chelsea", alpha=0.5)
    assert out.shape == (48, 48, 3)          # cut down to a multiple of 8
    with pytest.raises(FileNotFoundError, match="train a model there first"):
        training.Model.load(tmp_path / "nothing")
