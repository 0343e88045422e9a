/* SPDX-License-Identifier: MIT */
/* A small fake org.freedesktop.systemd1 on a private dbus-daemon, for the module tests of the bus client. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "fake-systemd.h"

#define UNIT_PREFIX "/org/freedesktop/systemd1/unit"
#define JOB_PREFIX "/org/freedesktop/systemd1/job"
#define MANAGER_PATH "/org/freedesktop/systemd1"
#define MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define NO_SUCH_UNIT "org.freedesktop.systemd1.NoSuchUnit"

/* A bus that only this test uses: anyone may own and send anything. */
static const char bus_config[] =
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<busconfig>\n"
        "  <type>session</type>\n"
        "  <listen>unix:path=%s/bus</listen>\n"
        "  <auth>EXTERNAL</auth>\n"
        "  <policy context=\"default\">\n"
        "    <allow user=\"*\"/>\n"
        "    <allow own=\"*\"/>\n"
        "    <allow send_destination=\"*\"/>\n"
        "    <allow receive_sender=\"*\"/>\n"
        "  </policy>\n"
        "</busconfig>\n";

int private_bus_start(PrivateBus *b) {
        char conf[128], arg_conf[160], arg_fd[32];
        _cleanup_(fclosep) FILE *f = NULL;
        int pipefd[2];
        size_t n = 0;
        pid_t pid;

        *b = (PrivateBus) { .pid = -1 };
        snprintf(b->dir, sizeof(b->dir), "/tmp/pes-test-bus.XXXXXX");
        if (!mkdtemp(b->dir))
                return negative_errno();
        snprintf(conf, sizeof(conf), "%s/bus.conf", b->dir);
        f = fopen(conf, "we");
        if (!f)
                return negative_errno();
        fprintf(f, bus_config, b->dir);
        if (fclose(TAKE_PTR(f)) != 0)
                return negative_errno();

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        snprintf(arg_conf, sizeof(arg_conf), "--config-file=%s", conf);

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                /* The write end must survive exec: dup it to a descriptor without O_CLOEXEC. */
                int fd = dup(pipefd[1]);

                if (fd < 0)
                        _exit(127);
                snprintf(arg_fd, sizeof(arg_fd), "--print-address=%d", fd);
                execlp("dbus-daemon", "dbus-daemon", arg_conf, "--nofork", "--nopidfile", arg_fd, (char *) NULL);
                _exit(127);
        }
        close(pipefd[1]);
        b->pid = pid;

        /* dbus-daemon prints its address once it listens; wait for the newline. */
        while (n < sizeof(b->address) - 1) {
                struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
                ssize_t k;

                if (poll(&p, 1, 5000) <= 0)
                        break;
                k = read(pipefd[0], b->address + n, sizeof(b->address) - 1 - n);
                if (k <= 0)
                        break;
                n += (size_t) k;
                if (memchr(b->address, '\n', n))
                        break;
        }
        close(pipefd[0]);
        b->address[n] = 0;
        if (!strchr(b->address, '\n')) {
                private_bus_stop(b);
                return -ETIMEDOUT;
        }
        *strchr(b->address, '\n') = 0;
        return 0;
}

void private_bus_stop(PrivateBus *b) {
        char cmd[128];

        if (b->pid > 0) {
                (void) kill(b->pid, SIGTERM);
                (void) waitpid(b->pid, NULL, 0);
                b->pid = -1;
        }
        if (b->dir[0]) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
                (void) !system(cmd);
                b->dir[0] = 0;
        }
}

