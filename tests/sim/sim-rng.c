/* SPDX-License-Identifier: MIT */
/* xoshiro256** seeded through SplitMix64 (Blackman and Vigna), the simulator's only randomness. */
#include <assert.h>

#include "sim-rng.h"

static uint64_t splitmix64(uint64_t *x) {
        uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(SimRng *r, uint64_t seed) {
        uint64_t x = seed;

        assert(r);
        for (unsigned i = 0; i < 4; i++)
                r->s[i] = splitmix64(&x);
}

uint64_t sim_rng_next(SimRng *r) {
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

uint64_t sim_rng_below(SimRng *r, uint64_t bound) {
        uint64_t x, limit;

        if (bound == 0)
                return 0;
        /* Rejection sampling keeps every value equally likely. */
        limit = UINT64_MAX - UINT64_MAX % bound;
        do
                x = sim_rng_next(r);
        while (x >= limit);
        return x % bound;
}

uint64_t sim_rng_range(SimRng *r, uint64_t lo, uint64_t hi) {
        if (hi <= lo)
                return lo;
        if (hi - lo == UINT64_MAX)
                return sim_rng_next(r);
        return lo + sim_rng_below(r, hi - lo + 1);
}

bool sim_rng_chance(SimRng *r, uint32_t ppm) {
        return sim_rng_below(r, 1000000) < ppm;
}

uint64_t sim_rng_exp(SimRng *r, uint64_t mean) {
        uint64_t step = mean * 693 / 1000, d = 0;

        /*
         * A memoryless spacing without libm: the halving time of an exponential is
         * mean·ln 2, so count fair coin flips until the first tail, one halving time
         * each, then spread uniformly within the last one. The tail is geometric, as
         * an exponential's is, and the mean is within 4 % of the one asked for.
         */
        while (sim_rng_next(r) & 1)
                d += step;
        d += sim_rng_below(r, step + 1);
        return d > 0 ? d : 1;
}

uint64_t sim_rng_core_next(void *userdata) {
        return sim_rng_next(userdata);
}
