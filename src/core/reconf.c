/* SPDX-License-Identifier: MIT */
/* The driver of a voter-configuration change: CASPaxos writes of the register, the W wait and the rescan. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ballot.h"
#include "core/lease.h"
#include "core/node-internal.h"
#include "core/quorum.h"

/*
 * DESIGN.md "Voter configuration is itself a CASPaxos register". A change is a
 * sequence of writes of the register, each one epoch further: PREPARE to the
 * prepare set of the installed epoch e, ACCEPT of the next configuration to its
 * accept set, then COMMIT to every member. What to write next is decided from the
 * installed configuration alone (plan()), so a driver that starts over (RESUME)
 * continues where the register is, and a driver that finds the register moved by
 * someone else stops with -ESTALE.
 */

typedef enum Plan {
        PLAN_WRITE,  /* write the configuration plan() built */
        PLAN_RESCAN, /* wait W, rescan every name, then write the same marked rescanned */
        PLAN_DONE,
} Plan;

typedef enum RescanState {
        RESCAN_PENDING,
        RESCAN_PREPARE, /* rewriting an expired claim as FREE: PREPARE at the driver's ballot */
        RESCAN_ACCEPT,  /* ACCEPT of FREE, or the identity ACCEPT */
        RESCAN_READ,    /* a repair was refused: read the name again */
        RESCAN_DONE,
} RescanState;

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static unsigned popcount16(uint16_t x) {
        return (unsigned) __builtin_popcount(x);
}

static uint64_t new_round(Node *n) {
        return RECONF_ROUND_BIT | n->ctx.next_round++;
}

static uint64_t wait_usec(const VoterConfig *c) {
#ifdef PES_SIM_BREAK_NO_RECONF_WAIT
        /* Only the simulator's broken-rule builds skip the wait (tests/sim/FINDINGS.md F6). */
        (void) c;
        return 0;
#else
        return lease_acceptor_usec(c->lease_max_usec, c->rho_ppm);
#endif
}

static void rescan_clear(Reconf *rc) {
        for (size_t i = 0; i < name_table_size(&rc->names); i++)
                free(name_table_item(&rc->names, i)->value);
        name_table_done(&rc->names);
        rc->names = NAME_TABLE_NULL;
        rc->names_left = 0;
}

void reconf_done(Reconf *rc) {
        if (!rc)
                return;
        rescan_clear(rc);
}

static int arm(Node *n, ActionList *out) {
        Action *a;

        if (!n->rc.active)
                return 0;
        a = action_list_append(out, ACTION_ARM_TIMER, NULL);
        if (!a)
                return -ENOMEM;
        a->timer.deadline = reconf_next_deadline(n);
        return 0;
}

static int notify_change(Node *n, int error, bool done, ActionList *out) {
        const Reconf *rc = &n->rc;
        Action *a;

        a = action_list_append(out, ACTION_NOTIFY, NULL);
        if (!a)
                return -ENOMEM;
        a->notify.kind = NOTIFY_CHANGE;
        a->notify.change = rc->kind;
        a->notify.host = rc->kind == CHANGE_ADD_MEMBER ? rc->new_id :
                         rc->kind == CHANGE_RESUME || rc->kind == CHANGE_ROLLBACK ? rc->x : rc->host;
        a->notify.error = error;
        a->notify.done = done;
        a->notify.config = n->ctx.config;
        a->notify.has_config = true;
        return 0;
}

static int finish(Node *n, int error, ActionList *out) {
        Reconf *rc = &n->rc;
        int r;

        r = notify_change(n, error, true, out);
        rc->active = false;
        rc->stage = RECONF_IDLE;
        rescan_clear(rc);
        return r;
}

static bool same_quorums(const VoterConfig *a, const VoterConfig *b) {
        return a->n_voters == b->n_voters &&
                memcmp(a->voters, b->voters, a->n_voters * sizeof(a->voters[0])) == 0 &&
                a->phase == b->phase && a->changing == b->changing;
}

static void voters_insert(VoterConfig *c, uint16_t x) {
        unsigned j = c->n_voters++;

        while (j > 0 && c->voters[j - 1] > x) {
                c->voters[j] = c->voters[j - 1];
                j--;
        }
        c->voters[j] = x;
}

static void voters_remove(VoterConfig *c, uint16_t x) {
        unsigned j = 0;

        for (unsigned i = 0; i < c->n_voters; i++)
                if (c->voters[i] != x)
                        c->voters[j++] = c->voters[i];
        c->n_voters = j;
}

/*
 * What to write next, from the installed configuration c (DESIGN.md
 * "Membership"): adding x runs S → ACCEPT_WIDENED(S∪{x}, adding) → (rescan) →
 * STABLE(S∪{x}) → (rescan); removing runs STABLE(S∪{x}) → ACCEPT_WIDENED(S∪{x},
 * removing) → (rescan) → STABLE(S) → (rescan). Each step starts only from a
 * rescanned configuration. *next is the configuration to write (without its epoch).
 */
