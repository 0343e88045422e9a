/* SPDX-License-Identifier: MIT */
/* pesctl: the command-line client of pes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/log.h"
#include "config.h"
#include "ctl/bus-util.h"
#include "ctl/ctl-verbs.h"
#include "ctl/verbs.h"

static int help(void) {
        printf("pesctl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Control pes, the cluster-wide singleton service for systemd units.\n"
               "\n"
               "Commands:\n"
               "  status                    Show this node: name, version, quorum, names, peers\n"
               "  list                      List the names this node knows\n"
               "  lookup NAME               Show the owner of NAME (a majority read; --local\n"
               "                            for this node's own view)\n"
               "  nodes                     List the nodes of the cluster\n"
               "  acquire NAME [-- CMD...]  Hold NAME and run CMD while it is held (CMD finds\n"
               "                            PES_NAME and PES_FENCING_TOKEN in its environment),\n"
               "                            or without CMD print the fencing token and hold NAME\n"
               "                            until interrupted. If NAME is lost, CMD is stopped\n"
               "                            (SIGTERM, SIGKILL 5s later) and pesctl exits with 3.\n"
               "  release NAME              Release NAME held by this node for a bus client\n"
               "  keygen [PATH]             Write a new cluster key (default %s);\n"
               "                            an existing file is never overwritten\n"
               "  help                      Show this help\n"
               "  version                   Show the version\n"
               "\n"
               "Options:\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the version\n"
               "     --no-legend            Do not print the header and footer of tables\n"
               "     --no-pager             Do not pipe the output into a pager\n"
               "     --json=MODE            Print JSON: short, pretty or off (plain --json:\n"
               "                            pretty on a terminal, short otherwise)\n"
               "     --local                lookup: answer from this node's view only\n"
               "\n"
               "pesctl talks to pesd on the system bus ($DBUS_SYSTEM_BUS_ADDRESS if set).\n"
               "Reading is open to every user; acquire and release need root.\n"
               "\n"
               "Exit status:\n"
               "  0  success (acquire with CMD: CMD's own status; 128+N if signal N killed it)\n"
               "  1  failure\n"
               "  2  wrong usage\n"
               "  3  the name was lost while acquire held it\n"
               "  4  no such name\n",
               CTL_DEFAULT_KEY_PATH);
        return PESCTL_EXIT_SUCCESS;
}

static int version(void) {
        printf("pesctl %s\n", PES_VERSION);
        return PESCTL_EXIT_SUCCESS;
}

static int verb_help(int argc, char *argv[], void *userdata) {
        return help();
}

static int verb_version(int argc, char *argv[], void *userdata) {
        return version();
}

static const Verb verbs[] = {
        { "status", 1, 1, verb_status },
        { "list", 1, 1, verb_list },
        { "lookup", 2, 2, verb_lookup },
        { "nodes", 1, 1, verb_nodes },
        { "acquire", 2, VERB_ANY, verb_acquire },
        { "release", 2, 2, verb_release },
        { "keygen", 1, 2, verb_keygen },
        { "help", 1, 1, verb_help },
        { "version", 1, 1, verb_version },
        {},
};

/* Parses the options, wherever they are (as systemctl does), up to a "--". Returns
 * -1 to go on with the verb, or the exit status to exit with. */
static int parse_argv(int argc, char *argv[], CtlArgs *args) {
        enum {
                ARG_VERSION = 0x100,
                ARG_NO_LEGEND,
                ARG_NO_PAGER,
                ARG_JSON,
                ARG_LOCAL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "json", optional_argument, NULL, ARG_JSON },
                { "local", no_argument, NULL, ARG_LOCAL },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        return version();
                case ARG_NO_LEGEND:
                        args->legend = false;
                        break;
                case ARG_NO_PAGER:
                        args->pager = false;
                        break;
                case ARG_JSON:
                        if (!optarg) {
                                args->json = isatty(STDOUT_FILENO) ? JSON_MODE_PRETTY : JSON_MODE_SHORT;
                                break;
                        }
                        args->json = json_mode_from_string(optarg);
                        if (args->json < 0) {
                                log_error("Invalid --json= mode '%s': use short, pretty or off.", optarg);
                                return PESCTL_EXIT_USAGE;
                        }
                        break;
                case ARG_LOCAL:
                        args->local = true;
                        break;
                default:
                        return PESCTL_EXIT_USAGE;
                }

        return -1;
}

int main(int argc, char *argv[]) {
        CtlArgs args = CTL_ARGS_DEFAULT;
        int r;

        log_set_ident("pesctl");
        log_set_target(LOG_TARGET_CONSOLE);

        r = parse_argv(argc, argv, &args);
        if (r >= 0)
                return r;

        if (optind >= argc) {
                help();
                return PESCTL_EXIT_USAGE;
        }

        r = dispatch_verb(argc - optind, argv + optind, verbs, &args);
        if (r == -EINVAL)
                return PESCTL_EXIT_USAGE;
        return r < 0 ? PESCTL_EXIT_FAILURE : r;
}
