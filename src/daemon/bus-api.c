/* SPDX-License-Identifier: MIT */
/* The D-Bus API org.pes1.Manager at /org/pes1 (dbus/org.pes1.Manager.xml). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "basic/log.h"
#include "config.h"
#include "core/quorum.h"
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
#define ERROR_NO_SUCH_HOST "org.pes1.Error.NoSuchHost"
#define ERROR_BUSY "org.pes1.Error.Busy"
#define ERROR_NO_QUORUM "org.pes1.Error.NoQuorum"
#define ERROR_UNREACHABLE "org.pes1.Error.Unreachable"
#define ERROR_ALREADY_MEMBER "org.pes1.Error.AlreadyMember"
#define ERROR_ALREADY_VOTER "org.pes1.Error.AlreadyVoter"
#define ERROR_NOT_VOTER "org.pes1.Error.NotVoter"
#define ERROR_NOT_ALLOWED "org.pes1.Error.NotAllowed"
#define ERROR_SUPERSEDED "org.pes1.Error.Superseded"
#define ERROR_KEY_REJECTED "org.pes1.Error.KeyRejected"

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
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may call %s.",
                                         sd_bus_message_get_member(m));
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

/* Name=, or the name of the cluster this host joined; "" for a one-node cluster without a config. */
static const char *cluster_name(const Manager *m) {
        return m->cluster_name ?: m->config.cluster_name ?: "";
}

/* The configuration this host enforces: the core's installed one once it runs. */
static const VoterConfig *installed_config(const Manager *m) {
        return m->node ? node_config(m->node) : &m->voters;
}

/*
 * A member's role in the installed configuration: "voter", "candidate", or while
 * a voter is added or removed (ACCEPT_WIDENED), "voter (joining)" or "voter
 * (leaving)" for the host changing: it accepts but is not asked to prepare.
 */
static const char *role_string(const VoterConfig *c, uint16_t id) {
        if (c->phase == CONFIG_ACCEPT_WIDENED && c->changing == id)
                return c->adding ? "voter (joining)" : "voter (leaving)";
        return voter_config_index(c, id) >= 0 ? "voter" : "candidate";
}

