#!/usr/bin/python3
"""test_layers_info.py — checks `onnxq layers` and `onnxq info` against what
python onnx itself reads from the same files (the oracle).

Run with Debian's /usr/bin/python3 (python3-onnx 1.12, numpy):
    test_layers_info.py ONNXQ_BINARY SOURCE_DIR

Models: the speaker demo, ONNX test-data models (subgraphs, sequence and
optional types, IR<4 initializers listed as inputs, quantization ops), and
models built here for what the test data lacks: QDQ / QOperator / dynamic /
float16 models, external data (present and missing), Constant-node weights
inside subgraphs, long names and empty optional inputs.
"""
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, mapping, numpy_helper

ONNXQ = sys.argv[1]
SRC = sys.argv[2]
TESTDATA = "/usr/share/libonnx-testdata/data"

failures = []
n_checks = 0


def check(cond, what):
    global n_checks
    n_checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def eq(got, want, what):
    check(got == want, f"{what}: got {got!r}, want {want!r}")


def run(*args):
    p = subprocess.run([ONNXQ, *args], capture_output=True)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


# ---- the oracle -------------------------------------------------------------


def is_default(domain):
    return domain in ("", "ai.onnx")


def op_label(node):
    return node.op_type if is_default(node.domain) else f"{node.domain}.{node.op_type}"


def walk_nodes(graph, path="main", recurse=True):
    """(graph path, index, node) in the order `onnxq layers` lists them: each
    node followed by the nodes of its subgraphs."""
    for i, n in enumerate(graph.node):
        yield path, i, n
        if not recurse:
            continue
        label = n.name if n.name else f"#{i}"
        for a in n.attribute:
            if a.HasField("g"):
                yield from walk_nodes(a.g, f"{path}/{label}:{a.name}")
            for k, g in enumerate(a.graphs):
                yield from walk_nodes(g, f"{path}/{label}:{a.name}[{k}]")


def all_graphs(graph):
    yield graph
    for n in graph.node:
        for a in n.attribute:
            if a.HasField("g"):
                yield from all_graphs(a.g)
            for g in a.graphs:
                yield from all_graphs(g)


def dtype_name(dt):
    special = {TensorProto.STRING: "string", TensorProto.BFLOAT16: "bfloat16",
               TensorProto.UNDEFINED: "undefined"}
    if dt in special:
        return special[dt]
    return np.dtype(mapping.TENSOR_TYPE_TO_NP_TYPE[dt]).name


def type_text(tp):
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        return dtype_name(tp.tensor_type.elem_type)
    if kind == "sequence_type":
        return f"sequence({type_text(tp.sequence_type.elem_type)})"
    if kind == "optional_type":
        return f"optional({type_text(tp.optional_type.elem_type)})"
    if kind == "map_type":
        return f"map({dtype_name(tp.map_type.key_type)}, {type_text(tp.map_type.value_type)})"
    if kind == "sparse_tensor_type":
        return f"sparse({dtype_name(tp.sparse_tensor_type.elem_type)})"
    return "?"


def shape_list(tp):
    kind = tp.WhichOneof("value")
    if kind not in ("tensor_type", "sparse_tensor_type"):
        return None
    t = getattr(tp, kind)
    if not t.HasField("shape"):
        return None
    out = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param") and d.dim_param:
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def shape_text(tp):
    s = shape_list(tp)
    if s is None:
        return ""
    return "[" + ", ".join("?" if d is None else str(d) for d in s) + "]"


def param_tensors(graph):
    """Initializers and Constant `value` tensors of every graph."""
    for g in all_graphs(graph):
        for t in g.initializer:
            yield "init", t
        for n in g.node:
            if n.op_type == "Constant" and is_default(n.domain):
                for a in n.attribute:
                    if a.name == "value" and a.HasField("t"):
                        yield "const", a.t


def tensor_bytes(t):
    if t.data_type == TensorProto.STRING:
        return sum(len(s) for s in t.string_data)
    if t.data_location == TensorProto.EXTERNAL:
        item = np.dtype(mapping.TENSOR_TYPE_TO_NP_TYPE[t.data_type]).itemsize
        return int(np.prod(t.dims, dtype=np.int64)) * item
    return numpy_helper.to_array(t).nbytes  # independent of dims × size


