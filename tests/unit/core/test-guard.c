/* SPDX-License-Identifier: MIT */
/* Unit tests of the guard (proposer) of one name, driven by hand-made replies. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/ballot.h"
#include "core/guard.h"
#include "core/lease.h"
#include "core-test.h"

#define NAME "report.service"
#define H UINT64_C(1000000)
#define S UINT64_C(500000)
#define T (3 * H)
#define T_HOLD UINT64_C(2794005)

typedef struct Fixture {
        uint64_t seed;
        GuardContext ctx;
        Guard *g;
        ActionList out;
        uint64_t now;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        VoterConfig c = test_config(3);
        CoreRng rng = { test_rng_next, &f->seed };

        f->seed = 1;
        assert_int_equal(guard_context_init(&f->ctx, 1, 1, &c, &rng), 0);
        assert_int_equal(guard_new(&f->ctx, NAME, NULL, &f->g), 0);
        action_list_init(&f->out);
        f->now = 1000000;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        guard_free(f->g);
        action_list_done(&f->out);
        free(f);
        return 0;
}

/* The last message of a type this guard sent to voter `to` since the list was cleared. */
static PeerMsg last_sent(Fixture *f, MsgType type, uint16_t to) {
        const Action *a = test_send_to(&f->out, type, to);

        assert_non_null(a);
        return a->send.msg;
}

static PeerMsg reply(Fixture *f, const PeerMsg *req, MsgType type, uint16_t from) {
        PeerMsg r = test_msg(type, from, &f->ctx.config, NAME, req->round);

        r.ballot = req->ballot;
        if (type == MSG_ACCEPTED)
                r.value = req->value;
        return r;
}

static void deliver(Fixture *f, const PeerMsg *m) {
        assert_int_equal(guard_receive(f->g, m, f->now, &f->out), 0);
}

static void tick(Fixture *f, uint64_t at) {
        f->now = at;
        action_list_clear(&f->out);
        assert_int_equal(guard_timer(f->g, f->now, &f->out), 0);
}

/* Grants every message of type `type` just sent, from the given voters. */
static void grant(Fixture *f, MsgType req, MsgType type, const uint16_t *voters, size_t n) {
        PeerMsg m[3];

        for (size_t i = 0; i < n; i++)
                m[i] = reply(f, &(PeerMsg) { 0 }, type, voters[i]), m[i] = last_sent(f, req, voters[i]);
        action_list_clear(&f->out);
        for (size_t i = 0; i < n; i++) {
                PeerMsg r = reply(f, &m[i], type, voters[i]);
                deliver(f, &r);
        }
}

static const uint16_t V12[] = { 2, 3 }, V23[] = { 2, 3 };

/* Runs an uncontested acquisition; returns the t0 the PREPARE was sent at. */
static uint64_t acquire(Fixture *f) {
        uint64_t t0;

        action_list_clear(&f->out);
        assert_int_equal(guard_campaign(f->g, f->now, &f->out), 0);
        assert_int_equal(guard_state(f->g), GUARD_READING);
        assert_int_equal(test_count_sent(&f->out, MSG_READ), 3);
        grant(f, MSG_READ, MSG_READ_REPLY, V23, 2);
        assert_int_equal(guard_state(f->g), GUARD_WAITING);

        tick(f, guard_next_deadline(f->g));
        assert_int_equal(guard_state(f->g), GUARD_PREPARING);
        assert_int_equal(test_count_sent(&f->out, MSG_PREPARE), 3);
        t0 = f->now;

        f->now += 1000;
        grant(f, MSG_PREPARE, MSG_PROMISE, V23, 2);
        assert_int_equal(guard_state(f->g), GUARD_ACCEPTING);
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 3);

        f->now += 1000;
        grant(f, MSG_ACCEPT, MSG_ACCEPTED, V23, 2);
        assert_int_equal(guard_state(f->g), GUARD_HOLDING);
        return t0;
}

static void test_acquire_reads_waits_rank_then_prepares_and_accepts(void **state) {
        Fixture *f = *state;
        uint64_t t0, start = f->now;
        const Action *a;
        Ballot b;

        t0 = acquire(f);
        /* Rank 0 alone: the campaign delay is U(0, Δ). */
        assert_true(t0 >= start && t0 < start + 100000);

        b = guard_ballot(f->g);
        assert_int_equal(b.counter, 1);
        assert_int_equal(b.host, 1);
        a = test_find(&f->out, ACTION_START_UNIT, 0);
        assert_non_null(a);
        assert_int_equal(a->start.token, ballot_token(&b));
        assert_int_equal(guard_token(f->g), ballot_token(&b));
        assert_non_null(test_find_notify(&f->out, NOTIFY_ACQUIRED));
        /* Valid from t0 taken before the PREPARE left, not from when replies came. */
        assert_int_equal(guard_valid(f->g), t0 + T_HOLD);
        assert_true(guard_holds(f->g, f->now));
        assert_true(guard_unit_active(f->g));
        /* The fence deadline is armed precisely. */
        a = test_find(&f->out, ACTION_ARM_TIMER, 0);
        assert_non_null(a);
}

