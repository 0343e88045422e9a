/* SPDX-License-Identifier: MIT */
/* A tiny message pump that drives a few core nodes by hand, for the regression scenarios. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/node.h"

#define PUMP_NODES_MAX 7
#define PUMP_NAMES_MAX 4
#define PUMP_NAME_LEN (PES_NAME_MAX + 1)

typedef struct PumpMsg {
        uint64_t at;
        uint16_t to;
        PeerMsg msg;
} PumpMsg;

typedef struct PumpDisk {
        char name[PUMP_NAME_LEN];
        Ballot bp;
        RegValue v;
} PumpDisk;

typedef struct PumpUnit {
        char name[PUMP_NAME_LEN];
        bool supervised;
        bool running;
        bool stopping;
        uint64_t stop_at; /* true time the stop completes (UINT64_MAX: never by itself) */
} PumpUnit;

/*
 * Every host has its own clock: local = base + true·(10⁶ + drift_ppm)/10⁶. The pump
 * owns the true time, delivers messages after a fixed latency (dropping those
 * of cut links and down hosts), runs each node's timers when due on its clock,
 * models units that take stop_delay to stop, and checks I1, I3 and I4 after
 * every step.
 */
typedef struct Pump {
        unsigned n;
        uint64_t now;
        uint64_t latency;
        uint64_t stop_delay;
        uint64_t seed;
        VoterConfig config;
        GuardParams params;

        Node *node[PUMP_NODES_MAX + 1];
        VoterConfig node_config[PUMP_NODES_MAX + 1];
        uint64_t incarnation[PUMP_NODES_MAX + 1];
        uint64_t rng_state[PUMP_NODES_MAX + 1];
        int64_t drift_ppm[PUMP_NODES_MAX + 1];
        uint64_t clock_base[PUMP_NODES_MAX + 1];
        bool down[PUMP_NODES_MAX + 1];
        bool cut[PUMP_NODES_MAX + 1][PUMP_NODES_MAX + 1];

        PumpDisk disk[PUMP_NODES_MAX + 1][PUMP_NAMES_MAX];
        unsigned n_disk[PUMP_NODES_MAX + 1];
        PumpUnit unit[PUMP_NODES_MAX + 1][PUMP_NAMES_MAX];
        Ballot max_bp[PUMP_NODES_MAX + 1][PUMP_NAMES_MAX];

        PumpMsg *queue;
        size_t n_queue, allocated_queue;
        ActionList out;

        /* Last token a START_UNIT carried, per name slot, for I3; and how many starts. */
        char names[PUMP_NAMES_MAX][PUMP_NAME_LEN];
        unsigned n_names;
        uint64_t last_start_token[PUMP_NAMES_MAX];
        unsigned starts[PUMP_NAMES_MAX];
        unsigned kills[PUMP_NODES_MAX + 1];
        unsigned takes_sent;
        unsigned nack_live_seen[PUMP_NODES_MAX + 1];
        unsigned config_notices[PUMP_NODES_MAX + 1];

        /* The voter-configuration register on disk (ACTION_PERSIST_CONFIG), per host. */
        bool has_cfg_disk[PUMP_NODES_MAX + 1];
        VoterConfig cfg_installed[PUMP_NODES_MAX + 1];
        Ballot cfg_bp[PUMP_NODES_MAX + 1], cfg_ba[PUMP_NODES_MAX + 1];
        VoterConfig cfg_accepted[PUMP_NODES_MAX + 1];
        /* NOTIFY_CHANGE: steps seen, and the end of the last change driven by the host. */
        unsigned change_steps[PUMP_NODES_MAX + 1];
        bool change_done[PUMP_NODES_MAX + 1];
        int change_error[PUMP_NODES_MAX + 1];
        uint16_t change_host[PUMP_NODES_MAX + 1];
        unsigned installs[PUMP_NODES_MAX + 1];
        /* ACCEPTs sent by rescans: identity rounds, and FREE over an expired claim. */
        unsigned identity_sent, rescan_free_sent;
} Pump;

/* n hosts 1..n, the first n_voters of them voters; every acceptor bootstraps at time 0. */
void pump_init(Pump *p, unsigned n, unsigned n_voters, uint64_t seed);
void pump_done(Pump *p);

uint64_t pump_local(const Pump *p, unsigned host);

void pump_supervise(Pump *p, unsigned host, const char *name);
void pump_release(Pump *p, unsigned host, const char *name);
void pump_move(Pump *p, unsigned host, const char *name, unsigned to);

/* Runs events until true time `until`, asserting the invariants after each step. */
void pump_run_until(Pump *p, uint64_t until);

/* Crashes a host: volatile state gone, its units stopped (BindsTo=pesd.service). */
void pump_crash(Pump *p, unsigned host);
/* Restarts a crashed host with its disk; it supervises again what it supervised. */
void pump_restart(Pump *p, unsigned host);

/*
 * Starts a change of the voter configuration driven by host (node_config_change());
 * returns its immediate result.
 */
int pump_config_change(Pump *p, unsigned host, ConfigChangeKind kind, uint16_t x);

/* Installs a chosen configuration on one host (node_set_config()), as a CFG_COMMIT would. */
int pump_set_config(Pump *p, unsigned host, const VoterConfig *c);

/* Cuts (or heals) the links between a and b in both directions. */
void pump_cut(Pump *p, unsigned a, unsigned b, bool cut);
/* Isolates a host from every other (or heals it). */
void pump_isolate(Pump *p, unsigned host, bool cut);

/* Replaces a host's node with one built on another configuration (a different Peers= list). */
void pump_reconfigure_host(Pump *p, unsigned host, const VoterConfig *c);

/* The host whose guard believes it holds name now (0: none). */
unsigned pump_holder(const Pump *p, const char *name);
bool pump_unit_running(const Pump *p, unsigned host, const char *name);
Guard *pump_guard(const Pump *p, unsigned host, const char *name);
