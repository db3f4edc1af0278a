#!/usr/bin/env bash
# make_seeds.sh — builds the seed corpus for fuzz_load in the folder given as
# $1 (created if needed): small model.onnx files from Debian's
# libonnx-testdata, chosen for diverse ops and structure (subgraphs in If,
# Loop, Scan and SequenceMap; Constant tensors; string attributes; sequence
# and optional types; initializers stored raw and in typed fields), plus, when
# /usr/bin/python3 has onnx, a few crafted models whose initializers use
# external data in "weights.bin" (the file fuzz_load puts beside its models).
# Nothing binary is kept in the repository: the corpus is made from these.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 CORPUS_DIR" >&2
    exit 2
fi
out=$1
data=/usr/share/libonnx-testdata/data
if [ ! -d "$data/node" ]; then
    echo "make_seeds.sh: $data/node not found (install libonnx-testdata)" >&2
    exit 1
fi
mkdir -p "$out"

# node tests: graphs without weights; every one is < 20 KB.
node_tests=(
    test_if test_if_seq test_if_opt test_loop11 test_loop13_seq
    test_loop16_seq_none test_scan9_sum test_scan_sum
    test_sequence_map_add_2_sequences_expanded
    test_range_float_type_positive_delta_expanded
    test_constant test_constantofshape_int_zeros
    test_layer_normalization_4d_axis0_expanded
    test_dynamicquantizelinear_expanded test_nllloss_NCd1_weight_expanded
    test_softmax_axis_0_expanded test_hannwindow_expanded
    test_strnormalizer_export_monday_casesensintive_lower
    test_optional_get_element_sequence test_identity_sequence
    test_conv_with_strides_padding test_gemm_all_attributes
    test_lstm_defaults test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn
    test_qlinearconv test_matmulinteger test_cast_FLOAT_to_STRING
    test_einsum_batch_diagonal test_top_k test_nonmaxsuppression_center_point_box_format
)
# models with initializers (the node tests have none): raw float, raw int64,
# typed int64 (int64_data).
other_tests=(
    pytorch-operator/test_operator_conv
    pytorch-operator/test_operator_non_float_params
    pytorch-converted/test_BatchNorm2d_eval
    pytorch-converted/test_Linear
    simple/test_sequence_model3
)

n=0
copy() { # copy SRC_DIR NAME
    local src=$1/model.onnx
    if [ ! -f "$src" ]; then
        echo "make_seeds.sh: warning: $src not found, skipped" >&2
        return
    fi
    if [ "$(stat -c %s "$src")" -ge 20480 ]; then
        echo "make_seeds.sh: warning: $src is 20 KB or more, skipped" >&2
        return
    fi
    cp "$src" "$out/$2.onnx"
    n=$((n + 1))
}
for t in "${node_tests[@]}"; do copy "$data/node/$t" "$t"; done
for t in "${other_tests[@]}"; do copy "$data/$t" "${t##*/}"; done

# Crafted models with external data and typed storages.
if /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
    /usr/bin/python3 - "$out" <<'EOF'
import sys
from onnx import TensorProto, helper

out = sys.argv[1]

def ext(name, dims, offset, length):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", str(offset)),
                 ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t

def model(name, inits, nodes):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])
    g = helper.make_graph(nodes, name, [x], [y], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with open(f"{out}/{name}.onnx", "wb") as f:
        f.write(m.SerializeToString())

add = helper.make_node("Add", ["x", "w"], ["y"])
model("crafted_external", [ext("w", [4, 4], 64, 64)], [add])
model("crafted_external_two", [ext("w", [4, 4], 0, 64), ext("v", [2], 4032, 8)],
      [add])
bad = ext("w", [4, 4], 0, 64)
bad.external_data[0].value = "sub/../weights.bin"
model("crafted_external_dotdot", [bad], [add])
model("crafted_external_past_end", [ext("w", [4, 4], 4090, 64)], [add])
model("crafted_typed", [
    helper.make_tensor("w", TensorProto.FLOAT, [4, 4], [0.5] * 16),
    helper.make_tensor("h", TensorProto.FLOAT16, [2], [1, 2]),
    helper.make_tensor("d", TensorProto.DOUBLE, [2], [1.0, 2.0]),
    helper.make_tensor("u", TensorProto.UINT32, [2], [1, 2]),
    helper.make_tensor("s", TensorProto.STRING, [2], [b"a", b"bc"]),
    helper.make_tensor("c", TensorProto.COMPLEX64, [1], [1 + 2j]),
], [add])
EOF
    n=$((n + 5))
else
    echo "make_seeds.sh: /usr/bin/python3 has no onnx: crafted seeds skipped" >&2
fi
echo "make_seeds.sh: $n seeds in $out"
