/* SPDX-License-Identifier: MIT */
/* How pesctl prints: the --json modes and printing of a JSON value on stdout. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "basic/macro.h"
#include "ctl/output.h"

JsonMode json_mode_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        if (strcmp(s, "off") == 0)
                return JSON_MODE_OFF;
        if (strcmp(s, "short") == 0)
                return JSON_MODE_SHORT;
        if (strcmp(s, "pretty") == 0)
                return JSON_MODE_PRETTY;
        return -EINVAL;
}

char *json_format(const json_t *v, JsonMode mode) {
        size_t flags = JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;

        assert(v);
        assert(mode == JSON_MODE_SHORT || mode == JSON_MODE_PRETTY);

        flags |= mode == JSON_MODE_PRETTY ? JSON_INDENT(2) : JSON_COMPACT;
        return json_dumps(v, flags);
}

int json_print(FILE *f, const json_t *v, JsonMode mode) {
        _cleanup_free_ char *s = NULL;

        assert(f);

        s = json_format(v, mode);
        if (!s)
                return -ENOMEM;
        if (fputs(s, f) < 0 || fputc('\n', f) < 0)
                return -EIO;
        return 0;
}

json_t *json_uint64(uint64_t v) {
        if (v > (uint64_t) INT64_MAX)
                return NULL;
        return json_integer((json_int_t) v);
}
