/* dynamodb/update — UpdateItem.
 *
 * An upsert: the stored item (or, when there is none, just the Key) is
 * copied, the UpdateExpression (expr/update) or the legacy AttributeUpdates
 * applied to the copy, and the copy written back — all in the engine's one
 * transaction, so a failing update changes nothing. Checks follow AWS's
 * order (dynalite's validations/updateItem.js, recorded against AWS):
 * expression vs non-expression parameters, Key values, AttributeUpdates
 * values, ExpressionAttributeNames/Values, the expressions, unused names and
 * values; then the table, the key, key attributes the update would write,
 * the condition against the old item, and the item size after the update.
 *
 * ReturnValues UPDATED_OLD / UPDATED_NEW return the paths the update wrote
 * (nested, not whole top-level attributes, as AWS does), projected from the
 * old or the new item. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "core/buf.h"
#include "core/json.h"
#include "ddb.h"
#include "index.h"
#include "expr/condition.h"
#include "expr/lexer.h"
#include "expr/projection.h"
#include "expr/update.h"
#include "item.h"
#include "capacity.h"
#include "number.h"
#include "dynamodb/streams.h"

#define INVALID "One or more parameter values were invalid: "

/* A request member; JSON null counts as absent, as for AWS. */
static cJSON *member(const cJSON *in, const char *name)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(in, name);
    return cJSON_IsNull(m) ? NULL : m;
}

/* "Can not use both ...", names/values without an expression. */
static int check_expression_params(const cJSON *in, tp_error *err)
{
    static const char *const exprs[] = {"UpdateExpression", "ConditionExpression"};
    static const char *const legacy[] = {"AttributeUpdates", "Expected"};
    char e[64] = "", l[64] = "";
    for (int i = 0; i < 2; i++) {
        if (member(in, exprs[i]))
            snprintf(e + strlen(e), sizeof e - strlen(e), "%s%s", e[0] ? ", " : "", exprs[i]);
        if (member(in, legacy[i]))
            snprintf(l + strlen(l), sizeof l - strlen(l), "%s%s", l[0] ? ", " : "", legacy[i]);
    }
    if (e[0] && l[0])
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Can not use both expression and non-expression parameters in the same "
                       "request: Non-expression parameters: {%s} Expression parameters: {%s}",
                       l, e);
    if (!e[0] && member(in, "ExpressionAttributeNames"))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ExpressionAttributeNames can only be specified when using expressions");
    if (!e[0] && member(in, "ExpressionAttributeValues"))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ExpressionAttributeValues can only be specified when using expressions: "
                       "UpdateExpression and ConditionExpression are null");
    return 0;
}

/* Request-level rules of AttributeUpdates (before the table is looked at). */
static int check_attribute_updates(cJSON *au, tp_error *err)
{
    cJSON *u;
    cJSON_ArrayForEach(u, au)
    {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(u, "Value");
        if (cJSON_IsNull(v))
            v = NULL;
        const char *action = tp_json_str(u, "Action");
        if (v && ddb_attr_validate(v, err) != 0)
            return -1;
        if (!v && !(action && strcmp(action, "DELETE") == 0))
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "Only DELETE action is allowed when no attribute value is "
                                   "specified");
        const char *ty = v ? ddb_attr_type(v) : NULL;
        if (!ty)
            continue;
        if (action && strcmp(action, "DELETE") == 0 && strcmp(ty, "SS") != 0 &&
            strcmp(ty, "NS") != 0 && strcmp(ty, "BS") != 0)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "DELETE action with value is not supported for the type %s", ty);
        if (action && strcmp(action, "ADD") == 0 && strcmp(ty, "L") != 0 &&
            strcmp(ty, "SS") != 0 && strcmp(ty, "NS") != 0 && strcmp(ty, "BS") != 0 &&
            strcmp(ty, "N") != 0)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "ADD action is not supported for the type %s", ty);
    }
    return 0;
}

