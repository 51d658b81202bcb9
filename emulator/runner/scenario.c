/* runner/scenario — replays a scenario fixture and tells its story
 * (scenario.h; the fixture format is fixtures/README.md).
 *
 * The run has three phases:
 *
 *   setup   the fixture's "setup" steps (API calls, control calls, data
 *           generators) and "data", at the engine's starting time; then
 *           "settle_ms" of virtual time (buckets refill, mappings enable)
 *   run     t = 0: the timed "writes" in (time, fixture order), each with
 *           its producer retries, the clock moved forward between them;
 *           then "run_until" (idle, or a horizon)
 *   probes  the fixture's "probes" (counting calls whose numbers end up in
 *           the summary), then "expect" is checked
 *
 * Everything the engine did is read from its trace: a sink sees every
 * event in order (on whichever thread records it, under the trace's lock,
 * so the sink only parses and counts — it never calls the engine). The
 * sink writes the trace file, hashes each line (two runs compare by hash),
 * keeps the per-record and per-invocation books and prints the timeline,
 * folding runs of routine events (requests, throttles, SDK retries) into
 * one line each. */
#include "core/buf.h"
#include "core/json.h"
#include "core/trace.h"
#include "engine_internal.h"
#include "runner/report.h"
#include "runner/scenario.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* --- small helpers ---------------------------------------------------------- */

static int fail_why(char *why, size_t cap, const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* 14329 -> "14,329" */
static const char *group_int(int64_t v, char *buf, size_t cap)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%" PRId64, v < 0 ? -v : v);
    size_t n = strlen(tmp), o = 0;
    if (v < 0 && o + 1 < cap)
        buf[o++] = '-';
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}
#define FNV_INIT 14695981039346656037ULL

static const cJSON *member(const cJSON *o, const char *name)
{
    return o ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
}

static int64_t int_member(const cJSON *o, const char *name, int64_t dflt)
{
    const cJSON *v = member(o, name);
    if (cJSON_IsNumber(v))
        return (int64_t)v->valuedouble;
    if (cJSON_IsString(v) && v->valuestring[0])
        return strtoll(v->valuestring, NULL, 10);
    return dflt;
}

/* A sequence number as text, whether the trace wrote it as a string or a
 * number. */
static void seq_text(const cJSON *v, char *out, size_t cap)
{
    if (cJSON_IsString(v))
        copy_str(out, cap, v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(out, cap, "%.0f", v->valuedouble);
    else
        copy_str(out, cap, "");
}

/* Decimal strings compared as numbers (no sign, no leading zeros). */
static int seq_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


#define MAX_VARS 32

/* Values saved from setup responses ("save"), used as ${name}. */
typedef struct vars {
    char name[MAX_VARS][64];
    char *value[MAX_VARS];
    int n;
} vars;

/* --- the books kept from the trace ------------------------------------------ */

typedef struct rec {
    char *seq;                  /* NULL: empty slot */
    int64_t write_ms;           /* t_ms of its stream_record event (-1 unknown) */
    int64_t first_inv;          /* invocation it was first delivered to (0: none) */
    int64_t last_inv;
    int64_t invocations;        /* distinct invocations it was delivered to */
} rec;

typedef struct pending_batch {
    char mapping[64];
    char function[65];
    char shard[96];
    char **seqs;
    size_t n;
    int64_t size, attempt;
    int used;
} pending_batch;

typedef struct shard_pos {
    char shard[96];
    char last[64];
    /* write times of the shard's records whose trace event carried no
     * sequence number, in write order */
    int64_t *pending_w;
    size_t pw_head, pw_n, pw_cap;
} shard_pos;

typedef struct flood_op {
    char name[64];               /* "dynamodb.UpdateItem" */
    int64_t calls, errors, throttled;
} flood_op;

#define FLOOD_OPS 16

typedef struct runner {
    const tp_scenario_options *opts;
    tp_scenario_summary *sum;
    FILE *out;
    FILE *trace;
    int phase;                   /* 0 setup, 1 run, 2 probes */
    int64_t t0;                  /* engine clock at the run's start */
    pthread_t self;
    volatile int runner_calling;

    /* records by sequence number: open addressing */
    rec *recs;
    size_t rec_cap, rec_n;
    pending_batch *batches;
    size_t n_batches, cap_batches;
    shard_pos *shards;
    size_t n_shards;
    size_t cap_inv;
    size_t cap_lags;

    /* timeline */
    int lines, limit, suppressed;
    int stream_lines;
    struct {
        int active;
        int64_t from, to;
        flood_op ops[FLOOD_OPS];
        int n_ops;
        int64_t throttles, sdk_retries, faults, checkpoints, stream_records, other;
    } flood;
    vars vars;
    int start_pending;           /* an invoke_start line waits for its batch */
    int64_t start_inv;
    char start_rid[64], start_source[32];

    /* "report": the table's consumed write units, by second and minute */
    int report;
    size_t cap_wcu;
    int64_t minute_key, minute_milli;
    char tmpdir[512];            /* "file" steps write here (removed at the end) */

    tp_report *rep;              /* --report: the HTML report's books (or NULL) */
    struct {
        int64_t last_wall, wall0;    /* monotonic ms of the last line, of the run's start */
        int64_t horizon_ms;          /* run_until's bound (virtual ms since t = 0) */
        int until_idle;              /* it may end sooner: the ETA is a bound */
        int shown;
    } prog;
} runner;

static void tl_raw(runner *r, const char *fmt, ...)
{
    if (!r->out)
        return;
    if (r->lines >= r->limit) {
        r->suppressed++;
        return;
    }
    r->lines++;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->out, fmt, ap);
    va_end(ap);
}

static void fmt_t(char *buf, size_t cap, int64_t rel_ms)
{
    snprintf(buf, cap, "%s%" PRId64 ".%03" PRId64, rel_ms < 0 ? "-" : "",
             (rel_ms < 0 ? -rel_ms : rel_ms) / 1000, (rel_ms < 0 ? -rel_ms : rel_ms) % 1000);
}

static void flood_flush(runner *r)
{
    if (!r->flood.active)
        return;
    char a[32], b[32], n[32], buf[1024];
    size_t o = 0;
    buf[0] = '\0';
#define ADD(...) o += (size_t)snprintf(buf + o, o < sizeof buf ? sizeof buf - o : 0, __VA_ARGS__)
    for (int i = 0; i < r->flood.n_ops; i++) {
        const flood_op *f = &r->flood.ops[i];
        ADD("%s%s %s call%s", o ? ", " : "", group_int(f->calls, n, sizeof n), f->name,
            f->calls == 1 ? "" : "s");
        if (f->throttled)
            ADD(" (%s throttled)", group_int(f->throttled, n, sizeof n));
        else if (f->errors)
            ADD(" (%s failed)", group_int(f->errors, n, sizeof n));
    }
    if (r->flood.stream_records)
        ADD("%s%s stream records", o ? ", " : "", group_int(r->flood.stream_records, n, sizeof n));
    if (r->flood.throttles)
        ADD("%s%s throttle%s", o ? ", " : "", group_int(r->flood.throttles, n, sizeof n),
            r->flood.throttles == 1 ? "" : "s");
    if (r->flood.sdk_retries)
        ADD("%s%s sdk retr%s", o ? ", " : "", group_int(r->flood.sdk_retries, n, sizeof n),
            r->flood.sdk_retries == 1 ? "y" : "ies");
    if (r->flood.faults)
        ADD("%s%s fault%s", o ? ", " : "", group_int(r->flood.faults, n, sizeof n),
            r->flood.faults == 1 ? "" : "s");
    if (r->flood.checkpoints)
        ADD("%s%s checkpoint%s", o ? ", " : "", group_int(r->flood.checkpoints, n, sizeof n),
            r->flood.checkpoints == 1 ? "" : "s");
    if (r->flood.other)
        ADD("%s%s other event%s", o ? ", " : "", group_int(r->flood.other, n, sizeof n),
            r->flood.other == 1 ? "" : "s");
#undef ADD
    fmt_t(a, sizeof a, r->flood.from);
    fmt_t(b, sizeof b, r->flood.to);
    if (r->flood.from == r->flood.to)
        tl_raw(r, "%10s s  ... %s\n", a, buf);
    else
        tl_raw(r, "%10s s  ... %s (until %s s)\n", a, buf, b);
    memset(&r->flood, 0, sizeof r->flood);
}

static void flood_touch(runner *r, int64_t rel)
{
    if (!r->flood.active) {
        r->flood.active = 1;
        r->flood.from = rel;
    }
    r->flood.to = rel;
}

static void flood_call(runner *r, int64_t rel, const char *name, int error, int throttled)
{
    flood_touch(r, rel);
    int i;
    for (i = 0; i < r->flood.n_ops; i++)
        if (strcmp(r->flood.ops[i].name, name) == 0)
            break;
    if (i == r->flood.n_ops) {
        if (i == FLOOD_OPS) {
            r->flood.other++;
            return;
        }
        r->flood.n_ops++;
        copy_str(r->flood.ops[i].name, sizeof r->flood.ops[i].name, name);
    }
    r->flood.ops[i].calls++;
    r->flood.ops[i].errors += error;
    r->flood.ops[i].throttled += throttled;
}

/* One notable line: the flood so far first, so the timeline keeps order. */
static void tl_line(runner *r, int64_t rel, const char *fmt, ...)
{
    if (!r->out)
        return;
    flood_flush(r);
    char t[32], body[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    fmt_t(t, sizeof t, rel);
    tl_raw(r, "%10s s  %s\n", t, body);
}

/* records */
static size_t rec_slot(runner *r, const char *seq)
{
    uint64_t h = fnv1a(FNV_INIT, seq, strlen(seq));
    size_t i = (size_t)h & (r->rec_cap - 1);
    while (r->recs[i].seq && strcmp(r->recs[i].seq, seq) != 0)
        i = (i + 1) & (r->rec_cap - 1);
    return i;
}

static rec *rec_get(runner *r, const char *seq, int create)
{
    if (!seq[0])
        return NULL;
    if (r->rec_cap == 0 || (create && (r->rec_n + 1) * 2 > r->rec_cap)) {
        size_t ncap = r->rec_cap ? r->rec_cap * 2 : 1024;
        rec *old = r->recs;
        size_t ocap = r->rec_cap;
        r->recs = calloc(ncap, sizeof *r->recs);
        if (!r->recs) {
            r->recs = old;
            return NULL;
        }
        r->rec_cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].seq)
                r->recs[rec_slot(r, old[i].seq)] = old[i];
        free(old);
    }
    size_t i = rec_slot(r, seq);
    if (!r->recs[i].seq) {
        if (!create)
            return NULL;
        r->recs[i].seq = strdup(seq);
        r->recs[i].write_ms = -1;
        r->rec_n++;
    }
    return &r->recs[i];
}

static tp_scenario_invocation *inv_find(runner *r, int64_t id)
{
    tp_scenario_summary *s = r->sum;
    for (size_t i = s->n_inv; i-- > 0;)
        if (s->inv[i].invocation == id)
            return &s->inv[i];
    return NULL;
}

static tp_scenario_invocation *inv_new(runner *r)
{
    tp_scenario_summary *s = r->sum;
    if (s->n_inv == r->cap_inv) {
        size_t ncap = r->cap_inv ? r->cap_inv * 2 : 64;
        tp_scenario_invocation *n = realloc(s->inv, ncap * sizeof *n);
        if (!n)
            return NULL;
        s->inv = n;
        r->cap_inv = ncap;
    }
    tp_scenario_invocation *v = &s->inv[s->n_inv++];
    memset(v, 0, sizeof *v);
    v->iterator_age_ms = -1;
    return v;
}

