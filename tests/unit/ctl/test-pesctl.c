/* SPDX-License-Identifier: MIT */
/* Tests of the pesctl binary against a fake org.pes1 service on a private dbus-daemon: output, errors, exit statuses, acquire, units, membership. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/macro.h"
#include "basic/time-util.h"

/* Every wait of these tests ends at a deadline, never after a guessed sleep. */
#define RUN_DEADLINE_USEC (20 * USEC_PER_SEC)
#define BUS_START_DEADLINE_USEC (10 * USEC_PER_SEC)
#define FIRST_TOKEN UINT64_C(65541)

static const char *pesctl_path;
static const char *pes_supervise_path;
/* The bus pesctl is pointed at, when not the fake's. */
static const char *bus_address_override;

/* The fake pesd: answers from fixed tables and records what it was asked. */
typedef struct Fake {
        char dir[64];
        char address[512];
        pid_t daemon_pid;
        sd_event *event;
        sd_bus *bus;

        uint64_t lookup_flags;
        unsigned lookups;
        unsigned acquires;
        unsigned releases;
        bool held;
        char held_name[256];
        uint64_t next_token;
        uint64_t token;

        unsigned holds_calls;
        sd_bus_message *unanswered; /* a Holds call the fake keeps waiting */
        unsigned supervises;
        char supervised[256];
        char settings[1024]; /* the settings of the last Supervise, joined with '|' */
        bool disable;
        unsigned unsupervises;
        unsigned moves;
        char moved_to[256];

        unsigned joins, leaves, voter_calls;
        char left[256];        /* the host of the last Leave */
        char voter_call[300];  /* the last voter change: "AddVoter delta", "ResumeVoterChange" */
        char cluster_name[64];
        bool left_cluster;
        uint64_t config_epoch;
        char config_phase[32];
        char voter_change[256];
        sd_bus_message *voter_pending; /* an AddVoter answered once its steps are through */
        sd_event_source *voter_timer;
        unsigned voter_step;
} Fake;

static Fake fake;

static int method_lookup(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *name;
        uint64_t flags;
        int r;

        r = sd_bus_message_read(m, "st", &name, &flags);
        if (r < 0)
                return r;
        f->lookups++;
        f->lookup_flags = flags;

        if (strcmp(name, "report.service") == 0)
                return sd_bus_reply_method_return(m, "stst", "alpha", UINT64_C(65537), "held",
                                                  2500 * USEC_PER_MSEC);
        if (strcmp(name, "spare") == 0)
                return sd_bus_reply_method_return(m, "stst", "", UINT64_C(0), "free", UINT64_C(0));
        return sd_bus_error_setf(error, "org.pes1.Error.NoSuchName", "No name '%s' here.", name);
}

static int method_list_names(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "a(sststb)", 2,
                                  "billing.timer", "beta", UINT64_C(131074), "held", 2794 * USEC_PER_MSEC, 0,
                                  "report.service", "alpha", UINT64_C(65537), "held", 2500 * USEC_PER_MSEC, 1);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_nodes(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "a(sqssstt)", 5,
                                  "alpha", (uint16_t) 1, "10.0.0.1:7400", "voter", "self", UINT64_C(0), UINT64_C(7),
                                  "beta", (uint16_t) 2, "10.0.0.2:7400", "voter", "alive", 250 * USEC_PER_MSEC,
                                  UINT64_C(7),
                                  "gamma", (uint16_t) 3, "10.0.0.3:7400", "voter", "dead", USEC_INFINITY, UINT64_C(0),
                                  "delta", (uint16_t) 4, "10.0.0.4:7400", "voter (joining)", "alive",
                                  1500 * USEC_PER_MSEC, UINT64_C(6),
                                  "eta", (uint16_t) 6, "", "candidate", "unknown", USEC_INFINITY, UINT64_C(0));
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int emit_owner_changed(const char *name, const char *owner, uint64_t token) {
        return sd_bus_emit_signal(fake.bus, "/org/pes1", "org.pes1.Manager", "OwnerChanged", "sst",
                                  name, owner, token);
}

