/*
 * The correlation through the site layer (docs/correlate.md): real RRD files written through
 * storage/ (channel files and host files, DATA/<site>/hosts/<host>.rrd), a site config with
 * its inventory, a Slurm export, a jobs schedule and the flagged addresses; an_collect() over
 * them, then the text, JSON (parsed with cJSON), CSV and the report.
 *
 * The site, 21 days at 5 min from Monday 2026-11-02 00:00 UTC (reference: the first 7):
 *   pdu/o1  gpu01, gpu02: research nodes; Slurm job 4410 runs both from day 9 to day 19
 *   pdu/o2  srv0, srv1: office-hours servers, and a 1,200 W rig with no host from day 10 10:00
 *   pdu/o3  gpu07 (GPU at full load day and night from day 11, no job; its file at 15 min)
 *           and a web server
 *   pdu/inlet  the three outlets together
 *   dist/l1 pc0..pc4: office PCs busy outside working hours from day 9; a CAD workstation busy
 *           by day; a printer with no file
 * and five flagged addresses, one on each circuit and one no host has.
 */
/* nftw() is XSI */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analysis/analysis.h"
#include "common/common.h"
#include "siteconf/siteconf.h"
#include "storage/storage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STEP 300
#define DAYS 21
#define N ((size_t)DAYS * 86400 / STEP)
/* Monday 2026-11-02 00:00 UTC: weekends are days 5-6, 12-13 and 19-20. */
#define T0 INT64_C(1793577600)
#define DAY(d) (T0 + (int64_t)(d)*86400)
#define RIG_FROM (DAY(10) + 10 * 3600)
#define RIG_W 1200.0
#define MINING_FROM DAY(9)
#define GPU07_FROM DAY(11) /* two days after job 4410 began, so that the inlet sees two steps */

/* ---- fixtures ---- */

struct fx {
    char dir[64];
    char data[128];
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Deterministic noise, so that every run sees the same files. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int64_t t_of(size_t i)
{
    return T0 + (int64_t)(i + 1) * STEP; /* the end of step i: RRD's stamp */
}
static int weekend(int64_t t)
{
    int d = (int)((t - 1 - T0) / 86400) % 7;
    return d == 5 || d == 6;
}
static int hour(int64_t t)
{
    return (int)(((t - 1 - T0) % 86400) / 3600);
}
static int workhours(int64_t t)
{
    return !weekend(t) && hour(t) >= 8 && hour(t) < 18;
}
static double office_day(int64_t t)
{
    return workhours(t) ? 0.2 + 0.5 * urand() : 0.02 + 0.02 * urand();
}

typedef struct host_spec {
    const char *id;
    const char *circuit; /* index into the channel rels below */
    int step;            /* of its file; 0 = no file */
    double idle, slope;
    int gpu; /* its load is on the GPU (its CPU stays light) */
} host_spec_t;

static const host_spec_t hosts[] = {
    {"gpu01", "pdu/o1", STEP, 200, 800, 1}, {"gpu02", "pdu/o1", STEP, 200, 800, 1},
    {"srv0", "pdu/o2", STEP, 150, 250, 0},  {"srv1", "pdu/o2", STEP, 150, 250, 0},
    {"gpu07", "pdu/o3", 900, 180, 900, 1},  {"web", "pdu/o3", STEP, 120, 200, 0},
    {"pc0", "dist/l1", STEP, 40, 100, 0},   {"pc1", "dist/l1", STEP, 40, 100, 0},
    {"pc2", "dist/l1", STEP, 40, 100, 0},   {"pc3", "dist/l1", STEP, 40, 100, 0},
    {"pc4", "dist/l1", STEP, 40, 100, 0},   {"cad", "dist/l1", STEP, 300, 2000, 0},
    {"printer", "dist/l1", 0, 30, 0, 0},
};
#define NH (sizeof hosts / sizeof hosts[0])
static const char *const circuits[] = {"pdu/o1", "pdu/o2", "pdu/o3", "dist/l1"};
#define NC 4

/* Slurm job 4410: both research nodes, days 9 to 19.  The short jobs in the first week give
 * the fit their slopes. */
static const struct {
    const char *id, *nodes;
    int64_t from, to;
} jobs[] = {
    {"4401", "gpu01,gpu02", DAY(1) + 10 * 3600, DAY(1) + 16 * 3600},
    {"4402", "gpu01", DAY(3) + 8 * 3600, DAY(3) + 20 * 3600},
    {"4403", "gpu02", DAY(4) + 8 * 3600, DAY(4) + 20 * 3600},
    {"R-77", "gpu02", DAY(2) + 9 * 3600, DAY(2) + 18 * 3600},
    {"4410", "gpu01,gpu02", DAY(9), DAY(19)},
};

/* Host k's utilisation over the step ending at t. */
static double util(size_t k, int64_t t)
{
    const char *id = hosts[k].id;
    if (!strncmp(id, "gpu0", 4) && (id[4] == '1' || id[4] == '2')) {
        for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++)
            if (t > jobs[j].from && t <= jobs[j].to && strstr(jobs[j].nodes, id))
                return 0.95 + 0.05 * urand();
        return 0.03 * urand();
    }
    if (!strcmp(id, "gpu07"))
        return t > GPU07_FROM ? 0.97 + 0.03 * urand()
                              : (workhours(t) && urand() < 0.5 ? 0.3 + 0.3 * urand() : 0.02);
    if (!strncmp(id, "pc", 2))
        return t > MINING_FROM && !workhours(t) ? 0.95 + 0.05 * urand() : office_day(t);
    if (!strcmp(id, "printer"))
        return 0;
    return office_day(t);
}