static int is_key_attr(const ddb_table *t, const char *name)
{
    return strcmp(t->hash.name, name) == 0 || (t->range.name[0] && strcmp(t->range.name, name) == 0);
}

static int key_update_error(const char *name, tp_error *err)
{
    return tp_fail(err, TP_ERR_VALIDATION,
                   INVALID "Cannot update attribute %s. This attribute is part of the key", name);
}

/* Same type for ADD/DELETE targets, exact numbers. */
static int add_numbers(cJSON *cur, const cJSON *v, tp_error *err)
{
    ddb_num x, y, r;
    char text[200];
    if (ddb_num_parse(tp_json_str(cur, "N"), &x, err) != 0 ||
        ddb_num_parse(tp_json_str(v, "N"), &y, err) != 0 || ddb_num_add(&x, &y, &r, err) != 0)
        return -1;
    ddb_num_format(&r, text, sizeof text);
    cJSON_ReplaceItemInObjectCaseSensitive(cur, "N", cJSON_CreateString(text));
    return 0;
}

static int in_set(const cJSON *set, const char *s)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, set)
    {
        if (cJSON_IsString(m) && strcmp(m->valuestring, s) == 0)
            return 1;
    }
    return 0;
}

/* Legacy AttributeUpdates, in the order given: PUT (default) replaces, ADD
 * adds a number, unions a set or appends to a list (creating the attribute
 * when missing), DELETE removes the attribute or, with a set value, those
 * members (an emptied set goes). */
static int apply_attribute_updates(const cJSON *au, cJSON *item, tp_error *err)
{
    const cJSON *u;
    cJSON_ArrayForEach(u, au)
    {
        const char *name = u->string;
        const char *action = tp_json_str(u, "Action");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, "Value");
        if (cJSON_IsNull(v))
            v = NULL;
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(item, name);
        if (!action || strcmp(action, "PUT") == 0) {
            cJSON *c = cJSON_Duplicate(v, 1);
            if (cur)
                cJSON_ReplaceItemInObjectCaseSensitive(item, name, c);
            else
                cJSON_AddItemToObject(item, name, c);
            continue;
        }
        if (strcmp(action, "DELETE") == 0 && !v) {
            cJSON_DeleteItemFromObjectCaseSensitive(item, name);
            continue;
        }
        const char *ty = ddb_attr_type(v);
        const char *cty = cur ? ddb_attr_type(cur) : NULL;
        if (cur && (!cty || strcmp(cty, ty) != 0))
            return tp_fail(err, TP_ERR_VALIDATION, "Type mismatch for attribute to update");
        if (strcmp(action, "ADD") == 0) {
            if (!cur) {
                cJSON_AddItemToObject(item, name, cJSON_Duplicate(v, 1));
                continue;
            }
            if (strcmp(ty, "N") == 0) {
                if (add_numbers(cur, v, err) != 0)
                    return -1;
                continue;
            }
            cJSON *dst = cJSON_GetObjectItemCaseSensitive(cur, ty);
            const cJSON *m;
            cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(v, ty))
            {
                if (strcmp(ty, "L") == 0 || !in_set(dst, m->valuestring))
                    cJSON_AddItemToArray(dst, cJSON_Duplicate(m, 1));
            }
            continue;
        }
        /* DELETE with a set value */
        if (!cur)
            continue;
        cJSON *set = cJSON_GetObjectItemCaseSensitive(cur, ty);
        const cJSON *gone = cJSON_GetObjectItemCaseSensitive(v, ty);
        cJSON *m = set->child;
        while (m) {
            cJSON *next = m->next;
            if (cJSON_IsString(m) && in_set(gone, m->valuestring))
                cJSON_Delete(cJSON_DetachItemViaPointer(set, m));
            m = next;
        }
        if (!set->child)
            cJSON_DeleteItemFromObjectCaseSensitive(item, name);
    }
    return 0;
}

