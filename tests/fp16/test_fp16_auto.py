"""test_fp16_auto.py — `onnxq fp16` numerics: the default that keeps
normalizations, reductions, Softmax, Pow and Exp float32, --aggressive, and
--auto (range check and bisection on sample inputs), against ONNX Runtime
1.30 (tests/oracle/run.js) and python-onnx.

usage: test_fp16_auto.py ONNXQ PROJECT_DIR

ONNX Runtime's CPU provider runs most float16 arithmetic in float32 (it
casts around ops without a float16 kernel and drops the Cast pairs between
them).  The overflow model puts a Transpose where the too-large value must
be stored in float16, so the damage shows in ORT too; the precision model's
loss (x + 2048 - 2048 in float16) shows only in onnxq's runtime, which
computes float16 ops in float16 and is what --auto measures with.  Every
model --auto writes is run by ORT and must meet the tolerance there.
"""
import os
import re
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import check, failures_summary, outputs_of, run_onnxq, run_ort, show_passes  # noqa: E402

ONNXQ, ROOT = sys.argv[1], sys.argv[2]
F32, F16 = TensorProto.FLOAT, TensorProto.FLOAT16
TMP = tempfile.mkdtemp(prefix="onnxq_fp16_auto_")
show_passes()


def onnxq(*args):
    return run_onnxq(ONNXQ, *args)


def make(nodes, inputs, outputs, inits, name):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = os.path.join(TMP, name + ".onnx")
    onnx.save(m, path)
    return path


def run(model, inputs, tag, engine="ort"):
    d = os.path.join(TMP, tag)
    ind, outd = os.path.join(d, "in"), os.path.join(d, "out")
    os.makedirs(ind, exist_ok=True)
    os.makedirs(outd, exist_ok=True)
    for k, v in inputs.items():
        np.save(os.path.join(ind, k + ".npy"), v)
    if engine == "ort":
        r = run_ort(model, outd, inputs_dir=ind)
    else:
        r = onnxq("run", model, "--inputs", ind, "--out", outd)
    return outputs_of(r, outd)


