/* SPDX-License-Identifier: MIT */
/* The invariant checker: DESIGN.md I1–I8, checked against true simulated time after every step. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/acceptor.h"
#include "core/ballot.h"
#include "core/quorum.h"
#include "core/reconf.h"
#include "sim-internal.h"

static bool listed(const char *list, const char *inv) {
        size_t k = strlen(inv);

        for (const char *p = list; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
                if (strncmp(p, inv, k) == 0 && (p[k] == ',' || p[k] == 0))
                        return true;
                if (!strchr(p, ','))
                        break;
        }
        return false;
}

void sim_violation(Sim *s, const char *inv, const char *fmt, ...) {
        va_list ap;

        if (s->violated)
                return;
        if ((s->p.only && strcmp(s->p.only, inv) != 0) || listed(s->p.ignore, inv)) {
                /* Looking for one invariant (a core built with a rule disabled): note the others, go on. */
                if (s->res->other_violations++ == 0) {
                        int k = snprintf(s->res->first_other, sizeof(s->res->first_other), "%s: ", inv);

                        va_start(ap, fmt);
                        vsnprintf(s->res->first_other + k, sizeof(s->res->first_other) - (size_t) k, fmt, ap);
                        va_end(ap);
                }
                return;
        }
        s->violated = true;
        snprintf(s->res->invariant, sizeof(s->res->invariant), "%s", inv);
        va_start(ap, fmt);
        vsnprintf(s->res->detail, sizeof(s->res->detail), fmt, ap);
        va_end(ap);
}

#define TOKEN_FMT "%" PRIu64 ".%u"
#define TOKEN_ARGS(t) (t) >> 16, (unsigned) ((t) & 0xffff)

/*
 * Whether node n believes it holds a valid lease on name now, on its own clock
 * (guard_lease_valid, the core's own statement of the belief I1 is about), and
 * until which true time.
 */
static bool believes_valid(const Sim *s, const SimNode *n, unsigned name, uint64_t *ret_valid_true) {
        const Guard *g = n->guards[name];

        if (!n->up || !g || !guard_lease_valid(g, sim_node_clock(n, s->now)))
                return false;
        if (ret_valid_true)
                *ret_valid_true = sim_true_at(n, guard_valid(g));
        return true;
}

static bool unit_running(const SimUnit *u) {
        /* Starting and stopping units have processes: both count as running (DESIGN.md I1). */
        return u->state != UNIT_INACTIVE;
}

/*
 * I2: a holder's deadline is at or before the expiry at every voter of its
 * quorum. The checker does not know which voters answered the round, so it asks
 * that the voters which could grant the name before the holder's deadline are
 * too few to form a prepare quorum, in every configuration a host that is up has
 * installed (during a voter change two are in use). A voter covers the holder if
 * it keeps this holder's LEASE live until at least the holder's deadline (both
 * converted to true time), or cannot grant the name now: down (on restart it
 * counts a full T·(1+ρ) from its start), recovering (it waits T_max·(1+ρ) before
 * answering), or not a voter of the configuration it installed (silent). With
 * one stable configuration this is "an accept quorum of voters covers it".
 */
static bool covers_holder(Sim *s, unsigned name, const SimNode *h, const SimNode *v, uint64_t valid_true,
                          char *why, size_t size, size_t *k) {
        const AcceptorEntry *e;
        uint64_t ea_true;

        if (!v->up || !v->core || !acceptor_serving(node_acceptor(v->core)) ||
            voter_config_index(node_config(v->core), v->host) < 0)
                return true;
        e = acceptor_lookup(node_acceptor(v->core), s->names[name].name);
        if (!e) {
                if (*k < size)
                        *k += (size_t) snprintf(why + *k, size - *k, " n%u:none", v->host);
                return false;
        }
        ea_true = e->ea ? sim_true_at(v, e->ea) : 0;
        if (e->v.kind == VALUE_LEASE && e->v.holder == h->host && e->ea != 0 && ea_true >= valid_true)
                return true;
        if (*k < size)
                *k += (size_t) snprintf(why + *k, size - *k, " n%u:%s(n%u) ea@%" PRIu64,
                                        v->host, value_kind_to_string(e->v.kind), e->v.holder, ea_true);
        return false;
}

