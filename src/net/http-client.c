/* SPDX-License-Identifier: MIT */
/* Peer requests over libcurl's multi socket API on sd-event: per-peer queues, deadlines, signed and verified batches. */
#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http-client.h"

typedef struct Peer Peer;
typedef struct Request Request;

typedef enum RequestState {
        REQUEST_QUEUED,
        REQUEST_RUNNING,
        REQUEST_DONE,
} RequestState;

/* A doubly linked FIFO of requests; each request is on exactly one list at a time. */
typedef struct RequestList {
        Request *head, *tail;
        unsigned n;
} RequestList;

struct Request {
        HttpClient *client;
        Peer *peer;
        uint16_t host;
        RequestState state;
        Request *prev, *next;

        char *path;
        bool probe;              /* a plain GET of url (a health probe): no signature, no batch */
        bool join;               /* a signed batch to url, answered by another cluster */
        char *url;
        WireHeader header;
        char *msgs;              /* the encoded "msgs" array, until the request leaves */
        size_t msgs_size;
        HttpClientCallback callback;
        void *userdata;
        usec_t started, deadline;
        sd_event_source *timer;

        CURL *easy;
        struct curl_slist *headers;
        char *body;
        size_t body_size;
        char signature[AUTH_SIGNATURE_HEX_SIZE];
        char reply_signature[AUTH_SIGNATURE_HEX_SIZE];
        char *reply;
        size_t reply_size, reply_allocated;
        bool reply_too_large;
        char curl_error[CURL_ERROR_SIZE];

        int error;
        unsigned status;
        NetError error_text;
        WireBatch batch;
};

struct Peer {
        uint16_t host;
        char *base_url;
        RequestList queued, running;
};

/* One socket curl asked us to watch; kept in a list so free can drop stragglers. */
typedef struct SocketWatch {
        HttpClient *client;
        sd_event_source *source;
        struct SocketWatch *prev, *next;
} SocketWatch;

struct HttpClient {
        sd_event *event;
        CURLM *multi;
        sd_event_source *curl_timer;
        sd_event_source *defer;
        SocketWatch *watches;

        AuthKey key;
        uint64_t cluster_id;
        unsigned inflight_max, queue_max;
        size_t reply_max;
        usec_t connect_timeout;
        char *tls_ca, *tls_cert, *tls_key;

        /* The anti-replay sequence: one counter for every request to every peer. */
        uint64_t seq;

        Peer **peers;
        size_t n_peers;

        /* Requests that ended outside a completion path (queue overflow, peer removed,
         * start failure): their callbacks run from a defer source, never from inside
         * the call that ended them. */
        RequestList done;

        /* Health probes queue like a peer of their own, with the same bounds. */
        Peer probes;

        bool curl_initialized;
};

static void list_append(RequestList *l, Request *r) {
        r->prev = l->tail;
        r->next = NULL;
        if (l->tail)
                l->tail->next = r;
        else
                l->head = r;
        l->tail = r;
        l->n++;
}

static void list_remove(RequestList *l, Request *r) {
        if (r->prev)
                r->prev->next = r->next;
        else
                l->head = r->next;
        if (r->next)
                r->next->prev = r->prev;
        else
                l->tail = r->prev;
        r->prev = r->next = NULL;
        assert(l->n > 0);
        l->n--;
}

static RequestList *request_list(Request *r) {
        switch (r->state) {
        case REQUEST_QUEUED:
                return &r->peer->queued;
        case REQUEST_RUNNING:
                return &r->peer->running;
        case REQUEST_DONE:
                return &r->client->done;
        }
        return NULL;
}

static void request_free(Request *r) {
        if (!r)
                return;
        if (r->easy) {
                (void) curl_multi_remove_handle(r->client->multi, r->easy);
                curl_easy_cleanup(r->easy);
        }
        curl_slist_free_all(r->headers);
        sd_event_source_disable_unref(r->timer);
        free(r->msgs);
        wire_batch_done(&r->batch);
        free(r->path);
        free(r->url);
        free(r->body);
        free(r->reply);
        free(r);
}

