/* core/rng — the seeded random source (xoshiro256**). Everything random
 * that can show in results (request ids, fault probabilities, jitter) draws
 * from a tp_rng so a seed replays a run. */
#ifndef TP_CORE_RNG_H
#define TP_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct tp_rng {
    uint64_t s[4];
} tp_rng;

void tp_rng_seed(tp_rng *r, uint64_t seed);
uint64_t tp_rng_next(tp_rng *r);
/* Uniform in [0, 1). */
double tp_rng_double(tp_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t tp_rng_below(tp_rng *r, uint64_t n);
/* Fills out with n characters drawn from alphabet, then a NUL. */
void tp_rng_string(tp_rng *r, const char *alphabet, char *out, size_t n);
/* A random RFC 4122 version-4 UUID string (36 chars + NUL). */
void tp_rng_uuid(tp_rng *r, char out[37]);

#endif
