#!/usr/bin/python3
# check_oracle.py: self-test for the ORT oracle (run.js + npy.js). Runs a set
# of ONNX backend node tests from Debian's libonnx-testdata through run.js and
# compares the .npy outputs with the expected output_*.pb, then checks the
# oracle's error paths. Run from anywhere with the system interpreter (it has
# onnx): /usr/bin/python3 tests/oracle/check_oracle.py
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_JS = os.path.join(HERE, "run.js")
NODE_TESTS = "/usr/share/libonnx-testdata/data/node"

CASES = [
    "test_conv_with_strides_padding",
    "test_matmul_2d",
    "test_relu",
    "test_add_bcast",
    "test_gemm_default_no_bias",
    "test_cast_FLOAT_to_FLOAT16",     # float16 output
    "test_cast_FLOAT16_to_FLOAT",     # float16 input
    "test_cast_FLOAT_to_DOUBLE",      # float64 output
    "test_quantizelinear",            # uint8 output
    "test_dequantizelinear",
    "test_dynamicquantizelinear",     # three outputs, two of them 0-d
    "test_max_int8",                  # int8 in and out
    "test_argmax_default_axis_example",  # int64 output
    "test_equal",                     # bool output
    "test_where_example",             # bool input
    "test_reshape_reordered_all_dims",  # int64 input
    "test_softmax_example",
    "test_maxpool_2d_default",
    "test_gather_0",
    "test_split_equal_parts_1d",      # several outputs
]


