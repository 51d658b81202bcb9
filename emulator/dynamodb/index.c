/* dynamodb/index — secondary index entries: maintenance on item writes,
 * backfill, drop, statistics, and the index part of ConsumedCapacity.
 * Queries on indexes read ddb_index_items too but live with Query. See
 * index.h for the storage layout and the capacity rules. */
#include "index.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "core/json.h"
#include "core/store.h"
#include "item.h"
#include "keycodec.h"

#define MAX_KEY_PARTS 4

/* One index as the table description defines it (borrowed strings). */
typedef struct index_def {
    const char *name;
    int global;
    const char *hash[MAX_KEY_PARTS], *range[MAX_KEY_PARTS];
    char htypes[MAX_KEY_PARTS + 1], rtypes[MAX_KEY_PARTS + 1];
    int nh, nr;
    const char *ptype;      /* KEYS_ONLY, INCLUDE, ALL */
    const cJSON *nka;       /* NonKeyAttributes for INCLUDE */
} index_def;

/* The table's own key attribute names, for projections. */
typedef struct table_keys {
    const char *hash, *range;   /* range NULL without a sort key */
} table_keys;

/* One entry an item has (or would have) in one index. */
typedef struct entry {
    tp_buf ihk, irk;
    cJSON *item;            /* projected item (owned) */
    int64_t size;
} entry;

static const cJSON *member(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static char defined_type(const cJSON *desc, const char *name)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, member(desc, "AttributeDefinitions"))
    {
        const char *n = tp_json_str(d, "AttributeName"), *ty = tp_json_str(d, "AttributeType");
        if (n && ty && strcmp(n, name) == 0)
            return ty[0];
    }
    return 0;
}

static void table_keys_of(const cJSON *desc, table_keys *k)
{
    k->hash = k->range = NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, member(desc, "KeySchema"))
    {
        const char *n = tp_json_str(e, "AttributeName"), *kt = tp_json_str(e, "KeyType");
        if (n && kt && strcmp(kt, "HASH") == 0)
            k->hash = n;
        else if (n && kt && strcmp(kt, "RANGE") == 0)
            k->range = n;
    }
}

/* Fills def from one index description; 0 when it is usable. */
static int def_of(const cJSON *desc, const cJSON *idx, int global, index_def *def)
{
    memset(def, 0, sizeof *def);
    def->name = tp_json_str(idx, "IndexName");
    def->global = global;
    const cJSON *proj = member(idx, "Projection");
    def->ptype = tp_json_str(proj, "ProjectionType");
    if (!def->ptype)
        def->ptype = "ALL";
    def->nka = member(proj, "NonKeyAttributes");
    const cJSON *e;
    cJSON_ArrayForEach(e, member(idx, "KeySchema"))
    {
        const char *n = tp_json_str(e, "AttributeName"), *kt = tp_json_str(e, "KeyType");
        char ty = n ? defined_type(desc, n) : 0;
        if (!n || !kt || !ty)
            return -1;
        if (strcmp(kt, "HASH") == 0 && def->nh < MAX_KEY_PARTS) {
            def->htypes[def->nh] = ty;
            def->hash[def->nh++] = n;
        } else if (strcmp(kt, "RANGE") == 0 && def->nr < MAX_KEY_PARTS) {
            def->rtypes[def->nr] = ty;
            def->range[def->nr++] = n;
        }
    }
    return def->name && def->nh > 0 ? 0 : -1;
}

/* The indexes writes maintain: every LSI, and the GSIs that are neither
 * being created (the backfill fills them) nor being deleted. With only set,
 * just that index, whatever its status. Returns how many were filled. */
