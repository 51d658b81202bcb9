/* http/query — the AWS query protocol: form -> request tree, answer -> XML
 * (query.h).
 *
 * The decoder sorts the form's fields by key once, then walks the input
 * shape: a scalar is one lookup, a list or map is the run of keys under its
 * prefix ("SendMessageBatchRequestEntry.3.MessageAttribute.1.Name"), its
 * indexes taken in numeric order. So a large form costs n log n, never n
 * squared. */
#include "query.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY_MAX 1024

/* --- the form --------------------------------------------------------- */

void tp_qform_init(tp_qform *f) { memset(f, 0, sizeof *f); }

void tp_qform_free(tp_qform *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->pairs[i].key);
        free(f->pairs[i].value);
    }
    free(f->pairs);
    memset(f, 0, sizeof *f);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int tp_qform_add(tp_qform *f, const char *key, size_t klen, const char *value, size_t vlen)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        tp_qpair *p = realloc(f->pairs, cap * sizeof *p);
        if (!p)
            return -1;
        f->pairs = p;
        f->cap = cap;
    }
    char *k = dup_n(key, klen), *v = dup_n(value, vlen);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    f->pairs[f->n] = (tp_qpair){.key = k, .value = v, .seq = f->n};
    f->n++;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* URL-decodes s[0..n) into a new string; U+0000 becomes 0xC0 0x80. */
static char *url_decode(const char *s, size_t n, size_t *outlen)
{
    char *d = malloc(n * 2 + 1);
    if (!d)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (c == 0) {
            d[j++] = (char)0xC0;
            d[j++] = (char)0x80;
        } else {
            d[j++] = (char)c;
        }
    }
    d[j] = '\0';
    *outlen = j;
    return d;
}

int tp_qform_parse(tp_qform *f, const char *body, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && body[eq] != '=')
                eq++;
            size_t kl = 0, vl = 0;
            char *k = url_decode(body + i, eq - i, &kl);
            char *v = eq < end ? url_decode(body + eq + 1, end - eq - 1, &vl) : dup_n("", 0);
            if (eq >= end)
                vl = 0;
            int rc = k && v ? tp_qform_add(f, k, kl, v, vl) : -1;
            free(k);
            free(v);
            if (rc != 0)
                return -1;
        }
        i = end + 1;
    }
    return 0;
}

const char *tp_qform_get(const tp_qform *f, const char *key)
{
    const tp_qpair *best = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->pairs[i].key, key) == 0 && (!best || f->pairs[i].seq < best->seq))
            best = &f->pairs[i];
    return best ? best->value : NULL;
}

