"""Loading, resizing, (de)normalizing and saving images.

The network sees ImageNet-normalized RGB: ``(x / 255 - mean) / std`` per channel,
as a float32 NCHW NDArray. ``postprocess`` undoes exactly that.
"""
from __future__ import annotations

import os
from pathlib import Path

import mxnet as mx
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .files import atomic_path, check_folder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# VGG's five 2x2 poolings halve the image five times: below 32 px pool5 is empty.
MIN_SIDE = 32
# Largest working image (H*W). 2048x2048 fits; beyond 4096x4096 a VGG-19 pass
# needs tens of GiB.
MAX_PIXELS = 4096 * 4096
# Largest file we agree to decode at all (Pillow's own bomb guard is 179 MP).
MAX_INPUT_PIXELS = 100_000_000


class ImageError(ValueError):
    """An image could not be used; the message names the file and the problem."""


def load_image(path_or_name, *, max_size: int | None = None,
               shape: tuple[int, int] | None = None) -> Image.Image:
    """Load an image file or a registered image name as an RGB ``PIL.Image``.

    Parameters
    ----------
    path_or_name : str, os.PathLike, PIL.Image or numpy.ndarray
        A file Pillow can read, or a name from ``gluon_style.data`` (see
        ``python -m gluon_style list-images``), or an image already in memory
        (a uint8 array such as ``stylize`` returns).
    max_size : int, optional
        Resize so the longer side is ``max_size`` pixels, keeping the aspect.
    shape : (int, int), optional
        Resize to exactly ``(height, width)``. Give at most one of the two.

    Any mode is converted to RGB: grey, palette, CMYK, 16-bit; transparency is
    composited onto white; the EXIF orientation is applied; an embedded ICC colour
    profile is converted to sRGB.
    """
    if isinstance(path_or_name, Image.Image):
        image, label = path_or_name, "<image>"
    elif isinstance(path_or_name, np.ndarray):
        if path_or_name.dtype != np.uint8 or path_or_name.ndim not in (2, 3):
            raise ImageError(f"<array>: expected an HxW or HxWx3 uint8 array, got "
                             f"{path_or_name.dtype} of shape {path_or_name.shape}")
        image, label = Image.fromarray(path_or_name), "<array>"
    else:
        image, label = _open(path_or_name)
    image = to_rgb(image, label=label)
    w, h = image.size
    if min(w, h) < MIN_SIDE:
        raise ImageError(f"{label}: image is {w}x{h} px; the network needs at least "
                         f"{MIN_SIDE} px on each side")
    if max_size is not None or shape is not None:
        image = resize(image, max_size=max_size, shape=shape, label=label)
    return image


URL_SCHEMES = ("http://", "https://", "ftp://", "file://", "s3://", "gs://")


def _open(path_or_name) -> tuple[Image.Image, str]:
    from . import data

    text = os.fspath(path_or_name)
    if not str(text).strip():
        raise ImageError("an image name or path is empty")
    if str(text).lower().startswith(URL_SCHEMES):
        raise ImageError(f"{text}: URLs are not fetched; download the image and give its file "
                         "path, or a registered name (python -m gluon_style list-images)")
    path = Path(text).expanduser()
    if not path.exists():
        if data.is_registered(str(path_or_name)):
            return data.load(str(path_or_name)), str(path_or_name)
        raise ImageError(f"{path}: no such file (nor a registered image name; "
                         f"{data.suggest(str(text))}see `python -m gluon_style list-images`)")
    if path.is_dir():
        raise ImageError(f"{path}: is a directory, not an image file")
    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file Pillow can read") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: too many pixels to decode safely (over "
                         f"{MAX_INPUT_PIXELS:,} is refused); downscale it first") from None
    if image.width * image.height > MAX_INPUT_PIXELS:
        raise ImageError(f"{path}: {image.width}x{image.height} px is over the "
                         f"{MAX_INPUT_PIXELS:,}-pixel limit for input files; downscale it first")
    try:
        image.load()
    except (OSError, SyntaxError) as e:  # Pillow: "image file is truncated", broken data
        raise ImageError(f"{path}: truncated or corrupt image ({e})") from None
    return image, str(path)