def expected_info(model):
    g = model.graph
    inits = {t.name for t in g.initializer}
    by_type = {}
    totals = dict(tensors=0, elements=0, bytes=0, initializers=0, constants=0)
    ext = dict(tensors=0, bytes=0, files=[])
    for kind, t in param_tensors(g):
        n = int(np.prod(t.dims, dtype=np.int64))
        b = tensor_bytes(t)
        d = by_type.setdefault(dtype_name(t.data_type),
                               dict(tensors=0, elements=0, bytes=0))
        d["tensors"] += 1
        d["elements"] += n
        d["bytes"] += b
        totals["tensors"] += 1
        totals["elements"] += n
        totals["bytes"] += b
        totals["initializers" if kind == "init" else "constants"] += 1
        if t.data_location == TensorProto.EXTERNAL:
            ext["tensors"] += 1
            ext["bytes"] += b
            loc = {e.key: e.value for e in t.external_data}["location"]
            if loc not in ext["files"]:
                ext["files"].append(loc)
    ops = collections.Counter(op_label(n) for _, _, n in walk_nodes(g))
    return dict(
        ir_version=model.ir_version if model.HasField("ir_version") else None,
        producer_name=model.producer_name,
        producer_version=model.producer_version,
        domain=model.domain,
        model_version=model.model_version if model.HasField("model_version") else None,
        opsets={o.domain: o.version for o in model.opset_import},
        inputs=[dict(name=i.name, type=type_text(i.type), shape=shape_list(i.type))
                for i in g.input if i.name not in inits],
        outputs=[dict(name=o.name, type=type_text(o.type), shape=shape_list(o.type))
                 for o in g.output],
        initializer_inputs=sum(1 for i in g.input if i.name in inits),
        nodes=len(g.node),
        nodes_all_graphs=sum(len(x.node) for x in all_graphs(g)),
        subgraphs=sum(1 for _ in all_graphs(g)) - 1,
        op_types=dict(ops),
        parameters=dict(totals, by_type=by_type),
        external=ext,
    )


# ---- parsing the text output ------------------------------------------------


def parse_table(text, columns):
    """Rows of a table whose header names columns.  Cells are cut at the
    header's column starts; a cell wider than its column (never truncated)
    pushes the rest of its own row right, ending at the next two blanks."""
    lines = text.rstrip("\n").split("\n")
    header = lines[0]
    starts = [header.index(c) for c in columns]
    eq(header.split(), " ".join(columns).split(), "table header")
    check(set(lines[1]) == {"-"}, f"rule under header: {lines[1]!r}")
    rows = []
    for line in lines[2:]:
        check(line == line.rstrip(), f"no trailing blanks: {line!r}")
        cells, shift = [], 0
        for k, s in enumerate(starts):
            pos = s + shift
            if k + 1 == len(starts):
                cells.append(line[pos:])
                break
            end = starts[k + 1] + shift
            if len(line) > end and line[end - 1] != " ":  # an overflowing cell
                stop = line.find("  ", end)
                check(stop > 0, f"overflowing cell ends with two blanks: {line!r}")
                shift += stop + 2 - end
                end = stop + 2
            cells.append(line[pos:end].strip())
        rows.append(cells)
    return rows


def inputs_text(node):
    return ", ".join(i if i else '""' for i in node.input)


# ---- checks per model -------------------------------------------------------


