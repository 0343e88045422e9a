/* SPDX-License-Identifier: MIT */
/* Tests of the LMDB acceptor store: durability across reopen, commit order, coalescing, corruption. */
#include <errno.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "daemon/store.h"

static char dir[64];
static sd_event *event;

static int setup(void **state) {
        snprintf(dir, sizeof dir, "/tmp/pes-test-store-XXXXXX");
        assert_non_null(mkdtemp(dir));
        assert_int_equal(sd_event_new(&event), 0);
        return 0;
}

static int teardown(void **state) {
        char cmd[128];

        event = sd_event_unref(event);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        return 0;
}

typedef struct Done {
        int calls;
        int error;
        int order[128];
} Done;

static void on_done(Store *s, int error, void *userdata) {
        Done *d = userdata;

        d->error = error;
        d->calls++;
}

static int order_index;
static void on_done_ordered(Store *s, int error, void *userdata) {
        int *slot = userdata;

        assert_int_equal(error, 0);
        *slot = ++order_index;
}

/* Runs the loop until *counter reaches target or 5 s pass. */
static void run_until(const int *counter, int target) {
        usec_t deadline = now(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;

        while (*counter < target) {
                assert_true(now(CLOCK_MONOTONIC) < deadline);
                assert_true(sd_event_run(event, 100 * USEC_PER_MSEC) >= 0);
        }
}

static RegValue lease_value(uint64_t counter, uint16_t host, uint64_t seq) {
        return (RegValue){
                .ba = { counter, host },
                .seq = seq,
                .kind = VALUE_LEASE,
                .holder = host,
                .token = (counter << 16) | host,
                .lease_usec = 3 * USEC_PER_SEC,
        };
}

static void assert_value_equal(const RegValue *a, const RegValue *b) {
        assert_int_equal(a->ba.counter, b->ba.counter);
        assert_int_equal(a->ba.host, b->ba.host);
        assert_int_equal(a->seq, b->seq);
        assert_int_equal(a->kind, b->kind);
        assert_int_equal(a->holder, b->holder);
        assert_int_equal(a->token, b->token);
        assert_int_equal(a->lease_usec, b->lease_usec);
}

typedef struct Loaded {
        int n;
        char names[8][PES_NAME_MAX + 1];
        Ballot bp[8];
        RegValue v[8];
} Loaded;

static int collect(const char *name, const Ballot *bp, const RegValue *v, void *userdata) {
        Loaded *l = userdata;

        assert_true(l->n < 8);
        snprintf(l->names[l->n], sizeof l->names[0], "%s", name);
        l->bp[l->n] = *bp;
        l->v[l->n] = *v;
        l->n++;
        return 0;
}

static void test_commit_is_reported_and_survives_reopen(void **state) {
        Store *s;
        bool existed = true;
        Done d = {};
        Ballot bp = { 7, 2 };
        RegValue v = lease_value(7, 2, 3);
        Loaded l = {};

        assert_int_equal(store_open(dir, event, &s, &existed), 0);
        assert_false(existed);
        assert_int_equal(store_stage(s, "report.service", &bp, &v), 0);
        assert_true(store_has_staged(s));
        assert_int_equal(store_commit(s, on_done, &d), 0);
        assert_false(store_has_staged(s));
        assert_int_equal(store_pending(s), 1);
        /* The callback runs on the loop, never inside store_commit(). */
        assert_int_equal(d.calls, 0);
        run_until(&d.calls, 1);
        assert_int_equal(d.error, 0);
        assert_int_equal(store_pending(s), 0);
        store_free(s);

        assert_int_equal(store_open(dir, event, &s, &existed), 0);
        assert_true(existed);
        assert_int_equal(store_load(s, collect, &l), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.names[0], "report.service");
        assert_int_equal(l.bp[0].counter, 7);
        assert_int_equal(l.bp[0].host, 2);
        assert_value_equal(&l.v[0], &v);
        store_free(s);
}

static void test_commits_complete_in_order(void **state) {
        Store *s;
        int slots[100] = {};
        Ballot bp = { 1, 1 };

        order_index = 0;
        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        for (int i = 0; i < 100; i++) {
                char name[32];
                RegValue v = lease_value(1, 1, (uint64_t) i);

                snprintf(name, sizeof name, "n%d.service", i % 7);
                /* Every other commit is empty: it still completes in its place. */
                if (i % 2 == 0)
                        assert_int_equal(store_stage(s, name, &bp, &v), 0);
                assert_int_equal(store_commit(s, on_done_ordered, &slots[i]), 0);
        }
        run_until(&order_index, 100);
        for (int i = 0; i < 100; i++)
                assert_int_equal(slots[i], i + 1);
        store_free(s);
}

/* Holds LMDB's write lock in a child process until told to let go. */
static pid_t hold_write_lock(int *ret_go) {
        int ready[2], go[2];
        pid_t pid;
        char c;

        assert_int_equal(pipe(ready), 0);
        assert_int_equal(pipe(go), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                MDB_env *env;
                MDB_txn *txn;
                char path[128];

                snprintf(path, sizeof path, "%s/acceptor.mdb", dir);
                if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 2) != 0 ||
                    mdb_env_open(env, path, MDB_NOSUBDIR, 0600) != 0 || mdb_txn_begin(env, NULL, 0, &txn) != 0)
                        _exit(1);
                (void) !write(ready[1], "r", 1);
                (void) !read(go[0], &c, 1);
                mdb_txn_abort(txn);
                mdb_env_close(env);
                _exit(0);
        }
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        close(ready[1]);
        close(go[0]);
        *ret_go = go[1];
        return pid;
}

