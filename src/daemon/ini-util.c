/* SPDX-License-Identifier: MIT */
/* inih with the settings pes's configuration files share. */
#include <stdbool.h>

#include "daemon/ini-util.h"

int ini_parse_strict(ini_reader reader, void *stream, ini_handler handler, void *user, int max_line) {
        bool saved_multiline = ini_allow_multiline, saved_use_stack = ini_use_stack;
        int saved_max_line = ini_max_line, r;

        ini_allow_multiline = false;
        ini_max_line = max_line;
        ini_use_stack = false;
        r = ini_parse_stream(reader, stream, handler, user);
        ini_allow_multiline = saved_multiline;
        ini_max_line = saved_max_line;
        ini_use_stack = saved_use_stack;
        return r;
}
