/* dynamodb/capacity — the throughput model applied to DynamoDB's actions
 * (capacity.h): a table's and each GSI's rates, read from the config file
 * and the stored TableDescription, described to capacity/ as a resource
 * with a "read" and a "write" bucket. */
#include "capacity.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"

#define DDB_DEFAULT_ON_DEMAND 40000
/* AWS's documented partition limits (developer guide, "Partitions and
 * data distribution" / "burst and adaptive capacity"): 10 GB, 3,000 RCU
 * and 1,000 WCU per partition. A new on-demand table is warm to 12,000
 * reads and 4,000 writes per second (what DescribeTable reports). */
#define DDB_PART_READ 3000
#define DDB_PART_WRITE 1000
#define DDB_PART_BYTES INT64_C(10737418240)
#define DDB_PART_SPLIT_S 300
#define DDB_PART_BURST_S 10   /* a setting, not a published number */
#define DDB_WARM_READ 12000
#define DDB_WARM_WRITE 4000

static const cJSON *cap_config(const tp_core *core)
{
    return core->config ? cJSON_GetObjectItemCaseSensitive(core->config, "capacity") : NULL;
}

static int64_t num_member(const cJSON *o, const char *name)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static const cJSON *find_gsi(const cJSON *desc, const char *index)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(desc, "GlobalSecondaryIndexes"))
    {
        const char *n = tp_json_str(g, "IndexName");
        if (n && index && strcmp(n, index) == 0)
            return g;
    }
    return NULL;
}

static int is_on_demand(const cJSON *desc)
{
    const char *bm = tp_json_str(cJSON_GetObjectItemCaseSensitive(desc, "BillingModeSummary"),
                                 "BillingMode");
    return bm && strcmp(bm, "PAY_PER_REQUEST") == 0;
}

const char *ddb_throttle_reason(int index, tp_cap_kind kind, ddb_limit limit)
{
    /* ThrottlingReason.reason: ResourceType + OperationType + LimitType */
    static const char *const names[2][2][4] = {
        {{"TableReadProvisionedThroughputExceeded", "TableReadAccountLimitExceeded",
          "TableReadKeyRangeThroughputExceeded", "TableReadMaxOnDemandThroughputExceeded"},
         {"TableWriteProvisionedThroughputExceeded", "TableWriteAccountLimitExceeded",
          "TableWriteKeyRangeThroughputExceeded", "TableWriteMaxOnDemandThroughputExceeded"}},
        {{"IndexReadProvisionedThroughputExceeded", "IndexReadAccountLimitExceeded",
          "IndexReadKeyRangeThroughputExceeded", "IndexReadMaxOnDemandThroughputExceeded"},
         {"IndexWriteProvisionedThroughputExceeded", "IndexWriteAccountLimitExceeded",
          "IndexWriteKeyRangeThroughputExceeded", "IndexWriteMaxOnDemandThroughputExceeded"}}};
    return names[index ? 1 : 0][kind == TP_CAP_WRITE ? 1 : 0][limit];
}

/* The rate and burst of one kind of bucket, before run-time overrides,
 * and the limit a refusal by it stands for. */
static void resolve_rate(const tp_core *core, const char *table, const cJSON *desc,
                         const char *index, tp_cap_kind kind, tp_cap_dim *d)
{
    const char *key = kind == TP_CAP_READ ? "read" : "write";
    d->name = key;
    d->burst_ms = tp_capacity_burst_ms(core);
    /* An on-demand table is held by the account's per-table quota; a
     * provisioned one (or a configured rate) by its provisioned level. */
    d->why = ddb_throttle_reason(index != NULL, kind,
                                 is_on_demand(desc) ? DDB_LIMIT_ACCOUNT : DDB_LIMIT_PROVISIONED);
    const cJSON *tables = cJSON_GetObjectItemCaseSensitive(cap_config(core), "tables");
    const cJSON *tc = tables ? cJSON_GetObjectItemCaseSensitive(tables, table) : NULL;
    if (tc && index)
        tc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(tc, "gsi"), index);
    int64_t v = num_member(tc, key);
    if (v >= 0) {
        d->rate = v;
        return;
    }
    if (is_on_demand(desc)) {
        const cJSON *c = cap_config(core);
        const char *ceiling = kind == TP_CAP_READ ? "on_demand_max_read" : "on_demand_max_write";
        d->rate = c ? tp_json_int(c, ceiling, DDB_DEFAULT_ON_DEMAND) : DDB_DEFAULT_ON_DEMAND;
        d->burst_ms = 1000;
        return;
    }
    const cJSON *owner = index ? find_gsi(desc, index) : desc;
    const cJSON *pt = owner ? cJSON_GetObjectItemCaseSensitive(owner, "ProvisionedThroughput") : NULL;
    v = num_member(pt, kind == TP_CAP_READ ? "ReadCapacityUnits" : "WriteCapacityUnits");
    d->rate = v > 0 ? v : 0;
}

