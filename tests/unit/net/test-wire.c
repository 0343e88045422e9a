/* SPDX-License-Identifier: MIT */
/* Tests of the wire codec: round trips of every message type and every kind of rejection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/wire.h"

static WireHeader test_header(void) {
        return (WireHeader) {
                .version = WIRE_PROTOCOL_VERSION,
                .cluster_id = UINT64_C(0xfedcba9876543210),
                .voters_hash = UINT64_MAX,
                .from = 0xffff,
                .incarnation = INT64_MAX,
                .epoch = { .n = 3, .hash = UINT64_C(0x8000000000000001) },
                .seq = 42,
                .initialised = true,
                .ready = true,
        };
}

/* A message of the given type with every field it carries set to a distinct value,
 * including the extremes of each range, and every other field zero. */
static PeerMsg full_msg(const WireHeader *h, MsgType type, unsigned i) {
        PeerMsg m = {
                .type = type,
                .from = h->from,
                .incarnation = h->incarnation,
                .epoch = h->epoch,
                .round = INT64_MAX - i,
        };

        if (type != MSG_SCAN && type != MSG_SCAN_DONE && type < MSG_CFG_PREPARE)
                (void) snprintf(m.name, sizeof(m.name), "unit-%u.service", i);
        switch (type) {
        case MSG_READ_REPLY:
        case MSG_PROMISE:
        case MSG_TAKE:
        case MSG_SCAN_REPLY:
                if (type != MSG_TAKE)
                        m.remaining_usec = 2999999;
                m.value = (RegValue) {
                        .ba = { .counter = INT64_MAX, .host = 0xffff },
                        .seq = 17,
                        .kind = VALUE_RESERVED,
                        .holder = 9,
                        .token = (UINT64_C(5) << 16) | 9,
                        .lease_usec = 3000000,
                };
                m.ballot = (Ballot) { .counter = 5 + i, .host = 1 };
                break;
        case MSG_ACCEPT:
        case MSG_ACCEPTED:
                m.identity = type == MSG_ACCEPT;
                m.value = (RegValue) {
                        .ba = { .counter = 7, .host = 2 },
                        .seq = INT64_MAX,
                        .kind = VALUE_LEASE,
                        .holder = 2,
                        .token = (UINT64_C(7) << 16) | 2,
                        .lease_usec = 3000000,
                };
                __attribute__((fallthrough));
        case MSG_PREPARE:
                m.ballot = (Ballot) { .counter = 7, .host = 2 };
                break;
        case MSG_NACK:
                m.ballot = (Ballot) { .counter = 0, .host = 0 };
                m.reason = NACK_LIVE;
                m.value = (RegValue) { .ba = { .counter = 6, .host = 3 }, .seq = 2, .kind = VALUE_LEASE,
                                       .holder = 3, .token = (UINT64_C(6) << 16) | 3, .lease_usec = 3000000 };
                m.remaining_usec = 1234;
                break;
        case MSG_SCAN_DONE:
                m.scan_count = INT64_MAX;
                break;
        case MSG_NACK_CONFIG:
        case MSG_CFG_PREPARE:
        case MSG_CFG_PROMISE:
        case MSG_CFG_ACCEPT:
        case MSG_CFG_ACCEPTED:
        case MSG_CFG_COMMIT:
        case MSG_CFG_COMMITTED:
                if (type != MSG_NACK_CONFIG)
                        m.ballot = (Ballot) { .counter = 11 + i, .host = 3 };
                if (type == MSG_CFG_PROMISE)
                        m.value.ba = (Ballot) { .counter = 10, .host = 2 };
                if (type == MSG_CFG_PREPARE)
                        break;
                m.config = (VoterConfig) {
                        .epoch = { .n = 4, .hash = 0xabcdef },
                        .phase = CONFIG_ACCEPT_WIDENED,
                        .changing = 4,
                        .adding = true,
                        .rescanned = i % 2,
                        .n_voters = PES_VOTERS_MAX,
                        .voters = { 1, 2, 3, 4, 5, 6, 7, 0xffff },
                        .n_members = PES_MEMBERS_MAX,
                        .next_id = 0xffff,
                        .rho_ppm = UINT32_MAX,
                        .delta_usec = 200000,
                        .lease_max_usec = 60000000,
                };
                for (unsigned k = 0; k < PES_MEMBERS_MAX; k++)
                        m.config.members[k] = (uint16_t) (k == PES_MEMBERS_MAX - 1 ? 0xffff : k + 1);
                break;
        default:
                break;
        }
        return m;
}

