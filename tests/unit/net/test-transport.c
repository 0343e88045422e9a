/* SPDX-License-Identifier: MIT */
/* Tests of the HTTP server and client on real sockets on 127.0.0.1, all on one sd-event loop. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/http-client.h"
#include "net/http-server.h"

#define PATH "/v1/peer/batch"
#define CLUSTER UINT64_C(0x00c0ffee00c0ffee)

static const char key_hex[] = "4242424242424242424242424242424242424242424242424242424242424242";
static const char other_key_hex[] = "4343434343434343434343434343434343434343434343434343434343434343";

static AuthKey test_key(const char *hex) {
        AuthKey k;

        assert_int_equal(auth_key_from_hex(hex, strlen(hex), &k), 0);
        return k;
}

/*
 * Runs the loop until cond(userdata) holds, failing the test if that takes longer than
 * timeout: every wait in these tests has a deadline. The loop sleeps until an event
 * or the deadline, never on a short poll, so an event source that fails to wake the
 * loop shows up as a timeout instead of being papered over. The exception is a raw
 * request from another thread, whose end wakes nothing here; it polls (raw_run).
 */
static void run_until_poll(sd_event *e, bool (*cond)(void *), void *userdata, usec_t timeout, const char *what,
                           usec_t poll) {
        usec_t end = now(CLOCK_MONOTONIC) + timeout;

        while (!cond(userdata)) {
                usec_t n = now(CLOCK_MONOTONIC);

                if (n > end)
                        fail_msg("timed out waiting for %s", what);
                assert_true(sd_event_run(e, MIN(end - n + 1, poll)) >= 0);
        }
}

static void run_until(sd_event *e, bool (*cond)(void *), void *userdata, usec_t timeout, const char *what) {
        run_until_poll(e, cond, userdata, timeout, what, USEC_INFINITY);
}

/* ---- an endpoint: a server whose handler is a toy acceptor, and a client ---- */

typedef struct Endpoint {
        sd_event *event;
        uint16_t host;
        WireHeader self;
        HttpServer *server;
        HttpClient *client;
        unsigned handled;       /* batches the handler saw */
        bool answer_later;      /* answer from a defer source, as after a disk sync */
        bool never_answer;
        struct {
                HttpPeerRequest *req;
                PeerMsg *msgs;
                size_t n_msgs;
        } parked[16];
        size_t n_parked;
} Endpoint;

static WireHeader endpoint_header(uint16_t host) {
        return (WireHeader) {
                .version = WIRE_PROTOCOL_VERSION,
                .cluster_id = CLUSTER,
                .voters_hash = 0x1234,
                .from = host,
                .incarnation = 100 + host,
                .epoch = { .n = 1, .hash = 0xabc },
        };
}

/* PREPARE(b) → PROMISE(b), ACCEPT(b, v) → ACCEPTED(b), READ → READ_REPLY: enough
 * protocol to see batches travel both ways intact. */
static PeerMsg *toy_acceptor(const Endpoint *ep, const WireBatch *batch) {
        PeerMsg *out = calloc(batch->n_msgs ? batch->n_msgs : 1, sizeof(PeerMsg));

        assert_non_null(out);
        for (size_t i = 0; i < batch->n_msgs; i++) {
                const PeerMsg *m = batch->msgs + i;
                PeerMsg *o = out + i;

                *o = (PeerMsg) {
                        .from = ep->host,
                        .incarnation = ep->self.incarnation,
                        .epoch = ep->self.epoch,
                        .round = m->round,
                        .ballot = m->ballot,
                };
                memcpy(o->name, m->name, sizeof(o->name));
                switch (m->type) {
                case MSG_PREPARE:
                        o->type = MSG_PROMISE;
                        o->value.kind = VALUE_FREE;
                        break;
                case MSG_ACCEPT:
                        o->type = MSG_ACCEPTED;
                        break;
                default:
                        o->type = MSG_READ_REPLY;
                        break;
                }
        }
        return out;
}

static int on_answer_later(sd_event_source *s, void *userdata) {
        Endpoint *ep = userdata;

        for (size_t i = 0; i < ep->n_parked; i++) {
                assert_int_equal(http_peer_request_reply(ep->parked[i].req, &ep->self, ep->parked[i].msgs,
                                                         ep->parked[i].n_msgs, NULL), 0);
                free(ep->parked[i].msgs);
        }
        ep->n_parked = 0;
        sd_event_source_disable_unref(s);
        return 0;
}

static void on_peer_batch(HttpPeerRequest *req, const WireBatch *batch, void *userdata) {
        Endpoint *ep = userdata;
        PeerMsg *out;

        ep->handled++;
        assert_string_equal(http_peer_request_get_path(req), PATH);
        assert_true(batch->header.cluster_id == CLUSTER);
        if (ep->never_answer) {
                assert_true(ep->n_parked < ELEMENTSOF(ep->parked));
                ep->parked[ep->n_parked++].req = req;
                return;
        }

        out = toy_acceptor(ep, batch);
        if (ep->answer_later) {
                assert_true(ep->n_parked < ELEMENTSOF(ep->parked));
                if (ep->n_parked == 0)
                        assert_int_equal(sd_event_add_defer(ep->event, NULL, on_answer_later, ep), 0);
                ep->parked[ep->n_parked].req = req;
                ep->parked[ep->n_parked].msgs = out;
                ep->parked[ep->n_parked++].n_msgs = batch->n_msgs;
                return;
        }
        assert_int_equal(http_peer_request_reply(req, &ep->self, out, batch->n_msgs, NULL), 0);
        free(out);
}

static void endpoint_start(Endpoint *ep, sd_event *e, uint16_t host, const HttpServerConfig *sc,
                           const HttpClientConfig *cc) {
        static AuthKey key;
        HttpServerConfig s = sc ? *sc : HTTP_SERVER_CONFIG_INIT;
        HttpClientConfig c = cc ? *cc : HTTP_CLIENT_CONFIG_INIT;
        NetError err = {};

        key = test_key(key_hex);
        *ep = (Endpoint) { .event = e, .host = host, .self = endpoint_header(host) };

        if (!s.key)
                s.key = &key;
        s.address = "127.0.0.1";
        s.cluster_id = CLUSTER;
        if (http_server_new(&ep->server, e, &s, &err) < 0)
                fail_msg("server: %s", err.text);
        assert_true(http_server_get_port(ep->server) > 0);
        assert_int_equal(http_server_add_peer_route(ep->server, PATH, on_peer_batch, ep), 0);

        if (!c.key)
                c.key = &key;
        c.cluster_id = CLUSTER;
        if (http_client_new(&ep->client, e, &c, &err) < 0)
                fail_msg("client: %s", err.text);
}

