#include <stdio.h>
#include "onnxq/model.h"
int main(int argc, char **argv) {
  onnxq_error err; onnxq_model *m;
  if (argc < 2) return 2;
  if (onnxq_model_load_file(argv[1], &m, &err)) { fprintf(stderr, "onnxq: %s\n", err.message); return 1; }
  if (argc > 2 && onnxq_model_save(m, argv[2], NULL, NULL, &err)) { fprintf(stderr, "onnxq: %s\n", err.message); return 1; }
  onnxq_model_destroy(m); return 0;
}
