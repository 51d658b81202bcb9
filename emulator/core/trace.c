/* core/trace — the event ring and the counters (trace.h). */
#include "trace.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "core.h"
#include "json.h"

typedef struct counter {
    char *key;       /* labels, already rendered: service="dynamodb",... */
    int kind;        /* 0 requests, 1 faults */
    uint64_t n;
    struct counter *next;
} counter;

struct tp_trace {
    pthread_mutex_t lock;
    char **ring;     /* rendered lines, without the newline */
    uint64_t *seqs;
    size_t cap, head, len;   /* oldest at head */
    uint64_t next_seq;
    counter *counters;       /* few (services x operations x statuses): a list */
    struct gauge *gauges;    /* last value per (name, labels), first-set order */
    void (*sink)(void *arg, const char *line);
    /* or, for a reader that would parse each line back: the event as JSON
     * too (the tree the line was printed from, wall_ms left out as in the
     * line) */
    void (*sink_ev)(void *arg, const char *line, const cJSON *ev);
    void *sink_arg;
    int sink_with_wall;
};

static void put_without_wall(tp_buf *out, const char *line);

tp_trace *tp_trace_new(size_t cap)
{
    tp_trace *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cap = cap ? cap : TP_TRACE_CAPACITY;
    t->ring = calloc(t->cap, sizeof *t->ring);
    t->seqs = calloc(t->cap, sizeof *t->seqs);
    if (!t->ring || !t->seqs) {
        free(t->ring);
        free(t->seqs);
        free(t);
        return NULL;
    }
    t->next_seq = 1;
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

static void drop_events(tp_trace *t)
{
    for (size_t i = 0; i < t->len; i++) {
        free(t->ring[(t->head + i) % t->cap]);
        t->ring[(t->head + i) % t->cap] = NULL;
    }
    t->head = t->len = 0;
}

typedef struct gauge {
    char *name, *labels;
    double value;
    struct gauge *next;
} gauge;

static void drop_gauges(tp_trace *t)
{
    while (t->gauges) {
        gauge *g = t->gauges;
        t->gauges = g->next;
        free(g->name);
        free(g->labels);
        free(g);
    }
}

static void drop_counters(tp_trace *t)
{
    while (t->counters) {
        counter *c = t->counters;
        t->counters = c->next;
        free(c->key);
        free(c);
    }
}

void tp_trace_free(tp_trace *t)
{
    if (!t)
        return;
    drop_events(t);
    drop_counters(t);
    drop_gauges(t);
    free(t->ring);
    free(t->seqs);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void tp_trace_clear(tp_trace *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    drop_events(t);
    drop_counters(t);
    drop_gauges(t);
    t->next_seq = 1;
    pthread_mutex_unlock(&t->lock);
}

void tp_trace_clear_events(tp_trace *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    drop_events(t);
    pthread_mutex_unlock(&t->lock);
}

void tp_trace_add(tp_trace *t, int64_t t_ms, const char *type, const cJSON *fields)
{
    if (!t)
        return;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    /* one critical section from seq to ring slot: a sink sees seq order */
    pthread_mutex_lock(&t->lock);
    uint64_t seq = t->next_seq++;
    tp_json_add_int(o, "seq", (int64_t)seq);
    tp_json_add_int(o, "t_ms", t_ms);
    tp_json_add_int(o, "wall_ms", tp_wall_now_ms());
    cJSON_AddStringToObject(o, "type", type ? type : "event");
    const cJSON *f;
    cJSON_ArrayForEach(f, fields) {
        if (f->string && !cJSON_GetObjectItemCaseSensitive(o, f->string))
            cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, 1));
    }
    char *line = tp_json_print(o);
    if (!line) {
        cJSON_Delete(o);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    size_t slot;
    if (t->len == t->cap) {
        slot = t->head;
        free(t->ring[slot]);
        t->head = (t->head + 1) % t->cap;
    } else {
        slot = (t->head + t->len) % t->cap;
        t->len++;
    }
    t->ring[slot] = line;
    t->seqs[slot] = seq;
    if (t->sink || t->sink_ev) {
        tp_buf b;
        tp_buf_init(&b);
        const char *text = line;
        if (!t->sink_with_wall) {
            put_without_wall(&b, line);
            text = b.data ? b.data : "";
            cJSON_DeleteItemFromObjectCaseSensitive(o, "wall_ms");
        }
        if (t->sink_ev)
            t->sink_ev(t->sink_arg, text, o);
        else
            t->sink(t->sink_arg, text);
        tp_buf_free(&b);
    }
    cJSON_Delete(o);
    pthread_mutex_unlock(&t->lock);
}

void tp_trace_emit(tp_core *core, const char *type, const cJSON *fields)
{
    if (!core || !core->trace)
        return;
    tp_trace_add(core->trace, tp_clock_now_ms(core->clock), type, fields);
}

/* line without its ,"wall_ms":N member (always the third, after t_ms). */
static void put_without_wall(tp_buf *out, const char *line)
{
    const char *w = strstr(line, ",\"wall_ms\":");
    if (!w) {
        tp_buf_puts(out, line);
        return;
    }
    tp_buf_append(out, line, (size_t)(w - line));
    const char *p = w + strlen(",\"wall_ms\":");
    while (*p == '-' || (*p >= '0' && *p <= '9'))
        p++;
    tp_buf_puts(out, p);
}

void tp_trace_dump_opts(tp_trace *t, uint64_t since, int with_wall, tp_buf *out, uint64_t *last)
{
    if (last)
        *last = since;
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    /* seqs may be out of order by a hair under concurrency: filter, not seek */
    for (size_t i = 0; i < t->len; i++) {
        size_t slot = (t->head + i) % t->cap;
        if (t->seqs[slot] > since) {
            if (with_wall)
                tp_buf_puts(out, t->ring[slot]);
            else
                put_without_wall(out, t->ring[slot]);
            tp_buf_puts(out, "\n");
            if (last && t->seqs[slot] > *last)
                *last = t->seqs[slot];
        }
    }
    pthread_mutex_unlock(&t->lock);
}

void tp_trace_dump(tp_trace *t, uint64_t since, tp_buf *out)
{
    tp_trace_dump_opts(t, since, 1, out, NULL);
}

void tp_trace_set_sink(tp_trace *t, void (*fn)(void *arg, const char *line), void *arg,
                       int with_wall)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->sink = fn;
    t->sink_ev = NULL;
    t->sink_arg = arg;
    t->sink_with_wall = with_wall;
    pthread_mutex_unlock(&t->lock);
}

