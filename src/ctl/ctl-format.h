/* SPDX-License-Identifier: MIT */
/* What pesctl shows for pesd's answers: tables, summaries and JSON objects, without a bus. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctl/journal-history.h"
#include "ctl/pes-api.h"
#include "ctl/table.h"

/*
 * The summary of "pesctl status". Names are counted from ListNames (this host's
 * view), peers from ListNodes (every node but the one with state "self").
 */
typedef struct CtlStatus {
        const char *node_name;
        const char *version;
        bool quorate;
        bool has_config;          /* pesd told the voter configuration (the fields below) */
        const char *cluster_name; /* "" for a one-node cluster without a config */
        uint64_t config_epoch;
        const char *voter_change; /* "" when none is in flight */
        bool not_member;          /* pesd said this host is not a member (it left) */
        size_t names_here;
        size_t names_total;
        size_t peers_alive;
        size_t peers_total;
} CtlStatus;

void ctl_status_summarize(const PesManager *m, const PesName *names, size_t n_names,
                          const PesNode *nodes, size_t n_nodes, CtlStatus *ret);

/* "pesctl list": NAME OWNER TOKEN STATE LEASE HERE. A free name shows "-" as its
 * lease (JSON keeps the number). */
int ctl_names_table(const PesName *names, size_t n, Table **ret);

/* "pesctl nodes": NAME ID ROLE STATE LAST-CONTACT EPOCH ADDRESS ("1.5s ago",
 * "never"; JSON last_contact_usec is null for never; an epoch or address not known
 * yet shows "-", its JSON is null or ""). The JSON key of NAME is "node". */
int ctl_nodes_table(const PesNode *nodes, size_t n, Table **ret);

/* "pesctl voters": the same columns, the voters only (a role starting with "voter"). */
int ctl_voters_table(const PesNode *nodes, size_t n, Table **ret);

/*
 * The lines above the voters: " Epoch: N", " Phase: P", "Change: C" ("none"; a
 * change not driven by this host adds how to resume or roll it back).
 */
int ctl_voters_head_format(const PesManager *m, char **ret);

/* {"epoch": N, "phase": P, "change": C ("" for none), "voters": [rows of voters]}. */
json_t *ctl_voters_to_json(const PesManager *m, const Table *voters);

/* Text and JSON of "pesctl status". With the voter configuration, the text adds
 * "Cluster:" (when it has a name), "Member: no" on a host that left, "Epoch:" and,
 * while one is in flight, "Change:"; the JSON "cluster", "member", "epoch" and
 * "voter_change". */
int ctl_status_format(const CtlStatus *s, char **ret);
json_t *ctl_status_to_json(const CtlStatus *s);

/* Text and JSON of "pesctl lookup NAME". */
int ctl_lookup_format(const PesName *n, char **ret);
json_t *ctl_lookup_to_json(const PesName *n);

/* The JSON of "pesctl acquire": {"name": …, "token": …}. */
json_t *ctl_acquired_to_json(const char *name, uint64_t token);

/* "pesctl units": UNIT TRIGGERS PHASE ACTIVE SUB HERE TOKEN. The reason of a refused
 * unit is in the JSON ("refusal") only; the text shows it under the table (see
 * ctl_units_refusals_format()). A unit not held here shows "-" as its token. */
int ctl_units_table(const PesUnit *units, size_t n, Table **ret);

/* The lines shown under the units table, one per refused unit ("UNIT: refused: REASON"),
 * or "" when no unit is refused. */
int ctl_units_refusals_format(const PesUnit *units, size_t n, char **ret);

/* What "pesctl status NAME" shows about one name or unit. */
typedef struct CtlNameStatus {
        const char *name;
        const PesName *owner;     /* the answer of Lookup, or NULL */
        const char *owner_error;  /* why there is no answer ("no voter knows it"), if owner is NULL */
        const PesUnit *unit;      /* this host's row of ListUnits, or NULL: not supervised here */
        const HistoryEntry *history; /* oldest first */
        size_t n_history;
} CtlNameStatus;

/*
 * Text and JSON of "pesctl status NAME". The text ends with "Recent owner changes:"
 * and one "TIME  MESSAGE" line per journal entry (local time, "%Y-%m-%d %H:%M:%S"),
 * or "no history in the journal". JSON: the fields of lookup (null when unknown),
 * "here" (the ListUnits row as an object, or null) and "history" (an array of
 * {"realtime_usec", "message"}).
 */
int ctl_name_status_format(const CtlNameStatus *s, char **ret);
json_t *ctl_name_status_to_json(const CtlNameStatus *s);

/* The JSON of "pesctl holds": {"name": …, "holds": …}. */
json_t *ctl_holds_to_json(const char *name, bool holds);
