/* SPDX-License-Identifier: MIT */
/* The acceptor: one voter's per-name register state and its answers. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/acceptor.h"
#include "core/ballot.h"
#include "core/lease.h"
#include "core/name-table.h"
#include "core/quorum.h"

/* How often a recovering voter asks again the voters that have not finished a scan. */
#define ACCEPTOR_SCAN_RETRY_USEC UINT64_C(1000000)

typedef struct Entry {
        AcceptorEntry pub;
        /* Recovery: which voters (by index) already sent this name. */
        uint8_t scan_seen;
} Entry;

struct Acceptor {
        uint16_t self;
        uint64_t incarnation;
        VoterConfig config;
        NameTable names;

        bool started;
        bool recovering;
        uint64_t recover_not_before;
        uint64_t scan_retry_at;
        uint64_t scan_round;
        uint64_t scan_seq;
        /* Per voter index: names received in the scan, the count its SCAN_DONE gave. */
        uint64_t scan_received[PES_VOTERS_MAX];
        uint64_t scan_expected[PES_VOTERS_MAX];
        bool scan_done[PES_VOTERS_MAX];
        /* The T_max·(1+ρ) wait is over (so its deadline is no longer armed). */
        bool waited;
};

Acceptor *acceptor_new(uint16_t self, uint64_t incarnation, const VoterConfig *config) {
        Acceptor *a;

        if (self == PES_HOST_NONE || !config || voter_config_validate(config) < 0)
                return NULL;

        a = calloc(1, sizeof(Acceptor));
        if (!a)
                return NULL;
        a->self = self;
        a->incarnation = incarnation;
        a->config = *config;
        a->names = NAME_TABLE_NULL;
        return a;
}

Acceptor *acceptor_free(Acceptor *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < name_table_size(&a->names); i++)
                free(name_table_item(&a->names, i)->value);
        name_table_done(&a->names);
        free(a);
        return NULL;
}

static bool name_valid(const char *name) {
        size_t n = strnlen(name, PES_NAME_MAX + 1);
        return n > 0 && n <= PES_NAME_MAX;
}

static Entry *entry_get(const Acceptor *a, const char *name) {
        return name_table_get(&a->names, name);
}

static int entry_get_or_add(Acceptor *a, const char *name, Entry **ret) {
        Entry *e;
        const char *key;
        int r;

        e = entry_get(a, name);
        if (e) {
                *ret = e;
                return 0;
        }

        e = calloc(1, sizeof(Entry));
        if (!e)
                return -ENOMEM;
        e->pub.v.kind = VALUE_FREE;
        r = name_table_put(&a->names, name, e, &key);
        if (r < 0) {
                free(e);
                return r;
        }
        e->pub.name = key;
        *ret = e;
        return 0;
}

int acceptor_load(Acceptor *a, const char *name, const Ballot *bp, const RegValue *v) {
        Entry *e;
        int r;

        if (!a || !name || !bp || !v || !name_valid(name))
                return -EINVAL;
        if (a->started)
                return -EBUSY;
        if (ballot_compare(&v->ba, bp) > 0 || (unsigned) v->kind >= _VALUE_KIND_MAX)
                return -EINVAL;

        r = entry_get_or_add(a, name, &e);
        if (r < 0)
                return r;
        e->pub.bp = *bp;
        e->pub.v = *v;
        e->pub.ea = 0;
        return 0;
}

static bool is_voter(const Acceptor *a) {
        return voter_config_index(&a->config, a->self) >= 0;
}

static void msg_init(const Acceptor *a, PeerMsg *m, MsgType type, const char *name, uint64_t round) {
        memset(m, 0, sizeof(*m));
        m->type = type;
        m->from = a->self;
        m->incarnation = a->incarnation;
        m->epoch = a->config.epoch;
        m->round = round;
        if (name) {
                size_t k = strnlen(name, PES_NAME_MAX);
                memcpy(m->name, name, k);
                m->name[k] = 0;
        }
}

