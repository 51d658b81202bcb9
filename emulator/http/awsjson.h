/* http/awsjson — the AWS JSON 1.0/1.1 protocol's error envelope. */
#ifndef TP_HTTP_AWSJSON_H
#define TP_HTTP_AWSJSON_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "router.h"

struct cJSON;

/* Writes {"__type":"<ns>#<Code>","message":"..."} for err into out. The
 * namespace is the catalogue's coral one for front-end errors
 * (ValidationException -> com.amazon.coral.validate) or the service's own;
 * an empty message is left out, as AWS leaves it out. */
int tp_awsjson_error(const tp_json_service *svc, const tp_error *err, tp_buf *out);
/* The same, with the members of fields (an object, or NULL) added after
 * message, e.g. ConditionalCheckFailedException's "Item". */
int tp_awsjson_error_fields(const tp_json_service *svc, const tp_error *err,
                            const struct cJSON *fields, tp_buf *out);

#endif
