/* SPDX-License-Identifier: MIT */
/* Peer authentication: the cluster key, HMAC-SHA256 request and reply signatures, and the anti-replay window. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net-error.h"

/*
 * The cluster key is 32 random bytes shared by every host. Its file holds them as 64
 * hex digits (either case) followed by an optional newline, so it can be read, diffed
 * and copied by configuration management like any other text secret. The file must be
 * a regular file that neither group nor others can read or write (mode 0600 or 0400);
 * anything else is refused with a message that says how to fix it.
 */
#define AUTH_KEY_SIZE 32u
#define AUTH_KEY_FILE_SIZE (2 * AUTH_KEY_SIZE + 1)

typedef struct AuthKey {
        uint8_t bytes[AUTH_KEY_SIZE];
} AuthKey;

/* Loads the key in path. -EPERM if group or others have any access, -EBADMSG if the
 * content is not 64 hex digits, else the -errno of open/read. */
int auth_key_load(const char *path, AuthKey *ret, NetError *err);

/* Writes a new key from gnutls_rnd(GNUTLS_RND_KEY) to path, created with mode 0600 and
 * O_EXCL (an existing file is never overwritten: -EEXIST). The file is fsync'd. */
int auth_key_generate(const char *path, NetError *err);

/* Parses 64 hex digits (plus an optional trailing newline) of size bytes. */
int auth_key_from_hex(const char *text, size_t size, AuthKey *ret);

/*
 * Signatures are HMAC-SHA256 under the cluster key, sent hex-encoded in the
 * X-Pes-Signature header. A request's covers "POST\n" PATH "\n" BODY. A reply's
 * covers "reply\n" PATH "\n" REQUEST-SIGNATURE "\n" BODY: binding the reply to the
 * request that asked for it means an old reply cannot be replayed as the answer to
 * a new request, and a request can never pass as a reply. Method and path may not
 * contain a newline, so the framing is unambiguous.
 */
#define AUTH_SIGNATURE_HEADER "X-Pes-Signature"
#define AUTH_SIGNATURE_SIZE 32u
#define AUTH_SIGNATURE_HEX_SIZE (2 * AUTH_SIGNATURE_SIZE + 1)

int auth_sign_request(const AuthKey *key, const char *method, const char *path,
                      const void *body, size_t size, char ret_hex[static AUTH_SIGNATURE_HEX_SIZE]);
int auth_sign_reply(const AuthKey *key, const char *path, const char *request_hex,
                    const void *body, size_t size, char ret_hex[static AUTH_SIGNATURE_HEX_SIZE]);

/* Constant-time checks of a received hex signature (NULL if the header was absent):
 * true only if it is exactly the expected one. */
bool auth_verify_request(const AuthKey *key, const char *method, const char *path,
                         const void *body, size_t size, const char *hex);
bool auth_verify_reply(const AuthKey *key, const char *path, const char *request_hex,
                       const void *body, size_t size, const char *hex);

/*
 * Replay protection without synchronised clocks (as IPsec's anti-replay window, RFC
 * 4303 §3.4.3). Every request's signed body carries the sender's incarnation (raised
 * at each start of the sender) and a sequence number that the sender raises for every
 * request it sends to anyone. The receiver keeps, per sender, the highest incarnation
 * seen and a window of the AUTH_REPLAY_WINDOW sequence numbers below the highest one,
 * because requests travel over parallel connections and may arrive out of order.
 * Refused: an older incarnation, a sequence number already seen, one older than the
 * window, and 0. A newer incarnation starts a fresh window.
 *
 * The window lives in memory. After the receiver restarts, a captured request from the
 * sender's current incarnation could be accepted once more; the consensus protocol
 * itself makes that harmless (a replayed PREPARE or ACCEPT carries an old ballot or
 * sequence and is NACKed), and the window stops any repetition.
 */
#define AUTH_REPLAY_WINDOW 1024u

typedef struct AuthReplay AuthReplay;

typedef enum AuthReplayVerdict {
        AUTH_REPLAY_OK,
        AUTH_REPLAY_SEEN,            /* this sequence number was accepted before */
        AUTH_REPLAY_TOO_OLD,         /* below the window */
        AUTH_REPLAY_OLD_INCARNATION, /* the sender has restarted since */
        AUTH_REPLAY_BAD_SEQ,         /* 0 is never sent */
        _AUTH_REPLAY_VERDICT_MAX,
} AuthReplayVerdict;

AuthReplay *auth_replay_new(void);
AuthReplay *auth_replay_free(AuthReplay *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuthReplay *, auth_replay_free);

/* Checks (sender, incarnation, seq) and, if acceptable, records it. Call it only for
 * requests whose signature verified, so that a forger cannot move the window. Returns
 * a verdict, or -ENOMEM. */
int auth_replay_check(AuthReplay *r, uint16_t sender, uint64_t incarnation, uint64_t seq);

/* The same for a sender known by name only (a host asking to join: it has no id in
 * this cluster yet). Use one AuthReplay for names and another for host ids. */
int auth_replay_check_name(AuthReplay *r, const char *name, uint64_t incarnation, uint64_t seq);

const char *auth_replay_verdict_to_string(AuthReplayVerdict v);
