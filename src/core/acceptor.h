/* SPDX-License-Identifier: MIT */
/* The acceptor: one voter's per-name register state and its answers (DESIGN.md "Acceptor state per name"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "core/msg.h"

/*
 * One name's acceptor state. bp and v are durable: every change of them is a
 * PERSIST action that the replies depending on it wait for. ea, the expiry of an
 * accepted LEASE/RESERVED on this voter's own clock, is volatile (0: none).
 */
typedef struct AcceptorEntry {
        const char *name;
        Ballot bp;
        RegValue v;
        uint64_t ea;
} AcceptorEntry;

/*
 * How an acceptor starts (DESIGN.md "Restart", "Lost disk", "Bootstrap"); the daemon
 * decides from what it finds on disk.
 */
typedef enum AcceptorStart {
        /*
         * The cluster is being initialised now (all voters start empty, or
         * `pesctl bootstrap`): answer at once and persist the "initialised" marker.
         */
        ACCEPTOR_START_BOOTSTRAP,
        /*
         * The durable store and its marker were found and loaded with
         * acceptor_load(): answer at once, but treat every LEASE/RESERVED as live
         * for a full T·(1+ρ) from now, since its expiry was volatile.
         */
        ACCEPTOR_START_RESTART,
        /*
         * No store, but the cluster is initialised: the disk was lost. Answer
         * nothing until every name's (bp, v) was read from F+1 other voters (MSG_SCAN)
         * and T_max·(1+ρ) passed since now.
         */
        ACCEPTOR_START_LOST_DISK,
        _ACCEPTOR_START_MAX,
} AcceptorStart;

typedef struct Acceptor Acceptor;

/*
 * A new acceptor for voter self (not yet answering: load, then start). The
 * configuration is copied; incarnation is stamped on every message it sends.
 * Returns NULL when out of memory or if the arguments are invalid.
 */
Acceptor *acceptor_new(uint16_t self, uint64_t incarnation, const VoterConfig *config);
Acceptor *acceptor_free(Acceptor *a);

/*
 * Loads one name's durable state read back from the store, before
 * acceptor_start(ACCEPTOR_START_RESTART). -EBUSY once started; -EINVAL if ba > bp.
 */
int acceptor_load(Acceptor *a, const char *name, const Ballot *bp, const RegValue *v);

/*
 * Starts answering (or starts recovering) at now. A bootstrap appends
 * PERSIST_INIT; a lost-disk start appends a MSG_SCAN to every other voter and a
 * timer for the earliest moment it may answer. -EALREADY if started before.
 */
int acceptor_start(Acceptor *a, AcceptorStart mode, uint64_t now, ActionList *out);

/*
 * Installs a newer chosen configuration (DESIGN.md "a voter enforces an epoch only
 * once it is chosen"). A started acceptor that just became a voter recovers like a
 * lost disk, keeping its state (a MSG_SCAN to the other voters of the prepare set
 * and a timer; silent until T_max·(1+ρ) passed and F+1 of them answered); one that
 * is no longer a voter falls silent; one recovering scans again under the new
 * voter set. -ESTALE if its epoch is not newer than the current one.
 */
int acceptor_set_config(Acceptor *a, const VoterConfig *config, uint64_t now, ActionList *out);

/*
 * The configuration read back from the store with the acceptor's state, before
 * acceptor_start(): it replaces the one given at creation, whatever its epoch.
 * -EBUSY once started.
 */
int acceptor_load_config(Acceptor *a, const VoterConfig *config);
const VoterConfig *acceptor_config(const Acceptor *a);

/*
 * Answers one message addressed to this voter: READ, PREPARE, ACCEPT, SCAN (from a
 * recovering voter) and, while recovering, SCAN_REPLY and SCAN_DONE. Rules
 * (DESIGN.md "Messages", "Sequence numbers", "Membership"):
 *  - an older epoch, or the same n with another hash (a host with another Peers=
 *    list), gets NACK_CONFIG with this voter's configuration; a newer epoch is
 *    not answered (this voter is behind): a NOTIFY_CONFIG, and a NACK_CONFIG
 *    with this voter's older configuration, so that the sender pushes the chosen
 *    one (node_receive() answers it with CFG_COMMIT);
 *  - READ → READ_REPLY(bp, v, remaining);
 *  - PREPARE(b) from p: while v is a live LEASE/RESERVED on this clock and p is not
 *    its holder → NACK_LIVE(bp, remaining), bp unchanged; else b ≤ bp →
 *    NACK_PROMISED(bp); else bp := b, persist, then PROMISE(b, v, remaining);
 *  - ACCEPT(b, v') → b < bp: NACK_PROMISED(bp). At the accepted ballot (b = ba):
 *    an older seq → NACK_STALE_SEQ; an equal seq → ACCEPTED again without moving
 *    ea; a LEASE after FREE/RESERVED → NACK_STALE_SEQ; a renewal (only seq differs)
 *    → ea := now + T·(1+ρ), PERSIST with seq_only and an immediate ACCEPTED.
 *    Otherwise v := v', bp := b, ea := now + T·(1+ρ) for a LEASE/RESERVED (0 for
 *    FREE), persist, then ACCEPTED.
 *  - an identity ACCEPT of a rescan (.identity): b < bp → NACK_PROMISED; the same
 *    (ba, seq) → ACCEPTED again, ea unchanged; a newer one held → NACK_STALE_SEQ;
 *    else v := v', ea := now + min(.remaining_usec, T·(1+ρ)), persist, ACCEPTED;
 *  - SCAN from any member (a recovering voter, a driver's rescan) → SCAN_REPLY per
 *    name, then SCAN_DONE;
 *  - a request from a host that is not a member of the configuration gets
 *    NACK_CONFIG, like an older epoch.
 * While recovering a lost disk, nothing is answered. Messages of other types, or
 * from a host that is not in the right set, are ignored (returns 0). Returns
 * -EINVAL for a malformed message (no name, T of 0 or above T_max, ba ≠ b).
 */
int acceptor_handle(Acceptor *a, const PeerMsg *m, uint64_t now, ActionList *out);

/*
 * Time passes: a recovering voter re-sends MSG_SCAN to the voters that have not
 * finished and starts answering once the rules of "Lost disk" are met.
 */
int acceptor_timer(Acceptor *a, uint64_t now, ActionList *out);

/* When acceptor_timer() must next run (UINT64_MAX: never; only while recovering). */
uint64_t acceptor_next_deadline(const Acceptor *a);

/* True once started and not (or no longer) recovering a lost disk. */
bool acceptor_serving(const Acceptor *a);

/* The state of one name, or NULL if this voter never heard of it. */
const AcceptorEntry *acceptor_lookup(const Acceptor *a, const char *name);

/* Iteration in insertion order, for the store and the simulator's checker. */
size_t acceptor_n_entries(const Acceptor *a);
const AcceptorEntry *acceptor_entry(const Acceptor *a, size_t i);

/* How long v stays live on this voter's clock after now (0: not a live claim). */
uint64_t acceptor_entry_remaining(const AcceptorEntry *e, uint64_t now);