def check_layers(path, model, subgraphs):
    tag = os.path.relpath(path, TESTDATA) if path.startswith(TESTDATA) else os.path.basename(path)
    want = list(walk_nodes(model.graph, recurse=subgraphs))
    args = ["layers", path] + (["--subgraphs"] if subgraphs else [])

    rc, out, err = run(*args)
    eq(rc, 0, f"{tag}: layers exit")
    eq(err, "", f"{tag}: layers stderr")
    cols = (["Graph"] if subgraphs else []) + ["Index", "Layer Name", "Operator Type", "Inputs"]
    rows = parse_table(out, cols)
    eq(len(rows), len(want), f"{tag}: layers row count")
    for cells, (gp, i, n) in zip(rows, want):
        exp = ([gp] if subgraphs else []) + [str(i), n.name or "Unnamed", n.op_type, inputs_text(n)]
        eq(cells, exp, f"{tag}: layers row {gp} #{i}")

    rc, out, err = run(*args, "--json")
    eq(rc, 0, f"{tag}: layers --json exit")
    got = json.loads(out)
    exp = [dict(index=i, name=n.name, op_type=n.op_type, domain=n.domain,
                inputs=list(n.input), outputs=list(n.output), graph=gp)
           for gp, i, n in want]
    eq(got, exp, f"{tag}: layers --json")

    # the histogram, text and JSON, sorted by count then name
    counts = collections.Counter(op_label(n) for _, _, n in want)
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rc, out, _ = run(*args, "--ops")
    eq(rc, 0, f"{tag}: layers --ops exit")
    rows = parse_table(out, ["Operator Type", "Count"])
    eq([(r[0], int(r[1])) for r in rows], order, f"{tag}: layers --ops")
    rc, out, _ = run(*args, "--ops", "--json")
    got = [(op_label(helper.make_node(o["op_type"], [], [], domain=o["domain"])), o["count"])
           for o in json.loads(out)]
    eq(got, order, f"{tag}: layers --ops --json")

    # --filter keeps each node's own index
    if want:
        pick = sorted({n.op_type for _, _, n in want})[:2]
        rc, out, err = run(*args, "--json", "--filter", ",".join(pick))
        eq(rc, 0, f"{tag}: layers --filter exit")
        eq(err, "", f"{tag}: layers --filter stderr")
        eq([(o["graph"], o["index"]) for o in json.loads(out)],
           [(gp, i) for gp, i, n in want if n.op_type in pick], f"{tag}: --filter {pick}")


def check_info(path, model):
    tag = os.path.relpath(path, TESTDATA) if path.startswith(TESTDATA) else os.path.basename(path)
    exp = expected_info(model)
    rc, out, err = run("info", path, "--json")
    eq(rc, 0, f"{tag}: info --json exit")
    eq(err, "", f"{tag}: info --json stderr")
    got = json.loads(out)
    for key in ("ir_version", "producer_name", "producer_version", "domain", "model_version",
                "opsets", "inputs", "outputs", "initializer_inputs", "nodes",
                "nodes_all_graphs", "subgraphs", "op_types"):
        eq(got[key], exp[key], f"{tag}: info {key}")
    eq(list(got["op_types"].values()), sorted(exp["op_types"].values(), reverse=True),
       f"{tag}: info op_types sorted by count")
    eq(got["parameters"], exp["parameters"], f"{tag}: info parameters")
    eq(got["external_data"]["tensors"], exp["external"]["tensors"], f"{tag}: external tensors")
    eq(got["external_data"]["bytes"], exp["external"]["bytes"], f"{tag}: external bytes")
    eq(got["external_data"]["files"], exp["external"]["files"], f"{tag}: external files")
    q = got["quantization"]
    by = exp["parameters"]["by_type"]
    eq(q["int8_tensors"], by.get("int8", {}).get("tensors", 0), f"{tag}: int8 tensors")
    eq(q["uint8_tensors"], by.get("uint8", {}).get("tensors", 0), f"{tag}: uint8 tensors")
    eq(q["float16_tensors"], by.get("float16", {}).get("tensors", 0), f"{tag}: float16 tensors")

    # the text form carries the same facts
    rc, out, err = run("info", path)
    eq(rc, 0, f"{tag}: info exit")
    lines = out.split("\n")
    eq(lines[0].split(None, 1), ["model:", path], f"{tag}: info model line")
    ins = lines.index(next(l for l in lines if l.startswith("inputs:")))
    eq(int(lines[ins].split()[1]), len(exp["inputs"]), f"{tag}: info input count")
    g = model.graph
    inits = {t.name for t in g.initializer}
    vis = [v for v in g.input if v.name not in inits]
    for k, v in enumerate(vis):
        cells = re.split(r"\s{2,}", lines[ins + 1 + k].strip())
        want = [v.name, type_text(v.type)] + ([shape_text(v.type)] if shape_text(v.type) else [])
        eq(cells, want, f"{tag}: info input line {k}")
    outs = ins + 1 + len(vis)
    eq(lines[outs], f"outputs:        {len(g.output)}", f"{tag}: info outputs line")
    for k, v in enumerate(g.output):
        cells = re.split(r"\s{2,}", lines[outs + 1 + k].strip())
        want = [v.name, type_text(v.type)] + ([shape_text(v.type)] if shape_text(v.type) else [])
        eq(cells, want, f"{tag}: info output line {k}")
    p = exp["parameters"]
    m = re.search(r"^parameters:\s+(\d+) tensors?, (\d+) values?, (\d+) bytes?\b", out, re.M)
    check(m is not None, f"{tag}: info parameters line")
    if m:
        eq(tuple(map(int, m.groups())), (p["tensors"], p["elements"], p["bytes"]),
           f"{tag}: info parameters line values")
    for name, d in p["by_type"].items():
        m = re.search(rf"^  {name}\s+(\d+) tensors?, (\d+) values?, (\d+) bytes?\b", out, re.M)
        check(m is not None and tuple(map(int, m.groups())) == (d["tensors"], d["elements"], d["bytes"]),
              f"{tag}: info {name} line")
    opsets = ", ".join(f"{o.domain if not is_default(o.domain) else 'ai.onnx'} {o.version}"
                       for o in model.opset_import)
    check(f"\nopsets:         {opsets}\n" in out, f"{tag}: info opsets line, want {opsets}")
    m = re.search(r"^nodes:\s+(\d+)", out, re.M)
    eq(int(m.group(1)) if m else None, len(g.node), f"{tag}: info nodes line")
    return got