static int method_acquire(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (strcmp(name, "forbidden") == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Access denied");

        f->acquires++;
        f->held = true;
        snprintf(f->held_name, sizeof(f->held_name), "%s", name);
        f->token = f->next_token++;

        /* The history a client can see just before its own Acquire returns: the
         * previous holder letting go, then its own tenure. Neither is a loss. */
        r = emit_owner_changed(name, "", 0);
        if (r >= 0)
                r = emit_owner_changed(name, "alpha", f->token);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "t", f->token);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (strcmp(name, "forbidden") == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Access denied");

        f->releases++;
        f->held = false;
        return sd_bus_reply_method_return(m, NULL);
}

static void strv_freep(char ***l) {
        for (char **s = *l; s && *s; s++)
                free(*s);
        free(*l);
}

static int method_holds(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        f->holds_calls++;

        if (strcmp(name, "hung.service") == 0) {
                /* Never answered: pesctl holds must give up by itself. */
                sd_bus_message_unref(f->unanswered);
                f->unanswered = sd_bus_message_ref(m);
                return 1;
        }
        if (strcmp(name, "nope") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.NoSuchName", "No name '%s' here.", name);
        return sd_bus_reply_method_return(m, "b", strcmp(name, "report.service") == 0);
}

static int method_list_units(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "a(ssssssbt)", 3,
                                  "billing.timer", "billing.service", "idle", "", "inactive", "dead", 0, UINT64_C(0),
                                  "report.service", "", "running", "", "active", "running", 1, UINT64_C(65537),
                                  "web.service", "", "refused",
                                  "enabled to start at boot; run 'systemctl disable web.service', or supervise it with --disable",
                                  "", "", 0, UINT64_C(0));
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_supervise(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(strv_freep) char **settings = NULL;
        Fake *f = userdata;
        const char *unit;
        size_t len = 0;
        int r, disable;

        r = sd_bus_message_read(m, "s", &unit);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &settings);
        if (r >= 0)
                r = sd_bus_message_read(m, "b", &disable);
        if (r < 0)
                return r;

        if (strcmp(unit, "missing.service") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.CannotSupervise",
                                         "Cannot supervise %s: no such unit on this host", unit);
        if (strcmp(unit, "enabled.service") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.CannotSupervise",
                                         "Cannot supervise %s: enabled to start at boot (systemd would start it on "
                                         "every host); run 'systemctl disable %s', or supervise it with --disable",
                                         unit, unit);
        if (strcmp(unit, "report.service") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.AlreadySupervised", "%s is supervised already.", unit);

        f->supervises++;
        snprintf(f->supervised, sizeof(f->supervised), "%s", unit);
        f->settings[0] = 0;
        for (char **kv = settings; kv && *kv; kv++)
                len += (size_t) snprintf(f->settings + len, sizeof(f->settings) - len, "%s%s",
                                         kv == settings ? "" : "|", *kv);
        f->disable = disable;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_unsupervise(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *unit;
        int r;

        r = sd_bus_message_read(m, "s", &unit);
        if (r < 0)
                return r;
        if (strcmp(unit, "declared.service") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.DeclaredInFile",
                                         "%s is declared in /etc/pes/units.d/%s.conf; remove that file and restart pesd.",
                                         unit, unit);
        if (strcmp(unit, "report.service") != 0)
                return sd_bus_error_setf(error, "org.pes1.Error.NoSuchName", "%s is not supervised here.", unit);
        f->unsupervises++;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_move(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *unit, *host;
        int r;

        r = sd_bus_message_read(m, "ss", &unit, &host);
        if (r < 0)
                return r;
        f->moves++;
        if (strcmp(unit, "billing.timer") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.NotOwner",
                                         "This host does not hold %s; run the move on beta, its owner.", unit);
        if (strcmp(host, "gamma") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.Unreachable", "gamma is not reachable (dead).");
        if (strcmp(host, "omega") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.NoSuchHost", "No host 'omega' in this cluster.");
        if (strcmp(host, "delta") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.NotEligible",
                                         "delta is not eligible for %s (Hosts=, Prefer=).", unit);
        if (strcmp(host, "epsilon") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.MoveFailed",
                                         "epsilon did not take %s over in time; the reservation lapses and election resumes.",
                                         unit);
        if (strcmp(host, "zeta") == 0)
                /* An error pesd might add later, without a message: the name is all there is. */
                return sd_bus_error_set(error, "org.pes1.Error.Busy", NULL);
        snprintf(f->moved_to, sizeof(f->moved_to), "%s", host);
        return sd_bus_reply_method_return(m, NULL);
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;

        if (strcmp(property, "NodeName") == 0)
                return sd_bus_message_append(reply, "s", "alpha");
        if (strcmp(property, "Version") == 0)
                return sd_bus_message_append(reply, "s", "0.1.0-fake");
        if (strcmp(property, "ClusterName") == 0)
                return sd_bus_message_append(reply, "s", f->cluster_name);
        if (strcmp(property, "ConfigEpoch") == 0)
                return sd_bus_message_append(reply, "t", f->config_epoch);
        if (strcmp(property, "ConfigPhase") == 0)
                return sd_bus_message_append(reply, "s", f->config_phase);
        if (strcmp(property, "VoterChange") == 0)
                return sd_bus_message_append(reply, "s", f->voter_change);
        if (strcmp(property, "Member") == 0)
                return sd_bus_message_append(reply, "b", !f->left_cluster);
        return sd_bus_message_append(reply, "b", 1);
}

static int method_join(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *address;
        int r;

        r = sd_bus_message_read(m, "s", &address);
        if (r < 0)
                return r;
        f->joins++;
        if (strcmp(address, "10.0.0.8:7480") == 0)
                return sd_bus_error_setf(error, "org.pes1.Error.KeyRejected",
                                         "The member at %s refused this host's cluster key (KeyFile=).", address);
        if (strcmp(address, "10.0.0.7:7480") == 0)
                return sd_bus_error_set(error, "org.pes1.Error.AlreadyMember", NULL);
        if (strcmp(address, "10.0.0.6:7480") == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_IO_ERROR,
                                         "Cannot join the cluster at %s: Failed to connect to 10.0.0.6 port 7480.",
                                         address);
        snprintf(f->cluster_name, sizeof(f->cluster_name), "prod");
        return sd_bus_reply_method_return(m, "q", (uint16_t) 9);
}

static int method_leave(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *host;
        int r;

        r = sd_bus_message_read(m, "s", &host);
        if (r < 0)
                return r;
        f->leaves++;
        snprintf(f->left, sizeof(f->left), "%s", host);
        if (!host[0]) {
                /* This host's names go first: its tenure ends, another host's begins. */
                r = emit_owner_changed("report.service", "", 0);
                if (r >= 0)
                        r = emit_owner_changed("report.service", "beta", 131075);
                if (r >= 0)
                        r = emit_owner_changed("billing.timer", "", 0);
                if (r < 0)
                        return r;
        }
        if (strcmp(host, "beta") == 0)
                return sd_bus_error_set(error, "org.pes1.Error.Busy", "beta is alive: run pesctl leave on it.");
        if (strcmp(host, "alpha") == 0)
                return sd_bus_error_set(error, "org.pes1.Error.NotAllowed",
                                        "alpha is a voter: remove it as a voter first (pesctl voters remove alpha).");
        if (strcmp(host, "omega") == 0)
                return sd_bus_error_set(error, "org.pes1.Error.NoSuchHost", "No host 'omega' in this cluster.");
        return sd_bus_reply_method_return(m, NULL);
}

static int emit_voter_change(Fake *f, const char *value) {
        snprintf(f->voter_change, sizeof(f->voter_change), "%s", value);
        return sd_bus_emit_properties_changed(f->bus, "/org/pes1", "org.pes1.Manager", "VoterChange", NULL);
}

/* The steps of adding delta, one every few milliseconds, then the answer. */
static int on_voter_step(sd_event_source *s, uint64_t usec, void *userdata) {
        static const char *const steps[] = {
                "adding delta (starting; driven by this host)",
                "adding delta (step 1 of 2, rescan pending; driven by this host)",
                "adding delta (step 1 of 2, rescan pending; driven by this host)",
                "adding delta (step 1 of 2, rescanned; step 2 pending; driven by this host)",
                "adding delta (step 2 of 2, rescan pending; driven by this host)",
                "",
        };
        Fake *f = userdata;

        if (f->voter_step < ELEMENTSOF(steps)) {
                f->config_epoch += f->voter_step > 0 && f->voter_step != 2;
                assert_true(emit_voter_change(f, steps[f->voter_step++]) >= 0);
                return sd_event_source_set_time_relative(s, 5 * USEC_PER_MSEC) >= 0 &&
                                       sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0
                               ? 0
                               : -EIO;
        }
        assert_true(sd_bus_reply_method_return(f->voter_pending, NULL) >= 0);
        f->voter_pending = sd_bus_message_unref(f->voter_pending);
        return 0;
}

static int on_vanish(sd_event_source *s, void *userdata) {
        Fake *f = userdata;

        f->voter_pending = sd_bus_message_unref(f->voter_pending);
        f->bus = sd_bus_flush_close_unref(f->bus);
        return 0;
}

static int voter_method(sd_bus_message *m, Fake *f, sd_bus_error *error) {
        const char *member = sd_bus_message_get_member(m), *host = "";
        int r;

        if (strcmp(member, "AddVoter") == 0 || strcmp(member, "RemoveVoter") == 0) {
                r = sd_bus_message_read(m, "s", &host);
                if (r < 0)
                        return r;
        }
        f->voter_calls++;
        snprintf(f->voter_call, sizeof(f->voter_call), "%s%s%s", member, host[0] ? " " : "", host);

        if (strcmp(host, "forbidden") == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may call AddVoter.");
        if (strcmp(host, "omega") == 0)
                return sd_bus_error_set(error, "org.pes1.Error.NoSuchHost", "No host 'omega' in this cluster.");
        if (strcmp(member, "AddVoter") == 0 && strcmp(host, "beta") == 0)
                return sd_bus_error_set(error, "org.pes1.Error.AlreadyVoter", "beta is a voter already.");
        if (strcmp(member, "AddVoter") == 0 && strcmp(host, "eta") == 0)
                return sd_bus_error_set(error, "org.pes1.Error.Busy",
                                        "A membership change is in flight already; 'pesctl voters' shows it.");
        if (strcmp(member, "RemoveVoter") == 0 && strcmp(host, "eta") == 0)
                return sd_bus_error_set(error, "org.pes1.Error.NotVoter", NULL);
        if (strcmp(member, "ResumeVoterChange") == 0)
                return sd_bus_error_set(error, "org.pes1.Error.NotAllowed", "No voter change is in flight.");

        if (strcmp(member, "AddVoter") == 0 && strcmp(host, "vanishing") == 0) {
                /* pesd dies mid-change: its connection closes without an answer. */
                f->voter_pending = sd_bus_message_ref(m);
                r = sd_event_add_defer(f->event, &f->voter_timer, on_vanish, f);
                return r < 0 ? r : 1;
        }
        if (strcmp(member, "AddVoter") == 0 && strcmp(host, "zeta") == 0) {
                /* Another host's change shows here first, then this one is refused. */
                r = emit_voter_change(f, "adding zeta (step 1 of 2, rescan pending)");
                if (r < 0)
                        return r;
                return sd_bus_error_set(error, "org.pes1.Error.Busy", "Another change is in flight.");
        }
        if (strcmp(member, "AddVoter") == 0 && strcmp(host, "delta") == 0) {
                f->voter_pending = sd_bus_message_ref(m);
                f->voter_step = 0;
                r = sd_event_add_time_relative(f->event, &f->voter_timer, CLOCK_MONOTONIC, 5 * USEC_PER_MSEC, 1,
                                               on_voter_step, f);
                return r < 0 ? r : 1; /* answered once the steps are through */
        }
        f->config_epoch += 2;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_voter(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return voter_method(m, userdata, error);
}

static const sd_bus_vtable fake_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("NodeName", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Quorate", "b", property_get, 0, 0),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ClusterName", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Member", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConfigEpoch", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConfigPhase", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VoterChange", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD("Lookup", "st", "stst", method_lookup, 0),
        SD_BUS_METHOD("ListNames", "", "a(sststb)", method_list_names, 0),
        SD_BUS_METHOD("ListNodes", "", "a(sqssstt)", method_list_nodes, 0),
        SD_BUS_METHOD("Acquire", "s", "t", method_acquire, 0),
        SD_BUS_METHOD("Release", "s", "", method_release, 0),
        SD_BUS_METHOD("Holds", "s", "b", method_holds, 0),
        SD_BUS_METHOD("ListUnits", "", "a(ssssssbt)", method_list_units, 0),
        SD_BUS_METHOD("Supervise", "sasb", "", method_supervise, 0),
        SD_BUS_METHOD("Unsupervise", "s", "", method_unsupervise, 0),
        SD_BUS_METHOD("Move", "ss", "", method_move, 0),
        SD_BUS_METHOD("Join", "s", "q", method_join, 0),
        SD_BUS_METHOD("Leave", "s", "", method_leave, 0),
        SD_BUS_METHOD("AddVoter", "s", "", method_voter, 0),
        SD_BUS_METHOD("RemoveVoter", "s", "", method_voter, 0),
        SD_BUS_METHOD("ResumeVoterChange", "", "", method_voter, 0),
        SD_BUS_METHOD("RollbackVoterChange", "", "", method_voter, 0),
        SD_BUS_SIGNAL("OwnerChanged", "sst", 0),
        SD_BUS_SIGNAL("NodeChanged", "ss", 0),
        SD_BUS_VTABLE_END,
};

/* Reads one line from fd into buf before deadline (CLOCK_MONOTONIC). */
static int read_line(int fd, char *buf, size_t size, usec_t deadline) {
        size_t n = 0;

        while (n + 1 < size) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                usec_t t = now(CLOCK_MONOTONIC);
                ssize_t k;

                if (t >= deadline)
                        return -ETIMEDOUT;
                if (poll(&p, 1, (int) ((deadline - t) / USEC_PER_MSEC) + 1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (!(p.revents & (POLLIN | POLLHUP)))
                        continue;
                k = read(fd, buf + n, 1);
                if (k <= 0)
                        return k == 0 ? -EPIPE : -errno;
                if (buf[n] == '\n') {
                        buf[n] = 0;
                        return 0;
                }
                n++;
        }
        return -ENOBUFS;
}

static int start_dbus_daemon(Fake *f) {
        char config[128], text[1024];
        int fds[2], r;
        FILE *c;

        snprintf(config, sizeof(config), "%s/bus.conf", f->dir);
        snprintf(text, sizeof(text),
                 "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                 " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                 "<busconfig>\n"
                 "  <type>session</type>\n"
                 "  <listen>unix:path=%s/bus</listen>\n"
                 "  <auth>EXTERNAL</auth>\n"
                 "  <policy context=\"default\">\n"
                 "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                 "    <allow eavesdrop=\"true\"/>\n"
                 "    <allow own=\"*\"/>\n"
                 "  </policy>\n"
                 "</busconfig>\n",
                 f->dir);
        c = fopen(config, "we");
        if (!c)
                return -errno;
        fputs(text, c);
        if (fclose(c) != 0)
                return -errno;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        f->daemon_pid = fork();
        if (f->daemon_pid < 0)
                return -errno;
        if (f->daemon_pid == 0) {
                char arg[160];
                sigset_t none;

                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                if (dup2(fds[1], 3) < 0)
                        _exit(127);
                snprintf(arg, sizeof(arg), "--config-file=%s", config);
                execlp("dbus-daemon", "dbus-daemon", arg, "--nofork", "--print-address=3", (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        r = read_line(fds[0], f->address, sizeof(f->address), now(CLOCK_MONOTONIC) + BUS_START_DEADLINE_USEC);
        close(fds[0]);
        return r;
}

static int connect_fake_bus(Fake *f) {
        int r;

        r = sd_bus_new(&f->bus);
        if (r >= 0)
                r = sd_bus_set_address(f->bus, f->address);
        if (r >= 0)
                r = sd_bus_set_bus_client(f->bus, 1);
        if (r >= 0)
                r = sd_bus_start(f->bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(f->bus, NULL, "/org/pes1", "org.pes1.Manager", fake_vtable, f);
        if (r >= 0)
                r = sd_bus_request_name(f->bus, "org.pes1", 0);
        if (r >= 0 && !f->event)
                r = sd_event_new(&f->event);
        if (r >= 0)
                r = sd_bus_attach_event(f->bus, f->event, 0);
        return r;
}


static int group_setup(void **state) {
        snprintf(fake.dir, sizeof(fake.dir), "/tmp/test-pesctl-XXXXXX");
        if (!mkdtemp(fake.dir))
                return -1;
        fake.next_token = FIRST_TOKEN;
        if (start_dbus_daemon(&fake) < 0) {
                fprintf(stderr, "cannot start dbus-daemon\n");
                return -1;
        }
        if (connect_fake_bus(&fake) < 0) {
                fprintf(stderr, "cannot put the fake org.pes1 on the bus at %s\n", fake.address);
                return -1;
        }
        return 0;
}

static int group_teardown(void **state) {
        char cmd[128];

        fake.unanswered = sd_bus_message_unref(fake.unanswered);
        fake.voter_pending = sd_bus_message_unref(fake.voter_pending);
        fake.voter_timer = sd_event_source_disable_unref(fake.voter_timer);
        sd_bus_flush_close_unref(fake.bus);
        sd_event_unref(fake.event);
        if (fake.daemon_pid > 0) {
                kill(fake.daemon_pid, SIGTERM);
                waitpid(fake.daemon_pid, NULL, 0);
        }
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake.dir);
        return system(cmd) == 0 ? 0 : -1;
}

static int reset_fake(void **state) {
        fake.lookups = fake.acquires = fake.releases = 0;
        fake.holds_calls = fake.supervises = fake.unsupervises = fake.moves = 0;
        fake.supervised[0] = fake.settings[0] = fake.moved_to[0] = 0;
        fake.disable = false;
        fake.unanswered = sd_bus_message_unref(fake.unanswered);
        fake.lookup_flags = UINT64_MAX;
        fake.held = false;
        fake.joins = fake.leaves = fake.voter_calls = 0;
        fake.left_cluster = false;
        fake.left[0] = fake.voter_call[0] = fake.voter_change[0] = 0;
        snprintf(fake.cluster_name, sizeof(fake.cluster_name), "solo");
        snprintf(fake.config_phase, sizeof(fake.config_phase), "stable");
        fake.config_epoch = 7;
        fake.voter_pending = sd_bus_message_unref(fake.voter_pending);
        fake.voter_timer = sd_event_source_disable_unref(fake.voter_timer);
        return 0;
}

/* One run of pesctl, with what it printed. */
typedef struct Run Run;
typedef void (*RunAction)(Run *run);

struct Run {
        pid_t pid;
        int status; /* exit status, or 128+N after signal N */
        bool exited;
        char out[16384], err[16384];
        size_t out_len, err_len;
        int open_pipes;
        int out_fd;
        const char *trigger; /* when stdout first contains this, action runs */
        RunAction action;
        bool triggered;
};

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Run *run = userdata;
        bool is_out = fd == run->out_fd;
        char *buf = is_out ? run->out : run->err;
        size_t *len = is_out ? &run->out_len : &run->err_len;
        ssize_t k;

        k = read(fd, buf + *len, (is_out ? sizeof(run->out) : sizeof(run->err)) - 1 - *len);
        if (k <= 0) {
                if (k < 0 && errno == EINTR)
                        return 0;
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                run->open_pipes--;
                return 0;
        }
        *len += (size_t) k;
        buf[*len] = 0;

        if (is_out && run->trigger && !run->triggered && strstr(run->out, run->trigger)) {
                run->triggered = true;
                run->action(run);
        }
        return 0;
}

static int on_pesctl_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Run *run = userdata;

        run->exited = true;
        run->status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
        return 0;
}

/*
 * Runs pesctl with args (NULL-terminated) against the fake bus, serving the fake's
 * methods meanwhile, until it has exited and closed its output, or the deadline.
 */
static void run_binary_with(Run *run, const char *binary, const char *trigger, RunAction action,
                            const char *const *args) {
        sd_event_source *out_source = NULL, *err_source = NULL, *child_source = NULL;
        const char *argv[32];
        int out[2], err[2];
        size_t n = 0;
        usec_t deadline;

        *run = (Run) { .trigger = trigger, .action = action };
        argv[n++] = binary;
        argv[n++] = "--no-pager";
        for (; *args; args++) {
                assert_true(n + 1 < ELEMENTSOF(argv));
                argv[n++] = *args;
        }
        argv[n] = NULL;

        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        assert_int_equal(pipe2(err, O_CLOEXEC), 0);
        run->pid = fork();
        assert_true(run->pid >= 0);
        if (run->pid == 0) {
                sigset_t none;

                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                dup2(out[1], STDOUT_FILENO);
                dup2(err[1], STDERR_FILENO);
                setenv("DBUS_SYSTEM_BUS_ADDRESS", bus_address_override ?: fake.address, 1);
                unsetenv("PAGER");
                execv(binary, (char **) argv);
                _exit(127);
        }
        close(out[1]);
        close(err[1]);

        run->out_fd = out[0];
        assert_true(sd_event_add_io(fake.event, &out_source, out[0], EPOLLIN, on_output, run) >= 0);
        assert_true(sd_event_add_io(fake.event, &err_source, err[0], EPOLLIN, on_output, run) >= 0);
        assert_true(sd_event_add_child(fake.event, &child_source, run->pid, WEXITED, on_pesctl_exit, run) >= 0);
        run->open_pipes = 2;

        deadline = now(CLOCK_MONOTONIC) + RUN_DEADLINE_USEC;
        while (!run->exited || run->open_pipes > 0) {
                usec_t t = now(CLOCK_MONOTONIC);

                if (t >= deadline) {
                        kill(run->pid, SIGKILL);
                        fail_msg("pesctl did not finish in time; stdout: %s; stderr: %s", run->out, run->err);
                }
                assert_true(sd_event_run(fake.event, deadline - t) >= 0);
        }

        sd_event_source_disable_unref(out_source);
        sd_event_source_disable_unref(err_source);
        sd_event_source_unref(child_source);
        close(out[0]);
        close(err[0]);
}

static void run_pesctl_with(Run *run, const char *trigger, RunAction action, const char *const *args) {
        run_binary_with(run, pesctl_path, trigger, action, args);
}

#define run_pesctl(run, ...) run_pesctl_with((run), NULL, NULL, (const char *const[]) { __VA_ARGS__, NULL })
#define run_pes_supervise(run, ...) \
        run_binary_with((run), pes_supervise_path, NULL, NULL, (const char *const[]) { __VA_ARGS__, NULL })

static void test_list_prints_a_table_with_legend(void **state) {
        Run run;

        run_pesctl(&run, "list");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "NAME           OWNER  TOKEN STATE  LEASE HERE\n"
                            "billing.timer  beta  131074 held  2.794s no\n"
                            "report.service alpha  65537 held    2.5s yes\n"
                            "\n"
                            "2 names listed.\n");
        assert_string_equal(run.err, "");
}

static void test_list_json_without_legend(void **state) {
        Run run;

        run_pesctl(&run, "--no-legend", "list", "--json=short");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "[{\"name\":\"billing.timer\",\"owner\":\"beta\",\"token\":131074,\"state\":\"held\","
                            "\"lease_remaining_usec\":2794000,\"here\":false},"
                            "{\"name\":\"report.service\",\"owner\":\"alpha\",\"token\":65537,\"state\":\"held\","
                            "\"lease_remaining_usec\":2500000,\"here\":true}]\n");

        run_pesctl(&run, "--no-legend", "list");
        assert_int_equal(run.status, 0);
        /* Without the header, columns are as wide as their widest value. */
        assert_string_equal(run.out,
                            "billing.timer  beta  131074 held 2.794s no\n"
                            "report.service alpha  65537 held   2.5s yes\n");
}

static void test_nodes_prints_every_node(void **state) {
        Run run;

        run_pesctl(&run, "nodes");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "NAME  ID ROLE            STATE   LAST-CONTACT EPOCH ADDRESS\n"
                            "alpha  1 voter           self    -                7 10.0.0.1:7400\n"
                            "beta   2 voter           alive   250ms ago        7 10.0.0.2:7400\n"
                            "gamma  3 voter           dead    never            - 10.0.0.3:7400\n"
                            "delta  4 voter (joining) alive   1.5s ago         6 10.0.0.4:7400\n"
                            "eta    6 candidate       unknown never            - -\n"
                            "\n"
                            "5 nodes listed.\n");
}

static void test_nodes_json_has_role_contact_epoch_and_address(void **state) {
        Run run;

        run_pesctl(&run, "nodes", "--json=short");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "[{\"node\":\"alpha\",\"id\":1,\"role\":\"voter\",\"state\":\"self\",\"last_contact_usec\":0,"
                            "\"epoch\":7,\"address\":\"10.0.0.1:7400\"},"
                            "{\"node\":\"beta\",\"id\":2,\"role\":\"voter\",\"state\":\"alive\",\"last_contact_usec\":250000,"
                            "\"epoch\":7,\"address\":\"10.0.0.2:7400\"},"
                            "{\"node\":\"gamma\",\"id\":3,\"role\":\"voter\",\"state\":\"dead\",\"last_contact_usec\":null,"
                            "\"epoch\":null,\"address\":\"10.0.0.3:7400\"},"
                            "{\"node\":\"delta\",\"id\":4,\"role\":\"voter (joining)\",\"state\":\"alive\","
                            "\"last_contact_usec\":1500000,\"epoch\":6,\"address\":\"10.0.0.4:7400\"},"
                            "{\"node\":\"eta\",\"id\":6,\"role\":\"candidate\",\"state\":\"unknown\",\"last_contact_usec\":null,"
                            "\"epoch\":null,\"address\":\"\"}]\n");
}

static void test_status_summarizes_this_node(void **state) {
        Run run;

        run_pesctl(&run, "status");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "   Node: alpha\n"
                            "Cluster: solo\n"
                            "Version: 0.1.0-fake\n"
                            "Quorate: yes\n"
                            "  Names: 1 held here, 2 known\n"
                            "  Peers: 2/4 alive\n"
                            "  Epoch: 7\n");

        run_pesctl(&run, "status", "--json=short");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "{\"node_name\":\"alpha\",\"version\":\"0.1.0-fake\",\"quorate\":true,"
                            "\"names_here\":1,\"names_total\":2,\"peers_alive\":2,\"peers_total\":4,"
                            "\"cluster\":\"solo\",\"member\":true,\"epoch\":7,\"voter_change\":\"\"}\n");
}

static void test_status_of_a_host_that_left_says_so(void **state) {
        Run run;

        fake.left_cluster = true;
        run_pesctl(&run, "status");
        assert_int_equal(run.status, 0);
        assert_non_null(strstr(run.out, "Cluster: solo\n Member: no (it left; 'pesctl join HOST:PORT' joins a cluster)\n"
                                        "Version: "));
        run_pesctl(&run, "status", "--json=short");
        assert_non_null(strstr(run.out, "\"member\":false,"));
}

static void test_status_shows_a_voter_change_in_flight(void **state) {
        Run run;

        snprintf(fake.voter_change, sizeof(fake.voter_change), "removing gamma (step 1 of 2, rescan pending)");
        run_pesctl(&run, "status");
        assert_int_equal(run.status, 0);
        assert_non_null(strstr(run.out, "  Epoch: 7\n Change: removing gamma (step 1 of 2, rescan pending)\n"));
}

static void test_lookup_reads_a_majority_unless_local(void **state) {
        Run run;

        run_pesctl(&run, "lookup", "report.service");
        assert_int_equal(run.status, 0);
        assert_int_equal(fake.lookup_flags, 0);
        assert_string_equal(run.out,
                            " Name: report.service\n"
                            "Owner: alpha\n"
                            "Token: 65537\n"
                            "State: held\n"
                            "Lease: 2.5s left\n");

        run_pesctl(&run, "lookup", "--local", "spare", "--json=short");
        assert_int_equal(run.status, 0);
        assert_int_equal(fake.lookup_flags, 1);
        assert_string_equal(run.out,
                            "{\"name\":\"spare\",\"owner\":\"\",\"token\":0,\"state\":\"free\","
                            "\"lease_remaining_usec\":0}\n");
}

static void test_lookup_of_an_unknown_name_exits_4(void **state) {
        Run run;

        run_pesctl(&run, "lookup", "nope");
        assert_int_equal(run.status, 4);
        assert_string_equal(run.out, "");
        assert_string_equal(run.err, "pesctl: No such name: nope\n");
}

static void test_wrong_usage_exits_2_without_asking_pesd(void **state) {
        Run run;

        run_pesctl(&run, "lookup");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "lookup", "a/b");
        assert_int_equal(run.status, 2);
        assert_non_null(strstr(run.err, "Invalid name 'a/b'"));
        run_pesctl(&run, "acquire", "");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "frobnicate");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "--json=yaml", "list");
        assert_int_equal(run.status, 2);
        assert_int_equal(fake.lookups + fake.acquires, 0);
}

static void test_access_denied_says_run_as_root(void **state) {
        Run run;

        run_pesctl(&run, "release", "forbidden");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err, "pesctl: Permission denied: cannot release forbidden (run as root).\n");

        run_pesctl(&run, "acquire", "forbidden");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err, "pesctl: Permission denied: cannot acquire forbidden (run as root).\n");
}