static int plan(Node *n, VoterConfig *next) {
        const VoterConfig *c = &n->ctx.config;
        Reconf *rc = &n->rc;
        bool is_voter;

        *next = *c;

        switch (rc->kind) {

        case CHANGE_ADD_MEMBER: {
                unsigned j;

                if (rc->stepped)
                        return PLAN_DONE;
                if (c->n_members >= PES_MEMBERS_MAX || c->next_id >= PES_HOST_MAX)
                        return -EINVAL;
                j = next->n_members++;
                while (j > 0 && next->members[j - 1] > c->next_id) {
                        next->members[j] = next->members[j - 1];
                        j--;
                }
                next->members[j] = c->next_id;
                next->next_id = c->next_id + 1;
                return PLAN_WRITE;
        }

        case CHANGE_REMOVE_MEMBER: {
                unsigned j = 0;

                if (rc->stepped)
                        return PLAN_DONE;
                if (!voter_config_is_member(c, rc->host))
                        return -ENOENT;
                if (voter_config_index(c, rc->host) >= 0)
                        return -EINVAL;
                for (unsigned i = 0; i < c->n_members; i++)
                        if (c->members[i] != rc->host)
                                next->members[j++] = c->members[i];
                next->n_members = j;
                return PLAN_WRITE;
        }

        default:
                break;
        }

        /* A plain rescan: RESUME of a STABLE configuration not yet rescanned. */
        if (rc->x == PES_HOST_NONE)
                return c->rescanned ? PLAN_DONE : PLAN_RESCAN;

        is_voter = voter_config_index(c, rc->x) >= 0;

        if (c->phase == CONFIG_ACCEPT_WIDENED) {
                if (c->changing != rc->x)
                        return -ESTALE;
                if (rc->rollback_flip) {
                        /*
                         * ROLLBACK: the same voters and phase, the other direction.
                         * The quorums do not change, so a rescan already done under
                         * them still counts.
                         */
                        next->adding = !c->adding;
                        return PLAN_WRITE;
                }
                if (c->adding != rc->add)
                        return -ESTALE;
                if (!c->rescanned)
                        return PLAN_RESCAN;
                next->phase = CONFIG_STABLE;
                next->changing = PES_HOST_NONE;
                next->adding = false;
                next->rescanned = false;
                if (!rc->add)
                        voters_remove(next, rc->x);
                return PLAN_WRITE;
        }

        if (is_voter == rc->add)
                return c->rescanned ? PLAN_DONE : PLAN_RESCAN;

        /* The first step; a later one finding the register here was reverted by another driver. */
        if (rc->stepped || rc->rollback_flip)
                return -ESTALE;
        if (!c->rescanned)
                return -EBUSY;
        if (rc->add) {
                if (c->n_voters + 1 > PES_VOTERS_MAX - 1)
                        return -EINVAL;
                voters_insert(next, rc->x);
        } else if (c->n_voters < 2)
                return -EINVAL;
        next->phase = CONFIG_ACCEPT_WIDENED;
        next->changing = rc->x;
        next->adding = rc->add;
        next->rescanned = false;
        return PLAN_WRITE;
}

/* ---- one write of the register ---- */

static int start_write(Node *n, bool marking, uint64_t now, ActionList *out);
static int start_scan(Node *n, uint64_t now, ActionList *out);
static int advance(Node *n, uint64_t now, ActionList *out);

static int send_to_set(Node *n, const VoterConfig *c, bool prepare_set, MsgType type, ActionList *out,
                       PeerMsg **ret_first) {
        Reconf *rc = &n->rc;

        for (unsigned i = 0; i < c->n_voters; i++) {
                uint16_t v = c->voters[i];
                PeerMsg *m;

                if (prepare_set ? !voter_config_in_prepare_set(c, v) : !voter_config_in_accept_set(c, v))
                        continue;
                m = node_send(n, out, v, type, rc->round, false);
                if (!m)
                        return -ENOMEM;
                m->ballot = rc->ballot;
                if (type == MSG_CFG_ACCEPT)
                        m->config = rc->proposal;
                if (ret_first && !*ret_first)
                        *ret_first = m;
        }
        return 0;
}

/*
 * A new ballot of this host above seen (DESIGN.md "Identity": never a ballot an
 * earlier life of this host sent). For a name, it is also above the ballot this
 * host's guard of the name used, and the floor is raised to it, so the guard's
 * next ballot is above the driver's too: one host never uses a ballot twice.
 */
static Ballot next_ballot(Node *n, const char *name, uint64_t seen, ActionList *out, int *ret) {
        const Guard *g = name ? name_table_get(&n->guards, name) : NULL;
        uint64_t c = seen;
        Ballot b;

        if (n->ctx.ballot_floor > c)
                c = n->ctx.ballot_floor;
        if (g && guard_ballot(g).counter > c)
                c = guard_ballot(g).counter;
        b = ballot_next(c, n->ctx.self);
        *ret = 0;
        if (b.counter > n->ctx.ballot_reserve) {
                Action *a = action_list_append(out, ACTION_PERSIST_BALLOTS, NULL);

                if (!a) {
                        *ret = -ENOMEM;
                        return b;
                }
                n->ctx.ballot_reserve = b.counter + GUARD_BALLOT_RESERVE_STEP;
                a->ballots.reserve = n->ctx.ballot_reserve;
        }
        if (name && b.counter > n->ctx.ballot_floor)
                n->ctx.ballot_floor = b.counter;
        return b;
}

static int start_write(Node *n, bool marking, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        int r;

        rc->marking = marking;
        rc->base = n->ctx.config;
        rc->round = new_round(n);
        rc->ballot = next_ballot(n, NULL, rc->max_counter, out, &r);
        if (r < 0)
                return r;
        rc->max_counter = rc->ballot.counter;
        rc->answered = rc->acked = 0;
        rc->has_best = false;
        rc->foreign = false;
        rc->stage = RECONF_PREPARE;
        rc->deadline = sat_add(now, RECONF_ROUND_TIMEOUT_USEC);

        r = send_to_set(n, &rc->base, true, MSG_CFG_PREPARE, out, NULL);
        if (r < 0)
                return r;
        /* PREPAREs leave once the ballot reserve covering them is durable. */
        for (size_t i = 0; i < out->n; i++)
                if (out->actions[i].type == ACTION_SEND && out->actions[i].send.msg.type == MSG_CFG_PREPARE &&
                    out->actions[i].send.msg.round == rc->round)
                        out->actions[i].send.after_persist = true;
        return 0;
}

