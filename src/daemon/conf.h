/* SPDX-License-Identifier: MIT */
/* pesd's configuration file, /etc/pes/pesd.conf: parsing, defaults and validation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/time-util.h"
#include "config.h"
#include "core/msg.h"

#define PES_DEFAULT_PORT 7480
#define PES_DEFAULT_CONFIG_FILE PES_SYSCONFDIR "/pesd.conf"
#define PES_NODE_NAME_MAX 64

/* One host of the cluster as Peers= names it: NAME@ADDRESS[:PORT]. */
typedef struct PeerConfig {
        char *name;
        char *address; /* host name or IP literal, without brackets */
        uint16_t port;
        bool voter;    /* one of Voters= (every peer when Voters= is not given) */
} PeerConfig;

typedef struct PesConfig {
        char *path; /* the file read, or NULL when running on defaults */

        /* [Cluster] */
        char *cluster_name;   /* Name=: the cluster's id; with no config, a random one */
        char *node_name;      /* NodeName=: this host's name in Peers=; default: the host name */
        char *listen_address; /* Listen=ADDRESS[:PORT] */
        uint16_t listen_port;
        PeerConfig *peers; /* Peers=: every host of the cluster, this one included */
        size_t n_peers;
        char **voters;     /* Voters=: the names of Peers= that decide (NULL: all of them) */
        size_t n_voters;
        char *key_file;     /* KeyFile=: the cluster key; needed when there are peers */
        usec_t heartbeat;   /* HeartbeatSec=: H, default 1 s */
        usec_t max_pause;   /* MaxPauseSec=: δ, the longest host pause the margins absorb (200 ms) */
        usec_t max_lease;   /* MaxLeaseSec=: T_max, the longest lease any name may have (60 s);
                             * every voter step waits T_max·(1+ρ), and 3·HeartbeatSec= ≤ T_max */

        /* [TLS] (optional) */
        char *tls_certificate;
        char *tls_key;
        char *tls_ca;

        /* [Paths] */
        char *state_dir;   /* StateDir=: durable state (the acceptor store) */
        char *runtime_dir; /* RuntimeDir=: /run/pes */
        char *units_dir;   /* UnitsDir=: declarations of supervised units, /etc/pes/units.d */
} PesConfig;

/* Fills *c with the defaults of a one-node cluster on 127.0.0.1. */
int config_init_defaults(PesConfig *c);

/*
 * Reads the INI file at path into *c (which holds defaults). A line that does not
 * parse, an unknown section or key, or a value that does not validate is refused
 * with -EINVAL and a message "path:line: reason" written to *error (to be freed by
 * the caller). A missing file gives -ENOENT, so that pesd can fall back to a
 * one-node cluster.
 */
int config_parse_file(PesConfig *c, const char *path, char **error);

/*
 * Checks the whole configuration once every line is read (NodeName= is one of
 * Peers=, peer names and addresses are unique, at most PES_VOTERS_MAX-1 voters…).
 * Returns -EINVAL with a message in *error.
 */
int config_validate(const PesConfig *c, char **error);

/* Whether the host named is one of the voters (all peers when Voters= is not given). */
bool config_is_voter(const PesConfig *c, const char *name);

/* Returns the index of this host in c->peers, or -ENOENT. */
int config_self_index(const PesConfig *c);

/* Parses "ADDRESS[:PORT]" / "[V6]:PORT" with default_port when no port is given. */
int parse_address_port(const char *s, uint16_t default_port, char **ret_address, uint16_t *ret_port);

void config_done(PesConfig *c);
