import os
import random
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

import gluon_style as gs
from gluon_style import runtime


def test_seed_repeats_every_generator():
    def draw():
        return random.random(), np.random.rand(), mx.nd.random.uniform(shape=(3,)).asnumpy().tolist()

    gs.seed(7)
    first = draw()
    gs.seed(7)
    assert draw() == first
    gs.seed(8)
    assert draw() != first


def test_contexts():
    assert gs.get_ctx("cpu") == mx.cpu() and gs.get_ctx(None) == mx.cpu()
    assert gs.get_ctx(mx.cpu()) == mx.cpu()
    with pytest.raises(ValueError, match="unknown context"):
        gs.get_ctx("tpu")


@pytest.mark.skipif(mx.context.num_gpus() > 0, reason="this machine has a GPU")
@pytest.mark.parametrize("ctx", ["gpu", "gpu:1", mx.gpu(0)])
def test_missing_gpu_is_a_clear_error(ctx):
    with pytest.raises(ValueError, match=r"GPU \d was requested but MXNet sees 0 GPU.*--ctx cpu"):
        gs.get_ctx(ctx)


def _threads_in_child(env):
    code = "import gluon_style, os; print(os.environ['OMP_NUM_THREADS'])"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_threads_default_to_cores_but_user_wins():
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    assert _threads_in_child(env) == str(len(os.sched_getaffinity(0)))
    assert _threads_in_child({**env, "OMP_NUM_THREADS": "1"}) == "1"


@pytest.mark.parametrize("first, warned", [("gluon_style", False), ("mxnet", True)])
def test_the_thread_default_holds_or_a_warning_says_why_not(first, warned):
    """MXNet reads OMP_NUM_THREADS when it loads: imported first, it never sees ours."""
    second = "mxnet" if first == "gluon_style" else "gluon_style"
    code = (f"import {first}, {second}, os, gluon_style.settings as s; "
            "print(os.environ['OMP_NUM_THREADS'], s.versions()['omp_num_threads'])")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       check=True)
    cores = str(len(os.sched_getaffinity(0)))
    assert r.stdout.split()[0] == cores
    assert ("mxnet was imported before gluon_style" in r.stderr) == warned
    assert r.stderr.count("imported before gluon_style") == (1 if warned else 0)
    assert (r.stdout.split()[1] == cores) != warned


ZEN4_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
cpu MHz\t\t: 2596.000
flags\t\t: fpu sse2 avx avx2 fma avx512f
processor\t: 1
vendor_id\t: AuthenticAMD
cpu MHz\t\t: 2600.125
"""


def test_cpu_info_parses_one_core_and_the_highest_clock():
    info = runtime.cpu_info(ZEN4_CPUINFO)
    assert (info.name, info.vendor, info.family, info.model) == ("AMD EPYC", "AuthenticAMD", 25, 17)
    assert {"avx2", "avx512f", "fma"} <= info.flags and "amx_tile" not in info.flags
    assert info.mhz == 2600.125
    assert runtime.cpu_name(info) == "AMD EPYC (family 25 model 17, AVX-512)"


def test_cpu_name_without_family_or_vector_units():
    info = runtime.cpu_info("model name\t: Old CPU\nflags\t\t: fpu sse2 amx_tile\n")
    assert (info.family, info.model, info.mhz) == (None, None, None)
    assert runtime.cpu_name(info) == "Old CPU (no AVX2, AMX)"
