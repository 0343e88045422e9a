/* SPDX-License-Identifier: MIT */
/* pesd's manager: builds the daemon, runs one loop turn per event, and carries out the core's actions. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/time-util.h"
#include "core/lease.h"
#include "core/quorum.h"
#include "daemon/manager.h"
#include "daemon/supervise.h"
#include "net/http-client.h"

#define PEER_PATH "/v1/peer/batch"
/* Lookup round ids carry this bit, so replies to them never reach a guard; the core
 * numbers its rounds incarnation·2³² + n, far below it, and the wire carries at most 2⁶³−1. */
#define LOOKUP_ROUND_BIT (UINT64_C(1) << 62)
#define LOOKUP_TIMEOUT_USEC (2 * USEC_PER_SEC)
/* How long a SIGTERM waits for held names to be released before exiting anyway. */
#define SHUTDOWN_GRACE_HEARTBEATS 3

typedef struct Loopback {
        PeerMsg msg;
        struct Loopback *next;
} Loopback;

/* Replies and sends that wait for the store's commit (DESIGN.md: synced before the reply leaves). */
typedef struct Waiting {
        Manager *manager;
        HttpPeerRequest *request; /* answered with .replies once synced (NULL: none) */
        uint16_t request_from;
        PeerMsg *replies;
        size_t n_replies, allocated_replies;
        PeerMsg *sends; /* other messages that waited for the sync */
        uint16_t *send_to;
        size_t n_sends, allocated_sends;
} Waiting;

/* A majority READ for Lookup. */
typedef struct LookupRound {
        Manager *manager;
        uint64_t round;
        char name[PES_NAME_MAX + 1];
        sd_bus_message *call;
        sd_event_source *timeout;
        unsigned answers;
        uint16_t answered[PES_VOTERS_MAX];
        PeerMsg best; /* the READ_REPLY with the highest (ba, seq) */
        struct LookupRound *next;
} LookupRound;

uint64_t manager_now(const Manager *m) {
        return now_unslewed();
}

static uint64_t peers_now(void *userdata) {
        return manager_now(userdata);
}

static uint64_t rng_next(void *userdata) {
        uint64_t v;

        /* getrandom() without flags blocks only before the kernel pool is
         * initialised at boot; afterwards it never fails for 8 bytes. */
        if (getrandom(&v, sizeof v, 0) != sizeof v)
                abort();
        return v;
}

