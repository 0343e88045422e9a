/* SPDX-License-Identifier: MIT */
/* The voter-configuration register as each node keeps it: its acceptor side and the install of chosen configurations. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "core/ballot.h"
#include "core/node-internal.h"
#include "core/quorum.h"

PeerMsg *node_send(const Node *n, ActionList *out, uint16_t to, MsgType type, uint64_t round, bool after_persist) {
        Action *a;

        a = action_list_append(out, ACTION_SEND, NULL);
        if (!a)
                return NULL;
        a->send.to = to;
        a->send.after_persist = after_persist;
        a->send.msg.type = type;
        a->send.msg.from = n->ctx.self;
        a->send.msg.incarnation = n->ctx.incarnation;
        a->send.msg.epoch = n->ctx.config.epoch;
        a->send.msg.round = round;
        return &a->send.msg;
}

int config_reg_persist(const Node *n, ActionList *out) {
        Action *a;

        a = action_list_append(out, ACTION_PERSIST_CONFIG, NULL);
        if (!a)
                return -ENOMEM;
        a->config.installed = n->ctx.config;
        a->config.bp = n->reg.bp;
        a->config.ba = n->reg.ba;
        a->config.accepted = n->reg.accepted;
        return 0;
}

static bool guard_in_tenure(const Guard *g) {
        switch (guard_state(g)) {
        case GUARD_HOLDING:
        case GUARD_STOPPING:
        case GUARD_RELEASING:
                return true;
        default:
                return false;
        }
}

/*
 * Every configuration a node installs is a chosen one (a CFG_COMMIT, or the
 * configuration a NACK_CONFIG carries, which is the sender's installed one), and
 * the register decides epochs one after another, each from the one before. So a
 * node may skip several epochs at once without missing anything: the chosen
 * configurations in between were each enforced by the quorums that chose their
 * successors, and an acceptor's per-name state does not depend on them.
 */
int config_reg_install(Node *n, const VoterConfig *c, uint64_t now, ActionList *out) {
        VoterConfig prev;
        bool member;
        Action *a;
        int r;

        assert(n);
        assert(c);

        if (voter_config_validate(c) < 0)
                return -EINVAL;
        if (c->epoch.n <= n->ctx.config.epoch.n)
                return -ESTALE;

        prev = n->ctx.config;
        r = acceptor_set_config(n->acceptor, c, now, out);
        if (r < 0)
                return r;
        n->ctx.config = *c;

        r = config_reg_persist(n, out);
        if (r < 0)
                return r;
        a = action_list_append(out, ACTION_NOTIFY, NULL);
        if (!a)
                return -ENOMEM;
        a->notify.kind = NOTIFY_INSTALLED;
        a->notify.config = *c;
        a->notify.has_config = true;

        /*
         * DESIGN.md "NACK_CONFIG restarts a round from PREPARE": every round in
         * flight starts again under the new quorums. A host that is no longer a
         * member stops campaigning; a tenure it has ends by its own fence, since
         * its renewals are now refused.
         */
        member = voter_config_is_member(c, n->ctx.self);
        for (size_t i = 0; i < name_table_size(&n->guards); i++) {
                Guard *g = name_table_item(&n->guards, i)->value;

                if (!member && !guard_in_tenure(g))
                        r = guard_release(g, now, out);
                else
                        r = guard_config_changed(g, now, out);
                if (r < 0)
                        return r;
        }

        return reconf_installed(n, &prev, now, out);
}

static int reg_nack(Node *n, const PeerMsg *m, ActionList *out) {
        PeerMsg *r;

        r = node_send(n, out, m->from, MSG_NACK, m->round, false);
        if (!r)
                return -ENOMEM;
        r->reason = NACK_PROMISED;
        r->ballot = n->reg.bp;
        return 0;
}

