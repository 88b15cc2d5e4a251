/* wattaudit analyze: reads the channels' RRD files, finds unexplained loads and states their
 * energy, standard coal, CO2 and savings (docs/analysis.md, docs/analysis-json.md).  The
 * options it shares with `wattaudit report` are parsed here too. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cli/cli.h"
#include "common/common.h"

#define DEFAULT_FACTORS "cn-grid-2022"

void cli_analysis_usage(FILE *out)
{
    fputs("  --config FILE     sites and channels from a site config (docs/config.md)\n"
          "  --data DIR        or: each folder of DIR is a site, each .rrd below it a channel\n"
          "                    (files of `wattaudit collect`, collectd's rrdtool plugin, or\n"
          "                    `wattaudit import`)\n"
          "  --from TIME       start of the window (default: 28 days before --to)\n"
          "  --to TIME         end of the window (default: the newest data)\n"
          "  --factors SPEC    a preset (" DEFAULT_FACTORS " by default; `--factors list` shows\n"
          "                    them), with \",tariff=0.65,currency=CNY\" for a cost, or\n"
          "                    \"custom,kgce=..,kgco2=..,source=..\" (docs/factors.md)\n"
          "  --tz ZONE         zone for TIME and for sites without one (default: the config's,\n"
          "                    else TZ)\n"
          "  --rrdcached ADDR  flush files through this rrdcached before reading\n"
          "TIME is \"2026-11-02T14:00\", with \"Z\" or \"+08:00\", or Unix seconds.\n",
          out);
}

static void list_factors(FILE *out)
{
    size_t n;
    const an_factors_t *p = an_factors_presets(&n);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-18s %6.4f kgce/kWh  %6.4f kg CO2/kWh  %s\n", p[i].name, p[i].kgce_per_kwh,
                p[i].kgco2_per_kwh, p[i].source);
}

int cli_analysis_option(cli_analysis_args_t *a, int opt, const char *arg)
{
    switch (opt) {
    case CLI_AN_CONFIG:
        a->config = arg;
        return 1;
    case CLI_AN_DATA:
        a->data = arg;
        return 1;
    case CLI_AN_FROM:
        a->from = arg;
        return 1;
    case CLI_AN_TO:
        a->to = arg;
        return 1;
    case CLI_AN_FACTORS:
        a->factors = arg;
        return 1;
    case CLI_AN_TZ:
        a->tz = arg;
        return 1;
    case CLI_AN_RRDCACHED:
        a->rrdcached = arg;
        return 1;
    default:
        return 0;
    }
}

int cli_analysis_prepare(const char *cmd, const cli_analysis_args_t *a, an_run_opts_t *o,
                         siteconf_t **cfg)
{
    char err[1024];
    *cfg = NULL;
    memset(o, 0, sizeof *o);
    if (a->factors && strcmp(a->factors, "list") == 0) {
        list_factors(stdout);
        return 3;
    }
    if (!a->config == !a->data) {
        fprintf(stderr, "wattaudit %s: give --config FILE or --data DIR (one of them)\n", cmd);
        return 2;
    }
    if (a->config && !(*cfg = siteconf_load(a->config, err, sizeof err))) {
        fprintf(stderr, "wattaudit %s: %s\n", cmd, err);
        return 1;
    }
    const char *tz = a->tz ? a->tz : *cfg ? (*cfg)->timezone : NULL;
    if (a->from && wa_time_parse(a->from, tz, &o->from) < 0) {
        fprintf(stderr, "wattaudit %s: --from \"%s\" is not a time\n", cmd, a->from);
        goto usage;
    }
    if (a->to && wa_time_parse(a->to, tz, &o->to) < 0) {
        fprintf(stderr, "wattaudit %s: --to \"%s\" is not a time\n", cmd, a->to);
        goto usage;
    }
    if (an_factors_parse(a->factors ? a->factors : DEFAULT_FACTORS, &o->factors, err, sizeof err) <
        0) {
        fprintf(stderr, "wattaudit %s: %s\n", cmd, err);
        goto usage;
    }
    o->cfg = *cfg;
    o->data_dir = a->data;
    o->rrdcached = a->rrdcached;
    o->channel.tz = tz;
    o->warn = stderr;
    return 0;
usage:
    siteconf_free(*cfg);
    *cfg = NULL;
    return 2;
}

/* The correlation's options, which `report` takes too (cmd_report.c has the same few lines:
 * cli.h, where shared options live, is not this file's to change). */
enum { OPT_REF_FROM = 1100, OPT_REF_TO, OPT_CORR_STEP };

