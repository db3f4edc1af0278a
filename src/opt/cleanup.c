/*
 * cleanup.c — the cleanup pass: Identity and inference-mode Dropout nodes
 * removed, duplicate initializers merged, dead nodes and unused
 * initializers removed (onnxq_model_remove_dead).
 *
 * Names are the interface of a graph: a graph output keeps its name.  An
 * Identity whose output is a graph output is removed only when its input is
 * an intermediate value of the same graph that nothing else exposes; then
 * the producer is renamed to write the output directly.  Renames follow the
 * name into subgraphs that read it from outer scope.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/tensor.h"
#include "opt_internal.h"
#include "oq_util.h"

typedef struct cleanup_ctx {
    onnxq_model *m;
    onnxq_preprocess_report *r;
} cleanup_ctx;


/* Index of the node of g producing name, SIZE_MAX if none does. */
static size_t producer(const Onnx__GraphProto *g, const char *name,
                       size_t *slot)
{
    for (size_t n = 0; n < g->n_node; n++)
        for (size_t o = 0; o < g->node[n]->n_output; o++)
            if (g->node[n]->output[o] &&
                strcmp(g->node[n]->output[o], name) == 0) {
                if (slot)
                    *slot = o;
                return n;
            }
    return SIZE_MAX;
}


/* A Dropout that passes its input through: not in training mode, and its
 * mask (whose type changed across opsets) read by nothing. */
static int is_passthrough_dropout(const Onnx__GraphProto *g,
                                  const Onnx__NodeProto *n)
{
    if (!oq_opt_is_op(n, "Dropout") || n->n_input < 1 || n->n_output < 1)
        return 0;
    if (n->n_output > 1 && n->output[1] && n->output[1][0] &&
        oq_opt_is_read(g, n->output[1]))
        return 0;
    /* training_mode (opset 12+) must be absent: a constant false would do
     * too, but exporters do not write one */
    if (n->n_input > 2 && n->input[2] && n->input[2][0])
        return 0;
    /* is_test = 0 asked old runtimes for training behaviour */
    const Onnx__AttributeProto *t = oq_opt_attr(n, "is_test");
    if (t && t->i == 0)
        return 0;
    return 1;
}

static onnxq_status remove_identities(Onnx__GraphProto *g, void *user,
                                      onnxq_error *err)
{
    cleanup_ctx *c = user;
    char *dead = calloc(g->n_node + 1, 1);
    if (!dead)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    size_t removed = 0;
    for (size_t n = 0; n < g->n_node; n++) {
        Onnx__NodeProto *node = g->node[n];
        int identity = oq_opt_is_op(node, "Identity") && node->n_input == 1 &&
                       node->n_output == 1;
        int dropout = !identity && is_passthrough_dropout(g, node);
        if (!identity && !dropout)
            continue;
        const char *x = node->input[0], *y = node->output[0];
        if (!x || !x[0] || !y || !y[0])
            continue;
        if (!oq_opt_is_graph_output(g, y)) {
            if (oq_opt_rename_uses(g, y, x, 0) < 0)
                goto oom;
        } else {
            /* y is part of the graph's interface: let x's producer write y,
             * if x is a plain intermediate value of this graph */
            size_t slot, p = producer(g, x, &slot);
            if (p == SIZE_MAX || dead[p] || oq_opt_is_graph_output(g, x) ||
                oq_opt_is_graph_input(g, x))
                continue;
            /* keep our own names alive while renaming: copy them first */
            char *xs = oq_strdup(x), *ys = oq_strdup(y);
            int bad = !xs || !ys || oq_opt_rename_uses(g, xs, ys, 0) < 0 ||
                      oq_opt_set_output(g->node[p], slot, ys);
            free(xs);
            free(ys);
            if (bad)
                goto oom;
        }
        dead[n] = 1;
        removed++;
        if (identity)
            c->r->identities_removed++;
        else
            c->r->dropouts_removed++;
    }
    if (removed)
        oq_opt_remove_nodes(g, dead);
    free(dead);
    return ONNXQ_OK;
oom:
    free(dead);
    return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
}

