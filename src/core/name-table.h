/* SPDX-License-Identifier: MIT */
/* A map from unit names to pointers, for the core's per-name state (thousands of names). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * Open addressing with linear probing over an index of item positions; items are
 * kept in insertion order so that iteration is deterministic (the simulator
 * replays a seed exactly). Names are never removed: an acceptor must remember bp
 * for ever, and a guard stays (idle) once created.
 */
typedef struct NameTableItem {
        char *name;
        uint64_t hash;
        void *value;
} NameTableItem;

typedef struct NameTable {
        NameTableItem *items;
        size_t n_items;
        size_t allocated_items;
        uint32_t *index; /* item position + 1, 0 = empty */
        size_t n_index;  /* a power of two, at least twice n_items */
} NameTable;

#define NAME_TABLE_NULL ((NameTable) {})

/* Frees the table's own memory; the values are the caller's to free first. */
void name_table_done(NameTable *t);

void *name_table_get(const NameTable *t, const char *name);

/*
 * Adds name → value. -EEXIST if the name is present, -ENOMEM. On success, *ret_key
 * (if not NULL) points to the table's copy of the name, valid for its lifetime.
 */
int name_table_put(NameTable *t, const char *name, void *value, const char **ret_key);

static inline size_t name_table_size(const NameTable *t) {
        return t->n_items;
}

static inline NameTableItem *name_table_item(const NameTable *t, size_t i) {
        return i < t->n_items ? &t->items[i] : NULL;
}
