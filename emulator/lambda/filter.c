/* lambda/filter — an event source mapping's FilterCriteria: each pattern is
 * compiled once into a small tree, and esm_filter_match tests one event
 * record (the JSON object the handler would get) against the tree. It does
 * not read or change any state; esm.c validates with it on Create/Update
 * and poller.c drops the records that match no filter.
 *
 * Syntax (Lambda "Filter rule syntax", the EventBridge pattern language
 * restricted to the operators Lambda and EventBridge Pipes document):
 *
 *   FilterCriteria  {"Filters": [{"Pattern": "<JSON text>"}, ...]}
 *                   at most 5 filters (Lambda's default quota), each
 *                   pattern at most 4096 characters; a record passes when
 *                   ANY filter matches. No criteria / no Filters: all pass.
 *   pattern         a non-empty JSON object; all its keys must match (AND).
 *   "key": {...}    descends into the record's object at "key".
 *   "key": [c, ...] a leaf: matches when any condition c matches any value
 *                   at "key" (a record array counts as each of its elements).
 *   "$or": [{...}, {...}, ...]  at least two objects, one must match at
 *                   this level.
 *   conditions      "text"   equal string ("" = empty string)
 *                   42, 1.5  equal number
 *                   true, false, null
 *                   {"prefix": "us-"}        {"prefix": {"equals-ignore-case": "us-"}}
 *                   {"suffix": ".png"}       {"suffix": {"equals-ignore-case": ".PNG"}}
 *                   {"equals-ignore-case": "alice"}
 *                   {"numeric": ["=", 100]}  {"numeric": [">", 10, "<=", 20]}
 *                       (">"/">=" optionally followed by "<"/"<="; or "<"/"<=" alone)
 *                   {"exists": true}         {"exists": false}
 *                   {"anything-but": "x"} / 5 / ["x", "y"] / [1, 2]
 *                       (a list is all strings or all numbers; matches any
 *                       present value not listed, never a missing key)
 *
 * Not accepted, as Lambda does not support them (EventBridge's operator
 * table marks them "Pipe support: No", and Lambda's table leaves them
 * out): "wildcard", "cidr", and anything-but of a {"prefix"|"suffix"|
 * "equals-ignore-case"|"wildcard"} object. Those, malformed operators and
 * text that is not JSON fail with InvalidParameterValueException "Invalid
 * filter pattern definition." — the one message Lambda uses for a pattern
 * it refuses.
 *
 * Matching follows EventBridge's rules: strings match strings only, numbers
 * numbers only (a pattern "5" never matches the number 5, nor 5 the string
 * "5"); exists and the comparisons see leaf values only, so an object at
 * "key" does not "exist" (Lambda's docs: Exists works on leaf nodes); null
 * is a present value. AWS documents that numbers compare by their text
 * (300 and 300.0 differ); a cJSON record keeps no number text, so tidepool
 * compares numbers by value — the same for every number tidepool writes.
 *
 * DynamoDB numbers: a stream record carries them as strings inside
 * {"N": "..."}, so "numeric" never matches them (Lambda's DynamoDB filtering
 * page: numeric operators are not supported for DynamoDB); filter them as
 * strings, {"dynamodb": {"NewImage": {"qty": {"N": ["5"]}}}}.
 *
 * equals-ignore-case folds ASCII letters only. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "lambda.h"

enum { FILTER_MAX = 5, PATTERN_MAX_CHARS = 4096 };

static const char INVALID_PATTERN[] = "Invalid filter pattern definition.";

typedef enum cond_kind {
    COND_STRING,
    COND_NUMBER,
    COND_TRUE,
    COND_FALSE,
    COND_NULL,
    COND_PREFIX,
    COND_PREFIX_CI,
    COND_SUFFIX,
    COND_SUFFIX_CI,
    COND_EQUALS_CI,
    COND_NUMERIC,
    COND_EXISTS,
    COND_ABSENT,
    COND_BUT_STRINGS,   /* anything-but: a string or an array of strings */
    COND_BUT_NUMBERS,   /* anything-but: a number or an array of numbers */
} cond_kind;

