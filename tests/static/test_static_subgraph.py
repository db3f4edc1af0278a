#!/usr/bin/env python3
"""test_static_subgraph.py — `onnxq static` on models with If and Loop
subgraphs.  Static quantizes the main graph only: every Conv/MatMul inside
an If branch or a Loop body must stay float and be listed in the report as
"left float" with the subgraph it is in, and the per-op-type summary must
count it ("Conv 1 of 3").  Every written model runs in ONNX Runtime 1.30
(tests/oracle/run.js) and in onnxq with output cosine >= 0.99 to ORT's
float output, and the model is byte-identical at --threads 1 and 2.
In QOperator form a quantized main-graph tensor that a branch reads from
the outer scope is dequantized before the If.
Usage: test_static_subgraph.py ONNXQ PROJECT_DIR WORK_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import check, cosine, fresh_dir, run_onnxq, run_ort, summary  # noqa: E402

onnxq, project, work = (os.path.abspath(a) for a in sys.argv[1:4])
fresh_dir(work)
rng = np.random.default_rng(5)
F = TensorProto.FLOAT


def init(name, shape, scale=0.3):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def if_model():
    """X [1,3,6,6] -> main Conv -> C; If (sum(X) > 0): then Conv -> MatMul,
    else MatMul -> Conv; both read outer-scope initializers."""
    then_g = helper.make_graph(
        [helper.make_node("Conv", ["C", "Wt"], ["T1"], name="then_conv", pads=[1, 1, 1, 1]),
         helper.make_node("MatMul", ["T1", "Mt"], ["Yt"], name="then_mm")],
        "then_g", [], [vi("Yt", [1, 4, 6, 6])])
    else_g = helper.make_graph(
        [helper.make_node("MatMul", ["C", "Me"], ["E1"], name="else_mm"),
         helper.make_node("Conv", ["E1", "We"], ["Ye"], name="else_conv", pads=[1, 1, 1, 1])],
        "else_g", [], [vi("Ye", [1, 4, 6, 6])])
    nodes = [
        helper.make_node("Conv", ["X", "W0", "B0"], ["C"], name="main_conv", pads=[1, 1, 1, 1]),
        helper.make_node("ReduceSum", ["X"], ["S"], name="sum", keepdims=0),
        helper.make_node("Greater", ["S", "zero"], ["cond"], name="gt"),
        helper.make_node("If", ["cond"], ["Y"], name="branch",
                         then_branch=then_g, else_branch=else_g),
    ]
    inits = [init("W0", [4, 3, 3, 3]), init("B0", [4], 0.1), init("Wt", [4, 4, 3, 3]),
             init("Mt", [6, 6]), init("Me", [6, 6]), init("We", [4, 4, 3, 3]),
             numpy_helper.from_array(np.array(0, np.float32), "zero")]
    g = helper.make_graph(nodes, "if_net", [vi("X", [1, 3, 6, 6])], [vi("Y", [1, 4, 6, 6])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def loop_model():
    """X [2,8] carried through 3 iterations of body MatMul -> Tanh."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep"),
         helper.make_node("MatMul", ["v_in", "Wl"], ["m"], name="body_mm"),
         helper.make_node("Tanh", ["m"], ["v_out"], name="body_tanh")],
        "body", [vi("iter", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL),
                 vi("v_in", [2, 8])],
        [vi("cond_out", [], TensorProto.BOOL), vi("v_out", [2, 8])])
    nodes = [helper.make_node("Loop", ["M", "", "X"], ["Y"], name="loop", body=body)]
    inits = [numpy_helper.from_array(np.array(3, np.int64), "M"), init("Wl", [8, 8], 0.5)]
    g = helper.make_graph(nodes, "loop_net", [vi("X", [2, 8])], [vi("Y", [2, 8])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def calib(name, shape, n=5):
    d = os.path.join(work, name)
    os.makedirs(d)
    for i in range(n):
        np.save(os.path.join(d, f"s{i}.npy"), rng.standard_normal(shape).astype(np.float32))
    return d


def run_both(model, x_npy, tag):
    ro, qo = os.path.join(work, tag + "_ort"), os.path.join(work, tag + "_onnxq")
    r = run_ort(model, ro, {"X": x_npy}, threads=1)
    check(r.returncode == 0, f"ORT runs {tag}: {r.stderr.strip()[-400:]}")
    os.makedirs(qo, exist_ok=True)
    q = run_onnxq(onnxq, "run", model, "--input", f"X={x_npy}", "--out", qo, "--threads", "1")
    check(q.returncode == 0, f"onnxq runs {tag}: {q.stderr.strip()[-400:]}")
    a = np.load(os.path.join(ro, "Y.npy")) if r.returncode == 0 else None
    b = np.load(os.path.join(qo, "Y.npy")) if q.returncode == 0 else None
    return a, b


def case(name, model, shape, want_left, want_counts, quantized_main, *opts):
    src = os.path.join(work, name + ".onnx")
    onnx.save(model, src)
    cdir = calib(name + "_calib", shape)
    x = os.path.join(work, name + "_x.npy")
    np.save(x, rng.standard_normal(shape).astype(np.float32))
    ref, _ = run_both(src, x, name + "_float")
    outs = {}
    for th in ("1", "2"):
        out = os.path.join(work, f"{name}.t{th}.sint8.onnx")
        r = run_onnxq(onnxq, "static", src, out, "--calib", cdir, "--threads", th, "--no-check",
                       *opts)
        if not check(r.returncode == 0 and os.path.exists(out),
                     f"{name}: static --threads {th}: {r.stderr.strip()}"):
            return
        outs[th] = out
        if th == "1":
            report = r.stdout
    with open(outs["1"], "rb") as f1, open(outs["2"], "rb") as f2:
        check(f1.read() == f2.read(), f"{name}: model differs between --threads 1 and 2")
    for line in want_left:
        check(line in report, f"{name}: report lacks {line!r}:\n{report}")
    for op, q, t in want_counts:
        check(any(ln.split() == [op, str(q), "of", str(t)] for ln in report.splitlines()),
              f"{name}: summary lacks '{op} {q} of {t}':\n{report}")
    m = onnx.load(outs["1"])
    ops = [n.op_type for n in m.graph.node]
    check(any(o in ("QuantizeLinear", "QLinearConv") for o in ops) == quantized_main,
          f"{name}: main graph QuantizeLinear present={not quantized_main}: {ops}")
    # the subgraphs are untouched: still float Conv/MatMul, no Q/DQ inside
    for n in m.graph.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                sub_ops = [s.op_type for s in a.g.node]
                check(not any(o in ("QuantizeLinear", "DequantizeLinear") for o in sub_ops),
                      f"{name}: Q/DQ inside {n.name}.{a.name}: {sub_ops}")
    a, b = run_both(outs["1"], x, name + "_int8")
    for who, y in (("ORT", a), ("onnxq", b)):
        if ref is not None and y is not None:
            c = cosine(ref, y)
            check(c >= 0.99, f"{name}: {who} int8 cosine to float {c:.5f} < 0.99")
            print(f"{name}: {who} cosine {c:.5f}")


case("if", if_model(), [1, 3, 6, 6],
     ["then_conv (Conv): inside If 'branch' then_branch: static quantizes the main graph only",
      "then_mm (MatMul): inside If 'branch' then_branch: static quantizes the main graph only",
      "else_mm (MatMul): inside If 'branch' else_branch: static quantizes the main graph only",
      "else_conv (Conv): inside If 'branch' else_branch: static quantizes the main graph only"],
     [("Conv", 1, 3), ("MatMul", 0, 2)], True)
# QOperator: the main Conv becomes QLinearConv, and the tensor the If
# branches read from the outer scope must still exist as float (a
# DequantizeLinear before the If), or ORT rejects the model
case("if_qop", if_model(), [1, 3, 6, 6],
     ["then_conv (Conv): inside If 'branch' then_branch: static quantizes the main graph only"],
     [("Conv", 1, 3), ("MatMul", 0, 2)], True, "--format", "qoperator")
case("loop", loop_model(), [2, 8],
     ["body_mm (MatMul): inside Loop 'loop' body: static quantizes the main graph only"],
     [("MatMul", 0, 1)], False)

sys.exit(summary("test_static_subgraph: "))
