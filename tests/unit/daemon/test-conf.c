/* SPDX-License-Identifier: MIT */
/* Tests of pesd.conf parsing: good files, defaults, and a file:line refusal for every kind of bad line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/macro.h"
#include "daemon/conf.h"

static char path[64];

static void write_conf(const char *text) {
        FILE *f;

        snprintf(path, sizeof path, "/tmp/pes-test-conf-%d.conf", (int) getpid());
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* Parses text and returns the error message (or NULL on success), checking the return code. */
static char *parse(PesConfig *c, const char *text, int expected) {
        char *error = NULL;

        write_conf(text);
        assert_int_equal(config_init_defaults(c), 0);
        assert_int_equal(config_parse_file(c, path, &error), expected);
        unlink(path);
        return error;
}

static void test_full_file_is_read(void **state) {
        PesConfig c;
        char *error = parse(&c,
                            "# a three-host cluster\n"
                            "[Cluster]\n"
                            "Name=prod\n"
                            "NodeName=h2\n"
                            "  Listen = 10.0.0.2:7000\n"
                            "Peers=h1@10.0.0.1 h2@10.0.0.2:7000, h3@[fd00::3]:7001\n"
                            "KeyFile=/etc/pes/cluster.key\n"
                            "HeartbeatSec=500ms ; half a second\n"
                            "MaxPauseSec=50ms\n"
                            "MaxLeaseSec=10s\n"
                            "\n"
                            "[Paths]\n"
                            "StateDir=/var/lib/pes-test\n",
                            0);

        assert_null(error);
        assert_string_equal(c.cluster_name, "prod");
        assert_string_equal(c.node_name, "h2");
        assert_string_equal(c.listen_address, "10.0.0.2");
        assert_int_equal(c.listen_port, 7000);
        assert_int_equal(c.n_peers, 3);
        assert_string_equal(c.peers[0].name, "h1");
        assert_string_equal(c.peers[0].address, "10.0.0.1");
        assert_int_equal(c.peers[0].port, PES_DEFAULT_PORT);
        assert_int_equal(c.peers[1].port, 7000);
        assert_string_equal(c.peers[2].address, "fd00::3");
        assert_int_equal(c.peers[2].port, 7001);
        assert_int_equal(config_self_index(&c), 1);
        assert_string_equal(c.key_file, "/etc/pes/cluster.key");
        assert_int_equal(c.heartbeat, 500 * USEC_PER_MSEC);
        assert_int_equal(c.max_pause, 50 * USEC_PER_MSEC);
        assert_int_equal(c.max_lease, 10 * USEC_PER_SEC);
        assert_string_equal(c.state_dir, "/var/lib/pes-test");
        assert_string_equal(c.runtime_dir, PES_RUNTIMEDIR);
        config_done(&c);
}

static void test_defaults_are_a_one_node_cluster_on_loopback(void **state) {
        PesConfig c;

        assert_int_equal(config_init_defaults(&c), 0);
        assert_string_equal(c.listen_address, "127.0.0.1");
        assert_int_equal(c.listen_port, PES_DEFAULT_PORT);
        assert_int_equal(c.n_peers, 0);
        assert_int_equal(c.heartbeat, USEC_PER_SEC);
        assert_int_equal(c.max_pause, 200 * USEC_PER_MSEC);
        assert_int_equal(c.max_lease, 60 * USEC_PER_SEC);
        assert_null(c.cluster_name);
        assert_non_null(c.node_name);
        config_done(&c);
}

static void test_missing_file_is_enoent_without_message(void **state) {
        PesConfig c;
        char *error = (char *) "unchanged";

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(config_parse_file(&c, "/nonexistent/pesd.conf", &error), -ENOENT);
        assert_null(error);
        config_done(&c);
}

static void assert_refused(const char *text, const char *where_and_why) {
        PesConfig c;
        _cleanup_free_ char *error = parse(&c, text, -EINVAL);
        char expected[512];

        snprintf(expected, sizeof expected, "%s:%s", path, where_and_why);
        assert_non_null(error);
        if (strncmp(error, expected, strlen(expected)) != 0)
                fail_msg("got '%s', expected it to start with '%s'", error, expected);
        config_done(&c);
}

