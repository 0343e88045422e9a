/* SPDX-License-Identifier: MIT */
/* pesctl: the command-line client of pes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "config.h"
#include "ctl/verbs.h"

static int help(void) {
        printf("pesctl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Control pes, the cluster-wide singleton service for systemd units.\n"
               "\n"
               "Commands:\n"
               "  help                Show this help\n"
               "  version             Show the version\n"
               "\n"
               "Options:\n"
               "  -h --help           Show this help\n"
               "     --version        Show the version\n"
               "\n"
               "Exit status: 0 on success, 1 on failure, 2 on wrong usage.\n");
        return 0;
}

static int version(void) {
        printf("pesctl %s\n", PES_VERSION);
        return 0;
}

static int verb_help(int argc, char *argv[], void *userdata) {
        return help();
}

static int verb_version(int argc, char *argv[], void *userdata) {
        return version();
}

static const Verb verbs[] = {
        { "help", 1, 1, verb_help },
        { "version", 1, 1, verb_version },
        {},
};

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, r;

        log_set_ident("pesctl");
        log_set_target(LOG_TARGET_CONSOLE);

        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        return version();
                default:
                        return 2;
                }

        if (optind >= argc) {
                help();
                return 2;
        }

        r = dispatch_verb(argc - optind, argv + optind, verbs, NULL);
        if (r == -EINVAL)
                return 2;
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
