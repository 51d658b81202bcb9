/* dynamodb/transact — TransactWriteItems.
 *
 * Up to 100 Put / Update / Delete / ConditionCheck actions, all or
 * nothing, in AWS's order (scylladb's alternator tests, recorded against
 * AWS, and AWS's knowledge-centre wording):
 *   1. request values, action by action: exactly one action per
 *      TransactItem, AttributeValues, the expressions and their names and
 *      values (ValidationException for the whole request, the single-item
 *      operations' messages), then the 4 MB payload limit;
 *   2. ClientRequestToken: a token seen in the last 10 minutes (virtual
 *      clock) with the same request returns the first call's response
 *      without writing again; with another request,
 *      IdempotentParameterMismatchException;
 *   3. tables (missing, CREATING or DELETING: "Requested resource not
 *      found"), then two actions on one item (ValidationException);
 *   4. what each action's single-item operation checks against its table
 *      (key schema, item size, index key types, key attributes an update
 *      would write): the first failure cancels the transaction with a
 *      "ValidationError" reason and the later actions are not looked at;
 *   5. every condition against the stored items — all of them, no short
 *      cut: any false one cancels with "ConditionalCheckFailed" reasons
 *      (the stored item as "Item" with ReturnValuesOnConditionCheckFailure
 *      ALL_OLD);
 *   6. the updates are computed (an update that fails on the item, e.g. a
 *      type error, cancels with "ValidationError");
 *   7. the writes, indexes and counters — inside the engine's one
 *      transaction, so a failure anywhere leaves nothing written.
 * A cancellation is TransactionCanceledException whose message lists the
 * codes in action order and whose body holds CancellationReasons, one per
 * action ({"Code":"None"} for the others).
 *
 * Transactional writes cost twice the normal write units, per table, the
 * table's indexes included. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"
#include "ddb.h"
#include "expr/condition.h"
#include "index.h"
#include "item.h"
#include "capacity.h"
#include "dynamodb/streams.h"

#define TRANSACT_DUPLICATE "Transaction request cannot include multiple operations on one item"
#define ONE_ACTION "TransactItems can only contain one of Check, Put, Update or Delete"
#define MAX_PAYLOAD_BYTES ((int64_t)4 * 1024 * 1024)
#define TOKEN_WINDOW_MS ((int64_t)10 * 60 * 1000)

typedef enum tw_kind { TW_CHECK, TW_PUT, TW_DELETE, TW_UPDATE } tw_kind;

static const char *const kind_names[] = {"ConditionCheck", "Put", "Delete", "Update"};

/* One table the transaction names (each once). */
typedef struct tw_table {
    const char *name; /* borrowed from the request */
    ddb_table t;
    int loaded;
    double units;          /* the table's own write units, doubled */
    ddb_index_report irep; /* what the writes did to its indexes */
} tw_table;

/* One action of TransactItems. */
typedef struct tw_action {
    tw_kind kind;
    cJSON *spec;        /* the Put / Update / Delete / ConditionCheck object */
    const cJSON *item;  /* Put's Item */
    const cJSON *key;   /* the Key of the others */
    int64_t size;       /* Put's item size */
    ddb_cond *cond;     /* Put / Delete / ConditionCheck condition, or NULL */
    ddb_update_op *upd; /* Update */
    size_t table;       /* index into tables */
    tp_buf hk, rk;
    int key_failed; /* the key did not fit the schema: key_err says why */
    tp_error key_err;
    cJSON *old; /* the stored item, NULL when absent */
    int64_t old_size;
    cJSON *next; /* Update: the item after it */
    int64_t next_size;
    int write; /* Update: whether to store next */
    /* cancellation reason: NULL code = "None" */
    const char *code;
    char *message;
    cJSON *reason_item;
} tw_action;

typedef struct tw {
    tw_action *actions;
    size_t n;
    tw_table *tables;
    size_t ntables;
} tw;