static void endpoint_connect(Endpoint *from, const Endpoint *to) {
        NetError err = {};

        if (http_client_add_peer(from->client, to->host, "127.0.0.1", http_server_get_port(to->server), &err) < 0)
                fail_msg("add peer: %s", err.text);
}

static void endpoint_stop(Endpoint *ep) {
        ep->client = http_client_free(ep->client);
        ep->server = http_server_free(ep->server);
        for (size_t i = 0; i < ep->n_parked; i++)
                free(ep->parked[i].msgs);
        ep->n_parked = 0;
}

static PeerMsg *make_batch(const Endpoint *ep, MsgType type, size_t n, uint64_t counter) {
        PeerMsg *m = calloc(n, sizeof(PeerMsg));

        assert_non_null(m);
        for (size_t i = 0; i < n; i++) {
                m[i] = (PeerMsg) {
                        .type = type,
                        .from = ep->host,
                        .incarnation = ep->self.incarnation,
                        .epoch = ep->self.epoch,
                        .round = counter * 1000 + i,
                        .ballot = { .counter = counter, .host = ep->host },
                };
                if (type == MSG_ACCEPT)
                        m[i].value = (RegValue) {
                                .ba = m[i].ballot,
                                .seq = 1,
                                .kind = VALUE_LEASE,
                                .holder = ep->host,
                                .token = counter << 16 | ep->host,
                                .lease_usec = 3 * USEC_PER_SEC,
                        };
                (void) snprintf(m[i].name, sizeof(m[i].name), "unit-%zu.service", i);
        }
        return m;
}

/* ---- results ---- */

typedef struct Outcome {
        unsigned calls;
        int error;
        unsigned status;
        usec_t elapsed;
        usec_t at;
        size_t n_reply;
        MsgType first_type;
        uint16_t reply_from;
        char text[256];
} Outcome;

static void on_result(HttpClient *c, uint16_t peer, const HttpClientResult *res, void *userdata) {
        Outcome *o = userdata;

        o->calls++;
        o->error = res->error;
        o->status = res->http_status;
        o->elapsed = res->elapsed_usec;
        o->at = now(CLOCK_MONOTONIC);
        if (res->error_text)
                (void) snprintf(o->text, sizeof(o->text), "%s", res->error_text);
        if (res->error == 0) {
                o->n_reply = res->reply->n_msgs;
                o->reply_from = res->reply->header.from;
                if (res->reply->n_msgs > 0)
                        o->first_type = res->reply->msgs[0].type;
        }
}

static bool outcome_done(void *userdata) {
        return ((Outcome *) userdata)->calls > 0;
}

typedef struct Outcomes {
        Outcome *o;
        size_t n;
} Outcomes;

static bool outcomes_done(void *userdata) {
        Outcomes *os = userdata;

        for (size_t i = 0; i < os->n; i++)
                if (os->o[i].calls == 0)
                        return false;
        return true;
}

static void send_batch(Endpoint *from, uint16_t to, MsgType type, size_t n, uint64_t counter, usec_t timeout,
                       Outcome *o) {
        PeerMsg *m = make_batch(from, type, n, counter);
        NetError err = {};

        if (http_client_send(from->client, to, PATH, &from->self, m, n, timeout, on_result, o, &err) < 0)
                fail_msg("send: %s", err.text);
        free(m);
}

/* ---- tests ---- */

static void test_three_endpoints_exchange_prepare_and_accept(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Endpoint ep[3];
        Outcome prep[3][3] = {}, acc[3][3] = {};
        Outcomes all = { .o = &prep[0][0], .n = 9 };

        assert_int_equal(sd_event_new(&e), 0);
        for (unsigned i = 0; i < 3; i++)
                endpoint_start(&ep[i], e, (uint16_t) (i + 1), NULL, NULL);
        ep[2].answer_later = true; /* one of them answers after returning from its handler */
        for (unsigned i = 0; i < 3; i++)
                for (unsigned j = 0; j < 3; j++)
                        if (i != j)
                                endpoint_connect(&ep[i], &ep[j]);

        /* Every endpoint prepares 10 names at both others, then accepts them. */
        for (unsigned i = 0; i < 3; i++)
                for (unsigned j = 0; j < 3; j++) {
                        if (i == j) {
                                prep[i][j].calls = 1;
                                continue;
                        }
                        send_batch(&ep[i], ep[j].host, MSG_PREPARE, 10, 7 + i, 5 * USEC_PER_SEC, &prep[i][j]);
                }
        run_until(e, outcomes_done, &all, 5 * USEC_PER_SEC, "promises");

        for (unsigned i = 0; i < 3; i++)
                for (unsigned j = 0; j < 3; j++) {
                        if (i == j) {
                                acc[i][j].calls = 1;
                                continue;
                        }
                        if (prep[i][j].error != 0)
                                fail_msg("prepare %u→%u: %s", i, j, prep[i][j].text);
                        assert_int_equal(prep[i][j].status, 200);
                        assert_int_equal(prep[i][j].n_reply, 10);
                        assert_int_equal(prep[i][j].first_type, MSG_PROMISE);
                        assert_int_equal(prep[i][j].reply_from, ep[j].host);
                        send_batch(&ep[i], ep[j].host, MSG_ACCEPT, 10, 7 + i, 5 * USEC_PER_SEC, &acc[i][j]);
                }
        all.o = &acc[0][0];
        run_until(e, outcomes_done, &all, 5 * USEC_PER_SEC, "accepts");

        for (unsigned i = 0; i < 3; i++)
                for (unsigned j = 0; j < 3; j++)
                        if (i != j) {
                                if (acc[i][j].error != 0)
                                        fail_msg("accept %u→%u: %s", i, j, acc[i][j].text);
                                assert_int_equal(acc[i][j].first_type, MSG_ACCEPTED);
                                assert_int_equal(acc[i][j].n_reply, 10);
                        }
        for (unsigned i = 0; i < 3; i++) {
                assert_int_equal(ep[i].handled, 4);
                assert_int_equal(http_server_get_stats(ep[i].server)->peer_requests, 4);
                assert_int_equal(http_server_get_stats(ep[i].server)->unauthenticated, 0);
                assert_int_equal(http_server_get_stats(ep[i].server)->replayed, 0);
                endpoint_stop(&ep[i]);
        }
}

