/* SPDX-License-Identifier: MIT */
/* pesctl's membership verbs (join, leave, voters) over pesd's D-Bus API. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "ctl/bus-util.h"
#include "ctl/ctl-format.h"
#include "ctl/ctl-membership.h"
#include "ctl/ctl-verbs.h"
#include "ctl/pes-api.h"

int ctl_voters_parse(int argc, char *argv[], VotersCommand *ret_command, const char **ret_host) {
        static const struct {
                const char *name;
                VotersCommand command;
                bool host;
        } table[] = {
                { "add", VOTERS_ADD, true },
                { "remove", VOTERS_REMOVE, true },
                { "resume", VOTERS_RESUME, false },
                { "rollback", VOTERS_ROLLBACK, false },
        };

        assert(argc >= 1);
        assert(ret_command);
        assert(ret_host);

        if (argc == 1) {
                *ret_command = VOTERS_LIST;
                *ret_host = NULL;
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                if (strcmp(argv[1], table[i].name) != 0)
                        continue;
                if (table[i].host && argc < 3)
                        return log_error_errno(EINVAL, "voters %s needs a HOST; see --help.", table[i].name);
                if (argc > (table[i].host ? 3 : 2))
                        return log_error_errno(EINVAL, "Too many arguments for 'voters %s'; see --help.",
                                               table[i].name);
                if (table[i].host && !pes_name_is_valid(argv[2]))
                        return log_error_errno(EINVAL, "Invalid host name '%s'.", argv[2]);
                *ret_command = table[i].command;
                *ret_host = table[i].host ? argv[2] : NULL;
                return 0;
        }
        return log_error_errno(EINVAL, "Unknown command 'voters %s': use add HOST, remove HOST, resume or rollback.",
                               argv[1]);
}

int ctl_join_address(const char *arg, char **ret) {
        size_t n;

        assert(arg);
        assert(ret);

        n = strlen(arg);
        if (pes_address_is_valid(arg))
                *ret = strdup(arg);
        else if (n > 0 && (!strchr(arg, ':') || (arg[0] == '[' && arg[n - 1] == ']'))) {
                if (asprintf(ret, "%s:%u", arg, PES_DEFAULT_PEER_PORT) < 0)
                        return -ENOMEM;
                if (!pes_address_is_valid(*ret)) {
                        free(*ret);
                        *ret = NULL;
                        return -EINVAL;
                }
                return 0;
        } else
                return -EINVAL;
        return *ret ? 0 : -ENOMEM;
}

char *ctl_voter_change_progress(const char *voter_change) {
        _cleanup_free_ char *value = NULL, *escaped = NULL;
        char *text, *here;

        if (!voter_change || !voter_change[0])
                return NULL;
        value = strdup(voter_change);
        if (!value)
                return NULL;
        /* pesctl waits on the host that drives the change: that goes without saying. */
        here = strstr(value, PES_DRIVEN_HERE);
        if (here)
                memmove(here, here + strlen(PES_DRIVEN_HERE), strlen(here + strlen(PES_DRIVEN_HERE)) + 1);
        escaped = text_escape(value);
        if (!escaped || asprintf(&text, "Voter change: %s", escaped) < 0)
                return NULL;
        return text;
}

/* Prints each new state of the voter change, or each name let go, while pesctl waits (not with --json). */
typedef struct Progress {
        const CtlArgs *args;
        char *last;
} Progress;

static void on_voter_change(const char *voter_change, void *userdata) {
        Progress *p = userdata;
        _cleanup_free_ char *text = NULL;

        if (p->args->json != JSON_MODE_OFF)
                return;
        text = ctl_voter_change_progress(voter_change);
        if (!text || (p->last && strcmp(p->last, text) == 0))
                return;
        printf("%s\n", text);
        fflush(stdout);
        free(p->last);
        p->last = TAKE_PTR(text);
}

/* Prints each name this host let go while it leaves (not with --json). */
static void on_released(const char *name, void *userdata) {
        Progress *p = userdata;
        _cleanup_free_ char *escaped = NULL;

        if (p->args->json != JSON_MODE_OFF)
                return;
        escaped = text_escape(name);
        if (!escaped)
                return;
        printf("No longer holding %s.\n", escaped);
        fflush(stdout);
}

