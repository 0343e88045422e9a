/* SPDX-License-Identifier: MIT */
/* Unit tests of the acceptor: every rule of DESIGN.md "Acceptor state per name" and "Messages". */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/acceptor.h"
#include "core/ballot.h"
#include "core/lease.h"
#include "core-test.h"

#define T UINT64_C(3000000)
#define T_ACC UINT64_C(3003000) /* T·(1+ρ), ρ = 10⁻³ */
#define NAME "report.service"

typedef struct Fixture {
        VoterConfig config;
        Acceptor *a;
        ActionList out;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        f->config = test_config(3);
        f->a = acceptor_new(1, 1, &f->config);
        assert_non_null(f->a);
        action_list_init(&f->out);
        assert_int_equal(acceptor_start(f->a, ACCEPTOR_START_BOOTSTRAP, 0, &f->out), 0);
        action_list_clear(&f->out);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        acceptor_free(f->a);
        action_list_done(&f->out);
        free(f);
        return 0;
}

/* Feeds one message and returns the single reply it produced (or NULL). */
static const PeerMsg *feed(Fixture *f, const PeerMsg *m, uint64_t now) {
        action_list_clear(&f->out);
        assert_int_equal(acceptor_handle(f->a, m, now, &f->out), 0);
        const Action *s = test_find(&f->out, ACTION_SEND, 0);
        return s ? &s->send.msg : NULL;
}

static const PeerMsg *prepare(Fixture *f, uint16_t from, uint64_t counter, uint64_t now) {
        PeerMsg m = test_msg(MSG_PREPARE, from, &f->config, NAME, 100 + counter);
        m.ballot = (Ballot) { counter, from };
        return feed(f, &m, now);
}

static const PeerMsg *accept(Fixture *f, uint16_t from, uint64_t counter, RegValue v, uint64_t now) {
        PeerMsg m = test_msg(MSG_ACCEPT, from, &f->config, NAME, 200 + counter);
        m.ballot = (Ballot) { counter, from };
        v.ba = m.ballot;
        m.value = v;
        return feed(f, &m, now);
}

static RegValue lease_of(uint16_t holder, uint64_t seq) {
        return (RegValue) { .seq = seq, .kind = VALUE_LEASE, .holder = holder, .token = 77, .lease_usec = T };
}

static void test_bootstrap_persists_the_initialised_marker(void **state) {
        VoterConfig c = test_config(3);
        Acceptor *a = acceptor_new(2, 1, &c);
        ActionList out = ACTION_LIST_NULL;

        assert_false(acceptor_serving(a));
        assert_int_equal(acceptor_start(a, ACCEPTOR_START_BOOTSTRAP, 5, &out), 0);
        assert_non_null(test_find(&out, ACTION_PERSIST_INIT, 0));
        assert_true(acceptor_serving(a));
        assert_int_equal(acceptor_start(a, ACCEPTOR_START_BOOTSTRAP, 5, &out), -EALREADY);
        acceptor_free(a);
        action_list_done(&out);
}

static void test_read_of_unknown_name_reports_free(void **state) {
        Fixture *f = *state;
        PeerMsg m = test_msg(MSG_READ, 2, &f->config, NAME, 9);
        const PeerMsg *r = feed(f, &m, 10);

        assert_non_null(r);
        assert_int_equal(r->type, MSG_READ_REPLY);
        assert_int_equal(r->round, 9);
        assert_int_equal(r->value.kind, VALUE_FREE);
        assert_true(ballot_is_null(&r->ballot));
        assert_int_equal(r->remaining_usec, 0);
        /* A read creates nothing and writes nothing. */
        assert_null(acceptor_lookup(f->a, NAME));
        assert_null(test_find(&f->out, ACTION_PERSIST, 0));
}

static void test_prepare_promises_higher_ballot_only_after_persist(void **state) {
        Fixture *f = *state;
        const PeerMsg *r = prepare(f, 2, 5, 10);
        const Action *p = test_find(&f->out, ACTION_PERSIST, 0);

        assert_non_null(r);
        assert_int_equal(r->type, MSG_PROMISE);
        assert_int_equal(r->ballot.counter, 5);
        assert_non_null(p);
        assert_false(p->persist.seq_only);
        assert_int_equal(p->persist.bp.counter, 5);
        /* The PERSIST comes first and the PROMISE waits for its sync. */
        assert_int_equal(f->out.actions[0].type, ACTION_PERSIST);
        assert_true(test_find(&f->out, ACTION_SEND, 0)->send.after_persist);
        assert_int_equal(acceptor_lookup(f->a, NAME)->bp.counter, 5);
}

