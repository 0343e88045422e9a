/* SPDX-License-Identifier: MIT */
/* An asynchronous sd-bus client of org.freedesktop.systemd1: start, stop and kill units, follow their jobs, watch their state. */
#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "systemd/systemd-client.h"
#include "systemd/unit-name.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define UNIT_IFACE "org.freedesktop.systemd1.Unit"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

/* A JobRemoved seen while a StartUnit()/StopUnit() reply was outstanding is kept
 * with that call until its reply names the job; this bounds how many. */
#define EARLY_JOBS_MAX 4096

typedef enum OpKind {
        OP_START,
        OP_STOP,
        OP_KILL,
        OP_PROCESSES,
        OP_INFO,
        OP_DISABLE,
        OP_RELOAD,
} OpKind;

typedef struct EarlyJob {
        char *path;
        char *result;
} EarlyJob;

/* One call of the API in flight, from its first request to its callback. */
typedef struct Op Op;
struct Op {
        SystemdClient *client;
        Op *prev, *next;
        OpKind kind;
        char *unit; /* NULL for a reload */
        sd_bus_slot *slot;

        /* Start and stop: while the job-creating call awaits its reply, every
         * JobRemoved is kept here, since the job may end before we learn its
         * path; once the path is known, JobRemoved is matched against it. */
        bool awaiting_job_reply;
        EarlyJob *early;
        size_t n_early;
        char *job_path;

        union {
                JobDoneFunc done;
                UnitInfoFunc info;
                UnitProcessesFunc processes;
        } cb;
        void *userdata;

        UnitInfo info;
        char *object_path;
};

/* A watch is reference counted, so that its callback may unwatch it. */
typedef struct Watch Watch;
struct Watch {
        unsigned n_ref;
        SystemdClient *client; /* NULL once unwatched */
        Watch *prev, *next;
        char *unit;
        char *object_path;
        sd_bus_slot *load_slot, *match_slot;
        sd_bus_slot *read_slots[2];
        unsigned n_reads;      /* GetAll() replies outstanding */
        bool read_failed;      /* one of them failed */
        bool reread_requested; /* properties were invalidated during a read */
        bool have_state;       /* the initial state was delivered */
        UnitStatus status;     /* as last read */
        UnitStatus delivered;  /* as last given to the callback */
        UnitChangedFunc cb;
        void *userdata;
};

/* The client is reference counted only so that a callback may free it while a
 * handler still loops over its lists: free marks it dead and drops its own
 * reference. */
struct SystemdClient {
        unsigned n_ref;
        bool dead;
        sd_bus *bus;
        sd_bus_slot *job_removed_slot, *subscribe_slot;
        int job_match_error;
        Op *ops;
        Watch *watches;
        JobAcceptedFunc job_accepted;
};

static const char *const active_state_table[_UNIT_ACTIVE_STATE_MAX] = {
        [UNIT_ACTIVE] = "active",
        [UNIT_RELOADING] = "reloading",
        [UNIT_INACTIVE] = "inactive",
        [UNIT_FAILED] = "failed",
        [UNIT_ACTIVATING] = "activating",
        [UNIT_DEACTIVATING] = "deactivating",
        [UNIT_MAINTENANCE] = "maintenance",
        [UNIT_REFRESHING] = "refreshing",
};

const char *unit_active_state_to_string(UnitActiveState s) {
        if (s < 0 || s >= _UNIT_ACTIVE_STATE_MAX)
                return NULL;
        return active_state_table[s];
}

UnitActiveState unit_active_state_from_string(const char *s) {
        if (!s)
                return _UNIT_ACTIVE_STATE_INVALID;
        for (UnitActiveState i = 0; i < _UNIT_ACTIVE_STATE_MAX; i++)
                if (strcmp(active_state_table[i], s) == 0)
                        return i;
        return _UNIT_ACTIVE_STATE_INVALID;
}