/* A listener that accepts connections and then either holds them without a word
 * or closes each one after reading the start of the request. */
typedef struct Sink {
        int listen_fd;
        uint16_t port;
        bool close_mid_request;
        int held[64];
        unsigned n_held;
        sd_event_source *source;
} Sink;

static int on_sink_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char buf[16];

        /* Read part of the request so the client is surely mid-request, then drop it. */
        (void) recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        sd_event_source_disable_unref(s);
        close(fd);
        return 0;
}

static int on_sink_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Sink *sink = userdata;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (c < 0)
                return 0;
        if (sink->close_mid_request) {
                assert_int_equal(sd_event_add_io(sd_event_source_get_event(s), NULL, c, EPOLLIN, on_sink_readable, NULL), 0);
                return 0;
        }
        if (sink->n_held < ELEMENTSOF(sink->held))
                sink->held[sink->n_held++] = c;
        else
                close(c);
        return 0;
}

static void sink_start(Sink *sink, sd_event *e, bool close_mid_request) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);

        *sink = (Sink) { .close_mid_request = close_mid_request };
        sink->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(sink->listen_fd >= 0);
        assert_int_equal(bind(sink->listen_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(sink->listen_fd, 64), 0);
        assert_int_equal(getsockname(sink->listen_fd, (struct sockaddr *) &sa, &len), 0);
        sink->port = ntohs(sa.sin_port);
        assert_int_equal(sd_event_add_io(e, &sink->source, sink->listen_fd, EPOLLIN, on_sink_accept, sink), 0);
}

static void sink_stop(Sink *sink) {
        sd_event_source_disable_unref(sink->source);
        for (unsigned i = 0; i < sink->n_held; i++)
                close(sink->held[i]);
        close(sink->listen_fd);
}

/* Sequential requests to one peer travel over one kept-alive connection, and a batch
 * of many requests in parallel over at most inflight_max of them. */
static void test_connections_are_kept_alive_and_reused(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Endpoint a, b;
        Outcome o[40] = {};
        Outcomes burst = { .o = o + 20, .n = 20 };

        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, NULL);
        endpoint_start(&b, e, 2, NULL, NULL);
        endpoint_connect(&a, &b);

        for (unsigned i = 0; i < 20; i++) {
                send_batch(&a, 2, MSG_READ, 1, 1, USEC_PER_SEC, &o[i]);
                run_until(e, outcome_done, &o[i], USEC_PER_SEC, "a sequential request");
                assert_int_equal(o[i].error, 0);
        }
        assert_int_equal(http_server_get_stats(b.server)->connections, 1);

        for (unsigned i = 20; i < 40; i++)
                send_batch(&a, 2, MSG_READ, 1, 1, USEC_PER_SEC, &o[i]);
        run_until(e, outcomes_done, &burst, USEC_PER_SEC, "a burst of requests");
        for (unsigned i = 20; i < 40; i++)
                assert_int_equal(o[i].error, 0);
        assert_true(http_server_get_stats(b.server)->connections <= HTTP_CLIENT_CONFIG_INIT.inflight_max);
        assert_int_equal(b.handled, 40);

        endpoint_stop(&a);
        endpoint_stop(&b);
}

static void test_dead_peers_do_not_delay_the_others(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Endpoint a, b;
        Sink mute, closer;
        Outcome to_b[5] = {}, to_mute[5] = {}, to_closer = {};
        Outcomes all_b = { .o = to_b, .n = 5 }, all_mute = { .o = to_mute, .n = 5 };
        NetError err = {};
        const usec_t deadline = 400 * USEC_PER_MSEC;
        usec_t t0;

        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, NULL);
        endpoint_start(&b, e, 2, NULL, NULL);
        endpoint_connect(&a, &b);
        sink_start(&mute, e, false);
        sink_start(&closer, e, true);
        assert_int_equal(http_client_add_peer(a.client, 3, "127.0.0.1", mute.port, &err), 0);
        assert_int_equal(http_client_add_peer(a.client, 4, "127.0.0.1", closer.port, &err), 0);

        /* The dead peers get their requests first, so they are ahead in every queue. */
        t0 = now(CLOCK_MONOTONIC);
        for (unsigned i = 0; i < 5; i++)
                send_batch(&a, 3, MSG_PREPARE, 1, 1, deadline, &to_mute[i]);
        send_batch(&a, 4, MSG_PREPARE, 1, 1, deadline, &to_closer);
        for (unsigned i = 0; i < 5; i++)
                send_batch(&a, 2, MSG_PREPARE, 1, 1, deadline, &to_b[i]);

        run_until(e, outcomes_done, &all_b, deadline, "the live peer's replies");
        for (unsigned i = 0; i < 5; i++) {
                if (to_b[i].error != 0)
                        fail_msg("live peer: %s", to_b[i].text);
                assert_true(to_b[i].elapsed < deadline);
        }

        run_until(e, outcome_done, &to_closer, deadline, "the closing peer's failure");
        assert_int_equal(to_closer.error, -ECONNRESET);
        assert_true(to_closer.elapsed < deadline);

        /* The mute peer's requests end at their deadline: not before, not much after. */
        run_until(e, outcomes_done, &all_mute, 2 * deadline, "the mute peer's deadlines");
        for (unsigned i = 0; i < 5; i++) {
                assert_int_equal(to_mute[i].error, -ETIMEDOUT);
                assert_true(to_mute[i].at - t0 >= deadline);
                assert_true(to_mute[i].at - t0 < deadline + 100 * USEC_PER_MSEC);
        }
        assert_int_equal(http_client_pending(a.client, 3), 0);
        assert_true(mute.n_held >= 1);

        sink_stop(&mute);
        sink_stop(&closer);
        endpoint_stop(&a);
        endpoint_stop(&b);
}

