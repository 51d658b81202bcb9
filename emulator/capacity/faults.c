/* capacity/faults — fault-injection rules (faults.h). */
#include "faults.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/rng.h"

typedef struct rule {
    char id[64];
    cJSON *src;                 /* the rule as given (listed back) */
    int from_config;
    int fn_effect;              /* "fail" or "timeout": checked for invocations only */
    char *service, *operation, *resource;
    int64_t every, after, count;     /* 0: not set */
    double probability;              /* < 0: not set */
    uint64_t seed;
    int64_t from_ms, until_ms;       /* INT64_MIN / INT64_MAX: open */
    tp_fault_hit effect;
    /* state */
    tp_rng rng;
    uint64_t matched, fired;
    struct rule *next;
} rule;

struct tp_faults {
    pthread_mutex_t lock;
    rule *rules;
    uint64_t next_id;
};

int tp_faults_glob(const char *p, const char *s)
{
    for (; *p; p++, s++) {
        if (*p == '*') {
            while (p[1] == '*')
                p++;
            if (!p[1])
                return 1;
            for (; *s; s++)
                if (tp_faults_glob(p + 1, s))
                    return 1;
            return tp_faults_glob(p + 1, s);
        }
        if (!*s || (*p != '?' && *p != *s))
            return 0;
    }
    return *s == '\0';
}

tp_faults *tp_faults_new(void)
{
    tp_faults *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->next_id = 1;
    return f;
}

static void rule_free(rule *r)
{
    if (!r)
        return;
    cJSON_Delete(r->src);
    free(r->service);
    free(r->operation);
    free(r->resource);
    free(r);
}

static void rule_rearm(rule *r)
{
    r->matched = r->fired = 0;
    tp_rng_seed(&r->rng, r->seed);
}

void tp_faults_free(tp_faults *f)
{
    if (!f)
        return;
    tp_faults_remove_all(f);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* --- validation ----------------------------------------------------------- */

static int bad(char *why, size_t cap, const char *fmt, const char *a)
{
    snprintf(why, cap, fmt, a);
    return -1;
}

static int get_int(const cJSON *v, const char *key, int64_t min, int64_t max, int64_t *out,
                   char *why, size_t cap)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)min || v->valuedouble > (double)max) {
        char m[200];
        snprintf(m, sizeof m, "fault rule: \"%s\" must be an integer from %lld to %lld", key,
                 (long long)min, (long long)max);
        return bad(why, cap, "%s", m);
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_pattern(const cJSON *v, const char *key, char **out, char *why, size_t cap)
{
    if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 1024)
        return bad(why, cap, "fault rule: \"%s\" must be a non-empty string (wildcards * and ?)",
                   key);
    *out = strdup(v->valuestring);
    return *out ? 0 : bad(why, cap, "%s", "out of memory");
}

static int get_bool(const cJSON *v, const char *key, int *out, char *why, size_t cap)
{
    if (!cJSON_IsBool(v))
        return bad(why, cap, "fault rule: \"%s\" must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int valid_code(const char *s)
{
    if (!*s || strlen(s) > 100)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '#' || *s == ':' || *s == '_'))
            return 0;
    return 1;
}

static int parse_error(const cJSON *e, tp_fault_hit *h, char *why, size_t cap)
{
    if (!cJSON_IsObject(e))
        return bad(why, cap, "%s",
                   "fault rule: \"error\" must be an object {\"code\", \"status\", \"message\"}");
    const cJSON *m;
    cJSON_ArrayForEach(m, e) {
        if (strcmp(m->string, "code") && strcmp(m->string, "status") && strcmp(m->string, "message"))
            return bad(why, cap,
                       "fault rule: unknown key \"%.100s\" in \"error\" (allowed: code, status, message)",
                       m->string);
    }
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    if (!cJSON_IsString(code) || !valid_code(code->valuestring))
        return bad(why, cap, "%s",
                   "fault rule: \"error.code\" must be an AWS error code such as "
                   "\"InternalServerError\" (letters, digits, . # : _)");
    snprintf(h->code, sizeof h->code, "%s", code->valuestring);
    const tp_error_info *info = tp_error_info_find(h->code);
    int64_t status = info ? info->status : 400;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");
    if (st && get_int(st, "error.status", 400, 599, &status, why, cap) != 0)
        return -1;
    h->status = (int)status;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (msg && (!cJSON_IsString(msg) || strlen(msg->valuestring) >= sizeof h->message))
        return bad(why, cap, "%s", "fault rule: \"error.message\" must be a string under 512 bytes");
    snprintf(h->message, sizeof h->message, "%s", msg ? msg->valuestring : "");
    h->has_error = 1;
    return 0;
}

