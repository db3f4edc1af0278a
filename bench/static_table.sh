#!/usr/bin/env bash
# static_table.sh — `onnxq static` on the demo speaker model: every format x
# type combination ONNX Runtime accepts, timed in ONNX Runtime 1.30 (1
# thread, tests/oracle/run.js --bench) and in onnxq (`onnxq bench`), all in
# the same run, with the held-out embedding cosine to float32 (ORT).
# Calibration: speakers 1-4 of examples/speaker/wav; held out: speakers 5-6.
# Usage: bench/static_table.sh [BUILD_DIR] [ORT_RUNS] [ONNXQ_RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
ort_runs=${2:-30}
oq_runs=${3:-5}
onnxq=$build/onnxq
model=$here/examples/speaker/sv_demo.onnx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/calib" "$tmp/held"
for f in "$here"/examples/speaker/wav/demo_spk[1-4]_*.wav; do ln -s "$f" "$tmp/calib/"; done
for f in "$here"/examples/speaker/wav/demo_spk[56]_*; do
  b=$(basename "$f"); "$onnxq" fbank "$f" "$tmp/held/${b%.*}.npy" >/dev/null
done
in=$tmp/held/demo_spk5_1.npy
declare -a names=(float) files=("$model")
add() { # name, options...
  local n=$1; shift
  "$onnxq" static "$model" "$tmp/$n.onnx" --calib-wav "$tmp/calib" -q "$@" 2>/dev/null
  names+=("$n"); files+=("$tmp/$n.onnx")
}
add qdq_u8s8_default
add qdq_u8s8_pertensor --no-per-channel
add qdq_u8s8_no_rr --no-reduce-range
add qdq_s8s8 --activation-type qint8
add qdq_u8u8 --weight-type quint8
add qdq_s8u8 --activation-type qint8 --weight-type quint8
add qop_u8s8 --format qoperator
add qop_u8u8 --format qoperator --weight-type quint8
add qop_s8s8 --format qoperator --activation-type qint8
add user_qop_s8s8_conv_mul --format qoperator --activation-type qint8 --weight-type qint8 --op-types Conv,Mul --no-per-channel
printf '%-24s %10s %12s %14s %10s\n' model MiB ort_ms onnxq_ms cosine
for i in "${!names[@]}"; do
  m=${files[$i]}
  ort=$(node "$here/tests/oracle/run.js" "$m" --input "feat=$in" --threads 1 --bench "$ort_runs" |
        sed -n 's/.*ort_median_ms=\([0-9.]*\).*/\1/p')
  oq=$("$onnxq" bench "$m" --input "feat=$in" --threads 1 --runs "$oq_runs" --warmup 1 |
       sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' | head -1)
  c=$(/usr/bin/python3 - "$here" "$model" "$m" "$tmp/held" <<'PY'
import glob, subprocess, sys, tempfile, numpy as np
here, f, q, held = sys.argv[1:]
def emb(m, x):
    d = tempfile.mkdtemp()
    subprocess.run(["node", here + "/tests/oracle/run.js", m, "--out", d, "--input", "feat=" + x],
                   check=True, capture_output=True)
    return np.load(d + "/embedding.npy").ravel().astype(np.float64)
cs = []
for x in sorted(glob.glob(held + "/*.npy")):
    a, b = emb(f, x), emb(q, x)
    cs.append(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
print(f"{min(cs):.5f}")
PY
)
  printf '%-24s %10.2f %12s %14s %10s\n' "${names[$i]}" "$(echo "$(stat -c %s "$m") / 1048576" | bc -l)" "$ort" "$oq" "$c"
done
