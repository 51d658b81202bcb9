/* dynamodb/batch — BatchWriteItem, BatchGetItem and TransactGetItems.
 *
 * All run in three steps, in AWS's order, so a bad batch changes nothing:
 *   1. request values, table by table and request by request: malformed
 *      WriteRequests, AttributeValue rules, item size, projection
 *      parameters, duplicate keys (BatchGetItem) and the request count;
 *   2. tables (missing, CREATING or DELETING: "Requested resource not
 *      found"), each key against its table's schema, duplicate keys;
 *   3. the work itself, inside the engine's one transaction.
 * Step 3 asks, request by request, whether the request still fits
 * (write_fits / read_fits, and the table's read bucket for gets): the
 * throughput model (capacity/throughput.h) refuses writes while the
 * table's or any GSI's write bucket is empty and reads while the table's
 * read bucket is, and reads also stop at AWS's 16 MB response limit. What
 * does not fit comes back in UnprocessedItems / UnprocessedKeys in the
 * request's own shape, ready to be sent again; when nothing fits the call
 * fails with ProvisionedThroughputExceededException.
 *
 * TransactGetItems shares the steps but is all or nothing: nothing is
 * left unprocessed, and reads cost twice a consistent read. Not modelled
 * yet: its 4 MB aggregate item size limit, and the LSI item collection
 * sizes of BatchWriteItem's ItemCollectionMetrics (always {} today). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "core/buf.h"
#include "core/json.h"
#include "ddb.h"
#include "expr/projection.h"
#include "index.h"
#include "item.h"
#include "capacity.h"
#include "dynamodb/streams.h"

#define MAX_BATCH_WRITES 25
#define MAX_BATCH_GETS 100
/* AWS returns at most 16 MB of items per BatchGetItem call. */
#define MAX_GET_RESPONSE_BYTES ((int64_t)16 * 1024 * 1024)

#define KEY_MISMATCH "The provided key element does not match the schema"
#define DUPLICATE_KEYS "Provided list of item keys contains duplicates"

/* One table named in RequestItems. */
typedef struct batch_table {
    const char *name;       /* the RequestItems key (borrowed) */
    const cJSON *spec;      /* its list of WriteRequests / its KeysAndAttributes */
    ddb_table t;
    int loaded;
    ddb_projection *proj;   /* BatchGetItem's ProjectionExpression, or NULL */
    int consistent;
    int touched;            /* some request of this table was processed */
    double units;           /* capacity consumed (the table's own) */
    ddb_index_report irep;  /* BatchWriteItem: what the writes did to indexes */
    cJSON *unprocessed;     /* this table's share of Unprocessed*, or NULL */
    cJSON *collections;     /* BatchWriteItem: ItemCollectionMetrics list, or NULL */
    int want_collections;   /* ReturnItemCollectionMetrics SIZE */
} batch_table;

/* One write request or one key to get. */
typedef struct batch_entry {
    size_t table;           /* index into the batch_table array */
    const cJSON *request;   /* the WriteRequest, or the key (borrowed) */
    const cJSON *item;      /* PutRequest.Item, NULL for a delete or a get */
    const cJSON *key;       /* DeleteRequest.Key or the key to get */
    int64_t size;           /* size of a put's item */
    tp_buf hk, rk;
} batch_entry;

typedef struct batch {
    batch_table *tables;
    size_t ntables;
    batch_entry *entries;
    size_t nentries;
} batch;

/* Room for ntables tables and nentries entries; the caller names the
 * tables. */
static int batch_init(batch *b, size_t ntables, size_t nentries, tp_error *err)
{
    memset(b, 0, sizeof *b);
    b->tables = calloc(ntables ? ntables : 1, sizeof *b->tables);
    b->entries = calloc(nentries ? nentries : 1, sizeof *b->entries);
    if (!b->tables || !b->entries) {
        free(b->tables);
        free(b->entries);
        b->tables = NULL;
        b->entries = NULL;
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < nentries; i++) {
        tp_buf_init(&b->entries[i].hk);
        tp_buf_init(&b->entries[i].rk);
    }
    b->ntables = ntables;
    b->nentries = nentries;
    return 0;
}

