/* SPDX-License-Identifier: MIT */
/* Membership at run time: the address book, joins, leaves and voter changes (DESIGN.md "Membership"). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "basic/time-util.h"
#include "core/quorum.h"
#include "core/rank.h"
#include "daemon/manager.h"
#include "daemon/supervise.h"
#include "net/http-client.h"

#define JOIN_PATH "/v1/join"
/* A member asks another to remove it (the core never drives its own removal). */
#define LEAVE_PATH "/v1/leave"
#define JOIN_TIMEOUT_USEC (30 * USEC_PER_SEC)
#define BOOK_NAME_SUFFIX_MAX 8

/* The membership operation this host runs: one at a time. */
typedef struct MemberOp {
        ConfigChangeKind kind;
        uint16_t host;
        ManagerDoneFunc done;       /* NULL for a join served for another host */
        void *userdata;
        HttpPeerRequest *request;   /* a join served: answered once the change ends */
        WireNode joiner;            /* its name and advertised address */
        bool joining;               /* manager_join(): waiting for the member's answer */
        char *join_address;         /* the member asked, for messages */
        uint16_t join_id;           /* the id the cluster gave this host */
        bool handing_off;           /* manager_leave(self): waiting for this host's names to move */
        struct LeaveProbe *probes;  /* manager_leave(self): who supervises each name held here */
        size_t n_probes, probes_pending;
        uint64_t serial;            /* tells a late probe answer from this operation's */
        bool asking;                /* manager_leave(self): another member was asked to remove us */
        bool change_started;        /* node_config_change() was called */
        uint64_t deadline;          /* node clock: the hand-off gives up then */
        sd_event_source *restart;   /* the rebuild after a join, from its own loop turn */
} MemberOp;

static bool cfg_is_voter(const VoterConfig *c, uint16_t id) {
        return voter_config_index(c, id) >= 0;
}

/* ---- the address book ---- */

static WireNode *book_find(const Manager *m, uint16_t id) {
        for (size_t i = 0; i < m->n_book; i++)
                if (m->book[i].id == id)
                        return &m->book[i];
        return NULL;
}

static WireNode *book_find_name(const Manager *m, const char *name) {
        for (size_t i = 0; i < m->n_book; i++)
                if (strcmp(m->book[i].name, name) == 0)
                        return &m->book[i];
        return NULL;
}

static bool node_equal(const WireNode *a, const WireNode *b) {
        return a->id == b->id && a->port == b->port && strcmp(a->name, b->name) == 0 &&
               strcmp(a->address, b->address) == 0;
}

/* Puts e into the book (sorted by id), staged for the next commit. 1 if it changed. */
static int book_put(Manager *m, const WireNode *e) {
        WireNode *old = book_find(m, e->id);
        size_t i;

        if (old) {
                if (node_equal(old, e))
                        return 0;
                *old = *e;
        } else {
                WireNode *a = reallocarray(m->book, m->n_book + 1, sizeof *a);

                if (!a)
                        return -ENOMEM;
                m->book = a;
                for (i = m->n_book; i > 0 && m->book[i - 1].id > e->id; i--)
                        m->book[i] = m->book[i - 1];
                m->book[i] = *e;
                m->n_book++;
        }
        if (m->store)
                (void) store_stage_book(m->store, m->book, m->n_book);
        return 1;
}

static void book_remove(Manager *m, uint16_t id) {
        WireNode *e = book_find(m, id);
        size_t i;

        if (!e)
                return;
        i = (size_t) (e - m->book);
        memmove(m->book + i, m->book + i + 1, (m->n_book - i - 1) * sizeof *m->book);
        m->n_book--;
        if (m->store)
                (void) store_stage_book(m->store, m->book, m->n_book);
}

void membership_advertised(const Manager *m, WireNode *ret) {
        const char *address = m->config.listen_address;

        *ret = (WireNode) { .id = m->self, .port = m->config.listen_port };
        snprintf(ret->name, sizeof ret->name, "%s", m->config.node_name);
        /* A wildcard listener is reached at the address Peers= gives this host. */
        if (!address || !address[0] || strcmp(address, "0.0.0.0") == 0 || strcmp(address, "::") == 0) {
                int i = config_self_index(&m->config);

                address = i >= 0 ? m->config.peers[i].address : "127.0.0.1";
        }
        snprintf(ret->address, sizeof ret->address, "%s", address);
}

/* The member's entry into the peers table (listed without an address until one is known). */
static int peer_update(Manager *m, uint16_t id) {
        WireNode *e = book_find(m, id);
        char name[WIRE_NODE_NAME_MAX + 1];

        if (id == m->self) {
                WireNode self;

                membership_advertised(m, &self);
                return peers_add(m->peers, id, self.name, self.address, self.port, cfg_is_voter(&m->voters, id));
        }
        if (!e)
                snprintf(name, sizeof name, "host-%u", id);
        return peers_add(m->peers, id, e ? e->name : name, e ? e->address : NULL, e ? e->port : 0,
                         cfg_is_voter(&m->voters, id));
}

void membership_learn(Manager *m, const WireHeader *h) {
        /* Entries are taken only for members of the installed configuration: a stranger
         * with the key cannot point a member's traffic elsewhere by naming its id. */
        if (h->has_node && h->from != m->self && voter_config_is_member(&m->voters, h->from)) {
                WireNode e = h->node;
                WireNode *old = book_find(m, h->from);

                e.id = h->from;
                if (!old || !node_equal(old, &e)) {
                        log_info("Host %s (id %u) is at %s:%u.", e.name, e.id, e.address, e.port);
                        (void) book_put(m, &e);
                        if (peers_find(m->peers, e.id) && peer_update(m, e.id) > 0)
                                bus_api_emit_node_changed(m, e.name, "address");
                }
        }
        for (size_t i = 0; i < h->n_book; i++) {
                const WireNode *e = &h->book[i];

                /* Our own entry is ours to say; a sender's is in its "node" entry. */
                if (e->id == m->self || e->id == h->from || !voter_config_is_member(&m->voters, e->id))
                        continue;
                if (book_find(m, e->id))
                        continue;
                log_info("Host %s (id %u) is at %s:%u (from %s).", e->name, e->id, e->address, e->port,
                         manager_host_name(m, h->from));
                (void) book_put(m, e);
                if (peers_find(m->peers, e->id))
                        (void) peer_update(m, e->id);
        }
}

/* ---- identity at start ---- */

