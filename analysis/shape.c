/*
 * shape.c: the one pass over the samples (local days, their percentiles, noise and hourly
 * means), the load-shape metrics, and the base level of every day.
 *
 * Metrics follow Price, "Methods for Analyzing Electric Load Shape and its Variability",
 * LBNL-3713E (2010), as LBNL's loadshape package does: near-base and near-peak are a day's
 * 2.5th and 97.5th percentiles, summarised by their medians over days.  docs/analysis.md says
 * why each choice below was made.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_multifit.h>
#include <gsl/gsl_statistics_double.h>

#include "analysis/detect-private.h"
#include "common/common.h"

#define P_LO 0.025 /* Price 2010: near-base */
#define P_HI 0.975 /* Price 2010: near-peak */
/* 1 / (Phi^-1(0.75) * sqrt(2)): the sd of white noise from the median absolute first
 * difference (the difference of two draws has sd sigma*sqrt(2); its median |x| is 0.6745 sd). */
#define MAD_DIFF_TO_SD (1.0 / (0.6744897501960817 * 1.4142135623730951))
#define NIGHT_H0 0 /* night: 00:00-05:00 every day */
#define NIGHT_H1 5
#define DAY_H0 9 /* day: 09:00-17:00 on weekdays */
#define DAY_H1 17
/* A day enters the day-based statistics with at least half its samples. */
#define DAY_MIN_COVERAGE 0.5
/* Slot classes: a slot is base within 15% of the span of slot levels above the lowest, working
 * above half the span; a channel whose levels span less than 20% of the highest has no cycle. */
#define BASE_FRAC 0.15
#define WORK_FRAC 0.5
#define CYCLE_MIN 0.2

double an_median(double *x, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            x[m++] = x[i];
    return m ? gsl_stats_median(x, 1, m) : NAN;
}

/* The k-th smallest of x[0..m), leaving x partitioned about it (smaller before, larger after):
 * Hoare's FIND with a median-of-three pivot.  gsl_stats_select() does the same job; this one is
 * inlined into the one pass over the samples, where it runs 730 times per channel-year and is
 * several times faster. */