static void test_prepare_not_above_bp_is_nacked_with_bp(void **state) {
        Fixture *f = *state;
        const PeerMsg *r;

        prepare(f, 2, 5, 10);
        r = prepare(f, 3, 4, 11);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_PROMISED);
        assert_int_equal(r->ballot.counter, 5);
        assert_int_equal(r->ballot.host, 2);
        assert_null(test_find(&f->out, ACTION_PERSIST, 0));

        /* Equal is not enough either: PREPARE needs b > bp. */
        r = prepare(f, 2, 5, 12);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_PROMISED);
}

static void test_prepare_rejected_while_lease_held(void **state) {
        Fixture *f = *state;
        const PeerMsg *r;

        assert_int_equal(accept(f, 2, 5, lease_of(2, 1), 1000)->type, MSG_ACCEPTED);

        r = prepare(f, 3, 9, 2000);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_LIVE);
        assert_int_equal(r->remaining_usec, 1000 + T_ACC - 2000);
        assert_int_equal(r->value.holder, 2);
        /* bp is not raised, so the holder's renewals keep working. */
        assert_int_equal(acceptor_lookup(f->a, NAME)->bp.counter, 5);
        assert_null(test_find(&f->out, ACTION_PERSIST, 0));
        assert_int_equal(accept(f, 2, 5, lease_of(2, 2), 2500)->type, MSG_ACCEPTED);
}

static void test_prepare_from_holder_allowed_while_lease_live(void **state) {
        Fixture *f = *state;
        const PeerMsg *r;

        accept(f, 2, 5, lease_of(2, 1), 1000);
        r = prepare(f, 2, 6, 2000);
        assert_int_equal(r->type, MSG_PROMISE);
        /* The promise shows the accepted value and how long it stays live. */
        assert_int_equal(r->value.kind, VALUE_LEASE);
        assert_int_equal(r->value.holder, 2);
        assert_int_equal(r->remaining_usec, 1000 + T_ACC - 2000);
}

static void test_reservation_admits_only_the_reserved_host(void **state) {
        Fixture *f = *state;
        RegValue reserved = { .seq = 2, .kind = VALUE_RESERVED, .holder = 3, .token = 77, .lease_usec = T };
        const PeerMsg *r;

        accept(f, 2, 5, lease_of(2, 1), 1000);
        assert_int_equal(accept(f, 2, 5, reserved, 1100)->type, MSG_ACCEPTED);

        /* While RESERVED(3) is live, PREPAREs from the old holder are refused too. */
        r = prepare(f, 2, 6, 1200);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_LIVE);
        r = prepare(f, 3, 6, 1300);
        assert_int_equal(r->type, MSG_PROMISE);
        assert_int_equal(r->value.kind, VALUE_RESERVED);
}

static void test_prepare_allowed_once_lease_expired_on_own_clock(void **state) {
        Fixture *f = *state;

        accept(f, 2, 5, lease_of(2, 1), 1000);
        assert_int_equal(prepare(f, 3, 9, 1000 + T_ACC - 1)->reason, NACK_LIVE);
        assert_int_equal(prepare(f, 3, 9, 1000 + T_ACC)->type, MSG_PROMISE);
}

static void test_accept_sets_expiry_to_t_times_one_plus_rho(void **state) {
        Fixture *f = *state;
        const AcceptorEntry *e;
        const Action *p;
        const PeerMsg *r;

        r = accept(f, 2, 5, lease_of(2, 1), 1000);
        assert_int_equal(r->type, MSG_ACCEPTED);
        assert_int_equal(r->value.seq, 1);
        p = test_find(&f->out, ACTION_PERSIST, 0);
        assert_non_null(p);
        assert_false(p->persist.seq_only);
        assert_true(test_find(&f->out, ACTION_SEND, 0)->send.after_persist);

        e = acceptor_lookup(f->a, NAME);
        assert_int_equal(e->ea, 1000 + T_ACC);
        /* Accepting at b raises bp to b (ba ≤ bp). */
        assert_int_equal(e->bp.counter, 5);
        assert_int_equal(acceptor_entry_remaining(e, 1000 + T_ACC), 0);
        assert_int_equal(acceptor_entry_remaining(e, 1000), T_ACC);
        assert_non_null(test_find_notify(&f->out, NOTIFY_OWNER));
}

