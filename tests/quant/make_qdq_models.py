#!/usr/bin/python3
# make_qdq_models.py: QDQ models (DequantizeLinear -> float op -> QuantizeLinear)
# of small conv nets and matmuls, as ONNX Runtime's static quantizer writes
# them, for the QDQ-fusion test (test_qdq_fusion.py) and the int8 benchmark
# (bench/int8_vs_ort.sh).  Scales come from min/max of a float run computed
# here in numpy (rmin <= 0 <= rmax, scale = (rmax - rmin) / 255 as ORT's
# MinMax calibration does).  Weights are kept within 7 bits (|w| <= 63):
# ORT's AVX2 kernels without VNNI saturate u8 x s8 pair sums at int16, and
# 7-bit weights are what its reduce_range option uses on such CPUs.
#
# usage: make_qdq_models.py OUT [--big]   writes OUT/<name>/{model.onnx, in/x.npy}
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP, helper as h, numpy_helper as nh

F32 = np.float32


def conv2d(x, w, b, stride=1, pad=0, group=1, dil=1):
    n, c, hh, ww = x.shape
    m, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (hh + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    ow = (ww + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    y = np.zeros((n, m, oh, ow), np.float64)
    mg = m // group
    for g in range(group):
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dil:i * dil + stride * oh:stride,
                           j * dil:j * dil + stride * ow:stride]
                y[:, g * mg:(g + 1) * mg] += np.einsum(
                    "nchw,mc->nmhw", patch, w[g * mg:(g + 1) * mg, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y.astype(F32)


class Builder:
    """Builds a QDQ graph while computing the float values it stands for."""

    def __init__(self, name, act_type, rng):
        self.name, self.t, self.rng = name, act_type, rng
        self.nodes, self.inits, self.k = [], [], 0

    def uid(self, p):
        self.k += 1
        return f"{p}{self.k}"

    def init(self, arr, p):
        n = self.uid(p)
        self.inits.append(nh.from_array(np.asarray(arr), n))
        return n

    def qparams(self, v, relu=False):
        lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
        if self.t == np.uint8:
            s = (hi - lo) / 255 or 1.0
            z = 0 if relu else int(np.clip(round(-lo / s), 0, 255))
        else:
            a = max(abs(lo), abs(hi)) or 1.0
            s, z = (a / 127.0, 0) if not relu else ((hi or 1.0) / 255, -128)
        return F32(s), self.t(z)

    def q(self, name, v, relu=False):
        """Q then DQ of float tensor `name` (value v); returns the DQ output
        name and the dequantized value."""
        s, z = self.qparams(v, relu)
        sn, zn = self.init(np.array(s, F32), "s"), self.init(np.array(z, self.t), "z")
        qn, dn = self.uid("q"), self.uid("dq")
        self.nodes.append(h.make_node("QuantizeLinear", [name, sn, zn], [qn]))
        self.nodes.append(h.make_node("DequantizeLinear", [qn, sn, zn], [dn]))
        info = np.iinfo(self.t)
        qv = np.clip(np.round(v / s) + int(z), info.min, info.max)
        self.last_q = (qn, sn, zn)
        return dn, ((qv - int(z)) * s).astype(F32)

    def weight(self, shape, axis, per_channel=True):
        w = self.rng.standard_normal(shape).astype(F32) * 0.2
        if per_channel:
            red = tuple(i for i in range(len(shape)) if i != axis)
            s = (np.abs(w).max(axis=red) / 63).astype(F32)
            bshape = [1] * len(shape)
            bshape[axis] = -1
            wq = np.clip(np.round(w / s.reshape(bshape)), -63, 63).astype(np.int8)
            wv = wq.astype(F32) * s.reshape(bshape)
            zn = self.init(np.zeros(s.shape, np.int8), "wz")
        else:
            s = F32(np.abs(w).max() / 63)
            wq = np.clip(np.round(w / s), -63, 63).astype(np.int8)
            wv = wq.astype(F32) * s
            zn = self.init(np.array(0, np.int8), "wz")
        wn, sn = self.init(wq, "w"), self.init(np.asarray(s, F32), "ws")
        dn = self.uid("wdq")
        self.nodes.append(h.make_node("DequantizeLinear", [wn, sn, zn], [dn], axis=axis))
        return dn, wv, s

    def bias(self, m, xs, ws):
        b = self.rng.standard_normal(m).astype(F32) * 0.1
        bs = (F32(xs) * np.broadcast_to(ws, (m,))).astype(F32)
        bq = np.round(b / bs).astype(np.int32)
        bn, sn = self.init(bq, "b"), self.init(bs, "bs")
        dn = self.uid("bdq")
        self.nodes.append(h.make_node("DequantizeLinear", [bn, sn], [dn], axis=0))
        return dn, (bq * bs).astype(F32)

    def conv(self, x, xv, m, k, stride=1, pad=0, group=1, dil=1, relu=True):
        c = xv.shape[1]
        xs = self.inits_value(self.last_q[1])
        wn, wv, ws = self.weight((m, c // group, k, k), 0)
        bn, bv = self.bias(m, xs, ws)
        y = self.uid("conv")
        self.nodes.append(h.make_node("Conv", [x, wn, bn], [y], strides=[stride] * 2,
                                      pads=[pad] * 4, group=group, dilations=[dil] * 2,
                                      kernel_shape=[k, k]))
        yv = conv2d(xv, wv, bv, stride, pad, group, dil)
        if relu:
            r = self.uid("relu")
            self.nodes.append(h.make_node("Relu", [y], [r]))
            return self.q(r, np.maximum(yv, 0), relu=True)
        return self.q(y, yv)

    def inits_value(self, name):
        for t in self.inits:
            if t.name == name:
                return nh.to_array(t)
        raise KeyError(name)

    def model(self, inputs, outputs):
        g = h.make_graph(self.nodes, self.name, inputs, outputs, self.inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def convnet(name, t, big=False, seed=1):
    rng = np.random.default_rng(seed)
    b = Builder(name, t, rng)
    c0, hw = (3, 64) if big else (3, 20)
    ch = 32 if big else 8
    x = rng.standard_normal((1, c0, hw, hw)).astype(F32)
    d, v = b.q("x", x)
    d, v = b.conv(d, v, ch, 3, pad=1)                          # 3x3 + Relu
    qn, sn, zn = b.last_q
    mp = b.uid("mp")                                            # MaxPool in QDQ
    b.nodes.append(h.make_node("MaxPool", [d], [mp], kernel_shape=[2, 2], strides=[2, 2]))
    v = v.reshape(1, ch, hw // 2, 2, hw // 2, 2).max(axis=(3, 5))
    q2, d2 = b.uid("q"), b.uid("dq")
    b.nodes.append(h.make_node("QuantizeLinear", [mp, sn, zn], [q2]))
    b.nodes.append(h.make_node("DequantizeLinear", [q2, sn, zn], [d2]))
    b.last_q = (q2, sn, zn)
    d, v = d2, v
    skip_d, skip_v = d, v
    d, v = b.conv(d, v, ch, 3, pad=1, group=ch)                # depthwise
    d, v = b.conv(d, v, ch, 1, relu=False)                     # pointwise
    a = b.uid("add")                                            # residual Add
    b.nodes.append(h.make_node("Add", [d, skip_d], [a]))
    d, v = b.q(a, v + skip_v)
    d, v = b.conv(d, v, 2 * ch, 3, stride=2, pad=1)            # strided
    d, v = b.conv(d, v, 2 * ch, 3, pad=2, dil=2, group=2)      # grouped, dilated
    n_flat = v.size
    mid_q, mid_shape = b.last_q[0], list(v.shape)   # a second, larger output
    f = b.uid("flat")
    b.nodes.append(h.make_node("Flatten", [d], [f]))
    qn, sn, zn = b.last_q
    q3, d3 = b.uid("q"), b.uid("dq")
    b.nodes.append(h.make_node("QuantizeLinear", [f, sn, zn], [q3]))
    b.nodes.append(h.make_node("DequantizeLinear", [q3, sn, zn], [d3]))
    b.last_q = (q3, sn, zn)
    v = v.reshape(1, n_flat)
    xs = b.inits_value(sn)
    wn, wv, ws = b.weight((n_flat, 24), 1, per_channel=False)  # MatMul
    mm = b.uid("mm")
    b.nodes.append(h.make_node("MatMul", [d3, wn], [mm]))
    d, v = b.q(mm, v @ wv)
    xs = b.inits_value(b.last_q[1])
    wn, wv, ws = b.weight((10, 24), 0)                          # Gemm, transB
    bn, bv = b.bias(10, xs, ws)
    gm = b.uid("gemm")
    b.nodes.append(h.make_node("Gemm", [d, wn, bn], [gm], transB=1))
    d, v = b.q(gm, v @ wv.T + bv)
    out_q = b.last_q[0]
    et = TP.UINT8 if t == np.uint8 else TP.INT8
    model = b.model([h.make_tensor_value_info("x", TP.FLOAT, list(x.shape))],
                    [h.make_tensor_value_info(out_q, et, list(v.shape)),
                     h.make_tensor_value_info(mid_q, et, mid_shape)])
    return model, {"x": x}


def matmuls(name, t, seed=2):
    """Batched A x per-column-scaled B, twice, with a Transpose between."""
    rng = np.random.default_rng(seed)
    b = Builder(name, t, rng)
    x = rng.standard_normal((2, 7, 40)).astype(F32)
    d, v = b.q("x", x)
    wn, wv, _ = b.weight((40, 33), 1)
    mm = b.uid("mm")
    b.nodes.append(h.make_node("MatMul", [d, wn], [mm]))
    d, v = b.q(mm, v @ wv)
    qn, sn, zn = b.last_q
    tr = b.uid("tr")
    b.nodes.append(h.make_node("Transpose", [d], [tr], perm=[0, 2, 1]))
    q2, d2 = b.uid("q"), b.uid("dq")
    b.nodes.append(h.make_node("QuantizeLinear", [tr, sn, zn], [q2]))
    b.nodes.append(h.make_node("DequantizeLinear", [q2, sn, zn], [d2]))
    b.last_q = (q2, sn, zn)
    v = v.transpose(0, 2, 1)
    wn, wv, _ = b.weight((7, 16), 1, per_channel=False)
    mm = b.uid("mm")
    b.nodes.append(h.make_node("MatMul", [d2, wn], [mm]))
    d, v = b.q(mm, v @ wv)
    model = b.model([h.make_tensor_value_info("x", TP.FLOAT, list(x.shape))],
                    [h.make_tensor_value_info(b.last_q[0], TP.UINT8 if t == np.uint8 else TP.INT8, list(v.shape))])
    return model, {"x": x}


def all_models(big=False):
    return {
        "convnet_u8s8": convnet("convnet_u8s8", np.uint8, big),
        "convnet_s8s8": convnet("convnet_s8s8", np.int8, big, seed=3),
        "matmul_u8s8": matmuls("matmul_u8s8", np.uint8),
        "matmul_s8s8": matmuls("matmul_s8s8", np.int8, seed=4),
    }


def main():
    out = sys.argv[1]
    for name, (model, feeds) in all_models("--big" in sys.argv).items():
        d = os.path.join(out, name)
        os.makedirs(os.path.join(d, "in"), exist_ok=True)
        onnx.save(model, os.path.join(d, "model.onnx"))
        for k, v in feeds.items():
            np.save(os.path.join(d, "in", k + ".npy"), v)
    print(f"make_qdq_models: wrote {len(all_models())} models to {out}")


if __name__ == "__main__":
    main()