static void peer_dispatch(HttpClient *c, Peer *p);

/* Ends r with error (or success) and hands it to the callback right away: for use
 * from event-loop callbacks only (curl completions, deadlines, the defer source). */
static void request_complete(Request *r) {
        HttpClient *c = r->client;
        Peer *p = r->peer;
        HttpClientResult result = {
                .error = r->error,
                .error_text = r->error < 0 ? r->error_text.text : NULL,
                .http_status = r->status,
                .reply = r->error >= 0 && !r->probe ? &r->batch : NULL,
                .elapsed_usec = now(CLOCK_MONOTONIC) - r->started,
        };

        list_remove(request_list(r), r);
        if (r->easy) {
                (void) curl_multi_remove_handle(c->multi, r->easy);
                curl_easy_cleanup(r->easy);
                r->easy = NULL;
        }
        r->state = REQUEST_DONE;
        r->peer = NULL;

        /* A slot is free: start the next one before the callback, which may queue more. */
        if (p)
                peer_dispatch(c, p);

        r->callback(c, r->host, &result, r->userdata);
        request_free(r);
}

/* Ends r later, from the defer source. */
static void request_fail_later(Request *r, int error, const char *fmt, ...) _printf_(3, 4);
static void request_fail_later(Request *r, int error, const char *fmt, ...) {
        HttpClient *c = r->client;
        va_list ap;

        va_start(ap, fmt);
        r->error = net_error_setv(&r->error_text, error, fmt, ap);
        va_end(ap);

        list_remove(request_list(r), r);
        if (r->easy) {
                (void) curl_multi_remove_handle(c->multi, r->easy);
                curl_easy_cleanup(r->easy);
                r->easy = NULL;
        }
        r->timer = sd_event_source_disable_unref(r->timer);
        r->state = REQUEST_DONE;
        r->peer = NULL;
        list_append(&c->done, r);
        (void) sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
}

static int on_defer(sd_event_source *s, void *userdata) {
        HttpClient *c = userdata;

        /* Callbacks may end more requests; those are appended and handled in this loop. */
        while (c->done.head)
                request_complete(c->done.head);
        return 0;
}

static Peer *peer_find(HttpClient *c, uint16_t host) {
        for (size_t i = 0; i < c->n_peers; i++)
                if (c->peers[i]->host == host)
                        return c->peers[i];
        return NULL;
}

/* ---- curl glue ---- */

static int on_curl_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        HttpClient *c = userp;
        SocketWatch *w = socketp;
        uint32_t events;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (w) {
                        (void) curl_multi_assign(c->multi, fd, NULL);
                        sd_event_source_disable_unref(w->source);
                        if (w->prev)
                                w->prev->next = w->next;
                        else
                                c->watches = w->next;
                        if (w->next)
                                w->next->prev = w->prev;
                        free(w);
                }
                return 0;
        }

        events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);

        if (w) {
                r = sd_event_source_set_io_events(w->source, events);
                if (r < 0)
                        return -1;
                r = sd_event_source_set_enabled(w->source, SD_EVENT_ON);
                return r < 0 ? -1 : 0;
        }

        w = calloc(1, sizeof(SocketWatch));
        if (!w)
                return -1;
        r = sd_event_add_io(c->event, &w->source, fd, events, on_curl_io, c);
        if (r < 0) {
                free(w);
                return -1;
        }
        (void) sd_event_source_set_description(w->source, "http-client-io");
        if (curl_multi_assign(c->multi, fd, w) != CURLM_OK) {
                sd_event_source_disable_unref(w->source);
                free(w);
                return -1;
        }
        w->client = c;
        w->next = c->watches;
        if (c->watches)
                c->watches->prev = w;
        c->watches = w;
        return 0;
}

