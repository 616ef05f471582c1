import dataclasses
from concurrent.futures import ProcessPoolExecutor

import matplotlib
import pytest
from numpy.testing import assert_array_equal

matplotlib.use("Agg")

import gluon_style as gs  # noqa: E402
from gluon_style import experiments  # noqa: E402

BASE = dict(content="astronaut", style="coffee", size=48, steps=2, pretrained=False,
            content_layers=("relu2_1",), style_layers=("relu1_1",))


def test_cache_key_follows_settings_and_inputs(tmp_path):
    a = gs.StyleConfig(**BASE)
    assert experiments.run_key(a) == experiments.run_key(gs.StyleConfig(**BASE))
    assert experiments.run_key(a) != experiments.run_key(gs.StyleConfig(**{**BASE, "steps": 3}))
    assert experiments.run_key(a) != experiments.run_key(gs.StyleConfig(**{**BASE, "style": "chelsea"}))
    f = tmp_path / "x.png"
    f.write_bytes(b"one")
    k1 = experiments.run_key(gs.StyleConfig(**{**BASE, "content": str(f)}))
    f.write_bytes(b"two")
    assert experiments.run_key(gs.StyleConfig(**{**BASE, "content": str(f)})) != k1


def test_code_key_ignores_docstrings_and_comments_but_not_formulas(tmp_path):
    import shutil
    from pathlib import Path

    package = Path(gs.__file__).parent
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = experiments.code_checksum(copy)
    assert before == experiments.code_checksum(package)
    losses = copy / "losses.py"
    text = losses.read_text()
    losses.write_text(text.replace('"""Mean squared error between two feature maps."""',
                                   '"""The mean squared error."""  # reworded'))
    (copy / "cli.py").write_text("")              # the CLI is not run by stylize
    assert experiments.code_checksum(copy) == before
    losses.write_text(text.replace("return mean_square(F, Y_hat - Y)",
                                   "return mean_square(F, Y_hat + Y)"))
    assert experiments.code_checksum(copy) != before


def test_cache_key_follows_fine_style_and_mask_files(tmp_path):
    from PIL import Image

    fine = tmp_path / "fine.png"
    Image.new("RGB", (40, 40), (200, 10, 10)).save(fine)
    key = experiments.run_key(gs.StyleConfig(**{**BASE, "fine_style": str(fine)}))
    Image.new("RGB", (40, 40), (10, 10, 200)).save(fine)
    assert experiments.run_key(gs.StyleConfig(**{**BASE, "fine_style": str(fine)})) != key


def test_second_sweep_comes_from_the_cache(tmp_path, capsys):
    configs = [gs.StyleConfig(**{**BASE, "seed": s, "init": "noise"}) for s in (1, 2)]
    first = experiments.sweep(configs, cache=tmp_path, progress=False)
    logged = capsys.readouterr().err.splitlines()   # a line before and after each computed run
    again = experiments.sweep(configs, cache=tmp_path, progress=False)
    assert capsys.readouterr().err == ""             # nothing computed, nothing logged
    assert [line.split(":")[0] for line in logged] == [f"run {r.key}" for r in first for _ in "ab"]
    assert logged[0].endswith("48 px, 2 lbfgs steps ...") and "done in" in logged[1]
    assert [r.cached for r in first] == [False, False] and [r.cached for r in again] == [True, True]
    for a, b in zip(first, again):
        assert_array_equal(a.image, b.image)
        assert a.history == b.history
    assert len(list(tmp_path.glob("*.png"))) == 2


def test_process_pool_gives_the_same_pixels(tmp_path):
    configs = [gs.StyleConfig(**{**BASE, "seed": s, "init": "noise"}) for s in (1, 2)]
    serial = experiments.sweep(configs, cache=tmp_path / "a", progress=False)
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = experiments.sweep(configs, cache=tmp_path / "b", executor=pool, progress=False)
    for a, b in zip(serial, pooled):
        assert_array_equal(a.image, b.image)


def test_equal_start_style_weights_equalize_the_first_style_term():
    base = gs.StyleConfig(content="astronaut", style="coffee", size=48, steps=0,
                          content_layers=("relu2_2",), style_layers=("relu1_1", "relu2_1"),
                          pretrained=False)
    kinds = ("gram", "mean_std", "mean_cov")
    weights = experiments.equal_start_style_weights(base, kinds)
    assert weights["gram"] == pytest.approx(base.style_weight)
    starts = [dataclasses.replace(base, style_representation=k, style_weight=w).run(progress=False)[1][0]["style"]
              for k, w in weights.items()]
    assert starts == pytest.approx([starts[0]] * len(kinds), rel=1e-4)
    assert len({round(w, 6) for w in weights.values()}) == len(kinds)   # the scales do differ


