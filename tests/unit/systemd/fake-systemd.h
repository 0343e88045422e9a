/* SPDX-License-Identifier: MIT */
/* A small fake org.freedesktop.systemd1 on a private dbus-daemon, for the module tests of the bus client. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/*
 * A private dbus-daemon started from a minimal configuration in a temporary
 * directory; its address is what sd_bus_set_address() takes.
 */
typedef struct PrivateBus {
        pid_t pid;
        char dir[64];
        char address[256];
} PrivateBus;

/* Starts dbus-daemon and waits for it to print its address. Returns 0 or a negative errno. */
int private_bus_start(PrivateBus *b);

/* Stops the dbus-daemon started by private_bus_start() and removes its directory. */
void private_bus_stop(PrivateBus *b);

/* Opens a connection to the private bus, attached to e. Returns 0 or a negative errno. */
int private_bus_connect(const PrivateBus *b, sd_event *e, sd_bus **ret);

typedef struct FakeUnit {
        char name[64];
        char load_state[32];
        char unit_file_state[32];
        char active_state[32];
        char sub_state[32];
        char result[32];
        uint32_t main_pid;
        char **triggers;
        unsigned n_processes;

        /* How the next jobs of this unit end. */
        const char *job_result;       /* "done" when NULL */
        bool job_removed_before_reply; /* JobRemoved is sent before StartUnit/StopUnit's reply */
        bool hold_jobs;               /* jobs wait for fake_systemd_complete_jobs() */

        /* Jobs held: their ids, all of one start or stop that systemd would merge. */
        uint32_t held_job;
        bool held_is_start;
} FakeUnit;

#define FAKE_UNITS_MAX 16

typedef struct FakeSystemd {
        sd_bus *bus;
        sd_event *event;
        sd_bus_slot *manager_slot, *unit_slot;
        FakeUnit units[FAKE_UNITS_MAX];
        unsigned n_units;
        uint32_t next_job;
        unsigned n_subscribe;
        unsigned n_start_calls;
        /* Every method call received, as "Member arg…" lines, in order. */
        char log[4096];
        /* The arguments of the last KillUnit(). */
        char kill_whom[16];
        int kill_signal;
} FakeSystemd;

/* Connects the fake to the private bus on e and takes the name org.freedesktop.systemd1. */
int fake_systemd_start(FakeSystemd *f, const PrivateBus *b, sd_event *e);

/* Releases the fake's connection and units. */
void fake_systemd_stop(FakeSystemd *f);

/* Adds a loaded unit, inactive (dead) and disabled; returns it for further settings. */
FakeUnit *fake_systemd_add_unit(FakeSystemd *f, const char *name);

/* Returns the unit of that name, or NULL. */
FakeUnit *fake_systemd_find_unit(FakeSystemd *f, const char *name);

/*
 * Sets a unit's state and emits PropertiesChanged for the Unit interface and
 * the interface of its type, as systemd does on a state change.
 */
int fake_systemd_set_state(FakeSystemd *f, FakeUnit *u, const char *active, const char *sub, const char *result,
                           uint32_t main_pid);

/*
 * Sets a unit's ActiveState= and SubState= and announces them as invalidated
 * (names without values), which a client must answer by reading them.
 */
int fake_systemd_invalidate_state(FakeSystemd *f, FakeUnit *u, const char *active, const char *sub);

/* Ends the held job of a unit with its job_result. */
int fake_systemd_complete_jobs(FakeSystemd *f, FakeUnit *u);
