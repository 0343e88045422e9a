/* SPDX-License-Identifier: MIT */
/* Tests that the cleanup helpers of basic/macro.h free, close and hand over ownership as they say. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/macro.h"

typedef struct Thing {
        int *freed;
} Thing;

static Thing *thing_free(Thing *t) {
        if (t) {
                (*t->freed)++;
                free(t);
        }
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Thing *, thing_free);

static Thing *make_and_keep(int *freed) {
        _cleanup_(thing_freep) Thing *t = calloc(1, sizeof *t);

        assert_non_null(t);
        t->freed = freed;
        return TAKE_PTR(t);
}

static void test_cleanup_func_runs_at_scope_exit(void **state) {
        int freed = 0;

        {
                _cleanup_(thing_freep) Thing *t = calloc(1, sizeof *t);

                assert_non_null(t);
                t->freed = &freed;
        }
        assert_int_equal(freed, 1);

        {
                _cleanup_(thing_freep) Thing *none = NULL;
                (void) none;
        }
        assert_int_equal(freed, 1);
}

static void test_take_ptr_moves_ownership(void **state) {
        int freed = 0;
        Thing *t = make_and_keep(&freed);

        assert_int_equal(freed, 0); /* TAKE_PTR kept it alive past the callee's scope */
        thing_free(t);
        assert_int_equal(freed, 1);
}

static void test_cleanup_close_closes(void **state) {
        int copy;

        {
                _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

                assert_true(fd >= 0);
                copy = fd;
        }
        assert_int_equal(fcntl(copy, F_GETFD), -1);

        {
                _cleanup_close_ int fd = -1;
                (void) fd;
        }
}

static void test_elementsof_min_max(void **state) {
        int a[7];

        (void) a;
        assert_int_equal(ELEMENTSOF(a), 7);
        assert_int_equal(MIN(3, -2), -2);
        assert_int_equal(MAX(3, -2), 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cleanup_func_runs_at_scope_exit),
                cmocka_unit_test(test_take_ptr_moves_ownership),
                cmocka_unit_test(test_cleanup_close_closes),
                cmocka_unit_test(test_elementsof_min_max),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