static void assert_msg_equal(const PeerMsg *a, const PeerMsg *b) {
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->from, b->from);
        assert_true(a->incarnation == b->incarnation);
        assert_true(a->epoch.n == b->epoch.n && a->epoch.hash == b->epoch.hash);
        assert_true(a->round == b->round);
        assert_string_equal(a->name, b->name);
        assert_true(a->ballot.counter == b->ballot.counter);
        assert_int_equal(a->ballot.host, b->ballot.host);
        assert_true(a->value.ba.counter == b->value.ba.counter);
        assert_int_equal(a->value.ba.host, b->value.ba.host);
        assert_true(a->value.seq == b->value.seq);
        assert_int_equal(a->value.kind, b->value.kind);
        assert_int_equal(a->value.holder, b->value.holder);
        assert_true(a->value.token == b->value.token);
        assert_true(a->value.lease_usec == b->value.lease_usec);
        assert_true(a->remaining_usec == b->remaining_usec);
        assert_int_equal(a->reason, b->reason);
        assert_true(a->config.epoch.n == b->config.epoch.n);
        assert_true(a->config.epoch.hash == b->config.epoch.hash);
        assert_int_equal(a->config.phase, b->config.phase);
        assert_int_equal(a->config.changing, b->config.changing);
        assert_int_equal(a->config.adding, b->config.adding);
        assert_int_equal(a->config.rescanned, b->config.rescanned);
        assert_int_equal(a->config.n_voters, b->config.n_voters);
        assert_memory_equal(a->config.voters, b->config.voters, sizeof(a->config.voters));
        assert_int_equal(a->config.n_members, b->config.n_members);
        assert_memory_equal(a->config.members, b->config.members, sizeof(a->config.members));
        assert_int_equal(a->config.next_id, b->config.next_id);
        assert_int_equal(a->identity, b->identity);
        assert_int_equal(a->config.rho_ppm, b->config.rho_ppm);
        assert_true(a->config.delta_usec == b->config.delta_usec);
        assert_true(a->config.lease_max_usec == b->config.lease_max_usec);
        assert_true(a->scan_count == b->scan_count);
}

static void test_every_type_round_trips(void **state) {
        WireHeader h = test_header();
        PeerMsg msgs[_MSG_TYPE_MAX];
        WireBatch b = WIRE_BATCH_NULL;
        NetError err = {};
        char *buf;
        size_t size;

        for (unsigned t = 0; t < _MSG_TYPE_MAX; t++)
                msgs[t] = full_msg(&h, t, t);

        if (wire_batch_encode(&h, msgs, _MSG_TYPE_MAX, &buf, &size, &err) != 0)
                fail_msg("%s", err.text);
        assert_int_equal(wire_batch_decode(buf, size, &b, &err), 0);
        free(buf);

        assert_int_equal(b.header.version, h.version);
        assert_true(b.header.cluster_id == h.cluster_id);
        assert_true(b.header.voters_hash == h.voters_hash);
        assert_int_equal(b.header.from, h.from);
        assert_true(b.header.incarnation == h.incarnation);
        assert_true(b.header.epoch.n == h.epoch.n && b.header.epoch.hash == h.epoch.hash);
        assert_true(b.header.seq == h.seq);
        assert_true(b.header.initialised);
        assert_true(b.header.ready);
        assert_int_equal(b.n_msgs, _MSG_TYPE_MAX);
        for (unsigned t = 0; t < _MSG_TYPE_MAX; t++)
                assert_msg_equal(&b.msgs[t], &msgs[t]);
        wire_batch_done(&b);
        assert_null(b.msgs);
}

/* Fields that msg.h gives no meaning for a type are not sent and decode as zero. */
static void test_fields_outside_the_type_decode_as_zero(void **state) {
        WireHeader h = test_header();
        PeerMsg m = full_msg(&h, MSG_ACCEPTED, 1), expect = m;
        WireBatch b = WIRE_BATCH_NULL;
        char *buf;
        size_t size;

        m.remaining_usec = 7;
        m.reason = NACK_STALE_SEQ;
        m.config.n_voters = 3;
        m.scan_count = 9;
        assert_int_equal(wire_batch_encode(&h, &m, 1, &buf, &size, NULL), 0);
        assert_null(memmem(buf, size, "remaining_usec", 14));
        assert_null(memmem(buf, size, "reason", 6));
        assert_int_equal(wire_batch_decode(buf, size, &b, NULL), 0);
        free(buf);
        assert_msg_equal(&b.msgs[0], &expect);
        wire_batch_done(&b);
}

/* systemd escapes unit names with backslashes ("a\x2db.service"); a quote is printable
 * too. Both must be escaped by the encoder and come back unchanged. */
static void test_names_with_backslash_and_quote_round_trip(void **state) {
        static const char *const names[] = { "a\\x2db.service", "we\"ird", "\\", "\"", "x\\\"\\y" };
        WireHeader h = test_header();
        WireBatch b = WIRE_BATCH_NULL;
        PeerMsg m[5];
        char *buf;
        size_t size;

        for (unsigned i = 0; i < 5; i++) {
                m[i] = full_msg(&h, MSG_READ, i);
                strcpy(m[i].name, names[i]);
        }
        assert_int_equal(wire_batch_encode(&h, m, 5, &buf, &size, NULL), 0);
        assert_non_null(memmem(buf, size, "\"a\\\\x2db.service\"", 17));
        assert_int_equal(wire_batch_decode(buf, size, &b, NULL), 0);
        for (unsigned i = 0; i < 5; i++)
                assert_string_equal(b.msgs[i].name, names[i]);
        wire_batch_done(&b);
        free(buf);
}

