#!/usr/bin/python3
# test_qdq_fusion.py: QDQ fusion (src/rt/fuse_qdq.c) against ONNX Runtime 1.30.
# make_qdq_models.py writes QDQ conv nets (3x3 + Relu, MaxPool, depthwise,
# pointwise, residual Add, strided, grouped + dilated, Flatten, MatMul, Gemm)
# and batched matmuls (per-column B scales, a Transpose between), u8s8 and
# s8s8.  Each runs in:
#   ORT with its default optimisation (it fuses QDQ into QLinear ops),
#   ORT with --no-opt (float ops between Q and DQ),
#   onnxq (fused: ONNXQ_VERBOSE must report the expected fusions),
#   onnxq with ONNXQ_NO_QDQ_FUSION=1 (float ops, like ORT --no-opt).
# Checked: onnxq fused == ORT fused exactly (both are the integer kernels'
# arithmetic); onnxq unfused vs ORT --no-opt and onnxq fused vs unfused within
# 1 quantization step (the float path rounds the product before requantizing,
# so a value at a rounding boundary may land one step away; such differences
# may propagate, but on these nets they stay at most 1).
#
# usage: test_qdq_fusion.py ONNXQ OUT
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import read_outputs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_JS = os.path.join(HERE, "..", "oracle", "run.js")

# model -> (Q/DQ pairs dropped around data movement, patterns fused)
EXPECTED = {"convnet_u8s8": (2, 8), "convnet_s8s8": (2, 8),
            "matmul_u8s8": (1, 2), "matmul_s8s8": (1, 2)}


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {(r.stderr or r.stdout).strip()}")
    return r.stderr


def main():
    onnxq, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(HERE, "make_qdq_models.py"), out],
                   check=True, capture_output=True)
    failures = 0
    for name, (want_moved, want_fused) in EXPECTED.items():
        d = os.path.join(out, name)
        model, ins = os.path.join(d, "model.onnx"), os.path.join(d, "in")
        dirs = {k: os.path.join(d, k) for k in ("ort", "ort_noopt", "oq", "oq_unfused")}
        for p in dirs.values():
            os.makedirs(p, exist_ok=True)
        run(["node", RUN_JS, model, "--inputs", ins, "--out", dirs["ort"]])
        run(["node", RUN_JS, model, "--inputs", ins, "--out", dirs["ort_noopt"], "--no-opt"])
        env = dict(os.environ, ONNXQ_VERBOSE="1")
        env.pop("ONNXQ_NO_QDQ_FUSION", None)
        log = run([onnxq, "run", model, "--inputs", ins, "--out", dirs["oq"]], env)
        env = dict(os.environ, ONNXQ_NO_QDQ_FUSION="1")
        env.pop("ONNXQ_VERBOSE", None)
        run([onnxq, "run", model, "--inputs", ins, "--out", dirs["oq_unfused"]], env)
        problems = []
        m = re.search(r"QDQ fusion: (\d+) Q/DQ pairs dropped.*?(\d+) patterns fused", log)
        if not m or (int(m.group(1)), int(m.group(2))) != (want_moved, want_fused):
            problems.append(f"fusion report {m.group(0) if m else 'missing'}, expected "
                            f"{want_moved} pairs dropped and {want_fused} fused")
        if not re.search(r"int8 QLinear(Conv|MatMul) .*exact int16 kernel", log):
            problems.append("the int8 fast kernels did not take the fused nodes")
        res = {k: read_outputs(p) for k, p in dirs.items()}
        for key in res["ort"]:
            a = {k: res[k][key].astype(np.int64) for k in res}
            if any(res[k][key].dtype != res["ort"][key].dtype for k in res):
                problems.append(f"{key}: types differ")
                continue
            spread = int(a["ort"].max() - a["ort"].min())
            if spread < 20:
                problems.append(f"{key}: ORT's output spans only {spread} steps")

            def check(x, y, tol):
                diff = np.abs(a[x] - a[y])
                if diff.max() > tol:
                    problems.append(f"{key}: {x} vs {y}: {int((diff > tol).sum())} of "
                                    f"{diff.size} differ by more than {tol} "
                                    f"(max {int(diff.max())})")
                return int((diff > 0).sum())
            check("oq", "ort", 0)
            n1 = check("oq_unfused", "ort_noopt", 1)
            n2 = check("oq", "oq_unfused", 1)
            print(f"  {name}/{key}: {a['ort'].size} values; fused == ORT; "
                  f"unfused vs ORT --no-opt: {n1} off by 1; fused vs unfused: {n2} off by 1")
        if problems:
            failures += 1
            print(f"FAIL {name}")
            for p in problems:
                print("   ", p)
        else:
            print(f"ok   {name}")
    print(f"{len(EXPECTED) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