int verb_join(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(pes_manager_done) PesManager m = {};
        _cleanup_(json_decrefp) json_t *json = NULL;
        _cleanup_free_ char *action = NULL, *text = NULL;
        _cleanup_free_ char *address = NULL;
        const CtlArgs *args = userdata;
        uint16_t id;
        int r;

        assert(args);

        r = ctl_join_address(argv[1], &address);
        if (r == -EINVAL) {
                log_error("Invalid address '%s': give HOST[:PORT] of a member of the cluster (its Listen=).", argv[1]);
                return PESCTL_EXIT_USAGE;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to join: %m");
                return PESCTL_EXIT_FAILURE;
        }
        if (asprintf(&action, "join the cluster at %s", address) < 0) {
                log_error_errno(ENOMEM, "Failed to join: %m");
                return PESCTL_EXIT_FAILURE;
        }
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_join(bus, address, CTL_MEMBERSHIP_TIMEOUT_USEC, NULL, &id, &error);
        if (r < 0)
                return ctl_log_membership_error(&error, r, action, CTL_MEMBERSHIP_TIMEOUT_USEC);

        /* The cluster's name as this host now knows it; a pesd that cannot say is no failure. */
        sd_bus_error_free(&error);
        if (pes_get_manager(bus, &m, &error) < 0)
                log_debug("Failed to read the cluster's name: %s", error.message ?: "unknown error");

        if (args->json != JSON_MODE_OFF) {
                json = json_pack("{s:s, s:i}", "cluster", m.cluster_name ?: "", "id", (int) id);
                r = json ? 0 : -ENOMEM;
        } else if (m.cluster_name && m.cluster_name[0]) {
                _cleanup_free_ char *name = text_escape(m.cluster_name);

                r = name && asprintf(&text, "Joined cluster %s as host %u.\n", name, (unsigned) id) >= 0 ? 0 : -ENOMEM;
        } else
                r = asprintf(&text, "Joined the cluster at %s as host %u.\n", address, (unsigned) id) < 0 ? -ENOMEM : 0;
        if (r < 0) {
                log_error_errno(r, "Joined as host %u, but failed to say so: %m", (unsigned) id);
                return PESCTL_EXIT_FAILURE;
        }
        return ctl_show(args, text, json);
}

int verb_leave(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *action = NULL;
        const CtlArgs *args = userdata;
        const char *host = argc > 1 ? argv[1] : NULL;
        Progress progress = { .args = args };
        const PesWatch watch = { .released = on_released, .userdata = &progress };
        int r;

        assert(args);

        if (host && !pes_name_is_valid(host)) {
                log_error("Invalid host name '%s'.", host);
                return PESCTL_EXIT_USAGE;
        }
        if ((host ? asprintf(&action, "remove %s from the cluster", host)
                  : asprintf(&action, "leave the cluster")) < 0) {
                log_error_errno(ENOMEM, "Failed to leave: %m");
                return PESCTL_EXIT_FAILURE;
        }
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        /* Only this host's own names move when it leaves. */
        r = pes_leave(bus, host, CTL_MEMBERSHIP_TIMEOUT_USEC, host ? NULL : &watch, &error);
        if (r < 0)
                return ctl_log_membership_error(&error, r, action, CTL_MEMBERSHIP_TIMEOUT_USEC);

        if (args->json == JSON_MODE_OFF) {
                if (host)
                        printf("Removed %s from the cluster.\n", host);
                else
                        printf("This host left the cluster; 'pesctl join HOST:PORT' joins one again.\n");
        }
        return PESCTL_EXIT_SUCCESS;
}

