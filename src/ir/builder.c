/* builder.c — constructors for ONNX protos (see onnxq/builder.h).  Every
 * part is malloc'd so protobuf-c's free_unpacked frees a built model. */
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

/* Appends p to the pointer array *arr of *n elements (exact-size realloc:
 * built models are small and this keeps free_unpacked's view simple). */
static int append(void *arr, size_t *n, void *p)
{
    void **a = realloc(*(void ***)arr, (*n + 1) * sizeof *a);
    if (!a)
        return -1;
    a[(*n)++] = p;
    *(void ***)arr = a;
    return 0;
}

Onnx__ModelProto *onnxq_build_model(int64_t opset)
{
    Onnx__ModelProto *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->producer_name = oq_strdup("onnxq");
    m->graph = onnxq_build_graph("main");
    if (!m->producer_name || !m->graph || !onnxq_build_opset(m, "", opset)) {
        onnx__model_proto__free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

Onnx__OperatorSetIdProto *onnxq_build_opset(Onnx__ModelProto *m,
                                            const char *domain,
                                            int64_t version)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (strcmp(o->domain ? o->domain : "", domain) == 0) {
            o->version = version;
            o->has_version = 1;
            return o;
        }
    }
    Onnx__OperatorSetIdProto *o = malloc(sizeof *o);
    if (!o)
        return NULL;
    onnx__operator_set_id_proto__init(o);
    o->domain = oq_strdup(domain);
    o->has_version = 1;
    o->version = version;
    if (!o->domain || append(&m->opset_import, &m->n_opset_import, o)) {
        onnx__operator_set_id_proto__free_unpacked(o, NULL);
        return NULL;
    }
    return o;
}

Onnx__GraphProto *onnxq_build_graph(const char *name)
{
    Onnx__GraphProto *g = malloc(sizeof *g);
    if (!g)
        return NULL;
    onnx__graph_proto__init(g);
    g->name = oq_strdup(name);
    if (!g->name) {
        free(g);
        return NULL;
    }
    return g;
}

static Onnx__ValueInfoProto *make_value_info(const char *name,
                                             int32_t elem_type, int ndims,
                                             const int64_t *dims,
                                             const char *const *dim_params)
{
    Onnx__ValueInfoProto *vi = malloc(sizeof *vi);
    Onnx__TypeProto *tp = malloc(sizeof *tp);
    Onnx__TypeProto__Tensor *tt = malloc(sizeof *tt);
    if (!vi || !tp || !tt) {
        free(vi);
        free(tp);
        free(tt);
        return NULL;
    }
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    vi->name = oq_strdup(name);
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = elem_type;
    if (!vi->name)
        goto fail;
    if (ndims >= 0) {
        Onnx__TensorShapeProto *sh = malloc(sizeof *sh);
        if (!sh)
            goto fail;
        onnx__tensor_shape_proto__init(sh);
        tt->shape = sh;
        for (int i = 0; i < ndims; i++) {
            Onnx__TensorShapeProto__Dimension *d = malloc(sizeof *d);
            if (!d)
                goto fail;
            onnx__tensor_shape_proto__dimension__init(d);
            if (append(&sh->dim, &sh->n_dim, d)) {
                free(d);
                goto fail;
            }
            if (dims[i] >= 0) {
                d->value_case =
                    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = dims[i];
            } else if (dim_params && dim_params[i]) {
                d->value_case =
                    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = oq_strdup(dim_params[i]);
                if (!d->dim_param)
                    goto fail;
            }
        }
    }
    return vi;
fail:
    onnx__value_info_proto__free_unpacked(vi, NULL);
    return NULL;
}

static Onnx__ValueInfoProto *add_vi(Onnx__ValueInfoProto ***arr, size_t *n,
                                    const char *name, int32_t elem_type,
                                    int ndims, const int64_t *dims,
                                    const char *const *dim_params)
{
    Onnx__ValueInfoProto *vi =
        make_value_info(name, elem_type, ndims, dims, dim_params);
    if (vi && append(arr, n, vi)) {
        onnx__value_info_proto__free_unpacked(vi, NULL);
        return NULL;
    }
    return vi;
}

Onnx__ValueInfoProto *onnxq_build_input(Onnx__GraphProto *g, const char *name,
                                        int32_t elem_type, int ndims,
                                        const int64_t *dims,
                                        const char *const *dim_params)
{
    return add_vi(&g->input, &g->n_input, name, elem_type, ndims, dims,
                  dim_params);
}

Onnx__ValueInfoProto *onnxq_build_output(Onnx__GraphProto *g, const char *name,
                                         int32_t elem_type, int ndims,
                                         const int64_t *dims,
                                         const char *const *dim_params)
{
    return add_vi(&g->output, &g->n_output, name, elem_type, ndims, dims,
                  dim_params);
}

Onnx__ValueInfoProto *onnxq_build_value_info(Onnx__GraphProto *g,
                                             const char *name,
                                             int32_t elem_type, int ndims,
                                             const int64_t *dims,
                                             const char *const *dim_params)
{
    return add_vi(&g->value_info, &g->n_value_info, name, elem_type, ndims,
                  dims, dim_params);
}