/* The configuration this driver writes under base: the plan's step or the rescanned mark. */
static int own_proposal(Node *n, VoterConfig *ret) {
        Reconf *rc = &n->rc;
        int r;

        if (rc->marking) {
                if (!same_quorums(&n->ctx.config, &rc->scan_config) || n->ctx.config.rescanned)
                        return -EAGAIN;
                *ret = n->ctx.config;
                ret->rescanned = true;
        } else {
                r = plan(n, ret);
                if (r < 0)
                        return r;
                if (r != PLAN_WRITE)
                        return -EAGAIN;
        }
        ret->epoch.n = n->ctx.config.epoch.n + 1;
        ret->epoch.hash = voter_config_hash(ret, n->ctx.config.epoch.hash);
        return 0;
}

/* A write missed its quorum: a new ballot after 50 ms·2^k·U(½, 1), at most a round timeout. */
static int backoff(Node *n, uint64_t now) {
        Reconf *rc = &n->rc;
        uint64_t d = GUARD_BACKOFF_BASE_USEC << (rc->attempt < 5 ? rc->attempt : 5);

        if (d > RECONF_ROUND_TIMEOUT_USEC)
                d = RECONF_ROUND_TIMEOUT_USEC;
        rc->attempt++;
        rc->stage = RECONF_BACKOFF;
        rc->deadline = now + core_rng_between(&n->ctx.rng, d / 2, d);
        return 0;
}

static int finish_prepare(Node *n, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        VoterConfig own;
        int r;

        r = own_proposal(n, &own);
#ifdef PES_SIM_BREAK_NO_REPROPOSE
        /* Only the simulator's broken-rule build overwrites a proposal it found accepted. */
        rc->has_best = false;
#endif
        if (rc->has_best) {
                /*
                 * CASPaxos: a proposal for this epoch may already be chosen; finish
                 * it first. Unless it is this driver's own, the change it was asked
                 * for lost the register (-ESTALE once this one is committed).
                 */
                rc->proposal = rc->best;
                rc->foreign = r < 0 || own.epoch.hash != rc->best.epoch.hash;
        } else {
                if (r == -EAGAIN)
                        return advance(n, now, out);
                if (r < 0)
                        return finish(n, r, out);
                rc->proposal = own;
        }
        if (!rc->foreign && rc->kind == CHANGE_ADD_MEMBER)
                rc->new_id = n->ctx.config.next_id;

        rc->stage = RECONF_ACCEPT;
        rc->answered = rc->acked = 0;
        rc->deadline = sat_add(now, RECONF_ROUND_TIMEOUT_USEC);
        return send_to_set(n, &rc->base, false, MSG_CFG_ACCEPT, out, NULL);
}

/*
 * DESIGN.md: "A step completes once the voters that have not acknowledged it can
 * form neither a prepare nor an accept quorum of the previous epoch" (so a dead
 * voter can be replaced).
 */
static bool commit_complete(const Reconf *rc) {
        const VoterConfig *p = &rc->base;
        unsigned np = 0, na = 0;

        for (unsigned i = 0; i < p->n_voters; i++) {
                if (rc->acked & (1u << i))
                        continue;
                if (voter_config_in_prepare_set(p, p->voters[i]))
                        np++;
                if (voter_config_in_accept_set(p, p->voters[i]))
                        na++;
        }
        return np < voter_config_prepare_quorum(p) && na < voter_config_accept_quorum(p);
}

static int send_commits(Node *n, bool all, ActionList *out) {
        Reconf *rc = &n->rc;
        const VoterConfig *cs[2] = { &rc->base, &rc->proposal };
        uint16_t sent[2 * PES_MEMBERS_MAX];
        unsigned n_sent = 0;

        for (unsigned k = 0; k < 2; k++)
                for (unsigned i = 0; i < cs[k]->n_members; i++) {
                        uint16_t h = cs[k]->members[i];
                        int idx = voter_config_index(&rc->base, h);
                        bool dup = false;
                        PeerMsg *m;

                        if (h == n->ctx.self)
                                continue;
                        if (!all && (idx < 0 || (rc->acked & (1u << idx))))
                                continue;
                        for (unsigned j = 0; j < n_sent; j++)
                                dup = dup || sent[j] == h;
                        if (dup)
                                continue;
                        sent[n_sent++] = h;
                        m = node_send(n, out, h, MSG_CFG_COMMIT, rc->round, false);
                        if (!m)
                                return -ENOMEM;
                        m->config = rc->proposal;
                }
        return 0;
}

static int step_completed(Node *n, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        int r;

        rc->attempt = 0;
        rc->progress_at = now;
        rc->w_from = now;
        if (rc->foreign)
                return finish(n, -ESTALE, out);
        rc->stepped = true;
        rc->rollback_flip = false;
        if (rc->kind != CHANGE_ADD_MEMBER && rc->kind != CHANGE_REMOVE_MEMBER) {
                r = notify_change(n, 0, false, out);
                if (r < 0)
                        return r;
        }
        return advance(n, now, out);
}

