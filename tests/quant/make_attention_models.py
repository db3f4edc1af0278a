#!/usr/bin/python3
# make_attention_models.py: the golden-test cases of onnxq's com.microsoft
# Attention and QAttention kernels (src/rt/kernels/ref/attention.c), added
# to make_models.py's table (make_models.build_all calls add_cases), so
# test_quant_golden.py runs them through ONNX Runtime 1.30 and onnxq like
# every other quantization case (ctest quant_golden; --filter attn).
#
# Tolerance: every output within 1e-5 of its largest |value| (ORT computes
# the projection and the score products in float with MLAS, onnxq in
# double; the softmax in float either way).  QAttention's int32 products
# and its dequantized Q/K/V are exact; only the float attention differs.
#
# What the cases vary: batch 1-3, sequence 1/5/17, hidden 8/32/64 with
# 1/2/4 heads, input hidden size larger than the hidden size (pruned
# models), unidirectional, each mask form ORT's CPU kernel takes (1-D end
# positions, 1-D end+start, 2-D raw 0/1, 3-D, the ignored [B, 1] "dummy"),
# mask_filter_value (small enough that masked keys still get weight, and
# -inf), explicit scale, qkv_hidden_sizes; QAttention with uint8 and int8
# weights, zero points on both sides, per-column weight scale and zero
# point.  Rows whose every key is masked by a finite mask_filter_value are
# left out: their scores are -10000 + x, rounded to float's 0.001 grid, so
# one ulp of difference in x moves the output by ~1e-3 (ORT included).
# int8-weight cases keep the uint8 input below 128: ORT's AVX2 u8 x s8
# kernel without VNNI saturates pairs of products at int16 (see
# make_models.randq7).
import numpy as np
from onnx import TensorProto as TP

U8, S8, F32, I32 = np.uint8, np.int8, np.float32, np.int32
TOL = 1e-5


def _attn(case, rng_for, name, B, S, hidden, heads, din=None, attrs=None,
          mask=None, v_hidden=None, error=None, outputs=None, extra=()):
    """Float Attention: x [B, S, din] (a graph input), weights and bias as
    initializers, mask_index (int32) as a graph input."""
    r = rng_for(name)
    din = din or hidden
    vh = v_hidden or hidden
    cols = 2 * hidden + vh
    x = r.standard_normal((B, S, din)).astype(F32)
    w = (r.standard_normal((din, cols)) / np.sqrt(din) * 1.5).astype(F32)
    b = (r.standard_normal(cols) * 0.3).astype(F32)
    ins = [("x", x, False), ("w", w, True), ("bias", b, True)]
    if mask is not None:
        ins.append(("mask", np.asarray(mask, I32), False))
    ins.extend(extra)
    a = {"num_heads": heads}
    a.update(attrs or {})
    case(name, "Attention", ins, attrs=a, ms=True, opset=17, error=error,
         tol=TOL, outputs=outputs or (("y", TP.FLOAT),))


def _qattn(case, rng_for, name, B, S, hidden, heads, wdt, din=None,
           attrs=None, mask=None, x_zp=None, w_zp=None, per_col_scale=False,
           error=None, x_dt=U8, extra=()):
    """QAttention: x uint8 (a graph input), weight uint8/int8, bias,
    input_scale, weight_scale (scalar or per column), mask_index?,
    input_zero_point?, weight_zero_point? (scalar, per-column list, or
    None = omitted)."""
    r = rng_for(name)
    din = din or hidden
    cols = 3 * hidden
    if wdt == S8:   # 7-bit activations for u8 x s8 (see the top)
        x = r.integers(0, 128, (B, S, din))
        w = r.integers(-128, 128, (din, cols))
    else:
        x = r.integers(0, 256, (B, S, din))
        w = r.integers(0, 256, (din, cols))
    x = x.astype(x_dt)
    w = w.astype(wdt)
    b = (r.standard_normal(cols) * 0.3).astype(F32)
    ws = (r.random(cols) * 0.002 + 0.001).astype(F32) if per_col_scale \
        else np.array(0.0017, F32)
    ins = [("x", x, False), ("w", w, True), ("bias", b, True),
           ("x_scale", np.array(0.013, F32), True), ("w_scale", ws, True),
           ("mask", np.asarray(mask, I32), False) if mask is not None else None,
           ("x_zp", np.array(x_zp, x_dt), True) if x_zp is not None else None,
           ("w_zp", np.array(w_zp, wdt), True) if w_zp is not None else None]
    ins.extend(extra)
    while ins[-1] is None:
        ins.pop()
    a = {"num_heads": heads}
    a.update(attrs or {})
    case(name, "QAttention", ins, attrs=a, ms=True, opset=17, error=error,
         tol=TOL, outputs=(("y", TP.FLOAT),))


