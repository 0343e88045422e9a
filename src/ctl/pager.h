/* SPDX-License-Identifier: MIT */
/* Paging of long output through less, as systemctl does, only when a person is reading stdout. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

typedef struct Pager {
        pid_t pid;     /* 0: no pager running */
        int saved_fd;  /* the original stdout while the pager has it */
} Pager;

#define PAGER_NULL ((Pager) { .pid = 0, .saved_fd = -1 })

/*
 * Starts a pager and points stdout at it, if stdout is a terminal. The pager is
 * $PAGER (run by /bin/sh; "" or "cat" means no pager) or else "less -FRSX", which
 * quits at once when the text fits the screen. If the pager cannot be started,
 * output goes to the terminal directly. Returns 0, or -errno of a failure that
 * leaves stdout unusable.
 */
int pager_open(Pager *p);

/* Flushes stdout, hands the pager end of file, waits for it to exit, and gives stdout
 * back. Safe to call when no pager was started. */
void pager_close(Pager *p);
