/* SPDX-License-Identifier: MIT */
/* pesd's command line. */
#pragma once

#include <stdbool.h>

typedef enum PesdAction {
        PESD_ACTION_RUN,
        PESD_ACTION_HELP,
        PESD_ACTION_VERSION,
} PesdAction;

typedef struct PesdOptions {
        PesdAction action;
        int log_level; /* -1: unchanged */
        const char *config_file; /* --config=FILE; NULL: the default */
} PesdOptions;

#define PESD_OPTIONS_NULL { .action = PESD_ACTION_RUN, .log_level = -1, .config_file = NULL }

/* Parses argv into *o. Returns 0, or -EINVAL after logging what was wrong. */
int pesd_parse_argv(int argc, char *argv[], PesdOptions *o);

/* Prints the --help text. */
void pesd_help(void);
