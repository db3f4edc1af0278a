#!/usr/bin/env python3
"""test_static_subgraph.py — `onnxq static` on models with If and Loop
subgraphs.  In QDQ form Conv/MatMul inside If branches (nested too) and a
Loop body are quantized as in the main graph: a Q -> DQ pair on their
activations and an 8-bit weight (a subgraph initializer, a Constant node in
the body, or an outer-scope initializer) read through a DequantizeLinear
inside the body.
Nodes that cannot be calibrated apart stay float with the reason in the
report: a tensor name made in two sibling branches, a MatMul reading the
Loop body's own input, a branch no calibration sample took ("its branch
never ran"; also through --calib-table / --load-calib-table).  QOperator
leaves subgraph nodes float (reason "QOperator: ...").  Every written
model runs in ONNX Runtime 1.30 (tests/oracle/run.js) and in onnxq with
output cosine >= 0.99 to ORT's float output (inputs taking each If
branch), and the model is byte-identical at --threads 1 and 2.
Usage: test_static_subgraph.py ONNXQ PROJECT_DIR WORK_DIR
"""
import json
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


def if_model(collide=False):
    """X [1,3,6,6] -> main Conv -> C; If (sum(X) > 0): then Conv -> MatMul
    (Mt a Constant node in the branch), else MatMul -> Conv (We an
    initializer of the branch); Wt, Me are outer-scope initializers.  With
    collide both branches make "T1" (Conv -> MatMul in each)."""
    mt = helper.make_node("Constant", [], ["Mt"], name="mt_const",
                          value=init("Mt_value", [6, 6]))
    then_g = helper.make_graph(
        [mt, helper.make_node("Conv", ["C", "Wt"], ["T1"], name="then_conv", pads=[1, 1, 1, 1]),
         helper.make_node("MatMul", ["T1", "Mt"], ["Yt"], name="then_mm")],
        "then_g", [], [vi("Yt", [1, 4, 6, 6])])
    if collide:
        else_nodes = [helper.make_node("Conv", ["C", "We"], ["T1"], name="else_conv",
                                       pads=[1, 1, 1, 1]),
                      helper.make_node("MatMul", ["T1", "Me"], ["Ye"], name="else_mm")]
    else:
        else_nodes = [helper.make_node("MatMul", ["C", "Me"], ["E1"], name="else_mm"),
                      helper.make_node("Conv", ["E1", "We"], ["Ye"], name="else_conv",
                                       pads=[1, 1, 1, 1])]
    else_g = helper.make_graph(else_nodes, "else_g", [], [vi("Ye", [1, 4, 6, 6])],
                               [init("We", [4, 4, 3, 3])])
    nodes = [
        helper.make_node("Conv", ["X", "W0", "B0"], ["C"], name="main_conv", pads=[1, 1, 1, 1]),
        helper.make_node("ReduceSum", ["X"], ["S"], name="sum", keepdims=0),
        helper.make_node("Greater", ["S", "zero"], ["cond"], name="gt"),
        helper.make_node("If", ["cond"], ["Y"], name="branch",
                         then_branch=then_g, else_branch=else_g),
    ]
    inits = [init("W0", [4, 3, 3, 3]), init("B0", [4], 0.1), init("Wt", [4, 4, 3, 3]),
             init("Me", [6, 6]), numpy_helper.from_array(np.array(0, np.float32), "zero")]
    g = helper.make_graph(nodes, "if_net", [vi("X", [1, 3, 6, 6])], [vi("Y", [1, 4, 6, 6])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def nested_model():
    """X -> main Conv -> C; If "outer" (sum(X) > 0): then holds If "inner"
    (same condition) whose then branch runs Conv -> MatMul on C; the else
    branches pass C through."""
    inner_then = helper.make_graph(
        [helper.make_node("Conv", ["C", "Wa"], ["A1"], name="inner_conv", pads=[1, 1, 1, 1]),
         helper.make_node("MatMul", ["A1", "Ma"], ["Ya"], name="inner_mm")],
        "inner_then", [], [vi("Ya", [1, 4, 6, 6])])
    inner_else = helper.make_graph(
        [helper.make_node("Identity", ["C"], ["Yb"], name="inner_id")],
        "inner_else", [], [vi("Yb", [1, 4, 6, 6])])
    outer_then = helper.make_graph(
        [helper.make_node("If", ["cond"], ["Yi"], name="inner",
                          then_branch=inner_then, else_branch=inner_else)],
        "outer_then", [], [vi("Yi", [1, 4, 6, 6])])
    outer_else = helper.make_graph(
        [helper.make_node("Identity", ["C"], ["Yo"], name="outer_id")],
        "outer_else", [], [vi("Yo", [1, 4, 6, 6])])
    nodes = [
        helper.make_node("Conv", ["X", "W0"], ["C"], name="main_conv", pads=[1, 1, 1, 1]),
        helper.make_node("ReduceSum", ["X"], ["S"], name="sum", keepdims=0),
        helper.make_node("Greater", ["S", "zero"], ["cond"], name="gt"),
        helper.make_node("If", ["cond"], ["Y"], name="outer",
                         then_branch=outer_then, else_branch=outer_else),
    ]
    inits = [init("W0", [4, 3, 3, 3]), init("Wa", [4, 4, 3, 3]), init("Ma", [6, 6]),
             numpy_helper.from_array(np.array(0, np.float32), "zero")]
    g = helper.make_graph(nodes, "nested_net", [vi("X", [1, 3, 6, 6])], [vi("Y", [1, 4, 6, 6])],
                          inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def loop_model():
    """X [2,8] carried through 3 iterations of body MatMul -> Tanh -> MatMul
    -> Tanh; the first MatMul reads the body's input (not observed by
    calibration: stays float), the second a node output."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep"),
         helper.make_node("MatMul", ["v_in", "W0"], ["m0"], name="body_mm0"),
         helper.make_node("Tanh", ["m0"], ["t0"], name="body_tanh0"),
         helper.make_node("MatMul", ["t0", "Wl"], ["m"], name="body_mm"),
         helper.make_node("Tanh", ["m"], ["v_out"], name="body_tanh")],
        "body", [vi("iter", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL),
                 vi("v_in", [2, 8])],
        [vi("cond_out", [], TensorProto.BOOL), vi("v_out", [2, 8])])
    nodes = [helper.make_node("Loop", ["M", "", "X"], ["Y"], name="loop", body=body)]
    inits = [numpy_helper.from_array(np.array(3, np.int64), "M"), init("Wl", [8, 8], 0.5),
             init("W0", [8, 8], 0.5)]
    g = helper.make_graph(nodes, "loop_net", [vi("X", [2, 8])], [vi("Y", [2, 8])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def sample(shape, i):
    """Alternating sign of the mean, so both If branches are taken."""
    return (rng.standard_normal(shape) + (0.5 if i % 2 == 0 else -0.5)).astype(np.float32)


def calib(name, shape, n=6, then_only=False):
    """then_only: every sample has a positive mean (If takes then_branch)."""
    d = os.path.join(work, name)
    os.makedirs(d)
    for i in range(n):
        np.save(os.path.join(d, f"s{i}.npy"), sample(shape, 0 if then_only else i))
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


def subgraphs(g):
    """(node name.attribute, GraphProto) of every subgraph, nested too."""
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield f"{n.name}.{a.name}", a.g
                yield from subgraphs(a.g)


def check_sub_quantized(name, m, where, sub, qnodes):
    """Each node of qnodes in subgraph sub reads its activation and weight
    through DequantizeLinear nodes of the body; the weight's DQ reads an
    8-bit initializer (of the body or the main graph); the node's output
    goes through a QuantizeLinear in the body when the body reads it."""
    inits = {t.name: t for t in list(m.graph.initializer) + list(sub.initializer)}
    made = {o: n for n in sub.node for o in n.output}
    for qn in qnodes:
        node = [n for n in sub.node if n.name == qn]
        if not check(len(node) == 1, f"{name}: {qn} not in {where}"):
            continue
        node = node[0]
        for i, what in ((0, "activation"), (1, "weight")):
            d = made.get(node.input[i])
            if not check(d is not None and d.op_type == "DequantizeLinear",
                         f"{name}: {where} {qn} {what} '{node.input[i]}' is not a "
                         f"DequantizeLinear output in the body"):
                continue
            if what == "weight":
                t = inits.get(d.input[0])
                check(t is not None and t.data_type in (TensorProto.INT8, TensorProto.UINT8),
                      f"{name}: {qn} weight DQ input {d.input[0]} is not an 8-bit initializer")
            else:
                q = made.get(d.input[0])
                check(q is not None and q.op_type == "QuantizeLinear",
                      f"{name}: {qn} activation DQ is not fed by a QuantizeLinear in the body")
        # a pair on an output only the body's graph output reads would
        # just round it (removed as dead, as in the main graph)
        if node.output[0] not in [o.name for o in sub.output]:
            check(any(n.op_type == "QuantizeLinear" and n.input[0] == node.output[0]
                      for n in sub.node),
                  f"{name}: {qn} output {node.output[0]} not quantized in {where}")


def case(name, model, shape, want_left, want_counts, quantized_main, sub_q, *opts,
         then_only=False):
    """sub_q: {"node.attribute": [quantized node names]}; subgraphs not
    named must hold no Q/DQ.  then_only: calibrate on then_branch samples
    only (the test inputs still take both branches)."""
    src = os.path.join(work, name + ".onnx")
    onnx.save(model, src)
    cdir = calib(name + "_calib", shape, then_only=then_only)
    xs = []
    for i in range(2):
        x = os.path.join(work, f"{name}_x{i}.npy")
        np.save(x, sample(shape, i + 7))
        xs.append(x)
    refs = [run_both(src, x, f"{name}_float{i}")[0] for i, x in enumerate(xs)]
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
    seen = set()
    for where, sub in subgraphs(m.graph):
        seen.add(where)
        sub_ops = [s.op_type for s in sub.node]
        if where in sub_q:
            check_sub_quantized(name, m, where, sub, sub_q[where])
        else:
            check(not any(o in ("QuantizeLinear", "DequantizeLinear") for o in sub_ops),
                  f"{name}: Q/DQ inside {where}: {sub_ops}")
    check(set(sub_q) <= seen, f"{name}: subgraphs {set(sub_q) - seen} missing")
    for i, x in enumerate(xs):
        a, b = run_both(outs["1"], x, f"{name}_int8_{i}")
        for who, y in (("ORT", a), ("onnxq", b)):
            if refs[i] is not None and y is not None:
                c = cosine(refs[i], y)
                check(c >= 0.99, f"{name}: {who} int8 cosine to float {c:.5f} < 0.99 (input {i})")
                print(f"{name}: {who} cosine {c:.5f} (input {i})")


case("if", if_model(), [1, 3, 6, 6], [], [("Conv", 3, 3), ("MatMul", 2, 2)], True,
     {"branch.then_branch": ["then_conv", "then_mm"],
      "branch.else_branch": ["else_mm", "else_conv"]})
# QOperator: the main Conv becomes QLinearConv, the branches stay float;
# the tensor they read from the outer scope must still exist as float (a
# DequantizeLinear before the If), or ORT rejects the model
case("if_qop", if_model(), [1, 3, 6, 6],
     ["then_conv (Conv): inside If 'branch' then_branch: QOperator: static quantizes the "
      "main graph only",
      "else_mm (MatMul): inside If 'branch' else_branch: QOperator: static quantizes the "
      "main graph only"],
     [("Conv", 1, 3), ("MatMul", 0, 2)], True, {}, "--format", "qoperator")
# both branches make "T1": calibration could not tell their ranges apart
case("if_collide", if_model(collide=True), [1, 3, 6, 6],
     ["then_conv (Conv): inside If 'branch' then_branch: tensor 'T1' is made in more than "
      "one graph",
      "else_conv (Conv): inside If 'branch' else_branch: tensor 'T1' is made in more than "
      "one graph",
      "then_mm (MatMul): inside If 'branch' then_branch: tensor 'T1' is made in more than "
      "one graph"],
     [("Conv", 1, 3), ("MatMul", 0, 2)], True, {})
# no calibration sample takes else_branch: its nodes' tensors were never
# computed, so they stay float; then_branch and the main graph quantize
case("if_then_only", if_model(), [1, 3, 6, 6],
     ["else_mm (MatMul): inside If 'branch' else_branch: its branch never ran on the "
      "calibration samples",
      "else_conv (Conv): inside If 'branch' else_branch: its branch never ran on the "
      "calibration samples"],
     [("Conv", 2, 3), ("MatMul", 1, 2)], True,
     {"branch.then_branch": ["then_conv", "then_mm"]}, then_only=True)
# the table marks else_branch tensors "unreached"; loading it gives the
# same model as calibrating
tsrc, tbl = os.path.join(work, "if_then_only.onnx"), os.path.join(work, "then_only.json")
touts = [os.path.join(work, f"then_only_table{i}.onnx") for i in range(2)]
r1 = run_onnxq(onnxq, "static", tsrc, touts[0], "--calib",
               os.path.join(work, "if_then_only_calib"), "--calib-table", tbl, "--no-check")
r2 = run_onnxq(onnxq, "static", tsrc, touts[1], "--load-calib-table", tbl, "--no-check")
if check(r1.returncode == 0 and r2.returncode == 0,
         f"if_then_only table: {r1.stderr.strip()} {r2.stderr.strip()}"):
    with open(tbl) as f:
        tensors = json.load(f)["tensors"]
    check(tensors.get("E1") == {"unreached": True}, f"table entry of E1: {tensors.get('E1')}")
    with open(touts[0], "rb") as f1, open(touts[1], "rb") as f2:
        check(f1.read() == f2.read(), "if_then_only: model from the table differs")
    rt = run_ort(touts[1], os.path.join(work, "then_only_table_ort"),
                 {"X": os.path.join(work, "if_then_only_x0.npy")}, threads=1)
    check(rt.returncode == 0, f"ORT runs the table model: {rt.stderr.strip()[-300:]}")
case("nested", nested_model(), [1, 3, 6, 6], [], [("Conv", 2, 2), ("MatMul", 1, 1)], True,
     {"inner.then_branch": ["inner_conv", "inner_mm"]})
case("loop", loop_model(), [2, 8],
     ["body_mm0 (MatMul): inside Loop 'loop' body: its input 'v_in' is an input of the "
      "subgraph (calibration observes node outputs only)"],
     [("MatMul", 1, 2)], False, {"loop.body": ["body_mm"]})

sys.exit(summary("test_static_subgraph: "))