static int pair_cmp(const void *a, const void *b)
{
    const tp_qpair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* First index whose key is >= key (the form is sorted). */
static size_t lower_bound(const tp_qform *f, const char *key)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(f->pairs[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const char *lookup(const tp_qform *f, const char *key)
{
    size_t i = lower_bound(f, key);
    return i < f->n && strcmp(f->pairs[i].key, key) == 0 ? f->pairs[i].value : NULL;
}

/* --- decoding ----------------------------------------------------------- */

static int join(char *out, const char *prefix, const char *name)
{
    int n = *prefix ? snprintf(out, KEY_MAX, "%s.%s", prefix, name)
                    : snprintf(out, KEY_MAX, "%s", name);
    return n > 0 && n < KEY_MAX ? 0 : -1;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* The distinct indexes N of keys "base.N" and "base.N.*", ascending; a new
 * array in *out (NULL when none). */
static size_t indexes(const tp_qform *f, const char *base, long **out)
{
    char pre[KEY_MAX];
    *out = NULL;
    if (snprintf(pre, sizeof pre, "%s.", base) >= (int)sizeof pre)
        return 0;
    size_t plen = strlen(pre), n = 0, cap = 0;
    long *v = NULL;
    for (size_t i = lower_bound(f, pre); i < f->n && strncmp(f->pairs[i].key, pre, plen) == 0;
         i++) {
        const char *p = f->pairs[i].key + plen;
        char *end;
        if (*p < '0' || *p > '9')
            continue;
        errno = 0;
        long idx = strtol(p, &end, 10);
        if (errno || (*end && *end != '.'))
            continue;
        if (n && v[n - 1] == idx)
            continue;   /* neighbours in key order share an index */
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            long *nv = realloc(v, cap * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        v[n++] = idx;
    }
    if (n > 1) {
        qsort(v, n, sizeof *v, cmp_long);
        size_t k = 1;
        for (size_t i = 1; i < n; i++)
            if (v[i] != v[k - 1])
                v[k++] = v[i];
        n = k;
    }
    *out = v;
    return n;
}

static int is_integer(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static cJSON *scalar(const tp_qshape *shape, const char *text)
{
    switch (shape->kind) {
    case TP_Q_INTEGER:
    case TP_Q_LONG:
        if (is_integer(text) && strlen(text) < 16)
            return cJSON_CreateNumber((double)strtoll(text, NULL, 10));
        break;
    case TP_Q_DOUBLE: {
        char *end;
        double d = strtod(text, &end);
        if (*text && !*end)
            return cJSON_CreateNumber(d);
        break;
    }
    case TP_Q_BOOLEAN:
        if (strcmp(text, "true") == 0)
            return cJSON_CreateTrue();
        if (strcmp(text, "false") == 0)
            return cJSON_CreateFalse();
        break;
    default:
        break;
    }
    return cJSON_CreateString(text);
}

static cJSON *decode_value(const tp_qshape *shape, const tp_qform *f, const char *key, int depth);

static cJSON *decode_list(const tp_qshape *shape, int flattened, const tp_qform *f,
                          const char *key, int depth)
{
    char base[KEY_MAX], elem[KEY_MAX];
    if (flattened ? join(base, "", key) : join(base, key, shape->item ? shape->item : "member"))
        return NULL;
    long *idx;
    size_t n = indexes(f, base, &idx);
    if (!n) {
        free(idx);
        /* an empty list travels as "Name=" */
        const char *v = lookup(f, key);
        return v && !*v ? cJSON_CreateArray() : NULL;
    }
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        char num[24];
        snprintf(num, sizeof num, "%ld", idx[i]);
        if (join(elem, base, num))
            continue;
        cJSON *v = decode_value(shape->member, f, elem, depth + 1);
        if (v)
            cJSON_AddItemToArray(arr, v);
    }
    free(idx);
    return arr;
}

static cJSON *decode_map(const tp_qshape *shape, int flattened, const tp_qform *f,
                         const char *key, int depth)
{
    char base[KEY_MAX], entry[KEY_MAX], k[KEY_MAX], v[KEY_MAX];
    if (flattened ? join(base, "", key) : join(base, key, "entry"))
        return NULL;
    long *idx;
    size_t n = indexes(f, base, &idx);
    if (!n) {
        free(idx);
        return NULL;
    }
    cJSON *obj = cJSON_CreateObject();
    for (size_t i = 0; obj && i < n; i++) {
        char num[24];
        snprintf(num, sizeof num, "%ld", idx[i]);
        if (join(entry, base, num) || join(k, entry, shape->key_name) ||
            join(v, entry, shape->value_name))
            continue;
        const char *name = lookup(f, k);
        if (!name)
            continue;
        cJSON *val = decode_value(shape->value, f, v, depth + 1);
        if (!val)
            val = shape->value->kind == TP_Q_STRUCT ? cJSON_CreateObject() : cJSON_CreateString("");
        if (cJSON_GetObjectItemCaseSensitive(obj, name))
            cJSON_ReplaceItemInObjectCaseSensitive(obj, name, val);
        else
            cJSON_AddItemToObject(obj, name, val);
    }
    free(idx);
    return obj;
}

static cJSON *decode_struct(const tp_qshape *shape, const tp_qform *f, const char *prefix,
                            int depth, int always)
{
    cJSON *obj = cJSON_CreateObject();
    char key[KEY_MAX];
    for (size_t i = 0; obj && i < shape->nmembers; i++) {
        const tp_qmember *m = &shape->members[i];
        if (join(key, prefix, m->wire))
            continue;
        cJSON *v;
        if (m->shape->kind == TP_Q_LIST)
            v = decode_list(m->shape, m->flattened, f, key, depth);
        else if (m->shape->kind == TP_Q_MAP)
            v = decode_map(m->shape, m->flattened, f, key, depth);
        else
            v = decode_value(m->shape, f, key, depth);
        if (v)
            cJSON_AddItemToObject(obj, m->name, v);
    }
    if (obj && !always && !obj->child) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

static cJSON *decode_value(const tp_qshape *shape, const tp_qform *f, const char *key, int depth)
{
    if (depth > 16)
        return NULL;
    switch (shape->kind) {
    case TP_Q_STRUCT:
        return decode_struct(shape, f, key, depth, 0);
    case TP_Q_LIST:
        return decode_list(shape, 0, f, key, depth);
    case TP_Q_MAP:
        return decode_map(shape, 0, f, key, depth);
    default: {
        const char *v = lookup(f, key);
        return v ? scalar(shape, v) : NULL;
    }
    }
}

cJSON *tp_query_decode(const tp_qop *op, tp_qform *form)
{
    if (form->n > 1)
        qsort(form->pairs, form->n, sizeof *form->pairs, pair_cmp);
    if (!op->input)
        return cJSON_CreateObject();
    return decode_struct(op->input, form, "", 0, 1);
}

/* --- lookups ------------------------------------------------------------ */

const tp_qop *tp_query_find_op(const tp_query_api *api, const char *action)
{
    if (!action)
        return NULL;
    for (size_t i = 0; i < api->nops; i++)
        if (strcmp(api->ops[i].name, action) == 0)
            return &api->ops[i];
    return NULL;
}

void tp_query_error_code(const tp_query_api *api, const tp_error *err, const char **query_code,
                         int *sender)
{
    for (size_t i = 0; i < api->nerrors; i++) {
        if (strcmp(api->errors[i].code, err->code) == 0) {
            *query_code = api->errors[i].query_code;
            *sender = api->errors[i].sender;
            return;
        }
    }
    /* The AWS front end's own errors are named without "Exception" in the
     * query protocol (STS and SQS answer MissingAuthenticationToken,
     * InvalidClientTokenId) */
    static const char *const front[][2] = {
        {"MissingAuthenticationTokenException", "MissingAuthenticationToken"},
        {"IncompleteSignatureException", "IncompleteSignature"},
        {"InvalidSignatureException", "SignatureDoesNotMatch"},
        {"UnrecognizedClientException", "InvalidClientTokenId"},
    };
    *query_code = err->code;
    for (size_t i = 0; i < sizeof front / sizeof front[0]; i++)
        if (strcmp(err->code, front[i][0]) == 0)
            *query_code = front[i][1];
    *sender = err->status < 500;
}

/* --- encoding ----------------------------------------------------------- */

void tp_query_xml_escape(tp_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#xD;"; break;
        default:
            /* U+0000 (held as 0xC0 0x80) has no XML form at all */
            if ((unsigned char)s[0] == 0xC0 && (unsigned char)s[1] == 0x80)
                rep = "";
            break;
        }
        if (!rep)
            continue;
        tp_buf_append(b, run, (size_t)(s - run));
        tp_buf_puts(b, rep);
        if (!*rep)
            s++;   /* the 0x80 */
        run = s + 1;
    }
    tp_buf_append(b, run, (size_t)(s - run));
}

static void put_scalar(tp_buf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        tp_query_xml_escape(b, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        tp_buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d && d < 9.2e18 && d > -9.2e18)
            tp_buf_printf(b, "%lld", (long long)d);
        else
            tp_buf_printf(b, "%.17g", d);
    }
}

static void encode_value(tp_buf *b, const tp_qshape *shape, const cJSON *v, int depth);

static void open_tag(tp_buf *b, const char *name) { tp_buf_printf(b, "<%s>", name); }
static void close_tag(tp_buf *b, const char *name) { tp_buf_printf(b, "</%s>", name); }

static void encode_list(tp_buf *b, const tp_qshape *shape, int flattened, const char *wire,
                        const cJSON *v, int depth)
{
    const char *item = flattened ? wire : shape->item ? shape->item : "member";
    if (!flattened)
        open_tag(b, wire);
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        open_tag(b, item);
        encode_value(b, shape->member, e, depth + 1);
        close_tag(b, item);
    }
    if (!flattened)
        close_tag(b, wire);
}

static void encode_map(tp_buf *b, const tp_qshape *shape, int flattened, const char *wire,
                       const cJSON *v, int depth)
{
    const char *entry = flattened ? wire : "entry";
    if (!flattened)
        open_tag(b, wire);
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!e->string)
            continue;
        open_tag(b, entry);
        open_tag(b, shape->key_name);
        tp_query_xml_escape(b, e->string);
        close_tag(b, shape->key_name);
        open_tag(b, shape->value_name);
        encode_value(b, shape->value, e, depth + 1);
        close_tag(b, shape->value_name);
        close_tag(b, entry);
    }
    if (!flattened)
        close_tag(b, wire);
}

