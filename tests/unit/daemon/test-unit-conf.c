/* SPDX-License-Identifier: MIT */
/* Tests of supervised-unit declarations: names, keys, file:line refusals, the directory loader, writing back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/macro.h"
#include "daemon/unit-conf.h"

static char dir[64];

static int setup(void **state) {
        snprintf(dir, sizeof dir, "/tmp/pes-test-units-XXXXXX");
        assert_non_null(mkdtemp(dir));
        return 0;
}

static int teardown(void **state) {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static void write_file(const char *name, const char *text) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_supervisable_names(void **state) {
        assert_true(unit_name_supervisable("report.service"));
        assert_true(unit_name_supervisable("billing.timer"));
        assert_true(unit_name_supervisable("web.socket"));
        assert_true(unit_name_supervisable("worker@1.service"));
        assert_false(unit_name_supervisable("worker@.service")); /* a template */
        assert_false(unit_name_supervisable("data.mount"));
        assert_false(unit_name_supervisable(".service"));
        assert_false(unit_name_supervisable("a/b.service"));
        assert_false(unit_name_supervisable("a b.service"));
        assert_false(unit_name_supervisable(""));
        assert_false(unit_name_supervisable(NULL));
}

static void test_full_declaration(void **state) {
        UnitConf u;
        char path[256];
        _cleanup_free_ char *error = NULL;

        write_file("report.service.conf", "# the nightly report\n"
                                          "[Supervise]\n"
                                          "Hosts=h1 h2 h3\n"
                                          "Prefer=h1:5 h2:0\n"
                                          "HeartbeatSec=200ms\n"
                                          "StopSec=2s\n"
                                          "FailureBudget=2\n"
                                          "FailureWindowSec=1min\n"
                                          "FailureBackoffSec=30s\n"
                                          "HealthURL=http://127.0.0.1:8080/health\n"
                                          "HealthIntervalSec=1s\n"
                                          "HealthTimeoutSec=500ms\n"
                                          "HealthThreshold=4\n");
        snprintf(path, sizeof path, "%s/report.service.conf", dir);
        assert_int_equal(unit_conf_init(&u, "report.service"), 0);
        assert_int_equal(unit_conf_parse_file(&u, path, &error), 0);
        assert_int_equal(u.n_hosts, 3);
        assert_int_equal(u.heartbeat, 200 * USEC_PER_MSEC);
        assert_int_equal(u.stop, 2 * USEC_PER_SEC);
        assert_int_equal(u.failure_budget, 2);
        assert_int_equal(u.failure_window, USEC_PER_MINUTE);
        assert_int_equal(u.failure_backoff, 30 * USEC_PER_SEC);
        assert_string_equal(u.health_url, "http://127.0.0.1:8080/health");
        assert_int_equal(u.health_threshold, 4);
        assert_int_equal(unit_conf_weight(&u, "h1"), 5);
        assert_int_equal(unit_conf_weight(&u, "h2"), 0);
        assert_int_equal(unit_conf_weight(&u, "h3"), 1);
        assert_int_equal(unit_conf_weight(&u, "h4"), 0); /* not among Hosts= */
        unit_conf_done(&u);
}

static void test_defaults_make_every_host_eligible(void **state) {
        UnitConf u;

        assert_int_equal(unit_conf_init(&u, "a.timer"), 0);
        assert_int_equal(u.stop, 500 * USEC_PER_MSEC);
        assert_int_equal(u.heartbeat, 0);
        assert_int_equal(u.failure_budget, 3);
        assert_int_equal(unit_conf_weight(&u, "anyone"), 1);
        unit_conf_done(&u);
        assert_int_equal(unit_conf_init(&u, "a.mount"), -EINVAL);
}

static void assert_refused(const char *text, const char *where_and_why) {
        UnitConf u;
        char path[256], expected[512];
        _cleanup_free_ char *error = NULL;

        write_file("x.service.conf", text);
        snprintf(path, sizeof path, "%s/x.service.conf", dir);
        assert_int_equal(unit_conf_init(&u, "x.service"), 0);
        assert_int_equal(unit_conf_parse_file(&u, path, &error), -EINVAL);
        snprintf(expected, sizeof expected, "%s:%s", path, where_and_why);
        assert_non_null(error);
        if (strncmp(error, expected, strlen(expected)) != 0)
                fail_msg("got '%s', expected '%s…'", error, expected);
        unit_conf_done(&u);
}

