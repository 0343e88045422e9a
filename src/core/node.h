/* SPDX-License-Identifier: MIT */
/* A pes host as the core sees it: its acceptor and one guard per supervised name. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/acceptor.h"
#include "core/action.h"
#include "core/guard.h"
#include "core/msg.h"
#include "core/rank.h"
#include "core/rng.h"

/*
 * The object the daemon (and the simulator) drives. Every input is a call with the
 * node's own monotonic `now` in µs; every output is appended to the caller's
 * ActionList (see action.h for the ordering contract). Nothing in here reads a
 * clock, does I/O or keeps global state.
 *
 * Typical turn of the daemon:
 *      node_receive() for each message of a batch, node_timer()/node_tick() for
 *      the timers due, node_unit_stopped()/… for systemd events, then carry out
 *      the list: PERSIST in one transaction, sync, then the sends that wait on it.
 */
typedef struct Node Node;

/*
 * A node for host self. If self is a voter of config, its acceptor answers once
 * node_start() ran. rng is copied (its userdata must outlive the node).
 */
int node_new(uint16_t self, uint64_t incarnation, const VoterConfig *config,
             const CoreRng *rng, Node **ret);
Node *node_free(Node *n);

/*
 * The ballot reserve read back from the store (the last ACTION_PERSIST_BALLOTS that
 * was synced), before any guard campaigns: new ballots start above it.
 */
void node_set_ballot_floor(Node *n, uint64_t floor);

/* Durable acceptor state read back from the store, before node_start(). */
int node_acceptor_load(Node *n, const char *name, const Ballot *bp, const RegValue *v);

/* Starts the acceptor (see AcceptorStart). Guards may be used before or after. */
int node_start(Node *n, AcceptorStart mode, uint64_t now, ActionList *out);

/*
 * Installs a newer chosen voter configuration: the acceptor enforces it and every
 * round in flight restarts (DESIGN.md "NACK_CONFIG restarts a round from PREPARE").
 * Appends ACTION_PERSIST_CONFIG and NOTIFY_INSTALLED. If self just became a voter
 * (it is .changing of an ACCEPT_WIDENED being added), its acceptor recovers like a
 * lost disk before it answers (the new voter waits W = T_max·(1+ρ)); if self is no
 * longer a voter its acceptor falls silent; if self is no longer a member its
 * guards stop campaigning (a tenure in flight is fenced as usual).
 * -ESTALE if the epoch is not newer.
 */
int node_set_config(Node *n, const VoterConfig *config, uint64_t now, ActionList *out);

/*
 * The register's durable state read back from the store (the last
 * ACTION_PERSIST_CONFIG), before node_start(); installs .installed as well (it
 * replaces the configuration given to node_new() unless that one has a newer
 * epoch: -ESTALE). -EBUSY once the acceptor answers.
 */
int node_config_load(Node *n, const VoterConfig *installed, const Ballot *bp, const Ballot *ba,
                     const VoterConfig *accepted);

typedef enum ConfigChangeKind {
        CHANGE_ADD_MEMBER,    /* a host joins as a candidate; it gets the id next_id */
        CHANGE_REMOVE_MEMBER, /* a candidate (not a voter) leaves the cluster */
        CHANGE_ADD_VOTER,     /* a member becomes a voter: two steps, each rescanned */
        CHANGE_REMOVE_VOTER,  /* a voter becomes a candidate: two steps, each rescanned */
        CHANGE_RESUME,        /* drive the change in flight to its end */
        CHANGE_ROLLBACK,      /* drive the change in flight back to where it started */
        _CHANGE_KIND_MAX,
} ConfigChangeKind;

