/* tests/bench/loadgen — tp_bench, a closed-loop HTTP/1.1 load generator for
 * tidepool benchmarks.
 *
 * N threads, each with one keep-alive connection to a loopback address,
 * send a request, wait for the whole response, record the latency and send
 * the next, until the duration or the request count runs out. Prints
 * requests, errors, ops/s and latency percentiles (microseconds).
 *
 * Generic over services: the request is a method, a path, headers and a
 * body template. The template's placeholders are expanded per request:
 *   {{n}}      a global counter (--key-start, +1 per request): distinct keys
 *   {{r}}      a uniform random integer in [0, --key-space): existing keys
 *   {{pad:N}}  N bytes of 'x' (e.g. a 1 KB attribute value)
 * --aws-json VER adds Content-Type application/x-amz-json-VER and a fake
 * SigV4 Authorization header whose credential scope names --access-key,
 * --region and --service (tidepool reads the scope, not the signature).
 *
 * Only 127.0.0.0/8 is accepted as a target: this is a tool for measuring a
 * local server, never a remote one. No external libraries. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 32
#define MAX_THREADS 1024
#define MAX_PAD (64 * 1024 * 1024)

/* --- the body template ------------------------------------------------------ */

typedef enum { SEG_TEXT, SEG_COUNTER, SEG_RANDOM, SEG_PAD } seg_kind;

typedef struct seg {
    seg_kind kind;
    const char *text; /* SEG_TEXT: points into the template */
    size_t len;       /* SEG_TEXT: length; SEG_PAD: pad bytes */
} seg;

typedef struct body_template {
    seg *segs;
    size_t n;
    int dynamic; /* any placeholder at all */
} body_template;

/* --- options and shared state -------------------------------------------------- */

typedef struct options {
    const char *host;
    int port;
    int concurrency;
    double duration_s;
    long long requests; /* 0: no count limit */
    const char *method;
    const char *path;
    const char *headers[MAX_HEADERS];
    int nheaders;
    const char *body;
    long long key_start;
    long long key_space;
    unsigned long long seed;
    const char *aws_json;
    const char *target;
    const char *access_key, *region, *service;
    int expect_status; /* 0: any 2xx */
    int json;
    const char *label;
    /* --hold: connections that each send one request and wait for its
     * answer the whole run (parked long polls) */
    int hold;
    const char *hold_target, *hold_body;
    /* --then-delete QUEUE_URL: after each answer, a DeleteMessageBatch of
     * the ReceiptHandles in it (SQS ReceiveMessage + DeleteMessageBatch) */
    const char *then_delete;
} options;

static options opt = {
    .host = "127.0.0.1",
    .port = 0,
    .concurrency = 1,
    .duration_s = 5.0,
    .method = "POST",
    .path = "/",
    .key_space = 1,
    .seed = 1,
    .access_key = "AKIDBENCH",
    .region = "us-east-1",
    .service = "dynamodb",
};

static body_template tmpl;
static char *fixed_head; /* request line + headers, without Content-Length */
static size_t fixed_head_len;
static struct sockaddr_in target_addr;

static atomic_llong counter;     /* {{n}} */
static atomic_llong issued;      /* requests started (for --requests) */
static atomic_int error_printed; /* only the first error is shown */
static int64_t deadline_ns;

typedef struct worker {
    pthread_t thread;
    int id;
    uint32_t *lat_us; /* one entry per completed request */
    size_t nlat, caplat;
    long long ok, errors, transport_errors, reconnects;
    long long status_counts[6]; /* by first digit */
    long long items;            /* --then-delete: messages deleted */
    uint64_t rng;
} worker;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tp_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory");
    return q;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* --- growable byte buffer ------------------------------------------------------- */

typedef struct bytes {
    char *p;
    size_t len, cap;
} bytes;

static bytes delete_head;   /* --then-delete: the DeleteMessageBatch request head */

