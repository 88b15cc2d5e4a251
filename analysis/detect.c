/*
 * detect.c: the findings of one channel (flat_24x7, step_up, off_hours) with their evidence,
 * size, interval, energy, rig estimate and score.  Methods and thresholds: docs/analysis.md.
 *
 * Order of work: one pass over the samples builds the day table (shape.c); the base-load
 * series of the days goes through PELT (pelt.c); each change is dated at full resolution on
 * the residual from a reference profile; each upward change that lasts is measured slot by
 * slot on the hourly means of the days either side, with a bootstrap over days.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_sort_double.h>

#include "analysis/detect-private.h"
#include "common/common.h"

/* Documented defaults (docs/analysis.md, "Thresholds"). */
#define DEF_FLAT_LF 0.8
#define DEF_MIN_STEP_W 100.0
#define DEF_PERSIST_S (5 * 86400.0)
#define DEF_NOISE_K 5.0
#define FLAT_VARIATION_MAX 0.3  /* (near-peak - near-base) / mean */
#define FLAT_AMPLITUDE_MAX 0.05 /* daily and weekly harmonic amplitude / mean */
#define FLAT_ON_DAYS_MIN 0.9    /* "present on nearly every day" */
#define ABRUPT_MIN 0.5          /* the step within two days, over the step between segments */
#define OFF_HOURS_RATIO 0.5     /* working-hours step over the base step, below: off_hours */
#define MIN_WORK_SLOTS 3
#define WINDOW_DAYS 14          /* days either side a step is measured over */
/* A day more than this many robust sd (1.4826 MAD) off its side's median is an outlier: the
 * Hampel identifier's usual threshold (Pearson, IEEE Trans. Control Systems Technology 10
 * (2002) 55-63). */
#define OUTLIER_K 3.0
#define REF_DAYS 7              /* reference days for the full-resolution profile */
#define BOOT_N 200              /* bootstrap resamples for the 95% interval */
#define BOOT_SEED 20120612u     /* any fixed seed: the same data give the same interval */
#define DECL_SLACK_S 86400      /* a declaration's start may be a day off the onset */
/* MBIC-style penalty 3 ln(n) per change (Zhang and Siegmund, Biometrics 63 (2007) 22-32; the
 * default of Killick's changepoint package) on a cost in units of the noise variance. */
#define PELT_PEN_PER_LOG 3.0

const char *an_kind_name(an_kind_t k)
{
    switch (k) {
    case AN_FLAT_24X7: return "flat_24x7";
    case AN_STEP_UP: return "step_up";
    case AN_OFF_HOURS: return "off_hours";
    }
    return "unknown";
}

void an_evidence_add(an_finding_t *f, const char *name, double value, double threshold,
                     const char *op)
{
    an_evidence_t *e;
    if (f->n_evidence >= AN_EVIDENCE_MAX)
        return;
    e = &f->evidence[f->n_evidence++];
    wa_strlcpy(e->name, name, sizeof e->name);
    wa_strlcpy(e->op, op, sizeof e->op);
    e->value = value;
    e->threshold = threshold;
    if (!op[0] || isnan(threshold))
        e->passed = 1;
    else if (!strcmp(op, ">="))
        e->passed = value >= threshold;
    else if (!strcmp(op, "<="))
        e->passed = value <= threshold;
    else if (!strcmp(op, ">"))
        e->passed = value > threshold;
    else
        e->passed = value < threshold;
}

static int all_passed(const an_finding_t *f)
{
    for (size_t i = 0; i < f->n_evidence; i++)
        if (!f->evidence[i].passed)
            return 0;
    return 1;
}

void an_channel_free(an_channel_t *c)
{
    if (!c)
        return;
    free(c->findings);
    c->findings = NULL;
    c->n_findings = 0;
}

typedef struct ctx {
    an_work_t *wk;
    an_channel_t *out;
    size_t cap;
    double flat_lf, min_step, persist, noise_k;
    const an_rig_t *rigs;
    size_t n_rigs;
    const an_declared_t *decl;
    size_t n_decl;
    gsl_rng *rng;
    double *res;   /* residual window and its weights, lazily allocated */
    double *wgt;
    size_t res_len;
    double *prof;  /* reference profile: 2 day types x spd slots */
    double prof_sd[2][24]; /* its robust spread per local hour */
} ctx_t;

static an_finding_t *push(ctx_t *cx)
{
    if (cx->out->n_findings == cx->cap) {
        size_t cap = cx->cap ? 2 * cx->cap : 4;
        an_finding_t *p = realloc(cx->out->findings, cap * sizeof *p);
        if (!p)
            return NULL;
        cx->out->findings = p;
        cx->cap = cap;
    }
    an_finding_t *f = &cx->out->findings[cx->out->n_findings];
    memset(f, 0, sizeof *f);
    return f;
}

