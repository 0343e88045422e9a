/* SPDX-License-Identifier: MIT */
/* The caller-supplied source of randomness the core draws its jitter from. */
#pragma once

#include <stdint.h>

/*
 * The core never reads a randomness source itself: the daemon passes one backed by
 * getrandom(), the simulator one seeded per run, so a seed replays a run exactly.
 */
typedef struct CoreRng {
        uint64_t (*next)(void *userdata); /* 64 uniformly random bits */
        void *userdata;
} CoreRng;

/* A uniform integer in [0, bound); 0 when bound is 0. */
uint64_t core_rng_uniform(const CoreRng *rng, uint64_t bound);

/* A uniform integer in [lo, hi]; lo when hi ≤ lo. */
uint64_t core_rng_between(const CoreRng *rng, uint64_t lo, uint64_t hi);