/* The interface that carries a unit type's own properties (Result=, MainPID=). */
static const char *unit_type_interface(UnitType t) {
        static const char *const table[_UNIT_TYPE_MAX] = {
                [UNIT_TYPE_SERVICE] = "org.freedesktop.systemd1.Service",
                [UNIT_TYPE_SOCKET] = "org.freedesktop.systemd1.Socket",
                [UNIT_TYPE_TARGET] = "org.freedesktop.systemd1.Target",
                [UNIT_TYPE_DEVICE] = "org.freedesktop.systemd1.Device",
                [UNIT_TYPE_MOUNT] = "org.freedesktop.systemd1.Mount",
                [UNIT_TYPE_AUTOMOUNT] = "org.freedesktop.systemd1.Automount",
                [UNIT_TYPE_SWAP] = "org.freedesktop.systemd1.Swap",
                [UNIT_TYPE_TIMER] = "org.freedesktop.systemd1.Timer",
                [UNIT_TYPE_PATH] = "org.freedesktop.systemd1.Path",
                [UNIT_TYPE_SLICE] = "org.freedesktop.systemd1.Slice",
                [UNIT_TYPE_SCOPE] = "org.freedesktop.systemd1.Scope",
        };
        assert(t >= 0 && t < _UNIT_TYPE_MAX);
        return table[t];
}

static void unit_status_init(UnitStatus *st) {
        *st = (UnitStatus) { .active = _UNIT_ACTIVE_STATE_INVALID };
}

static bool unit_status_equal(const UnitStatus *a, const UnitStatus *b) {
        return a->active == b->active && a->main_pid == b->main_pid &&
                strcmp(a->sub_state, b->sub_state) == 0 && strcmp(a->result, b->result) == 0;
}

static void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

static void copy_word(char *dst, size_t size, const char *src) {
        snprintf(dst, size, "%s", src);
}

static SystemdClient *client_ref(SystemdClient *c) {
        c->n_ref++;
        return c;
}

static void client_unref(SystemdClient *c) {
        assert(c->n_ref > 0);
        if (--c->n_ref == 0)
                free(c);
}

/* Ops. */

static Op *op_free(Op *op) {
        if (!op)
                return NULL;
        sd_bus_slot_unref(op->slot);
        for (size_t i = 0; i < op->n_early; i++) {
                free(op->early[i].path);
                free(op->early[i].result);
        }
        free(op->early);
        free(op->job_path);
        free(op->unit);
        free(op->object_path);
        strv_free(op->info.triggers);
        free(op);
        return NULL;
}

/* Takes op out of the client's list; the client is no longer responsible for it. */
static void op_detach(Op *op) {
        SystemdClient *c = op->client;

        if (op->prev)
                op->prev->next = op->next;
        else if (c->ops == op)
                c->ops = op->next;
        if (op->next)
                op->next->prev = op->prev;
        op->prev = op->next = NULL;
}

static int op_new(SystemdClient *c, OpKind kind, const char *unit, void *userdata, Op **ret) {
        Op *op;

        op = calloc(1, sizeof(Op));
        if (!op)
                return -ENOMEM;
        op->client = c;
        op->kind = kind;
        op->userdata = userdata;
        unit_status_init(&op->info.status);
        if (unit) {
                op->unit = strdup(unit);
                if (!op->unit) {
                        free(op);
                        return -ENOMEM;
                }
        }
        op->next = c->ops;
        if (c->ops)
                c->ops->prev = op;
        c->ops = op;
        *ret = op;
        return 0;
}

/* Drops an op whose first request could not be sent; no callback is called. */
static int op_abandon(Op *op, int r) {
        op_detach(op);
        op_free(op);
        return r;
}

/*
 * The end of a start, stop, kill, disable or reload: the op leaves the client
 * first, so that the callback may do anything with the client, then is freed.
 * job_result may point into the op (an early JobRemoved), hence the order.
 */
static void op_finish_job(Op *op, int error, const char *job_result) {
        SystemdClient *c = op->client;

        op_detach(op);
        if (op->cb.done)
                op->cb.done(c, op->unit, error, error < 0 ? NULL : job_result, op->userdata);
        op_free(op);
}

