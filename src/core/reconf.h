/* SPDX-License-Identifier: MIT */
/* The driver of a voter-configuration change: CASPaxos writes of the register, the W wait and the rescan. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/action.h"
#include "core/msg.h"
#include "core/name-table.h"
#include "core/node.h"

/*
 * Round ids of the driver have this bit set (guards' rounds stay below it, the
 * daemon's own READs use bit 62), so node_receive() routes their replies here.
 */
#define RECONF_ROUND_BIT (UINT64_C(1) << 61)

#define RECONF_ROUND_TIMEOUT_USEC UINT64_C(1000000) /* a write round without a quorum by then missed it */
#define RECONF_RETRY_USEC UINT64_C(1000000)         /* COMMIT, SCAN and repair rounds are re-sent this often */
#define RECONF_GIVE_UP_USEC UINT64_C(30000000)      /* -ETIMEDOUT after this long without progress */
#define RECONF_SCAN_GRACE_USEC UINT64_C(200000)     /* after a prepare quorum's SCAN_DONE, for the others */

typedef enum ReconfStage {
        RECONF_IDLE,
        RECONF_BACKOFF, /* a write missed its quorum; it starts again at .deadline */
        RECONF_PREPARE, /* CFG_PREPARE to the prepare set of .base */
        RECONF_ACCEPT,  /* CFG_ACCEPT of .proposal to the accept set of .base */
        RECONF_COMMIT,  /* .proposal was chosen: CFG_COMMIT to every member */
        RECONF_WAIT,    /* W = T_max·(1+ρ) after a step, before the rescan */
        RECONF_SCAN,    /* SCAN of every voter */
        RECONF_REPAIR,  /* per-name rounds of the rescan */
        _RECONF_STAGE_MAX,
} ReconfStage;

/* One name of a rescan: what the voters hold, and its repair round. */
typedef struct RescanName {
        uint16_t have;                     /* voter indexes that reported it */
        RegValue v[PES_VOTERS_MAX];
        Ballot bp[PES_VOTERS_MAX];
        uint64_t remaining[PES_VOTERS_MAX];
        int state;                         /* RescanState (reconf.c) */
        uint64_t round;
        Ballot ballot;
        RegValue value;                    /* the value being written */
        uint64_t remaining_max;
        uint16_t answered, acked;
        uint64_t deadline;
} RescanName;

typedef struct Reconf {
        bool active;
        ConfigChangeKind kind;
        uint16_t host;

        /* A voter change: the voter and the direction still to go; none for a plain rescan. */
        uint16_t x;
        bool add;
        bool rollback_flip; /* ROLLBACK: the first write flips .adding */
        bool stepped;       /* a write of this drive was chosen (a later reversal is someone else's) */
        bool marking;       /* the write marks the configuration rescanned */
        bool scanned;       /* a rescan completed under .scan_config */
        uint16_t new_id;    /* ADD_MEMBER: the id handed out */

        ReconfStage stage;
        VoterConfig base;     /* the installed configuration the write is prepared under */
        VoterConfig proposal; /* the configuration written (ours, or one found accepted) */
        bool foreign;         /* .proposal is another driver's, found accepted */
        Ballot ballot;
        uint64_t max_counter;
        uint64_t round;
        uint16_t answered, acked; /* voter indexes of .base */
        bool has_best;
        Ballot best_ba;
        VoterConfig best;
        uint64_t deadline;
        uint64_t progress_at;
        unsigned attempt;

        /* The W wait counts from the last step completed (or the start of a resume). */
        uint64_t w_from;

        /* The rescan: under which configuration, which voters finished their SCAN. */
        VoterConfig scan_config;
        uint64_t scan_round;
        uint16_t scan_done;
        uint64_t scan_quorum_at; /* when a prepare quorum had finished its SCAN (0: not yet) */
        uint64_t scan_received[PES_VOTERS_MAX];
        uint64_t scan_expected[PES_VOTERS_MAX];
        NameTable names;
        size_t names_left;
} Reconf;

/* node_config_change(): checks the request against the installed configuration and starts. */
int reconf_start(Node *n, ConfigChangeKind kind, uint16_t host, uint64_t now, ActionList *out);

/* A reply whose round has RECONF_ROUND_BIT set. */
int reconf_receive(Node *n, const PeerMsg *m, uint64_t now, ActionList *out);

/* A newer configuration was installed (prev the one before). */
int reconf_installed(Node *n, const VoterConfig *prev, uint64_t now, ActionList *out);

int reconf_timer(Node *n, uint64_t now, ActionList *out);
uint64_t reconf_next_deadline(const Node *n);

void reconf_done(Reconf *rc);