/* The given paths of item, nested as in the item (ddb_projection does the
 * walking: the paths become a ProjectionExpression over #names). NULL when
 * nothing resolves. */
static cJSON *project_paths(const ddb_path *paths, size_t n, const cJSON *item)
{
    if (!item || n == 0)
        return NULL;
    cJSON *names = cJSON_CreateObject();
    tp_buf expr;
    tp_buf_init(&expr);
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            tp_buf_puts(&expr, ",");
        for (size_t j = 0; j < paths[i].n; j++) {
            const ddb_path_elem *e = &paths[i].elems[j];
            if (e->name) {
                char key[24];
                snprintf(key, sizeof key, "#%d", k++);
                cJSON_AddStringToObject(names, key, e->name);
                tp_buf_printf(&expr, "%s%s", j ? "." : "", key);
            } else {
                tp_buf_printf(&expr, "[%u]", (unsigned)e->index);
            }
        }
    }
    ddb_projection *p = NULL;
    tp_error e;
    cJSON *out = NULL;
    if (expr.data && ddb_projection_parse(expr.data, names, &p, &e) == 0) {
        out = ddb_projection_apply(p, item);
    } else {
        /* Only when the rewritten paths exceed the expression size limit:
         * fall back to whole top-level attributes. */
        out = cJSON_CreateObject();
        for (size_t i = 0; i < n; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, paths[i].elems[0].name);
            if (v && !cJSON_GetObjectItemCaseSensitive(out, paths[i].elems[0].name))
                cJSON_AddItemToObject(out, paths[i].elems[0].name, cJSON_Duplicate(v, 1));
        }
    }
    ddb_projection_free(p);
    tp_buf_free(&expr);
    cJSON_Delete(names);
    if (out && !out->child) {
        cJSON_Delete(out);
        out = NULL;
    }
    return out;
}

/* Levels of av: a scalar or set is 1, an M or L one more than its deepest
 * member (stops counting past limit). */
static int depth_of(const cJSON *av, int limit)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(av, "M");
    if (!cJSON_IsObject(c))
        c = cJSON_GetObjectItemCaseSensitive(av, "L");
    if (!cJSON_IsObject(c) && !cJSON_IsArray(c))
        return 1;
    if (limit <= 1)
        return 2;
    int deepest = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, c)
    {
        int d = depth_of(m, limit - 1);
        if (d > deepest)
            deepest = d;
    }
    return deepest + 1;
}

/* An update can nest a value deeper than any one request value was. */
static int check_depth(const cJSON *item, tp_error *err)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, item)
    {
        if (depth_of(a, 33) > 32)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Nesting Levels have exceeded supported limits: Attributes in the item "
                           "have nested levels beyond supported limit");
    }
    return 0;
}

/* Only the key attributes left: the update wrote nothing of its own. */
static int only_key(const ddb_table *t, const cJSON *item)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, item)
    {
        if (!is_key_attr(t, a->string))
            return 0;
    }
    return 1;
}

typedef struct update_req {
    cJSON *key, *au, *names, *values;
    const char *rv;
    ddb_update *upd;
    ddb_cond *cond;     /* ConditionExpression or Expected; NULL when none */
    ddb_path *au_paths; /* AttributeUpdates as one-element paths (names borrowed) */
    size_t nau;
} update_req;

