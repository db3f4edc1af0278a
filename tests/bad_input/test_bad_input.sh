#!/usr/bin/env bash
# test_bad_input.sh — bad input is a tested feature of the onnxq tool.
#
# usage: test_bad_input.sh /path/to/onnxq
#
# The rule every case checks: a user-facing command given a bad file exits
# with status 1, prints exactly one line on stderr, that line names the file
# (and the tensor where one is at fault), it does not crash, it leaves no
# partial output (no OUT, OUT.tmp.*, OUT.data, per-tensor files: the output
# folder must stay empty), and it never touches the input.
#
# Which commands run on each bad input is a list below (LOAD_COMMANDS for
# inputs that fail to load, DATA_COMMANDS for models that load but whose
# tensor data is bad): adding a command is a one-line change there.
#
# Also checked: bad outputs (OUT a folder, in a missing folder, equal to IN,
# OUT.data or a per-tensor data file taken by a folder, OUT or its data file
# being the input's external data); `onnxq check` reports each bad tensor as
# a finding; a raw_data size that does not match the shape is not a load
# error (`onnxq save` copies it byte for byte; it is the checker's to report);
# deep nesting within the limit loads; and a model saved with --external-data
# runs in ONNX Runtime (tests/oracle/run.js) with the same embedding as the
# original (skipped, with a line saying so, when node_modules is missing).  Inputs are crafted by craft_inputs.py with Debian's
# /usr/bin/python3 (python3-onnx, numpy); the `python3` on PATH lacks onnx.
#
# Ends with "N passed, N failed"; exit status 1 if any case failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 /path/to/onnxq" >&2
    exit 2
fi
ONNXQ=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
SV=$ROOT/examples/speaker/sv_demo.onnx
ORACLE=$ROOT/tests/oracle/run.js

# Commands run on every input that must fail to load.  `onnxq save IN OUT`
# writes; the others only read (`check` also: its findings go to stdout).
LOAD_COMMANDS=(save info layers check)
# Commands run on models that load but whose tensor data cannot be read
# (info and layers do not read tensor data; check reports it as a finding,
# tested in its own section below).
DATA_COMMANDS=(save)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/onnxq-bad-input.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
IN=$WORK/in
mkdir -p "$IN"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# A fresh, empty output folder for one case (unique even when called in a
# command substitution).
new_outdir() {
    mktemp -d "$WORK/out.XXXXXX"
}

# run CMD IN [OUT]: runs `onnxq CMD IN [OUT]`; sets rc, err_text, err_lines.
run() {
    local cmd=$1
    shift
    "$ONNXQ" "$cmd" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    rc=$?
    err_text=$(cat "$WORK/stderr")
    err_lines=$(wc -l <"$WORK/stderr")
}

# check_failure NAME NEEDLES...: after `run`, checks status 1, one stderr
# line, and that the line holds each needle; a needle "a|b" needs a or b.
check_failure() {
    local name=$1
    shift
    if [ "$rc" -ne 1 ]; then
        fail "$name" "exit status $rc, expected 1 (stderr: $err_text)"
        return 1
    fi
    if [ "$err_lines" -ne 1 ]; then
        fail "$name" "$err_lines lines on stderr, expected 1: $err_text"
        return 1
    fi
    local needle alt found
    for needle in "$@"; do
        found=0
        IFS='|' read -ra alts <<<"$needle"
        for alt in "${alts[@]}"; do
            case $err_text in *"$alt"*) found=1 ;; esac
        done
        if [ $found -eq 0 ]; then
            fail "$name" "message does not name '$needle': $err_text"
            return 1
        fi
    done
    return 0
}

# no_output NAME DIR: the output folder must still be empty.
no_output() {
    local left
    left=$(ls -A "$2")
    if [ -n "$left" ]; then
        fail "$1" "left files behind: $left"
        return 1
    fi
    return 0
}

