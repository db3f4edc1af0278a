#!/usr/bin/env bash
# bench_vs_ort.sh — latency of onnxq's runtime next to ONNX Runtime 1.30's,
# measured in the same run on the same inputs and thread count.
#
# usage: bench/bench_vs_ort.sh [--threads N] [--runs N] MODEL [NAME=D0,D1,... ...]
# The shapes fix symbolic input dims (e.g. feat=1,300,80).  Inputs are made
# once with `onnxq` (deterministic) and fed to both engines.  Prints one table
# row per engine and the ratio ORT / onnxq (above 1: onnxq is faster).
#
# Memory: each engine's process runs under /usr/bin/time, whose maximum
# resident set size (peak RSS, whole process: runtime, model, weights,
# intermediate tensors) is printed for both.  The node process also holds
# node itself and the onnxruntime-node library: "ORT base" is the peak RSS
# of a node process that only loads onnxruntime-node, so ORT minus base is
# what the model costs there.  onnxq's line also gives its planned arena.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
onnxq=${ONNXQ:-$here/build/onnxq}
threads=1
runs=20
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) break ;;
  esac
done
model=${1:?usage: bench_vs_ort.sh [--threads N] [--runs N] MODEL [NAME=DIMS ...]}
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
shape_args=()
for s in "$@"; do shape_args+=(--shape "$s"); done

/usr/bin/python3 - "$model" "$tmp" "$@" <<'PY'
import sys, numpy as np, onnx
model, out = sys.argv[1], sys.argv[2]
shapes = dict(a.split("=", 1) for a in sys.argv[3:])
m = onnx.load(model, load_external_data=False)
inits = {i.name for i in m.graph.initializer}
np_of = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}
for vi in m.graph.input:
    if vi.name in inits:
        continue
    tt = vi.type.tensor_type
    if vi.name in shapes:
        dims = [int(d) for d in shapes[vi.name].split(",")]
    else:
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in tt.shape.dim]
    rng = np.random.default_rng(0)
    dt = np_of[tt.elem_type]
    x = rng.uniform(-1, 1, dims).astype(dt) if np.issubdtype(dt, np.floating) else rng.integers(0, 10, dims).astype(dt)
    np.save(f"{out}/{vi.name}.npy", x)
PY

ort_line=$(/usr/bin/time -f 'max_rss_kb=%M' -o "$tmp/ort.time" \
           node "$here/tests/oracle/run.js" "$model" --inputs "$tmp" --threads "$threads" --bench "$runs")
ort_median=$(sed -n 's/.*ort_median_ms=\([0-9.]*\).*/\1/p' <<<"$ort_line")
ort_min=$(sed -n 's/.*ort_min_ms=\([0-9.]*\).*/\1/p' <<<"$ort_line")
ort_rss=$(sed -n 's/.*max_rss_kb=\([0-9]*\).*/\1/p' "$tmp/ort.time")
/usr/bin/time -f 'max_rss_kb=%M' -o "$tmp/base.time" \
    node -e "require('$here/tests/oracle/node_modules/onnxruntime-node')"
base_rss=$(sed -n 's/.*max_rss_kb=\([0-9]*\).*/\1/p' "$tmp/base.time")
oq_json=$(/usr/bin/time -f 'max_rss_kb=%M' -o "$tmp/oq.time" \
          "$onnxq" bench "$model" --inputs "$tmp" --threads "$threads" --runs "$runs" --json)
oq_rss=$(sed -n 's/.*max_rss_kb=\([0-9]*\).*/\1/p' "$tmp/oq.time")
oq_median=$(/usr/bin/python3 -c 'import json,sys; print("%.3f" % json.load(sys.stdin)["median_ms"])' <<<"$oq_json")
oq_min=$(/usr/bin/python3 -c 'import json,sys; print("%.3f" % json.load(sys.stdin)["min_ms"])' <<<"$oq_json")
oq_arena=$(/usr/bin/python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin).get("planned_arena_bytes", 0) / 1048576))' <<<"$oq_json")
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
printf '%-14s %12s %12s %14s\n' engine "median ms" "min ms" "peak RSS MiB"
printf '%-14s %12s %12s %14s\n' "onnxruntime" "$ort_median" "$ort_min" "$(mib "$ort_rss")"
printf '%-14s %12s %12s %14s\n' "onnxq" "$oq_median" "$oq_min" "$(mib "$oq_rss")"
printf 'ORT base (node + onnxruntime-node loaded): %s MiB; ORT model share: %s MiB\n' \
    "$(mib "$base_rss")" "$(mib $((ort_rss - base_rss)))"
printf 'arena of onnxq (planned intermediate tensors and scratch): %s MiB\n' "$oq_arena"
/usr/bin/python3 -c "print('ratio ORT/onnxq (median): %.2f' % ($ort_median / $oq_median))"
