/* SPDX-License-Identifier: MIT */
/* LMDB-backed acceptor store with a writer thread whose completions reach sd-event through an eventfd. */
#include <assert.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"
#include "daemon/store.h"

#define STORE_FILE "acceptor.mdb"
#define STORE_RECORD_VERSION 1
/* The map is sparse: this bounds the file, not what it uses (about 200 bytes a name). */
#define STORE_MAP_SIZE ((size_t) 1 << 30)
#define STORE_META_KEY_MAX 32

#define STORE_CONFIG_VERSION 1
#define STORE_BOOK_VERSION 1

/* Which database a write goes to. */
typedef enum StoreDb {
        DB_NAMES,
        DB_META,
        DB_CLUSTER, /* the register state, the address book, the cluster's name */
} StoreDb;

typedef struct StagedWrite {
        StoreDb db;
        char key[PES_NAME_MAX + 1];
        uint8_t record[STORE_RECORD_SIZE];
        uint8_t *blob; /* a larger value (owned), written instead of record */
        size_t size;
        bool clear;    /* drop every record of the database instead */
} StagedWrite;

/* One transaction: handed to the writer thread, then back to the loop. */
typedef struct Commit {
        StagedWrite *writes;
        size_t n_writes;
        StoreDoneFunc done;
        void *userdata;
        int error;
        struct Commit *next;
} Commit;

struct Store {
        MDB_env *env;
        MDB_dbi names;
        MDB_dbi meta;
        MDB_dbi cluster;

        /* What this loop turn staged, not yet handed over. */
        StagedWrite *staged;
        size_t n_staged, allocated;

        /* Shared with the writer thread, under lock. */
        pthread_mutex_t lock;
        pthread_cond_t wake;
        Commit *todo_head, *todo_tail;
        Commit *done_head, *done_tail;
        bool quit;
        pthread_t thread;
        bool thread_started;

        unsigned pending; /* loop side: handed over, not yet reported */
        uint64_t n_groups; /* transactions written (under lock) */
        int failed;        /* the first commit error: every later commit fails with it (writer thread) */
        int efd;
        sd_event_source *efd_source;
};

static void put_u16(uint8_t **p, uint16_t v) {
        (*p)[0] = (uint8_t) v;
        (*p)[1] = (uint8_t) (v >> 8);
        *p += 2;
}

static void put_u64(uint8_t **p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                (*p)[i] = (uint8_t) (v >> (8 * i));
        *p += 8;
}

static uint16_t get_u16(const uint8_t **p) {
        uint16_t v = (uint16_t) ((*p)[0] | ((*p)[1] << 8));

        *p += 2;
        return v;
}

static uint64_t get_u64(const uint8_t **p) {
        uint64_t v = 0;

        for (int i = 0; i < 8; i++)
                v |= (uint64_t) (*p)[i] << (8 * i);
        *p += 8;
        return v;
}

size_t store_record_encode(uint8_t buf[STORE_RECORD_SIZE], const Ballot *bp, const RegValue *v) {
        uint8_t *p = buf;

        assert(bp);
        assert(v);

        *p++ = STORE_RECORD_VERSION;
        put_u64(&p, bp->counter);
        put_u16(&p, bp->host);
        put_u64(&p, v->ba.counter);
        put_u16(&p, v->ba.host);
        put_u64(&p, v->seq);
        *p++ = (uint8_t) v->kind;
        put_u16(&p, v->holder);
        put_u64(&p, v->token);
        put_u64(&p, v->lease_usec);
        assert((size_t) (p - buf) == STORE_RECORD_SIZE);
        return STORE_RECORD_SIZE;
}

