/* SPDX-License-Identifier: MIT */
/* The fixed 64-bit hashes of the core: FNV-1a and the SplitMix64 finaliser. */
#include <assert.h>

#include "core/hash.h"

uint64_t fnv1a64(uint64_t h, const void *buf, size_t len) {
        const unsigned char *p = buf;

        assert(buf || len == 0);

        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= FNV1A64_PRIME;
        }
        return h;
}

uint64_t mix64(uint64_t x) {
        x += UINT64_C(0x9e3779b97f4a7c15);
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}
