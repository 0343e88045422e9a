/* SPDX-License-Identifier: MIT */
/* pes-tick: the integration tests' singleton, which appends "host monotonic_ns
 * token" to a log shared by all hosts every 10 ms while it runs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) {
        stop_requested = 1;
}

static void help(void) {
        printf("Usage: pes-tick [OPTIONS] [LOG]\n"
               "\n"
               "Appends \"HOST MONOTONIC_NS TOKEN\" to LOG (or $PES_TICK_LOG) every\n"
               "interval until SIGTERM or SIGINT. HOST is the hostname, MONOTONIC_NS\n"
               "the CLOCK_MONOTONIC reading taken just before the write, TOKEN is\n"
               "$PES_FENCING_TOKEN (0 when unset). Each line is one write() on a\n"
               "descriptor opened with O_APPEND, so lines from several writers never\n"
               "interleave.\n"
               "\n"
               "Options:\n"
               "  -i --interval-ms=MS  time between ticks (default 10)\n"
               "  -h --help            show this help\n");
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !*s || *s == '-' || *s == '+')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

static uint64_t timespec_ns(const struct timespec *ts) {
        return (uint64_t) ts->tv_sec * NSEC_PER_SEC + (uint64_t) ts->tv_nsec;
}

static struct timespec ns_timespec(uint64_t ns) {
        return (struct timespec) {
                .tv_sec = (time_t) (ns / NSEC_PER_SEC),
                .tv_nsec = (long) (ns % NSEC_PER_SEC),
        };
}

/* Writes one tick line with a single write(); a short write would split a
 * line, so it counts as an error. */
static int write_tick(int fd, const char *host, uint64_t token, uint64_t *ret_ns) {
        struct timespec now;
        char line[HOST_NAME_MAX + 64];
        int n;
        ssize_t k;

        if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
                return -errno;
        n = snprintf(line, sizeof(line), "%s %llu %llu\n", host,
                     (unsigned long long) timespec_ns(&now), (unsigned long long) token);
        if (n < 0 || (size_t) n >= sizeof(line))
                return -EOVERFLOW;
        k = write(fd, line, (size_t) n);
        if (k < 0)
                return -errno;
        if (k != n)
                return -EIO;
        *ret_ns = timespec_ns(&now);
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "interval-ms", required_argument, NULL, 'i' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct sigaction sa = { .sa_handler = on_stop };
        char host[HOST_NAME_MAX + 1] = {};
        const char *path, *token_env;
        uint64_t token = 0, interval_ms = 10, next, ticked = 0;
        struct timespec now;
        int c, fd, r;

        while ((c = getopt_long(argc, argv, "i:h", options, NULL)) >= 0)
                switch (c) {
                case 'i':
                        if (parse_u64(optarg, &interval_ms) < 0 || interval_ms == 0 ||
                            interval_ms > 60000) {
                                fprintf(stderr, "pes-tick: bad interval '%s' (1-60000 ms)\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }

        if (argc - optind > 1) {
                fprintf(stderr, "pes-tick: too many arguments\n");
                return 2;
        }
        path = optind < argc ? argv[optind] : getenv("PES_TICK_LOG");
        if (!path || !*path) {
                fprintf(stderr, "pes-tick: no log file given (argument or $PES_TICK_LOG)\n");
                return 2;
        }

        token_env = getenv("PES_FENCING_TOKEN");
        if (token_env && *token_env && parse_u64(token_env, &token) < 0) {
                fprintf(stderr, "pes-tick: PES_FENCING_TOKEN='%s' is not an unsigned integer\n", token_env);
                return 2;
        }

        if (gethostname(host, sizeof(host) - 1) < 0) {
                fprintf(stderr, "pes-tick: gethostname: %m\n");
                return 1;
        }
        if (!*host || strpbrk(host, " \t\n")) {
                fprintf(stderr, "pes-tick: unusable hostname '%s'\n", host);
                return 1;
        }

        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0) {
                fprintf(stderr, "pes-tick: %s: %m\n", path);
                return 1;
        }

        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
                fprintf(stderr, "pes-tick: sigaction: %m\n");
                return 1;
        }

        if (clock_gettime(CLOCK_MONOTONIC, &now) < 0) {
                fprintf(stderr, "pes-tick: clock_gettime: %m\n");
                return 1;
        }
        next = timespec_ns(&now);

        /* Ticks are scheduled on absolute times, so a late wake-up does not
         * shift the ones after it; ticks missed while the process could not
         * run are skipped, not made up in a burst. A signal interrupts the
         * sleep and ends the loop before another tick. */
        while (!stop_requested) {
                struct timespec at;

                r = write_tick(fd, host, token, &ticked);
                if (r < 0) {
                        fprintf(stderr, "pes-tick: %s: %s\n", path, strerror(-r));
                        return 1;
                }
                next += interval_ms * NSEC_PER_MSEC;
                if (next <= ticked)
                        next = ticked + interval_ms * NSEC_PER_MSEC;
                at = ns_timespec(next);
                for (;;) {
                        r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
                        if (r == 0 || stop_requested)
                                break;
                        if (r != EINTR) {
                                fprintf(stderr, "pes-tick: clock_nanosleep: %s\n", strerror(r));
                                return 1;
                        }
                }
        }

        if (close(fd) < 0) {
                fprintf(stderr, "pes-tick: %s: %m\n", path);
                return 1;
        }
        return 0;
}
