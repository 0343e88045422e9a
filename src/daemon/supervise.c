/* SPDX-License-Identifier: MIT */
/* Supervised systemd units: the owner starts, watches and stops them as the core decides. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "config.h"
#include "core/guard.h"
#include "core/lease.h"
#include "daemon/manager.h"
#include "daemon/supervise.h"
#include "net/http-client.h"
#include "systemd/dropin.h"

#define RUNTIME_UNIT_DIR "/run/systemd/system"
/* After a stop, how often the unit's cgroup is checked until it is empty. */
#define STOP_CHECK_USEC (50 * USEC_PER_MSEC)
#define SUPERVISE_RANK_STEP_USEC (400 * USEC_PER_MSEC)

static const char *const phase_table[_SUP_PHASE_MAX] = {
        [SUP_CHECKING] = "checking",
        [SUP_REFUSED] = "refused",
        [SUP_IDLE] = "idle",
        [SUP_STARTING] = "starting",
        [SUP_RUNNING] = "running",
        [SUP_STOPPING] = "stopping",
};

const char *supervised_phase_to_string(SupervisedPhase p) {
        return p >= 0 && p < _SUP_PHASE_MAX ? phase_table[p] : "invalid";
}

Supervised *supervise_find(Manager *m, const char *unit) {
        for (Supervised *s = m->units; s; s = s->next)
                if (strcmp(s->conf.unit, unit) == 0)
                        return s;
        return NULL;
}

static const char *unit_of(const Supervised *s) {
        return s->conf.unit;
}

/* Logs with the unit's journal fields (journalctl PES_NAME=UNIT is its history). */
static void log_unit(int level, const Supervised *s, const char *format, ...) _printf_(3, 4);
static void log_unit(int level, const Supervised *s, const char *format, ...) {
        char f_name[PES_NAME_MAX + 16], f_token[48], f_owner[96], message[768];
        va_list ap;

        snprintf(f_name, sizeof f_name, "PES_NAME=%s", unit_of(s));
        snprintf(f_token, sizeof f_token, "PES_TOKEN=%" PRIu64, s->token);
        snprintf(f_owner, sizeof f_owner, "PES_OWNER=%s", s->held ? s->manager->config.node_name : "");
        va_start(ap, format);
        vsnprintf(message, sizeof message, format, ap);
        va_end(ap);
        log_emit(level, 0, LOG_FIELDS(f_name, f_token, f_owner), "%s", message);
}

static void checked(Supervised *s);

static void answer_pending_error(Supervised *s, const char *name, const char *format, ...) _printf_(3, 4);
static void answer_pending_error(Supervised *s, const char *name, const char *format, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        char message[512];
        va_list ap;

        if (!s->pending)
                return;
        va_start(ap, format);
        vsnprintf(message, sizeof message, format, ap);
        va_end(ap);
        (void) sd_bus_error_set(&e, name, message);
        (void) sd_bus_reply_method_error(s->pending, &e);
        s->pending = sd_bus_message_unref(s->pending);
}

static void answer_pending_ok(Supervised *s) {
        if (!s->pending)
                return;
        (void) sd_bus_reply_method_return(s->pending, NULL);
        s->pending = sd_bus_message_unref(s->pending);
}

static void refuse(Supervised *s, const char *format, ...) _printf_(2, 3);
static void refuse(Supervised *s, const char *format, ...) {
        char message[512];
        va_list ap;

        va_start(ap, format);
        vsnprintf(message, sizeof message, format, ap);
        va_end(ap);
        free(s->refusal);
        s->refusal = strdup(message);
        s->phase = SUP_REFUSED;
        log_unit(LOG_ERR, s, "Cannot supervise %s: %s", unit_of(s), message);
        checked(s);
        answer_pending_error(s, "org.pes1.Error.CannotSupervise", "Cannot supervise %s: %s", unit_of(s), message);
}

static void set_candidates(Manager *m, Supervised *s) {
        RankCandidate c[64];
        size_t n = 0;

        for (size_t i = 0; i < peers_count(m->peers) && n < ELEMENTSOF(c); i++) {
                Peer *p = peers_at(m->peers, i);
                uint32_t w = unit_conf_weight(&s->conf, p->name);

                /* A peer not heard from yet counts (at start-up every peer is one);
                 * only one found dead drops out of the rank. */
                if (w > 0 && p->state != PEER_DEAD)
                        c[n++] = (RankCandidate){ .host = p->id, .weight = w };
        }
        (void) node_set_candidates(m->node, unit_of(s), c, n);
}

void supervise_update_candidates(Manager *m) {
        for (Supervised *s = m->units; s; s = s->next)
                if (node_guard(m->node, unit_of(s)))
                        set_candidates(m, s);
}

/* ---- the gate: a bounded number of systemd calls in flight ---- */

/*
 * The system bus allows a connection 128 pending method calls (dbus-daemon's
 * max_replies_per_connection) and refuses more with LimitsExceeded. Declaring
 * 200 units, or a failover of many, would send more at once; so every systemd
 * operation takes one of GATE_MAX slots (an operation has at most three calls in
 * flight), and the rest wait in order, stops and kills ahead of everything else:
 * a fence must never wait behind start-up checks. A start or stop frees its slot
 * once systemd accepted the job, not when the job ends: the limit counts calls.
 */
#define GATE_MAX 32
#define WATCH_GATE_USEC (5 * USEC_PER_SEC)

typedef enum GateKind {
        GATE_INFO,
        GATE_START,
        GATE_STOP,
        GATE_KILL,
        GATE_PROCESSES,
        GATE_DISABLE,
        GATE_WATCH,
} GateKind;

typedef struct GateOp {
        Manager *manager;
        Supervised *s;
        GateKind kind;
        bool released; /* its slot was freed when systemd accepted the job */
        char *unit;
        union {
                JobDoneFunc job;
                UnitInfoFunc info;
                UnitProcessesFunc processes;
        } cb;
        struct GateOp *next;
} GateOp;

static void gate_pump(Manager *m);

static void gate_release(Manager *m) {
        assert(m->gate_in_flight > 0);
        m->gate_in_flight--;
}

/* A start or stop job was accepted: its call is over, so is its slot (the job goes on). */
static void gate_job_accepted(SystemdClient *c, const char *unit, void *userdata) {
        GateOp *op = userdata;

        if (op->released)
                return;
        op->released = true;
        gate_release(op->manager);
        gate_pump(op->manager);
}

