/* SPDX-License-Identifier: MIT */
/* Module tests of the systemd bus client against a fake org.freedesktop.systemd1 on a private dbus-daemon. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "basic/macro.h"
#include "fake-systemd.h"
#include "systemd/systemd-client.h"

/* Every wait in these tests ends when its condition holds or after this long. */
#define WAIT_USEC (5 * 1000000ULL)

static PrivateBus private_bus;

typedef struct Ctx {
        sd_event *event;
        sd_bus *bus;
        FakeSystemd fake;
        SystemdClient *client;
} Ctx;

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* Runs the loop until cond holds; fails the test if it does not within WAIT_USEC. */
#define RUN_UNTIL(x, cond)                                                      \
        do {                                                                    \
                uint64_t _deadline = now_usec() + WAIT_USEC;                    \
                while (!(cond)) {                                               \
                        assert_true(now_usec() < _deadline);                    \
                        assert_true(sd_event_run((x)->event, 100000) >= 0);     \
                }                                                               \
        } while (0)

typedef struct JobRecord {
        unsigned n;
        int error;
        bool result_null, unit_null;
        char result[32];
        char unit[64];
        /* When set, the callback frees this client. */
        SystemdClient **free_client;
} JobRecord;

static void on_done(SystemdClient *c, const char *unit, int error, const char *job_result, void *userdata) {
        JobRecord *rec = userdata;

        rec->n++;
        rec->error = error;
        rec->result_null = !job_result;
        snprintf(rec->result, sizeof(rec->result), "%s", job_result ?: "");
        rec->unit_null = !unit;
        snprintf(rec->unit, sizeof(rec->unit), "%s", unit ?: "");
        if (rec->free_client) {
                assert_ptr_equal(*rec->free_client, c);
                *rec->free_client = systemd_client_free(c);
        }
}

/* Makes sure everything the fake sent before now has reached the client: a
 * reload's reply travels behind it on the same connection. */
static void sync_with_fake(Ctx *x, SystemdClient *c) {
        JobRecord rec = {};

        assert_int_equal(systemd_client_reload(c, on_done, &rec), 0);
        RUN_UNTIL(x, rec.n == 1);
        assert_int_equal(rec.error, 0);
}

static int group_setup(void **state) {
        return private_bus_start(&private_bus) < 0 ? -1 : 0;
}

static int group_teardown(void **state) {
        private_bus_stop(&private_bus);
        return 0;
}

static int setup(void **state) {
        Ctx *x = calloc(1, sizeof(Ctx));

        assert_non_null(x);
        assert_int_equal(sd_event_new(&x->event), 0);
        assert_int_equal(fake_systemd_start(&x->fake, &private_bus, x->event), 1);
        assert_int_equal(private_bus_connect(&private_bus, x->event, &x->bus), 0);
        assert_int_equal(systemd_client_new(x->bus, &x->client), 0);
        *state = x;
        return 0;
}

static int teardown(void **state) {
        Ctx *x = *state;

        x->client = systemd_client_free(x->client);
        x->bus = sd_bus_flush_close_unref(x->bus);
        fake_systemd_stop(&x->fake);
        x->event = sd_event_unref(x->event);
        free(x);
        return 0;
}

static void test_start_resets_failed_then_starts_and_follows_the_job(void **state) {
        Ctx *x = *state;
        FakeUnit *u = fake_systemd_add_unit(&x->fake, "report.service");
        JobRecord rec = {};

        u->job_result = "done";
        assert_int_equal(systemd_client_start(x->client, "report.service", on_done, &rec), 0);
        RUN_UNTIL(x, rec.n == 1);
        assert_int_equal(rec.error, 0);
        assert_string_equal(rec.result, "done");
        assert_string_equal(rec.unit, "report.service");
        assert_string_equal(u->active_state, "active");

        /* Subscribe came first, then ResetFailedUnit() before StartUnit(). */
        assert_int_equal(x->fake.n_subscribe, 1);
        assert_string_equal(x->fake.log, "Subscribe\n"
                                         "ResetFailedUnit report.service\n"
                                         "StartUnit report.service replace\n");
}