/* curl asks for a call back after timeout_ms. We only arm a one-shot timer here:
 * calling into curl from inside its own callback is not allowed. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
        HttpClient *c = userp;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(c->curl_timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_relative(c->curl_timer, (usec_t) timeout_ms * USEC_PER_MSEC) < 0)
                return -1;
        return sd_event_source_set_enabled(c->curl_timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

static int status_to_errno(unsigned status) {
        switch (status) {
        case 200:
                return 0;
        case 400:
                return -EBADMSG;
        case 401:
                return -EACCES;
        case 403:
                return -EPERM;
        case 404:
        case 405:
                return -ENOENT;
        case 409:
                return -EEXIST;
        case 413:
                return -EMSGSIZE;
        case 503:
                return -EAGAIN;
        default:
                return -EPROTO;
        }
}

static int curl_code_to_errno(CURLcode code) {
        switch (code) {
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                return -EPROTO;
        default:
                return -EIO;
        }
}

/* Keeps the first line of an error body, printable only, for the error text. */
static void reply_excerpt(const Request *r, char *buf, size_t size) {
        size_t k = 0;

        for (size_t i = 0; i < r->reply_size && k + 1 < size; i++) {
                char ch = r->reply[i];
                if (ch == '\n' || ch == '\r')
                        break;
                buf[k++] = ch >= ' ' && ch < 0x7f ? ch : '?';
        }
        buf[k] = 0;
}

/* Checks a finished transfer: HTTP status, reply signature, batch, sender. */
static void request_finish_transfer(Request *r, CURLcode code) {
        HttpClient *c = r->client;
        long status = 0;
        NetError err = {};
        char excerpt[96];
        int e;

        if (r->reply_too_large) {
                r->error = net_error_set(&r->error_text, -EMSGSIZE, "reply larger than %zu bytes", c->reply_max);
                return;
        }
        if (code != CURLE_OK) {
                r->error = net_error_set(&r->error_text, curl_code_to_errno(code), "%s",
                                         r->curl_error[0] ? r->curl_error : curl_easy_strerror(code));
                return;
        }

        (void) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        r->status = status > 0 && status < 1000 ? (unsigned) status : 0;
        if (r->probe) {
                /* A probe passes on any 2xx or 3xx answer; its body is not read. */
                if (r->status >= 200 && r->status < 400)
                        r->error = 0;
                else
                        r->error = net_error_set(&r->error_text, -EIO, "HTTP %u", r->status);
                return;
        }
        e = status_to_errno(r->status);
        if (e < 0) {
                reply_excerpt(r, excerpt, sizeof(excerpt));
                r->error = net_error_set(&r->error_text, e, "HTTP %u: %s", r->status, excerpt);
                return;
        }

        if (!auth_verify_reply(&c->key, r->path, r->signature, r->reply, r->reply_size,
                               r->reply_signature[0] ? r->reply_signature : NULL)) {
                r->error = net_error_set(&r->error_text, -EBADMSG, "reply signature missing or wrong");
                return;
        }
        e = wire_batch_decode(r->reply, r->reply_size, &r->batch, &err);
        if (e < 0) {
                r->error = net_error_set(&r->error_text, e, "bad reply: %s", err.text);
                return;
        }
        /* A join is answered by a member of the cluster being joined: its id is the
         * news, and the caller checks the rest. */
        if (r->join) {
                r->error = 0;
                return;
        }
        if (r->batch.header.cluster_id != c->cluster_id) {
                r->error = net_error_set(&r->error_text, -EBADMSG, "reply from another cluster");
                return;
        }
        if (r->batch.header.from != r->host) {
                r->error = net_error_set(&r->error_text, -EBADMSG, "reply from host %u, expected %u",
                                         r->batch.header.from, r->host);
                return;
        }
        r->error = 0;
}

static void client_process_done(HttpClient *c) {
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(c->multi, &left))) {
                Request *r = NULL;

                if (m->msg != CURLMSG_DONE)
                        continue;
                if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &r) != CURLE_OK || !r)
                        continue;
                request_finish_transfer(r, m->data.result);
                /* Completing removes the handle from the multi; curl allows that between
                 * calls to curl_multi_info_read(). */
                request_complete(r);
        }
}

