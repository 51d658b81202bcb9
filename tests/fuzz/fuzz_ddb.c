/* Fuzz target: the request path through the engine — JSON body ->
 * model validation -> action, on an in-memory engine (fuzz_engine.h's
 * world: table "tab" with pk/sk, GSI "gsi" and a stream; queues "q" and
 * "q.fifo"; stream "s"; function "f").
 *
 * Input: up to 16 lines, each one call "Operation {json body}" (the
 * operation bare for DynamoDB, "PutItem", or with its target prefix,
 * "DynamoDBStreams_20120810.GetRecords", "AmazonSQS.SendMessage", ...),
 * or "+N" to move the virtual clock N ms forward (at most a day). Bodies
 * hold no raw newline; a missing body is "{}". Every answer must print
 * as JSON, every error carry a code and a status. FUZZ_VERBOSE=1 prints
 * each call's answer or error (for writing seeds). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_engine.h"
#include "fuzz_request.h"

#define MAX_CALLS 16

static void one_call(tp_engine *e, char *line)
{
    if (line[0] == '+') {
        long long ms = strtoll(line + 1, NULL, 10);
        if (ms > 0)
            tp_engine_advance(e, ms > 86400000 ? 86400000 : ms);
        return;
    }
    char *body = strchr(line, ' ');
    if (body)
        *body++ = '\0';
    char target[256];
    snprintf(target, sizeof target, "%s%s", strchr(line, '.') ? "" : "DynamoDB_20120810.", line);
    char *out = NULL;
    tp_error err;
    tp_error_clear(&err);
    int rc = tp_engine_call(e, NULL, NULL, target, body && *body ? body : "{}", &out, &err);
    if (getenv("FUZZ_VERBOSE"))   /* for writing seeds: what each call answered */
        fprintf(stderr, "%s: %s\n", target, rc == 0 ? out : err.message);
    if (rc == 0 && !out)
        abort();
    if (rc != 0 && (!err.code[0] || err.status < 400 || err.status > 599))
        abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_text(data, size);
    if (!text)
        return 0;
    tp_engine *e = fz_engine_fresh();
    char *p = text;
    for (int n = 0; p && *p && n < MAX_CALLS; n++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl++ = '\0';
        if (*p)
            one_call(e, p);
        p = nl;
    }
    free(text);
    return 0;
}
