/* SPDX-License-Identifier: MIT */
/* pesd's command line: parsing and help. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "basic/log.h"
#include "config.h"
#include "daemon/options.h"

void pesd_help(void) {
        printf("pesd [OPTIONS...]\n"
               "\n"
               "The pes daemon: agrees with its peers on one owner for each name, and lets\n"
               "local programs hold cluster-wide names over D-Bus (org.pes1).\n"
               "\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "  -c --config=FILE       Read FILE instead of " PES_SYSCONFDIR "/pesd.conf\n"
               "     --log-level=LEVEL   Log messages up to LEVEL (err, warning, notice, info, debug)\n"
               "\n"
               "Configuration (INI; every key is optional):\n"
               "  [Cluster]\n"
               "  Name=NAME              The cluster's name (hosts of other clusters are never counted)\n"
               "  NodeName=NAME          This host's name in Peers= (default: the host name)\n"
               "  Listen=ADDR[:PORT]     Peer port (default: 127.0.0.1:7480 alone, ADDR of Peers= otherwise)\n"
               "  Peers=NAME@ADDR[:PORT] ...  Every host of the cluster, this one included\n"
               "  Voters=NAME ...        The hosts of Peers= that decide: an odd number, at most 7\n"
               "                         (default: every peer, then at most 7); the rest are candidates\n"
               "  KeyFile=PATH           The cluster key (pesctl keygen), needed with Peers=\n"
               "  HeartbeatSec=DURATION  Heartbeat H (default 1s); leases last 3H\n"
               "  MaxPauseSec=DURATION   Delta: the longest host pause the lease margins absorb\n"
               "                         (default 200ms; the same on every host)\n"
               "  [Paths]\n"
               "  StateDir=PATH          Durable state (default " PES_STATEDIR ")\n"
               "  RuntimeDir=PATH        Runtime files (default " PES_RUNTIMEDIR ")\n"
               "  UnitsDir=PATH          Supervised units, one UNIT.conf each (default " PES_SYSCONFDIR "/units.d)\n"
               "  [TLS]\n"
               "  Certificate=, Key=, CA=  PEM files: TLS between peers, verified both ways\n"
               "\n"
               "Without a configuration file pesd runs a one-node cluster on 127.0.0.1.\n"
               "A line that does not parse stops pesd with FILE:LINE: reason, exit status 1.\n");
}

int pesd_parse_argv(int argc, char *argv[], PesdOptions *o) {
        enum { ARG_VERSION = 0x100, ARG_LOG_LEVEL };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "config", required_argument, NULL, 'c' },
                {},
        };
        int c;

        assert(o);

        optind = 0; /* reset getopt, so that repeated calls parse afresh */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        o->action = PESD_ACTION_HELP;
                        break;
                case ARG_VERSION:
                        o->action = PESD_ACTION_VERSION;
                        break;
                case 'c':
                        o->config_file = optarg;
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
