/* dynamodb/item — PutItem, GetItem, DeleteItem.
 *
 * Items are stored as their wire JSON (numbers canonical) under
 * (table_id, hk, rk), the key attributes in keycodec's order-preserving
 * encoding. Checks follow AWS's order: request-level value rules (already
 * done by the model check and ddb_item_validate), then the table must exist
 * and be ACTIVE/UPDATING, then the key must match the schema. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "backup.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/json.h"
#include "ddb.h"
#include "expr/condition.h"
#include "expr/projection.h"
#include "index.h"
#include "item.h"

#include "capacity.h"
#include "keycodec.h"
#include "dynamodb/streams.h"

#define KEY_MISMATCH "The provided key element does not match the schema"

/* Loads the table for a data-plane call: missing, CREATING and DELETING
 * tables are all "Requested resource not found", as AWS says for items. */
int ddb_load_active(tp_req *r, const char *name, ddb_table *t, tp_error *err)
{
    int rc = ddb_table_find(r, name, t, err);
    if (rc < 0)
        return -1;
    if (rc == 1 || strcmp(t->status, "CREATING") == 0 || strcmp(t->status, "DELETING") == 0) {
        if (rc == 0)
            ddb_table_release(t);
        return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Requested resource not found");
    }
    return 0;
}

static const char *value_text(const cJSON *av, char type)
{
    char tag[2] = {type, 0};
    return tp_json_str(av, tag);
}

size_t ddb_key_value_bytes(char type, const char *text)
{
    size_t len = tp_str_wire_len(text);
    if (type != 'B')
        return len;
    tp_buf raw;
    tp_buf_init(&raw);
    tp_base64_decode(text, len, &raw);
    len = raw.len;
    tp_buf_free(&raw);
    return len;
}

/* Size and emptiness limits of one key attribute. */
static int check_key_value(const ddb_keydef *k, const char *text, int is_hash, tp_error *err)
{
    size_t len = ddb_key_value_bytes(k->type, text);
    if (k->type != 'N' && len == 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values are not valid. The AttributeValue for a key "
                       "attribute cannot contain an empty %s value. Key: %s",
                       k->type == 'S' ? "string" : "binary", k->name);
    if (k->type != 'N' && is_hash && len > 2048)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: Size of hashkey has exceeded "
                       "the maximum size limit of2048 bytes");
    if (k->type != 'N' && !is_hash && len > 1024)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: Aggregated size of all range "
                       "keys has exceeded the size limit of 1024 bytes");
    return 0;
}

static int encode(const ddb_keydef *k, const char *text, tp_buf *out, tp_error *err)
{
    return ddb_key_encode(k->type, text, out, err);
}

/* Key of a full item (PutItem): AWS names the missing or mistyped key. */
int ddb_key_of_item(const ddb_table *t, const cJSON *item, tp_buf *hk, tp_buf *rk,
                       tp_error *err)
{
    const ddb_keydef *defs[2] = {&t->hash, t->range.name[0] ? &t->range : NULL};
    tp_buf *outs[2] = {hk, rk};
    for (int i = 0; i < 2 && defs[i]; i++) {
        const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, defs[i]->name);
        if (!av)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "One or more parameter values were invalid: Missing the key %s in the "
                           "item",
                           defs[i]->name);
        const char *text = value_text(av, defs[i]->type);
        if (!text) {
            const char *actual = ddb_attr_type(av);
            return tp_fail(err, TP_ERR_VALIDATION,
                           "One or more parameter values were invalid: Type mismatch for key %s "
                           "expected: %c actual: %s",
                           defs[i]->name, defs[i]->type, actual ? actual : "");
        }
        if (check_key_value(defs[i], text, i == 0, err) != 0 ||
            encode(defs[i], text, outs[i], err) != 0)
            return -1;
    }
    return 0;
}

/* Key of a Key parameter (GetItem, DeleteItem): exactly the schema's
 * attributes, of the schema's types, or AWS's one generic message. */