static void gate_job_done(SystemdClient *c, const char *unit, int error, const char *result, void *userdata) {
        GateOp *op = userdata;
        Manager *m = op->manager;
        JobDoneFunc cb = op->cb.job;
        Supervised *s = op->s;

        if (!op->released)
                gate_release(m);
        free(op->unit);
        free(op);
        cb(c, unit, error, result, s);
        gate_pump(m);
}

static void gate_info_done(SystemdClient *c, const char *unit, int error, const UnitInfo *info, void *userdata) {
        GateOp *op = userdata;
        Manager *m = op->manager;
        UnitInfoFunc cb = op->cb.info;
        Supervised *s = op->s;

        gate_release(m);
        free(op->unit);
        free(op);
        cb(c, unit, error, info, s);
        gate_pump(m);
}

static void gate_processes_done(SystemdClient *c, const char *unit, int error, size_t n, void *userdata) {
        GateOp *op = userdata;
        Manager *m = op->manager;
        UnitProcessesFunc cb = op->cb.processes;
        Supervised *s = op->s;

        gate_release(m);
        free(op->unit);
        free(op);
        cb(c, unit, error, n, s);
        gate_pump(m);
}

static void on_unit_changed(SystemdClient *c, const char *unit, const UnitStatus *st, void *userdata);

/* A watch holds its slot until its first report (or WATCH_GATE_USEC). */
static void watch_gate_release(Supervised *s) {
        if (!s->watch_gated)
                return;
        s->watch_gated = false;
        s->watch_gate_timer = sd_event_source_disable_unref(s->watch_gate_timer);
        gate_release(s->manager);
        gate_pump(s->manager);
}

static int on_watch_gate_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        watch_gate_release(userdata);
        return 0;
}

/* Issues op now; its callback releases the slot. */
static void gate_issue(GateOp *op) {
        Manager *m = op->manager;
        SystemdClient *c = m->systemd;
        Supervised *s = op->s;
        int r;

        m->gate_in_flight++;
        switch (op->kind) {
        case GATE_INFO:
                r = systemd_client_unit_info(c, op->unit, gate_info_done, op);
                break;
        case GATE_START:
                r = systemd_client_start(c, op->unit, gate_job_done, op);
                break;
        case GATE_STOP:
                r = systemd_client_stop(c, op->unit, gate_job_done, op);
                break;
        case GATE_KILL:
                r = systemd_client_kill(c, op->unit, SIGKILL, gate_job_done, op);
                break;
        case GATE_DISABLE:
                r = systemd_client_disable(c, op->unit, gate_job_done, op);
                break;
        case GATE_PROCESSES:
                r = systemd_client_unit_processes(c, op->unit, gate_processes_done, op);
                break;
        case GATE_WATCH:
                r = systemd_client_watch(c, op->unit, on_unit_changed, s);
                if (r >= 0) {
                        s->watch_gated = true;
                        (void) sd_event_add_time_relative(m->event, &s->watch_gate_timer, CLOCK_MONOTONIC,
                                                          WATCH_GATE_USEC, 0, on_watch_gate_timer, s);
                } else {
                        if (r != -EEXIST)
                                log_unit(LOG_WARNING, s, "Cannot watch %s: %s", op->unit, strerror(-r));
                        r = 0;
                        gate_release(m);
                }
                free(op->unit);
                free(op);
                return;
        default:
                assert(false);
                r = -EINVAL;
        }
        if (r >= 0)
                return;

        /* Refused at once: report it as the operation's outcome. */
        gate_release(m);
        switch (op->kind) {
        case GATE_INFO:
                op->cb.info(c, op->unit, r, NULL, s);
                break;
        case GATE_PROCESSES:
                op->cb.processes(c, op->unit, r, 0, s);
                break;
        default:
                op->cb.job(c, op->unit, r, NULL, s);
                break;
        }
        free(op->unit);
        free(op);
}

static void gate_pump(Manager *m) {
        while (m->gate_in_flight < GATE_MAX && (m->gate_urgent || m->gate_normal)) {
                GateOp **q = m->gate_urgent ? &m->gate_urgent : &m->gate_normal, *op = *q;

                *q = op->next;
                gate_issue(op);
        }
}

static void gate_submit(Supervised *s, GateKind kind, const char *unit, void *cb) {
        Manager *m = s->manager;
        GateOp *op = calloc(1, sizeof *op), **tail;

        if (op)
                op->unit = strdup(unit);
        if (!op || !op->unit) {
                free(op);
                log_unit(LOG_ERR, s, "Out of memory; a systemd call for %s is lost.", unit);
                return;
        }
        op->manager = m;
        op->s = s;
        op->kind = kind;
        if (kind == GATE_INFO)
                op->cb.info = cb;
        else if (kind == GATE_PROCESSES)
                op->cb.processes = cb;
        else
                op->cb.job = cb;

        tail = kind == GATE_STOP || kind == GATE_KILL || kind == GATE_PROCESSES ? &m->gate_urgent : &m->gate_normal;
        while (*tail)
                tail = &(*tail)->next;
        *tail = op;
        gate_pump(m);
}

static void gate_free_all(Manager *m) {
        for (GateOp **q = &m->gate_urgent; q; q = q == &m->gate_urgent ? &m->gate_normal : NULL)
                while (*q) {
                        GateOp *op = *q;

                        *q = op->next;
                        free(op->unit);
                        free(op);
                }
}

static void health_stop(Supervised *s);

/* ---- stopping ---- */

static void stop_checked(Supervised *s);

static void on_stopped(SystemdClient *c, const char *unit, int error, const char *result, void *userdata);
static void on_killed(SystemdClient *c, const char *unit, int error, const char *result, void *userdata);
static void stop_retry_later(Supervised *s);

static int on_stop_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        Supervised *s = userdata;

        s->retry = sd_event_source_disable_unref(s->retry);
        /* A StopUnit or KillUnit that systemd did not take is sent again; the check
         * follows its outcome. */
        if (s->kill_call_failed) {
                s->kill_call_failed = false;
                gate_submit(s, GATE_KILL, unit_of(s), on_killed);
                return 0;
        }
        if (s->stop_call_failed) {
                s->stop_call_failed = false;
                gate_submit(s, GATE_STOP, unit_of(s), on_stopped);
                return 0;
        }
        stop_checked(s);
        return 0;
}

