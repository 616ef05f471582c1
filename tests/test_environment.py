"""environment.yml and pyproject.toml must pin the same set."""
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_conda_and_pip_pins_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_route = set(project["dependencies"])
    for extra, reqs in project["optional-dependencies"].items():
        if extra != "bench":   # the benchmarks' PyTorch reference, installed only by hand
            pip_route |= {r for r in reqs if not r.startswith("gluon_style")}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_route = {r for r in pip_section if not r.startswith("-e")}
    assert conda_route == pip_route
    assert all("==" in r for r in pip_route), "every requirement is pinned"
    assert {"mxnet==1.9.1", "numpy==1.23.5"} <= pip_route
    assert "python=3.11" in env["dependencies"]
