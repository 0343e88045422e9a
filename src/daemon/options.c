/* SPDX-License-Identifier: MIT */
/* pesd's command line: parsing and help. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "basic/log.h"
#include "daemon/options.h"

void pesd_help(void) {
        printf("pesd [OPTIONS...]\n"
               "\n"
               "The pes daemon: keeps a systemd unit running on exactly one host of a cluster.\n"
               "\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --log-level=LEVEL   Log messages up to LEVEL (err, warning, notice, info, debug)\n");
}

int pesd_parse_argv(int argc, char *argv[], PesdOptions *o) {
        enum { ARG_VERSION = 0x100, ARG_LOG_LEVEL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {},
        };
        int c;

        assert(o);

        optind = 0; /* reset getopt, so that repeated calls parse afresh */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        o->action = PESD_ACTION_HELP;
                        break;
                case ARG_VERSION:
                        o->action = PESD_ACTION_VERSION;
                        break;
                case ARG_LOG_LEVEL:
                        o->log_level = log_level_from_string(optarg);
                        if (o->log_level < 0)
                                return log_error_errno(EINVAL, "Invalid --log-level '%s'.", optarg);
                        break;
                case '?':
                default:
                        if (optopt >= 0x100 || optopt == 0)
                                return log_error_errno(EINVAL, "Unknown or incomplete option '%s'; see --help.",
                                                       argv[optind - 1]);
                        return log_error_errno(EINVAL, "Unknown option '-%c'; see --help.", optopt);
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument '%s'; see --help.", argv[optind]);
        return 0;
}