static uint64_t fnv1a(const char *s, uint64_t h) {
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

uint64_t manager_cluster_id_of(const char *cluster_name) {
        return fnv1a(cluster_name, UINT64_C(0xcbf29ce484222325) ^ UINT64_C(0x7065732d636c7573));
}

uint64_t manager_random(void) {
        return rng_next(NULL);
}

const char *manager_host_name(const Manager *m, uint16_t id) {
        Peer *p = peers_find(m->peers, id);

        return p ? p->name : "unknown";
}

uint16_t manager_host_id(const Manager *m, const char *name) {
        Peer *p = peers_find_name(m->peers, name);

        return p ? p->id : PES_HOST_NONE;
}

static bool is_reply(MsgType t) {
        switch (t) {
        case MSG_READ_REPLY:
        case MSG_PROMISE:
        case MSG_ACCEPTED:
        case MSG_NACK:
        case MSG_NACK_CONFIG:
        case MSG_SCAN_REPLY:
        case MSG_SCAN_DONE:
        case MSG_CFG_PROMISE:
        case MSG_CFG_ACCEPTED:
        case MSG_CFG_COMMITTED:
                return true;
        default:
                return false;
        }
}

void manager_header_fill(const Manager *m, WireHeader *h) {
        *h = (WireHeader){
                .version = WIRE_PROTOCOL_VERSION,
                .cluster_id = m->cluster_id,
                .voters_hash = m->voters.epoch.hash,
                .from = m->self,
                .incarnation = m->incarnation,
                .epoch = m->voters.epoch,
                .initialised = m->initialised,
                .ready = m->ready,
                .has_node = true,
        };
        /* Every batch says where this host is, so members learn new hosts' addresses. */
        membership_advertised(m, &h->node);
}

/* ---- names, as this host sees them ---- */

bool manager_name_view(const Manager *m, const char *name, NameView *ret) {
        Acceptor *a = node_acceptor(m->node);
        const AcceptorEntry *e = a ? acceptor_lookup(a, name) : NULL;
        Guard *g = node_guard(m->node, name);
        uint64_t now = manager_now(m);

        if (!e && !g)
                return false;
        *ret = (NameView){ .name = e ? e->name : guard_name(g) };
        if (e && e->v.kind != VALUE_FREE) {
                ret->holder = e->v.holder;
                ret->kind = e->v.kind;
                ret->token = e->v.token;
                ret->remaining_usec = acceptor_entry_remaining(e, now);
        }
        if (g && guard_lease_valid(g, now)) {
                /* This host holds it: its own view is the freshest there is. */
                ret->holder = m->self;
                ret->kind = VALUE_LEASE;
                ret->token = guard_token(g);
                ret->remaining_usec = guard_valid(g) - now;
                ret->held_here = true;
        }
        return true;
}

static size_t names_held(const Manager *m) {
        size_t k = 0;
        uint64_t now = manager_now(m);

        for (size_t i = 0; i < node_n_guards(m->node); i++)
                if (guard_lease_valid(node_guard_at(m->node, i), now))
                        k++;
        return k;
}

static void update_status(Manager *m) {
        Acceptor *a = node_acceptor(m->node);
        char status[256];

        if (!m->member)
                snprintf(status, sizeof status, "not a member of cluster %s; pesctl join to rejoin",
                         m->cluster_name ?: "(unnamed)");
        else
                snprintf(status, sizeof status, "owner of %zu/%zu names, %s, %zu/%zu peers", names_held(m),
                         a ? acceptor_n_entries(a) : node_n_guards(m->node), m->quorate ? "quorate" : "not quorate",
                         peers_alive(m->peers, false), peers_count(m->peers));
        if (strcmp(status, m->status) == 0)
                return;
        memcpy(m->status, status, sizeof status);
        (void) sd_notifyf(false, "STATUS=%s", status);
}

static void update_quorate(Manager *m) {
        bool q = peers_alive(m->peers, true) >= voter_config_accept_quorum(&m->voters);

        if (q == m->quorate)
                return;
        m->quorate = q;
        log_info("%s", q ? "Quorate: a majority of voters answers." : "Not quorate: a majority of voters is not answering.");
        bus_api_emit_quorate_changed(m);
        supervise_ready(m);
}

/* Every alive host may campaign for a name held by bus clients; the rank only orders them. */
static void update_candidates(Manager *m, const char *name) {
        RankCandidate c[PES_HOST_MAX < 64 ? PES_HOST_MAX : 64];
        size_t n = 0;

        for (size_t i = 0; i < peers_count(m->peers) && n < ELEMENTSOF(c); i++) {
                Peer *p = peers_at(m->peers, i);

                if (p->state != PEER_DEAD)
                        c[n++] = (RankCandidate){ .host = p->id, .weight = 1 };
        }
        if (name) {
                (void) node_set_candidates(m->node, name, c, n);
                return;
        }
        /* Supervised units have their own eligible hosts and weights (supervise.c). */
        for (size_t i = 0; i < node_n_guards(m->node); i++)
                if (!supervise_find(m, guard_name(node_guard_at(m->node, i))))
                        (void) node_set_candidates(m->node, guard_name(node_guard_at(m->node, i)), c, n);
}

/* ---- bus holds ---- */

static BusHold *hold_find(Manager *m, const char *name, const char *client) {
        for (BusHold *h = m->holds; h; h = h->next)
                if (strcmp(h->name, name) == 0 && (!client || strcmp(h->client, client) == 0))
                        return h;
        return NULL;
}

static BusHold *hold_waiting(Manager *m, const char *name) {
        for (BusHold *h = m->holds; h; h = h->next)
                if (strcmp(h->name, name) == 0 && !h->held)
                        return h;
        return NULL;
}

static void hold_remove(Manager *m, BusHold *h) {
        for (BusHold **i = &m->holds; *i; i = &(*i)->next)
                if (*i == h) {
                        *i = h->next;
                        break;
                }
        sd_bus_message_unref(h->pending);
        free(h->name);
        free(h->client);
        free(h);
}

bool manager_client_waits(Manager *m, const char *name) {
        return hold_waiting(m, name) != NULL;
}

int manager_acquire_for_client(Manager *m, const char *name, sd_bus_message *call) {
        const char *client = sd_bus_message_get_sender(call);
        uint64_t now = manager_now(m);
        Guard *g;
        BusHold *h;
        int r;

        if (!client)
                return -EINVAL;
        if (hold_find(m, name, client))
                return -EBUSY;

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->name = strdup(name);
        h->client = strdup(client);
        if (!h->name || !h->client) {
                free(h->name);
                free(h->client);
                free(h);
                return -ENOMEM;
        }
        h->pending = sd_bus_message_ref(call);
        /* Appended at the end: waiters are served in the order they asked. */
        BusHold **tail = &m->holds;
        while (*tail)
                tail = &(*tail)->next;
        *tail = h;

        g = node_guard(m->node, name);
        if (!g) {
                r = node_supervise(m->node, name, NULL, now, &m->actions);
                if (r >= 0)
                        update_candidates(m, name);
        } else if (guard_state(g) == GUARD_IDLE)
                r = node_campaign(m->node, name, now, &m->actions);
        else
                r = 0; /* campaigning, holding for another client, or releasing */
        if (r < 0) {
                hold_remove(m, h);
                return r;
        }
        log_emit(LOG_INFO, 0, LOG_FIELDS("PES_NAME=%s"), "Client %s asks for %s.", client, name);
        return manager_flush(m);
}

/* The holder of a name let go: free it so that the next waiter (anywhere) gets it. */
static int hold_let_go(Manager *m, BusHold *h, const char *why) {
        uint64_t now = manager_now(m);
        char *name = strdup(h->name);
        bool was_held = h->held;
        int r = 0;

        if (!name)
                return -ENOMEM;
        if (h->pending)
                (void) sd_bus_reply_method_errorf(h->pending, "org.pes1.Error.NotHeld", "%s before %s was acquired.",
                                                  why, h->name);
        hold_remove(m, h);

        if (was_held || !hold_waiting(m, name))
                r = node_release(m->node, name, now, &m->actions);
        free(name);
        return r;
}

int manager_release_for_client(Manager *m, const char *name, const char *client) {
        BusHold *h = client ? hold_find(m, name, client) : NULL;
        int r;

        /* A caller without a hold of its own releases the one holding the name
         * here: an operator's `pesctl release NAME` (the holder is told, as on a
         * fence, and stops). */
        if (!h)
                for (h = m->holds; h; h = h->next)
                        if (h->held && strcmp(h->name, name) == 0)
                                break;
        if (!h)
                return -ENOENT;
        if (!client || strcmp(h->client, client) != 0)
                log_notice("%s releases %s held by %s.", client ?: "A client", name, h->client);
        r = hold_let_go(m, h, "Released");
        if (r < 0)
                return r;
        return manager_flush(m);
}

void manager_client_gone(Manager *m, const char *client) {
        bool any = false;

        for (BusHold *h = m->holds, *next; h; h = next) {
                next = h->next;
                if (strcmp(h->client, client) != 0)
                        continue;
                log_info("Client %s left the bus; releasing %s.", client, h->name);
                (void) hold_let_go(m, h, "Disconnected");
                any = true;
        }
        if (any)
                (void) manager_flush(m);
}

/* ---- what the core asks for ---- */

static void log_owner(int level, const char *name, uint64_t token, const char *owner, const char *format, ...)
        _printf_(5, 6);
static void log_owner(int level, const char *name, uint64_t token, const char *owner, const char *format, ...) {
        char f_name[PES_NAME_MAX + 16], f_token[48], f_owner[96], message[512];
        va_list ap;

        snprintf(f_name, sizeof f_name, "PES_NAME=%s", name);
        snprintf(f_token, sizeof f_token, "PES_TOKEN=%" PRIu64, token);
        snprintf(f_owner, sizeof f_owner, "PES_OWNER=%s", owner);
        va_start(ap, format);
        vsnprintf(message, sizeof message, format, ap);
        va_end(ap);
        log_emit(level, 0, LOG_FIELDS(f_name, f_token, f_owner), "%s", message);
}

/* START_UNIT for a name held by a bus client: the first waiter gets it. */
static void do_start(Manager *m, const Action *a) {
        BusHold *h = hold_waiting(m, a->name);
        int r;

        if (!h) {
                /* Nobody waits any more (the client left while we campaigned). */
                (void) node_release(m->node, a->name, manager_now(m), &m->actions);
                return;
        }
        h->held = true;
        h->token = a->start.token;
        r = sd_bus_reply_method_return(h->pending, "t", h->token);
        if (r < 0)
                log_warning_errno(r, "Cannot answer %s's Acquire of %s: %m", h->client, a->name);
        h->pending = sd_bus_message_unref(h->pending);
}

/* STOP_UNIT: a bus client cannot be stopped by us; it is told (OwnerChanged) and its hold ends. */
static void do_stop(Manager *m, const Action *a) {
        for (BusHold *h = m->holds, *next; h; h = next) {
                next = h->next;
                if (h->held && strcmp(h->name, a->name) == 0)
                        hold_remove(m, h);
        }
        bus_api_emit_owner_changed(m, a->name, PES_HOST_NONE, 0);
        (void) node_unit_stopped(m->node, a->name, manager_now(m), &m->actions);
        /* After a fence the guard would campaign again; without a local client
         * waiting there is nobody to hold the name for. */
        if (!hold_waiting(m, a->name))
                (void) node_release(m->node, a->name, manager_now(m), &m->actions);
}

static void do_notify(Manager *m, const Action *a) {
        const char *self = manager_host_name(m, m->self);

        switch (a->notify.kind) {
        case NOTIFY_ACQUIRED:
                m->metrics.acquired++;
                log_owner(LOG_INFO, a->name, a->notify.token, self, "Acquired %s with fencing token %" PRIu64 ".",
                          a->name, a->notify.token);
                bus_api_emit_owner_changed(m, a->name, m->self, a->notify.token);
                break;
        case NOTIFY_LOST:
                m->metrics.lost++;
                if (a->notify.reason == LOST_FENCED)
                        m->metrics.fenced++;
                log_owner(a->notify.reason == LOST_FENCED ? LOG_WARNING : LOG_INFO, a->name, a->notify.token,
                          self, "No longer holds %s (token %" PRIu64 "): %s.", a->name, a->notify.token,
                          lost_reason_to_string(a->notify.reason));
                break;
        case NOTIFY_OWNER:
                /* A release: a candidate here waiting out the old claim tries now. */
                if (a->notify.value_kind == VALUE_FREE)
                        (void) node_claim_cleared(m->node, a->name, manager_now(m));
                if (a->notify.holder != m->self)
                        bus_api_emit_owner_changed(m, a->name,
                                                   a->notify.value_kind == VALUE_LEASE ? a->notify.holder : PES_HOST_NONE,
                                                   a->notify.value_kind == VALUE_LEASE ? a->notify.token : 0);
                break;
        case NOTIFY_RELEASED:
                /* The name is free: a local client still waiting campaigns again. */
                if (hold_waiting(m, a->name))
                        (void) node_campaign(m->node, a->name, manager_now(m), &m->actions);
                break;
        case NOTIFY_CONFIG: {
                Peer *p = peers_find(m->peers, a->notify.from);

                /* Once per peer and epoch: during a change, the peers catch up one by one. */
                if (p && p->config_warned == a->notify.config.epoch.n)
                        break;
                if (p)
                        p->config_warned = a->notify.config.epoch.n;
                log_info("Host %s has another voter configuration than ours (its epoch %" PRIu64 ", ours %" PRIu64 ").",
                         manager_host_name(m, a->notify.from), a->notify.config.epoch.n, m->voters.epoch.n);
                break;
        }
        case NOTIFY_INSTALLED:
        case NOTIFY_CHANGE:
                membership_notify(m, a);
                update_candidates(m, NULL);
                supervise_update_candidates(m);
                update_quorate(m);
                break;
        default:
                break;
        }
}

static int waiting_add(PeerMsg **array, size_t *n, size_t *allocated, const PeerMsg *msg) {
        if (*n == *allocated) {
                size_t k = *allocated ? *allocated * 2 : 8;
                PeerMsg *grown = reallocarray(*array, k, sizeof *grown);

                if (!grown)
                        return -ENOMEM;
                *array = grown;
                *allocated = k;
        }
        (*array)[(*n)++] = *msg;
        return 0;
}

static void loopback_add(Manager *m, const PeerMsg *msg) {
        Loopback *l = calloc(1, sizeof *l);

        if (!l) {
                log_error("Out of memory; a message to self is lost (the core retries).");
                return;
        }
        l->msg = *msg;
        if (m->loop_tail)
                m->loop_tail->next = l;
        else
                m->loop_head = l;
        m->loop_tail = l;
        (void) sd_event_source_set_enabled(m->loop_source, SD_EVENT_ONESHOT);
}

static void send_now(Manager *m, uint16_t to, const PeerMsg *msg) {
        int r;

        metrics_count_send(&m->metrics, msg, &m->last_counted_round);
        if (to == m->self) {
                loopback_add(m, msg);
                return;
        }
        r = peers_queue(m->peers, to, msg);
        if (r < 0)
                log_debug_errno(r, "Cannot queue a message for host %u: %m", to);
}

static Waiting *waiting_new(Manager *m) {
        Waiting *w = calloc(1, sizeof *w);

        if (w)
                w->manager = m;
        return w;
}

void manager_send(Manager *m, uint16_t to, const PeerMsg *msg) {
        send_now(m, to, msg);
}

static void waiting_free(Waiting *w);
static inline void waiting_freep(Waiting **w) {
        waiting_free(*w);
}

static void waiting_free(Waiting *w) {
        if (!w)
                return;
        /* A request is answered exactly once: one still open here gets an error. */
        if (w->request)
                (void) http_peer_request_fail(w->request, -EIO);
        free(w->replies);
        free(w->sends);
        free(w->send_to);
        free(w);
}

static int waiting_add_send(Waiting *w, uint16_t to, const PeerMsg *msg) {
        if (w->n_sends == w->allocated_sends) {
                size_t k = w->allocated_sends ? w->allocated_sends * 2 : 8;
                PeerMsg *s = reallocarray(w->sends, k, sizeof *s);
                uint16_t *t;

                if (!s)
                        return -ENOMEM;
                w->sends = s;
                t = reallocarray(w->send_to, k, sizeof *t);
                if (!t)
                        return -ENOMEM;
                w->send_to = t;
                w->allocated_sends = k;
        }
        w->sends[w->n_sends] = *msg;
        w->send_to[w->n_sends++] = to;
        return 0;
}

static void answer_request(Manager *m, HttpPeerRequest *req, uint16_t to, const PeerMsg *replies, size_t n) {
        Peer *p = peers_find(m->peers, to);
        WireHeader h;
        NetError err = {};
        int r;

        manager_header_fill(m, &h);
        /* See peers_set_init_for_seen(): a peer seen ready is no newcomer. */
        if (m->init_timer && p && p->seen_ready)
                h.initialised = true;
        /* A peer behind on the configuration may miss hosts that joined since. */
        if (p && p->epoch.n < m->voters.epoch.n) {
                h.book = m->book;
                h.n_book = m->n_book;
        }
        for (size_t i = 0; i < n; i++)
                metrics_count_send(&m->metrics, &replies[i], &m->last_counted_round);
        r = http_peer_request_reply(req, &h, replies, n, &err);
        if (r < 0)
                log_warning_errno(r, "Cannot answer a peer request: %s", err.text);
}

/* Sends what waited for a sync; the request, if any, gets its answer. */
static void waiting_release(Manager *m, Waiting *w) {
        if (w->request) {
                answer_request(m, w->request, w->request_from, w->replies, w->n_replies);
                w->request = NULL;
        }
        for (size_t i = 0; i < w->n_sends; i++)
                send_now(m, w->send_to[i], &w->sends[i]);
        waiting_free(w);
}

static void rearm_timer(Manager *m);
static void maybe_finish_shutdown(Manager *m);

static void on_commit_done(Store *s, int error, void *userdata) {
        Waiting *w = userdata;
        Manager *m = w->manager;

        if (m->store_failed || error < 0) {
                /* Nothing that waited for a write goes out once one write was lost. */
                if (m->store_failed) {
                        waiting_free(w);
                        return;
                }
                m->store_failed = true;
                /* The core believes the state is durable; it is not. Replying now could
                 * break a promise after a restart, so stop: a restart reloads what is. */
                log_error_errno(error, "Cannot write the acceptor state to %s: %m; exiting.", m->config.state_dir);
                waiting_free(w);
                m->exit_code = error;
                (void) sd_event_exit(m->event, error);
                return;
        }
        log_debug("Synced; answering %s with %zu replies, sending %zu more.", w->request ? "a request" : "no request",
                  w->n_replies, w->n_sends);
        waiting_release(m, w);
        (void) peers_flush(m->peers, manager_now(m));
        rearm_timer(m);
}

int manager_flush(Manager *m) {
        _cleanup_(waiting_freep) Waiting *w = NULL;
        bool must_sync = false;
        int r;

        /* A handler below can end up here again (a systemd call that fails at once
         * reports a stop at once); the outer walk sees what it appended. */
        if (m->flushing)
                return 0;

        w = waiting_new(m);
        if (!w)
                return log_error_errno(ENOMEM, "Out of memory.");
        m->flushing = true;
        if (m->current_request) {
                w->request = m->current_request;
                w->request_from = m->current_from;
                m->current_request = NULL;
        }

        /* The handlers below may append actions (a bus client told to stop is
         * reported stopped at once), so walk by index over a growing list. */
        for (size_t i = 0; i < m->actions.n; i++) {
                Action a = m->actions.actions[i];
                Supervised *unit;

                switch (a.type) {
                case ACTION_SEND: {
                        bool wait = a.send.after_persist &&
                                    (store_has_staged(m->store) || store_pending(m->store) > 0);

                        if (w->request && a.send.to == m->current_from && is_reply(a.send.msg.type)) {
                                r = waiting_add(&w->replies, &w->n_replies, &w->allocated_replies, &a.send.msg);
                                must_sync = must_sync || wait;
                        } else if (wait) {
                                r = waiting_add_send(w, a.send.to, &a.send.msg);
                                must_sync = true;
                        } else if (a.send.msg.type == MSG_TAKE && supervise_hold_take(m, a.send.to, &a.send.msg)) {
                                r = 0;
                        } else {
                                send_now(m, a.send.to, &a.send.msg);
                                r = 0;
                        }
                        if (r < 0)
                                log_error_errno(r, "Out of memory; a message is dropped (the core retries).");
                        break;
                }
                case ACTION_PERSIST:
                        /* A renewal changes only seq and ea: DESIGN.md says seq alone is not written. */
                        if (!a.persist.seq_only) {
                                r = store_stage(m->store, a.name, &a.persist.bp, &a.persist.v);
                                if (r < 0)
                                        log_error_errno(r, "Cannot stage the state of %s: %m", a.name);
                        }
                        break;
                case ACTION_PERSIST_INIT:
                        r = store_stage_meta(m->store, "initialised", 1);
                        if (r < 0)
                                log_error_errno(r, "Cannot stage the initialised marker: %m");
                        break;
                case ACTION_PERSIST_CONFIG: {
                        StoreConfig sc = {
                                .installed = a.config.installed,
                                .bp = a.config.bp,
                                .ba = a.config.ba,
                                .accepted = a.config.accepted,
                        };

                        /* Like PERSIST: replies with after_persist wait for it. */
                        r = store_stage_config(m->store, &sc);
                        if (r < 0)
                                log_error_errno(r, "Cannot stage the voter configuration: %m");
                        break;
                }
                case ACTION_PERSIST_BALLOTS:
                        /* PREPAREs wait for it (after_persist): no ballot leaves unreserved. */
                        r = store_stage_meta(m->store, "ballot-reserve", a.ballots.reserve);
                        if (r < 0)
                                log_error_errno(r, "Cannot stage the ballot reserve: %m");
                        break;
                case ACTION_START_UNIT:
                        if ((unit = supervise_find(m, a.name)))
                                supervise_start(m, unit, &a);
                        else
                                do_start(m, &a);
                        break;
                case ACTION_STOP_UNIT:
                        if ((unit = supervise_find(m, a.name)))
                                supervise_stop(m, unit, &a);
                        else
                                do_stop(m, &a);
                        break;
                case ACTION_KILL_UNIT:
                        /* A bus client has no process of ours to kill; it was told at the stop. */
                        if ((unit = supervise_find(m, a.name)))
                                supervise_kill(m, unit, &a);
                        break;
                case ACTION_ARM_TIMER:
                        /* One timer follows node_next_deadline(); see rearm_timer(). */
                        break;
                case ACTION_NOTIFY:
                        do_notify(m, &a);
                        if ((unit = supervise_find(m, a.name)))
                                supervise_notify(m, unit, &a);
                        break;
                default:
                        break;
                }
        }
        action_list_clear(&m->actions);
        m->flushing = false;

        if (store_has_staged(m->store) || must_sync) {
                /* Commits complete in order, so an empty one still waits for every
                 * earlier write the sends depend on. */
                r = store_commit(m->store, on_commit_done, w);
                if (r < 0)
                        return log_error_errno(r, "Cannot hand writes to the store: %m");
                TAKE_PTR(w);
        } else
                waiting_release(m, TAKE_PTR(w));

        (void) peers_flush(m->peers, manager_now(m));
        rearm_timer(m);
        update_status(m);
        maybe_finish_shutdown(m);
        /* A leave waits for its names to move; it may go on now (and ask for more). */
        if (m->op && !m->in_membership_tick) {
                m->in_membership_tick = true;
                membership_tick(m);
                if (m->actions.n > 0 || store_has_staged(m->store))
                        (void) manager_flush(m);
                m->in_membership_tick = false;
        }
        return 0;
}

/* ---- majority reads for Lookup ---- */

static int value_compare(const RegValue *a, const RegValue *b) {
        if (a->ba.counter != b->ba.counter)
                return a->ba.counter < b->ba.counter ? -1 : 1;
        if (a->ba.host != b->ba.host)
                return a->ba.host < b->ba.host ? -1 : 1;
        if (a->seq != b->seq)
                return a->seq < b->seq ? -1 : 1;
        return 0;
}

static void lookup_free(Manager *m, LookupRound *l) {
        for (LookupRound **i = &m->lookups; *i; i = &(*i)->next)
                if (*i == l) {
                        *i = l->next;
                        break;
                }
        sd_event_source_disable_unref(l->timeout);
        sd_bus_message_unref(l->call);
        free(l);
}

static int on_lookup_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        LookupRound *l = userdata;
        Manager *m = l->manager;

        (void) sd_bus_reply_method_errorf(l->call, "org.pes1.Error.NoQuorum",
                                          "No majority of voters answered for '%s' (%u answered); try --local.",
                                          l->name, l->answers);
        lookup_free(m, l);
        return 0;
}

