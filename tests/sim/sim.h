/* SPDX-License-Identifier: MIT */
/* The deterministic cluster simulator: one seed, one run of a whole pes cluster on the core. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Up to 7 hosts: every host a candidate, up to 7 of them voters (DESIGN.md "Roles"). */
#define SIM_NODES_MIN 3
#define SIM_NODES_MAX 7
#define SIM_NAMES_MAX 1000

/*
 * How the simulated daemon runs the core's timers; node.h allows both. pesd keeps
 * one loop timer at node_next_deadline() (at most H/2 ahead) and calls node_tick();
 * the other way re-arms one timer per name at every ARM_TIMER and calls node_timer().
 */
typedef enum SimTimers {
        SIM_TIMERS_TICK,
        SIM_TIMERS_PER_NAME,
} SimTimers;

/*
 * How the simulated daemon's writer thread commits. pesd (src/daemon/store.c)
 * uses group commit: everything queued while the writer was busy goes in one
 * transaction. SIM_STORE_SERIAL, one transaction and fsync per loop turn, is
 * the store pesd had before (FINDINGS.md F3), kept to show why.
 */
typedef enum SimStore {
        SIM_STORE_GROUP,
        SIM_STORE_SERIAL,
} SimStore;

typedef struct SimParams {
        uint64_t seed;
        unsigned n_nodes;        /* 0: the seed chooses (3–7) */
        unsigned n_names;        /* 0: the seed chooses */
        uint64_t max_steps;      /* events to process */
        bool verbose;            /* print every trace record as it happens */
        unsigned trace_lines;    /* how many trace records to print on a violation */
        bool quiet_violation;    /* do not print the trace on a violation */
        const char *only;        /* stop only on this invariant ("I1"); count the others */
        const char *ignore;      /* comma-separated invariants to count but not stop on */
        SimTimers timers;
        SimStore store;
        /*
         * Voter changes driven through the core (node_config_change()): 5–7 hosts,
         * 3 voters at first, the voters cycled 3→4→5→4→3 (removing a voter that is
         * down first: a replacement), resumed or rolled back when a drive is lost.
         * Disks are not wiped in these runs.
         */
        bool reconf;
        bool reconf_wipes; /* with --reconf, disks are wiped too */
        /*
         * No fault phases: releases, moves and voter changes on a healthy cluster,
         * where I5 says that no holder ever loses its lease (no unit interrupted).
         */
        bool calm_only;
        FILE *log;               /* where traces and reports go (stderr if NULL) */
} SimParams;

typedef struct SimResult {
        uint64_t steps;
        uint64_t sim_usec;       /* simulated (true) time covered */
        unsigned n_nodes, n_voters, n_names;

        bool violated;
        char invariant[8];       /* "I1" … "I8" */
        char detail[512];
        uint64_t other_violations; /* of invariants other than .only */
        char first_other[600];     /* the first of them */

        /*
         * I8: the worst failover delay seen, the bound of that name it was checked
         * against, and the largest bound of any name of the run.
         */
        uint64_t worst_failover_usec;
        uint64_t worst_failover_bound_usec;
        char worst_failover_name[32];
        uint64_t failover_bound_usec;
        uint64_t failovers;
        /*
         * DESIGN.md states I8 as "within T plus backoff": the most any failover
         * took beyond waiting out a lease, T·(1+ρ)/(1−ρ), and that name's T.
         */
        uint64_t worst_beyond_lease_usec;
        uint64_t worst_beyond_lease_t_usec;

        /* What happened, for the soak summary. */
        uint64_t tenures;
        uint64_t messages;
        uint64_t crashes;
        uint64_t wipes;
        uint64_t partitions;
        uint64_t pauses;
        uint64_t moves;
        uint64_t releases;
        uint64_t unit_failures;
        uint64_t fences;
        /* Voter changes: completed, ended with an error, configurations installed, most voters at once. */
        uint64_t voter_changes;
        uint64_t voter_change_errors;
        uint64_t installs;
        unsigned max_voters;
        uint64_t last_epoch;
        uint64_t identity_accepts; /* ACCEPTs of a rescan's identity rounds sent */
        uint64_t replacements;     /* removals of a voter that was down, started */
        uint64_t rescan_frees;     /* ACCEPTs of FREE over an expired claim, by a rescan */
} SimResult;

/*
 * Runs one simulation. Returns 0 when it ran (check ret->violated), or a negative
 * errno when the simulator itself failed (out of memory, a core call refused an
 * argument the simulator built). On a violation the trace of the last
 * trace_lines records is printed to log.
 */
int sim_run(const SimParams *p, SimResult *ret);
