/* SPDX-License-Identifier: MIT */
/* Parsing, defaults and writing of supervised-unit declarations. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "basic/macro.h"
#include "daemon/ini-util.h"
#include "daemon/unit-conf.h"

#define UNIT_CONF_LINE_MAX 4096

bool unit_name_supervisable(const char *s) {
        static const char *const suffixes[] = { ".service", ".timer", ".socket" };
        size_t l;

        if (!s)
                return false;
        l = strlen(s);
        if (l == 0 || l > PES_NAME_MAX)
                return false;
        for (size_t i = 0; i < l; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr(":-_.\\@", c)))
                        return false;
        }
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t k = strlen(suffixes[i]);

                if (l > k && strcmp(s + l - k, suffixes[i]) == 0 && s[0] != '.' && s[0] != '@' &&
                    s[l - k - 1] != '@')
                        return true;
        }
        return false;
}

int unit_conf_init(UnitConf *u, const char *unit) {
        assert(u);

        if (!unit_name_supervisable(unit))
                return -EINVAL;
        *u = (UnitConf){
                .stop = 500 * USEC_PER_MSEC,
                .failure_budget = 3,
                .failure_window = 10 * USEC_PER_MINUTE,
                .failure_backoff = 5 * USEC_PER_MINUTE,
                .health_interval = 5 * USEC_PER_SEC,
                .health_timeout = 2 * USEC_PER_SEC,
                .health_threshold = 3,
        };
        u->unit = strdup(unit);
        return u->unit ? 0 : -ENOMEM;
}

static void hosts_free(UnitHost *h, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(h[i].name);
        free(h);
}

void unit_conf_done(UnitConf *u) {
        if (!u)
                return;
        free(u->unit);
        free(u->path);
        hosts_free(u->hosts, u->n_hosts);
        hosts_free(u->prefer, u->n_prefer);
        free(u->health_url);
        *u = (UnitConf){};
}

static bool host_name_valid(const char *s, size_t l) {
        if (l == 0 || l > 64)
                return false;
        for (size_t i = 0; i < l; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '-' || s[i] == '_' || s[i] == '.'))
                        return false;
        return true;
}

static int set_error(char **error, const char *format, ...) _printf_(2, 3);
static int set_error(char **error, const char *format, ...) {
        va_list ap;

        free(*error);
        va_start(ap, format);
        if (vasprintf(error, format, ap) < 0)
                *error = NULL;
        va_end(ap);
        return -EINVAL;
}

/* Parses "h1 h2" (with_weight false) or "h1:3 h2" (with_weight true). */
static int parse_hosts(const char *key, const char *value, bool with_weight, UnitHost **ret, size_t *ret_n,
                       char **error) {
        UnitHost *list = NULL;
        size_t n = 0;
        const char *p = value;

        for (;;) {
                size_t l;
                const char *colon;
                unsigned long w = 1;

                p += strspn(p, " \t,");
                if (*p == '\0')
                        break;
                l = strcspn(p, " \t,");
                colon = memchr(p, ':', l);
                if (colon && with_weight) {
                        char *end;

                        errno = 0;
                        w = strtoul(colon + 1, &end, 10);
                        if (errno != 0 || end != p + l || colon + 1 == end || w > 1000000) {
                                hosts_free(list, n);
                                return set_error(error, "%s=: '%.*s' is not HOST[:WEIGHT] (weight 0…1000000)", key,
                                                 (int) l, p);
                        }
                }
                if (!host_name_valid(p, colon && with_weight ? (size_t) (colon - p) : l)) {
                        hosts_free(list, n);
                        return set_error(error, "%s=: '%.*s' is not a host name", key, (int) l, p);
                }
                if (n >= UNIT_CONF_HOSTS_MAX) {
                        hosts_free(list, n);
                        return set_error(error, "%s=: more than %d hosts", key, UNIT_CONF_HOSTS_MAX);
                }
                UnitHost *grown = reallocarray(list, n + 1, sizeof *grown);
                if (!grown) {
                        hosts_free(list, n);
                        return -ENOMEM;
                }
                list = grown;
                list[n].name = strndup(p, colon && with_weight ? (size_t) (colon - p) : l);
                list[n].weight = (uint32_t) w;
                if (!list[n].name) {
                        hosts_free(list, n);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n; i++)
                        if (strcmp(list[i].name, list[n].name) == 0) {
                                int r = set_error(error, "%s=: '%s' named twice", key, list[n].name);

                                hosts_free(list, n + 1);
                                return r;
                        }
                n++;
                p += l;
        }
        if (n == 0)
                return set_error(error, "%s=: empty list", key);
        *ret = list;
        *ret_n = n;
        return 0;
}

