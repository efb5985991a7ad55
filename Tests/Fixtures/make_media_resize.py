"""Golden outputs of cv2.resize (INTER_LINEAR, INTER_AREA) for MediaTests/ImageTests.

Run from the repository root with the oracle Python:
    /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_media_resize.py
Writes Tests/Fixtures/media/resize_source.png (48x36 RGB noise plus a gradient, fixed seed) and
resize_<method>_<W>x<H>.png for each case. All files are RGB PNGs.
"""
import os

import cv2
import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "media")
CASES = {
    "linear": [(100, 70), (20, 15), (24, 18), (31, 50), (7, 5)],
    "area": [(24, 18), (16, 12), (20, 15), (35, 27), (100, 70), (31, 50), (5, 4)],
}
FLAGS = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}


def write_rgb(name, rgb):
    cv2.imwrite(os.path.join(HERE, name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def main():
    os.makedirs(HERE, exist_ok=True)
    rng = np.random.default_rng(1234)
    h, w = 36, 48
    # Noise exercises rounding; the gradient and a hard edge exercise interpolation itself.
    image = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    image[:, : w // 2, 0] = np.linspace(0, 255, w // 2, dtype=np.uint8)[None, :]
    image[h // 2 :, :, 1] = 255
    write_rgb("resize_source.png", image)
    for method, sizes in CASES.items():
        for (dw, dh) in sizes:
            out = cv2.resize(image, (dw, dh), interpolation=FLAGS[method])
            write_rgb(f"resize_{method}_{dw}x{dh}.png", out)
    print("opencv", cv2.__version__, "wrote", HERE)


if __name__ == "__main__":
    main()