static void test_start_of_missing_unit_reports_enoent(void **state) {
        Ctx *x = *state;
        JobRecord rec = {};

        assert_int_equal(systemd_client_start(x->client, "missing.service", on_done, &rec), 0);
        RUN_UNTIL(x, rec.n == 1);
        assert_int_equal(rec.error, -ENOENT);
        assert_true(rec.result_null);

        /* A unit known but not found (LoadUnit() made it) is refused the same way. */
        rec = (JobRecord) {};
        assert_int_equal(systemd_client_stop(x->client, "missing.service", on_done, &rec), 0);
        RUN_UNTIL(x, rec.n == 1);
        assert_int_equal(rec.error, -ENOENT);
        assert_true(rec.result_null);
}

static void test_job_results_are_reported(void **state) {
        static const char *const results[] = { "failed", "canceled", "timeout", "dependency", "skipped", "done" };
        Ctx *x = *state;
        FakeUnit *u = fake_systemd_add_unit(&x->fake, "flaky.service");

        for (size_t i = 0; i < ELEMENTSOF(results); i++) {
                JobRecord start = {}, stop = {};

                u->job_result = results[i];
                assert_int_equal(systemd_client_start(x->client, "flaky.service", on_done, &start), 0);
                RUN_UNTIL(x, start.n == 1);
                assert_int_equal(start.error, 0);
                assert_string_equal(start.result, results[i]);

                assert_int_equal(systemd_client_stop(x->client, "flaky.service", on_done, &stop), 0);
                RUN_UNTIL(x, stop.n == 1);
                assert_int_equal(stop.error, 0);
                assert_string_equal(stop.result, results[i]);
        }
        assert_string_equal(u->active_state, "inactive");
}

static void test_job_removed_before_the_reply_is_matched(void **state) {
        Ctx *x = *state;
        FakeUnit *early = fake_systemd_add_unit(&x->fake, "early.service");
        FakeUnit *held = fake_systemd_add_unit(&x->fake, "held.service");
        JobRecord rec_early = {}, rec_held = {}, rec_stop = {};

        held->hold_jobs = true;
        early->job_removed_before_reply = true;
        early->job_result = "failed";

        /* A job of another unit is pending meanwhile and must not be confused. */
        assert_int_equal(systemd_client_start(x->client, "held.service", on_done, &rec_held), 0);
        RUN_UNTIL(x, x->fake.n_start_calls == 1);
        assert_int_equal(systemd_client_start(x->client, "early.service", on_done, &rec_early), 0);
        RUN_UNTIL(x, rec_early.n == 1);
        assert_int_equal(rec_early.error, 0);
        assert_string_equal(rec_early.result, "failed");
        assert_int_equal(rec_held.n, 0);

        early->job_result = "canceled";
        assert_int_equal(systemd_client_stop(x->client, "early.service", on_done, &rec_stop), 0);
        RUN_UNTIL(x, rec_stop.n == 1);
        assert_string_equal(rec_stop.result, "canceled");

        held->job_result = "timeout";
        assert_int_equal(fake_systemd_complete_jobs(&x->fake, held), 1);
        RUN_UNTIL(x, rec_held.n == 1);
        assert_int_equal(rec_held.error, 0);
        assert_string_equal(rec_held.result, "timeout");
}

static unsigned accepted_n;
static void *accepted_userdata;

static void on_accepted(SystemdClient *c, const char *unit, void *userdata) {
        accepted_n++;
        accepted_userdata = userdata;
}

