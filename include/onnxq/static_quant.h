/*
 * onnxq/static_quant.h — static int8 quantization: activations get scales
 * and zero points from calibration ranges (onnxq/calib.h), weights are
 * stored as 8-bit initializers, biases as int32.
 *
 *     onnxq_static_options o;
 *     onnxq_static_options_init(&o);               // QDQ, U8S8
 *     char **names; size_t n;
 *     onnxq_static_plan(model, &o, &names, &n, &err); // tensors to calibrate
 *     onnxq_calibrate(model, names, n, ..., &ranges, &err);
 *     onnxq_static_report rep;
 *     onnxq_static_quantize(model, &o, ranges, n, &rep, &err);
 *     ... onnxq_model_save ...
 *     onnxq_static_report_clear(&rep);
 *     onnxq_static_names_free(names, n);
 *
 * Both formats come from one planning step (which nodes, which tensors):
 *   QOperator: QLinearConv, QLinearMatMul, com.microsoft QGemm, QLinearAdd,
 *     QLinearMul, QLinearConcat, QLinearGlobalAveragePool,
 *     QLinearAveragePool, QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax;
 *     QuantizeLinear where float values enter a run of quantized nodes,
 *     DequantizeLinear where they leave it, nothing in between; a Relu/Clip
 *     whose input is a quantized node's only use is dropped (its range
 *     becomes the producer's output range).
 *   Data movement (Reshape, Transpose, Squeeze, Unsqueeze, MaxPool from
 *     opset 12, Resize from 11, Split, Slice in QDQ only, Gather in QDQ
 *     only unless forced), when in the op types and their input is
 *     quantized already (Split: always; any with ForceQuantizeNoInputCheck):
 *     outputs share the input's scale and zero point initializers, so in
 *     QOperator the op runs on the 8-bit tensor and in QDQ it sits between
 *     DequantizeLinear and QuantizeLinear of equal parameters (which ONNX
 *     Runtime and onnxq's runtime drop).  QDQ AveragePool likewise (ONNX
 *     Runtime's QDQ registry); QOperator gives it its own output range.
 *     Flatten stays float, as ONNX Runtime's quantizer leaves it.
 *   ConvTranspose: QDQ only (weights per channel along axis 1), as ONNX
 *     Runtime's quantizer does; left float in QOperator.
 *   QDQ (as ONNX Runtime's quantize_static writes it): the float node stays
 *     and reads DequantizeLinear outputs: weights as 8-bit initializers ->
 *     DequantizeLinear, bias int32 -> DequantizeLinear, every activation
 *     input/output through one shared QuantizeLinear -> DequantizeLinear
 *     pair; removable activations (Relu, Clip) dropped likewise.
 * Numerics are onnxq/quant.h's (ONNX Runtime's tool), including the int32
 * bias guard (int8 weight scales grow where input scale x weight scale
 * would push the bias past int32, unless keep_weight_scales): activations
 * asymmetric unless ActivationSymmetric, never reduced; weights symmetric
 * by default when int8 (WeightSymmetric), reduce_range shrinks weights.
 * Subgraphs (If/Loop/Scan bodies): in QDQ form their Conv, MatMul and Gemm
 * are quantized too (no folds there); nodes whose tensor names are made in
 * more than one graph, that read a body's own inputs, whose tensors no
 * calibration sample computed (ranges calibrated with allow_unreached), or
 * any in QOperator form stay float, listed in the report with the reason.
 */
#ifndef ONNXQ_STATIC_QUANT_H
#define ONNXQ_STATIC_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/calib.h"
#include "onnxq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum onnxq_qformat {
    ONNXQ_FORMAT_QDQ = 0,
    ONNXQ_FORMAT_QOPERATOR
} onnxq_qformat;

