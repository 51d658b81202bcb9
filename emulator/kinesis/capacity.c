/* kinesis/capacity — the throughput model (capacity/throughput.h) applied
 * to Kinesis shards: how PutRecord, PutRecords and GetRecords meet their
 * buckets, with AWS's throttling messages.
 *
 * Every shard has four buckets ("in_bytes", "in_records", "out_bytes",
 * "out_calls"; part = the shard id) holding one second of its rate, as a
 * shard has no burst credit. A record is admitted while its shard's in
 * buckets are positive and then pays its size (data + partition key) and 1
 * record; a GetRecords call is admitted while out_calls and out_bytes are
 * positive and pays 1 call and the bytes it returned, so a 10 MiB read
 * leaves the shard in debt for the next 5 seconds, as AWS describes.
 *
 * ON_DEMAND streams: AWS applies the per-shard limits in both modes and
 * scales an on-demand stream's shards behind the scenes; tidepool does not
 * reshard on its own, so an on-demand stream's writes meet one stream-level
 * pair of buckets (part NULL) at the stream's write capacity instead of the
 * per-shard in buckets (default 4 MiB/s and 4,000 records/s: the capacity
 * AWS gives a new on-demand stream). Reads keep the per-shard out buckets.
 *
 * Rates, first match wins: a run-time override (POST /_tidepool/capacity
 * {"stream", "shard"?, "in_bytes"...}, applied by capacity/), the config's
 * "capacity": {"streams": {NAME: {"in_bytes", "in_records", "out_bytes",
 * "out_calls", "on_demand_in_bytes", "on_demand_in_records"}}}, then
 * "capacity": {"kinesis": {the same members}} for every stream, then
 * AWS's limits. */
#include <cjson/cJSON.h>
#include <string.h>

#include "capacity/throughput.h"
#include "kin.h"

#define ON_DEMAND_IN_BYTES (4 * 1024 * 1024)
#define ON_DEMAND_IN_RECORDS 4000
#define SHARD_BURST_MS 1000

enum { IN_BYTES, IN_RECORDS, OUT_BYTES, OUT_CALLS };

static const cJSON *section(const tp_core *core, const char *name)
{
    const cJSON *c = core->config ? cJSON_GetObjectItemCaseSensitive(core->config, "capacity") : NULL;
    return c ? cJSON_GetObjectItemCaseSensitive(c, name) : NULL;
}

/* A rate for one stream: its own entry, the "kinesis" defaults, dflt. */
static int64_t rate_of(const tp_core *core, const char *stream, const char *key, int64_t dflt)
{
    const cJSON *streams = section(core, "streams");
    const cJSON *own = streams ? cJSON_GetObjectItemCaseSensitive(streams, stream) : NULL;
    const cJSON *from[2] = {own, section(core, "kinesis")};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = from[i] ? cJSON_GetObjectItemCaseSensitive(from[i], key) : NULL;
        if (cJSON_IsNumber(v) && v->valuedouble >= 0)
            return (int64_t)v->valuedouble;
    }
    return dflt;
}

static void describe(const tp_core *core, const kin_stream *s, const char *shard_id,
                     tp_cap_resource *res)
{
    memset(res, 0, sizeof *res);
    res->service = "kinesis";
    res->resource_label = "stream";
    res->name = s->name;
    res->part_label = "shard";
    res->part = shard_id;
    res->generation = s->id;
    res->start_full = tp_capacity_start_full(core);
    if (!shard_id) {   /* an on-demand stream's write capacity */
        res->ndims = 2;
        res->dim[IN_BYTES] = (tp_cap_dim){"in_bytes",
            rate_of(core, s->name, "on_demand_in_bytes", ON_DEMAND_IN_BYTES), SHARD_BURST_MS, NULL};
        res->dim[IN_RECORDS] = (tp_cap_dim){"in_records",
            rate_of(core, s->name, "on_demand_in_records", ON_DEMAND_IN_RECORDS), SHARD_BURST_MS, NULL};
        return;
    }
    res->ndims = 4;
    res->dim[IN_BYTES] = (tp_cap_dim){"in_bytes",
        rate_of(core, s->name, "in_bytes", TP_CAP_KINESIS_IN_BYTES_PER_S), SHARD_BURST_MS, NULL};
    res->dim[IN_RECORDS] = (tp_cap_dim){"in_records",
        rate_of(core, s->name, "in_records", TP_CAP_KINESIS_IN_RECORDS_PER_S), SHARD_BURST_MS, NULL};
    res->dim[OUT_BYTES] = (tp_cap_dim){"out_bytes",
        rate_of(core, s->name, "out_bytes", TP_CAP_KINESIS_OUT_BYTES_PER_S), SHARD_BURST_MS, NULL};
    res->dim[OUT_CALLS] = (tp_cap_dim){"out_calls",
        rate_of(core, s->name, "out_calls", TP_CAP_KINESIS_OUT_CALLS_PER_S), SHARD_BURST_MS, NULL};
}

static int on_demand(const kin_stream *s) { return strcmp(s->mode, "ON_DEMAND") == 0; }

int kin_capacity_admit_put(tp_req *r, const kin_stream *s, const char *shard_id, tp_error *err)
{
    tp_cap_resource res;
    describe(r->core, s, on_demand(s) ? NULL : shard_id, &res);
    if (tp_cap_admit(r, &res, IN_RECORDS) && tp_cap_admit(r, &res, IN_BYTES))
        return 0;
    /* Verified wording for a shard's limit; that AWS says the same when an
     * on-demand stream's write capacity is the reason is unverified. */
    return tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED,
                   "Rate exceeded for shard %s in stream %s under account %s.", shard_id, s->name,
                   r->account);
}

void kin_capacity_charge_put(tp_req *r, const kin_stream *s, const char *shard_id, int64_t bytes)
{
    tp_cap_resource res;
    describe(r->core, s, on_demand(s) ? NULL : shard_id, &res);
    tp_cap_charge(r, &res, IN_RECORDS, 1);
    tp_cap_charge(r, &res, IN_BYTES, (double)bytes);
}

int kin_capacity_admit_get(tp_req *r, const kin_stream *s, const char *shard_id, tp_error *err)
{
    tp_cap_resource res;
    describe(r->core, s, shard_id, &res);
    if (tp_cap_admit(r, &res, OUT_CALLS) && tp_cap_admit(r, &res, OUT_BYTES))
        return 0;
    return tp_fail(err, TP_ERR_PROVISIONED_THROUGHPUT_EXCEEDED, "Rate exceeded for Shard - %s/%s/%s",
                   r->account, s->name, shard_id);
}

void kin_capacity_charge_get(tp_req *r, const kin_stream *s, const char *shard_id, int64_t bytes)
{
    tp_cap_resource res;
    describe(r->core, s, shard_id, &res);
    tp_cap_charge(r, &res, OUT_CALLS, 1);
    tp_cap_charge(r, &res, OUT_BYTES, (double)bytes);
}
