/* SPDX-License-Identifier: MIT */
/* inih with the settings pes's configuration files share. */
#pragma once

#include <ini.h>

/*
 * ini_parse_stream() with no multi-line values (an indented line is a key like
 * any other), lines up to max_line bytes, and a heap line buffer; inih's global
 * settings are restored afterwards. Returns what ini_parse_stream() returns.
 */
int ini_parse_strict(ini_reader reader, void *stream, ini_handler handler, void *user, int max_line);
