/* SPDX-License-Identifier: MIT */
/* Checks of systemd unit names, shared by the bus client and the drop-in writer. */
#pragma once

#include <stdbool.h>

/* The unit types pes knows by their suffix. */
typedef enum UnitType {
        UNIT_TYPE_SERVICE,
        UNIT_TYPE_SOCKET,
        UNIT_TYPE_TARGET,
        UNIT_TYPE_DEVICE,
        UNIT_TYPE_MOUNT,
        UNIT_TYPE_AUTOMOUNT,
        UNIT_TYPE_SWAP,
        UNIT_TYPE_TIMER,
        UNIT_TYPE_PATH,
        UNIT_TYPE_SLICE,
        UNIT_TYPE_SCOPE,
        _UNIT_TYPE_MAX,
        _UNIT_TYPE_INVALID = -22, /* -EINVAL */
} UnitType;

/* The longest unit name systemd accepts, without the terminating NUL. */
#define UNIT_NAME_MAX 255

/*
 * Returns the type of a unit name by its suffix, or _UNIT_TYPE_INVALID if name
 * is not a valid, instantiated unit name: empty, longer than UNIT_NAME_MAX,
 * without a known suffix, with a "/" or another character systemd does not
 * allow ("A-Za-z0-9:-_.\\" and one "@" are), starting with the suffix, or a
 * template with no instance ("foo@.service").
 */
UnitType unit_name_type(const char *name);

/* True if name is a valid, instantiated unit name (see unit_name_type()). */
bool unit_name_is_valid(const char *name);