static void write_files(const char *data)
{
    char err[512];
    storage_t *st = storage_open(data, NULL, err, sizeof err);
    if (!st)
        fail_msg("storage_open: %s", err);
    storage_layout_t lay = {.step_s = STEP, .full_days = 30, .no_quality = 1};
    double(*w)[N] = calloc(NC, sizeof *w);
    double *u = malloc(N * sizeof *u);
    assert_non_null(w);
    assert_non_null(u);
    for (size_t k = 0; k < NH; k++) {
        size_t c = 0;
        while (strcmp(circuits[c], hosts[k].circuit))
            c++;
        char rel[128];
        snprintf(rel, sizeof rel, "campus/hosts/%s", hosts[k].id);
        storage_layout_t hl = lay;
        hl.step_s = hosts[k].step ? hosts[k].step : STEP;
        if (hosts[k].step && storage_ensure_host(st, rel, &hl, T0, err, sizeof err) < 0)
            fail_msg("%s: %s", rel, err);
        /* The file's own step: a coarser file holds the mean over its longer step. */
        size_t per = (size_t)hl.step_s / STEP;
        for (size_t i = 0; i < N; i += per) {
            double m = 0;
            for (size_t j = i; j < i + per; j++) {
                u[j] = util(k, t_of(j));
                m += u[j] / (double)per;
            }
            for (size_t j = i; j < i + per; j++) {
                /* A coarse file's value is what the circuit's power follows at its mean. */
                if (per > 1)
                    u[j] = m;
                w[c][j] += hosts[k].idle + hosts[k].slope * u[j];
            }
            if (!hosts[k].step)
                continue;
            storage_sample_t s;
            for (int d = 0; d < STORAGE_DS_COUNT_; d++)
                s.v[d] = NAN;
            s.v[STORAGE_HOST_CPU] = hosts[k].gpu ? 0.05 + 0.3 * m : m;
            if (hosts[k].gpu)
                s.v[STORAGE_HOST_GPU] = m;
            assert_int_equal(storage_put(st, rel, t_of(i + per - 1), &s), 0);
        }
    }
    for (size_t c = 0; c < NC; c++) {
        char rel[128];
        snprintf(rel, sizeof rel, "campus/%s", circuits[c]);
        if (storage_ensure(st, rel, &lay, T0, err, sizeof err) < 0)
            fail_msg("%s: %s", rel, err);
        for (size_t i = 0; i < N; i++) {
            storage_sample_t s;
            for (int d = 0; d < STORAGE_DS_COUNT_; d++)
                s.v[d] = NAN;
            double extra = c == 1 && t_of(i) > RIG_FROM ? RIG_W : 0;
            s.v[STORAGE_DS_POWER] = w[c][i] + extra + 15 * (urand() + urand() - 1.0);
            assert_int_equal(storage_put(st, rel, t_of(i), &s), 0);
        }
    }
    /* The PDU's inlet: its three outlets together (a device's total, fed by its parts). */
    if (storage_ensure(st, "campus/pdu/inlet", &lay, T0, err, sizeof err) < 0)
        fail_msg("inlet: %s", err);
    for (size_t i = 0; i < N; i++) {
        storage_sample_t s;
        for (int d = 0; d < STORAGE_DS_COUNT_; d++)
            s.v[d] = NAN;
        double extra = t_of(i) > RIG_FROM ? RIG_W : 0;
        s.v[STORAGE_DS_POWER] = w[0][i] + w[1][i] + w[2][i] + extra + 20 * (urand() - 0.5);
        assert_int_equal(storage_put(st, "campus/pdu/inlet", t_of(i), &s), 0);
    }
    if (storage_flush(st, err, sizeof err) < 0)
        fail_msg("flush: %s", err);
    storage_stats_t ss;
    storage_get_stats(st, &ss);
    assert_int_equal(ss.failed, 0);
    assert_int_equal(ss.dropped_old, 0);
    storage_close(st);
    free(w);
    free(u);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void write_declarations(const char *dir)
{
    char sacct[2048] = "JobID|User|NodeList|Start|End|State\n", line[256], a[32], b[32];
    char sched[512] = "# research schedule kept by the lab\nJobID|NodeList|Start|End\n";
    for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++) {
        wa_time_format(jobs[j].from, "UTC", a, sizeof a);
        wa_time_format(jobs[j].to, "UTC", b, sizeof b);
        a[10] = b[10] = 'T';
        if (!strcmp(jobs[j].id, "R-77")) {
            snprintf(line, sizeof line, "%s|%s|%s|%s\n", jobs[j].id, jobs[j].nodes, a, b);
            strcat(sched, line);
            continue;
        }
        /* sacct writes node lists in Slurm's range form. */
        snprintf(line, sizeof line, "%s|li|%s|%s|%s|COMPLETED\n%s.batch||gpu01|%s|%s|X\n",
                 jobs[j].id, !strcmp(jobs[j].nodes, "gpu01,gpu02") ? "gpu[01-02]" : jobs[j].nodes,
                 a, b, jobs[j].id, a, b);
        strcat(sacct, line);
    }
    write_text(dir, "sacct.txt", sacct);
    write_text(dir, "jobs.txt", sched);
    write_text(dir, "flagged.csv",
               "# from the provider's monitoring\n"
               "10.0.1.1,2026-11-15T03:00\n"
               "10.0.2.1,2026-11-16T02:30\n"
               "10.0.3.7,2026-11-14T04:00\n"
               "10.0.4.3,2026-11-14T23:00\n"
               "203.0.113.9,2026-11-15T01:00\n");
}

