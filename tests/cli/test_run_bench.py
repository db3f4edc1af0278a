#!/usr/bin/python3
"""test_run_bench.py — `onnxq run` and `onnxq bench` from the command line:
inputs from .npy/.pb/.npz/folders, outputs as .npy named after the output,
numpy as the oracle for values, and every bad input giving exit status 1 with
one stderr line that names the file, input, op or node.

usage: test_run_bench.py ONNXQ_BINARY
"""
import json
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import check, one_error_line, run_onnxq, summary  # noqa: E402

onnxq = sys.argv[1]


def run(*args):
    return run_onnxq(onnxq, *args)


tmp = tempfile.mkdtemp()
# y = x * 2 + b ; z = Relu(x)   (output names need sanitising)
b = np.array([1, -2, 3], np.float32)
g = helper.make_graph(
    [helper.make_node("Mul", ["x", "two"], ["m"], name="mul"),
     helper.make_node("Add", ["m", "b"], ["out/y:0"], name="add"),
     helper.make_node("Relu", ["x"], ["z z"], name="relu")],
    "g",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
    [helper.make_tensor_value_info("out/y:0", TensorProto.FLOAT, ["n", 3]),
     helper.make_tensor_value_info("z z", TensorProto.FLOAT, ["n", 3])],
    [numpy_helper.from_array(np.array(2, np.float32), "two"), numpy_helper.from_array(b, "b")])
model = os.path.join(tmp, "m.onnx")
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), model)

x = np.array([[0.5, -1.0, 2.0], [-3.0, 4.0, 0.0]], np.float32)
np.save(os.path.join(tmp, "x.npy"), x)
out = os.path.join(tmp, "out")
os.mkdir(out)

# .npy input, outputs written and sanitised
r = run("run", model, "--input", f"x={tmp}/x.npy", "--out", out)
check(r.returncode == 0, f"run .npy: {r.stderr}")
check(sorted(os.listdir(out)) == ["out_y_0.npy", "z_z.npy"], f"output files {os.listdir(out)}")
if r.returncode == 0:
    check(np.array_equal(np.load(os.path.join(out, "out_y_0.npy")), x * 2 + b), "y values")
    check(np.array_equal(np.load(os.path.join(out, "z_z.npy")), np.maximum(x, 0)), "z values")
    check("out/y:0  float32  [2, 3]" in r.stdout, f"summary: {r.stdout}")

