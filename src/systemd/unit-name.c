/* SPDX-License-Identifier: MIT */
/* Checks of systemd unit names, shared by the bus client and the drop-in writer. */
#include <string.h>

#include "systemd/unit-name.h"

static const char *const unit_suffixes[_UNIT_TYPE_MAX] = {
        [UNIT_TYPE_SERVICE] = ".service",
        [UNIT_TYPE_SOCKET] = ".socket",
        [UNIT_TYPE_TARGET] = ".target",
        [UNIT_TYPE_DEVICE] = ".device",
        [UNIT_TYPE_MOUNT] = ".mount",
        [UNIT_TYPE_AUTOMOUNT] = ".automount",
        [UNIT_TYPE_SWAP] = ".swap",
        [UNIT_TYPE_TIMER] = ".timer",
        [UNIT_TYPE_PATH] = ".path",
        [UNIT_TYPE_SLICE] = ".slice",
        [UNIT_TYPE_SCOPE] = ".scope",
};

static bool unit_name_char_ok(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                strchr(":-_.\\", ch);
}

UnitType unit_name_type(const char *name) {
        const char *dot, *at;
        size_t n;

        if (!name)
                return _UNIT_TYPE_INVALID;
        n = strlen(name);
        if (n == 0 || n > UNIT_NAME_MAX)
                return _UNIT_TYPE_INVALID;

        /* The suffix starts at the last dot; a name that is only a suffix has no prefix. */
        dot = strrchr(name, '.');
        if (!dot || dot == name)
                return _UNIT_TYPE_INVALID;

        at = NULL;
        for (const char *q = name; *q; q++) {
                if (*q == '@') {
                        if (at)
                                return _UNIT_TYPE_INVALID;
                        at = q;
                } else if (!unit_name_char_ok(*q))
                        return _UNIT_TYPE_INVALID;
        }
        /* "@.service" (no prefix) and "foo@.service" (a template) cannot be started. */
        if (at && (at == name || at + 1 >= dot))
                return _UNIT_TYPE_INVALID;

        for (UnitType t = 0; t < _UNIT_TYPE_MAX; t++)
                if (strcmp(dot, unit_suffixes[t]) == 0)
                        return t;
        return _UNIT_TYPE_INVALID;
}

bool unit_name_is_valid(const char *name) {
        return unit_name_type(name) >= 0;
}