static void test_commits_queued_meanwhile_share_one_transaction(void **state) {
        Store *s;
        int slots[50] = {}, go, status;
        Ballot bp = { 3, 1 };
        pid_t child;

        order_index = 0;
        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        child = hold_write_lock(&go);
        /* The writer blocks on the lock with at most the first commit; the other
         * 49 queue up behind it and must go in one transaction once it is free. */
        for (int i = 0; i < 50; i++) {
                char name[32];
                RegValue v = lease_value(3, 1, (uint64_t) i);

                snprintf(name, sizeof name, "g%d.service", i);
                assert_int_equal(store_stage(s, name, &bp, &v), 0);
                assert_int_equal(store_commit(s, on_done_ordered, &slots[i]), 0);
        }
        assert_int_equal(write(go, "g", 1), 1);
        close(go);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        run_until(&order_index, 50);
        for (int i = 0; i < 50; i++)
                assert_int_equal(slots[i], i + 1);
        assert_true(store_transactions(s) <= 2);
        assert_true(store_transactions(s) >= 1);
        store_free(s);
}

static void test_restaging_a_name_keeps_its_last_state(void **state) {
        Store *s;
        Done d = {};
        Ballot bp1 = { 1, 1 }, bp2 = { 5, 3 };
        RegValue v1 = lease_value(1, 1, 1), v2 = lease_value(5, 3, 9);
        Loaded l = {};

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_stage(s, "a.service", &bp1, &v1), 0);
        assert_int_equal(store_stage(s, "b.service", &bp1, &v1), 0);
        assert_int_equal(store_stage(s, "a.service", &bp2, &v2), 0);
        assert_int_equal(store_commit(s, on_done, &d), 0);
        run_until(&d.calls, 1);
        assert_int_equal(store_load(s, collect, &l), 0);
        assert_int_equal(l.n, 2);
        assert_string_equal(l.names[0], "a.service");
        assert_int_equal(l.bp[0].counter, 5);
        assert_int_equal(l.v[0].seq, 9);
        store_free(s);
}