/*
 * Drives a change of the voter-configuration register from this host (DESIGN.md
 * "Membership", "Voter configuration is itself a CASPaxos register"): each epoch
 * is written with PREPARE/ACCEPT to the current epoch's quorums and then COMMITted
 * to every member; a step completes once the voters that have not acknowledged
 * it can form neither a prepare nor an accept quorum of the previous epoch. After
 * each voter step the driver waits T_max·(1+ρ), rescans every name (SCAN of the
 * voters; a name is skipped only if it shows at an accept quorum of the new epoch,
 * an expired LEASE/RESERVED is rewritten as FREE, a live one repaired by an
 * identity ACCEPT) and writes the same configuration marked rescanned.
 *
 * host is the member concerned (ignored for ADD_MEMBER, RESUME, ROLLBACK). The
 * end is reported by NOTIFY_CHANGE with .done (and for ADD_MEMBER the new id in
 * .host) or .error: -EBUSY another change is in flight (or this host drives one),
 * -EEXIST already a member/voter, -ENOENT not a member/voter, -EINVAL not allowed
 * (a voter set would leave 1…PES_VOTERS_MAX-1, removing a voter as a member,
 * RESUME/ROLLBACK with nothing in flight), -ESTALE a concurrent driver won the
 * register, -ETIMEDOUT no quorum answered. Immediate argument errors are also
 * returned directly (and then nothing is appended).
 */
int node_config_change(Node *n, ConfigChangeKind kind, uint16_t host, uint64_t now, ActionList *out);

/* Whether this node is driving a change right now, and which. */
bool node_config_driving(const Node *n, ConfigChangeKind *ret_kind, uint16_t *ret_host);

/*
 * Declares this host a candidate for name with the given timing (NULL: defaults)
 * and starts campaigning. Validation errors as for guard_new().
 */
int node_supervise(Node *n, const char *name, const GuardParams *params, uint64_t now, ActionList *out);

/* The live eligible candidates for name (DESIGN.md "rank"); -ENOENT if not supervised. */
int node_set_candidates(Node *n, const char *name, const RankCandidate *c, size_t n_candidates);

/* Releases the name (stop, confirm, FREE) and stops campaigning for it. */
int node_release(Node *n, const char *name, uint64_t now, ActionList *out);
/* Campaigns again for a released name. */
int node_campaign(Node *n, const char *name, uint64_t now, ActionList *out);
/* `pesctl move NAME HOST`: hands the name to host `to`. */
int node_move(Node *n, const char *name, uint16_t to, uint64_t now, ActionList *out);
/* The local acceptor accepted FREE for name: a waiting candidate tries now (guard_claim_cleared()). */
int node_claim_cleared(Node *n, const char *name, uint64_t now);

/* systemd events about a supervised unit. */
int node_unit_stopped(Node *n, const char *name, uint64_t now, ActionList *out);
int node_unit_failed(Node *n, const char *name, uint64_t now, ActionList *out);

/*
 * One consensus message from a peer (or looped back from self). Requests go to
 * the acceptor, replies and TAKE to the name's guard, scans to the acceptor's
 * recovery. Returns -EINVAL for a malformed message, 0 when it was handled or
 * ignored (a reply for an unknown name or an old round is ignored).
 */
int node_receive(Node *n, const PeerMsg *m, uint64_t now, ActionList *out);

/* An ACTION_ARM_TIMER for name came due ("" or NULL: the acceptor's). */
int node_timer(Node *n, const char *name, uint64_t now, ActionList *out);

/* Runs every timer that is due (renewals of all names at once, fences, …). */
int node_tick(Node *n, uint64_t now, ActionList *out);

/* The earliest deadline of all guards and the acceptor (UINT64_MAX: none). */
uint64_t node_next_deadline(const Node *n);

/* `pesctl holds NAME` (see guard_holds()); false for unknown names. */
bool node_holds(const Node *n, const char *name, uint64_t now);

/* Inspection for the daemon's status and the simulator's invariant checker. */
uint16_t node_self(const Node *n);
const VoterConfig *node_config(const Node *n);
Guard *node_guard(const Node *n, const char *name);
size_t node_n_guards(const Node *n);
Guard *node_guard_at(const Node *n, size_t i);
Acceptor *node_acceptor(const Node *n);
