/* SPDX-License-Identifier: MIT */
/* pesctl: the command-line client of pes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "config.h"
#include "ctl/bus-util.h"
#include "ctl/ctl-membership.h"
#include "ctl/ctl-verbs.h"
#include "ctl/verbs.h"

static bool invoked_as_pes_supervise = false;

static int help(void) {
        if (invoked_as_pes_supervise) {
                printf("pes-supervise [OPTIONS...] UNIT\n"
                       "\n"
                       "Supervise UNIT on this host: the short form of 'pesctl supervise UNIT'.\n"
                       "The options are those of pesctl supervise; see 'pesctl --help'.\n");
                return PESCTL_EXIT_SUCCESS;
        }

        printf("pesctl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Control pes, the cluster-wide singleton service for systemd units.\n"
               "\n"
               "Commands:\n"
               "  status                    Show this node: name, version, quorum, names, peers\n"
               "  status NAME               Show the owner of NAME (a majority read; --local for\n"
               "                            this node's view), its fencing token and lease, this\n"
               "                            host's side of the unit, and its recent owner changes\n"
               "                            from the journal\n"
               "  list                      List the names this node knows\n"
               "  lookup NAME               Show the owner of NAME (a majority read; --local\n"
               "                            for this node's own view)\n"
               "  nodes                     List the members of the cluster: role, liveness,\n"
               "                            last contact, configuration epoch\n"
               "  units                     List the units supervised on this host\n"
               "  holds NAME                Exit 0 if this host holds NAME now, 1 if not or on any\n"
               "                            error, within a second (the ExecCondition= of\n"
               "                            supervised units)\n"
               "  supervise UNIT            Supervise UNIT on this host from now on (also\n"
               "                            installed as pes-supervise UNIT); see the options below\n"
               "  unsupervise UNIT          Stop supervising UNIT declared with supervise\n"
               "  move UNIT HOST            Stop UNIT here and start it on HOST; returns once HOST\n"
               "                            runs it\n"
               "  acquire NAME [-- CMD...]  Hold NAME and run CMD while it is held (CMD finds\n"
               "                            PES_NAME and PES_FENCING_TOKEN in its environment),\n"
               "                            or without CMD print the fencing token and hold NAME\n"
               "                            until interrupted. If NAME is lost, CMD is stopped\n"
               "                            (SIGTERM, SIGKILL 5s later) and pesctl exits with 3.\n"
               "  release NAME              Release NAME held by this node for a bus client\n"
               "  join HOST[:PORT]          Make this host, alone so far, a candidate of the\n"
               "                            cluster of the member at HOST:PORT (default port 7480;\n"
               "                            the same cluster key)\n"
               "  leave [HOST]              Hand off or release every unit this host holds, then\n"
               "                            leave the cluster; with HOST, remove that dead host\n"
               "  voters                    Show the voter configuration: epoch, phase, the change\n"
               "                            in flight, the voters\n"
               "  voters add HOST           Make HOST, a member, a voter (two steps, each at least\n"
               "                            the longest lease; progress is shown)\n"
               "  voters remove HOST        Make HOST, a voter (dead or alive), a candidate\n"
               "  voters resume             Drive the voter change in flight to its end (after the\n"
               "                            host driving it crashed)\n"
               "  voters rollback           Undo the voter change in flight (during its first step)\n"
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
               "     --local                lookup, status NAME: answer from this node's view only\n"
               "     --no-block             voters add, remove, resume, rollback: return once the\n"
               "                            change started ('pesctl voters' shows how it goes)\n"
               "\n"
               "Options of supervise (the keys of /etc/pes/units.d/UNIT.conf they set):\n"
               "     --hosts=H1,H2...       Hosts that may run UNIT (Hosts=; default: every host)\n"
               "     --prefer=H1:3,H2:1...  Weights in the choice of a host (Prefer=; default 1)\n"
               "     --heartbeat=DURATION   Renewal interval; the lease is 3 of them (HeartbeatSec=)\n"
               "     --stop-timeout=DURATION\n"
               "                            Time UNIT needs to stop (StopSec=; default 500ms)\n"
               "     --failure-budget=N     Failures a host may have within the window\n"
               "                            (FailureBudget=; default 3)\n"
               "     --failure-window=DURATION\n"
               "                            FailureWindowSec= (default 10min)\n"
               "     --failure-backoff=DURATION\n"
               "                            How long a host over budget steps aside\n"
               "                            (FailureBackoffSec=; default 5min)\n"
               "     --health-url=URL       http(s) URL probed while UNIT runs here (HealthURL=)\n"
               "     --health-interval=DURATION\n"
               "                            HealthIntervalSec= (default 5s)\n"
               "     --health-timeout=DURATION\n"
               "                            HealthTimeoutSec= (default 2s)\n"
               "     --health-threshold=N   Failed probes in a row that count as a failure of\n"
               "                            UNIT (HealthThreshold=; default 3)\n"
               "     --disable              Disable UNIT's start at boot first (a unit enabled to\n"
               "                            start at boot is refused otherwise)\n"
               "\n"
               "pesctl talks to pesd on the system bus ($DBUS_SYSTEM_BUS_ADDRESS if set).\n"
               "Reading is open to every user; acquire, release, supervise, unsupervise, move,\n"
               "join, leave and the voter changes need root. join, leave and the voter changes\n"
               "return once the change is complete.\n"
               "\n"
               "Exit status:\n"
               "  0  success (acquire with CMD: CMD's own status; 128+N if signal N killed it;\n"
               "     holds: this host holds the name)\n"
               "  1  failure (holds: this host does not hold the name, or any error)\n"
               "  2  wrong usage, or a unit or setting pesd refuses\n"
               "  3  the name was lost while acquire held it\n"
               "  4  no such name (a unit: not supervised on this host)\n",
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
        { "status", 1, 2, verb_status },
        { "list", 1, 1, verb_list },
        { "lookup", 2, 2, verb_lookup },
        { "nodes", 1, 1, verb_nodes },
        { "units", 1, 1, verb_units },
        /* holds checks its arguments itself: wrong usage must exit with 1 there. */
        { "holds", 1, VERB_ANY, verb_holds },
        { "supervise", 2, 2, verb_supervise },
        { "unsupervise", 2, 2, verb_unsupervise },
        { "move", 3, 3, verb_move },
        { "acquire", 2, VERB_ANY, verb_acquire },
        { "release", 2, 2, verb_release },
        { "join", 2, 2, verb_join },
        { "leave", 1, 2, verb_leave },
        { "voters", 1, 3, verb_voters },
        { "keygen", 1, 2, verb_keygen },
        { "help", 1, 1, verb_help },
        { "version", 1, 1, verb_version },
        {},
};

