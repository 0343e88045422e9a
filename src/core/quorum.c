/* SPDX-License-Identifier: MIT */
/* Voter configurations, their hash, and the quorums they give. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "core/hash.h"
#include "core/lease.h"
#include "core/quorum.h"

/* Insertion sort of at most PES_MEMBERS_MAX entries into dst. */
static void sort_into(uint16_t *dst, const uint16_t *src, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                unsigned j = i;

                while (j > 0 && dst[j - 1] > src[i]) {
                        dst[j] = dst[j - 1];
                        j--;
                }
                dst[j] = src[i];
        }
}

int voter_config_init(VoterConfig *c, const uint16_t *voters, unsigned n_voters) {
        return voter_config_init_members(c, voters, n_voters, NULL, 0);
}

int voter_config_init_members(VoterConfig *c, const uint16_t *voters, unsigned n_voters,
                              const uint16_t *members, unsigned n_members) {
        uint16_t all[PES_MEMBERS_MAX] = {};
        unsigned n_all = 0;

        if (!c || !voters || n_voters == 0 || n_voters > PES_VOTERS_MAX)
                return -EINVAL;
        if (n_members > 0 && !members)
                return -EINVAL;

        *c = (VoterConfig) {
                .epoch.n = 1,
                .phase = CONFIG_STABLE,
                .changing = PES_HOST_NONE,
                .rescanned = true,
                .n_voters = n_voters,
                .rho_ppm = LEASE_RHO_DEFAULT_PPM,
                .delta_usec = LEASE_DELTA_DEFAULT_USEC,
                .lease_max_usec = LEASE_MAX_DEFAULT_USEC,
        };
        sort_into(c->voters, voters, n_voters);

        /* The members: the given ones, and every voter not among them. */
        for (unsigned i = 0; i < n_members + n_voters; i++) {
                uint16_t h = i < n_members ? members[i] : voters[i - n_members];
                bool seen = false;

                for (unsigned k = 0; k < n_all; k++)
                        if (all[k] == h)
                                seen = true;
                if (seen && i >= n_members)
                        continue;
                if (seen || n_all >= PES_MEMBERS_MAX)
                        return -EINVAL;
                all[n_all++] = h;
        }
        sort_into(c->members, all, n_all);
        c->n_members = n_all;
        c->next_id = c->members[n_all - 1] < PES_HOST_MAX ? (uint16_t) (c->members[n_all - 1] + 1) : (uint16_t) PES_HOST_MAX;

        c->epoch.hash = voter_config_hash(c, 0);
        return voter_config_validate(c);
}

bool voter_config_is_member(const VoterConfig *c, uint16_t host) {
        assert(c);

        if (host == PES_HOST_NONE)
                return false;
        for (unsigned i = 0; i < c->n_members && i < PES_MEMBERS_MAX; i++)
                if (c->members[i] == host)
                        return true;
        return false;
}

bool voter_config_changing(const VoterConfig *c) {
        assert(c);
        return c->phase != CONFIG_STABLE || !c->rescanned;
}

static uint64_t hash_u64(uint64_t h, uint64_t x) {
        unsigned char b[8];

        /* Little-endian bytes, so hosts of either byte order agree. */
        for (unsigned i = 0; i < 8; i++)
                b[i] = (unsigned char) (x >> (8 * i));
        return fnv1a64(h, b, sizeof(b));
}

uint64_t voter_config_hash(const VoterConfig *c, uint64_t parent_hash) {
        uint64_t h = FNV1A64_OFFSET;

        assert(c);

        h = hash_u64(h, c->n_voters);
        for (unsigned i = 0; i < c->n_voters && i < PES_VOTERS_MAX; i++)
                h = hash_u64(h, c->voters[i]);
        h = hash_u64(h, c->phase);
        h = hash_u64(h, c->changing);
        h = hash_u64(h, c->adding);
        h = hash_u64(h, c->rescanned);
        h = hash_u64(h, c->n_members);
        for (unsigned i = 0; i < c->n_members && i < PES_MEMBERS_MAX; i++)
                h = hash_u64(h, c->members[i]);
        h = hash_u64(h, c->next_id);
        h = hash_u64(h, c->rho_ppm);
        h = hash_u64(h, c->delta_usec);
        h = hash_u64(h, c->lease_max_usec);
        return hash_u64(h, parent_hash);
}

