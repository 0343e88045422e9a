/* SPDX-License-Identifier: MIT */
/* libmicrohttpd in external-epoll mode on sd-event, with authenticated peer routes and plain GET routes. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/http-server.h"

#define PEER_PREFIX "/v1/peer/"

typedef struct Route {
        char *path;
        bool peer;
        bool join;  /* a join request: any cluster id, its own anti-replay window */
        bool prefix;
        HttpPeerHandler peer_handler;
        HttpGetHandler get_handler;
        void *userdata;
} Route;

typedef enum RequestState {
        REQUEST_RECEIVING,  /* reading the body */
        REQUEST_HANDLING,   /* inside the peer handler */
        REQUEST_SUSPENDED,  /* the handler returned without answering; connection suspended */
        REQUEST_ANSWERED,   /* a response is ready but not queued yet (waiting for MHD to resume us) */
        REQUEST_QUEUED,     /* handed to MHD */
} RequestState;

struct HttpPeerRequest {
        HttpServer *server;
        struct MHD_Connection *connection;
        const Route *route;
        RequestState state;

        char *body;
        size_t size, allocated;
        usec_t started;

        WireBatch batch;
        char request_signature[AUTH_SIGNATURE_HEX_SIZE];

        struct MHD_Response *response;
        unsigned status;

        HttpPeerRequest *suspended_prev, *suspended_next;
};

struct HttpServer {
        sd_event *event;
        sd_event_source *io, *timer;
        struct MHD_Daemon *daemon;

        AuthKey key;
        uint64_t cluster_id;
        size_t body_max;
        usec_t request_timeout;
        bool verify_client;
        uint16_t port;

        /* PEM texts handed to libmicrohttpd; kept for as long as the daemon runs. */
        char *tls_cert, *tls_key, *tls_ca;

        AuthReplay *replay;
        /* Hosts that ask to join still use the ids of their own cluster, which may
         * be ids of members here: their sequence numbers must not move the members'
         * windows, so joins get a window of their own. */
        AuthReplay *join_replay;
        Route **routes;
        size_t n_routes;

        /* Requests whose handler has not answered yet, so that free can answer them. */
        HttpPeerRequest *suspended;

        HttpServerStats stats;
        char last_log[256];
};

static void suspended_unlink(HttpServer *s, HttpPeerRequest *req) {
        if (req->suspended_prev)
                req->suspended_prev->suspended_next = req->suspended_next;
        else if (s->suspended == req)
                s->suspended = req->suspended_next;
        if (req->suspended_next)
                req->suspended_next->suspended_prev = req->suspended_prev;
        req->suspended_prev = req->suspended_next = NULL;
}

static void suspended_link(HttpServer *s, HttpPeerRequest *req) {
        req->suspended_prev = NULL;
        req->suspended_next = s->suspended;
        if (s->suspended)
                s->suspended->suspended_prev = req;
        s->suspended = req;
}

static HttpPeerRequest *request_free(HttpPeerRequest *req) {
        if (!req)
                return NULL;
        suspended_unlink(req->server, req);
        if (req->response)
                MHD_destroy_response(req->response);
        wire_batch_done(&req->batch);
        free(req->body);
        free(req);
        return NULL;
}

/* Builds a response that is queued now or, for a suspended request, once MHD has
 * resumed the connection and calls the access handler again. */
static int request_set_response(HttpPeerRequest *req, unsigned status, struct MHD_Response *response) {
        if (!response)
                return -ENOMEM;
        if (req->response)
                MHD_destroy_response(req->response);
        req->response = response;
        req->status = status;
        return 0;
}