static int parse_request(cJSON *in, update_req *q, tp_error *err)
{
    memset(q, 0, sizeof *q);
    q->key = member(in, "Key");
    q->au = member(in, "AttributeUpdates");
    q->names = member(in, "ExpressionAttributeNames");
    q->values = member(in, "ExpressionAttributeValues");
    q->rv = tp_json_str(in, "ReturnValues");
    cJSON *expected = member(in, "Expected");
    if (check_expression_params(in, err) != 0 || ddb_item_validate(q->key, err) != 0 ||
        check_attribute_updates(q->au, err) != 0 ||
        (expected &&
         ddb_cond_from_expected(expected, tp_json_str(in, "ConditionalOperator"), &q->cond, err) != 0) ||
        ddb_expr_check_map_keys(q->names, "ExpressionAttributeNames", '#', err) != 0 ||
        ddb_expr_values_validate(q->values, err) != 0)
        return -1;
    const char *ue = tp_json_str(in, "UpdateExpression");
    if (member(in, "UpdateExpression") &&
        ddb_update_parse(ue ? ue : "", q->names, q->values, &q->upd, err) != 0)
        return -1;
    const char *ce = tp_json_str(in, "ConditionExpression");
    if (member(in, "ConditionExpression") &&
        ddb_cond_parse("ConditionExpression", ce ? ce : "", q->names, q->values, &q->cond, err) != 0)
        return -1;
    /* Unused names and values: the union over both expressions. */
    ddb_expr_usage use;
    ddb_expr_usage_init(&use);
    const char *const *keys;
    size_t nn = ddb_update_names_used(q->upd, &keys);
    int rc = ddb_expr_usage_add(&use, '#', keys, nn);
    size_t nv = ddb_update_values_used(q->upd, &keys);
    if (rc == 0)
        rc = ddb_expr_usage_add(&use, ':', keys, nv);
    if (rc == 0 && !expected)
        rc = ddb_expr_usage_add_cond(&use, q->cond);
    rc = rc != 0 ? tp_fail(err, TP_ERR_INTERNAL, "out of memory")
                 : ddb_expr_usage_check(&use, q->names, q->values, err);
    ddb_expr_usage_free(&use);
    if (rc != 0)
        return -1;
    int nau = cJSON_GetArraySize(q->au);
    if (nau > 0) {
        q->au_paths = calloc((size_t)nau, sizeof *q->au_paths + sizeof(ddb_path_elem));
        if (!q->au_paths)
            return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        ddb_path_elem *elems = (ddb_path_elem *)(q->au_paths + nau);
        const cJSON *u;
        cJSON_ArrayForEach(u, q->au)
        {
            elems[q->nau].name = u->string;
            q->au_paths[q->nau].elems = &elems[q->nau];
            q->au_paths[q->nau].n = 1;
            q->nau++;
        }
    }
    return 0;
}

static void release_request(update_req *q)
{
    ddb_update_free(q->upd);
    ddb_cond_free(q->cond);
    free(q->au_paths);
}

/* The paths the update writes, as an array (owned by q or its update). */
static size_t touched_paths(const update_req *q, ddb_path **out)
{
    if (q->upd) {
        size_t n = ddb_update_count(q->upd);
        ddb_path *p = calloc(n ? n : 1, sizeof *p);
        for (size_t i = 0; p && i < n; i++)
            p[i] = *ddb_update_path(q->upd, i);
        *out = p;
        return p ? n : 0;
    }
    *out = NULL;
    return q->nau;
}

static int check_key_writes(const ddb_table *t, const update_req *q, tp_error *err)
{
    for (size_t i = 0; i < ddb_update_count(q->upd); i++) {
        const char *name = ddb_update_path(q->upd, i)->elems[0].name;
        if (is_key_attr(t, name))
            return key_update_error(name, err);
    }
    for (size_t i = 0; i < q->nau; i++)
        if (is_key_attr(t, q->au_paths[i].elems[0].name))
            return key_update_error(q->au_paths[i].elems[0].name, err);
    return 0;
}

static int is_index_key(const ddb_table *t, const char *name)
{
    static const char *const kinds[] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"};
    for (int k = 0; k < 2; k++) {
        const cJSON *idx;
        cJSON_ArrayForEach(idx, cJSON_GetObjectItemCaseSensitive(t->desc, kinds[k]))
        {
            const cJSON *ks;
            cJSON_ArrayForEach(ks, cJSON_GetObjectItemCaseSensitive(idx, "KeySchema"))
            {
                const char *n = tp_json_str(ks, "AttributeName");
                if (n && strcmp(n, name) == 0)
                    return 1;
            }
        }
    }
    return 0;
}