static void op_finish_info(Op *op, int error) {
        SystemdClient *c = op->client;

        op_detach(op);
        if (!op->info.triggers && error >= 0) {
                op->info.triggers = calloc(1, sizeof(char *));
                if (!op->info.triggers)
                        error = -ENOMEM;
        }
        if (op->cb.info)
                op->cb.info(c, op->unit, error, error < 0 ? NULL : &op->info, op->userdata);
        op_free(op);
}

static void op_finish_processes(Op *op, int error, size_t n) {
        SystemdClient *c = op->client;

        op_detach(op);
        if (op->cb.processes)
                op->cb.processes(c, op->unit, error, error < 0 ? 0 : n, op->userdata);
        op_free(op);
}

/* Reading properties. */

/* Reads a variant holding a string into buf, or skips a variant of another type. */
static int read_variant_word(sd_bus_message *m, char *buf, size_t size) {
        const char *contents, *s;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (type != 'v' || strcmp(contents, "s") != 0)
                return sd_bus_message_skip(m, "v");
        r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        copy_word(buf, size, s);
        return 0;
}

static int read_variant_u32(sd_bus_message *m, uint32_t *ret) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (type != 'v' || strcmp(contents, "u") != 0)
                return sd_bus_message_skip(m, "v");
        return sd_bus_message_read(m, "v", "u", ret);
}

static int read_variant_strv(sd_bus_message *m, char ***ret) {
        const char *contents;
        char type, **l = NULL;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (type != 'v' || strcmp(contents, "as") != 0)
                return sd_bus_message_skip(m, "v");
        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(m, &l);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0) {
                strv_free(l);
                return r;
        }
        strv_free(*ret);
        *ret = l;
        return 0;
}

/*
 * Reads an a{sv} of unit properties (from GetAll() or PropertiesChanged) into
 * st and, if given, info. Properties not named are skipped, and so are ones of
 * an unexpected type, so that a newer systemd cannot break the parse. Returns
 * 1 if a property this module tracks was present, 0 if none was.
 */
static int read_properties(sd_bus_message *m, UnitStatus *st, UnitInfo *info) {
        bool seen = false;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;

                if (strcmp(name, "ActiveState") == 0) {
                        char buf[32] = "";

                        r = read_variant_word(m, buf, sizeof(buf));
                        st->active = unit_active_state_from_string(buf);
                        seen = true;
                } else if (strcmp(name, "SubState") == 0) {
                        r = read_variant_word(m, st->sub_state, sizeof(st->sub_state));
                        seen = true;
                } else if (strcmp(name, "Result") == 0) {
                        r = read_variant_word(m, st->result, sizeof(st->result));
                        seen = true;
                } else if (strcmp(name, "MainPID") == 0) {
                        r = read_variant_u32(m, &st->main_pid);
                        seen = true;
                } else if (info && strcmp(name, "LoadState") == 0)
                        r = read_variant_word(m, info->load_state, sizeof(info->load_state));
                else if (info && strcmp(name, "UnitFileState") == 0)
                        r = read_variant_word(m, info->unit_file_state, sizeof(info->unit_file_state));
                else if (info && strcmp(name, "Triggers") == 0)
                        r = read_variant_strv(m, &info->triggers);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return seen;
}

/* Reads the object path from a LoadUnit() reply into *ret. */
static int read_object_path(sd_bus_message *reply, char **ret) {
        const char *path;
        char *p;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL))
                return -sd_bus_message_get_errno(reply);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        free(*ret);
        *ret = p;
        return 0;
}

static int reply_errno(sd_bus_message *reply) {
        int e;

        if (!sd_bus_message_is_method_error(reply, NULL))
                return 0;
        e = sd_bus_message_get_errno(reply);
        return e > 0 ? -e : -EIO;
}

static int call_manager(SystemdClient *c, Op *op, const char *member, sd_bus_message_handler_t handler,
                        const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, MANAGER_IFACE, member);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        op->slot = sd_bus_slot_unref(op->slot);
        return sd_bus_call_async(c->bus, &op->slot, m, handler, op, 0);
}