def test_equal_start_style_weights_take_a_sampled_kernel_beside_an_lbfgs_base():
    base = gs.StyleConfig(content="astronaut", style="coffee", size=48, steps=0, optimizer="lbfgs",
                          content_layers=("relu2_2",), style_layers=("relu1_1",), pretrained=False)
    weights = experiments.equal_start_style_weights(base, ("gram", "mmd_gaussian"))
    sampled = dataclasses.replace(base, style_representation="mmd_gaussian", optimizer="adam",
                                  style_weight=weights["mmd_gaussian"])
    start = sampled.run(progress=False)[1][0]["style"]   # a run seeds its own samples
    gram = base.run(progress=False)[1][0]["style"]
    assert weights["gram"] == pytest.approx(base.style_weight)
    assert start == pytest.approx(gram, rel=1e-4)


def test_snapshots_at_time_budgets_are_the_best_image_so_far():
    config = gs.StyleConfig(content="astronaut", style="coffee", size=48, steps=6, init="noise",
                            content_layers=("relu2_2",), style_layers=("relu1_1",), pretrained=False)
    result, snaps = experiments.run_with_snapshots(config, seconds=[0.0, 1e9])
    assert not result.cached and len(result.history) == 7
    assert snaps[1e9] is result.image                  # never reached: the final image
    assert snaps[0.0].shape == (48, 48, 3)
    # at time 0 nothing is better than the start: the snapshot is the initial image
    first, _ = gs.StyleConfig(**{**vars(config), "steps": 0}).run(progress=False)
    assert_array_equal(snaps[0.0], first)


def test_a_sweep_on_a_local_dask_cluster_equals_the_serial_one(tmp_path):
    """Two worker processes, one thread each; the run cache on storage both can see."""
    distributed = pytest.importorskip("distributed")

    import os

    import dask

    configs = [gs.StyleConfig(**{**BASE, "seed": s, "init": "noise"}) for s in (1, 2)]
    serial = experiments.sweep(configs, cache=tmp_path / "serial", progress=False)
    # Dask's nanny starts workers with OMP_NUM_THREADS=1; other threads, other rounding
    threads = {"distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": os.environ["OMP_NUM_THREADS"]}
    with dask.config.set(threads), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert set(client.run(lambda: os.environ["OMP_NUM_THREADS"]).values()) == {
            os.environ["OMP_NUM_THREADS"]}
        on_cluster = experiments.sweep(configs, cache=tmp_path / "shared",
                                       executor=client.get_executor(), progress=False)
    for a, b in zip(serial, on_cluster):
        assert_array_equal(a.image, b.image)
        assert [h["total"] for h in a.history] == [h["total"] for h in b.history]
    assert len(list((tmp_path / "shared").glob("*.png"))) == 2


def test_gatys_setup_is_the_papers_setup_with_its_weights():
    config = experiments.gatys_setup(content="astronaut", style="coffee", size=64, ratio=1e-4)
    assert (config.optimizer, config.pooling, config.normalized_vgg, config.init) == \
        ("lbfgs", "max", True, "noise")
    assert (config.tv_weight, config.pyramid, config.content_layers) == (0.0, (), ("relu4_2",))
    # authors' code: content weight 1, style weight 1/ratio, 1/N_l^2 per layer
    assert (config.content_weight, config.style_weight) == (1.0, 1e4)
    assert config.style_layer_weights == tuple(1 / n ** 2 for n in (64, 128, 256, 512, 512))
    two = experiments.gatys_setup(content="astronaut", style="coffee", size=64,
                                  style_layers=("relu1_1", "relu2_1"), pooling="avg", steps=5)
    assert two.style_layer_weights == (2.5 / 64 ** 2, 2.5 / 128 ** 2)   # 5/L each: w_l = 1/L
    assert (two.pooling, two.steps) == ("avg", 5)
    content_only = experiments.gatys_setup(content="astronaut", style="coffee", size=64,
                                           style_layers=(), content_layer="relu2_2")
    assert content_only.style_layers == () and content_only.style_layer_weights is None
    assert content_only.content_layers == ("relu2_2",)
    assert experiments.gatys_setup(content="astronaut", style="coffee", size=64,
                                   tv_weight=1.0).tv_weight == 1.0   # any field can change


def test_final_is_the_delivered_record_not_a_rejected_trial():
    """L-BFGS delivers its lowest full-size evaluation; its last record can be a rejected
    line-search trial. Normalized GD and Adam deliver their last image."""
    def rec(step, size, total):
        return dict(step=step, size=size, total=total)

    history = [rec(0, 48, 1.0), rec(1, 96, 9.0), rec(2, 96, 3.0), rec(3, 96, 50.0)]
    lbfgs = experiments.Result(gs.StyleConfig("a", "b", optimizer="lbfgs"), None, history, 1.0, "k", False)
    assert lbfgs.final == rec(2, 96, 3.0)   # not the 48 px level's lower number
    adam = experiments.Result(gs.StyleConfig("a", "b", optimizer="adam"), None, history, 1.0, "k", False)
    assert adam.final == rec(3, 96, 50.0)
