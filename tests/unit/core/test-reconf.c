/* SPDX-License-Identifier: MIT */
/* Unit tests of the voter-configuration register and of membership changes driven through it. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "core/ballot.h"
#include "core/node.h"
#include "core/quorum.h"
#include "core/reconf.h"
#include "core-test.h"
#include "pump.h"

#define SEC UINT64_C(1000000)
#define NAME "a.service"

static uint64_t rng_state;

static Node *new_node(uint16_t self, const VoterConfig *c, ActionList *out) {
        CoreRng rng = { test_rng_next, &rng_state };
        Node *n;

        assert_int_equal(node_new(self, 1, c, &rng, &n), 0);
        assert_int_equal(node_start(n, ACCEPTOR_START_BOOTSTRAP, 0, out), 0);
        action_list_clear(out);
        return n;
}

/* The configuration after c with one more member, as a driver would propose it. */
static VoterConfig next_with_member(const VoterConfig *c) {
        VoterConfig d = *c;

        d.members[d.n_members++] = d.next_id;
        d.next_id++;
        d.epoch.n = c->epoch.n + 1;
        d.epoch.hash = voter_config_hash(&d, c->epoch.hash);
        return d;
}

/* The index of the first action of a type, or -1. */
static int action_index(const ActionList *l, ActionType type) {
        for (size_t k = 0; k < l->n; k++)
                if (l->actions[k].type == type)
                        return (int) k;
        return -1;
}

static int send_index(const ActionList *l, MsgType type) {
        for (size_t k = 0; k < l->n; k++)
                if (l->actions[k].type == ACTION_SEND && l->actions[k].send.msg.type == type)
                        return (int) k;
        return -1;
}

static void test_register_promises_accepts_and_commits_after_persisting(void **state) {
        VoterConfig c = test_config(3), next = next_with_member(&c);
        ActionList out = ACTION_LIST_NULL;
        Node *n = new_node(1, &c, &out);
        PeerMsg m;
        int p, s;

        /* CFG_PREPARE(b): the promise leaves only after the register state is written. */
        m = test_msg(MSG_CFG_PREPARE, 2, &c, "", RECONF_ROUND_BIT | 1);
        m.ballot = (Ballot) { 5, 2 };
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        p = action_index(&out, ACTION_PERSIST_CONFIG);
        s = send_index(&out, MSG_CFG_PROMISE);
        assert_true(p >= 0 && s > p);
        assert_true(out.actions[s].send.after_persist);
        assert_true(ballot_is_null(&out.actions[s].send.msg.value.ba));
        assert_int_equal(out.actions[p].config.bp.counter, 5);
        action_list_clear(&out);

        /* A lower or equal ballot is refused with the promised one. */
        m.ballot = (Ballot) { 4, 3 };
        m.from = 3;
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        s = send_index(&out, MSG_NACK);
        assert_true(s >= 0);
        assert_int_equal(out.actions[s].send.msg.ballot.counter, 5);
        assert_int_equal(action_index(&out, ACTION_PERSIST_CONFIG), -1);
        action_list_clear(&out);

        /* CFG_ACCEPT of the next epoch, chained to the installed one. */
        m = test_msg(MSG_CFG_ACCEPT, 2, &c, "", RECONF_ROUND_BIT | 2);
        m.ballot = (Ballot) { 5, 2 };
        m.config = next;
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        p = action_index(&out, ACTION_PERSIST_CONFIG);
        s = send_index(&out, MSG_CFG_ACCEPTED);
        assert_true(p >= 0 && s > p && out.actions[s].send.after_persist);
        assert_int_equal(out.actions[p].config.ba.counter, 5);
        assert_int_equal(out.actions[p].config.accepted.epoch.n, 2);
        action_list_clear(&out);

        /* An epoch that does not follow the installed one is not accepted. */
        m.config.epoch.n = 3;
        assert_int_equal(node_receive(n, &m, 10, &out), -EINVAL);
        action_list_clear(&out);

        /* A higher PREPARE learns the accepted proposal. */
        m = test_msg(MSG_CFG_PREPARE, 3, &c, "", RECONF_ROUND_BIT | 3);
        m.ballot = (Ballot) { 6, 3 };
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        s = send_index(&out, MSG_CFG_PROMISE);
        assert_true(s >= 0);
        assert_int_equal(out.actions[s].send.msg.value.ba.counter, 5);
        assert_true(epoch_equal(&out.actions[s].send.msg.config.epoch, &next.epoch));
        action_list_clear(&out);

        /* CFG_COMMIT installs it and is acknowledged after the write. */
        m = test_msg(MSG_CFG_COMMIT, 3, &c, "", RECONF_ROUND_BIT | 4);
        m.config = next;
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        assert_true(epoch_equal(&node_config(n)->epoch, &next.epoch));
        assert_non_null(test_find_notify(&out, NOTIFY_INSTALLED));
        p = action_index(&out, ACTION_PERSIST_CONFIG);
        s = send_index(&out, MSG_CFG_COMMITTED);
        assert_true(p >= 0 && s > p && out.actions[s].send.after_persist);
        action_list_clear(&out);

        /* The old epoch is now answered with the configuration. */
        m = test_msg(MSG_CFG_PREPARE, 2, &c, "", RECONF_ROUND_BIT | 5);
        m.ballot = (Ballot) { 9, 2 };
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        s = send_index(&out, MSG_NACK_CONFIG);
        assert_true(s >= 0);
        assert_int_equal(out.actions[s].send.msg.config.epoch.n, 2);
        action_list_clear(&out);

        node_free(n);
        action_list_done(&out);
}