static void usage(FILE *out)
{
    fputs("usage: wattaudit analyze (--config FILE | --data DIR) [--from TIME] [--to TIME]\n"
          "                         [--factors SPEC] [--format text|json|csv] [--tz ZONE]\n"
          "                         [--rrdcached ADDR] [--out FILE]\n"
          "                         [--ref-from TIME] [--ref-to TIME] [--corr-step S]\n",
          out);
    cli_analysis_usage(out);
    fputs("  --ref-from TIME   start of the correlation's reference period, in which the hosts'\n"
          "                    load is fitted to their circuit's power (default: the window's\n"
          "                    start; docs/correlate.md)\n"
          "  --ref-to TIME     its end (default: 7 days after its start)\n"
          "  --corr-step S     the correlation's grid step in seconds (default: 1 h, or 5 min for\n"
          "                    circuits with many hosts)\n",
          out);
    fputs("  --format F        text (default), json (docs/analysis-json.md) or csv\n"
          "  --out FILE        write there instead of standard output\n"
          "Files that cannot be used are named in a warning on standard error and skipped.\n",
          out);
}

int cli_analyze(int argc, char **argv)
{
    static const struct option longs[] = {{"config", required_argument, NULL, CLI_AN_CONFIG},
                                          {"data", required_argument, NULL, CLI_AN_DATA},
                                          {"from", required_argument, NULL, CLI_AN_FROM},
                                          {"to", required_argument, NULL, CLI_AN_TO},
                                          {"factors", required_argument, NULL, CLI_AN_FACTORS},
                                          {"tz", required_argument, NULL, CLI_AN_TZ},
                                          {"rrdcached", required_argument, NULL, CLI_AN_RRDCACHED},
                                          {"format", required_argument, NULL, 'f'},
                                          {"out", required_argument, NULL, 'o'},
                                          {"ref-from", required_argument, NULL, OPT_REF_FROM},
                                          {"ref-to", required_argument, NULL, OPT_REF_TO},
                                          {"corr-step", required_argument, NULL, OPT_CORR_STEP},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    cli_analysis_args_t a = {0};
    const char *format = "text", *out_path = NULL, *ref_from = NULL, *ref_to = NULL;
    long corr_step = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:o:h", longs, NULL)) != -1) {
        if (cli_analysis_option(&a, opt, optarg))
            continue;
        switch (opt) {
        case 'f':
            format = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case OPT_REF_FROM:
            ref_from = optarg;
            break;
        case OPT_REF_TO:
            ref_to = optarg;
            break;
        case OPT_CORR_STEP: {
            char *end;
            corr_step = strtol(optarg, &end, 10);
            if (*end || corr_step < 1 || corr_step > 86400) {
                fprintf(stderr, "wattaudit analyze: --corr-step is 1 to 86400 seconds\n");
                return 2;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wattaudit analyze: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    an_format_t fmt;
    if (strcmp(format, "text") == 0)
        fmt = AN_FMT_TEXT;
    else if (strcmp(format, "json") == 0)
        fmt = AN_FMT_JSON;
    else if (strcmp(format, "csv") == 0)
        fmt = AN_FMT_CSV;
    else {
        fprintf(stderr, "wattaudit analyze: --format is text, json or csv, not '%s'\n", format);
        return 2;
    }
    an_run_opts_t o;
    siteconf_t *cfg;
    int rc = cli_analysis_prepare("analyze", &a, &o, &cfg);
    if (rc)
        return rc == 3 ? 0 : rc;
    const char *tz = a.tz ? a.tz : cfg ? cfg->timezone : NULL;
    if ((ref_from && wa_time_parse(ref_from, tz, &o.ref_from) < 0) ||
        (ref_to && wa_time_parse(ref_to, tz, &o.ref_to) < 0) ||
        (o.ref_from && o.ref_to && o.ref_from >= o.ref_to)) {
        fprintf(stderr, "wattaudit analyze: --ref-from and --ref-to are times, from before to\n");
        siteconf_free(cfg);
        return 2;
    }
    o.corr_step = (int)corr_step;
    o.format = fmt;
    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    char err[1024];
    if (!out) {
        fprintf(stderr, "wattaudit analyze: %s: %s\n", out_path, strerror(errno));
        siteconf_free(cfg);
        return 1;
    }
    rc = an_run(&o, out, err, sizeof err) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "wattaudit analyze: %s\n", err);
    if (out != stdout && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "wattaudit analyze: %s: %s\n", out_path, strerror(errno));
        rc = 1;
    }
    siteconf_free(cfg);
    return rc;
}
