/* SPDX-License-Identifier: MIT */
/* Tests of the optional TLS layer, with a CA and certificates made by certtool (skipped without it). */
#include <errno.h>
#include <gnutls/crypto.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/http-client.h"
#include "net/http-server.h"

#define PATH "/v1/peer/batch"
#define CLUSTER UINT64_C(0x7157157157157157)

static char dir[] = "/tmp/test-tls-XXXXXX";
static bool have_certtool;
static AuthKey key;

static int sh(const char *fmt, ...) _printf_(1, 2);
static int sh(const char *fmt, ...) {
        char cmd[2048];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return system(cmd);
}

static void write_template(const char *name, const char *text) {
        char path[128];
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* A CA that signs a server certificate for 127.0.0.1 and a client certificate, and a
 * second, unrelated CA with a client certificate of its own. */
static int setup(void **state) {
        static const char *const certtool = "certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile";

        if (!mkdtemp(dir))
                return -1;
        have_certtool = sh("command -v certtool >/dev/null 2>&1") == 0;
        if (!have_certtool)
                return 0;

        write_template("ca.tmpl", "cn = \"pes test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n");
        write_template("rogue.tmpl", "cn = \"someone else's CA\"\nca\ncert_signing_key\nexpiration_days = 2\n");
        write_template("server.tmpl", "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
                                      "tls_www_server\ntls_www_client\nsigning_key\nexpiration_days = 2\n");
        write_template("client.tmpl", "cn = \"host-1\"\ntls_www_client\nsigning_key\nexpiration_days = 2\n");

        if (sh("cd %s && %s ca.key 2>/dev/null && %s rogue.key 2>/dev/null && %s server.key 2>/dev/null && "
               "%s client.key 2>/dev/null && %s rogue-client.key 2>/dev/null",
               dir, certtool, certtool, certtool, certtool, certtool) != 0)
                return -1;
        if (sh("cd %s && certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem 2>/dev/null && "
               "certtool --generate-self-signed --load-privkey rogue.key --template rogue.tmpl --outfile rogue.pem 2>/dev/null && "
               "certtool --generate-certificate --load-privkey server.key --load-ca-certificate ca.pem "
               "--load-ca-privkey ca.key --template server.tmpl --outfile server.pem 2>/dev/null && "
               "certtool --generate-certificate --load-privkey client.key --load-ca-certificate ca.pem "
               "--load-ca-privkey ca.key --template client.tmpl --outfile client.pem 2>/dev/null && "
               "certtool --generate-certificate --load-privkey rogue-client.key --load-ca-certificate rogue.pem "
               "--load-ca-privkey rogue.key --template client.tmpl --outfile rogue-client.pem 2>/dev/null",
               dir) != 0)
                return -1;

        return gnutls_rnd(GNUTLS_RND_KEY, key.bytes, sizeof(key.bytes)) < 0 ? -1 : 0;
}

static int teardown(void **state) {
        return sh("rm -rf '%s'", dir) == 0 ? 0 : -1;
}

static char *file(const char *name) {
        static char paths[8][128];
        static unsigned next;
        char *p = paths[next++ % 8];

        (void) snprintf(p, 128, "%s/%s", dir, name);
        return p;
}

typedef struct Side {
        WireHeader self;
        unsigned handled;
} Side;

static void on_batch(HttpPeerRequest *req, const WireBatch *batch, void *userdata) {
        Side *s = userdata;

        s->handled++;
        assert_int_equal(http_peer_request_reply(req, &s->self, NULL, 0, NULL), 0);
}

typedef struct Outcome {
        unsigned calls;
        int error;
        unsigned status;
        char text[256];
} Outcome;

static void on_result(HttpClient *c, uint16_t peer, const HttpClientResult *res, void *userdata) {
        Outcome *o = userdata;

        o->calls++;
        o->error = res->error;
        o->status = res->http_status;
        if (res->error_text)
                (void) snprintf(o->text, sizeof(o->text), "%s", res->error_text);
}

/* One request from a client with the given TLS files to a TLS server that verifies
 * clients against ca.pem; returns how it ended. */
static Outcome exchange(const char *ca, const char *cert, const char *keyfile, HttpServerStats *ret_stats,
                        unsigned *ret_handled) {
        sd_event *e = NULL;
        HttpServerConfig sc = HTTP_SERVER_CONFIG_INIT;
        HttpClientConfig cc = HTTP_CLIENT_CONFIG_INIT;
        HttpServer *server = NULL;
        HttpClient *client = NULL;
        Side side = { .self = { .version = WIRE_PROTOCOL_VERSION, .cluster_id = CLUSTER, .from = 2,
                                .incarnation = 1 } };
        WireHeader self = { .version = WIRE_PROTOCOL_VERSION, .cluster_id = CLUSTER, .from = 1, .incarnation = 1 };
        PeerMsg m = { .type = MSG_READ, .from = 1, .incarnation = 1, .name = "report.service" };
        NetError err = {};
        Outcome o = {};
        usec_t end;

        assert_int_equal(sd_event_new(&e), 0);
        sc.address = "127.0.0.1";
        sc.key = &key;
        sc.cluster_id = CLUSTER;
        sc.tls_cert_file = file("server.pem");
        sc.tls_key_file = file("server.key");
        sc.tls_ca_file = file("ca.pem");
        if (http_server_new(&server, e, &sc, &err) < 0)
                fail_msg("server: %s", err.text);
        assert_int_equal(http_server_add_peer_route(server, PATH, on_batch, &side), 0);

        cc.key = &key;
        cc.cluster_id = CLUSTER;
        cc.tls_ca_file = ca;
        cc.tls_cert_file = cert;
        cc.tls_key_file = keyfile;
        if (http_client_new(&client, e, &cc, &err) < 0)
                fail_msg("client: %s", err.text);
        assert_int_equal(http_client_add_peer(client, 2, "127.0.0.1", http_server_get_port(server), &err), 0);
        assert_int_equal(http_client_send(client, 2, PATH, &self, &m, 1, 5 * USEC_PER_SEC, on_result, &o, &err), 0);

        end = now(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;
        while (o.calls == 0) {
                if (now(CLOCK_MONOTONIC) > end)
                        fail_msg("no outcome within 5 s");
                assert_true(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
        }

        *ret_stats = *http_server_get_stats(server);
        *ret_handled = side.handled;
        http_client_free(client);
        http_server_free(server);
        sd_event_unref(e);
        return o;
}

static void test_tls_with_client_certificates_both_ways(void **state) {
        HttpServerStats st;
        unsigned handled;
        Outcome o;

        if (!have_certtool)
                skip();

        o = exchange(file("ca.pem"), file("client.pem"), file("client.key"), &st, &handled);
        if (o.error != 0)
                fail_msg("TLS exchange: %s", o.text);
        assert_int_equal(o.status, 200);
        assert_int_equal(handled, 1);
        assert_int_equal(st.bad_certificate, 0);
}

static void test_tls_client_without_certificate_is_refused(void **state) {
        HttpServerStats st;
        unsigned handled;
        Outcome o;

        if (!have_certtool)
                skip();

        o = exchange(file("ca.pem"), NULL, NULL, &st, &handled);
        assert_int_equal(o.error, -EPERM);
        assert_int_equal(o.status, 403);
        assert_int_equal(st.bad_certificate, 1);
        assert_int_equal(handled, 0);
}

static void test_tls_client_certificate_from_another_ca_is_refused(void **state) {
        HttpServerStats st;
        unsigned handled;
        Outcome o;

        if (!have_certtool)
                skip();

        o = exchange(file("ca.pem"), file("rogue-client.pem"), file("rogue-client.key"), &st, &handled);
        assert_int_equal(o.error, -EPERM);
        assert_int_equal(st.bad_certificate, 1);
        assert_int_equal(handled, 0);
}

static void test_tls_server_not_signed_by_the_trusted_ca_is_refused(void **state) {
        HttpServerStats st;
        unsigned handled;
        Outcome o;

        if (!have_certtool)
                skip();

        o = exchange(file("rogue.pem"), file("client.pem"), file("client.key"), &st, &handled);
        assert_int_equal(o.error, -EPROTO);
        assert_int_equal(o.status, 0);
        assert_int_equal(handled, 0);
}

static void test_tls_files_that_do_not_exist_are_reported(void **state) {
        sd_event *e = NULL;
        HttpServerConfig sc = HTTP_SERVER_CONFIG_INIT;
        HttpServer *server = NULL;
        NetError err = {};

        assert_int_equal(sd_event_new(&e), 0);
        sc.address = "127.0.0.1";
        sc.key = &key;
        sc.tls_cert_file = "/nonexistent/server.pem";
        sc.tls_key_file = "/nonexistent/server.key";
        assert_int_equal(http_server_new(&server, e, &sc, &err), -ENOENT);
        assert_non_null(strstr(err.text, "/nonexistent/server.pem"));

        sc.tls_key_file = NULL;
        assert_int_equal(http_server_new(&server, e, &sc, &err), -EINVAL);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tls_with_client_certificates_both_ways),
                cmocka_unit_test(test_tls_client_without_certificate_is_refused),
                cmocka_unit_test(test_tls_client_certificate_from_another_ca_is_refused),
                cmocka_unit_test(test_tls_server_not_signed_by_the_trusted_ca_is_refused),
                cmocka_unit_test(test_tls_files_that_do_not_exist_are_reported),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
