/* wattaudit profiles: lists the device profiles that load, with their channels and sources. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_profiles(int argc, char **argv)
{
    const char *extra[32];
    size_t n_extra = 0;
    char err[1024];
    profile_set_t *ps;
    int opt, verbose = 0;
    static const struct option longs[] = {{"profiles", required_argument, NULL, 'p'},
                                          {"verbose", no_argument, NULL, 'v'},
                                          {NULL, 0, NULL, 0}};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "p:v", longs, NULL)) != -1) {
        if (opt == 'p' && n_extra < 32)
            extra[n_extra++] = optarg;
        else if (opt == 'v')
            verbose = 1;
        else {
            fprintf(stderr, "usage: wattaudit profiles [--profiles DIR]... [-v]\n");
            return 2;
        }
    }
    ps = cli_load_profiles(NULL, extra, n_extra, err, sizeof err);
    if (!ps) {
        fprintf(stderr, "wattaudit: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < profile_set_count(ps); i++) {
        const profile_t *p = profile_set_at(ps, i);
        printf("%-22s %s %s (%zu registers; channels:", p->name, p->vendor, p->model, p->n_regs);
        for (size_t c = 0; c < p->n_channels; c++)
            printf(" %s", p->channels[c]);
        printf(")\n");
        if (verbose)
            printf("%22s source: %s\n%22s file: %s\n", "", p->source, "", p->file);
    }
    profile_set_free(ps);
    return 0;
}
