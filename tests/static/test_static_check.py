#!/usr/bin/env python3
"""test_static_check.py — `onnxq static --check/--ort` and `onnxq bench --ort`
on the demo speaker model.

  * the check table (size, onnxq latency, output cosine/SQNR) is printed on
    the files calibration did not draw: which ones is recomputed with
    Python's random.choices (the draw onnxq follows) and the count checked;
  * its held-out cosine is >= 0.99, and so is the cosine ONNX Runtime 1.30
    (tests/oracle/run.js) computes between the float and the written int8
    model on a held-out wav's features (`onnxq fbank`), independent of
    onnxq's runtime and of its comparison code;
  * the sizes printed are the files' sizes;
  * --ort adds ONNX Runtime latencies; no held-out file is said plainly;
    --no-check prints no table;
  * bench --ort prints an ORT median and the ratio onnxq/ORT that matches
    the two medians printed (text and JSON);
  * a runner that does not exist: one line, exit 1, nothing written
    (static: the runner is looked up before any work); node failing after
    the model was written: exit 1 and the model is kept.
Usage: test_static_check.py ONNXQ PROJECT_DIR WORK_DIR
"""
import json
import os
import random
import re
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import check, cosine, fresh_dir, run_onnxq, run_ort, summary  # noqa: E402

onnxq, project, work = (os.path.abspath(a) for a in sys.argv[1:4])
model = os.path.join(project, "examples", "speaker", "sv_demo.onnx")
wav_dir = os.path.join(project, "examples", "speaker", "wav")
fresh_dir(work)


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("ONNXQ_ORT_RUNNER", None)
    e.update(env or {})
    return run_onnxq(onnxq, *args, env=e)


def row(text, label):
    """The numbers of a table row 'label  a  b  cx'."""
    m = re.search(re.escape(label) + r"\s+([-\d.]+)x?\s+([-\d.]+)x?(?:\s+([-\d.]+)x)?", text)
    return [float(g) for g in m.groups() if g is not None] if m else None


files = sorted(os.path.join(wav_dir, f) for f in os.listdir(wav_dir))

# ---- 1. static with 5 draws: the check runs on the files not drawn, --ort
# (3 check files: the int8 model is slow in the sanitizer build)
q = os.path.join(work, "demo.sint8.onnx")
r = run("static", model, q, "--calib-wav", wav_dir, "--num-samples", "5",
        "--seed", "11", "--threads", "1", "--check-samples", "3", "--ort")
print(r.stdout, r.stderr, flush=True)
check(r.returncode == 0 and os.path.exists(q), f"static --ort: {r.returncode} {r.stderr}")
drawn = set(random.Random(11).choices(files, k=5))
held = [f for f in files if f not in drawn]
m = re.search(r"check: float32 vs int8 on (\d+) files? held out from calibration", r.stdout)
check(m is not None and int(m.group(1)) == min(3, len(held)),
      f"held-out count: want {min(3, len(held))} of {len(held)}: {r.stdout}")
# the latency row names the first held-out file
check(f"on {os.path.basename(held[0])}," in r.stdout, f"latency file: {r.stdout}")
m = re.search(r"output embedding: cosine mean ([\d.]+) worst ([\d.]+), SQNR mean ([-\d.]+) dB", r.stdout)
check(m is not None, "no cosine row")
if m:
    mean_cos, worst_cos, sqnr = (float(g) for g in m.groups())
    check(worst_cos >= 0.99 and mean_cos >= worst_cos, f"check cosine {mean_cos} {worst_cos}")
    # cosine 0.999 is about 27 dB of SQNR for these embeddings; 15 dB would
    # be a cosine near 0.985
    check(sqnr > 15, f"check SQNR {sqnr}")
size = row(r.stdout, "size (MiB)")
check(size is not None and abs(size[0] - os.path.getsize(model) / 1048576) < 0.006
      and os.path.exists(q) and abs(size[1] - os.path.getsize(q) / 1048576) < 0.006
      and abs(size[2] - size[1] / size[0]) < 0.006, f"size row {size}")
lat = row(r.stdout, "onnxq latency (ms)")
check(lat is not None and lat[0] > 0 and lat[1] > 0 and abs(lat[2] - lat[1] / lat[0]) < 0.01,
      f"onnxq latency row {lat}")
olat = row(r.stdout, "ORT 1.30 latency (ms)")
check(olat is not None and olat[0] > 0 and olat[1] > 0, f"ORT latency row {olat}")
check("cosine" not in r.stderr, f"a cosine warning on a good model: {r.stderr}")

