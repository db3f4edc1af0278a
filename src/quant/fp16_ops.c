/*
 * fp16_ops.c — which ports of each op may hold float16 or bfloat16: the facts
 * the fp16 converter (fp16.c) decides with, and its default block lists.
 *
 * One row per op and schema version at which the answer changes.  in/out
 * give one character per formal input/output:
 *   'F'  the port's type constraint admits float and float16, so the port
 *        follows the node (float16 when the node is converted);
 *   '-'  it does not (integers, bool, or float only, such as Resize-11's
 *        scales): it keeps its type whatever the node does.
 * A trailing '*' repeats the last kind (variadic ports); ports beyond the
 * string are '-'.  bf16 is 1 when every 'F' constraint also admits
 * bfloat16.  A node's row is the one with the largest `since` not above the
 * model's opset of its domain.
 *
 * The ai.onnx rows up to opset 17 are the type constraints of the ONNX
 * operator schemas (Operators.md; tests/fp16/test_fp16_table.py checks every
 * row and opset against python-onnx 1.12's schemas).  Rows for ops of opsets
 * 18-21 and for ONNX Runtime's com.microsoft ops follow their docs.  Ops the
 * runtime cannot run have no row and stay float32.  The converter's own
 * special cases (Cast, CastLike, Constant, Shape, Size, Resize's roi,
 * If/Loop/Scan) are in fp16.c.
 */
#include <string.h>

#include "fp16_internal.h"

typedef struct fp16_row {
    const char *op_type;
    int since;
    const char *in, *out;
    int bf16;
} fp16_row;