/* Batches: one batch_table per RequestItems member, in request order. */
static int batch_init_map(batch *b, const cJSON *request_items, size_t nentries, tp_error *err)
{
    if (batch_init(b, (size_t)cJSON_GetArraySize(request_items), nentries, err) != 0)
        return -1;
    size_t i = 0;
    const cJSON *tab;
    cJSON_ArrayForEach(tab, request_items)
    {
        if (i == b->ntables)
            break;
        b->tables[i].name = tab->string;
        b->tables[i].spec = tab;
        i++;
    }
    return 0;
}

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->ntables; i++) {
        if (b->tables[i].loaded)
            ddb_table_release(&b->tables[i].t);
        ddb_projection_free(b->tables[i].proj);
        cJSON_Delete(b->tables[i].unprocessed);
        cJSON_Delete(b->tables[i].collections);
    }
    for (size_t i = 0; i < b->nentries; i++) {
        tp_buf_free(&b->entries[i].hk);
        tp_buf_free(&b->entries[i].rk);
    }
    free(b->tables);
    free(b->entries);
    memset(b, 0, sizeof *b);
}

/* Step 2's table half: every table must exist and take data calls. */
static int load_tables(tp_req *r, batch *b, tp_error *err)
{
    for (size_t i = 0; i < b->ntables; i++) {
        if (ddb_load_active(r, b->tables[i].name, &b->tables[i].t, err) != 0)
            return -1;
        b->tables[i].loaded = 1;
    }
    return 0;
}

/* Two entries for one item: the same table and the same encoded key. */
static int check_duplicate(const batch *b, size_t upto, const char *message, tp_error *err)
{
    const batch_entry *e = &b->entries[upto];
    int64_t id = b->tables[e->table].t.id;
    for (size_t i = 0; i < upto; i++) {
        const batch_entry *o = &b->entries[i];
        if (b->tables[o->table].t.id == id && o->hk.len == e->hk.len && o->rk.len == e->rk.len &&
            (e->hk.len == 0 || memcmp(o->hk.data, e->hk.data, e->hk.len) == 0) &&
            (e->rk.len == 0 || memcmp(o->rk.data, e->rk.data, e->rk.len) == 0))
            return tp_fail(err, TP_ERR_VALIDATION, "%s", message);
    }
    return 0;
}

/* BatchGetItem's ConsumedCapacity list, one entry per table read. */
static void add_read_consumed_list(cJSON *out, const cJSON *in, const batch *b)
{
    const char *rcc = tp_json_str(in, "ReturnConsumedCapacity");
    if (!rcc || (strcmp(rcc, "TOTAL") != 0 && strcmp(rcc, "INDEXES") != 0))
        return;
    cJSON *list = cJSON_AddArrayToObject(out, "ConsumedCapacity");
    for (size_t i = 0; i < b->ntables; i++) {
        const batch_table *bt = &b->tables[i];
        if (!bt->touched)
            continue;
        cJSON *cc = cJSON_CreateObject();
        cJSON_AddStringToObject(cc, "TableName", bt->t.name);
        cJSON_AddNumberToObject(cc, "CapacityUnits", bt->units);
        if (strcmp(rcc, "INDEXES") == 0)
            cJSON_AddNumberToObject(cJSON_AddObjectToObject(cc, "Table"), "CapacityUnits",
                                    bt->units);
        cJSON_AddItemToArray(list, cc);
    }
}

/* --- BatchWriteItem ------------------------------------------------------- */

/* Step 1 for one table's WriteRequests. AWS answers a WriteRequest that
 * holds neither or both of PutRequest and DeleteRequest with its
 * AttributeValue wording (recorded against AWS by dynalite). */
static int check_write_values(const cJSON *requests, size_t *count, tp_error *err)
{
    const cJSON *wr;
    cJSON_ArrayForEach(wr, requests)
    {
        int has_put = cJSON_GetObjectItemCaseSensitive(wr, "PutRequest") != NULL;
        int has_del = cJSON_GetObjectItemCaseSensitive(wr, "DeleteRequest") != NULL;
        if (has_put == has_del)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Supplied AttributeValue has more than one datatypes set, must contain "
                           "exactly one of the supported datatypes");
    }
    cJSON_ArrayForEach(wr, requests)
    {
        cJSON *put = cJSON_GetObjectItemCaseSensitive(wr, "PutRequest");
        if (put) {
            cJSON *item = cJSON_GetObjectItemCaseSensitive(put, "Item");
            if (ddb_item_validate(item, err) != 0)
                return -1;
            if (ddb_item_size(item) > DDB_MAX_ITEM_BYTES)
                return tp_fail(err, TP_ERR_VALIDATION,
                               "Item size has exceeded the maximum allowed size");
        } else {
            cJSON *del = cJSON_GetObjectItemCaseSensitive(wr, "DeleteRequest");
            if (ddb_item_validate(cJSON_GetObjectItemCaseSensitive(del, "Key"), err) != 0)
                return -1;
        }
        if (++*count > MAX_BATCH_WRITES)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Too many items requested for the BatchWriteItem call");
    }
    return 0;
}

