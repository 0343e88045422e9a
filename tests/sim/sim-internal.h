/* SPDX-License-Identifier: MIT */
/* The simulator's internal state, shared by the engine (sim.c), the checker and the trace. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "core/guard.h"
#include "core/msg.h"
#include "core/node.h"
#include "core/rank.h"
#include "sim-rng.h"
#include "sim.h"

#define USEC_PER_MSEC UINT64_C(1000)
#define SIM_QUORUM_HISTORY 4
#define USEC_PER_SEC UINT64_C(1000000)

/* The simulator's events, ordered by (true time, insertion order). */
typedef enum SimEventType {
        EV_BOOT,        /* a node (re)starts */
        EV_DELIVER,     /* a message arrives */
        EV_TIMER,       /* an ARM_TIMER came due */
        EV_SYNC,        /* a write batch is on disk */
        EV_UNIT_DONE,   /* a unit finished starting or stopping */
        EV_UNIT_REPORT, /* the daemon tells the core what systemd reported */
        EV_CAMPAIGN,    /* a released name is campaigned for again */
        EV_CHAOS,       /* the fault and workload injector acts */
        EV_PHASE,       /* faults begin or heal */
        EV_HEAL,        /* a partition heals */
        EV_TICK,        /* the daemon's one loop timer: node_tick() if the core's next deadline is due */
        EV_PAUSE,       /* a pause aimed at a holder's fence deadline begins */
        EV_PING,        /* pesd's peer liveness: every H/2 each host hears the peers it can reach */
        EV_RECONF,      /* the operator changes the voters (SimParams.reconf) */
        _EV_MAX,
} SimEventType;

typedef struct SimEvent {
        uint64_t at;   /* true time, µs */
        uint64_t seq;  /* insertion order: equal times keep it */
        uint32_t type;
        uint16_t node; /* index */
        int32_t name;  /* index, or -1 */
        uint64_t life; /* the node's life it belongs to (crashes make it stale) */
        uint64_t gen;  /* timer, unit, batch or partition generation */
        uint32_t msg;  /* EV_DELIVER: the packet */
        uint32_t arg;
} SimEvent;

typedef enum UnitState {
        UNIT_INACTIVE,
        UNIT_STARTING,
        UNIT_ACTIVE,
        UNIT_STOPPING, /* still running: counts as running for I1 */
} UnitState;

typedef enum UnitReport {
        REPORT_STOPPED,
        REPORT_FAILED,
        REPORT_STOPPED_BY_ITSELF,
} UnitReport;

/* The systemd unit of one name on one host, as the simulator models it. */
typedef struct SimUnit {
        UnitState state;
        uint64_t gen;           /* raised at every transition; stale EV_UNIT_DONE are dropped */
        bool stop_requested;    /* report "stopped" to the core once inactive */
        bool start_pending;     /* StartUnit while stopping: start again once stopped */
        uint64_t token;         /* the fencing token it was started with */
} SimUnit;

/* The durable copy of one name's acceptor state on one host. */
typedef struct SimDurable {
        bool has;
        Ballot bp;
        RegValue v;
} SimDurable;

/* One write transaction (one loop turn's PERSIST actions), synced as a whole. */
typedef struct SimWrite {
        int32_t name;  /* -1: the "initialised" marker */
        Ballot bp;
        RegValue v;
} SimWrite;

/* SimWrite.name of the ballot reserve (bp.counter); -1 is the "initialised" marker. */
#define SIM_WRITE_BALLOTS (-2)

/* The voter-configuration register as written by ACTION_PERSIST_CONFIG. */
typedef struct SimConfigDisk {
        VoterConfig installed;
        Ballot bp, ba;
        VoterConfig accepted;
} SimConfigDisk;

typedef struct SimBatch {
        uint64_t gen;
        uint64_t group; /* the commit (one fsync) it is part of */
        SimWrite *writes;
        size_t n_writes, allocated;
        SimConfigDisk *config; /* the last PERSIST_CONFIG of the turn, or NULL */
} SimBatch;

/* A reply that waits for the sync of every write queued before it (action.h). */
typedef struct SimHeld {
        uint64_t wait_gen;
        uint16_t to;
        PeerMsg msg;
} SimHeld;

/*
 * What one loop turn of a host sends to one peer: one HTTP request of pesd's
 * (src/daemon/peers.c batches per peer), delayed, lost, duplicated or cut as a
 * whole, and handled by the receiver as one loop turn.
 */
typedef struct SimPacket {
        uint16_t from, to; /* host ids */
        PeerMsg *msgs;
        size_t n, allocated;
} SimPacket;

