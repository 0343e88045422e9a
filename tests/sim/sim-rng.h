/* SPDX-License-Identifier: MIT */
/* The simulator's own seeded PRNG (xoshiro256**, seeded through SplitMix64): no global state. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct SimRng {
        uint64_t s[4];
} SimRng;

/* Seeds the generator; one seed gives one stream, on every host and compiler. */
void sim_rng_seed(SimRng *r, uint64_t seed);

/* 64 uniformly random bits. */
uint64_t sim_rng_next(SimRng *r);

/* A uniform integer in [0, bound); 0 when bound is 0. */
uint64_t sim_rng_below(SimRng *r, uint64_t bound);

/* A uniform integer in [lo, hi]; lo when hi ≤ lo. */
uint64_t sim_rng_range(SimRng *r, uint64_t lo, uint64_t hi);

/* True with probability ppm/10⁶. */
bool sim_rng_chance(SimRng *r, uint32_t ppm);

/* A roughly exponential (memoryless, geometric-tailed) duration with the given mean (µs), at least 1. */
uint64_t sim_rng_exp(SimRng *r, uint64_t mean);

/* The CoreRng callback: userdata is a SimRng. */
uint64_t sim_rng_core_next(void *userdata);
