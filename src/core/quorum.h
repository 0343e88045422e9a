/* SPDX-License-Identifier: MIT */
/* Voter configurations and the quorums they give (DESIGN.md "Roles", "Membership"). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/msg.h"

/*
 * Fills c with a stable configuration of the given voters (epoch 1, default ρ, δ
 * and T_max) and computes its hash. The voters are kept sorted. Returns -EINVAL
 * for no voters, more than PES_VOTERS_MAX, PES_HOST_NONE or a duplicate.
 */
int voter_config_init(VoterConfig *c, const uint16_t *voters, unsigned n_voters);

/*
 * The same with candidates: members is every host of the cluster (voters
 * included; voters missing from it are added). next_id is one above the highest
 * member. rescanned is true: nothing was ever accepted under an earlier epoch.
 */
int voter_config_init_members(VoterConfig *c, const uint16_t *voters, unsigned n_voters,
                              const uint16_t *members, unsigned n_members);

/* Whether host is a member (voter or candidate) of the configuration. */
bool voter_config_is_member(const VoterConfig *c, uint16_t host);

/*
 * Whether the configuration is in the middle of a voter change (not STABLE, or
 * STABLE but not yet rescanned after the last step).
 */
bool voter_config_changing(const VoterConfig *c);

/*
 * The hash of a configuration: 64-bit FNV-1a over its sorted voters, phase, the
 * changing voter and the direction of the change, the rescanned mark, the sorted
 * members and next_id, the timing figures and the parent hash (DESIGN.md "An epoch is
 * (n, hash(voters, phase, parent))"). Hosts with different Peers= lists get
 * different hashes and so never count each other.
 */
uint64_t voter_config_hash(const VoterConfig *c, uint64_t parent_hash);

/*
 * Checks a configuration received or built: sizes, sorted unique voters and
 * members, every voter a member, next_id above every member, a STABLE phase
 * without a changing voter, timing bounds.
 */
int voter_config_validate(const VoterConfig *c);

bool epoch_equal(const Epoch *a, const Epoch *b);

/* Position of host among the voters, or -ENOENT. */
int voter_config_index(const VoterConfig *c, uint16_t host);

/*
 * Which voters PREPARE (and READ) go to, and how many of them must answer. In a
 * stable configuration that is all voters and a plain majority. While a voter is
 * being added or removed (CASPaxos 2F+1 ↔ 2F+2, configuration ACCEPT_WIDENED) the
 * prepare set leaves out the changing voter and a majority of the rest is needed,
 * whichever way the change goes. Every prepare quorum intersects every accept
 * quorum in both phases.
 */
bool voter_config_in_prepare_set(const VoterConfig *c, uint16_t host);
unsigned voter_config_prepare_quorum(const VoterConfig *c);

/*
 * Which voters ACCEPT goes to, and how many must accept: always all voters of the
 * configuration (including one being added or removed) and a majority of them,
 * which is F+2 of 2F+2 while accepts are widened.
 */
bool voter_config_in_accept_set(const VoterConfig *c, uint16_t host);
unsigned voter_config_accept_quorum(const VoterConfig *c);

/*
 * How many *other* voters a voter that lost its disk must have read every name
 * from before it answers again: F+1 (DESIGN.md "Lost disk").
 */
unsigned voter_config_recovery_quorum(const VoterConfig *c);
