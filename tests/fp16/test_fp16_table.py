"""test_fp16_table.py — checks the per-op port table of src/quant/fp16_ops.c
against the operator schemas of python-onnx 1.12 (opsets 1-17), for every
ai.onnx op the runtime's reference kernels register.

usage: test_fp16_table.py PROJECT_DIR
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from op_ports import schema_ports  # noqa: E402

root = sys.argv[1]
src = open(os.path.join(root, "src/quant/fp16_ops.c")).read()
block = src.split("static const fp16_row onnx_rows[] = {", 1)[1].split("};", 1)[0]
rows = {}
for op, since, fin, fout, bf in re.findall(r'\{"(\w+)", (\d+), "([^"]*)", "([^"]*)", (\d)\}', block):
    rows.setdefault(op, []).append((int(since), fin, fout, bf == "1"))

# ai.onnx ops of the runtime: the reference kernel tables
runtime = set()
kdir = os.path.join(root, "src/rt/kernels/ref")
for f in os.listdir(kdir):
    if f.endswith(".c"):
        for dom, op in re.findall(r'^\s*\{"([a-z.]*)",\s*"(\w+)",\s*\d+,\s*\d+', open(os.path.join(kdir, f)).read(), re.M):
            if dom in ("", "ai.onnx"):
                runtime.add(op)

bad, checked = [], 0
for op in sorted(runtime):
    if op not in rows:
        bad.append(f"{op}: runtime op without a row")
        continue
    for v in range(1, 18):
        s = schema_ports(op, v)
        cands = [r for r in rows[op] if r[0] <= v]
        if s is None:
            continue
        if not cands:
            bad.append(f"{op} opset {v}: schema exists, no row")
            continue
        r = max(cands)
        checked += 1
        if (r[1], r[2], r[3]) != (s[1], s[2], s[3]):
            bad.append(f"{op} opset {v}: row {r[1:]} vs schema {s[1:]}")
for b in bad:
    print("FAIL", b)
print(f"table: {len(runtime)} runtime ai.onnx ops, {checked} (op, opset) pairs checked, {len(bad)} mismatches")
sys.exit(1 if bad else 0)
