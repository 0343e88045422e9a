/* SPDX-License-Identifier: MIT */
/* A fixed-size error text that the net library fills in next to a negative errno. */
#pragma once

#include <stdarg.h>

#include "basic/macro.h"

/*
 * The net library does not log: a failing call returns -errno and, when the caller
 * passed a NetError, says in words what failed and with which input (for example
 * "msgs[3].ballot.counter: expected integer"). A fixed buffer keeps error reporting
 * free of allocations, so it cannot itself fail.
 */
typedef struct NetError {
        char text[256];
} NetError;

/* Formats the text into e (if e is not NULL) and returns r, so that callers can write
 * "return net_error_set(e, -EINVAL, ...)". */
int net_error_set(NetError *e, int r, const char *fmt, ...) _printf_(3, 4);
int net_error_setv(NetError *e, int r, const char *fmt, va_list ap) _printf_(3, 0);

/* Prefixes the text already in e with "prefix: ", to add context on the way up. */
int net_error_prefix(NetError *e, int r, const char *fmt, ...) _printf_(3, 4);