static int method_list_nodes(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        const VoterConfig *c = installed_config(m);
        uint64_t now = manager_now(m);
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sqssstt)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < peers_count(m->peers); i++) {
                const Peer *p = peers_at(m->peers, i);
                char address[300] = "";
                uint64_t contact, epoch;

                if (p->address && p->address[0])
                        snprintf(address, sizeof address, strchr(p->address, ':') ? "[%s]:%u" : "%s:%u",
                                 p->address, p->port);
                if (p->id == m->self) {
                        contact = 0;
                        epoch = c->epoch.n;
                } else {
                        uint64_t last = MAX(p->last_ok, p->last_contact);

                        contact = last ? now - last : UINT64_MAX;
                        epoch = p->epoch.n;
                }
                r = sd_bus_message_append(reply, "(sqssstt)", p->name, p->id, address, role_string(c, p->id),
                                          peer_state_to_string(p->state), contact, epoch);
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

/* The membership calls (DESIGN.md "Membership"), answered when the manager's operation ends. */
typedef enum MembershipOp {
        OP_JOIN,
        OP_LEAVE,
        OP_ADD_VOTER,
        OP_REMOVE_VOTER,
        OP_RESUME,
        OP_ROLLBACK,
        _OP_MAX,
} MembershipOp;

typedef struct MembershipCall {
        sd_bus_message *call;
        MembershipOp op;
        char *arg; /* the address (Join) or host name the caller gave, or NULL */
} MembershipCall;

static MembershipCall *membership_call_free(MembershipCall *c) {
        if (!c)
                return NULL;
        sd_bus_message_unref(c->call);
        free(c->arg);
        free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(MembershipCall *, membership_call_free);

/* The named error for an errno of a membership operation, or NULL for a generic one. */
static const char *membership_error_name(MembershipOp op, int err) {
        switch (err) {
        case EBUSY:
                return ERROR_BUSY;
        case EEXIST:
                return op == OP_ADD_VOTER ? ERROR_ALREADY_VOTER : ERROR_ALREADY_MEMBER;
        case ENOENT:
                return op == OP_REMOVE_VOTER ? ERROR_NOT_VOTER : ERROR_NO_SUCH_HOST;
        case EINVAL:
        case EPERM:
                return ERROR_NOT_ALLOWED;
        case ESTALE:
                return ERROR_SUPERSEDED;
        case ETIMEDOUT:
                return op == OP_JOIN ? ERROR_UNREACHABLE : ERROR_NO_QUORUM;
        case ECONNREFUSED:
        case ECONNRESET:
        case EHOSTUNREACH:
        case EHOSTDOWN:
        case ENETUNREACH:
                return ERROR_UNREACHABLE;
        case EACCES:
        case EKEYREJECTED:
                return op == OP_JOIN ? ERROR_KEY_REJECTED : ERROR_NOT_ALLOWED;
        case ECANCELED:
        case ESHUTDOWN:
                return ERROR_STOPPING;
        default:
                return NULL;
        }
}

/* What to say when the manager gave no message of its own. */
static int membership_default_message(MembershipOp op, const char *arg, int err, char **ret) {
        const char *a = arg && arg[0] ? arg : "this host";
        int r;

        switch (err) {
        case EBUSY:
                r = asprintf(ret, "A membership change is in flight already; 'pesctl voters' shows it.");
                break;
        case EEXIST:
                r = op == OP_ADD_VOTER ? asprintf(ret, "%s is a voter already.", a)
                                       : asprintf(ret, "This host is a member of a cluster with other hosts already.");
                break;
        case ENOENT:
                r = op == OP_REMOVE_VOTER ? asprintf(ret, "%s is not a voter.", a)
                                          : asprintf(ret, "%s is not a member of this cluster.", a);
                break;
        case EINVAL:
        case EPERM:
                switch (op) {
                case OP_RESUME:
                case OP_ROLLBACK:
                        r = asprintf(ret, "No voter change is in flight.");
                        break;
                case OP_LEAVE:
                        r = asprintf(ret, "%s is a voter: remove it as a voter first (pesctl voters remove %s).", a, a);
                        break;
                default:
                        r = asprintf(ret, "The voters cannot change that way: between 1 and %d voters, one at a time.",
                                     PES_VOTERS_MAX - 1);
                }
                break;
        case ESTALE:
                r = asprintf(ret, "Another host changed the voter configuration first; 'pesctl voters' shows it.");
                break;
        case ETIMEDOUT:
                r = op == OP_JOIN ? asprintf(ret, "The member at %s did not answer.", a)
                                  : asprintf(ret, "No quorum of the voters answered; 'pesctl voters resume' continues "
                                                  "the change.");
                break;
        case EACCES:
        case EKEYREJECTED:
                r = op == OP_JOIN ? asprintf(ret, "The member at %s refused this host's cluster key (KeyFile=).", a)
                                  : asprintf(ret, "Not allowed: %s.", strerror(err));
                break;
        case ECANCELED:
        case ESHUTDOWN:
                r = asprintf(ret, "pesd is shutting down.");
                break;
        default:
                if (op == OP_JOIN)
                        r = asprintf(ret, "Cannot join the cluster at %s: %s.", a, strerror(err));
                else
                        r = asprintf(ret, "%s.", strerror(err));
        }
        return r < 0 ? -ENOMEM : 0;
}

/* Sets error for errno err of op, with the manager's message if it gave one. */
static int membership_error(sd_bus_error *error, MembershipOp op, const char *arg, int err, const char *message) {
        _cleanup_free_ char *text = NULL;
        const char *name;

        assert(err > 0);

        if (!message || !message[0]) {
                if (membership_default_message(op, arg, err, &text) < 0)
                        return -ENOMEM;
                message = text;
        }
        name = membership_error_name(op, err);
        if (!name)
                return sd_bus_error_set_errnof(error, err, "%s", message);
        return sd_bus_error_set(error, name, message);
}

/* The manager's ManagerDoneFunc: answers the waiting call. */
static void membership_done(Manager *m, int error, uint16_t host, const char *message, void *userdata) {
        _cleanup_(membership_call_freep) MembershipCall *c = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        assert(c);

        /* A client that left the bus meanwhile is not told: the bus drops a reply to a
         * name that is gone, and the manager logs how the operation ended. */
        if (error < 0) {
                if (membership_error(&e, c->op, c->arg, -error, message) == -ENOMEM)
                        (void) sd_bus_error_set(&e, SD_BUS_ERROR_NO_MEMORY, NULL);
                (void) sd_bus_reply_method_error(c->call, &e);
        } else if (c->op == OP_JOIN)
                (void) sd_bus_reply_method_return(c->call, "q", host);
        else
                (void) sd_bus_reply_method_return(c->call, NULL);
}

/* Starts op for the call msg; arg is the address (Join) or the host name given. */
static int membership_start(Manager *m, sd_bus_message *msg, MembershipOp op, uint16_t host, const char *arg,
                            sd_bus_error *error) {
        _cleanup_(membership_call_freep) MembershipCall *c = NULL;
        _cleanup_free_ char *why = NULL;
        MembershipCall *started;
        int r;

        if (m->stopping)
                return sd_bus_error_set(error, ERROR_STOPPING, "pesd is shutting down.");

        c = calloc(1, sizeof(MembershipCall));
        if (!c)
                return -ENOMEM;
        c->call = sd_bus_message_ref(msg);
        c->op = op;
        if (arg) {
                c->arg = strdup(arg);
                if (!c->arg)
                        return -ENOMEM;
        }

        /* done may run before the manager returns: the call is the manager's from here. */
        started = c;
        switch (op) {
        case OP_JOIN:
                r = manager_join(m, arg, membership_done, started, &why);
                break;
        case OP_LEAVE:
                r = manager_leave(m, host, membership_done, started, &why);
                break;
        case OP_ADD_VOTER:
                r = manager_voter_change(m, CHANGE_ADD_VOTER, host, membership_done, started, &why);
                break;
        case OP_REMOVE_VOTER:
                r = manager_voter_change(m, CHANGE_REMOVE_VOTER, host, membership_done, started, &why);
                break;
        case OP_RESUME:
                r = manager_voter_change(m, CHANGE_RESUME, PES_HOST_NONE, membership_done, started, &why);
                break;
        case OP_ROLLBACK:
                r = manager_voter_change(m, CHANGE_ROLLBACK, PES_HOST_NONE, membership_done, started, &why);
                break;
        default:
                assert(false);
                return -EINVAL;
        }
        if (r < 0)
                return membership_error(error, op, c->arg, -r, why);
        TAKE_PTR(c);
        return 1; /* answered by membership_done() */
}

/*
 * A host named by a caller: a member of this cluster (NoSuchHost otherwise). ""
 * means this host where empty_is_self says so, and is refused elsewhere.
 */
static int resolve_host(Manager *m, const char *host, bool empty_is_self, uint16_t *ret, sd_bus_error *error) {
        uint16_t id;

        if (!host[0]) {
                if (!empty_is_self)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "A host name is needed.");
                *ret = m->self;
                return 0;
        }
        if (!name_valid(host))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid host name '%s'.", host);
        id = manager_host_id(m, host);
        if (id == PES_HOST_NONE)
                return sd_bus_error_setf(error, ERROR_NO_SUCH_HOST, "No host '%s' in this cluster.", host);
        *ret = id;
        return 0;
}

/* HOST:PORT, where HOST is a name or an IP literal ([v6] with its brackets) and PORT 1–65535. */
static bool address_port_valid(const char *s) {
        const char *colon = strrchr(s, ':');
        unsigned long port;
        char *end;

        if (!colon || colon == s || !name_valid(s) || strlen(s) > 300)
                return false;
        if (s[0] == '[' ? colon[-1] != ']' || colon - s < 3 : memchr(s, ':', (size_t) (colon - s)) != NULL)
                return false;
        if (colon[1] < '0' || colon[1] > '9')
                return false;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        return errno == 0 && *end == 0 && port >= 1 && port <= 65535;
}

static int method_join(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *address;
        int r;

        r = check_privileged(msg, error);
        if (r != 0)
                return r;
        r = sd_bus_message_read(msg, "s", &address);
        if (r < 0)
                return r;
        if (!address_port_valid(address))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid address '%s': give HOST:PORT of a member of the cluster.", address);
        return membership_start(m, msg, OP_JOIN, PES_HOST_NONE, address, error);
}

/* Leave, AddVoter, RemoveVoter: one host name ("" is this host for Leave only). */
static int host_method(sd_bus_message *msg, Manager *m, MembershipOp op, sd_bus_error *error) {
        const char *host;
        uint16_t id = PES_HOST_NONE;
        int r;

        r = check_privileged(msg, error);
        if (r != 0)
                return r;
        r = sd_bus_message_read(msg, "s", &host);
        if (r < 0)
                return r;
        r = resolve_host(m, host, op == OP_LEAVE, &id, error);
        if (r != 0)
                return r;
        return membership_start(m, msg, op, id, host[0] ? host : manager_host_name(m, id), error);
}

static int method_leave(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return host_method(msg, userdata, OP_LEAVE, error);
}

static int method_add_voter(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return host_method(msg, userdata, OP_ADD_VOTER, error);
}

static int method_remove_voter(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return host_method(msg, userdata, OP_REMOVE_VOTER, error);
}

static int method_resume_voter_change(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = check_privileged(msg, error);
        if (r != 0)
                return r;
        if (!voter_config_changing(installed_config(m)))
                return sd_bus_error_set(error, ERROR_NOT_ALLOWED, "No voter change is in flight: nothing to resume.");
        return membership_start(m, msg, OP_RESUME, PES_HOST_NONE, NULL, error);
}

static int method_rollback_voter_change(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const VoterConfig *c;
        int r;

        r = check_privileged(msg, error);
        if (r != 0)
                return r;
        c = installed_config(m);
        if (!voter_config_changing(c))
                return sd_bus_error_set(error, ERROR_NOT_ALLOWED, "No voter change is in flight: nothing to roll back.");
        /* Only the middle configuration has a way back: once the last step stands, the
         * voter set is the new one and only its rescan is missing. */
        if (c->phase == CONFIG_STABLE)
                return sd_bus_error_set(error, ERROR_NOT_ALLOWED,
                                        "The change's last step stands already; 'pesctl voters resume' finishes it.");
        return membership_start(m, msg, OP_ROLLBACK, PES_HOST_NONE, NULL, error);
}

/*
 * What the properties that announce their changes showed last. The voter
 * configuration changes inside the core (an epoch installed, a rescan marked);
 * after every loop turn the bus side compares and sends PropertiesChanged for
 * what moved. It lives as long as the bus: the slot of the NameOwnerChanged match
 * owns it.
 */
typedef struct BusWatch {
        Manager *m;
        sd_bus *bus;
        sd_event_source *post;
        uint64_t epoch;
        bool accept_widened;
        bool member;
        char voter_change[PES_NAME_MAX + 128];
        char *cluster_name;
        /* The middle configuration of the change in flight, as last seen: its last
         * step (STABLE, not yet rescanned) no longer says which host changed. */
        uint16_t widened_host;
        bool widened_adding;
} BusWatch;

/* The watch of pesd's one bus, while it lives (for the VoterChange getter). */
static BusWatch *bus_watch;

/*
 * The VoterChange property: "" when no voter change is in flight, else what it
 * is and how far it got, e.g. "adding h4 (step 1 of 2, rescan pending)". Each
 * step writes one configuration epoch, then its rescan writes the same
 * configuration marked rescanned; a change in flight whose driver is gone stays
 * until `pesctl voters resume` or `rollback` drives it on.
 */
static void voter_change_describe(const Manager *m, char *buf, size_t size) {
        const VoterConfig *c = installed_config(m);
        ConfigChangeKind kind = _CHANGE_KIND_MAX;
        uint16_t host = PES_HOST_NONE;
        bool driving = m->node && node_config_driving(m->node, &kind, &host);
        const char *here = driving ? "; driven by this host" : "";

        if (c->phase == CONFIG_ACCEPT_WIDENED) {
                snprintf(buf, size, "%s %s (step 1 of 2, %s%s)", c->adding ? "adding" : "removing",
                         manager_host_name(m, c->changing),
                         c->rescanned ? "rescanned; step 2 pending" : "rescan pending", here);
                return;
        }
        if (!c->rescanned) {
                /* STABLE but not rescanned: the last step of a change. Its driver knows which
                 * way it went, the others remember the middle step, if they saw it. */
                const BusWatch *w = bus_watch && bus_watch->m == m ? bus_watch : NULL;

                if (driving && (kind == CHANGE_ADD_VOTER || kind == CHANGE_REMOVE_VOTER) && host != PES_HOST_NONE)
                        snprintf(buf, size, "%s %s (step 2 of 2, rescan pending%s)",
                                 kind == CHANGE_ADD_VOTER ? "adding" : "removing", manager_host_name(m, host), here);
                else if (w && w->widened_host != PES_HOST_NONE &&
                         (voter_config_index(c, w->widened_host) >= 0) == w->widened_adding)
                        snprintf(buf, size, "%s %s (step 2 of 2, rescan pending%s)",
                                 w->widened_adding ? "adding" : "removing", manager_host_name(m, w->widened_host),
                                 here);
                else
                        snprintf(buf, size, "a voter change (step 2 of 2, rescan pending%s)", here);
                return;
        }
        /* STABLE and rescanned: a driver's first epoch is not chosen yet, or its last one
         * is, and the change is over but for the driver's own bookkeeping. */
        if (driving && (kind == CHANGE_ADD_VOTER || kind == CHANGE_REMOVE_VOTER) && host != PES_HOST_NONE &&
            (voter_config_index(c, host) >= 0) == (kind == CHANGE_REMOVE_VOTER)) {
                snprintf(buf, size, "%s %s (starting%s)", kind == CHANGE_ADD_VOTER ? "adding" : "removing",
                         manager_host_name(m, host), here);
                return;
        }
        buf[0] = 0;
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

static int property_get_cluster_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", cluster_name(m));
}

static int property_get_member(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", m->member);
}

static int property_get_config_epoch(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "t", installed_config(m)->epoch.n);
}

