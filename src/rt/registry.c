/*
 * registry.c — which kernel runs which op: the kernel tables of every
 * family, searched in order (fast kernels first once they exist, reference
 * kernels last), plus the control-flow ops the executor runs itself.
 * onnxq_op_supported (onnxq/ops.h) answers from the same tables, so the
 * checker and the runtime never disagree.
 */
#include <string.h>

#include "onnxq/ops.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "kernels/int8/int8_kernels.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/vec/vec_kernels.h"
#include "kernels/vec/pool_kernels.h"
#include "registry.h"

/* NULL-terminated, fast families first, reference families last. */
static const oq_kernel *const tables[] = {
    oq_ref_rnn_kernels,
    oq_ref_misc_kernels,
    oq_ref_reduce_norm_kernels,
    oq_ref_conv_pool_kernels,
    oq_ref_matmul_kernels,
    oq_ref_resize_kernels,
    oq_ref_shape_kernels,
    oq_ref_quant_kernels,
    oq_ref_loss_signal_kernels,
    oq_ref_attention_kernels,
    oq_ref_elementwise_kernels,
    oq_int8_misc_kernels,    /* com.onnxq Lookup8 (fuse_lut.c's tables) */
    NULL,
};

/* Ops whose subgraphs the executor runs (exec.c). */
static const oq_kernel control_flow[] = {
    {"", "If", 1, 21, NULL},
    {"", "Loop", 1, 21, NULL},
    {"", "Scan", 9, 21, NULL},
    {NULL, NULL, 0, 0, NULL},
};

static int same_domain(const char *a, const char *b)
{
    if (!a || strcmp(a, "ai.onnx") == 0)
        a = "";
    if (!b || strcmp(b, "ai.onnx") == 0)
        b = "";
    return strcmp(a, b) == 0;
}

/* Fast kernels (oneDNN, vectorised paths), NULL-terminated; each may decline
 * a node in its prepare.  kernels/dnnl: float32 Conv, FusedConv,
 * ConvTranspose, MatMul, Gemm. */
static const oq_fast_kernel *const fast_kernels[] = {
    &oq_dnnl_conv,
    &oq_dnnl_fused_conv,
    &oq_dnnl_conv_transpose,
    &oq_dnnl_matmul,
    &oq_dnnl_gemm,
    /* kernels/vec: vectorised float32 elementwise, normalisation, pooling
     * and Resize (nearest) */
    &oq_vec_add,
    &oq_vec_sub,
    &oq_vec_mul,
    &oq_vec_div,
    &oq_vec_relu,
    &oq_vec_leaky_relu,
    &oq_vec_clip,
    &oq_vec_hard_sigmoid,
    &oq_vec_hard_swish,
    &oq_vec_batch_norm,
    &oq_vec_global_average_pool,
    &oq_int8_max_pool,       /* 8-bit; hands the rest to the next */
    &oq_vec_max_pool,        /* kernels/vec/pool.c */
    &oq_vec_average_pool,
    &oq_vec_reduce_mean,
    &oq_int8_resize,         /* 8-bit; hands the rest to the next */
    &oq_vec_resize,
    &oq_vec_sigmoid,
    &oq_vec_softmax,
    &oq_vec_hswish_chain,
    /* kernels/int8: exact integer products (QLinear*, *Integer*, QGemm) */
    &oq_int8_qlinear_conv,
    &oq_int8_qlinear_conv_ms,
    &oq_int8_conv_integer,
    &oq_int8_qlinear_matmul,
    &oq_int8_matmul_integer,
    &oq_int8_matmul_integer_to_float,
    &oq_int8_dynamic_quantize_matmul,
    &oq_int8_qgemm,
    &oq_int8_qlinear_add,
    &oq_int8_quantize_linear,
    &oq_int8_dequantize_linear,
    NULL,
};

const oq_fast_kernel *const *oq_find_fast_kernels(const char *domain,
                                                  const char *op_type,
                                                  int64_t opset, size_t *n)
{
    /* the matching entries are contiguous in the table by convention: one
     * op's candidates are listed together, best first */
    size_t first = 0, count = 0;
    for (size_t i = 0; fast_kernels[i]; i++) {
        const oq_fast_kernel *k = fast_kernels[i];
        if (strcmp(k->op_type, op_type) == 0 && same_domain(k->domain, domain)
            && opset >= k->first_opset && opset <= k->last_opset) {
            if (!count)
                first = i;
            count++;
        }
    }
    *n = count;
    return count ? &fast_kernels[first] : NULL;
}

static const oq_kernel *search(const oq_kernel *table, const char *domain,
                               const char *op_type, int64_t opset)
{
    for (const oq_kernel *k = table; k->op_type; k++)
        if (strcmp(k->op_type, op_type) == 0 && same_domain(k->domain, domain)
            && opset >= k->first_opset && opset <= k->last_opset)
            return k;
    return NULL;
}

const oq_kernel *oq_find_kernel(const char *domain, const char *op_type,
                                int64_t opset, int *is_control_flow)
{
    *is_control_flow = 0;
    if (!op_type)
        return NULL;
    for (size_t t = 0; tables[t]; t++) {
        const oq_kernel *k = search(tables[t], domain, op_type, opset);
        if (k)
            return k;
    }
    const oq_kernel *k = search(control_flow, domain, op_type, opset);
    if (k)
        *is_control_flow = 1;
    return k;
}

int onnxq_op_supported(const char *domain, const char *op_type,
                       int64_t opset_version)
{
    int cf;
    return oq_find_kernel(domain, op_type, opset_version, &cf) != NULL;
}

size_t onnxq_op_count(void)
{
    size_t n = 0;
    for (size_t t = 0; tables[t]; t++)
        for (const oq_kernel *k = tables[t]; k->op_type; k++)
            n++;
    for (const oq_kernel *k = control_flow; k->op_type; k++)
        n++;
    return n;
}
