/*
 * The correlation of one channel with the hosts on it, inside the site layer's pass over the
 * channels (docs/correlate.md): while the channel's power is in memory, each of its hosts'
 * files is read once, brought onto the channel's grid, the circuit is fitted (correlate.c),
 * and every finding of the channel gets its class.  Memory is one circuit's: the power, and
 * one utilisation series per host on it.
 */
#include "analysis/site-private.h"

#include "analysis/correlate-private.h"
#include "common/common.h"
#include "storage/storage.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SECONDS_PER_DAY 86400
#define DEFAULT_REF_DAYS 7
/* Days either side of an onset over which the power and the hosts' load are compared. */
#define ATTRIB_DAYS 3
/* The hosts account for a finding when their load rose by at least this share of the power. */
#define ATTRIB_SHARE 0.5
/* A host takes part in a finding when its own rise is at least this share of it. */
#define ATTRIB_HOST_SHARE 0.1
/* Rows of the reference period wanted per unknown of the fit before a coarser grid is taken:
 * regression wants 10 to 20 observations per parameter (Harrell, Regression Modeling
 * Strategies, 2nd ed. 2015, sec. 4.4); the robust fit down-weights some, so the upper end. */
#define ROWS_PER_UNKNOWN 20
/* What may be left beside the jobs' hosts for a finding to count as research: less than a
 * finding's smallest size (the channel layer's default min_step_w) and a quarter of it. */
#define RESEARCH_REST_W 100.0
#define RESEARCH_REST_SHARE 0.25
/* Utilisation counted as busy when judging whether jobs cover a rise (correlate.c's default). */
#define BUSY 0.8

void an_corr_free(an_corr_t *c)
{
    if (!c)
        return;
    free(c->hosts);
    free(c->findings);
    free(c);
}

/* ---- utilisation onto the circuit's grid ---- */

void an_regrid(const double *src, size_t m, int64_t s0, int ss, double *dst, size_t n, int64_t d0,
               int ds)
{
    size_t i = 0;
    for (size_t j = 0; j < n; j++) {
        int64_t a = d0 + (int64_t)j * ds, b = a + ds;
        double sum = 0, cov = 0;
        while (i < m && s0 + (int64_t)(i + 1) * ss <= a)
            i++;
        for (size_t k = i; k < m; k++) {
            int64_t x = s0 + (int64_t)k * ss, y = x + ss;
            if (x >= b)
                break;
            int64_t lo = x > a ? x : a, hi = y < b ? y : b;
            if (hi > lo && !isnan(src[k])) {
                sum += src[k] * (double)(hi - lo);
                cov += (double)(hi - lo);
            }
        }
        dst[j] = cov >= 0.5 * ds ? sum / cov : NAN;
    }
}

/* Reads data source ds of a host file onto the grid and keeps the larger value in u: the
 * utilisation is the larger of CPU and GPU where both are known (docs/correlate.md).  1 if
 * the source had a value, 0 if none (or no such source), -1 if the file cannot be read. */
static int read_util(const char *file, const char *ds, const char *rrdcached, double *u,
                     double *tmp, size_t n, int64_t start, int step, char *err, size_t errlen)
{
    storage_series_t s;
    if (storage_fetch(file, ds, "AVERAGE", start, start + (int64_t)n * step, step, rrdcached, &s,
                      err, errlen) < 0)
        return errno == ENOENT ? 0 : -1; /* ENOENT: the file has no such source */
    an_regrid(s.v, s.n, s.start, s.step, tmp, n, start, step);
    free(s.v);
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        double v = tmp[i];
        if (isnan(v))
            continue;
        /* A busy fraction cannot leave 0..1; a rounding collector may overshoot a little. */
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        any = 1;
        u[i] = isnan(u[i]) || v > u[i] ? v : u[i];
    }
    return any;
}

/* ---- classes of the channel layer's findings ---- */

static void set_class(an_finding_t *f, an_class_t c, const char *why)
{
    f->cls = c;
    wa_strlcpy(f->cls_why, why, sizeof f->cls_why);
}

/* The shape alone: a load at nights and weekends only is what a trojan leaves on office PCs
 * (their owners use them by day); one around the clock is a machine run for the purpose. */
