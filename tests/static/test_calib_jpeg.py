#!/usr/bin/env python3
"""test_calib_jpeg.py — `onnxq static --calib-images` on JPEG files.

The oracle for JPEG decoding is libjpeg-turbo's own djpeg: each JPEG
(written by cjpeg from random smooth pictures) is decoded by djpeg and saved
as a PNG; calibrating a small conv model on the JPEG folder and on the PNG
folder must give the same ranges (the --calib-table JSON's tensors) and a
byte-identical model, so onnxq's JPEG path sees exactly the pixels djpeg
sees and then follows the PNG path.  The JPEG-calibrated model runs in
ONNX Runtime 1.30 close to float.  Bad input: a truncated JPEG and a file
that only claims to be a JPEG fail with one line naming the file, exit 1,
no output file.

usage: test_calib_jpeg.py ONNXQ SOURCE_DIR WORK_DIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import (check, cosine, fresh_dir, one_error_line, outputs_of,  # noqa: E402
                    run_onnxq, run_ort, summary, write_png)


def read_ppm(path):
    """[h, w, 3] uint8 from a binary PPM (P6, maxval 255) as djpeg writes it."""
    data = open(path, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P6" and fields[3] == b"255", fields
    w, h = int(fields[1]), int(fields[2])
    return np.frombuffer(data[pos + 1:pos + 1 + w * h * 3], np.uint8).reshape(h, w, 3)


def write_ppm(path, rgb):
    h, w, _ = rgb.shape
    with open(path, "wb") as fp:
        fp.write(b"P6\n%d %d\n255\n" % (w, h) + rgb.tobytes())


def make_model(path):
    """Conv 3->8 (3x3, pad 1) -> Relu -> Conv 8->4 on [1, 3, 16, 16]."""
    rng = np.random.default_rng(1)
    w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((4, 8, 1, 1)) * 0.3).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
         helper.make_node("Conv", ["r1", "w2"], ["y"], name="conv2")],
        "jpeg_net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16, 16])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
         numpy_helper.from_array(w2, "w2")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    onnxq, _src, work = sys.argv[1:4]
    fresh_dir(work)
    model = os.path.join(work, "net.onnx")
    make_model(model)
    jpg_dir, png_dir = os.path.join(work, "jpg"), os.path.join(work, "png")
    os.makedirs(jpg_dir)
    os.makedirs(png_dir)
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:20, 0:24]
    for i in range(5):
        # smooth colour gradients plus texture: JPEG keeps them recognisable
        base = np.stack([128 + 100 * np.sin(xx / (3 + i) + c) * np.cos(yy / (4 + c))
                         for c in range(3)], axis=-1)
        rgb = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        ppm = os.path.join(work, f"p{i}.ppm")
        write_ppm(ppm, rgb)
        jpg = os.path.join(jpg_dir, f"img{i}.jpg")
        subprocess.run(["cjpeg", "-quality", "85", "-outfile", jpg, ppm], check=True)
        dec = os.path.join(work, f"d{i}.ppm")
        subprocess.run(["djpeg", "-pnm", "-outfile", dec, jpg], check=True)
        pixels = read_ppm(dec)
        check(pixels.shape == (20, 24, 3), f"djpeg decoded img{i} as {pixels.shape}")
        check(int(np.abs(pixels.astype(int) - rgb.astype(int)).max()) > 0,
              f"img{i}: the JPEG is lossy (else the test proves nothing)")
        write_png(os.path.join(png_dir, f"img{i}.png"), pixels)

    common = ["--image-size", "16x16", "--mean", "0.5,0.4,0.3", "--std", "0.25,0.2,0.3",
              "--no-check", "-q"]
    outs = {}
    for kind, folder in (("jpg", jpg_dir), ("png", png_dir)):
        out = os.path.join(work, f"q_{kind}.onnx")
        table = os.path.join(work, f"t_{kind}.json")
        r = run_onnxq(onnxq, "static", model, out, "--calib-images", folder,
                      "--calib-table", table, *common)
        check(r.returncode == 0, f"static on {kind}: exit {r.returncode}: {r.stderr.strip()}")
        outs[kind] = (out, table)
    if all(os.path.exists(o) for o, _ in outs.values()):
        tj, tp = (json.load(open(t)) for _, t in outs.values())
        check(tj["tensors"] == tp["tensors"],
              "JPEG and djpeg-decoded PNG calibrations give the same ranges")
        check(len(tj["tensors"]) >= 3 and len(tj["samples"]) == 5,
              f"the calibration table has ranges of 5 samples: {tj}")
        check(open(outs["jpg"][0], "rb").read() == open(outs["png"][0], "rb").read(),
              "JPEG- and PNG-calibrated models are byte-identical")

        # the JPEG-calibrated model runs in ORT, close to the float model
        x = np.random.default_rng(3).uniform(-1.5, 1.5, (1, 3, 16, 16)).astype(np.float32)
        xf = os.path.join(work, "x.npy")
        np.save(xf, x)
        fo = outputs_of(run_ort(model, os.path.join(work, "ort_f"), {"x": xf}),
                        os.path.join(work, "ort_f"))
        qo = outputs_of(run_ort(outs["jpg"][0], os.path.join(work, "ort_q"), {"x": xf}),
                        os.path.join(work, "ort_q"))
        if check(fo is not None and qo is not None, "ORT runs the float and JPEG-calibrated models"):
            c = cosine(fo["y"], qo["y"])
            check(c >= 0.99, f"ORT: JPEG-calibrated int8 cosine to float {c:.5f} >= 0.99")

    # bad input: a truncated JPEG, and text named .jpg
    for name, payload in (("cut.jpg", open(os.path.join(jpg_dir, "img0.jpg"), "rb").read()[:200]),
                          ("fake.jpg", b"this is not a picture\n")):
        bad = os.path.join(work, "bad_" + name[:-4])
        fresh_dir(bad)
        with open(os.path.join(bad, name), "wb") as fp:
            fp.write(payload)
        out = os.path.join(work, f"bad_{name}.onnx")
        r = run_onnxq(onnxq, "static", model, out, "--calib-images", bad, *common)
        one_error_line(r, name, what=f"static on {name}")
        check(not os.path.exists(out), f"{name}: no output file")
    return summary("calib_jpeg: ")


if __name__ == "__main__":
    sys.exit(main())
