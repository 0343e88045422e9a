/* SPDX-License-Identifier: MIT */
/* Typed calls of pesd's D-Bus API (org.pes1 at /org/pes1, interface org.pes1.Manager) and the values they return. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "ctl/pes-api.h"

void pes_name_done(PesName *n) {
        if (!n)
                return;
        free(n->name);
        free(n->owner);
        free(n->state);
        *n = (PesName) {};
}

PesName *pes_names_free(PesName *names, size_t n) {
        for (size_t i = 0; names && i < n; i++)
                pes_name_done(&names[i]);
        free(names);
        return NULL;
}

static void pes_node_done(PesNode *n) {
        free(n->name);
        free(n->address);
        free(n->role);
        free(n->state);
        *n = (PesNode) {};
}

PesNode *pes_nodes_free(PesNode *nodes, size_t n) {
        for (size_t i = 0; nodes && i < n; i++)
                pes_node_done(&nodes[i]);
        free(nodes);
        return NULL;
}

static void pes_unit_done(PesUnit *u) {
        free(u->unit);
        free(u->triggers);
        free(u->phase);
        free(u->refusal);
        free(u->active_state);
        free(u->sub_state);
        *u = (PesUnit) {};
}

PesUnit *pes_units_free(PesUnit *units, size_t n) {
        for (size_t i = 0; units && i < n; i++)
                pes_unit_done(&units[i]);
        free(units);
        return NULL;
}

void pes_manager_done(PesManager *m) {
        if (!m)
                return;
        free(m->node_name);
        free(m->version);
        free(m->cluster_name);
        free(m->config_phase);
        free(m->voter_change);
        *m = (PesManager) {};
}

bool pes_name_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > PES_NAME_MAX)
                return false;
        for (const char *c = s; *c; c++)
                if (*c <= ' ' || *c > '~' || *c == '/')
                        return false;
        return true;
}

/* Copies the strings of a row; all or nothing. */
static int strdup_all(char **a, const char *sa, char **b, const char *sb, char **c, const char *sc) {
        *a = strdup(sa);
        *b = strdup(sb);
        *c = strdup(sc);
        if (*a && *b && *c)
                return 0;
        free(*a);
        free(*b);
        free(*c);
        *a = *b = *c = NULL;
        return -ENOMEM;
}

static int call(sd_bus *bus, const char *member, usec_t timeout, sd_bus_error *error,
                sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, PES_BUS_NAME, PES_BUS_PATH, PES_BUS_INTERFACE, member);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        r = sd_bus_call(bus, m, timeout, error, reply);
        return r < 0 ? r : 0;
}

int pes_get_manager(sd_bus *bus, PesManager *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(pes_manager_done) PesManager m = {};
        const char *key;
        int r;

        assert(bus);
        assert(ret);

        r = sd_bus_call_method(bus, PES_BUS_NAME, PES_BUS_PATH, "org.freedesktop.DBus.Properties",
                               "GetAll", error, &reply, "s", PES_BUS_INTERFACE);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                char **target = NULL;
                const char *s;
                int b;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;

                if (strcmp(key, "NodeName") == 0)
                        target = &m.node_name;
                else if (strcmp(key, "Version") == 0)
                        target = &m.version;
                else if (strcmp(key, "ClusterName") == 0)
                        target = &m.cluster_name;
                else if (strcmp(key, "ConfigPhase") == 0)
                        target = &m.config_phase;
                else if (strcmp(key, "VoterChange") == 0)
                        target = &m.voter_change;

                if (target) {
                        r = sd_bus_message_read(reply, "v", "s", &s);
                        if (r < 0)
                                return r;
                        free(*target);
                        *target = strdup(s);
                        if (!*target)
                                return -ENOMEM;
                } else if (strcmp(key, "Quorate") == 0) {
                        r = sd_bus_message_read(reply, "v", "b", &b);
                        if (r < 0)
                                return r;
                        m.quorate = b;
                } else if (strcmp(key, "Member") == 0) {
                        r = sd_bus_message_read(reply, "v", "b", &b);
                        if (r < 0)
                                return r;
                        m.has_member = true;
                        m.member = b;
                } else if (strcmp(key, "ConfigEpoch") == 0) {
                        r = sd_bus_message_read(reply, "v", "t", &m.config_epoch);
                        if (r < 0)
                                return r;
                } else {
                        /* Properties added after this client was written are skipped. */
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                return r;
                }

                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;

        if (!m.node_name || !m.version)
                return -EBADMSG;

        *ret = m;
        m = (PesManager) {};
        return 0;
}

