/* SPDX-License-Identifier: MIT */
/* The peer-port HTTP client: libcurl's multi socket API driven by sd-event, with a bounded queue and a deadline per request. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "basic/time-util.h"
#include "net/auth.h"
#include "net/net-error.h"
#include "net/wire.h"

typedef struct HttpClient HttpClient;

typedef struct HttpClientConfig {
        const AuthKey *key;         /* the cluster key; required */
        uint64_t cluster_id;        /* replies for another cluster are refused */

        /*
         * Per peer: at most inflight_max requests on the wire at once (each on its own
         * kept-alive connection) and at most queue_max more waiting behind them. A
         * request that would overflow the queue pushes out the oldest waiting one, which
         * fails with -ENOBUFS: fresh consensus messages matter more than stale ones, and
         * a dead peer costs bounded memory.
         */
        unsigned inflight_max;      /* default 4 */
        unsigned queue_max;         /* default 64 */
        size_t reply_max;           /* larger replies fail with -EMSGSIZE (default 4 MiB) */
        usec_t connect_timeout_usec; /* default 1 s, and never beyond the request's deadline */

        /* Optional TLS: with tls_ca_file set, peers are reached over https and their
         * certificate must be signed by that CA and match the peer's address; the
         * client certificate (tls_cert_file, tls_key_file) is presented to them. */
        const char *tls_ca_file;
        const char *tls_cert_file;
        const char *tls_key_file;
} HttpClientConfig;

#define HTTP_CLIENT_CONFIG_INIT                                         \
        ((HttpClientConfig) {                                           \
                .inflight_max = 4,                                      \
                .queue_max = 64,                                        \
                .reply_max = 4u * 1024u * 1024u,                        \
                .connect_timeout_usec = USEC_PER_SEC,                   \
        })

/* How one request ended. */
typedef struct HttpClientResult {
        int error;              /* 0, or a negative errno: -ETIMEDOUT (deadline), -ENOBUFS
                                 * (pushed out of a full queue), -ECANCELED (peer removed),
                                 * -ECONNREFUSED, -ECONNRESET, -EACCES (401), -EPERM (403),
                                 * -EMSGSIZE (413 or reply too large), -EAGAIN (503),
                                 * -EBADMSG (bad or unsigned reply), -EPROTO, -EIO … */
        const char *error_text; /* what went wrong, in words, when error < 0 */
        unsigned http_status;   /* 0 when no HTTP reply arrived */
        const WireBatch *reply; /* the verified, decoded reply when error == 0 */
        usec_t elapsed_usec;    /* from http_client_send() to completion */
} HttpClientResult;

/* Called exactly once per accepted request, always from the event loop and never from
 * inside http_client_send(). result and its reply are valid during the call only. The
 * callback may send more requests and add or remove peers, but not free the client. */
typedef void (*HttpClientCallback)(HttpClient *c, uint16_t peer, const HttpClientResult *result, void *userdata);

int http_client_new(HttpClient **ret, sd_event *e, const HttpClientConfig *config, NetError *err);

/* Drops every request without calling its callback. */
HttpClient *http_client_free(HttpClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpClient *, http_client_free);

/* Makes host reachable at address (host name or IP literal, without brackets) and port. */
int http_client_add_peer(HttpClient *c, uint16_t host, const char *address, uint16_t port, NetError *err);

/* Forgets host; its requests fail with -ECANCELED. -ENOENT if unknown. */
int http_client_remove_peer(HttpClient *c, uint16_t host);

/*
 * Queues a POST of the batch (h, msgs) to host's path, to be answered within timeout
 * (counted from now, queueing included). The messages are checked and converted now,
 * so an invalid one fails here (-EINVAL/-ERANGE, err names the field); the header's
 * version, cluster id and anti-replay sequence are filled in when the request leaves.
 * Returns 0 and calls callback later exactly once, or a negative errno and never
 * calls it (-ENOENT for an unknown peer).
 */
int http_client_send(HttpClient *c, uint16_t host, const char *path, const WireHeader *h,
                     const PeerMsg *msgs, size_t n_msgs, usec_t timeout,
                     HttpClientCallback callback, void *userdata, NetError *err);

/*
 * A health probe (HealthURL=): GET url (http:// or https://, certificates checked
 * against the system's CAs) within timeout. It passes on any 2xx or 3xx answer;
 * otherwise the callback's result has error -EIO (with http_status), a transport
 * error, or -ETIMEDOUT. No signature, no batch: result->reply is NULL. Probes queue
 * apart from the peers, with the same bounds. Returns 0 and calls callback once
 * later, or -EINVAL for a bad URL.
 */
int http_client_probe(HttpClient *c, const char *url, usec_t timeout, HttpClientCallback callback, void *userdata,
                      NetError *err);

/*
 * `pesctl join`: POSTs the batch (h, no messages; h carries this host's "node"
 * entry) to path at address:port, a member of the cluster to join, within timeout.
 * The reply's signature is checked with our key, but its cluster id and sender are
 * not (they are what the joiner learns): the callback gets the decoded reply, or an
 * error (-EACCES: the member refused our signature, i.e. another key; -EEXIST (409)
 * and the like with the member's reason in error_text).
 */
int http_client_join(HttpClient *c, const char *address, uint16_t port, const char *path, const WireHeader *h,
                     usec_t timeout, HttpClientCallback callback, void *userdata, NetError *err);

/* Requests waiting or on the wire for host (0 if unknown), for tests and metrics. */
unsigned http_client_pending(HttpClient *c, uint16_t host);