static void tw_free(tw *w)
{
    for (size_t i = 0; i < w->n; i++) {
        tw_action *a = &w->actions[i];
        ddb_cond_free(a->cond);
        ddb_update_op_free(a->upd);
        tp_buf_free(&a->hk);
        tp_buf_free(&a->rk);
        cJSON_Delete(a->old);
        cJSON_Delete(a->next);
        free(a->message);
        cJSON_Delete(a->reason_item);
    }
    for (size_t i = 0; i < w->ntables; i++)
        if (w->tables[i].loaded)
            ddb_table_release(&w->tables[i].t);
    free(w->actions);
    free(w->tables);
    memset(w, 0, sizeof *w);
}

/* A member, JSON null counting as absent. */
static cJSON *member(const cJSON *o, const char *name)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNull(m) ? NULL : m;
}

/* Step 1 for one TransactItem: which action, and its request-level checks. */
static int parse_action(cJSON *ti, tw_action *a, int64_t *payload, tp_error *err)
{
    int found = 0;
    for (int k = 0; k < 4; k++) {
        cJSON *spec = member(ti, kind_names[k]);
        if (!spec)
            continue;
        found++;
        a->kind = (tw_kind)k;
        a->spec = spec;
    }
    if (found != 1)
        return tp_fail(err, TP_ERR_VALIDATION, ONE_ACTION);
    if (a->kind == TW_PUT) {
        a->item = member(a->spec, "Item");
        if (ddb_item_validate((cJSON *)a->item, err) != 0)
            return -1;
        a->size = (int64_t)ddb_item_size(a->item);
        *payload += a->size;
    } else {
        a->key = member(a->spec, "Key");
        if (ddb_item_validate((cJSON *)a->key, err) != 0)
            return -1;
        *payload += (int64_t)ddb_item_size(a->key);
    }
    if (a->kind == TW_UPDATE)
        return ddb_update_op_new(a->spec, &a->upd, err);
    return ddb_write_condition(a->spec, &a->cond, err);
}

/* --- ClientRequestToken --------------------------------------------------- */

/* The request's fingerprint: everything but the token itself. */
static int request_hash(cJSON *in, char out[65], tp_error *err)
{
    cJSON *token = cJSON_DetachItemFromObjectCaseSensitive(in, "ClientRequestToken");
    char *text = tp_json_print(in);
    if (token)
        cJSON_AddItemToObject(in, "ClientRequestToken", token);
    if (!text)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    tp_sha256_hex(text, strlen(text), out);
    free(text);
    return 0;
}

/* 1: the token is fresh (or expired: forgotten now), 0: a replay whose
 * first response is in *out, -1: error (mismatch included). */
static int token_lookup(tp_req *r, const char *token, const char *hash, cJSON **out, tp_error *err)
{
    static const char sql[] = "SELECT hash, response, expires_ms FROM ddb_tx_tokens"
                              " WHERE account=?1 AND region=?2 AND token=?3";
    static const char del[] =
        "DELETE FROM ddb_tx_tokens WHERE account=?1 AND region=?2 AND token=?3";
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    if (!st)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, token, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? 1 : tp_fail(err, TP_ERR_INTERNAL, "storage error");
    }
    int same = strcmp((const char *)sqlite3_column_text(st, 0), hash) == 0;
    int64_t expires = sqlite3_column_int64(st, 2);
    cJSON *resp = same && expires > r->now_ms
                      ? tp_json_parse((const char *)sqlite3_column_text(st, 1),
                                              (size_t)sqlite3_column_bytes(st, 1))
                      : NULL;
    sqlite3_reset(st);
    if (expires <= r->now_ms) {
        sqlite3_stmt *d = tp_store_stmt(r->core->store, del);
        if (!d)
            return tp_fail(err, TP_ERR_INTERNAL, "storage error");
        sqlite3_bind_text(d, 1, r->account, -1, SQLITE_STATIC);
        sqlite3_bind_text(d, 2, r->region, -1, SQLITE_STATIC);
        sqlite3_bind_text(d, 3, token, -1, SQLITE_STATIC);
        rc = sqlite3_step(d);
        sqlite3_reset(d);
        return rc == SQLITE_DONE ? 1 : tp_fail(err, TP_ERR_INTERNAL, "storage error");
    }
    if (!same)
        return tp_fail(err, TP_ERR_IDEMPOTENT_PARAMETER_MISMATCH,
                       "Specified idempotent token was used with different request parameters "
                       "within the idempotency window");
    if (!resp)
        return tp_fail(err, TP_ERR_INTERNAL, "stored response is corrupt");
    *out = resp;
    return 0;
}