static char *config_text(const char *dir, const char *data)
{
    char *c = malloc(8192);
    assert_non_null(c);
    int n =
        snprintf(c, 8192,
                 "timezone = \"UTC\";\n"
                 "storage = { data_dir = \"%s\"; };\n"
                 "sites = ( { id = \"campus\"; name = \"Engineering\";\n"
                 "  jobs_file = \"%s/jobs.txt\"; slurm_file = \"%s/sacct.txt\";\n"
                 "  flagged_ips_file = \"%s/flagged.csv\";\n"
                 "  buses = ( { id = \"gw\"; tcp = \"127.0.0.1:1502\"; devices = (\n"
                 "    { id = \"pdu\"; unit = 1; profile = \"netio-powerpdu-8ks\"; channels = (\n"
                 "      { id = \"o1\"; name = \"GPU research\"; }, { id = \"o2\"; name = "
                 "\"servers\"; },\n"
                 "      { id = \"o3\"; name = \"gpu07 and web\"; },\n"
                 "      { id = \"inlet\"; name = \"PDU inlet\"; } ); },\n"
                 "    { id = \"dist\"; unit = 2; profile = \"netio-powerpdu-8ks\"; channels = (\n"
                 "      { id = \"l1\"; name = \"office floor 1\"; } ); } ); } );\n"
                 "  hosts = (\n",
                 data, dir, dir, dir);
    for (size_t k = 0; k < NH; k++) {
        const char *ip = !strcmp(hosts[k].id, "gpu01")   ? "10.0.1.1"
                         : !strcmp(hosts[k].id, "srv0")  ? "10.0.2.1"
                         : !strcmp(hosts[k].id, "gpu07") ? "10.0.3.7"
                         : !strcmp(hosts[k].id, "pc2")   ? "10.0.4.3"
                                                         : NULL;
        const char *role = !strncmp(hosts[k].id, "gpu", 3)   ? "gpu_node"
                           : !strncmp(hosts[k].id, "pc", 2)  ? "office_pc"
                           : !strcmp(hosts[k].id, "printer") ? "other"
                                                             : "server";
        char ips[64] = "";
        if (ip)
            snprintf(ips, sizeof ips, " ips = [ \"%s\" ];", ip);
        n += snprintf(c + n, 8192 - (size_t)n,
                      "    { id = \"%s\"; channel = \"%s\"; role = \"%s\";%s%s }%s\n", hosts[k].id,
                      hosts[k].circuit, role, ips,
                      !strcmp(hosts[k].id, "gpu07") ? " idle_w = 180.0; max_w = 1080.0;" : "",
                      k + 1 < NH ? "," : "");
    }
    snprintf(c + n, 8192 - (size_t)n, "  ); } );\n");
    return c;
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/wa-corr-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->data, sizeof fx->data, "%s/data", fx->dir);
    write_files(fx->data);
    write_declarations(fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    if (!getenv("WA_KEEP")) /* WA_KEEP=1: keep the files to run wattaudit on them */
        nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* ---- helpers ---- */

static siteconf_t *load_config(const struct fx *fx)
{
    char err[512];
    char *text = config_text(fx->dir, fx->data);
    siteconf_t *cfg = siteconf_parse(text, "site.conf", err, sizeof err);
    free(text);
    if (!cfg)
        fail_msg("config: %s", err);
    return cfg;
}

static void collect_at(const siteconf_t *cfg, const char *data, int corr_step, an_result_t *r)
{
    char err[512];
    FILE *devnull = fopen("/dev/null", "w");
    an_run_opts_t o = {.cfg = cfg, .data_dir = data, .warn = devnull, .corr_step = corr_step};
    assert_int_equal(an_factors_find("cn-grid-2022", &o.factors), 0);
    if (an_collect(&o, r, err, sizeof err) != 0)
        fail_msg("an_collect: %s", err);
    fclose(devnull);
}

/* The default grid: hourly here (the storage's long step; a week of reference hours is enough
 * rows for every circuit's hosts). */
static void collect(const siteconf_t *cfg, const char *data, an_result_t *r)
{
    collect_at(cfg, data, 0, r);
}

static const an_channel_result_t *channel(const an_result_t *r, const char *id)
{
    for (size_t i = 0; i < r->sites[0].n_channels; i++)
        if (!strcmp(r->sites[0].channels[i].id, id))
            return &r->sites[0].channels[i];
    fail_msg("no channel %s", id);
    return NULL;
}

static const an_corr_finding_t *corr_finding(const an_channel_result_t *c, an_corr_kind_t k,
                                             const char *host)
{
    for (size_t i = 0; c->corr && i < c->corr->n_findings; i++)
        if (c->corr->findings[i].kind == k && (!host || !strcmp(c->corr->findings[i].host, host)))
            return &c->corr->findings[i];
    return NULL;
}

static char *written(const an_result_t *r, an_format_t fmt)
{
    char *buf = NULL, err[256];
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    assert_int_equal(an_write(r, fmt, mem, err, sizeof err), 0);
    fclose(mem);
    return buf;
}

static void print_findings(const an_result_t *r)
{
    char a[32];
    for (size_t i = 0; i < r->sites[0].n_channels; i++) {
        const an_channel_result_t *c = &r->sites[0].channels[i];
        for (size_t k = 0; k < c->ch.n_findings; k++) {
            const an_finding_t *f = &c->ch.findings[k];
            print_message("%s: %s since %s %.0f W [%s] %s: %s\n", c->id, an_kind_name(f->kind),
                          wa_time_format(f->onset, "UTC", a, sizeof a), f->step_w, f->explained_by,
                          an_class_name(f->cls), f->cls_why);
        }
        for (size_t k = 0; c->corr && k < c->corr->n_findings; k++) {
            const an_corr_finding_t *f = &c->corr->findings[k];
            print_message("%s:   %s %s since %s %.0f W %d-%d %s\n", c->id,
                          an_corr_kind_name(f->kind), f->host,
                          wa_time_format(f->onset, "UTC", a, sizeof a), f->w, f->count_min,
                          f->count_max, an_class_name(f->cls));
        }
    }
}

/* ---- the result ---- */

/* The same answers on the hourly grid and on the circuits' own 5-minute one; onsets to the
 * grid's step. */
static void check_classes(const struct fx *fx, int corr_step)
{
    siteconf_t *cfg = load_config(fx);
    an_result_t r;
    int64_t tol = corr_step ? corr_step : 3600;
    collect_at(cfg, NULL, corr_step, &r);
    print_findings(&r);
    const an_site_result_t *s = &r.sites[0];
    assert_int_equal(s->n_channels, NC + 1); /* and the inlet */
    assert_int_equal(s->n_hosts, NH);
    assert_int_equal(s->n_jobs, 5); /* four from sacct (steps skipped), one from the schedule */

    /* o1: research declared in the Slurm export; nothing flagged, nothing counted. */
    const an_channel_result_t *o1 = channel(&r, "campus/pdu/o1");
    assert_non_null(o1->corr);
    assert_true(o1->corr->fitted);
    assert_true(o1->corr->r2 > 0.9 && o1->corr->pearson > 0.9);
    assert_int_equal(o1->corr->best_lag_s, 0);
    assert_int_equal(o1->corr->n_hosts, 2);
    for (size_t k = 0; k < 2; k++) {
        assert_true(o1->corr->hosts[k].slope_fitted);
        assert_true(fabs(o1->corr->hosts[k].slope_w - 800) < 60);
    }
    assert_int_equal(o1->corr->n_findings, 2);
    for (size_t k = 0; k < o1->corr->n_findings; k++) {
        assert_int_equal(o1->corr->findings[k].kind, AN_CORR_HOST_RESEARCH);
        assert_int_equal(o1->corr->findings[k].cls, AN_CLASS_RESEARCH);
        assert_non_null(strstr(o1->corr->findings[k].explained_by, "4410"));
    }
    assert_true(o1->ch.n_findings >= 1); /* the 1.6 kW job of ten days is a step on the circuit */
    for (size_t k = 0; k < o1->ch.n_findings; k++) {
        assert_int_equal(o1->ch.findings[k].cls, AN_CLASS_RESEARCH);
        assert_non_null(strstr(o1->ch.findings[k].explained_by, "research job 4410"));
        assert_int_equal(o1->ch.findings[k].n_rig_fits, 0);
    }
    assert_true(o1->excess_kwh == 0 && o1->active_kwh_per_day == 0);

    /* o2: power no host accounts for: deliberate, dated and sized, with its rig range. */
    const an_channel_result_t *o2 = channel(&r, "campus/pdu/o2");
    const an_corr_finding_t *res = corr_finding(o2, AN_CORR_RESIDUAL, NULL);
    assert_non_null(res);
    assert_int_equal(res->cls, AN_CLASS_DELIBERATE);
    assert_true(llabs(res->onset - RIG_FROM) <= tol);
    assert_true(fabs(res->w - RIG_W) < 80);
    assert_int_equal(res->count_min, 1);
    assert_int_equal(res->count_max, 1);
    assert_int_equal(o2->corr->n_findings, 1); /* the servers' own load is explained */
    assert_true(o2->ch.n_findings >= 1);
    for (size_t k = 0; k < o2->ch.n_findings; k++) {
        assert_int_equal(o2->ch.findings[k].cls, AN_CLASS_DELIBERATE);
        assert_non_null(strstr(o2->ch.findings[k].cls_why, "no monitored host accounts for"));
        assert_string_equal(o2->ch.findings[k].explained_by, "");
    }
    assert_true(o2->active_kwh_per_day > 20); /* 1.2 kW still running: counted */

    /* o3: a monitored GPU node at full load day and night with no job: deliberate. */
    const an_channel_result_t *o3 = channel(&r, "campus/pdu/o3");
    const an_corr_finding_t *g7 = corr_finding(o3, AN_CORR_HOST_FULL, "gpu07");
    assert_non_null(g7);
    assert_int_equal(g7->cls, AN_CLASS_DELIBERATE);
    assert_true(llabs(g7->onset - GPU07_FROM) <= (tol > 900 ? tol : 900));
    assert_true(fabs(g7->w - 890) < 90);
    assert_int_equal(g7->count_min, 1);
    assert_int_equal(o3->corr->n_findings, 1);
    assert_true(o3->ch.n_findings >= 1);
    for (size_t k = 0; k < o3->ch.n_findings; k++) {
        assert_int_equal(o3->ch.findings[k].cls, AN_CLASS_DELIBERATE);
        assert_non_null(strstr(o3->ch.findings[k].cls_why, "gpu07"));
    }

    /* l1: office PCs busy at night and at weekends only: passive, one finding each. */
    const an_channel_result_t *l1 = channel(&r, "campus/dist/l1");
    assert_int_equal(l1->corr->n_hosts, 7);
    size_t off = 0;
    for (size_t k = 0; k < l1->corr->n_findings; k++) {
        const an_corr_finding_t *f = &l1->corr->findings[k];
        assert_int_equal(f->kind, AN_CORR_HOST_OFF_HOURS);
        assert_int_equal(f->cls, AN_CLASS_PASSIVE);
        assert_true(llabs(f->onset - MINING_FROM) <= 2 * 86400);
        assert_true(fabs(f->w - 97) < 15); /* what a PC draws while it mines */
        off++;
    }
    assert_int_equal(off, 5);
    assert_true(l1->ch.n_findings >= 1);
    for (size_t k = 0; k < l1->ch.n_findings; k++) {
        assert_int_equal(l1->ch.findings[k].cls, AN_CLASS_PASSIVE);
        assert_non_null(strstr(l1->ch.findings[k].cls_why, "pc0"));
    }

    /* The inlet carries its outlets' hosts: the jobs' step beside gpu07's is gpu07's (a miner
     * starting beside a job is not explained by it), the rig is the residual's. */
    const an_channel_result_t *in = channel(&r, "campus/pdu/inlet");
    assert_int_equal(in->role, AN_ROLE_TOTAL);
    assert_non_null(in->corr);
    assert_int_equal(in->corr->n_hosts, 6);
    assert_non_null(corr_finding(in, AN_CORR_RESIDUAL, NULL));
    assert_non_null(corr_finding(in, AN_CORR_HOST_FULL, "gpu07"));
    assert_non_null(corr_finding(in, AN_CORR_HOST_RESEARCH, "gpu01"));
    /* The channel layer dates the inlet's steps as it can (the rig and gpu07 start a few hours
     * and a day apart); whatever it finds after the job's start is deliberate. */
    int seen_job = 0, seen_other = 0;
    for (size_t k = 0; k < in->ch.n_findings; k++) {
        const an_finding_t *f = &in->ch.findings[k];
        if (llabs(f->onset - MINING_FROM) <= 3600) {
            seen_job = 1;
            assert_int_equal(f->cls, AN_CLASS_RESEARCH);
            assert_non_null(strstr(f->explained_by, "research job 4410"));
        } else {
            seen_other = 1;
            assert_true(f->onset >= RIG_FROM - 3600);
            assert_int_equal(f->cls, AN_CLASS_DELIBERATE);
            assert_string_equal(f->explained_by, "");
        }
    }
    assert_true(seen_job && seen_other);

    /* The hosts: which data sources they had, and the one without a file. */
    for (size_t k = 0; k < s->n_hosts; k++) {
        const an_host_t *h = &s->hosts[k];
        assert_string_equal(h->id, hosts[k].id);
        if (!strcmp(h->id, "printer")) {
            assert_false(h->read);
            assert_non_null(strstr(h->note, "no utilisation file"));
            continue;
        }
        assert_true(h->read);
        assert_string_equal(h->source, hosts[k].gpu ? "cpu+gpu" : "cpu");
        assert_true(h->coverage > 0.99);
        assert_non_null(strstr(h->channel, hosts[k].circuit));
    }

    /* Each flagged address: its host, circuit and answer; the unknown one unmapped. */
    static const struct {
        const char *ip, *host, *channel, *kind;
        an_class_t cls;
        int64_t since;
    } want[] = {
        {"10.0.1.1", "gpu01", "campus/pdu/o1", "host_research", AN_CLASS_RESEARCH, 0},
        {"10.0.2.1", "srv0", "campus/pdu/o2", "unexplained_residual", AN_CLASS_DELIBERATE,
         RIG_FROM},
        {"10.0.3.7", "gpu07", "campus/pdu/o3", "host_full_load", AN_CLASS_DELIBERATE, GPU07_FROM},
        {"10.0.4.3", "pc2", "campus/dist/l1", "host_off_hours", AN_CLASS_PASSIVE, 0},
        {"203.0.113.9", "", "", "", AN_CLASS_NONE, 0},
    };
    assert_int_equal(s->n_flagged, 5);
    for (size_t i = 0; i < 5; i++) {
        const an_flagged_ip_t *ip = &s->flagged[i];
        an_ip_answer_t a;
        assert_string_equal(ip->ip, want[i].ip);
        assert_string_equal(ip->host, want[i].host);
        assert_string_equal(ip->channel, want[i].channel);
        an_ip_answer(s, ip, &a);
        assert_int_equal(a.cls, want[i].cls);
        assert_string_equal(a.kind, want[i].kind);
        if (want[i].since)
            assert_true(llabs(a.since - want[i].since) <= (tol > 900 ? tol : 900));
        if (!want[i].host[0]) {
            assert_null(a.host);
            assert_non_null(strstr(a.why, "unmapped"));
        } else {
            assert_non_null(a.channel);
            assert_string_equal(a.channel->id, want[i].channel);
        }
    }
    an_result_free(&r);
    siteconf_free(cfg);
}

static void test_classes(void **state)
{
    check_classes(*state, 0);
}

static void test_classes_fine(void **state)
{
    check_classes(*state, STEP);
}

/* ---- the outputs ---- */

static const cJSON *jget(const cJSON *o, const char *path)
{
    char buf[256];
    wa_strlcpy(buf, path, sizeof buf);
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && o;
         tok = strtok_r(NULL, ".", &save))
        o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(tok)) : cJSON_GetObjectItem(o, tok);
    if (!o)
        fail_msg("JSON has no %s", path);
    return o;
}

