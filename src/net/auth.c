/* SPDX-License-Identifier: MIT */
/* Cluster key files, HMAC-SHA256 signatures of peer requests and replies, and the anti-replay window. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/auth.h"

static int unhex_char(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static void hex_encode(const uint8_t *data, size_t size, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < size; i++) {
                out[2 * i] = digits[data[i] >> 4];
                out[2 * i + 1] = digits[data[i] & 15];
        }
        out[2 * size] = 0;
}

int auth_key_from_hex(const char *text, size_t size, AuthKey *ret) {
        AuthKey k;

        if (!text || !ret)
                return -EINVAL;
        if (size == 2 * AUTH_KEY_SIZE + 1 && text[size - 1] == '\n')
                size--;
        if (size != 2 * AUTH_KEY_SIZE)
                return -EBADMSG;

        for (size_t i = 0; i < AUTH_KEY_SIZE; i++) {
                int hi = unhex_char(text[2 * i]), lo = unhex_char(text[2 * i + 1]);

                if (hi < 0 || lo < 0) {
                        explicit_bzero(&k, sizeof(k));
                        return -EBADMSG;
                }
                k.bytes[i] = (uint8_t) (hi << 4 | lo);
        }

        *ret = k;
        explicit_bzero(&k, sizeof(k));
        return 0;
}

int auth_key_load(const char *path, AuthKey *ret, NetError *err) {
        _cleanup_close_ int fd = -EBADF;
        char buf[AUTH_KEY_FILE_SIZE + 1];
        struct stat st;
        size_t n = 0;
        int r;

        if (!path || !ret)
                return net_error_set(err, -EINVAL, "invalid arguments");

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return net_error_set(err, negative_errno(), "cannot open key file %s: %m", path);
        if (fstat(fd, &st) < 0)
                return net_error_set(err, negative_errno(), "cannot stat key file %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return net_error_set(err, -EBADMSG, "key file %s is not a regular file", path);
        if (st.st_mode & 0077)
                return net_error_set(err, -EPERM,
                                     "key file %s has mode %04o: group and others must have no access (chmod 0600 %s)",
                                     path, (unsigned) (st.st_mode & 07777), path);

        /* One byte more than a valid file can hold, to tell "too long" from "just right". */
        while (n < sizeof(buf)) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        explicit_bzero(buf, sizeof(buf));
                        return net_error_set(err, r, "cannot read key file %s: %m", path);
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }

        r = auth_key_from_hex(buf, n, ret);
        explicit_bzero(buf, sizeof(buf));
        if (r < 0)
                return net_error_set(err, r, "key file %s must hold exactly %u hex digits and an optional newline",
                                     path, 2 * AUTH_KEY_SIZE);
        return 0;
}

int auth_key_generate(const char *path, NetError *err) {
        _cleanup_close_ int fd = -EBADF;
        uint8_t key[AUTH_KEY_SIZE];
        char text[AUTH_KEY_FILE_SIZE + 1];
        size_t n = 0;
        int r;

        if (!path)
                return net_error_set(err, -EINVAL, "invalid arguments");

        r = gnutls_rnd(GNUTLS_RND_KEY, key, sizeof(key));
        if (r < 0)
                return net_error_set(err, -EIO, "cannot get random bytes: %s", gnutls_strerror(r));
        hex_encode(key, sizeof(key), text);
        explicit_bzero(key, sizeof(key));
        text[2 * AUTH_KEY_SIZE] = '\n';
        text[2 * AUTH_KEY_SIZE + 1] = 0;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = negative_errno();
                explicit_bzero(text, sizeof(text));
                return net_error_set(err, r, "cannot create key file %s: %m", path);
        }

        /* The umask can only remove bits, but be explicit: the loader refuses anything
         * wider than 0600. */
        if (fchmod(fd, 0600) < 0) {
                r = negative_errno();
                goto fail;
        }
        while (n < AUTH_KEY_FILE_SIZE) {
                ssize_t k = write(fd, text + n, AUTH_KEY_FILE_SIZE - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                n += (size_t) k;
        }
        if (fsync(fd) < 0) {
                r = negative_errno();
                goto fail;
        }

        explicit_bzero(text, sizeof(text));
        return 0;

fail:
        explicit_bzero(text, sizeof(text));
        (void) unlink(path);
        errno = -r;
        return net_error_set(err, r, "cannot write key file %s: %m", path);
}

/* The HMAC is fed piece by piece (gnutls_hmac rather than gnutls_hmac_fast) so that a
 * large body is never copied just to prepend the method and path. */