int pes_lookup(sd_bus *bus, const char *name, uint64_t flags, PesName *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *owner, *state;
        uint64_t token, lease;
        PesName n = {};
        int r;

        assert(bus);
        assert(name);
        assert(ret);

        r = call(bus, "Lookup", 0, error, &reply, "st", name, flags);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "stst", &owner, &token, &state, &lease);
        if (r < 0)
                return r;

        n.token = token;
        n.lease_remaining = lease;
        r = strdup_all(&n.name, name, &n.owner, owner, &n.state, state);
        if (r < 0)
                return r;
        *ret = n;
        return 0;
}

int pes_list_names(sd_bus *bus, PesName **ret, size_t *ret_n, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PesName *names = NULL;
        size_t n = 0;
        int r;

        assert(bus);
        assert(ret);
        assert(ret_n);

        r = call(bus, "ListNames", 0, error, &reply, NULL);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(reply, 'a', "(sststb)");
        if (r < 0)
                return r;
        for (;;) {
                const char *name, *owner, *state;
                uint64_t token, lease;
                PesName *a;
                int here;

                r = sd_bus_message_read(reply, "(sststb)", &name, &owner, &token, &state, &lease, &here);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;

                a = reallocarray(names, n + 1, sizeof(PesName));
                if (!a) {
                        r = -ENOMEM;
                        goto fail;
                }
                names = a;
                names[n] = (PesName) { .token = token, .lease_remaining = lease, .here = here };
                r = strdup_all(&names[n].name, name, &names[n].owner, owner, &names[n].state, state);
                if (r < 0)
                        goto fail;
                n++;
        }

        *ret = names;
        *ret_n = n;
        return 0;

fail:
        pes_names_free(names, n);
        return r;
}

int pes_list_nodes(sd_bus *bus, PesNode **ret, size_t *ret_n, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PesNode *nodes = NULL;
        size_t n = 0;
        int r;

        assert(bus);
        assert(ret);
        assert(ret_n);

        r = call(bus, "ListNodes", 0, error, &reply, NULL);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(reply, 'a', "(sqssstt)");
        if (r < 0)
                return r;
        for (;;) {
                const char *name, *address, *role, *state;
                uint64_t since, epoch;
                uint16_t id;
                PesNode *a;

                r = sd_bus_message_read(reply, "(sqssstt)", &name, &id, &address, &role, &state, &since, &epoch);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;

                a = reallocarray(nodes, n + 1, sizeof(PesNode));
                if (!a) {
                        r = -ENOMEM;
                        goto fail;
                }
                nodes = a;
                nodes[n] = (PesNode) { .id = id, .since_contact = since, .epoch = epoch };
                nodes[n].name = strdup(name);
                if (!nodes[n].name) {
                        r = -ENOMEM;
                        goto fail;
                }
                /* Counted now, so that fail: frees the name copied above. */
                n++;
                r = strdup_all(&nodes[n - 1].address, address, &nodes[n - 1].role, role,
                               &nodes[n - 1].state, state);
                if (r < 0)
                        goto fail;
        }

        *ret = nodes;
        *ret_n = n;
        return 0;

fail:
        pes_nodes_free(nodes, n);
        return r;
}

int pes_release(sd_bus *bus, const char *name, sd_bus_error *error) {
        assert(bus);
        assert(name);

        return call(bus, "Release", 0, error, NULL, "s", name);
}