/* A put's item must carry the key attributes with the schema's types; in
 * a batch AWS words both failures as the generic key mismatch. */
static int check_put_key(const ddb_table *t, const cJSON *item, tp_error *err)
{
    const ddb_keydef *defs[2] = {&t->hash, t->range.name[0] ? &t->range : NULL};
    for (int i = 0; i < 2 && defs[i]; i++) {
        const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, defs[i]->name);
        char tag[2] = {defs[i]->type, 0};
        if (!av || !tp_json_str(av, tag))
            return tp_fail(err, TP_ERR_VALIDATION, KEY_MISMATCH);
    }
    return 0;
}

/* Whether a write may run now. Always, until a throughput model decides
 * otherwise; a refused write is returned in UnprocessedItems unchanged. */
/* 1 when item (may be NULL) carries every key attribute of the index, so
 * it has an entry there. */
static int in_index(const cJSON *gsi, const cJSON *item)
{
    if (!item)
        return 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(gsi, "KeySchema"))
    {
        const char *name = tp_json_str(k, "AttributeName");
        if (!name || !cJSON_GetObjectItemCaseSensitive(item, name))
            return 0;
    }
    return 1;
}

/* Whether a write may run now: the table's write bucket, then the bucket
 * of every GSI the write can touch — one the stored or the new item has an
 * entry in. A batch cannot undo one write, so this is decided before it. */
static int write_fits(tp_req *r, const batch_table *bt, const batch_entry *e)
{
    if (ddb_cap_admit_key(r, &bt->t, NULL, TP_CAP_WRITE, &e->hk) != TP_CAP_ADMITTED)
        return 0;
    const cJSON *gsis = cJSON_GetObjectItemCaseSensitive(bt->t.desc, "GlobalSecondaryIndexes");
    if (!cJSON_GetArraySize(gsis))
        return 1;
    cJSON *old = NULL;
    int64_t old_size = 0;
    tp_error ignored;
    if (ddb_item_read(r, bt->t.id, &e->hk, &e->rk, &old, &old_size, &ignored) != 0)
        old = NULL;
    int fits = 1;
    const cJSON *g;
    cJSON_ArrayForEach(g, gsis)
    {
        const char *name = tp_json_str(g, "IndexName");
        if (name && (in_index(g, old) || in_index(g, e->item)) &&
            ddb_cap_admit_key(r, &bt->t, name, TP_CAP_WRITE, NULL) != TP_CAP_ADMITTED) {
            fits = 0;
            break;
        }
    }
    cJSON_Delete(old);
    return fits;
}

/* Charges what one write added to bt's units and index report. */
static void charge_write(tp_req *r, batch_table *bt, double units_before,
                         const ddb_index_report *before, const tp_buf *hk)
{
    double on_table = bt->units - units_before;
    for (int i = 0; i < bt->irep.n; i++) {
        double prev = 0;
        for (int j = 0; j < before->n; j++)
            if (strcmp(before->idx[j].name, bt->irep.idx[i].name) == 0)
                prev = before->idx[j].units;
        double d = bt->irep.idx[i].units - prev;
        if (d <= 0)
            continue;
        if (bt->irep.idx[i].global)
            ddb_capacity_charge(r, &bt->t, bt->irep.idx[i].name, TP_CAP_WRITE, d, NULL);
        else
            on_table += d;
    }
    ddb_capacity_charge(r, &bt->t, NULL, TP_CAP_WRITE, on_table, hk);
}

