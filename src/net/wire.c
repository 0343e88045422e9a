/* SPDX-License-Identifier: MIT */
/* Strict JSON encoding and decoding of peer message batches (see wire.h for the format). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"

/* Which fields a message of each type carries besides type and round, following the
 * field comments of core/msg.h. A name is required and non-empty where F_NAME is set;
 * NACK_CONFIG and NACK may answer a message that named nothing (a SCAN, a round of the
 * configuration register), so their name may be empty. The register's messages carry
 * no name at all. */
enum {
        F_NAME       = 1 << 0,
        F_NAME_EMPTY = 1 << 1,
        F_BALLOT     = 1 << 2,
        F_VALUE      = 1 << 3,
        F_REMAINING  = 1 << 4,
        F_REASON     = 1 << 5,
        F_CONFIG     = 1 << 6,
        F_SCAN_COUNT = 1 << 7,
        F_IDENTITY   = 1 << 8,
};

static const unsigned msg_fields[_MSG_TYPE_MAX] = {
        [MSG_READ]        = F_NAME,
        [MSG_READ_REPLY]  = F_NAME | F_BALLOT | F_VALUE | F_REMAINING,
        [MSG_PREPARE]     = F_NAME | F_BALLOT,
        [MSG_PROMISE]     = F_NAME | F_BALLOT | F_VALUE | F_REMAINING,
        [MSG_ACCEPT]      = F_NAME | F_BALLOT | F_VALUE | F_REMAINING | F_IDENTITY,
        [MSG_ACCEPTED]    = F_NAME | F_BALLOT | F_VALUE,
        [MSG_NACK]        = F_NAME | F_NAME_EMPTY | F_BALLOT | F_VALUE | F_REASON | F_REMAINING,
        [MSG_NACK_CONFIG] = F_NAME | F_NAME_EMPTY | F_CONFIG,
        [MSG_TAKE]        = F_NAME | F_BALLOT | F_VALUE,
        [MSG_SCAN]        = 0,
        [MSG_SCAN_REPLY]  = F_NAME | F_BALLOT | F_VALUE | F_REMAINING,
        [MSG_SCAN_DONE]   = F_SCAN_COUNT,
        [MSG_CFG_PREPARE]   = F_BALLOT,
        [MSG_CFG_PROMISE]   = F_BALLOT | F_VALUE | F_CONFIG,
        [MSG_CFG_ACCEPT]    = F_BALLOT | F_CONFIG,
        [MSG_CFG_ACCEPTED]  = F_BALLOT | F_CONFIG,
        [MSG_CFG_COMMIT]    = F_BALLOT | F_CONFIG,
        [MSG_CFG_COMMITTED] = F_BALLOT | F_CONFIG,
};

static const char *const msg_type_names[_MSG_TYPE_MAX] = {
        [MSG_READ]        = "read",
        [MSG_READ_REPLY]  = "read-reply",
        [MSG_PREPARE]     = "prepare",
        [MSG_PROMISE]     = "promise",
        [MSG_ACCEPT]      = "accept",
        [MSG_ACCEPTED]    = "accepted",
        [MSG_NACK]        = "nack",
        [MSG_NACK_CONFIG] = "nack-config",
        [MSG_TAKE]        = "take",
        [MSG_SCAN]        = "scan",
        [MSG_SCAN_REPLY]  = "scan-reply",
        [MSG_SCAN_DONE]   = "scan-done",
        [MSG_CFG_PREPARE]   = "cfg-prepare",
        [MSG_CFG_PROMISE]   = "cfg-promise",
        [MSG_CFG_ACCEPT]    = "cfg-accept",
        [MSG_CFG_ACCEPTED]  = "cfg-accepted",
        [MSG_CFG_COMMIT]    = "cfg-commit",
        [MSG_CFG_COMMITTED] = "cfg-committed",
};

static const char *const value_kind_names[_VALUE_KIND_MAX] = {
        [VALUE_FREE]     = "free",
        [VALUE_LEASE]    = "lease",
        [VALUE_RESERVED] = "reserved",
};

static const char *const nack_reason_names[_NACK_REASON_MAX] = {
        [NACK_PROMISED]  = "promised",
        [NACK_LIVE]      = "live",
        [NACK_STALE_SEQ] = "stale-seq",
};

static const char *const config_phase_names[_CONFIG_PHASE_MAX] = {
        [CONFIG_STABLE]          = "stable",
        [CONFIG_ACCEPT_WIDENED]  = "accept-widened",
};

const char *wire_msg_type_to_string(MsgType t) {
        return (unsigned) t < _MSG_TYPE_MAX ? msg_type_names[t] : NULL;
}

const char *wire_value_kind_to_string(ValueKind k) {
        return (unsigned) k < _VALUE_KIND_MAX ? value_kind_names[k] : NULL;
}

const char *wire_nack_reason_to_string(NackReason r) {
        return (unsigned) r < _NACK_REASON_MAX ? nack_reason_names[r] : NULL;
}

const char *wire_config_phase_to_string(ConfigPhase p) {
        return (unsigned) p < _CONFIG_PHASE_MAX ? config_phase_names[p] : NULL;
}

void wire_batch_done(WireBatch *b) {
        if (!b)
                return;
        free(b->msgs);
        free(b->book);
        *b = WIRE_BATCH_NULL;
}

/*
 * Where in the document a field is, as a chain of parents, so that an error can name
 * "msgs[3].ballot.counter" without formatting a path for every field that is fine.
 * A node is either a key (key != NULL) or an array index.
 */
typedef struct Path {
        const struct Path *parent;
        const char *key;
        size_t index;
} Path;

#define PATH_KEY(p, k) ((Path) { .parent = (p), .key = (k) })
#define PATH_INDEX(p, i) ((Path) { .parent = (p), .index = (i) })

static size_t path_format(const Path *p, char *buf, size_t size) {
        size_t n = 0;
        int k;

        if (!p)
                return 0;

        n = path_format(p->parent, buf, size);
        if (n >= size)
                return n;

        if (p->key)
                k = snprintf(buf + n, size - n, "%s%s", n > 0 ? "." : "", p->key);
        else
                k = snprintf(buf + n, size - n, "[%zu]", p->index);
        return k < 0 ? n : n + (size_t) k;
}

