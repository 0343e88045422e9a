/* SPDX-License-Identifier: MIT */
/* pesd's context: the event loop, the core node, the store, the peers, the bus, and what joins them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "core/action.h"
#include "core/node.h"
#include "daemon/conf.h"
#include "daemon/metrics.h"
#include "daemon/peers.h"
#include "daemon/store.h"
#include "net/auth.h"
#include "net/http-server.h"

/* A bus client waiting for or holding a name (DESIGN.md "Acquire/Release for any bus client"). */
typedef struct BusHold {
        char *name;
        char *client;             /* the client's unique bus name, ":1.42" */
        sd_bus_message *pending;  /* the Acquire call, answered once the name is held */
        bool held;
        uint64_t token;
        struct BusHold *next;
} BusHold;

/* What this host knows of a name, for Lookup, ListNames and the HTTP read side. */
typedef struct NameView {
        const char *name;
        uint16_t holder; /* PES_HOST_NONE: free or unknown */
        ValueKind kind;
        uint64_t token;
        uint64_t remaining_usec;
        bool held_here;
} NameView;

typedef struct Manager {
        PesConfig config;
        sd_event *event;
        sd_bus *bus;
        sd_event_source *timer;        /* the core's next deadline, on CLOCK_BOOTTIME */
        sd_event_source *watchdog_hint;

        Store *store;
        Node *node;
        ActionList actions;            /* what the current loop turn asked for */
        uint16_t self;
        uint64_t incarnation;
        uint64_t cluster_id;
        VoterConfig voters;            /* the installed (chosen) configuration */

        /* Membership (membership.c). */
        WireNode *book;                /* the address book: every member's name and address, by id */
        size_t n_book;
        char *cluster_name;            /* Name=, or the name of the cluster this host joined */
        bool member;                   /* this host is a member of the installed configuration */
        bool joined;                   /* the identity comes from a join, not from Peers= */
        struct MemberOp *op;           /* the membership operation this host runs, if any */
        struct HttpClient *join_client;
        bool restarting;               /* the state is being rebuilt after a join */
        bool in_membership_tick;
        bool store_existed;            /* the store was there before this start */

        AuthKey key;
        HttpServer *server;
        Peers *peers;

        BusHold *holds;
        struct Supervised *units;      /* supervised systemd units (supervise.c) */
        struct SystemdClient *systemd;
        sd_event_source *reload_timer; /* one daemon-reload for a burst of drop-ins */
        bool reload_running;
        uint64_t reloads_started;
        struct HttpClient *probe_client;  /* HealthURL= probes, made when first needed */
        unsigned gate_in_flight;       /* systemd operations under way (supervise.c) */
        struct GateOp *gate_urgent, *gate_normal;
        bool quorate;
        bool store_failed;
        bool flushing;                 /* manager_flush() is walking the actions */             /* a commit failed: nothing waiting on writes leaves */
        bool initialised;              /* this host belongs to an initialised cluster */
        bool start_pending;            /* no store: waiting to learn bootstrap or lost disk */
        bool ready;                    /* serving, and the declared units are checked (latched) */
        bool ready_grace_over;         /* waited long enough for peers that are not ready */
        bool units_loaded;             /* supervise_setup() has declared the units.d files */
        bool campaigns_deferred;       /* some unit waits for readiness to campaign */
        unsigned units_checking;       /* units still being checked with systemd */
        sd_event_source *ready_grace;
        sd_event_source *init_timer;   /* announces "initialised" 2H after a bootstrap */
        bool stopping;                 /* SIGTERM seen: releasing, then exit */
        Metrics metrics;

        /* Messages to self, delivered on the next loop turn (never recursively). */
        struct Loopback *loop_head, *loop_tail;
        sd_event_source *loop_source;
        /* The peer request being handled: its replies ride in its HTTP answer. */
        HttpPeerRequest *current_request;
        uint16_t current_from;
        struct Waiting *current_waiting;
        /* Majority READs of Lookup in flight. */
        struct LookupRound *lookups;
        uint64_t next_lookup;
        uint64_t last_counted_round;
        sd_event_source *shutdown_timer;
        char status[256];
        int exit_code;
} Manager;

