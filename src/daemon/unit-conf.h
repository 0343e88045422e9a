/* SPDX-License-Identifier: MIT */
/* Declarations of supervised units: /etc/pes/units.d/UNIT.conf, and the same format for units declared at run time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/time-util.h"
#include "core/msg.h"

#define UNIT_CONF_HOSTS_MAX 64

/* One eligible host and its weight in the rank (Prefer=). */
typedef struct UnitHost {
        char *name;
        uint32_t weight;
} UnitHost;

/*
 * [Supervise] of UNIT.conf. Every key is optional:
 *   Hosts=h1 h2 …             eligible hosts (default: every host of the cluster)
 *   Prefer=h1:3 h2:2 …        rank weights (default 1; 0 never chosen)
 *   HeartbeatSec=             H for this unit (default: the cluster's)
 *   StopSec=                  S, the unit's stop budget (default 500ms)
 *   FailureBudget=N           failures a host may have within FailureWindowSec (default 3)
 *   FailureWindowSec=         default 10min
 *   FailureBackoffSec=        how long a host over budget steps aside (default 5min)
 *   HealthURL=                http(s) URL probed while the unit runs here
 *   HealthIntervalSec=        default 5s
 *   HealthTimeoutSec=         default 2s
 *   HealthThreshold=N         consecutive probe failures that count as a unit failure (default 3)
 */
typedef struct UnitConf {
        char *unit;  /* "report.service" */
        char *path;  /* the file it came from, or NULL */
        UnitHost *hosts;
        size_t n_hosts;   /* 0: every host */
        UnitHost *prefer;
        size_t n_prefer;
        usec_t heartbeat; /* 0: the cluster's */
        usec_t stop;
        unsigned failure_budget;
        usec_t failure_window;
        usec_t failure_backoff;
        char *health_url;
        usec_t health_interval;
        usec_t health_timeout;
        unsigned health_threshold;
} UnitConf;

/* Whether s is a unit name pes can supervise: NAME.service, NAME.timer or NAME.socket. */
bool unit_name_supervisable(const char *s);

/* Fills *u with the defaults for unit. */
int unit_conf_init(UnitConf *u, const char *unit);
void unit_conf_done(UnitConf *u);

/*
 * Reads path into *u (initialised with unit_conf_init). Refusals are -EINVAL
 * with "path:line: reason" in *error.
 */
int unit_conf_parse_file(UnitConf *u, const char *path, char **error);

/*
 * Sets one key as a line of the file would ("HeartbeatSec", "2s"); used for
 * `pesctl supervise UNIT --heartbeat=2s`. -EINVAL with a reason in *error.
 */
int unit_conf_set(UnitConf *u, const char *key, const char *value, char **error);

/* Writes *u back in the file format (for units declared at run time). */
int unit_conf_write(const UnitConf *u, const char *path);

/*
 * Reads every DIR/UNIT.conf of dir (sorted) into a new array. A missing dir is
 * an empty list; the first bad file fails the whole load with its message.
 */
int unit_conf_load_dir(const char *dir, UnitConf **ret, size_t *ret_n, char **error);

/* Whether host may own the unit, and its weight (0 if not eligible). */
uint32_t unit_conf_weight(const UnitConf *u, const char *host);