static void test_queue_for_a_dead_peer_is_bounded(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        HttpClientConfig cc = HTTP_CLIENT_CONFIG_INIT;
        Endpoint a;
        Sink mute;
        Outcome o[100] = {};
        Outcomes all = { .o = o, .n = 100 };
        unsigned overflowed = 0, timed_out = 0;

        cc.inflight_max = 2;
        cc.queue_max = 8;
        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, &cc);
        sink_start(&mute, e, false);
        assert_int_equal(http_client_add_peer(a.client, 3, "127.0.0.1", mute.port, NULL), 0);

        for (unsigned i = 0; i < 100; i++) {
                send_batch(&a, 3, MSG_PREPARE, 1, 1, 300 * USEC_PER_MSEC, &o[i]);
                assert_true(http_client_pending(a.client, 3) <= 2 + 8 + 1);
        }
        /* Nothing is reported from inside http_client_send(). */
        for (unsigned i = 0; i < 100; i++)
                assert_int_equal(o[i].calls, 0);

        run_until(e, outcomes_done, &all, 2 * USEC_PER_SEC, "every request to end");
        for (unsigned i = 0; i < 100; i++) {
                assert_int_equal(o[i].calls, 1);
                if (o[i].error == -ENOBUFS)
                        overflowed++;
                else if (o[i].error == -ETIMEDOUT)
                        timed_out++;
        }
        /* The first two went on the wire; of the rest, the newest eight kept their place
         * in the queue and every older one was pushed out. */
        assert_int_equal(overflowed, 90);
        assert_int_equal(timed_out, 10);
        assert_int_equal(o[0].error, -ETIMEDOUT);
        assert_int_equal(o[1].error, -ETIMEDOUT);
        for (unsigned i = 92; i < 100; i++)
                assert_int_equal(o[i].error, -ETIMEDOUT);
        assert_int_equal(http_client_pending(a.client, 3), 0);

        sink_stop(&mute);
        endpoint_stop(&a);
}

/* ---- raw requests from another thread, to send exactly the bytes a test wants ---- */

typedef struct Raw {
        uint16_t port;
        const char *method;
        const char *path;
        const char *body;
        size_t size;
        const char *signature;
        bool chunked;
        long status;
        CURLcode code;
        char reply[512];
        size_t reply_size;
        bool done;
} Raw;

static size_t raw_write(char *data, size_t size, size_t nmemb, void *userdata) {
        Raw *r = userdata;
        size_t n = size * nmemb, k = MIN(n, sizeof(r->reply) - 1 - r->reply_size);

        memcpy(r->reply + r->reply_size, data, k);
        r->reply_size += k;
        r->reply[r->reply_size] = 0;
        return n;
}

static void *raw_thread(void *p) {
        Raw *r = p;
        CURL *c = curl_easy_init();
        struct curl_slist *h = NULL;
        char url[256], sig[128];

        (void) snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", r->port, r->path);
        (void) curl_easy_setopt(c, CURLOPT_URL, url);
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
        (void) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, raw_write);
        (void) curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        if (r->body) {
                (void) curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
                if (!r->chunked)
                        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->size);
        }
        h = curl_slist_append(h, "Expect:");
        if (r->chunked)
                h = curl_slist_append(h, "Transfer-Encoding: chunked");
        if (r->signature) {
                (void) snprintf(sig, sizeof(sig), "%s: %s", AUTH_SIGNATURE_HEADER, r->signature);
                h = curl_slist_append(h, sig);
        }
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        r->code = curl_easy_perform(c);
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        __atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
        return NULL;
}

static bool raw_done(void *userdata) {
        return __atomic_load_n(&((Raw *) userdata)->done, __ATOMIC_ACQUIRE);
}

static void raw_run(sd_event *e, Raw *r) {
        pthread_t t;

        r->done = false;
        r->reply_size = 0;
        r->reply[0] = 0;
        assert_int_equal(pthread_create(&t, NULL, raw_thread, r), 0);
        run_until_poll(e, raw_done, r, 5 * USEC_PER_SEC, "a raw request", 10 * USEC_PER_MSEC);
        assert_int_equal(pthread_join(t, NULL), 0);
}

/* A signed request as a peer would send it, but with every field under the test's control. */
static void signed_body(const Endpoint *from, uint64_t incarnation, uint64_t seq, uint64_t cluster,
                        const AuthKey *key, char **ret_body, size_t *ret_size, char sig[static AUTH_SIGNATURE_HEX_SIZE]) {
        WireHeader h = from->self;
        PeerMsg *m;

        h.incarnation = incarnation;
        h.seq = seq;
        h.cluster_id = cluster;
        m = make_batch(from, MSG_PREPARE, 2, 3);
        for (unsigned i = 0; i < 2; i++)
                m[i].incarnation = incarnation;
        assert_int_equal(wire_batch_encode(&h, m, 2, ret_body, ret_size, NULL), 0);
        free(m);
        assert_int_equal(auth_sign_request(key, "POST", PATH, *ret_body, *ret_size, sig), 0);
}

