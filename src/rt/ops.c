/* ops.c — answers "can the runtime run this op?" from ops.def. */
#include <string.h>

#include "onnxq/ops.h"

typedef struct op_entry {
    const char *domain;
    const char *op_type;
    int64_t first, last;
} op_entry;

static const op_entry ops[] = {
#define ONNXQ_OP(domain, op, first, last) {domain, op, first, last},
#include "ops.def"
#undef ONNXQ_OP
    {NULL, NULL, 0, 0} /* sentinel: keeps the array non-empty */
};

static int same_domain(const char *a, const char *b)
{
    if (!a || strcmp(a, "ai.onnx") == 0)
        a = "";
    if (!b || strcmp(b, "ai.onnx") == 0)
        b = "";
    return strcmp(a, b) == 0;
}

int onnxq_op_supported(const char *domain, const char *op_type,
                       int64_t opset_version)
{
    for (size_t i = 0; ops[i].op_type; i++)
        if (same_domain(ops[i].domain, domain) &&
            strcmp(ops[i].op_type, op_type) == 0 &&
            opset_version >= ops[i].first && opset_version <= ops[i].last)
            return 1;
    return 0;
}

size_t onnxq_op_count(void)
{
    return sizeof ops / sizeof ops[0] - 1;
}
