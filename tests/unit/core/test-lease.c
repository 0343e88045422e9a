/* SPDX-License-Identifier: MIT */
/* Unit tests of the lease arithmetic. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/lease.h"

static void test_defaults_give_the_documented_figures(void **state) {
        uint64_t hold, t = lease_from_heartbeat(LEASE_HEARTBEAT_DEFAULT_USEC);

        assert_int_equal(t, 3000000);
        assert_int_equal(lease_hold_usec(t, LEASE_RHO_DEFAULT_PPM, LEASE_DELTA_DEFAULT_USEC, &hold), 0);
        /* DESIGN.md: T_hold = 2.794 s, T_hold − S = 2.294 s. */
        assert_int_equal(hold / 1000, 2794);
        assert_int_equal((hold - LEASE_STOP_DEFAULT_USEC) / 1000, 2294);
        assert_int_equal(lease_acceptor_usec(t, LEASE_RHO_DEFAULT_PPM), 3003000);
}

static void test_holder_rounds_down_and_acceptor_rounds_up(void **state) {
        uint64_t hold;

        /* 7·(10⁶−1)/(10⁶+1) = 6.99998…: the holder gets 6. */
        assert_int_equal(lease_hold_usec(7, 1, 0, &hold), 0);
        assert_int_equal(hold, 6);
        /* 7·(10⁶+1)/10⁶ = 7.000007: the acceptor counts 8. */
        assert_int_equal(lease_acceptor_usec(7, 1), 8);
        /* Exact products are not rounded. */
        assert_int_equal(lease_acceptor_usec(1000000, 1000), 1001000);
}

static void test_holder_deadline_ends_before_any_acceptor_expiry_in_true_time(void **state) {
        /*
         * The worst case of the argument in lease.c: the holder's clock slow by ρ,
         * the acceptor's fast by ρ, the accept arriving at once. In true time the
         * holder's deadline is T_hold/(1−ρ), the acceptor's expiry T·(1+ρ)/(1+ρ).
         */
        for (uint64_t h = 100000; h <= 10000000; h += 100000) {
                uint64_t t = lease_from_heartbeat(h), hold, acc;
                const double rho = 1e-3;

                assert_int_equal(lease_hold_usec(t, 1000, 0, &hold), 0);
                acc = lease_acceptor_usec(t, 1000);
                assert_true((double) hold / (1 - rho) < (double) acc / (1 + rho));
                /* With δ the margin grows by δ/(1−ρ). */
                assert_int_equal(lease_hold_usec(t, 1000, 200, &hold), 0);
                assert_true((double) hold / (1 - rho) + 200 <= (double) acc / (1 + rho));
        }
}

static void test_hold_refuses_a_nonpositive_result(void **state) {
        uint64_t hold;

        assert_int_equal(lease_hold_usec(100000, 1000, 200000, &hold), -ERANGE);
        assert_int_equal(lease_hold_usec(0, 1000, 0, &hold), -EINVAL);
        assert_int_equal(lease_hold_usec(LEASE_USEC_MAX + 1, 1000, 0, &hold), -EINVAL);
        assert_int_equal(lease_hold_usec(1000, LEASE_RHO_PPM_MAX + 1, 0, &hold), -EINVAL);
}

static void test_validation_accepts_the_defaults(void **state) {
        assert_int_equal(lease_validate(LEASE_HEARTBEAT_DEFAULT_USEC, LEASE_STOP_DEFAULT_USEC, LEASE_RHO_DEFAULT_PPM,
                                        LEASE_DELTA_DEFAULT_USEC, LEASE_MAX_DEFAULT_USEC, NULL), 0);
        /* S up to 0.794 s passes with H = 1 s (DESIGN.md). */
        assert_int_equal(lease_validate(1000000, 794000, 1000, 200000, LEASE_MAX_DEFAULT_USEC, NULL), 0);
}

static void test_validation_refuses_a_slow_stop_and_suggests_a_heartbeat(void **state) {
        uint64_t suggested = 1;

        assert_int_equal(lease_validate(1000000, 800000, 1000, 200000, LEASE_MAX_DEFAULT_USEC, &suggested), -ERANGE);
        /* 1.006 s still fails by rounding; 1.007 s is the smallest passing millisecond. */
        assert_int_equal(suggested, 1007000);
        assert_int_equal(lease_validate(suggested, 800000, 1000, 200000, LEASE_MAX_DEFAULT_USEC, NULL), 0);
        assert_int_equal(lease_validate(suggested - 1000, 800000, 1000, 200000, LEASE_MAX_DEFAULT_USEC, NULL), -ERANGE);

        /* A stop budget of 5 s needs a much longer heartbeat, which must pass too. */
        assert_int_equal(lease_validate(1000000, 5000000, 1000, 200000, LEASE_MAX_DEFAULT_USEC, &suggested), -ERANGE);
        assert_true(suggested > 5000000);
        assert_int_equal(lease_validate(suggested, 5000000, 1000, 200000, LEASE_MAX_DEFAULT_USEC, NULL), 0);
}

static void test_validation_refuses_a_lease_above_the_maximum(void **state) {
        uint64_t suggested = 1;

        assert_int_equal(lease_validate(30000000, 500000, 1000, 200000, LEASE_MAX_DEFAULT_USEC, NULL), -E2BIG);
        /* No heartbeat passes when the one needed would exceed T_max. */
        assert_int_equal(lease_validate(1000000, 30000000, 1000, 200000, LEASE_MAX_DEFAULT_USEC, &suggested), -ERANGE);
        assert_int_equal(suggested, 0);
        assert_int_equal(lease_validate(0, 500000, 1000, 200000, LEASE_MAX_DEFAULT_USEC, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_give_the_documented_figures),
                cmocka_unit_test(test_holder_rounds_down_and_acceptor_rounds_up),
                cmocka_unit_test(test_holder_deadline_ends_before_any_acceptor_expiry_in_true_time),
                cmocka_unit_test(test_hold_refuses_a_nonpositive_result),
                cmocka_unit_test(test_validation_accepts_the_defaults),
                cmocka_unit_test(test_validation_refuses_a_slow_stop_and_suggests_a_heartbeat),
                cmocka_unit_test(test_validation_refuses_a_lease_above_the_maximum),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
