/* core/json — small cJSON helpers (json.h). */
#include "json.h"

#include <stdlib.h>
#include <string.h>

const char *tp_json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t tp_json_int(const cJSON *obj, const char *name, int64_t dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

int tp_json_bool(const cJSON *obj, const char *name, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

cJSON *tp_json_parse(const char *text, size_t len)
{
    if (!text)
        return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j)
        return NULL;
    /* Trailing non-space garbage is a syntax error too. */
    while (end && (size_t)(end - text) < len &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && (size_t)(end - text) < len && *end != '\0') {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

char *tp_json_print(const cJSON *item) { return cJSON_PrintUnformatted(item); }

cJSON *tp_json_add_int(cJSON *obj, const char *name, int64_t v)
{
    return cJSON_AddNumberToObject(obj, name, (double)v);
}

const cJSON *tp_json_path(const cJSON *obj, const char *path)
{
    char part[128];
    const cJSON *cur = obj;
    while (cur && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part)
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, part);
        path += n + (dot ? 1 : 0);
    }
    return cur;
}