static void test_lease_value_carries_holder_token_and_t(void **state) {
        Fixture *f = *state;
        PeerMsg m;

        acquire(f);
        tick(f, guard_next_deadline(f->g));
        m = last_sent(f, MSG_ACCEPT, 2);
        assert_int_equal(m.value.kind, VALUE_LEASE);
        assert_int_equal(m.value.holder, 1);
        assert_int_equal(m.value.lease_usec, T);
        assert_int_equal(m.value.token, guard_token(f->g));
}

static void test_read_showing_live_foreign_lease_waits_its_remaining(void **state) {
        Fixture *f = *state;
        PeerMsg req, r;

        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        req = last_sent(f, MSG_READ, 2);
        r = reply(f, &req, MSG_READ_REPLY, 2);
        r.value = test_lease((Ballot) { 4, 3 }, 1, 3, T);
        r.remaining_usec = 700000;
        deliver(f, &r);
        r = reply(f, &req, MSG_READ_REPLY, 3);
        deliver(f, &r);
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        assert_int_equal(guard_seen_holder(f->g), 3);
        assert_true(guard_next_deadline(f->g) > f->now + 700000 - 1);
        assert_true(guard_next_deadline(f->g) <= f->now + 700000 + 1);
        /* After the wait it reads again rather than preparing. */
        tick(f, guard_next_deadline(f->g));
        assert_int_equal(guard_state(f->g), GUARD_READING);
}

/*
 * Voter 2 is late with host 3's release: it still counts host 3's lease live, but
 * voter 3 already has the FREE that host 3 wrote after it at the same ballot. The
 * lease is over; the READ does not wait out its remaining time.
 */
static void test_read_past_a_lease_its_holder_released(void **state) {
        Fixture *f = *state;
        PeerMsg req, r;

        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        req = last_sent(f, MSG_READ, 2);
        r = reply(f, &req, MSG_READ_REPLY, 2);
        r.value = test_lease((Ballot) { 4, 3 }, 1, 3, T);
        r.remaining_usec = 2500000;
        deliver(f, &r);
        r = reply(f, &req, MSG_READ_REPLY, 3);
        r.value = test_lease((Ballot) { 4, 3 }, 2, 3, T);
        r.value.kind = VALUE_FREE;
        deliver(f, &r);
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        /* Only the campaign delay of rank 0: U(0, Δ). */
        assert_true(guard_next_deadline(f->g) < f->now + 100000);
        tick(f, guard_next_deadline(f->g));
        assert_int_equal(test_count_sent(&f->out, MSG_PREPARE), 3);
}

/* The same FREE at a lower ballot than the live lease proves nothing: wait. */
static void test_read_waits_for_a_lease_above_a_free(void **state) {
        Fixture *f = *state;
        PeerMsg req, r;

        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        req = last_sent(f, MSG_READ, 2);
        r = reply(f, &req, MSG_READ_REPLY, 2);
        r.value = test_lease((Ballot) { 5, 3 }, 1, 3, T);
        r.remaining_usec = 2500000;
        deliver(f, &r);
        r = reply(f, &req, MSG_READ_REPLY, 3);
        r.value = test_lease((Ballot) { 4, 3 }, 2, 3, T);
        r.value.kind = VALUE_FREE;
        deliver(f, &r);
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        assert_true(guard_next_deadline(f->g) > f->now + 2000000);
}

static void test_release_seen_locally_ends_the_wait_for_a_live_claim(void **state) {
        Fixture *f = *state;
        PeerMsg req, r;

        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        req = last_sent(f, MSG_READ, 2);
        r = reply(f, &req, MSG_READ_REPLY, 2);
        r.value = test_lease((Ballot) { 4, 3 }, 1, 3, T);
        r.remaining_usec = 2500000;
        deliver(f, &r);
        r = reply(f, &req, MSG_READ_REPLY, 3);
        deliver(f, &r);
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        assert_true(guard_next_deadline(f->g) > f->now + 2000000);

        /* Host 3 released (this voter accepted FREE): try now, and read first. */
        f->now += 1000;
        assert_int_equal(guard_claim_cleared(f->g, f->now), 1);
        assert_int_equal(guard_next_deadline(f->g), f->now);
        tick(f, f->now);
        assert_int_equal(guard_state(f->g), GUARD_READING);
        /* Nothing left to cut short. */
        assert_int_equal(guard_claim_cleared(f->g, f->now), 0);
}

