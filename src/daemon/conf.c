/* SPDX-License-Identifier: MIT */
/* Parsing and validation of pesd.conf with inih; every refusal names file:line. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "basic/macro.h"
#include "daemon/conf.h"
#include "daemon/ini-util.h"

/* Lines longer than this are refused, not silently split. */
#define CONF_LINE_MAX 8192

typedef struct ParseContext {
        PesConfig *config;
        FILE *file;
        const char *path;
        unsigned line;       /* the line inih is handling now */
        unsigned error_line; /* 0 while no error was found */
        char *error;
        bool too_long;
        /* Keys seen once already, to refuse a repeated key rather than let the last win. */
        char seen[32][64];
        size_t n_seen;
        /* Where HeartbeatSec= and MaxLeaseSec= were given, for the check that binds them. */
        unsigned heartbeat_line, max_lease_line;
} ParseContext;

static int fail(ParseContext *ctx, const char *format, ...) _printf_(2, 3);
static int fail(ParseContext *ctx, const char *format, ...) {
        va_list ap;

        if (ctx->error_line > 0)
                return 0; /* keep the first error; inih goes on reading */
        ctx->error_line = ctx->line;
        va_start(ap, format);
        if (vasprintf(&ctx->error, format, ap) < 0)
                ctx->error = NULL;
        va_end(ap);
        return 0;
}

static bool section_known(const char *name, size_t l) {
        static const char *const known[] = { "Cluster", "Paths", "TLS" };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (strlen(known[i]) == l && strncmp(known[i], name, l) == 0)
                        return true;
        return false;
}

/* Refuses an unknown [Section] on its own line; inih tells the handler about a
 * section only once a key follows, which may be lines later, or never. */
static void check_section_header(ParseContext *ctx, const char *line) {
        const char *close;

        line += strspn(line, " \t");
        if (*line != '[')
                return;
        close = strchr(line, ']');
        if (close && !section_known(line + 1, (size_t) (close - line - 1)))
                fail(ctx, "unknown section [%.*s] (known: [Cluster], [Paths], [TLS])", (int) (close - line - 1),
                     line + 1);
}

static char *conf_reader(char *str, int num, void *stream) {
        ParseContext *ctx = stream;
        char *p = fgets(str, num, ctx->file);
        size_t l;

        if (!p)
                return NULL;
        ctx->line++;
        l = strlen(p);
        if (l > 0 && p[l - 1] != '\n' && !feof(ctx->file) && ctx->error_line == 0) {
                ctx->too_long = true;
                fail(ctx, "line longer than %d bytes", CONF_LINE_MAX - 2);
                /* Skip the rest of the line, so it is not read as further lines. */
                for (int c; (c = fgetc(ctx->file)) != EOF && c != '\n';)
                        ;
                p[0] = '\0';
        }
        check_section_header(ctx, p);
        return p;
}

static int set_string(char **field, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

int parse_address_port(const char *s, uint16_t default_port, char **ret_address, uint16_t *ret_port) {
        _cleanup_free_ char *address = NULL;
        const char *port_text = NULL;
        unsigned long port;
        char *end;

        if (!s || !ret_address || !ret_port || *s == '\0')
                return -EINVAL;

        if (*s == '[') {
                const char *close = strchr(s, ']');

                if (!close || close == s + 1)
                        return -EINVAL;
                address = strndup(s + 1, (size_t) (close - s - 1));
                if (close[1] == ':')
                        port_text = close + 2;
                else if (close[1] != '\0')
                        return -EINVAL;
        } else {
                const char *colon = strrchr(s, ':');

                /* A bare IPv6 literal has several colons and no port. */
                if (colon && strchr(s, ':') == colon) {
                        address = strndup(s, (size_t) (colon - s));
                        port_text = colon + 1;
                } else
                        address = strdup(s);
        }
        if (!address)
                return -ENOMEM;
        if (address[0] == '\0' || strpbrk(address, " \t@/[]"))
                return -EINVAL;

        if (port_text) {
                if (*port_text < '0' || *port_text > '9')
                        return -EINVAL;
                errno = 0;
                port = strtoul(port_text, &end, 10);
                if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
                        return -EINVAL;
        } else
                port = default_port;

        *ret_address = TAKE_PTR(address);
        *ret_port = (uint16_t) port;
        return 0;
}

static bool node_name_valid(const char *s, size_t l) {
        if (l == 0 || l > PES_NODE_NAME_MAX)
                return false;
        for (size_t i = 0; i < l; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.'))
                        return false;
        }
        return true;
}

static void peers_free(PeerConfig *peers, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(peers[i].name);
                free(peers[i].address);
        }
        free(peers);
}

