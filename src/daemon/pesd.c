/* SPDX-License-Identifier: MIT */
/* pesd: the pes daemon. */
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "config.h"
#include "daemon/options.h"

int main(int argc, char *argv[]) {
        PesdOptions o = PESD_OPTIONS_NULL;

        log_set_ident("pesd");
        if (pesd_parse_argv(argc, argv, &o) < 0)
                return 2;
        if (o.log_level >= 0)
                log_set_max_level(o.log_level);

        switch (o.action) {
        case PESD_ACTION_HELP:
                pesd_help();
                return EXIT_SUCCESS;
        case PESD_ACTION_VERSION:
                printf("pesd %s\n", PES_VERSION);
                return EXIT_SUCCESS;
        case PESD_ACTION_RUN:
        default:
                /* The daemon's run loop is not part of this build; say so rather than
                 * pretend to supervise anything. */
                log_error("This build of pesd has no run mode; only --help and --version work.");
                return EXIT_FAILURE;
        }
}
