/* SPDX-License-Identifier: MIT */
/* pesctl's verbs (status, list, lookup, nodes, units, holds, supervise, unsupervise, move, acquire, release, keygen) over pesd's D-Bus API. */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "config.h"
#include "ctl/bus-util.h"
#include "ctl/ctl-acquire.h"
#include "ctl/ctl-format.h"
#include "ctl/ctl-verbs.h"
#include "ctl/journal-history.h"
#include "ctl/pager.h"
#include "ctl/pes-api.h"
#include "net/auth.h"

/* Refuses a name pesd could never hold, before bothering pesd with it. */
static bool check_name(const char *name) {
        if (pes_name_is_valid(name))
                return true;
        log_error("Invalid name '%s': a name is 1-%u bytes of printable ASCII without spaces or '/'.",
                  name, PES_NAME_MAX);
        return false;
}

/* Prints text, or json when --json was given, through the pager if there is one. */
static int show(const CtlArgs *args, const char *text, const json_t *json) {
        Pager pager = PAGER_NULL;
        int r;

        if (args->pager) {
                r = pager_open(&pager);
                if (r < 0) {
                        log_error_errno(r, "Failed to start the pager: %m");
                        return PESCTL_EXIT_FAILURE;
                }
        }

        if (args->json != JSON_MODE_OFF)
                r = json_print(stdout, json, args->json);
        else
                r = fputs(text, stdout) < 0 ? -EIO : 0;
        if (r >= 0 && fflush(stdout) != 0)
                r = -EIO;
        pager_close(&pager);

        if (r < 0) {
                log_error_errno(r, "Failed to write the output: %m");
                return PESCTL_EXIT_FAILURE;
        }
        return PESCTL_EXIT_SUCCESS;
}

int ctl_show(const CtlArgs *args, const char *text, const json_t *json) {
        assert(args);
        assert(args->json == JSON_MODE_OFF ? !!text : !!json);

        return show(args, text, json);
}

/* Shows a table as text (with a "N things listed." footer under a legend, and notes
 * between the two) or JSON. */
static int show_table(const CtlArgs *args, const Table *t, const char *what, const char *notes) {
        _cleanup_(json_decrefp) json_t *json = NULL;
        _cleanup_free_ char *text = NULL, *full = NULL;
        int r;

        if (args->json != JSON_MODE_OFF) {
                json = table_to_json(t);
                if (!json) {
                        log_error_errno(ENOMEM, "Failed to format the output: %m");
                        return PESCTL_EXIT_FAILURE;
                }
                return show(args, NULL, json);
        }

        r = table_format(t, args->legend, &text);
        if (r < 0) {
                log_error_errno(r, "Failed to format the output: %m");
                return PESCTL_EXIT_FAILURE;
        }
        if (args->legend) {
                size_t n = table_get_rows(t);

                if (asprintf(&full, "%s%s%s\n%zu %s%s listed.\n", text, notes && notes[0] ? "\n" : "",
                             notes ?: "", n, what, n == 1 ? "" : "s") < 0) {
                        log_error_errno(ENOMEM, "Failed to format the output: %m");
                        return PESCTL_EXIT_FAILURE;
                }
                return show(args, full, NULL);
        }
        return show(args, text, NULL);
}

/* Finds name in the units of ListUnits. */
static const PesUnit *find_unit(const PesUnit *units, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(units[i].unit, name) == 0)
                        return &units[i];
        return NULL;
}

/* "pesctl status NAME": the owner (a majority read unless --local), this host's
 * side of the unit, and its recent history from the journal. */
