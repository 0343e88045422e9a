/* SPDX-License-Identifier: MIT */
/* An asynchronous sd-bus client of org.freedesktop.systemd1: start, stop and kill units, follow their jobs, watch their state. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/*
 * Every call below is asynchronous: it sends its requests on the caller's bus
 * (which must already be attached to the caller's sd-event loop with
 * sd_bus_attach_event()) and returns at once; the outcome arrives later through
 * the callback, from that loop. Nothing in this module blocks on the bus.
 *
 * A callback is called exactly once for every call that returned 0, unless the
 * client is freed or systemd_client_forget_unit() is called for that unit first;
 * then it is never called. A call that returns a negative errno never calls its
 * callback. Callbacks may call anything in this module, including
 * systemd_client_free() on the client that called them.
 *
 * Strings and structures passed to a callback belong to the client and are valid
 * only during the callback; copy what must outlive it.
 *
 * Unit names are checked at every entry point: a name must have a known unit
 * suffix (".service", ".timer", ".socket", …), may contain only the characters
 * systemd allows ("A-Za-z0-9:-_.\\" and one "@"), no "/", and must not be a
 * template without an instance ("foo@.service"); other names are refused with
 * -EINVAL before anything is sent.
 *
 * Errors from systemd are reported as negative errno values through
 * sd_bus_error_get_errno(), with systemd's own error names mapped as systemd
 * maps them: org.freedesktop.systemd1.NoSuchUnit is -ENOENT,
 * org.freedesktop.systemd1.UnitMasked is -ERFKILL, JobTypeNotApplicable is
 * -EBADR, TransactionIsDestructive is -EDEADLK, and so on; access denied is
 * -EACCES. Unknown errors are -EIO.
 */

typedef struct SystemdClient SystemdClient;

/* The ActiveState= of a unit, in systemd's order and spelling. */
typedef enum UnitActiveState {
        UNIT_ACTIVE,
        UNIT_RELOADING,
        UNIT_INACTIVE,
        UNIT_FAILED,
        UNIT_ACTIVATING,
        UNIT_DEACTIVATING,
        UNIT_MAINTENANCE,
        UNIT_REFRESHING,
        _UNIT_ACTIVE_STATE_MAX,
        _UNIT_ACTIVE_STATE_INVALID = -EINVAL,
} UnitActiveState;

/*
 * What is known of a unit's state. sub_state is SubState= ("running", "dead",
 * "waiting" for a timer, "listening" for a socket, …). result is the Result=
 * of the unit's type ("success", "exit-code", "signal", "timeout", …; services,
 * sockets, timers, mounts and paths have one, other types leave it ""), read
 * from the type's own interface (org.freedesktop.systemd1.Service, …).
 * main_pid is MainPID= of a service, 0 for other types. Strings longer than the
 * buffers are cut (systemd's are all short words).
 */
typedef struct UnitStatus {
        UnitActiveState active;
        char sub_state[32];
        char result[32];
        uint32_t main_pid;
} UnitStatus;

/*
 * What systemd_client_unit_info() reports. load_state is LoadState= ("loaded",
 * "not-found", "masked", "error", "bad-setting", …); unit_file_state is
 * UnitFileState= ("enabled", "disabled", "static", "generated", "" when systemd
 * has none, …). triggers is Triggers= (for a .timer the service it starts, for
 * a .socket its service), a NULL-terminated array, never NULL itself.
 */
typedef struct UnitInfo {
        char load_state[32];
        char unit_file_state[32];
        UnitStatus status;
        char **triggers;
} UnitInfo;

/*
 * Called by a watch with the unit's state: once with the initial state, then
 * on every change of ActiveState=, SubState=, Result= or MainPID=. A change
 * is delivered once systemd's PropertiesChanged for the Unit interface
 * arrives; systemd sends it right after the one for the type's interface,
 * so the status delivered is one consistent state. If the
 * initial state cannot be read (the unit cannot be loaded, the bus failed),
 * the watch reports nothing and stays in place: later changes are still
 * delivered.
 */
typedef void (*UnitChangedFunc)(SystemdClient *c, const char *unit, const UnitStatus *st, void *userdata);

/*
 * Called once a start, stop, kill, disable or reload is over. error is 0 when
 * the call reached systemd and was accepted; then job_result is the result of
 * the job as JobRemoved reports it ("done", "failed", "canceled", "timeout",
 * "dependency", "skipped", "invalid", …) for a start or stop, and "done" for
 * the others. error is a negative errno when a call failed (the unit does not
 * exist, the connection broke, access was denied); then job_result is NULL.
 * Note that systemd reports a start whose ExecCondition= failed as "done" with
 * the unit left inactive: judge a start by the unit's ActiveState=, never by
 * the job result alone. unit is NULL for systemd_client_reload().
 */
typedef void (*JobDoneFunc)(SystemdClient *c, const char *unit, int error, const char *job_result, void *userdata);

/* Called with the unit's properties, or with a negative errno and info NULL. */
typedef void (*UnitInfoFunc)(SystemdClient *c, const char *unit, int error, const UnitInfo *info, void *userdata);

/*
 * Called with the number of processes in the unit's control group, or with a
 * negative errno (then n_processes is 0). A unit that systemd has not loaded
 * or that has no control group counts as empty: n_processes is 0, error 0.
 */
typedef void (*UnitProcessesFunc)(SystemdClient *c, const char *unit, int error, size_t n_processes, void *userdata);

/*
 * Creates a client on bus, which must be connected to the bus systemd is on
 * and attached to an event loop; the client takes a reference on it. Installs
 * the match for the manager's JobRemoved signal and then calls Subscribe()
 * without waiting for its reply (systemd sends JobRemoved and PropertiesChanged
 * only to subscribed clients; an "already subscribed" answer is fine, and the
 * subscription ends when the connection closes, so the client never calls
 * Unsubscribe()). Returns 0 and the client in *ret, or a negative errno.
 */
