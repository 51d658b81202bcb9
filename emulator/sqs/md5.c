/* sqs/md5 — message attributes: the checks SQS makes on them, their size,
 * and MD5OfMessageAttributes / MD5OfMessageSystemAttributes exactly as SQS
 * computes them (the SDKs recompute the digest and refuse a mismatch).
 *
 * The digest covers the attributes sorted by name (byte order); for each:
 * 4-byte big-endian length + name, length + DataType, one transport byte
 * (1 for String and Number, 2 for Binary), length + value (the UTF-8 string
 * or the decoded bytes). Binary values travel as base64 on the JSON wire.
 * Also the body's character rule (sqs_text_ok), shared with message.c. */
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"
#include "sqs.h"

#define MAX_MESSAGE_ATTRIBUTES 10


static int cp_allowed(long cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/* First disallowed code point of s, 0 when every one is allowed. A
 * malformed byte (e.g. the 0xC0 0x80 that stands for U+0000 inside the
 * process) reports as #x0. */
static long first_bad_cp(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        long cp = tp_utf8_next(&p, end);
        if (cp < 0)
            return 0x100000000L;   /* sentinel: malformed */
        if (!cp_allowed(cp))
            return cp == 0 ? 0x100000000L : cp;
    }
    return 0;
}

int sqs_text_ok(const char *s, size_t len) { return first_bad_cp(s, len) == 0; }

/* "#x7", "#xFFFF": how SQS names a character in its messages. */
static void cp_name(long cp, char out[16])
{
    snprintf(out, 16, "#x%lX", cp == 0x100000000L ? 0L : cp);
}

int sqs_check_body(const char *body, size_t len, tp_error *err)
{
    long bad = first_bad_cp(body, len);
    if (!bad)
        return 0;
    char name[16];
    cp_name(bad, name);
    return tp_fail(err, TP_ERR_SQS_INVALID_MESSAGE_CONTENTS,
                   "Invalid binary character '%s' was found in the message body, the set of "
                   "allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | "
                   "[#x10000-#x10FFFF].",
                   name);
}

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

static int starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if ((*s | 0x20) != (*prefix | 0x20))
            return 0;
    return 1;
}

/* The type's base: "String", "Number" or "Binary", with an optional
 * ".custom" suffix. 0 unknown. */
static char type_base(const char *t)
{
    if (strncmp(t, "String", 6) == 0 && (t[6] == 0 || t[6] == '.'))
        return 'S';
    if (strncmp(t, "Number", 6) == 0 && (t[6] == 0 || t[6] == '.'))
        return 'N';
    if (strncmp(t, "Binary", 6) == 0 && (t[6] == 0 || t[6] == '.'))
        return 'B';
    return 0;
}

/* A decimal number as SQS accepts it (optional sign, digits, fraction,
 * exponent). */
static int number_ok(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (!digits)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == 0;
}

