/* SPDX-License-Identifier: MIT */
/* The peer-port HTTP server: libmicrohttpd driven by sd-event, serving authenticated /v1/peer/ batches and plain GET routes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "basic/time-util.h"
#include "net/auth.h"
#include "net/net-error.h"
#include "net/wire.h"

typedef struct HttpServer HttpServer;

/*
 * One authenticated peer request, handed to a HttpPeerHandler. The handler (or later
 * code, once a disk write has been synced) answers it exactly once with
 * http_peer_request_reply() or http_peer_request_fail(); until then the connection is
 * suspended and costs no CPU. The object is owned by the server and is invalid after
 * the answer (and after http_server_free(), which answers what is still open with 503).
 */
typedef struct HttpPeerRequest HttpPeerRequest;

/* Called for a request whose signature, cluster id and anti-replay sequence checked
 * out; batch is decoded and strictly validated, and stays valid as long as req does. */
typedef void (*HttpPeerHandler)(HttpPeerRequest *req, const WireBatch *batch, void *userdata);

/*
 * A plain GET route (/v1/names, /metrics). The handler fills *ret_body (malloc'd, taken
 * over by the server), *ret_size and *ret_content_type (a static string) and returns
 * an HTTP status (200, 404, …), or a negative errno for 500. GET routes are not
 * authenticated: serve nothing secret on them.
 */
typedef int (*HttpGetHandler)(HttpServer *s, const char *path, char **ret_body, size_t *ret_size,
                              const char **ret_content_type, void *userdata);

typedef struct HttpServerConfig {
        /* Numeric IPv4 or IPv6 address to listen on; NULL or "" means every address (IPv6
         * dual-stack). Ignored when listen_fd ≥ 0. */
        const char *address;
        uint16_t port;                 /* 0: an ephemeral port, see http_server_get_port() */
        int listen_fd;                 /* ≥ 0: a bound, listening socket to use (socket activation) */

        const AuthKey *key;            /* the cluster key; required */
        uint64_t cluster_id;           /* requests for another cluster are refused with 403 */

        size_t body_max;               /* larger request bodies get 413 (default 4 MiB) */
        unsigned connection_limit;     /* concurrent connections (default 1024) */
        unsigned per_ip_limit;         /* concurrent connections from one address (default 64) */
        unsigned connection_timeout_sec; /* idle connections are closed after this (default 10 s) */
        usec_t request_timeout_usec;   /* a request body still trickling in after this is cut off (default 10 s) */

        /* Optional TLS: PEM files. With tls_ca_file set, a client must present a
         * certificate that the CA signed, else 403. */
        const char *tls_cert_file;
        const char *tls_key_file;
        const char *tls_ca_file;
} HttpServerConfig;

#define HTTP_SERVER_BODY_MAX_DEFAULT (4u * 1024u * 1024u)

/* Defaults for every limit; address, port, key and cluster id are the caller's. */
#define HTTP_SERVER_CONFIG_INIT                                         \
        ((HttpServerConfig) {                                           \
                .listen_fd = -1,                                        \
                .body_max = HTTP_SERVER_BODY_MAX_DEFAULT,               \
                .connection_limit = 1024,                               \
                .per_ip_limit = 64,                                     \
                .connection_timeout_sec = 10,                           \
                .request_timeout_usec = 10 * USEC_PER_SEC,              \
        })

/* What the server refused and why, for /metrics and tests. Unauthenticated requests
 * are counted here and never reach a handler. */
typedef struct HttpServerStats {
        uint64_t connections;        /* TCP connections accepted */
        uint64_t peer_requests;      /* handed to a peer handler */
        uint64_t get_requests;       /* handed to a GET handler */
        uint64_t unauthenticated;    /* 401: signature missing or wrong */
        uint64_t replayed;           /* 401: refused by the anti-replay window */
        uint64_t wrong_cluster;      /* 403: signed with our key but for another cluster id */
        uint64_t bad_certificate;    /* 403: TLS client certificate missing or not from the CA */
        uint64_t malformed;          /* 400: authentic but not a valid batch */
        uint64_t too_large;          /* 413 or cut off: body above body_max */
        uint64_t not_found;          /* 404 and 405 */
        uint64_t timed_out;          /* request bodies cut off by request_timeout_usec */
} HttpServerStats;

/* Starts listening and attaches to e. err says what failed (bind, TLS files…). */
int http_server_new(HttpServer **ret, sd_event *e, const HttpServerConfig *config, NetError *err);
HttpServer *http_server_free(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_free);

/* The port actually bound (useful with port 0). */
uint16_t http_server_get_port(HttpServer *s);
const HttpServerStats *http_server_get_stats(HttpServer *s);

/* Serves POST path, which must start with "/v1/peer/". -EEXIST if already routed. */
int http_server_add_peer_route(HttpServer *s, const char *path, HttpPeerHandler handler, void *userdata);

/*
 * Serves POST path for hosts that ask to join (DESIGN.md "Membership"): the request
 * is signed with the cluster key and checked against an anti-replay window of its
 * own, but its cluster id is not compared with ours (the joiner still has its own).
 * The handler answers like a peer handler; the reply carries our cluster id.
 */
int http_server_add_join_route(HttpServer *s, const char *path, HttpPeerHandler handler, void *userdata);

/* Serves GET path; with prefix, every path that starts with it (for "/v1/names/NAME"). */
int http_server_add_get_route(HttpServer *s, const char *path, bool prefix, HttpGetHandler handler, void *userdata);

/*
 * Answers req with 200 and a signed batch of msgs. h gives the replying host's
 * identity (from, incarnation, epoch, voters hash); version, cluster id and sequence
 * number (0 on replies) are filled in by the server. On an encoding error (-EINVAL,
 * -ERANGE, details in err) the request is answered with 500 instead, so it is answered
 * in every case.
 */
int http_peer_request_reply(HttpPeerRequest *req, const WireHeader *h, const PeerMsg *msgs, size_t n_msgs,
                            NetError *err);

/* Answers req with an error: 503 for -EAGAIN/-EBUSY (try again later, e.g. a voter
 * that is still recovering its state), else 500. */
int http_peer_request_fail(HttpPeerRequest *req, int error);

/* Answers req with an HTTP error status (4xx, 5xx) and a one-line text for the
 * operator ("409: already a member"). */
int http_peer_request_refuse(HttpPeerRequest *req, unsigned status, const char *text);

const char *http_peer_request_get_path(HttpPeerRequest *req);
