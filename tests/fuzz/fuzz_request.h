/* fuzz_request — fuzz inputs as text: fz_text for the targets that read
 * one string, and the HTTP request the front-door targets read, as
 *
 *   METHOD /path?k=v&k2=v2\n
 *   Header-Name: value\n        (any number, up to FZ_MAX_FIELDS)
 *   \n
 *   body (the rest, any bytes)
 *
 * which is what libmicrohttpd hands server.c (path without its query,
 * headers and query arguments looked up by name). Header-only: each target
 * includes it once. */
#ifndef TP_FUZZ_REQUEST_H
#define TP_FUZZ_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FZ_MAX_FIELDS 16

typedef struct fz_request {
    char *copy;                  /* owns every string below */
    const char *method, *path;
    const char *hname[FZ_MAX_FIELDS], *hvalue[FZ_MAX_FIELDS];
    const char *qname[FZ_MAX_FIELDS], *qvalue[FZ_MAX_FIELDS];
    unsigned nh, nq;
    const char *body;
    size_t len;
} fz_request;

/* The input as a NUL-terminated copy (free() it), or NULL. */
static inline char *fz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

static inline char *fz_line(char **p, char *end)
{
    char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        nl = end;
    *nl = '\0';
    *p = nl < end ? nl + 1 : end;
    return s;
}

/* 0, or -1 when out of memory. */
static inline int fz_request_parse(fz_request *rq, const uint8_t *data, size_t size)
{
    memset(rq, 0, sizeof *rq);
    rq->copy = fz_text(data, size);
    if (!rq->copy)
        return -1;
    char *p = rq->copy, *end = rq->copy + size;
    char *first = fz_line(&p, end);
    char *sp = strchr(first, ' ');
    rq->method = first;
    rq->path = "/";
    if (sp) {
        *sp = '\0';
        rq->path = sp + 1;
        char *q = strchr(sp + 1, '?');
        if (q) {
            *q++ = '\0';
            while (q && *q && rq->nq < FZ_MAX_FIELDS) {
                char *amp = strchr(q, '&');
                if (amp)
                    *amp++ = '\0';
                char *eq = strchr(q, '=');
                if (eq)
                    *eq++ = '\0';
                rq->qname[rq->nq] = q;
                rq->qvalue[rq->nq++] = eq ? eq : "";
                q = amp;
            }
        }
    }
    while (p < end) {
        char *line = fz_line(&p, end);
        if (!*line)
            break;
        char *colon = strchr(line, ':');
        if (!colon || rq->nh == FZ_MAX_FIELDS)
            continue;
        *colon++ = '\0';
        while (*colon == ' ')
            colon++;
        rq->hname[rq->nh] = line;
        rq->hvalue[rq->nh++] = colon;
    }
    rq->body = p;
    rq->len = (size_t)(end - p);
    return 0;
}

static inline const char *fz_lookup(const char *const *names, const char *const *values,
                                    unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (strcasecmp(names[i], name) == 0)
            return values[i];
    return NULL;
}

/* Lookups in the shape of tp_rest_request's header/query callbacks. */
static inline const char *fz_header(void *ctx, const char *name)
{
    fz_request *rq = ctx;
    return fz_lookup(rq->hname, rq->hvalue, rq->nh, name);
}

static inline const char *fz_query(void *ctx, const char *name)
{
    fz_request *rq = ctx;
    return fz_lookup(rq->qname, rq->qvalue, rq->nq, name);
}

static inline void fz_request_free(fz_request *rq)
{
    free(rq->copy);
    rq->copy = NULL;
}

#endif