static int token_store(tp_req *r, const char *token, const char *hash, const cJSON *resp,
                       tp_error *err)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO ddb_tx_tokens(account, region, token, hash, response, expires_ms)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    /* Forget every expired token while here, so the table stays small. */
    static const char purge[] = "DELETE FROM ddb_tx_tokens WHERE expires_ms <= ?1";
    sqlite3_stmt *p = tp_store_stmt(r->core->store, purge);
    if (!p)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    sqlite3_bind_int64(p, 1, r->now_ms);
    int prc = sqlite3_step(p);
    sqlite3_reset(p);
    if (prc != SQLITE_DONE)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    char *text = tp_json_print(resp);
    if (!st || !text) {
        free(text);
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    }
    sqlite3_bind_text(st, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, token, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, text, -1, free);
    sqlite3_bind_int64(st, 6, r->now_ms + TOKEN_WINDOW_MS);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : tp_fail(err, TP_ERR_INTERNAL, "storage error");
}

/* --- tables, keys, cancellation -------------------------------------------- */

/* Step 3's first half: each table once, loaded in the order named. */
static int load_tables(tp_req *r, tw *w, tp_error *err)
{
    for (size_t i = 0; i < w->n; i++) {
        const char *name = tp_json_str(w->actions[i].spec, "TableName");
        size_t j = 0;
        while (j < w->ntables && strcmp(w->tables[j].name, name) != 0)
            j++;
        if (j == w->ntables) {
            tw_table *tt = &w->tables[w->ntables];
            tt->name = name;
            if (ddb_load_active(r, name, &tt->t, err) != 0)
                return -1;
            tt->loaded = 1;
            w->ntables++;
        }
        w->actions[i].table = j;
    }
    return 0;
}

static void encode_key(tw *w, tw_action *a)
{
    const ddb_table *t = &w->tables[a->table].t;
    int rc = a->kind == TW_PUT ? ddb_key_of_item(t, a->item, &a->hk, &a->rk, &a->key_err)
                               : ddb_key_of_key(t, a->key, &a->hk, &a->rk, &a->key_err);
    a->key_failed = rc != 0;
}

static int same_item(const tw *w, const tw_action *a, const tw_action *b)
{
    return w->tables[a->table].t.id == w->tables[b->table].t.id && a->hk.len == b->hk.len &&
           a->rk.len == b->rk.len &&
           (a->hk.len == 0 || memcmp(a->hk.data, b->hk.data, a->hk.len) == 0) &&
           (a->rk.len == 0 || memcmp(a->rk.data, b->rk.data, a->rk.len) == 0);
}

static void set_reason(tw_action *a, const char *code, const char *message)
{
    a->code = code;
    free(a->message);
    a->message = message ? strdup(message) : NULL;
}

/* TransactionCanceledException with one reason per action, in order. */
static int cancel(tp_req *r, tw *w, tp_error *err)
{
    cJSON *fields = cJSON_CreateObject();
    cJSON *list = fields ? cJSON_AddArrayToObject(fields, "CancellationReasons") : NULL;
    tp_buf codes;
    tp_buf_init(&codes);
    for (size_t i = 0; i < w->n; i++) {
        tw_action *a = &w->actions[i];
        const char *code = a->code ? a->code : "None";
        tp_buf_printf(&codes, "%s%s", i ? ", " : "", code);
        cJSON *reason = cJSON_CreateObject();
        if (!reason)
            continue;
        if (a->reason_item) {
            cJSON_AddItemToObject(reason, "Item", a->reason_item);
            a->reason_item = NULL;
        }
        cJSON_AddStringToObject(reason, "Code", code);
        if (a->message)
            cJSON_AddStringToObject(reason, "Message", a->message);
        if (list)
            cJSON_AddItemToArray(list, reason);
        else
            cJSON_Delete(reason);
    }
    cJSON_Delete(r->error_fields);
    r->error_fields = fields;
    tp_fail(err, TP_ERR_TRANSACTION_CANCELED,
            "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]",
            codes.data ? codes.data : "");
    tp_buf_free(&codes);
    return -1;
}