int private_bus_connect(const PrivateBus *b, sd_event *e, sd_bus **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, b->address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

static void fake_log(FakeSystemd *f, const char *fmt, ...) _printf_(2, 3);
static void fake_log(FakeSystemd *f, const char *fmt, ...) {
        size_t n = strlen(f->log);
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(f->log + n, sizeof(f->log) - n, fmt, ap);
        va_end(ap);
}

FakeUnit *fake_systemd_find_unit(FakeSystemd *f, const char *name) {
        for (unsigned i = 0; i < f->n_units; i++)
                if (strcmp(f->units[i].name, name) == 0)
                        return &f->units[i];
        return NULL;
}

static FakeUnit *add_unit(FakeSystemd *f, const char *name, const char *load_state) {
        FakeUnit *u;

        if (f->n_units >= FAKE_UNITS_MAX)
                return NULL;
        u = &f->units[f->n_units++];
        *u = (FakeUnit) {};
        snprintf(u->name, sizeof(u->name), "%s", name);
        snprintf(u->load_state, sizeof(u->load_state), "%s", load_state);
        snprintf(u->unit_file_state, sizeof(u->unit_file_state), "disabled");
        snprintf(u->active_state, sizeof(u->active_state), "inactive");
        snprintf(u->sub_state, sizeof(u->sub_state), "dead");
        snprintf(u->result, sizeof(u->result), "success");
        return u;
}

FakeUnit *fake_systemd_add_unit(FakeSystemd *f, const char *name) {
        return add_unit(f, name, "loaded");
}

static const char *type_interface(const char *name) {
        if (strstr(name, ".service"))
                return "org.freedesktop.systemd1.Service";
        if (strstr(name, ".timer"))
                return "org.freedesktop.systemd1.Timer";
        return NULL;
}

int fake_systemd_set_state(FakeSystemd *f, FakeUnit *u, const char *active, const char *sub, const char *result,
                           uint32_t main_pid) {
        _cleanup_free_ char *path = NULL;
        const char *iface = type_interface(u->name);
        int r;

        snprintf(u->active_state, sizeof(u->active_state), "%s", active);
        snprintf(u->sub_state, sizeof(u->sub_state), "%s", sub);
        snprintf(u->result, sizeof(u->result), "%s", result);
        u->main_pid = main_pid;

        r = sd_bus_path_encode(UNIT_PREFIX, u->name, &path);
        if (r < 0)
                return r;
        /* systemd sends the type's interface first and the Unit interface last,
         * so that a client sees one state change as complete on the latter. */
        if (iface && strcmp(iface, "org.freedesktop.systemd1.Service") == 0)
                r = sd_bus_emit_properties_changed(f->bus, path, iface, "Result", "MainPID", NULL);
        else if (iface)
                r = sd_bus_emit_properties_changed(f->bus, path, iface, "Result", NULL);
        if (r < 0)
                return r;
        return sd_bus_emit_properties_changed(f->bus, path, "org.freedesktop.systemd1.Unit", "ActiveState",
                                              "SubState", NULL);
}

int fake_systemd_invalidate_state(FakeSystemd *f, FakeUnit *u, const char *active, const char *sub) {
        _cleanup_free_ char *path = NULL;
        int r;

        snprintf(u->active_state, sizeof(u->active_state), "%s", active);
        snprintf(u->sub_state, sizeof(u->sub_state), "%s", sub);
        r = sd_bus_path_encode(UNIT_PREFIX, u->name, &path);
        if (r < 0)
                return r;
        return sd_bus_emit_signal(f->bus, path, "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
                                  "org.freedesktop.systemd1.Unit", 0, 2, "ActiveState", "SubState");
}

static int job_path(uint32_t id, char *buf, size_t size) {
        snprintf(buf, size, JOB_PREFIX "/%u", id);
        return 0;
}

/* Ends a job: the unit's new state first, then JobRemoved, as systemd orders them. */
static int finish_job(FakeSystemd *f, FakeUnit *u, uint32_t id, bool is_start) {
        const char *result = u->job_result ?: "done";
        char path[64];
        int r = 0;

        if (strcmp(result, "done") == 0) {
                if (!is_start)
                        r = fake_systemd_set_state(f, u, "inactive", "dead", "success", 0);
                else if (strstr(u->name, ".timer"))
                        r = fake_systemd_set_state(f, u, "active", "waiting", "success", 0);
                else
                        r = fake_systemd_set_state(f, u, "active", "running", "success", 4242);
        } else if (strcmp(result, "failed") == 0)
                r = fake_systemd_set_state(f, u, "failed", "failed", "exit-code", 0);
        if (r < 0)
                return r;

        job_path(id, path, sizeof(path));
        return sd_bus_emit_signal(f->bus, MANAGER_PATH, MANAGER_IFACE, "JobRemoved", "uoss", id, path, u->name,
                                  result);
}

typedef struct PendingJob {
        FakeSystemd *fake;
        char unit[64];
        uint32_t id;
        bool is_start;
} PendingJob;

static int on_job_due(sd_event_source *s, void *userdata) {
        PendingJob *j = userdata;
        FakeUnit *u = fake_systemd_find_unit(j->fake, j->unit);

        if (u)
                (void) finish_job(j->fake, u, j->id, j->is_start);
        return 0;
}

int fake_systemd_complete_jobs(FakeSystemd *f, FakeUnit *u) {
        uint32_t id = u->held_job;

        if (id == 0)
                return -ENOENT;
        u->held_job = 0;
        return finish_job(f, u, id, u->held_is_start);
}

static int method_job(sd_bus_message *m, FakeSystemd *f, bool is_start) {
        const char *name, *mode;
        sd_event_source *s = NULL;
        PendingJob *j;
        FakeUnit *u;
        char path[64];
        uint32_t id;
        int r;

        r = sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0)
                return r;
        fake_log(f, "%s %s %s\n", is_start ? "StartUnit" : "StopUnit", name, mode);
        if (is_start)
                f->n_start_calls++;

        u = fake_systemd_find_unit(f, name);
        if (!u || strcmp(u->load_state, "loaded") != 0)
                return sd_bus_reply_method_errorf(m, NO_SUCH_UNIT, "Unit %s not found.", name);

        /* systemd merges a job into a pending one of the same kind: same path. */
        if (u->hold_jobs && u->held_job != 0 && u->held_is_start == is_start) {
                job_path(u->held_job, path, sizeof(path));
                return sd_bus_reply_method_return(m, "o", path);
        }

        id = ++f->next_job;
        job_path(id, path, sizeof(path));

        if (u->hold_jobs) {
                u->held_job = id;
                u->held_is_start = is_start;
                return sd_bus_reply_method_return(m, "o", path);
        }
        if (u->job_removed_before_reply) {
                r = finish_job(f, u, id, is_start);
                if (r < 0)
                        return r;
                return sd_bus_reply_method_return(m, "o", path);
        }

        r = sd_bus_reply_method_return(m, "o", path);
        if (r < 0)
                return r;
        j = calloc(1, sizeof(PendingJob));
        if (!j)
                return -ENOMEM;
        *j = (PendingJob) { .fake = f, .id = id, .is_start = is_start };
        snprintf(j->unit, sizeof(j->unit), "%s", name);
        r = sd_event_add_defer(f->event, &s, on_job_due, j);
        if (r < 0) {
                free(j);
                return r;
        }
        (void) sd_event_source_set_destroy_callback(s, free);
        (void) sd_event_source_set_floating(s, true);
        sd_event_source_unref(s);
        return 1;
}