int pes_new_acquire(sd_bus *bus, const char *name, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        assert(bus);
        assert(name);
        assert(ret);

        r = sd_bus_message_new_method_call(bus, &m, PES_BUS_NAME, PES_BUS_PATH, PES_BUS_INTERFACE, "Acquire");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int pes_read_acquire_reply(sd_bus_message *reply, uint64_t *ret_token) {
        assert(reply);
        assert(ret_token);

        return sd_bus_message_read(reply, "t", ret_token);
}

int pes_read_owner_changed(sd_bus_message *m, const char **ret_name, const char **ret_owner,
                           uint64_t *ret_token) {
        assert(m);

        return sd_bus_message_read(m, "sst", ret_name, ret_owner, ret_token);
}

int pes_list_units(sd_bus *bus, PesUnit **ret, size_t *ret_n, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PesUnit *units = NULL;
        size_t n = 0;
        int r;

        assert(bus);
        assert(ret);
        assert(ret_n);

        r = call(bus, "ListUnits", 0, error, &reply, NULL);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(reply, 'a', "(ssssssbt)");
        if (r < 0)
                return r;
        for (;;) {
                const char *unit, *triggers, *phase, *refusal, *active, *sub;
                uint64_t token;
                PesUnit *a;
                int here;

                r = sd_bus_message_read(reply, "(ssssssbt)", &unit, &triggers, &phase, &refusal, &active, &sub,
                                        &here, &token);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;

                a = reallocarray(units, n + 1, sizeof(PesUnit));
                if (!a) {
                        r = -ENOMEM;
                        goto fail;
                }
                units = a;
                units[n] = (PesUnit) { .here = here, .token = token };
                /* Counted now, so that fail: frees whatever was copied. */
                n++;
                r = strdup_all(&units[n - 1].unit, unit, &units[n - 1].triggers, triggers,
                               &units[n - 1].phase, phase);
                if (r >= 0)
                        r = strdup_all(&units[n - 1].refusal, refusal, &units[n - 1].active_state, active,
                                       &units[n - 1].sub_state, sub);
                if (r < 0)
                        goto fail;
        }

        *ret = units;
        *ret_n = n;
        return 0;

fail:
        pes_units_free(units, n);
        return r;
}

int pes_supervise(sd_bus *bus, const char *unit, char *const *settings, bool disable, usec_t timeout,
                  sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        assert(bus);
        assert(unit);

        r = sd_bus_message_new_method_call(bus, &m, PES_BUS_NAME, PES_BUS_PATH, PES_BUS_INTERFACE, "Supervise");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", unit);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, (char **) settings);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "b", (int) disable);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, timeout, error, NULL);
        return r < 0 ? r : 0;
}

int pes_unsupervise(sd_bus *bus, const char *unit, sd_bus_error *error) {
        assert(bus);
        assert(unit);

        return call(bus, "Unsupervise", 0, error, NULL, "s", unit);
}

int pes_holds(sd_bus *bus, const char *name, usec_t timeout, bool *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r, b;

        assert(bus);
        assert(name);
        assert(ret);

        r = call(bus, "Holds", timeout, error, &reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "b", &b);
        if (r < 0)
                return r;
        *ret = b;
        return 0;
}

int pes_move(sd_bus *bus, const char *unit, const char *host, usec_t timeout, sd_bus_error *error) {
        assert(bus);
        assert(unit);
        assert(host);

        return call(bus, "Move", timeout, error, NULL, "ss", unit, host);
}

bool pes_address_is_valid(const char *s) {
        const char *colon;
        unsigned long port;
        char *end;

        if (!pes_name_is_valid(s) || strlen(s) > 300)
                return false;
        colon = strrchr(s, ':');
        if (!colon || colon == s)
                return false;
        /* An IPv6 literal is bracketed; anything else has one colon only. */
        if (s[0] == '[' ? colon[-1] != ']' || colon - s < 3 : memchr(s, ':', (size_t) (colon - s)) != NULL)
                return false;
        if (colon[1] < '0' || colon[1] > '9')
                return false;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        return errno == 0 && *end == 0 && port >= 1 && port <= 65535;
}

bool pes_role_is_voter(const char *role) {
        return role && strncmp(role, "voter", 5) == 0 && (role[5] == 0 || role[5] == ' ');
}

/* A membership call in flight: its reply, once there. */
typedef struct LongCall {
        sd_bus_message *reply;
        const PesWatch *watch;
        bool started; /* VoterChange said this host drives a change */
} LongCall;

static int on_long_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        LongCall *c = userdata;

        c->reply = sd_bus_message_ref(m);
        return 0;
}

/* PropertiesChanged of org.pes1.Manager: tells the watch a new VoterChange. */
static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        LongCall *c = userdata;
        const char *interface, *key, *value;
        int r;

        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0 || strcmp(interface, PES_BUS_INTERFACE) != 0)
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &key) < 0)
                        return 0;
                if (strcmp(key, "VoterChange") == 0) {
                        if (sd_bus_message_read(m, "v", "s", &value) < 0)
                                return 0;
                        if (c->watch->voter_change)
                                c->watch->voter_change(value, c->watch->userdata);
                        /* Another host's change shows here too: only one driven here is ours. */
                        if (strstr(value, PES_DRIVEN_HERE))
                                c->started = true;
                } else if (sd_bus_message_skip(m, "v") < 0)
                        return 0;
                if (sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        return 0;
}

/* OwnerChanged: a name with no owner any more is one this host let go. */
static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        LongCall *c = userdata;
        const char *name, *owner;
        uint64_t token;

        if (pes_read_owner_changed(m, &name, &owner, &token) < 0)
                return 0;
        if (!owner[0])
                c->watch->released(name, c->watch->userdata);
        return 0;
}