static int path_error(NetError *err, int r, const Path *p, const char *fmt, ...) _printf_(4, 5);
static int path_error(NetError *err, int r, const Path *p, const char *fmt, ...) {
        char where[160] = "", what[160];
        va_list ap;

        if (!err)
                return r;

        if (!p || path_format(p, where, sizeof(where)) == 0)
                strcpy(where, "batch");

        va_start(ap, fmt);
        (void) vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);

        return net_error_set(err, r, "%.120s: %.120s", where, what);
}

/* Names may be used in log lines, file names and HTTP paths elsewhere, and systemd unit
 * names are ASCII, so the wire admits printable ASCII without spaces only. */
static bool name_char_ok(char c) {
        return c > ' ' && c < 0x7f;
}

static int check_name(const char *name, size_t len, bool allow_empty, const Path *p, NetError *err) {
        if (len == 0 && !allow_empty)
                return path_error(err, -EINVAL, p, "empty name");
        if (len > PES_NAME_MAX)
                return path_error(err, -EINVAL, p, "name longer than %u bytes", PES_NAME_MAX);
        for (size_t i = 0; i < len; i++)
                if (!name_char_ok(name[i]))
                        return path_error(err, -EINVAL, p, "byte %zu of the name is not printable ASCII", i);
        return 0;
}

/* ---- encoding ---- */

/*
 * The encoder writes JSON text directly instead of building a jansson tree: a batch of
 * 1,000 renewals is about 12,000 small objects, and allocating, hashing and freeing
 * them cost several milliseconds per batch. Names are checked to be printable ASCII,
 * so the only characters that need escaping are the quote and the backslash.
 */
typedef struct Writer {
        char *buf;
        size_t size, allocated;
        bool oom;
} Writer;

static void w_raw(Writer *w, const char *s, size_t n) {
        if (w->oom)
                return;
        if (n > w->allocated - w->size) {
                size_t a = MAX(MAX(w->allocated * 2, w->size + n), (size_t) 256);
                char *p = realloc(w->buf, a);

                if (!p) {
                        w->oom = true;
                        return;
                }
                w->buf = p;
                w->allocated = a;
        }
        memcpy(w->buf + w->size, s, n);
        w->size += n;
}

#define w_lit(w, s) w_raw((w), (s), sizeof(s) - 1)

static void w_str(Writer *w, const char *s) {
        w_raw(w, s, strlen(s));
}

static void w_u64(Writer *w, uint64_t v) {
        char tmp[20];
        size_t i = sizeof(tmp);

        do {
                tmp[--i] = (char) ('0' + v % 10);
                v /= 10;
        } while (v > 0);
        w_raw(w, tmp + i, sizeof(tmp) - i);
}

static void w_hex64(Writer *w, uint64_t v) {
        static const char digits[] = "0123456789abcdef";
        char tmp[18];

        tmp[0] = tmp[17] = '"';
        for (unsigned i = 0; i < 16; i++)
                tmp[1 + i] = digits[(v >> (60 - 4 * i)) & 15];
        w_raw(w, tmp, sizeof(tmp));
}

static void w_name(Writer *w, const char *s, size_t n) {
        size_t start = 0;

        w_lit(w, "\"");
        for (size_t i = 0; i < n; i++)
                if (s[i] == '"' || s[i] == '\\') {
                        w_raw(w, s + start, i - start);
                        w_lit(w, "\\");
                        start = i;
                }
        w_raw(w, s + start, n - start);
        w_lit(w, "\"");
}

static void w_enum(Writer *w, const char *name) {
        w_lit(w, "\"");
        w_str(w, name);
        w_lit(w, "\"");
}

static int check_u64(uint64_t v, const char *key, const Path *p, NetError *err) {
        if (v > (uint64_t) INT64_MAX) {
                Path here = PATH_KEY(p, key);
                return path_error(err, -ERANGE, &here, "%" PRIu64 " is above 2^63-1", v);
        }
        return 0;
}

/* A value without a wire name (a new enumerator in msg.h that this file does not know
 * yet) is refused like an out-of-range one rather than sent as something else. */
static int check_enum(unsigned v, const char *const *names, unsigned n, const char *key, const Path *p,
                      NetError *err) {
        if (v >= n || !names[v]) {
                Path here = PATH_KEY(p, key);
                return path_error(err, -EINVAL, &here, "%u is not a valid value", v);
        }
        return 0;
}

static int ballot_write(Writer *w, const Ballot *b, const char *key, const Path *p, NetError *err) {
        Path here = PATH_KEY(p, key);
        int r;

        r = check_u64(b->counter, "counter", &here, err);
        if (r < 0)
                return r;
        w_lit(w, "{\"counter\":");
        w_u64(w, b->counter);
        w_lit(w, ",\"host\":");
        w_u64(w, b->host);
        w_lit(w, "}");
        return 0;
}

static int epoch_write(Writer *w, const Epoch *e, const char *key, const Path *p, NetError *err) {
        Path here = PATH_KEY(p, key);
        int r;

        r = check_u64(e->n, "n", &here, err);
        if (r < 0)
                return r;
        w_lit(w, "{\"n\":");
        w_u64(w, e->n);
        w_lit(w, ",\"hash\":");
        w_hex64(w, e->hash);
        w_lit(w, "}");
        return 0;
}

static int value_write(Writer *w, const RegValue *v, const Path *p, NetError *err) {
        Path here = PATH_KEY(p, "value");
        int r;

        if ((r = check_u64(v->seq, "seq", &here, err)) < 0 ||
            (r = check_enum(v->kind, value_kind_names, _VALUE_KIND_MAX, "kind", &here, err)) < 0 ||
            (r = check_u64(v->token, "token", &here, err)) < 0 ||
            (r = check_u64(v->lease_usec, "lease_usec", &here, err)) < 0)
                return r;

        w_lit(w, "{\"ba\":");
        r = ballot_write(w, &v->ba, "ba", &here, err);
        if (r < 0)
                return r;
        w_lit(w, ",\"seq\":");
        w_u64(w, v->seq);
        w_lit(w, ",\"kind\":");
        w_enum(w, value_kind_names[v->kind]);
        w_lit(w, ",\"holder\":");
        w_u64(w, v->holder);
        w_lit(w, ",\"token\":");
        w_u64(w, v->token);
        w_lit(w, ",\"lease_usec\":");
        w_u64(w, v->lease_usec);
        w_lit(w, "}");
        return 0;
}

