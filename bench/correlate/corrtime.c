/*
 * wa_bench_corrtime: the correlation's cost against plain analysis of the same circuits, in one
 * run (bench/README.md, "correlate").
 *
 * DIR holds what wa_bench_corrgen wrote: plain.conf (the circuits alone) and site.conf (the
 * same circuits with their hosts, Slurm export and flagged addresses).  Each measurement is a
 * child process (this program again, --child) that loads a config, runs an_collect over the
 * generator's whole window and writes the result as JSON to /dev/null (what an_run does), and
 * reports its times and findings on a pipe; its peak RSS and disk reads come from wait4().
 * Each measured run follows an unmeasured run of the same side, so that every page it reads is
 * in the page cache (this VM's DAMON pages out page cache left idle for about a minute, so one
 * warm-up at the start would not last a round); rounds alternate which side goes first, and the
 * medians are compared.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "siteconf/siteconf.h"

#define TARGET 1.5
#define ROUNDS_MAX 99
#define FACTORS "cn-grid-2022" /* `wattaudit analyze`'s default */
#define TRUTH_MAX 4096
#define CF_MAX 65536

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the child: one analysis, its times and findings on stdout ---- */

static int child(const char *config, const char *from, const char *to)
{
    char err[1024];
    double w0 = now_s(), c0 = cpu_s();
    siteconf_t *cfg = siteconf_load(config, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "corrtime: %s\n", err);
        return 1;
    }
    double w1 = now_s(), c1 = cpu_s();
    an_run_opts_t o;
    memset(&o, 0, sizeof o);
    o.cfg = cfg;
    o.from = strtoll(from, NULL, 10);
    o.to = strtoll(to, NULL, 10);
    o.format = AN_FMT_JSON;
    o.channel.tz = cfg->timezone;
    o.warn = stderr;
    if (an_factors_parse(FACTORS, &o.factors, err, sizeof err) < 0) {
        fprintf(stderr, "corrtime: %s\n", err);
        return 1;
    }
    an_result_t r;
    if (an_collect(&o, &r, err, sizeof err) < 0) {
        fprintf(stderr, "corrtime: %s: %s\n", config, err);
        return 1;
    }
    double w2 = now_s(), c2 = cpu_s();
    FILE *null = fopen("/dev/null", "w");
    if (!null || an_write(&r, AN_FMT_JSON, null, err, sizeof err) < 0 || fclose(null) != 0) {
        fprintf(stderr, "corrtime: writing JSON: %s\n", err);
        return 1;
    }
    double w3 = now_s(), c3 = cpu_s();
    printf("time %.6f %.6f %.6f %.6f %.6f %.6f\n", w1 - w0, c1 - c0, w2 - w1, c2 - c1, w3 - w2,
           c3 - c2);

    size_t nch = 0, analyzed = 0, corr = 0, fitted = 0, hosts = 0, read = 0, jobs = 0;
    size_t flagged = 0, mapped = 0, ans[4] = {0, 0, 0, 0};
    /* Power findings by kind, class and explained. */
    size_t pf[3][4][2];
    memset(pf, 0, sizeof pf);
    for (size_t s = 0; s < r.n_sites; s++) {
        const an_site_result_t *site = &r.sites[s];
        nch += site->n_channels;
        hosts += site->n_hosts;
        jobs += site->n_jobs;
        for (size_t k = 0; k < site->n_hosts; k++)
            read += (size_t)site->hosts[k].read;
        for (size_t k = 0; k < site->n_flagged; k++) {
            an_ip_answer_t a;
            flagged++;
            mapped += site->flagged[k].host[0] != '\0';
            an_ip_answer(site, &site->flagged[k], &a);
            ans[(unsigned)a.cls < 4 ? a.cls : 0]++;
        }
        for (size_t i = 0; i < site->n_channels; i++) {
            const an_channel_result_t *c = &site->channels[i];
            analyzed += (size_t)c->analyzed;
            for (size_t k = 0; k < c->ch.n_findings; k++) {
                const an_finding_t *f = &c->ch.findings[k];
                if ((unsigned)f->kind < 3 && (unsigned)f->cls < 4)
                    pf[f->kind][f->cls][f->explained_by[0] != '\0']++;
                printf("pd %s %s %s from %" PRId64 ", %.0f W%s%s: %s\n", c->id,
                       an_kind_name(f->kind),
                       f->cls == AN_CLASS_NONE ? "unclassed" : an_class_name(f->cls), f->onset,
                       f->step_w, f->explained_by[0] ? ", explained by " : "", f->explained_by,
                       f->cls_why);
            }
            if (!c->corr)
                continue;
            corr++;
            fitted += (size_t)c->corr->fitted;
            for (size_t k = 0; k < c->corr->n_findings; k++) {
                const an_corr_finding_t *f = &c->corr->findings[k];
                printf("cf %s %s %s %s %" PRId64 " %.1f\n", c->id, an_corr_kind_name(f->kind),
                       f->cls == AN_CLASS_NONE ? "none" : an_class_name(f->cls),
                       f->host[0] ? f->host : "-", f->onset, f->w);
            }
        }
    }
    printf("stat %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", nch, analyzed, corr,
           fitted, hosts, read, jobs, flagged, mapped, ans[0], ans[1], ans[2], ans[3]);
    for (int k = 0; k < 3; k++)
        for (int c = 0; c < 4; c++)
            for (int e = 0; e < 2; e++)
                if (pf[k][c][e])
                    printf("pf %d %d %d %zu\n", k, c, e, pf[k][c][e]);
    an_result_free(&r);
    siteconf_free(cfg);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- the parent ---- */

