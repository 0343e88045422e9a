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

typedef struct StagedWrite {
        bool meta;
        char key[PES_NAME_MAX + 1];
        uint8_t record[STORE_RECORD_SIZE];
        size_t size;
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
                        MDB_val key = { strlen(w->key), w->key }, val = { w->size, w->record };

                        r = mdb_put(txn, w->meta ? s->meta : s->names, &key, &val, 0);
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

static void commit_free(Commit *c) {
        if (!c)
                return;
        free(c->writes);
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
        (void) mdb_env_set_maxdbs(s->env, 2);
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
        free(s->staged);
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
        StagedWrite w = { .meta = true, .size = 8 };
        uint8_t *p = w.record;

        if (!s || meta_key_check(key) < 0)
                return -EINVAL;
        snprintf(w.key, sizeof w.key, "%s", key);
        put_u64(&p, value);
        c.writes = &w;
        c.n_writes = 1;
        return write_commit(s, &c);
}

static StagedWrite *stage_slot(Store *s, bool meta, const char *key) {
        /* A name staged twice in one turn is written once, with its last state. */
        for (size_t i = 0; i < s->n_staged; i++)
                if (s->staged[i].meta == meta && strcmp(s->staged[i].key, key) == 0)
                        return &s->staged[i];

        if (s->n_staged == s->allocated) {
                size_t n = s->allocated ? s->allocated * 2 : 16;
                StagedWrite *grown = reallocarray(s->staged, n, sizeof *grown);

                if (!grown)
                        return NULL;
                s->staged = grown;
                s->allocated = n;
        }
        s->staged[s->n_staged] = (StagedWrite){ .meta = meta };
        snprintf(s->staged[s->n_staged].key, sizeof s->staged[0].key, "%s", key);
        return &s->staged[s->n_staged++];
}

int store_stage(Store *s, const char *name, const Ballot *bp, const RegValue *v) {
        StagedWrite *w;

        if (!s || !name || !bp || !v || name[0] == '\0')
                return -EINVAL;
        if (strlen(name) > PES_NAME_MAX)
                return -ENAMETOOLONG;
        w = stage_slot(s, false, name);
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
        w = stage_slot(s, true, key);
        if (!w)
                return -ENOMEM;
        p = w->record;
        put_u64(&p, value);
        w->size = 8;
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
