/* SPDX-License-Identifier: MIT */
/* Tests of basic/log: levels, return values, %m, stderr output and journal-stream detection. */
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

#include "basic/log.h"

/* Runs the logging calls of fn with stderr redirected to a file, and returns what was written. */
static char *capture_stderr(void (*fn)(void)) {
        char path[] = "/tmp/pes-test-log-XXXXXX";
        static char buf[4096];
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        FILE *f;
        size_t n;

        assert_true(fd >= 0);
        assert_true(saved >= 0);
        fflush(stderr);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        fn();
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);

        f = fdopen(fd, "r");
        assert_non_null(f);
        rewind(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        unlink(path);
        return buf;
}

static void emit_some(void) {
        log_set_ident("pes-test");
        log_set_target(LOG_TARGET_CONSOLE);
        log_set_max_level(LOG_INFO);
        log_info("hello %d", 42);
        log_debug("hidden");
        log_emit(LOG_WARNING, 0, LOG_FIELDS("PES_NAME=report.service", "PES_TOKEN=65537"), "with fields");
        log_error_errno(ENOENT, "open %s: %m", "x.conf");
}

static void test_console_output_and_filtering(void **state) {
        const char *out = capture_stderr(emit_some);

        assert_non_null(strstr(out, "pes-test: hello 42\n"));
        assert_null(strstr(out, "hidden"));
        assert_non_null(strstr(out, "pes-test: with fields\n"));
        assert_non_null(strstr(out, "pes-test: open x.conf: No such file or directory\n"));
}

static void test_errno_return_value_and_preservation(void **state) {
        log_set_target(LOG_TARGET_CONSOLE);
        log_set_max_level(LOG_EMERG); /* drop everything; the return value must still be right */
        errno = EAGAIN;
        assert_int_equal(log_error_errno(-EPERM, "x"), -EPERM);
        assert_int_equal(log_error_errno(EPERM, "x"), -EPERM);
        assert_int_equal(log_info("x"), 0);
        assert_int_equal(errno, EAGAIN);
        log_set_max_level(LOG_INFO);
}

static void test_level_names(void **state) {
        assert_int_equal(log_level_from_string("debug"), LOG_DEBUG);
        assert_int_equal(log_level_from_string("ERR"), LOG_ERR);
        assert_int_equal(log_level_from_string("error"), LOG_ERR);
        assert_int_equal(log_level_from_string("warn"), LOG_WARNING);
        assert_int_equal(log_level_from_string("6"), LOG_INFO);
        assert_int_equal(log_level_from_string("8"), -EINVAL);
        assert_int_equal(log_level_from_string("loud"), -EINVAL);
        assert_int_equal(log_level_from_string(""), -EINVAL);
        assert_int_equal(log_level_from_string(NULL), -EINVAL);
}

static void test_journal_stream_matches_only_our_stderr(void **state) {
        char good[64], other[64];
        struct stat st;
        FILE *f = tmpfile();

        assert_non_null(f);
        assert_int_equal(fstat(fileno(f), &st), 0);
        snprintf(good, sizeof good, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        snprintf(other, sizeof other, "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino + 1);

        assert_true(log_stream_is_journal(good, fileno(f)));
        assert_false(log_stream_is_journal(other, fileno(f)));
        assert_false(log_stream_is_journal("garbage", fileno(f)));
        assert_false(log_stream_is_journal("1:2:3", fileno(f)));
        assert_false(log_stream_is_journal(NULL, fileno(f)));
        fclose(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_console_output_and_filtering),
                cmocka_unit_test(test_errno_return_value_and_preservation),
                cmocka_unit_test(test_level_names),
                cmocka_unit_test(test_journal_stream_matches_only_our_stderr),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