static int call_get_all(SystemdClient *c, sd_bus_slot **slot, const char *path, const char *iface,
                        sd_bus_message_handler_t handler, void *userdata) {
        *slot = sd_bus_slot_unref(*slot);
        return sd_bus_call_method_async(c->bus, slot, SYSTEMD_DEST, path, PROPERTIES_IFACE, "GetAll", handler,
                                        userdata, "s", iface);
}

/* Jobs. */

/* Keeps a JobRemoved with every start or stop whose reply has not come yet. */
static int stash_early_job(SystemdClient *c, const char *path, const char *result) {
        for (Op *op = c->ops; op; op = op->next) {
                EarlyJob *e;
                char *p, *res;

                if (!op->awaiting_job_reply || op->n_early >= EARLY_JOBS_MAX)
                        continue;
                e = realloc(op->early, (op->n_early + 1) * sizeof(EarlyJob));
                if (!e)
                        return -ENOMEM;
                op->early = e;
                p = strdup(path);
                res = strdup(result);
                if (!p || !res) {
                        free(p);
                        free(res);
                        return -ENOMEM;
                }
                op->early[op->n_early++] = (EarlyJob) { .path = p, .result = res };
        }
        return 0;
}

static Op *find_op_by_job(SystemdClient *c, const char *path) {
        for (Op *op = c->ops; op; op = op->next)
                if (op->job_path && strcmp(op->job_path, path) == 0)
                        return op;
        return NULL;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        Op *op;
        int r;

        r = sd_bus_message_read(m, "uoss", &id, &path, &unit, &result);
        if (r < 0)
                return 0;

        /* A failed allocation here loses one early JobRemoved; the job's reply
         * then waits for a JobRemoved that has passed, which the caller's own
         * deadline covers. Nothing better can be done without memory. */
        (void) stash_early_job(c, path, result);

        /* systemd merges a start into a pending start of the same unit and
         * returns the same job path to both callers, so several ops may wait
         * for this one job. */
        client_ref(c);
        while (!c->dead && (op = find_op_by_job(c, path)))
                op_finish_job(op, 0, result);
        client_unref(c);
        return 0;
}

static int on_job_match_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        Op *op, *next;
        int r;

        r = reply_errno(m);
        if (r >= 0)
                return 0;

        /* Without the match no job can be followed: fail those in flight, and
         * refuse new starts and stops from now on. */
        c->job_match_error = r;
        client_ref(c);
        for (op = c->ops; !c->dead && op; op = next) {
                next = op->next;
                if (op->kind == OP_START || op->kind == OP_STOP) {
                        op_finish_job(op, r, NULL);
                        /* The callback may have changed the list; start over. */
                        next = c->ops;
                }
        }
        client_unref(c);
        return 0;
}

static int on_job_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Op *op = userdata;
        const char *path;
        char *p;
        int r;

        op->awaiting_job_reply = false;
        r = reply_errno(reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r < 0) {
                op_finish_job(op, r, NULL);
                return 0;
        }

        for (size_t i = 0; i < op->n_early; i++)
                if (strcmp(op->early[i].path, path) == 0) {
                        op_finish_job(op, 0, op->early[i].result);
                        return 0;
                }

        p = strdup(path);
        if (!p) {
                op_finish_job(op, -ENOMEM, NULL);
                return 0;
        }
        op->job_path = p;
        for (size_t i = 0; i < op->n_early; i++) {
                free(op->early[i].path);
                free(op->early[i].result);
        }
        free(op->early);
        op->early = NULL;
        op->n_early = 0;
        /* The job is queued: the call is no longer pending on the bus. */
        if (op->client->job_accepted)
                op->client->job_accepted(op->client, op->unit, op->userdata);
        return 0;
}

void systemd_client_set_job_accepted(SystemdClient *c, JobAcceptedFunc f) {
        if (c)
                c->job_accepted = f;
}

static int send_job_call(Op *op) {
        SystemdClient *c = op->client;
        int r;

        if (c->job_match_error < 0)
                return c->job_match_error;
        r = call_manager(c, op, op->kind == OP_START ? "StartUnit" : "StopUnit", on_job_reply, "ss", op->unit,
                         "replace");
        if (r < 0)
                return r;
        op->awaiting_job_reply = true;
        return 0;
}

