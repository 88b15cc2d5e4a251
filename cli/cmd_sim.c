/* wattaudit sim: serve a site config's buses as simulated meters, and its hosts' exporters on
 * loopback, until SIGTERM or SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/common.h"
#include "meters/sim/sim.h"

#define MAX_PROFILE_DIRS 32

static void usage(FILE *out)
{
    fputs("usage: wattaudit sim --config FILE [--profiles DIR]... [--clock FILE]\n"
          "                     [--energy-origin TIME] [--ready FILE] [-v]\n"
          "  --config FILE         site config whose buses and devices are simulated, and\n"
          "                        whose hosts' loopback exporter URLs are served\n"
          "  --profiles DIR        profile folder (repeatable); default: the built-in folder\n"
          "                        and the config's profile_dirs\n"
          "  --clock FILE          shared clock file made by the collector; default: real time\n"
          "  --energy-origin TIME  where energy registers start counting; default: start time\n"
          "  --ready FILE          written once everything is served (a line per bus and\n"
          "                        exporter)\n"
          "  -v                    log each bus and exporter and the final counts\n",
          out);
}

int cli_sim(int argc, char **argv)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'}, {"profiles", required_argument, NULL, 'p'},
        {"clock", required_argument, NULL, 'k'},  {"energy-origin", required_argument, NULL, 'e'},
        {"ready", required_argument, NULL, 'r'},  {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *config = NULL, *clock_file = NULL, *origin = NULL, *ready = NULL;
    const char *dirs[MAX_PROFILE_DIRS];
    size_t n_dirs = 0;
    wa_log_t log = {stderr, WA_LOG_WARN};
    siteconf_t *cfg = NULL;
    profile_set_t *ps = NULL;
    wa_clock_t *clk = NULL;
    sim_opts_t o;
    sim_stats_t st;
    char err[1024];
    int opt, rc = 1;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:p:k:e:r:vh", longs, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'p':
            if (n_dirs == MAX_PROFILE_DIRS) {
                fprintf(stderr, "wattaudit sim: at most %d --profiles\n", MAX_PROFILE_DIRS);
                return 2;
            }
            dirs[n_dirs++] = optarg;
            break;
        case 'k':
            clock_file = optarg;
            break;
        case 'e':
            origin = optarg;
            break;
        case 'r':
            ready = optarg;
            break;
        case 'v':
            log.level = WA_LOG_INFO;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!config || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!(cfg = siteconf_load(config, err, sizeof err))) {
        fprintf(stderr, "wattaudit sim: %s\n", err);
        goto out;
    }
    ps = n_dirs ? profile_set_load(dirs, n_dirs, err, sizeof err)
                : cli_load_profiles(cfg, NULL, 0, err, sizeof err);
    if (!ps) {
        fprintf(stderr, "wattaudit sim: %s\n", err);
        goto out;
    }
    if (clock_file && !(clk = wa_clock_open(clock_file))) {
        fprintf(stderr, "wattaudit sim: clock %s: %s\n", clock_file, wa_strerror(errno));
        goto out;
    }
    memset(&o, 0, sizeof o);
    o.log = &log;
    o.clock = clk;
    o.energy_origin = wa_clock_now(clk);
    if (origin) {
        int64_t t;
        if (wa_time_parse(origin, cfg->timezone, &t) != 0) {
            fprintf(stderr, "wattaudit sim: --energy-origin \"%s\" is not a time\n", origin);
            rc = 2;
            goto out;
        }
        o.energy_origin = (double)t;
    }
    o.stop = cli_stop_flag();
    o.ready_file = ready;
    if (sim_run(cfg, ps, &o, &st, err, sizeof err) != 0) {
        fprintf(stderr, "wattaudit sim: %s\n", err);
        goto out;
    }
    rc = 0;
out:
    wa_clock_close(clk);
    profile_set_free(ps);
    siteconf_free(cfg);
    return rc;
}
