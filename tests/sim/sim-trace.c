/* SPDX-License-Identifier: MIT */
/* The simulator's step trace: a ring of compact records, formatted only when printed. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ballot.h"
#include "sim-internal.h"

const char *sim_event_to_string(SimEventType t) {
        static const char *const table[_EV_MAX] = {
                [EV_BOOT] = "boot",
                [EV_DELIVER] = "deliver",
                [EV_TIMER] = "timer",
                [EV_SYNC] = "sync",
                [EV_UNIT_DONE] = "unit-done",
                [EV_UNIT_REPORT] = "unit-report",
                [EV_CAMPAIGN] = "campaign",
                [EV_CHAOS] = "inject",
                [EV_PHASE] = "phase",
                [EV_HEAL] = "heal",
                [EV_TICK] = "tick",
                [EV_PAUSE] = "pause",
                [EV_PING] = "ping",
                [EV_RECONF] = "reconf",
        };

        if ((unsigned) t >= _EV_MAX)
                return "?";
        return table[t];
}

const char *sim_fault_to_string(SimFault f) {
        static const char *const table[_FAULT_MAX] = {
                [FAULT_CRASH_HOST] = "crash-host",
                [FAULT_CRASH_DAEMON] = "crash-pesd",
                [FAULT_WIPE] = "wipe-disk",
                [FAULT_PARTITION] = "partition",
                [FAULT_HEAL] = "heal",
                [FAULT_PAUSE] = "pause",
                [FAULT_NET] = "network",
                [FAULT_UNIT_FAIL] = "unit-fails",
                [FAULT_RELEASE] = "release",
                [FAULT_CAMPAIGN] = "campaign",
                [FAULT_MOVE] = "move",
                [FAULT_CHAOS] = "faults-begin",
                [FAULT_CALM] = "faults-heal",
                [FAULT_BOOT] = "boot",
                [FAULT_CONDITION] = "exec-condition-fails",
                [FAULT_PEERS] = "peer-view",
                [FAULT_RECONF] = "voter-change (kind, host)",
        };

        if ((unsigned) f >= _FAULT_MAX)
                return "?";
        return table[f];
}

const char *msg_type_to_string(MsgType t) {
        static const char *const table[_MSG_TYPE_MAX] = {
                [MSG_READ] = "READ",
                [MSG_READ_REPLY] = "READ_REPLY",
                [MSG_PREPARE] = "PREPARE",
                [MSG_PROMISE] = "PROMISE",
                [MSG_ACCEPT] = "ACCEPT",
                [MSG_ACCEPTED] = "ACCEPTED",
                [MSG_NACK] = "NACK",
                [MSG_NACK_CONFIG] = "NACK_CONFIG",
                [MSG_TAKE] = "TAKE",
                [MSG_SCAN] = "SCAN",
                [MSG_SCAN_REPLY] = "SCAN_REPLY",
                [MSG_SCAN_DONE] = "SCAN_DONE",
                [MSG_CFG_PREPARE] = "CFG_PREPARE",
                [MSG_CFG_PROMISE] = "CFG_PROMISE",
                [MSG_CFG_ACCEPT] = "CFG_ACCEPT",
                [MSG_CFG_ACCEPTED] = "CFG_ACCEPTED",
                [MSG_CFG_COMMIT] = "CFG_COMMIT",
                [MSG_CFG_COMMITTED] = "CFG_COMMITTED",
        };

        if ((unsigned) t >= _MSG_TYPE_MAX)
                return "?";
        return table[t];
}

static const char *unit_state_to_string(UnitState u) {
        switch (u) {
        case UNIT_INACTIVE:
                return "inactive";
        case UNIT_STARTING:
                return "starting";
        case UNIT_ACTIVE:
                return "active";
        case UNIT_STOPPING:
                return "stopping";
        }
        return "?";
}

int sim_trace_init(Sim *s, size_t size) {
        s->trace = calloc(size, sizeof(TraceRec));
        if (!s->trace)
                return -ENOMEM;
        s->trace_size = size;
        s->trace_next = 0;
        s->trace_count = 0;
        return 0;
}

void sim_trace_done(Sim *s) {
        free(s->trace);
        s->trace = NULL;
}

TraceRec *sim_trace_add(Sim *s, TraceKind kind, unsigned sub, uint16_t node, int32_t name) {
        TraceRec *r = &s->trace[s->trace_next];

        s->trace_next = (s->trace_next + 1) % s->trace_size;
        if (s->trace_count < s->trace_size)
                s->trace_count++;
        s->trace_total++;
        *r = (TraceRec) {
                .step = s->step,
                .at = s->now,
                .kind = (uint16_t) kind,
                .sub = (uint16_t) sub,
                .node = node,
                .name = name,
        };
        return r;
}

static const char *name_of(const Sim *s, int32_t name) {
        if (name < 0 || (unsigned) name >= s->n_names)
                return "-";
        return s->names[name].name;
}

/* Ballots print as counter.host; so do fencing tokens, which encode one. */
#define BALLOT_FMT "%" PRIu64 ".%u"