static void class_by_shape(an_finding_t *f, const char *more)
{
    char why[192];
    if (f->explained_by[0]) {
        /* The research class is "covered by declarations": a declared server too. */
        snprintf(why, sizeof why, "covered by the declared load %s", f->explained_by);
        set_class(f, AN_CLASS_RESEARCH, why);
    } else if (f->kind == AN_OFF_HOURS) {
        snprintf(why, sizeof why, "runs at nights and weekends only: a trojan's pattern%s", more);
        set_class(f, AN_CLASS_PASSIVE, why);
    } else {
        snprintf(why, sizeof why, "runs day and night: a machine run for the purpose%s", more);
        set_class(f, AN_CLASS_DELIBERATE, why);
    }
}

typedef struct circ {
    const double *w;
    size_t n;
    int64_t start;
    int step;
    const cr_host_t *h;
    size_t nh;
    const cr_circuit_t *c;
    const cr_job_t *jobs;
    size_t nj;
    const cr_opts_t *o;
} circ_t;

static int job_names(const cr_job_t *j, const char *host)
{
    size_t hl = strlen(host);
    for (const char *p = j->hosts; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == hl && strncmp(p, host, hl) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

/* Means over [a, b) of the power and of each host's explained load (slope x utilisation),
 * each over its known samples; with off_only, over nights and weekends alone. */
static void means(const circ_t *x, size_t a, size_t b, int off_only, double *w, double *hk)
{
    double sw = 0;
    size_t nw = 0;
    for (size_t k = 0; k < x->nh; k++)
        hk[2 * k] = hk[2 * k + 1] = 0;
    for (size_t i = a; i < b; i++) {
        if (off_only && !cr_off_hours(x->start + (int64_t)(i + 1) * x->step, x->o))
            continue;
        if (!isnan(x->w[i])) {
            sw += x->w[i];
            nw++;
        }
        for (size_t k = 0; k < x->nh; k++)
            if (x->h[k].u && !isnan(x->h[k].u[i])) {
                hk[2 * k] += x->c->slope[k] * x->h[k].u[i];
                hk[2 * k + 1] += 1;
            }
    }
    *w = nw ? sw / (double)nw : NAN;
    for (size_t k = 0; k < x->nh; k++)
        hk[2 * k] = hk[2 * k + 1] > 0 ? hk[2 * k] / hk[2 * k + 1] : 0;
}

/* The correlation finding about host id, or NULL. */
static const an_corr_finding_t *host_finding(const an_corr_t *ac, const char *id)
{
    for (size_t i = 0; i < ac->n_findings; i++)
        if (strcmp(ac->findings[i].host, id) == 0)
            return &ac->findings[i];
    return NULL;
}

static void clear_rigs(an_finding_t *f)
{
    f->rigs_min = f->rigs_max = 0;
    f->rig_kind[0] = '\0';
    f->n_rig_fits = 0;
    f->rig_basis = AN_RIG_NONE;
}

/* Whose is finding f: the hosts' load (their rise over ATTRIB_DAYS either side of the onset,
 * set against the power's), or what no host accounts for (the residual).  The class follows:
 * declared jobs covering the hosts' busy time make it research (and explained); else the
 * class of the correlation's finding about the host or the residual; else the shape's. */
static size_t index_of(const circ_t *x, int64_t t)
{
    size_t i = t > x->start ? (size_t)((t - x->start) / x->step) : 0;
    return i > x->n ? x->n : i;
}

static void classify(const circ_t *x, const an_corr_t *ac, const an_channel_t *ch, an_finding_t *f,
                     double *hk)
{
    char why[192], names[96] = "";
    size_t day = (size_t)(SECONDS_PER_DAY / x->step), span = ATTRIB_DAYS * (day ? day : 1);
    size_t io = index_of(x, f->onset), ie = index_of(x, f->end), lo = io > span ? io - span : 0;
    if (ie <= io)
        ie = x->n;
    if (ie > io + span)
        ie = io + span;
    /* The channel's other findings bound the windows: a load that starts a day later is its
     * own finding, not part of this one's rise. */
    for (size_t k = 0; k < ch->n_findings; k++) {
        size_t j = index_of(x, ch->findings[k].onset);
        if (j > io && j < ie)
            ie = j;
        if (j < io && j > lo)
            lo = j;
    }
    int off = f->kind == AN_OFF_HOURS;
    double wa, wb = NAN, dw, dh = 0;
    double *before = hk + 2 * x->nh;
    means(x, io, ie, off, &wa, hk);
    if (io > 0)
        means(x, lo, io, off, &wb, before);
    int level = isnan(wb); /* no time before it (flat_24x7): the hosts' whole load counts */
    for (size_t k = 0; k < x->nh; k++) {
        hk[2 * k] -= level ? 0 : before[2 * k];
        dh += hk[2 * k];
    }
    dw = level ? f->step_w : wa - wb;
    if (f->explained_by[0] || !(dw > 0) || isnan(dh)) {
        class_by_shape(f, "");
        return;
    }
    if (dh < ATTRIB_SHARE * dw) {
        for (size_t i = 0; i < ac->n_findings; i++)
            if (ac->findings[i].kind == AN_CORR_RESIDUAL) {
                /* The residual's own words say that no host accounts for it. */
                set_class(f, ac->findings[i].cls, ac->findings[i].why);
                return;
            }
        class_by_shape(f, level ? "; it was there in the reference period, so the fit cannot "
                                  "place it"
                                : "; the hosts' load does not account for it");
        return;
    }
    /* The hosts account for it: which ones, and which of them ran declared jobs (half their
     * busy time or more within jobs that name them). */
    size_t top = x->nh, top_free = x->nh, n_named = 0, busy_all = 0, covered_all = 0;
    double in_jobs = 0;
    char jobs[128] = "";
    for (size_t k = 0; k < x->nh; k++) {
        if (hk[2 * k] < ATTRIB_HOST_SHARE * dw)
            continue;
        const char *id = x->h[k].cfg->id;
        size_t busy = 0, covered = 0;
        for (size_t i = io; i < ie; i++) {
            double u = x->h[k].u ? x->h[k].u[i] : NAN;
            if (isnan(u) || u < BUSY)
                continue;
            int64_t t = x->start + (int64_t)(i + 1) * x->step;
            busy++;
            for (size_t j = 0; j < x->nj; j++)
                if (t > x->jobs[j].from && t - x->step < x->jobs[j].to &&
                    job_names(&x->jobs[j], id)) {
                    covered++;
                    if (!strstr(jobs, x->jobs[j].id) &&
                        strlen(jobs) + strlen(x->jobs[j].id) + 2 < sizeof jobs)
                        snprintf(jobs + strlen(jobs), sizeof jobs - strlen(jobs), "%s%s",
                                 jobs[0] ? "," : "", x->jobs[j].id);
                    break;
                }
        }
        busy_all += busy;
        covered_all += covered;
        if (busy && 2 * covered >= busy) {
            in_jobs += hk[2 * k];
        } else if (top_free == x->nh || hk[2 * k] > hk[2 * top_free]) {
            top_free = k;
        }
        if (top == x->nh || hk[2 * k] > hk[2 * top])
            top = k;
        if (n_named < 3 && strlen(names) + strlen(id) + 3 < sizeof names)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     n_named ? ", " : "", id);
        else if (n_named == 3)
            snprintf(names + strlen(names), sizeof names - strlen(names), " and more");
        n_named++;
    }
    if (top == x->nh) {
        class_by_shape(f, "; the hosts' load accounts for it, spread over many");
        return;
    }
    /* Research only when the jobs' hosts carry most of it and what is left is too small to be
     * a load of its own: a miner that starts beside a job is not explained by the job. */
    double rest = dw - in_jobs;
    if (in_jobs >= ATTRIB_SHARE * dw && rest < fmax(RESEARCH_REST_W, RESEARCH_REST_SHARE * dw)) {
        snprintf(f->explained_by, sizeof f->explained_by, "research job%s %.110s",
                 strchr(jobs, ',') ? "s" : "", jobs);
        clear_rigs(f);
        snprintf(why, sizeof why, "declared jobs %.60s on %.60s cover %.0f%% of the busy time",
                 jobs, names, busy_all ? 100.0 * (double)covered_all / (double)busy_all : 0.0);
        set_class(f, AN_CLASS_RESEARCH, why);
        return;
    }
    /* Else the host outside jobs that rose most speaks for it, or the residual does. */
    size_t who = top_free != x->nh ? top_free : top;
    const an_corr_finding_t *hf = host_finding(ac, x->h[who].cfg->id);
    if (hf && hf->kind != AN_CORR_HOST_RESEARCH) {
        /* Beside jobs, the miner is named alone; else every host that rose. */
        snprintf(why, sizeof why, "the load of %.60s: %.110s",
                 in_jobs > 0 ? x->h[who].cfg->id : names, hf->why);
        set_class(f, hf->cls, why);
        return;
    }
    for (size_t i = 0; in_jobs > 0 && i < ac->n_findings; i++)
        if (ac->findings[i].kind == AN_CORR_RESIDUAL) {
            snprintf(why, sizeof why,
                     "beside declared jobs, no monitored host accounts for "
                     "the rest: %.110s",
                     ac->findings[i].why);
            set_class(f, ac->findings[i].cls, why);
            return;
        }
    snprintf(why, sizeof why, "; the load of %s, monitored hosts", names);
    class_by_shape(f, why);
}

/* ---- the circuit ---- */

static void copy_finding(const cr_finding_t *s, an_corr_finding_t *d)
{
    static const an_corr_kind_t kinds[] = {AN_CORR_RESIDUAL, AN_CORR_HOST_FULL,
                                           AN_CORR_HOST_OFF_HOURS, AN_CORR_HOST_RESEARCH};
    static const an_class_t classes[] = {AN_CLASS_DELIBERATE, AN_CLASS_PASSIVE, AN_CLASS_RESEARCH};
    memset(d, 0, sizeof *d);
    d->kind = kinds[s->kind];
    d->cls = classes[s->cls];
    wa_strlcpy(d->host, s->host, sizeof d->host);
    d->onset = s->onset;
    d->w = s->w;
    d->count_min = s->count_min;
    d->count_max = s->count_max;
    wa_strlcpy(d->explained_by, s->explained_by, sizeof d->explained_by);
    wa_strlcpy(d->why, s->why, sizeof d->why);
    for (size_t i = 0; i < s->n_evidence && i < AN_EVIDENCE_MAX; i++) {
        an_evidence_t *e = &d->evidence[d->n_evidence++];
        wa_strlcpy(e->name, s->evidence[i].name, sizeof e->name);
        e->value = s->evidence[i].value;
        e->threshold = NAN;
        e->passed = 1;
    }
}

/* Local time minus UTC at t in tz: correlate.c uses one offset for the run (docs/correlate.md,
 * "Where it fails"). */
static long tz_offset(int64_t t, const char *tz)
{
    struct tm tm;
    return wa_time_local(t, tz, &tm) == 0 ? tm.tm_gmtoff : 0;
}

/* The reference period: o's, else from the window's start; 7 days unless its end is given. */
static void ref_period(const an_run_opts_t *o, int64_t start, int64_t *from, int64_t *to)
{
    *from = o->ref_from ? o->ref_from : start;
    *to = o->ref_to ? o->ref_to : *from + (int64_t)DEFAULT_REF_DAYS * SECONDS_PER_DAY;
}

/* Reads the hosts on the circuit into u (nh x n) and fits it: fills ac and cc.  1 if fitted,
 * 0 if not (ac->note says why). */
static int fit_circuit(an_site_corr_t *sc, const an_run_opts_t *o, const char *rrdcached,
                       an_site_result_t *site, const size_t *idx, size_t nh, const double *w,
                       size_t n, int64_t start, int step, cr_opts_t *co, double *u, double *tmp,
                       cr_host_t *hosts, cr_job_t **jobs, int *nj, an_corr_t *ac, cr_circuit_t *cc)
{
    char err[256];
    ac->n_hosts = nh;
    for (size_t k = 0; k < nh; k++) {
        an_host_t *h = &site->hosts[idx[k]];
        an_corr_host_t *ch = &ac->hosts[k];
        double *uk = u + k * n;
        struct stat sb;
        hosts[k].cfg = an_site_corr_host(sc, idx[k]);
        wa_strlcpy(ch->id, h->id, sizeof ch->id);
        ch->mean_util = NAN;
        for (size_t i = 0; i < n; i++)
            uk[i] = NAN;
        if (stat(h->file, &sb) < 0) {
            snprintf(h->note, sizeof h->note, "no utilisation file (%.200s)", h->file);
            continue;
        }
        /* storage_fetch reads one data source a call, so a source the host cannot have is
         * not read: cpu needs a node_exporter, gpu a DCGM exporter.  A host with neither has
         * its utilisation imported (docs/import.md): both are read. */
        const sc_host_t *hc = hosts[k].cfg;
        int none = !hc->exporter[0] && !hc->gpu_exporter[0];
        int cpu = none || hc->exporter[0] ? read_util(h->file, "cpu", rrdcached, uk, tmp, n, start,
                                                      step, err, sizeof err)
                                          : 0;
        int gpu = cpu < 0                       ? -1
                  : none || hc->gpu_exporter[0] ? read_util(h->file, "gpu", rrdcached, uk, tmp, n,
                                                            start, step, err, sizeof err)
                                                : 0;
        if (cpu < 0 || gpu < 0) {
            wa_strlcpy(h->note, err, sizeof h->note);
            continue;
        }
        snprintf(h->source, sizeof h->source, "%s%s%s", cpu > 0 ? "cpu" : "",
                 cpu > 0 && gpu > 0 ? "+" : "", gpu > 0 ? "gpu" : "");
        double s = 0;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(uk[i])) {
                s += uk[i];
                m++;
            }
        if (m == 0) {
            snprintf(h->note, sizeof h->note, "its file has no cpu or gpu value in the window");
            continue;
        }
        h->read = 1;
        h->note[0] = '\0';
        h->mean_util = ch->mean_util = s / (double)m;
        h->coverage = ch->coverage = (double)m / (double)n;
        hosts[k].u = uk;
    }

    ref_period(o, start, &co->ref_from, &co->ref_to);
    ac->ref_from = co->ref_from;
    ac->ref_to = co->ref_to;
    *nj = an_site_corr_jobs(sc, idx, nh, start, start + (int64_t)n * step, jobs);
    if (*nj < 0) {
        *nj = 0;
        snprintf(ac->note, sizeof ac->note, "out of memory");
        return 0;
    }
    if (cr_circuit_analyze(w, n, start, step, hosts, nh, *jobs, (size_t)*nj, co, cc, err,
                           sizeof err) < 0) {
        snprintf(ac->note, sizeof ac->note, "not fitted: %.240s", err);
        return 0;
    }
    ac->idle_w = cc->idle_w;
    ac->r2 = cc->r2;
    ac->resid_sd_w = cc->resid_mad_w;
    ac->resid_mean_w = cc->resid_mean_w;
    ac->pearson = cc->pearson;
    ac->spearman = cc->spearman;
    ac->best_lag_s = cc->best_lag * step;
    ac->best_lag_r = cc->best_lag_r;
    for (size_t k = 0; k < nh; k++) {
        ac->hosts[k].slope_w = cc->slope[k];
        ac->hosts[k].slope_fitted = cc->slope_fitted[k];
    }
    ac->findings = calloc(cc->n_findings ? cc->n_findings : 1, sizeof *ac->findings);
    if (!ac->findings) {
        snprintf(ac->note, sizeof ac->note, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < cc->n_findings; i++)
        copy_finding(&cc->findings[i], &ac->findings[ac->n_findings++]);
    if (co->ref_to - start >= (int64_t)n * step)
        snprintf(ac->note, sizeof ac->note,
                 "the reference period covers the whole window: nothing after it to judge");
    ac->fitted = 1;
    return 1;
}

/* The correlation's grid (docs/correlate.md, "The grid"): o->corr_step if given, else the
 * coarsest of the storage's long and mid archive steps (1 h and 5 min at the defaults;
 * docs/rrd-layout.md) at which the reference period still gives ROWS_PER_UNKNOWN rows for each
 * unknown of the fit, else the circuit's own.  Host files are read from that archive: an hour's
 * rows are a sixtieth of a minute's, and loads that last days lose nothing by it.  Returns how
 * many of the circuit's steps make one of the grid's. */
static size_t grid_factor(const an_run_opts_t *o, int step, size_t nh, int64_t ref_len)
{
    if (o->corr_step > 0)
        return o->corr_step > step ? (size_t)(o->corr_step / step) : 1;
    int steps[2] = {3600, 300};
    if (o->cfg && o->cfg->storage.long_step_s > 0)
        steps[0] = o->cfg->storage.long_step_s;
    if (o->cfg && o->cfg->storage.mid_step_s > 0)
        steps[1] = o->cfg->storage.mid_step_s;
    for (size_t i = 0; i < 2; i++)
        if (steps[i] > step && ref_len / steps[i] >= (int64_t)(ROWS_PER_UNKNOWN * (1 + nh)))
            return (size_t)(steps[i] / step);
    return 1;
}

/* Means of g consecutive steps, known when at least half of them are. */
static void coarsen(const double *w, size_t n, size_t g, double *out, size_t m)
{
    for (size_t j = 0; j < m; j++) {
        double s = 0;
        size_t k = 0, e = (j + 1) * g < n ? (j + 1) * g : n;
        for (size_t i = j * g; i < e; i++)
            if (!isnan(w[i])) {
                s += w[i];
                k++;
            }
        out[j] = 2 * k >= g ? s / (double)k : NAN;
    }
}

/* Length of the device part of a channel id ("site/device" of "site/device/channel"). */
static size_t device_len(const char *id)
{
    const char *last = strrchr(id, '/');
    return last ? (size_t)(last - id) : 0;
}

/* The hosts whose load c carries: its own, and on a device's total those of its parts too,
 * which the total feeds (so that a load the parts' jobs explain is explained on the total as
 * well).  Into *mine (malloc'd, or NULL when idx, the channel's own, is all); the count. */
static size_t hosts_carried(const an_site_corr_t *sc, const an_site_result_t *site,
                            const an_channel_result_t *c, const size_t **idx, size_t **mine)
{
    size_t n = 0, dl = device_len(c->id);
    *mine = NULL;
    *idx = an_site_corr_hosts_on(sc, c->id, &n);
    if (c->role != AN_ROLE_TOTAL)
        return n;
    size_t total = n;
    for (size_t i = 0; i < site->n_channels; i++) {
        const an_channel_result_t *p = &site->channels[i];
        size_t k = 0;
        if (p->role == AN_ROLE_PART && device_len(p->id) == dl && !strncmp(p->id, c->id, dl))
            an_site_corr_hosts_on(sc, p->id, &k);
        total += k;
    }
    if (total == n || !(*mine = malloc(total * sizeof **mine)))
        return n;
    if (n)
        memcpy(*mine, *idx, n * sizeof **mine);
    for (size_t i = 0; i < site->n_channels; i++) {
        const an_channel_result_t *p = &site->channels[i];
        size_t k = 0;
        const size_t *v = NULL;
        if (p->role == AN_ROLE_PART && device_len(p->id) == dl && !strncmp(p->id, c->id, dl))
            v = an_site_corr_hosts_on(sc, p->id, &k);
        if (k)
            memcpy(*mine + n, v, k * sizeof **mine);
        n += k;
    }
    *idx = *mine;
    return n;
}

void an_channel_correlate(an_site_corr_t *sc, const an_run_opts_t *o, const char *rrdcached,
                          an_site_result_t *site, an_channel_result_t *c, const double *w, size_t n,
                          int64_t start, int step)
{
    const size_t *idx;
    size_t *mine;
    size_t nh = hosts_carried(sc, site, c, &idx, &mine);
    double *u = NULL, *tmp = NULL, *hk = NULL, *wc = NULL;
    cr_host_t *hosts = NULL;
    cr_job_t *jobs = NULL;
    int nj = 0, fitted = 0;
    cr_circuit_t cc;
    const char *tz = site->tz[0] ? site->tz : o->channel.tz;
    cr_opts_t co = {.night_from = 22, .night_to = 6, .tz_offset_s = tz_offset(start, tz)};
    int64_t end = start + (int64_t)n * step, rf, rt;
    ref_period(o, start, &rf, &rt);
    int64_t ref_len = (rt < end ? rt : end) - (rf > start ? rf : start);
    size_t g = grid_factor(o, step, nh, ref_len), m = n / g;
    int gstep = (int)g * step;

    memset(&cc, 0, sizeof cc);
    if (nh > 0 && m > 0) {
        an_corr_t *ac = c->corr = calloc(1, sizeof *c->corr);
        u = malloc(nh * m * sizeof *u);
        tmp = malloc(m * sizeof *tmp);
        wc = malloc(m * sizeof *wc);
        hk = malloc(4 * nh * sizeof *hk);
        hosts = calloc(nh, sizeof *hosts);
        if (ac && (ac->hosts = calloc(nh, sizeof *ac->hosts)) && u && tmp && wc && hk && hosts) {
            coarsen(w, n, g, wc, m);
            fitted = fit_circuit(sc, o, rrdcached, site, idx, nh, wc, m, start, gstep, &co, u, tmp,
                                 hosts, &jobs, &nj, ac, &cc);
        } else if (ac) {
            snprintf(ac->note, sizeof ac->note, "out of memory");
        }
    }
    circ_t x = {wc, m, start, gstep, hosts, nh, &cc, jobs, (size_t)nj, &co};
    for (size_t k = 0; k < c->ch.n_findings; k++) {
        if (fitted)
            classify(&x, c->corr, &c->ch, &c->ch.findings[k], hk);
        else
            class_by_shape(&c->ch.findings[k], "");
    }
    cr_circuit_free(&cc);
    free(jobs);
    free(hosts);
    free(hk);
    free(wc);
    free(tmp);
    free(u);
    free(mine);
}
