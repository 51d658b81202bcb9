/* capacity/keyrange — ranges of a key space with their own buckets
 * (keyrange.h). */
#include "keyrange.h"

#include <stdlib.h>
#include <string.h>

#define HEAT_GAP_MS 2000   /* two seconds without refusals cool a range */

uint32_t tp_keyranges_hi(const tp_keyranges *kr, int i)
{
    return i + 1 < kr->n ? kr->r[i + 1].lo - 1 : UINT32_MAX;
}

static uint64_t width(const tp_keyranges *kr, int i)
{
    return (uint64_t)tp_keyranges_hi(kr, i) - kr->r[i].lo + 1;
}

static int reserve(tp_keyranges *kr, int n)
{
    if (n <= kr->cap)
        return 0;
    int cap = kr->cap ? kr->cap * 2 : 8;
    while (cap < n)
        cap *= 2;
    tp_keyrange *r = realloc(kr->r, (size_t)cap * sizeof *r);
    if (!r)
        return -1;
    kr->r = r;
    kr->cap = cap;
    return 0;
}

static void cool(tp_keyrange *x)
{
    x->heat_since_ms = x->heat_last_ms = -1;
    x->hot_min = x->hot_max = 0;
}

/* Splits range i at mid (r[i].lo < mid <= hi): the upper half is a copy of
 * the parent (levels, not counters) starting at mid. */
static int split_at(tp_keyranges *kr, int i, uint32_t mid)
{
    if (kr->n >= TP_KEYRANGE_MAX || reserve(kr, kr->n + 1) != 0)
        return -1;
    memmove(&kr->r[i + 2], &kr->r[i + 1], (size_t)(kr->n - i - 1) * sizeof kr->r[0]);
    kr->r[i + 1] = kr->r[i];
    kr->r[i + 1].lo = mid;
    memset(kr->r[i + 1].consumed_milli, 0, sizeof kr->r[i + 1].consumed_milli);
    memset(kr->r[i + 1].throttled, 0, sizeof kr->r[i + 1].throttled);
    cool(&kr->r[i]);
    cool(&kr->r[i + 1]);
    kr->n++;
    return 0;
}

int tp_keyranges_shape(tp_keyranges *kr, int count, int ndims, const int64_t *rates,
                       const int64_t *burst_ms, int start_full, int64_t now_ms)
{
    if (count < 1)
        count = 1;
    if (count > TP_KEYRANGE_MAX)
        count = TP_KEYRANGE_MAX;
    if (ndims > TP_KEYRANGE_MAX_DIMS)
        ndims = TP_KEYRANGE_MAX_DIMS;
    if (kr->n == 0) {
        if (reserve(kr, count) != 0)
            return -1;
        for (int i = 0; i < count; i++) {
            tp_keyrange *x = &kr->r[i];
            memset(x, 0, sizeof *x);
            x->lo = (uint32_t)(((uint64_t)i << 32) / (uint64_t)count);
            for (int k = 0; k < ndims; k++)
                tp_bucket_init(&x->b[k], rates[k], burst_ms[k], start_full, now_ms);
            cool(x);
        }
        kr->n = count;
        return 0;
    }
    while (kr->n < count) {   /* grow: the widest range splits in half */
        int w = 0;
        for (int i = 1; i < kr->n; i++)
            if (width(kr, i) > width(kr, w))
                w = i;
        if (width(kr, w) < 2 || split_at(kr, w, (uint32_t)(kr->r[w].lo + width(kr, w) / 2)) != 0)
            break;
    }
    for (int i = 0; i < kr->n; i++)
        for (int k = 0; k < ndims; k++)
            if (kr->r[i].b[k].rate != rates[k] || kr->r[i].b[k].burst_ms != burst_ms[k])
                tp_bucket_set_rate(&kr->r[i].b[k], rates[k], burst_ms[k], now_ms);
    return 0;
}

int tp_keyranges_find(const tp_keyranges *kr, uint32_t key)
{
    int lo = 0, hi = kr->n - 1;
    while (lo < hi) {   /* the last range whose lo <= key */
        int mid = lo + (hi - lo + 1) / 2;
        if (kr->r[mid].lo <= key)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

void tp_keyranges_cool(tp_keyranges *kr, int i, int64_t now_ms)
{
    tp_keyrange *x = &kr->r[i];
    if (x->heat_last_ms >= 0 && now_ms - x->heat_last_ms > HEAT_GAP_MS)
        cool(x);
}

int tp_keyranges_heat(tp_keyranges *kr, int i, uint32_t key, int64_t now_ms,
                      int64_t split_after_ms)
{
    tp_keyrange *x = &kr->r[i];
    if (x->heat_since_ms < 0 || now_ms - x->heat_last_ms > HEAT_GAP_MS) {
        x->heat_since_ms = now_ms;
        x->hot_min = x->hot_max = key;
    }
    x->heat_last_ms = now_ms;
    if (key < x->hot_min)
        x->hot_min = key;
    if (key > x->hot_max)
        x->hot_max = key;
    if (split_after_ms <= 0 || now_ms - x->heat_since_ms < split_after_ms ||
        x->hot_min == x->hot_max)
        return 0;
    /* Between the hot keys: the lowest stays below, the highest goes up. */
    uint32_t mid = x->hot_min + (uint32_t)(((uint64_t)x->hot_max - x->hot_min + 1) / 2);
    if (split_at(kr, i, mid) != 0)
        return 0;
    kr->heat_splits++;
    return 1;
}

void tp_keyranges_free(tp_keyranges *kr)
{
    free(kr->r);
    memset(kr, 0, sizeof *kr);
}
