/* SPDX-License-Identifier: MIT */
/* Tests of key files, request and reply signatures, and the anti-replay window. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/auth.h"

static char dir[] = "/tmp/test-auth-XXXXXX";

static int setup(void **state) {
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[64];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, mode_t mode) {
        int fd;

        (void) unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static const char key_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

static void test_key_file_is_hex_with_optional_newline(void **state) {
        char path[64], text[80];
        AuthKey k;

        (void) snprintf(path, sizeof(path), "%s/key", dir);
        write_file(path, key_hex, 0600);
        assert_int_equal(auth_key_load(path, &k, NULL), 0);
        for (unsigned i = 0; i < AUTH_KEY_SIZE; i++)
                assert_int_equal(k.bytes[i], i);

        (void) snprintf(text, sizeof(text), "%s\n", key_hex);
        write_file(path, text, 0400);
        assert_int_equal(auth_key_load(path, &k, NULL), 0);
        assert_int_equal(k.bytes[31], 31);
}

static void test_key_file_with_bad_content_is_refused(void **state) {
        static const char *const bad[] = {
                "",
                "00",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",    /* 63 digits */
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0",  /* 65 digits */
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n",
                " 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        };
        char path[64];
        NetError err = {};
        AuthKey k;

        (void) snprintf(path, sizeof(path), "%s/key", dir);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                write_file(path, bad[i], 0600);
                assert_int_equal(auth_key_load(path, &k, &err), -EBADMSG);
                assert_non_null(strstr(err.text, "64 hex digits"));
        }

        assert_int_equal(auth_key_load(dir, &k, &err), -EBADMSG);
        assert_non_null(strstr(err.text, "not a regular file"));

        (void) snprintf(path, sizeof(path), "%s/missing", dir);
        assert_int_equal(auth_key_load(path, &k, &err), -ENOENT);
        assert_non_null(strstr(err.text, "No such file"));
}

static void test_key_file_open_to_group_or_others_is_refused(void **state) {
        static const mode_t modes[] = { 0644, 0640, 0604, 0620, 0602, 0610, 0601, 0660 };
        char path[64];
        NetError err = {};
        AuthKey k;

        (void) snprintf(path, sizeof(path), "%s/key", dir);
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                write_file(path, key_hex, modes[i]);
                assert_int_equal(auth_key_load(path, &k, &err), -EPERM);
                assert_non_null(strstr(err.text, "group and others must have no access"));
                assert_non_null(strstr(err.text, "chmod 0600"));
        }
}

static void test_keygen_writes_a_private_new_key_once(void **state) {
        char path[64], path2[64];
        NetError err = {};
        AuthKey a, b;
        struct stat st;

        (void) snprintf(path, sizeof(path), "%s/new", dir);
        (void) snprintf(path2, sizeof(path2), "%s/new2", dir);
        (void) unlink(path);
        (void) unlink(path2);

        /* Even a permissive umask must not widen the mode. */
        mode_t old = umask(0);
        assert_int_equal(auth_key_generate(path, &err), 0);
        umask(old);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, 65);
        assert_int_equal(auth_key_load(path, &a, NULL), 0);

        assert_int_equal(auth_key_generate(path, &err), -EEXIST);
        assert_non_null(strstr(err.text, path));
        assert_int_equal(auth_key_load(path, &b, NULL), 0);
        assert_memory_equal(a.bytes, b.bytes, AUTH_KEY_SIZE);

        assert_int_equal(auth_key_generate(path2, NULL), 0);
        assert_int_equal(auth_key_load(path2, &b, NULL), 0);
        assert_memory_not_equal(a.bytes, b.bytes, AUTH_KEY_SIZE);
}

