/* http/cbor — the AWS CBOR protocol's body codec (application/x-amz-cbor-1.1,
 * which the AWS SDK for Java and the KCL send Kinesis by default), on
 * Debian's libcbor.
 *
 * A request body becomes the same cJSON tree a JSON request would, so
 * model validation and the actions never know which protocol came in:
 * byte strings become base64 strings (what awsJson carries for blobs),
 * tag 1 (epoch time) becomes epoch seconds, text strings keep U+0000 the
 * way core/json holds it (C0 80). A response tree goes back the other way;
 * since the tree does not say which strings are blobs and which numbers
 * are timestamps, the caller names those members (hints).
 *
 * AWS's CBOR timestamps are tag 1 with *milliseconds* since the epoch as an
 * integer (the AWS SDK for Java's SdkCborGenerator writes date.getTime()
 * and reads it back the same way), not RFC 8949's seconds; both are
 * accepted on input (an integer tag-1 value is milliseconds, a float one
 * seconds) and milliseconds are written. */
#ifndef TP_HTTP_CBOR_H
#define TP_HTTP_CBOR_H

#include <stddef.h>

#include "core/buf.h"

typedef struct cJSON cJSON;

typedef struct tp_cbor_hints {
    const char *const *blobs;        /* member names whose strings are base64 blobs; NULL-terminated */
    const char *const *timestamps;   /* member names whose numbers are epoch seconds */
} tp_cbor_hints;

/* The body as a tree (an object or not: the caller checks), or NULL with
 * why filled when it is not one well-formed CBOR item. */
cJSON *tp_cbor_decode(const void *data, size_t len, char *why, size_t cap);
/* Appends the tree's CBOR encoding to out; 0, or -1 on OOM. */
int tp_cbor_encode(const cJSON *tree, const tp_cbor_hints *hints, tp_buf *out);

#endif