static void test_empty_and_full_batches_round_trip(void **state) {
        WireHeader h = test_header();
        WireBatch b = WIRE_BATCH_NULL;
        PeerMsg *msgs;
        char *buf;
        size_t size;

        assert_int_equal(wire_batch_encode(&h, NULL, 0, &buf, &size, NULL), 0);
        assert_int_equal(wire_batch_decode(buf, size, &b, NULL), 0);
        assert_int_equal(b.n_msgs, 0);
        assert_null(b.msgs);
        free(buf);

        msgs = calloc(WIRE_BATCH_MAX + 1, sizeof(PeerMsg));
        assert_non_null(msgs);
        for (unsigned i = 0; i <= WIRE_BATCH_MAX; i++)
                msgs[i] = full_msg(&h, MSG_ACCEPT, i);
        assert_int_equal(wire_batch_encode(&h, msgs, WIRE_BATCH_MAX, &buf, &size, NULL), 0);
        assert_int_equal(wire_batch_decode(buf, size, &b, NULL), 0);
        assert_int_equal(b.n_msgs, WIRE_BATCH_MAX);
        assert_msg_equal(&b.msgs[WIRE_BATCH_MAX - 1], &msgs[WIRE_BATCH_MAX - 1]);
        wire_batch_done(&b);
        free(buf);

        NetError err = {};
        assert_int_equal(wire_batch_encode(&h, msgs, WIRE_BATCH_MAX + 1, &buf, &size, &err), -E2BIG);
        assert_non_null(strstr(err.text, "msgs: 4097 messages"));
        free(msgs);
}

static void expect_encode_error(const WireHeader *h, const PeerMsg *m, int error, const char *text) {
        NetError err = {};
        char *buf = NULL;
        size_t size = 0;

        assert_int_equal(wire_batch_encode(h, m, 1, &buf, &size, &err), error);
        assert_null(buf);
        if (!strstr(err.text, text))
                fail_msg("error '%s' does not contain '%s'", err.text, text);
}

static void test_encode_refuses_what_cannot_travel(void **state) {
        WireHeader h = test_header();
        PeerMsg m;

        m = full_msg(&h, MSG_PREPARE, 0);
        m.ballot.counter = (uint64_t) INT64_MAX + 1;
        expect_encode_error(&h, &m, -ERANGE, "msgs[0].ballot.counter: 9223372036854775808 is above 2^63-1");

        m = full_msg(&h, MSG_ACCEPT, 0);
        m.value.lease_usec = UINT64_MAX;
        expect_encode_error(&h, &m, -ERANGE, "msgs[0].value.lease_usec");

        m = full_msg(&h, MSG_PREPARE, 0);
        m.from = 3;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].from: 3 differs from the batch header's 65535");

        m = full_msg(&h, MSG_PREPARE, 0);
        m.incarnation++;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].incarnation");

        m = full_msg(&h, MSG_PREPARE, 0);
        m.epoch.hash++;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].epoch");

        m = full_msg(&h, MSG_PREPARE, 0);
        m.type = _MSG_TYPE_MAX;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].type");

        m = full_msg(&h, MSG_ACCEPT, 0);
        m.value.kind = 7;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].value.kind");

        m = full_msg(&h, MSG_NACK, 0);
        m.reason = _NACK_REASON_MAX;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].reason");

        m = full_msg(&h, MSG_NACK_CONFIG, 0);
        m.config.n_voters = PES_VOTERS_MAX + 1;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].config.voters: 9 voters");

        m = full_msg(&h, MSG_NACK_CONFIG, 0);
        m.config.voters[2] = 0;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].config.voters[2]: host id 0");

        m = full_msg(&h, MSG_NACK_CONFIG, 0);
        m.config.phase = _CONFIG_PHASE_MAX;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].config.phase");

        m = full_msg(&h, MSG_READ, 0);
        m.name[0] = 0;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].name: empty name");

        m = full_msg(&h, MSG_READ, 0);
        memset(m.name, 'a', sizeof(m.name)); /* not even NUL-terminated */
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].name: name longer than 255 bytes");

        m = full_msg(&h, MSG_READ, 0);
        strcpy(m.name, "with space");
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].name: byte 4");

        h.from = PES_HOST_NONE;
        m = full_msg(&h, MSG_READ, 0);
        expect_encode_error(&h, &m, -EINVAL, "from: host id 0");

        h = test_header();
        h.version = 2;
        m = full_msg(&h, MSG_READ, 0);
        expect_encode_error(&h, &m, -EINVAL, "version");
}

#define HDR "\"version\":1,\"cluster\":\"00000000000000aa\",\"voters\":\"00000000000000bb\",\"from\":2," \
            "\"incarnation\":7,\"epoch\":{\"n\":1,\"hash\":\"0000000000000001\"},\"seq\":42,\"init\":false,\"ready\":false"
