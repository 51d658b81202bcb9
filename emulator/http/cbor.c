/* http/cbor — CBOR <-> request/response trees (cbor.h), on libcbor. */
#include "cbor.h"

#include <cbor.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/json.h"

#define MAX_DEPTH 64

/* --- decoding ------------------------------------------------------------ */

/* The bytes of a definite or indefinite (chunked) string into b. */
static int string_bytes(const cbor_item_t *it, int text, tp_buf *b)
{
    int indef = text ? cbor_string_is_indefinite(it) : cbor_bytestring_is_indefinite(it);
    if (!indef) {
        size_t n = text ? cbor_string_length(it) : cbor_bytestring_length(it);
        const unsigned char *p = text ? cbor_string_handle(it) : cbor_bytestring_handle(it);
        return n ? tp_buf_append(b, p, n) : 0;
    }
    size_t count = text ? cbor_string_chunk_count(it) : cbor_bytestring_chunk_count(it);
    cbor_item_t **chunks = text ? cbor_string_chunks_handle(it) : cbor_bytestring_chunks_handle(it);
    for (size_t i = 0; i < count; i++)
        if (string_bytes(chunks[i], text, b) != 0)
            return -1;
    return 0;
}

static cJSON *to_json(const cbor_item_t *it, int depth, char *why, size_t cap);

static cJSON *text_json(const cbor_item_t *it)
{
    tp_buf raw, held;
    tp_buf_init(&raw);
    tp_buf_init(&held);
    cJSON *s = NULL;
    if (string_bytes(it, 1, &raw) == 0 &&
        tp_str_from_wire(raw.data ? raw.data : "", raw.len, &held) == 0)
        s = cJSON_CreateString(held.data ? held.data : "");
    tp_buf_free(&raw);
    tp_buf_free(&held);
    return s;
}

static cJSON *bytes_json(const cbor_item_t *it)
{
    tp_buf raw, b64;
    tp_buf_init(&raw);
    tp_buf_init(&b64);
    cJSON *s = NULL;
    if (string_bytes(it, 0, &raw) == 0 && tp_base64_encode(raw.data ? raw.data : "", raw.len, &b64) == 0)
        s = cJSON_CreateString(b64.data ? b64.data : "");
    tp_buf_free(&raw);
    tp_buf_free(&b64);
    return s;
}

static double int_value(const cbor_item_t *it)
{
    double v = (double)cbor_get_int(it);
    return cbor_isa_negint(it) ? -1.0 - v : v;
}