typedef struct SimNode {
        uint16_t host;       /* host id = index + 1 */
        bool voter;          /* a voter of the configuration it installed (last known while down) */
        bool up;
        uint64_t life;       /* raised at every crash */
        uint64_t incarnation;
        Node *core;
        SimRng core_rng_state;
        CoreRng core_rng;

        /* The node's clock: now = boot_clock + (t − boot_true)·(1 + drift), drift within ±ρ. */
        int64_t drift_ppb;
        uint64_t boot_true;
        uint64_t boot_clock;

        /* A pause of the daemon (GC, swap, a slow disk): its events wait until then. */
        uint64_t paused_until;
        uint64_t last_pause_end;

        /* Disk. */
        SimDurable *durable;       /* per name */
        bool durable_init;         /* the "initialised" marker is on disk */
        uint64_t durable_ballots;  /* the ballot reserve on disk (ACTION_PERSIST_BALLOTS) */
        bool ever_init;            /* the cluster was initialised on this host once */
        bool has_durable_config;   /* the register's state on disk (ACTION_PERSIST_CONFIG) */
        SimConfigDisk durable_config;
        uint64_t queued_gen, synced_gen;
        uint64_t writer_free_at;   /* the writer thread's last commit (true time) */
        uint64_t groups;           /* commits scheduled so far */
        uint64_t open_group;       /* a commit not yet begun that later turns may join (0: none) */
        uint64_t open_group_start;
        SimBatch *batches;         /* queued, not yet synced, oldest first */
        size_t n_batches, allocated_batches;
        SimHeld *held;
        size_t n_held, allocated_held;

        /* Per name. */
        bool *candidate;
        bool *released;            /* the workload released it here */
        Guard **guards;            /* NULL while down or not a candidate */
        SimUnit *units;
        uint64_t *timer_gen;       /* per name, and one more for the acceptor */
        uint64_t tick_gen;         /* the loop timer (SIM_TIMERS_TICK) */
        bool tick_pending;
        uint64_t tick_deadline;    /* node clock */

        /* I4 bookkeeping per name: bp seen in this life, the highest ballot promised. */
        Ballot *bp_seen;
        Ballot *promised;

        /*
         * The Paxos rule under I1 (checked as "P2"): promises received per name in
         * this life, for the latest ballot promised to this host, and the last
         * ballots that reached a prepare quorum (an ACCEPT may only use one of them).
         */
        Ballot *promise_ballot;    /* two slots per name: the guard's rounds, the change driver's */
        uint64_t *promise_round;
        uint32_t *promise_mask;
        /* B1: the highest ballot this host ever sent a PREPARE with, per name, across
         * restarts (forgotten when its disk is wiped, with the ballot reserve). */
        Ballot *prepared;
        uint64_t *prepared_round;
        uint64_t *prepared_life;
        Ballot (*quorum_ballots)[SIM_QUORUM_HISTORY];

        /* pesd's peer table: when each peer last answered, and whether it counts as dead (3H). */
        uint64_t heard[SIM_NODES_MAX];
        bool dead[SIM_NODES_MAX];

        unsigned group;            /* partition group */

        /* I7: per name, this host's promises for its latest ballot (host bits) and the highest ba they carried. */
        uint64_t *i7_round;
        Ballot *i7_ballot;
        uint32_t *i7_mask;
        Ballot *i7_seen;
        bool *i7_checked;
} SimNode;

typedef struct SimName {
        char name[32];
        GuardParams params;
        uint64_t lease_usec, hold_usec;
        RankCandidate candidates[SIM_NODES_MAX];
        size_t n_candidates;

        bool dirty;

        /* I3: the last tenure's token and host. */
        uint64_t last_token;
        uint16_t last_host;

        /* I6: a handoff in progress. */
        bool move_pending;
        unsigned move_from;
        uint16_t move_to;
        uint64_t move_token;

        /* I8: since when the name has had no holder during calm (0: it has one), and the bound. */
        uint64_t orphan_since;

        /*
         * I7: ACCEPTED replies that left the voters for the value with the highest
         * ballot (host bits, under one epoch, against that epoch's accept quorum),
         * and the highest ballot known chosen so far.
         */
        Ballot i7_ba;
        Epoch i7_epoch;
        uint32_t i7_mask, i7_accept_set;
        unsigned i7_quorum;
        Ballot chosen_ba;
        uint64_t failover_bound_usec;
        uint64_t lease_wait_usec; /* T·(1+ρ)/(1−ρ): the longest a live lease can block */
} SimName;

typedef enum TraceKind {
        TRACE_EVENT,
        TRACE_SEND,
        TRACE_ACTION,
        TRACE_NOTIFY,
        TRACE_FAULT,
        TRACE_UNIT,
        TRACE_CHECK,
} TraceKind;

