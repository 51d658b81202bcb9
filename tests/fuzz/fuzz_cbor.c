/* Fuzz target: http/cbor — the Kinesis CBOR body codec.
 *
 * Input: a request body (application/x-amz-cbor-1.1). A body that decodes
 * is encoded again (with Kinesis's blob and timestamp hints, and without),
 * and the plain re-encoding must decode to the same tree: the codec reads
 * back everything it writes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "http/cbor.h"

static const char *const blobs[] = {"Data", NULL};
static const char *const times[] = {"ApproximateArrivalTimestamp", "Timestamp", NULL};
static const tp_cbor_hints hints = {.blobs = blobs, .timestamps = times};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[128];
    cJSON *tree = tp_cbor_decode(data, size, why, sizeof why);
    if (!tree)
        return 0;
    tp_buf b;
    tp_buf_init(&b);
    tp_cbor_encode(tree, &hints, &b);
    tp_buf_reset(&b);
    if (tp_cbor_encode(tree, NULL, &b) != 0)
        abort();
    cJSON *again = tp_cbor_decode(b.data, b.len, why, sizeof why);
    if (!again)
        abort();
    char *t1 = tp_json_print(tree), *t2 = tp_json_print(again);
    if (!t1 || !t2 || strcmp(t1, t2) != 0)
        abort();
    free(t1);
    free(t2);
    cJSON_Delete(again);
    tp_buf_free(&b);
    cJSON_Delete(tree);
    return 0;
}