static int apply_write(tp_req *r, batch_table *bt, batch_entry *e, tp_error *err)
{
    cJSON *old = NULL;
    int64_t old_size = 0;
    int rc = ddb_item_read(r, bt->t.id, &e->hk, &e->rk, &old, &old_size, err);
    if (rc == 0 && e->item) {
        rc = ddb_item_write(r, bt->t.id, &e->hk, &e->rk, e->item, e->size, err);
        if (rc == 0)
            rc = ddb_index_apply_report(r, &bt->t, old, e->item, &bt->irep, err);
        if (rc == 0)
            rc = streams_emit(r, &bt->t, old, e->item, 0, err);
        if (rc == 0)
            rc = ddb_table_add_usage(r, bt->t.id, old ? 0 : 1, e->size - old_size);
        bt->units += ddb_write_units(old_size, e->size);
    } else if (rc == 0) {
        if (old) {
            rc = ddb_item_remove(r, bt->t.id, &e->hk, &e->rk, err);
            if (rc == 0)
                rc = ddb_index_apply_report(r, &bt->t, old, NULL, &bt->irep, err);
            if (rc == 0)
                rc = streams_emit(r, &bt->t, old, NULL, 0, err);
            if (rc == 0)
                rc = ddb_table_add_usage(r, bt->t.id, -1, -old_size);
        }
        bt->units += ddb_write_units(old_size, 0);
    }
    cJSON *icm = NULL;
    if (rc == 0)
        rc = ddb_item_collection_check(r, &bt->t, &e->hk, e->item ? e->item : e->key,
                                       bt->want_collections, &icm, err);
    if (icm) {
        if (!bt->collections)
            bt->collections = cJSON_CreateArray();
        cJSON_AddItemToArray(bt->collections, icm);
    }
    if (rc != 0 && !err->code[0])
        tp_fail(err, TP_ERR_INTERNAL, "storage error");
    cJSON_Delete(old);
    bt->touched = 1;
    return rc;
}

/* BatchWriteItem's ConsumedCapacity list: each table's entry is what
 * PutItem would report for the table's writes together, indexes included. */
static void add_write_consumed_list(cJSON *out, const cJSON *in, const batch *b)
{
    const char *rcc = tp_json_str(in, "ReturnConsumedCapacity");
    if (!rcc || (strcmp(rcc, "TOTAL") != 0 && strcmp(rcc, "INDEXES") != 0))
        return;
    cJSON *list = cJSON_AddArrayToObject(out, "ConsumedCapacity");
    for (size_t i = 0; i < b->ntables; i++) {
        const batch_table *bt = &b->tables[i];
        if (!bt->touched)
            continue;
        cJSON *tmp = cJSON_CreateObject();
        ddb_index_add_consumed(tmp, in, bt->t.name, bt->units, &bt->irep);
        cJSON *cc = cJSON_DetachItemFromObjectCaseSensitive(tmp, "ConsumedCapacity");
        if (cc)
            cJSON_AddItemToArray(list, cc);
        cJSON_Delete(tmp);
    }
}