static const cJSON *jchannel(const cJSON *doc, const char *id)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, jget(doc, "sites.0.channels"))
    {
        if (!strcmp(jget(c, "id")->valuestring, id))
            return c;
    }
    fail_msg("JSON has no channel %s", id);
    return NULL;
}

static void test_json(void **state)
{
    struct fx *fx = *state;
    siteconf_t *cfg = load_config(fx);
    an_result_t r;
    collect(cfg, NULL, &r);
    char *buf = written(&r, AN_FMT_JSON);
    cJSON *doc = cJSON_Parse(buf);
    assert_non_null(doc);
    assert_string_equal(jget(doc, "schema_version")->valuestring, "1.2");
    const cJSON *o2 = jchannel(doc, "campus/pdu/o2");
    const cJSON *corr = jget(o2, "correlation");
    assert_true(cJSON_IsTrue(jget(corr, "fitted")));
    assert_true(jget(corr, "r2")->valuedouble > 0.5);
    assert_true(cJSON_IsNumber(jget(corr, "pearson")) && cJSON_IsNumber(jget(corr, "spearman")));
    assert_int_equal(jget(corr, "best_lag_s")->valueint, 0);
    assert_int_equal(cJSON_GetArraySize(jget(corr, "hosts")), 2);
    assert_string_equal(jget(corr, "hosts.0.id")->valuestring, "srv0");
    assert_true(cJSON_IsTrue(jget(corr, "hosts.0.slope_fitted")));
    assert_string_equal(jget(corr, "findings.0.kind")->valuestring, "unexplained_residual");
    assert_string_equal(jget(corr, "findings.0.class")->valuestring, "deliberate");
    assert_true(cJSON_IsNull(jget(corr, "findings.0.host")));
    assert_true(fabs(jget(corr, "findings.0.onset")->valuedouble - (double)RIG_FROM) <= 600);
    assert_int_equal(jget(corr, "findings.0.count_min")->valueint, 1);
    assert_true(cJSON_GetArraySize(jget(corr, "findings.0.evidence")) >= 3);
    assert_string_equal(jget(o2, "findings.0.class")->valuestring, "deliberate");
    assert_non_null(strstr(jget(o2, "findings.0.class_why")->valuestring, "no monitored host"));
    const cJSON *o1 = jchannel(doc, "campus/pdu/o1");
    assert_string_equal(jget(o1, "findings.0.class")->valuestring, "research");
    assert_non_null(strstr(jget(o1, "findings.0.explained_by")->valuestring, "4410"));

    const cJSON *site = jget(doc, "sites.0");
    assert_int_equal(jget(site, "jobs")->valueint, 5);
    assert_int_equal(cJSON_GetArraySize(jget(site, "hosts")), (int)NH);
    assert_string_equal(jget(site, "hosts.4.id")->valuestring, "gpu07");
    assert_string_equal(jget(site, "hosts.4.source")->valuestring, "cpu+gpu");
    assert_string_equal(jget(site, "hosts.4.ips.0")->valuestring, "10.0.3.7");
    assert_false(cJSON_IsTrue(jget(site, "hosts.12.read")));
    const cJSON *fl = jget(site, "flagged_ips");
    assert_int_equal(cJSON_GetArraySize(fl), 5);
    assert_string_equal(jget(fl, "2.host")->valuestring, "gpu07");
    assert_string_equal(jget(fl, "2.channel")->valuestring, "campus/pdu/o3");
    assert_string_equal(jget(fl, "2.answer.class")->valuestring, "deliberate");
    assert_string_equal(jget(fl, "2.answer.kind")->valuestring, "host_full_load");
    assert_int_equal(jget(fl, "2.answer.count_min")->valueint, 1);
    assert_true(cJSON_GetArraySize(jget(fl, "2.findings")) >= 2); /* correlation and power */
    assert_string_equal(jget(fl, "3.answer.class")->valuestring, "passive");
    assert_false(cJSON_IsTrue(jget(fl, "4.mapped")));
    assert_true(cJSON_IsNull(jget(fl, "4.host")));
    assert_true(cJSON_IsNull(jget(fl, "4.answer.class")));
    assert_non_null(strstr(jget(fl, "4.answer.why")->valuestring, "unmapped"));
    cJSON_Delete(doc);
    free(buf);
    an_result_free(&r);
    siteconf_free(cfg);
}

