#!/usr/bin/env bash
# dynamic_big.sh — the speed of `onnxq dynamic` itself (issue 7: a 500 MB
# float32 MatMul model in < 3 s and < 3x its size in peak memory).  Builds
# 8 MatMuls of 4096x4096 float32 weights (512 MiB) with /usr/bin/python3,
# then times the quantization (no --check) with /usr/bin/time.
#
# usage: bench/dynamic_big.sh ONNXQ [WORKDIR]
set -euo pipefail
onnxq=${1:?usage: dynamic_big.sh ONNXQ [WORKDIR]}
work=${2:-$(mktemp -d)}
mkdir -p "$work"
model=$work/big.onnx
if [ ! -f "$model" ]; then
  /usr/bin/python3 - "$model" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh
rng = np.random.default_rng(0)
n, k = 8, 4096
nodes, inits, prev = [], [], "x"
for i in range(n):
    w = rng.standard_normal((k, k), dtype=np.float32) * 0.02
    inits.append(nh.from_array(w, f"W{i}"))
    nodes.append(h.make_node("MatMul", [prev, f"W{i}"], [f"y{i}"], name=f"mm{i}"))
    prev = f"y{i}"
g = h.make_graph(nodes, "big", [h.make_tensor_value_info("x", T.FLOAT, [1, k])],
                 [h.make_tensor_value_info(prev, T.FLOAT, [1, k])], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
onnx.save(m, sys.argv[1])
PY
fi
size=$(stat -c %s "$model")
/usr/bin/time -f "elapsed_s=%e user_s=%U sys_s=%S peak_rss_kb=%M" "$onnxq" dynamic "$model" \
    "$work/big.int8.onnx" --no-check >/dev/null 2>"$work/time.txt" || {
  cat "$work/time.txt"; exit 1; }
tail -1 "$work/time.txt"
awk -v s="$size" -F'[ =]' '/peak_rss_kb/ {
  printf "model %.0f MiB -> %.0f MiB; peak RSS %.0f MiB = %.2fx the model\n",
         s / 1048576, 0, $8 / 1024, $8 * 1024 / s }' "$work/time.txt" |
  sed "s/-> 0 MiB/-> $(($(stat -c %s "$work/big.int8.onnx") / 1048576)) MiB/"
