/* cli_inputs.h — model inputs from --input/--inputs/--shape (inputs.c). */
#ifndef ONNXQ_CLI_INPUTS_H
#define ONNXQ_CLI_INPUTS_H

#include <stddef.h>

#include "onnxq/runtime.h"

typedef struct cli_pair {
    const char *name; /* borrowed from argv, name_len bytes */
    size_t name_len;
    const char *value;
} cli_pair;

typedef struct cli_inputs {
    const char *dir;  /* --inputs DIR or FILE.npz */
    cli_pair *pairs;  /* --input NAME=FILE */
    size_t n_pairs;
    cli_pair *shapes; /* --shape NAME=D0,D1,... */
    size_t n_shapes;
} cli_inputs;

void cli_inputs_init(cli_inputs *in);
void cli_inputs_clear(cli_inputs *in);
/* Record NAME=VALUE arguments; -1 if malformed. */
int cli_inputs_add_input(cli_inputs *in, const char *arg);
int cli_inputs_add_shape(cli_inputs *in, const char *arg);

/* Loads (or generates) one tensor per session input, in session order.
 * note receives a description of symbolic dims that were set to 1 (empty if
 * none).  *out is freed with onnxq_tensors_free(*out, *n_out). */
onnxq_status cli_inputs_load(const cli_inputs *in, onnxq_session *s,
                             onnxq_tensor **out, size_t *n_out, char *note,
                             size_t note_size, onnxq_error *err);

#endif