static void test_nack_config_installs_a_newer_configuration(void **state) {
        VoterConfig c = test_config(3), next = next_with_member(&c);
        ActionList out = ACTION_LIST_NULL;
        Node *n = new_node(2, &c, &out);
        PeerMsg m;

        /* The daemon's answer to a stale ping has no name. */
        m = test_msg(MSG_NACK_CONFIG, 1, &next, "", 0);
        m.config = next;
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        assert_true(epoch_equal(&node_config(n)->epoch, &next.epoch));
        assert_non_null(test_find_notify(&out, NOTIFY_INSTALLED));
        assert_int_equal(action_list_count(&out, ACTION_PERSIST_CONFIG), 1);
        action_list_clear(&out);

        /* The same again, or an older one, changes nothing. */
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        assert_null(test_find_notify(&out, NOTIFY_INSTALLED));
        assert_int_equal(node_set_config(n, &c, 10, &out), -ESTALE);

        /* A peer that is behind answers with its older one: it is sent the chosen configuration. */
        m = test_msg(MSG_NACK_CONFIG, 3, &c, NAME, 7);
        m.config = c;
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        assert_non_null(test_send_to(&out, MSG_CFG_COMMIT, 3));
        assert_true(epoch_equal(&test_send_to(&out, MSG_CFG_COMMIT, 3)->send.msg.config.epoch, &next.epoch));

        node_free(n);
        action_list_done(&out);
}

static void test_stored_configuration_wins_over_the_one_given_at_creation(void **state) {
        static const uint16_t v[] = { 1, 2, 3 };
        VoterConfig peers, stored, later;
        CoreRng rng = { test_rng_next, &rng_state };
        Ballot bp = { 4, 2 }, none = {};
        Node *n;

        /* pesd.conf lists three hosts; the store has the same epoch with a fourth member. */
        assert_int_equal(voter_config_init(&peers, v, 3), 0);
        stored = next_with_member(&peers);
        stored.epoch.n = 1;
        later = next_with_member(&peers);
        later.epoch.n = 7;

        assert_int_equal(node_new(1, 1, &peers, &rng, &n), 0);
        assert_int_equal(node_config_load(n, &stored, &bp, &none, &stored), 0);
        assert_true(voter_config_is_member(node_config(n), 4));
        assert_true(voter_config_is_member(acceptor_config(node_acceptor(n)), 4));
        node_free(n);

        /* A node created with a newer configuration than the stored one refuses it. */
        assert_int_equal(node_new(1, 1, &later, &rng, &n), 0);
        assert_int_equal(node_config_load(n, &stored, &bp, &none, &stored), -ESTALE);
        node_free(n);
}

