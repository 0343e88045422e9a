/* SPDX-License-Identifier: MIT */
/* "pesctl acquire NAME [-- CMD…]": holds a cluster-wide name for as long as pesctl (or CMD) runs, and stops CMD if the name is lost. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "ctl/bus-util.h"
#include "ctl/ctl-acquire.h"
#include "ctl/ctl-format.h"
#include "ctl/pes-api.h"

typedef struct Acquire {
        sd_event *event;
        sd_bus *bus;
        const char *name;
        char **cmd;
        JsonMode json;
        char *node_name;

        bool held;     /* Acquire succeeded */
        bool lost;     /* pesd said the name went elsewhere, or pesd went away */
        bool finished; /* the event loop has been told to exit */
        uint64_t token;

        pid_t pid; /* CMD, while it runs */
        sd_event_source *child_source;
        sd_event_source *kill_timer;
} Acquire;

static void finish(Acquire *a, int status) {
        if (a->finished)
                return;
        a->finished = true;
        (void) sd_event_exit(a->event, status);
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Acquire *a = userdata;

        char buf[FORMAT_TIMESPAN_MAX];

        if (a->pid > 0) {
                log_error("%s did not stop within %s of SIGTERM; killing it.", a->cmd[0],
                          format_timespan(buf, sizeof(buf), CTL_ACQUIRE_STOP_TIMEOUT_USEC));
                (void) kill(a->pid, SIGKILL);
        }
        return 0;
}

/* The name is no longer ours: stop CMD (its exit ends the loop) or end the loop now. */
static void name_lost(Acquire *a, const char *why) {
        int r;

        if (a->lost)
                return;
        a->lost = true;

        if (a->pid <= 0) {
                log_error("Lost %s: %s.", a->name, why);
                finish(a, PESCTL_EXIT_NAME_LOST);
                return;
        }

        log_error("Lost %s: %s. Stopping %s.", a->name, why, a->cmd[0]);
        (void) kill(a->pid, SIGTERM);
        r = sd_event_add_time_relative(a->event, &a->kill_timer, CLOCK_MONOTONIC,
                                       CTL_ACQUIRE_STOP_TIMEOUT_USEC, 0, on_kill_timer, a);
        if (r < 0) {
                /* Without the timer there is no second chance: kill it now. */
                log_warning_errno(r, "Failed to arm the kill timer, killing %s at once: %m", a->cmd[0]);
                (void) kill(a->pid, SIGKILL);
        }
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        const char *name, *owner;
        char why[512];
        uint64_t token;
        int r;

        /* Signals that arrive before the reply to Acquire describe the name before it
         * was ours (messages are dispatched in the order they were received), so only
         * those that follow the reply can say it was lost. */
        if (!a->held || a->lost)
                return 0;

        r = pes_read_owner_changed(m, &name, &owner, &token);
        if (r < 0) {
                log_warning_errno(r, "Ignoring a malformed OwnerChanged signal: %m");
                return 0;
        }
        if (strcmp(name, a->name) != 0)
                return 0;

        /* The fencing token stays the same for as long as a tenure lasts, so the name
         * is still ours only if this node holds it with our token. */
        if (strcmp(owner, a->node_name) == 0 && token == a->token)
                return 0;

        if (owner[0] == 0)
                snprintf(why, sizeof(why), "it has no owner now");
        else
                snprintf(why, sizeof(why), "now held by %s with fencing token %" PRIu64, owner, token);
        name_lost(a, why);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;
        const char *bus_name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &bus_name, &old_owner, &new_owner) < 0)
                return 0;
        if (strcmp(bus_name, PES_BUS_NAME) != 0 || new_owner[0] != 0)
                return 0;

        /* While Acquire is pending, its error reply reports this. */
        if (a->held)
                name_lost(a, "pesd left the bus");
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Acquire *a = userdata;

        if (a->held) {
                name_lost(a, "the connection to the bus broke");
                return 0;
        }
        if (!a->finished) {
                log_error("Failed to acquire %s: the connection to the bus broke.", a->name);
                finish(a, PESCTL_EXIT_FAILURE);
        }
        return 0;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Acquire *a = userdata;
        int status;

        a->pid = 0;
        a->kill_timer = sd_event_source_disable_unref(a->kill_timer);

        if (si->si_code == CLD_EXITED)
                status = si->si_status;
        else {
                log_debug("%s was killed by signal %s.", a->cmd[0], strsignal(si->si_status));
                status = 128 + si->si_status;
        }

        finish(a, a->lost ? PESCTL_EXIT_NAME_LOST : status);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Acquire *a = userdata;

        if (!a->held) {
                log_error("Interrupted while waiting for %s.", a->name);
                finish(a, PESCTL_EXIT_FAILURE);
                return 0;
        }

        if (a->pid > 0) {
                /* A terminal sends Ctrl-C to its whole foreground process group, CMD
                 * included; passing it on would deliver it twice. */
                if (si->ssi_signo != SIGINT || si->ssi_code != SI_KERNEL)
                        (void) kill(a->pid, (int) si->ssi_signo);
                return 0;
        }

        if (!a->lost)
                finish(a, PESCTL_EXIT_SUCCESS);
        return 0;
}

