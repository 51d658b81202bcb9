/* http/awsjson — error envelopes for awsJson services (awsjson.h). */
#include "awsjson.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

int tp_awsjson_error(const tp_json_service *svc, const tp_error *err, tp_buf *out)
{
    return tp_awsjson_error_fields(svc, err, NULL, out);
}

int tp_awsjson_error_fields(const tp_json_service *svc, const tp_error *err,
                            const cJSON *fields, tp_buf *out)
{
    const tp_error_info *info = tp_error_info_find(err->code);
    /* A service without a namespace (Kinesis) answers bare codes, front-end
     * errors included ("ValidationException", "SerializationException"). */
    const char *ns = info && info->coral_ns && svc->error_ns && *svc->error_ns ? info->coral_ns
                                                                              : svc->error_ns;
    char type[256];
    if (ns && *ns)
        snprintf(type, sizeof type, "%s#%s", ns, err->code);
    else
        snprintf(type, sizeof type, "%s", err->code);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -1;
    cJSON_AddStringToObject(o, "__type", type);
    /* DynamoDB's SerializationException says it under "Message" (the
     * front end's serializer), every other error under "message" */
    if (err->message[0])
        cJSON_AddStringToObject(o,
                                strcmp(err->code, "SerializationException") == 0 &&
                                        strncmp(svc->service, "dynamodb", 8) == 0
                                    ? "Message"
                                    : "message",
                                err->message);
    const cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        if (f->string && !cJSON_GetObjectItemCaseSensitive(o, f->string))
            cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, 1));
    }
    char *text = tp_json_print(o);
    cJSON_Delete(o);
    if (!text)
        return -1;
    int rc = tp_buf_puts(out, text);
    free(text);
    return rc;
}