/*
 * Calls member and waits for its reply, telling the watch what it hears
 * meanwhile. Returns 0 with *ret_reply set, 1 when the change started and the
 * watch asked to return then, or -errno with error set.
 */
static int long_call(sd_bus *bus, const char *member, usec_t timeout, const PesWatch *watch, sd_bus_error *error,
                     sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *properties = NULL, *owners = NULL, *pending = NULL;
        LongCall c = { .watch = watch };
        usec_t start = now(CLOCK_MONOTONIC);
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, PES_BUS_NAME, PES_BUS_PATH, PES_BUS_INTERFACE, member);
        if (r < 0)
                return sd_bus_error_set_errno(error, r);
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return sd_bus_error_set_errno(error, r);
        }

        /* The matches first, so that nothing between the call and its reply is missed. */
        if (watch && (watch->voter_change || watch->return_once_started)) {
                r = sd_bus_match_signal(bus, &properties, PES_BUS_NAME, PES_BUS_PATH,
                                        "org.freedesktop.DBus.Properties", "PropertiesChanged", on_properties_changed,
                                        &c);
                if (r < 0)
                        return sd_bus_error_set_errno(error, r);
        }
        if (watch && watch->released) {
                r = sd_bus_match_signal(bus, &owners, PES_BUS_NAME, PES_BUS_PATH, PES_BUS_INTERFACE, "OwnerChanged",
                                        on_owner_changed, &c);
                if (r < 0)
                        return sd_bus_error_set_errno(error, r);
        }
        r = sd_bus_call_async(bus, &pending, m, on_long_reply, &c, timeout);
        if (r < 0)
                return sd_bus_error_set_errno(error, r);

        while (!c.reply) {
                if (c.started && watch && watch->return_once_started)
                        return 1;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return sd_bus_error_set_errno(error, r);
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return sd_bus_error_set_errno(error, r);
        }

        if (sd_bus_message_is_method_error(c.reply, NULL)) {
                r = sd_bus_error_copy(error, sd_bus_message_get_error(c.reply));
                sd_bus_message_unref(c.reply);
                /* NoReply is both sd-bus's own timeout and the bus telling that pesd
                 * left without answering: only the clock tells them apart. */
                if (sd_bus_error_has_name(error, SD_BUS_ERROR_NO_REPLY))
                        return timeout > 0 && now(CLOCK_MONOTONIC) - start >= timeout ? -ETIMEDOUT : -ECONNRESET;
                return r < 0 ? r : -EIO;
        }
        *ret_reply = c.reply;
        return 0;
}

int pes_join(sd_bus *bus, const char *address, usec_t timeout, const PesWatch *watch, uint16_t *ret_id,
             sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        assert(bus);
        assert(address);
        assert(ret_id);

        r = long_call(bus, "Join", timeout, watch, error, &reply, "s", address);
        if (r != 0)
                return r < 0 ? r : -EINPROGRESS;
        return sd_bus_message_read(reply, "q", ret_id) < 0 ? -EBADMSG : 0;
}

static int long_call_host(sd_bus *bus, const char *member, const char *host, usec_t timeout,
                          const PesWatch *watch, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        assert(bus);

        if (host)
                return long_call(bus, member, timeout, watch, error, &reply, "s", host);
        return long_call(bus, member, timeout, watch, error, &reply, NULL);
}

int pes_leave(sd_bus *bus, const char *host, usec_t timeout, const PesWatch *watch, sd_bus_error *error) {
        return long_call_host(bus, "Leave", host ?: "", timeout, watch, error);
}

int pes_add_voter(sd_bus *bus, const char *host, usec_t timeout, const PesWatch *watch, sd_bus_error *error) {
        assert(host);
        return long_call_host(bus, "AddVoter", host, timeout, watch, error);
}

int pes_remove_voter(sd_bus *bus, const char *host, usec_t timeout, const PesWatch *watch, sd_bus_error *error) {
        assert(host);
        return long_call_host(bus, "RemoveVoter", host, timeout, watch, error);
}

int pes_resume_voter_change(sd_bus *bus, usec_t timeout, const PesWatch *watch, sd_bus_error *error) {
        return long_call_host(bus, "ResumeVoterChange", NULL, timeout, watch, error);
}

int pes_rollback_voter_change(sd_bus *bus, usec_t timeout, const PesWatch *watch, sd_bus_error *error) {
        return long_call_host(bus, "RollbackVoterChange", NULL, timeout, watch, error);
}
