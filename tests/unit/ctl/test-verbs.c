/* SPDX-License-Identifier: MIT */
/* Tests of pesctl's verb dispatcher: lookup, argument-count checks, pass-through of results. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/log.h"
#include "ctl/verbs.h"

static int called;

static int verb_one(int argc, char *argv[], void *userdata) {
        called = argc;
        return *(int *) userdata;
}

static const Verb verbs[] = {
        { "one", 2, 2, verb_one },
        { "many", 1, VERB_ANY, verb_one },
        {},
};

static void test_dispatch_calls_the_verb_with_its_arguments(void **state) {
        char *argv[] = { (char *) "one", (char *) "x", NULL };
        int ret = 7;

        called = 0;
        assert_int_equal(dispatch_verb(2, argv, verbs, &ret), 7);
        assert_int_equal(called, 2);
}

static void test_dispatch_refuses_wrong_argument_counts(void **state) {
        char *few[] = { (char *) "one", NULL };
        char *lots[] = { (char *) "one", (char *) "a", (char *) "b", NULL };
        char *any[] = { (char *) "many", (char *) "a", (char *) "b", (char *) "c", NULL };
        int ret = 0;

        called = 0;
        assert_int_equal(dispatch_verb(1, few, verbs, &ret), -EINVAL);
        assert_int_equal(dispatch_verb(3, lots, verbs, &ret), -EINVAL);
        assert_int_equal(called, 0);
        assert_int_equal(dispatch_verb(4, any, verbs, &ret), 0);
        assert_int_equal(called, 4);
}

static void test_dispatch_refuses_unknown_or_missing_verb(void **state) {
        char *argv[] = { (char *) "nope", NULL };
        int ret = 0;

        assert_int_equal(dispatch_verb(1, argv, verbs, &ret), -EINVAL);
        assert_int_equal(dispatch_verb(0, argv, verbs, &ret), -EINVAL);
        assert_null(verb_find(verbs, "nope"));
        assert_non_null(verb_find(verbs, "many"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dispatch_calls_the_verb_with_its_arguments),
                cmocka_unit_test(test_dispatch_refuses_wrong_argument_counts),
                cmocka_unit_test(test_dispatch_refuses_unknown_or_missing_verb),
        };

        log_set_target(LOG_TARGET_CONSOLE);
        log_set_max_level(LOG_EMERG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