static int property_get_config_phase(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s",
                                     installed_config(m)->phase == CONFIG_ACCEPT_WIDENED ? "accept-widened" : "stable");
}

static int property_get_voter_change(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        char buf[PES_NAME_MAX + 128];

        voter_change_describe(m, buf, sizeof buf);
        return sd_bus_message_append(reply, "s", buf);
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
        SD_BUS_PROPERTY("ClusterName", "s", property_get_cluster_name, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Member", "b", property_get_member, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConfigEpoch", "t", property_get_config_epoch, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConfigPhase", "s", property_get_config_phase, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VoterChange", "s", property_get_voter_change, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Lookup", SD_BUS_ARGS("s", name, "t", flags),
                                SD_BUS_RESULT("s", owner, "t", token, "s", state, "t", lease_remaining_usec),
                                method_lookup, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNames", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sststb)", names),
                                method_list_names, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNodes", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sqssstt)", nodes),
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
        SD_BUS_METHOD_WITH_ARGS("Join", SD_BUS_ARGS("s", address), SD_BUS_RESULT("q", id), method_join,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Leave", SD_BUS_ARGS("s", host), SD_BUS_NO_RESULT, method_leave,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddVoter", SD_BUS_ARGS("s", host), SD_BUS_NO_RESULT, method_add_voter,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveVoter", SD_BUS_ARGS("s", host), SD_BUS_NO_RESULT, method_remove_voter,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResumeVoterChange", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_resume_voter_change,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RollbackVoterChange", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                                method_rollback_voter_change, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("OwnerChanged", SD_BUS_ARGS("s", name, "s", owner, "t", token), 0),
        SD_BUS_SIGNAL_WITH_ARGS("NodeChanged", SD_BUS_ARGS("s", node, "s", state), 0),
        SD_BUS_VTABLE_END,
};

