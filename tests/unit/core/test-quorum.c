/* SPDX-License-Identifier: MIT */
/* Unit tests of voter configurations and quorum sizes. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/quorum.h"

static void test_stable_config_uses_plain_majorities(void **state) {
        static const uint16_t v[] = { 5, 1, 3 };
        VoterConfig c;

        assert_int_equal(voter_config_init(&c, v, 3), 0);
        assert_int_equal(c.voters[0], 1);
        assert_int_equal(c.voters[2], 5);
        assert_int_equal(voter_config_prepare_quorum(&c), 2);
        assert_int_equal(voter_config_accept_quorum(&c), 2);
        assert_int_equal(voter_config_recovery_quorum(&c), 2);
        assert_true(voter_config_in_prepare_set(&c, 3));
        assert_false(voter_config_in_prepare_set(&c, 2));
        assert_int_equal(voter_config_index(&c, 5), 2);
        assert_int_equal(voter_config_index(&c, 4), -ENOENT);

        static const uint16_t five[] = { 1, 2, 3, 4, 5 };
        assert_int_equal(voter_config_init(&c, five, 5), 0);
        assert_int_equal(voter_config_prepare_quorum(&c), 3);
        assert_int_equal(voter_config_accept_quorum(&c), 3);
}

static void test_widened_phases_need_f_plus_two(void **state) {
        static const uint16_t v[] = { 1, 2, 3, 4 };
        VoterConfig c;

        assert_int_equal(voter_config_init(&c, v, 4), 0);
        c.phase = CONFIG_ACCEPT_WIDENED;
        c.changing = 4;
        assert_int_equal(voter_config_validate(&c), 0);
        /* Accepts go to all four with quorum F+2 = 3; prepares to the old three with 2. */
        assert_int_equal(voter_config_accept_quorum(&c), 3);
        assert_true(voter_config_in_accept_set(&c, 4));
        assert_false(voter_config_in_prepare_set(&c, 4));
        assert_int_equal(voter_config_prepare_quorum(&c), 2);

        /* Removing 4 goes through the same middle configuration, with the same quorums. */
        c.adding = false;
        assert_int_equal(voter_config_validate(&c), 0);
        assert_false(voter_config_in_prepare_set(&c, 4));
        assert_int_equal(voter_config_prepare_quorum(&c), 2);
        assert_int_equal(voter_config_accept_quorum(&c), 3);

        /* STABLE(S ∪ {x}): prepares widened to all four, quorum F+2 = 3. */
        c.phase = CONFIG_STABLE;
        c.changing = PES_HOST_NONE;
        assert_true(voter_config_in_prepare_set(&c, 4));
        assert_int_equal(voter_config_prepare_quorum(&c), 3);
}

static void test_every_prepare_quorum_meets_every_accept_quorum(void **state) {
        static const uint16_t v[] = { 1, 2, 3, 4, 5, 6 };

        for (unsigned n = 1; n <= 6; n++)
                for (unsigned phase = 0; phase < _CONFIG_PHASE_MAX; phase++) {
                        VoterConfig c;
                        unsigned prep_set = 0;

                        assert_int_equal(voter_config_init(&c, v, n), 0);
                        if (phase != CONFIG_STABLE) {
                                if (n < 2)
                                        continue;
                                c.phase = phase;
                                c.changing = v[n - 1];
                        }
                        for (unsigned i = 0; i < n; i++)
                                prep_set += voter_config_in_prepare_set(&c, v[i]);
                        /*
                         * The smallest intersection of a prepare quorum (within the
                         * prepare set) and an accept quorum (within all n) is
                         * p + a − n when the prepare set is all voters; otherwise the
                         * accept quorum has at least a − 1 members in the prepare set.
                         */
                        unsigned p = voter_config_prepare_quorum(&c), a = voter_config_accept_quorum(&c);
                        unsigned a_in_prep = a - (n - prep_set);
                        assert_true(p + a_in_prep > prep_set);
                }
}

static void test_hash_tells_different_voter_sets_apart(void **state) {
        static const uint16_t a[] = { 1, 2, 3 }, b[] = { 1, 2, 4 }, c3[] = { 3, 2, 1 };
        VoterConfig x, y, z;

        assert_int_equal(voter_config_init(&x, a, 3), 0);
        assert_int_equal(voter_config_init(&y, b, 3), 0);
        assert_int_equal(voter_config_init(&z, c3, 3), 0);
        assert_int_not_equal(x.epoch.hash, y.epoch.hash);
        /* Order of the Peers= list does not matter. */
        assert_true(epoch_equal(&x.epoch, &z.epoch));
        /* The parent is part of the hash. */
        assert_int_not_equal(voter_config_hash(&x, 1), voter_config_hash(&x, 2));
}

