/* SPDX-License-Identifier: MIT */
/* A table of rows for pesctl's listings: aligned text with a header line, or a JSON array of objects. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/output.h"
#include "ctl/table.h"

typedef struct TableCell {
        char *text;
        json_t *json;
} TableCell;

struct Table {
        const TableColumn *columns;
        size_t n_columns;
        TableCell *cells;
        size_t n_cells;
        size_t allocated;
};

Table *table_new(const TableColumn *columns, size_t n_columns) {
        Table *t;

        if (!columns || n_columns == 0)
                return NULL;

        t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        t->columns = columns;
        t->n_columns = n_columns;
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++) {
                free(t->cells[i].text);
                json_decref(t->cells[i].json);
        }
        free(t->cells);
        free(t);
        return NULL;
}

char *text_escape(const char *s) {
        size_t n = 0;
        char *r, *p;

        for (const char *c = s; *c; c++)
                n += ((unsigned char) *c < 0x20 || *c == 0x7f) ? 4 : 1;

        r = malloc(n + 1);
        if (!r)
                return NULL;
        p = r;
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        p += sprintf(p, "\\x%02x", (unsigned) (unsigned char) *c);
                else
                        *p++ = *c;
        *p = 0;
        return r;
}

int table_add_cell(Table *t, const char *text, json_t *json) {
        char *copy;

        assert(t);
        assert(text);

        if (t->n_cells >= t->allocated) {
                size_t a = t->allocated ? 2 * t->allocated : 4 * t->n_columns;
                TableCell *c = reallocarray(t->cells, a, sizeof(TableCell));

                if (!c) {
                        json_decref(json);
                        return -ENOMEM;
                }
                t->cells = c;
                t->allocated = a;
        }

        copy = text_escape(text);
        if (!copy) {
                json_decref(json);
                return -ENOMEM;
        }
        t->cells[t->n_cells++] = (TableCell) { .text = copy, .json = json };
        return 0;
}

int table_add_string(Table *t, const char *s) {
        json_t *j;

        assert(t);

        if (!s)
                s = "";
        j = json_string(s);
        if (!j)
                return -ENOMEM;
        return table_add_cell(t, s[0] ? s : "-", j);
}

int table_add_uint64(Table *t, uint64_t v) {
        char buf[21];
        json_t *j;

        assert(t);

        j = json_uint64(v);
        if (!j)
                return -ERANGE;
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return table_add_cell(t, buf, j);
}

int table_add_bool(Table *t, bool b) {
        assert(t);

        return table_add_cell(t, b ? "yes" : "no", json_boolean(b));
}

int table_add_timespan(Table *t, usec_t v) {
        char buf[FORMAT_TIMESPAN_MAX];
        json_t *j = NULL;

        assert(t);

        if (v != USEC_INFINITY) {
                j = json_uint64(v);
                if (!j)
                        return -ERANGE;
        }
        return table_add_cell(t, format_timespan(buf, sizeof(buf), v), j);
}

size_t table_get_rows(const Table *t) {
        assert(t);

        return t->n_cells / t->n_columns;
}

/* The number of characters of a UTF-8 string: bytes that do not continue a sequence. */
static size_t text_width(const char *s) {
        size_t w = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        w++;
        return w;
}

static void put_padding(FILE *f, size_t n) {
        while (n-- > 0)
                fputc(' ', f);
}

int table_format(const Table *t, bool legend, char **ret) {
        _cleanup_free_ size_t *widths = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, rows, last_shown;
        FILE *f;

        assert(t);
        assert(ret);

        if (t->n_cells % t->n_columns != 0)
                return -EINVAL;
        rows = table_get_rows(t);

        widths = calloc(t->n_columns, sizeof(size_t));
        if (!widths)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_columns; c++) {
                if (legend)
                        widths[c] = text_width(t->columns[c].header);
                for (size_t r = 0; r < rows; r++)
                        widths[c] = MAX(widths[c], text_width(t->cells[r * t->n_columns + c].text));
        }

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        /* The last column shown as text, which gets no trailing padding. */
        last_shown = 0;
        for (size_t c = 0; c < t->n_columns; c++)
                if (!t->columns[c].json_only)
                        last_shown = c;

        for (size_t r = legend ? 0 : 1; r < rows + 1; r++) {
                bool first = true;

                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *text = r == 0 ? t->columns[c].header
                                                  : t->cells[(r - 1) * t->n_columns + c].text;
                        size_t pad = widths[c] - text_width(text);
                        bool last = c == last_shown;

                        if (t->columns[c].json_only)
                                continue;
                        if (!first)
                                fputc(' ', f);
                        first = false;
                        /* A header is aligned as its column, so that it sits above the numbers. */
                        if (t->columns[c].align_right)
                                put_padding(f, pad);
                        fputs(text, f);
                        if (!t->columns[c].align_right && !last)
                                put_padding(f, pad);
                }
                fputc('\n', f);
        }

        if (fclose(f) != 0)
                return -ENOMEM;
        if (!buf)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

json_t *table_to_json(const Table *t) {
        _cleanup_(json_decrefp) json_t *array = NULL;

        assert(t);

        if (t->n_cells % t->n_columns != 0)
                return NULL;

        array = json_array();
        if (!array)
                return NULL;

        for (size_t r = 0; r < table_get_rows(t); r++) {
                json_t *o = json_object();

                if (!o || json_array_append_new(array, o) < 0)
                        return NULL;
                for (size_t c = 0; c < t->n_columns; c++) {
                        const TableCell *cell = &t->cells[r * t->n_columns + c];
                        json_t *v = cell->json ? json_incref(cell->json) : json_null();

                        if (json_object_set_new(o, t->columns[c].json_key, v) < 0)
                                return NULL;
                }
        }
        return TAKE_PTR(array);
}