static void check_i2(Sim *s, unsigned name, const SimNode *h, uint64_t valid_true) {
        const VoterConfig *seen[SIM_NODES_MAX];
        unsigned n_seen = 0;

        for (unsigned i = 0; i < s->n_nodes; i++) {
                const VoterConfig *c;
                unsigned open = 0, quorum;
                char why[256] = "";
                size_t k = 0;
                bool dup = false;

                if (!s->nodes[i].up || !s->nodes[i].core)
                        continue;
                c = node_config(s->nodes[i].core);
                for (unsigned j = 0; j < n_seen; j++)
                        dup = dup || epoch_equal(&seen[j]->epoch, &c->epoch);
                if (dup)
                        continue;
                seen[n_seen++] = c;

                quorum = voter_config_prepare_quorum(c);
                for (unsigned j = 0; j < c->n_voters; j++) {
                        const SimNode *v = &s->nodes[c->voters[j] - 1];

                        if (!voter_config_in_prepare_set(c, v->host))
                                continue;
                        if (!covers_holder(s, name, h, v, valid_true, why, sizeof(why), &k))
                                open++;
                }
                if (open >= quorum)
                        sim_violation(s, "I2", "%s: n%u holds until true %" PRIu64 " but %u voters of epoch %" PRIu64 " could grant it before (a prepare quorum is %u):%s",
                                      s->names[name].name, h->host, valid_true, open, c->epoch.n, quorum, why);
        }
}

/* I4: ba ≤ bp; bp never decreases within a life, nor below any ballot this voter promised or accepted. */
static void check_i4(Sim *s, unsigned name) {
        for (unsigned i = 0; i < s->n_nodes; i++) {
                SimNode *v = &s->nodes[i];
                const AcceptorEntry *e;

                if (!v->voter || !v->up || !acceptor_serving(node_acceptor(v->core)))
                        continue;
                e = acceptor_lookup(node_acceptor(v->core), s->names[name].name);
                if (!e)
                        continue;
                if (ballot_compare(&e->v.ba, &e->bp) > 0)
                        sim_violation(s, "I4", "n%u %s: ba=%" PRIu64 ".%u > bp=%" PRIu64 ".%u",
                                      v->host, s->names[name].name, e->v.ba.counter, e->v.ba.host, e->bp.counter, e->bp.host);
                if (ballot_compare(&e->bp, &v->bp_seen[name]) < 0)
                        sim_violation(s, "I4", "n%u %s: bp went back from %" PRIu64 ".%u to %" PRIu64 ".%u",
                                      v->host, s->names[name].name, v->bp_seen[name].counter, v->bp_seen[name].host,
                                      e->bp.counter, e->bp.host);
                if (ballot_compare(&e->bp, &v->promised[name]) < 0)
                        sim_violation(s, "I4", "n%u %s: bp=%" PRIu64 ".%u is below the ballot %" PRIu64 ".%u it promised (lost across a restart)",
                                      v->host, s->names[name].name, e->bp.counter, e->bp.host,
                                      v->promised[name].counter, v->promised[name].host);
                v->bp_seen[name] = e->bp;
        }
}