enum {
        ARG_VERSION = 0x100,
        ARG_NO_LEGEND,
        ARG_NO_PAGER,
        ARG_JSON,
        ARG_LOCAL,
        ARG_HOSTS,
        ARG_PREFER,
        ARG_HEARTBEAT,
        ARG_STOP_TIMEOUT,
        ARG_FAILURE_BUDGET,
        ARG_FAILURE_WINDOW,
        ARG_FAILURE_BACKOFF,
        ARG_HEALTH_URL,
        ARG_HEALTH_INTERVAL,
        ARG_HEALTH_TIMEOUT,
        ARG_HEALTH_THRESHOLD,
        ARG_DISABLE,
        ARG_NO_BLOCK,
};

static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, ARG_VERSION },
        { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
        { "no-pager", no_argument, NULL, ARG_NO_PAGER },
        { "json", optional_argument, NULL, ARG_JSON },
        { "local", no_argument, NULL, ARG_LOCAL },
        { "hosts", required_argument, NULL, ARG_HOSTS },
        { "prefer", required_argument, NULL, ARG_PREFER },
        { "heartbeat", required_argument, NULL, ARG_HEARTBEAT },
        { "stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT },
        { "failure-budget", required_argument, NULL, ARG_FAILURE_BUDGET },
        { "failure-window", required_argument, NULL, ARG_FAILURE_WINDOW },
        { "failure-backoff", required_argument, NULL, ARG_FAILURE_BACKOFF },
        { "health-url", required_argument, NULL, ARG_HEALTH_URL },
        { "health-interval", required_argument, NULL, ARG_HEALTH_INTERVAL },
        { "health-timeout", required_argument, NULL, ARG_HEALTH_TIMEOUT },
        { "health-threshold", required_argument, NULL, ARG_HEALTH_THRESHOLD },
        { "disable", no_argument, NULL, ARG_DISABLE },
        { "no-block", no_argument, NULL, ARG_NO_BLOCK },
        {},
};

/*
 * Finds the verb before the options are parsed: the first argument that is
 * neither an option nor the value of one ("--hosts a,b"), or the one after "--".
 */
static const char *find_verb(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (strcmp(a, "--") == 0)
                        return i + 1 < argc ? argv[i + 1] : NULL;
                if (a[0] != '-' || a[1] == 0)
                        return a;
                if (a[1] != '-' || strchr(a, '='))
                        continue;
                /* getopt_long() takes unambiguous abbreviations too. */
                for (const struct option *o = options; o->name; o++)
                        if (o->has_arg == required_argument && strncmp(a + 2, o->name, strlen(a + 2)) == 0) {
                                i++;
                                break;
                        }
        }
        return NULL;
}

