/* SPDX-License-Identifier: MIT */
/* A tiny message pump that drives a few core nodes by hand, for the regression scenarios. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "core/ballot.h"
#include "core/reconf.h"
#include "core-test.h"
#include "pump.h"

static int name_slot(Pump *p, const char *name) {
        for (unsigned i = 0; i < p->n_names; i++)
                if (strcmp(p->names[i], name) == 0)
                        return (int) i;
        assert_true(p->n_names < PUMP_NAMES_MAX);
        snprintf(p->names[p->n_names], PUMP_NAME_LEN, "%s", name);
        return (int) p->n_names++;
}

uint64_t pump_local(const Pump *p, unsigned host) {
        __int128 t = (__int128) p->now * (1000000 + p->drift_ppm[host]) / 1000000;
        return p->clock_base[host] + (uint64_t) t;
}

/* The first true time at which host's clock reads at least local. */
static uint64_t true_at(const Pump *p, unsigned host, uint64_t local) {
        uint64_t t;

        if (local <= p->clock_base[host])
                return p->now;
        t = (uint64_t) ((__int128) (local - p->clock_base[host]) * 1000000 / (1000000 + p->drift_ppm[host]));
        while (p->clock_base[host] + (uint64_t) ((__int128) t * (1000000 + p->drift_ppm[host]) / 1000000) < local)
                t++;
        return t < p->now ? p->now : t;
}

static void enqueue(Pump *p, uint16_t from, uint16_t to, const PeerMsg *m) {
        if (to == PES_HOST_NONE || to > p->n || p->down[from] || p->cut[from][to])
                return;
        if (p->n_queue >= p->allocated_queue) {
                p->allocated_queue = p->allocated_queue ? p->allocated_queue * 2 : 256;
                p->queue = realloc(p->queue, p->allocated_queue * sizeof(PumpMsg));
                assert_non_null(p->queue);
        }
        p->queue[p->n_queue++] = (PumpMsg) { .at = p->now + p->latency, .to = to, .msg = *m };
}

static PumpUnit *unit_of(Pump *p, unsigned host, const char *name) {
        return &p->unit[host][name_slot(p, name)];
}

static void process(Pump *p, unsigned host) {
        ActionList *out = &p->out;

        for (size_t i = 0; i < out->n; i++) {
                const Action *a = &out->actions[i];
                PumpUnit *u;
                int slot;

                switch (a->type) {
                case ACTION_SEND:
                        if (a->send.msg.type == MSG_TAKE)
                                p->takes_sent++;
                        if (a->send.msg.type == MSG_ACCEPT && a->send.msg.identity)
                                p->identity_sent++;
                        else if (a->send.msg.type == MSG_ACCEPT && (a->send.msg.round & RECONF_ROUND_BIT))
                                p->rescan_free_sent++;
                        enqueue(p, (uint16_t) host, a->send.to, &a->send.msg);
                        break;
                case ACTION_PERSIST: {
                        /* Like the daemon: a seq-only change is not written. */
                        if (a->persist.seq_only)
                                break;
                        unsigned k;
                        for (k = 0; k < p->n_disk[host]; k++)
                                if (strcmp(p->disk[host][k].name, a->name) == 0)
                                        break;
                        if (k == p->n_disk[host]) {
                                assert_true(k < PUMP_NAMES_MAX);
                                p->n_disk[host]++;
                                snprintf(p->disk[host][k].name, PUMP_NAME_LEN, "%s", a->name);
                        }
                        p->disk[host][k].bp = a->persist.bp;
                        p->disk[host][k].v = a->persist.v;
                        break;
                }
                case ACTION_START_UNIT:
                        slot = name_slot(p, a->name);
                        u = &p->unit[host][slot];
                        u->running = true;
                        u->stopping = false;
                        /* I3: each tenure's token is greater than every earlier one's. */
                        assert_true(a->start.token > p->last_start_token[slot]);
                        p->last_start_token[slot] = a->start.token;
                        p->starts[slot]++;
                        break;
                case ACTION_STOP_UNIT:
                        u = unit_of(p, host, a->name);
                        if (u->running && !u->stopping) {
                                u->stopping = true;
                                u->stop_at = p->stop_delay == UINT64_MAX ? UINT64_MAX : p->now + p->stop_delay;
                        } else if (!u->running) {
                                u->stopping = true;
                                u->stop_at = p->now;
                        }
                        break;
                case ACTION_KILL_UNIT:
                        u = unit_of(p, host, a->name);
                        u->running = false;
                        u->stopping = true;
                        u->stop_at = p->now;
                        p->kills[host]++;
                        break;
                case ACTION_NOTIFY:
                        if (a->notify.kind == NOTIFY_CONFIG)
                                p->config_notices[host]++;
                        if (a->notify.kind == NOTIFY_INSTALLED)
                                p->installs[host]++;
                        if (a->notify.kind == NOTIFY_CHANGE) {
                                if (a->notify.done) {
                                        p->change_done[host] = true;
                                        p->change_error[host] = a->notify.error;
                                        p->change_host[host] = a->notify.host;
                                } else
                                        p->change_steps[host]++;
                        }
                        break;
                case ACTION_PERSIST_CONFIG:
                        p->has_cfg_disk[host] = true;
                        p->cfg_installed[host] = a->config.installed;
                        p->cfg_bp[host] = a->config.bp;
                        p->cfg_ba[host] = a->config.ba;
                        p->cfg_accepted[host] = a->config.accepted;
                        break;
                default:
                        break;
                }
        }
        action_list_clear(out);
}

