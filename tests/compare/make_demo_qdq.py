#!/usr/bin/python3
"""make_demo_qdq.py — a QDQ twin of a float model, built with numpy (not by
onnxq) for tests/compare and scripts/report_screenshot.sh: every Conv and
Gemm gets a QuantizeLinear/DequantizeLinear pair on its activation input
(uint8, MinMax range over the calibration .npy files, run through ONNX
Runtime with the activations exposed), int8 symmetric per-channel weights
and int32 biases (scale = input scale x weight scale), with onnxruntime's
names (X_QuantizeLinear_Output, X_DequantizeLinear_Output, W_quantized,
W_scale, W_zero_point).

usage: make_demo_qdq.py FLOAT.onnx OUT.onnx RUNJS INPUT_NAME CAL.npy...
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import sanitize  # noqa: E402

src, dst, runjs, input_name = sys.argv[1:5]
cal = sys.argv[5:]
m = onnx.load(src)
g = m.graph
inits = {t.name: t for t in g.initializer}
targets = [n for n in g.node if n.op_type in ("Conv", "Gemm")]
acts = []
for n in targets:
    if n.input[0] not in inits and n.input[0] not in acts:
        acts.append(n.input[0])


# ranges of the activations, through ORT
tmp = tempfile.mkdtemp()
probe = onnx.ModelProto()
probe.CopyFrom(m)
for a in acts:
    if a != input_name:
        probe.graph.output.append(helper.make_tensor_value_info(a, TensorProto.FLOAT, None))
probe_path = os.path.join(tmp, "probe.onnx")
onnx.save(probe, probe_path)
lo = {a: 0.0 for a in acts}
hi = {a: 0.0 for a in acts}
for i, f in enumerate(cal):
    d = os.path.join(tmp, f"o{i}")
    subprocess.run(["node", runjs, probe_path, "--out", d, "--no-opt", "--input", f"{input_name}={f}"],
                   check=True)
    for a in acts:
        v = np.load(f) if a == input_name else np.load(os.path.join(d, sanitize(a) + ".npy"))
        lo[a] = min(lo[a], float(v.min()))
        hi[a] = max(hi[a], float(v.max()))

new_nodes, new_inits = [], [t for t in g.initializer]
act_scale = {}
for a in acts:
    s = np.float32((hi[a] - lo[a]) / 255)
    zp = np.uint8(np.clip(np.round(-lo[a] / s), 0, 255))
    act_scale[a] = s
    new_inits += [numpy_helper.from_array(np.array(s, np.float32), a + "_scale"),
                  numpy_helper.from_array(np.array(zp, np.uint8), a + "_zero_point")]
    new_nodes.append(helper.make_node("QuantizeLinear", [a, a + "_scale", a + "_zero_point"],
                                      [a + "_QuantizeLinear_Output"], name=a + "_QuantizeLinear"))
    new_nodes.append(helper.make_node("DequantizeLinear", [a + "_QuantizeLinear_Output", a + "_scale",
                                                           a + "_zero_point"],
                                      [a + "_DequantizeLinear_Output"], name=a + "_DequantizeLinear"))


def drop_init(name):
    for i, t in enumerate(new_inits):
        if t.name == name:
            del new_inits[i]
            return


for n in targets:
    w = numpy_helper.to_array(inits[n.input[1]])
    trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
    axis = 0 if n.op_type == "Conv" or trans_b else 1
    wm = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    ws = (np.maximum(np.abs(wm).max(axis=1), 1e-12) / 127).astype(np.float32)
    shp = [1] * w.ndim
    shp[axis] = -1
    wq = np.clip(np.round(w / ws.reshape(shp)), -127, 127).astype(np.int8)
    wn = n.input[1]
    drop_init(wn)
    new_inits += [numpy_helper.from_array(wq, wn + "_quantized"), numpy_helper.from_array(ws, wn + "_scale"),
                  numpy_helper.from_array(np.zeros(ws.shape, np.int8), wn + "_zero_point")]
    new_nodes.append(helper.make_node("DequantizeLinear", [wn + "_quantized", wn + "_scale", wn + "_zero_point"],
                                      [wn + "_DequantizeLinear_Output"], name=wn + "_DequantizeLinear", axis=axis))
    n.input[0] = n.input[0] + "_DequantizeLinear_Output"
    n.input[1] = wn + "_DequantizeLinear_Output"
    if len(n.input) > 2 and n.input[2] in inits:
        bn = n.input[2]
        b = numpy_helper.to_array(inits[bn])
        bs = (act_scale[n.input[0][:-len("_DequantizeLinear_Output")]] * ws).astype(np.float32)
        drop_init(bn)
        new_inits += [numpy_helper.from_array(np.round(b / bs).astype(np.int32), bn + "_quantized"),
                      numpy_helper.from_array(bs, bn + "_scale"),
                      numpy_helper.from_array(np.zeros(bs.shape, np.int32), bn + "_zero_point")]
        new_nodes.append(helper.make_node("DequantizeLinear", [bn + "_quantized", bn + "_scale", bn + "_zero_point"],
                                          [bn + "_DequantizeLinear_Output"], name=bn + "_DequantizeLinear", axis=0))
        n.input[2] = bn + "_DequantizeLinear_Output"

# place each Q/DQ right after its producer: prepend them and sort
nodes = list(g.node)
order = []
pending = new_nodes[:]
avail = {i.name for i in g.input} | {t.name for t in new_inits}


def emit_ready():
    """Appends the pending Q/DQ nodes whose inputs are available (again and
    again: one may feed the next)."""
    progress = True
    while progress:
        progress = False
        for q in pending[:]:
            if all(i in avail for i in q.input):
                order.append(q)
                avail.update(q.output)
                pending.remove(q)
                progress = True


for n in nodes:
    emit_ready()  # before n, those its inputs allow
    order.append(n)
    avail.update(n.output)
    emit_ready()
assert not pending, [q.name for q in pending]
del g.node[:]
g.node.extend(order)
del g.initializer[:]
g.initializer.extend(new_inits)
onnx.checker.check_model(m)
onnx.save(m, dst)
print("qdq twin:", len(acts), "activations,", len(targets), "weights")
