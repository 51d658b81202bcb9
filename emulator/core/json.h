/* core/json — small cJSON helpers shared by services and codecs. */
#ifndef TP_CORE_JSON_H
#define TP_CORE_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Borrowed string member, or NULL when absent or not a string. */
const char *tp_json_str(const cJSON *obj, const char *name);
/* Integer member (must be a number); returns dflt when absent. */
int64_t tp_json_int(const cJSON *obj, const char *name, int64_t dflt);
int tp_json_bool(const cJSON *obj, const char *name, int dflt);
/* Parses len bytes (need not be NUL-terminated); NULL on a syntax error. */
cJSON *tp_json_parse(const char *text, size_t len);
/* Serialises compactly; the caller frees with free(). */
char *tp_json_print(const cJSON *item);
/* Adds a number that must stay an integer in the output (cJSON prints
 * doubles, which loses nothing up to 2^53). */
cJSON *tp_json_add_int(cJSON *obj, const char *name, int64_t v);
/* Looks up a dotted path "a.b.c" in nested objects; NULL when absent. */
const cJSON *tp_json_path(const cJSON *obj, const char *path);

#endif