static void test_release_seen_locally_keeps_a_failure_backoff(void **state) {
        Fixture *f = *state;
        uint64_t deadline;

        acquire(f);
        action_list_clear(&f->out);
        guard_unit_failed(f->g, f->now, &f->out);
        action_list_clear(&f->out);
        guard_unit_stopped(f->g, f->now, &f->out);
        grant(f, MSG_ACCEPT, MSG_ACCEPTED, V23, 2);
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        deadline = guard_next_deadline(f->g);
        assert_int_equal(guard_claim_cleared(f->g, f->now), 0);
        assert_int_equal(guard_next_deadline(f->g), deadline);
}

static void test_tenure_does_not_begin_when_quorum_comes_after_hold_minus_stop(void **state) {
        Fixture *f = *state;
        uint64_t t0;

        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        grant(f, MSG_READ, MSG_READ_REPLY, V23, 2);
        tick(f, guard_next_deadline(f->g));
        t0 = f->now;
        grant(f, MSG_PREPARE, MSG_PROMISE, V23, 2);
        f->now = t0 + T_HOLD - S;
        grant(f, MSG_ACCEPT, MSG_ACCEPTED, V23, 2);
        /* Too late to start the unit: renew first, with a fresh t0, same ballot. */
        assert_int_equal(guard_state(f->g), GUARD_ACCEPTING);
        assert_null(test_find(&f->out, ACTION_START_UNIT, 0));
        assert_false(guard_holds(f->g, f->now));
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 3);
        f->now += 1000;
        grant(f, MSG_ACCEPT, MSG_ACCEPTED, V23, 2);
        assert_int_equal(guard_state(f->g), GUARD_HOLDING);
        assert_int_equal(guard_valid(f->g), t0 + T_HOLD - S + T_HOLD);
}

static void test_renewal_is_one_accept_at_same_ballot_with_next_seq(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f), seq;
        Ballot b = guard_ballot(f->g);
        PeerMsg m;

        /* Renew every H after the t0 of the last round. */
        assert_int_equal(guard_next_deadline(f->g), t0 + H);
        tick(f, t0 + H);
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 3);
        assert_int_equal(test_count_sent(&f->out, MSG_PREPARE), 0);
        m = last_sent(f, MSG_ACCEPT, 3);
        assert_int_equal(ballot_compare(&m.ballot, &b), 0);
        seq = m.value.seq;
        f->now += 2000;
        grant(f, MSG_ACCEPT, MSG_ACCEPTED, V23, 2);
        /* A confirmed renewal extends valid from its own t0. */
        assert_int_equal(guard_valid(f->g), t0 + H + T_HOLD);

        tick(f, t0 + 2 * H);
        m = last_sent(f, MSG_ACCEPT, 2);
        assert_int_equal(m.value.seq, seq + 1);
        assert_int_equal(m.value.token, guard_token(f->g));
}

static void test_one_minority_nack_does_not_trigger_prepare(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f);
        PeerMsg req, r;

        tick(f, t0 + H);
        req = last_sent(f, MSG_ACCEPT, 2);
        action_list_clear(&f->out);
        r = reply(f, &req, MSG_NACK, 2);
        r.reason = NACK_PROMISED;
        r.ballot = (Ballot) { 9, 2 };
        deliver(f, &r);
        assert_int_equal(test_count_sent(&f->out, MSG_PREPARE), 0);
        r = reply(f, &req, MSG_ACCEPTED, 3);
        deliver(f, &r);
        r = reply(f, &req, MSG_ACCEPTED, 1);
        deliver(f, &r);
        assert_int_equal(guard_state(f->g), GUARD_HOLDING);
        assert_int_equal(guard_valid(f->g), t0 + H + T_HOLD);
        assert_int_equal(test_count_sent(&f->out, MSG_PREPARE), 0);
}

static void test_renewal_missing_its_quorum_goes_back_to_prepare(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f);
        Ballot before = guard_ballot(f->g);
        PeerMsg req, r;

        tick(f, t0 + H);
        req = last_sent(f, MSG_ACCEPT, 2);
        action_list_clear(&f->out);
        for (uint16_t v = 2; v <= 3; v++) {
                r = reply(f, &req, MSG_NACK, v);
                r.reason = NACK_PROMISED;
                r.ballot = (Ballot) { 9, 3 };
                deliver(f, &r);
        }
        /* The PREPARE adopts the highest counter seen, and t0 is now. */
        assert_int_equal(test_count_sent(&f->out, MSG_PREPARE), 3);
        req = last_sent(f, MSG_PREPARE, 2);
        assert_int_equal(req.ballot.counter, 10);
        assert_true(ballot_compare(&req.ballot, &before) > 0);
        /* Still holding meanwhile: valid has not run out. */
        assert_true(guard_holds(f->g, f->now));
}