int ddb_key_of_key(const ddb_table *t, const cJSON *key, tp_buf *hk, tp_buf *rk,
                      tp_error *err)
{
    const ddb_keydef *defs[2] = {&t->hash, t->range.name[0] ? &t->range : NULL};
    tp_buf *outs[2] = {hk, rk};
    int want = defs[1] ? 2 : 1;
    if (cJSON_GetArraySize(key) != want)
        return tp_fail(err, TP_ERR_VALIDATION, KEY_MISMATCH);
    for (int i = 0; i < want; i++) {
        const cJSON *av = cJSON_GetObjectItemCaseSensitive(key, defs[i]->name);
        const char *text = av ? value_text(av, defs[i]->type) : NULL;
        if (!text)
            return tp_fail(err, TP_ERR_VALIDATION, KEY_MISMATCH);
        if (check_key_value(defs[i], text, i == 0, err) != 0 ||
            encode(defs[i], text, outs[i], err) != 0)
            return -1;
    }
    return 0;
}

/* The type an attribute has in AttributeDefinitions, or 0. */
static char defined_type(const ddb_table *t, const char *name)
{
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(t->desc, "AttributeDefinitions");
    const cJSON *d;
    cJSON_ArrayForEach(d, defs)
    {
        const char *n = tp_json_str(d, "AttributeName");
        const char *ty = tp_json_str(d, "AttributeType");
        if (n && ty && strcmp(n, name) == 0)
            return ty[0];
    }
    return 0;
}

/* Index key attributes present in the item must have the defined type. */
int ddb_check_index_keys(const ddb_table *t, const cJSON *item, tp_error *err)
{
    static const char *const kinds[] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"};
    for (int k = 0; k < 2; k++) {
        const cJSON *idxs = cJSON_GetObjectItemCaseSensitive(t->desc, kinds[k]);
        for (int i = cJSON_GetArraySize(idxs) - 1; i >= 0; i--) {
            const cJSON *idx = cJSON_GetArrayItem(idxs, i);
            const cJSON *ks;
            cJSON_ArrayForEach(ks, cJSON_GetObjectItemCaseSensitive(idx, "KeySchema"))
            {
                const char *name = tp_json_str(ks, "AttributeName");
                const cJSON *av = name ? cJSON_GetObjectItemCaseSensitive(item, name) : NULL;
                char want = name ? defined_type(t, name) : 0;
                if (!av || !want || value_text(av, want))
                    continue;
                const char *actual = ddb_attr_type(av);
                return tp_fail(err, TP_ERR_VALIDATION,
                               "One or more parameter values were invalid: Type mismatch for "
                               "Index Key %s Expected: %c Actual: %s IndexName: %s",
                               name, want, actual ? actual : "", tp_json_str(idx, "IndexName"));
            }
        }
    }
    return 0;
}

/* Reads the stored item for a key; *item NULL when absent. */
int ddb_item_read(tp_req *r, int64_t table_id, const tp_buf *hk, const tp_buf *rk,
                     cJSON **item, int64_t *size, tp_error *err)
{
    static const char sql[] = "SELECT item, size FROM ddb_items WHERE table_id=?1 AND hk=?2 AND rk=?3";
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    *item = NULL;
    *size = 0;
    if (!st)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    sqlite3_bind_int64(st, 1, table_id);
    sqlite3_bind_blob(st, 2, hk->data ? hk->data : "", (int)hk->len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, rk->data ? rk->data : "", (int)rk->len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *item = tp_json_parse((const char *)sqlite3_column_text(st, 0),
                                      (size_t)sqlite3_column_bytes(st, 0));
        *size = sqlite3_column_int64(st, 1);
        sqlite3_reset(st);
        if (!*item)
            return tp_fail(err, TP_ERR_INTERNAL, "stored item is corrupt");
        return 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : tp_fail(err, TP_ERR_INTERNAL, "storage error");
}

int ddb_item_write(tp_req *r, int64_t table_id, const tp_buf *hk, const tp_buf *rk,
                      const cJSON *item, int64_t size, tp_error *err)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO ddb_items(table_id, hk, rk, item, size) VALUES(?1, ?2, ?3, ?4, ?5)";
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    char *text = tp_json_print(item);
    if (!st || !text) {
        free(text);
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    }
    sqlite3_bind_int64(st, 1, table_id);
    sqlite3_bind_blob(st, 2, hk->data ? hk->data : "", (int)hk->len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, rk->data ? rk->data : "", (int)rk->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, -1, free);
    sqlite3_bind_int64(st, 5, size);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    return ddb_pitr_note(r, table_id, hk, rk, item, size, err);   /* backup.h */
}

