/* SPDX-License-Identifier: MIT */
/* pesctl's bus connection, its exit statuses, and D-Bus errors turned into messages a person can act on. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "ctl/bus-util.h"
#include "ctl/pes-api.h"

int ctl_bus_open(sd_bus **ret) {
        const char *address;
        int r;

        assert(ret);

        r = sd_bus_open_system(ret);
        if (r < 0) {
                address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
                return log_error_errno(r, "Failed to connect to the system bus (%s): %m",
                                       address ?: "unix:path=/run/dbus/system_bus_socket");
        }
        return 0;
}

int ctl_log_bus_error(const sd_bus_error *error, int r, const char *action, const char *name) {
        const char *sep = name ? " " : "";
        const char *msg;

        assert(action);

        if (!name)
                name = "";

        if (sd_bus_error_has_name(error, PES_ERROR_NO_SUCH_NAME)) {
                log_error("No such name: %s", name);
                return PESCTL_EXIT_NO_SUCH_NAME;
        }

        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED) || r == -EACCES || r == -EPERM) {
                log_error("Permission denied: cannot %s%s%s (run as root).", action, sep, name);
                return PESCTL_EXIT_FAILURE;
        }

        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                   SD_BUS_ERROR_NO_REPLY)) {
                log_error("pesd is not running (%s not on the bus).", PES_BUS_NAME);
                return PESCTL_EXIT_FAILURE;
        }

        if (sd_bus_error_is_set(error) && error->message)
                msg = error->message;
        else if (sd_bus_error_is_set(error))
                msg = error->name;
        else
                msg = strerror(-r);

        log_error("Failed to %s%s%s: %s", action, sep, name, msg);
        return PESCTL_EXIT_FAILURE;
}

/* What each of pesd's unit errors means, for when pesd sent no message. */
static const struct {
        const char *name;
        const char *meaning;
        int status;
} unit_errors[] = {
        { PES_ERROR_INVALID_NAME, "not a unit pes can supervise (NAME.service, NAME.timer or NAME.socket)",
          PESCTL_EXIT_USAGE },
        { SD_BUS_ERROR_INVALID_ARGS, "a setting was refused", PESCTL_EXIT_USAGE },
        { PES_ERROR_CANNOT_SUPERVISE, "systemd cannot run it here", PESCTL_EXIT_FAILURE },
        { PES_ERROR_ALREADY_SUPERVISED, "it is supervised already", PESCTL_EXIT_FAILURE },
        { PES_ERROR_DECLARED_IN_FILE, "it is declared in a units.d file; remove that file and restart pesd",
          PESCTL_EXIT_FAILURE },
        { PES_ERROR_NOT_OWNER, "this host does not hold it; run the move on its owner", PESCTL_EXIT_FAILURE },
        { PES_ERROR_NOT_ELIGIBLE, "that host is not eligible for it (Hosts=, Prefer=)", PESCTL_EXIT_FAILURE },
        { PES_ERROR_UNREACHABLE, "that host is not reachable", PESCTL_EXIT_FAILURE },
        { PES_ERROR_NO_SUCH_HOST, "no such host in this cluster", PESCTL_EXIT_FAILURE },
        { PES_ERROR_BUSY, "a change of it is in progress already", PESCTL_EXIT_FAILURE },
        { PES_ERROR_MOVE_FAILED, "the other host did not take it over; election resumes", PESCTL_EXIT_FAILURE },
        { PES_ERROR_NO_QUORUM, "no majority of the voters answered", PESCTL_EXIT_FAILURE },
        { PES_ERROR_STOPPING, "pesd is shutting down", PESCTL_EXIT_FAILURE },
};

