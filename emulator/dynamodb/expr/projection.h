/* dynamodb/expr/projection — ProjectionExpression: parse document paths,
 * apply them to an item. (API used by dynamodb/item.c; the implementation
 * may extend it.)
 *
 * Checks, in AWS's order: ExpressionAttributeNames keys, empty expression,
 * expression size, syntax, then reserved words, list index range,
 * undefined #names and path depth, then overlapping paths ("a, a.b"), then
 * conflicting ones ("a.b, a[1]"). Applying keeps the shape of the item: a
 * projected map member stays inside its map, projected list elements come
 * back as a list in ascending index order with the gaps closed, and paths
 * that do not resolve are left out (an item can project to {}). */
#ifndef TP_DDB_EXPR_PROJECTION_H
#define TP_DDB_EXPR_PROJECTION_H

#include <stddef.h>

#include "core/error.h"
#include "lexer.h"

typedef struct cJSON cJSON;
typedef struct ddb_projection ddb_projection;

/* Parses expr with ExpressionAttributeNames (NULL allowed). On error sets a
 * ValidationException with AWS's "Invalid ProjectionExpression: ..." text.
 * It also runs ddb_expr_check_map_keys on names first, so a request whose
 * only expression is the projection needs no separate call. */
int ddb_projection_parse(const char *expr, const cJSON *names, ddb_projection **out,
                         tp_error *err);
/* With names given: fails with "Value provided in ExpressionAttributeNames
 * unused in expressions: keys: {#b}" when some are not used by p (p may be
 * NULL: then all are unused). For a request with several expressions use
 * ddb_expr_check_unused with the union of every expression's names. */
int ddb_projection_check_unused(const ddb_projection *p, const cJSON *names, tp_error *err);
/* The #name keys p used (borrowed, valid while p lives); returns the count. */
size_t ddb_projection_names_used(const ddb_projection *p, const char *const **keys);
/* The parsed paths, names resolved, in expression order (borrowed). */
size_t ddb_projection_count(const ddb_projection *p);
const ddb_path *ddb_projection_path(const ddb_projection *p, size_t i);
/* Once the table is known: a path that goes inside a key attribute fails
 * with "Key attributes must be scalars; list random access '[]' and map
 * lookup '.' are not allowed: <label>: <name>" (label "Key" for the table's
 * keys, "IndexKey" for an index's). */
int ddb_projection_check_keys(const ddb_projection *p, const char *const *keys, size_t nkeys,
                              const char *label, tp_error *err);
/* A new item holding only the projected paths of item (a copy of item when
 * p is NULL). NULL only when out of memory. */
cJSON *ddb_projection_apply(const ddb_projection *p, const cJSON *item);
void ddb_projection_free(ddb_projection *p);

#endif
