/*
 * onnxq/graph.h — a graph view over a model's GraphProto.
 *
 * The proto stays the one source of truth; an onnxq_graph is an index built
 * over it: every tensor name with its producer (a node output, a graph input,
 * an initializer or a Constant node), its consumers, and its value_info; the
 * subgraphs held in node attributes (If/Loop/Scan bodies), each with a link
 * to its outer scope so names defined outside resolve there.  After editing
 * the proto, rebuild the view (onnxq_graph_destroy + onnxq_graph_create).
 *
 * Example: find the weight of every Conv, whether it is an initializer or the
 * output of a Constant node (paddle2onnx stores every weight that way):
 *     onnxq_graph *g;
 *     onnxq_graph_create(model, &g, &err);
 *     for (size_t i = 0; i < onnxq_graph_node_count(g); i++) {
 *         const Onnx__NodeProto *n = onnxq_graph_node(g, i);
 *         if (strcmp(n->op_type, "Conv") == 0 && n->n_input > 1) {
 *             const Onnx__TensorProto *w = onnxq_graph_constant(g, n->input[1]);
 *             ...
 *         }
 *     }
 *     onnxq_graph_destroy(g);
 */
#ifndef ONNXQ_GRAPH_H
#define ONNXQ_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct onnxq_graph onnxq_graph;

/* Where a value comes from. */
typedef enum onnxq_value_kind {
    ONNXQ_VALUE_NODE_OUTPUT = 0, /* produced by a node of this graph */
    ONNXQ_VALUE_GRAPH_INPUT,     /* a graph input without initializer */
    ONNXQ_VALUE_INITIALIZER,     /* an initializer (possibly also an input) */
    ONNXQ_VALUE_UNDEFINED        /* used but defined nowhere in this graph */
} onnxq_value_kind;

typedef struct onnxq_use {
    size_t node;  /* index into the graph's nodes */
    size_t input; /* which input of that node; SIZE_MAX for an implicit use
                     from inside one of the node's subgraphs */
} onnxq_use;

typedef struct onnxq_value {
    const char *name;              /* borrowed from the proto */
    onnxq_value_kind kind;
    size_t producer;               /* node index, for NODE_OUTPUT */
    size_t producer_output;        /* which output of that node */
    Onnx__TensorProto *initializer;/* for INITIALIZER */
    Onnx__ValueInfoProto *info;    /* graph input/output or value_info, or NULL */
    int is_graph_output;
    onnxq_use *uses;               /* consumers in this graph, in node order */
    size_t n_uses;
} onnxq_value;

/* Builds the view of the model's main graph (and, recursively, of every
 * subgraph).  The model must outlive the graph.  Duplicate producers of one
 * name are an error naming the tensor and nodes. */
onnxq_status onnxq_graph_create(onnxq_model *model, onnxq_graph **out,
                                onnxq_error *err);
void onnxq_graph_destroy(onnxq_graph *graph); /* NULL is a no-op */

Onnx__GraphProto *onnxq_graph_proto(const onnxq_graph *g);
onnxq_model *onnxq_graph_model(const onnxq_graph *g);
/* The enclosing graph of a subgraph; NULL for the main graph. */
const onnxq_graph *onnxq_graph_outer(const onnxq_graph *g);
/* "main", or the path of a subgraph such as "main/loop_node:body". */
const char *onnxq_graph_path(const onnxq_graph *g);

size_t onnxq_graph_node_count(const onnxq_graph *g);
Onnx__NodeProto *onnxq_graph_node(const onnxq_graph *g, size_t i);
/* The node's name, or "#<index>" if it has none (for messages); borrowed,
 * valid until the next call with the same graph from the same thread. */
const char *onnxq_graph_node_label(const onnxq_graph *g, size_t i);

/* Subgraphs held by node i's attributes, in attribute order. */
size_t onnxq_graph_subgraph_count(const onnxq_graph *g, size_t node);
const onnxq_graph *onnxq_graph_subgraph(const onnxq_graph *g, size_t node,
                                        size_t k, const char **attr_name);

size_t onnxq_graph_value_count(const onnxq_graph *g);
const onnxq_value *onnxq_graph_value_at(const onnxq_graph *g, size_t i);
/* The value of that name in this graph only (NULL if not mentioned here). */
const onnxq_value *onnxq_graph_value(const onnxq_graph *g, const char *name);
/* The value a use of name in g refers to: defined in g, or else in an
 * enclosing graph (outer scope).  *owner (may be NULL) receives the graph that
 * defines it.  NULL if no scope defines it. */
const onnxq_value *onnxq_graph_resolve(const onnxq_graph *g, const char *name,
                                       const onnxq_graph **owner);

/* The constant tensor behind name, seen from g (outer scopes included): an
 * initializer, or the `value` of a Constant node (value_float(s) and
 * value_int(s) are turned into tensors owned by the graph).  NULL if name is
 * not a constant.  Borrowed; lives as long as the graph. */
const Onnx__TensorProto *onnxq_graph_constant(const onnxq_graph *g,
                                              const char *name);

/* Node indices of g in an order where every node comes after the producers
 * of its inputs (stable: already-sorted graphs keep their order).  order
 * must hold node_count entries.  A cycle is an error naming a node on it. */
onnxq_status onnxq_graph_topo_order(const onnxq_graph *g, size_t *order,
                                    onnxq_error *err);

/* 1 if every node of g (not its subgraphs) comes after its producers. */
int onnxq_graph_is_sorted(const onnxq_graph *g, size_t *first_bad_node);

/* ---- edits on the proto (rebuild views afterwards) ---------------------- */

/* Reorders the nodes of every (sub)graph of the model topologically. */
onnxq_status onnxq_model_sort(onnxq_model *model, onnxq_error *err);

/* Removes nodes (in every graph) whose outputs reach no graph output, and
 * initializers nothing uses.  *removed_nodes / *removed_inits may be NULL. */
onnxq_status onnxq_model_remove_dead(onnxq_model *model, size_t *removed_nodes,
                                     size_t *removed_inits, onnxq_error *err);

/* A tensor or node name not used anywhere in the model (any graph), made
 * from prefix ("prefix", then "prefix_1", "prefix_2", ...).  The returned
 * string is malloc'd, the caller's.  Call with the same graph (the main
 * graph) to get distinct names: issued names are remembered. */
char *onnxq_graph_unique_name(onnxq_graph *main_graph, const char *prefix);

/* The opset version the model imports for a domain ("" and "ai.onnx" are the
 * same); 0 if not imported. */
int64_t onnxq_model_opset(const onnxq_model *model, const char *domain);

#ifdef __cplusplus
}
#endif
#endif
