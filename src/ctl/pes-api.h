/* SPDX-License-Identifier: MIT */
/* Typed calls of pesd's D-Bus API (org.pes1 at /org/pes1, interface org.pes1.Manager) and the values they return. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "basic/time-util.h"

#define PES_BUS_NAME "org.pes1"
#define PES_BUS_PATH "/org/pes1"
#define PES_BUS_INTERFACE "org.pes1.Manager"

#define PES_ERROR_NO_SUCH_NAME "org.pes1.Error.NoSuchName"
#define PES_ERROR_INVALID_NAME "org.pes1.Error.InvalidName"
#define PES_ERROR_NO_QUORUM "org.pes1.Error.NoQuorum"
#define PES_ERROR_STOPPING "org.pes1.Error.Stopping"
#define PES_ERROR_CANNOT_SUPERVISE "org.pes1.Error.CannotSupervise"
#define PES_ERROR_ALREADY_SUPERVISED "org.pes1.Error.AlreadySupervised"
#define PES_ERROR_DECLARED_IN_FILE "org.pes1.Error.DeclaredInFile"
#define PES_ERROR_NO_SUCH_HOST "org.pes1.Error.NoSuchHost"
#define PES_ERROR_NOT_ELIGIBLE "org.pes1.Error.NotEligible"
#define PES_ERROR_UNREACHABLE "org.pes1.Error.Unreachable"
#define PES_ERROR_NOT_OWNER "org.pes1.Error.NotOwner"
#define PES_ERROR_BUSY "org.pes1.Error.Busy"
#define PES_ERROR_MOVE_FAILED "org.pes1.Error.MoveFailed"
#define PES_ERROR_ALREADY_MEMBER "org.pes1.Error.AlreadyMember"
#define PES_ERROR_ALREADY_VOTER "org.pes1.Error.AlreadyVoter"
#define PES_ERROR_NOT_VOTER "org.pes1.Error.NotVoter"
#define PES_ERROR_NOT_ALLOWED "org.pes1.Error.NotAllowed"
#define PES_ERROR_SUPERSEDED "org.pes1.Error.Superseded"
#define PES_ERROR_KEY_REJECTED "org.pes1.Error.KeyRejected"

/* What VoterChange says on the host that drives the change. */
#define PES_DRIVEN_HERE "; driven by this host"

/* The peer port pesd listens on when Listen= gives none. */
#define PES_DEFAULT_PEER_PORT 7480

/* Lookup flags (dbus/org.pes1.Manager.xml): without flags, a majority read. */
#define PES_LOOKUP_LOCAL UINT64_C(1)

/* The longest name pesd accepts, in bytes. */
#define PES_NAME_MAX 255u

/* One row of ListNames, or the answer of Lookup (which leaves here false). */
typedef struct PesName {
        char *name;
        char *owner; /* a node name, "" when nobody holds the name */
        uint64_t token;
        char *state; /* free, held, reserved, unknown */
        usec_t lease_remaining;
        bool here;
} PesName;

/* One row of ListNodes. */
typedef struct PesNode {
        char *name;
        uint16_t id;
        char *address; /* HOST:PORT, or "" while unknown */
        char *role;  /* voter, candidate, "voter (joining)", "voter (leaving)" */
        char *state; /* self, alive, dead, unknown */
        usec_t since_contact; /* USEC_INFINITY: never */
        uint64_t epoch; /* the configuration epoch of its last message; 0: none yet */
} PesNode;

/* One row of ListUnits: a unit supervised on this host. */
typedef struct PesUnit {
        char *unit;
        char *triggers; /* the service a timer or socket triggers, or "" */
        char *phase;    /* checking, refused, idle, starting, running, stopping */
        char *refusal;  /* why it is refused, or "" */
        char *active_state; /* as systemd last said, or "" */
        char *sub_state;
        bool here;      /* this host holds it */
        uint64_t token; /* 0 unless held here */
} PesUnit;

/* The properties of org.pes1.Manager. Those a pesd older than the membership
 * API lacks stay NULL (strings) or 0. */
typedef struct PesManager {
        char *node_name;
        char *version;
        bool quorate;
        char *cluster_name;
        bool has_member;     /* pesd said whether it is a member (Member) */
        bool member;
        uint64_t config_epoch;
        char *config_phase;  /* stable, accept-widened */
        char *voter_change;  /* "" when no voter change is in flight */
} PesManager;

void pes_name_done(PesName *n);
PesName *pes_names_free(PesName *names, size_t n);
PesNode *pes_nodes_free(PesNode *nodes, size_t n);
PesUnit *pes_units_free(PesUnit *units, size_t n);
void pes_manager_done(PesManager *m);

