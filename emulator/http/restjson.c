/* http/restjson — restJson1 requests and answers (restjson.h). */
#include "restjson.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* --- matching ------------------------------------------------------------- */

/* Length of the segment starting at s (up to '/' or the end). */
static size_t seg_len(const char *s, const char *end)
{
    const char *p = s;
    while (p < end && *p != '/')
        p++;
    return (size_t)(p - s);
}

/* Length of the path part, ignoring one trailing '/' (but not the root). */
static size_t trimmed(const char *s, size_t n)
{
    if (n > 1 && s[n - 1] == '/')
        n--;
    return n;
}

/* Does the template's required query part "k=v&k2" hold for rq? */
static int query_matches(const char *q, const tp_rest_request *rq)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        char part[128];
        if (n >= sizeof part)
            return 0;
        memcpy(part, q, n);
        part[n] = 0;
        char *eq = strchr(part, '=');
        if (eq)
            *eq++ = 0;
        const char *v = rq->query ? rq->query(rq->ctx, part) : NULL;
        if (!v || (eq && strcmp(v, eq) != 0))
            return 0;
        q = amp ? amp + 1 : NULL;
    }
    return 1;
}

/* Walks template t against path p. When labels is not NULL, adds each label
 * value as a string member named by the label. 1 on a match. */
static int walk(const char *t, const char *p, cJSON *labels)
{
    const char *tq = strchr(t, '?');
    const char *tend = t + trimmed(t, tq ? (size_t)(tq - t) : strlen(t));
    const char *pend = p + trimmed(p, strlen(p));
    while (t < tend && p < pend) {
        if (*t != '/' || *p != '/')
            return 0;
        t++;
        p++;
        size_t tl = seg_len(t, tend), pl = seg_len(p, pend);
        if (tl >= 2 && t[0] == '{' && t[tl - 1] == '}') {
            int greedy = tl >= 3 && t[tl - 2] == '+';
            size_t nl = tl - 2 - (size_t)greedy;
            if (greedy)
                pl = (size_t)(pend - p);
            if (pl == 0)
                return 0;
            if (labels) {
                char name[128], *val = malloc(pl + 1);
                if (!val || nl >= sizeof name) {
                    free(val);
                    return 0;
                }
                memcpy(name, t + 1, nl);
                name[nl] = 0;
                memcpy(val, p, pl);
                val[pl] = 0;
                cJSON_AddStringToObject(labels, name, val);
                free(val);
            }
        } else if (tl != pl || memcmp(t, p, tl) != 0) {
            return 0;
        }
        t += tl;
        p += pl;
    }
    return t == tend && p == pend;
}

const tp_rest_op *tp_restjson_match(const tp_rest_api *api, const tp_rest_request *rq)
{
    if (!api || !rq->method || !rq->path)
        return NULL;
    const tp_rest_op *best = NULL;
    int best_literal = INT_MIN;
    for (unsigned i = 0; i < api->nops; i++) {
        const tp_rest_op *op = &api->ops[i];
        if (strcmp(op->method, rq->method) != 0 || !walk(op->uri, rq->path, NULL))
            continue;
        const char *q = strchr(op->uri, '?');
        if (q && !query_matches(q + 1, rq))
            continue;
        /* The most specific template wins (a literal query part counts). */
        int literal = q ? 1000 : 0;
        for (const char *c = op->uri; *c && *c != '?'; c++)
            literal += *c != '{' ? 0 : -1;
        if (literal > best_literal) {
            best = op;
            best_literal = literal;
        }
    }
    return best;
}

/* --- decoding ------------------------------------------------------------- */

/* A text value as the member's JSON type; text that does not convert stays
 * a string, so model validation reports it as AWS would. */
static cJSON *typed_value(const char *v, unsigned char type)
{
    switch (type) {
    case TP_SH_INTEGER:
    case TP_SH_LONG:
    case TP_SH_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (*v && !*end && errno == 0 && isfinite(d) &&
            (type == TP_SH_DOUBLE || d == floor(d)))
            return cJSON_CreateNumber(d);
        break;
    }
    case TP_SH_BOOLEAN:
        if (strcmp(v, "true") == 0)
            return cJSON_CreateTrue();
        if (strcmp(v, "false") == 0)
            return cJSON_CreateFalse();
        break;
    default:
        break;
    }
    return cJSON_CreateString(v);
}

