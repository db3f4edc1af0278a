/*
 * infer_control.c — inference for If, Loop and Scan, whose bodies are
 * subgraphs inferred through oq_infer_subgraph (they see the outer scope's
 * types).
 *
 *   If    both branches are inferred; an output is what the branches agree
 *         on (oq_ty_merge), or the taken branch's when the condition is
 *         known.
 *   Loop  body inputs (iteration, cond, carried...), outputs (cond,
 *         carried..., scan outputs...).  A carried value may change shape
 *         from one iteration to the next, so the body is inferred again
 *         with each carried type merged with what the body makes of it,
 *         until nothing changes (a few rounds: merging only forgets).  The
 *         final values are that merge (zero iterations give the initial
 *         values); scan outputs get a leading dim, the trip count when it
 *         is certain (M known and the condition never changes).
 *   Scan  (opset 9+) N states then M scan inputs; the body sees each scan
 *         input without its scan axis; scan outputs get the sequence length
 *         inserted at their axis.  States iterate like Loop's.
 */
#include <stdlib.h>
#include <string.h>

#include "infer_internal.h"

enum { MAX_ROUNDS = 6 };

static void free_types(oq_ty *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        oq_ty_clear(&t[i]);
    free(t);
}

/* ---- If ------------------------------------------------------------------ */

static onnxq_status r_if(oq_ictx *c)
{
    oq_ty *then_out = NULL, *else_out = NULL;
    size_t n_then = 0, n_else = 0;
    onnxq_status st = oq_infer_subgraph(c, "then_branch", NULL, 0, &then_out,
                                        &n_then);
    if (st == ONNXQ_OK)
        st = oq_infer_subgraph(c, "else_branch", NULL, 0, &else_out, &n_else);
    const oq_ty *cond = oq_input(c, 0);
    int taken = -1;
    if (cond && cond->n_val == 1 && cond->ival &&
        cond->ival[0].kind == OQ_DIM_VALUE)
        taken = cond->ival[0].v != 0;
    for (size_t o = 0; st == ONNXQ_OK && o < c->n_out; o++) {
        const oq_ty *a = o < n_then ? &then_out[o] : NULL;
        const oq_ty *b = o < n_else ? &else_out[o] : NULL;
        int rc = 0;
        if (taken == 1 && a)
            rc = oq_ty_copy(&c->out[o], a);
        else if (taken == 0 && b)
            rc = oq_ty_copy(&c->out[o], b);
        else if (a && b)
            rc = oq_ty_merge(&c->out[o], a, b);
        if (rc)
            st = oq_inf_oom(c->inf);
    }
    free_types(then_out, n_then);
    free_types(else_out, n_else);
    return st;
}

/* ---- shared by Loop and Scan --------------------------------------------- */

/* Runs the body until the carried types (carried[0..n)) stop changing.
 * body_in[first + i] points at carried[i]; carried output i of the body is
 * its output out_first + i.  On return *outs holds the last body outputs
 * and carried[] the merged types. */
static onnxq_status iterate_body(oq_ictx *c, const char *attr,
                                 const oq_ty **body_in, size_t n_body_in,
                                 oq_ty *carried, size_t first, size_t n,
                                 size_t out_first, oq_ty **outs,
                                 size_t *n_outs)
{
    onnxq_status st = ONNXQ_OK;
    for (size_t i = 0; i < n; i++)
        body_in[first + i] = &carried[i];
    for (int round = 0;; round++) {
        /* the last round forgets every carried shape: whatever the body
         * does then is sound, and the body's final state is too */
        if (round == MAX_ROUNDS)
            for (size_t i = 0; i < n; i++) {
                oq_ty_drop_vals(&carried[i]);
                carried[i].rank = -1;
            }
        free_types(*outs, *n_outs);
        *outs = NULL;
        *n_outs = 0;
        st = oq_infer_subgraph(c, attr, body_in, n_body_in, outs, n_outs);
        if (st != ONNXQ_OK)
            return st;
        int changed = 0;
        for (size_t i = 0; i < n; i++) {
            oq_ty merged;
            oq_ty_init(&merged);
            const oq_ty *o = out_first + i < *n_outs ? &(*outs)[out_first + i]
                                                     : NULL;
            if (o && oq_ty_merge(&merged, &carried[i], o))
                return oq_inf_oom(c->inf);
            /* a carried value keeps its type; only its shape may vary */
            merged.elem = carried[i].elem ? carried[i].elem : o ? o->elem : 0;
            if (!oq_ty_same(&merged, &carried[i]))
                changed = 1;
            oq_ty_clear(&carried[i]);
            carried[i] = merged;
        }
        if (!changed || round == MAX_ROUNDS)
            return ONNXQ_OK;
    }
}

