/* SPDX-License-Identifier: MIT */
/* Clock reads and duration parsing/formatting. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "basic/macro.h"
#include "basic/time-util.h"

usec_t timespec_load(const struct timespec *ts) {
        assert(ts);

        if (ts->tv_sec < 0 || ts->tv_nsec < 0)
                return 0;
        if ((uint64_t) ts->tv_sec > (UINT64_MAX - (uint64_t) ts->tv_nsec / NSEC_PER_USEC) / USEC_PER_SEC)
                return USEC_INFINITY;
        return (usec_t) ts->tv_sec * USEC_PER_SEC + (usec_t) ts->tv_nsec / NSEC_PER_USEC;
}

usec_t now(clockid_t clock_id) {
        struct timespec ts;

        if (clock_gettime(clock_id, &ts) < 0)
                abort();
        return timespec_load(&ts);
}

usec_t now_unslewed(void) {
        usec_t mono, boot, mono2, raw;

        /* BOOTTIME − MONOTONIC is the time spent in suspend. A preemption between the
         * two reads would add to it (a clock that jumps forward: a holder's t0 late,
         * an acceptor's expiry early), so read MONOTONIC on both sides and retry
         * until the pair is tight. */
        for (unsigned i = 0;; i++) {
                mono = now(CLOCK_MONOTONIC);
                boot = now(CLOCK_BOOTTIME);
                mono2 = now(CLOCK_MONOTONIC);
                if (mono2 - mono <= 5 || i >= 100)
                        break;
        }
        raw = now(CLOCK_MONOTONIC_RAW);
        /* The suspend term only grows; clamp against a pair read a little apart. */
        return raw + (boot > mono2 ? boot - mono2 : 0);
}

static const struct {
        const char *suffix;
        usec_t usec;
} units[] = {
        /* Longer suffixes first, so "ms" is not read as "m" followed by junk. */
        { "seconds", USEC_PER_SEC },  { "second", USEC_PER_SEC },   { "minutes", USEC_PER_MINUTE },
        { "minute", USEC_PER_MINUTE }, { "hours", USEC_PER_HOUR },  { "hour", USEC_PER_HOUR },
        { "days", USEC_PER_DAY },      { "day", USEC_PER_DAY },     { "usec", 1 },
        { "msec", USEC_PER_MSEC },     { "sec", USEC_PER_SEC },     { "min", USEC_PER_MINUTE },
        { "hr", USEC_PER_HOUR },       { "us", 1 },                 { "ms", USEC_PER_MSEC },
        { "s", USEC_PER_SEC },         { "m", USEC_PER_MINUTE },    { "h", USEC_PER_HOUR },
        { "d", USEC_PER_DAY },
};

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_space(char c) {
        return c == ' ' || c == '\t';
}

/* Adds a to *sum, failing with -ERANGE on overflow. */
static int add_usec(usec_t *sum, usec_t a) {
        if (a > USEC_INFINITY - 1 - *sum)
                return -ERANGE;
        *sum += a;
        return 0;
}

int parse_timespan(const char *s, usec_t *ret) {
        usec_t total = 0;
        bool any = false;
        int r;

        if (!s || !ret)
                return -EINVAL;

        for (const char *p = s;;) {
                uint64_t whole = 0, frac = 0, frac_div = 1;
                usec_t unit = USEC_PER_SEC, part;
                bool digits = false;

                while (is_space(*p))
                        p++;
                if (*p == '\0')
                        break;

                /* The integer part, exact in 64 bits. */
                for (; is_digit(*p); p++) {
                        if (whole > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        whole = whole * 10 + (uint64_t) (*p - '0');
                        digits = true;
                }
                /* The fraction: digits beyond nanosecond precision are dropped. */
                if (*p == '.') {
                        p++;
                        for (; is_digit(*p); p++) {
                                if (frac_div < 1000000000ULL) {
                                        frac = frac * 10 + (uint64_t) (*p - '0');
                                        frac_div *= 10;
                                }
                                digits = true;
                        }
                }
                if (!digits)
                        return -EINVAL;

                while (is_space(*p))
                        p++;
                if (*p != '\0' && !is_digit(*p)) {
                        size_t i;

                        for (i = 0; i < ELEMENTSOF(units); i++) {
                                size_t l = strlen(units[i].suffix);

                                if (strncmp(p, units[i].suffix, l) == 0 &&
                                    (p[l] == '\0' || is_space(p[l]) || is_digit(p[l]))) {
                                        unit = units[i].usec;
                                        p += l;
                                        break;
                                }
                        }
                        if (i == ELEMENTSOF(units))
                                return -EINVAL;
                } else if (any || *p != '\0')
                        /* A bare number is allowed only as the whole text ("3"). */
                        return -EINVAL;

                if (whole > (USEC_INFINITY - 1) / unit)
                        return -ERANGE;
                part = whole * unit;
                r = add_usec(&part, frac * unit / frac_div);
                if (r < 0)
                        return r;
                r = add_usec(&total, part);
                if (r < 0)
                        return r;
                any = true;
        }

        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

char *format_timespan(char *buf, size_t size, usec_t usec) {
        static const struct {
                const char *suffix;
                usec_t usec;
        } table[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "min", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        size_t n = 0;

        assert(buf);
        assert(size > 0);

        if (usec == USEC_INFINITY) {
                snprintf(buf, size, "infinity");
                return buf;
        }
        if (usec == 0) {
                snprintf(buf, size, "0");
                return buf;
        }

        for (size_t i = 0; i < ELEMENTSOF(table) && usec > 0 && n < size; i++) {
                usec_t a = usec / table[i].usec, b = usec % table[i].usec;
                int k;

                if (a == 0)
                        continue;

                /* Seconds and milliseconds carry their remainder as a fraction, as
                 * "1.5s" reads better than "1s 500ms". */
                if ((table[i].usec == USEC_PER_SEC || table[i].usec == USEC_PER_MSEC) && b > 0) {
                        unsigned width = table[i].usec == USEC_PER_SEC ? 6 : 3;
                        usec_t frac = b;

                        while (frac % 10 == 0) {
                                frac /= 10;
                                width--;
                        }
                        k = snprintf(buf + n, size - n, "%s%llu.%0*llu%s", n > 0 ? " " : "",
                                     (unsigned long long) a, (int) width, (unsigned long long) frac,
                                     table[i].suffix);
                        b = 0;
                } else
                        k = snprintf(buf + n, size - n, "%s%llu%s", n > 0 ? " " : "",
                                     (unsigned long long) a, table[i].suffix);
                if (k < 0)
                        break;
                n += (size_t) k;
                usec = b;
        }

        return buf;
}