static void check_name(Sim *s, unsigned name) {
        const SimNode *holders[SIM_NODES_MAX];
        uint64_t valid_true[SIM_NODES_MAX];
        unsigned n_holders = 0, running = 0;
        char who[256] = "";
        size_t k = 0;

        /* I1: no two hosts both believe they hold a valid lease on the name... */
        for (unsigned i = 0; i < s->n_nodes; i++)
                if (believes_valid(s, &s->nodes[i], name, &valid_true[n_holders]))
                        holders[n_holders++] = &s->nodes[i];
        if (n_holders > 1) {
                for (unsigned i = 0; i < n_holders && k < sizeof(who); i++)
                        k += (size_t) snprintf(who + k, sizeof(who) - k, " n%u (%s, token " TOKEN_FMT ", valid until true %" PRIu64 ")",
                                               holders[i]->host, guard_state_to_string(guard_state(holders[i]->guards[name])),
                                               TOKEN_ARGS(guard_token(holders[i]->guards[name])), valid_true[i]);
                sim_violation(s, "I1", "%s: %u hosts believe they hold a valid lease:%s",
                              s->names[name].name, n_holders, who);
                return;
        }

        /* ...and the unit never runs on two hosts at once (a crashed pesd's unit may still be stopping). */
        k = 0;
        for (unsigned i = 0; i < s->n_nodes; i++)
                if (unit_running(&s->nodes[i].units[name])) {
                        running++;
                        if (k < sizeof(who))
                                k += (size_t) snprintf(who + k, sizeof(who) - k, " n%u (token " TOKEN_FMT ", %s)",
                                                       s->nodes[i].host, TOKEN_ARGS(s->nodes[i].units[name].token),
                                                       s->nodes[i].up ? "pesd up" : "pesd down");
                }
        if (running > 1) {
                sim_violation(s, "I1", "%s: the unit runs on %u hosts at once:%s", s->names[name].name, running, who);
                return;
        }

        for (unsigned i = 0; i < n_holders; i++)
                check_i2(s, name, holders[i], valid_true[i]);

        check_i4(s, name);
}

/* Faults have healed only once every voter that is up serves again (DESIGN.md "Lost disk"). */
static void track_recovery(Sim *s) {
        bool recovering = false;

        for (unsigned i = 0; i < s->n_nodes && !recovering; i++) {
                const SimNode *n = &s->nodes[i];

                /* A new voter's recovery (its disk is initialised) is part of a voter change, not a fault. */
                recovering = n->voter && n->up && !n->durable_init && !acceptor_serving(node_acceptor(n->core));
        }
        if (recovering)
                s->unhealed = true;
        else if (s->unhealed) {
                s->unhealed = false;
                s->healed_at = s->now;
        }
}

/* When the I8 clock of a name started: when it lost its holder, or when faults last healed. */
static uint64_t orphan_start(const Sim *s, const SimName *nm) {
        return nm->orphan_since > s->healed_at ? nm->orphan_since : s->healed_at;
}

void sim_check(Sim *s) {
        track_recovery(s);
        for (unsigned i = 0; i < s->n_names && !s->violated; i++) {
                if (!s->all_dirty && !s->names[i].dirty)
                        continue;
                s->names[i].dirty = false;
                check_name(s, i);
        }
        s->all_dirty = false;
}

/*
 * A reply that must wait for the sync leaves now: the promise or acceptance it
 * carries must already be durable (action.h's ordering contract, which I4 across
 * restarts rests on). Then it counts as promised.
 */
void sim_check_sent(Sim *s, SimNode *n, const PeerMsg *m) {
        const SimDurable *d;
        int name;

        if (m->type != MSG_PROMISE && m->type != MSG_ACCEPTED)
                return;
        name = sim_name_index(s, m->name);
        if (name < 0)
                return;
        d = &n->durable[name];
        if (!d->has || ballot_compare(&d->bp, &m->ballot) < 0 ||
            (m->type == MSG_ACCEPTED && ballot_compare(&d->v.ba, &m->ballot) < 0))
                sim_violation(s, "I4", "n%u sent %s %s b=%" PRIu64 ".%u before it was durable (disk: bp=%" PRIu64 ".%u ba=%" PRIu64 ".%u)",
                              n->host, msg_type_to_string(m->type), m->name, m->ballot.counter, m->ballot.host,
                              d->bp.counter, d->bp.host, d->v.ba.counter, d->v.ba.host);
        if (ballot_compare(&m->ballot, &n->promised[name]) > 0)
                n->promised[name] = m->ballot;
}

