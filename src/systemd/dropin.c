/* SPDX-License-Identifier: MIT */
/* The runtime drop-in that binds a supervised unit to pesd, and the environment file pesd writes for it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"
#include "systemd/dropin.h"
#include "systemd/unit-name.h"

/* Appends s to the open memstream with every backslash doubled. */
static void put_escaped(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
}

static int close_memstream(FILE *f, char **buf, char **ret) {
        /* fclose() of a memstream is where a failed allocation shows. */
        if (fclose(f) != 0 || !*buf) {
                free(*buf);
                *buf = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(*buf);
        return 0;
}

int dropin_render(const char *unit, const char *held, const DropinParams *p, char **ret) {
        _cleanup_free_ char *buf = NULL;
        const char *pesd_unit, *env_dir;
        size_t size = 0;
        UnitType t;
        FILE *f;

        if (!p || !ret)
                return -EINVAL;
        t = unit_name_type(unit);
        if (t < 0)
                return -EINVAL;
        if (held && strcmp(held, unit) == 0)
                held = NULL;
        if (held && (t != UNIT_TYPE_SERVICE || !unit_name_is_valid(held)))
                return -EINVAL;
        if (!p->pesctl_path || p->pesctl_path[0] != '/' || strpbrk(p->pesctl_path, " \t\n\"'\\%"))
                return -EINVAL;
        /* TimeoutStopSec=0 turns the stop timeout off, the opposite of a budget. */
        if (p->timeout_stop_usec < 1000)
                return -EINVAL;

        pesd_unit = p->pesd_unit ?: "pesd.service";
        if (unit_name_type(pesd_unit) != UNIT_TYPE_SERVICE)
                return -EINVAL;
        env_dir = p->env_dir ?: "/run/pes";
        if (env_dir[0] != '/' || strpbrk(env_dir, " \t\n\"'\\%"))
                return -EINVAL;

        if (t != UNIT_TYPE_SERVICE && t != UNIT_TYPE_TIMER && t != UNIT_TYPE_SOCKET)
                return -EOPNOTSUPP;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fprintf(f, "# Written by pesd while %s is supervised; do not edit.\n"
                   "[Unit]\n"
                   "BindsTo=%s\n"
                   "After=%s\n",
                held ?: unit, pesd_unit, pesd_unit);

        if (t == UNIT_TYPE_SERVICE) {
                fputs("\n[Service]\n", f);
                /* The environment file belongs to the held name. %n expands after
                 * systemd has split and unescaped the line, so it needs no
                 * escaping; a literal name does, since a backslash would be
                 * read as an escape. EnvironmentFile= takes no escapes. */
                if (held)
                        fprintf(f, "EnvironmentFile=-%s/%s.env\n", env_dir, held);
                else
                        fprintf(f, "EnvironmentFile=-%s/%%n.env\n", env_dir);
                fprintf(f, "KillMode=control-group\n"
                           "SendSIGKILL=yes\n"
                           "TimeoutStopSec=%" PRIu64 "ms\n"
                           "ExecCondition=+%s holds ",
                        p->timeout_stop_usec / 1000, p->pesctl_path);
                if (held)
                        put_escaped(f, held);
                else
                        fputs("%n", f);
                fputc('\n', f);
        }

        return close_memstream(f, &buf, ret);
}

/* Reads the whole of path into *ret; -ENOENT if it does not exist. */
static int read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        for (;;) {
                size_t k;

                if (allocated - n < 4096) {
                        char *b = realloc(buf, allocated + 4096 + 1);

                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated += 4096;
                }
                k = fread(buf + n, 1, allocated - n, f);
                n += k;
                if (k == 0) {
                        if (ferror(f))
                                return -EIO;
                        break;
                }
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/*
 * Replaces dir/name with content unless it holds exactly that already. The new
 * content goes to a temporary file in dir that is renamed over the old file, so
 * a reader sees the old file or the new one, never a mix.
 */
static int write_file_atomic(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *path = NULL, *tmp = NULL, *old = NULL;
        _cleanup_close_ int fd = -1;
        size_t old_size, len = strlen(content);
        int r;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;

        r = read_file(path, &old, &old_size);
        if (r >= 0 && old_size == len && memcmp(old, content, len) == 0)
                return 0;
        if (r < 0 && r != -ENOENT)
                return r;

        if (asprintf(&tmp, "%s/.#%s.XXXXXX", dir, name) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        r = write_all(fd, content, len);
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = negative_errno();
        /* /run is tmpfs in production, where fsync() costs nothing; elsewhere it
         * keeps a crash from leaving an empty file behind the rename. */
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && rename(tmp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        return 1;
}

static int mkdir_if_missing(const char *path) {
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static bool dir_ok(const char *dir) {
        return dir && dir[0] == '/';
}

int dropin_write(const char *dir, const char *unit, const char *content) {
        _cleanup_free_ char *d = NULL;
        int r;

        if (!dir_ok(dir) || !unit_name_is_valid(unit) || !content)
                return -EINVAL;
        if (asprintf(&d, "%s/%s.d", dir, unit) < 0)
                return -ENOMEM;
        r = mkdir_if_missing(dir);
        if (r < 0)
                return r;
        r = mkdir_if_missing(d);
        if (r < 0)
                return r;
        return write_file_atomic(d, DROPIN_FILE_NAME, content);
}

int dropin_remove(const char *dir, const char *unit) {
        _cleanup_free_ char *d = NULL, *path = NULL;
        int r = 1;

        if (!dir_ok(dir) || !unit_name_is_valid(unit))
                return -EINVAL;
        if (asprintf(&d, "%s/%s.d", dir, unit) < 0 ||
            asprintf(&path, "%s/" DROPIN_FILE_NAME, d) < 0)
                return -ENOMEM;
        if (unlink(path) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                r = 0;
        }
        /* Other drop-ins of the same unit may live in the directory; keep it then. */
        if (rmdir(d) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
                return negative_errno();
        return r;
}

static bool owner_ok(const char *owner) {
        if (!owner || !*owner)
                return false;
        for (const unsigned char *q = (const unsigned char *) owner; *q; q++)
                if (*q <= ' ' || *q == 0x7f || strchr("\"'$`", *q))
                        return false;
        return true;
}

int env_file_render(const char *unit, const char *owner, uint64_t token, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!unit_name_is_valid(unit) || !owner_ok(owner) || !ret)
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("PES_NAME=", f);
        put_escaped(f, unit);
        fputs("\nPES_OWNER=", f);
        put_escaped(f, owner);
        fprintf(f, "\nPES_FENCING_TOKEN=%" PRIu64 "\n", token);
        return close_memstream(f, &buf, ret);
}

int env_file_write(const char *dir, const char *unit, const char *owner, uint64_t token) {
        _cleanup_free_ char *content = NULL, *name = NULL;
        int r;

        if (!dir_ok(dir))
                return -EINVAL;
        r = env_file_render(unit, owner, token, &content);
        if (r < 0)
                return r;
        if (asprintf(&name, "%s.env", unit) < 0)
                return -ENOMEM;
        r = mkdir_if_missing(dir);
        if (r < 0)
                return r;
        return write_file_atomic(dir, name, content);
}

int env_file_remove(const char *dir, const char *unit) {
        _cleanup_free_ char *path = NULL;

        if (!dir_ok(dir) || !unit_name_is_valid(unit))
                return -EINVAL;
        if (asprintf(&path, "%s/%s.env", dir, unit) < 0)
                return -ENOMEM;
        if (unlink(path) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return 1;
}
