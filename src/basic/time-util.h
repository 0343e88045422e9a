/* SPDX-License-Identifier: MIT */
/* Microsecond time values, the clocks pes reads, and parsing/formatting of durations like "1.5s". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE ((usec_t) (60ULL * USEC_PER_SEC))
#define USEC_PER_HOUR ((usec_t) (60ULL * USEC_PER_MINUTE))
#define USEC_PER_DAY ((usec_t) (24ULL * USEC_PER_HOUR))

/* Converts a timespec to µs, saturating at USEC_INFINITY. */
usec_t timespec_load(const struct timespec *ts);

/* Reads clock_id in µs. The clocks pes uses cannot fail on Linux; a failure is a
 * programmer error and aborts. */
usec_t now(clockid_t clock_id);

/*
 * Elapsed-time clock of DESIGN.md "Time source": CLOCK_MONOTONIC_RAW (never slewed
 * by NTP) plus the time spent in suspend, CLOCK_BOOTTIME − CLOCK_MONOTONIC. Only
 * differences of its readings mean anything; it is never compared across hosts.
 */
usec_t now_unslewed(void);

/*
 * Parses a duration: a sequence of "<number><unit>" parts, optionally separated
 * by spaces ("250ms", "1.5s", "2min", "1min 30s"). Numbers may have a fraction.
 * Units: us/usec, ms/msec, s/sec/second(s), m/min/minute(s), h/hr/hour(s),
 * d/day(s); a lone number without unit counts in seconds. Returns 0 and sets
 * *ret, -EINVAL on malformed text (empty, sign, unknown unit, junk) or -ERANGE
 * when the value does not fit in usec_t.
 */
int parse_timespan(const char *s, usec_t *ret);

/* Formats usec as a short human duration ("1.5s", "250ms", "2min 3s", "infinity")
 * into buf and returns buf. FORMAT_TIMESPAN_MAX bytes always suffice. */
#define FORMAT_TIMESPAN_MAX 64
char *format_timespan(char *buf, size_t size, usec_t usec);