#define PREP(ballot) "{\"type\":\"prepare\",\"round\":1,\"name\":\"a.service\",\"ballot\":" ballot "}"
#define GOOD PREP("{\"counter\":3,\"host\":2}")
#define ONE(m) "{" HDR ",\"msgs\":[" m "]}"
#define VAL(kind) "{\"ba\":{\"counter\":1,\"host\":1},\"seq\":1,\"kind\":" kind ",\"holder\":1,\"token\":65537,\"lease_usec\":3000000}"
#define ACC(value) "{\"type\":\"accept\",\"round\":1,\"name\":\"a.service\",\"ballot\":{\"counter\":1,\"host\":1},\"value\":" value ",\"remaining_usec\":0,\"identity\":false}"
#define CFGM(voters, members) "{\"type\":\"nack-config\",\"round\":1,\"name\":\"a\",\"config\":{\"epoch\":{\"n\":1,\"hash\":\"0000000000000001\"}," \
            "\"phase\":\"stable\",\"changing\":0,\"adding\":false,\"rescanned\":true,\"voters\":" voters ",\"members\":" members \
            ",\"next_id\":4,\"rho_ppm\":1000,\"delta_usec\":1,\"lease_max_usec\":1}}"
#define CFG(voters) CFGM(voters, "[1,2,3]")
#define NODE(name, address, port) "{\"name\":\"" name "\",\"address\":\"" address "\",\"port\":" port "}"
#define WITH(extra) "{" HDR "," extra ",\"msgs\":[]}"