int ddb_batch_write_item(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const cJSON *request_items = cJSON_GetObjectItemCaseSensitive(in, "RequestItems");
    size_t n = 0;
    const cJSON *tab;
    cJSON_ArrayForEach(tab, request_items)
    {
        if (check_write_values(tab, &n, err) != 0)
            return -1;
    }

    batch b;
    if (batch_init_map(&b, request_items, n, err) != 0)
        return -1;
    int rc = -1;
    if (load_tables(r, &b, err) != 0)
        goto done;
    size_t k = 0;
    for (size_t ti = 0; ti < b.ntables; ti++) {
        batch_table *bt = &b.tables[ti];
        const cJSON *wr;
        cJSON_ArrayForEach(wr, bt->spec)
        {
            batch_entry *e = &b.entries[k];
            e->table = ti;
            e->request = wr;
            const cJSON *put = cJSON_GetObjectItemCaseSensitive(wr, "PutRequest");
            if (put) {
                e->item = cJSON_GetObjectItemCaseSensitive(put, "Item");
                e->size = (int64_t)ddb_item_size(e->item);
                if (check_put_key(&bt->t, e->item, err) != 0 ||
                    ddb_key_of_item(&bt->t, e->item, &e->hk, &e->rk, err) != 0 ||
                    ddb_check_index_keys(&bt->t, e->item, err) != 0)
                    goto done;
            } else {
                e->key = cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(wr, "DeleteRequest"), "Key");
                if (ddb_key_of_key(&bt->t, e->key, &e->hk, &e->rk, err) != 0)
                    goto done;
            }
            if (check_duplicate(&b, k, DUPLICATE_KEYS, err) != 0)
                goto done;
            k++;
        }
    }

    size_t processed = 0;
    for (size_t i = 0; i < b.nentries; i++) {
        batch_entry *e = &b.entries[i];
        batch_table *bt = &b.tables[e->table];
        if (!write_fits(r, bt, e)) {
            if (!bt->unprocessed)
                bt->unprocessed = cJSON_CreateArray();
            cJSON_AddItemToArray(bt->unprocessed, cJSON_Duplicate(e->request, 1));
            continue;
        }
        bt->want_collections = ddb_wants_collection_metrics(in);
        double units_before = bt->units;
        ddb_index_report rep_before = bt->irep;
        if (apply_write(r, bt, e, err) != 0)
            goto done;
        charge_write(r, bt, units_before, &rep_before, &e->hk);
        processed++;
    }
    if (processed == 0 && b.nentries > 0) {
        tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, "%s", TP_CAP_TABLE_MESSAGE);
        goto done;
    }

    *out = cJSON_CreateObject();
    cJSON *unprocessed = cJSON_AddObjectToObject(*out, "UnprocessedItems");
    for (size_t i = 0; i < b.ntables; i++) {
        if (b.tables[i].unprocessed) {
            cJSON_AddItemToObject(unprocessed, b.tables[i].name, b.tables[i].unprocessed);
            b.tables[i].unprocessed = NULL;
        }
    }
    add_write_consumed_list(*out, in, &b);
    /* Item collections exist only on tables with local secondary indexes:
     * the map lists those tables' collections the batch wrote. */
    if (ddb_wants_collection_metrics(in)) {
        cJSON *icms = cJSON_AddObjectToObject(*out, "ItemCollectionMetrics");
        for (size_t i = 0; i < b.ntables; i++) {
            if (b.tables[i].collections) {
                cJSON_AddItemToObject(icms, b.tables[i].name, b.tables[i].collections);
                b.tables[i].collections = NULL;
            }
        }
    }
    rc = 0;
done:
    batch_free(&b);
    return rc;
}

/* --- BatchGetItem --------------------------------------------------------- */

/* Equal as written: the same attribute names with equal values (numbers
 * are canonical by now, so 1 and 1.0 are one key). */
static int same_raw_key(const cJSON *a, const cJSON *b)
{
    if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
        return 0;
    const cJSON *av;
    cJSON_ArrayForEach(av, a)
    {
        const cJSON *bv = cJSON_GetObjectItemCaseSensitive(b, av->string);
        if (!bv || !ddb_attr_equal(av, bv))
            return 0;
    }
    return 1;
}

/* Step 1 for one table's KeysAndAttributes: the GetItem rules for the
 * projection parameters, then each key's values, duplicates and the count. */
static int check_get_spec(batch_table *bt, size_t *count, tp_error *err)
{
    const cJSON *spec = bt->spec;
    const cJSON *atg = cJSON_GetObjectItemCaseSensitive(spec, "AttributesToGet");
    const char *pe = tp_json_str(spec, "ProjectionExpression");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(spec, "ExpressionAttributeNames");
    if (atg && pe)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Can not use both expression and non-expression parameters in the same "
                       "request: Non-expression parameters: {AttributesToGet} Expression "
                       "parameters: {ProjectionExpression}");
    if (names && !pe)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ExpressionAttributeNames can only be specified when using expressions");
    const cJSON *a, *c;
    cJSON_ArrayForEach(a, atg)
    {
        for (c = a->next; c; c = c->next)
            if (cJSON_IsString(a) && cJSON_IsString(c) && strcmp(a->valuestring, c->valuestring) == 0)
                return tp_fail(err, TP_ERR_VALIDATION,
                               "One or more parameter values were invalid: Duplicate value in "
                               "attribute name: %s",
                               a->valuestring);
    }
    if (pe && ddb_projection_parse(pe, names, &bt->proj, err) != 0)
        return -1;
    if (names && ddb_projection_check_unused(bt->proj, names, err) != 0)
        return -1;
    bt->consistent = tp_json_bool(spec, "ConsistentRead", 0);

    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(spec, "Keys");
    cJSON *key;
    cJSON_ArrayForEach(key, keys)
    {
        if (ddb_item_validate(key, err) != 0)
            return -1;
        for (const cJSON *o = keys->child; o != key; o = o->next)
            if (same_raw_key(o, key))
                return tp_fail(err, TP_ERR_VALIDATION, DUPLICATE_KEYS);
        if (++*count > MAX_BATCH_GETS)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Too many items requested for the BatchGetItem call");
    }
    return 0;
}