static int finish_accept(Node *n, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        int r;

        /* Chosen: install it here, then tell every member of both configurations. */
        rc->stage = RECONF_COMMIT;
        rc->answered = rc->acked = 0;
        rc->deadline = sat_add(now, RECONF_RETRY_USEC);
        if (rc->proposal.epoch.n > n->ctx.config.epoch.n) {
                r = config_reg_install(n, &rc->proposal, now, out);
                if (r < 0)
                        return r;
                if (!rc->active || rc->stage != RECONF_COMMIT)
                        return 0;
        }
        {
                int idx = voter_config_index(&rc->base, n->ctx.self);

                if (idx >= 0)
                        rc->acked |= 1u << idx;
        }
        r = send_commits(n, true, out);
        if (r < 0)
                return r;
        if (commit_complete(rc))
                return step_completed(n, now, out);
        return 0;
}

static int write_progress(Node *n, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        bool prep = rc->stage == RECONF_PREPARE;
        unsigned size = 0, quorum, yes, no;

        for (unsigned i = 0; i < rc->base.n_voters; i++)
                if (prep ? voter_config_in_prepare_set(&rc->base, rc->base.voters[i]) :
                           voter_config_in_accept_set(&rc->base, rc->base.voters[i]))
                        size++;
        quorum = prep ? voter_config_prepare_quorum(&rc->base) : voter_config_accept_quorum(&rc->base);
        yes = popcount16(rc->acked);
        no = popcount16(rc->answered & ~rc->acked);
        if (yes >= quorum)
                return prep ? finish_prepare(n, now, out) : finish_accept(n, now, out);
        if (no > size - quorum)
                return backoff(n, now);
        return 0;
}

static int receive_write(Node *n, const PeerMsg *m, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        int idx;

        if (m->round != rc->round)
                return 0;
        idx = voter_config_index(&rc->base, m->from);
        if (idx < 0)
                return 0;

        if (m->ballot.counter > rc->max_counter && m->ballot.counter <= BALLOT_COUNTER_MAX)
                rc->max_counter = m->ballot.counter;

        if (rc->stage == RECONF_COMMIT) {
                if (m->type != MSG_CFG_COMMITTED || m->config.epoch.n != rc->proposal.epoch.n)
                        return 0;
                rc->acked |= 1u << idx;
                if (commit_complete(rc))
                        return step_completed(n, now, out);
                return 0;
        }

        if ((rc->answered & (1u << idx)))
                return 0;
        if (rc->stage == RECONF_PREPARE) {
                if (!voter_config_in_prepare_set(&rc->base, m->from))
                        return 0;
                if (m->type == MSG_CFG_PROMISE) {
                        if (ballot_compare(&m->ballot, &rc->ballot) != 0 || !epoch_equal(&m->epoch, &rc->base.epoch))
                                return 0;
                        rc->acked |= 1u << idx;
                        if (!ballot_is_null(&m->value.ba) && m->config.epoch.n == rc->base.epoch.n + 1 &&
                            voter_config_validate(&m->config) >= 0 &&
                            (!rc->has_best || ballot_compare(&m->value.ba, &rc->best_ba) > 0)) {
                                rc->has_best = true;
                                rc->best_ba = m->value.ba;
                                rc->best = m->config;
                        }
                } else if (m->type != MSG_NACK && m->type != MSG_NACK_CONFIG)
                        return 0;
        } else if (rc->stage == RECONF_ACCEPT) {
                if (!voter_config_in_accept_set(&rc->base, m->from))
                        return 0;
                if (m->type == MSG_CFG_ACCEPTED) {
                        if (ballot_compare(&m->ballot, &rc->ballot) != 0 || !epoch_equal(&m->epoch, &rc->base.epoch))
                                return 0;
                        rc->acked |= 1u << idx;
                } else if (m->type != MSG_NACK && m->type != MSG_NACK_CONFIG)
                        return 0;
        } else
                return 0;

        rc->answered |= 1u << idx;
        return write_progress(n, now, out);
}

/* ---- the rescan ---- */

static bool same_claim(const RegValue *a, const RegValue *b) {
        return ballot_compare(&a->ba, &b->ba) == 0 && a->kind == b->kind && a->holder == b->holder &&
                a->token == b->token;
}

/* The remaining life of a reply (stored as an expiry on this node's clock). */
static uint64_t left(const RescanName *e, unsigned i, uint64_t now) {
        return e->remaining[i] > now ? e->remaining[i] - now : 0;
}

static int name_send(Node *n, const char *name, RescanName *e, MsgType type, bool prepare_set, ActionList *out) {
        const VoterConfig *c = &n->rc.scan_config;

        for (unsigned i = 0; i < c->n_voters; i++) {
                uint16_t v = c->voters[i];
                Action *a;
                PeerMsg *m;
                size_t k;

                if (prepare_set ? !voter_config_in_prepare_set(c, v) : !voter_config_in_accept_set(c, v))
                        continue;
                m = node_send(n, out, v, type, e->round, type == MSG_PREPARE);
                if (!m)
                        return -ENOMEM;
                a = &out->actions[out->n - 1];
                k = strnlen(name, PES_NAME_MAX);
                memcpy(a->name, name, k);
                a->name[k] = 0;
                memcpy(m->name, name, k);
                m->name[k] = 0;
                m->ballot = e->ballot;
                if (type == MSG_ACCEPT) {
                        m->value = e->value;
                        m->identity = e->state == RESCAN_ACCEPT && ballot_compare(&e->ballot, &e->value.ba) == 0 &&
                                      e->remaining_max != UINT64_MAX;
                        m->remaining_usec = e->remaining_max == UINT64_MAX ? 0 : e->remaining_max;
                }
        }
        return 0;
}