static const struct {
        const char *json;
        int error;
        const char *text;
} bad_batches[] = {
        { ONE(GOOD ",{\"x\":1}"), -EBADMSG, "msgs[1].type: missing field" },
        { ONE("{\"type\":\"scan\",\"round\":1,\"name\":\"a\"}"), -EBADMSG, "msgs[0].name: unknown field" },
        { ONE("{\"type\":\"scan-done\",\"round\":1}"), -EBADMSG, "msgs[0].scan_count: missing field" },
        { ONE("{\"type\":\"take\",\"round\":1,\"name\":\"a\",\"ballot\":{\"counter\":1,\"host\":1}}"), -EBADMSG,
          "msgs[0].value: missing field" },
        { ONE(GOOD "," GOOD "," GOOD "," PREP("{\"counter\":\"3\",\"host\":2}")), -EBADMSG,
          "msgs[3].ballot.counter: expected integer" },
        { ONE(PREP("{\"counter\":3.0,\"host\":2}")), -EBADMSG, "msgs[0].ballot.counter: expected integer" },
        { ONE(PREP("{\"counter\":-1,\"host\":2}")), -EBADMSG, "msgs[0].ballot.counter: -1 is out of range" },
        { ONE(PREP("{\"counter\":9223372036854775808,\"host\":2}")), -EBADMSG, "invalid JSON" },
        { ONE(PREP("{\"counter\":3,\"host\":65536}")), -EBADMSG, "msgs[0].ballot.host: 65536 is out of range [0, 65535]" },
        { ONE(PREP("{\"counter\":3}")), -EBADMSG, "msgs[0].ballot.host: missing field" },
        { ONE(PREP("{\"counter\":3,\"host\":2,\"extra\":0}")), -EBADMSG, "msgs[0].ballot.extra: unknown field" },
        { ONE(PREP("[3,2]")), -EBADMSG, "msgs[0].ballot: expected object" },
        { ONE("{\"type\":\"prepare\",\"round\":1,\"name\":\"a\"}"), -EBADMSG, "msgs[0].ballot: missing field" },
        { ONE("{\"type\":\"bogus\",\"round\":1,\"name\":\"a\"}"), -EBADMSG, "msgs[0].type: unknown value" },
        { ONE("{\"type\":7,\"round\":1,\"name\":\"a\"}"), -EBADMSG, "msgs[0].type: expected string" },
        { ONE("{\"round\":1,\"name\":\"a\"}"), -EBADMSG, "msgs[0].type: missing field" },
        { ONE("{\"type\":\"read\",\"round\":1,\"name\":\"a\",\"ballot\":{\"counter\":1,\"host\":1}}"), -EBADMSG,
          "msgs[0].ballot: unknown field" },
        { ONE("{\"type\":\"read\",\"round\":1,\"name\":\"\"}"), -EBADMSG, "msgs[0].name: empty name" },
        { ONE("{\"type\":\"read\",\"round\":1,\"name\":\"a b\"}"), -EBADMSG, "msgs[0].name: byte 1" },
        { ONE("{\"type\":\"read\",\"round\":1,\"name\":\"a\\u0000b\"}"), -EBADMSG, "invalid JSON" },
        { ONE("{\"type\":\"read\",\"round\":1,\"name\":\"a\\u00e9\"}"), -EBADMSG, "msgs[0].name: byte 1" },
        { ONE("{\"type\":\"read\",\"round\":1,\"name\":null}"), -EBADMSG, "msgs[0].name: expected string" },
        { ONE("{\"type\":\"read\",\"round\":true,\"name\":\"a\"}"), -EBADMSG, "msgs[0].round: expected integer" },
        { ONE("{\"type\":\"read\",\"round\":1,\"name\":\"a\",\"round\":2}"), -EBADMSG, "duplicate" },
        { ONE(ACC(VAL("\"leased\""))), -EBADMSG, "msgs[0].value.kind: unknown value" },
        { ONE(ACC("{\"ba\":{\"counter\":1,\"host\":1},\"seq\":1,\"kind\":\"lease\",\"holder\":1,\"token\":1}")), -EBADMSG,
          "msgs[0].value.lease_usec: missing field" },
        { ONE(ACC(VAL("\"lease\"")) "," GOOD ",\"tail\""), -EBADMSG, "msgs[2]: expected object" },
        { ONE("{\"type\":\"nack\",\"round\":1,\"name\":\"a\",\"ballot\":{\"counter\":1,\"host\":1},\"value\":" VAL("\"free\"") ",\"reason\":\"why\",\"remaining_usec\":0}"),
          -EBADMSG, "msgs[0].reason: unknown value" },
        { ONE(CFG("[1,2,3,4,5,6,7,8,9]")), -EBADMSG, "msgs[0].config.voters: 9 voters, at most 8" },
        { ONE(CFG("[1,0]")), -EBADMSG, "msgs[0].config.voters[1]: 0 is out of range [1, 65535]" },
        { ONE(CFG("[1,\"2\"]")), -EBADMSG, "msgs[0].config.voters[1]: expected integer" },
        { ONE(CFG("{}")), -EBADMSG, "msgs[0].config.voters: expected array" },
        { ONE(CFGM("[1]", "[1,3,2]")), -EBADMSG, "msgs[0].config.members[2]: not above the member before it" },
        { ONE(CFGM("[1]", "[1,1]")), -EBADMSG, "msgs[0].config.members[1]: not above" },
        { ONE(CFGM("[1]", "[0]")), -EBADMSG, "msgs[0].config.members[0]: 0 is out of range" },
        { ONE(CFGM("[1]", "3")), -EBADMSG, "msgs[0].config.members: expected array" },
        { ONE("{\"type\":\"accept\",\"round\":1,\"name\":\"a.service\",\"ballot\":{\"counter\":1,\"host\":1},\"value\":" VAL("\"lease\"") ",\"remaining_usec\":0}"),
          -EBADMSG, "msgs[0].identity: missing field" },
        { ONE("{\"type\":\"cfg-prepare\",\"round\":1,\"name\":\"\",\"ballot\":{\"counter\":1,\"host\":1}}"), -EBADMSG,
          "msgs[0].name: unknown field" },
        { ONE("{\"type\":\"cfg-accept\",\"round\":1,\"ballot\":{\"counter\":1,\"host\":1}}"), -EBADMSG,
          "msgs[0].config: missing field" },
        { WITH("\"node\":" NODE("h4", "127.0.0.1", "0")), -EBADMSG, "node.port: port 0" },
        { WITH("\"node\":" NODE("h4", "127.0.0.1", "65536")), -EBADMSG, "node.port: 65536 is out of range" },
        { WITH("\"node\":" NODE("", "127.0.0.1", "1")), -EBADMSG, "node.name: empty string" },
        { WITH("\"node\":" NODE("h 4", "127.0.0.1", "1")), -EBADMSG, "node.name: byte 1" },
        { WITH("\"node\":{\"name\":\"h4\",\"port\":1}"), -EBADMSG, "node.address: missing field" },
        { WITH("\"node\":{\"id\":4,\"name\":\"h4\",\"address\":\"a\",\"port\":1}"), -EBADMSG, "node.id: unknown field" },
        { WITH("\"book\":[]"), -EBADMSG, "book: empty" },
        { WITH("\"book\":[{\"name\":\"h4\",\"address\":\"a\",\"port\":1}]"), -EBADMSG, "book[0].id: missing field" },
        { WITH("\"book\":[{\"id\":4,\"name\":\"h4\",\"address\":\"a\",\"port\":1},"
               "{\"id\":4,\"name\":\"h5\",\"address\":\"b\",\"port\":1}]"), -EBADMSG, "book[1].id: not sorted by id" },
        { WITH("\"book\":[{\"id\":0,\"name\":\"h4\",\"address\":\"a\",\"port\":1}]"), -EBADMSG, "book[0].id: host id 0" },
        { WITH("\"cluster_name\":\"\""), -EBADMSG, "cluster_name: empty string" },
        { "{\"version\":2,\"msgs\":[]}", -EPROTONOSUPPORT, "version: protocol 2 is not supported" },
        { "{\"version\":\"1\"}", -EBADMSG, "version: expected integer" },
        { "{\"msgs\":[]}", -EBADMSG, "version: missing field" },
        { "{" HDR "}", -EBADMSG, "msgs: missing field" },
        { "{" HDR ",\"msgs\":{}}", -EBADMSG, "msgs: expected array" },
        { "{" HDR ",\"msgs\":[],\"sig\":\"\"}", -EBADMSG, "sig: unknown field" },
        { "{\"version\":1,\"cluster\":\"00000000000000AA\",\"voters\":\"00000000000000bb\",\"from\":2,"
          "\"incarnation\":7,\"epoch\":{\"n\":1,\"hash\":\"0000000000000001\"},\"seq\":42,\"init\":false,\"ready\":false,\"msgs\":[]}",
          -EBADMSG, "cluster: expected 16 lower-case hex digits" },
        { "{\"version\":1,\"cluster\":\"aa\",\"voters\":\"00000000000000bb\",\"from\":2,"
          "\"incarnation\":7,\"epoch\":{\"n\":1,\"hash\":\"0000000000000001\"},\"seq\":42,\"init\":false,\"ready\":false,\"msgs\":[]}",
          -EBADMSG, "cluster: expected 16 hex digits" },
        { "{\"version\":1,\"cluster\":\"00000000000000aa\",\"voters\":\"00000000000000bb\",\"from\":0,"
          "\"incarnation\":7,\"epoch\":{\"n\":1,\"hash\":\"0000000000000001\"},\"seq\":42,\"init\":false,\"ready\":false,\"msgs\":[]}",
          -EBADMSG, "from: host id 0 is not a host" },
        { "{\"version\":1,\"cluster\":\"00000000000000aa\",\"voters\":\"00000000000000bb\",\"from\":2,"
          "\"incarnation\":7,\"epoch\":{\"n\":1},\"seq\":42,\"init\":false,\"ready\":false,\"msgs\":[]}",
          -EBADMSG, "epoch.hash: missing field" },
        { "[]", -EBADMSG, "batch: expected object" },
        { "{\"version\":1,\"cluster\":\"00000000000000aa\",\"voters\":\"00000000000000bb\",\"from\":2,"
          "\"incarnation\":7,\"epoch\":{\"n\":1,\"hash\":\"0000000000000001\"},\"seq\":42,\"msgs\":[]}",
          -EBADMSG, "init: missing field" },
        { "{\"version\":1,\"cluster\":\"00000000000000aa\",\"voters\":\"00000000000000bb\",\"from\":2,"
          "\"incarnation\":7,\"epoch\":{\"n\":1,\"hash\":\"0000000000000001\"},\"seq\":42,\"init\":1,\"ready\":false,\"msgs\":[]}",
          -EBADMSG, "init: expected true or false" },
        { "{\"version\":1,\"cluster\":\"00000000000000aa\",\"voters\":\"00000000000000bb\",\"from\":2,"
          "\"incarnation\":7,\"epoch\":{\"n\":1,\"hash\":\"0000000000000001\"},\"seq\":42,\"init\":true,\"msgs\":[]}",
          -EBADMSG, "ready: missing field" },
        { "", -EBADMSG, "invalid JSON" },
        { ONE(GOOD) " {}", -EBADMSG, "invalid JSON" },
        { "{\"version\":1", -EBADMSG, "invalid JSON" },
};