static PeerMsg *send_to(const Acceptor *a, ActionList *out, uint16_t to, MsgType type,
                        const char *name, uint64_t round, bool after_persist) {
        Action *act;

        act = action_list_append(out, ACTION_SEND, name);
        if (!act)
                return NULL;
        act->send.to = to;
        act->send.after_persist = after_persist;
        msg_init(a, &act->send.msg, type, name, round);
        return &act->send.msg;
}

static int persist(ActionList *out, const Entry *e, bool seq_only) {
        Action *act;

        act = action_list_append(out, ACTION_PERSIST, e->pub.name);
        if (!act)
                return -ENOMEM;
        act->persist.bp = e->pub.bp;
        act->persist.v = e->pub.v;
        act->persist.seq_only = seq_only;
        return 0;
}

static int notify_owner(ActionList *out, const Entry *e) {
        Action *act;

        act = action_list_append(out, ACTION_NOTIFY, e->pub.name);
        if (!act)
                return -ENOMEM;
        act->notify.kind = NOTIFY_OWNER;
        act->notify.holder = e->pub.v.kind == VALUE_FREE ? PES_HOST_NONE : e->pub.v.holder;
        act->notify.value_kind = e->pub.v.kind;
        act->notify.token = e->pub.v.token;
        return 0;
}

uint64_t acceptor_entry_remaining(const AcceptorEntry *e, uint64_t now) {
        assert(e);

        if (!value_is_claim(&e->v) || e->ea <= now)
                return 0;
        return e->ea - now;
}

/* Arms the expiry of a LEASE/RESERVED just accepted (or reloaded): T·(1+ρ) from now. */
static void arm_expiry(const Acceptor *a, Entry *e, uint64_t now) {
        if (value_is_claim(&e->pub.v))
                e->pub.ea = now + lease_acceptor_usec(e->pub.v.lease_usec, a->config.rho_ppm);
        else
                e->pub.ea = 0;
}

/* Asks every other voter of the prepare set for its names (a recovery's scan). */
static int scan_send(Acceptor *a, ActionList *out) {
        for (unsigned i = 0; i < a->config.n_voters; i++) {
                uint16_t v = a->config.voters[i];

                if (v == a->self || !voter_config_in_prepare_set(&a->config, v) ||
                    (a->scan_done[i] && a->scan_received[i] >= a->scan_expected[i]))
                        continue;
                if (!send_to(a, out, v, MSG_SCAN, NULL, a->scan_round, false))
                        return -ENOMEM;
        }
        return 0;
}

/* A new scan under the current configuration: what earlier scans counted is forgotten. */
static int scan_restart(Acceptor *a, uint64_t now, ActionList *out) {
        Action *t;

        memset(a->scan_received, 0, sizeof(a->scan_received));
        memset(a->scan_expected, 0, sizeof(a->scan_expected));
        memset(a->scan_done, 0, sizeof(a->scan_done));
        for (size_t i = 0; i < name_table_size(&a->names); i++)
                ((Entry *) name_table_item(&a->names, i)->value)->scan_seen = 0;
        a->scan_seq++;
        a->scan_round = (a->incarnation << 32) | (a->scan_seq & UINT32_C(0xffffffff));
        a->scan_retry_at = now + ACCEPTOR_SCAN_RETRY_USEC;
        if (scan_send(a, out) < 0)
                return -ENOMEM;
        t = action_list_append(out, ACTION_ARM_TIMER, NULL);
        if (!t)
                return -ENOMEM;
        t->timer.deadline = acceptor_next_deadline(a);
        return 0;
}

/*
 * Recovery (DESIGN.md "Lost disk"; "Membership": a new voter first recovers state
 * as a lost-disk voter does): silent until T_max·(1+ρ) passed and every name was
 * read from F+1 other voters of the prepare set. What the voter already holds is
 * kept; the scan only raises bp and the value (the highest of both wins).
 */