static void test_accept_below_bp_is_nacked(void **state) {
        Fixture *f = *state;
        const PeerMsg *r;

        prepare(f, 3, 7, 10);
        r = accept(f, 2, 5, lease_of(2, 1), 20);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_PROMISED);
        assert_int_equal(r->ballot.counter, 7);
        assert_int_equal(acceptor_lookup(f->a, NAME)->v.kind, VALUE_FREE);
}

static void test_older_seq_at_accepted_ballot_is_nacked(void **state) {
        Fixture *f = *state;
        const PeerMsg *r;

        accept(f, 2, 5, lease_of(2, 3), 1000);
        r = accept(f, 2, 5, lease_of(2, 2), 1500);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_STALE_SEQ);
        assert_int_equal(acceptor_lookup(f->a, NAME)->ea, 1000 + T_ACC);
}

static void test_equal_seq_is_acked_again_without_moving_expiry(void **state) {
        Fixture *f = *state;
        const PeerMsg *r;

        accept(f, 2, 5, lease_of(2, 3), 1000);
        r = accept(f, 2, 5, lease_of(2, 3), 2000);
        assert_int_equal(r->type, MSG_ACCEPTED);
        assert_int_equal(acceptor_lookup(f->a, NAME)->ea, 1000 + T_ACC);
        assert_null(test_find(&f->out, ACTION_PERSIST, 0));
}

static void test_renewal_needs_no_disk_write_and_moves_expiry(void **state) {
        Fixture *f = *state;
        const Action *p;
        const PeerMsg *r;

        accept(f, 2, 5, lease_of(2, 1), 1000);
        r = accept(f, 2, 5, lease_of(2, 2), 2000);
        assert_int_equal(r->type, MSG_ACCEPTED);
        p = test_find(&f->out, ACTION_PERSIST, 0);
        assert_non_null(p);
        assert_true(p->persist.seq_only);
        assert_int_equal(p->persist.v.seq, 2);
        assert_int_equal(acceptor_lookup(f->a, NAME)->ea, 2000 + T_ACC);
        /* Not an owner change either. */
        assert_null(test_find_notify(&f->out, NOTIFY_OWNER));
}

static void test_lease_never_follows_free_or_reserved_within_a_ballot(void **state) {
        Fixture *f = *state;
        RegValue free_v = { .seq = 2, .kind = VALUE_FREE, .token = 77 };
        RegValue reserved = { .seq = 2, .kind = VALUE_RESERVED, .holder = 3, .token = 77, .lease_usec = T };
        const PeerMsg *r;

        accept(f, 2, 5, lease_of(2, 1), 1000);
        assert_int_equal(accept(f, 2, 5, free_v, 1100)->type, MSG_ACCEPTED);
        assert_int_equal(acceptor_lookup(f->a, NAME)->ea, 0);
        /* A delayed renewal with a higher seq cannot undo the release. */
        r = accept(f, 2, 5, lease_of(2, 3), 1200);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_STALE_SEQ);
        assert_int_equal(acceptor_lookup(f->a, NAME)->v.kind, VALUE_FREE);

        /* Same for a reservation, at another ballot. */
        accept(f, 2, 6, lease_of(2, 1), 1300);
        accept(f, 2, 6, reserved, 1400);
        r = accept(f, 2, 6, lease_of(2, 3), 1500);
        assert_int_equal(r->reason, NACK_STALE_SEQ);
        assert_int_equal(acceptor_lookup(f->a, NAME)->v.kind, VALUE_RESERVED);
}

static void test_free_accept_ends_the_claim(void **state) {
        Fixture *f = *state;
        RegValue free_v = { .seq = 2, .kind = VALUE_FREE, .token = 77 };

        accept(f, 2, 5, lease_of(2, 1), 1000);
        accept(f, 2, 5, free_v, 1100);
        /* Others may take over at once instead of waiting out the lease. */
        assert_int_equal(prepare(f, 3, 6, 1200)->type, MSG_PROMISE);
}