static void test_renewal_timeout_goes_back_to_prepare(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f);

        tick(f, t0 + H);
        tick(f, t0 + 2 * H);
        assert_int_equal(test_count_sent(&f->out, MSG_PREPARE), 3);
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 0);
}

static void test_holder_reprepare_keeps_its_token_while_its_lease_is_on_top(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f), token = guard_token(f->g), t1;
        PeerMsg req, r;

        tick(f, t0 + H);
        tick(f, t0 + 2 * H); /* renewal missed: PREPARE */
        t1 = f->now;
        req = last_sent(f, MSG_PREPARE, 2);
        action_list_clear(&f->out);
        for (uint16_t v = 2; v <= 3; v++) {
                r = reply(f, &req, MSG_PROMISE, v);
                r.value = test_lease((Ballot) { 1, 1 }, 1, 1, T);
                r.value.token = token;
                r.remaining_usec = 900000;
                deliver(f, &r);
        }
        req = last_sent(f, MSG_ACCEPT, 2);
        assert_int_equal(req.value.token, token);
        assert_int_equal(req.ballot.counter, 2);
        grant(f, MSG_ACCEPT, MSG_ACCEPTED, V23, 2);
        assert_int_equal(guard_token(f->g), token);
        assert_int_equal(guard_valid(f->g), t1 + T_HOLD);
        assert_true(guard_holds(f->g, f->now));
        /* The unit is not started again. */
        assert_null(test_find(&f->out, ACTION_START_UNIT, 0));
}

static void test_holder_reprepare_finding_another_value_ends_tenure(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f);
        PeerMsg req, r;

        tick(f, t0 + H);
        tick(f, t0 + 2 * H);
        req = last_sent(f, MSG_PREPARE, 2);
        action_list_clear(&f->out);
        for (uint16_t v = 2; v <= 3; v++) {
                r = reply(f, &req, MSG_PROMISE, v);
                /* Someone else's (expired) lease at a higher ballot than ours. */
                r.value = test_lease((Ballot) { 1, 3 }, 1, 3, T);
                deliver(f, &r);
        }
        assert_non_null(test_find(&f->out, ACTION_STOP_UNIT, 0));
        assert_int_equal(test_find_notify(&f->out, NOTIFY_LOST)->notify.reason, LOST_TENURE_ENDED);
        assert_false(guard_holds(f->g, f->now));
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 0);
}

static void test_delayed_renewal_reply_never_counts_toward_a_later_round(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f);
        PeerMsg old2, old3, r;

        tick(f, t0 + H);
        old2 = last_sent(f, MSG_ACCEPT, 2);
        old3 = last_sent(f, MSG_ACCEPT, 3);
        tick(f, t0 + 2 * H); /* the first renewal missed: now a PREPARE round */
        tick(f, t0 + 2 * H + 1);
        action_list_clear(&f->out);
        r = reply(f, &old2, MSG_ACCEPTED, 2);
        deliver(f, &r);
        r = reply(f, &old3, MSG_ACCEPTED, 3);
        deliver(f, &r);
        /* The old round's ACCEPTEDs neither extend valid nor finish the PREPARE. */
        assert_int_equal(guard_valid(f->g), t0 + T_HOLD);
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 0);
}

static void test_duplicated_reply_counts_once(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f);
        PeerMsg req, r;

        tick(f, t0 + H);
        req = last_sent(f, MSG_ACCEPT, 2);
        r = reply(f, &req, MSG_ACCEPTED, 2);
        deliver(f, &r);
        deliver(f, &r);
        assert_int_equal(guard_valid(f->g), t0 + T_HOLD);
        r = reply(f, &req, MSG_ACCEPTED, 3);
        deliver(f, &r);
        assert_int_equal(guard_valid(f->g), t0 + H + T_HOLD);
}

static void test_self_fence_stops_at_valid_minus_s_and_kills_at_valid(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f), valid = guard_valid(f->g);
        const Action *a;

        /* Renewals go unanswered from here on. */
        tick(f, t0 + H);
        tick(f, t0 + 2 * H);
        assert_true(guard_holds(f->g, valid - S - 1));
        assert_int_equal(guard_next_deadline(f->g), valid - S);
        tick(f, valid - S);
        assert_non_null(test_find(&f->out, ACTION_STOP_UNIT, 0));
        assert_int_equal(test_find_notify(&f->out, NOTIFY_LOST)->notify.reason, LOST_FENCED);
        assert_false(guard_holds(f->g, f->now));
        assert_true(guard_lease_valid(f->g, f->now));
        a = test_find(&f->out, ACTION_ARM_TIMER, 0);
        assert_non_null(a);
        assert_int_equal(a->timer.deadline, valid);
        assert_true(a->timer.fence);

        tick(f, valid);
        assert_non_null(test_find(&f->out, ACTION_KILL_UNIT, 0));
        assert_false(guard_lease_valid(f->g, f->now));
        action_list_clear(&f->out);
        guard_unit_stopped(f->g, f->now, &f->out);
        assert_false(guard_unit_active(f->g));
        /* A fenced host campaigns again, with a new tenure later. */
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        assert_int_equal(guard_token(f->g), 0);
}

