/* SPDX-License-Identifier: MIT */
/* A pes host as the core sees it: routes events to its acceptor and to its guards. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ballot.h"
#include "core/node-internal.h"
#include "core/quorum.h"

int node_new(uint16_t self, uint64_t incarnation, const VoterConfig *config,
             const CoreRng *rng, Node **ret) {
        Node *n;
        int r;

        if (!ret)
                return -EINVAL;

        n = calloc(1, sizeof(Node));
        if (!n)
                return -ENOMEM;
        r = guard_context_init(&n->ctx, self, incarnation, config, rng);
        if (r < 0) {
                free(n);
                return r;
        }
        n->acceptor = acceptor_new(self, incarnation, config);
        if (!n->acceptor) {
                free(n);
                return -ENOMEM;
        }
        n->guards = NAME_TABLE_NULL;
        *ret = n;
        return 0;
}

Node *node_free(Node *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < name_table_size(&n->guards); i++)
                guard_free(name_table_item(&n->guards, i)->value);
        name_table_done(&n->guards);
        reconf_done(&n->rc);
        acceptor_free(n->acceptor);
        free(n);
        return NULL;
}

int node_acceptor_load(Node *n, const char *name, const Ballot *bp, const RegValue *v) {
        if (!n)
                return -EINVAL;
        return acceptor_load(n->acceptor, name, bp, v);
}

int node_start(Node *n, AcceptorStart mode, uint64_t now, ActionList *out) {
        if (!n)
                return -EINVAL;
        /*
         * DESIGN.md "Lost disk": the register's promises went with the disk, so
         * this voter sits out the register until a newer epoch is chosen without it.
         */
        if (mode == ACCEPTOR_START_LOST_DISK)
                n->reg.silent_below = n->ctx.config.epoch.n + 1;
        return acceptor_start(n->acceptor, mode, now, out);
}

int node_set_config(Node *n, const VoterConfig *config, uint64_t now, ActionList *out) {
        if (!n || !config || !out)
                return -EINVAL;
        return config_reg_install(n, config, now, out);
}

int node_config_load(Node *n, const VoterConfig *installed, const Ballot *bp, const Ballot *ba,
                     const VoterConfig *accepted) {
        int r;

        if (!n || !installed || !bp || !ba || !accepted)
                return -EINVAL;
        if (voter_config_validate(installed) < 0)
                return -EINVAL;
        if (!ballot_is_null(ba) && (ballot_compare(ba, bp) > 0 || voter_config_validate(accepted) < 0))
                return -EINVAL;
        if (acceptor_serving(n->acceptor))
                return -EBUSY;

        /*
         * What the register chose, as this host wrote it, wins over the
         * configuration the node was created with (pesd.conf's Peers=) unless
         * that one is newer.
         */
        if (installed->epoch.n < n->ctx.config.epoch.n)
                return -ESTALE;
        r = acceptor_load_config(n->acceptor, installed);
        if (r < 0)
                return r;
        n->ctx.config = *installed;

        n->reg.bp = *bp;
        n->reg.ba = *ba;
        n->reg.accepted = ballot_is_null(ba) ? (VoterConfig) {} : *accepted;
        return 0;
}

int node_config_change(Node *n, ConfigChangeKind kind, uint16_t host, uint64_t now, ActionList *out) {
        if (!n || !out)
                return -EINVAL;
        return reconf_start(n, kind, host, now, out);
}

bool node_config_driving(const Node *n, ConfigChangeKind *ret_kind, uint16_t *ret_host) {
        if (!n || !n->rc.active)
                return false;
        if (ret_kind)
                *ret_kind = n->rc.kind;
        if (ret_host)
                *ret_host = n->rc.kind == CHANGE_RESUME || n->rc.kind == CHANGE_ROLLBACK ? n->rc.x : n->rc.host;
        return true;
}

int node_supervise(Node *n, const char *name, const GuardParams *params, uint64_t now, ActionList *out) {
        Guard *g;
        int r;

        if (!n || !name || !out)
                return -EINVAL;

        g = name_table_get(&n->guards, name);
        if (!g) {
                r = guard_new(&n->ctx, name, params, &g);
                if (r < 0)
                        return r;
                r = name_table_put(&n->guards, name, g, NULL);
                if (r < 0) {
                        guard_free(g);
                        return r;
                }
        }
        return guard_campaign(g, now, out);
}