int voter_config_validate(const VoterConfig *c) {
        if (!c)
                return -EINVAL;
        if (c->epoch.n == 0)
                return -EINVAL;
        if (c->n_voters == 0 || c->n_voters > PES_VOTERS_MAX)
                return -EINVAL;
        for (unsigned i = 0; i < c->n_voters; i++) {
                if (c->voters[i] == PES_HOST_NONE)
                        return -EINVAL;
                if (i > 0 && c->voters[i - 1] >= c->voters[i])
                        return -EINVAL;
        }
        if ((unsigned) c->phase >= _CONFIG_PHASE_MAX)
                return -EINVAL;
        if (c->phase == CONFIG_STABLE) {
                if (c->changing != PES_HOST_NONE || c->adding)
                        return -EINVAL;
        } else if (voter_config_index(c, c->changing) < 0 || c->n_voters < 2)
                return -EINVAL;
        if (c->n_members == 0 || c->n_members > PES_MEMBERS_MAX)
                return -EINVAL;
        for (unsigned i = 0; i < c->n_members; i++) {
                if (c->members[i] == PES_HOST_NONE)
                        return -EINVAL;
                if (i > 0 && c->members[i - 1] >= c->members[i])
                        return -EINVAL;
                if (c->next_id <= c->members[i])
                        return -EINVAL;
        }
        for (unsigned i = 0; i < c->n_voters; i++)
                if (!voter_config_is_member(c, c->voters[i]))
                        return -EINVAL;
        if (c->rho_ppm > LEASE_RHO_PPM_MAX)
                return -EINVAL;
        if (c->lease_max_usec == 0 || c->lease_max_usec > LEASE_USEC_MAX)
                return -EINVAL;
        if (c->delta_usec > LEASE_USEC_MAX)
                return -EINVAL;
        return 0;
}

bool epoch_equal(const Epoch *a, const Epoch *b) {
        assert(a);
        assert(b);
        return a->n == b->n && a->hash == b->hash;
}

int voter_config_index(const VoterConfig *c, uint16_t host) {
        assert(c);

        if (host == PES_HOST_NONE)
                return -ENOENT;
        for (unsigned i = 0; i < c->n_voters && i < PES_VOTERS_MAX; i++)
                if (c->voters[i] == host)
                        return (int) i;
        return -ENOENT;
}

bool voter_config_in_prepare_set(const VoterConfig *c, uint16_t host) {
        assert(c);

        if (voter_config_index(c, host) < 0)
                return false;
        /* While accepts are widened but prepares are not, the changing voter only accepts. */
        if (c->phase == CONFIG_ACCEPT_WIDENED && host == c->changing)
                return false;
        return true;
}

unsigned voter_config_prepare_quorum(const VoterConfig *c) {
        unsigned n;

        assert(c);

        n = c->n_voters;
        if (c->phase == CONFIG_ACCEPT_WIDENED)
                n--;
        return n / 2 + 1;
}

bool voter_config_in_accept_set(const VoterConfig *c, uint16_t host) {
        assert(c);
        return voter_config_index(c, host) >= 0;
}

unsigned voter_config_accept_quorum(const VoterConfig *c) {
        assert(c);
        return c->n_voters / 2 + 1;
}

unsigned voter_config_recovery_quorum(const VoterConfig *c) {
        /*
         * F+1 of 2F+1: a quorum that counted the recovering voter has F other
         * members among the 2F other voters, so any F+1 others include one of them
         * and the highest bp and value it promised or accepted are seen.
         */
        return voter_config_prepare_quorum(c);
}
