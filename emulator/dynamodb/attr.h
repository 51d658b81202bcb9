/* dynamodb/attr — AttributeValue rules beyond the model's types.
 *
 * After core/shape has checked JSON types, these check what DynamoDB checks
 * of each value, with its messages: exactly one data type set, numbers valid
 * (and rewritten in canonical form), no empty or duplicate set members,
 * valid base64, nesting depth. And they compute item size the way DynamoDB
 * bills and limits it (attribute names + values). */
#ifndef TP_DDB_ATTR_H
#define TP_DDB_ATTR_H

#include <stddef.h>

#include "core/error.h"

typedef struct cJSON cJSON;

#define DDB_MAX_ITEM_BYTES (400 * 1024)

/* Validates one AttributeValue; canonicalises N/NS text in place. A blob
 * that is not base64 is a SerializationException and is reported before any
 * ValidationException; a value nested deeper than 32 levels fails with
 * "Nesting Levels have exceeded supported limits: ...". */
int ddb_attr_validate(cJSON *av, tp_error *err);
/* Validates every attribute of an item map (Item, Key, ...), in order,
 * after checking every blob in it. NULL passes. */
int ddb_item_validate(cJSON *item, tp_error *err);
/* Size of one value / of a whole item (names + values), AWS's way: UTF-8
 * bytes of strings and names, decoded bytes of blobs, ddb_num_size for
 * numbers, 1 for BOOL and NULL, sets the sum of their members, L and M 3
 * bytes plus 1 per element plus the elements (and M's member names). An
 * item is too big when its size is > DDB_MAX_ITEM_BYTES. */
size_t ddb_attr_size(const cJSON *av);
size_t ddb_item_size(const cJSON *item);
/* 1 when equal as DynamoDB compares them (sets ignore order). */
int ddb_attr_equal(const cJSON *a, const cJSON *b);
/* The type tag of a value ("S", "N", "B", "SS", "NS", "BS", "M", "L",
 * "NULL", "BOOL"), or NULL when the value has none. */
const char *ddb_attr_type(const cJSON *av);

#endif