static int hmac_parts(const AuthKey *key, const void *const *parts, const size_t *sizes, size_t n,
                      uint8_t out[static AUTH_SIGNATURE_SIZE]) {
        gnutls_hmac_hd_t h;
        int r;

        r = gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, key->bytes, AUTH_KEY_SIZE);
        if (r < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (sizes[i] > 0 && gnutls_hmac(h, parts[i], sizes[i]) < 0) {
                        gnutls_hmac_deinit(h, NULL);
                        return -EIO;
                }
        gnutls_hmac_deinit(h, out);
        return 0;
}

static bool field_ok(const char *s) {
        return s && !strchr(s, '\n');
}

static int sign_request_raw(const AuthKey *key, const char *method, const char *path,
                            const void *body, size_t size, uint8_t out[static AUTH_SIGNATURE_SIZE]) {
        const void *parts[] = { method, "\n", path, "\n", body };
        const size_t sizes[] = { strlen(method), 1, strlen(path), 1, size };

        if (!key || !field_ok(method) || !field_ok(path) || (!body && size > 0))
                return -EINVAL;
        return hmac_parts(key, parts, sizes, ELEMENTSOF(parts), out);
}

static int sign_reply_raw(const AuthKey *key, const char *path, const char *request_hex,
                          const void *body, size_t size, uint8_t out[static AUTH_SIGNATURE_SIZE]) {
        const void *parts[] = { "reply\n", path, "\n", request_hex, "\n", body };
        const size_t sizes[] = { 6, strlen(path), 1, strlen(request_hex), 1, size };

        if (!key || !field_ok(path) || !field_ok(request_hex) || (!body && size > 0))
                return -EINVAL;
        return hmac_parts(key, parts, sizes, ELEMENTSOF(parts), out);
}

int auth_sign_request(const AuthKey *key, const char *method, const char *path,
                      const void *body, size_t size, char ret_hex[static AUTH_SIGNATURE_HEX_SIZE]) {
        uint8_t mac[AUTH_SIGNATURE_SIZE];
        int r;

        r = sign_request_raw(key, method, path, body, size, mac);
        if (r < 0)
                return r;
        hex_encode(mac, sizeof(mac), ret_hex);
        return 0;
}

int auth_sign_reply(const AuthKey *key, const char *path, const char *request_hex,
                    const void *body, size_t size, char ret_hex[static AUTH_SIGNATURE_HEX_SIZE]) {
        uint8_t mac[AUTH_SIGNATURE_SIZE];
        int r;

        r = sign_reply_raw(key, path, request_hex, body, size, mac);
        if (r < 0)
                return r;
        hex_encode(mac, sizeof(mac), ret_hex);
        return 0;
}

/* Compares a received hex signature with the expected MAC without branching on their
 * content, so that timing does not tell a forger how many leading bytes are right. */
static bool mac_equal_hex(const uint8_t mac[static AUTH_SIGNATURE_SIZE], const char *hex) {
        unsigned diff = 0;

        if (!hex || strlen(hex) != 2 * AUTH_SIGNATURE_SIZE)
                return false;
        for (size_t i = 0; i < AUTH_SIGNATURE_SIZE; i++) {
                int hi = unhex_char(hex[2 * i]), lo = unhex_char(hex[2 * i + 1]);

                /* A non-hex digit is a malformed header, not a secret-dependent branch. */
                if (hi < 0 || lo < 0)
                        return false;
                diff |= (unsigned) (mac[i] ^ (uint8_t) (hi << 4 | lo));
        }
        return diff == 0;
}

bool auth_verify_request(const AuthKey *key, const char *method, const char *path,
                         const void *body, size_t size, const char *hex) {
        uint8_t mac[AUTH_SIGNATURE_SIZE];

        if (sign_request_raw(key, method, path, body, size, mac) < 0)
                return false;
        return mac_equal_hex(mac, hex);
}

bool auth_verify_reply(const AuthKey *key, const char *path, const char *request_hex,
                       const void *body, size_t size, const char *hex) {
        uint8_t mac[AUTH_SIGNATURE_SIZE];

        if (sign_reply_raw(key, path, request_hex, body, size, mac) < 0)
                return false;
        return mac_equal_hex(mac, hex);
}

/* ---- anti-replay window ---- */

#define WINDOW_WORDS (AUTH_REPLAY_WINDOW / 64)

typedef struct ReplaySender {
        uint64_t key;                  /* the sender's host id, or a joiner's name hash */
        uint64_t incarnation;
        uint64_t top;                  /* highest sequence number accepted */
        uint64_t bits[WINDOW_WORDS];   /* bit i set: top − i was accepted */
} ReplaySender;

struct AuthReplay {
        ReplaySender *senders; /* sorted by key */
        size_t n_senders, n_allocated;
};

AuthReplay *auth_replay_new(void) {
        return calloc(1, sizeof(AuthReplay));
}

