/*
 * infer_check.h — checks inferred types against what the runtime produces
 * (shared by the test programs of tests/infer).
 *
 * After onnxq_infer_model, every value's inferred type is in a graph's
 * value_info (intermediates) or outputs (filled in when stripped first).
 * ic_collect gathers them by name from every graph; a run of the runtime
 * with ic_observe as observer then compares each tensor the runtime makes:
 *   - a known element type must equal the tensor's;
 *   - a known rank must equal its rank; a dim_value must equal its dim;
 *   - a dim_param is bound to the first size seen for it in the run, and
 *     every later use must agree; when it is an expression over the graph
 *     inputs' names (onnxq_infer_dim_eval) it must evaluate to the size.
 * Any disagreement is a contradiction, printed with the value's name.
 */
#ifndef INFER_CHECK_H
#define INFER_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/infer.h"
#include "onnxq/model.h"
#include "onnxq/runtime.h"
#include "onnxq/tensor.h"

typedef struct ic_entry {
    const char *name;                    /* borrowed from the model */
    const Onnx__TypeProto__Tensor *type; /* NULL: ambiguous or not tensor */
} ic_entry;

typedef struct ic_binding {
    const char *param;
    int64_t value;
} ic_binding;

typedef struct ic_counts {
    size_t observed;     /* tensors the runtime produced */
    size_t no_type;      /* ... with no inferred type */
    size_t types_ok;     /* ... whose type matched */
    size_t ranks_ok;     /* ... whose known rank matched */
    size_t no_rank;      /* ... with a type but unknown rank */
    size_t dims_ok;      /* known dims equal to the runtime's */
    size_t sym_ok;       /* symbolic dims consistent (and evaluated ok) */
    size_t sym_eval_ok;  /* ... of which evaluated from the inputs */
    size_t dims_unknown; /* dims left unknown */
    size_t contradictions;
} ic_counts;

typedef struct ic_state {
    ic_entry *entries;
    size_t n, cap;
    ic_binding *bind;
    size_t n_bind, cap_bind;
    const char **in_names;  /* graph inputs' dim_params */
    int64_t *in_values;
    size_t n_in;
    ic_counts *counts;
    const char *label;      /* for messages */
    int verbose;
    int quiet_limit;        /* contradictions printed */
} ic_state;

static inline void ic_add(ic_state *s, const char *name,
                   const Onnx__TypeProto__Tensor *t)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->entries[i].name, name) == 0) {
            s->entries[i].type = NULL; /* one name in two graphs */
            return;
        }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->entries = realloc(s->entries, s->cap * sizeof *s->entries);
    }
    s->entries[s->n++] = (ic_entry){name, t};
}

static inline const Onnx__TypeProto__Tensor *tensor_type_of(const Onnx__ValueInfoProto *vi)
{
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return NULL;
    return vi->type->tensor_type;
}

/* Every value_info and output of g and its subgraphs. */
static inline void ic_collect(ic_state *s, const Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_value_info; i++)
        if (g->value_info[i]->name)
            ic_add(s, g->value_info[i]->name, tensor_type_of(g->value_info[i]));
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i]->name)
            ic_add(s, g->output[i]->name, tensor_type_of(g->output[i]));
    for (size_t n = 0; n < g->n_node; n++)
        for (size_t a = 0; a < g->node[n]->n_attribute; a++) {
            const Onnx__AttributeProto *at = g->node[n]->attribute[a];
            if (at->g)
                ic_collect(s, at->g);
            for (size_t k = 0; k < at->n_graphs; k++)
                ic_collect(s, at->graphs[k]);
        }
}

/* Removes what outputs declare (element type and shape) in g and its
 * subgraphs, so that what is there after inference is inferred. */
static inline void ic_strip_outputs(Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_output; i++) {
        Onnx__ValueInfoProto *vi = g->output[i];
        if (vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
            vi->type->tensor_type) {
            Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
            tt->elem_type = 0;
            tt->has_elem_type = 0;
            if (tt->shape) {
                onnx__tensor_shape_proto__free_unpacked(tt->shape, NULL);
                tt->shape = NULL;
            }
        }
    }
    for (size_t n = 0; n < g->n_node; n++)
        for (size_t a = 0; a < g->node[n]->n_attribute; a++) {
            Onnx__AttributeProto *at = g->node[n]->attribute[a];
            if (at->g)
                ic_strip_outputs(at->g);
            for (size_t k = 0; k < at->n_graphs; k++)
                ic_strip_outputs(at->graphs[k]);
        }
}

