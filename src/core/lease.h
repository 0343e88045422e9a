/* SPDX-License-Identifier: MIT */
/* The lease arithmetic of pes, in one place (DESIGN.md "Lease", "Timing is agreed"). */
#pragma once

#include <stdint.h>

/* Defaults (DESIGN.md "Lease" and "Timing is agreed, not local"). */
#define LEASE_HEARTBEAT_DEFAULT_USEC UINT64_C(1000000) /* H = 1 s */
#define LEASE_HEARTBEATS_PER_LEASE 3                    /* T = 3H */
#define LEASE_RHO_DEFAULT_PPM 1000u                     /* ρ = 10⁻³ */
#define LEASE_DELTA_DEFAULT_USEC UINT64_C(200000)       /* δ = 200 ms */
#define LEASE_STOP_DEFAULT_USEC UINT64_C(500000)        /* S = 500 ms */
#define LEASE_MAX_DEFAULT_USEC UINT64_C(60000000)       /* T_max = 60 s */

/*
 * Bounds that keep every product below in 64 bits: T·(10⁶ + ρ_ppm) must not
 * overflow, and a drift bound of 10 % is already far beyond what an unslewed
 * clock shows.
 */
#define LEASE_USEC_MAX (UINT64_C(1) << 40) /* about 12.7 days */
#define LEASE_RHO_PPM_MAX 100000u

/* T = 3H: a lease survives two lost renewals (PES's "expiry after 3 heartbeats"). */
uint64_t lease_from_heartbeat(uint64_t heartbeat_usec);

/*
 * How long the holder may count its lease from t0 (taken before it sent PREPARE or
 * ACCEPT): T_hold = T·(1−ρ)/(1+ρ) − δ, rounded down. Returns -ERANGE when the
 * result would not be positive and -EINVAL on out-of-range arguments.
 */
int lease_hold_usec(uint64_t lease_usec, uint32_t rho_ppm, uint64_t delta_usec, uint64_t *ret);

/*
 * How long an acceptor counts a lease from the moment it accepted it, on its own
 * clock: T·(1+ρ), rounded up.
 */
uint64_t lease_acceptor_usec(uint64_t lease_usec, uint32_t rho_ppm);

/*
 * Validation of a unit's timing (DESIGN.md "Timing is agreed"): refuses
 * T_hold − S < 2H with -ERANGE (a unit that could never start, or that one lost
 * renewal would fence) and T = 3H > T_max with -E2BIG. On -ERANGE, if
 * ret_suggested_heartbeat_usec is not NULL, it receives the smallest heartbeat,
 * in whole milliseconds, that would pass (0 when none can, because ρ is too
 * large or T_max too small).
 */
int lease_validate(uint64_t heartbeat_usec, uint64_t stop_usec, uint32_t rho_ppm,
                   uint64_t delta_usec, uint64_t lease_max_usec,
                   uint64_t *ret_suggested_heartbeat_usec);