static int parse_peers(ParseContext *ctx, const char *value) {
        PesConfig *c = ctx->config;
        PeerConfig *peers = NULL;
        size_t n = 0;
        const char *p = value;
        int r = 0;

        for (;;) {
                PeerConfig peer = {};
                _cleanup_free_ char *word = NULL;
                const char *at;
                size_t l;

                p += strspn(p, " \t,");
                if (*p == '\0')
                        break;
                l = strcspn(p, " \t,");
                word = strndup(p, l);
                if (!word) {
                        r = -ENOMEM;
                        break;
                }
                p += l;

                at = strchr(word, '@');
                if (!at || !node_name_valid(word, (size_t) (at - word))) {
                        r = fail(ctx, "Peers=: '%s' is not NAME@ADDRESS[:PORT] (names use letters, digits, '-', '_', '.')",
                                 word);
                        break;
                }
                if (parse_address_port(at + 1, PES_DEFAULT_PORT, &peer.address, &peer.port) < 0) {
                        r = fail(ctx, "Peers=: '%s' has no valid ADDRESS[:PORT] after '@'", word);
                        break;
                }
                peer.name = strndup(word, (size_t) (at - word));
                if (!peer.name) {
                        free(peer.address);
                        r = -ENOMEM;
                        break;
                }
                PeerConfig *grown = reallocarray(peers, n + 1, sizeof *peers);
                if (!grown) {
                        free(peer.name);
                        free(peer.address);
                        r = -ENOMEM;
                        break;
                }
                peers = grown;
                peers[n++] = peer;
        }

        if (r < 0 || ctx->error_line > 0) {
                peers_free(peers, n);
                return r;
        }
        if (n == 0)
                return fail(ctx, "Peers=: empty list");

        peers_free(c->peers, c->n_peers);
        c->peers = peers;
        c->n_peers = n;
        return 1;
}

static void voters_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* Voters=h1 h2 h3: names of Peers= (checked once the whole file is read). */
static int parse_voters(ParseContext *ctx, const char *value) {
        PesConfig *c = ctx->config;
        char **list = NULL;
        size_t n = 0;

        for (const char *p = value;;) {
                size_t l;
                char **grown;

                p += strspn(p, " \t,");
                if (*p == '\0')
                        break;
                l = strcspn(p, " \t,");
                if (!node_name_valid(p, l)) {
                        voters_free(list, n);
                        return fail(ctx, "Voters=: '%.*s' is not a host name", (int) l, p);
                }
                for (size_t i = 0; i < n; i++)
                        if (strlen(list[i]) == l && strncmp(list[i], p, l) == 0) {
                                voters_free(list, n);
                                return fail(ctx, "Voters=: '%.*s' named twice", (int) l, p);
                        }
                grown = reallocarray(list, n + 1, sizeof *list);
                if (!grown || !(grown[n] = strndup(p, l))) {
                        voters_free(grown ?: list, n);
                        return -ENOMEM;
                }
                list = grown;
                n++;
                p += l;
        }
        if (n == 0 || n % 2 == 0 || n > PES_VOTERS_MAX - 1) {
                voters_free(list, n);
                return fail(ctx, "Voters=: %zu hosts; give an odd number from 1 to %d", n, PES_VOTERS_MAX - 1);
        }
        voters_free(c->voters, c->n_voters);
        c->voters = list;
        c->n_voters = n;
        return 1;
}

