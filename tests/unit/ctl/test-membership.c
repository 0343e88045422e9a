/* SPDX-License-Identifier: MIT */
/* Tests of pesctl's membership pieces without a bus: the voters sub-commands, addresses, roles, progress lines and the voters view. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "ctl/ctl-format.h"
#include "ctl/ctl-membership.h"
#include "ctl/output.h"
#include "ctl/pes-api.h"

#define ARGV(...) ((char *[]) { __VA_ARGS__, NULL })
#define ARGC(...) ((int) ELEMENTSOF(((const char *[]) { __VA_ARGS__ })))
#define PARSE(cmd, host, ...) ctl_voters_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (cmd), (host))

static void test_voters_alone_lists(void **state) {
        VotersCommand c = _VOTERS_COMMAND_MAX;
        const char *host = "x";

        assert_int_equal(PARSE(&c, &host, "voters"), 0);
        assert_int_equal(c, VOTERS_LIST);
        assert_null(host);
}

static void test_voters_sub_commands_take_their_host(void **state) {
        VotersCommand c;
        const char *host;

        assert_int_equal(PARSE(&c, &host, "voters", "add", "h4"), 0);
        assert_int_equal(c, VOTERS_ADD);
        assert_string_equal(host, "h4");
        assert_int_equal(PARSE(&c, &host, "voters", "remove", "h3"), 0);
        assert_int_equal(c, VOTERS_REMOVE);
        assert_string_equal(host, "h3");
        assert_int_equal(PARSE(&c, &host, "voters", "resume"), 0);
        assert_int_equal(c, VOTERS_RESUME);
        assert_null(host);
        assert_int_equal(PARSE(&c, &host, "voters", "rollback"), 0);
        assert_int_equal(c, VOTERS_ROLLBACK);
        assert_null(host);
}

static void test_voters_refuses_wrong_usage(void **state) {
        VotersCommand c;
        const char *host;

        assert_int_equal(PARSE(&c, &host, "voters", "add"), -EINVAL);
        assert_int_equal(PARSE(&c, &host, "voters", "remove"), -EINVAL);
        assert_int_equal(PARSE(&c, &host, "voters", "add", "a", "b"), -EINVAL);
        assert_int_equal(PARSE(&c, &host, "voters", "add", ""), -EINVAL);
        assert_int_equal(PARSE(&c, &host, "voters", "add", "a b"), -EINVAL);
        assert_int_equal(PARSE(&c, &host, "voters", "remove", "a/b"), -EINVAL);
        assert_int_equal(PARSE(&c, &host, "voters", "resume", "h1"), -EINVAL);
        assert_int_equal(PARSE(&c, &host, "voters", "rollback", "h1"), -EINVAL);
        assert_int_equal(PARSE(&c, &host, "voters", "grow"), -EINVAL);
        assert_int_equal(PARSE(&c, &host, "voters", "Add", "h4"), -EINVAL);
}

static void test_addresses_are_host_and_port(void **state) {
        static const char *const good[] = { "10.0.0.1:7480", "h1:1", "h1.example.org:65535", "[::1]:7480",
                                            "[fd00::1]:7480" };
        static const char *const bad[] = { "", "h1", "h1:", ":7480", "h1:0", "h1:65536", "h1:-1", "h1:+5",
                                           "h1:74x", "::1:7480", "[::1]", "[]:7480", "h 1:7480", "h/1:7480",
                                           "h1:99999999999999999999" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_true(pes_address_is_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(pes_address_is_valid(bad[i]));
        assert_false(pes_address_is_valid(NULL));
}

static void test_join_address_takes_the_default_port(void **state) {
        static const struct {
                const char *arg, *address;
        } cases[] = {
                { "10.0.0.1:7481", "10.0.0.1:7481" }, { "10.0.0.1", "10.0.0.1:7480" }, { "h1", "h1:7480" },
                { "[fd00::1]", "[fd00::1]:7480" },    { "[fd00::1]:9", "[fd00::1]:9" },
        };
        static const char *const bad[] = { "", "fd00::1", "h1:", ":9", "h1:0", "[fd00::1", "a b", "a/b" };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *a = NULL;

                assert_int_equal(ctl_join_address(cases[i].arg, &a), 0);
                assert_string_equal(a, cases[i].address);
                free(a);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *a = NULL;

                assert_int_equal(ctl_join_address(bad[i], &a), -EINVAL);
                assert_null(a);
        }
}

static void test_roles_of_voters(void **state) {
        assert_true(pes_role_is_voter("voter"));
        assert_true(pes_role_is_voter("voter (joining)"));
        assert_true(pes_role_is_voter("voter (leaving)"));
        assert_false(pes_role_is_voter("candidate"));
        assert_false(pes_role_is_voter("voters"));
        assert_false(pes_role_is_voter(""));
        assert_false(pes_role_is_voter(NULL));
}

static void test_progress_lines_leave_out_the_driver(void **state) {
        char *s;

        s = ctl_voter_change_progress("adding h4 (step 1 of 2, rescan pending; driven by this host)");
        assert_string_equal(s, "Voter change: adding h4 (step 1 of 2, rescan pending)");
        free(s);
        s = ctl_voter_change_progress("removing h2 (step 1 of 2, rescanned; step 2 pending)");
        assert_string_equal(s, "Voter change: removing h2 (step 1 of 2, rescanned; step 2 pending)");
        free(s);
        /* Whatever pesd sends, it cannot move the cursor. */
        s = ctl_voter_change_progress("adding \033[2Jx");
        assert_string_equal(s, "Voter change: adding \\x1b[2Jx");
        free(s);
        assert_null(ctl_voter_change_progress(""));
        assert_null(ctl_voter_change_progress(NULL));
}

