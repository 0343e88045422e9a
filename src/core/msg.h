/* SPDX-License-Identifier: MIT */
/*
 * The consensus messages pes hosts exchange (DESIGN.md "Protocol": READ, PREPARE,
 * ACCEPT and their replies, NACK_CONFIG, and TAKE for a handoff). This header is the
 * contract between the core, which produces and consumes these structs, and the
 * wire codec in src/net/, which encodes exactly these fields and nothing else.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* A systemd unit name is at most 255 bytes; a name here is one such unit name. */
#define PES_NAME_MAX 255

/* Host ids are small, durable and unique within a cluster; 0 means "nobody". */
#define PES_HOST_NONE 0
#define PES_HOST_MAX 0xffffu

/* At most 7 voters decide; during a one-at-a-time change there can be one more. */
#define PES_VOTERS_MAX 8

/* Every host of a cluster (voters and candidates) is a member with an id. */
#define PES_MEMBERS_MAX 64

/*
 * A ballot (counter, host). Ballots are ordered by counter, then host; a new
 * ballot is (highest counter seen + 1, self), so two hosts never share one.
 */
typedef struct Ballot {
        uint64_t counter;
        uint16_t host;
} Ballot;

typedef enum ValueKind {
        VALUE_FREE,
        VALUE_LEASE,    /* held by .holder */
        VALUE_RESERVED, /* reserved for .holder by a handoff */
        _VALUE_KIND_MAX,
} ValueKind;

/*
 * The register value an acceptor stores per name. Values are ranked by (ba, seq).
 * token is the fencing token of the tenure (counter·2¹⁶ + host of the ballot that
 * began it); lease_usec is T, fixed for a tenure, so that every acceptor times the
 * lease with the holder's T and never its own setting.
 */
typedef struct RegValue {
        Ballot ba;
        uint64_t seq;
        ValueKind kind;
        uint16_t holder;
        uint64_t token;
        uint64_t lease_usec;
} RegValue;

/*
 * A voter-configuration epoch (n, hash(voters, phase, parent)). Messages carry the
 * sender's epoch; a voter answers an older one with NACK_CONFIG.
 */
typedef struct Epoch {
        uint64_t n;
        uint64_t hash;
} Epoch;

/*
 * A voter change runs S → ACCEPT_WIDENED(S ∪ {x}, changing x) → STABLE(S ∪ {x})
 * when adding x (accept quorum widened, then prepare quorum widened), and the
 * reverse when removing it: STABLE(S ∪ {x}) → ACCEPT_WIDENED(S ∪ {x}, changing x)
 * (prepare quorum narrowed) → STABLE(S) (accept quorum narrowed). The middle
 * configuration is the same both ways; .adding says which way the change goes.
 */
typedef enum ConfigPhase {
        CONFIG_STABLE,          /* plain majorities of the voters */
        CONFIG_ACCEPT_WIDENED,  /* .changing accepts but is not asked to prepare */
        _CONFIG_PHASE_MAX,
} ConfigPhase;

/*
 * The voter configuration, itself a register decided by the current quorums. The
 * timing figures are agreed here, not set per host (DESIGN.md "Timing is agreed").
 */
typedef struct VoterConfig {
        Epoch epoch;
        ConfigPhase phase;
        uint16_t changing; /* the voter being added or removed, or PES_HOST_NONE */
        bool adding;       /* ACCEPT_WIDENED: .changing is being added (else removed) */
        /*
         * A full rescan (an identity round on every name, DESIGN.md "Voter
         * configuration is itself a CASPaxos register") completed under this voter
         * set and phase. Set by a configuration that differs from its parent only in
         * this flag; a change starts only from a STABLE rescanned configuration, and
         * each step only from a rescanned one, so a resumed driver cannot step early.
         */
        bool rescanned;
        unsigned n_voters;
        uint16_t voters[PES_VOTERS_MAX];
        /*
         * Every host of the cluster (voters and candidates), sorted; ids are handed
         * out from next_id when a host joins, so they are never reused.
         */
        unsigned n_members;
        uint16_t members[PES_MEMBERS_MAX];
        uint16_t next_id;
        uint32_t rho_ppm;     /* drift bound ρ in parts per million (default 1000) */
        uint64_t delta_usec;  /* δ, the longest host pause accepted (default 200 ms) */
        uint64_t lease_max_usec; /* T_max */
} VoterConfig;