static void lookup_receive(Manager *m, const PeerMsg *msg) {
        LookupRound *l;
        const char *owner = "", *state;
        const RegValue *v;

        for (l = m->lookups; l; l = l->next)
                if (l->round == msg->round)
                        break;
        if (!l || msg->type != MSG_READ_REPLY || strcmp(l->name, msg->name) != 0)
                return;
        for (unsigned i = 0; i < l->answers; i++)
                if (l->answered[i] == msg->from)
                        return; /* a duplicate */
        if (l->answers >= ELEMENTSOF(l->answered))
                return;
        l->answered[l->answers++] = msg->from;
        if (l->answers == 1 || value_compare(&msg->value, &l->best.value) > 0)
                l->best = *msg;
        if (l->answers < voter_config_prepare_quorum(&m->voters))
                return;

        /* A majority answered: the highest (ba, seq) among them (DESIGN.md "Reads"). */
        v = &l->best.value;
        if (v->ba.counter == 0 && l->best.ballot.counter == 0) {
                (void) sd_bus_reply_method_errorf(l->call, "org.pes1.Error.NoSuchName", "No such name '%s'.",
                                                  l->name);
                lookup_free(m, l);
                return;
        }
        if (v->kind == VALUE_FREE)
                state = "free";
        else {
                owner = manager_host_name(m, v->holder);
                state = l->best.remaining_usec == 0 ? "expired" : v->kind == VALUE_LEASE ? "held" : "reserved";
        }
        (void) sd_bus_reply_method_return(l->call, "stst", owner, v->kind == VALUE_FREE ? 0 : v->token, state,
                                          l->best.remaining_usec);
        lookup_free(m, l);
}

