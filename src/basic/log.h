/* SPDX-License-Identifier: MIT */
/* Logging with levels: to the journal with structured fields when stderr is the journal, else to stderr. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "basic/macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,    /* the journal if stderr is connected to it, else stderr */
        LOG_TARGET_CONSOLE, /* stderr */
        LOG_TARGET_JOURNAL, /* the journal's native protocol */
} LogTarget;

/* Chooses where messages go; LOG_TARGET_AUTO checks $JOURNAL_STREAM against stderr. */
void log_set_target(LogTarget target);
LogTarget log_get_target(void);

/* Messages above max_level (LOG_DEBUG is the most verbose) are dropped. */
void log_set_max_level(int level);
int log_get_max_level(void);

/* Parses a level name ("err", "warning", "info", "debug", …) or number 0–7. */
int log_level_from_string(const char *s);

/* Sets the program name used as the stderr prefix and SYSLOG_IDENTIFIER. */
void log_set_ident(const char *ident);

/*
 * True if stderr is the journal stream named by a $JOURNAL_STREAM value ("dev:ino"),
 * i.e. systemd connected our stderr to journald. Exposed for tests.
 */
bool log_stream_is_journal(const char *journal_stream, int fd);

/*
 * Logs a message at level. fields is NULL or a NULL-terminated array of
 * "KEY=value" strings attached to the journal entry (PES_NAME=, PES_TOKEN=,
 * PES_OWNER=); on stderr they are not shown. error, if non-zero, is an errno
 * (either sign) made available to %m. Returns -abs(error), so that a caller can
 * write `return log_error_errno(r, "...: %m");`.
 */
int log_emit(int level, int error, const char *const *fields, const char *format, ...) _printf_(4, 5);

#define LOG_FIELDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

#define log_full_errno(level, error, ...) log_emit((level), (error), NULL, __VA_ARGS__)
#define log_debug(...) log_emit(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_info(...) log_emit(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_notice(...) log_emit(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_warning(...) log_emit(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...) log_emit(LOG_ERR, 0, NULL, __VA_ARGS__)
#define log_debug_errno(error, ...) log_emit(LOG_DEBUG, (error), NULL, __VA_ARGS__)
#define log_warning_errno(error, ...) log_emit(LOG_WARNING, (error), NULL, __VA_ARGS__)
#define log_error_errno(error, ...) log_emit(LOG_ERR, (error), NULL, __VA_ARGS__)