/* Whether one more item (size bytes) may go into the response, given the
 * bytes already in it. A throughput model would add its own refusal here;
 * once a key does not fit, neither do the ones after it. */
static int read_fits(tp_req *r, const batch_table *bt, int64_t sent, int64_t size)
{
    (void)r;
    (void)bt;
    return sent + size <= MAX_GET_RESPONSE_BYTES;
}

/* AttributesToGet: the named top-level attributes. */
static cJSON *pick_attributes(const cJSON *item, const cJSON *names)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *n;
    cJSON_ArrayForEach(n, names)
    {
        const cJSON *v = cJSON_IsString(n) ? cJSON_GetObjectItemCaseSensitive(item, n->valuestring)
                                           : NULL;
        if (v && !cJSON_GetObjectItemCaseSensitive(o, n->valuestring))
            cJSON_AddItemToObject(o, n->valuestring, cJSON_Duplicate(v, 1));
    }
    return o;
}

/* What a read returns of item (which it takes): the projection or the
 * AttributesToGet of its table's request. NULL only when out of memory. */
static cJSON *shown_item(const batch_table *bt, cJSON *item)
{
    const cJSON *atg = cJSON_GetObjectItemCaseSensitive(bt->spec, "AttributesToGet");
    cJSON *shown = item;
    if (bt->proj)
        shown = ddb_projection_apply(bt->proj, item);
    else if (atg)
        shown = pick_attributes(item, atg);
    if (shown != item)
        cJSON_Delete(item);
    return shown;
}

/* The key goes back in UnprocessedKeys with its table's other parameters. */
static void add_unprocessed_key(batch_table *bt, const cJSON *key)
{
    if (!bt->unprocessed) {
        bt->unprocessed = cJSON_Duplicate(bt->spec, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(bt->unprocessed, "Keys");
        cJSON_AddArrayToObject(bt->unprocessed, "Keys");
    }
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(bt->unprocessed, "Keys"),
                         cJSON_Duplicate(key, 1));
}

