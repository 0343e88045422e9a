/* SPDX-License-Identifier: MIT */
/* Cleanup attributes, ownership transfer and small helper macros shared by every part of pes. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Returns the pointer held in *p and clears it, so that the cleanup attribute of
 * the old owner no longer frees it: ownership moves to whoever takes the result. */
#define TAKE_PTR(p)                                     \
        ({                                              \
                __typeof__(p) *_pp_ = &(p);             \
                __typeof__(p) _p_ = *_pp_;              \
                *_pp_ = NULL;                           \
                _p_;                                    \
        })

/* Defines func##p(type *p), a cleanup function that calls func(*p) when *p is
 * set. func must accept the object and do what its name says. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) {           \
                if (*p)                                 \
                        func(*p);                       \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* Closes *fd if it is open; errors of close() cannot be acted on here. */
void closep(int *fd);
#define _cleanup_close_ _cleanup_(closep)

/* Returns -errno of the last failed libc call, never 0 (so a caller can return it). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