int store_record_decode(const void *buf, size_t size, Ballot *bp, RegValue *v) {
        const uint8_t *p = buf;
        Ballot b;
        RegValue x;
        uint8_t kind;

        if (!buf || size != STORE_RECORD_SIZE || p[0] != STORE_RECORD_VERSION)
                return -EBADMSG;
        p++;
        b.counter = get_u64(&p);
        b.host = get_u16(&p);
        x.ba.counter = get_u64(&p);
        x.ba.host = get_u16(&p);
        x.seq = get_u64(&p);
        kind = *p++;
        if (kind >= _VALUE_KIND_MAX)
                return -EBADMSG;
        x.kind = (ValueKind) kind;
        x.holder = get_u16(&p);
        x.token = get_u64(&p);
        x.lease_usec = get_u64(&p);

        *bp = b;
        *v = x;
        return 0;
}

static int mdb_to_errno(int r) {
        if (r == 0)
                return 0;
        if (r > 0 && r < 1000) /* LMDB passes system errors through as positive errno */
                return -r;
        if (r == MDB_NOTFOUND)
                return -ENOENT;
        if (r == MDB_MAP_FULL)
                return -ENOSPC;
        return -EIO;
}

/*
 * Writes the commits of the list from first (linked by ->next) in one
 * transaction, in order, so a later write of a name wins; one fsync for all.
 */
static int write_commits(Store *s, Commit *first) {
        MDB_txn *txn;
        int r;

        r = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (r != 0)
                return mdb_to_errno(r);
        for (Commit *c = first; c; c = c->next)
                for (size_t i = 0; i < c->n_writes; i++) {
                        StagedWrite *w = &c->writes[i];
                        MDB_val key = { strlen(w->key), w->key }, val = { w->size, w->blob ?: w->record };
                        MDB_dbi dbi = w->db == DB_META ? s->meta : w->db == DB_CLUSTER ? s->cluster : s->names;

                        r = w->clear ? mdb_drop(txn, dbi, 0) : mdb_put(txn, dbi, &key, &val, 0);
                        if (r != 0) {
                                mdb_txn_abort(txn);
                                return mdb_to_errno(r);
                        }
                }
        /* The commit syncs the file (the environment has no MDB_NOSYNC). */
        return mdb_to_errno(mdb_txn_commit(txn));
}

static int write_commit(Store *s, Commit *c) {
        Commit *next = c->next;
        int r;

        c->next = NULL;
        r = write_commits(s, c);
        c->next = next;
        return r;
}

