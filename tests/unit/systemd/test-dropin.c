/* SPDX-License-Identifier: MIT */
/* Tests of the drop-in and environment files: exact text, atomic replacement, change reporting, removal, refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "basic/macro.h"
#include "systemd/dropin.h"
#include "systemd/unit-name.h"

static const DropinParams params = {
        .pesctl_path = "/usr/local/bin/pesctl",
        .timeout_stop_usec = 500000,
};

static void assert_render(const char *unit, const char *held, const char *expected) {
        _cleanup_free_ char *s = NULL;

        assert_int_equal(dropin_render(unit, held, &params, &s), 0);
        assert_string_equal(s, expected);
}

static void test_service_dropin_text(void **state) {
        assert_render("report.service", NULL,
                      "# Written by pesd while report.service is supervised; do not edit.\n"
                      "[Unit]\n"
                      "BindsTo=pesd.service\n"
                      "After=pesd.service\n"
                      "\n"
                      "[Service]\n"
                      "EnvironmentFile=-/run/pes/%n.env\n"
                      "KillMode=control-group\n"
                      "SendSIGKILL=yes\n"
                      "TimeoutStopSec=500ms\n"
                      "ExecCondition=+/usr/local/bin/pesctl holds %n\n");
        /* Holding the unit under its own name is the same as holding nothing else. */
        assert_render("report.service", "report.service",
                      "# Written by pesd while report.service is supervised; do not edit.\n"
                      "[Unit]\n"
                      "BindsTo=pesd.service\n"
                      "After=pesd.service\n"
                      "\n"
                      "[Service]\n"
                      "EnvironmentFile=-/run/pes/%n.env\n"
                      "KillMode=control-group\n"
                      "SendSIGKILL=yes\n"
                      "TimeoutStopSec=500ms\n"
                      "ExecCondition=+/usr/local/bin/pesctl holds %n\n");
}

static void test_timer_service_dropin_holds_the_timer(void **state) {
        assert_render("billing.service", "billing.timer",
                      "# Written by pesd while billing.timer is supervised; do not edit.\n"
                      "[Unit]\n"
                      "BindsTo=pesd.service\n"
                      "After=pesd.service\n"
                      "\n"
                      "[Service]\n"
                      "EnvironmentFile=-/run/pes/billing.timer.env\n"
                      "KillMode=control-group\n"
                      "SendSIGKILL=yes\n"
                      "TimeoutStopSec=500ms\n"
                      "ExecCondition=+/usr/local/bin/pesctl holds billing.timer\n");
        /* systemd unescapes Exec lines, so a literal backslash is doubled. */
        assert_render("a\\x2db.service", "a\\x2db.timer",
                      "# Written by pesd while a\\x2db.timer is supervised; do not edit.\n"
                      "[Unit]\n"
                      "BindsTo=pesd.service\n"
                      "After=pesd.service\n"
                      "\n"
                      "[Service]\n"
                      "EnvironmentFile=-/run/pes/a\\x2db.timer.env\n"
                      "KillMode=control-group\n"
                      "SendSIGKILL=yes\n"
                      "TimeoutStopSec=500ms\n"
                      "ExecCondition=+/usr/local/bin/pesctl holds a\\\\x2db.timer\n");
}

static void test_timer_and_socket_get_only_the_binding(void **state) {
        assert_render("billing.timer", NULL,
                      "# Written by pesd while billing.timer is supervised; do not edit.\n"
                      "[Unit]\n"
                      "BindsTo=pesd.service\n"
                      "After=pesd.service\n");
        assert_render("web.socket", NULL,
                      "# Written by pesd while web.socket is supervised; do not edit.\n"
                      "[Unit]\n"
                      "BindsTo=pesd.service\n"
                      "After=pesd.service\n");
}

static void test_dropin_parameters(void **state) {
        _cleanup_free_ char *s = NULL;
        DropinParams p = {
                .pesd_unit = "pesd-test.service",
                .pesctl_path = "/opt/pes/bin/pesctl",
                .env_dir = "/tmp/pes-env",
                .timeout_stop_usec = 1999999, /* rounded down, never above S */
        };

        assert_int_equal(dropin_render("x@1.service", NULL, &p, &s), 0);
        assert_string_equal(s, "# Written by pesd while x@1.service is supervised; do not edit.\n"
                               "[Unit]\n"
                               "BindsTo=pesd-test.service\n"
                               "After=pesd-test.service\n"
                               "\n"
                               "[Service]\n"
                               "EnvironmentFile=-/tmp/pes-env/%n.env\n"
                               "KillMode=control-group\n"
                               "SendSIGKILL=yes\n"
                               "TimeoutStopSec=1999ms\n"
                               "ExecCondition=+/opt/pes/bin/pesctl holds %n\n");
}

