/* SPDX-License-Identifier: MIT */
/* Small helpers the core's unit tests share: a seeded rng, configurations, message builders. */
#pragma once

#include <string.h>

#include "core/action.h"
#include "core/hash.h"
#include "core/msg.h"
#include "core/quorum.h"
#include "core/rng.h"

static inline uint64_t test_rng_next(void *userdata) {
        uint64_t *s = userdata;
        return mix64((*s)++);
}

/* The first n of hosts 1…7 vote; all seven are members. */
static inline VoterConfig test_config(unsigned n) {
        static const uint16_t v[] = { 1, 2, 3, 4, 5, 6, 7 };
        VoterConfig c;

        voter_config_init_members(&c, v, n, v, 7);
        return c;
}

static inline PeerMsg test_msg(MsgType type, uint16_t from, const VoterConfig *c, const char *name, uint64_t round) {
        PeerMsg m;

        memset(&m, 0, sizeof(m));
        m.type = type;
        m.from = from;
        m.epoch = c->epoch;
        m.round = round;
        strncpy(m.name, name, PES_NAME_MAX);
        return m;
}

static inline RegValue test_lease(Ballot ba, uint64_t seq, uint16_t holder, uint64_t t) {
        return (RegValue) {
                .ba = ba, .seq = seq, .kind = VALUE_LEASE, .holder = holder,
                .token = (ba.counter << 16) | ba.host, .lease_usec = t,
        };
}

/* The i-th action of a type in the list (NULL if there are fewer). */
static inline const Action *test_find(const ActionList *l, ActionType type, size_t i) {
        for (size_t k = 0; k < l->n; k++)
                if (l->actions[k].type == type && i-- == 0)
                        return &l->actions[k];
        return NULL;
}

/* The i-th message of a type sent (NULL if none). */
static inline const PeerMsg *test_sent(const ActionList *l, MsgType type, size_t i) {
        for (size_t k = 0; k < l->n; k++)
                if (l->actions[k].type == ACTION_SEND && l->actions[k].send.msg.type == type && i-- == 0)
                        return &l->actions[k].send.msg;
        return NULL;
}

static inline const Action *test_send_to(const ActionList *l, MsgType type, uint16_t to) {
        for (size_t k = 0; k < l->n; k++)
                if (l->actions[k].type == ACTION_SEND && l->actions[k].send.msg.type == type && l->actions[k].send.to == to)
                        return &l->actions[k];
        return NULL;
}

static inline size_t test_count_sent(const ActionList *l, MsgType type) {
        size_t c = 0;

        for (size_t k = 0; k < l->n; k++)
                if (l->actions[k].type == ACTION_SEND && l->actions[k].send.msg.type == type)
                        c++;
        return c;
}

static inline const Action *test_find_notify(const ActionList *l, NotifyKind kind) {
        for (size_t k = 0; k < l->n; k++)
                if (l->actions[k].type == ACTION_NOTIFY && l->actions[k].notify.kind == kind)
                        return &l->actions[k];
        return NULL;
}