AuthReplay *auth_replay_free(AuthReplay *r) {
        if (!r)
                return NULL;
        free(r->senders);
        free(r);
        return NULL;
}

static bool window_test(const ReplaySender *s, uint64_t offset) {
        return s->bits[offset / 64] & (UINT64_C(1) << (offset % 64));
}

static void window_set(ReplaySender *s, uint64_t offset) {
        s->bits[offset / 64] |= UINT64_C(1) << (offset % 64);
}

/* Moves the window up by shift: bit i becomes bit i + shift. */
static void window_shift(ReplaySender *s, uint64_t shift) {
        uint64_t words, bits;

        if (shift >= AUTH_REPLAY_WINDOW) {
                memset(s->bits, 0, sizeof(s->bits));
                return;
        }
        words = shift / 64;
        bits = shift % 64;
        for (size_t i = WINDOW_WORDS; i-- > 0;) {
                uint64_t v = 0;

                if (i >= words) {
                        v = s->bits[i - words] << bits;
                        if (bits > 0 && i >= words + 1)
                                v |= s->bits[i - words - 1] >> (64 - bits);
                }
                s->bits[i] = v;
        }
}

static ReplaySender *replay_find_or_add(AuthReplay *r, uint64_t key) {
        size_t lo = 0, hi = r->n_senders;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;

                if (r->senders[mid].key == key)
                        return r->senders + mid;
                if (r->senders[mid].key < key)
                        lo = mid + 1;
                else
                        hi = mid;
        }

        if (r->n_senders == r->n_allocated) {
                size_t n = r->n_allocated > 0 ? r->n_allocated * 2 : 8;
                ReplaySender *p = reallocarray(r->senders, n, sizeof(ReplaySender));
                if (!p)
                        return NULL;
                r->senders = p;
                r->n_allocated = n;
        }
        memmove(r->senders + lo + 1, r->senders + lo, (r->n_senders - lo) * sizeof(ReplaySender));
        r->senders[lo] = (ReplaySender) { .key = key };
        r->n_senders++;
        return r->senders + lo;
}

static int replay_check(AuthReplay *r, uint64_t key, uint64_t incarnation, uint64_t seq) {
        ReplaySender *s;

        if (!r)
                return -EINVAL;
        if (seq == 0)
                return AUTH_REPLAY_BAD_SEQ;

        s = replay_find_or_add(r, key);
        if (!s)
                return -ENOMEM;

        if (s->top == 0 || incarnation > s->incarnation) {
                /* First contact, or the sender restarted: a fresh window. */
                memset(s->bits, 0, sizeof(s->bits));
                s->incarnation = incarnation;
                s->top = seq;
                window_set(s, 0);
                return AUTH_REPLAY_OK;
        }
        if (incarnation < s->incarnation)
                return AUTH_REPLAY_OLD_INCARNATION;

        if (seq > s->top) {
                window_shift(s, seq - s->top);
                s->top = seq;
                window_set(s, 0);
                return AUTH_REPLAY_OK;
        }
        if (s->top - seq >= AUTH_REPLAY_WINDOW)
                return AUTH_REPLAY_TOO_OLD;
        if (window_test(s, s->top - seq))
                return AUTH_REPLAY_SEEN;
        window_set(s, s->top - seq);
        return AUTH_REPLAY_OK;
}

int auth_replay_check(AuthReplay *r, uint16_t sender, uint64_t incarnation, uint64_t seq) {
        return replay_check(r, sender, incarnation, seq);
}

int auth_replay_check_name(AuthReplay *r, const char *name, uint64_t incarnation, uint64_t seq) {
        /* 64-bit FNV-1a of the name: hosts that are not members yet have no id of
         * their own, and every newcomer may still call itself host 1. */
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        if (!name)
                return -EINVAL;
        for (const char *c = name; *c; c++) {
                h ^= (unsigned char) *c;
                h *= UINT64_C(0x100000001b3);
        }
        return replay_check(r, h, incarnation, seq);
}

const char *auth_replay_verdict_to_string(AuthReplayVerdict v) {
        static const char *const names[_AUTH_REPLAY_VERDICT_MAX] = {
                [AUTH_REPLAY_OK] = "ok",
                [AUTH_REPLAY_SEEN] = "sequence number already seen",
                [AUTH_REPLAY_TOO_OLD] = "sequence number older than the replay window",
                [AUTH_REPLAY_OLD_INCARNATION] = "older incarnation of the sender",
                [AUTH_REPLAY_BAD_SEQ] = "sequence number 0",
        };
        return (unsigned) v < _AUTH_REPLAY_VERDICT_MAX ? names[v] : NULL;
}
