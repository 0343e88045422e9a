/* SPDX-License-Identifier: MIT */
/* The proposer and guard of one name on one host (DESIGN.md "Acquire" to "Handoff"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "core/msg.h"
#include "core/rank.h"
#include "core/rng.h"

/* Per-name timing (DESIGN.md "Timing is agreed": T is per name, from HeartbeatSec=). */
typedef struct GuardParams {
        uint64_t heartbeat_usec;     /* H (default 1 s); the lease is T = 3H */
        uint64_t stop_usec;          /* S, the unit's stop budget (default 500 ms) */
        uint64_t rank_step_usec;     /* Δ, campaign delay per rank (default 100 ms) */
        uint64_t round_timeout_usec; /* a round without a quorum by then missed it (default H) */
} GuardParams;

#define GUARD_RANK_STEP_DEFAULT_USEC UINT64_C(100000)
#define GUARD_BACKOFF_BASE_USEC UINT64_C(50000) /* the 50 ms of 50 ms·2^k */

void guard_params_init(GuardParams *p);

/*
 * What all guards of a node share: who they are, the configuration they count
 * quorums in, the randomness and the round-id counter. Owned by the caller (the
 * node), it must outlive the guards; a new configuration is installed by writing
 * .config and calling guard_config_changed() on every guard.
 */
typedef struct GuardContext {
        uint16_t self;
        uint64_t incarnation;
        VoterConfig config;
        CoreRng rng;
        uint64_t next_round; /* round ids: unique per node and incarnation */
        uint64_t ballot_floor;   /* counters of earlier lives are at most this (durable) */
        uint64_t ballot_reserve; /* counters up to this may be sent (made durable first) */
} GuardContext;

/* Ballot counters are reserved in steps, so that the reserve is written rarely. */
#define GUARD_BALLOT_RESERVE_STEP UINT64_C(1024)

/* Initialises ctx; round ids start at incarnation·2³² so a restart never reuses one. */
int guard_context_init(GuardContext *ctx, uint16_t self, uint64_t incarnation,
                       const VoterConfig *config, const CoreRng *rng);

typedef enum GuardState {
        GUARD_IDLE,      /* not a candidate (never was, or released) */
        GUARD_WAITING,   /* a candidate waiting for its next attempt (rank, backoff, live lease) */
        GUARD_READING,   /* READ round in flight */
        GUARD_PREPARING, /* PREPARE round in flight (t0 taken before it was sent) */
        GUARD_ACCEPTING, /* ACCEPT(LEASE) round of an acquisition in flight */
        GUARD_HOLDING,   /* tenure begun: unit started, renewing every H */
        GUARD_STOPPING,  /* the unit is being stopped (fence, release, handoff, failure) */
        GUARD_RELEASING, /* unit confirmed stopped; writing FREE or RESERVED(B) */
        _GUARD_STATE_MAX,
} GuardState;

typedef struct Guard Guard;

/*
 * A guard for name, idle. Validates the timing (lease_validate()): -ERANGE when
 * T_hold − S < 2H, -E2BIG when T > T_max, -EINVAL on bad arguments.
 */
int guard_new(GuardContext *ctx, const char *name, const GuardParams *params, Guard **ret);
Guard *guard_free(Guard *g);

const char *guard_name(const Guard *g);

/* The live eligible candidates for this name, for the rank (self included if eligible). */
int guard_set_candidates(Guard *g, const RankCandidate *candidates, size_t n);

/*
 * Become a candidate: READ, wait past a live foreign claim, wait rank·Δ + U(0,Δ),
 * PREPARE, ACCEPT (DESIGN.md "Acquire"). Also ends a pending release. No-op when
 * already campaigning or holding.
 */
int guard_campaign(Guard *g, uint64_t now, ActionList *out);

/*
 * Give the name up (DESIGN.md "Release"): if the unit runs, stop it; once it is
 * confirmed inactive, ACCEPT(b, FREE); then idle. A candidate that does not hold
 * the name simply goes idle.
 */
int guard_release(Guard *g, uint64_t now, ActionList *out);

/*
 * Hand the name to host `to` (DESIGN.md "Handoff A→B"): stop the unit, confirm it
 * inactive, ACCEPT(b, RESERVED(to, T)) to a quorum, then TAKE to `to`. -ENOTCONN
 * unless this host holds the name; -EINVAL for to = self or PES_HOST_NONE.
 */
int guard_handoff(Guard *g, uint16_t to, uint64_t now, ActionList *out);

/*
 * The daemon saw the unit inactive with an empty cgroup. Expected after a
 * STOP_UNIT; without one it means the unit stopped by itself, handled like
 * guard_unit_failed().
 */
int guard_unit_stopped(Guard *g, uint64_t now, ActionList *out);

/*
 * The unit failed (DESIGN.md "systemd integration"): stop it, release the name
 * and campaign again only after a backoff that doubles with each failure.
 */
int guard_unit_failed(Guard *g, uint64_t now, ActionList *out);

/*
 * A reply for this name (READ_REPLY, PROMISE, ACCEPTED, NACK, NACK_CONFIG) or a
 * TAKE. Replies count only toward the round whose id they echo, once per voter,
 * and only in the guard's configuration epoch.
 */
int guard_receive(Guard *g, const PeerMsg *m, uint64_t now, ActionList *out);

/* Time passes: wake-ups, round timeouts, renewals, fence and kill deadlines. */
int guard_timer(Guard *g, uint64_t now, ActionList *out);

/*
 * The local acceptor accepted FREE for this name (a release): a guard waiting out
 * another host's live claim tries again now instead of at the claim's expiry.
 * Returns 1 if the wait was cut short, 0 if there was none to cut.
 */
int guard_claim_cleared(Guard *g, uint64_t now);

/* The configuration changed: rounds in flight restart from PREPARE (or READ). */
int guard_config_changed(Guard *g, uint64_t now, ActionList *out);

/* When guard_timer() must next run (UINT64_MAX: never). */
uint64_t guard_next_deadline(const Guard *g);

/*
 * `pesctl holds` (DESIGN.md "Fencing is only as good as its margins"): true only
 * while the tenure has begun, now < valid − S, and no stop, release or handoff is
 * pending.
 */
bool guard_holds(const Guard *g, uint64_t now);

/*
 * Whether this host believes it holds a valid lease: tenure begun, now < valid,
 * and not writing it away (FREE or RESERVED in flight). This is what invariant I1
 * is checked on.
 */
bool guard_lease_valid(const Guard *g, uint64_t now);

/* Whether the guard has asked for the unit to run and not seen it stopped since. */
bool guard_unit_active(const Guard *g);

GuardState guard_state(const Guard *g);
/* The holder's deadline on this node's clock (0: no tenure). */
uint64_t guard_valid(const Guard *g);
/* The fencing token of the current tenure (0: none). */
uint64_t guard_token(const Guard *g);
/* The ballot of the current tenure or attempt. */
Ballot guard_ballot(const Guard *g);
/* The holder of the highest value this guard last saw (PES_HOST_NONE if free/unknown). */
uint16_t guard_seen_holder(const Guard *g);
/* Consecutive unit failures (reset after a tenure of 2T without one). */
unsigned guard_failures(const Guard *g);

const char *guard_state_to_string(GuardState s);