typedef struct cond {
    cond_kind kind;
    const char *str;    /* borrowed from the filter's parsed pattern */
    size_t len;
    double num;
    double lo, hi;      /* COND_NUMERIC: bounds that are set */
    unsigned char has_lo, lo_open, has_hi, hi_open;
    const cJSON *set;   /* anything-but: the value (one, or an array); borrowed */
} cond;

typedef struct pnode pnode;

typedef struct pfield {
    const char *key;
    pnode *sub;         /* nested object pattern, or NULL for a leaf */
    cond *conds;
    size_t nconds;
    int absent_ok;      /* a leaf with {"exists": false} */
} pfield;

typedef struct por {
    pnode **alts;
    size_t nalts;
} por;

struct pnode {
    pfield *fields;
    size_t nfields;
    por *ors;
    size_t nors;
};

/* Everything a filter compiles to comes from one bump arena freed at once. */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
} arena_block;

struct esm_filter {
    size_t n;
    cJSON *doc[FILTER_MAX];
    pnode *root[FILTER_MAX];
    arena_block *arena;
};

static void *arena_alloc(esm_filter *f, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (size == 0)
        size = sizeof(max_align_t);
    arena_block *b = f->arena;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 4096 ? size : 4096;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = f->arena;
        b->used = 0;
        b->cap = cap;
        f->arena = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

/* --- compile ------------------------------------------------------------------ */

static int is_finite_number(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble);
}

/* {"equals-ignore-case": "text"} as the value of prefix/suffix. */
static const char *ignore_case_operand(const cJSON *v)
{
    if (!cJSON_IsObject(v) || !v->child || v->child->next)
        return NULL;
    const cJSON *c = v->child;
    if (strcmp(c->string, "equals-ignore-case") != 0 || !cJSON_IsString(c))
        return NULL;
    return c->valuestring;
}

static void set_str(cond *c, cond_kind kind, const char *s)
{
    c->kind = kind;
    c->str = s;
    c->len = strlen(s);
}

static int compile_numeric(cond *c, const cJSON *arr)
{
    if (!cJSON_IsArray(arr))
        return -1;
    int n = cJSON_GetArraySize(arr);
    if (n != 2 && n != 4)
        return -1;
    const cJSON *op = cJSON_GetArrayItem(arr, 0), *val = cJSON_GetArrayItem(arr, 1);
    if (!cJSON_IsString(op) || !is_finite_number(val))
        return -1;
    const char *o = op->valuestring;
    c->kind = COND_NUMERIC;
    if (strcmp(o, "=") == 0) {
        if (n != 2)
            return -1;
        c->has_lo = c->has_hi = 1;
        c->lo = c->hi = val->valuedouble;
        return 0;
    }
    if (strcmp(o, "<") == 0 || strcmp(o, "<=") == 0) {
        if (n != 2)
            return -1;
        c->has_hi = 1;
        c->hi_open = o[1] == '\0';
        c->hi = val->valuedouble;
        return 0;
    }
    if (strcmp(o, ">") != 0 && strcmp(o, ">=") != 0)
        return -1;
    c->has_lo = 1;
    c->lo_open = o[1] == '\0';
    c->lo = val->valuedouble;
    if (n == 2)
        return 0;
    const cJSON *op2 = cJSON_GetArrayItem(arr, 2), *val2 = cJSON_GetArrayItem(arr, 3);
    if (!cJSON_IsString(op2) || !is_finite_number(val2))
        return -1;
    if (strcmp(op2->valuestring, "<") != 0 && strcmp(op2->valuestring, "<=") != 0)
        return -1;
    c->has_hi = 1;
    c->hi_open = op2->valuestring[1] == '\0';
    c->hi = val2->valuedouble;
    /* an empty range is a mistake, as EventBridge's range check says */
    return c->lo < c->hi ? 0 : -1;
}