def sanitize(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def run_oracle(*args):
    p = subprocess.run(["node", RUN_JS, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def compare(name, got, want):
    """Return None if `got` matches `want`, else a short reason."""
    if got.dtype != want.dtype:
        return f"{name}: dtype {got.dtype}, expected {want.dtype}"
    if got.shape != want.shape:
        return f"{name}: shape {got.shape}, expected {want.shape}"
    if np.issubdtype(want.dtype, np.floating):
        ok = np.allclose(got, want, rtol=1e-4, atol=1e-5, equal_nan=True)
    else:
        ok = np.array_equal(got, want)
    if not ok:
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        return f"{name}: values differ (max abs diff {np.nanmax(diff):g})"
    return None


def check_model(model_path, inputs, expected, work, by_name=False):
    """Write `inputs` (name -> array) as .npy, run the oracle, compare outputs.
    By default the oracle finds inputs with --inputs DIR; with by_name=True
    each is passed as --input NAME=FILE (for names that are not file names)."""
    in_dir = os.path.join(work, "in")
    out_dir = os.path.join(work, "out")
    os.makedirs(in_dir)
    args = [model_path, "--out", out_dir]
    if not by_name:
        args += ["--inputs", in_dir]
    for k, (name, arr) in enumerate(inputs.items()):
        path = os.path.join(in_dir, f"x{k}.npy" if by_name else name + ".npy")
        np.save(path, arr)
        if by_name:
            args += ["--input", f"{name}={path}"]
    rc, _, err = run_oracle(*args)
    if rc != 0:
        return f"run.js exit {rc}: {err.strip()}"
    for name, want in expected.items():
        path = os.path.join(out_dir, sanitize(name) + ".npy")
        if not os.path.exists(path):
            return f"no output file {path}"
        why = compare(name, np.load(path), want)
        if why:
            return why
    return None


def node_test(case, work):
    d = os.path.join(NODE_TESTS, case)
    model = onnx.load(os.path.join(d, "model.onnx"))
    inits = {t.name for t in model.graph.initializer}
    in_names = [i.name for i in model.graph.input if i.name not in inits]
    out_names = [o.name for o in model.graph.output]
    data = os.path.join(d, "test_data_set_0")
    load = lambda f: numpy_helper.to_array(onnx.load_tensor(os.path.join(data, f)))
    inputs = {n: load(f"input_{i}.pb") for i, n in enumerate(in_names)}
    expected = {n: load(f"output_{i}.pb") for i, n in enumerate(out_names)}
    return check_model(os.path.join(d, "model.onnx"), inputs, expected, work)


def names_and_types_test(work):
    """Output names that need sanitizing, and int8/uint16/int16/uint64 values."""
    specs = [("a:0", "out/a:0", TensorProto.INT8, np.int8),
             ("b", "b-1.x", TensorProto.UINT16, np.uint16),
             ("c", "c c", TensorProto.INT16, np.int16),
             ("d", "d#", TensorProto.UINT64, np.uint64)]
    graph = helper.make_graph(
        [helper.make_node("Identity", [i], [o]) for i, o, _, _ in specs], "names",
        [helper.make_tensor_value_info(i, t, [2, 3]) for i, _, t, _ in specs],
        [helper.make_tensor_value_info(o, t, [2, 3]) for _, o, t, _ in specs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    path = os.path.join(work, "names.onnx")
    onnx.save(model, path)
    rng = np.random.default_rng(7)
    inputs = {}
    expected = {}
    for i, o, _, dt in specs:
        info = np.iinfo(dt)
        arr = rng.integers(info.min, info.max, size=(2, 3), dtype=dt, endpoint=True)
        inputs[i] = arr
        expected[o] = arr
    # "a:0" is not a safe file name for --inputs, so pass inputs by name.
    return check_model(path, inputs, expected, work, by_name=True)


def expect_error(args, code, must_contain):
    rc, _, err = run_oracle(*args)
    lines = err.splitlines()
    if rc != code:
        return f"exit {rc}, expected {code} (stderr: {err.strip()})"
    if len(lines) != 1 or not lines[0].startswith("run.js: "):
        return f"expected one 'run.js: ' line on stderr, got {lines!r}"
    if must_contain not in lines[0]:
        return f"stderr line does not mention {must_contain!r}: {lines[0]}"
    return None


def error_tests(work):
    relu = os.path.join(NODE_TESTS, "test_relu", "model.onnx")
    name = onnx.load(relu).graph.input[0].name
    empty = os.path.join(work, "empty")
    os.makedirs(empty)
    good = os.path.join(work, "x.npy")
    np.save(good, np.ones((3, 4, 5), np.float32))
    trunc = os.path.join(work, "trunc.npy")
    with open(good, "rb") as f:
        blob = f.read()
    with open(trunc, "wb") as f:
        f.write(blob[:-7])
    out = os.path.join(work, "out")
    yield "error_missing_input", expect_error([relu, "--inputs", empty, "--out", out], 1, name)
    yield "error_truncated_npy", expect_error([relu, "--input", f"{name}={trunc}", "--out", out], 1, trunc)
    yield "error_usage", expect_error([relu, "--frobnicate"], 2, "--frobnicate")

    rc, stdout, err = run_oracle(relu, "--input", f"{name}={good}", "--bench", "3")
    ok = rc == 0 and re.fullmatch(r"ort_median_ms=[0-9.]+ ort_min_ms=[0-9.]+\n", stdout)
    yield "bench_output", None if ok else f"exit {rc}, stdout {stdout!r}, stderr {err.strip()!r}"


def main():
    passed = failed = 0

    def report(label, why):
        nonlocal passed, failed
        if why is None:
            passed += 1
            print(f"PASS {label}")
        else:
            failed += 1
            print(f"FAIL {label}: {why}")

    with tempfile.TemporaryDirectory(prefix="oracle_check_") as tmp:
        for case in CASES:
            work = os.path.join(tmp, case)
            os.makedirs(work)
            try:
                why = node_test(case, work)
            except Exception as e:  # keep going; report the case as failed
                why = f"{type(e).__name__}: {e}"
            report(case, why)
        work = os.path.join(tmp, "names")
        os.makedirs(work)
        report("sanitized_names_int_types", names_and_types_test(work))
        work = os.path.join(tmp, "errors")
        os.makedirs(work)
        for label, why in error_tests(work):
            report(label, why)

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
