/* core/buf — growable byte buffer. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tp_buf_init(tp_buf *b) { b->data = NULL, b->len = 0, b->cap = 0; }

void tp_buf_free(tp_buf *b)
{
    free(b->data);
    tp_buf_init(b);
}

void tp_buf_reset(tp_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int tp_buf_reserve(tp_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

int tp_buf_append(tp_buf *b, const void *data, size_t len)
{
    if (tp_buf_reserve(b, len) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int tp_buf_puts(tp_buf *b, const char *s) { return tp_buf_append(b, s, strlen(s)); }

int tp_buf_printf(tp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || tp_buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *tp_buf_take(tp_buf *b)
{
    if (!b->data && tp_buf_reserve(b, 0) != 0)
        return NULL;
    char *d = b->data;
    tp_buf_init(b);
    return d;
}

char *tp_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    tp_buf b;
    tp_buf_init(&b);
    char chunk[8192];
    size_t n;
    int ok = 1;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = tp_buf_append(&b, chunk, n) == 0;
    if (ok && ferror(f))
        ok = 0;
    fclose(f);
    if (!ok) {
        tp_buf_free(&b);
        return NULL;
    }
    char *s = tp_buf_take(&b);
    return s ? s : calloc(1, 1);
}
