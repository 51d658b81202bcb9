/* core/rng — xoshiro256** seeded through splitmix64. */
#include "rng.h"

#include <stdio.h>
#include <string.h>

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tp_rng_seed(tp_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tp_rng_next(tp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tp_rng_double(tp_rng *r) { return (double)(tp_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t tp_rng_below(tp_rng *r, uint64_t n)
{
    /* Rejection keeps it unbiased. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = tp_rng_next(r);
    while (x >= limit);
    return x % n;
}

void tp_rng_string(tp_rng *r, const char *alphabet, char *out, size_t n)
{
    size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[tp_rng_below(r, k)];
    out[n] = '\0';
}

void tp_rng_uuid(tp_rng *r, char out[37])
{
    uint64_t a = tp_rng_next(r), b = tp_rng_next(r);
    a = (a & ~0xf000ull) | 0x4000ull;                       /* version 4 */
    b = (b & ~(3ull << 62)) | (2ull << 62);                 /* variant 10 */
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffull));
}
