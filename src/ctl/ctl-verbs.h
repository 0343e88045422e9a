/* SPDX-License-Identifier: MIT */
/* pesctl's verbs (status, list, lookup, nodes, acquire, release, keygen) over pesd's D-Bus API. */
#pragma once

#include <stdbool.h>

#include "ctl/output.h"

/* The options that reach the verbs, as parsed from the command line. */
typedef struct CtlArgs {
        JsonMode json;
        bool legend;
        bool pager;
        bool local;
} CtlArgs;

#define CTL_ARGS_DEFAULT ((CtlArgs) { .json = JSON_MODE_OFF, .legend = true, .pager = true })

/* The default path of "pesctl keygen". */
#define CTL_DEFAULT_KEY_PATH PES_SYSCONFDIR "/cluster.key"

/*
 * The verbs, for a Verb table: argv[0] is the verb, userdata a CtlArgs. Each
 * logs its own errors and returns an exit status (PESCTL_EXIT_*), never a
 * negative errno, so that dispatch_verb()'s -EINVAL means wrong usage only.
 */
int verb_status(int argc, char *argv[], void *userdata);
int verb_list(int argc, char *argv[], void *userdata);
int verb_lookup(int argc, char *argv[], void *userdata);
int verb_nodes(int argc, char *argv[], void *userdata);
int verb_acquire(int argc, char *argv[], void *userdata);
int verb_release(int argc, char *argv[], void *userdata);
int verb_keygen(int argc, char *argv[], void *userdata);