int manager_lookup_quorum(Manager *m, const char *name, sd_bus_message *call) {
        LookupRound *l;
        int r;

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->manager = m;
        l->round = LOOKUP_ROUND_BIT | ++m->next_lookup;
        snprintf(l->name, sizeof l->name, "%s", name);
        l->call = sd_bus_message_ref(call);
        r = sd_event_add_time_relative(m->event, &l->timeout, CLOCK_MONOTONIC, LOOKUP_TIMEOUT_USEC, 0,
                                       on_lookup_timeout, l);
        if (r < 0) {
                sd_bus_message_unref(l->call);
                free(l);
                return r;
        }
        l->next = m->lookups;
        m->lookups = l;

        for (unsigned i = 0; i < m->voters.n_voters; i++) {
                PeerMsg msg = {
                        .type = MSG_READ,
                        .from = m->self,
                        .incarnation = m->incarnation,
                        .epoch = m->voters.epoch,
                        .round = l->round,
                };

                if (!voter_config_in_prepare_set(&m->voters, m->voters.voters[i]))
                        continue;
                snprintf(msg.name, sizeof msg.name, "%s", name);
                send_now(m, m->voters.voters[i], &msg);
        }
        r = manager_flush(m);
        return r < 0 ? r : 1;
}

/* ---- events ---- */

