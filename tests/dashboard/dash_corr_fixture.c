/* dash_corr_fixture DIR: writes the lab site of corr_fixture.h into DIR (created if missing)
 * for the browser test and the benchmark: DIR/site.conf, DIR/data/, DIR/sacct.txt,
 * DIR/flagged.csv. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "corr_fixture.h"

int main(int argc, char **argv)
{
    char err[512];
    if (argc != 2) {
        fprintf(stderr, "usage: dash_corr_fixture DIR\n");
        return 2;
    }
    if (mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "dash_corr_fixture: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    /* The config names its files by absolute paths: it may be read from anywhere. */
    char dir[PATH_MAX];
    if (!realpath(argv[1], dir)) {
        fprintf(stderr, "dash_corr_fixture: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    if (dcf_write(dir, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "dash_corr_fixture: %s\n", err);
        return 1;
    }
    return 0;
}
