import pytest

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet loads)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """An empty cache and models folder for tests that must not see the real ones."""
    monkeypatch.setenv("GLUON_STYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GLUON_STYLE_MODELS", str(tmp_path / "models"))
    monkeypatch.delenv("GLUON_STYLE_WHEEL", raising=False)
    return tmp_path