static void receive_one(Manager *m, const PeerMsg *msg, uint64_t now) {
        int r;

        metrics_count_receive(&m->metrics, msg);
        log_debug("From %s: %s '%s' round %" PRIu64 " ballot %" PRIu64 ".%u value %s/%u seq %" PRIu64 " remaining %" PRIu64,
                  manager_host_name(m, msg->from), wire_msg_type_to_string(msg->type), msg->name, msg->round,
                  msg->ballot.counter, msg->ballot.host, wire_value_kind_to_string(msg->value.kind),
                  msg->value.holder, msg->value.seq, msg->remaining_usec);
        if (msg->round & LOOKUP_ROUND_BIT && msg->type == MSG_READ_REPLY) {
                lookup_receive(m, msg);
                return;
        }
        r = node_receive(m->node, msg, now, &m->actions);
        if (r < 0)
                log_debug_errno(r, "Host %s sent a message the core refused (%s for '%s'): %m",
                                manager_host_name(m, msg->from), wire_msg_type_to_string(msg->type), msg->name);
}

static int on_initialised(sd_event_source *source, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        WireHeader h;

        m->init_timer = sd_event_source_disable_unref(m->init_timer);
        m->initialised = true;
        peers_set_init_for_seen(m->peers, false);
        manager_header_fill(m, &h);
        peers_set_header(m->peers, &h);
        return 0;
}

static void start_acceptor(Manager *m, AcceptorStart mode) {
        WireHeader h;
        int r;

        m->start_pending = false;
        /* A voter that just bootstrapped says so only after 2H: the other voters of a
         * forming cluster are deciding too, and one that heard "initialised" from it
         * first would take itself for a voter that lost its disk. */
        if (mode == ACCEPTOR_START_BOOTSTRAP) {
                (void) sd_event_add_time_relative(m->event, &m->init_timer, CLOCK_MONOTONIC, 2 * m->config.heartbeat,
                                                  0, on_initialised, m);
                peers_set_init_for_seen(m->peers, true);
        }
        else
                m->initialised = true;
        manager_header_fill(m, &h);
        peers_set_header(m->peers, &h);
        r = node_start(m->node, mode, manager_now(m), &m->actions);
        if (r < 0) {
                log_error_errno(r, "Cannot start the acceptor: %m");
                m->exit_code = r;
                (void) sd_event_exit(m->event, r);
                return;
        }
        supervise_ready(m);
}

/*
 * DESIGN.md "Bootstrap" and "Lost disk": a voter found without its store answers
 * nothing until it knows which it is. If any other voter says its cluster is
 * initialised, this one lost its disk and recovers from the others first; if
 * every other voter says it is not, the cluster is new and starts empty.
 */
