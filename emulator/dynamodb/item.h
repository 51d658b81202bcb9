/* dynamodb/item — the single-item building blocks every write and read
 * path shares (PutItem, GetItem, DeleteItem here; UpdateItem, batches,
 * transactions, Query/Scan build on them). */
#ifndef TP_DDB_ITEM_H
#define TP_DDB_ITEM_H

#include <stdint.h>

#include "core/buf.h"
#include "ddb.h"

/* The table for a data-plane call: missing, CREATING and DELETING tables
 * are all ResourceNotFoundException "Requested resource not found". */
int ddb_load_active(tp_req *r, const char *name, ddb_table *t, tp_error *err);
/* Encoded key of a full item (AWS names the missing or mistyped key). */
int ddb_key_of_item(const ddb_table *t, const cJSON *item, tp_buf *hk, tp_buf *rk, tp_error *err);
/* Encoded key of a Key parameter: exactly the schema's attributes, or
 * "The provided key element does not match the schema". */
int ddb_key_of_key(const ddb_table *t, const cJSON *key, tp_buf *hk, tp_buf *rk, tp_error *err);
/* Index key attributes present in the item must have their defined type. */
int ddb_check_index_keys(const ddb_table *t, const cJSON *item, tp_error *err);
/* Stored item for a key (*item NULL when absent; caller frees). */
int ddb_item_read(tp_req *r, int64_t table_id, const tp_buf *hk, const tp_buf *rk, cJSON **item,
                  int64_t *size, tp_error *err);
int ddb_item_write(tp_req *r, int64_t table_id, const tp_buf *hk, const tp_buf *rk,
                   const cJSON *item, int64_t size, tp_error *err);
int ddb_item_remove(tp_req *r, int64_t table_id, const tp_buf *hk, const tp_buf *rk,
                    tp_error *err);
/* Adds ConsumedCapacity to out when the request asked for it. */
void ddb_add_consumed(cJSON *out, const cJSON *in, const char *table, double units);
/* Capacity units, AWS's rules: writes per started KB of the larger of old
 * and new item (at least 1); reads per started 4 KB, half when eventually
 * consistent. */
double ddb_write_units(int64_t old_size, int64_t new_size);
double ddb_read_units(int64_t size, int consistent);

#endif
