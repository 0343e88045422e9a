/* SPDX-License-Identifier: MIT */
/* Rendezvous (highest-random-weight) ranking of the candidates for a name (DESIGN.md "Acquire"). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

/* A live eligible candidate for a name and its weight (0: never chosen). */
typedef struct RankCandidate {
        uint16_t host;
        uint32_t weight;
} RankCandidate;

/*
 * The hash of (name, host): 64-bit FNV-1a over the name's bytes, xor'ed with the
 * SplitMix64 mix of the host id, then mixed again with SplitMix64. Fixed and
 * documented because every host must compute the same order.
 */
uint64_t rank_hash(const char *name, uint16_t host);

/*
 * The weighted HRW score −w / ln(u), u = the top 53 bits of rank_hash() mapped
 * into (0, 1). The logarithm is computed by the core itself, with the same
 * operations on every host, so no libm version can reorder two hosts.
 */
double rank_score(const char *name, uint16_t host, uint32_t weight);

/*
 * The place of host in the order of candidates for name, best first: 0 for the
 * best-scoring one. Ties go to the lower host id. A host that is not among the
 * candidates (or has weight 0) ranks after all of them (returns n).
 */
size_t rank_of(const char *name, uint16_t host, const RankCandidate *candidates, size_t n);

/*
 * The campaign delay rank·Δ + U(0, Δ) (DESIGN.md "Acquire"): the best-ranked host
 * tries first, and the jitter separates hosts whose views of the ranking differ.
 */
uint64_t rank_campaign_delay(size_t rank, uint64_t step_usec, const CoreRng *rng);
