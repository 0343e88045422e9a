/* SPDX-License-Identifier: MIT */
/* The caller-owned list the core appends its actions to. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/action.h"

void action_list_init(ActionList *l) {
        assert(l);
        *l = ACTION_LIST_NULL;
}

void action_list_clear(ActionList *l) {
        assert(l);
        l->n = 0;
}

void action_list_done(ActionList *l) {
        assert(l);
        free(l->actions);
        *l = ACTION_LIST_NULL;
}

Action *action_list_append(ActionList *l, ActionType type, const char *name) {
        Action *a;

        assert(l);
        assert((unsigned) type < _ACTION_TYPE_MAX);

        if (l->n >= l->allocated) {
                size_t m = l->allocated ? l->allocated * 2 : 16;
                Action *p;

                if (m > SIZE_MAX / sizeof(Action))
                        return NULL;
                p = realloc(l->actions, m * sizeof(Action));
                if (!p)
                        return NULL;
                l->actions = p;
                l->allocated = m;
        }

        a = &l->actions[l->n++];
        memset(a, 0, sizeof(*a));
        a->type = type;
        if (name) {
                size_t k = strnlen(name, PES_NAME_MAX);
                memcpy(a->name, name, k);
                a->name[k] = 0;
        }
        return a;
}

size_t action_list_count(const ActionList *l, ActionType type) {
        size_t c = 0;

        assert(l);
        for (size_t i = 0; i < l->n; i++)
                if (l->actions[i].type == type)
                        c++;
        return c;
}

const char *action_type_to_string(ActionType t) {
        static const char *const table[_ACTION_TYPE_MAX] = {
                [ACTION_SEND] = "send",
                [ACTION_PERSIST] = "persist",
                [ACTION_PERSIST_BALLOTS] = "persist-ballots",
                [ACTION_PERSIST_INIT] = "persist-init",
                [ACTION_START_UNIT] = "start-unit",
                [ACTION_STOP_UNIT] = "stop-unit",
                [ACTION_KILL_UNIT] = "kill-unit",
                [ACTION_ARM_TIMER] = "arm-timer",
                [ACTION_NOTIFY] = "notify",
                [ACTION_PERSIST_CONFIG] = "persist-config",
        };

        if ((unsigned) t >= _ACTION_TYPE_MAX)
                return NULL;
        return table[t];
}

const char *notify_kind_to_string(NotifyKind k) {
        static const char *const table[_NOTIFY_KIND_MAX] = {
                [NOTIFY_ACQUIRED] = "acquired",
                [NOTIFY_LOST] = "lost",
                [NOTIFY_OWNER] = "owner",
                [NOTIFY_CONFIG] = "config",
                [NOTIFY_RELEASED] = "released",
                [NOTIFY_INSTALLED] = "installed",
                [NOTIFY_CHANGE] = "change",
        };

        if ((unsigned) k >= _NOTIFY_KIND_MAX)
                return NULL;
        return table[k];
}

const char *lost_reason_to_string(LostReason r) {
        static const char *const table[_LOST_REASON_MAX] = {
                [LOST_NONE] = "none",
                [LOST_FENCED] = "fenced",
                [LOST_RELEASED] = "released",
                [LOST_HANDOFF] = "handoff",
                [LOST_FAILED] = "failed",
                [LOST_TENURE_ENDED] = "tenure-ended",
        };

        if ((unsigned) r >= _LOST_REASON_MAX)
                return NULL;
        return table[r];
}