static void test_bad_lines_are_refused_with_file_and_line(void **state) {
        assert_refused("[Cluster]\nName=a\nbogus line\n", "3: syntax error");
        assert_refused("[Cluster]\nColour=blue\n", "2: unknown key 'Colour' in [Cluster]");
        assert_refused("[Clusterr]\nName=a\n", "1: unknown section [Clusterr]");
        assert_refused("Name=a\n", "1: 'Name=' outside any section");
        assert_refused("[Cluster]\n\nHeartbeatSec=fast\n", "3: HeartbeatSec=: 'fast' is not a duration");
        assert_refused("[Cluster]\nHeartbeatSec=1ms\n", "2: HeartbeatSec=: '1ms' is outside");
        assert_refused("[Cluster]\nMaxPauseSec=1h\n", "2: MaxPauseSec=: '1h' is outside");
        assert_refused("[Cluster]\nMaxLeaseSec=soon\n", "2: MaxLeaseSec=: 'soon' is not a duration");
        assert_refused("[Cluster]\nMaxLeaseSec=100ms\n", "2: MaxLeaseSec=: '100ms' is outside");
        /* The lease 3·H must fit under T_max, whichever of the two lines comes last. */
        assert_refused("[Cluster]\nHeartbeatSec=1s\nMaxLeaseSec=2s\n", "3: HeartbeatSec=1s gives a lease of 3·H, longer than MaxLeaseSec=2s");
        assert_refused("[Cluster]\nMaxLeaseSec=2s\n\nHeartbeatSec=1s\n", "4: HeartbeatSec=1s gives a lease");
        assert_refused("[Cluster]\nHeartbeatSec=30s\n", "2: HeartbeatSec=30s gives a lease of 3·H, longer than MaxLeaseSec=1min");
        assert_refused("[Cluster]\nListen=10.0.0.1:99999\n", "2: Listen=: '10.0.0.1:99999' is not ADDRESS[:PORT]");
        assert_refused("[Cluster]\nPeers=h1@10.0.0.1 h2\n", "2: Peers=: 'h2' is not NAME@ADDRESS[:PORT]");
        assert_refused("[Cluster]\nPeers=h1@\n", "2: Peers=: 'h1@' has no valid ADDRESS[:PORT]");
        assert_refused("[Cluster]\nPeers=b@d@x\n", "2: Peers=: 'b@d@x' has no valid ADDRESS[:PORT]");
        assert_refused("[Cluster]\nKeyFile=relative.key\n", "2: KeyFile=: 'relative.key' is not an absolute path");
        assert_refused("[Cluster]\nNodeName=bad name!\n", "2: NodeName=: 'bad name!' is not a valid node name");
        assert_refused("[Cluster]\nName=a\nName=b\n", "3: Name= given twice in [Cluster]");
        assert_refused("[Cluster]\nName=\n", "2: Name=: empty value");
        assert_refused("[Paths]\nStateDir=var/lib\n", "2: StateDir=: 'var/lib' is not an absolute path");
        /* The first of several errors is the one reported. */
        assert_refused("[Cluster]\nName=a\n[Nope]\nx\n", "3: unknown section [Nope]");
        assert_refused("[Cluster]\nx\n[Nope]\n", "2: syntax error");
}

static void test_overlong_line_is_refused(void **state) {
        char *text = malloc(20000);

        assert_non_null(text);
        strcpy(text, "[Cluster]\nPeers=");
        for (int i = 0; i < 1000; i++)
                strcat(text, "h1@10.0.0.1 ");
        strcat(text, "\nName=x\n");
        assert_refused(text, "2: line longer than");
        free(text);
}

static void test_whole_file_validation(void **state) {
        PesConfig c;
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL, *e5 = NULL;

        e1 = parse(&c, "[Cluster]\nName=x\nNodeName=h9\nPeers=h1@a h2@b h3@c\nKeyFile=/k\n", -EINVAL);
        assert_non_null(strstr(e1, "NodeName=h9 is not one of Peers="));
        config_done(&c);
        e2 = parse(&c, "[Cluster]\nName=x\nNodeName=h1\nPeers=h1@a h1@b\nKeyFile=/k\n", -EINVAL);
        assert_non_null(strstr(e2, "Peers= names 'h1' twice"));
        config_done(&c);
        e3 = parse(&c, "[Cluster]\nName=x\nNodeName=h1\nPeers=h1@a h2@a\nKeyFile=/k\n", -EINVAL);
        assert_non_null(strstr(e3, "the same address"));
        config_done(&c);
        e4 = parse(&c, "[Cluster]\nName=x\nNodeName=h1\nPeers=h1@a h2@b\n", -EINVAL);
        assert_non_null(strstr(e4, "needs KeyFile="));
        config_done(&c);
        e5 = parse(&c, "[Cluster]\nName=x\nNodeName=h1\nPeers=h1@a h2@b\nKeyFile=/k\n[TLS]\nCA=/ca\n", -EINVAL);
        assert_non_null(strstr(e5, "[TLS] needs all of"));
        config_done(&c);
}