static Guard *lookup(const Node *n, const char *name) {
        if (!n || !name)
                return NULL;
        return name_table_get(&n->guards, name);
}

int node_set_candidates(Node *n, const char *name, const RankCandidate *c, size_t n_candidates) {
        Guard *g = lookup(n, name);

        if (!g)
                return n && name ? -ENOENT : -EINVAL;
        return guard_set_candidates(g, c, n_candidates);
}

#define DEFINE_NAME_CALL(call, guard_call)                                              \
        int call(Node *n, const char *name, uint64_t now, ActionList *out) {            \
                Guard *g = lookup(n, name);                                             \
                                                                                        \
                if (!out)                                                               \
                        return -EINVAL;                                                 \
                if (!g)                                                                 \
                        return n && name ? -ENOENT : -EINVAL;                           \
                return guard_call(g, now, out);                                         \
        }

DEFINE_NAME_CALL(node_release, guard_release)
DEFINE_NAME_CALL(node_campaign, guard_campaign)
DEFINE_NAME_CALL(node_unit_stopped, guard_unit_stopped)
DEFINE_NAME_CALL(node_unit_failed, guard_unit_failed)

void node_set_ballot_floor(Node *n, uint64_t floor) {
        assert(n);
        if (floor > n->ctx.ballot_floor)
                n->ctx.ballot_floor = floor;
        if (floor > n->ctx.ballot_reserve)
                n->ctx.ballot_reserve = floor;
}

int node_claim_cleared(Node *n, const char *name, uint64_t now) {
        Guard *g = lookup(n, name);

        return g ? guard_claim_cleared(g, now) : 0;
}

int node_move(Node *n, const char *name, uint16_t to, uint64_t now, ActionList *out) {
        Guard *g = lookup(n, name);

        if (!out)
                return -EINVAL;
        if (!g)
                return n && name ? -ENOENT : -EINVAL;
        return guard_handoff(g, to, now, out);
}

/*
 * A NACK_CONFIG carries the sender's installed configuration, a chosen one:
 * install it if newer. An older one means the sender is behind (it did not
 * count the request): it is sent the chosen configuration, as a CFG_COMMIT.
 */
static int nack_config(Node *n, const PeerMsg *m, uint64_t now, ActionList *out) {
        int r;

        if (m->config.epoch.n < n->ctx.config.epoch.n && voter_config_is_member(&n->ctx.config, m->from)) {
                PeerMsg *c;

                /* A round to many names gets as many refusals: one push does for all. */
                for (unsigned i = 0; i < NODE_PUSHES_MAX; i++)
                        if (n->pushed[i].host == m->from && n->pushed[i].epoch == n->ctx.config.epoch.n &&
                            now < n->pushed[i].at + NODE_PUSH_INTERVAL_USEC)
                                return 0;
                n->pushed[n->next_push] = (typeof(n->pushed[0])) {
                        .host = m->from,
                        .epoch = n->ctx.config.epoch.n,
                        .at = now,
                };
                n->next_push = (n->next_push + 1) % NODE_PUSHES_MAX;

                c = node_send(n, out, m->from, MSG_CFG_COMMIT, 0, false);
                if (!c)
                        return -ENOMEM;
                c->config = n->ctx.config;
                return 0;
        }
        if (m->config.epoch.n <= n->ctx.config.epoch.n || voter_config_validate(&m->config) < 0)
                return 0;
        r = config_reg_install(n, &m->config, now, out);
        if (r < 0)
                return r == -ESTALE || r == -EINVAL ? 0 : r;
        return 1;
}

