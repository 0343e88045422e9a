/* SPDX-License-Identifier: MIT */
/* The options of "pesctl supervise UNIT" turned into the [Supervise] lines of a units.d file that pesd's Supervise takes. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/time-util.h"
#include "ctl/supervise-settings.h"

typedef enum SettingKind {
        SETTING_HOSTS,
        SETTING_PREFER,
        SETTING_DURATION,
        SETTING_COUNT,
        SETTING_URL,
} SettingKind;

typedef struct Setting {
        size_t offset; /* of the option in SuperviseOptions */
        const char *option;
        const char *key;
        SettingKind kind;
} Setting;

/* In the order of the [Supervise] section of units.d files. */
static const Setting settings[] = {
        { offsetof(SuperviseOptions, hosts), "hosts", "Hosts", SETTING_HOSTS },
        { offsetof(SuperviseOptions, prefer), "prefer", "Prefer", SETTING_PREFER },
        { offsetof(SuperviseOptions, heartbeat), "heartbeat", "HeartbeatSec", SETTING_DURATION },
        { offsetof(SuperviseOptions, stop_timeout), "stop-timeout", "StopSec", SETTING_DURATION },
        { offsetof(SuperviseOptions, failure_budget), "failure-budget", "FailureBudget", SETTING_COUNT },
        { offsetof(SuperviseOptions, failure_window), "failure-window", "FailureWindowSec", SETTING_DURATION },
        { offsetof(SuperviseOptions, failure_backoff), "failure-backoff", "FailureBackoffSec", SETTING_DURATION },
        { offsetof(SuperviseOptions, health_url), "health-url", "HealthURL", SETTING_URL },
        { offsetof(SuperviseOptions, health_interval), "health-interval", "HealthIntervalSec", SETTING_DURATION },
        { offsetof(SuperviseOptions, health_timeout), "health-timeout", "HealthTimeoutSec", SETTING_DURATION },
        { offsetof(SuperviseOptions, health_threshold), "health-threshold", "HealthThreshold", SETTING_COUNT },
};

static const char *option_value(const SuperviseOptions *o, const Setting *s) {
        return *(const char *const *) ((const char *) o + s->offset);
}

char **strv_free(char **l) {
        for (char **s = l; s && *s; s++)
                free(*s);
        free(l);
        return NULL;
}

bool supervise_options_any(const SuperviseOptions *o) {
        assert(o);

        if (o->disable)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (option_value(o, &settings[i]))
                        return true;
        return false;
}

static int fail(char **ret_error, const char *format, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(ret_error, format, ap);
        va_end(ap);
        if (r < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

static bool is_count(const char *s) {
        if (!*s || strlen(s) > 9)
                return false;
        return strspn(s, "0123456789") == strlen(s);
}

/* A host name as pesd knows hosts: printable ASCII, no ':' (Prefer= separates the weight with it). */
static bool is_host(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] > '~' || s[i] == ':' || s[i] == ',')
                        return false;
        return true;
}

/*
 * Turns "h1,h2" (commas or spaces between items) into "h1 h2", checking each item:
 * a host, or with weights a "host:N".
 */
static int host_list(const Setting *s, const char *value, bool weights, char **ret, char **ret_error) {
        _cleanup_free_ char *out = NULL;
        size_t len = 0, n_items = 0;
        const char *p = value;

        out = malloc(strlen(value) + 1);
        if (!out)
                return -ENOMEM;

        for (;;) {
                const char *colon;
                size_t n;

                p += strspn(p, ", \t");
                if (!*p)
                        break;
                n = strcspn(p, ", \t");
                colon = memchr(p, ':', n);
                if (weights) {
                        _cleanup_free_ char *w = NULL;

                        if (!colon || !is_host(p, (size_t) (colon - p)))
                                return fail(ret_error, "Invalid --%s='%s': '%.*s' is not HOST:WEIGHT.", s->option,
                                            value, (int) n, p);
                        w = strndup(colon + 1, n - (size_t) (colon + 1 - p));
                        if (!w)
                                return -ENOMEM;
                        if (!is_count(w))
                                return fail(ret_error, "Invalid --%s='%s': the weight in '%.*s' is not a number.",
                                            s->option, value, (int) n, p);
                } else if (!is_host(p, n))
                        return fail(ret_error, "Invalid --%s='%s': '%.*s' is not a host name.", s->option, value,
                                    (int) n, p);

                if (len > 0)
                        out[len++] = ' ';
                memcpy(out + len, p, n);
                len += n;
                n_items++;
                p += n;
        }
        out[len] = 0;

        if (n_items == 0)
                return fail(ret_error, "Invalid --%s='%s': no host given.", s->option, value);
        *ret = TAKE_PTR(out);
        return 0;
}

/* Checks the form of one option and returns its value as units.d spells it. */
static int setting_value(const Setting *s, const char *value, char **ret, char **ret_error) {
        usec_t usec;
        int r;

        switch (s->kind) {
        case SETTING_HOSTS:
        case SETTING_PREFER:
                return host_list(s, value, s->kind == SETTING_PREFER, ret, ret_error);
        case SETTING_DURATION:
                r = parse_timespan(value, &usec);
                if (r < 0)
                        return fail(ret_error, "Invalid --%s='%s': not a duration such as 2s, 500ms or 5min.",
                                    s->option, value);
                break;
        case SETTING_COUNT:
                if (!is_count(value))
                        return fail(ret_error, "Invalid --%s='%s': not a number.", s->option, value);
                break;
        case SETTING_URL:
                if ((strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) ||
                    strpbrk(value, " \t\n"))
                        return fail(ret_error, "Invalid --%s='%s': not an http:// or https:// URL.", s->option,
                                    value);
                break;
        }

        *ret = strdup(value);
        return *ret ? 0 : -ENOMEM;
}

int supervise_settings_build(const SuperviseOptions *o, char ***ret, char **ret_error) {
        char **l;
        size_t n = 0;
        int r;

        assert(o);
        assert(ret);
        assert(ret_error);

        *ret_error = NULL;
        l = calloc(ELEMENTSOF(settings) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                const Setting *s = &settings[i];
                const char *value = option_value(o, s);
                _cleanup_free_ char *v = NULL;

                if (!value)
                        continue;
                r = setting_value(s, value, &v, ret_error);
                if (r < 0) {
                        strv_free(l);
                        return r;
                }
                if (asprintf(&l[n], "%s=%s", s->key, v) < 0) {
                        l[n] = NULL;
                        strv_free(l);
                        return -ENOMEM;
                }
                n++;
        }

        *ret = l;
        return 0;
}
