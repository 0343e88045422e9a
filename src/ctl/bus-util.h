/* SPDX-License-Identifier: MIT */
/* pesctl's bus connection, its exit statuses, and D-Bus errors turned into messages a person can act on. */
#pragma once

#include <systemd/sd-bus.h>

#include "basic/time-util.h"

/* Exit statuses of pesctl, as documented in its --help. */
enum {
        PESCTL_EXIT_SUCCESS = 0,
        PESCTL_EXIT_FAILURE = 1,
        PESCTL_EXIT_USAGE = 2,
        PESCTL_EXIT_NAME_LOST = 3,
        PESCTL_EXIT_NO_SUCH_NAME = 4,
};

/*
 * Connects to the system bus, or to $DBUS_SYSTEM_BUS_ADDRESS when it is set (as
 * sd_bus_open_system() does). Logs a failure and returns -errno.
 */
int ctl_bus_open(sd_bus **ret);

/*
 * Logs a failed call of pesd and returns the exit status for it. action says
 * what failed, as a verb phrase ("acquire", "look up"), name the name it was
 * about or NULL. error is what the call returned (may be unset), r its -errno.
 *   org.pes1.Error.NoSuchName             → "No such name: NAME", PESCTL_EXIT_NO_SUCH_NAME
 *   org.freedesktop.DBus.Error.AccessDenied → "Permission denied: cannot ACTION NAME (run as root).", 1
 *   ServiceUnknown, NameHasNoOwner, NoReply → "pesd is not running (org.pes1 not on the bus).", 1
 *   anything else                         → "Failed to ACTION NAME: MESSAGE", 1
 */
int ctl_log_bus_error(const sd_bus_error *error, int r, const char *action, const char *name);

/*
 * Like ctl_log_bus_error(), for the calls about supervised units (Supervise,
 * Unsupervise, Move). action is what failed with its arguments ("supervise
 * report.service", "move report.service to beta"), unit the unit. pesd's errors
 * become "Cannot ACTION: REASON" with pesd's reason (or a description of the
 * error when pesd gave none), exit status 1; InvalidName and InvalidArgs (a
 * unit or setting pesd refuses) exit with PESCTL_EXIT_USAGE, NoSuchName ("UNIT
 * is not supervised on this host.") with PESCTL_EXIT_NO_SUCH_NAME. Errors of the
 * bus itself go to ctl_log_bus_error().
 */
int ctl_log_unit_error(const sd_bus_error *error, int r, const char *action, const char *unit);

/*
 * Like ctl_log_unit_error(), for the membership calls (Join, Leave, AddVoter,
 * RemoveVoter, ResumeVoterChange, RollbackVoterChange). action is what failed
 * ("add h4 as a voter", "join the cluster at 10.0.0.1:7480"). pesd's errors,
 * whatever their name, become "Cannot ACTION: REASON" with pesd's reason (said
 * once if it repeats the action), exit status 1; InvalidArgs exits with
 * PESCTL_EXIT_USAGE; -ETIMEDOUT (pesctl gave up waiting) and -ECONNRESET (pesd
 * left the bus before answering) say that the change may go on or stand half
 * done, and how to see it. Errors of the bus itself go to ctl_log_bus_error().
 */
int ctl_log_membership_error(const sd_bus_error *error, int r, const char *action, usec_t timeout);