/* The environment of CMD: ours, with PES_NAME and PES_FENCING_TOKEN set. */
static char **build_environment(const Acquire *a) {
        extern char **environ;
        size_t n = 0, k = 0;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 3, sizeof(char *));
        if (!env)
                return NULL;

        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "PES_NAME=", 9) != 0 &&
                    strncmp(environ[i], "PES_FENCING_TOKEN=", 18) != 0)
                        env[k++] = environ[i];
        /* Only the two strings made here are owned by the array; see free_environment(). */
        if (asprintf(&env[k], "PES_NAME=%s", a->name) < 0) {
                free(env);
                return NULL;
        }
        if (asprintf(&env[k + 1], "PES_FENCING_TOKEN=%" PRIu64, a->token) < 0) {
                free(env[k]);
                free(env);
                return NULL;
        }
        return env;
}

static void free_environment(char **env) {
        size_t n = 0;

        if (!env)
                return;
        while (env[n])
                n++;
        /* The last two entries are ours (build_environment() appends them). */
        free(env[n - 1]);
        free(env[n - 2]);
        free(env);
}

static int spawn_cmd(Acquire *a) {
        char **env;
        sigset_t none;
        pid_t pid;
        int r;

        env = build_environment(a);
        if (!env)
                return log_error_errno(ENOMEM, "Failed to prepare the environment of %s: %m", a->cmd[0]);

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                free_environment(env);
                return log_error_errno(r, "Failed to start %s: %m", a->cmd[0]);
        }
        if (pid == 0) {
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                (void) signal(SIGPIPE, SIG_DFL);
                execvpe(a->cmd[0], a->cmd, env);
                r = errno;
                log_error_errno(r, "Failed to execute %s: %m", a->cmd[0]);
                _exit(r == ENOENT ? 127 : 126);
        }
        free_environment(env);

        a->pid = pid;
        r = sd_event_add_child(a->event, &a->child_source, pid, WEXITED, on_child, a);
        if (r < 0) {
                log_error_errno(r, "Failed to watch %s: %m", a->cmd[0]);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                a->pid = 0;
                return r;
        }
        return 0;
}

static int on_acquire_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        Acquire *a = userdata;
        int r;

        if (a->finished)
                return 0;

        if (sd_bus_message_is_method_error(m, NULL)) {
                finish(a, ctl_log_bus_error(sd_bus_message_get_error(m), -sd_bus_message_get_errno(m),
                                            "acquire", a->name));
                return 0;
        }

        r = pes_read_acquire_reply(m, &a->token);
        if (r < 0) {
                log_error_errno(r, "Failed to read the reply of Acquire for %s: %m", a->name);
                finish(a, PESCTL_EXIT_FAILURE);
                return 0;
        }
        a->held = true;

        if (a->cmd && a->cmd[0]) {
                /* CMD finds the token in its environment; stdout is left to CMD. */
                log_debug("Acquired %s with fencing token %" PRIu64 ".", a->name, a->token);
                if (spawn_cmd(a) < 0)
                        finish(a, PESCTL_EXIT_FAILURE);
                return 0;
        }

        if (a->json != JSON_MODE_OFF) {
                j = ctl_acquired_to_json(a->name, a->token);
                r = j ? json_print(stdout, j, a->json) : -ENOMEM;
        } else
                r = printf("Acquired %s with fencing token %" PRIu64 "; holding it until interrupted.\n",
                           a->name, a->token) < 0 ? -EIO : 0;
        if (r >= 0 && fflush(stdout) != 0)
                r = -EIO;
        if (r < 0)
                log_warning_errno(r, "Failed to print the fencing token: %m");
        return 0;
}

static void acquire_done(Acquire *a) {
        a->kill_timer = sd_event_source_disable_unref(a->kill_timer);
        a->child_source = sd_event_source_disable_unref(a->child_source);
        free(a->node_name);
        sd_event_unref(a->event);
}

#define OWNER_CHANGED_RULE                                                              \
        "type='signal',sender='" PES_BUS_NAME "',path='" PES_BUS_PATH "',"             \
        "interface='" PES_BUS_INTERFACE "',member='OwnerChanged'"

/*
 * The match rule for OwnerChanged of name. The bus filters on arg0 when it can; a
 * name with an apostrophe or a backslash cannot be quoted in a way that both
 * sd-bus and dbus-daemon read alike (sd-bus takes a backslash inside quotes as an
 * escape, the D-Bus specification does not), so such a name gets every
 * OwnerChanged, and on_owner_changed() picks its own.
 */