static int name_status(const CtlArgs *args, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(pes_name_done) PesName owner = {};
        _cleanup_(json_decrefp) json_t *json = NULL;
        _cleanup_free_ char *text = NULL;
        HistoryEntry *history = NULL;
        PesUnit *units = NULL;
        size_t n_units = 0, n_history = 0;
        CtlNameStatus s = { .name = name };
        bool unknown = false;
        int r, status;

        if (!check_name(name))
                return PESCTL_EXIT_USAGE;
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_lookup(bus, name, args->local ? PES_LOOKUP_LOCAL : 0, &owner, &error);
        if (r >= 0)
                s.owner = &owner;
        else if (sd_bus_error_has_name(&error, PES_ERROR_NO_SUCH_NAME)) {
                /* A unit supervised here that was never held is known to no voter yet. */
                s.owner_error = "no voter knows it";
                unknown = true;
        } else if (sd_bus_error_has_name(&error, PES_ERROR_NO_QUORUM))
                s.owner_error = "no majority of the voters answered; --local shows this host's view";
        else
                return ctl_log_bus_error(&error, r, "look up", name);
        sd_bus_error_free(&error);

        r = pes_list_units(bus, &units, &n_units, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "list units", NULL);
        s.unit = find_unit(units, n_units, name);
        if (unknown && !s.unit) {
                pes_units_free(units, n_units);
                log_error("No such name: %s", name);
                return PESCTL_EXIT_NO_SUCH_NAME;
        }

        /* History is a courtesy: a journal this user may not read shows none. */
        r = history_read(name, CTL_HISTORY_MAX, &history, &n_history);
        if (r < 0) {
                log_debug_errno(r, "Failed to read the journal: %m");
                n_history = 0;
        }
        s.history = history;
        s.n_history = n_history;

        if (args->json != JSON_MODE_OFF) {
                json = ctl_name_status_to_json(&s);
                r = json ? 0 : -ENOMEM;
        } else
                r = ctl_name_status_format(&s, &text);
        if (r < 0) {
                log_error_errno(r, "Failed to format the status of %s: %m", name);
                status = PESCTL_EXIT_FAILURE;
        } else
                status = show(args, text, json);

        history_free(history, n_history);
        pes_units_free(units, n_units);
        return status;
}

int verb_status(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(pes_manager_done) PesManager m = {};
        _cleanup_(json_decrefp) json_t *json = NULL;
        _cleanup_free_ char *text = NULL;
        const CtlArgs *args = userdata;
        PesName *names = NULL;
        PesNode *nodes = NULL;
        size_t n_names = 0, n_nodes = 0;
        CtlStatus s;
        int r, status;

        assert(args);

        if (argc > 1)
                return name_status(args, argv[1]);

        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_get_manager(bus, &m, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "read the properties of pesd", NULL);
        r = pes_list_names(bus, &names, &n_names, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "list names", NULL);
        r = pes_list_nodes(bus, &nodes, &n_nodes, &error);
        if (r < 0) {
                pes_names_free(names, n_names);
                return ctl_log_bus_error(&error, r, "list nodes", NULL);
        }

        ctl_status_summarize(&m, names, n_names, nodes, n_nodes, &s);
        if (args->json != JSON_MODE_OFF) {
                json = ctl_status_to_json(&s);
                r = json ? 0 : -ENOMEM;
        } else
                r = ctl_status_format(&s, &text);
        if (r < 0) {
                log_error_errno(r, "Failed to format the status: %m");
                status = PESCTL_EXIT_FAILURE;
        } else
                status = show(args, text, json);

        pes_names_free(names, n_names);
        pes_nodes_free(nodes, n_nodes);
        return status;
}

int verb_list(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        const CtlArgs *args = userdata;
        PesName *names = NULL;
        size_t n = 0;
        int r;

        assert(args);

        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_list_names(bus, &names, &n, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "list names", NULL);
        r = ctl_names_table(names, n, &t);
        pes_names_free(names, n);
        if (r < 0) {
                log_error_errno(r, "Failed to format the names: %m");
                return PESCTL_EXIT_FAILURE;
        }
        return show_table(args, t, "name", NULL);
}

int verb_nodes(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        const CtlArgs *args = userdata;
        PesNode *nodes = NULL;
        size_t n = 0;
        int r;

        assert(args);

        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_list_nodes(bus, &nodes, &n, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "list nodes", NULL);
        r = ctl_nodes_table(nodes, n, &t);
        pes_nodes_free(nodes, n);
        if (r < 0) {
                log_error_errno(r, "Failed to format the nodes: %m");
                return PESCTL_EXIT_FAILURE;
        }
        return show_table(args, t, "node", NULL);
}

int verb_lookup(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_decrefp) json_t *json = NULL;
        _cleanup_(pes_name_done) PesName n = {};
        _cleanup_free_ char *text = NULL;
        const CtlArgs *args = userdata;
        const char *name = argv[1];
        int r;

        assert(args);

        if (!check_name(name))
                return PESCTL_EXIT_USAGE;
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_lookup(bus, name, args->local ? PES_LOOKUP_LOCAL : 0, &n, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "look up", name);

        if (args->json != JSON_MODE_OFF) {
                json = ctl_lookup_to_json(&n);
                r = json ? 0 : -ENOMEM;
        } else
                r = ctl_lookup_format(&n, &text);
        if (r < 0) {
                log_error_errno(r, "Failed to format the answer for %s: %m", name);
                return PESCTL_EXIT_FAILURE;
        }
        return show(args, text, json);
}