static double select_k(double *x, size_t m, size_t k)
{
    size_t lo = 0, hi = m - 1;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        double a = x[lo], b = x[mid], c = x[hi];
        double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = lo, j = hi;
        while (i <= j) {
            while (x[i] < piv)
                i++;
            while (x[j] > piv)
                j--;
            if (i <= j) {
                double t = x[i];
                x[i] = x[j];
                x[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return x[k];
}

/* Order statistics k and k+1 of x[0..m) from a full selection (reorders x). */
static void order_pair(double *x, size_t m, size_t k, double *lo, double *hi)
{
    *lo = select_k(x, m, k);
    *hi = *lo;
    if (k + 1 < m) {
        *hi = x[k + 1];
        for (size_t i = k + 2; i < m; i++)
            if (x[i] < *hi)
                *hi = x[i];
    }
}

#define TAIL_SAMPLE 64
#define TAIL_MARGIN 5 /* sample ranks beyond the target's: 4 sd of the 2.5% rank in 64 (1.25) */

/* The day's P_LO and P_HI quantiles exactly as gsl_stats_quantile_from_sorted_data() gives
 * them on the sorted day (order statistics k and k+1, interpolated), in about one read of the
 * day: pivots from a sorted sample of 64 values bracket each tail (Floyd and Rivest's idea),
 * one pass copies the two tails into tmp (room for cap values), and the order statistics are
 * selected within them.  Falls back to full selections when a tail comes out too small or too
 * large (ties, tiny days). */
static void day_tails(double *x, size_t m, double *tmp, size_t cap, double *p_lo, double *p_hi)
{
    double il = P_LO * (double)(m - 1), ih = P_HI * (double)(m - 1), a, b, c, d;
    size_t kl = (size_t)floor(il), kh = (size_t)floor(ih);
    double dl = il - (double)kl, dh = ih - (double)kh;

    if (m >= 8 * TAIL_SAMPLE) {
        double smp[TAIL_SAMPLE];
        for (size_t i = 0; i < TAIL_SAMPLE; i++) {
            /* One value from each 64th of the day, at a scrambled offset; insertion sort. */
            double v = x[i * m / TAIL_SAMPLE + (i * 7919) % (m / TAIL_SAMPLE)];
            size_t j = i;
            while (j > 0 && smp[j - 1] > v) {
                smp[j] = smp[j - 1];
                j--;
            }
            smp[j] = v;
        }
        size_t pl = (size_t)(P_LO * TAIL_SAMPLE) + TAIL_MARGIN;
        size_t ph = (size_t)(P_HI * TAIL_SAMPLE) - TAIL_MARGIN;
        double piv_lo = smp[pl < TAIL_SAMPLE ? pl : TAIL_SAMPLE - 1], piv_hi = smp[ph];
        size_t half = cap / 2, n1 = 0, n2 = 0;
        double *t1 = tmp, *t2 = tmp + half;
        int ok = piv_lo < piv_hi;
        for (size_t i = 0; ok && i < m; i++) {
            if (x[i] <= piv_lo) {
                if (n1 == half)
                    ok = 0;
                else
                    t1[n1++] = x[i];
            } else if (x[i] >= piv_hi) {
                if (n2 == half)
                    ok = 0;
                else
                    t2[n2++] = x[i];
            }
        }
        /* Everything below t1's largest is in t1, everything above t2's smallest in t2. */
        if (ok && n1 > kl + 1 && m - n2 <= kh) {
            order_pair(t1, n1, kl, &a, &b);
            order_pair(t2, n2, kh - (m - n2), &c, &d);
            *p_lo = a + dl * (b - a);
            *p_hi = c + dh * (d - c);
            return;
        }
    }
    order_pair(x, m, kl, &a, &b);
    *p_lo = a + dl * (b - a);
    /* Everything above index kl is now at least p_lo: select the high pair among those. */
    order_pair(x + kl + 1, m - kl - 1, kh - kl - 1, &c, &d);
    *p_hi = c + dh * (d - c);
}

static size_t first_sample_at(const an_work_t *wk, int64_t t)
{
    /* Sample i belongs where its midpoint start + i*step + step/2 falls. */
    int64_t num = t - wk->start - wk->step / 2;
    if (num <= 0)
        return 0;
    size_t i = (size_t)((num + wk->step - 1) / wk->step);
    return i > wk->n ? wk->n : i;
}

/* The zone's UTC offset over the series as a step function.  wa_time_local() switches the
 * process's zone under a lock (about 40 us a call when the zone differs), so it is asked at
 * probes a month apart, and where two probes disagree the change is found by bisection to the
 * quarter hour (every zone's offsets change on quarter hours): a few dozen calls a year
 * instead of one a day.  Two changes within one probe interval would be missed; no zone has
 * them. */
#define TZ_PROBE_S (32 * 86400)
#define TZ_EXACT_S 900
#define TZ_CHANGES_MAX 64

typedef struct tzmap {
    int64_t from[TZ_CHANGES_MAX + 1];
    long off[TZ_CHANGES_MAX + 1];
    size_t n;
} tzmap_t;

static int probe(const char *tz, int64_t t, long *off)
{
    struct tm tm;
    if (wa_time_local(t, tz, &tm) != 0)
        return -1;
    *off = tm.tm_gmtoff;
    return 0;
}

static int tz_map(const char *tz, int64_t t0, int64_t t1, tzmap_t *m)
{
    long off_a, off_b;
    int64_t a = t0;
    if (probe(tz, a, &off_a) != 0)
        return -1;
    m->from[0] = INT64_MIN;
    m->off[0] = off_a;
    m->n = 1;
    while (a < t1) {
        int64_t b = a + TZ_PROBE_S < t1 ? a + TZ_PROBE_S : t1;
        if (probe(tz, b, &off_b) != 0)
            return -1;
        if (off_b != off_a && m->n <= TZ_CHANGES_MAX) {
            int64_t lo = a, hi = b;
            while (hi - lo > TZ_EXACT_S) {
                long off_mid;
                int64_t mid = lo + (hi - lo) / 2;
                if (probe(tz, mid, &off_mid) != 0)
                    return -1;
                if (off_mid == off_a)
                    lo = mid;
                else
                    hi = mid;
            }
            m->from[m->n] = hi;
            m->off[m->n++] = off_b;
        }
        a = b;
        off_a = off_b;
    }
    return 0;
}

static long tz_offset(const tzmap_t *m, int64_t t)
{
    size_t j = m->n - 1;
    while (j > 0 && m->from[j] > t)
        j--;
    return m->off[j];
}

/* Local midnight (Unix s) of the local day holding t, and that day's weekday (0 = Sunday). */
static int64_t local_midnight(const tzmap_t *m, int64_t t, int *wday)
{
    long off = tz_offset(m, t);
    int64_t local = t + off, day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    *wday = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    /* Midnight's own offset may differ from t's on the day the clocks change. */
    int64_t mid = day * 86400 - off;
    return day * 86400 - tz_offset(m, mid);
}

/* want_noise: the sample-to-sample noise is informative only (an_shape_t.robust_sd), so it
 * is taken on one day in seven. */
/* Pivots for the next day of the same type from a sample of this one: a Tuesday resembles a
 * Monday and a Sunday a Saturday, so that the tails can be copied out during the one pass over
 * the samples. */
static void next_pivots(an_work_t *wk, const an_day_t *d)
{
    double smp[TAIL_SAMPLE];
    size_t n = 0, len = d->i1 - d->i0;
    int t = d->weekend;
    wk->piv_ok[t] = 0;
    if (len < 8 * TAIL_SAMPLE)
        return;
    for (size_t i = 0; i < TAIL_SAMPLE; i++) {
        double v = wk->w[d->i0 + i * len / TAIL_SAMPLE + (i * 7919) % (len / TAIL_SAMPLE)];
        if (!isfinite(v))
            continue;
        size_t j = n++;
        while (j > 0 && smp[j - 1] > v) {
            smp[j] = smp[j - 1];
            j--;
        }
        smp[j] = v;
    }
    if (n < TAIL_SAMPLE / 2)
        return;
    size_t pl = (size_t)(P_LO * (double)n) + TAIL_MARGIN, ph = (size_t)(P_HI * (double)n);
    ph = ph > TAIL_MARGIN ? ph - TAIL_MARGIN : 0;
    wk->piv_lo[t] = smp[pl < n ? pl : n - 1];
    wk->piv_hi[t] = smp[ph];
    wk->piv_ok[t] = wk->piv_lo[t] < wk->piv_hi[t];
}

static void day_stats(an_work_t *wk, an_day_t *d, int64_t t_next, int want_noise)
{
    double *vals = wk->scratch, *tails = wk->scratch + wk->spd + 8;
    const double *w = wk->w;
    size_t m = 0, nd = 0, half = (wk->spd + 8) / 2, n1 = 0, n2 = 0;
    double *t1 = tails, *t2 = tails + half;
    /* Without pivots every value lands in neither tail and the fallback below runs. */
    int t = d->weekend, over = !wk->piv_ok[t];
    double piv_lo = over ? -INFINITY : wk->piv_lo[t], piv_hi = over ? INFINITY : wk->piv_hi[t];

    d->sum = 0.0;
    for (int h = 0; h < 24; h++) {
        int64_t hb0 = d->t0 + (int64_t)h * 3600, hb1 = h == 23 ? t_next : hb0 + 3600;
        size_t j0 = first_sample_at(wk, hb0), j1 = first_sample_at(wk, hb1), m0 = m;
        double hs = 0.0;
        if (j0 < d->i0)
            j0 = d->i0;
        if (j1 > d->i1)
            j1 = d->i1;
        for (size_t i = j0; i < j1; i++) {
            double v = w[i];
            if (isfinite(v)) {
                hs += v;
                m++;
                if (v <= piv_lo) {
                    if (n1 < half)
                        t1[n1++] = v;
                    else
                        over = 1;
                } else if (v >= piv_hi) {
                    if (n2 < half)
                        t2[n2++] = v;
                    else
                        over = 1;
                }
            } else if (i == 0 || isfinite(w[i - 1])) {
                d->n_gaps++;
            }
        }
        d->hour[h] = m > m0 ? hs / (double)(m - m0) : NAN;
        d->sum += hs;
    }
    d->n_valid = m;
    d->p_lo = d->p_hi = d->noise = NAN;
    if (m >= 4) {
        double il = P_LO * (double)(m - 1), ih = P_HI * (double)(m - 1), a, b, c, e;
        size_t kl = (size_t)floor(il), kh = (size_t)floor(ih);
        /* Everything below t1's largest is in t1, everything above t2's smallest in t2. */
        if (!over && n1 > kl + 1 && m - n2 <= kh) {
            order_pair(t1, n1, kl, &a, &b);
            order_pair(t2, n2, kh - (m - n2), &c, &e);
            d->p_lo = a + (il - (double)kl) * (b - a);
            d->p_hi = c + (ih - (double)kh) * (e - c);
        } else {
            size_t k = 0;
            for (size_t i = d->i0; i < d->i1; i++)
                if (isfinite(w[i]))
                    vals[k++] = w[i];
            day_tails(vals, m, tails, wk->spd + 8, &d->p_lo, &d->p_hi);
        }
    }
    if (want_noise) {
        for (size_t i = d->i0 > 0 ? d->i0 : 1; i < d->i1; i++)
            if (isfinite(w[i]) && isfinite(w[i - 1]))
                tails[nd++] = fabs(w[i] - w[i - 1]);
        if (nd >= 4)
            d->noise = select_k(tails, nd, nd / 2) * MAD_DIFF_TO_SD;
    }
    next_pivots(wk, d);
}

int an_days_build(an_work_t *wk, an_channel_t *c)
{
    int64_t t_first = wk->start + wk->step / 2;
    int64_t t_last = wk->start + (int64_t)(wk->n - 1) * wk->step + wk->step / 2;
    size_t cap = (size_t)((t_last - t_first) / 86400) + 3;
    int wday;
    tzmap_t map;

    if (tz_map(wk->tz, t_first - 86400, t_last + 2 * 86400, &map) != 0)
        return -1;
    int64_t t0 = local_midnight(&map, t_first, &wday);
    wk->days = calloc(cap, sizeof *wk->days);
    if (!wk->days)
        return -1;
    wk->n_days = 0;
    while (t0 <= t_last && wk->n_days < cap) {
        an_day_t *d = &wk->days[wk->n_days++];
        int next_wday;
        /* Noon of the next day is on the next day whatever a DST change did to this one. */
        int64_t t_next = local_midnight(&map, t0 + 86400 + 43200, &next_wday);
        if (t_next <= t0)
            t_next = t0 + 86400;
        d->t0 = t0;
        d->wday = wday;
        d->weekend = wday == 0 || wday == 6;
        d->i0 = first_sample_at(wk, t0);
        d->i1 = first_sample_at(wk, t_next);
        day_stats(wk, d, t_next, wk->n_days % 7 == 1);
        t0 = t_next;
        wday = next_wday;
    }

    size_t valid = 0, gaps = 0;
    double joules = 0.0;
    for (size_t k = 0; k < wk->n_days; k++) {
        valid += wk->days[k].n_valid;
        gaps += wk->days[k].n_gaps;
        joules += wk->days[k].sum * wk->step;
    }
    c->kwh_integrated = joules / 3.6e6;
    c->coverage = (double)valid / (double)wk->n;
    c->n_gaps = gaps;
    return 0;
}

static int day_full(const an_day_t *d)
{
    size_t expect = d->i1 - d->i0;
    return expect > 0 && (double)d->n_valid >= DAY_MIN_COVERAGE * (double)expect;
}

/* Amplitudes of the daily and weekly fundamentals, fitted to the hour-of-week profile by
 * robust regression (Tukey's bisquare): a few odd hours do not make a cycle. */
static void harmonics(const double *prof, double mean, double *amp_d, double *amp_w)
{
    size_t m = 0;
    for (size_t b = 0; b < 168; b++)
        m += isfinite(prof[b]);
    *amp_d = *amp_w = NAN;
    if (m < 12 || !(fabs(mean) > 0.0))
        return;

    gsl_matrix *X = gsl_matrix_alloc(m, 5);
    gsl_vector *y = gsl_vector_alloc(m), *coef = gsl_vector_alloc(5);
    gsl_matrix *cov = gsl_matrix_alloc(5, 5);
    gsl_multifit_robust_workspace *ws = gsl_multifit_robust_alloc(gsl_multifit_robust_bisquare, m, 5);
    if (!X || !y || !coef || !cov || !ws)
        goto out;
    size_t r = 0;
    for (size_t b = 0; b < 168; b++) {
        if (!isfinite(prof[b]))
            continue;
        double h = (double)b + 0.5;
        gsl_matrix_set(X, r, 0, 1.0);
        gsl_matrix_set(X, r, 1, cos(2 * M_PI * h / 24.0));
        gsl_matrix_set(X, r, 2, sin(2 * M_PI * h / 24.0));
        gsl_matrix_set(X, r, 3, cos(2 * M_PI * h / 168.0));
        gsl_matrix_set(X, r, 4, sin(2 * M_PI * h / 168.0));
        gsl_vector_set(y, r, prof[b]);
        r++;
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = gsl_multifit_robust(X, y, coef, cov, ws);
    if (rc != 0 && rc != GSL_EMAXITER) {
        double chisq;
        gsl_multifit_linear_workspace *lw = gsl_multifit_linear_alloc(m, 5);
        rc = lw ? gsl_multifit_linear(X, y, coef, cov, &chisq, lw) : -1;
        gsl_multifit_linear_free(lw);
    }
    gsl_set_error_handler(old);
    if (rc == 0 || rc == GSL_EMAXITER) {
        *amp_d = hypot(gsl_vector_get(coef, 1), gsl_vector_get(coef, 2)) / fabs(mean);
        *amp_w = hypot(gsl_vector_get(coef, 3), gsl_vector_get(coef, 4)) / fabs(mean);
    }
out:
    gsl_multifit_robust_free(ws);
    gsl_matrix_free(cov);
    gsl_vector_free(coef);
    gsl_vector_free(y);
    gsl_matrix_free(X);
}

void an_shape_compute(an_work_t *wk, an_shape_t *s)
{
    double *buf = wk->dscratch, tot = 0.0;
    double prof[168], night = 0.0, day = 0.0, we = 0.0, wd = 0.0;
    size_t nprof[168] = {0}, nvalid = 0, nb = 0, n_night = 0, n_day = 0, n_we = 0, n_wd = 0;
    size_t present = 0;

    memset(s, 0, sizeof *s);
    memset(prof, 0, sizeof prof);
    for (size_t k = 0; k < wk->n_days; k++) {
        const an_day_t *d = &wk->days[k];
        tot += d->sum;
        nvalid += d->n_valid;
        present += d->n_valid > 0;
        for (int h = 0; h < 24; h++) {
            if (!isfinite(d->hour[h]))
                continue;
            int b = ((d->wday + 6) % 7) * 24 + h; /* Monday 00:00 is bin 0 */
            prof[b] += d->hour[h];
            nprof[b]++;
            if (h >= NIGHT_H0 && h < NIGHT_H1) {
                night += d->hour[h];
                n_night++;
            }
            if (!d->weekend && h >= DAY_H0 && h < DAY_H1) {
                day += d->hour[h];
                n_day++;
            }
        }
        if (day_full(d)) {
            double mean = d->sum / (double)d->n_valid;
            if (d->weekend) {
                we += mean;
                n_we++;
            } else {
                wd += mean;
                n_wd++;
            }
        }
    }
    s->mean_w = nvalid ? tot / (double)nvalid : NAN;
    s->days_present = wk->n_days ? (double)present / (double)wk->n_days : 0.0;

    for (size_t k = 0; k < wk->n_days; k++)
        if (day_full(&wk->days[k]))
            buf[nb++] = wk->days[k].p_lo;
    s->near_base_w = an_median(buf, nb);
    nb = 0;
    for (size_t k = 0; k < wk->n_days; k++)
        if (day_full(&wk->days[k]))
            buf[nb++] = wk->days[k].p_hi;
    s->near_peak_w = an_median(buf, nb);
    nb = 0;
    for (size_t k = 0; k < wk->n_days; k++)
        buf[nb++] = wk->days[k].noise;
    s->robust_sd = an_median(buf, nb);

    s->base_to_peak = s->near_peak_w > 0.0 ? s->near_base_w / s->near_peak_w : NAN;
    s->load_factor = s->near_peak_w > 0.0 ? s->mean_w / s->near_peak_w : NAN;
    s->night_day_ratio = n_night && n_day && day > 0.0 ? (night / (double)n_night) / (day / (double)n_day) : NAN;
    s->weekend_weekday_ratio = n_we && n_wd && wd > 0.0 ? (we / (double)n_we) / (wd / (double)n_wd) : NAN;
    for (size_t b = 0; b < 168; b++)
        prof[b] = nprof[b] ? prof[b] / (double)nprof[b] : NAN;
    harmonics(prof, s->mean_w, &s->daily_amplitude, &s->weekly_amplitude);
}

void an_base_compute(an_work_t *wk)
{
    double *buf = wk->dscratch, lo = INFINITY, hi = -INFINITY;
    double tlo[2] = {INFINITY, INFINITY}, thi[2] = {-INFINITY, -INFINITY};

    for (int sl = 0; sl < AN_SLOTS; sl++) {
        size_t m = 0;
        int t = sl >= 24;
        for (size_t k = 0; k < wk->n_days; k++)
            if (wk->days[k].weekend == t && day_full(&wk->days[k]))
                buf[m++] = wk->days[k].hour[sl % 24];
        wk->slot_level[sl] = an_median(buf, m);
        if (isfinite(wk->slot_level[sl])) {
            lo = fmin(lo, wk->slot_level[sl]);
            hi = fmax(hi, wk->slot_level[sl]);
            tlo[t] = fmin(tlo[t], wk->slot_level[sl]);
            thi[t] = fmax(thi[t], wk->slot_level[sl]);
        }
    }
    /* Cycles are judged against the channel's highest level: a weekend whose nights and days
     * differ by a tenth of the working-day peak has no cycle of its own, and all of it is base
     * (LBNL's trace: weekend days 3 kW, nights 5 kW, weekday peaks 16 kW). */
    double span = hi - lo;
    wk->has_cycle = isfinite(span) && hi > 0.0 && span > CYCLE_MIN * hi;
    for (int sl = 0; sl < AN_SLOTS; sl++) {
        double v = wk->slot_level[sl];
        int t = sl >= 24;
        double tspan = thi[t] - tlo[t];
        int tcycle = wk->has_cycle && tspan > CYCLE_MIN * hi;
        wk->slot_base[sl] = isfinite(v) && (!tcycle || v <= tlo[t] + BASE_FRAC * tspan);
        wk->slot_work[sl] = isfinite(v) && wk->has_cycle && v >= lo + WORK_FRAC * span;
    }

    /* A day's base level: the median of its base hours, so that a reboot's dip or a job of a
     * few hours does not move it. */
    for (size_t k = 0; k < wk->n_days; k++) {
        an_day_t *d = &wk->days[k];
        double hv[24];
        size_t m = 0, want = 0;
        for (int h = 0; h < 24; h++) {
            if (!wk->slot_base[an_slot(d->weekend, h)])
                continue;
            want++;
            if (isfinite(d->hour[h]))
                hv[m++] = d->hour[h];
        }
        d->base = NAN;
        d->kept = 0;
        if (day_full(d) && m >= 1 && 2 * m >= want) {
            d->base = an_median(hv, m);
            d->kept = 1;
        }
    }

    /* Weekday and weekend bases may differ (LBNL's trace: weekday nights ~2 kW higher); the
     * series the change points are sought in is adjusted by the weekend's offset, the median
     * over adjacent days of different type (Friday-Saturday, Sunday-Monday) of weekend less
     * weekday: a step between them moves one pair, not the median. */
    size_t m = 0;
    for (size_t k = 0; k + 1 < wk->n_days; k++) {
        const an_day_t *a = &wk->days[k], *b = &wk->days[k + 1];
        if (a->kept && b->kept && a->weekend != b->weekend)
            buf[m++] = a->weekend ? a->base - b->base : b->base - a->base;
    }
    double off_we = m ? an_median(buf, m) : 0.0;
    m = 0;
    for (size_t k = 0; k < wk->n_days; k++) {
        an_day_t *d = &wk->days[k];
        d->badj = d->kept ? d->base - (d->weekend ? off_we : 0.0) : NAN;
        if (d->kept)
            buf[m++] = d->base;
    }
    double med_all = m ? an_median(buf, m) : 0.0;

    /* Robust noise of the series: MAD of differences between consecutive days of the same
     * type (Monday-Tuesday, Saturday-Sunday), so that an error in the weekend offset does not
     * pass for noise. */
    m = 0;
    for (size_t k = 0; k + 1 < wk->n_days; k++) {
        const an_day_t *a = &wk->days[k], *b = &wk->days[k + 1];
        if (a->kept && b->kept && a->weekend == b->weekend)
            buf[m++] = b->base - a->base;
    }
    double sigma = NAN;
    if (m >= 2) {
        double med = gsl_stats_median(buf, 1, m);
        for (size_t i = 0; i < m; i++)
            buf[i] = fabs(buf[i] - med);
        sigma = gsl_stats_median(buf, 1, m) * MAD_DIFF_TO_SD;
    }
    double floor_w = fmax(0.1, 1e-4 * fabs(med_all));
    wk->base_sigma = isfinite(sigma) && sigma > floor_w ? sigma : floor_w;
}