static void test_release_calls_release(void **state) {
        Run run;

        run_pesctl(&run, "release", "report.service");
        assert_int_equal(run.status, 0);
        assert_int_equal(fake.releases, 1);
}

static void test_pesd_not_running_is_said_plainly(void **state) {
        Run run;

        assert_true(sd_bus_release_name(fake.bus, "org.pes1") >= 0);
        run_pesctl(&run, "status");
        assert_true(sd_bus_request_name(fake.bus, "org.pes1", 0) >= 0);

        assert_int_equal(run.status, 1);
        assert_string_equal(run.err, "pesctl: pesd is not running (org.pes1 not on the bus).\n");
}

static void send_sigterm(Run *run) {
        kill(run->pid, SIGTERM);
}

static void test_acquire_without_cmd_prints_the_token_and_holds_until_sigterm(void **state) {
        char expected[128];
        Run run;

        run_pesctl_with(&run, "holding it", send_sigterm, (const char *const[]) { "acquire", "report.service", NULL });
        snprintf(expected, sizeof(expected),
                 "Acquired report.service with fencing token %" PRIu64 "; holding it until interrupted.\n",
                 fake.token);
        assert_string_equal(run.out, expected);
        assert_int_equal(run.status, 0);
        assert_int_equal(fake.acquires, 1);
        assert_int_equal(fake.releases, 1);
        assert_false(fake.held);
}

