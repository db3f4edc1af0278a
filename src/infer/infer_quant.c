/*
 * infer_quant.c — inference for the quantization ops: QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, QLinearMatMul, MatMulInteger,
 * QLinearConv, ConvInteger, and the com.microsoft QuantizeLinear,
 * DequantizeLinear, QLinearConv, MatMulIntegerToFloat,
 * DynamicQuantizeMatMul, QGemm, QLinearAdd/Mul/Sigmoid/LeakyRelu/Concat/
 * GlobalAveragePool/AveragePool/Softmax.
 *
 * Output element types follow the runtime (kernels/ref/quant.c), which
 * follows ONNX and ONNX Runtime: a quantized output has its zero point's
 * type (QuantizeLinear without one: output_dtype, else uint8; QLinearMatMul
 * and QLinearConv without one: the input's type); DequantizeLinear gives
 * the scale's type (float before opset 19 allowed float16 scales); integer
 * products are int32; MatMulIntegerToFloat and DynamicQuantizeMatMul give
 * float, QGemm float without y_zero_point.
 */
#include <string.h>

#include "infer_internal.h"

static int32_t elem_of(const oq_ictx *c, size_t i)
{
    const oq_ty *t = oq_input(c, i);
    return t ? t->elem : 0;
}

static onnxq_status r_quantize(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    oq_same_shape(out, oq_input(c, 0));
    const oq_ty *zp = oq_input(c, 2);
    int64_t want = oq_attr_i(c, "output_dtype", 0);
    out->elem = zp ? zp->elem : want ? (int32_t)want : OQ_T_UINT8;
    return ONNXQ_OK;
}

static onnxq_status r_dequantize(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    oq_same_shape(out, oq_input(c, 0));
    out->elem = elem_of(c, 1);
    return ONNXQ_OK;
}

static onnxq_status r_dynamic_quantize(oq_ictx *c)
{
    oq_ty *y = oq_output(c, 0), *s = oq_output(c, 1), *zp = oq_output(c, 2);
    if (y) {
        oq_same_shape(y, oq_input(c, 0));
        y->elem = OQ_T_UINT8;
    }
    if (s) {
        s->elem = OQ_T_FLOAT;
        s->rank = 0;
    }
    if (zp) {
        zp->elem = OQ_T_UINT8;
        zp->rank = 0;
    }
    return ONNXQ_OK;
}

static onnxq_status r_qlinear_matmul(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = oq_input(c, 7) ? elem_of(c, 7) : elem_of(c, 0);
    oq_matmul_shape(c, oq_input(c, 0), oq_input(c, 3), 0, 0, out);
    return ONNXQ_OK;
}

static onnxq_status r_matmul_integer(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = OQ_T_INT32;
    oq_matmul_shape(c, oq_input(c, 0), oq_input(c, 1), 0, 0, out);
    return ONNXQ_OK;
}

static int ms_channels_last(const oq_ictx *c)
{
    return c->node->domain && strcmp(c->node->domain, "com.microsoft") == 0 &&
           oq_attr_i(c, "channels_last", 0) != 0;
}

static onnxq_status r_qlinear_conv(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = oq_input(c, 7) ? elem_of(c, 7) : elem_of(c, 0);
    oq_conv_shape(c, oq_input(c, 0), oq_input(c, 3), ms_channels_last(c), out);
    return ONNXQ_OK;
}

static onnxq_status r_conv_integer(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = OQ_T_INT32;
    oq_conv_shape(c, oq_input(c, 0), oq_input(c, 1), 0, out);
    return ONNXQ_OK;
}

static onnxq_status r_matmul_to_float(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = OQ_T_FLOAT;
    oq_matmul_shape(c, oq_input(c, 0), oq_input(c, 1), 0, 0, out);
    return ONNXQ_OK;
}

static onnxq_status r_qgemm(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *a = oq_input(c, 0), *b = oq_input(c, 3);
    if (!out)
        return ONNXQ_OK;
    out->elem = oq_input(c, 8) ? elem_of(c, 8) : OQ_T_FLOAT;
    int ta = oq_attr_i(c, "transA", 0) != 0, tb = oq_attr_i(c, "transB", 0) != 0;
    out->rank = 2;
    out->dims[0] = a && a->rank == 2 ? a->dims[ta ? 1 : 0] : oq_dunk();
    out->dims[1] = b && b->rank == 2 ? b->dims[tb ? 0 : 1] : oq_dunk();
    return ONNXQ_OK;
}