static int on_curl_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HttpClient *c = userdata;
        int flags = 0, running;

        if (revents & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;

        (void) curl_multi_socket_action(c->multi, fd, flags, &running);
        client_process_done(c);
        return 0;
}

static int on_curl_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        HttpClient *c = userdata;
        int running;

        (void) curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        client_process_done(c);
        return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        Request *r = userdata;
        HttpClient *c = r->client;
        size_t n = size * nmemb;

        if (n > c->reply_max - r->reply_size) {
                r->reply_too_large = true;
                return 0;
        }
        if (r->reply_size + n > r->reply_allocated) {
                size_t a = MIN(MAX(MAX(r->reply_allocated * 2, r->reply_size + n), (size_t) 4096), c->reply_max);
                char *p = realloc(r->reply, a);
                if (!p)
                        return 0;
                r->reply = p;
                r->reply_allocated = a;
        }
        memcpy(r->reply + r->reply_size, data, n);
        r->reply_size += n;
        return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        Request *r = userdata;
        size_t n = size * nmemb, k = strlen(AUTH_SIGNATURE_HEADER);

        /* A new status line starts a new header block (after a 100 Continue). */
        if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
                r->reply_signature[0] = 0;
                return n;
        }
        if (n > k + 1 && strncasecmp(data, AUTH_SIGNATURE_HEADER, k) == 0 && data[k] == ':') {
                const char *v = data + k + 1, *end = data + n;
                size_t len;

                while (v < end && (*v == ' ' || *v == '\t'))
                        v++;
                while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                        end--;
                len = (size_t) (end - v);
                if (len < sizeof(r->reply_signature)) {
                        memcpy(r->reply_signature, v, len);
                        r->reply_signature[len] = 0;
                }
        }
        return n;
}

/* Stamps the header, serialises, signs and hands r to curl. */
/* Starts a health probe: GET r->url, certificates checked against the system's CAs. */
static int probe_start(HttpClient *c, Request *r) {
        usec_t n = now(CLOCK_MONOTONIC), left = r->deadline > n ? r->deadline - n : 1;
        CURL *e = curl_easy_init();

        if (!e)
                return net_error_set(&r->error_text, -ENOMEM, "out of memory");
        r->easy = e;
        if (curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_error) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) MIN(left / USEC_PER_MSEC + 1000, (usec_t) LONG_MAX)) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) MAX(left / USEC_PER_MSEC, (usec_t) 1)) != CURLE_OK)
                return net_error_set(&r->error_text, -EIO, "cannot set up the probe");
        if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
                return net_error_set(&r->error_text, -EIO, "cannot start the probe");
        return 0;
}