# expect_fail NAME COMMANDS INPUT NEEDLES...: runs each command of the
# space-separated list COMMANDS on INPUT and checks the failure rules.
expect_fail() {
    local name=$1 cmds=$2 input=$3
    shift 3
    local cmd out sum_before sum_after
    for cmd in $cmds; do
        out=$(new_outdir)
        sum_before=$(cksum_of "$input")
        if [ "$cmd" = save ]; then
            run save "$input" "$out/out.onnx"
        else
            run "$cmd" "$input"
        fi
        sum_after=$(cksum_of "$input")
        check_failure "$cmd: $name" "$@" || continue
        no_output "$cmd: $name" "$out" || continue
        if [ "$sum_before" != "$sum_after" ]; then
            fail "$cmd: $name" "the input changed"
            continue
        fi
        pass "$cmd: $name"
    done
}

# Checksum of a file, or a fixed word for what is not a readable file.
cksum_of() {
    if [ -f "$1" ] && [ -r "$1" ]; then
        if [ "$(stat -c %s "$1")" -gt 100000000 ]; then
            stat -c '%s %Y' "$1" # big sparse file: size and mtime suffice
        else
            sha256sum <"$1"
        fi
    else
        echo "not-a-file"
    fi
}

# ---- inputs -----------------------------------------------------------------
if [ ! -f "$SV" ]; then
    echo "test_bad_input.sh: $SV not found" >&2
    exit 2
fi
if ! "$PY" "$HERE/craft_inputs.py" "$IN"; then
    echo "test_bad_input.sh: craft_inputs.py failed (needs $PY with onnx, numpy)" >&2
    exit 2
fi
cp "$SV" "$IN/sv.onnx"
sv_size=$(stat -c %s "$IN/sv.onnx")
: >"$IN/empty.onnx"
head -c 10 "$IN/sv.onnx" >"$IN/cut10.onnx"
head -c $((sv_size / 2)) "$IN/sv.onnx" >"$IN/cut_half.onnx"
head -c $((sv_size - 1)) "$IN/sv.onnx" >"$IN/cut_last.onnx"
mkdir -p "$IN/a_folder.onnx"

LOAD="${LOAD_COMMANDS[*]}"
DATA="${DATA_COMMANDS[*]}"

# ---- inputs that must not load ---------------------------------------------
expect_fail "empty file" "$LOAD" "$IN/empty.onnx" "empty.onnx"
expect_fail "truncated at 10 bytes" "$LOAD" "$IN/cut10.onnx" "cut10.onnx"
expect_fail "truncated at half" "$LOAD" "$IN/cut_half.onnx" "cut_half.onnx"
expect_fail "truncated by 1 byte" "$LOAD" "$IN/cut_last.onnx" "cut_last.onnx"
expect_fail "text file" "$LOAD" "$IN/not_onnx.txt" "not_onnx.txt"
expect_fail "PNG-like bytes" "$LOAD" "$IN/png_like.png" "png_like.png"
expect_fail "JPEG-like bytes" "$LOAD" "$IN/jpeg_like.jpg" "jpeg_like.jpg"
expect_fail "random bytes" "$LOAD" "$IN/random.bin" "random.bin"
expect_fail "a folder" "$LOAD" "$IN/a_folder.onnx" "a_folder.onnx"
expect_fail "missing file" "$LOAD" "$IN/no_such_model.onnx" "no_such_model.onnx"
expect_fail "If nested 200 deep" "$LOAD" "$IN/deep200.onnx" "deep200.onnx" "nested"

# Over 2 GiB without external data: a sparse file, no real disk use.
truncate -s 2100M "$IN/huge.onnx"
expect_fail "2.1 GiB file" "$LOAD" "$IN/huge.onnx" "huge.onnx" "2 GiB"
rm -f "$IN/huge.onnx"

# ---- models whose tensor data cannot be read ---------------------------------
expect_fail "external data file missing" "$DATA" "$IN/ext_missing.onnx" \
    "ext_missing.onnx" "w_missing" "missing.bin"
expect_fail "external range past end of file" "$DATA" "$IN/ext_past_end.onnx" \
    "ext_past_end.onnx|ext_past_end.bin" "w_short"
expect_fail "absolute external location" "$DATA" "$IN/ext_absolute.onnx" \
    "ext_absolute.onnx" "w_abs"
expect_fail "external location with .." "$DATA" "$IN/ext_dotdot.onnx" \
    "ext_dotdot.onnx" "w_up"

