/* SPDX-License-Identifier: MIT */
/*
 * Fixed regression scenarios, one per flaw of the original PES listed in DESIGN.md
 * ("Why not copy the original literally"), each driving several core nodes
 * through the in-test pump and checking I1, I3 and I4 after every step.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/ballot.h"
#include "core/lease.h"
#include "core-test.h"
#include "pump.h"

#define NAME "report.service"
#define SEC UINT64_C(1000000)

/*
 * Flaw 1: the original's prepare neither returned the accepted value nor carried
 * the promised term, so two proposers that both read "free" could both commit.
 * Here two candidates read "free" and prepare at nearly the same moment, over many
 * fixed seeds: exactly one ends up holding, and I1 holds at every step.
 */
static void test_two_proposers_that_both_read_free_never_both_hold(void **state) {
        for (uint64_t seed = 1; seed <= 60; seed++) {
                Pump p;
                unsigned h;

                pump_init(&p, 5, 3, seed);
                /* A tiny rank step puts both PREPAREs within microseconds of each other. */
                p.params.rank_step_usec = 2 + seed % 5;
                p.latency = 500 + seed * 37 % 1500;
                pump_supervise(&p, 4, NAME);
                pump_supervise(&p, 5, NAME);
                pump_run_until(&p, 10 * SEC);

                h = pump_holder(&p, NAME);
                assert_true(h == 4 || h == 5);
                assert_true(pump_unit_running(&p, h, NAME));
                assert_false(pump_unit_running(&p, h == 4 ? 5 : 4, NAME));
                /* The loser saw the winner's live lease and waits for it. */
                assert_int_equal(guard_seen_holder(pump_guard(&p, h == 4 ? 5 : 4, NAME)), h);
                assert_int_equal(p.starts[0], 1);
                pump_done(&p);
        }
}

/*
 * Flaw 2: a no_consensus retry raised the term without re-reading. Here host 4
 * reads "free", is cut off before its PREPARE can gather a quorum, and host 5
 * takes the name meanwhile. When host 4's retry (a higher ballot, straight to
 * PREPARE) arrives, the voters refuse it for host 5's live lease and carry that
 * value back, so host 4 waits instead of overwriting the lease.
 */
static void test_retry_with_higher_ballot_sees_the_accepted_lease(void **state) {
        Pump p;
        Guard *g4;

        pump_init(&p, 5, 3, 7);
        pump_supervise(&p, 4, NAME);
        /* Let host 4's READ complete, then cut it off before its PREPARE lands. */
        pump_run_until(&p, 2500);
        g4 = pump_guard(&p, 4, NAME);
        assert_int_equal(guard_state(g4), GUARD_WAITING);
        pump_isolate(&p, 4, true);
        pump_run_until(&p, 100000);
        assert_int_equal(pump_holder(&p, NAME), 0);

        pump_supervise(&p, 5, NAME);
        pump_run_until(&p, 500000);
        assert_int_equal(pump_holder(&p, NAME), 5);

        /* Host 4's PREPARE round timed out; its retries now reach the voters. */
        pump_isolate(&p, 4, false);
        pump_run_until(&p, 8 * SEC);
        assert_true(guard_ballot(g4).counter >= 2);
        assert_true(p.nack_live_seen[4] > 0);
        assert_int_equal(pump_holder(&p, NAME), 5);
        assert_false(pump_unit_running(&p, 4, NAME));
        assert_int_equal(p.starts[0], 1);
        pump_done(&p);
}

/*
 * Flaw 3: the original compared wall-clock timestamps across hosts. Here every
 * clock reads something else (offsets of hours) and runs at the edge of the drift
 * bound — the holder slow by ρ, the voters fast by ρ, the worst case — and δ is
 * 0 so that only the ρ arithmetic protects. The holder is cut off; the unit must
 * stop (or be killed) before the next holder starts it, and the name moves on.
 */