/* 1 if the body's condition output is its condition input, directly or
 * through Identity nodes. */
static int cond_passes_through(const Onnx__GraphProto *b)
{
    const char *in = b->input[1]->name, *name = b->output[0]->name;
    for (int hop = 0; name && in && hop < 8; hop++) {
        if (strcmp(name, in) == 0)
            return 1;
        const Onnx__NodeProto *prod = NULL;
        for (size_t i = 0; i < b->n_node && !prod; i++)
            for (size_t o = 0; o < b->node[i]->n_output; o++)
                if (b->node[i]->output[o] &&
                    strcmp(b->node[i]->output[o], name) == 0)
                    prod = b->node[i];
        if (!prod || !prod->op_type || strcmp(prod->op_type, "Identity") != 0 ||
            prod->n_input != 1 || (prod->domain && prod->domain[0]))
            return 0;
        name = prod->input[0];
    }
    return 0;
}

/* ---- Loop ---------------------------------------------------------------- */

static onnxq_status r_loop(oq_ictx *c)
{
    size_t n_carried = c->n_in > 2 ? c->n_in - 2 : 0;
    size_t n_body_in = 2 + n_carried;
    const oq_ty **body_in = calloc(n_body_in + 1, sizeof *body_in);
    oq_ty *carried = calloc(n_carried + 1, sizeof *carried);
    if (!body_in || !carried) {
        free(body_in);
        free(carried);
        return oq_inf_oom(c->inf);
    }
    oq_ty iter, cond;
    oq_ty_init(&iter);
    oq_ty_init(&cond);
    iter.elem = OQ_T_INT64;
    iter.rank = 0;
    cond.elem = OQ_T_BOOL;
    cond.rank = 0;
    body_in[0] = &iter;
    body_in[1] = &cond;
    onnxq_status st = ONNXQ_OK;
    for (size_t i = 0; i < n_carried; i++) {
        oq_ty_init(&carried[i]);
        const oq_ty *v = oq_input(c, 2 + i);
        /* contents change from one iteration to the next: shape only */
        if (v) {
            carried[i].elem = v->elem;
            oq_ty_copy_shape(&carried[i], v);
        }
    }
    oq_ty *outs = NULL;
    size_t n_outs = 0;
    st = iterate_body(c, "body", body_in, n_body_in, carried, 2, n_carried, 1,
                      &outs, &n_outs);
    /* the trip count is M when nothing can stop the loop early: no initial
     * condition or a true one, and a body condition that passes its input
     * through */
    oq_dim trips = oq_dunk();
    const Onnx__AttributeProto *body = oq_attr_get(c, "body");
    const Onnx__GraphProto *bp = body ? body->g : NULL;
    oq_dim mv[1];
    int m_known = oq_input(c, 0) && oq_in_dims(c, 0, mv, 1) == 1 &&
                  oq_dim_nonneg(&mv[0]);
    const oq_ty *cond0 = oq_input(c, 1);
    int cond_true = !cond0 || (cond0->n_val == 1 && cond0->ival &&
                               oq_dim_is(&cond0->ival[0], 1));
    int passthrough = bp && bp->n_input >= 2 && bp->n_output >= 1 &&
                      cond_passes_through(bp);
    if (m_known && cond_true && passthrough)
        trips = mv[0];
    for (size_t o = 0; st == ONNXQ_OK && o < c->n_out; o++) {
        oq_ty *t = &c->out[o];
        if (o < n_carried) {
            if (oq_ty_copy(t, &carried[o]))
                st = oq_inf_oom(c->inf);
            continue;
        }
        size_t bo = 1 + o; /* body output of this scan output */
        if (bo >= n_outs)
            continue;
        const oq_ty *e = &outs[bo];
        t->elem = e->elem;
        if (e->rank >= 0 && e->rank < OQ_INF_MAX_RANK) {
            t->rank = e->rank + 1;
            t->dims[0] = trips;
            for (int d = 0; d < e->rank; d++)
                t->dims[d + 1] = e->dims[d];
        }
    }
    free_types(outs, n_outs);
    free_types(carried, n_carried);
    free(body_in);
    return st;
}

