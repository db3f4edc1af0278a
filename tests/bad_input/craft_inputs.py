"""craft_inputs.py — writes the malformed and edge-case models that
test_bad_input.sh feeds to onnxq, into the folder given as argv[1].

Run with Debian's /usr/bin/python3 (python3-onnx 1.12, numpy).  Every file is
made from a fixed recipe or a fixed random seed, so runs are reproducible.

Files written (tensor names are unique so a test can look for them in a
message):
  not_onnx.txt, png_like.png, jpeg_like.jpg, random.bin   not ONNX at all
  ext_missing.onnx      tensor 'w_missing' in missing.bin, which is absent
  ext_past_end.onnx     tensor 'w_short' at [64, 128) of ext_past_end.bin
                        (100 bytes)
  ext_absolute.onnx     tensor 'w_abs' at an absolute location
  ext_dotdot.onnx       tensor 'w_up' at ../outside.bin (the file exists)
  deep200.onnx          If nodes nested 200 deep through then_branch
  deep20.onnx           the same, 20 deep (within the limit: must load)
  raw_mismatch.onnx     tensor 'w_odd': float32 [4,4] with 60 raw bytes
  feat/feat.npy         input for sv_demo.onnx: float32 [1, 200, 80]
"""
import os
import random
import sys

import numpy as np
from onnx import TensorProto, helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


# ---- not ONNX -------------------------------------------------------------
write("not_onnx.txt", b"This is a text file, not an ONNX model.\n" * 20)
rng = random.Random(20240601)
noise = bytes(rng.randrange(256) for _ in range(3000))
write("png_like.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise[:1000])
write("jpeg_like.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + noise[1000:2000])
write("random.bin", noise)


# ---- small models with one initializer -------------------------------------
def model_bytes(init):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])
    add = helper.make_node("Add", ["x", init.name], ["y"], name="add0")
    g = helper.make_graph([add], "g", [x], [y], initializer=[init])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    return m.SerializeToString()


def external(name, location, offset=None, length=None):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend([4, 4])
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


write("ext_missing.onnx", model_bytes(external("w_missing", "missing.bin")))
write("ext_past_end.onnx",
      model_bytes(external("w_short", "ext_past_end.bin", 64, 64)))
write("ext_past_end.bin", bytes(range(100)))
write("ext_absolute.onnx",
      model_bytes(external("w_abs", os.path.abspath(
          os.path.join(out, "ext_past_end.bin")), 0, 64)))
write("ext_dotdot.onnx", model_bytes(external("w_up", "../outside.bin", 0, 64)))
with open(os.path.join(out, "..", "outside.bin"), "wb") as f:
    f.write(bytes(64))

odd = TensorProto()
odd.name = "w_odd"
odd.data_type = TensorProto.FLOAT
odd.dims.extend([4, 4])
odd.raw_data = bytes(60)
write("raw_mismatch.onnx", model_bytes(odd))


# ---- deep nesting, written as protobuf bytes directly ---------------------
# (python-protobuf itself refuses to parse more than 100 levels, and building
# it through onnx.helper would only add recursion of our own.)
def varint(v):
    b = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            b.append(byte | 0x80)
        else:
            b.append(byte)
            return bytes(b)


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def s(number, text):
    return field(number, 2, text.encode())


def nested(depth):
    # GraphProto: node=1, name=2.  NodeProto: output=2, op_type=4,
    # attribute=5.  AttributeProto: name=1, g=6, type=20 (GRAPH = 5).
    graph = s(2, "g%d" % depth)
    for level in range(depth, 0, -1):
        attr = s(1, "then_branch") + field(6, 2, graph) + field(20, 0, varint(5))
        node = s(2, "y%d" % level) + s(4, "If") + field(5, 2, attr)
        graph = field(1, 2, node) + s(2, "g%d" % (level - 1))
    opset = field(2, 0, varint(13))
    # ModelProto: ir_version=1, graph=7, opset_import=8
    return field(1, 0, varint(8)) + field(7, 2, graph) + field(8, 2, opset)


write("deep200.onnx", nested(200))
write("deep20.onnx", nested(20))

# ---- input for sv_demo.onnx ------------------------------------------------
os.makedirs(os.path.join(out, "feat"), exist_ok=True)
feat = np.random.default_rng(7).standard_normal((1, 200, 80)).astype(np.float32)
np.save(os.path.join(out, "feat", "feat.npy"), feat * 3.0 - 5.0)