/* Builds everything from c (taken over: the manager frees it) without starting the loop. */
int manager_new(PesConfig *c, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Runs until SIGTERM/SIGINT (after releasing every held name) or a fatal error. */
int manager_run(Manager *m);

/* The node clock: elapsed time on the unslewed clock (DESIGN.md "Time source"). */
uint64_t manager_now(const Manager *m);

/* The header every batch this host sends or answers with carries. */
void manager_header_fill(const Manager *m, WireHeader *h);

/* Sends msg to host `to` (or loops it back) with the next flush of the peers. */
void manager_send(Manager *m, uint16_t to, const PeerMsg *msg);

/* Carries out m->actions (the end of every loop turn), then re-arms the timer. */
int manager_flush(Manager *m);

/* Host names and ids. */
const char *manager_host_name(const Manager *m, uint16_t id);
uint16_t manager_host_id(const Manager *m, const char *name);

/* The local view of name; false if this host never heard of it. */
bool manager_name_view(const Manager *m, const char *name, NameView *ret);

/* A majority READ of name answering call (Lookup without the local flag). */
int manager_lookup_quorum(Manager *m, const char *name, sd_bus_message *call);

/* Bus holds (bus-api.c drives them). */
int manager_acquire_for_client(Manager *m, const char *name, sd_bus_message *call);
int manager_release_for_client(Manager *m, const char *name, const char *client);
void manager_client_gone(Manager *m, const char *client);
/* Whether a bus client here waits for name (it would take the name in a handoff). */
bool manager_client_waits(Manager *m, const char *name);

/*
 * Membership changes (DESIGN.md "Membership"). Each starts an operation and
 * returns 0, or a negative errno at once (with *error, if not NULL, set to a
 * message for the operator). After a 0 return, done runs exactly once when the
 * operation ends (never after a negative return):
 * error 0 or a negative errno, host the host concerned (for manager_join(): the
 * id this host got), message NULL or a sentence for the operator.
 */
typedef void (*ManagerDoneFunc)(Manager *m, int error, uint16_t host, const char *message, void *userdata);

/*
 * `pesctl join HOST:PORT` on a host that is not yet part of a cluster with other
 * members: asks the member at address_port (key check of the transport) to add
 * this host as a candidate, then takes on the cluster's identity, configuration
 * and address book, persists them and restarts its own state in place.
 */
int manager_join(Manager *m, const char *address_port, ManagerDoneFunc done, void *userdata, char **error);

/*
 * `pesctl leave [HOST]`. host == self (or PES_HOST_NONE): hand off or release
 * every unit this host owns, then remove it from the members. Another host: only
 * if it is dead (it is removed at once; its leases lapse as usual). A voter must
 * first be removed with manager_voter_change(CHANGE_REMOVE_VOTER).
 */
int manager_leave(Manager *m, uint16_t host, ManagerDoneFunc done, void *userdata, char **error);

/* `pesctl voters add|remove HOST`, `pesctl voters resume|rollback`. */
int manager_voter_change(Manager *m, ConfigChangeKind kind, uint16_t host, ManagerDoneFunc done,
                         void *userdata, char **error);

/*
 * What ListNodes shows (bus-api.c reads it): every member of the installed
 * configuration is in m->peers with its name, id, address ("" while unknown),
 * liveness (Peer.state: alive, dead, unknown, self), last contact (Peer.last_ok,
 * node clock) and the epoch of its last header (Peer.epoch; n 0 when not heard
 * yet; this host's own is m->voters.epoch). The role comes from the installed
 * configuration: "voter", "candidate", and for the host being changed while the
 * configuration is ACCEPT_WIDENED, "voter (joining)" or "voter (leaving)".
 * NodeChanged is emitted with the states "joined", "left", "voter", "candidate"
 * and the liveness names when any of these change.
 */

/* The cluster id a Name= gives; a random 64-bit number; the state rebuilt in place (after a join). */
uint64_t manager_cluster_id_of(const char *cluster_name);
uint64_t manager_random(void);
int manager_restart(Manager *m);

/* Membership (membership.c), called by the manager. */
int membership_setup(Manager *m);                 /* identity: stored configuration, book */
int membership_setup_peers(Manager *m);           /* the peers table from the configuration and book */
void membership_teardown(Manager *m);
void membership_learn(Manager *m, const WireHeader *h); /* "node"/"book" entries of a header */
void membership_notify(Manager *m, const Action *a);    /* NOTIFY_INSTALLED, NOTIFY_CHANGE */
void membership_advertised(const Manager *m, WireNode *ret); /* this host's own entry */
int membership_join_route(Manager *m);
void membership_tick(Manager *m);                 /* a leave waiting for its names to move */

/* D-Bus side (bus-api.c). */
int bus_api_setup(Manager *m);
void bus_api_emit_owner_changed(Manager *m, const char *name, uint16_t owner, uint64_t token);
void bus_api_emit_node_changed(Manager *m, const char *node, const char *state);
void bus_api_emit_quorate_changed(Manager *m);

/* HTTP read side and metrics (http-api.c). */
int http_api_setup(Manager *m);