static void test_malformed_messages_are_refused(void **state) {
        Fixture *f = *state;
        PeerMsg m = test_msg(MSG_ACCEPT, 2, &f->config, NAME, 1);

        m.ballot = (Ballot) { 5, 2 };
        m.value = lease_of(2, 1);
        m.value.ba = m.ballot;
        m.value.lease_usec = 0;
        assert_int_equal(acceptor_handle(f->a, &m, 0, &f->out), -EINVAL);
        m.value.lease_usec = f->config.lease_max_usec + 1;
        assert_int_equal(acceptor_handle(f->a, &m, 0, &f->out), -EINVAL);
        m.value.lease_usec = T;
        m.value.ba.counter = 4;
        assert_int_equal(acceptor_handle(f->a, &m, 0, &f->out), -EINVAL);
        m = test_msg(MSG_PREPARE, 2, &f->config, "", 1);
        m.ballot = (Ballot) { 5, 2 };
        assert_int_equal(acceptor_handle(f->a, &m, 0, &f->out), -EINVAL);
        /* A PREPARE must carry the sender's own ballot. */
        m = test_msg(MSG_PREPARE, 2, &f->config, NAME, 1);
        m.ballot = (Ballot) { 5, 3 };
        assert_int_equal(acceptor_handle(f->a, &m, 0, &f->out), -EINVAL);
}

static void test_stale_epoch_gets_nack_config(void **state) {
        Fixture *f = *state;
        VoterConfig newer = f->config;
        PeerMsg m;
        const PeerMsg *r;

        newer.epoch.n = 2;
        newer.epoch.hash = voter_config_hash(&newer, f->config.epoch.hash);
        assert_int_equal(acceptor_set_config(f->a, &newer, 0, &f->out), 0);
        assert_int_equal(acceptor_set_config(f->a, &f->config, 0, &f->out), -ESTALE);

        m = test_msg(MSG_PREPARE, 2, &f->config, NAME, 1);
        m.ballot = (Ballot) { 5, 2 };
        r = feed(f, &m, 0);
        assert_int_equal(r->type, MSG_NACK_CONFIG);
        assert_int_equal(r->config.epoch.n, 2);
        assert_null(acceptor_lookup(f->a, NAME));
}

static void test_other_voter_set_under_same_epoch_number_is_not_counted(void **state) {
        Fixture *f = *state;
        static const uint16_t other[] = { 1, 2, 4 };
        VoterConfig c;
        PeerMsg m;
        const PeerMsg *r;

        voter_config_init(&c, other, 3);
        m = test_msg(MSG_PREPARE, 2, &c, NAME, 1);
        m.ballot = (Ballot) { 5, 2 };
        r = feed(f, &m, 0);
        assert_int_equal(r->type, MSG_NACK_CONFIG);
        assert_true(epoch_equal(&r->config.epoch, &f->config.epoch));
}

static void test_newer_epoch_is_not_answered(void **state) {
        Fixture *f = *state;
        PeerMsg m = test_msg(MSG_READ, 2, &f->config, NAME, 1);
        const PeerMsg *r;

        /* No READ_REPLY: only this voter's older configuration, so the sender pushes its own. */
        m.epoch.n = 5;
        r = feed(f, &m, 0);
        assert_non_null(r);
        assert_int_equal(r->type, MSG_NACK_CONFIG);
        assert_int_equal(r->config.epoch.n, f->config.epoch.n);
        assert_int_equal(test_count_sent(&f->out, MSG_READ_REPLY), 0);
        assert_non_null(test_find_notify(&f->out, NOTIFY_CONFIG));
}

static void test_non_voter_answers_nothing(void **state) {
        VoterConfig c = test_config(3);
        Acceptor *a = acceptor_new(9, 1, &c);
        ActionList out = ACTION_LIST_NULL;
        PeerMsg m = test_msg(MSG_READ, 2, &c, NAME, 1);

        assert_int_equal(acceptor_start(a, ACCEPTOR_START_BOOTSTRAP, 0, &out), 0);
        action_list_clear(&out);
        assert_int_equal(acceptor_handle(a, &m, 0, &out), 0);
        assert_int_equal(out.n, 0);
        acceptor_free(a);
        action_list_done(&out);
}

