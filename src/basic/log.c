/* SPDX-License-Identifier: MIT */
/* Logging to stderr or, with structured fields, to the journal. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "basic/log.h"

/* Fields attached to one entry at most, besides MESSAGE, PRIORITY and ERRNO. */
#define LOG_FIELDS_MAX 16

static LogTarget log_target = LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;
static const char *log_ident = "pes";
static int auto_is_journal = -1; /* cached answer for LOG_TARGET_AUTO */

void log_set_target(LogTarget target) {
        log_target = target;
        auto_is_journal = -1;
}

LogTarget log_get_target(void) {
        return log_target;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

void log_set_ident(const char *ident) {
        log_ident = ident ? ident : "pes";
}

int log_level_from_string(const char *s) {
        static const char *const names[] = {
                "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
        };

        if (!s)
                return -EINVAL;
        for (int i = 0; i < (int) ELEMENTSOF(names); i++)
                if (strcasecmp(s, names[i]) == 0)
                        return i;
        if (strcasecmp(s, "error") == 0)
                return LOG_ERR;
        if (strcasecmp(s, "warn") == 0)
                return LOG_WARNING;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        return -EINVAL;
}

bool log_stream_is_journal(const char *journal_stream, int fd) {
        unsigned long long dev, ino;
        struct stat st;
        int n = 0;

        if (!journal_stream)
                return false;
        if (sscanf(journal_stream, "%llu:%llu%n", &dev, &ino, &n) != 2 || journal_stream[n] != '\0')
                return false;
        if (fstat(fd, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static bool use_journal(void) {
        switch (log_target) {
        case LOG_TARGET_JOURNAL:
                return true;
        case LOG_TARGET_CONSOLE:
                return false;
        case LOG_TARGET_AUTO:
        default:
                if (auto_is_journal < 0)
                        auto_is_journal = log_stream_is_journal(getenv("JOURNAL_STREAM"), STDERR_FILENO);
                return auto_is_journal;
        }
}

static int write_journal(int level, int error, const char *const *fields, const char *message) {
        char prio[sizeof("PRIORITY=") + 4], errno_field[sizeof("ERRNO=") + 12];
        _cleanup_free_ char *msg = NULL, *ident = NULL;
        struct iovec iov[LOG_FIELDS_MAX + 4];
        size_t n = 0;

        if (asprintf(&msg, "MESSAGE=%s", message) < 0 ||
            asprintf(&ident, "SYSLOG_IDENTIFIER=%s", log_ident) < 0)
                return -ENOMEM;
        snprintf(prio, sizeof prio, "PRIORITY=%i", level);

        iov[n++] = (struct iovec){ msg, strlen(msg) };
        iov[n++] = (struct iovec){ prio, strlen(prio) };
        iov[n++] = (struct iovec){ ident, strlen(ident) };
        if (error != 0) {
                snprintf(errno_field, sizeof errno_field, "ERRNO=%i", error);
                iov[n++] = (struct iovec){ errno_field, strlen(errno_field) };
        }
        for (size_t i = 0; fields && fields[i] && i < LOG_FIELDS_MAX; i++)
                iov[n++] = (struct iovec){ (void *) fields[i], strlen(fields[i]) };

        return sd_journal_sendv(iov, (int) n);
}

int log_emit(int level, int error, const char *const *fields, const char *format, ...) {
        char message[2048];
        va_list ap;
        int saved = errno;

        if (error < 0)
                error = -error;

        if (level > log_max_level) {
                errno = saved;
                return -error;
        }

        /* %m in the format means the error passed in, not whatever errno is now. */
        errno = error;
        va_start(ap, format);
        vsnprintf(message, sizeof message, format, ap);
        va_end(ap);

        if (!use_journal() || write_journal(level, error, fields, message) < 0)
                fprintf(stderr, "%s: %s\n", log_ident, message);

        errno = saved;
        return -error;
}
