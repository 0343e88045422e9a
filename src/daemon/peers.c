/* SPDX-License-Identifier: MIT */
/* The node table over the HTTP client: members added and dropped at run time, batching per peer, pings, and liveness. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "daemon/peers.h"
#include "net/http-client.h"

#define PEER_PATH "/v1/peer/batch"
/* A peer is declared dead after this many failed requests in a row, or 3H without an answer. */
#define PEER_FAILURES_DEAD 3

struct Peers {
        PeersConfig config;
        HttpClient *client;
        Peer **peers; /* sorted by id; pointers, so a Peer stays put while others come and go */
        size_t n;
        WireHeader header;
        bool ping_all;
        bool init_for_seen;
};

static const char *const peer_state_table[_PEER_STATE_MAX] = {
        [PEER_UNKNOWN] = "unknown",
        [PEER_ALIVE] = "alive",
        [PEER_DEAD] = "dead",
        [PEER_SELF] = "self",
};

const char *peer_state_to_string(PeerState s) {
        return s >= 0 && s < _PEER_STATE_MAX ? peer_state_table[s] : "invalid";
}

static int compare_names(const void *a, const void *b) {
        const PeerConfig *const *x = a, *const *y = b;

        return strcmp((*x)->name, (*y)->name);
}

void peers_assign_ids(const PeerConfig *list, size_t n, uint16_t *ret) {
        const PeerConfig **sorted = calloc(n ? n : 1, sizeof *sorted);

        assert(sorted);
        for (size_t i = 0; i < n; i++)
                sorted[i] = &list[i];
        /* Every host sorts the same Peers= list the same way, so ids agree. */
        qsort(sorted, n, sizeof *sorted, compare_names);
        for (size_t i = 0; i < n; i++)
                ret[sorted[i] - list] = (uint16_t) (i + 1);
        free(sorted);
}

static void set_state(Peers *ps, Peer *p, PeerState state) {
        PeerState old = p->state;

        if (old == state)
                return;
        p->state = state;
        if (ps->config.on_state)
                ps->config.on_state(ps, p, old, ps->config.userdata);
}

int peers_new(const PeersConfig *config, Peers **ret) {
        HttpClientConfig cc = HTTP_CLIENT_CONFIG_INIT;
        NetError err = {};
        Peers *ps;
        int r;

        if (!config || !config->now || !ret)
                return -EINVAL;

        ps = calloc(1, sizeof *ps);
        if (!ps)
                return -ENOMEM;
        ps->config = *config;

        cc.key = config->key;
        cc.cluster_id = config->cluster_id;
        cc.tls_ca_file = config->tls_ca;
        cc.tls_cert_file = config->tls_certificate;
        cc.tls_key_file = config->tls_key;
        r = http_client_new(&ps->client, config->event, &cc, &err);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the peer client: %s", err.text);
                peers_free(ps);
                return r;
        }
        *ret = ps;
        return 0;
}

static void peer_free(Peer *p) {
        if (!p)
                return;
        free(p->name);
        free(p->address);
        free(p->outbox);
        free(p);
}

Peers *peers_free(Peers *ps) {
        if (!ps)
                return NULL;
        http_client_free(ps->client);
        for (size_t i = 0; i < ps->n; i++)
                peer_free(ps->peers[i]);
        free(ps->peers);
        free(ps);
        return NULL;
}

static bool same_string(const char *a, const char *b) {
        return strcmp(a ?: "", b ?: "") == 0;
}