static int compile_anything_but(cond *c, const cJSON *v)
{
    c->set = v;
    if (cJSON_IsString(v)) {
        c->kind = COND_BUT_STRINGS;
        return 0;
    }
    if (is_finite_number(v)) {
        c->kind = COND_BUT_NUMBERS;
        return 0;
    }
    if (!cJSON_IsArray(v) || !v->child)
        return -1;
    int strings = 0, numbers = 0;
    for (const cJSON *e = v->child; e; e = e->next) {
        if (cJSON_IsString(e))
            strings++;
        else if (is_finite_number(e))
            numbers++;
        else
            return -1;
    }
    if (strings && numbers)
        return -1;
    c->kind = strings ? COND_BUT_STRINGS : COND_BUT_NUMBERS;
    return 0;
}

/* One {"operator": operand} condition. */
static int compile_match(cond *c, const cJSON *obj)
{
    if (!obj->child || obj->child->next)
        return -1;
    const cJSON *v = obj->child;
    const char *op = v->string;
    const char *ci;
    if (strcmp(op, "prefix") == 0 || strcmp(op, "suffix") == 0) {
        int prefix = op[0] == 'p';
        if (cJSON_IsString(v))
            set_str(c, prefix ? COND_PREFIX : COND_SUFFIX, v->valuestring);
        else if ((ci = ignore_case_operand(v)))
            set_str(c, prefix ? COND_PREFIX_CI : COND_SUFFIX_CI, ci);
        else
            return -1;
        return 0;
    }
    if (strcmp(op, "equals-ignore-case") == 0) {
        if (!cJSON_IsString(v))
            return -1;
        set_str(c, COND_EQUALS_CI, v->valuestring);
        return 0;
    }
    if (strcmp(op, "numeric") == 0)
        return compile_numeric(c, v);
    if (strcmp(op, "exists") == 0) {
        if (!cJSON_IsBool(v))
            return -1;
        c->kind = cJSON_IsTrue(v) ? COND_EXISTS : COND_ABSENT;
        return 0;
    }
    if (strcmp(op, "anything-but") == 0)
        return compile_anything_but(c, v);
    return -1;   /* wildcard, cidr, exact and anything unknown */
}

static int compile_leaf(esm_filter *f, pfield *pf, const cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    if (n <= 0)
        return -1;
    pf->conds = arena_alloc(f, (size_t)n * sizeof(cond));
    if (!pf->conds)
        return -1;
    for (const cJSON *e = arr->child; e; e = e->next) {
        cond *c = &pf->conds[pf->nconds++];
        if (cJSON_IsString(e))
            set_str(c, COND_STRING, e->valuestring);
        else if (is_finite_number(e)) {
            c->kind = COND_NUMBER;
            c->num = e->valuedouble;
        } else if (cJSON_IsTrue(e))
            c->kind = COND_TRUE;
        else if (cJSON_IsFalse(e))
            c->kind = COND_FALSE;
        else if (cJSON_IsNull(e))
            c->kind = COND_NULL;
        else if (cJSON_IsObject(e)) {
            if (compile_match(c, e) != 0)
                return -1;
        } else
            return -1;
        if (c->kind == COND_ABSENT)
            pf->absent_ok = 1;
    }
    return 0;
}

