#!/usr/bin/env python3
"""test_static_numerics.py — two numerics rules of `onnxq static` on small
hand-built models, against oracles onnxq did not compute:

  1. the int32 bias guard: where input_scale x weight_scale would push a
     Conv/Gemm bias past int32, ONNX Runtime's quantizer enlarges the int8
     weight scale (_adjust_weight_scale_for_int32_bias: threshold
     1.0001 * 2 * max|bias| / (2 * (2^31 - 1)), per tensor or per channel).
     The written weight scales, int8 weights and int32 biases must equal a
     numpy recomputation of that rule (and of the unchanged scales where it
     does not apply: uint8 weights, QDQDisableWeightAdjustForInt32Bias);
  2. data movement (MaxPool, Transpose, Reshape, Squeeze, Unsqueeze, Slice,
     Resize, Gather, Split): quantized after a quantized tensor, their
     outputs share its scale/zero point (QDQ: DQ -> op -> Q of the same
     initializers; QOperator: the op reads and writes the 8-bit tensor),
     following ONNX Runtime's registries; ForceQuantizeNoInputCheck
     quantizes them when their input is not quantized.
Every written model runs in ONNX Runtime 1.30 (tests/oracle/run.js) and in
onnxq; both must stay close to ORT's float output.
Usage: test_static_numerics.py ONNXQ PROJECT_DIR WORK_DIR
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


def ort_run(m, x_npy, out):
    r = run_ort(m, out, {"X": x_npy}, threads=1)
    check(r.returncode == 0, f"ORT runs {m}: {r.stderr.strip()[-400:]}")
    return np.load(os.path.join(out, "Y.npy")) if r.returncode == 0 else None


def onnxq_run(m, x_npy, out):
    os.makedirs(out, exist_ok=True)
    r = run_onnxq(onnxq, "run", m, "--input", f"X={x_npy}", "--out", out, "--threads", "1")
    check(r.returncode == 0, f"onnxq runs {m}: {r.stderr.strip()[-400:]}")
    return np.load(os.path.join(out, "Y.npy")) if r.returncode == 0 else None


def save(model, name):
    path = os.path.join(work, name)
    onnx.save(model, path)
    return path


def calib_dir(name, shape, lo, hi, n=6, seed=0):
    """n samples in [lo, hi], the first two touching the ends exactly."""
    d = os.path.join(work, name)
    os.makedirs(d)
    rng = np.random.default_rng(seed)
    for i in range(n):
        x = rng.uniform(lo, hi, size=shape).astype(np.float32)
        if i == 0:
            x.flat[0] = lo
        if i == 1:
            x.flat[0] = hi
        np.save(os.path.join(d, f"s{i}.npy"), x)
    return d


def quantize(src, out, calib, *opts):
    r = run_onnxq(onnxq, "static", src, out, "--calib", calib, "-q", *opts)
    check(r.returncode == 0 and os.path.exists(out),
          f"onnxq static {' '.join(opts)}: {r.stderr.strip()}")
    return onnx.load(out) if r.returncode == 0 else None


def inits(m):
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


def producer(m, t):
    for n in m.graph.node:
        if t in n.output:
            return n
    return None


def consumers(m, t):
    return [n for n in m.graph.node if t in n.input]


# ---- ONNX Runtime's rules, in numpy ----------------------------------------
I32 = np.iinfo(np.int32)
QRANGE32 = np.float64(I32.max) - np.float64(I32.min + 1)


def act_scale(lo, hi):
    """uint8, asymmetric (compute_scale_zp)."""
    rmin, rmax = np.float32(min(lo, 0)), np.float32(max(hi, 0))
    return np.float32(np.float64(rmax - rmin) / 255.0)


def weight_scales(w, axis, reduce_range):
    """int8 symmetric per tensor (axis None) or per slice along axis."""
    qmin, qmax = (-64, 64) if reduce_range else (-127, 127)
    if axis is None:
        slices = [w.ravel()]
    else:
        slices = [np.take(w, c, axis=axis).ravel()
                  for c in range(w.shape[axis])]
    out = []
    for s in slices:
        rmin = np.minimum(s.min(), np.float32(0))
        rmax = np.maximum(s.max(), np.float32(0))
        absmax = np.maximum(np.abs(rmin), np.abs(rmax))
        dr = np.float64(np.float32(absmax) - np.float32(-absmax))
        out.append(np.float32(dr / (np.float64(qmax) - np.float64(qmin))))
    return np.array(out, dtype=np.float32)


def adjust(bias, in_scale, ws):
    """_adjust_weight_scale_for_int32_bias (int8 weights, zero points 0)."""
    ws = ws.copy()
    per_channel = ws.size > 1
    for c in range(ws.size):
        b = np.abs(bias[c:c + 1] if per_channel else bias).astype(np.float64)
        absmax = max(float(b.max()), 0.0)
        smallest = 1.0001 * (2.0 * absmax) / QRANGE32
        cand = np.float64(in_scale) * np.float64(ws[c])
        if 0.0 < cand < smallest:
            ws[c] = np.float32(np.float64(ws[c]) * (smallest / cand))
    return ws


def quant_weight(w, ws, axis):
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    s = ws.reshape(shape) if axis is not None else ws[0]
    q = np.round(w.astype(np.float32) / s)
    return np.clip(q, -128, 127).astype(np.int8)


def quant_bias(b, in_scale, ws):
    bs = (np.float32(in_scale) * ws).astype(np.float32)
    q = np.round(b.astype(np.float64) / bs.astype(np.float64))
    return np.clip(q, I32.min, I32.max).astype(np.int32)


# ---- 1. int32 bias guard ----------------------------------------------------
tiny = np.float32(1e-7)


def conv_model(w, b):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, 8, 8])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    g = helper.make_graph(
        [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv")],
        "conv", [x], [y],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def gemm_model(w, b, trans_b):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 16])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    g = helper.make_graph(
        [helper.make_node("Gemm", ["X", "W", "B"], ["Y"], name="gemm",
                          transB=trans_b)],
        "gemm", [x], [y],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


sign8 = np.where(np.arange(8) % 2 == 0, -1, 1).astype(np.float32)
bias8 = np.where(np.arange(8) % 2 == 0, 5.0, -4.5).astype(np.float32)
# all channels tiny: the per-tensor scale overflows too
w_tiny = (tiny * sign8).reshape(8, 1, 1, 1)
# channels 0-3 tiny, 4-7 ordinary: per channel only 0-3 grow
w_mixed = w_tiny.copy()
w_mixed[4:, 0, 0, 0] = [0.25, -0.5, 0.4, -0.3]
bias4 = np.array([5.0, -4.5, 3.0, -6.0], np.float32)
rng = np.random.default_rng(1)
w_gemm_t = (tiny * rng.choice([-1.0, 1.0], size=(4, 16))).astype(np.float32)
w_gemm_t[3] = rng.uniform(-0.5, 0.5, 16)  # one ordinary output
w_gemm = np.ascontiguousarray(w_gemm_t.T)

X_HI = 12.75  # uint8 input scale 0.05
calib_conv = calib_dir("calib_conv", [1, 1, 8, 8], 0.0, X_HI)
calib_gemm = calib_dir("calib_gemm", [1, 16], 0.0, X_HI, seed=1)
x_conv = os.path.join(work, "x_conv.npy")
np.save(x_conv, np.random.default_rng(7).uniform(0, X_HI, (1, 1, 8, 8))
        .astype(np.float32))
x_gemm = os.path.join(work, "x_gemm.npy")
np.save(x_gemm, np.random.default_rng(8).uniform(0, X_HI, (1, 16))
        .astype(np.float32))
in_s = act_scale(0.0, X_HI)

cases = [
    # name, model, calib, x, weight, bias, channel axis, options, adjusted?
    ("conv_tiny_pt", conv_model(w_tiny, bias8), calib_conv, x_conv, w_tiny,
     bias8, None, ["--no-per-channel"], True),
    ("conv_tiny_pc", conv_model(w_tiny, bias8), calib_conv, x_conv, w_tiny,
     bias8, 0, [], True),
    ("conv_mixed_pc", conv_model(w_mixed, bias8), calib_conv, x_conv,
     w_mixed, bias8, 0, [], True),
    ("conv_mixed_pt", conv_model(w_mixed, bias8), calib_conv, x_conv,
     w_mixed, bias8, None, ["--no-per-channel"], False),
    ("gemm_t_pt", gemm_model(w_gemm_t, bias4, 1), calib_gemm, x_gemm,
     w_gemm_t, bias4, None, ["--no-per-channel"], False),
    ("gemm_t_pc", gemm_model(w_gemm_t, bias4, 1), calib_gemm, x_gemm,
     w_gemm_t, bias4, 0, [], True),
    ("gemm_pc", gemm_model(w_gemm, bias4, 0), calib_gemm, x_gemm, w_gemm,
     bias4, 1, [], True),
    ("gemm_tiny_pt", gemm_model(w_gemm_t[:3].copy(), bias4[:3].copy(), 1),
     calib_gemm, x_gemm, w_gemm_t[:3].copy(), bias4[:3].copy(), None,
     ["--no-per-channel"], True),
]
for name, model, calib, x, w, b, axis, opts, adjusted in cases:
    src = save(model, name + ".onnx")
    f_out = ort_run(src, x, os.path.join(work, name + "_f"))
    naive = weight_scales(w, axis, True)  # default: reduce range
    want = adjust(b, in_s, naive)
    check(adjusted == bool((want != naive).any()),
          f"{name}: the case is meant {'' if adjusted else 'not '}to grow")
    if adjusted:  # the naive bias overflows int32 there
        ratio = np.abs(b.astype(np.float64)) / (
            np.float64(in_s) * naive.astype(np.float64)
            if naive.size > 1 else np.float64(in_s) * np.float64(naive[0]))
        check(ratio.max() > I32.max, f"{name}: naive bias overflows")
    for fmt in ("qdq", "qoperator"):
        out = os.path.join(work, f"{name}_{fmt}.onnx")
        m = quantize(src, out, calib, "--format", fmt, *opts)
        if m is None:
            continue
        t = inits(m)
        node = next(n for n in m.graph.node
                    if n.op_type in ("Conv", "Gemm", "QLinearConv", "QGemm"))
        if fmt == "qdq":
            dq_x, dq_w, dq_b = (producer(m, node.input[k]) for k in range(3))
            xs, ws, wq, bq = (t[dq_x.input[1]], t[dq_w.input[1]],
                              t[dq_w.input[0]], t[dq_b.input[0]])
            check(np.array_equal(t[dq_b.input[1]].ravel(),
                                 (np.float32(in_s) * want).astype(np.float32)),
                  f"{name} {fmt}: bias scale = input x weight scale")
        elif node.op_type == "QLinearConv":
            xs, ws, wq, bq = t[node.input[1]], t[node.input[4]], \
                t[node.input[3]], t[node.input[8]]
        else:  # QGemm: A, a_s, a_zp, B, b_s, b_zp, C, y_s, y_zp
            xs, ws, wq, bq = t[node.input[1]], t[node.input[4]], \
                t[node.input[3]], t[node.input[6]]
        check(np.float32(xs) == in_s, f"{name} {fmt}: input scale {xs}")
        check(ws.dtype == np.float32 and
              np.array_equal(ws.ravel(), want),
              f"{name} {fmt}: weight scale {ws.ravel()} != {want}")
        stored_axis = axis
        if fmt == "qoperator" and node.op_type == "QGemm":
            stored_axis = axis  # QGemm keeps B's layout
        check(np.array_equal(wq, quant_weight(w, want, stored_axis)),
              f"{name} {fmt}: int8 weights")
        check(bq.dtype == np.int32 and
              np.array_equal(bq.ravel(), quant_bias(b, in_s, want)),
              f"{name} {fmt}: int32 bias {bq.ravel()} != "
              f"{quant_bias(b, in_s, want)}")
        q_ort = ort_run(out, x, os.path.join(work, f"{name}_{fmt}_ort"))
        q_oq = onnxq_run(out, x, os.path.join(work, f"{name}_{fmt}_oq"))
        if f_out is None:
            continue
        step = float(np.abs(f_out).max()) / 127  # output scale, about
        for who, q in (("ORT", q_ort), ("onnxq", q_oq)):
            if q is None:
                continue
            err = float(np.abs(q - f_out).max())
            check(cosine(q, f_out) > 0.999 and err < 3 * step,
                  f"{name} {fmt} {who}: cosine {cosine(q, f_out):.5f}, "
                  f"max error {err:.4g} (step {step:.4g})")

# where ONNX Runtime leaves the scale alone: uint8 weights (zero point not
# 0) and QDQDisableWeightAdjustForInt32Bias
src = os.path.join(work, "conv_tiny_pt.onnx")
for name, opts in (("u8w", ["--weight-type", "quint8"]),
                   ("noadj", ["--extra",
                              "QDQDisableWeightAdjustForInt32Bias=1"])):
    out = os.path.join(work, f"conv_{name}.onnx")
    m = quantize(src, out, calib_conv, "--no-per-channel", *opts)
    if m is None:
        continue
    t = inits(m)
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    ws = t[producer(m, conv.input[1]).input[1]]
    if name == "noadj":
        check(np.float32(ws) == weight_scales(w_tiny, None, True)[0],
              f"{name}: weight scale kept ({ws})")
    else:  # uint8 asymmetric [0, 255] (reduce range is for u8 x s8 only)
        rmin, rmax = np.float32(-tiny), np.float32(tiny)
        check(np.float32(ws) == np.float32(np.float64(rmax - rmin) / 255),
              f"{name}: weight scale kept ({ws})")
    ort_run(out, x_conv, os.path.join(work, f"conv_{name}_ort"))

# ---- 2. data movement shares its input's parameters --------------------------
rng = np.random.default_rng(3)
W1 = rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32)
B1 = rng.normal(0, 0.1, 4).astype(np.float32)
W2 = rng.normal(0, 0.5, (2, 2, 1, 1)).astype(np.float32)
B2 = rng.normal(0, 0.1, 2).astype(np.float32)


def i64(name, v):
    return numpy_helper.from_array(np.array(v, dtype=np.int64), name)


nodes = [
    helper.make_node("Conv", ["X", "W1", "B1"], ["c1"], name="conv1",
                     pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    helper.make_node("MaxPool", ["r1"], ["mp"], name="maxpool",
                     kernel_shape=[2, 2], strides=[2, 2]),     # 1,4,4,4
    helper.make_node("AveragePool", ["mp"], ["ap"], name="avgpool",
                     kernel_shape=[1, 1]),
    helper.make_node("Transpose", ["ap"], ["tr"], name="transpose",
                     perm=[0, 1, 3, 2]),
    helper.make_node("Reshape", ["tr", "shape_a"], ["ra"], name="reshape_a"),
    helper.make_node("Unsqueeze", ["ra", "ax2"], ["un"], name="unsqueeze"),
    helper.make_node("Squeeze", ["un", "ax2"], ["sq"], name="squeeze"),
    helper.make_node("Reshape", ["sq", "shape_b"], ["rb"], name="reshape_b"),
    helper.make_node("Slice", ["rb", "st", "en", "axs"], ["sl"],
                     name="slice"),                             # 1,4,4,3
    helper.make_node("Resize", ["sl", "", "scales"], ["rs"], name="resize",
                     mode="nearest"),                           # 1,4,8,6
    helper.make_node("Gather", ["rs", "perm_idx"], ["ga"], name="gather",
                     axis=1),
    helper.make_node("Split", ["ga", "split"], ["s0", "s1"], name="split",
                     axis=1),
    helper.make_node("Add", ["s0", "s1"], ["ad"], name="add"),
    helper.make_node("Conv", ["ad", "W2", "B2"], ["Y"], name="conv2"),
]
graph = helper.make_graph(
    nodes, "moves",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3, 8, 8])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
    [numpy_helper.from_array(W1, "W1"), numpy_helper.from_array(B1, "B1"),
     numpy_helper.from_array(W2, "W2"), numpy_helper.from_array(B2, "B2"),
     i64("shape_a", [1, 4, 16]), i64("ax2", [2]), i64("shape_b", [1, 4, 4, 4]),
     i64("st", [0]), i64("en", [3]), i64("axs", [3]),
     numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
     i64("perm_idx", [0, 2, 3, 1]), i64("split", [2, 2])])
moves = save(helper.make_model(
    graph, opset_imports=[helper.make_opsetid("", 13)]), "moves.onnx")
MOVERS = ["maxpool", "transpose", "reshape_a", "unsqueeze", "squeeze",
          "reshape_b", "slice", "resize", "gather", "split"]
OPS = "Conv,Relu,Add,MaxPool,AveragePool,Transpose,Reshape,Unsqueeze," \
      "Squeeze,Slice,Resize,Gather,Split"
calib_mv = calib_dir("calib_moves", [1, 3, 8, 8], -1.0, 1.0, seed=5)
x_mv = os.path.join(work, "x_moves.npy")
np.save(x_mv, np.random.default_rng(9).uniform(-1, 1, (1, 3, 8, 8))
        .astype(np.float32))
f_mv = ort_run(moves, x_mv, os.path.join(work, "moves_f"))


def by_name(m, name):
    return next((n for n in m.graph.node if n.name == name), None)


def qdq_shared(m, n):
    """DQ -> n -> Q on every output, all with the same scale/zp names."""
    dq = producer(m, n.input[0])
    if dq is None or dq.op_type != "DequantizeLinear":
        return False
    for y in n.output:
        qs = consumers(m, y)
        if len(qs) != 1 or qs[0].op_type != "QuantizeLinear" or \
                qs[0].input[1:] != dq.input[1:]:
            return False
    return True


SHARE_OPS = ("MaxPool", "AveragePool", "Transpose", "Reshape", "Unsqueeze",
             "Squeeze",
             "Slice", "Resize", "Gather", "Split")


def is_8bit(m, t):
    """t is made by QuantizeLinear, a QLinear op, or data movement on an
    8-bit tensor."""
    p = producer(m, t)
    if p is None:
        return False
    if p.op_type == "QuantizeLinear" or p.op_type.startswith("QLinear") \
            or p.op_type == "QGemm":
        return True
    return p.op_type in SHARE_OPS and is_8bit(m, p.input[0])


def qop_8bit(m, n):
    """n reads and writes 8-bit tensors."""
    return is_8bit(m, n.input[0]) and all(is_8bit(m, y) for y in n.output)


def compare(tag, m_path, f_out, x):
    q_ort = ort_run(m_path, x, os.path.join(work, tag + "_ort"))
    q_oq = onnxq_run(m_path, x, os.path.join(work, tag + "_oq"))
    if f_out is None:
        return
    for who, q in (("ORT", q_ort), ("onnxq", q_oq)):
        if q is not None:
            check(cosine(q, f_out) > 0.99,
                  f"{tag} {who}: cosine {cosine(q, f_out):.5f}")
    if q_ort is not None and q_oq is not None:
        check(np.abs(q_ort - q_oq).max() <= 0.02 * np.abs(q_ort).max() + 1e-6,
              f"{tag}: onnxq vs ORT {np.abs(q_ort - q_oq).max():.4g}")


for fmt, force in (("qdq", False), ("qoperator", False), ("qoperator", True)):
    tag = f"moves_{fmt}{'_force' if force else ''}"
    out = os.path.join(work, tag + ".onnx")
    extra = ["--extra", "ForceQuantizeNoInputCheck=1"] if force else []
    m = quantize(moves, out, calib_mv, "--format", fmt, "--op-types", OPS,
                 *extra)
    if m is None:
        continue
    if fmt == "qdq":  # ONNX Runtime's QDQ registry: AveragePool shares too
        n = by_name(m, "avgpool")
        check(n is not None and qdq_shared(m, n),
              f"{tag}: avgpool between DQ and Q of the same parameters")
    else:
        check(any(n.op_type == "QLinearAveragePool" for n in m.graph.node),
              f"{tag}: QLinearAveragePool")
    for name in MOVERS:
        n = by_name(m, name)
        if fmt == "qdq":
            check(n is not None and qdq_shared(m, n),
                  f"{tag}: {name} between DQ and Q of the same parameters")
            continue
        # ONNX Runtime's QOperator registry: no Slice; Gather only forced;
        # Resize follows the float Slice, so it is quantized only forced
        float_expected = name == "slice" or (
            name in ("gather", "resize") and not force)
        check(n is not None and qop_8bit(m, n) != float_expected,
              f"{tag}: {name} {'float' if float_expected else 'on 8-bit'}")
    compare(tag, out, f_mv, x_mv)

# the default op types include the data movement, not Split and
# AveragePool: MaxPool after the quantized Relu is shared; the float
# AveragePool after it leaves the rest of the chain float (as in ORT)
out = os.path.join(work, "moves_default.onnx")
m = quantize(moves, out, calib_mv)
if m is not None:
    for name in ["avgpool"] + MOVERS:
        n = by_name(m, name)
        shared = n is not None and qdq_shared(m, n)
        check(n is not None and shared == (name == "maxpool"),
              f"moves_default: {name} "
              f"{'shared' if name == 'maxpool' else 'float'}")
    compare("moves_default", out, f_mv, x_mv)

# ForceQuantizeNoInputCheck on a Transpose reading the graph input
t_nodes = [helper.make_node("Transpose", ["X"], ["t"], name="transpose",
                            perm=[0, 1, 3, 2]),
           helper.make_node("Conv", ["t", "W1", "B1"], ["Y"], name="conv")]
t_graph = helper.make_graph(
    t_nodes, "tr",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3, 8, 8])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
    [numpy_helper.from_array(W1, "W1"), numpy_helper.from_array(B1, "B1")])
tr = save(helper.make_model(
    t_graph, opset_imports=[helper.make_opsetid("", 13)]), "tr.onnx")
f_tr = ort_run(tr, x_mv, os.path.join(work, "tr_f"))
for fmt in ("qdq", "qoperator"):
    for force in (False, True):
        tag = f"tr_{fmt}{'_force' if force else ''}"
        out = os.path.join(work, tag + ".onnx")
        extra = ["--extra", "ForceQuantizeNoInputCheck=1"] if force else []
        m = quantize(tr, out, calib_mv, "--format", fmt, "--op-types",
                     "Conv,Transpose", *extra)
        if m is None:
            continue
        n = by_name(m, "transpose")
        if not force:
            check(n is not None and n.input[0] == "X",
                  f"{tag}: Transpose stays float on the graph input")
        elif fmt == "qdq":
            check(n is not None and qdq_shared(m, n),
                  f"{tag}: forced Transpose between DQ and Q")
        else:
            p = producer(m, n.input[0]) if n is not None else None
            check(p is not None and p.op_type == "QuantizeLinear" and
                  not any(c.op_type == "DequantizeLinear"
                          for c in consumers(m, n.output[0])),
                  f"{tag}: forced Transpose on the quantized input")
        compare(tag, out, f_tr, x_mv)

# ---- 3. ConvTranspose: QDQ, per channel along weight axis 1 ------------------
WT = rng.normal(0, 0.3, (2, 3, 3, 3)).astype(np.float32)  # C_in, C_out, k, k
BT = rng.normal(0, 0.2, 3).astype(np.float32)
ct_graph = helper.make_graph(
    [helper.make_node("ConvTranspose", ["X", "WT", "BT"], ["Y"], name="ct",
                      strides=[2, 2])],
    "ct", [helper.make_tensor_value_info("X", TensorProto.FLOAT,
                                         [1, 2, 4, 4])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
    [numpy_helper.from_array(WT, "WT"), numpy_helper.from_array(BT, "BT")])
ct = save(helper.make_model(
    ct_graph, opset_imports=[helper.make_opsetid("", 13)]), "ct.onnx")
calib_ct = calib_dir("calib_ct", [1, 2, 4, 4], 0.0, X_HI, seed=11)
x_ct = os.path.join(work, "x_ct.npy")
np.save(x_ct, np.random.default_rng(12).uniform(0, X_HI, (1, 2, 4, 4))
        .astype(np.float32))
f_ct = ort_run(ct, x_ct, os.path.join(work, "ct_f"))
for fmt, opts, axis in (("qdq", [], 1), ("qdq", ["--no-per-channel"], None),
                        ("qoperator", [], None)):
    tag = f"ct_{fmt}{'_pt' if opts else ''}"
    out = os.path.join(work, tag + ".onnx")
    m = quantize(ct, out, calib_ct, "--format", fmt, "--op-types",
                 "ConvTranspose", *opts)
    if m is None:
        continue
    n = by_name(m, "ct")
    if fmt == "qoperator":  # ONNX Runtime has no QOperator ConvTranspose
        check(n is not None and n.input[0] == "X" and n.input[1] == "WT",
              f"{tag}: ConvTranspose stays float")
        ort_run(out, x_ct, os.path.join(work, tag + "_ort"))
        continue
    t = inits(m)
    dq_w, dq_b = producer(m, n.input[1]), producer(m, n.input[2])
    want = weight_scales(WT, axis, True)
    dq_axis = [a.i for a in dq_w.attribute if a.name == "axis"]
    check(dq_axis == ([1] if axis is not None else []),
          f"{tag}: weight DequantizeLinear axis {dq_axis}")
    check(np.array_equal(t[dq_w.input[1]].ravel(), want),
          f"{tag}: weight scales {t[dq_w.input[1]].ravel()} != {want}")
    check(np.array_equal(t[dq_w.input[0]], quant_weight(WT, want, axis)),
          f"{tag}: int8 weights")
    check(np.array_equal(t[dq_b.input[0]].ravel(),
                         quant_bias(BT, act_scale(0.0, X_HI), want)),
          f"{tag}: int32 bias")
    compare(tag, out, f_ct, x_ct)

sys.exit(summary())