static int recovery_begin(Acceptor *a, uint64_t now, ActionList *out) {
        a->recovering = true;
        a->waited = false;
        a->recover_not_before = now + lease_acceptor_usec(a->config.lease_max_usec, a->config.rho_ppm);
        return scan_restart(a, now, out);
}

int acceptor_start(Acceptor *a, AcceptorStart mode, uint64_t now, ActionList *out) {
        if (!a || !out || (unsigned) mode >= _ACCEPTOR_START_MAX)
                return -EINVAL;
        if (a->started)
                return -EALREADY;

        switch (mode) {

        case ACCEPTOR_START_BOOTSTRAP:
                if (name_table_size(&a->names) > 0)
                        return -EINVAL;
                if (!action_list_append(out, ACTION_PERSIST_INIT, NULL))
                        return -ENOMEM;
                break;

        case ACCEPTOR_START_RESTART:
                /*
                 * DESIGN.md "Restart": the expiry was volatile, so every claim is
                 * live for a full T·(1+ρ) from now, which ends no earlier than the
                 * expiry it replaces.
                 */
#ifndef PES_SIM_BREAK_RESTART_EXPIRY
                /*
                 * Only the simulator's broken-rule build (tests/sim/meson.build)
                 * defines the switch, to show its checker finds the violation.
                 */
                for (size_t i = 0; i < name_table_size(&a->names); i++)
                        arm_expiry(a, name_table_item(&a->names, i)->value, now);
#endif
                break;

        case ACCEPTOR_START_LOST_DISK: {
                int k;

                /*
                 * DESIGN.md "Lost disk": a promise given before the disk was lost
                 * may still be in flight, so wait T_max·(1+ρ) at least, and read
                 * every name from F+1 other voters before answering anything.
                 */
                k = recovery_begin(a, now, out);
                if (k < 0)
                        return k;
                break;
        }

        default:
                assert(false);
        }

        a->started = true;
        return 0;
}

int acceptor_set_config(Acceptor *a, const VoterConfig *config, uint64_t now, ActionList *out) {
        bool was_voter;

        if (!a || !config || !out || voter_config_validate(config) < 0)
                return -EINVAL;
        if (config->epoch.n <= a->config.epoch.n)
                return -ESTALE;

        was_voter = is_voter(a);
        a->config = *config;
        if (!a->started)
                return 0;

        if (!is_voter(a)) {
                /* No longer a voter: silent from now on (acceptor_handle()). */
                a->recovering = false;
                return 0;
        }
#ifndef PES_SIM_BREAK_NEW_VOTER_AT_ONCE
        if (!was_voter)
                /*
                 * DESIGN.md "Membership": the new voter first recovers state as a
                 * lost-disk voter does, keeping whatever it holds; a promise it gave
                 * in an earlier term as a voter may still be in flight, so it also
                 * waits T_max·(1+ρ) from the install.
                 */
                return recovery_begin(a, now, out);
#else
        /*
         * Only the simulator's broken-rule build (tests/sim/meson.build) lets a
         * new voter answer at once, to show its checker finds the violation.
         */
        (void) was_voter;
#endif
        if (a->recovering)
                /* The voter indices changed: scan again under the new configuration. */
                return scan_restart(a, now, out);
        return 0;
}

int acceptor_load_config(Acceptor *a, const VoterConfig *config) {
        if (!a || !config || voter_config_validate(config) < 0)
                return -EINVAL;
        if (a->started)
                return -EBUSY;
        a->config = *config;
        return 0;
}

const VoterConfig *acceptor_config(const Acceptor *a) {
        assert(a);
        return &a->config;
}

bool acceptor_serving(const Acceptor *a) {
        assert(a);
        return a->started && !a->recovering;
}

const AcceptorEntry *acceptor_lookup(const Acceptor *a, const char *name) {
        const Entry *e;

        assert(a);
        if (!name)
                return NULL;
        e = entry_get(a, name);
        return e ? &e->pub : NULL;
}

size_t acceptor_n_entries(const Acceptor *a) {
        assert(a);
        return name_table_size(&a->names);
}

