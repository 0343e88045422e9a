/* SPDX-License-Identifier: MIT */
/* A table of rows for pesctl's listings: aligned text with a header line, or a JSON array of objects. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"
#include "basic/time-util.h"

/*
 * Every cell has two faces: the text people read ("2.5s", "yes", "-") and the
 * JSON value scripts read (2500000, true, null). The text face of a column is
 * headed by header (as systemctl's "UNIT LOAD ACTIVE"), the JSON face is keyed by
 * json_key (snake_case). Cells are added left to right, row after row.
 */
typedef struct TableColumn {
        const char *header;
        const char *json_key;
        bool align_right;
        bool json_only; /* left out of the text (a long value the caller shows otherwise) */
} TableColumn;

typedef struct Table Table;

/* columns must outlive the table (a static array, normally). */
Table *table_new(const TableColumn *columns, size_t n_columns);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);

/*
 * Adds the next cell. text is copied; control characters in it are shown as
 * "\xNN" so that a hostile name cannot move the cursor. json is taken over (also on
 * failure); NULL stands for JSON null. Returns 0 or -ENOMEM.
 */
int table_add_cell(Table *t, const char *text, json_t *json);

/* A string: the text is s, or "-" when s is empty; JSON is always the string. */
int table_add_string(Table *t, const char *s);

/* A number, shown in decimal. -ERANGE if it does not fit a JSON integer. */
int table_add_uint64(Table *t, uint64_t v);

/* A flag: "yes" or "no", true or false. */
int table_add_bool(Table *t, bool b);

/* A duration: format_timespan() text, the µs as a JSON integer; USEC_INFINITY is
 * "infinity" and null. */
int table_add_timespan(Table *t, usec_t v);

size_t table_get_rows(const Table *t);

/* Returns a copy of s with control characters (and DEL) written as "\xNN", as
 * table cells show them, or NULL. */
char *text_escape(const char *s);

/*
 * Renders the text: columns padded to their widest cell and separated by one
 * space (right-aligned, header included, when the column says so), no trailing spaces, a
 * header line first if legend is true, each line ending in "\n". Widths count
 * UTF-8 characters, not bytes. Returns 0 and a newly allocated string, or -ENOMEM.
 * A complete row is required (-EINVAL if the last one is not complete).
 */
int table_format(const Table *t, bool legend, char **ret);

/* Returns a new JSON array with one object per row, keys in column order, or NULL
 * on allocation failure or an incomplete last row. */
json_t *table_to_json(const Table *t);