static void test_free_reports_pending_commits(void **state) {
        Store *s;
        Done d = {};
        Ballot bp = { 2, 2 };
        RegValue v = lease_value(2, 2, 0);
        Loaded l = {};

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        for (int i = 0; i < 10; i++) {
                assert_int_equal(store_stage(s, "x.service", &bp, &v), 0);
                assert_int_equal(store_commit(s, on_done, &d), 0);
        }
        store_free(s);
        assert_int_equal(d.calls, 10);
        assert_int_equal(d.error, 0);

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_load(s, collect, &l), 0);
        assert_int_equal(l.n, 1);
        store_free(s);
}

static void test_meta_values(void **state) {
        Store *s;
        uint64_t x = 0;
        Done d = {};

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_get_meta(s, "incarnation", &x), -ENOENT);
        assert_int_equal(store_put_meta_sync(s, "incarnation", 41), 0);
        assert_int_equal(store_get_meta(s, "incarnation", &x), 0);
        assert_int_equal(x, 41);
        assert_int_equal(store_stage_meta(s, "initialised", 1), 0);
        assert_int_equal(store_commit(s, on_done, &d), 0);
        run_until(&d.calls, 1);
        store_free(s);

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_get_meta(s, "initialised", &x), 0);
        assert_int_equal(x, 1);
        assert_int_equal(store_get_meta(s, "", &x), -EINVAL);
        assert_int_equal(store_get_meta(s, "a-key-that-is-far-too-long-for-the-meta-table", &x), -EINVAL);
        store_free(s);
}

static void test_bad_arguments(void **state) {
        Store *s;
        char longname[PES_NAME_MAX + 2];
        Ballot bp = {};
        RegValue v = {};

        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        assert_int_equal(store_open(NULL, event, &s, NULL), -EINVAL);
        assert_int_equal(store_open("/nonexistent/dir", event, &s, NULL), -ENOENT);
        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_stage(s, longname, &bp, &v), -ENAMETOOLONG);
        assert_int_equal(store_stage(s, "", &bp, &v), -EINVAL);
        assert_false(store_has_staged(s));
        store_free(s);
}

static void test_record_codec_rejects_corruption(void **state) {
        uint8_t buf[STORE_RECORD_SIZE];
        Ballot bp = { UINT64_MAX, 0xffff }, b2;
        RegValue v = lease_value(UINT64_MAX - 1, 0xfffe, UINT64_MAX), v2;

        v.kind = VALUE_RESERVED;
        assert_int_equal(store_record_encode(buf, &bp, &v), STORE_RECORD_SIZE);
        assert_int_equal(store_record_decode(buf, sizeof buf, &b2, &v2), 0);
        assert_int_equal(b2.counter, UINT64_MAX);
        assert_int_equal(b2.host, 0xffff);
        assert_value_equal(&v2, &v);

        assert_int_equal(store_record_decode(buf, sizeof buf - 1, &b2, &v2), -EBADMSG);
        buf[0] = 99;
        assert_int_equal(store_record_decode(buf, sizeof buf, &b2, &v2), -EBADMSG);
        buf[0] = 1;
        buf[29] = _VALUE_KIND_MAX; /* the kind byte */
        assert_int_equal(store_record_decode(buf, sizeof buf, &b2, &v2), -EBADMSG);
}

static void test_load_refuses_a_corrupt_record(void **state) {
        Store *s;
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        char path[128];
        MDB_val k = { 5, (void *) "bad.x" }, v = { 3, (void *) "abc" };
        Loaded l = {};

        /* Create the store, then write a malformed record behind its back. */
        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        store_free(s);
        snprintf(path, sizeof path, "%s/acceptor.mdb", dir);
        assert_int_equal(mdb_env_create(&env), 0);
        assert_int_equal(mdb_env_set_maxdbs(env, 3), 0);
        assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
        assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
        assert_int_equal(mdb_dbi_open(txn, "names", 0, &dbi), 0);
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
        mdb_env_close(env);

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_load(s, collect, &l), -EBADMSG);
        store_free(s);
}