static void name_deadline(Reconf *rc, RescanName *e, uint64_t at) {
        e->deadline = at;
        if (at < rc->deadline)
                rc->deadline = at;
}

static int name_done(Node *n, RescanName *e, uint64_t now) {
        Reconf *rc = &n->rc;

        if (e->state == RESCAN_DONE)
                return 0;
        e->state = RESCAN_DONE;
        e->deadline = UINT64_MAX;
        rc->progress_at = now;
        assert(rc->names_left > 0);
        rc->names_left--;
        return 0;
}

/*
 * One name, from what the voters reported (DESIGN.md: "a name is skipped only if a
 * READ shows it at an accept quorum of the new epoch; an expired LEASE/RESERVED is
 * rewritten as FREE; identity rounds never extend ea").
 */
static int name_decide(Node *n, const char *name, RescanName *e, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        const VoterConfig *c = &rc->scan_config;
        const RegValue *top = NULL;
        unsigned same = 0;
        uint64_t rem = 0, max_bp = rc->max_counter;
        int r;

        for (unsigned i = 0; i < c->n_voters; i++) {
                if (!(e->have & (1u << i)))
                        continue;
                if (!top || value_compare(&e->v[i], top) > 0)
                        top = &e->v[i];
                if (left(e, i, now) > rem)
                        rem = left(e, i, now);
                if (e->bp[i].counter > max_bp)
                        max_bp = e->bp[i].counter;
        }
        if (!top || ballot_is_null(&top->ba))
                return name_done(n, e, now);
        for (unsigned i = 0; i < c->n_voters; i++)
                if ((e->have & (1u << i)) && voter_config_in_accept_set(c, c->voters[i]) &&
                    same_claim(&e->v[i], top))
                        same++;
        if (same >= voter_config_accept_quorum(c))
                return name_done(n, e, now);

        e->value = *top;
        e->round = new_round(n);
        e->answered = e->acked = 0;
        name_deadline(rc, e, sat_add(now, RECONF_ROUND_TIMEOUT_USEC));

#ifndef PES_SIM_BREAK_NO_RESCAN
        if (value_is_claim(top) && rem == 0) {
                /* Expired everywhere: rewritten as FREE with the same token. */
                e->state = RESCAN_PREPARE;
                e->ballot = next_ballot(n, name, max_bp, out, &r);
                if (r < 0)
                        return r;
                if (e->ballot.counter > rc->max_counter)
                        rc->max_counter = e->ballot.counter;
                e->remaining_max = UINT64_MAX;
                return name_send(n, name, e, MSG_PREPARE, true, out);
        }

        /* FREE or live: an identity round at the value's own (ba, seq). */
        e->state = RESCAN_ACCEPT;
        e->ballot = top->ba;
        e->remaining_max = value_is_claim(top) ? rem : 0;
        return name_send(n, name, e, MSG_ACCEPT, false, out);
#else
        /* Only the simulator's broken-rule builds skip the repair (tests/sim/FINDINGS.md F6). */
        (void) r;
        (void) max_bp;
        (void) rem;
        (void) out;
        (void) name;
        return name_done(n, e, now);
#endif
}

static int name_read(Node *n, const char *name, RescanName *e, uint64_t now, ActionList *out) {
        e->state = RESCAN_READ;
        e->round = new_round(n);
        e->answered = e->acked = 0;
        e->have = 0;
        name_deadline(&n->rc, e, sat_add(now, RECONF_ROUND_TIMEOUT_USEC));
        return name_send(n, name, e, MSG_READ, false, out);
}

static void note_reply(RescanName *e, int idx, const PeerMsg *m, uint64_t now) {
        e->have |= (uint16_t) (1u << idx);
        e->v[idx] = m->value;
        e->bp[idx] = m->ballot;
        e->remaining[idx] = sat_add(now, m->remaining_usec);
}