# The checker reports each of them, and a raw_data size that does not match
# the shape, as a "tensor-data" finding on stdout naming the tensor (exit 1,
# nothing on stderr).
check_finding() { # NAME MODEL TENSOR
    run check --no-runtime "$2"
    local finding
    finding=$(grep -c "tensor-data: .*'$3'" "$WORK/stdout")
    if [ "$rc" -ne 1 ]; then
        fail "check: $1" "exit status $rc, expected 1: $(cat "$WORK/stdout") $err_text"
    elif [ -n "$err_text" ]; then
        fail "check: $1" "findings belong on stdout, stderr has: $err_text"
    elif [ "$finding" -ne 1 ] || ! grep -q "$(basename "$2")" "$WORK/stdout"; then
        fail "check: $1" "no tensor-data finding naming '$3' and the file: $(cat "$WORK/stdout")"
    else
        pass "check: $1"
    fi
}
check_finding "external data file missing" "$IN/ext_missing.onnx" w_missing
check_finding "external range past end of file" "$IN/ext_past_end.onnx" w_short
check_finding "absolute external location" "$IN/ext_absolute.onnx" w_abs
check_finding "external location with .." "$IN/ext_dotdot.onnx" w_up
check_finding "raw_data size mismatch" "$IN/raw_mismatch.onnx" w_odd

# ---- bad outputs --------------------------------------------------------------
# OUT is a folder: refused, the folder stays empty.
out=$(new_outdir)
run save "$IN/sv.onnx" "$out"
check_failure "save: OUT is a folder" "$out" && no_output "save: OUT is a folder" "$out" &&
    pass "save: OUT is a folder"

# OUT in a folder that does not exist: refused, nothing created.
out=$(new_outdir)
run save "$IN/sv.onnx" "$out/nope/out.onnx"
if check_failure "save: OUT in a missing folder" "$out/nope/out.onnx" &&
    no_output "save: OUT in a missing folder" "$out"; then
    pass "save: OUT in a missing folder"
fi

# OUT.data (the external data file --external-data writes) is a folder:
# refused before OUT is written; only that (still empty) folder remains.
out=$(new_outdir)
mkdir "$out/out.onnx.data"
run save --external-data "$IN/sv.onnx" "$out/out.onnx"
name="save --external-data: OUT.data is a folder"
if check_failure "$name" "out.onnx.data"; then
    left=$(ls -A "$out")
    if [ "$left" != "out.onnx.data" ] || [ -n "$(ls -A "$out/out.onnx.data")" ]; then
        fail "$name" "left files behind: $(ls -AR "$out")"
    else
        pass "$name"
    fi
fi

# --external-per-tensor where a tensor's file name is taken by a folder:
# refused, nothing written (a sanitizer build also checks nothing leaks).
out=$(new_outdir)
mkdir "$out/seg_1.weight"
run save --external-per-tensor "$IN/sv.onnx" "$out/out.onnx"
name="save --external-per-tensor: a tensor's file is a folder"
if check_failure "$name" "seg_1.weight"; then
    if [ "$(ls -A "$out")" != "seg_1.weight" ] || [ -n "$(ls -A "$out/seg_1.weight")" ]; then
        fail "$name" "left files behind: $(ls -AR "$out")"
    else
        pass "$name"
    fi
fi

# OUT, or the external data file a save writes, is a file the input model
# reads its external data from: refused, the input's data untouched (another
# model pointing at that file would silently read the new layout).
ext_dir=$(new_outdir)
run save --external-data=w.bin "$IN/sv.onnx" "$ext_dir/a.onnx"
if [ "$rc" -ne 0 ]; then
    fail "save: setup of a model with external data" "$err_text"
else
    w_before=$(cksum_of "$ext_dir/w.bin")
    for variant in data out; do
        name="save: writes over the input's external data ($variant)"
        if [ $variant = data ]; then
            run save --external-data=w.bin --external-threshold 0 \
                "$ext_dir/a.onnx" "$ext_dir/b.onnx"
        else
            run save "$ext_dir/a.onnx" "$ext_dir/w.bin"
        fi
        if ! check_failure "$name" "w.bin"; then
            continue
        elif [ "$(cksum_of "$ext_dir/w.bin")" != "$w_before" ]; then
            fail "$name" "the input's external data changed"
        elif [ "$(ls -A "$ext_dir" | tr '\n' ' ')" != "a.onnx w.bin " ]; then
            fail "$name" "left files behind: $(ls -A "$ext_dir")"
        else
            pass "$name"
        fi
    done