static int handle_cluster(ParseContext *ctx, const char *key, const char *value) {
        PesConfig *c = ctx->config;
        int r;

        if (strcmp(key, "Name") == 0) {
                if (!node_name_valid(value, strlen(value)))
                        return fail(ctx, "Name=: '%s' is not a valid cluster name (letters, digits, '-', '_', '.'; at most %d)",
                                    value, PES_NODE_NAME_MAX);
                return set_string(&c->cluster_name, value);
        }
        if (strcmp(key, "NodeName") == 0) {
                if (!node_name_valid(value, strlen(value)))
                        return fail(ctx, "NodeName=: '%s' is not a valid node name (letters, digits, '-', '_', '.'; at most %d)",
                                    value, PES_NODE_NAME_MAX);
                return set_string(&c->node_name, value);
        }
        if (strcmp(key, "Listen") == 0) {
                char *address;
                uint16_t port;

                if (parse_address_port(value, PES_DEFAULT_PORT, &address, &port) < 0)
                        return fail(ctx, "Listen=: '%s' is not ADDRESS[:PORT]", value);
                free(c->listen_address);
                c->listen_address = address;
                c->listen_port = port;
                return 1;
        }
        if (strcmp(key, "Peers") == 0)
                return parse_peers(ctx, value);
        if (strcmp(key, "Voters") == 0)
                return parse_voters(ctx, value);
        if (strcmp(key, "KeyFile") == 0) {
                if (value[0] != '/')
                        return fail(ctx, "KeyFile=: '%s' is not an absolute path", value);
                return set_string(&c->key_file, value);
        }
        if (strcmp(key, "HeartbeatSec") == 0) {
                usec_t u;

                r = parse_timespan(value, &u);
                if (r < 0)
                        return fail(ctx, "HeartbeatSec=: '%s' is not a duration (e.g. 1s, 500ms)", value);
                if (u < 50 * USEC_PER_MSEC || u > 60 * USEC_PER_SEC)
                        return fail(ctx, "HeartbeatSec=: '%s' is outside 50ms…60s", value);
                c->heartbeat = u;
                ctx->heartbeat_line = ctx->line;
                return 1;
        }
        if (strcmp(key, "MaxLeaseSec") == 0) {
                usec_t u;

                if (parse_timespan(value, &u) < 0)
                        return fail(ctx, "MaxLeaseSec=: '%s' is not a duration (e.g. 60s)", value);
                if (u < 150 * USEC_PER_MSEC || u > 3600 * USEC_PER_SEC)
                        return fail(ctx, "MaxLeaseSec=: '%s' is outside 150ms…1h", value);
                c->max_lease = u;
                ctx->max_lease_line = ctx->line;
                return 1;
        }
        if (strcmp(key, "MaxPauseSec") == 0) {
                usec_t u;

                if (parse_timespan(value, &u) < 0)
                        return fail(ctx, "MaxPauseSec=: '%s' is not a duration (e.g. 200ms)", value);
                if (u < 10 * USEC_PER_MSEC || u > 10 * USEC_PER_SEC)
                        return fail(ctx, "MaxPauseSec=: '%s' is outside 10ms…10s", value);
                c->max_pause = u;
                return 1;
        }
        return fail(ctx, "unknown key '%s' in [Cluster]", key);
}

static int handle_path(ParseContext *ctx, char **field, const char *key, const char *value) {
        if (value[0] != '/')
                return fail(ctx, "%s=: '%s' is not an absolute path", key, value);
        return set_string(field, value);
}