static int request_start(HttpClient *c, Request *r) {
        char url[512], sig_header[sizeof(AUTH_SIGNATURE_HEADER) + AUTH_SIGNATURE_HEX_SIZE + 2];
        usec_t n = now(CLOCK_MONOTONIC), left;
        struct curl_slist *l;
        NetError err = {};
        CURL *e;
        int k;

        if (r->probe)
                return probe_start(c, r);

        r->header.version = WIRE_PROTOCOL_VERSION;
        r->header.cluster_id = c->cluster_id;
        r->header.seq = ++c->seq;
        if (wire_batch_dump(&r->header, r->msgs, r->msgs_size, &r->body, &r->body_size, &err) < 0)
                return net_error_set(&r->error_text, -EINVAL, "%s", err.text);
        free(r->msgs);
        r->msgs = NULL;

        if (auth_sign_request(&c->key, "POST", r->path, r->body, r->body_size, r->signature) < 0)
                return net_error_set(&r->error_text, -EINVAL, "cannot sign the request");

        k = r->join ? snprintf(url, sizeof(url), "%s", r->url) : snprintf(url, sizeof(url), "%s%s", r->peer->base_url, r->path);
        if (k < 0 || (size_t) k >= sizeof(url))
                return net_error_set(&r->error_text, -EINVAL, "URL too long");
        (void) snprintf(sig_header, sizeof(sig_header), "%s: %s", AUTH_SIGNATURE_HEADER, r->signature);

        /* "Expect:" turns off curl's 100-continue round trip for larger bodies. */
        l = curl_slist_append(NULL, "Content-Type: application/json");
        if (l)
                r->headers = l;
        l = l ? curl_slist_append(r->headers, "Expect:") : NULL;
        l = l ? curl_slist_append(r->headers, sig_header) : NULL;
        if (!l)
                return net_error_set(&r->error_text, -ENOMEM, "out of memory");

        e = curl_easy_init();
        if (!e)
                return net_error_set(&r->error_text, -ENOMEM, "out of memory");
        r->easy = e;

        left = r->deadline > n ? r->deadline - n : 1;
        if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->tls_ca ? "https" : "http") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_size) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERDATA, r) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_error) != CURLE_OK ||
            /* The deadline timer is the authority; curl's own timeout is a backstop. */
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) MIN(left / USEC_PER_MSEC + 1000, (usec_t) LONG_MAX)) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                             (long) MAX(MIN(left, c->connect_timeout) / USEC_PER_MSEC, (usec_t) 1)) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK)
                return net_error_set(&r->error_text, -EIO, "cannot set up the transfer");

        if (c->tls_ca &&
            (curl_easy_setopt(e, CURLOPT_CAINFO, c->tls_ca) != CURLE_OK ||
             curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
             curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
             (c->tls_cert && curl_easy_setopt(e, CURLOPT_SSLCERT, c->tls_cert) != CURLE_OK) ||
             (c->tls_key && curl_easy_setopt(e, CURLOPT_SSLKEY, c->tls_key) != CURLE_OK)))
                return net_error_set(&r->error_text, -EIO, "cannot set up TLS for the transfer");

        if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
                return net_error_set(&r->error_text, -EIO, "cannot start the transfer");
        return 0;
}

static void peer_dispatch(HttpClient *c, Peer *p) {
        while (p->queued.head && p->running.n < c->inflight_max) {
                Request *r = p->queued.head;
                int e;

                list_remove(&p->queued, r);
                r->state = REQUEST_RUNNING;
                list_append(&p->running, r);

                e = request_start(c, r);
                if (e < 0)
                        request_fail_later(r, e, "%s", r->error_text.text);
        }
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Request *r = userdata;

        if (r->probe || r->join)
                r->error = net_error_set(&r->error_text, -ETIMEDOUT, "no answer from %s within the deadline", r->url);
        else
                r->error = net_error_set(&r->error_text, -ETIMEDOUT, "no reply from host %u within the deadline (%s)",
                                         r->host, r->state == REQUEST_QUEUED ? "still queued" : "on the wire");
        request_complete(r);
        return 0;
}

