/*
 * opt_internal.h — what the preprocess passes (src/opt/) share: proto
 * edits (attributes, inputs, renames that follow names into subgraphs,
 * node removal) and reading constant tensors as numbers.
 *
 * Passes edit the GraphProto in place and rebuild graph views afterwards;
 * every string and array they put into the proto is malloc'd, so
 * onnxq_model_destroy frees it like a loaded model.
 */
#ifndef OQ_OPT_INTERNAL_H
#define OQ_OPT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/graph.h"
#include "onnxq/opt.h"
#include "strmap.h"

/* Calls fn on g and, depth first, on every subgraph inside it.  Stops at the
 * first non-OK status. */
typedef onnxq_status (*oq_opt_graph_fn)(Onnx__GraphProto *g, void *user,
                                        onnxq_error *err);
onnxq_status oq_opt_each_graph(Onnx__GraphProto *g, oq_opt_graph_fn fn,
                               void *user, onnxq_error *err);

/* 1 for "" and "ai.onnx". */
int oq_opt_onnx_domain(const char *domain);
int oq_opt_is_op(const Onnx__NodeProto *n, const char *op_type);

Onnx__AttributeProto *oq_opt_attr(const Onnx__NodeProto *n, const char *name);
int64_t oq_opt_attr_int(const Onnx__NodeProto *n, const char *name,
                        int64_t dflt);
float oq_opt_attr_float(const Onnx__NodeProto *n, const char *name,
                        float dflt);
/* Removes (and frees) the attribute if present. */
void oq_opt_drop_attr(Onnx__NodeProto *n, const char *name);
/* Sets an int / float attribute, replacing an existing one.  0 or -1 (out
 * of memory). */
int oq_opt_set_attr_int(Onnx__NodeProto *n, const char *name, int64_t v);
int oq_opt_set_attr_float(Onnx__NodeProto *n, const char *name, float v);

/* 1 if name is listed among g's inputs: an initializer of that name is only
 * a default the user may override, so it is not a constant. */
int oq_opt_is_graph_input(const Onnx__GraphProto *g, const char *name);
int oq_opt_is_graph_output(const Onnx__GraphProto *g, const char *name);
/* 1 if g's outputs, its nodes or any subgraph inside them read name. */
int oq_opt_is_read(const Onnx__GraphProto *g, const char *name);

/* Replaces input i (which must exist) by a copy of name. */
int oq_opt_set_input(Onnx__NodeProto *n, size_t i, const char *name);
/* Appends an input (empty string for an omitted one). */
int oq_opt_add_input(Onnx__NodeProto *n, const char *name);
/* Sets output i; truncates the outputs to n_keep (frees the rest). */
int oq_opt_set_output(Onnx__NodeProto *n, size_t i, const char *name);
void oq_opt_truncate_outputs(Onnx__NodeProto *n, size_t n_keep);

/* Replaces every read of `from` by `to` in g's nodes and, following the
 * name into subgraphs, wherever it refers to g's value (a subgraph that
 * defines `from` itself hides it).  Graph outputs of g are renamed only
 * if outputs_too.  Returns the number of replacements, -1 on out of
 * memory. */
long oq_opt_rename_uses(Onnx__GraphProto *g, const char *from, const char *to,
                        int outputs_too);

/* Frees the nodes whose dead[i] is non-zero and closes the gaps. */
void oq_opt_remove_nodes(Onnx__GraphProto *g, const char *dead);

/* Inserts a node (taking ownership) at position `at` (nodes from there on
 * move back one), so a graph stays sorted without the sort pass. */
int oq_opt_insert_node(Onnx__GraphProto *g, size_t at, Onnx__NodeProto *n);

/* A malloc'd copy of t's elements as doubles (float, double, float16,
 * bfloat16 and integer tensors); *n gets the count.  NULL with err set
 * otherwise. */
double *oq_opt_tensor_f64(onnxq_model *m, const Onnx__TensorProto *t,
                          size_t *n, onnxq_error *err);
/* Number of elements of t (-1 if its dims are invalid). */
int64_t oq_opt_numel(const Onnx__TensorProto *t);
/* Replaces a graph initializer's data by float32 values (dims kept). */
int oq_opt_set_f32_data(Onnx__TensorProto *t, const double *v, size_t n);

/* Fresh names: every name of the model (any graph: values and node
 * names) plus those handed out.  Keys are owned copies, so the proto may be
 * edited freely while it lives. */
typedef struct oq_opt_names {
    oq_strmap set;
    char **owned;
    size_t n, cap;
} oq_opt_names;
int oq_opt_names_init(oq_opt_names *nm, const Onnx__GraphProto *main_graph);
/* A name not used anywhere ("prefix", "prefix_1", ...); malloc'd, the
 * caller's.  NULL on out of memory. */
char *oq_opt_names_make(oq_opt_names *nm, const char *prefix);
void oq_opt_names_clear(oq_opt_names *nm);

/* Total nodes and initializers of g and its subgraphs. */
void oq_opt_count(const Onnx__GraphProto *g, size_t *nodes, size_t *inits);

/* ---- the passes (one file per family) ---------------------------------- */
onnxq_status oq_opt_upgrade_opset(onnxq_model *m, int trust_info,
                                  onnxq_preprocess_report *r,
                                  onnxq_error *err);
onnxq_status oq_opt_constants_to_initializers(onnxq_model *m,
                                              onnxq_preprocess_report *r,
                                              onnxq_error *err);
onnxq_status oq_opt_fold_constants(onnxq_model *m,
                                   const onnxq_preprocess_options *o,
                                   onnxq_preprocess_report *r,
                                   onnxq_error *err);
onnxq_status oq_opt_fold_bn(onnxq_model *m, onnxq_preprocess_report *r,
                            onnxq_error *err);
onnxq_status oq_opt_cleanup(onnxq_model *m, onnxq_preprocess_report *r,
                            onnxq_error *err);
onnxq_status oq_opt_matmul_add(onnxq_model *m, int trust_info,
                               onnxq_preprocess_report *r, onnxq_error *err);

#endif