static void explain(const ctx_t *cx, an_finding_t *f)
{
    for (size_t i = 0; i < cx->n_decl; i++) {
        const an_declared_t *d = &cx->decl[i];
        /* A load declared as there before the data explains the channel's shape, not a load
         * that appeared later: a server room does not excuse an ASIC plugged in beside it. */
        int before = d->from <= cx->wk->start;
        if (f->kind == AN_FLAT_24X7 ? !before : before)
            continue;
        int64_t from = before ? INT64_MIN : d->from - DECL_SLACK_S;
        if (f->onset < from || f->onset > d->to)
            continue;
        if (f->step_hi < d->w_min || f->step_lo > d->w_max)
            continue;
        wa_strlcpy(f->explained_by, d->name, sizeof f->explained_by);
        return;
    }
}

static double half_life(double x)
{
    return x > 0.0 ? 1.0 - exp2(-x) : 0.0;
}

/* Median of a handful of values (a slot over the days of a window, a sample over the
 * reference days): insertion sort in place, which beats a general selection at this size.
 * Averages the middle pair for even n, as gsl_stats_median() does. */
static double small_median(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- flat_24x7 ---- */

static int day_full(const an_day_t *d)
{
    size_t expect = d->i1 - d->i0;
    return expect > 0 && 2 * d->n_valid >= expect;
}

/* The median of x[0..m) (sorted in place) and its distribution-free 95% interval: the order
 * statistics at m/2 -+ 1.96 sqrt(m)/2, from the binomial count of values below the true median
 * (Conover, Practical Nonparametric Statistics, 3rd ed. 1999, section 3.2).  One sort instead
 * of a bootstrap of medians. */
static double median_ci(double *x, size_t m, double *lo, double *hi)
{
    gsl_sort(x, 1, m);
    double half = 0.98 * sqrt((double)m);
    long l = (long)floor((double)m / 2.0 - half), u = (long)ceil((double)m / 2.0 + half) - 1;
    if (l < 0)
        l = 0;
    if (u > (long)m - 1)
        u = (long)m - 1;
    *lo = x[l];
    *hi = x[u];
    return gsl_stats_median_from_sorted_data(x, 1, m);
}

static int find_flat(ctx_t *cx)
{
    an_work_t *wk = cx->wk;
    const an_shape_t *s = &cx->out->shape;
    double *means = wk->dscratch;
    size_t m = 0, on = 0;
    an_finding_t f;

    for (size_t k = 0; k < wk->n_days; k++)
        if (day_full(&wk->days[k]))
            means[m++] = wk->days[k].sum / (double)wk->days[k].n_valid;
    if (m < 2 || !isfinite(s->mean_w))
        return 0;
    double level_lo, level_hi, level = median_ci(means, m, &level_lo, &level_hi);
    for (size_t i = 0; i < m; i++)
        on += means[i] >= 0.5 * level;
    double variation = (s->near_peak_w - s->near_base_w) / s->mean_w;
    double on_days = (double)on / (double)m;

    memset(&f, 0, sizeof f);
    an_evidence_add(&f, "mean_w", s->mean_w, cx->min_step, ">=");
    an_evidence_add(&f, "load_factor", s->load_factor, cx->flat_lf, ">=");
    an_evidence_add(&f, "robust_variation", variation, FLAT_VARIATION_MAX, "<=");
    an_evidence_add(&f, "daily_amplitude", s->daily_amplitude, FLAT_AMPLITUDE_MAX, "<=");
    an_evidence_add(&f, "weekly_amplitude", s->weekly_amplitude, FLAT_AMPLITUDE_MAX, "<=");
    an_evidence_add(&f, "on_days", on_days, FLAT_ON_DAYS_MIN, ">=");
    an_evidence_add(&f, "base_to_peak", s->base_to_peak, NAN, "");
    an_evidence_add(&f, "night_day_ratio", s->night_day_ratio, NAN, "");
    an_evidence_add(&f, "weekend_weekday_ratio", s->weekend_weekday_ratio, NAN, "");
    if (!all_passed(&f))
        return 0;

    f.kind = AN_FLAT_24X7;
    f.onset = wk->start;
    f.end = wk->start + (int64_t)wk->n * wk->step;
    f.step_w = level;
    f.step_lo = level_lo;
    f.step_hi = level_hi;
    f.excess_kwh = level * (double)(f.end - f.onset) / 3.6e6;
    double margin[4] = {
        (s->load_factor - cx->flat_lf) / (1.0 - cx->flat_lf),
        1.0 - variation / FLAT_VARIATION_MAX,
        1.0 - fmax(s->daily_amplitude, s->weekly_amplitude) / FLAT_AMPLITUDE_MAX,
        (on_days - FLAT_ON_DAYS_MIN) / (1.0 - FLAT_ON_DAYS_MIN),
    };
    double worst = 1.0;
    for (int i = 0; i < 4; i++)
        worst = fmin(worst, fmax(0.0, fmin(1.0, margin[i])));
    f.score = 0.5 + 0.5 * worst;
    explain(cx, &f);
    /* Rigs are for unexplained loads: a declared server room is not read as a number of them. */
    if (!f.explained_by[0])
        an_rig_estimate(cx->rigs, cx->n_rigs, level, NULL, &f);

    an_finding_t *slot = push(cx);
    if (!slot)
        return -1;
    *slot = f;
    cx->out->n_findings++;
    return 0;
}

/* ---- step_up and off_hours ---- */

typedef struct cut {
    size_t day;        /* first kept day of the new segment */
    long i;            /* first sample at the new level */
    double level;      /* segment level after the cut (adjusted base, W) */
    double local, t;   /* step and t statistic of the split inside the window */
} cut_t;

static size_t day_of_sample(const an_work_t *wk, size_t i)
{
    size_t lo = 0, hi = wk->n_days;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (wk->days[mid].i0 <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The reference profile of one day type: for each sample slot of the day, the median over up
 * to REF_DAYS kept days outside [skip0, skip1] of the sample less that day's base, and per
 * local hour the robust spread of the days about it (1.4826 MAD).  The days are the nearest of
 * the type before the window, else after it, else of either type before. */
static int build_profile(ctx_t *cx, int weekend, size_t skip0, size_t skip1, double *prof)
{
    an_work_t *wk = cx->wk;
    size_t ref[REF_DAYS], nref = 0, per_hour = wk->spd / 24 + 2;
    double *dev = wk->scratch;
    size_t ndev = 0;
    int hour = 0;

    for (size_t k = skip0; k-- > 0 && nref < REF_DAYS;)
        if (wk->days[k].kept && wk->days[k].weekend == weekend)
            ref[nref++] = k;
    for (size_t k = skip1 + 1; nref == 0 && k < wk->n_days; k++)
        if (wk->days[k].kept && wk->days[k].weekend == weekend)
            ref[nref++] = k;
    for (size_t k = skip0; nref == 0 && k-- > 0;)
        if (wk->days[k].kept)
            ref[nref++] = k;
    if (nref == 0)
        return -1;
    for (int h = 0; h < 24; h++)
        cx->prof_sd[weekend][h] = NAN;
    for (size_t s = 0; s <= wk->spd; s++) {
        int h = s < wk->spd ? (int)((double)s * wk->step / 3600.0) : 24;
        if (h > 23 && s < wk->spd)
            h = 23;
        if (h != hour) {
            /* Close the hour: the spread of its samples about the profile. */
            if (ndev >= 3)
                cx->prof_sd[weekend][hour] = 1.4826 * gsl_stats_median(dev, 1, ndev);
            ndev = 0;
            hour = h;
        }
        if (s == wk->spd)
            break;
        double v[REF_DAYS];
        size_t m = 0;
        for (size_t r = 0; r < nref; r++) {
            const an_day_t *d = &wk->days[ref[r]];
            size_t i = d->i0 + s;
            if (i < d->i1 && isfinite(wk->w[i]))
                v[m++] = wk->w[i] - d->base;
        }
        prof[s] = m ? small_median(v, m) : NAN;
        for (size_t j = 0; j < m && ndev < per_hour * REF_DAYS; j++)
            dev[ndev++] = fabs(v[j] - prof[s]);
    }
    return 0;
}

/* Dates the change between kept days a (old level) and b (new level) at full resolution: the
 * residual from the reference profile, each sample weighted by its hour's spread so that a
 * busy afternoon does not outvote a quiet night. */
static int refine(ctx_t *cx, size_t a, size_t b, double delta, cut_t *c)
{
    an_work_t *wk = cx->wk;
    size_t i0 = wk->days[a].i0, i1 = wk->days[b].i1;
    /* After a long gap only its last week matters: the load started somewhere in the gap. */
    if (i1 - i0 > 9 * wk->spd)
        i0 = i1 - 9 * wk->spd;
    size_t len = i1 - i0;
    if (len > cx->res_len) {
        double *p = realloc(cx->res, len * sizeof *p), *q;
        if (!p)
            return -1;
        cx->res = p;
        q = realloc(cx->wgt, len * sizeof *q);
        if (!q)
            return -1;
        cx->wgt = q;
        cx->res_len = len;
    }
    int have[2] = {0, 0};
    for (int t = 0; t < 2; t++)
        have[t] = build_profile(cx, t, a, b, cx->prof + (size_t)t * wk->spd) == 0;
    /* The spread never counts below the day-to-day noise of the base itself. */
    double sd_floor = fmax(wk->base_sigma, 1e-3 * fabs(cx->out->shape.mean_w));
    for (size_t i = i0; i < i1; i++) {
        size_t k = day_of_sample(wk, i);
        const an_day_t *d = &wk->days[k];
        size_t s = i - d->i0;
        int h = (int)((double)s * wk->step / 3600.0);
        double p = have[d->weekend] && s < wk->spd ? cx->prof[(size_t)d->weekend * wk->spd + s] : NAN;
        double sd = h < 24 && have[d->weekend] ? cx->prof_sd[d->weekend][h] : NAN;
        cx->res[i - i0] = isfinite(wk->w[i]) ? wk->w[i] - p : NAN;
        sd = isfinite(sd) ? fmax(sd, sd_floor) : sd_floor;
        cx->wgt[i - i0] = 1.0 / (sd * sd);
    }
    long k = an_split(cx->res, cx->wgt, 0, len, delta > 0 ? 1 : -1, &c->local, &c->t);
    c->i = k < 0 ? (long)wk->days[b].i0 : (long)i0 + k;
    if (k < 0)
        c->local = c->t = NAN;
    return 0;
}

typedef struct meas {
    double step, lo, hi, work, work_lo, work_hi;
    double d[AN_SLOTS];     /* per-slot difference, NaN where not measured */
    size_t n_pre, n_post, n_base, n_work;
} meas_t;

/* Per-slot medians over the days listed, of their hourly means: a job of a day or two inside
 * a window of weeks does not move them. */
static void slot_means(const an_work_t *wk, const size_t *days, size_t nd, double *mean)
{
    double v[WINDOW_DAYS];
    for (int sl = 0; sl < AN_SLOTS; sl++) {
        size_t m = 0;
        for (size_t j = 0; j < nd; j++) {
            const an_day_t *d = &wk->days[days[j]];
            double x = d->hour[sl % 24];
            if (d->weekend == (sl >= 24) && isfinite(x))
                v[m++] = x;
        }
        mean[sl] = m ? small_median(v, m) : NAN;
    }
}

/* Median over the slots of one class of post - pre; falls back to the 24 hours pooled over
 * day types when the two windows share no slot of the class (days of one type only). */
static double slot_step(const an_work_t *wk, const double *m0, const double *m1, const int *cls,
                        double *d, size_t *used)
{
    double v[AN_SLOTS];
    size_t n = 0;
    for (int s = 0; s < AN_SLOTS; s++) {
        d[s] = cls[s] && isfinite(m0[s]) && isfinite(m1[s]) ? m1[s] - m0[s] : NAN;
        if (isfinite(d[s]))
            v[n++] = d[s];
    }
    if (n == 0) {
        for (int h = 0; h < 24; h++) {
            double a = NAN, b = NAN;
            for (int t = 0; t < 2; t++) {
                int s = an_slot(t, h);
                if (!cls[s])
                    continue;
                if (isfinite(m0[s]))
                    a = m0[s];
                if (isfinite(m1[s]))
                    b = m1[s];
            }
            if (isfinite(a) && isfinite(b)) {
                v[n++] = b - a;
                d[h] = d[h + 24] = b - a;
            }
        }
    }
    (void)wk;
    *used = n;
    return n ? gsl_stats_median(v, 1, n) : NAN;
}

static void measure(ctx_t *cx, const size_t *pre, size_t np, const size_t *post, size_t nq,
                    meas_t *ms)
{
    an_work_t *wk = cx->wk;
    double m0[AN_SLOTS], m1[AN_SLOTS], dd[AN_SLOTS], boot[BOOT_N], wboot[BOOT_N];
    size_t bp[WINDOW_DAYS], bq[WINDOW_DAYS], used;
    int nb = 0, nw = 0;

    slot_means(wk, pre, np, m0);
    slot_means(wk, post, nq, m1);
    ms->step = slot_step(wk, m0, m1, wk->slot_base, ms->d, &ms->n_base);
    ms->work = slot_step(wk, m0, m1, wk->slot_work, dd, &ms->n_work);
    ms->n_pre = np;
    ms->n_post = nq;
    ms->lo = ms->hi = ms->step;
    ms->work_lo = ms->work_hi = ms->work;
    if (!isfinite(ms->step) || np < 2 || nq < 2)
        return;
    /* Days are the resampling unit: hours within a day are not independent. */
    for (int b = 0; b < BOOT_N; b++) {
        for (size_t j = 0; j < np; j++)
            bp[j] = pre[gsl_rng_uniform_int(cx->rng, np)];
        for (size_t j = 0; j < nq; j++)
            bq[j] = post[gsl_rng_uniform_int(cx->rng, nq)];
        slot_means(wk, bp, np, m0);
        slot_means(wk, bq, nq, m1);
        double v = slot_step(wk, m0, m1, wk->slot_base, dd, &used);
        if (isfinite(v))
            boot[nb++] = v;
        v = slot_step(wk, m0, m1, wk->slot_work, dd, &used);
        if (isfinite(v))
            wboot[nw++] = v;
    }
    if (nb >= 20) {
        gsl_sort(boot, 1, (size_t)nb);
        ms->lo = gsl_stats_quantile_from_sorted_data(boot, 1, (size_t)nb, 0.025);
        ms->hi = gsl_stats_quantile_from_sorted_data(boot, 1, (size_t)nb, 0.975);
    }
    if (nw >= 20) {
        gsl_sort(wboot, 1, (size_t)nw);
        ms->work_lo = gsl_stats_quantile_from_sorted_data(wboot, 1, (size_t)nw, 0.025);
        ms->work_hi = gsl_stats_quantile_from_sorted_data(wboot, 1, (size_t)nw, 0.975);
    }
}

/* Energy of a load present in the base slots only, slot by slot, from onset to end. */
static double off_hours_kwh(const an_work_t *wk, const meas_t *ms, int64_t onset, int64_t end)
{
    double joules = 0.0;
    for (size_t k = 0; k < wk->n_days; k++) {
        const an_day_t *d = &wk->days[k];
        int64_t t_next = k + 1 < wk->n_days ? wk->days[k + 1].t0 : d->t0 + 86400;
        if (t_next <= onset || d->t0 >= end)
            continue;
        for (int h = 0; h < 24; h++) {
            int s = an_slot(d->weekend, h);
            int64_t a = d->t0 + (int64_t)h * 3600, b = h == 23 ? t_next : a + 3600;
            if (a < onset)
                a = onset;
            if (b > end)
                b = end;
            if (b > a && wk->slot_base[s] && isfinite(ms->d[s]))
                joules += ms->d[s] * (double)(b - a);
        }
    }
    return joules / 3.6e6;
}

/* Full days strictly between day indexes lo and hi (exclusive), nearest to the step first when
 * more than WINDOW_DAYS qualify, returned in increasing order. */
static size_t window_days(const an_work_t *wk, size_t lo, size_t hi, int before, size_t *out)
{
    size_t n = 0;
    if (before) {
        for (size_t k = hi; k-- > lo + 1 && n < WINDOW_DAYS;)
            if (day_full(&wk->days[k]))
                out[n++] = k;
    } else {
        for (size_t k = lo + 1; k < hi && n < WINDOW_DAYS; k++)
            if (day_full(&wk->days[k]))
                out[n++] = k;
    }
    return n;
}

/* Leaves out the days of one side of a step whose base is not at that side's level: more
 * than `near` (at least half the step: nearer the other side's level, or beyond it) and more
 * than OUTLIER_K robust sd from the side's median.  A research job of a few days inside a
 * window is such a run of days; the slot medians alone do not stand up to it, because a
 * window of 14 days has only 4 weekend days, and two job days among them put every weekend
 * slot's median half-way up.  Days without a base are kept. */
static size_t drop_outlier_days(const an_work_t *wk, size_t *days, size_t n, double near)
{
    double b[WINDOW_DAYS], dev[WINDOW_DAYS];
    size_t m = 0;
    for (size_t j = 0; j < n; j++)
        if (wk->days[days[j]].kept)
            b[m++] = wk->days[days[j]].badj;
    if (m < 3)
        return n;
    double med = small_median(b, m);
    for (size_t j = 0; j < m; j++)
        dev[j] = fabs(b[j] - med);
    double tol = fmax(near, OUTLIER_K * 1.4826 * small_median(dev, m));
    size_t w = 0;
    for (size_t j = 0; j < n; j++) {
        const an_day_t *d = &wk->days[days[j]];
        if (!d->kept || fabs(d->badj - med) <= tol)
            days[w++] = days[j];
    }
    return w;
}

/* Measures upward cut j against its neighbours among the candidates and fills f.  Returns 1
 * if every test passed, 0 if not (f still holds the evidence), -1 for a cut not to report at
 * all (nothing measurable, or a schedule change). */
typedef struct memo {
    size_t prev_day, next_day; /* the window bounds the result was measured with */
    int rc;                    /* judge()'s result; 2 = not yet judged */
    an_finding_t f;
} memo_t;

static int judge_core(ctx_t *cx, const cut_t *cuts, const int64_t *ends, size_t j,
                      size_t prev_day, size_t next_day, an_finding_t *f)
{
    an_work_t *wk = cx->wk;
    int64_t onset = wk->start + (int64_t)cuts[j].i * wk->step, end = ends[j];
    double dur = (double)(end - onset);
    size_t pre[WINDOW_DAYS], post[WINDOW_DAYS];
    size_t oday = day_of_sample(wk, (size_t)cuts[j].i);
    double size_thr = fmax(cx->min_step, cx->noise_k * wk->base_sigma);
    double near = fmax(size_thr, 0.5 * fmax(cuts[j].level - cuts[j - 1].level, cuts[j].local));
    size_t np = drop_outlier_days(wk, pre, window_days(wk, prev_day, oday, 1, pre), near);
    size_t nq = drop_outlier_days(wk, post, window_days(wk, oday, next_day, 0, post), near);
    meas_t ms;
    memset(&ms, 0, sizeof ms);
    if (np && nq) {
        measure(cx, pre, np, post, nq, &ms);
    } else {
        /* Steps a day apart leave no full day between: the split's own figures. */
        ms.step = cuts[j].local;
        double se = cuts[j].local / cuts[j].t;
        ms.lo = ms.step - 1.96 * se;
        ms.hi = ms.step + 1.96 * se;
        ms.work = ms.work_lo = ms.work_hi = NAN;
        for (int sl = 0; sl < AN_SLOTS; sl++)
            ms.d[sl] = ms.step;
    }
    if (!isfinite(ms.step))
        return -1;

    /* Working hours that demonstrably did not move (95% interval of their step inside
     * +-half the base step): off_hours.  Working hours that demonstrably fell as nights
     * rose: a schedule change, no finding (an added load never lowers other hours).  Otherwise, including working
     * hours too variable to tell: step_up, a load present around the clock. */
    double ratio = ms.work / ms.step;
    double half = OFF_HOURS_RATIO * ms.step;
    int judged = wk->has_cycle && ms.n_work >= MIN_WORK_SLOTS && isfinite(ms.work);
    int off = judged && ms.work_hi < half && ms.work_lo > -half;
    if (judged && ms.work_hi < 0.0)
        return -1;
    memset(f, 0, sizeof *f);
    f->kind = off ? AN_OFF_HOURS : AN_STEP_UP;
    f->onset = onset;
    f->end = end;
    f->step_w = ms.step;
    f->step_lo = ms.lo;
    f->step_hi = ms.hi;
    an_evidence_add(f, "step_w", ms.step, cx->min_step, ">=");
    an_evidence_add(f, "step_to_noise", ms.step / wk->base_sigma, cx->noise_k, ">=");
    an_evidence_add(f, "step_lo_w", ms.lo, 0.0, ">");
    an_evidence_add(f, "abrupt_ratio", cuts[j].local / ms.step, ABRUPT_MIN, ">=");
    an_evidence_add(f, "persist_days", dur / 86400.0, cx->persist / 86400.0, ">=");
    if (off) {
        an_evidence_add(f, "work_hi_ratio", ms.work_hi / ms.step, OFF_HOURS_RATIO, "<");
        an_evidence_add(f, "work_lo_ratio", ms.work_lo / ms.step, -OFF_HOURS_RATIO, ">");
    } else {
        an_evidence_add(f, "work_to_base_ratio", ratio, NAN, "");
    }
    an_evidence_add(f, "base_noise_w", wk->base_sigma, NAN, "");
    an_evidence_add(f, "pelt_penalty", wk->pelt_penalty, NAN, "");
    an_evidence_add(f, "split_t", cuts[j].t, NAN, "");
    an_evidence_add(f, "pre_days", (double)ms.n_pre, NAN, "");
    an_evidence_add(f, "post_days", (double)ms.n_post, NAN, "");
    if (!all_passed(f))
        return 0;
    f->excess_kwh = off ? off_hours_kwh(wk, &ms, onset, end) : ms.step * dur / 3.6e6;
    f->score = sqrt(half_life(ms.step / size_thr) * half_life(dur / cx->persist)) *
               fmin(1.0, cuts[j].local / ms.step);
    explain(cx, f);
    if (!f->explained_by[0])
        an_rig_estimate(cx->rigs, cx->n_rigs, ms.step, off ? "office_pc" : NULL, f);
    return 1;
}

/* judge_core() for cut j, with its window bounds from the neighbouring candidates; a result
 * measured with the same bounds before is reused (the bootstrap is the costly part). */
static int judge(ctx_t *cx, const cut_t *cuts, size_t nc, const int *cand, const int64_t *ends,
                 size_t j, memo_t *memo, an_finding_t *f)
{
    an_work_t *wk = cx->wk;
    int64_t t_end = wk->start + (int64_t)wk->n * wk->step, end = ends[j];
    size_t prev_day = (size_t)-1, next_day = day_of_sample(wk, wk->n - 1) + 1;
    for (size_t k = j - 1; k >= 1; k--)
        if (cand[k]) {
            prev_day = day_of_sample(wk, (size_t)cuts[k].i);
            break;
        }
    for (size_t k = j + 1; k < nc; k++)
        if (cand[k]) {
            next_day = day_of_sample(wk, (size_t)cuts[k].i);
            break;
        }
    if (end < t_end) {
        size_t e = day_of_sample(wk, (size_t)((end - wk->start) / wk->step));
        if (e < next_day)
            next_day = e;
    }
    if (memo[j].rc != 2 && memo[j].prev_day == prev_day && memo[j].next_day == next_day) {
        *f = memo[j].f;
        return memo[j].rc;
    }
    memo[j].rc = judge_core(cx, cuts, ends, j, prev_day, next_day, &memo[j].f);
    memo[j].prev_day = prev_day;
    memo[j].next_day = next_day;
    *f = memo[j].f;
    return memo[j].rc;
}

static int find_steps(ctx_t *cx)
{
    an_work_t *wk = cx->wk;
    size_t *kd = NULL, *cp = NULL, m = 0;
    double *x = NULL;
    cut_t *cuts = NULL;
    int rc = -1;

    kd = malloc(wk->n_days * sizeof *kd);
    x = malloc(wk->n_days * sizeof *x);
    cp = malloc(wk->n_days * sizeof *cp);
    cuts = malloc((wk->n_days + 1) * sizeof *cuts);
    if (!kd || !x || !cp || !cuts)
        goto out;
    for (size_t k = 0; k < wk->n_days; k++)
        if (wk->days[k].kept) {
            kd[m] = k;
            x[m++] = wk->days[k].badj;
        }
    if (m < 3) {
        rc = 0;
        goto out;
    }
    wk->pelt_penalty = PELT_PEN_PER_LOG * log((double)m);
    size_t ncp = an_pelt(x, m, wk->base_sigma, wk->pelt_penalty, cp);

    /* Segment levels (medians: one odd day does not move them) and the refined cuts.  Cut 0
     * is the start of the data, with the first segment's level. */
    size_t nc = ncp + 1;
    for (size_t j = 0; j < nc; j++) {
        size_t a = j ? cp[j - 1] : 0, b = j < ncp ? cp[j] : m;
        double *tmp = wk->dscratch;
        size_t n = 0;
        for (size_t i = a; i < b; i++)
            tmp[n++] = x[i];
        cuts[j].level = gsl_stats_median(tmp, 1, n);
        cuts[j].day = kd[a];
        cuts[j].i = 0;
        cuts[j].local = cuts[j].t = NAN;
    }
    /* Only changes that could matter are dated at full resolution (the costly part): a
     * quarter of the reporting size, so that a rise PELT shares between two cuts still is. */
    double thr = fmax(cx->min_step, cx->noise_k * wk->base_sigma);
    for (size_t j = 1; j < nc; j++) {
        double delta = cuts[j].level - cuts[j - 1].level;
        if (fabs(delta) < 0.25 * thr) {
            cuts[j].i = (long)wk->days[kd[cp[j - 1]]].i0;
            cuts[j].local = 0.0;
            cuts[j].t = 0.0;
            continue;
        }
        if (refine(cx, kd[cp[j - 1] - 1], kd[cp[j - 1]], delta, &cuts[j]) != 0)
            goto out;
    }

    /* PELT often gives the part-day of an onset a segment of its own: two cuts of the same
     * sign that date to within a day of each other are one change. */
    size_t w = 1;
    for (size_t j = 1; j < nc; j++) {
        if (w > 1) {
            cut_t *p = &cuts[w - 1];
            double d0 = p->level - cuts[w - 2].level, d1 = cuts[j].level - p->level;
            if (d0 * d1 > 0 && labs(cuts[j].i - p->i) <= (long)wk->spd) {
                if (fabs(cuts[j].t) > fabs(p->t)) {
                    p->i = cuts[j].i;
                    p->t = cuts[j].t;
                }
                p->local = fabs(cuts[j].local) > fabs(p->local) ? cuts[j].local : p->local;
                p->level = cuts[j].level;
                continue;
            }
        }
        cuts[w++] = cuts[j];
    }
    nc = w;

    int64_t t_end = wk->start + (int64_t)wk->n * wk->step;
    /* First the upward cuts worth measuring (most PELT cuts on real buildings stop here):
     * large enough, abrupt at full resolution, and lasting.  They also bound each other's
     * measurement windows; the cuts in between (noise, a job of a day) do not. */
    int *cand = calloc(nc, sizeof *cand);
    int64_t *ends = calloc(nc, sizeof *ends);
    if (!cand || !ends) {
        free(cand);
        free(ends);
        goto out;
    }
    for (size_t j = 1; j < nc; j++) {
        double delta = cuts[j].level - cuts[j - 1].level;
        int64_t onset = wk->start + (int64_t)cuts[j].i * wk->step;
        ends[j] = t_end;
        if (!(delta > 0.0))
            continue;
        /* It ends at an abrupt drop back below half the step; a level that sags slowly
         * (a building's own drift) does not end it. */
        for (size_t k = j + 1; k < nc; k++)
            if (cuts[k].level < cuts[j - 1].level + delta / 2 &&
                cuts[k].local <= -ABRUPT_MIN * fmax(delta, cuts[j].local)) {
                ends[j] = wk->start + (int64_t)cuts[k].i * wk->step;
                break;
            }
        /* The split's own step decides too: PELT may share one rise between two cuts. */
        cand[j] = fmax(delta, cuts[j].local) >= 0.5 * fmax(cx->min_step, cx->noise_k * wk->base_sigma) &&
                  (double)(ends[j] - onset) >= cx->persist && cuts[j].local >= ABRUPT_MIN * delta;
    }
    /* A candidate that fails its tests no longer bounds its neighbours' windows: judge again
     * until the set settles (it only shrinks, so this ends). */
    memo_t *memo = malloc(nc * sizeof *memo);
    if (!memo) {
        free(cand);
        free(ends);
        goto out;
    }
    memset(memo, 0, nc * sizeof *memo);
    for (size_t j = 0; j < nc; j++)
        memo[j].rc = 2;
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t j = 1; j < nc; j++) {
            an_finding_t f;
            if (cand[j] && judge(cx, cuts, nc, cand, ends, j, memo, &f) != 1) {
                cand[j] = 0;
                changed = 1;
            }
        }
    }
    for (size_t j = 1; j < nc; j++) {
        an_finding_t f;
        if (!cand[j] || judge(cx, cuts, nc, cand, ends, j, memo, &f) != 1)
            continue;
        an_finding_t *slot = push(cx);
        if (!slot) {
            free(memo);
            free(cand);
            free(ends);
            goto out;
        }
        *slot = f;
        cx->out->n_findings++;
    }
    free(memo);
    free(cand);
    free(ends);
    rc = 0;
out:
    free(kd);
    free(x);
    free(cp);
    free(cuts);
    return rc;
}

int an_channel_analyze(const double *w, size_t n, int64_t start, int step, const an_opts_t *o,
                       an_channel_t *out, char *err, size_t errlen)
{
    an_opts_t def;
    an_work_t wk;
    ctx_t cx;
    size_t valid = 0;
    int rc = -1;

    if (!out) {
        errno = EINVAL;
        return wa_err(err, errlen, "no result to fill");
    }
    memset(out, 0, sizeof *out);
    if (!w || step <= 0) {
        errno = EINVAL;
        return wa_err(err, errlen, "no series or a step of %d s", step);
    }
    if (!o) {
        memset(&def, 0, sizeof def);
        o = &def;
    }
    if ((double)n * step < 2 * 86400.0) {
        errno = EINVAL;
        return wa_err(err, errlen, "%zu values of %d s cover less than two days", n, step);
    }
    for (size_t i = 0; i < n; i++)
        valid += isfinite(w[i]) != 0;
    if (valid < 2) {
        errno = EINVAL;
        return wa_err(err, errlen, "no known values in %zu steps", n);
    }

    memset(&wk, 0, sizeof wk);
    memset(&cx, 0, sizeof cx);
    wk.w = w;
    wk.n = n;
    wk.start = start;
    wk.step = step;
    wk.tz = o->tz;
    /* Samples in the longest local day (25 h when summer time ends). */
    wk.spd = (size_t)((90000 + step - 1) / step) + 1;
    cx.wk = &wk;
    cx.out = out;
    cx.flat_lf = o->flat_load_factor > 0.0 ? o->flat_load_factor : DEF_FLAT_LF;
    cx.min_step = o->min_step_w > 0.0 ? o->min_step_w : DEF_MIN_STEP_W;
    cx.persist = o->persist_s > 0.0 ? o->persist_s : DEF_PERSIST_S;
    cx.noise_k = o->noise_k > 0.0 ? o->noise_k : DEF_NOISE_K;
    cx.rigs = o->rigs && o->n_rigs ? o->rigs : an_rigs_builtin(&cx.n_rigs);
    if (o->rigs && o->n_rigs)
        cx.n_rigs = o->n_rigs;
    cx.decl = o->declared;
    cx.n_decl = o->declared ? o->n_declared : 0;

    wk.scratch = malloc((2 * wk.spd + 16) * sizeof *wk.scratch);
    cx.prof = malloc(2 * wk.spd * sizeof *cx.prof);
    cx.rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!wk.scratch || !cx.prof || !cx.rng) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        goto out;
    }
    gsl_rng_set(cx.rng, BOOT_SEED);
    if (an_days_build(&wk, out) != 0) {
        wa_err(err, errlen, "cannot lay out local days: %s", wa_strerror(errno));
        goto out;
    }
    wk.dscratch = malloc((4 * wk.n_days + 2 * BOOT_N + 64) * sizeof *wk.dscratch);
    if (!wk.dscratch) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        goto out;
    }
    an_shape_compute(&wk, &out->shape);
    an_base_compute(&wk);
    if (find_flat(&cx) != 0 || find_steps(&cx) != 0) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        an_channel_free(out);
    free(wk.days);
    free(wk.scratch);
    free(wk.dscratch);
    free(cx.res);
    free(cx.wgt);
    free(cx.prof);
    gsl_rng_free(cx.rng);
    return rc;
}