int http_client_send(HttpClient *c, uint16_t host, const char *path, const WireHeader *h,
                     const PeerMsg *msgs, size_t n_msgs, usec_t timeout,
                     HttpClientCallback callback, void *userdata, NetError *err) {
        Request *r;
        Peer *p;
        int e;

        if (!c || !path || path[0] != '/' || strchr(path, '\n') || !h || !callback || timeout == 0)
                return net_error_set(err, -EINVAL, "invalid arguments");
        p = peer_find(c, host);
        if (!p)
                return net_error_set(err, -ENOENT, "no peer with host id %u", host);

        r = calloc(1, sizeof(Request));
        if (!r)
                return net_error_set(err, -ENOMEM, "out of memory");
        r->client = c;
        r->host = host;
        r->header = *h;
        r->callback = callback;
        r->userdata = userdata;
        r->started = now(CLOCK_MONOTONIC);
        r->deadline = timeout >= USEC_INFINITY - r->started ? USEC_INFINITY - 1 : r->started + timeout;
        r->path = strdup(path);
        if (!r->path) {
                request_free(r);
                return net_error_set(err, -ENOMEM, "out of memory");
        }

        e = wire_msgs_build(h, msgs, n_msgs, &r->msgs, &r->msgs_size, err);
        if (e < 0) {
                request_free(r);
                return e;
        }

        /* Accuracy 1 ms: sd-event's default (0) lets a timer fire up to 250 ms late. */
        e = sd_event_add_time(c->event, &r->timer, CLOCK_MONOTONIC, r->deadline, USEC_PER_MSEC, on_deadline, r);
        if (e < 0) {
                request_free(r);
                return net_error_set(err, e, "cannot arm the deadline: %s", strerror(-e));
        }
        (void) sd_event_source_set_description(r->timer, "http-client-deadline");

        r->peer = p;
        r->state = REQUEST_QUEUED;
        list_append(&p->queued, r);

        /* Bounded memory for a slow or dead peer: push out the oldest waiting request. */
        if (p->queued.n > c->queue_max)
                request_fail_later(p->queued.head, -ENOBUFS, "queue for host %u is full (%u waiting)",
                                   host, c->queue_max);

        peer_dispatch(c, p);
        return 0;
}

int http_client_probe(HttpClient *c, const char *url, usec_t timeout, HttpClientCallback callback, void *userdata,
                      NetError *err) {
        Request *r;
        int e;

        if (!c || !url || !callback || timeout == 0 ||
            (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) || strpbrk(url, " \t\r\n"))
                return net_error_set(err, -EINVAL, "invalid arguments");

        r = calloc(1, sizeof(Request));
        if (!r)
                return net_error_set(err, -ENOMEM, "out of memory");
        r->client = c;
        r->probe = true;
        r->callback = callback;
        r->userdata = userdata;
        r->started = now(CLOCK_MONOTONIC);
        r->deadline = timeout >= USEC_INFINITY - r->started ? USEC_INFINITY - 1 : r->started + timeout;
        r->url = strdup(url);
        if (!r->url) {
                request_free(r);
                return net_error_set(err, -ENOMEM, "out of memory");
        }
        e = sd_event_add_time(c->event, &r->timer, CLOCK_MONOTONIC, r->deadline, USEC_PER_MSEC, on_deadline, r);
        if (e < 0) {
                request_free(r);
                return net_error_set(err, e, "cannot arm the deadline: %s", strerror(-e));
        }
        r->peer = &c->probes;
        r->state = REQUEST_QUEUED;
        list_append(&c->probes.queued, r);
        if (c->probes.queued.n > c->queue_max)
                request_fail_later(c->probes.queued.head, -ENOBUFS, "probe queue is full (%u waiting)", c->queue_max);
        peer_dispatch(c, &c->probes);
        return 0;
}

static int address_check(const char *address, NetError *err) {
        if (!address || !address[0])
                return net_error_set(err, -EINVAL, "invalid arguments");
        for (const char *s = address; *s; s++)
                if (*s <= ' ' || *s >= 0x7f || strchr("/?#@[]", *s))
                        return net_error_set(err, -EINVAL, "bad peer address '%s'", address);
        return 0;
}

