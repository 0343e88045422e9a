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
 */
int node_set_config(Node *n, const VoterConfig *config, uint64_t now, ActionList *out);

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