typedef enum SimFault {
        FAULT_CRASH_HOST,
        FAULT_CRASH_DAEMON,
        FAULT_WIPE,
        FAULT_PARTITION,
        FAULT_HEAL,
        FAULT_PAUSE,
        FAULT_NET,
        FAULT_UNIT_FAIL,
        FAULT_RELEASE,
        FAULT_CAMPAIGN,
        FAULT_MOVE,
        FAULT_CHAOS,
        FAULT_CALM,
        FAULT_BOOT,
        FAULT_CONDITION,
        FAULT_PEERS,
        FAULT_RECONF,
        _FAULT_MAX,
} SimFault;

/* Send trace flags. */
#define SEND_DROPPED_LOSS 1u
#define SEND_DROPPED_PARTITION 2u
#define SEND_HELD 4u
#define SEND_DUPLICATED 8u
#define SEND_DROPPED_DOWN 32u

typedef struct TraceRec {
        uint64_t step;
        uint64_t at;
        uint16_t kind, sub;
        uint16_t node, peer; /* host ids (0: none) */
        int32_t name;
        uint32_t flags;
        uint64_t a, b, c, d;
} TraceRec;

typedef struct Sim {
        SimParams p;
        SimResult *res;
        SimRng rng;

        uint64_t now;       /* true time, µs */
        uint64_t step;
        uint64_t seq;

        /* The event heap. */
        SimEvent *heap;
        size_t n_heap, allocated_heap;

        /* Packet pool with a free list, and the packets the acting host's turn fills. */
        SimPacket *packets;
        uint32_t *packet_free;
        size_t n_packets, n_packet_free, allocated_packets;
        uint32_t outbox[SIM_NODES_MAX];

        VoterConfig config;
        unsigned n_nodes, n_voters, n_names;
        SimNode nodes[SIM_NODES_MAX];
        SimName *names;

        ActionList out;

        /* Faults. */
        bool calm;
        uint64_t calm_since;
        /* A voter is recovering a lost disk (a fault not healed yet), and since when all serve again. */
        bool unhealed;
        uint64_t healed_at;
        uint64_t phase_gen;
        bool partitioned;
        bool one_way; /* the partition cuts only packets from a lower group to a higher one */
        uint64_t partition_gen;
        uint32_t loss_ppm, dup_ppm, tail_ppm, big_tail_ppm;
        uint64_t slow[SIM_NODES_MAX][SIM_NODES_MAX]; /* extra delay of a congested link (from, to) */

        /* Timing of the cluster, for the checker's bounds. */
        uint64_t max_lease_usec;
        uint64_t failover_bound_usec;
        uint64_t i5_grace_usec;

        /* Trace ring. */
        TraceRec *trace;
        size_t trace_size, trace_next, trace_count;
        uint64_t trace_total;

        bool all_dirty;
        bool violated;

        /* Voter changes (SimParams.reconf): where the 3→4→5→4→3 cycle is. */
        unsigned reconf_step;
        /* I7: the hash of the configuration installed for each epoch (0: none yet). */
        uint64_t *epoch_hash;
        size_t n_epoch_hash;
} Sim;

/* Names are "uNNNN.service": the index, or -1. */
int sim_name_index(const Sim *s, const char *name);

/* Clocks (sim.c). */
uint64_t sim_node_clock(const SimNode *n, uint64_t t);
uint64_t sim_true_at(const SimNode *n, uint64_t clock);

/* The checker (sim-check.c). */
void sim_check(Sim *s);
void sim_violation(Sim *s, const char *inv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sim_check_acquired(Sim *s, SimNode *n, unsigned name, uint64_t token);
void sim_check_lost(Sim *s, SimNode *n, unsigned name, LostReason reason);
void sim_check_sent(Sim *s, SimNode *n, const PeerMsg *m);
void sim_check_received(Sim *s, SimNode *n, const PeerMsg *m);
void sim_check_proposed(Sim *s, SimNode *n, const PeerMsg *m);
void sim_check_calm_begins(Sim *s);
void sim_check_calm_ends(Sim *s);
void sim_check_i7(Sim *s);
void sim_check_i7_accepted(Sim *s, SimNode *n, const PeerMsg *m);
void sim_check_installed(Sim *s, SimNode *n, const VoterConfig *c);

/* The trace (sim-trace.c). */
int sim_trace_init(Sim *s, size_t size);
void sim_trace_done(Sim *s);
TraceRec *sim_trace_add(Sim *s, TraceKind kind, unsigned sub, uint16_t node, int32_t name);
void sim_trace_msg(TraceRec *r, const PeerMsg *m, uint64_t extra);
void sim_trace_format(const Sim *s, const TraceRec *r, char *buf, size_t size);
void sim_trace_dump(const Sim *s, FILE *f, size_t lines);
void sim_trace_print_since(const Sim *s, FILE *f, uint64_t since);
const char *sim_event_to_string(SimEventType t);
const char *sim_fault_to_string(SimFault f);
const char *msg_type_to_string(MsgType t);
