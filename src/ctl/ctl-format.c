/* SPDX-License-Identifier: MIT */
/* What pesctl shows for pesd's answers: tables, summaries and JSON objects, without a bus. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/macro.h"
#include "ctl/ctl-format.h"
#include "ctl/output.h"

void ctl_status_summarize(const PesManager *m, const PesName *names, size_t n_names,
                          const PesNode *nodes, size_t n_nodes, CtlStatus *ret) {
        assert(m);
        assert(ret);

        *ret = (CtlStatus) {
                .node_name = m->node_name,
                .version = m->version,
                .quorate = m->quorate,
                .names_total = n_names,
        };
        for (size_t i = 0; i < n_names; i++)
                if (names[i].here)
                        ret->names_here++;
        for (size_t i = 0; i < n_nodes; i++) {
                if (strcmp(nodes[i].state, "self") == 0)
                        continue;
                ret->peers_total++;
                if (strcmp(nodes[i].state, "alive") == 0)
                        ret->peers_alive++;
        }
}

static const TableColumn names_columns[] = {
        { "NAME", "name", false },
        { "OWNER", "owner", false },
        { "TOKEN", "token", true },
        { "STATE", "state", false },
        { "LEASE", "lease_remaining_usec", true },
        { "HERE", "here", false },
};

static bool name_is_free(const PesName *n) {
        return strcmp(n->state, "free") == 0;
}

int ctl_names_table(const PesName *names, size_t n, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        assert(names || n == 0);
        assert(ret);

        t = table_new(names_columns, ELEMENTSOF(names_columns));
        if (!t)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                const PesName *e = &names[i];

                r = table_add_string(t, e->name);
                if (r >= 0)
                        r = table_add_string(t, e->owner);
                if (r >= 0)
                        r = table_add_uint64(t, e->token);
                if (r >= 0)
                        r = table_add_string(t, e->state);
                if (r >= 0) {
                        if (name_is_free(e)) {
                                json_t *j = json_uint64(e->lease_remaining);

                                r = j ? table_add_cell(t, "-", j) : -ERANGE;
                        } else
                                r = table_add_timespan(t, e->lease_remaining);
                }
                if (r >= 0)
                        r = table_add_bool(t, e->here);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

static const TableColumn nodes_columns[] = {
        { "NODE", "node", false },
        { "ID", "id", true },
        { "ADDRESS", "address", false },
        { "ROLE", "role", false },
        { "STATE", "state", false },
        { "LAST-CONTACT", "last_contact_usec", false },
};

static int add_contact_cell(Table *t, const PesNode *e) {
        char buf[FORMAT_TIMESPAN_MAX + 8];
        json_t *j;

        if (e->since_contact == USEC_INFINITY)
                return table_add_cell(t, "never", NULL);

        j = json_uint64(e->since_contact);
        if (!j)
                return -ERANGE;
        if (strcmp(e->state, "self") == 0)
                return table_add_cell(t, "-", j);

        format_timespan(buf, FORMAT_TIMESPAN_MAX, e->since_contact);
        strcat(buf, " ago");
        return table_add_cell(t, buf, j);
}

int ctl_nodes_table(const PesNode *nodes, size_t n, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        assert(nodes || n == 0);
        assert(ret);

        t = table_new(nodes_columns, ELEMENTSOF(nodes_columns));
        if (!t)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                const PesNode *e = &nodes[i];

                r = table_add_string(t, e->name);
                if (r >= 0)
                        r = table_add_uint64(t, e->id);
                if (r >= 0)
                        r = table_add_string(t, e->address);
                if (r >= 0)
                        r = table_add_string(t, e->role);
                if (r >= 0)
                        r = table_add_string(t, e->state);
                if (r >= 0)
                        r = add_contact_cell(t, e);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

int ctl_status_format(const CtlStatus *s, char **ret) {
        _cleanup_free_ char *text = NULL;
        char peers[64];
        int r;

        assert(s);
        assert(ret);

        if (s->peers_total == 0)
                snprintf(peers, sizeof(peers), "none (a one-node cluster)");
        else
                snprintf(peers, sizeof(peers), "%zu/%zu alive", s->peers_alive, s->peers_total);

        r = asprintf(&text,
                     "   Node: %s\n"
                     "Version: %s\n"
                     "Quorate: %s\n"
                     "  Names: %zu held here, %zu known\n"
                     "  Peers: %s\n",
                     s->node_name, s->version, s->quorate ? "yes" : "no",
                     s->names_here, s->names_total, peers);
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

json_t *ctl_status_to_json(const CtlStatus *s) {
        assert(s);

        return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I}",
                         "node_name", s->node_name,
                         "version", s->version,
                         "quorate", (int) s->quorate,
                         "names_here", (json_int_t) s->names_here,
                         "names_total", (json_int_t) s->names_total,
                         "peers_alive", (json_int_t) s->peers_alive,
                         "peers_total", (json_int_t) s->peers_total);
}

int ctl_lookup_format(const PesName *n, char **ret) {
        _cleanup_free_ char *text = NULL;
        char lease[FORMAT_TIMESPAN_MAX + 8] = "-";
        int r;

        assert(n);
        assert(ret);

        if (!name_is_free(n)) {
                format_timespan(lease, FORMAT_TIMESPAN_MAX, n->lease_remaining);
                if (n->lease_remaining != USEC_INFINITY)
                        strcat(lease, " left");
        }

        r = asprintf(&text,
                     " Name: %s\n"
                     "Owner: %s\n"
                     "Token: %" PRIu64 "\n"
                     "State: %s\n"
                     "Lease: %s\n",
                     n->name, n->owner[0] ? n->owner : "-", n->token, n->state, lease);
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}

json_t *ctl_lookup_to_json(const PesName *n) {
        json_t *token, *lease;

        assert(n);

        token = json_uint64(n->token);
        lease = n->lease_remaining == USEC_INFINITY ? json_null() : json_uint64(n->lease_remaining);
        if (!token || !lease) {
                json_decref(token);
                json_decref(lease);
                return NULL;
        }
        return json_pack("{s:s, s:s, s:o, s:s, s:o}",
                         "name", n->name,
                         "owner", n->owner,
                         "token", token,
                         "state", n->state,
                         "lease_remaining_usec", lease);
}

json_t *ctl_acquired_to_json(const char *name, uint64_t token) {
        json_t *t;

        assert(name);

        t = json_uint64(token);
        if (!t)
                return NULL;
        return json_pack("{s:s, s:o}", "name", name, "token", t);
}
