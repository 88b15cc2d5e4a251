/* wattaudit report: the reporting officer's savings statement (docs/report.md), optionally
 * scaled up to a population of units with a ratio estimate and a bootstrap interval. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cli/cli.h"
#include "common/common.h"

#define MAX_SITE_UNITS 256

/* The correlation's options, as `analyze` takes them (cmd_analyze.c). */
enum { OPT_REF_FROM = 1100, OPT_REF_TO, OPT_CORR_STEP };
#define DEFAULT_SEED 20210924UL /* any fixed value: the same statement on every run */

static void usage(FILE *out)
{
    fputs("usage: wattaudit report (--config FILE | --data DIR) [analyze's window and factors]\n"
          "                        [--format md|html|csv|json] [--title TEXT] [--out FILE]\n"
          "                        [--population N [--units-name TEXT] [--site-units SITE=N]...\n"
          "                         [--replicates B] [--seed S] [--level 0.95]]\n"
          "                        [--ref-from TIME] [--ref-to TIME] [--corr-step S]\n",
          out);
    cli_analysis_usage(out);
    fputs("  --ref-from, --ref-to, --corr-step   the correlation's reference period and grid,\n"
          "                    as `wattaudit analyze` takes them\n",
          out);
    fputs("  --format F        md (Markdown, default), html, csv or json\n"
          "  --population N    scale the audited sites up to N units (flagged IP addresses,\n"
          "                    buildings...): ratio estimate with a bootstrap interval\n"
          "  --units-name TEXT what the units are, for the statement (\"flagged IP addresses\")\n"
          "  --site-units S=N  site S stands for N units (default 1 each; repeatable)\n"
          "  --replicates B    bootstrap resamples (default 10000)\n"
          "  --seed S          the generator's seed (default fixed: reruns give the same figures)\n"
          "  --level L         interval level (default 0.95)\n",
          out);
}

struct site_units {
    const char *site;
    double n;
};

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0 && isfinite(*out) ? 0 : -1;
}

