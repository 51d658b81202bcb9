/* dynamodb/capacity — the throughput model applied to DynamoDB's actions
 * (capacity.h): a table's and each GSI's rates, read from the config file
 * and the stored TableDescription, described to capacity/ as a resource
 * with a "read" and a "write" bucket. */
#include "capacity.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "core/json.h"

#define DDB_DEFAULT_ON_DEMAND 40000

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

int ddb_capacity_admit(tp_req *r, const ddb_table *t, tp_cap_kind kind, tp_error *err)
{
    if (ddb_cap_admit(r, t->id, t->name, t->desc, NULL, kind))
        return 0;
    return tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, "%s", TP_CAP_TABLE_MESSAGE);
}

void ddb_capacity_charge(tp_req *r, const ddb_table *t, const char *index, tp_cap_kind kind,
                         double units)
{
    ddb_cap_charge(r, t->id, t->name, t->desc, ddb_capacity_is_gsi(t, index) ? index : NULL, kind,
                   units);
}

int ddb_capacity_settle_write(tp_req *r, const ddb_table *t, double table_units,
                              const ddb_index_report *rep, tp_error *err)
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
    ddb_cap_charge(r, t->id, t->name, t->desc, NULL, TP_CAP_WRITE, on_table);
    return 0;
}