static int receive_name(Node *n, const PeerMsg *m, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        const VoterConfig *c = &rc->scan_config;
        RescanName *e;
        unsigned size = 0, quorum;
        int idx;

        e = name_table_get(&rc->names, m->name);
        if (!e || e->state == RESCAN_DONE || e->state == RESCAN_PENDING || m->round != e->round)
                return 0;
        idx = voter_config_index(c, m->from);
        if (idx < 0 || (e->answered & (1u << idx)))
                return 0;
        if (m->type != MSG_NACK_CONFIG && !epoch_equal(&m->epoch, &c->epoch))
                return 0;
        if (m->ballot.counter > rc->max_counter && m->ballot.counter <= BALLOT_COUNTER_MAX)
                rc->max_counter = m->ballot.counter;

        e->answered |= (uint16_t) (1u << idx);
        switch (e->state) {
        case RESCAN_READ:
                if (m->type != MSG_READ_REPLY)
                        return 0;
                note_reply(e, idx, m, now);
                if (popcount16(e->have) >= voter_config_accept_quorum(c))
                        return name_decide(n, m->name, e, now, out);
                return 0;

        case RESCAN_PREPARE:
                size = 0;
                for (unsigned i = 0; i < c->n_voters; i++)
                        size += voter_config_in_prepare_set(c, c->voters[i]);
                quorum = voter_config_prepare_quorum(c);
                if (m->type == MSG_PROMISE && ballot_compare(&m->ballot, &e->ballot) == 0) {
                        /* Someone wrote the name since the scan: read it again. */
                        if (value_compare(&m->value, &e->value) > 0)
                                return name_read(n, m->name, e, now, out);
                        e->acked |= (uint16_t) (1u << idx);
                }
                if (popcount16(e->acked) >= quorum) {
                        RegValue v = {
                                .ba = e->ballot,
                                .seq = 1,
                                .kind = VALUE_FREE,
                                .holder = PES_HOST_NONE,
                                .token = e->value.token,
                        };

                        e->value = v;
                        e->state = RESCAN_ACCEPT;
                        e->round = new_round(n);
                        e->answered = e->acked = 0;
                        name_deadline(rc, e, sat_add(now, RECONF_ROUND_TIMEOUT_USEC));
                        return name_send(n, m->name, e, MSG_ACCEPT, false, out);
                }
                if (popcount16(e->answered & ~e->acked) > size - quorum)
                        return name_read(n, m->name, e, now, out);
                return 0;

        case RESCAN_ACCEPT:
                size = 0;
                for (unsigned i = 0; i < c->n_voters; i++)
                        size += voter_config_in_accept_set(c, c->voters[i]);
                quorum = voter_config_accept_quorum(c);
                if (m->type == MSG_ACCEPTED && ballot_compare(&m->ballot, &e->ballot) == 0)
                        e->acked |= (uint16_t) (1u << idx);
                if (popcount16(e->acked) >= quorum)
                        return name_done(n, e, now);
                /* Refused: a renewing holder or a new tenure got there; read it again. */
                if (popcount16(e->answered & ~e->acked) > size - quorum)
                        return name_read(n, m->name, e, now, out);
                return 0;

        default:
                return 0;
        }
}

static int rescan_check(Node *n, uint64_t now, ActionList *out);
static int receive_scan(Node *n, const PeerMsg *m, uint64_t now, ActionList *out);

static int start_scan(Node *n, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        const VoterConfig *c = &n->ctx.config;
        int idx;

        rescan_clear(rc);
        rc->scan_config = *c;
        rc->scanned = false;
        rc->scan_round = new_round(n);
        rc->scan_done = 0;
        rc->scan_quorum_at = 0;
        memset(rc->scan_received, 0, sizeof(rc->scan_received));
        memset(rc->scan_expected, 0, sizeof(rc->scan_expected));
        rc->stage = RECONF_SCAN;
        rc->deadline = sat_add(now, RECONF_RETRY_USEC);
        rc->progress_at = now;

        for (unsigned i = 0; i < c->n_voters; i++) {
                if (c->voters[i] == n->ctx.self)
                        continue;
                if (!node_send(n, out, c->voters[i], MSG_SCAN, rc->scan_round, false))
                        return -ENOMEM;
        }

        /* This node's own acceptor is read directly. */
        idx = voter_config_index(c, n->ctx.self);
        if (idx >= 0 && acceptor_serving(n->acceptor)) {
                for (size_t i = 0; i < acceptor_n_entries(n->acceptor); i++) {
                        const AcceptorEntry *ae = acceptor_entry(n->acceptor, i);
                        PeerMsg m = {
                                .type = MSG_SCAN_REPLY,
                                .from = n->ctx.self,
                                .epoch = c->epoch,
                                .round = rc->scan_round,
                                .ballot = ae->bp,
                                .value = ae->v,
                                .remaining_usec = acceptor_entry_remaining(ae, now),
                        };
                        size_t k = strnlen(ae->name, PES_NAME_MAX);
                        int r;

                        memcpy(m.name, ae->name, k);
                        r = receive_scan(n, &m, now, out);
                        if (r < 0)
                                return r;
                }
                rc->scan_done |= (uint16_t) (1u << idx);
                rc->scan_expected[idx] = rc->scan_received[idx];
        }
        return rescan_check(n, now, out);
}

static unsigned scans_complete(const Reconf *rc, bool prepare_set) {
        const VoterConfig *c = &rc->scan_config;
        unsigned k = 0;

        for (unsigned i = 0; i < c->n_voters; i++)
                if ((!prepare_set || voter_config_in_prepare_set(c, c->voters[i])) && (rc->scan_done & (1u << i)) &&
                    rc->scan_received[i] >= rc->scan_expected[i])
                        k++;
        return k;
}

static int rescan_check(Node *n, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        int r;

        if (rc->stage == RECONF_SCAN) {
                if (scans_complete(rc, true) < voter_config_prepare_quorum(&rc->scan_config))
                        return 0;
                /*
                 * A prepare quorum finished: enough to see every chosen value. The
                 * others get a moment more, since a name is skipped only when an
                 * accept quorum of voters is seen holding it.
                 */
                if (scans_complete(rc, false) < rc->scan_config.n_voters) {
                        if (rc->scan_quorum_at == 0) {
                                rc->scan_quorum_at = now;
                                if (sat_add(now, RECONF_SCAN_GRACE_USEC) < rc->deadline)
                                        rc->deadline = sat_add(now, RECONF_SCAN_GRACE_USEC);
                        }
                        if (now < sat_add(rc->scan_quorum_at, RECONF_SCAN_GRACE_USEC))
                                return 0;
                }
                rc->stage = RECONF_REPAIR;
                rc->deadline = UINT64_MAX;
                rc->names_left = name_table_size(&rc->names);
                for (size_t i = 0; i < name_table_size(&rc->names); i++) {
                        NameTableItem *it = name_table_item(&rc->names, i);

                        r = name_decide(n, it->name, it->value, now, out);
                        if (r < 0)
                                return r;
                }
        }
        if (rc->stage == RECONF_REPAIR && rc->names_left == 0) {
                /* DESIGN.md: "The next epoch records that a full rescan completed under the current one". */
                rc->scanned = true;
                rescan_clear(rc);
                return start_write(n, true, now, out);
        }
        return 0;
}

