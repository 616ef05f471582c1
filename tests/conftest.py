import os
from pathlib import Path

import pytest

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet loads)


def mirror_or_cache_has(file_name: str) -> bool:
    from gluon_style.files import cache_dir

    mirror = os.environ.get("GLUON_STYLE_IMAGES")
    return bool(mirror and Path(mirror, file_name).exists()) or (cache_dir("images") / file_name).exists()


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """An empty cache and models folder for tests that must not see the real ones."""
    monkeypatch.setenv("GLUON_STYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GLUON_STYLE_MODELS", str(tmp_path / "models"))
    monkeypatch.delenv("GLUON_STYLE_WHEEL", raising=False)
    return tmp_path