int ddb_batch_get_item(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const cJSON *request_items = cJSON_GetObjectItemCaseSensitive(in, "RequestItems");
    batch b;
    size_t n = 0;
    const cJSON *tab;
    cJSON_ArrayForEach(tab, request_items)
    {
        n += (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tab, "Keys"));
    }
    if (batch_init_map(&b, request_items, n, err) != 0)
        return -1;
    int rc = -1;
    cJSON *result = NULL;
    size_t count = 0;
    for (size_t ti = 0; ti < b.ntables; ti++)
        if (check_get_spec(&b.tables[ti], &count, err) != 0)
            goto done;
    if (load_tables(r, &b, err) != 0)
        goto done;
    size_t k = 0;
    for (size_t ti = 0; ti < b.ntables; ti++) {
        const cJSON *key;
        cJSON_ArrayForEach(key, cJSON_GetObjectItemCaseSensitive(b.tables[ti].spec, "Keys"))
        {
            batch_entry *e = &b.entries[k];
            e->table = ti;
            e->request = e->key = key;
            if (ddb_key_of_key(&b.tables[ti].t, key, &e->hk, &e->rk, err) != 0 ||
                check_duplicate(&b, k, DUPLICATE_KEYS, err) != 0)
                goto done;
            k++;
        }
    }

    result = cJSON_CreateObject();
    cJSON *responses = cJSON_AddObjectToObject(result, "Responses");
    for (size_t ti = 0; ti < b.ntables; ti++)
        cJSON_AddArrayToObject(responses, b.tables[ti].name);
    int64_t sent = 0;
    int full = 0;
    size_t got = 0;
    for (size_t i = 0; i < b.nentries; i++) {
        batch_entry *e = &b.entries[i];
        batch_table *bt = &b.tables[e->table];
        if (full || ddb_cap_admit_key(r, &bt->t, NULL, TP_CAP_READ, &e->hk) != TP_CAP_ADMITTED) {
            add_unprocessed_key(bt, e->key);
            continue;
        }
        cJSON *item = NULL;
        int64_t size = 0;
        if (ddb_item_read(r, bt->t.id, &e->hk, &e->rk, &item, &size, err) != 0)
            goto done;
        if (!read_fits(r, bt, sent, size)) {
            cJSON_Delete(item);
            full = 1;
            add_unprocessed_key(bt, e->key);
            continue;
        }
        sent += size;
        bt->touched = 1;
        bt->units += ddb_read_units(size, bt->consistent);
        ddb_capacity_charge(r, &bt->t, NULL, TP_CAP_READ, ddb_read_units(size, bt->consistent),
                            &e->hk);
        got++;
        if (!item)
            continue;
        cJSON *shown = shown_item(bt, item);
        if (!shown) {
            tp_fail(err, TP_ERR_INTERNAL, "out of memory");
            goto done;
        }
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(responses, bt->name), shown);
    }

    if (got == 0 && b.nentries > 0 && !full) {
        tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, "%s", TP_CAP_TABLE_MESSAGE);
        goto done;
    }
    cJSON *unprocessed = cJSON_AddObjectToObject(result, "UnprocessedKeys");
    for (size_t ti = 0; ti < b.ntables; ti++) {
        if (b.tables[ti].unprocessed) {
            cJSON_AddItemToObject(unprocessed, b.tables[ti].name, b.tables[ti].unprocessed);
            b.tables[ti].unprocessed = NULL;
        }
    }
    add_read_consumed_list(result, in, &b);
    *out = result;
    result = NULL;
    rc = 0;
done:
    cJSON_Delete(result);
    batch_free(&b);
    return rc;
}

/* --- TransactGetItems ----------------------------------------------------- */

#define TRANSACT_DUPLICATE "Transaction request cannot include multiple operations on one item"

/* Step 1 for one Get: GetItem's rules for its parameters and key values. */
static int check_transact_get(batch_table *bt, tp_error *err)
{
    const cJSON *get = bt->spec;
    const char *pe = tp_json_str(get, "ProjectionExpression");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(get, "ExpressionAttributeNames");
    if (names && !pe)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ExpressionAttributeNames can only be specified when using expressions");
    if (ddb_item_validate(cJSON_GetObjectItemCaseSensitive(get, "Key"), err) != 0)
        return -1;
    if (pe && ddb_projection_parse(pe, names, &bt->proj, err) != 0)
        return -1;
    if (names && ddb_projection_check_unused(bt->proj, names, err) != 0)
        return -1;
    return 0;
}

/* ConsumedCapacity of a transaction: one entry per table, in the order
 * the tables first appear, with the units also as ReadCapacityUnits. */
static void add_transact_consumed_list(cJSON *out, const cJSON *in, const batch *b)
{
    const char *rcc = tp_json_str(in, "ReturnConsumedCapacity");
    if (!rcc || (strcmp(rcc, "TOTAL") != 0 && strcmp(rcc, "INDEXES") != 0))
        return;
    cJSON *list = cJSON_AddArrayToObject(out, "ConsumedCapacity");
    for (size_t i = 0; i < b->ntables; i++) {
        size_t first = 0;
        while (b->tables[first].t.id != b->tables[i].t.id)
            first++;
        if (first != i)
            continue;
        double units = 0;
        for (size_t j = i; j < b->ntables; j++)
            if (b->tables[j].t.id == b->tables[i].t.id)
                units += b->tables[j].units;
        cJSON *cc = cJSON_CreateObject();
        cJSON_AddStringToObject(cc, "TableName", b->tables[i].t.name);
        cJSON_AddNumberToObject(cc, "CapacityUnits", units);
        cJSON_AddNumberToObject(cc, "ReadCapacityUnits", units);
        if (strcmp(rcc, "INDEXES") == 0) {
            cJSON *t = cJSON_AddObjectToObject(cc, "Table");
            cJSON_AddNumberToObject(t, "CapacityUnits", units);
            cJSON_AddNumberToObject(t, "ReadCapacityUnits", units);
        }
        cJSON_AddItemToArray(list, cc);
    }
}