static void check(Pump *p) {
        for (unsigned s = 0; s < p->n_names; s++) {
                unsigned valid = 0, running = 0;

                for (unsigned h = 1; h <= p->n; h++) {
                        Guard *g;

                        if (p->unit[h][s].running)
                                running++;
                        if (p->down[h] || !p->node[h])
                                continue;
                        g = node_guard(p->node[h], p->names[s]);
                        if (g && guard_lease_valid(g, pump_local(p, h)))
                                valid++;
                }
                /* I1: at most one host believes it holds the name, and the unit runs once at most. */
                if (valid > 1 || running > 1)
                        fail_msg("I1 violated for %s at %llu: %u valid, %u running", p->names[s],
                                 (unsigned long long) p->now, valid, running);
        }

        for (unsigned h = 1; h <= p->n; h++) {
                const Acceptor *a;

                if (p->down[h] || !p->node[h])
                        continue;
                a = node_acceptor(p->node[h]);
                for (unsigned s = 0; s < p->n_names; s++) {
                        const AcceptorEntry *e = acceptor_lookup(a, p->names[s]);
                        if (!e)
                                continue;
                        /* I4: bp never decreases, across restarts with intact disks; ba ≤ bp. */
                        assert_true(ballot_compare(&e->bp, &p->max_bp[h][s]) >= 0);
                        assert_true(ballot_compare(&e->v.ba, &e->bp) <= 0);
                        p->max_bp[h][s] = e->bp;
                }
        }
}

static void make_node(Pump *p, unsigned h, const VoterConfig *c) {
        CoreRng rng = { test_rng_next, &p->rng_state[h] };

        p->incarnation[h]++;
        assert_int_equal(node_new((uint16_t) h, p->incarnation[h], c, &rng, &p->node[h]), 0);
}

void pump_init(Pump *p, unsigned n, unsigned n_voters, uint64_t seed) {
        memset(p, 0, sizeof(*p));
        assert_true(n <= PUMP_NODES_MAX);
        p->n = n;
        p->latency = 1000;
        p->stop_delay = 50000;
        p->seed = seed;
        p->config = test_config(n_voters);
        guard_params_init(&p->params);
        action_list_init(&p->out);

        for (unsigned h = 1; h <= n; h++) {
                p->rng_state[h] = seed * 1000 + h;
                p->node_config[h] = p->config;
                make_node(p, h, &p->config);
                assert_int_equal(node_start(p->node[h], ACCEPTOR_START_BOOTSTRAP, pump_local(p, h), &p->out), 0);
                process(p, h);
        }
}

void pump_done(Pump *p) {
        for (unsigned h = 1; h <= p->n; h++)
                node_free(p->node[h]);
        free(p->queue);
        action_list_done(&p->out);
}

void pump_supervise(Pump *p, unsigned host, const char *name) {
        PumpUnit *u = unit_of(p, host, name);

        snprintf(u->name, PUMP_NAME_LEN, "%s", name);
        u->supervised = true;
        assert_int_equal(node_supervise(p->node[host], name, &p->params, pump_local(p, host), &p->out), 0);
        process(p, host);
}

void pump_release(Pump *p, unsigned host, const char *name) {
        unit_of(p, host, name)->supervised = false;
        assert_int_equal(node_release(p->node[host], name, pump_local(p, host), &p->out), 0);
        process(p, host);
}

void pump_move(Pump *p, unsigned host, const char *name, unsigned to) {
        assert_int_equal(node_move(p->node[host], name, (uint16_t) to, pump_local(p, host), &p->out), 0);
        process(p, host);
}

static uint64_t next_event(const Pump *p) {
        uint64_t t = UINT64_MAX;

        for (size_t i = 0; i < p->n_queue; i++)
                if (p->queue[i].at < t)
                        t = p->queue[i].at;
        for (unsigned h = 1; h <= p->n; h++) {
                uint64_t d;

                if (p->down[h])
                        continue;
                d = node_next_deadline(p->node[h]);
                if (d != UINT64_MAX) {
                        d = true_at(p, h, d);
                        if (d < t)
                                t = d;
                }
                for (unsigned s = 0; s < p->n_names; s++)
                        if (p->unit[h][s].stopping && p->unit[h][s].stop_at < t)
                                t = p->unit[h][s].stop_at;
        }
        return t;
}