static int defs_of(const cJSON *desc, const char *only, index_def *defs, int cap)
{
    static const char *const kinds[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
    int n = 0;
    for (int k = 0; k < 2; k++) {
        const cJSON *idx;
        cJSON_ArrayForEach(idx, member(desc, kinds[k]))
        {
            const char *name = tp_json_str(idx, "IndexName");
            const char *st = tp_json_str(idx, "IndexStatus");
            if (only ? !name || strcmp(name, only) != 0
                     : k == 1 && st && (strcmp(st, "CREATING") == 0 || strcmp(st, "DELETING") == 0))
                continue;
            if (n < cap && def_of(desc, idx, k == 1, &defs[n]) == 0)
                n++;
        }
    }
    return n;
}

/* --- key encoding --------------------------------------------------------- */

static int append_escaped(tp_buf *out, const tp_buf *part)
{
    static const unsigned char esc[2] = {0x00, 0xFF}, end[2] = {0x00, 0x01};
    const unsigned char *p = (const unsigned char *)part->data;
    for (size_t i = 0; i < part->len; i++) {
        int rc = p[i] == 0 ? tp_buf_append(out, esc, 2) : tp_buf_append(out, &p[i], 1);
        if (rc != 0)
            return -1;
    }
    return tp_buf_append(out, end, 2);
}

/* Why an item's value cannot be an index key (encode_side's 2 and 3). */
typedef struct key_fault {
    const char *attr;   /* the attribute */
    size_t size;        /* 3: its size (the range side's: all of them) */
    size_t max;
} key_fault;

/* 0 encoded, 1 not indexed (missing or mistyped), 2 empty S/B value, 3 a
 * value over AWS's index key limits (2048 bytes per partition key
 * attribute, 1024 for the sort key attributes together), -1 bad value (err
 * set). For 2 and 3 *kf says which attribute (when kf is not NULL). */
static int encode_side(const char *const *names, const char *types, int n, const cJSON *values,
                       int range, tp_buf *out, key_fault *kf, tp_error *err)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        char tag[2] = {types[i], 0};
        const cJSON *av = member(values, names[i]);
        const char *text = av ? tp_json_str(av, tag) : NULL;
        if (!text)
            return 1;
        if (types[i] != 'N' && text[0] == '\0') {
            if (kf)
                kf->attr = names[i];
            return 2;
        }
        if (types[i] != 'N') {
            size_t bytes = ddb_key_value_bytes(types[i], text);
            total = range ? total + bytes : bytes;
            if (total > (range ? 1024u : 2048u)) {
                if (kf) {
                    kf->attr = names[i];
                    kf->size = total;
                    kf->max = range ? 1024 : 2048;
                }
                return 3;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        char tag[2] = {types[i], 0};
        const char *text = tp_json_str(member(values, names[i]), tag);
        if (n == 1)
            return ddb_key_encode(types[i], text, out, err);
        tp_buf part;
        tp_buf_init(&part);
        int rc = ddb_key_encode(types[i], text, &part, err);
        if (rc == 0 && append_escaped(out, &part) != 0)
            rc = tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        tp_buf_free(&part);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int ddb_index_key_encode(const char *const *names, const char *types, int n, const cJSON *values,
                         tp_buf *out, tp_error *err)
{
    key_fault kf = {0};
    int rc = encode_side(names, types, n, values, 0, out, &kf, err);
    if (rc == 2)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values are not valid. The AttributeValue for a key "
                       "attribute cannot contain an empty string value. Key: %s",
                       kf.attr);
    return rc == 3 ? 1 : rc;
}

/* --- entries ---------------------------------------------------------------- */

static void entry_init(entry *e)
{
    tp_buf_init(&e->ihk);
    tp_buf_init(&e->irk);
    e->item = NULL;
    e->size = 0;
}

static void entry_free(entry *e)
{
    tp_buf_free(&e->ihk);
    tp_buf_free(&e->irk);
    cJSON_Delete(e->item);
    entry_init(e);
}

static void copy_attr(cJSON *to, const cJSON *from, const char *name)
{
    const cJSON *v = name ? member(from, name) : NULL;
    if (v && !member(to, name))
        cJSON_AddItemToObject(to, name, cJSON_Duplicate(v, 1));
}

static cJSON *project(const index_def *d, const table_keys *tk, const cJSON *item)
{
    if (strcmp(d->ptype, "ALL") == 0)
        return cJSON_Duplicate(item, 1);
    cJSON *p = cJSON_CreateObject();
    copy_attr(p, item, tk->hash);
    copy_attr(p, item, tk->range);
    for (int i = 0; i < d->nh; i++)
        copy_attr(p, item, d->hash[i]);
    for (int i = 0; i < d->nr; i++)
        copy_attr(p, item, d->range[i]);
    if (strcmp(d->ptype, "INCLUDE") == 0) {
        const cJSON *n;
        cJSON_ArrayForEach(n, d->nka)
        {
            if (cJSON_IsString(n))
                copy_attr(p, item, n->valuestring);
        }
    }
    return p;
}

/* The entry item has in index d: 0 built, 1 not in the index, 2 empty key
 * value, 3 oversized key value (*kf says which), -1 error. */
static int entry_of(const index_def *d, const table_keys *tk, const cJSON *item, entry *e,
                    key_fault *kf, tp_error *err)
{
    int rc = encode_side(d->hash, d->htypes, d->nh, item, 0, &e->ihk, kf, err);
    if (rc == 0)
        rc = encode_side(d->range, d->rtypes, d->nr, item, 1, &e->irk, kf, err);
    if (rc != 0)
        return rc;
    e->item = project(d, tk, item);
    if (!e->item)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    e->size = (int64_t)ddb_item_size(e->item);
    return 0;
}

static int same_buf(const tp_buf *a, const tp_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static int same_item(const cJSON *a, const cJSON *b)
{
    if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
        return 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a)
    {
        const cJSON *w = member(b, v->string);
        if (!w || !ddb_attr_equal(v, w))
            return 0;
    }
    return 1;
}

static const void *blob(const tp_buf *b) { return b->data ? (const void *)b->data : (const void *)""; }

static int row_put(tp_core *core, int64_t table_id, const char *index, const entry *e,
                   const tp_buf *hk, const tp_buf *rk)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO ddb_index_items(table_id, index_name, ihk, irk, hk, rk, item, size)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    sqlite3_stmt *st = tp_store_stmt(core->store, sql);
    char *text = tp_json_print(e->item);
    if (!st || !text) {
        free(text);
        return -1;
    }
    sqlite3_bind_int64(st, 1, table_id);
    sqlite3_bind_text(st, 2, index, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, blob(&e->ihk), (int)e->ihk.len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, blob(&e->irk), (int)e->irk.len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, blob(hk), (int)hk->len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, blob(rk), (int)rk->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, text, -1, free);
    sqlite3_bind_int64(st, 8, e->size);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int row_delete(tp_core *core, int64_t table_id, const char *index, const entry *e,
                      const tp_buf *hk, const tp_buf *rk)
{
    static const char sql[] = "DELETE FROM ddb_index_items WHERE table_id=?1 AND index_name=?2"
                              " AND ihk=?3 AND irk=?4 AND hk=?5 AND rk=?6";
    sqlite3_stmt *st = tp_store_stmt(core->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, table_id);
    sqlite3_bind_text(st, 2, index, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, blob(&e->ihk), (int)e->ihk.len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, blob(&e->irk), (int)e->irk.len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, blob(hk), (int)hk->len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, blob(rk), (int)rk->len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void report_add(ddb_index_report *rep, const index_def *d, int puts, int deletes,
                       double units)
{
    if (!rep || units <= 0)
        return;
    int i;
    for (i = 0; i < rep->n; i++)
        if (rep->idx[i].global == d->global && strcmp(rep->idx[i].name, d->name) == 0)
            break;
    if (i == rep->n) {
        if (rep->n >= DDB_MAX_INDEXES)
            return;
        ddb_index_change *c = &rep->idx[rep->n++];
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", d->name);
        c->global = d->global;
    }
    rep->idx[i].puts += puts;
    rep->idx[i].deletes += deletes;
    rep->idx[i].units += units;
}

/* AWS's refusal of a write whose value cannot be d's key (entry_of's 2
 * or 3). */
static int key_fault_error(const index_def *d, int kind, const key_fault *kf, tp_error *err)
{
    if (kind == 3)
        /* Seen from DynamoDB for a partition key (dynalite issue #35 and
         * users' reports); the sort key's twin is unverified wording. */
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: Size limit exceeded for Index "
                       "Key %s Actual Size: %zu bytes Max Size: %zu bytes IndexName: %s",
                       kf->attr, kf->size, kf->max, d->name);
    char tag[2] = {0, 0};
    for (int i = 0; i < d->nh + d->nr; i++) {
        const char *n = i < d->nh ? d->hash[i] : d->range[i - d->nh];
        if (strcmp(n, kf->attr) == 0)
            tag[0] = i < d->nh ? d->htypes[i] : d->rtypes[i - d->nh];
    }
    return tp_fail(err, TP_ERR_VALIDATION,
                   "One or more parameter values are not valid. A value specified for a secondary "
                   "index key is not supported. The AttributeValue for a key attribute cannot "
                   "contain an empty %s value. IndexName: %s, IndexKey: %s",
                   tag[0] == 'B' ? "binary" : "string", d->name, kf->attr);
}

/* One index, one item change. */
static int apply_one(tp_req *r, const ddb_table *t, const index_def *d, const table_keys *tk,
                     const cJSON *old_item, const cJSON *new_item, const tp_buf *hk,
                     const tp_buf *rk, ddb_index_report *rep, tp_error *err)
{
    entry o, n;
    entry_init(&o);
    entry_init(&n);
    key_fault kf = {0};
    int rc = -1, has_o = 0, has_n = 0;
    if (old_item) {
        /* A stored item that somehow has a bad key is simply not indexed. */
        int k = entry_of(d, tk, old_item, &o, NULL, err);
        if (k < 0)
            goto done;
        has_o = k == 0;
    }
    if (new_item) {
        int k = entry_of(d, tk, new_item, &n, &kf, err);
        if (k == 2 || k == 3) {
            rc = key_fault_error(d, k, &kf, err);
            goto done;
        }
        if (k < 0)
            goto done;
        has_n = k == 0;
    }
    tp_core *core = r->core;
    if (has_o && has_n && same_buf(&o.ihk, &n.ihk) && same_buf(&o.irk, &n.irk)) {
        if (!same_item(o.item, n.item)) {
            if (row_put(core, t->id, d->name, &n, hk, rk) != 0)
                goto storage;
            report_add(rep, d, 1, 0, ddb_write_units(o.size, n.size));
        }
    } else {
        if (has_o) {
            if (row_delete(core, t->id, d->name, &o, hk, rk) != 0)
                goto storage;
            report_add(rep, d, 0, 1, ddb_write_units(o.size, 0));
        }
        if (has_n) {
            if (row_put(core, t->id, d->name, &n, hk, rk) != 0)
                goto storage;
            report_add(rep, d, 1, 0, ddb_write_units(0, n.size));
        }
    }
    rc = 0;
    goto done;
storage:
    rc = tp_fail(err, TP_ERR_INTERNAL, "storage error: %s", sqlite3_errmsg(tp_store_db(r->core->store)));
done:
    entry_free(&o);
    entry_free(&n);
    return rc;
}

int ddb_index_check_item(const ddb_table *t, const cJSON *item, tp_error *err)
{
    static const char *const kinds[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
    for (int k = 0; k < 2; k++) {
        const cJSON *idx;
        cJSON_ArrayForEach(idx, member(t->desc, kinds[k]))
        {
            index_def d;
            if (def_of(t->desc, idx, k == 1, &d) != 0)
                continue;
            tp_buf scratch;
            tp_buf_init(&scratch);
            key_fault kf = {0};
            int rc = encode_side(d.hash, d.htypes, d.nh, item, 0, &scratch, &kf, err);
            if (rc == 0)
                rc = encode_side(d.range, d.rtypes, d.nr, item, 1, &scratch, &kf, err);
            tp_buf_free(&scratch);
            if (rc == 2 || rc == 3)
                return key_fault_error(&d, rc, &kf, err);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

int ddb_index_apply_report(tp_req *r, const ddb_table *t, const cJSON *old_item,
                           const cJSON *new_item, ddb_index_report *rep, tp_error *err)
{
    index_def defs[DDB_MAX_INDEXES];
    int n = defs_of(t->desc, NULL, defs, DDB_MAX_INDEXES);
    if (n == 0 || (!old_item && !new_item))
        return 0;
    table_keys tk;
    table_keys_of(t->desc, &tk);
    tp_buf hk, rk;
    tp_buf_init(&hk);
    tp_buf_init(&rk);
    int rc = ddb_key_of_item(t, new_item ? new_item : old_item, &hk, &rk, err);
    for (int i = 0; i < n && rc == 0; i++)
        rc = apply_one(r, t, &defs[i], &tk, old_item, new_item, &hk, &rk, rep, err);
    tp_buf_free(&hk);
    tp_buf_free(&rk);
    return rc;
}

int ddb_index_apply(tp_req *r, const ddb_table *t, const cJSON *old_item, const cJSON *new_item,
                    tp_error *err)
{
    return ddb_index_apply_report(r, t, old_item, new_item, NULL, err);
}

/* --- ConsumedCapacity ------------------------------------------------------ */

static void add_units_map(cJSON *cc, const char *field, const ddb_index_report *rep, int global)
{
    cJSON *map = NULL;
    for (int i = 0; rep && i < rep->n; i++) {
        if (rep->idx[i].global != global)
            continue;
        if (!map)
            map = cJSON_AddObjectToObject(cc, field);
        cJSON *c = cJSON_AddObjectToObject(map, rep->idx[i].name);
        cJSON_AddNumberToObject(c, "CapacityUnits", rep->idx[i].units);
    }
}

void ddb_index_add_consumed(cJSON *out, const cJSON *in, const char *table, double table_units,
                            const ddb_index_report *rep)
{
    const char *rcc = tp_json_str(in, "ReturnConsumedCapacity");
    if (!rcc || strcmp(rcc, "NONE") == 0)
        return;
    double total = table_units;
    for (int i = 0; rep && i < rep->n; i++)
        total += rep->idx[i].units;
    cJSON *cc = cJSON_AddObjectToObject(out, "ConsumedCapacity");
    cJSON_AddStringToObject(cc, "TableName", table);
    cJSON_AddNumberToObject(cc, "CapacityUnits", total);
    if (strcmp(rcc, "INDEXES") == 0) {
        cJSON *tc = cJSON_AddObjectToObject(cc, "Table");
        cJSON_AddNumberToObject(tc, "CapacityUnits", table_units);
        add_units_map(cc, "LocalSecondaryIndexes", rep, 0);
        add_units_map(cc, "GlobalSecondaryIndexes", rep, 1);
    }
}

/* --- statistics, drop, backfill ------------------------------------------- */

int ddb_index_stats(tp_core *core, int64_t table_id, const char *index, int64_t *count,
                    int64_t *bytes)
{
    static const char sql[] = "SELECT count(*), coalesce(sum(size), 0) FROM ddb_index_items"
                              " WHERE table_id=?1 AND index_name=?2";
    *count = *bytes = 0;
    sqlite3_stmt *st = tp_store_stmt(core->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, table_id);
    sqlite3_bind_text(st, 2, index, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(st, 0);
        *bytes = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

void ddb_index_fill_stats(tp_core *core, int64_t table_id, cJSON *td)
{
    static const char *const kinds[] = {"LocalSecondaryIndexes", "GlobalSecondaryIndexes"};
    for (int k = 0; k < 2; k++) {
        cJSON *idx;
        cJSON_ArrayForEach(idx, member(td, kinds[k]))
        {
            const char *name = tp_json_str(idx, "IndexName");
            int64_t count = 0, bytes = 0;
            if (!name || ddb_index_stats(core, table_id, name, &count, &bytes) != 0)
                continue;
            if (member(idx, "IndexSizeBytes"))
                cJSON_ReplaceItemInObjectCaseSensitive(idx, "IndexSizeBytes",
                                                       cJSON_CreateNumber((double)bytes));
            if (member(idx, "ItemCount"))
                cJSON_ReplaceItemInObjectCaseSensitive(idx, "ItemCount",
                                                       cJSON_CreateNumber((double)count));
        }
    }
}

int ddb_index_drop(tp_core *core, int64_t table_id, const char *index)
{
    static const char all[] = "DELETE FROM ddb_index_items WHERE table_id=?1";
    static const char one[] = "DELETE FROM ddb_index_items WHERE table_id=?1 AND index_name=?2";
    sqlite3_stmt *st = tp_store_stmt(core->store, index ? one : all);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, table_id);
    if (index)
        sqlite3_bind_text(st, 2, index, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Items are read in pages keyed by (hk, rk) so that no statement stays
 * open while index rows are written. */
#define BACKFILL_PAGE 256

typedef struct backfill_row {
    tp_buf hk, rk;
    cJSON *item;
} backfill_row;

static int backfill_page(tp_core *core, int64_t table_id, tp_buf *after_hk, tp_buf *after_rk,
                         int first, backfill_row *rows, int *n)
{
    static const char sql_first[] = "SELECT hk, rk, item FROM ddb_items WHERE table_id=?1"
                                    " ORDER BY hk, rk LIMIT ?2";
    static const char sql_next[] = "SELECT hk, rk, item FROM ddb_items WHERE table_id=?1"
                                   " AND (hk > ?3 OR (hk = ?3 AND rk > ?4)) ORDER BY hk, rk LIMIT ?2";
    sqlite3_stmt *st = tp_store_stmt(core->store, first ? sql_first : sql_next);
    *n = 0;
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, table_id);
    sqlite3_bind_int(st, 2, BACKFILL_PAGE);
    if (!first) {
        sqlite3_bind_blob(st, 3, blob(after_hk), (int)after_hk->len, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 4, blob(after_rk), (int)after_rk->len, SQLITE_TRANSIENT);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        backfill_row *row = &rows[*n];
        tp_buf_init(&row->hk);
        tp_buf_init(&row->rk);
        tp_buf_append(&row->hk, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        tp_buf_append(&row->rk, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
        row->item = tp_json_parse((const char *)sqlite3_column_text(st, 2),
                                          (size_t)sqlite3_column_bytes(st, 2));
        (*n)++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int ddb_index_backfill(tp_core *core, int64_t table_id, const cJSON *desc, const char *index)
{
    index_def d;
    if (defs_of(desc, index, &d, 1) != 1 || ddb_index_drop(core, table_id, index) != 0)
        return -1;
    table_keys tk;
    table_keys_of(desc, &tk);
    backfill_row *rows = calloc(BACKFILL_PAGE, sizeof *rows);
    if (!rows)
        return -1;
    tp_buf last_hk, last_rk;
    tp_buf_init(&last_hk);
    tp_buf_init(&last_rk);
    int rc = 0, first = 1, n = 0;
    do {
        rc = backfill_page(core, table_id, &last_hk, &last_rk, first, rows, &n);
        first = 0;
        for (int i = 0; i < n; i++) {
            entry e;
            entry_init(&e);
            tp_error err;
            /* An item whose key value the index cannot take (an empty
             * string, a value over the key size limits) is left out, as
             * AWS's backfill leaves out index key violations. */
            if (rc == 0 && rows[i].item && entry_of(&d, &tk, rows[i].item, &e, NULL, &err) == 0 &&
                row_put(core, table_id, d.name, &e, &rows[i].hk, &rows[i].rk) != 0)
                rc = -1;
            entry_free(&e);
            if (i == n - 1) {
                last_hk.len = last_rk.len = 0;
                tp_buf_append(&last_hk, rows[i].hk.data, rows[i].hk.len);
                tp_buf_append(&last_rk, rows[i].rk.data, rows[i].rk.len);
            }
            tp_buf_free(&rows[i].hk);
            tp_buf_free(&rows[i].rk);
            cJSON_Delete(rows[i].item);
        }
    } while (rc == 0 && n == BACKFILL_PAGE);
    tp_buf_free(&last_hk);
    tp_buf_free(&last_rk);
    free(rows);
    return rc;
}

/* --- item collections (tables with local secondary indexes) -------------
 * An item collection is every item sharing a partition key plus their LSI
 * entries. AWS caps it at 10 GB and reports its size on writes that ask
 * for ReturnItemCollectionMetrics SIZE. Its size is a running sum the
 * schema's triggers keep (DDB_COLLECTION_SCHEMA_SQL in index.h), so a
 * write reads one row whatever the collection holds. */

static int collection_bytes(tp_req *r, int64_t table_id, const tp_buf *hk, int64_t *bytes)
{
    static const char sql[] = "SELECT bytes FROM ddb_collections WHERE table_id=?1 AND hk=?2";
    *bytes = 0;
    sqlite3_stmt *st = tp_store_stmt(r->core->store, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, table_id);
    sqlite3_bind_blob(st, 2, blob(hk), (int)hk->len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *bytes = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int ddb_item_collection_check(tp_req *r, const ddb_table *t, const tp_buf *hk,
                              const cJSON *key_source, int want_size, cJSON **metrics,
                              tp_error *err)
{
    *metrics = NULL;
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t->desc, "LocalSecondaryIndexes")) == 0)
        return 0;
    int64_t bytes = 0;
    if (collection_bytes(r, t->id, hk, &bytes) != 0)
        return tp_fail(err, TP_ERR_INTERNAL, "storage error");
    int64_t limit = ddb_setting(r->core, "item_collection_limit_bytes", INT64_C(10) << 30);
    if (bytes > limit)
        return tp_fail(err, TP_ERR_ITEM_COLLECTION_SIZE_LIMIT,
                       "Item collection size limit exceeded for the partition key %s",
                       t->hash.name);
    if (!want_size)
        return 0;
    cJSON *m = cJSON_CreateObject();
    cJSON *key = cJSON_AddObjectToObject(m, "ItemCollectionKey");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(key_source, t->hash.name);
    if (v)
        cJSON_AddItemToObject(key, t->hash.name, cJSON_Duplicate(v, 1));
    /* A lower and an upper bound in GB, whole gigabytes apart. */
    double gb = (double)(bytes >> 30);
    cJSON *range = cJSON_AddArrayToObject(m, "SizeEstimateRangeGB");
    cJSON_AddItemToArray(range, cJSON_CreateNumber(gb));
    cJSON_AddItemToArray(range, cJSON_CreateNumber(gb + 1.0));
    *metrics = m;
    return 0;
}

int ddb_wants_collection_metrics(const cJSON *in)
{
    const char *want = tp_json_str(in, "ReturnItemCollectionMetrics");
    return want && strcmp(want, "SIZE") == 0;
}