static cJSON *to_json(const cbor_item_t *it, int depth, char *why, size_t cap)
{
    if (depth > MAX_DEPTH) {
        snprintf(why, cap, "nested too deeply");
        return NULL;
    }
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT:
        return cJSON_CreateNumber(int_value(it));
    case CBOR_TYPE_BYTESTRING:
        return bytes_json(it);
    case CBOR_TYPE_STRING:
        return text_json(it);
    case CBOR_TYPE_ARRAY: {
        cJSON *a = cJSON_CreateArray();
        cbor_item_t **h = cbor_array_handle(it);
        for (size_t i = 0; a && i < cbor_array_size(it); i++) {
            cJSON *c = to_json(h[i], depth + 1, why, cap);
            if (!c) {
                cJSON_Delete(a);
                return NULL;
            }
            cJSON_AddItemToArray(a, c);
        }
        return a;
    }
    case CBOR_TYPE_MAP: {
        cJSON *o = cJSON_CreateObject();
        struct cbor_pair *h = cbor_map_handle(it);
        for (size_t i = 0; o && i < cbor_map_size(it); i++) {
            if (!cbor_isa_string(h[i].key)) {
                snprintf(why, cap, "a map key is not a text string");
                cJSON_Delete(o);
                return NULL;
            }
            cJSON *k = text_json(h[i].key), *v = to_json(h[i].value, depth + 1, why, cap);
            if (!k || !v) {
                cJSON_Delete(k);
                cJSON_Delete(v);
                cJSON_Delete(o);
                return NULL;
            }
            /* a repeated key: the last one wins, as in the JSON codec */
            cJSON_DeleteItemFromObjectCaseSensitive(o, k->valuestring);
            cJSON_AddItemToObject(o, k->valuestring, v);
            cJSON_Delete(k);
        }
        return o;
    }
    case CBOR_TYPE_TAG: {
        cbor_item_t *inner = cbor_tag_item(it);
        cJSON *v = NULL;
        if (cbor_tag_value(it) == 1 && (cbor_isa_uint(inner) || cbor_isa_negint(inner)))
            v = cJSON_CreateNumber(int_value(inner) / 1000.0);   /* AWS: milliseconds */
        else if (cbor_tag_value(it) == 1 && cbor_isa_float_ctrl(inner) && cbor_float_get_width(inner) != CBOR_FLOAT_0) {
            double d = cbor_float_get_float(inner);   /* RFC 8949: seconds */
            if (isfinite(d))
                v = cJSON_CreateNumber(d);
            else
                snprintf(why, cap, "a number is not finite");
        } else
            v = to_json(inner, depth + 1, why, cap);
        cbor_decref(&inner);
        return v;
    }
    case CBOR_TYPE_FLOAT_CTRL:
        if (cbor_float_get_width(it) != CBOR_FLOAT_0) {
            double d = cbor_float_get_float(it);
            if (!isfinite(d)) {
                snprintf(why, cap, "a number is not finite");
                return NULL;
            }
            return cJSON_CreateNumber(d);
        }
        if (cbor_is_bool(it))
            return cJSON_CreateBool(cbor_get_bool(it));
        if (cbor_is_null(it) || cbor_is_undef(it))
            return cJSON_CreateNull();
        snprintf(why, cap, "an unknown simple value");
        return NULL;
    }
    snprintf(why, cap, "an unknown item");
    return NULL;
}

/* libcbor allocates a definite array or map for its declared size before
 * reading any element, so 9A FFFFFFFF (6 bytes) asks for 32 GB. Every
 * element takes at least one byte: walk the item heads (their pre-order is
 * their order in the bytes, string payloads skipped) and refuse a count
 * the rest of the body cannot hold. Other malformations are libcbor's to
 * find. 1 when the counts fit. */
static int counts_fit(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    while (p < end) {
        unsigned major = *p >> 5, info = *p & 31u;
        p++;
        uint64_t v = info;
        if (info >= 24 && info <= 27) {
            size_t n = (size_t)1 << (info - 24);
            if ((size_t)(end - p) < n)
                return 1;
            v = 0;
            for (size_t i = 0; i < n; i++)
                v = v << 8 | *p++;
        } else if (info > 27) {
            continue;   /* indefinite length, break, or reserved */
        }
        uint64_t left = (uint64_t)(end - p);
        if (major == 2 || major == 3) {
            if (v > left)
                return 1;   /* libcbor reports the short string */
            p += v;
        } else if ((major == 4 && v > left) || (major == 5 && (v > left / 2))) {
            return 0;
        }
    }
    return 1;
}

cJSON *tp_cbor_decode(const void *data, size_t len, char *why, size_t cap)
{
    if (!counts_fit(data, len)) {
        snprintf(why, cap, "an array or map longer than the body");
        return NULL;
    }
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(data, len, &res);
    if (!it || res.error.code != CBOR_ERR_NONE) {
        snprintf(why, cap, "not well-formed CBOR (at byte %zu)", res.error.position);
        if (it)
            cbor_decref(&it);
        return NULL;
    }
    if (res.read != len) {
        snprintf(why, cap, "trailing bytes after the CBOR item");
        cbor_decref(&it);
        return NULL;
    }
    cJSON *out = to_json(it, 0, why, cap);
    cbor_decref(&it);
    return out;
}

/* --- encoding ------------------------------------------------------------ */