static const char *const known_keys[] = {
    "id", "description", "service", "operation", "resource", "every", "after", "probability",
    "seed", "from_ms", "until_ms", "count", "error", "latency_ms", "drop_connection",
    "lose_response", "fail", "timeout"};

/* "fail": true, or {"errorType", "errorMessage"}: the invocation fails
 * without running its handler, with that error. */
static int parse_fail(const cJSON *v, tp_fault_hit *h, char *why, size_t cap)
{
    snprintf(h->fail_type, sizeof h->fail_type, "%s", "InjectedFault");
    snprintf(h->fail_message, sizeof h->fail_message, "%s", "fault injection failed the invocation");
    if (cJSON_IsTrue(v)) {
        h->fn_fail = 1;
        return 0;
    }
    if (!cJSON_IsObject(v))
        return bad(why, cap, "%s",
                   "fault rule: \"fail\" must be true or an object {\"errorType\", \"errorMessage\"}");
    const cJSON *m;
    cJSON_ArrayForEach(m, v) {
        if (strcmp(m->string, "errorType") && strcmp(m->string, "errorMessage"))
            return bad(why, cap,
                       "fault rule: unknown key \"%.100s\" in \"fail\" (allowed: errorType, "
                       "errorMessage)",
                       m->string);
        if (!cJSON_IsString(m) || strlen(m->valuestring) >= 500)
            return bad(why, cap, "fault rule: \"fail.%s\" must be a string under 500 bytes",
                       m->string);
    }
    const char *t = tp_json_str(v, "errorType"), *msg = tp_json_str(v, "errorMessage");
    if (t)
        snprintf(h->fail_type, sizeof h->fail_type, "%s", t);
    if (msg)
        snprintf(h->fail_message, sizeof h->fail_message, "%s", msg);
    h->fn_fail = 1;
    return 0;
}