void ddb_capacity_describe(const tp_core *core, const char *table, int64_t table_id,
                           const cJSON *desc, const char *index, tp_cap_resource *res)
{
    memset(res, 0, sizeof *res);
    res->service = "dynamodb";
    res->resource_label = "table";
    res->name = table;
    res->part_label = "index";
    res->part = index;
    res->generation = table_id;
    const cJSON *owner = index ? find_gsi(desc, index) : desc;
    res->id = tp_json_str(owner, index ? "IndexArn" : "TableArn");
    res->start_full = tp_capacity_start_full(core);
    res->ndims = 2;
    resolve_rate(core, table, desc, index, TP_CAP_READ, &res->dim[TP_CAP_READ]);
    resolve_rate(core, table, desc, index, TP_CAP_WRITE, &res->dim[TP_CAP_WRITE]);
}

void ddb_capacity_add_reason(tp_req *r, const char *reason, const char *resource)
{
    if (!reason)
        return;
    if (!r->error_fields && !(r->error_fields = cJSON_CreateObject()))
        return;
    cJSON *list = cJSON_GetObjectItemCaseSensitive(r->error_fields, "ThrottlingReasons");
    if (!list && !(list = cJSON_AddArrayToObject(r->error_fields, "ThrottlingReasons")))
        return;
    const cJSON *have;
    cJSON_ArrayForEach(have, list)
    {
        const char *hr = tp_json_str(have, "resource");
        if (strcmp(tp_json_str(have, "reason"), reason) == 0 &&
            strcmp(hr ? hr : "", resource ? resource : "") == 0)
            return;   /* one entry per (reason, resource), however many items it refused */
    }
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "reason", reason);
    if (resource)
        cJSON_AddStringToObject(o, "resource", resource);
    cJSON_AddItemToArray(list, o);
}

static int64_t part_setting(const tp_core *core, const char *name, int64_t dflt)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(cap_config(core), "partitions");
    return p ? tp_json_int(p, name, dflt) : dflt;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return b > 0 && a > 0 ? (a + b - 1) / b : 0;
}