static void test_decode_rejects_and_names_the_field(void **state) {
        for (size_t i = 0; i < sizeof(bad_batches) / sizeof(bad_batches[0]); i++) {
                WireBatch b = { .n_msgs = 12345 };
                NetError err = {};
                int r;

                r = wire_batch_decode(bad_batches[i].json, strlen(bad_batches[i].json), &b, &err);
                if (r != bad_batches[i].error || !strstr(err.text, bad_batches[i].text))
                        fail_msg("case %zu: got %d '%s', expected %d '%s'", i, r, err.text,
                                 bad_batches[i].error, bad_batches[i].text);
                /* Nothing half-decoded reaches the caller. */
                assert_int_equal(b.n_msgs, 12345);
                assert_null(b.msgs);
        }
}

static void test_scan_messages_and_empty_names(void **state) {
        static const char *good = ONE("{\"type\":\"scan\",\"round\":4},"
                                      "{\"type\":\"scan-done\",\"round\":4,\"scan_count\":1000}");
        WireHeader h = test_header();
        WireBatch b = WIRE_BATCH_NULL;
        PeerMsg m;
        char *buf;
        size_t size;

        assert_int_equal(wire_batch_decode(good, strlen(good), &b, NULL), 0);
        assert_int_equal(b.n_msgs, 2);
        assert_int_equal(b.msgs[0].type, MSG_SCAN);
        assert_string_equal(b.msgs[0].name, "");
        assert_true(b.msgs[1].scan_count == 1000);
        wire_batch_done(&b);

        /* A NACK_CONFIG may answer a SCAN, which named nothing. */
        m = full_msg(&h, MSG_NACK_CONFIG, 0);
        m.name[0] = 0;
        assert_int_equal(wire_batch_encode(&h, &m, 1, &buf, &size, NULL), 0);
        assert_int_equal(wire_batch_decode(buf, size, &b, NULL), 0);
        assert_msg_equal(&b.msgs[0], &m);
        wire_batch_done(&b);
        free(buf);
}