def check_model(path, subgraphs=False):
    model = onnx.load(path, load_external_data=False)
    check_layers(path, model, subgraphs=False)
    if subgraphs:
        check_layers(path, model, subgraphs=True)
    return check_info(path, model)


# ---- models built for this test ---------------------------------------------


def f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def save(model, d, name, **kw):
    path = os.path.join(d, name)
    onnx.save_model(model, path, **kw)
    return path


def qdq_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, None, 8])
    inits = [
        numpy_helper.from_array(np.float32(0.05), "x_scale"),
        numpy_helper.from_array(np.uint8(128), "x_zp"),
        numpy_helper.from_array(np.ones((4, 3, 3, 3), np.int8), "w_q"),
        numpy_helper.from_array(np.float32(0.01), "w_scale"),
        numpy_helper.from_array(np.int8(0), "w_zp"),
        numpy_helper.from_array(np.zeros(4, np.float32), "b"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"], name="q_x"),
        helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["xd"], name="dq_x"),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w"], name="dq_w"),
        helper.make_node("Conv", ["xd", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1]),
    ]
    g = helper.make_graph(nodes, "qdq", [x], [y], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def qop_model():
    x = helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 3, 8, 8])
    s = numpy_helper.from_array(np.float32(0.1), "s")
    zp = numpy_helper.from_array(np.uint8(128), "zp")
    wzp = numpy_helper.from_array(np.int8(0), "wzp")
    w = numpy_helper.from_array(np.ones((3, 3, 1, 1), np.int8), "w")
    conv = lambda i, o, n: helper.make_node(  # noqa: E731
        "QLinearConv", [i, "s", "zp", "w", "s", "wzp", "s", "zp"], [o], name=n)
    nodes = [conv("x", "a", "c1"), conv("a", "b", "c2"),
             helper.make_node("QLinearAdd", ["a", "s", "zp", "b", "s", "zp", "s", "zp"], ["y"],
                              name="add", domain="com.microsoft")]
    g = helper.make_graph(nodes, "qop", [x], [y], [s, zp, wzp, w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                               helper.make_opsetid("com.microsoft", 1)])


def dynamic_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])
    inits = [numpy_helper.from_array(np.ones((16, 8), np.int8), "w"),
             numpy_helper.from_array(np.int8(0), "w_zp"),
             numpy_helper.from_array(np.float32(0.02), "w_scale")]
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xzp"]),
        helper.make_node("MatMulInteger", ["xq", "w", "xzp", "w_zp"], ["acc"]),
        helper.make_node("MatMulIntegerToFloat", ["xq", "w", "xs", "w_scale", "xzp", "w_zp"],
                         ["y"], domain="com.microsoft"),
    ]
    g = helper.make_graph(nodes, "dyn", [x], [y], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                               helper.make_opsetid("com.microsoft", 1)])


