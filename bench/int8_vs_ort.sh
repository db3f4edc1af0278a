#!/usr/bin/env bash
# int8_vs_ort.sh — int8 latency of onnxq next to ONNX Runtime 1.30 (CPU,
# default graph optimisations, so ORT fuses QDQ too), same inputs, same
# thread count, measured in one run.  Other processes share this machine, so
# the engines alternate (ROUNDS rounds of RUNS runs each) and the table gives
# the median of each engine's per-round medians, and onnxq / ORT (below 1:
# onnxq is faster).
#
# Models: the demo speaker model in fp32 and int8 (QDQ and QOperator, made
# here with `onnxq static` calibrated on examples/speaker/wav, u8 activations
# with s8 per-channel weights), and the QDQ conv net of
# tests/quant/make_qdq_models.py at 64x64 ("--big").  onnxq also runs the
# demo QDQ model with ONNXQ_NO_QDQ_FUSION=1 to show what fusion gains.
#
# usage: bench/int8_vs_ort.sh [--runs N] [--rounds N] [--threads "1 2"]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
onnxq=${ONNXQ:-$here/build/onnxq}
runs=10 rounds=3 threads="1 2"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--rounds N] [--threads \"1 2\"]" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
demo=$here/examples/speaker/sv_demo.onnx
"$onnxq" static "$demo" "$tmp/demo_qdq.onnx" --calib-wav "$here/examples/speaker/wav" >/dev/null
"$onnxq" static "$demo" "$tmp/demo_qop.onnx" --calib-wav "$here/examples/speaker/wav" \
    --format qoperator >/dev/null
/usr/bin/python3 "$here/tests/quant/make_qdq_models.py" "$tmp/qdq" --big >/dev/null
mkdir -p "$tmp/demo_in"
/usr/bin/python3 -c "
import numpy as np
np.save('$tmp/demo_in/feat.npy', np.random.default_rng(0).standard_normal((1, 300, 80)).astype(np.float32))"

. "$here/bench/lib.sh"

bench_one() { # label model inputs threads [VAR=VALUE for onnxq]
  local label=$1
  bench_pair "$2" "$3" "$4" "${@:5}"
  printf '%-30s %3s %12.2f %12.2f %8.2f\n' "$label" "$4" "$BP_ORT_MED" "$BP_OQ_MED" \
      "$(ratio "$BP_OQ_MED" "$BP_ORT_MED")"
  echo "$BP_OQ_MED" > "$tmp/last_oq"
}

printf '%-30s %3s %12s %12s %8s\n' model thr "ORT ms" "onnxq ms" "oq/ORT"
for t in $threads; do
  bench_one "demo fp32" "$demo" "$tmp/demo_in" "$t"; fp=$(cat "$tmp/last_oq")
  bench_one "demo int8 QDQ" "$tmp/demo_qdq.onnx" "$tmp/demo_in" "$t"; qdq=$(cat "$tmp/last_oq")
  bench_one "demo int8 QDQ (no fusion)" "$tmp/demo_qdq.onnx" "$tmp/demo_in" "$t" ONNXQ_NO_QDQ_FUSION=1
  bench_one "demo int8 QOperator" "$tmp/demo_qop.onnx" "$tmp/demo_in" "$t"; qop=$(cat "$tmp/last_oq")
  bench_one "convnet QDQ u8s8 64x64" "$tmp/qdq/convnet_u8s8/model.onnx" "$tmp/qdq/convnet_u8s8/in" "$t"
  bench_one "convnet QDQ s8s8 64x64" "$tmp/qdq/convnet_s8s8/model.onnx" "$tmp/qdq/convnet_s8s8/in" "$t"
  awk -v f="$fp" -v a="$qdq" -v b="$qop" -v t="$t" \
      'BEGIN {printf "  onnxq int8 speed-up over its fp32 demo (%s thr): QDQ %.2fx, QOperator %.2fx\n", t, f / a, f / b}'
done
