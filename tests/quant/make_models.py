#!/usr/bin/python3
# make_models.py: writes the golden-test cases of onnxq's quantization kernels
# (src/rt/kernels/ref/quant.c, and rnn.c's com.microsoft DynamicQuantizeLSTM):
# one single-node ONNX model per case with
# deterministic inputs as .npy, into OUT/<case>/{model.onnx, in/, meta.json}.
# test_quant_golden.py runs each through ONNX Runtime (the oracle) and onnxq
# and compares.  Run with Debian's /usr/bin/python3 (it has onnx 1.12).
#
# The cases aim where kernels go wrong: int8 and uint8, per-tensor, per-axis
# and per-column parameters, zero points on both sides of 0, sizes that are
# not multiples of SIMD widths, values that saturate and values that land
# exactly on .5 ties, broadcasting patterns that change ORT's evaluation
# order, and random data with random (non power-of-two) scales.
#
# usage: make_models.py OUT [--list]
import json
import os
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh

NP2ONNX = {np.dtype(np.float32): TP.FLOAT, np.dtype(np.float16): TP.FLOAT16,
           np.dtype(np.int8): TP.INT8, np.dtype(np.uint8): TP.UINT8,
           np.dtype(np.int16): TP.INT16, np.dtype(np.uint16): TP.UINT16,
           np.dtype(np.int32): TP.INT32}
U8, S8, F32 = np.uint8, np.int8, np.float32
CASES = {}


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def case(name, op, inputs, attrs=None, outputs=(("y", None),), opset=21,
         ms=False, note="", expected=None, error=None, tol=None):
    """inputs: list of (name, array, is_initializer) in node order; a None
    entry is an omitted optional input.  outputs: (name, elem type or None =
    type of the first input); an empty name is an omitted optional output."""
    assert name not in CASES, name
    node_in, graph_in, inits, feeds = [], [], [], {}
    for item in inputs:
        if item is None:
            node_in.append("")
            continue
        iname, arr, is_init = item
        arr = np.asarray(arr)
        node_in.append(iname)
        if is_init:
            inits.append(nh.from_array(arr, iname))
        else:
            graph_in.append(h.make_tensor_value_info(iname, NP2ONNX[arr.dtype], arr.shape))
            feeds[iname] = arr
    first = np.asarray(inputs[0][1])
    outs = [h.make_tensor_value_info(o, t if t is not None else NP2ONNX[first.dtype], None)
            for o, t in outputs if o]
    node = h.make_node(op, node_in, [o for o, _ in outputs], name=name,
                       domain="com.microsoft" if ms else "", **(attrs or {}))
    graph = h.make_graph([node], name, graph_in, outs, inits)
    opsets = [h.make_opsetid("", opset)]
    if ms:
        opsets.append(h.make_opsetid("com.microsoft", 1))
    model = h.make_model(graph, opset_imports=opsets, producer_name="onnxq-tests")
    model.ir_version = 8
    meta = {"note": note}
    if error is not None:      # onnxq must refuse it with this in the message
        meta["error"] = error
    if expected is not None:   # ORT lacks this case: numpy's answer instead
        meta["expected"] = {k: v for k, v in expected.items()}
    if tol is not None:        # floats within tol * max|ORT's output|
        meta["tol"] = tol
    CASES[name] = (model, feeds, meta)


def ties(n, scale, zp, lo, hi):
    """Values whose x / scale is exactly k + 0.5 (scale a power of two), some
    past the range so they saturate."""
    k = np.arange(n) - n // 2
    x = (k + 0.5) * scale
    x[:4] = [(hi - zp + 7) * scale, (lo - zp - 7) * scale, 1e9, -1e9]
    return x.astype(F32)


def randq7(r, shape):
    """uint8 activations in [0, 127] (reduce_range style) for u8 x s8
    products: ORT's AVX2 kernels without VNNI add u8*s8 products in pairs
    with int16 saturation, so full-range data would test the CPU, not the
    arithmetic; onnxq computes the exact sums."""
    return r.integers(0, 128, size=shape).astype(U8)


def randq(r, shape, dt):
    info = np.iinfo(dt)
    return r.integers(info.min, info.max + 1, size=shape).astype(dt)


def arr(v, dt):
    return np.array(v, dtype=dt)


# ---- QuantizeLinear / DequantizeLinear -------------------------------------