static void test_restart_treats_every_claim_live_for_a_full_period(void **state) {
        VoterConfig c = test_config(3);
        Acceptor *a = acceptor_new(1, 2, &c);
        ActionList out = ACTION_LIST_NULL;
        Ballot bp = { 5, 2 };
        RegValue v = lease_of(2, 4);
        PeerMsg m;

        v.ba = bp;
        assert_int_equal(acceptor_load(a, NAME, &bp, &v), 0);
        Ballot low = { 4, 2 };
        assert_int_equal(acceptor_load(a, "bad.service", &low, &v), -EINVAL);
        assert_int_equal(acceptor_start(a, ACCEPTOR_START_RESTART, 50000, &out), 0);
        assert_int_equal(acceptor_load(a, "late.service", &bp, &v), -EBUSY);
        assert_int_equal(acceptor_lookup(a, NAME)->ea, 50000 + T_ACC);

        /* Another host is refused for the whole period, bp survived the restart. */
        m = test_msg(MSG_PREPARE, 3, &c, NAME, 1);
        m.ballot = (Ballot) { 9, 3 };
        action_list_clear(&out);
        acceptor_handle(a, &m, 50000 + T_ACC - 1, &out);
        assert_int_equal(test_sent(&out, MSG_NACK, 0)->reason, NACK_LIVE);
        m = test_msg(MSG_PREPARE, 2, &c, NAME, 1);
        m.ballot = (Ballot) { 5, 2 };
        action_list_clear(&out);
        acceptor_handle(a, &m, 50000, &out);
        assert_int_equal(test_sent(&out, MSG_NACK, 0)->reason, NACK_PROMISED);
        acceptor_free(a);
        action_list_done(&out);
}

static void scan_reply(Acceptor *a, ActionList *out, const VoterConfig *c, uint16_t from, uint64_t round,
                       const char *name, Ballot bp, RegValue v, uint64_t now) {
        PeerMsg m = test_msg(MSG_SCAN_REPLY, from, c, name, round);

        m.ballot = bp;
        m.value = v;
        assert_int_equal(acceptor_handle(a, &m, now, out), 0);
}

static void scan_done(Acceptor *a, ActionList *out, const VoterConfig *c, uint16_t from, uint64_t round,
                      uint64_t count, uint64_t now) {
        PeerMsg m = test_msg(MSG_SCAN_DONE, from, c, "", round);

        m.scan_count = count;
        assert_int_equal(acceptor_handle(a, &m, now, out), 0);
}

static void test_lost_disk_voter_answers_nothing_until_recovered(void **state) {
        VoterConfig c = test_config(3);
        Acceptor *a = acceptor_new(1, 3, &c);
        ActionList out = ACTION_LIST_NULL;
        uint64_t wait = lease_acceptor_usec(c.lease_max_usec, c.rho_ppm), round;
        RegValue v2 = lease_of(2, 4), v3 = lease_of(2, 6);
        Ballot bp2 = { 5, 2 }, bp3 = { 8, 3 };
        PeerMsg m;

        assert_int_equal(acceptor_start(a, ACCEPTOR_START_LOST_DISK, 1000, &out), 0);
        assert_false(acceptor_serving(a));
        /* It asks every other voter for every name. */
        assert_non_null(test_send_to(&out, MSG_SCAN, 2));
        assert_non_null(test_send_to(&out, MSG_SCAN, 3));
        assert_null(test_send_to(&out, MSG_SCAN, 1));
        round = test_sent(&out, MSG_SCAN, 0)->round;
        assert_int_equal(test_find(&out, ACTION_ARM_TIMER, 0)->timer.deadline, 1000 + 1000000);

        m = test_msg(MSG_READ, 2, &c, NAME, 1);
        action_list_clear(&out);
        assert_int_equal(acceptor_handle(a, &m, 2000, &out), 0);
        assert_int_equal(out.n, 0);

        /* Both others answer: the highest bp and the whole highest (ba, seq) value are adopted. */
        v2.ba = bp2;
        v3.ba = (Ballot) { 5, 2 };
        scan_reply(a, &out, &c, 2, round, NAME, bp2, v2, 3000);
        scan_reply(a, &out, &c, 3, round, NAME, bp3, v3, 3000);
        scan_done(a, &out, &c, 2, round, 1, 3000);
        scan_done(a, &out, &c, 3, round, 1, 3000);
        /* Still silent: a promise it gave before losing its disk may be in flight. */
        assert_false(acceptor_serving(a));

        action_list_clear(&out);
        assert_int_equal(acceptor_timer(a, 1000 + wait - 1, &out), 0);
        assert_false(acceptor_serving(a));
        action_list_clear(&out);
        assert_int_equal(acceptor_timer(a, 1000 + wait, &out), 0);
        assert_true(acceptor_serving(a));
        assert_non_null(test_find(&out, ACTION_PERSIST_INIT, 0));
        assert_non_null(test_find(&out, ACTION_PERSIST, 0));

        const AcceptorEntry *e = acceptor_lookup(a, NAME);
        assert_int_equal(e->bp.counter, 8);
        assert_int_equal(e->v.seq, 6);
        /* The adopted lease is live for a full T·(1+ρ) from recovery. */
        assert_int_equal(e->ea, 1000 + wait + T_ACC);
        acceptor_free(a);
        action_list_done(&out);
}

