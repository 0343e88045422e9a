/* SPDX-License-Identifier: MIT */
/* A name's recent history read from the journal: pesd logs every start, stop, acquisition and loss with PES_NAME=. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "basic/macro.h"
#include "ctl/journal-history.h"

HistoryEntry *history_free(HistoryEntry *entries, size_t n) {
        for (size_t i = 0; entries && i < n; i++)
                free(entries[i].message);
        free(entries);
        return NULL;
}

/* Copies the MESSAGE= field of the current entry (an entry without one gets ""). */
static int read_message(sd_journal *j, char **ret) {
        const void *data;
        size_t len;
        int r;

        r = sd_journal_get_data(j, "MESSAGE", &data, &len);
        if (r == -ENOENT) {
                *ret = strdup("");
                return *ret ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        assert(len >= strlen("MESSAGE="));
        *ret = strndup((const char *) data + strlen("MESSAGE="), len - strlen("MESSAGE="));
        return *ret ? 0 : -ENOMEM;
}

int history_read(const char *name, size_t max, HistoryEntry **ret, size_t *ret_n) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *match = NULL;
        HistoryEntry *entries;
        size_t n = 0;
        int r;

        assert(name);
        assert(ret);
        assert(ret_n);

        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;
        if (asprintf(&match, "PES_NAME=%s", name) < 0)
                return -ENOMEM;
        r = sd_journal_add_match(j, match, 0);
        if (r < 0)
                return r;

        entries = calloc(max > 0 ? max : 1, sizeof(HistoryEntry));
        if (!entries)
                return -ENOMEM;

        /* Walk back from the newest entry, filling the array from its end, so that the
         * oldest of the entries read comes first. */
        r = sd_journal_seek_tail(j);
        while (r >= 0 && n < max) {
                HistoryEntry *e = &entries[max - 1 - n];

                r = sd_journal_previous(j);
                if (r <= 0)
                        break;
                r = sd_journal_get_realtime_usec(j, &e->realtime);
                if (r >= 0)
                        r = read_message(j, &e->message);
                if (r >= 0)
                        n++;
        }
        if (r < 0) {
                for (size_t i = max - n; i < max; i++)
                        free(entries[i].message);
                free(entries);
                return r;
        }

        if (n < max)
                memmove(entries, entries + (max - n), n * sizeof(HistoryEntry));
        *ret = entries;
        *ret_n = n;
        return 0;
}