static void set_member(cJSON *obj, const char *name, cJSON *v)
{
    if (!v)
        return;
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v);
    else
        cJSON_AddItemToObject(obj, name, v);
}

static int bad_content(tp_error *err)
{
    return tp_fail_raw(err, 400, "InvalidRequestContentException",
                       "Could not parse request body into json: Could not parse payload into json");
}

static int all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

int tp_restjson_decode(const tp_rest_op *op, const tp_rest_request *rq, cJSON **in,
                       tp_error *err)
{
    *in = NULL;
    const tp_rest_member *payload = NULL;
    for (unsigned i = 0; i < op->nin; i++)
        if (op->in[i].loc == TP_REST_PAYLOAD)
            payload = &op->in[i];
    cJSON *obj = NULL;
    if (payload || !rq->len || all_space(rq->body, rq->len)) {
        obj = cJSON_CreateObject();
    } else {
        obj = tp_json_parse(rq->body, rq->len);
        if (!cJSON_IsObject(obj)) {
            cJSON_Delete(obj);
            return bad_content(err);
        }
    }
    if (!obj)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    if (payload && rq->len) {
        cJSON *v;
        if (payload->type == TP_SH_STRUCTURE) {
            v = tp_json_parse(rq->body, rq->len);
            if (!cJSON_IsObject(v)) {
                cJSON_Delete(v);
                cJSON_Delete(obj);
                return bad_content(err);
            }
        } else {
            char *text = malloc(rq->len + 1);
            if (!text) {
                cJSON_Delete(obj);
                return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
            }
            memcpy(text, rq->body, rq->len);
            text[rq->len] = 0;
            v = cJSON_CreateString(text);
            free(text);
        }
        set_member(obj, payload->name, v);
    }
    cJSON *labels = cJSON_CreateObject();
    walk(op->uri, rq->path, labels);
    for (unsigned i = 0; i < op->nin; i++) {
        const tp_rest_member *m = &op->in[i];
        const char *v = NULL;
        if (m->loc == TP_REST_URI)
            v = tp_json_str(labels, m->wire);
        else if (m->loc == TP_REST_QUERY && rq->query)
            v = rq->query(rq->ctx, m->wire);
        else if (m->loc == TP_REST_HEADER && rq->header)
            v = rq->header(rq->ctx, m->wire);
        if (v)
            set_member(obj, m->name, typed_value(v, m->type));
    }
    cJSON_Delete(labels);
    *in = obj;
    return 0;
}

/* --- responses ------------------------------------------------------------ */

void tp_rest_response_init(tp_rest_response *resp)
{
    memset(resp, 0, sizeof *resp);
    tp_buf_init(&resp->body);
    resp->status = 200;
}

void tp_rest_response_free(tp_rest_response *resp)
{
    for (unsigned i = 0; i < resp->nheaders; i++) {
        free(resp->hname[i]);
        free(resp->hvalue[i]);
    }
    resp->nheaders = 0;
    tp_buf_free(&resp->body);
}

int tp_rest_response_header(tp_rest_response *resp, const char *name, const char *value)
{
    if (resp->nheaders >= TP_REST_MAX_HEADERS)
        return -1;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    resp->hname[resp->nheaders] = n;
    resp->hvalue[resp->nheaders] = v;
    resp->nheaders++;
    return 0;
}

static int put_json(tp_buf *b, const cJSON *v)
{
    char *text = tp_json_print(v);
    if (!text)
        return -1;
    int rc = tp_buf_puts(b, text);
    free(text);
    return rc;
}