int ctl_log_unit_error(const sd_bus_error *error, int r, const char *action, const char *unit) {
        assert(action);
        assert(unit);

        if (sd_bus_error_has_name(error, PES_ERROR_NO_SUCH_NAME)) {
                log_error("%s is not supervised on this host.", unit);
                return PESCTL_EXIT_NO_SUCH_NAME;
        }

        for (size_t i = 0; i < ELEMENTSOF(unit_errors); i++) {
                const char *msg;
                size_t n;

                if (!sd_bus_error_has_name(error, unit_errors[i].name))
                        continue;

                msg = error->message && error->message[0] ? error->message : unit_errors[i].meaning;
                /* pesd's own messages may begin with what failed ("Cannot supervise X: …"):
                 * say that once. */
                n = strlen(action);
                if (strncasecmp(msg, "Cannot ", 7) == 0 && strncmp(msg + 7, action, n) == 0 &&
                    strncmp(msg + 7 + n, ": ", 2) == 0)
                        msg += 7 + n + 2;
                log_error("Cannot %s: %s", action, msg);
                return unit_errors[i].status;
        }

        return ctl_log_bus_error(error, r, action, NULL);
}

/* What each membership error means, for when pesd sent no message. */
static const struct {
        const char *name;
        const char *meaning;
} membership_errors[] = {
        { PES_ERROR_NO_SUCH_HOST, "no such host in this cluster" },
        { PES_ERROR_BUSY, "a membership change is in flight already; 'pesctl voters' shows it" },
        { PES_ERROR_ALREADY_MEMBER, "this host is a member of a cluster with other hosts already" },
        { PES_ERROR_ALREADY_VOTER, "it is a voter already" },
        { PES_ERROR_NOT_VOTER, "it is not a voter" },
        { PES_ERROR_NOT_ALLOWED, "not allowed now" },
        { PES_ERROR_SUPERSEDED, "another host changed the voter configuration first; 'pesctl voters' shows it" },
        { PES_ERROR_NO_QUORUM, "no quorum of the voters answered; 'pesctl voters resume' continues the change" },
        { PES_ERROR_UNREACHABLE, "the member named did not answer" },
        { PES_ERROR_KEY_REJECTED, "the member refused this host's cluster key" },
        { PES_ERROR_STOPPING, "pesd is shutting down" },
};

int ctl_log_membership_error(const sd_bus_error *error, int r, const char *action, usec_t timeout) {
        const char *msg;
        size_t n;

        assert(action);

        if (r == -ETIMEDOUT) {
                char buf[FORMAT_TIMESPAN_MAX];

                log_error("Cannot %s: pesd did not answer within %s; the change may go on, 'pesctl voters' and "
                          "'pesctl nodes' show where it is.", action, format_timespan(buf, sizeof(buf), timeout));
                return PESCTL_EXIT_FAILURE;
        }
        if (r == -ECONNRESET) {
                log_error("Cannot %s: pesd left the bus before the change was complete; 'pesctl voters' shows "
                          "where it is, 'pesctl voters resume' or 'rollback' drives it on.", action);
                return PESCTL_EXIT_FAILURE;
        }

        if (sd_bus_error_has_name(error, SD_BUS_ERROR_INVALID_ARGS)) {
                log_error("Cannot %s: %s", action, error->message && error->message[0] ? error->message
                                                                                        : "pesd refused the arguments");
                return PESCTL_EXIT_USAGE;
        }

        /* Errors of the bus itself (no pesd, no permission) are said as for every call. */
        if (!sd_bus_error_is_set(error) ||
            sd_bus_error_has_names(error, SD_BUS_ERROR_ACCESS_DENIED, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                   SD_BUS_ERROR_NAME_HAS_NO_OWNER, SD_BUS_ERROR_NO_REPLY) ||
            r == -EACCES || r == -EPERM)
                return ctl_log_bus_error(error, r, action, NULL);

        msg = error->message && error->message[0] ? error->message : NULL;
        for (size_t i = 0; !msg && i < ELEMENTSOF(membership_errors); i++)
                if (sd_bus_error_has_name(error, membership_errors[i].name))
                        msg = membership_errors[i].meaning;
        if (!msg)
                msg = error->name;
        /* pesd's own messages may begin with what failed ("Cannot join the cluster at X: …"):
         * say that once. */
        n = strlen(action);
        if (strncasecmp(msg, "Cannot ", 7) == 0 && strncmp(msg + 7, action, n) == 0 && strncmp(msg + 7 + n, ": ", 2) == 0)
                msg += 7 + n + 2;
        log_error("Cannot %s: %s", action, msg);
        return PESCTL_EXIT_FAILURE;
}