int http_client_join(HttpClient *c, const char *address, uint16_t port, const char *path, const WireHeader *h,
                     usec_t timeout, HttpClientCallback callback, void *userdata, NetError *err) {
        Request *r;
        int e;

        if (!c || !path || path[0] != '/' || strchr(path, '\n') || !h || !callback || timeout == 0 || port == 0)
                return net_error_set(err, -EINVAL, "invalid arguments");
        e = address_check(address, err);
        if (e < 0)
                return e;

        r = calloc(1, sizeof(Request));
        if (!r)
                return net_error_set(err, -ENOMEM, "out of memory");
        r->client = c;
        r->join = true;
        r->host = PES_HOST_NONE;
        r->header = *h;
        r->callback = callback;
        r->userdata = userdata;
        r->started = now(CLOCK_MONOTONIC);
        r->deadline = timeout >= USEC_INFINITY - r->started ? USEC_INFINITY - 1 : r->started + timeout;
        r->path = strdup(path);
        if (!r->path || asprintf(&r->url, strchr(address, ':') ? "%s://[%s]:%u%s" : "%s://%s:%u%s",
                                 c->tls_ca ? "https" : "http", address, port, path) < 0) {
                r->url = NULL;
                request_free(r);
                return net_error_set(err, -ENOMEM, "out of memory");
        }
        e = wire_msgs_build(h, NULL, 0, &r->msgs, &r->msgs_size, err);
        if (e < 0) {
                request_free(r);
                return e;
        }
        e = sd_event_add_time(c->event, &r->timer, CLOCK_MONOTONIC, r->deadline, USEC_PER_MSEC, on_deadline, r);
        if (e < 0) {
                request_free(r);
                return net_error_set(err, e, "cannot arm the deadline: %s", strerror(-e));
        }
        /* One-off requests share the probes' queue and its bounds. */
        r->peer = &c->probes;
        r->state = REQUEST_QUEUED;
        list_append(&c->probes.queued, r);
        peer_dispatch(c, &c->probes);
        return 0;
}

int http_client_add_peer(HttpClient *c, uint16_t host, const char *address, uint16_t port, NetError *err) {
        _cleanup_free_ Peer *p = NULL;
        Peer **a;
        int k;

        if (!c || host == PES_HOST_NONE || !address || !address[0] || port == 0)
                return net_error_set(err, -EINVAL, "invalid arguments");
        for (const char *s = address; *s; s++)
                if (*s <= ' ' || *s >= 0x7f || strchr("/?#@[]", *s))
                        return net_error_set(err, -EINVAL, "bad peer address '%s'", address);
        if (peer_find(c, host))
                return net_error_set(err, -EEXIST, "host %u is already a peer", host);

        p = calloc(1, sizeof(Peer));
        if (!p)
                return net_error_set(err, -ENOMEM, "out of memory");
        p->host = host;
        k = asprintf(&p->base_url, strchr(address, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
                     c->tls_ca ? "https" : "http", address, port);
        if (k < 0)
                return net_error_set(err, -ENOMEM, "out of memory");

        a = reallocarray(c->peers, c->n_peers + 1, sizeof(Peer *));
        if (!a) {
                free(p->base_url);
                return net_error_set(err, -ENOMEM, "out of memory");
        }
        c->peers = a;
        c->peers[c->n_peers++] = TAKE_PTR(p);

        /* Enough cached connections for every peer's parallel requests to be kept alive. */
        (void) curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long) (c->n_peers * c->inflight_max + 4));
        return 0;
}

int http_client_remove_peer(HttpClient *c, uint16_t host) {
        Peer *p;
        size_t i;

        if (!c)
                return -EINVAL;
        for (i = 0; i < c->n_peers; i++)
                if (c->peers[i]->host == host)
                        break;
        if (i == c->n_peers)
                return -ENOENT;
        p = c->peers[i];

        while (p->running.head)
                request_fail_later(p->running.head, -ECANCELED, "host %u was removed", host);
        while (p->queued.head)
                request_fail_later(p->queued.head, -ECANCELED, "host %u was removed", host);

        memmove(c->peers + i, c->peers + i + 1, (c->n_peers - i - 1) * sizeof(Peer *));
        c->n_peers--;
        free(p->base_url);
        free(p);
        return 0;
}

unsigned http_client_pending(HttpClient *c, uint16_t host) {
        Peer *p = c ? peer_find(c, host) : NULL;

        return p ? p->queued.n + p->running.n : 0;
}

static int set_path(char **dst, const char *src, NetError *err) {
        if (!src)
                return 0;
        *dst = strdup(src);
        return *dst ? 0 : net_error_set(err, -ENOMEM, "out of memory");
}

