/* http/router — request -> API (router.h). */
#include "router.h"

#include <string.h>
#include <strings.h>

static const tp_json_service json_services[] = {
    {"DynamoDB_20120810", "dynamodb", "application/x-amz-json-1.0",
     "com.amazonaws.dynamodb.v20120810", 1, 0},
    {"DynamoDBStreams_20120810", "dynamodbstreams", "application/x-amz-json-1.0",
     "com.amazonaws.dynamodb.v20120810", 1, 0},
    {"Kinesis_20131202", "kinesis", "application/x-amz-json-1.1", "", 0, 0},
    {"AmazonSQS", "sqs", "application/x-amz-json-1.0", "com.amazonaws.sqs", 0, 1},
};

const tp_json_service *tp_route_default_service(void) { return &json_services[0]; }

const tp_json_service *tp_route_json_service(const char *target)
{
    if (!target)
        return NULL;
    for (size_t i = 0; i < sizeof json_services / sizeof json_services[0]; i++) {
        size_t n = strlen(json_services[i].prefix);
        if (strncmp(target, json_services[i].prefix, n) == 0 && target[n] == '.')
            return &json_services[i];
    }
    return NULL;
}

static int form_has_action(const char *content_type, const char *body, size_t len)
{
    if (!content_type || strncasecmp(content_type, "application/x-www-form-urlencoded", 33) != 0)
        return 0;
    /* Action= at the start or after an '&'. */
    for (size_t i = 0; i + 7 <= len; i++)
        if ((i == 0 || body[i - 1] == '&') && strncmp(body + i, "Action=", 7) == 0)
            return 1;
    return 0;
}

/* "/YYYY-MM-DD/": Lambda's operations live under several API dates
 * (/2015-03-31/functions, /2016-08-19/account-settings,
 * /2017-10-31/functions/{FunctionName}/concurrency, ...); no other API on
 * this port has such paths. */
static int is_rest_date_prefix(const char *p)
{
    static const char shape[] = "/dddd-dd-dd/";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? !(p[i] >= '0' && p[i] <= '9') : p[i] != shape[i])
            return 0;
    }
    return 1;
}

void tp_route_request(const char *method, const char *path, const char *target,
                      const char *content_type, const char *body, size_t len, tp_route *out)
{
    memset(out, 0, sizeof *out);
    if (path && strncmp(path, "/_tidepool/", 11) == 0) {
        out->kind = TP_ROUTE_CONTROL;
        return;
    }
    if (target && *target) {
        const tp_json_service *svc = tp_route_json_service(target);
        out->kind = TP_ROUTE_AWSJSON;
        out->svc = svc ? svc : tp_route_default_service();
        out->operation = svc ? target + strlen(svc->prefix) + 1 : NULL;
        return;
    }
    if (path && is_rest_date_prefix(path)) {
        out->kind = TP_ROUTE_LAMBDA;
        return;
    }
    if (method && strcmp(method, "POST") == 0 && form_has_action(content_type, body, len)) {
        out->kind = TP_ROUTE_SQS_QUERY;
        return;
    }
    out->kind = TP_ROUTE_UNKNOWN;
}