/* ai.onnx (domain "" or "ai.onnx"), sorted by op then version. */
static const fp16_row onnx_rows[] = {
    {"Abs", 1, "F", "F", 0},
    {"Abs", 13, "F", "F", 1},
    {"Acos", 7, "F", "F", 0},
    {"Acosh", 9, "F", "F", 0},
    {"Add", 1, "FF", "F", 0},
    {"Add", 13, "FF", "F", 1},
    {"And", 1, "--", "-", 0},
    {"ArgMax", 1, "F", "-", 0},
    {"ArgMax", 13, "F", "-", 1},
    {"ArgMin", 1, "F", "-", 0},
    {"ArgMin", 13, "F", "-", 1},
    {"Asin", 7, "F", "F", 0},
    {"Asinh", 9, "F", "F", 0},
    {"Atan", 7, "F", "F", 0},
    {"Atanh", 9, "F", "F", 0},
    {"AveragePool", 1, "F", "F", 0},
    {"BatchNormalization", 1, "FFFFF", "FFFFF", 0},
    {"BatchNormalization", 14, "FFFFF", "FFF", 1},
    {"BitShift", 11, "--", "-", 0},
    {"BlackmanWindow", 17, "-", "F", 1},
    {"Cast", 1, "F", "F", 0},
    {"Cast", 13, "F", "F", 1},
    {"CastLike", 15, "FF", "F", 1},
    {"Ceil", 1, "F", "F", 0},
    {"Ceil", 13, "F", "F", 1},
    {"Celu", 12, "-", "-", 0},
    {"CenterCropPad", 18, "F-", "F", 1},
    {"Clip", 1, "F", "F", 0},
    {"Clip", 11, "FFF", "F", 0},
    {"Clip", 13, "FFF", "F", 1},
    {"Col2Im", 18, "F--", "F", 1},
    {"Compress", 9, "F-", "F", 0},
    {"Concat", 1, "F*", "F", 0},
    {"Concat", 13, "F*", "F", 1},
    {"Constant", 1, "", "F", 0},
    {"Constant", 13, "", "F", 1},
    {"ConstantOfShape", 9, "-", "F", 0},
    {"Conv", 1, "FFF", "F", 0},
    {"ConvInteger", 10, "----", "-", 0},
    {"ConvTranspose", 1, "FFF", "F", 0},
    {"Cos", 7, "F", "F", 0},
    {"Cosh", 9, "F", "F", 0},
    {"CumSum", 11, "--", "-", 0},
    {"CumSum", 14, "F-", "F", 1},
    {"DFT", 17, "F-", "F", 1},
    {"DepthToSpace", 1, "F", "F", 0},
    {"DepthToSpace", 13, "F", "F", 1},
    {"DequantizeLinear", 10, "---", "-", 0},
    {"Det", 11, "F", "F", 0},
    {"Div", 1, "FF", "F", 0},
    {"Div", 13, "FF", "F", 1},
    {"Dropout", 1, "F", "FF", 0},
    {"Dropout", 10, "F", "F-", 0},
    {"Dropout", 12, "FF-", "F-", 0},
    {"DynamicQuantizeLinear", 11, "-", "---", 0},
    {"Einsum", 12, "F*", "F", 0},
    {"Elu", 1, "F", "F", 0},
    {"Equal", 1, "--", "-", 0},
    {"Equal", 11, "FF", "-", 0},
    {"Equal", 13, "FF", "-", 1},
    {"Erf", 9, "F", "F", 0},
    {"Erf", 13, "F", "F", 1},
    {"Exp", 1, "F", "F", 0},
    {"Exp", 13, "F", "F", 1},
    {"Expand", 8, "F-", "F", 0},
    {"Expand", 13, "F-", "F", 1},
    {"EyeLike", 9, "F", "F", 0},
    {"Flatten", 1, "F", "F", 0},
    {"Flatten", 13, "F", "F", 1},
    {"Floor", 1, "F", "F", 0},
    {"Floor", 13, "F", "F", 1},
    {"GRU", 1, "FFFF-F", "FF", 0},
    {"Gather", 1, "F-", "F", 0},
    {"Gather", 13, "F-", "F", 1},
    {"GatherElements", 11, "F-", "F", 0},
    {"GatherElements", 13, "F-", "F", 1},
    {"GatherND", 11, "F-", "F", 0},
    {"GatherND", 13, "F-", "F", 1},
    {"Gelu", 20, "F", "F", 1},
    {"Gemm", 1, "FFF", "F", 0},
    {"Gemm", 13, "FFF", "F", 1},
    {"GlobalAveragePool", 1, "F", "F", 0},
    {"GlobalLpPool", 1, "F", "F", 0},
    {"GlobalMaxPool", 1, "F", "F", 0},
    {"Greater", 1, "FF", "-", 0},
    {"Greater", 13, "FF", "-", 1},
    {"GreaterOrEqual", 12, "FF", "-", 0},
    {"GreaterOrEqual", 16, "FF", "-", 1},
    {"GridSample", 16, "FF", "F", 0},
    {"GroupNormalization", 18, "FFF", "F", 1},
    {"HammingWindow", 17, "-", "F", 1},
    {"HannWindow", 17, "-", "F", 1},
    {"HardSigmoid", 1, "F", "F", 0},
    {"HardSwish", 14, "F", "F", 0},
    {"Hardmax", 1, "F", "F", 0},
    {"Hardmax", 13, "F", "F", 1},
    {"Identity", 1, "F", "F", 0},
    {"Identity", 13, "F", "F", 1},
    {"InstanceNormalization", 1, "FFF", "F", 0},
    {"IsInf", 10, "-", "-", 0},
    {"IsNaN", 9, "F", "-", 0},
    {"IsNaN", 13, "F", "-", 1},
    {"LRN", 1, "F", "F", 0},
    {"LRN", 13, "F", "F", 1},
    {"LSTM", 1, "FFFF-FFF", "FFF", 0},
    {"LayerNormalization", 17, "FFF", "F--", 1},
    {"LeakyRelu", 1, "F", "F", 0},
    {"LeakyRelu", 16, "F", "F", 1},
    {"Less", 1, "FF", "-", 0},
    {"Less", 13, "FF", "-", 1},
    {"LessOrEqual", 12, "FF", "-", 0},
    {"LessOrEqual", 16, "FF", "-", 1},
    {"Log", 1, "F", "F", 0},
    {"Log", 13, "F", "F", 1},
    {"LogSoftmax", 1, "F", "F", 0},
    {"LogSoftmax", 13, "F", "F", 1},
    {"LpNormalization", 1, "F", "F", 0},
    {"LpPool", 1, "F", "F", 0},
    {"MatMul", 1, "FF", "F", 0},
    {"MatMul", 13, "FF", "F", 1},
    {"MatMulInteger", 10, "----", "-", 0},
    {"Max", 1, "F*", "F", 0},
    {"Max", 13, "F*", "F", 1},
    {"MaxPool", 1, "F", "F", 0},
    {"MaxPool", 8, "F", "F-", 0},
    {"MaxRoiPool", 1, "FF", "F", 0},
    {"MaxUnpool", 9, "F--", "F", 0},
    {"Mean", 1, "F*", "F", 0},
    {"Mean", 13, "F*", "F", 1},
    {"MeanVarianceNormalization", 9, "F", "F", 0},
    {"MeanVarianceNormalization", 13, "F", "F", 1},
    {"MelWeightMatrix", 17, "---FF", "F", 1},
    {"Min", 1, "F*", "F", 0},
    {"Min", 13, "F*", "F", 1},
    {"Mish", 18, "F", "F", 0},
    {"Mod", 10, "FF", "F", 0},
    {"Mod", 13, "FF", "F", 1},
    {"Mul", 1, "FF", "F", 0},
    {"Mul", 13, "FF", "F", 1},
    {"Neg", 1, "F", "F", 0},
    {"Neg", 13, "F", "F", 1},
    {"NegativeLogLikelihoodLoss", 12, "F-F", "F", 0},
    {"NonMaxSuppression", 10, "-----", "-", 0},
    {"NonZero", 9, "F", "-", 0},
    {"NonZero", 13, "F", "-", 1},
    {"Not", 1, "-", "-", 0},
    {"OneHot", 9, "FFF", "F", 0},
    {"Or", 1, "--", "-", 0},
    {"PRelu", 1, "FF", "F", 0},
    {"PRelu", 16, "FF", "F", 1},
    {"Pad", 1, "F", "F", 0},
    {"Pad", 11, "F-F", "F", 0},
    {"Pad", 13, "F-F", "F", 1},
    {"Pow", 1, "FF", "F", 0},
    {"Pow", 15, "FF", "F", 1},
    {"QLinearConv", 10, "---------", "-", 0},
    {"QLinearMatMul", 10, "--------", "-", 0},
    {"QuantizeLinear", 10, "---", "-", 0},
    {"RNN", 1, "FFFF-F", "FF", 0},
    {"Range", 11, "---", "-", 0},
    {"Reciprocal", 1, "F", "F", 0},
    {"Reciprocal", 13, "F", "F", 1},
    {"ReduceL1", 1, "F", "F", 0},
    {"ReduceL1", 13, "F", "F", 1},
    {"ReduceL2", 1, "F", "F", 0},
    {"ReduceL2", 13, "F", "F", 1},
    {"ReduceLogSum", 1, "F", "F", 0},
    {"ReduceLogSum", 13, "F", "F", 1},
    {"ReduceLogSumExp", 1, "F", "F", 0},
    {"ReduceLogSumExp", 13, "F", "F", 1},
    {"ReduceMax", 1, "F", "F", 0},
    {"ReduceMax", 13, "F", "F", 1},
    {"ReduceMean", 1, "F", "F", 0},
    {"ReduceMean", 13, "F", "F", 1},
    {"ReduceMin", 1, "F", "F", 0},
    {"ReduceMin", 13, "F", "F", 1},
    {"ReduceProd", 1, "F", "F", 0},
    {"ReduceProd", 13, "F", "F", 1},
    {"ReduceSum", 1, "F", "F", 0},
    {"ReduceSum", 13, "F-", "F", 1},
    {"ReduceSumSquare", 1, "F", "F", 0},
    {"ReduceSumSquare", 13, "F", "F", 1},
    {"Relu", 1, "F", "F", 0},
    {"Relu", 13, "F", "F", 1},
    {"Reshape", 1, "F", "F", 0},
    {"Reshape", 5, "F-", "F", 0},
    {"Reshape", 13, "F-", "F", 1},
    {"Resize", 10, "F-", "F", 0},
    {"Resize", 11, "FF--", "F", 0},
    {"ReverseSequence", 10, "F-", "F", 0},
    {"RoiAlign", 10, "FF-", "F", 0},
    {"Round", 11, "F", "F", 0},
    {"STFT", 17, "F-F-", "F", 1},
    {"Scatter", 9, "F-F", "F", 0},
    {"ScatterElements", 11, "F-F", "F", 0},
    {"ScatterElements", 13, "F-F", "F", 1},
    {"ScatterND", 11, "F-F", "F", 0},
    {"ScatterND", 13, "F-F", "F", 1},
    {"Selu", 1, "F", "F", 0},
    {"Shape", 1, "F", "-", 0},
    {"Shape", 13, "F", "-", 1},
    {"Shrink", 9, "F", "F", 0},
    {"Sigmoid", 1, "F", "F", 0},
    {"Sigmoid", 13, "F", "F", 1},
    {"Sign", 9, "F", "F", 0},
    {"Sign", 13, "F", "F", 1},
    {"SimplifiedLayerNormalization", 1, "FF", "F-", 0},
    {"Sin", 7, "F", "F", 0},
    {"Sinh", 9, "F", "F", 0},
    {"Size", 1, "F", "-", 0},
    {"Size", 13, "F", "-", 1},
    {"Slice", 1, "F", "F", 0},
    {"Slice", 10, "F----", "F", 0},
    {"Slice", 13, "F----", "F", 1},
    {"Softmax", 1, "F", "F", 0},
    {"Softmax", 13, "F", "F", 1},
    {"SoftmaxCrossEntropyLoss", 12, "F-F", "FF", 0},
    {"SoftmaxCrossEntropyLoss", 13, "F-F", "FF", 1},
    {"Softplus", 1, "F", "F", 0},
    {"Softsign", 1, "F", "F", 0},
    {"SpaceToDepth", 1, "F", "F", 0},
    {"SpaceToDepth", 13, "F", "F", 1},
    {"Split", 1, "FF", "F*", 0},
    {"Split", 2, "F", "F*", 0},
    {"Split", 13, "F-", "F*", 1},
    {"Sqrt", 1, "F", "F", 0},
    {"Sqrt", 13, "F", "F", 1},
    {"Squeeze", 1, "F", "F", 0},
    {"Squeeze", 13, "F-", "F", 1},
    {"Sub", 1, "FF", "F", 0},
    {"Sub", 13, "FF", "F", 1},
    {"Sum", 1, "F*", "F", 0},
    {"Sum", 13, "F*", "F", 1},
    {"Tan", 7, "F", "F", 0},
    {"Tanh", 1, "F", "F", 0},
    {"Tanh", 13, "F", "F", 1},
    {"ThresholdedRelu", 10, "F", "F", 0},
    {"Tile", 1, "FFF", "F", 0},
    {"Tile", 6, "F-", "F", 0},
    {"Tile", 13, "F-", "F", 1},
    {"TopK", 1, "F", "F-", 0},
    {"TopK", 10, "F-", "F-", 0},
    {"Transpose", 1, "F", "F", 0},
    {"Transpose", 13, "F", "F", 1},
    {"Trilu", 14, "F-", "F", 1},
    {"Unique", 11, "F", "F---", 0},
    {"Unsqueeze", 1, "F", "F", 0},
    {"Unsqueeze", 13, "F-", "F", 1},
    {"Upsample", 1, "F", "F", 0},
    {"Upsample", 9, "F-", "F", 0},
    {"Where", 9, "-FF", "F", 0},
    {"Where", 16, "-FF", "F", 1},
    {"Xor", 1, "--", "-", 0},
};