static void lag_add(runner *r, int64_t lag)
{
    tp_scenario_summary *s = r->sum;
    if ((size_t)s->lag_count == r->cap_lags) {
        size_t ncap = r->cap_lags ? r->cap_lags * 2 : 256;
        int64_t *n = realloc(s->lags, ncap * sizeof *n);
        if (!n)
            return;
        s->lags = n;
        r->cap_lags = ncap;
    }
    s->lags[s->lag_count++] = lag;
}

static void batch_free(pending_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->seqs[i]);
    free(b->seqs);
    b->seqs = NULL;
    b->n = 0;
}

static shard_pos *shard_get(runner *r, const char *shard)
{
    for (size_t i = 0; i < r->n_shards; i++)
        if (strcmp(r->shards[i].shard, shard) == 0)
            return &r->shards[i];
    shard_pos *n = realloc(r->shards, (r->n_shards + 1) * sizeof *n);
    if (!n)
        return NULL;
    r->shards = n;
    shard_pos *p = &r->shards[r->n_shards++];
    memset(p, 0, sizeof *p);
    copy_str(p->shard, sizeof p->shard, shard);
    return p;
}

/* The stream sequence number of a stream_record event: its own "seq"
 * member would collide with the event's, so the record's may come as a
 * second "seq" member or under another name. */
static void record_seq(const cJSON *ev, char *out, size_t cap)
{
    const cJSON *v;
    const char *names[] = {"sequence_number", "SequenceNumber", "stream_seq", "record_seq"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if ((v = member(ev, names[i]))) {
            seq_text(v, out, cap);
            return;
        }
    int seen = 0;
    for (v = ev ? ev->child : NULL; v; v = v->next)
        if (v->string && strcmp(v->string, "seq") == 0 && seen++ == 1) {
            seq_text(v, out, cap);
            return;
        }
    copy_str(out, cap, "");
}

/* --- the sink: one trace event --------------------------------------------- */

static int is_throttle_code(const char *code)
{
    return code && (strcmp(code, "ProvisionedThroughputExceededException") == 0 ||
                     strcmp(code, "ThrottlingException") == 0 ||
                     strcmp(code, "RequestLimitExceeded") == 0 ||
                     strcmp(code, "TooManyRequestsException") == 0);
}

static void on_request(runner *r, const cJSON *ev, int64_t rel)
{
    tp_scenario_summary *s = r->sum;
    const char *err = tp_json_str(ev, "error");
    int64_t invid = int_member(ev, "invocation", 0);
    if (!invid && r->runner_calling && pthread_equal(pthread_self(), r->self))
        return;   /* the runner's own write: its line says how it went */
    s->requests++;
    if (err)
        s->request_errors++;
    int thr = is_throttle_code(err);
    if (invid) {
        s->handler_requests++;
        tp_scenario_invocation *v = inv_find(r, invid);
        if (v) {
            v->calls++;
            v->throttled_calls += thr;
        }
    }
    char name[64];
    snprintf(name, sizeof name, "%s.%s", tp_json_str(ev, "service") ? tp_json_str(ev, "service") : "?",
             tp_json_str(ev, "operation") ? tp_json_str(ev, "operation") : "?");
    flood_call(r, rel, name, err != NULL, thr);
}

static void on_stream_record(runner *r, const cJSON *ev, int64_t t, int64_t rel)
{
    tp_scenario_summary *s = r->sum;
    char seq[64];
    record_seq(ev, seq, sizeof seq);
    s->stream_records++;
    rec *k = rec_get(r, seq, 1);
    if (k && k->write_ms < 0)
        k->write_ms = t;
    if (!seq[0]) {
        shard_pos *sp = shard_get(r, tp_json_str(ev, "shard") ? tp_json_str(ev, "shard") : "");
        if (sp && sp->pw_n == sp->pw_cap) {
            size_t ncap = sp->pw_cap ? sp->pw_cap * 2 : 64;
            int64_t *nw = realloc(sp->pending_w, ncap * sizeof *nw);
            if (nw) {
                sp->pending_w = nw;
                sp->pw_cap = ncap;
            }
        }
        if (sp && sp->pw_n < sp->pw_cap)
            sp->pending_w[sp->pw_n++] = t;
    }
    if (r->stream_lines < 12) {
        r->stream_lines++;
        char *keys = member(ev, "keys") ? tp_json_print(member(ev, "keys")) : NULL;
        tl_line(r, rel, "stream record %s %s%s%s%s%s",
                tp_json_str(ev, "event") ? tp_json_str(ev, "event") : "",
                tp_json_str(ev, "shard") ? tp_json_str(ev, "shard") : "", seq[0] ? " seq " : "", seq,
                keys ? " keys " : "",
                keys ? keys : "");
        free(keys);
    } else {
        flood_touch(r, rel);
        r->flood.stream_records++;
    }
}

/* Gives batch b's records to invocation v (started at t, epoch ms). */
static void deliver(runner *r, tp_scenario_invocation *v, pending_batch *b, int64_t t)
{
    tp_scenario_summary *s = r->sum;
    b->used = 1;
    if (!b->n)
        return;
    v->batch_size = (int64_t)b->n;
    v->attempt = b->attempt;
    copy_str(v->first_seq, sizeof v->first_seq, b->seqs[0]);
    copy_str(v->last_seq, sizeof v->last_seq, b->seqs[b->n - 1]);
    copy_str(v->shard, sizeof v->shard, b->shard);
    uint64_t h = FNV_INIT;
    shard_pos *sp = shard_get(r, b->shard);
    for (size_t i = 0; i < b->n; i++) {
        h = fnv1a(h, b->seqs[i], strlen(b->seqs[i]) + 1);
        rec *k = rec_get(r, b->seqs[i], 1);
        if (!k)
            continue;
        s->deliveries++;
        if (k->last_inv != v->invocation) {
            k->invocations++;
            if (k->invocations == 2)
                s->duplicate_records++;
        }
        if (!k->first_inv) {
            k->first_inv = v->invocation;
            s->records_delivered++;
            /* a stream_record without its sequence number: the shard's
             * records reach their first delivery in write order */
            if (k->write_ms < 0 && sp && sp->pw_head < sp->pw_n)
                k->write_ms = sp->pending_w[sp->pw_head++];
            if (k->write_ms >= 0)
                lag_add(r, t - k->write_ms);
            if (sp) {
                if (sp->last[0] && seq_cmp(b->seqs[i], sp->last) < 0)
                    s->out_of_order++;
                copy_str(sp->last, sizeof sp->last, b->seqs[i]);
            }
        }
        k->last_inv = v->invocation;
    }
    v->batch_hash = h;
    rec *lastrec = rec_get(r, b->seqs[b->n - 1], 0);
    if (lastrec && lastrec->write_ms >= 0) {
        v->iterator_age_ms = t - lastrec->write_ms;
        if (v->iterator_age_ms > s->iterator_age_max_ms)
            s->iterator_age_max_ms = v->iterator_age_ms;
    }
}

static void print_start(runner *r)
{
    if (!r->start_pending)
        return;
    r->start_pending = 0;
    tp_scenario_invocation *v = inv_find(r, r->start_inv);
    if (!v)
        return;
    char age[64] = "";
    if (v->iterator_age_ms >= 0) {
        char a[32];
        fmt_t(a, sizeof a, v->iterator_age_ms);
        snprintf(age, sizeof age, ", iterator age %s s", a);
    }
    if (v->batch_size)
        tl_line(r, v->start_ms,
                "invoke #%" PRId64 " %s start (request %.8s): %" PRId64
                " record%s, seq %s..%s, attempt %" PRId64 "%s",
                v->invocation, v->function, r->start_rid, v->batch_size,
                v->batch_size == 1 ? "" : "s", v->first_seq, v->last_seq, v->attempt, age);
    else
        tl_line(r, v->start_ms, "invoke #%" PRId64 " %s start (request %.8s, source %s)",
                v->invocation, v->function, r->start_rid, r->start_source);
}

static void on_batch(runner *r, const cJSON *ev, int64_t t, int64_t rel)
{
    tp_scenario_summary *s = r->sum;
    s->batches++;
    const char *mapping = tp_json_str(ev, "mapping") ? tp_json_str(ev, "mapping") : "";
    const char *shard = tp_json_str(ev, "shard") ? tp_json_str(ev, "shard") : "";
    pending_batch *b = NULL;
    for (size_t i = 0; i < r->n_batches; i++)
        if (strcmp(r->batches[i].mapping, mapping) == 0 && strcmp(r->batches[i].shard, shard) == 0) {
            b = &r->batches[i];
            break;
        }
    if (!b) {
        if (r->n_batches == r->cap_batches) {
            size_t ncap = r->cap_batches ? r->cap_batches * 2 : 8;
            pending_batch *n = realloc(r->batches, ncap * sizeof *n);
            if (!n)
                return;
            r->batches = n;
            r->cap_batches = ncap;
        }
        b = &r->batches[r->n_batches++];
        memset(b, 0, sizeof *b);
        copy_str(b->mapping, sizeof b->mapping, mapping);
        copy_str(b->shard, sizeof b->shard, shard);
    }
    batch_free(b);
    copy_str(b->function, sizeof b->function, tp_json_str(ev, "function"));
    b->size = int_member(ev, "size", 0);
    b->attempt = int_member(ev, "attempt", 0);
    b->used = 0;
    const cJSON *seqs = member(ev, "seqs");
    int n = cJSON_IsArray(seqs) ? cJSON_GetArraySize(seqs) : 0;
    if (n > 0) {
        b->seqs = calloc((size_t)n, sizeof *b->seqs);
        if (b->seqs) {
            const cJSON *x;
            cJSON_ArrayForEach(x, seqs)
            {
                char tx[64];
                seq_text(x, tx, sizeof tx);
                b->seqs[b->n++] = strdup(tx);
            }
        }
    }
    if (!b->size)
        b->size = (int64_t)b->n;
    /* The invoker may have recorded the start first (same instant): the
     * latest invocation of this mapping still without a batch takes it. */
    for (size_t i = s->n_inv; i-- > 0;) {
        tp_scenario_invocation *v = &s->inv[i];
        if (v->start_ms != rel)
            break;
        if (!v->batch_size && !v->outcome[0] && strcmp(v->source_id, mapping) == 0) {
            deliver(r, v, b, t);
            print_start(r);
            return;
        }
    }
    print_start(r);
    char lane[64] = "";
    const cJSON *ln = member(ev, "lane");
    if (cJSON_IsNumber(ln) || cJSON_IsString(ln))
        seq_text(ln, lane, sizeof lane);
    tl_line(r, rel, "batch %s -> %s: %" PRId64 " record%s, seq %s..%s%s%s, attempt %" PRId64,
            b->shard, b->function, b->size, b->size == 1 ? "" : "s",
            b->n ? b->seqs[0] : "", b->n ? b->seqs[b->n - 1] : "", lane[0] ? ", lane " : "", lane,
            b->attempt);
}

static void on_invoke_start(runner *r, const cJSON *ev, int64_t t, int64_t rel)
{
    tp_scenario_summary *s = r->sum;
    s->invocations++;
    tp_scenario_invocation *v = inv_new(r);
    if (!v)
        return;
    v->invocation = int_member(ev, "invocation", (int64_t)s->n_inv);
    copy_str(v->function, sizeof v->function, tp_json_str(ev, "function"));
    copy_str(v->source_id, sizeof v->source_id, tp_json_str(ev, "source_id"));
    v->start_ms = rel;
    v->end_ms = -1;
    /* a batch recorded just before, for this mapping */
    for (size_t i = 0; i < r->n_batches; i++) {
        pending_batch *c = &r->batches[i];
        if (!c->used && c->n && v->source_id[0] && strcmp(c->mapping, v->source_id) == 0) {
            deliver(r, v, c, t);
            break;
        }
    }
    r->start_pending = 1;
    r->start_inv = v->invocation;
    copy_str(r->start_rid, sizeof r->start_rid, tp_json_str(ev, "request_id"));
    copy_str(r->start_source, sizeof r->start_source, tp_json_str(ev, "source"));
}

static void on_invoke_end(runner *r, const cJSON *ev, int64_t rel)
{
    tp_scenario_summary *s = r->sum;
    const char *outcome = tp_json_str(ev, "outcome") ? tp_json_str(ev, "outcome") : "?";
    if (strcmp(outcome, "success") == 0)
        s->inv_success++;
    else if (strcmp(outcome, "timeout") == 0)
        s->inv_timeout++;
    else
        s->inv_error++;
    int64_t id = int_member(ev, "invocation", 0);
    tp_scenario_invocation *v = inv_find(r, id);
    int64_t dur = int_member(ev, "duration_ms", -1);
    const char *et = tp_json_str(ev, "error_type"), *em = tp_json_str(ev, "error_message");
    if (v) {
        copy_str(v->outcome, sizeof v->outcome, outcome);
        copy_str(v->error_type, sizeof v->error_type, et);
        v->end_ms = rel;
        v->duration_ms = dur >= 0 ? dur : rel - v->start_ms;
    }
    char d[32];
    fmt_t(d, sizeof d, dur >= 0 ? dur : (v ? rel - v->start_ms : 0));
    char calls[128] = "";
    if (v && v->calls) {
        char a[32], b[32], c[32];
        snprintf(calls, sizeof calls, "; %s calls, %s throttled, %s sdk retries",
                 group_int(v->calls, a, sizeof a), group_int(v->throttled_calls, b, sizeof b),
                 group_int(v->sdk_retries, c, sizeof c));
    }
    tl_line(r, rel, "invoke #%" PRId64 " %s end: %s after %s s%s%s%s%s%s", id,
            tp_json_str(ev, "function") ? tp_json_str(ev, "function") : "", outcome, d,
            et ? " — " : "", et ? et : "", em ? ": " : "", em ? em : "", calls);
}

static void print_fields(runner *r, const char *what, const cJSON *ev, int64_t rel)
{
    char buf[768];
    size_t o = 0;
    buf[0] = '\0';
    const cJSON *c;
    for (c = ev->child; c; c = c->next) {
        if (!c->string || strcmp(c->string, "seq") == 0 || strcmp(c->string, "t_ms") == 0 ||
            strcmp(c->string, "failure_record") == 0 ||
            strcmp(c->string, "type") == 0 || strcmp(c->string, "wall_ms") == 0)
            continue;
        char *v = cJSON_IsString(c) ? NULL : tp_json_print(c);
        const char *text = cJSON_IsString(c) ? c->valuestring : v;
        if (o < sizeof buf)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s=%.160s", o ? " " : "", c->string,
                                  text ? text : "");
        free(v);
    }
    tl_line(r, rel, "%s %s", what, buf);
}