static int config_write(Writer *w, const VoterConfig *c, const Path *p, NetError *err) {
        Path here = PATH_KEY(p, "config"), vp = PATH_KEY(&here, "voters"), mp = PATH_KEY(&here, "members");
        int r;

        if ((r = check_enum(c->phase, config_phase_names, _CONFIG_PHASE_MAX, "phase", &here, err)) < 0 ||
            (r = check_u64(c->delta_usec, "delta_usec", &here, err)) < 0 ||
            (r = check_u64(c->lease_max_usec, "lease_max_usec", &here, err)) < 0)
                return r;
        if (c->n_voters > PES_VOTERS_MAX)
                return path_error(err, -EINVAL, &vp, "%u voters, at most %u allowed", c->n_voters, PES_VOTERS_MAX);
        for (unsigned i = 0; i < c->n_voters; i++)
                if (c->voters[i] == PES_HOST_NONE) {
                        Path ip = PATH_INDEX(&vp, i);
                        return path_error(err, -EINVAL, &ip, "host id 0 is not a host");
                }
        if (c->n_members > PES_MEMBERS_MAX)
                return path_error(err, -EINVAL, &mp, "%u members, at most %u allowed", c->n_members, PES_MEMBERS_MAX);
        for (unsigned i = 0; i < c->n_members; i++)
                if (c->members[i] == PES_HOST_NONE || (i > 0 && c->members[i] <= c->members[i - 1])) {
                        Path ip = PATH_INDEX(&mp, i);
                        return path_error(err, -EINVAL, &ip, "%u is not a host id above the one before it",
                                          c->members[i]);
                }

        w_lit(w, "{\"epoch\":");
        r = epoch_write(w, &c->epoch, "epoch", &here, err);
        if (r < 0)
                return r;
        w_lit(w, ",\"phase\":");
        w_enum(w, config_phase_names[c->phase]);
        w_lit(w, ",\"changing\":");
        w_u64(w, c->changing);
        w_str(w, c->adding ? ",\"adding\":true" : ",\"adding\":false");
        w_str(w, c->rescanned ? ",\"rescanned\":true" : ",\"rescanned\":false");
        w_lit(w, ",\"voters\":[");
        for (unsigned i = 0; i < c->n_voters; i++) {
                if (i > 0)
                        w_lit(w, ",");
                w_u64(w, c->voters[i]);
        }
        w_lit(w, "],\"members\":[");
        for (unsigned i = 0; i < c->n_members; i++) {
                if (i > 0)
                        w_lit(w, ",");
                w_u64(w, c->members[i]);
        }
        w_lit(w, "],\"next_id\":");
        w_u64(w, c->next_id);
        w_lit(w, ",\"rho_ppm\":");
        w_u64(w, c->rho_ppm);
        w_lit(w, ",\"delta_usec\":");
        w_u64(w, c->delta_usec);
        w_lit(w, ",\"lease_max_usec\":");
        w_u64(w, c->lease_max_usec);
        w_lit(w, "}");
        return 0;
}

static int msg_write(Writer *w, const WireHeader *h, const PeerMsg *m, const Path *p, NetError *err) {
        size_t len;
        unsigned f;
        int r;

        r = check_enum(m->type, msg_type_names, _MSG_TYPE_MAX, "type", p, err);
        if (r < 0)
                return r;

        /* These travel once per batch, so a message that disagrees with the header
         * would silently change meaning on the wire. */
        if (m->from != h->from) {
                Path here = PATH_KEY(p, "from");
                return path_error(err, -EINVAL, &here, "%u differs from the batch header's %u", m->from, h->from);
        }
        if (m->incarnation != h->incarnation) {
                Path here = PATH_KEY(p, "incarnation");
                return path_error(err, -EINVAL, &here, "differs from the batch header's");
        }
        if (m->epoch.n != h->epoch.n || m->epoch.hash != h->epoch.hash) {
                Path here = PATH_KEY(p, "epoch");
                return path_error(err, -EINVAL, &here, "differs from the batch header's");
        }

        f = msg_fields[m->type];
        len = strnlen(m->name, sizeof(m->name));
        if (f & F_NAME) {
                Path here = PATH_KEY(p, "name");
                r = check_name(m->name, len, f & F_NAME_EMPTY, &here, err);
                if (r < 0)
                        return r;
        }
        r = check_u64(m->round, "round", p, err);
        if (r >= 0 && (f & F_REMAINING))
                r = check_u64(m->remaining_usec, "remaining_usec", p, err);
        if (r >= 0 && (f & F_REASON))
                r = check_enum(m->reason, nack_reason_names, _NACK_REASON_MAX, "reason", p, err);
        if (r >= 0 && (f & F_SCAN_COUNT))
                r = check_u64(m->scan_count, "scan_count", p, err);
        if (r < 0)
                return r;

        w_lit(w, "{\"type\":");
        w_enum(w, msg_type_names[m->type]);
        w_lit(w, ",\"round\":");
        w_u64(w, m->round);
        if (f & F_NAME) {
                w_lit(w, ",\"name\":");
                w_name(w, m->name, len);
        }
        if (f & F_BALLOT) {
                w_lit(w, ",\"ballot\":");
                r = ballot_write(w, &m->ballot, "ballot", p, err);
                if (r < 0)
                        return r;
        }
        if (f & F_VALUE) {
                w_lit(w, ",\"value\":");
                r = value_write(w, &m->value, p, err);
                if (r < 0)
                        return r;
        }
        if (f & F_REMAINING) {
                w_lit(w, ",\"remaining_usec\":");
                w_u64(w, m->remaining_usec);
        }
        if (f & F_REASON) {
                w_lit(w, ",\"reason\":");
                w_enum(w, nack_reason_names[m->reason]);
        }
        if (f & F_CONFIG) {
                w_lit(w, ",\"config\":");
                r = config_write(w, &m->config, p, err);
                if (r < 0)
                        return r;
        }
        if (f & F_SCAN_COUNT) {
                w_lit(w, ",\"scan_count\":");
                w_u64(w, m->scan_count);
        }
        if (f & F_IDENTITY)
                w_str(w, m->identity ? ",\"identity\":true" : ",\"identity\":false");
        w_lit(w, "}");
        return 0;
}

