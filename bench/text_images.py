#!/usr/bin/python3
"""text_images.py — deterministic synthetic "document" PNGs for calibrating
the PaddleOCR models (the repository has no photos): light paper with a
gradient, rows of dark glyph-like strokes (bars, boxes, slants) of varying
size and colour, a little noise.  Written with zlib (no PIL here).

usage: text_images.py OUTDIR [N] [WIDTHxHEIGHT]   (default 8, 320x96)
       text_images.py --npy OUT.npy WIDTHxHEIGHT MEAN STD [INDEX]
         one page (INDEX, default 9: past the calibration set) as a
         [1, 3, H, W] float32 input, (x/255 - MEAN)/STD, MEAN and STD as R,G,B
"""
import os
import struct
import sys
import zlib

import numpy as np


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as fp:
        fp.write(b"\x89PNG\r\n\x1a\n"
                 + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                 + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def page(rs, w, h):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 215 + 30 * (xx / w) * rs.uniform(-1, 1) + 20 * (yy / h) * rs.uniform(-1, 1)
    img = np.repeat(base[:, :, None], 3, axis=2) + rs.uniform(-15, 15, 3)
    y = rs.randint(2, 8)
    while y < h - 6:
        gh = rs.randint(max(5, h // 12), max(7, h // 3))  # glyph height
        if y + gh >= h:
            break
        ink = rs.uniform(0, 90, 3)
        x = rs.randint(2, max(3, w // 8))
        while x < w - gh:
            gw = max(2, int(gh * rs.uniform(0.4, 1.0)))
            kind = rs.randint(4)
            t = max(1, gh // 7)
            g = np.zeros((gh, gw), bool)
            if kind == 0:                       # vertical bar(s)
                g[:, :t] = True
                g[:, gw - t:] = rs.rand() < 0.5
            elif kind == 1:                     # box
                g[:t, :] = g[-t:, :] = g[:, :t] = g[:, -t:] = True
            elif kind == 2:                     # slant
                for r in range(gh):
                    c = int(r * (gw - t) / gh)
                    g[r, c:c + t] = True
            else:                               # horizontal strokes
                g[:t, :] = True
                g[gh // 2:gh // 2 + t, :] = True
            img[y:y + gh, x:x + gw][g] = ink
            x += gw + rs.randint(1, max(2, gh // 2))
            if rs.rand() < 0.08:
                x += gh                         # word gap
        y += gh + rs.randint(3, max(4, gh))
    img += rs.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def main():
    if sys.argv[1] == "--npy":
        w, h = (int(v) for v in sys.argv[3].split("x"))
        mean = np.array([float(v) for v in sys.argv[4].split(",")])
        std = np.array([float(v) for v in sys.argv[5].split(",")])
        idx = int(sys.argv[6]) if len(sys.argv) > 6 else 9
        rs = np.random.RandomState(2024)
        for _ in range(idx + 1):
            img = page(rs, w, h)
        x = (img.astype(np.float64) / 255 - mean) / std
        np.save(sys.argv[2], x.transpose(2, 0, 1)[None].astype(np.float32))
        return
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    w, h = (int(v) for v in (sys.argv[3] if len(sys.argv) > 3 else "320x96").split("x"))
    os.makedirs(out, exist_ok=True)
    rs = np.random.RandomState(2024)
    for i in range(n):
        write_png(os.path.join(out, "page%02d.png" % i), page(rs, w, h))


if __name__ == "__main__":
    main()
