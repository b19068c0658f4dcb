"""Real handwritten digits as an ImageFolder, and scikit-learn's SVC on the same split.

scikit-learn's `load_digits` (the UCI "Optical Recognition of Handwritten Digits" test
set: 1,797 images, 8x8, 17 gray levels) is split 75/25, stratified, with
`random_state=0`; both halves are written as 8-bit grayscale PNGs in
`OUT/train/<digit>/` and `OUT/test/<digit>/` (value v of 0..16 becomes round(v * 255 / 16)),
and `SVC()` with its defaults (RBF kernel, C=1, gamma="scale") is fit on the train half
and scored on the test half, from the same 8-bit values the PNGs hold.

    python benches/peers/sklearn_digits.py OUT
    synthgym classify train OUT/train --config agents/classify-digits.toml --out runs/digits
    synthgym classify eval runs/digits OUT/test
"""

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC


def write_gray_png(path: Path, pixels: np.ndarray) -> None:
    h, w = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "digits")
    digits = load_digits()
    images = np.round(digits.images * 255.0 / 16.0).astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(images, digits.target, test_size=0.25, stratify=digits.target, random_state=0)
    for split, xs, ys in (("train", x_train, y_train), ("test", x_test, y_test)):
        for i, (x, y) in enumerate(zip(xs, ys)):
            folder = out / split / str(y)
            folder.mkdir(parents=True, exist_ok=True)
            write_gray_png(folder / f"{i:04d}.png", x)
    svc = SVC().fit(x_train.reshape(len(x_train), -1) / 255.0, y_train)
    acc = svc.score(x_test.reshape(len(x_test), -1) / 255.0, y_test)
    print(f"wrote {len(x_train)} train and {len(x_test)} test images to {out}")
    print(f"sklearn SVC() test accuracy: {acc:.4f} ({round(acc * len(y_test))}/{len(y_test)})")


if __name__ == "__main__":
    main()