int wire_msgs_build(const WireHeader *h, const PeerMsg *msgs, size_t n_msgs, char **ret, size_t *ret_size,
                    NetError *err) {
        Path root = PATH_KEY(NULL, "msgs");
        Writer w = {};
        int r;

        if (!h || (!msgs && n_msgs > 0) || !ret || !ret_size)
                return net_error_set(err, -EINVAL, "invalid arguments");
        if (n_msgs > WIRE_BATCH_MAX)
                return path_error(err, -E2BIG, &root, "%zu messages, at most %u per batch", n_msgs, WIRE_BATCH_MAX);

        w_lit(&w, "[");
        for (size_t i = 0; i < n_msgs; i++) {
                Path p = PATH_INDEX(&root, i);

                if (i > 0)
                        w_lit(&w, ",");
                r = msg_write(&w, h, msgs + i, &p, err);
                if (r < 0) {
                        free(w.buf);
                        return r;
                }
        }
        w_lit(&w, "]");
        if (w.oom) {
                free(w.buf);
                return net_error_set(err, -ENOMEM, "out of memory");
        }

        *ret = w.buf;
        *ret_size = w.size;
        return 0;
}

static int check_text(const char *s, size_t max, const char *what, const Path *p, NetError *err) {
        size_t len = strnlen(s, max + 1);

        if (len == 0)
                return path_error(err, -EINVAL, p, "empty %s", what);
        if (len > max)
                return path_error(err, -EINVAL, p, "%s longer than %zu bytes", what, max);
        for (size_t i = 0; i < len; i++)
                if (!name_char_ok(s[i]))
                        return path_error(err, -EINVAL, p, "byte %zu of the %s is not printable ASCII", i, what);
        return 0;
}

static int node_write(Writer *w, const WireNode *n, bool with_id, const Path *p, NetError *err) {
        Path pn = PATH_KEY(p, "name"), pa = PATH_KEY(p, "address"), pp = PATH_KEY(p, "port");
        int r;

        if ((r = check_text(n->name, WIRE_NODE_NAME_MAX, "name", &pn, err)) < 0 ||
            (r = check_text(n->address, WIRE_ADDRESS_MAX, "address", &pa, err)) < 0)
                return r;
        if (n->port == 0)
                return path_error(err, -EINVAL, &pp, "port 0");
        if (with_id) {
                if (n->id == PES_HOST_NONE) {
                        Path pi = PATH_KEY(p, "id");
                        return path_error(err, -EINVAL, &pi, "host id 0 is not a host");
                }
                w_lit(w, "{\"id\":");
                w_u64(w, n->id);
                w_lit(w, ",\"name\":");
        } else
                w_lit(w, "{\"name\":");
        w_name(w, n->name, strlen(n->name));
        w_lit(w, ",\"address\":");
        w_name(w, n->address, strlen(n->address));
        w_lit(w, ",\"port\":");
        w_u64(w, n->port);
        w_lit(w, "}");
        return 0;
}

/* The optional header fields, in a fixed order so that the encoding stays canonical. */
static int header_extras_write(Writer *w, const WireHeader *h, NetError *err) {
        Path pn = PATH_KEY(NULL, "node"), pb = PATH_KEY(NULL, "book"), pc = PATH_KEY(NULL, "cluster_name");
        int r;

        if (h->has_node) {
                w_lit(w, ",\"node\":");
                r = node_write(w, &h->node, false, &pn, err);
                if (r < 0)
                        return r;
        }
        if (h->n_book > 0) {
                if (!h->book)
                        return path_error(err, -EINVAL, &pb, "no entries");
                if (h->n_book > PES_MEMBERS_MAX)
                        return path_error(err, -EINVAL, &pb, "%zu entries, at most %u allowed", h->n_book,
                                          PES_MEMBERS_MAX);
                w_lit(w, ",\"book\":[");
                for (size_t i = 0; i < h->n_book; i++) {
                        Path pi = PATH_INDEX(&pb, i);

                        if (i > 0 && h->book[i].id <= h->book[i - 1].id) {
                                Path pid = PATH_KEY(&pi, "id");
                                return path_error(err, -EINVAL, &pid, "not sorted by id");
                        }
                        if (i > 0)
                                w_lit(w, ",");
                        r = node_write(w, &h->book[i], true, &pi, err);
                        if (r < 0)
                                return r;
                }
                w_lit(w, "]");
        }
        if (h->cluster_name[0]) {
                r = check_text(h->cluster_name, WIRE_CLUSTER_NAME_MAX, "cluster name", &pc, err);
                if (r < 0)
                        return r;
                w_lit(w, ",\"cluster_name\":");
                w_name(w, h->cluster_name, strlen(h->cluster_name));
        }
        return 0;
}