static int handle_prepare(Node *n, const PeerMsg *m, ActionList *out) {
        const VoterConfig *c = &n->ctx.config;
        PeerMsg *r;
        int k;

        if (ballot_is_null(&m->ballot) || m->ballot.host != m->from)
                return -EINVAL;
        if (!voter_config_in_prepare_set(c, n->ctx.self))
                return 0;
        if (ballot_compare(&m->ballot, &n->reg.bp) <= 0)
                return reg_nack(n, m, out);

        n->reg.bp = m->ballot;
        k = config_reg_persist(n, out);
        if (k < 0)
                return k;

        r = node_send(n, out, m->from, MSG_CFG_PROMISE, m->round, true);
        if (!r)
                return -ENOMEM;
        r->ballot = m->ballot;
        /* Only a proposal for the next epoch matters; anything older was decided. */
        if (!ballot_is_null(&n->reg.ba) && n->reg.accepted.epoch.n == c->epoch.n + 1) {
                r->value.ba = n->reg.ba;
                r->config = n->reg.accepted;
        }
        return 0;
}

static int handle_accept(Node *n, const PeerMsg *m, ActionList *out) {
        const VoterConfig *c = &n->ctx.config;
        PeerMsg *r;
        int k;

        if (ballot_is_null(&m->ballot) || m->ballot.host != m->from)
                return -EINVAL;
        if (!voter_config_in_accept_set(c, n->ctx.self))
                return 0;
        if (ballot_compare(&m->ballot, &n->reg.bp) < 0)
                return reg_nack(n, m, out);
        /* A proposal is for the epoch after the installed one, chained to it. */
        if (m->config.epoch.n != c->epoch.n + 1 || voter_config_validate(&m->config) < 0 ||
            m->config.epoch.hash != voter_config_hash(&m->config, c->epoch.hash))
                return -EINVAL;

        n->reg.bp = m->ballot;
        n->reg.ba = m->ballot;
        n->reg.accepted = m->config;
        k = config_reg_persist(n, out);
        if (k < 0)
                return k;

        r = node_send(n, out, m->from, MSG_CFG_ACCEPTED, m->round, true);
        if (!r)
                return -ENOMEM;
        r->ballot = m->ballot;
        return 0;
}

static int handle_commit(Node *n, const PeerMsg *m, uint64_t now, ActionList *out) {
        PeerMsg *r;
        int k;

        if (m->config.epoch.n > n->ctx.config.epoch.n) {
                k = config_reg_install(n, &m->config, now, out);
                if (k < 0)
                        return k == -ESTALE ? 0 : k;
        }

        /*
         * Installed now, or already at a later epoch (which was chosen after this
         * one): acknowledged once that is durable.
         */
        r = node_send(n, out, m->from, MSG_CFG_COMMITTED, m->round, true);
        if (!r)
                return -ENOMEM;
        r->config.epoch = m->config.epoch;
        return 0;
}

int config_reg_handle(Node *n, const PeerMsg *m, uint64_t now, ActionList *out) {
        const VoterConfig *c;
        PeerMsg *r;

        assert(n);
        assert(m);

        if (m->from == PES_HOST_NONE)
                return -EINVAL;
        if (m->type == MSG_CFG_COMMIT)
                return handle_commit(n, m, now, out);
        if (m->type != MSG_CFG_PREPARE && m->type != MSG_CFG_ACCEPT)
                return 0;

        /* Only a voter that answers names answers the register, and not one that forgot it. */
        if (!acceptor_serving(n->acceptor) || n->ctx.config.epoch.n < n->reg.silent_below)
                return 0;
        c = &n->ctx.config;

        if (m->epoch.n > c->epoch.n) {
                /* This node is behind: not counted, and the daemon may fetch the newer one. */
                Action *a = action_list_append(out, ACTION_NOTIFY, NULL);
                if (!a)
                        return -ENOMEM;
                a->notify.kind = NOTIFY_CONFIG;
                a->notify.from = m->from;
                a->notify.config.epoch = m->epoch;
                /* The sender sees this node is behind and pushes it the chosen configuration. */
                r = node_send(n, out, m->from, MSG_NACK_CONFIG, m->round, false);
                if (!r)
                        return -ENOMEM;
                r->config = *c;
                return 0;
        }
        if (!epoch_equal(&m->epoch, &c->epoch) || !voter_config_is_member(c, m->from)) {
                r = node_send(n, out, m->from, MSG_NACK_CONFIG, m->round, false);
                if (!r)
                        return -ENOMEM;
                r->config = *c;
                return 0;
        }

        if (m->type == MSG_CFG_PREPARE)
                return handle_prepare(n, m, out);
        return handle_accept(n, m, out);
}