static int receive_scan(Node *n, const PeerMsg *m, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        const VoterConfig *c = &rc->scan_config;
        RescanName *e;
        int idx;

        if (rc->stage != RECONF_SCAN || m->round != rc->scan_round || !epoch_equal(&m->epoch, &c->epoch))
                return 0;
        idx = voter_config_index(c, m->from);
        if (idx < 0)
                return 0;

        if (m->type == MSG_SCAN_DONE) {
                rc->scan_done |= (uint16_t) (1u << idx);
                if (m->scan_count > rc->scan_expected[idx])
                        rc->scan_expected[idx] = m->scan_count;
                return rescan_check(n, now, out);
        }

        if (m->name[0] == 0 || ballot_compare(&m->value.ba, &m->ballot) > 0 ||
            (unsigned) m->value.kind >= _VALUE_KIND_MAX)
                return -EINVAL;
        e = name_table_get(&rc->names, m->name);
        if (!e) {
                int r;

                e = calloc(1, sizeof(RescanName));
                if (!e)
                        return -ENOMEM;
                e->deadline = UINT64_MAX;
                r = name_table_put(&rc->names, m->name, e, NULL);
                if (r < 0) {
                        free(e);
                        return r;
                }
        }
        if (!(e->have & (1u << idx)))
                rc->scan_received[idx]++;
        note_reply(e, idx, m, now);
        return rescan_check(n, now, out);
}

/* ---- the drive ---- */

static int advance(Node *n, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        VoterConfig next;
        int r;

        r = plan(n, &next);
        if (r < 0)
                return finish(n, r, out);
        switch (r) {
        case PLAN_DONE:
                return finish(n, 0, out);
        case PLAN_WRITE:
                rc->progress_at = now;
                return start_write(n, false, now, out);
        case PLAN_RESCAN:
                /* A rescan already completed under these quorums needs only its mark. */
                if (rc->scanned && same_quorums(&n->ctx.config, &rc->scan_config))
                        return start_write(n, true, now, out);
                if (now < sat_add(rc->w_from, wait_usec(&n->ctx.config))) {
                        rc->stage = RECONF_WAIT;
                        rc->deadline = sat_add(rc->w_from, wait_usec(&n->ctx.config));
                        return 0;
                }
                return start_scan(n, now, out);
        default:
                assert(false);
                return -EINVAL;
        }
}

int reconf_start(Node *n, ConfigChangeKind kind, uint16_t host, uint64_t now, ActionList *out) {
        const VoterConfig *c = &n->ctx.config;
        Reconf *rc = &n->rc;
        int r;

        if ((unsigned) kind >= _CHANGE_KIND_MAX)
                return -EINVAL;
        if (rc->active)
                return -EBUSY;

        switch (kind) {
        case CHANGE_ADD_MEMBER:
                if (c->n_members >= PES_MEMBERS_MAX || c->next_id >= PES_HOST_MAX)
                        return -EINVAL;
                break;
        case CHANGE_REMOVE_MEMBER:
                if (!voter_config_is_member(c, host))
                        return -ENOENT;
                if (voter_config_index(c, host) >= 0)
                        return -EINVAL;
                break;
        case CHANGE_ADD_VOTER:
        case CHANGE_REMOVE_VOTER:
                if (voter_config_changing(c))
                        return -EBUSY;
                if (!voter_config_is_member(c, host))
                        return -ENOENT;
                if (kind == CHANGE_ADD_VOTER) {
                        if (voter_config_index(c, host) >= 0)
                                return -EEXIST;
                        if (c->n_voters + 1 > PES_VOTERS_MAX - 1)
                                return -EINVAL;
                } else {
                        if (voter_config_index(c, host) < 0)
                                return -ENOENT;
                        if (c->n_voters < 2)
                                return -EINVAL;
                }
                break;
        case CHANGE_RESUME:
                if (!voter_config_changing(c))
                        return -EINVAL;
                break;
        case CHANGE_ROLLBACK:
                /* From a STABLE configuration not yet rescanned there is nothing to undo: RESUME it. */
                if (c->phase != CONFIG_ACCEPT_WIDENED)
                        return -EINVAL;
                break;
        default:
                return -EINVAL;
        }

        rescan_clear(rc);
        *rc = (Reconf) {
                .active = true,
                .kind = kind,
                .host = host,
                .names = NAME_TABLE_NULL,
                .w_from = now,
                .progress_at = now,
                .deadline = UINT64_MAX,
        };
        switch (kind) {
        case CHANGE_ADD_VOTER:
        case CHANGE_REMOVE_VOTER:
                rc->x = host;
                rc->add = kind == CHANGE_ADD_VOTER;
                break;
        case CHANGE_RESUME:
                rc->x = c->changing;
                rc->add = c->adding;
                break;
        case CHANGE_ROLLBACK:
                rc->x = c->changing;
                rc->add = !c->adding;
                rc->rollback_flip = true;
                break;
        default:
                rc->host = kind == CHANGE_REMOVE_MEMBER ? host : PES_HOST_NONE;
                break;
        }

        r = advance(n, now, out);
        if (r < 0)
                return r;
        return arm(n, out);
}

