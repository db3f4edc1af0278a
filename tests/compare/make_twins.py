#!/usr/bin/python3
"""make_twins.py — a small float CNN and two quantized twins built here with
numpy (not by onnxq), for tests/compare:

  float.onnx  x[1,3,12,12] -> Conv(conv1) -> Relu -> Conv(conv2) -> Relu
              -> GlobalAveragePool -> Flatten -> MatMul -> Add -> logits[1,10]
  qdq.onnx    QuantizeLinear/DequantizeLinear pairs named as onnxruntime's
              quantize_static names them (X_QuantizeLinear_Output,
              X_DequantizeLinear_Output, W_quantized/_scale/_zero_point), int8
              per-channel conv weights, int32 biases, uint8 activations; the
              output keeps its name (its producer's output is renamed
              logits_QuantizeLinear_Input).  The activation after the first
              Relu is deliberately coarse (3 bits of range).
  qop.onnx    QOperator: QuantizeLinear -> QLinearConv (Relu folded into the
              output range, output X_quantized, node N_quant) -> QLinearConv
              -> DequantizeLinear -> float pool/flatten -> QuantizeLinear ->
              QLinearMatMul -> DequantizeLinear -> Add; the second conv's
              output range is deliberately coarse (scale x 16).

Ranges come from running the float model in ONNX Runtime with every
intermediate exposed (calibration samples cal_*.npy written here).

usage: make_twins.py OUTDIR RUNJS
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import sanitize  # noqa: E402

out, runjs = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)

# names with HTML in them: the report must escape them
R1 = 'r1<b>&"x\''
w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)
b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
w2 = (rng.standard_normal((16, 8, 3, 3)) * 0.2).astype(np.float32)
b2 = (rng.standard_normal(16) * 0.1).astype(np.float32)
wfc = (rng.standard_normal((16, 10)) * 0.5).astype(np.float32)
bfc = (rng.standard_normal(10) * 0.1).astype(np.float32)
inits = {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "wfc": wfc, "bfc": bfc}


def float_model():
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], [R1], name="relu1"),
        helper.make_node("Conv", [R1, "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["pool"], name="gap"),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "wfc"], ["mm"], name="fc"),
        helper.make_node("Add", ["mm", "bfc"], ["logits"], name="fc_bias"),
    ]
    g = helper.make_graph(
        nodes, "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def run_ort(model_path, inputs, outdir):
    args = ["node", runjs, model_path, "--out", outdir, "--no-opt"]
    for k, v in inputs.items():
        args += ["--input", f"{k}={v}"]
    subprocess.run(args, check=True)


def expose_all(m, names, path):
    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    have = {o.name for o in m2.graph.output}
    for n in names:
        if n not in have:
            m2.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    onnx.save(m2, path)


fm = float_model()
onnx.save(fm, os.path.join(out, "float.onnx"))

# calibration / test samples
for i in range(4):
    np.save(os.path.join(out, f"cal_{i}.npy"),
            rng.uniform(-1, 1, (1, 3, 12, 12)).astype(np.float32))
acts = ["x", "c1", R1, "c2", "r2", "pool", "flat", "mm", "logits"]
expose_all(fm, acts, os.path.join(out, "float_all.onnx"))
ranges = {a: [0.0, 0.0] for a in acts}
for i in range(4):
    d = os.path.join(out, f"ort_float_{i}")
    run_ort(os.path.join(out, "float_all.onnx"), {"x": os.path.join(out, f"cal_{i}.npy")}, d)
    for a in acts:
        v = np.load(os.path.join(d, sanitize(a) + ".npy"))
        ranges[a][0] = min(ranges[a][0], float(v.min()))
        ranges[a][1] = max(ranges[a][1], float(v.max()))


def u8_params(lo, hi, levels=255):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = np.float32((hi - lo) / levels)
    zp = int(np.clip(np.round(-lo / scale), 0, 255))
    return scale, np.uint8(zp)


# Weights use 7 bits ([-63, 63], onnxruntime's reduce_range): ORT's u8 x s8
# kernels on AVX2 without VNNI add pairs of products in int16 and saturate
# with full-range weights, which would make ORT a wrong oracle.
WMAX = 63


def s8_per_channel(w):
    amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    return (amax / WMAX).astype(np.float32)


def q_s8(w, scale, axis=0):
    shp = [1] * w.ndim
    shp[axis] = -1
    return np.clip(np.round(w / scale.reshape(shp)), -WMAX, WMAX).astype(np.int8)


# ---------------------------------------------------------------- QDQ twin
def qdq_model():
    g_inits, nodes = [], []

    def add_init(arr, name):
        g_inits.append(numpy_helper.from_array(arr, name))

    def qdq(t, scale, zp):
        add_init(np.array(scale, np.float32), t + "_scale")
        add_init(np.array(zp, np.uint8), t + "_zero_point")
        nodes.append(helper.make_node("QuantizeLinear", [t, t + "_scale", t + "_zero_point"],
                                      [t + "_QuantizeLinear_Output"], name=t + "_QuantizeLinear"))
        nodes.append(helper.make_node("DequantizeLinear",
                                      [t + "_QuantizeLinear_Output", t + "_scale", t + "_zero_point"],
                                      [t + "_DequantizeLinear_Output"], name=t + "_DequantizeLinear"))
        return t + "_DequantizeLinear_Output"

    def weight(name, w, axis):
        s = s8_per_channel(w) if axis == 0 else np.array(np.abs(w).max() / WMAX, np.float32)
        q = q_s8(w, s, 0) if axis == 0 else np.clip(np.round(w / s), -WMAX, WMAX).astype(np.int8)
        add_init(q, name + "_quantized")
        add_init(s, name + "_scale")
        add_init(np.zeros(s.shape, np.int8), name + "_zero_point")
        kw = {"axis": 0} if axis == 0 else {}
        nodes.append(helper.make_node("DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"],
                                      [name + "_DequantizeLinear_Output"], name=name + "_DequantizeLinear", **kw))
        return name + "_DequantizeLinear_Output", s

    def bias(name, b, s_in, s_w):
        s = (np.float32(s_in) * s_w).astype(np.float32)
        q = np.round(b / s).astype(np.int32)
        add_init(q, name + "_quantized")
        add_init(s, name + "_scale")
        add_init(np.zeros(s.shape, np.int32), name + "_zero_point")
        nodes.append(helper.make_node("DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"],
                                      [name + "_DequantizeLinear_Output"], name=name + "_DequantizeLinear", axis=0))
        return name + "_DequantizeLinear_Output"

    sx, zx = u8_params(*ranges["x"])
    s1, z1 = u8_params(*ranges[R1], levels=7)  # deliberately coarse: 3 bits
    s2, z2 = u8_params(*ranges["r2"])
    sf, zf = u8_params(*ranges["flat"])
    so, zo = u8_params(*ranges["logits"])
    xd = qdq("x", sx, zx)
    w1d, w1s = weight("w1", w1, 0)
    b1d = bias("b1", b1, sx, w1s)
    nodes.append(helper.make_node("Conv", [xd, w1d, b1d], ["c1"], name="conv1", pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Relu", ["c1"], [R1], name="relu1"))
    r1d = qdq(R1, s1, z1)
    w2d, w2s = weight("w2", w2, 0)
    b2d = bias("b2", b2, s1, w2s)
    nodes.append(helper.make_node("Conv", [r1d, w2d, b2d], ["c2"], name="conv2", pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Relu", ["c2"], ["r2"], name="relu2"))
    r2d = qdq("r2", s2, z2)
    nodes.append(helper.make_node("GlobalAveragePool", [r2d], ["pool"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"))
    fd = qdq("flat", sf, zf)
    wfd, _ = weight("wfc", wfc, -1)
    nodes.append(helper.make_node("MatMul", [fd, wfd], ["mm"], name="fc"))
    nodes.append(helper.make_node("Add", ["mm", "bfc"], ["logits_QuantizeLinear_Input"], name="fc_bias"))
    add_init(bfc, "bfc")
    add_init(np.array(so, np.float32), "logits_scale")
    add_init(np.array(zo, np.uint8), "logits_zero_point")
    nodes.append(helper.make_node("QuantizeLinear", ["logits_QuantizeLinear_Input", "logits_scale", "logits_zero_point"],
                                  ["logits_QuantizeLinear_Output"], name="logits_QuantizeLinear"))
    nodes.append(helper.make_node("DequantizeLinear", ["logits_QuantizeLinear_Output", "logits_scale",
                                                       "logits_zero_point"], ["logits"], name="logits_DequantizeLinear"))
    g = helper.make_graph(nodes, "net_qdq",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], g_inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


# ---------------------------------------------------------- QOperator twin
def qop_model():
    g_inits, nodes = [], []

    def add_init(arr, name):
        g_inits.append(numpy_helper.from_array(arr, name))

    sx, zx = u8_params(*ranges["x"])
    s1, z1 = u8_params(*ranges[R1])
    s2, z2 = u8_params(*ranges["r2"])
    s2 = np.float32(s2 * 16)  # deliberately coarse
    sf, zf = u8_params(*ranges["flat"])
    sm, zm = u8_params(*ranges["mm"])
    for n, s, z in (("x", sx, zx), ("c1", s1, z1), ("c2", s2, z2), ("flat", sf, zf), ("mm", sm, zm)):
        add_init(np.array(s, np.float32), n + "_scale")
        add_init(np.array(z, np.uint8), n + "_zero_point")
    ws1, ws2 = s8_per_channel(w1), s8_per_channel(w2)
    add_init(q_s8(w1, ws1), "w1_quantized")
    add_init(ws1, "w1_scale")
    add_init(np.zeros(8, np.int8), "w1_zero_point")
    add_init(np.round(b1 / (np.float32(sx) * ws1)).astype(np.int32), "b1_quantized")
    add_init(q_s8(w2, ws2), "w2_quantized")
    add_init(ws2, "w2_scale")
    add_init(np.zeros(16, np.int8), "w2_zero_point")
    add_init(np.round(b2 / (np.float32(s1) * ws2)).astype(np.int32), "b2_quantized")
    wfs = np.array(np.abs(wfc).max() / WMAX, np.float32)
    add_init(np.clip(np.round(wfc / wfs), -WMAX, WMAX).astype(np.int8), "wfc_quantized")
    add_init(wfs, "wfc_scale")
    add_init(np.array(0, np.int8), "wfc_zero_point")
    add_init(bfc, "bfc")
    nodes.append(helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero_point"], ["x_quantized"],
                                  name="x_QuantizeLinear"))
    # Relu folded: the output range starts at 0, so saturation is the Relu
    nodes.append(helper.make_node(
        "QLinearConv", ["x_quantized", "x_scale", "x_zero_point", "w1_quantized", "w1_scale", "w1_zero_point",
                        "c1_scale", "c1_zero_point", "b1_quantized"], ["c1_quantized"],
        name="conv1_quant", pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node(
        "QLinearConv", ["c1_quantized", "c1_scale", "c1_zero_point", "w2_quantized", "w2_scale", "w2_zero_point",
                        "c2_scale", "c2_zero_point", "b2_quantized"], ["c2_quantized"],
        name="conv2_quant", pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("DequantizeLinear", ["c2_quantized", "c2_scale", "c2_zero_point"], ["r2"],
                                  name="r2_DequantizeLinear"))
    nodes.append(helper.make_node("GlobalAveragePool", ["r2"], ["pool"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"))
    nodes.append(helper.make_node("QuantizeLinear", ["flat", "flat_scale", "flat_zero_point"], ["flat_quantized"],
                                  name="flat_QuantizeLinear"))
    nodes.append(helper.make_node(
        "QLinearMatMul", ["flat_quantized", "flat_scale", "flat_zero_point", "wfc_quantized", "wfc_scale",
                          "wfc_zero_point", "mm_scale", "mm_zero_point"], ["mm_quantized"], name="fc_quant"))
    nodes.append(helper.make_node("DequantizeLinear", ["mm_quantized", "mm_scale", "mm_zero_point"], ["mm"],
                                  name="mm_DequantizeLinear"))
    nodes.append(helper.make_node("Add", ["mm", "bfc"], ["logits"], name="fc_bias"))
    g = helper.make_graph(nodes, "net_qop",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], g_inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


for name, m in (("qdq", qdq_model()), ("qop", qop_model())):
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))
print("ok")