/* Splits a CSV line (RFC 4180 quotes) into fields copied into store (strlen(line) + 1 bytes or
 * more); returns the field count. */
static int csv_split(const char *line, char *store, char **f, int max)
{
    int n = 0;
    size_t o = 0;
    const char *p = line;
    for (;;) {
        if (n == max)
            return n;
        f[n++] = store + o;
        if (*p == '"') {
            for (p++; *p;) {
                if (p[0] == '"' && p[1] == '"') {
                    store[o++] = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    store[o++] = *p++;
                }
            }
        }
        while (*p && *p != ',')
            store[o++] = *p++;
        store[o++] = '\0';
        if (!*p)
            return n;
        p++;
    }
}

static int col(char **head, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(head[i], name))
            return i;
    fail_msg("CSV has no column %s", name);
    return -1;
}

static void test_csv(void **state)
{
    struct fx *fx = *state;
    siteconf_t *cfg = load_config(fx);
    an_result_t r;
    collect(cfg, NULL, &r);
    char *buf = written(&r, AN_FMT_CSV);
    size_t blen = strlen(buf); /* before strtok_r cuts it into lines */
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    char *hstore = malloc(strlen(line) + 1), *store = malloc(blen + 1);
    char *head[64], *f[64];
    assert_non_null(hstore);
    assert_non_null(store);
    int nh = csv_split(line, hstore, head, 64);
    int c_level = col(head, nh, "level"), c_chan = col(head, nh, "channel");
    int c_ip = col(head, nh, "ip"), c_host = col(head, nh, "host"), c_cls = col(head, nh, "class");
    int c_kind = col(head, nh, "kind"), c_classes = col(head, nh, "classes");
    int c_r2 = col(head, nh, "fit_r2"), c_cmin = col(head, nh, "count_min");
    int c_rigs = col(head, nh, "rigs"), c_why = col(head, nh, "why");
    assert_int_equal(c_rigs, 24); /* the 1.1 columns keep their places */
    size_t rows = 0, flagged = 0, corr = 0, hostrows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        int n = csv_split(line, store, f, 64);
        assert_int_equal(n, nh); /* every row has every column */
        rows++;
        if (!strcmp(f[c_level], "channel") && !strcmp(f[c_chan], "campus/pdu/o2")) {
            assert_non_null(strstr(f[c_classes], ": deliberate"));
            assert_true(strtod(f[c_r2], NULL) > 0.5);
        }
        if (!strcmp(f[c_level], "correlation")) {
            corr++;
            if (!strcmp(f[c_chan], "campus/pdu/o2")) {
                assert_string_equal(f[c_kind], "unexplained_residual");
                assert_string_equal(f[c_cls], "deliberate");
                assert_string_equal(f[c_cmin], "1");
            }
        }
        if (!strcmp(f[c_level], "host"))
            hostrows++;
        if (!strcmp(f[c_level], "flagged_ip")) {
            flagged++;
            if (!strcmp(f[c_ip], "10.0.3.7")) {
                assert_string_equal(f[c_host], "gpu07");
                assert_string_equal(f[c_chan], "campus/pdu/o3");
                assert_string_equal(f[c_cls], "deliberate");
            }
            if (!strcmp(f[c_ip], "203.0.113.9")) {
                assert_string_equal(f[c_host], "");
                assert_string_equal(f[c_cls], "");
                assert_non_null(strstr(f[c_why], "unmapped"));
            }
        }
    }
    assert_int_equal(flagged, 5);
    size_t want_corr = 0;
    for (size_t i = 0; i < r.sites[0].n_channels; i++)
        want_corr += r.sites[0].channels[i].corr ? r.sites[0].channels[i].corr->n_findings : 0;
    assert_int_equal(corr, want_corr);
    assert_true(corr >= 2 + 1 + 1 + 5); /* the outlets' and the floor's at least */
    assert_int_equal(hostrows, NH);
    assert_true(rows > NC + 2);
    free(hstore);
    free(store);
    free(buf);
    an_result_free(&r);
    siteconf_free(cfg);
}