int tp_restjson_encode(const tp_rest_op *op, cJSON *out, tp_rest_response *resp)
{
    int rc = 0, has_payload = 0;
    resp->status = op->status;
    for (unsigned i = 0; i < op->nout; i++) {
        const tp_rest_member *m = &op->out[i];
        if (m->loc == TP_REST_PAYLOAD)
            has_payload = 1;
        cJSON *v = out ? cJSON_DetachItemFromObjectCaseSensitive(out, m->name) : NULL;
        if (!v)
            continue;
        char num[32];
        switch (m->loc) {
        case TP_REST_STATUS:
            if (cJSON_IsNumber(v))
                resp->status = (int)v->valuedouble;
            break;
        case TP_REST_HEADER:
            if (cJSON_IsString(v)) {
                rc |= tp_rest_response_header(resp, m->wire, v->valuestring);
            } else if (cJSON_IsNumber(v)) {
                snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
                rc |= tp_rest_response_header(resp, m->wire, num);
            } else if (cJSON_IsBool(v)) {
                rc |= tp_rest_response_header(resp, m->wire, cJSON_IsTrue(v) ? "true" : "false");
            }
            break;
        case TP_REST_PAYLOAD:
            if (cJSON_IsString(v))
                rc |= tp_buf_puts(&resp->body, v->valuestring);
            else if (!cJSON_IsNull(v))
                rc |= put_json(&resp->body, v);
            break;
        default:
            break;
        }
        cJSON_Delete(v);
    }
    if (resp->status == 204 || resp->status == 304) {
        resp->body.len = 0;
        resp->content_type = NULL;
        return rc ? -1 : 0;
    }
    if (!has_payload && op->has_output) {
        if (out)
            rc |= put_json(&resp->body, out);
        else
            rc |= tp_buf_puts(&resp->body, "{}");
    }
    if (resp->body.len || (op->has_output && !has_payload))
        resp->content_type = "application/json";
    return rc ? -1 : 0;
}

/* Errors of the shared front end that the model does not list, and how
 * their bodies spell the message: Lambda's answer to an oversized Invoke
 * is {"Message":"Request must be smaller than 6291456 bytes for the
 * InvokeFunction operation"} under RequestEntityTooLargeException. */
static const struct {
    const char *code, *message;
} front_end_errors[] = {
    {"RequestEntityTooLargeException", "Message"},
};

int tp_restjson_error(const tp_rest_api *api, const tp_error *err, const cJSON *fields,
                      tp_rest_response *resp)
{
    const tp_rest_error *known = NULL;
    for (unsigned i = 0; api && i < api->nerrors; i++)
        if (strcmp(api->errors[i].code, err->code) == 0)
            known = &api->errors[i];
    const char *msg_key = known ? known->message : "message";
    for (size_t i = 0; i < sizeof front_end_errors / sizeof front_end_errors[0]; i++)
        if (strcmp(front_end_errors[i].code, err->code) == 0)
            msg_key = front_end_errors[i].message;
    resp->status = err->status > 0 ? err->status : (known ? known->status : 500);
    resp->content_type = "application/json";
    int rc = tp_rest_response_header(resp, "x-amzn-ErrorType", err->code);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -1;
    /* Service errors carry the model's Type member; errors of the shared
     * front end (validation, auth) only a message. */
    if (known)
        cJSON_AddStringToObject(o, "Type", resp->status >= 500 ? "Service" : "User");
    if (err->message[0])
        cJSON_AddStringToObject(o, msg_key, err->message);
    const cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        if (!f->string || cJSON_GetObjectItemCaseSensitive(o, f->string))
            continue;
        if (strcmp(f->string, "retryAfterSeconds") == 0) {
            if (cJSON_IsString(f))
                rc |= tp_rest_response_header(resp, "Retry-After", f->valuestring);
            continue;
        }
        cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, 1));
    }
    rc |= put_json(&resp->body, o);
    cJSON_Delete(o);
    return rc ? -1 : 0;
}

int tp_restjson_unknown(tp_rest_response *resp)
{
    resp->status = 404;
    resp->content_type = "application/json";
    int rc = tp_rest_response_header(resp, "x-amzn-ErrorType", "UnknownOperationException");
    rc |= tp_buf_puts(&resp->body, "{}");
    return rc ? -1 : 0;
}