int cli_report(int argc, char **argv)
{
    static const struct option longs[] = {{"config", required_argument, NULL, CLI_AN_CONFIG},
                                          {"data", required_argument, NULL, CLI_AN_DATA},
                                          {"from", required_argument, NULL, CLI_AN_FROM},
                                          {"to", required_argument, NULL, CLI_AN_TO},
                                          {"factors", required_argument, NULL, CLI_AN_FACTORS},
                                          {"tz", required_argument, NULL, CLI_AN_TZ},
                                          {"rrdcached", required_argument, NULL, CLI_AN_RRDCACHED},
                                          {"format", required_argument, NULL, 'f'},
                                          {"title", required_argument, NULL, 't'},
                                          {"out", required_argument, NULL, 'o'},
                                          {"population", required_argument, NULL, 'p'},
                                          {"units-name", required_argument, NULL, 'w'},
                                          {"site-units", required_argument, NULL, 'u'},
                                          {"replicates", required_argument, NULL, 'b'},
                                          {"seed", required_argument, NULL, 's'},
                                          {"level", required_argument, NULL, 'l'},
                                          {"ref-from", required_argument, NULL, OPT_REF_FROM},
                                          {"ref-to", required_argument, NULL, OPT_REF_TO},
                                          {"corr-step", required_argument, NULL, OPT_CORR_STEP},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *ref_from = NULL, *ref_to = NULL;
    double corr_step = 0;
    cli_analysis_args_t a = {0};
    an_report_opts_t ro = {.format = AN_REPORT_MARKDOWN};
    struct site_units su[MAX_SITE_UNITS];
    size_t n_su = 0;
    const char *out_path = NULL;
    double population = 0, level = 0.95, num;
    unsigned long seed = DEFAULT_SEED;
    unsigned replicates = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:o:h", longs, NULL)) != -1) {
        if (cli_analysis_option(&a, opt, optarg))
            continue;
        switch (opt) {
        case 'f':
            if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0)
                ro.format = AN_REPORT_MARKDOWN;
            else if (strcmp(optarg, "html") == 0)
                ro.format = AN_REPORT_HTML;
            else if (strcmp(optarg, "csv") == 0)
                ro.format = AN_REPORT_CSV;
            else if (strcmp(optarg, "json") == 0)
                ro.format = AN_REPORT_JSON;
            else {
                fprintf(stderr, "wattaudit report: --format is md, html, csv or json\n");
                return 2;
            }
            break;
        case 't':
            ro.title = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'p':
            if (parse_double(optarg, &population) < 0 || population <= 0) {
                fprintf(stderr, "wattaudit report: --population is a count above 0\n");
                return 2;
            }
            break;
        case 'w':
            ro.population_what = optarg;
            break;
        case 'u': {
            char *eq = strrchr(optarg, '=');
            if (!eq || n_su == MAX_SITE_UNITS || parse_double(eq + 1, &num) < 0 || num < 0) {
                fprintf(stderr, "wattaudit report: --site-units is SITE=N\n");
                return 2;
            }
            *eq = '\0';
            su[n_su++] = (struct site_units){optarg, num};
            break;
        }
        case 'b':
            if (parse_double(optarg, &num) < 0 || num < 100 || num > 1e7) {
                fprintf(stderr, "wattaudit report: --replicates is 100 to 10000000\n");
                return 2;
            }
            replicates = (unsigned)num;
            break;
        case 's':
            if (parse_double(optarg, &num) < 0 || num < 0) {
                fprintf(stderr, "wattaudit report: --seed is a whole number\n");
                return 2;
            }
            seed = (unsigned long)num;
            break;
        case 'l':
            if (parse_double(optarg, &level) < 0 || level <= 0 || level >= 1) {
                fprintf(stderr, "wattaudit report: --level is between 0 and 1\n");
                return 2;
            }
            break;
        case OPT_REF_FROM:
            ref_from = optarg;
            break;
        case OPT_REF_TO:
            ref_to = optarg;
            break;
        case OPT_CORR_STEP:
            if (parse_double(optarg, &corr_step) < 0 || corr_step < 1 || corr_step > 86400 ||
                corr_step != floor(corr_step)) {
                fprintf(stderr, "wattaudit report: --corr-step is 1 to 86400 seconds\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wattaudit report: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    an_run_opts_t o;
    siteconf_t *cfg;
    int rc = cli_analysis_prepare("report", &a, &o, &cfg);
    if (rc)
        return rc == 3 ? 0 : rc;
    const char *tz = a.tz ? a.tz : cfg ? cfg->timezone : NULL;
    if ((ref_from && wa_time_parse(ref_from, tz, &o.ref_from) < 0) ||
        (ref_to && wa_time_parse(ref_to, tz, &o.ref_to) < 0) ||
        (o.ref_from && o.ref_to && o.ref_from >= o.ref_to)) {
        fprintf(stderr, "wattaudit report: --ref-from and --ref-to are times, from before to\n");
        siteconf_free(cfg);
        return 2;
    }
    o.corr_step = (int)corr_step;
    char err[1024];
    an_result_t r;
    if (an_collect(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "wattaudit report: %s\n", err);
        siteconf_free(cfg);
        return 1;
    }
    an_scale_t sc;
    rc = 0;
    if (population > 0) {
        double *y = calloc(r.n_sites ? r.n_sites : 1, sizeof *y);
        double *x = calloc(r.n_sites ? r.n_sites : 1, sizeof *x);
        for (size_t s = 0; y && x && s < r.n_sites; s++) {
            y[s] = r.sites[s].savings.kwh_per_day;
            x[s] = 1;
            for (size_t k = 0; k < n_su; k++)
                if (strcmp(su[k].site, r.sites[s].id) == 0)
                    x[s] = su[k].n;
        }
        for (size_t k = 0; k < n_su; k++) {
            int known = 0;
            for (size_t s = 0; s < r.n_sites; s++)
                known |= strcmp(su[k].site, r.sites[s].id) == 0;
            if (!known) {
                fprintf(stderr, "wattaudit report: --site-units names no site '%s'\n", su[k].site);
                rc = 2;
            }
        }
        if (rc == 0 &&
            (!y || !x ||
             an_scale_ratio(y, x, r.n_sites, population, replicates, seed, level, &sc) < 0)) {
            fprintf(stderr,
                    "wattaudit report: cannot scale up: it needs at least 2 audited sites with "
                    "units (%zu sites here)\n",
                    r.n_sites);
            rc = 1;
        }
        free(y);
        free(x);
        ro.scale = rc == 0 ? &sc : NULL;
    }
    FILE *out = NULL;
    if (rc == 0) {
        out = out_path ? fopen(out_path, "w") : stdout;
        if (!out) {
            fprintf(stderr, "wattaudit report: %s: %s\n", out_path, strerror(errno));
            rc = 1;
        }
    }
    if (rc == 0 && an_report_write(&r, &ro, out, err, sizeof err) < 0) {
        fprintf(stderr, "wattaudit report: %s\n", err);
        rc = 1;
    }
    if (out && out != stdout && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "wattaudit report: %s: %s\n", out_path, strerror(errno));
        rc = 1;
    }
    an_result_free(&r);
    siteconf_free(cfg);
    return rc;
}