static VoterConfig test_config(uint64_t n, unsigned n_members) {
        VoterConfig c = {
                .epoch = { n, UINT64_C(0x0123456789abcdef) + n },
                .phase = CONFIG_ACCEPT_WIDENED,
                .changing = 4,
                .adding = true,
                .rescanned = n % 2,
                .n_voters = 4,
                .voters = { 1, 2, 3, 4 },
                .n_members = n_members,
                .next_id = (uint16_t) (n_members + 1),
                .rho_ppm = 1000,
                .delta_usec = 200 * USEC_PER_MSEC,
                .lease_max_usec = 10 * USEC_PER_SEC,
        };

        for (unsigned i = 0; i < n_members; i++)
                c.members[i] = (uint16_t) (i + 1);
        return c;
}

static void assert_config_equal(const VoterConfig *a, const VoterConfig *b) {
        assert_int_equal(a->epoch.n, b->epoch.n);
        assert_int_equal(a->epoch.hash, b->epoch.hash);
        assert_int_equal(a->phase, b->phase);
        assert_int_equal(a->changing, b->changing);
        assert_int_equal(a->adding, b->adding);
        assert_int_equal(a->rescanned, b->rescanned);
        assert_int_equal(a->n_voters, b->n_voters);
        assert_memory_equal(a->voters, b->voters, sizeof a->voters);
        assert_int_equal(a->n_members, b->n_members);
        assert_memory_equal(a->members, b->members, sizeof a->members);
        assert_int_equal(a->next_id, b->next_id);
        assert_int_equal(a->rho_ppm, b->rho_ppm);
        assert_int_equal(a->delta_usec, b->delta_usec);
        assert_int_equal(a->lease_max_usec, b->lease_max_usec);
}

/* ACTION_PERSIST_CONFIG: the register's state is committed with the turn and read back at start. */
static void test_register_state_survives_reopen(void **state) {
        StoreConfig c = {
                .installed = test_config(5, PES_MEMBERS_MAX),
                .bp = { UINT64_MAX, 0xffff },
                .ba = { 9, 2 },
                .accepted = test_config(6, 5),
        }, got;
        Store *s;
        Done d = {};

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_get_config(s, &got), -ENOENT);
        /* A later stage in the same turn replaces the earlier one. */
        c.installed.epoch.n = 4;
        assert_int_equal(store_stage_config(s, &c), 0);
        c.installed.epoch.n = 5;
        assert_int_equal(store_stage_config(s, &c), 0);
        assert_int_equal(store_commit(s, on_done, &d), 0);
        run_until(&d.calls, 1);
        assert_int_equal(d.error, 0);
        store_free(s);

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_get_config(s, &got), 0);
        assert_config_equal(&got.installed, &c.installed);
        assert_config_equal(&got.accepted, &c.accepted);
        assert_int_equal(got.bp.counter, UINT64_MAX);
        assert_int_equal(got.bp.host, 0xffff);
        assert_int_equal(got.ba.counter, 9);
        assert_int_equal(got.ba.host, 2);
        store_free(s);
}

static void test_address_book_and_texts_survive_reopen(void **state) {
        WireNode book[2] = {
                { .id = 1, .name = "h1", .address = "127.0.0.1", .port = 7481 },
                { .id = 0xffff, .name = "a-rather-long-host-name", .address = "fe80::1", .port = 65535 },
        };
        WireNode *got = NULL;
        size_t n = 99;
        char *text = NULL;
        Store *s;
        Done d = {};

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_get_book(s, &got, &n), 0);
        assert_int_equal(n, 0);
        assert_null(got);
        assert_int_equal(store_get_text(s, "cluster-name", &text), -ENOENT);
        assert_int_equal(store_stage_book(s, book, 2), 0);
        assert_int_equal(store_stage_text(s, "cluster-name", "prod"), 0);
        assert_int_equal(store_commit(s, on_done, &d), 0);
        run_until(&d.calls, 1);
        store_free(s);

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_get_book(s, &got, &n), 0);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(got[i].id, book[i].id);
                assert_int_equal(got[i].port, book[i].port);
                assert_string_equal(got[i].name, book[i].name);
                assert_string_equal(got[i].address, book[i].address);
        }
        free(got);
        assert_int_equal(store_get_text(s, "cluster-name", &text), 0);
        assert_string_equal(text, "prod");
        free(text);
        store_free(s);
}