def add_cases(case, rng_for):
    """Registers the cases through make_models.case (passed in, so the
    cases land in the table of whichever copy of make_models runs)."""
    A = lambda *a, **k: _attn(case, rng_for, *a, **k)      # noqa: E731
    Q = lambda *a, **k: _qattn(case, rng_for, *a, **k)     # noqa: E731

    # ---- Attention: sizes ------------------------------------------------
    A("attn_b1_s1_h8_n1", 1, 1, 8, 1)
    A("attn_b2_s5_h8_n2", 2, 5, 8, 2)
    A("attn_b3_s17_h32_n4", 3, 17, 32, 4)
    A("attn_b1_s17_h64_n1", 1, 17, 64, 1)
    A("attn_b2_s5_h64_n4", 2, 5, 64, 4)
    A("attn_b2_s17_h32_n2_pruned", 2, 17, 32, 2, din=40)
    A("attn_b2_s5_h32_n2_scale", 2, 5, 32, 2, attrs={"scale": 0.37})
    A("attn_b2_s5_h8_n2_scale0", 2, 5, 8, 2, attrs={"scale": 0.0})  # default
    A("attn_b2_s5_h32_n4_qkv_equal", 2, 5, 32, 4,
      attrs={"qkv_hidden_sizes": [32, 32, 32]})
    A("attn_b2_s5_h32_n4_v16", 2, 5, 32, 4, v_hidden=16,
      attrs={"qkv_hidden_sizes": [32, 32, 16]})
    # ---- Attention: causal and masks --------------------------------------
    A("attn_b2_s5_h8_n2_uni", 2, 5, 8, 2, attrs={"unidirectional": 1})
    A("attn_b3_s17_h32_n4_uni", 3, 17, 32, 4, attrs={"unidirectional": 1})
    A("attn_b2_s1_h8_n2_uni", 2, 1, 8, 2, attrs={"unidirectional": 1})
    A("attn_b3_s5_h32_n2_mask1d", 3, 5, 32, 2, mask=[5, 3, 1])
    A("attn_b2_s17_h32_n4_mask1d_past_end", 2, 17, 32, 4, mask=[40, 9])
    A("attn_b2_s5_h32_n2_mask1d_end_start", 2, 5, 32, 2, mask=[5, 4, 1, 2])
    m2 = [[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]]
    A("attn_b3_s5_h32_n2_mask2d", 3, 5, 32, 2, mask=m2)
    A("attn_b3_s5_h32_n2_mask2d_uni", 3, 5, 32, 2, mask=[[1, 1, 0, 1, 0],
      [1, 1, 1, 1, 1], [1, 0, 1, 0, 1]], attrs={"unidirectional": 1})
    A("attn_b3_s5_h32_n2_mask2d_filter", 3, 5, 32, 2, mask=m2,
      attrs={"mask_filter_value": -1.5})
    rm = rng_for("attn_mask3d")
    m3 = (rm.random((2, 5, 5)) > 0.4).astype(I32)
    m3[:, :, 0] = 1                  # every query keeps one key (see the top)
    A("attn_b2_s5_h8_n2_mask3d", 2, 5, 8, 2, mask=m3)
    A("attn_b2_s5_h8_n2_mask3d_uni", 2, 5, 8, 2, mask=m3,
      attrs={"unidirectional": 1})
    A("attn_b2_s5_h8_n2_mask_dummy", 2, 5, 8, 2, mask=[[0], [1]])
    A("attn_b1_s5_h8_n2_mask_dummy11", 1, 5, 8, 2, mask=[[0]])
    # ORT sets future keys to -FLT_MAX whatever the padding mask says: with
    # -inf padding, a query whose visible keys are all padded attends
    # uniformly to the future ones (and padded future keys count too)
    A("attn_b2_s5_h8_n2_uni_inf_padding", 2, 5, 8, 2,
      mask=[[0, 1, 0, 1, 1], [1, 1, 1, 1, 0]],
      attrs={"unidirectional": 1, "mask_filter_value": float("-inf")})

    # ---- QAttention ---------------------------------------------------------
    Q("qattn_u8_b1_s1_h8_n1", 1, 1, 8, 1, U8, x_zp=128, w_zp=120)
    Q("qattn_u8_b2_s5_h32_n2", 2, 5, 32, 2, U8, x_zp=131, w_zp=125)
    Q("qattn_u8_b3_s17_h64_n4_nozp", 3, 17, 64, 4, U8)
    Q("qattn_s8_b2_s5_h32_n2", 2, 5, 32, 2, S8, x_zp=60, w_zp=0)
    Q("qattn_s8_b3_s17_h64_n4_wzp", 3, 17, 64, 4, S8, x_zp=3, w_zp=-5)
    Q("qattn_u8_b2_s5_h32_n4_pruned", 2, 5, 32, 4, U8, din=48, x_zp=100,
      w_zp=128)
    Q("qattn_u8_b2_s5_h32_n2_col_scale", 2, 5, 32, 2, U8, x_zp=128,
      w_zp=128, per_col_scale=True)
    rz = rng_for("qattn_col_zp")
    Q("qattn_u8_b2_s5_h32_n2_col_zp", 2, 5, 32, 2, U8, x_zp=128,
      w_zp=rz.integers(100, 156, 96).astype(U8), per_col_scale=True)
    Q("qattn_s8_b2_s5_h32_n2_col_zp", 2, 5, 32, 2, S8, x_zp=64,
      w_zp=rz.integers(-10, 11, 96).astype(S8), per_col_scale=True)
    Q("qattn_u8_b3_s5_h32_n2_mask2d_uni", 3, 5, 32, 2, U8, x_zp=128, w_zp=128,
      mask=[[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [1, 0, 1, 0, 1]],
      attrs={"unidirectional": 1})
    Q("qattn_s8_b2_s17_h32_n4_mask1d", 2, 17, 32, 4, S8, x_zp=10, mask=[17, 6])
    Q("qattn_u8_b2_s5_h32_n2_scale", 2, 5, 32, 2, U8, x_zp=128, w_zp=128,
      attrs={"scale": 0.21})
    Q("qattn_u8_b2_s5_h8_n2_mask_filter", 2, 5, 8, 2, U8, x_zp=128, w_zp=128,
      mask=[[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]],
      attrs={"mask_filter_value": -2.0})

    # ---- refusals (onnxq only) -----------------------------------------------
    r = rng_for("err_attn")
    x = r.standard_normal((1, 5, 8)).astype(F32)
    w_bad = r.standard_normal((9, 24)).astype(F32)
    case("err_attn_weight_shape", "Attention",
         [("x", x, False), ("w", w_bad, True), ("bias", np.zeros(24, F32), True)],
         attrs={"num_heads": 2}, ms=True, opset=17,
         error="must be [B, S, D_i], [D_i, 3 * hidden]")
    case("err_attn_weight_cols", "Attention",
         [("x", x, False), ("w", r.standard_normal((8, 25)).astype(F32), True),
          ("bias", np.zeros(25, F32), True)],
         attrs={"num_heads": 1}, ms=True, opset=17,
         error="dim 1 must be 3 * hidden size")
    A("err_attn_heads_divide", 1, 5, 8, 3,
      error="num_heads 3 does not divide the hidden size 8")
    past = np.zeros((2, 1, 2, 3, 4), F32)
    A("err_attn_past", 1, 5, 8, 2, mask=[5], extra=(("past", past, False),),
      error="input past is not supported")
    A("err_attn_present", 1, 5, 8, 2,
      outputs=(("y", TP.FLOAT), ("present", TP.FLOAT)),
      error="output present (past state) is not supported")
    A("err_attn_mask4d", 1, 5, 8, 2, mask=np.ones((1, 1, 5, 5), I32),
      error="4-D mask_index [1, 1, 5, 5] (Megatron) is not supported")
    A("err_attn_mask_shape", 2, 5, 8, 2, mask=np.ones((2, 4), I32),
      error="mask_index [2, 4] must be")
    A("err_attn_rotary", 1, 5, 8, 2, attrs={"do_rotary": 1},
      error="do_rotary is not supported")
    case("err_attn_no_heads", "Attention",
         [("x", x, False), ("w", r.standard_normal((8, 24)).astype(F32), True),
          ("bias", np.zeros(24, F32), True)], ms=True, opset=17,
         error="attribute num_heads is required")
    Q("err_qattn_past", 1, 5, 8, 2, U8,
      extra=(("past", np.zeros((2, 1, 2, 3, 4), F32), False),),
      error="input past is not supported")
    Q("err_qattn_int8_input", 1, 5, 8, 2, U8, x_dt=S8,
      error="input must be uint8")
    Q("err_qattn_qkv_sizes", 1, 5, 8, 2, U8,
      attrs={"qkv_hidden_sizes": [8, 8, 4]},
      error="qkv_hidden_sizes must be three positive sizes")