static void test_no_kill_when_the_unit_stopped_in_time(void **state) {
        Fixture *f = *state;
        uint64_t valid;

        acquire(f);
        valid = guard_valid(f->g);
        tick(f, valid - S);
        tick(f, valid - S + 1000);
        action_list_clear(&f->out);
        guard_unit_stopped(f->g, f->now, &f->out);
        tick(f, valid);
        assert_null(test_find(&f->out, ACTION_KILL_UNIT, 0));
}

static void test_release_stops_then_writes_free_once_inactive(void **state) {
        Fixture *f = *state;
        PeerMsg m;

        acquire(f);
        action_list_clear(&f->out);
        assert_int_equal(guard_release(f->g, f->now, &f->out), 0);
        assert_non_null(test_find(&f->out, ACTION_STOP_UNIT, 0));
        assert_false(guard_holds(f->g, f->now));
        /* Nothing is written before the unit is confirmed inactive. */
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 0);

        f->now += 100000;
        action_list_clear(&f->out);
        guard_unit_stopped(f->g, f->now, &f->out);
        m = last_sent(f, MSG_ACCEPT, 2);
        assert_int_equal(m.value.kind, VALUE_FREE);
        assert_int_equal(m.ballot.counter, guard_ballot(f->g).counter);
        /* Once the FREE is on its way, another host may take over: no belief left. */
        assert_false(guard_lease_valid(f->g, f->now));
        grant(f, MSG_ACCEPT, MSG_ACCEPTED, V23, 2);
        assert_non_null(test_find_notify(&f->out, NOTIFY_RELEASED));
        assert_int_equal(guard_state(f->g), GUARD_IDLE);
        assert_int_equal(guard_next_deadline(f->g), UINT64_MAX);
}

static void test_handoff_reserves_at_a_quorum_before_take(void **state) {
        Fixture *f = *state;
        PeerMsg m;
        const PeerMsg *take;

        acquire(f);
        action_list_clear(&f->out);
        assert_int_equal(guard_handoff(f->g, 1, f->now, &f->out), -EINVAL);
        assert_int_equal(guard_handoff(f->g, 3, f->now, &f->out), 0);
        assert_non_null(test_find(&f->out, ACTION_STOP_UNIT, 0));
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 0);
        action_list_clear(&f->out);
        guard_unit_stopped(f->g, f->now, &f->out);
        m = last_sent(f, MSG_ACCEPT, 2);
        assert_int_equal(m.value.kind, VALUE_RESERVED);
        assert_int_equal(m.value.holder, 3);
        assert_int_equal(m.value.lease_usec, T);
        assert_int_equal(test_count_sent(&f->out, MSG_TAKE), 0);

        /* One ACCEPTED is not a quorum: still no TAKE. */
        PeerMsg r = reply(f, &m, MSG_ACCEPTED, 2);
        action_list_clear(&f->out);
        deliver(f, &r);
        assert_int_equal(test_count_sent(&f->out, MSG_TAKE), 0);
        m = (PeerMsg) { 0 };
        r.from = 3;
        deliver(f, &r);
        take = test_sent(&f->out, MSG_TAKE, 0);
        assert_non_null(take);
        assert_int_equal(test_find(&f->out, ACTION_SEND, 0)->send.to, 3);
        assert_int_equal(take->value.kind, VALUE_RESERVED);
        /* The old holder is a candidate again, but only after the reservation's T. */
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        assert_true(guard_next_deadline(f->g) >= f->now + T);
}

static void test_handoff_without_quorum_gives_up_without_take(void **state) {
        Fixture *f = *state;

        acquire(f);
        action_list_clear(&f->out);
        guard_handoff(f->g, 3, f->now, &f->out);
        guard_unit_stopped(f->g, f->now, &f->out);
        /* Three rounds time out (the re-PREPAREs go unanswered as well). */
        for (unsigned i = 0; i < 12 && guard_state(f->g) == GUARD_RELEASING; i++) {
                tick(f, guard_next_deadline(f->g));
                assert_int_equal(test_count_sent(&f->out, MSG_TAKE), 0);
        }
        assert_int_not_equal(guard_state(f->g), GUARD_RELEASING);
        assert_null(test_find_notify(&f->out, NOTIFY_RELEASED));
}