static int owner_changed_rule(const char *name, char **ret) {
        if (strpbrk(name, "'\\"))
                *ret = strdup(OWNER_CHANGED_RULE);
        else if (asprintf(ret, OWNER_CHANGED_RULE ",arg0='%s'", name) < 0)
                *ret = NULL;
        return *ret ? 0 : -ENOMEM;
}

static int acquire_setup(Acquire *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(pes_manager_done) PesManager m = {};
        _cleanup_free_ char *rule = NULL;
        int r;

        r = sd_event_default(&a->event);
        if (r < 0) {
                log_error_errno(r, "Failed to create an event loop: %m");
                return PESCTL_EXIT_FAILURE;
        }

        for (const int *sig = (const int[]) { SIGINT, SIGTERM, SIGHUP, 0 }; *sig; sig++) {
                r = sd_event_add_signal(a->event, NULL, *sig, on_signal, a);
                if (r < 0) {
                        log_error_errno(r, "Failed to handle signal %s: %m", strsignal(*sig));
                        return PESCTL_EXIT_FAILURE;
                }
        }

        r = pes_get_manager(a->bus, &m, &error);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "acquire", a->name);
        a->node_name = TAKE_PTR(m.node_name);

        /* Subscribed before Acquire is sent, so that no loss can slip in between. */
        r = owner_changed_rule(a->name, &rule);
        if (r >= 0)
                r = sd_bus_add_match(a->bus, NULL, rule, on_owner_changed, a);
        if (r >= 0)
                r = sd_bus_add_match(a->bus, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                     "arg0='" PES_BUS_NAME "'",
                                     on_name_owner_changed, a);
        if (r >= 0)
                r = sd_bus_match_signal(a->bus, NULL, NULL, "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, a);
        if (r < 0) {
                log_error_errno(r, "Failed to subscribe to the signals of pesd: %m");
                return PESCTL_EXIT_FAILURE;
        }

        /* By default sd-bus closes an attached connection when the loop exits; Release
         * still has to go out after that. */
        r = sd_bus_set_close_on_exit(a->bus, false);
        if (r >= 0)
                r = sd_bus_attach_event(a->bus, a->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_error_errno(r, "Failed to attach the bus to the event loop: %m");
                return PESCTL_EXIT_FAILURE;
        }
        return PESCTL_EXIT_SUCCESS;
}

static int acquire_send(Acquire *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = pes_new_acquire(a->bus, a->name, &m);
        if (r >= 0)
                /* No timeout: pesd answers once the name is ours, however long that takes. */
                r = sd_bus_call_async(a->bus, NULL, m, on_acquire_reply, a, UINT64_MAX);
        if (r < 0) {
                log_error_errno(r, "Failed to send Acquire for %s: %m", a->name);
                return PESCTL_EXIT_FAILURE;
        }
        return PESCTL_EXIT_SUCCESS;
}

static void release(Acquire *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!sd_bus_is_open(a->bus))
                return;

        r = pes_release(a->bus, a->name, &error);
        if (r >= 0)
                return;
        /* After a loss pesd may no longer count the name as ours; that is no failure. */
        if (a->lost)
                log_debug("Release of %s after losing it: %s", a->name,
                          sd_bus_error_is_set(&error) ? error.message : strerror(-r));
        else
                (void) ctl_log_bus_error(&error, r, "release", a->name);
}

int ctl_acquire(sd_bus *bus, const char *name, char **cmd, JsonMode json) {
        Acquire a = {
                .bus = bus,
                .name = name,
                .cmd = cmd,
                .json = json,
        };
        sigset_t mask, saved;
        int status;

        assert(bus);
        assert(name);

        /* sd-event takes signals and child exits through descriptors, which needs them
         * blocked; CMD gets an empty mask back before exec. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &mask, &saved);

        status = acquire_setup(&a);
        if (status == PESCTL_EXIT_SUCCESS)
                status = acquire_send(&a);
        if (status == PESCTL_EXIT_SUCCESS) {
                int r = sd_event_loop(a.event);

                if (r < 0) {
                        log_error_errno(r, "Event loop failed: %m");
                        status = PESCTL_EXIT_FAILURE;
                } else
                        status = r;
        }

        if (a.pid > 0) {
                /* Only reached when the loop itself failed: do not leave CMD behind. */
                (void) kill(a.pid, SIGKILL);
                (void) waitpid(a.pid, NULL, 0);
        }
        if (a.held)
                release(&a);

        (void) sd_bus_detach_event(bus);
        acquire_done(&a);
        (void) sigprocmask(SIG_SETMASK, &saved, NULL);
        return status;
}