fi

# OUT is IN (by name, and through a symbolic link): refused, IN untouched.
for variant in same link; do
    before=$(cksum_of "$IN/sv.onnx")
    target=$IN/sv.onnx
    if [ $variant = link ]; then
        ln -sf sv.onnx "$IN/sv_link.onnx"
        target=$IN/sv_link.onnx
    fi
    run save "$IN/sv.onnx" "$target"
    name="save: OUT is IN ($variant)"
    if check_failure "$name" "$(basename "$target")"; then
        leftovers=$(cd "$IN" && ls -A | grep -E '^sv(_link)?\.onnx\.(tmp|data)' || true)
        if [ "$(cksum_of "$IN/sv.onnx")" != "$before" ]; then
            fail "$name" "IN was changed"
        elif [ -n "$leftovers" ]; then
            fail "$name" "left files behind: $leftovers"
        else
            pass "$name"
        fi
    fi
done
rm -f "$IN/sv_link.onnx"

# ---- what must work -----------------------------------------------------------
# raw_data shorter than the shape says: a checker finding (see above), not a
# load error; save copies the model byte for byte.
out=$(new_outdir)
run save "$IN/raw_mismatch.onnx" "$out/out.onnx"
if [ "$rc" -ne 0 ]; then
    fail "save: raw_data size mismatch" "exit status $rc: $err_text"
elif ! cmp -s "$IN/raw_mismatch.onnx" "$out/out.onnx"; then
    fail "save: raw_data size mismatch" "output differs from input"
else
    pass "save: raw_data size mismatch is saved byte-identically"
fi

# Nesting within the limit loads and saves unchanged.
out=$(new_outdir)
run save "$IN/deep20.onnx" "$out/out.onnx"
if [ "$rc" -ne 0 ]; then
    fail "save: If nested 20 deep" "exit status $rc: $err_text"
elif ! cmp -s "$IN/deep20.onnx" "$out/out.onnx"; then
    fail "save: If nested 20 deep" "output differs from input"
else
    pass "save: If nested 20 deep is saved byte-identically"
fi

# --external-data output runs in ONNX Runtime with the same embedding.
name="save --external-data: ORT gives the same embedding"
if ! command -v node >/dev/null || [ ! -d "$ROOT/tests/oracle/node_modules/onnxruntime-node" ]; then
    echo "skip $name (node or tests/oracle/node_modules missing: npm ci in tests/oracle)"
else
    out=$(new_outdir)
    run save --external-data "$IN/sv.onnx" "$out/sv_ext.onnx"
    if [ "$rc" -ne 0 ]; then
        fail "$name" "save failed ($rc): $err_text"
    elif [ ! -s "$out/sv_ext.onnx.data" ] ||
        [ "$(stat -c %s "$out/sv_ext.onnx")" -ge $((sv_size / 10)) ]; then
        fail "$name" "no external data written: $(ls -l "$out")"
    elif ! node "$ORACLE" "$IN/sv.onnx" --inputs "$IN/feat" --out "$WORK/ort_orig" 2>"$WORK/ort_err" ||
        ! node "$ORACLE" "$out/sv_ext.onnx" --inputs "$IN/feat" --out "$WORK/ort_ext" 2>>"$WORK/ort_err"; then
        fail "$name" "ONNX Runtime failed: $(cat "$WORK/ort_err")"
    elif ! "$PY" -c '
import sys, numpy as np
a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
sys.exit(0 if a.shape == (1, 192) and a.dtype == b.dtype and np.array_equal(a, b) else 1)
' "$WORK/ort_orig/embedding.npy" "$WORK/ort_ext/embedding.npy"; then
        fail "$name" "embeddings differ (or are not float32 [1, 192])"
    else
        pass "$name"
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
