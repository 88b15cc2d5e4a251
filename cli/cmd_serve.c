/* wattaudit serve: the dashboard (docs/dashboard.md).  Parses arguments and calls dash_serve. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/common.h"
#include "dashboard/dashboard.h"

const char *cli_www_dir(void)
{
    struct stat sb;
    /* An installed binary serves the installed pages; one run from the build tree, the source's. */
    return stat(WA_DASH_WWW_DIR "/index.html", &sb) == 0 ? WA_DASH_WWW_DIR : WA_SOURCE_WWW_DIR;
}

static void usage(FILE *out)
{
    fputs("usage: wattaudit serve (--config FILE [--data DIR] | --data DIR) --users FILE\n"
          "                       [--port N] [--bind ADDR] [--status FILE] [--www DIR]\n"
          "                       [--tls-cert PEM --tls-key PEM] [--factors PRESET] [--tz ZONE]\n"
          "                       [--refresh S] [--log FILE | -q]\n"
          "  --config FILE     sites, channels and the status file from a site config\n"
          "  --data DIR        the RRD folder (overrides the config's storage.data_dir)\n"
          "  --users FILE      users and password hashes (`wattaudit useradd`)\n"
          "  --port N          TCP port (default 8080; 0 = any free one)\n"
          "  --bind ADDR       address to listen on (default 127.0.0.1)\n"
          "  --status FILE     the collector's status file (default: the config's)\n"
          "  --www DIR         the pages (default: the installed ones)\n"
          "  --tls-cert, --tls-key  serve HTTPS only, with these PEM files\n"
          "  --factors PRESET  default factor preset (default cn-grid-2022)\n"
          "  --refresh S       look for new data every S seconds (default 30)\n"
          "  --log FILE        request log (default: standard error); -q: none\n"
          "Runs until SIGTERM or SIGINT.\n",
          out);
}

int cli_serve(int argc, char **argv)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},  {"data", required_argument, NULL, 'd'},
        {"users", required_argument, NULL, 'u'},   {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},    {"status", required_argument, NULL, 's'},
        {"www", required_argument, NULL, 'w'},     {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'}, {"factors", required_argument, NULL, 'f'},
        {"tz", required_argument, NULL, 'z'},      {"refresh", required_argument, NULL, 'r'},
        {"log", required_argument, NULL, 'l'},     {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    dash_opts_t o = {.port = 8080, .log = stderr};
    const char *config = NULL, *log_path = NULL;
    int opt, quiet = 0;
    char *end;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "qh", longs, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'd':
            o.data_dir = optarg;
            break;
        case 'u':
            o.users_file = optarg;
            break;
        case 'p':
            o.port = (int)strtol(optarg, &end, 10);
            if (*end || !*optarg || o.port < 0 || o.port > 65535) {
                fprintf(stderr, "wattaudit serve: --port %s: not a port number\n", optarg);
                return 2;
            }
            break;
        case 'b':
            o.bind = optarg;
            break;
        case 's':
            o.status_file = optarg;
            break;
        case 'w':
            o.www_dir = optarg;
            break;
        case 'C':
            o.tls_cert = optarg;
            break;
        case 'K':
            o.tls_key = optarg;
            break;
        case 'f':
            o.factors = optarg;
            break;
        case 'z':
            o.tz = optarg;
            break;
        case 'r':
            o.refresh_s = (int)strtol(optarg, &end, 10);
            if (*end || o.refresh_s < 1) {
                fprintf(stderr, "wattaudit serve: --refresh %s: seconds, at least 1\n", optarg);
                return 2;
            }
            break;
        case 'l':
            log_path = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || (!config && !o.data_dir) || !o.users_file || !o.tls_cert != !o.tls_key) {
        usage(stderr);
        return 2;
    }
    char err[1024];
    siteconf_t *cfg = NULL;
    if (config && !(cfg = siteconf_load(config, err, sizeof err))) {
        fprintf(stderr, "wattaudit serve: %s\n", err);
        return 1;
    }
    o.cfg = cfg;
    if (!o.www_dir)
        o.www_dir = cli_www_dir();
    FILE *log = NULL;
    if (quiet)
        o.log = NULL;
    else if (log_path && !(o.log = log = fopen(log_path, "a"))) {
        fprintf(stderr, "wattaudit serve: %s: %s\n", log_path, strerror(errno));
        siteconf_free(cfg);
        return 1;
    }
    int rc = dash_serve(&o, cli_stop_flag(), stdout, err, sizeof err) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "wattaudit serve: %s\n", err);
    if (log)
        fclose(log);
    siteconf_free(cfg);
    return rc;
}
