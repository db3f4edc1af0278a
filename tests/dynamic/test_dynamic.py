#!/usr/bin/python3
"""test_dynamic.py — `onnxq dynamic` against independent oracles.

usage: test_dynamic.py ONNXQ WORKDIR REPO [MAKE_TRANSFORMER]

Builds small models with onnx's helper (MLP with MatMul/Gemm incl. transB,
alpha/beta and a weight shared by two MatMuls, Conv net, LSTM, Gather
embedding, If with MatMuls in both branches, Constant-node weights, an
opset-10 model that needs raising, one whose Clip blocks the raise, a model
with 40 weights over edge-case ranges) plus examples/speaker/sv_demo.onnx and
three libonnx-testdata models, and the two transformer-like models
make_transformer.c writes with onnxq's C builder (com.microsoft Attention +
Gelu, and the same network in plain MatMul/Softmax ops), quantizes each in
several modes, and checks:
  * ONNX Runtime 1.30 (tests/oracle/run.js) loads and runs every output, and
    `onnxq run` agrees with it: integer outputs exactly, float outputs within
    1e-5 * max|y| + 1e-6 (the runtimes may sum int32 products and scale them
    in another order; DynamicQuantizeLinear's integers are exact in both) —
    except on CPUs without VNNI for int8 weights at full range, where ORT's
    int16-saturating kernels are inexact (see VNNI): there, for the
    40-MatMul 'ranges' model, ORT must equal a numpy emulation of that
    saturation while onnxq equals the exact integer product;
  * onnxq's outputs against the float model run by ORT: cosine >= 0.99 and
    SQNR >= 20 dB (per model thresholds below; reduce_range loses ~6 dB);
  * every *_quantized initializer, its scale and zero point equal a numpy
    re-computation with onnxruntime's quant_utils formulas
    (get_qmin_qmax_for_qType, compute_scale_zp, quantize_nparray) and the
    axis/layout rules of its op; bytes compared exactly;
  * the output file is byte-identical across --threads 1 / 2 and two runs,
    and smaller than the input;
  * the report names what stayed float and why (ort-1.23 + int8 Conv,
    opset raise blocked by Clip, an Attention whose weight is a graph input
    or which sets qkv_hidden_sizes, QAttention for target onnxq while onnxq
    has no kernel for it);
  * transformer models: the ops written (QAttention per Attention, one
    DynamicQuantizeLinear shared by the Q/K/V MatMuls), ORT's quantized
    outputs at cosine >= 0.99 too (also for the LSTM and PaddleOCR), and
    the com.microsoft Attention model runs in onnxq once onnxq has
    Attention/QAttention kernels (until then that part is reported as
    skipped, and ORT's outputs are judged instead);
  * bad input: exit 1, one line on stderr, no output file.
"""
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import run_ort  # noqa: E402

ONNXQ, WORK, REPO = sys.argv[1], sys.argv[2], sys.argv[3]
MAKE_TRANSFORMER = sys.argv[4] if len(sys.argv) > 4 else None
TESTDATA = "/usr/share/libonnx-testdata/data/pytorch-converted"
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


# ---- numpy re-implementation of onnxruntime's quant_utils ------------------

U8, S8 = T.UINT8, T.INT8
NP = {U8: np.uint8, S8: np.int8}


def qmin_qmax(qt, reduce_range, symmetric):
    if reduce_range:
        r = {U8: (0, 127), S8: (-64, 64)}[qt]
    elif symmetric:
        r = {U8: (0, 254), S8: (-127, 127)}[qt]
    else:
        r = {U8: (0, 255), S8: (-128, 127)}[qt]
    return np.array(r[0], dtype=NP[qt]), np.array(r[1], dtype=NP[qt])


def compute_scale_zp(rmin, rmax, qmin, qmax, symmetric):
    rmin = np.minimum(rmin, np.array(0, dtype=rmin.dtype))
    rmax = np.maximum(rmax, np.array(0, dtype=rmax.dtype))
    if symmetric:
        absmax = np.maximum(np.abs(rmin), np.abs(rmax))
        rmin, rmax = -absmax, +absmax
    dr = np.array(rmax - rmin, dtype=np.float64)
    dq = np.array(qmax, dtype=np.float64) - np.array(qmin, dtype=np.float64)
    scale = np.array(dr / dq)
    if scale < np.finfo(rmax.dtype).tiny:
        return np.array(0, dtype=qmin.dtype), np.array(1.0, dtype=rmax.dtype)
    if symmetric:
        zp = np.array(np.round((qmin + qmax) / np.array(2.0, dtype=np.float64)),
                      dtype=qmin.dtype)
    else:
        zp = np.array(np.round(qmin - rmin / scale), dtype=qmin.dtype)
    return zp, scale.astype(rmax.dtype)


def quantize_nparray(qt, arr, scale, zp):
    lo, hi = qmin_qmax(qt, False, False)
    a = np.asarray((arr.astype(np.float32) / scale).round() + zp)
    np.clip(a, lo, hi, out=a)
    return a.astype(NP[qt])


def quantize_data(data, qt, symmetric, reduce_range):
    rmin = np.array(data.min() if len(data) else 0.0, dtype=data.dtype)
    rmax = np.array(data.max() if len(data) else 0.0, dtype=data.dtype)
    qmin, qmax = qmin_qmax(qt, reduce_range, symmetric)
    zp, scale = compute_scale_zp(rmin, rmax, qmin, qmax, symmetric)
    return zp, scale, quantize_nparray(qt, data, scale, zp)


def quantize_weight(w, qt, symmetric, reduce_range, axis):
    """(q, scales, zps) as the tool makes them (per tensor: axis None)."""
    if axis is None:
        zp, s, q = quantize_data(w.ravel(), qt, symmetric, reduce_range)
        return q.reshape(w.shape), np.array(s), np.array(zp)
    qs, ss, zs = [], [], []
    for c in range(w.shape[axis]):
        part = w.take(c, axis)
        zp, s, q = quantize_data(part.ravel(), qt, symmetric, reduce_range)
        shape = list(w.shape)
        shape[axis] = 1
        qs.append(q.reshape(shape))
        ss.append(s)
        zs.append(zp)
    return (np.concatenate(qs, axis), np.array(ss, dtype=np.float32),
            np.array(zs, dtype=NP[qt]))


# ---- models ---------------------------------------------------------------

rng = np.random.default_rng(7)


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def model(nodes, inputs, outputs, inits, opset=13, ir=7, ms=False):
    ops = [h.make_opsetid("", opset)]
    if ms:
        ops.append(h.make_opsetid("com.microsoft", 1))
    g = h.make_graph(nodes, "g", inputs, outputs,
                     [nh.from_array(v, k) for k, v in inits.items()])
    m = h.make_model(g, opset_imports=ops)
    m.ir_version = ir
    return m


def vi(name, t, shape):
    return h.make_tensor_value_info(name, t, shape)


def const_node(name, arr):
    return h.make_node("Constant", [], [name], value=nh.from_array(arr, name))


