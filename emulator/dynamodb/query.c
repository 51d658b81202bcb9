/* dynamodb/query — Query and Scan, on tables and on secondary indexes.
 *
 * Both read rows in key order from ddb_items (table_id, hk, rk) or
 * ddb_index_items (table_id, index, ihk, irk, hk, rk), whose blobs are
 * keycodec's memcmp-ordered encodings, so "after ExclusiveStartKey" is a
 * comparison of encoded tuples and a sort-key condition is one on bytes.
 *
 * A page stops after Limit items were read (before the filter) or once the
 * items read reach 1 MB; LastEvaluatedKey is then the key of the last item
 * read: the table's key, plus the index's key when reading an index.
 * Capacity: the sizes of the items read are summed, then 1 unit per started
 * 4 KB (at least 1), half for eventually consistent reads.
 *
 * Parallel Scan: an item belongs to segment hash(partition key) mod
 * TotalSegments, so segments are disjoint, complete, and keep all the items
 * of one partition key together, as on AWS.
 *
 * Multi-attribute GSI keys (up to 4 HASH and 4 RANGE attributes): a Query
 * needs = on every HASH attribute and may constrain a left-to-right prefix
 * of the RANGE attributes, = on all but the last, which may also take <,
 * <=, >, >=, BETWEEN or begins_with. The index stores each side as the
 * concatenation of escaped, terminated parts (index.h), so the hash side is
 * encoded whole and each row's range side is split back into its parts to
 * test the prefix (multi_range_ok). ExclusiveStartKey and LastEvaluatedKey
 * carry every key attribute of the index. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/store.h"
#include "ddb.h"
#include "expr/condition.h"
#include "expr/keycond.h"
#include "expr/lexer.h"
#include "expr/projection.h"
#include "index.h"
#include "item.h"
#include "capacity.h"
#include "keycodec.h"

#define PAGE_BYTES (1024 * 1024)
#define MIXED_MSG                                                                              \
    "Can not use both expression and non-expression parameters in the same request: "        \
    "Non-expression parameters: {%s} Expression parameters: {%s}"

/* What a Query or Scan reads: the table or one of its indexes. */
typedef struct source {
    const char *index;      /* NULL: the table */
    int global;
    ddb_keydef hash, range; /* the schema read (range.name empty: none) */
    const char *ptype;      /* index projection: ALL, KEYS_ONLY, INCLUDE */
    /* Every key attribute of the index, in schema order (names borrowed
     * from the table's description); multi when there is more than one
     * per side, and then hash/range above are not used. */
    int multi, nh, nr;
    const char *hn[4], *rn[4];
    char ht[4], rt[4];
} source;

typedef struct request {
    int is_query;
    const char *select;          /* effective Select */
    ddb_keycond *kc;
    ddb_cond *filter;
    ddb_projection *proj;
    const cJSON *atg;            /* AttributesToGet */
    int consistent;
    int64_t limit;               /* 0: none */
    int64_t segment, total;      /* total 0: not parallel */
    int forward;
} request;

static void request_free(request *q)
{
    ddb_keycond_free(q->kc);
    ddb_cond_free(q->filter);
    ddb_projection_free(q->proj);
}

static const cJSON *member(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* --- request-level checks ------------------------------------------------- */

static void list_add(char *buf, size_t cap, const char *name)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", name);
}

static int check_mixing(const cJSON *in, int is_query, tp_error *err)
{
    static const char *const legacy_q[] = {"AttributesToGet", "QueryFilter", "ConditionalOperator",
                                           "KeyConditions"};
    static const char *const legacy_s[] = {"AttributesToGet", "ScanFilter", "ConditionalOperator"};
    static const char *const expr_q[] = {"ProjectionExpression", "FilterExpression",
                                         "KeyConditionExpression"};
    static const char *const expr_s[] = {"ProjectionExpression", "FilterExpression"};
    const char *const *legacy = is_query ? legacy_q : legacy_s;
    const char *const *expr = is_query ? expr_q : expr_s;
    size_t nl = is_query ? 4 : 3, ne = is_query ? 3 : 2;
    char l[256] = "", e[256] = "";
    /* KeyConditions may go with the other expressions as long as there is
     * no KeyConditionExpression (recorded on AWS by dynalite's tests). */
    int kc_alone = !member(in, "KeyConditionExpression");
    for (size_t i = 0; i < nl; i++)
        if (member(in, legacy[i]) && !(kc_alone && strcmp(legacy[i], "KeyConditions") == 0))
            list_add(l, sizeof l, legacy[i]);
    for (size_t i = 0; i < ne; i++)
        if (member(in, expr[i]))
            list_add(e, sizeof e, expr[i]);
    if (l[0] && e[0])
        return tp_fail(err, TP_ERR_VALIDATION, MIXED_MSG, l, e);
    return 0;
}

/* Select against the attribute parameters. Query words these errors as a
 * one-item validation report ("1 validation error detected: ..."), Scan
 * bare; both say "Querying" for ALL_PROJECTED_ATTRIBUTES (recorded on AWS). */
