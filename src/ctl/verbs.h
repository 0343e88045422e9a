/* SPDX-License-Identifier: MIT */
/* A table-driven dispatcher of pesctl's verbs ("pesctl lookup NAME"), with argument-count checks. */
#pragma once

typedef int (*VerbFunction)(int argc, char *argv[], void *userdata);

typedef struct Verb {
        const char *name;
        unsigned min_args; /* counting the verb itself */
        unsigned max_args; /* VERB_ANY for no limit */
        VerbFunction func;
} Verb;

#define VERB_ANY ((unsigned) -1)

/*
 * Finds argv[0] in verbs (a table ending with a zeroed entry) and calls it with
 * argc/argv starting at the verb. Returns what the verb returns, or -EINVAL after
 * logging what was wrong (unknown verb, too few or too many arguments).
 */
int dispatch_verb(int argc, char *argv[], const Verb verbs[], void *userdata);

/* Returns the entry for name, or NULL. */
const Verb *verb_find(const Verb verbs[], const char *name);
