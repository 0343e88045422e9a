/* SPDX-License-Identifier: MIT */
/* Supervised systemd units: declarations, drop-ins, and carrying out the core's start/stop/kill on them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "core/action.h"
#include "daemon/unit-conf.h"
#include "net/net-error.h"
#include "systemd/systemd-client.h"

typedef struct Manager Manager;

typedef enum SupervisedPhase {
        SUP_CHECKING,   /* asking systemd whether the unit exists and is not enabled */
        SUP_REFUSED,    /* the unit cannot be supervised here (see .refusal) */
        SUP_IDLE,       /* declared, drop-in installed; not running here */
        SUP_STARTING,   /* StartUnit sent for our tenure */
        SUP_RUNNING,    /* active here under our tenure */
        SUP_STOPPING,   /* StopUnit sent (fence, release, handoff, failure, or a stray start) */
        _SUP_PHASE_MAX,
} SupervisedPhase;

typedef struct Supervised {
        Manager *manager;
        UnitConf conf;
        bool runtime;          /* declared at run time, persisted in the state dir */
        char *triggered;       /* .timer/.socket: the service it triggers, stopped with it */
        char *refusal;         /* why it cannot be supervised here */
        SupervisedPhase phase;
        UnitStatus status;     /* as systemd last said */
        bool have_status;
        bool held;             /* our tenure runs (START_UNIT seen, no STOP since) */
        uint64_t token;
        unsigned stop_checks;  /* cgroup-empty checks after a stop */
        bool stop_call_failed; /* systemd did not take the StopUnit: send it again */
        bool kill_call_failed; /* systemd did not take the KillUnit: send it again */
        bool counted_checking; /* counted in the manager's units_checking */
        bool deferred;         /* declared before this host was ready: campaigns once it is */
        bool watch_gated;      /* its watch holds a gate slot until its first report */
        sd_event_source *health_timer; /* the next HealthURL= probe, while it runs here */
        unsigned health_failures;      /* consecutive failed probes */
        bool health_inflight;
        sd_event_source *watch_gate_timer;
        uint64_t reload_wait;  /* waits for this daemon-reload (the count of reloads started) */
        uint64_t failures[16]; /* node-clock times of recent failures */
        unsigned n_failures;
        sd_event_source *retry;    /* re-check of an emptying cgroup, or the end of a backoff */
        sd_bus_message *pending;   /* a Supervise/Move call answered later */
        uint16_t moving_to;
        bool take_pending;     /* a TAKE waits for the cgroup re-check */
        bool take_side_checked;
        uint16_t take_to;
        PeerMsg take_msg;
        bool move_confirming;  /* the new owner's tenure began; asking whether it runs there */
        uint64_t moved_token;
        sd_event_source *move_poll;
        struct Supervised *next;
} Supervised;

/* Connects to systemd and declares every unit of the units.d directories. */
int supervise_setup(Manager *m);
void supervise_done(Manager *m);

Supervised *supervise_find(Manager *m, const char *unit);

/* The client of plain GET probes (health checks, move confirmations, a leaving
 * host asking who supervises a unit), made when first needed. */
int supervise_probe_client(Manager *m, NetError *err);

/* http://ADDRESS:PORT/v1/units/UNIT on peer p (its state of a unit), or NULL when out of memory. */
char *supervise_unit_url(const struct Peer *p, const char *unit);

/* START_UNIT, STOP_UNIT and KILL_UNIT for a supervised unit (the core's actions). */
void supervise_start(Manager *m, Supervised *s, const Action *a);
void supervise_stop(Manager *m, Supervised *s, const Action *a);
void supervise_kill(Manager *m, Supervised *s, const Action *a);
/* NOTIFY actions about a supervised unit. */
void supervise_notify(Manager *m, Supervised *s, const Action *a);

/* This host may have become ready (acceptor started, quorate): deferred campaigns begin. */
void supervise_ready(Manager *m);

/* The candidates of every supervised unit changed (a peer's liveness). */
void supervise_update_candidates(Manager *m);

/*
 * D-Bus Supervise: declares unit at run time with the given [Supervise]
 * settings (key/value pairs, NULL-terminated), persists it, and answers call
 * once systemd confirmed the unit. disable: disable the unit's boot start first.
 */
int supervise_declare(Manager *m, const char *unit, char **settings, bool disable, sd_bus_message *call,
                      sd_bus_error *error);
/* D-Bus Unsupervise: stops supervising unit here (stopping it if it runs here). */
int supervise_undeclare(Manager *m, const char *unit, sd_bus_error *error);
/* D-Bus Move: hands the unit to host; answered once host's tenure began. */
int supervise_move(Manager *m, const char *unit, const char *host, sd_bus_message *call, sd_bus_error *error);

/*
 * A TAKE (handoff) for a supervised unit is sent only after its cgroup (and its
 * triggered service's) is checked empty once more. Returns true if it took the
 * message over (it sends it itself), false to let the caller send it now.
 */
bool supervise_hold_take(Manager *m, uint16_t to, const PeerMsg *msg);

const char *supervised_phase_to_string(SupervisedPhase p);