/* "pesctl voters": the configuration and the voters, from this host's view. */
static int voters_list(const CtlArgs *args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(pes_manager_done) PesManager m = {};
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_(json_decrefp) json_t *json = NULL;
        _cleanup_free_ char *head = NULL, *table = NULL, *text = NULL;
        PesNode *nodes = NULL;
        size_t n = 0, rows;
        int r;

        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_get_manager(bus, &m, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "read the properties of pesd", NULL);
        if (!m.config_phase) {
                log_error("This pesd does not know voter changes (version %s).", m.version);
                return PESCTL_EXIT_FAILURE;
        }
        r = pes_list_nodes(bus, &nodes, &n, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "list nodes", NULL);
        r = ctl_voters_table(nodes, n, &t);
        pes_nodes_free(nodes, n);
        if (r < 0) {
                log_error_errno(r, "Failed to format the voters: %m");
                return PESCTL_EXIT_FAILURE;
        }

        if (args->json != JSON_MODE_OFF) {
                json = ctl_voters_to_json(&m, t);
                if (!json) {
                        log_error_errno(ENOMEM, "Failed to format the voters: %m");
                        return PESCTL_EXIT_FAILURE;
                }
                return ctl_show(args, NULL, json);
        }

        r = ctl_voters_head_format(&m, &head);
        if (r >= 0)
                r = table_format(t, args->legend, &table);
        rows = table_get_rows(t);
        if (r >= 0 && asprintf(&text, "%s\n%s%s%zu voter%s listed.\n", head, table, args->legend ? "\n" : "",
                               rows, rows == 1 ? "" : "s") < 0)
                r = -ENOMEM;
        if (r < 0) {
                log_error_errno(r, "Failed to format the voters: %m");
                return PESCTL_EXIT_FAILURE;
        }
        /* Without the legend, the table alone: one voter a line, for scripts. */
        return ctl_show(args, args->legend ? text : table, NULL);
}

int verb_voters(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(pes_manager_done) PesManager m = {};
        _cleanup_free_ char *action = NULL, *done = NULL;
        const CtlArgs *args = userdata;
        Progress progress = { .args = args };
        const PesWatch watch = {
                .voter_change = on_voter_change,
                .userdata = &progress,
                .return_once_started = args->no_block,
        };
        VotersCommand command;
        const char *host;
        int r;

        assert(args);

        if (ctl_voters_parse(argc, argv, &command, &host) < 0)
                return PESCTL_EXIT_USAGE;
        if (command == VOTERS_LIST)
                return voters_list(args);

        switch (command) {
        case VOTERS_ADD:
                r = asprintf(&action, "add %s as a voter", host);
                if (r >= 0)
                        r = asprintf(&done, "Added %s as a voter", host);
                break;
        case VOTERS_REMOVE:
                r = asprintf(&action, "remove %s as a voter", host);
                if (r >= 0)
                        r = asprintf(&done, "Removed %s as a voter", host);
                break;
        case VOTERS_RESUME:
                r = asprintf(&action, "resume the voter change");
                if (r >= 0)
                        r = asprintf(&done, "The voter change is complete");
                break;
        case VOTERS_ROLLBACK:
                r = asprintf(&action, "roll back the voter change");
                if (r >= 0)
                        r = asprintf(&done, "The voter change is rolled back");
                break;
        default:
                assert(false);
                return PESCTL_EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(ENOMEM, "Failed to change the voters: %m");
                return PESCTL_EXIT_FAILURE;
        }
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        switch (command) {
        case VOTERS_ADD:
                r = pes_add_voter(bus, host, CTL_MEMBERSHIP_TIMEOUT_USEC, &watch, &error);
                break;
        case VOTERS_REMOVE:
                r = pes_remove_voter(bus, host, CTL_MEMBERSHIP_TIMEOUT_USEC, &watch, &error);
                break;
        case VOTERS_RESUME:
                r = pes_resume_voter_change(bus, CTL_MEMBERSHIP_TIMEOUT_USEC, &watch, &error);
                break;
        default:
                r = pes_rollback_voter_change(bus, CTL_MEMBERSHIP_TIMEOUT_USEC, &watch, &error);
        }
        free(progress.last);
        if (r < 0)
                return ctl_log_membership_error(&error, r, action, CTL_MEMBERSHIP_TIMEOUT_USEC);
        if (r > 0) {
                /* --no-block: pesd drives it on; its end is logged there, and shown by pesctl voters. */
                if (args->json == JSON_MODE_OFF)
                        printf("The change goes on; 'pesctl voters' shows how far it got.\n");
                return PESCTL_EXIT_SUCCESS;
        }

        if (args->json != JSON_MODE_OFF)
                return PESCTL_EXIT_SUCCESS;
        /* The epoch it ended at, when pesd can say. */
        sd_bus_error_free(&error);
        if (pes_get_manager(bus, &m, &error) >= 0 && m.config_phase)
                printf("%s; configuration epoch %" PRIu64 ".\n", done, m.config_epoch);
        else
                printf("%s.\n", done);
        return PESCTL_EXIT_SUCCESS;
}