int http_client_new(HttpClient **ret, sd_event *e, const HttpClientConfig *config, NetError *err) {
        _cleanup_(http_client_freep) HttpClient *c = NULL;
        int r;

        if (!ret || !e || !config || !config->key || config->inflight_max == 0 || config->queue_max == 0 ||
            config->reply_max == 0)
                return net_error_set(err, -EINVAL, "invalid arguments");
        if ((config->tls_cert_file || config->tls_key_file) && !config->tls_ca_file)
                return net_error_set(err, -EINVAL, "a TLS client certificate needs the CA file too");

        c = calloc(1, sizeof(HttpClient));
        if (!c)
                return net_error_set(err, -ENOMEM, "out of memory");
        c->event = sd_event_ref(e);
        c->key = *config->key;
        c->cluster_id = config->cluster_id;
        c->inflight_max = config->inflight_max;
        c->queue_max = config->queue_max;
        c->reply_max = config->reply_max;
        c->connect_timeout = config->connect_timeout_usec > 0 ? config->connect_timeout_usec : USEC_PER_SEC;

        r = set_path(&c->tls_ca, config->tls_ca_file, err);
        if (r >= 0)
                r = set_path(&c->tls_cert, config->tls_cert_file, err);
        if (r >= 0)
                r = set_path(&c->tls_key, config->tls_key_file, err);
        if (r < 0)
                return r;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return net_error_set(err, -EIO, "cannot initialise libcurl");
        c->curl_initialized = true;

        c->multi = curl_multi_init();
        if (!c->multi)
                return net_error_set(err, -ENOMEM, "cannot create a curl multi handle");
        if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK)
                return net_error_set(err, -EIO, "cannot set up the curl multi handle");

        /* curl's timeouts are often "now"; the default accuracy (0 means 250 ms) would
         * stall every transfer by up to a quarter second. */
        r = sd_event_add_time_relative(e, &c->curl_timer, CLOCK_MONOTONIC, 0, 1, on_curl_timer, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->curl_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_defer(e, &c->defer, on_defer, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
        if (r < 0)
                return net_error_set(err, r, "cannot add event sources: %s", strerror(-r));
        (void) sd_event_source_set_description(c->curl_timer, "http-client-curl-timer");
        (void) sd_event_source_set_description(c->defer, "http-client-completions");

        *ret = TAKE_PTR(c);
        return 0;
}

HttpClient *http_client_free(HttpClient *c) {
        if (!c)
                return NULL;

        for (size_t i = 0; i < c->n_peers; i++) {
                Peer *p = c->peers[i];

                while (p->running.head) {
                        Request *r = p->running.head;
                        list_remove(&p->running, r);
                        request_free(r);
                }
                while (p->queued.head) {
                        Request *r = p->queued.head;
                        list_remove(&p->queued, r);
                        request_free(r);
                }
                free(p->base_url);
                free(p);
        }
        free(c->peers);
        while (c->probes.running.head) {
                Request *r = c->probes.running.head;
                list_remove(&c->probes.running, r);
                request_free(r);
        }
        while (c->probes.queued.head) {
                Request *r = c->probes.queued.head;
                list_remove(&c->probes.queued, r);
                request_free(r);
        }
        while (c->done.head) {
                Request *r = c->done.head;
                list_remove(&c->done, r);
                request_free(r);
        }

        if (c->multi)
                curl_multi_cleanup(c->multi);
        /* Sockets curl did not say goodbye to (cached connections it closed in cleanup). */
        while (c->watches) {
                SocketWatch *w = c->watches;
                c->watches = w->next;
                sd_event_source_disable_unref(w->source);
                free(w);
        }
        if (c->curl_initialized)
                curl_global_cleanup();

        sd_event_source_disable_unref(c->curl_timer);
        sd_event_source_disable_unref(c->defer);
        sd_event_unref(c->event);
        free(c->tls_ca);
        free(c->tls_cert);
        free(c->tls_key);
        explicit_bzero(&c->key, sizeof(c->key));
        free(c);
        return NULL;
}
