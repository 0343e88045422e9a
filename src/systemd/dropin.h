/* SPDX-License-Identifier: MIT */
/* The runtime drop-in that binds a supervised unit to pesd, and the environment file pesd writes for it. */
#pragma once

#include <stdint.h>

/*
 * The drop-in carries what DESIGN.md's "Fencing is only as good as its margins"
 * lists. For a service held under its own name:
 *
 *     # Written by pesd while report.service is supervised; do not edit.
 *     [Unit]
 *     BindsTo=pesd.service
 *     After=pesd.service
 *
 *     [Service]
 *     EnvironmentFile=-/run/pes/%n.env
 *     KillMode=control-group
 *     SendSIGKILL=yes
 *     TimeoutStopSec=500ms
 *     ExecCondition=+/usr/local/bin/pesctl holds %n
 *
 * BindsTo= stops the unit when pesd stops or dies, so a crashed pesd cannot leave
 * a unit running whose lease passes elsewhere. ExecCondition= makes systemd ask
 * pesd before every start, so an enabled unit, a Wants= or a hand-typed
 * "systemctl start" cannot start a second copy; the "+" runs it outside the
 * unit's sandbox. A .timer or a .socket gets only the [Unit] part (ExecCondition=
 * exists only for services); the service a supervised NAME.timer triggers gets
 * the service part with "holds NAME.timer" and the timer's environment file,
 * because the name held in pes is the timer's.
 */
typedef struct DropinParams {
        /* The unit that supervised units are bound to; NULL means "pesd.service". */
        const char *pesd_unit;
        /* The absolute path of pesctl, run by ExecCondition=. */
        const char *pesctl_path;
        /* The directory of the environment files; NULL means "/run/pes". */
        const char *env_dir;
        /* The stop budget S: TimeoutStopSec= is S in whole milliseconds, rounded down. */
        uint64_t timeout_stop_usec;
} DropinParams;

/* The file name of the drop-in inside UNIT.d/. */
#define DROPIN_FILE_NAME "50-pes.conf"

/*
 * Renders the drop-in for unit into *ret (a string to free). held is the name
 * held in pes that the unit's start depends on: NULL (or unit itself) for a
 * unit supervised under its own name, or "NAME.timer" for the service that
 * timer triggers. Returns 0, -EINVAL for an invalid unit or held name, a
 * pesctl_path that is not absolute, a timeout below 1 ms (TimeoutStopSec=0
 * would mean no timeout at all), or a held name given for a non-service,
 * -EOPNOTSUPP for a unit type other than service, timer and socket, or
 * -ENOMEM.
 */
int dropin_render(const char *unit, const char *held, const DropinParams *p, char **ret);

/*
 * Writes content as <dir>/<unit>.d/50-pes.conf, creating <unit>.d if needed
 * (mode 0755). The file (mode 0644) is replaced atomically: content goes to a
 * temporary file in the same directory, which is renamed over the old one, so
 * systemd never reads half a drop-in. Returns 1 if the file changed, 0 if it
 * already had exactly this content (then nothing is written, and the caller
 * need not reload systemd), or a negative errno (-EINVAL for a bad unit name or
 * a relative dir).
 */
int dropin_write(const char *dir, const char *unit, const char *content);

/*
 * Removes <dir>/<unit>.d/50-pes.conf and then <unit>.d if that is left empty.
 * Returns 1 if the drop-in was removed, 0 if there was none, or a negative
 * errno.
 */
int dropin_remove(const char *dir, const char *unit);

/*
 * Renders the environment file of a held name:
 *
 *     PES_NAME=report.service
 *     PES_OWNER=node-a
 *     PES_FENCING_TOKEN=131073
 *
 * A backslash in a value is written as "\\" (systemd's EnvironmentFile= parser
 * and a shell both read that back as one backslash). Returns 0, -EINVAL for an
 * invalid unit name or an owner that is empty or holds whitespace, control
 * characters, quotes or "$", or -ENOMEM.
 */
int env_file_render(const char *unit, const char *owner, uint64_t token, char **ret);

/*
 * Writes the environment file of unit as <dir>/<unit>.env, mode 0644,
 * atomically (temporary file in dir, then rename), creating dir (mode 0755) if
 * needed. Returns 1 if the file changed, 0 if it already had this content, or
 * a negative errno.
 */
int env_file_write(const char *dir, const char *unit, const char *owner, uint64_t token);

/* Removes <dir>/<unit>.env. Returns 1 if it was removed, 0 if there was none, or a negative errno. */
int env_file_remove(const char *dir, const char *unit);