/*
 * Called for a start or stop once systemd has accepted the job (the reply to
 * StartUnit()/StopUnit() arrived), before the job ends and its JobDoneFunc runs,
 * with the userdata of that call. Not called when the call fails or the job was
 * already over by then. The dbus-daemon limits pending calls per connection,
 * not jobs: a caller bounding its calls in flight can count the call as over here.
 */
typedef void (*JobAcceptedFunc)(SystemdClient *c, const char *unit, void *userdata);
void systemd_client_set_job_accepted(SystemdClient *c, JobAcceptedFunc f);

int systemd_client_new(sd_bus *bus, SystemdClient **ret);

/*
 * Frees the client: cancels every pending call and watch (no callback is
 * called afterwards; jobs already queued in systemd keep running) and drops the
 * bus reference. Accepts NULL. Returns NULL.
 */
SystemdClient *systemd_client_free(SystemdClient *c);

/*
 * Reads a unit's properties: LoadUnit() for its object path, then GetAll() of
 * org.freedesktop.systemd1.Unit and of the interface of the unit's type
 * (org.freedesktop.systemd1.Service for a .service, …). A unit without a unit file is reported with
 * load_state "not-found" and error 0 (LoadUnit() succeeds for any valid name).
 * Returns 0 once the request is sent, or a negative errno.
 */
int systemd_client_unit_info(SystemdClient *c, const char *unit, UnitInfoFunc cb, void *userdata);

/*
 * Watches a unit: LoadUnit() for its object path, a match for
 * PropertiesChanged on that path, then GetAll() for the initial state, which
 * is delivered once; after it, cb is called on every change of the tracked
 * properties (see UnitChangedFunc). One watch per unit: returns -EEXIST if the
 * unit is watched already. Returns 0 once the requests are sent, or a negative
 * errno.
 */
int systemd_client_watch(SystemdClient *c, const char *unit, UnitChangedFunc cb, void *userdata);

/*
 * Ends the watch of a unit: its callback is never called again. Returns 0, or
 * -ENOENT if the unit was not watched.
 */
int systemd_client_unwatch(SystemdClient *c, const char *unit);

/*
 * Starts a unit: ResetFailedUnit() first (so that a unit that failed before,
 * or hit its start rate limit, may start again; an error from it, such as
 * NoSuchUnit for a unit not loaded yet, is ignored, since StartUnit() reports
 * whatever really stands in the way), then StartUnit(unit, "replace"), then
 * follows the returned job to its JobRemoved signal and reports the job's
 * result. A JobRemoved that arrives before StartUnit()'s reply is still
 * matched to it; two calls that systemd merges into one job both get its
 * result. A job whose JobRemoved never comes (the connection to the bus was
 * lost) is never reported: a caller that needs a bound keeps its own timer.
 * Returns 0 once the first request is sent, or a negative errno.
 */
int systemd_client_start(SystemdClient *c, const char *unit, JobDoneFunc done, void *userdata);

/*
 * Stops a unit: StopUnit(unit, "replace"), followed to its JobRemoved and
 * reported like a start. Stopping a unit that has no unit file and is not
 * running reports error -ENOENT (NoSuchUnit); the caller may treat that as
 * stopped. Returns 0 once the request is sent, or a negative errno.
 */
int systemd_client_stop(SystemdClient *c, const char *unit, JobDoneFunc done, void *userdata);

/*
 * Sends signo to every process of a unit: KillUnit(unit, "all", signo). done
 * reports the call's outcome, with job_result "done" on success. KillUnit()
 * alone does not keep a unit with Restart= down: stop it first. Returns 0 once
 * the request is sent, or -EINVAL for a bad name or signal, or another
 * negative errno.
 */
int systemd_client_kill(SystemdClient *c, const char *unit, int signo, JobDoneFunc done, void *userdata);

/*
 * Counts the processes of a unit's control group with GetUnitProcesses(). This
 * is what "stopped" means to pes: the control group is empty. Returns 0 once
 * the request is sent, or a negative errno.
 */
int systemd_client_unit_processes(SystemdClient *c, const char *unit, UnitProcessesFunc cb, void *userdata);

/*
 * Disables a unit's file: DisableUnitFiles([unit], false), then Reload() so
 * that systemd sees the change; done reports job_result "done" once the reload
 * has finished. Returns 0 once the first request is sent, or a negative errno.
 */
int systemd_client_disable(SystemdClient *c, const char *unit, JobDoneFunc done, void *userdata);

/*
 * Reloads systemd's configuration (daemon-reload), for instance after drop-ins
 * were written; done is called with unit NULL and job_result "done" once the
 * reload has finished. Returns 0 once the request is sent, or a negative errno.
 */
int systemd_client_reload(SystemdClient *c, JobDoneFunc done, void *userdata);

/*
 * Cancels every pending callback that concerns unit: its watch and the
 * callbacks of start, stop, kill, info, processes and disable calls still in
 * flight for it (what was already sent to systemd still happens). For a
 * caller that is about to free the state those callbacks' userdata points to.
 * Returns the number of callbacks cancelled, or -EINVAL for a bad name.
 */
int systemd_client_forget_unit(SystemdClient *c, const char *unit);

/* Returns systemd's spelling of s ("active", "failed", …), or NULL if s is out of range. */
const char *unit_active_state_to_string(UnitActiveState s);

/* Parses an ActiveState= value; returns _UNIT_ACTIVE_STATE_INVALID for NULL or anything unknown. */
UnitActiveState unit_active_state_from_string(const char *s);