static int check_select(const cJSON *in, request *q, tp_error *err)
{
    const char *sel = tp_json_str(in, "Select");
    const char *attrs = member(in, "ProjectionExpression") ? "ProjectionExpression"
                        : member(in, "AttributesToGet")    ? "AttributesToGet"
                                                           : NULL;
    int has_index = tp_json_str(in, "IndexName") != NULL;
    const char *pre = q->is_query ? "1 validation error detected: " : "";
    if (sel && strcmp(sel, "ALL_PROJECTED_ATTRIBUTES") == 0 && !has_index)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "%sALL_PROJECTED_ATTRIBUTES can be used only when Querying using an "
                       "IndexName",
                       pre);
    if (sel && attrs && strcmp(sel, "SPECIFIC_ATTRIBUTES") != 0)
        return tp_fail(err, TP_ERR_VALIDATION, "%sCannot specify the %s when choosing to get %s",
                       pre, attrs, strcmp(sel, "COUNT") == 0 ? "only the Count" : sel);
    if (sel && strcmp(sel, "SPECIFIC_ATTRIBUTES") == 0 && !attrs)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "%sMust specify the AttributesToGet or ProjectionExpression when choosing "
                       "to get SPECIFIC_ATTRIBUTES",
                       pre);
    if (!sel)
        sel = attrs ? "SPECIFIC_ATTRIBUTES" : has_index ? "ALL_PROJECTED_ATTRIBUTES"
                                                        : "ALL_ATTRIBUTES";
    q->select = sel;
    return 0;
}

static int check_segments(const cJSON *in, request *q, tp_error *err)
{
    const cJSON *seg = member(in, "Segment"), *tot = member(in, "TotalSegments");
    if (seg && !tot)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "The TotalSegments parameter is required but was not present in the "
                       "request when Segment parameter is present");
    if (tot && !seg)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "The Segment parameter is required but was not present in the request "
                       "when parameter TotalSegments is present");
    if (!seg)
        return 0;
    q->segment = (int64_t)seg->valuedouble;
    q->total = (int64_t)tot->valuedouble;
    if (q->segment >= q->total)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "The Segment parameter is zero-based and must be less than parameter "
                       "TotalSegments: Segment: %lld is not less than TotalSegments: %lld",
                       (long long)q->segment, (long long)q->total);
    return 0;
}

/* Parses every expression (or legacy form) of the request, in AWS's order
 * (dynalite's validations, recorded against AWS): mixing of the two forms
 * and Select, names/values without expressions, the legacy filter,
 * AttributesToGet duplicates, ExclusiveStartKey values, the missing key
 * condition, Scan's segments, then the expressions themselves (names and
 * values maps, KeyConditionExpression's grammar, FilterExpression,
 * ProjectionExpression), the unused names/values, and last the key
 * condition's own rules (keycond.h) and the legacy KeyConditions. */
static int parse_request(cJSON *in, request *q, tp_error *err)
{
    const char *kce = tp_json_str(in, "KeyConditionExpression");
    const char *fe = tp_json_str(in, "FilterExpression");
    const char *pe = tp_json_str(in, "ProjectionExpression");
    const cJSON *names = member(in, "ExpressionAttributeNames");
    cJSON *values = cJSON_GetObjectItemCaseSensitive(in, "ExpressionAttributeValues");
    cJSON *legacy_filter =
        cJSON_GetObjectItemCaseSensitive(in, q->is_query ? "QueryFilter" : "ScanFilter");
    cJSON *key_conditions = cJSON_GetObjectItemCaseSensitive(in, "KeyConditions");

    if (check_mixing(in, q->is_query, err) != 0 || check_select(in, q, err) != 0)
        return -1;
    if (names && !kce && !fe && !pe)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ExpressionAttributeNames can only be specified when using expressions");
    if (values && !kce && !fe)
        return tp_fail(err, TP_ERR_VALIDATION,
                       q->is_query ? "ExpressionAttributeValues can only be specified when using "
                                     "expressions: FilterExpression and KeyConditionExpression "
                                     "are null"
                                   : "ExpressionAttributeValues can only be specified when using "
                                     "expressions: FilterExpression is null");
    if (member(in, "ConditionalOperator") && !legacy_filter)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ConditionalOperator cannot be used without Filter or Expected");
    if (member(in, "ConditionalOperator") && cJSON_GetArraySize(legacy_filter) < 2)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ConditionalOperator can only be used when Filter or Expected has two or "
                       "more elements");
    if (legacy_filter &&
        ddb_cond_from_expected(legacy_filter, tp_json_str(in, "ConditionalOperator"), &q->filter,
                               err) != 0)
        return -1;
    q->atg = member(in, "AttributesToGet");
    if (q->atg) {
        const cJSON *a, *b;
        cJSON_ArrayForEach(a, q->atg)
        {
            for (b = a->next; b; b = b->next)
                if (a->valuestring && b->valuestring && strcmp(a->valuestring, b->valuestring) == 0)
                    return tp_fail(err, TP_ERR_VALIDATION,
                                   "One or more parameter values were invalid: Duplicate value "
                                   "in attribute name: %s",
                                   a->valuestring);
        }
    }
    cJSON *esk = cJSON_GetObjectItemCaseSensitive(in, "ExclusiveStartKey");
    if (esk) {
        cJSON *av;
        cJSON_ArrayForEach(av, esk)
        {
            if (ddb_attr_validate(av, err) != 0) {
                char why[sizeof err->message];
                snprintf(why, sizeof why, "%s", err->message);
                return tp_fail(err, TP_ERR_VALIDATION, "The provided starting key is invalid: %s",
                               why);
            }
        }
    }
    if (q->is_query && !kce && !key_conditions)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Either the KeyConditions or KeyConditionExpression parameter must be "
                       "specified in the request.");
    if (!q->is_query && check_segments(in, q, err) != 0)
        return -1;

    if (ddb_expr_check_map_keys(names, "ExpressionAttributeNames", '#', err) != 0 ||
        ddb_expr_values_validate(values, err) != 0)
        return -1;
    ddb_cond *kce_generic = NULL;
    if (kce && ddb_cond_parse("KeyConditionExpression", kce, names, values, &kce_generic, err) != 0)
        return -1;
    int rc = 0;
    if (fe)
        rc = ddb_cond_parse("FilterExpression", fe, names, values, &q->filter, err);
    if (rc == 0 && pe)
        rc = ddb_projection_parse(pe, names, &q->proj, err);
    if (rc == 0 && (names || values)) {
        ddb_expr_usage u;
        ddb_expr_usage_init(&u);
        const char *const *keys;
        size_t n = ddb_projection_names_used(q->proj, &keys);
        int oom = ddb_expr_usage_add_cond(&u, kce_generic) | ddb_expr_usage_add_cond(&u, q->filter) |
                  ddb_expr_usage_add(&u, '#', keys, n);
        rc = oom != 0 ? tp_fail(err, TP_ERR_INTERNAL, "out of memory")
                      : ddb_expr_usage_check(&u, names, values, err);
        ddb_expr_usage_free(&u);
    }
    ddb_cond_free(kce_generic);
    if (rc != 0)
        return -1;
    if (kce && ddb_keycond_parse(kce, names, values, &q->kc, err) != 0)
        return -1;
    if (key_conditions && ddb_keycond_from_legacy(key_conditions, &q->kc, err) != 0)
        return -1;
    q->consistent = tp_json_bool(in, "ConsistentRead", 0);
    q->limit = tp_json_int(in, "Limit", 0);
    q->forward = tp_json_bool(in, "ScanIndexForward", 1);
    return 0;
}

