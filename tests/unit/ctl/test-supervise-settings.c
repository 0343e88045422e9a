/* SPDX-License-Identifier: MIT */
/* Tests of the options of "pesctl supervise" turned into units.d settings for pesd's Supervise. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/macro.h"
#include "ctl/supervise-settings.h"

/* Builds the settings of o and returns them joined with '|'. */
static char *build(const SuperviseOptions *o) {
        _cleanup_(strv_freep) char **l = NULL;
        _cleanup_free_ char *error = NULL;
        char buf[2048] = "";
        size_t n = 0;

        assert_int_equal(supervise_settings_build(o, &l, &error), 0);
        assert_null(error);
        assert_non_null(l);
        for (char **s = l; *s; s++)
                n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s%s", s == l ? "" : "|", *s);
        return strdup(buf);
}

/* Builds o, which must be refused, and returns the message. */
static char *refuse(const SuperviseOptions *o) {
        char **l = NULL;
        char *error = NULL;

        assert_int_equal(supervise_settings_build(o, &l, &error), -EINVAL);
        assert_null(l);
        assert_non_null(error);
        return error;
}

static void test_every_option_becomes_its_key_in_section_order(void **state) {
        SuperviseOptions o = {
                .health_threshold = "4",
                .health_timeout = "1s",
                .health_interval = "10s",
                .health_url = "https://localhost/health",
                .failure_backoff = "2min",
                .failure_window = "1h",
                .failure_budget = "0",
                .stop_timeout = "250ms",
                .heartbeat = "1min 30s",
                .prefer = "a:3,b:1",
                .hosts = "a,b,c",
        };
        _cleanup_free_ char *s = build(&o);

        assert_string_equal(s,
                            "Hosts=a b c|Prefer=a:3 b:1|HeartbeatSec=1min 30s|StopSec=250ms|FailureBudget=0|"
                            "FailureWindowSec=1h|FailureBackoffSec=2min|HealthURL=https://localhost/health|"
                            "HealthIntervalSec=10s|HealthTimeoutSec=1s|HealthThreshold=4");
        assert_true(supervise_options_any(&o));
}

static void test_no_options_is_no_settings(void **state) {
        SuperviseOptions o = {};
        _cleanup_free_ char *s = build(&o);

        assert_string_equal(s, "");
        assert_false(supervise_options_any(&o));
        o.disable = true;
        assert_true(supervise_options_any(&o));
}

static void test_host_lists_take_commas_or_spaces(void **state) {
        SuperviseOptions o = { .hosts = " a, b  c,", .prefer = "a:10 b:0" };
        _cleanup_free_ char *s = build(&o);

        assert_string_equal(s, "Hosts=a b c|Prefer=a:10 b:0");
}

static void test_malformed_options_are_refused_with_the_option_named(void **state) {
        static const struct {
                SuperviseOptions o;
                const char *message;
        } cases[] = {
                { { .hosts = "" }, "Invalid --hosts='': no host given." },
                { { .hosts = "a:1" }, "Invalid --hosts='a:1': 'a:1' is not a host name." },
                { { .prefer = "a" }, "Invalid --prefer='a': 'a' is not HOST:WEIGHT." },
                { { .prefer = "a:x" }, "Invalid --prefer='a:x': the weight in 'a:x' is not a number." },
                { { .prefer = ":3" }, "Invalid --prefer=':3': ':3' is not HOST:WEIGHT." },
                { { .heartbeat = "soon" }, "Invalid --heartbeat='soon': not a duration such as 2s, 500ms or 5min." },
                { { .stop_timeout = "-1s" },
                  "Invalid --stop-timeout='-1s': not a duration such as 2s, 500ms or 5min." },
                { { .failure_budget = "3x" }, "Invalid --failure-budget='3x': not a number." },
                { { .health_threshold = "" }, "Invalid --health-threshold='': not a number." },
                { { .health_url = "localhost:80" },
                  "Invalid --health-url='localhost:80': not an http:// or https:// URL." },
                { { .health_url = "http://a b" }, "Invalid --health-url='http://a b': not an http:// or https:// URL." },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *error = refuse(&cases[i].o);

                assert_string_equal(error, cases[i].message);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_option_becomes_its_key_in_section_order),
                cmocka_unit_test(test_no_options_is_no_settings),
                cmocka_unit_test(test_host_lists_take_commas_or_spaces),
                cmocka_unit_test(test_malformed_options_are_refused_with_the_option_named),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