/* ---- duplicate initializers ------------------------------------------------ */

typedef struct init_key {
    uint64_t hash;
    size_t index;   /* in g->initializer */
    void *bytes;
    size_t size;
} init_key;

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static int same_tensor(const Onnx__TensorProto *a, const init_key *ka,
                       const Onnx__TensorProto *b, const init_key *kb)
{
    if (a->data_type != b->data_type || a->n_dims != b->n_dims ||
        ka->size != kb->size)
        return 0;
    for (size_t i = 0; i < a->n_dims; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return memcmp(ka->bytes, kb->bytes, ka->size) == 0;
}

static onnxq_status merge_duplicates(Onnx__GraphProto *g, void *user,
                                     onnxq_error *err)
{
    cleanup_ctx *c = user;
    size_t n = g->n_initializer;
    if (n < 2)
        return ONNXQ_OK;
    init_key *keys = calloc(n, sizeof *keys);
    char *gone = calloc(n, 1);
    onnxq_status st = ONNXQ_OK;
    if (!keys || !gone) {
        st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        uint64_t bytes;
        keys[i].index = i;
        /* strings, inputs with defaults and outputs keep their identity */
        if (!t->name || !t->name[0] || !onnxq_dtype_size(t->data_type) ||
            oq_opt_is_graph_input(g, t->name) ||
            oq_opt_is_graph_output(g, t->name) ||
            onnxq_tensor_expected_bytes(t, &bytes, NULL) != ONNXQ_OK)
            continue;
        keys[i].bytes = malloc(bytes ? bytes : 1);
        if (!keys[i].bytes) {
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        keys[i].size = bytes;
        if (onnxq_tensor_copy_data(c->m, t, keys[i].bytes, bytes, NULL) !=
            ONNXQ_OK) {
            free(keys[i].bytes);
            keys[i].bytes = NULL;
            continue;
        }
        uint64_t h = fnv1a(&t->data_type, sizeof t->data_type,
                           1469598103934665603ULL);
        h = fnv1a(t->dims, t->n_dims * sizeof *t->dims, h);
        keys[i].hash = fnv1a(keys[i].bytes, bytes, h);
    }
    /* quadratic over equal hashes only; the first of a group is kept, so the
     * result does not depend on anything but the file's order */
    for (size_t i = 0; i < n; i++) {
        if (!keys[i].bytes || gone[i])
            continue;
        for (size_t j = i + 1; j < n; j++) {
            if (!keys[j].bytes || gone[j] || keys[j].hash != keys[i].hash ||
                !same_tensor(g->initializer[i], &keys[i], g->initializer[j],
                             &keys[j]))
                continue;
            if (oq_opt_rename_uses(g, g->initializer[j]->name,
                                   g->initializer[i]->name, 0) < 0) {
                st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                     "out of memory");
                goto done;
            }
            gone[j] = 1;
            c->r->duplicates_merged++;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (gone[i])
            onnx__tensor_proto__free_unpacked(g->initializer[i], NULL);
        else
            g->initializer[k++] = g->initializer[i];
    }
    g->n_initializer = k;
done:
    if (keys)
        for (size_t i = 0; i < n; i++)
            free(keys[i].bytes);
    free(keys);
    free(gone);
    return st;
}

onnxq_status oq_opt_cleanup(onnxq_model *m, onnxq_preprocess_report *r,
                            onnxq_error *err)
{
    cleanup_ctx c = {m, r};
    Onnx__GraphProto *g = onnxq_model_proto(m)->graph;
    onnxq_status st = oq_opt_each_graph(g, remove_identities, &c, err);
    if (st == ONNXQ_OK)
        st = oq_opt_each_graph(g, merge_duplicates, &c, err);
    size_t nodes = 0, inits = 0;
    if (st == ONNXQ_OK)
        st = onnxq_model_remove_dead(m, &nodes, &inits, err);
    r->dead_nodes_removed += nodes;
    r->unused_initializers_removed += inits;
    return st;
}