static void test_text_and_report(void **state)
{
    struct fx *fx = *state;
    siteconf_t *cfg = load_config(fx);
    an_result_t r;
    collect(cfg, NULL, &r);
    char *buf = written(&r, AN_FMT_TEXT);
    static const char *const text_has[] = {
        "correlation with 2 hosts: idle",
        "unexplained_residual",
        "host_full_load       gpu07  deliberate",
        "host_off_hours       pc2    passive",
        "deliberate: flat 1200 W day and night that no monitored host accounts for",
        "hosts: 13 in the inventory, 12 read; 5 research jobs declared",
        "printer: no utilisation file",
        "10.0.3.7 seen 2026-11-14 04:00: gpu07 (gpu_node) on campus/pdu/o3: deliberate, 1 host "
        "since 2026-11-13 00:",
        "203.0.113.9 seen 2026-11-15 01:00: unmapped",
    };
    for (size_t i = 0; i < sizeof text_has / sizeof text_has[0]; i++)
        if (!strstr(buf, text_has[i]))
            fail_msg("the text lacks \"%s\":\n%s", text_has[i], buf);
    free(buf);

    char err[256];
    size_t len = 0;
    buf = NULL;
    FILE *mem = open_memstream(&buf, &len);
    an_report_opts_t ro = {.format = AN_REPORT_MARKDOWN};
    assert_int_equal(an_report_write(&r, &ro, mem, err, sizeof err), 0);
    fclose(mem);
    static const char *const md_has[] = {
        "## Flagged addresses",
        "| 10.0.3.7 | 2026-11-14 04:00 | gpu07 (gpu_node) | campus/pdu/o3 (gpu07 and web) | 1 "
        "host | 2026-11-13 00:",
        "| 10.0.2.1 | 2026-11-16 02:30 | srv0 (server) | campus/pdu/o2 (servers) | 1 gpu_rig | "
        "2026-11-12 10:",
        "| deliberate | the host's own load is ordinary, but its circuit carries flat",
        "| 10.0.4.3 | 2026-11-14 23:00 | pc2 (office_pc) |",
        "| passive |",
        "| research |",
        "| 203.0.113.9 | 2026-11-15 01:00 | unmapped | - | - | - | nothing found | unmapped",
        "Class: deliberate",
    };
    for (size_t i = 0; i < sizeof md_has / sizeof md_has[0]; i++)
        if (!strstr(buf, md_has[i]))
            fail_msg("the report lacks \"%s\":\n%s", md_has[i], buf);
    free(buf);
    an_result_free(&r);
    siteconf_free(cfg);
}