static void test_non_member_gets_nack_config(void **state) {
        static const uint16_t v[] = { 1, 2, 3 };
        VoterConfig c;
        ActionList out = ACTION_LIST_NULL;
        Node *n;
        PeerMsg m;
        int s;

        assert_int_equal(voter_config_init(&c, v, 3), 0);
        n = new_node(1, &c, &out);
        m = test_msg(MSG_PREPARE, 4, &c, NAME, 1);
        m.ballot = (Ballot) { 1, 4 };
        assert_int_equal(node_receive(n, &m, 10, &out), 0);
        s = send_index(&out, MSG_NACK_CONFIG);
        assert_true(s >= 0);
        assert_int_equal(out.actions[s].send.to, 4);
        assert_null(acceptor_lookup(node_acceptor(n), NAME));
        node_free(n);
        action_list_done(&out);
}

static void assert_all_at(Pump *p, unsigned n, const VoterConfig *c) {
        for (unsigned h = 1; h <= n; h++)
                if (!p->down[h])
                        assert_true(epoch_equal(&node_config(p->node[h])->epoch, &c->epoch));
}

static void test_add_member_hands_out_the_next_id(void **state) {
        Pump p;
        const VoterConfig *c;

        pump_init(&p, 3, 3, 1);
        assert_int_equal(pump_config_change(&p, 1, CHANGE_ADD_MEMBER, 0), 0);
        assert_true(node_config_driving(p.node[1], NULL, NULL));
        pump_run_until(&p, 2 * SEC);
        assert_true(p.change_done[1]);
        assert_int_equal(p.change_error[1], 0);
        assert_int_equal(p.change_host[1], 8);
        assert_false(node_config_driving(p.node[1], NULL, NULL));
        c = node_config(p.node[1]);
        assert_int_equal(c->epoch.n, 2);
        assert_true(voter_config_is_member(c, 8));
        assert_int_equal(c->next_id, 9);
        assert_all_at(&p, 3, c);
        /* Every host wrote it before acknowledging. */
        for (unsigned h = 1; h <= 3; h++)
                assert_true(epoch_equal(&p.cfg_installed[h].epoch, &c->epoch));
        pump_done(&p);
}

static void test_remove_member_stops_its_campaign(void **state) {
        Pump p;

        pump_init(&p, 5, 3, 2);
        pump_supervise(&p, 5, NAME);
        pump_run_until(&p, 3 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 5);

        /* A voter cannot be removed as a member, nor an unknown host. */
        assert_int_equal(pump_config_change(&p, 1, CHANGE_REMOVE_MEMBER, 2), -EINVAL);
        assert_int_equal(pump_config_change(&p, 1, CHANGE_REMOVE_MEMBER, 9), -ENOENT);

        assert_int_equal(pump_config_change(&p, 1, CHANGE_REMOVE_MEMBER, 5), 0);
        pump_run_until(&p, 4 * SEC);
        assert_true(p.change_done[1]);
        assert_int_equal(p.change_error[1], 0);
        assert_false(voter_config_is_member(node_config(p.node[1]), 5));
        /* Host 5 learnt it, and its renewals are refused: it fences itself. */
        assert_false(voter_config_is_member(node_config(p.node[5]), 5));
        pump_run_until(&p, 10 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 0);
        assert_false(pump_unit_running(&p, 5, NAME));
        pump_done(&p);
}

static void test_a_candidate_removes_itself(void **state) {
        Pump p;

        pump_init(&p, 5, 3, 11);
        assert_int_equal(pump_config_change(&p, 4, CHANGE_REMOVE_MEMBER, 4), 0);
        pump_run_until(&p, 2 * SEC);
        assert_true(p.change_done[4]);
        assert_int_equal(p.change_error[4], 0);
        assert_false(voter_config_is_member(node_config(p.node[1]), 4));
        assert_false(voter_config_is_member(node_config(p.node[4]), 4));
        pump_done(&p);
}