static void test_config_and_book_codecs_reject_corruption(void **state) {
        StoreConfig c = { .installed = test_config(1, 3), .accepted = test_config(2, 3) }, got;
        WireNode book[1] = { { .id = 3, .name = "h3", .address = "h3.example", .port = 1 } }, *b = NULL;
        uint8_t *buf;
        size_t size, n;

        assert_int_equal(store_config_encode(&c, &buf, &size), 0);
        assert_int_equal(store_config_decode(buf, size, &got), 0);
        assert_int_equal(store_config_decode(buf, size - 1, &got), -EBADMSG);
        buf[0] = 99;
        assert_int_equal(store_config_decode(buf, size, &got), -EBADMSG);
        buf[0] = 1;
        buf[1 + 16] = _CONFIG_PHASE_MAX; /* the installed configuration's phase */
        assert_int_equal(store_config_decode(buf, size, &got), -EBADMSG);
        free(buf);

        assert_int_equal(store_book_encode(book, 1, &buf, &size), 0);
        assert_int_equal(store_book_decode(buf, size, &b, &n), 0);
        assert_int_equal(n, 1);
        free(b);
        assert_int_equal(store_book_decode(buf, size - 1, &b, &n), -EBADMSG);
        assert_int_equal(store_book_decode(buf, size + 0, &b, &n), 0);
        free(b);
        buf[3] = 0; /* the first entry's id: 0 is no host */
        buf[4] = 0;
        assert_int_equal(store_book_decode(buf, size, &b, &n), -EBADMSG);
        free(buf);

        book[0].id = 0;
        assert_int_equal(store_book_encode(book, 1, &buf, &size), -EINVAL);
}

/* A host that joins another cluster drops its acceptor table in the same commit as its new identity. */
static void test_clearing_the_names(void **state) {
        Ballot bp = { 7, 2 };
        RegValue v = lease_value(7, 2, 3);
        Loaded l = {};
        Store *s;
        Done d = {};

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_stage(s, "a.service", &bp, &v), 0);
        assert_int_equal(store_stage(s, "b.service", &bp, &v), 0);
        assert_int_equal(store_commit(s, on_done, &d), 0);
        run_until(&d.calls, 1);
        assert_int_equal(store_stage(s, "c.service", &bp, &v), 0);
        assert_int_equal(store_stage_clear_names(s), 0);
        assert_int_equal(store_stage(s, "d.service", &bp, &v), 0);
        assert_int_equal(store_stage_meta(s, "host-id", 9), 0);
        assert_int_equal(store_commit(s, on_done, &d), 0);
        run_until(&d.calls, 2);
        assert_int_equal(d.error, 0);
        store_free(s);

        assert_int_equal(store_open(dir, event, &s, NULL), 0);
        assert_int_equal(store_load(s, collect, &l), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.names[0], "d.service");
        store_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_clearing_the_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_register_state_survives_reopen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_address_book_and_texts_survive_reopen, setup, teardown),
                cmocka_unit_test(test_config_and_book_codecs_reject_corruption),
                cmocka_unit_test_setup_teardown(test_commit_is_reported_and_survives_reopen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commits_complete_in_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commits_queued_meanwhile_share_one_transaction, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restaging_a_name_keeps_its_last_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_reports_pending_commits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_meta_values, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
                cmocka_unit_test(test_record_codec_rejects_corruption),
                cmocka_unit_test_setup_teardown(test_load_refuses_a_corrupt_record, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
