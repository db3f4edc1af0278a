#!/usr/bin/python3
"""test_compare.py — `onnxq compare` against numpy metrics computed from
ONNX Runtime's outputs of both models (tests/oracle/run.js, optimisations
off so ORT computes the same graph onnxq runs):

  - a float CNN and its QDQ and QOperator twins built by make_twins.py:
    per-output cosine/SQNR/max abs/argmax (mean and worst over 4 samples),
    per-tensor matching (names, match kinds, values, worst-first order: the
    deliberately coarse layer first) and per-weight errors;
  - identical models (a copy written by `onnxq save`): cosine 1, SQNR inf;
  - --json fields; --report escapes names and is deterministic;
  - models whose inputs/outputs do not correspond: one error line, exit 1;
  - the demo speaker model with its wav files: against itself, and against a
    QDQ twin built by make_demo_qdq.py (embedding metrics vs ORT + numpy).

usage: test_compare.py ONNXQ SOURCE_DIR WORK_DIR
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper  # noqa: F401  (onnx.numpy_helper)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import ORT_RUNNER, check, fresh_dir, num, run_onnxq, run_ort, sanitize, summary  # noqa: E402

onnxq, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
runjs = ORT_RUNNER
here = os.path.dirname(os.path.abspath(__file__))


def run(*args):
    return run_onnxq(onnxq, *args)


def ort(model, inputs, outdir, opt=False):
    run_ort(model, outdir, inputs, opt=opt, must_pass=True)


def metrics(x, y):
    x = x.astype(np.float64).ravel()
    y = y.astype(np.float64).ravel()
    nx, ny, ne = np.linalg.norm(x), np.linalg.norm(y), np.linalg.norm(x - y)
    cos = 1.0 if nx == 0 and ny == 0 else 0.0 if nx == 0 or ny == 0 else float(x @ y / (nx * ny))
    sq = float("inf") if ne == 0 else 20 * np.log10(nx / ne)
    return cos, sq, float(np.abs(x - y).max())


def close(a, b, tol):
    a, b = num(a), num(b)
    if np.isinf(a) or np.isinf(b):
        return a == b
    return abs(a - b) <= tol


def expose(model_path, names, out_path):
    m = onnx.load(model_path)
    have = {o.name for o in m.graph.output}
    for n in names:
        if n not in have:
            m.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    onnx.save(m, out_path)


fresh_dir(work)
tw = os.path.join(work, "twins")
subprocess.run(["/usr/bin/python3", os.path.join(here, "make_twins.py"), tw, runjs], check=True,
               capture_output=True)
cal = os.path.join(tw, "cal")
os.makedirs(cal)
samples = sorted(glob.glob(os.path.join(tw, "cal_*.npy")))
for f in samples:
    shutil.copy(f, cal)
F, QDQ, QOP = (os.path.join(tw, n + ".onnx") for n in ("float", "qdq", "qop"))
R1 = 'r1<b>&"x\''
float_acts = ["c1", R1, "c2", "r2", "pool", "flat", "mm", "logits"]
expose(F, float_acts, os.path.join(work, "float_all.onnx"))
fvals = []
for i, s in enumerate(samples):
    d = os.path.join(work, f"of{i}")
    ort(os.path.join(work, "float_all.onnx"), {"x": s}, d)
    v = {a: np.load(os.path.join(d, sanitize(a) + ".npy")) for a in float_acts}
    v["x"] = np.load(s)
    fvals.append(v)


def inits_of(path):
    return {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def check_case(label, qpath, counterparts, dequant, expect_first, weights):
    """counterparts: float tensor -> (quant tensor, match kind)."""
    qnames = sorted({q for q, _ in counterparts.values()})
    expose(qpath, qnames, os.path.join(work, label + "_all.onnx"))
    qi = inits_of(qpath)
    qvals = []
    for i, s in enumerate(samples):
        d = os.path.join(work, f"o{label}{i}")
        ort(os.path.join(work, label + "_all.onnx"), {"x": s}, d)
        qv = {}
        for q in qnames:
            a = np.load(os.path.join(d, sanitize(q) + ".npy"))
            if q in dequant:  # integer tensor: (q - zp) * scale
                sc, zp = dequant[q]
                a = (a.astype(np.float64) - qi[zp].astype(np.float64)) * qi[sc].astype(np.float64)
            qv[q] = a
        # outputs as deployed: onnxq fuses a QDQ model as ORT's optimiser
        # does, so the oracle for them is ORT with its optimisations on
        d2 = os.path.join(work, f"p{label}{i}")
        ort(qpath, {"x": s}, d2, opt=True)
        qv["deployed logits"] = np.load(os.path.join(d2, "logits.npy"))
        qvals.append(qv)
    r = run("compare", F, qpath, "--calib", cal, "--per-tensor", "--json", "--runs", "2", "--threads", "1")
    check(r.returncode == 0, f"{label}: exit {r.returncode}: {r.stderr}")
    if r.returncode:
        return None
    j = json.loads(r.stdout)
    check(j["samples"] == 4, f"{label}: samples {j['samples']}")
    # outputs
    out = j["outputs"][0]
    per = [metrics(fvals[i]["logits"], qvals[i]["deployed logits"]) for i in range(4)]
    agree = [float(np.argmax(fvals[i]["logits"]) == np.argmax(qvals[i]["deployed logits"])) for i in range(4)]
    check(close(out["cosine"]["mean"], np.mean([p[0] for p in per]), 1e-6), f"{label}: cosine mean {out['cosine']}")
    check(close(out["cosine"]["worst"], min(p[0] for p in per), 1e-6), f"{label}: cosine worst {out['cosine']}")
    check(close(out["sqnr_db"]["mean"], np.mean([p[1] for p in per]), 0.02), f"{label}: sqnr {out['sqnr_db']} "
          f"numpy {[p[1] for p in per]}")
    check(close(out["sqnr_db"]["worst"], min(p[1] for p in per), 0.02), f"{label}: sqnr worst")
    check(close(out["max_abs"]["worst"], max(p[2] for p in per), 1e-4), f"{label}: max abs {out['max_abs']}")
    check(close(out["argmax_agreement"]["mean"], np.mean(agree), 1e-9),
          f"{label}: argmax {out['argmax_agreement']} numpy {agree}")
    check(out["shape"] == [1, 10], f"{label}: shape {out['shape']}")
    # per tensor
    got = {t["name"]: t for t in j["tensors"]}
    check(set(got) == set(counterparts), f"{label}: matched {sorted(got)} want {sorted(counterparts)}")
    for name, (q, kind) in counterparts.items():
        t = got.get(name)
        if not t:
            continue
        check(t["quant_name"] == q and t["match"] == kind, f"{label}: {name} -> {t['quant_name']} ({t['match']})")
        sq = [metrics(fvals[i][name], qvals[i][q])[1] for i in range(4)]
        check(close(t["sqnr_db"]["mean"], np.mean(sq), 0.05), f"{label}: {name} sqnr {t['sqnr_db']} numpy {sq}")
    means = [num(t["sqnr_db"]["mean"]) for t in j["tensors"]]
    check(means == sorted(means), f"{label}: tensors not worst first: {means}")
    check(j["tensors"][0]["name"] == expect_first, f"{label}: worst is {j['tensors'][0]['name']}")
    # numpy agrees on which is worst
    np_worst = min(counterparts, key=lambda n: np.mean([metrics(fvals[i][n], qvals[i][counterparts[n][0]])[1]
                                                        for i in range(4)]))
    check(np_worst == expect_first, f"{label}: numpy's worst is {np_worst}")
    # weights
    fi = inits_of(F)
    gotw = {w["name"]: w for w in j["weights"]}
    check(set(gotw) == set(weights), f"{label}: weights {sorted(gotw)}")
    for wname, (qn, sc, axis) in weights.items():
        w = gotw.get(wname)
        if not w:
            continue
        s = sc.astype(np.float64) if isinstance(sc, np.ndarray) else qi[sc].astype(np.float64)
        shp = [1] * qi[qn].ndim
        if s.ndim:
            shp[axis] = -1
        deq = qi[qn].astype(np.float64) * s.reshape(shp)
        c, sq, mx = metrics(fi[wname], deq)
        check(w["quant_name"] == qn and close(w["sqnr_db"], sq, 1e-6) and close(w["max_abs"], mx, 1e-9),
              f"{label}: weight {wname}: {w} numpy sqnr {sq} max {mx}")
    lat = j.get("latency", {})
    check(lat.get("runs") == 2 and lat["onnxq"]["float_ms"] > 0 and lat["onnxq"]["quant_ms"] > 0,
          f"{label}: latency {lat}")
    return j


# ---- QDQ twin
qdq_map = {
    "x": ("x_DequantizeLinear_Output", "qdq"),
    "c1": ("c1", "same-name"),
    R1: (R1 + "_DequantizeLinear_Output", "qdq"),
    "c2": ("c2", "same-name"),
    "r2": ("r2_DequantizeLinear_Output", "qdq"),
    "pool": ("pool", "same-name"),
    "flat": ("flat_DequantizeLinear_Output", "qdq"),
    "mm": ("mm", "same-name"),
    "logits": ("logits", "same-name"),
}
check_case("qdq", QDQ, qdq_map, {}, R1,
           {"w1": ("w1_quantized", "w1_scale", 0), "w2": ("w2_quantized", "w2_scale", 0),
            "wfc": ("wfc_quantized", "wfc_scale", 0), "b1": ("b1_quantized", "b1_scale", 0),
            "b2": ("b2_quantized", "b2_scale", 0)})

# ---- QOperator twin: integer tensors dequantized with their parameters;
# the Relus are folded into the QLinearConv output ranges
qop_map = {
    "x": ("x_quantized", "qlinear"),
    R1: ("c1_quantized", "qlinear"),
    "r2": ("c2_quantized", "qlinear"),
    "pool": ("pool", "same-name"),
    "flat": ("flat_quantized", "qlinear"),
    "mm": ("mm_quantized", "qlinear"),
    "logits": ("logits", "same-name"),
}
qop_deq = {"x_quantized": ("x_scale", "x_zero_point"), "c1_quantized": ("c1_scale", "c1_zero_point"),
           "c2_quantized": ("c2_scale", "c2_zero_point"), "flat_quantized": ("flat_scale", "flat_zero_point"),
           "mm_quantized": ("mm_scale", "mm_zero_point")}
qi = inits_of(QOP)
check_case("qop", QOP, qop_map, qop_deq, "r2",
           {"w1": ("w1_quantized", "w1_scale", 0), "w2": ("w2_quantized", "w2_scale", 0),
            "wfc": ("wfc_quantized", "wfc_scale", 0),
            # QLinearConv's int32 bias: scale = input scale x weight scale
            "b1": ("b1_quantized", qi["x_scale"] * qi["w1_scale"], 0),
            "b2": ("b2_quantized", qi["c1_scale"] * qi["w2_scale"], 0)})

# ---- identical models
same = os.path.join(work, "same.onnx")
r = run("save", F, same)
check(r.returncode == 0, f"save: {r.stderr}")
r = run("compare", F, same, "--calib", cal, "--per-tensor", "--json", "--runs", "0")
check(r.returncode == 0, f"identical: {r.stderr}")
if r.returncode == 0:
    j = json.loads(r.stdout)
    o = j["outputs"][0]
    check(o["cosine"]["mean"] == 1 and o["cosine"]["worst"] == 1, f"identical cosine {o['cosine']}")
    check(o["sqnr_db"]["mean"] == "inf" and o["sqnr_db"]["worst"] == "inf", f"identical sqnr {o['sqnr_db']}")
    check(o["max_abs"]["worst"] == 0 and o["argmax_agreement"]["worst"] == 1, f"identical {o}")
    check(len(j["tensors"]) == 8 and all(t["sqnr_db"]["mean"] == "inf" for t in j["tensors"]),
          f"identical tensors {[(t['name'], t['sqnr_db']) for t in j['tensors']]}")
    check("latency" not in j, "--runs 0 skips latency")
# human-readable output names the metrics
r = run("compare", F, QDQ, "--calib", cal, "--per-tensor", "--runs", "1", "--top", "3")
check(r.returncode == 0 and "cosine" in r.stdout and "SQNR" in r.stdout and R1 in r.stdout and
      "latency" in r.stdout and "weights: 5 quantized" in r.stdout, f"text output: {r.stdout} {r.stderr}")

# ---- --ort: both models timed in ONNX Runtime through the oracle
r = run("compare", F, QOP, "--json", "--runs", "3", "--threads", "1", "--ort", "--ort-runner", runjs)
check(r.returncode == 0, f"--ort: {r.stderr}")
if r.returncode == 0:
    lat = json.loads(r.stdout)["latency"]
    check(lat["ort"]["float_ms"] > 0 and lat["ort"]["quant_ms"] > 0, f"--ort latency {lat}")
r = run("compare", F, QOP, "--runs", "1", "--ort", "--ort-runner", os.path.join(work, "nope.js"))
check(r.returncode == 1 and "nope.js" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
      f"--ort with a missing runner: {r.returncode} {r.stderr!r}")

# ---- report: escaped, deterministic, never over an input
rep1, rep2 = os.path.join(work, "r1.html"), os.path.join(work, "r2.html")
r1 = run("compare", F, QDQ, "--calib", cal, "--per-tensor", "--runs", "0", "--report", rep1)
r2 = run("compare", F, QDQ, "--calib", cal, "--per-tensor", "--runs", "0", "--report", rep2, "--threads", "1")
check(r1.returncode == 0 and r2.returncode == 0, f"report: {r1.stderr} {r2.stderr}")
if r1.returncode == 0 and r2.returncode == 0:
    html = open(rep1, encoding="utf-8").read()
    check(open(rep1, "rb").read() == open(rep2, "rb").read(), "report differs between runs/threads")
    check("r1&lt;b&gt;&amp;&quot;x&#39;" in html and R1 not in html, "tensor name not escaped in the report")
    check("<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', ""),
          "report has script or network references")
    nbars = html.count('<rect class="bar ')
    check(nbars == 9, f"bars: {nbars}")
before = open(QDQ, "rb").read()
r = run("compare", F, QDQ, "--runs", "0", "--report", QDQ)
check(r.returncode == 1 and "refusing" in r.stderr and open(QDQ, "rb").read() == before,
      f"report over an input: {r.returncode} {r.stderr}")

# ---- models that do not correspond
m = onnx.load(F)
m.graph.output[0].name = "scores"
m.graph.node[-1].output[0] = "scores"
bad_out = os.path.join(work, "bad_out.onnx")
onnx.save(m, bad_out)
m = onnx.load(F)
m.graph.input[0].name = "image"
m.graph.node[0].input[0] = "image"
bad_in = os.path.join(work, "bad_in.onnx")
onnx.save(m, bad_in)
m = onnx.load(F)
m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 16
m.graph.input[0].type.tensor_type.shape.dim[3].dim_value = 16
bad_dim = os.path.join(work, "bad_dim.onnx")
onnx.save(m, bad_dim)
m = onnx.load(F)
m.graph.input[0].type.tensor_type.shape.dim.pop()
bad_rank = os.path.join(work, "bad_rank.onnx")
onnx.save(m, bad_rank)
for path, needles in ((bad_out, ["logits", "scores"]), (bad_in, ["'x'", "image"]),
                      (bad_dim, ["'x'", "dimension 2", "12", "16"]), (bad_rank, ["'x'", "rank 4", "3"])):
    r = run("compare", F, path, "--runs", "0")
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 1 and len(lines) == 1 and lines[0].startswith("onnxq compare: ") and
          all(n in r.stderr for n in needles), f"mismatch {os.path.basename(path)}: {r.returncode} {r.stderr!r}")
r = run("compare", F)
check(r.returncode == 2, "one model is a usage error")
r = run("compare", F, QDQ, "--calib", cal, "--inputs", cal)
check(r.returncode == 2, "two sample sources is a usage error")
r = run("compare", F, QDQ, "--calib", os.path.join(work, "missing_dir"))
check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "missing_dir" in r.stderr,
      f"missing calib folder: {r.stderr!r}")

# ---- the demo model and its wav files
demo = os.path.join(src, "examples", "speaker", "sv_demo.onnx")
wavdir = os.path.join(src, "examples", "speaker", "wav")
demo_same = os.path.join(work, "demo_same.onnx")
check(run("save", demo, demo_same).returncode == 0, "save demo")
r = run("compare", demo, demo_same, "--calib-wav", wavdir, "--json", "--runs", "1", "--threads", "1")
check(r.returncode == 0, f"demo vs itself: {r.stderr}")
if r.returncode == 0:
    j = json.loads(r.stdout)
    o = j["outputs"][0]
    check(j["samples"] == 12 and o["name"] == "embedding" and o["cosine"]["worst"] == 1 and
          o["sqnr_db"]["worst"] == "inf", f"demo vs itself: {o}")
# four of the files (the flac and the 22.05 kHz stereo one among them) keep
# the per-tensor run short under the sanitizers
few = os.path.join(work, "wav4")
os.makedirs(few)
for wav in ("demo_spk1_1.wav", "demo_spk3_2.wav", "demo_spk5_2.flac", "demo_spk6_2_22k_stereo.wav"):
    os.symlink(os.path.join(wavdir, wav), os.path.join(few, wav))
feats = []
for wav in sorted(os.listdir(few)):
    out = os.path.join(work, "fb_" + os.path.splitext(wav)[0] + ".npy")
    rr = run("fbank", os.path.join(few, wav), out)
    check(rr.returncode == 0, f"fbank {wav}: {rr.stderr}")
    feats.append(out)
demo_qdq = os.path.join(work, "demo_qdq.onnx")
subprocess.run(["/usr/bin/python3", os.path.join(here, "make_demo_qdq.py"), demo, demo_qdq, runjs, "feat",
                *feats[:3]], check=True, capture_output=True)
r = run("compare", demo, demo_qdq, "--calib-wav", few, "--per-tensor", "--json", "--runs", "1",
        "--threads", "1")
check(r.returncode == 0, f"demo vs qdq: {r.stderr}")
if r.returncode == 0:
    j = json.loads(r.stdout)
    o = j["outputs"][0]
    per = []
    for i, f in enumerate(feats):
        a, b = os.path.join(work, f"df{i}"), os.path.join(work, f"dq{i}")
        ort(demo, {"feat": f}, a)
        ort(demo_qdq, {"feat": f}, b)
        per.append(metrics(np.load(os.path.join(a, "embedding.npy")), np.load(os.path.join(b, "embedding.npy"))))
    check(close(o["cosine"]["mean"], np.mean([p[0] for p in per]), 1e-5) and
          close(o["cosine"]["worst"], min(p[0] for p in per), 1e-5),
          f"demo cosine {o['cosine']} numpy {[p[0] for p in per]}")
    check(close(o["sqnr_db"]["mean"], np.mean([p[1] for p in per]), 0.1), f"demo sqnr {o['sqnr_db']}")
    check(o["cosine"]["worst"] > 0.99, f"demo twin is a sane quantization: {o['cosine']}")
    check(j["samples"] == 4, f"demo samples {j['samples']}")
    dm = onnx.load(demo)
    dinit = {t.name for t in dm.graph.initializer}
    nw = sum(1 + (len(n.input) > 2 and n.input[2] in dinit)
             for n in dm.graph.node if n.op_type in ("Conv", "Gemm"))
    check(len(j["weights"]) == nw, f"demo weights: {len(j['weights'])}, want {nw}")
    kinds = {t["match"] for t in j["tensors"]}
    check("qdq" in kinds and "same-name" in kinds, f"demo match kinds {kinds}")

sys.exit(summary("test_compare: "))
