/* SPDX-License-Identifier: MIT */
/* Counting and rendering of pesd's metrics. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/macro.h"
#include "daemon/metrics.h"

const uint64_t metrics_rtt_bounds_usec[METRICS_RTT_BUCKETS] = {
        250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
};

static const char *const phase_names[_PHASE_MAX] = {
        [PHASE_READ] = "read",
        [PHASE_PREPARE] = "prepare",
        [PHASE_ACCEPT] = "accept",
};

static const char *const nack_names[_NACK_REASON_MAX] = {
        [NACK_PROMISED] = "promised",
        [NACK_LIVE] = "live_lease",
        [NACK_STALE_SEQ] = "stale_sequence",
};

void metrics_observe_rtt(Metrics *m, uint64_t usec) {
        assert(m);

        m->rtt_count++;
        m->rtt_sum_usec += usec;
        for (size_t i = 0; i < METRICS_RTT_BUCKETS; i++)
                if (usec <= metrics_rtt_bounds_usec[i]) {
                        m->rtt_buckets[i]++;
                        break;
                }
}

void metrics_count_send(Metrics *m, const PeerMsg *msg, uint64_t *last_round) {
        RoundPhase phase;

        assert(m);
        assert(msg);
        assert(last_round);

        m->messages_sent++;
        switch (msg->type) {
        case MSG_READ:
                phase = PHASE_READ;
                break;
        case MSG_PREPARE:
                phase = PHASE_PREPARE;
                break;
        case MSG_ACCEPT:
                phase = PHASE_ACCEPT;
                break;
        default:
                return;
        }
        /* A round goes to every voter with one id; count it once. */
        if (msg->round != *last_round) {
                *last_round = msg->round;
                m->rounds[phase]++;
                if (phase == PHASE_ACCEPT && msg->value.kind == VALUE_LEASE && msg->value.holder == msg->from &&
                    msg->value.seq > 1)
                        m->renewals++;
        }
}

void metrics_count_receive(Metrics *m, const PeerMsg *msg) {
        assert(m);
        assert(msg);

        m->messages_received++;
        if (msg->type == MSG_NACK && msg->reason < _NACK_REASON_MAX)
                m->rejections[msg->reason]++;
        else if (msg->type == MSG_NACK_CONFIG)
                m->nack_config++;
}

int metrics_render(const Metrics *m, const MetricsGauges *g, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        uint64_t cumulative = 0;

        assert(m);
        assert(g);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fprintf(f, "# HELP pes_names_held Names this host holds now.\n# TYPE pes_names_held gauge\n"
                   "pes_names_held %llu\n", (unsigned long long) g->names_held);
        fprintf(f, "# HELP pes_names_known Names this host's acceptor knows.\n# TYPE pes_names_known gauge\n"
                   "pes_names_known %llu\n", (unsigned long long) g->names_known);
        fprintf(f, "# HELP pes_quorate Whether this host reaches a quorum of voters.\n# TYPE pes_quorate gauge\n"
                   "pes_quorate %d\n", g->quorate);
        fprintf(f, "# HELP pes_peers Hosts of the cluster, by liveness.\n# TYPE pes_peers gauge\n"
                   "pes_peers{state=\"alive\"} %llu\npes_peers{state=\"total\"} %llu\n",
                (unsigned long long) g->peers_alive, (unsigned long long) g->peers_total);

        fprintf(f, "# HELP pes_rounds_total Consensus rounds this host started, by phase.\n"
                   "# TYPE pes_rounds_total counter\n");
        for (size_t i = 0; i < _PHASE_MAX; i++)
                fprintf(f, "pes_rounds_total{phase=\"%s\"} %llu\n", phase_names[i],
                        (unsigned long long) m->rounds[i]);
        fprintf(f, "# HELP pes_renewals_total Renewal rounds this host started.\n# TYPE pes_renewals_total counter\n"
                   "pes_renewals_total %llu\n", (unsigned long long) m->renewals);
        fprintf(f, "# HELP pes_fenced_total Tenures this host ended itself for want of a confirmed renewal.\n"
                   "# TYPE pes_fenced_total counter\npes_fenced_total %llu\n", (unsigned long long) m->fenced);
        fprintf(f, "# HELP pes_rejections_total Refusals this host received, by reason.\n"
                   "# TYPE pes_rejections_total counter\n");
        for (size_t i = 0; i < _NACK_REASON_MAX; i++)
                fprintf(f, "pes_rejections_total{reason=\"%s\"} %llu\n", nack_names[i],
                        (unsigned long long) m->rejections[i]);
        fprintf(f, "pes_rejections_total{reason=\"stale_config\"} %llu\n", (unsigned long long) m->nack_config);
        fprintf(f, "# HELP pes_tenures_total Tenures begun and ended on this host.\n"
                   "# TYPE pes_tenures_total counter\n"
                   "pes_tenures_total{event=\"acquired\"} %llu\npes_tenures_total{event=\"lost\"} %llu\n",
                (unsigned long long) m->acquired, (unsigned long long) m->lost);
        fprintf(f, "# HELP pes_messages_total Consensus messages, by direction.\n"
                   "# TYPE pes_messages_total counter\n"
                   "pes_messages_total{direction=\"sent\"} %llu\npes_messages_total{direction=\"received\"} %llu\n",
                (unsigned long long) m->messages_sent, (unsigned long long) m->messages_received);
        fprintf(f, "# HELP pes_peer_send_failures_total Batches a peer did not take.\n"
                   "# TYPE pes_peer_send_failures_total counter\npes_peer_send_failures_total %llu\n",
                (unsigned long long) m->peer_send_failures);
        fprintf(f, "# HELP pes_requests_refused_total Peer requests refused before the core saw them.\n"
                   "# TYPE pes_requests_refused_total counter\n"
                   "pes_requests_refused_total{reason=\"unauthenticated\"} %llu\n"
                   "pes_requests_refused_total{reason=\"replayed\"} %llu\n"
                   "pes_requests_refused_total{reason=\"malformed\"} %llu\n",
                (unsigned long long) g->unauthenticated, (unsigned long long) g->replayed,
                (unsigned long long) g->malformed);

        fprintf(f, "# HELP pes_peer_rtt_seconds Round trips of peer requests.\n"
                   "# TYPE pes_peer_rtt_seconds histogram\n");
        for (size_t i = 0; i < METRICS_RTT_BUCKETS; i++) {
                cumulative += m->rtt_buckets[i];
                fprintf(f, "pes_peer_rtt_seconds_bucket{le=\"%g\"} %llu\n",
                        (double) metrics_rtt_bounds_usec[i] / 1e6, (unsigned long long) cumulative);
        }
        fprintf(f, "pes_peer_rtt_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long) m->rtt_count);
        fprintf(f, "pes_peer_rtt_seconds_sum %.6f\npes_peer_rtt_seconds_count %llu\n",
                (double) m->rtt_sum_usec / 1e6, (unsigned long long) m->rtt_count);

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}