static void test_a_voter_that_lost_its_disk_sits_out_the_register(void **state) {
        VoterConfig c = test_config(3), next;
        ActionList out = ACTION_LIST_NULL;
        CoreRng rng = { test_rng_next, &rng_state };
        uint64_t scan_round;
        Node *n;
        PeerMsg m;

        assert_int_equal(node_new(1, 2, &c, &rng, &n), 0);
        assert_int_equal(node_start(n, ACCEPTOR_START_LOST_DISK, 0, &out), 0);
        assert_non_null(test_sent(&out, MSG_SCAN, 0));
        scan_round = test_sent(&out, MSG_SCAN, 0)->round;
        action_list_clear(&out);

        /* It recovers: both other voters had nothing, and T_max·(1+ρ) passed. */
        for (uint16_t v = 2; v <= 3; v++) {
                m = test_msg(MSG_SCAN_DONE, v, &c, "", scan_round);
                assert_int_equal(node_receive(n, &m, 100 * SEC, &out), 0);
        }
        assert_int_equal(node_tick(n, 100 * SEC, &out), 0);
        assert_true(acceptor_serving(node_acceptor(n)));
        action_list_clear(&out);

        /* It answers names again, but not the register of the epoch it lost its promises in. */
        m = test_msg(MSG_CFG_PREPARE, 2, &c, "", RECONF_ROUND_BIT | 1);
        m.ballot = (Ballot) { 5, 2 };
        assert_int_equal(node_receive(n, &m, 100 * SEC, &out), 0);
        assert_int_equal(test_count_sent(&out, MSG_CFG_PROMISE), 0);
        assert_int_equal(test_count_sent(&out, MSG_NACK), 0);
        action_list_clear(&out);

        /* Once a newer epoch is chosen without it, it takes part again. */
        next = next_with_member(&c);
        m = test_msg(MSG_CFG_COMMIT, 2, &c, "", 0);
        m.config = next;
        assert_int_equal(node_receive(n, &m, 100 * SEC, &out), 0);
        action_list_clear(&out);
        m = test_msg(MSG_CFG_PREPARE, 2, &next, "", RECONF_ROUND_BIT | 2);
        m.ballot = (Ballot) { 6, 2 };
        assert_int_equal(node_receive(n, &m, 100 * SEC, &out), 0);
        assert_int_equal(test_count_sent(&out, MSG_CFG_PROMISE), 1);

        node_free(n);
        action_list_done(&out);
}

static void test_holder_that_missed_a_commit_renews_under_the_new_epoch(void **state) {
        VoterConfig next;
        uint64_t token;
        Guard *g;
        Pump p;

        pump_init(&p, 4, 3, 12);
        pump_supervise(&p, 4, NAME);
        pump_run_until(&p, 3 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 4);
        g = pump_guard(&p, 4, NAME);
        token = guard_token(g);

        /* The voters install a newer epoch; the holder (a candidate) did not hear of it. */
        next = next_with_member(&p.config);
        for (unsigned h = 1; h <= 3; h++)
                assert_int_equal(pump_set_config(&p, h, &next), 0);
        assert_int_equal(node_config(p.node[4])->epoch.n, 1);

        /*
         * Its next renewal is refused with NACK_CONFIG: it installs the epoch, and
         * the renewal starts again from PREPARE under it, keeping the tenure.
         */
        pump_run_until(&p, 5 * SEC);
        assert_true(epoch_equal(&node_config(p.node[4])->epoch, &next.epoch));
        assert_int_equal(p.installs[4], 1);
        assert_int_equal(pump_holder(&p, NAME), 4);
        assert_int_equal(guard_token(g), token);
        {
                Ballot b = guard_ballot(g), first = { token >> 16, 4 };

                /* A new PREPARE went out: a higher ballot than the one that began the tenure. */
                assert_true(ballot_compare(&b, &first) > 0);
        }
        pump_run_until(&p, 20 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 4);
        assert_int_equal(p.kills[4], 0);
        pump_done(&p);
}

static void test_concurrent_voter_changes_one_wins_the_other_is_stale(void **state) {
        Pump p;
        unsigned ok = 0, stale = 0;

        pump_init(&p, 5, 3, 3);
        assert_int_equal(pump_config_change(&p, 1, CHANGE_ADD_VOTER, 4), 0);
        assert_int_equal(pump_config_change(&p, 2, CHANGE_ADD_VOTER, 5), 0);
        /* One driver per host at a time. */
        assert_int_equal(pump_config_change(&p, 1, CHANGE_ADD_VOTER, 5), -EBUSY);
        p.change_done[1] = false;
        pump_run_until(&p, 200 * SEC);
        for (unsigned h = 1; h <= 2; h++) {
                assert_true(p.change_done[h]);
                ok += p.change_error[h] == 0;
                stale += p.change_error[h] == -ESTALE;
        }
        assert_int_equal(ok, 1);
        assert_int_equal(stale, 1);
        /* Only one value was chosen: every host agrees, with four voters. */
        assert_int_equal(node_config(p.node[1])->n_voters, 4);
        assert_false(voter_config_changing(node_config(p.node[1])));
        assert_all_at(&p, 5, node_config(p.node[1]));
        pump_done(&p);
}

