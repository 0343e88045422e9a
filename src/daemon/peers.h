/* SPDX-License-Identifier: MIT */
/* The node table: every member of the cluster, its liveness from request outcomes, and one outgoing batch per peer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/msg.h"
#include "daemon/conf.h"
#include "net/auth.h"
#include "net/wire.h"

typedef enum PeerState {
        PEER_UNKNOWN, /* not heard from yet */
        PEER_ALIVE,   /* its last request was answered within 3H */
        PEER_DEAD,    /* no answer for 3H, or several failures in a row */
        PEER_SELF,
        _PEER_STATE_MAX,
} PeerState;

typedef struct Peer {
        uint16_t id;
        char *name;
        char *address;         /* "" while no address is known: listed, never contacted */
        uint16_t port;
        bool voter;            /* a voter of the installed configuration */
        PeerState state;
        uint64_t last_ok;      /* node clock of the last answered request (0: never) */
        uint64_t last_sent;    /* node clock of the last request sent */
        unsigned failures;     /* consecutive failed requests */
        unsigned in_flight;    /* requests sent and not yet answered or failed */
        int initialised;       /* its last header's "init" flag: -1 not heard yet, 0, 1 */
        bool ready;            /* its last header's "ready" flag */
        bool seen_ready;       /* it said "ready" at least once: it had decided how to start */
        Epoch epoch;           /* the configuration epoch of its last header (n 0: not heard yet) */
        uint64_t last_contact; /* node clock of its last request or answer (0: never) */
        uint64_t config_pushed; /* node clock of the last configuration sent to it while it lagged */
        uint64_t config_warned; /* the epoch of its that was last logged as differing from ours */
        PeerMsg *outbox;
        size_t n_out, allocated;
} Peer;

typedef struct Peers Peers;

/* Called with the messages of a peer's answer (replies to what we sent), or NULL on failure. */
typedef void (*PeersReplyFunc)(Peers *ps, Peer *p, const WireBatch *reply, uint64_t elapsed_usec, void *userdata);
/* Called when a peer's liveness changes. */
typedef void (*PeersStateFunc)(Peers *ps, Peer *p, PeerState old, void *userdata);

typedef struct PeersConfig {
        sd_event *event;
        const AuthKey *key;
        uint64_t cluster_id;
        uint16_t self;
        uint64_t heartbeat_usec;  /* H: pings go to quiet peers every H, death after 3H */
        const char *tls_certificate, *tls_key, *tls_ca;
        PeersReplyFunc on_reply;
        PeersStateFunc on_state;
        uint64_t (*now)(void *userdata); /* the node clock */
        void *userdata;
} PeersConfig;

/* An empty table; the manager adds the members (self included) with peers_add(). */
int peers_new(const PeersConfig *config, Peers **ret);
Peers *peers_free(Peers *ps);

/*
 * Adds a member, or updates its name, address and role. An empty or NULL address
 * keeps the host listed but never contacted until one is known. Returns 1 if
 * something changed, 0 if not. Peer pointers stay valid until the peer is removed.
 */
int peers_add(Peers *ps, uint16_t id, const char *name, const char *address, uint16_t port, bool voter);

/* Drops a host that is no longer a member: its queued and pending requests end. -ENOENT. */
int peers_remove(Peers *ps, uint16_t id);

/* The header every batch this host sends carries. */
void peers_set_header(Peers *ps, const WireHeader *h);

/*
 * While set, batches to a peer seen ready say "initialised" even though the
 * header does not yet (the 2H after a bootstrap): only a newcomer of a forming
 * cluster may hear "not initialised"; a peer that had started before and comes
 * back without its store must learn that it lost its disk.
 */
void peers_set_init_for_seen(Peers *ps, bool b);

size_t peers_count(const Peers *ps);
Peer *peers_at(const Peers *ps, size_t i);
Peer *peers_find(const Peers *ps, uint16_t id);
Peer *peers_find_name(const Peers *ps, const char *name);
bool peers_is_voter(const Peers *ps, uint16_t id);
/* Peers (self included) alive now. */
size_t peers_alive(const Peers *ps, bool voters_only);

/* Queues msg for peer `to` (not self); sent by the next peers_flush(). */
int peers_queue(Peers *ps, uint16_t to, const PeerMsg *msg);

/*
 * Sends one batch to every peer with queued messages, and an empty one (a ping)
 * to every peer not contacted for H; marks peers dead after 3H without an answer.
 */
int peers_flush(Peers *ps, uint64_t now);

/* The next peers_flush() sends every peer a batch (a ping at least), even one
 * with a request under way: this host's header changed and they should know. */
void peers_ping_all(Peers *ps);

const char *peer_state_to_string(PeerState s);

/* Sorts and numbers a Peers= list: ret[i] is the id (1-based) of list[i]. */
void peers_assign_ids(const PeerConfig *list, size_t n, uint16_t *ret);
