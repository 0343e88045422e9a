/* SPDX-License-Identifier: MIT */
/* What pesctl shows for pesd's answers: tables, summaries and JSON objects, without a bus. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

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

/* "pesctl nodes": NODE ID ADDRESS ROLE STATE LAST-CONTACT ("1.5s ago", "never";
 * JSON last_contact_usec is null for never). */
int ctl_nodes_table(const PesNode *nodes, size_t n, Table **ret);

/* Text and JSON of "pesctl status". */
int ctl_status_format(const CtlStatus *s, char **ret);
json_t *ctl_status_to_json(const CtlStatus *s);

/* Text and JSON of "pesctl lookup NAME". */
int ctl_lookup_format(const PesName *n, char **ret);
json_t *ctl_lookup_to_json(const PesName *n);

/* The JSON of "pesctl acquire": {"name": …, "token": …}. */
json_t *ctl_acquired_to_json(const char *name, uint64_t token);
