/* SPDX-License-Identifier: MIT */
/* pesctl's verbs (status, list, lookup, nodes, units, holds, supervise, unsupervise, move, acquire, release, keygen) over pesd's D-Bus API. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/time-util.h"
#include "ctl/output.h"
#include "ctl/supervise-settings.h"

/* The options that reach the verbs, as parsed from the command line. */
typedef struct CtlArgs {
        JsonMode json;
        bool legend;
        bool pager;
        bool local;
        bool no_block; /* voter changes: return once the change started */
        SuperviseOptions supervise;
} CtlArgs;

#define CTL_ARGS_DEFAULT ((CtlArgs) { .json = JSON_MODE_OFF, .legend = true, .pager = true })

/*
 * "pesctl holds" is the ExecCondition= of supervised units, where a hang, a
 * signal or exit status 255 would mark the unit failed: pesd gets CALL to answer,
 * and whatever happens pesctl exits with 1 by DEADLINE, so that it answers within
 * about a second.
 */
#define CTL_HOLDS_CALL_TIMEOUT_USEC (800 * USEC_PER_MSEC)
#define CTL_HOLDS_DEADLINE_USEC (950 * USEC_PER_MSEC)

/* Supervise is answered once systemd confirmed the unit (and disabled it if asked). */
#define CTL_SUPERVISE_TIMEOUT_USEC (90 * USEC_PER_SEC)

/*
 * Move is answered once the new owner runs the unit, or with MoveFailed when pesd
 * gives up after two leases, the stop budget and 5s. pesctl must never give up
 * first: with the largest settings pesd takes (HeartbeatSec=60s, so a 3min lease,
 * and StopSec=10min) that is 16min 5s.
 */
#define CTL_MOVE_TIMEOUT_USEC (20 * USEC_PER_MINUTE)

/* The most journal entries "pesctl status NAME" shows. */
#define CTL_HISTORY_MAX 10

/* Prints text, or json with --json, through the pager unless --no-pager. Returns
 * an exit status. */
int ctl_show(const CtlArgs *args, const char *text, const json_t *json);

/* The default path of "pesctl keygen". */
#define CTL_DEFAULT_KEY_PATH PES_SYSCONFDIR "/cluster.key"

/*
 * The verbs, for a Verb table: argv[0] is the verb, userdata a CtlArgs. Each
 * logs its own errors and returns an exit status (PESCTL_EXIT_*), never a
 * negative errno, so that dispatch_verb()'s -EINVAL means wrong usage only.
 */
int verb_status(int argc, char *argv[], void *userdata); /* with a NAME: that name's status */
int verb_list(int argc, char *argv[], void *userdata);
int verb_lookup(int argc, char *argv[], void *userdata);
int verb_nodes(int argc, char *argv[], void *userdata);
int verb_units(int argc, char *argv[], void *userdata);
int verb_supervise(int argc, char *argv[], void *userdata);
int verb_unsupervise(int argc, char *argv[], void *userdata);
int verb_move(int argc, char *argv[], void *userdata);

/*
 * "pesctl holds NAME": exits 0 if this host holds NAME, 1 if not and on every
 * error (wrong usage included). Arms the deadline first. Prints nothing when it
 * holds (but the JSON with --json), a one-line reason on stderr otherwise.
 */
int verb_holds(int argc, char *argv[], void *userdata);

/* Makes pesctl exit with 1 (after a line on stderr) once CTL_HOLDS_DEADLINE_USEC
 * passed, whatever it is doing then. Returns 0 or -errno. */
int ctl_holds_arm_deadline(void);

int verb_acquire(int argc, char *argv[], void *userdata);
int verb_release(int argc, char *argv[], void *userdata);
int verb_keygen(int argc, char *argv[], void *userdata);
