"""Make the guidance images of notebook 06's spatial-control figure from registered images.

    python data/guidance/make_guidance.py

* ``tubingen_sky.png``, ``tubingen_ground.png``: masks of the Tübingen photo's sky (its
  blue pixels connected to the top edge, closed and hole-filled) and of the rest.
* ``munch_the_scream_sky.png``, ``munch_the_scream_ground.png``: the painting's sky band
  and its fjord and bridge, as crops. Gatys et al. 2017 guide the painting with masks too;
  a crop is that guidance for a rectangular region.

The outputs are committed; this script says how they were made, and remakes them exactly.
"""
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

import gluon_style as gs

HERE = Path(__file__).resolve().parent
SCREAM_SKY = (0, 0, 1110, 360)          # left, top, right, bottom at the painting's 1200x1528
SCREAM_GROUND = (0, 560, 1130, 1528)


def sky_mask(photo: Image.Image) -> np.ndarray:
    """Blue pixels connected to the top edge, closed and hole-filled: True in the sky."""
    r, g, b = np.moveaxis(np.asarray(photo, np.float32), -1, 0)
    blue = (b > r + 25) & (b > g) & (b > 110)
    labels, _ = ndimage.label(blue)
    sky = np.isin(labels, np.unique(labels[0][labels[0] > 0]))
    pad = 4   # edge-padded, so that the closing does not erode the image's border
    closed = ndimage.binary_closing(np.pad(sky, pad, mode="edge"), iterations=3)[pad:-pad, pad:-pad]
    return ndimage.binary_fill_holes(closed)


def main() -> None:
    photo = gs.load_image("tubingen")
    sky = sky_mask(photo)
    for name, region in (("tubingen_sky", sky), ("tubingen_ground", ~sky)):
        Image.fromarray(region.astype(np.uint8) * 255).save(HERE / f"{name}.png")
    scream = gs.load_image("munch_the_scream")
    assert scream.size == (1200, 1528), scream.size
    scream.crop(SCREAM_SKY).save(HERE / "munch_the_scream_sky.png")
    scream.crop(SCREAM_GROUND).save(HERE / "munch_the_scream_ground.png")
    print(f"sky: {sky.mean():.1%} of the photo; written to {HERE}")


if __name__ == "__main__":
    main()