# independent: ONNX Runtime runs float and int8 on a held-out file's fbank
h = held[0]
feat = os.path.join(work, "held.npy")
rf = run("fbank", h, feat)
check(rf.returncode == 0, f"fbank {h}: {rf.stderr}")
embs = []
for name, mm in (("float", model), ("int8", q)):
    d = os.path.join(work, "ort_" + name)
    o = run_ort(mm, d, {"feat": feat}, threads=1)
    check(o.returncode == 0, f"ORT on {mm}: {o.stderr}")
    embs.append(np.load(os.path.join(d, "embedding.npy")) if o.returncode == 0 else None)
if embs[0] is not None and embs[1] is not None:
    c = cosine(embs[0], embs[1])
    print(f"ORT float vs int8 cosine on {os.path.basename(h)}: {c:.6f}")
    check(c >= 0.99, f"ORT held-out cosine {c}")

# ---- 2. every file drawn (the default: each once): said plainly
q2 = os.path.join(work, "all.sint8.onnx")
r = run("static", model, q2, "--calib-wav", wav_dir, "--check-samples", "1", "--threads", "1")
check(r.returncode == 0 and "check samples were also used for calibration "
      "(no held-out files)" in r.stdout and "on 1 file " in r.stdout
      and f"on {os.path.basename(files[-1])}," in r.stdout,
      f"no held-out: {r.stdout} {r.stderr}")

# ---- 3. --no-check: no table; --ort without the check is a usage error
q3 = os.path.join(work, "nocheck.sint8.onnx")
r = run("static", model, q3, "--calib-wav", wav_dir, "--num-samples", "2", "--no-check")
check(r.returncode == 0 and os.path.exists(q3) and "check:" not in r.stdout
      and "latency" not in r.stdout and "cosine" not in r.stdout, f"--no-check: {r.stdout}")
r = run("static", model, os.path.join(work, "x.onnx"), "--calib-wav", wav_dir,
        "--no-check", "--ort")
check(r.returncode == 2, f"--no-check --ort: {r.returncode} {r.stderr}")

# ---- 4. bench --ort: an ORT median and the ratio of the two medians
r = run("bench", model, "--shape", "feat=1,200,80", "--runs", "5", "--warmup", "1",
        "--threads", "1", "--ort")
check(r.returncode == 0, f"bench --ort: {r.stderr}")
mo = re.search(r"latency:\s+median ([\d.]+) ms", r.stdout)
mr = re.search(r"ORT latency:\s+median ([\d.]+) ms", r.stdout)
mx = re.search(r"onnxq/ORT:\s+([\d.]+)x", r.stdout)
check(mo and mr and mx, f"bench --ort output: {r.stdout}")
if mo and mr and mx:
    a, b, x = float(mo.group(1)), float(mr.group(1)), float(mx.group(1))
    check(b > 0 and abs(x - a / b) < 0.01 + 0.001 * a / b, f"ratio {x} vs {a}/{b}")
r = run("bench", model, "--shape", "feat=1,100,80", "--runs", "2", "--warmup", "0",
        "--threads", "1", "--ort", "--json")
check(r.returncode == 0, f"bench --ort --json: {r.stderr}")
if r.returncode == 0:
    j = json.loads(r.stdout)
    check(j["ort_median_ms"] > 0 and abs(j["onnxq_ort_ratio"] - j["median_ms"] / j["ort_median_ms"]) < 1e-9
          and j["ort_threads"] == 1, f"bench json {j}")

# ---- 5. no runner: one line, exit 1
bad = {"ONNXQ_ORT_RUNNER": "/nonexistent/run.js"}
r = run("bench", model, "--ort", env=bad)
lines = r.stderr.strip().splitlines()
check(r.returncode == 1 and len(lines) == 1 and lines[0].startswith("onnxq bench: ")
      and "--ort needs node and onnxruntime-node" in lines[0] and "ONNXQ_ORT_RUNNER" in lines[0],
      f"bench without runner: {r.returncode} {r.stderr!r}")
q5 = os.path.join(work, "norunner.sint8.onnx")
r = run("static", model, q5, "--calib-wav", wav_dir, "--ort", env=bad)
lines = r.stderr.strip().splitlines()
check(r.returncode == 1 and len(lines) == 1 and "--ort needs node" in lines[0]
      and not os.path.exists(q5), f"static without runner: {r.returncode} {r.stderr!r}")
# node itself missing: found only after the model is written, which stays
q6 = os.path.join(work, "nonode.sint8.onnx")
r = run("static", model, q6, "--calib-wav", wav_dir, "--num-samples", "2",
        "--check-samples", "1", "--threads", "1", "--ort",
        env={"ONNXQ_NODE": "/nonexistent/node"})
check(r.returncode == 1 and os.path.exists(q6) and "onnxq static: --ort" in r.stderr
      and "size (MiB)" in r.stdout, f"static, node missing: {r.returncode} {r.stderr!r}")

sys.exit(summary())
