/* SPDX-License-Identifier: MIT */
/* Tests of pesd's command-line parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/log.h"
#include "daemon/options.h"

#define ARGV(...) ((char *[]){ (char *) "pesd", __VA_ARGS__, NULL })
#define ARGC(...) ((int) (sizeof((char *[]){ (char *) "pesd", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, ...) pesd_parse_argv(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o))

static void test_no_arguments_means_run(void **state) {
        PesdOptions o = PESD_OPTIONS_NULL;
        char *argv[] = { (char *) "pesd", NULL };

        assert_int_equal(pesd_parse_argv(1, argv, &o), 0);
        assert_int_equal(o.action, PESD_ACTION_RUN);
        assert_int_equal(o.log_level, -1);
}

static void test_help_version_and_log_level(void **state) {
        PesdOptions o = PESD_OPTIONS_NULL;

        assert_int_equal(PARSE(&o, (char *) "--help"), 0);
        assert_int_equal(o.action, PESD_ACTION_HELP);
        o = (PesdOptions) PESD_OPTIONS_NULL;
        assert_int_equal(PARSE(&o, (char *) "--version"), 0);
        assert_int_equal(o.action, PESD_ACTION_VERSION);
        o = (PesdOptions) PESD_OPTIONS_NULL;
        assert_int_equal(PARSE(&o, (char *) "--log-level=debug"), 0);
        assert_int_equal(o.log_level, LOG_DEBUG);
}

static void test_bad_arguments_are_refused(void **state) {
        PesdOptions o = PESD_OPTIONS_NULL;

        assert_int_equal(PARSE(&o, (char *) "--log-level=loud"), -EINVAL);
        assert_int_equal(PARSE(&o, (char *) "--frobnicate"), -EINVAL);
        assert_int_equal(PARSE(&o, (char *) "-x"), -EINVAL);
        assert_int_equal(PARSE(&o, (char *) "stray"), -EINVAL);
        assert_int_equal(PARSE(&o, (char *) "--log-level"), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_arguments_means_run),
                cmocka_unit_test(test_help_version_and_log_level),
                cmocka_unit_test(test_bad_arguments_are_refused),
        };

        log_set_target(LOG_TARGET_CONSOLE);
        log_set_max_level(LOG_EMERG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