MODELS = {}


def add(name, m, inputs, cos=0.99, sqnr=20.0):
    MODELS[name] = (m, inputs, cos, sqnr)


# MLP: a weight shared by two MatMuls reading the same input (one
# DynamicQuantizeLinear, two MatMulIntegerToFloat), 3-D activations, Gemm
# with transB, alpha and beta, a second Gemm without transB whose C is 2-D
add("mlp", model(
    [h.make_node("MatMul", ["x", "W1"], ["h1"], name="mm1"),
     h.make_node("MatMul", ["x", "W1"], ["h1b"], name="mm1b"),
     h.make_node("Add", ["h1", "b1"], ["h2"]),
     h.make_node("Relu", ["h2"], ["h3"]),
     h.make_node("Add", ["h3", "h1b"], ["h4"]),
     h.make_node("Reshape", ["h4", "shp"], ["h5"]),
     h.make_node("Gemm", ["h5", "W2", "C2"], ["g1"], name="gemm_t",
                 transB=1, alpha=0.5, beta=2.0),
     h.make_node("Gemm", ["g1", "W3", "C3"], ["y"], name="gemm_n")],
    [vi("x", T.FLOAT, [2, 3, 64])], [vi("y", T.FLOAT, [6, 16])],
    {"W1": f32(64, 96, scale=0.2), "b1": f32(96), "W2": f32(48, 96, scale=0.2),
     "C2": f32(48), "W3": f32(48, 16, scale=0.2), "C3": f32(6, 16),
     "shp": np.array([6, 96], np.int64)}),
    {"x": f32(2, 3, 64)})

# attention-like: Q and K from constant weights, scores = Q K^T (B is not
# constant: quantized only with --no-matmul-const-b-only), Gemm whose C is a
# graph input (an Add after the quantized product)
add("attn", model(
    [h.make_node("MatMul", ["x", "Wq"], ["q"], name="mm_q"),
     h.make_node("MatMul", ["x", "Wk"], ["k"], name="mm_k"),
     h.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
     h.make_node("MatMul", ["q", "kt"], ["sc"], name="mm_scores"),
     h.make_node("Softmax", ["sc"], ["p"], axis=-1),
     h.make_node("MatMul", ["p", "q"], ["ctx"], name="mm_ctx"),
     h.make_node("Reshape", ["ctx", "shp"], ["c2"]),
     h.make_node("Gemm", ["c2", "Wo", "bias_in"], ["y"], name="gemm_out",
                 beta=0.5)],
    [vi("x", T.FLOAT, [2, 6, 32]), vi("bias_in", T.FLOAT, [12, 16])],
    [vi("y", T.FLOAT, [12, 16])],
    {"Wq": f32(32, 32, scale=0.2), "Wk": f32(32, 32, scale=0.2),
     "Wo": f32(32, 16, scale=0.2), "shp": np.array([12, 32], np.int64)}),
    {"x": f32(2, 6, 32), "bias_in": f32(12, 16)}, cos=0.99, sqnr=20.0)

# Conv net: bias, padding, stride, groups, then a MatMul head
add("conv", model(
    [h.make_node("Conv", ["x", "Wc1", "Bc1"], ["c1"], name="conv1",
                 pads=[1, 1, 1, 1]),
     h.make_node("Relu", ["c1"], ["r1"]),
     h.make_node("Conv", ["r1", "Wc2"], ["c2"], name="conv2", strides=[2, 2]),
     h.make_node("Conv", ["c2", "Wc3", "Bc3"], ["c3"], name="conv_dw",
                 group=8, pads=[1, 1, 1, 1]),
     h.make_node("Flatten", ["c3"], ["fl"]),
     h.make_node("MatMul", ["fl", "Wh"], ["y"], name="head")],
    [vi("x", T.FLOAT, [1, 3, 16, 16])], [vi("y", T.FLOAT, [1, 10])],
    {"Wc1": f32(16, 3, 3, 3, scale=0.3), "Bc1": f32(16),
     "Wc2": f32(8, 16, 3, 3, scale=0.1), "Wc3": f32(8, 1, 3, 3, scale=0.3),
     "Bc3": f32(8), "Wh": f32(8 * 7 * 7, 10, scale=0.05)}),
    {"x": f32(1, 3, 16, 16)}, cos=0.99, sqnr=18.0)

# LSTM, bidirectional, with bias and initial state
H, I = 16, 12
add("lstm", model(
    [h.make_node("LSTM", ["x", "W", "R", "B", "", "h0", "c0"],
                 ["Y", "Y_h", "Y_c"], name="lstm", hidden_size=H,
                 direction="bidirectional")],
    [vi("x", T.FLOAT, [7, 2, I]), vi("h0", T.FLOAT, [2, 2, H]),
     vi("c0", T.FLOAT, [2, 2, H])],
    [vi("Y", T.FLOAT, [7, 2, 2, H]), vi("Y_h", T.FLOAT, [2, 2, H]),
     vi("Y_c", T.FLOAT, [2, 2, H])],
    {"W": f32(2, 4 * H, I, scale=0.3), "R": f32(2, 4 * H, H, scale=0.3),
     "B": f32(2, 8 * H, scale=0.1)}),
    {"x": f32(7, 2, I), "h0": f32(2, 2, H, scale=0.1),
     "c0": f32(2, 2, H, scale=0.1)}, cos=0.99, sqnr=20.0)

# Gather over an embedding table, then a MatMul
add("gather", model(
    [h.make_node("Gather", ["E", "ids"], ["e"], name="embed"),
     h.make_node("MatMul", ["e", "Wg"], ["y"], name="proj")],
    [vi("ids", T.INT64, [2, 5])], [vi("y", T.FLOAT, [2, 5, 24])],
    {"E": f32(50, 32), "Wg": f32(32, 24, scale=0.2)}),
    {"ids": rng.integers(0, 50, (2, 5)).astype(np.int64)})

# If: the then-branch uses a weight of the main graph, the else-branch one
# of its own Constant node
then_g = h.make_graph([h.make_node("MatMul", ["x", "Wo"], ["t"], name="mm_then")],
                      "then", [], [vi("t", T.FLOAT, [3, 20])])
else_g = h.make_graph([const_node("We", f32(32, 20, scale=0.2)),
                       h.make_node("MatMul", ["x", "We"], ["e"], name="mm_else")],
                      "else", [], [vi("e", T.FLOAT, [3, 20])])
add("if", model(
    [h.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_g,
                 else_branch=else_g)],
    [vi("cond", T.BOOL, []), vi("x", T.FLOAT, [3, 32])],
    [vi("y", T.FLOAT, [3, 20])], {"Wo": f32(32, 20, scale=0.2)}),
    {"cond": np.array(True), "x": f32(3, 32)})
add("if_else", MODELS["if"][0], {"cond": np.array(False), "x": f32(3, 32)})

