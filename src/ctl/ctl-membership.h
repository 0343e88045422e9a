/* SPDX-License-Identifier: MIT */
/* pesctl's membership verbs (join, leave, voters) over pesd's D-Bus API. */
#pragma once

#include "basic/time-util.h"

/*
 * A membership call is answered once the change is complete: a voter change is
 * two steps of at least T_max·(1+ρ) each (a minute each with the largest T_max),
 * plus a rescan of every name; leave hands off every unit first. pesd reports a
 * change that stops making progress by itself, so pesctl only gives up after a
 * time no sane change needs.
 */
#define CTL_MEMBERSHIP_TIMEOUT_USEC (30 * USEC_PER_MINUTE)

typedef enum VotersCommand {
        VOTERS_LIST,
        VOTERS_ADD,
        VOTERS_REMOVE,
        VOTERS_RESUME,
        VOTERS_ROLLBACK,
        _VOTERS_COMMAND_MAX,
} VotersCommand;

/*
 * Parses "voters [add HOST | remove HOST | resume | rollback]" (argv[0] is
 * "voters"). Returns 0 with the command and its host (NULL if none), or -EINVAL
 * after logging what is wrong.
 */
int ctl_voters_parse(int argc, char *argv[], VotersCommand *ret_command, const char **ret_host);

/*
 * The HOST:PORT that "pesctl join ARG" asks pesd to join: ARG itself, or with
 * the default peer port when it names a host only ("h1", "10.0.0.1",
 * "[fd00::1]"). -EINVAL if it is neither, -ENOMEM.
 */
int ctl_join_address(const char *arg, char **ret);

/*
 * The text shown while a voter change goes on, for one value of the VoterChange
 * property: "Voter change: VALUE" without the "; driven by this host" that is
 * implied here, or NULL for "" (nothing in flight) or on allocation failure.
 */
char *ctl_voter_change_progress(const char *voter_change);

/* The verbs, for a Verb table (see ctl-verbs.h). */
int verb_join(int argc, char *argv[], void *userdata);
int verb_leave(int argc, char *argv[], void *userdata);
int verb_voters(int argc, char *argv[], void *userdata);