static onnxq_status r_qlinear_binary(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = elem_of(c, 0);
    const oq_ty *ab[2] = {oq_input(c, 0), oq_input(c, 3)};
    oq_broadcast(c, ab, 2, &out->rank, out->dims);
    return ONNXQ_OK;
}

static onnxq_status r_qlinear_unary(oq_ictx *c)
{
    oq_same_shape(oq_output(c, 0), oq_input(c, 0));
    return ONNXQ_OK;
}

static onnxq_status r_qlinear_concat(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = elem_of(c, 1);
    if (c->n_in < 5 || (c->n_in - 2) % 3)
        return ONNXQ_OK;
    size_t k = (c->n_in - 2) / 3;
    const oq_ty *first = oq_input(c, 2);
    if (!first || first->rank < 0)
        return ONNXQ_OK;
    int axis = oq_norm_axis(oq_attr_i(c, "axis", 0), first->rank);
    if (axis < 0)
        return ONNXQ_OK;
    oq_ty_copy_shape(out, first);
    oq_dim sum = oq_dval(0);
    for (size_t t = 0; t < k; t++) {
        const oq_ty *x = oq_input(c, 2 + 3 * t);
        sum = x && x->rank == first->rank
                  ? oq_dim_add(c->inf, sum, x->dims[axis]) : oq_dunk();
        for (int d = 0; x && x->rank == first->rank && d < x->rank; d++)
            if (d != axis && out->dims[d].kind == OQ_DIM_UNKNOWN)
                out->dims[d] = x->dims[d];
    }
    out->dims[axis] = sum;
    return ONNXQ_OK;
}

static onnxq_status r_qlinear_gap(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    oq_same_shape(out, x);
    int cl = oq_attr_i(c, "channels_last", 0) != 0;
    for (int d = 0; d < x->rank - 2; d++)
        out->dims[(cl ? 1 : 2) + d] = oq_dval(1);
    return ONNXQ_OK;
}

static onnxq_status r_qlinear_avgpool(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    oq_pool_shape(c, x, oq_attr_i(c, "channels_last", 0) != 0, 1, out);
    return ONNXQ_OK;
}

const oq_infer_rule oq_infer_quant_rules[] = {
    {"", "QuantizeLinear", 10, 21, r_quantize},
    {"", "DequantizeLinear", 10, 21, r_dequantize},
    {"", "DynamicQuantizeLinear", 11, 21, r_dynamic_quantize},
    {"", "QLinearMatMul", 10, 21, r_qlinear_matmul},
    {"", "MatMulInteger", 10, 21, r_matmul_integer},
    {"", "QLinearConv", 10, 21, r_qlinear_conv},
    {"", "ConvInteger", 10, 21, r_conv_integer},
    {"com.microsoft", "QuantizeLinear", 1, 1, r_quantize},
    {"com.microsoft", "DequantizeLinear", 1, 1, r_dequantize},
    {"com.microsoft", "QLinearConv", 1, 1, r_qlinear_conv},
    {"com.microsoft", "MatMulIntegerToFloat", 1, 1, r_matmul_to_float},
    {"com.microsoft", "DynamicQuantizeMatMul", 1, 1, r_matmul_to_float},
    {"com.microsoft", "QGemm", 1, 1, r_qgemm},
    {"com.microsoft", "QLinearAdd", 1, 1, r_qlinear_binary},
    {"com.microsoft", "QLinearMul", 1, 1, r_qlinear_binary},
    {"com.microsoft", "QLinearSigmoid", 1, 1, r_qlinear_unary},
    {"com.microsoft", "QLinearLeakyRelu", 1, 1, r_qlinear_unary},
    {"com.microsoft", "QLinearConcat", 1, 1, r_qlinear_concat},
    {"com.microsoft", "QLinearGlobalAveragePool", 1, 1, r_qlinear_gap},
    {"com.microsoft", "QLinearAveragePool", 1, 1, r_qlinear_avgpool},
    {"com.microsoft", "QLinearSoftmax", 1, 1, r_qlinear_unary},
    /* onnxq's own table lookup (rt/fuse_lut.c): y like x */
    {"com.onnxq", "Lookup8", 1, 1, r_qlinear_unary},
    {NULL, NULL, 0, 0, NULL},
};