const AcceptorEntry *acceptor_entry(const Acceptor *a, size_t i) {
        const NameTableItem *it;

        assert(a);
        it = name_table_item(&a->names, i);
        return it ? &((const Entry *) it->value)->pub : NULL;
}

static int handle_read(Acceptor *a, const PeerMsg *m, uint64_t now, ActionList *out) {
        const Entry *e = entry_get(a, m->name);
        PeerMsg *r;

        r = send_to(a, out, m->from, MSG_READ_REPLY, m->name, m->round, false);
        if (!r)
                return -ENOMEM;
        if (e) {
                r->ballot = e->pub.bp;
                r->value = e->pub.v;
                r->remaining_usec = acceptor_entry_remaining(&e->pub, now);
        }
        return 0;
}

static int nack(Acceptor *a, const PeerMsg *m, const Entry *e, NackReason reason, uint64_t now, ActionList *out) {
        PeerMsg *r;

        /* Every rejection carries the promised ballot (DESIGN.md "Ballot"). */
        r = send_to(a, out, m->from, MSG_NACK, m->name, m->round, false);
        if (!r)
                return -ENOMEM;
        r->reason = reason;
        r->ballot = e->pub.bp;
        r->value = e->pub.v;
        r->remaining_usec = acceptor_entry_remaining(&e->pub, now);
        return 0;
}

static int handle_prepare(Acceptor *a, const PeerMsg *m, uint64_t now, ActionList *out) {
        Entry *e;
        PeerMsg *r;
        int k;

        if (ballot_is_null(&m->ballot) || m->ballot.host != m->from)
                return -EINVAL;

        k = entry_get_or_add(a, m->name, &e);
        if (k < 0)
                return k;

        /*
         * DESIGN.md "Messages": while a LEASE/RESERVED is live on this clock, a
         * PREPARE from anyone but its holder (or the reserved host) is refused
         * without raising bp, so a challenger cannot disturb a renewing holder.
         */
        if (acceptor_entry_remaining(&e->pub, now) > 0 && m->from != e->pub.v.holder)
                return nack(a, m, e, NACK_LIVE, now, out);

        /* PREPARE needs b > bp (DESIGN.md "Identity"). */
        if (ballot_compare(&m->ballot, &e->pub.bp) <= 0)
                return nack(a, m, e, NACK_PROMISED, now, out);

        e->pub.bp = m->ballot;
        k = persist(out, e, false);
        if (k < 0)
                return k;

        r = send_to(a, out, m->from, MSG_PROMISE, m->name, m->round, true);
        if (!r)
                return -ENOMEM;
        r->ballot = m->ballot;
        r->value = e->pub.v;
        r->remaining_usec = acceptor_entry_remaining(&e->pub, now);
        return 0;
}

static int accepted(Acceptor *a, const PeerMsg *m, const Entry *e, ActionList *out) {
        PeerMsg *r;

        r = send_to(a, out, m->from, MSG_ACCEPTED, m->name, m->round, true);
        if (!r)
                return -ENOMEM;
        r->ballot = m->ballot;
        r->value = e->pub.v;
        return 0;
}

/*
 * The identity round of a rescan (DESIGN.md "Voter configuration is itself a
 * CASPaxos register": "identity rounds never extend ea"): the value at its own
 * (ba, seq), already checked not to be below bp. The same (ba, seq) is
 * acknowledged again without moving ea; a newer one is refused; an older one, or
 * none, is replaced, with ea = now + the remaining time the rescan saw (at most
 * T·(1+ρ)), so the repair keeps a live claim live no longer than it already was.
 */
