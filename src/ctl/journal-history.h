/* SPDX-License-Identifier: MIT */
/* A name's recent history read from the journal: pesd logs every start, stop, acquisition and loss with PES_NAME=. */
#pragma once

#include <stddef.h>

#include "basic/time-util.h"

/* One journal entry of a name. */
typedef struct HistoryEntry {
        usec_t realtime; /* µs since the epoch, when it was logged */
        char *message;
} HistoryEntry;

HistoryEntry *history_free(HistoryEntry *entries, size_t n);

/*
 * Reads the newest max entries with PES_NAME=name from the journals of this host
 * (system and, for a non-root caller, whatever it may read), oldest first.
 * Returns 0 with the entries (none is not an error: *ret_n is 0), or -errno when
 * the journal cannot be opened or read.
 */
int history_read(const char *name, size_t max, HistoryEntry **ret, size_t *ret_n);
