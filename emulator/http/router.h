/* http/router — which API a request is for, from its headers and path.
 *
 * X-Amz-Target prefix (DynamoDB_20120810., DynamoDBStreams_20120810.,
 * Kinesis_20131202., AmazonSQS.) -> an awsJson service; a form body with
 * Action= -> SQS query; /YYYY-MM-DD/ (2015-03-31, 2017-10-31, ...) -> Lambda
 * REST; /_tidepool/ -> control.
 * Knows the wire protocols, not the services' behaviour. */
#ifndef TP_HTTP_ROUTER_H
#define TP_HTTP_ROUTER_H

#include <stddef.h>

typedef struct tp_json_service {
    const char *prefix;        /* X-Amz-Target prefix without the dot */
    const char *service;       /* dispatch service name: "dynamodb" */
    const char *content_type;  /* response content type */
    const char *error_ns;      /* __type namespace of service errors */
    int crc32;                 /* add x-amz-crc32 to responses */
    /* awsQueryCompatible (SQS): errors also carry x-amzn-query-error
     * "<query code>;Sender", which the SDKs report as the error code. */
    int query_compat;
} tp_json_service;

typedef enum tp_route_kind {
    TP_ROUTE_UNKNOWN = 0,
    TP_ROUTE_AWSJSON,
    TP_ROUTE_CONTROL,
    TP_ROUTE_SQS_QUERY,
    TP_ROUTE_LAMBDA,
} tp_route_kind;

typedef struct tp_route {
    tp_route_kind kind;
    const tp_json_service *svc;   /* AWSJSON: the service; else NULL */
    const char *operation;        /* AWSJSON: points into the target header */
} tp_route;

/* Never fails: unknown requests get TP_ROUTE_UNKNOWN, and a target with a
 * known prefix but any operation gets AWSJSON (the action lookup decides). */
void tp_route_request(const char *method, const char *path, const char *target,
                      const char *content_type, const char *body, size_t len, tp_route *out);
/* The awsJson service a target belongs to, or NULL. */
const tp_json_service *tp_route_json_service(const char *target);
/* The DynamoDB service entry: the protocol used for requests no route claims. */
const tp_json_service *tp_route_default_service(void);

#endif
