/* SPDX-License-Identifier: MIT */
/* Tests of what pesctl prints without a bus: tables, their JSON, the status, lookup and unit summaries, name checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "basic/log.h"
#include "ctl/ctl-format.h"
#include "ctl/output.h"
#include "ctl/pes-api.h"
#include "ctl/table.h"

static const TableColumn columns[] = {
        { "NAME", "name", false, false },
        { "N", "n", true, false },
        { "OK", "ok", false, false },
};

static char *format(const Table *t, bool legend) {
        char *s = NULL;

        assert_int_equal(table_format(t, legend, &s), 0);
        assert_non_null(s);
        return s;
}

static char *to_json(const Table *t) {
        json_t *j = table_to_json(t);
        char *s;

        assert_non_null(j);
        s = json_format(j, JSON_MODE_SHORT);
        json_decref(j);
        assert_non_null(s);
        return s;
}

static void test_table_aligns_columns_under_a_header(void **state) {
        _cleanup_(table_freep) Table *t = table_new(columns, ELEMENTSOF(columns));
        _cleanup_free_ char *with = NULL, *without = NULL;

        assert_non_null(t);
        assert_int_equal(table_add_string(t, "report.service"), 0);
        assert_int_equal(table_add_uint64(t, 7), 0);
        assert_int_equal(table_add_bool(t, true), 0);
        assert_int_equal(table_add_string(t, "a"), 0);
        assert_int_equal(table_add_uint64(t, 65537), 0);
        assert_int_equal(table_add_bool(t, false), 0);
        assert_int_equal(table_get_rows(t), 2);

        with = format(t, true);
        assert_string_equal(with,
                            "NAME               N OK\n"
                            "report.service     7 yes\n"
                            "a              65537 no\n");
        without = format(t, false);
        assert_string_equal(without,
                            "report.service     7 yes\n"
                            "a              65537 no\n");
}

static void test_table_shows_empty_strings_as_dash_and_escapes_control_characters(void **state) {
        _cleanup_(table_freep) Table *t = table_new(columns, ELEMENTSOF(columns));
        _cleanup_free_ char *text = NULL, *json = NULL;

        assert_int_equal(table_add_string(t, ""), 0);
        assert_int_equal(table_add_uint64(t, 0), 0);
        assert_int_equal(table_add_string(t, "x\033[2Jy"), 0);

        text = format(t, false);
        assert_string_equal(text, "- 0 x\\x1b[2Jy\n");
        json = to_json(t);
        assert_string_equal(json, "[{\"name\":\"\",\"n\":0,\"ok\":\"x\\u001B[2Jy\"}]");
}

static void test_table_counts_utf8_characters_for_width(void **state) {
        static const TableColumn two[] = { { "A", "a", false, false }, { "B", "b", false, false } };
        _cleanup_(table_freep) Table *t = table_new(two, ELEMENTSOF(two));
        _cleanup_free_ char *text = NULL;

        assert_int_equal(table_add_string(t, "grüße"), 0);
        assert_int_equal(table_add_string(t, "x"), 0);
        assert_int_equal(table_add_string(t, "abcdef"), 0);
        assert_int_equal(table_add_string(t, "y"), 0);
        text = format(t, false);
        assert_string_equal(text, "grüße  x\nabcdef y\n");
}

static void test_table_json_is_an_array_of_objects_in_column_order(void **state) {
        _cleanup_(table_freep) Table *t = table_new(columns, ELEMENTSOF(columns));
        _cleanup_free_ char *json = NULL, *empty = NULL;

        empty = to_json(t);
        assert_string_equal(empty, "[]");

        assert_int_equal(table_add_string(t, "n1"), 0);
        assert_int_equal(table_add_timespan(t, 1500 * USEC_PER_MSEC), 0);
        assert_int_equal(table_add_cell(t, "never", NULL), 0);
        json = to_json(t);
        assert_string_equal(json, "[{\"name\":\"n1\",\"n\":1500000,\"ok\":null}]");
}

static void test_table_refuses_numbers_json_cannot_carry_and_incomplete_rows(void **state) {
        _cleanup_(table_freep) Table *t = table_new(columns, ELEMENTSOF(columns));
        char *text = NULL;

        assert_int_equal(table_add_uint64(t, UINT64_MAX), -ERANGE);
        assert_int_equal(table_add_string(t, "only one cell"), 0);
        assert_int_equal(table_format(t, true, &text), -EINVAL);
        assert_null(text);
        assert_null(table_to_json(t));
}

static const PesName names[] = {
        { .name = (char *) "billing.timer", .owner = (char *) "beta", .token = 131074,
          .state = (char *) "held", .lease_remaining = 2794 * USEC_PER_MSEC, .here = false },
        { .name = (char *) "report.service", .owner = (char *) "alpha", .token = 65537,
          .state = (char *) "held", .lease_remaining = 2500 * USEC_PER_MSEC, .here = true },
        { .name = (char *) "spare", .owner = (char *) "", .token = 0,
          .state = (char *) "free", .lease_remaining = 0, .here = false },
};

static const PesNode nodes[] = {
        { .name = (char *) "alpha", .id = 1, .address = (char *) "10.0.0.1:7400",
          .role = (char *) "voter", .state = (char *) "self", .since_contact = 0 },
        { .name = (char *) "beta", .id = 2, .address = (char *) "10.0.0.2:7400",
          .role = (char *) "voter", .state = (char *) "alive", .since_contact = 250 * USEC_PER_MSEC, .epoch = 4 },
        { .name = (char *) "gamma", .id = 3, .address = (char *) "10.0.0.3:7400",
          .role = (char *) "candidate", .state = (char *) "unknown", .since_contact = USEC_INFINITY },
};

static void test_names_table_shows_leases_as_durations_and_raw_numbers_in_json(void **state) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *text = NULL, *json = NULL;

        assert_int_equal(ctl_names_table(names, ELEMENTSOF(names), &t), 0);
        text = format(t, true);
        assert_string_equal(text,
                            "NAME           OWNER  TOKEN STATE  LEASE HERE\n"
                            "billing.timer  beta  131074 held  2.794s no\n"
                            "report.service alpha  65537 held    2.5s yes\n"
                            "spare          -          0 free       - no\n");
        json = to_json(t);
        assert_string_equal(json,
                            "[{\"name\":\"billing.timer\",\"owner\":\"beta\",\"token\":131074,\"state\":\"held\","
                            "\"lease_remaining_usec\":2794000,\"here\":false},"
                            "{\"name\":\"report.service\",\"owner\":\"alpha\",\"token\":65537,\"state\":\"held\","
                            "\"lease_remaining_usec\":2500000,\"here\":true},"
                            "{\"name\":\"spare\",\"owner\":\"\",\"token\":0,\"state\":\"free\","
                            "\"lease_remaining_usec\":0,\"here\":false}]");
}

static void test_nodes_table_shows_last_contact_ago_or_never_and_the_epoch(void **state) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *text = NULL, *json = NULL;

        assert_int_equal(ctl_nodes_table(nodes, ELEMENTSOF(nodes), &t), 0);
        text = format(t, true);
        assert_string_equal(text,
                            "NAME  ID ROLE      STATE   LAST-CONTACT EPOCH ADDRESS\n"
                            "alpha  1 voter     self    -                - 10.0.0.1:7400\n"
                            "beta   2 voter     alive   250ms ago        4 10.0.0.2:7400\n"
                            "gamma  3 candidate unknown never            - 10.0.0.3:7400\n");
        json = to_json(t);
        assert_string_equal(json,
                            "[{\"node\":\"alpha\",\"id\":1,\"role\":\"voter\",\"state\":\"self\","
                            "\"last_contact_usec\":0,\"epoch\":null,\"address\":\"10.0.0.1:7400\"},"
                            "{\"node\":\"beta\",\"id\":2,\"role\":\"voter\",\"state\":\"alive\","
                            "\"last_contact_usec\":250000,\"epoch\":4,\"address\":\"10.0.0.2:7400\"},"
                            "{\"node\":\"gamma\",\"id\":3,\"role\":\"candidate\",\"state\":\"unknown\","
                            "\"last_contact_usec\":null,\"epoch\":null,\"address\":\"10.0.0.3:7400\"}]");
}

static void test_status_counts_names_here_and_peers_alive(void **state) {
        const PesManager m = { .node_name = (char *) "alpha", .version = (char *) "0.1.0", .quorate = true };
        _cleanup_free_ char *text = NULL, *json = NULL;
        CtlStatus s;
        json_t *j;

        ctl_status_summarize(&m, names, ELEMENTSOF(names), nodes, ELEMENTSOF(nodes), &s);
        assert_int_equal(s.names_here, 1);
        assert_int_equal(s.names_total, 3);
        assert_int_equal(s.peers_alive, 1);
        assert_int_equal(s.peers_total, 2);

        assert_int_equal(ctl_status_format(&s, &text), 0);
        assert_string_equal(text,
                            "   Node: alpha\n"
                            "Version: 0.1.0\n"
                            "Quorate: yes\n"
                            "  Names: 1 held here, 3 known\n"
                            "  Peers: 1/2 alive\n");

        j = ctl_status_to_json(&s);
        assert_non_null(j);
        json = json_format(j, JSON_MODE_SHORT);
        json_decref(j);
        assert_string_equal(json,
                            "{\"node_name\":\"alpha\",\"version\":\"0.1.0\",\"quorate\":true,"
                            "\"names_here\":1,\"names_total\":3,\"peers_alive\":1,\"peers_total\":2}");
}

static void test_status_of_a_one_node_cluster_says_so(void **state) {
        const PesManager m = { .node_name = (char *) "solo", .version = (char *) "0.1.0", .quorate = false };
        _cleanup_free_ char *text = NULL;
        CtlStatus s;

        ctl_status_summarize(&m, NULL, 0, nodes, 1, &s);
        assert_int_equal(ctl_status_format(&s, &text), 0);
        assert_non_null(strstr(text, "Quorate: no\n"));
        assert_non_null(strstr(text, "  Peers: none (a one-node cluster)\n"));
}

static void test_lookup_shows_owner_token_and_lease(void **state) {
        _cleanup_free_ char *held = NULL, *free_text = NULL, *json = NULL, *pretty = NULL;
        json_t *j;

        assert_int_equal(ctl_lookup_format(&names[1], &held), 0);
        assert_string_equal(held,
                            " Name: report.service\n"
                            "Owner: alpha\n"
                            "Token: 65537\n"
                            "State: held\n"
                            "Lease: 2.5s left\n");
        assert_int_equal(ctl_lookup_format(&names[2], &free_text), 0);
        assert_non_null(strstr(free_text, "Owner: -\n"));
        assert_non_null(strstr(free_text, "Lease: -\n"));

        j = ctl_lookup_to_json(&names[1]);
        assert_non_null(j);
        json = json_format(j, JSON_MODE_SHORT);
        pretty = json_format(j, JSON_MODE_PRETTY);
        json_decref(j);
        assert_string_equal(json,
                            "{\"name\":\"report.service\",\"owner\":\"alpha\",\"token\":65537,"
                            "\"state\":\"held\",\"lease_remaining_usec\":2500000}");
        assert_string_equal(pretty,
                            "{\n"
                            "  \"name\": \"report.service\",\n"
                            "  \"owner\": \"alpha\",\n"
                            "  \"token\": 65537,\n"
                            "  \"state\": \"held\",\n"
                            "  \"lease_remaining_usec\": 2500000\n"
                            "}");
}

static void test_acquired_json_carries_the_token_as_a_number(void **state) {
        _cleanup_free_ char *json = NULL;
        json_t *j = ctl_acquired_to_json("report.service", 65537);

        assert_non_null(j);
        json = json_format(j, JSON_MODE_SHORT);
        json_decref(j);
        assert_string_equal(json, "{\"name\":\"report.service\",\"token\":65537}");
        assert_null(ctl_acquired_to_json("x", UINT64_MAX));
}

static void test_name_validity(void **state) {
        char longest[PES_NAME_MAX + 2];

        assert_true(pes_name_is_valid("report.service"));
        assert_true(pes_name_is_valid("ab'c~\\"));
        assert_false(pes_name_is_valid("a b"));
        assert_false(pes_name_is_valid(NULL));
        assert_false(pes_name_is_valid(""));
        assert_false(pes_name_is_valid("a/b"));
        assert_false(pes_name_is_valid("tab\there"));
        assert_false(pes_name_is_valid("caf\xc3\xa9"));

        memset(longest, 'x', PES_NAME_MAX);
        longest[PES_NAME_MAX] = 0;
        assert_true(pes_name_is_valid(longest));
        longest[PES_NAME_MAX] = 'x';
        longest[PES_NAME_MAX + 1] = 0;
        assert_false(pes_name_is_valid(longest));
}

static void test_json_modes_parse(void **state) {
        assert_int_equal(json_mode_from_string("short"), JSON_MODE_SHORT);
        assert_int_equal(json_mode_from_string("pretty"), JSON_MODE_PRETTY);
        assert_int_equal(json_mode_from_string("off"), JSON_MODE_OFF);
        assert_int_equal(json_mode_from_string("yes"), -EINVAL);
        assert_int_equal(json_mode_from_string(NULL), -EINVAL);
}

static void test_table_leaves_json_only_columns_out_of_the_text(void **state) {
        static const TableColumn cols[] = {
                { "A", "a", false, false },
                { "NOTE", "note", false, true },
                { "B", "b", true, false },
        };
        _cleanup_(table_freep) Table *t = table_new(cols, ELEMENTSOF(cols));
        _cleanup_free_ char *text = NULL, *json = NULL;

        assert_int_equal(table_add_string(t, "x"), 0);
        assert_int_equal(table_add_string(t, "a long note"), 0);
        assert_int_equal(table_add_uint64(t, 12), 0);

        text = format(t, true);
        assert_string_equal(text,
                            "A  B\n"
                            "x 12\n");
        json = to_json(t);
        assert_string_equal(json, "[{\"a\":\"x\",\"note\":\"a long note\",\"b\":12}]");
}

static PesUnit unit_row(const char *unit, const char *triggers, const char *phase, const char *refusal,
                        const char *active, const char *sub, bool here, uint64_t token) {
        return (PesUnit) {
                .unit = (char *) unit,
                .triggers = (char *) triggers,
                .phase = (char *) phase,
                .refusal = (char *) refusal,
                .active_state = (char *) active,
                .sub_state = (char *) sub,
                .here = here,
                .token = token,
        };
}

static void test_units_table_shows_tokens_held_here_and_lists_refusals_below(void **state) {
        const PesUnit units[] = {
                unit_row("billing.timer", "billing.service", "idle", "", "inactive", "dead", false, 0),
                unit_row("report.service", "", "running", "", "active", "running", true, 65537),
                unit_row("web.service", "", "refused", "no such unit on this host", "", "", false, 0),
                unit_row("odd.service", "", "refused", "", "", "", false, 0),
        };
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *text = NULL, *json = NULL, *notes = NULL;

        assert_int_equal(ctl_units_table(units, ELEMENTSOF(units), &t), 0);
        text = format(t, true);
        assert_string_equal(text,
                            "UNIT           TRIGGERS        PHASE   ACTIVE   SUB     HERE TOKEN\n"
                            "billing.timer  billing.service idle    inactive dead    no       -\n"
                            "report.service -               running active   running yes  65537\n"
                            "web.service    -               refused -        -       no       -\n"
                            "odd.service    -               refused -        -       no       -\n");
        json = to_json(t);
        assert_non_null(strstr(json, "{\"unit\":\"web.service\",\"triggers\":\"\",\"phase\":\"refused\","
                                     "\"active_state\":\"\",\"sub_state\":\"\",\"here\":false,\"token\":0,"
                                     "\"refusal\":\"no such unit on this host\"}"));

        assert_int_equal(ctl_units_refusals_format(units, ELEMENTSOF(units), &notes), 0);
        assert_string_equal(notes,
                            "web.service: refused: no such unit on this host\n"
                            "odd.service: refused: no reason given\n");
        free(notes);
        assert_int_equal(ctl_units_refusals_format(units, 2, &notes), 0);
        assert_string_equal(notes, "");
}

static void test_name_status_shows_owner_this_host_and_history_oldest_first(void **state) {
        PesName owner = {
                .name = (char *) "report.service", .owner = (char *) "beta", .token = 131074,
                .state = (char *) "held", .lease_remaining = 2794 * USEC_PER_MSEC,
        };
        PesUnit unit = unit_row("report.service", "", "idle", "", "inactive", "dead", false, 0);
        HistoryEntry history[] = {
                { .realtime = UINT64_C(1700000000) * USEC_PER_SEC, .message = (char *) "Acquired report.service." },
                { .realtime = UINT64_C(1700000061) * USEC_PER_SEC + 5, .message = (char *) "Lost it\n\033[2J" },
        };
        CtlNameStatus s = {
                .name = "report.service", .owner = &owner, .unit = &unit,
                .history = history, .n_history = ELEMENTSOF(history),
        };
        _cleanup_free_ char *text = NULL, *json = NULL;
        json_t *j;

        assert_int_equal(ctl_name_status_format(&s, &text), 0);
        assert_string_equal(text,
                            "    Name: report.service\n"
                            "   Owner: beta\n"
                            "   Token: 131074\n"
                            "   State: held\n"
                            "   Lease: 2.794s left\n"
                            "   Phase: idle\n"
                            "  Active: inactive (dead)\n"
                            "\n"
                            "Recent owner changes:\n"
                            "2023-11-14 22:13:20  Acquired report.service.\n"
                            "2023-11-14 22:14:21  Lost it\\x0a\\x1b[2J\n");

        j = ctl_name_status_to_json(&s);
        assert_non_null(j);
        json = json_format(j, JSON_MODE_SHORT);
        json_decref(j);
        assert_string_equal(json,
                            "{\"name\":\"report.service\",\"owner\":\"beta\",\"token\":131074,\"state\":\"held\","
                            "\"lease_remaining_usec\":2794000,\"here\":{\"unit\":\"report.service\",\"triggers\":\"\","
                            "\"phase\":\"idle\",\"refusal\":\"\",\"active_state\":\"inactive\",\"sub_state\":\"dead\","
                            "\"holds\":false,\"token\":0},\"history\":[{\"realtime_usec\":1700000000000000,"
                            "\"message\":\"Acquired report.service.\"},{\"realtime_usec\":1700000061000005,"
                            "\"message\":\"Lost it\\n\\u001B[2J\"}]}");
}

static void test_name_status_without_owner_unit_or_history(void **state) {
        PesUnit timer = unit_row("billing.timer", "billing.service", "refused", "", "", "", false, 0);
        CtlNameStatus s = { .name = "billing.timer", .owner_error = "no voter knows it" };
        _cleanup_free_ char *text = NULL, *json = NULL, *with_unit = NULL;
        json_t *j;

        assert_int_equal(ctl_name_status_format(&s, &text), 0);
        assert_string_equal(text,
                            "    Name: billing.timer\n"
                            "   Owner: unknown (no voter knows it)\n"
                            "   Phase: not supervised on this host\n"
                            "\n"
                            "Recent owner changes: no history in the journal\n");

        j = ctl_name_status_to_json(&s);
        assert_non_null(j);
        json = json_format(j, JSON_MODE_SHORT);
        json_decref(j);
        assert_string_equal(json,
                            "{\"name\":\"billing.timer\",\"owner\":null,\"token\":null,\"state\":null,"
                            "\"lease_remaining_usec\":null,\"here\":null,\"history\":[]}");

        s.unit = &timer;
        assert_int_equal(ctl_name_status_format(&s, &with_unit), 0);
        assert_string_equal(with_unit,
                            "    Name: billing.timer\n"
                            "Triggers: billing.service\n"
                            "   Owner: unknown (no voter knows it)\n"
                            "   Phase: refused: no reason given\n"
                            "  Active: -\n"
                            "\n"
                            "Recent owner changes: no history in the journal\n");
}

static void test_holds_json_is_name_and_flag(void **state) {
        json_t *j = ctl_holds_to_json("report.service", true);
        _cleanup_free_ char *s = NULL;

        assert_non_null(j);
        s = json_format(j, JSON_MODE_SHORT);
        json_decref(j);
        assert_string_equal(s, "{\"name\":\"report.service\",\"holds\":true}");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table_aligns_columns_under_a_header),
                cmocka_unit_test(test_table_shows_empty_strings_as_dash_and_escapes_control_characters),
                cmocka_unit_test(test_table_counts_utf8_characters_for_width),
                cmocka_unit_test(test_table_json_is_an_array_of_objects_in_column_order),
                cmocka_unit_test(test_table_refuses_numbers_json_cannot_carry_and_incomplete_rows),
                cmocka_unit_test(test_names_table_shows_leases_as_durations_and_raw_numbers_in_json),
                cmocka_unit_test(test_nodes_table_shows_last_contact_ago_or_never_and_the_epoch),
                cmocka_unit_test(test_status_counts_names_here_and_peers_alive),
                cmocka_unit_test(test_status_of_a_one_node_cluster_says_so),
                cmocka_unit_test(test_lookup_shows_owner_token_and_lease),
                cmocka_unit_test(test_acquired_json_carries_the_token_as_a_number),
                cmocka_unit_test(test_name_validity),
                cmocka_unit_test(test_json_modes_parse),
                cmocka_unit_test(test_table_leaves_json_only_columns_out_of_the_text),
                cmocka_unit_test(test_units_table_shows_tokens_held_here_and_lists_refusals_below),
                cmocka_unit_test(test_name_status_shows_owner_this_host_and_history_oldest_first),
                cmocka_unit_test(test_name_status_without_owner_unit_or_history),
                cmocka_unit_test(test_holds_json_is_name_and_flag),
        };

        log_set_target(LOG_TARGET_CONSOLE);
        log_set_max_level(LOG_EMERG);
        /* The history shows local time; the tests read it in UTC. */
        setenv("TZ", "UTC", 1);
        tzset();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
