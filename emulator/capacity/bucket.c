/* capacity/bucket — token bucket arithmetic (bucket.h). */
#include "bucket.h"

int64_t tp_bucket_capacity(const tp_bucket *b)
{
    if (b->rate <= 0 || b->burst_ms <= 0)
        return 0;
    if (b->rate > INT64_MAX / b->burst_ms)
        return INT64_MAX;
    return b->rate * b->burst_ms;
}

void tp_bucket_init(tp_bucket *b, int64_t rate, int64_t burst_ms, int start_full, int64_t now_ms)
{
    b->rate = rate < 0 ? 0 : rate;
    b->burst_ms = burst_ms < 0 ? 0 : burst_ms;
    b->last_ms = now_ms;
    b->level = start_full ? tp_bucket_capacity(b) : 0;
}

void tp_bucket_refill(tp_bucket *b, int64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return;
    int64_t dt = now_ms - b->last_ms;
    b->last_ms = now_ms;
    int64_t cap = tp_bucket_capacity(b);
    if (b->rate <= 0 || b->level >= cap)
        return;
    /* Exact: level + rate*dt, without overflowing when dt is large. */
    int64_t room = cap - b->level;   /* > 0; may be large when in debt */
    if (dt >= room / b->rate + 1)
        b->level = cap;
    else
        b->level += b->rate * dt;
    if (b->level > cap)
        b->level = cap;
}

int tp_bucket_admit(tp_bucket *b, int64_t now_ms)
{
    tp_bucket_refill(b, now_ms);
    return b->level > 0;
}

void tp_bucket_charge(tp_bucket *b, int64_t cost_milli)
{
    if (cost_milli > 0)
        b->level -= cost_milli;
}

void tp_bucket_set_rate(tp_bucket *b, int64_t rate, int64_t burst_ms, int64_t now_ms)
{
    tp_bucket_refill(b, now_ms);
    b->rate = rate < 0 ? 0 : rate;
    b->burst_ms = burst_ms < 0 ? 0 : burst_ms;
    if (now_ms > b->last_ms)
        b->last_ms = now_ms;
    int64_t cap = tp_bucket_capacity(b);
    if (b->level > cap)
        b->level = cap;
}

int64_t tp_units_to_milli(double units)
{
    if (!(units > 0))
        return 0;
    double m = units * 1000.0 + 0.5;
    if (m >= 9.0e18)
        return INT64_MAX / 2;
    return (int64_t)m;
}