int wire_batch_dump(const WireHeader *h, const char *msgs, size_t msgs_size, char **ret, size_t *ret_size,
                    NetError *err) {
        Writer w = {};
        int r;

        if (!h || !msgs || msgs_size < 2 || msgs[0] != '[' || !ret || !ret_size)
                return net_error_set(err, -EINVAL, "invalid arguments");
        if (h->version != WIRE_PROTOCOL_VERSION)
                return net_error_set(err, -EINVAL, "version: %" PRIu32 " is not %u", h->version, WIRE_PROTOCOL_VERSION);
        if (h->from == PES_HOST_NONE)
                return net_error_set(err, -EINVAL, "from: host id 0 is not a host");
        if ((r = check_u64(h->incarnation, "incarnation", NULL, err)) < 0 ||
            (r = check_u64(h->seq, "seq", NULL, err)) < 0)
                return r;

        w_lit(&w, "{\"version\":");
        w_u64(&w, h->version);
        w_lit(&w, ",\"cluster\":");
        w_hex64(&w, h->cluster_id);
        w_lit(&w, ",\"voters\":");
        w_hex64(&w, h->voters_hash);
        w_lit(&w, ",\"from\":");
        w_u64(&w, h->from);
        w_lit(&w, ",\"incarnation\":");
        w_u64(&w, h->incarnation);
        w_lit(&w, ",\"epoch\":");
        r = epoch_write(&w, &h->epoch, "epoch", NULL, err);
        if (r < 0) {
                free(w.buf);
                return r;
        }
        w_lit(&w, ",\"seq\":");
        w_u64(&w, h->seq);
        if (h->initialised)
                w_lit(&w, ",\"init\":true");
        else
                w_lit(&w, ",\"init\":false");
        if (h->ready)
                w_lit(&w, ",\"ready\":true");
        else
                w_lit(&w, ",\"ready\":false");
        r = header_extras_write(&w, h, err);
        if (r < 0) {
                free(w.buf);
                return r;
        }
        w_lit(&w, ",\"msgs\":");
        w_raw(&w, msgs, msgs_size);
        w_lit(&w, "}");
        if (w.oom) {
                free(w.buf);
                return net_error_set(err, -ENOMEM, "out of memory");
        }

        *ret = w.buf;
        *ret_size = w.size;
        return 0;
}

int wire_batch_encode(const WireHeader *h, const PeerMsg *msgs, size_t n_msgs,
                      char **ret, size_t *ret_size, NetError *err) {
        char *a = NULL;
        size_t n = 0;
        int r;

        r = wire_msgs_build(h, msgs, n_msgs, &a, &n, err);
        if (r < 0)
                return r;
        r = wire_batch_dump(h, a, n, ret, ret_size, err);
        free(a);
        return r;
}

/* ---- decoding ---- */

/* Every object must hold exactly the keys in allowed[] (n of them): an unknown key is
 * named first, then a missing one. */
static int check_keys(json_t *o, const char *const *allowed, size_t n, const Path *p, NetError *err) {
        const char *key;
        json_t *v;

        if (!json_is_object(o))
                return path_error(err, -EBADMSG, p, "expected object");

        json_object_foreach(o, key, v) {
                bool found = false;

                for (size_t i = 0; i < n && !found; i++)
                        found = strcmp(allowed[i], key) == 0;
                if (!found) {
                        /* The key came from the peer: print it bounded and escaped. */
                        char safe[48];
                        size_t k = 0;

                        for (const char *c = key; *c && k < sizeof(safe) - 1; c++)
                                safe[k++] = name_char_ok(*c) ? *c : '?';
                        safe[k] = 0;
                        Path here = PATH_KEY(p, safe);
                        return path_error(err, -EBADMSG, &here, "unknown field");
                }
        }

        if (json_object_size(o) != n)
                for (size_t i = 0; i < n; i++)
                        if (!json_object_get(o, allowed[i])) {
                                Path here = PATH_KEY(p, allowed[i]);
                                return path_error(err, -EBADMSG, &here, "missing field");
                        }
        return 0;
}

static int get_uint(json_t *o, const char *key, uint64_t max, uint64_t *ret, const Path *p, NetError *err) {
        json_t *v = json_object_get(o, key);
        Path here = PATH_KEY(p, key);
        json_int_t i;

        if (!v)
                return path_error(err, -EBADMSG, &here, "missing field");
        if (!json_is_integer(v))
                return path_error(err, -EBADMSG, &here, "expected integer");
        i = json_integer_value(v);
        if (i < 0 || (uint64_t) i > max)
                return path_error(err, -EBADMSG, &here, "%" JSON_INTEGER_FORMAT " is out of range [0, %" PRIu64 "]", i, max);
        *ret = (uint64_t) i;
        return 0;
}

static int get_u64(json_t *o, const char *key, uint64_t *ret, const Path *p, NetError *err) {
        return get_uint(o, key, INT64_MAX, ret, p, err);
}

static int get_u32(json_t *o, const char *key, uint32_t *ret, const Path *p, NetError *err) {
        uint64_t v;
        int r;

        r = get_uint(o, key, UINT32_MAX, &v, p, err);
        if (r < 0)
                return r;
        *ret = (uint32_t) v;
        return 0;
}

