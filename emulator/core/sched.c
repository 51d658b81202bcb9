/* core/sched — binary min-heap on (due, seq); cancellation marks the entry
 * dead and it is skipped when popped, so cancel is O(n) find but pops stay
 * O(log n). */
#include "sched.h"

#include <stdlib.h>

typedef struct entry {
    int64_t due;
    uint64_t seq;   /* doubles as the id */
    tp_event_fn fn;
    void *arg;
    int dead;
} entry;

struct tp_sched {
    entry *heap;
    size_t n, cap, live;
    uint64_t next_seq;
};

tp_sched *tp_sched_new(void)
{
    tp_sched *s = calloc(1, sizeof *s);
    if (s)
        s->next_seq = 1;
    return s;
}

void tp_sched_free(tp_sched *s)
{
    if (!s)
        return;
    free(s->heap);
    free(s);
}

static int before(const entry *a, const entry *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void swap(entry *a, entry *b)
{
    entry t = *a;
    *a = *b;
    *b = t;
}

static void sift_up(tp_sched *s, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&s->heap[i], &s->heap[p]))
            break;
        swap(&s->heap[i], &s->heap[p]);
        i = p;
    }
}

static void sift_down(tp_sched *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->n && before(&s->heap[l], &s->heap[m]))
            m = l;
        if (r < s->n && before(&s->heap[r], &s->heap[m]))
            m = r;
        if (m == i)
            return;
        swap(&s->heap[i], &s->heap[m]);
        i = m;
    }
}

uint64_t tp_sched_at(tp_sched *s, int64_t due_ms, tp_event_fn fn, void *arg)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        entry *h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            return 0;
        s->heap = h;
        s->cap = cap;
    }
    entry e = {.due = due_ms, .seq = s->next_seq++, .fn = fn, .arg = arg, .dead = 0};
    s->heap[s->n] = e;
    sift_up(s, s->n++);
    s->live++;
    return e.seq;
}

int tp_sched_cancel(tp_sched *s, uint64_t id)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->heap[i].seq == id && !s->heap[i].dead) {
            s->heap[i].dead = 1;
            s->live--;
            return 0;
        }
    }
    return -1;
}

void tp_sched_clear(tp_sched *s)
{
    s->n = 0;
    s->live = 0;
}

size_t tp_sched_pending(const tp_sched *s) { return s->live; }

static void drop_dead_top(tp_sched *s)
{
    while (s->n && s->heap[0].dead) {
        s->heap[0] = s->heap[--s->n];
        sift_down(s, 0);
    }
}

int64_t tp_sched_next_due(const tp_sched *s)
{
    drop_dead_top((tp_sched *)s);
    return s->n ? s->heap[0].due : INT64_MAX;
}

int tp_sched_pop_due(tp_sched *s, int64_t until, tp_event_fn *fn, void **arg, int64_t *due,
                     uint64_t *id)
{
    drop_dead_top(s);
    if (!s->n || s->heap[0].due > until)
        return 0;
    entry e = s->heap[0];
    s->heap[0] = s->heap[--s->n];
    if (s->n)
        sift_down(s, 0);
    s->live--;
    *fn = e.fn;
    *arg = e.arg;
    *due = e.due;
    if (id)
        *id = e.seq;
    return 1;
}