static int conf_handler(void *user, const char *section, const char *key, const char *value) {
        ParseContext *ctx = user;
        PesConfig *c = ctx->config;
        char id[64];
        int r;

        if (ctx->error_line > 0)
                return 1; /* only the first error is reported */

        if (!key) /* a section header alone (inih's INI_CALL_HANDLER_ON_NEW_SECTION) */
                return 1;
        if (value[0] == '\0')
                return fail(ctx, "%s=: empty value", key);

        snprintf(id, sizeof id, "%.30s/%.30s", section, key);
        for (size_t i = 0; i < ctx->n_seen; i++)
                if (strcmp(ctx->seen[i], id) == 0)
                        return fail(ctx, "%s= given twice in [%s]", key, section);
        if (ctx->n_seen < ELEMENTSOF(ctx->seen))
                snprintf(ctx->seen[ctx->n_seen++], sizeof ctx->seen[0], "%s", id);

        if (strcmp(section, "Cluster") == 0)
                r = handle_cluster(ctx, key, value);
        else if (strcmp(section, "Paths") == 0) {
                if (strcmp(key, "StateDir") == 0)
                        r = handle_path(ctx, &c->state_dir, key, value);
                else if (strcmp(key, "RuntimeDir") == 0)
                        r = handle_path(ctx, &c->runtime_dir, key, value);
                else if (strcmp(key, "UnitsDir") == 0)
                        r = handle_path(ctx, &c->units_dir, key, value);
                else
                        r = fail(ctx, "unknown key '%s' in [Paths]", key);
        } else if (strcmp(section, "TLS") == 0) {
                if (strcmp(key, "Certificate") == 0)
                        r = handle_path(ctx, &c->tls_certificate, key, value);
                else if (strcmp(key, "Key") == 0)
                        r = handle_path(ctx, &c->tls_key, key, value);
                else if (strcmp(key, "CA") == 0)
                        r = handle_path(ctx, &c->tls_ca, key, value);
                else
                        r = fail(ctx, "unknown key '%s' in [TLS]", key);
        } else if (section[0] == '\0')
                r = fail(ctx, "'%s=' outside any section (expected [Cluster], [Paths] or [TLS] first)", key);
        else
                r = fail(ctx, "unknown section [%s]", section);

        if (r == -ENOMEM)
                return fail(ctx, "out of memory");
        return 1;
}

int config_init_defaults(PesConfig *c) {
        char host[256];

        assert(c);

        *c = (PesConfig){
                .listen_port = PES_DEFAULT_PORT,
                .heartbeat = USEC_PER_SEC,
                .max_pause = 200 * USEC_PER_MSEC,
                .max_lease = 60 * USEC_PER_SEC,
        };
        if (gethostname(host, sizeof host) < 0 || !node_name_valid(host, strnlen(host, sizeof host)))
                snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';

        if (!(c->node_name = strdup(host)) || !(c->listen_address = strdup("127.0.0.1")) ||
            !(c->state_dir = strdup(PES_STATEDIR)) || !(c->runtime_dir = strdup(PES_RUNTIMEDIR)) ||
            !(c->units_dir = strdup(PES_SYSCONFDIR "/units.d"))) {
                config_done(c);
                return -ENOMEM;
        }
        return 0;
}

int config_parse_file(PesConfig *c, const char *path, char **error) {
        _cleanup_(fclosep) FILE *f = NULL;
        ParseContext ctx = { .config = c, .path = path };
        int r;

        assert(c);
        assert(path);
        assert(error);

        *error = NULL;
        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                if (r != -ENOENT && asprintf(error, "%s: %s", path, strerror(-r)) < 0)
                        *error = NULL;
                return r;
        }
        ctx.file = f;

        /* An indented line is a key like any other, never the continuation of the
         * line before; and lines may be long (Peers= of many hosts). */
        r = ini_parse_strict(conf_reader, &ctx, conf_handler, &ctx, CONF_LINE_MAX);

        if (r < 0) {
                free(ctx.error);
                if (asprintf(error, "%s: cannot read the file", path) < 0)
                        *error = NULL;
                return -EIO;
        }
        /* inih reports the first line it could not parse; a handler error may have
         * come earlier or later, and the earlier of the two is the one to show. */
        if (r > 0 && (ctx.error_line == 0 || (unsigned) r < ctx.error_line)) {
                free(ctx.error);
                ctx.error = strdup("syntax error (expected [Section], KEY=VALUE, or a # comment)");
                ctx.error_line = (unsigned) r;
        }
        /* DESIGN.md "Timing is agreed": T = 3H is at most T_max. Reported on the later
         * of the two lines, the one that made the pair inconsistent. */
        if (ctx.error_line == 0 && 3 * c->heartbeat > c->max_lease) {
                char h[32], t[32];

                ctx.line = MAX(ctx.heartbeat_line, ctx.max_lease_line);
                (void) fail(&ctx, "HeartbeatSec=%s gives a lease of 3·H, longer than MaxLeaseSec=%s",
                            format_timespan(h, sizeof h, c->heartbeat), format_timespan(t, sizeof t, c->max_lease));
        }
        if (ctx.error_line > 0) {
                if (asprintf(error, "%s:%u: %s", path, ctx.error_line, ctx.error ?: "invalid line") < 0)
                        *error = NULL;
                free(ctx.error);
                return -EINVAL;
        }

        r = set_string(&c->path, path);
        if (r < 0)
                return r;
        return config_validate(c, error);
}