typedef struct onnxq_static_options {
    onnxq_qformat format;
    int32_t activation_type;  /* ONNX UINT8 (default) or INT8 */
    int32_t weight_type;      /* ONNX INT8 (default) or UINT8 */
    int per_channel;
    int reduce_range;
    const char *op_types;     /* comma list; NULL: ONNXQ_STATIC_DEFAULT_OPS */
    const char *nodes_include;
    const char *nodes_exclude;
    /* ONNX Runtime extra_options */
    int activation_symmetric;       /* ActivationSymmetric (0) */
    int weight_symmetric;           /* WeightSymmetric (-1: 1 for int8) */
    int force_no_input_check;       /* ForceQuantizeNoInputCheck (0):
                                       data-movement ops are quantized
                                       even when their input is not */
    int keep_weight_scales;         /* QDQDisableWeightAdjustForInt32Bias
                                       (0): no int32 bias guard */
    int add_qdq_pair_to_weight;     /* AddQDQPairToWeight (0) */
    int keep_removable_activations; /* QDQKeepRemovableActivations (0) */
    int dedicated_qdq_pair;         /* DedicatedQDQPair (0) */
    int quantize_bias;              /* QuantizeBias (1) */
    int matmul_const_b_only;        /* MatMulConstBOnly (0) */
    const char *exclude_output_op_types; /* OpTypesToExcludeOutputQuantization */
} onnxq_static_options;

/* What pays on ONNX Runtime 1.30 (x86-64): the ops it runs as int8 kernels,
 * the activations it folds into them, and the data movement it then runs
 * on 8-bit tensors (quantized only after a quantized tensor, so they add no
 * QuantizeLinear/DequantizeLinear of their own). */
#define ONNXQ_STATIC_DEFAULT_COMPUTE_OPS "Conv,MatMul,Gemm,Relu,Clip,Add"
#define ONNXQ_STATIC_DEFAULT_MOVE_OPS                                         \
    "MaxPool,Transpose,Reshape,Squeeze,Unsqueeze,Resize,Slice,Gather"
#define ONNXQ_STATIC_DEFAULT_OPS                                              \
    ONNXQ_STATIC_DEFAULT_COMPUTE_OPS "," ONNXQ_STATIC_DEFAULT_MOVE_OPS

void onnxq_static_options_init(onnxq_static_options *o);

/* The op types --op-types accepts (NULL-terminated). */
extern const char *const onnxq_static_known_ops[];

/* The tensors whose ranges quantization needs, in graph order: *names is a
 * malloc'd array of malloc'd names (onnxq_static_names_free).  Checks the
 * options and node lists (a list item matching no node is an error). */
onnxq_status onnxq_static_plan(onnxq_model *model,
                               const onnxq_static_options *o, char ***names,
                               size_t *n, onnxq_error *err);
void onnxq_static_names_free(char **names, size_t n);

/* One node's fate. */
typedef struct onnxq_static_node {
    char *name;    /* node name or "#index" */
    char *op_type;
    int quantized; /* 1: quantized (or folded); 0: left float */
    char *reason;  /* why it stayed float, or "folded into <node>" */
} onnxq_static_node;

typedef struct onnxq_static_report {
    onnxq_static_node *nodes; /* every node of the main graph, in order,
                                 then each subgraph node asked for (the
                                 reason names its subgraph) */
    size_t n_nodes;
    size_t n_quantized;
    size_t weights_quantized;
    size_t n_q, n_dq;         /* QuantizeLinear / DequantizeLinear added */
    int64_t opset_from, opset_to;
} onnxq_static_report;

void onnxq_static_report_clear(onnxq_static_report *r);

/* Quantizes model in place with the ranges (one per name onnxq_static_plan
 * returned; any order).  rep may be NULL. */
onnxq_status onnxq_static_quantize(onnxq_model *model,
                                   const onnxq_static_options *o,
                                   const onnxq_tensor_range *ranges,
                                   size_t n_ranges, onnxq_static_report *rep,
                                   onnxq_error *err);

#ifdef __cplusplus
}
#endif
#endif