/* Throughput: every Get's table must admit the read, or the transaction
 * is cancelled with ThrottlingError for the refused ones, None for the
 * rest (and nothing is charged). */
static int transact_get_admit(tp_req *r, batch *b, size_t n, tp_error *err)
{
    int refused = 0;
    char *codes = calloc(n ? n : 1, 1);
    if (!codes)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const batch_table *bt = &b->tables[i];
        if (ddb_cap_admit_key(r, &bt->t, NULL, TP_CAP_READ, &b->entries[i].hk) != TP_CAP_ADMITTED)
            codes[i] = refused = 1;
    }
    if (!refused) {
        free(codes);
        return 0;
    }
    cJSON *fields = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(fields, "CancellationReasons");
    tp_buf text;
    tp_buf_init(&text);
    for (size_t i = 0; i < n; i++) {
        cJSON *reason = cJSON_CreateObject();
        cJSON_AddStringToObject(reason, "Code", codes[i] ? "ThrottlingError" : "None");
        if (codes[i])
            cJSON_AddStringToObject(reason, "Message", TP_CAP_TXN_MESSAGE);
        cJSON_AddItemToArray(list, reason);
        tp_buf_printf(&text, "%s%s", i ? ", " : "", codes[i] ? "ThrottlingError" : "None");
    }
    cJSON_Delete(r->error_fields);
    r->error_fields = fields;
    tp_fail(err, TP_ERR_TRANSACTION_CANCELED,
            "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]",
            text.data ? text.data : "");
    tp_buf_free(&text);
    free(codes);
    return -1;
}

int ddb_transact_get_items(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(in, "TransactItems");
    size_t n = (size_t)cJSON_GetArraySize(items);
    batch b;
    if (batch_init(&b, n, n, err) != 0)
        return -1;
    int rc = -1;
    cJSON *result = NULL;
    size_t i = 0;
    const cJSON *ti;
    cJSON_ArrayForEach(ti, items)
    {
        if (i == n)
            break;
        batch_table *bt = &b.tables[i];
        bt->spec = cJSON_GetObjectItemCaseSensitive(ti, "Get");
        bt->name = tp_json_str(bt->spec, "TableName");
        b.entries[i].table = i;
        b.entries[i].key = b.entries[i].request = cJSON_GetObjectItemCaseSensitive(bt->spec, "Key");
        if (check_transact_get(bt, err) != 0)
            goto done;
        i++;
    }
    if (load_tables(r, &b, err) != 0)
        goto done;
    for (i = 0; i < n; i++) {
        batch_entry *e = &b.entries[i];
        if (ddb_key_of_key(&b.tables[i].t, e->key, &e->hk, &e->rk, err) != 0 ||
            check_duplicate(&b, i, TRANSACT_DUPLICATE, err) != 0)
            goto done;
    }
    if (transact_get_admit(r, &b, n, err) != 0)
        goto done;

    result = cJSON_CreateObject();
    cJSON *responses = cJSON_AddArrayToObject(result, "Responses");
    for (i = 0; i < n; i++) {
        batch_entry *e = &b.entries[i];
        batch_table *bt = &b.tables[i];
        cJSON *item = NULL;
        int64_t size = 0;
        if (ddb_item_read(r, bt->t.id, &e->hk, &e->rk, &item, &size, err) != 0)
            goto done;
        /* Transactional reads cost twice a strongly consistent read. */
        bt->units += 2 * ddb_read_units(size, 1);
        ddb_capacity_charge(r, &bt->t, NULL, TP_CAP_READ, 2 * ddb_read_units(size, 1), &e->hk);
        cJSON *resp = cJSON_CreateObject();
        cJSON_AddItemToArray(responses, resp);
        if (!item)
            continue;
        cJSON *shown = shown_item(bt, item);
        if (!shown) {
            tp_fail(err, TP_ERR_INTERNAL, "out of memory");
            goto done;
        }
        cJSON_AddItemToObject(resp, "Item", shown);
    }
    add_transact_consumed_list(result, in, &b);
    *out = result;
    result = NULL;
    rc = 0;
done:
    cJSON_Delete(result);
    batch_free(&b);
    return rc;
}