bool config_is_voter(const PesConfig *c, const char *name) {
        if (c->n_voters == 0)
                return true;
        for (size_t i = 0; i < c->n_voters; i++)
                if (strcmp(c->voters[i], name) == 0)
                        return true;
        return false;
}

int config_self_index(const PesConfig *c) {
        assert(c);

        for (size_t i = 0; i < c->n_peers; i++)
                if (strcmp(c->peers[i].name, c->node_name) == 0)
                        return (int) i;
        return -ENOENT;
}

static int validation_error(const PesConfig *c, char **error, const char *format, ...) _printf_(3, 4);
static int validation_error(const PesConfig *c, char **error, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (asprintf(error, "%s: %s", c->path ?: "configuration", msg ?: "invalid") < 0)
                *error = NULL;
        return -EINVAL;
}

int config_validate(const PesConfig *c, char **error) {
        assert(c);
        assert(error);

        *error = NULL;
        if (c->n_peers == 0)
                return 0;

        for (size_t i = 0; i < c->n_peers; i++)
                for (size_t j = i + 1; j < c->n_peers; j++) {
                        if (strcmp(c->peers[i].name, c->peers[j].name) == 0)
                                return validation_error(c, error, "Peers= names '%s' twice", c->peers[i].name);
                        if (strcmp(c->peers[i].address, c->peers[j].address) == 0 &&
                            c->peers[i].port == c->peers[j].port)
                                return validation_error(c, error, "Peers= gives %s and %s the same address %s:%u",
                                                        c->peers[i].name, c->peers[j].name, c->peers[i].address,
                                                        c->peers[i].port);
                }
        for (size_t i = 0; i < c->n_voters; i++) {
                bool found = false;

                for (size_t j = 0; j < c->n_peers; j++)
                        if (strcmp(c->voters[i], c->peers[j].name) == 0)
                                found = true;
                if (!found)
                        return validation_error(c, error, "Voters= names '%s', which is not one of Peers=", c->voters[i]);
        }
        if (c->n_voters == 0 && c->n_peers > PES_VOTERS_MAX - 1)
                return validation_error(c, error, "Peers= lists %zu hosts; at most %d can be voters: "
                                        "name an odd number of them in Voters=", c->n_peers, PES_VOTERS_MAX - 1);
        if (config_self_index(c) < 0)
                return validation_error(c, error, "NodeName=%s is not one of Peers=", c->node_name);
        if (!c->cluster_name)
                return validation_error(c, error, "Peers= needs Name= (the cluster's name) in [Cluster]");
        if (!c->key_file)
                return validation_error(c, error, "Peers= needs KeyFile= (create one with 'pesctl keygen')");
        if (!!c->tls_certificate + !!c->tls_key + !!c->tls_ca != 0 &&
            !!c->tls_certificate + !!c->tls_key + !!c->tls_ca != 3)
                return validation_error(c, error, "[TLS] needs all of Certificate=, Key= and CA=, or none");
        return 0;
}

void config_done(PesConfig *c) {
        if (!c)
                return;
        free(c->path);
        free(c->cluster_name);
        free(c->node_name);
        free(c->listen_address);
        peers_free(c->peers, c->n_peers);
        voters_free(c->voters, c->n_voters);
        free(c->key_file);
        free(c->tls_certificate);
        free(c->tls_key);
        free(c->tls_ca);
        free(c->state_dir);
        free(c->runtime_dir);
        free(c->units_dir);
        *c = (PesConfig){};
}
