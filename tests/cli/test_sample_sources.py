#!/usr/bin/env python3
"""test_sample_sources.py — the sample source options (--calib,
--calib-wav, --calib-images and their settings) are one parser shared by
`onnxq static`, `onnxq compare` and `onnxq tune` (src/cli/sample_opts.c):

  * compare and tune accept --calib-images: on a tiny Conv model fed
    [1, 3, 16, 16] from PNGs, compare's numbers with --calib-images equal
    those with --calib on .npy files that numpy preprocessed from the same
    PNGs (the oracle of the image pipeline), and agree with the cosine numpy
    computes from ONNX Runtime's outputs of both models; tune holds out the
    expected file and the model it writes runs in ONNX Runtime;
  * bad image folders (empty, no image file, a .png that is not one, an
    --image-size the model does not take) and bad option values give the
    same one-line message from all three commands: exit 1 (2 for usage),
    nothing written.
Usage: test_sample_sources.py ONNXQ WORK_DIR
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import check, cosine, fresh_dir, num, run_onnxq, run_ort, summary, write_png  # noqa: E402

onnxq, work = (os.path.abspath(a) for a in sys.argv[1:3])
fresh_dir(work)


def p(*a):
    return os.path.join(work, *a)


# ---- data: 4 PNGs, the same preprocessed by numpy into .npy files
MEAN, STD = np.array([0.5, 0.4, 0.3]), np.array([0.25, 0.2, 0.3])
rs = np.random.RandomState(7)
imgs = [rs.randint(0, 256, (16, 16, 3)).astype(np.uint8) for _ in range(4)]
os.makedirs(p("img"))
os.makedirs(p("npy"))
xs = []
for i, im in enumerate(imgs):
    write_png(p("img", f"im{i}.png"), im)
    x = ((im.astype(np.float64) / 255 - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
    xs.append(x)
    np.save(p("npy", f"im{i}.npy"), x)
IMG = ["--image-size", "16", "--mean", "0.5,0.4,0.3", "--std", "0.25,0.2,0.3"]

x_vi = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 16, 16])
y_vi = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
w = numpy_helper.from_array(rs.randn(4, 3, 3, 3).astype(np.float32), "w")
b = numpy_helper.from_array(rs.randn(4).astype(np.float32), "b")
m = helper.make_model(helper.make_graph(
    [helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv")], "g", [x_vi], [y_vi], [w, b]),
    opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
model = p("m.onnx")
onnx.save(m, model)


def ort_out(mpath, i, tag):
    out = p(f"ort_{tag}_{i}")
    r = run_ort(mpath, out, {"x": p("npy", f"im{i}.npy")}, threads=1)
    check(r.returncode == 0, f"ORT on {os.path.basename(mpath)}: {r.stderr}")
    return np.load(os.path.join(out, "y.npy")) if r.returncode == 0 else None


# ---- static writes the quantized model from the PNGs; ORT runs it
q = p("m.sint8.onnx")
r = run_onnxq(onnxq, "static", model, q, "--calib-images", p("img"), *IMG, "--no-check", "-q")
check(r.returncode == 0 and os.path.exists(q), f"static --calib-images: {r.stderr}")
f_ort = [ort_out(model, i, "f") for i in range(4)]
q_ort = [ort_out(q, i, "q") for i in range(4)]
ort_cos = [cosine(a, c) for a, c in zip(f_ort, q_ort)] if all(a is not None for a in f_ort + q_ort) else None
if ort_cos:
    check(min(ort_cos) > 0.99, f"ORT: int8 vs float cosine {ort_cos}")

# ---- compare: --calib-images == --calib on numpy's preprocessing
r1 = run_onnxq(onnxq, "compare", model, q, "--calib-images", p("img"), *IMG, "--runs", "0", "--json")
r2 = run_onnxq(onnxq, "compare", model, q, "--calib", p("npy"), "--runs", "0", "--json")
check(r1.returncode == 0 and r2.returncode == 0, f"compare: {r1.stderr} {r2.stderr}")
if r1.returncode == 0 and r2.returncode == 0:
    j1, j2 = json.loads(r1.stdout), json.loads(r2.stdout)
    check(j1["samples"] == 4 and j1["samples_from"].startswith("images in "),
          f"compare --calib-images: {j1['samples']} samples from {j1['samples_from']!r}")
    o1, o2 = j1["outputs"][0], j2["outputs"][0]
    for key in ("cosine", "sqnr_db", "max_abs"):
        for s in ("mean", "worst"):
            a, c = num(o1[key][s]), num(o2[key][s])
            check(abs(a - c) <= 1e-6 * max(1.0, abs(c)),
                  f"compare {key} {s}: images {a} vs numpy-preprocessed .npy {c}")
    if ort_cos:
        check(abs(num(o1["cosine"]["worst"]) - min(ort_cos)) < 1e-4 and
              abs(num(o1["cosine"]["mean"]) - float(np.mean(ort_cos))) < 1e-4,
              f"compare cosine {o1['cosine']} vs numpy on ORT outputs {ort_cos}")
# the draw options reach compare too
r = run_onnxq(onnxq, "compare", model, q, "--calib-images", p("img"), *IMG, "--runs", "0", "--json",
              "--num-samples", "3", "--seed", "5", "--no-replacement")
check(r.returncode == 0 and json.loads(r.stdout)["samples"] == 3 and
      "without replacement" in json.loads(r.stdout)["samples_from"], f"compare --num-samples 3: {r.stderr}")

# ---- tune on the PNGs: holds out im3.png (the last of 4 with --holdout 1)
t = p("m.tuned.onnx")
r = run_onnxq(onnxq, "tune", model, "--calib-images", p("img"), *IMG, "--holdout", "1",
              "--candidates", "qdq/u8s8/pc/minmax/default", "--runs", "1", "--warmup", "0",
              "--max-drop", "cosine=0.99", "--json", "--out", t, "-q")
check(r.returncode == 0, f"tune --calib-images: exit {r.returncode}: {r.stderr}")
if r.returncode == 0:
    j = json.loads(r.stdout)
    check(j["calib_samples"] == 3 and j["holdout"] == ["im3.png"] and j["written"] == t,
          f"tune split: {j['calib_samples']} calibration, held out {j['holdout']}")
    c = j["candidates"][0]
    tq = ort_out(t, 3, "t")
    if tq is not None and f_ort[3] is not None:
        ref = cosine(f_ort[3], tq)
        check(ref > 0.99 and abs(num(c["cosine_worst"]) - ref) < 1e-4,
              f"tune held-out cosine {c['cosine_worst']} vs numpy on ORT outputs {ref}")

# ---- bad input: the same message from all three commands
os.makedirs(p("empty"))
os.makedirs(p("notes"))
with open(p("notes", "readme.txt"), "w") as fp:
    fp.write("no images here\n")
os.makedirs(p("garbage"))
with open(p("garbage", "a.png"), "w") as fp:
    fp.write("not a png\n")
write_png(p("garbage", "b.png"), imgs[0])
out = p("bad.onnx")


def three(args):
    """Runs static, compare and tune with the same source args; returns
    [(command, result)]."""
    return [("static", run_onnxq(onnxq, "static", model, out, *args, "--no-check")),
            ("compare", run_onnxq(onnxq, "compare", model, model, *args, "--runs", "0")),
            ("tune", run_onnxq(onnxq, "tune", model, *args, "--out", out, "-q", "--holdout", "1"))]


cases = [
    ("empty folder", ["--calib-images", p("empty"), *IMG], 1, "no image"),
    ("no image file", ["--calib-images", p("notes"), *IMG], 1, "no image"),
    ("not a PNG", ["--calib-images", p("garbage"), *IMG], 1, "a.png"),
    ("wrong --image-size", ["--calib-images", p("img"), "--image-size", "8"], 1, "[1, 3, 16, 16]"),
    ("--no-replacement over the files", ["--calib-images", p("img"), *IMG, "--num-samples", "9",
                                         "--no-replacement"], 1, "without replacement"),
    ("bad --image-size", ["--calib-images", p("img"), "--image-size", "16y"], 2, "--image-size: '16y'"),
    ("bad --layout", ["--calib-images", p("img"), "--layout", "chw"], 2, "--layout"),
    ("bad --mean", ["--calib-images", p("img"), "--mean", "1,2"], 2, "--mean wants R,G,B"),
    ("bad --num-samples", ["--calib-images", p("img"), "--num-samples", "0"], 2, "--num-samples"),
    ("two sources", ["--calib", p("npy"), "--calib-images", p("img")], 2, "give one of --calib, "
     "--calib-wav, --calib-images"),
]
for what, args, code, needle in cases:
    texts = []
    for cmd, r in three(args):
        lines = r.stderr.strip().splitlines()
        head = f"onnxq {cmd}: "
        check(r.returncode == code and len(lines) == (1 if code == 1 else 2) and
              lines[0].startswith(head) and needle in lines[0],
              f"{what}: {cmd}: exit {r.returncode}, stderr {r.stderr!r}")
        check(not os.path.exists(out), f"{what}: {cmd} left {out}")
        if os.path.exists(out):
            os.remove(out)
        texts.append(lines[0][len(head):] if lines else "")
    # "only N of its M files are not held out" is tune's own wording
    if what.startswith("--no-replacement"):
        texts = texts[:2]
    check(len(set(texts)) == 1, f"{what}: messages differ: {texts}")

# the help of all three lists the same block
helps = [run_onnxq(onnxq, c, "--help").stdout for c in ("static", "compare", "tune")]
block = "  --calib-images DIR     PNG/JPEG, RGB, bilinear resize, (x/255-mean)/std\n"
check(all(block in h for h in helps), "the shared sample-source help block in all three")

sys.exit(summary("test_sample_sources: "))