static void test_job_accepted_comes_between_the_reply_and_the_end(void **state) {
        Ctx *x = *state;
        FakeUnit *held = fake_systemd_add_unit(&x->fake, "held.service");
        JobRecord rec = {}, missing = {};

        accepted_n = 0;
        accepted_userdata = NULL;
        systemd_client_set_job_accepted(x->client, on_accepted);
        held->hold_jobs = true;
        assert_int_equal(systemd_client_start(x->client, "held.service", on_done, &rec), 0);
        RUN_UNTIL(x, accepted_n == 1);
        /* Accepted, with the call's userdata, while the job still runs. */
        assert_ptr_equal(accepted_userdata, &rec);
        assert_int_equal(rec.n, 0);
        assert_int_equal(fake_systemd_complete_jobs(&x->fake, held), 1);
        RUN_UNTIL(x, rec.n == 1);
        assert_int_equal(accepted_n, 1);

        /* A call systemd refuses is never "accepted". */
        assert_int_equal(systemd_client_stop(x->client, "missing.service", on_done, &missing), 0);
        RUN_UNTIL(x, missing.n == 1);
        assert_int_equal(missing.error, -ENOENT);
        assert_int_equal(accepted_n, 1);
}

static void test_merged_jobs_both_get_the_result(void **state) {
        Ctx *x = *state;
        FakeUnit *u = fake_systemd_add_unit(&x->fake, "merged.service");
        JobRecord a = {}, b = {};

        u->hold_jobs = true;
        assert_int_equal(systemd_client_start(x->client, "merged.service", on_done, &a), 0);
        assert_int_equal(systemd_client_start(x->client, "merged.service", on_done, &b), 0);
        RUN_UNTIL(x, x->fake.n_start_calls == 2);
        /* Both StartUnit() replies (one job path) reach the client before the job ends. */
        sync_with_fake(x, x->client);
        assert_int_equal(fake_systemd_complete_jobs(&x->fake, u), 1);
        RUN_UNTIL(x, a.n == 1 && b.n == 1);
        assert_string_equal(a.result, "done");
        assert_string_equal(b.result, "done");
}

typedef struct WatchRecord {
        unsigned n;
        UnitStatus last;
        char unit[64];
        bool unwatch_in_callback;
} WatchRecord;

static void on_changed(SystemdClient *c, const char *unit, const UnitStatus *st, void *userdata) {
        WatchRecord *rec = userdata;

        rec->n++;
        rec->last = *st;
        snprintf(rec->unit, sizeof(rec->unit), "%s", unit);
        if (rec->unwatch_in_callback)
                assert_int_equal(systemd_client_unwatch(c, unit), 0);
}

static void test_watch_delivers_initial_state_and_changes(void **state) {
        Ctx *x = *state;
        FakeUnit *a = fake_systemd_add_unit(&x->fake, "a.service");
        FakeUnit *b = fake_systemd_add_unit(&x->fake, "b.service");
        WatchRecord ra = {}, rb = {};

        a->main_pid = 99;
        snprintf(a->active_state, sizeof(a->active_state), "active");
        snprintf(a->sub_state, sizeof(a->sub_state), "running");

        assert_int_equal(systemd_client_watch(x->client, "a.service", on_changed, &ra), 0);
        assert_int_equal(systemd_client_watch(x->client, "b.service", on_changed, &rb), 0);
        assert_int_equal(systemd_client_watch(x->client, "a.service", on_changed, &ra), -EEXIST);
        RUN_UNTIL(x, ra.n == 1 && rb.n == 1);
        assert_string_equal(ra.unit, "a.service");
        assert_int_equal(ra.last.active, UNIT_ACTIVE);
        assert_string_equal(ra.last.sub_state, "running");
        assert_string_equal(ra.last.result, "success");
        assert_int_equal(ra.last.main_pid, 99);
        assert_int_equal(rb.last.active, UNIT_INACTIVE);
        assert_string_equal(rb.last.sub_state, "dead");

        /* A change reaches the watch. */
        assert_true(fake_systemd_set_state(&x->fake, a, "failed", "failed", "exit-code", 0) >= 0);
        RUN_UNTIL(x, ra.n == 2);
        assert_int_equal(ra.last.active, UNIT_FAILED);
        assert_string_equal(ra.last.sub_state, "failed");
        assert_string_equal(ra.last.result, "exit-code");
        assert_int_equal(ra.last.main_pid, 0);

        /* After unwatch, b's changes do not arrive: a's later change does, and
         * the bus delivers in order, so b's would have come first. */
        assert_int_equal(systemd_client_unwatch(x->client, "b.service"), 0);
        assert_int_equal(systemd_client_unwatch(x->client, "b.service"), -ENOENT);
        assert_true(fake_systemd_set_state(&x->fake, b, "active", "running", "success", 7) >= 0);
        assert_true(fake_systemd_set_state(&x->fake, a, "activating", "start", "success", 0) >= 0);
        RUN_UNTIL(x, ra.n >= 3);
        sync_with_fake(x, x->client);
        assert_int_equal(rb.n, 1);
        assert_int_equal(ra.last.active, UNIT_ACTIVATING);

        /* Properties announced as invalidated are read back and delivered. */
        assert_true(fake_systemd_invalidate_state(&x->fake, a, "deactivating", "stop-sigterm") >= 0);
        RUN_UNTIL(x, ra.n >= 4);
        assert_int_equal(ra.n, 4);
        assert_int_equal(ra.last.active, UNIT_DEACTIVATING);
        assert_string_equal(ra.last.sub_state, "stop-sigterm");

        /* A PropertiesChanged that changes nothing tracked is not delivered. */
        unsigned n = ra.n;
        assert_true(fake_systemd_set_state(&x->fake, a, "deactivating", "stop-sigterm", "success", 0) >= 0);
        sync_with_fake(x, x->client);
        assert_int_equal(ra.n, n);
}