int peers_add(Peers *ps, uint16_t id, const char *name, const char *address, uint16_t port, bool voter) {
        Peer *p = peers_find(ps, id);
        bool changed = false, readdress;
        NetError err = {};
        int r;

        if (!ps || id == PES_HOST_NONE || !name || !name[0])
                return -EINVAL;
        if (!address)
                address = "";

        if (!p) {
                Peer **a;
                size_t i;

                p = calloc(1, sizeof *p);
                if (!p)
                        return -ENOMEM;
                p->id = id;
                p->state = id == ps->config.self ? PEER_SELF : PEER_UNKNOWN;
                p->initialised = -1;
                p->name = strdup(name);
                p->address = strdup("");
                if (!p->name || !p->address) {
                        peer_free(p);
                        return -ENOMEM;
                }
                a = reallocarray(ps->peers, ps->n + 1, sizeof *a);
                if (!a) {
                        peer_free(p);
                        return -ENOMEM;
                }
                ps->peers = a;
                for (i = ps->n; i > 0 && ps->peers[i - 1]->id > id; i--)
                        ps->peers[i] = ps->peers[i - 1];
                ps->peers[i] = p;
                ps->n++;
                changed = true;
        } else if (!same_string(p->name, name)) {
                char *n = strdup(name);

                if (!n)
                        return -ENOMEM;
                free(p->name);
                p->name = n;
                changed = true;
        }
        if (p->voter != voter) {
                p->voter = voter;
                changed = true;
        }

        readdress = !same_string(p->address, address) || p->port != port;
        if (readdress) {
                char *a = strdup(address);

                if (!a)
                        return -ENOMEM;
                if (id != ps->config.self && p->address[0])
                        (void) http_client_remove_peer(ps->client, id);
                free(p->address);
                p->address = a;
                p->port = port;
                changed = true;
                if (id != ps->config.self && address[0] && port > 0) {
                        r = http_client_add_peer(ps->client, id, address, port, &err);
                        if (r < 0) {
                                log_warning_errno(r, "Cannot reach host %s at %s:%u: %s", name, address, port, err.text);
                                p->address[0] = 0;
                                return r;
                        }
                }
                /* Requests to the old address end; the failures they report say nothing of this one. */
                p->in_flight = 0;
                p->failures = 0;
        }
        return changed;
}

int peers_remove(Peers *ps, uint16_t id) {
        size_t i;

        if (!ps)
                return -EINVAL;
        for (i = 0; i < ps->n; i++)
                if (ps->peers[i]->id == id)
                        break;
        if (i == ps->n)
                return -ENOENT;
        if (id != ps->config.self && ps->peers[i]->address[0])
                (void) http_client_remove_peer(ps->client, id);
        peer_free(ps->peers[i]);
        memmove(ps->peers + i, ps->peers + i + 1, (ps->n - i - 1) * sizeof *ps->peers);
        ps->n--;
        return 0;
}

void peers_set_header(Peers *ps, const WireHeader *h) {
        assert(ps);
        assert(h);
        ps->header = *h;
}

size_t peers_count(const Peers *ps) {
        return ps ? ps->n : 0;
}

Peer *peers_at(const Peers *ps, size_t i) {
        assert(ps);
        assert(i < ps->n);
        return ps->peers[i];
}

Peer *peers_find(const Peers *ps, uint16_t id) {
        if (!ps || id == 0)
                return NULL;
        for (size_t i = 0; i < ps->n; i++)
                if (ps->peers[i]->id == id)
                        return ps->peers[i];
        return NULL;
}

Peer *peers_find_name(const Peers *ps, const char *name) {
        if (!ps || !name)
                return NULL;
        for (size_t i = 0; i < ps->n; i++)
                if (strcmp(ps->peers[i]->name, name) == 0)
                        return ps->peers[i];
        return NULL;
}

bool peers_is_voter(const Peers *ps, uint16_t id) {
        Peer *p = peers_find(ps, id);

        return p && p->voter;
}

size_t peers_alive(const Peers *ps, bool voters_only) {
        size_t k = 0;

        for (size_t i = 0; ps && i < ps->n; i++)
                if ((ps->peers[i]->state == PEER_ALIVE || ps->peers[i]->state == PEER_SELF) &&
                    (!voters_only || ps->peers[i]->voter))
                        k++;
        return k;
}