static void test_lost_disk_voter_asks_again_after_an_incomplete_scan(void **state) {
        VoterConfig c = test_config(3);
        Acceptor *a = acceptor_new(1, 3, &c);
        ActionList out = ACTION_LIST_NULL;
        uint64_t wait = lease_acceptor_usec(c.lease_max_usec, c.rho_ppm), round;
        RegValue v = lease_of(2, 1);
        Ballot bp = { 5, 2 };

        v.ba = bp;
        assert_int_equal(acceptor_start(a, ACCEPTOR_START_LOST_DISK, 0, &out), 0);
        round = test_sent(&out, MSG_SCAN, 0)->round;
        /* Voter 2 announces two names, but one of its replies was lost; voter 3
         * never answers. Recovery needs F+1 = 2 complete scans. */
        scan_reply(a, &out, &c, 2, round, NAME, bp, v, 10);
        scan_done(a, &out, &c, 2, round, 2, 10);

        action_list_clear(&out);
        assert_int_equal(acceptor_timer(a, 1000000, &out), 0);
        assert_non_null(test_send_to(&out, MSG_SCAN, 2)); /* asked again */
        assert_non_null(test_send_to(&out, MSG_SCAN, 3));

        /* The repeat lists both names: the one seen before counts once. */
        scan_reply(a, &out, &c, 2, round, NAME, bp, v, 1000010);
        scan_reply(a, &out, &c, 2, round, "other.service", bp, v, 1000010);
        scan_done(a, &out, &c, 2, round, 2, 1000010);
        scan_reply(a, &out, &c, 3, round, NAME, bp, v, 1000020);
        scan_done(a, &out, &c, 3, round, 1, 1000020);
        action_list_clear(&out);
        assert_int_equal(acceptor_timer(a, wait, &out), 0);
        assert_true(acceptor_serving(a));
        assert_non_null(acceptor_lookup(a, "other.service"));
        acceptor_free(a);
        action_list_done(&out);
}

static void test_lost_disk_voter_needs_f_plus_one_complete_scans(void **state) {
        VoterConfig c = test_config(5);
        Acceptor *a = acceptor_new(1, 3, &c);
        ActionList out = ACTION_LIST_NULL;
        uint64_t wait = lease_acceptor_usec(c.lease_max_usec, c.rho_ppm), round;
        RegValue v = lease_of(2, 1);
        Ballot bp = { 5, 2 };

        v.ba = bp;
        acceptor_start(a, ACCEPTOR_START_LOST_DISK, 0, &out);
        round = test_sent(&out, MSG_SCAN, 0)->round;
        action_list_clear(&out);

        /* A SCAN_DONE overtaking its replies does not complete the scan. */
        scan_done(a, &out, &c, 2, round, 2, wait);
        scan_reply(a, &out, &c, 2, round, "a.service", bp, v, wait);
        scan_done(a, &out, &c, 3, round, 0, wait);
        scan_done(a, &out, &c, 4, round, 0, wait);
        assert_false(acceptor_serving(a));
        /* Replies of another round (an earlier incarnation's) do not count. */
        scan_reply(a, &out, &c, 2, round + 1, "b.service", bp, v, wait);
        assert_false(acceptor_serving(a));
        /* A duplicate does not count twice. */
        scan_reply(a, &out, &c, 2, round, "a.service", bp, v, wait);
        assert_false(acceptor_serving(a));
        scan_reply(a, &out, &c, 2, round, "b.service", bp, v, wait);
        assert_true(acceptor_serving(a));

        /* Without F+1 others it stays silent for ever, resending its scan. */
        Acceptor *b = acceptor_new(1, 4, &c);
        action_list_clear(&out);
        acceptor_start(b, ACCEPTOR_START_LOST_DISK, 0, &out);
        scan_done(b, &out, &c, 2, test_sent(&out, MSG_SCAN, 0)->round, 0, 1);
        action_list_clear(&out);
        acceptor_timer(b, 10 * wait, &out);
        assert_false(acceptor_serving(b));
        assert_int_equal(test_count_sent(&out, MSG_SCAN), 3);
        assert_null(test_send_to(&out, MSG_SCAN, 2));
        acceptor_free(a);
        acceptor_free(b);
        action_list_done(&out);
}

