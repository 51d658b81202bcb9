/* dynamodb/expr/keycond — a Query's key condition: KeyConditionExpression
 * or the legacy KeyConditions map, reduced to at most two terms (one per
 * key attribute), then matched against the queried key schema.
 *
 * AWS reads a KeyConditionExpression with the full condition grammar first
 * (so syntax, undefined names/values, unknown functions and operand types
 * fail exactly as in a ConditionExpression: expr/condition does that part),
 * then walks the tree, left to right:
 *   OR, NOT, IN, <>, any function but begins_with
 *       -> "Invalid operator used in KeyConditionExpression: <op>"
 *   BETWEEN / begins_with whose first operand is not an attribute
 *       -> "Invalid condition in KeyConditionExpression: <op> operator must
 *          have the key attribute as its first operand"
 *   each operand in turn: size() -> "KeyConditionExpressions cannot contain
 *       nested operations"; a second attribute -> "Invalid condition in
 *       KeyConditionExpression: Multiple attribute names used in one
 *       condition"; a nested path -> "... cannot have conditions on nested
 *       attributes"
 *   no attribute -> "... No key attribute specified"; an attribute seen
 *       before -> "KeyConditionExpressions must only contain one condition
 *       per key"
 * and finally more terms than any key schema has (8) -> "Conditions can be
 * of length 1 or 2 only". Matching against the schema (ddb_keycond_match,
 * which says the same of more than two terms on a one- or two-attribute
 * key) happens once the table is known. */
#ifndef TP_DDB_EXPR_KEYCOND_H
#define TP_DDB_EXPR_KEYCOND_H

#include <stddef.h>

#include "core/error.h"

typedef struct cJSON cJSON;

typedef enum ddb_kc_op {
    DDB_KC_EQ,
    DDB_KC_LT,
    DDB_KC_LE,
    DDB_KC_GT,
    DDB_KC_GE,
    DDB_KC_BETWEEN,
    DDB_KC_BEGINS_WITH,
    DDB_KC_NOT_INDEXABLE, /* legacy NE, NULL, NOT_NULL, CONTAINS, NOT_CONTAINS, IN */
} ddb_kc_op;

/* A multi-attribute GSI key has up to 4 HASH and 4 RANGE attributes. */
#define DDB_KC_MAX_TERMS 8

typedef struct ddb_kc_term {
    char *attr;       /* attribute name (aliases resolved), owned */
    ddb_kc_op op;
    cJSON *v[2];      /* AttributeValue operands (owned); v[1] only for BETWEEN */
} ddb_kc_term;

typedef struct ddb_keycond {
    ddb_kc_term terms[DDB_KC_MAX_TERMS];
    int n;
    char **names, **values;   /* #name / :value keys used (owned) */
    size_t nnames, nvalues;
} ddb_keycond;

/* Parses a KeyConditionExpression. names/values are the request's maps;
 * values must have passed ddb_expr_values_validate. */
int ddb_keycond_parse(const char *text, const cJSON *names, const cJSON *values,
                      ddb_keycond **out, tp_error *err);
/* The legacy KeyConditions map {attr: {ComparisonOperator,
 * AttributeValueList}}, with AWS's argument-count and type checks. Values
 * are validated (numbers canonicalised) in place. */
int ddb_keycond_from_legacy(cJSON *key_conditions, ddb_keycond **out, tp_error *err);
void ddb_keycond_free(ddb_keycond *kc);

/* Matches kc against a key schema: hash (+ range, NULL when none) with
 * their 'S'/'N'/'B' types. On success *h is the hash term and *r the range
 * term (NULL when the query has none). Errors, in AWS's order: "Query key
 * condition not supported" (more terms than keys), "Query condition missed
 * key schema element: <name>", "Attempted conditional constraint is not an
 * indexable operation", "Query key condition not supported" (hash not =,
 * or a term on another attribute), "One or more parameter values were
 * invalid: Condition parameter type does not match schema type". */
int ddb_keycond_match(const ddb_keycond *kc, const char *hash, char htype, const char *range,
                      char rtype, const ddb_kc_term **h, const ddb_kc_term **r, tp_error *err);

/* Matches kc against a multi-attribute GSI key schema: nh HASH attributes
 * (every one needs an = term) and nr RANGE attributes (terms on a
 * left-to-right prefix of them, all = but the last). On success h[0..nh)
 * are the hash terms in schema order, r[0..*nr_used) the range terms. */
int ddb_keycond_match_multi(const ddb_keycond *kc, const char *const *hash, const char *htypes,
                            int nh, const char *const *range, const char *rtypes, int nr,
                            const ddb_kc_term **h, const ddb_kc_term **r, int *nr_used,
                            tp_error *err);

/* 1 when the encoded key value (keycodec bytes) satisfies term t on an
 * attribute of type 'S'/'N'/'B'. lo/hi are t's encoded operands. */
int ddb_kc_test(const ddb_kc_term *t, const void *key, size_t len, const void *lo, size_t lolen,
                const void *hi, size_t hilen);

#endif
