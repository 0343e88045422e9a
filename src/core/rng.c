/* SPDX-License-Identifier: MIT */
/* Uniform draws from the caller-supplied randomness. */
#include <assert.h>

#include "core/rng.h"

uint64_t core_rng_uniform(const CoreRng *rng, uint64_t bound) {
        uint64_t x, limit;

        assert(rng);
        assert(rng->next);

        if (bound == 0)
                return 0;

        /* Rejection sampling, so that no value is more likely than another. */
        limit = UINT64_MAX - UINT64_MAX % bound;
        do
                x = rng->next(rng->userdata);
        while (x >= limit);
        return x % bound;
}

uint64_t core_rng_between(const CoreRng *rng, uint64_t lo, uint64_t hi) {
        if (hi <= lo)
                return lo;
        if (hi - lo == UINT64_MAX)
                return rng->next(rng->userdata);
        return lo + core_rng_uniform(rng, hi - lo + 1);
}
