/* core/buf — a growable byte buffer. Always NUL-terminated so text can be
 * used in place. */
#ifndef TP_CORE_BUF_H
#define TP_CORE_BUF_H

#include <stddef.h>

typedef struct tp_buf {
    char *data;
    size_t len, cap;
} tp_buf;

void tp_buf_init(tp_buf *b);
void tp_buf_free(tp_buf *b);
void tp_buf_reset(tp_buf *b);
int tp_buf_reserve(tp_buf *b, size_t extra);
int tp_buf_append(tp_buf *b, const void *data, size_t len);
int tp_buf_puts(tp_buf *b, const char *s);
int tp_buf_printf(tp_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Hands the bytes to the caller (who frees them) and empties b. */
char *tp_buf_take(tp_buf *b);

/* A whole file as a NUL-terminated string (the caller frees it), or NULL
 * with errno set. */
char *tp_read_file(const char *path);

#endif