static int get_host(json_t *o, const char *key, bool allow_none, uint16_t *ret, const Path *p, NetError *err) {
        uint64_t v;
        int r;

        r = get_uint(o, key, PES_HOST_MAX, &v, p, err);
        if (r < 0)
                return r;
        if (!allow_none && v == PES_HOST_NONE) {
                Path here = PATH_KEY(p, key);
                return path_error(err, -EBADMSG, &here, "host id 0 is not a host");
        }
        *ret = (uint16_t) v;
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static int get_hex64(json_t *o, const char *key, uint64_t *ret, const Path *p, NetError *err) {
        json_t *v = json_object_get(o, key);
        Path here = PATH_KEY(p, key);
        const char *s;
        uint64_t x = 0;

        if (!v)
                return path_error(err, -EBADMSG, &here, "missing field");
        if (!json_is_string(v))
                return path_error(err, -EBADMSG, &here, "expected string");
        if (json_string_length(v) != 16)
                return path_error(err, -EBADMSG, &here, "expected 16 hex digits");
        s = json_string_value(v);
        for (size_t i = 0; i < 16; i++) {
                int d = unhex(s[i]);
                if (d < 0)
                        return path_error(err, -EBADMSG, &here, "expected 16 lower-case hex digits");
                x = (x << 4) | (uint64_t) d;
        }
        *ret = x;
        return 0;
}

static int get_enum(json_t *o, const char *key, const char *const *names, unsigned n, unsigned *ret,
                    const Path *p, NetError *err) {
        json_t *v = json_object_get(o, key);
        Path here = PATH_KEY(p, key);
        const char *s;

        if (!v)
                return path_error(err, -EBADMSG, &here, "missing field");
        if (!json_is_string(v))
                return path_error(err, -EBADMSG, &here, "expected string");
        s = json_string_value(v);
        for (unsigned i = 0; i < n; i++)
                if (names[i] && strlen(names[i]) == json_string_length(v) && strcmp(names[i], s) == 0) {
                        *ret = i;
                        return 0;
                }
        return path_error(err, -EBADMSG, &here, "unknown value");
}

static int ballot_parse(json_t *o, const char *key, Ballot *ret, const Path *p, NetError *err) {
        static const char *const keys[] = { "counter", "host" };
        json_t *j = json_object_get(o, key);
        Path here = PATH_KEY(p, key);
        int r;

        r = check_keys(j, keys, ELEMENTSOF(keys), &here, err);
        if (r < 0)
                return r;
        r = get_u64(j, "counter", &ret->counter, &here, err);
        if (r < 0)
                return r;
        return get_host(j, "host", true, &ret->host, &here, err);
}

static int epoch_parse(json_t *o, const char *key, Epoch *ret, const Path *p, NetError *err) {
        static const char *const keys[] = { "n", "hash" };
        json_t *j = json_object_get(o, key);
        Path here = PATH_KEY(p, key);
        int r;

        r = check_keys(j, keys, ELEMENTSOF(keys), &here, err);
        if (r < 0)
                return r;
        r = get_u64(j, "n", &ret->n, &here, err);
        if (r < 0)
                return r;
        return get_hex64(j, "hash", &ret->hash, &here, err);
}

static int value_parse(json_t *o, RegValue *ret, const Path *p, NetError *err) {
        static const char *const keys[] = { "ba", "seq", "kind", "holder", "token", "lease_usec" };
        json_t *j = json_object_get(o, "value");
        Path here = PATH_KEY(p, "value");
        unsigned kind;
        int r;

        r = check_keys(j, keys, ELEMENTSOF(keys), &here, err);
        if (r < 0)
                return r;
        r = ballot_parse(j, "ba", &ret->ba, &here, err);
        if (r < 0)
                return r;
        r = get_u64(j, "seq", &ret->seq, &here, err);
        if (r < 0)
                return r;
        r = get_enum(j, "kind", value_kind_names, _VALUE_KIND_MAX, &kind, &here, err);
        if (r < 0)
                return r;
        ret->kind = kind;
        r = get_host(j, "holder", true, &ret->holder, &here, err);
        if (r < 0)
                return r;
        r = get_u64(j, "token", &ret->token, &here, err);
        if (r < 0)
                return r;
        return get_u64(j, "lease_usec", &ret->lease_usec, &here, err);
}

static int get_bool(json_t *o, const char *key, bool *ret, const Path *p, NetError *err) {
        json_t *v = json_object_get(o, key);
        Path here = PATH_KEY(p, key);

        if (!v)
                return path_error(err, -EBADMSG, &here, "missing field");
        if (!json_is_boolean(v))
                return path_error(err, -EBADMSG, &here, "expected true or false");
        *ret = json_is_true(v);
        return 0;
}

static int config_parse(json_t *o, VoterConfig *ret, const Path *p, NetError *err) {
        static const char *const keys[] = {
                "epoch", "phase", "changing", "adding", "rescanned", "voters", "members", "next_id",
                "rho_ppm", "delta_usec", "lease_max_usec",
        };
        json_t *j = json_object_get(o, "config"), *voters, *members;
        Path here = PATH_KEY(p, "config"), vp = PATH_KEY(&here, "voters"), mp = PATH_KEY(&here, "members");
        unsigned phase;
        int r;

        r = check_keys(j, keys, ELEMENTSOF(keys), &here, err);
        if (r < 0)
                return r;
        r = epoch_parse(j, "epoch", &ret->epoch, &here, err);
        if (r < 0)
                return r;
        r = get_enum(j, "phase", config_phase_names, _CONFIG_PHASE_MAX, &phase, &here, err);
        if (r < 0)
                return r;
        ret->phase = phase;
        r = get_host(j, "changing", true, &ret->changing, &here, err);
        if (r < 0)
                return r;
        r = get_bool(j, "adding", &ret->adding, &here, err);
        if (r < 0)
                return r;
        r = get_bool(j, "rescanned", &ret->rescanned, &here, err);
        if (r < 0)
                return r;

        voters = json_object_get(j, "voters");
        if (!json_is_array(voters))
                return path_error(err, -EBADMSG, &vp, "expected array");
        if (json_array_size(voters) > PES_VOTERS_MAX)
                return path_error(err, -EBADMSG, &vp, "%zu voters, at most %u allowed",
                                  json_array_size(voters), PES_VOTERS_MAX);
        for (size_t i = 0; i < json_array_size(voters); i++) {
                json_t *v = json_array_get(voters, i);
                Path ip = PATH_INDEX(&vp, i);
                json_int_t x;

                if (!json_is_integer(v))
                        return path_error(err, -EBADMSG, &ip, "expected integer");
                x = json_integer_value(v);
                if (x < 1 || x > PES_HOST_MAX)
                        return path_error(err, -EBADMSG, &ip, "%" JSON_INTEGER_FORMAT " is out of range [1, %u]",
                                          x, PES_HOST_MAX);
                ret->voters[i] = (uint16_t) x;
        }
        ret->n_voters = (unsigned) json_array_size(voters);

        members = json_object_get(j, "members");
        if (!json_is_array(members))
                return path_error(err, -EBADMSG, &mp, "expected array");
        if (json_array_size(members) > PES_MEMBERS_MAX)
                return path_error(err, -EBADMSG, &mp, "%zu members, at most %u allowed",
                                  json_array_size(members), PES_MEMBERS_MAX);
        for (size_t i = 0; i < json_array_size(members); i++) {
                json_t *v = json_array_get(members, i);
                Path ip = PATH_INDEX(&mp, i);
                json_int_t x;

                if (!json_is_integer(v))
                        return path_error(err, -EBADMSG, &ip, "expected integer");
                x = json_integer_value(v);
                if (x < 1 || x > PES_HOST_MAX)
                        return path_error(err, -EBADMSG, &ip, "%" JSON_INTEGER_FORMAT " is out of range [1, %u]",
                                          x, PES_HOST_MAX);
                /* Sorted and unique, as the encoder writes them: one encoding per configuration. */
                if (i > 0 && (uint16_t) x <= ret->members[i - 1])
                        return path_error(err, -EBADMSG, &ip, "not above the member before it");
                ret->members[i] = (uint16_t) x;
        }
        ret->n_members = (unsigned) json_array_size(members);
        r = get_host(j, "next_id", true, &ret->next_id, &here, err);
        if (r < 0)
                return r;

        r = get_u32(j, "rho_ppm", &ret->rho_ppm, &here, err);
        if (r < 0)
                return r;
        r = get_u64(j, "delta_usec", &ret->delta_usec, &here, err);
        if (r < 0)
                return r;
        return get_u64(j, "lease_max_usec", &ret->lease_max_usec, &here, err);
}

static int msg_parse(json_t *j, const WireHeader *h, PeerMsg *m, const Path *p, NetError *err) {
        const char *keys[12];
        size_t n = 0;
        unsigned type, f, reason;
        json_t *name;
        int r;

        if (!json_is_object(j))
                return path_error(err, -EBADMSG, p, "expected object");

        /* The type decides which other keys belong, so it is read first. */
        r = get_enum(j, "type", msg_type_names, _MSG_TYPE_MAX, &type, p, err);
        if (r < 0)
                return r;
        f = msg_fields[type];

        keys[n++] = "type";
        keys[n++] = "round";
        if (f & F_NAME)
                keys[n++] = "name";
        if (f & F_BALLOT)
                keys[n++] = "ballot";
        if (f & F_VALUE)
                keys[n++] = "value";
        if (f & F_REMAINING)
                keys[n++] = "remaining_usec";
        if (f & F_REASON)
                keys[n++] = "reason";
        if (f & F_CONFIG)
                keys[n++] = "config";
        if (f & F_SCAN_COUNT)
                keys[n++] = "scan_count";
        if (f & F_IDENTITY)
                keys[n++] = "identity";
        assert(n <= ELEMENTSOF(keys));

        r = check_keys(j, keys, n, p, err);
        if (r < 0)
                return r;

        *m = (PeerMsg) {
                .type = type,
                .from = h->from,
                .incarnation = h->incarnation,
                .epoch = h->epoch,
        };

        r = get_u64(j, "round", &m->round, p, err);
        if (r < 0)
                return r;

        if (f & F_NAME) {
                Path here = PATH_KEY(p, "name");

                name = json_object_get(j, "name");
                if (!json_is_string(name))
                        return path_error(err, -EBADMSG, &here, "expected string");
                r = check_name(json_string_value(name), json_string_length(name), f & F_NAME_EMPTY, &here, err);
                if (r < 0)
                        return -EBADMSG;
                memcpy(m->name, json_string_value(name), json_string_length(name));
                m->name[json_string_length(name)] = 0;
        }

        if (f & F_BALLOT) {
                r = ballot_parse(j, "ballot", &m->ballot, p, err);
                if (r < 0)
                        return r;
        }
        if (f & F_VALUE) {
                r = value_parse(j, &m->value, p, err);
                if (r < 0)
                        return r;
        }
        if (f & F_REMAINING) {
                r = get_u64(j, "remaining_usec", &m->remaining_usec, p, err);
                if (r < 0)
                        return r;
        }
        if (f & F_REASON) {
                r = get_enum(j, "reason", nack_reason_names, _NACK_REASON_MAX, &reason, p, err);
                if (r < 0)
                        return r;
                m->reason = reason;
        }
        if (f & F_CONFIG) {
                r = config_parse(j, &m->config, p, err);
                if (r < 0)
                        return r;
        }
        if (f & F_SCAN_COUNT) {
                r = get_u64(j, "scan_count", &m->scan_count, p, err);
                if (r < 0)
                        return r;
        }
        if (f & F_IDENTITY) {
                r = get_bool(j, "identity", &m->identity, p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int get_flag(json_t *j, const char *key, bool *ret, NetError *err) {
        json_t *v = json_object_get(j, key);

        if (!v || !json_is_boolean(v)) {
                Path here = PATH_KEY(NULL, key);

                return path_error(err, -EBADMSG, &here, v ? "expected true or false" : "missing field");
        }
        *ret = json_is_true(v);
        return 0;
}

static int get_text(json_t *o, const char *key, size_t max, char *ret, const Path *p, NetError *err) {
        json_t *v = json_object_get(o, key);
        Path here = PATH_KEY(p, key);
        size_t len;
        int r;

        if (!v)
                return path_error(err, -EBADMSG, &here, "missing field");
        if (!json_is_string(v))
                return path_error(err, -EBADMSG, &here, "expected string");
        len = json_string_length(v);
        if (len == 0)
                return path_error(err, -EBADMSG, &here, "empty string");
        if (len > max)
                return path_error(err, -EBADMSG, &here, "longer than %zu bytes", max);
        r = check_name(json_string_value(v), len, false, &here, err);
        if (r < 0)
                return -EBADMSG;
        memcpy(ret, json_string_value(v), len);
        ret[len] = 0;
        return 0;
}

static int node_parse(json_t *j, bool with_id, WireNode *ret, const Path *p, NetError *err) {
        static const char *const keys_id[] = { "id", "name", "address", "port" };
        uint64_t port;
        int r;

        r = check_keys(j, with_id ? keys_id : keys_id + 1, with_id ? 4 : 3, p, err);
        if (r < 0)
                return r;
        *ret = (WireNode) {};
        if (with_id) {
                r = get_host(j, "id", false, &ret->id, p, err);
                if (r < 0)
                        return r;
        }
        r = get_text(j, "name", WIRE_NODE_NAME_MAX, ret->name, p, err);
        if (r < 0)
                return r;
        r = get_text(j, "address", WIRE_ADDRESS_MAX, ret->address, p, err);
        if (r < 0)
                return r;
        r = get_uint(j, "port", UINT16_MAX, &port, p, err);
        if (r < 0)
                return r;
        if (port == 0) {
                Path here = PATH_KEY(p, "port");
                return path_error(err, -EBADMSG, &here, "port 0");
        }
        ret->port = (uint16_t) port;
        return 0;
}

/* The optional fields of a header; the book is stored in *ret_book (malloc'd). */
static int header_extras_parse(json_t *j, WireHeader *h, WireNode **ret_book, NetError *err) {
        Path pn = PATH_KEY(NULL, "node"), pb = PATH_KEY(NULL, "book");
        json_t *v;
        int r;

        v = json_object_get(j, "node");
        if (v) {
                r = node_parse(v, false, &h->node, &pn, err);
                if (r < 0)
                        return r;
                h->has_node = true;
        }
        v = json_object_get(j, "book");
        if (v) {
                _cleanup_free_ WireNode *book = NULL;
                size_t n;

                if (!json_is_array(v))
                        return path_error(err, -EBADMSG, &pb, "expected array");
                n = json_array_size(v);
                if (n == 0)
                        return path_error(err, -EBADMSG, &pb, "empty (leave it out)");
                if (n > PES_MEMBERS_MAX)
                        return path_error(err, -EBADMSG, &pb, "%zu entries, at most %u allowed", n, PES_MEMBERS_MAX);
                book = calloc(n, sizeof(WireNode));
                if (!book)
                        return net_error_set(err, -ENOMEM, "out of memory");
                for (size_t i = 0; i < n; i++) {
                        Path pi = PATH_INDEX(&pb, i);

                        r = node_parse(json_array_get(v, i), true, &book[i], &pi, err);
                        if (r < 0)
                                return r;
                        if (i > 0 && book[i].id <= book[i - 1].id) {
                                Path pid = PATH_KEY(&pi, "id");
                                return path_error(err, -EBADMSG, &pid, "not sorted by id");
                        }
                }
                h->book = book;
                h->n_book = n;
                *ret_book = TAKE_PTR(book);
        }
        v = json_object_get(j, "cluster_name");
        if (v) {
                r = get_text(j, "cluster_name", WIRE_CLUSTER_NAME_MAX, h->cluster_name, NULL, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int header_parse(json_t *j, WireHeader *h, WireNode **ret_book, NetError *err) {
        static const char *const required[] = {
                "version", "cluster", "voters", "from", "incarnation", "epoch", "seq", "init", "ready", "msgs",
        };
        static const char *const optional[] = { "node", "book", "cluster_name" };
        const char *keys[ELEMENTSOF(required) + ELEMENTSOF(optional)];
        size_t n = 0;
        uint64_t version;
        int r;

        /* The version is checked before the rest, so that a future protocol with other
         * fields is reported as a version mismatch rather than as unknown fields. */
        if (!json_is_object(j))
                return path_error(err, -EBADMSG, NULL, "expected object");
        r = get_uint(j, "version", UINT32_MAX, &version, NULL, err);
        if (r < 0)
                return r;
        if (version != WIRE_PROTOCOL_VERSION)
                return net_error_set(err, -EPROTONOSUPPORT, "version: protocol %" PRIu64 " is not supported (this host speaks %u)",
                                     version, WIRE_PROTOCOL_VERSION);
        h->version = (uint32_t) version;

        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                keys[n++] = required[i];
        for (size_t i = 0; i < ELEMENTSOF(optional); i++)
                if (json_object_get(j, optional[i]))
                        keys[n++] = optional[i];
        r = check_keys(j, keys, n, NULL, err);
        if (r < 0)
                return r;
        r = get_hex64(j, "cluster", &h->cluster_id, NULL, err);
        if (r < 0)
                return r;
        r = get_hex64(j, "voters", &h->voters_hash, NULL, err);
        if (r < 0)
                return r;
        r = get_host(j, "from", false, &h->from, NULL, err);
        if (r < 0)
                return r;
        r = get_u64(j, "incarnation", &h->incarnation, NULL, err);
        if (r < 0)
                return r;
        r = epoch_parse(j, "epoch", &h->epoch, NULL, err);
        if (r < 0)
                return r;
        r = get_u64(j, "seq", &h->seq, NULL, err);
        if (r < 0)
                return r;
        r = get_flag(j, "init", &h->initialised, err);
        if (r < 0)
                return r;
        r = get_flag(j, "ready", &h->ready, err);
        if (r < 0)
                return r;
        return header_extras_parse(j, h, ret_book, err);
}

int wire_batch_decode(const void *data, size_t size, WireBatch *ret, NetError *err) {
        Path root = PATH_KEY(NULL, "msgs");
        WireHeader h = {};
        WireNode *book = NULL;
        json_error_t jerr;
        json_t *j, *msgs;
        PeerMsg *m = NULL;
        size_t n;
        int r;

        if ((!data && size > 0) || !ret)
                return net_error_set(err, -EINVAL, "invalid arguments");

        /* Duplicate keys would let two readers of one document disagree on its content. */
        j = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return net_error_set(err, -EBADMSG, "invalid JSON at line %d, column %d: %s",
                                     jerr.line, jerr.column, jerr.text);

        r = header_parse(j, &h, &book, err);
        if (r < 0)
                goto finish;

        msgs = json_object_get(j, "msgs");
        if (!json_is_array(msgs)) {
                r = path_error(err, -EBADMSG, &root, "expected array");
                goto finish;
        }
        n = json_array_size(msgs);
        if (n > WIRE_BATCH_MAX) {
                r = path_error(err, -EBADMSG, &root, "%zu messages, at most %u per batch", n, WIRE_BATCH_MAX);
                goto finish;
        }
        if (n > 0) {
                m = calloc(n, sizeof(PeerMsg));
                if (!m) {
                        r = net_error_set(err, -ENOMEM, "out of memory");
                        goto finish;
                }
        }
        for (size_t i = 0; i < n; i++) {
                Path p = PATH_INDEX(&root, i);

                r = msg_parse(json_array_get(msgs, i), &h, m + i, &p, err);
                if (r < 0) {
                        r = -EBADMSG;
                        goto finish;
                }
        }

        *ret = (WireBatch) {
                .header = h,
                .book = TAKE_PTR(book),
                .n_msgs = n,
                .msgs = TAKE_PTR(m),
        };
        r = 0;

finish:
        free(m);
        free(book);
        json_decref(j);
        return r;
}