typedef struct index_scan {
    const ddb_table *t;
    const char *name; /* the index key a nested path went into */
} index_scan;

static int index_path_check(const ddb_path *p, void *ctx)
{
    index_scan *s = ctx;
    if (p->n > 1 && !is_key_attr(s->t, p->elems[0].name) && is_index_key(s->t, p->elems[0].name)) {
        s->name = p->elems[0].name;
        return 1;
    }
    return 0;
}

/* What AWS checks of index keys from the expression alone, before the
 * item is read: the type of values written to top-level index key
 * attributes when the expression tells it, then no nested paths into an
 * index key. */
static int check_index_writes(const ddb_table *t, const ddb_update *u, tp_error *err)
{
    if (!u)
        return 0;
    cJSON *fake = cJSON_CreateObject();
    if (!fake)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < ddb_update_count(u); i++) {
        const ddb_path *p = ddb_update_path(u, i);
        const char *ty = ddb_update_value_type(u, i);
        if (p->n != 1 || !ty || cJSON_GetObjectItemCaseSensitive(fake, p->elems[0].name))
            continue;
        cJSON *av = cJSON_AddObjectToObject(fake, p->elems[0].name);
        if (av)
            cJSON_AddStringToObject(av, ty, "0");
    }
    int rc = ddb_check_index_keys(t, fake, err);
    cJSON_Delete(fake);
    if (rc != 0)
        return -1;
    index_scan scan = {t, NULL};
    if (ddb_update_each_path(u, index_path_check, &scan))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Key attributes must be scalars; list random access '[]' and map lookup "
                       "'.' are not allowed: IndexKey: %s",
                       scan.name);
    return 0;
}

/* The item after the update: the stored one (or, when absent, the Key)
 * with the update applied, then AWS's checks of the result (size, nesting,
 * index key types). *write = 0 when there is nothing to store. */
static int apply_update(const update_req *q, const ddb_table *t, const cJSON *old, cJSON **out,
                        int64_t *size, int *write, tp_error *err)
{
    *out = NULL;
    *size = 0;
    *write = 0;
    cJSON *item = cJSON_Duplicate(old ? old : q->key, 1);
    if (!item)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    int rc = -1;
    if (q->upd ? ddb_update_apply(q->upd, item, err) != 0
               : apply_attribute_updates(q->au, item, err) != 0)
        goto fail;
    *size = (int64_t)ddb_item_size(item);
    if (*size > DDB_MAX_ITEM_BYTES) {
        tp_fail(err, TP_ERR_VALIDATION, "Item size to update has exceeded the maximum allowed size");
        goto fail;
    }
    if (check_depth(item, err) != 0)
        goto fail;
    if (ddb_check_index_keys(t, item, err) != 0) {
        if (q->upd)
            tp_fail(err, TP_ERR_VALIDATION,
                    "The update expression attempted to update the secondary index key to "
                    "unsupported type");
        goto fail;
    }
    /* An update of a missing item that leaves nothing but the key (REMOVE
     * or DELETE only) does not create it; an update with no actions at
     * all (no expression, empty AttributeUpdates) does. */
    int actions = q->upd ? 1 : q->nau > 0;
    *write = old || !only_key(t, item) || !actions;
    *out = item;
    return 0;
fail:
    cJSON_Delete(item);
    return rc;
}

/* --- the shared steps (item.h), for TransactWriteItems ------------------- */

struct ddb_update_op {
    update_req q;
};

