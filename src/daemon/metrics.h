/* SPDX-License-Identifier: MIT */
/* pesd's counters and the peer round-trip histogram, rendered in the Prometheus text format. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

/* Upper bounds (µs) of the round-trip histogram buckets; +Inf is implied. */
#define METRICS_RTT_BUCKETS 10

typedef enum RoundPhase {
        PHASE_READ,
        PHASE_PREPARE,
        PHASE_ACCEPT,
        _PHASE_MAX,
} RoundPhase;

typedef struct Metrics {
        uint64_t rounds[_PHASE_MAX];         /* rounds this host started, by phase */
        uint64_t renewals;                   /* renewal rounds (ACCEPT of a held LEASE, seq > 1) */
        uint64_t fenced;                     /* tenures ended by the self-fence: renewals failed */
        uint64_t rejections[_NACK_REASON_MAX]; /* NACKs this host received, by reason */
        uint64_t nack_config;                /* NACK_CONFIG received */
        uint64_t acquired;                   /* tenures begun here */
        uint64_t lost;                       /* tenures ended here */
        uint64_t messages_sent;
        uint64_t messages_received;
        uint64_t peer_send_failures;         /* batches a peer did not take */
        uint64_t rtt_count;
        uint64_t rtt_sum_usec;
        uint64_t rtt_buckets[METRICS_RTT_BUCKETS]; /* cumulative only when rendered */
} Metrics;

extern const uint64_t metrics_rtt_bounds_usec[METRICS_RTT_BUCKETS];

void metrics_observe_rtt(Metrics *m, uint64_t usec);

/* Counts what an outgoing message says about rounds (a round counted once, at its first send). */
void metrics_count_send(Metrics *m, const PeerMsg *msg, uint64_t *last_round);
/* Counts an incoming reply's rejections. */
void metrics_count_receive(Metrics *m, const PeerMsg *msg);

typedef struct MetricsGauges {
        uint64_t names_held;
        uint64_t names_known;
        uint64_t peers_alive;
        uint64_t peers_total;
        int quorate;
        uint64_t unauthenticated;
        uint64_t replayed;
        uint64_t malformed;
} MetricsGauges;

/* Renders everything as Prometheus text into a new string (*ret, to be freed). */
int metrics_render(const Metrics *m, const MetricsGauges *g, char **ret, size_t *ret_size);