/* Binds the graph inputs' symbolic dims to the inputs' sizes. */
static inline void ic_bind_inputs(ic_state *s, const Onnx__GraphProto *g,
                           const onnxq_tensor *ins, size_t n_ins,
                           const char *const *input_names)
{
    s->n_in = 0;
    for (size_t k = 0; k < n_ins; k++) {
        const Onnx__ValueInfoProto *vi = NULL;
        for (size_t i = 0; i < g->n_input; i++)
            if (strcmp(g->input[i]->name, input_names[k]) == 0)
                vi = g->input[i];
        const Onnx__TypeProto__Tensor *tt = vi ? tensor_type_of(vi) : NULL;
        if (!tt || !tt->shape || (int)tt->shape->n_dim != ins[k].rank)
            continue;
        for (size_t d = 0; d < tt->shape->n_dim; d++) {
            const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
            if (dim->value_case !=
                    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ||
                !dim->dim_param)
                continue;
            s->in_names = realloc(s->in_names, (s->n_in + 1) * sizeof *s->in_names);
            s->in_values = realloc(s->in_values, (s->n_in + 1) * sizeof *s->in_values);
            s->in_names[s->n_in] = dim->dim_param;
            s->in_values[s->n_in++] = ins[k].dims[d];
        }
    }
    s->n_bind = 0;
}

static inline void ic_contradiction(ic_state *s, const char *name, const char *fmt,
                             const char *detail)
{
    s->counts->contradictions++;
    if (s->quiet_limit-- > 0)
        printf("CONTRADICTION %s: '%s': %s%s\n", s->label, name, fmt, detail);
}

static inline int ic_observe(void *user, const char *name, const onnxq_tensor *t)
{
    ic_state *s = user;
    ic_counts *c = s->counts;
    c->observed++;
    const ic_entry *e = NULL;
    for (size_t i = 0; i < s->n && !e; i++)
        if (strcmp(s->entries[i].name, name) == 0)
            e = &s->entries[i];
    if (!e || !e->type || !e->type->has_elem_type || !e->type->elem_type) {
        c->no_type++;
        if (s->verbose)
            printf("NO TYPE %s: '%s'\n", s->label, name);
        return 0;
    }
    const Onnx__TypeProto__Tensor *tt = e->type;
    char msg[256];
    if (tt->elem_type != t->dtype) {
        snprintf(msg, sizeof msg, "%s vs runtime %s",
                 onnxq_dtype_name(tt->elem_type), onnxq_dtype_name(t->dtype));
        ic_contradiction(s, name, "type ", msg);
        return 0;
    }
    c->types_ok++;
    if (!tt->shape) {
        c->no_rank++;
        if (s->verbose)
            printf("NO SHAPE %s: '%s'\n", s->label, name);
        return 0;
    }
    if ((int)tt->shape->n_dim != t->rank) {
        snprintf(msg, sizeof msg, "%zu vs runtime %d", tt->shape->n_dim,
                 t->rank);
        ic_contradiction(s, name, "rank ", msg);
        return 0;
    }
    c->ranks_ok++;
    for (int d = 0; d < t->rank; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        int64_t got = t->dims[d];
        if (dim->value_case ==
            ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value == got) {
                c->dims_ok++;
            } else {
                snprintf(msg, sizeof msg, "%d is %lld, runtime %lld", d,
                         (long long)dim->dim_value, (long long)got);
                ic_contradiction(s, name, "dim ", msg);
            }
        } else if (dim->value_case ==
                   ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) {
            const char *p = dim->dim_param;
            int ok = 1, evaluated = 0;
            int64_t want;
            if (onnxq_infer_dim_eval(p, s->in_names, s->in_values, s->n_in,
                                     &want) == 0) {
                evaluated = 1;
                ok = want == got;
            }
            size_t b = 0;
            while (b < s->n_bind && strcmp(s->bind[b].param, p) != 0)
                b++;
            if (b == s->n_bind) {
                if (s->n_bind == s->cap_bind) {
                    s->cap_bind = s->cap_bind ? 2 * s->cap_bind : 32;
                    s->bind = realloc(s->bind, s->cap_bind * sizeof *s->bind);
                }
                s->bind[s->n_bind++] = (ic_binding){p, got};
            } else if (s->bind[b].value != got) {
                ok = 0;
            }
            if (ok) {
                c->sym_ok++;
                c->sym_eval_ok += evaluated;
            } else {
                snprintf(msg, sizeof msg, "%d is '%s' = %lld, runtime %lld", d,
                         p, (long long)(evaluated ? want : s->bind[b].value),
                         (long long)got);
                ic_contradiction(s, name, "dim ", msg);
            }
        } else {
            c->dims_unknown++;
            if (s->verbose)
                printf("UNKNOWN DIM %s: '%s' dim %d (%lld)\n", s->label, name,
                       d, (long long)got);
        }
    }
    return 0;
}

static inline void ic_free(ic_state *s)
{
    free(s->entries);
    free(s->bind);
    free(s->in_names);
    free(s->in_values);
    memset(s, 0, sizeof *s);
}

#endif