/* The configuration Peers= and Voters= describe: epoch 1, every peer a member. */
static int config_from_peers(Manager *m, VoterConfig *ret, uint16_t *ret_self) {
        PeerConfig *list = m->config.peers;
        size_t n = m->config.n_peers;
        _cleanup_free_ uint16_t *ids = NULL;
        uint16_t voters[PES_VOTERS_MAX], members[PES_MEMBERS_MAX];
        unsigned n_voters = 0;
        int self, r;

        if (n == 0) {
                /* No Peers=: a one-node cluster of this host alone. */
                list = calloc(1, sizeof *list);
                if (!list)
                        return -ENOMEM;
                list[0].name = strdup(m->config.node_name);
                list[0].address = strdup(m->config.listen_address);
                list[0].port = m->config.listen_port;
                if (!list[0].name || !list[0].address) {
                        free(list[0].name);
                        free(list[0].address);
                        free(list);
                        return -ENOMEM;
                }
                m->config.peers = list;
                m->config.n_peers = n = 1;
        }
        if (n > PES_MEMBERS_MAX)
                return log_error_errno(EINVAL, "More than %d peers.", PES_MEMBERS_MAX);
        ids = calloc(n, sizeof *ids);
        if (!ids)
                return -ENOMEM;
        peers_assign_ids(list, n, ids);
        self = config_self_index(&m->config);
        *ret_self = self >= 0 ? ids[self] : PES_HOST_NONE;
        /* DESIGN.md "Roles": every host is a candidate; the voters decide. */
        for (size_t i = 0; i < n; i++) {
                members[i] = ids[i];
                list[i].voter = config_is_voter(&m->config, list[i].name);
                if (list[i].voter) {
                        if (n_voters >= PES_VOTERS_MAX)
                                return log_error_errno(EINVAL, "More than %d voters.", PES_VOTERS_MAX - 1);
                        voters[n_voters++] = ids[i];
                }
        }
        r = voter_config_init_members(ret, voters, n_voters, members, (unsigned) n);
        if (r < 0)
                return log_error_errno(r, "Invalid voter configuration: %m");
        /* δ and T_max are agreed, not local (DESIGN.md "Timing is agreed"): they are part
         * of the configuration's hash, so hosts with other settings never count each other. */
        ret->delta_usec = m->config.max_pause;
        ret->lease_max_usec = m->config.max_lease;
        ret->epoch.hash = voter_config_hash(ret, 0);
        r = voter_config_validate(ret);
        if (r < 0)
                return log_error_errno(r, "Invalid voter configuration (MaxPauseSec=, MaxLeaseSec=): %m");

        /* The first book: every peer of Peers= under the id every host computes alike.
         * A host that joined another cluster has that cluster's book instead. */
        for (size_t i = 0; i < n && !m->joined; i++) {
                WireNode e = { .id = ids[i], .port = list[i].port };

                if (book_find(m, e.id))
                        continue;
                snprintf(e.name, sizeof e.name, "%s", list[i].name);
                snprintf(e.address, sizeof e.address, "%s", list[i].address);
                if (book_put(m, &e) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static bool same_sets(const uint16_t *a, unsigned na, const uint16_t *b, unsigned nb) {
        if (na != nb)
                return false;
        for (unsigned i = 0; i < na; i++) {
                bool found = false;

                for (unsigned j = 0; j < nb && !found; j++)
                        found = a[i] == b[j];
                if (!found)
                        return false;
        }
        return true;
}

int membership_setup(Manager *m) {
        StoreConfig stored = {};
        VoterConfig from_peers = {};
        uint64_t v = 0;
        uint16_t conf_self = PES_HOST_NONE;
        bool have_config;
        int r;

        free(m->book);
        m->book = NULL;
        m->n_book = 0;
        r = store_get_book(m->store, &m->book, &m->n_book);
        if (r < 0)
                return log_error_errno(r, "Cannot read the address book: %m");

        r = store_get_config(m->store, &stored);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Cannot read the stored voter configuration: %m");
        have_config = r >= 0;

        m->joined = store_get_meta(m->store, "joined", &v) >= 0 && v == 1;
        free(m->cluster_name);
        m->cluster_name = NULL;
        if (m->joined) {
                r = store_get_meta(m->store, "joined-cluster", &m->cluster_id);
                if (r < 0)
                        return log_error_errno(r, "Cannot read the id of the cluster this host joined: %m");
                (void) store_get_text(m->store, "cluster-name", &m->cluster_name);
        } else if (m->config.cluster_name) {
                m->cluster_id = manager_cluster_id_of(m->config.cluster_name);
                m->cluster_name = strdup(m->config.cluster_name);
        } else {
                /* A one-node cluster gets a random id of its own, kept across restarts,
                 * so that it never counts another host (DESIGN.md "Interfaces"). */
                r = store_get_meta(m->store, "cluster-id", &m->cluster_id);
                if (r == -ENOENT) {
                        m->cluster_id = manager_random();
                        r = store_put_meta_sync(m->store, "cluster-id", m->cluster_id);
                }
                if (r < 0)
                        return log_error_errno(r, "Cannot read or write the cluster id: %m");
        }

        r = config_from_peers(m, &from_peers, &conf_self);
        if (r < 0)
                return r;

        /* Own id: the stored one, else the one Peers= gives (DESIGN.md "Identity"). */
        if (store_get_meta(m->store, "host-id", &v) >= 0 && v > 0 && v <= PES_HOST_MAX)
                m->self = (uint16_t) v;
        else if (conf_self != PES_HOST_NONE) {
                m->self = conf_self;
                r = store_put_meta_sync(m->store, "host-id", m->self);
                if (r < 0)
                        return log_error_errno(r, "Cannot write the host id: %m");
        } else
                return log_error_errno(EINVAL, "NodeName=%s is not one of Peers=.", m->config.node_name);

        if (have_config) {
                /* A stored configuration takes precedence over Peers=/Voters=: the cluster
                 * may have changed at run time since the file was written. */
                m->voters = stored.installed;
                if (!m->joined &&
                    (!same_sets(stored.installed.voters, stored.installed.n_voters, from_peers.voters, from_peers.n_voters) ||
                     !same_sets(stored.installed.members, stored.installed.n_members, from_peers.members,
                                from_peers.n_members)))
                        log_notice("Peers=/Voters= of %s differ from the cluster's configuration (epoch %" PRIu64
                                   ", changed at run time); the configuration is used.",
                                   m->config.path ?: "the configuration", stored.installed.epoch.n);
        } else
                m->voters = from_peers;

        /* Joined hosts keep the book they were given; drop what Peers= added of another cluster. */
        if (m->joined)
                for (size_t i = m->n_book; i > 0; i--)
                        if (!voter_config_is_member(&m->voters, m->book[i - 1].id))
                                book_remove(m, m->book[i - 1].id);

        {
                WireNode self;

                membership_advertised(m, &self);
                (void) book_put(m, &self);
        }
        m->member = voter_config_is_member(&m->voters, m->self);
        return 0;
}

int membership_setup_peers(Manager *m) {
        int r;

        r = peer_update(m, m->self);
        if (r < 0)
                return r;
        /* A host that left keeps to itself until it joins again. */
        if (!m->member)
                return 0;
        for (unsigned i = 0; i < m->voters.n_members; i++) {
                r = peer_update(m, m->voters.members[i]);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; i < m->voters.n_voters; i++) {
                r = peer_update(m, m->voters.voters[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- operations ---- */

/*
 * A leaving host hands each name to a host that supervises it: GET /v1/units/NAME
 * on every other live member answers 503 there (supervised, not running), 404
 * where it is not supervised (DESIGN.md: a handoff to a host that never takes
 * the name lapses only after a lease).
 */
typedef struct LeaveProbe {
        char name[PES_NAME_MAX + 1];
        uint16_t host;
        bool eligible;
} LeaveProbe;

typedef struct LeaveProbeCtx {
        Manager *m;
        uint64_t serial;
        size_t index;
} LeaveProbeCtx;

#define LEAVE_PROBE_TIMEOUT_USEC (1 * USEC_PER_SEC)

static MemberOp *op_free(MemberOp *op) {
        if (!op)
                return NULL;
        free(op->probes);
        if (op->request)
                (void) http_peer_request_fail(op->request, -EAGAIN);
        sd_event_source_disable_unref(op->restart);
        free(op->join_address);
        free(op);
        return NULL;
}

/* Ends the operation: done runs once, with a sentence for the operator. */
static void op_finish(Manager *m, int error, uint16_t host, const char *format, ...) _printf_(4, 5);
static void op_finish(Manager *m, int error, uint16_t host, const char *format, ...) {
        MemberOp *op = m->op;
        char message[512] = "";
        va_list ap;

        if (!op)
                return;
        m->op = NULL;
        if (format) {
                va_start(ap, format);
                (void) vsnprintf(message, sizeof message, format, ap);
                va_end(ap);
        }
        if (error < 0)
                log_warning("%s", message[0] ? message : strerror(-error));
        else if (message[0])
                log_info("%s", message);
        if (op->done)
                op->done(m, error, host, message[0] ? message : NULL, op->userdata);
        op_free(op);
}

void membership_teardown(Manager *m) {
        if (m->op) {
                MemberOp *op = TAKE_PTR(m->op);

                if (op->done)
                        op->done(m, -ECANCELED, PES_HOST_NONE, "pesd is shutting down.", op->userdata);
                op_free(op);
        }
        m->join_client = http_client_free(m->join_client);
}

static const char *change_error_text(int error) {
        switch (error) {
        case -EBUSY:
                return "another membership change is in flight";
        case -EEXIST:
                return "already a member or voter";
        case -ENOENT:
                return "not a member or voter";
        case -EINVAL:
                return "not allowed (a voter set keeps between 1 and 7 voters, one change at a time)";
        case -ESTALE:
                return "another host changed the configuration first";
        case -ETIMEDOUT:
                return "no quorum of voters answered";
        default:
                return strerror(-error);
        }
}

static void answer_change(Manager *m, MemberOp *op, uint16_t id, const VoterConfig *current) {
        bool want_member = op->kind == CHANGE_ADD_MEMBER;
        const VoterConfig *c = current->epoch.n >= m->voters.epoch.n && voter_config_is_member(current, id) == want_member ? current
                                                                                                           : &m->voters;
        WireHeader h;
        PeerMsg msg = {};
        NetError err = {};
        int r;

        manager_header_fill(m, &h);
        h.book = m->book;
        h.n_book = m->n_book;
        snprintf(h.cluster_name, sizeof h.cluster_name, "%s", m->cluster_name ?: "");
        /* The configuration rides as a NACK_CONFIG: "here is the configuration". */
        msg = (PeerMsg) {
                .type = MSG_NACK_CONFIG,
                .from = h.from,
                .incarnation = h.incarnation,
                .epoch = h.epoch,
                .config = *c,
        };
        r = http_peer_request_reply(op->request, &h, &msg, 1, &err);
        op->request = NULL;
        if (r < 0)
                log_warning_errno(r, "Cannot answer %s: %s", op->joiner.name, err.text);
        else if (op->kind == CHANGE_ADD_MEMBER)
                log_info("Host %s (%s:%u) joined the cluster as id %u.", op->joiner.name, op->joiner.address,
                         op->joiner.port, id);
        else
                log_info("Host %s (id %u) left the cluster.", op->joiner.name, id);
}

static void refuse_join(MemberOp *op, int error, const char *why) {
        unsigned status = error == -EEXIST ? 409 : error == -EBUSY || error == -EAGAIN ? 503 : 403;

        if (op->request)
                (void) http_peer_request_refuse(op->request, status, why);
        op->request = NULL;
}

static void on_change_end(Manager *m, const Action *a) {
        MemberOp *op = m->op;
        int error = a->notify.error;
        /* The host may be gone from the table already (NOTIFY_INSTALLED came first). */
        const char *name = op && op->joiner.name[0] ? op->joiner.name : manager_host_name(m, a->notify.host);

        if (!op || !op->change_started)
                return;
        /* A resumed or rolled-back change reports the voter change it drove. */
        if ((int) op->kind != a->notify.change && op->kind != CHANGE_RESUME && op->kind != CHANGE_ROLLBACK)
                return;

        if (op->kind == CHANGE_ADD_MEMBER && op->request) {
                if (error < 0) {
                        char why[256];

                        snprintf(why, sizeof why, "cannot add %s: %s", op->joiner.name, change_error_text(error));
                        refuse_join(op, error, why);
                        op_finish(m, error, PES_HOST_NONE, "The join of %s failed: %s.", op->joiner.name,
                                  change_error_text(error));
                        return;
                }
                op->joiner.id = a->notify.host;
                (void) book_put(m, &op->joiner);
                (void) peer_update(m, op->joiner.id);
                answer_change(m, op, a->notify.host, &a->notify.config);
                op_finish(m, 0, a->notify.host, NULL);
                return;
        }
        if (op->kind == CHANGE_REMOVE_MEMBER && op->request) {
                if (error < 0) {
                        char why[256];

                        snprintf(why, sizeof why, "cannot remove %s: %s", op->joiner.name, change_error_text(error));
                        refuse_join(op, error, why);
                        op_finish(m, error, PES_HOST_NONE, "The leave of %s failed: %s.", op->joiner.name,
                                  change_error_text(error));
                        return;
                }
                answer_change(m, op, op->host, &a->notify.config);
                op_finish(m, 0, op->host, NULL);
                return;
        }

        if (error < 0) {
                op_finish(m, error, a->notify.host, "%s of %s failed: %s.",
                          op->kind == CHANGE_REMOVE_MEMBER ? "Removing the member" :
                          op->kind == CHANGE_ADD_VOTER    ? "Adding the voter" :
                          op->kind == CHANGE_REMOVE_VOTER ? "Removing the voter" : "The voter change",
                          name, change_error_text(error));
                return;
        }
        switch (op->kind) {
        case CHANGE_REMOVE_MEMBER:
                op_finish(m, 0, a->notify.host, "%s left the cluster.", op->host == m->self ? "This host" : name);
                break;
        case CHANGE_ADD_VOTER:
                op_finish(m, 0, a->notify.host, "%s is a voter now (epoch %" PRIu64 ").", name,
                          a->notify.config.epoch.n);
                break;
        case CHANGE_REMOVE_VOTER:
                op_finish(m, 0, a->notify.host, "%s is no longer a voter (epoch %" PRIu64 ").", name,
                          a->notify.config.epoch.n);
                break;
        default:
                op_finish(m, 0, a->notify.host, "The voter change ended (epoch %" PRIu64 ").", a->notify.config.epoch.n);
                break;
        }
}

/* A newer chosen configuration is installed: the peers table follows its members. */
static void on_installed(Manager *m, const VoterConfig *c) {
        VoterConfig old = m->voters;
        bool was_member = m->member;
        WireHeader h;

        m->voters = *c;
        m->member = voter_config_is_member(c, m->self);
        manager_header_fill(m, &h);
        peers_set_header(m->peers, &h);
        log_info("Voter configuration epoch %" PRIu64 " installed: %u voter(s), %u member(s)%s%s.", c->epoch.n,
                 c->n_voters, c->n_members, c->phase == CONFIG_ACCEPT_WIDENED ? ", changing " : "",
                 c->phase == CONFIG_ACCEPT_WIDENED ? manager_host_name(m, c->changing) : "");

        /* Gone: dropped from the table and the book (ids are never reused). */
        for (size_t i = peers_count(m->peers); i > 0; i--) {
                Peer *p = peers_at(m->peers, i - 1);
                char name[WIRE_NODE_NAME_MAX + 1];
                uint16_t id = p->id;

                if (id == m->self || voter_config_is_member(c, id))
                        continue;
                snprintf(name, sizeof name, "%s", p->name);
                log_info("Host %s (id %u) is no longer a member.", name, id);
                (void) peers_remove(m->peers, id);
                book_remove(m, id);
                bus_api_emit_node_changed(m, name, "left");
        }
        /* New, or with another role. */
        for (unsigned i = 0; i < c->n_members + c->n_voters; i++) {
                uint16_t id = i < c->n_members ? c->members[i] : c->voters[i - c->n_members];
                bool existed = peers_find(m->peers, id) != NULL;
                bool was_voter = cfg_is_voter(&old, id);

                if (peer_update(m, id) <= 0 && existed && was_voter == cfg_is_voter(c, id))
                        continue;
                if (!existed)
                        bus_api_emit_node_changed(m, manager_host_name(m, id), "joined");
                else if (was_voter != cfg_is_voter(c, id))
                        bus_api_emit_node_changed(m, manager_host_name(m, id),
                                                  cfg_is_voter(c, id) ? "voter" : "candidate");
        }
        if (was_member && !m->member) {
                log_notice("This host is no longer a member of cluster %s; pesctl join HOST:PORT to rejoin.",
                           m->cluster_name ?: "(unnamed)");
                (void) store_stage_meta(m->store, "left", 1);
        }
        /* A host that is out talks to nobody: the members would only tell it so again. */
        if (!m->member)
                for (size_t i = peers_count(m->peers); i > 0; i--) {
                        Peer *p = peers_at(m->peers, i - 1);

                        if (p->id != m->self)
                                (void) peers_remove(m->peers, p->id);
                }
}

void membership_notify(Manager *m, const Action *a) {
        switch (a->notify.kind) {
        case NOTIFY_INSTALLED:
                if (a->notify.config.epoch.n > m->voters.epoch.n ||
                    (a->notify.config.epoch.n == m->voters.epoch.n && a->notify.config.epoch.hash != m->voters.epoch.hash))
                        on_installed(m, &a->notify.config);
                break;
        case NOTIFY_CHANGE:
                if (!a->notify.done && a->notify.error == 0) {
                        log_info("Voter configuration: a step of the change of %s is done (epoch %" PRIu64 ").",
                                 manager_host_name(m, a->notify.host), a->notify.config.epoch.n);
                        break;
                }
                on_change_end(m, a);
                break;
        default:
                break;
        }
}

/* ---- serving a join ---- */

static void on_join_request(HttpPeerRequest *req, const WireBatch *batch, void *userdata) {
        Manager *m = userdata;
        const WireHeader *h = &batch->header;
        WireNode *old;
        MemberOp *op;
        char why[256];
        int r;

        if (!h->has_node) {
                (void) http_peer_request_refuse(req, 400, "a join request names the host (\"node\")");
                return;
        }
        if (m->stopping || m->restarting) {
                (void) http_peer_request_refuse(req, 503, "pesd is shutting down");
                return;
        }
        if (!m->member) {
                (void) http_peer_request_refuse(req, 403, "this host is not a member of a cluster; ask another member");
                return;
        }
        if (m->op || node_config_driving(m->node, NULL, NULL)) {
                (void) http_peer_request_refuse(req, 503, "a membership change is in flight here; try again");
                return;
        }
        old = book_find_name(m, h->node.name);
        if (old) {
                Peer *p = peers_find(m->peers, old->id);

                if (old->id == m->self || (p && p->state == PEER_ALIVE)) {
                        snprintf(why, sizeof why, "%s is already a member (id %u) and alive", h->node.name, old->id);
                        (void) http_peer_request_refuse(req, 409, why);
                        return;
                }
                /* A host that lost its store comes back under a new id; the old one stays
                 * (renamed) until `pesctl leave` removes it, as for any dead host. */
                {
                        WireNode renamed = *old;
                        char suffix[BOOK_NAME_SUFFIX_MAX];

                        snprintf(suffix, sizeof suffix, "~%u", old->id);
                        snprintf(renamed.name, sizeof renamed.name, "%.*s%s",
                                 (int) (WIRE_NODE_NAME_MAX - strlen(suffix)), old->name, suffix);
                        log_notice("Host %s joins again while its old id %u is dead; the old entry is now %s "
                                   "(pesctl leave %s removes it).", h->node.name, old->id, renamed.name, renamed.name);
                        (void) book_put(m, &renamed);
                        (void) peer_update(m, renamed.id);
                }
        }

        op = calloc(1, sizeof *op);
        if (!op) {
                (void) http_peer_request_fail(req, -ENOMEM);
                return;
        }
        op->kind = CHANGE_ADD_MEMBER;
        op->request = req;
        op->joiner = h->node;
        m->op = op;
        log_info("Host %s (%s:%u) asks to join.", h->node.name, h->node.address, h->node.port);
        r = node_config_change(m->node, CHANGE_ADD_MEMBER, PES_HOST_NONE, manager_now(m), &m->actions);
        if (r < 0) {
                snprintf(why, sizeof why, "cannot add %s: %s", h->node.name, change_error_text(r));
                refuse_join(op, r, why);
                op_finish(m, r, PES_HOST_NONE, "The join of %s failed: %s.", h->node.name, change_error_text(r));
                return;
        }
        op->change_started = true;
        (void) manager_flush(m);
}

/* A member that has handed off its names asks to be removed. */
static void on_leave_request(HttpPeerRequest *req, const WireBatch *batch, void *userdata) {
        Manager *m = userdata;
        const WireHeader *h = &batch->header;
        MemberOp *op;
        char why[256];
        int r;

        /* The join route's window keeps its replay protection; the cluster is checked here. */
        if (h->cluster_id != m->cluster_id) {
                (void) http_peer_request_refuse(req, 403, "request for another cluster");
                return;
        }
        if (m->stopping || m->restarting) {
                (void) http_peer_request_refuse(req, 503, "pesd is shutting down");
                return;
        }
        if (!voter_config_is_member(&m->voters, h->from)) {
                (void) http_peer_request_refuse(req, 404, "not a member of this cluster");
                return;
        }
        if (cfg_is_voter(&m->voters, h->from)) {
                (void) http_peer_request_refuse(req, 403, "a voter: remove it as a voter first (pesctl voters remove)");
                return;
        }
        if (m->op || node_config_driving(m->node, NULL, NULL)) {
                (void) http_peer_request_refuse(req, 503, "a membership change is in flight here; try again");
                return;
        }
        op = calloc(1, sizeof *op);
        if (!op) {
                (void) http_peer_request_fail(req, -ENOMEM);
                return;
        }
        op->kind = CHANGE_REMOVE_MEMBER;
        op->host = h->from;
        op->request = req;
        snprintf(op->joiner.name, sizeof op->joiner.name, "%s", manager_host_name(m, h->from));
        m->op = op;
        log_info("Host %s asks to leave the cluster.", op->joiner.name);
        r = node_config_change(m->node, CHANGE_REMOVE_MEMBER, h->from, manager_now(m), &m->actions);
        if (r < 0) {
                snprintf(why, sizeof why, "cannot remove %s: %s", op->joiner.name, change_error_text(r));
                refuse_join(op, r, why);
                op_finish(m, r, PES_HOST_NONE, "The leave of %s failed: %s.", op->joiner.name, change_error_text(r));
                return;
        }
        op->change_started = true;
        (void) manager_flush(m);
}

int membership_join_route(Manager *m) {
        int r;

        r = http_server_add_join_route(m->server, JOIN_PATH, on_join_request, m);
        if (r < 0)
                return r;
        return http_server_add_join_route(m->server, LEAVE_PATH, on_leave_request, m);
}

/* ---- joining ---- */

static int on_join_restart(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        MemberOp *op = m->op;
        uint16_t id;
        int r;

        op->restart = sd_event_source_disable_unref(op->restart);
        id = op->join_id;
        /* Its requests carry the old cluster's id; a later leave makes a new one. */
        m->join_client = http_client_free(m->join_client);
        r = manager_restart(m);
        if (r < 0) {
                op_finish(m, r, PES_HOST_NONE, "Joined the cluster as id %u, but restarting pesd's state failed: %s.", id,
                          strerror(-r));
                m->exit_code = r;
                (void) sd_event_exit(m->event, r);
                return 0;
        }
        op_finish(m, 0, id, "Joined cluster %s as id %u.", m->cluster_name ?: "(unnamed)", id);
        return 0;
}

static void on_join_persisted(Store *s, int error, void *userdata) {
        Manager *m = userdata;
        MemberOp *op = m->op;

        if (!op)
                return;
        if (error < 0) {
                op_finish(m, error, PES_HOST_NONE, "Cannot write the new membership to %s: %s.", m->config.state_dir,
                          strerror(-error));
                return;
        }
        /* Rebuilt from a loop turn of its own: not from inside the store's callback. */
        if (sd_event_add_defer(m->event, &op->restart, on_join_restart, m) < 0)
                op_finish(m, -ENOMEM, PES_HOST_NONE, "Out of memory.");
}

static void on_join_reply(HttpClient *c, uint16_t host, const HttpClientResult *result, void *userdata) {
        Manager *m = userdata;
        MemberOp *op = m->op;
        const WireBatch *b = result->reply;
        const VoterConfig *cfg = NULL;
        StoreConfig sc = {};
        uint16_t id = PES_HOST_NONE;
        int r;

        if (!op || !op->joining)
                return;
        op->joining = false;
        if (result->error < 0) {
                if (result->error == -EACCES)
                        op_finish(m, -EACCES, PES_HOST_NONE,
                                  "The member at %s refused this host's cluster key: KeyFile= differs (%s).",
                                  op->join_address, result->error_text ?: "bad signature");
                else
                        op_finish(m, result->error, PES_HOST_NONE, "Cannot join the cluster at %s: %s.",
                                  op->join_address, result->error_text ?: strerror(-result->error));
                return;
        }
        for (size_t i = 0; i < b->n_msgs; i++)
                if (b->msgs[i].type == MSG_NACK_CONFIG)
                        cfg = &b->msgs[i].config;
        for (size_t i = 0; i < b->header.n_book; i++)
                if (strcmp(b->header.book[i].name, m->config.node_name) == 0)
                        id = b->header.book[i].id;
        if (!cfg || id == PES_HOST_NONE || !voter_config_is_member(cfg, id) || voter_config_validate(cfg) < 0) {
                op_finish(m, -EBADMSG, PES_HOST_NONE, "The member at %s answered the join without a configuration "
                          "that names this host.", op->join_address);
                return;
        }

        /* Everything at once, in one transaction: the new identity, the cluster's
         * configuration and book, and no acceptor state (it joins as a candidate). */
        sc.installed = *cfg;
        r = store_stage_clear_names(m->store);
        if (r >= 0)
                r = store_stage_config(m->store, &sc);
        if (r >= 0)
                r = store_stage_book(m->store, b->header.book, b->header.n_book);
        if (r >= 0 && b->header.cluster_name[0])
                r = store_stage_text(m->store, "cluster-name", b->header.cluster_name);
        if (r >= 0)
                r = store_stage_meta(m->store, "host-id", id);
        if (r >= 0)
                r = store_stage_meta(m->store, "joined-cluster", b->header.cluster_id);
        if (r >= 0)
                r = store_stage_meta(m->store, "joined", 1);
        if (r >= 0)
                r = store_stage_meta(m->store, "left", 0);
        if (r >= 0)
                r = store_stage_meta(m->store, "initialised", 1);
        if (r >= 0)
                r = store_commit(m->store, on_join_persisted, m);
        if (r < 0) {
                op_finish(m, r, PES_HOST_NONE, "Cannot stage the new membership: %s.", strerror(-r));
                return;
        }
        op->join_id = id;
        log_info("Host %s joins cluster %s as id %u (configuration epoch %" PRIu64 ", %u voter(s), %u member(s)).",
                 m->config.node_name, b->header.cluster_name[0] ? b->header.cluster_name : "(unnamed)", id,
                 cfg->epoch.n, cfg->n_voters, cfg->n_members);
}

static int set_error(char **error, const char *format, ...) _printf_(2, 3);
static int set_error(char **error, const char *format, ...) {
        va_list ap;

        if (!error)
                return 0;
        va_start(ap, format);
        if (vasprintf(error, format, ap) < 0)
                *error = NULL;
        va_end(ap);
        return 0;
}

static size_t names_held_here(Manager *m, const char **ret_first) {
        uint64_t now = manager_now(m);
        size_t k = 0;

        for (size_t i = 0; i < node_n_guards(m->node); i++) {
                Guard *g = node_guard_at(m->node, i);

                if (guard_lease_valid(g, now) || guard_state(g) == GUARD_STOPPING || guard_state(g) == GUARD_RELEASING) {
                        if (k == 0 && ret_first)
                                *ret_first = guard_name(g);
                        k++;
                }
        }
        return k;
}

int manager_join(Manager *m, const char *address_port, ManagerDoneFunc done, void *userdata, char **error) {
        _cleanup_free_ char *address = NULL;
        HttpClientConfig cc = HTTP_CLIENT_CONFIG_INIT;
        const char *held = NULL;
        unsigned others = 0;
        uint16_t port;
        NetError err = {};
        WireHeader h;
        MemberOp *op;
        int r;

        if (!m || !address_port || !done)
                return -EINVAL;
        if (m->op || node_config_driving(m->node, NULL, NULL)) {
                set_error(error, "A membership change is in flight on this host already.");
                return -EBUSY;
        }
        for (size_t i = 0; i < peers_count(m->peers); i++)
                if (peers_at(m->peers, i)->id != m->self)
                        others++;
        if (m->member && others > 0) {
                set_error(error, "This host is already part of cluster %s (with %u other member(s)); "
                          "pesctl leave first.", m->cluster_name ?: "(unnamed)", others);
                return -EEXIST;
        }
        if (names_held_here(m, &held) > 0) {
                set_error(error, "This host holds %s; release it (or stop its unit) before joining another cluster.", held);
                return -EBUSY;
        }
        r = parse_address_port(address_port, PES_DEFAULT_PORT, &address, &port);
        if (r < 0) {
                set_error(error, "'%s' is not HOST:PORT.", address_port);
                return -EINVAL;
        }

        if (!m->join_client) {
                cc.key = &m->key;
                cc.cluster_id = m->cluster_id;
                cc.tls_ca_file = m->config.tls_ca;
                cc.tls_cert_file = m->config.tls_certificate;
                cc.tls_key_file = m->config.tls_key;
                r = http_client_new(&m->join_client, m->event, &cc, &err);
                if (r < 0) {
                        set_error(error, "Cannot set up a client for the join: %s", err.text);
                        return r;
                }
        }
        op = calloc(1, sizeof *op);
        if (!op)
                return -ENOMEM;
        op->kind = CHANGE_ADD_MEMBER;
        op->joining = true;
        op->done = done;
        op->userdata = userdata;
        op->join_address = strdup(address_port);
        if (!op->join_address) {
                free(op);
                return -ENOMEM;
        }
        manager_header_fill(m, &h);
        r = http_client_join(m->join_client, address, port, JOIN_PATH, &h, JOIN_TIMEOUT_USEC, on_join_reply, m, &err);
        if (r < 0) {
                set_error(error, "Cannot ask %s: %s", address_port, err.text);
                op_free(op);
                return r;
        }
        m->op = op;
        log_info("Asking %s to let this host (%s) join its cluster.", address_port, m->config.node_name);
        return 0;
}

/* ---- leaving ---- */

static bool probed_eligible(const MemberOp *op, const char *name, uint16_t host) {
        for (size_t i = 0; i < op->n_probes; i++)
                if (op->probes[i].host == host && strcmp(op->probes[i].name, name) == 0)
                        return op->probes[i].eligible;
        return false;
}

/* The best-ranked other live host that supervises name, or PES_HOST_NONE. */
static uint16_t handoff_target(Manager *m, const char *name) {
        Supervised *s = supervise_find(m, name);
        RankCandidate c[PES_MEMBERS_MAX];
        size_t n = 0;
        uint16_t best = PES_HOST_NONE;

        for (size_t i = 0; i < peers_count(m->peers) && n < ELEMENTSOF(c); i++) {
                Peer *p = peers_at(m->peers, i);
                uint32_t w = s ? unit_conf_weight(&s->conf, p->name) : 1;

                if (p->id != m->self && p->state == PEER_ALIVE && w > 0 && m->op && probed_eligible(m->op, name, p->id))
                        c[n++] = (RankCandidate) { .host = p->id, .weight = w };
        }
        for (size_t i = 0; i < n; i++)
                if (rank_of(name, c[i].host, c, n) == 0)
                        best = c[i].host;
        return best;
}

static void leave_hand_off(Manager *m) {
        uint64_t now = manager_now(m);

        for (size_t i = 0; i < node_n_guards(m->node); i++) {
                Guard *g = node_guard_at(m->node, i);
                const char *name = guard_name(g);
                uint16_t to;

                if (!guard_lease_valid(g, now)) {
                        /* Not held: stop campaigning for it. */
                        if (guard_state(g) != GUARD_IDLE && guard_state(g) != GUARD_STOPPING &&
                            guard_state(g) != GUARD_RELEASING)
                                (void) node_release(m->node, name, now, &m->actions);
                        continue;
                }
                to = handoff_target(m, name);
                if (to != PES_HOST_NONE && node_move(m->node, name, to, now, &m->actions) >= 0)
                        log_info("Leaving: handing %s to %s.", name, manager_host_name(m, to));
                else {
                        log_info("Leaving: releasing %s (no other live eligible host).", name);
                        (void) node_release(m->node, name, now, &m->actions);
                }
        }
}

static void on_leave_probe(HttpClient *c, uint16_t peer, const HttpClientResult *result, void *userdata) {
        _cleanup_free_ LeaveProbeCtx *ctx = userdata;
        Manager *m = ctx->m;
        MemberOp *op = m->op;

        if (!op || op->serial != ctx->serial || ctx->index >= op->n_probes)
                return;
        /* 503: supervised there and not running, or a bus client waits there: it can take the name. */
        op->probes[ctx->index].eligible = result->error == -EIO && result->http_status == 503;
        if (--op->probes_pending > 0)
                return;
        leave_hand_off(m);
        (void) manager_flush(m);
}

static bool url_safe(const char *s) {
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.@-", *s))
                        return false;
        return true;
}

/* Asks every other live member which of the names held here it supervises, then hands off. */
static void leave_probe(Manager *m) {
        MemberOp *op = m->op;
        uint64_t now = manager_now(m);
        NetError err = {};

        if (supervise_probe_client(m, &err) < 0)
                goto hand_off;
        for (size_t i = 0; i < node_n_guards(m->node); i++) {
                Guard *g = node_guard_at(m->node, i);
                const char *name = guard_name(g);

                if (!guard_lease_valid(g, now) || !url_safe(name))
                        continue;
                for (size_t j = 0; j < peers_count(m->peers); j++) {
                        Peer *p = peers_at(m->peers, j);
                        _cleanup_free_ LeaveProbeCtx *ctx = NULL;
                        _cleanup_free_ char *url = NULL;
                        LeaveProbe *np;

                        if (p->id == m->self || p->state != PEER_ALIVE || !p->address[0])
                                continue;
                        np = reallocarray(op->probes, op->n_probes + 1, sizeof *np);
                        if (!np)
                                goto hand_off;
                        op->probes = np;
                        ctx = calloc(1, sizeof *ctx);
                        if (!ctx || !(url = supervise_unit_url(p, name)))
                                goto hand_off;
                        *ctx = (LeaveProbeCtx) { .m = m, .serial = op->serial, .index = op->n_probes };
                        op->probes[op->n_probes] = (LeaveProbe) { .host = p->id };
                        snprintf(op->probes[op->n_probes].name, sizeof op->probes[0].name, "%s", name);
                        if (http_client_probe(m->probe_client, url, LEAVE_PROBE_TIMEOUT_USEC, on_leave_probe, ctx,
                                              &err) < 0)
                                continue;
                        TAKE_PTR(ctx);
                        op->n_probes++;
                        op->probes_pending++;
                }
        }
        if (op->probes_pending > 0)
                return;
hand_off:
        leave_hand_off(m);
}

static void on_leave_reply(HttpClient *c, uint16_t host, const HttpClientResult *result, void *userdata) {
        Manager *m = userdata;
        MemberOp *op = m->op;
        const WireBatch *b = result->reply;

        if (!op || !op->asking)
                return;
        op->asking = false;
        if (result->error < 0) {
                op_finish(m, result->error, m->self, "Cannot leave: %s.", result->error_text ?: strerror(-result->error));
                return;
        }
        /* The answer carries the configuration without this host: install it now. */
        for (size_t i = 0; i < b->n_msgs; i++)
                if (b->msgs[i].type == MSG_NACK_CONFIG && b->msgs[i].config.epoch.n > m->voters.epoch.n)
                        (void) node_set_config(m->node, &b->msgs[i].config, manager_now(m), &m->actions);
        (void) manager_flush(m);
        op_finish(m, 0, m->self, "This host left cluster %s.", m->cluster_name ?: "(unnamed)");
}

/* Asks a live member (a voter first) to remove this host. */
static int ask_to_leave(Manager *m) {
        HttpClientConfig cc = HTTP_CLIENT_CONFIG_INIT;
        Peer *best = NULL;
        NetError err = {};
        WireHeader h;
        int r;

        for (size_t i = 0; i < peers_count(m->peers); i++) {
                Peer *p = peers_at(m->peers, i);

                if (p->id == m->self || p->state != PEER_ALIVE || !p->address[0])
                        continue;
                if (!best || (p->voter && !best->voter))
                        best = p;
        }
        if (!best)
                return -EHOSTUNREACH;
        if (!m->join_client) {
                cc.key = &m->key;
                cc.cluster_id = m->cluster_id;
                cc.tls_ca_file = m->config.tls_ca;
                cc.tls_cert_file = m->config.tls_certificate;
                cc.tls_key_file = m->config.tls_key;
                r = http_client_new(&m->join_client, m->event, &cc, &err);
                if (r < 0)
                        return r;
        }
        manager_header_fill(m, &h);
        r = http_client_join(m->join_client, best->address, best->port, LEAVE_PATH, &h, JOIN_TIMEOUT_USEC,
                             on_leave_reply, m, &err);
        if (r < 0)
                return r;
        m->op->asking = true;
        log_info("Every name is handed off or released; asking %s to remove this host from the members.", best->name);
        return 0;
}

void membership_tick(Manager *m) {
        MemberOp *op = m->op;
        const char *held = NULL;
        uint64_t now;
        int r;

        if (!op || !op->handing_off)
                return;
        now = manager_now(m);
        if (names_held_here(m, &held) > 0) {
                if (now < op->deadline)
                        return;
                op_finish(m, -ETIMEDOUT, m->self, "Cannot leave: %s is still held here after the hand-off's deadline.",
                          held);
                return;
        }
        /* A handed-off guard may campaign again; nothing here may take a name any more. */
        for (size_t i = 0; i < node_n_guards(m->node); i++) {
                Guard *g = node_guard_at(m->node, i);

                if (guard_state(g) != GUARD_IDLE)
                        (void) node_release(m->node, guard_name(g), now, &m->actions);
        }
        op->handing_off = false;
        r = ask_to_leave(m);
        if (r < 0)
                op_finish(m, r, m->self, "Cannot leave: no other member could be asked to remove this host (%s).",
                          strerror(-r));
}

static MemberOp *op_new(Manager *m, ConfigChangeKind kind, uint16_t host, ManagerDoneFunc done, void *userdata) {
        MemberOp *op = calloc(1, sizeof *op);

        if (!op)
                return NULL;
        static uint64_t serial;

        op->kind = kind;
        op->host = host;
        op->serial = ++serial;
        op->done = done;
        op->userdata = userdata;
        if (host != PES_HOST_NONE)
                snprintf(op->joiner.name, sizeof op->joiner.name, "%s", manager_host_name(m, host));
        return op;
}

int manager_leave(Manager *m, uint16_t host, ManagerDoneFunc done, void *userdata, char **error) {
        const char *name;
        Peer *p;
        MemberOp *op;
        int r;

        if (!m || !done)
                return -EINVAL;
        if (host == PES_HOST_NONE)
                host = m->self;
        name = manager_host_name(m, host);
        if (m->op || node_config_driving(m->node, NULL, NULL)) {
                set_error(error, "A membership change is in flight on this host already.");
                return -EBUSY;
        }
        if (!voter_config_is_member(&m->voters, host)) {
                set_error(error, "%s is not a member of cluster %s.", host == m->self ? "This host" : name,
                          m->cluster_name ?: "(unnamed)");
                return -ENOENT;
        }
        if (cfg_is_voter(&m->voters, host)) {
                set_error(error, "%s is a voter: remove it as a voter first: pesctl voters remove %s", name, name);
                return -EINVAL;
        }
        op = op_new(m, CHANGE_REMOVE_MEMBER, host, done, userdata);
        if (!op)
                return -ENOMEM;

        if (host == m->self) {
                /* DESIGN.md "Membership": a leaving host first releases or hands off its units. */
                op->handing_off = true;
                op->deadline = manager_now(m) + 2 * m->voters.lease_max_usec + 10 * USEC_PER_SEC;
                m->op = op;
                log_info("Leaving cluster %s: handing off or releasing every name held here.", m->cluster_name ?: "(unnamed)");
                leave_probe(m);
                /* The operation is registered: done runs once it ends, so no error
                 * may be returned from here on (a failed flush is the manager's). */
                (void) manager_flush(m);
                return 0;
        }

        /* Only a host found dead (no answer for 3H) is removed from elsewhere; one
         * not heard from yet may just be starting. */
        p = peers_find(m->peers, host);
        if (p && p->state != PEER_DEAD) {
                if (p->state == PEER_ALIVE)
                        set_error(error, "%s is alive: run pesctl leave on it.", name);
                else
                        set_error(error, "%s is not known to be dead yet (%s); try again once it is.", name,
                                  peer_state_to_string(p->state));
                free(op);
                return -EBUSY;
        }
        r = node_config_change(m->node, CHANGE_REMOVE_MEMBER, host, manager_now(m), &m->actions);
        if (r < 0) {
                set_error(error, "Cannot remove %s: %s.", name, change_error_text(r));
                free(op);
                return r;
        }
        op->change_started = true;
        m->op = op;
        log_info("Removing %s (%s) from the members.", name, p ? peer_state_to_string(p->state) : "not heard from");
        (void) manager_flush(m);
        return 0;
}

/* ---- voters ---- */

int manager_voter_change(Manager *m, ConfigChangeKind kind, uint16_t host, ManagerDoneFunc done, void *userdata,
                         char **error) {
        const char *name = manager_host_name(m, host);
        MemberOp *op;
        Peer *p;
        int r;

        if (!m || !done)
                return -EINVAL;
        if (kind != CHANGE_ADD_VOTER && kind != CHANGE_REMOVE_VOTER && kind != CHANGE_RESUME && kind != CHANGE_ROLLBACK)
                return -EINVAL;
        if (m->op || node_config_driving(m->node, NULL, NULL)) {
                set_error(error, "A membership change is in flight on this host already.");
                return -EBUSY;
        }
        if (kind == CHANGE_ADD_VOTER || kind == CHANGE_REMOVE_VOTER) {
                if (!voter_config_is_member(&m->voters, host)) {
                        set_error(error, "%s is not a member of this cluster.", name);
                        return -ENOENT;
                }
                if (kind == CHANGE_ADD_VOTER && cfg_is_voter(&m->voters, host) &&
                    !(m->voters.phase == CONFIG_ACCEPT_WIDENED && m->voters.changing == host)) {
                        set_error(error, "%s is a voter already.", name);
                        return -EEXIST;
                }
                if (kind == CHANGE_REMOVE_VOTER && !cfg_is_voter(&m->voters, host)) {
                        set_error(error, "%s is not a voter.", name);
                        return -ENOENT;
                }
                p = peers_find(m->peers, host);
                if (kind == CHANGE_ADD_VOTER && host != m->self && (!p || p->state != PEER_ALIVE)) {
                        set_error(error, "%s is not alive (%s): a new voter must be up to recover the names first.",
                                  name, p ? peer_state_to_string(p->state) : "unknown");
                        return -EHOSTDOWN;
                }
        } else
                host = PES_HOST_NONE;

        r = node_config_change(m->node, kind, host, manager_now(m), &m->actions);
        if (r < 0) {
                set_error(error, "%s", change_error_text(r));
                return r;
        }
        op = op_new(m, kind, host, done, userdata);
        if (!op)
                return -ENOMEM;
        op->change_started = true;
        m->op = op;
        log_info("Voter change started: %s %s.",
                 kind == CHANGE_ADD_VOTER ? "adding" : kind == CHANGE_REMOVE_VOTER ? "removing" :
                 kind == CHANGE_RESUME ? "resuming the change in flight" : "rolling back the change in flight",
                 host ? name : "");
        (void) manager_flush(m);
        return 0;
}