static int method_start_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_job(m, userdata, true);
}

static int method_stop_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return method_job(m, userdata, false);
}

static int method_subscribe(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;

        f->n_subscribe++;
        fake_log(f, "Subscribe\n");
        return sd_bus_reply_method_return(m, NULL);
}

static int reply_unit_path(sd_bus_message *m, const char *name) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(UNIT_PREFIX, name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "o", path);
}

static int method_load_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        fake_log(f, "LoadUnit %s\n", name);
        /* Like systemd, loading a name without a unit file gives a "not-found" unit. */
        if (!fake_systemd_find_unit(f, name) && !add_unit(f, name, "not-found"))
                return -ENOMEM;
        return reply_unit_path(m, name);
}

static int method_get_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        fake_log(f, "GetUnit %s\n", name);
        if (!fake_systemd_find_unit(f, name))
                return sd_bus_reply_method_errorf(m, NO_SUCH_UNIT, "Unit %s not loaded.", name);
        return reply_unit_path(m, name);
}

static int method_reset_failed_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        FakeUnit *u;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        fake_log(f, "ResetFailedUnit %s\n", name);
        u = fake_systemd_find_unit(f, name);
        if (!u)
                return sd_bus_reply_method_errorf(m, NO_SUCH_UNIT, "Unit %s not loaded.", name);
        if (strcmp(u->active_state, "failed") == 0) {
                snprintf(u->active_state, sizeof(u->active_state), "inactive");
                snprintf(u->sub_state, sizeof(u->sub_state), "dead");
        }
        return sd_bus_reply_method_return(m, NULL);
}

