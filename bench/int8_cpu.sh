#!/usr/bin/env bash
# int8_cpu.sh — int8 against float32 in onnxq on the demo speaker model, on
# a machine other processes share: wall-clock latency there depends on who
# else runs, so besides the minimum latency of back-to-back `onnxq bench`
# runs this prints the CPU time one run takes (perf stat's task-clock of
# 20 + RUNS runs minus that of 20 runs, divided by RUNS), which time slicing
# does not inflate.  Single-threaded: one run's CPU time is its latency on
# an idle core.
#
# Models: examples/speaker/sv_demo.onnx, and its int8 versions made here by
# `onnxq static` with the defaults (QDQ, u8 activations, s8 per-channel
# reduce-range weights) and with --format qoperator.
#
# usage: bench/int8_cpu.sh [--runs N] [--rounds N]     (needs perf)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
onnxq=${ONNXQ:-$here/build/onnxq}
runs=100 rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--rounds N]" >&2; exit 2 ;;
  esac
done
command -v perf >/dev/null || { echo "$0: perf is needed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
demo=$here/examples/speaker/sv_demo.onnx
"$onnxq" static "$demo" "$tmp/demo_qdq.onnx" --calib-wav "$here/examples/speaker/wav" >/dev/null
"$onnxq" static "$demo" "$tmp/demo_qop.onnx" --calib-wav "$here/examples/speaker/wav" \
    --format qoperator >/dev/null
shape=(--shape feat=1,300,80 --threads 1 --warmup 2)

task_ms() { # model runs -> task-clock ms of the whole bench process
  perf stat -x, -e task-clock "$onnxq" bench "$1" "${shape[@]}" --runs "$2" 2>&1 >/dev/null |
    awk -F, '/task-clock/ {v = $1} END {print v}'
}
cpu_per_run() { # model -> best over rounds of (T(20 + runs) - T(20)) / runs
  local best=
  for ((r = 0; r < rounds; r++)); do
    local a b v
    a=$(task_ms "$1" 20)
    b=$(task_ms "$1" $((20 + runs)))
    v=$(awk -v a="$a" -v b="$b" -v n="$runs" 'BEGIN {printf "%.3f", (b - a) / n}')
    best=$(awk -v x="$v" -v y="${best:-1e9}" 'BEGIN {print (x < y) ? x : y}')
  done
  echo "$best"
}
min_latency() { # model -> best min latency over rounds
  local best=
  for ((r = 0; r < rounds; r++)); do
    local v
    v=$("$onnxq" bench "$1" "${shape[@]}" --runs "$runs" --json |
        /usr/bin/python3 -c 'import json,sys; print("%.3f" % json.load(sys.stdin)["min_ms"])')
    best=$(awk -v x="$v" -v y="${best:-1e9}" 'BEGIN {print (x < y) ? x : y}')
  done
  echo "$best"
}

printf '%-16s %14s %14s %12s\n' model "cpu ms/run" "min ms" "fp32/this"
f32=
for m in fp32:$demo qdq:$tmp/demo_qdq.onnx qoperator:$tmp/demo_qop.onnx; do
  label=${m%%:*} path=${m#*:}
  c=$(cpu_per_run "$path")
  l=$(min_latency "$path")
  f32=${f32:-$c}
  printf '%-16s %14s %14s %12s\n' "$label" "$c" "$l" \
      "$(awk -v a="$f32" -v b="$c" 'BEGIN {printf "%.2fx", a / b}')"
done
echo "top ops of the QDQ model (1 thread):"
"$onnxq" bench "$tmp/demo_qdq.onnx" "${shape[@]}" --runs "$runs" | sed -n '/top ops/,$p' | tail -n +2 | head -8