/* Parses the options, wherever they are (as systemctl does), up to a "--". Returns
 * -1 to go on with the verb, or the exit status to exit with. */
static int parse_argv(int argc, char *argv[], CtlArgs *args) {
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
                case ARG_HOSTS:
                        args->supervise.hosts = optarg;
                        break;
                case ARG_PREFER:
                        args->supervise.prefer = optarg;
                        break;
                case ARG_HEARTBEAT:
                        args->supervise.heartbeat = optarg;
                        break;
                case ARG_STOP_TIMEOUT:
                        args->supervise.stop_timeout = optarg;
                        break;
                case ARG_FAILURE_BUDGET:
                        args->supervise.failure_budget = optarg;
                        break;
                case ARG_FAILURE_WINDOW:
                        args->supervise.failure_window = optarg;
                        break;
                case ARG_FAILURE_BACKOFF:
                        args->supervise.failure_backoff = optarg;
                        break;
                case ARG_HEALTH_URL:
                        args->supervise.health_url = optarg;
                        break;
                case ARG_HEALTH_INTERVAL:
                        args->supervise.health_interval = optarg;
                        break;
                case ARG_HEALTH_TIMEOUT:
                        args->supervise.health_timeout = optarg;
                        break;
                case ARG_HEALTH_THRESHOLD:
                        args->supervise.health_threshold = optarg;
                        break;
                case ARG_DISABLE:
                        args->supervise.disable = true;
                        break;
                case ARG_NO_BLOCK:
                        args->no_block = true;
                        break;
                default:
                        return PESCTL_EXIT_USAGE;
                }

        return -1;
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char **supervise_argv = NULL;
        CtlArgs args = CTL_ARGS_DEFAULT;
        const char *verb;
        bool holds;
        int r;

        invoked_as_pes_supervise = strcmp(program_invocation_short_name, "pes-supervise") == 0;
        log_set_ident(invoked_as_pes_supervise ? "pes-supervise" : "pesctl");
        log_set_target(LOG_TARGET_CONSOLE);

        if (invoked_as_pes_supervise) {
                /* "pes-supervise ARGS..." is "pesctl supervise ARGS...". */
                supervise_argv = calloc((size_t) argc + 2, sizeof(char *));
                if (!supervise_argv) {
                        log_error_errno(ENOMEM, "Failed to parse the command line: %m");
                        return PESCTL_EXIT_FAILURE;
                }
                supervise_argv[0] = argv[0];
                supervise_argv[1] = (char *) "supervise";
                memcpy(supervise_argv + 2, argv + 1, (size_t) (argc - 1) * sizeof(char *));
                argv = supervise_argv;
                argc++;
        }

        /* Every failure of holds, wrong usage included, is exit status 1 (see verb_holds()). */
        verb = find_verb(argc, argv);
        holds = verb && strcmp(verb, "holds") == 0;

        r = parse_argv(argc, argv, &args);
        if (r >= 0)
                return holds && r == PESCTL_EXIT_USAGE ? PESCTL_EXIT_FAILURE : r;

        if (optind >= argc) {
                help();
                return PESCTL_EXIT_USAGE;
        }

        if (supervise_options_any(&args.supervise) && strcmp(argv[optind], "supervise") != 0) {
                log_error("The options of supervise (--hosts=, --prefer=, --disable, ...) apply to supervise only.");
                return holds ? PESCTL_EXIT_FAILURE : PESCTL_EXIT_USAGE;
        }

        if (args.no_block && !(strcmp(argv[optind], "voters") == 0 && optind + 1 < argc)) {
                log_error("--no-block applies to the voter changes only (voters add, remove, resume, rollback).");
                return holds ? PESCTL_EXIT_FAILURE : PESCTL_EXIT_USAGE;
        }

        r = dispatch_verb(argc - optind, argv + optind, verbs, &args);
        if (r == -EINVAL)
                return holds ? PESCTL_EXIT_FAILURE : PESCTL_EXIT_USAGE;
        return r < 0 ? PESCTL_EXIT_FAILURE : r;
}
