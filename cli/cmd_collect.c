/* wattaudit collect: polls every configured device and stores its channels until SIGTERM or
 * SIGINT (or --until), in real time or on a stepped clock shared with the simulator. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "common/common.h"
#include "meters/collect/collect.h"

#define MAX_PROFILE_DIRS 32

static void usage(FILE *out)
{
    fputs("usage: wattaudit collect --config FILE [--profiles DIR]... [--status FILE]\n"
          "                         [--clock FILE --from TIME] [--until TIME] [-v | -q]\n"
          "  --config FILE   site config (docs/config.md)\n"
          "  --profiles DIR  another profile folder (repeatable), after the built-in one and\n"
          "                  the config's profile_dirs\n"
          "  --status FILE   status file instead of the config's status_file (\"\" = none)\n"
          "  --clock FILE    create a stepped clock in FILE starting at --from, and drive it:\n"
          "                  `wattaudit sim --clock FILE` answers for that time, and weeks of\n"
          "                  polls pass in seconds\n"
          "  --from TIME     start of the stepped clock (with --clock)\n"
          "  --until TIME    stop when the clock reaches TIME (default: run until stopped)\n"
          "  -v, -q          log more (debug) or less (warnings and errors only)\n"
          "TIME is \"2026-11-02T14:00\" in the config's time zone, with \"Z\" or \"+08:00\", or\n"
          "Unix seconds.  SIGTERM or SIGINT stops after the current polls; what was read is\n"
          "flushed to storage and the status file written before exit.\n",
          out);
}

static int parse_time(const char *what, const char *s, const siteconf_t *cfg, int64_t *t)
{
    if (wa_time_parse(s, cfg->timezone, t) == 0)
        return 0;
    fprintf(stderr, "wattaudit collect: %s \"%s\" is not a time\n", what, s);
    return -1;
}

int cli_collect(int argc, char **argv)
{
    static const struct option longs[] = {{"config", required_argument, NULL, 'c'},
                                          {"profiles", required_argument, NULL, 'p'},
                                          {"status", required_argument, NULL, 's'},
                                          {"clock", required_argument, NULL, 'k'},
                                          {"from", required_argument, NULL, 'f'},
                                          {"until", required_argument, NULL, 'u'},
                                          {"verbose", no_argument, NULL, 'v'},
                                          {"quiet", no_argument, NULL, 'q'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *config = NULL, *status = NULL, *clock_file = NULL, *from_s = NULL,
               *until_s = NULL, *dirs[MAX_PROFILE_DIRS];
    size_t n_dirs = 0;
    wa_log_t log = {stderr, WA_LOG_INFO};
    siteconf_t *cfg = NULL;
    profile_set_t *ps = NULL;
    wa_clock_t *clk = NULL;
    collect_opts_t o = {0};
    collect_result_t res = {0};
    char err[1024];
    int opt, rc = 1;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:p:s:k:f:u:vqh", longs, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'p':
            if (n_dirs == MAX_PROFILE_DIRS) {
                fprintf(stderr, "wattaudit collect: at most %d --profiles\n", MAX_PROFILE_DIRS);
                return 2;
            }
            dirs[n_dirs++] = optarg;
            break;
        case 's': status = optarg; break;
        case 'k': clock_file = optarg; break;
        case 'f': from_s = optarg; break;
        case 'u': until_s = optarg; break;
        case 'v': log.level = WA_LOG_DEBUG; break;
        case 'q': log.level = WA_LOG_WARN; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config || optind != argc || !!clock_file != !!from_s) {
        usage(stderr);
        return 2;
    }
    o.stop = cli_stop_flag();
    if (!(cfg = siteconf_load(config, err, sizeof err)) ||
        !(ps = cli_load_profiles(cfg, dirs, n_dirs, err, sizeof err))) {
        fprintf(stderr, "wattaudit collect: %s\n", err);
        goto out;
    }
    if (until_s) {
        int64_t t;
        if (parse_time("--until", until_s, cfg, &t) != 0) {
            rc = 2;
            goto out;
        }
        o.until = (double)t;
    }
    if (clock_file) {
        int64_t t0;
        if (parse_time("--from", from_s, cfg, &t0) != 0) {
            rc = 2;
            goto out;
        }
        if (until_s && o.until <= (double)t0) {
            fprintf(stderr, "wattaudit collect: --until must be after --from\n");
            rc = 2;
            goto out;
        }
        if (!(clk = wa_clock_create_stepped(clock_file, t0))) {
            fprintf(stderr, "wattaudit collect: clock %s: %s\n", clock_file, wa_strerror(errno));
            goto out;
        }
    }
    o.log = &log;
    o.clock = clk;
    o.status_file = status;
    if (collect_run(cfg, ps, &o, &res, err, sizeof err) != 0) {
        fprintf(stderr, "wattaudit collect: %s\n", err);
        goto out;
    }
    wa_log(&log, WA_LOG_INFO, "stopped: %llu samples stored, %llu Modbus requests, %llu cycles",
           (unsigned long long)res.stored, (unsigned long long)res.transactions,
           (unsigned long long)res.cycles);
    rc = 0;
out:
    free(res.devices);
    wa_clock_close(clk);
    profile_set_free(ps);
    siteconf_free(cfg);
    return rc;
}
