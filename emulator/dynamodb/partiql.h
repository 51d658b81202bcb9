/* dynamodb/partiql — DynamoDB's dialect of PartiQL: the statement parser
 * (partiql_parse.c) and the three actions built on it (partiql.c).
 *
 * The parser knows no tables: it turns a statement and its Parameters into
 * a tree whose values are already AttributeValues (literals converted, each
 * `?` replaced by the next parameter). partiql.c then decides, with the
 * table's key schema, which existing action the statement is — Query, Scan,
 * GetItem, PutItem, UpdateItem, DeleteItem, or a transaction's items — and
 * renders the tree into that action's expressions, so validation,
 * conditions, capacity, streams and throttling are the actions' own.
 *
 * Grammar (keywords case-insensitive, "quoted" identifiers are never
 * keywords):
 *   SELECT (* | path [, path ...]) FROM "table"[."index"] [WHERE cond]
 *          [ORDER BY path [ASC|DESC]]
 *   INSERT INTO "table" VALUE {'attr': value, ...}
 *   UPDATE "table" (SET path = operand [+|- operand] | REMOVE path) ... WHERE cond
 *          [RETURNING (ALL|MODIFIED) (OLD|NEW) *]
 *   DELETE FROM "table" WHERE cond [RETURNING ALL OLD *]
 *   EXISTS (SELECT * FROM "table" WHERE cond)      -- transactions only
 *   cond: OR, AND, NOT, ( ), = <> != < <= > >=, [NOT] BETWEEN x AND y,
 *         [NOT] IN [v, ...] / (v, ...), IS [NOT] MISSING, IS [NOT] NULL,
 *         functions (begins_with, contains, attribute_exists, ...)
 *   values: 'string' ('' for a quote), numbers, TRUE FALSE NULL, [list],
 *           {'k': v}, <<set>>, ? */
#ifndef TP_DDB_PARTIQL_H
#define TP_DDB_PARTIQL_H

#include <stddef.h>

#include "core/error.h"

typedef struct cJSON cJSON;

typedef enum pq_kind { PQ_SELECT, PQ_INSERT, PQ_UPDATE, PQ_DELETE, PQ_EXISTS } pq_kind;

typedef enum pq_node_kind {
    PQN_PATH,    /* path, npath */
    PQN_VALUE,   /* value: an AttributeValue */
    PQN_CMP,     /* op: = <> < <= > >=; kids[0] op kids[1] */
    PQN_BETWEEN, /* kids[0] BETWEEN kids[1] AND kids[2] */
    PQN_IN,      /* kids[0] IN (kids[1..]) */
    PQN_AND,     /* kids[0..] */
    PQN_OR,
    PQN_NOT,     /* kids[0] */
    PQN_FUNC,    /* func(kids...) */
    PQN_IS,      /* kids[0] IS op: "MISSING" "NOT MISSING" "NULL" "NOT NULL" */
    PQN_ARITH    /* kids[0] op(+ -) kids[1] */
} pq_node_kind;

typedef struct pq_elem {
    char *name; /* NULL: a list index */
    long index;
} pq_elem;

typedef struct pq_node {
    pq_node_kind kind;
    char op[16];
    char *func; /* lower case */
    pq_elem *path;
    size_t npath;
    cJSON *value;
    struct pq_node **kids;
    size_t nkids;
    int line, col, len; /* where its first token is (from 1), for DynamoDB's "at L:C:N" */
} pq_node;

/* One action of an UPDATE, in statement order: SET target = value, or
 * REMOVE target (value NULL). */
typedef struct pq_set {
    pq_node *target;
    pq_node *value;
} pq_set;

typedef struct pq_stmt {
    pq_kind kind;
    char *table;
    char *index;         /* SELECT FROM "t"."i"; NULL otherwise */
    pq_node **proj;      /* SELECT's paths; none with * */
    size_t nproj;
    pq_node *where;      /* NULL when absent */
    pq_node *item;       /* INSERT's VALUE (a VALUE node holding an M) */
    pq_set *sets;        /* UPDATE */
    size_t nsets;
    const char *returning; /* UPDATE/DELETE: "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"; NULL */
    char returning_text[24]; /* as written, e.g. "MODIFIED NEW" */
    pq_node *order;      /* SELECT ... ORDER BY path; NULL when absent */
    int order_desc;
    int nparams;         /* `?` in the statement */
} pq_stmt;

#define PQ_MALFORMED "Statement wasn't well formed, can't be processed: "

/* Parses one statement. The `?`s take the Parameters (a JSON array of
 * AttributeValues, may be NULL) in order; a count that differs from the
 * statement's is a ValidationException. Every other failure is
 * ValidationException PQ_MALFORMED + detail. */
int pq_parse(const char *text, const cJSON *params, pq_stmt **out, tp_error *err);
void pq_stmt_free(pq_stmt *s);
void pq_node_free(pq_node *n);

/* The terms of a conjunction: n itself, or the flattened kids of nested
 * ANDs (borrowed pointers into n). Returns the count; *terms is malloc'd. */
size_t pq_conjuncts(pq_node *n, pq_node ***terms);

/* 1 when node is a one-element path naming attr. */
int pq_is_attr(const pq_node *n, const char *attr);

#endif
