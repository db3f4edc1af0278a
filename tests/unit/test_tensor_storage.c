/* test_tensor_storage.c — tensor data in every storage (raw, typed fields,
 * external) and saving with external data: one file, one file per tensor,
 * thresholds, and the errors for broken external references.
 * usage: test_tensor_storage TMP_DIR */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnxq/builder.h"
#include "onnxq/tensor.h"
#include "testing.h"

static char dir[1024];

static void test_typed_fields(void)
{
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[] = {2, 2};
    t.n_dims = 2;
    t.dims = dims;
    t.has_data_type = 1;

    /* int8 values live one per int32_data entry */
    int32_t i8[] = {-128, -1, 0, 127};
    t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    t.int32_data = i8;
    t.n_int32_data = 4;
    int8_t got8[4];
    CHECK(onnxq_tensor_copy_data(NULL, &t, got8, 4, NULL) == ONNXQ_OK);
    CHECK(got8[0] == -128 && got8[1] == -1 && got8[2] == 0 && got8[3] == 127);

    /* float16 bits in int32_data */
    int32_t f16[] = {0x3c00, 0xc000, 0x7bff, 0};
    t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    t.int32_data = f16;
    uint16_t got16[4];
    CHECK(onnxq_tensor_copy_data(NULL, &t, got16, 8, NULL) == ONNXQ_OK);
    CHECK(got16[0] == 0x3c00 && got16[1] == 0xc000 && got16[2] == 0x7bff);

    /* uint32 in uint64_data */
    uint64_t u32[] = {1, 4294967295u, 7, 8};
    t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__UINT32;
    t.int32_data = NULL;
    t.n_int32_data = 0;
    t.uint64_data = u32;
    t.n_uint64_data = 4;
    uint32_t got32[4];
    CHECK(onnxq_tensor_copy_data(NULL, &t, got32, 16, NULL) == ONNXQ_OK);
    CHECK(got32[1] == 4294967295u && got32[3] == 8);

    /* wrong count of typed values */
    t.n_uint64_data = 3;
    onnxq_error err;
    CHECK(onnxq_tensor_check_data(NULL, &t, &err) == ONNXQ_ERR_INVALID_MODEL);
    CHECK_CONTAINS(err.message, "4 elements stores 3 values");

    /* negative dims */
    dims[0] = -2;
    CHECK(onnxq_tensor_check_data(NULL, &t, &err) == ONNXQ_ERR_INVALID_MODEL);
    CHECK_CONTAINS(err.message, "invalid shape");
    dims[0] = 2;

    CHECK_STR(onnxq_dtype_name(10), "float16");
    CHECK_STR(onnxq_dtype_name(16), "bfloat16");
    CHECK_STR(onnxq_dtype_name(99), "type99");
    CHECK_EQ_INT(onnxq_dtype_size(11), 8);
    CHECK_EQ_INT(onnxq_dtype_size(8), 0);
}

