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

/* 1 when text holds bytes that would forge or break the NUL marker: a raw
 * NUL, or a raw 0xC0 0x80. */
static int has_forged_marker(const char *text, size_t len)
{
    return memchr(text, '\0', len) != NULL || memmem(text, len, TP_NUL, 2) != NULL;
}

/* Copies text with each \u0000 escape inside a string replaced by TP_NUL.
 * Escapes are read pairwise, so "\\u0000" (an escaped backslash, then
 * "u0000") is left alone. NULL when out of memory. */
static char *mark_nuls(const char *text, size_t len, size_t *outlen)
{
    char *o = malloc(len + 1);
    if (!o)
        return NULL;
    size_t w = 0;
    int in_str = 0;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (!in_str) {
            if (c == '"')
                in_str = 1;
            o[w++] = c;
            i++;
        } else if (c == '"') {
            in_str = 0;
            o[w++] = c;
            i++;
        } else if (c == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 6 <= len && memcmp(text + i + 2, "0000", 4) == 0) {
                o[w++] = (char)0xC0;
                o[w++] = (char)0x80;
                i += 6;
            } else {
                o[w++] = c;
                o[w++] = text[i + 1];
                i += 2;
            }
        } else {
            o[w++] = c;
            i++;
        }
    }
    o[w] = '\0';
    *outlen = w;
    return o;
}

/* 1 when text is valid UTF-8 (JSON text must be: RFC 8259 section 8.1;
 * AWS answers a body that is not with a SerializationException). */
static int valid_utf8(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        if (tp_utf8_next(&p, end) < 0)
            return 0;
    }
    return 1;
}

cJSON *tp_json_parse_at(const char *text, size_t len, size_t *error_at)
{
    size_t scratch;
    if (!error_at)
        error_at = &scratch;
    *error_at = 0;
    if (!text)
        return NULL;
    if (has_forged_marker(text, len) || !valid_utf8(text, len))
        return NULL;
    char *marked = NULL;
    size_t wire_len = len;
    if (memmem(text, len, "\\u0000", 6)) {
        marked = mark_nuls(text, len, &len);
        if (!marked)
            return NULL;
        text = marked;
    }
    /* cJSON reports where it stopped through return_parse_end, on success
     * and on failure alike */
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        *error_at = at < wire_len ? at : wire_len;
        free(marked);
        return NULL;
    }
    /* Trailing non-space garbage is a syntax error too. */
    while (end && (size_t)(end - text) < len &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && (size_t)(end - text) < len && *end != '\0') {
        *error_at = (size_t)(end - text) < wire_len ? (size_t)(end - text) : wire_len;
        cJSON_Delete(j);
        j = NULL;
    }
    free(marked);
    return j;
}

cJSON *tp_json_parse(const char *text, size_t len) { return tp_json_parse_at(text, len, NULL); }

cJSON *tp_json_parse_str(const char *text) { return text ? tp_json_parse(text, strlen(text)) : NULL; }

char *tp_json_print(const cJSON *item)
{
    char *text = cJSON_PrintUnformatted(item);
    if (!text || !strstr(text, TP_NUL))
        return text;
    /* Markers are only ever inside strings: each becomes \u0000. */
    size_t n = 0, len = strlen(text);
    for (const char *p = strstr(text, TP_NUL); p; p = strstr(p + 2, TP_NUL))
        n++;
    char *o = malloc(len + n * 4 + 1);
    if (!o) {
        free(text);
        return NULL;
    }
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        if ((unsigned char)text[i] == 0xC0 && (unsigned char)text[i + 1] == 0x80) {
            memcpy(o + w, "\\u0000", 6);
            w += 6;
            i += 2;
        } else {
            o[w++] = text[i++];
        }
    }
    o[w] = '\0';
    free(text);
    return o;
}

size_t tp_str_wire_len(const char *s)
{
    size_t n = strlen(s);
    for (const char *p = strstr(s, TP_NUL); p; p = strstr(p + 2, TP_NUL))
        n--;
    return n;
}

int tp_str_wire_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (;;) {
        int cx = *x, cy = *y;
        if (cx == 0xC0 && x[1] == 0x80)
            cx = 0;
        if (cy == 0xC0 && y[1] == 0x80)
            cy = 0;
        /* end of string orders before a NUL byte */
        if (!*x || !*y)
            return *x ? 1 : *y ? -1 : 0;
        if (cx != cy)
            return cx - cy;
        x += *x == 0xC0 && x[1] == 0x80 ? 2 : 1;
        y += *y == 0xC0 && y[1] == 0x80 ? 2 : 1;
    }
}

int tp_str_wire_bytes(const char *s, size_t len, tp_buf *out)
{
    size_t i = 0;
    while (i < len) {
        const char *p = memmem(s + i, len - i, TP_NUL, 2);
        size_t run = p ? (size_t)(p - (s + i)) : len - i;
        if (run && tp_buf_append(out, s + i, run) != 0)
            return -1;
        i += run;
        if (p) {
            if (tp_buf_append(out, "", 1) != 0)
                return -1;
            i += 2;
        }
    }
    return 0;
}

long tp_utf8_next(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    long cp;
    int n;
    if (s[0] < 0x80) {
        cp = s[0];
        n = 0;
    } else if ((s[0] & 0xe0) == 0xc0) {
        cp = s[0] & 0x1f;
        n = 1;
    } else if ((s[0] & 0xf0) == 0xe0) {
        cp = s[0] & 0x0f;
        n = 2;
    } else if ((s[0] & 0xf8) == 0xf0) {
        cp = s[0] & 0x07;
        n = 3;
    } else {
        return -1;
    }
    if (end - s < n + 1)
        return -1;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const long min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *p = s + n + 1;
    return cp;
}

int tp_str_from_wire(const void *bytes, size_t len, tp_buf *out)
{
    const char *s = bytes;
    size_t i = 0;
    while (i < len) {
        const char *p = memchr(s + i, '\0', len - i);
        size_t run = p ? (size_t)(p - (s + i)) : len - i;
        if (run && tp_buf_append(out, s + i, run) != 0)
            return -1;
        i += run;
        if (p) {
            if (tp_buf_append(out, TP_NUL, 2) != 0)
                return -1;
            i++;
        }
    }
    return 0;
}

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