static void encode_struct(tp_buf *b, const tp_qshape *shape, const cJSON *v, int depth)
{
    for (size_t i = 0; i < shape->nmembers; i++) {
        const tp_qmember *m = &shape->members[i];
        const cJSON *mv = cJSON_GetObjectItemCaseSensitive(v, m->name);
        if (!mv || cJSON_IsNull(mv))
            continue;
        if (m->shape->kind == TP_Q_LIST) {
            encode_list(b, m->shape, m->flattened, m->wire, mv, depth);
        } else if (m->shape->kind == TP_Q_MAP) {
            encode_map(b, m->shape, m->flattened, m->wire, mv, depth);
        } else {
            open_tag(b, m->wire);
            encode_value(b, m->shape, mv, depth);
            close_tag(b, m->wire);
        }
    }
}

static void encode_value(tp_buf *b, const tp_qshape *shape, const cJSON *v, int depth)
{
    if (depth > 16)
        return;
    switch (shape->kind) {
    case TP_Q_STRUCT:
        encode_struct(b, shape, v, depth + 1);
        break;
    case TP_Q_LIST: {
        /* a list directly inside a list or map: not flattened */
        const cJSON *e;
        const char *item = shape->item ? shape->item : "member";
        cJSON_ArrayForEach(e, v)
        {
            open_tag(b, item);
            encode_value(b, shape->member, e, depth + 1);
            close_tag(b, item);
        }
        break;
    }
    case TP_Q_MAP: {
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            if (!e->string)
                continue;
            tp_buf_puts(b, "<entry>");
            open_tag(b, shape->key_name);
            tp_query_xml_escape(b, e->string);
            close_tag(b, shape->key_name);
            open_tag(b, shape->value_name);
            encode_value(b, shape->value, e, depth + 1);
            close_tag(b, shape->value_name);
            tp_buf_puts(b, "</entry>");
        }
        break;
    }
    default:
        put_scalar(b, v);
        break;
    }
}