static const PesNode nodes[] = {
        { .name = (char *) "h1", .id = 1, .address = (char *) "10.0.0.1:7480", .role = (char *) "voter",
          .state = (char *) "self", .since_contact = 0, .epoch = 12 },
        { .name = (char *) "h2", .id = 2, .address = (char *) "10.0.0.2:7480", .role = (char *) "candidate",
          .state = (char *) "alive", .since_contact = 300 * USEC_PER_MSEC, .epoch = 12 },
        { .name = (char *) "h4", .id = 4, .address = (char *) "", .role = (char *) "voter (leaving)",
          .state = (char *) "dead", .since_contact = USEC_INFINITY, .epoch = 0 },
};

static void test_voters_view_lists_voters_only(void **state) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *text = NULL, *json = NULL;
        _cleanup_(json_decrefp) json_t *j = NULL;
        PesManager m = { .config_epoch = 12, .config_phase = (char *) "accept-widened",
                         .voter_change = (char *) "removing h4 (step 1 of 2, rescan pending)" };

        assert_int_equal(ctl_voters_table(nodes, ELEMENTSOF(nodes), &t), 0);
        assert_int_equal(table_get_rows(t), 2);
        assert_int_equal(table_format(t, true, &text), 0);
        assert_string_equal(text,
                            "NAME ID ROLE            STATE LAST-CONTACT EPOCH ADDRESS\n"
                            "h1    1 voter           self  -               12 10.0.0.1:7480\n"
                            "h4    4 voter (leaving) dead  never            - -\n");

        j = ctl_voters_to_json(&m, t);
        assert_non_null(j);
        json = json_format(j, JSON_MODE_SHORT);
        assert_string_equal(json,
                            "{\"epoch\":12,\"phase\":\"accept-widened\",\"change\":\"removing h4 (step 1 of 2, rescan "
                            "pending)\",\"voters\":[{\"node\":\"h1\",\"id\":1,\"role\":\"voter\",\"state\":\"self\","
                            "\"last_contact_usec\":0,\"epoch\":12,\"address\":\"10.0.0.1:7480\"},{\"node\":\"h4\",\"id\":4,"
                            "\"role\":\"voter (leaving)\",\"state\":\"dead\",\"last_contact_usec\":null,\"epoch\":null,"
                            "\"address\":\"\"}]}");
}

static void test_voters_head_says_none_or_how_to_finish(void **state) {
        PesManager m = { .config_epoch = 3, .config_phase = (char *) "stable", .voter_change = (char *) "" };
        char *s;

        assert_int_equal(ctl_voters_head_format(&m, &s), 0);
        assert_string_equal(s, " Epoch: 3\n Phase: stable\nChange: none\n");
        free(s);

        m.voter_change = (char *) "a voter change (step 2 of 2, rescan pending)";
        assert_int_equal(ctl_voters_head_format(&m, &s), 0);
        assert_string_equal(s,
                            " Epoch: 3\n Phase: stable\nChange: a voter change (step 2 of 2, rescan pending)\n"
                            "        (if the host driving it is gone: 'pesctl voters resume' finishes it,\n"
                            "        'pesctl voters rollback' undoes it)\n");
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_voters_alone_lists),
                cmocka_unit_test(test_voters_sub_commands_take_their_host),
                cmocka_unit_test(test_voters_refuses_wrong_usage),
                cmocka_unit_test(test_addresses_are_host_and_port),
                cmocka_unit_test(test_join_address_takes_the_default_port),
                cmocka_unit_test(test_roles_of_voters),
                cmocka_unit_test(test_progress_lines_leave_out_the_driver),
                cmocka_unit_test(test_voters_view_lists_voters_only),
                cmocka_unit_test(test_voters_head_says_none_or_how_to_finish),
        };

        log_set_target(LOG_TARGET_CONSOLE);
        log_set_max_level(LOG_EMERG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