static void test_unauthenticated_and_replayed_requests_are_refused(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        AuthKey key = test_key(key_hex), other = test_key(other_key_hex);
        HttpClientConfig cc = HTTP_CLIENT_CONFIG_INIT;
        Endpoint a, b, intruder;
        char sig[AUTH_SIGNATURE_HEX_SIZE], *body;
        size_t size;
        Outcome o = {};
        Raw raw;
        const HttpServerStats *st;

        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, NULL);
        endpoint_start(&b, e, 2, NULL, NULL);
        cc.key = &other;
        endpoint_start(&intruder, e, 1, NULL, &cc);
        endpoint_connect(&intruder, &b);
        st = http_server_get_stats(b.server);

        /* A client with the wrong key. */
        send_batch(&intruder, 2, MSG_PREPARE, 3, 1, USEC_PER_SEC, &o);
        run_until(e, outcome_done, &o, USEC_PER_SEC, "the wrong-key request");
        assert_int_equal(o.error, -EACCES);
        assert_int_equal(o.status, 401);
        assert_int_equal(st->unauthenticated, 1);
        assert_int_equal(b.handled, 0);

        /* A good request, then the very same bytes again. */
        signed_body(&a, 101, 5, CLUSTER, &key, &body, &size, sig);
        raw = (Raw) { .port = http_server_get_port(b.server), .method = "POST", .path = PATH,
                      .body = body, .size = size, .signature = sig };
        raw_run(e, &raw);
        assert_int_equal(raw.status, 200);
        assert_int_equal(b.handled, 1);
        raw_run(e, &raw);
        assert_int_equal(raw.status, 401);
        assert_non_null(strstr(raw.reply, "already seen"));
        assert_int_equal(st->replayed, 1);
        assert_int_equal(b.handled, 1);

        /* A forged signature over the same body; no signature at all; a body changed
         * under a valid signature. */
        raw.signature = "0000000000000000000000000000000000000000000000000000000000000000";
        raw_run(e, &raw);
        assert_int_equal(raw.status, 401);
        raw.signature = NULL;
        raw_run(e, &raw);
        assert_int_equal(raw.status, 401);
        assert_non_null(strstr(raw.reply, "signature missing"));
        free(body);
        signed_body(&a, 101, 6, CLUSTER, &key, &body, &size, sig);
        body[size - 3] = body[size - 3] == '1' ? '2' : '1';
        raw.body = body;
        raw.signature = sig;
        raw_run(e, &raw);
        assert_int_equal(raw.status, 401);
        assert_int_equal(st->unauthenticated, 4);
        free(body);

        /* An older incarnation of the sender, after a newer one was seen. */
        signed_body(&a, 102, 1, CLUSTER, &key, &body, &size, sig);
        raw.body = body;
        raw.size = size;
        raw_run(e, &raw);
        assert_int_equal(raw.status, 200);
        free(body);
        signed_body(&a, 101, 7, CLUSTER, &key, &body, &size, sig);
        raw.body = body;
        raw.size = size;
        raw_run(e, &raw);
        assert_int_equal(raw.status, 401);
        assert_non_null(strstr(raw.reply, "older incarnation"));
        free(body);

        /* Signed with our key, but for another cluster. */
        signed_body(&a, 102, 2, CLUSTER + 1, &key, &body, &size, sig);
        raw.body = body;
        raw.size = size;
        raw_run(e, &raw);
        assert_int_equal(raw.status, 403);
        assert_int_equal(st->wrong_cluster, 1);
        free(body);

        /* Authentic but malformed. */
        assert_int_equal(auth_sign_request(&key, "POST", PATH, "{}", 2, sig), 0);
        raw.body = "{}";
        raw.size = 2;
        raw_run(e, &raw);
        assert_int_equal(raw.status, 400);
        assert_non_null(strstr(raw.reply, "version: missing field"));
        assert_int_equal(st->malformed, 1);

        assert_int_equal(b.handled, 2);
        assert_int_equal(st->peer_requests, 2);
        assert_int_equal(st->replayed, 2);

        endpoint_stop(&intruder);
        endpoint_stop(&a);
        endpoint_stop(&b);
}

static void test_body_size_limit(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        HttpServerConfig sc = HTTP_SERVER_CONFIG_INIT;
        Endpoint a, b;
        Outcome small = {}, big = {};
        char *chunk;
        Raw raw;

        sc.body_max = 4096;
        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, NULL);
        endpoint_start(&b, e, 2, &sc, NULL);
        endpoint_connect(&a, &b);

        send_batch(&a, 2, MSG_ACCEPT, 2, 1, USEC_PER_SEC, &small);
        send_batch(&a, 2, MSG_ACCEPT, 100, 1, USEC_PER_SEC, &big);
        run_until(e, outcome_done, &big, USEC_PER_SEC, "the oversized request");
        run_until(e, outcome_done, &small, USEC_PER_SEC, "the small request");
        assert_int_equal(small.error, 0);
        assert_int_equal(big.error, -EMSGSIZE);
        assert_int_equal(big.status, 413);
        assert_int_equal(http_server_get_stats(b.server)->too_large, 1);
        assert_int_equal(b.handled, 1);

        /* A chunked body announces no length; it is cut off once it passes the limit. */
        chunk = malloc(3 * sc.body_max);
        assert_non_null(chunk);
        memset(chunk, 'x', 3 * sc.body_max);
        chunk[3 * sc.body_max - 1] = 0;
        raw = (Raw) { .port = http_server_get_port(b.server), .method = "POST", .path = PATH,
                      .body = chunk, .chunked = true, .signature = "00" };
        raw_run(e, &raw);
        assert_int_not_equal(raw.status, 200);
        assert_int_equal(http_server_get_stats(b.server)->too_large, 2);
        assert_int_equal(b.handled, 1);
        free(chunk);

        endpoint_stop(&a);
        endpoint_stop(&b);
}

typedef struct SlowClient {
        int fd;
        bool closed;
} SlowClient;

static bool slow_client_closed(void *userdata) {
        SlowClient *s = userdata;
        char buf[64];
        ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n == 0 || (n < 0 && errno != EAGAIN))
                s->closed = true;
        return s->closed;
}

static void test_half_open_client_does_not_stall_the_loop(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        HttpServerConfig sc = HTTP_SERVER_CONFIG_INIT;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        static const char partial[] = "POST " PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"ver";
        Endpoint a, b;
        SlowClient slow[3];
        Outcome o = {};
        usec_t t0;

        sc.connection_timeout_sec = 1;
        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, NULL);
        endpoint_start(&b, e, 2, &sc, NULL);
        endpoint_connect(&a, &b);

        /* Three clients that stop talking: before the headers end, mid-body, and right
         * after connecting. */
        sa.sin_port = htons(http_server_get_port(b.server));
        for (unsigned i = 0; i < 3; i++) {
                slow[i] = (SlowClient) { .fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) };
                assert_true(slow[i].fd >= 0);
                assert_int_equal(connect(slow[i].fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        }
        assert_int_equal(send(slow[0].fd, partial, 20, 0), 20);
        assert_int_equal(send(slow[1].fd, partial, sizeof(partial) - 1, 0), (ssize_t) sizeof(partial) - 1);

        t0 = now(CLOCK_MONOTONIC);
        send_batch(&a, 2, MSG_PREPARE, 5, 1, USEC_PER_SEC, &o);
        run_until(e, outcome_done, &o, USEC_PER_SEC, "a request next to the stalled clients");
        assert_int_equal(o.error, 0);
        assert_true(now(CLOCK_MONOTONIC) - t0 < 500 * USEC_PER_MSEC);

        /* The idle timeout then frees their connections. */
        for (unsigned i = 0; i < 3; i++) {
                run_until_poll(e, slow_client_closed, &slow[i], 4 * USEC_PER_SEC, "the server to drop a stalled client",
                               10 * USEC_PER_MSEC);
                close(slow[i].fd);
        }
        assert_int_equal(b.handled, 1);

        endpoint_stop(&a);
        endpoint_stop(&b);
}