static void test_clocks_that_differ_within_rho_keep_one_holder(void **state) {
        for (uint64_t seed = 1; seed <= 10; seed++) {
                Pump p;
                unsigned first, second;

                pump_init(&p, 5, 3, seed);
                for (unsigned h = 1; h <= 5; h++) {
                        p.clock_base[h] = h * 3600 * SEC * 7 + seed;
                        p.drift_ppm[h] = h <= 3 ? 1000 : -1000;
                }
                p.config.delta_usec = 0;
                for (unsigned h = 1; h <= 5; h++) {
                        VoterConfig c = test_config(3);
                        c.delta_usec = 0;
                        c.epoch.hash = voter_config_hash(&c, 0);
                        pump_reconfigure_host(&p, h, &c);
                }
                /* A unit that ignores SIGTERM: only the kill at `valid` stops it. */
                p.stop_delay = UINT64_MAX;
                pump_supervise(&p, 4, NAME);
                pump_supervise(&p, 5, NAME);
                pump_run_until(&p, 3 * SEC);
                first = pump_holder(&p, NAME);
                assert_true(first == 4 || first == 5);

                pump_isolate(&p, first, true);
                pump_run_until(&p, 20 * SEC);
                second = pump_holder(&p, NAME);
                assert_int_equal(second, first == 4 ? 5 : 4);
                assert_false(pump_unit_running(&p, first, NAME));
                assert_int_equal(p.kills[first], 1);
                pump_done(&p);
        }
}

/*
 * Flaw 4: acceptor state lived in memory only, so a restart of two voters let a
 * third host register a live name again with the term back at 1. Here two of the
 * three voters crash and restart (intact disks) while host 4 holds the name and
 * is cut off from renewing; host 5 must not hold before host 4's lease is over,
 * bp never goes back (I4, checked every step) and host 5's token is higher.
 */
static void test_two_voters_restarting_do_not_forget_a_live_lease(void **state) {
        Pump p;
        uint64_t token4;

        pump_init(&p, 5, 3, 3);
        pump_supervise(&p, 4, NAME);
        pump_run_until(&p, 2 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 4);
        token4 = guard_token(pump_guard(&p, 4, NAME));

        pump_supervise(&p, 5, NAME);
        pump_crash(&p, 1);
        pump_crash(&p, 2);
        pump_isolate(&p, 4, true);
        pump_run_until(&p, 2 * SEC + 100000);
        pump_restart(&p, 1);
        pump_restart(&p, 2);

        /* The restarted voters hold the lease live for a full T·(1+ρ) from their start. */
        pump_run_until(&p, 2 * SEC + 100000 + 3003000 - 1);
        assert_int_not_equal(pump_holder(&p, NAME), 5);

        pump_run_until(&p, 15 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 5);
        assert_true(guard_token(pump_guard(&p, 5, NAME)) > token4);
        assert_false(pump_unit_running(&p, 4, NAME));
        pump_done(&p);
}

/*
 * Flaw 5: every node computed its majority over its own gossiped node list. Here
 * host 5 believes the voters are {1, 2} (another Peers= list: its own "majority"
 * would be any two) and hosts 3 and 4 gossip different candidate lists. Quorums
 * come only from the voter configuration, whose hash travels in every message:
 * host 5 is never counted, and the candidate views change only who tries first.
 */
static void test_different_views_of_membership_never_count_each_other(void **state) {
        static const uint16_t two[] = { 1, 2 };
        RankCandidate view4[] = { { 4, 1 }, { 5, 1 } }, view3[] = { { 3, 1 }, { 1, 1 } };
        VoterConfig other;
        Pump p;

        pump_init(&p, 5, 3, 11);
        voter_config_init(&other, two, 2);
        pump_reconfigure_host(&p, 5, &other);
        pump_supervise(&p, 5, NAME);
        pump_run_until(&p, 5 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 0);
        assert_true(p.config_notices[5] > 0);

        pump_supervise(&p, 4, NAME);
        pump_supervise(&p, 3, NAME);
        node_set_candidates(p.node[4], NAME, view4, 2);
        node_set_candidates(p.node[3], NAME, view3, 2);
        pump_run_until(&p, 15 * SEC);
        assert_true(pump_holder(&p, NAME) == 3 || pump_holder(&p, NAME) == 4);
        assert_false(pump_unit_running(&p, 5, NAME));
        assert_int_equal(p.starts[0], 1);
        pump_done(&p);
}

/*
 * Flaw 6: a heartbeat timeout stopped the guard but left the process running.
 * Here the holder loses every voter; with no confirmed renewal it stops its unit
 * at valid − S and, the unit not stopping, SIGKILLs it at valid — before any
 * voter lets another host in.
 */