int ddb_item_remove(tp_req *r, int64_t table_id, const tp_buf *hk, const tp_buf *rk,
                       tp_error *err)
{
    static const char sql[] = "DELETE FROM ddb_items WHERE table_id=?1 AND hk=?2 AND rk=?3";
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    if (!st)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    sqlite3_bind_int64(st, 1, table_id);
    sqlite3_bind_blob(st, 2, hk->data ? hk->data : "", (int)hk->len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, rk->data ? rk->data : "", (int)rk->len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    return ddb_pitr_note(r, table_id, hk, rk, NULL, 0, err);   /* backup.h */
}

/* ConsumedCapacity for ReturnConsumedCapacity TOTAL / INDEXES. */
void ddb_add_consumed(cJSON *out, const cJSON *in, const char *table, double units)
{
    const char *rcc = tp_json_str(in, "ReturnConsumedCapacity");
    if (!rcc || strcmp(rcc, "NONE") == 0)
        return;
    cJSON *cc = cJSON_AddObjectToObject(out, "ConsumedCapacity");
    cJSON_AddStringToObject(cc, "TableName", table);
    cJSON_AddNumberToObject(cc, "CapacityUnits", units);
    if (strcmp(rcc, "INDEXES") == 0) {
        cJSON *t = cJSON_AddObjectToObject(cc, "Table");
        cJSON_AddNumberToObject(t, "CapacityUnits", units);
    }
}

double ddb_write_units(int64_t old_size, int64_t new_size)
{
    int64_t s = old_size > new_size ? old_size : new_size;
    int64_t u = (s + 1023) / 1024;
    return (double)(u < 1 ? 1 : u);
}

double ddb_read_units(int64_t size, int consistent)
{
    int64_t u = (size + 4095) / 4096;
    if (u < 1)
        u = 1;
    return consistent ? (double)u : (double)u / 2.0;
}

/* The condition of a single-item write (PutItem, DeleteItem): the
 * ConditionExpression or the legacy Expected (+ ConditionalOperator), with
 * AWS's request-level checks in its order: mixing the two forms, names /
 * values given without an expression, the names and values maps, the
 * expression, then unused names and values. *cond stays NULL when the
 * request has no condition. */
int ddb_write_condition(cJSON *in, ddb_cond **cond, tp_error *err)
{
    *cond = NULL;
    const char *ce = tp_json_str(in, "ConditionExpression");
    cJSON *expected = cJSON_GetObjectItemCaseSensitive(in, "Expected");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(in, "ExpressionAttributeNames");
    cJSON *values = cJSON_GetObjectItemCaseSensitive(in, "ExpressionAttributeValues");
    if (ce && expected)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Can not use both expression and non-expression parameters in the same "
                       "request: Non-expression parameters: {Expected} Expression parameters: "
                       "{ConditionExpression}");
    if (!ce && names)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ExpressionAttributeNames can only be specified when using expressions");
    if (!ce && values)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ExpressionAttributeValues can only be specified when using expressions: "
                       "ConditionExpression is null");
    if (expected)
        return ddb_cond_from_expected(expected, tp_json_str(in, "ConditionalOperator"), cond, err);
    if (!ce)
        return 0;
    if (ddb_expr_check_map_keys(names, "ExpressionAttributeNames", '#', err) != 0 ||
        ddb_expr_values_validate(values, err) != 0 ||
        ddb_cond_parse("ConditionExpression", ce, names, values, cond, err) != 0)
        return -1;
    ddb_expr_usage u;
    ddb_expr_usage_init(&u);
    int rc = ddb_expr_usage_add_cond(&u, *cond) != 0
                 ? tp_fail(err, TP_ERR_INTERNAL, "out of memory")
                 : ddb_expr_usage_check(&u, names, values, err);
    ddb_expr_usage_free(&u);
    if (rc != 0) {
        ddb_cond_free(*cond);
        *cond = NULL;
    }
    return rc;
}

