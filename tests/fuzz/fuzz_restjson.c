/* Fuzz target: http/restjson — the Lambda REST binding without the engine.
 *
 * Input: a request in fuzz_request.h's text form ("GET /2015-03-31/
 * functions/f?Qualifier=1\nX-Amz-Invocation-Type: Event\n\n{...}").
 * Matched against Lambda's generated operation table, decoded into the
 * request tree (URI labels, query, headers, payload), then the tree is
 * encoded back as that operation's response, and an error answer is
 * written with the tree as extra fields. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/json.h"
#include "fuzz_request.h"
#include "http/restjson.h"
#include "lambda/shapes.gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_request fr;
    if (fz_request_parse(&fr, data, size) != 0)
        return 0;
    tp_rest_request rq = {.method = fr.method, .path = fr.path, .header = fz_header,
                          .query = fz_query, .ctx = &fr, .body = fr.body, .len = fr.len};
    const tp_rest_api *api = &tp_lambda_rest;
    const tp_rest_op *op = tp_restjson_match(api, &rq);
    tp_rest_response resp;
    tp_rest_response_init(&resp);
    if (!op) {
        tp_restjson_unknown(&resp);
        tp_rest_response_free(&resp);
        fz_request_free(&fr);
        return 0;
    }
    cJSON *in = NULL;
    tp_error err;
    tp_error_clear(&err);
    if (tp_restjson_decode(op, &rq, &in, &err) != 0) {
        tp_restjson_error(api, &err, NULL, &resp);
    } else {
        tp_fail_raw(&err, 429, "TooManyRequestsException", "Rate exceeded");
        tp_restjson_error(api, &err, in, &resp);
        tp_rest_response_free(&resp);
        tp_rest_response_init(&resp);
        tp_restjson_encode(op, in, &resp);   /* takes the members it uses out of in */
    }
    cJSON_Delete(in);
    tp_rest_response_free(&resp);
    fz_request_free(&fr);
    return 0;
}