int verb_acquire(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const CtlArgs *args = userdata;
        const char *name = argv[1];

        assert(args);

        if (!check_name(name))
                return PESCTL_EXIT_USAGE;
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        /* Everything after the name is the command (the "--" before it, if any, has
         * been taken out by the option parser). */
        return ctl_acquire(bus, name, argc > 2 ? argv + 2 : NULL, args->json);
}

int verb_release(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *name = argv[1];
        int r;

        if (!check_name(name))
                return PESCTL_EXIT_USAGE;
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_release(bus, name, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "release", name);
        return PESCTL_EXIT_SUCCESS;
}

int verb_keygen(int argc, char *argv[], void *userdata) {
        const char *path = argc > 1 ? argv[1] : CTL_DEFAULT_KEY_PATH;
        NetError err = {};
        int r;

        r = auth_key_generate(path, &err);
        if (r == -EEXIST) {
                log_error("%s already exists; refusing to overwrite a cluster key.", path);
                return PESCTL_EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to write a cluster key: %s", err.text[0] ? err.text : path);
                return PESCTL_EXIT_FAILURE;
        }

        printf("Wrote a new cluster key to %s; copy it to every host (mode 0600) and point KeyFile= at it.\n",
               path);
        return PESCTL_EXIT_SUCCESS;
}

int verb_units(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *notes = NULL;
        const CtlArgs *args = userdata;
        PesUnit *units = NULL;
        size_t n = 0;
        int r;

        assert(args);

        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_list_units(bus, &units, &n, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "list units", NULL);
        r = ctl_units_table(units, n, &t);
        if (r >= 0)
                r = ctl_units_refusals_format(units, n, &notes);
        pes_units_free(units, n);
        if (r < 0) {
                log_error_errno(r, "Failed to format the units: %m");
                return PESCTL_EXIT_FAILURE;
        }
        return show_table(args, t, "unit", notes);
}

static void holds_deadline_passed(int sig) {
        static const char msg[] = "pesctl: pesd did not answer within 1s; not holding.\n";

        /* Only async-signal-safe calls here: the main line may be anywhere. */
        (void) !write(STDERR_FILENO, msg, sizeof(msg) - 1);
        _exit(PESCTL_EXIT_FAILURE);
}

int ctl_holds_arm_deadline(void) {
        struct sigaction sa = { .sa_handler = holds_deadline_passed };
        struct itimerval it = {
                .it_value = {
                        .tv_sec = CTL_HOLDS_DEADLINE_USEC / USEC_PER_SEC,
                        .tv_usec = CTL_HOLDS_DEADLINE_USEC % USEC_PER_SEC,
                },
        };
        sigset_t alarm;

        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGALRM, &sa, NULL) < 0)
                return -errno;
        /* A blocked SIGALRM (inherited from the caller) would never arrive. */
        sigemptyset(&alarm);
        sigaddset(&alarm, SIGALRM);
        if (sigprocmask(SIG_UNBLOCK, &alarm, NULL) < 0)
                return -errno;
        if (setitimer(ITIMER_REAL, &it, NULL) < 0)
                return -errno;
        return 0;
}