static int parse_rule(const cJSON *in, rule *r, char *why, size_t cap)
{
    if (!cJSON_IsObject(in))
        return bad(why, cap, "%s", "a fault rule must be a JSON object");
    const cJSON *m;
    cJSON_ArrayForEach(m, in) {
        size_t i = 0;
        while (i < sizeof known_keys / sizeof known_keys[0] && strcmp(known_keys[i], m->string))
            i++;
        if (i == sizeof known_keys / sizeof known_keys[0]) {
            return bad(why, cap,
                       "fault rule: unknown key \"%.100s\" (allowed: id, description, service, "
                       "operation, resource, every, after, probability, seed, from_ms, until_ms, "
                       "count, error, latency_ms, drop_connection, lose_response, fail, timeout)",
                       m->string);
        }
    }
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "id"))) {
        if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) >= sizeof r->id)
            return bad(why, cap, "%s", "fault rule: \"id\" must be a string of 1 to 63 characters");
        for (const char *p = v->valuestring; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                  *p == '-' || *p == '_' || *p == '.'))
                return bad(why, cap, "%s",
                           "fault rule: \"id\" may hold only letters, digits, - _ and .");
        snprintf(r->id, sizeof r->id, "%s", v->valuestring);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "description")) && !cJSON_IsString(v))
        return bad(why, cap, "%s", "fault rule: \"description\" must be a string");
    tp_fault_hit *h = &r->effect;
    r->fn_effect = cJSON_GetObjectItemCaseSensitive(in, "fail") ||
                   cJSON_GetObjectItemCaseSensitive(in, "timeout");
    static const char *const pat_keys[3] = {"service", "operation", "resource"};
    char **pats[3] = {&r->service, &r->operation, &r->resource};
    for (int i = 0; i < 3; i++) {
        v = cJSON_GetObjectItemCaseSensitive(in, pat_keys[i]);
        const char *dflt = i == 0 ? (r->fn_effect ? "lambda" : "dynamodb")
                                  : (i == 1 && r->fn_effect ? "Invoke" : "*");
        if (v ? get_pattern(v, pat_keys[i], pats[i], why, cap) != 0 : !(*pats[i] = strdup(dflt)))
            return -1;
    }
    if (!strpbrk(r->service, "*?") && strcmp(r->service, "dynamodb") &&
        strcmp(r->service, "dynamodbstreams") && strcmp(r->service, "lambda") &&
        strcmp(r->service, "sqs") && strcmp(r->service, "kinesis"))
        return bad(why, cap,
                   "fault rule: unknown \"service\" \"%.100s\" (use dynamodb, dynamodbstreams, "
                   "sqs, kinesis, lambda or *)",
                   r->service);
    if (r->fn_effect && (strcmp(r->service, "lambda") || strcmp(r->operation, "Invoke")))
        return bad(why, cap, "%s",
                   "fault rule: \"fail\" and \"timeout\" apply to function invocations: "
                   "\"service\" \"lambda\", \"operation\" \"Invoke\", \"resource\" the "
                   "function name");
    int64_t n;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "every"))) {
        if (get_int(v, "every", 1, INT32_MAX, &n, why, cap) != 0)
            return -1;
        r->every = n;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "after"))) {
        if (get_int(v, "after", 0, INT32_MAX, &n, why, cap) != 0)
            return -1;
        r->after = n;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "count"))) {
        if (get_int(v, "count", 1, INT32_MAX, &n, why, cap) != 0)
            return -1;
        r->count = n;
    }
    r->probability = -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "probability"))) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
            return bad(why, cap, "%s", "fault rule: \"probability\" must be a number from 0 to 1");
        r->probability = v->valuedouble;
    }
    r->seed = 1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "seed"))) {
        if (get_int(v, "seed", 0, (int64_t)1 << 53, &n, why, cap) != 0)
            return -1;
        r->seed = (uint64_t)n;
    }
    r->from_ms = INT64_MIN;
    r->until_ms = INT64_MAX;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "from_ms")) &&
        get_int(v, "from_ms", 0, (int64_t)1 << 53, &r->from_ms, why, cap) != 0)
        return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "until_ms")) &&
        get_int(v, "until_ms", 0, (int64_t)1 << 53, &r->until_ms, why, cap) != 0)
        return -1;
    if (r->until_ms <= r->from_ms)
        return bad(why, cap, "%s", "fault rule: \"until_ms\" must be after \"from_ms\"");
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "error")) && parse_error(v, h, why, cap) != 0)
        return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "fail")) && parse_fail(v, h, why, cap) != 0)
        return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "timeout")) &&
        get_bool(v, "timeout", &h->fn_timeout, why, cap) != 0)
        return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "latency_ms")) &&
        get_int(v, "latency_ms", 0, 3600000, &h->latency_ms, why, cap) != 0)
        return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "drop_connection")) &&
        get_bool(v, "drop_connection", &h->drop_connection, why, cap) != 0)
        return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "lose_response")) &&
        get_bool(v, "lose_response", &h->lose_response, why, cap) != 0)
        return -1;
    if (r->fn_effect) {
        if (h->fn_fail + h->fn_timeout != 1 || h->has_error || h->drop_connection ||
            h->lose_response || h->latency_ms)
            return bad(why, cap, "%s",
                       "fault rule: give exactly one of \"fail\" and \"timeout\" (true), with no "
                       "other effect");
        r->src = cJSON_Duplicate(in, 1);
        return r->src ? 0 : bad(why, cap, "%s", "out of memory");
    }
    if (h->has_error + h->drop_connection + h->lose_response > 1)
        return bad(why, cap, "%s",
                   "fault rule: \"error\", \"drop_connection\" and \"lose_response\" exclude each "
                   "other (\"latency_ms\" combines with any of them)");
    if (!h->has_error && !h->drop_connection && !h->lose_response && !h->latency_ms)
        return bad(why, cap, "%s",
                   "fault rule: give an effect: \"error\", \"latency_ms\", \"drop_connection\" "
                   "or \"lose_response\"");
    r->src = cJSON_Duplicate(in, 1);
    return r->src ? 0 : bad(why, cap, "%s", "out of memory");
}