static int on_reset_failed_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Op *op = userdata;
        int r;

        /* Whatever ResetFailedUnit() answered, StartUnit() decides. */
        r = send_job_call(op);
        if (r < 0)
                op_finish_job(op, r, NULL);
        return 0;
}

static int check_args(SystemdClient *c, const char *unit) {
        if (!c || c->dead)
                return -EINVAL;
        if (!unit_name_is_valid(unit))
                return -EINVAL;
        return 0;
}

int systemd_client_start(SystemdClient *c, const char *unit, JobDoneFunc done, void *userdata) {
        Op *op;
        int r;

        r = check_args(c, unit);
        if (r < 0)
                return r;
        if (c->job_match_error < 0)
                return c->job_match_error;
        r = op_new(c, OP_START, unit, userdata, &op);
        if (r < 0)
                return r;
        op->cb.done = done;
        r = call_manager(c, op, "ResetFailedUnit", on_reset_failed_reply, "s", unit);
        if (r < 0)
                return op_abandon(op, r);
        return 0;
}

int systemd_client_stop(SystemdClient *c, const char *unit, JobDoneFunc done, void *userdata) {
        Op *op;
        int r;

        r = check_args(c, unit);
        if (r < 0)
                return r;
        r = op_new(c, OP_STOP, unit, userdata, &op);
        if (r < 0)
                return r;
        op->cb.done = done;
        r = send_job_call(op);
        if (r < 0)
                return op_abandon(op, r);
        return 0;
}

/* Calls whose reply is the whole outcome. */

static int on_done_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        op_finish_job(userdata, reply_errno(reply), "done");
        return 0;
}

int systemd_client_kill(SystemdClient *c, const char *unit, int signo, JobDoneFunc done, void *userdata) {
        Op *op;
        int r;

        r = check_args(c, unit);
        if (r < 0)
                return r;
        if (signo <= 0 || signo >= _NSIG)
                return -EINVAL;
        r = op_new(c, OP_KILL, unit, userdata, &op);
        if (r < 0)
                return r;
        op->cb.done = done;
        r = call_manager(c, op, "KillUnit", on_done_reply, "ssi", unit, "all", (int32_t) signo);
        if (r < 0)
                return op_abandon(op, r);
        return 0;
}

int systemd_client_reload(SystemdClient *c, JobDoneFunc done, void *userdata) {
        Op *op;
        int r;

        if (!c || c->dead)
                return -EINVAL;
        r = op_new(c, OP_RELOAD, NULL, userdata, &op);
        if (r < 0)
                return r;
        op->cb.done = done;
        r = call_manager(c, op, "Reload", on_done_reply, NULL);
        if (r < 0)
                return op_abandon(op, r);
        return 0;
}

static int on_disable_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Op *op = userdata;
        int r;

        /* The reply lists the symlinks removed; that they were is all we need. */
        r = reply_errno(reply);
        if (r >= 0)
                r = call_manager(op->client, op, "Reload", on_done_reply, NULL);
        if (r < 0)
                op_finish_job(op, r, NULL);
        return 0;
}

int systemd_client_disable(SystemdClient *c, const char *unit, JobDoneFunc done, void *userdata) {
        Op *op;
        int r;

        r = check_args(c, unit);
        if (r < 0)
                return r;
        r = op_new(c, OP_DISABLE, unit, userdata, &op);
        if (r < 0)
                return r;
        op->cb.done = done;
        r = call_manager(c, op, "DisableUnitFiles", on_disable_reply, "asb", 1, unit, 0);
        if (r < 0)
                return op_abandon(op, r);
        return 0;
}