static void test_voters_are_an_odd_subset_of_peers(void **state) {
        PesConfig c;
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL;
        char many[512] = "[Cluster]\nName=x\nNodeName=h1\nKeyFile=/k\nPeers=";

        for (int i = 1; i <= 9; i++)
                snprintf(many + strlen(many), sizeof many - strlen(many), "h%d@10.0.0.%d ", i, i);
        strcat(many, "\n");

        /* Nine hosts, three of them voters: the rest are candidates. */
        char text[600];
        snprintf(text, sizeof text, "%sVoters=h1 h4, h7\n", many);
        e1 = parse(&c, text, 0);
        assert_null(e1);
        assert_int_equal(c.n_peers, 9);
        assert_int_equal(c.n_voters, 3);
        assert_true(config_is_voter(&c, "h4"));
        assert_false(config_is_voter(&c, "h2"));
        config_done(&c);

        /* Nine hosts and no Voters=: too many voters. */
        e2 = parse(&c, many, -EINVAL);
        assert_non_null(strstr(e2, "name an odd number of them in Voters="));
        config_done(&c);

        /* A voter that is not a peer. */
        e3 = parse(&c, "[Cluster]\nName=x\nNodeName=h1\nKeyFile=/k\nPeers=h1@a h2@b h3@c\nVoters=h1 h2 h9\n", -EINVAL);
        assert_non_null(strstr(e3, "Voters= names 'h9', which is not one of Peers="));
        config_done(&c);

        assert_refused("[Cluster]\nVoters=h1 h2\n", "2: Voters=: 2 hosts; give an odd number");
        assert_refused("[Cluster]\nVoters=h1 h1 h2\n", "2: Voters=: 'h1' named twice");
        assert_refused("[Cluster]\nVoters=h1 bad!\n", "2: Voters=: 'bad!' is not a host name");
}

static void test_address_parsing(void **state) {
        char *a = NULL;
        uint16_t p = 0;

        assert_int_equal(parse_address_port("example.org", 80, &a, &p), 0);
        assert_string_equal(a, "example.org");
        assert_int_equal(p, 80);
        free(a);
        assert_int_equal(parse_address_port("::1", 80, &a, &p), 0);
        assert_string_equal(a, "::1");
        free(a);
        assert_int_equal(parse_address_port("[::1]:9", 80, &a, &p), 0);
        assert_string_equal(a, "::1");
        assert_int_equal(p, 9);
        free(a);
        assert_int_equal(parse_address_port("[::1", 80, &a, &p), -EINVAL);
        assert_int_equal(parse_address_port("[]:1", 80, &a, &p), -EINVAL);
        assert_int_equal(parse_address_port("x:0", 80, &a, &p), -EINVAL);
        assert_int_equal(parse_address_port("x:-1", 80, &a, &p), -EINVAL);
        assert_int_equal(parse_address_port("x:1a", 80, &a, &p), -EINVAL);
        assert_int_equal(parse_address_port(":1", 80, &a, &p), -EINVAL);
        assert_int_equal(parse_address_port("", 80, &a, &p), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_file_is_read),
                cmocka_unit_test(test_defaults_are_a_one_node_cluster_on_loopback),
                cmocka_unit_test(test_missing_file_is_enoent_without_message),
                cmocka_unit_test(test_bad_lines_are_refused_with_file_and_line),
                cmocka_unit_test(test_overlong_line_is_refused),
                cmocka_unit_test(test_whole_file_validation),
                cmocka_unit_test(test_voters_are_an_odd_subset_of_peers),
                cmocka_unit_test(test_address_parsing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