static void test_heartbeat_timeout_stops_and_kills_the_unit(void **state) {
        Pump p;
        Guard *g;
        uint64_t valid_local;

        pump_init(&p, 5, 3, 5);
        p.stop_delay = UINT64_MAX;
        pump_supervise(&p, 4, NAME);
        pump_run_until(&p, 2 * SEC);
        g = pump_guard(&p, 4, NAME);
        assert_true(guard_holds(g, pump_local(&p, 4)));

        pump_isolate(&p, 4, true);
        pump_supervise(&p, 5, NAME);
        pump_run_until(&p, 3 * SEC);
        valid_local = guard_valid(g);
        assert_true(valid_local > 0);
        pump_run_until(&p, valid_local - p.params.stop_usec - 1);
        assert_true(pump_unit_running(&p, 4, NAME));
        pump_run_until(&p, valid_local - p.params.stop_usec);
        /* Stopped, but the unit ignores it: still running until the kill. */
        assert_false(guard_holds(g, pump_local(&p, 4)));
        assert_true(pump_unit_running(&p, 4, NAME));
        pump_run_until(&p, valid_local);
        assert_false(pump_unit_running(&p, 4, NAME));
        assert_int_equal(p.kills[4], 1);

        pump_run_until(&p, 15 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 5);
        pump_done(&p);
}

/*
 * Flaw 7: handoff overwrote the replicas without a quorum. Here a move from host
 * 4 to host 5 while host 4 reaches a single voter cannot write the reservation:
 * no TAKE is sent and host 5 never starts the unit until election resumes. A
 * move with a quorum then works: the unit stops on 4 before 5's tenure starts,
 * with a greater token (I6).
 */
static void test_handoff_without_a_quorum_does_not_transfer(void **state) {
        Pump p;
        uint64_t token4;

        pump_init(&p, 5, 3, 9);
        pump_supervise(&p, 4, NAME);
        pump_run_until(&p, 2 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 4);
        pump_supervise(&p, 5, NAME);
        pump_run_until(&p, 2500000);

        pump_cut(&p, 4, 2, true);
        pump_cut(&p, 4, 3, true);
        pump_move(&p, 4, NAME, 5);
        assert_false(guard_holds(pump_guard(&p, 4, NAME), pump_local(&p, 4)));
        pump_run_until(&p, 5 * SEC);
        assert_int_equal(p.takes_sent, 0);
        assert_false(pump_unit_running(&p, 5, NAME));
        assert_false(pump_unit_running(&p, 4, NAME));

        /* Healed, election resumes: one holder, whoever it is. */
        pump_cut(&p, 4, 2, false);
        pump_cut(&p, 4, 3, false);
        pump_run_until(&p, 20 * SEC);
        assert_true(pump_holder(&p, NAME) == 4 || pump_holder(&p, NAME) == 5);

        /* Now a move with a quorum, toward whichever host does not hold. */
        unsigned from = pump_holder(&p, NAME), to = from == 4 ? 5 : 4;
        token4 = guard_token(pump_guard(&p, from, NAME));
        pump_move(&p, from, NAME, to);
        pump_run_until(&p, 25 * SEC);
        assert_int_equal(p.takes_sent, 1);
        assert_int_equal(pump_holder(&p, NAME), to);
        assert_true(guard_token(pump_guard(&p, to, NAME)) > token4);
        assert_false(pump_unit_running(&p, from, NAME));
        pump_done(&p);
}

/* A holder whose renewals reach a quorum keeps its lease (I5), with disk writes only at the start. */
static void test_steady_holder_keeps_its_lease_without_disk_writes(void **state) {
        Pump p;
        uint64_t token;

        pump_init(&p, 3, 3, 2);
        pump_supervise(&p, 1, NAME);
        pump_supervise(&p, 2, NAME);
        pump_supervise(&p, 3, NAME);
        pump_run_until(&p, 3 * SEC);
        unsigned h = pump_holder(&p, NAME);
        assert_true(h >= 1 && h <= 3);
        token = guard_token(pump_guard(&p, h, NAME));
        pump_run_until(&p, 60 * SEC);
        assert_int_equal(pump_holder(&p, NAME), h);
        assert_int_equal(guard_token(pump_guard(&p, h, NAME)), token);
        assert_int_equal(p.starts[0], 1);
        pump_done(&p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_two_proposers_that_both_read_free_never_both_hold),
                cmocka_unit_test(test_retry_with_higher_ballot_sees_the_accepted_lease),
                cmocka_unit_test(test_clocks_that_differ_within_rho_keep_one_holder),
                cmocka_unit_test(test_two_voters_restarting_do_not_forget_a_live_lease),
                cmocka_unit_test(test_different_views_of_membership_never_count_each_other),
                cmocka_unit_test(test_heartbeat_timeout_stops_and_kills_the_unit),
                cmocka_unit_test(test_handoff_without_a_quorum_does_not_transfer),
                cmocka_unit_test(test_steady_holder_keeps_its_lease_without_disk_writes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
