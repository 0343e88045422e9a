/* SPDX-License-Identifier: MIT */
/* The simulator engine: events, fake network, disks, units, clocks and faults, driving the core as pesd will. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ballot.h"
#include "core/lease.h"
#include "core/quorum.h"
#include "core/reconf.h"
#include "sim-internal.h"

/*
 * The fault model. Every figure is true time in µs. "Chaos" phases inject faults;
 * "calm" phases heal them all (every host up, no partition, no loss, short delays)
 * so that the liveness invariants (I5, I8) can be measured.
 */
#define NET_DELAY_MIN 100
#define NET_DELAY_MAX (2 * USEC_PER_MSEC)
#define NET_TAIL_MAX (200 * USEC_PER_MSEC)
#define NET_BIG_TAIL_MAX (2 * USEC_PER_SEC)
#define SLOW_LINK_MIN (100 * USEC_PER_MSEC)
#define SLOW_LINK_MAX (1500 * USEC_PER_MSEC)
#define CONGESTED_MIN (300 * USEC_PER_MSEC)
#define CONGESTED_MAX (800 * USEC_PER_MSEC)
#define FSYNC_MIN 200
#define FSYNC_MAX (5 * USEC_PER_MSEC)
#define FSYNC_TAIL_MAX (60 * USEC_PER_MSEC)
#define TIMER_LATENESS_MAX 500 /* non-fence timers only: fence timers are exact (DESIGN.md) */
#define LOOP_TICK_MAX (500 * USEC_PER_MSEC) /* pesd re-arms its loop timer at least every H/2 */
#define LOOP_LATENCY_MAX 100
#define REPORT_DELAY_MIN 200
#define REPORT_DELAY_MAX (3 * USEC_PER_MSEC)
#define UNIT_START_MAX (300 * USEC_PER_MSEC)
#define EXEC_CONDITION_MAX (50 * USEC_PER_MSEC)
#define UNIT_PHASE_CONDITION 1u
#define BINDS_TO_LATENCY_MAX (50 * USEC_PER_MSEC)
#define PEER_HEARTBEAT (1000 * USEC_PER_MSEC) /* the cluster's H, pesd's ping interval */
#define DOWN_MIN (50 * USEC_PER_MSEC)
#define DOWN_MAX (8 * USEC_PER_SEC)
#define CHAOS_MIN (2 * USEC_PER_SEC)
#define CHAOS_MAX (20 * USEC_PER_SEC)
#define CALM_MIN (15 * USEC_PER_SEC)
#define CALM_MAX (40 * USEC_PER_SEC)
#define CHAOS_SPACING (400 * USEC_PER_MSEC)
#define CALM_SPACING (3 * USEC_PER_SEC)
#define PARTITION_MIN (200 * USEC_PER_MSEC)
#define PARTITION_MAX (10 * USEC_PER_SEC)
#define RECAMPAIGN_MIN (500 * USEC_PER_MSEC)
#define RECAMPAIGN_MAX (6 * USEC_PER_SEC)
/* The cluster's T_max: large enough for every H the simulator picks, small enough to see lost-disk recoveries end. */
#define SIM_LEASE_MAX (10 * USEC_PER_SEC)
/* How often the operator looks at the voters (SimParams.reconf); a change takes 2·T_max and more. */
#define RECONF_SPACING_MIN (2 * USEC_PER_SEC)
#define RECONF_SPACING_MAX (15 * USEC_PER_SEC)

/* ---- event heap ---- */

static bool ev_before(const SimEvent *a, const SimEvent *b) {
        return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static int heap_push(Sim *s, SimEvent ev) {
        size_t i;

        if (s->n_heap >= s->allocated_heap) {
                size_t m = s->allocated_heap ? s->allocated_heap * 2 : 1024;
                SimEvent *h = realloc(s->heap, m * sizeof(SimEvent));

                if (!h)
                        return -ENOMEM;
                s->heap = h;
                s->allocated_heap = m;
        }

        ev.seq = s->seq++;
        i = s->n_heap++;
        while (i > 0) {
                size_t parent = (i - 1) / 2;

                if (!ev_before(&ev, &s->heap[parent]))
                        break;
                s->heap[i] = s->heap[parent];
                i = parent;
        }
        s->heap[i] = ev;
        return 0;
}

static SimEvent heap_pop(Sim *s) {
        SimEvent top = s->heap[0], last;
        size_t i = 0;

        assert(s->n_heap > 0);
        last = s->heap[--s->n_heap];
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                const SimEvent *best = &last;

                if (l < s->n_heap && ev_before(&s->heap[l], best)) {
                        m = l;
                        best = &s->heap[l];
                }
                if (r < s->n_heap && ev_before(&s->heap[r], best))
                        m = r;
                if (m == i)
                        break;
                s->heap[i] = s->heap[m];
                i = m;
        }
        if (s->n_heap > 0)
                s->heap[i] = last;
        return top;
}

static int schedule(Sim *s, uint64_t at, SimEventType type, unsigned node, int32_t name, uint64_t gen) {
        if (at < s->now)
                at = s->now;
        return heap_push(s, (SimEvent) {
                .at = at,
                .type = type,
                .node = (uint16_t) node,
                .name = name,
                .life = s->nodes[node].life,
                .gen = gen,
        });
}

/* ---- packet pool ---- */

#define NO_PACKET UINT32_MAX

static int packet_alloc(Sim *s, uint16_t from, uint16_t to, uint32_t *ret) {
        uint32_t i;

        if (s->n_packet_free > 0)
                i = s->packet_free[--s->n_packet_free];
        else {
                if (s->n_packets >= s->allocated_packets) {
                        size_t k = s->allocated_packets ? s->allocated_packets * 2 : 256;
                        SimPacket *p = realloc(s->packets, k * sizeof(SimPacket));
                        uint32_t *f;

                        if (!p)
                                return -ENOMEM;
                        s->packets = p;
                        f = realloc(s->packet_free, k * sizeof(uint32_t));
                        if (!f)
                                return -ENOMEM;
                        s->packet_free = f;
                        s->allocated_packets = k;
                }
                i = (uint32_t) s->n_packets++;
                s->packets[i] = (SimPacket) {};
        }
        s->packets[i].from = from;
        s->packets[i].to = to;
        s->packets[i].n = 0;
        *ret = i;
        return 0;
}

static int packet_add(Sim *s, uint32_t i, const PeerMsg *m) {
        SimPacket *p = &s->packets[i];

        if (p->n >= p->allocated) {
                size_t k = p->allocated ? p->allocated * 2 : 8;
                PeerMsg *q = realloc(p->msgs, k * sizeof(PeerMsg));

                if (!q)
                        return -ENOMEM;
                p->msgs = q;
                p->allocated = k;
        }
        p->msgs[p->n++] = *m;
        return 0;
}

static void packet_release(Sim *s, uint32_t i) {
        s->packets[i].n = 0;
        s->packet_free[s->n_packet_free++] = i;
}

/* ---- clocks ---- */

/*
 * A node's clock: it counts from boot_clock at its boot at rate 1 + drift, drift
 * within ±ρ (DESIGN.md "Clock"). It is monotonic within one boot; a host that
 * reboots starts a new clock, as CLOCK_BOOTTIME does.
 */
uint64_t sim_node_clock(const SimNode *n, uint64_t t) {
        unsigned __int128 x;

        if (t <= n->boot_true)
                return n->boot_clock;
        x = (unsigned __int128) (t - n->boot_true) * (uint64_t) (INT64_C(1000000000) + n->drift_ppb);
        return n->boot_clock + (uint64_t) (x / 1000000000u);
}

/* The earliest true time at which the node's clock reads at least `clock`. */
uint64_t sim_true_at(const SimNode *n, uint64_t clock) {
        uint64_t rate = (uint64_t) (INT64_C(1000000000) + n->drift_ppb), t;
        unsigned __int128 x;

        if (clock <= n->boot_clock)
                return n->boot_true;
        x = ((unsigned __int128) (clock - n->boot_clock) * 1000000000u + rate - 1) / rate;
        if (x > UINT64_MAX / 4)
                return UINT64_MAX / 2;
        t = n->boot_true + (uint64_t) x;
        while (sim_node_clock(n, t) < clock)
                t++;
        while (t > n->boot_true && sim_node_clock(n, t - 1) >= clock)
                t--;
        return t;
}

static uint64_t node_now(const Sim *s, const SimNode *n) {
        return sim_node_clock(n, s->now);
}

/* ---- helpers ---- */

int sim_name_index(const Sim *s, const char *name) {
        unsigned long k;
        char *end;

        if (name[0] != 'u')
                return -1;
        errno = 0;
        k = strtoul(name + 1, &end, 10);
        if (errno != 0 || end == name + 1 || strcmp(end, ".service") != 0 || k >= s->n_names)
                return -1;
        return (int) k;
}

static SimNode *host_node(Sim *s, uint16_t host) {
        if (host == PES_HOST_NONE || host > s->n_nodes)
                return NULL;
        return &s->nodes[host - 1];
}

static void mark_dirty(Sim *s, int32_t name) {
        if (name >= 0 && (unsigned) name < s->n_names)
                s->names[name].dirty = true;
}

static int sim_fail(Sim *s, int r, const char *what, const SimNode *n, int32_t name) {
        fprintf(s->p.log, "pes-sim: seed %" PRIu64 ": %s on n%u (%s) failed: %s\n",
                s->p.seed, what, n ? n->host : 0,
                name >= 0 ? s->names[name].name : "-", strerror(-r));
        return r;
}

/* ---- network ---- */

static uint64_t net_delay(Sim *s, const SimNode *from, const SimNode *to) {
        uint64_t d = sim_rng_range(&s->rng, NET_DELAY_MIN, NET_DELAY_MAX);
        uint64_t slow = s->slow[from->host - 1][to->host - 1];

        /* A congested link: slow for the whole phase, with jitter that reorders. */
        if (slow > 0)
                d += slow + sim_rng_below(&s->rng, slow / 4);
        if (!s->calm) {
                if (sim_rng_chance(&s->rng, s->big_tail_ppm))
                        d += sim_rng_range(&s->rng, NET_TAIL_MAX, NET_BIG_TAIL_MAX);
                else if (sim_rng_chance(&s->rng, s->tail_ppm))
                        d += sim_rng_range(&s->rng, NET_DELAY_MAX, NET_TAIL_MAX);
        }
        return d;
}