/* --- the report: stages and consumed capacity --------------------------------- */

/* Glob with * and ?. */
static int glob_match(const char *p, const char *s)
{
    if (!*p)
        return !*s;
    if (*p == '*')
        return glob_match(p + 1, s) || (*s && glob_match(p, s + 1));
    return *s && (*p == '?' || *p == *s) && glob_match(p + 1, s + 1);
}

static void stage_event(runner *r, const cJSON *ev, int64_t rel, int end)
{
    tp_scenario_summary *s = r->sum;
    const char *fn = tp_json_str(ev, "function");
    if (!fn)
        return;
    for (size_t i = 0; i < s->n_stages; i++) {
        tp_scenario_stage *g = &s->stages[i];
        if (!glob_match(g->functions, fn))
            continue;
        if (!end) {
            g->invocations++;
            if (g->start_ms < 0)
                g->start_ms = rel;
            continue;
        }
        const char *outcome = tp_json_str(ev, "outcome");
        if (outcome && strcmp(outcome, "timeout") == 0)
            g->timeouts++;
        else if (outcome && strcmp(outcome, "success") != 0)
            g->errors++;
        if (rel > g->end_ms)
            g->end_ms = rel;
    }
}

static void minute_close(runner *r)
{
    tp_scenario_summary *s = r->sum;
    int64_t avg = r->minute_milli / 60;
    if (avg > s->wcu_cloudwatch_peak_milli)
        s->wcu_cloudwatch_peak_milli = avg;
    r->minute_milli = 0;
}

static void on_consume(runner *r, const cJSON *ev, int64_t t, int64_t rel)
{
    tp_scenario_summary *s = r->sum;
    const char *svc = tp_json_str(ev, "service"), *kind = tp_json_str(ev, "kind"),
               *table = tp_json_str(ev, "table");
    if (!svc || strcmp(svc, "dynamodb") != 0 || !kind || strcmp(kind, "write") != 0 || !table ||
        strcmp(table, s->report_table) != 0 || member(ev, "index") || rel < 0)
        return;
    const cJSON *u = member(ev, "units");
    int64_t milli = cJSON_IsNumber(u) ? (int64_t)(u->valuedouble * 1000.0 + 0.5) : 0;
    size_t sec = (size_t)(rel / 1000);
    if (sec >= r->cap_wcu) {
        size_t cap = r->cap_wcu ? r->cap_wcu : 1024;
        while (cap <= sec)
            cap *= 2;
        int64_t *grown = realloc(s->wcu_per_second, cap * sizeof *grown);
        if (!grown)
            return;
        memset(grown + r->cap_wcu, 0, (cap - r->cap_wcu) * sizeof *grown);
        s->wcu_per_second = grown;
        r->cap_wcu = cap;
    }
    if (sec >= s->n_wcu_seconds)
        s->n_wcu_seconds = sec + 1;
    s->wcu_per_second[sec] += milli;
    if (s->wcu_per_second[sec] > s->wcu_peak_milli)
        s->wcu_peak_milli = s->wcu_per_second[sec];
    s->wcu_consumed_milli += milli;
    int64_t key = t / 60000;   /* CloudWatch's minutes are the clock's */
    if (key != r->minute_key)
        minute_close(r);
    r->minute_key = key;
    r->minute_milli += milli;
}

static void on_event(runner *r, const cJSON *ev)
{
    tp_scenario_summary *s = r->sum;
    const char *type = tp_json_str(ev, "type");
    if (!type)
        return;
    int64_t t = int_member(ev, "t_ms", 0);
    int64_t rel = t - r->t0;
    if (strcmp(type, "batch") != 0)
        print_start(r);
    if (strcmp(type, "request") == 0) {
        on_request(r, ev, rel);
    } else if (strcmp(type, "throttle") == 0) {
        if (!s->throttles++) {
            s->first_throttle_ms = rel;
            s->wcu_before_throttle_milli = s->wcu_consumed_milli;
        }
        flood_touch(r, rel);
        r->flood.throttles++;
    } else if (strcmp(type, "sdk_retry") == 0) {
        s->sdk_retries++;
        tp_scenario_invocation *v = inv_find(r, int_member(ev, "invocation", 0));
        if (v)
            v->sdk_retries++;
        flood_touch(r, rel);
        r->flood.sdk_retries++;
    } else if (strcmp(type, "fault") == 0) {
        s->faults++;
        const char *effect = tp_json_str(ev, "effect");
        if (s->faults <= 20 || (effect && strcmp(effect, "latency") != 0 && s->faults <= 200))
            print_fields(r, "fault", ev, rel);
        else {
            flood_touch(r, rel);
            r->flood.faults++;
        }
    } else if (strcmp(type, "stream_record") == 0) {
        on_stream_record(r, ev, t, rel);
    } else if (strcmp(type, "batch") == 0) {
        on_batch(r, ev, t, rel);
    } else if (strcmp(type, "invoke_start") == 0) {
        on_invoke_start(r, ev, t, rel);
        stage_event(r, ev, rel, 0);
    } else if (strcmp(type, "invoke_end") == 0) {
        on_invoke_end(r, ev, rel);
        stage_event(r, ev, rel, 1);
    } else if (strcmp(type, "consume") == 0) {
        on_consume(r, ev, t, rel);
        flood_touch(r, rel);
    } else if (strcmp(type, "invoke_throttled") == 0) {
        s->inv_throttled++;
        print_fields(r, "invoke throttled", ev, rel);
    } else if (strcmp(type, "retry") == 0) {
        s->batch_retries++;
        print_fields(r, "retry", ev, rel);
    } else if (strcmp(type, "bisect") == 0) {
        s->bisects++;
        print_fields(r, "bisect", ev, rel);
    } else if (strcmp(type, "discard") == 0) {
        s->discards++;
        print_fields(r, "discard", ev, rel);
    } else if (strcmp(type, "checkpoint") == 0) {
        s->checkpoints++;
        flood_touch(r, rel);
        r->flood.checkpoints++;
    } else if (strcmp(type, "esm_state") == 0) {
        print_fields(r, "mapping", ev, rel);
    } else {
        flood_touch(r, rel);
        r->flood.other++;
    }
}

/* A progress line on a terminal, at most five a second, rewritten in place:
 * virtual time reached, events processed, virtual seconds per wall second
 * and the wall time left at that rate to run_until's horizon (a bound when
 * the run stops once idle). */
static void progress(runner *r, int64_t rel, int last)
{
    FILE *f = r->opts->progress;
    int64_t now = wall_ms();
    if (!last && now - r->prog.last_wall < 200)
        return;
    if (last && !r->prog.shown)
        return;
    r->prog.last_wall = now;
    r->prog.shown = 1;
    double wall_s = (double)(now - r->prog.wall0) / 1000.0;
    double rate = wall_s > 0 ? (double)rel / 1000.0 / wall_s : 0;
    char eta[48] = "";
    if (r->prog.horizon_ms > rel && rate > 0)
        snprintf(eta, sizeof eta, ", ETA %s%.0f s", r->prog.until_idle ? "<= " : "",
                 (double)(r->prog.horizon_ms - rel) / 1000.0 / rate);
    fprintf(f, "\r  t=%.1f s virtual, %" PRIu64 " events, %.1fx%s\033[K%s", (double)rel / 1000.0,
            r->sum->trace_events, rate, eta, last ? "\n" : "");
    fflush(f);
}

static void sink(void *arg, const char *line, const cJSON *ev)
{
    runner *r = arg;
    tp_scenario_summary *s = r->sum;
    size_t n = strlen(line);
    s->trace_events++;
    s->trace_hash = fnv1a(s->trace_hash, line, n);
    s->trace_hash = fnv1a(s->trace_hash, "\n", 1);
    if (r->trace) {
        fwrite(line, 1, n, r->trace);
        fputc('\n', r->trace);
    }
    if (r->phase != 1 || !ev)
        return;
    on_event(r, ev);
    if (r->rep)
        tp_report_event(r->rep, ev, int_member(ev, "t_ms", 0) - r->t0);
    if (r->opts->progress)
        progress(r, int_member(ev, "t_ms", 0) - r->t0, 0);
}