static void test_acquire_json_prints_name_and_token(void **state) {
        char expected[128];
        Run run;

        run_pesctl_with(&run, "}", send_sigterm,
                        (const char *const[]) { "--json=short", "acquire", "report.service", NULL });
        snprintf(expected, sizeof(expected), "{\"name\":\"report.service\",\"token\":%" PRIu64 "}\n", fake.token);
        assert_string_equal(run.out, expected);
        assert_int_equal(run.status, 0);
        assert_int_equal(fake.releases, 1);
}

static void test_acquire_runs_cmd_with_name_and_token_and_exits_with_its_status(void **state) {
        char expected[128];
        Run run;

        run_pesctl(&run, "acquire", "report.service", "--", "sh", "-c",
                   "echo \"$PES_NAME $PES_FENCING_TOKEN\"; exit 7");
        snprintf(expected, sizeof(expected), "report.service %" PRIu64 "\n", fake.token);
        assert_string_equal(run.out, expected);
        assert_string_equal(run.err, "");
        assert_int_equal(run.status, 7);
        assert_int_equal(fake.releases, 1);
}

static void test_acquire_of_a_missing_command_exits_127(void **state) {
        Run run;

        run_pesctl(&run, "acquire", "report.service", "--", "/nonexistent/cmd");
        assert_int_equal(run.status, 127);
        assert_non_null(strstr(run.err, "Failed to execute /nonexistent/cmd"));
        assert_int_equal(fake.releases, 1);
}

