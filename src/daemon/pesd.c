/* SPDX-License-Identifier: MIT */
/* pesd: the pes daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "config.h"
#include "daemon/conf.h"
#include "daemon/manager.h"
#include "daemon/options.h"

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *error = NULL;
        PesdOptions o = PESD_OPTIONS_NULL;
        PesConfig c;
        int r;

        log_set_ident("pesd");
        r = pesd_parse_argv(argc, argv, &o);
        if (r < 0)
                return r;
        if (o.log_level >= 0)
                log_set_max_level(o.log_level);
        switch (o.action) {
        case PESD_ACTION_HELP:
                pesd_help();
                return 0;
        case PESD_ACTION_VERSION:
                printf("pesd %s\n", PES_VERSION);
                return 0;
        default:
                break;
        }

        r = config_init_defaults(&c);
        if (r < 0)
                return log_error_errno(r, "Out of memory.");
        r = config_parse_file(&c, o.config_file ?: PES_DEFAULT_CONFIG_FILE, &error);
        if (r == -ENOENT && !o.config_file)
                log_info("No %s: running a one-node cluster on %s:%u.", PES_DEFAULT_CONFIG_FILE, c.listen_address,
                         c.listen_port);
        else if (r < 0) {
                config_done(&c);
                return log_error_errno(r, "%s", error ?: "Cannot read the configuration.");
        }

        r = manager_new(&c, &m);
        config_done(&c);
        if (r < 0)
                return r;
        return manager_run(m);
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);

        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