static int handle_identity(Acceptor *a, const PeerMsg *m, Entry *e, uint64_t now, ActionList *out) {
        const RegValue *nv = &m->value;
        bool owner_changed;
        int c, k;

        c = value_compare(nv, &e->pub.v);
        if (c < 0)
                return nack(a, m, e, NACK_STALE_SEQ, now, out);
        if (c == 0) {
                if (!value_same_but_seq(nv, &e->pub.v))
                        return nack(a, m, e, NACK_STALE_SEQ, now, out);
                return accepted(a, m, e, out);
        }

        owner_changed = e->pub.v.kind != nv->kind || e->pub.v.holder != nv->holder || e->pub.v.token != nv->token;
        e->pub.bp = m->ballot;
        e->pub.v = *nv;
        if (value_is_claim(nv)) {
                uint64_t full = lease_acceptor_usec(nv->lease_usec, a->config.rho_ppm);

                /*
                 * A rescan repairs a claim by identity only while it is live
                 * somewhere (an expired one is rewritten FREE), so no remaining
                 * time means it was lost on the way: count the claim live for
                 * a full T·(1+ρ), the side that can only delay a takeover.
                 */
                if (m->remaining_usec > 0 && m->remaining_usec < full)
                        full = m->remaining_usec;
                e->pub.ea = now + full;
        } else
                e->pub.ea = 0;

        k = persist(out, e, false);
        if (k < 0)
                return k;
        k = accepted(a, m, e, out);
        if (k < 0)
                return k;
        if (owner_changed)
                return notify_owner(out, e);
        return 0;
}

static int handle_accept(Acceptor *a, const PeerMsg *m, uint64_t now, ActionList *out) {
        const RegValue *nv = &m->value;
        bool owner_changed;
        Entry *e;
        int k;

        if (ballot_is_null(&m->ballot) ||
            ballot_compare(&nv->ba, &m->ballot) != 0 ||
            (unsigned) nv->kind >= _VALUE_KIND_MAX)
                return -EINVAL;
        if (value_is_claim(nv) &&
            (nv->holder == PES_HOST_NONE || nv->lease_usec == 0 || nv->lease_usec > a->config.lease_max_usec))
                return -EINVAL;

        k = entry_get_or_add(a, m->name, &e);
        if (k < 0)
                return k;

        if (ballot_compare(&m->ballot, &e->pub.bp) < 0)
                return nack(a, m, e, NACK_PROMISED, now, out);

        if (m->identity)
                return handle_identity(a, m, e, now, out);

        if (ballot_compare(&m->ballot, &e->pub.v.ba) == 0) {
                /*
                 * DESIGN.md "Order within a tenure": at the accepted ballot, an older
                 * sequence is refused and an equal one acknowledged again without
                 * moving ea, so a delayed or duplicated round can neither undo a
                 * release or a reservation nor extend a lease.
                 */
                if (nv->seq < e->pub.v.seq)
                        return nack(a, m, e, NACK_STALE_SEQ, now, out);
                if (nv->seq == e->pub.v.seq) {
                        if (!value_same_but_seq(nv, &e->pub.v))
                                return nack(a, m, e, NACK_STALE_SEQ, now, out);
                        return accepted(a, m, e, out);
                }

                /* DESIGN.md "Sequence numbers": no LEASE after FREE or RESERVED within a ballot. */
                if (nv->kind == VALUE_LEASE && e->pub.v.kind != VALUE_LEASE)
                        return nack(a, m, e, NACK_STALE_SEQ, now, out);

                if (value_same_but_seq(nv, &e->pub.v)) {
                        /*
                         * A renewal: only seq and ea change, and seq alone need not
                         * be written (DESIGN.md "the steady state does no disk
                         * writes"). After a restart, a lower seq reloaded from disk
                         * can only make this voter accept a delayed renewal of the
                         * same tenure, which lengthens its own expiry: safe.
                         */
                        e->pub.v.seq = nv->seq;
                        arm_expiry(a, e, now);
                        k = persist(out, e, true);
                        if (k < 0)
                                return k;
                        return accepted(a, m, e, out);
                }
        }

        owner_changed = e->pub.v.kind != nv->kind || e->pub.v.holder != nv->holder || e->pub.v.token != nv->token;

        /* ba ≤ bp always holds (I4): accepting at b means having promised b. */
        e->pub.bp = m->ballot;
        e->pub.v = *nv;
        arm_expiry(a, e, now);

        k = persist(out, e, false);
        if (k < 0)
                return k;
        k = accepted(a, m, e, out);
        if (k < 0)
                return k;
        if (owner_changed)
                return notify_owner(out, e);
        return 0;
}

