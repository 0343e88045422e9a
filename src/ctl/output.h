/* SPDX-License-Identifier: MIT */
/* How pesctl prints: the --json modes and printing of a JSON value on stdout. */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "basic/macro.h"

typedef enum JsonMode {
        JSON_MODE_OFF,
        JSON_MODE_SHORT,  /* one line per value */
        JSON_MODE_PRETTY, /* indented */
        _JSON_MODE_MAX,
        _JSON_MODE_INVALID = -EINVAL,
} JsonMode;

/* Parses "off", "short" or "pretty"; returns the mode or -EINVAL. */
JsonMode json_mode_from_string(const char *s);

/*
 * Writes v to f in mode (which must not be JSON_MODE_OFF), followed by a newline.
 * Keys keep the order in which they were added. Returns 0 or -ENOMEM/-EIO.
 */
int json_print(FILE *f, const json_t *v, JsonMode mode);

/* Returns a newly allocated rendering of v in mode, without trailing newline, or NULL. */
char *json_format(const json_t *v, JsonMode mode);

/* A JSON integer for v, or NULL (to be treated as -ERANGE) if v does not fit the signed
 * 64-bit integers JSON parsers read exactly. */
json_t *json_uint64(uint64_t v);