typedef struct cfind {
    char channel[256], kind[32], cls[16], host[64];
    int64_t onset;
    double w;
} cfind_t;

typedef struct run {
    double load_w, load_c, coll_w, coll_c, write_w, write_c;
    long rss_kb, inblock, majflt;
    size_t stat[13];
    size_t pf[3][4][2];
    cfind_t *cf;
    size_t n_cf;
    char *pd; /* the power findings, a line each */
    size_t pd_len;
} run_t;

/* Runs one analysis in a child process; its output parsed into *r.  0, or -1. */
static int measure(const char *config, int64_t from, int64_t to, run_t *r)
{
    char f[32], t[32];
    int fds[2];
    memset(r, 0, sizeof *r);
    snprintf(f, sizeof f, "%" PRId64, from);
    snprintf(t, sizeof t, "%" PRId64, to);
    if (pipe(fds) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "wa_bench_corrtime", "--child", config, f, t, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char line[1024];
    int got_time = 0;
    size_t cap = 0;
    while (in && fgets(line, sizeof line, in)) {
        int k, c, e;
        size_t n;
        if (sscanf(line, "time %lf %lf %lf %lf %lf %lf", &r->load_w, &r->load_c, &r->coll_w,
                   &r->coll_c, &r->write_w, &r->write_c) == 6) {
            got_time = 1;
        } else if (strncmp(line, "stat ", 5) == 0) {
            char *p = line + 5;
            for (int i = 0; i < 13; i++)
                r->stat[i] = (size_t)strtoull(p, &p, 10);
        } else if (sscanf(line, "pf %d %d %d %zu", &k, &c, &e, &n) == 4 && k >= 0 && k < 3 &&
                   c >= 0 && c < 4 && e >= 0 && e < 2) {
            r->pf[k][c][e] = n;
        } else if (strncmp(line, "pd ", 3) == 0) {
            size_t l = strlen(line + 3);
            char *p = realloc(r->pd, r->pd_len + l + 1);
            if (p) {
                memcpy(p + r->pd_len, line + 3, l + 1);
                r->pd = p;
                r->pd_len += l;
            }
        } else if (r->n_cf < CF_MAX && strncmp(line, "cf ", 3) == 0) {
            if (r->n_cf == cap) {
                cfind_t *p = realloc(r->cf, (cap ? 2 * cap : 256) * sizeof *p);
                if (!p)
                    continue;
                r->cf = p;
                cap = cap ? 2 * cap : 256;
            }
            cfind_t *x = &r->cf[r->n_cf];
            if (sscanf(line, "cf %255s %31s %15s %63s %" SCNd64 " %lf", x->channel, x->kind, x->cls,
                       x->host, &x->onset, &x->w) == 6)
                r->n_cf++;
        }
    }
    if (in)
        fclose(in);
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !got_time) {
        fprintf(stderr, "corrtime: the analysis of %s failed\n", config);
        return -1;
    }
    r->rss_kb = ru.ru_maxrss;
    r->inblock = ru.ru_inblock;
    r->majflt = ru.ru_majflt;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double loadavg(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = NAN;
        fclose(f);
    }
    return l;
}

