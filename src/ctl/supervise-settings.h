/* SPDX-License-Identifier: MIT */
/* The options of "pesctl supervise UNIT" turned into the [Supervise] lines of a units.d file that pesd's Supervise takes. */
#pragma once

#include <stdbool.h>

#include "basic/macro.h"

/*
 * The options as given on the command line (pointers into argv; NULL when not
 * given). Lists use commas ("--hosts=h1,h2", "--prefer=h1:3,h2:1").
 */
typedef struct SuperviseOptions {
        const char *hosts;
        const char *prefer;
        const char *heartbeat;
        const char *stop_timeout;
        const char *failure_budget;
        const char *failure_window;
        const char *failure_backoff;
        const char *health_url;
        const char *health_interval;
        const char *health_timeout;
        const char *health_threshold;
        bool disable;
} SuperviseOptions;

/* True if any option of "supervise" was given (they mean nothing to other verbs). */
bool supervise_options_any(const SuperviseOptions *o);

/*
 * Builds the "Key=Value" strings of o in the units.d vocabulary, in the order of
 * the [Supervise] section: Hosts=h1 h2, Prefer=h1:3 h2:1, HeartbeatSec=,
 * StopSec=, FailureBudget=, FailureWindowSec=, FailureBackoffSec=, HealthURL=,
 * HealthIntervalSec=, HealthTimeoutSec=, HealthThreshold=. Values are checked for
 * their form only (a duration, a count, a host list, an http(s) URL) and passed
 * as given; pesd checks their ranges. Returns 0 and a NULL-terminated list (empty
 * when no option was given), -EINVAL with a message naming the option in
 * *ret_error, or -ENOMEM.
 */
int supervise_settings_build(const SuperviseOptions *o, char ***ret, char **ret_error);

/* Frees a NULL-terminated list of strings; returns NULL. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
