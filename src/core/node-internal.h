/* SPDX-License-Identifier: MIT */
/* The node's parts, shared by node.c, the configuration register and the change driver. */
#pragma once

#include "core/acceptor.h"
#include "core/config-reg.h"
#include "core/guard.h"
#include "core/name-table.h"
#include "core/node.h"
#include "core/reconf.h"

struct Node {
        GuardContext ctx; /* ctx.config is the installed configuration */
        Acceptor *acceptor;
        NameTable guards;
        ConfigReg reg;
        Reconf rc;
};