/*
 * True if s is a name pesd can hold: 1–255 bytes of printable ASCII ('!' to
 * '~', so no spaces), without '/'; the same rule as pesd's. A slash is refused
 * because names become file names under /run/pes.
 */
bool pes_name_is_valid(const char *s);

/*
 * The calls. Each returns 0 and fills its result, or a negative errno with error
 * set to what the bus or pesd answered (for the caller to turn into a message).
 */
int pes_get_manager(sd_bus *bus, PesManager *ret, sd_bus_error *error);
int pes_lookup(sd_bus *bus, const char *name, uint64_t flags, PesName *ret, sd_bus_error *error);
int pes_list_names(sd_bus *bus, PesName **ret, size_t *ret_n, sd_bus_error *error);
int pes_list_nodes(sd_bus *bus, PesNode **ret, size_t *ret_n, sd_bus_error *error);
int pes_release(sd_bus *bus, const char *name, sd_bus_error *error);
int pes_list_units(sd_bus *bus, PesUnit **ret, size_t *ret_n, sd_bus_error *error);
int pes_unsupervise(sd_bus *bus, const char *unit, sd_bus_error *error);

/*
 * These take the caller's timeout (0: sd-bus's default of 25s): Holds must be
 * answered far sooner, while Supervise (answered once systemd confirmed the unit,
 * and disabled it if asked) and Move (answered once the new owner runs the unit)
 * may take longer. settings is a NULL-terminated list of "Key=Value" strings.
 */
int pes_supervise(sd_bus *bus, const char *unit, char *const *settings, bool disable, usec_t timeout,
                  sd_bus_error *error);
int pes_holds(sd_bus *bus, const char *name, usec_t timeout, bool *ret, sd_bus_error *error);
int pes_move(sd_bus *bus, const char *unit, const char *host, usec_t timeout, sd_bus_error *error);

/*
 * True if s is HOST:PORT as Join takes it: a host name or IP literal (an IPv6
 * one in brackets) and a port 1–65535; the same rule as pesd's.
 */
bool pes_address_is_valid(const char *s);

/* Whether a ListNodes role is one of a voter ("voter", "voter (joining)", …). */
bool pes_role_is_voter(const char *role);

/*
 * What a caller of a membership call hears while it waits; any callback may be
 * NULL. voter_change gets each new value of the VoterChange property ("" too),
 * released each name whose tenure on this host ended (OwnerChanged with no
 * owner: released, handed off or fenced).
 */
typedef struct PesWatch {
        void (*voter_change)(const char *voter_change, void *userdata);
        void (*released)(const char *name, void *userdata);
        void *userdata;
        /* Return 1 without waiting for the answer once VoterChange says this host
         * drives a change (PES_DRIVEN_HERE). */
        bool return_once_started;
} PesWatch;

/*
 * The membership calls, answered once the change is complete (a voter change
 * takes two steps of at least T_max·(1+ρ) each; leave hands off every unit
 * first). They take the caller's timeout and watch (NULL: none). They return 0
 * when done, 1 when the watch asked to return once the change started and it
 * did before the answer came, or -ETIMEDOUT
 * when pesctl gave up waiting, -ECONNRESET when pesd left the bus before it
 * answered; error is set either way. Join returns the id this host got.
 */
int pes_join(sd_bus *bus, const char *address, usec_t timeout, const PesWatch *watch, uint16_t *ret_id,
             sd_bus_error *error);
int pes_leave(sd_bus *bus, const char *host, usec_t timeout, const PesWatch *watch, sd_bus_error *error);
int pes_add_voter(sd_bus *bus, const char *host, usec_t timeout, const PesWatch *watch, sd_bus_error *error);
int pes_remove_voter(sd_bus *bus, const char *host, usec_t timeout, const PesWatch *watch, sd_bus_error *error);
int pes_resume_voter_change(sd_bus *bus, usec_t timeout, const PesWatch *watch, sd_bus_error *error);
int pes_rollback_voter_change(sd_bus *bus, usec_t timeout, const PesWatch *watch, sd_bus_error *error);

/* Creates the Acquire call for name, for sending with a timeout of the caller's choice
 * (Acquire waits while another holder has the name). */
int pes_new_acquire(sd_bus *bus, const char *name, sd_bus_message **ret);

/* Reads the fencing token from the reply of Acquire. */
int pes_read_acquire_reply(sd_bus_message *reply, uint64_t *ret_token);

/* Reads an OwnerChanged signal. The strings point into m. */
int pes_read_owner_changed(sd_bus_message *m, const char **ret_name, const char **ret_owner,
                           uint64_t *ret_token);