/* ---- Scan ---------------------------------------------------------------- */

static int64_t attr_at(const oq_ictx *c, const char *name, size_t i)
{
    const int64_t *v;
    long n = oq_attr_is(c, name, &v);
    return n > 0 && i < (size_t)n ? v[i] : 0;
}

static onnxq_status r_scan(oq_ictx *c)
{
    int64_t m = oq_attr_i(c, "num_scan_inputs", 0);
    if (m < 1 || (size_t)m > c->n_in)
        return ONNXQ_OK;
    size_t n_state = c->n_in - (size_t)m;
    const oq_ty **body_in = calloc(c->n_in + 1, sizeof *body_in);
    oq_ty *carried = calloc(n_state + 1, sizeof *carried);
    oq_ty *slices = calloc((size_t)m + 1, sizeof *slices);
    if (!body_in || !carried || !slices) {
        free(body_in);
        free(carried);
        free(slices);
        return oq_inf_oom(c->inf);
    }
    for (size_t i = 0; i < n_state; i++) {
        oq_ty_init(&carried[i]);
        const oq_ty *v = oq_input(c, i);
        if (v) {
            carried[i].elem = v->elem;
            oq_ty_copy_shape(&carried[i], v);
        }
    }
    /* each scan input without its scan axis; the sequence length from the
     * scan axes (they must agree) */
    oq_dim seq = oq_dunk();
    for (int64_t j = 0; j < m; j++) {
        oq_ty *s = &slices[j];
        oq_ty_init(s);
        const oq_ty *x = oq_input(c, n_state + (size_t)j);
        body_in[n_state + (size_t)j] = s;
        if (!x)
            continue;
        s->elem = x->elem;
        if (x->rank < 1)
            continue;
        int a = oq_norm_axis(attr_at(c, "scan_input_axes", (size_t)j), x->rank);
        if (a < 0)
            continue;
        s->rank = 0;
        for (int d = 0; d < x->rank; d++)
            if (d != a)
                s->dims[s->rank++] = x->dims[d];
        if (seq.kind == OQ_DIM_UNKNOWN || (seq.kind == OQ_DIM_SYM &&
                                           x->dims[a].kind == OQ_DIM_VALUE))
            seq = x->dims[a];
    }
    oq_ty *outs = NULL;
    size_t n_outs = 0;
    onnxq_status st = iterate_body(c, "body", body_in, c->n_in, carried, 0,
                                   n_state, 0, &outs, &n_outs);
    for (size_t o = 0; st == ONNXQ_OK && o < c->n_out; o++) {
        oq_ty *t = &c->out[o];
        if (o < n_state) {
            if (oq_ty_copy(t, &carried[o]))
                st = oq_inf_oom(c->inf);
            continue;
        }
        if (o >= n_outs)
            continue;
        const oq_ty *e = &outs[o];
        t->elem = e->elem;
        if (e->rank < 0 || e->rank >= OQ_INF_MAX_RANK)
            continue;
        int a = oq_norm_axis(attr_at(c, "scan_output_axes", o - n_state),
                             e->rank + 1);
        if (a < 0)
            continue;
        t->rank = e->rank + 1;
        for (int d = 0, k = 0; d < t->rank; d++)
            t->dims[d] = d == a ? seq : e->dims[k++];
    }
    free_types(outs, n_outs);
    free_types(carried, n_state);
    free_types(slices, (size_t)m);
    free(body_in);
    return st;
}

const oq_infer_rule oq_infer_control_rules[] = {
    {"", "If", 1, 21, r_if},
    {"", "Loop", 1, 21, r_loop},
    {"", "Scan", 9, 21, r_scan},
    {NULL, NULL, 0, 0, NULL},
};