int tp_faults_add(tp_faults *f, const cJSON *in, int from_config, char *id_out, size_t id_cap,
                  char *why, size_t why_cap)
{
    rule *r = calloc(1, sizeof *r);
    if (!r)
        return bad(why, why_cap, "%s", "out of memory");
    if (parse_rule(in, r, why, why_cap) != 0) {
        rule_free(r);
        return -1;
    }
    r->from_config = from_config;
    rule_rearm(r);
    pthread_mutex_lock(&f->lock);
    if (!r->id[0]) {
        int taken;
        do {   /* skip ids a rule named itself */
            snprintf(r->id, sizeof r->id, "rule-%llu", (unsigned long long)f->next_id++);
            taken = 0;
            for (rule *o = f->rules; o && !taken; o = o->next)
                taken = strcmp(o->id, r->id) == 0;
        } while (taken);
    }
    rule **pp = &f->rules;
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, r->id) == 0) {
            pthread_mutex_unlock(&f->lock);
            bad(why, why_cap, "fault rule: a rule with id \"%s\" exists already", r->id);
            rule_free(r);
            return -1;
        }
    }
    *pp = r;
    snprintf(r->effect.rule_id, sizeof r->effect.rule_id, "%s", r->id);
    if (id_out)
        snprintf(id_out, id_cap, "%s", r->id);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

int tp_faults_load_config(tp_faults *f, const cJSON *config, char *why, size_t why_cap)
{
    const cJSON *arr = cJSON_IsObject(config) ? cJSON_GetObjectItemCaseSensitive(config, "faults")
                                              : NULL;
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return bad(why, why_cap, "%s", "config: \"faults\" must be an array of rules");
    const cJSON *r;
    int i = 0;
    cJSON_ArrayForEach(r, arr) {
        char inner[400];
        if (tp_faults_add(f, r, 1, NULL, 0, inner, sizeof inner) != 0) {
            snprintf(why, why_cap, "config: faults[%d]: %s", i, inner);
            return -1;
        }
        i++;
    }
    return 0;
}

int tp_faults_remove(tp_faults *f, const char *id)
{
    pthread_mutex_lock(&f->lock);
    for (rule **pp = &f->rules; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            rule *r = *pp;
            *pp = r->next;
            pthread_mutex_unlock(&f->lock);
            rule_free(r);
            return 0;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return -1;
}

void tp_faults_remove_all(tp_faults *f)
{
    pthread_mutex_lock(&f->lock);
    rule *r = f->rules;
    f->rules = NULL;
    pthread_mutex_unlock(&f->lock);
    while (r) {
        rule *next = r->next;
        rule_free(r);
        r = next;
    }
}

void tp_faults_reset(tp_faults *f)
{
    pthread_mutex_lock(&f->lock);
    rule **pp = &f->rules;
    while (*pp) {
        rule *r = *pp;
        if (!r->from_config) {
            *pp = r->next;
            rule_free(r);
        } else {
            rule_rearm(r);
            pp = &r->next;
        }
    }
    f->next_id = 1;
    pthread_mutex_unlock(&f->lock);
}

cJSON *tp_faults_list(tp_faults *f)
{
    cJSON *arr = cJSON_CreateArray();
    pthread_mutex_lock(&f->lock);
    for (rule *r = f->rules; r; r = r->next) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", r->id);
        cJSON_AddItemToObject(o, "rule", cJSON_Duplicate(r->src, 1));
        cJSON_AddStringToObject(o, "origin", r->from_config ? "config" : "api");
        tp_json_add_int(o, "matched", (int64_t)r->matched);
        tp_json_add_int(o, "fired", (int64_t)r->fired);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&f->lock);
    return arr;
}

size_t tp_faults_count(tp_faults *f)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    for (rule *r = f->rules; r; r = r->next)
        n++;
    pthread_mutex_unlock(&f->lock);
    return n;
}