int ddb_update_op_new(cJSON *in, ddb_update_op **out, tp_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    if (parse_request(in, &(*out)->q, err) != 0) {
        ddb_update_op_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

const ddb_cond *ddb_update_op_cond(const ddb_update_op *op)
{
    return op->q.cond;
}

int ddb_update_op_check_table(const ddb_update_op *op, const ddb_table *t, tp_error *err)
{
    if (check_key_writes(t, &op->q, err) != 0 || check_index_writes(t, op->q.upd, err) != 0)
        return -1;
    return 0;
}

int ddb_update_op_apply(const ddb_update_op *op, const ddb_table *t, const cJSON *old,
                        cJSON **item, int64_t *size, int *write, tp_error *err)
{
    return apply_update(&op->q, t, old, item, size, write, err);
}

void ddb_update_op_free(ddb_update_op *op)
{
    if (!op)
        return;
    release_request(&op->q);
    free(op);
}

int ddb_update_item(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    update_req q;
    if (parse_request(in, &q, err) != 0) {
        release_request(&q);
        return -1;
    }
    ddb_table t;
    if (ddb_load_active(r, tp_json_str(in, "TableName"), &t, err) != 0) {
        release_request(&q);
        return -1;
    }
    tp_buf hk, rk;
    tp_buf_init(&hk);
    tp_buf_init(&rk);
    cJSON *old = NULL, *item = NULL, *shown = NULL;
    ddb_path *paths = NULL;
    ddb_index_report irep = {0};
    int64_t old_size = 0, size = 0;
    int rc = -1;
    if (ddb_key_of_key(&t, q.key, &hk, &rk, err) != 0 || check_key_writes(&t, &q, err) != 0 ||
        check_index_writes(&t, q.upd, err) != 0 ||
        ddb_capacity_admit(r, &t, TP_CAP_WRITE, &hk, err) != 0 ||
        ddb_item_read(r, t.id, &hk, &rk, &old, &old_size, err) != 0)
        goto done;
    if (ddb_check_write_condition(r, in, q.cond, old, err) != 0) {
        ddb_capacity_charge(r, &t, NULL, TP_CAP_WRITE, ddb_write_units(old_size, 0), &hk);
        goto done;
    }
    int write = 0;
    if (apply_update(&q, &t, old, &item, &size, &write, err) != 0)
        goto done;
    if (write && (ddb_item_write(r, t.id, &hk, &rk, item, size, err) != 0 ||
                  ddb_index_apply_report(r, &t, old, item, &irep, err) != 0 ||
                  streams_emit(r, &t, old, item, 0, err) != 0 ||
                  ddb_table_add_usage(r, t.id, old ? 0 : 1, size - old_size) != 0))
        goto done;
    if (!write)
        size = 0;
    cJSON *icm = NULL;
    if (write && ddb_item_collection_check(r, &t, &hk, q.key, ddb_wants_collection_metrics(in), &icm, err) != 0)
        goto done;
    if (ddb_capacity_settle_write(r, &t, ddb_write_units(old_size, size), &irep, &hk, err) != 0) {
        cJSON_Delete(icm);
        goto done;
    }

    *out = cJSON_CreateObject();
    const char *rv = q.rv ? q.rv : "NONE";
    if (strcmp(rv, "ALL_OLD") == 0 && old) {
        shown = old;
        old = NULL;
    } else if (strcmp(rv, "ALL_NEW") == 0 && write) {
        shown = item;
        item = NULL;
    } else if (strcmp(rv, "UPDATED_OLD") == 0 || strcmp(rv, "UPDATED_NEW") == 0) {
        size_t n = touched_paths(&q, &paths);
        const ddb_path *ps = paths ? paths : q.au_paths;
        shown = project_paths(ps, n, strcmp(rv, "UPDATED_OLD") == 0 ? old : (write ? item : NULL));
    }
    if (shown)
        cJSON_AddItemToObject(*out, "Attributes", shown);
    ddb_index_add_consumed(*out, in, t.name, ddb_write_units(old_size, size), &irep);
    if (icm)
        cJSON_AddItemToObject(*out, "ItemCollectionMetrics", icm);
    rc = 0;
done:
    free(paths);
    cJSON_Delete(old);
    cJSON_Delete(item);
    tp_buf_free(&hk);
    tp_buf_free(&rk);
    ddb_table_release(&t);
    release_request(&q);
    return rc;
}