static pnode *compile_object(esm_filter *f, const cJSON *obj)
{
    if (!cJSON_IsObject(obj) || !obj->child)
        return NULL;
    pnode *p = arena_alloc(f, sizeof *p);
    if (!p)
        return NULL;
    size_t nfields = 0, nors = 0;
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (strcmp(c->string, "$or") == 0)
            nors++;
        else
            nfields++;
    }
    if (nfields && !(p->fields = arena_alloc(f, nfields * sizeof(pfield))))
        return NULL;
    if (nors && !(p->ors = arena_alloc(f, nors * sizeof(por))))
        return NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (strcmp(c->string, "$or") == 0) {
            int n = cJSON_GetArraySize(c);
            if (!cJSON_IsArray(c) || n < 2)
                return NULL;
            por *o = &p->ors[p->nors++];
            if (!(o->alts = arena_alloc(f, (size_t)n * sizeof(pnode *))))
                return NULL;
            for (const cJSON *alt = c->child; alt; alt = alt->next)
                if (!(o->alts[o->nalts++] = compile_object(f, alt)))
                    return NULL;
            continue;
        }
        pfield *pf = &p->fields[p->nfields++];
        pf->key = c->string;
        if (cJSON_IsObject(c)) {
            if (!(pf->sub = compile_object(f, c)))
                return NULL;
        } else if (cJSON_IsArray(c)) {
            if (compile_leaf(f, pf, c) != 0)
                return NULL;
        } else
            return NULL;
    }
    return p;
}

/* Characters, not bytes: the API's length limits count characters. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

esm_filter *esm_filter_new(const cJSON *criteria, tp_error *err)
{
    esm_filter *f = calloc(1, sizeof *f);
    if (!f) {
        tp_fail(err, TP_ERR_LAMBDA_SERVICE, "%s", "out of memory");
        return NULL;
    }
    if (!criteria || cJSON_IsNull(criteria))
        return f;
    const cJSON *filters = cJSON_GetObjectItemCaseSensitive(criteria, "Filters");
    if (!cJSON_IsObject(criteria) || (filters && !cJSON_IsNull(filters) && !cJSON_IsArray(filters)))
        goto invalid;
    if (cJSON_GetArraySize(filters) > FILTER_MAX)
        goto invalid;
    for (const cJSON *flt = filters ? filters->child : NULL; flt; flt = flt->next) {
        const char *text = tp_json_str(flt, "Pattern");
        if (!text || !*text || utf8_chars(text) > PATTERN_MAX_CHARS)
            goto invalid;
        cJSON *doc = tp_json_parse(text, strlen(text));
        if (!doc)
            goto invalid;
        f->doc[f->n] = doc;
        f->root[f->n] = compile_object(f, doc);
        f->n++;
        if (!f->root[f->n - 1])
            goto invalid;
    }
    return f;
invalid:
    esm_filter_free(f);
    tp_fail(err, TP_ERR_LAMBDA_INVALID_PARAMETER, "%s", INVALID_PATTERN);
    return NULL;
}

void esm_filter_free(esm_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        cJSON_Delete(f->doc[i]);
    for (arena_block *b = f->arena, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(f);
}

/* --- match -------------------------------------------------------------------- */

static int is_leaf(const cJSON *v)
{
    return v && !cJSON_IsObject(v) && !cJSON_IsArray(v);
}

static int fold(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int equal_ci(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return 0;
    return 1;
}

static int in_set(const cJSON *set, const cJSON *v, int numbers)
{
    if (numbers ? !cJSON_IsNumber(v) : !cJSON_IsString(v))
        return 0;
    const cJSON *e = cJSON_IsArray(set) ? set->child : set;
    for (; e; e = cJSON_IsArray(set) ? e->next : NULL) {
        if (numbers ? e->valuedouble == v->valuedouble : strcmp(e->valuestring, v->valuestring) == 0)
            return 1;
    }
    return 0;
}

static int cond_match(const cond *c, const cJSON *v)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    size_t n = s ? strlen(s) : 0;
    switch (c->kind) {
    case COND_STRING:
        return s && n == c->len && memcmp(s, c->str, n) == 0;
    case COND_NUMBER:
        return cJSON_IsNumber(v) && v->valuedouble == c->num;
    case COND_TRUE:
        return cJSON_IsTrue(v);
    case COND_FALSE:
        return cJSON_IsFalse(v);
    case COND_NULL:
        return cJSON_IsNull(v);
    case COND_PREFIX:
        return s && n >= c->len && memcmp(s, c->str, c->len) == 0;
    case COND_PREFIX_CI:
        return s && n >= c->len && equal_ci(s, c->str, c->len);
    case COND_SUFFIX:
        return s && n >= c->len && memcmp(s + n - c->len, c->str, c->len) == 0;
    case COND_SUFFIX_CI:
        return s && n >= c->len && equal_ci(s + n - c->len, c->str, c->len);
    case COND_EQUALS_CI:
        return s && n == c->len && equal_ci(s, c->str, n);
    case COND_NUMERIC: {
        if (!cJSON_IsNumber(v))
            return 0;
        double x = v->valuedouble;
        if (c->has_lo && (c->lo_open ? !(x > c->lo) : !(x >= c->lo)))
            return 0;
        if (c->has_hi && (c->hi_open ? !(x < c->hi) : !(x <= c->hi)))
            return 0;
        return 1;
    }
    case COND_EXISTS:
        return 1;
    case COND_ABSENT:
        return 0;
    case COND_BUT_STRINGS:
        return !in_set(c->set, v, 0);
    case COND_BUT_NUMBERS:
        return !in_set(c->set, v, 1);
    }
    return 0;
}

