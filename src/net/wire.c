/* SPDX-License-Identifier: MIT */
/* Strict JSON encoding and decoding of peer message batches (see wire.h for the format). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"

/* Which fields a message of each type carries besides type and round, following the
 * field comments of core/msg.h. A name is required and non-empty where F_NAME is set;
 * NACK_CONFIG may answer a message that named nothing (a SCAN), so its name may be empty. */
enum {
        F_NAME       = 1 << 0,
        F_NAME_EMPTY = 1 << 1,
        F_BALLOT     = 1 << 2,
        F_VALUE      = 1 << 3,
        F_REMAINING  = 1 << 4,
        F_REASON     = 1 << 5,
        F_CONFIG     = 1 << 6,
        F_SCAN_COUNT = 1 << 7,
};

static const unsigned msg_fields[_MSG_TYPE_MAX] = {
        [MSG_READ]        = F_NAME,
        [MSG_READ_REPLY]  = F_NAME | F_BALLOT | F_VALUE | F_REMAINING,
        [MSG_PREPARE]     = F_NAME | F_BALLOT,
        [MSG_PROMISE]     = F_NAME | F_BALLOT | F_VALUE | F_REMAINING,
        [MSG_ACCEPT]      = F_NAME | F_BALLOT | F_VALUE,
        [MSG_ACCEPTED]    = F_NAME | F_BALLOT | F_VALUE,
        [MSG_NACK]        = F_NAME | F_BALLOT | F_VALUE | F_REASON | F_REMAINING,
        [MSG_NACK_CONFIG] = F_NAME | F_NAME_EMPTY | F_CONFIG,
        [MSG_TAKE]        = F_NAME | F_BALLOT | F_VALUE,
        [MSG_SCAN]        = 0,
        [MSG_SCAN_REPLY]  = F_NAME | F_BALLOT | F_VALUE,
        [MSG_SCAN_DONE]   = F_SCAN_COUNT,
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
        [CONFIG_PREPARE_WIDENED] = "prepare-widened",
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

static int set_new(json_t *o, const char *key, json_t *v, const Path *p, NetError *err) {
        if (!v || json_object_set_new_nocheck(o, key, v) < 0) {
                Path here = PATH_KEY(p, key);
                return path_error(err, -ENOMEM, &here, "out of memory");
        }
        return 0;
}

static int set_u64(json_t *o, const char *key, uint64_t v, const Path *p, NetError *err) {
        if (v > (uint64_t) INT64_MAX) {
                Path here = PATH_KEY(p, key);
                return path_error(err, -ERANGE, &here, "%" PRIu64 " is above 2^63-1", v);
        }
        return set_new(o, key, json_integer((json_int_t) v), p, err);
}

static int set_hex64(json_t *o, const char *key, uint64_t v, const Path *p, NetError *err) {
        char buf[17];

        (void) snprintf(buf, sizeof(buf), "%016" PRIx64, v);
        return set_new(o, key, json_stringn_nocheck(buf, 16), p, err);
}

static int set_enum(json_t *o, const char *key, unsigned v, const char *const *names, unsigned n,
                    const Path *p, NetError *err) {
        if (v >= n) {
                Path here = PATH_KEY(p, key);
                return path_error(err, -EINVAL, &here, "%u is not a valid value", v);
        }
        return set_new(o, key, json_string_nocheck(names[v]), p, err);
}

static int ballot_build(json_t *o, const char *key, const Ballot *b, const Path *p, NetError *err) {
        Path here = PATH_KEY(p, key);
        json_t *j;
        int r;

        j = json_object();
        r = set_new(o, key, j, p, err);
        if (r < 0)
                return r;
        r = set_u64(j, "counter", b->counter, &here, err);
        if (r < 0)
                return r;
        return set_new(j, "host", json_integer(b->host), &here, err);
}

static int epoch_build(json_t *o, const char *key, const Epoch *e, const Path *p, NetError *err) {
        Path here = PATH_KEY(p, key);
        json_t *j;
        int r;

        j = json_object();
        r = set_new(o, key, j, p, err);
        if (r < 0)
                return r;
        r = set_u64(j, "n", e->n, &here, err);
        if (r < 0)
                return r;
        return set_hex64(j, "hash", e->hash, &here, err);
}

static int value_build(json_t *o, const RegValue *v, const Path *p, NetError *err) {
        Path here = PATH_KEY(p, "value");
        json_t *j;
        int r;

        j = json_object();
        r = set_new(o, "value", j, p, err);
        if (r < 0)
                return r;
        r = ballot_build(j, "ba", &v->ba, &here, err);
        if (r < 0)
                return r;
        r = set_u64(j, "seq", v->seq, &here, err);
        if (r < 0)
                return r;
        r = set_enum(j, "kind", v->kind, value_kind_names, _VALUE_KIND_MAX, &here, err);
        if (r < 0)
                return r;
        r = set_new(j, "holder", json_integer(v->holder), &here, err);
        if (r < 0)
                return r;
        r = set_u64(j, "token", v->token, &here, err);
        if (r < 0)
                return r;
        return set_u64(j, "lease_usec", v->lease_usec, &here, err);
}

static int config_build(json_t *o, const VoterConfig *c, const Path *p, NetError *err) {
        Path here = PATH_KEY(p, "config"), vp = PATH_KEY(&here, "voters");
        json_t *j, *voters;
        int r;

        j = json_object();
        r = set_new(o, "config", j, p, err);
        if (r < 0)
                return r;
        r = epoch_build(j, "epoch", &c->epoch, &here, err);
        if (r < 0)
                return r;
        r = set_enum(j, "phase", c->phase, config_phase_names, _CONFIG_PHASE_MAX, &here, err);
        if (r < 0)
                return r;
        r = set_new(j, "changing", json_integer(c->changing), &here, err);
        if (r < 0)
                return r;
        if (c->n_voters > PES_VOTERS_MAX)
                return path_error(err, -EINVAL, &vp, "%u voters, at most %u allowed", c->n_voters, PES_VOTERS_MAX);
        voters = json_array();
        r = set_new(j, "voters", voters, &here, err);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < c->n_voters; i++) {
                if (c->voters[i] == PES_HOST_NONE) {
                        Path ip = PATH_INDEX(&vp, i);
                        return path_error(err, -EINVAL, &ip, "host id 0 is not a host");
                }
                if (json_array_append_new(voters, json_integer(c->voters[i])) < 0)
                        return path_error(err, -ENOMEM, &vp, "out of memory");
        }
        r = set_new(j, "rho_ppm", json_integer(c->rho_ppm), &here, err);
        if (r < 0)
                return r;
        r = set_u64(j, "delta_usec", c->delta_usec, &here, err);
        if (r < 0)
                return r;
        return set_u64(j, "lease_max_usec", c->lease_max_usec, &here, err);
}