int peers_queue(Peers *ps, uint16_t to, const PeerMsg *msg) {
        Peer *p = peers_find(ps, to);

        if (!p || !msg || to == ps->config.self)
                return -EINVAL;
        if (!p->address[0])
                return -EHOSTUNREACH;
        if (p->n_out >= WIRE_BATCH_MAX)
                return -ENOBUFS;
        if (p->n_out == p->allocated) {
                size_t n = p->allocated ? p->allocated * 2 : 16;
                PeerMsg *grown = reallocarray(p->outbox, n, sizeof *grown);

                if (!grown)
                        return -ENOMEM;
                p->outbox = grown;
                p->allocated = n;
        }
        p->outbox[p->n_out++] = *msg;
        return 0;
}

typedef struct SendContext {
        Peers *ps;
        uint64_t sent_at; /* node clock */
} SendContext;

static void on_sent(HttpClient *c, uint16_t host, const HttpClientResult *result, void *userdata) {
        Peers *ps = userdata;
        Peer *p = peers_find(ps, host);

        if (!p)
                return;
        /* A request cancelled by a change of address was already forgotten. */
        if (result->error == -ECANCELED)
                return;
        if (p->in_flight > 0)
                p->in_flight--;

        if (result->error < 0) {
                p->failures++;
                log_debug("Request to %s failed: %s", p->name, result->error_text ?: "unknown error");
                if (p->failures >= PEER_FAILURES_DEAD)
                        set_state(ps, p, PEER_DEAD);
                if (ps->config.on_reply)
                        ps->config.on_reply(ps, p, NULL, result->elapsed_usec, ps->config.userdata);
                return;
        }

        p->failures = 0;
        p->last_ok = p->last_contact = ps->config.now(ps->config.userdata);
        if (result->reply) {
                p->epoch = result->reply->header.epoch;
                p->initialised = result->reply->header.initialised;
                p->ready = result->reply->header.ready;
                p->seen_ready = p->seen_ready || p->ready;
        }
        set_state(ps, p, PEER_ALIVE);
        if (ps->config.on_reply)
                ps->config.on_reply(ps, p, result->reply, result->elapsed_usec, ps->config.userdata);
}

int peers_flush(Peers *ps, uint64_t now) {
        uint64_t h = ps->config.heartbeat_usec;
        int ret = 0;

        for (size_t i = 0; i < ps->n; i++) {
                Peer *p = ps->peers[i];
                NetError err = {};
                int r;

                if (p->id == ps->config.self || !p->address[0])
                        continue;

                /* No answer for 3H (while asking): dead. */
                if (p->state == PEER_ALIVE && p->last_ok > 0 && now > p->last_ok + 3 * h && p->in_flight > 0)
                        set_state(ps, p, PEER_DEAD);

                if (!ps->ping_all && p->n_out == 0 && p->last_sent > 0 && now < p->last_sent + h)
                        continue;
                /* A ping waits while a request is still on its way; messages always
                 * go, and the client's bounded queue caps what a dead peer costs. */
                if (!ps->ping_all && p->n_out == 0 && p->in_flight > 0)
                        continue;

                WireHeader hdr = ps->header;

                if (ps->init_for_seen && p->seen_ready)
                        hdr.initialised = true;
                r = http_client_send(ps->client, p->id, PEER_PATH, &hdr, p->outbox, p->n_out, h, on_sent, ps, &err);
                if (r < 0) {
                        log_warning_errno(r, "Cannot send %zu messages to %s: %s", p->n_out, p->name,
                                          err.text);
                        ret = r;
                } else
                        p->in_flight++;
                /* Sent or refused, the batch is gone: the core retries by its own timers. */
                p->n_out = 0;
                p->last_sent = now;
        }
        ps->ping_all = false;
        return ret;
}

void peers_set_init_for_seen(Peers *ps, bool b) {
        if (ps)
                ps->init_for_seen = b;
}

void peers_ping_all(Peers *ps) {
        if (ps)
                ps->ping_all = true;
}
