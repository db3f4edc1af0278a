#!/usr/bin/env bash
# Regenerates docs/compare-report.png: the HTML report of `onnxq compare
# --per-tensor` on the demo speaker model against a QDQ twin built by
# tests/compare/make_demo_qdq.py (uint8 activations, int8 per-channel
# weights, ranges from three of the demo's wav files), rendered by headless
# Chromium.  Latency figures in it are whatever this machine measures.
#
# usage: scripts/report_screenshot.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
onnxq=$build/onnxq
[ -x "$onnxq" ] || { echo "report_screenshot.sh: no $onnxq; build first (make)" >&2; exit 1; }
command -v chromium >/dev/null || { echo "report_screenshot.sh: chromium missing; run scripts/deps.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
demo=$here/examples/speaker/sv_demo.onnx
wav=$here/examples/speaker/wav
for f in demo_spk1_1 demo_spk2_1 demo_spk3_2; do
  "$onnxq" fbank "$wav/$f.wav" "$work/$f.npy" >/dev/null
done
/usr/bin/python3 "$here/tests/compare/make_demo_qdq.py" "$demo" "$work/sv_demo.qdq.onnx" \
  "$here/tests/oracle/run.js" feat "$work"/demo_spk*.npy >/dev/null
cp "$demo" "$work/sv_demo.onnx"
(cd "$work" && "$onnxq" compare sv_demo.onnx sv_demo.qdq.onnx --calib-wav "$wav" --per-tensor \
   --threads 1 --runs 10 --ort --ort-runner "$here/tests/oracle/run.js" --report report.html >/dev/null)
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
  --window-size=1150,1500 --screenshot="$here/docs/compare-report.png" "file://$work/report.html" \
  >/dev/null 2>&1
echo "wrote $here/docs/compare-report.png"
