/* SPDX-License-Identifier: MIT */
/* The proposer and guard of one name on one host: acquire, renew, fence, release, hand off. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ballot.h"
#include "core/guard.h"
#include "core/lease.h"
#include "core/quorum.h"

/* After this many missed FREE/RESERVED rounds the release gives up: the lease lapses by itself. */
#define GUARD_RELEASE_ATTEMPTS_MAX 3u
/* The exponent of the backoff, and of the unit-failure backoff, stops growing here. */
#define GUARD_BACKOFF_EXP_MAX 10u
#define GUARD_FAILURE_EXP_MAX 6u

typedef enum RoundKind {
        ROUND_NONE,
        ROUND_READ,
        ROUND_PREPARE,
        ROUND_ACCEPT,
} RoundKind;

/* What an ACCEPT after a successful PREPARE writes. */
typedef enum Intent {
        INTENT_LEASE,   /* acquire or keep the name */
        INTENT_FREE,    /* release */
        INTENT_RESERVE, /* hand off to .handoff_to */
} Intent;

typedef struct Round {
        RoundKind kind;
        uint64_t id;
        uint64_t t0;       /* node clock when the round was sent */
        uint64_t deadline; /* missed if no quorum by then */
        Ballot ballot;     /* PREPARE, ACCEPT */
        RegValue value;    /* ACCEPT: proposed */
        unsigned answered; /* bitmask by voter index */
        unsigned acked;    /* bitmask by voter index */
        unsigned resent;   /* bitmask by voter index: asked again after it was sent our configuration */

        /* READ and PREPARE: the highest value among the positive answers. */
        RegValue top;
        uint64_t top_remaining;
        bool have_top;

        /* A live claim of another host was seen: wait this long. */
        bool saw_live;
        uint64_t live_remaining;
        Ballot live_ba; /* the highest ballot of such a claim */
        /* A live RESERVED for this host was seen (handoff target). */
        bool reserved_for_self;
} Round;

struct Guard {
        GuardContext *ctx;
        char *name;
        GuardParams params;
        uint64_t lease_usec; /* T */
        uint64_t hold_usec;  /* T_hold */
        RankCandidate *candidates;
        size_t n_candidates;

        GuardState state;
        bool want;       /* a candidate: campaign again after a tenure ends */
        Round round;
        uint64_t wake_at;  /* WAITING: next attempt; HOLDING, RELEASING: re-PREPARE retry (0: none) */
        bool skip_read;    /* WAITING ends in PREPARE rather than READ */
        bool waiting_live; /* WAITING out another host's live claim (not a backoff) */
        unsigned backoff_k;

        uint64_t max_counter; /* highest ballot counter seen */
        Ballot ballot;        /* of the current attempt or tenure */
        Ballot promised;      /* the last ballot a prepare quorum promised to this guard */
        uint64_t seq;         /* last sequence number sent */

        /* The tenure. */
        bool tenure;
        uint64_t token;
        uint64_t valid;
        uint64_t tenure_start;
        uint64_t renew_at;
        bool unit_active;
        bool kill_sent;
        LostReason stopping;
        uint16_t handoff_to;
        Intent intent;
        unsigned release_attempts;

        unsigned failures;
        uint16_t seen_holder;
        uint64_t last_armed;
};

void guard_params_init(GuardParams *p) {
        assert(p);
        *p = (GuardParams) {
                .heartbeat_usec = LEASE_HEARTBEAT_DEFAULT_USEC,
                .stop_usec = LEASE_STOP_DEFAULT_USEC,
                .rank_step_usec = GUARD_RANK_STEP_DEFAULT_USEC,
                .round_timeout_usec = LEASE_HEARTBEAT_DEFAULT_USEC,
        };
}

int guard_context_init(GuardContext *ctx, uint16_t self, uint64_t incarnation,
                       const VoterConfig *config, const CoreRng *rng) {
        if (!ctx || self == PES_HOST_NONE || !config || !rng || !rng->next)
                return -EINVAL;
        if (voter_config_validate(config) < 0)
                return -EINVAL;

        *ctx = (GuardContext) {
                .self = self,
                .incarnation = incarnation,
                .config = *config,
                .rng = *rng,
                .next_round = (incarnation << 32) + 1,
        };
        return 0;
}

int guard_new(GuardContext *ctx, const char *name, const GuardParams *params, Guard **ret) {
        GuardParams p;
        uint64_t hold;
        Guard *g;
        size_t len;
        int r;

        if (!ctx || !name || !ret)
                return -EINVAL;
        len = strnlen(name, PES_NAME_MAX + 1);
        if (len == 0 || len > PES_NAME_MAX)
                return -EINVAL;

        if (params)
                p = *params;
        else
                guard_params_init(&p);
        if (p.round_timeout_usec == 0)
                p.round_timeout_usec = p.heartbeat_usec;

        r = lease_validate(p.heartbeat_usec, p.stop_usec, ctx->config.rho_ppm,
                           ctx->config.delta_usec, ctx->config.lease_max_usec, NULL);
        if (r < 0)
                return r;
        r = lease_hold_usec(lease_from_heartbeat(p.heartbeat_usec), ctx->config.rho_ppm,
                            ctx->config.delta_usec, &hold);
        if (r < 0)
                return r;

        g = calloc(1, sizeof(Guard));
        if (!g)
                return -ENOMEM;
        g->name = strdup(name);
        if (!g->name) {
                free(g);
                return -ENOMEM;
        }
        g->ctx = ctx;
        g->params = p;
        g->lease_usec = lease_from_heartbeat(p.heartbeat_usec);
        g->hold_usec = hold;
        g->state = GUARD_IDLE;
        *ret = g;
        return 0;
}