static int handle_scan(Acceptor *a, const PeerMsg *m, uint64_t now, ActionList *out) {
        uint64_t count = 0;
        PeerMsg *r;

        /*
         * A recovering voter reads every name from the voters; so does a member
         * driving the rescan of a voter change (DESIGN.md "Voter configuration is
         * itself a CASPaxos register"). Its round is echoed, so each gets its own.
         */
        if (!voter_config_is_member(&a->config, m->from) || m->from == a->self)
                return 0;

        for (size_t i = 0; i < name_table_size(&a->names); i++) {
                const Entry *e = name_table_item(&a->names, i)->value;

                r = send_to(a, out, m->from, MSG_SCAN_REPLY, e->pub.name, m->round, false);
                if (!r)
                        return -ENOMEM;
                r->ballot = e->pub.bp;
                r->value = e->pub.v;
                r->remaining_usec = acceptor_entry_remaining(&e->pub, now);
                count++;
        }

        r = send_to(a, out, m->from, MSG_SCAN_DONE, NULL, m->round, false);
        if (!r)
                return -ENOMEM;
        r->scan_count = count;
        return 0;
}

static unsigned scans_complete(const Acceptor *a) {
        unsigned c = 0;

        for (unsigned i = 0; i < a->config.n_voters; i++)
                if (a->config.voters[i] != a->self && voter_config_in_prepare_set(&a->config, a->config.voters[i]) &&
                    a->scan_done[i] && a->scan_received[i] >= a->scan_expected[i])
                        c++;
        return c;
}

static int recovery_check(Acceptor *a, uint64_t now, ActionList *out) {
        if (!a->recovering)
                return 0;
        if (now < a->recover_not_before)
                return 0;
        a->waited = true;
        if (scans_complete(a) < voter_config_recovery_quorum(&a->config))
                return 0;

        /*
         * Recovered: what was adopted becomes durable, and every claim is live for
         * a full T·(1+ρ) from now (DESIGN.md "Lost disk").
         */
        a->recovering = false;
        for (size_t i = 0; i < name_table_size(&a->names); i++) {
                Entry *e = name_table_item(&a->names, i)->value;
                int k;

                arm_expiry(a, e, now);
                k = persist(out, e, false);
                if (k < 0)
                        return k;
        }
        if (!action_list_append(out, ACTION_PERSIST_INIT, NULL))
                return -ENOMEM;
        return 0;
}

static int handle_scan_reply(Acceptor *a, const PeerMsg *m, uint64_t now, ActionList *out) {
        int idx, k;
        Entry *e;

        if (!a->recovering || m->round != a->scan_round)
                return 0;
        idx = voter_config_index(&a->config, m->from);
        if (idx < 0 || m->from == a->self)
                return 0;

        if (m->type == MSG_SCAN_DONE) {
                a->scan_done[idx] = true;
                /* A later scan of the same voter can only list more names: they are never removed. */
                if (m->scan_count > a->scan_expected[idx])
                        a->scan_expected[idx] = m->scan_count;
                return recovery_check(a, now, out);
        }

        if (!name_valid(m->name) || ballot_compare(&m->value.ba, &m->ballot) > 0 ||
            (unsigned) m->value.kind >= _VALUE_KIND_MAX)
                return -EINVAL;

        k = entry_get_or_add(a, m->name, &e);
        if (k < 0)
                return k;
        if (!(e->scan_seen & (1u << idx))) {
                e->scan_seen |= (uint8_t) (1u << idx);
                a->scan_received[idx]++;
        }

        /* Adopt the highest bp and the whole value with the highest (ba, seq). */
        if (ballot_compare(&m->ballot, &e->pub.bp) > 0)
                e->pub.bp = m->ballot;
        if (value_compare(&m->value, &e->pub.v) > 0)
                e->pub.v = m->value;

        return recovery_check(a, now, out);
}

