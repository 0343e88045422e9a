/* SPDX-License-Identifier: MIT */
/* The voter-configuration register as each node keeps it: its acceptor side and the install of chosen configurations. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/action.h"
#include "core/msg.h"

typedef struct Node Node;

/*
 * The register's durable state besides the installed (chosen) configuration,
 * which is the node's own (DESIGN.md "Voter configuration is itself a CASPaxos
 * register"): the promised ballot and the proposal accepted for the next epoch.
 * Every change is an ACTION_PERSIST_CONFIG that the replies wait for.
 */
typedef struct ConfigReg {
        Ballot bp;
        Ballot ba;            /* zero: nothing accepted */
        VoterConfig accepted; /* meaningful only when ba is not zero */
        /*
         * A voter that lost its disk lost what it promised and accepted here too:
         * it takes no part in the register before it installs this epoch (0: it
         * takes part). A register round it sat out is one with a voter down.
         */
        uint64_t silent_below;
} ConfigReg;

/*
 * Answers CFG_PREPARE, CFG_ACCEPT (as a voter of the installed configuration, in
 * its prepare set or accept set) and CFG_COMMIT (any node, voter or candidate).
 */
int config_reg_handle(Node *n, const PeerMsg *m, uint64_t now, ActionList *out);

/* Appends ACTION_PERSIST_CONFIG with the register's state. */
int config_reg_persist(const Node *n, ActionList *out);

/*
 * Installs a chosen configuration newer than the node's (node_set_config()):
 * -ESTALE if it is not newer, -EINVAL if it does not validate.
 */
int config_reg_install(Node *n, const VoterConfig *c, uint64_t now, ActionList *out);

/* A message from the node (name "", the node's epoch), appended to out. */
PeerMsg *node_send(const Node *n, ActionList *out, uint16_t to, MsgType type, uint64_t round, bool after_persist);
