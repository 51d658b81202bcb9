/* http/query — the AWS query protocol (SQS): form in, XML out.
 *
 * A query request is a form (`Action=SendMessage&Version=2012-11-05&
 * QueueUrl=...&MessageAttribute.1.Name=...`); tp_query_decode turns it into
 * the same request tree the JSON protocol sends, so the actions never know
 * which protocol a client spoke. tp_query_encode writes an action's answer
 * as the service's XML (`<SendMessageResponse xmlns=...><SendMessageResult>
 * ...</SendMessageResult><ResponseMetadata>...`), tp_query_error the
 * `<ErrorResponse>` envelope with the query error code.
 *
 * Both directions are driven by generated tables (query_sqs.gen.c, from
 * the botocore models by codegen/gen_query.py): for every shape its kind,
 * and for every member its JSON name and its query key / XML element name,
 * flattened or not. Knows the protocol, not the service's behaviour. */
#ifndef TP_HTTP_QUERY_H
#define TP_HTTP_QUERY_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

typedef struct cJSON cJSON;

typedef enum tp_qkind {
    TP_Q_STRING,
    TP_Q_INTEGER,
    TP_Q_LONG,
    TP_Q_BOOLEAN,
    TP_Q_BLOB,       /* base64 text in both protocols */
    TP_Q_DOUBLE,
    TP_Q_TIMESTAMP,
    TP_Q_STRUCT,
    TP_Q_LIST,
    TP_Q_MAP,
} tp_qkind;

typedef struct tp_qshape tp_qshape;

typedef struct tp_qmember {
    const char *name;      /* JSON member name: "MessageAttributes" */
    /* Query key and XML element: "MessageAttribute". For a flattened list
     * the name each element travels under (AttributeName.1, <QueueUrl>). */
    const char *wire;
    int flattened;         /* lists and maps: no .member / .entry level */
    const tp_qshape *shape;
} tp_qmember;

struct tp_qshape {
    const char *name;               /* model shape name */
    tp_qkind kind;
    const tp_qmember *members;      /* STRUCT */
    size_t nmembers;
    const char *item;               /* LIST, not flattened: element name ("member") */
    const tp_qshape *member;        /* LIST */
    const char *key_name, *value_name;  /* MAP: "Name"/"Value", "Key"/"Value" */
    const tp_qshape *key, *value;   /* MAP */
};

typedef struct tp_qop {
    const char *name;               /* "SendMessage" */
    const tp_qshape *input;         /* may be NULL */
    const tp_qshape *output;        /* NULL: the response has no result element */
    const char *result;             /* "SendMessageResult" */
} tp_qop;

typedef struct tp_qerror {
    const char *code;        /* JSON-protocol code (the model's error shape) */
    const char *query_code;  /* "AWS.SimpleQueueService.NonExistentQueue" */
    int sender;              /* 1: <Type>Sender</Type>, 0: Receiver */
    int status;              /* the query model's HTTP status */
} tp_qerror;

typedef struct tp_query_api {
    const char *xmlns;
    const char *version;
    const tp_qop *ops;
    size_t nops;
    const tp_qerror *errors;
    size_t nerrors;
} tp_query_api;

extern const tp_query_api tp_sqs_query_api;

/* One decoded form field. */
typedef struct tp_qpair {
    char *key, *value;
    size_t seq;   /* arrival order: the first of repeated keys wins */
} tp_qpair;

typedef struct tp_qform {
    tp_qpair *pairs;
    size_t n, cap;
} tp_qform;

void tp_qform_init(tp_qform *f);
void tp_qform_free(tp_qform *f);
/* Adds one field (copied; already URL-decoded). 0 ok, -1 out of memory. */
int tp_qform_add(tp_qform *f, const char *key, size_t klen, const char *value, size_t vlen);
/* Parses an application/x-www-form-urlencoded body ('+' is a space, %XX a
 * byte) and adds its fields. A decoded U+0000 is held as 0xC0 0x80, as
 * core/json holds it, so the action sees (and refuses) it instead of a
 * string cut short. 0 ok, -1 out of memory. */
int tp_qform_parse(tp_qform *f, const char *body, size_t len);
/* The first value of key, or NULL. Only after tp_query_decode (which sorts
 * the fields) or on any form for a linear lookup. */
const char *tp_qform_get(const tp_qform *f, const char *key);

const tp_qop *tp_query_find_op(const tp_query_api *api, const char *action);
/* The query code, fault and status for a JSON-protocol error code; a code
 * without a model shape (InvalidParameterValue, MissingParameter, ...)
 * travels as itself, a sender fault below 500. */
void tp_query_error_code(const tp_query_api *api, const tp_error *err, const char **query_code,
                         int *sender);

/* The request tree for op from the form's fields (Action and Version are
 * not members and are skipped; fields the model does not name are
 * ignored, as the service ignores them). Sorts the form. Integers,
 * longs, doubles and booleans that parse become JSON numbers and booleans;
 * anything else stays a string for the action's validation to refuse.
 * Returns a new object, or NULL when out of memory. */
cJSON *tp_query_decode(const tp_qop *op, tp_qform *form);

/* Writes the XML response for op with its answer (out may be NULL). */
int tp_query_encode(const tp_query_api *api, const tp_qop *op, const cJSON *out,
                    const char *request_id, tp_buf *b);
/* Writes the <ErrorResponse> for err. */
int tp_query_error(const tp_query_api *api, const tp_error *err, const char *request_id, tp_buf *b);
/* XML text escaping (&, <, >, ", ', and CR as &#xD; so that parsers do not
 * fold it into LF). */
void tp_query_xml_escape(tp_buf *b, const char *s);

#endif