/* Evaluates a write's condition against the stored item (NULL: none).
 * A failed check writes nothing (the engine rolls back) and, as on AWS,
 * still costs the write capacity of the attempt (the error carries no
 * ConsumedCapacity). With ReturnValuesOnConditionCheckFailure ALL_OLD the
 * error carries the stored item as "Item". */
int ddb_check_write_condition(tp_req *r, const cJSON *in, const ddb_cond *cond,
                              const cJSON *old, tp_error *err)
{
    if (!cond || ddb_cond_eval(cond, old))
        return 0;
    const char *rv = tp_json_str(in, "ReturnValuesOnConditionCheckFailure");
    if (old && rv && strcmp(rv, "ALL_OLD") == 0) {
        cJSON *fields = cJSON_CreateObject();
        cJSON *copy = cJSON_Duplicate(old, 1);
        if (fields && copy && cJSON_AddItemToObject(fields, "Item", copy)) {
            cJSON_Delete(r->error_fields);
            r->error_fields = fields;
        } else {
            cJSON_Delete(fields);
            cJSON_Delete(copy);
        }
    }
    return tp_fail(err, TP_ERR_CONDITIONAL_CHECK_FAILED, "The conditional request failed");
}

static int check_names_only_with_expressions(const cJSON *in, tp_error *err)
{
    if (cJSON_GetObjectItemCaseSensitive(in, "ExpressionAttributeNames") &&
        !cJSON_GetObjectItemCaseSensitive(in, "ProjectionExpression") &&
        !cJSON_GetObjectItemCaseSensitive(in, "ConditionExpression"))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ExpressionAttributeNames can only be specified when using expressions");
    return 0;
}

int ddb_put_item(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(in, "Item");
    if (ddb_item_validate(item, err) != 0)
        return -1;
    const char *rv = tp_json_str(in, "ReturnValues");
    if (rv && strcmp(rv, "ALL_OLD") != 0 && strcmp(rv, "NONE") != 0)
        return tp_fail(err, TP_ERR_VALIDATION, "ReturnValues can only be ALL_OLD or NONE");
    int64_t size = (int64_t)ddb_item_size(item);
    if (size > DDB_MAX_ITEM_BYTES)
        return tp_fail(err, TP_ERR_VALIDATION, "Item size has exceeded the maximum allowed size");
    ddb_cond *cond;
    if (ddb_write_condition(in, &cond, err) != 0)
        return -1;

    ddb_table t;
    if (ddb_load_active(r, tp_json_str(in, "TableName"), &t, err) != 0) {
        ddb_cond_free(cond);
        return -1;
    }
    tp_buf hk, rk;
    tp_buf_init(&hk);
    tp_buf_init(&rk);
    cJSON *old = NULL;
    int64_t old_size = 0;
    int rc = -1;
    ddb_index_report irep = {0};
    cJSON *icm = NULL;
    if (ddb_key_of_item(&t, item, &hk, &rk, err) != 0 || ddb_check_index_keys(&t, item, err) != 0 ||
        ddb_capacity_admit(r, &t, TP_CAP_WRITE, &hk, err) != 0 ||
        ddb_item_read(r, t.id, &hk, &rk, &old, &old_size, err) != 0 ||
        ddb_check_write_condition(r, in, cond, old, err) != 0 ||
        ddb_item_write(r, t.id, &hk, &rk, item, size, err) != 0 ||
        ddb_index_apply_report(r, &t, old, item, &irep, err) != 0 ||
        streams_emit(r, &t, old, item, 0, err) != 0 ||
        ddb_table_add_usage(r, t.id, old ? 0 : 1, size - old_size) != 0 ||
        ddb_item_collection_check(r, &t, &hk, item, ddb_wants_collection_metrics(in), &icm, err) != 0 ||
        ddb_capacity_settle_write(r, &t, ddb_write_units(old_size, size), &irep, &hk, err) != 0)
        goto done;
    *out = cJSON_CreateObject();
    if (old && rv && strcmp(rv, "ALL_OLD") == 0) {
        cJSON_AddItemToObject(*out, "Attributes", old);
        old = NULL;
    }
    ddb_index_add_consumed(*out, in, t.name, ddb_write_units(old_size, size), &irep);
    if (icm) {
        cJSON_AddItemToObject(*out, "ItemCollectionMetrics", icm);
        icm = NULL;
    }
    rc = 0;
done:
    if (rc != 0 && tp_error_is(err, TP_ERR_CONDITIONAL_CHECK_FAILED))
        ddb_capacity_charge(r, &t, NULL, TP_CAP_WRITE, ddb_write_units(old_size, size), &hk);
    cJSON_Delete(icm);
    ddb_cond_free(cond);
    cJSON_Delete(old);
    tp_buf_free(&hk);
    tp_buf_free(&rk);
    ddb_table_release(&t);
    return rc;
}

