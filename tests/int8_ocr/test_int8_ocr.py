#!/usr/bin/env python3
"""test_int8_ocr.py — the PaddleOCR detector (at 128x128) and direction
classifier quantized by onnxq itself (`onnxq preprocess`, `onnxq static`,
default types, QDQ and QOperator) on synthetic document images
(bench/text_images.py), then run in ONNX Runtime 1.30 (tests/oracle/run.js)
and in onnxq at 1 and 2 threads:
  - ORT loads and runs every written model;
  - onnxq's output equals ORT's on the same int8 model (cosine >= 0.9999,
    max |diff| small: both run the same integer kernels), and is
    byte-identical at 1 and 2 threads;
  - both stay close to the float model's ORT output (cosine bound below);
  - the detector's FPN Resize nodes, which QDQ fusion (and the QOperator
    format) leaves on uint8 tensors, run on int8_misc.c's kernel: with
    ONNXQ_VERBOSE=1 no "int8 Resize" hand-over is reported;
  - the hard-swish islands become lookup tables (rt/fuse_lut.c, reported
    with ONNXQ_VERBOSE=1), and the output is byte for byte the one without
    them (ONNXQ_NO_LUT_FUSION=1).
Skips (exit 0, says so) when the PaddleOCR models are not installed.
Usage: test_int8_ocr.py ONNXQ PROJECT_DIR WORK_DIR
"""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np

onnxq, project, work = (os.path.abspath(a) for a in sys.argv[1:4])
oracle = os.path.join(project, "tests", "oracle", "run.js")
images = os.path.join(project, "bench", "text_images.py")
assets = os.path.join(project, "tests", "oracle", "node_modules", "@gutenye",
                      "ocr-models", "assets")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)


def run(*args, env=None):
    return subprocess.run(list(args), capture_output=True, text=True, env=env)


def output_of(folder):
    files = sorted(glob.glob(os.path.join(folder, "*.npy")))
    return np.load(files[0]) if files else None


def cos(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


models = {
    # name: file, image size HxW, mean, std, calibration images WxH,
    #       cosine to float at least
    "det": ("ch_PP-OCRv4_det_infer.onnx", "128x128", "0.485,0.456,0.406",
            "0.229,0.224,0.225", "128x128", 0.6),
    "cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", "48x192", "0.5,0.5,0.5",
            "0.5,0.5,0.5", "320x48", 0.9),
}
if not os.path.exists(os.path.join(assets, models["det"][0])):
    print("skipped: PaddleOCR models not installed in", assets)
    sys.exit(0)

for name, (fname, hw, mean, std, cal, min_cos) in models.items():
    d = os.path.join(work, name)
    os.makedirs(d)
    img = os.path.join(d, "img")
    r = run("/usr/bin/python3", images, img, "3", cal)
    check(r.returncode == 0, f"{name}: images: {r.stderr}")
    h, w = hw.split("x")
    ind = os.path.join(d, "in")
    os.makedirs(ind)
    r = run("/usr/bin/python3", images, "--npy", os.path.join(ind, "x.npy"),
            f"{w}x{h}", mean, std)
    check(r.returncode == 0, f"{name}: input: {r.stderr}")
    fp32 = os.path.join(d, "fp32.onnx")
    r = run(onnxq, "preprocess", "-q", os.path.join(assets, fname), fp32)
    check(r.returncode == 0, f"{name}: preprocess: {r.stderr}")
    ref_dir = os.path.join(d, "out_fp32")
    os.makedirs(ref_dir)
    r = run("node", oracle, fp32, "--inputs", ind, "--out", ref_dir)
    check(r.returncode == 0, f"{name}: ORT fp32: {r.stderr}")
    yf = output_of(ref_dir)
    for fmt in ("qdq", "qoperator"):
        q = os.path.join(d, f"{fmt}.onnx")
        r = run(onnxq, "static", fp32, q, "--format", fmt, "-q", "--calib-images", img,
                "--image-size", hw, "--mean", mean, "--std", std)
        check(r.returncode == 0, f"{name} {fmt}: static: {r.stderr}")
        od = os.path.join(d, f"ort_{fmt}")
        os.makedirs(od)
        r = run("node", oracle, q, "--inputs", ind, "--out", od)
        check(r.returncode == 0, f"{name} {fmt}: ORT does not run it: {r.stderr}")
        yo = output_of(od)
        outs = []
        for t in ("1", "2"):
            qd = os.path.join(d, f"oq_{fmt}_{t}")
            os.makedirs(qd)
            env = dict(os.environ, ONNXQ_VERBOSE="1")
            r = run(onnxq, "run", q, "--inputs", ind, "--out", qd, "--threads", t, env=env)
            check(r.returncode == 0, f"{name} {fmt} {t} thr: onnxq run: {r.stderr[-500:]}")
            check("int8 Resize" not in r.stderr,
                  f"{name} {fmt}: an 8-bit Resize went to the reference kernel")
            check("elementwise islands" in r.stderr,
                  f"{name} {fmt}: no island became a lookup table")
            outs.append(output_of(qd))
        # the lookup-table fusion (rt/fuse_lut.c) changes no byte
        qd = os.path.join(d, f"oq_{fmt}_nolut")
        os.makedirs(qd)
        env = dict(os.environ, ONNXQ_NO_LUT_FUSION="1")
        r = run(onnxq, "run", q, "--inputs", ind, "--out", qd, env=env)
        check(r.returncode == 0, f"{name} {fmt}: onnxq run without tables: {r.stderr[-500:]}")
        plain = output_of(qd)
        check(plain is not None and outs[0] is not None and
              plain.tobytes() == outs[0].tobytes(),
              f"{name} {fmt}: lookup-table fusion changed the output")
        if any(v is None for v in (yf, yo, outs[0], outs[1])):
            check(False, f"{name} {fmt}: missing outputs")
            continue
        check(outs[0].tobytes() == outs[1].tobytes(),
              f"{name} {fmt}: 1 and 2 threads differ")
        c_same = cos(outs[0], yo)
        diff = float(np.abs(outs[0].astype(np.float64) - yo).max())
        check(c_same >= 0.9999 and diff <= 0.05,
              f"{name} {fmt}: onnxq vs ORT on the int8 model: cosine {c_same:.6f}, "
              f"max |diff| {diff:.3g}")
        co, cq = cos(yo, yf), cos(outs[0], yf)
        check(co >= min_cos and cq >= min_cos,
              f"{name} {fmt}: cosine to float: ORT {co:.4f}, onnxq {cq:.4f} (< {min_cos})")
        print(f"{name} {fmt}: cosine to float ORT {co:.5f} onnxq {cq:.5f}; "
              f"onnxq vs ORT {c_same:.6f} (max |diff| {diff:.2g})")

print(f"{checks} checks, {failures} failures")
sys.exit(1 if failures else 0)