/* Signals about other names and about our own tenure come first; only the last one
 * is the loss, so the message names it. */
static void lose_to_beta(Run *run) {
        emit_owner_changed("other.service", "gamma", 9);
        emit_owner_changed(fake.held_name, "alpha", fake.token);
        emit_owner_changed(fake.held_name, "beta", fake.token + 100);
}

static void test_acquire_stops_cmd_and_exits_3_when_another_node_takes_the_name(void **state) {
        char expected[256];
        usec_t start = now(CLOCK_MONOTONIC);
        Run run;

        run_pesctl_with(&run, "ready", lose_to_beta,
                        (const char *const[]) { "acquire", "report.service", "--", "sh", "-c",
                                                "echo ready; exec sleep 60", NULL });
        assert_int_equal(run.status, 3);
        snprintf(expected, sizeof(expected),
                 "pesctl: Lost report.service: now held by beta with fencing token %" PRIu64
                 ". Stopping sh.\n", fake.token + 100);
        assert_string_equal(run.err, expected);
        /* SIGTERM was enough: no wait for the SIGKILL. */
        assert_true(now(CLOCK_MONOTONIC) - start < 4 * USEC_PER_SEC);
        assert_int_equal(fake.releases, 1);
}

static void test_acquire_of_a_name_with_a_quote_matches_its_signals(void **state) {
        Run run;

        run_pesctl_with(&run, "ready", lose_to_beta,
                        (const char *const[]) { "acquire", "it's\\odd", "--", "sh", "-c",
                                                "echo ready; exec sleep 60", NULL });
        assert_int_equal(run.status, 3);
        assert_non_null(strstr(run.err, "Lost it's\\odd: now held by beta"));
}

static void test_acquire_kills_a_cmd_that_ignores_sigterm(void **state) {
        usec_t start = now(CLOCK_MONOTONIC);
        Run run;

        run_pesctl_with(&run, "ready", lose_to_beta,
                        (const char *const[]) { "acquire", "report.service", "--", "sh", "-c",
                                                "trap '' TERM; echo ready; while :; do sleep 0.1; done", NULL });
        assert_int_equal(run.status, 3);
        assert_non_null(strstr(run.err, "sh did not stop within 5s of SIGTERM; killing it.\n"));
        assert_true(now(CLOCK_MONOTONIC) - start >= 5 * USEC_PER_SEC);
}

static void lose_to_nobody(Run *run) {
        emit_owner_changed(fake.held_name, "", fake.token);
}

static void test_acquire_without_cmd_exits_3_when_the_name_has_no_owner(void **state) {
        Run run;

        run_pesctl_with(&run, "holding it", lose_to_nobody,
                        (const char *const[]) { "acquire", "report.service", NULL });
        assert_int_equal(run.status, 3);
        assert_string_equal(run.err, "pesctl: Lost report.service: it has no owner now.\n");
}

static void pesd_leaves(Run *run) {
        sd_bus_release_name(fake.bus, "org.pes1");
}

static void test_acquire_exits_3_when_pesd_leaves_the_bus(void **state) {
        Run run;

        run_pesctl_with(&run, "ready", pesd_leaves,
                        (const char *const[]) { "acquire", "report.service", "--", "sh", "-c",
                                                "echo ready; exec sleep 60", NULL });
        assert_true(sd_bus_request_name(fake.bus, "org.pes1", 0) >= 0);
        assert_int_equal(run.status, 3);
        assert_string_equal(run.err, "pesctl: Lost report.service: pesd left the bus. Stopping sh.\n");
}


static void test_holds_exits_0_silently_when_this_host_holds_the_name(void **state) {
        Run run;

        run_pesctl(&run, "holds", "report.service");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out, "");
        assert_string_equal(run.err, "");
        assert_int_equal(fake.holds_calls, 1);

        run_pesctl(&run, "holds", "report.service", "--json=short");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out, "{\"name\":\"report.service\",\"holds\":true}\n");
}

static void test_holds_exits_1_with_a_reason_when_it_does_not(void **state) {
        Run run;

        run_pesctl(&run, "holds", "billing.timer");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.out, "");
        assert_string_equal(run.err, "pesctl: This host does not hold billing.timer.\n");

        run_pesctl(&run, "--json=short", "holds", "billing.timer");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.out, "{\"name\":\"billing.timer\",\"holds\":false}\n");
}

static void test_holds_exits_1_on_errors_and_wrong_usage(void **state) {
        Run run;

        /* pesd's errors are 1 too, never 4 as for the other verbs. */
        run_pesctl(&run, "holds", "nope");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err, "pesctl: No such name: nope\n");

        run_pesctl(&run, "holds");
        assert_int_equal(run.status, 1);
        run_pesctl(&run, "holds", "a", "b");
        assert_int_equal(run.status, 1);
        run_pesctl(&run, "holds", "a/b");
        assert_int_equal(run.status, 1);
        run_pesctl(&run, "holds", "--frobnicate", "report.service");
        assert_int_equal(run.status, 1);
        run_pesctl(&run, "holds", "--json=yaml", "report.service");
        assert_int_equal(run.status, 1);
        run_pesctl(&run, "holds", "--disable", "report.service");
        assert_int_equal(run.status, 1);
        assert_int_equal(fake.holds_calls, 1);
}

static void test_holds_exits_1_when_pesd_is_not_on_the_bus(void **state) {
        Run run;

        assert_true(sd_bus_release_name(fake.bus, "org.pes1") >= 0);
        run_pesctl(&run, "holds", "report.service");
        assert_true(sd_bus_request_name(fake.bus, "org.pes1", 0) >= 0);

        assert_int_equal(run.status, 1);
        assert_string_equal(run.err, "pesctl: pesd is not running (org.pes1 not on the bus).\n");
}

static void test_holds_exits_1_within_a_second_when_pesd_never_answers(void **state) {
        usec_t start = now(CLOCK_MONOTONIC), took;
        Run run;

        run_pesctl(&run, "holds", "hung.service");
        took = now(CLOCK_MONOTONIC) - start;

        assert_non_null(fake.unanswered);
        assert_int_equal(run.status, 1);
        assert_non_null(strstr(run.err, "not holding hung.service"));
        assert_true(took < 2 * USEC_PER_SEC);
}

