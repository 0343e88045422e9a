/* SPDX-License-Identifier: MIT */
/* Tests of the peers table: members added, readdressed and dropped at run time, and who gets contacted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "basic/time-util.h"
#include "daemon/peers.h"
#include "net/http-server.h"

#define CLUSTER UINT64_C(0x00c0ffee00c0ffee)

static AuthKey key;
static sd_event *event;
static HttpServer *server;
static unsigned batches;
static uint16_t last_from;

static uint64_t test_now(void *userdata) {
        return now(CLOCK_MONOTONIC);
}

/* A member that answers every batch with an empty one, epoch 7. */
static void on_batch(HttpPeerRequest *req, const WireBatch *batch, void *userdata) {
        WireHeader h = {
                .from = 2,
                .incarnation = 1,
                .epoch = { .n = 7, .hash = 0x77 },
        };

        batches++;
        last_from = batch->header.from;
        assert_int_equal(http_peer_request_reply(req, &h, NULL, 0, NULL), 0);
}

static int setup(void **state) {
        HttpServerConfig sc = HTTP_SERVER_CONFIG_INIT;
        NetError err = {};

        memset(key.bytes, 0x42, sizeof key.bytes);
        assert_int_equal(sd_event_new(&event), 0);
        sc.address = "127.0.0.1";
        sc.key = &key;
        sc.cluster_id = CLUSTER;
        assert_int_equal(http_server_new(&server, event, &sc, &err), 0);
        assert_int_equal(http_server_add_peer_route(server, "/v1/peer/batch", on_batch, NULL), 0);
        batches = 0;
        return 0;
}

static int teardown(void **state) {
        server = http_server_free(server);
        event = sd_event_unref(event);
        return 0;
}

static Peers *new_peers(void) {
        PeersConfig pc = {
                .event = event,
                .key = &key,
                .cluster_id = CLUSTER,
                .self = 1,
                .heartbeat_usec = 100 * USEC_PER_MSEC,
                .now = test_now,
        };
        Peers *ps;

        assert_int_equal(peers_new(&pc, &ps), 0);
        return ps;
}

static WireHeader self_header(void) {
        return (WireHeader) {
                .version = WIRE_PROTOCOL_VERSION,
                .cluster_id = CLUSTER,
                .from = 1,
                .incarnation = 1,
                .epoch = { .n = 7, .hash = 0x77 },
        };
}

static void run_until_batches(unsigned n) {
        usec_t end = now(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;

        while (batches < n) {
                assert_true(now(CLOCK_MONOTONIC) < end);
                assert_true(sd_event_run(event, 100 * USEC_PER_MSEC) >= 0);
        }
}

static void test_members_come_and_go_and_pointers_stay(void **state) {
        Peers *ps = new_peers();
        Peer *p9;

        assert_int_equal(peers_add(ps, 1, "h1", "127.0.0.1", 1, true), 1);
        assert_int_equal(peers_add(ps, 9, "h9", NULL, 0, false), 1);
        assert_int_equal(peers_add(ps, 3, "h3", "127.0.0.1", 3, true), 1);
        assert_int_equal(peers_count(ps), 3);
        /* Sorted by id, whatever the order they came in. */
        assert_int_equal(peers_at(ps, 0)->id, 1);
        assert_int_equal(peers_at(ps, 1)->id, 3);
        assert_int_equal(peers_at(ps, 2)->id, 9);
        assert_int_equal(peers_find(ps, 1)->state, PEER_SELF);
        assert_int_equal(peers_find(ps, 3)->state, PEER_UNKNOWN);
        assert_int_equal(peers_find(ps, 3)->epoch.n, 0);
        assert_ptr_equal(peers_find_name(ps, "h9"), peers_find(ps, 9));
        assert_true(peers_is_voter(ps, 3));
        assert_false(peers_is_voter(ps, 9));

        p9 = peers_find(ps, 9);
        /* The same again: no change. A new role or name: a change. */
        assert_int_equal(peers_add(ps, 3, "h3", "127.0.0.1", 3, true), 0);
        assert_int_equal(peers_add(ps, 3, "h3", "127.0.0.1", 3, false), 1);
        assert_int_equal(peers_add(ps, 9, "h9-new", NULL, 0, false), 1);
        assert_string_equal(p9->name, "h9-new");

        assert_int_equal(peers_remove(ps, 3), 0);
        assert_int_equal(peers_remove(ps, 3), -ENOENT);
        assert_null(peers_find(ps, 3));
        /* Others keep their place in memory while hosts come and go. */
        assert_ptr_equal(peers_find(ps, 9), p9);
        assert_int_equal(peers_count(ps), 2);

        assert_int_equal(peers_add(ps, 0, "h0", NULL, 0, false), -EINVAL);
        assert_int_equal(peers_add(ps, 4, "", NULL, 0, false), -EINVAL);
        peers_free(ps);
}

/* A member without a known address is listed but never contacted; once it has one, it is. */
static void test_members_without_an_address_are_not_contacted(void **state) {
        Peers *ps = new_peers();
        WireHeader h = self_header();
        PeerMsg msg = { .type = MSG_READ, .from = 1, .incarnation = 1, .epoch = h.epoch, .round = 1 };

        strcpy(msg.name, "a.service");
        peers_set_header(ps, &h);
        assert_int_equal(peers_add(ps, 1, "h1", "127.0.0.1", 1, true), 1);
        assert_int_equal(peers_add(ps, 2, "h2", NULL, 0, true), 1);
        assert_int_equal(peers_queue(ps, 2, &msg), -EHOSTUNREACH);
        assert_int_equal(peers_flush(ps, test_now(NULL)), 0);
        for (int i = 0; i < 5; i++)
                assert_true(sd_event_run(event, 20 * USEC_PER_MSEC) >= 0);
        assert_int_equal(batches, 0);

        /* Its address is learned: the next flush pings it, and its answer tells its epoch. */
        assert_int_equal(peers_add(ps, 2, "h2", "127.0.0.1", http_server_get_port(server), true), 1);
        assert_int_equal(peers_queue(ps, 2, &msg), 0);
        assert_int_equal(peers_flush(ps, test_now(NULL)), 0);
        run_until_batches(1);
        assert_int_equal(last_from, 1);
        for (int i = 0; i < 50 && peers_find(ps, 2)->state != PEER_ALIVE; i++)
                assert_true(sd_event_run(event, 20 * USEC_PER_MSEC) >= 0);
        assert_int_equal(peers_find(ps, 2)->state, PEER_ALIVE);
        assert_int_equal(peers_find(ps, 2)->epoch.n, 7);
        assert_true(peers_find(ps, 2)->last_contact > 0);
        assert_int_equal(peers_alive(ps, true), 2);

        /* Dropped while a request may be under way: nothing is left behind. */
        assert_int_equal(peers_queue(ps, 2, &msg), 0);
        assert_int_equal(peers_flush(ps, test_now(NULL)), 0);
        assert_int_equal(peers_remove(ps, 2), 0);
        for (int i = 0; i < 5; i++)
                assert_true(sd_event_run(event, 20 * USEC_PER_MSEC) >= 0);
        assert_int_equal(peers_count(ps), 1);
        peers_free(ps);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_members_come_and_go_and_pointers_stay, setup, teardown),
                cmocka_unit_test_setup_teardown(test_members_without_an_address_are_not_contacted, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
