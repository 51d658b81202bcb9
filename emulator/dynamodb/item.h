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
/* The bytes a key value counts against AWS's key size limits: UTF-8 bytes
 * of an S, decoded bytes of a B (N: its text, never limited). */
size_t ddb_key_value_bytes(char type, const char *text);
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

/* The condition of a single-item write (PutItem, DeleteItem, a
 * transaction's Put / Delete / ConditionCheck): ConditionExpression or
 * legacy Expected, with AWS's request-level checks (names, values, unused
 * ones). *cond stays NULL when there is none; the caller frees it. */
typedef struct ddb_cond ddb_cond;
int ddb_write_condition(cJSON *in, ddb_cond **cond, tp_error *err);

/* UpdateItem's steps, for a caller that runs an update among other writes
 * (TransactWriteItems); update.c. _new does the request-level checks (the
 * expressions, names, values); _check_table what AWS checks against the
 * table before reading the item (key attributes, index keys); _apply
 * computes the item after the update from the stored one (old, NULL when
 * absent): *item (caller frees), its *size, and *write = 0 when the update
 * of a missing item leaves nothing to store. */
typedef struct ddb_update_op ddb_update_op;
int ddb_update_op_new(cJSON *in, ddb_update_op **out, tp_error *err);
const ddb_cond *ddb_update_op_cond(const ddb_update_op *op);
int ddb_update_op_check_table(const ddb_update_op *op, const ddb_table *t, tp_error *err);
int ddb_update_op_apply(const ddb_update_op *op, const ddb_table *t, const cJSON *old,
                        cJSON **item, int64_t *size, int *write, tp_error *err);
void ddb_update_op_free(ddb_update_op *op);

/* Evaluates a write's condition against the stored item (cond NULL: none).
 * On false: ConditionalCheckFailedException "The conditional request
 * failed", carrying the stored item as "Item" when the request asked for
 * ReturnValuesOnConditionCheckFailure ALL_OLD. */
struct ddb_cond;
int ddb_check_write_condition(tp_req *r, const cJSON *in, const struct ddb_cond *cond,
                              const cJSON *old, tp_error *err);

#endif
