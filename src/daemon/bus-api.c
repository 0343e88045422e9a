/* SPDX-License-Identifier: MIT */
/* The D-Bus API org.pes1.Manager at /org/pes1 (dbus/org.pes1.Manager.xml). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "basic/log.h"
#include "config.h"
#include "daemon/manager.h"
#include "daemon/supervise.h"

#define BUS_NAME "org.pes1"
#define BUS_PATH "/org/pes1"
#define BUS_INTERFACE "org.pes1.Manager"

#define ERROR_NO_SUCH_NAME "org.pes1.Error.NoSuchName"
#define ERROR_INVALID_NAME "org.pes1.Error.InvalidName"
#define ERROR_NOT_HELD "org.pes1.Error.NotHeld"
#define ERROR_ALREADY_WAITING "org.pes1.Error.AlreadyWaiting"
#define ERROR_STOPPING "org.pes1.Error.Stopping"

#define LOOKUP_LOCAL UINT64_C(1)

static void strv_freep(char ***p) {
        if (*p)
                for (char **i = *p; *i; i++)
                        free(*i);
        free(*p);
}

/* A name is a unit-like word: 1–255 printable bytes without '/' or spaces. */
static bool name_valid(const char *s) {
        size_t l;

        if (!s)
                return false;
        l = strlen(s);
        if (l == 0 || l > PES_NAME_MAX)
                return false;
        for (size_t i = 0; i < l; i++)
                if ((unsigned char) s[i] <= ' ' || s[i] == '/' || (unsigned char) s[i] >= 0x7f)
                        return false;
        return true;
}

static const char *state_string(const NameView *v) {
        if (v->holder == PES_HOST_NONE)
                return "free";
        switch (v->kind) {
        case VALUE_LEASE:
                return v->remaining_usec > 0 ? "held" : "expired";
        case VALUE_RESERVED:
                return v->remaining_usec > 0 ? "reserved" : "expired";
        case VALUE_FREE:
        default:
                return "free";
        }
}