static void bytes_reserve(bytes *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void bytes_put(bytes *b, const void *data, size_t n)
{
    bytes_reserve(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void bytes_printf(bytes *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    bytes_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* --- template ------------------------------------------------------------------ */

static void tmpl_add(body_template *t, seg s)
{
    t->segs = xrealloc(t->segs, (t->n + 1) * sizeof *t->segs);
    t->segs[t->n++] = s;
}

static void tmpl_parse(body_template *t, const char *text)
{
    const char *p = text, *lit = text;
    while (*p) {
        if (p[0] == '{' && p[1] == '{') {
            const char *end = strstr(p + 2, "}}");
            seg s = {0};
            int known = 1;
            if (end && end - p == 3 && p[2] == 'n')
                s.kind = SEG_COUNTER;
            else if (end && end - p == 3 && p[2] == 'r')
                s.kind = SEG_RANDOM;
            else if (end && strncmp(p + 2, "pad:", 4) == 0) {
                char *num_end;
                long long n = strtoll(p + 6, &num_end, 10);
                if (num_end != end || n < 0 || n > MAX_PAD)
                    die("bad placeholder %.*s (pad size 0..%d)", (int)(end - p + 2), p, MAX_PAD);
                s.kind = SEG_PAD;
                s.len = (size_t)n;
            } else
                known = 0;
            if (known) {
                if (p > lit)
                    tmpl_add(t, (seg){.kind = SEG_TEXT, .text = lit, .len = (size_t)(p - lit)});
                tmpl_add(t, s);
                t->dynamic = 1;
                p = end + 2;
                lit = p;
                continue;
            }
        }
        p++;
    }
    if (p > lit)
        tmpl_add(t, (seg){.kind = SEG_TEXT, .text = lit, .len = (size_t)(p - lit)});
}

static void tmpl_expand(const body_template *t, bytes *out, uint64_t *rng)
{
    out->len = 0;
    for (size_t i = 0; i < t->n; i++) {
        const seg *s = &t->segs[i];
        switch (s->kind) {
        case SEG_TEXT:
            bytes_put(out, s->text, s->len);
            break;
        case SEG_COUNTER:
            bytes_printf(out, "%lld", atomic_fetch_add(&counter, 1));
            break;
        case SEG_RANDOM:
            bytes_printf(out, "%lld",
                         opt.key_start + (long long)(xorshift(rng) % (uint64_t)opt.key_space));
            break;
        case SEG_PAD:
            bytes_reserve(out, s->len);
            memset(out->p + out->len, 'x', s->len);
            out->len += s->len;
            out->p[out->len] = '\0';
            break;
        }
    }
}

/* --- one connection --------------------------------------------------------------- */

typedef struct conn {
    int fd;
    bytes in;        /* bytes received */
    size_t consumed; /* of which the last response, dropped on the next read */
} conn;

static int conn_open(conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* No request may hang the run past its bound. */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c->fd, (struct sockaddr *)&target_addr, sizeof target_addr) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->in.len = 0;
    c->consumed = 0;
    return 0;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in.len = 0;
    c->consumed = 0;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more into c->in; 0 ok, -1 closed or error. */
static int fill(conn *c)
{
    bytes_reserve(&c->in, 16384);
    for (;;) {
        ssize_t r = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c->in.len += (size_t)r;
        c->in.p[c->in.len] = '\0';
        return 0;
    }
}

static const char *find_header(const char *head, size_t head_len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', head_len);
    const char *end = head + head_len;
    while (p && p + 1 < end) {
        p++;
        if ((size_t)(end - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
        p = memchr(p, '\n', (size_t)(end - p));
    }
    return NULL;
}

/* Reads one whole response. Returns the status (>0), or -1 on a transport
 * error. *keep: whether the connection may be reused. body/body_len: a
 * borrowed view into c->in, valid until the next call (which drops it).
 * memmem, not strstr: a body may hold NUL bytes (CBOR). */
static int read_response(conn *c, int *keep, const char **body, size_t *body_len)
{
    if (c->consumed) {
        c->in.len -= c->consumed;
        memmove(c->in.p, c->in.p + c->consumed, c->in.len);
        c->consumed = 0;
    }
    char *hend;
    while (!(hend = c->in.len ? memmem(c->in.p, c->in.len, "\r\n\r\n", 4) : NULL))
        if (fill(c) != 0)
            return -1;
    size_t head_len = (size_t)(hend - c->in.p) + 4;
    int status = 0;
    if (sscanf(c->in.p, "HTTP/1.%*d %d", &status) != 1 || status < 100)
        return -1;
    const char *conn_hdr = find_header(c->in.p, head_len, "Connection");
    *keep = !(conn_hdr && strncasecmp(conn_hdr, "close", 5) == 0);
    const char *te = find_header(c->in.p, head_len, "Transfer-Encoding");
    const char *cl = find_header(c->in.p, head_len, "Content-Length");
    if (te && strncasecmp(te, "chunked", 7) == 0) {
        /* De-chunk in place: data moves down to follow the head. */
        size_t rd = head_len, wr = head_len;
        for (;;) {
            char *line_end;
            while (!(line_end = memmem(c->in.p + rd, c->in.len - rd, "\r\n", 2)))
                if (fill(c) != 0)
                    return -1;
            size_t n = strtoul(c->in.p + rd, NULL, 16);
            size_t data_at = (size_t)(line_end - c->in.p) + 2;
            while (c->in.len < data_at + n + 2)
                if (fill(c) != 0)
                    return -1;
            memmove(c->in.p + wr, c->in.p + data_at, n);
            wr += n;
            rd = data_at + n + 2; /* no trailers: tidepool sends none */
            if (n == 0)
                break;
        }
        memmove(c->in.p + wr, c->in.p + rd, c->in.len - rd);
        c->in.len = wr + (c->in.len - rd);
        *body = c->in.p + head_len;
        *body_len = wr - head_len;
        c->consumed = wr;
        return status;
    }
    size_t total;
    if (cl) {
        total = head_len + strtoull(cl, NULL, 10);
    } else if (status == 204 || status == 304 || status < 200) {
        total = head_len;
    } else {
        /* No length: the body runs to the close. */
        while (fill(c) == 0)
            ;
        total = c->in.len;
        *keep = 0;
    }
    while (c->in.len < total)
        if (fill(c) != 0)
            return -1;
    *body = c->in.p + head_len;
    *body_len = total - head_len;
    c->consumed = total;
    return status;
}

/* --- the workers -------------------------------------------------------------------- */

static void record(worker *w, int64_t ns)
{
    if (w->nlat == w->caplat) {
        w->caplat = w->caplat ? w->caplat * 2 : 4096;
        w->lat_us = xrealloc(w->lat_us, w->caplat * sizeof *w->lat_us);
    }
    int64_t us = (ns + 500) / 1000;
    w->lat_us[w->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void show_error(int status, const char *body, size_t len, const char *what)
{
    if (atomic_exchange(&error_printed, 1))
        return;
    if (status > 0)
        fprintf(stderr, "tp_bench: first error: HTTP %d %.*s\n", status, (int)(len > 400 ? 400 : len),
                body ? body : "");
    else
        fprintf(stderr, "tp_bench: first error: %s\n", what ? what : "unknown");
}

/* --then-delete: deletes the messages a ReceiveMessage answer names, on
 * the same connection. Returns how many, or -1 on an error. */
static int delete_received(conn *c, const char *rbody, size_t rlen, bytes *req, bytes *body)
{
    static const char key[] = "\"ReceiptHandle\":\"";
    body->len = 0;
    bytes_printf(body, "{\"QueueUrl\":\"%s\",\"Entries\":[", opt.then_delete);
    int n = 0;
    const char *p = rbody, *end = rbody + rlen;
    while ((p = memmem(p, (size_t)(end - p), key, sizeof key - 1))) {
        p += sizeof key - 1;
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            break;
        bytes_printf(body, "%s{\"Id\":\"m%d\",\"ReceiptHandle\":\"%.*s\"}", n ? "," : "", n,
                     (int)(q - p), p);
        n++;
        p = q + 1;
    }
    bytes_printf(body, "]}");
    if (!n)
        return 0;
    req->len = 0;
    bytes_put(req, delete_head.p, delete_head.len);
    bytes_printf(req, "Content-Length: %zu\r\n\r\n", body->len);
    bytes_put(req, body->p, body->len);
    int keep;
    const char *b;
    size_t bl;
    int status = send_all(c->fd, req->p, req->len) == 0 ? read_response(c, &keep, &b, &bl) : -1;
    if (status / 100 != 2) {
        show_error(status, status > 0 ? b : NULL, status > 0 ? bl : 0, "DeleteMessageBatch failed");
        return -1;
    }
    return n;
}

static void *work(void *arg)
{
    worker *w = arg;
    bytes dbody = {0}, dreq = {0};
    conn c = {.fd = -1};
    bytes body = {0}, req = {0};
    if (!tmpl.dynamic)
        tmpl_expand(&tmpl, &body, &w->rng);
    while (now_ns() < deadline_ns) {
        if (opt.requests > 0 && atomic_fetch_add(&issued, 1) >= opt.requests)
            break;
        if (tmpl.dynamic)
            tmpl_expand(&tmpl, &body, &w->rng);
        req.len = 0;
        bytes_put(&req, fixed_head, fixed_head_len);
        bytes_printf(&req, "Content-Length: %zu\r\n\r\n", body.len);
        bytes_put(&req, body.p ? body.p : "", body.len);

        int64_t t0 = now_ns();
        if (c.fd < 0) {
            if (conn_open(&c) != 0) {
                w->transport_errors++;
                w->errors++;
                show_error(0, NULL, 0, strerror(errno));
                /* The server is gone or refusing: do not spin. */
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
                continue;
            }
            w->reconnects++;
        }
        int keep = 1;
        const char *rbody = NULL;
        size_t rlen = 0;
        int status = -1;
        if (send_all(c.fd, req.p, req.len) == 0)
            status = read_response(&c, &keep, &rbody, &rlen);
        if (status / 100 == 2 && opt.then_delete) {
            int n = delete_received(&c, rbody, rlen, &dreq, &dbody);
            if (n < 0) {
                status = 599;   /* counted as an error below; already shown */
                rbody = NULL;
                rlen = 0;
            } else
                w->items += n;
        }
        int64_t t1 = now_ns();
        if (status < 0) {
            w->transport_errors++;
            w->errors++;
            show_error(0, NULL, 0, errno ? strerror(errno) : "connection closed");
            conn_close(&c);
            continue;
        }
        record(w, t1 - t0);
        w->status_counts[status / 100 <= 5 ? status / 100 : 0]++;
        int good = opt.expect_status ? status == opt.expect_status : status / 100 == 2;
        if (good)
            w->ok++;
        else {
            w->errors++;
            show_error(status, rbody, rlen, NULL);
        }
        if (!keep)
            conn_close(&c);
    }
    conn_close(&c);
    free(c.in.p);
    free(body.p);
    free(req.p);
    free(dbody.p);
    free(dreq.p);
    return NULL;
}

/* --- setup and report ------------------------------------------------------------------ */

static char *read_whole_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot read %s: %s", path, strerror(errno));
    bytes b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        bytes_put(&b, chunk, n);
    fclose(f);
    if (!b.p)
        bytes_put(&b, "", 0);
    return b.p;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t percentile(const uint32_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    /* Nearest rank. */
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Request line and headers, without Content-Length. */
static void build_head(bytes *head, const char *target)
{
    bytes_printf(head, "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: keep-alive\r\n", opt.method,
                 opt.path, opt.host, opt.port);
    if (opt.aws_json) {
        bytes_printf(head, "Content-Type: application/x-amz-json-%s\r\n", opt.aws_json);
        bytes_printf(head,
                     "Authorization: AWS4-HMAC-SHA256 Credential=%s/20240101/%s/%s/aws4_request, "
                     "SignedHeaders=host, Signature=00\r\n",
                     opt.access_key, opt.region, opt.service);
        bytes_printf(head, "X-Amz-Date: 20240101T000000Z\r\n");
    }
    if (target)
        bytes_printf(head, "X-Amz-Target: %s\r\n", target);
    for (int i = 0; i < opt.nheaders; i++)
        bytes_printf(head, "%s\r\n", opt.headers[i]);
}

/* --- held requests (parked long polls) ------------------------------------ */

/* tidepool_parked_calls from /_tidepool/metrics, or -1. */
static long long parked_calls(void)
{
    conn c = {.fd = -1};
    if (conn_open(&c) != 0)
        return -1;
    bytes req = {0};
    bytes_printf(&req, "GET /_tidepool/metrics HTTP/1.1\r\nHost: %s:%d\r\n\r\n", opt.host, opt.port);
    long long n = -1;
    int keep;
    const char *body;
    size_t len;
    if (send_all(c.fd, req.p, req.len) == 0 && read_response(&c, &keep, &body, &len) == 200) {
        const char *m = memmem(body, len, "tidepool_parked_calls{} ", 24);
        n = m ? strtoll(m + 24, NULL, 10) : 0;
    }
    free(req.p);
    free(c.in.p);
    conn_close(&c);
    return n;
}

/* Opens opt.hold connections, each with one request that parks; returns
 * them once tidepool reports them all parked. */
static conn *hold_open(void)
{
    conn *cs = calloc((size_t)opt.hold, sizeof *cs);
    if (!cs)
        die("out of memory");
    const char *body = opt.hold_body ? opt.hold_body : "{}";
    bytes req = {0};
    build_head(&req, opt.hold_target);
    bytes_printf(&req, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    /* the last run's held connections are cleaned up once the server has
     * seen them hang up */
    int64_t until = now_ns() + 30 * 1000000000LL;
    long long before;
    while ((before = parked_calls()) > 0 && now_ns() < until) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < opt.hold; i++) {
        cs[i].fd = -1;
        if (conn_open(&cs[i]) != 0 || send_all(cs[i].fd, req.p, req.len) != 0)
            die("cannot open held connection %d (%s)", i, strerror(errno));
    }
    free(req.p);
    until = now_ns() + 30 * 1000000000LL;
    long long n = 0;
    while (now_ns() < until && (n = parked_calls()) < before + opt.hold) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (n < before + opt.hold)
        die("only %lld of %d held requests parked (is the server's --clock virtual and the body a "
            "long poll?)", n - before, opt.hold);
    return cs;
}

/* Closes the held connections; returns how many had no answer yet. */
static long long hold_close(conn *cs)
{
    long long waiting = 0;
    for (int i = 0; i < opt.hold; i++) {
        char b;
        ssize_t r = recv(cs[i].fd, &b, 1, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            waiting++;
        conn_close(&cs[i]);
    }
    free(cs);
    return waiting;
}

static void usage(FILE *f)
{
    fputs("usage: tp_bench --port N [options]\n"
          "  --host ADDR          target, 127.0.0.0/8 only (default 127.0.0.1)\n"
          "  --port N             target port (required)\n"
          "  -c, --concurrency N  connections, one thread each (default 1)\n"
          "  -d, --duration SEC   run time bound (default 5)\n"
          "  -n, --requests N     stop after N requests (the duration still bounds)\n"
          "  -X, --method M       HTTP method (default POST)\n"
          "  --path P             request path (default /)\n"
          "  -H, --header 'K: V'  extra header (repeatable)\n"
          "  --target T           X-Amz-Target header\n"
          "  --aws-json VER       Content-Type application/x-amz-json-VER + fake SigV4 header\n"
          "  --access-key K       credential scope access key (default AKIDBENCH)\n"
          "  --region R           credential scope region (default us-east-1)\n"
          "  --service S          credential scope service (default dynamodb)\n"
          "  -b, --body TEXT      body template\n"
          "  --body-file FILE     body template from a file\n"
          "  --key-start N        first {{n}} value, and base of {{r}} (default 0)\n"
          "  --key-space N        {{r}} is uniform in [key-start, key-start+N) (default 1)\n"
          "  --seed N             seed for {{r}} (default 1)\n"
          "  --expect-status N    count only this status as success (default: any 2xx)\n"
          "  --label TEXT         name printed with the results\n"
          "  --json               print one JSON line instead of text\n"
          "  --hold N             first park N requests (--hold-target, --hold-body; e.g. SQS\n"
          "                       ReceiveMessage with WaitTimeSeconds) on their own connections,\n"
          "                       wait until tidepool_parked_calls reports them, keep them\n"
          "                       waiting during the run\n"
          "  --hold-target T      X-Amz-Target of the held requests\n"
          "  --hold-body TEXT     body of the held requests\n"
          "  --then-delete URL    after each answer, DeleteMessageBatch on queue URL of the\n"
          "                       ReceiptHandles in it (one measured op: receive + delete)\n"
          "Body placeholders: {{n}} counter, {{r}} random key, {{pad:N}} N bytes of 'x'.\n",
          f);
}

static long long parse_ll(const char *s, const char *what, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        die("%s must be an integer in %lld..%lld, got '%s'", what, lo, hi, s);
    return v;
}

int main(int argc, char **argv)
{
    enum {
        O_HOST = 256, O_PORT, O_PATH, O_TARGET, O_AWSJSON, O_AK, O_REGION, O_SERVICE, O_BODYFILE,
        O_KSTART, O_KSPACE, O_SEED, O_EXPECT, O_LABEL, O_JSON, O_HELP, O_HOLD, O_HOLD_TARGET,
        O_HOLD_BODY, O_THEN_DELETE
    };
    static const struct option longs[] = {
        {"host", required_argument, 0, O_HOST},
        {"port", required_argument, 0, O_PORT},
        {"concurrency", required_argument, 0, 'c'},
        {"duration", required_argument, 0, 'd'},
        {"requests", required_argument, 0, 'n'},
        {"method", required_argument, 0, 'X'},
        {"path", required_argument, 0, O_PATH},
        {"header", required_argument, 0, 'H'},
        {"target", required_argument, 0, O_TARGET},
        {"aws-json", required_argument, 0, O_AWSJSON},
        {"access-key", required_argument, 0, O_AK},
        {"region", required_argument, 0, O_REGION},
        {"service", required_argument, 0, O_SERVICE},
        {"body", required_argument, 0, 'b'},
        {"body-file", required_argument, 0, O_BODYFILE},
        {"key-start", required_argument, 0, O_KSTART},
        {"key-space", required_argument, 0, O_KSPACE},
        {"seed", required_argument, 0, O_SEED},
        {"expect-status", required_argument, 0, O_EXPECT},
        {"label", required_argument, 0, O_LABEL},
        {"json", no_argument, 0, O_JSON},
        {"hold", required_argument, 0, O_HOLD},
        {"hold-target", required_argument, 0, O_HOLD_TARGET},
        {"hold-body", required_argument, 0, O_HOLD_BODY},
        {"then-delete", required_argument, 0, O_THEN_DELETE},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    const char *body_file = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:d:n:X:H:b:h", longs, NULL)) != -1) {
        switch (ch) {
        case O_HOST: opt.host = optarg; break;
        case O_PORT: opt.port = (int)parse_ll(optarg, "--port", 1, 65535); break;
        case 'c': opt.concurrency = (int)parse_ll(optarg, "--concurrency", 1, MAX_THREADS); break;
        case 'd': {
            char *end;
            opt.duration_s = strtod(optarg, &end);
            if (*end || opt.duration_s <= 0 || opt.duration_s > 3600)
                die("--duration must be in (0, 3600] seconds");
            break;
        }
        case 'n': opt.requests = parse_ll(optarg, "--requests", 1, (long long)1e12); break;
        case 'X': opt.method = optarg; break;
        case O_PATH: opt.path = optarg; break;
        case 'H':
            if (opt.nheaders == MAX_HEADERS)
                die("at most %d headers", MAX_HEADERS);
            if (!strchr(optarg, ':'))
                die("a header is 'Name: value', got '%s'", optarg);
            opt.headers[opt.nheaders++] = optarg;
            break;
        case O_TARGET: opt.target = optarg; break;
        case O_AWSJSON: opt.aws_json = optarg; break;
        case O_AK: opt.access_key = optarg; break;
        case O_REGION: opt.region = optarg; break;
        case O_SERVICE: opt.service = optarg; break;
        case 'b': opt.body = optarg; break;
        case O_BODYFILE: body_file = optarg; break;
        case O_KSTART: opt.key_start = parse_ll(optarg, "--key-start", 0, (long long)1e15); break;
        case O_KSPACE: opt.key_space = parse_ll(optarg, "--key-space", 1, (long long)1e15); break;
        case O_SEED: opt.seed = (unsigned long long)parse_ll(optarg, "--seed", 0, (long long)1e18); break;
        case O_EXPECT: opt.expect_status = (int)parse_ll(optarg, "--expect-status", 100, 599); break;
        case O_LABEL: opt.label = optarg; break;
        case O_JSON: opt.json = 1; break;
        case O_HOLD: opt.hold = (int)parse_ll(optarg, "--hold", 0, 100000); break;
        case O_HOLD_TARGET: opt.hold_target = optarg; break;
        case O_HOLD_BODY: opt.hold_body = optarg; break;
        case O_THEN_DELETE: opt.then_delete = optarg; break;
        case 'h':
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || opt.port == 0) {
        usage(stderr);
        return 2;
    }
    if (opt.body && body_file)
        die("give --body or --body-file, not both");

    memset(&target_addr, 0, sizeof target_addr);
    target_addr.sin_family = AF_INET;
    target_addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &target_addr.sin_addr) != 1)
        die("--host must be an IPv4 address, got '%s'", opt.host);
    if ((ntohl(target_addr.sin_addr.s_addr) >> 24) != 127)
        die("--host must be a loopback address (127.0.0.0/8): this tool only measures a local server");

    char *file_body = body_file ? read_whole_file(body_file) : NULL;
    tmpl_parse(&tmpl, file_body ? file_body : opt.body ? opt.body : "");
    atomic_store(&counter, opt.key_start);

    bytes head = {0};
    build_head(&head, opt.target);
    fixed_head = head.p;
    if (opt.then_delete)
        build_head(&delete_head, "AmazonSQS.DeleteMessageBatch");
    fixed_head_len = head.len;

    signal(SIGPIPE, SIG_IGN);
    conn *held = opt.hold ? hold_open() : NULL;
    worker *ws = calloc((size_t)opt.concurrency, sizeof *ws);
    if (!ws)
        die("out of memory");
    int64_t start = now_ns();
    deadline_ns = start + (int64_t)(opt.duration_s * 1e9);
    for (int i = 0; i < opt.concurrency; i++) {
        ws[i].id = i;
        ws[i].rng = (opt.seed + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0xBF58476D1CE4E5B9ULL;
        if (!ws[i].rng)
            ws[i].rng = 1;
        if (pthread_create(&ws[i].thread, NULL, work, &ws[i]) != 0)
            die("cannot start thread %d", i);
    }
    for (int i = 0; i < opt.concurrency; i++)
        pthread_join(ws[i].thread, NULL);
    double elapsed = (double)(now_ns() - start) / 1e9;

    size_t total = 0;
    long long ok = 0, errors = 0, transport = 0, status_counts[6] = {0}, items = 0;
    for (int i = 0; i < opt.concurrency; i++) {
        total += ws[i].nlat;
        items += ws[i].items;
        ok += ws[i].ok;
        errors += ws[i].errors;
        transport += ws[i].transport_errors;
        for (int k = 0; k < 6; k++)
            status_counts[k] += ws[i].status_counts[k];
    }
    uint32_t *all = xrealloc(NULL, total * sizeof *all);
    size_t at = 0;
    for (int i = 0; i < opt.concurrency; i++) {
        if (ws[i].nlat)
            memcpy(all + at, ws[i].lat_us, ws[i].nlat * sizeof *all);
        at += ws[i].nlat;
        free(ws[i].lat_us);
    }
    qsort(all, total, sizeof *all, cmp_u32);
    double mean = 0;
    for (size_t i = 0; i < total; i++)
        mean += all[i];
    mean = total ? mean / (double)total : 0;
    double ops = elapsed > 0 ? (double)ok / elapsed : 0;
    uint32_t p50 = percentile(all, total, 50), p90 = percentile(all, total, 90),
             p99 = percentile(all, total, 99), mx = total ? all[total - 1] : 0;

    /* the held requests must still be waiting: none answered during the run */
    long long held_left = opt.hold ? hold_close(held) : 0;
    if (opt.json) {
        printf("{\"label\":\"%s\",\"concurrency\":%d,\"seconds\":%.3f,\"requests\":%zu,\"ok\":%lld,"
               "\"errors\":%lld,\"transport_errors\":%lld,\"ops_per_s\":%.1f,\"mean_us\":%.1f,"
               "\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u,\"held\":%lld,"
               "\"deleted\":%lld}\n",
               opt.label ? opt.label : "", opt.concurrency, elapsed, total, ok, errors, transport, ops,
               mean, p50, p90, p99, mx, held_left, items);
    } else {
        if (opt.label)
            printf("[%s] ", opt.label);
        printf("%s %s, %d connection%s, %.2f s\n", opt.method, opt.target ? opt.target : opt.path,
               opt.concurrency, opt.concurrency == 1 ? "" : "s", elapsed);
        printf("  requests %zu  ok %lld  errors %lld (transport %lld)  2xx %lld 4xx %lld 5xx %lld\n", total, ok,
               errors, transport, status_counts[2], status_counts[4], status_counts[5]);
        printf("  %.1f ops/s  latency us: mean %.1f  p50 %u  p90 %u  p99 %u  max %u\n", ops, mean, p50, p90,
               p99, mx);
        if (opt.hold)
            printf("  %lld of %d held requests still waiting at the end\n", held_left, opt.hold);
        if (opt.then_delete)
            printf("  %lld messages received and deleted\n", items);
    }
    free(all);
    free(ws);
    free(head.p);
    free(delete_head.p);
    free(file_body);
    free(tmpl.segs);
    return errors ? 1 : 0;
}