static void stop_retry_later(Supervised *s) {
        s->stop_checks++;
        if (!s->retry)
                (void) sd_event_add_time_relative(s->manager->event, &s->retry, CLOCK_MONOTONIC, STOP_CHECK_USEC, 0,
                                                  on_stop_retry, s);
}

/*
 * DESIGN.md: "stopped" means the unit's cgroup is empty — and for a .timer or
 * .socket, the cgroup of the service it triggers too. Only NoSuchUnit (nothing
 * loaded, so nothing runs) counts as empty; any other error means "not known to
 * be stopped", and the check is repeated (the core's SIGKILL deadline stands).
 */
static bool processes_gone(Supervised *s, const char *unit, int error, size_t n) {
        if (error < 0 && error != -ENOENT) {
                log_unit(LOG_WARNING, s, "Cannot list the processes of %s (%s); checking again.", unit, strerror(-error));
                return false;
        }
        return error == -ENOENT || n == 0;
}

static void stopped_now(Supervised *s) {
        Manager *m = s->manager;

        s->phase = SUP_IDLE;
        (void) env_file_remove(m->config.runtime_dir, unit_of(s));
        log_unit(LOG_INFO, s, "Stopped %s (its cgroup is empty%s).", unit_of(s),
                 s->triggered ? ", and the triggered service's" : "");
        /* Only a stop the core asked for is reported; a stray start we stopped is not. */
        if (node_guard(m->node, unit_of(s))) {
                (void) node_unit_stopped(m->node, unit_of(s), manager_now(m), &m->actions);
                (void) manager_flush(m);
        }
}

static void on_side_processes(SystemdClient *c, const char *unit, int error, size_t n, void *userdata) {
        Supervised *s = userdata;

        if (s->phase != SUP_STOPPING)
                return;
        if (!processes_gone(s, unit, error, n)) {
                stop_retry_later(s);
                return;
        }
        stopped_now(s);
}

static void on_processes(SystemdClient *c, const char *unit, int error, size_t n, void *userdata) {
        Supervised *s = userdata;

        if (s->phase != SUP_STOPPING)
                return;
        if (!processes_gone(s, unit, error, n)) {
                stop_retry_later(s);
                return;
        }
        /* A timer or socket has no processes of its own: its service must be gone too. */
        if (s->triggered) {
                gate_submit(s, GATE_PROCESSES, s->triggered, on_side_processes);
                return;
        }
        stopped_now(s);
}

static void stop_checked(Supervised *s) {
        gate_submit(s, GATE_PROCESSES, unit_of(s), on_processes);
}

static void on_stopped(SystemdClient *c, const char *unit, int error, const char *result, void *userdata) {
        Supervised *s = userdata;

        if (s->phase != SUP_STOPPING)
                return;
        if (error < 0 && error != -ENOENT) {
                log_unit(LOG_WARNING, s, "Stopping %s failed (%s); trying again.", unit, strerror(-error));
                s->stop_call_failed = true;
                stop_retry_later(s);
                return;
        }
        stop_checked(s);
}

static void on_side_stopped(SystemdClient *c, const char *unit, int error, const char *result, void *userdata) {
        if (error < 0 && error != -ENOENT)
                log_warning_errno(error, "Stopping %s failed: %m", unit);
}

static void stop_unit(Supervised *s, const char *why) {

        s->phase = SUP_STOPPING;
        s->stop_checks = 0;
        s->stop_call_failed = s->kill_call_failed = false;
        health_stop(s);
        log_unit(LOG_INFO, s, "Stopping %s: %s.", unit_of(s), why);
        /* DESIGN.md "Timers": stopping a supervised .timer also stops the service it
         * triggers, so a job never runs on two hosts across an owner change. */
        if (s->triggered)
                gate_submit(s, GATE_STOP, s->triggered, on_side_stopped);
        gate_submit(s, GATE_STOP, unit_of(s), on_stopped);
}

void supervise_stop(Manager *m, Supervised *s, const Action *a) {
        Guard *g = node_guard(m->node, unit_of(s));
        uint64_t now = manager_now(m), valid = g ? guard_valid(g) : 0;
        char why[160];

        s->held = false;
        /* DESIGN.md "Self-fence": stop at valid − S, SIGKILL by valid; say how much is left. */
        if (valid > now)
                snprintf(why, sizeof why, "the core asked (fence, release, handoff or failure); the lease ends in %" PRIu64
                         " ms, SIGKILL then if it still runs (stop budget %" PRIu64 " ms)",
                         (valid - now) / USEC_PER_MSEC, s->conf.stop / USEC_PER_MSEC);
        else
                snprintf(why, sizeof why, "the core asked (fence, release, handoff or failure)");
        stop_unit(s, why);
}

static void on_killed(SystemdClient *c, const char *unit, int error, const char *result, void *userdata) {
        Supervised *s = userdata;

        if (error < 0 && error != -ENOENT) {
                log_unit(LOG_ERR, s, "SIGKILL of %s failed (%s); trying again.", unit, strerror(-error));
                if (s->phase == SUP_STOPPING) {
                        s->kill_call_failed = true;
                        stop_retry_later(s);
                }
                return;
        }
        if (s->phase == SUP_STOPPING)
                stop_checked(s);
}

void supervise_kill(Manager *m, Supervised *s, const Action *a) {
        Guard *g = node_guard(m->node, unit_of(s));
        uint64_t now = manager_now(m), valid = g ? guard_valid(g) : 0;

        log_unit(LOG_WARNING, s, "The lease of %s ends now (deadline %s by %" PRIu64 " us) and it is still running "
                 "%" PRIu64 " ms after the stop began: SIGKILL.", unit_of(s), now >= valid ? "passed" : "due",
                 now >= valid ? now - valid : valid - now, s->conf.stop / USEC_PER_MSEC);
        if (s->triggered)
                gate_submit(s, GATE_KILL, s->triggered, on_side_stopped);
        gate_submit(s, GATE_KILL, unit_of(s), on_killed);
}

/* ---- failures ---- */

static int on_backoff_over(sd_event_source *source, uint64_t usec, void *userdata) {
        Supervised *s = userdata;
        Manager *m = s->manager;

        s->retry = sd_event_source_disable_unref(s->retry);
        s->n_failures = 0;
        log_unit(LOG_INFO, s, "The backoff of %s is over; this host is a candidate again.", unit_of(s));
        (void) node_campaign(m->node, unit_of(s), manager_now(m), &m->actions);
        (void) manager_flush(m);
        return 0;
}