static void test_take_makes_reserved_host_prepare_at_once_with_higher_ballot(void **state) {
        Fixture *f = *state;
        PeerMsg take = test_msg(MSG_TAKE, 2, &f->ctx.config, NAME, 77), req, r;

        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        take.ballot = (Ballot) { 12, 2 };
        take.value = (RegValue) { .ba = take.ballot, .seq = 5, .kind = VALUE_RESERVED, .holder = 1, .token = 99, .lease_usec = T };
        action_list_clear(&f->out);
        deliver(f, &take);
        req = last_sent(f, MSG_PREPARE, 2);
        assert_int_equal(req.ballot.counter, 13);

        /* RESERVED(self), live, counts as free for this host alone. */
        action_list_clear(&f->out);
        for (uint16_t v = 2; v <= 3; v++) {
                r = reply(f, &req, MSG_PROMISE, v);
                r.value = take.value;
                r.remaining_usec = 2000000;
                deliver(f, &r);
        }
        assert_int_equal(guard_state(f->g), GUARD_ACCEPTING);
        req = last_sent(f, MSG_ACCEPT, 2);
        assert_true(req.value.token > 99);
}

static void test_refusal_for_live_lease_waits_remaining_not_backoff(void **state) {
        Fixture *f = *state;
        PeerMsg req, r;

        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        grant(f, MSG_READ, MSG_READ_REPLY, V23, 2);
        tick(f, guard_next_deadline(f->g));
        req = last_sent(f, MSG_PREPARE, 2);
        action_list_clear(&f->out);
        for (uint16_t v = 2; v <= 3; v++) {
                r = reply(f, &req, MSG_NACK, v);
                r.reason = NACK_LIVE;
                r.value = test_lease((Ballot) { 3, 3 }, 1, 3, T);
                r.remaining_usec = 1500000 + v;
                deliver(f, &r);
        }
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        assert_int_equal(guard_next_deadline(f->g), f->now + 1500003 + 1);
}

static void test_missed_prepare_backs_off_within_round_time(void **state) {
        Fixture *f = *state;
        PeerMsg req, r;
        uint64_t sent;

        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        grant(f, MSG_READ, MSG_READ_REPLY, V23, 2);
        tick(f, guard_next_deadline(f->g));
        sent = f->now;
        req = last_sent(f, MSG_PREPARE, 2);
        f->now += 30000;
        action_list_clear(&f->out);
        for (uint16_t v = 2; v <= 3; v++) {
                r = reply(f, &req, MSG_NACK, v);
                r.reason = NACK_PROMISED;
                r.ballot = (Ballot) { 40, 3 };
                deliver(f, &r);
        }
        /* min(round time 30 ms, 50 ms)·U(½, 1), rank 0. */
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        assert_true(guard_next_deadline(f->g) >= f->now + 15000);
        assert_true(guard_next_deadline(f->g) <= f->now + 30000);
        (void) sent;
        tick(f, guard_next_deadline(f->g));
        req = last_sent(f, MSG_PREPARE, 2);
        assert_int_equal(req.ballot.counter, 41);
}

static void test_unit_failure_releases_and_backs_off_longer_each_time(void **state) {
        Fixture *f = *state;

        acquire(f);
        action_list_clear(&f->out);
        guard_unit_failed(f->g, f->now, &f->out);
        assert_non_null(test_find(&f->out, ACTION_STOP_UNIT, 0));
        assert_int_equal(test_find_notify(&f->out, NOTIFY_LOST)->notify.reason, LOST_FAILED);
        assert_int_equal(guard_failures(f->g), 1);
        action_list_clear(&f->out);
        guard_unit_stopped(f->g, f->now, &f->out);
        assert_int_equal(last_sent(f, MSG_ACCEPT, 2).value.kind, VALUE_FREE);
        grant(f, MSG_ACCEPT, MSG_ACCEPTED, V23, 2);
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
        /* H·2^failures before campaigning again. */
        assert_true(guard_next_deadline(f->g) >= f->now + 2 * H);
}

static void test_unit_stopping_by_itself_counts_as_failure(void **state) {
        Fixture *f = *state;

        acquire(f);
        action_list_clear(&f->out);
        guard_unit_stopped(f->g, f->now, &f->out);
        assert_int_equal(guard_failures(f->g), 1);
        assert_int_equal(last_sent(f, MSG_ACCEPT, 2).value.kind, VALUE_FREE);
}