int node_receive(Node *n, const PeerMsg *m, uint64_t now, ActionList *out) {
        Guard *g;
        int r;

        if (!n || !m || !out)
                return -EINVAL;
        if (memchr(m->name, 0, sizeof(m->name)) == NULL)
                return -EINVAL;

        switch (m->type) {
        case MSG_CFG_PREPARE:
        case MSG_CFG_ACCEPT:
        case MSG_CFG_COMMIT:
                return config_reg_handle(n, m, now, out);

        case MSG_CFG_PROMISE:
        case MSG_CFG_ACCEPTED:
        case MSG_CFG_COMMITTED:
                return reconf_receive(n, m, now, out);

        case MSG_SCAN_REPLY:
        case MSG_SCAN_DONE:
                if (m->round & RECONF_ROUND_BIT)
                        return reconf_receive(n, m, now, out);
                __attribute__((fallthrough));
        case MSG_READ:
        case MSG_PREPARE:
        case MSG_ACCEPT:
        case MSG_SCAN:
                return acceptor_handle(n->acceptor, m, now, out);

        case MSG_NACK_CONFIG:
                r = nack_config(n, m, now, out);
                if (r < 0)
                        return r;
                if (m->round & RECONF_ROUND_BIT)
                        return r > 0 ? 0 : reconf_receive(n, m, now, out);
                if (r > 0)
                        /* Installed: every round in flight started again under it. */
                        return 0;
                if (m->name[0] == 0) {
                        /* The answer to a scan or a ping: tell the daemon, nothing to restart. */
                        Action *a = action_list_append(out, ACTION_NOTIFY, NULL);
                        if (!a)
                                return -ENOMEM;
                        a->notify.kind = NOTIFY_CONFIG;
                        a->notify.from = m->from;
                        a->notify.config = m->config;
                        a->notify.has_config = true;
                        return 0;
                }
                __attribute__((fallthrough));
        case MSG_READ_REPLY:
        case MSG_PROMISE:
        case MSG_ACCEPTED:
        case MSG_NACK:
        case MSG_TAKE:
                if (m->type != MSG_TAKE && (m->round & RECONF_ROUND_BIT))
                        return reconf_receive(n, m, now, out);
                g = name_table_get(&n->guards, m->name);
                if (!g)
                        return 0;
                return guard_receive(g, m, now, out);

        default:
                return 0;
        }
}

int node_timer(Node *n, const char *name, uint64_t now, ActionList *out) {
        Guard *g;

        if (!n || !out)
                return -EINVAL;
        if (!name || name[0] == 0) {
                int r = acceptor_timer(n->acceptor, now, out);
                if (r < 0)
                        return r;
                return reconf_timer(n, now, out);
        }
        g = name_table_get(&n->guards, name);
        if (!g)
                return -ENOENT;
        return guard_timer(g, now, out);
}

int node_tick(Node *n, uint64_t now, ActionList *out) {
        int r;

        if (!n || !out)
                return -EINVAL;

        if (acceptor_next_deadline(n->acceptor) <= now) {
                r = acceptor_timer(n->acceptor, now, out);
                if (r < 0)
                        return r;
        }
        if (reconf_next_deadline(n) <= now) {
                r = reconf_timer(n, now, out);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < name_table_size(&n->guards); i++) {
                Guard *g = name_table_item(&n->guards, i)->value;

                if (guard_next_deadline(g) > now)
                        continue;
                r = guard_timer(g, now, out);
                if (r < 0)
                        return r;
        }
        return 0;
}

uint64_t node_next_deadline(const Node *n) {
        uint64_t d;

        assert(n);

        d = acceptor_next_deadline(n->acceptor);
        if (reconf_next_deadline(n) < d)
                d = reconf_next_deadline(n);
        for (size_t i = 0; i < name_table_size(&n->guards); i++) {
                uint64_t x = guard_next_deadline(name_table_item(&n->guards, i)->value);
                if (x < d)
                        d = x;
        }
        return d;
}

bool node_holds(const Node *n, const char *name, uint64_t now) {
        const Guard *g = lookup(n, name);
        return g && guard_holds(g, now);
}

uint16_t node_self(const Node *n) {
        assert(n);
        return n->ctx.self;
}

const VoterConfig *node_config(const Node *n) {
        assert(n);
        return &n->ctx.config;
}

Guard *node_guard(const Node *n, const char *name) {
        return lookup(n, name);
}

size_t node_n_guards(const Node *n) {
        assert(n);
        return name_table_size(&n->guards);
}

Guard *node_guard_at(const Node *n, size_t i) {
        const NameTableItem *it;

        assert(n);
        it = name_table_item(&n->guards, i);
        return it ? it->value : NULL;
}

Acceptor *node_acceptor(const Node *n) {
        assert(n);
        return n->acceptor;
}