static int msg_build(const WireHeader *h, const PeerMsg *m, const Path *p, json_t **ret, NetError *err) {
        json_t *j;
        size_t len;
        unsigned f;
        int r;

        if ((unsigned) m->type >= _MSG_TYPE_MAX) {
                Path here = PATH_KEY(p, "type");
                return path_error(err, -EINVAL, &here, "%u is not a valid value", (unsigned) m->type);
        }

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

        j = json_object();
        if (!j)
                return path_error(err, -ENOMEM, p, "out of memory");

        r = set_enum(j, "type", m->type, msg_type_names, _MSG_TYPE_MAX, p, err);
        if (r >= 0)
                r = set_u64(j, "round", m->round, p, err);
        if (r >= 0 && (f & F_NAME))
                r = set_new(j, "name", json_stringn_nocheck(m->name, len), p, err);
        if (r >= 0 && (f & F_BALLOT))
                r = ballot_build(j, "ballot", &m->ballot, p, err);
        if (r >= 0 && (f & F_VALUE))
                r = value_build(j, &m->value, p, err);
        if (r >= 0 && (f & F_REMAINING))
                r = set_u64(j, "remaining_usec", m->remaining_usec, p, err);
        if (r >= 0 && (f & F_REASON))
                r = set_enum(j, "reason", m->reason, nack_reason_names, _NACK_REASON_MAX, p, err);
        if (r >= 0 && (f & F_CONFIG))
                r = config_build(j, &m->config, p, err);
        if (r >= 0 && (f & F_SCAN_COUNT))
                r = set_u64(j, "scan_count", m->scan_count, p, err);
        if (r < 0) {
                json_decref(j);
                return r;
        }

        *ret = j;
        return 0;
}

int wire_msgs_build(const WireHeader *h, const PeerMsg *msgs, size_t n_msgs, json_t **ret, NetError *err) {
        Path root = PATH_KEY(NULL, "msgs");
        json_t *a;
        int r;

        if (!h || (!msgs && n_msgs > 0) || !ret)
                return net_error_set(err, -EINVAL, "invalid arguments");
        if (n_msgs > WIRE_BATCH_MAX)
                return path_error(err, -E2BIG, &root, "%zu messages, at most %u per batch", n_msgs, WIRE_BATCH_MAX);

        a = json_array();
        if (!a)
                return net_error_set(err, -ENOMEM, "out of memory");

        for (size_t i = 0; i < n_msgs; i++) {
                Path p = PATH_INDEX(&root, i);
                json_t *m = NULL;

                r = msg_build(h, msgs + i, &p, &m, err);
                if (r < 0)
                        goto fail;
                if (json_array_append_new(a, m) < 0) {
                        r = path_error(err, -ENOMEM, &p, "out of memory");
                        goto fail;
                }
        }

        *ret = a;
        return 0;

fail:
        json_decref(a);
        return r;
}