/* A record array stands for each of its elements (nested arrays too). */
static int has_leaf(const cJSON *v)
{
    if (!cJSON_IsArray(v))
        return is_leaf(v);
    for (const cJSON *e = v->child; e; e = e->next)
        if (has_leaf(e))
            return 1;
    return 0;
}

static int any_leaf_matches(const cond *c, const cJSON *v)
{
    if (!cJSON_IsArray(v))
        return is_leaf(v) && cond_match(c, v);
    for (const cJSON *e = v->child; e; e = e->next)
        if (any_leaf_matches(c, e))
            return 1;
    return 0;
}

static int match_leaf(const pfield *pf, const cJSON *v)
{
    if (!has_leaf(v))
        return pf->absent_ok;
    for (size_t i = 0; i < pf->nconds; i++)
        if (any_leaf_matches(&pf->conds[i], v))
            return 1;
    return 0;
}

static int match_node(const pnode *p, const cJSON *v);

static int match_object(const pnode *p, const cJSON *obj)
{
    for (size_t i = 0; i < p->nfields; i++) {
        const pfield *pf = &p->fields[i];
        const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, pf->key) : NULL;
        if (!(pf->sub ? match_node(pf->sub, v) : match_leaf(pf, v)))
            return 0;
    }
    for (size_t i = 0; i < p->nors; i++) {
        const por *o = &p->ors[i];
        size_t k = 0;
        while (k < o->nalts && !match_object(o->alts[k], obj))
            k++;
        if (k == o->nalts)
            return 0;
    }
    return 1;
}

/* Some object element of the array (or of arrays inside it) matches. */
static int match_array(const pnode *p, const cJSON *arr, int *saw_object)
{
    for (const cJSON *e = arr->child; e; e = e->next) {
        if (cJSON_IsObject(e)) {
            *saw_object = 1;
            if (match_object(p, e))
                return 1;
        } else if (cJSON_IsArray(e) && match_array(p, e, saw_object))
            return 1;
    }
    return 0;
}

/* An object pattern against whatever the record has there: an object, an
 * array of objects (any one may match, all keys in the same element), or
 * nothing usable (only absence conditions can hold). */
static int match_node(const pnode *p, const cJSON *v)
{
    if (cJSON_IsObject(v))
        return match_object(p, v);
    if (cJSON_IsArray(v)) {
        int saw_object = 0;
        if (match_array(p, v, &saw_object))
            return 1;
        if (saw_object)
            return 0;
    }
    return match_object(p, NULL);
}

int esm_filter_match(const esm_filter *f, const cJSON *record)
{
    if (!f || f->n == 0)
        return 1;
    for (size_t i = 0; i < f->n; i++)
        if (match_node(f->root[i], record))
            return 1;
    return 0;
}
