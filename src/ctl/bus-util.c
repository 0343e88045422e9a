/* SPDX-License-Identifier: MIT */
/* pesctl's bus connection, its exit statuses, and D-Bus errors turned into messages a person can act on. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
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