int wire_batch_dump(const WireHeader *h, json_t *msgs, char **ret, size_t *ret_size, NetError *err) {
        json_t *j;
        char *buf;
        size_t size;
        int r;

        if (!h || !json_is_array(msgs) || !ret || !ret_size)
                return net_error_set(err, -EINVAL, "invalid arguments");
        if (h->version != WIRE_PROTOCOL_VERSION)
                return net_error_set(err, -EINVAL, "version: %" PRIu32 " is not %u", h->version, WIRE_PROTOCOL_VERSION);
        if (h->from == PES_HOST_NONE)
                return net_error_set(err, -EINVAL, "from: host id 0 is not a host");

        j = json_object();
        if (!j)
                return net_error_set(err, -ENOMEM, "out of memory");

        r = set_new(j, "version", json_integer(h->version), NULL, err);
        if (r >= 0)
                r = set_hex64(j, "cluster", h->cluster_id, NULL, err);
        if (r >= 0)
                r = set_hex64(j, "voters", h->voters_hash, NULL, err);
        if (r >= 0)
                r = set_new(j, "from", json_integer(h->from), NULL, err);
        if (r >= 0)
                r = set_u64(j, "incarnation", h->incarnation, NULL, err);
        if (r >= 0)
                r = epoch_build(j, "epoch", &h->epoch, NULL, err);
        if (r >= 0)
                r = set_u64(j, "seq", h->seq, NULL, err);
        if (r >= 0)
                r = set_new(j, "init", json_boolean(h->initialised), NULL, err);
        if (r >= 0)
                r = set_new(j, "msgs", json_incref(msgs), NULL, err);
        if (r < 0) {
                json_decref(j);
                return r;
        }

        /* Two passes (size, then fill) keep the buffer exact without a realloc loop. */
        size = json_dumpb(j, NULL, 0, JSON_COMPACT);
        buf = size > 0 ? malloc(size) : NULL;
        if (!buf) {
                json_decref(j);
                return net_error_set(err, -ENOMEM, "out of memory");
        }
        if (json_dumpb(j, buf, size, JSON_COMPACT) != size) {
                free(buf);
                json_decref(j);
                return net_error_set(err, -EIO, "serialising the batch failed");
        }
        json_decref(j);

        *ret = buf;
        *ret_size = size;
        return 0;
}

int wire_batch_encode(const WireHeader *h, const PeerMsg *msgs, size_t n_msgs,
                      char **ret, size_t *ret_size, NetError *err) {
        json_t *a;
        int r;

        r = wire_msgs_build(h, msgs, n_msgs, &a, err);
        if (r < 0)
                return r;
        r = wire_batch_dump(h, a, ret, ret_size, err);
        json_decref(a);
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
                if (strlen(names[i]) == json_string_length(v) && strcmp(names[i], s) == 0) {
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

static int config_parse(json_t *o, VoterConfig *ret, const Path *p, NetError *err) {
        static const char *const keys[] = {
                "epoch", "phase", "changing", "voters", "rho_ppm", "delta_usec", "lease_max_usec",
        };
        json_t *j = json_object_get(o, "config"), *voters;
        Path here = PATH_KEY(p, "config"), vp = PATH_KEY(&here, "voters");
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

        r = get_u32(j, "rho_ppm", &ret->rho_ppm, &here, err);
        if (r < 0)
                return r;
        r = get_u64(j, "delta_usec", &ret->delta_usec, &here, err);
        if (r < 0)
                return r;
        return get_u64(j, "lease_max_usec", &ret->lease_max_usec, &here, err);
}

static int msg_parse(json_t *j, const WireHeader *h, PeerMsg *m, const Path *p, NetError *err) {
        const char *keys[8];
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
        return 0;
}

static int header_parse(json_t *j, WireHeader *h, NetError *err) {
        static const char *const keys[] = {
                "version", "cluster", "voters", "from", "incarnation", "epoch", "seq", "init", "msgs",
        };
        json_t *init;
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

        r = check_keys(j, keys, ELEMENTSOF(keys), NULL, err);
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
        init = json_object_get(j, "init");
        if (!init || !json_is_boolean(init)) {
                Path here = PATH_KEY(NULL, "init");

                return path_error(err, -EBADMSG, &here, init ? "expected true or false" : "missing field");
        }
        h->initialised = json_is_true(init);
        return 0;
}

int wire_batch_decode(const void *data, size_t size, WireBatch *ret, NetError *err) {
        Path root = PATH_KEY(NULL, "msgs");
        WireHeader h = {};
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

        r = header_parse(j, &h, err);
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
                .n_msgs = n,
                .msgs = TAKE_PTR(m),
        };
        r = 0;

finish:
        free(m);
        json_decref(j);
        return r;
}
