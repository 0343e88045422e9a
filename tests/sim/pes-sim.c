/* SPDX-License-Identifier: MIT */
/* pes-sim: runs the deterministic cluster simulator for one seed or a range of seeds. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define STEPS_DEFAULT UINT64_C(100000)
#define TRACE_LINES_DEFAULT 300u

static void help(void) {
        printf("pes-sim [OPTIONS]\n"
               "Simulates a pes cluster on the consensus core under faults and checks the\n"
               "invariants I1–I8 of DESIGN.md after every step.\n\n"
               "  --seed N               run one seed (the default is seed 1)\n"
               "  --seeds N              run N seeds, from --first-seed on\n"
               "  --first-seed N         the first seed of --seeds (default 1)\n"
               "  --steps M              steps per seed (default %" PRIu64 ")\n"
               "  --nodes K              hosts, 3–7 (default: chosen by each seed)\n"
               "  --names K              names (default: chosen by each seed)\n"
               "  --timers tick|per-name the daemon's loop timer at node_next_deadline()\n"
               "                         with node_tick() (default, as pesd), or one timer\n"
               "                         per name re-armed by ARM_TIMER with node_timer()\n"
               "  --store group|serial   group commit (default, as pesd's store) or one\n"
               "                         fsync per loop turn (pesd's earlier store)\n"
               "  --verbose              print every step's trace as it happens\n"
               "  --trace-lines N        trace records printed on a violation (default %u)\n"
               "  --expect-violation I   succeed only if some seed violates invariant I\n"
               "                         (for cores built with a safety rule disabled)\n"
               "  --ignore LIST          count violations of these invariants (I2,B1,…) but\n"
               "                         go on (to look past a known finding by hand)\n"
               "  --reconf               voter changes through the core: 5–7 hosts, 3 voters\n"
               "                         cycled 3→4→5→4→3 (down voters replaced first),\n"
               "                         drives resumed or rolled back; no lost disks\n"
               "  --reconf-wipes         the same with lost disks (a wiped host boots with\n"
               "                         the cluster's newest configuration)\n"
               "  --calm                 no faults: releases, moves (and voter changes);\n"
               "                         I5 then says no holder ever loses its lease\n"
               "  --help                 this text\n",
               STEPS_DEFAULT, TRACE_LINES_DEFAULT);
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != 0 || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Wall-clock time, for the steps-per-second figure only: the simulation never reads it. */
static double wall_seconds(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[]) {
        enum {
                ARG_SEED = 0x100,
                ARG_SEEDS,
                ARG_FIRST_SEED,
                ARG_STEPS,
                ARG_NODES,
                ARG_NAMES,
                ARG_VERBOSE,
                ARG_TRACE_LINES,
                ARG_EXPECT,
                ARG_TIMERS,
                ARG_STORE,
                ARG_IGNORE,
                ARG_RECONF,
                ARG_RECONF_WIPES,
                ARG_CALM,
                ARG_HELP,
        };
        static const struct option options[] = {
                { "seed", required_argument, NULL, ARG_SEED },
                { "seeds", required_argument, NULL, ARG_SEEDS },
                { "first-seed", required_argument, NULL, ARG_FIRST_SEED },
                { "steps", required_argument, NULL, ARG_STEPS },
                { "nodes", required_argument, NULL, ARG_NODES },
                { "names", required_argument, NULL, ARG_NAMES },
                { "verbose", no_argument, NULL, ARG_VERBOSE },
                { "trace-lines", required_argument, NULL, ARG_TRACE_LINES },
                { "expect-violation", required_argument, NULL, ARG_EXPECT },
                { "timers", required_argument, NULL, ARG_TIMERS },
                { "store", required_argument, NULL, ARG_STORE },
                { "ignore", required_argument, NULL, ARG_IGNORE },
                { "reconf", no_argument, NULL, ARG_RECONF },
                { "reconf-wipes", no_argument, NULL, ARG_RECONF_WIPES },
                { "calm", no_argument, NULL, ARG_CALM },
                { "help", no_argument, NULL, ARG_HELP },
                {}
        };
        uint64_t first = 1, n_seeds = 1, steps = STEPS_DEFAULT, v;
        uint64_t total_steps = 0, total_usec = 0, worst = 0, worst_seed = 0, worst_bound = 0, bound = 0, failovers = 0;
        double worst_ratio = 0;
        uint64_t beyond = 0, beyond_t = 0, beyond_seed = 0;
        uint64_t ratio_seed = 0;
        uint64_t ignored = 0;
        uint64_t tenures = 0, crashes = 0, wipes = 0, partitions = 0, moves = 0, fences = 0, messages = 0;
        uint64_t changes = 0, change_errors = 0, installs = 0, epochs = 0, identities = 0, frees = 0, replacements = 0;
        unsigned max_voters = 0;
        char worst_name[32] = "";
        const char *expect = NULL;
        SimParams p = { .trace_lines = TRACE_LINES_DEFAULT };
        bool single = true;
        double t0, wall;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case ARG_SEED:
                case ARG_SEEDS:
                case ARG_FIRST_SEED:
                case ARG_STEPS:
                case ARG_NODES:
                case ARG_NAMES:
                case ARG_TRACE_LINES:
                        if (parse_u64(optarg, &v) < 0) {
                                fprintf(stderr, "pes-sim: %s: not a number: '%s'\n", argv[optind - 1], optarg);
                                return 2;
                        }
                        if (c == ARG_SEED) {
                                first = v;
                                n_seeds = 1;
                                single = true;
                        } else if (c == ARG_SEEDS) {
                                n_seeds = v;
                                single = false;
                        } else if (c == ARG_FIRST_SEED)
                                first = v;
                        else if (c == ARG_STEPS)
                                steps = v;
                        else if (c == ARG_NODES) {
                                if (v < SIM_NODES_MIN || v > SIM_NODES_MAX) {
                                        fprintf(stderr, "pes-sim: --nodes must be %d–%d\n", SIM_NODES_MIN, SIM_NODES_MAX);
                                        return 2;
                                }
                                p.n_nodes = (unsigned) v;
                        } else if (c == ARG_NAMES) {
                                if (v < 1 || v > SIM_NAMES_MAX) {
                                        fprintf(stderr, "pes-sim: --names must be 1–%d\n", SIM_NAMES_MAX);
                                        return 2;
                                }
                                p.n_names = (unsigned) v;
                        } else
                                p.trace_lines = (unsigned) (v > 100000 ? 100000 : v);
                        break;
                case ARG_VERBOSE:
                        p.verbose = true;
                        break;
                case ARG_EXPECT:
                        expect = optarg;
                        break;
                case ARG_IGNORE:
                        p.ignore = optarg;
                        break;
                case ARG_RECONF:
                        p.reconf = true;
                        break;
                case ARG_RECONF_WIPES:
                        p.reconf = true;
                        p.reconf_wipes = true;
                        break;
                case ARG_CALM:
                        p.calm_only = true;
                        break;
                case ARG_STORE:
                        if (strcmp(optarg, "serial") == 0)
                                p.store = SIM_STORE_SERIAL;
                        else if (strcmp(optarg, "group") == 0)
                                p.store = SIM_STORE_GROUP;
                        else {
                                fprintf(stderr, "pes-sim: --store must be serial or group, not '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case ARG_TIMERS:
                        if (strcmp(optarg, "tick") == 0)
                                p.timers = SIM_TIMERS_TICK;
                        else if (strcmp(optarg, "per-name") == 0)
                                p.timers = SIM_TIMERS_PER_NAME;
                        else {
                                fprintf(stderr, "pes-sim: --timers must be tick or per-name, not '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case ARG_HELP:
                        help();
                        return 0;
                default:
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "pes-sim: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        p.max_steps = steps;
        p.log = stderr;
        t0 = wall_seconds();
        for (uint64_t i = 0; i < n_seeds; i++) {
                SimResult res;

                p.seed = first + i;
                /* A core built with a rule disabled: look for the one violation it must show. */
                p.only = expect;
                r = sim_run(&p, &res);
                if (r < 0) {
                        fprintf(stderr, "pes-sim: seed %" PRIu64 ": the simulator failed: %s\n", p.seed, strerror(-r));
                        return 1;
                }

                total_steps += res.steps;
                total_usec += res.sim_usec;
                failovers += res.failovers;
                tenures += res.tenures;
                crashes += res.crashes;
                wipes += res.wipes;
                partitions += res.partitions;
                moves += res.moves;
                fences += res.fences;
                messages += res.messages;
                changes += res.voter_changes;
                identities += res.identity_accepts;
                replacements += res.replacements;
                frees += res.rescan_frees;
                change_errors += res.voter_change_errors;
                installs += res.installs;
                epochs += res.last_epoch > 1 ? res.last_epoch - 1 : 0;
                if (res.max_voters > max_voters)
                        max_voters = res.max_voters;
                if (res.failover_bound_usec > bound)
                        bound = res.failover_bound_usec;
                if (res.worst_failover_bound_usec > 0 &&
                    (double) res.worst_failover_usec / (double) res.worst_failover_bound_usec > worst_ratio) {
                        worst_ratio = (double) res.worst_failover_usec / (double) res.worst_failover_bound_usec;
                        ratio_seed = p.seed;
                }
                if (res.worst_beyond_lease_usec > beyond) {
                        beyond = res.worst_beyond_lease_usec;
                        beyond_t = res.worst_beyond_lease_t_usec;
                        beyond_seed = p.seed;
                }
                if (res.worst_failover_usec > worst) {
                        worst = res.worst_failover_usec;
                        worst_bound = res.worst_failover_bound_usec;
                        worst_seed = p.seed;
                        snprintf(worst_name, sizeof(worst_name), "%s", res.worst_failover_name);
                }
                if (p.verbose || single)
                        fprintf(stderr, "pes-sim: seed %" PRIu64 ": %u hosts (%u voters), %u names, %" PRIu64 " steps, %.1f s simulated, %" PRIu64 " tenures, worst failover %.3f s (bound of that name %.3f s)%s%s\n",
                                p.seed, res.n_nodes, res.n_voters, res.n_names, res.steps, (double) res.sim_usec / 1e6,
                                res.tenures, (double) res.worst_failover_usec / 1e6, (double) res.worst_failover_bound_usec / 1e6,
                                res.violated ? ": VIOLATED " : "", res.violated ? res.invariant : "");

                ignored += res.other_violations;
                if ((expect || p.ignore) && res.other_violations > 0 && p.verbose)
                        printf("pes-sim: seed %" PRIu64 ": %" PRIu64 " violations of other invariants, the first: %s\n",
                               p.seed, res.other_violations, res.first_other);
                if (res.violated) {
                        if (expect && strcmp(expect, res.invariant) == 0) {
                                printf("pes-sim: found the expected %s violation with seed %" PRIu64 " (the %" PRIu64 ". seed tried, after %" PRIu64 " steps of it): %s\n",
                                       expect, p.seed, i + 1, res.steps, res.detail);
                                return 0;
                        }
                        printf("pes-sim: FAILED: seed %" PRIu64 ": %s violated: %s\n", p.seed, res.invariant, res.detail);
                        return 1;
                }
        }
        wall = wall_seconds() - t0;

        printf("pes-sim: seeds %" PRIu64 "–%" PRIu64 ": %" PRIu64 " steps, %.0f s simulated, %.2f s wall, %.0f steps/s\n",
               first, first + n_seeds - 1, total_steps, (double) total_usec / 1e6, wall,
               wall > 0 ? (double) total_steps / wall : 0.0);
        printf("pes-sim: %" PRIu64 " tenures, %" PRIu64 " messages, %" PRIu64 " crashes (%" PRIu64 " lost disks), %" PRIu64 " partitions, %" PRIu64 " moves, %" PRIu64 " self-fences\n",
               tenures, messages, crashes, wipes, partitions, moves, fences);
        printf("pes-sim: worst failover delay %.3f s (seed %" PRIu64 ", %s, whose bound is %.3f s) over %" PRIu64 " failovers;\n"
               "pes-sim: closest to its bound: %.0f %% of it (seed %" PRIu64 "); bound per name T·(1+ρ)/(1−ρ) + S + (n+1)·Δ + 2·H, at most %.3f s\n",
               (double) worst / 1e6, worst_seed, worst_name[0] ? worst_name : "-", (double) worst_bound / 1e6, failovers,
               worst_ratio * 100, ratio_seed, (double) bound / 1e6);
        printf("pes-sim: DESIGN.md I8 \"within T plus backoff\": the most beyond waiting out a lease (T·(1+ρ)/(1−ρ)) was %.3f s (seed %" PRIu64 ", T = %.1f s)\n",
               (double) beyond / 1e6, beyond_seed, (double) beyond_t / 1e6);

        if (p.reconf)
                printf("pes-sim: voter changes: %" PRIu64 " completed, %" PRIu64 " ended with an error (resumed later), %" PRIu64 " epochs chosen, %" PRIu64 " installs, up to %u voters\n",
                       changes, change_errors, epochs, installs, max_voters);
        if (p.reconf)
                printf("pes-sim: %" PRIu64 " removals of a voter that was down started (replacements)\n", replacements);
        if (p.reconf)
                printf("pes-sim: rescans sent %" PRIu64 " identity ACCEPTs and %" PRIu64 " ACCEPTs of FREE over expired claims\n",
                       identities, frees);

        if (expect) {
                printf("pes-sim: FAILED: no seed violated %s\n", expect);
                return 1;
        }
        if (p.ignore && ignored > 0) {
                printf("pes-sim: all invariants held but the ignored ones (%s): %" PRIu64 " violations of those\n",
                       p.ignore, ignored);
                return 1;
        }
        printf("pes-sim: all invariants held (I1–I8)\n");
        return 0;
}