static void test_watch_of_a_timer_and_unwatch_from_its_callback(void **state) {
        Ctx *x = *state;
        FakeUnit *t = fake_systemd_add_unit(&x->fake, "billing.timer");
        WatchRecord rec = { .unwatch_in_callback = true }, sock = {};
        JobRecord start = {};

        assert_int_equal(systemd_client_watch(x->client, "billing.timer", on_changed, &rec), 0);
        RUN_UNTIL(x, rec.n == 1);
        assert_int_equal(rec.last.active, UNIT_INACTIVE);
        assert_int_equal(rec.last.main_pid, 0);

        /* A unit whose type interface cannot be read (the fake has no Socket
         * interface) still gets its state from the Unit interface. */
        fake_systemd_add_unit(&x->fake, "web.socket");
        assert_int_equal(systemd_client_watch(x->client, "web.socket", on_changed, &sock), 0);
        RUN_UNTIL(x, sock.n == 1);
        assert_int_equal(sock.last.active, UNIT_INACTIVE);
        assert_string_equal(sock.last.result, "");

        /* The watch ended in its own callback: the timer's start goes unseen. */
        assert_int_equal(systemd_client_start(x->client, "billing.timer", on_done, &start), 0);
        RUN_UNTIL(x, start.n == 1);
        sync_with_fake(x, x->client);
        assert_string_equal(t->sub_state, "waiting");
        assert_int_equal(rec.n, 1);
}

typedef struct InfoRecord {
        unsigned n;
        int error;
        char load_state[32], unit_file_state[32];
        UnitStatus status;
        char triggers[4][64];
        size_t n_triggers;
} InfoRecord;

static void on_info(SystemdClient *c, const char *unit, int error, const UnitInfo *info, void *userdata) {
        InfoRecord *rec = userdata;

        rec->n++;
        rec->error = error;
        if (error < 0) {
                assert_null(info);
                return;
        }
        snprintf(rec->load_state, sizeof(rec->load_state), "%s", info->load_state);
        snprintf(rec->unit_file_state, sizeof(rec->unit_file_state), "%s", info->unit_file_state);
        rec->status = info->status;
        assert_non_null(info->triggers);
        for (rec->n_triggers = 0; info->triggers[rec->n_triggers] && rec->n_triggers < 4; rec->n_triggers++)
                snprintf(rec->triggers[rec->n_triggers], 64, "%s", info->triggers[rec->n_triggers]);
}

