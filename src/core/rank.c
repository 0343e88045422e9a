/* SPDX-License-Identifier: MIT */
/* Weighted rendezvous hashing of a name over its candidates, and the campaign delay. */
#include <assert.h>
#include <string.h>

#include "core/hash.h"
#include "core/rank.h"

uint64_t rank_hash(const char *name, uint16_t host) {
        uint64_t h;

        assert(name);

        h = fnv1a64(FNV1A64_OFFSET, name, strlen(name));
        return mix64(h ^ mix64(host));
}

/*
 * The natural logarithm of x > 0 with nothing but IEEE-754 double arithmetic:
 * x = m·2^e with m in [1, 2), ln x = e·ln 2 + 2·atanh((m−1)/(m+1)), the series
 * summed to a fixed number of terms. Every host runs exactly these operations, so
 * every host gets exactly the same scores, which a libm call cannot promise.
 */
static double core_ln(double x) {
        static const double ln2 = 0.693147180559945309417232121458;
        uint64_t bits;
        int e;
        double m, s, s2, term, sum;

        assert(x > 0);

        memcpy(&bits, &x, sizeof(bits));
        e = (int) ((bits >> 52) & 0x7ff);
        if (e == 0) {
                /* Subnormal: scale into the normal range first. */
                x *= 18014398509481984.0; /* 2⁵⁴ */
                memcpy(&bits, &x, sizeof(bits));
                e = (int) ((bits >> 52) & 0x7ff) - 54;
        }
        e -= 1023;
        bits = (bits & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3ff0000000000000);
        memcpy(&m, &bits, sizeof(m));

        s = (m - 1.0) / (m + 1.0); /* in [0, 1/3) */
        s2 = s * s;
        term = s;
        sum = 0;
        for (unsigned k = 1; k <= 41; k += 2) {
                sum += term / (double) k;
                term *= s2;
        }
        return (double) e * ln2 + 2.0 * sum;
}

double rank_score(const char *name, uint16_t host, uint32_t weight) {
        double u;

        if (weight == 0)
                return 0;

        /* The top 53 bits, centred in their interval: u lies strictly inside (0, 1). */
        u = ((double) (rank_hash(name, host) >> 11) + 0.5) / 9007199254740992.0;
        return -(double) weight / core_ln(u);
}

size_t rank_of(const char *name, uint16_t host, const RankCandidate *candidates, size_t n) {
        double own = -1;
        size_t better = 0;

        assert(name);
        assert(candidates || n == 0);

        for (size_t i = 0; i < n; i++)
                if (candidates[i].host == host && candidates[i].weight > 0) {
                        own = rank_score(name, host, candidates[i].weight);
                        break;
                }
        if (own < 0)
                return n;

        for (size_t i = 0; i < n; i++) {
                double s;

                if (candidates[i].host == host || candidates[i].weight == 0)
                        continue;
                s = rank_score(name, candidates[i].host, candidates[i].weight);
                if (s > own || (s == own && candidates[i].host < host))
                        better++;
        }
        return better;
}

uint64_t rank_campaign_delay(size_t rank, uint64_t step_usec, const CoreRng *rng) {
        uint64_t base;

        assert(rng);

        if (step_usec != 0 && rank > UINT64_MAX / 2 / step_usec)
                return UINT64_MAX / 2;
        base = (uint64_t) rank * step_usec;
        return base + core_rng_uniform(rng, step_usec);
}