/* --- the source ----------------------------------------------------------- */

static char defined_type(const ddb_table *t, const char *name)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, member(t->desc, "AttributeDefinitions"))
    {
        const char *n = tp_json_str(d, "AttributeName"), *ty = tp_json_str(d, "AttributeType");
        if (n && ty && strcmp(n, name) == 0)
            return ty[0];
    }
    return 0;
}

static int resolve_source(const ddb_table *t, const cJSON *in, request *q, source *s,
                          tp_error *err)
{
    memset(s, 0, sizeof *s);
    const char *name = tp_json_str(in, "IndexName");
    if (!name) {
        s->hash = t->hash;
        s->range = t->range;
        s->ptype = "ALL";
        return 0;
    }
    static const char *const kinds[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
    const cJSON *found = NULL;
    for (int k = 0; k < 2 && !found; k++) {
        const cJSON *idx;
        cJSON_ArrayForEach(idx, member(t->desc, kinds[k]))
        {
            const char *n = tp_json_str(idx, "IndexName");
            if (n && strcmp(n, name) == 0) {
                found = idx;
                s->global = k == 1;
                break;
            }
        }
    }
    if (!found)
        return tp_fail(err, TP_ERR_VALIDATION, "The table does not have the specified index: %s",
                       name);
    s->index = name;
    const char *status = tp_json_str(found, "IndexStatus");
    if (s->global && status && strcmp(status, "CREATING") == 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Cannot read from backfilling global secondary index: %s", name);
    s->ptype = tp_json_str(member(found, "Projection"), "ProjectionType");
    if (!s->ptype)
        s->ptype = "ALL";
    if (s->global && q->consistent)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Consistent reads are not supported on global secondary indexes");
    if (s->global && strcmp(q->select, "ALL_ATTRIBUTES") == 0 && strcmp(s->ptype, "ALL") != 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is "
                       "not supported for global secondary index %s because its projection type "
                       "is not ALL",
                       name);
    int nh = 0, nr = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, member(found, "KeySchema"))
    {
        const char *n = tp_json_str(e, "AttributeName"), *kt = tp_json_str(e, "KeyType");
        if (!n || !kt || strlen(n) >= sizeof s->hash.name)
            continue;
        int is_hash = strcmp(kt, "HASH") == 0;
        ddb_keydef *d = is_hash ? &s->hash : &s->range;
        if (is_hash && nh < 4) {
            s->hn[nh] = n;
            s->ht[nh] = defined_type(t, n);
        } else if (!is_hash && nr < 4) {
            s->rn[nr] = n;
            s->rt[nr] = defined_type(t, n);
        }
        if (is_hash)
            nh++;
        else
            nr++;
        strcpy(d->name, n);
        d->type = defined_type(t, n);
    }
    if (nh < 1 || nh > 4 || nr > 4)
        return tp_fail(err, TP_ERR_INTERNAL, "index %s has an unreadable key schema", name);
    s->nh = nh;
    s->nr = nr;
    s->multi = nh > 1 || nr > 1;
    return 0;
}

/* --- keys ------------------------------------------------------------------ */

static const char *value_text(const cJSON *av, char type)
{
    char tag[2] = {type, 0};
    return av ? tp_json_str(av, tag) : NULL;
}

static int encode_key(const ddb_keydef *k, const cJSON *item, tp_buf *out)
{
    if (!k->name[0])
        return 0;
    const char *text = value_text(member(item, k->name), k->type);
    tp_error e;
    return text ? ddb_key_encode(k->type, text, out, &e) : -1;
}

/* The encoded start position from ExclusiveStartKey: parts[0..4) are
 * (ihk, irk, hk, rk) for an index, (hk, rk) for the table. */
typedef struct start_key {
    int set;
    tp_buf part[4];
    int nparts;
} start_key;

static int key_has(const ddb_keydef *k, const char *name)
{
    return k->name[0] && strcmp(k->name, name) == 0;
}

static int check_start_key(const ddb_table *t, const source *s, const cJSON *esk, start_key *sk,
                           tp_error *err)
{
    const ddb_keydef *table_keys[2] = {&t->hash, &t->range};
    const ddb_keydef *src_keys[2] = {&s->hash, &s->range};
    int expected = 0;
    const ddb_keydef *all[4];
    for (int i = 0; i < 2; i++)
        if (src_keys[i]->name[0])
            all[expected++] = src_keys[i];
    for (int i = 0; i < 2; i++)
        if (table_keys[i]->name[0] && !key_has(&s->hash, table_keys[i]->name) &&
            !key_has(&s->range, table_keys[i]->name))
            all[expected++] = table_keys[i];
    if (cJSON_GetArraySize(esk) != expected)
        return tp_fail(err, TP_ERR_VALIDATION, "The provided starting key is invalid");
    for (int i = 0; i < expected; i++) {
        const cJSON *av = member(esk, all[i]->name);
        int own = i < (s->range.name[0] ? 2 : 1);
        if (!av && own)
            return tp_fail(err, TP_ERR_VALIDATION, "The provided starting key is invalid");
        if (!value_text(av, all[i]->type))
            return tp_fail(err, TP_ERR_VALIDATION,
                           own ? "The provided key element does not match the schema"
                               : "The provided starting key is invalid: The provided key element "
                                 "does not match the schema");
    }
    sk->set = 1;
    if (s->index) {
        sk->nparts = 4;
        encode_key(&s->hash, esk, &sk->part[0]);
        encode_key(&s->range, esk, &sk->part[1]);
        encode_key(&t->hash, esk, &sk->part[2]);
        encode_key(&t->range, esk, &sk->part[3]);
    } else {
        sk->nparts = 2;
        encode_key(&t->hash, esk, &sk->part[0]);
        encode_key(&t->range, esk, &sk->part[1]);
    }
    return 0;
}

/* ExclusiveStartKey on a multi-attribute index: every index key attribute
 * and the table's key, each of its defined type. */
static int check_start_key_multi(const ddb_table *t, const source *s, const cJSON *esk,
                                 start_key *sk, tp_error *err)
{
    const char *names[10];
    char types[10];
    int n = 0, own;
    for (int i = 0; i < s->nh; i++, n++) {
        names[n] = s->hn[i];
        types[n] = s->ht[i];
    }
    for (int i = 0; i < s->nr; i++, n++) {
        names[n] = s->rn[i];
        types[n] = s->rt[i];
    }
    own = n;
    const ddb_keydef *table_keys[2] = {&t->hash, &t->range};
    for (int i = 0; i < 2; i++) {
        int dup = 0;
        for (int k = 0; k < own; k++)
            dup |= table_keys[i]->name[0] && strcmp(names[k], table_keys[i]->name) == 0;
        if (table_keys[i]->name[0] && !dup) {
            names[n] = table_keys[i]->name;
            types[n++] = table_keys[i]->type;
        }
    }
    if (cJSON_GetArraySize(esk) != n)
        return tp_fail(err, TP_ERR_VALIDATION, "The provided starting key is invalid");
    for (int i = 0; i < n; i++) {
        const cJSON *av = member(esk, names[i]);
        if (!av && i < own)
            return tp_fail(err, TP_ERR_VALIDATION, "The provided starting key is invalid");
        if (!value_text(av, types[i]))
            return tp_fail(err, TP_ERR_VALIDATION,
                           i < own ? "The provided key element does not match the schema"
                                   : "The provided starting key is invalid: The provided key "
                                     "element does not match the schema");
    }
    sk->set = 1;
    sk->nparts = 4;
    if (ddb_index_key_encode(s->hn, s->ht, s->nh, esk, &sk->part[0], err) != 0 ||
        ddb_index_key_encode(s->rn, s->rt, s->nr, esk, &sk->part[1], err) != 0)
        return -1;
    encode_key(&t->hash, esk, &sk->part[2]);
    encode_key(&t->range, esk, &sk->part[3]);
    return 0;
}

static int cmp_blob(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (alen < blen ? -1 : alen > blen);
}

/* The filter may not name the key attributes of what a Query reads. */
static int check_filter_keys(const cJSON *in, const source *s, tp_error *err)
{
    const char *fe = tp_json_str(in, "FilterExpression");
    const cJSON *names = member(in, "ExpressionAttributeNames");
    const cJSON *qf = member(in, "QueryFilter");
    const char *keys[8] = {s->hash.name, s->range.name[0] ? s->range.name : NULL};
    int nkeys = 2;
    if (s->multi) {
        nkeys = 0;
        for (int i = 0; i < s->nh; i++)
            keys[nkeys++] = s->hn[i];
        for (int i = 0; i < s->nr; i++)
            keys[nkeys++] = s->rn[i];
    }
    if (qf) {
        const cJSON *c;
        cJSON_ArrayForEach(c, qf)
        {
            for (int k = 0; k < nkeys; k++)
                if (keys[k] && strcmp(c->string, keys[k]) == 0)
                    return tp_fail(err, TP_ERR_VALIDATION,
                                   "QueryFilter can only contain non-primary key attributes: "
                                   "Primary key attribute: %s",
                                   keys[k]);
        }
    }
    if (!fe)
        return 0;
    ddb_lexer lx;
    if (ddb_lexer_init(&lx, "FilterExpression", fe, strlen(fe), names, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < lx.ntoks && rc == 0; i++) {
        const ddb_token *tk = &lx.toks[i];
        if (tk->type != DDB_TOK_NAME && tk->type != DDB_TOK_NAMEREF)
            continue;
        if (i > 0 && lx.toks[i - 1].type == DDB_TOK_DOT)
            continue; /* inside a path: not the top-level attribute */
        if (lx.toks[i + 1].type == DDB_TOK_LPAREN)
            continue; /* function name */
        char word[256];
        size_t n = tk->len < sizeof word - 1 ? tk->len : sizeof word - 1;
        memcpy(word, fe + tk->start, n);
        word[n] = '\0';
        const char *attr = word;
        if (tk->type == DDB_TOK_NAMEREF) {
            attr = tp_json_str(names, word);
            if (!attr)
                continue;
        } else if (ddb_expr_is_reserved(word, n)) {
            continue; /* AND, OR, NOT, BETWEEN, IN */
        }
        for (int k = 0; k < nkeys; k++)
            if (keys[k] && strcmp(attr, keys[k]) == 0)
                rc = tp_fail(err, TP_ERR_VALIDATION,
                             "Filter Expression can only contain non-primary key attributes: "
                             "Primary key attribute: %s",
                             keys[k]);
    }
    ddb_lexer_free(&lx);
    return rc;
}

/* --- reading ---------------------------------------------------------------- */

typedef struct page {
    cJSON *items;
    int64_t count, scanned, bytes, base_bytes;
    cJSON *last;               /* last item read (owned copy) */
    int stopped;               /* by Limit or the 1 MB page */
} page;

/* What a row shows: projection / AttributesToGet / index projection. */
static cJSON *shown_item(const request *q, const cJSON *item)
{
    if (q->proj)
        return ddb_projection_apply(q->proj, item);
    if (q->atg) {
        cJSON *o = cJSON_CreateObject();
        const cJSON *n;
        cJSON_ArrayForEach(n, q->atg)
        {
            const cJSON *v = n->valuestring ? member(item, n->valuestring) : NULL;
            if (v && !member(o, n->valuestring))
                cJSON_AddItemToObject(o, n->valuestring, cJSON_Duplicate(v, 1));
        }
        return o;
    }
    return cJSON_Duplicate(item, 1);
}

/* Handles one row read; returns 1 when the page is full. */
static int take_row(tp_req *r, const ddb_table *t, const source *s, const request *q, page *pg,
                    const char *text, int textlen, int64_t size, const void *hk, int hklen,
                    const void *rk, int rklen, tp_error *err, int *failed)
{
    cJSON *item = tp_json_parse(text, (size_t)textlen);
    if (!item) {
        *failed = tp_fail(err, TP_ERR_INTERNAL, "stored item is corrupt");
        return 1;
    }
    pg->scanned++;
    pg->bytes += size;
    /* An LSI without every attribute projected reads the table's item when
     * more than the projection is asked for (AWS fetches it too); the
     * entry itself still answers ALL_PROJECTED_ATTRIBUTES. */
    cJSON *full = NULL;
    if (s->index && !s->global && strcmp(s->ptype, "ALL") != 0 &&
        (strcmp(q->select, "ALL_ATTRIBUTES") == 0 || q->proj || q->atg || q->filter)) {
        tp_buf h, k;
        tp_buf_init(&h);
        tp_buf_init(&k);
        tp_buf_append(&h, hk, (size_t)hklen);
        tp_buf_append(&k, rk, (size_t)rklen);
        int64_t bsize = 0;
        if (ddb_item_read(r, t->id, &h, &k, &full, &bsize, err) == 0 && full)
            pg->base_bytes += bsize;
        tp_buf_free(&h);
        tp_buf_free(&k);
    }
    const cJSON *whole = full ? full : item;
    if (!q->filter || ddb_cond_eval(q->filter, whole)) {
        pg->count++;
        if (strcmp(q->select, "COUNT") != 0) {
            const cJSON *src = q->proj || q->atg || strcmp(q->select, "ALL_ATTRIBUTES") == 0
                                   ? whole
                                   : item;
            cJSON_AddItemToArray(pg->items, shown_item(q, src));
        }
    }
    cJSON_Delete(full);
    cJSON_Delete(pg->last);
    pg->last = item;
    if ((q->limit > 0 && pg->scanned >= q->limit) || pg->bytes >= PAGE_BYTES) {
        pg->stopped = 1;
        return 1;
    }
    return 0;
}

static cJSON *last_key(const ddb_table *t, const source *s, const cJSON *item)
{
    cJSON *k = cJSON_CreateObject();
    const ddb_keydef *defs[4] = {&t->hash, &t->range, &s->hash, &s->range};
    for (int i = 0; i < 4; i++) {
        if (!defs[i]->name[0] || member(k, defs[i]->name))
            continue;
        const cJSON *v = member(item, defs[i]->name);
        if (v)
            cJSON_AddItemToObject(k, defs[i]->name, cJSON_Duplicate(v, 1));
    }
    for (int i = 0; s->multi && i < s->nh + s->nr; i++) {
        const char *n = i < s->nh ? s->hn[i] : s->rn[i - s->nh];
        const cJSON *v = member(item, n);
        if (v && !member(k, n))
            cJSON_AddItemToObject(k, n, cJSON_Duplicate(v, 1));
    }
    return k;
}

static uint32_t fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

static void bind_blob(sqlite3_stmt *st, int i, const tp_buf *b)
{
    sqlite3_bind_blob(st, i, b->data ? (const void *)b->data : "", (int)b->len, SQLITE_TRANSIENT);
}

/* Compares a row's key tuple with the start key: <0 before, 0 equal. */
static int cmp_start(const start_key *sk, const void *const *parts, const int *lens)
{
    for (int i = 0; i < sk->nparts; i++) {
        int c = cmp_blob(parts[i], (size_t)lens[i], sk->part[i].data, sk->part[i].len);
        if (c)
            return c;
    }
    return 0;
}

/* A Query's condition on a multi-attribute range side: = on parts
 * [0, neq), then optionally term on part neq (encoded lo/hi). */
typedef struct multi_range {
    int nparts;               /* RANGE attributes of the index */
    int neq;
    tp_buf eq[4];
    const ddb_kc_term *term;  /* NULL: equalities only */
    tp_buf lo, hi;
} multi_range;

typedef struct range_bounds {
    const ddb_kc_term *term;  /* NULL: every sort key */
    tp_buf lo, hi;
    const multi_range *multi; /* set for a multi-attribute index */
} range_bounds;

/* 1 when an index range side (irk) satisfies m. With one RANGE attribute
 * irk is that attribute's encoding; with more, each part is escaped (00 ->
 * 00 FF) and ends with 00 01, so splitting it back is unambiguous. */
static int multi_range_ok(const multi_range *m, const void *irk, size_t len)
{
    const unsigned char *p = irk, *end = p + len;
    tp_buf part;
    tp_buf_init(&part);
    int ok = 1, want = m->neq + (m->term ? 1 : 0);
    for (int i = 0; i < want && ok; i++) {
        part.len = 0;
        if (m->nparts == 1) {
            tp_buf_append(&part, p, (size_t)(end - p));
        } else {
            for (;;) {
                if (p >= end) {
                    ok = 0;
                    break;
                }
                if (*p == 0 && p + 1 < end && p[1] == 0x01) {
                    p += 2;
                    break;
                }
                if (*p == 0 && p + 1 < end && p[1] == 0xFF) {
                    tp_buf_append(&part, "", 1);
                    p += 2;
                    continue;
                }
                tp_buf_append(&part, p++, 1);
            }
        }
        if (!ok)
            break;
        if (i < m->neq)
            ok = cmp_blob(part.data, part.len, m->eq[i].data, m->eq[i].len) == 0;
        else
            ok = ddb_kc_test(m->term, part.data, part.len, m->lo.data, m->lo.len, m->hi.data,
                             m->hi.len);
    }
    tp_buf_free(&part);
    return ok;
}

/* 1 when a sort key that failed term t shows every later row (in the read
 * direction) fails too: the matching keys form one contiguous run. */
static int past_range(const ddb_kc_term *t, int forward, const void *key, int len,
                      const tp_buf *lo)
{
    int c = cmp_blob(key, (size_t)len, lo->data, lo->len);
    if (forward)
        return c > 0 && t->op != DDB_KC_GT && t->op != DDB_KC_GE;
    return c < 0 && t->op != DDB_KC_LT && t->op != DDB_KC_LE;
}

static int run_read(tp_req *r, const ddb_table *t, const source *s, const request *q,
                    const tp_buf *hash, const range_bounds *rb, const start_key *sk, page *pg,
                    tp_error *err)
{
    static const char q_tab_fwd[] = "SELECT hk, rk, item, size, hk, rk FROM ddb_items "
                                    "WHERE table_id=?1 AND hk=?2 ORDER BY rk";
    static const char q_tab_rev[] = "SELECT hk, rk, item, size, hk, rk FROM ddb_items "
                                    "WHERE table_id=?1 AND hk=?2 ORDER BY rk DESC";
    static const char q_idx_fwd[] =
        "SELECT ihk, irk, item, size, hk, rk FROM ddb_index_items WHERE table_id=?1 AND "
        "index_name=?3 AND ihk=?2 ORDER BY irk, hk, rk";
    static const char q_idx_rev[] =
        "SELECT ihk, irk, item, size, hk, rk FROM ddb_index_items WHERE table_id=?1 AND "
        "index_name=?3 AND ihk=?2 ORDER BY irk DESC, hk DESC, rk DESC";
    static const char s_tab[] = "SELECT hk, rk, item, size, hk, rk FROM ddb_items "
                                "WHERE table_id=?1 AND (?2 IS NULL OR (hk, rk) > (?2, ?4)) "
                                "ORDER BY hk, rk";
    static const char s_idx[] =
        "SELECT ihk, irk, item, size, hk, rk FROM ddb_index_items WHERE table_id=?1 AND "
        "index_name=?3 AND (?2 IS NULL OR (ihk, irk, hk, rk) > (?2, ?4, ?5, ?6)) "
        "ORDER BY ihk, irk, hk, rk";
    const char *sql = q->is_query ? (s->index ? (q->forward ? q_idx_fwd : q_idx_rev)
                                              : (q->forward ? q_tab_fwd : q_tab_rev))
                                  : (s->index ? s_idx : s_tab);
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    if (!st)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    sqlite3_bind_int64(st, 1, t->id);
    if (s->index)
        sqlite3_bind_text(st, 3, s->index, -1, SQLITE_TRANSIENT);
    if (q->is_query) {
        bind_blob(st, 2, hash);
    } else if (sk->set) {
        bind_blob(st, 2, &sk->part[0]);
        bind_blob(st, 4, &sk->part[1]);
        if (s->index) {
            bind_blob(st, 5, &sk->part[2]);
            bind_blob(st, 6, &sk->part[3]);
        }
    }
    int failed = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void *parts[4] = {sqlite3_column_blob(st, 0), sqlite3_column_blob(st, 1),
                                sqlite3_column_blob(st, 4), sqlite3_column_blob(st, 5)};
        int lens[4] = {sqlite3_column_bytes(st, 0), sqlite3_column_bytes(st, 1),
                       sqlite3_column_bytes(st, 4), sqlite3_column_bytes(st, 5)};
        if (q->is_query) {
            if (rb->multi && !multi_range_ok(rb->multi, parts[1], (size_t)lens[1]))
                continue;
            if (rb->term && !ddb_kc_test(rb->term, parts[1], (size_t)lens[1], rb->lo.data,
                                         rb->lo.len, rb->hi.data, rb->hi.len)) {
                if (past_range(rb->term, q->forward, parts[1], lens[1], &rb->lo))
                    break;
                continue;
            }
            if (sk->set) {
                int c = cmp_start(sk, parts, lens);
                if (q->forward ? c <= 0 : c >= 0)
                    continue;
            }
        } else if (q->total > 0 &&
                   (int64_t)(fnv1a(parts[0], (size_t)lens[0]) % (uint32_t)q->total) != q->segment)
            continue;
        if (take_row(r, t, s, q, pg, (const char *)sqlite3_column_text(st, 2),
                     sqlite3_column_bytes(st, 2), sqlite3_column_int64(st, 3), parts[2], lens[2],
                     parts[3], lens[3], err, &failed))
            break;
    }
    sqlite3_reset(st);
    if (failed)
        return -1;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    return 0;
}

static void add_consumed(cJSON *out, const cJSON *in, const ddb_table *t, const source *s,
                         const request *q, const page *pg)
{
    const char *rcc = tp_json_str(in, "ReturnConsumedCapacity");
    if (!rcc || strcmp(rcc, "NONE") == 0)
        return;
    double units = ddb_read_units(pg->bytes, q->consistent);
    double base = pg->base_bytes ? ddb_read_units(pg->base_bytes, q->consistent) : 0;
    cJSON *cc = cJSON_AddObjectToObject(out, "ConsumedCapacity");
    cJSON_AddStringToObject(cc, "TableName", t->name);
    cJSON_AddNumberToObject(cc, "CapacityUnits", units + base);
    if (strcmp(rcc, "INDEXES") != 0)
        return;
    cJSON *tab = cJSON_AddObjectToObject(cc, "Table");
    cJSON_AddNumberToObject(tab, "CapacityUnits", s->index ? base : units);
    if (s->index) {
        cJSON *m = cJSON_AddObjectToObject(
            cc, s->global ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes");
        cJSON *e = cJSON_AddObjectToObject(m, s->index);
        cJSON_AddNumberToObject(e, "CapacityUnits", units);
    }
}

static int encode_term_value(const cJSON *av, char type, tp_buf *out, tp_error *err)
{
    const char *text = value_text(av, type);
    if (!text)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: Condition parameter type does "
                       "not match schema type");
    return ddb_key_encode(type, text, out, err);
}

/* A Query's key condition on a multi-attribute index: the encoded hash
 * side and the range prefix (ddb_keycond_match_multi has the rules). */
static int query_multi_bounds(const request *q, const source *s, tp_buf *hash, multi_range *m,
                              tp_error *err)
{
    const ddb_kc_term *ht[4], *rt[4];
    int nr = 0;
    if (ddb_keycond_match_multi(q->kc, s->hn, s->ht, s->nh, s->rn, s->rt, s->nr, ht, rt, &nr,
                                err) != 0)
        return -1;
    cJSON *values = cJSON_CreateObject();
    for (int i = 0; i < s->nh; i++)
        cJSON_AddItemToObject(values, s->hn[i], cJSON_Duplicate(ht[i]->v[0], 1));
    int rc = ddb_index_key_encode(s->hn, s->ht, s->nh, values, hash, err);
    cJSON_Delete(values);
    if (rc != 0)
        return -1;
    m->nparts = s->nr;
    m->neq = nr;
    if (nr > 0 && rt[nr - 1]->op != DDB_KC_EQ) {
        m->neq = nr - 1;
        m->term = rt[nr - 1];
        if (encode_term_value(m->term->v[0], s->rt[nr - 1], &m->lo, err) != 0 ||
            (m->term->v[1] && encode_term_value(m->term->v[1], s->rt[nr - 1], &m->hi, err) != 0))
            return -1;
        if (m->term->op == DDB_KC_BETWEEN &&
            cmp_blob(m->lo.data, m->lo.len, m->hi.data, m->hi.len) > 0)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Invalid KeyConditionExpression: The BETWEEN operator requires upper "
                           "bound to be greater than or equal to lower bound");
    }
    for (int i = 0; i < m->neq; i++)
        if (encode_term_value(rt[i]->v[0], s->rt[i], &m->eq[i], err) != 0)
            return -1;
    return 0;
}