/* Step 4 for one action: what its single-item operation checks against
 * the table before reading the item. */
static int check_against_table(const tw *w, const tw_action *a, tp_error *err)
{
    const ddb_table *t = &w->tables[a->table].t;
    if (a->key_failed) {
        *err = a->key_err;
        return -1;
    }
    if (a->kind == TW_PUT) {
        if (a->size > DDB_MAX_ITEM_BYTES)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Item size has exceeded the maximum allowed size");
        if (ddb_check_index_keys(t, a->item, err) != 0 ||
            ddb_index_check_item(t, a->item, err) != 0)
            return -1;
    }
    if (a->kind == TW_UPDATE)
        return ddb_update_op_check_table(a->upd, t, err);
    return 0;
}

static const ddb_cond *action_cond(const tw_action *a)
{
    return a->kind == TW_UPDATE ? ddb_update_op_cond(a->upd) : a->cond;
}

/* Step 7 for one action. */
static int apply_action(tp_req *r, tw *w, tw_action *a, tp_error *err)
{
    tw_table *tt = &w->tables[a->table];
    const ddb_table *t = &tt->t;
    switch (a->kind) {
    case TW_CHECK:
        tt->units += 2 * ddb_write_units(a->old_size, 0);
        return 0;
    case TW_PUT:
        tt->units += 2 * ddb_write_units(a->old_size, a->size);
        if (ddb_item_write(r, t->id, &a->hk, &a->rk, a->item, a->size, err) != 0 ||
            ddb_index_apply_report(r, t, a->old, a->item, &tt->irep, err) != 0 ||
            streams_emit(r, t, a->old, a->item, 0, err) != 0 ||
            ddb_table_add_usage(r, t->id, a->old ? 0 : 1, a->size - a->old_size) != 0)
            return -1;
        return 0;
    case TW_DELETE:
        tt->units += 2 * ddb_write_units(a->old_size, 0);
        if (a->old && (ddb_item_remove(r, t->id, &a->hk, &a->rk, err) != 0 ||
                       ddb_index_apply_report(r, t, a->old, NULL, &tt->irep, err) != 0 ||
                       streams_emit(r, t, a->old, NULL, 0, err) != 0 ||
                       ddb_table_add_usage(r, t->id, -1, -a->old_size) != 0))
            return -1;
        return 0;
    case TW_UPDATE:
        tt->units += 2 * ddb_write_units(a->old_size, a->write ? a->next_size : 0);
        if (a->write &&
            (ddb_item_write(r, t->id, &a->hk, &a->rk, a->next, a->next_size, err) != 0 ||
             ddb_index_apply_report(r, t, a->old, a->next, &tt->irep, err) != 0 ||
             streams_emit(r, t, a->old, a->next, 0, err) != 0 ||
             ddb_table_add_usage(r, t->id, a->old ? 0 : 1, a->next_size - a->old_size) != 0))
            return -1;
        return 0;
    }
    return 0;
}

/* ConsumedCapacity: one entry per table, in the order the tables first
 * appear; index writes doubled like the table's. */