static void decide_start(Manager *m) {
        size_t told = 0, others = 0;

        if (!m->start_pending)
                return;
        for (size_t i = 0; i < peers_count(m->peers); i++) {
                Peer *p = peers_at(m->peers, i);

                if (!p->voter || p->id == m->self)
                        continue;
                others++;
                if (p->initialised == 1) {
                        log_warning("This voter has no acceptor state, but %s says the cluster is initialised: "
                                    "recovering from the other voters (lost disk) before answering.", p->name);
                        start_acceptor(m, ACCEPTOR_START_LOST_DISK);
                        return;
                }
                if (p->initialised == 0)
                        told++;
        }
        if (told == others) {
                log_info("Every voter starts empty: initialising the cluster.");
                start_acceptor(m, ACCEPTOR_START_BOOTSTRAP);
        }
}

/* The installed configuration as a NACK_CONFIG for host `to`: "here is the configuration". */
static PeerMsg config_message(const Manager *m) {
        return (PeerMsg) {
                .type = MSG_NACK_CONFIG,
                .from = m->self,
                .incarnation = m->incarnation,
                .epoch = m->voters.epoch,
                .config = m->voters,
        };
}

static bool is_member(const VoterConfig *c, uint16_t id) {
        for (unsigned i = 0; i < c->n_members && i < PES_MEMBERS_MAX; i++)
                if (c->members[i] == id)
                        return true;
        return voter_config_index(c, id) >= 0;
}

static void on_peer_request(HttpPeerRequest *req, const WireBatch *batch, void *userdata) {
        Manager *m = userdata;
        const WireHeader *hd = &batch->header;
        uint64_t now = manager_now(m);
        Peer *p;

        if (hd->from == m->self) {
                (void) http_peer_request_fail(req, -EPERM);
                return;
        }
        /* DESIGN.md "Membership": a host that is not a member of the installed
         * configuration is not heard; unless it is ahead of us (it joined under an
         * epoch we have not installed yet), it is told the configuration, which is
         * how a removed host learns that it is out. */
        if (!is_member(&m->voters, hd->from) && hd->epoch.n <= m->voters.epoch.n) {
                WireHeader h;
                PeerMsg nack = config_message(m);
                NetError err = {};

                manager_header_fill(m, &h);
                log_debug("Host %u, not a member, sent a batch; answering with the configuration.", hd->from);
                if (http_peer_request_reply(req, &h, &nack, 1, &err) < 0)
                        log_warning("Cannot answer host %u: %s", hd->from, err.text);
                return;
        }
        membership_learn(m, hd);
        p = peers_find(m->peers, hd->from);
        if (p) {
                p->initialised = hd->initialised;
                p->ready = hd->ready;
                if (hd->ready)
                        p->seen_ready = true;
                p->epoch = hd->epoch;
                p->last_contact = now;
        }
        m->current_request = req;
        m->current_from = hd->from;
        for (size_t i = 0; i < batch->n_msgs; i++)
                receive_one(m, &batch->msgs[i], now);
        /* A batch with an older epoch (a ping too) gets the configuration in its reply. */
        if (hd->epoch.n < m->voters.epoch.n) {
                Action *a = action_list_append(&m->actions, ACTION_SEND, NULL);

                if (a) {
                        a->send.to = hd->from;
                        a->send.msg = config_message(m);
                }
        }
        (void) manager_flush(m);
        m->current_request = NULL;
        /* Decide only after answering: when a fresh cluster forms, the answer to a
         * newcomer's first request must still say "not initialised", or the
         * newcomer would take itself for a voter that lost its disk. */
        if (m->start_pending) {
                decide_start(m);
                (void) manager_flush(m);
        }
        if (batch->header.ready)
                supervise_ready(m);
}

static void on_peer_reply(Peers *ps, Peer *p, const WireBatch *reply, uint64_t elapsed_usec, void *userdata) {
        Manager *m = userdata;
        uint64_t now = manager_now(m);

        if (!reply) {
                m->metrics.peer_send_failures++;
                return;
        }
        metrics_observe_rtt(&m->metrics, elapsed_usec);
        membership_learn(m, &reply->header);
        decide_start(m);
        if (reply->header.ready)
                supervise_ready(m);
        for (size_t i = 0; i < reply->n_msgs; i++)
                receive_one(m, &reply->msgs[i], now);
        /* A peer behind on the configuration is sent it, once per heartbeat. */
        p = peers_find(ps, reply->header.from);
        if (p && reply->header.epoch.n < m->voters.epoch.n && now >= p->config_pushed + m->config.heartbeat) {
                PeerMsg msg = config_message(m);

                p->config_pushed = now;
                send_now(m, p->id, &msg);
        }
        if (m->actions.n > 0 || store_has_staged(m->store))
                (void) manager_flush(m);
}

static void on_peer_state(Peers *ps, Peer *p, PeerState old, void *userdata) {
        Manager *m = userdata;

        log_info("Host %s (%s:%u) is %s (was %s).", p->name, p->address, p->port, peer_state_to_string(p->state),
                 peer_state_to_string(old));
        bus_api_emit_node_changed(m, p->name, peer_state_to_string(p->state));
        update_candidates(m, NULL);
        supervise_update_candidates(m);
        update_quorate(m);
}

static int on_loopback(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        Loopback *list = m->loop_head;
        uint64_t now = manager_now(m);

        m->loop_head = m->loop_tail = NULL;
        while (list) {
                Loopback *l = list;

                list = l->next;
                receive_one(m, &l->msg, now);
                free(l);
        }
        (void) manager_flush(m);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t now = manager_now(m);

        if (node_next_deadline(m->node) <= now) {
                int r = node_tick(m->node, now, &m->actions);

                if (r < 0)
                        log_warning_errno(r, "The core's timers failed: %m");
        }
        (void) manager_flush(m);
        return 0;
}

/*
 * Arms the loop's one timer at the core's next deadline (and at least every H/2,
 * for pings and liveness). DESIGN.md "Fencing is only as good as its margins":
 * on CLOCK_BOOTTIME with 1 µs accuracy, at 0.9 of the remaining time, and
 * re-armed from the unslewed clock until the deadline is really due.
 */
static void rearm_timer(Manager *m) {
        uint64_t t = manager_now(m), deadline = node_next_deadline(m->node), remaining, at;
        uint64_t tick = m->config.heartbeat / 2;

        if (deadline == UINT64_MAX || deadline > t + tick)
                deadline = t + tick;
        remaining = deadline > t ? deadline - t : 0;
        at = now(CLOCK_BOOTTIME) + (remaining > 2 * USEC_PER_MSEC ? remaining / 10 * 9 : remaining);
        (void) sd_event_source_set_time(m->timer, at);
        (void) sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
}

static bool all_released(Manager *m) {
        for (size_t i = 0; i < node_n_guards(m->node); i++) {
                GuardState st = guard_state(node_guard_at(m->node, i));

                if (st != GUARD_IDLE && st != GUARD_WAITING)
                        return false;
        }
        return store_pending(m->store) == 0;
}