static int method_kill_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        const char *name, *whom;
        int32_t signo;
        int r;

        r = sd_bus_message_read(m, "ssi", &name, &whom, &signo);
        if (r < 0)
                return r;
        fake_log(f, "KillUnit %s %s %d\n", name, whom, signo);
        if (!fake_systemd_find_unit(f, name))
                return sd_bus_reply_method_errorf(m, NO_SUCH_UNIT, "Unit %s not loaded.", name);
        snprintf(f->kill_whom, sizeof(f->kill_whom), "%s", whom);
        f->kill_signal = signo;
        return sd_bus_reply_method_return(m, NULL);
}

static int method_get_unit_processes(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        FakeSystemd *f = userdata;
        const char *name;
        FakeUnit *u;
        char cgroup[128];
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        fake_log(f, "GetUnitProcesses %s\n", name);
        u = fake_systemd_find_unit(f, name);
        if (!u)
                return sd_bus_reply_method_errorf(m, NO_SUCH_UNIT, "Unit %s not loaded.", name);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sus)");
        if (r < 0)
                return r;
        snprintf(cgroup, sizeof(cgroup), "/system.slice/%s", name);
        for (unsigned i = 0; i < u->n_processes; i++) {
                r = sd_bus_message_append(reply, "(sus)", cgroup, 1000 + i, "/usr/bin/worker --serve");
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_disable_unit_files(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        FakeSystemd *f = userdata;
        char **names = NULL;
        char link[256];
        int runtime, r;

        r = sd_bus_message_read_strv(m, &names);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "b", &runtime);
        if (r >= 0)
                r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (char **n = names; r >= 0 && n && *n; n++) {
                FakeUnit *u = fake_systemd_find_unit(f, *n);

                fake_log(f, "DisableUnitFiles %s %s\n", *n, runtime ? "true" : "false");
                if (u && strcmp(u->unit_file_state, "enabled") == 0) {
                        snprintf(u->unit_file_state, sizeof(u->unit_file_state), "disabled");
                        snprintf(link, sizeof(link), "/etc/systemd/system/multi-user.target.wants/%s", *n);
                        r = sd_bus_message_append(reply, "(sss)", "unlink", link, "");
                }
        }
        for (char **n = names; n && *n; n++)
                free(*n);
        free(names);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;

        fake_log(f, "Reload\n");
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Subscribe", "", "", method_subscribe, 0),
        SD_BUS_METHOD("LoadUnit", "s", "o", method_load_unit, 0),
        SD_BUS_METHOD("GetUnit", "s", "o", method_get_unit, 0),
        SD_BUS_METHOD("StartUnit", "ss", "o", method_start_unit, 0),
        SD_BUS_METHOD("StopUnit", "ss", "o", method_stop_unit, 0),
        SD_BUS_METHOD("KillUnit", "ssi", "", method_kill_unit, 0),
        SD_BUS_METHOD("ResetFailedUnit", "s", "", method_reset_failed_unit, 0),
        SD_BUS_METHOD("GetUnitProcesses", "s", "a(sus)", method_get_unit_processes, 0),
        SD_BUS_METHOD("DisableUnitFiles", "asb", "a(sss)", method_disable_unit_files, 0),
        SD_BUS_METHOD("Reload", "", "", method_reload, 0),
        SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
        SD_BUS_VTABLE_END,
};