static int request_set_text(HttpPeerRequest *req, unsigned status, const char *text) {
        struct MHD_Response *r;
        size_t n = strlen(text);
        char *copy;

        /* The text is followed by a newline so that curl and humans see a whole line. */
        copy = malloc(n + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, text, n);
        copy[n] = '\n';
        r = MHD_create_response_from_buffer_with_free_callback(n + 1, copy, free);
        if (!r) {
                free(copy);
                return -ENOMEM;
        }
        (void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        return request_set_response(req, status, r);
}

static enum MHD_Result request_queue(HttpPeerRequest *req) {
        enum MHD_Result ret;

        if (!req->response)
                return MHD_NO;
        ret = MHD_queue_response(req->connection, req->status, req->response);
        MHD_destroy_response(req->response);
        req->response = NULL;
        req->state = REQUEST_QUEUED;
        return ret;
}

static enum MHD_Result respond_text(HttpPeerRequest *req, unsigned status, const char *text) {
        if (request_set_text(req, status, text) < 0)
                return MHD_NO;
        return request_queue(req);
}

static const Route *route_find(HttpServer *s, const char *url, bool *ret_other_method, bool peer) {
        *ret_other_method = false;
        for (size_t i = 0; i < s->n_routes; i++) {
                const Route *r = s->routes[i];
                bool match = r->prefix ? strncmp(url, r->path, strlen(r->path)) == 0 : strcmp(url, r->path) == 0;

                if (!match)
                        continue;
                if (r->peer == peer)
                        return r;
                *ret_other_method = true;
        }
        return NULL;
}

static bool client_certificate_ok(HttpPeerRequest *req) {
        const union MHD_ConnectionInfo *ci;
        unsigned n = 0, status = 0;

        ci = MHD_get_connection_info(req->connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (!ci || !ci->tls_session)
                return false;
        if (!gnutls_certificate_get_peers(ci->tls_session, &n) || n == 0)
                return false;
        if (gnutls_certificate_verify_peers2(ci->tls_session, &status) < 0)
                return false;
        return status == 0;
}

static enum MHD_Result serve_get(HttpPeerRequest *req, const char *url) {
        HttpServer *s = req->server;
        const char *content_type = "text/plain; charset=utf-8";
        struct MHD_Response *resp;
        char *body = NULL;
        size_t size = 0;
        int status;

        s->stats.get_requests++;
        status = req->route->get_handler(s, url, &body, &size, &content_type, req->route->userdata);
        if (status < 100 || status > 599) {
                free(body);
                return respond_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
        }

        resp = MHD_create_response_from_buffer_with_free_callback(size, body, free);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        if (content_type)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        if (request_set_response(req, (unsigned) status, resp) < 0)
                return MHD_NO;
        return request_queue(req);
}

static enum MHD_Result request_begin(HttpPeerRequest *req, const char *url, const char *method) {
        HttpServer *s = req->server;
        bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
        bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
        bool other_method = false;
        const char *cl;

        req->route = route_find(s, url, &other_method, is_post);
        if (!req->route || (!is_post && !is_get)) {
                s->stats.not_found++;
                if (other_method || (req->route && !is_post && !is_get))
                        return respond_text(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
                return respond_text(req, MHD_HTTP_NOT_FOUND, "not found");
        }

        if (is_get)
                return serve_get(req, url);

        if (s->verify_client && !client_certificate_ok(req)) {
                s->stats.bad_certificate++;
                return respond_text(req, MHD_HTTP_FORBIDDEN, "client certificate missing or not signed by the cluster CA");
        }

        /* Refuse an announced oversized body before reading any of it. */
        cl = MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
                char *end;
                unsigned long long n;

                errno = 0;
                n = strtoull(cl, &end, 10);
                if (errno != 0 || end == cl || *end != 0 || n > s->body_max) {
                        s->stats.too_large++;
                        return respond_text(req, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
                }
                if (n > 0) {
                        req->body = malloc(n);
                        if (!req->body)
                                return MHD_NO;
                        req->allocated = n;
                }
        }
        return MHD_YES;
}

static int request_append(HttpPeerRequest *req, const char *data, size_t n) {
        HttpServer *s = req->server;

        if (n > s->body_max - req->size)
                return -EFBIG;
        if (req->size + n > req->allocated) {
                size_t a = MAX(req->allocated * 2, req->size + n);
                char *p;

                a = MIN(MAX(a, (size_t) 4096), s->body_max);
                p = realloc(req->body, a);
                if (!p)
                        return -ENOMEM;
                req->body = p;
                req->allocated = a;
        }
        memcpy(req->body + req->size, data, n);
        req->size += n;
        return 0;
}

static enum MHD_Result request_process(HttpPeerRequest *req) {
        HttpServer *s = req->server;
        const char *sig;
        char text[sizeof(((NetError *) NULL)->text) + 32];
        NetError err = {};
        int r;

        sig = MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, AUTH_SIGNATURE_HEADER);
        if (!auth_verify_request(&s->key, "POST", req->route->path, req->body, req->size, sig)) {
                s->stats.unauthenticated++;
                return respond_text(req, MHD_HTTP_UNAUTHORIZED, sig ? "bad signature" : "signature missing");
        }
        memcpy(req->request_signature, sig, AUTH_SIGNATURE_HEX_SIZE);
        req->request_signature[AUTH_SIGNATURE_HEX_SIZE - 1] = 0;

        r = wire_batch_decode(req->body, req->size, &req->batch, &err);
        if (r < 0) {
                s->stats.malformed++;
                (void) snprintf(text, sizeof(text), "bad batch: %s", err.text);
                return respond_text(req, MHD_HTTP_BAD_REQUEST, text);
        }
        free(req->body);
        req->body = NULL;
        req->size = req->allocated = 0;

        /* A host asking to join is not part of this cluster yet; the key is what it
         * must share with us. */
        if (!req->route->join && req->batch.header.cluster_id != s->cluster_id) {
                s->stats.wrong_cluster++;
                return respond_text(req, MHD_HTTP_FORBIDDEN, "request for another cluster");
        }

        if (req->route->join)
                r = auth_replay_check_name(s->join_replay, req->batch.header.node.name,
                                           req->batch.header.incarnation, req->batch.header.seq);
        else
                r = auth_replay_check(s->replay, req->batch.header.from, req->batch.header.incarnation,
                                      req->batch.header.seq);
        if (r < 0)
                return respond_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
        if (r != AUTH_REPLAY_OK) {
                s->stats.replayed++;
                (void) snprintf(text, sizeof(text), "replay refused: %s", auth_replay_verdict_to_string(r));
                return respond_text(req, MHD_HTTP_UNAUTHORIZED, text);
        }

        s->stats.peer_requests++;
        req->state = REQUEST_HANDLING;
        req->route->peer_handler(req, &req->batch, req->route->userdata);

        if (req->state == REQUEST_ANSWERED)
                return request_queue(req);

        /* The handler answers later (after its disk write, say): park the connection. */
        assert(req->state == REQUEST_HANDLING);
        req->state = REQUEST_SUSPENDED;
        suspended_link(s, req);
        MHD_suspend_connection(req->connection);
        return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *connection, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
        HttpServer *s = cls;
        HttpPeerRequest *req = *con_cls;

        if (!req) {
                req = calloc(1, sizeof(HttpPeerRequest));
                if (!req)
                        return MHD_NO;
                req->server = s;
                req->connection = connection;
                req->started = now(CLOCK_MONOTONIC);
                *con_cls = req;
                return request_begin(req, url, method);
        }

        switch (req->state) {
        case REQUEST_QUEUED:
                /* Answered early (413, 403…): drop whatever body still arrives. */
                *upload_data_size = 0;
                return MHD_YES;

        case REQUEST_ANSWERED:
                /* Called again after MHD_resume_connection(). */
                return request_queue(req);

        case REQUEST_RECEIVING:
                break;

        default:
                return MHD_NO;
        }

        if (now(CLOCK_MONOTONIC) - req->started > s->request_timeout) {
                s->stats.timed_out++;
                return MHD_NO;
        }

        if (*upload_data_size > 0) {
                int r = request_append(req, upload_data, *upload_data_size);
                if (r == -EFBIG) {
                        /* Only a chunked body gets here (a Content-Length was checked
                         * up front); close rather than read on. */
                        s->stats.too_large++;
                        return MHD_NO;
                }
                if (r < 0)
                        return MHD_NO;
                *upload_data_size = 0;
                return MHD_YES;
        }

        return request_process(req);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        request_free(*con_cls);
        *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        HttpServer *s = cls;

        if (code == MHD_CONNECTION_NOTIFY_STARTED)
                s->stats.connections++;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) _printf_(2, 0);
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        HttpServer *s = cls;

        /* Kept, not printed: the library does not log; http_server_new() reports it. */
        (void) vsnprintf(s->last_log, sizeof(s->last_log), fmt, ap);
}

/* MHD_get_timeout() gives *relative milliseconds*; sd-event wants µs. */
static int server_rearm(HttpServer *s) {
        MHD_UNSIGNED_LONG_LONG ms;
        int r;

        if (MHD_get_timeout(s->daemon, &ms) != MHD_YES)
                return sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);

        r = sd_event_source_set_time_relative(s->timer, ms >= USEC_INFINITY / USEC_PER_MSEC ? USEC_INFINITY - 1 : ms * USEC_PER_MSEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static void server_run(HttpServer *s) {
        (void) MHD_run(s->daemon);
        /* A failed re-arm leaves the previous timer; the next I/O event re-arms again.
         * Returning an error from the source would disable it and kill the server. */
        (void) server_rearm(s);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        server_run(userdata);
        return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        server_run(userdata);
        return 0;
}

static int read_pem(const char *path, char **ret, NetError *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return net_error_set(err, negative_errno(), "cannot open %s: %m", path);
        if (fstat(fd, &st) < 0)
                return net_error_set(err, negative_errno(), "cannot stat %s: %m", path);
        if (!S_ISREG(st.st_mode) || st.st_size > 1024 * 1024)
                return net_error_set(err, -EBADMSG, "%s is not a regular file of at most 1 MiB", path);

        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return net_error_set(err, -ENOMEM, "out of memory");
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return net_error_set(err, negative_errno(), "cannot read %s: %m", path);
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int http_server_new(HttpServer **ret, sd_event *e, const HttpServerConfig *c, NetError *err) {
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        struct sockaddr_storage sa = {};
        struct MHD_OptionItem opts[16];
        const union MHD_DaemonInfo *info;
        unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        uint16_t port = 0;
        size_t n = 0;
        int r;

        if (!ret || !e || !c || !c->key || c->body_max == 0 || c->connection_limit == 0 || c->per_ip_limit == 0)
                return net_error_set(err, -EINVAL, "invalid arguments");
        if (!!c->tls_cert_file != !!c->tls_key_file || (c->tls_ca_file && !c->tls_cert_file))
                return net_error_set(err, -EINVAL, "TLS needs a certificate and its key (and, to verify clients, a CA)");

        s = calloc(1, sizeof(HttpServer));
        if (!s)
                return net_error_set(err, -ENOMEM, "out of memory");
        s->event = sd_event_ref(e);
        s->key = *c->key;
        s->cluster_id = c->cluster_id;
        s->body_max = c->body_max;
        s->request_timeout = c->request_timeout_usec > 0 ? c->request_timeout_usec : 10 * USEC_PER_SEC;
        s->replay = auth_replay_new();
        s->join_replay = auth_replay_new();
        if (!s->replay || !s->join_replay)
                return net_error_set(err, -ENOMEM, "out of memory");

        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) on_completed, s };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) on_connection, s };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_EXTERNAL_LOGGER, (intptr_t) on_mhd_log, s };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_LIMIT, c->connection_limit, NULL };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->per_ip_limit, NULL };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_TIMEOUT, c->connection_timeout_sec, NULL };

        if (c->listen_fd >= 0)
                opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_LISTEN_SOCKET, c->listen_fd, NULL };
        else if (c->address && c->address[0]) {
                struct sockaddr_in *in = (struct sockaddr_in *) &sa;
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &sa;

                if (inet_pton(AF_INET, c->address, &in->sin_addr) == 1) {
                        in->sin_family = AF_INET;
                        in->sin_port = htons(c->port);
                } else if (inet_pton(AF_INET6, c->address, &in6->sin6_addr) == 1) {
                        in6->sin6_family = AF_INET6;
                        in6->sin6_port = htons(c->port);
                        flags |= MHD_USE_IPv6;
                } else
                        return net_error_set(err, -EINVAL, "listen address '%s' is not a numeric IPv4 or IPv6 address",
                                             c->address);
                opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_SOCK_ADDR, 0, &sa };
        } else {
                flags |= MHD_USE_DUAL_STACK;
                port = c->port;
        }

        if (c->tls_cert_file) {
                r = read_pem(c->tls_cert_file, &s->tls_cert, err);
                if (r < 0)
                        return r;
                r = read_pem(c->tls_key_file, &s->tls_key, err);
                if (r < 0)
                        return r;
                flags |= MHD_USE_TLS;
                opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert };
                opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key };
                if (c->tls_ca_file) {
                        r = read_pem(c->tls_ca_file, &s->tls_ca, err);
                        if (r < 0)
                                return r;
                        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca };
                        s->verify_client = true;
                }
        }
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_END, 0, NULL };
        assert(n <= ELEMENTSOF(opts));

        errno = 0;
        s->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
        if (!s->daemon) {
                r = errno > 0 ? -errno : -EIO;
                return net_error_set(err, r, "cannot start the HTTP server on %s port %u: %s",
                                     c->address && c->address[0] ? c->address : "*", c->port,
                                     s->last_log[0] ? s->last_log : "libmicrohttpd gave no reason");
        }

        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : 0;

        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info || info->epoll_fd < 0)
                return net_error_set(err, -EIO, "libmicrohttpd has no epoll fd");

        r = sd_event_add_io(e, &s->io, info->epoll_fd, EPOLLIN, on_io, s);
        if (r < 0)
                return net_error_set(err, r, "cannot watch the HTTP server: %s", strerror(-r));
        (void) sd_event_source_set_description(s->io, "http-server-io");

        /* Accuracy 1 µs: MHD's timeouts are often 0 ("run again now"), and sd-event's
         * default accuracy (0 means 250 ms) would delay those by up to a quarter second. */
        r = sd_event_add_time_relative(e, &s->timer, CLOCK_MONOTONIC, 0, 1, on_timer, s);
        if (r < 0)
                return net_error_set(err, r, "cannot add the HTTP server timer: %s", strerror(-r));
        (void) sd_event_source_set_description(s->timer, "http-server-timer");

        r = server_rearm(s);
        if (r < 0)
                return net_error_set(err, r, "cannot arm the HTTP server timer: %s", strerror(-r));

        *ret = TAKE_PTR(s);
        return 0;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;

        if (s->daemon) {
                /* libmicrohttpd must not be stopped with suspended connections: answer
                 * them, let it resume them, then stop. */
                bool resumed = false;

                while (s->suspended) {
                        HttpPeerRequest *req = s->suspended;

                        suspended_unlink(s, req);
                        (void) http_peer_request_fail(req, -EAGAIN);
                        resumed = true;
                }
                if (resumed)
                        (void) MHD_run(s->daemon);
                MHD_stop_daemon(s->daemon);
        }

        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->timer);
        sd_event_unref(s->event);

        for (size_t i = 0; i < s->n_routes; i++) {
                free(s->routes[i]->path);
                free(s->routes[i]);
        }
        free(s->routes);
        auth_replay_free(s->replay);
        auth_replay_free(s->join_replay);
        free(s->tls_cert);
        if (s->tls_key)
                explicit_bzero(s->tls_key, strlen(s->tls_key));
        free(s->tls_key);
        free(s->tls_ca);
        explicit_bzero(&s->key, sizeof(s->key));
        free(s);
        return NULL;
}

