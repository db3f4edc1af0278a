"""sweep.py — `onnxq fp16 --keep-io-types` over Debian's libonnx-testdata.

usage: sweep.py ONNXQ TESTDATA WORKDIR [--dirs node,pytorch-converted,...]
                [--only SUBSTR] [--allow-outside FILE]

For every test model whose graph has float32 tensors and whose inputs are
all tensors: convert it, run the float32 and the converted model in ONNX
Runtime 1.30 (tests/fp16/run_many.js, one process for all) on the test's
input_*.pb, and compare the outputs.  Hard failures (exit 1):
  - onnxq fp16 fails on a model (other than "nothing to convert");
  - ORT runs the float32 model but cannot load or run the converted one;
  - an output changes dtype or shape.
  - an ORT output outside the fp16 tolerance (cosine >= 0.999 and max
    error <= 2e-2 of max |reference|) for a model not named in the
    --allow-outside file (one "dir/test_name  # reason" a line).
onnxq's own runtime also runs every converted model; its agreement is
reported, not asserted (fp16 arithmetic really differs on the
*_large_number tests, which ONNX Runtime computes in float32).
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def float_model(m):
    g = m.graph
    types = [i.data_type for i in g.initializer]
    types += [v.type.tensor_type.elem_type for v in list(g.input) + list(g.output)
              if v.type.HasField("tensor_type")]
    return 1 in types or any(n.op_type == "Constant" for n in g.node)


def tensor_inputs(m):
    inits = {i.name for i in m.graph.initializer}
    ins = [v for v in m.graph.input if v.name not in inits]
    if any(not v.type.HasField("tensor_type") for v in ins):
        return None
    return [v.name for v in ins]


def compare(ref, got):
    ref = ref.astype(np.float64).ravel()
    got = got.astype(np.float64).ravel()
    if ref.size == 0:
        return 1.0, 0.0
    fin = np.isfinite(ref) & np.isfinite(got)
    if not np.array_equal(np.isfinite(ref), np.isfinite(got)):
        return -1.0, float("inf")
    r, g = ref[fin], got[fin]
    scale = max(np.abs(r).max() if r.size else 0.0, 1e-6)
    err = np.abs(r - g).max() / scale if r.size else 0.0
    nr, ng = np.linalg.norm(r), np.linalg.norm(g)
    if nr < 1e-12 and ng < 1e-12:
        cos = 1.0
    elif nr < 1e-12 or ng < 1e-12:
        cos = 1.0 if err < 1e-2 else 0.0
    else:
        cos = float(np.dot(r, g) / nr / ng)
    return cos, float(err)


def mkdir(base, name):
    p = os.path.join(base, name)
    os.makedirs(p, exist_ok=True)
    return p


def main():
    onnxq, data, work = sys.argv[1:4]
    args = sys.argv[4:]
    dirs = ["node", "pytorch-converted", "pytorch-operator", "simple"]
    only, allowed = None, set()
    while args:
        a = args.pop(0)
        if a == "--dirs":
            dirs = args.pop(0).split(",")
        elif a == "--only":
            only = args.pop(0)
        elif a == "--allow-outside":
            allowed = {l.split("#")[0].strip() for l in open(args.pop(0))} - {""}
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    cases, hard, jobs = [], [], []
    skipped = 0
    refused = []  # opset < 6 models that need a Cast
    for d in dirs:
        for name in sorted(os.listdir(os.path.join(data, d))):
            if only and only not in name:
                continue
            tdir = os.path.join(data, d, name)
            mpath = os.path.join(tdir, "model.onnx")
            ds = os.path.join(tdir, "test_data_set_0")
            if not os.path.exists(mpath) or not os.path.isdir(ds):
                continue
            m = onnx.load(mpath)
            ins = tensor_inputs(m)
            if ins is None or not float_model(m):
                skipped += 1
                continue
            label = f"{d}/{name}"
            cw = os.path.join(work, d, name)
            os.makedirs(os.path.join(cw, "in"), exist_ok=True)
            ok = True
            for i, n in enumerate(ins):
                pb = os.path.join(ds, f"input_{i}.pb")
                if not os.path.exists(pb):
                    ok = False
                    break
                t = onnx.TensorProto()
                t.ParseFromString(open(pb, "rb").read())
                arr = numpy_helper.to_array(t)
                if arr.dtype == object or arr.dtype == np.float16 or str(arr.dtype) == "bfloat16":
                    ok = False
                    break
                np.save(os.path.join(cw, "in", f"{n}.npy"), arr)
            if not ok:
                skipped += 1
                continue
            out = os.path.join(cw, "model-fp16.onnx")
            r = subprocess.run([onnxq, "fp16", "--keep-io-types", mpath, out],
                               capture_output=True, text=True)
            if r.returncode != 0:
                msg = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "?"
                if "already has float16" in msg:
                    skipped += 1
                    continue
                if "Runtime types only from opset 6" in msg:
                    refused.append(label)
                    continue
                hard.append(f"{label}: onnxq fp16 failed: {msg}")
                continue
            cases.append((label, mpath, out, cw))
            jobs.append({"model": mpath, "inputs": os.path.join(cw, "in"), "out": os.path.join(cw, "o32")})
            jobs.append({"model": out, "inputs": os.path.join(cw, "in"), "out": os.path.join(cw, "o16")})
    jf = os.path.join(work, "jobs.json")
    json.dump(jobs, open(jf, "w"))
    r = subprocess.run(["node", os.path.join(HERE, "run_many.js"), jf], capture_output=True, text=True)
    status = {}
    for line in r.stdout.splitlines():
        kind, rest = line.split(" ", 1)
        model = rest.split(": ", 1)[0]
        status[model] = (kind, rest)
    within, outside, ort_fp32_fails = 0, [], 0
    oq_runs, oq_neither, oq_outside, oq_worst = 0, 0, [], (1.0, 0.0)
    for label, mpath, out, cw in cases:
        s32, s16 = status.get(mpath, ("fail", "no result")), status.get(out, ("fail", "no result"))
        if s32[0] != "ok":
            ort_fp32_fails += 1
            continue
        if s16[0] != "ok":
            hard.append(f"{label}: ORT ran the float32 model but not the converted one: {s16[1]}")
            continue
        worst = (1.0, 0.0)
        for f in sorted(os.listdir(os.path.join(cw, "o32"))):
            a = np.load(os.path.join(cw, "o32", f))
            b = np.load(os.path.join(cw, "o16", f))
            if a.dtype != b.dtype or a.shape != b.shape:
                hard.append(f"{label}/{f}: {b.dtype}{list(b.shape)} vs float32 model's {a.dtype}{list(a.shape)}")
                continue
            if a.dtype.kind not in "fc":
                if not np.array_equal(a, b):
                    worst = (min(worst[0], 0.0), max(worst[1], 1.0))
                continue
            cos, err = compare(a, b)
            worst = (min(worst[0], cos), max(worst[1], err))
        # onnxq's own runtime on the converted model, where it runs the
        # float32 one
        oq = subprocess.run([onnxq, "run", out, "--inputs", os.path.join(cw, "in"), "--out", mkdir(cw, "oq16")],
                            capture_output=True, text=True)
        if oq.returncode != 0:
            oq32 = subprocess.run([onnxq, "run", mpath, "--inputs", os.path.join(cw, "in"), "--out", mkdir(cw, "oq32")],
                                  capture_output=True, text=True)
            if oq32.returncode == 0:
                hard.append(f"{label}: onnxq runs the float32 model but not the converted one: "
                            f"{oq.stderr.strip().splitlines()[-1] if oq.stderr.strip() else '?'}")
            else:
                oq_neither += 1
        else:
            oq_runs += 1
            for f in sorted(os.listdir(os.path.join(cw, "o32"))):
                a = np.load(os.path.join(cw, "o32", f))
                pth = os.path.join(cw, "oq16", f)
                if not os.path.exists(pth):
                    continue
                b = np.load(pth)
                if a.dtype.kind in "f" and a.shape == b.shape:
                    cos, err = compare(a, b.astype(a.dtype))
                    oq_worst = (min(oq_worst[0], cos), max(oq_worst[1], err))
                    if cos < 0.999 or err > 2e-2:
                        oq_outside.append(f"{label}/{f}: cosine {cos:.6f} error {err:.3g}")
        good = worst[0] >= 0.999 and worst[1] <= 2e-2
        within += good
        if not good:
            outside.append(f"{label}: cosine {worst[0]:.6f} max error {worst[1]:.3g} of scale")
            if label not in allowed:
                hard.append(f"{label}: outside the fp16 tolerance: cosine {worst[0]:.6f}, error {worst[1]:.3g}")
    for l in outside:
        print("outside tolerance:", l)
    for l in oq_outside:
        print("onnxq run outside tolerance:", l)
    for l in hard:
        print("FAIL", l)
    print(f"sweep: {len(cases)} converted, {within} within fp16 tolerance, {len(outside)} outside, "
          f"{ort_fp32_fails} not run by ORT in float32 either, {skipped} skipped (no float32 or non-tensor inputs), "
          f"{len(refused)} refused (opset < 6 and Casts needed), {len(hard)} failures; "
          f"onnxq runs {oq_runs} converted models ({len(oq_outside)} outputs outside tolerance), "
          f"{oq_neither} it runs in neither precision")
    return 1 if hard else 0


if __name__ == "__main__":
    sys.exit(main())