def cosine(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    if not np.isfinite(b).all():
        return float("nan")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return 1.0 if na == nb == 0 else float(a @ b / (na * nb)) if na and nb else 0.0


def types_of(m):
    inf = onnx.shape_inference.infer_shapes(m)
    t = {}
    for v in list(inf.graph.value_info) + list(inf.graph.input) + list(inf.graph.output):
        t[v.name] = v.type.tensor_type.elem_type
    for i in inf.graph.initializer:
        t[i.name] = i.data_type
    return t


def valid(path, label):
    m = onnx.load(path)
    try:
        onnx.checker.check_model(m)
        onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
        why = None
    except Exception as e:
        why = str(e).splitlines()[0][:300]
    check(why is None, f"{label}: python-onnx checker and strict type inference accept it" + (f" ({why})" if why else ""))
    return m


def node(m, name):
    return [n for n in m.graph.node if n.name == name][0]


def count(out, key):
    m = re.search(key + r" (\d+)", out)
    return int(m.group(1)) if m else None


rng = np.random.default_rng(11)

# ---------------------------------------------------------------------------
print("== default: normalizations, reductions, Softmax, Pow, Exp stay float32")
D = 16
nodes = [
    helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
    helper.make_node("LayerNormalization", ["h", "g", "b"], ["ln"], axis=-1, name="ln"),
    helper.make_node("Pow", ["ln", "two"], ["sq"], name="pow"),
    helper.make_node("ReduceMean", ["sq"], ["ms"], axes=[-1], keepdims=1, name="rmean"),
    helper.make_node("Add", ["ms", "eps"], ["mse"], name="add_eps"),
    helper.make_node("Sqrt", ["mse"], ["rms"], name="sqrt"),
    helper.make_node("Div", ["ln", "rms"], ["nrm"], name="div"),
    helper.make_node("Exp", ["nrm"], ["ex"], name="exp"),
    helper.make_node("Softmax", ["ex"], ["sm"], axis=-1, name="softmax"),
    helper.make_node("Mul", ["sm", "scale"], ["y"], name="mul"),
]
norm_nodes = ["ln", "pow", "rmean", "exp", "softmax"]
p_norm = make(nodes, [helper.make_tensor_value_info("x", F32, [4, D])], [helper.make_tensor_value_info("y", F32, [4, D])],
              [numpy_helper.from_array(rng.normal(0, 0.5, (D, D)).astype(np.float32), "W"),
               numpy_helper.from_array(rng.normal(1, 0.1, D).astype(np.float32), "g"),
               numpy_helper.from_array(rng.normal(0, 0.1, D).astype(np.float32), "b"),
               numpy_helper.from_array(np.array(2, np.float32), "two"),
               numpy_helper.from_array(np.array(1e-5, np.float32), "eps"),
               numpy_helper.from_array(np.array(3, np.float32), "scale")], "norms")
xin = {"x": rng.normal(0, 1, (4, D)).astype(np.float32)}
ref = run(p_norm, xin, "norms_f32")
for opts, label in [([], "default"), (["--aggressive"], "aggressive")]:
    out = os.path.join(TMP, f"norms-{label}.onnx")
    r = onnxq("fp16", "--keep-io-types", *opts, p_norm, out)
    print(r.stdout.strip())
    check(r.returncode == 0, f"norms {label}: converts")
    m = valid(out, f"norms {label}")
    t = types_of(m)
    if label == "default":
        check(count(r.stdout, "numerics") == 5 and "numerics: 5 normalization" in r.stdout,
              "norms default: the report says 5 nodes kept float32 for numerics")
        for nm in norm_nodes:
            n = node(m, nm)
            check(t[n.input[0]] == F32 and t[n.output[0]] == F32, f"norms default: {nm} ({n.op_type}) reads and writes float32")
        check(t["g"] == F32 and t["b"] == F32, "norms default: LayerNormalization's scale and bias stay float32")
        check(t["W"] == F16 and t[node(m, "div").output[0]] == F16 and t[node(m, "mul").input[0]] == F16,
              "norms default: MatMul weights, Div and Mul are float16")
    else:
        check(count(r.stdout, "numerics") == 0 and "numerics: " not in r.stdout.split("\n", 2)[2],
              "norms aggressive: nothing kept for numerics")
        for nm in norm_nodes:
            n = node(m, nm)
            check(t[n.input[0]] == F16 and t[n.output[0]] == F16, f"norms aggressive: {nm} ({n.op_type}) is float16")
    got = run(out, xin, f"norms_{label}")
    if check(ref is not None and got is not None, f"norms {label}: ORT runs it"):
        c = cosine(ref["y"], got["y"])
        check(c >= 0.999, f"norms {label}: ORT cosine {c:.6f} >= 0.999")

# ---------------------------------------------------------------------------
print("== --auto: a value beyond float16's range")
W1 = (rng.normal(0, 1, (16, 32)) * 8000).astype(np.float32)  # |w| < 65504
x_big = rng.normal(0, 4, (4, 16)).astype(np.float32)
p_ovf = make([helper.make_node("MatMul", ["x", "W1"], ["h"], name="mm_big"),
              helper.make_node("Add", ["h", "B1"], ["hb"], name="add_bias"),
              helper.make_node("Transpose", ["hb"], ["ht"], perm=[1, 0], name="tr"),
              helper.make_node("LayerNormalization", ["ht", "g", "b"], ["ln"], axis=0, name="ln"),
              helper.make_node("Transpose", ["ln"], ["lt"], perm=[1, 0], name="tr2"),
              helper.make_node("MatMul", ["lt", "W2"], ["z"], name="mm_out"),
              helper.make_node("Relu", ["z"], ["y"], name="relu")],
             [helper.make_tensor_value_info("x", F32, [4, 16])], [helper.make_tensor_value_info("y", F32, [4, 8])],
             [numpy_helper.from_array(W1, "W1"),
              numpy_helper.from_array(rng.normal(0, 1, 32).astype(np.float32), "B1"),
              numpy_helper.from_array(rng.normal(0, 0.3, (32, 8)).astype(np.float32), "W2"),
              numpy_helper.from_array(np.ones((32, 1), np.float32), "g"),
              numpy_helper.from_array(np.zeros((32, 1), np.float32), "b")], "overflow")
h = x_big @ W1
print(f"   (float32 MatMul output reaches {np.abs(h).max():.0f})")
check(np.abs(h).max() > 65504 and np.abs(W1).max() < 65504, "overflow: weights fit float16, the MatMul output does not")
xin = {"x": x_big}
ref = run(p_ovf, xin, "ovf_f32")
plain = os.path.join(TMP, "overflow-plain.onnx")
r = onnxq("fp16", "--keep-io-types", p_ovf, plain)
check(r.returncode == 0, "overflow without --auto: converts")
got = run(plain, xin, "ovf_plain")
oq = run(plain, xin, "ovf_plain_oq", "onnxq")
if check(got is not None and oq is not None, "overflow without --auto: ORT and onnxq run it"):
    c, co = cosine(ref["y"], got["y"]), cosine(ref["y"], oq["y"])
    check(not (c >= 0.999) and not np.isfinite(got["y"]).all(),
          f"overflow without --auto: ORT output has {int(np.isnan(got['y']).sum())} NaN of {got['y'].size} (cosine {c})")
    check(not (co >= 0.999), f"overflow without --auto: onnxq's output cosine {co:.4f} < 0.999")
npy = os.path.join(TMP, "x_big.npy")
np.save(npy, x_big)
indir = os.path.join(TMP, "ovf_inputs")
os.makedirs(indir, exist_ok=True)
np.save(os.path.join(indir, "x.npy"), x_big)
outs = []
for src_opt, label in [(["--input", "x=" + npy], "--input"), (["--inputs", indir], "--inputs")]:
    out = os.path.join(TMP, f"overflow-auto{len(outs)}.onnx")
    r = onnxq("fp16", "--keep-io-types", "--auto", *src_opt, p_ovf, out)
    outs.append(out)
    print(r.stdout.strip())
    print(r.stderr.strip())
    if not check(r.returncode == 0, f"overflow --auto {label}: converts"):
        continue
    for nm, op in [("mm_big", "MatMul"), ("add_bias", "Add"), ("tr", "Transpose")]:
        check(f"auto kept: {op} '{nm}': value 'h" in r.stdout and f"{op} '{nm}' (auto: value beyond float16 range)" in r.stdout,
              f"overflow --auto {label}: the report names {op} '{nm}' as kept for range")
    check(count(r.stdout, "auto range") == 3 and count(r.stdout, "auto tolerance") == 0,
          f"overflow --auto {label}: 3 kept for range, none for tolerance")
    check("onnxq fp16 --auto: float32 run: 3 values beyond 65504" in r.stderr, f"overflow --auto {label}: progress on stderr")
    m = valid(out, f"overflow --auto {label}")
    t = types_of(m)
    check(t["h"] == F32 and t["hb"] == F32 and t["W1"] == F32 and t["W2"] == F16,
          f"overflow --auto {label}: h, hb and W1 float32, W2 float16")
    got = run(out, xin, f"ovf_auto{len(outs)}")
    if check(got is not None, f"overflow --auto {label}: ORT runs it"):
        c = cosine(ref["y"], got["y"])
        check(c >= 0.999, f"overflow --auto {label}: ORT cosine {c:.7f} >= 0.999 (tolerance)")
if len(outs) == 2 and all(os.path.exists(o) for o in outs):
    check(open(outs[0], "rb").read() == open(outs[1], "rb").read(), "overflow --auto: --input and --inputs give byte-identical models")
out = os.path.join(TMP, "overflow-aggr-auto.onnx")
r = onnxq("fp16", "--keep-io-types", "--aggressive", "--auto", "--input", "x=" + npy, p_ovf, out)
check(r.returncode == 0 and count(r.stdout, "auto range") == 4 and "LayerNormalization 'ln': value 'ht'" in r.stdout,
      "overflow --aggressive --auto: the LayerNormalization reading hb is kept too (4 for range)")
got = run(out, xin, "ovf_aggr_auto")
check(got is not None and cosine(ref["y"], got["y"]) >= 0.999, "overflow --aggressive --auto: ORT cosine >= 0.999")
out = os.path.join(TMP, "overflow-gen.onnx")
r = onnxq("fp16", "--keep-io-types", "--auto", p_ovf, out)
check(r.returncode == 0 and "auto: " in r.stdout and os.path.exists(out), "overflow --auto with generated inputs: converts")
check(run(out, xin, "ovf_gen") is not None, "overflow --auto with generated inputs: ORT runs the result")

# ---------------------------------------------------------------------------
print("== --auto: bisection (x + 2048 - 2048 loses x's fraction in float16)")
nodes, prev = [], "x"
for i in range(6):
    nodes.append(helper.make_node("Mul", [prev, "s"], [f"p{i}"], name=f"pre{i}"))
    prev = f"p{i}"
nodes += [helper.make_node("Add", [prev, "big"], ["bb"], name="add_big"),
          helper.make_node("Gather", ["bb", "rev"], ["bt"], axis=0, name="tr"),
          helper.make_node("Sub", ["bt", "big"], ["c"], name="sub_big")]
prev = "c"
for i in range(6):
    nodes.append(helper.make_node("Mul", [prev, "s"], [f"q{i}"], name=f"post{i}"))
    prev = f"q{i}"
nodes.append(helper.make_node("Relu", [prev], ["y"], name="relu"))
p_prec = make(nodes, [helper.make_tensor_value_info("x", F32, [8, 8])], [helper.make_tensor_value_info("y", F32, [8, 8])],
              [numpy_helper.from_array(np.array(2048, np.float32), "big"),
               numpy_helper.from_array(np.array(1.0, np.float32), "s"),
               numpy_helper.from_array(np.arange(7, -1, -1, dtype=np.int64), "rev")], "precision")
xp = np.abs(rng.normal(0, 1, (8, 8))).astype(np.float32)
np.save(os.path.join(TMP, "xp.npy"), xp)
xin = {"x": xp}
ref = run(p_prec, xin, "prec_f32")
plain = os.path.join(TMP, "precision-plain.onnx")
onnxq("fp16", "--keep-io-types", p_prec, plain)
got, oq = run(plain, xin, "prec_plain"), run(plain, xin, "prec_plain_oq", "onnxq")
if check(got is not None and oq is not None, "precision without --auto: ORT and onnxq run it"):
    c, co = cosine(ref["y"], got["y"]), cosine(ref["y"], oq["y"])
    # ORT computes Add/Gather/Sub of this float16 model in float32 (see the
    # top): it does not see the loss; onnxq's runtime, which --auto uses, does
    print(f"   (ORT, float32 inside: cosine {c:.6f})")
    check(co < 0.999, f"precision without --auto: onnxq's float16 run gives cosine {co:.4f} (< 0.999)")
out = os.path.join(TMP, "precision-auto.onnx")
r = onnxq("fp16", "--keep-io-types", "--auto", "--input", "x=" + os.path.join(TMP, "xp.npy"), p_prec, out)
print(r.stdout.strip())
print(r.stderr.strip())
if check(r.returncode == 0, "precision --auto: converts"):
    check("bisecting 16 convertible nodes" in r.stderr, "precision --auto: bisection over 16 nodes reported on stderr")
    for nm, op in [("add_big", "Add"), ("tr", "Gather"), ("sub_big", "Sub")]:
        check(f"auto kept: {op} '{nm}': converting it gave cosine" in r.stdout and f"{op} '{nm}' (auto: output tolerance)" in r.stdout,
              f"precision --auto: the report names {op} '{nm}' as kept for tolerance")
    check(count(r.stdout, "auto tolerance") == 3 and count(r.stdout, "auto range") == 0,
          "precision --auto: exactly those 3 kept (tolerance), none for range")
    runs = re.search(r"auto: (\d+) runs", r.stdout)
    check(runs and int(runs.group(1)) <= 16, f"precision --auto: {runs.group(1) if runs else '?'} runs (bisection, <= 16)")
    m = valid(out, "precision --auto")
    t = types_of(m)
    check(all(t[f"p{i}"] == F16 and t[f"q{i}"] == F16 for i in range(6)), "precision --auto: the 12 Muls are float16")
    check(t["bb"] == F32 and t["bt"] == F32 and t["c"] == F32, "precision --auto: Add, Gather and Sub values float32")
    for eng in ("ort", "onnxq"):
        got = run(out, xin, f"prec_auto_{eng}", eng)
        if check(got is not None, f"precision --auto: {eng} runs it"):
            c = cosine(ref["y"], got["y"])
            check(c >= 0.999, f"precision --auto: {eng} cosine {c:.7f} >= 0.999")
out = os.path.join(TMP, "precision-loose.onnx")
r = onnxq("fp16", "--keep-io-types", "--auto", "--tolerance", "0.01", "--input", "x=" + os.path.join(TMP, "xp.npy"), p_prec, out)
check(r.returncode == 0 and count(r.stdout, "auto tolerance") == 0 and "auto: 1 runs" in r.stdout,
      "precision --auto --tolerance 0.01: one run, nothing kept")

# ---------------------------------------------------------------------------
print("== bad inputs")
bad = os.path.join(TMP, "bad-out.onnx")
for args, what in [(["--tolerance", "0.9"], "--tolerance without --auto"),
                   (["--inputs", TMP], "--inputs without --auto"),
                   (["--auto", "--tolerance", "0"], "--tolerance 0"),
                   (["--auto", "--tolerance", "1.5"], "--tolerance 1.5"),
                   (["--auto", "--tolerance", "abc"], "--tolerance abc"),
                   (["--auto", "--input", "xnofile"], "--input without ="),
                   (["--auto", "--threads", "x"], "--threads x"),
                   (["--keep-norm-fp32"], "the dropped --keep-norm-fp32")]:
    r = onnxq("fp16", *args, p_prec, bad)
    check(r.returncode == 2 and not os.path.exists(bad) and r.stderr.startswith("onnxq fp16:"),
          f"{what}: exit 2, nothing written: {r.stderr.strip().splitlines()[0] if r.stderr.strip() else ''}")
for args, what in [(["--input", "x=" + os.path.join(TMP, "missing.npy")], "missing input file"),
                   (["--input", "x=" + npy], "input of the wrong shape"),
                   (["--input", "nosuch=" + npy], "unknown input name")]:
    r = onnxq("fp16", "--auto", *args, p_prec, bad)
    check(r.returncode == 1 and not os.path.exists(bad) and r.stderr.strip(),
          f"--auto with a {what}: exit 1, nothing written: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}")
# float16 inputs (no --keep-io-types) of 2048 + u lose u before any node:
# keeping every node float32 cannot help
p_io = make([helper.make_node("Sub", ["x", "big"], ["y"], name="sub")],
            [helper.make_tensor_value_info("x", F32, [8])], [helper.make_tensor_value_info("y", F32, [8])],
            [numpy_helper.from_array(np.array(2048, np.float32), "big")], "io_loss")
np.save(os.path.join(TMP, "xio.npy"), (2048 + rng.uniform(0, 1, 8)).astype(np.float32))
r = onnxq("fp16", "--auto", "--input", "x=" + os.path.join(TMP, "xio.npy"), p_io, bad)
check(r.returncode == 1 and not os.path.exists(bad) and "with every main-graph node float32" in r.stderr,
      f"tolerance out of reach: exit 1, nothing written: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}")
r = onnxq("fp16", "--help")
check(r.returncode == 0 and all(s in r.stdout for s in ("--aggressive", "--auto", "--tolerance", "--inputs")), "--help names the new options")

sys.exit(failures_summary(TMP))