static void *writer_thread(void *userdata) {
        Store *s = userdata;

        pthread_mutex_lock(&s->lock);
        for (;;) {
                Commit *batch, *last;
                bool any = false;
                int error;
                uint64_t one = 1;

                while (!s->todo_head && !s->quit)
                        pthread_cond_wait(&s->wake, &s->lock);
                batch = s->todo_head;
                if (!batch)
                        break; /* quit, with nothing left to write */
                /* Group commit: every turn queued while the last fsync ran goes into
                 * this transaction, so the writer never falls behind the loop. */
                last = s->todo_tail;
                s->todo_head = s->todo_tail = NULL;
                pthread_mutex_unlock(&s->lock);

                for (Commit *c = batch; c; c = c->next)
                        any = any || c->n_writes > 0;
                /* After one failed commit nothing more is written or confirmed: a
                 * later success would let replies leave that assume the lost writes. */
                if (s->failed < 0)
                        error = s->failed;
                else {
                        error = any ? write_commits(s, batch) : 0;
                        if (error < 0)
                                s->failed = error;
                }
                for (Commit *c = batch; c; c = c->next)
                        c->error = error;

                pthread_mutex_lock(&s->lock);
                if (s->done_tail)
                        s->done_tail->next = batch;
                else
                        s->done_head = batch;
                s->done_tail = last;
                s->n_groups++;
                /* A full eventfd counter cannot happen (it holds 2⁶⁴−2). */
                (void) !write(s->efd, &one, sizeof one);
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

static void writes_free(StagedWrite *w, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(w[i].blob);
        free(w);
}

static void commit_free(Commit *c) {
        if (!c)
                return;
        writes_free(c->writes, c->n_writes);
        free(c);
}

/* Reports finished commits to their callbacks, in order, on the event loop. */
static void store_dispatch_done(Store *s) {
        Commit *list;

        pthread_mutex_lock(&s->lock);
        list = s->done_head;
        s->done_head = s->done_tail = NULL;
        pthread_mutex_unlock(&s->lock);

        while (list) {
                Commit *c = list;

                list = c->next;
                assert(s->pending > 0);
                s->pending--;
                if (c->done)
                        c->done(s, c->error, c->userdata);
                commit_free(c);
        }
}

static int on_efd(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Store *s = userdata;
        uint64_t n;

        (void) !read(fd, &n, sizeof n);
        store_dispatch_done(s);
        return 0;
}

int store_open(const char *dir, sd_event *event, Store **ret, bool *ret_existed) {
        _cleanup_free_ char *path = NULL;
        Store *s;
        MDB_txn *txn;
        struct stat st;
        bool existed;
        int r;

        if (!dir || !event || !ret)
                return -EINVAL;

        if (asprintf(&path, "%s/" STORE_FILE, dir) < 0)
                return -ENOMEM;
        existed = stat(path, &st) >= 0;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->efd = -1;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->wake, NULL);

        r = mdb_to_errno(mdb_env_create(&s->env));
        if (r < 0)
                goto fail;
        (void) mdb_env_set_maxdbs(s->env, 3);
        (void) mdb_env_set_mapsize(s->env, STORE_MAP_SIZE);
        /* MDB_NOTLS: read transactions are not tied to the thread that opened them. */
        r = mdb_to_errno(mdb_env_open(s->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600));
        if (r < 0)
                goto fail;

        r = mdb_to_errno(mdb_txn_begin(s->env, NULL, 0, &txn));
        if (r < 0)
                goto fail;
        r = mdb_to_errno(mdb_dbi_open(txn, "names", MDB_CREATE, &s->names));
        if (r >= 0)
                r = mdb_to_errno(mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta));
        if (r >= 0)
                r = mdb_to_errno(mdb_dbi_open(txn, "cluster", MDB_CREATE, &s->cluster));
        if (r < 0) {
                mdb_txn_abort(txn);
                goto fail;
        }
        r = mdb_to_errno(mdb_txn_commit(txn));
        if (r < 0)
                goto fail;

        s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (s->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &s->efd_source, s->efd, EPOLLIN, on_efd, s);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(s->efd_source, "store-commits");

        r = -pthread_create(&s->thread, NULL, writer_thread, s);
        if (r < 0)
                goto fail;
        s->thread_started = true;

        if (ret_existed)
                *ret_existed = existed;
        *ret = s;
        return 0;

fail:
        store_free(s);
        return r;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;

        if (s->thread_started) {
                pthread_mutex_lock(&s->lock);
                s->quit = true;
                pthread_cond_signal(&s->wake);
                pthread_mutex_unlock(&s->lock);
                pthread_join(s->thread, NULL);
                /* Whatever finished is reported, so no caller waits forever. */
                store_dispatch_done(s);
        }
        sd_event_source_disable_unref(s->efd_source);
        if (s->efd >= 0)
                close(s->efd);
        if (s->env)
                mdb_env_close(s->env);
        writes_free(s->staged, s->n_staged);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

int store_load(Store *s, StoreLoadFunc cb, void *userdata) {
        MDB_txn *txn;
        MDB_cursor *cur;
        MDB_val key, val;
        int r, k;

        if (!s || !cb)
                return -EINVAL;

        r = mdb_to_errno(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
        if (r < 0)
                return r;
        r = mdb_to_errno(mdb_cursor_open(txn, s->names, &cur));
        if (r < 0) {
                mdb_txn_abort(txn);
                return r;
        }
        for (k = mdb_cursor_get(cur, &key, &val, MDB_FIRST); k == 0; k = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
                char name[PES_NAME_MAX + 1];
                Ballot bp;
                RegValue v;

                if (key.mv_size == 0 || key.mv_size > PES_NAME_MAX ||
                    store_record_decode(val.mv_data, val.mv_size, &bp, &v) < 0) {
                        r = -EBADMSG;
                        break;
                }
                memcpy(name, key.mv_data, key.mv_size);
                name[key.mv_size] = '\0';
                r = cb(name, &bp, &v, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && k != MDB_NOTFOUND)
                r = mdb_to_errno(k);
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
        return r < 0 ? r : 0;
}

static int meta_key_check(const char *key) {
        if (!key || key[0] == '\0' || strlen(key) > STORE_META_KEY_MAX)
                return -EINVAL;
        return 0;
}

int store_get_meta(Store *s, const char *key, uint64_t *ret) {
        MDB_txn *txn;
        MDB_val k, v;
        const uint8_t *p;
        int r;

        if (!s || !ret || meta_key_check(key) < 0)
                return -EINVAL;

        r = mdb_to_errno(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
        if (r < 0)
                return r;
        k = (MDB_val){ strlen(key), (void *) key };
        r = mdb_to_errno(mdb_get(txn, s->meta, &k, &v));
        if (r >= 0) {
                if (v.mv_size != 8)
                        r = -EBADMSG;
                else {
                        p = v.mv_data;
                        *ret = get_u64(&p);
                }
        }
        mdb_txn_abort(txn);
        return r;
}

int store_put_meta_sync(Store *s, const char *key, uint64_t value) {
        Commit c = {};
        StagedWrite w = { .db = DB_META, .size = 8 };
        uint8_t *p = w.record;

        if (!s || meta_key_check(key) < 0)
                return -EINVAL;
        snprintf(w.key, sizeof w.key, "%s", key);
        put_u64(&p, value);
        c.writes = &w;
        c.n_writes = 1;
        return write_commit(s, &c);
}

static StagedWrite *stage_slot(Store *s, StoreDb db, const char *key) {
        /* A name staged twice in one turn is written once, with its last state. */
        for (size_t i = 0; i < s->n_staged; i++)
                if (s->staged[i].db == db && strcmp(s->staged[i].key, key) == 0) {
                        free(s->staged[i].blob);
                        s->staged[i].blob = NULL;
                        return &s->staged[i];
                }

        if (s->n_staged == s->allocated) {
                size_t n = s->allocated ? s->allocated * 2 : 16;
                StagedWrite *grown = reallocarray(s->staged, n, sizeof *grown);

                if (!grown)
                        return NULL;
                s->staged = grown;
                s->allocated = n;
        }
        s->staged[s->n_staged] = (StagedWrite){ .db = db };
        snprintf(s->staged[s->n_staged].key, sizeof s->staged[0].key, "%s", key);
        return &s->staged[s->n_staged++];
}

int store_stage(Store *s, const char *name, const Ballot *bp, const RegValue *v) {
        StagedWrite *w;

        if (!s || !name || !bp || !v || name[0] == '\0')
                return -EINVAL;
        if (strlen(name) > PES_NAME_MAX)
                return -ENAMETOOLONG;
        w = stage_slot(s, DB_NAMES, name);
        if (!w)
                return -ENOMEM;
        w->size = store_record_encode(w->record, bp, v);
        return 0;
}

int store_stage_meta(Store *s, const char *key, uint64_t value) {
        StagedWrite *w;
        uint8_t *p;

        if (!s || meta_key_check(key) < 0)
                return -EINVAL;
        w = stage_slot(s, DB_META, key);
        if (!w)
                return -ENOMEM;
        p = w->record;
        put_u64(&p, value);
        w->size = 8;
        return 0;
}

int store_stage_clear_names(Store *s) {
        StagedWrite *w;

        if (!s)
                return -EINVAL;
        /* Names staged before are dropped with the rest; later ones are written after. */
        size_t k = 0;
        for (size_t i = 0; i < s->n_staged; i++) {
                if (s->staged[i].db == DB_NAMES) {
                        free(s->staged[i].blob);
                        continue;
                }
                s->staged[k++] = s->staged[i];
        }
        s->n_staged = k;
        w = stage_slot(s, DB_NAMES, "");
        if (!w)
                return -ENOMEM;
        w->clear = true;
        return 0;
}

bool store_has_staged(const Store *s) {
        return s && s->n_staged > 0;
}

uint64_t store_transactions(Store *s) {
        uint64_t n;

        pthread_mutex_lock(&s->lock);
        n = s->n_groups;
        pthread_mutex_unlock(&s->lock);
        return n;
}

unsigned store_pending(const Store *s) {
        return s ? s->pending : 0;
}

int store_commit(Store *s, StoreDoneFunc done, void *userdata) {
        Commit *c;

        if (!s)
                return -EINVAL;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        /* The staged array moves to the commit; the next turn starts a new one. */
        c->writes = TAKE_PTR(s->staged);
        c->n_writes = s->n_staged;
        s->n_staged = s->allocated = 0;
        c->done = done;
        c->userdata = userdata;

        pthread_mutex_lock(&s->lock);
        if (s->todo_tail)
                s->todo_tail->next = c;
        else
                s->todo_head = c;
        s->todo_tail = c;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        s->pending++;
        return 0;
}

/* ---- the register state, the address book and texts (database "cluster") ---- */

static void put_config(uint8_t **p, const VoterConfig *c) {
        put_u64(p, c->epoch.n);
        put_u64(p, c->epoch.hash);
        *(*p)++ = (uint8_t) c->phase;
        put_u16(p, c->changing);
        *(*p)++ = c->adding;
        *(*p)++ = c->rescanned;
        *(*p)++ = (uint8_t) c->n_voters;
        for (unsigned i = 0; i < PES_VOTERS_MAX; i++)
                put_u16(p, c->voters[i]);
        *(*p)++ = (uint8_t) c->n_members;
        for (unsigned i = 0; i < PES_MEMBERS_MAX; i++)
                put_u16(p, c->members[i]);
        put_u16(p, c->next_id);
        put_u64(p, c->rho_ppm);
        put_u64(p, c->delta_usec);
        put_u64(p, c->lease_max_usec);
}

static int get_config(const uint8_t **p, VoterConfig *c) {
        uint8_t phase, adding, rescanned, n_voters, n_members;

        *c = (VoterConfig) {};
        c->epoch.n = get_u64(p);
        c->epoch.hash = get_u64(p);
        phase = *(*p)++;
        c->changing = get_u16(p);
        adding = *(*p)++;
        rescanned = *(*p)++;
        n_voters = *(*p)++;
        for (unsigned i = 0; i < PES_VOTERS_MAX; i++)
                c->voters[i] = get_u16(p);
        n_members = *(*p)++;
        for (unsigned i = 0; i < PES_MEMBERS_MAX; i++)
                c->members[i] = get_u16(p);
        c->next_id = get_u16(p);
        c->rho_ppm = (uint32_t) get_u64(p);
        c->delta_usec = get_u64(p);
        c->lease_max_usec = get_u64(p);
        if (phase >= _CONFIG_PHASE_MAX || adding > 1 || rescanned > 1 || n_voters > PES_VOTERS_MAX ||
            n_members > PES_MEMBERS_MAX)
                return -EBADMSG;
        c->phase = (ConfigPhase) phase;
        c->adding = adding;
        c->rescanned = rescanned;
        c->n_voters = n_voters;
        c->n_members = n_members;
        return 0;
}

#define CONFIG_SIZE (8 + 8 + 1 + 2 + 1 + 1 + 1 + 2 * PES_VOTERS_MAX + 1 + 2 * PES_MEMBERS_MAX + 2 + 8 + 8 + 8)
#define STORE_CONFIG_SIZE (1 + 2 * CONFIG_SIZE + 2 * 10)

int store_config_encode(const StoreConfig *c, uint8_t **ret, size_t *ret_size) {
        uint8_t *buf, *p;

        if (!c || !ret || !ret_size)
                return -EINVAL;
        buf = p = malloc(STORE_CONFIG_SIZE);
        if (!buf)
                return -ENOMEM;
        *p++ = STORE_CONFIG_VERSION;
        put_config(&p, &c->installed);
        put_u64(&p, c->bp.counter);
        put_u16(&p, c->bp.host);
        put_u64(&p, c->ba.counter);
        put_u16(&p, c->ba.host);
        put_config(&p, &c->accepted);
        assert((size_t) (p - buf) == STORE_CONFIG_SIZE);
        *ret = buf;
        *ret_size = STORE_CONFIG_SIZE;
        return 0;
}

int store_config_decode(const void *buf, size_t size, StoreConfig *ret) {
        const uint8_t *p = buf;
        StoreConfig c = {};

        if (!buf || !ret || size != STORE_CONFIG_SIZE || p[0] != STORE_CONFIG_VERSION)
                return -EBADMSG;
        p++;
        if (get_config(&p, &c.installed) < 0)
                return -EBADMSG;
        c.bp.counter = get_u64(&p);
        c.bp.host = get_u16(&p);
        c.ba.counter = get_u64(&p);
        c.ba.host = get_u16(&p);
        if (get_config(&p, &c.accepted) < 0)
                return -EBADMSG;
        *ret = c;
        return 0;
}

static size_t put_text(uint8_t **p, const char *s) {
        size_t n = strlen(s);

        assert(n <= UINT8_MAX);
        *(*p)++ = (uint8_t) n;
        memcpy(*p, s, n);
        *p += n;
        return n + 1;
}

static int get_text(const uint8_t **p, const uint8_t *end, char *ret, size_t max) {
        size_t n;

        if (*p >= end)
                return -EBADMSG;
        n = *(*p)++;
        if (n == 0 || n > max || n > (size_t) (end - *p))
                return -EBADMSG;
        memcpy(ret, *p, n);
        ret[n] = 0;
        *p += n;
        return 0;
}

int store_book_encode(const WireNode *book, size_t n, uint8_t **ret, size_t *ret_size) {
        uint8_t *buf, *p;

        if ((!book && n > 0) || n > PES_MEMBERS_MAX || !ret || !ret_size)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (book[i].id == PES_HOST_NONE || !book[i].name[0] || !book[i].address[0] ||
                    strlen(book[i].name) > WIRE_NODE_NAME_MAX || strlen(book[i].address) > WIRE_ADDRESS_MAX)
                        return -EINVAL;
        buf = p = malloc(3 + n * (4 + 2 + WIRE_NODE_NAME_MAX + WIRE_ADDRESS_MAX));
        if (!buf)
                return -ENOMEM;
        *p++ = STORE_BOOK_VERSION;
        put_u16(&p, (uint16_t) n);
        for (size_t i = 0; i < n; i++) {
                put_u16(&p, book[i].id);
                put_u16(&p, book[i].port);
                put_text(&p, book[i].name);
                put_text(&p, book[i].address);
        }
        *ret = buf;
        *ret_size = (size_t) (p - buf);
        return 0;
}

int store_book_decode(const void *buf, size_t size, WireNode **ret, size_t *ret_n) {
        const uint8_t *p = buf, *end = p + size;
        _cleanup_free_ WireNode *book = NULL;
        size_t n;

        if (!buf || !ret || !ret_n || size < 3 || p[0] != STORE_BOOK_VERSION)
                return -EBADMSG;
        p++;
        n = get_u16(&p);
        if (n > PES_MEMBERS_MAX)
                return -EBADMSG;
        book = calloc(n ? n : 1, sizeof *book);
        if (!book)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (end - p < 4)
                        return -EBADMSG;
                book[i].id = get_u16(&p);
                book[i].port = get_u16(&p);
                if (book[i].id == PES_HOST_NONE ||
                    get_text(&p, end, book[i].name, WIRE_NODE_NAME_MAX) < 0 ||
                    get_text(&p, end, book[i].address, WIRE_ADDRESS_MAX) < 0)
                        return -EBADMSG;
        }
        if (p != end)
                return -EBADMSG;
        *ret = n ? TAKE_PTR(book) : NULL;
        *ret_n = n;
        return 0;
}

static int stage_blob(Store *s, const char *key, uint8_t *blob, size_t size) {
        StagedWrite *w = stage_slot(s, DB_CLUSTER, key);

        if (!w) {
                free(blob);
                return -ENOMEM;
        }
        w->blob = blob;
        w->size = size;
        return 0;
}

static int get_blob(Store *s, const char *key, void **ret, size_t *ret_size) {
        MDB_txn *txn;
        MDB_val k, v;
        int r;

        r = mdb_to_errno(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn));
        if (r < 0)
                return r;
        k = (MDB_val){ strlen(key), (void *) key };
        r = mdb_to_errno(mdb_get(txn, s->cluster, &k, &v));
        if (r >= 0) {
                *ret = malloc(v.mv_size ? v.mv_size : 1);
                if (!*ret)
                        r = -ENOMEM;
                else {
                        memcpy(*ret, v.mv_data, v.mv_size);
                        *ret_size = v.mv_size;
                }
        }
        mdb_txn_abort(txn);
        return r;
}

int store_stage_config(Store *s, const StoreConfig *c) {
        uint8_t *buf;
        size_t size;
        int r;

        if (!s || !c)
                return -EINVAL;
        r = store_config_encode(c, &buf, &size);
        if (r < 0)
                return r;
        return stage_blob(s, "config", buf, size);
}

int store_get_config(Store *s, StoreConfig *ret) {
        _cleanup_free_ void *buf = NULL;
        size_t size = 0;
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = get_blob(s, "config", &buf, &size);
        if (r < 0)
                return r;
        return store_config_decode(buf, size, ret);
}

int store_stage_book(Store *s, const WireNode *book, size_t n) {
        uint8_t *buf;
        size_t size;
        int r;

        if (!s)
                return -EINVAL;
        r = store_book_encode(book, n, &buf, &size);
        if (r < 0)
                return r;
        return stage_blob(s, "book", buf, size);
}

int store_get_book(Store *s, WireNode **ret, size_t *ret_n) {
        _cleanup_free_ void *buf = NULL;
        size_t size = 0;
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = get_blob(s, "book", &buf, &size);
        if (r == -ENOENT) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (r < 0)
                return r;
        return store_book_decode(buf, size, ret, ret_n);
}

int store_stage_text(Store *s, const char *key, const char *value) {
        _cleanup_free_ char *k = NULL;
        char *copy;

        if (!s || meta_key_check(key) < 0 || !value || strlen(value) > UINT8_MAX)
                return -EINVAL;
        if (asprintf(&k, "text:%s", key) < 0)
                return -ENOMEM;
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        return stage_blob(s, k, (uint8_t *) copy, strlen(copy));
}

int store_get_text(Store *s, const char *key, char **ret) {
        _cleanup_free_ char *k = NULL;
        _cleanup_free_ void *buf = NULL;
        size_t size = 0;
        char *t;
        int r;

        if (!s || meta_key_check(key) < 0 || !ret)
                return -EINVAL;
        if (asprintf(&k, "text:%s", key) < 0)
                return -ENOMEM;
        r = get_blob(s, k, &buf, &size);
        if (r < 0)
                return r;
        t = strndup(buf, size);
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}