static int named(const char *const *list, const char *name)
{
    for (; list && name && *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

/* An unsigned integer in its shortest form (libcbor keeps the width it is
 * built with, and RFC 8949's preferred serialization is the shortest). */
static cbor_item_t *uint_item(uint64_t v, int negative)
{
    cbor_item_t *it = v <= UINT8_MAX    ? cbor_build_uint8((uint8_t)v)
                      : v <= UINT16_MAX ? cbor_build_uint16((uint16_t)v)
                      : v <= UINT32_MAX ? cbor_build_uint32((uint32_t)v)
                                        : cbor_build_uint64(v);
    if (it && negative)
        cbor_mark_negint(it);
    return it;
}

static cbor_item_t *number_item(double d)
{
    /* integral: an integer (but -0.0 stays a float, or it would read back 0) */
    if (d == floor(d) && fabs(d) < 9007199254740992.0 && !(d == 0 && signbit(d)))
        return d >= 0 ? uint_item((uint64_t)d, 0) : uint_item((uint64_t)(-d - 1), 1);
    return cbor_build_float8(d);
}

/* name: the member this value is under (arrays pass their own name on, so
 * PutRecords' Records[].Data and GetRecords' Records[] both work). */
static cbor_item_t *to_cbor(const cJSON *v, const char *name, const tp_cbor_hints *h)
{
    if (cJSON_IsObject(v)) {
        cbor_item_t *m = cbor_new_definite_map((size_t)cJSON_GetArraySize(v));
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            cbor_item_t *k = NULL, *val = to_cbor(c, c->string, h);
            tp_buf b;
            tp_buf_init(&b);
            if (tp_str_wire_bytes(c->string, strlen(c->string), &b) == 0)
                k = cbor_build_stringn(b.data ? b.data : "", b.len);
            tp_buf_free(&b);
            if (!m || !k || !val) {
                /* e.g. a blob member that is not base64 */
                if (k)
                    cbor_decref(&k);
                if (val)
                    cbor_decref(&val);
                if (m)
                    cbor_decref(&m);
                return NULL;
            }
            if (!cbor_map_add(m, (struct cbor_pair){.key = cbor_move(k), .value = cbor_move(val)})) {
                cbor_decref(&m);
                return NULL;
            }
        }
        return m;
    }
    if (cJSON_IsArray(v)) {
        cbor_item_t *a = cbor_new_definite_array((size_t)cJSON_GetArraySize(v));
        const cJSON *c;
        cJSON_ArrayForEach(c, v)
        {
            cbor_item_t *e = to_cbor(c, name, h);
            if (!a || !e || !cbor_array_push(a, cbor_move(e))) {
                if (a)
                    cbor_decref(&a);
                return NULL;
            }
        }
        return a;
    }
    if (cJSON_IsString(v)) {
        tp_buf b;
        tp_buf_init(&b);
        cbor_item_t *s = NULL;
        if (h && named(h->blobs, name)) {
            if (tp_base64_decode(v->valuestring, strlen(v->valuestring), &b) == 0)
                s = cbor_build_bytestring((cbor_data)(b.data ? b.data : ""), b.len);
        } else if (tp_str_wire_bytes(v->valuestring, strlen(v->valuestring), &b) == 0) {
            s = cbor_build_stringn(b.data ? b.data : "", b.len);
        }
        tp_buf_free(&b);
        return s;
    }
    if (cJSON_IsNumber(v)) {
        if (h && named(h->timestamps, name)) {
            cbor_item_t *ms = number_item(floor(v->valuedouble * 1000.0 + 0.5));
            return ms ? cbor_build_tag(1, cbor_move(ms)) : NULL;
        }
        return number_item(v->valuedouble);
    }
    if (cJSON_IsBool(v))
        return cbor_build_bool(cJSON_IsTrue(v));
    return cbor_new_null();
}

int tp_cbor_encode(const cJSON *tree, const tp_cbor_hints *hints, tp_buf *out)
{
    cbor_item_t *it = to_cbor(tree, NULL, hints);
    if (!it)
        return -1;
    unsigned char *buf = NULL;
    size_t cap = 0, n = cbor_serialize_alloc(it, &buf, &cap);
    cbor_decref(&it);
    int rc = n ? tp_buf_append(out, buf, n) : -1;
    free(buf);
    return rc;
}