static void test_nack_config_is_not_counted_and_is_reported(void **state) {
        Fixture *f = *state;
        PeerMsg req, r;

        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        req = last_sent(f, MSG_READ, 2);
        action_list_clear(&f->out);
        r = reply(f, &req, MSG_NACK_CONFIG, 2);
        r.config = test_config(5);
        deliver(f, &r);
        assert_non_null(test_find_notify(&f->out, NOTIFY_CONFIG));
        /* A reply in another epoch does not count either. */
        r = reply(f, &req, MSG_READ_REPLY, 3);
        r.epoch.hash ^= 1;
        deliver(f, &r);
        assert_int_equal(guard_state(f->g), GUARD_READING);
        r = reply(f, &req, MSG_READ_REPLY, 1);
        deliver(f, &r);
        assert_int_equal(guard_state(f->g), GUARD_READING);
        r = reply(f, &req, MSG_READ_REPLY, 3);
        deliver(f, &r);
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
}

static void test_voter_behind_is_asked_again_once(void **state) {
        Fixture *f = *state;
        PeerMsg req, r;

        f->ctx.config.epoch.n = 3;
        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        req = last_sent(f, MSG_READ, 2);
        action_list_clear(&f->out);

        /* Voter 2 is at epoch 2: the node pushed it ours; the READ goes to it again. */
        r = reply(f, &req, MSG_NACK_CONFIG, 2);
        r.config = test_config(3);
        r.config.epoch.n = 2;
        deliver(f, &r);
        assert_int_equal(test_count_sent(&f->out, MSG_READ), 1);
        assert_int_equal(last_sent(f, MSG_READ, 2).round, req.round);
        assert_null(test_find_notify(&f->out, NOTIFY_CONFIG));

        /* Only once per round: a second one counts as a refusal. */
        action_list_clear(&f->out);
        deliver(f, &r);
        assert_int_equal(test_count_sent(&f->out, MSG_READ), 0);
        assert_non_null(test_find_notify(&f->out, NOTIFY_CONFIG));

        /* Its answer under our epoch counts. */
        r = reply(f, &req, MSG_READ_REPLY, 3);
        deliver(f, &r);
        r = reply(f, &req, MSG_READ_REPLY, 1);
        deliver(f, &r);
        assert_int_equal(guard_state(f->g), GUARD_WAITING);
}

static void test_config_change_restarts_rounds(void **state) {
        Fixture *f = *state;
        uint64_t t0 = acquire(f);

        tick(f, t0 + H);
        f->ctx.config.epoch.n = 2;
        action_list_clear(&f->out);
        guard_config_changed(f->g, f->now, &f->out);
        assert_int_equal(test_count_sent(&f->out, MSG_PREPARE), 3);
        assert_int_equal(last_sent(f, MSG_PREPARE, 2).epoch.n, 2);
}

/* A holder's re-PREPARE (after an install) answered by 2 and 3: 3 refuses for a live claim of host 4 at ballot b4. */
static void re_prepare_with_a_live_claim(Fixture *f, Ballot b4) {
        PeerMsg req, r;
        RegValue own = {
                .ba = guard_ballot(f->g), .seq = 1, .kind = VALUE_LEASE, .holder = 1,
                .token = guard_token(f->g), .lease_usec = 3 * H,
        };

        /* A renewal is in flight when the configuration changes. */
        tick(f, f->now + H);
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 3);
        f->ctx.config.epoch.n = 2;
        action_list_clear(&f->out);
        assert_int_equal(guard_config_changed(f->g, f->now, &f->out), 0);
        req = last_sent(f, MSG_PREPARE, 2);
        action_list_clear(&f->out);

        r = reply(f, &req, MSG_PROMISE, 2);
        r.epoch = f->ctx.config.epoch;
        r.value = own;
        deliver(f, &r);
        r = reply(f, &req, MSG_NACK, 3);
        r.epoch = f->ctx.config.epoch;
        r.reason = NACK_LIVE;
        r.value = test_lease(b4, 9, 4, 3 * H);
        r.remaining_usec = 2 * H;
        deliver(f, &r);
        r = reply(f, &req, MSG_PROMISE, 1);
        r.epoch = f->ctx.config.epoch;
        r.value = own;
        deliver(f, &r);
}

static void test_live_claim_below_the_top_ballot_is_stale(void **state) {
        Fixture *f = *state;

        acquire(f);
        /* Host 4's claim is older than this tenure: over, and ignored (FINDINGS.md F8). */
        re_prepare_with_a_live_claim(f, (Ballot) { 0, 4 });
        assert_int_equal(guard_state(f->g), GUARD_HOLDING);
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 3);
        assert_null(test_find(&f->out, ACTION_STOP_UNIT, 0));
}

