/*
 * onnxq/dynamic.h — dynamic int8 quantization (`onnxq dynamic`): weights
 * become 8-bit initializers, activations are quantized at run time.
 *
 * Numerically the same as onnxruntime's quantize_dynamic (rules in
 * onnxq/quant.h); the ops written are chosen so the chosen target runtime
 * runs the result (a node that target cannot run quantized stays float and
 * the report says why):
 *   MatMul, Gemm  -> com.microsoft DynamicQuantizeMatMul (one node; the
 *                    fusion ORT makes of DynamicQuantizeLinear + MatMulInteger
 *                    + Cast + Mul), or DynamicQuantizeLinear + one
 *                    MatMulIntegerToFloat per consumer when several quantized
 *                    MatMuls read the same input (it is quantized once);
 *                    MatMul with a non-constant B (matmul_const_b_only = 0):
 *                    both inputs DynamicQuantizeLinear + MatMulIntegerToFloat
 *   Conv          -> DynamicQuantizeLinear + ConvInteger + Cast + Mul (+ Add
 *                    for the bias); int8 weights only where the target's
 *                    ConvInteger takes them (not ort-1.23)
 *   Gather        -> Gather over an 8-bit table + DequantizeLinear
 *   LSTM          -> com.microsoft DynamicQuantizeLSTM (int8 weights, as
 *                    onnxruntime writes them whatever weight_type says)
 *   Attention     -> (com.microsoft) DynamicQuantizeLinear + QAttention with
 *                    the merged Q/K/V weight 8-bit (per column with
 *                    per_channel); not with qkv_hidden_sizes (as
 *                    onnxruntime), nor for target onnxq while onnxq has no
 *                    QAttention kernel
 * Weights in Constant nodes count as constants; subgraphs (If/Loop/Scan)
 * are quantized too unless EnableSubgraph=0; the ai.onnx opset is raised
 * (to 11, when DynamicQuantizeLinear is written) only if every node keeps
 * its definition.
 *
 * Example:
 *     onnxq_dynamic_options o;
 *     onnxq_dynamic_options_init(&o);
 *     o.per_channel = 1;
 *     onnxq_dynamic_report rep;
 *     if (onnxq_quantize_dynamic(model, &o, &rep, &err) != ONNXQ_OK) ...
 *     ... rep.ops[i].quantized ..., rep.nodes[k].reason ...
 *     onnxq_dynamic_report_clear(&rep);
 */
#ifndef ONNXQ_DYNAMIC_H
#define ONNXQ_DYNAMIC_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which runtime must run the result. */
typedef enum onnxq_quant_target {
    ONNXQ_TARGET_ORT_1_30 = 0, /* ONNX Runtime 1.30 (CPU) and onnxq */
    ONNXQ_TARGET_ORT_1_23,     /* ONNX Runtime 1.23: no int8 ConvInteger */
    ONNXQ_TARGET_ONNXQ         /* onnxq's runtime only */
} onnxq_quant_target;

/* "ort-1.30" / "ort-1.23" / "onnxq" -> target; -1 if unknown. */
int onnxq_quant_target_parse(const char *s);
const char *onnxq_quant_target_name(onnxq_quant_target t);

typedef struct onnxq_dynamic_options {
    int32_t weight_type;       /* ONNX INT8 (default) or UINT8 */
    int per_channel;
    int reduce_range;
    const char *op_types;      /* comma-separated; NULL: MatMul,Gemm,LSTM,
                                  Attention (borrowed for the call) */
    const char *nodes_to_quantize; /* comma-separated names, fnmatch
                                      patterns or op:TYPE; NULL: all */
    const char *nodes_to_exclude;
    int matmul_const_b_only;   /* default 1 */
    onnxq_quant_target target;
    const char *const *extra;  /* "KEY=VALUE" items (onnxruntime
                                  extra_options): WeightSymmetric,
                                  EnableSubgraph, MatMulConstBOnly */
    size_t n_extra;
} onnxq_dynamic_options;

void onnxq_dynamic_options_init(onnxq_dynamic_options *o);

/* What happened to one candidate node (an op of the selected types). */
typedef struct onnxq_dynamic_node {
    char *graph;   /* "main" or a subgraph path */
    char *name;    /* node name ("#index" if none) */
    char *op_type;
    int quantized;
    char *reason;  /* why it stayed float, or what it became */
} onnxq_dynamic_node;

typedef struct onnxq_dynamic_op {
    char op_type[32];
    size_t quantized, skipped;
} onnxq_dynamic_op;

typedef struct onnxq_dynamic_report {
    onnxq_dynamic_node *nodes;
    size_t n_nodes;
    onnxq_dynamic_op ops[16];  /* per op type, in the order first seen */
    size_t n_ops;
    int64_t opset_before, opset_after;  /* ai.onnx */
    size_t weights_quantized;  /* quantized initializers written */
    size_t floats_removed;     /* float weights no longer used, removed */
    size_t conv_integer;       /* Conv nodes turned into ConvInteger */
} onnxq_dynamic_report;

void onnxq_dynamic_report_clear(onnxq_dynamic_report *r);

/* Quantizes model in place.  Errors (bad option, unknown op type or extra
 * key, a name matching no node, --per-channel with an op type that has no
 * channel axis) leave the model unchanged; rep (may be NULL) is filled on
 * success.  The result is deterministic. */
onnxq_status onnxq_quantize_dynamic(onnxq_model *model,
                                    const onnxq_dynamic_options *opts,
                                    onnxq_dynamic_report *rep,
                                    onnxq_error *err);

#ifdef __cplusplus
}
#endif
#endif
