/* dynamodb/keycodec — key attribute values <-> order-preserving blobs.
 *
 * SQLite compares BLOBs with memcmp, so encoding a key this way makes the
 * index order DynamoDB's order: strings by UTF-8 bytes, numbers numerically,
 * binary bytewise. Each blob holds one value of a type fixed by the table's
 * schema, so no type tag is needed. */
#ifndef TP_DDB_KEYCODEC_H
#define TP_DDB_KEYCODEC_H

#include "core/buf.h"
#include "core/error.h"
#include "number.h"

/* type is 'S', 'N' or 'B'; text is the wire text of the value (a string,
 * a number's text, or base64). Appends the encoding to out. */
int ddb_key_encode(char type, const char *text, tp_buf *out, tp_error *err);
void ddb_key_encode_num(const ddb_num *n, tp_buf *out);
/* Decodes a blob back to wire text (S: the string, N: canonical number,
 * B: base64). Returns -1 on a corrupt blob. */
int ddb_key_decode(char type, const void *blob, size_t len, tp_buf *out);

#endif
