/* capacity/keyrange — a resource's key space cut into ranges, each with
 * its own token buckets (DynamoDB's partitions), pure: no AWS knowledge.
 *
 * Keys are 32-bit hashes chosen by the owner. Ranges cover the whole hash
 * space without gaps, sorted by their first hash; they only ever split
 * (never merge), so a range count is a high-water mark:
 *
 *   one range [0, 2^32)  --grow(n)-->  n even ranges  --grow / heat-->  more
 *
 *   tp_keyranges_shape   first call: n even ranges; later: the widest
 *                        range splits in half until there are n
 *   tp_keyranges_heat    a range that has refused requests for
 *                        split_after_ms, from more than one key, splits
 *                        between its lowest and highest refused key
 *                        ("split for heat"); one hot key never splits
 *
 * A split gives both halves the parent's bucket levels: the heat moves to
 * two ranges, it does not mint capacity. */
#ifndef TP_CAPACITY_KEYRANGE_H
#define TP_CAPACITY_KEYRANGE_H

#include <stdint.h>

#include "bucket.h"

#define TP_KEYRANGE_MAX_DIMS 4
#define TP_KEYRANGE_MAX 4096   /* ranges per resource; splits stop here */

typedef struct tp_keyrange {
    uint32_t lo;                              /* first hash; ends where the next begins */
    tp_bucket b[TP_KEYRANGE_MAX_DIMS];
    int64_t consumed_milli[TP_KEYRANGE_MAX_DIMS];
    int64_t throttled[TP_KEYRANGE_MAX_DIMS];
    int64_t heat_since_ms, heat_last_ms;      /* -1: not refusing */
    uint32_t hot_min, hot_max;                /* refused key hashes since heat_since */
} tp_keyrange;

typedef struct tp_keyranges {
    int n, cap;
    tp_keyrange *r;          /* sorted by lo; r[0].lo == 0 when n > 0 */
    int64_t heat_splits;     /* how many splits heat made */
} tp_keyranges;

/* Brings kr to at least count ranges (1..TP_KEYRANGE_MAX) with rates[k]
 * units/s and burst_ms[k] on each of ndims buckets; new ranges start full or
 * empty on the first call. Returns 0, -1 out of memory. */
int tp_keyranges_shape(tp_keyranges *kr, int count, int ndims, const int64_t *rates,
                       const int64_t *burst_ms, int start_full, int64_t now_ms);
/* The index of the range holding key. n must be > 0. */
int tp_keyranges_find(const tp_keyranges *kr, uint32_t key);
/* The last hash of range i (inclusive). */
uint32_t tp_keyranges_hi(const tp_keyranges *kr, int i);
/* Notes that range i refused key at now_ms; splits it for heat when due
 * (split_after_ms > 0). Returns 1 when it split. */
int tp_keyranges_heat(tp_keyranges *kr, int i, uint32_t key, int64_t now_ms,
                      int64_t split_after_ms);
/* Range i admitted a request: a gap of a second or more ends its heat. */
void tp_keyranges_cool(tp_keyranges *kr, int i, int64_t now_ms);
void tp_keyranges_free(tp_keyranges *kr);

#endif