static void test_second_change_is_refused_while_one_is_in_flight(void **state) {
        Pump p;

        pump_init(&p, 5, 3, 4);
        assert_int_equal(pump_config_change(&p, 1, CHANGE_ADD_VOTER, 4), 0);
        pump_run_until(&p, 2 * SEC);
        /* The first step is installed everywhere: accept quorum widened. */
        assert_int_equal(node_config(p.node[2])->phase, CONFIG_ACCEPT_WIDENED);
        assert_int_equal(pump_config_change(&p, 2, CHANGE_ADD_VOTER, 5), -EBUSY);
        assert_int_equal(pump_config_change(&p, 2, CHANGE_REMOVE_VOTER, 3), -EBUSY);
        assert_int_equal(pump_config_change(&p, 2, CHANGE_ADD_VOTER, 2), -EBUSY);
        /* A member may still join meanwhile; the voter change goes on. */
        assert_int_equal(pump_config_change(&p, 2, CHANGE_ADD_MEMBER, 0), 0);
        pump_run_until(&p, 200 * SEC);
        assert_int_equal(p.change_error[2], 0);
        assert_true(p.change_done[1]);
        assert_int_equal(p.change_error[1], 0);
        assert_int_equal(node_config(p.node[1])->n_voters, 4);
        assert_true(voter_config_is_member(node_config(p.node[1]), 8));
        pump_done(&p);
}

static void test_add_voter_with_live_names_new_voter_recovers_first(void **state) {
        Pump p;
        const VoterConfig *c;
        uint64_t token;
        const AcceptorEntry *e;

        pump_init(&p, 4, 3, 5);
        pump_supervise(&p, 1, NAME);
        pump_supervise(&p, 2, NAME);
        pump_run_until(&p, 3 * SEC);
        assert_true(pump_holder(&p, NAME) != 0);
        token = guard_token(pump_guard(&p, pump_holder(&p, NAME), NAME));

        assert_int_equal(pump_config_change(&p, 3, CHANGE_ADD_VOTER, 4), 0);
        pump_run_until(&p, 4 * SEC);
        c = node_config(p.node[4]);
        assert_int_equal(c->phase, CONFIG_ACCEPT_WIDENED);
        assert_int_equal(c->changing, 4);
        /* The new voter waits W and reads every name before it answers. */
        assert_false(acceptor_serving(node_acceptor(p.node[4])));
        pump_run_until(&p, 30 * SEC);
        assert_false(acceptor_serving(node_acceptor(p.node[4])));

        pump_run_until(&p, 300 * SEC);
        assert_true(acceptor_serving(node_acceptor(p.node[4])));
        assert_true(p.change_done[3]);
        assert_int_equal(p.change_error[3], 0);
        /* Steps: widened, rescanned, stable, rescanned. */
        assert_int_equal(p.change_steps[3], 4);
        c = node_config(p.node[1]);
        assert_int_equal(c->n_voters, 4);
        assert_int_equal(c->phase, CONFIG_STABLE);
        assert_true(c->rescanned);
        assert_all_at(&p, 4, c);
        /* The tenure went on throughout, and the new voter holds it. */
        assert_int_equal(guard_token(pump_guard(&p, pump_holder(&p, NAME), NAME)), token);
        e = acceptor_lookup(node_acceptor(p.node[4]), NAME);
        assert_non_null(e);
        assert_int_equal(e->v.token, token);
        assert_int_equal(e->v.kind, VALUE_LEASE);
        /* The renewals kept the name at an accept quorum: both rescans skipped it. */
        assert_int_equal(p.identity_sent, 0);
        assert_int_equal(p.rescan_free_sent, 0);
        pump_done(&p);
}

