/* SPDX-License-Identifier: MIT */
/* Formatting of NetError texts. */
#include <stdio.h>
#include <string.h>

#include "net/net-error.h"

int net_error_setv(NetError *e, int r, const char *fmt, va_list ap) {
        if (e)
                (void) vsnprintf(e->text, sizeof(e->text), fmt, ap);
        return r;
}

int net_error_set(NetError *e, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        r = net_error_setv(e, r, fmt, ap);
        va_end(ap);
        return r;
}

int net_error_prefix(NetError *e, int r, const char *fmt, ...) {
        char prefix[sizeof(e->text)], old[sizeof(e->text)];
        va_list ap;

        if (!e)
                return r;

        va_start(ap, fmt);
        (void) vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);

        memcpy(old, e->text, sizeof(old));
        (void) snprintf(e->text, sizeof(e->text), "%.100s: %.150s", prefix, old);
        return r;
}