uint16_t http_server_get_port(HttpServer *s) {
        return s ? s->port : 0;
}

const HttpServerStats *http_server_get_stats(HttpServer *s) {
        return s ? &s->stats : NULL;
}

static bool path_ok(const char *path) {
        if (!path || path[0] != '/')
                return false;
        for (const char *p = path; *p; p++)
                if (*p <= ' ' || *p >= 0x7f || *p == '?' || *p == '#')
                        return false;
        return true;
}

static int route_add(HttpServer *s, const char *path, bool peer, bool join, bool prefix,
                     HttpPeerHandler peer_handler, HttpGetHandler get_handler, void *userdata) {
        _cleanup_free_ Route *route = NULL;
        Route **a;

        for (size_t i = 0; i < s->n_routes; i++)
                if (strcmp(s->routes[i]->path, path) == 0 && s->routes[i]->peer == peer)
                        return -EEXIST;

        route = calloc(1, sizeof(Route));
        if (!route)
                return -ENOMEM;
        *route = (Route) {
                .peer = peer,
                .join = join,
                .prefix = prefix,
                .peer_handler = peer_handler,
                .get_handler = get_handler,
                .userdata = userdata,
        };
        route->path = strdup(path);
        if (!route->path)
                return -ENOMEM;

        a = reallocarray(s->routes, s->n_routes + 1, sizeof(Route *));
        if (!a) {
                free(route->path);
                return -ENOMEM;
        }
        s->routes = a;
        s->routes[s->n_routes++] = TAKE_PTR(route);
        return 0;
}