void sim_trace_msg(TraceRec *r, const PeerMsg *m, uint64_t extra) {
        r->a = m->ballot.counter;
        r->b = (uint64_t) m->ballot.host |
                ((uint64_t) (m->value.kind & 0xff) << 16) |
                ((uint64_t) m->value.holder << 24) |
                ((m->value.seq & 0xffffff) << 40);
        r->c = m->value.token;
        r->d = extra;
}

static void format_msg(const TraceRec *r, char *buf, size_t size) {
        snprintf(buf, size, "b=" BALLOT_FMT " v=%s(n%u, token " BALLOT_FMT ", seq %" PRIu64 ") %" PRIu64 "us",
                 r->a, (unsigned) (r->b & 0xffff),
                 value_kind_to_string((ValueKind) ((r->b >> 16) & 0xff)) ?: "?",
                 (unsigned) ((r->b >> 24) & 0xffff), r->c >> 16, (unsigned) (r->c & 0xffff),
                 r->b >> 40, r->d);
}

void sim_trace_format(const Sim *s, const TraceRec *r, char *buf, size_t size) {
        int k;

        k = snprintf(buf, size, "#%-8" PRIu64 " t=%" PRIu64 ".%06" PRIu64 " ",
                     r->step, r->at / USEC_PER_SEC, r->at % USEC_PER_SEC);
        if (k < 0 || (size_t) k >= size)
                return;
        buf += k;
        size -= (size_t) k;

        switch ((TraceKind) r->kind) {
        case TRACE_EVENT:
                if (r->sub == EV_DELIVER) {
                        k = snprintf(buf, size, "n%u  <- %s from n%u %s ", r->node,
                                     msg_type_to_string((MsgType) r->flags), r->peer, name_of(s, r->name));
                        if (k > 0 && (size_t) k < size)
                                format_msg(r, buf + k, size - (size_t) k);
                } else
                        snprintf(buf, size, "n%u  %s %s (node clock %" PRIu64 ")",
                                 r->node, sim_event_to_string((SimEventType) r->sub), name_of(s, r->name), r->a);
                break;

        case TRACE_SEND: {
                const char *what =
                        r->flags & SEND_DROPPED_LOSS ? " LOST" :
                        r->flags & SEND_DROPPED_PARTITION ? " CUT (partition)" :
                        r->flags & SEND_DROPPED_DOWN ? " DROPPED (peer down)" :
                        r->flags & SEND_HELD ? " held until sync" : "";

                k = snprintf(buf, size, "n%u  -> %s to n%u %s%s%s ", r->node, msg_type_to_string((MsgType) r->sub),
                             r->peer, name_of(s, r->name), what, r->flags & SEND_DUPLICATED ? " (duplicated)" : "");
                if (k > 0 && (size_t) k < size)
                        format_msg(r, buf + k, size - (size_t) k);
                break;
        }

        case TRACE_ACTION:
                switch ((ActionType) r->sub) {
                case ACTION_PERSIST:
                        snprintf(buf, size, "n%u  persist %s bp=" BALLOT_FMT " ba=" BALLOT_FMT " %s%s",
                                 r->node, name_of(s, r->name), r->a, (unsigned) (r->b & 0xffff),
                                 r->c, (unsigned) (r->d & 0xffff),
                                 value_kind_to_string((ValueKind) (r->flags & 0xff)) ?: "?",
                                 r->flags & 0x100 ? " (seq only: not written)" : "");
                        break;
                case ACTION_START_UNIT:
                        snprintf(buf, size, "n%u  START %s token=" BALLOT_FMT " valid=%" PRIu64 " (true %" PRIu64 ")",
                                 r->node, name_of(s, r->name), r->a >> 16, (unsigned) (r->a & 0xffff), r->b, r->c);
                        break;
                case ACTION_ARM_TIMER:
                        snprintf(buf, size, "n%u  arm-timer %s at %" PRIu64 " (true %" PRIu64 ")%s",
                                 r->node, r->name < 0 ? "acceptor" : name_of(s, r->name), r->a, r->b,
                                 r->flags ? " fence" : "");
                        break;
                default:
                        snprintf(buf, size, "n%u  %s %s", r->node,
                                 action_type_to_string((ActionType) r->sub) ?: "?", name_of(s, r->name));
                        break;
                }
                break;

        case TRACE_NOTIFY:
                if (r->sub == NOTIFY_INSTALLED || r->sub == NOTIFY_CHANGE) {
                        snprintf(buf, size, "n%u  notify %s epoch %" PRIu64 " voters %" PRIu64 " phase %" PRIu64 " (change %" PRIu64 " error %d%s)",
                                 r->node, notify_kind_to_string((NotifyKind) r->sub) ?: "?", r->a, r->b >> 8, r->b & 0xff,
                                 r->c, (int) (int64_t) r->d, r->flags ? " done" : "");
                        break;
                }
                snprintf(buf, size, "n%u  notify %s %s token=" BALLOT_FMT " holder=n%" PRIu64 " %s",
                         r->node, notify_kind_to_string((NotifyKind) r->sub) ?: "?", name_of(s, r->name),
                         r->a >> 16, (unsigned) (r->a & 0xffff), r->b,
                         r->sub == NOTIFY_LOST ? lost_reason_to_string((LostReason) r->c) ?: "?" : "");
                break;

        case TRACE_FAULT:
                snprintf(buf, size, "*** %s n%u %s (%" PRIu64 ", %" PRIu64 ")",
                         sim_fault_to_string((SimFault) r->sub), r->node, name_of(s, r->name), r->a, r->b);
                break;

        case TRACE_UNIT:
                snprintf(buf, size, "n%u  unit %s -> %s", r->node, name_of(s, r->name),
                         unit_state_to_string((UnitState) r->sub));
                break;

        case TRACE_CHECK:
                snprintf(buf, size, "check: n%u %s valid until true %" PRIu64 " (node clock %" PRIu64 "), token=" BALLOT_FMT,
                         r->node, name_of(s, r->name), r->a, r->b, r->c >> 16, (unsigned) (r->c & 0xffff));
                break;
        }
}

void sim_trace_dump(const Sim *s, FILE *f, size_t lines) {
        size_t n = s->trace_count < lines ? s->trace_count : lines;
        char buf[512];

        for (size_t i = 0; i < n; i++) {
                size_t at = (s->trace_next + s->trace_size - n + i) % s->trace_size;

                sim_trace_format(s, &s->trace[at], buf, sizeof(buf));
                fprintf(f, "  %s\n", buf);
        }
}

void sim_trace_print_since(const Sim *s, FILE *f, uint64_t since) {
        uint64_t n = s->trace_total - since;

        if (n > s->trace_count)
                n = s->trace_count;
        sim_trace_dump(s, f, (size_t) n);
}
