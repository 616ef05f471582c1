import mxnet as mx
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image

import gluon_style as gs
from gluon_style.image import IMAGENET_MEAN, IMAGENET_STD, MIN_SIDE, ImageError, to_rgb


def rgb_array(h=40, w=60):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK", "P"])
def test_plain_modes_become_rgb(tmp_path, mode):
    src = Image.fromarray(rgb_array()).convert(mode)
    ext = "jpg" if mode == "CMYK" else "png"
    src.save(tmp_path / f"x.{ext}")
    im = gs.load_image(tmp_path / f"x.{ext}")
    assert im.mode == "RGB" and im.size == (60, 40)
    if mode in ("RGB", "L", "P"):  # lossless: exactly Pillow's own conversion
        assert_array_equal(np.asarray(im), np.asarray(src.convert("RGB")))


def test_transparency_is_composited_on_white(tmp_path):
    a = np.zeros((40, 40, 4), np.uint8)
    a[..., 0] = 200
    a[:, :20, 3] = 255      # left half opaque red-ish, right half transparent
    Image.fromarray(a, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(a[..., [0, 3]], "LA").save(tmp_path / "la.png")
    im = np.asarray(gs.load_image(tmp_path / "a.png"))
    assert_array_equal(im[0, 0], [200, 0, 0])
    assert_array_equal(im[0, 39], [255, 255, 255])
    im = np.asarray(gs.load_image(tmp_path / "la.png"))
    assert_array_equal(im[0, 0], [200, 200, 200])
    assert_array_equal(im[0, 39], [255, 255, 255])


def test_16_bit_is_scaled_to_8_bit(tmp_path):
    a = np.full((40, 40), 65535, np.uint16)
    a[:, :20] = 257 * 100
    src = Image.fromarray(a)
    assert src.mode == "I;16"
    src.save(tmp_path / "g16.png")
    im = np.asarray(gs.load_image(tmp_path / "g16.png"))
    assert_array_equal(im[0, 0], [100, 100, 100])
    assert_array_equal(im[0, 39], [255, 255, 255])


def test_exif_rotation_is_applied(tmp_path):
    src = Image.fromarray(rgb_array(40, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    src.save(tmp_path / "r.jpg", exif=exif, quality=100)
    im = gs.load_image(tmp_path / "r.jpg")
    assert im.size == (40, 60)


def test_resize_keeps_aspect_or_takes_shape():
    im = Image.fromarray(rgb_array(100, 200))
    assert gs.resize(im, max_size=64).size == (64, 32)
    assert gs.resize(im, shape=(48, 50)).size == (50, 48)
    assert gs.load_image(im, max_size=300).size == (300, 150)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ImageError, match=r"nope\.jpg: no such file"):
        gs.load_image(tmp_path / "nope.jpg")


def test_not_an_image(tmp_path):
    (tmp_path / "t.jpg").write_text("hello")
    with pytest.raises(ImageError, match=r"t\.jpg: not an image"):
        gs.load_image(tmp_path / "t.jpg")


def test_truncated_image(tmp_path):
    Image.fromarray(rgb_array(200, 200)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut\.jpg: truncated or corrupt"):
        gs.load_image(tmp_path / "cut.jpg")


def test_too_small_states_the_minimum(tmp_path):
    Image.fromarray(rgb_array(20, 60)).save(tmp_path / "s.png")
    with pytest.raises(ImageError, match=f"60x20 px.*at least {MIN_SIDE} px"):
        gs.load_image(tmp_path / "s.png")
    with pytest.raises(ImageError, match="use a larger size"):
        gs.resize(Image.fromarray(rgb_array(40, 400)), max_size=100)


def test_absurd_size_says_how_to_lower_it():
    with pytest.raises(ImageError, match=r"over the .*-pixel cap; lower the size \(--size \d+"):
        gs.resize(Image.fromarray(rgb_array()), max_size=20000)


def test_preprocess_by_hand_and_round_trip():
    a = rgb_array(33, 47)
    X = gs.preprocess(a, ctx=mx.cpu())
    assert X.shape == (1, 3, 33, 47) and X.dtype == np.float32
    r, c = 5, 7
    expected = (a[r, c] / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    assert_allclose(X.asnumpy()[0, :, r, c], expected, rtol=1e-5)
    assert_array_equal(gs.postprocess(X), a)


def test_postprocess_clips():
    X = mx.nd.full((1, 3, 4, 4), 100.0)
    assert gs.postprocess(X).max() == 255
    assert gs.postprocess(-X).min() == 0


def test_save_is_atomic_and_leaves_nothing_on_error(tmp_path):
    out = tmp_path / "o.png"
    gs.save_image(rgb_array(), out)
    before = out.read_bytes()
    with pytest.raises(ImageError, match="cannot write images with the extension '.xyz'"):
        gs.save_image(rgb_array(), tmp_path / "o.xyz")
    with pytest.raises(ImageError, match="cannot write images with the extension '.psd'"):
        gs.image.check_output(tmp_path / "o.psd")     # Pillow reads PSD but cannot write it
    with pytest.raises(Exception):
        gs.save_image(np.zeros((4, 4, 7), np.uint8), out)  # Pillow cannot save this
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png"]


def test_to_rgb_of_rgb_is_identity():
    im = Image.fromarray(rgb_array())
    assert_array_equal(np.asarray(to_rgb(im)), np.asarray(im))


# --- colour-managed input -------------------------------------------------------------------

import struct  # noqa: E402

def s15(x): return struct.pack(">i", int(round(x * 65536)))

def xyz_tag(x, y, z): return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

def curv_gamma(g): return b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(g * 256)) + b"\0\0"

def desc_tag(text):
    t = text.encode() + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(t)) + t + b"\0" * 12 + b"\0" * 67

def matrix_profile(red, green, blue, gamma=2.2):
    tags = [(b"desc", desc_tag("test")), (b"wtpt", xyz_tag(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz_tag(*red)), (b"gXYZ", xyz_tag(*green)), (b"bXYZ", xyz_tag(*blue)),
            (b"rTRC", curv_gamma(gamma)), (b"gTRC", curv_gamma(gamma)), (b"bTRC", curv_gamma(gamma))]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while len(body) % 4: body += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body)); data += body
    size = offset + len(data)
    header = struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntr" + b"RGB " + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 24 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48
    header = header[:128].ljust(128, b"\0")
    return header + struct.pack(">I", len(tags)) + table + data


SRGB_PRIMARIES = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))


def test_an_embedded_colour_profile_is_converted_to_srgb(tmp_path):
    """A profile whose red and blue primaries are swapped: its 'red' pixels are blue."""
    red, green, blue = SRGB_PRIMARIES
    path = tmp_path / "swapped.png"
    Image.new("RGB", (40, 40), (200, 30, 30)).save(path, icc_profile=matrix_profile(blue, green, red))
    r, g, b = np.asarray(gs.load_image(path))[0, 0].astype(int)
    assert b > 150 and r < 60 and g < 60
    plain = tmp_path / "plain.png"
    Image.new("RGB", (40, 40), (200, 30, 30)).save(plain)
    assert_array_equal(np.asarray(gs.load_image(plain))[0, 0], [200, 30, 30])
    broken = tmp_path / "broken.png"
    Image.new("RGB", (40, 40), (200, 30, 30)).save(broken, icc_profile=b"not a profile")
    with pytest.warns(UserWarning, match="colour profile cannot be used"):
        assert_array_equal(np.asarray(gs.load_image(broken))[0, 0], [200, 30, 30])