/* With --data there is no inventory: the hosts folder is no device, and classes come from the
 * findings' shapes alone. */
static void test_data_folder(void **state)
{
    struct fx *fx = *state;
    an_result_t r;
    collect(NULL, fx->data, &r);
    assert_int_equal(r.n_sites, 1);
    assert_int_equal(r.sites[0].n_channels, NC + 1);
    assert_int_equal(r.n_skipped, 0);
    assert_int_equal(r.sites[0].n_hosts, 0);
    for (size_t i = 0; i < r.sites[0].n_channels; i++) {
        const an_channel_result_t *c = &r.sites[0].channels[i];
        assert_null(strstr(c->id, "/hosts/"));
        assert_null(c->corr);
        for (size_t k = 0; k < c->ch.n_findings; k++) {
            const an_finding_t *f = &c->ch.findings[k];
            assert_int_equal(f->cls,
                             f->kind == AN_OFF_HOURS ? AN_CLASS_PASSIVE : AN_CLASS_DELIBERATE);
            assert_true(f->cls_why[0] != '\0');
        }
    }
    an_result_free(&r);
}

/* A bad row in a declaration file stops the run with its FILE:LINE. */
static void test_bad_declarations(void **state)
{
    struct fx *fx = *state;
    static const struct {
        const char *file, *text, *want;
    } cases[] = {
        {"sacct.txt",
         "JobID|User|NodeList|Start|End\n4410|li|gpu[01-02]|2026-11-11|2026-11-21\n"
         "4411|li|gpu01|someday|2026-11-21\n",
         "sacct.txt:3: Start is not a time"},
        {"sacct.txt", "JobID|User|NodeList|Start|End\n4410|li|gpu[01-|2026-11-11|2026-11-21\n",
         "sacct.txt:2: node list not understood"},
        {"jobs.txt", "# schedule\nJobID|NodeList|Start|End\nR-1|gpu02|2026-11-05|2026-11-04\n",
         "jobs.txt:3: End is not a time after Start"},
        {"jobs.txt", "id,nodes\n", "jobs.txt:1: header must name"},
        {"flagged.csv", "10.0.1.1,2026-11-15\n10.0.1.300,2026-11-15\n",
         "flagged.csv:2: not an IPv4 or IPv6 address"},
        {"flagged.csv", "# ok\n\n10.0.1.1\n", "flagged.csv:3: expected \"address,seen\""},
        {"flagged.csv", "10.0.1.1,last tuesday\n", "flagged.csv:1: 'seen' is not a time"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], saved[300], err[512] = "";
        snprintf(path, sizeof path, "%s/%s", fx->dir, cases[i].file);
        snprintf(saved, sizeof saved, "%s.good", path);
        assert_int_equal(rename(path, saved), 0);
        write_text(fx->dir, cases[i].file, cases[i].text);
        siteconf_t *cfg = load_config(fx);
        an_run_opts_t o = {.cfg = cfg};
        an_result_t r;
        assert_int_equal(an_factors_find("cn-grid-2022", &o.factors), 0);
        assert_int_equal(an_collect(&o, &r, err, sizeof err), -1);
        if (!strstr(err, cases[i].want) || !strstr(err, fx->dir))
            fail_msg("case %zu: \"%s\" lacks \"%s\" with its folder", i, err, cases[i].want);
        siteconf_free(cfg);
        assert_int_equal(rename(saved, path), 0);
    }
    /* A file named in the config that is not there is an error too. */
    char path[256], saved[300], err[512] = "";
    snprintf(path, sizeof path, "%s/flagged.csv", fx->dir);
    snprintf(saved, sizeof saved, "%s.good", path);
    assert_int_equal(rename(path, saved), 0);
    siteconf_t *cfg = load_config(fx);
    an_run_opts_t o = {.cfg = cfg};
    an_result_t r;
    assert_int_equal(an_collect(&o, &r, err, sizeof err), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err, "flagged.csv"));
    siteconf_free(cfg);
    assert_int_equal(rename(saved, path), 0);
}

/* ---- a host's utilisation from CSV ---- */

static void import_ok(const char *csv, const char *data, const char *host, const char *source,
                      an_unit_t unit, int replace)
{
    char err[512];
    an_import_opts_t o = {.tz = "UTC", .unit = unit, .util_source = source};
    if (an_import_host_file(csv, data, host, replace, &o, NULL, err, sizeof err) < 0)
        fail_msg("import %s: %s", csv, err);
}

static void import_fails(const char *csv, const char *data, const char *host, const char *source,
                         an_unit_t unit, int replace, int want_errno, const char *want)
{
    char err[512] = "";
    an_import_opts_t o = {.tz = "UTC", .unit = unit, .util_source = source};
    FILE *devnull = fopen("/dev/null", "w");
    o.warn = devnull;
    assert_int_equal(an_import_host_file(csv, data, host, replace, &o, NULL, err, sizeof err), -1);
    fclose(devnull);
    if (want_errno)
        assert_int_equal(errno, want_errno);
    if (!strstr(err, want))
        fail_msg("\"%s\" lacks \"%s\"", err, want);
}

/* A site with no exporter: a workstation's CPU (percent) and GPU (fraction) from CSV, then its
 * circuit's power from CSV, and the correlation sees both. */
