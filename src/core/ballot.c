/* SPDX-License-Identifier: MIT */
/* Ballots, fencing tokens and the ranking of register values. */
#include <assert.h>
#include <string.h>

#include "core/ballot.h"

int ballot_compare(const Ballot *a, const Ballot *b) {
        assert(a);
        assert(b);

        if (a->counter != b->counter)
                return a->counter < b->counter ? -1 : 1;
        if (a->host != b->host)
                return a->host < b->host ? -1 : 1;
        return 0;
}

bool ballot_is_null(const Ballot *b) {
        assert(b);
        return b->counter == 0 && b->host == PES_HOST_NONE;
}

Ballot ballot_next(uint64_t highest_counter_seen, uint16_t self) {
        assert(self != PES_HOST_NONE);

        /* Saturating: a counter at the maximum would need 2⁴⁸ rounds to reach. */
        if (highest_counter_seen >= BALLOT_COUNTER_MAX)
                highest_counter_seen = BALLOT_COUNTER_MAX - 1;
        return (Ballot) { .counter = highest_counter_seen + 1, .host = self };
}

uint64_t ballot_token(const Ballot *b) {
        assert(b);
        return (b->counter << 16) | b->host;
}

int value_compare(const RegValue *a, const RegValue *b) {
        int r;

        assert(a);
        assert(b);

        r = ballot_compare(&a->ba, &b->ba);
        if (r != 0)
                return r;
        if (a->seq != b->seq)
                return a->seq < b->seq ? -1 : 1;
        return 0;
}

bool value_is_claim(const RegValue *v) {
        assert(v);
        return v->kind == VALUE_LEASE || v->kind == VALUE_RESERVED;
}

bool value_same_but_seq(const RegValue *a, const RegValue *b) {
        assert(a);
        assert(b);

        return ballot_compare(&a->ba, &b->ba) == 0 &&
                a->kind == b->kind &&
                a->holder == b->holder &&
                a->token == b->token &&
                a->lease_usec == b->lease_usec;
}

const char *value_kind_to_string(ValueKind k) {
        static const char *const table[_VALUE_KIND_MAX] = {
                [VALUE_FREE] = "free",
                [VALUE_LEASE] = "lease",
                [VALUE_RESERVED] = "reserved",
        };

        if ((unsigned) k >= _VALUE_KIND_MAX)
                return NULL;
        return table[k];
}