# .pb input through --inputs DIR (ONNX test-data layout) and .npz
pbdir = os.path.join(tmp, "pbdir")
os.mkdir(pbdir)
with open(os.path.join(pbdir, "input_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(x, "x").SerializeToString())
out2 = os.path.join(tmp, "out2")
os.mkdir(out2)
r = run("run", model, "--inputs", pbdir, "--out", out2)
check(r.returncode == 0 and np.array_equal(np.load(os.path.join(out2, "z_z.npy")), np.maximum(x, 0)),
      f"run .pb dir: {r.stderr}")
np.savez(os.path.join(tmp, "in.npz"), x=x)
np.savez_compressed(os.path.join(tmp, "inz.npz"), x=x)
for npz in ("in.npz", "inz.npz"):
    out3 = os.path.join(tmp, "o_" + npz)
    os.mkdir(out3)
    r = run("run", model, "--inputs", os.path.join(tmp, npz), "--out", out3)
    check(r.returncode == 0 and np.array_equal(np.load(os.path.join(out3, "out_y_0.npy")), x * 2 + b),
          f"run {npz}: {r.stderr}")

# NaN and Inf run through (no crash), and propagate
xn = np.array([[np.nan, np.inf, -np.inf]], np.float32)
np.save(os.path.join(tmp, "xn.npy"), xn)
out4 = os.path.join(tmp, "out4")
os.mkdir(out4)
r = run("run", model, "--input", f"x={tmp}/xn.npy", "--out", out4)
check(r.returncode == 0, f"NaN input: {r.stderr}")
if r.returncode == 0:
    y = np.load(os.path.join(out4, "out_y_0.npy"))
    check(np.isnan(y[0, 0]) and y[0, 1] == np.inf and y[0, 2] == -np.inf, f"NaN/Inf propagate: {y}")

# generated inputs are deterministic
r1 = run("run", model, "--shape", "x=4,3")
r2 = run("run", model, "--shape", "x=4,3")
check(r1.returncode == 0 and r1.stdout == r2.stdout and "[4, 3]" in r1.stdout, "generated inputs repeat")

# bad inputs
one_error_line(run("run", model, "--inputs", os.path.join(tmp, "out")), "x", what="missing input file")
np.save(os.path.join(tmp, "xi.npy"), x.astype(np.int32))
one_error_line(run("run", model, "--input", f"x={tmp}/xi.npy"), "x", "float32", "int32", what="wrong dtype")
np.save(os.path.join(tmp, "x3.npy"), x.reshape(1, 2, 3))
one_error_line(run("run", model, "--input", f"x={tmp}/x3.npy"), "x", "rank", what="wrong rank")
np.save(os.path.join(tmp, "x4.npy"), np.zeros((2, 4), np.float32))
one_error_line(run("run", model, "--input", f"x={tmp}/x4.npy"), "x", "dimension 1", what="wrong shape")
raw = open(os.path.join(tmp, "x.npy"), "rb").read()
open(os.path.join(tmp, "trunc.npy"), "wb").write(raw[:-5])
one_error_line(run("run", model, "--input", f"x={tmp}/trunc.npy"), "trunc.npy", "truncated", what="truncated npy")
np.save(os.path.join(tmp, "c.npy"), np.zeros((2, 3), np.complex64))
one_error_line(run("run", model, "--input", f"x={tmp}/c.npy"), "c.npy", "dtype", what="unknown dtype")
one_error_line(run("run", model, "--input", f"nope={tmp}/x.npy"), "nope", what="unknown input name")
one_error_line(run("run", model, "--out", os.path.join(tmp, "no_such_dir"), "--shape", "x=1,3"),
               "no_such_dir", what="missing --out folder")
check(run("run", model, "--input", "x").returncode == 2, "malformed --input is a usage error")

# an op onnxq has no kernel for: named before anything runs
g2 = helper.make_graph([helper.make_node("FancyOp", ["x"], ["y"], name="fancy", domain="com.example")],
                       "g2", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
bad_model = os.path.join(tmp, "bad.onnx")
onnx.save(helper.make_model(g2, opset_imports=[helper.make_opsetid("", 13),
                                               helper.make_opsetid("com.example", 1)]), bad_model)
one_error_line(run("run", bad_model), "FancyOp", "fancy", what="unsupported op")
one_error_line(run("bench", bad_model), "FancyOp", "fancy", what="bench unsupported op")

# bench: text and JSON
r = run("bench", model, "--shape", "x=8,3", "--runs", "5", "--warmup", "1")
check(r.returncode == 0 and "median" in r.stdout and "peak memory" in r.stdout and "Mul" in r.stdout,
      f"bench text: {r.stdout} {r.stderr}")
r = run("bench", model, "--shape", "x=8,3", "--runs", "5", "--json")
if r.returncode == 0:
    j = json.loads(r.stdout)
    check(j["runs"] == 5 and 0 < j["min_ms"] <= j["median_ms"], f"bench json figures {j}")
    check(j["peak_intermediate_bytes"] >= 8 * 3 * 4, f"peak bytes {j['peak_intermediate_bytes']}")
    check({o["op_type"] for o in j["ops"]} == {"Mul", "Add", "Relu"}, f"bench ops {j['ops']}")
else:
    check(False, f"bench --json: {r.stderr}")
check(run("bench", model, "--runs", "0").returncode == 2, "bench --runs 0 is a usage error")
for cmd in ("run", "bench"):
    r = run(cmd, "--help")
    check(r.returncode == 0 and "--inputs" in r.stdout and "--threads" in r.stdout, f"{cmd} --help")

sys.exit(summary())