static void test_request_signature_covers_method_path_and_body(void **state) {
        AuthKey k, other;
        char sig[AUTH_SIGNATURE_HEX_SIZE], upper[AUTH_SIGNATURE_HEX_SIZE];
        const char body[] = "{\"a\":1}";

        assert_int_equal(auth_key_from_hex(key_hex, strlen(key_hex), &k), 0);
        other = k;
        other.bytes[0] ^= 1;

        assert_int_equal(auth_sign_request(&k, "POST", "/v1/peer/batch", body, strlen(body), sig), 0);
        assert_int_equal(strlen(sig), 64);
        assert_true(auth_verify_request(&k, "POST", "/v1/peer/batch", body, strlen(body), sig));
        assert_false(auth_verify_request(&other, "POST", "/v1/peer/batch", body, strlen(body), sig));
        assert_false(auth_verify_request(&k, "PUT", "/v1/peer/batch", body, strlen(body), sig));
        assert_false(auth_verify_request(&k, "POST", "/v1/peer/other", body, strlen(body), sig));
        assert_false(auth_verify_request(&k, "POST", "/v1/peer/batch", "{\"a\":2}", strlen(body), sig));
        assert_false(auth_verify_request(&k, "POST", "/v1/peer/batch", body, strlen(body) - 1, sig));
        assert_false(auth_verify_request(&k, "POST", "/v1/peer/batch", body, strlen(body), NULL));
        assert_false(auth_verify_request(&k, "POST", "/v1/peer/batch", body, strlen(body), ""));
        assert_false(auth_verify_request(&k, "POST", "/v1/peer/batch", body, strlen(body), "zz"));

        /* Hex digits in either case mean the same signature. */
        for (size_t i = 0; i < sizeof(sig); i++)
                upper[i] = sig[i] >= 'a' && sig[i] <= 'f' ? (char) (sig[i] - 32) : sig[i];
        assert_true(auth_verify_request(&k, "POST", "/v1/peer/batch", body, strlen(body), upper));

        /* Moving the boundary between path and body changes the signature. */
        assert_false(auth_verify_request(&k, "POST", "/v1/peer/batch\n{", "\"a\":1}", 6, sig));
        assert_int_equal(auth_sign_request(&k, "POST", "/a\nb", body, strlen(body), sig), -EINVAL);
}

static void test_reply_signature_is_bound_to_its_request(void **state) {
        AuthKey k;
        char req1[AUTH_SIGNATURE_HEX_SIZE], req2[AUTH_SIGNATURE_HEX_SIZE], rep[AUTH_SIGNATURE_HEX_SIZE];
        const char body[] = "{}";

        assert_int_equal(auth_key_from_hex(key_hex, strlen(key_hex), &k), 0);
        assert_int_equal(auth_sign_request(&k, "POST", "/v1/peer/batch", "1", 1, req1), 0);
        assert_int_equal(auth_sign_request(&k, "POST", "/v1/peer/batch", "2", 1, req2), 0);
        assert_int_equal(auth_sign_reply(&k, "/v1/peer/batch", req1, body, 2, rep), 0);

        assert_true(auth_verify_reply(&k, "/v1/peer/batch", req1, body, 2, rep));
        assert_false(auth_verify_reply(&k, "/v1/peer/batch", req2, body, 2, rep));
        assert_false(auth_verify_reply(&k, "/v1/peer/x", req1, body, 2, rep));

        /* A request's signature never passes for a reply's. */
        assert_int_equal(auth_sign_request(&k, "POST", "/v1/peer/batch", body, 2, rep), 0);
        assert_false(auth_verify_reply(&k, "/v1/peer/batch", req1, body, 2, rep));
}

/* Two newcomers that both still call themselves host 1, at incarnation 1, asking to
 * join one after the other: each name has its own window. */
static void test_replay_window_by_name(void **state) {
        _cleanup_(auth_replay_freep) AuthReplay *r = auth_replay_new();

        assert_non_null(r);
        assert_int_equal(auth_replay_check_name(r, "h4", 1, 1), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check_name(r, "h4", 1, 1), AUTH_REPLAY_SEEN);
        assert_int_equal(auth_replay_check_name(r, "h5", 1, 1), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check_name(r, "h5", 1, 2), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check_name(r, "h4", 1, 2), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check_name(r, NULL, 1, 3), -EINVAL);
}

