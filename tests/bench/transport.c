/* SPDX-License-Identifier: MIT */
/* Benchmark of the peer transport on loopback: latency, throughput and server CPU per 1,000 renewals (prints, never fails). */
#include <errno.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "net/http-client.h"
#include "net/http-server.h"

#define PATH "/v1/peer/batch"
#define CLUSTER UINT64_C(0xbeefbeefbeefbeef)
#define SERVER_HOST 2
#define CLIENT_HOST 1

static AuthKey key;

/* ---- the server side, on its own thread and loop so its CPU time can be measured ---- */

typedef struct ServerSide {
        pthread_t thread;
        int stop_fd;
        int ready_fd;
        uint16_t port;
        WireHeader self;
        PeerMsg *out;
        size_t n_out;
        /* CPU time of the server thread, read when told to stop. */
        struct rusage usage;
} ServerSide;

static void on_batch(HttpPeerRequest *req, const WireBatch *batch, void *userdata) {
        ServerSide *s = userdata;

        /* What an acceptor sends back for a renewal: ACCEPTED with the value, per name. */
        if (batch->n_msgs > s->n_out) {
                free(s->out);
                s->out = calloc(batch->n_msgs, sizeof(PeerMsg));
                s->n_out = s->out ? batch->n_msgs : 0;
        }
        if (!s->out) {
                (void) http_peer_request_fail(req, -ENOMEM);
                return;
        }
        for (size_t i = 0; i < batch->n_msgs; i++) {
                const PeerMsg *m = batch->msgs + i;
                PeerMsg *o = s->out + i;

                o->type = MSG_ACCEPTED;
                o->from = s->self.from;
                o->incarnation = s->self.incarnation;
                o->epoch = s->self.epoch;
                o->round = m->round;
                o->ballot = m->ballot;
                o->value = m->value;
                memcpy(o->name, m->name, sizeof(o->name));
        }
        (void) http_peer_request_reply(req, &s->self, s->out, batch->n_msgs, NULL);
}

static int on_stop(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        ServerSide *s = userdata;

        (void) getrusage(RUSAGE_THREAD, &s->usage);
        return sd_event_exit(sd_event_source_get_event(src), 0);
}

static void *server_thread(void *p) {
        ServerSide *s = p;
        HttpServerConfig c = HTTP_SERVER_CONFIG_INIT;
        sd_event *e = NULL;
        HttpServer *server = NULL;
        NetError err = {};
        uint64_t one = 1;

        c.address = "127.0.0.1";
        c.key = &key;
        c.cluster_id = CLUSTER;
        if (sd_event_new(&e) < 0 || http_server_new(&server, e, &c, &err) < 0 ||
            http_server_add_peer_route(server, PATH, on_batch, s) < 0 ||
            sd_event_add_io(e, NULL, s->stop_fd, EPOLLIN, on_stop, s) < 0) {
                fprintf(stderr, "bench-transport: server: %s\n", err.text[0] ? err.text : "setup failed");
                exit(EXIT_FAILURE);
        }
        s->port = http_server_get_port(server);
        (void) write(s->ready_fd, &one, sizeof(one));
        (void) sd_event_loop(e);
        http_server_free(server);
        sd_event_unref(e);
        return NULL;
}

static usec_t cpu_usec(const struct rusage *u) {
        return (usec_t) u->ru_utime.tv_sec * USEC_PER_SEC + (usec_t) u->ru_utime.tv_usec +
               (usec_t) u->ru_stime.tv_sec * USEC_PER_SEC + (usec_t) u->ru_stime.tv_usec;
}

static void server_start(ServerSide *s) {
        uint64_t v;

        *s = (ServerSide) {
                .self = {
                        .version = WIRE_PROTOCOL_VERSION,
                        .cluster_id = CLUSTER,
                        .from = SERVER_HOST,
                        .incarnation = 1,
                        .epoch = { .n = 1, .hash = 1 },
                },
        };
        s->stop_fd = eventfd(0, EFD_CLOEXEC);
        s->ready_fd = eventfd(0, EFD_CLOEXEC);
        if (s->stop_fd < 0 || s->ready_fd < 0 || pthread_create(&s->thread, NULL, server_thread, s) != 0) {
                fprintf(stderr, "bench-transport: cannot start the server thread\n");
                exit(EXIT_FAILURE);
        }
        (void) read(s->ready_fd, &v, sizeof(v));
}

/* Stops the server thread and returns its CPU time since it started. */
static usec_t server_stop(ServerSide *s) {
        uint64_t one = 1;

        (void) write(s->stop_fd, &one, sizeof(one));
        (void) pthread_join(s->thread, NULL);
        close(s->stop_fd);
        close(s->ready_fd);
        free(s->out);
        return cpu_usec(&s->usage);
}

/* ---- the client side ---- */

typedef struct Run {
        sd_event *event;
        HttpClient *client;
        WireHeader self;
        PeerMsg *msgs;
        size_t n_msgs;
        unsigned total, sent, done, failed, window;
        usec_t *latency;
        const char *first_error;
        char error[256];
} Run;

static void send_one(Run *r);

static void on_reply(HttpClient *c, uint16_t peer, const HttpClientResult *res, void *userdata) {
        Run *r = userdata;

        if (res->error < 0) {
                if (r->failed++ == 0)
                        (void) snprintf(r->error, sizeof(r->error), "%s", res->error_text);
        } else
                r->latency[r->done - r->failed] = res->elapsed_usec;
        r->done++;
        if (r->sent < r->total)
                send_one(r);
        if (r->done == r->total)
                (void) sd_event_exit(r->event, 0);
}