void tp_faults_resource_of(const cJSON *req, char *out, size_t cap)
{
    out[0] = '\0';
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "TableName");
    if (cJSON_IsString(v)) {
        snprintf(out, cap, "%s", v->valuestring);
        return;
    }
    v = cJSON_GetObjectItemCaseSensitive(req, "RequestItems");
    if (cJSON_IsObject(v) && v->child && v->child->string) {
        snprintf(out, cap, "%s", v->child->string);
        return;
    }
    v = cJSON_GetObjectItemCaseSensitive(req, "TransactItems");
    if (cJSON_IsArray(v) && cJSON_IsObject(v->child) && cJSON_IsObject(v->child->child)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(v->child->child, "TableName");
        if (cJSON_IsString(t))
            snprintf(out, cap, "%s", t->valuestring);
        return;
    }
    /* SQS: the queue's name, the last segment of its URL
     * (http://host:port/<account>/<name>) or CreateQueue's QueueName. */
    v = cJSON_GetObjectItemCaseSensitive(req, "QueueUrl");
    if (cJSON_IsString(v)) {
        const char *slash = strrchr(v->valuestring, '/');
        snprintf(out, cap, "%s", slash ? slash + 1 : v->valuestring);
        return;
    }
    v = cJSON_GetObjectItemCaseSensitive(req, "QueueName");
    if (cJSON_IsString(v)) {
        snprintf(out, cap, "%s", v->valuestring);
        return;
    }
    /* Kinesis: StreamName, else the name in StreamARN
     * (arn:aws:kinesis:<region>:<account>:stream/<name>). */
    v = cJSON_GetObjectItemCaseSensitive(req, "StreamName");
    if (cJSON_IsString(v)) {
        snprintf(out, cap, "%s", v->valuestring);
        return;
    }
    v = cJSON_GetObjectItemCaseSensitive(req, "StreamARN");
    if (cJSON_IsString(v)) {
        const char *p = strstr(v->valuestring, ":stream/");
        if (p) {
            p += 8;
            const char *e = strchr(p, '/');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
        }
        return;
    }
    /* Streams: the table name inside the stream ARN
     * (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>). */
    v = cJSON_GetObjectItemCaseSensitive(req, "StreamArn");
    if (cJSON_IsString(v)) {
        const char *p = strstr(v->valuestring, ":table/");
        if (p) {
            p += 7;
            const char *e = strchr(p, '/');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
        }
    }
}

static int check(tp_faults *f, int fn_effects, const char *service, const char *operation,
                 const char *resource, int64_t now_ms, tp_fault_hit *hit)
{
    if (!f)
        return 0;
    int fired = 0;
    pthread_mutex_lock(&f->lock);
    for (rule *r = f->rules; r && !fired; r = r->next) {
        if (r->fn_effect != fn_effects || !tp_faults_glob(r->service, service ? service : "") ||
            !tp_faults_glob(r->operation, operation ? operation : "") ||
            !tp_faults_glob(r->resource, resource ? resource : "") || now_ms < r->from_ms ||
            now_ms >= r->until_ms)
            continue;
        uint64_t n = ++r->matched;
        if (r->count && r->fired >= (uint64_t)r->count)
            continue;
        if (n <= (uint64_t)r->after)
            continue;
        if (r->every && (n - (uint64_t)r->after) % (uint64_t)r->every != 0)
            continue;
        if (r->probability >= 0 && !(tp_rng_double(&r->rng) < r->probability))
            continue;
        r->fired++;
        *hit = r->effect;
        fired = 1;
    }
    pthread_mutex_unlock(&f->lock);
    return fired;
}

int tp_faults_check(tp_faults *f, const char *service, const char *operation,
                    const char *resource, int64_t now_ms, tp_fault_hit *hit)
{
    return check(f, 0, service, operation, resource, now_ms, hit);
}

int tp_faults_check_invocation(tp_faults *f, const char *function, int64_t now_ms,
                               tp_fault_hit *hit)
{
    return check(f, 1, "lambda", "Invoke", function, now_ms, hit);
}
