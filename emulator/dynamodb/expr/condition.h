/* dynamodb/expr/condition — ConditionExpression and FilterExpression: parse
 * once, evaluate against items; plus the request-wide bookkeeping of
 * ExpressionAttributeNames/Values that every expression-taking action
 * shares (validation of the values map, "unused" checks across several
 * expressions).
 *
 * Grammar (keywords any case; NOT binds tighter than AND, AND than OR):
 *   cond    := or
 *   or      := and ( OR and )*
 *   and     := not ( AND not )*
 *   not     := NOT not | primary
 *   primary := '(' cond ')'
 *            | function '(' operand (',' operand)* ')'    -- boolean function
 *            | operand cmp operand
 *            | operand BETWEEN operand AND operand
 *            | operand IN '(' operand (',' operand)* ')'  -- 1..100 operands
 *   operand := path | :value | size '(' path ')'
 *   cmp     := = | <> | < | <= | > | >=
 * Boolean functions: attribute_exists(path), attribute_not_exists(path),
 * attribute_type(path, :type), begins_with(path|:v, path|:v),
 * contains(path|:v, path|:v). size() is only valid as a comparison operand.
 *
 * Errors, in AWS's order: "The expression can not be empty;" / size limit,
 * then syntax ("Invalid <kind>: Syntax error; token: ..."), then, after the
 * whole parse, the first of: redundant parentheses, "Invalid function name",
 * a function used where a value is wanted (or size() as a condition),
 * reserved word, list index range / undefined #name or :value (the first
 * seen) / path depth, wrong operand count (functions; IN with more than 100
 * operands), operands not distinct ("a = a"), wrong operand type
 * (begins_with/size/attribute_type operands, a non-N/S/B constant under
 * < <= > >= BETWEEN, BETWEEN bounds of different types or reversed); each
 * as "Invalid <kind>: ...". Function names are case-sensitive; keywords
 * (AND OR NOT BETWEEN IN) are not.
 * Evaluation follows DynamoDB: numbers compare exactly, strings and binaries
 * bytewise, operands of different types (or a missing attribute) make a
 * comparison false, = and <> also compare sets (order-free), lists and maps. */
#ifndef TP_DDB_EXPR_CONDITION_H
#define TP_DDB_EXPR_CONDITION_H

#include <stddef.h>

#include "core/error.h"

typedef struct cJSON cJSON;
typedef struct ddb_cond ddb_cond;

/* Parses text as a condition. kind is "ConditionExpression" or
 * "FilterExpression" (used in messages). names / values are the request's
 * ExpressionAttributeNames / ExpressionAttributeValues (NULL allowed); the
 * values must already have passed ddb_expr_values_validate. The parsed
 * condition copies what it needs, so names and values may go after this.
 * On failure *out is NULL and err holds a ValidationException. */
int ddb_cond_parse(const char *kind, const char *text, const cJSON *names, const cJSON *values,
                   ddb_cond **out, tp_error *err);
/* The legacy form: Expected (a map attribute -> {Exists, Value} or
 * {ComparisonOperator, AttributeValueList|Value}) joined by
 * conditional_operator ("AND" when NULL, or "OR"), with AWS's "One or more
 * parameter values were invalid: ..." messages. Values are validated (and
 * numbers canonicalised) in place. */
int ddb_cond_from_expected(cJSON *expected, const char *conditional_operator, ddb_cond **out,
                           tp_error *err);
/* 1 when item (NULL: there is no item) satisfies c, else 0. */
int ddb_cond_eval(const ddb_cond *c, const cJSON *item);
void ddb_cond_free(ddb_cond *c);

/* The #name / :value keys c used, each once, in first-use order (borrowed,
 * valid while c lives); returns the count. c may be NULL (count 0). */
size_t ddb_cond_names_used(const ddb_cond *c, const char *const **keys);
size_t ddb_cond_values_used(const ddb_cond *c, const char *const **keys);

/* Request-wide union of the keys every expression of a request used, for
 * the "Value provided in ExpressionAttribute{Names,Values} unused in
 * expressions: keys: {...}" checks. Typical UpdateItem use:
 *   ddb_expr_usage u; ddb_expr_usage_init(&u);
 *   ddb_expr_usage_add_cond(&u, cond);                 (ConditionExpression)
 *   ddb_expr_usage_add(&u, '#', keys, n);              (UpdateExpression's)
 *   rc = ddb_expr_usage_check(&u, names, values, err);
 *   ddb_expr_usage_free(&u);
 * Names are checked before values, as AWS does. */
typedef struct ddb_expr_usage {
    char **names, **values; /* owned, no repeats */
    size_t nnames, nvalues, capnames, capvalues;
} ddb_expr_usage;

void ddb_expr_usage_init(ddb_expr_usage *u);
/* sigil '#' adds to names, ':' to values. Returns -1 only when out of memory. */
int ddb_expr_usage_add(ddb_expr_usage *u, char sigil, const char *const *keys, size_t n);
int ddb_expr_usage_add_cond(ddb_expr_usage *u, const ddb_cond *c);
int ddb_expr_usage_check(const ddb_expr_usage *u, const cJSON *names, const cJSON *values,
                         tp_error *err);
void ddb_expr_usage_free(ddb_expr_usage *u);

/* Request-level checks of ExpressionAttributeValues before any expression
 * is parsed: "ExpressionAttributeValues must not be empty", invalid keys
 * (ddb_expr_check_map_keys), and each value as an AttributeValue
 * (ddb_attr_validate, numbers canonicalised in place) with AWS's wording
 * for this parameter, e.g. "ExpressionAttributeValues contains invalid
 * value: One or more parameter values were invalid: An AttributeValue may
 * not contain an empty string for key :v". NULL passes. */
int ddb_expr_values_validate(cJSON *values, tp_error *err);

#endif
