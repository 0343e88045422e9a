/* SPDX-License-Identifier: MIT */
/* Verb dispatch for pesctl. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "basic/log.h"
#include "ctl/verbs.h"

const Verb *verb_find(const Verb verbs[], const char *name) {
        assert(verbs);

        if (!name)
                return NULL;
        for (const Verb *v = verbs; v->name; v++)
                if (strcmp(v->name, name) == 0)
                        return v;
        return NULL;
}

int dispatch_verb(int argc, char *argv[], const Verb verbs[], void *userdata) {
        const Verb *v;

        assert(verbs);

        if (argc <= 0 || !argv[0])
                return log_error_errno(EINVAL, "Missing command; see --help.");

        v = verb_find(verbs, argv[0]);
        if (!v)
                return log_error_errno(EINVAL, "Unknown command '%s'; see --help.", argv[0]);
        if ((unsigned) argc < v->min_args)
                return log_error_errno(EINVAL, "Too few arguments for '%s'; see --help.", v->name);
        if (v->max_args != VERB_ANY && (unsigned) argc > v->max_args)
                return log_error_errno(EINVAL, "Too many arguments for '%s'; see --help.", v->name);

        return v->func(argc, argv, userdata);
}