/* The calling process must be root: the bus policy says so too, this is the second check. */
static int check_privileged(sd_bus_message *m, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        if (uid != 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Only root may acquire or release names.");
        return 0;
}

/* The caller must be root; reads its one argument, a valid name. Returns 0, or what
 * the method handler returns (an error is set). */
static int read_privileged_name(sd_bus_message *msg, sd_bus_error *error, const char **ret) {
        int r;

        r = check_privileged(msg, error);
        if (r != 0)
                return r;
        r = sd_bus_message_read(msg, "s", ret);
        if (r < 0)
                return r;
        if (!name_valid(*ret))
                return sd_bus_error_setf(error, ERROR_INVALID_NAME, "Invalid name '%s'.", *ret);
        return 0;
}

static int method_lookup(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        uint64_t flags;
        NameView v;
        int r;

        r = sd_bus_message_read(msg, "st", &name, &flags);
        if (r < 0)
                return r;
        if (!name_valid(name))
                return sd_bus_error_setf(error, ERROR_INVALID_NAME, "Invalid name '%s'.", name);
        if (flags & ~LOOKUP_LOCAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%llx.",
                                         (unsigned long long) flags);

        /* Every voter sees every ACCEPT, so the local table is a fast, possibly
         * stale view; the majority read is in manager_lookup_quorum(). */
        if (!(flags & LOOKUP_LOCAL))
                return manager_lookup_quorum(m, name, msg);

        if (!manager_name_view(m, name, &v))
                return sd_bus_error_setf(error, ERROR_NO_SUCH_NAME, "No such name '%s'.", name);
        return sd_bus_reply_method_return(msg, "stst", v.holder ? manager_host_name(m, v.holder) : "",
                                          v.token, state_string(&v), v.remaining_usec);
}

static int method_list_names(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        Acceptor *a = node_acceptor(m->node);
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sststb)");
        if (r < 0)
                return r;
        for (size_t i = 0; a && i < acceptor_n_entries(a); i++) {
                const AcceptorEntry *e = acceptor_entry(a, i);
                NameView v;

                if (!manager_name_view(m, e->name, &v))
                        continue;
                r = sd_bus_message_append(reply, "(sststb)", v.name,
                                          v.holder ? manager_host_name(m, v.holder) : "", v.token,
                                          state_string(&v), v.remaining_usec, v.held_here);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_nodes(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        uint64_t now = manager_now(m);
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sqssst)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < peers_count(m->peers); i++) {
                const Peer *p = peers_at(m->peers, i);
                char address[300];

                snprintf(address, sizeof address, "%s:%u", p->address, p->port);
                r = sd_bus_message_append(reply, "(sqssst)", p->name, p->id, address,
                                          peers_is_voter(m->peers, p->id) ? "voter" : "candidate",
                                          peer_state_to_string(p->state),
                                          p->id == m->self ? 0 : p->last_ok ? now - p->last_ok : UINT64_MAX);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_acquire(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r;

        r = read_privileged_name(msg, error, &name);
        if (r != 0)
                return r;
        if (m->stopping)
                return sd_bus_error_set(error, ERROR_STOPPING, "pesd is shutting down.");

        r = manager_acquire_for_client(m, name, msg);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, ERROR_ALREADY_WAITING,
                                         "This connection already holds or waits for '%s'.", name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Cannot acquire '%s': %m", name);
        return 1; /* answered once the name is held */
}

static int method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r;

        r = read_privileged_name(msg, error, &name);
        if (r != 0)
                return r;

        r = manager_release_for_client(m, name, sd_bus_message_get_sender(msg));
        if (r == -ENOENT)
                return sd_bus_error_setf(error, ERROR_NOT_HELD, "'%s' is not held or awaited on this node.", name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Cannot release '%s': %m", name);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_holds(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (!name_valid(name))
                return sd_bus_error_setf(error, ERROR_INVALID_NAME, "Invalid name '%s'.", name);
        /* DESIGN.md: true only while the tenure has begun, now < valid − S, and no
         * stop, release or handoff is pending. */
        return sd_bus_reply_method_return(msg, "b", node_holds(m->node, name, manager_now(m)));
}

static int method_supervise(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(strv_freep) char **settings = NULL;
        Manager *m = userdata;
        const char *unit;
        int disable, r;

        r = check_privileged(msg, error);
        if (r != 0)
                return r;
        r = sd_bus_message_read(msg, "s", &unit);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(msg, &settings);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "b", &disable);
        if (r < 0)
                return r;
        if (m->stopping)
                return sd_bus_error_set(error, ERROR_STOPPING, "pesd is shutting down.");
        return supervise_declare(m, unit, settings, disable, msg, error);
}

static int method_unsupervise(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *unit;
        int r;

        r = check_privileged(msg, error);
        if (r != 0)
                return r;
        r = sd_bus_message_read(msg, "s", &unit);
        if (r < 0)
                return r;
        r = supervise_undeclare(m, unit, error);
        if (r < 0 || sd_bus_error_is_set(error))
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_move(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *unit, *host;
        int r;

        r = check_privileged(msg, error);
        if (r != 0)
                return r;
        r = sd_bus_message_read(msg, "ss", &unit, &host);
        if (r < 0)
                return r;
        if (m->stopping)
                return sd_bus_error_set(error, ERROR_STOPPING, "pesd is shutting down.");
        return supervise_move(m, unit, host, msg, error);
}

static int method_list_units(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssssssbt)");
        if (r < 0)
                return r;
        for (Supervised *s = m->units; s; s = s->next) {
                r = sd_bus_message_append(reply, "(ssssssbt)", s->conf.unit, s->triggered ?: "",
                                          supervised_phase_to_string(s->phase), s->refusal ?: "",
                                          s->have_status ? unit_active_state_to_string(s->status.active) : "",
                                          s->have_status ? s->status.sub_state : "", s->held, s->held ? s->token : 0);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_node_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->config.node_name);
}

static int property_get_quorate(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", m->quorate);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PES_VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("NodeName", "s", property_get_node_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Quorate", "b", property_get_quorate, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Lookup", SD_BUS_ARGS("s", name, "t", flags),
                                SD_BUS_RESULT("s", owner, "t", token, "s", state, "t", lease_remaining_usec),
                                method_lookup, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNames", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sststb)", names),
                                method_list_names, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNodes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sqssst)", nodes),
                                method_list_nodes, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Acquire", SD_BUS_ARGS("s", name), SD_BUS_RESULT("t", token), method_acquire,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_release,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Holds", SD_BUS_ARGS("s", name), SD_BUS_RESULT("b", holds), method_holds,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListUnits", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssssssbt)", units), method_list_units,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Supervise", SD_BUS_ARGS("s", unit, "as", settings, "b", disable), SD_BUS_NO_RESULT,
                                method_supervise, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unsupervise", SD_BUS_ARGS("s", unit), SD_BUS_NO_RESULT, method_unsupervise,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Move", SD_BUS_ARGS("s", unit, "s", host), SD_BUS_NO_RESULT, method_move,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("OwnerChanged", SD_BUS_ARGS("s", name, "s", owner, "t", token), 0),
        SD_BUS_SIGNAL_WITH_ARGS("NodeChanged", SD_BUS_ARGS("s", node, "s", state), 0),
        SD_BUS_VTABLE_END,
};

/* A client that held or waited for names left the bus: its names are released. */
static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner);
        if (r < 0)
                return 0;
        if (name[0] == ':' && new_owner[0] == '\0')
                manager_client_gone(m, name);
        return 0;
}

int bus_api_setup(Manager *m) {
        int r;

        assert(m);

        r = sd_bus_default_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");

        /* The object first, then the name, then the loop (STYLE.md habit 8). */
        r = sd_bus_add_object_vtable(m->bus, NULL, BUS_PATH, BUS_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register %s: %m", BUS_PATH);
        r = sd_bus_match_signal(m->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch bus clients: %m");
        r = sd_bus_request_name(m->bus, BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Cannot own the bus name %s (is another pesd running?): %m", BUS_NAME);
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        return 0;
}

void bus_api_emit_owner_changed(Manager *m, const char *name, uint16_t owner, uint64_t token) {
        if (!m->bus)
                return;
        (void) sd_bus_emit_signal(m->bus, BUS_PATH, BUS_INTERFACE, "OwnerChanged", "sst", name,
                                  owner ? manager_host_name(m, owner) : "", token);
}

void bus_api_emit_node_changed(Manager *m, const char *node, const char *state) {
        if (!m->bus)
                return;
        (void) sd_bus_emit_signal(m->bus, BUS_PATH, BUS_INTERFACE, "NodeChanged", "ss", node, state);
}

void bus_api_emit_quorate_changed(Manager *m) {
        if (!m->bus)
                return;
        (void) sd_bus_emit_properties_changed(m->bus, BUS_PATH, BUS_INTERFACE, "Quorate", NULL);
}