static bool cut(const Sim *s, const SimNode *a, const SimNode *b) {
        if (!s->partitioned || a == b || a->group == b->group)
                return false;
        /* A one-way cut (a firewall rule in one direction): lower groups cannot reach higher ones. */
        return !s->one_way || a->group < b->group;
}

static void trace_packet(Sim *s, uint32_t i, uint32_t flags, uint64_t delay) {
        const SimPacket *p = &s->packets[i];

        for (size_t k = 0; k < p->n; k++) {
                const PeerMsg *m = &p->msgs[k];
                TraceRec *tr = sim_trace_add(s, TRACE_SEND, m->type, p->from, m->name[0] ? sim_name_index(s, m->name) : -1);

                tr->peer = p->to;
                tr->flags = flags;
                sim_trace_msg(tr, m, delay);
        }
}

/* A message leaves host n now: it joins this turn's packet to its destination. */
static int queue_send(Sim *s, SimNode *n, uint16_t to_host, const PeerMsg *m) {
        uint32_t *slot;
        int r;

        if (!host_node(s, to_host)) {
                sim_violation(s, "I0", "n%u sent %s to unknown host %u", n->host, msg_type_to_string(m->type), to_host);
                return 0;
        }
        s->res->messages++;
        sim_check_sent(s, n, m);
        if (m->type == MSG_ACCEPTED)
                sim_check_i7_accepted(s, n, m);
        if (m->type == MSG_ACCEPT && m->identity)
                s->res->identity_accepts++;
        if (m->type == MSG_ACCEPT && (m->round & RECONF_ROUND_BIT) && !m->identity)
                s->res->rescan_frees++;
        /* P2 and B1 judge what leaves the host: a PREPARE held for a sync that a crash prevents never did. */
        if (m->type == MSG_ACCEPT || m->type == MSG_PREPARE)
                sim_check_proposed(s, n, m);

        slot = &s->outbox[to_host - 1];
        if (*slot == NO_PACKET) {
                r = packet_alloc(s, n->host, to_host, slot);
                if (r < 0)
                        return r;
        }
        return packet_add(s, *slot, m);
}

