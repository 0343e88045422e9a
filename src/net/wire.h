/* SPDX-License-Identifier: MIT */
/* The JSON wire form of consensus messages and of the per-peer batches that carry them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"
#include "net/net-error.h"

/*
 * A batch is one JSON object:
 *
 *   {"version":1,"cluster":"00c0ffee00c0ffee","voters":"1f2e3d4c5b6a7988",
 *    "from":2,"incarnation":7,"epoch":{"n":1,"hash":"0123456789abcdef"},"seq":42,
 *    "init":true,"ready":true,"node":{"name":"h2","address":"10.0.0.2","port":7480},
 *    "msgs":[{"type":"prepare","round":5,"name":"report.service",
 *             "ballot":{"counter":3,"host":2}}, ...]}
 *
 * "node" (the sender's name and advertised address), "book" (an address book:
 * [{"id":4,"name":"h4","address":"10.0.0.4","port":7480}, ...], sorted by id) and
 * "cluster_name" are optional; every other header field is required. The
 * voter-configuration register's messages (cfg-prepare … cfg-committed) carry no name
 * and decode with name "".
 *
 * The sender's host id, incarnation and epoch travel once, in the header; each message
 * carries only the fields msg.h gives a meaning for its type (see wire.c's field table),
 * and the others decode as zero. Enumerations travel as lower-case names ("lease",
 * "promised", "accept-widened").
 *
 * 64-bit numbers: jansson's json_int_t is a signed 64-bit integer, so quantities
 * (counters, sequence numbers, incarnations, rounds, tokens, durations in µs) are JSON
 * integers in [0, 2⁶³−1]; the encoder refuses a larger value with -ERANGE rather than
 * wrap it, and the decoder refuses negative ones. Those never come near 2⁶³ in practice
 * (a counter raised a million times a second would take 290,000 years). Identifiers
 * that use all 64 bits — the cluster id, the voter-set hash, an epoch's hash — travel as
 * exactly 16 lower-case hex digits.
 *
 * Decoding is strict: the wrong JSON type, a missing, duplicate or unknown field, a
 * number out of range (a host id above 0xffff, an unknown enumeration name), an empty,
 * over-long (> PES_NAME_MAX bytes) or control-character-bearing name, or more than
 * WIRE_BATCH_MAX messages is an error whose text names the field
 * ("msgs[3].ballot.counter: expected integer"). On error nothing is returned.
 */

#define WIRE_PROTOCOL_VERSION 1u
#define WIRE_BATCH_MAX 4096u
/* A host name as NodeName= allows it, and an address (host name or IP literal). */
#define WIRE_NODE_NAME_MAX 64u
#define WIRE_ADDRESS_MAX 253u
#define WIRE_CLUSTER_NAME_MAX 64u

/* A host as the address book knows it: id, NodeName=, advertised address and port. */
typedef struct WireNode {
        uint16_t id; /* book entries; the "node" entry's id is the header's from */
        char name[WIRE_NODE_NAME_MAX + 1];
        char address[WIRE_ADDRESS_MAX + 1];
        uint16_t port;
} WireNode;

/* The fields a batch carries once, for all its messages. */
typedef struct WireHeader {
        uint32_t version;      /* WIRE_PROTOCOL_VERSION; the decoder refuses others */
        uint64_t cluster_id;   /* random per cluster, so clusters never count each other */
        uint64_t voters_hash;  /* hash of the sender's voter set */
        uint16_t from;         /* sender host id, never PES_HOST_NONE */
        uint64_t incarnation;  /* sender's incarnation */
        Epoch epoch;           /* sender's voter-configuration epoch */
        uint64_t seq;          /* per-sender anti-replay sequence; ≥ 1 on requests, 0 on replies */
        bool initialised;      /* the sender's acceptor belongs to an initialised cluster
                                * (DESIGN.md "Bootstrap"): a voter found without its store
                                * learns from this whether it lost its disk */
        bool ready;            /* the sender serves and has checked the units it supervises:
                                * at a cold start hosts wait for each other before they
                                * campaign, so the rank, not start-up order, places names */
        bool has_node;         /* .node is set: the sender's advertised name and address */
        WireNode node;
        /* An address book (sorted by id, at most PES_MEMBERS_MAX entries): on encoding
         * the caller's array, on decoding owned by the WireBatch. */
        const WireNode *book;
        size_t n_book;
        /* The cluster's Name= (answers to a join only; "" when absent). */
        char cluster_name[WIRE_CLUSTER_NAME_MAX + 1];
} WireHeader;

/* A decoded batch. msgs is owned by the batch; from, incarnation and epoch of every
 * message are filled in from the header. */
typedef struct WireBatch {
        WireHeader header;
        WireNode *book; /* the storage header.book points to */
        size_t n_msgs;
        PeerMsg *msgs;
} WireBatch;

#define WIRE_BATCH_NULL ((WireBatch) {})

/* Frees the messages and resets the batch to WIRE_BATCH_NULL. */
void wire_batch_done(WireBatch *b);

/*
 * Encodes a batch as compact JSON into a malloc'd buffer (not NUL-terminated; *ret_size
 * bytes). Every message's from, incarnation and epoch must equal the header's, since
 * they travel only there; a mismatch, a value out of range or an invalid name is
 * -EINVAL or -ERANGE with the field named in err.
 */
int wire_batch_encode(const WireHeader *h, const PeerMsg *msgs, size_t n_msgs,
                      char **ret, size_t *ret_size, NetError *err);

/*
 * The two halves of wire_batch_encode(), for a sender that validates and converts its
 * messages when it queues them but stamps the header (and its anti-replay sequence
 * number) only when the request actually leaves: wire_msgs_build() checks the messages
 * against h and returns the JSON text of the "msgs" array (malloc'd, *ret_size bytes);
 * wire_batch_dump() wraps such a text, which it takes as is, in the header.
 */
int wire_msgs_build(const WireHeader *h, const PeerMsg *msgs, size_t n_msgs, char **ret, size_t *ret_size,
                    NetError *err);
int wire_batch_dump(const WireHeader *h, const char *msgs, size_t msgs_size, char **ret, size_t *ret_size,
                    NetError *err);

/* Decodes a batch from data (size bytes, need not be NUL-terminated). Returns 0 and
 * fills *ret, or -EBADMSG (malformed) / -EPROTONOSUPPORT (another protocol version)
 * with the reason in err and *ret untouched. */
int wire_batch_decode(const void *data, size_t size, WireBatch *ret, NetError *err);

/* The names used on the wire, for logs and tests; NULL when out of range. */
const char *wire_msg_type_to_string(MsgType t);
const char *wire_value_kind_to_string(ValueKind k);
const char *wire_nack_reason_to_string(NackReason r);
const char *wire_config_phase_to_string(ConfigPhase p);