static void test_unit_info_reads_triggers_and_states(void **state) {
        Ctx *x = *state;
        FakeUnit *t = fake_systemd_add_unit(&x->fake, "billing.timer");
        FakeUnit *s = fake_systemd_add_unit(&x->fake, "billing.service");
        InfoRecord ti = {}, si = {}, ni = {};

        t->triggers = calloc(2, sizeof(char *));
        assert_non_null(t->triggers);
        t->triggers[0] = strdup("billing.service");
        snprintf(t->unit_file_state, sizeof(t->unit_file_state), "enabled");
        snprintf(t->active_state, sizeof(t->active_state), "active");
        snprintf(t->sub_state, sizeof(t->sub_state), "waiting");
        snprintf(s->active_state, sizeof(s->active_state), "active");
        snprintf(s->sub_state, sizeof(s->sub_state), "running");
        s->main_pid = 77;

        assert_int_equal(systemd_client_unit_info(x->client, "billing.timer", on_info, &ti), 0);
        assert_int_equal(systemd_client_unit_info(x->client, "billing.service", on_info, &si), 0);
        assert_int_equal(systemd_client_unit_info(x->client, "nothing.service", on_info, &ni), 0);
        RUN_UNTIL(x, ti.n == 1 && si.n == 1 && ni.n == 1);

        assert_int_equal(ti.error, 0);
        assert_string_equal(ti.load_state, "loaded");
        assert_string_equal(ti.unit_file_state, "enabled");
        assert_int_equal(ti.n_triggers, 1);
        assert_string_equal(ti.triggers[0], "billing.service");
        assert_int_equal(ti.status.active, UNIT_ACTIVE);
        assert_string_equal(ti.status.sub_state, "waiting");
        assert_string_equal(ti.status.result, "success");
        assert_int_equal(ti.status.main_pid, 0);

        assert_int_equal(si.error, 0);
        assert_string_equal(si.unit_file_state, "disabled");
        assert_int_equal(si.n_triggers, 0);
        assert_int_equal(si.status.main_pid, 77);
        assert_string_equal(si.status.sub_state, "running");

        /* A name without a unit file loads as "not-found", not as an error. */
        assert_int_equal(ni.error, 0);
        assert_string_equal(ni.load_state, "not-found");
        assert_int_equal(ni.status.active, UNIT_INACTIVE);
}

typedef struct ProcRecord {
        unsigned n;
        int error;
        size_t n_processes;
} ProcRecord;

static void on_processes(SystemdClient *c, const char *unit, int error, size_t n_processes, void *userdata) {
        ProcRecord *rec = userdata;

        rec->n++;
        rec->error = error;
        rec->n_processes = n_processes;
}

static void test_unit_processes_counts_the_cgroup(void **state) {
        Ctx *x = *state;
        ProcRecord busy = {}, empty = {}, ghost = {};

        fake_systemd_add_unit(&x->fake, "busy.service")->n_processes = 3;
        fake_systemd_add_unit(&x->fake, "empty.service");

        assert_int_equal(systemd_client_unit_processes(x->client, "busy.service", on_processes, &busy), 0);
        assert_int_equal(systemd_client_unit_processes(x->client, "empty.service", on_processes, &empty), 0);
        assert_int_equal(systemd_client_unit_processes(x->client, "ghost.service", on_processes, &ghost), 0);
        RUN_UNTIL(x, busy.n == 1 && empty.n == 1 && ghost.n == 1);
        assert_int_equal(busy.error, 0);
        assert_int_equal(busy.n_processes, 3);
        assert_int_equal(empty.error, 0);
        assert_int_equal(empty.n_processes, 0);
        /* A unit systemd has not loaded has no cgroup: empty, not an error. */
        assert_int_equal(ghost.error, 0);
        assert_int_equal(ghost.n_processes, 0);
}

