/* capacity/bucket — token bucket arithmetic, pure (no AWS knowledge).
 *
 * Levels are integer milli-units, time integer milliseconds, rates whole
 * units per second: a rate of R units/s refills exactly R milli-units per
 * millisecond, so there is no floating drift and the same calls at the same
 * times always give the same levels. The bucket admits while its level is
 * positive; the caller then charges the full cost, which may take the level
 * below zero (debt). Capacity = rate * burst_ms milli-units (300 s of
 * unused capacity for provisioned tables, 1 s for on-demand ceilings). */
#ifndef TP_CAPACITY_BUCKET_H
#define TP_CAPACITY_BUCKET_H

#include <stdint.h>

typedef struct tp_bucket {
    int64_t rate;       /* units per second (= milli-units per ms), >= 0 */
    int64_t burst_ms;   /* capacity in milliseconds of rate */
    int64_t level;      /* milli-units; negative = debt */
    int64_t last_ms;    /* time of the last refill */
} tp_bucket;

void tp_bucket_init(tp_bucket *b, int64_t rate, int64_t burst_ms, int start_full, int64_t now_ms);
int64_t tp_bucket_capacity(const tp_bucket *b);
/* Adds what accrued since the last refill, up to the capacity. Time never
 * runs backwards for a bucket (an earlier now_ms is ignored). */
void tp_bucket_refill(tp_bucket *b, int64_t now_ms);
/* Refills, then returns 1 when the level is positive (admit), 0 otherwise. */
int tp_bucket_admit(tp_bucket *b, int64_t now_ms);
/* Takes cost milli-units (the level may go negative). */
void tp_bucket_charge(tp_bucket *b, int64_t cost_milli);
/* Refills at the old rate up to now, then switches to the new rate and
 * burst; the level is capped at the new capacity. */
void tp_bucket_set_rate(tp_bucket *b, int64_t rate, int64_t burst_ms, int64_t now_ms);
/* Capacity units (multiples of 0.5) to milli-units, rounded to nearest. */
int64_t tp_units_to_milli(double units);

#endif