/* ONNX Runtime's com.microsoft ops the runtime runs (their float types are
 * float and float16; the normalizations' mean/inv_std outputs are float). */
static const fp16_row ms_rows[] = {
    {"BiasGelu", 1, "FF", "F", 0},
    {"FastGelu", 1, "FF", "F", 0},
    {"FusedConv", 1, "FFFF", "F", 0},
    {"FusedMatMul", 1, "FF", "F", 0},
    {"Gelu", 1, "F", "F", 0},
    {"LayerNormalization", 1, "FFF", "F--", 0},
    {"QuickGelu", 1, "F", "F", 0},
    {"SimplifiedLayerNormalization", 1, "FF", "F-", 0},
    {"SkipLayerNormalization", 1, "FFFFF", "F--F", 0},
    {"SkipSimplifiedLayerNormalization", 1, "FFFF", "F--F", 0},
};

static int is_onnx_domain(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

static const fp16_row *find_row(const fp16_row *rows, size_t n,
                                const char *op_type, int64_t opset)
{
    const fp16_row *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].op_type, op_type) == 0 && rows[i].since <= opset &&
            (!best || rows[i].since > best->since))
            best = &rows[i];
    return best;
}

int oq_fp16_op_ports(const char *domain, const char *op_type, int64_t opset,
                     const char **in, const char **out, int *bf16)
{
    const fp16_row *r = NULL;
    if (!op_type)
        return 0;
    if (is_onnx_domain(domain))
        r = find_row(onnx_rows, sizeof onnx_rows / sizeof onnx_rows[0],
                     op_type, opset);
    else if (strcmp(domain, "com.microsoft") == 0)
        r = find_row(ms_rows, sizeof ms_rows / sizeof ms_rows[0], op_type,
                     opset);
    if (!r)
        return 0;
    *in = r->in;
    *out = r->out;
    *bf16 = r->bf16;
    return 1;
}