/* A tenure begins on n: I3 (tokens strictly increase), I6 (a move), and the I8 measurement. */
void sim_check_acquired(Sim *s, SimNode *n, unsigned name, uint64_t token) {
        SimName *nm = &s->names[name];

        if (nm->last_token != 0 &&
            (token < nm->last_token || (token == nm->last_token && n->host != nm->last_host)))
                sim_violation(s, "I3", "%s: n%u began a tenure with token " TOKEN_FMT " after n%u's " TOKEN_FMT,
                              nm->name, n->host, TOKEN_ARGS(token), nm->last_host, TOKEN_ARGS(nm->last_token));
        nm->last_token = token;
        nm->last_host = n->host;

        if (nm->move_pending) {
                const SimNode *a = &s->nodes[nm->move_from];

                /* I6: the unit stopped on A before B's tenure, and B's token is greater than A's. */
                if (n->host == nm->move_to && token <= nm->move_token)
                        sim_violation(s, "I6", "%s: moved from n%u (token " TOKEN_FMT ") to n%u with token " TOKEN_FMT,
                                      nm->name, a->host, TOKEN_ARGS(nm->move_token), n->host, TOKEN_ARGS(token));
                if (a != n && unit_running(&a->units[name]))
                        sim_violation(s, "I6", "%s: n%u's tenure began while the unit still runs on n%u, which was moving it",
                                      nm->name, n->host, a->host);
                nm->move_pending = false;
        }

        /* I8: how long the name went without a holder once faults had healed. */
        if (s->calm && nm->orphan_since != 0 && !s->unhealed) {
                uint64_t delay = s->now - orphan_start(s, nm);

                s->res->failovers++;
                if (delay > s->res->worst_failover_usec) {
                        s->res->worst_failover_usec = delay;
                        s->res->worst_failover_bound_usec = nm->failover_bound_usec;
                        snprintf(s->res->worst_failover_name, sizeof(s->res->worst_failover_name), "%s", nm->name);
                }
                if (delay > nm->lease_wait_usec && delay - nm->lease_wait_usec > s->res->worst_beyond_lease_usec) {
                        s->res->worst_beyond_lease_usec = delay - nm->lease_wait_usec;
                        s->res->worst_beyond_lease_t_usec = nm->lease_usec;
                }
                if (delay > nm->failover_bound_usec)
                        sim_violation(s, "I8", "%s: no holder for %" PRIu64 " us after faults healed or the holder left (bound %" PRIu64 " us)",
                                      nm->name, delay, nm->failover_bound_usec);
        }
        nm->orphan_since = 0;
}

/* A tenure ends on n: I5 while calm, and the start of an I8 measurement. */
void sim_check_lost(Sim *s, SimNode *n, unsigned name, LostReason reason) {
        SimName *nm = &s->names[name];

        if (!s->calm)
                return;
        /*
         * I5: once faults healed (and the renewals sent before are surely over), every
         * renewal reaches a quorum within H, so no holder is fenced or superseded.
         * A voter recovering a lost disk is a fault not healed yet: while a new
         * voter is silent too (its own recovery), a voter change leaves no accept
         * quorum to spare.
         */
        if ((reason == LOST_FENCED || reason == LOST_TENURE_ENDED) && !s->unhealed &&
            s->now >= s->calm_since + s->i5_grace_usec && s->now >= s->healed_at + s->i5_grace_usec)
                sim_violation(s, "I5", "%s: n%u lost its lease (%s) %" PRIu64 " us after faults healed, with every renewal answered",
                              nm->name, n->host, lost_reason_to_string(reason), s->now - s->calm_since);
        if (nm->orphan_since == 0)
                nm->orphan_since = s->now;
}