static void unit_failed(Supervised *s, const char *why) {
        Manager *m = s->manager;
        uint64_t now = manager_now(m);
        unsigned kept = 0;

        /* The failures within the window count against the budget. */
        for (unsigned i = 0; i < s->n_failures; i++)
                if (now - s->failures[i] < s->conf.failure_window)
                        s->failures[kept++] = s->failures[i];
        s->n_failures = kept;
        if (s->n_failures < ELEMENTSOF(s->failures))
                s->failures[s->n_failures++] = now;

        s->held = false;
        if (s->n_failures > s->conf.failure_budget) {
                char b[FORMAT_TIMESPAN_MAX];

                log_unit(LOG_ERR, s, "%s failed (%s), %u times within its window: this host steps aside for %s.",
                         unit_of(s), why, s->n_failures, format_timespan(b, sizeof b, s->conf.failure_backoff));
                (void) node_release(m->node, unit_of(s), now, &m->actions);
                s->retry = sd_event_source_disable_unref(s->retry);
                (void) sd_event_add_time_relative(m->event, &s->retry, CLOCK_MONOTONIC, s->conf.failure_backoff, 0,
                                                  on_backoff_over, s);
        } else {
                log_unit(LOG_WARNING, s, "%s failed (%s); releasing it.", unit_of(s), why);
                (void) node_unit_failed(m->node, unit_of(s), now, &m->actions);
        }
        (void) manager_flush(m);
}

/* ---- health probes (HealthURL=) ---- */

int supervise_probe_client(Manager *m, NetError *err) {
        HttpClientConfig cc = HTTP_CLIENT_CONFIG_INIT;

        if (m->probe_client)
                return 0;
        cc.key = &m->key;
        cc.cluster_id = m->cluster_id;
        return http_client_new(&m->probe_client, m->event, &cc, err);
}

static void health_stop(Supervised *s) {
        s->health_timer = sd_event_source_disable_unref(s->health_timer);
        s->health_failures = 0;
}

static void health_arm(Supervised *s);

static void on_health(HttpClient *c, uint16_t peer, const HttpClientResult *r, void *userdata) {
        Supervised *s = userdata;

        s->health_inflight = false;
        if (s->phase != SUP_RUNNING)
                return;
        if (r->error >= 0) {
                if (s->health_failures > 0)
                        log_unit(LOG_INFO, s, "Health check of %s passes again.", unit_of(s));
                s->health_failures = 0;
        } else {
                s->health_failures++;
                log_unit(LOG_WARNING, s, "Health check of %s failed (%u of %u): %s", unit_of(s), s->health_failures,
                         s->conf.health_threshold, r->error_text ?: strerror(-r->error));
                if (s->health_failures >= s->conf.health_threshold) {
                        char why[96];

                        snprintf(why, sizeof why, "its health check failed %u times in a row", s->health_failures);
                        health_stop(s);
                        unit_failed(s, why);
                        return;
                }
        }
        health_arm(s);
}

static int on_health_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Supervised *s = userdata;
        Manager *m = s->manager;
        NetError err = {};
        int r;

        s->health_timer = sd_event_source_disable_unref(s->health_timer);
        if (s->phase != SUP_RUNNING || s->health_inflight)
                return 0;
        r = supervise_probe_client(m, &err);
        if (r < 0) {
                log_unit(LOG_ERR, s, "Cannot set up health probes: %s", err.text);
                return 0;
        }
        r = http_client_probe(m->probe_client, s->conf.health_url, s->conf.health_timeout, on_health, s, &err);
        if (r < 0) {
                log_unit(LOG_ERR, s, "Cannot probe %s: %s", s->conf.health_url, err.text);
                health_arm(s);
                return 0;
        }
        s->health_inflight = true;
        return 0;
}

static void health_arm(Supervised *s) {
        if (!s->conf.health_url || s->phase != SUP_RUNNING || s->health_timer)
                return;
        (void) sd_event_add_time_relative(s->manager->event, &s->health_timer, CLOCK_MONOTONIC,
                                          s->conf.health_interval, USEC_PER_MSEC, on_health_timer, s);
}

/* ---- starting ---- */

static bool state_is_up(const Supervised *s, UnitActiveState st) {
        return st == UNIT_ACTIVE || st == UNIT_RELOADING || st == UNIT_REFRESHING;
}

static void on_started_info(SystemdClient *c, const char *unit, int error, const UnitInfo *info, void *userdata) {
        Supervised *s = userdata;

        if (s->phase != SUP_STARTING)
                return;
        /* DESIGN.md: judge a start by ActiveState, never by the job result alone (a
         * failed ExecCondition= leaves the unit inactive with result "done"). */
        if (error < 0 || !state_is_up(s, info->status.active)) {
                unit_failed(s, error < 0 ? "its state could not be read" : "it did not become active");
                return;
        }
        s->status = info->status;
        s->phase = SUP_RUNNING;
        log_unit(LOG_INFO, s, "%s is active here (fencing token %" PRIu64 ").", unit_of(s), s->token);
        health_arm(s);
}

static void on_started(SystemdClient *c, const char *unit, int error, const char *result, void *userdata) {
        Supervised *s = userdata;

        if (s->phase != SUP_STARTING)
                return;
        if (error < 0 || !result || strcmp(result, "done") != 0) {
                char why[96];

                snprintf(why, sizeof why, "start job %s", error < 0 ? strerror(-error) : result ?: "failed");
                unit_failed(s, why);
                return;
        }
        gate_submit(s, GATE_INFO, unit, on_started_info);
}

void supervise_start(Manager *m, Supervised *s, const Action *a) {
        const char *self = m->config.node_name;
        int r;

        s->held = true;
        s->token = a->start.token;
        s->phase = SUP_STARTING;
        s->retry = sd_event_source_disable_unref(s->retry);
        r = env_file_write(m->config.runtime_dir, unit_of(s), self, s->token);
        if (r < 0)
                log_unit(LOG_WARNING, s, "Cannot write %s/%s.env: %s", m->config.runtime_dir, unit_of(s), strerror(-r));
        log_unit(LOG_INFO, s, "Starting %s with fencing token %" PRIu64 ".", unit_of(s), s->token);
        gate_submit(s, GATE_START, unit_of(s), on_started);
}

/* ---- watching ---- */