# weights in Constant nodes of the main graph
add("constw", model(
    [const_node("Wk", f32(24, 40, scale=0.3)),
     h.make_node("MatMul", ["x", "Wk"], ["y"], name="mmk")],
    [vi("x", T.FLOAT, [4, 24])], [vi("y", T.FLOAT, [4, 40])], {}),
    {"x": f32(4, 24)})

# opset 10: DynamicQuantizeLinear for Conv needs 11, and nothing in the
# model changes between 10 and 11 -> raised
add("opset10", model(
    [h.make_node("Conv", ["x", "Wr"], ["c"], name="convr"),
     h.make_node("Relu", ["c"], ["y"])],
    [vi("x", T.FLOAT, [1, 4, 8, 8])], [vi("y", T.FLOAT, [1, 6, 6, 6])],
    {"Wr": f32(6, 4, 3, 3, scale=0.3)}, opset=10, ir=5),
    {"x": f32(1, 4, 8, 8)})

# opset 10 with Clip(min, max attributes): Clip changed at 11 -> the Conv
# stays float (no raise), the MatMul still goes (com.microsoft op)
add("clip10", model(
    [h.make_node("Conv", ["x", "Wr"], ["c"], name="convc"),
     h.make_node("Clip", ["c"], ["cc"], min=-1.0, max=1.0),
     h.make_node("Flatten", ["cc"], ["fl"]),
     h.make_node("MatMul", ["fl", "Wm"], ["y"], name="mmc")],
    [vi("x", T.FLOAT, [1, 4, 8, 8])], [vi("y", T.FLOAT, [1, 5])],
    {"Wr": f32(6, 4, 3, 3, scale=0.3), "Wm": f32(216, 5, scale=0.1)},
    opset=10, ir=5),
    {"x": f32(1, 4, 8, 8)})

# edge-case ranges: 40 MatMuls, one weight each
ranges = {}
edge = [np.zeros((8, 4), np.float32),                     # all zero
        np.full((8, 4), 1e-39, np.float32),                # denormal
        (rng.random((8, 4)) * 1e-30).astype(np.float32),   # tiny
        -rng.random((8, 4)).astype(np.float32),            # negative only
        rng.random((8, 4)).astype(np.float32) + 1,         # positive only
        (rng.standard_normal((8, 4)) * 1e18).astype(np.float32),
        np.eye(8, 4, dtype=np.float32),
        # values at rounding midpoints of scale 2/254
        (np.arange(32, dtype=np.float32).reshape(8, 4) - 16) * np.float32(
            1 / 127) + np.float32(0.5 / 127)]
for k in range(40):
    if k < len(edge):
        w = edge[k]
    else:
        lo, hi = sorted(rng.uniform(-3, 3, 2) * 10.0 ** rng.integers(-4, 4))
        w = rng.uniform(lo, hi, (8, 4)).astype(np.float32)
    ranges[f"R{k}"] = w
add("ranges", model(
    [h.make_node("MatMul", ["x", f"R{k}"], [f"y{k}"], name=f"mm{k}")
     for k in range(40)],
    [vi("x", T.FLOAT, [2, 8])], [vi(f"y{k}", T.FLOAT, [2, 4]) for k in range(40)],
    ranges), {"x": f32(2, 8)}, cos=None)


def load_testdata(name):
    d = os.path.join(TESTDATA, name)
    m = onnx.load(os.path.join(d, "model.onnx"))
    ins = {}
    init = {i.name for i in m.graph.initializer}
    real = [i.name for i in m.graph.input if i.name not in init]
    for k, nm in enumerate(real):
        t = onnx.TensorProto()
        with open(os.path.join(d, "test_data_set_0", f"input_{k}.pb"), "rb") as f:
            t.ParseFromString(f.read())
        ins[nm] = nh.to_array(t)
    return m, ins


# (test_Linear is Gemm-6, which ONNX Runtime no longer loads)
for td in ("test_Embedding", "test_Conv2d"):
    if os.path.isdir(os.path.join(TESTDATA, td)):
        m, ins = load_testdata(td)
        add(td, m, ins, cos=0.98, sqnr=15.0)

rec = os.path.join(REPO, "tests", "oracle", "node_modules", "@gutenye",
                   "ocr-models", "assets", "ch_PP-OCRv4_rec_infer.onnx")
if os.path.exists(rec):  # PaddleOCR v4 recognizer: 13 MatMuls, opset 9
    add("ppocr_rec", onnx.load(rec), {"x": f32(1, 3, 48, 320)}, cos=0.99,
        sqnr=20.0)

# transformer-like models from onnxq's C builder (make_transformer.c): the
# same 2-block encoder with a com.microsoft Attention node and in plain ops;
# batch 2 with padding in the second sequence (mask 0 from position 11)
if MAKE_TRANSFORMER:
    tdir = os.path.join(WORK + "_models")
    shutil.rmtree(tdir, ignore_errors=True)
    os.makedirs(tdir)
    subprocess.run([MAKE_TRANSFORMER, tdir], check=True)
    t_mask = np.ones((2, 16), np.int32)
    t_mask[1, 11:] = 0
    t_ins = {"ids": rng.integers(0, 200, (2, 16)).astype(np.int64),
             "mask": t_mask}
    for v in ("attn", "plain"):
        add("tr_" + v, onnx.load(os.path.join(tdir, f"transformer_{v}.onnx")),
            t_ins, cos=0.99, sqnr=20.0)

sv = os.path.join(REPO, "examples", "speaker", "sv_demo.onnx")
add("sv_demo", onnx.load(sv), {"feat": f32(1, 200, 80)}, cos=0.98, sqnr=15.0)