static void step(Pump *p) {
        /* Messages due now, in the order sent. */
        for (size_t i = 0; i < p->n_queue;) {
                PumpMsg m = p->queue[i];

                if (m.at > p->now) {
                        i++;
                        continue;
                }
                memmove(&p->queue[i], &p->queue[i + 1], (p->n_queue - i - 1) * sizeof(PumpMsg));
                p->n_queue--;
                if (p->down[m.to] || p->cut[m.msg.from][m.to])
                        continue;
                if (m.msg.type == MSG_NACK && m.msg.reason == NACK_LIVE)
                        p->nack_live_seen[m.to]++;
                assert_int_equal(node_receive(p->node[m.to], &m.msg, pump_local(p, m.to), &p->out), 0);
                process(p, m.to);
        }

        for (unsigned h = 1; h <= p->n; h++) {
                if (p->down[h])
                        continue;
                for (unsigned s = 0; s < p->n_names; s++) {
                        PumpUnit *u = &p->unit[h][s];

                        if (u->stopping && u->stop_at <= p->now) {
                                u->stopping = false;
                                u->running = false;
                                if (node_guard(p->node[h], p->names[s])) {
                                        assert_int_equal(node_unit_stopped(p->node[h], p->names[s], pump_local(p, h), &p->out), 0);
                                        process(p, h);
                                }
                        }
                }
                if (node_next_deadline(p->node[h]) <= pump_local(p, h)) {
                        assert_int_equal(node_tick(p->node[h], pump_local(p, h), &p->out), 0);
                        process(p, h);
                }
        }
        check(p);
}

void pump_run_until(Pump *p, uint64_t until) {
        for (unsigned guard = 0; guard < 10000000; guard++) {
                uint64_t t = next_event(p);

                if (t > until) {
                        p->now = until;
                        check(p);
                        return;
                }
                if (t > p->now)
                        p->now = t;
                step(p);
        }
        fail_msg("pump made no progress");
}

void pump_crash(Pump *p, unsigned host) {
        p->down[host] = true;
        p->node[host] = node_free(p->node[host]);
        for (unsigned s = 0; s < p->n_names; s++) {
                p->unit[host][s].running = false;
                p->unit[host][s].stopping = false;
        }
}

void pump_restart(Pump *p, unsigned host) {
        make_node(p, host, &p->node_config[host]);
        for (unsigned k = 0; k < p->n_disk[host]; k++)
                assert_int_equal(node_acceptor_load(p->node[host], p->disk[host][k].name, &p->disk[host][k].bp,
                                                    &p->disk[host][k].v), 0);
        if (p->has_cfg_disk[host])
                assert_int_equal(node_config_load(p->node[host], &p->cfg_installed[host], &p->cfg_bp[host],
                                                  &p->cfg_ba[host], &p->cfg_accepted[host]), 0);
        p->down[host] = false;
        assert_int_equal(node_start(p->node[host], ACCEPTOR_START_RESTART, pump_local(p, host), &p->out), 0);
        process(p, host);
        for (unsigned s = 0; s < p->n_names; s++)
                if (p->unit[host][s].supervised)
                        pump_supervise(p, host, p->names[s]);
}

int pump_config_change(Pump *p, unsigned host, ConfigChangeKind kind, uint16_t x) {
        int r;

        p->change_done[host] = false;
        p->change_error[host] = 0;
        p->change_steps[host] = 0;
        r = node_config_change(p->node[host], kind, x, pump_local(p, host), &p->out);
        process(p, host);
        return r;
}

int pump_set_config(Pump *p, unsigned host, const VoterConfig *c) {
        int r;

        r = node_set_config(p->node[host], c, pump_local(p, host), &p->out);
        process(p, host);
        return r;
}

void pump_cut(Pump *p, unsigned a, unsigned b, bool cut) {
        p->cut[a][b] = p->cut[b][a] = cut;
}

void pump_isolate(Pump *p, unsigned host, bool cut) {
        for (unsigned h = 1; h <= p->n; h++)
                if (h != host)
                        pump_cut(p, host, h, cut);
}

void pump_reconfigure_host(Pump *p, unsigned host, const VoterConfig *c) {
        node_free(p->node[host]);
        p->node_config[host] = *c;
        make_node(p, host, c);
        assert_int_equal(node_start(p->node[host], ACCEPTOR_START_BOOTSTRAP, pump_local(p, host), &p->out), 0);
        process(p, host);
}

unsigned pump_holder(const Pump *p, const char *name) {
        unsigned holder = 0;

        for (unsigned h = 1; h <= p->n; h++) {
                Guard *g;

                if (p->down[h] || !p->node[h])
                        continue;
                g = node_guard(p->node[h], name);
                if (g && guard_holds(g, pump_local(p, h)))
                        holder = h;
        }
        return holder;
}

bool pump_unit_running(const Pump *p, unsigned host, const char *name) {
        for (unsigned s = 0; s < p->n_names; s++)
                if (strcmp(p->names[s], name) == 0)
                        return p->unit[host][s].running;
        return false;
}

Guard *pump_guard(const Pump *p, unsigned host, const char *name) {
        return p->node[host] ? node_guard(p->node[host], name) : NULL;
}