Onnx__TensorProto *onnxq_build_tensor(const char *name, int32_t dtype,
                                      size_t ndims, const int64_t *dims,
                                      const void *data)
{
    uint64_t numel;
    size_t es = onnxq_dtype_size(dtype);
    if (!es || onnxq_shape_numel(dims, ndims, &numel) ||
        numel > SIZE_MAX / es)
        return NULL;
    Onnx__TensorProto *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    onnx__tensor_proto__init(t);
    t->name = oq_strdup(name ? name : "");
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = ndims;
    t->dims = malloc((ndims ? ndims : 1) * sizeof *t->dims);
    t->has_raw_data = 1;
    t->raw_data.len = (size_t)numel * es;
    t->raw_data.data = malloc(t->raw_data.len ? t->raw_data.len : 1);
    if (!t->name || !t->dims || !t->raw_data.data) {
        onnx__tensor_proto__free_unpacked(t, NULL);
        return NULL;
    }
    if (ndims)
        memcpy(t->dims, dims, ndims * sizeof *dims);
    if (t->raw_data.len && data)
        memcpy(t->raw_data.data, data, t->raw_data.len);
    else if (t->raw_data.len)
        memset(t->raw_data.data, 0, t->raw_data.len);
    return t;
}

Onnx__TensorProto *onnxq_build_initializer(Onnx__GraphProto *g,
                                           const char *name, int32_t dtype,
                                           size_t ndims, const int64_t *dims,
                                           const void *data)
{
    Onnx__TensorProto *t = onnxq_build_tensor(name, dtype, ndims, dims, data);
    if (t && append(&g->initializer, &g->n_initializer, t)) {
        onnx__tensor_proto__free_unpacked(t, NULL);
        return NULL;
    }
    return t;
}

static int copy_names(char ***dst, size_t *n, const char *const *src,
                      size_t count)
{
    if (!count)
        return 0;
    *dst = calloc(count, sizeof **dst);
    if (!*dst)
        return -1;
    *n = count;
    for (size_t i = 0; i < count; i++)
        if (!((*dst)[i] = oq_strdup(src[i] ? src[i] : "")))
            return -1;
    return 0;
}

Onnx__NodeProto *onnxq_build_node(Onnx__GraphProto *g, const char *op_type,
                                  const char *name, const char *const *inputs,
                                  size_t n_inputs, const char *const *outputs,
                                  size_t n_outputs)
{
    Onnx__NodeProto *n = malloc(sizeof *n);
    if (!n)
        return NULL;
    onnx__node_proto__init(n);
    n->op_type = oq_strdup(op_type);
    if (name)
        n->name = oq_strdup(name);
    if (!n->op_type || (name && !n->name) ||
        copy_names(&n->input, &n->n_input, inputs, n_inputs) ||
        copy_names(&n->output, &n->n_output, outputs, n_outputs) ||
        append(&g->node, &g->n_node, n)) {
        onnx__node_proto__free_unpacked(n, NULL);
        return NULL;
    }
    return n;
}

int onnxq_build_node_domain(Onnx__NodeProto *node, const char *domain)
{
    char *d = oq_strdup(domain);
    if (!d)
        return -1;
    free(node->domain);
    node->domain = d;
    return 0;
}

static Onnx__AttributeProto *new_attr(Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = oq_strdup(name);
    a->has_type = 1;
    a->type = type;
    if (!a->name || append(&n->attribute, &n->n_attribute, a)) {
        onnx__attribute_proto__free_unpacked(a, NULL);
        return NULL;
    }
    return a;
}

Onnx__AttributeProto *onnxq_build_attr_int(Onnx__NodeProto *n,
                                           const char *name, int64_t v)
{
    Onnx__AttributeProto *a =
        new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = 1;
        a->i = v;
    }
    return a;
}

Onnx__AttributeProto *onnxq_build_attr_float(Onnx__NodeProto *n,
                                             const char *name, float v)
{
    Onnx__AttributeProto *a =
        new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = 1;
        a->f = v;
    }
    return a;
}

Onnx__AttributeProto *onnxq_build_attr_string(Onnx__NodeProto *n,
                                              const char *name, const char *v)
{
    size_t len = strlen(v);
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return NULL;
    Onnx__AttributeProto *a =
        new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    if (!a) {
        free(copy);
        return NULL;
    }
    memcpy(copy, v, len);
    a->has_s = 1;
    a->s.data = copy;
    a->s.len = len;
    return a;
}

Onnx__AttributeProto *onnxq_build_attr_ints(Onnx__NodeProto *n,
                                            const char *name,
                                            const int64_t *v, size_t count)
{
    int64_t *copy = malloc((count ? count : 1) * sizeof *copy);
    if (!copy)
        return NULL;
    Onnx__AttributeProto *a =
        new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    if (!a) {
        free(copy);
        return NULL;
    }
    if (count)
        memcpy(copy, v, count * sizeof *copy);
    a->ints = copy;
    a->n_ints = count;
    return a;
}

Onnx__AttributeProto *onnxq_build_attr_floats(Onnx__NodeProto *n,
                                              const char *name,
                                              const float *v, size_t count)
{
    float *copy = malloc((count ? count : 1) * sizeof *copy);
    if (!copy)
        return NULL;
    Onnx__AttributeProto *a =
        new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    if (!a) {
        free(copy);
        return NULL;
    }
    if (count)
        memcpy(copy, v, count * sizeof *copy);
    a->floats = copy;
    a->n_floats = count;
    return a;
}

Onnx__AttributeProto *onnxq_build_attr_tensor(Onnx__NodeProto *n,
                                              const char *name,
                                              Onnx__TensorProto *t)
{
    Onnx__AttributeProto *a =
        new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    if (a)
        a->t = t;
    return a;
}

Onnx__AttributeProto *onnxq_build_attr_graph(Onnx__NodeProto *n,
                                             const char *name,
                                             Onnx__GraphProto *sub)
{
    Onnx__AttributeProto *a =
        new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    if (a)
        a->g = sub;
    return a;
}
