/* dynamodb/capacity — the throughput model applied to DynamoDB's actions
 * (capacity.h). */
#include "capacity.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "core/json.h"

int ddb_capacity_is_gsi(const ddb_table *t, const char *index)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(t->desc, "GlobalSecondaryIndexes"))
    {
        const char *name = tp_json_str(g, "IndexName");
        if (index && name && strcmp(name, index) == 0)
            return 1;
    }
    return 0;
}

int ddb_capacity_admit(tp_req *r, const ddb_table *t, tp_cap_kind kind, tp_error *err)
{
    if (tp_capacity_admit(r, t->id, t->name, t->desc, NULL, kind))
        return 0;
    return tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, "%s", TP_CAP_TABLE_MESSAGE);
}

void ddb_capacity_charge(tp_req *r, const ddb_table *t, const char *index, tp_cap_kind kind,
                         double units)
{
    tp_capacity_charge(r, t->id, t->name, t->desc, ddb_capacity_is_gsi(t, index) ? index : NULL,
                       kind, units);
}

int ddb_capacity_settle_write(tp_req *r, const ddb_table *t, double table_units,
                              const ddb_index_report *rep, tp_error *err)
{
    for (int i = 0; rep && i < rep->n; i++) {
        if (!rep->idx[i].global || rep->idx[i].units <= 0)
            continue;
        if (!tp_capacity_admit(r, t->id, t->name, t->desc, rep->idx[i].name, TP_CAP_WRITE))
            return tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, "%s", TP_CAP_GSI_MESSAGE);
    }
    double on_table = table_units;
    for (int i = 0; rep && i < rep->n; i++) {
        if (rep->idx[i].global)
            tp_capacity_charge(r, t->id, t->name, t->desc, rep->idx[i].name, TP_CAP_WRITE,
                               rep->idx[i].units);
        else
            on_table += rep->idx[i].units;
    }
    tp_capacity_charge(r, t->id, t->name, t->desc, NULL, TP_CAP_WRITE, on_table);
    return 0;
}