/* Remembers the middle configuration of a change while it shows. */
static void bus_watch_note_config(BusWatch *w, const VoterConfig *c) {
        if (c->phase == CONFIG_ACCEPT_WIDENED) {
                w->widened_host = c->changing;
                w->widened_adding = c->adding;
        } else if (!voter_config_changing(c))
                w->widened_host = PES_HOST_NONE;
}

static void bus_watch_destroy(void *userdata) {
        BusWatch *w = userdata;

        if (!w)
                return;
        if (bus_watch == w)
                bus_watch = NULL;
        sd_event_source_disable_unref(w->post);
        free(w->cluster_name);
        free(w);
}

static int on_loop_turn(sd_event_source *s, void *userdata) {
        BusWatch *w = userdata;
        const VoterConfig *c;
        const char *changed[6];
        const char *cluster;
        char voter_change[sizeof w->voter_change];
        size_t n = 0;

        /* A closed bus belongs to a manager being freed. */
        if (sd_bus_is_open(w->bus) <= 0)
                return 0;

        c = installed_config(w->m);
        bus_watch_note_config(w, c);
        cluster = cluster_name(w->m);
        voter_change_describe(w->m, voter_change, sizeof voter_change);

        if (!w->cluster_name || strcmp(w->cluster_name, cluster) != 0) {
                char *copy = strdup(cluster);

                if (copy) {
                        free(w->cluster_name);
                        w->cluster_name = copy;
                        changed[n++] = "ClusterName";
                }
        }
        if (w->member != w->m->member) {
                w->member = w->m->member;
                changed[n++] = "Member";
        }
        if (w->epoch != c->epoch.n) {
                w->epoch = c->epoch.n;
                changed[n++] = "ConfigEpoch";
        }
        if (w->accept_widened != (c->phase == CONFIG_ACCEPT_WIDENED)) {
                w->accept_widened = c->phase == CONFIG_ACCEPT_WIDENED;
                changed[n++] = "ConfigPhase";
        }
        if (strcmp(w->voter_change, voter_change) != 0) {
                memcpy(w->voter_change, voter_change, sizeof voter_change);
                changed[n++] = "VoterChange";
        }
        if (n == 0)
                return 0;
        changed[n] = NULL;
        (void) sd_bus_emit_properties_changed_strv(w->bus, BUS_PATH, BUS_INTERFACE, (char **) changed);
        return 0;
}