static int connect_to(uint16_t port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                  .sin_port = htons(port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

static void test_per_ip_connection_limit(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        HttpServerConfig sc = HTTP_SERVER_CONFIG_INIT;
        Endpoint a, b;
        Outcome refused = {}, served = {};
        int idle[3];

        sc.per_ip_limit = 3;
        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, NULL);
        endpoint_start(&b, e, 2, &sc, NULL);
        endpoint_connect(&a, &b);

        /* Three idle connections from 127.0.0.1 use up its share. */
        for (unsigned i = 0; i < 3; i++)
                idle[i] = connect_to(http_server_get_port(b.server));
        send_batch(&a, 2, MSG_READ, 1, 1, USEC_PER_SEC, &refused);
        run_until(e, outcome_done, &refused, USEC_PER_SEC, "the request over the limit");
        assert_true(refused.error < 0);
        assert_int_not_equal(refused.error, -ETIMEDOUT);
        assert_int_equal(b.handled, 0);

        /* Once they go, the same address is served again. */
        for (unsigned i = 0; i < 3; i++)
                close(idle[i]);
        send_batch(&a, 2, MSG_READ, 1, 1, USEC_PER_SEC, &served);
        run_until(e, outcome_done, &served, USEC_PER_SEC, "the request under the limit");
        if (served.error != 0)
                fail_msg("request after the idle connections closed: %s", served.text);
        assert_int_equal(b.handled, 1);

        endpoint_stop(&a);
        endpoint_stop(&b);
}

typedef struct Trickle {
        int fd;
        unsigned sent;
        bool closed;
} Trickle;

static int on_trickle(sd_event_source *s, uint64_t usec, void *userdata) {
        Trickle *t = userdata;

        /* One byte of body every 20 ms: never idle long enough for the idle timeout. */
        if (send(t->fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
                t->closed = true;
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        t->sent++;
        (void) sd_event_source_set_time_relative(s, 20 * USEC_PER_MSEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static bool trickle_cut(void *userdata) {
        Trickle *t = userdata;
        char buf[64];
        ssize_t n = recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n == 0 || (n < 0 && errno != EAGAIN))
                t->closed = true;
        return t->closed;
}

static void test_trickling_request_body_is_cut_off(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        HttpServerConfig sc = HTTP_SERVER_CONFIG_INIT;
        static const char head[] = "POST " PATH " HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
        sd_event_source *timer = NULL;
        Endpoint b;
        Trickle t = {};
        usec_t t0;

        sc.request_timeout_usec = 300 * USEC_PER_MSEC;
        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&b, e, 2, &sc, NULL);

        t.fd = connect_to(http_server_get_port(b.server));
        assert_int_equal(send(t.fd, head, sizeof(head) - 1, 0), (ssize_t) sizeof(head) - 1);
        t0 = now(CLOCK_MONOTONIC);
        assert_int_equal(sd_event_add_time_relative(e, &timer, CLOCK_MONOTONIC, 20 * USEC_PER_MSEC, 1, on_trickle, &t), 0);

        run_until_poll(e, trickle_cut, &t, 3 * USEC_PER_SEC, "the server to cut off a trickling body",
                       10 * USEC_PER_MSEC);
        assert_true(now(CLOCK_MONOTONIC) - t0 >= 300 * USEC_PER_MSEC);
        assert_true(t.sent >= 5);
        assert_int_equal(http_server_get_stats(b.server)->timed_out, 1);
        assert_int_equal(b.handled, 0);

        sd_event_source_disable_unref(timer);
        close(t.fd);
        endpoint_stop(&b);
}

static int get_metrics(HttpServer *s, const char *path, char **ret_body, size_t *ret_size,
                       const char **ret_content_type, void *userdata) {
        char *body;

        if (asprintf(&body, "pes_path{path=\"%s\"} 1\n", path) < 0)
                return -ENOMEM;
        *ret_body = body;
        *ret_size = strlen(body);
        *ret_content_type = "text/plain; version=0.0.4";
        return 200;
}

static void test_get_routes_and_unknown_paths(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Endpoint b;
        Raw raw;

        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&b, e, 2, NULL, NULL);
        assert_int_equal(http_server_add_get_route(b.server, "/metrics", false, get_metrics, NULL), 0);
        assert_int_equal(http_server_add_get_route(b.server, "/v1/names/", true, get_metrics, NULL), 0);
        assert_int_equal(http_server_add_get_route(b.server, "/metrics", false, get_metrics, NULL), -EEXIST);
        assert_int_equal(http_server_add_peer_route(b.server, "/v1/other", on_peer_batch, NULL), -EINVAL);
        assert_int_equal(http_server_add_peer_route(b.server, PATH, on_peer_batch, NULL), -EEXIST);

        raw = (Raw) { .port = http_server_get_port(b.server), .method = "GET", .path = "/metrics" };
        raw_run(e, &raw);
        assert_int_equal(raw.status, 200);
        assert_string_equal(raw.reply, "pes_path{path=\"/metrics\"} 1\n");

        raw.path = "/v1/names/report.service";
        raw_run(e, &raw);
        assert_int_equal(raw.status, 200);
        assert_non_null(strstr(raw.reply, "report.service"));

        raw.path = "/nope";
        raw_run(e, &raw);
        assert_int_equal(raw.status, 404);

        raw.path = PATH;
        raw_run(e, &raw);
        assert_int_equal(raw.status, 405);

        raw.path = "/metrics";
        raw.method = "POST";
        raw.body = "x";
        raw.size = 1;
        raw_run(e, &raw);
        assert_int_equal(raw.status, 405);
        assert_int_equal(http_server_get_stats(b.server)->get_requests, 2);
        assert_int_equal(http_server_get_stats(b.server)->not_found, 3);

        endpoint_stop(&b);
}

typedef struct ProbeResult {
        bool done;
        int error;
        unsigned status;
        bool reply;
} ProbeResult;

static void on_probe(HttpClient *c, uint16_t peer, const HttpClientResult *r, void *userdata) {
        ProbeResult *p = userdata;

        p->done = true;
        p->error = r->error;
        p->status = r->http_status;
        p->reply = r->reply != NULL;
}

static bool probe_done(void *userdata) {
        return ((ProbeResult *) userdata)->done;
}

static void test_health_probes_pass_on_2xx_and_fail_otherwise(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        ProbeResult ok = {}, missing = {}, refused = {};
        char url[128];
        Endpoint b;
        NetError err = {};
        int fd;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;

        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&b, e, 2, NULL, NULL);
        assert_int_equal(http_server_add_get_route(b.server, "/metrics", false, get_metrics, NULL), 0);

        snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", http_server_get_port(b.server));
        assert_int_equal(http_client_probe(b.client, url, USEC_PER_SEC, on_probe, &ok, &err), 0);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/nope", http_server_get_port(b.server));
        assert_int_equal(http_client_probe(b.client, url, USEC_PER_SEC, on_probe, &missing, &err), 0);
        /* A port nobody listens on: bind one, note it, close it. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
        close(fd);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(sa.sin_port));
        assert_int_equal(http_client_probe(b.client, url, USEC_PER_SEC, on_probe, &refused, &err), 0);

        run_until(e, probe_done, &ok, 5 * USEC_PER_SEC, "the passing probe");
        run_until(e, probe_done, &missing, 5 * USEC_PER_SEC, "the 404 probe");
        run_until(e, probe_done, &refused, 5 * USEC_PER_SEC, "the refused probe");
        assert_int_equal(ok.error, 0);
        assert_int_equal(ok.status, 200);
        assert_false(ok.reply);
        assert_int_equal(missing.error, -EIO);
        assert_int_equal(missing.status, 404);
        assert_true(refused.error < 0);
        assert_int_equal(refused.status, 0);

        assert_int_equal(http_client_probe(b.client, "ftp://127.0.0.1/", USEC_PER_SEC, on_probe, &ok, &err), -EINVAL);
        assert_int_equal(http_client_probe(b.client, "http://a b/", USEC_PER_SEC, on_probe, &ok, &err), -EINVAL);
        endpoint_stop(&b);
}

static void test_server_freed_with_unanswered_requests(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Endpoint a, b;
        Outcome o = {};

        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, NULL);
        endpoint_start(&b, e, 2, NULL, NULL);
        b.never_answer = true;
        endpoint_connect(&a, &b);

        send_batch(&a, 2, MSG_PREPARE, 1, 1, 2 * USEC_PER_SEC, &o);
        while (b.handled == 0)
                assert_true(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
        assert_int_equal(b.n_parked, 1);

        /* Freeing answers the parked request; the client hears of it well before its deadline. */
        b.server = http_server_free(b.server);
        run_until(e, outcome_done, &o, USEC_PER_SEC, "the parked request to end");
        assert_true(o.error < 0);
        assert_int_not_equal(o.error, -ETIMEDOUT);

        endpoint_stop(&a);
        endpoint_stop(&b);
}

static void test_removing_a_peer_cancels_its_requests(void **state) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Endpoint a;
        Sink mute;
        Outcome o[3] = {};
        Outcomes all = { .o = o, .n = 3 };

        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, NULL);
        sink_start(&mute, e, false);
        assert_int_equal(http_client_add_peer(a.client, 3, "127.0.0.1", mute.port, NULL), 0);
        assert_int_equal(http_client_add_peer(a.client, 3, "127.0.0.1", mute.port, NULL), -EEXIST);

        for (unsigned i = 0; i < 3; i++)
                send_batch(&a, 3, MSG_READ, 1, 1, 5 * USEC_PER_SEC, &o[i]);
        for (unsigned i = 0; i < 5; i++)
                assert_true(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
        assert_int_equal(http_client_remove_peer(a.client, 3), 0);
        assert_int_equal(http_client_remove_peer(a.client, 3), -ENOENT);
        assert_int_equal(o[0].calls, 0);
        run_until(e, outcomes_done, &all, USEC_PER_SEC, "cancellations");
        for (unsigned i = 0; i < 3; i++)
                assert_int_equal(o[i].error, -ECANCELED);

        {
                PeerMsg m = { .type = MSG_READ, .from = 1, .incarnation = a.self.incarnation, .epoch = a.self.epoch };
                NetError err = {};

                strcpy(m.name, "x");
                assert_int_equal(http_client_send(a.client, 3, PATH, &a.self, &m, 1, USEC_PER_SEC, on_result, o, &err),
                                 -ENOENT);
                m.name[0] = 0;
                assert_int_equal(http_client_add_peer(a.client, 3, "127.0.0.1", mute.port, NULL), 0);
                assert_int_equal(http_client_send(a.client, 3, PATH, &a.self, &m, 1, USEC_PER_SEC, on_result, o, &err),
                                 -EINVAL);
                assert_non_null(strstr(err.text, "msgs[0].name: empty name"));
        }

        sink_stop(&mute);
        endpoint_stop(&a);
}

