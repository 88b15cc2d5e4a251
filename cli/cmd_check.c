/* wattaudit check-config: validates a site config and its devices' profiles; never touches a
 * meter. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "meters/collect/collect.h"

#define MAX_PROFILE_DIRS 32

static void usage(FILE *out)
{
    fputs("usage: wattaudit check-config FILE [--profiles DIR]...\n"
          "  --profiles DIR  another profile folder (repeatable), after the built-in one and\n"
          "                  the config's profile_dirs; a later folder's profile of the same\n"
          "                  name wins\n",
          out);
}

int cli_check_config(int argc, char **argv)
{
    static const struct option longs[] = {{"profiles", required_argument, NULL, 'p'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *dirs[MAX_PROFILE_DIRS], *file;
    size_t n_dirs = 0, n_buses = 0, n_chans = 0;
    siteconf_t *cfg = NULL;
    profile_set_t *ps = NULL;
    char err[1024];
    int opt, rc = 1;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "p:h", longs, NULL)) != -1) {
        if (opt == 'p' && n_dirs < MAX_PROFILE_DIRS) {
            dirs[n_dirs++] = optarg;
        } else if (opt == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    file = argv[optind];
    if (!(cfg = siteconf_load(file, err, sizeof err)) ||
        !(ps = cli_load_profiles(cfg, dirs, n_dirs, err, sizeof err)) ||
        collect_check(cfg, ps, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    for (size_t s = 0; s < cfg->n_sites; s++) {
        n_buses += cfg->sites[s].n_buses;
        for (size_t b = 0; b < cfg->sites[s].n_buses; b++)
            for (size_t d = 0; d < cfg->sites[s].buses[b].n_devices; d++) {
                const sc_device_t *dev = &cfg->sites[s].buses[b].devices[d];
                /* No channels listed means every channel of the profile. */
                n_chans += dev->n_channels ? dev->n_channels
                                           : profile_set_find(ps, dev->profile)->n_channels;
            }
    }
    printf("%s: ok (%zu sites, %zu buses, %zu devices, %zu channels)\n", file, cfg->n_sites,
           n_buses, siteconf_count_devices(cfg), n_chans);
    rc = 0;
out:
    profile_set_free(ps);
    siteconf_free(cfg);
    return rc;
}