static int parse_duration(const char *key, const char *value, usec_t min, usec_t max, usec_t *ret, char **error) {
        char lo[FORMAT_TIMESPAN_MAX], hi[FORMAT_TIMESPAN_MAX];
        usec_t u;

        if (parse_timespan(value, &u) < 0)
                return set_error(error, "%s=: '%s' is not a duration (e.g. 500ms, 2s, 1min)", key, value);
        if (u < min || u > max)
                return set_error(error, "%s=: '%s' is outside %s…%s", key, value, format_timespan(lo, sizeof lo, min),
                                 format_timespan(hi, sizeof hi, max));
        *ret = u;
        return 0;
}

static int parse_count(const char *key, const char *value, unsigned min, unsigned max, unsigned *ret, char **error) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno != 0 || *end != '\0' || value[0] < '0' || value[0] > '9' || v < min || v > max)
                return set_error(error, "%s=: '%s' is not a whole number in %u…%u", key, value, min, max);
        *ret = (unsigned) v;
        return 0;
}

int unit_conf_set(UnitConf *u, const char *key, const char *value, char **error) {
        int r;

        assert(u);
        assert(key);
        assert(value);
        assert(error);

        if (value[0] == '\0')
                return set_error(error, "%s=: empty value", key);
        if (strcmp(key, "Hosts") == 0) {
                UnitHost *h;
                size_t n;

                r = parse_hosts(key, value, false, &h, &n, error);
                if (r < 0)
                        return r;
                hosts_free(u->hosts, u->n_hosts);
                u->hosts = h;
                u->n_hosts = n;
                return 0;
        }
        if (strcmp(key, "Prefer") == 0) {
                UnitHost *h;
                size_t n;

                r = parse_hosts(key, value, true, &h, &n, error);
                if (r < 0)
                        return r;
                hosts_free(u->prefer, u->n_prefer);
                u->prefer = h;
                u->n_prefer = n;
                return 0;
        }
        if (strcmp(key, "HeartbeatSec") == 0)
                return parse_duration(key, value, 50 * USEC_PER_MSEC, 60 * USEC_PER_SEC, &u->heartbeat, error);
        if (strcmp(key, "StopSec") == 0)
                return parse_duration(key, value, 1 * USEC_PER_MSEC, 10 * USEC_PER_MINUTE, &u->stop, error);
        if (strcmp(key, "FailureBudget") == 0)
                return parse_count(key, value, 0, 1000, &u->failure_budget, error);
        if (strcmp(key, "FailureWindowSec") == 0)
                return parse_duration(key, value, USEC_PER_SEC, 7 * USEC_PER_DAY, &u->failure_window, error);
        if (strcmp(key, "FailureBackoffSec") == 0)
                return parse_duration(key, value, 0, 7 * USEC_PER_DAY, &u->failure_backoff, error);
        if (strcmp(key, "HealthURL") == 0) {
                char *s;

                if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
                        return set_error(error, "HealthURL=: '%s' is not an http:// or https:// URL", value);
                if (strpbrk(value, " \t"))
                        return set_error(error, "HealthURL=: '%s' contains white space", value);
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
                free(u->health_url);
                u->health_url = s;
                return 0;
        }
        if (strcmp(key, "HealthIntervalSec") == 0)
                return parse_duration(key, value, 100 * USEC_PER_MSEC, USEC_PER_HOUR, &u->health_interval, error);
        if (strcmp(key, "HealthTimeoutSec") == 0)
                return parse_duration(key, value, 10 * USEC_PER_MSEC, 10 * USEC_PER_MINUTE, &u->health_timeout, error);
        if (strcmp(key, "HealthThreshold") == 0)
                return parse_count(key, value, 1, 1000, &u->health_threshold, error);
        return set_error(error, "unknown key '%s' in [Supervise]", key);
}

