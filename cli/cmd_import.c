/* wattaudit import: loads interval data from a CSV export into a channel's RRD file, or a
 * host's utilisation into its host file (docs/import.md).  All or nothing: a bad row refuses
 * the file unless --skip-bad. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cli/cli.h"
#include "common/common.h"

static void usage(FILE *out)
{
    fputs("usage: wattaudit import --data DIR --channel SITE/DEVICE/CHANNEL [--tz ZONE]\n"
          "                        [--unit kW|W|kWh|Wh] [--column NAME|N] [--step S]\n"
          "                        [--stamp start|end] [--skip-bad] [--replace] FILE.csv\n"
          "       wattaudit import --data DIR --host SITE/HOST --source cpu|gpu\n"
          "                        [--unit percent|fraction] [the options above] FILE.csv\n"
          "  --data DIR        the data folder `wattaudit analyze --data` reads\n"
          "  --channel ID      the file made: DIR/ID.rrd (refused if it exists, unless --replace)\n"
          "  --host SITE/HOST  a host's utilisation, for the correlation (docs/correlate.md):\n"
          "                    into DIR/SITE/hosts/HOST.rrd; its other data sources are kept\n"
          "  --source S        cpu or gpu: the data source it fills (refused if it has data\n"
          "                    there, unless --replace)\n"
          "  --unit percent|fraction  a utilisation's unit (0..100 or 0..1; default: \"%\" in\n"
          "                    the column's header); values outside are bad rows\n"
          "  --tz ZONE         zone of times without an offset (default: TZ)\n"
          "  --unit U          kW or W (mean power), kWh or Wh (energy per interval); default:\n"
          "                    from the value column's header (\"Main Meter [kW]\")\n"
          "  --column C        the value column, by header name or number (the time is 1);\n"
          "                    default: the only one, else the one named like power or energy\n"
          "  --step S          interval in seconds (default: the most common time difference;\n"
          "                    a day per row with 96 values means 900)\n"
          "  --stamp start|end whether a row's time starts (default) or ends its interval\n"
          "  --skip-bad        report bad rows and import the rest (default: refuse the file)\n"
          "Formats: \"time,value[,...]\" rows, or a date and 24, 48 or 96 values a day (the\n"
          "96-point load curve).  Bad rows are reported as FILE:LINE: what.\n",
          out);
}

int cli_import(int argc, char **argv)
{
    static const struct option longs[] = {{"data", required_argument, NULL, 'd'},
                                          {"channel", required_argument, NULL, 'c'},
                                          {"tz", required_argument, NULL, 'z'},
                                          {"unit", required_argument, NULL, 'u'},
                                          {"column", required_argument, NULL, 'k'},
                                          {"step", required_argument, NULL, 's'},
                                          {"stamp", required_argument, NULL, 't'},
                                          {"skip-bad", no_argument, NULL, 'b'},
                                          {"replace", no_argument, NULL, 'r'},
                                          {"host", required_argument, NULL, 'H'},
                                          {"source", required_argument, NULL, 'S'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *data = NULL, *channel = NULL, *host = NULL;
    int replace = 0, opt;
    an_import_opts_t o = {.warn = stderr};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (opt) {
        case 'd':
            data = optarg;
            break;
        case 'c':
            channel = optarg;
            break;
        case 'z':
            o.tz = optarg;
            break;
        case 'u':
            if (an_unit_parse(optarg, &o.unit) < 0) {
                fprintf(stderr,
                        "wattaudit import: --unit is kW, W, kWh or Wh (a host's: percent or "
                        "fraction), not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'H':
            host = optarg;
            break;
        case 'S':
            if (strcmp(optarg, "cpu") != 0 && strcmp(optarg, "gpu") != 0) {
                fprintf(stderr, "wattaudit import: --source is cpu or gpu\n");
                return 2;
            }
            o.util_source = optarg;
            break;
        case 'k':
            o.column = optarg;
            break;
        case 's': {
            char *end;
            long s = strtol(optarg, &end, 10);
            if (*end || s < 1 || s > 86400) {
                fprintf(stderr, "wattaudit import: --step is 1 to 86400 seconds\n");
                return 2;
            }
            o.step = (int)s;
            break;
        }
        case 't':
            if (strcmp(optarg, "start") != 0 && strcmp(optarg, "end") != 0) {
                fprintf(stderr, "wattaudit import: --stamp is start or end\n");
                return 2;
            }
            o.stamp_end = strcmp(optarg, "end") == 0;
            break;
        case 'b':
            o.skip_bad = 1;
            break;
        case 'r':
            replace = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!data || !channel == !host || !host != !o.util_source || optind != argc - 1) {
        if (host && !o.util_source)
            fprintf(stderr, "wattaudit import: --host needs --source cpu or gpu\n");
        else if (o.util_source && !host)
            fprintf(stderr, "wattaudit import: --source goes with --host\n");
        usage(stderr);
        return 2;
    }
    char err[1024], where[600];
    an_import_series_t st;
    if (host) {
        const char *sl = strchr(host, '/');
        snprintf(where, sizeof where, "%s/%.*s/hosts/%s.rrd (%s)", data, sl ? (int)(sl - host) : 0,
                 host, sl ? sl + 1 : host, o.util_source);
    } else {
        snprintf(where, sizeof where, "%s/%s.rrd", data, channel);
    }
    if ((host ? an_import_host_file(argv[optind], data, host, replace, &o, &st, err, sizeof err)
              : an_import_file(argv[optind], data, channel, replace, &o, &st, err, sizeof err)) <
        0) {
        fprintf(stderr, "wattaudit import: %s\n", err);
        return 1;
    }
    char a[32], b[32];
    printf("%s: %zu rows (%s, %s, column %s) into %s: %zu steps of %d s from %s to %s UTC",
           argv[optind], st.rows, st.wide ? "a day per row" : "a time per row",
           an_unit_name(st.unit), st.column[0] ? st.column : "-", where, st.n, st.step,
           wa_time_format(st.start, "UTC", a, sizeof a),
           wa_time_format(st.start + (int64_t)st.n * st.step, "UTC", b, sizeof b));
    if (st.n > st.rows)
        printf("; %zu steps have no row and stay unknown", st.n - st.rows);
    if (st.bad_rows)
        printf("; %zu bad rows skipped", st.bad_rows);
    printf("\n");
    return 0;
}
