/* dynamodb/expr/update — UpdateExpression: parsing (with AWS's messages)
 * and applying the parsed actions to one item.
 *
 * Grammar (clauses in any order, each at most once, keywords any case):
 *   update  := clause+
 *   clause  := SET set (',' set)* | REMOVE path (',' path)*
 *            | ADD path :v (',' path :v)* | DELETE path :v (',' path :v)*
 *   set     := path '=' value
 *   value   := operand [ ('+' | '-') operand ]
 *   operand := :v | path | fname '(' operand (',' operand)* ')' | '(' value ')'
 * fname is if_not_exists or list_append (case-sensitive).
 *
 * Semantic errors are collected during the parse and the most important
 * one is reported, in dynalite's order (its tests ran against AWS):
 * reserved word, unknown function, repeated clause, #name/list index/path
 * depth (the lexer's), undefined :value, overlapping paths, conflicting
 * paths, ADD/DELETE operand type, function operand count/type.
 *
 * Applying follows AWS: every SET value is computed from the item as it was
 * before the update; a list index past the end appends; REMOVE of list
 * elements uses the original indexes; ADD creates or adds (numbers exactly,
 * sets by union); DELETE takes members out of a set and removes the
 * attribute when the set becomes empty. */
#ifndef TP_DDB_EXPR_UPDATE_H
#define TP_DDB_EXPR_UPDATE_H

#include <stddef.h>

#include "core/error.h"
#include "lexer.h"

typedef struct cJSON cJSON;
typedef struct ddb_update ddb_update;

/* Parses expr. names/values are ExpressionAttributeNames/Values (may be
 * NULL; their keys should already have been checked with
 * ddb_expr_check_map_keys and values with ddb_attr_validate). The parsed
 * update borrows values: keep the map alive while using it. */
int ddb_update_parse(const char *expr, const cJSON *names, const cJSON *values, ddb_update **out,
                     tp_error *err);
void ddb_update_free(ddb_update *u);

/* #names and :values the expression used (for the request-wide unused
 * checks). */
size_t ddb_update_names_used(const ddb_update *u, const char *const **keys);
size_t ddb_update_values_used(const ddb_update *u, const char *const **keys);

/* The document paths the actions write, in expression order. */
size_t ddb_update_count(const ddb_update *u);
const ddb_path *ddb_update_path(const ddb_update *u, size_t i);

/* The type tag ("N", "SS", ...) of the value action i writes when the
 * expression alone tells it (SET of a :value, + / -, list_append,
 * if_not_exists with a known fallback; ADD), else NULL. AWS checks index
 * key types with it before reading the item. */
const char *ddb_update_value_type(const ddb_update *u, size_t i);
/* Calls fn for every document path of the expression, written or read, in
 * expression order; stops at (and returns) the first non-zero result. */
int ddb_update_each_path(const ddb_update *u, int (*fn)(const ddb_path *p, void *ctx), void *ctx);

/* Applies the update to item (an object of AttributeValues) in place. On a
 * run-time error (missing operand, wrong data type, invalid document path,
 * number overflow) fails with AWS's ValidationException; item may then be
 * partly changed, so callers apply to a copy. */
int ddb_update_apply(const ddb_update *u, cJSON *item, tp_error *err);

#endif