char oq_fp16_port_kind(const char *spec, size_t i)
{
    size_t n = strlen(spec);
    if (n && spec[n - 1] == '*') {
        if (n == 1)
            return '-';
        return i < n - 1 ? spec[i] : spec[n - 2];
    }
    return i < n ? spec[i] : '-';
}

/* onnxconverter-common's DEFAULT_OP_BLOCK_LIST (ai.onnx.ml ops with no
 * float16 form, RandomUniformLike), the ops the user's script adds (their
 * float16 kernels are missing or unreliable in ONNX Runtime, or their
 * index/coordinate arithmetic is not safe in float16), the quantization
 * ops, whose scales must stay exact, and MeanVarianceNormalization. */
const char *const onnxq_fp16_default_block_list[] = {
    "ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper",
    "DictVectorizer", "FeatureVectorizer", "Imputer", "LabelEncoder",
    "LinearClassifier", "LinearRegressor", "Normalizer", "OneHotEncoder",
    "RandomUniformLike", "SVMClassifier", "SVMRegressor", "Scaler",
    "TreeEnsembleClassifier", "TreeEnsembleRegressor", "ZipMap",
    "NonMaxSuppression", "TopK", "RoiAlign", "Resize", "Range", "CumSum",
    "Min", "Max", "Upsample",
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
    /* its function body (which ONNX Runtime runs) adds a float32 epsilon
     * Constant, so a float16 MeanVarianceNormalization does not type-check */
    "MeanVarianceNormalization",
    NULL,
};

/* Ops whose float32 computation has intermediate sums, squares or
 * exponentials that can pass 65504 where their result does not. */
const char *const onnxq_fp16_norm_block_list[] = {
    "LayerNormalization", "SimplifiedLayerNormalization",
    "SkipLayerNormalization", "SkipSimplifiedLayerNormalization",
    "InstanceNormalization", "GroupNormalization",
    "MeanVarianceNormalization", "LpNormalization", "ReduceMean",
    "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceProd", "Softmax", "LogSoftmax", "Pow", "Exp",
    NULL,
};
