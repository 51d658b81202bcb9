/* core/clock — real or virtual "now" (see clock.h). The virtual reading is an
 * atomic so readers outside the engine lock (health, logs) never tear it. */
#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct tp_clock {
    tp_clock_mode mode;
    _Atomic int64_t virtual_ms;
};

tp_clock *tp_clock_new(tp_clock_mode mode, int64_t start_ms)
{
    tp_clock *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->mode = mode;
    atomic_store(&c->virtual_ms, start_ms > 0 ? start_ms : TP_CLOCK_VIRTUAL_EPOCH_MS);
    return c;
}

void tp_clock_free(tp_clock *c) { free(c); }

tp_clock_mode tp_clock_mode_get(const tp_clock *c) { return c->mode; }

const char *tp_clock_mode_name(tp_clock_mode m) { return m == TP_CLOCK_VIRTUAL ? "virtual" : "real"; }

int64_t tp_wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tp_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tp_clock_now_ms(const tp_clock *c)
{
    if (c->mode == TP_CLOCK_REAL)
        return tp_wall_now_ms();
    return atomic_load(&((tp_clock *)c)->virtual_ms);
}

int tp_clock_set_ms(tp_clock *c, int64_t t)
{
    if (c->mode != TP_CLOCK_VIRTUAL)
        return -1;
    if (t > atomic_load(&c->virtual_ms))
        atomic_store(&c->virtual_ms, t);
    return 0;
}

void tp_format_iso8601(int64_t ms, char *out, size_t n)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}