static void test_bad_lines_name_file_and_line(void **state) {
        assert_refused("[Supervise]\nColour=red\n", "2: unknown key 'Colour' in [Supervise]");
        assert_refused("[Service]\nHosts=a\n", "1: unknown section [Service]");
        assert_refused("Hosts=a\n", "1: 'Hosts=' outside [Supervise]");
        assert_refused("[Supervise]\nHosts=a a\n", "2: Hosts=: 'a' named twice");
        assert_refused("[Supervise]\nPrefer=a:x\n", "2: Prefer=: 'a:x' is not HOST[:WEIGHT]");
        assert_refused("[Supervise]\nHosts=bad!host\n", "2: Hosts=: 'bad!host' is not a host name");
        assert_refused("[Supervise]\n\nHeartbeatSec=10ms\n", "3: HeartbeatSec=: '10ms' is outside");
        assert_refused("[Supervise]\nStopSec=soon\n", "2: StopSec=: 'soon' is not a duration");
        assert_refused("[Supervise]\nFailureBudget=-1\n", "2: FailureBudget=: '-1' is not a whole number");
        assert_refused("[Supervise]\nHealthURL=ftp://x\n", "2: HealthURL=: 'ftp://x' is not an http");
        assert_refused("[Supervise]\nHealthThreshold=0\n", "2: HealthThreshold=: '0' is not a whole number in 1…1000");
        assert_refused("[Supervise]\nno equals sign\n", "2: syntax error");
        assert_refused("[Supervise]\nHosts=\n", "2: Hosts=: empty value");
}

static void test_load_dir_sorted_and_strict(void **state) {
        UnitConf *list;
        size_t n;
        _cleanup_free_ char *error = NULL, *error2 = NULL;
        char missing[128];

        write_file("b.service.conf", "[Supervise]\nStopSec=1s\n");
        write_file("a.timer.conf", "[Supervise]\n");
        write_file("README", "not a declaration\n");
        assert_int_equal(unit_conf_load_dir(dir, &list, &n, &error), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].unit, "a.timer");
        assert_string_equal(list[1].unit, "b.service");
        assert_int_equal(list[1].stop, USEC_PER_SEC);
        for (size_t i = 0; i < n; i++)
                unit_conf_done(&list[i]);
        free(list);

        write_file("c.mount.conf", "[Supervise]\n");
        assert_int_equal(unit_conf_load_dir(dir, &list, &n, &error2), -EINVAL);
        assert_non_null(strstr(error2, "'c.mount' is not a unit pes can supervise"));

        snprintf(missing, sizeof missing, "%s/none", dir);
        assert_int_equal(unit_conf_load_dir(missing, &list, &n, &error), 0);
        assert_int_equal(n, 0);
}

static void test_write_reads_back_the_same(void **state) {
        UnitConf u, back;
        char path[256];
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

        snprintf(path, sizeof path, "%s/w.service.conf", dir);
        assert_int_equal(unit_conf_init(&u, "w.service"), 0);
        assert_int_equal(unit_conf_set(&u, "Hosts", "h1 h2", &e1), 0);
        assert_int_equal(unit_conf_set(&u, "Prefer", "h2:3", &e2), 0);
        assert_int_equal(unit_conf_set(&u, "HeartbeatSec", "1.5s", &e3), 0);
        assert_int_equal(unit_conf_set(&u, "HealthURL", "https://localhost/ok", &e4), 0);
        assert_int_equal(unit_conf_write(&u, path), 0);

        assert_int_equal(unit_conf_init(&back, "w.service"), 0);
        assert_int_equal(unit_conf_parse_file(&back, path, &e1), 0);
        assert_int_equal(back.n_hosts, 2);
        assert_int_equal(unit_conf_weight(&back, "h2"), 3);
        assert_int_equal(back.heartbeat, 1500 * USEC_PER_MSEC);
        assert_string_equal(back.health_url, "https://localhost/ok");
        assert_int_equal(back.stop, u.stop);
        unit_conf_done(&u);
        unit_conf_done(&back);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_supervisable_names),
                cmocka_unit_test_setup_teardown(test_full_declaration, setup, teardown),
                cmocka_unit_test(test_defaults_make_every_host_eligible),
                cmocka_unit_test_setup_teardown(test_bad_lines_name_file_and_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load_dir_sorted_and_strict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_reads_back_the_same, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