static void on_unit_changed(SystemdClient *c, const char *unit, const UnitStatus *st, void *userdata) {
        Supervised *s = userdata;
        /* Not ACTIVATING: a start on a host that does not hold the unit is refused by
         * its ExecCondition= (pesctl holds); stopping it then would only cancel
         * that job and leave the unit failed. One that got past it is stopped. */
        bool up = state_is_up(s, st->active);

        watch_gate_release(s);

        s->status = *st;
        s->have_status = true;

        switch (s->phase) {
        case SUP_RUNNING:
                if (st->active == UNIT_FAILED || st->active == UNIT_INACTIVE) {
                        char why[96];

                        snprintf(why, sizeof why, "%s%s%s", unit_active_state_to_string(st->active),
                                 st->result[0] ? ", result " : "", st->result);
                        unit_failed(s, why);
                }
                break;
        case SUP_IDLE:
                /* Non-owners make sure the unit is not running here (issue 6). */
                if (up && !s->held) {
                        log_unit(LOG_WARNING, s, "%s is %s here but this host does not hold it: stopping it.",
                                 unit, unit_active_state_to_string(st->active));
                        stop_unit(s, "started outside pes");
                }
                break;
        default:
                break;
        }
}

/* ---- declaring ---- */

/*
 * May this host campaign? Its acceptor serves, a quorum of voters is alive, its
 * own declared units are checked, and every peer not known dead says it is
 * ready too (or a grace of two leases passed since this host became ready, so
 * one slow host cannot hold the others back).
 */
static bool manager_ready(const Manager *m) {
        if (m->start_pending || !m->quorate || !m->ready)
                return false;
        if (m->ready_grace_over)
                return true;
        for (size_t i = 0; i < peers_count(m->peers); i++) {
                const Peer *p = peers_at(m->peers, i);

                if (p->state != PEER_SELF && p->state != PEER_DEAD && !p->ready)
                        return false;
        }
        return true;
}

static int on_ready_grace(sd_event_source *source, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->ready_grace = sd_event_source_disable_unref(m->ready_grace);
        m->ready_grace_over = true;
        supervise_ready(m);
        return 0;
}

/* Latches m->ready once the acceptor serves and the declared units are checked. */
static void update_ready(Manager *m) {
        WireHeader h;

        if (m->ready || m->start_pending || !m->units_loaded || m->units_checking > 0)
                return;
        m->ready = true;
        log_info("Ready: %s; telling the peers before campaigning.",
                 m->units ? "every declared unit is checked" : "no units declared");
        manager_header_fill(m, &h);
        peers_set_header(m->peers, &h);
        peers_ping_all(m->peers);
        (void) sd_event_add_time_relative(m->event, &m->ready_grace, CLOCK_MONOTONIC,
                                          6 * m->config.heartbeat, 0, on_ready_grace, m);
        (void) peers_flush(m->peers, manager_now(m));
}

static void checked(Supervised *s) {
        if (!s->counted_checking)
                return;
        s->counted_checking = false;
        assert(s->manager->units_checking > 0);
        s->manager->units_checking--;
        update_ready(s->manager);
}

static void campaign(Supervised *s);

/*
 * Campaigns start only once this host is ready (its acceptor answers and a
 * quorum of voters is alive): at a cold start every host then begins at about
 * the same moment, and the rendezvous rank, not start-up order, decides who
 * runs what (DESIGN.md "Acquire": rank·Δ + U(0,Δ)).
 */
void supervise_ready(Manager *m) {
        bool any = false;

        update_ready(m);
        /* Called for every batch whose sender is ready: cheap unless campaigns wait. */
        if (!m->campaigns_deferred || !manager_ready(m))
                return;
        m->campaigns_deferred = false;
        for (Supervised *s = m->units; s; s = s->next)
                if (s->deferred) {
                        s->deferred = false;
                        campaign(s);
                        any = true;
                }
        if (any)
                (void) manager_flush(m);
}

static void activate(Supervised *s) {
        Manager *m = s->manager;
        uint64_t h = s->conf.heartbeat ?: m->config.heartbeat, suggested = 0;
        int r;

        /* DESIGN.md "Timing is agreed": refuse T_hold − S < 2H, naming a HeartbeatSec= that passes. */
        r = lease_validate(h, s->conf.stop, m->voters.rho_ppm, m->voters.delta_usec, m->voters.lease_max_usec,
                           &suggested);
        if (r == -ERANGE) {
                if (suggested > 0)
                        refuse(s, "HeartbeatSec=%" PRIu64 "ms leaves too little lease after StopSec=%" PRIu64
                                  "ms (T_hold - S must be at least 2H); HeartbeatSec=%" PRIu64 "ms would pass",
                               h / USEC_PER_MSEC, s->conf.stop / USEC_PER_MSEC, suggested / USEC_PER_MSEC);
                else
                        refuse(s, "no HeartbeatSec= fits StopSec=%" PRIu64 "ms within the cluster's lease limit",
                               s->conf.stop / USEC_PER_MSEC);
                return;
        }
        if (r < 0) {
                refuse(s, "HeartbeatSec=%" PRIu64 "ms: a lease of 3 heartbeats exceeds the cluster's limit", h / USEC_PER_MSEC);
                return;
        }

        s->phase = SUP_IDLE;
        gate_submit(s, GATE_WATCH, unit_of(s), NULL);
        log_unit(LOG_INFO, s, "Supervising %s%s%s%s.", unit_of(s), s->triggered ? " (and " : "",
                 s->triggered ? s->triggered : "", s->triggered ? ")" : "");
        if (!manager_ready(m)) {
                s->deferred = true;
                m->campaigns_deferred = true;
                answer_pending_ok(s);
                checked(s);
                return;
        }
        campaign(s);
        answer_pending_ok(s);
        checked(s);
        (void) manager_flush(m);
}

static void campaign(Supervised *s) {
        Manager *m = s->manager;
        GuardParams p;
        int r;

        guard_params_init(&p);
        p.heartbeat_usec = s->conf.heartbeat ?: m->config.heartbeat;
        p.stop_usec = s->conf.stop;
        p.round_timeout_usec = p.heartbeat_usec;
        /* Δ between ranks: an acquisition must finish within one step, or the next
         * host's PREPARE (a higher ballot if its id is higher) overtakes it. Under
         * a cold start of hundreds of units on a busy host 100 ms is too short;
         * on a failover only the best-ranked live host waits less than a step. */
        p.rank_step_usec = SUPERVISE_RANK_STEP_USEC;

        r = node_supervise(m->node, unit_of(s), &p, manager_now(m), &m->actions);
        if (r < 0 && r != -EEXIST) {
                refuse(s, "the core refused it: %s", strerror(-r));
                return;
        }
        set_candidates(m, s);
}