/* userdata points at a char array inside FakeUnit (the property's offset). */
static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", (const char *) userdata);
}

static int property_get_strv(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char **l = *(char ***) userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (char **i = l; r >= 0 && i && *i; i++)
                r = sd_bus_message_append(reply, "s", *i);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static const sd_bus_vtable unit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", property_get_string, offsetof(FakeUnit, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LoadState", "s", property_get_string, offsetof(FakeUnit, load_state),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ActiveState", "s", property_get_string, offsetof(FakeUnit, active_state),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SubState", "s", property_get_string, offsetof(FakeUnit, sub_state),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UnitFileState", "s", property_get_string, offsetof(FakeUnit, unit_file_state), 0),
        SD_BUS_PROPERTY("Triggers", "as", property_get_strv, offsetof(FakeUnit, triggers),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable service_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Result", "s", property_get_string, offsetof(FakeUnit, result),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MainPID", "u", NULL, offsetof(FakeUnit, main_pid), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable timer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Result", "s", property_get_string, offsetof(FakeUnit, result),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

/* Finds the unit of an object path, for the interfaces its type has. */
static int find_unit(sd_bus *bus, const char *path, const char *interface, void *userdata, void **ret_found,
                     sd_bus_error *ret_error) {
        FakeSystemd *f = userdata;
        _cleanup_free_ char *name = NULL;
        const char *t;
        FakeUnit *u;

        if (sd_bus_path_decode(path, UNIT_PREFIX, &name) <= 0)
                return 0;
        u = fake_systemd_find_unit(f, name);
        if (!u)
                return 0;
        t = type_interface(name);
        if (strcmp(interface, "org.freedesktop.systemd1.Unit") != 0 && (!t || strcmp(interface, t) != 0))
                return 0;
        *ret_found = u;
        return 1;
}

int fake_systemd_start(FakeSystemd *f, const PrivateBus *b, sd_event *e) {
        int r;

        *f = (FakeSystemd) {};
        f->event = sd_event_ref(e);
        r = private_bus_connect(b, e, &f->bus);
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(f->bus, &f->manager_slot, MANAGER_PATH, MANAGER_IFACE, manager_vtable, f);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(f->bus, &f->unit_slot, UNIT_PREFIX, "org.freedesktop.systemd1.Unit",
                                       unit_vtable, find_unit, f);
        if (r < 0)
                return r;
        /* These two stay attached to the bus for its lifetime (floating). */
        r = sd_bus_add_fallback_vtable(f->bus, NULL, UNIT_PREFIX, "org.freedesktop.systemd1.Service",
                                       service_vtable, find_unit, f);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(f->bus, NULL, UNIT_PREFIX, "org.freedesktop.systemd1.Timer", timer_vtable,
                                       find_unit, f);
        if (r < 0)
                return r;
        return sd_bus_request_name(f->bus, "org.freedesktop.systemd1", 0);
}

void fake_systemd_stop(FakeSystemd *f) {
        f->manager_slot = sd_bus_slot_unref(f->manager_slot);
        f->unit_slot = sd_bus_slot_unref(f->unit_slot);
        if (f->bus) {
                sd_bus_flush(f->bus);
                f->bus = sd_bus_flush_close_unref(f->bus);
        }
        for (unsigned i = 0; i < f->n_units; i++) {
                for (char **t = f->units[i].triggers; t && *t; t++)
                        free(*t);
                free(f->units[i].triggers);
        }
        f->event = sd_event_unref(f->event);
}