static int on_processes_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Op *op = userdata;
        const char *path, *cmdline;
        uint32_t pid;
        size_t n = 0;
        int r;

        /* systemd answers NoSuchUnit for a unit it has not loaded; such a unit
         * has no control group, which is what "stopped" means. */
        if (sd_bus_message_is_method_error(reply, "org.freedesktop.systemd1.NoSuchUnit")) {
                op_finish_processes(op, 0, 0);
                return 0;
        }
        r = reply_errno(reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(sus)");
        while (r >= 0) {
                r = sd_bus_message_read(reply, "(sus)", &path, &pid, &cmdline);
                if (r <= 0)
                        break;
                n++;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        op_finish_processes(op, r < 0 ? r : 0, n);
        return 0;
}

int systemd_client_unit_processes(SystemdClient *c, const char *unit, UnitProcessesFunc cb, void *userdata) {
        Op *op;
        int r;

        r = check_args(c, unit);
        if (r < 0)
                return r;
        r = op_new(c, OP_PROCESSES, unit, userdata, &op);
        if (r < 0)
                return r;
        op->cb.processes = cb;
        r = call_manager(c, op, "GetUnitProcesses", on_processes_reply, "s", unit);
        if (r < 0)
                return op_abandon(op, r);
        return 0;
}

/* Unit info. */

static int on_info_type_props(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Op *op = userdata;
        int r;

        /* The type's properties (Result=, MainPID=) add to the Unit's; without
         * them the rest is still worth reporting. */
        r = reply_errno(reply);
        if (r >= 0)
                (void) read_properties(reply, &op->info.status, &op->info);
        op_finish_info(op, 0);
        return 0;
}

static int on_info_unit_props(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Op *op = userdata;
        int r;

        r = reply_errno(reply);
        if (r >= 0)
                r = read_properties(reply, &op->info.status, &op->info);
        if (r >= 0)
                r = call_get_all(op->client, &op->slot, op->object_path,
                                 unit_type_interface(unit_name_type(op->unit)), on_info_type_props, op);
        if (r < 0)
                op_finish_info(op, r);
        return 0;
}

static int on_info_loaded(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Op *op = userdata;
        int r;

        r = read_object_path(reply, &op->object_path);
        if (r >= 0)
                r = call_get_all(op->client, &op->slot, op->object_path, UNIT_IFACE, on_info_unit_props, op);
        if (r < 0)
                op_finish_info(op, r);
        return 0;
}

int systemd_client_unit_info(SystemdClient *c, const char *unit, UnitInfoFunc cb, void *userdata) {
        Op *op;
        int r;

        r = check_args(c, unit);
        if (r < 0)
                return r;
        r = op_new(c, OP_INFO, unit, userdata, &op);
        if (r < 0)
                return r;
        op->cb.info = cb;
        r = call_manager(c, op, "LoadUnit", on_info_loaded, "s", unit);
        if (r < 0)
                return op_abandon(op, r);
        return 0;
}

/* Watches. */

static Watch *watch_ref(Watch *w) {
        w->n_ref++;
        return w;
}

static void watch_unref(Watch *w) {
        assert(w->n_ref > 0);
        if (--w->n_ref > 0)
                return;
        free(w->unit);
        free(w->object_path);
        free(w);
}

/* Cancels everything the watch has in flight and takes it out of the client. */
static void watch_detach(Watch *w) {
        SystemdClient *c = w->client;

        if (!c)
                return;
        w->load_slot = sd_bus_slot_unref(w->load_slot);
        w->match_slot = sd_bus_slot_unref(w->match_slot);
        for (size_t i = 0; i < ELEMENTSOF(w->read_slots); i++)
                w->read_slots[i] = sd_bus_slot_unref(w->read_slots[i]);
        if (w->prev)
                w->prev->next = w->next;
        else if (c->watches == w)
                c->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->prev = w->next = NULL;
        w->client = NULL;
        watch_unref(w);
}

static Watch *find_watch(SystemdClient *c, const char *unit) {
        for (Watch *w = c->watches; w; w = w->next)
                if (strcmp(w->unit, unit) == 0)
                        return w;
        return NULL;
}

/* Calls the watch's callback with a copy of the state; the callback may unwatch. */
static void watch_deliver(Watch *w) {
        UnitStatus st = w->status;

        w->delivered = st;
        if (!w->cb || !w->client)
                return;
        watch_ref(w);
        w->cb(w->client, w->unit, &st, w->userdata);
        watch_unref(w);
}

static int watch_read(Watch *w);

/*
 * The end of one of a read's two GetAll() calls. Only the Unit interface's
 * answer is needed: without the type's, Result= and MainPID= stay as they
 * were, which beats reporting nothing.
 */
static int watch_read_done(Watch *w, unsigned idx, sd_bus_message *reply) {
        bool first;
        int r;

        w->read_slots[idx] = sd_bus_slot_unref(w->read_slots[idx]);
        r = reply_errno(reply);
        if (r >= 0)
                r = read_properties(reply, &w->status, NULL);
        if (r < 0 && idx == 0)
                w->read_failed = true;

        assert(w->n_reads > 0);
        if (--w->n_reads > 0)
                return 0;

        if (w->read_failed) {
                /* The state stays what it was; a later PropertiesChanged still
                 * reaches the caller. */
                w->read_failed = false;
                return 0;
        }
        if (w->reread_requested) {
                w->reread_requested = false;
                if (watch_read(w) >= 0)
                        return 0;
        }

        first = !w->have_state;
        w->have_state = true;
        if (first || !unit_status_equal(&w->delivered, &w->status))
                watch_deliver(w);
        return 0;
}

static int on_watch_unit_props(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        return watch_read_done(userdata, 0, reply);
}

static int on_watch_type_props(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        return watch_read_done(userdata, 1, reply);
}

/* Reads the unit's state with GetAll() of the Unit and the type interface. */
static int watch_read(Watch *w) {
        const char *ifaces[2] = { UNIT_IFACE, unit_type_interface(unit_name_type(w->unit)) };
        sd_bus_message_handler_t handlers[2] = { on_watch_unit_props, on_watch_type_props };
        int r;

        if (w->n_reads > 0) {
                w->reread_requested = true;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(ifaces); i++) {
                r = call_get_all(w->client, &w->read_slots[i], w->object_path, ifaces[i], handlers[i], w);
                if (r < 0) {
                        /* A read already sent still arrives and is counted. */
                        if (w->n_reads > 0)
                                w->read_failed = true;
                        return r;
                }
                w->n_reads++;
        }
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        const char *iface;
        char **invalidated = NULL;
        bool reread = false, unit_iface;
        int r;

        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0)
                return 0;
        unit_iface = strcmp(iface, UNIT_IFACE) == 0;
        if (!unit_iface && strcmp(iface, unit_type_interface(unit_name_type(w->unit))) != 0)
                return 0;

        r = read_properties(m, &w->status, NULL);
        if (r < 0)
                return 0;
        r = sd_bus_message_read_strv(m, &invalidated);
        if (r >= 0 && invalidated)
                for (char **i = invalidated; *i; i++)
                        if (strcmp(*i, "ActiveState") == 0 || strcmp(*i, "SubState") == 0 ||
                            strcmp(*i, "Result") == 0 || strcmp(*i, "MainPID") == 0)
                                reread = true;
        strv_free(invalidated);

        /* An invalidated property is sent without its value: read it. */
        if (reread && watch_read(w) >= 0)
                return 0;

        /* systemd announces a change of a unit with PropertiesChanged for the
         * type's interface (Result=, MainPID=) first and for the Unit interface
         * (ActiveState=, SubState=) last, both sent together; delivering on the
         * latter gives the caller one consistent state, never a failed unit
         * with the previous run's Result=. Before the initial state is
         * delivered, the GetAll() reply (which systemd sends after this
         * signal) carries the newer state anyway. */
        if (unit_iface && w->have_state && w->n_reads == 0 && !unit_status_equal(&w->delivered, &w->status))
                watch_deliver(w);
        return 0;
}