static void send_one(Run *r) {
        NetError err = {};

        /* Each renewal round raises the value's sequence number, as a holder does. */
        for (size_t i = 0; i < r->n_msgs; i++)
                r->msgs[i].value.seq = r->sent + 1;
        r->sent++;
        if (http_client_send(r->client, SERVER_HOST, PATH, &r->self, r->msgs, r->n_msgs, 10 * USEC_PER_SEC,
                             on_reply, r, &err) < 0) {
                fprintf(stderr, "bench-transport: send: %s\n", err.text);
                exit(EXIT_FAILURE);
        }
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

static PeerMsg *renewals(const WireHeader *self, size_t n) {
        PeerMsg *m = calloc(n, sizeof(PeerMsg));

        if (!m)
                exit(EXIT_FAILURE);
        for (size_t i = 0; i < n; i++) {
                m[i] = (PeerMsg) {
                        .type = MSG_ACCEPT,
                        .from = self->from,
                        .incarnation = self->incarnation,
                        .epoch = self->epoch,
                        .round = i + 1,
                        .ballot = { .counter = 12345, .host = CLIENT_HOST },
                        .value = {
                                .ba = { .counter = 12345, .host = CLIENT_HOST },
                                .kind = VALUE_LEASE,
                                .holder = CLIENT_HOST,
                                .token = (UINT64_C(12345) << 16) | CLIENT_HOST,
                                .lease_usec = 3 * USEC_PER_SEC,
                        },
                };
                (void) snprintf(m[i].name, sizeof(m[i].name), "service-%05zu.service", i);
        }
        return m;
}

/* Sends total requests of n_msgs renewals each, window of them outstanding at a time,
 * and prints latency percentiles, throughput and the server's CPU time. */
static void bench(const char *label, size_t n_msgs, unsigned total, unsigned window) {
        HttpClientConfig cc = HTTP_CLIENT_CONFIG_INIT;
        ServerSide server;
        Run r = {};
        NetError err = {};
        usec_t t0, wall, cpu;
        unsigned ok;

        server_start(&server);

        cc.key = &key;
        cc.cluster_id = CLUSTER;
        cc.inflight_max = window;
        cc.queue_max = window;
        r.self = (WireHeader) {
                .version = WIRE_PROTOCOL_VERSION,
                .cluster_id = CLUSTER,
                .from = CLIENT_HOST,
                .incarnation = 1,
                .epoch = { .n = 1, .hash = 1 },
        };
        r.total = total;
        r.window = window;
        r.n_msgs = n_msgs;
        r.msgs = renewals(&r.self, n_msgs);
        r.latency = calloc(total, sizeof(usec_t));
        if (!r.latency || sd_event_new(&r.event) < 0 || http_client_new(&r.client, r.event, &cc, &err) < 0 ||
            http_client_add_peer(r.client, SERVER_HOST, "127.0.0.1", server.port, &err) < 0) {
                fprintf(stderr, "bench-transport: client: %s\n", err.text);
                exit(EXIT_FAILURE);
        }

        t0 = now(CLOCK_MONOTONIC);
        for (unsigned i = 0; i < window && r.sent < total; i++)
                send_one(&r);
        (void) sd_event_loop(r.event);
        wall = now(CLOCK_MONOTONIC) - t0;
        cpu = server_stop(&server);

        ok = r.done - r.failed;
        qsort(r.latency, ok, sizeof(usec_t), cmp_usec);
        printf("%-34s %6u req  p50 %8.3f ms  p99 %8.3f ms  %9.0f req/s  %10.0f msg/s  server CPU %7.3f ms per 1,000 renewals\n",
               label, r.done,
               ok ? r.latency[ok / 2] / 1000.0 : 0.0,
               ok ? r.latency[MIN(ok - 1, ok * 99 / 100)] / 1000.0 : 0.0,
               total * 1e6 / (double) wall,
               total * n_msgs * 1e6 / (double) wall,
               cpu / 1000.0 / ((double) total * n_msgs / 1000.0));
        if (r.failed > 0)
                printf("  %u requests failed, first: %s\n", r.failed, r.error);

        http_client_free(r.client);
        sd_event_unref(r.event);
        free(r.latency);
        free(r.msgs);
}

int main(int argc, char *argv[]) {
        unsigned scale = argc > 1 ? (unsigned) atoi(argv[1]) : 1;

        if (scale == 0)
                scale = 1;
        if (gnutls_rnd(GNUTLS_RND_KEY, key.bytes, sizeof(key.bytes)) < 0)
                return EXIT_FAILURE;

        printf("pes peer transport on loopback (HTTP, HMAC-SHA256, JSON), client and server in one process,\n"
               "server on its own thread; CPU is the server thread's user+system time (getrusage).\n\n");
        bench("1 renewal/request, sequential", 1, 2000 * scale, 1);
        bench("1 renewal/request, 4 in flight", 1, 4000 * scale, 4);
        bench("1,000 renewals/request, sequential", 1000, 100 * scale, 1);
        bench("1,000 renewals/request, 4 in flight", 1000, 200 * scale, 4);
        return EXIT_SUCCESS;
}
