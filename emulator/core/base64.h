/* core/base64 — standard base64 (RFC 4648, with padding), as AWS uses for
 * blobs on the JSON wire. */
#ifndef TP_CORE_BASE64_H
#define TP_CORE_BASE64_H

#include <stddef.h>

#include "buf.h"

int tp_base64_encode(const void *data, size_t len, tp_buf *out);
/* Strict decode: returns -1 on characters outside the alphabet, bad padding
 * or a length that is not a multiple of 4. Appends to out. */
int tp_base64_decode(const char *text, size_t len, tp_buf *out);
/* Checks text the way AWS's JSON front end does and, when it is not valid
 * base64, writes the reason AWS gives after "'<text>' can not be converted
 * to a Blob: " into why (e.g. "Invalid Base64 character: '!'") and returns
 * -1. Returns 0 for valid text. why may be NULL. */
int tp_base64_check(const char *text, size_t len, char *why, size_t cap);

#endif
