/* SPDX-License-Identifier: MIT */
/* The node's parts, shared by node.c, the configuration register and the change driver. */
#pragma once

#include "core/acceptor.h"
#include "core/config-reg.h"
#include "core/guard.h"
#include "core/name-table.h"
#include "core/node.h"
#include "core/reconf.h"

/* How often a peer that is behind is sent the configuration again (node_receive()). */
#define NODE_PUSH_INTERVAL_USEC UINT64_C(200000)
#define NODE_PUSHES_MAX 16

struct Node {
        GuardContext ctx; /* ctx.config is the installed configuration */
        Acceptor *acceptor;
        NameTable guards;
        ConfigReg reg;
        Reconf rc;
        /* The peers lately sent the configuration because they were behind. */
        struct {
                uint16_t host;
                uint64_t epoch;
                uint64_t at;
        } pushed[NODE_PUSHES_MAX];
        unsigned next_push;
};
