/* SPDX-License-Identifier: MIT */
/* pesctl's verbs (status, list, lookup, nodes, acquire, release, keygen) over pesd's D-Bus API. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "config.h"
#include "ctl/bus-util.h"
#include "ctl/ctl-acquire.h"
#include "ctl/ctl-format.h"
#include "ctl/ctl-verbs.h"
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

/* Shows a table as text (with a "N things listed." footer under a legend) or JSON. */
static int show_table(const CtlArgs *args, const Table *t, const char *what) {
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

                if (asprintf(&full, "%s\n%zu %s%s listed.\n", text, n, what, n == 1 ? "" : "s") < 0) {
                        log_error_errno(ENOMEM, "Failed to format the output: %m");
                        return PESCTL_EXIT_FAILURE;
                }
                return show(args, full, NULL);
        }
        return show(args, text, NULL);
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
        return show_table(args, t, "name");
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
        return show_table(args, t, "node");
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