static void test_kill_disable_and_reload(void **state) {
        Ctx *x = *state;
        FakeUnit *u = fake_systemd_add_unit(&x->fake, "report.service");
        JobRecord kill = {}, kill_missing = {}, disable = {}, reload = {};

        assert_int_equal(systemd_client_kill(x->client, "report.service", SIGKILL, on_done, &kill), 0);
        assert_int_equal(systemd_client_kill(x->client, "gone.service", SIGKILL, on_done, &kill_missing), 0);
        RUN_UNTIL(x, kill.n == 1 && kill_missing.n == 1);
        assert_int_equal(kill.error, 0);
        assert_string_equal(kill.result, "done");
        assert_string_equal(x->fake.kill_whom, "all");
        assert_int_equal(x->fake.kill_signal, SIGKILL);
        assert_int_equal(kill_missing.error, -ENOENT);

        snprintf(u->unit_file_state, sizeof(u->unit_file_state), "enabled");
        x->fake.log[0] = 0;
        assert_int_equal(systemd_client_disable(x->client, "report.service", on_done, &disable), 0);
        RUN_UNTIL(x, disable.n == 1);
        assert_int_equal(disable.error, 0);
        assert_string_equal(disable.result, "done");
        assert_string_equal(u->unit_file_state, "disabled");
        assert_string_equal(x->fake.log, "DisableUnitFiles report.service false\nReload\n");

        assert_int_equal(systemd_client_reload(x->client, on_done, &reload), 0);
        RUN_UNTIL(x, reload.n == 1);
        assert_int_equal(reload.error, 0);
        assert_string_equal(reload.result, "done");
        assert_true(reload.unit_null);
}

static void test_bad_arguments_are_refused(void **state) {
        static const char *const bad[] = { "", "a/b.service", "report", "report.conf", "x@.service", "a b.service" };
        Ctx *x = *state;
        JobRecord rec = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(systemd_client_start(x->client, bad[i], on_done, &rec), -EINVAL);
                assert_int_equal(systemd_client_stop(x->client, bad[i], on_done, &rec), -EINVAL);
                assert_int_equal(systemd_client_kill(x->client, bad[i], SIGKILL, on_done, &rec), -EINVAL);
                assert_int_equal(systemd_client_disable(x->client, bad[i], on_done, &rec), -EINVAL);
                assert_int_equal(systemd_client_unit_info(x->client, bad[i], on_info, &rec), -EINVAL);
                assert_int_equal(systemd_client_unit_processes(x->client, bad[i], on_processes, &rec), -EINVAL);
                assert_int_equal(systemd_client_watch(x->client, bad[i], on_changed, &rec), -EINVAL);
                assert_int_equal(systemd_client_unwatch(x->client, bad[i]), -EINVAL);
                assert_int_equal(systemd_client_forget_unit(x->client, bad[i]), -EINVAL);
        }
        assert_int_equal(systemd_client_start(x->client, NULL, on_done, &rec), -EINVAL);
        assert_int_equal(systemd_client_kill(x->client, "a.service", 0, on_done, &rec), -EINVAL);
        assert_int_equal(systemd_client_kill(x->client, "a.service", 4096, on_done, &rec), -EINVAL);
        assert_int_equal(systemd_client_new(NULL, NULL), -EINVAL);
        sync_with_fake(x, x->client);
        assert_int_equal(rec.n, 0);

        assert_int_equal(unit_active_state_from_string("deactivating"), UNIT_DEACTIVATING);
        assert_int_equal(unit_active_state_from_string("bogus"), _UNIT_ACTIVE_STATE_INVALID);
        assert_int_equal(unit_active_state_from_string(NULL), _UNIT_ACTIVE_STATE_INVALID);
        for (UnitActiveState s = 0; s < _UNIT_ACTIVE_STATE_MAX; s++)
                assert_int_equal(unit_active_state_from_string(unit_active_state_to_string(s)), s);
        assert_null(unit_active_state_to_string(_UNIT_ACTIVE_STATE_MAX));
        assert_null(unit_active_state_to_string(_UNIT_ACTIVE_STATE_INVALID));
}