int sqs_check_message_attributes(const cJSON *attrs, int system, size_t *size, tp_error *err)
{
    if (!attrs || cJSON_IsNull(attrs))
        return 0;
    if (!cJSON_IsObject(attrs))
        return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                       "The request must contain non-empty message attribute name.");
    int n = cJSON_GetArraySize(attrs);
    if (!system && n > MAX_MESSAGE_ATTRIBUTES)
        return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                       "Number of message attributes [%d] exceeds the allowed maximum [%d].", n,
                       MAX_MESSAGE_ATTRIBUTES);
    const cJSON *a;
    cJSON_ArrayForEach(a, attrs)
    {
        const char *name = a->string ? a->string : "";
        size_t nlen = strlen(name);
        if (!nlen)
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                           "The request must contain non-empty message attribute name.");
        if (system) {
            /* unverified wording */
            if (strcmp(name, "AWSTraceHeader") != 0)
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "Message system attribute name '%s' is invalid.", name);
        } else {
            if (nlen >= 256)
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "Message (user) attribute names must be shorter than 256 Bytes");
            int chars_ok = 1, successive = 0;
            for (size_t i = 0; i < nlen; i++) {
                chars_ok &= name_char_ok(name[i]);
                successive |= name[i] == '.' && name[i + 1] == '.';
            }
            /* AWS's wording, its "lower score" and trailing space included */
            if (!chars_ok)
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "Message (user) attributes name can only contain upper and lower "
                               "score characters, digits, periods, hyphens and underscores. ");
            if (successive)
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "Message (user) attribute name '%s' can not contain successive '.' "
                               "characters.",
                               name);   /* unverified wording */
            if (starts_with_ci(name, "AWS.") || starts_with_ci(name, "Amazon.") || name[0] == '.' ||
                name[nlen - 1] == '.')
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "You can't use message attribute names beginning with 'AWS.' or "
                               "'Amazon.'. These strings are reserved for internal use. "
                               "Additionally, they cannot start or end with '.'.");
        }
        const char *type = tp_json_str(a, "DataType");
        if (!type || !*type)
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                           "The message attribute '%s' must contain non-empty message attribute "
                           "type.",
                           name);
        char base = type_base(type);
        if (!base || (system && base != 'S'))
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                           "The type of message (user) attribute '%s' is invalid. You must use "
                           "only the following supported type prefixes: Binary, Number, String.",
                           name);
        if (strlen(type) >= 256)
            return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                           "Message (user) attribute types must be shorter than 256 Bytes");
        const char *sv = tp_json_str(a, "StringValue");
        const char *bv = tp_json_str(a, "BinaryValue");
        size_t vlen = 0;
        if (base == 'B') {
            if (!bv || !*bv) {
                if (sv)
                    return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                                   "The message attribute '%s' with type 'Binary' must use field "
                                   "'Binary'.",
                                   name);
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "Message (user) attribute '%s' must contain a non-empty value of "
                               "type 'Binary'.",
                               name);   /* unverified wording */
            }
            tp_buf raw;
            tp_buf_init(&raw);
            if (tp_base64_decode(bv, strlen(bv), &raw) != 0) {
                tp_buf_free(&raw);
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "The message attribute '%s' has an invalid binary value.", name); /* unverified wording */
            }
            vlen = raw.len;
            tp_buf_free(&raw);
        } else {
            const char *tname = base == 'N' ? "Number" : "String";
            if (!sv || !*sv) {
                if (bv)
                    return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                                   "The message attribute '%s' with type '%s' must use field "
                                   "'String'.",
                                   name, tname);
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "Message (user) attribute '%s' must contain a non-empty value of "
                               "type '%s'.",
                               name, tname);
            }
            vlen = strlen(sv);
            long bad = first_bad_cp(sv, vlen);
            if (bad) {
                char cn[16];
                cp_name(bad, cn);
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "Invalid binary character '%s' was found in the message attribute "
                               "'%s' value, the set of allowed characters is #x9 | #xA | #xD | "
                               "[#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].",
                               cn, name);   /* unverified wording */
            }
            if (base == 'N' && !number_ok(sv))
                return tp_fail(err, TP_ERR_SQS_INVALID_PARAMETER_VALUE,
                               "Can't cast the value of message (user) attribute '%s' to a number.",
                               name);
        }
        if (size)
            *size += nlen + strlen(type) + vlen;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

static void put_len(EVP_MD_CTX *c, size_t n)
{
    unsigned char b[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    EVP_DigestUpdate(c, b, 4);
}

static void put_str(EVP_MD_CTX *c, const void *s, size_t n)
{
    put_len(c, n);
    EVP_DigestUpdate(c, s, n);
}

int sqs_md5_of_attributes(const cJSON *attrs, char out[33])
{
    out[0] = 0;
    int n = attrs && cJSON_IsObject(attrs) ? cJSON_GetArraySize(attrs) : 0;
    if (n <= 0)
        return 0;
    const cJSON **v = malloc(sizeof *v * (size_t)n);
    if (!v)
        return -1;
    int k = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, attrs) v[k++] = a;
    qsort(v, (size_t)n, sizeof *v, cmp_names);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int rc = c && EVP_DigestInit_ex(c, EVP_md5(), NULL) == 1 ? 0 : -1;
    tp_buf raw;
    tp_buf_init(&raw);
    for (int i = 0; rc == 0 && i < n; i++) {
        const char *type = tp_json_str(v[i], "DataType");
        type = type ? type : "";
        put_str(c, v[i]->string, strlen(v[i]->string));
        put_str(c, type, strlen(type));
        if (type_base(type) == 'B') {
            const char *bv = tp_json_str(v[i], "BinaryValue");
            tp_buf_reset(&raw);
            if (bv)
                tp_base64_decode(bv, strlen(bv), &raw);
            unsigned char t = 2;
            EVP_DigestUpdate(c, &t, 1);
            put_str(c, raw.data ? raw.data : "", raw.len);
        } else {
            const char *sv = tp_json_str(v[i], "StringValue");
            sv = sv ? sv : "";
            unsigned char t = 1;
            EVP_DigestUpdate(c, &t, 1);
            put_str(c, sv, strlen(sv));
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (rc == 0 && EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == 16)
        tp_hex(md, 16, out);
    else
        rc = -1;
    tp_buf_free(&raw);
    EVP_MD_CTX_free(c);
    free(v);
    return rc;
}
