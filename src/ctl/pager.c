/* SPDX-License-Identifier: MIT */
/* Paging of long output through less, as systemctl does, only when a person is reading stdout. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/macro.h"
#include "ctl/pager.h"

/* Runs in the forked child: becomes the pager reading from fd, or reports errno on
 * status_fd (close-on-exec, so a successful exec closes it with nothing written). */
_noreturn_ static void pager_exec(int fd, int status_fd) {
        const char *pager = getenv("PAGER");
        int e;

        if (dup2(fd, STDIN_FILENO) < 0)
                goto fail;
        if (fd != STDIN_FILENO)
                close(fd);

        /* less needs these to show our text as it is and to quit when it fits. */
        (void) setenv("LESS", "FRSX", 0);
        if (pager)
                execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
        else
                execlp("less", "less", "-FRSX", (char *) NULL);

fail:
        e = errno;
        (void) !write(status_fd, &e, sizeof(e));
        _exit(EXIT_FAILURE);
}

int pager_open(Pager *p) {
        _cleanup_close_ int status_read = -EBADF, status_write = -EBADF;
        const char *pager = getenv("PAGER");
        int fds[2], status[2], e = 0;
        ssize_t k;
        pid_t pid;

        assert(p);

        *p = PAGER_NULL;
        if (!isatty(STDOUT_FILENO))
                return 0;
        if (pager && (pager[0] == 0 || strcmp(pager, "cat") == 0))
                return 0;

        if (pipe2(status, O_CLOEXEC) < 0)
                return 0;
        status_read = status[0];
        status_write = status[1];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return 0;

        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return 0;
        }
        if (pid == 0) {
                close(fds[1]);
                pager_exec(fds[0], status_write);
        }

        close(fds[0]);
        closep(&status_write);
        do
                k = read(status_read, &e, sizeof(e));
        while (k < 0 && errno == EINTR);
        if (k > 0) {
                /* No pager could be started; write to the terminal directly. */
                close(fds[1]);
                (void) waitpid(pid, NULL, 0);
                return 0;
        }

        p->saved_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        if (p->saved_fd < 0 || dup2(fds[1], STDOUT_FILENO) < 0) {
                int r = negative_errno();

                close(fds[1]);
                (void) kill(pid, SIGTERM);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        close(fds[1]);
        p->pid = pid;

        /* If the reader quits early, the rest of the output is simply dropped. */
        (void) signal(SIGPIPE, SIG_IGN);
        return 0;
}

void pager_close(Pager *p) {
        assert(p);

        if (p->pid <= 0)
                return;

        fflush(stdout);
        (void) dup2(p->saved_fd, STDOUT_FILENO);
        close(p->saved_fd);
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        *p = PAGER_NULL;
}