/*
 * One daemon-reload serves every unit whose drop-in changed meanwhile: a burst
 * of declarations (200 units at start) waits a moment and is loaded at once,
 * instead of reloading systemd once per unit. A unit needs a reload that started
 * after its drop-in was written: its reload_wait is the number that reload has.
 */
static void reload_schedule(Manager *m);

static void on_reloaded(SystemdClient *c, const char *unit, int error, const char *result, void *userdata) {
        Manager *m = userdata;
        bool more = false;

        m->reload_running = false;
        if (error < 0)
                log_warning_errno(error, "systemd's daemon-reload failed: %m");
        for (Supervised *s = m->units; s; s = s->next) {
                if (s->phase != SUP_CHECKING || s->reload_wait == 0)
                        continue;
                if (s->reload_wait <= m->reloads_started) {
                        s->reload_wait = 0;
                        activate(s);
                } else
                        more = true;
        }
        if (more)
                reload_schedule(m);
}

static int on_reload_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        m->reload_timer = sd_event_source_disable_unref(m->reload_timer);
        m->reload_running = true;
        m->reloads_started++;
        r = systemd_client_reload(m->systemd, on_reloaded, m);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask systemd to reload: %m");
                on_reloaded(m->systemd, NULL, r, NULL, m);
        }
        return 0;
}

static void reload_schedule(Manager *m) {
        /* A reload on its way calls back, and schedules the next one if needed. */
        if (m->reload_timer || m->reload_running)
                return;
        (void) sd_event_add_time_relative(m->event, &m->reload_timer, CLOCK_MONOTONIC, 50 * USEC_PER_MSEC, 0,
                                          on_reload_timer, m);
}

static void reload_then_activate(Supervised *s) {
        s->reload_wait = s->manager->reloads_started + 1;
        reload_schedule(s->manager);
}

static int install_dropins(Supervised *s, bool *changed) {
        Manager *m = s->manager;
        DropinParams p = {
                .pesctl_path = PES_BINDIR "/pesctl",
                .env_dir = m->config.runtime_dir,
                .timeout_stop_usec = s->conf.stop,
        };
        _cleanup_free_ char *text = NULL, *side = NULL;
        int r;

        r = dropin_render(unit_of(s), NULL, &p, &text);
        if (r < 0)
                return r;
        r = dropin_write(RUNTIME_UNIT_DIR, unit_of(s), text);
        if (r < 0)
                return r;
        *changed = r > 0;
        if (s->triggered) {
                r = dropin_render(s->triggered, unit_of(s), &p, &side);
                if (r < 0)
                        return r;
                r = dropin_write(RUNTIME_UNIT_DIR, s->triggered, side);
                if (r < 0)
                        return r;
                *changed = *changed || r > 0;
        }
        return 0;
}

static void on_info(SystemdClient *c, const char *unit, int error, const UnitInfo *info, void *userdata) {
        Supervised *s = userdata;
        bool changed = false;
        int r;

        if (error < 0) {
                refuse(s, "systemd did not answer about it (%s)", strerror(-error));
                return;
        }
        if (strcmp(info->load_state, "loaded") != 0) {
                refuse(s, "%s on this host (LoadState=%s)",
                       strcmp(info->load_state, "not-found") == 0 ? "no such unit" : "it cannot be loaded",
                       info->load_state);
                return;
        }
        if (strncmp(info->unit_file_state, "enabled", 7) == 0) {
                refuse(s, "it is %s to start at boot, so systemd would start it on every host; "
                          "run 'systemctl disable %s', or supervise it with --disable",
                       info->unit_file_state, unit);
                return;
        }
        if (info->triggers && info->triggers[0]) {
                free(s->triggered);
                s->triggered = strdup(info->triggers[0]);
        }
        s->status = info->status;
        s->have_status = true;

        r = install_dropins(s, &changed);
        if (r < 0) {
                refuse(s, "cannot install its drop-in under " RUNTIME_UNIT_DIR " (%s)", strerror(-r));
                return;
        }
        /* DESIGN.md: reload systemd only when the set of supervised units changes. */
        if (changed) {
                reload_then_activate(s);
                return;
        }
        activate(s);
}

static void on_disabled(SystemdClient *c, const char *unit, int error, const char *result, void *userdata) {
        Supervised *s = userdata;

        if (error < 0) {
                refuse(s, "disabling it failed (%s)", strerror(-error));
                return;
        }
        log_unit(LOG_NOTICE, s, "Disabled %s's start at boot, as asked.", unit);
        gate_submit(s, GATE_INFO, unit_of(s), on_info);
}

/* Takes over *conf. */
static Supervised *supervised_add(Manager *m, UnitConf *conf, bool runtime, bool disable, sd_bus_message *call) {
        Supervised *s = calloc(1, sizeof *s), **tail;

        if (!s) {
                unit_conf_done(conf);
                return NULL;
        }
        s->manager = m;
        s->conf = *conf;
        *conf = (UnitConf){};
        s->runtime = runtime;
        s->phase = SUP_CHECKING;
        s->counted_checking = true;
        m->units_checking++;
        s->pending = call ? sd_bus_message_ref(call) : NULL;
        for (tail = &m->units; *tail; tail = &(*tail)->next)
                ;
        *tail = s;

        if (!m->systemd)
                refuse(s, "there is no connection to systemd");
        else if (disable) {
                gate_submit(s, GATE_DISABLE, unit_of(s), on_disabled);
        } else {
                gate_submit(s, GATE_INFO, unit_of(s), on_info);
        }
        return s;
}

static int load_dir(Manager *m, const char *dir, bool runtime) {
        _cleanup_free_ char *error = NULL;
        UnitConf *list = NULL;
        size_t n = 0;
        int r;

        r = unit_conf_load_dir(dir, &list, &n, &error);
        if (r < 0)
                return log_error_errno(r, "%s", error ?: "Cannot read the unit declarations.");
        for (size_t i = 0; i < n; i++) {
                if (supervise_find(m, list[i].unit)) {
                        log_warning("%s is declared in more than one place; %s is ignored.", list[i].unit,
                                    list[i].path ?: dir);
                        unit_conf_done(&list[i]);
                        continue;
                }
                (void) supervised_add(m, &list[i], runtime, false, NULL);
        }
        free(list);
        return 0;
}