static void test_dropin_refusals(void **state) {
        DropinParams p = params;
        char *s = NULL;

        /* Bad names. */
        assert_int_equal(dropin_render("", NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render(NULL, NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render("a/b.service", NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render("../x.service", NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render("report", NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render("report.conf", NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render(".service", NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render("x@.service", NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render("a b.service", NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render("a%n.service", NULL, &params, &s), -EINVAL);
        assert_int_equal(dropin_render("report.service", "x/y.timer", &params, &s), -EINVAL);
        /* A held name other than the unit itself only makes sense on a service. */
        assert_int_equal(dropin_render("billing.timer", "other.timer", &params, &s), -EINVAL);
        /* Known types pes does not supervise. */
        assert_int_equal(dropin_render("data.mount", NULL, &params, &s), -EOPNOTSUPP);
        assert_int_equal(dropin_render("multi-user.target", NULL, &params, &s), -EOPNOTSUPP);

        /* TimeoutStopSec=0 would mean no timeout. */
        p.timeout_stop_usec = 999;
        assert_int_equal(dropin_render("report.service", NULL, &p, &s), -EINVAL);
        p = params;
        p.pesctl_path = "pesctl";
        assert_int_equal(dropin_render("report.service", NULL, &p, &s), -EINVAL);
        p = params;
        p.env_dir = "run/pes";
        assert_int_equal(dropin_render("report.service", NULL, &p, &s), -EINVAL);
        assert_null(s);
}

static void test_unit_names(void **state) {
        assert_int_equal(unit_name_type("report.service"), UNIT_TYPE_SERVICE);
        assert_int_equal(unit_name_type("billing.timer"), UNIT_TYPE_TIMER);
        assert_int_equal(unit_name_type("web.socket"), UNIT_TYPE_SOCKET);
        assert_int_equal(unit_name_type("getty@tty1.service"), UNIT_TYPE_SERVICE);
        assert_int_equal(unit_name_type("a\\x2db:c_d.path"), UNIT_TYPE_PATH);
        assert_int_equal(unit_name_type("a@b@c.service"), _UNIT_TYPE_INVALID);
        assert_int_equal(unit_name_type("@x.service"), _UNIT_TYPE_INVALID);
        assert_int_equal(unit_name_type("report.service.d"), _UNIT_TYPE_INVALID);

        char longname[300];
        memset(longname, 'a', sizeof(longname));
        strcpy(longname + UNIT_NAME_MAX - strlen(".service"), ".service");
        assert_int_equal(strlen(longname), UNIT_NAME_MAX);
        assert_true(unit_name_is_valid(longname));
        memset(longname, 'a', sizeof(longname));
        strcpy(longname + UNIT_NAME_MAX + 1 - strlen(".service"), ".service");
        assert_false(unit_name_is_valid(longname));
}

/* A fresh temporary directory per test, removed with everything in it. */
static int setup_dir(void **state) {
        char *d = strdup("/tmp/pes-test-dropin.XXXXXX");

        if (!d || !mkdtemp(d))
                return -1;
        *state = d;
        return 0;
}

static int teardown_dir(void **state) {
        _cleanup_free_ char *cmd = NULL;

        if (asprintf(&cmd, "rm -rf '%s'", (char *) *state) < 0)
                return -1;
        if (system(cmd) != 0)
                return -1;
        free(*state);
        return 0;
}

static char *read_all(const char *path) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        char *buf = calloc(1, 4096);
        size_t n;

        assert_non_null(f);
        assert_non_null(buf);
        n = fread(buf, 1, 4095, f);
        buf[n] = 0;
        return buf;
}

static size_t count_entries(const char *dir) {
        _cleanup_free_ char *cmd = NULL;
        _cleanup_(fclosep) FILE *p = NULL;
        size_t n = 0;
        char line[512];

        assert_true(asprintf(&cmd, "ls -A '%s'", dir) >= 0);
        p = popen(cmd, "r");
        assert_non_null(p);
        while (fgets(line, sizeof(line), p))
                n++;
        pclose(p);
        p = NULL;
        return n;
}

static void test_dropin_write_replace_and_remove(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *path = NULL, *sub = NULL, *text = NULL, *text2 = NULL, *got = NULL;
        struct stat st;
        ino_t first;

        assert_true(asprintf(&sub, "%s/report.service.d", dir) >= 0);
        assert_true(asprintf(&path, "%s/" DROPIN_FILE_NAME, sub) >= 0);
        assert_int_equal(dropin_render("report.service", NULL, &params, &text), 0);

        /* First write: the directory and the file appear, "changed". */
        assert_int_equal(dropin_write(dir, "report.service", text), 1);
        got = read_all(path);
        assert_string_equal(got, text);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        first = st.st_ino;

        /* The same content again: nothing changes, not even the inode. */
        assert_int_equal(dropin_write(dir, "report.service", text), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_ino, first);

        /* New content replaces the file by rename: a new inode, and no
         * temporary file left behind. */
        DropinParams p = params;
        p.timeout_stop_usec = 300000;
        assert_int_equal(dropin_render("report.service", NULL, &p, &text2), 0);
        assert_int_equal(dropin_write(dir, "report.service", text2), 1);
        free(got);
        got = read_all(path);
        assert_string_equal(got, text2);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_ino != first);
        assert_int_equal(count_entries(sub), 1);

        /* Removal removes the directory too; a second removal finds nothing. */
        assert_int_equal(dropin_remove(dir, "report.service"), 1);
        assert_int_equal(stat(sub, &st), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(dropin_remove(dir, "report.service"), 0);

        /* Another drop-in of the same unit keeps its directory. */
        assert_int_equal(dropin_write(dir, "report.service", text), 1);
        _cleanup_free_ char *other = NULL;
        assert_true(asprintf(&other, "%s/10-admin.conf", sub) >= 0);
        fclose(fopen(other, "we"));
        assert_int_equal(dropin_remove(dir, "report.service"), 1);
        assert_int_equal(stat(other, &st), 0);

        /* Refusals. */
        assert_int_equal(dropin_write(dir, "", text), -EINVAL);
        assert_int_equal(dropin_write(dir, "a/b.service", text), -EINVAL);
        assert_int_equal(dropin_write(dir, "report", text), -EINVAL);
        assert_int_equal(dropin_write("relative", "report.service", text), -EINVAL);
        assert_int_equal(dropin_remove(dir, "../x"), -EINVAL);
}

static void test_env_file_text(void **state) {
        _cleanup_free_ char *s = NULL, *s2 = NULL;
        char *none = NULL;

        assert_int_equal(env_file_render("report.service", "node-a", UINT64_C(131073), &s), 0);
        assert_string_equal(s, "PES_NAME=report.service\n"
                               "PES_OWNER=node-a\n"
                               "PES_FENCING_TOKEN=131073\n");
        assert_int_equal(env_file_render("a\\x2db.timer", "n1", UINT64_MAX, &s2), 0);
        assert_string_equal(s2, "PES_NAME=a\\\\x2db.timer\n"
                                "PES_OWNER=n1\n"
                                "PES_FENCING_TOKEN=18446744073709551615\n");

        assert_int_equal(env_file_render("", "n1", 1, &none), -EINVAL);
        assert_int_equal(env_file_render("x/y.service", "n1", 1, &none), -EINVAL);
        assert_int_equal(env_file_render("x", "n1", 1, &none), -EINVAL);
        assert_int_equal(env_file_render("x.service", "", 1, &none), -EINVAL);
        assert_int_equal(env_file_render("x.service", "a b", 1, &none), -EINVAL);
        assert_int_equal(env_file_render("x.service", "a\nPES_OWNER=evil", 1, &none), -EINVAL);
        assert_int_equal(env_file_render("x.service", "$HOME", 1, &none), -EINVAL);
        assert_int_equal(env_file_render("x.service", "\"q\"", 1, &none), -EINVAL);
        assert_null(none);
}

static void test_env_file_write_and_remove(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *envdir = NULL, *path = NULL, *got = NULL;
        struct stat st;
        ino_t first;

        /* The directory is created when missing. */
        assert_true(asprintf(&envdir, "%s/pes", dir) >= 0);
        assert_true(asprintf(&path, "%s/report.service.env", envdir) >= 0);

        assert_int_equal(env_file_write(envdir, "report.service", "node-a", 65537), 1);
        got = read_all(path);
        assert_string_equal(got, "PES_NAME=report.service\nPES_OWNER=node-a\nPES_FENCING_TOKEN=65537\n");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        first = st.st_ino;

        assert_int_equal(env_file_write(envdir, "report.service", "node-a", 65537), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_ino, first);

        /* A new tenure: a new token, written by rename. */
        assert_int_equal(env_file_write(envdir, "report.service", "node-b", 131074), 1);
        free(got);
        got = read_all(path);
        assert_string_equal(got, "PES_NAME=report.service\nPES_OWNER=node-b\nPES_FENCING_TOKEN=131074\n");
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_ino != first);
        assert_int_equal(count_entries(envdir), 1);

        assert_int_equal(env_file_remove(envdir, "report.service"), 1);
        assert_int_equal(env_file_remove(envdir, "report.service"), 0);
        assert_int_equal(count_entries(envdir), 0);

        assert_int_equal(env_file_write(envdir, "a/b.service", "n", 1), -EINVAL);
        assert_int_equal(env_file_write("rel", "b.service", "n", 1), -EINVAL);
        assert_int_equal(env_file_remove(envdir, ""), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_service_dropin_text),
                cmocka_unit_test(test_timer_service_dropin_holds_the_timer),
                cmocka_unit_test(test_timer_and_socket_get_only_the_binding),
                cmocka_unit_test(test_dropin_parameters),
                cmocka_unit_test(test_dropin_refusals),
                cmocka_unit_test(test_unit_names),
                cmocka_unit_test_setup_teardown(test_dropin_write_replace_and_remove, setup_dir, teardown_dir),
                cmocka_unit_test(test_env_file_text),
                cmocka_unit_test_setup_teardown(test_env_file_write_and_remove, setup_dir, teardown_dir),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