int verb_holds(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_decrefp) json_t *json = NULL;
        const CtlArgs *args = userdata;
        const char *name;
        bool holds;
        int r;

        assert(args);

        r = ctl_holds_arm_deadline();
        if (r < 0) {
                log_error_errno(r, "Failed to arm the deadline of holds: %m");
                return PESCTL_EXIT_FAILURE;
        }

        /* Every error is "does not hold" here, wrong usage too: systemd reads any
         * other status of an ExecCondition= as a failure of the unit. */
        if (argc != 2) {
                log_error("holds takes exactly one NAME; see --help.");
                return PESCTL_EXIT_FAILURE;
        }
        name = argv[1];
        if (!check_name(name))
                return PESCTL_EXIT_FAILURE;
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_holds(bus, name, CTL_HOLDS_CALL_TIMEOUT_USEC, &holds, &error);
        if (r == -ETIMEDOUT) {
                char buf[FORMAT_TIMESPAN_MAX];

                log_error("pesd did not answer within %s; not holding %s.",
                          format_timespan(buf, sizeof(buf), CTL_HOLDS_CALL_TIMEOUT_USEC), name);
                return PESCTL_EXIT_FAILURE;
        }
        if (r < 0) {
                (void) ctl_log_bus_error(&error, r, "ask pesd whether this host holds", name);
                return PESCTL_EXIT_FAILURE;
        }

        if (args->json != JSON_MODE_OFF) {
                json = ctl_holds_to_json(name, holds);
                if (!json || json_print(stdout, json, args->json) < 0 || fflush(stdout) != 0) {
                        log_error("Failed to write the answer for %s.", name);
                        return PESCTL_EXIT_FAILURE;
                }
        }
        if (!holds) {
                log_error("This host does not hold %s.", name);
                return PESCTL_EXIT_FAILURE;
        }
        return PESCTL_EXIT_SUCCESS;
}

int verb_supervise(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(strv_freep) char **settings = NULL;
        _cleanup_free_ char *why = NULL, *action = NULL;
        const CtlArgs *args = userdata;
        const char *unit = argv[1];
        int r;

        assert(args);

        if (!check_name(unit))
                return PESCTL_EXIT_USAGE;
        r = supervise_settings_build(&args->supervise, &settings, &why);
        if (r == -EINVAL) {
                log_error("%s", why);
                return PESCTL_EXIT_USAGE;
        }
        if (r < 0 || asprintf(&action, "supervise %s", unit) < 0) {
                log_error_errno(ENOMEM, "Failed to supervise %s: %m", unit);
                return PESCTL_EXIT_FAILURE;
        }
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_supervise(bus, unit, settings, args->supervise.disable, CTL_SUPERVISE_TIMEOUT_USEC, &error);
        if (r < 0)
                return ctl_log_unit_error(&error, r, action, unit);

        if (args->json == JSON_MODE_OFF)
                printf("Supervising %s on this host%s.\n", unit,
                       args->supervise.disable ? " (its start at boot is disabled)" : "");
        return PESCTL_EXIT_SUCCESS;
}

int verb_unsupervise(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *action = NULL;
        const char *unit = argv[1];
        int r;

        if (!check_name(unit))
                return PESCTL_EXIT_USAGE;
        if (asprintf(&action, "unsupervise %s", unit) < 0) {
                log_error_errno(ENOMEM, "Failed to unsupervise %s: %m", unit);
                return PESCTL_EXIT_FAILURE;
        }
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_unsupervise(bus, unit, &error);
        if (r < 0)
                return ctl_log_unit_error(&error, r, action, unit);
        return PESCTL_EXIT_SUCCESS;
}

int verb_move(int argc, char *argv[], void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *action = NULL;
        const CtlArgs *args = userdata;
        const char *unit = argv[1], *host = argv[2];
        int r;

        assert(args);

        if (!check_name(unit))
                return PESCTL_EXIT_USAGE;
        if (!pes_name_is_valid(host)) {
                log_error("Invalid host name '%s'.", host);
                return PESCTL_EXIT_USAGE;
        }
        if (asprintf(&action, "move %s to %s", unit, host) < 0) {
                log_error_errno(ENOMEM, "Failed to move %s: %m", unit);
                return PESCTL_EXIT_FAILURE;
        }
        if (ctl_bus_open(&bus) < 0)
                return PESCTL_EXIT_FAILURE;

        r = pes_move(bus, unit, host, CTL_MOVE_TIMEOUT_USEC, &error);
        if (r == -ETIMEDOUT) {
                char buf[FORMAT_TIMESPAN_MAX];

                log_error("pesd did not answer the move of %s to %s within %s; 'pesctl status %s' shows where it runs.",
                          unit, host, format_timespan(buf, sizeof(buf), CTL_MOVE_TIMEOUT_USEC), unit);
                return PESCTL_EXIT_FAILURE;
        }
        if (r < 0)
                return ctl_log_unit_error(&error, r, action, unit);

        if (args->json == JSON_MODE_OFF)
                printf("Moved %s to %s.\n", unit, host);
        return PESCTL_EXIT_SUCCESS;
}