/* ---- what was hidden (truth.txt) against what was found ---- */

typedef struct truth {
    char kind[32], channel[256], host[64];
    int64_t onset;
    double w;
} truth_t;

static int read_truth(const char *path, int64_t *from, int64_t *to, truth_t *t, size_t *n)
{
    char line[512];
    FILE *f = fopen(path, "r");
    *n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        truth_t *x = &t[*n];
        if (sscanf(line, "window %" SCNd64 " %" SCNd64, from, to) == 2)
            continue;
        if (line[0] != '#' && *n < TRUTH_MAX &&
            sscanf(line, "%31s %255s %63s %" SCNd64 " %lf", x->kind, x->channel, x->host, &x->onset,
                   &x->w) == 5)
            (*n)++;
    }
    fclose(f);
    return 0;
}

static const char *expected_class(const char *kind)
{
    return !strcmp(kind, "unexplained_residual") || !strcmp(kind, "host_full_load") ? "deliberate"
           : !strcmp(kind, "host_off_hours")                                        ? "passive"
                                                                                    : "research";
}

static void report_truth(const run_t *r, const truth_t *t, size_t nt)
{
    static const char *const kinds[] = {"unexplained_residual", "host_full_load", "host_off_hours",
                                        "host_research"};
    char *used = calloc(r->n_cf ? r->n_cf : 1, 1);
    printf("\nwhat was hidden (truth.txt) against what the correlation found:\n"
           "  %-22s %8s %6s %10s %18s %9s\n",
           "kind", "hidden", "found", "class ok", "onset error (h)", "extra");
    for (size_t k = 0; k < 4; k++) {
        size_t hidden = 0, found = 0, cls_ok = 0, extra = 0, ne = 0;
        double *err = malloc((nt ? nt : 1) * sizeof *err), emax = 0;
        for (size_t i = 0; i < nt; i++) {
            if (strcmp(t[i].kind, kinds[k]) != 0)
                continue;
            hidden++;
            for (size_t j = 0; j < r->n_cf; j++) {
                const cfind_t *f = &r->cf[j];
                if (used[j] || strcmp(f->kind, t[i].kind) || strcmp(f->channel, t[i].channel) ||
                    strcmp(f->host, t[i].host))
                    continue;
                used[j] = 1;
                found++;
                cls_ok += strcmp(f->cls, expected_class(f->kind)) == 0;
                /* A research host's onset is its first busy sample in a job, not a hidden
                 * thing's start: not compared. */
                if (k < 3) {
                    err[ne] = fabs((double)(f->onset - t[i].onset)) / 3600.0;
                    emax = fmax(emax, err[ne++]);
                }
                break;
            }
        }
        for (size_t j = 0; j < r->n_cf; j++)
            extra += !used[j] && strcmp(r->cf[j].kind, kinds[k]) == 0;
        char onset[32] = "-";
        if (ne)
            snprintf(onset, sizeof onset, "median %.1f, max %.1f", median(err, (int)ne), emax);
        printf("  %-22s %8zu %6zu %10zu %18s %9zu\n", kinds[k], hidden, found, cls_ok, onset,
               extra);
        free(err);
    }
    /* Each one missed or not hidden, so that a reader can look at it. */
    size_t shown = 0;
    for (size_t i = 0; i < nt && shown < 12; i++) {
        int hit = 0;
        for (size_t j = 0; j < r->n_cf && !hit; j++)
            hit = !strcmp(r->cf[j].kind, t[i].kind) && !strcmp(r->cf[j].channel, t[i].channel) &&
                  !strcmp(r->cf[j].host, t[i].host);
        if (!hit && ++shown)
            printf("  missed: %s %s %s from %" PRId64 ", %.0f W\n", t[i].kind, t[i].channel,
                   t[i].host, t[i].onset, t[i].w);
    }
    for (size_t j = 0; j < r->n_cf && shown < 24; j++)
        if (!used[j] && ++shown)
            printf("  not hidden: %s %s %s %s from %" PRId64 ", %.0f W\n", r->cf[j].kind,
                   r->cf[j].cls, r->cf[j].channel, r->cf[j].host, r->cf[j].onset, r->cf[j].w);
    free(used);
}