static void test_decode_accepts_the_literal_form(void **state) {
        static const char *good = ONE(GOOD "," ACC(VAL("\"lease\"")) "," CFG("[1,2,3]"));
        WireBatch b = WIRE_BATCH_NULL;
        NetError err = {};

        assert_int_equal(wire_batch_decode(good, strlen(good), &b, &err), 0);
        assert_int_equal(b.n_msgs, 3);
        assert_int_equal(b.header.from, 2);
        assert_true(b.header.cluster_id == 0xaa);
        assert_int_equal(b.msgs[0].type, MSG_PREPARE);
        assert_int_equal(b.msgs[0].from, 2);
        assert_true(b.msgs[0].incarnation == 7);
        assert_true(b.msgs[1].value.token == 65537);
        assert_int_equal(b.msgs[1].value.kind, VALUE_LEASE);
        assert_int_equal(b.msgs[2].config.n_voters, 3);
        assert_int_equal(b.msgs[2].config.voters[2], 3);
        wire_batch_done(&b);
}

/* The voter-configuration register's messages carry no name; a NACK may answer one. */
static void test_register_messages_and_nacks_without_a_name(void **state) {
        static const char *good = ONE("{\"type\":\"cfg-prepare\",\"round\":2,\"ballot\":{\"counter\":4,\"host\":3}},"
                                      "{\"type\":\"nack\",\"round\":2,\"name\":\"\",\"ballot\":{\"counter\":5,\"host\":1},"
                                      "\"value\":" VAL("\"free\"") ",\"reason\":\"promised\",\"remaining_usec\":0}");
        WireBatch b = WIRE_BATCH_NULL;
        NetError err = {};

        assert_int_equal(wire_batch_decode(good, strlen(good), &b, &err), 0);
        assert_int_equal(b.n_msgs, 2);
        assert_int_equal(b.msgs[0].type, MSG_CFG_PREPARE);
        assert_string_equal(b.msgs[0].name, "");
        assert_true(b.msgs[0].ballot.counter == 4);
        assert_int_equal(b.msgs[1].type, MSG_NACK);
        assert_string_equal(b.msgs[1].name, "");
        wire_batch_done(&b);
}

/* The sender's advertised address, an address book and a cluster name round-trip;
 * without them the header is as before. */
static void test_header_node_book_and_cluster_name_round_trip(void **state) {
        WireNode book[3] = {
                { .id = 1, .name = "h1", .address = "127.0.0.1", .port = 7481 },
                { .id = 4, .name = "we\"ird", .address = "::1", .port = 65535 },
                { .id = 0xffff, .name = "h65535", .address = "host.example", .port = 1 },
        };
        WireHeader h = test_header();
        WireBatch b = WIRE_BATCH_NULL;
        NetError err = {};
        char *buf;
        size_t size;

        h.has_node = true;
        h.node = (WireNode) { .name = "h4", .address = "10.0.0.4", .port = 7484 };
        h.book = book;
        h.n_book = 3;
        strcpy(h.cluster_name, "prod");
        if (wire_batch_encode(&h, NULL, 0, &buf, &size, &err) != 0)
                fail_msg("%s", err.text);
        assert_int_equal(wire_batch_decode(buf, size, &b, &err), 0);
        free(buf);
        assert_true(b.header.has_node);
        assert_string_equal(b.header.node.name, "h4");
        assert_string_equal(b.header.node.address, "10.0.0.4");
        assert_int_equal(b.header.node.port, 7484);
        assert_int_equal(b.header.n_book, 3);
        assert_ptr_equal(b.header.book, b.book);
        for (unsigned i = 0; i < 3; i++) {
                assert_int_equal(b.book[i].id, book[i].id);
                assert_string_equal(b.book[i].name, book[i].name);
                assert_string_equal(b.book[i].address, book[i].address);
                assert_int_equal(b.book[i].port, book[i].port);
        }
        assert_string_equal(b.header.cluster_name, "prod");
        wire_batch_done(&b);
        assert_null(b.book);

        h = test_header();
        assert_int_equal(wire_batch_encode(&h, NULL, 0, &buf, &size, &err), 0);
        assert_null(memmem(buf, size, "\"node\"", 6));
        assert_null(memmem(buf, size, "\"book\"", 6));
        assert_int_equal(wire_batch_decode(buf, size, &b, &err), 0);
        assert_false(b.header.has_node);
        assert_int_equal(b.header.n_book, 0);
        assert_string_equal(b.header.cluster_name, "");
        wire_batch_done(&b);
        free(buf);
}

