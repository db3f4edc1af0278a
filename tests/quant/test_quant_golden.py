#!/usr/bin/python3
# test_quant_golden.py: golden test of onnxq's quantization kernels against
# ONNX Runtime 1.30.  Generates the cases (make_models.py) into OUT, runs each
# model through ORT (tests/oracle/run.js) and through `onnxq run`, and compares every output: integers exactly, floats to 1e-6
# relative (or within a case's meta "tol" times the output's largest
# magnitude: the attention cases).  The few cases ORT cannot run (spec features it refuses) carry
# numpy's answer in OUT/<case>/expected instead; invalid models (err_*) must
# make onnxq fail with one line naming the problem.  Ends with "N passed, M
# failed".
#
# usage: test_quant_golden.py ONNXQ OUT [--filter SUBSTR] [-v]
import concurrent.futures
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_JS = os.path.join(HERE, "..", "oracle", "run.js")
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import make_models  # noqa: E402


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, (r.stderr or r.stdout).strip()


def compare(name, ort_dir, oq_dir, tol=None):
    """Returns a list of problems (empty when equal).  tol (a case's
    meta["tol"]): floats within tol * max|ORT's output| instead of 1e-6
    relative per element."""
    problems = []
    for f in sorted(os.listdir(ort_dir)):
        want = np.load(os.path.join(ort_dir, f))
        path = os.path.join(oq_dir, f)
        if not os.path.exists(path):
            problems.append(f"{f}: onnxq wrote no such output")
            continue
        got = np.load(path)
        if got.dtype != want.dtype or got.shape != want.shape:
            problems.append(f"{f}: onnxq gives {got.dtype}{list(got.shape)}, "
                            f"ORT {want.dtype}{list(want.shape)}")
            continue
        if want.dtype.kind == "f":
            w, g = want.astype(np.float64), got.astype(np.float64)
            bound = 1e-6 * np.abs(w)
            if tol is not None:
                finite = np.abs(w[np.isfinite(w)])
                bound = tol * (finite.max() if finite.size else 0.0)
            bad = ~((np.abs(g - w) <= bound) | (g == w) | (np.isnan(g) & np.isnan(w)))
        else:
            bad = got != want
        if bad.any():
            idx = np.argwhere(bad)
            shown = ", ".join(f"{tuple(int(v) for v in i)}: onnxq {got[tuple(i)]} ORT {want[tuple(i)]}"
                              for i in idx[:6])
            problems.append(f"{f}: {int(bad.sum())} of {bad.size} differ ({shown})")
    return problems


def onnxq_run(onnxq, model, inputs, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    return run([onnxq, "run", model, "--inputs", inputs, "--out", out_dir])


def one(name, out, onnxq, meta):
    d = os.path.join(out, name)
    model, inputs = os.path.join(d, "model.onnx"), os.path.join(d, "in")
    if "error" in meta:                     # invalid model: a clean refusal
        rc, msg = onnxq_run(onnxq, model, inputs, os.path.join(d, "onnxq"))
        if rc != 1 or meta["error"] not in msg or "\n" in msg:
            return name, [f"onnxq should fail with one line containing "
                          f"'{meta['error']}', got exit {rc}: {msg}"]
        return name, []
    want = os.path.join(d, "expected")      # cases ORT cannot run
    if not os.path.isdir(want):
        want = os.path.join(d, "ort")
        rc, msg = run(["node", RUN_JS, model, "--inputs", inputs, "--out", want])
        if rc:
            return name, [f"ORT failed: {msg}"]
    rc, msg = onnxq_run(onnxq, model, inputs, os.path.join(d, "onnxq"))
    if rc:
        return name, [f"onnxq failed: {msg}"]
    return name, compare(name, want, os.path.join(d, "onnxq"), meta.get("tol"))


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("-")]
    verbose = "-v" in argv
    filt = argv[argv.index("--filter") + 1] if "--filter" in argv else None
    if filt:
        args.remove(filt)
    if len(args) != 2:
        print(__doc__ or "usage: test_quant_golden.py ONNXQ OUT [--filter S] [-v]", file=sys.stderr)
        return 2
    onnxq, out = args
    rc = make_models.main(["make_models.py", out])
    if rc:
        return rc
    names = [n for n in make_models.CASES if not filt or filt in n]
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        jobs = pool.map(lambda n: one(n, out, onnxq, make_models.CASES[n][2]), names)
        for name, problems in jobs:
            if problems:
                failed.append(name)
                print(f"FAIL {name}")
                for p in problems:
                    print(f"    {p}")
            elif verbose:
                print(f"ok   {name}")
    print(f"{len(names) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