def fp16_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    inits = [numpy_helper.from_array(f32(4, 3).astype(np.float16), "w"),
             numpy_helper.from_array(f32(3, seed=1).astype(np.float16), "b")]
    nodes = [
        helper.make_node("Cast", ["x"], ["xh"], to=TensorProto.FLOAT16),
        helper.make_node("MatMul", ["xh", "w"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["yh"]),
        helper.make_node("Cast", ["yh"], ["y"], to=TensorProto.FLOAT),
    ]
    g = helper.make_graph(nodes, "fp16", [x], [y], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


LONG = "/encoder/layers.11/self_attention/multi_head/linear_query_projection/MatMul_1"


def paddle_like_model():
    """Weights in Constant nodes (paddle2onnx's habit), an If whose branches
    hold their own initializer and Constant, an unnamed node, a name longer
    than the name column's cap, an empty optional input and a custom-domain
    node."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 4])
    c = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", 4])
    cw = helper.make_node("Constant", [], ["w"], name="w_const",
                          value=numpy_helper.from_array(f32(4, 4), "w_val"))
    ci = helper.make_node("Constant", [], ["lim"], name="lim_const",
                          value=numpy_helper.from_array(np.array([6.0], np.float32), "lim_val"))
    then_g = helper.make_graph(
        [helper.make_node("Add", ["h", "tb"], ["t_out"], name="then_add")],
        "then", [], [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ones(4, np.float64), "tb")])
    else_g = helper.make_graph(
        [helper.make_node("Constant", [], ["eb"],
                          value=numpy_helper.from_array(np.arange(4, dtype=np.int32), "eb_val")),
         helper.make_node("Identity", ["h"], ["e_out"])],
        "else", [], [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, None)])
    nodes = [cw, ci,
             helper.make_node("MatMul", ["x", "w"], ["mm"], name=LONG),
             helper.make_node("Clip", ["mm", "", "lim"], ["h"]),
             helper.make_node("If", ["c"], ["y"], name="branch",
                              then_branch=then_g, else_branch=else_g),
             helper.make_node("FusedGelu", ["h"], ["unused"], name="gelu", domain="com.example")]
    g = helper.make_graph(nodes, "paddle", [x, c], [y])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                               helper.make_opsetid("com.example", 1)])


def external_model():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32])
    inits = [numpy_helper.from_array(f32(64, 32), "w1"),
             numpy_helper.from_array(f32(32, 32, seed=2), "w2"),
             numpy_helper.from_array(np.zeros(32, np.float32), "bias")]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["a"]),
             helper.make_node("MatMul", ["a", "w2"], ["b"]),
             helper.make_node("Add", ["b", "bias"], ["y"])]
    g = helper.make_graph(nodes, "ext", [x], [y], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


# ---- the tests --------------------------------------------------------------


def test_demo_and_testdata():
    check_model(os.path.join(SRC, "examples/speaker/sv_demo.onnx"))
    for name in ["node/test_if", "node/test_loop11", "node/test_scan9_sum", "node/test_if_seq",
                 "node/test_identity_opt", "node/test_qlinearconv", "node/test_matmulinteger",
                 "node/test_dynamicquantizelinear_expanded",
                 "pytorch-converted/test_BatchNorm2d_eval", "pytorch-converted/test_Conv2d",
                 "pytorch-operator/test_operator_non_float_params",
                 "simple/test_sequence_model1"]:
        check_model(os.path.join(TESTDATA, name, "model.onnx"), subgraphs=True)

    # values known independently of the oracle code, so the oracle itself is checked
    got = json.loads(run("info", "--json", os.path.join(SRC, "examples/speaker/sv_demo.onnx"))[1])
    eq(got["inputs"], [dict(name="feat", type="float32", shape=["batch", "frames", 80])], "demo input")
    eq(got["outputs"], [dict(name="embedding", type="float32", shape=["batch", 192])], "demo output")
    eq(got["opsets"], {"": 13}, "demo opsets")
    eq((got["nodes"], got["op_types"]["Conv"]), (71, 20), "demo nodes and Conv count")
    bn = json.loads(run("info", "--json", os.path.join(
        TESTDATA, "pytorch-converted/test_BatchNorm2d_eval/model.onnx"))[1])
    eq([i["name"] for i in bn["inputs"]], ["0"], "IR<4: initializer inputs are not inputs")
    eq((bn["initializer_inputs"], bn["parameters"]["tensors"]), (4, 4), "IR<4: counted as parameters")


def test_quantization(d):
    cases = [
        ("qdq.onnx", qdq_model(), ["qdq"], "QDQ (1 QuantizeLinear, 2 DequantizeLinear)", 2, 1),
        ("qop.onnx", qop_model(), ["qoperator"],
         "QOperator (QLinearConv \u00d72, com.microsoft.QLinearAdd \u00d71)", 2, 1),
        ("dyn.onnx", dynamic_model(), ["dynamic"],
         "dynamic (DynamicQuantizeLinear \u00d71, MatMulInteger \u00d71, "
         "com.microsoft.MatMulIntegerToFloat \u00d71)", 2, 0),
        ("fp16.onnx", fp16_model(), ["float16"], "float16 (2 float16 tensors)", 0, 0),
        ("plain.onnx", external_model(), [], "not quantized", 0, 0),
    ]
    for name, model, kinds, summary, n_i8, n_u8 in cases:
        path = save(model, d, name)
        got = check_model(path)["quantization"]
        eq(got["kinds"], kinds, f"{name}: quantization kinds")
        eq(got["summary"], summary, f"{name}: quantization summary")
        eq((got["int8_tensors"], got["uint8_tensors"]), (n_i8, n_u8), f"{name}: 8-bit tensors")
        out = run("info", path)[1]
        check(f"\nquantization:   {summary}\n" in out, f"{name}: text quantization line")
        check(f"\n8-bit tensors:  {n_i8} int8, {n_u8} uint8\n" in out, f"{name}: text 8-bit line")
    # ONNX's own quantization test models
    for name, kind in [("node/test_quantizelinear", "qdq"), ("node/test_qlinearmatmul_2D", "qoperator"),
                       ("node/test_convinteger_with_padding", "dynamic")]:
        got = json.loads(run("info", "--json", os.path.join(TESTDATA, name, "model.onnx"))[1])
        eq(got["quantization"]["kinds"], [kind], f"{name}: quantization kind")


def test_constants_subgraphs_and_table(d):
    path = save(paddle_like_model(), d, "paddle.onnx")
    got = check_model(path, subgraphs=True)
    # by hand: w 16 + lim 1 (f32), tb 4 (f64, If's then branch), eb 4 (i32, a Constant in else)
    eq(got["parameters"]["by_type"],
       {"float32": dict(tensors=2, elements=17, bytes=68),
        "float64": dict(tensors=1, elements=4, bytes=32),
        "int32": dict(tensors=1, elements=4, bytes=16)}, "paddle: parameters by type")
    eq((got["parameters"]["initializers"], got["parameters"]["constants"]), (1, 3),
       "paddle: initializers vs Constant nodes")
    eq(got["op_types"]["com.example.FusedGelu"], 1, "paddle: custom domain label")

    rc, out, _ = run("layers", path, "--subgraphs")
    lines = out.split("\n")
    header = lines[0]
    long_row = next(l for l in lines if LONG in l)
    # the long name is whole, and the cell after it starts two blanks later
    check(re.search(re.escape(LONG) + r"  MatMul +x, w$", long_row),
          f"long name kept whole: {long_row!r}")
    check(header.index("Operator Type") < long_row.index("MatMul"), "long name pushes its row only")
    clip_row = next(l for l in lines if " Clip " in l)
    eq(clip_row.index("Clip"), header.index("Operator Type"), "other rows stay aligned")
    check(clip_row.endswith('mm, "", lim'), f"empty optional input shown as \"\": {clip_row!r}")
    check(re.search(r"^main/branch:then_branch\s+0\s+then_add\s+Add\s+h, tb$", out, re.M),
          "subgraph row with path")
    check(re.search(r"^main/branch:else_branch\s+0\s+Unnamed\s+Constant$", out, re.M),
          "unnamed node in a subgraph, no inputs")
    ops = run("layers", path, "--ops", "--subgraphs")[1]
    check(re.search(r"^com\.example\.FusedGelu\s+1$", ops, re.M), "--ops shows the domain")
    check(re.search(r"^Constant\s+3$", ops, re.M), "--ops --subgraphs counts subgraph nodes")

    # filters: repeated and comma lists, a missing op noted on stderr
    rc, out, err = run("layers", path, "--subgraphs", "--json", "--filter", "Add,Nope",
                       "--filter", "Clip")
    eq(rc, 0, "--filter with an unmatched op still succeeds")
    eq([(o["graph"], o["index"], o["op_type"]) for o in json.loads(out)],
       [("main", 3, "Clip"), ("main/branch:then_branch", 0, "Add")], "--filter result")
    eq(err.strip().split("\n"), ["onnxq layers: note: no node has op type 'Nope'"], "--filter note")
    rc, out, err = run("layers", path, "--filter", "Add")
    eq((rc, out.count("\n")), (0, 2), "--filter without --subgraphs: header and rule only")
    check("'Add'" in err and len(err.strip().split("\n")) == 1, f"note for main graph: {err!r}")


def test_external(d):
    ext_dir = os.path.join(d, "ext")
    os.mkdir(ext_dir)
    path = save(external_model(), ext_dir, "m.onnx", save_as_external_data=True,
                all_tensors_to_one_file=True, location="m.onnx.data", size_threshold=0)
    got = check_model(path)
    e = got["external_data"]
    eq((e["tensors"], e["bytes"], e["files"], e["missing_files"]),
       (3, (64 * 32 + 32 * 32 + 32) * 4, ["m.onnx.data"], []), "external data")
    out = run("info", path)[1]
    check("\nexternal data:  3 tensors, 12416 bytes (12.12 KiB), in 1 file\n  m.onnx.data\n" in out,
          f"external data text: {out!r}")

    per = os.path.join(d, "per")
    os.mkdir(per)
    path = save(external_model(), per, "m.onnx", save_as_external_data=True,
                all_tensors_to_one_file=False, size_threshold=0)
    os.remove(os.path.join(per, "w2"))
    got = check_model(path)
    e = got["external_data"]
    eq((e["tensors"], sorted(e["files"]), e["missing_files"]), (3, ["bias", "w1", "w2"], ["w2"]),
       "one file per tensor, one missing")
    check("  w2  (missing)\n" in run("info", path)[1], "missing file marked in text")


def test_errors(d):
    empty = os.path.join(d, "empty.onnx")
    open(empty, "wb").close()
    text = os.path.join(d, "notes.txt")
    with open(text, "w") as f:
        f.write("this is not a model\n" * 20)
    missing = os.path.join(d, "no_such_model.onnx")
    for cmd in (["layers"], ["layers", "--json"], ["info"], ["info", "--json"]):
        for bad in (missing, empty, d, text):
            rc, out, err = run(*cmd, bad)
            eq(rc, 1, f"{cmd} {bad}: exit")
            eq(out, "", f"{cmd} {bad}: nothing on stdout")
            lines = err.split("\n")
            check(len(lines) == 2 and lines[1] == "" and bad in lines[0]
                  and lines[0].startswith(f"onnxq {cmd[0]}: "),
                  f"{cmd} {bad}: one line naming the file: {err!r}")
    demo = os.path.join(SRC, "examples/speaker/sv_demo.onnx")
    for args in (["layers", demo, "--bogus"], ["layers", demo, "-x"], ["layers"],
                 ["layers", demo, demo], ["layers", demo, "--filter"],
                 ["layers", demo, "--filter", "Conv,,Relu"], ["layers", demo, "--filter="],
                 ["info", demo, "--bogus"], ["info"], ["info", demo, "--json=yes"]):
        rc, out, err = run(*args)
        eq(rc, 2, f"{args}: usage exit")
        check(f"try 'onnxq {args[0]} --help'" in err, f"{args}: help hint: {err!r}")
    for cmd, opts in (("layers", ["--ops", "--filter", "--subgraphs", "--json", "--help", "-h"]),
                      ("info", ["--json", "--help", "-h"])):
        for h in ("--help", "-h"):
            rc, out, err = run(cmd, h)
            eq((rc, err), (0, ""), f"{cmd} {h}: exit")
            for o in opts:
                check(re.search(rf"(^|[\s,]){re.escape(o)}\b", out), f"{cmd} {h} mentions {o}")


def main():
    test_demo_and_testdata()
    with tempfile.TemporaryDirectory(prefix="onnxq-layers-info-") as d:
        test_quantization(d)
        test_constants_subgraphs_and_table(d)
        test_external(d)
        test_errors(d)
    print(f"{n_checks - len(failures)}/{n_checks} checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
