/* SPDX-License-Identifier: MIT */
/* A map from unit names to pointers with deterministic insertion-order iteration. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/name-table.h"

void name_table_done(NameTable *t) {
        assert(t);

        for (size_t i = 0; i < t->n_items; i++)
                free(t->items[i].name);
        free(t->items);
        free(t->index);
        *t = NAME_TABLE_NULL;
}

static uint64_t name_hash(const char *name) {
        return fnv1a64(FNV1A64_OFFSET, name, strlen(name));
}

static size_t find_slot(const NameTable *t, const char *name, uint64_t h) {
        size_t mask = t->n_index - 1;

        for (size_t i = h & mask;; i = (i + 1) & mask) {
                uint32_t k = t->index[i];

                if (k == 0)
                        return i;
                if (t->items[k - 1].hash == h && strcmp(t->items[k - 1].name, name) == 0)
                        return i;
        }
}

void *name_table_get(const NameTable *t, const char *name) {
        size_t slot;
        uint32_t k;

        assert(t);
        assert(name);

        if (t->n_index == 0)
                return NULL;
        slot = find_slot(t, name, name_hash(name));
        k = t->index[slot];
        return k == 0 ? NULL : t->items[k - 1].value;
}

static int rehash(NameTable *t, size_t n_index) {
        uint32_t *index;

        index = calloc(n_index, sizeof(uint32_t));
        if (!index)
                return -ENOMEM;
        free(t->index);
        t->index = index;
        t->n_index = n_index;

        for (size_t i = 0; i < t->n_items; i++) {
                size_t slot = find_slot(t, t->items[i].name, t->items[i].hash);
                t->index[slot] = (uint32_t) (i + 1);
        }
        return 0;
}

int name_table_put(NameTable *t, const char *name, void *value, const char **ret_key) {
        uint64_t h;
        size_t slot;
        char *copy;
        int r;

        assert(t);
        assert(name);

        if (t->n_items >= UINT32_MAX - 1)
                return -ENOMEM;

        /* Keep the index at most half full, so probes stay short. */
        if ((t->n_items + 1) * 2 > t->n_index) {
                r = rehash(t, t->n_index ? t->n_index * 2 : 64);
                if (r < 0)
                        return r;
        }

        h = name_hash(name);
        slot = find_slot(t, name, h);
        if (t->index[slot] != 0)
                return -EEXIST;

        if (t->n_items >= t->allocated_items) {
                size_t m = t->allocated_items ? t->allocated_items * 2 : 32;
                NameTableItem *p = realloc(t->items, m * sizeof(NameTableItem));

                if (!p)
                        return -ENOMEM;
                t->items = p;
                t->allocated_items = m;
        }

        copy = strdup(name);
        if (!copy)
                return -ENOMEM;

        t->items[t->n_items] = (NameTableItem) { .name = copy, .hash = h, .value = value };
        t->n_items++;
        t->index[slot] = (uint32_t) t->n_items;
        if (ret_key)
                *ret_key = copy;
        return 0;
}