int http_server_add_peer_route(HttpServer *s, const char *path, HttpPeerHandler handler, void *userdata) {
        if (!s || !handler || !path_ok(path) || strncmp(path, PEER_PREFIX, strlen(PEER_PREFIX)) != 0 ||
            strlen(path) == strlen(PEER_PREFIX))
                return -EINVAL;
        return route_add(s, path, true, false, false, handler, NULL, userdata);
}

int http_server_add_join_route(HttpServer *s, const char *path, HttpPeerHandler handler, void *userdata) {
        if (!s || !handler || !path_ok(path))
                return -EINVAL;
        return route_add(s, path, true, true, false, handler, NULL, userdata);
}

int http_server_add_get_route(HttpServer *s, const char *path, bool prefix, HttpGetHandler handler, void *userdata) {
        if (!s || !handler || !path_ok(path))
                return -EINVAL;
        return route_add(s, path, false, false, prefix, NULL, handler, userdata);
}

/* Marks req answered; a suspended connection is resumed so MHD calls us back to queue. */
static void request_answered(HttpPeerRequest *req) {
        bool was_suspended = req->state == REQUEST_SUSPENDED;

        req->state = REQUEST_ANSWERED;
        if (was_suspended) {
                suspended_unlink(req->server, req);
                MHD_resume_connection(req->connection);
                /* Nothing wakes the epoll fd for a resumed connection: run MHD on the
                 * next loop iteration, or the answer waits for unrelated traffic. */
                (void) sd_event_source_set_time_relative(req->server->timer, 0);
                (void) sd_event_source_set_enabled(req->server->timer, SD_EVENT_ONESHOT);
        }
}

