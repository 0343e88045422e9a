/* SPDX-License-Identifier: MIT */
/* Unit tests of ballot order, fencing tokens and value ranking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/ballot.h"

static void test_ballots_order_by_counter_then_host(void **state) {
        Ballot a = { 1, 9 }, b = { 2, 1 }, c = { 2, 3 };

        assert_true(ballot_compare(&a, &b) < 0);
        assert_true(ballot_compare(&b, &c) < 0);
        assert_true(ballot_compare(&c, &a) > 0);
        assert_int_equal(ballot_compare(&c, &c), 0);
}

static void test_next_ballot_is_highest_counter_seen_plus_one_for_self(void **state) {
        Ballot b = ballot_next(41, 7);

        assert_int_equal(b.counter, 42);
        assert_int_equal(b.host, 7);
        /* Saturates rather than overflowing the token. */
        b = ballot_next(BALLOT_COUNTER_MAX, 7);
        assert_int_equal(b.counter, BALLOT_COUNTER_MAX);
}

static void test_token_is_counter_times_65536_plus_host(void **state) {
        Ballot b = { 3, 5 }, c = { 3, 6 }, d = { 4, 1 };

        assert_int_equal(ballot_token(&b), 3 * 65536 + 5);
        /* Token order is ballot order. */
        assert_true(ballot_token(&b) < ballot_token(&c));
        assert_true(ballot_token(&c) < ballot_token(&d));
}

static void test_values_rank_by_ballot_then_seq(void **state) {
        RegValue a = { .ba = { 2, 1 }, .seq = 9 }, b = { .ba = { 2, 1 }, .seq = 10 }, c = { .ba = { 3, 1 }, .seq = 0 };

        assert_true(value_compare(&a, &b) < 0);
        assert_true(value_compare(&b, &c) < 0);
        assert_int_equal(value_compare(&a, &a), 0);
}

static void test_renewal_differs_only_in_seq(void **state) {
        RegValue a = { .ba = { 2, 1 }, .seq = 1, .kind = VALUE_LEASE, .holder = 1, .token = 7, .lease_usec = 3 };
        RegValue b = a;

        b.seq = 2;
        assert_true(value_same_but_seq(&a, &b));
        b.kind = VALUE_FREE;
        assert_false(value_same_but_seq(&a, &b));
        b = a;
        b.lease_usec = 4;
        assert_false(value_same_but_seq(&a, &b));
        assert_true(value_is_claim(&a));
        a.kind = VALUE_FREE;
        assert_false(value_is_claim(&a));
        assert_string_equal(value_kind_to_string(VALUE_RESERVED), "reserved");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ballots_order_by_counter_then_host),
                cmocka_unit_test(test_next_ballot_is_highest_counter_seen_plus_one_for_self),
                cmocka_unit_test(test_token_is_counter_times_65536_plus_host),
                cmocka_unit_test(test_values_rank_by_ballot_then_seq),
                cmocka_unit_test(test_renewal_differs_only_in_seq),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