/* The turn is over: each packet goes on the wire (loopback: handled right after this turn). */
static int flush_outbox(Sim *s, SimNode *from) {
        for (unsigned k = 0; k < s->n_nodes; k++) {
                uint32_t i = s->outbox[k], dup;
                SimNode *to = &s->nodes[k];
                uint32_t flags = 0;
                uint64_t delay;
                int r;

                if (i == NO_PACKET)
                        continue;
                s->outbox[k] = NO_PACKET;

                if (to != from) {
                        if (cut(s, from, to))
                                flags |= SEND_DROPPED_PARTITION;
                        else if (sim_rng_chance(&s->rng, s->calm ? 0 : s->loss_ppm))
                                flags |= SEND_DROPPED_LOSS;
                        else if (sim_rng_chance(&s->rng, s->calm ? 0 : s->dup_ppm))
                                flags |= SEND_DUPLICATED;
                }
                if (flags & (SEND_DROPPED_PARTITION | SEND_DROPPED_LOSS)) {
                        trace_packet(s, i, flags, 0);
                        packet_release(s, i);
                        continue;
                }

                delay = to == from ? 0 : net_delay(s, from, to);
                trace_packet(s, i, flags, delay);
                if (flags & SEND_DUPLICATED) {
                        /* The same request delivered twice, the copy on its own schedule. */
                        r = packet_alloc(s, from->host, to->host, &dup);
                        for (size_t m = 0; r >= 0 && m < s->packets[i].n; m++)
                                r = packet_add(s, dup, &s->packets[i].msgs[m]);
                        if (r >= 0)
                                r = heap_push(s, (SimEvent) {
                                        .at = s->now + net_delay(s, from, to),
                                        .type = EV_DELIVER,
                                        .node = (uint16_t) k,
                                        .name = -1,
                                        .msg = dup,
                                });
                        if (r < 0)
                                return r;
                }
                r = heap_push(s, (SimEvent) {
                        .at = s->now + delay,
                        .type = EV_DELIVER,
                        .node = (uint16_t) k,
                        .name = -1,
                        .msg = i,
                });
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- disk ---- */

static int batch_open(SimNode *n, SimBatch **ret) {
        if (n->n_batches >= n->allocated_batches) {
                size_t m = n->allocated_batches ? n->allocated_batches * 2 : 8;
                SimBatch *b = realloc(n->batches, m * sizeof(SimBatch));

                if (!b)
                        return -ENOMEM;
                n->batches = b;
                n->allocated_batches = m;
        }
        n->batches[n->n_batches] = (SimBatch) { .gen = ++n->queued_gen };
        *ret = &n->batches[n->n_batches++];
        return 0;
}

static int batch_add(SimBatch *b, int32_t name, const Ballot *bp, const RegValue *v) {
        if (b->n_writes >= b->allocated) {
                size_t m = b->allocated ? b->allocated * 2 : 4;
                SimWrite *w = realloc(b->writes, m * sizeof(SimWrite));

                if (!w)
                        return -ENOMEM;
                b->writes = w;
                b->allocated = m;
        }
        b->writes[b->n_writes++] = (SimWrite) {
                .name = name,
                .bp = bp ? *bp : (Ballot) {},
                .v = v ? *v : (RegValue) {},
        };
        return 0;
}

static void batches_drop(Sim *s, SimNode *n) {
        for (size_t i = 0; i < n->n_batches; i++) {
                free(n->batches[i].writes);
                free(n->batches[i].config);
        }
        n->n_batches = 0;
        n->n_held = 0;
        n->open_group = 0;
        n->queued_gen = n->synced_gen;
}

static int hold(Sim *s, SimNode *n, uint16_t to, const PeerMsg *m) {
        TraceRec *tr;

        if (n->n_held >= n->allocated_held) {
                size_t k = n->allocated_held ? n->allocated_held * 2 : 16;
                SimHeld *h = realloc(n->held, k * sizeof(SimHeld));

                if (!h)
                        return -ENOMEM;
                n->held = h;
                n->allocated_held = k;
        }
        n->held[n->n_held++] = (SimHeld) { .wait_gen = n->queued_gen, .to = to, .msg = *m };

        tr = sim_trace_add(s, TRACE_SEND, m->type, n->host, m->name[0] ? sim_name_index(s, m->name) : -1);
        tr->peer = to;
        tr->flags = SEND_HELD;
        sim_trace_msg(tr, m, n->queued_gen);
        return 0;
}

/* The writer thread finished a commit: its batches are durable now, and the replies waiting for them leave. */
static int sync_done(Sim *s, SimNode *n, uint64_t group) {
        SimBatch *b;
        size_t k = 0;
        int r;

        if (n->n_batches == 0 || n->batches[0].group != group)
                return sim_fail(s, -EPROTO, "sync order", n, -1);
        if (n->open_group == group)
                n->open_group = 0;

        /* Every batch of the commit, oldest first. */
        while (n->n_batches > 0 && n->batches[0].group == group) {
        b = &n->batches[0];
        for (size_t i = 0; i < b->n_writes; i++) {
                const SimWrite *w = &b->writes[i];

                if (w->name == SIM_WRITE_BALLOTS) {
                        if (w->bp.counter > n->durable_ballots)
                                n->durable_ballots = w->bp.counter;
                        continue;
                }
                if (w->name < 0) {
                        n->durable_init = true;
                        n->ever_init = true;
                        continue;
                }
                /* I4: the durable bp never goes back. */
                if (n->durable[w->name].has && ballot_compare(&w->bp, &n->durable[w->name].bp) < 0)
                        sim_violation(s, "I4", "n%u wrote %s bp=%" PRIu64 ".%u over a durable bp=%" PRIu64 ".%u",
                                      n->host, s->names[w->name].name, w->bp.counter, w->bp.host,
                                      n->durable[w->name].bp.counter, n->durable[w->name].bp.host);
                n->durable[w->name] = (SimDurable) { .has = true, .bp = w->bp, .v = w->v };
        }
        if (b->config) {
                n->durable_config = *b->config;
                n->has_durable_config = true;
                free(b->config);
        }
        n->synced_gen = b->gen;
        free(b->writes);
        memmove(n->batches, n->batches + 1, (n->n_batches - 1) * sizeof(SimBatch));
        n->n_batches--;
        }

        while (k < n->n_held && n->held[k].wait_gen <= n->synced_gen) {
                r = queue_send(s, n, n->held[k].to, &n->held[k].msg);
                if (r < 0)
                        return r;
                k++;
        }
        if (k > 0) {
                memmove(n->held, n->held + k, (n->n_held - k) * sizeof(SimHeld));
                n->n_held -= k;
        }
        return flush_outbox(s, n);
}

/* ---- units ---- */

static void unit_set(Sim *s, SimNode *n, unsigned name, UnitState st) {
        SimUnit *u = &n->units[name];

        u->state = st;
        u->gen++;
        sim_trace_add(s, TRACE_UNIT, st, n->host, (int32_t) name);
        mark_dirty(s, (int32_t) name);
}

static int unit_report_kind(Sim *s, SimNode *n, unsigned name, UnitReport what) {
        uint64_t at = s->now + sim_rng_range(&s->rng, REPORT_DELAY_MIN, REPORT_DELAY_MAX);

        return heap_push(s, (SimEvent) {
                .at = at,
                .type = EV_UNIT_REPORT,
                .node = (uint16_t) (n->host - 1),
                .name = (int32_t) name,
                .life = n->life,
                .arg = what,
        });
}

/*
 * How long a unit takes to stop, on its host's clock: mostly quickly, sometimes
 * slowly, and sometimes it ignores SIGTERM until systemd's TimeoutStopSec = S
 * sends SIGKILL (DESIGN.md "the drop-in sets TimeoutStopSec to it").
 */
static uint64_t unit_stop_true_at(Sim *s, SimNode *n, unsigned name) {
        uint64_t stop = s->names[name].params.stop_usec, d;
        uint64_t roll = sim_rng_below(&s->rng, 100);

        if (roll < 70)
                d = sim_rng_range(&s->rng, 0, stop / 2);
        else if (roll < 90)
                d = sim_rng_range(&s->rng, stop / 2, stop);
        else
                d = stop;
        return sim_true_at(n, node_now(s, n) + d);
}

static int unit_begin_stop(Sim *s, SimNode *n, unsigned name, uint64_t latency) {
        unit_set(s, n, name, UNIT_STOPPING);
        return heap_push(s, (SimEvent) {
                .at = unit_stop_true_at(s, n, name) + latency,
                .type = EV_UNIT_DONE,
                .node = (uint16_t) (n->host - 1),
                .name = (int32_t) name,
                .gen = n->units[name].gen,
        });
}

/*
 * A start runs the drop-in's ExecCondition=+pesctl holds first (DESIGN.md
 * "Fencing is only as good as its margins"), answered by pesd within a few ms,
 * then the unit's own start.
 */
static int unit_begin_start(Sim *s, SimNode *n, unsigned name) {
        unit_set(s, n, name, UNIT_STARTING);
        return heap_push(s, (SimEvent) {
                .at = s->now + sim_rng_range(&s->rng, 500, EXEC_CONDITION_MAX),
                .type = EV_UNIT_DONE,
                .node = (uint16_t) (n->host - 1),
                .name = (int32_t) name,
                .gen = n->units[name].gen,
                .arg = UNIT_PHASE_CONDITION,
        });
}

/*
 * `pesctl holds` answered: true only while pesd runs and its guard holds the
 * name on the host's clock. A failed condition leaves the unit inactive, which
 * pesd sees as a unit that stopped without being asked (DESIGN.md, systemd 252).
 */
static int unit_condition(Sim *s, SimNode *n, unsigned name) {
        TraceRec *tr;

        if (n->up && node_holds(n->core, s->names[name].name, node_now(s, n)))
                return heap_push(s, (SimEvent) {
                        .at = s->now + sim_rng_range(&s->rng, USEC_PER_MSEC, UNIT_START_MAX),
                        .type = EV_UNIT_DONE,
                        .node = (uint16_t) (n->host - 1),
                        .name = (int32_t) name,
                        .gen = n->units[name].gen,
                });

        tr = sim_trace_add(s, TRACE_FAULT, FAULT_CONDITION, n->host, (int32_t) name);
        tr->a = n->up;
        unit_set(s, n, name, UNIT_INACTIVE);
        if (!n->up)
                return 0;
        n->units[name].stop_requested = false;
        return unit_report_kind(s, n, name, REPORT_STOPPED_BY_ITSELF);
}

static int unit_start(Sim *s, SimNode *n, unsigned name, uint64_t token) {
        SimUnit *u = &n->units[name];

        u->token = token;
        switch (u->state) {
        case UNIT_INACTIVE:
                u->stop_requested = false;
                return unit_begin_start(s, n, name);
        case UNIT_STOPPING:
                /* StartUnit("replace") on a deactivating unit starts it once it is down. */
                u->start_pending = true;
                u->stop_requested = false;
                return 0;
        default:
                return 0;
        }
}

static int unit_stop(Sim *s, SimNode *n, unsigned name) {
        SimUnit *u = &n->units[name];

        u->start_pending = false;
        switch (u->state) {
        case UNIT_INACTIVE:
                u->stop_requested = false;
                return unit_report_kind(s, n, name, REPORT_STOPPED);
        case UNIT_STARTING:
        case UNIT_ACTIVE:
                u->stop_requested = true;
                return unit_begin_stop(s, n, name, 0);
        case UNIT_STOPPING:
                u->stop_requested = true;
                return 0;
        }
        return 0;
}

static int unit_kill(Sim *s, SimNode *n, unsigned name) {
        SimUnit *u = &n->units[name];
        bool report = u->stop_requested || u->state != UNIT_INACTIVE;

        /* SIGKILL of the cgroup: dead at once. */
        u->start_pending = false;
        u->stop_requested = false;
        if (u->state != UNIT_INACTIVE)
                unit_set(s, n, name, UNIT_INACTIVE);
        if (report)
                return unit_report_kind(s, n, name, REPORT_STOPPED);
        return 0;
}

static int unit_done(Sim *s, SimNode *n, unsigned name) {
        SimUnit *u = &n->units[name];

        switch (u->state) {
        case UNIT_STARTING:
                unit_set(s, n, name, UNIT_ACTIVE);
                return 0;
        case UNIT_STOPPING:
                unit_set(s, n, name, UNIT_INACTIVE);
                if (u->start_pending) {
                        u->start_pending = false;
                        return unit_begin_start(s, n, name);
                }
                if (u->stop_requested && n->up) {
                        u->stop_requested = false;
                        return unit_report_kind(s, n, name, REPORT_STOPPED);
                }
                return 0;
        default:
                return 0;
        }
}

/*
 * The loop turn's writes go to the writer thread, which commits in order. With
 * SIM_STORE_GROUP (pesd's store.c) a turn joins the next commit if that has not
 * begun yet; with SIM_STORE_SERIAL each turn is one transaction and one fsync.
 */
static int commit(Sim *s, SimNode *n, SimBatch *batch) {
        uint64_t d, start;

        if (s->p.store == SIM_STORE_GROUP && n->open_group != 0 && s->now < n->open_group_start) {
                batch->group = n->open_group;
                return 0;
        }

        d = sim_rng_chance(&s->rng, 20000) ?
                sim_rng_range(&s->rng, FSYNC_MAX, FSYNC_TAIL_MAX) :
                sim_rng_range(&s->rng, FSYNC_MIN, FSYNC_MAX);
        start = n->writer_free_at > s->now ? n->writer_free_at : s->now;
        batch->group = ++n->groups;
        n->writer_free_at = start + d;
        if (start > s->now) {
                n->open_group = batch->group;
                n->open_group_start = start;
        }
        return schedule(s, n->writer_free_at, EV_SYNC, n->host - 1, -1, batch->group);
}

/* ---- carrying out the core's actions ---- */

static int arm_timer(Sim *s, SimNode *n, int32_t name, uint64_t deadline, bool fence) {
        unsigned slot = name < 0 ? s->n_names : (unsigned) name;
        uint64_t at = sim_true_at(n, deadline);
        TraceRec *tr;

        tr = sim_trace_add(s, TRACE_ACTION, ACTION_ARM_TIMER, n->host, name);
        tr->a = deadline;
        tr->b = at;
        tr->flags = fence;
        /* The loop timer follows node_next_deadline() instead (see rearm_tick()). */
        if (s->p.timers == SIM_TIMERS_TICK)
                return 0;

        /* A normal timer may fire a little late (event-loop latency); fence timers are exact. */
        if (!fence)
                at += sim_rng_range(&s->rng, 0, TIMER_LATENESS_MAX);

        /* One timer per name, re-armed by every ARM_TIMER, as an sd-event source is. */
        n->timer_gen[slot]++;
        return schedule(s, at, EV_TIMER, n->host - 1, name, n->timer_gen[slot]);
}

/*
 * pesd's one loop timer (src/daemon/manager.c rearm_timer()): at the core's next
 * deadline, or H/2 from now at the latest; it fires with 1 µs accuracy, plus the
 * loop's own latency.
 */
static int rearm_tick(Sim *s, SimNode *n) {
        uint64_t now = node_now(s, n), d = node_next_deadline(n->core), at;

        if (d == UINT64_MAX || d > now + LOOP_TICK_MAX)
                d = now + LOOP_TICK_MAX;
        /* An earlier wake-up already armed does: it finds nothing due and re-arms. */
        if (n->tick_pending && n->tick_deadline <= d)
                return 0;
        at = sim_true_at(n, d) + sim_rng_range(&s->rng, 0, LOOP_LATENCY_MAX);
        n->tick_gen++;
        n->tick_pending = true;
        n->tick_deadline = d;
        return schedule(s, at, EV_TICK, n->host - 1, -1, n->tick_gen);
}

static int carry_out(Sim *s, SimNode *n) {
        SimBatch *batch = NULL;
        int r = 0;

        for (size_t i = 0; i < s->out.n && r >= 0; i++) {
                const Action *a = &s->out.actions[i];
                int32_t name = a->name[0] ? sim_name_index(s, a->name) : -1;
                TraceRec *tr;

                if (a->name[0] && name < 0)
                        return sim_fail(s, -EINVAL, "action for an unknown name", n, -1);
                mark_dirty(s, name);

                switch (a->type) {
                case ACTION_SEND:
                        /* action.h: a reply waits for every write queued so far. */
                        if (a->send.after_persist && n->queued_gen > n->synced_gen)
                                r = hold(s, n, a->send.to, &a->send.msg);
                        else
                                r = queue_send(s, n, a->send.to, &a->send.msg);
                        break;

                case ACTION_PERSIST:
                        tr = sim_trace_add(s, TRACE_ACTION, a->type, n->host, name);
                        tr->a = a->persist.bp.counter;
                        tr->b = a->persist.bp.host;
                        tr->c = a->persist.v.ba.counter;
                        tr->d = a->persist.v.ba.host;
                        tr->flags = a->persist.v.kind | (a->persist.seq_only ? 0x100u : 0);
                        if (name < 0) {
                                r = sim_fail(s, -EINVAL, "persist without a name", n, -1);
                                break;
                        }
                        /* DESIGN.md "seq alone is not written": the daemon skips seq-only writes. */
                        if (a->persist.seq_only)
                                break;
                        if (!batch)
                                r = batch_open(n, &batch);
                        if (r >= 0)
                                r = batch_add(batch, name, &a->persist.bp, &a->persist.v);
                        break;

                case ACTION_PERSIST_BALLOTS:
                        tr = sim_trace_add(s, TRACE_ACTION, a->type, n->host, -1);
                        tr->a = a->ballots.reserve;
                        if (!batch)
                                r = batch_open(n, &batch);
                        if (r >= 0)
                                r = batch_add(batch, SIM_WRITE_BALLOTS, &(Ballot) { .counter = a->ballots.reserve }, NULL);
                        break;

                case ACTION_PERSIST_CONFIG:
                        sim_trace_add(s, TRACE_ACTION, a->type, n->host, -1);
                        if (!batch)
                                r = batch_open(n, &batch);
                        if (r < 0)
                                break;
                        if (!batch->config) {
                                batch->config = malloc(sizeof(SimConfigDisk));
                                if (!batch->config) {
                                        r = -ENOMEM;
                                        break;
                                }
                        }
                        *batch->config = (SimConfigDisk) {
                                .installed = a->config.installed,
                                .bp = a->config.bp,
                                .ba = a->config.ba,
                                .accepted = a->config.accepted,
                        };
                        break;

                case ACTION_PERSIST_INIT:
                        sim_trace_add(s, TRACE_ACTION, a->type, n->host, -1);
                        if (!batch)
                                r = batch_open(n, &batch);
                        if (r >= 0)
                                r = batch_add(batch, -1, NULL, NULL);
                        break;

                case ACTION_START_UNIT:
                        tr = sim_trace_add(s, TRACE_ACTION, a->type, n->host, name);
                        tr->a = a->start.token;
                        tr->b = a->start.valid;
                        tr->c = sim_true_at(n, a->start.valid);
                        if (name >= 0)
                                r = unit_start(s, n, (unsigned) name, a->start.token);
                        break;

                case ACTION_STOP_UNIT:
                        sim_trace_add(s, TRACE_ACTION, a->type, n->host, name);
                        if (name >= 0)
                                r = unit_stop(s, n, (unsigned) name);
                        break;

                case ACTION_KILL_UNIT:
                        sim_trace_add(s, TRACE_ACTION, a->type, n->host, name);
                        if (name >= 0)
                                r = unit_kill(s, n, (unsigned) name);
                        break;

                case ACTION_ARM_TIMER:
                        r = arm_timer(s, n, name, a->timer.deadline, a->timer.fence);
                        break;

                case ACTION_NOTIFY:
                        tr = sim_trace_add(s, TRACE_NOTIFY, a->notify.kind, n->host, name);
                        tr->a = a->notify.token;
                        tr->b = a->notify.holder;
                        tr->c = a->notify.reason;
                        if (a->notify.kind == NOTIFY_INSTALLED || a->notify.kind == NOTIFY_CHANGE) {
                                const VoterConfig *c = &a->notify.config;

                                tr->a = c->epoch.n;
                                tr->b = ((uint64_t) c->n_voters << 8) | (c->phase + (c->rescanned ? 0x10u : 0));
                                tr->c = (uint64_t) a->notify.change;
                                tr->d = (uint64_t) (int64_t) a->notify.error;
                                tr->flags = a->notify.done;
                        }
                        if (a->notify.kind == NOTIFY_INSTALLED) {
                                const VoterConfig *c = &a->notify.config;

                                n->voter = voter_config_index(c, n->host) >= 0;
                                s->res->installs++;
                                sim_check_installed(s, n, c);
                                if (c->n_voters > s->res->max_voters)
                                        s->res->max_voters = c->n_voters;
                                if (c->epoch.n > s->res->last_epoch)
                                        s->res->last_epoch = c->epoch.n;
                                sim_check_i7(s);
                        } else if (a->notify.kind == NOTIFY_CHANGE && a->notify.done) {
                                if (a->notify.error == 0)
                                        s->res->voter_changes++;
                                else
                                        s->res->voter_change_errors++;
                        }
                        if (name < 0)
                                break;
                        if (a->notify.kind == NOTIFY_OWNER && a->notify.value_kind == VALUE_FREE) {
                                /*
                                 * As pesd does (manager.c do_notify()): the local acceptor
                                 * took a release, so a candidate here waiting out the old
                                 * claim tries now. It appends no ARM_TIMER, so a per-name
                                 * timer is re-armed for now by hand.
                                 */
                                int k = node_claim_cleared(n->core, a->name, node_now(s, n));

                                if (k < 0)
                                        r = sim_fail(s, k, "node_claim_cleared", n, name);
                                else if (k > 0 && s->p.timers == SIM_TIMERS_PER_NAME)
                                        r = arm_timer(s, n, name, node_now(s, n), false);
                        } else if (a->notify.kind == NOTIFY_ACQUIRED) {
                                s->res->tenures++;
                                sim_check_acquired(s, n, (unsigned) name, a->notify.token);
                        } else if (a->notify.kind == NOTIFY_LOST) {
                                if (a->notify.reason == LOST_FENCED)
                                        s->res->fences++;
                                sim_check_lost(s, n, (unsigned) name, a->notify.reason);
                        }
                        break;

                default:
                        r = sim_fail(s, -EINVAL, "unknown action", n, name);
                        break;
                }
        }
        action_list_clear(&s->out);
        if (r >= 0)
                r = flush_outbox(s, n);
        if (r < 0)
                return r;

        if (batch)
                r = commit(s, n, batch);
        if (r < 0)
                return r;
        if (s->p.timers == SIM_TIMERS_TICK && n->up && n->core)
                r = rearm_tick(s, n);
        return r;
}

/* ---- peer liveness and candidates ---- */

/* The live eligible candidates for a name as host n sees them (DESIGN.md "rank"). */
static int set_candidates(Sim *s, SimNode *n, unsigned name) {
        const SimName *nm = &s->names[name];
        RankCandidate c[SIM_NODES_MAX];
        size_t k = 0;
        int r;

        for (size_t i = 0; i < nm->n_candidates; i++)
                if (!n->dead[nm->candidates[i].host - 1])
                        c[k++] = nm->candidates[i];
        r = node_set_candidates(n->core, nm->name, c, k);
        if (r < 0)
                return sim_fail(s, r, "node_set_candidates", n, (int32_t) name);
        return 0;
}

/*
 * pesd pings every peer every H and counts one dead after 3H without an answer
 * (src/daemon/peers.c); a change re-ranks every name (manager.c on_peer_state()).
 * A host hears a peer that is up and whose packets reach it both ways.
 */
static int ping(Sim *s) {
        for (unsigned i = 0; i < s->n_nodes; i++) {
                SimNode *o = &s->nodes[i];
                bool changed = false;

                if (!o->up)
                        continue;
                for (unsigned k = 0; k < s->n_nodes; k++) {
                        SimNode *p = &s->nodes[k];
                        bool dead;

                        if (p == o)
                                continue;
                        if (p->up && !cut(s, o, p) && !cut(s, p, o))
                                o->heard[k] = s->now;
                        dead = s->now > o->heard[k] + 3 * PEER_HEARTBEAT;
                        if (dead != o->dead[k]) {
                                TraceRec *tr = sim_trace_add(s, TRACE_FAULT, FAULT_PEERS, o->host, -1);

                                tr->a = p->host;
                                tr->b = dead;
                                o->dead[k] = dead;
                                changed = true;
                        }
                }
                if (!changed)
                        continue;
                for (unsigned name = 0; name < s->n_names; name++) {
                        int r;

                        if (!o->guards[name])
                                continue;
                        r = set_candidates(s, o, name);
                        if (r < 0)
                                return r;
                }
        }
        return schedule(s, s->now + PEER_HEARTBEAT / 2, EV_PING, 0, -1, 0);
}

/* ---- nodes ---- */

static const VoterConfig *cluster_config(const Sim *s);

static int node_boot(Sim *s, SimNode *n, bool new_clock) {
        const VoterConfig *boot_config;
        AcceptorStart mode;
        uint64_t now;
        int r;

        if (new_clock) {
                /* A new boot: a new clock with its own rate within ±ρ (the bounds included). */
                int64_t rho_ppb = (int64_t) s->config.rho_ppm * 1000;
                uint64_t roll = sim_rng_below(&s->rng, 4);

                n->boot_true = s->now;
                n->boot_clock = sim_rng_range(&s->rng, USEC_PER_SEC, 1000 * USEC_PER_SEC);
                n->drift_ppb = roll == 0 ? -rho_ppb : roll == 1 ? rho_ppb :
                        (int64_t) sim_rng_below(&s->rng, (uint64_t) (2 * rho_ppb + 1)) - rho_ppb;
        }

        n->up = true;
        n->incarnation++;
        n->paused_until = 0;
        n->tick_pending = false;
        sim_rng_seed(&n->core_rng_state, sim_rng_next(&s->rng));
        n->core_rng = (CoreRng) { .next = sim_rng_core_next, .userdata = &n->core_rng_state };

        /*
         * The configuration on disk; without one, the cluster's newest (pesd
         * joins through a member and is given it), or the first one at formation.
         */
        boot_config = n->has_durable_config ? &n->durable_config.installed : cluster_config(s);
        if (!boot_config)
                boot_config = &s->config;
        r = node_new(n->host, n->incarnation, boot_config, &n->core_rng, &n->core);
        if (r < 0)
                return sim_fail(s, r, "node_new", n, -1);
        /* The register's state on disk, as pesd's store hands it back. */
        if (n->has_durable_config) {
                r = node_config_load(n->core, &n->durable_config.installed, &n->durable_config.bp,
                                     &n->durable_config.ba, &n->durable_config.accepted);
                if (r < 0)
                        return sim_fail(s, r, "node_config_load", n, -1);
        }
        n->voter = voter_config_index(node_config(n->core), n->host) >= 0;
        /* The ballot reserve on disk: new ballots start above it (F5, B1). */
        node_set_ballot_floor(n->core, n->durable_ballots);

        /* DESIGN.md "Restart", "Lost disk", "Bootstrap": the mode follows from what is on disk. */
        if (n->durable_init) {
                for (unsigned i = 0; i < s->n_names; i++) {
                        if (!n->durable[i].has)
                                continue;
                        r = node_acceptor_load(n->core, s->names[i].name, &n->durable[i].bp, &n->durable[i].v);
                        if (r < 0)
                                return sim_fail(s, r, "node_acceptor_load", n, (int32_t) i);
                }
                mode = ACCEPTOR_START_RESTART;
        } else if (n->ever_init && n->voter)
                mode = ACCEPTOR_START_LOST_DISK;
        else if (n->ever_init)
                mode = ACCEPTOR_START_RESTART; /* a candidate that is no voter has no acceptor state */
        else
                mode = ACCEPTOR_START_BOOTSTRAP;

        for (unsigned k = 0; k < s->n_nodes; k++) {
                n->heard[k] = s->now;
                n->dead[k] = false;
        }
        memset(n->promise_ballot, 0, 2 * s->n_names * sizeof(Ballot));
        memset(n->promise_mask, 0, 2 * s->n_names * sizeof(uint32_t));
        memset(n->promise_round, 0, 2 * s->n_names * sizeof(uint64_t));
        memset(n->quorum_ballots, 0, s->n_names * sizeof(*n->quorum_ballots));
        memset(n->i7_round, 0, s->n_names * sizeof(uint64_t));
        memset(n->i7_mask, 0, s->n_names * sizeof(uint32_t));
        memset(n->i7_checked, 0, s->n_names * sizeof(bool));
        for (unsigned i = 0; i < s->n_names; i++) {
                n->bp_seen[i] = n->durable[i].has ? n->durable[i].bp : (Ballot) {};
                n->released[i] = false;
                n->guards[i] = NULL;
        }

        now = node_now(s, n);
        {
                TraceRec *tr = sim_trace_add(s, TRACE_FAULT, FAULT_BOOT, n->host, -1);
                tr->a = mode;
                tr->b = n->incarnation;
        }
        r = node_start(n->core, mode, now, &s->out);
        if (r < 0)
                return sim_fail(s, r, "node_start", n, -1);

        for (unsigned i = 0; i < s->n_names; i++) {
                SimName *nm = &s->names[i];

                if (!n->candidate[i])
                        continue;
                r = node_supervise(n->core, nm->name, &nm->params, now, &s->out);
                if (r < 0)
                        return sim_fail(s, r, "node_supervise", n, (int32_t) i);
                r = set_candidates(s, n, i);
                if (r < 0)
                        return r;
                n->guards[i] = node_guard(n->core, nm->name);
                if (!n->guards[i])
                        return sim_fail(s, -ENOENT, "node_guard", n, (int32_t) i);
        }
        s->all_dirty = true;
        return carry_out(s, n);
}

static bool wipe_pending(const Sim *s) {
        for (unsigned i = 0; i < s->n_nodes; i++) {
                const SimNode *n = &s->nodes[i];

                if (!n->voter || !n->ever_init || n->durable_init)
                        continue;
                /* A voter that lost its disk and has not recovered yet (down, or scanning). */
                if (!n->up || !acceptor_serving(node_acceptor(n->core)))
                        return true;
        }
        return false;
}

/*
 * A crash. A host crash (power loss) kills the units with it and reboots with a
 * new clock; a crash of pesd alone leaves the host running, and systemd stops
 * the units bound to it (BindsTo=pesd.service) within their stop budget S.
 * Unsynced writes are lost either way; a wiped disk loses everything.
 */
static int node_crash(Sim *s, SimNode *n, bool host, bool wipe) {
        TraceRec *tr;
        int r;

        tr = sim_trace_add(s, TRACE_FAULT, wipe ? FAULT_WIPE : host ? FAULT_CRASH_HOST : FAULT_CRASH_DAEMON, n->host, -1);
        tr->a = n->n_batches;
        s->res->crashes++;
        if (wipe)
                s->res->wipes++;

        n->core = node_free(n->core);
        n->up = false;
        n->life++;
        n->paused_until = 0;
        batches_drop(s, n);

        for (unsigned i = 0; i < s->n_names; i++) {
                SimUnit *u = &n->units[i];

                n->guards[i] = NULL;
                u->stop_requested = false;
                u->start_pending = false;
                if (u->state == UNIT_INACTIVE)
                        continue;
                if (host)
                        unit_set(s, n, i, UNIT_INACTIVE);
                else if (u->state != UNIT_STOPPING) {
                        /* systemd notices pesd's death and queues the BindsTo= stop a moment later. */
                        r = unit_begin_stop(s, n, i, sim_rng_range(&s->rng, USEC_PER_MSEC, BINDS_TO_LATENCY_MAX));
                        if (r < 0)
                                return r;
                }
        }

        if (wipe) {
                for (unsigned i = 0; i < s->n_names; i++) {
                        n->durable[i] = (SimDurable) {};
                        n->promised[i] = (Ballot) {};
                }
                n->durable_init = false;
                n->durable_ballots = 0;
                n->has_durable_config = false;
                /* B1 holds across restarts with the disk; a wiped disk takes the ballot
                 * reserve with it (DESIGN.md promises I1 and I3 there, which P2 keeps). */
                for (unsigned i = 0; i < s->n_names; i++)
                        n->prepared[i] = (Ballot) {};
        }

        s->all_dirty = true;
        return schedule(s, s->now + sim_rng_range(&s->rng, DOWN_MIN, DOWN_MAX), EV_BOOT, n->host - 1, -1, host);
}

/* ---- workload and faults ---- */

static SimNode *random_up_node(Sim *s) {
        unsigned k = 0, pick;

        for (unsigned i = 0; i < s->n_nodes; i++)
                if (s->nodes[i].up)
                        k++;
        if (k == 0)
                return NULL;
        pick = (unsigned) sim_rng_below(&s->rng, k);
        for (unsigned i = 0; i < s->n_nodes; i++)
                if (s->nodes[i].up && pick-- == 0)
                        return &s->nodes[i];
        return NULL;
}

/* The node that holds name (guard_holds on its own clock), or NULL. */
static SimNode *holder_of(Sim *s, unsigned name) {
        for (unsigned i = 0; i < s->n_nodes; i++) {
                SimNode *n = &s->nodes[i];

                if (n->up && n->guards[name] && guard_holds(n->guards[name], node_now(s, n)))
                        return n;
        }
        return NULL;
}

static int inject_release(Sim *s) {
        unsigned name = (unsigned) sim_rng_below(&s->rng, s->n_names);
        SimNode *n = holder_of(s, name);
        TraceRec *tr;
        int r;

        if (!n || n->released[name])
                return 0;
        /* Keep another candidate campaigning, so that the name has an eligible host (I8). */
        for (unsigned i = 0; i < s->n_nodes; i++)
                if (s->nodes[i].released[name])
                        return 0;

        tr = sim_trace_add(s, TRACE_FAULT, FAULT_RELEASE, n->host, (int32_t) name);
        (void) tr;
        s->res->releases++;
        n->released[name] = true;
        r = node_release(n->core, s->names[name].name, node_now(s, n), &s->out);
        if (r < 0)
                return sim_fail(s, r, "node_release", n, (int32_t) name);
        r = carry_out(s, n);
        if (r < 0)
                return r;
        return schedule(s, s->now + sim_rng_range(&s->rng, RECAMPAIGN_MIN, RECAMPAIGN_MAX),
                        EV_CAMPAIGN, n->host - 1, (int32_t) name, 0);
}

static int inject_move(Sim *s) {
        unsigned name = (unsigned) sim_rng_below(&s->rng, s->n_names), k = 0, pick;
        SimName *nm = &s->names[name];
        SimNode *a = holder_of(s, name), *b = NULL;
        TraceRec *tr;
        int r;

        if (!a)
                return 0;
        for (size_t i = 0; i < nm->n_candidates; i++) {
                SimNode *c = host_node(s, nm->candidates[i].host);

                if (c != a && (c->up || !s->calm))
                        k++;
        }
        if (k == 0)
                return 0;
        pick = (unsigned) sim_rng_below(&s->rng, k);
        for (size_t i = 0; i < nm->n_candidates; i++) {
                SimNode *c = host_node(s, nm->candidates[i].host);

                if (c != a && (c->up || !s->calm) && pick-- == 0) {
                        b = c;
                        break;
                }
        }
        if (!b)
                return 0;

        tr = sim_trace_add(s, TRACE_FAULT, FAULT_MOVE, a->host, (int32_t) name);
        tr->a = b->host;
        r = node_move(a->core, nm->name, b->host, node_now(s, a), &s->out);
        if (r == -ENOTCONN)
                return 0;
        if (r < 0)
                return sim_fail(s, r, "node_move", a, (int32_t) name);
        s->res->moves++;
        /* I6: remember the move, checked when the next tenure of the name begins. */
        nm->move_pending = true;
        nm->move_from = a->host - 1u;
        nm->move_to = b->host;
        nm->move_token = guard_token(a->guards[name]);
        return carry_out(s, a);
}

static int inject_unit_failure(Sim *s) {
        unsigned name = (unsigned) sim_rng_below(&s->rng, s->n_names);
        SimNode *n = holder_of(s, name);
        UnitReport what;
        TraceRec *tr;

        if (!n || n->units[name].state != UNIT_ACTIVE)
                return 0;
        what = sim_rng_below(&s->rng, 2) ? REPORT_FAILED : REPORT_STOPPED_BY_ITSELF;
        tr = sim_trace_add(s, TRACE_FAULT, FAULT_UNIT_FAIL, n->host, (int32_t) name);
        tr->a = what;
        s->res->unit_failures++;
        unit_set(s, n, name, UNIT_INACTIVE);
        return unit_report_kind(s, n, name, what);
}

static int inject_crash(Sim *s) {
        SimNode *n = random_up_node(s);
        bool host, wipe;

        if (!n)
                return 0;
        host = sim_rng_below(&s->rng, 2);
        /* At most one voter recovers a lost disk at a time (DESIGN.md "Lost disk" needs F+1 others). */
        wipe = host && n->voter && (!s->p.reconf || s->p.reconf_wipes) && sim_rng_below(&s->rng, 4) == 0 && !wipe_pending(s);
        return node_crash(s, n, host, wipe);
}

static int inject_partition(Sim *s) {
        unsigned groups = (unsigned) sim_rng_range(&s->rng, 2, 3), used = 0;
        TraceRec *tr;

        if (s->partitioned) {
                s->partitioned = false;
                sim_trace_add(s, TRACE_FAULT, FAULT_HEAL, 0, -1);
                return 0;
        }
        for (unsigned i = 0; i < s->n_nodes; i++) {
                s->nodes[i].group = (unsigned) sim_rng_below(&s->rng, groups);
                used |= 1u << s->nodes[i].group;
        }
        if ((used & (used - 1)) == 0)
                s->nodes[sim_rng_below(&s->rng, s->n_nodes)].group = used == 1 ? 1 : 0;

        s->partitioned = true;
        s->one_way = sim_rng_below(&s->rng, 4) == 0;
        s->partition_gen++;
        s->res->partitions++;
        tr = sim_trace_add(s, TRACE_FAULT, FAULT_PARTITION, 0, -1);
        for (unsigned i = 0; i < s->n_nodes; i++)
                tr->a |= (uint64_t) s->nodes[i].group << (4 * i);
        return schedule(s, s->now + sim_rng_range(&s->rng, PARTITION_MIN, PARTITION_MAX),
                        EV_HEAL, 0, -1, s->partition_gen);
}

/* A pause of pesd shorter than δ, at most one per T (DESIGN.md "δ is sized to the longest host pause"). */
static int pause_node(Sim *s, SimNode *n) {
        TraceRec *tr;
        uint64_t p;

        if (!n || !n->up || n->paused_until > s->now || s->now < n->last_pause_end + s->max_lease_usec)
                return 0;
        p = sim_rng_range(&s->rng, USEC_PER_MSEC, s->config.delta_usec - USEC_PER_MSEC);
        n->paused_until = s->now + p;
        n->last_pause_end = n->paused_until;
        s->res->pauses++;
        tr = sim_trace_add(s, TRACE_FAULT, FAULT_PAUSE, n->host, -1);
        tr->a = p;
        return 0;
}

/*
 * Half of the pauses are aimed: they begin just before a holder's stop deadline
 * (valid − S) or its SIGKILL deadline (valid), where the margin δ must absorb them.
 */
static int inject_pause(Sim *s) {
        unsigned name = (unsigned) sim_rng_below(&s->rng, s->n_names);
        SimNode *n = holder_of(s, name);
        uint64_t deadline, at;

        if (!n || sim_rng_below(&s->rng, 2) == 0)
                return pause_node(s, random_up_node(s));

        deadline = guard_valid(n->guards[name]);
        if (sim_rng_below(&s->rng, 2) == 0)
                deadline -= s->names[name].params.stop_usec;
        at = sim_true_at(n, deadline);
        if (at <= s->now)
                return 0;
        at -= sim_rng_below(&s->rng, at - s->now < 5 * USEC_PER_MSEC ? at - s->now : 5 * USEC_PER_MSEC);
        return schedule(s, at, EV_PAUSE, n->host - 1, (int32_t) name, 0);
}

static void pick_network(Sim *s) {
        static const uint32_t loss[] = { 0, 10000, 50000, 200000 };
        static const uint32_t dup[] = { 0, 10000, 50000 };
        static const uint32_t tail[] = { 0, 20000, 100000 };
        static const uint32_t big[] = { 0, 5000, 20000 };
        TraceRec *tr;

        s->loss_ppm = loss[sim_rng_below(&s->rng, 4)];
        s->dup_ppm = dup[sim_rng_below(&s->rng, 3)];
        s->tail_ppm = tail[sim_rng_below(&s->rng, 3)];
        s->big_tail_ppm = big[sim_rng_below(&s->rng, 3)];

        /* Now and then some links are congested for the whole phase, in one direction. */
        memset(s->slow, 0, sizeof(s->slow));
        if (sim_rng_below(&s->rng, 2) == 0) {
                unsigned k = (unsigned) sim_rng_range(&s->rng, 1, 2 * s->n_nodes);

                for (unsigned i = 0; i < k; i++) {
                        unsigned a = (unsigned) sim_rng_below(&s->rng, s->n_nodes);
                        unsigned b = (unsigned) sim_rng_below(&s->rng, s->n_nodes);

                        if (a != b)
                                s->slow[a][b] = sim_rng_range(&s->rng, SLOW_LINK_MIN, SLOW_LINK_MAX);
                }
        }
        /* Or one host's inbound traffic is congested: every answer it waits for is late. */
        if (sim_rng_below(&s->rng, 3) != 0) {
                unsigned b = (unsigned) sim_rng_below(&s->rng, s->n_nodes);
                uint64_t d = sim_rng_range(&s->rng, CONGESTED_MIN, CONGESTED_MAX);

                for (unsigned a = 0; a < s->n_nodes; a++)
                        if (a != b)
                                s->slow[a][b] = d;
        }
        tr = sim_trace_add(s, TRACE_FAULT, FAULT_NET, 0, -1);
        tr->a = s->loss_ppm;
        tr->b = s->big_tail_ppm;
}

/* The newest configuration any host that is up has installed: what an operator would see. */
static const VoterConfig *cluster_config(const Sim *s) {
        const VoterConfig *best = NULL;

        for (unsigned i = 0; i < s->n_nodes; i++) {
                const SimNode *n = &s->nodes[i];

                if (n->up && n->core && (!best || node_config(n->core)->epoch.n > best->epoch.n))
                        best = node_config(n->core);
        }
        return best;
}

static SimNode *random_up_node_at(Sim *s, const VoterConfig *c) {
        SimNode *pick[SIM_NODES_MAX];
        unsigned k = 0;

        for (unsigned i = 0; i < s->n_nodes; i++) {
                SimNode *n = &s->nodes[i];

                if (n->up && n->core && epoch_equal(&node_config(n->core)->epoch, &c->epoch))
                        pick[k++] = n;
        }
        return k ? pick[sim_rng_below(&s->rng, k)] : NULL;
}

/*
 * The operator (SimParams.reconf): the voters go 3→4→5→4→3 and around again,
 * one change at a time (now and then a second one at once), from any host. A voter to remove is one that is down if
 * there is one (a replacement: a later step adds another host); a drive that
 * ended without finishing (its host crashed, -ETIMEDOUT, -ESTALE) is resumed,
 * or now and then rolled back, from another host.
 */
static int inject_reconf(Sim *s) {
        static const unsigned cycle[] = { 4, 5, 4, 3 };
        const VoterConfig *c;
        ConfigChangeKind kind;
        uint16_t x = PES_HOST_NONE;
        bool concurrent;
        SimNode *n;
        TraceRec *tr;
        int r;

        /* One change at a time, mostly; now and then a second operator starts one too. */
        concurrent = sim_rng_below(&s->rng, 3) == 0;
        for (unsigned i = 0; i < s->n_nodes; i++)
                if (s->nodes[i].up && s->nodes[i].core && node_config_driving(s->nodes[i].core, NULL, NULL) && !concurrent)
                        return 0;
        c = cluster_config(s);
        if (!c)
                return 0;
        n = random_up_node_at(s, c);
        if (!n || node_config_driving(n->core, NULL, NULL))
                return 0;

        if (voter_config_changing(c))
                /* A second operator disagrees with the first half of the time. */
                kind = c->phase == CONFIG_ACCEPT_WIDENED && sim_rng_below(&s->rng, concurrent ? 2 : 5) == 0 ?
                        CHANGE_ROLLBACK : CHANGE_RESUME;
        else {
                unsigned target = cycle[s->reconf_step % 4];
                uint16_t pick[SIM_NODES_MAX];
                unsigned k = 0, down = 0;

                if (c->n_voters == target) {
                        s->reconf_step++;
                        target = cycle[s->reconf_step % 4];
                }
                if (c->n_voters < target) {
                        kind = CHANGE_ADD_VOTER;
                        for (unsigned i = 0; i < s->n_nodes; i++)
                                if (voter_config_index(c, s->nodes[i].host) < 0)
                                        pick[k++] = s->nodes[i].host;
                } else {
                        kind = CHANGE_REMOVE_VOTER;
                        for (unsigned i = 0; i < c->n_voters; i++) {
                                const SimNode *v = &s->nodes[c->voters[i] - 1];

                                if (!v->up) {
                                        /* Down voters first: they are listed before the others. */
                                        pick[k++] = pick[down];
                                        pick[down++] = v->host;
                                } else
                                        pick[k++] = v->host;
                        }
                        if (down > 0)
                                k = down;
                }
                if (k == 0)
                        return 0;
                x = pick[sim_rng_below(&s->rng, k)];
                if (kind == CHANGE_REMOVE_VOTER && down > 0)
                        s->res->replacements++;
        }

        tr = sim_trace_add(s, TRACE_FAULT, FAULT_RECONF, n->host, -1);
        tr->a = kind;
        tr->b = x;
        r = node_config_change(n->core, kind, x, node_now(s, n), &s->out);
        if (r < 0) {
                /* Refused at once (another change got there first): nothing was appended. */
                tr->c = (uint64_t) (int64_t) r;
                return 0;
        }
        return carry_out(s, n);
}

static int inject(Sim *s) {
        uint64_t roll;

        if (s->calm) {
                /* Faults have healed: only the operator's workload goes on. */
                roll = sim_rng_below(&s->rng, 5);
                if (roll == 0)
                        return inject_release(s);
                if (roll <= 2)
                        return inject_move(s);
                return 0;
        }

        roll = sim_rng_below(&s->rng, 64);
        if (roll < 12)
                return inject_crash(s);
        if (roll < 22)
                return inject_partition(s);
        if (roll < 30)
                return inject_pause(s);
        if (roll < 34) {
                pick_network(s);
                return 0;
        }
        if (roll < 40)
                return inject_unit_failure(s);
        if (roll < 50)
                return inject_release(s);
        return inject_move(s);
}

static int phase_change(Sim *s) {
        int r;

        if (s->calm && s->p.calm_only) {
                /* No faults at all: the operator's workload and voter changes only. */
                sim_check_calm_ends(s);
                sim_check_calm_begins(s);
                return schedule(s, s->now + sim_rng_range(&s->rng, CALM_MIN, CALM_MAX), EV_PHASE, 0, -1, 0);
        }
        if (s->calm) {
                sim_check_calm_ends(s);
                s->calm = false;
                sim_trace_add(s, TRACE_FAULT, FAULT_CHAOS, 0, -1);
                pick_network(s);
                return schedule(s, s->now + sim_rng_range(&s->rng, CHAOS_MIN, CHAOS_MAX), EV_PHASE, 0, -1, 0);
        }

        /* Faults heal: every host comes back, the network is whole and quick again. */
        s->calm = true;
        s->calm_since = s->now;
        s->partitioned = false;
        s->loss_ppm = s->dup_ppm = s->tail_ppm = s->big_tail_ppm = 0;
        memset(s->slow, 0, sizeof(s->slow));
        sim_trace_add(s, TRACE_FAULT, FAULT_CALM, 0, -1);
        for (unsigned i = 0; i < s->n_nodes; i++) {
                SimNode *n = &s->nodes[i];

                if (n->up)
                        continue;
                r = node_boot(s, n, true);
                if (r < 0)
                        return r;
        }
        sim_check_calm_begins(s);
        return schedule(s, s->now + sim_rng_range(&s->rng, CALM_MIN, CALM_MAX), EV_PHASE, 0, -1, 0);
}

/* ---- the event loop ---- */

static bool defer_if_paused(Sim *s, const SimEvent *ev, SimNode *n, int *r) {
        SimEvent again;

        if (n->paused_until <= s->now)
                return false;
        again = *ev;
        again.at = n->paused_until;
        *r = heap_push(s, again);
        return true;
}

static void trace_event(Sim *s, const SimEvent *ev, const SimNode *n) {
        TraceRec *tr = sim_trace_add(s, TRACE_EVENT, ev->type, n ? n->host : 0, ev->name);

        tr->a = n && n->up ? node_now(s, n) : 0;
}

/* handle() returns this for an event made moot (a re-armed timer, a crashed host's sync): not a step. */
#define STALE 1

static int handle(Sim *s, const SimEvent *ev) {
        SimNode *n = &s->nodes[ev->node];
        const char *name = ev->name >= 0 ? s->names[ev->name].name : "";
        int r = 0;

        mark_dirty(s, ev->name);

        switch ((SimEventType) ev->type) {
        case EV_BOOT:
                if (ev->life != n->life || n->up)
                        return STALE;
                trace_event(s, ev, n);
                return node_boot(s, n, ev->gen != 0);

        case EV_DELIVER: {
                uint32_t i = ev->msg;

                if (!n->up) {
                        trace_packet(s, i, SEND_DROPPED_DOWN, 0);
                        packet_release(s, i);
                        return 0;
                }
                if (defer_if_paused(s, ev, n, &r))
                        return r;
                /* One request from a peer: every message of it in one loop turn. */
                for (size_t k = 0; k < s->packets[i].n; k++) {
                        const PeerMsg *m = &s->packets[i].msgs[k];
                        int32_t idx = m->name[0] ? sim_name_index(s, m->name) : -1;
                        TraceRec *tr;

                        mark_dirty(s, idx);
                        tr = sim_trace_add(s, TRACE_EVENT, EV_DELIVER, n->host, idx);
                        tr->peer = m->from;
                        tr->flags = m->type;
                        sim_trace_msg(tr, m, m->remaining_usec);
                        sim_check_received(s, n, m);
                        r = node_receive(n->core, m, node_now(s, n), &s->out);
                        if (r < 0) {
                                packet_release(s, i);
                                return sim_fail(s, r, "node_receive", n, idx);
                        }
                }
                packet_release(s, i);
                return carry_out(s, n);
        }

        case EV_TIMER: {
                unsigned slot = ev->name < 0 ? s->n_names : (unsigned) ev->name;

                if (ev->life != n->life || !n->up || n->timer_gen[slot] != ev->gen)
                        return STALE;
                if (defer_if_paused(s, ev, n, &r))
                        return r;
                trace_event(s, ev, n);
                r = node_timer(n->core, name, node_now(s, n), &s->out);
                if (r < 0)
                        return sim_fail(s, r, "node_timer", n, ev->name);
                return carry_out(s, n);
        }

        case EV_TICK: {
                uint64_t now;

                if (ev->life != n->life || !n->up || n->tick_gen != ev->gen)
                        return STALE;
                if (defer_if_paused(s, ev, n, &r))
                        return r;
                n->tick_pending = false;
                now = node_now(s, n);
                if (node_next_deadline(n->core) <= now) {
                        trace_event(s, ev, n);
                        r = node_tick(n->core, now, &s->out);
                        if (r < 0)
                                return sim_fail(s, r, "node_tick", n, -1);
                }
                return carry_out(s, n);
        }

        case EV_PAUSE:
                if (ev->life != n->life || !n->up)
                        return STALE;
                return pause_node(s, n);

        case EV_RECONF:
                r = inject_reconf(s);
                if (r >= 0)
                        r = schedule(s, s->now + sim_rng_range(&s->rng, RECONF_SPACING_MIN, RECONF_SPACING_MAX),
                                     EV_RECONF, 0, -1, 0);
                return r;

        case EV_PING:
                return ping(s);

        case EV_SYNC:
                if (ev->life != n->life || !n->up)
                        return STALE;
                if (defer_if_paused(s, ev, n, &r))
                        return r;
                trace_event(s, ev, n);
                return sync_done(s, n, ev->gen);

        case EV_UNIT_DONE:
                /* Units are systemd's: they go on while pesd is down. */
                if (n->units[ev->name].gen != ev->gen)
                        return STALE;
                if (ev->arg == UNIT_PHASE_CONDITION)
                        return unit_condition(s, n, (unsigned) ev->name);
                return unit_done(s, n, (unsigned) ev->name);

        case EV_UNIT_REPORT:
                if (ev->life != n->life || !n->up || !n->guards[ev->name])
                        return STALE;
                /* "Stopped" means the cgroup is empty, re-checked when the report is handled. */
                if (n->units[ev->name].state != UNIT_INACTIVE)
                        return STALE;
                if (defer_if_paused(s, ev, n, &r))
                        return r;
                trace_event(s, ev, n);
                if (ev->arg == REPORT_FAILED)
                        r = node_unit_failed(n->core, name, node_now(s, n), &s->out);
                else
                        r = node_unit_stopped(n->core, name, node_now(s, n), &s->out);
                if (r < 0)
                        return sim_fail(s, r, "node_unit_stopped/failed", n, ev->name);
                return carry_out(s, n);

        case EV_CAMPAIGN:
                if (ev->life != n->life || !n->up || !n->released[ev->name])
                        return STALE;
                if (defer_if_paused(s, ev, n, &r))
                        return r;
                trace_event(s, ev, n);
                n->released[ev->name] = false;
                r = node_campaign(n->core, name, node_now(s, n), &s->out);
                if (r < 0)
                        return sim_fail(s, r, "node_campaign", n, ev->name);
                return carry_out(s, n);

        case EV_CHAOS:
                r = inject(s);
                if (r < 0)
                        return r;
                return schedule(s, s->now + sim_rng_exp(&s->rng, s->calm ? CALM_SPACING : CHAOS_SPACING),
                                EV_CHAOS, 0, -1, 0);

        case EV_PHASE:
                return phase_change(s);

        case EV_HEAL:
                if (ev->gen != s->partition_gen || !s->partitioned)
                        return STALE;
                s->partitioned = false;
                sim_trace_add(s, TRACE_FAULT, FAULT_HEAL, 0, -1);
                return 0;

        default:
                return sim_fail(s, -EINVAL, "unknown event", NULL, -1);
        }
}

/* ---- setup ---- */

/* Per-name timing: mostly the defaults, some shorter and longer heartbeats and stop budgets. */
static void pick_params(Sim *s, GuardParams *p) {
        static const struct {
                uint64_t h, stop;
        } choices[] = {
                { 1000 * USEC_PER_MSEC, 500 * USEC_PER_MSEC },
                { 1000 * USEC_PER_MSEC, 500 * USEC_PER_MSEC },
                { 1000 * USEC_PER_MSEC, 100 * USEC_PER_MSEC },
                { 500 * USEC_PER_MSEC, 200 * USEC_PER_MSEC },
                { 2000 * USEC_PER_MSEC, 1500 * USEC_PER_MSEC },
        };
        unsigned k = (unsigned) sim_rng_below(&s->rng, sizeof(choices) / sizeof(choices[0]));
        uint64_t suggested = 0;

        guard_params_init(p);
        p->heartbeat_usec = choices[k].h;
        p->stop_usec = choices[k].stop;
        p->round_timeout_usec = choices[k].h;
        if (lease_validate(p->heartbeat_usec, p->stop_usec, s->config.rho_ppm, s->config.delta_usec,
                           s->config.lease_max_usec, NULL) >= 0)
                return;

        /* Not valid with this cluster's ρ and δ: the defaults, or the heartbeat validation suggests. */
        guard_params_init(p);
        if (lease_validate(p->heartbeat_usec, p->stop_usec, s->config.rho_ppm, s->config.delta_usec,
                           s->config.lease_max_usec, &suggested) == -ERANGE && suggested > 0) {
                p->heartbeat_usec = suggested;
                p->round_timeout_usec = suggested;
        }
}

static int setup(Sim *s) {
        uint16_t voters[SIM_NODES_MAX], members[SIM_NODES_MAX];
        int r;

        s->n_nodes = s->p.n_nodes ? s->p.n_nodes : (unsigned) sim_rng_range(&s->rng, SIM_NODES_MIN, SIM_NODES_MAX);
        /* An odd set of voters; with an even number of hosts one host is a candidate only. */
        s->n_voters = s->n_nodes % 2 ? s->n_nodes : s->n_nodes - 1;
        if (s->n_voters > 3 && sim_rng_below(&s->rng, 4) == 0)
                s->n_voters -= 2;
        if (s->p.reconf) {
                /* Room to grow to five voters with a candidate to spare: 5–7 hosts, 3 voters. */
                if (!s->p.n_nodes)
                        s->n_nodes = (unsigned) sim_rng_range(&s->rng, 5, SIM_NODES_MAX);
                if (s->n_nodes < 5)
                        return -EINVAL;
                s->n_voters = 3;
        }
        if (s->p.n_names)
                s->n_names = s->p.n_names;
        else if (sim_rng_below(&s->rng, 8) == 0)
                s->n_names = (unsigned) sim_rng_range(&s->rng, 40, 150);
        else
                s->n_names = (unsigned) sim_rng_range(&s->rng, 1, 16);

        for (unsigned i = 0; i < s->n_nodes; i++)
                members[i] = (uint16_t) (i + 1);
        for (unsigned i = 0; i < s->n_voters; i++)
                voters[i] = (uint16_t) (i + 1);
        /* Every host is a member (a candidate); the first n_voters vote. */
        r = voter_config_init_members(&s->config, voters, s->n_voters, members, s->n_nodes);
        if (r < 0)
                return r;
        s->config.lease_max_usec = SIM_LEASE_MAX;
        /*
         * ρ and δ are agreed by the cluster (DESIGN.md "Timing is agreed"): mostly
         * the defaults, but a quarter of the runs use others, so the lease
         * arithmetic is tested for any figures, not only for 10⁻³ and 200 ms.
         */
        if (sim_rng_below(&s->rng, 4) == 0) {
                static const uint32_t rho[] = { 100, 5000, 20000 };
                static const uint64_t delta[] = { 50 * USEC_PER_MSEC, 100 * USEC_PER_MSEC, 300 * USEC_PER_MSEC };

                s->config.rho_ppm = rho[sim_rng_below(&s->rng, 3)];
                s->config.delta_usec = delta[sim_rng_below(&s->rng, 3)];
        }
        s->config.epoch.hash = voter_config_hash(&s->config, 0);

        s->names = calloc(s->n_names, sizeof(SimName));
        if (!s->names)
                return -ENOMEM;
        s->max_lease_usec = 0;
        for (unsigned i = 0; i < s->n_names; i++) {
                SimName *nm = &s->names[i];
                unsigned mask;

                snprintf(nm->name, sizeof(nm->name), "u%04u.service", i);
                pick_params(s, &nm->params);
                nm->lease_usec = lease_from_heartbeat(nm->params.heartbeat_usec);
                r = lease_hold_usec(nm->lease_usec, s->config.rho_ppm, s->config.delta_usec, &nm->hold_usec);
                if (r < 0)
                        return r;
                if (nm->lease_usec > s->max_lease_usec)
                        s->max_lease_usec = nm->lease_usec;

                /* Candidates: every host, or a random subset of at least two. */
                if (sim_rng_below(&s->rng, 2) == 0)
                        mask = (1u << s->n_nodes) - 1;
                else
                        do
                                mask = (unsigned) sim_rng_below(&s->rng, 1u << s->n_nodes);
                        while (__builtin_popcount(mask) < 2);
                for (unsigned k = 0; k < s->n_nodes; k++)
                        if (mask & (1u << k))
                                nm->candidates[nm->n_candidates++] = (RankCandidate) {
                                        .host = (uint16_t) (k + 1),
                                        .weight = (uint32_t) sim_rng_range(&s->rng, 1, 3),
                                };
        }

        for (unsigned i = 0; i < s->n_nodes; i++) {
                SimNode *n = &s->nodes[i];

                n->host = (uint16_t) (i + 1);
                n->voter = i < s->n_voters;
                n->candidate = calloc(s->n_names, sizeof(bool));
                n->released = calloc(s->n_names, sizeof(bool));
                n->guards = calloc(s->n_names, sizeof(Guard *));
                n->units = calloc(s->n_names, sizeof(SimUnit));
                n->timer_gen = calloc(s->n_names + 1, sizeof(uint64_t));
                n->durable = calloc(s->n_names, sizeof(SimDurable));
                n->bp_seen = calloc(s->n_names, sizeof(Ballot));
                n->promise_ballot = calloc(2 * s->n_names, sizeof(Ballot));
                n->promise_mask = calloc(2 * s->n_names, sizeof(uint32_t));
                n->promise_round = calloc(2 * s->n_names, sizeof(uint64_t));
                n->prepared = calloc(s->n_names, sizeof(Ballot));
                n->prepared_round = calloc(s->n_names, sizeof(uint64_t));
                n->prepared_life = calloc(s->n_names, sizeof(uint64_t));
                n->quorum_ballots = calloc(s->n_names, sizeof(*n->quorum_ballots));
                n->promised = calloc(s->n_names, sizeof(Ballot));
                n->i7_round = calloc(s->n_names, sizeof(uint64_t));
                n->i7_ballot = calloc(s->n_names, sizeof(Ballot));
                n->i7_mask = calloc(s->n_names, sizeof(uint32_t));
                n->i7_seen = calloc(s->n_names, sizeof(Ballot));
                n->i7_checked = calloc(s->n_names, sizeof(bool));
                if (!n->i7_round || !n->i7_ballot || !n->i7_mask || !n->i7_seen || !n->i7_checked)
                        return -ENOMEM;
                if (!n->candidate || !n->released || !n->guards || !n->units || !n->timer_gen ||
                    !n->durable || !n->bp_seen || !n->promised ||
                    !n->promise_ballot || !n->promise_mask || !n->quorum_ballots ||
                    !n->promise_round || !n->prepared || !n->prepared_round || !n->prepared_life)
                        return -ENOMEM;
        }
        for (unsigned i = 0; i < s->n_names; i++)
                for (size_t k = 0; k < s->names[i].n_candidates; k++)
                        s->nodes[s->names[i].candidates[k].host - 1].candidate[i] = true;

        /*
         * The liveness bound of I8 (DESIGN.md: "within T plus backoff"), for the
         * slowest name: a live lease or reservation to wait out at the acceptors,
         * T·(1+ρ) on a clock that may run slow, (1−ρ); the unit's stop before a
         * release or handoff is written, S; the campaign delay rank·Δ + U(0, Δ)
         * with every host ranked; and one missed round plus its backoff, which the
         * core caps by the round time, at most the round timeout H.
         */
        s->failover_bound_usec = 0;
        for (unsigned i = 0; i < s->n_names; i++) {
                SimName *nm = &s->names[i];
                uint64_t rho = s->config.rho_ppm;

                nm->lease_wait_usec = lease_acceptor_usec(nm->lease_usec, s->config.rho_ppm) * 1000000 / (1000000 - rho);
                nm->failover_bound_usec =
                        nm->lease_wait_usec +
                        nm->params.stop_usec +
                        (s->n_nodes + 1) * nm->params.rank_step_usec +
                        2 * nm->params.round_timeout_usec;
                if (nm->failover_bound_usec > s->failover_bound_usec)
                        s->failover_bound_usec = nm->failover_bound_usec;
        }
        /* I5: a holder's renewals from before the faults healed may still be lost; after T + H they are not. */
        s->i5_grace_usec = s->max_lease_usec + s->max_lease_usec / 3;
        s->res->failover_bound_usec = s->failover_bound_usec;
        s->res->n_nodes = s->n_nodes;
        s->res->n_voters = s->n_voters;
        s->res->n_names = s->n_names;

        sim_check_i7(s);

        /* Hosts boot within the first 200 ms; the run begins calm so that the first election is measured too. */
        for (unsigned i = 0; i < s->n_nodes; i++) {
                r = schedule(s, sim_rng_range(&s->rng, 0, 200 * USEC_PER_MSEC), EV_BOOT, i, -1, 1);
                if (r < 0)
                        return r;
        }
        s->calm = true;
        s->calm_since = 0;
        sim_check_calm_begins(s);
        r = schedule(s, sim_rng_range(&s->rng, CALM_MIN, CALM_MAX), EV_PHASE, 0, -1, 0);
        if (r < 0)
                return r;
        r = schedule(s, PEER_HEARTBEAT / 2, EV_PING, 0, -1, 0);
        if (r < 0)
                return r;
        if (s->p.reconf) {
                r = schedule(s, sim_rng_range(&s->rng, RECONF_SPACING_MIN, RECONF_SPACING_MAX), EV_RECONF, 0, -1, 0);
                if (r < 0)
                        return r;
        }
        return schedule(s, sim_rng_exp(&s->rng, CALM_SPACING), EV_CHAOS, 0, -1, 0);
}

static void teardown(Sim *s) {
        for (unsigned i = 0; i < s->n_nodes; i++) {
                SimNode *n = &s->nodes[i];

                node_free(n->core);
                for (size_t k = 0; k < n->n_batches; k++) {
                        free(n->batches[k].writes);
                        free(n->batches[k].config);
                }
                free(n->batches);
                free(n->held);
                free(n->candidate);
                free(n->released);
                free(n->guards);
                free(n->units);
                free(n->timer_gen);
                free(n->durable);
                free(n->bp_seen);
                free(n->promised);
                free(n->promise_ballot);
                free(n->promise_mask);
                free(n->promise_round);
                free(n->prepared);
                free(n->prepared_round);
                free(n->prepared_life);
                free(n->quorum_ballots);
                free(n->i7_round);
                free(n->i7_ballot);
                free(n->i7_mask);
                free(n->i7_seen);
                free(n->i7_checked);
        }
        free(s->names);
        free(s->epoch_hash);
        free(s->heap);
        for (size_t i = 0; i < s->n_packets; i++)
                free(s->packets[i].msgs);
        free(s->packets);
        free(s->packet_free);
        action_list_done(&s->out);
        sim_trace_done(s);
}

int sim_run(const SimParams *p, SimResult *ret) {
        Sim s = {};
        int r;

        if (!p || !ret || (p->n_nodes && (p->n_nodes < SIM_NODES_MIN || p->n_nodes > SIM_NODES_MAX)) ||
            p->n_names > SIM_NAMES_MAX)
                return -EINVAL;

        *ret = (SimResult) {};
        s.p = *p;
        if (!s.p.log)
                s.p.log = stderr;
        s.res = ret;
        for (unsigned i = 0; i < SIM_NODES_MAX; i++)
                s.outbox[i] = NO_PACKET;
        sim_rng_seed(&s.rng, p->seed);
        action_list_init(&s.out);

        r = sim_trace_init(&s, p->trace_lines > 64 ? p->trace_lines : 64);
        if (r < 0)
                goto finish;
        r = setup(&s);
        if (r < 0)
                goto finish;

        while (s.step < p->max_steps && !s.violated && s.n_heap > 0) {
                SimEvent ev = heap_pop(&s);
                uint64_t before = s.trace_total;

                s.now = ev.at;
                r = handle(&s, &ev);
                if (r < 0)
                        goto finish;
                if (r == STALE)
                        continue;
                s.step++;
                sim_check(&s);
                if (p->verbose)
                        sim_trace_print_since(&s, s.p.log, before);
        }
        if (!s.violated && s.calm)
                sim_check_calm_ends(&s);

        ret->steps = s.step;
        ret->sim_usec = s.now;
        ret->violated = s.violated;

        if (s.violated && !p->quiet_violation) {
                fprintf(s.p.log, "pes-sim: seed %" PRIu64 ": %s violated at step %" PRIu64 ", t=%" PRIu64 ".%06" PRIu64 " s: %s\n",
                        p->seed, ret->invariant, s.step, s.now / USEC_PER_SEC, s.now % USEC_PER_SEC, ret->detail);
                fprintf(s.p.log, "pes-sim: %u hosts (%u voters), %u names; the last %u trace records:\n",
                        s.n_nodes, s.n_voters, s.n_names, p->trace_lines);
                sim_trace_dump(&s, s.p.log, p->trace_lines);
                fprintf(s.p.log, "pes-sim: replay with: pes-sim --seed %" PRIu64 " --steps %" PRIu64 "%s\n",
                        p->seed, s.step, p->n_nodes || p->n_names ? " (and the same --nodes/--names)" : "");
        }
        r = 0;
finish:
        teardown(&s);
        return r;
}