typedef struct ParseContext {
        UnitConf *u;
        FILE *f;
        unsigned line;
        unsigned error_line;
        char *error;
        bool in_section;
} ParseContext;

static char *reader(char *str, int num, void *stream) {
        ParseContext *ctx = stream;
        char *p = fgets(str, num, ctx->f);
        const char *q;

        if (!p)
                return NULL;
        ctx->line++;
        if (strlen(p) > 0 && p[strlen(p) - 1] != '\n' && !feof(ctx->f) && ctx->error_line == 0) {
                set_error(&ctx->error, "line longer than %d bytes", UNIT_CONF_LINE_MAX - 2);
                ctx->error_line = ctx->line;
                for (int c; (c = fgetc(ctx->f)) != EOF && c != '\n';)
                        ;
                p[0] = '\0';
                return p;
        }
        q = p + strspn(p, " \t");
        if (*q == '[' && ctx->error_line == 0) {
                if (strncmp(q, "[Supervise]", 11) != 0) {
                        set_error(&ctx->error, "unknown section %.*s (expected [Supervise])", (int) strcspn(q, "\r\n"), q);
                        ctx->error_line = ctx->line;
                } else
                        ctx->in_section = true;
        }
        return p;
}

static int handler(void *user, const char *section, const char *key, const char *value) {
        ParseContext *ctx = user;

        if (ctx->error_line > 0 || !key)
                return 1;
        if (!ctx->in_section) {
                set_error(&ctx->error, "'%s=' outside [Supervise]", key);
                ctx->error_line = ctx->line;
                return 1;
        }
        if (unit_conf_set(ctx->u, key, value, &ctx->error) < 0)
                ctx->error_line = ctx->line;
        return 1;
}

int unit_conf_parse_file(UnitConf *u, const char *path, char **error) {
        _cleanup_(fclosep) FILE *f = NULL;
        ParseContext ctx = { .u = u };
        int r;

        assert(u);
        assert(path);
        assert(error);

        *error = NULL;
        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                if (asprintf(error, "%s: %s", path, strerror(-r)) < 0)
                        *error = NULL;
                return r;
        }
        ctx.f = f;
        r = ini_parse_strict(reader, &ctx, handler, &ctx, UNIT_CONF_LINE_MAX);

        if (r > 0 && (ctx.error_line == 0 || (unsigned) r < ctx.error_line)) {
                free(ctx.error);
                ctx.error = strdup("syntax error (expected [Supervise], KEY=VALUE, or a # comment)");
                ctx.error_line = (unsigned) r;
        }
        if (r < 0 || ctx.error_line > 0) {
                if (asprintf(error, "%s:%u: %s", path, ctx.error_line, ctx.error ?: "cannot read the file") < 0)
                        *error = NULL;
                free(ctx.error);
                return -EINVAL;
        }
        free(u->path);
        u->path = strdup(path);
        return u->path ? 0 : -ENOMEM;
}

static void write_hosts(FILE *f, const char *key, const UnitHost *h, size_t n, bool weights) {
        if (n == 0)
                return;
        fprintf(f, "%s=", key);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s%s", i > 0 ? " " : "", h[i].name);
                if (weights)
                        fprintf(f, ":%u", h[i].weight);
        }
        fputc('\n', f);
}