static void test_holds_exits_1_within_a_second_when_the_bus_never_answers(void **state) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char address[160];
        usec_t start, took;
        int fd;
        Run run;

        /* A socket that accepts connections and never says a word: not even the
         * authentication of the bus completes, so only pesctl's own deadline ends it. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/mute", fake.dir);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 8), 0);
        snprintf(address, sizeof(address), "unix:path=%s", sa.sun_path);

        bus_address_override = address;
        start = now(CLOCK_MONOTONIC);
        run_pesctl(&run, "holds", "report.service");
        took = now(CLOCK_MONOTONIC) - start;
        bus_address_override = NULL;
        close(fd);
        unlink(sa.sun_path);

        assert_int_equal(run.status, 1);
        assert_string_equal(run.err, "pesctl: pesd did not answer within 1s; not holding.\n");
        assert_true(took < 2 * USEC_PER_SEC);
}

static void test_supervise_passes_the_settings_and_the_disable_flag(void **state) {
        Run run;

        run_pesctl(&run, "supervise", "api.service", "--hosts=alpha,beta", "--prefer=alpha:3,beta:1",
                   "--heartbeat=2s", "--stop-timeout=300ms", "--failure-budget=5", "--failure-window=15min",
                   "--failure-backoff=1min", "--health-url=http://127.0.0.1:8080/health",
                   "--health-interval=10s", "--health-timeout=1s", "--health-threshold=2", "--disable");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.err, "");
        assert_string_equal(run.out, "Supervising api.service on this host (its start at boot is disabled).\n");
        assert_int_equal(fake.supervises, 1);
        assert_string_equal(fake.supervised, "api.service");
        assert_string_equal(fake.settings,
                            "Hosts=alpha beta|Prefer=alpha:3 beta:1|HeartbeatSec=2s|StopSec=300ms|"
                            "FailureBudget=5|FailureWindowSec=15min|FailureBackoffSec=1min|"
                            "HealthURL=http://127.0.0.1:8080/health|HealthIntervalSec=10s|HealthTimeoutSec=1s|"
                            "HealthThreshold=2");
        assert_true(fake.disable);

        run_pesctl(&run, "supervise", "api.service");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out, "Supervising api.service on this host.\n");
        assert_string_equal(fake.settings, "");
        assert_false(fake.disable);
}

static void test_pes_supervise_is_pesctl_supervise(void **state) {
        Run run;

        run_pes_supervise(&run, "--hosts", "alpha", "api.service", "--heartbeat=1500ms");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out, "Supervising api.service on this host.\n");
        assert_string_equal(fake.supervised, "api.service");
        assert_string_equal(fake.settings, "Hosts=alpha|HeartbeatSec=1500ms");
        assert_false(fake.disable);

        run_pes_supervise(&run, "enabled.service");
        assert_int_equal(run.status, 1);
        assert_non_null(strstr(run.err, "pes-supervise: Cannot supervise enabled.service: enabled to start at boot"));

        run_pes_supervise(&run, "--heartbeat=soon", "api.service");
        assert_int_equal(run.status, 2);
        run_binary_with(&run, pes_supervise_path, NULL, NULL, (const char *const[]) { NULL });
        assert_int_equal(run.status, 2);
        assert_int_equal(fake.supervises, 1);
}

static void test_supervise_says_why_pesd_refused(void **state) {
        Run run;

        run_pesctl(&run, "supervise", "missing.service");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.out, "");
        assert_string_equal(run.err, "pesctl: Cannot supervise missing.service: no such unit on this host\n");

        run_pesctl(&run, "supervise", "enabled.service");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err,
                            "pesctl: Cannot supervise enabled.service: enabled to start at boot (systemd would start it "
                            "on every host); run 'systemctl disable enabled.service', or supervise it with --disable\n");

        run_pesctl(&run, "supervise", "report.service");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err, "pesctl: Cannot supervise report.service: report.service is supervised already.\n");
}

static void test_supervise_refuses_malformed_options_without_asking_pesd(void **state) {
        Run run;

        run_pesctl(&run, "supervise", "api.service", "--heartbeat=soon");
        assert_int_equal(run.status, 2);
        assert_string_equal(run.err, "pesctl: Invalid --heartbeat='soon': not a duration such as 2s, 500ms or 5min.\n");
        run_pesctl(&run, "supervise", "api.service", "--prefer=alpha");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "supervise", "api.service", "--failure-budget=-1");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "supervise", "api.service", "--health-url=ftp://x/");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "supervise", "api.service", "--hosts=");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "list", "--disable");
        assert_int_equal(run.status, 2);
        assert_int_equal(fake.supervises, 0);
}

static void test_unsupervise_calls_unsupervise_and_explains_refusals(void **state) {
        Run run;

        run_pesctl(&run, "unsupervise", "report.service");
        assert_int_equal(run.status, 0);
        assert_int_equal(fake.unsupervises, 1);

        run_pesctl(&run, "unsupervise", "declared.service");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err,
                            "pesctl: Cannot unsupervise declared.service: declared.service is declared in "
                            "/etc/pes/units.d/declared.service.conf; remove that file and restart pesd.\n");

        run_pesctl(&run, "unsupervise", "other.service");
        assert_int_equal(run.status, 4);
        assert_string_equal(run.err, "pesctl: other.service is not supervised on this host.\n");
}

static void test_move_returns_once_moved(void **state) {
        Run run;

        run_pesctl(&run, "move", "report.service", "beta");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out, "Moved report.service to beta.\n");
        assert_string_equal(fake.moved_to, "beta");
}

static void test_move_errors_say_what_went_wrong(void **state) {
        static const struct {
                const char *unit, *host, *err;
        } cases[] = {
                { "billing.timer", "alpha",
                  "pesctl: Cannot move billing.timer to alpha: This host does not hold billing.timer; run the move on "
                  "beta, its owner.\n" },
                { "report.service", "gamma", "pesctl: Cannot move report.service to gamma: gamma is not reachable (dead).\n" },
                { "report.service", "omega", "pesctl: Cannot move report.service to omega: No host 'omega' in this cluster.\n" },
                { "report.service", "delta",
                  "pesctl: Cannot move report.service to delta: delta is not eligible for report.service (Hosts=, Prefer=).\n" },
                { "report.service", "epsilon",
                  "pesctl: Cannot move report.service to epsilon: epsilon did not take report.service over in time; the "
                  "reservation lapses and election resumes.\n" },
                { "report.service", "zeta",
                  "pesctl: Cannot move report.service to zeta: a change of it is in progress already\n" },
        };
        Run run;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                run_pesctl(&run, "move", cases[i].unit, cases[i].host);
                assert_int_equal(run.status, 1);
                assert_string_equal(run.out, "");
                assert_string_equal(run.err, cases[i].err);
        }
        assert_int_equal(fake.moves, ELEMENTSOF(cases));
}

static void test_units_prints_a_table_with_refusals(void **state) {
        Run run;

        run_pesctl(&run, "units");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "UNIT           TRIGGERS        PHASE   ACTIVE   SUB     HERE TOKEN\n"
                            "billing.timer  billing.service idle    inactive dead    no       -\n"
                            "report.service -               running active   running yes  65537\n"
                            "web.service    -               refused -        -       no       -\n"
                            "\n"
                            "web.service: refused: enabled to start at boot; run 'systemctl disable web.service', or "
                            "supervise it with --disable\n"
                            "\n"
                            "3 units listed.\n");
}

static void test_units_json_carries_the_refusal(void **state) {
        Run run;

        run_pesctl(&run, "units", "--json=short");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "[{\"unit\":\"billing.timer\",\"triggers\":\"billing.service\",\"phase\":\"idle\","
                            "\"active_state\":\"inactive\",\"sub_state\":\"dead\",\"here\":false,\"token\":0,\"refusal\":\"\"},"
                            "{\"unit\":\"report.service\",\"triggers\":\"\",\"phase\":\"running\",\"active_state\":\"active\","
                            "\"sub_state\":\"running\",\"here\":true,\"token\":65537,\"refusal\":\"\"},"
                            "{\"unit\":\"web.service\",\"triggers\":\"\",\"phase\":\"refused\",\"active_state\":\"\","
                            "\"sub_state\":\"\",\"here\":false,\"token\":0,\"refusal\":\"enabled to start at boot; run "
                            "'systemctl disable web.service', or supervise it with --disable\"}]\n");

        run_pesctl(&run, "units", "--no-legend");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "billing.timer  billing.service idle    inactive dead    no      -\n"
                            "report.service -               running active   running yes 65537\n"
                            "web.service    -               refused -        -       no      -\n");
}

/* The history comes from this host's journal, which the test does not control:
 * only the lines before it are compared, and the history must be either absent
 * or "TIME  MESSAGE" lines. */
static void assert_status_then_history(const char *out, const char *head) {
        const char *rest;

        assert_int_equal(strncmp(out, head, strlen(head)), 0);
        rest = out + strlen(head);
        if (strcmp(rest, " no history in the journal\n") == 0)
                return;
        assert_true(rest[0] == '\n');
        for (const char *line = rest + 1; *line; line = strchr(line, '\n') + 1) {
                assert_non_null(strchr(line, '\n'));
                assert_true(strlen(line) > 21 && line[4] == '-' && line[19] == ' ' && line[20] == ' ');
        }
}

static void test_status_of_a_unit_shows_owner_and_this_host(void **state) {
        Run run;

        run_pesctl(&run, "status", "report.service");
        assert_int_equal(run.status, 0);
        assert_int_equal(fake.lookup_flags, 0);
        assert_status_then_history(run.out,
                                   "    Name: report.service\n"
                                   "   Owner: alpha\n"
                                   "   Token: 65537\n"
                                   "   State: held\n"
                                   "   Lease: 2.5s left\n"
                                   "   Phase: running, held by this host\n"
                                   "  Active: active (running)\n"
                                   "\n"
                                   "Recent owner changes:");

        /* Known to no voter yet, but supervised here. */
        run_pesctl(&run, "status", "web.service", "--local");
        assert_int_equal(run.status, 0);
        assert_int_equal(fake.lookup_flags, 1);
        assert_status_then_history(run.out,
                                   "    Name: web.service\n"
                                   "   Owner: unknown (no voter knows it)\n"
                                   "   Phase: refused: enabled to start at boot; run 'systemctl disable web.service', "
                                   "or supervise it with --disable\n"
                                   "  Active: -\n"
                                   "\n"
                                   "Recent owner changes:");

        run_pesctl(&run, "status", "nope");
        assert_int_equal(run.status, 4);
        assert_string_equal(run.err, "pesctl: No such name: nope\n");
}

static void test_status_of_a_unit_as_json(void **state) {
        static const char head[] =
                "{\"name\":\"report.service\",\"owner\":\"alpha\",\"token\":65537,\"state\":\"held\","
                "\"lease_remaining_usec\":2500000,\"here\":{\"unit\":\"report.service\",\"triggers\":\"\","
                "\"phase\":\"running\",\"refusal\":\"\",\"active_state\":\"active\",\"sub_state\":\"running\","
                "\"holds\":true,\"token\":65537},\"history\":[";
        Run run;

        run_pesctl(&run, "status", "report.service", "--json=short");
        assert_int_equal(run.status, 0);
        /* The history array holds whatever this host's journal has. */
        assert_int_equal(strncmp(run.out, head, strlen(head)), 0);
        assert_true(run.out_len >= 3 && strcmp(run.out + run.out_len - 3, "]}\n") == 0);

        run_pesctl(&run, "status", "billing.timer", "--json=short");
        assert_int_equal(run.status, 0);
        assert_non_null(strstr(run.out, "{\"name\":\"billing.timer\",\"owner\":null,\"token\":null,"));
}

static void test_keygen_writes_a_private_key_once(void **state) {
        char path[128];
        struct stat st;
        Run run;

        snprintf(path, sizeof(path), "%s/cluster.key", fake.dir);
        run_pesctl(&run, "keygen", path);
        assert_int_equal(run.status, 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, 65);

        run_pesctl(&run, "keygen", path);
        assert_int_equal(run.status, 1);
        assert_non_null(strstr(run.err, "already exists; refusing to overwrite"));
}