static void add_consumed_list(cJSON *out, const cJSON *in, const tw *w)
{
    const char *rcc = tp_json_str(in, "ReturnConsumedCapacity");
    if (!rcc || (strcmp(rcc, "TOTAL") != 0 && strcmp(rcc, "INDEXES") != 0))
        return;
    cJSON *list = cJSON_AddArrayToObject(out, "ConsumedCapacity");
    for (size_t i = 0; i < w->ntables; i++) {
        const tw_table *tt = &w->tables[i];
        ddb_index_report rep = tt->irep;
        for (int k = 0; k < rep.n; k++)
            rep.idx[k].units *= 2;
        cJSON *tmp = cJSON_CreateObject();
        ddb_index_add_consumed(tmp, in, tt->t.name, tt->units, &rep);
        cJSON *cc = cJSON_DetachItemFromObjectCaseSensitive(tmp, "ConsumedCapacity");
        cJSON_Delete(tmp);
        if (!cc)
            continue;
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(cc, "CapacityUnits");
        cJSON_AddNumberToObject(cc, "WriteCapacityUnits", total ? total->valuedouble : 0);
        cJSON *tab = cJSON_GetObjectItemCaseSensitive(cc, "Table");
        if (tab)
            cJSON_AddNumberToObject(tab, "WriteCapacityUnits", tt->units);
        cJSON_AddItemToArray(list, cc);
    }
}

