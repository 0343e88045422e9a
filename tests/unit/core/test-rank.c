/* SPDX-License-Identifier: MIT */
/* Unit tests of the weighted rendezvous ranking and the campaign delay. */
#include <math.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/hash.h"
#include "core/rank.h"

static uint64_t counter_next(void *userdata) {
        uint64_t *s = userdata;
        return mix64((*s)++);
}

static void test_hash_is_fixed(void **state) {
        /* FNV-1a of "" is its offset basis; the rank hash must never change between releases. */
        assert_int_equal(fnv1a64(FNV1A64_OFFSET, "", 0), FNV1A64_OFFSET);
        assert_int_equal(fnv1a64(FNV1A64_OFFSET, "a", 1), UINT64_C(0xaf63dc4c8601ec8c));
        assert_int_equal(rank_hash("report.service", 1), mix64(fnv1a64(FNV1A64_OFFSET, "report.service", 14) ^ mix64(1)));
}

static void test_ranks_are_a_permutation_agreed_by_every_host(void **state) {
        RankCandidate c[] = { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 5, 1 } };

        for (unsigned k = 0; k < 50; k++) {
                char name[32];
                unsigned seen = 0;

                snprintf(name, sizeof(name), "unit-%u.service", k);
                for (unsigned i = 0; i < 5; i++) {
                        size_t r = rank_of(name, c[i].host, c, 5);
                        assert_true(r < 5);
                        seen |= 1u << r;
                }
                assert_int_equal(seen, 0x1f);
        }
}

static void test_unknown_or_zero_weight_host_ranks_last(void **state) {
        RankCandidate c[] = { { 1, 1 }, { 2, 0 }, { 3, 1 } };

        assert_int_equal(rank_of("x.service", 9, c, 3), 3);
        assert_int_equal(rank_of("x.service", 2, c, 3), 3);
        /* A zero-weight candidate never ranks ahead of another. */
        assert_true(rank_of("x.service", 1, c, 3) <= 1);
        assert_true(rank_of("x.service", 3, c, 3) <= 1);
}

static void test_weights_bias_the_winner_proportionally(void **state) {
        RankCandidate c[] = { { 1, 3 }, { 2, 1 } };
        unsigned wins = 0, n = 4000;

        for (unsigned k = 0; k < n; k++) {
                char name[32];

                snprintf(name, sizeof(name), "n%u", k);
                wins += rank_of(name, 1, c, 2) == 0;
        }
        /* Weighted HRW: host 1 wins with probability 3/4. */
        assert_true(wins > n * 70 / 100 && wins < n * 80 / 100);
}

static void test_score_logarithm_matches_libm(void **state) {
        /* The core's own logarithm, checked through the score against libm's. */
        for (unsigned host = 1; host < 200; host++) {
                uint64_t h = rank_hash("billing.timer", (uint16_t) host);
                double u = ((double) (h >> 11) + 0.5) / 9007199254740992.0;
                double expected = -5.0 / log(u);
                double got = rank_score("billing.timer", (uint16_t) host, 5);

                assert_true(fabs(got - expected) <= 1e-12 * expected);
        }
}

static void test_campaign_delay_is_rank_steps_plus_jitter_below_one_step(void **state) {
        uint64_t seed = 7;
        CoreRng rng = { counter_next, &seed };

        for (unsigned i = 0; i < 1000; i++) {
                uint64_t d0 = rank_campaign_delay(0, 100000, &rng);
                uint64_t d3 = rank_campaign_delay(3, 100000, &rng);

                assert_true(d0 < 100000);
                assert_true(d3 >= 300000 && d3 < 400000);
        }
        assert_int_equal(rank_campaign_delay(2, 0, &rng), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hash_is_fixed),
                cmocka_unit_test(test_ranks_are_a_permutation_agreed_by_every_host),
                cmocka_unit_test(test_unknown_or_zero_weight_host_ranks_last),
                cmocka_unit_test(test_weights_bias_the_winner_proportionally),
                cmocka_unit_test(test_score_logarithm_matches_libm),
                cmocka_unit_test(test_campaign_delay_is_rank_steps_plus_jitter_below_one_step),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