def to_srgb(image: Image.Image, *, label: str = "<image>") -> Image.Image:
    """An RGB(A) or CMYK image with an embedded ICC profile, converted to sRGB (colours as the
    file means them); other images unchanged. A profile that cannot be read is ignored with a
    warning."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    import io
    import warnings

    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                         outputMode="RGBA" if image.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError) as e:
        warnings.warn(f"{label}: its embedded colour profile cannot be used ({e}); "
                      "taking its values as sRGB")
        return image


def to_rgb(image: Image.Image, *, label: str = "<image>") -> Image.Image:
    """Convert any Pillow mode to 8-bit sRGB (see ``load_image``)."""
    image = to_srgb(ImageOps.exif_transpose(image), label=label)
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        a = np.asarray(image, dtype=np.float64)
        top = 65535.0 if (mode.startswith("I;16") or a.max() > 255) else 255.0
        a = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(a, "L").convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as e:
        raise ImageError(f"{label}: cannot convert mode {mode} to RGB ({e})") from None


def resized_shape(size_wh: tuple[int, int], longer_side: int) -> tuple[int, int]:
    """(H, W) of an image of ``size_wh`` = (W, H) resized to ``longer_side``, aspect kept."""
    scale = longer_side / max(size_wh)
    return max(1, round(size_wh[1] * scale)), max(1, round(size_wh[0] * scale))


def resize(image: Image.Image, *, max_size: int | None = None,
           shape: tuple[int, int] | None = None, label: str = "<image>") -> Image.Image:
    """Resize to a longer side of ``max_size`` (aspect kept) or to ``shape=(H, W)``."""
    if (max_size is None) == (shape is None):
        raise ValueError("give exactly one of max_size and shape")
    h, w = (int(shape[0]), int(shape[1])) if shape is not None else \
        resized_shape(image.size, max_size)
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"{label}: resizing to {w}x{h} px leaves less than the "
                         f"{MIN_SIDE} px the network needs on each side; use a larger size")
    if h * w > MAX_PIXELS:
        side = int((MAX_PIXELS * max(h, w) / min(h, w)) ** 0.5)
        raise ImageError(f"{label}: {w}x{h} px is over the {MAX_PIXELS:,}-pixel cap; "
                         f"lower the size (--size {side} or less for this aspect)")
    if (w, h) == image.size:
        return image
    return image.resize((w, h), Image.LANCZOS)


def preprocess(image, *, ctx=None) -> mx.nd.NDArray:
    """RGB image (PIL or HxWx3 uint8 array) -> normalized (1, 3, H, W) float32 NDArray."""
    a = np.asarray(image, dtype=np.float32)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ImageError(f"expected an HxWx3 RGB image, got an array of shape {a.shape}")
    a = (a / 255.0 - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    return mx.nd.array(a.transpose(2, 0, 1)[None], ctx=ctx or mx.cpu(), dtype=np.float32)


def postprocess(X: mx.nd.NDArray) -> np.ndarray:
    """Normalized (1, 3, H, W) or (3, H, W) NDArray -> clipped HxWx3 uint8 array."""
    a = X.asnumpy() if isinstance(X, mx.nd.NDArray) else np.asarray(X)
    if a.ndim == 4:
        if a.shape[0] != 1:
            raise ValueError(f"postprocess takes one image, got a batch of {a.shape[0]}")
        a = a[0]
    a = a.transpose(1, 2, 0) * np.array(IMAGENET_STD, np.float32) + np.array(IMAGENET_MEAN, np.float32)
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def check_output(path: str | os.PathLike, *, inputs=(), sidecar: bool = True) -> None:
    """Refuse, before any work, an output image (or its .json sidecar) that cannot be written:
    an unknown extension, a directory, a read-only or immutable file or folder, or one of
    the run's ``inputs``. Nothing is written (an existing file is only opened, not changed)."""
    path = Path(path)
    if path.is_dir():
        raise ImageError(f"{path}: is a directory; give a file name such as {path / 'out.png'}")
    image_format(path)
    for target in (path, path.with_suffix(".json")) if sidecar else (path,):
        if target.is_dir():
            raise ImageError(f"{target}: is a directory, where the run's sidecar goes")
        try:
            check_folder(target.parent)
        except ValueError as e:
            raise ImageError(f"{target}: {e}") from None
        if target.exists() and not _writable_file(target):
            raise ImageError(f"{target}: the file exists and cannot be replaced (read-only or "
                             "immutable); choose another name")
    for ref in inputs:
        if isinstance(ref, (str, os.PathLike)) and Path(ref).exists() and \
                Path(ref).resolve() == path.resolve():
            raise ImageError(f"{path}: is an input of this run; choose another output name "
                             "(or --overwrite-input)")


def _writable_file(file: Path) -> bool:
    if not os.access(file, os.W_OK):
        return False
    try:  # root passes os.access; an immutable file still refuses to open for writing
        os.close(os.open(file, os.O_WRONLY | os.O_APPEND))
        return True
    except OSError:
        return False


def image_format(path: str | os.PathLike) -> str:
    """Pillow's format name for ``path``'s extension, if Pillow can write an RGB image in it;
    ImageError otherwise (check outputs with this before long work, so a typo fails at once)."""
    import io

    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise ImageError(f"{path}: cannot write images with the extension {path.suffix!r} "
                         "(use .png or .jpg)")
    try:
        Image.new("RGB", (1, 1)).save(io.BytesIO(), format=fmt)
    except (OSError, KeyError, ValueError):
        raise ImageError(f"{path}: cannot write an RGB image as {fmt} (use .png or .jpg)") from None
    return fmt


def save_image(image, path: str | os.PathLike, *, quality: int = 95) -> Path:
    """Save a PIL image, uint8 HxWx3 array or normalized NDArray atomically."""
    if isinstance(image, mx.nd.NDArray):
        image = postprocess(image)
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    path = Path(path)
    fmt = image_format(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return path


def pixel_bounds(shape) -> tuple[np.ndarray, np.ndarray]:
    """Normalized values of pixel values 0 and 1 per channel, broadcast to an NCHW ``shape``."""
    mean = np.array(IMAGENET_MEAN).reshape(1, 3, 1, 1)
    std = np.array(IMAGENET_STD).reshape(1, 3, 1, 1)
    return np.broadcast_to(-mean / std, shape), np.broadcast_to((1 - mean) / std, shape)