void tp_trace_set_event_sink(tp_trace *t, void (*fn)(void *arg, const char *line, const cJSON *ev),
                             void *arg, int with_wall)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->sink = NULL;
    t->sink_ev = fn;
    t->sink_arg = arg;
    t->sink_with_wall = with_wall;
    pthread_mutex_unlock(&t->lock);
}

size_t tp_trace_count(tp_trace *t)
{
    if (!t)
        return 0;
    pthread_mutex_lock(&t->lock);
    size_t n = t->len;
    pthread_mutex_unlock(&t->lock);
    return n;
}

/* Prometheus label value: \ " and newline escaped. */
static void put_label(tp_buf *b, const char *name, const char *v)
{
    tp_buf_printf(b, "%s=\"", name);
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            tp_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            tp_buf_puts(b, "\\n");
        else
            tp_buf_append(b, p, 1);
    }
    tp_buf_puts(b, "\"");
}

static void bump(tp_trace *t, int kind, char *key)
{
    if (!key)
        return;
    pthread_mutex_lock(&t->lock);
    counter **pp = &t->counters;
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->kind == kind && strcmp((*pp)->key, key) == 0) {
            (*pp)->n++;
            pthread_mutex_unlock(&t->lock);
            free(key);
            return;
        }
    }
    counter *c = calloc(1, sizeof *c);
    if (c) {
        c->key = key;
        c->kind = kind;
        c->n = 1;
        *pp = c;   /* appended: first-seen order, stable output */
    } else {
        free(key);
    }
    pthread_mutex_unlock(&t->lock);
}

void tp_trace_count_request(tp_trace *t, const char *service, const char *operation, int status)
{
    if (!t)
        return;
    tp_buf b;
    tp_buf_init(&b);
    put_label(&b, "service", service);
    tp_buf_puts(&b, ",");
    put_label(&b, "operation", operation);
    if (status > 0)
        tp_buf_printf(&b, ",status=\"%d\"", status);
    else
        tp_buf_puts(&b, ",status=\"none\"");   /* the connection closed unanswered */
    bump(t, 0, tp_buf_take(&b));
}

void tp_trace_count_fault(tp_trace *t, const char *rule)
{
    if (!t)
        return;
    tp_buf b;
    tp_buf_init(&b);
    put_label(&b, "rule", rule);
    bump(t, 1, tp_buf_take(&b));
}

void tp_trace_metrics(tp_trace *t, tp_buf *out)
{
    static const char *const names[2] = {"tidepool_requests_total",
                                         "tidepool_faults_injected_total"};
    static const char *const help[2] = {
        "API calls answered, by service, operation and HTTP status.",
        "Faults injected, by rule id."};
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    for (int k = 0; k < 2; k++) {
        tp_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", names[k], help[k], names[k]);
        for (counter *c = t->counters; c; c = c->next)
            if (c->kind == k)
                tp_buf_printf(out, "%s{%s} %llu\n", names[k], c->key, (unsigned long long)c->n);
    }
    /* gauges grouped by name, names in first-set order */
    for (gauge *g = t->gauges; g; g = g->next) {
        int seen = 0;
        for (gauge *h = t->gauges; h != g && !seen; h = h->next)
            seen = strcmp(h->name, g->name) == 0;
        if (seen)
            continue;
        const char *ghelp = strcmp(g->name, "tidepool_esm_iterator_age_ms") == 0
                               ? "Milliseconds from the creation of the newest record an event "
                                 "source mapping delivered to when its batch finished."
                               : "A value tidepool last set.";
        tp_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", g->name, ghelp, g->name);
        for (gauge *h = g; h; h = h->next)
            if (strcmp(h->name, g->name) == 0)
                tp_buf_printf(out, "%s{%s} %.17g\n", h->name, h->labels, h->value);
    }
    pthread_mutex_unlock(&t->lock);
}

void tp_trace_gauge_set(tp_trace *t, const char *name, const char *labels, double value)
{
    if (!t || !name)
        return;
    if (!labels)
        labels = "";
    pthread_mutex_lock(&t->lock);
    gauge **pp = &t->gauges;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->name, name) == 0 && strcmp((*pp)->labels, labels) == 0) {
            (*pp)->value = value;
            pthread_mutex_unlock(&t->lock);
            return;
        }
    gauge *g = calloc(1, sizeof *g);
    if (g) {
        g->name = strdup(name);
        g->labels = strdup(labels);
        g->value = value;
        if (g->name && g->labels) {
            *pp = g;
        } else {
            free(g->name);
            free(g->labels);
            free(g);
        }
    }
    pthread_mutex_unlock(&t->lock);
}