/* --- templates: ${i}, ${i%M}, ${i+K}, ${now_ms}, ${t_ms} --------------------- */

typedef struct subst {
    int64_t i;
    int64_t now_ms;     /* engine clock, epoch ms */
    int64_t t_ms;       /* since the run's start */
    const vars *v;
} subst;

static const char *var_get(const vars *v, const char *name)
{
    for (int k = 0; v && k < v->n; k++)
        if (strcmp(v->name[k], name) == 0)
            return v->value[k];
    return NULL;
}

static char *expand(const char *tpl, const subst *v)
{
    size_t cap = strlen(tpl) + 64, o = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = tpl; *p;) {
        char piece[48];
        const char *add = NULL;
        size_t add_n = 0;
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p, '}');
            if (end) {
                char name[40];
                size_t nl = (size_t)(end - p - 2);
                if (nl < sizeof name) {
                    memcpy(name, p + 2, nl);
                    name[nl] = '\0';
                    int ok = 1;
                    if (strcmp(name, "i") == 0)
                        snprintf(piece, sizeof piece, "%" PRId64, v->i);
                    else if (name[0] == 'i' && name[1] == '%')
                        snprintf(piece, sizeof piece, "%" PRId64,
                                 v->i % (strtoll(name + 2, NULL, 10) > 0
                                             ? (int64_t)strtoll(name + 2, NULL, 10)
                                             : 1));
                    else if (name[0] == 'i' && name[1] == '+')
                        snprintf(piece, sizeof piece, "%" PRId64,
                                 v->i + (int64_t)strtoll(name + 2, NULL, 10));
                    else if (strcmp(name, "now_ms") == 0)
                        snprintf(piece, sizeof piece, "%" PRId64, v->now_ms);
                    else if (strcmp(name, "t_ms") == 0)
                        snprintf(piece, sizeof piece, "%" PRId64, v->t_ms);
                    else
                        ok = 0;
                    const char *val = ok ? NULL : var_get(v->v, name);
                    if (!ok && strncmp(name, "pad:", 4) == 0) {
                        /* ${pad:N}: N bytes of 'x' (item size) */
                        long long n = strtoll(name + 4, NULL, 10);
                        if (n > 0 && n <= 400 * 1024) {
                            size_t need = o + (size_t)n + strlen(end + 1) + 1;
                            if (need > cap) {
                                cap = need * 2;
                                char *nb = realloc(out, cap);
                                if (!nb) {
                                    free(out);
                                    return NULL;
                                }
                                out = nb;
                            }
                            memset(out + o, 'x', (size_t)n);
                            o += (size_t)n;
                            p = end + 1;
                            continue;
                        }
                    }
                    if (ok) {
                        add = piece;
                        add_n = strlen(piece);
                        p = end + 1;
                    } else if (val) {
                        add = val;
                        add_n = strlen(val);
                        p = end + 1;
                    }
                }
            }
        }
        if (!add) {   /* plain text up to the next '$' (after this one) */
            const char *next = strchr(p + 1, '$');
            add = p;
            add_n = next ? (size_t)(next - p) : strlen(p);
            p += add_n;
        }
        if (o + add_n + 1 > cap) {
            cap = (o + add_n + 1) * 2;
            char *n = realloc(out, cap);
            if (!n) {
                free(out);
                return NULL;
            }
            out = n;
        }
        memcpy(out + o, add, add_n);
        o += add_n;
    }
    out[o] = '\0';
    return out;
}

/* --- calls ------------------------------------------------------------------- */

static int retryable(const tp_error *err)
{
    return err->status >= 500 || err->status == 0 || is_throttle_code(err->code) ||
           strcmp(err->code, "ResponseLost") == 0 || strcmp(err->code, "ConnectionDropped") == 0 ||
           strcmp(err->code, "TransactionConflictException") == 0;
}

/* "POST /_tidepool/faults" -> method, path */
static int control_call(tp_engine *e, const char *spec, const cJSON *body, char *why, size_t cap)
{
    char method[16];
    const char *sp = strchr(spec, ' ');
    if (!sp || (size_t)(sp - spec) >= sizeof method)
        return fail_why(why, cap, "control \"%s\": give \"METHOD /_tidepool/...\"", spec);
    memcpy(method, spec, (size_t)(sp - spec));
    method[sp - spec] = '\0';
    char *text = body ? tp_json_print(body) : NULL;
    char *out = NULL;
    int st = tp_engine_control(e, method, sp + 1, text, &out);
    free(text);
    int rc = 0;
    if (st < 200 || st >= 300)
        rc = fail_why(why, cap, "control %s: HTTP %d %s", spec, st, out ? out : "");
    free(out);
    return rc;
}

static int api_call(runner *r, tp_engine *e, const char *target, const char *body, char **resp,
                    tp_error *err)
{
    memset(err, 0, sizeof *err);
    r->runner_calling = 1;
    int rc = tp_engine_call(e, NULL, NULL, target, body, resp, err);
    r->runner_calling = 0;
    return rc;
}

/* Data generator: count items from a template, BatchWriteItem 25 at a
 * time; unprocessed items are sent again after a second of virtual time
 * (setup happens before the run's t = 0, so this only delays t = 0). */
static int run_data(runner *r, tp_engine *e, const cJSON *d, char *why, size_t cap)
{
    const char *table = tp_json_str(d, "table");
    const cJSON *item = member(d, "item");
    int64_t count = int_member(d, "count", 0), first = int_member(d, "start", 0);
    if (!table || !cJSON_IsObject(item) || count < 0)
        return fail_why(why, cap, "data: give \"table\", \"count\" and \"item\"");
    char *tpl = tp_json_print(item);
    if (!tpl)
        return fail_why(why, cap, "out of memory");
    int rc = 0;
    int64_t done = 0, calls = 0;
    while (done < count && rc == 0) {
        int64_t n = count - done < 25 ? count - done : 25;
        size_t bcap = 256, o = 0;
        char *body = malloc(bcap);
        if (!body) {
            rc = fail_why(why, cap, "out of memory");
            break;
        }
        o += (size_t)snprintf(body, bcap, "{\"RequestItems\":{\"%s\":[", table);
        for (int64_t k = 0; k < n; k++) {
            subst v = {.i = first + done + k, .now_ms = tp_engine_now_ms(e), .t_ms = 0,
                       .v = &r->vars};
            char *it = expand(tpl, &v);
            if (!it) {
                rc = fail_why(why, cap, "out of memory");
                break;
            }
            size_t need = o + strlen(it) + 64;
            if (need > bcap) {
                bcap = need * 2;
                char *nb = realloc(body, bcap);
                if (!nb) {
                    free(it);
                    rc = fail_why(why, cap, "out of memory");
                    break;
                }
                body = nb;
            }
            o += (size_t)snprintf(body + o, bcap - o, "%s{\"PutRequest\":{\"Item\":%s}}",
                                  k ? "," : "", it);
            free(it);
        }
        if (rc == 0) {
            snprintf(body + o, bcap - o, "]}}");
            for (int tries = 0;; tries++) {
                char *resp = NULL;
                tp_error err;
                calls++;
                if (api_call(r, e, "DynamoDB_20120810.BatchWriteItem", body, &resp, &err) != 0) {
                    if (retryable(&err) && tries < 1000) {
                        tp_engine_advance(e, 1000);
                        continue;
                    }
                    rc = fail_why(why, cap, "data for %s: %s: %s", table, err.code, err.message);
                    break;
                }
                cJSON *o2 = tp_json_parse_str(resp);
                free(resp);
                const cJSON *un = member(member(o2, "UnprocessedItems"), table);
                if (cJSON_IsArray(un) && cJSON_GetArraySize(un) > 0 && tries < 1000) {
                    /* send just the unprocessed ones again */
                    cJSON *req = cJSON_CreateObject();
                    cJSON *ri = cJSON_AddObjectToObject(req, "RequestItems");
                    cJSON_AddItemToObject(ri, table, cJSON_Duplicate(un, 1));
                    free(body);
                    body = tp_json_print(req);
                    cJSON_Delete(req);
                    cJSON_Delete(o2);
                    tp_engine_advance(e, 1000);
                    if (!body) {
                        rc = fail_why(why, cap, "out of memory");
                        break;
                    }
                    continue;
                }
                cJSON_Delete(o2);
                break;
            }
        }
        free(body);
        done += n;
    }
    free(tpl);
    if (r->out && rc == 0) {
        char a[32], b[32];
        fprintf(r->out, "setup: %s items into %s (%s BatchWriteItem calls)\n",
                group_int(count, a, sizeof a), table, group_int(calls, b, sizeof b));
    }
    return rc;
}

/* A "file" step: {"name": "statements.csv", "save": "VAR", "header": "a,b",
 * "line": "x${i},...", "count": N, "start": 0} writes the header and count
 * lines (templates as in writes) to a file in the run's own temporary
 * directory (removed after the run) and keeps its path as ${VAR}: a
 * handler's input, such as the CSV a scheduler reads. */