int ddb_partitions_describe(const tp_core *core, const ddb_table *t, const char *index,
                            const tp_cap_resource *res, tp_cap_ranges *pr)
{
    memset(pr, 0, sizeof *pr);
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(cap_config(core), "partitions");
    if (pc && !tp_json_bool(pc, "enabled", 1))
        return -1;
    int64_t max_r = part_setting(core, "read_units", DDB_PART_READ);
    int64_t max_w = part_setting(core, "write_units", DDB_PART_WRITE);
    int64_t max_b = part_setting(core, "size_bytes", DDB_PART_BYTES);
    /* Enough partitions for the throughput: a provisioned table's (or
     * GSI's) rates, an on-demand one's warm throughput. */
    int64_t want_r = res->dim[TP_CAP_READ].rate, want_w = res->dim[TP_CAP_WRITE].rate;
    if (is_on_demand(t->desc)) {
        const cJSON *owner = index ? find_gsi(t->desc, index) : t->desc;
        const cJSON *w = owner ? cJSON_GetObjectItemCaseSensitive(owner, "WarmThroughput") : NULL;
        want_r = num_member(w, "ReadUnitsPerSecond");
        want_w = num_member(w, "WriteUnitsPerSecond");
        if (want_r < 0)
            want_r = part_setting(core, "on_demand_warm_read", DDB_WARM_READ);
        if (want_w < 0)
            want_w = part_setting(core, "on_demand_warm_write", DDB_WARM_WRITE);
    }
    int64_t n = ceil_div(want_r, max_r);
    if (ceil_div(want_w, max_w) > n)
        n = ceil_div(want_w, max_w);
    if (!index && ceil_div(t->size_bytes, max_b) > n)
        n = ceil_div(t->size_bytes, max_b);
    pr->label = "partition";
    pr->count = n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
    /* Adaptive capacity (on by default, as AWS has it since 2019): a hot
     * partition may use up to the partition maximum at once, as long as
     * the table has capacity; without it, its share of the table's rate. */
    int adaptive = pc ? tp_json_bool(pc, "adaptive", 1) : 1;
    pr->rate[TP_CAP_READ] = adaptive ? max_r : want_r / pr->count;
    pr->rate[TP_CAP_WRITE] = adaptive ? max_w : want_w / pr->count;
    if (pr->rate[TP_CAP_READ] > max_r)
        pr->rate[TP_CAP_READ] = max_r;
    if (pr->rate[TP_CAP_WRITE] > max_w)
        pr->rate[TP_CAP_WRITE] = max_w;
    /* A partition absorbs a short burst (10 s of its rate by default: AWS
     * publishes no partition-level figure); the one partition of a small
     * table also holds the table's own burst, so that it never refuses
     * what the table's bucket admits (there the table is the limit). */
    for (int k = 0; k < 2; k++) {
        pr->burst_ms[k] = part_setting(core, "burst_seconds", DDB_PART_BURST_S) * 1000;
        int64_t table_ms = res->dim[k].rate > 0 && pr->rate[k] > 0
                               ? res->dim[k].burst_ms * res->dim[k].rate / pr->rate[k] + 1
                               : 0;
        if (pr->count == 1 && table_ms > pr->burst_ms[k])
            pr->burst_ms[k] = table_ms;
    }
    pr->split_after_ms = part_setting(core, "split_for_heat_seconds", DDB_PART_SPLIT_S) * 1000;
    pr->why[TP_CAP_READ] = ddb_throttle_reason(index != NULL, TP_CAP_READ, DDB_LIMIT_KEY_RANGE);
    pr->why[TP_CAP_WRITE] = ddb_throttle_reason(index != NULL, TP_CAP_WRITE, DDB_LIMIT_KEY_RANGE);
    return 0;
}

uint32_t ddb_partition_hash(const tp_buf *hk)
{
    /* crc32 of the encoded partition key, then a finalizer (murmur3's
     * fmix32) so that keys differing in a few bits spread over the space. */
    uint32_t h = tp_crc32(hk->data, hk->len);
    h ^= h >> 16;
    h *= 0x85ebca6bU;
    h ^= h >> 13;
    h *= 0xc2b2ae35U;
    h ^= h >> 16;
    return h;
}

int ddb_cap_admit_key(tp_req *r, const ddb_table *t, const char *index, tp_cap_kind kind,
                      const tp_buf *hk)
{
    tp_cap_resource res;
    tp_cap_ranges pr;
    ddb_capacity_describe(r->core, t->name, t->id, t->desc, index, &res);
    if (hk && ddb_partitions_describe(r->core, t, index, &res, &pr) == 0)
        res.ranges = &pr;
    int rc = tp_cap_admit_key(r, &res, kind, hk ? ddb_partition_hash(hk) : 0);
    if (rc == TP_CAP_REFUSED)
        ddb_capacity_add_reason(r, res.dim[kind].why, res.id);
    else if (rc == TP_CAP_REFUSED_RANGE)
        ddb_capacity_add_reason(r, pr.why[kind], res.id);
    return rc;
}