static void report_findings(const run_t *plain, const run_t *corr)
{
    static const char *const kinds[] = {"flat_24x7", "step_up", "off_hours"};
    printf("\npower findings of the channel layer, by class (the correlation gives each its "
           "class; plain analysis classes them by shape):\n"
           "  %-10s %-7s %6s %11s %8s %9s %10s\n",
           "kind", "run", "total", "deliberate", "passive", "research", "explained");
    for (int k = 0; k < 3; k++) {
        for (int side = 0; side < 2; side++) {
            const run_t *r = side ? corr : plain;
            size_t by[4] = {0, 0, 0, 0}, total = 0, expl = 0;
            for (int c = 0; c < 4; c++)
                for (int e = 0; e < 2; e++) {
                    by[c] += r->pf[k][c][e];
                    total += r->pf[k][c][e];
                    expl += e ? r->pf[k][c][e] : 0;
                }
            printf("  %-10s %-7s %6zu %11zu %8zu %9zu %10zu\n", side ? "" : kinds[k],
                   side ? "hosts" : "plain", total, by[AN_CLASS_DELIBERATE], by[AN_CLASS_PASSIVE],
                   by[AN_CLASS_RESEARCH], expl);
        }
    }
    printf("\nthe power findings with the hosts, each with its class and why:\n");
    for (const char *p = corr->pd; p && *p;) {
        const char *e = strchr(p, '\n');
        int l = e ? (int)(e - p) : (int)strlen(p);
        printf("  %.*s\n", l, p);
        p += l + (e ? 1 : 0);
    }
    static const char *const ck[] = {"unexplained_residual", "host_full_load", "host_off_hours",
                                     "host_research"};
    printf("\ncorrelation findings by kind and class:\n  %-22s %11s %8s %9s %6s\n", "kind",
           "deliberate", "passive", "research", "none");
    for (int k = 0; k < 4; k++) {
        size_t d = 0, p = 0, rs = 0, no = 0;
        for (size_t j = 0; j < corr->n_cf; j++) {
            const cfind_t *f = &corr->cf[j];
            if (strcmp(f->kind, ck[k]) != 0)
                continue;
            d += !strcmp(f->cls, "deliberate");
            p += !strcmp(f->cls, "passive");
            rs += !strcmp(f->cls, "research");
            no += !strcmp(f->cls, "none");
        }
        printf("  %-22s %11zu %8zu %9zu %6zu\n", ck[k], d, p, rs, no);
    }
    const size_t *s = corr->stat;
    printf("\ncircuits %zu (analysed %zu), with hosts %zu, fitted %zu; hosts %zu, read %zu; "
           "jobs %zu;\nflagged addresses %zu, mapped to a host %zu, answered deliberate %zu, "
           "passive %zu, research %zu, nothing %zu\n",
           s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9 + AN_CLASS_DELIBERATE],
           s[9 + AN_CLASS_PASSIVE], s[9 + AN_CLASS_RESEARCH], s[9 + AN_CLASS_NONE]);
}