static void test_import_utilisation(void **state)
{
    struct fx *fx = *state;
    char dir[128], data[160], cpu[200], gpu[200], bad[200], power[200], err[512];
    snprintf(dir, sizeof dir, "%s/import", fx->dir);
    snprintf(data, sizeof data, "%s/data", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(cpu, sizeof cpu, "%s/cpu.csv", dir);
    snprintf(gpu, sizeof gpu, "%s/gpu.csv", dir);
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    snprintf(power, sizeof power, "%s/power.csv", dir);
    /* 14 days at 15 min: the GPU mines day and night from day 9; the CPU follows office hours. */
    FILE *fc = fopen(cpu, "w"), *fg = fopen(gpu, "w"), *fp = fopen(power, "w");
    assert_non_null(fc);
    assert_non_null(fg);
    assert_non_null(fp);
    fputs("time,CPU busy [%]\n", fc);
    fputs("time,gpu_util\n", fg);
    fputs("time,Power [W]\n", fp);
    const size_t n = 14 * 96;
    for (size_t i = 0; i < n; i++) {
        int64_t t = T0 + (int64_t)i * 900; /* a row's time starts its interval */
        char when[32];
        wa_time_format(t, "UTC", when, sizeof when);
        double c = workhours(t + 900) ? 30 + 40 * urand() : 2 + 2 * urand();
        double g =
            t >= MINING_FROM ? 0.97 + 0.03 * urand() : (workhours(t + 900) ? 0.4 * urand() : 0);
        fprintf(fc, "%s,%.2f\n", when, c);
        fprintf(fg, "%s,%.4f\n", when, g);
        fprintf(fp, "%s,%.1f\n", when, 150 + 2.0 * c + 700 * g + 10 * (urand() - 0.5));
    }
    fclose(fc);
    fclose(fg);
    fclose(fp);

    import_ok(cpu, data, "lab/ws1", "cpu", AN_UNIT_AUTO, 0); /* "%" in the header */
    import_ok(gpu, data, "lab/ws1", "gpu", AN_UNIT_FRACTION, 0);
    char file[256];
    snprintf(file, sizeof file, "%s/lab/hosts/ws1.rrd", data);
    storage_series_t sc, sg;
    assert_int_equal(storage_fetch(file, "cpu", "AVERAGE", T0, T0 + (int64_t)n * 900, 900, NULL,
                                   &sc, err, sizeof err),
                     0);
    assert_int_equal(storage_fetch(file, "gpu", "AVERAGE", T0, T0 + (int64_t)n * 900, 900, NULL,
                                   &sg, err, sizeof err),
                     0);
    size_t known_c = 0, known_g = 0;
    for (size_t i = 0; i < sc.n; i++) {
        if (!isnan(sc.v[i])) {
            known_c++;
            assert_true(sc.v[i] >= 0.02 && sc.v[i] <= 0.70); /* percent stored as a fraction */
        }
        known_g += !isnan(sg.v[i]);
    }
    assert_int_equal(known_c, n); /* the GPU import kept the CPU's values */
    assert_int_equal(known_g, n);
    free(sc.v);
    free(sg.v);

    /* The source has data: refused without --replace, taken with it. */
    import_fails(gpu, data, "lab/ws1", "gpu", AN_UNIT_FRACTION, 0, EEXIST, "already has gpu data");
    import_ok(gpu, data, "lab/ws1", "gpu", AN_UNIT_FRACTION, 1);

    /* Values outside 0..100 % (or 0..1) are bad rows, named by their line. */
    static const struct {
        const char *text;
        an_unit_t unit;
        const char *want;
    } cases[] = {
        {"time,cpu %\n2026-11-02 00:00Z,50\n2026-11-02 00:15Z,130\n", AN_UNIT_AUTO,
         "bad.csv:3: 130 is outside 0..100 %"},
        {"time,cpu\n2026-11-02 00:00Z,0.5\n2026-11-02 00:15Z,-0.1\n", AN_UNIT_FRACTION,
         "bad.csv:3: -0.1 is outside 0..1"},
        {"time,cpu\n2026-11-02 00:00Z,50\n2026-11-02 00:15Z,1.5\n", AN_UNIT_FRACTION,
         "bad.csv:2: 50 is outside 0..1"},
        {"2026-11-02,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,101\n",
         AN_UNIT_PERCENT, "bad.csv:1: value 24, 101, is outside 0..100 %"},
        {"time,cpu\n2026-11-02 00:00Z,50\n", AN_UNIT_AUTO, "give --unit percent or fraction"},
        {"time,cpu %\n2026-11-02 00:00Z,50\n", AN_UNIT_KW, "not kW"},
        {"time,a,b\n2026-11-02 00:00Z,50,3\n", AN_UNIT_PERCENT, "none is named like cpu"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(dir, "bad.csv", cases[i].text);
        import_fails(bad, data, "lab/ws2", "cpu", cases[i].unit, 0, 0, cases[i].want);
        struct stat sb;
        char f2[256];
        snprintf(f2, sizeof f2, "%s/lab/hosts/ws2.rrd", data);
        assert_int_equal(stat(f2, &sb), -1); /* nothing half-written */
    }
    import_fails(cpu, data, "lab", "cpu", AN_UNIT_AUTO, 0, EINVAL, "SITE/HOST");

    /* The circuit's power, and the correlation over the imported host. */
    an_import_opts_t po = {.tz = "UTC"};
    if (an_import_file(power, data, "lab/pdu/o1", 0, &po, NULL, err, sizeof err) < 0)
        fail_msg("power: %s", err);
    char conf[1024];
    snprintf(conf, sizeof conf,
             "timezone = \"UTC\";\nstorage = { data_dir = \"%s\"; };\n"
             "sites = ( { id = \"lab\"; buses = ( { id = \"gw\"; tcp = \"127.0.0.1:1502\";\n"
             "  devices = ( { id = \"pdu\"; unit = 1; profile = \"netio-powerpdu-8ks\";\n"
             "  channels = ( { id = \"o1\"; } ); } ); } );\n"
             "  hosts = ( { id = \"ws1\"; channel = \"pdu/o1\"; role = \"gpu_node\"; } ); } );\n",
             data);
    siteconf_t *cfg = siteconf_parse(conf, "lab.conf", err, sizeof err);
    if (!cfg)
        fail_msg("config: %s", err);
    an_result_t r;
    collect(cfg, NULL, &r);
    print_findings(&r);
    const an_host_t *h = &r.sites[0].hosts[0];
    assert_true(h->read);
    assert_string_equal(h->source, "cpu+gpu"); /* no exporter: both sources read */
    const an_channel_result_t *c = &r.sites[0].channels[0];
    assert_non_null(c->corr);
    assert_true(c->corr->fitted);
    const an_corr_finding_t *f = corr_finding(c, AN_CORR_HOST_FULL, "ws1");
    assert_non_null(f);
    assert_int_equal(f->cls, AN_CLASS_DELIBERATE);
    assert_true(llabs(f->onset - MINING_FROM) <= 3600);
    an_result_free(&r);
    siteconf_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_classes_fine),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_text_and_report),
        cmocka_unit_test(test_data_folder),
        cmocka_unit_test(test_bad_declarations),
        cmocka_unit_test(test_import_utilisation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