static void test_invalid_configs_are_refused(void **state) {
        static const uint16_t dup[] = { 1, 1 }, none[] = { 0, 1 };
        VoterConfig c;

        assert_int_equal(voter_config_init(&c, dup, 2), -EINVAL);
        assert_int_equal(voter_config_init(&c, none, 2), -EINVAL);
        assert_int_equal(voter_config_init(&c, dup, 0), -EINVAL);
        assert_int_equal(voter_config_init(&c, dup, PES_VOTERS_MAX + 1), -EINVAL);

        static const uint16_t ok[] = { 1, 2, 3 };
        assert_int_equal(voter_config_init(&c, ok, 3), 0);
        c.changing = 2; /* only in a widened phase */
        assert_int_equal(voter_config_validate(&c), -EINVAL);
        c.changing = PES_HOST_NONE;
        c.adding = true; /* only in ACCEPT_WIDENED */
        assert_int_equal(voter_config_validate(&c), -EINVAL);
        c.adding = false;
        c.lease_max_usec = 0;
        assert_int_equal(voter_config_validate(&c), -EINVAL);
}

static void test_members_include_voters_and_hand_out_ids_above_them(void **state) {
        static const uint16_t v[] = { 1, 2, 3 }, m[] = { 9, 4 };
        VoterConfig c, d;

        assert_int_equal(voter_config_init_members(&c, v, 3, m, 2), 0);
        assert_int_equal(c.n_members, 5);
        assert_int_equal(c.members[0], 1);
        assert_int_equal(c.members[3], 4);
        assert_int_equal(c.members[4], 9);
        assert_int_equal(c.next_id, 10);
        assert_true(c.rescanned);
        assert_false(voter_config_changing(&c));
        assert_true(voter_config_is_member(&c, 4));
        assert_true(voter_config_is_member(&c, 2));
        assert_false(voter_config_is_member(&c, 5));
        assert_false(voter_config_is_member(&c, PES_HOST_NONE));

        /* Plain voter_config_init(): the voters are the members. */
        assert_int_equal(voter_config_init(&d, v, 3), 0);
        assert_int_equal(d.n_members, 3);
        assert_int_equal(d.next_id, 4);
        assert_int_not_equal(c.epoch.hash, d.epoch.hash);

        /* A duplicate member, a voter outside the members, an id not below next_id. */
        static const uint16_t dup[] = { 4, 4 };
        assert_int_equal(voter_config_init_members(&d, v, 3, dup, 2), -EINVAL);
        d = c;
        d.members[0] = 5; /* voter 1 no longer a member, and the list unsorted */
        assert_int_equal(voter_config_validate(&d), -EINVAL);
        d = c;
        d.next_id = 9;
        assert_int_equal(voter_config_validate(&d), -EINVAL);
}

static void test_hash_covers_every_field(void **state) {
        static const uint16_t v[] = { 1, 2, 3 };
        VoterConfig c, d;
        uint64_t h;

        assert_int_equal(voter_config_init(&c, v, 3), 0);
        h = voter_config_hash(&c, 7);
        d = c; d.rescanned = false;
        assert_int_not_equal(voter_config_hash(&d, 7), h);
        d = c; d.next_id++;
        assert_int_not_equal(voter_config_hash(&d, 7), h);
        d = c; d.members[d.n_members++] = 8; d.next_id = 9;
        assert_int_not_equal(voter_config_hash(&d, 7), h);
        d = c; d.phase = CONFIG_ACCEPT_WIDENED; d.changing = 3;
        h = voter_config_hash(&d, 7);
        d.adding = true;
        assert_int_not_equal(voter_config_hash(&d, 7), h);
        assert_true(voter_config_changing(&d));
        d = c; d.rescanned = false;
        assert_true(voter_config_changing(&d));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stable_config_uses_plain_majorities),
                cmocka_unit_test(test_widened_phases_need_f_plus_two),
                cmocka_unit_test(test_every_prepare_quorum_meets_every_accept_quorum),
                cmocka_unit_test(test_hash_tells_different_voter_sets_apart),
                cmocka_unit_test(test_invalid_configs_are_refused),
                cmocka_unit_test(test_members_include_voters_and_hand_out_ids_above_them),
                cmocka_unit_test(test_hash_covers_every_field),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
