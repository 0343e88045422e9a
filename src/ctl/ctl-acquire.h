/* SPDX-License-Identifier: MIT */
/* "pesctl acquire NAME [-- CMD…]": holds a cluster-wide name for as long as pesctl (or CMD) runs, and stops CMD if the name is lost. */
#pragma once

#include <systemd/sd-bus.h>

#include "basic/time-util.h"
#include "ctl/output.h"

/* How long a CMD has between SIGTERM and SIGKILL once the name is lost. */
#define CTL_ACQUIRE_STOP_TIMEOUT_USEC (5 * USEC_PER_SEC)

/*
 * Calls Acquire for name (waiting as long as pesd makes it wait), then:
 *  - without cmd (NULL or empty), prints the token and holds the name until
 *    SIGINT, SIGTERM or SIGHUP; returns PESCTL_EXIT_SUCCESS;
 *  - with cmd, runs it with PES_NAME and PES_FENCING_TOKEN in its environment,
 *    passes SIGTERM and SIGHUP (and a SIGINT not sent by the terminal, which
 *    already sent it to CMD) on to it, and returns its exit status (128+N for
 *    signal N, as shells do).
 * If pesd reports the name lost (OwnerChanged to another owner or token, or no
 * owner), or pesd leaves the bus, CMD is sent SIGTERM, then SIGKILL after
 * CTL_ACQUIRE_STOP_TIMEOUT_USEC, and PESCTL_EXIT_NAME_LOST is returned. The name
 * is released on the way out. Errors are logged; the result is always an exit
 * status.
 */
int ctl_acquire(sd_bus *bus, const char *name, char **cmd, JsonMode json);