void sim_check_calm_begins(Sim *s) {
        for (unsigned i = 0; i < s->n_names; i++) {
                bool held = false;

                for (unsigned k = 0; k < s->n_nodes && !held; k++)
                        held = believes_valid(s, &s->nodes[k], i, NULL);
                s->names[i].orphan_since = held ? 0 : (s->now > 0 ? s->now : 1);
        }
}

/* I8: when faults begin again (or the run ends), no name may have been left without a holder too long. */
void sim_check_calm_ends(Sim *s) {
        for (unsigned i = 0; i < s->n_names; i++) {
                SimName *nm = &s->names[i];
                bool eligible = false;

                if (nm->orphan_since == 0 || s->unhealed || s->now - orphan_start(s, nm) <= nm->failover_bound_usec) {
                        nm->orphan_since = 0;
                        continue;
                }
                for (unsigned k = 0; k < s->n_nodes; k++) {
                        const SimNode *n = &s->nodes[k];

                        if (n->up && n->guards[i] && guard_state(n->guards[i]) != GUARD_IDLE)
                                eligible = true;
                }
                if (eligible)
                        sim_violation(s, "I8", "%s: still no holder %" PRIu64 " us after faults healed or the holder left (bound %" PRIu64 " us)",
                                      nm->name, s->now - orphan_start(s, nm), nm->failover_bound_usec);
                nm->orphan_since = 0;
        }
}

/*
 * I7: quorums in concurrent use intersect, across voter changes. Checked in two
 * ways. Statically, whenever a host installs a configuration: within it, every
 * prepare quorum meets every accept quorum. And on what the hosts do, per name:
 * a value is *chosen* once ACCEPTED replies for its ballot left an accept quorum
 * of voters of one epoch (as the acceptors saw it); every prepare quorum that a
 * proposer then completes for a higher ballot (the promisers it counts: of its
 * own epoch, in its own prepare set) must include a voter whose promise carries
 * that chosen ballot or a later one. This is the intersection the CASPaxos voter
 * change must keep (DESIGN.md "Membership"): a prepare quorum of a later epoch
 * that misses the latest chosen value is how a change would lose a tenure.
 */
void sim_check_i7(Sim *s) {
        for (unsigned i = 0; i < s->n_nodes; i++) {
                const VoterConfig *c;
                unsigned prepare_set = 0, accept_set = 0;

                if (!s->nodes[i].up || !s->nodes[i].core)
                        continue;
                c = node_config(s->nodes[i].core);
                for (unsigned k = 0; k < c->n_voters; k++) {
                        if (voter_config_in_prepare_set(c, c->voters[k]))
                                prepare_set++;
                        if (voter_config_in_accept_set(c, c->voters[k]))
                                accept_set++;
                }
                /* The accept quorum has at least a − (n − p) members in the prepare set. */
                if (prepare_set > accept_set ||
                    voter_config_prepare_quorum(c) + voter_config_accept_quorum(c) - (accept_set - prepare_set) <= prepare_set)
                        sim_violation(s, "I7", "n%u epoch %" PRIu64 ": a prepare quorum of %u and an accept quorum of %u need not meet among %u voters",
                                      s->nodes[i].host, c->epoch.n, voter_config_prepare_quorum(c),
                                      voter_config_accept_quorum(c), accept_set);
        }
}

/*
 * The register chooses one configuration per epoch (CASPaxos): every host that
 * installs epoch n installs the same one.
 */
