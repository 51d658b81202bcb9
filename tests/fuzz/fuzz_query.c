/* Fuzz target: http/query — the SQS query protocol codec.
 *
 * Input: an application/x-www-form-urlencoded body, as a POST to SQS
 * carries it. The form is parsed, its Action looked up (an unknown one
 * falls back to the input's first byte choosing an operation, so every
 * operation's decoder is reached), the request tree decoded, and then
 * written back as that operation's XML response and as an error envelope
 * with the request's values as code and message, exercising the encoder
 * and the XML escaping on whatever the client sent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const tp_query_api *api = &tp_sqs_query_api;
    tp_qform form;
    tp_qform_init(&form);
    if (tp_qform_parse(&form, (const char *)data, size) != 0) {
        tp_qform_free(&form);
        return 0;
    }
    const tp_qop *op = tp_query_find_op(api, tp_qform_get(&form, "Action"));
    if (!op && api->nops)
        op = &api->ops[(size ? data[0] : 0) % api->nops];
    cJSON *in = tp_query_decode(op, &form);
    if (!in)
        abort();   /* only out of memory may fail */
    tp_buf b;
    tp_buf_init(&b);
    /* the decoded request as if it were the answer: the output shapes share
     * member names (QueueUrl, Attributes, MessageAttributes...) */
    tp_query_encode(api, op, in, "rid-0", &b);
    tp_buf_reset(&b);
    tp_error err;
    const char *code = form.n ? form.pairs[0].value : "InvalidParameterValue";
    tp_fail_raw(&err, 400, code, "%s", form.n ? form.pairs[0].key : "");
    tp_query_error(api, &err, "rid-0", &b);
    const char *qcode = NULL;
    int sender = 0;
    tp_query_error_code(api, &err, &qcode, &sender);
    tp_buf_free(&b);
    char *text = tp_json_print(in);
    free(text);
    cJSON_Delete(in);
    tp_qform_free(&form);
    return 0;
}