static void maybe_finish_shutdown(Manager *m) {
        if (m->stopping && all_released(m))
                (void) sd_event_exit(m->event, 0);
}

static int on_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("Not every name was released in time; exiting anyway (others wait out the lease).");
        (void) sd_event_exit(m->event, 0);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        uint64_t now = manager_now(m);

        if (m->stopping)
                return 0;
        m->stopping = true;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Releasing every name before exit.");
        log_info("Signal %s: releasing every name, then exiting.", strsignal((int) si->ssi_signo));

        /* Waiting clients get an answer; held names are released so others take
         * over at once instead of waiting out the lease (DESIGN.md "Release"). */
        for (BusHold *h = m->holds, *next; h; h = next) {
                next = h->next;
                if (h->pending)
                        (void) sd_bus_reply_method_errorf(h->pending, "org.pes1.Error.Stopping", "pesd is shutting down.");
                hold_remove(m, h);
        }
        for (size_t i = 0; i < node_n_guards(m->node); i++)
                (void) node_release(m->node, guard_name(node_guard_at(m->node, i)), now, &m->actions);

        (void) sd_event_add_time_relative(m->event, &m->shutdown_timer, CLOCK_MONOTONIC,
                                          SHUTDOWN_GRACE_HEARTBEATS * m->config.heartbeat, 0, on_shutdown_timeout, m);
        (void) manager_flush(m);
        return 0;
}

/* ---- construction ---- */

static int load_one(const char *name, const Ballot *bp, const RegValue *v, void *userdata) {
        Manager *m = userdata;

        return node_acceptor_load(m->node, name, bp, v);
}

