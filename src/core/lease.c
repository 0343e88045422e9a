/* SPDX-License-Identifier: MIT */
/* The lease arithmetic of pes, in one place, with the reasoning that makes it safe. */
#include <errno.h>
#include <stdbool.h>

#include "core/lease.h"

/*
 * Why these formulas keep a lease from being held twice (DESIGN.md "Lease",
 * PaxosLease).
 *
 * No two hosts compare clock readings. Each measures durations on its own unslewed
 * clock, whose rate against true time lies in [1−ρ, 1+ρ].
 *
 * The holder notes t0 on its clock *before* it sends the PREPARE (acquire) or the
 * ACCEPT (renew). Every acceptor that accepts that round does so at a true time
 * no earlier than t0, and counts the lease for T·(1+ρ) on its own clock. Even if
 * its clock runs fast (rate 1+ρ) that lasts at least T·(1+ρ)/(1+ρ) = T of true
 * time. So every acceptor of the quorum keeps the claim live until at least
 * true(t0) + T; while it is live, it refuses any other host's PREPARE, and every
 * later prepare quorum intersects the accept quorum in at least one such acceptor.
 *
 * The holder counts its lease valid until t0 + T_hold on its own clock, with
 * T_hold = T·(1−ρ)/(1+ρ) − δ. Even if its clock runs slow (rate 1−ρ) that ends
 * at the latest T_hold/(1−ρ) = T/(1+ρ) − δ/(1−ρ) of true time after t0, i.e.
 * before true(t0) + T by a margin of T·ρ/(1+ρ) + δ/(1−ρ) ≈ ρT + δ. δ absorbs a
 * pause of the holder between reading its clock and acting on it (DESIGN.md
 * "δ is sized to the longest host pause the cluster accepts").
 *
 * Rounding always errs toward safety: the holder's figure is rounded down, the
 * acceptor's up. A restarted acceptor, which lost its volatile expiry, counts a
 * full T·(1+ρ) again from its start, which is later than the accept it replaces.
 *
 * The holder additionally stops its unit at valid − S and SIGKILLs it at valid
 * (DESIGN.md "Self-fence"), so the unit is dead before any acceptor could grant
 * the name to another host. For this to leave room for renewals, T_hold − S must
 * be at least 2H: the unit survives one lost renewal and still has a heartbeat of
 * slack for the next.
 */

#define PPM UINT64_C(1000000)

uint64_t lease_from_heartbeat(uint64_t heartbeat_usec) {
        if (heartbeat_usec > LEASE_USEC_MAX / LEASE_HEARTBEATS_PER_LEASE)
                return LEASE_USEC_MAX;
        return heartbeat_usec * LEASE_HEARTBEATS_PER_LEASE;
}

int lease_hold_usec(uint64_t lease_usec, uint32_t rho_ppm, uint64_t delta_usec, uint64_t *ret) {
        uint64_t scaled;

        if (!ret || lease_usec == 0 || lease_usec > LEASE_USEC_MAX || rho_ppm > LEASE_RHO_PPM_MAX)
                return -EINVAL;

        /* T·(10⁶ − ρ_ppm)/(10⁶ + ρ_ppm), rounded down: < 2⁴⁰·2²¹, no overflow. */
        scaled = lease_usec * (PPM - rho_ppm) / (PPM + rho_ppm);
        if (scaled <= delta_usec)
                return -ERANGE;

        *ret = scaled - delta_usec;
        return 0;
}

uint64_t lease_acceptor_usec(uint64_t lease_usec, uint32_t rho_ppm) {
        if (lease_usec > LEASE_USEC_MAX)
                lease_usec = LEASE_USEC_MAX;
        if (rho_ppm > LEASE_RHO_PPM_MAX)
                rho_ppm = LEASE_RHO_PPM_MAX;

        /* T·(10⁶ + ρ_ppm)/10⁶, rounded up. */
        return (lease_usec * (PPM + rho_ppm) + PPM - 1) / PPM;
}

static bool heartbeat_passes(uint64_t heartbeat_usec, uint64_t stop_usec, uint32_t rho_ppm, uint64_t delta_usec) {
        uint64_t hold;

        if (lease_hold_usec(lease_from_heartbeat(heartbeat_usec), rho_ppm, delta_usec, &hold) < 0)
                return false;
        return hold >= stop_usec && hold - stop_usec >= 2 * heartbeat_usec;
}

int lease_validate(uint64_t heartbeat_usec, uint64_t stop_usec, uint32_t rho_ppm,
                   uint64_t delta_usec, uint64_t lease_max_usec,
                   uint64_t *ret_suggested_heartbeat_usec) {
        uint64_t denominator, h;

        if (heartbeat_usec == 0 || rho_ppm > LEASE_RHO_PPM_MAX ||
            heartbeat_usec > LEASE_USEC_MAX / LEASE_HEARTBEATS_PER_LEASE ||
            stop_usec > LEASE_USEC_MAX || delta_usec > LEASE_USEC_MAX)
                return -EINVAL;

        if (lease_from_heartbeat(heartbeat_usec) > lease_max_usec)
                return -E2BIG;

        if (heartbeat_passes(heartbeat_usec, stop_usec, rho_ppm, delta_usec))
                return 0;

        if (!ret_suggested_heartbeat_usec)
                return -ERANGE;
        *ret_suggested_heartbeat_usec = 0;

        /*
         * T_hold(3H) − S ≥ 2H means 3H·(M−ρ)/(M+ρ) − δ − S ≥ 2H (M = 10⁶), i.e.
         * H ≥ (δ + S)·(M+ρ)/(M − 5ρ). Start from that bound in whole milliseconds
         * and step up past the effect of rounding; the condition only gets easier
         * as H grows, so the first H that passes is the smallest.
         */
        denominator = PPM - 5 * (uint64_t) rho_ppm;
        if (5 * (uint64_t) rho_ppm >= PPM)
                return -ERANGE;
        h = (delta_usec + stop_usec) * (PPM + rho_ppm) / denominator;
        h = (h / 1000) * 1000;
        for (unsigned i = 0; i < 100; i++, h += 1000) {
                if (h == 0)
                        continue;
                if (lease_from_heartbeat(h) > lease_max_usec)
                        return -ERANGE;
                if (heartbeat_passes(h, stop_usec, rho_ppm, delta_usec)) {
                        *ret_suggested_heartbeat_usec = h;
                        return -ERANGE;
                }
        }
        return -ERANGE;
}
