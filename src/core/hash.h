/* SPDX-License-Identifier: MIT */
/* The fixed, documented 64-bit hashes the core uses; every host must compute the same. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV1A64_PRIME UINT64_C(0x100000001b3)

/* 64-bit FNV-1a of buf, continuing from h (start with FNV1A64_OFFSET). */
uint64_t fnv1a64(uint64_t h, const void *buf, size_t len);

/* The SplitMix64 finaliser: a bijective mix whose output bits all depend on all input bits. */
uint64_t mix64(uint64_t x);