static char *runtime_dir_path(Manager *m) {
        char *p;

        return asprintf(&p, "%s/units.d", m->config.state_dir) < 0 ? NULL : p;
}

int supervise_setup(Manager *m) {
        _cleanup_free_ char *rt = runtime_dir_path(m);
        int r;

        if (!rt)
                return log_error_errno(ENOMEM, "Out of memory.");
        r = systemd_client_new(m->bus, &m->systemd);
        if (r < 0)
                log_warning_errno(r, "Cannot talk to systemd; units cannot be supervised: %m");
        else
                systemd_client_set_job_accepted(m->systemd, gate_job_accepted);
        r = load_dir(m, m->config.units_dir, false);
        if (r >= 0)
                r = load_dir(m, rt, true);
        if (r < 0)
                return r;
        m->units_loaded = true;
        update_ready(m);
        return 0;
}

void supervise_done(Manager *m) {
        m->reload_timer = sd_event_source_disable_unref(m->reload_timer);
        /* First: it drops the probes in flight without calling back. */
        m->probe_client = http_client_free(m->probe_client);
        gate_free_all(m);
        while (m->units) {
                Supervised *s = m->units;

                m->units = s->next;
                sd_event_source_disable_unref(s->retry);
                sd_event_source_disable_unref(s->watch_gate_timer);
                sd_event_source_disable_unref(s->health_timer);
                sd_event_source_disable_unref(s->move_poll);
                sd_bus_message_unref(s->pending);
                unit_conf_done(&s->conf);
                free(s->triggered);
                free(s->refusal);
                free(s);
        }
        m->systemd = systemd_client_free(m->systemd);
}

static void move_probe(Supervised *s);

static void move_done(Supervised *s) {
        log_unit(LOG_INFO, s, "%s moved to %s, where it is active (fencing token %" PRIu64 ").", unit_of(s),
                 manager_host_name(s->manager, s->moving_to), s->moved_token);
        s->moving_to = PES_HOST_NONE;
        s->move_confirming = false;
        s->retry = sd_event_source_disable_unref(s->retry);
        s->move_poll = sd_event_source_disable_unref(s->move_poll);
        answer_pending_ok(s);
}

static int on_move_poll(sd_event_source *source, uint64_t usec, void *userdata) {
        Supervised *s = userdata;

        s->move_poll = sd_event_source_disable_unref(s->move_poll);
        move_probe(s);
        return 0;
}

static void on_move_probe(HttpClient *c, uint16_t peer, const HttpClientResult *r, void *userdata) {
        Supervised *s = userdata;

        if (!s->move_confirming)
                return;
        if (r->error >= 0) {
                move_done(s);
                return;
        }
        /* Not active there yet: ask again shortly (the move's timeout bounds this). */
        (void) sd_event_add_time_relative(s->manager->event, &s->move_poll, CLOCK_MONOTONIC, 100 * USEC_PER_MSEC,
                                          USEC_PER_MSEC, on_move_poll, s);
}

char *supervise_unit_url(const Peer *p, const char *unit) {
        char *url;

        if (asprintf(&url, strchr(p->address, ':') ? "http://[%s]:%u/v1/units/%s" : "http://%s:%u/v1/units/%s",
                     p->address, p->port, unit) < 0)
                return NULL;
        return url;
}

/* Asks the new owner whether the unit is active there (GET /v1/units/UNIT). */
static void move_probe(Supervised *s) {
        Manager *m = s->manager;
        Peer *p = peers_find(m->peers, s->moving_to);
        NetError err = {};
        _cleanup_free_ char *url = NULL;
        int r;

        if (!p || m->config.tls_ca) {
                /* With TLS between peers the plain probe cannot ask: the tenure must do. */
                move_done(s);
                return;
        }
        if (supervise_probe_client(m, &err) < 0) {
                move_done(s);
                return;
        }
        url = supervise_unit_url(p, unit_of(s));
        if (!url) {
                move_done(s);
                return;
        }
        r = http_client_probe(m->probe_client, url, USEC_PER_SEC, on_move_probe, s, &err);
        if (r < 0)
                move_done(s);
}

/* DESIGN.md "Fencing is only as good as its margins": the cgroup is re-checked
 * before a TAKE is sent; the handoff's target starts the unit on receiving it. */
static void on_take_check(SystemdClient *c, const char *unit, int error, size_t n, void *userdata) {
        Supervised *s = userdata;

        if (!s->take_pending)
                return;
        if (!processes_gone(s, unit, error, n)) {
                /* Something runs again: no TAKE. The reservation lapses after T and
                 * the election resumes; that is safer than a second copy. */
                log_unit(LOG_ERR, s, "%s has processes after it stopped; not handing it over.", unit);
                s->take_pending = false;
                return;
        }
        if (s->triggered && !s->take_side_checked) {
                s->take_side_checked = true;
                gate_submit(s, GATE_PROCESSES, s->triggered, on_take_check);
                return;
        }
        s->take_pending = false;
        manager_send(s->manager, s->take_to, &s->take_msg);
        (void) manager_flush(s->manager);
}

bool supervise_hold_take(Manager *m, uint16_t to, const PeerMsg *msg) {
        Supervised *s = supervise_find(m, msg->name);

        if (!s || s->take_pending)
                return false;
        s->take_pending = true;
        s->take_side_checked = false;
        s->take_to = to;
        s->take_msg = *msg;
        gate_submit(s, GATE_PROCESSES, unit_of(s), on_take_check);
        return true;
}

void supervise_notify(Manager *m, Supervised *s, const Action *a) {
        if (a->notify.kind == NOTIFY_OWNER && s->pending && s->moving_to != PES_HOST_NONE && !s->move_confirming &&
            a->notify.holder == s->moving_to && a->notify.value_kind == VALUE_LEASE) {
                /* The new tenure began; the move is done once the unit is active there. */
                s->move_confirming = true;
                s->moved_token = a->notify.token;
                move_probe(s);
        }
}