/* AttributesToGet: keep the named top-level attributes. */
static cJSON *pick_attributes(const cJSON *item, const cJSON *names)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *n;
    cJSON_ArrayForEach(n, names)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, n->valuestring);
        if (v && !cJSON_GetObjectItemCaseSensitive(o, n->valuestring))
            cJSON_AddItemToObject(o, n->valuestring, cJSON_Duplicate(v, 1));
    }
    return o;
}

static int check_get_params(const cJSON *in, tp_error *err)
{
    const cJSON *atg = cJSON_GetObjectItemCaseSensitive(in, "AttributesToGet");
    if (atg && cJSON_GetObjectItemCaseSensitive(in, "ProjectionExpression"))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Can not use both expression and non-expression parameters in the same "
                       "request: Non-expression parameters: {AttributesToGet} Expression "
                       "parameters: {ProjectionExpression}");
    if (check_names_only_with_expressions(in, err) != 0)
        return -1;
    const cJSON *a, *b;
    cJSON_ArrayForEach(a, atg)
    {
        for (b = a->next; b; b = b->next)
            if (strcmp(a->valuestring, b->valuestring) == 0)
                return tp_fail(err, TP_ERR_VALIDATION,
                               "One or more parameter values were invalid: Duplicate value in "
                               "attribute name: %s",
                               a->valuestring);
    }
    return 0;
}

int ddb_get_item(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    cJSON *key = cJSON_GetObjectItemCaseSensitive(in, "Key");
    if (check_get_params(in, err) != 0 || ddb_item_validate(key, err) != 0)
        return -1;
    const char *pe = tp_json_str(in, "ProjectionExpression");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(in, "ExpressionAttributeNames");
    ddb_projection *proj = NULL;
    if (pe && ddb_projection_parse(pe, names, &proj, err) != 0)
        return -1;
    if (names && ddb_projection_check_unused(proj, names, err) != 0) {
        ddb_projection_free(proj);
        return -1;
    }
    ddb_table t;
    if (ddb_load_active(r, tp_json_str(in, "TableName"), &t, err) != 0) {
        ddb_projection_free(proj);
        return -1;
    }
    tp_buf hk, rk;
    tp_buf_init(&hk);
    tp_buf_init(&rk);
    cJSON *item = NULL;
    int64_t size = 0;
    int rc = -1;
    if (ddb_key_of_key(&t, key, &hk, &rk, err) != 0 ||
        ddb_capacity_admit(r, &t, TP_CAP_READ, &hk, err) != 0 ||
        ddb_item_read(r, t.id, &hk, &rk, &item, &size, err) != 0)
        goto done;
    *out = cJSON_CreateObject();
    if (item) {
        cJSON *shown = item;
        const cJSON *atg = cJSON_GetObjectItemCaseSensitive(in, "AttributesToGet");
        if (proj)
            shown = ddb_projection_apply(proj, item);
        else if (atg)
            shown = pick_attributes(item, atg);
        if (shown != item) {
            cJSON_Delete(item);
            item = NULL;
        }
        cJSON_AddItemToObject(*out, "Item", shown);
        item = NULL;
    }
    double units = ddb_read_units(size, tp_json_bool(in, "ConsistentRead", 0));
    ddb_add_consumed(*out, in, t.name, units);
    ddb_capacity_charge(r, &t, NULL, TP_CAP_READ, units, &hk);
    rc = 0;
done:
    cJSON_Delete(item);
    ddb_projection_free(proj);
    tp_buf_free(&hk);
    tp_buf_free(&rk);
    ddb_table_release(&t);
    return rc;
}

