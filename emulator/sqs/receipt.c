/* sqs/receipt — receipt handles.
 *
 * A handle is base64 of "<queue ARN> <message row> <receive number>
 * <random>": it names the queue (a handle used on another queue is
 * ReceiptHandleIsInvalid), the stored message and which receive made it.
 * The random part comes from the seeded rng, so every receive hands out a
 * new handle and a seeded run replays the same ones. The message row keeps
 * the latest handle; an older one is stale (message.c decides what that
 * means for each action). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "sqs.h"

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

void sqs_receipt_make(tp_rng *rng, const char *arn, int64_t row, int64_t receive, tp_buf *out)
{
    char rnd[33];
    tp_rng_string(rng, ALNUM, rnd, 32);
    tp_buf plain;
    tp_buf_init(&plain);
    tp_buf_printf(&plain, "%s %lld %lld %s", arn, (long long)row, (long long)receive, rnd);
    tp_base64_encode(plain.data, plain.len, out);
    tp_buf_free(&plain);
}

int sqs_receipt_parse(const char *handle, char *arn, size_t arn_cap, int64_t *row)
{
    if (!handle || !*handle)
        return -1;
    tp_buf plain;
    tp_buf_init(&plain);
    int rc = -1;
    if (tp_base64_decode(handle, strlen(handle), &plain) == 0 && plain.len > 0 &&
        memchr(plain.data, 0, plain.len) == NULL) {
        char *sp1 = strchr(plain.data, ' ');
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        char *sp3 = sp2 ? strchr(sp2 + 1, ' ') : NULL;
        if (sp1 && sp2 && sp3 && strncmp(plain.data, "arn:", 4) == 0 &&
            (size_t)(sp1 - plain.data) < arn_cap && strlen(sp3 + 1) == 32) {
            char *end;
            long long v = strtoll(sp1 + 1, &end, 10);
            if (end == sp2 && v > 0) {
                memcpy(arn, plain.data, (size_t)(sp1 - plain.data));
                arn[sp1 - plain.data] = 0;
                *row = v;
                rc = 0;
            }
        }
    }
    tp_buf_free(&plain);
    return rc;
}