static int on_watch_match_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        /* A failed AddMatch leaves the watch without changes; the default
         * handler would close the whole connection instead. */
        return 0;
}

static int watch_start(Watch *w) {
        int r;

        /* The bus routes our messages in order, so the match is in place before
         * GetAll() reaches systemd: no change can fall between the two. */
        r = sd_bus_match_signal_async(w->client->bus, &w->match_slot, SYSTEMD_DEST, w->object_path,
                                      PROPERTIES_IFACE, "PropertiesChanged", on_properties_changed,
                                      on_watch_match_installed, w);
        if (r < 0)
                return r;
        return watch_read(w);
}

static int on_watch_loaded(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        int r;

        w->load_slot = sd_bus_slot_unref(w->load_slot);
        r = read_object_path(reply, &w->object_path);
        if (r < 0) {
                /* Without LoadUnit()'s answer the path is the one systemd derives
                 * from the name (correct unless the name is an alias). */
                r = sd_bus_path_encode(SYSTEMD_PATH "/unit", w->unit, &w->object_path);
                if (r < 0)
                        return 0;
        }
        (void) watch_start(w);
        return 0;
}

int systemd_client_watch(SystemdClient *c, const char *unit, UnitChangedFunc cb, void *userdata) {
        Watch *w;
        int r;

        r = check_args(c, unit);
        if (r < 0)
                return r;
        if (find_watch(c, unit))
                return -EEXIST;

        w = calloc(1, sizeof(Watch));
        if (!w)
                return -ENOMEM;
        w->n_ref = 1;
        w->client = c;
        w->cb = cb;
        w->userdata = userdata;
        unit_status_init(&w->status);
        w->unit = strdup(unit);
        if (!w->unit) {
                free(w);
                return -ENOMEM;
        }
        w->next = c->watches;
        if (c->watches)
                c->watches->prev = w;
        c->watches = w;

        r = sd_bus_call_method_async(c->bus, &w->load_slot, SYSTEMD_DEST, SYSTEMD_PATH, MANAGER_IFACE, "LoadUnit",
                                     on_watch_loaded, w, "s", unit);
        if (r < 0) {
                watch_detach(w);
                return r;
        }
        return 0;
}

