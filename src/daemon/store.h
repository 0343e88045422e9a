/* SPDX-License-Identifier: MIT */
/* The acceptor's durable state in LMDB: loaded at start, written by a thread that never blocks the event loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/msg.h"
#include "net/wire.h"

/*
 * DESIGN.md "Acceptor state per name" and "Fencing is only as good as its
 * margins": bp and v are written and synced before the replies they cover leave,
 * the writes of one loop turn go in one transaction, and the commit (an fsync)
 * runs on a writer thread that signals the loop when it is done, so the loop
 * never waits on the disk.
 *
 * Use: at start, store_open() then store_load() (synchronous, before the loop
 * runs). During a loop turn, store_stage() every changed name; at the end of the
 * turn, store_commit() with a callback that sends the replies waiting for it. The
 * callbacks run on the event loop, in commit order.
 */
typedef struct Store Store;

/* Called once the staged writes are durable (error 0) or failed (-errno). After
 * a failure every later commit fails too, with the same error. */
typedef void (*StoreDoneFunc)(Store *s, int error, void *userdata);

/* Called by store_load() for every name found. */
typedef int (*StoreLoadFunc)(const char *name, const Ballot *bp, const RegValue *v, void *userdata);

/*
 * Opens (creating if needed) the store in directory dir (file acceptor.mdb) and
 * starts its writer thread; completions are delivered through event. Reports
 * whether the store existed before in *ret_existed. -EIO and the like on failure.
 */
int store_open(const char *dir, sd_event *event, Store **ret, bool *ret_existed);

/* Waits for every pending commit, stops the thread and closes the store. */
Store *store_free(Store *s);

/* Calls cb for every stored name; a corrupt record fails with -EBADMSG. */
int store_load(Store *s, StoreLoadFunc cb, void *userdata);

/*
 * Node-wide values ("initialised", "incarnation", "host-id"), read and written
 * synchronously: only at start, before the loop runs. -ENOENT when absent.
 */
int store_get_meta(Store *s, const char *key, uint64_t *ret);
int store_put_meta_sync(Store *s, const char *key, uint64_t value);

/*
 * Stages the state of name for the next commit (a later stage of the same name
 * in the same turn replaces the earlier one). -ENAMETOOLONG, -ENOMEM.
 */
int store_stage(Store *s, const char *name, const Ballot *bp, const RegValue *v);
/* Stages a node-wide value for the next commit. */
int store_stage_meta(Store *s, const char *key, uint64_t value);

/*
 * The voter-configuration register's durable state (ACTION_PERSIST_CONFIG): the
 * installed configuration, the promised ballot and the accepted proposal (ba zero:
 * none). It is staged and committed like a name, so a reply that waits for the
 * sync waits for it too.
 */
typedef struct StoreConfig {
        VoterConfig installed;
        Ballot bp;
        Ballot ba;
        VoterConfig accepted;
} StoreConfig;

int store_stage_config(Store *s, const StoreConfig *c);
/* The last committed register state; -ENOENT when none was ever written. */
int store_get_config(Store *s, StoreConfig *ret);

/*
 * The address book: every member's id, name and advertised address, as learned
 * from joins and from peers. Staged whole; store_get_book() returns a malloc'd
 * array (n 0 and NULL when none was written).
 */
int store_stage_book(Store *s, const WireNode *book, size_t n);
int store_get_book(Store *s, WireNode **ret, size_t *ret_n);

/* A short text value (the cluster's name), staged like the rest; -ENOENT when absent. */
int store_stage_text(Store *s, const char *key, const char *value);
int store_get_text(Store *s, const char *key, char **ret);

/* The encodings, exposed for tests. */
int store_config_encode(const StoreConfig *c, uint8_t **ret, size_t *ret_size);
int store_config_decode(const void *buf, size_t size, StoreConfig *ret);
int store_book_encode(const WireNode *book, size_t n, uint8_t **ret, size_t *ret_size);
int store_book_decode(const void *buf, size_t size, WireNode **ret, size_t *ret_n);

/* Drops every name's acceptor state with the next commit (a host that joins another
 * cluster starts as a candidate, with no acceptor state). */
int store_stage_clear_names(Store *s);

/* Whether anything is staged. */
bool store_has_staged(const Store *s);

/*
 * Hands the staged writes to the writer thread as one transaction; done runs on
 * the event loop once they are synced (also when nothing was staged, after the
 * commits before it). Returns 0 or -ENOMEM.
 */
int store_commit(Store *s, StoreDoneFunc done, void *userdata);

/* Transactions written so far: several commits queued meanwhile share one. */
uint64_t store_transactions(Store *s);

/* Commits handed over and not yet reported done. */
unsigned store_pending(const Store *s);

/* The encoding of one record, exposed for tests: returns the size written. */
#define STORE_RECORD_SIZE 48
size_t store_record_encode(uint8_t buf[STORE_RECORD_SIZE], const Ballot *bp, const RegValue *v);
int store_record_decode(const void *buf, size_t size, Ballot *bp, RegValue *v);