static void test_live_claim_at_the_top_ballot_ends_the_tenure(void **state) {
        Fixture *f = *state;

        acquire(f);
        /* A claim of host 4 above this tenure's ballot: the tenure is over. */
        re_prepare_with_a_live_claim(f, (Ballot) { guard_ballot(f->g).counter + 5, 4 });
        assert_non_null(test_find(&f->out, ACTION_STOP_UNIT, 0));
        assert_int_equal(test_count_sent(&f->out, MSG_ACCEPT), 0);
}

static void test_guard_refuses_timing_that_fails_validation(void **state) {
        Fixture *f = *state;
        GuardParams p;
        Guard *g;

        guard_params_init(&p);
        p.stop_usec = 800000;
        assert_int_equal(guard_new(&f->ctx, "slow.service", &p, &g), -ERANGE);
        p.stop_usec = S;
        p.heartbeat_usec = 30 * H;
        assert_int_equal(guard_new(&f->ctx, "long.service", &p, &g), -E2BIG);
        assert_int_equal(guard_new(&f->ctx, "", NULL, &g), -EINVAL);
}

static void test_lower_rank_campaigns_later(void **state) {
        Fixture *f = *state;
        RankCandidate c[] = { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 } };
        size_t rank = rank_of(NAME, 1, c, 4);

        assert_int_equal(guard_set_candidates(f->g, c, 4), 0);
        action_list_clear(&f->out);
        guard_campaign(f->g, f->now, &f->out);
        grant(f, MSG_READ, MSG_READ_REPLY, V23, 2);
        assert_true(guard_next_deadline(f->g) >= f->now + rank * 100000);
        assert_true(guard_next_deadline(f->g) < f->now + (rank + 1) * 100000);
}

static void test_holds_is_false_without_tenure_and_near_the_deadline(void **state) {
        Fixture *f = *state;
        uint64_t valid;

        assert_false(guard_holds(f->g, f->now));
        acquire(f);
        valid = guard_valid(f->g);
        assert_true(guard_holds(f->g, valid - S - 1));
        assert_false(guard_holds(f->g, valid - S));
        assert_true(guard_lease_valid(f->g, valid - 1));
        assert_false(guard_lease_valid(f->g, valid));
}

int main(void) {
        (void) V12;
        const struct CMUnitTest tests[] = {
#define T_(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
                T_(test_acquire_reads_waits_rank_then_prepares_and_accepts),
                T_(test_lease_value_carries_holder_token_and_t),
                T_(test_read_showing_live_foreign_lease_waits_its_remaining),
                T_(test_read_past_a_lease_its_holder_released),
                T_(test_read_waits_for_a_lease_above_a_free),
                T_(test_release_seen_locally_ends_the_wait_for_a_live_claim),
                T_(test_release_seen_locally_keeps_a_failure_backoff),
                T_(test_tenure_does_not_begin_when_quorum_comes_after_hold_minus_stop),
                T_(test_renewal_is_one_accept_at_same_ballot_with_next_seq),
                T_(test_one_minority_nack_does_not_trigger_prepare),
                T_(test_renewal_missing_its_quorum_goes_back_to_prepare),
                T_(test_renewal_timeout_goes_back_to_prepare),
                T_(test_holder_reprepare_keeps_its_token_while_its_lease_is_on_top),
                T_(test_holder_reprepare_finding_another_value_ends_tenure),
                T_(test_delayed_renewal_reply_never_counts_toward_a_later_round),
                T_(test_duplicated_reply_counts_once),
                T_(test_self_fence_stops_at_valid_minus_s_and_kills_at_valid),
                T_(test_no_kill_when_the_unit_stopped_in_time),
                T_(test_release_stops_then_writes_free_once_inactive),
                T_(test_handoff_reserves_at_a_quorum_before_take),
                T_(test_handoff_without_quorum_gives_up_without_take),
                T_(test_take_makes_reserved_host_prepare_at_once_with_higher_ballot),
                T_(test_refusal_for_live_lease_waits_remaining_not_backoff),
                T_(test_missed_prepare_backs_off_within_round_time),
                T_(test_unit_failure_releases_and_backs_off_longer_each_time),
                T_(test_unit_stopping_by_itself_counts_as_failure),
                T_(test_nack_config_is_not_counted_and_is_reported),
                T_(test_config_change_restarts_rounds),
                T_(test_voter_behind_is_asked_again_once),
                T_(test_live_claim_below_the_top_ballot_is_stale),
                T_(test_live_claim_at_the_top_ballot_ends_the_tenure),
                T_(test_guard_refuses_timing_that_fails_validation),
                T_(test_lower_rank_campaigns_later),
                T_(test_holds_is_false_without_tenure_and_near_the_deadline),
#undef T_
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
