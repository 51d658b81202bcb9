/* dynamodb/ddb — what the DynamoDB action files share: the stored table
 * record, loading it, ARNs, and the storage schema.
 *
 * Table status (changed only in table.c):
 *
 *   CreateTable --> CREATING --(create delay, ddb_table_activate)--> ACTIVE
 *                                                                    |  ^
 *                                   UpdateTable (ddb_table_update) --+  |
 *                                          UPDATING --(update delay)----+
 *   DeleteTable --> DELETING --(delete delay, ddb_table_drop)--> gone
 *
 * Delays come from the config ("dynamodb": {"create_delay_ms": 0, ...});
 * with 0 the transition happens before the call returns (the response
 * still shows the transitional status, as AWS's does). */
#ifndef TP_DDB_H
#define TP_DDB_H

#include <stdint.h>

#include "core/core.h"
#include "core/error.h"

typedef struct cJSON cJSON;

#define DDB_TARGET_PREFIX "DynamoDB_20120810."

typedef struct ddb_keydef {
    char name[256];   /* empty when the table has no sort key */
    char type;        /* 'S', 'N' or 'B' */
} ddb_keydef;

typedef struct ddb_table {
    int64_t id;
    char name[256];
    char status[16];        /* CREATING ACTIVE UPDATING DELETING */
    ddb_keydef hash, range;
    int64_t created_ms;
    int64_t item_count, size_bytes;
    char ttl_attr[256];     /* empty when TTL is off */
    char ttl_status[16];    /* ENABLED DISABLED ENABLING DISABLING */
    cJSON *desc;            /* stored TableDescription (owned); live fields are added on output */
} ddb_table;

extern const char ddb_schema_sql[];

/* Loads a table of the caller's account/region. With must_exist and no such
 * table: ResourceNotFoundException "Requested resource not found: Table: %s
 * not found" (the DescribeTable wording) — callers with other wording pass
 * must_exist=0 and test the return: 0 found, 1 missing, -1 error. */
int ddb_table_load(tp_req *r, const char *name, ddb_table *t, tp_error *err);
int ddb_table_find(tp_req *r, const char *name, ddb_table *t, tp_error *err);
void ddb_table_release(ddb_table *t);
/* Writes the caller's table ARN: arn:aws:dynamodb:REGION:ACCOUNT:table/NAME */
void ddb_table_arn(const tp_req *r, const char *name, char *out, size_t cap);
/* The full TableDescription as DescribeTable returns it (new tree). */
cJSON *ddb_table_describe(tp_req *r, const ddb_table *t);
/* Adds delta items / bytes to the live counters (same transaction). */
int ddb_table_add_usage(tp_req *r, int64_t table_id, int64_t dcount, int64_t dbytes);
/* An integer setting from the config file's "dynamodb" object. */
int64_t ddb_setting(const tp_core *core, const char *name, int64_t dflt);

/* Validates a Tags list (tags.c; CreateTable shares it). */
int ddb_tags_check(const cJSON *tags, int empty_ok, tp_error *err);

/* Actions (one family per file). */
#define DDB_ACTION(Name, fn, flags) int fn(tp_req *r, cJSON *in, cJSON **out, tp_error *err);
#include "actions.def"
#undef DDB_ACTION

int ddb_service_start(tp_core *core);

/* TTL expiry (ttl.c): arms the periodic sweep (ddb_service_start calls it);
 * ddb_ttl_delete_item is the one place a TTL deletion happens (item,
 * indexes, counters; later the stream record). */
int ddb_ttl_start(tp_core *core);
int ddb_ttl_delete_item(tp_req *r, const ddb_table *t, const cJSON *item, int64_t size,
                        tp_error *err);

#endif
