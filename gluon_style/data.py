"""Named images: scikit-image's bundled photos and the paintings and photos of the manifest.

The manifest's images ship inside the package (``gluon_style/images``, byte-identical to
the files at their pinned URLs), so nothing needs a download. An image a manifest names but
the package lacks (say, one you added to a copy of the manifest) is looked for in the folder
named by ``$GLUON_STYLE_IMAGES``, then in the cache (``$GLUON_STYLE_CACHE/images``), and only
then downloaded. Every copy is checked against the manifest's sha256: a mismatch is an
error, never a silent use.
"""
from __future__ import annotations

import functools
import json
import os
import urllib.request
from pathlib import Path

from PIL import Image

from .files import atomic_path, cache_dir, sha256

BUNDLED = Path(__file__).resolve().parent / "images"
MANIFEST = BUNDLED / "images.json"
MIRROR_ENV = "GLUON_STYLE_IMAGES"

# Photos that ship inside scikit-image (no download). name -> skimage.data function.
SKIMAGE_IMAGES = {
    "astronaut": "Eileen Collins, NASA (public domain)",
    "chelsea": "Chelsea the cat, Stefan van der Walt (CC0)",
    "coffee": "A cup of coffee, Rachel Michetti (CC0)",
    "rocket": "Falcon 9 launch, SpaceX (CC0)",
    "hubble_deep_field": "Hubble eXtreme Deep Field, NASA (public domain)",
}

DEFAULT_CONTENT = "tubingen"
DEFAULT_STYLE = "vangogh_starry_night"


class ChecksumError(RuntimeError):
    """A file's sha256 differs from the one the manifest pins."""


@functools.lru_cache(maxsize=None)
def manifest() -> dict[str, dict]:
    """name -> entry of the manifest (``gluon_style/images/images.json``)."""
    return {e["name"]: e for e in json.loads(MANIFEST.read_text())["images"]}


def names(role: str | None = None) -> list[str]:
    """All registered names, or those of one role ('content' or 'style')."""
    entries = [(n, "content") for n in SKIMAGE_IMAGES] + [(n, e["role"]) for n, e in manifest().items()]
    return [n for n, r in entries if role in (None, r)]


def is_registered(name: str) -> bool:
    return name in SKIMAGE_IMAGES or name in manifest()


def describe(name: str) -> str:
    """One line: role, title and credit."""
    if name in SKIMAGE_IMAGES:
        return f"content  {SKIMAGE_IMAGES[name]} [scikit-image, bundled]"
    e = manifest()[name]
    return f"{e['role']:<8} {e['title']}, {e['artist']}, {e['year']} [{e['pixels']}]"


def suggest(name: str) -> str:
    """'did you mean ...? ' naming the registered names closest to ``name``, or ''."""
    import difflib

    close = difflib.get_close_matches(name, names(), n=3, cutoff=0.5)
    return f"did you mean {' or '.join(map(repr, close))}? " if close else ""


def _unknown(name: str) -> KeyError:
    return KeyError(f"unknown image name {name!r}; {suggest(name)}registered names: "
                    f"{', '.join(names())}")


def load(name: str) -> Image.Image:
    """The registered image ``name`` as a PIL image (fetched if needed)."""
    if name in SKIMAGE_IMAGES:
        import skimage.data

        return Image.fromarray(getattr(skimage.data, name)())
    image = Image.open(path(name))
    image.load()
    return image


def path(name: str, *, progress: bool = True) -> Path:
    """Local, checksum-verified path of a downloadable image."""
    if name not in manifest():
        raise _unknown(name)
    entry = manifest()[name]
    if (BUNDLED / entry["file_name"]).exists():
        return _verified(BUNDLED / entry["file_name"], entry)
    mirror = os.environ.get(MIRROR_ENV)
    if mirror and (Path(mirror) / entry["file_name"]).exists():
        return _verified(Path(mirror) / entry["file_name"], entry)
    cached = cache_dir("images") / entry["file_name"]
    if cached.exists():
        return _verified(cached, entry)
    download(entry["url"], cached, sha256_hex=entry["sha256"], progress=progress,
             hint=f"or put {entry['file_name']} in a folder named by ${MIRROR_ENV}")
    return cached


def _verified(file: Path, entry: dict) -> Path:
    got = sha256(file)
    if got != entry["sha256"]:
        raise ChecksumError(f"{file}: sha256 {got} does not match the manifest's "
                            f"{entry['sha256']} for {entry['name']!r}; delete or replace the file")
    return file


def download(url: str, dest: Path, *, sha256_hex: str, progress: bool = True, hint: str = "") -> Path:
    """Download ``url`` to ``dest`` with a progress bar; keep it only if its sha256 matches."""
    from tqdm.auto import tqdm

    with atomic_path(dest) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f, tqdm(
                    total=int(r.headers.get("Content-Length") or 0) or None, unit="B",
                    unit_scale=True, desc=dest.name, disable=not progress) as bar:
                _copy(r, f, bar)
        except OSError as e:
            raise ConnectionError(f"could not download {url} ({e}); {hint}".rstrip("; ")) from None
        got = sha256(tmp)
        if got != sha256_hex:
            raise ChecksumError(f"{url}: downloaded file has sha256 {got}, expected {sha256_hex}")
    return dest


def _copy(source, target, bar) -> None:
    """Copy a readable to a writable in 64 KiB blocks, counting bytes on the progress bar."""
    for block in iter(lambda: source.read(1 << 16), b""):
        bar.update(target.write(block))


def fetch_all(*, progress: bool = True) -> list[Path]:
    """Every registered image's verified local path (bundled, else mirror, cache or download)."""
    return [path(n, progress=progress) for n in manifest()]