/* A client that held or waited for names left the bus: its names are released. */
static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusWatch *w = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner);
        if (r < 0)
                return 0;
        if (name[0] == ':' && new_owner[0] == '\0')
                manager_client_gone(w->m, name);
        return 0;
}

/* Watches bus clients and the announced properties for as long as the bus lives. */
static int bus_watch_setup(Manager *m) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        BusWatch *w;
        int r;

        w = calloc(1, sizeof(BusWatch));
        if (!w)
                return -ENOMEM;
        w->m = m;
        w->bus = m->bus;
        w->epoch = installed_config(m)->epoch.n;
        w->member = m->member;
        w->accept_widened = installed_config(m)->phase == CONFIG_ACCEPT_WIDENED;
        bus_watch_note_config(w, installed_config(m));
        voter_change_describe(m, w->voter_change, sizeof w->voter_change);
        w->cluster_name = strdup(cluster_name(m));
        if (!w->cluster_name) {
                bus_watch_destroy(w);
                return -ENOMEM;
        }

        r = sd_bus_match_signal(m->bus, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, w);
        if (r < 0) {
                bus_watch_destroy(w);
                return r;
        }
        /* From here the slot owns w, and frees it with the bus. */
        r = sd_bus_slot_set_destroy_callback(slot, bus_watch_destroy);
        if (r < 0) {
                bus_watch_destroy(w);
                return r;
        }
        r = sd_bus_slot_set_floating(slot, 1);
        if (r < 0)
                return r;
        bus_watch = w;
        return sd_event_add_post(m->event, &w->post, on_loop_turn, w);
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
        r = bus_watch_setup(m);
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
