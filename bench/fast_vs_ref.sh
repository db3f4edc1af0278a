#!/usr/bin/env bash
# fast_vs_ref.sh — builds bench/fast_vs_ref.c against a build folder's
# libonnxq.a (with the libraries the onnxq tool links, read from CMake's link
# line) and runs it: fast kernels vs reference kernels in one process.
#
# usage: bench/fast_vs_ref.sh BUILD_DIR MODEL.onnx [--threads N] [--runs N] [NAME=DIMS ...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: fast_vs_ref.sh BUILD_DIR MODEL.onnx [...]}" && pwd)
shift
libs=$(tr ' ' '\n' <"$build/CMakeFiles/onnxq_cli.dir/link.txt" | grep -E '^(/.*\.(so|a)|-l.*)$' | grep -v libcjson | tr '\n' ' ')
exe=$build/fast_vs_ref
if [ ! -x "$exe" ] || [ "$here/bench/fast_vs_ref.c" -nt "$exe" ] || [ "$build/libonnxq.a" -nt "$exe" ]; then
  # shellcheck disable=SC2086
  cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$here/include" -I"$build/gen" \
     "$here/bench/fast_vs_ref.c" -o "$exe" "$build/libonnxq.a" $libs
fi
exec "$exe" "$@"