static void usage(void)
{
    fprintf(stderr, "usage: wa_bench_corrtime -D DIR [-r rounds]\n"
                    "  DIR: what wa_bench_corrgen wrote (plain.conf, site.conf, truth.txt)\n"
                    "  -r 5      measured rounds, each a run of both sides\n");
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--child") == 0)
        return child(argv[2], argv[3], argv[4]);
    const char *dir = NULL;
    int rounds = 5, opt;
    while ((opt = getopt(argc, argv, "D:r:h")) != -1) {
        switch (opt) {
        case 'D':
            dir = optarg;
            break;
        case 'r':
            rounds = atoi(optarg);
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (!dir || rounds < 1 || rounds > ROUNDS_MAX) {
        usage();
        return 2;
    }
    char conf[2][512], tpath[512];
    snprintf(conf[0], sizeof conf[0], "%s/plain.conf", dir);
    snprintf(conf[1], sizeof conf[1], "%s/site.conf", dir);
    snprintf(tpath, sizeof tpath, "%s/truth.txt", dir);
    int64_t from = 0, to = 0;
    size_t nt = 0;
    truth_t *truth = malloc(TRUTH_MAX * sizeof *truth);
    if (!truth || read_truth(tpath, &from, &to, truth, &nt) < 0 || !from || !to) {
        fprintf(stderr, "corrtime: %s: %s\n", tpath, strerror(errno ? errno : EINVAL));
        return 2;
    }
    static const char *const side_name[] = {"plain", "hosts"};
    run_t runs[2][ROUNDS_MAX], warm;
    double l0 = loadavg(), t0 = now_s();
    printf("corrtime: %s, window %.0f days; load average %.2f at the start\n", dir,
           (double)(to - from) / 86400, l0);
    for (int k = 0; k < rounds; k++) {
        printf("  round %d:", k + 1);
        for (int j = 0; j < 2; j++) {
            int side = (k + j) % 2; /* who goes first alternates */
            run_t *r = &runs[side][k];
            /* The same run unmeasured first: every page the measured one reads is cached. */
            if (measure(conf[side], from, to, &warm) < 0 || measure(conf[side], from, to, r) < 0)
                return 1;
            free(warm.cf);
            free(warm.pd);
            printf("  %s %.2f s (collect %.2f + JSON %.2f, cpu %.2f s; warm-up %.2f s)",
                   side_name[side], r->coll_w + r->write_w, r->coll_w, r->write_w,
                   r->coll_c + r->write_c, warm.coll_w + warm.write_w);
        }
        printf("\n");
        fflush(stdout);
    }
    double l1 = loadavg();

    double wall[2], cpu[2], coll[2], wr[2], load[2], v[ROUNDS_MAX];
    long rss[2], inblock[2], majflt[2];
    for (int side = 0; side < 2; side++) {
        rss[side] = inblock[side] = majflt[side] = 0;
        for (int k = 0; k < rounds; k++)
            v[k] = runs[side][k].coll_w + runs[side][k].write_w;
        wall[side] = median(v, rounds);
        for (int k = 0; k < rounds; k++)
            v[k] = runs[side][k].coll_c + runs[side][k].write_c;
        cpu[side] = median(v, rounds);
        for (int k = 0; k < rounds; k++)
            v[k] = runs[side][k].coll_w;
        coll[side] = median(v, rounds);
        for (int k = 0; k < rounds; k++)
            v[k] = runs[side][k].write_w;
        wr[side] = median(v, rounds);
        for (int k = 0; k < rounds; k++)
            v[k] = runs[side][k].load_w;
        load[side] = median(v, rounds);
        for (int k = 0; k < rounds; k++) {
            rss[side] = runs[side][k].rss_kb > rss[side] ? runs[side][k].rss_kb : rss[side];
            inblock[side] += runs[side][k].inblock;
            majflt[side] += runs[side][k].majflt;
        }
    }
    double ratio = wall[1] / wall[0];
    printf("\n%d rounds in %.0f s, load average %.2f at the start and %.2f at the end.  Page cache "
           "warm for both sides\n(each measured run follows an unmeasured run of the same side); "
           "disk reads of the measured runs:\nplain %.1f MB (%ld major faults), hosts %.1f MB "
           "(%ld).  Medians over the rounds; an_collect + an_write (JSON) to /dev/null:\n",
           rounds, now_s() - t0, l0, l1, (double)inblock[0] / 2048.0, majflt[0],
           (double)inblock[1] / 2048.0, majflt[1]);
    printf("  %-34s %9s %9s %9s %9s %12s %9s\n", "", "total s", "collect", "JSON", "cpu s",
           "config load", "peak RSS");
    printf("  %-34s %9.2f %9.2f %9.2f %9.2f %12.3f %6.0f MB\n", "plain (plain.conf, no hosts)",
           wall[0], coll[0], wr[0], cpu[0], load[0], rss[0] / 1024.0);
    printf("  %-34s %9.2f %9.2f %9.2f %9.2f %12.3f %6.0f MB\n", "correlation (site.conf, hosts)",
           wall[1], coll[1], wr[1], cpu[1], load[1], rss[1] / 1024.0);
    printf("ratio correlation / plain: %.2f (an_collect alone %.2f; cpu %.2f, which %s; peak RSS "
           "%.2f)\n  -> target <= %.1f: %s\n",
           ratio, coll[1] / coll[0], cpu[1] / cpu[0],
           cpu[1] / cpu[0] <= TARGET ? "would meet it" : "would not meet it either",
           (double)rss[1] / (double)rss[0], TARGET, ratio <= TARGET ? "PASS" : "FAIL");

    const run_t *last = &runs[1][rounds - 1];
    report_findings(&runs[0][rounds - 1], last);
    report_truth(last, truth, nt);
    for (int side = 0; side < 2; side++) {
        for (int k = 0; k < rounds; k++) {
            free(runs[side][k].cf);
            free(runs[side][k].pd);
        }
    }
    free(truth);
    return ratio <= TARGET ? 0 : 1;
}