/* ---- joins ---- */

#define JOIN_PATH "/v1/join"

typedef struct Joins {
        unsigned handled;
        bool refuse;
        char name[WIRE_NODE_NAME_MAX + 1];
        uint64_t cluster_seen;
        uint16_t from_seen;
} Joins;

static Joins joins;

static void on_join(HttpPeerRequest *req, const WireBatch *batch, void *userdata) {
        Endpoint *ep = userdata;
        Joins *j = &joins;
        WireHeader h = ep->self;
        WireNode book[1] = { { .id = 7, .port = 7487 } };

        j->handled++;
        assert_string_equal(http_peer_request_get_path(req), JOIN_PATH);
        assert_true(batch->header.has_node);
        snprintf(j->name, sizeof j->name, "%s", batch->header.node.name);
        j->cluster_seen = batch->header.cluster_id;
        j->from_seen = batch->header.from;
        if (j->refuse) {
                assert_int_equal(http_peer_request_refuse(req, 409, "h7 is already a member"), 0);
                return;
        }
        snprintf(book[0].name, sizeof book[0].name, "%s", batch->header.node.name);
        snprintf(book[0].address, sizeof book[0].address, "%s", batch->header.node.address);
        h.book = book;
        h.n_book = 1;
        snprintf(h.cluster_name, sizeof h.cluster_name, "prod");
        assert_int_equal(http_peer_request_reply(req, &h, NULL, 0, NULL), 0);
}