static void test_join_prints_the_cluster_and_the_id(void **state) {
        Run run;

        run_pesctl(&run, "join", "10.0.0.1:7480");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out, "Joined cluster prod as host 9.\n");
        assert_string_equal(run.err, "");
        assert_int_equal(fake.joins, 1);

        run_pesctl(&run, "join", "[fd00::1]:7480", "--json=short");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out, "{\"cluster\":\"prod\",\"id\":9}\n");

        /* A host alone is asked at the default peer port. */
        run_pesctl(&run, "join", "10.0.0.8");
        assert_int_equal(run.status, 1);
        assert_non_null(strstr(run.err, "Cannot join the cluster at 10.0.0.8:7480: "));
}

static void test_join_refuses_a_malformed_address_without_asking_pesd(void **state) {
        static const char *const bad[] = { "10.0.0.1:", ":7480", "10.0.0.1:0", "10.0.0.1:65536",
                                           "10.0.0.1:74a", "fd00::1:7480", "[fd00::1", "a b:1", "a/b:1", "" };
        Run run;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                run_pesctl(&run, "join", bad[i]);
                assert_int_equal(run.status, 2);
                assert_non_null(strstr(run.err, "Invalid address"));
        }
        run_pesctl(&run, "join");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "join", "10.0.0.1:7480", "10.0.0.2:7480");
        assert_int_equal(run.status, 2);
        assert_int_equal(fake.joins, 0);
}

static void test_join_says_why_it_was_refused(void **state) {
        Run run;

        run_pesctl(&run, "join", "10.0.0.8:7480");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.out, "");
        assert_string_equal(run.err,
                            "pesctl: Cannot join the cluster at 10.0.0.8:7480: The member at 10.0.0.8:7480 refused this "
                            "host's cluster key (KeyFile=).\n");

        /* Any error of pesd's is "Cannot", and what failed is said once. */
        run_pesctl(&run, "join", "10.0.0.6:7480");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err,
                            "pesctl: Cannot join the cluster at 10.0.0.6:7480: Failed to connect to 10.0.0.6 port 7480.\n");

        /* Without a message from pesd, the error's meaning. */
        run_pesctl(&run, "join", "10.0.0.7:7480");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err,
                            "pesctl: Cannot join the cluster at 10.0.0.7:7480: this host is a member of a cluster with "
                            "other hosts already\n");
}

static void test_leave_without_a_host_leaves_this_one(void **state) {
        Run run;

        run_pesctl(&run, "leave");
        assert_int_equal(run.status, 0);
        assert_int_equal(fake.leaves, 1);
        assert_string_equal(fake.left, "");
        assert_string_equal(run.out,
                            "No longer holding report.service.\n"
                            "No longer holding billing.timer.\n"
                            "This host left the cluster; 'pesctl join HOST:PORT' joins one again.\n");

        run_pesctl(&run, "leave", "gamma");
        assert_int_equal(run.status, 0);
        assert_string_equal(fake.left, "gamma");
        assert_string_equal(run.out, "Removed gamma from the cluster.\n");
}

static void test_leave_says_why_it_was_refused(void **state) {
        static const struct {
                const char *host, *err;
        } cases[] = {
                { "beta", "pesctl: Cannot remove beta from the cluster: beta is alive: run pesctl leave on it.\n" },
                { "alpha", "pesctl: Cannot remove alpha from the cluster: alpha is a voter: remove it as a voter first "
                           "(pesctl voters remove alpha).\n" },
                { "omega", "pesctl: Cannot remove omega from the cluster: No host 'omega' in this cluster.\n" },
        };
        Run run;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                run_pesctl(&run, "leave", cases[i].host);
                assert_int_equal(run.status, 1);
                assert_string_equal(run.err, cases[i].err);
        }
        run_pesctl(&run, "leave", "a/b");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "leave", "a", "b");
        assert_int_equal(run.status, 2);
        assert_int_equal(fake.leaves, ELEMENTSOF(cases));
}

static void test_voters_shows_the_configuration_and_the_voters(void **state) {
        Run run;

        run_pesctl(&run, "voters");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            " Epoch: 7\n"
                            " Phase: stable\n"
                            "Change: none\n"
                            "\n"
                            "NAME  ID ROLE            STATE LAST-CONTACT EPOCH ADDRESS\n"
                            "alpha  1 voter           self  -                7 10.0.0.1:7400\n"
                            "beta   2 voter           alive 250ms ago        7 10.0.0.2:7400\n"
                            "gamma  3 voter           dead  never            - 10.0.0.3:7400\n"
                            "delta  4 voter (joining) alive 1.5s ago         6 10.0.0.4:7400\n"
                            "\n"
                            "4 voters listed.\n");

        run_pesctl(&run, "voters", "--no-legend");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "alpha 1 voter           self  -         7 10.0.0.1:7400\n"
                            "beta  2 voter           alive 250ms ago 7 10.0.0.2:7400\n"
                            "gamma 3 voter           dead  never     - 10.0.0.3:7400\n"
                            "delta 4 voter (joining) alive 1.5s ago  6 10.0.0.4:7400\n");
}

static void test_voters_shows_how_to_finish_a_change_driven_elsewhere(void **state) {
        Run run;

        snprintf(fake.config_phase, sizeof(fake.config_phase), "accept-widened");
        snprintf(fake.voter_change, sizeof(fake.voter_change), "adding delta (step 1 of 2, rescan pending)");
        run_pesctl(&run, "voters", "--json=short");
        assert_int_equal(run.status, 0);
        assert_non_null(strstr(run.out, "{\"epoch\":7,\"phase\":\"accept-widened\",\"change\":\"adding delta (step 1 of 2, "
                                        "rescan pending)\",\"voters\":[{\"node\":\"alpha\",\"id\":1,"));
        assert_null(strstr(run.out, "\"eta\""));

        run_pesctl(&run, "voters");
        assert_int_equal(run.status, 0);
        assert_int_equal(strncmp(run.out,
                                 " Epoch: 7\n"
                                 " Phase: accept-widened\n"
                                 "Change: adding delta (step 1 of 2, rescan pending)\n"
                                 "        (if the host driving it is gone: 'pesctl voters resume' finishes it,\n"
                                 "        'pesctl voters rollback' undoes it)\n"
                                 "\n"
                                 "NAME ",
                                 strlen(" Epoch: 7\n Phase: accept-widened\nChange: adding delta (step 1 of 2, rescan "
                                        "pending)\n        (if the host driving it is gone: 'pesctl voters resume' "
                                        "finishes it,\n        'pesctl voters rollback' undoes it)\n\nNAME ")),
                         0);

        /* The host driving it says so, and no hint follows. */
        snprintf(fake.voter_change, sizeof(fake.voter_change), "adding delta (step 1 of 2, rescan pending; driven by this host)");
        run_pesctl(&run, "voters");
        assert_non_null(strstr(run.out, "Change: adding delta (step 1 of 2, rescan pending; driven by this host)\n\nNAME "));
}

static void test_voters_add_shows_each_step_and_returns_when_complete(void **state) {
        Run run;

        run_pesctl(&run, "voters", "add", "delta");
        assert_string_equal(run.err, "");
        assert_int_equal(run.status, 0);
        assert_string_equal(fake.voter_call, "AddVoter delta");
        assert_null(fake.voter_pending);
        /* Each state once, without the "driven by this host" that goes without saying. */
        assert_string_equal(run.out,
                            "Voter change: adding delta (starting)\n"
                            "Voter change: adding delta (step 1 of 2, rescan pending)\n"
                            "Voter change: adding delta (step 1 of 2, rescanned; step 2 pending)\n"
                            "Voter change: adding delta (step 2 of 2, rescan pending)\n"
                            "Added delta as a voter; configuration epoch 11.\n");
        assert_string_equal(run.err, "");

        run_pesctl(&run, "voters", "add", "delta", "--json=short");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out, "");
}

static void test_voters_remove_resume_and_rollback_call_pesd(void **state) {
        Run run;

        run_pesctl(&run, "voters", "remove", "gamma");
        assert_int_equal(run.status, 0);
        assert_string_equal(fake.voter_call, "RemoveVoter gamma");
        assert_string_equal(run.out, "Removed gamma as a voter; configuration epoch 9.\n");

        run_pesctl(&run, "voters", "rollback");
        assert_int_equal(run.status, 0);
        assert_string_equal(fake.voter_call, "RollbackVoterChange");
        assert_string_equal(run.out, "The voter change is rolled back; configuration epoch 11.\n");

        run_pesctl(&run, "voters", "resume");
        assert_int_equal(run.status, 1);
        assert_string_equal(fake.voter_call, "ResumeVoterChange");
        assert_string_equal(run.err, "pesctl: Cannot resume the voter change: No voter change is in flight.\n");
}