static void test_scan_lists_every_name_then_the_count(void **state) {
        Fixture *f = *state;
        PeerMsg m;
        const PeerMsg *done;

        prepare(f, 2, 5, 10);
        accept(f, 2, 5, lease_of(2, 1), 20);
        m = test_msg(MSG_PREPARE, 3, &f->config, "other.service", 1);
        m.ballot = (Ballot) { 1, 3 };
        feed(f, &m, 30);

        m = test_msg(MSG_SCAN, 2, &f->config, "", 42);
        feed(f, &m, 40);
        assert_int_equal(test_count_sent(&f->out, MSG_SCAN_REPLY), 2);
        done = test_sent(&f->out, MSG_SCAN_DONE, 0);
        assert_non_null(done);
        assert_int_equal(done->scan_count, 2);
        assert_int_equal(done->round, 42);
        assert_int_equal(test_sent(&f->out, MSG_SCAN_REPLY, 0)->ballot.counter, 5);
}

static void test_thousands_of_names_are_kept_apart(void **state) {
        Fixture *f = *state;
        char name[64];

        for (unsigned i = 0; i < 5000; i++) {
                PeerMsg m;

                snprintf(name, sizeof(name), "unit-%u.service", i);
                m = test_msg(MSG_PREPARE, 2, &f->config, name, i);
                m.ballot = (Ballot) { i + 1, 2 };
                feed(f, &m, i);
        }
        assert_int_equal(acceptor_n_entries(f->a), 5000);
        for (unsigned i = 0; i < 5000; i += 7) {
                snprintf(name, sizeof(name), "unit-%u.service", i);
                assert_int_equal(acceptor_lookup(f->a, name)->bp.counter, i + 1);
        }
        assert_string_equal(acceptor_entry(f->a, 4999)->name, "unit-4999.service");
        assert_null(acceptor_entry(f->a, 5000));
}

static const PeerMsg *identity(Fixture *f, uint16_t from, RegValue v, uint64_t remaining, uint64_t now) {
        PeerMsg m = test_msg(MSG_ACCEPT, from, &f->config, NAME, 300);

        m.ballot = v.ba;
        m.value = v;
        m.identity = true;
        m.remaining_usec = remaining;
        return feed(f, &m, now);
}

static void test_identity_accept_repairs_without_extending_the_lease(void **state) {
        Fixture *f = *state;
        RegValue v = lease_of(2, 5);
        const AcceptorEntry *e;
        const PeerMsg *r;

        /* No entry: the value is taken, live only for the remaining time the rescan saw. */
        v.ba = (Ballot) { 7, 2 };
        r = identity(f, 3, v, 1000000, 50);
        assert_int_equal(r->type, MSG_ACCEPTED);
        assert_true(test_find(&f->out, ACTION_PERSIST, 0) != NULL);
        assert_true(test_find(&f->out, ACTION_SEND, 0)->send.after_persist);
        e = acceptor_lookup(f->a, NAME);
        assert_int_equal(e->ea, 50 + 1000000);
        assert_int_equal(e->v.seq, 5);

        /* The same (ba, seq) again: acknowledged, ea unchanged. */
        r = identity(f, 3, v, 2000000, 500);
        assert_int_equal(r->type, MSG_ACCEPTED);
        assert_int_equal(acceptor_lookup(f->a, NAME)->ea, 50 + 1000000);

        /* An older sequence of the tenure than the one held: refused. */
        v.seq = 4;
        r = identity(f, 3, v, 1000000, 600);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_STALE_SEQ);

        /* Never more than T·(1+ρ), however much remaining is claimed. */
        v.seq = 6;
        r = identity(f, 3, v, 10 * T, 700);
        assert_int_equal(r->type, MSG_ACCEPTED);
        assert_int_equal(acceptor_lookup(f->a, NAME)->ea, 700 + T_ACC);

        /* A claim repaired without a remaining time counts as live for T·(1+ρ). */
        v.seq = 7;
        r = identity(f, 3, v, 0, 800);
        assert_int_equal(r->type, MSG_ACCEPTED);
        assert_int_equal(acceptor_lookup(f->a, NAME)->ea, 800 + T_ACC);
        v.seq = 6;

        /* A voter that promised a higher ballot refuses it. */
        r = prepare(f, 3, 9, 800);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_LIVE);
        r = prepare(f, 3, 9, 20 * T);
        assert_int_equal(r->type, MSG_PROMISE);
        v.seq = 8;
        r = identity(f, 3, v, 1000000, 20 * T);
        assert_int_equal(r->type, MSG_NACK);
        assert_int_equal(r->reason, NACK_PROMISED);
}