int ddb_transact_write_items(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    cJSON *items = cJSON_GetObjectItemCaseSensitive(in, "TransactItems");
    size_t n = (size_t)cJSON_GetArraySize(items);
    tw w = {0};
    w.actions = calloc(n ? n : 1, sizeof *w.actions);
    w.tables = calloc(n ? n : 1, sizeof *w.tables);
    if (!w.actions || !w.tables) {
        free(w.actions);
        free(w.tables);
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        tp_buf_init(&w.actions[i].hk);
        tp_buf_init(&w.actions[i].rk);
    }
    w.n = n;
    int rc = -1;
    cJSON *result = NULL;
    char hash[65] = "";
    const char *token = tp_json_str(in, "ClientRequestToken");

    /* 1. request values */
    int64_t payload = 0;
    size_t i = 0;
    cJSON *ti;
    cJSON_ArrayForEach(ti, items)
    {
        if (i == n)
            break;
        if (parse_action(ti, &w.actions[i], &payload, err) != 0)
            goto done;
        i++;
    }
    if (payload > MAX_PAYLOAD_BYTES) {
        tp_fail(err, TP_ERR_VALIDATION,
                "Transaction payload size cannot exceed 4MB. Payload Size: : Transaction payload "
                "size cannot exceed 4MB. Payload Size: %lld",
                (long long)payload);
        goto done;
    }

    /* 2. idempotency */
    if (token) {
        if (request_hash(in, hash, err) != 0)
            goto done;
        int t = token_lookup(r, token, hash, &result, err);
        if (t < 0)
            goto done;
        if (t == 0) {
            *out = result;
            result = NULL;
            rc = 0;
            goto done;
        }
    }

    /* 3. tables, keys, one action per item */
    if (load_tables(r, &w, err) != 0)
        goto done;
    for (i = 0; i < n; i++)
        encode_key(&w, &w.actions[i]);
    for (i = 0; i < n; i++) {
        if (w.actions[i].key_failed)
            continue;
        for (size_t j = 0; j < i; j++)
            if (!w.actions[j].key_failed && same_item(&w, &w.actions[j], &w.actions[i])) {
                tp_fail(err, TP_ERR_VALIDATION, TRANSACT_DUPLICATE);
                goto done;
            }
    }

    /* 4. each action against its table: the first failure cancels */
    for (i = 0; i < n; i++) {
        tp_error e = {0};
        if (check_against_table(&w, &w.actions[i], &e) != 0) {
            if (strcmp(e.code, "ValidationException") != 0) {
                *err = e;
                goto done;
            }
            set_reason(&w.actions[i], "ValidationError", e.message);
            cancel(r, &w, err);
            goto done;
        }
    }

    /* 4b. throughput: each action's table must admit the write */
    int throttled = 0;
    for (i = 0; i < n; i++) {
        const tw_table *tt = &w.tables[w.actions[i].table];
        if (ddb_cap_admit_key(r, &tt->t, NULL, TP_CAP_WRITE, &w.actions[i].hk) !=
            TP_CAP_ADMITTED) {
            set_reason(&w.actions[i], "ThrottlingError", TP_CAP_TXN_MESSAGE);
            throttled = 1;
        }
    }
    if (throttled) {
        cancel(r, &w, err);
        goto done;
    }

    /* 5. every condition against the stored items */
    int failed = 0;
    for (i = 0; i < n; i++) {
        tw_action *a = &w.actions[i];
        int64_t table_id = w.tables[a->table].t.id;
        if (ddb_item_read(r, table_id, &a->hk, &a->rk, &a->old, &a->old_size, err) != 0)
            goto done;
        const ddb_cond *c = action_cond(a);
        if (!c || ddb_cond_eval(c, a->old))
            continue;
        failed = 1;
        set_reason(a, "ConditionalCheckFailed", "The conditional request failed");
        const char *rv = tp_json_str(a->spec, "ReturnValuesOnConditionCheckFailure");
        if (a->old && rv && strcmp(rv, "ALL_OLD") == 0)
            a->reason_item = cJSON_Duplicate(a->old, 1);
    }
    if (failed) {
        cancel(r, &w, err);
        goto done;
    }

    /* 6. the updates */
    for (i = 0; i < n; i++) {
        tw_action *a = &w.actions[i];
        if (a->kind != TW_UPDATE)
            continue;
        tp_error e = {0};
        if (ddb_update_op_apply(a->upd, &w.tables[a->table].t, a->old, &a->next, &a->next_size,
                                &a->write, &e) != 0) {
            if (strcmp(e.code, "ValidationException") != 0) {
                *err = e;
                goto done;
            }
            set_reason(a, "ValidationError", e.message);
            cancel(r, &w, err);
            goto done;
        }
    }

    /* 7. the writes */
    for (i = 0; i < n; i++) {
        if (apply_action(r, &w, &w.actions[i], err) != 0) {
            if (!err->code[0])
                tp_fail(err, TP_ERR_INTERNAL, "storage error");
            goto done;
        }
    }
    /* 7b. the global secondary indexes the writes touched must admit them
     * too; a refusal cancels, and the engine's rollback undoes the writes. */
    int gsi_throttled = 0;
    for (i = 0; i < n; i++) {
        tw_action *a = &w.actions[i];
        const tw_table *tt = &w.tables[a->table];
        for (int k = 0; k < tt->irep.n; k++) {
            if (tt->irep.idx[k].global && tt->irep.idx[k].units > 0 &&
                ddb_cap_admit_key(r, &tt->t, tt->irep.idx[k].name, TP_CAP_WRITE, NULL) !=
                    TP_CAP_ADMITTED) {
                set_reason(a, "ThrottlingError", TP_CAP_TXN_MESSAGE);
                gsi_throttled = 1;
                break;
            }
        }
    }
    if (gsi_throttled) {
        cancel(r, &w, err);
        goto done;
    }

    result = cJSON_CreateObject();
    if (!result) {
        tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        goto done;
    }
    add_consumed_list(result, in, &w);
    for (i = 0; i < w.ntables; i++) {
        const tw_table *tt = &w.tables[i];
        double on_table = tt->units;
        for (int k = 0; k < tt->irep.n; k++) {
            if (tt->irep.idx[k].global)
                ddb_capacity_charge(r, &tt->t, tt->irep.idx[k].name, TP_CAP_WRITE,
                                    2 * tt->irep.idx[k].units, NULL);
            else
                on_table += 2 * tt->irep.idx[k].units;
        }
        ddb_capacity_charge(r, &tt->t, NULL, TP_CAP_WRITE, on_table, NULL);
    }
    /* Item collections exist only with local secondary indexes; tidepool
     * reports none yet, as BatchWriteItem does. */
    const char *icm = tp_json_str(in, "ReturnItemCollectionMetrics");
    if (icm && strcmp(icm, "SIZE") == 0)
        cJSON_AddObjectToObject(result, "ItemCollectionMetrics");
    if (token && token_store(r, token, hash, result, err) != 0)
        goto done;
    *out = result;
    result = NULL;
    rc = 0;
done:
    cJSON_Delete(result);
    tw_free(&w);
    return rc;
}