Guard *guard_free(Guard *g) {
        if (!g)
                return NULL;
        free(g->candidates);
        free(g->name);
        free(g);
        return NULL;
}

const char *guard_name(const Guard *g) {
        assert(g);
        return g->name;
}

int guard_set_candidates(Guard *g, const RankCandidate *candidates, size_t n) {
        RankCandidate *c = NULL;

        if (!g || (!candidates && n > 0))
                return -EINVAL;
        if (n > 0) {
                c = calloc(n, sizeof(RankCandidate));
                if (!c)
                        return -ENOMEM;
                memcpy(c, candidates, n * sizeof(RankCandidate));
        }
        free(g->candidates);
        g->candidates = c;
        g->n_candidates = n;
        return 0;
}

/* This host's rank; with no candidate list, the host competes alone (rank 0). */
static size_t own_rank(const Guard *g) {
        if (g->n_candidates == 0)
                return 0;
        return rank_of(g->name, g->ctx->self, g->candidates, g->n_candidates);
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t fence_at(const Guard *g) {
        return g->valid > g->params.stop_usec ? g->valid - g->params.stop_usec : 0;
}

/* The states in which renewals keep running: a graceful stop keeps the lease until the FREE/RESERVED write. */
static bool renewing(const Guard *g) {
        if (!g->tenure)
                return false;
        if (g->state == GUARD_HOLDING)
                return true;
        return g->state == GUARD_STOPPING &&
                g->stopping != LOST_FENCED && g->stopping != LOST_TENURE_ENDED;
}

/* ---- sending ---- */

static PeerMsg *send_msg(Guard *g, ActionList *out, uint16_t to, MsgType type) {
        Action *a;
        PeerMsg *m;
        size_t k;

        a = action_list_append(out, ACTION_SEND, g->name);
        if (!a)
                return NULL;
        a->send.to = to;
        m = &a->send.msg;
        m->type = type;
        m->from = g->ctx->self;
        m->incarnation = g->ctx->incarnation;
        m->epoch = g->ctx->config.epoch;
        m->round = g->round.id;
        k = strlen(g->name);
        memcpy(m->name, g->name, k + 1);
        return m;
}

static void round_begin(Guard *g, RoundKind kind, uint64_t now) {
        g->round = (Round) {
                .kind = kind,
                .id = g->ctx->next_round++,
                .t0 = now,
                .deadline = sat_add(now, g->params.round_timeout_usec),
        };
}

static void round_end(Guard *g) {
        g->round.kind = ROUND_NONE;
}

static int start_read(Guard *g, uint64_t now, ActionList *out) {
        const VoterConfig *c = &g->ctx->config;

        round_begin(g, ROUND_READ, now);
        g->state = GUARD_READING;
        g->wake_at = 0;
        for (unsigned i = 0; i < c->n_voters; i++) {
                if (!voter_config_in_prepare_set(c, c->voters[i]))
                        continue;
                if (!send_msg(g, out, c->voters[i], MSG_READ))
                        return -ENOMEM;
        }
        return 0;
}

/*
 * PREPARE(b) to the prepare set, b = (highest counter seen + 1, self). t0 is taken
 * now, before sending (DESIGN.md "Lease": it also covers promises lost in a
 * restart). A holder (or a releasing host) stays in its state; anyone else is
 * acquiring.
 */
static int start_prepare(Guard *g, uint64_t now, ActionList *out) {
        const VoterConfig *c = &g->ctx->config;
        PeerMsg *m;

        round_begin(g, ROUND_PREPARE, now);
        /* DESIGN.md "Identity": never a ballot an earlier life of this host sent. */
        g->ballot = ballot_next(g->max_counter > g->ctx->ballot_floor ? g->max_counter : g->ctx->ballot_floor,
                                g->ctx->self);
        g->max_counter = g->ballot.counter;
        if (g->ballot.counter > g->ctx->ballot_reserve) {
                Action *a = action_list_append(out, ACTION_PERSIST_BALLOTS, NULL);

                if (!a)
                        return -ENOMEM;
                g->ctx->ballot_reserve = g->ballot.counter + GUARD_BALLOT_RESERVE_STEP;
                a->ballots.reserve = g->ctx->ballot_reserve;
        }
        g->round.ballot = g->ballot;
        g->wake_at = 0;
        g->skip_read = false;
        if (!g->tenure && g->state != GUARD_RELEASING) {
                g->state = GUARD_PREPARING;
                g->intent = INTENT_LEASE;
        }

        for (unsigned i = 0; i < c->n_voters; i++) {
                if (!voter_config_in_prepare_set(c, c->voters[i]))
                        continue;
                m = send_msg(g, out, c->voters[i], MSG_PREPARE);
                if (!m)
                        return -ENOMEM;
                m->ballot = g->ballot;
                /* It leaves only once the reserve covering its ballot is durable. */
                out->actions[out->n - 1].send.after_persist = true;
        }
        return 0;
}

/* One ACCEPT round of v at the current ballot, t0 as given (taken before sending). */
static int start_accept(Guard *g, const RegValue *v, uint64_t t0, uint64_t now, ActionList *out) {
        const VoterConfig *c = &g->ctx->config;
        PeerMsg *m;

        round_begin(g, ROUND_ACCEPT, now);
        g->round.t0 = t0;
        g->round.ballot = g->ballot;
        g->round.value = *v;
        g->round.value.ba = g->ballot;
        g->round.value.seq = ++g->seq;

        for (unsigned i = 0; i < c->n_voters; i++) {
                if (!voter_config_in_accept_set(c, c->voters[i]))
                        continue;
                m = send_msg(g, out, c->voters[i], MSG_ACCEPT);
                if (!m)
                        return -ENOMEM;
                m->ballot = g->ballot;
                m->value = g->round.value;
        }
        return 0;
}

static RegValue lease_value(const Guard *g) {
        return (RegValue) {
                .kind = VALUE_LEASE,
                .holder = g->ctx->self,
                .token = g->token,
                .lease_usec = g->lease_usec,
        };
}

static int notify(Guard *g, ActionList *out, NotifyKind kind, LostReason reason) {
        Action *a;

        a = action_list_append(out, ACTION_NOTIFY, g->name);
        if (!a)
                return -ENOMEM;
        a->notify.kind = kind;
        a->notify.reason = reason;
        a->notify.token = g->token;
        a->notify.holder = g->ctx->self;
        return 0;
}

/* ---- waiting ---- */

static void wait_until(Guard *g, uint64_t when, bool skip_read) {
        round_end(g);
        g->state = GUARD_WAITING;
        g->wake_at = when;
        g->skip_read = skip_read;
        g->waiting_live = false;
}

/*
 * The backoff after a missed round (DESIGN.md "Acquire", "Liveness details"):
 * min(round time, 50 ms·2^k)·U(½, 1), capped by the measured round time rather
 * than by H, plus rank·Δ for a candidate.
 */
static uint64_t backoff(Guard *g, uint64_t now, bool with_rank) {
        uint64_t round_time, cap, b;

        round_time = now > g->round.t0 ? now - g->round.t0 : 1;
        cap = GUARD_BACKOFF_BASE_USEC << (g->backoff_k < GUARD_BACKOFF_EXP_MAX ? g->backoff_k : GUARD_BACKOFF_EXP_MAX);
        if (cap > round_time)
                cap = round_time;
        if (g->backoff_k < GUARD_BACKOFF_EXP_MAX)
                g->backoff_k++;
        b = core_rng_between(&g->ctx->rng, cap / 2, cap);
        if (with_rank)
                b = sat_add(b, (uint64_t) own_rank(g) * g->params.rank_step_usec);
        return b;
}

/* Campaign again after the tenure, or after a release that failed the unit. */
static void recampaign(Guard *g, uint64_t now, uint64_t extra_delay) {
        round_end(g);
        if (!g->want) {
                g->state = GUARD_IDLE;
                g->wake_at = 0;
                return;
        }
        wait_until(g, sat_add(now, extra_delay), false);
}

/* ---- tenure ---- */

static void tenure_clear(Guard *g) {
        g->tenure = false;
        g->valid = 0;
        g->renew_at = 0;
        g->kill_sent = false;
        g->stopping = LOST_NONE;
        g->release_attempts = 0;
}

static int after_stopped(Guard *g, uint64_t now, ActionList *out);

/*
 * The tenure ends on this host: holds() turns false at once, the unit is stopped,
 * and — for a release, handoff or failure — the FREE or RESERVED write follows once
 * the daemon confirms the unit inactive.
 */
static int begin_stop(Guard *g, LostReason reason, uint64_t now, ActionList *out) {
        int r;

        g->state = GUARD_STOPPING;
        g->stopping = reason;
        if (reason == LOST_FENCED || reason == LOST_TENURE_ENDED) {
                /* No more renewals: the tenure is over, let the lease lapse. */
                round_end(g);
                g->wake_at = 0;
        }

        r = notify(g, out, NOTIFY_LOST, reason);
        if (r < 0)
                return r;

        if (!g->unit_active)
                return after_stopped(g, now, out);
        if (!action_list_append(out, ACTION_STOP_UNIT, g->name))
                return -ENOMEM;
        return 0;
}

static uint64_t failure_backoff(const Guard *g) {
        unsigned k = g->failures < GUARD_FAILURE_EXP_MAX ? g->failures : GUARD_FAILURE_EXP_MAX;
        return g->params.heartbeat_usec << k;
}

static int write_release(Guard *g, uint64_t now, ActionList *out) {
        RegValue v = {
                .kind = g->intent == INTENT_RESERVE ? VALUE_RESERVED : VALUE_FREE,
                .holder = g->intent == INTENT_RESERVE ? g->handoff_to : PES_HOST_NONE,
                .token = g->token,
                .lease_usec = g->intent == INTENT_RESERVE ? g->lease_usec : 0,
        };

        g->state = GUARD_RELEASING;
        g->wake_at = 0;
        return start_accept(g, &v, now, now, out);
}

/* The release or handoff is over (written, moot or given up): campaign again or idle. */
static int release_done(Guard *g, uint64_t now, bool written, ActionList *out) {
        uint64_t delay = 0;
        int r;

        if (written) {
                r = notify(g, out, NOTIFY_RELEASED, g->stopping);
                if (r < 0)
                        return r;
        }

        if (g->stopping == LOST_HANDOFF && written) {
                /* DESIGN.md "Handoff": the reserved host acquires when told (TAKE). */
                PeerMsg *m = send_msg(g, out, g->handoff_to, MSG_TAKE);
                if (!m)
                        return -ENOMEM;
                m->ballot = g->ballot;
                m->value = g->round.value;
                delay = g->lease_usec;
        } else if (g->stopping == LOST_FAILED)
                delay = failure_backoff(g);

        tenure_clear(g);
        g->token = 0;
        recampaign(g, now, sat_add(delay, rank_campaign_delay(own_rank(g), g->params.rank_step_usec, &g->ctx->rng)));
        return 0;
}

static int after_stopped(Guard *g, uint64_t now, ActionList *out) {
        assert(g->state == GUARD_STOPPING);

        g->unit_active = false;

        switch (g->stopping) {
        case LOST_FENCED:
        case LOST_TENURE_ENDED:
                /* A new tenure needs a new PREPARE; this one keeps nothing. */
                tenure_clear(g);
                g->token = 0;
                recampaign(g, now, rank_campaign_delay(own_rank(g), g->params.rank_step_usec, &g->ctx->rng));
                return 0;

        case LOST_RELEASED:
        case LOST_FAILED:
        case LOST_HANDOFF:
                /*
                 * DESIGN.md "Release", "Handoff": only once the unit is confirmed
                 * inactive does the FREE/RESERVED write go out, at the tenure's
                 * ballot with a higher seq, so no delayed renewal can undo it.
                 */
                g->intent = g->stopping == LOST_HANDOFF ? INTENT_RESERVE : INTENT_FREE;
                /*
                 * A re-PREPARE of the tenure (after a renewal missed its quorum) may
                 * have moved g->ballot before a quorum promised it. An ACCEPT there
                 * would be phase 2 without phase 1, and could overwrite a newer
                 * holder's lease (found by the simulator, P2). Finish that PREPARE
                 * first: finish_prepare() writes the release only while the name
                 * is still this host's.
                 */
                if (ballot_compare(&g->ballot, &g->promised) != 0) {
                        g->state = GUARD_RELEASING;
                        return start_prepare(g, now, out);
                }
                return write_release(g, now, out);

        default:
                assert(false);
                return -EINVAL;
        }
}

/* ---- round outcomes ---- */

static void note_value(Guard *g, const PeerMsg *m) {
        Round *rd = &g->round;
        bool live = value_is_claim(&m->value) && m->remaining_usec > 0;

        if (!rd->have_top || value_compare(&m->value, &rd->top) > 0) {
                rd->top = m->value;
                rd->top_remaining = m->remaining_usec;
                rd->have_top = true;
        }
        if (live && m->value.holder != g->ctx->self) {
                rd->saw_live = true;
                if (ballot_compare(&m->value.ba, &rd->live_ba) > 0)
                        rd->live_ba = m->value.ba;
                g->seen_holder = m->value.holder;
                if (m->remaining_usec > rd->live_remaining)
                        rd->live_remaining = m->remaining_usec;
        }
        if (live && m->value.kind == VALUE_RESERVED && m->value.holder == g->ctx->self)
                rd->reserved_for_self = true;
}

static void note_seen_holder(Guard *g) {
        const Round *rd = &g->round;

        if (rd->saw_live)
                return; /* set by the refusal itself */
        if (rd->have_top && value_is_claim(&rd->top) && rd->top_remaining > 0)
                g->seen_holder = rd->top.holder;
        else
                g->seen_holder = PES_HOST_NONE;
}

/*
 * A live claim of another host blocks this attempt: wait its `remaining`, not an
 * exponential backoff (DESIGN.md "Liveness details"), then READ again.
 */
static void wait_live(Guard *g, uint64_t now) {
        wait_until(g, sat_add(now, g->round.live_remaining + 1), false);
        g->waiting_live = true;
}

/*
 * Whether every live claim of another host the round saw is over, by what else it
 * saw. FINDINGS.md F2: a value accepted at a higher ballot was proposed after a
 * prepare quorum found no live claim of another host, so a live claim below the
 * top ballot is over. And a FREE on top at the claim's own ballot is its holder's
 * release (values of one ballot come from its proposer alone, which writes FREE
 * only after its unit stopped, and never a LEASE after a FREE at that ballot): a
 * voter that is late with the FREE still counts the lease, but it is over. A claim
 * at the top ballot never is otherwise.
 */
static bool live_claim_released(const Round *rd) {
        return rd->saw_live && rd->have_top && rd->top.kind == VALUE_FREE &&
                ballot_compare(&rd->top.ba, &rd->live_ba) == 0;
}

static bool live_claims_over(const Round *rd) {
        if (!rd->saw_live || !rd->have_top)
                return false;
        return ballot_compare(&rd->top.ba, &rd->live_ba) > 0 || live_claim_released(rd);
}

static int finish_read(Guard *g, uint64_t now, ActionList *out) {
        /*
         * Only a release lets a READ go on past a live claim: a claim below a
         * higher ballot may still refuse the PREPARE at the voter that keeps it,
         * so waiting out its remaining time is quicker than being refused.
         */
        if (live_claim_released(&g->round))
                g->round.saw_live = false;
        note_seen_holder(g);

        if (g->round.saw_live) {
                wait_live(g, now);
                return 0;
        }
        if (g->round.reserved_for_self)
                return start_prepare(g, now, out);

        /* DESIGN.md "Acquire": wait rank·Δ + U(0, Δ), then PREPARE. */
        wait_until(g, sat_add(now, rank_campaign_delay(own_rank(g), g->params.rank_step_usec, &g->ctx->rng)), true);
        return 0;
}

static bool own_lease_on_top(const Guard *g) {
        const Round *rd = &g->round;

        return g->token != 0 && rd->have_top &&
                rd->top.kind == VALUE_LEASE &&
                rd->top.holder == g->ctx->self &&
                rd->top.token == g->token;
}

/*
 * While releasing: the highest value is still this tenure's (tokens are unique per
 * tenure), either its LEASE or the FREE/RESERVED it began to write.
 */
static bool own_tenure_on_top(const Guard *g) {
        const Round *rd = &g->round;

        if (own_lease_on_top(g))
                return true;
        return g->token != 0 && rd->have_top && rd->top.token == g->token &&
                (rd->top.kind == VALUE_FREE ||
                 (rd->top.kind == VALUE_RESERVED && rd->top.holder == g->handoff_to));
}

static int finish_prepare(Guard *g, uint64_t now, ActionList *out) {
        RegValue v;

        /* Phase 2 may use this ballot from now on, and only this one. */
        g->promised = g->round.ballot;

        /*
         * FINDINGS.md F2: a voter that recovered (a lost disk, a new voter) may
         * keep a claim live that a later ballot already replaced elsewhere, and a
         * voter late with a release keeps the released lease live: see
         * live_claims_over().
         */
        if (live_claims_over(&g->round))
                g->round.saw_live = false;
        note_seen_holder(g);

        if (g->state == GUARD_RELEASING) {
                /* The release or handoff goes on only while the name is still ours. */
                if (!own_tenure_on_top(g)) {
                        round_end(g);
                        return release_done(g, now, false, out);
                }
                return write_release(g, now, out);
        }

        if (g->tenure) {
                /*
                 * DESIGN.md "Identity": a holder's re-PREPARE keeps its token only if
                 * t0 < valid − S and the top promised value is its own LEASE with that
                 * token; otherwise its tenure is over.
                 */
                if (g->round.saw_live || !own_lease_on_top(g) || g->round.t0 >= fence_at(g)) {
                        round_end(g);
                        if (g->state == GUARD_HOLDING)
                                return begin_stop(g, LOST_TENURE_ENDED, now, out);
                        /*
                         * A graceful stop in progress: the name is no longer ours, so
                         * nothing is written once the unit is down, and renewals end.
                         * The kill deadline stays armed until then.
                         */
                        g->stopping = LOST_TENURE_ENDED;
                        g->wake_at = 0;
                        return 0;
                }
                v = lease_value(g);
                return start_accept(g, &v, g->round.t0, now, out);
        }

        /* Acquiring: with a quorum of promises and none live for another host. */
        if (g->round.saw_live) {
                wait_live(g, now);
                return 0;
        }

        /* A new tenure: the token is this ballot (DESIGN.md "Fencing token"). */
        g->token = ballot_token(&g->ballot);
        g->state = GUARD_ACCEPTING;
        v = lease_value(g);
        return start_accept(g, &v, g->round.t0, now, out);
}

static int arm_start(Guard *g, ActionList *out) {
        Action *a;

        a = action_list_append(out, ACTION_START_UNIT, g->name);
        if (!a)
                return -ENOMEM;
        a->start.token = g->token;
        a->start.valid = g->valid;
        return 0;
}

/*
 * PES_SIM_BREAK_T0_LATE and PES_SIM_BREAK_NO_FENCE disable one safety rule each,
 * only in the simulator's broken-rule builds (tests/sim/meson.build), to show that
 * its checker finds the resulting I1 violations. No real build defines them.
 */

static int finish_accept(Guard *g, uint64_t now, ActionList *out) {
#ifdef PES_SIM_BREAK_T0_LATE
        uint64_t t0 = now, deadline = sat_add(t0, g->hold_usec);
#else
        uint64_t t0 = g->round.t0, deadline = sat_add(t0, g->hold_usec);
#endif
        RegValue v;
        int r;

        g->backoff_k = 0;

        switch (g->state) {
        case GUARD_ACCEPTING:
                /*
                 * DESIGN.md "Acquire": the tenure begins only when a quorum accepted
                 * before t0 + T_hold − S; later, the unit could not even stop in
                 * time, so renew first (same ballot and token, a fresh t0).
                 */
                if (now >= (deadline > g->params.stop_usec ? deadline - g->params.stop_usec : 0)) {
                        v = lease_value(g);
                        return start_accept(g, &v, now, now, out);
                }
                round_end(g);
                g->state = GUARD_HOLDING;
                g->tenure = true;
                g->valid = deadline;
                g->tenure_start = now;
                g->renew_at = sat_add(t0, g->params.heartbeat_usec);
                g->kill_sent = false;
                g->unit_active = true;
                g->seen_holder = g->ctx->self;
                r = notify(g, out, NOTIFY_ACQUIRED, LOST_NONE);
                if (r < 0)
                        return r;
                return arm_start(g, out);

        case GUARD_HOLDING:
        case GUARD_STOPPING:
                /* A renewal (or the ACCEPT after a holder's re-PREPARE) reached a quorum. */
                round_end(g);
                if (g->tenure && deadline > g->valid)
                        g->valid = deadline;
                if (g->failures > 0 && now - g->tenure_start >= 2 * g->lease_usec)
                        g->failures = 0;
                return 0;

        case GUARD_RELEASING:
                round_end(g);
                return release_done(g, now, true, out);

        default:
                assert(false);
                return -EINVAL;
        }
}

/* A round missed its quorum: by refusals that leave too few voters, or by timeout. */
static int fail_round(Guard *g, uint64_t now, ActionList *out) {
        RoundKind kind = g->round.kind;

        note_seen_holder(g);

        switch (g->state) {
        case GUARD_READING:
                wait_until(g, sat_add(now, backoff(g, now, false)), false);
                return 0;

        case GUARD_PREPARING:
        case GUARD_ACCEPTING:
                if (g->round.saw_live) {
                        wait_live(g, now);
                        return 0;
                }
                /*
                 * Adopt the highest counter seen (already in max_counter) and back
                 * off; the retry is a PREPARE, which reads every promiser's value.
                 */
                wait_until(g, sat_add(now, backoff(g, now, true)), true);
                return 0;

        case GUARD_HOLDING:
        case GUARD_STOPPING:
                round_end(g);
                if (!renewing(g))
                        return 0;
                /*
                 * DESIGN.md "Renew": only when a renewal misses its quorum, go back
                 * to PREPARE (one's own live lease is allowed there). A missed
                 * re-PREPARE is retried after a backoff; the fence deadline bounds it.
                 */
                if (kind == ROUND_ACCEPT)
                        return start_prepare(g, now, out);
                g->wake_at = sat_add(now, backoff(g, now, false));
                return 0;

        case GUARD_RELEASING:
                round_end(g);
                if (++g->release_attempts >= GUARD_RELEASE_ATTEMPTS_MAX)
                        return release_done(g, now, false, out);
                g->wake_at = sat_add(now, backoff(g, now, false));
                return 0;

        default:
                round_end(g);
                return 0;
        }
}

static unsigned popcount(unsigned x) {
        unsigned c = 0;

        for (; x; x &= x - 1)
                c++;
        return c;
}

static void round_set(const Guard *g, unsigned *ret_size, unsigned *ret_quorum) {
        const VoterConfig *c = &g->ctx->config;
        unsigned n = 0;

        for (unsigned i = 0; i < c->n_voters; i++)
                if (g->round.kind == ROUND_ACCEPT ? voter_config_in_accept_set(c, c->voters[i]) :
                                                    voter_config_in_prepare_set(c, c->voters[i]))
                        n++;
        *ret_size = n;
        *ret_quorum = g->round.kind == ROUND_ACCEPT ? voter_config_accept_quorum(c) :
                                                      voter_config_prepare_quorum(c);
}

/* The request of the round in flight, again, to one voter. */
static int resend(Guard *g, uint16_t to, ActionList *out) {
        static const MsgType type[] = {
                [ROUND_READ] = MSG_READ,
                [ROUND_PREPARE] = MSG_PREPARE,
                [ROUND_ACCEPT] = MSG_ACCEPT,
        };
        PeerMsg *m;

        if (g->round.kind != ROUND_READ && g->round.kind != ROUND_PREPARE && g->round.kind != ROUND_ACCEPT)
                return 0;
        m = send_msg(g, out, to, type[g->round.kind]);
        if (!m)
                return -ENOMEM;
        if (g->round.kind == ROUND_READ)
                return 0;
        m->ballot = g->round.ballot;
        if (g->round.kind == ROUND_ACCEPT)
                m->value = g->round.value;
        else
                out->actions[out->n - 1].send.after_persist = true;
        return 0;
}

static int round_progress(Guard *g, uint64_t now, ActionList *out) {
        unsigned size, quorum, yes, no;

        round_set(g, &size, &quorum);
        yes = popcount(g->round.acked);
        no = popcount(g->round.answered & ~g->round.acked);

        if (yes >= quorum) {
                switch (g->round.kind) {
                case ROUND_READ:
                        return finish_read(g, now, out);
                case ROUND_PREPARE:
                        return finish_prepare(g, now, out);
                case ROUND_ACCEPT:
                        return finish_accept(g, now, out);
                default:
                        return 0;
                }
        }
        /* Re-PREPARE only when the round cannot reach its quorum, not on one minority NACK. */
        if (no > size - quorum)
                return fail_round(g, now, out);
        return 0;
}

static int receive_reply(Guard *g, const PeerMsg *m, uint64_t now, ActionList *out) {
        const VoterConfig *c = &g->ctx->config;
        Round *rd = &g->round;
        bool in_set, yes = false;
        Action *a;
        int idx;

        /* Replies are matched to the round that sent them (DESIGN.md "Order within a tenure"). */
        if (rd->kind == ROUND_NONE || m->round != rd->id)
                return 0;

        idx = voter_config_index(c, m->from);
        if (idx < 0)
                return 0;
        in_set = rd->kind == ROUND_ACCEPT ? voter_config_in_accept_set(c, m->from) :
                                            voter_config_in_prepare_set(c, m->from);
        if (!in_set || (rd->answered & (1u << idx)))
                return 0;

        if (m->type == MSG_NACK_CONFIG && m->config.epoch.n < c->epoch.n && !(rd->resent & (1u << idx))) {
                /*
                 * That voter is behind: node_receive() just sent it our (chosen)
                 * configuration, so it is asked again, once, rather than counted
                 * as a refusal (a renewal would otherwise wait for its timeout).
                 */
                rd->resent |= 1u << idx;
                return resend(g, m->from, out);
        }
        if (m->type == MSG_NACK_CONFIG) {
                /*
                 * Another configuration: not counted. A newer one was installed
                 * already (node_receive()), which restarted the round.
                 */
                rd->answered |= 1u << idx;
                a = action_list_append(out, ACTION_NOTIFY, g->name);
                if (!a)
                        return -ENOMEM;
                a->notify.kind = NOTIFY_CONFIG;
                a->notify.from = m->from;
                a->notify.config = m->config;
                a->notify.has_config = true;
                return round_progress(g, now, out);
        }

        /* Hosts with another voter set or epoch never count each other. */
        if (!epoch_equal(&m->epoch, &c->epoch))
                return 0;

        if (m->ballot.counter > g->max_counter && m->ballot.counter <= BALLOT_COUNTER_MAX)
                g->max_counter = m->ballot.counter;

        switch (rd->kind) {
        case ROUND_READ:
                if (m->type != MSG_READ_REPLY)
                        return 0;
                note_value(g, m);
                yes = true;
                break;

        case ROUND_PREPARE:
                if (m->type == MSG_PROMISE) {
                        if (ballot_compare(&m->ballot, &rd->ballot) != 0)
                                return 0;
                        note_value(g, m);
                        yes = true;
                } else if (m->type == MSG_NACK) {
                        if (m->reason == NACK_LIVE)
                                note_value(g, m);
                } else
                        return 0;
                break;

        case ROUND_ACCEPT:
                if (m->type == MSG_ACCEPTED) {
                        if (ballot_compare(&m->ballot, &rd->ballot) != 0 || m->value.seq != rd->value.seq)
                                return 0;
                        yes = true;
                } else if (m->type != MSG_NACK)
                        return 0;
                break;

        default:
                return 0;
        }

        rd->answered |= 1u << idx;
        if (yes)
                rd->acked |= 1u << idx;
        return round_progress(g, now, out);
}

static int receive_take(Guard *g, const PeerMsg *m, uint64_t now, ActionList *out) {
        /*
         * DESIGN.md "Handoff": the reserved host acquires at once with a higher
         * ballot; RESERVED(self) counts as free for it alone.
         */
        if (!g->want || m->value.kind != VALUE_RESERVED || m->value.holder != g->ctx->self)
                return 0;
        if (g->state != GUARD_WAITING && g->state != GUARD_READING)
                return 0;
        if (m->ballot.counter > g->max_counter && m->ballot.counter <= BALLOT_COUNTER_MAX)
                g->max_counter = m->ballot.counter;
        return start_prepare(g, now, out);
}

/* ---- timers ---- */

uint64_t guard_next_deadline(const Guard *g) {
        uint64_t d = UINT64_MAX;

        assert(g);

#define CONSIDER(x) do { if ((x) < d) d = (x); } while (0)
        if (g->round.kind != ROUND_NONE)
                CONSIDER(g->round.deadline);
        if (g->wake_at != 0)
                CONSIDER(g->wake_at);
#ifndef PES_SIM_BREAK_NO_FENCE
        if (g->tenure && g->state == GUARD_HOLDING)
                CONSIDER(fence_at(g));
        if (g->tenure && g->unit_active && !g->kill_sent)
                CONSIDER(g->valid);
#endif
        if (renewing(g) && g->round.kind == ROUND_NONE && g->wake_at == 0)
                CONSIDER(g->renew_at);
#undef CONSIDER
        return d;
}

static bool is_fence_deadline(const Guard *g, uint64_t d) {
        return g->tenure && (d == fence_at(g) || d == g->valid);
}

static int arm(Guard *g, ActionList *out) {
        uint64_t d = guard_next_deadline(g);
        Action *a;

        if (d == UINT64_MAX || d == g->last_armed)
                return 0;
        a = action_list_append(out, ACTION_ARM_TIMER, g->name);
        if (!a)
                return -ENOMEM;
        a->timer.deadline = d;
        a->timer.fence = is_fence_deadline(g, d);
        g->last_armed = d;
        return 0;
}

static int timer_step(Guard *g, uint64_t now, ActionList *out) {
        /*
         * DESIGN.md "Self-fence": with no confirmed renewal by valid − S, stop the
         * unit; if it is not confirmed stopped by valid, SIGKILL it.
         */
#ifndef PES_SIM_BREAK_NO_FENCE
        if (g->tenure && g->state == GUARD_HOLDING && now >= fence_at(g)) {
                int r = begin_stop(g, LOST_FENCED, now, out);
                if (r < 0)
                        return r;
        }
        if (g->tenure && g->unit_active && !g->kill_sent && now >= g->valid) {
                if (!action_list_append(out, ACTION_KILL_UNIT, g->name))
                        return -ENOMEM;
                g->kill_sent = true;
        }
#endif

        if (g->round.kind != ROUND_NONE && now >= g->round.deadline)
                return fail_round(g, now, out);

        if (g->wake_at != 0 && now >= g->wake_at) {
                if (g->state == GUARD_WAITING)
                        return g->skip_read ? start_prepare(g, now, out) : start_read(g, now, out);
                if (renewing(g) || g->state == GUARD_RELEASING)
                        return start_prepare(g, now, out);
                g->wake_at = 0;
        }

        /* DESIGN.md "Renew": every H, one ACCEPT at the same ballot, token and T, seq + 1. */
        if (renewing(g) && g->round.kind == ROUND_NONE && g->wake_at == 0 && now >= g->renew_at) {
                RegValue v = lease_value(g);

                g->renew_at = sat_add(now, g->params.heartbeat_usec);
                return start_accept(g, &v, now, now, out);
        }
        return 0;
}

int guard_timer(Guard *g, uint64_t now, ActionList *out) {
        int r;

        if (!g || !out)
                return -EINVAL;

        /* Several things can be due at once (a fence and a round timeout): run them all. */
        for (unsigned i = 0; i < 8; i++) {
                uint64_t d = guard_next_deadline(g);

                if (d > now)
                        break;
                r = timer_step(g, now, out);
                if (r < 0)
                        return r;
                if (guard_next_deadline(g) == d && d <= now)
                        break;
        }
        g->last_armed = 0;
        return arm(g, out);
}

/* ---- public events ---- */

int guard_receive(Guard *g, const PeerMsg *m, uint64_t now, ActionList *out) {
        int r;

        if (!g || !m || !out)
                return -EINVAL;

        switch (m->type) {
        case MSG_READ_REPLY:
        case MSG_PROMISE:
        case MSG_ACCEPTED:
        case MSG_NACK:
        case MSG_NACK_CONFIG:
                r = receive_reply(g, m, now, out);
                break;
        case MSG_TAKE:
                r = receive_take(g, m, now, out);
                break;
        default:
                return 0;
        }
        if (r < 0)
                return r;
        return arm(g, out);
}

int guard_campaign(Guard *g, uint64_t now, ActionList *out) {
        int r;

        if (!g || !out)
                return -EINVAL;

        g->want = true;
        if (g->state != GUARD_IDLE)
                return 0;
        r = start_read(g, now, out);
        if (r < 0)
                return r;
        return arm(g, out);
}

int guard_release(Guard *g, uint64_t now, ActionList *out) {
        int r = 0;

        if (!g || !out)
                return -EINVAL;

        g->want = false;
        switch (g->state) {
        case GUARD_WAITING:
        case GUARD_READING:
        case GUARD_PREPARING:
        case GUARD_ACCEPTING:
                /* Not holding: an ACCEPT in flight that wins anyway lapses after T. */
                round_end(g);
                g->state = GUARD_IDLE;
                g->wake_at = 0;
                break;
        case GUARD_HOLDING:
                r = begin_stop(g, LOST_RELEASED, now, out);
                break;
        case GUARD_STOPPING:
                if (g->stopping == LOST_FAILED)
                        g->stopping = LOST_RELEASED;
                break;
        default:
                break;
        }
        if (r < 0)
                return r;
        return arm(g, out);
}

int guard_handoff(Guard *g, uint16_t to, uint64_t now, ActionList *out) {
        int r;

        if (!g || !out || to == PES_HOST_NONE || to == g->ctx->self)
                return -EINVAL;
        if (!guard_holds(g, now))
                return -ENOTCONN;

        g->handoff_to = to;
        r = begin_stop(g, LOST_HANDOFF, now, out);
        if (r < 0)
                return r;
        return arm(g, out);
}

int guard_unit_stopped(Guard *g, uint64_t now, ActionList *out) {
        int r = 0;

        if (!g || !out)
                return -EINVAL;

        if (g->state == GUARD_STOPPING && g->unit_active)
                r = after_stopped(g, now, out);
        else if (g->state == GUARD_HOLDING && g->unit_active) {
                /* Inactive without being asked: handled as a failure (DESIGN.md "systemd integration"). */
                g->unit_active = false;
                g->failures++;
                r = begin_stop(g, LOST_FAILED, now, out);
        } else
                g->unit_active = false;
        if (r < 0)
                return r;
        return arm(g, out);
}

int guard_unit_failed(Guard *g, uint64_t now, ActionList *out) {
        int r = 0;

        if (!g || !out)
                return -EINVAL;

        if (g->state == GUARD_HOLDING) {
                g->failures++;
                r = begin_stop(g, LOST_FAILED, now, out);
        } else if (g->state == GUARD_STOPPING && g->unit_active && g->stopping != LOST_FAILED)
                g->failures++;
        if (r < 0)
                return r;
        return arm(g, out);
}

int guard_claim_cleared(Guard *g, uint64_t now) {
        if (!g)
                return -EINVAL;
        /* Only a wait for another host's claim ends early: it is over. A backoff
         * (a missed round, a failed unit) keeps its time. The next attempt reads
         * again and waits its rank, so the best-ranked waiter still goes first. */
        if (g->state != GUARD_WAITING || !g->want || !g->waiting_live)
                return 0;
        g->waiting_live = false;
        if (g->wake_at > now)
                g->wake_at = now;
        return 1;
}

int guard_config_changed(Guard *g, uint64_t now, ActionList *out) {
        int r = 0;

        if (!g || !out)
                return -EINVAL;

        /* DESIGN.md "NACK_CONFIG restarts a round from PREPARE". */
        switch (g->round.kind) {
        case ROUND_READ:
                r = start_read(g, now, out);
                break;
        case ROUND_PREPARE:
        case ROUND_ACCEPT:
                r = start_prepare(g, now, out);
                break;
        default:
                break;
        }
        if (r < 0)
                return r;
        return arm(g, out);
}

/* ---- inspection ---- */

bool guard_holds(const Guard *g, uint64_t now) {
        assert(g);
        return g->tenure && g->state == GUARD_HOLDING && now < fence_at(g);
}

bool guard_lease_valid(const Guard *g, uint64_t now) {
        assert(g);
        /*
         * A host writing FREE or RESERVED gives its lease away: once one voter has
         * it, another host may take over before this one hears the quorum, so it
         * no longer counts the lease as its own.
         */
        return g->tenure && g->state != GUARD_RELEASING && now < g->valid;
}

bool guard_unit_active(const Guard *g) {
        assert(g);
        return g->unit_active;
}

GuardState guard_state(const Guard *g) {
        assert(g);
        return g->state;
}

uint64_t guard_valid(const Guard *g) {
        assert(g);
        return g->tenure ? g->valid : 0;
}

uint64_t guard_token(const Guard *g) {
        assert(g);
        return g->tenure ? g->token : 0;
}

Ballot guard_ballot(const Guard *g) {
        assert(g);
        return g->ballot;
}

uint16_t guard_seen_holder(const Guard *g) {
        assert(g);
        return g->seen_holder;
}

unsigned guard_failures(const Guard *g) {
        assert(g);
        return g->failures;
}

const char *guard_state_to_string(GuardState s) {
        static const char *const table[_GUARD_STATE_MAX] = {
                [GUARD_IDLE] = "idle",
                [GUARD_WAITING] = "waiting",
                [GUARD_READING] = "reading",
                [GUARD_PREPARING] = "preparing",
                [GUARD_ACCEPTING] = "accepting",
                [GUARD_HOLDING] = "holding",
                [GUARD_STOPPING] = "stopping",
                [GUARD_RELEASING] = "releasing",
        };

        if ((unsigned) s >= _GUARD_STATE_MAX)
                return NULL;
        return table[s];
}
