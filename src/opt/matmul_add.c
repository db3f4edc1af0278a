/*
 * matmul_add.c — MatMul by a constant followed by Add of a constant bias.
 *
 * Quantizers treat the pair as one linear layer, so it is counted.  It
 * becomes one Gemm(A, B, bias) only when that computes the same thing:
 * A known to be 2-D (Gemm takes matrices; a 3-D activation [batch, seq, K]
 * stays MatMul + Add), B a 2-D float32 initializer, the bias float32 of
 * shape [N] or [1, N] (it broadcasts over rows as Add did), and the
 * MatMul's result read by nothing but the Add.  Gemm with a constant B is
 * left as it is.
 */
#include <stdlib.h>
#include <string.h>

#include "opt_internal.h"
#include "oq_util.h"

enum { T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT };

typedef struct rewrite {
    Onnx__GraphProto *g;
    Onnx__NodeProto *mm, *add;
    size_t bias_input; /* which input of add is the bias */
} rewrite;

typedef struct mm_ctx {
    onnxq_preprocess_report *r;
    int trust_info;
    int64_t opset;
    rewrite *todo;
    size_t n, cap;
} mm_ctx;

/* Rank of a value from its (inferred or declared) type, -1 if unknown. */
static int rank_of(const onnxq_graph *g, const char *name)
{
    const onnxq_value *v = onnxq_graph_resolve(g, name, NULL);
    if (!v)
        return -1;
    if (v->kind == ONNXQ_VALUE_INITIALIZER)
        return (int)v->initializer->n_dims;
    const Onnx__ValueInfoProto *vi = v->info;
    if (!vi || !vi->type ||
        vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !vi->type->tensor_type->shape)
        return -1;
    return (int)vi->type->tensor_type->shape->n_dim;
}

static onnxq_status scan(mm_ctx *c, const onnxq_graph *g, onnxq_error *err)
{
    Onnx__GraphProto *gp = onnxq_graph_proto(g);
    for (size_t n = 0; n < gp->n_node; n++) {
        Onnx__NodeProto *add = gp->node[n];
        if (!oq_opt_is_op(add, "Add") || add->n_input != 2 || add->n_output != 1)
            continue;
        for (size_t k = 0; k < 2; k++) {
            const onnxq_value *x = onnxq_graph_value(g, add->input[k]);
            const onnxq_value *b = onnxq_graph_value(g, add->input[1 - k]);
            if (!x || !b || x->kind != ONNXQ_VALUE_NODE_OUTPUT ||
                b->kind != ONNXQ_VALUE_INITIALIZER || x->is_graph_output ||
                x->n_uses != 1 || oq_opt_is_graph_input(gp, b->name))
                continue;
            Onnx__NodeProto *mm = gp->node[x->producer];
            if (!oq_opt_is_op(mm, "MatMul") || mm->n_input != 2)
                continue;
            const onnxq_value *w = onnxq_graph_value(g, mm->input[1]);
            if (!w || w->kind != ONNXQ_VALUE_INITIALIZER ||
                oq_opt_is_graph_input(gp, w->name))
                continue;
            c->r->matmul_add_found++;
            const Onnx__TensorProto *wt = w->initializer, *bt = b->initializer;
            int bias_ok = bt->data_type == T_FLOAT &&
                          ((bt->n_dims == 1 && wt->n_dims == 2 &&
                            bt->dims[0] == wt->dims[1]) ||
                           (bt->n_dims == 2 && wt->n_dims == 2 &&
                            bt->dims[0] == 1 && bt->dims[1] == wt->dims[1]));
            if (c->opset >= 7 && c->trust_info && wt->data_type == T_FLOAT &&
                wt->n_dims == 2 && bias_ok && rank_of(g, mm->input[0]) == 2) {
                if (oq_grow(&c->todo, &c->cap, c->n + 1, sizeof *c->todo))
                    return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                           "out of memory");
                c->todo[c->n++] = (rewrite){gp, mm, add, 1 - k};
            }
            break;
        }
    }
    for (size_t n = 0; n < gp->n_node; n++)
        for (size_t k = 0; k < onnxq_graph_subgraph_count(g, n); k++) {
            onnxq_status st = scan(c, onnxq_graph_subgraph(g, n, k, NULL), err);
            if (st != ONNXQ_OK)
                return st;
        }
    return ONNXQ_OK;
}

onnxq_status oq_opt_matmul_add(onnxq_model *m, int trust_info,
                               onnxq_preprocess_report *r, onnxq_error *err)
{
    /* ranks come from value_info only when our own inference wrote it */
    mm_ctx c = {r, trust_info, onnxq_model_opset(m, ""), NULL, 0, 0};
    onnxq_graph *g;
    onnxq_status st = onnxq_graph_create(m, &g, err);
    if (st != ONNXQ_OK)
        return st;
    st = scan(&c, g, err);
    /* the view borrows the names the rewrite replaces: edit after it */
    onnxq_graph_destroy(g);
    for (size_t i = 0; i < c.n && st == ONNXQ_OK; i++) {
        rewrite *w = &c.todo[i];
        char *gemm = oq_strdup("Gemm");
        if (!gemm || oq_opt_add_input(w->mm, w->add->input[w->bias_input]) ||
            oq_opt_set_output(w->mm, 0, w->add->output[0])) {
            free(gemm);
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        free(w->mm->op_type);
        w->mm->op_type = gemm;
        char *dead = calloc(w->g->n_node + 1, 1);
        if (!dead) {
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        for (size_t n = 0; n < w->g->n_node; n++)
            dead[n] = w->g->node[n] == w->add;
        oq_opt_remove_nodes(w->g, dead);
        free(dead);
        r->matmul_add_to_gemm++;
    }
    free(c.todo);
    return st;
}