static void test_non_member_is_told_the_configuration(void **state) {
        Fixture *f = *state;
        const PeerMsg *r;

        /* Host 9 is not a member of test_config(): it learns it is out. */
        r = prepare(f, 9, 3, 0);
        assert_int_equal(r->type, MSG_NACK_CONFIG);
        assert_null(acceptor_lookup(f->a, NAME));
}

static void test_scan_is_answered_for_any_member(void **state) {
        Fixture *f = *state;
        PeerMsg m;
        const PeerMsg *r;

        assert_int_equal(accept(f, 2, 3, lease_of(2, 1), 0)->type, MSG_ACCEPTED);
        /* Host 5 is a member but no voter: a driver's rescan. */
        m = test_msg(MSG_SCAN, 5, &f->config, "", UINT64_C(1) << 61);
        r = feed(f, &m, 0);
        assert_non_null(r);
        assert_int_equal(r->type, MSG_SCAN_REPLY);
        assert_int_equal(r->round, UINT64_C(1) << 61);
        assert_int_equal(test_count_sent(&f->out, MSG_SCAN_DONE), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bootstrap_persists_the_initialised_marker),
                cmocka_unit_test_setup_teardown(test_read_of_unknown_name_reports_free, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prepare_promises_higher_ballot_only_after_persist, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prepare_not_above_bp_is_nacked_with_bp, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prepare_rejected_while_lease_held, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prepare_from_holder_allowed_while_lease_live, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reservation_admits_only_the_reserved_host, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prepare_allowed_once_lease_expired_on_own_clock, setup, teardown),
                cmocka_unit_test_setup_teardown(test_accept_sets_expiry_to_t_times_one_plus_rho, setup, teardown),
                cmocka_unit_test_setup_teardown(test_accept_below_bp_is_nacked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_older_seq_at_accepted_ballot_is_nacked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_equal_seq_is_acked_again_without_moving_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_renewal_needs_no_disk_write_and_moves_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lease_never_follows_free_or_reserved_within_a_ballot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_accept_ends_the_claim, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_messages_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_epoch_gets_nack_config, setup, teardown),
                cmocka_unit_test_setup_teardown(test_other_voter_set_under_same_epoch_number_is_not_counted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_newer_epoch_is_not_answered, setup, teardown),
                cmocka_unit_test(test_non_voter_answers_nothing),
                cmocka_unit_test(test_restart_treats_every_claim_live_for_a_full_period),
                cmocka_unit_test(test_lost_disk_voter_answers_nothing_until_recovered),
                cmocka_unit_test(test_lost_disk_voter_needs_f_plus_one_complete_scans),
                cmocka_unit_test(test_lost_disk_voter_asks_again_after_an_incomplete_scan),
                cmocka_unit_test_setup_teardown(test_scan_lists_every_name_then_the_count, setup, teardown),
                cmocka_unit_test_setup_teardown(test_thousands_of_names_are_kept_apart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_identity_accept_repairs_without_extending_the_lease, setup, teardown),
                cmocka_unit_test_setup_teardown(test_non_member_is_told_the_configuration, setup, teardown),
                cmocka_unit_test_setup_teardown(test_scan_is_answered_for_any_member, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