int systemd_client_unwatch(SystemdClient *c, const char *unit) {
        Watch *w;
        int r;

        r = check_args(c, unit);
        if (r < 0)
                return r;
        w = find_watch(c, unit);
        if (!w)
                return -ENOENT;
        watch_detach(w);
        return 0;
}

int systemd_client_forget_unit(SystemdClient *c, const char *unit) {
        Op *op, *next;
        Watch *w;
        int r, n = 0;

        r = check_args(c, unit);
        if (r < 0)
                return r;
        for (op = c->ops; op; op = next) {
                next = op->next;
                if (op->unit && strcmp(op->unit, unit) == 0) {
                        op_detach(op);
                        op_free(op);
                        n++;
                }
        }
        w = find_watch(c, unit);
        if (w) {
                watch_detach(w);
                n++;
        }
        return n;
}

/* The client. */

static int on_subscribed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;

        /* An error here is "already subscribed" from a second client on the same
         * connection, or a systemd that sends signals without subscribers;
         * neither needs anything done. */
        c->subscribe_slot = sd_bus_slot_unref(c->subscribe_slot);
        return 0;
}

int systemd_client_new(sd_bus *bus, SystemdClient **ret) {
        SystemdClient *c;
        int r;

        if (!bus || !ret)
                return -EINVAL;

        c = calloc(1, sizeof(SystemdClient));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->bus = sd_bus_ref(bus);

        r = sd_bus_match_signal_async(bus, &c->job_removed_slot, SYSTEMD_DEST, SYSTEMD_PATH, MANAGER_IFACE,
                                      "JobRemoved", on_job_removed, on_job_match_installed, c);
        if (r >= 0)
                r = sd_bus_call_method_async(bus, &c->subscribe_slot, SYSTEMD_DEST, SYSTEMD_PATH, MANAGER_IFACE,
                                             "Subscribe", on_subscribed, c, NULL);
        if (r < 0) {
                systemd_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

SystemdClient *systemd_client_free(SystemdClient *c) {
        if (!c || c->dead)
                return NULL;
        c->dead = true;

        while (c->ops) {
                Op *op = c->ops;

                op_detach(op);
                op_free(op);
        }
        while (c->watches)
                watch_detach(c->watches);
        c->job_removed_slot = sd_bus_slot_unref(c->job_removed_slot);
        c->subscribe_slot = sd_bus_slot_unref(c->subscribe_slot);
        c->bus = sd_bus_unref(c->bus);
        client_unref(c);
        return NULL;
}