int supervise_declare(Manager *m, const char *unit, char **settings, bool disable, sd_bus_message *call,
                      sd_bus_error *error) {
        _cleanup_free_ char *rt = runtime_dir_path(m), *path = NULL, *reason = NULL;
        UnitConf conf;
        int r;

        if (!unit_name_supervisable(unit))
                return sd_bus_error_setf(error, "org.pes1.Error.InvalidName",
                                         "'%s' is not a unit pes can supervise (NAME.service, NAME.timer or NAME.socket).",
                                         unit);
        if (supervise_find(m, unit))
                return sd_bus_error_setf(error, "org.pes1.Error.AlreadySupervised", "%s is supervised already.", unit);
        r = unit_conf_init(&conf, unit);
        if (r < 0)
                return r;
        for (char **kv = settings; kv && *kv; kv++) {
                _cleanup_free_ char *key = NULL;
                const char *eq = strchr(*kv, '=');

                if (!eq || eq == *kv) {
                        unit_conf_done(&conf);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "'%s' is not KEY=VALUE.", *kv);
                }
                key = strndup(*kv, (size_t) (eq - *kv));
                if (!key || unit_conf_set(&conf, key, eq + 1, &reason) < 0) {
                        unit_conf_done(&conf);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", reason ?: "Out of memory.");
                }
        }
        if (!rt || asprintf(&path, "%s/%s.conf", rt, unit) < 0) {
                unit_conf_done(&conf);
                return -ENOMEM;
        }
        (void) mkdir(rt, 0700);
        r = unit_conf_write(&conf, path);
        if (r < 0) {
                unit_conf_done(&conf);
                return sd_bus_error_set_errnof(error, -r, "Cannot persist the declaration in %s: %m", path);
        }
        return supervised_add(m, &conf, true, disable, call) ? 1 : -ENOMEM;
}

int supervise_undeclare(Manager *m, const char *unit, sd_bus_error *error) {
        Supervised *s = supervise_find(m, unit);
        _cleanup_free_ char *rt = runtime_dir_path(m), *path = NULL;

        if (!s || (s->phase == SUP_REFUSED && s->refusal && strcmp(s->refusal, "no longer supervised") == 0))
                return sd_bus_error_setf(error, "org.pes1.Error.NoSuchName", "%s is not supervised here.", unit);
        if (!s->runtime)
                return sd_bus_error_setf(error, "org.pes1.Error.DeclaredInFile",
                                         "%s is declared in %s; remove that file and restart pesd.", unit,
                                         s->conf.path ?: m->config.units_dir);
        if (rt && asprintf(&path, "%s/%s.conf", rt, unit) >= 0)
                (void) unlink(path);
        /* The core releases the name (stopping the unit here if it runs). */
        (void) node_release(m->node, unit, manager_now(m), &m->actions);
        (void) dropin_remove(RUNTIME_UNIT_DIR, unit);
        if (s->triggered)
                (void) dropin_remove(RUNTIME_UNIT_DIR, s->triggered);
        free(s->refusal);
        s->refusal = strdup("no longer supervised");
        if (s->phase != SUP_STOPPING && s->phase != SUP_STARTING && s->phase != SUP_RUNNING)
                s->phase = SUP_REFUSED;
        (void) systemd_client_unwatch(m->systemd, unit);
        log_unit(LOG_INFO, s, "No longer supervising %s.", unit);
        return manager_flush(m);
}

static int on_move_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        Supervised *s = userdata;

        s->retry = sd_event_source_disable_unref(s->retry);
        if (s->move_confirming)
                answer_pending_error(s, "org.pes1.Error.MoveFailed",
                                     "%s took %s over but did not report it active in time.",
                                     manager_host_name(s->manager, s->moving_to), unit_of(s));
        else
                answer_pending_error(s, "org.pes1.Error.MoveFailed",
                                     "%s did not take %s over in time; the reservation lapses and election resumes.",
                                     manager_host_name(s->manager, s->moving_to), unit_of(s));
        s->moving_to = PES_HOST_NONE;
        s->move_confirming = false;
        s->move_poll = sd_event_source_disable_unref(s->move_poll);
        return 0;
}

int supervise_move(Manager *m, const char *unit, const char *host, sd_bus_message *call, sd_bus_error *error) {
        Supervised *s = supervise_find(m, unit);
        uint16_t to = manager_host_id(m, host);
        Peer *p = peers_find(m->peers, to);
        uint64_t now = manager_now(m), lease;
        int r;

        if (!s || s->phase == SUP_REFUSED)
                return sd_bus_error_setf(error, "org.pes1.Error.NoSuchName", "%s is not supervised here.", unit);
        if (!p)
                return sd_bus_error_setf(error, "org.pes1.Error.NoSuchHost", "No host '%s' in this cluster.", host);
        if (to == m->self)
                return sd_bus_error_setf(error, "org.pes1.Error.MoveFailed", "%s runs here already if it runs here.",
                                         unit);
        if (unit_conf_weight(&s->conf, host) == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.NotEligible", "%s is not eligible for %s (Hosts=, Prefer=).",
                                         host, unit);
        if (p->state != PEER_ALIVE)
                return sd_bus_error_setf(error, "org.pes1.Error.Unreachable", "%s is not reachable (%s).", host,
                                         peer_state_to_string(p->state));
        if (!node_holds(m->node, unit, now)) {
                NameView v;
                const char *owner = manager_name_view(m, unit, &v) && v.holder ? manager_host_name(m, v.holder) : NULL;

                return sd_bus_error_setf(error, "org.pes1.Error.NotOwner",
                                         "This host does not hold %s%s%s%s.", unit, owner ? "; run the move on " : "",
                                         owner ?: "", owner ? ", its owner" : "");
        }
        if (s->pending)
                return sd_bus_error_setf(error, "org.pes1.Error.Busy", "A change of %s is in progress already.", unit);

        r = node_move(m->node, unit, to, now, &m->actions);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Cannot move %s: %m", unit);
        s->pending = sd_bus_message_ref(call);
        s->moving_to = to;
        /* The reservation lasts one lease; give the new owner that and a start. */
        lease = lease_from_heartbeat(s->conf.heartbeat ?: m->config.heartbeat);
        s->retry = sd_event_source_disable_unref(s->retry);
        (void) sd_event_add_time_relative(m->event, &s->retry, CLOCK_MONOTONIC, 2 * lease + s->conf.stop + 5 * USEC_PER_SEC,
                                          0, on_move_timeout, s);
        log_unit(LOG_INFO, s, "Moving %s to %s.", unit, host);
        r = manager_flush(m);
        return r < 0 ? r : 1;
}