void sim_check_installed(Sim *s, SimNode *n, const VoterConfig *c) {
        if (c->epoch.n >= s->n_epoch_hash) {
                size_t k = s->n_epoch_hash ? s->n_epoch_hash : 64;
                uint64_t *h;

                while (k <= c->epoch.n)
                        k *= 2;
                h = realloc(s->epoch_hash, k * sizeof(uint64_t));
                if (!h) {
                        sim_violation(s, "I0", "out of memory");
                        return;
                }
                memset(h + s->n_epoch_hash, 0, (k - s->n_epoch_hash) * sizeof(uint64_t));
                s->epoch_hash = h;
                s->n_epoch_hash = k;
        }
        if (s->epoch_hash[c->epoch.n] == 0)
                s->epoch_hash[c->epoch.n] = c->epoch.hash;
        else if (s->epoch_hash[c->epoch.n] != c->epoch.hash)
                sim_violation(s, "I7", "n%u installed epoch %" PRIu64 " with hash %016" PRIx64 ", another host %016" PRIx64 ": two configurations chosen for one epoch",
                              n->host, c->epoch.n, c->epoch.hash, s->epoch_hash[c->epoch.n]);
}

/* An ACCEPTED leaves voter n (after its write is durable). */
void sim_check_i7_accepted(Sim *s, SimNode *n, const PeerMsg *m) {
        const VoterConfig *c;
        SimName *nm;
        int name, idx;

        name = sim_name_index(s, m->name);
        if (name < 0 || !n->core)
                return;
        nm = &s->names[name];
        c = node_config(n->core);
        idx = voter_config_index(c, n->host);
        if (idx < 0 || !voter_config_in_accept_set(c, n->host))
                return;

        int cmp = ballot_compare(&m->value.ba, &nm->i7_ba);
        if (cmp < 0)
                return;
        if (cmp > 0 || !epoch_equal(&m->epoch, &nm->i7_epoch)) {
                /* A new ballot, or the same one counted again under another epoch. */
                nm->i7_ba = m->value.ba;
                nm->i7_epoch = m->epoch;
                nm->i7_mask = 0;
                nm->i7_quorum = voter_config_accept_quorum(c);
        }
        nm->i7_mask |= 1u << n->host;
        if ((unsigned) __builtin_popcount(nm->i7_mask) >= nm->i7_quorum &&
            ballot_compare(&nm->i7_ba, &nm->chosen_ba) > 0)
                nm->chosen_ba = nm->i7_ba;
}

static void check_i7_promise(Sim *s, SimNode *n, const PeerMsg *m, int name) {
        const VoterConfig *c = node_config(n->core);
        const SimName *nm = &s->names[name];

        if (!voter_config_in_prepare_set(c, m->from) || !epoch_equal(&m->epoch, &c->epoch))
                return;
        if (m->round != n->i7_round[name] || ballot_compare(&m->ballot, &n->i7_ballot[name]) != 0) {
                n->i7_round[name] = m->round;
                n->i7_ballot[name] = m->ballot;
                n->i7_mask[name] = 0;
                n->i7_seen[name] = (Ballot) {};
                n->i7_checked[name] = false;
        }
        n->i7_mask[name] |= 1u << m->from;
        if (ballot_compare(&m->value.ba, &n->i7_seen[name]) > 0)
                n->i7_seen[name] = m->value.ba;
        if (n->i7_checked[name] || (unsigned) __builtin_popcount(n->i7_mask[name]) < voter_config_prepare_quorum(c))
                return;
        n->i7_checked[name] = true;
        /* Only a value chosen below the prepared ballot must show. */
        if (ballot_compare(&nm->chosen_ba, &m->ballot) >= 0)
                return;
        if (ballot_compare(&n->i7_seen[name], &nm->chosen_ba) < 0)
                sim_violation(s, "I7", "n%u: a prepare quorum (epoch %" PRIu64 ", promisers 0x%x) for %s b=%" PRIu64 ".%u "
                              "saw at most ba=%" PRIu64 ".%u, but ba=%" PRIu64 ".%u was chosen",
                              n->host, c->epoch.n, n->i7_mask[name], m->name, m->ballot.counter, m->ballot.host,
                              n->i7_seen[name].counter, n->i7_seen[name].host,
                              nm->chosen_ba.counter, nm->chosen_ba.host);
}

