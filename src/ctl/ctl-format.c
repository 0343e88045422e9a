/* SPDX-License-Identifier: MIT */
/* What pesctl shows for pesd's answers: tables, summaries and JSON objects, without a bus. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
                .has_config = m->config_phase,
                .cluster_name = m->cluster_name ?: "",
                .config_epoch = m->config_epoch,
                .voter_change = m->voter_change ?: "",
                .not_member = m->has_member && !m->member,
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
        { "NAME", "name", false, false },
        { "OWNER", "owner", false, false },
        { "TOKEN", "token", true, false },
        { "STATE", "state", false, false },
        { "LEASE", "lease_remaining_usec", true, false },
        { "HERE", "here", false, false },
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

/* Writes s with control characters as "\\xNN" (as table cells show them): names,
 * reasons and journal messages come from elsewhere and must not move the cursor. */
static void put_escaped(FILE *f, const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        fprintf(f, "\\x%02x", (unsigned) (unsigned char) *s);
                else
                        fputc(*s, f);
}

static const TableColumn nodes_columns[] = {
        { "NAME", "node", false, false },
        { "ID", "id", true, false },
        { "ROLE", "role", false, false },
        { "STATE", "state", false, false },
        { "LAST-CONTACT", "last_contact_usec", false, false },
        { "EPOCH", "epoch", true, false },
        { "ADDRESS", "address", false, false },
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

/* The epoch of a member's last message; "-" and null before it sent one. */
static int add_epoch_cell(Table *t, uint64_t epoch) {
        if (epoch == 0)
                return table_add_cell(t, "-", NULL);
        return table_add_uint64(t, epoch);
}

static int add_node_row(Table *t, const PesNode *e) {
        int r;

        r = table_add_string(t, e->name);
        if (r >= 0)
                r = table_add_uint64(t, e->id);
        if (r >= 0)
                r = table_add_string(t, e->role);
        if (r >= 0)
                r = table_add_string(t, e->state);
        if (r >= 0)
                r = add_contact_cell(t, e);
        if (r >= 0)
                r = add_epoch_cell(t, e->epoch);
        if (r >= 0)
                r = table_add_string(t, e->address);
        return r;
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
                r = add_node_row(t, &nodes[i]);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

int ctl_voters_table(const PesNode *nodes, size_t n, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        assert(nodes || n == 0);
        assert(ret);

        t = table_new(nodes_columns, ELEMENTSOF(nodes_columns));
        if (!t)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                if (!pes_role_is_voter(nodes[i].role))
                        continue;
                r = add_node_row(t, &nodes[i]);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

int ctl_voters_head_format(const PesManager *m, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert(m);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, " Epoch: %" PRIu64 "\n Phase: ", m->config_epoch);
        put_escaped(f, m->config_phase ?: "unknown");
        fputs("\nChange: ", f);
        if (m->voter_change && m->voter_change[0]) {
                put_escaped(f, m->voter_change);
                if (!strstr(m->voter_change, PES_DRIVEN_HERE))
                        fputs("\n        (if the host driving it is gone: 'pesctl voters resume' finishes it,\n"
                              "        'pesctl voters rollback' undoes it)", f);
        } else
                fputs("none", f);
        fputc('\n', f);
        if (fclose(f) != 0 || !buf)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

json_t *ctl_voters_to_json(const PesManager *m, const Table *voters) {
        _cleanup_(json_decrefp) json_t *rows = NULL;
        json_t *epoch;

        assert(m);
        assert(voters);

        rows = table_to_json(voters);
        epoch = json_uint64(m->config_epoch);
        if (!rows || !epoch) {
                json_decref(epoch);
                return NULL;
        }
        return json_pack("{s:o, s:s, s:s, s:o}",
                         "epoch", epoch,
                         "phase", m->config_phase ?: "",
                         "change", m->voter_change ?: "",
                         "voters", TAKE_PTR(rows));
}

int ctl_status_format(const CtlStatus *s, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert(s);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("   Node: ", f);
        put_escaped(f, s->node_name);
        if (s->has_config && s->cluster_name[0]) {
                fputs("\nCluster: ", f);
                put_escaped(f, s->cluster_name);
        }
        if (s->not_member)
                fputs("\n Member: no (it left; 'pesctl join HOST:PORT' joins a cluster)", f);
        fputs("\nVersion: ", f);
        put_escaped(f, s->version);
        fprintf(f, "\nQuorate: %s\n  Names: %zu held here, %zu known\n", s->quorate ? "yes" : "no", s->names_here,
                s->names_total);
        if (s->peers_total == 0)
                fputs(s->not_member ? "  Peers: none (not a member)\n" : "  Peers: none (a one-node cluster)\n", f);
        else
                fprintf(f, "  Peers: %zu/%zu alive\n", s->peers_alive, s->peers_total);
        if (s->has_config) {
                fprintf(f, "  Epoch: %" PRIu64 "\n", s->config_epoch);
                if (s->voter_change[0]) {
                        fputs(" Change: ", f);
                        put_escaped(f, s->voter_change);
                        fputc('\n', f);
                }
        }
        if (fclose(f) != 0 || !buf)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

json_t *ctl_status_to_json(const CtlStatus *s) {
        _cleanup_(json_decrefp) json_t *o = NULL;
        json_t *epoch;

        assert(s);

        o = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I}",
                      "node_name", s->node_name,
                      "version", s->version,
                      "quorate", (int) s->quorate,
                      "names_here", (json_int_t) s->names_here,
                      "names_total", (json_int_t) s->names_total,
                      "peers_alive", (json_int_t) s->peers_alive,
                      "peers_total", (json_int_t) s->peers_total);
        if (!o)
                return NULL;
        if (s->has_config) {
                epoch = json_uint64(s->config_epoch);
                if (json_object_set_new(o, "cluster", json_string(s->cluster_name)) < 0 ||
                    json_object_set_new(o, "member", json_boolean(!s->not_member)) < 0 ||
                    json_object_set_new(o, "epoch", epoch) < 0 ||
                    json_object_set_new(o, "voter_change", json_string(s->voter_change)) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
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

static const TableColumn units_columns[] = {
        { "UNIT", "unit", false, false },
        { "TRIGGERS", "triggers", false, false },
        { "PHASE", "phase", false, false },
        { "ACTIVE", "active_state", false, false },
        { "SUB", "sub_state", false, false },
        { "HERE", "here", false, false },
        { "TOKEN", "token", true, false },
        { "REFUSAL", "refusal", false, true },
};

int ctl_units_table(const PesUnit *units, size_t n, Table **ret) {
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        assert(units || n == 0);
        assert(ret);

        t = table_new(units_columns, ELEMENTSOF(units_columns));
        if (!t)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                const PesUnit *e = &units[i];

                r = table_add_string(t, e->unit);
                if (r >= 0)
                        r = table_add_string(t, e->triggers);
                if (r >= 0)
                        r = table_add_string(t, e->phase);
                if (r >= 0)
                        r = table_add_string(t, e->active_state);
                if (r >= 0)
                        r = table_add_string(t, e->sub_state);
                if (r >= 0)
                        r = table_add_bool(t, e->here);
                if (r >= 0) {
                        if (e->here)
                                r = table_add_uint64(t, e->token);
                        else {
                                json_t *j = json_uint64(e->token);

                                r = j ? table_add_cell(t, "-", j) : -ERANGE;
                        }
                }
                if (r >= 0)
                        r = table_add_cell(t, e->refusal, json_string(e->refusal));
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

int ctl_units_refusals_format(const PesUnit *units, size_t n, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert(units || n == 0);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *unit = NULL, *reason = NULL;

                if (strcmp(units[i].phase, "refused") != 0)
                        continue;
                unit = text_escape(units[i].unit);
                reason = text_escape(units[i].refusal[0] ? units[i].refusal : "no reason given");
                if (!unit || !reason) {
                        fclose(f);
                        return -ENOMEM;
                }
                fprintf(f, "%s: refused: %s\n", unit, reason);
        }
        if (fclose(f) != 0 || !buf)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* "active (running)", "active", or "-" when systemd has not said. */
static void put_active(FILE *f, const PesUnit *u) {
        if (!u->active_state[0]) {
                fputs("-", f);
                return;
        }
        put_escaped(f, u->active_state);
        if (u->sub_state[0]) {
                fputs(" (", f);
                put_escaped(f, u->sub_state);
                fputs(")", f);
        }
}

static void put_phase(FILE *f, const PesUnit *u) {
        put_escaped(f, u->phase);
        if (strcmp(u->phase, "refused") == 0) {
                fputs(": ", f);
                put_escaped(f, u->refusal[0] ? u->refusal : "no reason given");
        } else if (u->here)
                fputs(", held by this host", f);
}

int ctl_name_status_format(const CtlNameStatus *s, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert(s);
        assert(s->name);
        assert(s->history || s->n_history == 0);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fputs("    Name: ", f);
        put_escaped(f, s->name);
        if (s->unit && s->unit->triggers[0]) {
                fputs("\nTriggers: ", f);
                put_escaped(f, s->unit->triggers);
        }
        fputs("\n   Owner: ", f);
        if (s->owner) {
                char lease[FORMAT_TIMESPAN_MAX + 8] = "-";

                if (!name_is_free(s->owner)) {
                        format_timespan(lease, FORMAT_TIMESPAN_MAX, s->owner->lease_remaining);
                        if (s->owner->lease_remaining != USEC_INFINITY)
                                strcat(lease, " left");
                }
                put_escaped(f, s->owner->owner[0] ? s->owner->owner : "-");
                fprintf(f, "\n   Token: %" PRIu64 "\n   State: ", s->owner->token);
                put_escaped(f, s->owner->state);
                fprintf(f, "\n   Lease: %s", lease);
        } else {
                fputs("unknown (", f);
                put_escaped(f, s->owner_error ?: "no answer");
                fputs(")", f);
        }

        fputs("\n   Phase: ", f);
        if (s->unit) {
                put_phase(f, s->unit);
                fputs("\n  Active: ", f);
                put_active(f, s->unit);
        } else
                fputs("not supervised on this host", f);

        fputs("\n\nRecent owner changes:", f);
        if (s->n_history == 0)
                fputs(" no history in the journal", f);
        fputc('\n', f);
        for (size_t i = 0; i < s->n_history; i++) {
                time_t sec = (time_t) (s->history[i].realtime / USEC_PER_SEC);
                char when[64] = "-";
                struct tm tm;

                if (localtime_r(&sec, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                fprintf(f, "%s  ", when);
                put_escaped(f, s->history[i].message);
                fputc('\n', f);
        }

        if (fclose(f) != 0 || !buf)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Builds the object of this host's ListUnits row. */
static json_t *unit_to_json(const PesUnit *u) {
        json_t *token = json_uint64(u->token);

        if (!token)
                return NULL;
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}",
                         "unit", u->unit,
                         "triggers", u->triggers,
                         "phase", u->phase,
                         "refusal", u->refusal,
                         "active_state", u->active_state,
                         "sub_state", u->sub_state,
                         "holds", (int) u->here,
                         "token", token);
}

json_t *ctl_name_status_to_json(const CtlNameStatus *s) {
        _cleanup_(json_decrefp) json_t *o = NULL, *history = NULL, *here = NULL;

        assert(s);
        assert(s->name);

        if (s->owner)
                o = ctl_lookup_to_json(s->owner);
        else
                o = json_pack("{s:s, s:n, s:n, s:n, s:n}", "name", s->name, "owner", "token", "state",
                              "lease_remaining_usec");
        here = s->unit ? unit_to_json(s->unit) : json_null();
        history = json_array();
        if (!o || !here || !history)
                return NULL;

        for (size_t i = 0; i < s->n_history; i++) {
                json_t *t = json_uint64(s->history[i].realtime), *m, *e;

                /* The journal keeps bytes; a message that is not UTF-8 cannot be a JSON string. */
                m = json_string(s->history[i].message) ?: json_string("(not UTF-8)");
                if (!t || !m) {
                        json_decref(t);
                        json_decref(m);
                        return NULL;
                }
                /* json_pack() takes t and m over, also when it fails. */
                e = json_pack("{s:o, s:o}", "realtime_usec", t, "message", m);
                if (!e || json_array_append_new(history, e) < 0)
                        return NULL;
        }

        if (json_object_set_new(o, "here", TAKE_PTR(here)) < 0 ||
            json_object_set_new(o, "history", TAKE_PTR(history)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_t *ctl_holds_to_json(const char *name, bool holds) {
        assert(name);

        return json_pack("{s:s, s:b}", "name", name, "holds", (int) holds);
}
