/*
 * wire.c — a check of the protobuf wire format before protobuf-c unpacks it.
 *
 * protobuf-c's unpack returns NULL with no reason and recurses without limit,
 * so a truncated file would get only "cannot parse" and a file of nested
 * subgraphs thousands deep could overflow the stack.  This walks the bytes
 * once, guided by the message descriptors: every tag and length must fit in
 * what remains, known fields must carry the wire type their declared type
 * implies, and known message fields are descended into (iteratively bounded by
 * ONNXQ_MAX_MESSAGE_DEPTH).  Unknown fields are skipped, not descended: they
 * are kept as opaque bytes and written back unchanged.
 *
 * Wire format (protobuf encoding spec): a message is a sequence of
 * (key varint = field_number << 3 | wire_type, value); wire types are
 * 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit; 3 and 4
 * (groups) are not used by ONNX and are rejected.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

typedef struct wire_ctx {
    const uint8_t *start; /* whole buffer, for byte offsets in messages */
    const char *name;
    onnxq_error *err;
} wire_ctx;

/* Reads a varint at *p (< end).  Returns 0 on success. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

/* The wire type a non-packed field of this type uses. */
static int wire_type_of(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL: case PROTOBUF_C_TYPE_ENUM:
        return 0;
    case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    }
    return -1;
}

static onnxq_status fail(wire_ctx *c, const uint8_t *at,
                         const ProtobufCMessageDescriptor *desc,
                         const char *what)
{
    return onnxq_error_set(c->err, ONNXQ_ERR_INVALID_MODEL,
                           "%s: not a valid ONNX model: %s in %s at byte %zu",
                           c->name, what, desc->short_name,
                           (size_t)(at - c->start));
}

static onnxq_status walk(wire_ctx *c, const uint8_t *p, const uint8_t *end,
                         const ProtobufCMessageDescriptor *desc, int depth)
{
    if (depth > ONNXQ_MAX_MESSAGE_DEPTH)
        return onnxq_error_set(
            c->err, ONNXQ_ERR_INVALID_MODEL,
            "%s: messages nested more than %d deep at byte %zu (%s); refusing "
            "to parse", c->name, ONNXQ_MAX_MESSAGE_DEPTH,
            (size_t)(p - c->start), desc->short_name);
    while (p < end) {
        const uint8_t *field_start = p;
        uint64_t key;
        if (read_varint(&p, end, &key))
            return fail(c, field_start, desc, "truncated field key");
        uint64_t number = key >> 3;
        int wire = (int)(key & 7);
        if (number == 0 || number > 536870911u)
            return fail(c, field_start, desc, "field number out of range");
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(desc, (unsigned)number);
        char what[160];
        if (f) {
            int want = wire_type_of(f->type);
            int packed_ok = f->label == PROTOBUF_C_LABEL_REPEATED &&
                            want != 2 && wire == 2;
            if (wire != want && !packed_ok) {
                snprintf(what, sizeof what,
                         "field '%s' has wire type %d, expected %d", f->name,
                         wire, want);
                return fail(c, field_start, desc, what);
            }
        }
        uint64_t len;
        switch (wire) {
        case 0:
            if (read_varint(&p, end, &len))
                return fail(c, field_start, desc, "truncated varint");
            break;
        case 1:
            if ((size_t)(end - p) < 8)
                return fail(c, field_start, desc, "truncated 64-bit value");
            p += 8;
            break;
        case 5:
            if ((size_t)(end - p) < 4)
                return fail(c, field_start, desc, "truncated 32-bit value");
            p += 4;
            break;
        case 2:
            if (read_varint(&p, end, &len))
                return fail(c, field_start, desc, "truncated length");
            if (len > (uint64_t)(end - p)) {
                snprintf(what, sizeof what,
                         "field '%s' claims %" PRIu64 " bytes but only %zu "
                         "remain (truncated file?)",
                         f ? f->name : "unknown", len, (size_t)(end - p));
                return fail(c, field_start, desc, what);
            }
            if (len > ONNXQ_PROTOBUF_LIMIT)
                return fail(c, field_start, desc, "field longer than 2 GiB");
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                onnxq_status s = walk(c, p, p + len,
                                      (const ProtobufCMessageDescriptor *)
                                          f->descriptor,
                                      depth + 1);
                if (s != ONNXQ_OK)
                    return s;
            }
            p += len;
            break;
        default:
            snprintf(what, sizeof what, "unsupported wire type %d", wire);
            return fail(c, field_start, desc, what);
        }
    }
    return ONNXQ_OK;
}

onnxq_status oq_wire_validate(const uint8_t *data, size_t size,
                              const ProtobufCMessageDescriptor *desc,
                              const char *name, onnxq_error *err)
{
    wire_ctx c = {data, name, err};
    return walk(&c, data, data + size, desc, 1);
}
