/* core/json — small cJSON helpers shared by services and codecs, and the
 * one road JSON text takes in and out of the process.
 *
 * U+0000: cJSON's strings end at a NUL byte, so a "\u0000" in a request
 * would cut the string short (data loss). tp_json_parse turns every \u0000
 * escape into the two bytes 0xC0 0x80 (TP_NUL: the overlong form, which is
 * never valid UTF-8, as Java's modified UTF-8 does it) and tp_json_print
 * turns them back into \u0000; raw 0xC0 0x80 or NUL bytes in the text are
 * refused as syntax errors, so the marker cannot be forged. Inside the
 * process no user string holds a NUL byte. Code that measures, orders or
 * stores the bytes a client sent (item sizes, key encodings, comparisons)
 * uses the tp_str_wire_* helpers, which count each marker as one 0x00. */
#ifndef TP_CORE_JSON_H
#define TP_CORE_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* How U+0000 is held inside the process (see above). */
#define TP_NUL "\xC0\x80"

/* Borrowed string member, or NULL when absent or not a string. */
const char *tp_json_str(const cJSON *obj, const char *name);
/* Integer member (must be a number); returns dflt when absent. */
int64_t tp_json_int(const cJSON *obj, const char *name, int64_t dflt);
int tp_json_bool(const cJSON *obj, const char *name, int dflt);
/* Parses len bytes (need not be NUL-terminated); NULL on a syntax error
 * or when the text is not valid UTF-8. */
cJSON *tp_json_parse(const char *text, size_t len);
/* The same, and on a syntax error *error_at (if non-NULL) is the offset
 * where parsing stopped. Thread-safe, unlike cJSON_GetErrorPtr (one
 * global for the process): nothing here reads that global. */
cJSON *tp_json_parse_at(const char *text, size_t len, size_t *error_at);
/* The same for a NUL-terminated text. */
cJSON *tp_json_parse_str(const char *text);
/* Serialises compactly; the caller frees with free(). */
char *tp_json_print(const cJSON *item);

/* Bytes of s as the client sent it (each TP_NUL counts as one). */
size_t tp_str_wire_len(const char *s);
/* strcmp over the bytes the client sent (TP_NUL orders as 0x00). */
int tp_str_wire_cmp(const char *a, const char *b);
/* Appends the bytes the client sent (TP_NUL as 0x00); 0, or -1 out of memory. */
int tp_str_wire_bytes(const char *s, size_t len, tp_buf *out);
/* Next code point of UTF-8 text at *p (before end), strictly: no
 * overlong forms (so TP_NUL too is refused), no surrogates, nothing past
 * U+10FFFF. Advances *p; -1 for a malformed sequence. */
long tp_utf8_next(const unsigned char **p, const unsigned char *end);
/* Appends bytes as an internal string (0x00 as TP_NUL); 0 or -1. */
int tp_str_from_wire(const void *bytes, size_t len, tp_buf *out);
/* Adds a number that must stay an integer in the output (cJSON prints
 * doubles, which loses nothing up to 2^53). */
cJSON *tp_json_add_int(cJSON *obj, const char *name, int64_t v);
/* Looks up a dotted path "a.b.c" in nested objects; NULL when absent. */
const cJSON *tp_json_path(const cJSON *obj, const char *path);

#endif