int http_peer_request_reply(HttpPeerRequest *req, const WireHeader *h, const PeerMsg *msgs, size_t n_msgs,
                            NetError *err) {
        HttpServer *s;
        struct MHD_Response *resp;
        char sig[AUTH_SIGNATURE_HEX_SIZE];
        WireHeader hh;
        char *buf = NULL;
        size_t size = 0;
        int r;

        if (!req || !h)
                return net_error_set(err, -EINVAL, "invalid arguments");
        if (req->state != REQUEST_HANDLING && req->state != REQUEST_SUSPENDED)
                return net_error_set(err, -ESTALE, "request already answered");
        s = req->server;

        hh = *h;
        hh.version = WIRE_PROTOCOL_VERSION;
        hh.cluster_id = s->cluster_id;
        hh.seq = 0;

        r = wire_batch_encode(&hh, msgs, n_msgs, &buf, &size, err);
        if (r >= 0)
                r = auth_sign_reply(&s->key, req->route->path, req->request_signature, buf, size, sig);
        if (r >= 0) {
                resp = MHD_create_response_from_buffer_with_free_callback(size, buf, free);
                if (!resp)
                        r = -ENOMEM;
                else {
                        buf = NULL;
                        if (MHD_add_response_header(resp, AUTH_SIGNATURE_HEADER, sig) != MHD_YES ||
                            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES) {
                                MHD_destroy_response(resp);
                                r = -ENOMEM;
                        } else
                                r = request_set_response(req, MHD_HTTP_OK, resp);
                }
        }
        free(buf);
        if (r < 0) {
                (void) request_set_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
                if (err && !err->text[0])
                        net_error_set(err, r, "cannot build the reply: %s", strerror(-r));
        }

        request_answered(req);
        return r;
}

int http_peer_request_fail(HttpPeerRequest *req, int error) {
        bool busy = error == -EAGAIN || error == -EBUSY;
        int r;

        if (!req)
                return -EINVAL;
        if (req->state != REQUEST_HANDLING && req->state != REQUEST_SUSPENDED)
                return -ESTALE;

        r = request_set_text(req, busy ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_INTERNAL_SERVER_ERROR,
                             busy ? "try again later" : "internal error");
        request_answered(req);
        return r;
}

int http_peer_request_refuse(HttpPeerRequest *req, unsigned status, const char *text) {
        int r;

        if (!req || status < 400 || status > 599 || !text || strchr(text, '\n'))
                return -EINVAL;
        if (req->state != REQUEST_HANDLING && req->state != REQUEST_SUSPENDED)
                return -ESTALE;
        r = request_set_text(req, status, text);
        request_answered(req);
        return r;
}

const char *http_peer_request_get_path(HttpPeerRequest *req) {
        return req && req->route ? req->route->path : NULL;
}
