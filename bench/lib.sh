# lib.sh — shell functions the int8 benches share (int8_vs_ort.sh,
# int8_ocr_vs_ort.sh); source it after setting `here` (the repository),
# `onnxq` (the binary), `tmp` (a scratch folder), `runs` and `rounds`.
#
# bench_pair times one model in ONNX Runtime 1.30 (tests/oracle/run.js,
# default graph optimisations) and in onnxq (`onnxq bench`) on the same
# inputs and thread count.  Other processes share this machine, so the
# engines alternate: `rounds` rounds of `runs` timed runs each.  It sets
#   BP_ORT_MED BP_OQ_MED  the median of each engine's per-round medians
#   BP_ORT_MIN BP_OQ_MIN  each engine's fastest run over all rounds (the
#                         steadier figure when the machine is busy)

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
minimum() { tr ' ' '\n' | grep -v '^$' | sort -g | head -n 1; }
# a / b with 2 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

bench_pair() { # model inputs-dir threads [VAR=VALUE for onnxq ...]
  local model=$1 ins=$2 t=$3 om=() on=() qm=() qn=() line json
  local envs=("${@:4}")
  mkdir -p "$tmp/bench_pair_out"
  for ((r = 0; r < rounds; r++)); do
    line=$(node "$here/tests/oracle/run.js" "$model" --inputs "$ins" --threads "$t" \
               --bench "$runs" --out "$tmp/bench_pair_out")
    om+=("$(sed -n 's/.*ort_median_ms=\([0-9.]*\).*/\1/p' <<<"$line")")
    on+=("$(sed -n 's/.*ort_min_ms=\([0-9.]*\).*/\1/p' <<<"$line")")
    json=$(env "${envs[@]}" "$onnxq" bench "$model" --inputs "$ins" --threads "$t" \
               --runs "$runs" --json)
    read -r a b < <(/usr/bin/python3 -c \
        'import json,sys; j = json.load(sys.stdin); print("%.3f %.3f" % (j["median_ms"], j["min_ms"]))' \
        <<<"$json")
    qm+=("$a")
    qn+=("$b")
  done
  BP_ORT_MED=$(echo "${om[*]}" | median)
  BP_ORT_MIN=$(echo "${on[*]}" | minimum)
  BP_OQ_MED=$(echo "${qm[*]}" | median)
  BP_OQ_MIN=$(echo "${qn[*]}" | minimum)
}