static void test_voters_errors_say_what_went_wrong(void **state) {
        static const struct {
                const char *command, *host, *err;
        } cases[] = {
                { "add", "beta", "pesctl: Cannot add beta as a voter: beta is a voter already.\n" },
                { "add", "omega", "pesctl: Cannot add omega as a voter: No host 'omega' in this cluster.\n" },
                { "add", "eta",
                  "pesctl: Cannot add eta as a voter: A membership change is in flight already; 'pesctl voters' "
                  "shows it.\n" },
                { "remove", "eta", "pesctl: Cannot remove eta as a voter: it is not a voter\n" },
                { "add", "forbidden", "pesctl: Permission denied: cannot add forbidden as a voter (run as root).\n" },
        };
        Run run;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                run_pesctl(&run, "voters", cases[i].command, cases[i].host);
                assert_int_equal(run.status, 1);
                assert_string_equal(run.out, "");
                assert_string_equal(run.err, cases[i].err);
        }
        assert_int_equal(fake.voter_calls, ELEMENTSOF(cases));
}

static void test_voters_wrong_usage_exits_2_without_asking_pesd(void **state) {
        const char *const *const cases[] = {
                (const char *const[]) { "voters", "add", NULL },
                (const char *const[]) { "voters", "add", "a", "b", NULL },
                (const char *const[]) { "voters", "add", "a/b", NULL },
                (const char *const[]) { "voters", "remove", NULL },
                (const char *const[]) { "voters", "resume", "now", NULL },
                (const char *const[]) { "voters", "rollback", "x", NULL },
                (const char *const[]) { "voters", "grow", NULL },
                (const char *const[]) { "voters", "add", "a", "b", "c", NULL },
        };
        Run run;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                run_pesctl_with(&run, NULL, NULL, cases[i]);
                assert_int_equal(run.status, 2);
                assert_string_equal(run.out, "");
                assert_true(run.err_len > 0);
        }
        assert_int_equal(fake.voter_calls, 0);
}

static void test_voters_add_says_when_pesd_left_before_answering(void **state) {
        Run run;

        run_pesctl(&run, "voters", "add", "vanishing");
        /* The fake comes back for the next tests. */
        assert_null(fake.bus);
        assert_int_equal(connect_fake_bus(&fake), 0);

        assert_int_equal(run.status, 1);
        assert_string_equal(run.out, "");
        assert_string_equal(run.err,
                            "pesctl: Cannot add vanishing as a voter: pesd left the bus before the change was complete; "
                            "'pesctl voters' shows where it is, 'pesctl voters resume' or 'rollback' drives it on.\n");
}

static void test_voters_add_no_block_returns_once_the_change_started(void **state) {
        Run run;

        run_pesctl(&run, "voters", "add", "delta", "--no-block");
        assert_string_equal(run.err, "");
        assert_int_equal(run.status, 0);
        assert_string_equal(run.out,
                            "Voter change: adding delta (starting)\n"
                            "The change goes on; 'pesctl voters' shows how far it got.\n");
        /* pesd has not answered yet: the change goes on without pesctl. */
        assert_non_null(fake.voter_pending);

        /* An error pesd sees at once is still said. */
        run_pesctl(&run, "voters", "add", "beta", "--no-block");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err, "pesctl: Cannot add beta as a voter: beta is a voter already.\n");

        /* A change driven elsewhere is not this one's start. */
        run_pesctl(&run, "voters", "add", "zeta", "--no-block");
        assert_int_equal(run.status, 1);
        assert_string_equal(run.err, "pesctl: Cannot add zeta as a voter: Another change is in flight.\n");

        run_pesctl(&run, "--no-block", "voters");
        assert_int_equal(run.status, 2);
        run_pesctl(&run, "--no-block", "leave");
        assert_int_equal(run.status, 2);
        assert_int_equal(fake.leaves, 0);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_list_prints_a_table_with_legend, reset_fake),
                cmocka_unit_test_setup(test_list_json_without_legend, reset_fake),
                cmocka_unit_test_setup(test_nodes_prints_every_node, reset_fake),
                cmocka_unit_test_setup(test_nodes_json_has_role_contact_epoch_and_address, reset_fake),
                cmocka_unit_test_setup(test_status_summarizes_this_node, reset_fake),
                cmocka_unit_test_setup(test_status_shows_a_voter_change_in_flight, reset_fake),
                cmocka_unit_test_setup(test_status_of_a_host_that_left_says_so, reset_fake),
                cmocka_unit_test_setup(test_lookup_reads_a_majority_unless_local, reset_fake),
                cmocka_unit_test_setup(test_lookup_of_an_unknown_name_exits_4, reset_fake),
                cmocka_unit_test_setup(test_wrong_usage_exits_2_without_asking_pesd, reset_fake),
                cmocka_unit_test_setup(test_access_denied_says_run_as_root, reset_fake),
                cmocka_unit_test_setup(test_release_calls_release, reset_fake),
                cmocka_unit_test_setup(test_pesd_not_running_is_said_plainly, reset_fake),
                cmocka_unit_test_setup(test_acquire_without_cmd_prints_the_token_and_holds_until_sigterm, reset_fake),
                cmocka_unit_test_setup(test_acquire_json_prints_name_and_token, reset_fake),
                cmocka_unit_test_setup(test_acquire_runs_cmd_with_name_and_token_and_exits_with_its_status, reset_fake),
                cmocka_unit_test_setup(test_acquire_of_a_missing_command_exits_127, reset_fake),
                cmocka_unit_test_setup(test_acquire_stops_cmd_and_exits_3_when_another_node_takes_the_name, reset_fake),
                cmocka_unit_test_setup(test_acquire_of_a_name_with_a_quote_matches_its_signals, reset_fake),
                cmocka_unit_test_setup(test_acquire_kills_a_cmd_that_ignores_sigterm, reset_fake),
                cmocka_unit_test_setup(test_acquire_without_cmd_exits_3_when_the_name_has_no_owner, reset_fake),
                cmocka_unit_test_setup(test_acquire_exits_3_when_pesd_leaves_the_bus, reset_fake),
                cmocka_unit_test_setup(test_holds_exits_0_silently_when_this_host_holds_the_name, reset_fake),
                cmocka_unit_test_setup(test_holds_exits_1_with_a_reason_when_it_does_not, reset_fake),
                cmocka_unit_test_setup(test_holds_exits_1_on_errors_and_wrong_usage, reset_fake),
                cmocka_unit_test_setup(test_holds_exits_1_when_pesd_is_not_on_the_bus, reset_fake),
                cmocka_unit_test_setup(test_holds_exits_1_within_a_second_when_pesd_never_answers, reset_fake),
                cmocka_unit_test_setup(test_holds_exits_1_within_a_second_when_the_bus_never_answers, reset_fake),
                cmocka_unit_test_setup(test_supervise_passes_the_settings_and_the_disable_flag, reset_fake),
                cmocka_unit_test_setup(test_pes_supervise_is_pesctl_supervise, reset_fake),
                cmocka_unit_test_setup(test_supervise_says_why_pesd_refused, reset_fake),
                cmocka_unit_test_setup(test_supervise_refuses_malformed_options_without_asking_pesd, reset_fake),
                cmocka_unit_test_setup(test_unsupervise_calls_unsupervise_and_explains_refusals, reset_fake),
                cmocka_unit_test_setup(test_move_returns_once_moved, reset_fake),
                cmocka_unit_test_setup(test_move_errors_say_what_went_wrong, reset_fake),
                cmocka_unit_test_setup(test_units_prints_a_table_with_refusals, reset_fake),
                cmocka_unit_test_setup(test_units_json_carries_the_refusal, reset_fake),
                cmocka_unit_test_setup(test_status_of_a_unit_shows_owner_and_this_host, reset_fake),
                cmocka_unit_test_setup(test_status_of_a_unit_as_json, reset_fake),
                cmocka_unit_test_setup(test_keygen_writes_a_private_key_once, reset_fake),
                cmocka_unit_test_setup(test_join_prints_the_cluster_and_the_id, reset_fake),
                cmocka_unit_test_setup(test_join_refuses_a_malformed_address_without_asking_pesd, reset_fake),
                cmocka_unit_test_setup(test_join_says_why_it_was_refused, reset_fake),
                cmocka_unit_test_setup(test_leave_without_a_host_leaves_this_one, reset_fake),
                cmocka_unit_test_setup(test_leave_says_why_it_was_refused, reset_fake),
                cmocka_unit_test_setup(test_voters_shows_the_configuration_and_the_voters, reset_fake),
                cmocka_unit_test_setup(test_voters_shows_how_to_finish_a_change_driven_elsewhere, reset_fake),
                cmocka_unit_test_setup(test_voters_add_shows_each_step_and_returns_when_complete, reset_fake),
                cmocka_unit_test_setup(test_voters_remove_resume_and_rollback_call_pesd, reset_fake),
                cmocka_unit_test_setup(test_voters_errors_say_what_went_wrong, reset_fake),
                cmocka_unit_test_setup(test_voters_add_says_when_pesd_left_before_answering, reset_fake),
                cmocka_unit_test_setup(test_voters_add_no_block_returns_once_the_change_started, reset_fake),
                cmocka_unit_test_setup(test_voters_wrong_usage_exits_2_without_asking_pesd, reset_fake),
        };
        sigset_t mask;

        if (argc != 3) {
                fprintf(stderr, "usage: %s PATH-TO-PESCTL PATH-TO-PES-SUPERVISE\n", argv[0]);
                return EXIT_FAILURE;
        }
        pesctl_path = argv[1];
        pes_supervise_path = argv[2];

        /* sd-event takes child exits through a descriptor, which needs SIGCHLD blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