static void test_replay_window_in_order_and_reordered(void **state) {
        _cleanup_(auth_replay_freep) AuthReplay *r = auth_replay_new();

        assert_non_null(r);
        assert_int_equal(auth_replay_check(r, 1, 5, 0), AUTH_REPLAY_BAD_SEQ);
        assert_int_equal(auth_replay_check(r, 1, 5, 10), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check(r, 1, 5, 10), AUTH_REPLAY_SEEN);
        assert_int_equal(auth_replay_check(r, 1, 5, 12), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check(r, 1, 5, 11), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check(r, 1, 5, 11), AUTH_REPLAY_SEEN);
        assert_int_equal(auth_replay_check(r, 1, 5, 9), AUTH_REPLAY_OK);

        /* Another sender has its own window. */
        assert_int_equal(auth_replay_check(r, 2, 1, 10), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check(r, 2, 1, 10), AUTH_REPLAY_SEEN);

        /* The window slides: AUTH_REPLAY_WINDOW − 1 below the top is still inside. */
        assert_int_equal(auth_replay_check(r, 1, 5, 12 + AUTH_REPLAY_WINDOW), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check(r, 1, 5, 12), AUTH_REPLAY_TOO_OLD);
        assert_int_equal(auth_replay_check(r, 1, 5, 13), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check(r, 1, 5, 13), AUTH_REPLAY_SEEN);

        /* A restart of the sender opens a fresh window and closes the old one. */
        assert_int_equal(auth_replay_check(r, 1, 6, 1), AUTH_REPLAY_OK);
        assert_int_equal(auth_replay_check(r, 1, 5, 5000), AUTH_REPLAY_OLD_INCARNATION);
        assert_int_equal(auth_replay_check(r, 1, 6, 1), AUTH_REPLAY_SEEN);
        assert_int_equal(auth_replay_check(r, 1, 6, 2), AUTH_REPLAY_OK);
        assert_string_equal(auth_replay_verdict_to_string(AUTH_REPLAY_SEEN), "sequence number already seen");
}

/* The bitmap against a plain model (a set of every accepted number) over random
 * arrival orders with jumps of all sizes, including across word boundaries. */
static void test_replay_window_matches_a_model(void **state) {
        enum { N = 20000 };
        _cleanup_(auth_replay_freep) AuthReplay *r = auth_replay_new();
        static uint8_t seen[N * 80];
        uint64_t top = 0;
        unsigned x = 12345;

        assert_non_null(r);
        for (unsigned i = 0; i < N; i++) {
                uint64_t seq;
                int expect;

                x = x * 1103515245 + 12345;
                switch ((x >> 16) % 4) {
                case 0:
                        seq = top + 1 + (x >> 8) % 200;
                        break;
                case 1:
                        seq = top + 1;
                        break;
                default:
                        seq = top > 0 ? top - ((x >> 8) % (AUTH_REPLAY_WINDOW + 64)) : 1;
                        if (seq == 0 || seq > top)
                                seq = 1;
                        break;
                }
                assert_true(seq < sizeof(seen));

                if (top > 0 && seq + AUTH_REPLAY_WINDOW <= top)
                        expect = AUTH_REPLAY_TOO_OLD;
                else if (seen[seq])
                        expect = AUTH_REPLAY_SEEN;
                else
                        expect = AUTH_REPLAY_OK;

                assert_int_equal(auth_replay_check(r, 7, 1, seq), expect);
                if (expect == AUTH_REPLAY_OK) {
                        seen[seq] = 1;
                        if (seq > top)
                                top = seq;
                }
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key_file_is_hex_with_optional_newline),
                cmocka_unit_test(test_key_file_with_bad_content_is_refused),
                cmocka_unit_test(test_key_file_open_to_group_or_others_is_refused),
                cmocka_unit_test(test_keygen_writes_a_private_new_key_once),
                cmocka_unit_test(test_request_signature_covers_method_path_and_body),
                cmocka_unit_test(test_reply_signature_is_bound_to_its_request),
                cmocka_unit_test(test_replay_window_in_order_and_reordered),
                cmocka_unit_test(test_replay_window_by_name),
                cmocka_unit_test(test_replay_window_matches_a_model),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