static int setup_key(Manager *m) {
        NetError err = {};
        int r;

        if (m->config.key_file) {
                r = auth_key_load(m->config.key_file, &m->key, &err);
                if (r < 0)
                        return log_error_errno(r, "%s", err.text);
                return 0;
        }
        /* A one-node cluster talks only to itself: a key nobody else knows will do. */
        if (getrandom(m->key.bytes, sizeof m->key.bytes, 0) != (ssize_t) sizeof m->key.bytes)
                return log_error_errno(errno, "Cannot make a key: %m");
        return 0;
}

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int setup_store(Manager *m) {
        uint64_t incarnation = 0;
        bool existed;
        int r;

        r = mkdir_p(m->config.state_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Cannot create %s: %m", m->config.state_dir);
        r = store_open(m->config.state_dir, m->event, &m->store, &existed);
        if (r < 0)
                return log_error_errno(r, "Cannot open the store in %s: %m", m->config.state_dir);
        m->store_existed = existed;

        /* Every start is a new incarnation, durable before anything is sent. */
        r = store_get_meta(m->store, "incarnation", &incarnation);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Cannot read the incarnation: %m");
        m->incarnation = incarnation + 1;
        r = store_put_meta_sync(m->store, "incarnation", m->incarnation);
        if (r < 0)
                return log_error_errno(r, "Cannot write the incarnation: %m");
        return 0;
}

static int setup_node(Manager *m, AcceptorStart *ret_mode) {
        uint64_t initialised = 0, reserve = 0;
        StoreConfig stored;
        int r;

        r = store_get_meta(m->store, "initialised", &initialised);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Cannot read the initialised marker: %m");

        CoreRng rng = { .next = rng_next };
        r = node_new(m->self, m->incarnation, &m->voters, &rng, &m->node);
        if (r < 0)
                return log_error_errno(r, "Cannot create the consensus node: %m");
        /* DESIGN.md "Identity": new ballots start above every one an earlier life sent. */
        r = store_get_meta(m->store, "ballot-reserve", &reserve);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Cannot read the ballot reserve: %m");
        if (r >= 0)
                node_set_ballot_floor(m->node, reserve);
        /* The voter-configuration register as last written (ACTION_PERSIST_CONFIG). */
        r = store_get_config(m->store, &stored);
        if (r >= 0) {
                r = node_config_load(m->node, &stored.installed, &stored.bp, &stored.ba, &stored.accepted);
                if (r < 0)
                        return log_error_errno(r, "Cannot load the stored voter configuration: %m");
        } else if (r != -ENOENT)
                return log_error_errno(r, "Cannot read the stored voter configuration: %m");
        r = store_load(m->store, load_one, m);
        if (r < 0)
                return log_error_errno(r, "Cannot load the acceptor state from %s: %m", m->config.state_dir);

        /* A store with the marker is a restart; a lone voter has nobody to ask;
         * otherwise decide_start() waits for the other voters' word. */
        if (m->store_existed && initialised)
                *ret_mode = ACCEPTOR_START_RESTART;
        else if (m->voters.n_voters == 1 || voter_config_index(&m->voters, m->self) < 0)
                /* A lone voter has nobody to ask; a candidate that is no voter keeps
                 * no acceptor state at all, so there is nothing to recover. */
                *ret_mode = ACCEPTOR_START_BOOTSTRAP;
        else {
                *ret_mode = _ACCEPTOR_START_MAX;
                m->start_pending = true;
        }
        m->initialised = *ret_mode == ACCEPTOR_START_RESTART;
        return 0;
}

static int setup_network(Manager *m) {
        HttpServerConfig sc = HTTP_SERVER_CONFIG_INIT;
        PeersConfig pc = {
                .event = m->event,
                .key = &m->key,
                .self = m->self,
                .heartbeat_usec = m->config.heartbeat,
                .tls_certificate = m->config.tls_certificate,
                .tls_key = m->config.tls_key,
                .tls_ca = m->config.tls_ca,
                .on_reply = on_peer_reply,
                .on_state = on_peer_state,
                .now = peers_now,
                .userdata = m,
        };
        NetError err = {};
        WireHeader h;
        int r;

        sc.address = m->config.listen_address;
        sc.port = m->config.listen_port;
        sc.key = &m->key;
        sc.cluster_id = m->cluster_id;
        sc.tls_cert_file = m->config.tls_certificate;
        sc.tls_key_file = m->config.tls_key;
        sc.tls_ca_file = m->config.tls_ca;
        r = http_server_new(&m->server, m->event, &sc, &err);
        if (r < 0)
                return log_error_errno(r, "Cannot listen on %s:%u: %s", m->config.listen_address,
                                       m->config.listen_port, err.text);
        r = http_server_add_peer_route(m->server, PEER_PATH, on_peer_request, m);
        if (r < 0)
                return log_error_errno(r, "Cannot serve %s: %m", PEER_PATH);
        r = membership_join_route(m);
        if (r < 0)
                return log_error_errno(r, "Cannot serve joins: %m");
        r = http_api_setup(m);
        if (r < 0)
                return r;

        pc.cluster_id = m->cluster_id;
        r = peers_new(&pc, &m->peers);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the peers: %m");
        r = membership_setup_peers(m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the peers: %m");
        manager_header_fill(m, &h);
        peers_set_header(m->peers, &h);
        return 0;
}

/* Everything that follows from the store: identity, node, network. Run at start and after a join. */
static int setup_state(Manager *m, AcceptorStart *ret_mode) {
        int r;

        r = setup_store(m);
        if (r < 0)
                return r;
        r = membership_setup(m);
        if (r < 0)
                return r;
        r = setup_node(m, ret_mode);
        if (r < 0)
                return r;

        r = sd_event_add_defer(m->event, &m->loop_source, on_loopback, m);
        if (r < 0)
                return log_error_errno(r, "Cannot create the loopback source: %m");
        (void) sd_event_source_set_enabled(m->loop_source, SD_EVENT_OFF);
        r = sd_event_add_time(m->event, &m->timer, CLOCK_BOOTTIME, USEC_INFINITY, 1, on_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot create the timer: %m");

        r = setup_network(m);
        if (r < 0)
                return r;
        if (!m->start_pending) {
                r = node_start(m->node, *ret_mode, manager_now(m), &m->actions);
                if (r < 0)
                        return log_error_errno(r, "Cannot start the acceptor: %m");
                m->initialised = true;
        } else
                log_info("No acceptor state here: asking the other voters whether the cluster is new or this disk was lost.");
        update_quorate(m);
        return 0;
}

static void log_started(Manager *m, AcceptorStart mode) {
        log_info("pes node %s (id %u, incarnation %" PRIu64 ") of cluster %s with %zu member(s), listening on %s:%u; %s.",
                 m->config.node_name, m->self, m->incarnation, m->cluster_name ?: "(unnamed)", peers_count(m->peers),
                 m->config.listen_address, m->config.listen_port,
                 mode == ACCEPTOR_START_RESTART ? "acceptor state reloaded" :
                 m->start_pending                 ? "no acceptor state yet" : "new acceptor state");
        if (!m->member)
                log_notice("This host is not a member of cluster %s (it left); pesctl join HOST:PORT to rejoin.",
                           m->cluster_name ?: "(unnamed)");
}

/* Units are declared (and campaign) only while this host is a member. */
static int setup_units(Manager *m) {
        if (!m->member)
                return 0;
        return supervise_setup(m);
}

int manager_new(PesConfig *c, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        AcceptorStart mode = ACCEPTOR_START_BOOTSTRAP;
        sigset_t mask;
        int r;

        assert(c);
        assert(ret);

        m = calloc(1, sizeof *m);
        if (!m)
                return log_error_errno(ENOMEM, "Out of memory.");
        m->config = *c;
        *c = (PesConfig){};
        action_list_init(&m->actions);

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");
        /* Pings systemd's watchdog from the loop when WatchdogSec= is set. */
        (void) sd_event_set_watchdog(m->event, true);
        {
                uint64_t wd = 0;

                /* DESIGN.md "Fencing is only as good as its margins": a hang just before a
                 * fence deadline must end within δ, so WatchdogSec= must not exceed it. */
                if (sd_watchdog_enabled(false, &wd) > 0 && wd > m->config.max_pause)
                        log_warning("WatchdogSec= (%" PRIu64 " ms) is above MaxPauseSec= (%" PRIu64
                                    " ms): a hang of pesd could delay a fence past its margin; lower WatchdogSec=.",
                                    wd / USEC_PER_MSEC, (uint64_t) m->config.max_pause / USEC_PER_MSEC);
        }

        r = setup_key(m);
        if (r < 0)
                return r;
        r = setup_state(m, &mode);
        if (r < 0)
                return r;
        r = bus_api_setup(m);
        if (r < 0)
                return r;
        r = setup_units(m);
        if (r < 0)
                return r;

        log_started(m, mode);
        *ret = TAKE_PTR(m);
        return 0;
}

/* Drops everything setup_state() and setup_units() built; the loop, the bus and the key stay. */
static void teardown_state(Manager *m) {
        /* The store first: it waits for its writer and reports what waited for it,
         * and answering needs everything else still there. */
        m->store = store_free(m->store);

        while (m->lookups)
                lookup_free(m, m->lookups);
        while (m->holds) {
                if (m->holds->pending)
                        (void) sd_bus_reply_method_errorf(m->holds->pending, "org.pes1.Error.Stopping",
                                                          "pesd's state is being rebuilt.");
                hold_remove(m, m->holds);
        }
        while (m->loop_head) {
                Loopback *l = m->loop_head;

                m->loop_head = l->next;
                free(l);
        }
        m->loop_tail = NULL;
        m->loop_source = sd_event_source_disable_unref(m->loop_source);
        m->timer = sd_event_source_disable_unref(m->timer);
        m->shutdown_timer = sd_event_source_disable_unref(m->shutdown_timer);
        m->ready_grace = sd_event_source_disable_unref(m->ready_grace);
        m->init_timer = sd_event_source_disable_unref(m->init_timer);
        supervise_done(m);
        m->server = http_server_free(m->server);
        m->peers = peers_free(m->peers);
        m->node = node_free(m->node);
        action_list_clear(&m->actions);
}

int manager_restart(Manager *m) {
        AcceptorStart mode = ACCEPTOR_START_BOOTSTRAP;
        int r;

        /* DESIGN.md "Membership": a host that joined takes on the cluster's identity.
         * Rather than stop, the manager rebuilds its state from the store in place:
         * the process, its bus name and its watchdog stay. */
        m->restarting = true;
        teardown_state(m);
        m->store_failed = m->flushing = m->initialised = m->start_pending = false;
        m->ready = m->ready_grace_over = m->units_loaded = m->campaigns_deferred = false;
        m->units_checking = 0;
        m->gate_in_flight = 0;
        m->reload_running = false;
        m->quorate = false;
        m->current_request = NULL;
        m->current_waiting = NULL;
        m->status[0] = 0;

        r = setup_state(m, &mode);
        if (r >= 0)
                r = setup_units(m);
        m->restarting = false;
        if (r < 0)
                return r;
        log_started(m, mode);
        bus_api_emit_quorate_changed(m);
        return manager_flush(m);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        membership_teardown(m);
        teardown_state(m);
        sd_bus_flush_close_unref(m->bus);
        free(m->book);
        free(m->cluster_name);
        action_list_done(&m->actions);
        config_done(&m->config);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_run(Manager *m) {
        int r;

        r = manager_flush(m);
        if (r < 0)
                return r;
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", m->status);
        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "The event loop failed: %m");
        return m->exit_code < 0 ? m->exit_code : r;
}