static void test_forgotten_and_freed_calls_never_call_back(void **state) {
        Ctx *x = *state;
        FakeUnit *u = fake_systemd_add_unit(&x->fake, "slow.service");
        SystemdClient *other = NULL;
        JobRecord forgotten = {}, freed = {}, kept = {};
        WatchRecord w = {};

        fake_systemd_add_unit(&x->fake, "quick.service");
        u->hold_jobs = true;
        assert_int_equal(systemd_client_start(x->client, "slow.service", on_done, &forgotten), 0);
        assert_int_equal(systemd_client_watch(x->client, "slow.service", on_changed, &w), 0);
        RUN_UNTIL(x, x->fake.n_start_calls == 1 && w.n == 1);
        assert_int_equal(systemd_client_forget_unit(x->client, "slow.service"), 2);
        assert_int_equal(systemd_client_forget_unit(x->client, "slow.service"), 0);
        assert_int_equal(fake_systemd_complete_jobs(&x->fake, u), 1);
        sync_with_fake(x, x->client);
        assert_int_equal(forgotten.n, 0);
        assert_int_equal(w.n, 1);

        /* A second client on the same connection: its Subscribe() is harmless,
         * and freeing it with a job in flight drops the callback. */
        assert_int_equal(systemd_client_new(x->bus, &other), 0);
        assert_int_equal(systemd_client_start(other, "slow.service", on_done, &freed), 0);
        assert_int_equal(systemd_client_stop(x->client, "quick.service", on_done, &kept), 0);
        RUN_UNTIL(x, x->fake.n_start_calls == 2);
        other = systemd_client_free(other);
        assert_int_equal(fake_systemd_complete_jobs(&x->fake, u), 1);
        sync_with_fake(x, x->client);
        assert_int_equal(freed.n, 0);
        /* The client that was not freed still gets its own result. */
        RUN_UNTIL(x, kept.n == 1);
        assert_string_equal(kept.result, "done");
}

static void test_client_freed_from_its_callback(void **state) {
        Ctx *x = *state;
        FakeUnit *u = fake_systemd_add_unit(&x->fake, "merged.service");
        SystemdClient *c = NULL;
        JobRecord a = {}, b = {};

        /* Two callbacks of one merged job: the first frees the client, the
         * second must then not be called. */
        assert_int_equal(systemd_client_new(x->bus, &c), 0);
        a.free_client = &c;
        b.free_client = &c;
        u->hold_jobs = true;
        assert_int_equal(systemd_client_start(c, "merged.service", on_done, &a), 0);
        assert_int_equal(systemd_client_start(c, "merged.service", on_done, &b), 0);
        RUN_UNTIL(x, x->fake.n_start_calls == 2);
        sync_with_fake(x, c);
        assert_int_equal(fake_systemd_complete_jobs(&x->fake, u), 1);
        RUN_UNTIL(x, a.n + b.n >= 1);
        sync_with_fake(x, x->client);
        assert_int_equal(a.n + b.n, 1);
        assert_null(c);

}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_start_resets_failed_then_starts_and_follows_the_job, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_start_of_missing_unit_reports_enoent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_job_results_are_reported, setup, teardown),
                cmocka_unit_test_setup_teardown(test_job_removed_before_the_reply_is_matched, setup, teardown),
                cmocka_unit_test_setup_teardown(test_job_accepted_comes_between_the_reply_and_the_end, setup, teardown),
                cmocka_unit_test_setup_teardown(test_merged_jobs_both_get_the_result, setup, teardown),
                cmocka_unit_test_setup_teardown(test_watch_delivers_initial_state_and_changes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_watch_of_a_timer_and_unwatch_from_its_callback, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_unit_info_reads_triggers_and_states, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unit_processes_counts_the_cgroup, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill_disable_and_reload, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_arguments_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_forgotten_and_freed_calls_never_call_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_client_freed_from_its_callback, setup, teardown),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