typedef struct JoinOutcome {
        unsigned calls;
        int error;
        char text[256];
        uint64_t cluster;
        uint16_t id;
        char cluster_name[WIRE_CLUSTER_NAME_MAX + 1];
} JoinOutcome;

static void on_join_result(HttpClient *c, uint16_t peer, const HttpClientResult *res, void *userdata) {
        JoinOutcome *o = userdata;

        o->calls++;
        o->error = res->error;
        if (res->error_text)
                snprintf(o->text, sizeof o->text, "%s", res->error_text);
        if (res->error == 0) {
                o->cluster = res->reply->header.cluster_id;
                assert_int_equal(res->reply->header.n_book, 1);
                o->id = res->reply->header.book[0].id;
                snprintf(o->cluster_name, sizeof o->cluster_name, "%s", res->reply->header.cluster_name);
        }
}

static bool join_done(void *userdata) {
        return ((JoinOutcome *) userdata)->calls > 0;
}

static void join_from(sd_event *e, HttpClient *c, uint16_t port, uint16_t from, JoinOutcome *o) {
        WireHeader h = endpoint_header(from);
        NetError err = {};

        h.cluster_id = UINT64_C(0x1111111111111111); /* the joiner's own, one-node cluster */
        h.has_node = true;
        h.node = (WireNode) { .name = "h7", .address = "127.0.0.7", .port = 7487 };
        *o = (JoinOutcome) {};
        if (http_client_join(c, "127.0.0.1", port, JOIN_PATH, &h, 2 * USEC_PER_SEC, on_join_result, o, &err) < 0)
                fail_msg("join: %s", err.text);
        run_until(e, join_done, o, 5 * USEC_PER_SEC, "the join's answer");
}

/* A host of another cluster (its own one-node cluster) asks to join with the right
 * key: it is heard and answered with our cluster id; with another key it is
 * refused; a member's refusal reaches it with its reason; and its requests, made
 * under an id that is a member's here, never move that member's replay window. */
static void test_join_route_takes_other_clusters_but_not_other_keys(void **state) {
        static AuthKey same, other;
        HttpClientConfig cc = HTTP_CLIENT_CONFIG_INIT;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Endpoint a, b;
        Joins *j = &joins;
        JoinOutcome o;
        HttpClient *joiner, *stranger;
        Outcome po = {};
        NetError err = {};

        assert_int_equal(sd_event_new(&e), 0);
        endpoint_start(&a, e, 1, NULL, NULL);
        endpoint_start(&b, e, 2, NULL, NULL);
        endpoint_connect(&b, &a);
        *j = (Joins) {};
        assert_int_equal(http_server_add_join_route(a.server, JOIN_PATH, on_join, &a), 0);

        same = test_key(key_hex);
        cc.key = &same;
        cc.cluster_id = UINT64_C(0x1111111111111111);
        assert_int_equal(http_client_new(&joiner, e, &cc, &err), 0);
        other = test_key(other_key_hex);
        cc.key = &other;
        assert_int_equal(http_client_new(&stranger, e, &cc, &err), 0);

        /* A joiner whose id (2) and incarnation are those of member b: a high
         * sequence number of its own must not refuse b's next request as a replay. */
        join_from(e, joiner, http_server_get_port(a.server), 2, &o);
        assert_int_equal(o.error, 0);
        assert_int_equal(j->handled, 1);
        assert_string_equal(j->name, "h7");
        assert_true(j->cluster_seen == UINT64_C(0x1111111111111111));
        assert_true(o.cluster == CLUSTER);
        assert_int_equal(o.id, 7);
        assert_string_equal(o.cluster_name, "prod");
        send_batch(&b, 1, MSG_PREPARE, 1, 1, USEC_PER_SEC, &po);
        run_until(e, outcome_done, &po, 5 * USEC_PER_SEC, "b's request after the join");
        assert_int_equal(po.error, 0);

        j->refuse = true;
        join_from(e, joiner, http_server_get_port(a.server), 9, &o);
        assert_int_equal(o.error, -EEXIST);
        assert_non_null(strstr(o.text, "h7 is already a member"));

        join_from(e, stranger, http_server_get_port(a.server), 9, &o);
        assert_int_equal(o.error, -EACCES);
        assert_int_equal(j->handled, 2);

        /* The plain peer route still refuses another cluster. */
        assert_int_equal(http_server_get_stats(a.server)->wrong_cluster, 0);
        http_client_free(joiner);
        http_client_free(stranger);
        endpoint_stop(&a);
        endpoint_stop(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_three_endpoints_exchange_prepare_and_accept),
                cmocka_unit_test(test_connections_are_kept_alive_and_reused),
                cmocka_unit_test(test_dead_peers_do_not_delay_the_others),
                cmocka_unit_test(test_queue_for_a_dead_peer_is_bounded),
                cmocka_unit_test(test_unauthenticated_and_replayed_requests_are_refused),
                cmocka_unit_test(test_body_size_limit),
                cmocka_unit_test(test_half_open_client_does_not_stall_the_loop),
                cmocka_unit_test(test_per_ip_connection_limit),
                cmocka_unit_test(test_trickling_request_body_is_cut_off),
                cmocka_unit_test(test_get_routes_and_unknown_paths),
                cmocka_unit_test(test_health_probes_pass_on_2xx_and_fail_otherwise),
                cmocka_unit_test(test_server_freed_with_unanswered_requests),
                cmocka_unit_test(test_removing_a_peer_cancels_its_requests),
                cmocka_unit_test(test_join_route_takes_other_clusters_but_not_other_keys),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