static void test_encode_refuses_a_bad_node_or_book(void **state) {
        WireNode book[2] = {
                { .id = 5, .name = "h5", .address = "a", .port = 1 },
                { .id = 4, .name = "h4", .address = "b", .port = 1 },
        };
        WireHeader h = test_header();
        NetError err = {};
        char *buf = NULL;
        size_t size;

        h.has_node = true;
        h.node = (WireNode) { .name = "h 4", .address = "a", .port = 1 };
        assert_int_equal(wire_batch_encode(&h, NULL, 0, &buf, &size, &err), -EINVAL);
        assert_non_null(strstr(err.text, "node.name: byte 1"));
        h.node = (WireNode) { .name = "h4", .address = "a", .port = 0 };
        assert_int_equal(wire_batch_encode(&h, NULL, 0, &buf, &size, &err), -EINVAL);
        assert_non_null(strstr(err.text, "node.port: port 0"));

        h = test_header();
        h.book = book;
        h.n_book = 2;
        assert_int_equal(wire_batch_encode(&h, NULL, 0, &buf, &size, &err), -EINVAL);
        assert_non_null(strstr(err.text, "book[1].id: not sorted by id"));
        book[1].id = 6;
        book[1].address[0] = 0;
        assert_int_equal(wire_batch_encode(&h, NULL, 0, &buf, &size, &err), -EINVAL);
        assert_non_null(strstr(err.text, "book[1].address: empty address"));
        assert_null(buf);
}

static void test_encode_refuses_unsorted_members(void **state) {
        WireHeader h = test_header();
        PeerMsg m = full_msg(&h, MSG_CFG_ACCEPT, 0);

        m.config.members[5] = m.config.members[4];
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].config.members[5]");
        m = full_msg(&h, MSG_CFG_COMMIT, 0);
        m.config.n_members = PES_MEMBERS_MAX + 1;
        expect_encode_error(&h, &m, -EINVAL, "msgs[0].config.members: 65 members");
}

static void test_too_large_batch_is_refused(void **state) {
        size_t n = WIRE_BATCH_MAX + 1, len = strlen(GOOD) + 1;
        char *s = malloc(strlen(HDR) + 16 + n * len), *p = s;
        WireBatch b = WIRE_BATCH_NULL;
        NetError err = {};

        assert_non_null(s);
        p = stpcpy(p, "{" HDR ",\"msgs\":[");
        for (size_t i = 0; i < n; i++)
                p = stpcpy(stpcpy(p, i > 0 ? "," : ""), GOOD);
        p = stpcpy(p, "]}");
        assert_int_equal(wire_batch_decode(s, (size_t) (p - s), &b, &err), -EBADMSG);
        assert_string_equal(err.text, "msgs: 4097 messages, at most 4096 per batch");
        assert_null(b.msgs);
        free(s);
}

/* A type, kind, reason or phase added to msg.h without a wire name fails here first. */
static void test_every_enumerator_has_a_wire_name(void **state) {
        for (unsigned i = 0; i < _MSG_TYPE_MAX; i++)
                assert_non_null(wire_msg_type_to_string(i));
        for (unsigned i = 0; i < _VALUE_KIND_MAX; i++)
                assert_non_null(wire_value_kind_to_string(i));
        for (unsigned i = 0; i < _NACK_REASON_MAX; i++)
                assert_non_null(wire_nack_reason_to_string(i));
        for (unsigned i = 0; i < _CONFIG_PHASE_MAX; i++)
                assert_non_null(wire_config_phase_to_string(i));
}

static void test_names_of_enumerations(void **state) {
        assert_string_equal(wire_msg_type_to_string(MSG_NACK_CONFIG), "nack-config");
        assert_string_equal(wire_msg_type_to_string(MSG_SCAN_DONE), "scan-done");
        assert_null(wire_msg_type_to_string(_MSG_TYPE_MAX));
        assert_string_equal(wire_value_kind_to_string(VALUE_RESERVED), "reserved");
        assert_string_equal(wire_nack_reason_to_string(NACK_STALE_SEQ), "stale-seq");
        assert_string_equal(wire_config_phase_to_string(CONFIG_ACCEPT_WIDENED), "accept-widened");
        assert_string_equal(wire_config_phase_to_string(CONFIG_STABLE), "stable");
        assert_null(wire_config_phase_to_string(_CONFIG_PHASE_MAX));
        assert_string_equal(wire_msg_type_to_string(MSG_CFG_PREPARE), "cfg-prepare");
        assert_string_equal(wire_msg_type_to_string(MSG_CFG_COMMITTED), "cfg-committed");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_type_round_trips),
                cmocka_unit_test(test_fields_outside_the_type_decode_as_zero),
                cmocka_unit_test(test_names_with_backslash_and_quote_round_trip),
                cmocka_unit_test(test_empty_and_full_batches_round_trip),
                cmocka_unit_test(test_encode_refuses_what_cannot_travel),
                cmocka_unit_test(test_decode_rejects_and_names_the_field),
                cmocka_unit_test(test_decode_accepts_the_literal_form),
                cmocka_unit_test(test_scan_messages_and_empty_names),
                cmocka_unit_test(test_register_messages_and_nacks_without_a_name),
                cmocka_unit_test(test_header_node_book_and_cluster_name_round_trip),
                cmocka_unit_test(test_encode_refuses_a_bad_node_or_book),
                cmocka_unit_test(test_encode_refuses_unsorted_members),
                cmocka_unit_test(test_too_large_batch_is_refused),
                cmocka_unit_test(test_every_enumerator_has_a_wire_name),
                cmocka_unit_test(test_names_of_enumerations),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