typedef enum MsgType {
        MSG_READ,        /* → READ_REPLY(bp, v, remaining) */
        MSG_READ_REPLY,
        MSG_PREPARE,     /* (b) → PROMISE(b, v, remaining) | NACK(bp) */
        MSG_PROMISE,
        MSG_ACCEPT,      /* (b, v) → ACCEPTED | NACK(bp) */
        MSG_ACCEPTED,
        MSG_NACK,
        MSG_NACK_CONFIG, /* the sender's epoch is stale: here is the configuration */
        MSG_TAKE,        /* handoff: the old holder tells the reserved host to acquire;
                          * .ballot is the old holder's, .value the RESERVED value */
        MSG_SCAN,        /* a voter recovering a lost disk asks for every name's (bp, v) */
        MSG_SCAN_REPLY,  /* one name of a scan: .ballot is bp, .value is v */
        MSG_SCAN_DONE,   /* the end of a scan: every name was sent before it */
        /*
         * The voter-configuration register (CASPaxos, decided by the quorums of the
         * sender's epoch; .name is ""). .ballot is the round's ballot; .config the
         * proposed (CFG_ACCEPT), accepted (CFG_PROMISE, with .value.ba its ballot,
         * zero when none) or chosen (CFG_COMMIT) configuration.
         */
        MSG_CFG_PREPARE,   /* (b) → CFG_PROMISE(b, accepted) | NACK(bp) | NACK_CONFIG */
        MSG_CFG_PROMISE,
        MSG_CFG_ACCEPT,    /* (b, config) → CFG_ACCEPTED | NACK(bp) | NACK_CONFIG */
        MSG_CFG_ACCEPTED,
        MSG_CFG_COMMIT,    /* config was chosen: install it → CFG_COMMITTED */
        MSG_CFG_COMMITTED,
        _MSG_TYPE_MAX,
} MsgType;

typedef enum NackReason {
        NACK_PROMISED,  /* ballot ≤ bp; .ballot carries bp */
        NACK_LIVE,      /* a live LEASE/RESERVED for another host; wait .remaining_usec */
        NACK_STALE_SEQ, /* an older sequence number at the accepted ballot, or a LEASE
                         * after FREE/RESERVED at that ballot: the tenure's later
                         * round got there first */
        _NACK_REASON_MAX,
} NackReason;

/*
 * One consensus message about one name. Which fields mean something depends on
 * the type, as the comments say; the others are zero. from, incarnation and epoch
 * are the sender's and travel once per batch on the wire.
 */
typedef struct PeerMsg {
        MsgType type;
        uint16_t from;           /* sender host id */
        uint64_t incarnation;    /* sender's incarnation (raised at every start) */
        Epoch epoch;             /* sender's voter-configuration epoch */
        uint64_t round;          /* chosen by the proposer, echoed by replies */
        char name[PES_NAME_MAX + 1];
        Ballot ballot;           /* PREPARE, ACCEPT, PROMISE, ACCEPTED: b;
                                  * NACK, READ_REPLY: the acceptor's bp */
        RegValue value;          /* ACCEPT: proposed; PROMISE, READ_REPLY, ACCEPTED, NACK:
                                  * the acceptor's accepted value (ACCEPTED echoes the
                                  * seq it acknowledges; NACK_LIVE names the live holder) */
        uint64_t remaining_usec; /* READ_REPLY, PROMISE, NACK_LIVE: how long the accepted
                                  * LEASE/RESERVED stays live on the acceptor's clock */
        NackReason reason;       /* NACK only */
        VoterConfig config;      /* NACK_CONFIG (the receiver's chosen configuration), CFG_* */
        uint64_t scan_count;     /* SCAN_DONE: how many SCAN_REPLY messages (distinct
                                  * names) the scan sent before it */
        bool identity;           /* ACCEPT of a rescan: a repair at the holder's own
                                  * (ba, seq) that never extends ea: a voter that lacks
                                  * the value takes ea = now + remaining_usec */
} PeerMsg;