static int read_action(tp_req *r, cJSON *in, cJSON **out, tp_error *err, int is_query)
{
    request q;
    memset(&q, 0, sizeof q);
    q.is_query = is_query;
    if (parse_request(in, &q, err) != 0) {
        request_free(&q);
        return -1;
    }
    ddb_table t;
    if (ddb_load_active(r, tp_json_str(in, "TableName"), &t, err) != 0) {
        request_free(&q);
        return -1;
    }
    source s;
    start_key sk;
    memset(&sk, 0, sizeof sk);
    for (int i = 0; i < 4; i++)
        tp_buf_init(&sk.part[i]);
    range_bounds rb;
    memset(&rb, 0, sizeof rb);
    tp_buf_init(&rb.lo);
    tp_buf_init(&rb.hi);
    tp_buf hash;
    tp_buf_init(&hash);
    multi_range mr;
    memset(&mr, 0, sizeof mr);
    for (int i = 0; i < 4; i++)
        tp_buf_init(&mr.eq[i]);
    tp_buf_init(&mr.lo);
    tp_buf_init(&mr.hi);
    page pg;
    memset(&pg, 0, sizeof pg);
    int rc = -1;
    const cJSON *esk = member(in, "ExclusiveStartKey");
    if (resolve_source(&t, in, &q, &s, err) != 0)
        goto done;
    if (q.proj) {
        const char *tk[2] = {t.hash.name, t.range.name}, *ik[8];
        int nt = t.range.name[0] ? 2 : 1, ni = 0;
        int nk = s.multi ? s.nh + s.nr : 2;
        for (int i = 0; i < nk; i++) {
            const char *n = s.multi ? (i < s.nh ? s.hn[i] : s.rn[i - s.nh])
                                    : i == 0 ? s.hash.name : s.range.name;
            if (s.index && n[0] && strcmp(n, t.hash.name) != 0 && strcmp(n, t.range.name) != 0)
                ik[ni++] = n;
        }
        if (ddb_projection_check_keys(q.proj, tk, (size_t)nt, "Key", err) != 0 ||
            (ni && ddb_projection_check_keys(q.proj, ik, (size_t)ni, "IndexKey", err) != 0))
            goto done;
    }
    if (esk && (s.multi ? check_start_key_multi(&t, &s, esk, &sk, err)
                        : check_start_key(&t, &s, esk, &sk, err)) != 0)
        goto done;
    /* A parallel Scan's start key must lie in its own segment. */
    if (esk && !is_query && q.total > 1 &&
        (int64_t)(fnv1a(sk.part[0].data, sk.part[0].len) % (uint32_t)q.total) != q.segment) {
        tp_fail(err, TP_ERR_VALIDATION,
                "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use "
                "ExclusiveStartKey with correct Segment. TotalSegments: %lld Segment: %lld",
                (long long)q.total, (long long)q.segment);
        goto done;
    }
    if (is_query && s.multi) {
        if (query_multi_bounds(&q, &s, &hash, &mr, err) != 0)
            goto done;
        rb.multi = &mr;
        if (sk.set && cmp_blob(sk.part[0].data, sk.part[0].len, hash.data, hash.len) != 0) {
            tp_fail(err, TP_ERR_VALIDATION, "The provided starting key is outside query "
                    "boundaries based on provided conditions");
            goto done;
        }
        if (sk.set && !multi_range_ok(&mr, sk.part[1].data, sk.part[1].len)) {
            tp_fail(err, TP_ERR_VALIDATION,
                    "The provided starting key does not match the range key predicate");
            goto done;
        }
        if (check_filter_keys(in, &s, err) != 0)
            goto done;
    } else if (is_query) {
        const ddb_kc_term *ht, *rt;
        if (ddb_keycond_match(q.kc, s.hash.name, s.hash.type,
                              s.range.name[0] ? s.range.name : NULL, s.range.type, &ht, &rt,
                              err) != 0 ||
            encode_term_value(ht->v[0], s.hash.type, &hash, err) != 0)
            goto done;
        if (rt) {
            rb.term = rt;
            if (encode_term_value(rt->v[0], s.range.type, &rb.lo, err) != 0 ||
                (rt->v[1] && encode_term_value(rt->v[1], s.range.type, &rb.hi, err) != 0))
                goto done;
            if (rt->op == DDB_KC_BETWEEN && cmp_blob(rb.lo.data, rb.lo.len, rb.hi.data,
                                                     rb.hi.len) > 0) {
                tp_fail(err, TP_ERR_VALIDATION,
                        "Invalid KeyConditionExpression: The BETWEEN operator requires upper "
                        "bound to be greater than or equal to lower bound");
                goto done;
            }
        }
        if (sk.set) {
            if (cmp_blob(sk.part[0].data, sk.part[0].len, hash.data, hash.len) != 0) {
                tp_fail(err, TP_ERR_VALIDATION,
                        "The provided starting key is outside query boundaries based on provided "
                        "conditions");
                goto done;
            }
            if (rt && !ddb_kc_test(rt, sk.part[1].data, sk.part[1].len, rb.lo.data, rb.lo.len,
                                   rb.hi.data, rb.hi.len)) {
                tp_fail(err, TP_ERR_VALIDATION,
                        "The provided starting key does not match the range key predicate");
                goto done;
            }
        }
        if (check_filter_keys(in, &s, err) != 0)
            goto done;
    }
    pg.items = cJSON_CreateArray();
    /* A Query reads one partition key: on the table (or an LSI) that
     * key's partition; a Scan, the table as a whole. */
    const tp_buf *part_key = s.index && s.global ? NULL : hash.len ? &hash : NULL;
    int admitted = ddb_cap_admit_key(r, &t, s.index && s.global ? s.index : NULL, TP_CAP_READ,
                                     part_key);
    if (admitted != TP_CAP_ADMITTED) {
        ddb_capacity_refused(admitted, 0, err);
        goto done;
    }
    if (run_read(r, &t, &s, &q, &hash, &rb, &sk, &pg, err) != 0)
        goto done;
    *out = cJSON_CreateObject();
    if (strcmp(q.select, "COUNT") != 0) {
        cJSON_AddItemToObject(*out, "Items", pg.items);
        pg.items = NULL;
    }
    tp_json_add_int(*out, "Count", pg.count);
    tp_json_add_int(*out, "ScannedCount", pg.scanned);
    if (pg.stopped && pg.last)
        cJSON_AddItemToObject(*out, "LastEvaluatedKey", last_key(&t, &s, pg.last));
    add_consumed(*out, in, &t, &s, &q, &pg);
    if (s.index && s.global)
        ddb_capacity_charge(r, &t, s.index, TP_CAP_READ, ddb_read_units(pg.bytes, q.consistent),
                            NULL);
    else
        ddb_capacity_charge(r, &t, NULL, TP_CAP_READ,
                            ddb_read_units(pg.bytes, q.consistent) +
                                (pg.base_bytes ? ddb_read_units(pg.base_bytes, q.consistent) : 0),
                            part_key);
    rc = 0;
done:
    cJSON_Delete(pg.items);
    cJSON_Delete(pg.last);
    for (int i = 0; i < 4; i++)
        tp_buf_free(&sk.part[i]);
    tp_buf_free(&rb.lo);
    tp_buf_free(&rb.hi);
    tp_buf_free(&hash);
    for (int i = 0; i < 4; i++)
        tp_buf_free(&mr.eq[i]);
    tp_buf_free(&mr.lo);
    tp_buf_free(&mr.hi);
    ddb_table_release(&t);
    request_free(&q);
    return rc;
}

int ddb_query(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    return read_action(r, in, out, err, 1);
}

int ddb_scan(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    return read_action(r, in, out, err, 0);
}