/* A model with a big (4 KiB) and a small (8 byte) initializer. */
static onnxq_model *two_weights(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    float big[1024], small[2] = {5, 6};
    for (int i = 0; i < 1024; i++)
        big[i] = (float)i * 0.5f;
    int64_t bd[] = {1024}, sd[] = {2};
    onnxq_build_initializer(p->graph, "big/w:0", 1, 1, bd, big);
    onnxq_build_initializer(p->graph, "small", 1, 1, sd, small);
    int64_t d[] = {1024};
    onnxq_build_input(p->graph, "x", 1, 1, d, NULL);
    const char *in[] = {"x", "big/w:0"}, *out[] = {"y"};
    onnxq_build_node(p->graph, "Add", "add", in, 2, out, 1);
    onnxq_build_output(p->graph, "y", 1, 1, d, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

static char *path_in(const char *name)
{
    static char buf[4][1200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_external_save(void)
{
    onnxq_model *m = two_weights();
    onnxq_error err;
    onnxq_save_options o;
    onnxq_save_options_init(&o);
    onnxq_save_report rep;

    /* inline reference */
    CHECK(onnxq_model_save(m, path_in("inline.onnx"), &o, &rep, &err) == ONNXQ_OK);
    CHECK_EQ_INT(rep.wrote_external, 0);

    /* one data file: only the 4 KiB tensor passes the 1 KiB threshold */
    o.external = ONNXQ_EXTERNAL_ALWAYS;
    CHECK(onnxq_model_save(m, path_in("ext.onnx"), &o, &rep, &err) == ONNXQ_OK);
    CHECK_EQ_INT(rep.wrote_external, 1);
    CHECK_EQ_INT(rep.external_tensors, 1);
    CHECK_EQ_INT(rep.external_bytes, 4096);
    CHECK_STR(rep.location, "ext.onnx.data");
    CHECK_EQ_INT(file_size(path_in("ext.onnx.data")), 4096);
    /* the in-memory model is unchanged */
    Onnx__TensorProto *t0 = onnxq_model_proto(m)->graph->initializer[0];
    CHECK(t0->has_raw_data && t0->raw_data.len == 4096 &&
          !onnxq_tensor_is_external(t0));

    onnxq_model *e = NULL;
    CHECK(onnxq_model_load_file(path_in("ext.onnx"), &e, &err) == ONNXQ_OK);
    Onnx__TensorProto *et = onnxq_model_proto(e)->graph->initializer[0];
    CHECK(onnxq_tensor_is_external(et));
    const void *bytes = NULL;
    size_t n = 0;
    CHECK(onnxq_tensor_raw_bytes(e, et, &bytes, &n, &err) == ONNXQ_OK);
    CHECK_EQ_INT(n, 4096);
    CHECK(bytes && ((const float *)bytes)[1023] == 511.5f);
    CHECK(onnxq_tensor_check_data(e, et, &err) == ONNXQ_OK);
    /* saving it inline again gives the bytes of the inline save */
    o.external = ONNXQ_EXTERNAL_NEVER;
    CHECK(onnxq_model_save(e, path_in("back.onnx"), &o, &rep, &err) == ONNXQ_OK);
    CHECK_EQ_INT(file_size(path_in("back.onnx")), file_size(path_in("inline.onnx")));
    /* AUTO keeps external data external (re-written next to the output) */
    o.external = ONNXQ_EXTERNAL_AUTO;
    CHECK(onnxq_model_save(e, path_in("auto.onnx"), &o, &rep, &err) == ONNXQ_OK);
    CHECK_EQ_INT(rep.wrote_external, 1);
    CHECK_EQ_INT(rep.external_was_forced, 0);
    CHECK_EQ_INT(file_size(path_in("auto.onnx.data")), 4096);
    onnxq_model_destroy(e);

    /* one file per tensor, threshold 0: both tensors, named after them */
    o.external = ONNXQ_EXTERNAL_ALWAYS;
    o.file_per_tensor = 1;
    o.threshold = 0;
    CHECK(onnxq_model_save(m, path_in("per.onnx"), &o, &rep, &err) == ONNXQ_OK);
    CHECK_EQ_INT(rep.external_tensors, 2);
    CHECK_EQ_INT(file_size(path_in("big_w_0")), 4096);
    CHECK_EQ_INT(file_size(path_in("small")), 8);
    CHECK(onnxq_model_load_file(path_in("per.onnx"), &e, &err) == ONNXQ_OK);
    float s[2] = {0};
    CHECK(onnxq_tensor_copy_data(e, onnxq_model_proto(e)->graph->initializer[1],
                                 s, 8, &err) == ONNXQ_OK);
    CHECK(s[0] == 5 && s[1] == 6);
    onnxq_model_destroy(e);

    /* broken references: truncated data file, missing file, unsafe path */
    CHECK(truncate(path_in("ext.onnx.data"), 100) == 0);
    CHECK(onnxq_model_load_file(path_in("ext.onnx"), &e, &err) == ONNXQ_OK);
    et = onnxq_model_proto(e)->graph->initializer[0];
    CHECK(onnxq_tensor_check_data(e, et, &err) == ONNXQ_ERR_INVALID_MODEL);
    CHECK_CONTAINS(err.message, "big/w:0");
    CHECK_CONTAINS(err.message, "past the end of ext.onnx.data");
    /* saving cannot read it either, and leaves no output behind */
    CHECK(onnxq_model_save(e, path_in("never.onnx"), NULL, NULL, &err) != ONNXQ_OK);
    CHECK_EQ_INT(file_size(path_in("never.onnx")), -1);
    onnxq_model_destroy(e);
    unlink(path_in("ext.onnx.data"));
    CHECK(onnxq_model_load_file(path_in("ext.onnx"), &e, &err) == ONNXQ_OK);
    et = onnxq_model_proto(e)->graph->initializer[0];
    CHECK(onnxq_tensor_raw_bytes(e, et, &bytes, &n, &err) == ONNXQ_ERR_IO);
    CHECK_CONTAINS(err.message, "ext.onnx.data");
    for (size_t i = 0; i < et->n_external_data; i++)
        if (strcmp(et->external_data[i]->key, "location") == 0) {
            free(et->external_data[i]->value);
            et->external_data[i]->value = strdup("../../etc/passwd");
        }
    CHECK(onnxq_tensor_raw_bytes(e, et, &bytes, &n, &err) == ONNXQ_ERR_INVALID_MODEL);
    CHECK_CONTAINS(err.message, "inside the model's folder");
    onnxq_model_destroy(e);

    const char *files[] = {"inline.onnx", "ext.onnx", "back.onnx", "auto.onnx",
                           "auto.onnx.data", "per.onnx", "big_w_0", "small"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        unlink(path_in(files[i]));
    onnxq_model_destroy(m);
}

/* Fields this ONNX version does not know (a newer writer's) survive a load
 * and a save: a model, a graph and a node each get unknown varint and bytes
 * fields appended, and serialising gives back exactly those bytes. */
static void test_unknown_fields(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    int64_t d[] = {2};
    onnxq_build_input(p->graph, "x", 1, 1, d, NULL);
    const char *in[] = {"x"}, *out[] = {"y"};
    onnxq_build_node(p->graph, "Relu", "r", in, 1, out, 1);
    onnxq_build_output(p->graph, "y", 1, 1, d, NULL);
    /* field 99 (varint 300) and field 98 (bytes "new!"), in wire format */
    static const uint8_t extra[] = {0x98, 0x06, 0xac, 0x02,
                                    0x92, 0x06, 0x04, 'n', 'e', 'w', '!'};
    size_t n_node = protobuf_c_message_get_packed_size(&p->graph->node[0]->base);
    uint8_t *node_bytes = malloc(n_node + sizeof extra);
    protobuf_c_message_pack(&p->graph->node[0]->base, node_bytes);
    memcpy(node_bytes + n_node, extra, sizeof extra);
    Onnx__NodeProto *node2 = onnx__node_proto__unpack(NULL, n_node + sizeof extra,
                                                      node_bytes);
    CHECK(node2 && node2->base.n_unknown_fields == 2);
    onnx__node_proto__free_unpacked(p->graph->node[0], NULL);
    p->graph->node[0] = node2;
    size_t n = protobuf_c_message_get_packed_size(&p->base);
    uint8_t *bytes = malloc(n + sizeof extra);
    protobuf_c_message_pack(&p->base, bytes);
    memcpy(bytes + n, extra, sizeof extra);
    n += sizeof extra;
    onnx__model_proto__free_unpacked(p, NULL);

    onnxq_model *m = NULL;
    onnxq_error err;
    CHECK(onnxq_model_load_memory(bytes, n, NULL, "unknown-fields", &m, &err) ==
          ONNXQ_OK);
    void *again = NULL;
    size_t n_again = 0;
    CHECK(m && onnxq_model_serialize(m, &again, &n_again, &err) == ONNXQ_OK);
    CHECK_EQ_INT(n_again, n);
    CHECK(again && n_again == n && memcmp(again, bytes, n) == 0);
    CHECK(m && onnxq_model_save(m, path_in("unknown.onnx"), NULL, NULL, &err) ==
          ONNXQ_OK);
    CHECK_EQ_INT(file_size(path_in("unknown.onnx")), (long)n);
    unlink(path_in("unknown.onnx"));
    free(again);
    free(bytes);
    free(node_bytes);
    onnxq_model_destroy(m);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    snprintf(dir, sizeof dir, "%s/tensor_storage", argv[1]);
    mkdir(dir, 0777);
    test_typed_fields();
    test_external_save();
    test_unknown_fields();
    rmdir(dir);
    return TEST_RESULT();
}
