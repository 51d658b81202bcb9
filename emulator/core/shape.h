/* core/shape — request validation driven by the AWS service models.
 *
 * A service's input shapes are generated from the botocore model
 * (emulator/codegen/gen_shapes.py -> <service>/shapes.gen.c) into these
 * tables, so types, required members, lengths, ranges, patterns and enums
 * match the real API. Checking runs in two passes, as AWS's front end does:
 *   1. types: a value of the wrong JSON type -> SerializationException
 *      (AWS's wording, e.g. "NUMBER_VALUE cannot be converted to String");
 *   2. constraints: up to 10 failures collected in model member order ->
 *      ValidationException "N validation error(s) detected: Value 'x' at
 *      'tableName' failed to satisfy constraint: Member must ...; ...".
 * Paths use AWS's lowerCamel member names, lists as 'keySchema.1.member'. */
#ifndef TP_CORE_SHAPE_H
#define TP_CORE_SHAPE_H

#include "error.h"

typedef struct cJSON cJSON;

typedef enum tp_shape_type {
    TP_SH_STRUCTURE,
    TP_SH_LIST,
    TP_SH_MAP,
    TP_SH_STRING,
    TP_SH_INTEGER,
    TP_SH_LONG,
    TP_SH_DOUBLE,
    TP_SH_BOOLEAN,
    TP_SH_BLOB,
    TP_SH_TIMESTAMP,
} tp_shape_type;

typedef struct tp_shape tp_shape;

typedef struct tp_member {
    const char *name;         /* wire name, e.g. "TableName" */
    const tp_shape *shape;
    unsigned char required;   /* 0, 1 (collected "Member must not be null") or
                               * TP_MEMBER_PRESENCE (checked first, alone) */
} tp_member;

/* A member the server checks before the collected constraints (DynamoDB's
 * TableName of the table actions): see tp_shape_check. */
#define TP_MEMBER_PRESENCE 2

struct tp_shape {
    const char *name;         /* model shape name */
    tp_shape_type type;
    unsigned char has_min, has_max;
    double min, max;          /* length (string/blob/list/map) or value (numbers) */
    const char *pattern;      /* model regex, or NULL */
    const char *const *enums; /* NULL-terminated, or NULL */
    const tp_member *members; /* structure */
    unsigned nmembers;
    const tp_shape *member;   /* list element */
    const tp_shape *key, *value; /* map */
};

/* Validates a request against its input shape. Returns 0 when valid, or -1
 * with err set (SerializationException or ValidationException). */
int tp_shape_check(const tp_shape *input, const cJSON *req, tp_error *err);

#endif
