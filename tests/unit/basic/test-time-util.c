/* SPDX-License-Identifier: MIT */
/* Tests of duration parsing/formatting and of the clocks in basic/time-util. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "basic/time-util.h"

static void assert_parses(const char *s, usec_t expected) {
        usec_t u = 12345;

        assert_int_equal(parse_timespan(s, &u), 0);
        assert_int_equal(u, expected);
}

static void test_parse_accepts_units_and_fractions(void **state) {
        assert_parses("250ms", 250 * USEC_PER_MSEC);
        assert_parses("1.5s", 1500 * USEC_PER_MSEC);
        assert_parses("2min", 2 * USEC_PER_MINUTE);
        assert_parses("3", 3 * USEC_PER_SEC);
        assert_parses("0.2", 200 * USEC_PER_MSEC);
        assert_parses("500us", 500);
        assert_parses("1h", USEC_PER_HOUR);
        assert_parses("2d", 2 * USEC_PER_DAY);
        assert_parses("1min 30s", 90 * USEC_PER_SEC);
        assert_parses("1s500ms", 1500 * USEC_PER_MSEC);
        assert_parses(" 5 sec ", 5 * USEC_PER_SEC);
        assert_parses("0", 0);
        assert_parses("1.0000005s", USEC_PER_SEC); /* below 1 µs is dropped */
        assert_parses("10m", 10 * USEC_PER_MINUTE);
        assert_parses("3seconds", 3 * USEC_PER_SEC);
}

static void test_parse_rejects_malformed_text(void **state) {
        static const char *const bad[] = {
                "", "   ", "-1s", "+1s", "1x", "s", "1.s.", "ms", "1 2", "1min 3", "1.5.2s", "1sx", "abc", "1,5s",
        };
        usec_t u = 777;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                int r = parse_timespan(bad[i], &u);

                if (r != -EINVAL)
                        fail_msg("'%s' gave %d, expected -EINVAL", bad[i], r);
        }
        assert_int_equal(u, 777); /* nothing written on failure */
        assert_int_equal(parse_timespan(NULL, &u), -EINVAL);
}

static void test_parse_rejects_overflow(void **state) {
        usec_t u;

        assert_int_equal(parse_timespan("99999999999999999999", &u), -ERANGE);
        assert_int_equal(parse_timespan("18446744073709551615d", &u), -ERANGE);
        assert_int_equal(parse_timespan("300000000000d", &u), -ERANGE);
        assert_int_equal(parse_timespan("200000000000d 200000000000d", &u), -ERANGE);
}

static void assert_formats(usec_t u, const char *expected) {
        char buf[FORMAT_TIMESPAN_MAX];

        assert_string_equal(format_timespan(buf, sizeof buf, u), expected);
}

static void test_format_is_short_and_reparses(void **state) {
        static const usec_t values[] = { 1, 999, 1500 * USEC_PER_MSEC, 250 * USEC_PER_MSEC,
                                         90 * USEC_PER_SEC, USEC_PER_DAY + 3 * USEC_PER_SEC, 1234567 };

        assert_formats(0, "0");
        assert_formats(USEC_INFINITY, "infinity");
        assert_formats(1500 * USEC_PER_MSEC, "1.5s");
        assert_formats(250 * USEC_PER_MSEC, "250ms");
        assert_formats(2794 * USEC_PER_MSEC, "2.794s");
        assert_formats(90 * USEC_PER_SEC, "1min 30s");
        assert_formats(1500, "1.5ms");
        assert_formats(7, "7us");

        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
                char buf[FORMAT_TIMESPAN_MAX];
                usec_t back;

                assert_int_equal(parse_timespan(format_timespan(buf, sizeof buf, values[i]), &back), 0);
                assert_int_equal(back, values[i]);
        }
}

static void test_format_truncates_safely(void **state) {
        char buf[6];

        format_timespan(buf, sizeof buf, USEC_PER_DAY + USEC_PER_HOUR + 1);
        assert_true(strlen(buf) < sizeof buf);
}

static void test_unslewed_clock_advances_with_monotonic(void **state) {
        usec_t a = now_unslewed(), ma = now(CLOCK_MONOTONIC);
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        usec_t b, mb;

        nanosleep(&ts, NULL);
        b = now_unslewed();
        mb = now(CLOCK_MONOTONIC);
        assert_true(b >= a + 19 * USEC_PER_MSEC);
        /* Without suspend the two clocks differ only by slew: well within 10 %. */
        assert_true((b - a) * 10 >= (mb - ma) * 9);
        assert_true((b - a) * 9 <= (mb - ma) * 10);
}

static void test_timespec_load_saturates(void **state) {
        struct timespec ts = { .tv_sec = (time_t) 0x7fffffffffffffffLL, .tv_nsec = 0 };
        struct timespec neg = { .tv_sec = -1, .tv_nsec = 0 };
        struct timespec one = { .tv_sec = 1, .tv_nsec = 2500 };

        assert_int_equal(timespec_load(&ts), USEC_INFINITY);
        assert_int_equal(timespec_load(&neg), 0);
        assert_int_equal(timespec_load(&one), USEC_PER_SEC + 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_accepts_units_and_fractions),
                cmocka_unit_test(test_parse_rejects_malformed_text),
                cmocka_unit_test(test_parse_rejects_overflow),
                cmocka_unit_test(test_format_is_short_and_reparses),
                cmocka_unit_test(test_format_truncates_safely),
                cmocka_unit_test(test_unslewed_clock_advances_with_monotonic),
                cmocka_unit_test(test_timespec_load_saturates),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