# ---- the modes each model is quantized in -----------------------------------
# (label, onnxq options, weight type, per_channel, reduce_range, WeightSym)
MODES = {
    "s8": ([], S8, False, False, None),
    "u8": (["--weight-type", "quint8"], U8, False, False, None),
    "s8_pc": (["--per-channel"], S8, True, False, None),
    "u8_pc": (["--weight-type", "quint8", "--per-channel"], U8, True, False, None),
    "s8_rr": (["--reduce-range"], S8, False, True, None),
    "u8_rr": (["--weight-type", "quint8", "--reduce-range"], U8, False, True,
              None),
    "s8_pc_rr": (["--per-channel", "--reduce-range"], S8, True, True, None),
    "u8_sym": (["--weight-type", "quint8", "--extra", "WeightSymmetric=1"],
               U8, False, False, True),
    "s8_asym": (["--extra", "WeightSymmetric=0"], S8, False, False, False),
    "u8_dynb": (["--weight-type", "quint8", "--no-matmul-const-b-only"], U8,
                False, False, None),
    "s8_rr_dynb": (["--reduce-range", "--extra", "MatMulConstBOnly=0"], S8,
                   False, True, None),
}
ALL_OPS = ["--op-types", "MatMul,Gemm,Conv,Gather,LSTM"]
ALL_OPS_PC = ["--op-types", "MatMul,Gemm,Conv,LSTM"]  # Gather: no channel axis
PLAN = {
    "mlp": ["s8", "u8", "s8_pc", "u8_pc", "s8_rr", "u8_sym"],
    "attn": ["s8", "u8", "u8_dynb", "s8_rr_dynb"],
    "conv": ["s8", "u8", "s8_pc", "u8_pc"],
    "lstm": ["s8", "s8_pc", "s8_rr", "s8_pc_rr"],
    "gather": ["s8", "u8"],
    "if": ["s8", "u8_pc"],
    "if_else": ["s8"],
    "constw": ["s8", "u8"],
    "opset10": ["u8", "s8"],
    "clip10": ["s8"],
    "ranges": ["s8", "u8", "s8_pc", "u8_pc", "s8_rr", "u8_rr", "s8_pc_rr",
               "u8_sym", "s8_asym"],
        "test_Embedding": ["u8"],
    "test_Conv2d": ["s8", "u8"],
    "sv_demo": ["s8", "u8_pc"],
    "ppocr_rec": ["u8"],
    "tr_attn": ["s8", "u8", "s8_pc", "u8_pc", "s8_rr"],
    "tr_plain": ["s8", "u8", "s8_pc"],
}
# op types per model where ALL_OPS / ALL_OPS_PC do not fit (None: the
# defaults, MatMul,Gemm,LSTM,Attention)
MODEL_OPS = {"tr_attn": None, "tr_plain": None}
# models whose quantized outputs in ORT (not only onnxq's) must keep the
# cosine to the float model (issue 7: "runs in ONNX Runtime 1.30 and in
# onnxq with outputs at cosine >= 0.99")
ORT_COS = {"lstm", "ppocr_rec", "tr_attn", "tr_plain"}
# models whose runtimes would be compared by output cosine (>= 0.9999)
# instead of the 1e-5 bound, should an ulp of LayerNorm/Softmax/Erf move a
# DynamicQuantizeLinear rounding by one step; none today (the transformers
# agree within 1e-6)
LOOSE_RT = set()
TARGETS = {"conv": ["ort-1.30", "ort-1.23", "onnxq"],
           "sv_demo": ["ort-1.30", "ort-1.23"]}


def save_inputs(d, ins):
    os.makedirs(d, exist_ok=True)
    for k, v in ins.items():
        np.save(os.path.join(d, k + ".npy"), v)


def ort_run(model_path, in_dir, out_dir):
    r = run_ort(model_path, out_dir, inputs_dir=in_dir)
    return r.returncode, r.stderr.strip().splitlines()[-1] if r.returncode else ""


