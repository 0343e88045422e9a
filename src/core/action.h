/* SPDX-License-Identifier: MIT */
/* The actions the core asks the daemon to carry out, appended to a caller-owned list. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

/*
 * Every output of the core is an action (DESIGN.md "Parts": "every output is a
 * returned action list"). Calls append to a caller-owned ActionList, so the daemon
 * can collect a whole loop turn (a renewal tick of all names, many messages) and
 * then group the sends by destination into one batch per peer.
 *
 * Ordering contract: the daemon carries out the actions of a list in order, except
 * that a SEND with after_persist set must not leave before every PERSIST (other
 * than seq_only ones) and PERSIST_INIT action the node has produced so far — in
 * this list or an earlier one — has been written and synced (DESIGN.md "Durable
 * (written and fsync'd — batched with other writes of the same loop turn — before
 * the reply leaves)"). When nothing is waiting to be synced it leaves at once.
 * Sends without after_persist may always leave at once.
 * Messages addressed to the node itself are sent like any other (the daemon loops
 * them back through node_receive()).
 */
typedef enum ActionType {
        ACTION_SEND,         /* send .send.msg to host .send.to */
        ACTION_PERSIST,      /* write the acceptor state (.persist) of .name */
        ACTION_PERSIST_INIT, /* write the "initialised" marker (DESIGN.md "Bootstrap") */
        ACTION_PERSIST_BALLOTS, /* write .ballots.reserve: no ballot above it was ever sent */
        ACTION_START_UNIT,   /* the tenure began: write the env file, start the unit */
        ACTION_STOP_UNIT,    /* StopUnit, then report node_unit_stopped() once inactive */
        ACTION_KILL_UNIT,    /* SIGKILL the unit's cgroup now (the fence deadline passed) */
        ACTION_ARM_TIMER,    /* call node_timer(.name) at .timer.deadline (or later) */
        ACTION_NOTIFY,       /* tell listeners (D-Bus signal, journal) about .name */
        /*
         * Write the voter-configuration register's durable state (.config): the
         * installed (chosen) configuration, the register's promised ballot and its
         * accepted proposal. Replies with after_persist wait for it like for
         * PERSIST. At start the daemon passes it back to node_config_load().
         */
        ACTION_PERSIST_CONFIG,
        _ACTION_TYPE_MAX,
} ActionType;

typedef enum NotifyKind {
        NOTIFY_ACQUIRED,  /* this host's tenure began (.notify.token) */
        NOTIFY_LOST,      /* this host's tenure ended (.notify.reason) */
        NOTIFY_OWNER,     /* the local acceptor accepted a new owner (.notify.holder, kind) */
        NOTIFY_CONFIG,    /* a peer has another configuration (.notify.config, .notify.from) */
        NOTIFY_RELEASED,  /* the FREE (release) or RESERVED (handoff) write reached a quorum */
        NOTIFY_INSTALLED, /* this node installed a newer chosen configuration (.notify.config) */
        NOTIFY_CHANGE,    /* a node_config_change() step or the whole change ended:
                           * .notify.change, .notify.host, .notify.error, .notify.done */
        _NOTIFY_KIND_MAX,
} NotifyKind;

typedef enum LostReason {
        LOST_NONE,
        LOST_FENCED,         /* no confirmed renewal by valid − S: self-fence */
        LOST_RELEASED,       /* asked to release */
        LOST_HANDOFF,        /* asked to hand off */
        LOST_FAILED,         /* the unit failed or stopped by itself */
        LOST_TENURE_ENDED,   /* a re-PREPARE found the tenure taken over */
        _LOST_REASON_MAX,
} LostReason;

typedef struct Action {
        ActionType type;
        char name[PES_NAME_MAX + 1]; /* the name concerned; "" for node-wide actions */
        union {
                struct {
                        uint16_t to;
                        bool after_persist; /* a reply that waits for the sync */
                        PeerMsg msg;
                } send;
                struct {
                        Ballot bp;
                        RegValue v;
                        /*
                         * Only v.seq changed since the last write (a renewal): the
                         * daemon need not write it at all, and no reply waits for it
                         * (DESIGN.md: "seq alone is not written").
                         */
                        bool seq_only;
                } persist;
                struct {
                        /*
                         * DESIGN.md "Identity": ballots never collide, also across a
                         * restart. Every ballot counter this host sends is at most a
                         * reserve that was made durable first; after a restart the
                         * daemon passes it to node_set_ballot_floor(), so that new
                         * ballots start above everything sent in earlier lives.
                         */
                        uint64_t reserve;
                } ballots;
                struct {
                        uint64_t token;
                        uint64_t valid; /* the holder's deadline, node clock */
                } start;
                struct {
                        uint64_t deadline; /* node clock, µs */
                        /*
                         * A fence deadline (stop at valid − S, SIGKILL at valid):
                         * arm it with 1 µs accuracy (DESIGN.md "Fencing is only as
                         * good as its margins").
                         */
                        bool fence;
                } timer;
                struct {
                        NotifyKind kind;
                        uint16_t from;     /* NOTIFY_CONFIG: the peer */
                        uint16_t holder;   /* NOTIFY_OWNER */
                        ValueKind value_kind; /* NOTIFY_OWNER */
                        uint64_t token;    /* NOTIFY_ACQUIRED, NOTIFY_OWNER, NOTIFY_LOST */
                        LostReason reason; /* NOTIFY_LOST */
                        VoterConfig config; /* NOTIFY_CONFIG: the peer's, if it sent one;
                                             * NOTIFY_INSTALLED, NOTIFY_CHANGE: the current one */
                        bool has_config;
                        /* NOTIFY_CHANGE */
                        int change;        /* the ConfigChangeKind (node.h) */
                        uint16_t host;     /* the host changed (for CHANGE_ADD_MEMBER: the id handed out) */
                        int error;         /* 0, or a negative errno (see node_config_change()) */
                        bool done;         /* the change is complete (else: a step, .error 0) */
                } notify;
                struct {
                        VoterConfig installed;
                        Ballot bp;          /* the register's promised ballot */
                        Ballot ba;          /* ballot of .accepted (zero: nothing accepted) */
                        VoterConfig accepted; /* proposal accepted for the next epoch */
                } config;
        };
} Action;

typedef struct ActionList {
        Action *actions;
        size_t n;
        size_t allocated;
} ActionList;

#define ACTION_LIST_NULL ((ActionList) {})

void action_list_init(ActionList *l);
/* Forgets the actions but keeps the memory for the next turn. */
void action_list_clear(ActionList *l);
void action_list_done(ActionList *l);

/*
 * Appends a zeroed action of the given type for name (NULL for node-wide) and
 * returns it, or NULL when out of memory.
 */
Action *action_list_append(ActionList *l, ActionType type, const char *name);

/* How many actions of a type the list holds. */
size_t action_list_count(const ActionList *l, ActionType type);

const char *action_type_to_string(ActionType t);
const char *notify_kind_to_string(NotifyKind k);
const char *lost_reason_to_string(LostReason r);