int unit_conf_write(const UnitConf *u, const char *path) {
        _cleanup_free_ char *tmp = NULL;
        char b[FORMAT_TIMESPAN_MAX];
        FILE *f;
        int fd;

        assert(u);
        assert(path);

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                close(fd);
                unlink(tmp);
                return -errno;
        }
        fprintf(f, "# Declared at run time with 'pesctl supervise %s'.\n[Supervise]\n", u->unit);
        write_hosts(f, "Hosts", u->hosts, u->n_hosts, false);
        write_hosts(f, "Prefer", u->prefer, u->n_prefer, true);
        if (u->heartbeat)
                fprintf(f, "HeartbeatSec=%s\n", format_timespan(b, sizeof b, u->heartbeat));
        fprintf(f, "StopSec=%s\n", format_timespan(b, sizeof b, u->stop));
        fprintf(f, "FailureBudget=%u\n", u->failure_budget);
        fprintf(f, "FailureWindowSec=%s\n", format_timespan(b, sizeof b, u->failure_window));
        fprintf(f, "FailureBackoffSec=%s\n", format_timespan(b, sizeof b, u->failure_backoff));
        if (u->health_url) {
                fprintf(f, "HealthURL=%s\n", u->health_url);
                fprintf(f, "HealthIntervalSec=%s\n", format_timespan(b, sizeof b, u->health_interval));
                fprintf(f, "HealthTimeoutSec=%s\n", format_timespan(b, sizeof b, u->health_timeout));
                fprintf(f, "HealthThreshold=%u\n", u->health_threshold);
        }
        /* Durable before it replaces the old declaration. */
        if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
                int r = -errno;

                fclose(f);
                unlink(tmp);
                return r;
        }
        if (fclose(f) != 0 || rename(tmp, path) < 0) {
                int r = -errno;

                unlink(tmp);
                return r;
        }
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int unit_conf_load_dir(const char *dir, UnitConf **ret, size_t *ret_n, char **error) {
        _cleanup_(closedirp) DIR *d = NULL;
        char **names = NULL;
        size_t n_names = 0;
        UnitConf *list = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;

        assert(dir);
        assert(ret);
        assert(ret_n);
        assert(error);

        *error = NULL;
        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                r = -errno;
                if (asprintf(error, "%s: %s", dir, strerror(-r)) < 0)
                        *error = NULL;
                return r;
        }
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                char **grown;

                if (l <= 5 || strcmp(de->d_name + l - 5, ".conf") != 0 || de->d_name[0] == '.')
                        continue;
                grown = reallocarray(names, n_names + 1, sizeof *grown);
                if (!grown || !(grown[n_names] = strdup(de->d_name))) {
                        names = grown ?: names;
                        r = -ENOMEM;
                        goto finish;
                }
                names = grown;
                n_names++;
        }
        qsort(names, n_names, sizeof *names, compare_strings);

        list = calloc(n_names ? n_names : 1, sizeof *list);
        if (!list) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n_names; i++) {
                _cleanup_free_ char *path = NULL, *unit = strndup(names[i], strlen(names[i]) - 5);

                if (!unit || asprintf(&path, "%s/%s", dir, names[i]) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (unit_conf_init(&list[n], unit) < 0) {
                        r = -EINVAL;
                        if (asprintf(error, "%s: '%s' is not a unit pes can supervise (NAME.service, NAME.timer or NAME.socket)",
                                     path, unit) < 0)
                                *error = NULL;
                        goto finish;
                }
                n++;
                r = unit_conf_parse_file(&list[n - 1], path, error);
                if (r < 0)
                        goto finish;
        }

finish:
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        unit_conf_done(&list[i]);
                free(list);
                return r;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

uint32_t unit_conf_weight(const UnitConf *u, const char *host) {
        bool eligible = u->n_hosts == 0;

        for (size_t i = 0; i < u->n_hosts; i++)
                if (strcmp(u->hosts[i].name, host) == 0)
                        eligible = true;
        if (!eligible)
                return 0;
        for (size_t i = 0; i < u->n_prefer; i++)
                if (strcmp(u->prefer[i].name, host) == 0)
                        return u->prefer[i].weight;
        return 1;
}