static void cap_charge_key(tp_req *r, const ddb_table *t, const char *index, tp_cap_kind kind,
                           double units, const tp_buf *hk)
{
    tp_cap_resource res;
    tp_cap_ranges pr;
    ddb_capacity_describe(r->core, t->name, t->id, t->desc, index, &res);
    if (hk && ddb_partitions_describe(r->core, t, index, &res, &pr) == 0)
        res.ranges = &pr;
    tp_cap_charge_key(r, &res, kind, units, hk ? ddb_partition_hash(hk) : 0);
}

int ddb_cap_admit(tp_req *r, int64_t table_id, const char *table, const cJSON *desc,
                  const char *index, tp_cap_kind kind)
{
    tp_cap_resource res;
    ddb_capacity_describe(r->core, table, table_id, desc, index, &res);
    if (tp_cap_admit(r, &res, kind))
        return 1;
    ddb_capacity_add_reason(r, res.dim[kind].why, res.id);
    return 0;
}

void ddb_cap_charge(tp_req *r, int64_t table_id, const char *table, const cJSON *desc,
                    const char *index, tp_cap_kind kind, double units)
{
    tp_cap_resource res;
    ddb_capacity_describe(r->core, table, table_id, desc, index, &res);
    tp_cap_charge(r, &res, kind, units);
}

typedef struct table_change {
    const tp_core *core;
    const char *table;
    int64_t table_id;
    const cJSON *desc;
} table_change;

static int describe_changed(void *arg, const char *account, const char *region, const char *part,
                            tp_cap_resource *res)
{
    const table_change *c = arg;
    (void)account;
    (void)region;
    ddb_capacity_describe(c->core, c->table, c->table_id, c->desc, part, res);
    return 0;
}

void ddb_capacity_table_changed(tp_core *core, int64_t table_id, const cJSON *desc,
                                int64_t now_ms)
{
    const char *table = tp_json_str(desc, "TableName");
    table_change c = {core, table ? table : "", table_id, desc};
    tp_cap_reconfigure(core, "dynamodb", table_id, describe_changed, &c, now_ms);
}

int ddb_capacity_is_gsi(const ddb_table *t, const char *index)
{
    return index && find_gsi(t->desc, index) != NULL;
}

int ddb_capacity_refused(int admitted, int index, tp_error *err)
{
    if (admitted == TP_CAP_REFUSED_RANGE)
        return tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, "%s", TP_CAP_TXN_MESSAGE);
    return tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, "%s",
                   index ? TP_CAP_GSI_MESSAGE : TP_CAP_TABLE_MESSAGE);
}

int ddb_capacity_admit(tp_req *r, const ddb_table *t, tp_cap_kind kind, const tp_buf *hk,
                       tp_error *err)
{
    int admitted = ddb_cap_admit_key(r, t, NULL, kind, hk);
    return admitted == TP_CAP_ADMITTED ? 0 : ddb_capacity_refused(admitted, 0, err);
}

void ddb_capacity_charge(tp_req *r, const ddb_table *t, const char *index, tp_cap_kind kind,
                         double units, const tp_buf *hk)
{
    int gsi = ddb_capacity_is_gsi(t, index);
    cap_charge_key(r, t, gsi ? index : NULL, kind, units, gsi ? NULL : hk);
}

int ddb_capacity_settle_write(tp_req *r, const ddb_table *t, double table_units,
                              const ddb_index_report *rep, const tp_buf *hk, tp_error *err)
{
    for (int i = 0; rep && i < rep->n; i++) {
        if (!rep->idx[i].global || rep->idx[i].units <= 0)
            continue;
        if (!ddb_cap_admit(r, t->id, t->name, t->desc, rep->idx[i].name, TP_CAP_WRITE))
            return tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, "%s", TP_CAP_GSI_MESSAGE);
    }
    double on_table = table_units;
    for (int i = 0; rep && i < rep->n; i++) {
        if (rep->idx[i].global)
            ddb_cap_charge(r, t->id, t->name, t->desc, rep->idx[i].name, TP_CAP_WRITE,
                           rep->idx[i].units);
        else
            on_table += rep->idx[i].units;
    }
    cap_charge_key(r, t, NULL, TP_CAP_WRITE, on_table, hk);
    return 0;
}