/*
 * P2, the Paxos rule I1 and I3 rest on (DESIGN.md "Acquire": "with a quorum of
 * promises ... ACCEPT(b, …)"): a proposer sends ACCEPT(b) only for a ballot b
 * for which it received PROMISE(b) from a prepare quorum in its current life.
 * Otherwise its ACCEPT can overwrite a value chosen at a lower ballot in between.
 */
void sim_check_received(Sim *s, SimNode *n, const PeerMsg *m) {
        const VoterConfig *c;
        unsigned quorum;
        Ballot (*q)[SIM_QUORUM_HISTORY];
        size_t slot;
        int name, idx;

        if (m->type != MSG_PROMISE || !n->core)
                return;
        c = node_config(n->core);
        quorum = voter_config_prepare_quorum(c);
        name = sim_name_index(s, m->name);
        idx = voter_config_index(c, m->from);
        if (name < 0 || idx < 0 || m->ballot.host != n->host)
                return;
        check_i7_promise(s, n, m, name);
        /*
         * Promises count toward the round they answer; a late one for an older
         * round does not. The change driver's rounds (a rescan's rewrite) may run
         * beside the guard's for the same name: each has its own slot.
         */
        slot = 2 * (size_t) name + ((m->round & RECONF_ROUND_BIT) ? 1 : 0);
        if (m->round != n->promise_round[slot]) {
                if (m->round < n->promise_round[slot])
                        return;
                n->promise_round[slot] = m->round;
                n->promise_ballot[slot] = m->ballot;
                n->promise_mask[slot] = 0;
        }
        if (ballot_compare(&m->ballot, &n->promise_ballot[slot]) != 0)
                return;
        n->promise_mask[slot] |= 1u << idx;
        if ((unsigned) __builtin_popcount(n->promise_mask[slot]) != quorum)
                return;
        q = &n->quorum_ballots[name];
        memmove(&(*q)[1], &(*q)[0], (SIM_QUORUM_HISTORY - 1) * sizeof(Ballot));
        (*q)[0] = m->ballot;
}

void sim_check_proposed(Sim *s, SimNode *n, const PeerMsg *m) {
        int name = sim_name_index(s, m->name);

        if (name < 0 || m->from != n->host)
                return;

        if (m->type == MSG_PREPARE) {
                /*
                 * B1 (DESIGN.md "Identity": "ballots never collide"): a host's new
                 * ballot is above every ballot it used before, across its restarts
                 * too, or two different values can be accepted at one ballot.
                 */
                if (m->round == n->prepared_round[name])
                        return; /* the same round's PREPARE to another voter */
                if (ballot_compare(&m->ballot, &n->prepared[name]) <= 0)
                        sim_violation(s, "B1", "n%u prepared %s with ballot %" PRIu64 ".%u, not above the %" PRIu64 ".%u it prepared %s",
                                      n->host, m->name, m->ballot.counter, m->ballot.host,
                                      n->prepared[name].counter, n->prepared[name].host,
                                      n->prepared_life[name] == n->life ? "earlier in this life" : "before a restart");
                if (ballot_compare(&m->ballot, &n->prepared[name]) > 0) {
                        n->prepared[name] = m->ballot;
                        n->prepared_life[name] = n->life;
                }
                n->prepared_round[name] = m->round;
                return;
        }

        /* The identity round of a rescan repeats a value at its own ballot: a repair, not a proposal. */
        if (m->identity)
                return;
        for (unsigned i = 0; i < SIM_QUORUM_HISTORY; i++)
                if (ballot_compare(&m->ballot, &n->quorum_ballots[name][i]) == 0)
                        return;
        sim_violation(s, "P2", "n%u sent ACCEPT %s b=%" PRIu64 ".%u (%s) without a quorum of promises for that ballot",
                      n->host, m->name, m->ballot.counter, m->ballot.host, value_kind_to_string(m->value.kind));
}