int reconf_receive(Node *n, const PeerMsg *m, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        int r = 0;

        if (!rc->active)
                return 0;

        switch (m->type) {
        case MSG_CFG_PROMISE:
        case MSG_CFG_ACCEPTED:
        case MSG_CFG_COMMITTED:
                r = receive_write(n, m, now, out);
                break;
        case MSG_SCAN_REPLY:
        case MSG_SCAN_DONE:
                r = receive_scan(n, m, now, out);
                break;
        case MSG_NACK:
        case MSG_NACK_CONFIG:
                if (m->name[0] == 0) {
                        r = receive_write(n, m, now, out);
                        break;
                }
                __attribute__((fallthrough));
        case MSG_READ_REPLY:
        case MSG_PROMISE:
        case MSG_ACCEPTED:
                if (rc->stage == RECONF_REPAIR)
                        r = receive_name(n, m, now, out);
                if (r >= 0 && rc->active && rc->stage == RECONF_REPAIR)
                        r = rescan_check(n, now, out);
                break;
        default:
                break;
        }
        if (r < 0)
                return r;
        return arm(n, out);
}

int reconf_installed(Node *n, const VoterConfig *prev, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        int r;

        if (!rc->active)
                return 0;
        if (!same_quorums(prev, &n->ctx.config))
                /* Another driver moved the quorums: W counts from now. */
                if (rc->stage != RECONF_COMMIT || !epoch_equal(&rc->proposal.epoch, &n->ctx.config.epoch))
                        rc->w_from = now;

        switch (rc->stage) {
        case RECONF_COMMIT:
                /* Installing what this driver chose (finish_accept()), or a later one: nothing to wait for. */
                if (epoch_equal(&rc->proposal.epoch, &n->ctx.config.epoch))
                        return 0;
                return step_completed(n, now, out);
        case RECONF_WAIT:
                return 0;
        case RECONF_PREPARE:
        case RECONF_ACCEPT:
        case RECONF_BACKOFF:
                /* DESIGN.md "NACK_CONFIG restarts a round from PREPARE", under the new epoch. */
                if (rc->marking && same_quorums(&n->ctx.config, &rc->scan_config))
                        r = start_write(n, true, now, out);
                else
                        r = advance(n, now, out);
                break;
        case RECONF_SCAN:
        case RECONF_REPAIR:
                if (same_quorums(&n->ctx.config, &rc->scan_config) && rc->stage == RECONF_REPAIR) {
                        /* Same quorums: the repairs go on; rounds refused for the epoch are retried. */
                        rc->scan_config.epoch = n->ctx.config.epoch;
                        return 0;
                }
                r = advance(n, now, out);
                break;
        default:
                return 0;
        }
        if (r < 0)
                return r;
        return arm(n, out);
}

int reconf_timer(Node *n, uint64_t now, ActionList *out) {
        Reconf *rc = &n->rc;
        int r = 0;

        if (!rc->active || now < reconf_next_deadline(n))
                return 0;

        if (now >= sat_add(rc->progress_at, RECONF_GIVE_UP_USEC) && rc->stage != RECONF_WAIT)
                /* The state stays in the register; RESUME continues it. */
                return finish(n, -ETIMEDOUT, out);

        switch (rc->stage) {
        case RECONF_BACKOFF:
                r = start_write(n, rc->marking, now, out);
                break;
        case RECONF_PREPARE:
        case RECONF_ACCEPT:
                r = backoff(n, now);
                break;
        case RECONF_COMMIT:
                rc->deadline = sat_add(now, RECONF_RETRY_USEC);
                r = send_commits(n, false, out);
                break;
        case RECONF_WAIT:
                r = advance(n, now, out);
                break;
        case RECONF_SCAN:
                r = rescan_check(n, now, out);
                if (r < 0 || rc->stage != RECONF_SCAN)
                        break;
                rc->deadline = sat_add(now, RECONF_RETRY_USEC);
                if (rc->scan_quorum_at != 0 && sat_add(rc->scan_quorum_at, RECONF_SCAN_GRACE_USEC) < rc->deadline)
                        rc->deadline = sat_add(rc->scan_quorum_at, RECONF_SCAN_GRACE_USEC);
                for (unsigned i = 0; i < rc->scan_config.n_voters; i++) {
                        uint16_t v = rc->scan_config.voters[i];

                        if (v == n->ctx.self ||
                            ((rc->scan_done & (1u << i)) && rc->scan_received[i] >= rc->scan_expected[i]))
                                continue;
                        if (!node_send(n, out, v, MSG_SCAN, rc->scan_round, false))
                                return -ENOMEM;
                }
                break;
        case RECONF_REPAIR:
                rc->deadline = UINT64_MAX;
                for (size_t i = 0; i < name_table_size(&rc->names) && r >= 0; i++) {
                        NameTableItem *it = name_table_item(&rc->names, i);
                        RescanName *e = it->value;

                        if (e->state == RESCAN_DONE)
                                continue;
                        if (e->deadline > now) {
                                if (e->deadline < rc->deadline)
                                        rc->deadline = e->deadline;
                                continue;
                        }
                        /* No quorum in time: read the name again and decide anew. */
                        r = name_read(n, it->name, e, now, out);
                }
                break;
        default:
                break;
        }
        if (r < 0)
                return r;
        return arm(n, out);
}

uint64_t reconf_next_deadline(const Node *n) {
        const Reconf *rc = &n->rc;

        if (!rc->active)
                return UINT64_MAX;
        return rc->deadline;
}