def quantize_cases():
    x = ties(51, 0.25, 128, 0, 255).reshape(3, 17)
    case("q_u8_ties_opset10", "QuantizeLinear",
         [("x", x, False), ("s", arr(0.25, F32), True), ("z", arr(128, U8), True)], outputs=(("y", TP.UINT8),), opset=10)
    x = ties(37, 0.5, -3, -128, 127)
    case("q_s8_ties", "QuantizeLinear",
         [("x", x, False), ("s", arr(0.5, F32), True), ("z", arr(-3, S8), True)], outputs=(("y", TP.INT8),), opset=13)
    r = rng_for("q_random")
    x = (r.standard_normal((5, 33)) * 3).astype(F32)
    case("q_u8_random_nozp", "QuantizeLinear",
         [("x", np.abs(x), False), ("s", arr(0.0137, F32), True)], outputs=(("y", TP.UINT8),), opset=13)
    case("q_s8_random", "QuantizeLinear",
         [("x", x, False), ("s", arr(0.0213, F32), True), ("z", arr(5, S8), True)], outputs=(("y", TP.INT8),), opset=13)
    # values next to k + 0.5 boundaries of x / 0.1 where dividing and
    # multiplying by the reciprocal round differently (MLAS divides)
    s = F32(0.1)
    k = ((np.arange(-120, 120) + 0.5) * s).astype(F32)
    near = np.concatenate([np.nextafter(k, F32(np.inf)), k, np.nextafter(k, F32(-np.inf))])
    near = near[np.rint(near / s) != np.rint(near * (F32(1) / s))]
    case("q_s8_divide_not_multiply", "QuantizeLinear",
         [("x", near.astype(F32), False), ("s", arr(s, F32), True), ("z", arr(0, S8), True)],
         outputs=(("y", TP.INT8),), opset=13)
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, 3.4e38, -3.4e38], F32)
    case("q_u8_special_values", "QuantizeLinear",
         [("x", x, False), ("s", arr(0.1, F32), True), ("z", arr(10, U8), True)], outputs=(("y", TP.UINT8),), opset=13)
    case("q_s8_special_values", "QuantizeLinear",
         [("x", x, False), ("s", arr(0.1, F32), True), ("z", arr(-10, S8), True)], outputs=(("y", TP.INT8),), opset=13)
    r = rng_for("q_axis")
    x = (r.standard_normal((2, 5, 7)) * 4).astype(F32)
    s = (r.random(5) * 0.05 + 0.01).astype(F32)
    case("q_s8_axis1", "QuantizeLinear",
         [("x", x, False), ("s", s, True), ("z", randq(r, 5, S8) // 4, True)], outputs=(("y", TP.INT8),), opset=13)
    case("q_u8_axis_last", "QuantizeLinear",
         [("x", x, False), ("s", (r.random(7) * 0.05 + 0.01).astype(F32), True),
          ("z", r.integers(100, 156, 7).astype(U8), True)], attrs={"axis": -1}, outputs=(("y", TP.UINT8),), opset=13)
    case("q_u8_axis0_nozp", "QuantizeLinear",
         [("x", np.abs(x), False), ("s", arr([0.02, 0.5], F32), True)],
         attrs={"axis": 0}, outputs=(("y", TP.UINT8),), opset=13)
    xh = (r.standard_normal(40) * 20).astype(np.float16)
    xh[:6] = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5]
    case("q_fp16_s8", "QuantizeLinear",
         [("x", xh, False), ("s", arr(1.0, np.float16), True), ("z", arr(0, S8), True)], outputs=(("y", TP.INT8),), opset=19)
    case("q_fp16_u8_axis", "QuantizeLinear",
         [("x", xh.reshape(4, 10), False), ("s", arr([0.5, 0.25, 2, 0.125], np.float16), True),
          ("z", arr([0, 128, 3, 255], U8), True)], attrs={"axis": 0}, outputs=(("y", TP.UINT8),), opset=19)
    x = ties(45, 0.5, 7, -32768, 32767) * 300
    case("q_s16", "QuantizeLinear",
         [("x", x, False), ("s", arr(0.5, F32), True), ("z", arr(7, np.int16), True)], outputs=(("y", TP.INT16),), opset=21)
    case("q_u16", "QuantizeLinear",
         [("x", x, False), ("s", arr(0.37, F32), True), ("z", arr(30000, np.uint16), True)],
         outputs=(("y", TP.UINT16),), opset=21)
    x = (r.standard_normal((4, 10)) * 5).astype(F32)
    case("q_s8_block_axis1", "QuantizeLinear",
         [("x", x, False), ("s", (r.random((4, 3)) * 0.1 + 0.01).astype(F32), True),
          ("z", randq(r, (4, 3), S8) // 8, True)], attrs={"axis": 1, "block_size": 4}, outputs=(("y", TP.INT8),), opset=21)
    case("q_u8_block_axis0", "QuantizeLinear",
         [("x", x, False), ("s", (r.random((2, 10)) * 0.1 + 0.01).astype(F32), True),
          ("z", r.integers(100, 150, (2, 10)).astype(U8), True)],
         attrs={"axis": 0, "block_size": 3}, outputs=(("y", TP.UINT8),), opset=21)

    q = np.arange(-128, 127, dtype=S8)
    case("dq_s8_opset10", "DequantizeLinear",
         [("x", q, False), ("s", arr(0.0371, F32), True), ("z", arr(-7, S8), True)], outputs=(("y", TP.FLOAT),), opset=10)
    case("dq_u8_nozp", "DequantizeLinear",
         [("x", np.arange(256, dtype=U8), False), ("s", arr(0.5, F32), True)], outputs=(("y", TP.FLOAT),), opset=13)
    case("dq_i32", "DequantizeLinear",
         [("x", arr([0, 1, -1, 2**31 - 1, -2**31, 123456789, 16777217], np.int32), False),
          ("s", arr(0.0001, F32), True)], outputs=(("y", TP.FLOAT),), opset=13)
    r = rng_for("dq_axis")
    case("dq_u8_axis1", "DequantizeLinear",
         [("x", randq(r, (3, 4, 5), U8), False), ("s", (r.random(4) * 0.1).astype(F32), True),
          ("z", randq(r, 4, U8), True)], outputs=(("y", TP.FLOAT),), opset=13)
    case("dq_s8_fp16_scale", "DequantizeLinear",
         [("x", randq(r, (3, 8), S8), False), ("s", arr(0.0123, np.float16), True),
          ("z", arr(3, S8), True)], outputs=(("y", TP.FLOAT16),), opset=19)
    case("dq_s16", "DequantizeLinear",
         [("x", randq(r, 50, np.int16), False), ("s", arr(0.001, F32), True),
          ("z", arr(-1000, np.int16), True)], outputs=(("y", TP.FLOAT),), opset=21)
    case("dq_u16", "DequantizeLinear",
         [("x", randq(r, 50, np.uint16), False), ("s", arr(0.002, F32), True),
          ("z", arr(32768, np.uint16), True)], outputs=(("y", TP.FLOAT),), opset=21)
    case("dq_s8_block", "DequantizeLinear",
         [("x", randq(r, (6, 5), S8), False), ("s", (r.random((2, 5)) * 0.1).astype(F32), True),
          ("z", randq(r, (2, 5), S8), True)], attrs={"axis": 0, "block_size": 4}, outputs=(("y", TP.FLOAT),), opset=21)

    r = rng_for("dql")
    for name, x in [("dql_random", r.standard_normal((3, 50)) * 4),
                    ("dql_positive", r.random(77) * 10 + 1),
                    ("dql_negative", -r.random(64) * 0.01 - 0.5),
                    ("dql_zeros", np.zeros((2, 3))),
                    ("dql_tiny_range", r.standard_normal(33) * 1e-6),
                    ("dql_ties", np.arange(-20, 31) * 0.5)]:
        case(name, "DynamicQuantizeLinear", [("x", x.astype(F32), False)],
             outputs=(("y", TP.UINT8), ("y_scale", TP.FLOAT), ("y_zero_point", TP.UINT8)),
             opset=13)


# ---- integer matrix products -----------------------------------------------

def matmul_cases():
    r = rng_for("mmi")
    case("mmi_u8u8", "MatMulInteger",
         [("a", randq(r, (7, 13), U8), False), ("b", randq(r, (13, 9), U8), False),
          ("az", arr(12, U8), True), ("bz", arr(200, U8), True)], opset=10,
         outputs=(("y", TP.INT32),))
    case("mmi_u8s8_colzp", "MatMulInteger",
         [("a", randq7(r, (2, 5, 17)), False), ("b", randq(r, (17, 6), S8), True),
          ("az", arr(128, U8), True), ("bz", randq(r, 6, S8), True)],
         outputs=(("y", TP.INT32),), opset=13)
    case("mmi_s8s8", "MatMulInteger",
         [("a", randq(r, (4, 31), S8), False), ("b", randq(r, (31, 3), S8), False),
          ("az", arr(-5, S8), True), None], outputs=(("y", TP.INT32),), opset=13)
    case("mmi_u8u8_1d_a", "MatMulInteger",
         [("a", randq(r, 11, U8), False), ("b", randq(r, (3, 11, 4), U8), False)],
         outputs=(("y", TP.INT32),), opset=13)
    case("mmi_u8s8_batched_zp", "MatMulInteger",
         [("a", randq7(r, (2, 3, 9)), False), ("b", randq(r, (2, 9, 5), S8), False),
          ("az", arr(3, U8), True), ("bz", randq(r, (2, 1, 5), S8), True)],
         outputs=(("y", TP.INT32),), opset=13)

    a, b = randq(r, (3, 6, 5), S8), randq7(r, (5, 4))
    case("mmi_s8u8", "MatMulInteger",
         [("a", a, False), ("b", b, True), ("az", arr(-2, S8), True), ("bz", arr(100, U8), True)],
         outputs=(("y", TP.INT32),), opset=13)
    # per-row a_zero_point (in the ONNX spec; ORT 1.30 refuses it)
    a, b, az = randq(r, (4, 6), U8), randq(r, (6, 3), U8), randq(r, 4, U8)
    want = (a.astype(np.int32) - az.astype(np.int32)[:, None]) @ (b.astype(np.int32) - 7)
    case("mmi_u8u8_row_zp_numpy", "MatMulInteger",
         [("a", a, False), ("b", b, True), ("az", az, True), ("bz", arr(7, U8), True)],
         outputs=(("y", TP.INT32),), opset=13, expected={"y": want.astype(np.int32)})

    r = rng_for("qlmm")
    for an, bn, adt, bdt, ydt in [("u8u8", "", U8, U8, U8), ("u8s8", "", U8, S8, U8),
                                  ("s8s8", "", S8, S8, S8)]:
        a = randq7(r, (7, 13)) if an == "u8s8" else randq(r, (7, 13), adt)
        b = randq(r, (13, 9), bdt)
        case(f"qlmm_{an}", "QLinearMatMul",
             [("a", a, False), ("as", arr(0.023, F32), True), ("az", arr(adt(9), adt), True),
              ("b", b, True), ("bs", arr(0.0071, F32), True), ("bz", arr(bdt(-3 if bdt is S8 else 140), bdt), True),
              ("ys", arr(0.37, F32), True), ("yz", arr(ydt(-2 if ydt is S8 else 119), ydt), True)],
             opset=10)
    a, b = randq7(r, (2, 3, 20)), randq(r, (20, 6), S8)
    case("qlmm_u8s8_per_column", "QLinearMatMul",
         [("a", a, False), ("as", arr(0.05, F32), True), ("az", arr(130, U8), True),
          ("b", b, True), ("bs", (r.random(6) * 0.01 + 0.001).astype(F32), True),
          ("bz", arr([0, 0, 0, 0, 0, 0], S8), True),
          ("ys", arr(0.2, F32), True), ("yz", arr(128, U8), True)], opset=21)
    case("qlmm_s8s8_per_column_zp", "QLinearMatMul",
         [("a", randq(r, (5, 8), S8), False), ("as", arr(0.05, F32), True), ("az", arr(1, S8), True),
          ("b", randq(r, (8, 4), S8), False), ("bs", (r.random(4) * 0.01 + 0.001).astype(F32), True),
          ("bz", arr([1, -2, 3, 0], S8), True),
          ("ys", arr(0.03, F32), True), ("yz", arr(-1, S8), True)], opset=21)
    # requantization ties: acc * 0.5 = k + 0.5 with an odd zero point
    # (MLAS rounds first, then adds the zero point)
    case("qlmm_u8u8_ties_odd_zp", "QLinearMatMul",
         [("a", randq(r, (5, 4), U8) // 8, False), ("as", arr(1.0, F32), True), ("az", arr(0, U8), True),
          ("b", randq(r, (4, 7), U8) // 8, False), ("bs", arr(0.5, F32), True), ("bz", arr(1, U8), True),
          ("ys", arr(1.0, F32), True), ("yz", arr(3, U8), True)], opset=10)
    case("qlmm_u8u8_saturate", "QLinearMatMul",
         [("a", randq(r, (6, 10), U8), False), ("as", arr(0.5, F32), True), ("az", arr(0, U8), True),
          ("b", randq(r, (10, 6), U8), False), ("bs", arr(0.5, F32), True), ("bz", arr(128, U8), True),
          ("ys", arr(4.0, F32), True), ("yz", arr(128, U8), True)], opset=10)

    r = rng_for("mmitf")
    case("mmitf_u8s8_bias", "MatMulIntegerToFloat",
         [("a", randq7(r, (3, 5, 19)), False), ("b", randq(r, (19, 7), S8), True),
          ("as", arr(0.031, F32), True), ("bs", arr(0.0047, F32), True),
          ("az", arr(121, U8), True), ("bz", arr(0, S8), True),
          ("bias", r.standard_normal(7).astype(F32), True)], ms=True,
         outputs=(("y", TP.FLOAT),))
    case("mmitf_u8u8_per_column", "MatMulIntegerToFloat",
         [("a", randq(r, (4, 9), U8), False), ("b", randq(r, (9, 5), U8), False),
          ("as", arr(0.1, F32), True), ("bs", (r.random(5) * 0.01).astype(F32), True),
          None, ("bz", randq(r, 5, U8), True)], ms=True, outputs=(("y", TP.FLOAT),))
    case("mmitf_s8s8", "MatMulIntegerToFloat",
         [("a", randq(r, (6, 10), S8), False), ("b", randq(r, (10, 3), S8), True),
          ("as", arr(0.021, F32), True), ("bs", arr(0.0031, F32), True),
          ("az", arr(-1, S8), True), ("bz", arr(2, S8), True)], ms=True,
         outputs=(("y", TP.FLOAT),))
    r = rng_for("dqmm")
    case("dqmm_s8_bias", "DynamicQuantizeMatMul",
         [("a", (r.standard_normal((3, 4, 16)) * 2).astype(F32), False),
          # B within [-64, 64]: A is quantized to the full uint8 range
          ("b", r.integers(-64, 65, (16, 8)).astype(S8), True), ("bs", arr(0.013, F32), True), None,
          ("bias", r.standard_normal(8).astype(F32), True)], ms=True,
         outputs=(("y", TP.FLOAT),))
    case("dqmm_u8_zp_per_column", "DynamicQuantizeMatMul",
         [("a", (r.standard_normal((5, 12)) + 1).astype(F32), False),
          ("b", randq(r, (12, 6), U8), True), ("bs", (r.random(6) * 0.02).astype(F32), True),
          ("bz", randq(r, 6, U8), True)], ms=True, outputs=(("y", TP.FLOAT),))

    r = rng_for("qgemm")
    case("qgemm_u8s8_quant_out", "QGemm",
         [("a", randq7(r, (5, 11)), False), ("as", arr(0.04, F32), True), ("az", arr(113, U8), True),
          ("b", randq(r, (11, 7), S8), True), ("bs", arr(0.003, F32), True), ("bz", arr(0, S8), True),
          ("c", r.integers(-3000, 3000, 7).astype(np.int32), True),
          ("ys", arr(0.11, F32), True), ("yz", arr(120, U8), True)], ms=True)
    case("qgemm_u8s8_transB_per_column_float", "QGemm",
         [("a", randq7(r, (4, 9)), False), ("as", arr(0.04, F32), True), ("az", arr(3, U8), True),
          ("b", randq(r, (6, 9), S8), True), ("bs", (r.random(6) * 0.01).astype(F32), True),
          ("bz", arr([0] * 6, S8), True)], attrs={"transB": 1, "alpha": 0.5}, ms=True,
         outputs=(("y", TP.FLOAT),))
    case("qgemm_s8s8_transA_cmat", "QGemm",
         [("a", randq(r, (10, 3), S8), False), ("as", arr(0.07, F32), True), ("az", arr(-4, S8), True),
          ("b", randq(r, (10, 5), S8), False), ("bs", arr(0.02, F32), True), ("bz", arr(2, S8), True),
          ("c", r.integers(-500, 500, (3, 5)).astype(np.int32), True),
          ("ys", arr(0.5, F32), True), ("yz", arr(-3, S8), True)], attrs={"transA": 1}, ms=True)


# ---- integer convolutions ---------------------------------------------------

def conv_case(name, x, w, attrs, xs=0.02, xz=None, ws=0.01, wz=None, ys=0.05, yz=None,
              bias=None, w_init=True, ms=False, opset=13):
    xdt = x.dtype.type
    inputs = [("x", x, False), ("xs", arr(xs, F32), True),
              ("xz", arr(xdt(xz if xz is not None else (128 if xdt is U8 else 0)), xdt), True),
              ("w", w, w_init), ("ws", np.asarray(ws, F32), True),
              ("wz", np.asarray(wz if wz is not None else 0).astype(w.dtype), True),
              ("ys", arr(ys, F32), True),
              ("yz", arr(yz if yz is not None else (120 if xdt is U8 else -5), xdt), True)]
    if bias is not None:
        inputs.append(("bias", bias.astype(np.int32), True))
    case(name, "QLinearConv", inputs, attrs=attrs, ms=ms, opset=opset)


def conv_cases():
    r = rng_for("qlconv")
    bias = lambda m: r.integers(-2000, 2000, m)
    conv_case("qlconv_u8s8_pad_bias", randq7(r, (1, 3, 7, 6)), randq(r, (4, 3, 3, 3), S8),
              {"pads": [1, 1, 1, 1]}, xz=130, wz=0, bias=bias(4))
    conv_case("qlconv_u8u8_wzp", randq(r, (2, 2, 5, 5), U8), randq(r, (3, 2, 2, 2), U8),
              {}, xz=100, wz=131, ys=0.5, bias=bias(3))
    conv_case("qlconv_u8u8_wzp_dynamic_w", randq(r, (1, 2, 5, 5), U8), randq(r, (3, 2, 3, 3), U8),
              {"pads": [1, 0, 0, 1]}, xz=100, wz=131, ys=0.3, w_init=False)
    conv_case("qlconv_s8s8_per_channel_sym", randq(r, (1, 4, 6, 7), S8), randq(r, (5, 4, 3, 3), S8),
              {"pads": [1, 1, 1, 1], "strides": [2, 1]},
              ws=(r.random(5) * 0.01 + 0.001), wz=[0] * 5, ys=0.1, bias=bias(5))
    conv_case("qlconv_u8s8_per_channel_sym", randq7(r, (2, 8, 5, 5)), randq(r, (16, 8, 1, 1), S8),
              {}, xz=128, ws=(r.random(16) * 0.01 + 0.001), wz=[0] * 16, ys=0.2, bias=bias(16))
    conv_case("qlconv_u8s8_depthwise", randq7(r, (1, 6, 7, 7)), randq(r, (6, 1, 3, 3), S8),
              {"group": 6, "pads": [1, 1, 1, 1]}, ws=(r.random(6) * 0.02 + 0.001), wz=[0] * 6,
              bias=bias(6))
    conv_case("qlconv_s8s8_depthwise_stride2", randq(r, (1, 4, 9, 8), S8), randq(r, (4, 1, 3, 3), S8),
              {"group": 4, "pads": [1, 1, 1, 1], "strides": [2, 2]}, xz=3, ws=0.02, wz=0)
    conv_case("qlconv_u8s8_group2_dilation", randq7(r, (1, 4, 9, 9)), randq(r, (6, 2, 3, 3), S8),
              {"group": 2, "dilations": [2, 2], "pads": [2, 1, 2, 1]}, wz=0, bias=bias(6))
    conv_case("qlconv_u8s8_same_upper", randq7(r, (1, 3, 6, 5)), randq(r, (2, 3, 4, 3), S8),
              {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, wz=0)
    conv_case("qlconv_u8u8_1d", randq(r, (2, 3, 17), U8), randq(r, (4, 3, 5), U8),
              {"pads": [2, 2]}, xz=7, wz=250, ys=1.5, bias=bias(4))
    conv_case("qlconv_s8s8_3d", randq(r, (1, 2, 4, 5, 3), S8), randq(r, (3, 2, 2, 3, 2), S8),
              {"pads": [0, 1, 1, 1, 0, 0]}, ws=0.01, wz=0, ys=0.2, bias=bias(3))
    conv_case("qlconv_u8s8_saturate", randq7(r, (1, 3, 5, 5)), randq(r, (2, 3, 3, 3), S8),
              {}, xz=0, ws=0.1, wz=0, ys=0.001)
    conv_case("qlconv_s8s8_ties_odd_zp", randq(r, (1, 2, 5, 5), S8) // 8, randq(r, (3, 2, 2, 2), S8) // 8,
              {}, xs=0.5, xz=1, ws=1.0, wz=0, ys=1.0, yz=3, bias=bias(3) // 16)
    conv_case("qlconv_u8s8_channels_last_ms", randq7(r, (1, 5, 6, 3)), randq(r, (4, 3, 3, 3), S8),
              {"channels_last": 1, "pads": [1, 1, 1, 1]}, wz=0, ms=True, bias=bias(4))

    r = rng_for("convint")
    case("convint_u8u8_pads", "ConvInteger",
         [("x", randq(r, (1, 3, 6, 7), U8), False), ("w", randq(r, (2, 3, 3, 3), U8), True),
          ("xz", arr(120, U8), True), ("wz", arr(3, U8), True)],
         attrs={"pads": [1, 2, 0, 1], "strides": [1, 2]}, outputs=(("y", TP.INT32),), opset=10)
    case("convint_s8s8", "ConvInteger",
         [("x", randq(r, (1, 2, 5, 6), S8), False), ("w", randq(r, (3, 2, 3, 2), S8), True),
          ("xz", arr(-4, S8), True), ("wz", arr(2, S8), True)],
         attrs={"pads": [1, 1, 1, 1]}, outputs=(("y", TP.INT32),), opset=10)
    case("convint_u8s8", "ConvInteger",
         [("x", randq7(r, (2, 3, 4, 4)), False), ("w", randq(r, (2, 3, 2, 2), S8), False),
          ("xz", arr(60, U8), True)], outputs=(("y", TP.INT32),), opset=10)
    case("convint_u8u8_group", "ConvInteger",
         [("x", randq(r, (2, 4, 5, 5), U8), False), ("w", randq(r, (4, 2, 2, 2), U8), False)],
         attrs={"group": 2}, outputs=(("y", TP.INT32),), opset=10)


# ---- element-wise and table ops ---------------------------------------------

def binary_case(name, op, a, b, sa, za, sb, zb, sc, zc):
    dt = a.dtype.type
    case(name, op, [("a", a, False), ("as", arr(sa, F32), True), ("az", arr(za, dt), True),
                    ("b", b, False), ("bs", arr(sb, F32), True), ("bz", arr(zb, dt), True),
                    ("cs", arr(sc, F32), True), ("cz", arr(zc, dt), True)], ms=True)


def elementwise_cases():
    r = rng_for("qadd")
    for op in ("QLinearAdd", "QLinearMul"):
        k = op[7:].lower()
        binary_case(f"q{k}_u8_same_shape", op, randq(r, 37, U8), randq(r, 37, U8),
                    0.0173, 117, 0.0291, 130, 0.041 if k == "add" else 0.27, 125)
        binary_case(f"q{k}_s8_bcast_last", op, randq(r, (2, 3, 5), S8), randq(r, 5, S8),
                    0.05, -3, 0.02, 7, 0.06 if k == "add" else 0.1, 2)
        binary_case(f"q{k}_u8_a_scalar", op, randq(r, 1, U8), randq(r, (2, 9), U8),
                    0.031, 100, 0.027, 140, 0.05, 128)
        binary_case(f"q{k}_u8_b_scalar", op, randq(r, (3, 11), U8), randq(r, (), U8),
                    0.031, 100, 0.027, 140, 0.05, 128)
        binary_case(f"q{k}_s8_outer", op, randq(r, (4, 1), S8), randq(r, (1, 9), S8),
                    0.03, 1, 0.04, -1, 0.05 if k == "add" else 0.2, 0)
        binary_case(f"q{k}_u8_inner_bcast", op, randq(r, (2, 3, 1), U8), randq(r, (2, 3, 6), U8),
                    0.03, 90, 0.04, 160, 0.05, 128)
        binary_case(f"q{k}_u8_saturate", op, randq(r, 40, U8), randq(r, 40, U8),
                    0.5, 0, 0.5, 0, 0.01, 128)
        # many random values with random scales: tells apart orders of float
        # operations (fused or not) that agree on easy inputs
        for i in range(3):
            dt = U8 if i != 1 else S8
            sa, sb, sc = (r.random(3) * 0.1 + 0.001).astype(F32)
            zs = randq(r, 3, dt)
            binary_case(f"q{k}_random{i}", op, randq(r, 3000, dt), randq(r, 3000, dt),
                        sa, zs[0], sb, zs[1], sc * (1 if k == "add" else 5), zs[2])
    # every pair of 8-bit values, with random scales and zero points, in the
    # three ways ORT's broadcast loop can hand them to MLAS (both vectors;
    # input 0 constant along the inner dimension; input 1 constant): float
    # evaluation orders that agree on easy data differ on a few of these
    for op in ("QLinearAdd", "QLinearMul"):
        k = op[7:].lower()
        for i, dt in enumerate([U8, S8, U8, S8, U8, S8, U8, S8][:8 if k == "add" else 3]):
            every = np.arange(np.iinfo(dt).min, np.iinfo(dt).max + 1).astype(dt)
            sa, sb, sc = (r.random(3) * 0.1 + 0.001).astype(F32)
            sc *= 1 if k == "add" else 20
            za, zb, zc = randq(r, 3, dt)
            binary_case(f"q{k}_all_pairs{i}_vec", op, np.repeat(every, 256), np.tile(every, 256),
                        sa, za, sb, zb, sc, zc)
            binary_case(f"q{k}_all_pairs{i}_a_const", op, every.reshape(256, 1),
                        every.reshape(1, 256), sa, za, sb, zb, sc, zc)
            binary_case(f"q{k}_all_pairs{i}_b_const", op, every.reshape(1, 256),
                        every.reshape(256, 1), sa, za, sb, zb, sc, zc)
    # scales and zero points (found by search) for which ORT's "fixed part"
    # zC - (rA * zA + rB * zB) gives different outputs fused and unfused
    every = np.arange(-128, 128).astype(S8)
    for i, (sa, za, sb, zb, sc, zc) in enumerate([
            (0.0877571106, 45, 0.0226189978, -107, 0.0174234509, 40),
            (0.0866780952, 62, 0.0673641339, -104, 0.0253347289, -116),
            (0.0554801412, -41, 0.0394665711, 56, 0.00750954961, -18)]):
        binary_case(f"qadd_fixed_part{i}", "QLinearAdd", np.repeat(every, 256),
                    np.tile(every, 256), sa, za, sb, zb, sc, zc)
    # exact ties: (a - za) * (b - zb) * 0.5 = k + 0.5 with an odd zero point
    a = np.arange(0, 64, dtype=U8)
    binary_case("qmul_u8_ties_odd_zp", "QLinearMul", a, np.full(64, 3, U8),
                0.5, 0, 1.0, 0, 1.0, 3)
    binary_case("qadd_u8_ties_odd_zp", "QLinearAdd", a, np.full(64, 1, U8),
                0.5, 0, 0.25, 0, 1.0, 3)

    all_u8, all_s8 = np.arange(256, dtype=U8), np.arange(-128, 128, dtype=S8)
    for dt, x, zx, zy in [("u8", all_u8, 128, 0), ("s8", all_s8, 0, -128)]:
        for i, (sx, sy) in enumerate([(0.05, 1 / 256), (0.1, 0.0041), (0.013, 0.0039)]):
            case(f"qsigmoid_{dt}_{i}", "QLinearSigmoid",
                 [("x", x, False), ("xs", arr(sx, F32), True), ("xz", arr(zx, x.dtype), True),
                  ("ys", arr(sy, F32), True), ("yz", arr(zy, x.dtype), True)], ms=True)
        case(f"qleakyrelu_{dt}", "QLinearLeakyRelu",
             [("x", x, False), ("xs", arr(0.05, F32), True), ("xz", arr(zx + 3, x.dtype), True),
              ("ys", arr(0.031, F32), True), ("yz", arr(zx - 9, x.dtype), True)],
             attrs={"alpha": 0.1}, ms=True)
    # parameters (found by search) where MLAS's FMA logistic, the same
    # polynomial unfused and 1 / (1 + exp(-x)) give different tables
    for i, (dt, sx, zx, sy, zy) in enumerate([(U8, 0.176647618, 156, 0.00673400518, 3),
                                               (U8, 0.16529575, 196, 0.0054765027, 62),
                                               (S8, 0.180420145, -75, 0.00611584913, -93)]):
        x = all_u8 if dt is U8 else all_s8
        case(f"qsigmoid_fma_{i}", "QLinearSigmoid",
             [("x", x, False), ("xs", arr(sx, F32), True), ("xz", arr(zx, dt), True),
              ("ys", arr(sy, F32), True), ("yz", arr(zy, dt), True)], ms=True)
    case("qsigmoid_u8_nozp", "QLinearSigmoid",
         [("x", all_u8, False), ("xs", arr(0.07, F32), True), None,
          ("ys", arr(0.004, F32), True), None], ms=True)

    r = rng_for("qconcat")
    case("qconcat_u8_axis1", "QLinearConcat",
         [("ys", arr(0.05, F32), True), ("yz", arr(128, U8), True),
          ("a", randq(r, (2, 3, 4), U8), False), ("as", arr(0.05, F32), True), ("az", arr(128, U8), True),
          ("b", randq(r, (2, 1, 4), U8), False), ("bs", arr(0.031, F32), True), ("bz", arr(100, U8), True),
          ("c", randq(r, (2, 5, 4), U8), False), ("cs", arr(0.2, F32), True), ("cz", arr(3, U8), True)],
         attrs={"axis": 1}, ms=True, outputs=(("y", TP.UINT8),))
    case("qconcat_s8_last", "QLinearConcat",
         [("ys", arr(0.011, F32), True), ("yz", arr(-3, S8), True),
          ("a", randq(r, (3, 7), S8), False), ("as", arr(0.02, F32), True), ("az", arr(4, S8), True),
          ("b", randq(r, (3, 2), S8), False), ("bs", arr(0.0055, F32), True), ("bz", arr(-1, S8), True)],
         attrs={"axis": -1}, ms=True, outputs=(("y", TP.INT8),))


# ---- pooling and softmax ---------------------------------------------------

def pool_inputs(x, xs, xz, ys, yz):
    dt = x.dtype.type
    return [("x", x, False), ("xs", arr(xs, F32), True), ("xz", arr(xz, dt), True),
            ("ys", arr(ys, F32), True), ("yz", arr(yz, dt), True)]


def pool_cases():
    r = rng_for("qpool")
    case("qgap_u8_nchw", "QLinearGlobalAveragePool",
         pool_inputs(randq(r, (2, 3, 5, 7), U8), 0.05, 128, 0.03, 120), ms=True)
    case("qgap_s8_nhwc", "QLinearGlobalAveragePool",
         pool_inputs(randq(r, (2, 4, 4, 5), S8), 0.05, -3, 0.011, 2),
         attrs={"channels_last": 1}, ms=True)
    case("qgap_u8_ties", "QLinearGlobalAveragePool",
         pool_inputs(np.array([[[[1, 2]], [[3, 4]]]], U8), 1.0, 0, 1.0, 3), ms=True)
    x = randq(r, (2, 3, 7, 8), U8)
    case("qavgpool_u8_3x3_s2_p1", "QLinearAveragePool", pool_inputs(x, 0.05, 128, 0.04, 125),
         attrs={"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, ms=True)
    case("qavgpool_u8_3x3_s2_p1_incl", "QLinearAveragePool", pool_inputs(x, 0.05, 128, 0.04, 125),
         attrs={"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1],
                "count_include_pad": 1}, ms=True)
    case("qavgpool_u8_ceil", "QLinearAveragePool", pool_inputs(x, 0.05, 128, 0.04, 125),
         attrs={"kernel_shape": [2, 3], "strides": [2, 2], "ceil_mode": 1}, ms=True)
    case("qavgpool_s8_1d", "QLinearAveragePool",
         pool_inputs(randq(r, (2, 3, 11), S8), 0.03, 1, 0.02, -2),
         attrs={"kernel_shape": [4], "strides": [3], "pads": [1, 2]}, ms=True)
    case("qavgpool_s8_3d_nhwc", "QLinearAveragePool",
         pool_inputs(randq(r, (1, 4, 5, 3, 2), S8), 0.03, 1, 0.02, -2),
         attrs={"kernel_shape": [2, 2, 2], "channels_last": 1}, ms=True)
    case("qavgpool_u8_nhwc_same", "QLinearAveragePool",
         pool_inputs(randq(r, (1, 6, 5, 4), U8), 0.03, 100, 0.02, 110),
         attrs={"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "channels_last": 1}, ms=True)
    case("qavgpool_u8_global_kernel", "QLinearAveragePool",
         pool_inputs(randq(r, (2, 3, 4, 5), U8), 0.05, 128, 0.03, 120),
         attrs={"kernel_shape": [4, 5]}, ms=True)
    # exact .5 averages: window sums of odd values over 2
    case("qavgpool_u8_ties", "QLinearAveragePool",
         pool_inputs(np.arange(24, dtype=U8).reshape(1, 1, 4, 6), 1.0, 0, 1.0, 3),
         attrs={"kernel_shape": [1, 2], "strides": [1, 1]}, ms=True)

    r = rng_for("qsoftmax")
    case("qsoftmax_u8_last", "QLinearSoftmax",
         [("x", randq(r, (3, 10), U8), False), ("xs", arr(0.05, F32), True), ("xz", arr(128, U8), True),
          ("ys", arr(1 / 256, F32), True), ("yz", arr(0, U8), True)],
         attrs={"opset": 13, "axis": -1}, ms=True)
    case("qsoftmax_u8_axis1_opset13", "QLinearSoftmax",
         [("x", randq(r, (2, 5, 3), U8), False), ("xs", arr(0.1, F32), True), ("xz", arr(128, U8), True),
          ("ys", arr(0.0041, F32), True), ("yz", arr(3, U8), True)],
         attrs={"opset": 13, "axis": 1}, ms=True)
    case("qsoftmax_u8_opset12_flatten", "QLinearSoftmax",
         [("x", randq(r, (2, 3, 4), U8), False), ("xs", arr(0.08, F32), True), ("xz", arr(128, U8), True),
          ("ys", arr(1 / 256, F32), True), ("yz", arr(0, U8), True)],
         attrs={"opset": 12, "axis": 1}, ms=True)
    case("qsoftmax_s8_last", "QLinearSoftmax",
         [("x", randq(r, (4, 16), S8), False), ("xs", arr(0.07, F32), True), ("xz", arr(0, S8), True),
          ("ys", arr(1 / 255, F32), True), ("yz", arr(-127, S8), True)],
         attrs={"opset": 13, "axis": -1}, ms=True)
    x = np.full((2, 6), -128, S8)
    x[:, 0] = 127                      # one dominant value: output saturates at 127
    case("qsoftmax_s8_saturate", "QLinearSoftmax",
         [("x", x, False), ("xs", arr(0.1, F32), True), ("xz", arr(0, S8), True),
          ("ys", arr(1 / 256, F32), True), ("yz", arr(-128, S8), True)],
         attrs={"opset": 13, "axis": -1}, ms=True)


# ---- invalid models: onnxq must fail cleanly, naming the problem ----------

def error_cases():
    r = rng_for("errors")
    x = r.standard_normal((2, 3)).astype(F32)
    case("err_q_axis_scale_length", "QuantizeLinear",
         [("x", x, False), ("s", arr([0.1, 0.2], F32), True), ("z", arr([0, 0], U8), True)],
         outputs=(("y", TP.UINT8),), opset=13, error="per-axis scale must be 1-D of size 3")
    case("err_q_block_shape", "QuantizeLinear",
         [("x", x, False), ("s", arr([[0.1], [0.2]], F32), True)], attrs={"block_size": 2},
         outputs=(("y", TP.UINT8),), opset=21, error="blocked scale dimension 1")
    case("err_dq_zp_type", "DequantizeLinear",
         [("x", randq(r, 4, U8), False), ("s", arr(0.1, F32), True), ("z", arr(0, S8), True)],
         outputs=(("y", TP.FLOAT),), opset=13, error="x_zero_point is int8 but x is uint8")
    case("err_mmi_inner_dim", "MatMulInteger",
         [("a", randq(r, (2, 3), U8), False), ("b", randq(r, (4, 2), U8), False)],
         outputs=(("y", TP.INT32),), opset=13, error="inner dimensions differ")
    case("err_mmi_b_zp_shape", "MatMulInteger",
         [("a", randq(r, (2, 3), U8), False), ("b", randq(r, (3, 4), U8), False),
          None, ("bz", randq(r, 3, U8), True)],
         outputs=(("y", TP.INT32),), opset=13, error="b_zero_point must be per-tensor")
    case("err_qlconv_channels", "QLinearConv",
         [("x", randq(r, (1, 3, 4, 4), U8), False), ("xs", arr(0.1, F32), True),
          ("xz", arr(0, U8), True), ("w", randq(r, (2, 2, 3, 3), S8), True),
          ("ws", arr(0.1, F32), True), ("wz", arr(0, S8), True),
          ("ys", arr(0.1, F32), True), ("yz", arr(0, U8), True)],
         opset=13, error="channels do not match")
    case("err_qlconv_bias_length", "QLinearConv",
         [("x", randq(r, (1, 2, 4, 4), U8), False), ("xs", arr(0.1, F32), True),
          ("xz", arr(0, U8), True), ("w", randq(r, (2, 2, 3, 3), S8), True),
          ("ws", arr(0.1, F32), True), ("wz", arr(0, S8), True),
          ("ys", arr(0.1, F32), True), ("yz", arr(0, U8), True),
          ("bias", arr([1, 2, 3], np.int32), True)],
         opset=13, error="B must be int32 with one value per output channel")
    case("err_qadd_types", "QLinearAdd",
         [("a", randq(r, 4, U8), False), ("as", arr(0.1, F32), True), None,
          ("b", randq(r, 4, S8), False), ("bs", arr(0.1, F32), True), None,
          ("cs", arr(0.1, F32), True), None], ms=True, error="must share one type, int8 or uint8")
    case("err_qsoftmax_no_opset", "QLinearSoftmax",
         [("x", randq(r, (2, 3), U8), False), ("xs", arr(0.1, F32), True), None,
          ("ys", arr(1 / 256, F32), True), None], ms=True, error="opset attribute is required")
    case("err_qconcat_tuple", "QLinearConcat",
         [("ys", arr(0.1, F32), True), ("yz", arr(0, U8), True),
          ("a", randq(r, (2, 3), U8), False), ("as", arr(0.1, F32), True)],
         attrs={"axis": 0}, ms=True, error="tuples")


# ---- com.microsoft DynamicQuantizeLSTM -------------------------------------

def lstm_case(name, seq, batch, inp, hid, direction="forward", wdt=U8, per_col=False,
              bias=True, init=False, peep=False, lens=None, y=True, attrs=None, zp=None,
              error=None):
    """One DynamicQuantizeLSTM node: X [seq, batch, inp] fed at run time, the
    rest initializers (as the quantizer writes them, so ORT prepacks W and
    R).  int8 weights stay within +-63 (see randq7: ORT's AVX2 u8 x s8
    kernel saturates pairs of products, onnxq sums exactly); uint8 weights
    use the full range.  zp: per-direction zero points (default: 0 for
    int8, random for uint8).  The oracle runs ORT with one thread (run.js's
    default), which this op needs: ORT splits the batch into one block per
    thread and quantizes h per block.  Outputs agree exactly (no tolerance):
    onnxq repeats ORT's float operations, MLAS approximations included."""
    r = rng_for(name)
    nd = 2 if direction == "bidirectional" else 1
    g = 4 * hid

    def weights(tag, k):
        w = (r.integers(-63, 64, size=(nd, k, g)).astype(S8) if wdt == S8
             else r.integers(0, 256, size=(nd, k, g)).astype(U8))
        z = np.asarray(zp if zp is not None else
                       ([0] * nd if wdt == S8 else r.integers(96, 160, size=nd)), dtype=wdt)
        # float weights about N(0, 0.5^2) / sqrt(k): scale ~ 1 / (64 sqrt(k))
        if per_col:
            sc = (r.random((nd, g)) + 0.5) / (64 * np.sqrt(k))
            z = np.repeat(z[:, None], g, axis=1)
        else:
            sc = (r.random(nd) + 0.5) / (64 * np.sqrt(k))
        if wdt == U8:   # the uint8 range is twice int8's
            sc = sc / 2
        return [(tag, w, True), (tag + "_scale", sc.astype(F32), True), (tag + "_zp", z, True)]

    x = r.standard_normal((seq, batch, inp)).astype(F32)
    W, R = weights("W", inp), weights("R", hid)
    ins = [("X", x, False), W[0], R[0],
           ("B", (r.standard_normal((nd, 8 * hid)) * 0.3).astype(F32), True) if bias else None,
           ("seq_lens", np.asarray(lens, dtype=np.int32), True) if lens is not None else None,
           ("h0", (r.standard_normal((nd, batch, hid)) * 0.5).astype(F32), True) if init else None,
           ("c0", (r.standard_normal((nd, batch, hid)) * 0.5).astype(F32), True) if init else None,
           ("P", (r.standard_normal((nd, 3 * hid)) * 0.3).astype(F32), True) if peep else None,
           W[1], W[2], R[1], R[2]]
    a = {"direction": direction, "hidden_size": hid}
    a.update(attrs or {})
    outs = (("Y" if y else "", TP.FLOAT), ("Y_h", TP.FLOAT), ("Y_c", TP.FLOAT))
    case(name, "DynamicQuantizeLSTM", ins, attrs=a, outputs=outs, ms=True, error=error)


def lstm_cases():
    lstm_case("dqlstm_fwd_u8_tensor", 5, 1, 7, 5)
    lstm_case("dqlstm_rev_s8_col_init", 6, 3, 4, 6, "reverse", S8, per_col=True, init=True)
    lstm_case("dqlstm_bidi_u8_col_peep_lens", 5, 4, 6, 5, "bidirectional", U8, per_col=True,
              init=True, peep=True, lens=[5, 3, 0, 4], zp=[131, 131])
    lstm_case("dqlstm_bidi_s8_tensor_zp_nobias", 4, 2, 3, 3, "bidirectional", S8, bias=False,
              lens=[2, 4], zp=[2, -3])
    lstm_case("dqlstm_fwd_u8_noY_lens", 5, 3, 5, 4, lens=[4, 2, 3], init=True, y=False)
    lstm_case("dqlstm_rev_s8_noY_lens", 6, 3, 5, 4, "reverse", S8, per_col=True, lens=[6, 1, 3],
              y=False)
    lstm_case("dqlstm_fwd_u8_clip_forget", 7, 6, 9, 17, per_col=True, peep=True,
              attrs={"clip": 0.75, "input_forget": 1})
    lstm_case("dqlstm_bidi_s8_col_big", 16, 2, 32, 24, "bidirectional", S8, per_col=True,
              init=True, peep=True)
    lstm_case("dqlstm_fwd_s8_acts", 5, 2, 4, 7, "forward", S8,
              attrs={"activations": ["HardSigmoid", "LeakyRelu", "Softsign"],
                     "activation_alpha": [0.3, 0.2], "activation_beta": [0.4]})
    lstm_case("dqlstm_bidi_u8_acts_exp", 4, 3, 5, 6, "bidirectional", U8, init=True,
              attrs={"activations": ["Sigmoid", "Elu", "ScaledTanh", "Affine", "Softplus", "Tanh"],
                     "activation_alpha": [0.7, 1.3, 0.9], "activation_beta": [0.8, 0.1]})
    lstm_case("dqlstm_all_lens_zero", 3, 2, 4, 3, "bidirectional", U8, lens=[0, 0], init=True)
    lstm_case("err_dqlstm_s8_col_zp", 3, 1, 4, 3, "forward", S8, per_col=True, zp=[1],
              error="W_zero_point per column must be 0 for int8")
    lstm_case("err_dqlstm_u8_col_zp", 3, 1, 4, 3, "bidirectional", U8, per_col=True,
              zp=[128, 129], error="W_zero_point per column must be one value for uint8")
    lstm_case("err_dqlstm_w_shape", 3, 1, 4, 3, attrs={"hidden_size": 4},
              error="W must be [1, 4, 16]")


def build_all():
    error_cases()
    lstm_cases()
    quantize_cases()
    matmul_cases()
    conv_cases()
    elementwise_cases()
    pool_cases()
    import make_attention_models  # com.microsoft Attention, QAttention
    make_attention_models.add_cases(case, rng_for)
    return CASES


def main(argv):
    if len(argv) < 2:
        print("usage: make_models.py OUT [--list]", file=sys.stderr)
        return 2
    cases = build_all()
    if "--list" in argv:
        print("\n".join(cases))
        return 0
    for name, (model, feeds, meta) in cases.items():
        d = os.path.join(argv[1], name)
        os.makedirs(os.path.join(d, "in"), exist_ok=True)
        onnx.save(model, os.path.join(d, "model.onnx"))
        for k, v in feeds.items():
            np.save(os.path.join(d, "in", k + ".npy"), v)
        expected = meta.pop("expected", None)
        if expected:
            os.makedirs(os.path.join(d, "expected"), exist_ok=True)
            for k, v in expected.items():
                np.save(os.path.join(d, "expected", k + ".npy"), v)
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f)
    print(f"make_models: wrote {len(cases)} cases to {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