static int run_file(runner *r, tp_engine *e, const cJSON *spec, char *why, size_t cap)
{
    const char *name = tp_json_str(spec, "name"), *save = tp_json_str(spec, "save"),
               *line = tp_json_str(spec, "line"), *header = tp_json_str(spec, "header");
    if (!name || !save || !line || strchr(name, '/') || !name[0] || name[0] == '.')
        return fail_why(why, cap, "a \"file\" step needs \"name\" (no slash), \"save\" and "
                                  "\"line\"");
    if (r->vars.n == MAX_VARS)
        return fail_why(why, cap, "too many saved variables");
    if (!r->tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(r->tmpdir, sizeof r->tmpdir, "%s/tidepool-run-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(r->tmpdir)) {
            r->tmpdir[0] = '\0';
            return fail_why(why, cap, "cannot make a temporary directory: %s", strerror(errno));
        }
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", r->tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return fail_why(why, cap, "cannot write %s: %s", path, strerror(errno));
    if (header)
        fprintf(f, "%s\n", header);
    int64_t count = int_member(spec, "count", 1), start = int_member(spec, "start", 0);
    subst sv = {.i = 0, .now_ms = tp_engine_now_ms(e), .t_ms = 0, .v = &r->vars};
    for (int64_t i = 0; i < count; i++) {
        sv.i = start + i;
        char *text = expand(line, &sv);
        if (!text) {
            fclose(f);
            return fail_why(why, cap, "out of memory");
        }
        fprintf(f, "%s\n", text);
        free(text);
    }
    if (fclose(f) != 0)
        return fail_why(why, cap, "cannot write %s: %s", path, strerror(errno));
    copy_str(r->vars.name[r->vars.n], sizeof r->vars.name[0], save);
    r->vars.value[r->vars.n++] = strdup(path);
    if (r->out)
        fprintf(r->out, "setup: file %s (%" PRId64 " lines)\n", name, count);
    return 0;
}

static void remove_tmpdir(runner *r)
{
    if (!r->tmpdir[0])
        return;
    DIR *d = opendir(r->tmpdir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", r->tmpdir, de->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(r->tmpdir);
    r->tmpdir[0] = '\0';
}

static int run_step(runner *r, tp_engine *e, const cJSON *st, char *why, size_t cap)
{
    const char *target = tp_json_str(st, "target"), *control = tp_json_str(st, "control");
    if (member(st, "data"))
        return run_data(r, e, member(st, "data"), why, cap);
    if (cJSON_IsObject(member(st, "file")))
        return run_file(r, e, member(st, "file"), why, cap);
    if (cJSON_IsNumber(member(st, "advance_ms"))) {
        tp_engine_advance(e, int_member(st, "advance_ms", 0));
        return 0;
    }
    if (control)
        return control_call(e, control, member(st, "body"), why, cap);
    if (!target)
        return fail_why(why, cap, "setup step without \"target\", \"control\" or \"data\"");
    char *tpl = member(st, "request") ? tp_json_print(member(st, "request")) : NULL;
    subst sv = {.i = 0, .now_ms = tp_engine_now_ms(e), .t_ms = 0, .v = &r->vars};
    char *body = tpl ? expand(tpl, &sv) : NULL;
    free(tpl);
    char *resp = NULL;
    tp_error err;
    int rc = api_call(r, e, target, body ? body : "{}", &resp, &err);
    free(body);
    if (rc != 0 && !cJSON_IsTrue(member(st, "ignore_error"))) {
        free(resp);
        return fail_why(why, cap, "setup %s: %s: %s", target, err.code, err.message);
    }
    /* "save": {"NAME": "Response.Path"} -> ${NAME} in later steps and writes */
    const cJSON *save = member(st, "save");
    if (rc == 0 && cJSON_IsObject(save)) {
        cJSON *o = tp_json_parse_str(resp);
        const cJSON *x;
        cJSON_ArrayForEach(x, save)
        {
            const cJSON *val = cJSON_IsString(x) ? tp_json_path(o, x->valuestring) : NULL;
            if (!val || r->vars.n == MAX_VARS) {
                cJSON_Delete(o);
                free(resp);
                return fail_why(why, cap, "setup %s: the response has no %s", target,
                                cJSON_IsString(x) ? x->valuestring : "?");
            }
            copy_str(r->vars.name[r->vars.n], sizeof r->vars.name[0], x->string);
            r->vars.value[r->vars.n++] =
                cJSON_IsString(val) ? strdup(val->valuestring) : tp_json_print(val);
        }
        cJSON_Delete(o);
    }
    free(resp);
    if (r->out)
        fprintf(r->out, "setup: %s%s%s\n", target, rc ? " -> " : "", rc ? err.code : "");
    return 0;
}

/* --- timed writes --------------------------------------------------------------- */

typedef struct wgroup {
    const cJSON *spec;
    const char *target, *control, *label;
    char *tpl;                   /* request template text */
    int64_t at, every, count;
    int64_t next_i;              /* next index to write */
    int64_t next_t;              /* due time (rel) of the next call */
    int64_t retries, backoff;    /* producer retries allowed; wait before one */
    int64_t attempt;             /* of the current index */
    int quiet;
    int64_t started_now;         /* ${now_ms} of the current index's first attempt */
} wgroup;

static void write_once(runner *r, tp_engine *e, wgroup *g, int64_t rel)
{
    tp_scenario_summary *s = r->sum;
    if (g->control) {
        char why[256] = "";
        int rc = control_call(e, g->control, member(g->spec, "body"), why, sizeof why);
        tl_line(r, rel, "control %s%s%s", g->control, rc ? " failed: " : "", rc ? why : "");
        g->next_i++;
        g->next_t = g->at + g->next_i * g->every;
        return;
    }
    if (g->attempt == 0)
        g->started_now = tp_engine_now_ms(e);
    subst v = {.i = g->next_i, .now_ms = g->started_now, .t_ms = rel, .v = &r->vars};
    char *body = expand(g->tpl, &v);
    char *resp = NULL;
    tp_error err;
    const char *op = strchr(g->target, '.') ? strchr(g->target, '.') + 1 : g->target;
    if (!g->quiet)   /* before the call, so its own events follow it */
        tl_line(r, rel, "write %s %s#%" PRId64 "%s", op, g->label, g->next_i,
                g->attempt ? " (producer retry)" : "");
    int rc = api_call(r, e, g->target, body ? body : "{}", &resp, &err);
    free(body);
    free(resp);
    s->writes++;
    int again = rc != 0 && retryable(&err) && g->attempt < g->retries;
    if (rc != 0) {
        s->write_errors++;
        if (strcmp(err.code, "ResponseLost") == 0 || strcmp(err.code, "ConnectionDropped") == 0)
            s->writes_lost++;
    }
    if (g->quiet) {
        char name[64];
        snprintf(name, sizeof name, "%s%s%s", g->label, g->label[0] ? " " : "", op);
        flood_call(r, rel, name, rc != 0, rc != 0 && is_throttle_code(err.code));
    } else if (rc != 0) {
        tl_line(r, rel, "  -> %s%s%s%s", err.code, err.message[0] ? ": " : "", err.message,
                again ? " (the producer will retry)" : "");
    }
    if (again) {
        g->attempt++;
        s->producer_retries++;
        g->next_t = rel + g->backoff;
        return;
    }
    g->attempt = 0;
    g->next_i++;
    g->next_t = g->at + g->next_i * g->every;
    if (g->next_t < rel)
        g->next_t = rel;   /* retries made it late: go on at once */
}

static int run_writes(runner *r, tp_engine *e, const cJSON *writes, char *why, size_t cap)
{
    int n = cJSON_IsArray(writes) ? cJSON_GetArraySize(writes) : 0;
    if (!n)
        return 0;
    wgroup *g = calloc((size_t)n, sizeof *g);
    if (!g)
        return fail_why(why, cap, "out of memory");
    int rc = 0;
    for (int k = 0; k < n && rc == 0; k++) {
        const cJSON *w = cJSON_GetArrayItem(writes, k);
        g[k].spec = w;
        g[k].target = tp_json_str(w, "target");
        g[k].control = tp_json_str(w, "control");
        g[k].label = tp_json_str(w, "label") ? tp_json_str(w, "label") : "";
        g[k].at = int_member(w, "at_ms", 0);
        g[k].every = int_member(w, "every_ms", 0);
        g[k].count = int_member(w, "count", 1);
        g[k].retries = int_member(w, "producer_retries", 0);
        g[k].backoff = int_member(w, "producer_backoff_ms", 100);
        g[k].quiet = cJSON_IsTrue(member(w, "quiet")) || (!member(w, "quiet") && g[k].count > 20);
        g[k].next_t = g[k].at;
        if (!g[k].target && !g[k].control)
            rc = fail_why(why, cap, "writes[%d]: give \"target\" (or \"control\")", k);
        else if (g[k].target) {
            g[k].tpl = member(w, "request") ? tp_json_print(member(w, "request"))
                                            : strdup("{}");
            if (!g[k].tpl)
                rc = fail_why(why, cap, "out of memory");
        }
    }
    while (rc == 0) {
        int best = -1;
        for (int k = 0; k < n; k++)
            if (g[k].next_i < g[k].count && (best < 0 || g[k].next_t < g[best].next_t))
                best = k;
        if (best < 0)
            break;
        int64_t rel = tp_engine_now_ms(e) - r->t0;
        if (g[best].next_t > rel) {
            tp_engine_advance(e, g[best].next_t - rel);
            rel = g[best].next_t;
        }
        write_once(r, e, &g[best], rel);
    }
    for (int k = 0; k < n; k++)
        free(g[k].tpl);
    free(g);
    return rc;
}

/* --- probes and expectations -------------------------------------------------- */

/* Runs a probe call, following LastEvaluatedKey, summing the numeric
 * response member "value" names (default "Count"). */
static void run_probe(runner *r, tp_engine *e, const cJSON *p, tp_scenario_probe *out)
{
    copy_str(out->name, sizeof out->name, tp_json_str(p, "name"));
    const char *target = tp_json_str(p, "target");
    const char *value = tp_json_str(p, "value") ? tp_json_str(p, "value") : "Count";
    /* ${VAR} from setup's "save" works in probes too */
    cJSON *req = NULL;
    char *tpl = member(p, "request") ? tp_json_print(member(p, "request")) : NULL;
    subst sv = {.i = 0, .now_ms = tp_engine_now_ms(e), .t_ms = 0, .v = &r->vars};
    char *text = tpl ? expand(tpl, &sv) : NULL;
    if (text)
        req = tp_json_parse(text, strlen(text));
    free(tpl);
    free(text);
    if (!req)
        req = cJSON_CreateObject();
    out->ok = target != NULL;
    out->value = 0;
    for (int pages = 0; target && pages < 100000; pages++) {
        char *body = tp_json_print(req);
        char *resp = NULL;
        tp_error err;
        int rc = api_call(r, e, target, body, &resp, &err);
        free(body);
        if (rc != 0) {
            out->ok = 0;
            if (r->out)
                fprintf(r->out, "probe %s: %s: %s\n", out->name, err.code, err.message);
            break;
        }
        cJSON *o = tp_json_parse_str(resp);
        free(resp);
        const cJSON *v = tp_json_path(o, value);
        if (cJSON_IsNumber(v))
            out->value += v->valuedouble;
        else if (cJSON_IsString(v))
            out->value += strtod(v->valuestring, NULL);   /* {"N": "42"} */
        else if (cJSON_IsArray(v))
            out->value += cJSON_GetArraySize(v);
        else if (!v)
            out->ok = 0;   /* absent: e.g. GetItem found no item */
        const cJSON *lek = member(o, "LastEvaluatedKey");
        if (!cJSON_IsObject(lek)) {
            cJSON_Delete(o);
            break;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(req, "ExclusiveStartKey");
        cJSON_AddItemToObject(req, "ExclusiveStartKey", cJSON_Duplicate(lek, 1));
        cJSON_Delete(o);
    }
    cJSON_Delete(req);
}

double tp_scenario_probe_value(const tp_scenario_summary *s, const char *name, double def)
{
    for (size_t i = 0; i < s->n_probes; i++)
        if (strcmp(s->probes[i].name, name) == 0)
            return s->probes[i].ok ? s->probes[i].value : def;
    return def;
}

static void shard_rates(const tp_scenario_summary *s, double *mn, double *mean, double *mx,
                        double *total);

int tp_scenario_metric(const tp_scenario_summary *s, const char *name, double *value)
{
    static const struct {
        const char *name;
        size_t off;
    } m[] = {
#define M(n, f) {n, offsetof(tp_scenario_summary, f)}
        M("end_ms", end_ms),
        M("writes", writes),
        M("write_errors", write_errors),
        M("writes_lost", writes_lost),
        M("producer_retries", producer_retries),
        M("requests", requests),
        M("request_errors", request_errors),
        M("handler_requests", handler_requests),
        M("throttles", throttles),
        M("faults", faults),
        M("sdk_retries", sdk_retries),
        M("stream_records", stream_records),
        M("batches", batches),
        M("batch_retries", batch_retries),
        M("bisects", bisects),
        M("discards", discards),
        M("checkpoints", checkpoints),
        M("invocations", invocations),
        M("invocations.success", inv_success),
        M("invocations.error", inv_error),
        M("invocations.timeout", inv_timeout),
        M("invocations.throttled", inv_throttled),
        M("records_delivered", records_delivered),
        M("deliveries", deliveries),
        M("duplicate_records", duplicate_records),
        M("lag.count", lag_count),
        M("lag.p50_ms", lag_p50_ms),
        M("lag.p99_ms", lag_p99_ms),
        M("lag.max_ms", lag_max_ms),
        M("lag.min_ms", lag_min_ms),
        M("iterator_age_max_ms", iterator_age_max_ms),
        M("out_of_order", out_of_order),
        M("first_throttle_ms", first_throttle_ms),
#undef M
    };
    if (strncmp(name, "wcu.", 4) == 0) {
        int64_t v = strcmp(name + 4, "peak") == 0             ? s->wcu_peak_milli
                    : strcmp(name + 4, "cloudwatch_peak") == 0 ? s->wcu_cloudwatch_peak_milli
                    : strcmp(name + 4, "consumed") == 0        ? s->wcu_consumed_milli
                    : strcmp(name + 4, "before_throttle") == 0 ? s->wcu_before_throttle_milli
                                                               : -1;
        if (v < 0)
            return -1;
        *value = (double)v / 1000.0;
        return 0;
    }
    if (strcmp(name, "shards") == 0 || strncmp(name, "shard.", 6) == 0 ||
        strcmp(name, "records_per_s") == 0) {
        double mn, mean, mx, total;
        shard_rates(s, &mn, &mean, &mx, &total);
        if (strcmp(name, "shards") == 0)
            *value = (double)s->n_shards;
        else if (strcmp(name, "records_per_s") == 0)
            *value = total;
        else if (strcmp(name, "shard.records_per_s_min") == 0)
            *value = mn;
        else if (strcmp(name, "shard.records_per_s_max") == 0)
            *value = mx;
        else if (strcmp(name, "shard.records_per_s_mean") == 0)
            *value = mean;
        else
            return -1;
        return 0;
    }
    if (strncmp(name, "stage.", 6) == 0) {
        const char *dot = strrchr(name + 6, '.');
        for (size_t i = 0; dot && i < s->n_stages; i++) {
            const tp_scenario_stage *g = &s->stages[i];
            if (strlen(g->name) != (size_t)(dot - (name + 6)) ||
                strncmp(g->name, name + 6, (size_t)(dot - (name + 6))) != 0)
                continue;
            if (strcmp(dot + 1, "duration_ms") == 0)
                *value = g->start_ms >= 0 && g->end_ms >= 0 ? (double)(g->end_ms - g->start_ms) : -1;
            else if (strcmp(dot + 1, "timeouts") == 0)
                *value = (double)g->timeouts;
            else if (strcmp(dot + 1, "errors") == 0)
                *value = (double)g->errors;
            else if (strcmp(dot + 1, "invocations") == 0)
                *value = (double)g->invocations;
            else if (strcmp(dot + 1, "end_ms") == 0)
                *value = (double)g->end_ms;
            else if (strcmp(dot + 1, "start_ms") == 0)
                *value = (double)g->start_ms;
            else
                return -1;
            return 0;
        }
        return -1;
    }
    if (strncmp(name, "probe.", 6) == 0) {
        for (size_t i = 0; i < s->n_probes; i++)
            if (strcmp(s->probes[i].name, name + 6) == 0 && s->probes[i].ok) {
                *value = s->probes[i].value;
                return 0;
            }
        return -1;
    }
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        if (strcmp(m[i].name, name) == 0) {
            int64_t v;
            memcpy(&v, (const char *)s + m[i].off, sizeof v);
            *value = (double)v;
            return 0;
        }
    return -1;
}

/* "expect": {"NAME": 3, "NAME": {"min": 1, "max": 5}, ...} */
static void check_expect(runner *r, const cJSON *expect)
{
    tp_scenario_summary *s = r->sum;
    const cJSON *x;
    cJSON_ArrayForEach(x, expect)
    {
        if (!x->string)
            continue;
        double v;
        s->expect_checked++;
        if (tp_scenario_metric(s, x->string, &v) != 0) {
            s->expect_failed++;
            if (r->out)
                fprintf(r->out, "  expect %-28s FAILED: no such number\n", x->string);
            continue;
        }
        int ok = 1;
        char want[96];
        if (cJSON_IsNumber(x)) {
            ok = v == x->valuedouble;
            snprintf(want, sizeof want, "= %g", x->valuedouble);
        } else {
            const cJSON *mn = member(x, "min"), *mx = member(x, "max");
            if (cJSON_IsNumber(mn) && v < mn->valuedouble)
                ok = 0;
            if (cJSON_IsNumber(mx) && v > mx->valuedouble)
                ok = 0;
            copy_str(want, sizeof want, "(any)");
            if (cJSON_IsNumber(mn) && cJSON_IsNumber(mx))
                snprintf(want, sizeof want, "in [%g, %g]", mn->valuedouble, mx->valuedouble);
            else if (cJSON_IsNumber(mn))
                snprintf(want, sizeof want, ">= %g", mn->valuedouble);
            else if (cJSON_IsNumber(mx))
                snprintf(want, sizeof want, "<= %g", mx->valuedouble);
        }
        if (!ok)
            s->expect_failed++;
        if (r->out)
            fprintf(r->out, "  expect %-28s %-14s got %-12g %s\n", x->string, want, v,
                    ok ? "ok" : "FAILED");
    }
}

/* --- handler logs ------------------------------------------------------------------ */

static void print_log_text(FILE *f, const char *text)
{
    /* up to 12 lines from the start and the last 4 */
    int total = 0;
    for (const char *p = text; *p; p++)
        total += *p == '\n';
    int line = 0;
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        if (line < 12 || line >= total - 4)
            fprintf(f, "      %.*s\n", (int)(n > 300 ? 300 : n), p);
        else if (line == 12)
            fprintf(f, "      ... %d more lines ...\n", total - 16);
        line++;
        p += n;
        if (*p == '\n')
            p++;
    }
}

/* The handlers' own log lines, as CloudWatch would show them (GET
 * /_tidepool/invocations): the first and the last few invocations. */
static void print_logs(runner *r, tp_engine *e)
{
    if (!r->out || r->sum->n_inv == 0)
        return;
    /* the first and the last five: only those are read (the log is
     * bounded, run_fixture) */
    cJSON *first = NULL, *last = NULL;
    int64_t total = 0;
    tp_engine_invocation_ends(e, 5, &total, &first, &last);
    int n = (int)total;
    if (n > 0)
        fprintf(r->out, "\nhandler logs (GET /_tidepool/invocations):\n");
    for (int i = 0; i < n; i++) {
        if (n > 10 && i >= 5 && i < n - 5) {
            if (i == 5)
                fprintf(r->out, "    ... %d more invocations ...\n", n - 10);
            continue;
        }
        const cJSON *v = n > 10 && i >= n - 5 ? cJSON_GetArrayItem(last, i - (n - 5))
                                              : cJSON_GetArrayItem(first, i);
        const char *fname = tp_json_str(v, "function"), *outcome = tp_json_str(v, "outcome");
        fprintf(r->out, "    #%" PRId64 " %s (%s)\n", int_member(v, "id", 0), fname ? fname : "-",
                outcome ? outcome : "-");
        if (tp_json_str(v, "logs"))
            print_log_text(r->out, tp_json_str(v, "logs"));
    }
    cJSON_Delete(first);
    cJSON_Delete(last);
}

/* --- the summary ---------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *sorted, int64_t n, int p)
{
    if (n <= 0)
        return 0;
    /* nearest rank */
    int64_t rank = (int64_t)ceil((double)p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

/* Per shard: the records of its successful batches, its first start and
 * last end. */
static void finish_shards(tp_scenario_summary *s)
{
    for (size_t i = 0; i < s->n_inv; i++) {
        const tp_scenario_invocation *v = &s->inv[i];
        if (!v->shard[0] || strcmp(v->outcome, "success") != 0)
            continue;
        tp_scenario_shard *g = NULL;
        for (size_t k = 0; k < s->n_shards && !g; k++)
            if (strcmp(s->shards[k].shard, v->shard) == 0)
                g = &s->shards[k];
        if (!g) {
            tp_scenario_shard *n = realloc(s->shards, (s->n_shards + 1) * sizeof *n);
            if (!n)
                return;
            s->shards = n;
            g = &s->shards[s->n_shards++];
            memset(g, 0, sizeof *g);
            copy_str(g->shard, sizeof g->shard, v->shard);
            g->start_ms = v->start_ms;
        }
        g->records += v->batch_size;
        if (v->start_ms < g->start_ms)
            g->start_ms = v->start_ms;
        if (v->end_ms > g->end_ms)
            g->end_ms = v->end_ms;
    }
}

static double shard_rate(const tp_scenario_shard *g)
{
    int64_t d = g->end_ms - g->start_ms;
    return d > 0 ? (double)g->records * 1000.0 / (double)d : 0;
}

/* min, mean and max records/s over the shards, and the whole stream's
 * records/s (from the first shard's start to the last one's end). */
static void shard_rates(const tp_scenario_summary *s, double *mn, double *mean, double *mx,
                        double *total)
{
    *mn = *mean = *mx = *total = 0;
    int64_t recs = 0, a = INT64_MAX, b = 0;
    for (size_t k = 0; k < s->n_shards; k++) {
        double x = shard_rate(&s->shards[k]);
        if (k == 0 || x < *mn)
            *mn = x;
        if (x > *mx)
            *mx = x;
        *mean += x / (double)s->n_shards;
        recs += s->shards[k].records;
        if (s->shards[k].start_ms < a)
            a = s->shards[k].start_ms;
        if (s->shards[k].end_ms > b)
            b = s->shards[k].end_ms;
    }
    if (recs && b > a)
        *total = (double)recs * 1000.0 / (double)(b - a);
}

static void finish_lags(tp_scenario_summary *s)
{
    if (s->lag_count <= 0)
        return;
    int64_t *sorted = malloc((size_t)s->lag_count * sizeof *sorted);
    if (!sorted)
        return;
    memcpy(sorted, s->lags, (size_t)s->lag_count * sizeof *sorted);
    qsort(sorted, (size_t)s->lag_count, sizeof *sorted, cmp_i64);
    s->lag_min_ms = sorted[0];
    s->lag_p50_ms = pct(sorted, s->lag_count, 50);
    s->lag_p99_ms = pct(sorted, s->lag_count, 99);
    s->lag_max_ms = sorted[s->lag_count - 1];
    free(sorted);
}

static void print_summary(runner *r, int64_t real_ms)
{
    tp_scenario_summary *s = r->sum;
    FILE *f = r->out;
    if (!f)
        return;
    char a[32], b[32], c[32], d[32], t[32];
    fmt_t(t, sizeof t, s->end_ms);
    fprintf(f, "\nsummary: %s — %s s of virtual time in %.2f s\n", s->name, t, real_ms / 1000.0);
    fprintf(f, "  writes              %s (%s failed, %s responses lost, %s producer retries)\n",
            group_int(s->writes, a, sizeof a), group_int(s->write_errors, b, sizeof b),
            group_int(s->writes_lost, c, sizeof c), group_int(s->producer_retries, d, sizeof d));
    fprintf(f, "  stream records      %s\n", group_int(s->stream_records, a, sizeof a));
    fprintf(f, "  batches             %s (%s retries, %s bisects, %s discards)\n",
            group_int(s->batches, a, sizeof a), group_int(s->batch_retries, b, sizeof b),
            group_int(s->bisects, c, sizeof c), group_int(s->discards, d, sizeof d));
    fprintf(f, "  invocations         %s: %s success, %s error, %s timeout; %s throttled\n",
            group_int(s->invocations, a, sizeof a), group_int(s->inv_success, b, sizeof b),
            group_int(s->inv_error, c, sizeof c), group_int(s->inv_timeout, d, sizeof d),
            group_int(s->inv_throttled, t, sizeof t));
    fprintf(f, "  handler calls       %s; throttles %s; sdk retries %s\n",
            group_int(s->handler_requests, a, sizeof a), group_int(s->throttles, b, sizeof b),
            group_int(s->sdk_retries, c, sizeof c));
    fprintf(f, "  deliveries          %s of %s records; %s delivered to more than one invocation\n",
            group_int(s->deliveries, a, sizeof a), group_int(s->records_delivered, b, sizeof b),
            group_int(s->duplicate_records, c, sizeof c));
    if (s->lag_count) {
        char p50[32], p99[32], mx[32], mn[32];
        fmt_t(p50, sizeof p50, s->lag_p50_ms);
        fmt_t(p99, sizeof p99, s->lag_p99_ms);
        fmt_t(mx, sizeof mx, s->lag_max_ms);
        fmt_t(mn, sizeof mn, s->lag_min_ms);
        fprintf(f, "  lag write->handler  p50 %s s, p99 %s s, max %s s, min %s s (%s records)\n",
                p50, p99, mx, mn, group_int(s->lag_count, a, sizeof a));
    } else {
        fprintf(f, "  lag write->handler  (no record reached a handler)\n");
    }
    fmt_t(t, sizeof t, s->iterator_age_max_ms);
    fprintf(f, "  iterator age max    %s s\n", t);
    if (s->out_of_order)
        fprintf(f, "  out of order        %s first deliveries\n",
                group_int(s->out_of_order, a, sizeof a));
    if (s->n_inv) {
        fprintf(f, "  invocations:\n    %-5s %11s %10s %-8s %5s %4s %11s %9s %9s %9s  %s\n", "#",
                "start s", "took s", "outcome", "recs", "try", "iter age s", "calls", "throttled",
                "sdk retry", "error");
        size_t shown = 0;
        for (size_t i = 0; i < s->n_inv; i++) {
            if (s->n_inv > 40 && i >= 20 && i + 20 < s->n_inv) {
                if (!shown++)
                    fprintf(f, "    ... %zu more ...\n", s->n_inv - 40);
                continue;
            }
            const tp_scenario_invocation *v = &s->inv[i];
            char st[32], du[32], ag[32];
            fmt_t(st, sizeof st, v->start_ms);
            fmt_t(du, sizeof du, v->duration_ms);
            if (v->iterator_age_ms >= 0)
                fmt_t(ag, sizeof ag, v->iterator_age_ms);
            else
                copy_str(ag, sizeof ag, "-");
            fprintf(f, "    %-5" PRId64 " %11s %10s %-8s %5" PRId64 " %4" PRId64
                       " %11s %9" PRId64 " %9" PRId64 " %9" PRId64 "  %s\n",
                    v->invocation, st, v->outcome[0] ? du : "-",
                    v->outcome[0] ? v->outcome : "running", v->batch_size, v->attempt, ag,
                    v->calls, v->throttled_calls, v->sdk_retries, v->error_type);
        }
    }
    if (s->n_shards) {
        double mn, mean, mx, total;
        shard_rates(s, &mn, &mean, &mx, &total);
        fprintf(f, "  shards              %zu: %.1f records/s per shard (min %.1f, max %.1f), %.1f "
                   "records/s in all\n", s->n_shards, mean, mn, mx, total);
        for (size_t k = 0; k < s->n_shards && (s->n_shards <= 16 || k < 8); k++) {
            const tp_scenario_shard *g = &s->shards[k];
            char st[32], en[32];
            fmt_t(st, sizeof st, g->start_ms);
            fmt_t(en, sizeof en, g->end_ms);
            fprintf(f, "    %-24s %9s records  %9s .. %9s s  %.1f records/s\n", g->shard,
                    group_int(g->records, a, sizeof a), st, en, shard_rate(g));
        }
        if (s->n_shards > 16)
            fprintf(f, "    ... %zu more shards\n", s->n_shards - 8);
    }
    for (size_t i = 0; i < s->n_probes; i++)
        fprintf(f, "  probe %-22s %s%g\n", s->probes[i].name, s->probes[i].ok ? "" : "(failed) ",
                s->probes[i].value);
    if (s->row[0]) {
        fprintf(f, "\n");
        const tp_scenario_summary *one = s;
        tp_scenario_print_table(f, &one, 1);
    }
    fprintf(f, "  trace               %s events, hash %016" PRIx64 "\n",
            group_int((int64_t)s->trace_events, a, sizeof a), s->trace_hash);
}

/* --- the run ---------------------------------------------------------------------- */

void tp_scenario_summary_free(tp_scenario_summary *s)
{
    if (!s)
        return;
    free(s->inv);
    free(s->lags);
    free(s->wcu_per_second);
    free(s->shards);
    s->shards = NULL;
    s->n_shards = 0;
    s->inv = NULL;
    s->lags = NULL;
    s->wcu_per_second = NULL;
    s->n_wcu_seconds = 0;
    s->n_inv = 0;
    s->lag_count = 0;
}

static void runner_free(runner *r)
{
    for (int k = 0; k < r->vars.n; k++)
        free(r->vars.value[k]);
    for (size_t i = 0; i < r->rec_cap; i++)
        free(r->recs[i].seq);
    free(r->recs);
    for (size_t i = 0; i < r->n_batches; i++)
        batch_free(&r->batches[i]);
    free(r->batches);
    for (size_t i = 0; i < r->n_shards; i++)
        free(r->shards[i].pending_w);
    free(r->shards);
}

static int run_until(runner *r, tp_engine *e, const cJSON *spec)
{
    int64_t max_ms = 3600000;   /* an hour of virtual time unless told */
    int idle = 1;
    if (cJSON_IsString(spec) && strcmp(spec->valuestring, "idle") == 0) {
        idle = 1;
    } else if (cJSON_IsObject(spec)) {
        max_ms = int_member(spec, "max_ms", max_ms);
        idle = cJSON_IsTrue(member(spec, "idle"));
    } else if (cJSON_IsNumber(spec)) {
        max_ms = (int64_t)spec->valuedouble;
        idle = 0;
    }
    int64_t rel = tp_engine_now_ms(e) - r->t0;
    r->prog.horizon_ms = max_ms;
    r->prog.until_idle = idle;
    if (rel >= max_ms)
        return 0;
    if (idle) {
        if (tp_engine_run_until_idle(e, max_ms - rel) < 0)
            return -1;
    } else if (tp_engine_advance(e, max_ms - rel) != 0) {
        return -1;
    }
    return 0;
}

static int run_fixture(const cJSON *fx, const tp_scenario_options *opts, tp_scenario_summary *s,
                       char *why, size_t cap)
{
    static const tp_scenario_options no_opts;
    if (!opts)
        opts = &no_opts;
    memset(s, 0, sizeof *s);
    s->trace_hash = FNV_INIT;
    s->first_throttle_ms = -1;
    if (!cJSON_IsObject(fx))
        return fail_why(why, cap, "the fixture must be a JSON object");
    copy_str(s->name, sizeof s->name, tp_json_str(fx, "name") ? tp_json_str(fx, "name") : "scenario");
    int64_t real0 = wall_ms();

    runner r;
    memset(&r, 0, sizeof r);
    r.opts = opts;
    r.sum = s;
    r.out = opts->out;
    r.limit = opts->timeline_limit > 0 ? opts->timeline_limit : 2000;
    r.self = pthread_self();
    if (opts->trace_path) {
        r.trace = fopen(opts->trace_path, "w");
        if (!r.trace)
            return fail_why(why, cap, "cannot write %s: %s", opts->trace_path, strerror(errno));
    }

    /* "report": the row of the comparison table; it needs the consumed
     * capacity in the trace ("consume" events). */
    const cJSON *report = member(fx, "report");
    cJSON *cfg = member(fx, "config") ? cJSON_Duplicate(member(fx, "config"), 1) : NULL;
    if (cJSON_IsObject(report)) {
        r.report = 1;
        copy_str(s->row, sizeof s->row, tp_json_str(report, "row") ? tp_json_str(report, "row") : s->name);
        copy_str(s->report_table, sizeof s->report_table, tp_json_str(report, "table"));
        const cJSON *g;
        cJSON_ArrayForEach(g, member(report, "stages"))
        {
            if (s->n_stages == TP_SCENARIO_MAX_STAGES)
                break;
            tp_scenario_stage *st = &s->stages[s->n_stages++];
            copy_str(st->name, sizeof st->name, tp_json_str(g, "name") ? tp_json_str(g, "name") : "stage");
            copy_str(st->functions, sizeof st->functions,
                     tp_json_str(g, "functions") ? tp_json_str(g, "functions") : "*");
            st->start_ms = st->end_ms = -1;
        }
        if (!cfg)
            cfg = cJSON_CreateObject();
        cJSON *capc = cJSON_GetObjectItemCaseSensitive(cfg, "capacity");
        if (!cJSON_IsObject(capc)) {
            cJSON_DeleteItemFromObjectCaseSensitive(cfg, "capacity");
            capc = cJSON_AddObjectToObject(cfg, "capacity");
        }
        if (!cJSON_GetObjectItemCaseSensitive(capc, "trace_consumed"))
            cJSON_AddTrueToObject(capc, "trace_consumed");
    }
    if (opts->report_path) {
        /* the report draws consumed capacity: it needs the "consume" events */
        r.rep = tp_report_new();
        if (!cfg)
            cfg = cJSON_CreateObject();
        cJSON *capc = cJSON_GetObjectItemCaseSensitive(cfg, "capacity");
        if (!cJSON_IsObject(capc)) {
            cJSON_DeleteItemFromObjectCaseSensitive(cfg, "capacity");
            capc = cJSON_AddObjectToObject(cfg, "capacity");
        }
        if (!cJSON_GetObjectItemCaseSensitive(capc, "trace_consumed"))
            cJSON_AddTrueToObject(capc, "trace_consumed");
    }
    char *config = cfg ? tp_json_print(cfg) : NULL;
    cJSON_Delete(cfg);
    tp_engine_options eo;
    memset(&eo, 0, sizeof eo);
    eo.config_json = config;
    eo.seed = (uint64_t)int_member(fx, "seed", 1);
    eo.clock_start_ms = int_member(fx, "clock_start_ms", 0);
    tp_error err;
    memset(&err, 0, sizeof err);
    tp_engine *e = tp_engine_new(&eo, &err);
    free(config);
    if (!e) {
        if (r.trace)
            fclose(r.trace);
        tp_report_free(r.rep);
        return fail_why(why, cap, "engine: %s: %s", err.code, err.message);
    }
    tp_trace_set_event_sink(tp_engine_core(e)->trace, sink, &r, opts->trace_path ? opts->trace_with_wall : 0);
    /* print_logs shows the log's first and last five invocations: a run
     * of hours need not keep the millions in between */
    tp_engine_bound_invocations(e, 5, 1024);
    int rc = 0;
    if (opts->handlers_lib && tp_engine_load_handlers(e, opts->handlers_lib, &err) != 0)
        rc = fail_why(why, cap, "--handlers %s: %s", opts->handlers_lib, err.message);
    if (r.out) {
        fprintf(r.out, "scenario %s (seed %" PRIu64 ")\n", s->name, eo.seed);
        if (tp_json_str(fx, "description"))
            fprintf(r.out, "  %s\n", tp_json_str(fx, "description"));
    }

    /* setup */
    const cJSON *st;
    cJSON_ArrayForEach(st, member(fx, "setup"))
    {
        if (rc != 0)
            break;
        rc = run_step(&r, e, st, why, cap);
    }
    const cJSON *data = member(fx, "data");
    if (rc == 0 && cJSON_IsArray(data)) {
        cJSON_ArrayForEach(st, data)
        {
            if (rc != 0)
                break;
            rc = run_data(&r, e, st, why, cap);
        }
    } else if (rc == 0 && cJSON_IsObject(data)) {
        rc = run_data(&r, e, data, why, cap);
    }
    if (rc == 0 && int_member(fx, "settle_ms", 0) > 0)
        tp_engine_advance(e, int_member(fx, "settle_ms", 0));

    /* run */
    if (rc == 0) {
        r.t0 = tp_engine_now_ms(e);
        s->start_ms = r.t0;
        r.prog.wall0 = wall_ms();
        r.phase = 1;
        if (r.out)
            fprintf(r.out, "\ntimeline (virtual seconds since the start of the run):\n");
        rc = run_writes(&r, e, member(fx, "writes"), why, cap);
        if (rc == 0 && run_until(&r, e, member(fx, "run_until")) != 0)
            rc = fail_why(why, cap, "run_until: the engine is not on a virtual clock");
        /* The sink is quiet from here on; events still arriving (none on a
         * virtual clock once the clock stops) only reach the trace file. */
        tp_trace_set_event_sink(tp_engine_core(e)->trace, NULL, NULL, 0);
        if (opts->progress)
            progress(&r, tp_engine_now_ms(e) - r.t0, 1);
        print_start(&r);
        flood_flush(&r);
        if (r.suppressed && r.out)
            fprintf(r.out, "  ... %d more timeline lines not shown\n", r.suppressed);
        s->end_ms = tp_engine_now_ms(e) - r.t0;
        minute_close(&r);
        r.phase = 2;
    }
    finish_lags(s);
    finish_shards(s);

    /* probes, then the caller's look */
    if (rc == 0) {
        tp_trace_set_event_sink(tp_engine_core(e)->trace, sink, &r, opts->trace_path ? opts->trace_with_wall : 0);
        const cJSON *p;
        cJSON_ArrayForEach(p, member(fx, "probes"))
        {
            if (s->n_probes == TP_SCENARIO_MAX_PROBES)
                break;
            run_probe(&r, e, p, &s->probes[s->n_probes++]);
        }
        tp_trace_set_event_sink(tp_engine_core(e)->trace, NULL, NULL, 0);
    }
    char *logs_buf = NULL;
    size_t logs_len = 0;
    FILE *logs = NULL;
    if (rc == 0 && r.out && !opts->no_logs) {
        /* printed after the summary */
        logs = open_memstream(&logs_buf, &logs_len);
        FILE *out = r.out;
        r.out = logs;
        if (logs)
            print_logs(&r, e);
        r.out = out;
        if (logs)
            fclose(logs);
    }
    if (rc == 0 && opts->after)
        opts->after(e, opts->after_arg);
    tp_trace_set_event_sink(tp_engine_core(e)->trace, NULL, NULL, 0);
    tp_engine_free(e);
    if (r.trace)
        fclose(r.trace);
    if (rc == 0) {
        print_summary(&r, wall_ms() - real0);
        if (logs_buf && r.out)
            fputs(logs_buf, r.out);
        if (cJSON_IsObject(member(fx, "expect"))) {
            if (r.out)
                fprintf(r.out, "\nexpect:\n");
            check_expect(&r, member(fx, "expect"));
        }
        if (r.rep && tp_report_write(r.rep, opts->report_path, fx, s, why, cap) != 0)
            rc = -1;
    }
    tp_report_free(r.rep);
    free(logs_buf);
    remove_tmpdir(&r);
    runner_free(&r);
    return rc;
}

int tp_scenario_run_json(const char *text, const tp_scenario_options *opts,
                         tp_scenario_summary *out, char *why, size_t why_cap)
{
    size_t len = strlen(text), at = 0;
    cJSON *fx = tp_json_parse_at(text, len, &at);
    if (!fx) {
        memset(out, 0, sizeof *out);
        return fail_why(why, why_cap, "the fixture is not valid JSON (near: %.40s)", text + at);
    }
    int rc = run_fixture(fx, opts, out, why, why_cap);
    cJSON_Delete(fx);
    return rc;
}

int tp_scenario_run_file(const char *path, const tp_scenario_options *opts,
                         tp_scenario_summary *out, char *why, size_t why_cap)
{
    char *text = tp_read_file(path);
    if (!text) {
        memset(out, 0, sizeof *out);
        return fail_why(why, why_cap, "cannot read %s: %s", path, strerror(errno));
    }
    int rc = tp_scenario_run_json(text, opts, out, why, why_cap);
    free(text);
    return rc;
}

static void stage_duration(char *buf, size_t cap, const tp_scenario_stage *g)
{
    if (g->start_ms < 0 || g->end_ms < 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.1f s", (double)(g->end_ms - g->start_ms) / 1000.0);
}

void tp_scenario_print_table(FILE *out, const tp_scenario_summary *const *s, size_t n)
{
    if (!out || !n)
        return;
    /* The stage columns are the first row's stages (fixtures of one
     * scenario share them). */
    const tp_scenario_summary *h = s[0];
    int w = 13;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(s[i]->row) > w)
            w = (int)strlen(s[i]->row);
    fprintf(out, "%-*s", w, "configuration");
    for (size_t k = 0; k < h->n_stages; k++)
        fprintf(out, "  %12s", h->stages[k].name);
    int shards = 0;
    for (size_t i = 0; i < n; i++)
        shards |= s[i]->n_shards > 0;
    if (shards)
        fprintf(out, "  %6s  %11s  %9s", "shards", "records/s", "records/s");
    fprintf(out, "  %10s  %12s  %10s  %8s\n", "peak WCU/s", "CloudWatch", "throttled", "timeouts");
    fprintf(out, "%-*s", w, "");
    for (size_t k = 0; k < h->n_stages; k++)
        fprintf(out, "  %12s", "");
    if (shards)
        fprintf(out, "  %6s  %11s  %9s", "", "per shard", "in all");
    fprintf(out, "  %10s  %12s  %10s  %8s\n", "", "(min sum/60)", "requests", "");
    for (size_t i = 0; i < n; i++) {
        const tp_scenario_summary *r = s[i];
        fprintf(out, "%-*s", w, r->row[0] ? r->row : r->name);
        int64_t timeouts = 0;
        for (size_t k = 0; k < h->n_stages; k++) {
            char d[32] = "-";
            for (size_t j = 0; j < r->n_stages; j++)
                if (strcmp(r->stages[j].name, h->stages[k].name) == 0)
                    stage_duration(d, sizeof d, &r->stages[j]);
            fprintf(out, "  %12s", d);
        }
        for (size_t j = 0; j < r->n_stages; j++)
            timeouts += r->stages[j].timeouts;
        if (shards) {
            double mn, mean, mx, total;
            shard_rates(r, &mn, &mean, &mx, &total);
            fprintf(out, "  %6zu  %11.1f  %9.1f", r->n_shards, mean, total);
        }
        fprintf(out, "  %10.0f  %12.1f  %10" PRId64 "  %8" PRId64 "\n",
                (double)r->wcu_peak_milli / 1000.0, (double)r->wcu_cloudwatch_peak_milli / 1000.0,
                r->throttles, timeouts);
    }
}

static const char run_usage[] =
    "usage: tidepool run FIXTURE.json... [--trace FILE] [--wall] [--handlers lib.so]\n"
    "                                    [--timeline-limit N] [--quiet]\n"
    "                                    [--report FILE.html]\n"
    "Replays scenario fixtures (fixtures/README.md) in virtual time and prints\n"
    "each one's timeline and summary; fixtures with a \"report\" end with one\n"
    "table of them all. Exit status 1 when an \"expect\" fails, 2 when a fixture\n"
    "cannot run.\n"
    "  --report FILE.html  write an HTML report of the run (charts, timeline; one\n"
    "                      self-contained file, the same bytes for the same run)\n"
    "  --quiet             one timeline line only, and no progress on stderr\n"
    "Progress (virtual time, events, rate, ETA) goes to stderr when it is a terminal.\n";

int tp_scenario_main(int argc, char **argv)
{
    const char **fixtures = calloc((size_t)argc + 1, sizeof *fixtures);
    size_t n_fixtures = 0;
    if (!fixtures)
        return 2;
    const char *fixture = NULL;
    tp_scenario_options o;
    memset(&o, 0, sizeof o);
    o.out = stdout;
    int quiet = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(run_usage, stdout);
            return 0;
        } else if (strcmp(a, "--wall") == 0) {
            o.trace_with_wall = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            o.timeline_limit = 1;
            quiet = 1;
        } else if (strcmp(a, "--trace") == 0 || strcmp(a, "--handlers") == 0 ||
                   strcmp(a, "--report") == 0 ||
                   strcmp(a, "--timeline-limit") == 0) {
            if (!v) {
                fprintf(stderr, "tidepool run: %s needs a value\n%s", a, run_usage);
                return 2;
            }
            i++;
            if (strcmp(a, "--trace") == 0)
                o.trace_path = v;
            else if (strcmp(a, "--handlers") == 0)
                o.handlers_lib = v;
            else if (strcmp(a, "--report") == 0)
                o.report_path = v;
            else
                o.timeline_limit = atoi(v);
        } else if (a[0] == '-') {
            fprintf(stderr, "tidepool run: unexpected argument %s\n%s", a, run_usage);
            free(fixtures);
            return 2;
        } else {
            fixture = fixtures[n_fixtures++] = a;
        }
    }
    if (!fixture) {
        fputs(run_usage, stderr);
        free(fixtures);
        return 2;
    }
    if (!quiet && isatty(fileno(stderr)))
        o.progress = stderr;
    if (n_fixtures > 1 && (o.trace_path || o.report_path)) {
        fprintf(stderr, "tidepool run: --trace and --report take one fixture\n");
        free(fixtures);
        return 2;
    }
    tp_scenario_summary *s = calloc(n_fixtures, sizeof *s);
    const tp_scenario_summary **rows = calloc(n_fixtures, sizeof *rows);
    int status = 0;
    size_t n_rows = 0;
    for (size_t i = 0; s && rows && i < n_fixtures; i++) {
        char why[1024] = "";
        if (i)
            fprintf(stdout, "\n");
        int rc = tp_scenario_run_file(fixtures[i], &o, &s[i], why, sizeof why);
        fflush(stdout);
        if (rc != 0) {
            fprintf(stderr, "tidepool run: %s: %s\n", fixtures[i], why);
            status = 2;
            continue;
        }
        if (s[i].expect_failed && status == 0)
            status = 1;
        if (s[i].row[0])
            rows[n_rows++] = &s[i];
    }
    if (n_fixtures > 1 && n_rows) {
        fprintf(stdout, "\n%zu configurations:\n", n_rows);
        tp_scenario_print_table(stdout, rows, n_rows);
    }
    for (size_t i = 0; s && i < n_fixtures; i++)
        tp_scenario_summary_free(&s[i]);
    free(s);
    free(rows);
    free(fixtures);
    return s && rows ? status : 2;
}
