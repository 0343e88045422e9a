/* SPDX-License-Identifier: MIT */
/* Out-of-line pieces of macro.h. */
#include <unistd.h>

#include "basic/macro.h"

void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;

                (void) close(*fd);
                errno = saved;
                *fd = -1;
        }
}