static void test_removing_a_dead_voter_completes_without_it(void **state) {
        Pump p;
        const VoterConfig *c;

        pump_init(&p, 3, 3, 6);
        pump_supervise(&p, 1, NAME);
        pump_run_until(&p, 3 * SEC);
        pump_crash(&p, 3);
        assert_int_equal(pump_config_change(&p, 1, CHANGE_REMOVE_VOTER, 3), 0);
        pump_run_until(&p, 300 * SEC);
        assert_true(p.change_done[1]);
        assert_int_equal(p.change_error[1], 0);
        c = node_config(p.node[1]);
        assert_int_equal(c->n_voters, 2);
        assert_int_equal(voter_config_index(c, 3), -ENOENT);
        assert_true(voter_config_is_member(c, 3));
        assert_true(c->rescanned);
        assert_int_equal(pump_holder(&p, NAME), 1);
        pump_done(&p);
}

static void test_rescan_frees_an_expired_claim(void **state) {
        const AcceptorEntry *e;
        uint64_t token;
        Pump p;

        pump_init(&p, 5, 3, 7);
        /* Voter 3 never hears from host 5: its tenure is at voters 1 and 2 only. */
        pump_cut(&p, 5, 3, true);
        pump_supervise(&p, 5, NAME);
        pump_run_until(&p, 3 * SEC);
        assert_int_equal(pump_holder(&p, NAME), 5);
        token = guard_token(pump_guard(&p, 5, NAME));
        assert_null(acceptor_lookup(node_acceptor(p.node[3]), NAME));
        /* The holder dies; nobody else campaigns, so its LEASE stays, expired. */
        pump_crash(&p, 5);

        /*
         * Removing voter 1: the claim is at an accept quorum of the widened
         * configuration (2 of 1, 2, 3), so that rescan skips it; under the final
         * one (2 and 3, both needed) it is not, and it expired everywhere: it is
         * rewritten as FREE with its token.
         */
        assert_int_equal(pump_config_change(&p, 2, CHANGE_REMOVE_VOTER, 1), 0);
        pump_run_until(&p, 300 * SEC);
        assert_int_equal(p.change_error[2], 0);
        assert_true(p.change_done[2]);
        assert_int_equal(node_config(p.node[2])->n_voters, 2);
        assert_int_equal(p.rescan_free_sent, 2);
        assert_int_equal(p.identity_sent, 0);
        for (unsigned h = 2; h <= 3; h++) {
                e = acceptor_lookup(node_acceptor(p.node[h]), NAME);
                assert_non_null(e);
                assert_int_equal(e->v.kind, VALUE_FREE);
                assert_int_equal(e->v.token, token);
        }
        pump_done(&p);
}

static void test_resume_after_the_driver_crashed(void **state) {
        Pump p;
        const VoterConfig *c;

        pump_init(&p, 4, 3, 8);
        pump_supervise(&p, 2, NAME);
        assert_int_equal(pump_config_change(&p, 1, CHANGE_ADD_VOTER, 4), 0);
        pump_run_until(&p, 2 * SEC);
        assert_int_equal(node_config(p.node[2])->phase, CONFIG_ACCEPT_WIDENED);
        pump_crash(&p, 1);
        /* Nothing in flight to resume from a stable, rescanned configuration elsewhere. */
        assert_int_equal(pump_config_change(&p, 2, CHANGE_ADD_VOTER, 1), -EBUSY);
        assert_int_equal(pump_config_change(&p, 2, CHANGE_RESUME, 0), 0);
        pump_run_until(&p, 300 * SEC);
        assert_true(p.change_done[2]);
        assert_int_equal(p.change_error[2], 0);
        c = node_config(p.node[2]);
        assert_int_equal(c->n_voters, 4);
        assert_false(voter_config_changing(c));
        assert_int_equal(pump_config_change(&p, 2, CHANGE_RESUME, 0), -EINVAL);

        /*
         * The crashed driver comes back with the register state it wrote, and
         * catches up on the first answer it gets (NACK_CONFIG).
         */
        pump_restart(&p, 1);
        assert_int_equal(node_config(p.node[1])->phase, CONFIG_ACCEPT_WIDENED);
        pump_supervise(&p, 1, NAME);
        pump_run_until(&p, 310 * SEC);
        assert_true(epoch_equal(&node_config(p.node[1])->epoch, &c->epoch));
        pump_done(&p);
}

