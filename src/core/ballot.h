/* SPDX-License-Identifier: MIT */
/* Ballots, fencing tokens and the ranking of register values (DESIGN.md "Ballot", "Identity"). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/msg.h"

/*
 * Ballots are ordered by counter, then host (DESIGN.md "Ballot"). Returns <0, 0 or
 * >0 like strcmp().
 */
int ballot_compare(const Ballot *a, const Ballot *b);

/* True for the zero ballot (0, PES_HOST_NONE), which no proposer ever uses. */
bool ballot_is_null(const Ballot *b);

/*
 * A new ballot is (highest counter seen + 1, self) (DESIGN.md "Ballot"), so a
 * proposer's ballots only grow and two hosts never share one. The counter is kept
 * below 2⁴⁸ so that the ballot fits in a fencing token.
 */
Ballot ballot_next(uint64_t highest_counter_seen, uint16_t self);

/* The largest counter a ballot may have: the fencing token must fit in 64 bits. */
#define BALLOT_COUNTER_MAX ((UINT64_C(1) << 48) - 1)

/*
 * The fencing token of the tenure a ballot begins, counter·2¹⁶ + host (DESIGN.md
 * "Identity"). Token order equals ballot order, so quorum intersection makes each
 * tenure's token strictly greater than every earlier tenure's.
 */
uint64_t ballot_token(const Ballot *b);

/*
 * Register values are ranked by (ba, seq) (DESIGN.md "Acceptor state per name").
 * Returns <0, 0 or >0.
 */
int value_compare(const RegValue *a, const RegValue *b);

/* A LEASE or a RESERVED value: one that can be live and must be waited out. */
bool value_is_claim(const RegValue *v);

/*
 * True when b differs from a only in seq, i.e. b is a renewal of a: the acceptor
 * need not write it to disk (DESIGN.md "a renewal changes only seq and ea").
 */
bool value_same_but_seq(const RegValue *a, const RegValue *b);

const char *value_kind_to_string(ValueKind k);