int tp_query_encode(const tp_query_api *api, const tp_qop *op, const cJSON *out,
                    const char *request_id, tp_buf *b)
{
    tp_buf_printf(b, "<?xml version=\"1.0\"?><%sResponse xmlns=\"%s\">", op->name, api->xmlns);
    if (op->output && op->result) {
        size_t mark = b->len;
        open_tag(b, op->result);
        size_t inner = b->len;
        if (out)
            encode_struct(b, op->output, out, 0);
        if (b->len == inner) {
            b->len = mark;   /* nothing inside: <XResult/> */
            tp_buf_printf(b, "<%s/>", op->result);
        } else {
            close_tag(b, op->result);
        }
    }
    tp_buf_puts(b, "<ResponseMetadata><RequestId>");
    tp_query_xml_escape(b, request_id ? request_id : "");
    tp_buf_printf(b, "</RequestId></ResponseMetadata></%sResponse>", op->name);
    return b->data ? 0 : -1;
}

/* Errors the query protocol words differently from the JSON protocol
 * (same code, same status): SQS answers a query client's missing queue
 * with the WSDL-era sentence. */
static const char *query_message(const char *query_code, const char *message)
{
    static const char *const words[][3] = {
        {"AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.",
         "The specified queue does not exist for this wsdl version."},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(query_code, words[i][0]) == 0 && strcmp(message, words[i][1]) == 0)
            return words[i][2];
    return message;
}

int tp_query_error(const tp_query_api *api, const tp_error *err, const char *request_id, tp_buf *b)
{
    const char *code;
    int sender;
    tp_query_error_code(api, err, &code, &sender);
    tp_buf_printf(b, "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"%s\"><Error><Type>%s</Type><Code>",
                  api->xmlns, sender ? "Sender" : "Receiver");
    tp_query_xml_escape(b, code);
    tp_buf_puts(b, "</Code><Message>");
    tp_query_xml_escape(b, query_message(code, err->message));
    tp_buf_puts(b, "</Message><Detail/></Error><RequestId>");
    tp_query_xml_escape(b, request_id ? request_id : "");
    tp_buf_puts(b, "</RequestId></ErrorResponse>");
    return b->data ? 0 : -1;
}