static void test_rollback_returns_to_the_old_voters(void **state) {
        Pump p;
        const VoterConfig *c;

        pump_init(&p, 4, 3, 9);
        pump_supervise(&p, 2, NAME);
        assert_int_equal(pump_config_change(&p, 1, CHANGE_ADD_VOTER, 4), 0);
        pump_run_until(&p, 2 * SEC);
        pump_crash(&p, 1);
        /*
         * Accepts need three of the four voters now, so the new voter must have
         * recovered (W) before the rollback can write.
         */
        pump_run_until(&p, 70 * SEC);
        assert_true(acceptor_serving(node_acceptor(p.node[4])));
        assert_int_equal(pump_config_change(&p, 2, CHANGE_ROLLBACK, 0), 0);
        pump_run_until(&p, 300 * SEC);
        assert_true(p.change_done[2]);
        assert_int_equal(p.change_error[2], 0);
        assert_int_equal(p.change_host[2], 4);
        c = node_config(p.node[2]);
        assert_int_equal(c->n_voters, 3);
        assert_int_equal(voter_config_index(c, 4), -ENOENT);
        assert_false(voter_config_changing(c));
        assert_int_equal(pump_holder(&p, NAME), 2);
        /* Host 4 is a candidate again: its acceptor fell silent. */
        assert_int_equal(voter_config_index(node_config(p.node[4]), 4), -ENOENT);
        assert_int_equal(pump_config_change(&p, 2, CHANGE_ROLLBACK, 0), -EINVAL);
        pump_done(&p);
}

static void test_grow_and_shrink_three_to_five_and_back(void **state) {
        Pump p;
        static const struct { ConfigChangeKind kind; uint16_t x; unsigned voters; } plan[] = {
                { CHANGE_ADD_VOTER, 4, 4 },
                { CHANGE_ADD_VOTER, 5, 5 },
                { CHANGE_REMOVE_VOTER, 1, 4 },
                { CHANGE_REMOVE_VOTER, 4, 3 },
        };
        uint64_t t = 3 * SEC;

        pump_init(&p, 5, 3, 10);
        pump_supervise(&p, 2, NAME);
        pump_supervise(&p, 5, NAME);
        pump_run_until(&p, t);
        for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
                assert_int_equal(pump_config_change(&p, 3, plan[i].kind, plan[i].x), 0);
                t += 300 * SEC;
                pump_run_until(&p, t);
                assert_true(p.change_done[3]);
                assert_int_equal(p.change_error[3], 0);
                assert_int_equal(node_config(p.node[3])->n_voters, plan[i].voters);
                assert_all_at(&p, 5, node_config(p.node[3]));
                assert_true(pump_holder(&p, NAME) != 0);
        }
        pump_done(&p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_register_promises_accepts_and_commits_after_persisting),
                cmocka_unit_test(test_nack_config_installs_a_newer_configuration),
                cmocka_unit_test(test_stored_configuration_wins_over_the_one_given_at_creation),
                cmocka_unit_test(test_non_member_gets_nack_config),
                cmocka_unit_test(test_add_member_hands_out_the_next_id),
                cmocka_unit_test(test_remove_member_stops_its_campaign),
                cmocka_unit_test(test_a_candidate_removes_itself),
                cmocka_unit_test(test_holder_that_missed_a_commit_renews_under_the_new_epoch),
                cmocka_unit_test(test_a_voter_that_lost_its_disk_sits_out_the_register),
                cmocka_unit_test(test_concurrent_voter_changes_one_wins_the_other_is_stale),
                cmocka_unit_test(test_second_change_is_refused_while_one_is_in_flight),
                cmocka_unit_test(test_add_voter_with_live_names_new_voter_recovers_first),
                cmocka_unit_test(test_removing_a_dead_voter_completes_without_it),
                cmocka_unit_test(test_rescan_frees_an_expired_claim),
                cmocka_unit_test(test_resume_after_the_driver_crashed),
                cmocka_unit_test(test_rollback_returns_to_the_old_voters),
                cmocka_unit_test(test_grow_and_shrink_three_to_five_and_back),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
