import hashlib
from pathlib import Path

import numpy as np
import pytest

from gluon_style import data
from gluon_style.files import sha256


def test_manifest_is_complete_and_credited():
    entries = data.manifest()
    assert len(entries) == 18
    assert sum(e["role"] == "style" for e in entries.values()) == 12
    for e in entries.values():
        for key in ("url", "sha256", "size", "title", "artist", "year", "license", "attribution"):
            assert e[key], (e["name"], key)
        assert len(e["sha256"]) == 64 and "/" in e["url"]
    assert {data.DEFAULT_CONTENT, data.DEFAULT_STYLE} <= set(entries)
    readme = (Path(__file__).parent.parent / "data" / "README.md").read_text()
    assert all(e["title"] in readme for e in entries.values())


def test_bundled_photos_load_without_download():
    assert set(data.SKIMAGE_IMAGES) <= set(data.names("content"))
    image = data.load("chelsea")
    assert image.mode == "RGB" and min(image.size) > 100


def test_unknown_name_lists_registered_ones():
    with pytest.raises(KeyError, match="registered names: astronaut"):
        data.path("mona_lisa")


def _fake_entry(monkeypatch, tmp_path, payload: bytes, sha=None):
    src = tmp_path / "remote.png"
    src.write_bytes(payload)
    entry = dict(name="fake", role="style", file_name="fake.png", url=src.as_uri(),
                 sha256=sha or hashlib.sha256(payload).hexdigest(), size=len(payload))
    monkeypatch.setattr(data, "manifest", lambda: {"fake": entry})
    return entry


def test_download_verifies_and_caches(tmp_cache, monkeypatch, tmp_path):
    entry = _fake_entry(monkeypatch, tmp_path, b"pretend image bytes")
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    got = data.path("fake", progress=False)
    assert got.read_bytes() == b"pretend image bytes" and sha256(got) == entry["sha256"]
    (tmp_path / "remote.png").unlink()       # second call: from the cache, no download
    assert data.path("fake", progress=False) == got


def test_wrong_checksum_is_an_error_and_leaves_nothing(tmp_cache, monkeypatch, tmp_path):
    _fake_entry(monkeypatch, tmp_path, b"tampered", sha="0" * 64)
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    with pytest.raises(data.ChecksumError, match="expected 0000"):
        data.path("fake", progress=False)
    assert not list((tmp_cache / "cache").rglob("fake*"))


def test_mirror_file_with_wrong_checksum_is_not_used(tmp_cache, monkeypatch, tmp_path):
    _fake_entry(monkeypatch, tmp_path, b"good", sha=hashlib.sha256(b"good").hexdigest())
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "fake.png").write_bytes(b"bad")
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))
    with pytest.raises(data.ChecksumError, match="does not match the manifest"):
        data.path("fake", progress=False)


def test_unreachable_url_says_where_else_to_look(tmp_cache, monkeypatch, tmp_path):
    entry = _fake_entry(monkeypatch, tmp_path, b"x")
    (tmp_path / "remote.png").unlink()
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    with pytest.raises(ConnectionError, match="GLUON_STYLE_IMAGES"):
        data.path(entry["name"], progress=False)


def test_every_registered_image_ships_byte_identical_to_its_manifest():
    for name, entry in data.manifest().items():
        file = data.BUNDLED / entry["file_name"]
        assert sha256(file) == entry["sha256"] and file.stat().st_size == entry["size"], name
        assert data.path(name) == file


def test_unknown_name_suggests_the_closest(monkeypatch):
    with pytest.raises(KeyError, match="did you mean 'vangogh_starry_night'"):
        data.path("vangogh_stary_night")


def test_real_registered_painting_loads():
    image = data.load(data.DEFAULT_STYLE)
    assert image.size == (1280, 1014)
    assert np.asarray(image.convert("RGB")).mean() > 20