int acceptor_handle(Acceptor *a, const PeerMsg *m, uint64_t now, ActionList *out) {
        if (!a || !m || !out)
                return -EINVAL;
        if (!a->started || !is_voter(a))
                return 0;

        if (m->type == MSG_SCAN_REPLY || m->type == MSG_SCAN_DONE)
                return handle_scan_reply(a, m, now, out);

        if (m->type != MSG_READ && m->type != MSG_PREPARE && m->type != MSG_ACCEPT && m->type != MSG_SCAN)
                return 0;

        /* DESIGN.md "Lost disk": a recovering voter answers nothing. */
        if (a->recovering)
                return 0;

        if (m->type != MSG_SCAN && !name_valid(m->name))
                return -EINVAL;
        if (m->from == PES_HOST_NONE)
                return -EINVAL;

        /*
         * DESIGN.md "Membership": an older epoch, or another voter set under the same
         * number (a host with a different Peers= list), is told the configuration
         * and not counted; a newer epoch means this voter is behind: it stays silent.
         */
        if (m->epoch.n > a->config.epoch.n) {
                Action *act = action_list_append(out, ACTION_NOTIFY, NULL);
                PeerMsg *r;

                if (!act)
                        return -ENOMEM;
                act->notify.kind = NOTIFY_CONFIG;
                act->notify.from = m->from;
                act->notify.config.epoch = m->epoch;
                /*
                 * Not counted, but the sender learns that this voter is behind and
                 * sends it the chosen configuration (node_receive()).
                 */
                r = send_to(a, out, m->from, MSG_NACK_CONFIG, m->type == MSG_SCAN ? NULL : m->name, m->round, false);
                if (!r)
                        return -ENOMEM;
                r->config = a->config;
                return 0;
        }
        /*
         * DESIGN.md "Membership": only members of the installed configuration are
         * answered; a removed host is told the configuration, so it learns that it
         * is out, and its renewals fail (it fences itself as usual).
         */
        if (!epoch_equal(&m->epoch, &a->config.epoch) || !voter_config_is_member(&a->config, m->from)) {
                PeerMsg *r = send_to(a, out, m->from, MSG_NACK_CONFIG, m->type == MSG_SCAN ? NULL : m->name, m->round, false);
                if (!r)
                        return -ENOMEM;
                r->config = a->config;
                return 0;
        }

        switch (m->type) {
        case MSG_READ:
                return handle_read(a, m, now, out);
        case MSG_PREPARE:
                return handle_prepare(a, m, now, out);
        case MSG_ACCEPT:
                return handle_accept(a, m, now, out);
        case MSG_SCAN:
                return handle_scan(a, m, now, out);
        default:
                return 0;
        }
}

int acceptor_timer(Acceptor *a, uint64_t now, ActionList *out) {
        Action *t;
        int r;

        if (!a || !out)
                return -EINVAL;
        if (!a->recovering)
                return 0;

        if (now >= a->scan_retry_at) {
                /* A voter whose SCAN_DONE came with fewer names than it announced
                 * lost some replies: ask it again (names are counted once each, so
                 * a repeat completes it). */
                r = scan_send(a, out);
                if (r < 0)
                        return r;
                a->scan_retry_at = now + ACCEPTOR_SCAN_RETRY_USEC;
        }

        r = recovery_check(a, now, out);
        if (r < 0 || !a->recovering)
                return r;

        t = action_list_append(out, ACTION_ARM_TIMER, NULL);
        if (!t)
                return -ENOMEM;
        t->timer.deadline = acceptor_next_deadline(a);
        return 0;
}

uint64_t acceptor_next_deadline(const Acceptor *a) {
        assert(a);

        if (!a->recovering)
                return UINT64_MAX;
        if (a->waited || a->recover_not_before > a->scan_retry_at)
                return a->scan_retry_at;
        return a->recover_not_before;
}