int ddb_delete_item(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    cJSON *key = cJSON_GetObjectItemCaseSensitive(in, "Key");
    if (ddb_item_validate(key, err) != 0)
        return -1;
    const char *rv = tp_json_str(in, "ReturnValues");
    if (rv && strcmp(rv, "ALL_OLD") != 0 && strcmp(rv, "NONE") != 0)
        return tp_fail(err, TP_ERR_VALIDATION, "ReturnValues can only be ALL_OLD or NONE");
    ddb_cond *cond;
    if (ddb_write_condition(in, &cond, err) != 0)
        return -1;
    ddb_table t;
    if (ddb_load_active(r, tp_json_str(in, "TableName"), &t, err) != 0) {
        ddb_cond_free(cond);
        return -1;
    }
    tp_buf hk, rk;
    tp_buf_init(&hk);
    tp_buf_init(&rk);
    cJSON *old = NULL;
    int64_t old_size = 0;
    int rc = -1;
    ddb_index_report irep = {0};
    if (ddb_key_of_key(&t, key, &hk, &rk, err) != 0 ||
        ddb_capacity_admit(r, &t, TP_CAP_WRITE, &hk, err) != 0 ||
        ddb_item_read(r, t.id, &hk, &rk, &old, &old_size, err) != 0)
        goto done;
    if (ddb_check_write_condition(r, in, cond, old, err) != 0) {
        ddb_capacity_charge(r, &t, NULL, TP_CAP_WRITE, ddb_write_units(old_size, 0), &hk);
        goto done;
    }
    if (old && (ddb_item_remove(r, t.id, &hk, &rk, err) != 0 ||
                ddb_index_apply_report(r, &t, old, NULL, &irep, err) != 0 ||
                streams_emit(r, &t, old, NULL, 0, err) != 0 ||
                ddb_table_add_usage(r, t.id, -1, -old_size) != 0))
        goto done;
    cJSON *icm = NULL;
    if (ddb_item_collection_check(r, &t, &hk, key, ddb_wants_collection_metrics(in), &icm, err) != 0 ||
        ddb_capacity_settle_write(r, &t, ddb_write_units(old_size, 0), &irep, &hk, err) != 0) {
        cJSON_Delete(icm);
        goto done;
    }
    *out = cJSON_CreateObject();
    if (old && rv && strcmp(rv, "ALL_OLD") == 0) {
        cJSON_AddItemToObject(*out, "Attributes", old);
        old = NULL;
    }
    ddb_index_add_consumed(*out, in, t.name, ddb_write_units(old_size, 0), &irep);
    if (icm)
        cJSON_AddItemToObject(*out, "ItemCollectionMetrics", icm);
    rc = 0;
done:
    ddb_cond_free(cond);
    cJSON_Delete(old);
    tp_buf_free(&hk);
    tp_buf_free(&rk);
    ddb_table_release(&t);
    return rc;
}