def onnxq_run(model_path, in_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rc, out, err = run([ONNXQ, "run", model_path, "--inputs", in_dir,
                        "--out", out_dir])
    return rc, err.strip()


def float_constants(m):
    """name -> array of every float initializer / Constant, any graph."""
    found = {}

    def walk(g):
        for t in g.initializer:
            if t.data_type == T.FLOAT:
                found[t.name] = nh.to_array(t)
        for n in g.node:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value" and a.t.data_type == T.FLOAT:
                        found[n.output[0]] = nh.to_array(a.t)
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
    walk(m.graph)
    return found


def all_inits(m):
    found = {}

    def walk(g):
        for t in g.initializer:
            found[t.name] = nh.to_array(t)
        for n in g.node:
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
    walk(m.graph)
    return found


def all_nodes(g):
    for n in g.node:
        yield n
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(a.g)


def params_of(qm, qn, inits):
    """(scale, zero point) arrays the node reading qn uses for it."""
    nodes = list(all_nodes(qm.graph))
    for n in nodes:
        if qn not in n.input:
            continue
        i = list(n.input)
        get = lambda k: inits[i[k]] if k < len(i) and i[k] else None  # noqa
        if n.op_type == "DynamicQuantizeMatMul":
            return get(2), get(3)
        if n.op_type == "MatMulIntegerToFloat":
            return get(3), get(5)
        if n.op_type == "QAttention":
            return get(4), get(7)
        if n.op_type == "DynamicQuantizeLSTM":
            k = 8 if i[1] == qn else 10
            return get(k), get(k + 1)
        if n.op_type == "Gather":
            dq = [m for m in nodes if n.output[0] in m.input][0]
            return inits[dq.input[1]], inits[dq.input[2]]
        if n.op_type == "ConvInteger":
            zp = get(3)
            base = n.name[:-len("_quant")]
            mul = [m for m in nodes if m.name == base + "_scales_mul"][0]
            s = inits[mul.input[1]]
            if zp is None:
                zp = np.zeros(s.size if s.size > 1 else (), inits[qn].dtype)
            return s, zp
    raise KeyError(qn)


def check_weights(label, fm, qm, mode):
    """Every quantized weight equals the numpy recomputation."""
    _, qt, pc, rr, wsym = mode
    floats = float_constants(fm)
    inits = all_inits(qm)
    users = {}
    for n in all_nodes(fm.graph):
        for k, i in enumerate(n.input):
            users.setdefault(i, []).append((n, k))
    checked = 0
    for qn, q in inits.items():
        if not qn.endswith("_quantized") or qn[:-10] not in floats:
            continue
        src = qn[:-10]
        w = floats[src]
        node, pos = users[src][0]
        op = node.op_type
        attrs = {a.name: h.get_attribute_value(a) for a in node.attribute}
        sym_default = qt == S8 if wsym is None else wsym
        if op == "LSTM":
            # int8, symmetric; per direction, or per gate row when per channel
            shape = w.shape
            if pc:
                qq, ss, zz = quantize_weight(w.reshape(-1, shape[2]), S8, True,
                                             rr, 0)
                qq = qq.reshape(shape)
                ss, zz = ss.reshape(shape[:2]), zz.reshape(shape[:2])
            else:
                qq, ss, zz = quantize_weight(w, S8, True, rr, 0)
            qq = qq.transpose(0, 2, 1)
        elif op == "Gather":
            qq, ss, zz = quantize_weight(w, qt, sym_default, False, None)
        else:
            trans = op == "Gemm" and attrs.get("transB", 0)
            axis = None
            if pc and op == "Conv" and qt == S8:
                axis = 0
            elif pc and op in ("MatMul", "Gemm", "Attention") and w.ndim == 2:
                axis = 0 if trans else w.ndim - 1
            sym = (sym_default or qt == S8) if axis is not None else sym_default
            qq, ss, zz = quantize_weight(w, qt, sym, rr, axis)
            if trans:
                qq = qq.T
        got_s, got_z = params_of(qm, qn, inits)
        if op == "Gemm" and attrs.get("alpha", 1.0) != 1.0:
            ss = (np.asarray(ss, np.float32) *
                  np.float32(attrs["alpha"])).astype(np.float32)
        if (q.dtype != qq.dtype or q.shape != qq.shape or
                q.tobytes() != np.ascontiguousarray(qq).tobytes()):
            diff = int((q.astype(np.int32) != qq.astype(np.int32)).sum()) \
                if q.shape == qq.shape else -1
            fail(f"{label}: {qn} differs from numpy ({diff} values)")
        elif (got_s.astype(np.float32).tobytes() != np.asarray(ss, np.float32).tobytes()
              or got_s.size != np.asarray(ss).size):
            fail(f"{label}: {src}_scale {got_s.ravel()[:4]} != numpy "
                 f"{np.asarray(ss).ravel()[:4]}")
        elif (got_z.tobytes() != np.asarray(zz).astype(q.dtype).tobytes()
              or got_z.dtype != q.dtype):
            fail(f"{label}: {src}_zero_point {got_z.ravel()[:4]} != numpy "
                 f"{np.asarray(zz).ravel()[:4]}")
        checked += 1
    return checked


def metrics(ref, got):
    a, b = ref.astype(np.float64).ravel(), got.astype(np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = 1.0 if na == 0 and nb == 0 else (a @ b) / (na * nb) if na and nb else 0.0
    err = np.linalg.norm(a - b)
    sqnr = np.inf if err == 0 else 20 * np.log10(na / err) if na else -np.inf
    return cos, sqnr


def cpu_has_vnni():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return " avx512_vnni" in line or " avx_vnni" in line
    return False


# Without VNNI, onnxruntime's u8 x s8 kernels add pairs of products in int16
# with saturation (pmaddubsw), so with int8 weights at full range its
# results are not exact; onnxq's are.  There the two runtimes' float outputs
# are not compared (the error compounds through layers and LSTM steps, so
# no fixed bound holds); the 'ranges' model checks both against numpy
# instead, ORT against an emulation of the saturation.  Accuracy against
# the float model is judged on onnxq's outputs.  reduce_range (7-bit
# weights) or uint8 weights avoid the saturation: exact comparisons.
VNNI = cpu_has_vnni()


def compare_runtimes(label, ort_dir, oq_dir, saturating=False, loose=False):
    for f in sorted(os.listdir(ort_dir)):
        want = np.load(os.path.join(ort_dir, f))
        p = os.path.join(oq_dir, f)
        if not os.path.exists(p):
            fail(f"{label}: onnxq wrote no {f}")
            continue
        got = np.load(p)
        if got.shape != want.shape or got.dtype != want.dtype:
            fail(f"{label}: {f}: onnxq {got.dtype}{got.shape} vs ORT "
                 f"{want.dtype}{want.shape}")
            continue
        if want.dtype.kind == "f" and saturating:
            continue  # ORT is inexact here; see VNNI above
        if want.dtype.kind == "f" and loose:
            c, _ = metrics(want, got)
            if c < 0.9999:
                fail(f"{label}: {f}: onnxq and ORT outputs at cosine {c:.6f} "
                     f"(< 0.9999)")
            continue
        if want.dtype.kind == "f":
            w64, g64 = want.astype(np.float64), got.astype(np.float64)
            fin = np.isfinite(w64)
            bound = 1e-5 * (np.abs(w64[fin]).max() if fin.any() else 0) + 1e-6
            d = np.abs(w64 - g64)
            bad = (d > bound) & fin | (np.isfinite(g64) != fin)
            if bad.any():
                fail(f"{label}: {f}: onnxq and ORT differ by {d[fin].max():.3g} "
                     f"(bound {bound:.3g}) at {int(bad.sum())} values")
        elif not np.array_equal(got, want):
            fail(f"{label}: {f}: integer outputs differ")


RESULTS = []
SKIPPED = []


def dql(x):
    """DynamicQuantizeLinear as the ONNX spec computes it, in float32."""
    x = x.astype(np.float32)
    lo = np.float32(min(np.float32(0), x.min()))
    hi = np.float32(max(np.float32(0), x.max()))
    s = np.float32((hi - lo) / np.float32(255))
    if s == 0:
        return np.zeros(x.shape, np.int64), s, 0
    zp = int(np.clip(np.round(np.float32(0) - lo / s), 0, 255))
    q = np.clip(np.round(x / s) + zp, 0, 255).astype(np.int64)
    return q, s, zp


def int16_pairs(a, b):
    """a @ b with each pair of adjacent products summed with int16
    saturation, as pmaddubsw does (onnxruntime's u8s8 kernels without
    VNNI)."""
    k = a.shape[1]
    acc = np.zeros((a.shape[0], b.shape[1]), np.int64)
    for j in range(0, k, 2):
        p = a[:, j:j + 1] * b[j:j + 1, :]
        if j + 1 < k:
            p = p + a[:, j + 1:j + 2] * b[j + 1:j + 2, :]
        acc += np.clip(p, -32768, 32767)
    return acc


def check_ranges(label, qm, ins, ort_dir, oq_dir, saturating):
    """Each y_k = MatMulIntegerToFloat(DQL(x), R_k): onnxq must equal the
    exact integer product, ORT the exact one or, where it saturates, the
    int16-pair emulation (float results to 1e-6 relative)."""
    inits = all_inits(qm)
    xq, xs, xz = dql(ins["x"])
    for k in range(40):
        w = inits[f"R{k}_quantized"].astype(np.int64)
        s, z = params_of(qm, f"R{k}_quantized", inits)
        z = z.astype(np.int64)
        mult = (np.float32(xs) * s.astype(np.float32)).astype(np.float32)
        exact = ((xq - xz) @ (w - z)).astype(np.float32) * mult
        # the kernel computes sum(xq*w) and corrects the zero points after
        sat = (int16_pairs(xq, w) - xz * w.sum(0) - (xq.sum(1, keepdims=True)
               * z) + xz * z * w.shape[0]).astype(np.float32) * mult
        for who, d, want in (("onnxq", oq_dir, exact),
                             ("ORT", ort_dir, sat if saturating else exact)):
            got = np.load(os.path.join(d, f"y{k}.npy"))
            bound = 1e-6 * np.abs(want).max() + 1e-30
            if np.abs(got - want).max() > bound:
                fail(f"{label}: y{k}: {who} differs from the numpy "
                     f"{'saturating ' if who == 'ORT' and saturating else ''}"
                     f"integer oracle by {np.abs(got - want).max():.3g}")


def one_case(name, mode_name, target):
    m, ins, cos_min, sqnr_min = MODELS[name]
    mode = MODES[mode_name]
    label = f"{name}/{mode_name}/{target}"
    d = os.path.join(WORK, name)
    src = os.path.join(d, "float.onnx")
    out = os.path.join(d, f"{mode_name}_{target}.onnx")
    ops = ALL_OPS_PC if mode[2] else ALL_OPS
    if name == "sv_demo" and mode_name == "s8":
        ops = ["--op-types", "Conv,Gemm"]
    if name in MODEL_OPS:
        ops = MODEL_OPS[name] or []
    args = [ONNXQ, "dynamic", src, out, "--target", target, "--no-check"] + \
        mode[0] + ops
    rc, so, se = run(args)
    if rc != 0:
        fail(f"{label}: onnxq dynamic exit {rc}: {se.strip()}")
        return
    qm = onnx.load(out)
    try:
        onnx.checker.check_model(qm)
    except Exception as e:  # noqa: BLE001 -- report and go on
        fail(f"{label}: onnx.checker: {str(e).splitlines()[0]}")
    nw = check_weights(label, m, qm, mode)
    ort_q = os.path.join(d, f"ort_{mode_name}_{target}")
    rc, msg = ort_run(out, os.path.join(d, "in"), ort_q)
    if rc:
        fail(f"{label}: ORT cannot run the result: {msg}")
        return
    oq_q = os.path.join(d, f"oq_{mode_name}_{target}")
    skip_onnxq = None
    if name == "tr_attn":
        # onnxq's Attention/QAttention kernels are another helper's work:
        # until they exist, say so and judge ORT's outputs alone
        _, chk, _ = run([ONNXQ, "check", out])
        if "unsupported-op" in chk:
            skip_onnxq = chk.strip().splitlines()[0]
            SKIPPED.append(f"{label}: onnxq run skipped: {skip_onnxq}")
    if skip_onnxq is None:
        rc, msg = onnxq_run(out, os.path.join(d, "in"), oq_q)
        if rc:
            fail(f"{label}: onnxq run failed: {msg}")
            return
    int8_w = mode[1] == S8 or name == "lstm"
    saturating = not VNNI and int8_w and not mode[3]
    if skip_onnxq is not None:
        pass
    elif name == "ranges":
        check_ranges(label, qm, ins, ort_q, oq_q, saturating)
    else:
        compare_runtimes(label, ort_q, oq_q, saturating, name in LOOSE_RT)
    rr = mode[3]
    judged = [] if skip_onnxq is not None else [("onnxq", oq_q)]
    if name in ORT_COS or skip_onnxq is not None:
        judged.append(("ORT", ort_q))
    worst_cos, worst_sqnr = 1.0, np.inf
    ort_cos = None
    for who, qdir in judged:
        w_cos, w_sqnr = 1.0, np.inf
        for f in sorted(os.listdir(os.path.join(d, "ort_float"))):
            ref = np.load(os.path.join(d, "ort_float", f))
            got = np.load(os.path.join(qdir, f))
            if ref.dtype.kind != "f":
                continue
            c, s = metrics(ref, got)
            w_cos, w_sqnr = min(w_cos, c), min(w_sqnr, s)
        if who == "ORT":
            ort_cos = w_cos
            if saturating and skip_onnxq is None:
                # ORT's int16-saturating products (no VNNI) are not onnxq's
                # doing: shown in the table, asserted on VNNI CPUs, where
                # ORT must also equal onnxq (compare_runtimes)
                continue
        worst_cos, worst_sqnr = min(worst_cos, w_cos), min(worst_sqnr, w_sqnr)
        if cos_min is not None:
            smin = sqnr_min - (6 if rr else 0)
            if w_cos < cos_min or w_sqnr < smin:
                fail(f"{label}: {who} vs float: cosine {w_cos:.5f} (>= "
                     f"{cos_min}), SQNR {w_sqnr:.1f} dB (>= {smin})")
    fsize, qsize = os.path.getsize(src), os.path.getsize(out)
    # (tiny models grow: scale/zero-point tensors and names outweigh them)
    if fsize > 4096 and name != "ranges" and qsize >= fsize:
        fail(f"{label}: file did not shrink ({fsize} -> {qsize} bytes)")
    ops = sorted({n.op_type for n in all_nodes(qm.graph)} -
                 {n.op_type for n in all_nodes(m.graph)})
    RESULTS.append((label + (" (ORT saturates)" if saturating else ""), nw,
                    worst_cos, worst_sqnr, fsize, qsize, ",".join(ops), so,
                    ort_cos))


def op_count(m, op):
    return sum(n.op_type == op for n in all_nodes(m.graph))


def check_transformers(report):
    """What `onnxq dynamic` wrote for the transformer models, the Attention
    cases it must leave float, target onnxq and --check."""
    def expect(label, text):
        if label not in report:
            fail(f"{label}: no result")
        elif text not in report[label]:
            fail(f"{label}: report lacks '{text}'")
    expect("tr_attn/s8/ort-1.30", "Attention  quantized 2, left float 0")
    expect("tr_attn/s8/ort-1.30", "MatMul     quantized 7, left float 0")
    expect("tr_attn/s8/ort-1.30", "l0.attention (Attention): QAttention, "
           "int8 weights")
    expect("tr_attn/u8/ort-1.30", "QAttention, uint8 weights")
    expect("tr_attn/s8_pc/ort-1.30", "QAttention, int8 weights per column")
    # q, k, v projections (3 x 2), out/up/down (3 x 2), head; Q K^T and
    # P V (B not constant) stay float by default
    expect("tr_plain/s8/ort-1.30", "MatMul     quantized 13, left float 4")
    want = {"tr_attn": {"QAttention": 2, "Attention": 0,
                        "DynamicQuantizeLinear": 2,
                        "DynamicQuantizeMatMul": 7},
            "tr_plain": {"MatMulIntegerToFloat": 6,
                         "DynamicQuantizeLinear": 2,
                         "DynamicQuantizeMatMul": 7, "MatMul": 4}}
    for name, counts in want.items():
        for mode in PLAN[name]:
            qm = onnx.load(os.path.join(WORK, name, f"{mode}_ort-1.30.onnx"))
            for op, n in counts.items():
                if op_count(qm, op) != n:
                    fail(f"{name}/{mode}: {op_count(qm, op)} {op} nodes "
                         f"(want {n})")
    d = os.path.join(WORK, "tr_attn")
    src = os.path.join(d, "float.onnx")
    s8 = os.path.join(d, "s8_ort-1.30.onnx")
    _, chk, _ = run([ONNXQ, "check", s8])
    onnxq_has_qattention = "QAttention" not in chk

    # target onnxq: QAttention only where onnxq runs it
    out = os.path.join(d, "onnxq_target.onnx")
    rc, so, se = run([ONNXQ, "dynamic", src, out, "--target", "onnxq",
                      "--no-check"])
    if rc:
        fail(f"tr_attn --target onnxq: exit {rc}: {se.strip()}")
    else:
        qm = onnx.load(out)
        if onnxq_has_qattention:
            if op_count(qm, "QAttention") != 2:
                fail("tr_attn --target onnxq: QAttention not written although "
                     "onnxq runs it")
        elif op_count(qm, "QAttention") or \
                "onnxq's runtime has no QAttention kernel yet (target onnxq)" \
                not in so:
            fail(f"tr_attn --target onnxq without an onnxq QAttention kernel: "
                 f"{op_count(qm, 'QAttention')} written; report:\n{so}")
        rc, msg = ort_run(out, os.path.join(d, "in"), os.path.join(d, "ort_t"))
        if rc:
            fail(f"tr_attn --target onnxq: ORT cannot run it: {msg}")

    # --check (the default): with the kernels, cosine; without, a clear
    # "not run", exit 0 and the file written for ORT
    out = os.path.join(d, "checked.onnx")
    rc, so, se = run([ONNXQ, "dynamic", src, out, "--inputs",
                      os.path.join(d, "in")])
    _, fchk, _ = run([ONNXQ, "check", src])
    if rc or not os.path.exists(out):
        fail(f"tr_attn --check: exit {rc}: {se.strip()}")
    elif "unsupported-op" in fchk or not onnxq_has_qattention:
        if "check: NOT RUN: onnxq cannot run the" not in so or \
                "no accuracy check" not in se:
            fail(f"tr_attn --check without kernels: output\n{so}{se}")
        SKIPPED.append("tr_attn --check: " + [ln for ln in so.splitlines()
                                               if "NOT RUN" in ln][0].strip())
    else:
        cos = [float(ln.split("cosine")[1].split()[0])
               for ln in so.splitlines() if "cosine" in ln]
        if not cos or min(cos) < 0.99:
            fail(f"tr_attn --check: cosine {cos}\n{so}")
    # the plain variant runs in onnxq: its check must run
    pd = os.path.join(WORK, "tr_plain")
    rc, so, se = run([ONNXQ, "dynamic", os.path.join(pd, "float.onnx"),
                      os.path.join(pd, "checked.onnx"), "--inputs",
                      os.path.join(pd, "in")])
    cos = [float(ln.split("cosine")[1].split()[0])
           for ln in so.splitlines() if "cosine" in ln]
    if rc or not cos or min(cos) < 0.99:
        fail(f"tr_plain --check: exit {rc}, cosine {cos}\n{so}{se}")

    # bad input, not an error: layer 0's weight is a graph input, layer 1
    # sets qkv_hidden_sizes -> both Attention nodes stay float, with reasons
    m = onnx.load(src)
    w0 = [t for t in m.graph.initializer if t.name == "l0.attn.wqkv"][0]
    w0v = nh.to_array(w0)
    m.graph.initializer.remove(w0)
    m.graph.input.append(vi("l0.attn.wqkv", T.FLOAT, [64, 192]))
    for n in m.graph.node:
        if n.name == "l1.attention":
            n.attribute.append(h.make_attribute("qkv_hidden_sizes",
                                                [64, 64, 64]))
    bd = os.path.join(WORK, "tr_attn_bad")
    os.makedirs(bd, exist_ok=True)
    bsrc, bout = os.path.join(bd, "float.onnx"), os.path.join(bd, "q.onnx")
    onnx.save(m, bsrc)
    ins = dict(MODELS["tr_attn"][1])
    ins["l0.attn.wqkv"] = w0v
    save_inputs(os.path.join(bd, "in"), ins)
    rc, so, se = run([ONNXQ, "dynamic", bsrc, bout, "--no-check"])
    if rc:
        fail(f"tr_attn_bad: exit {rc}: {se.strip()}")
        return
    for text in ("- main/l0.attention (Attention): weight 'l0.attn.wqkv' is "
                 "not a float32 constant",
                 "- main/l1.attention (Attention): qkv_hidden_sizes is set",
                 "Attention  quantized 0, left float 2",
                 "MatMul     quantized 7, left float 0"):
        if text not in so:
            fail(f"tr_attn_bad: report lacks '{text}':\n{so}")
    qm = onnx.load(bout)
    if op_count(qm, "Attention") != 2 or op_count(qm, "QAttention"):
        fail("tr_attn_bad: the Attention nodes did not stay float")
    for who, path in (("float", bsrc), ("quantized", bout)):
        rc, msg = ort_run(path, os.path.join(bd, "in"),
                          os.path.join(bd, "ort_" + who))
        if rc:
            fail(f"tr_attn_bad: ORT cannot run the {who} model: {msg}")
            return
    c, _ = metrics(np.load(os.path.join(bd, "ort_float", "logits.npy")),
                   np.load(os.path.join(bd, "ort_quantized", "logits.npy")))
    if c < 0.99:
        fail(f"tr_attn_bad: ORT cosine to float {c:.5f}")


def check_not_run():
    """--check on a model onnxq cannot run (com.microsoft Inverse has no
    onnxq kernel): for an ORT target the result is written and the check
    says it did not run; for target onnxq it is an error, nothing written."""
    d = os.path.join(WORK, "unsupported")
    os.makedirs(d, exist_ok=True)
    src = os.path.join(d, "float.onnx")
    onnx.save(model([h.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
                     h.make_node("Inverse", ["y"], ["z"], name="inv",
                                 domain="com.microsoft")],
                    [vi("x", T.FLOAT, [8, 8])], [vi("z", T.FLOAT, [8, 8])],
                    {"W": f32(8, 8)}, ms=True), src)
    save_inputs(os.path.join(d, "in"), {"x": f32(8, 8)})
    out = os.path.join(d, "q.onnx")
    rc, so, se = run([ONNXQ, "dynamic", src, out])
    if rc or "check: NOT RUN: onnxq cannot run the float model" not in so \
            or "inv" not in so or "no accuracy check" not in se:
        fail(f"unsupported op, --check: exit {rc}\n{so}{se}")
    else:
        rc, msg = ort_run(out, os.path.join(d, "in"), os.path.join(d, "ort"))
        if rc:
            fail(f"unsupported op: ORT cannot run the result: {msg}")
    out = os.path.join(d, "q_onnxq.onnx")
    rc, so, se = run([ONNXQ, "dynamic", src, out, "--target", "onnxq"])
    lines = se.strip().splitlines()
    if rc != 1 or os.path.exists(out) or len(lines) != 1 or \
            "--target onnxq" not in lines[0] or "inv" not in lines[0]:
        fail(f"unsupported op, --target onnxq: exit {rc}, stderr {lines}")


def prepare(name):
    m, ins, _, _ = MODELS[name]
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(m, os.path.join(d, "float.onnx"))
    save_inputs(os.path.join(d, "in"), ins)
    rc, msg = ort_run(os.path.join(d, "float.onnx"), os.path.join(d, "in"),
                      os.path.join(d, "ort_float"))
    if rc:
        fail(f"{name}: ORT cannot run the float model: {msg}")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    with ThreadPoolExecutor(2) as ex:
        list(ex.map(prepare, MODELS))
    cases = [(n, md, t) for n, modes in PLAN.items() for md in modes
             for t in TARGETS.get(n, ["ort-1.30"])]
    with ThreadPoolExecutor(2) as ex:
        list(ex.map(lambda c: one_case(*c), cases))
    for r in sorted(RESULTS):
        ort = "" if r[8] is None else f"  (ORT's own cos {r[8]:.6f})"
        print(f"{r[0]:34s} weights {r[1]:2d}  cos {r[2]:.6f}  SQNR "
              f"{r[3]:6.1f} dB  {r[4]:8d} -> {r[5]:7d} B  new ops: {r[6]}"
              f"{ort}")
    report = {r[0].split(" ")[0]: r[7] for r in RESULTS}

    # --- what the report says
    def expect(label, text):
        if label in report and text not in report[label]:
            fail(f"{label}: report lacks '{text}'")
    expect("conv/s8/ort-1.23", "ONNX Runtime 1.23 has no ConvInteger for int8")
    expect("conv/u8/ort-1.23", "ConvInteger, uint8 weights")
    expect("conv/s8/ort-1.30", "ConvInteger, int8 weights")
    expect("clip10/s8/ort-1.30", "drops attribute")
    expect("opset10/s8/ort-1.30", "opset 10 -> 11")
    expect("mlp/s8/ort-1.30", "MatMulIntegerToFloat (shared input")
    expect("ppocr_rec/u8/ort-1.30", "MatMul     quantized 9, left float 4")
    expect("attn/s8/ort-1.30", "is not a float32 constant (matmul_const_b_only)")
    expect("attn/u8_dynb/ort-1.30", "both inputs quantized at run time")
    expect("if/s8/ort-1.30", "main/branch:else_branch/mm_else")
    if "conv/s8/ort-1.23" in report:
        qm = onnx.load(os.path.join(WORK, "conv", "s8_ort-1.23.onnx"))
        if any(n.op_type == "ConvInteger" for n in qm.graph.node):
            fail("conv/s8/ort-1.23: a ConvInteger with int8 weights was written")
    if "tr_attn" in MODELS:
        check_transformers(report)
    check_not_run()

    # --- determinism: threads and repeated runs
    det = ["mlp", "conv", "lstm", "if"] + [n for n in ("tr_attn", "tr_plain")
                                           if n in MODELS]
    for name in det:
        d = os.path.join(WORK, name)
        blobs = []
        ops = (MODEL_OPS[name] or []) if name in MODEL_OPS else ALL_OPS_PC
        for k, th in enumerate(("1", "2", "2")):
            out = os.path.join(d, f"det{k}.onnx")
            rc, so, se = run([ONNXQ, "dynamic", os.path.join(d, "float.onnx"),
                              out, "--threads", th, "--per-channel"] + ops)
            if rc:
                fail(f"{name}: determinism run exit {rc}: {se.strip()}")
                break
            with open(out, "rb") as f:
                blobs.append(f.read())
        if len(blobs) == 3 and not (blobs[0] == blobs[1] == blobs[2]):
            fail(f"{name}: output differs across --threads 1/2 or runs")

    # --- default output name, --check output
    d = os.path.join(WORK, "mlp")
    shutil.copy(os.path.join(d, "float.onnx"), os.path.join(d, "m.onnx"))
    rc, so, se = run([ONNXQ, "dynamic", os.path.join(d, "m.onnx")])
    if rc or not os.path.exists(os.path.join(d, "m.int8.onnx")):
        fail(f"default output name: exit {rc}, {se.strip()}")
    elif "cosine" not in so or "SQNR" not in so:
        fail("--check printed no cosine/SQNR")

    # --- node selection and extra options (report lines, written ops)
    sel_src = os.path.join(WORK, "mlp", "float.onnx")
    sel_out = os.path.join(WORK, "mlp", "sel.onnx")
    for extra, want_q, want_f in (
            (["--nodes-to-exclude", "mm1*"], ["gemm_t", "gemm_n"],
             ["mm1", "mm1b"]),
            (["--nodes-to-quantize", "op:Gemm"], ["gemm_t", "gemm_n"],
             ["mm1", "mm1b"]),
            (["--nodes-to-quantize", "mm1b,gemm_?"], ["mm1b", "gemm_t"],
             ["mm1"]),
            (["--op-types", "Gemm", "--nodes-to-exclude", "gemm_n"],
             ["gemm_t"], ["gemm_n"])):
        rc, so, se = run([ONNXQ, "dynamic", sel_src, sel_out, "--no-check"]
                         + extra)
        if rc:
            fail(f"selection {extra}: exit {rc} {se.strip()}")
            continue
        for nm in want_q:
            if f"+ main/{nm} " not in so:
                fail(f"selection {extra}: {nm} not quantized")
        for nm in want_f:
            if f"- main/{nm} " not in so:
                fail(f"selection {extra}: {nm} not reported as left float")
        rc, msg = ort_run(sel_out, os.path.join(WORK, "mlp", "in"),
                          os.path.join(WORK, "mlp", "ort_sel"))
        if rc:
            fail(f"selection {extra}: ORT cannot run it: {msg}")
    if_src = os.path.join(WORK, "if", "float.onnx")
    rc, so, se = run([ONNXQ, "dynamic", if_src, os.path.join(WORK, "if",
                      "nosub.onnx"), "--no-check", "--extra",
                      "EnableSubgraph=False"])
    if rc or "in a subgraph (EnableSubgraph=0)" not in so:
        fail(f"EnableSubgraph=False: exit {rc}, report:\n{so}{se}")
    # every other file written above is run by ORT too
    for name, f in [("if", "nosub.onnx"), ("mlp", "m.int8.onnx"),
                    ("mlp", "det0.onnx"), ("conv", "det0.onnx"),
                    ("lstm", "det0.onnx"), ("if", "det0.onnx")] + \
            [(n, "det0.onnx") for n in det[4:]]:
        rc, msg = ort_run(os.path.join(WORK, name, f),
                          os.path.join(WORK, name, "in"),
                          os.path.join(WORK, name, "ort_" + f))
        if rc:
            fail(f"{name}/{f}: ORT cannot run it: {msg}")

    # --- bad input: exit 1, one line, no output file
    src = os.path.join(WORK, "mlp", "float.onnx")
    bad_out = os.path.join(WORK, "bad.onnx")
    cases = [
        (["--op-types", "MatMul,Foo"], "Foo"),
        (["--nodes-to-exclude", "nosuch*"], "nosuch*"),
        (["--nodes-to-quantize", "mm1,op:Conv"], "op:Conv"),
        (["--extra", "Bogus=1"], "Bogus"),
        (["--extra", "WeightSymmetric=maybe"], "maybe"),
        (["--per-channel", "--op-types", "MatMul,Gather"], "Gather"),
    ]
    for extra, word in cases:
        rc, so, se = run([ONNXQ, "dynamic", src, bad_out] + extra)
        lines = se.strip().splitlines()
        if rc != 1 or len(lines) != 1 or word not in lines[0] or \
                os.path.exists(bad_out):
            fail(f"bad input {extra}: exit {rc}, stderr {lines}")
    for args, word in (([src, src], "refusing"),
                       ([os.path.join(WORK, "missing.onnx"), bad_out],
                        "missing.onnx")):
        rc, so, se = run([ONNXQ, "dynamic"] + args)
        lines = se.strip().splitlines()
        if rc != 1 or len(lines) != 1 or word not in lines[0]:
            fail(f"bad input {args}: exit {rc}, stderr {lines}")
    if os.path.exists(bad_out):
        fail("a failed run left an output file")

    for sk in SKIPPED:
        print("SKIPPED:", sk)
    print(f"{len(RESULTS)} quantized models checked; {len(SKIPPED)} onnxq runs "
          f"skipped; {len(failures)} failures")
    return 1 if failures else 0


sys.exit(main())
