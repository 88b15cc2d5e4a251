/* Power against compute load, one circuit at a time (correlate-private.h, docs/correlate.md). */
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multifit.h>

#include "analysis/correlate-private.h"
#include "common/common.h"

/* MAD to standard deviation for normal data (Rousseeuw & Croux 1993, JASA 88:1273). */
#define MAD_TO_SD 1.4826
/* GPU rigs of 6-8 cards draw 1.0-1.5 kW at the wall: the built-in catalogue's gpu_rig row
 * (analysis/rigs.c cites its sources); used for the residual's rig count range. */
/* Iterations of the reweighted fit at most.  GSL's default is 100 to a tolerance of
 * sqrt(DBL_EPSILON), which noisy circuits seldom reach; the weights settle far sooner. */
#define FIT_MAXITER 50
/* Hosts of one circuit fitted at most; the others keep their declared slope (a circuit feeds a
 * rack of a few dozen machines at most). */
#define CR_FIT_HOSTS_MAX 64
#define RIG_W_MIN 1000.0
#define RIG_W_MAX 1500.0

const char *cr_class_name(cr_class_t c)
{
    static const char *const n[] = {"deliberate", "passive", "research"};
    return (unsigned)c < 3 ? n[c] : "?";
}

const char *cr_kind_name(cr_kind_t k)
{
    static const char *const n[] = {"unexplained_residual", "host_full_load", "host_off_hours",
                                    "host_research"};
    return (unsigned)k < 4 ? n[k] : "?";
}

double cr_pearson(const double *x, const double *y, size_t n)
{
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i]))
            continue;
        sx += x[i];
        sy += y[i];
        m++;
    }
    if (m < 3)
        return NAN;
    double mx = sx / (double)m, my = sy / (double)m;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i]))
            continue;
        double a = x[i] - mx, b = y[i] - my;
        sxx += a * a;
        syy += b * b;
        sxy += a * b;
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

typedef struct rank_item {
    double v;
    size_t i;
} rank_item_t;

static int cmp_rank(const void *a, const void *b)
{
    double x = ((const rank_item_t *)a)->v, y = ((const rank_item_t *)b)->v;
    return (x > y) - (x < y);
}

/* Mid-ranks, ties averaged (Spearman's rho is Pearson's r on these). */
static int ranks(const double *v, const size_t *idx, size_t m, double *out)
{
    rank_item_t *t = malloc(m * sizeof *t);
    if (!t)
        return -1;
    for (size_t k = 0; k < m; k++)
        t[k] = (rank_item_t){v[idx[k]], k};
    qsort(t, m, sizeof *t, cmp_rank);
    for (size_t a = 0; a < m;) {
        size_t b = a;
        while (b + 1 < m && t[b + 1].v == t[a].v)
            b++;
        double r = (double)(a + b) / 2.0 + 1.0;
        for (size_t k = a; k <= b; k++)
            out[t[k].i] = r;
        a = b + 1;
    }
    free(t);
    return 0;
}

double cr_spearman(const double *x, const double *y, size_t n)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx), m = 0;
    double *rx = malloc((n ? n : 1) * sizeof *rx), *ry = malloc((n ? n : 1) * sizeof *ry);
    double r = NAN;
    if (!idx || !rx || !ry)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i]))
            idx[m++] = i;
    if (m >= 3 && ranks(x, idx, m, rx) == 0 && ranks(y, idx, m, ry) == 0)
        r = cr_pearson(rx, ry, m);
out:
    free(idx);
    free(rx);
    free(ry);
    return r;
}

/* Spearman's rho from at most SPEARMAN_PAIRS evenly spaced samples: ranking sorts, and a
 * quarter of a year at one minute would cost more than the rest of the circuit.  The
 * sampling error of rho from 8,192 pairs is about 1/sqrt(8192) = 0.011, below what it is read
 * for.  tmp has room for 2 * n values. */
#define SPEARMAN_PAIRS 8192
static double spearman_sampled(const double *x, const double *y, size_t n, double *tmp)
{
    size_t k = (n + SPEARMAN_PAIRS - 1) / SPEARMAN_PAIRS, m = 0;
    if (k <= 1)
        return cr_spearman(x, y, n);
    for (size_t i = 0; i < n; i += k, m++) {
        tmp[m] = x[i];
        tmp[n + m] = y[i];
    }
    return cr_spearman(tmp, tmp + n, m);
}

static double select_k(double *v, size_t n, size_t k);

/* Median of the known values of v[a..b); NaN if none.  tmp has room for b - a values. */
static double median_of(const double *v, size_t a, size_t b, double *tmp)
{
    size_t m = 0;
    for (size_t i = a; i < b; i++)
        if (!isnan(v[i]))
            tmp[m++] = v[i];
    if (m == 0)
        return NAN;
    double hi = select_k(tmp, m, m / 2);
    if (m % 2)
        return hi;
    /* select_k leaves the m / 2 smallest before it: the other middle value is their largest. */
    double lo = tmp[0];
    for (size_t i = 1; i < m / 2; i++)
        lo = fmax(lo, tmp[i]);
    return (lo + hi) / 2;
}

static void add_evidence(cr_finding_t *f, const char *name, double v)
{
    if (f->n_evidence == CR_EVIDENCE_MAX)
        return;
    wa_strlcpy(f->evidence[f->n_evidence].name, name, sizeof f->evidence[0].name);
    f->evidence[f->n_evidence++].value = v;
}

static int push_finding(cr_circuit_t *c, const cr_finding_t *f)
{
    cr_finding_t *v = realloc(c->findings, (c->n_findings + 1) * sizeof *v);
    if (!v)
        return -1;
    c->findings = v;
    c->findings[c->n_findings++] = *f;
    return 0;
}

/* Night or weekend, in local time: when a trojan on an office PC is left alone. */
int cr_off_hours(int64_t t, const cr_opts_t *o)
{
    int64_t local = t + o->tz_offset_s;
    int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int hour = (int)((local - day * 86400) / 3600);
    int wday = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    if (wday == 0 || wday == 6)
        return 1;
    return o->night_from > o->night_to ? (hour >= o->night_from || hour < o->night_to)
                                       : (hour >= o->night_from && hour < o->night_to);
}

/* 1 if the comma-separated list names item (whole names only: "441" is not in "4410"). */
static int list_has(const char *list, const char *item)
{
    size_t hl = strlen(item);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == hl && !strncmp(p, item, hl))
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static int host_in_job(const cr_job_t *j, const char *host)
{
    return list_has(j->hosts, host);
}

/* Tukey's bisquare with tuning constant 4.685, 95% efficiency at the normal distribution
 * (Holland & Welsch 1977, Commun. Statist. A6:813); GSL's gsl_multifit_robust_bisquare uses
 * the same function and constant. */
#define BISQUARE_C 4.685

/* The k-th smallest of v[0..n) (n > k; no NaN): Hoare's selection, linear on average.  v is
 * reordered so that the values before index k are no larger than it. */
static double select_k(double *v, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

/* Reweighted least squares with bisquare weights on the normal equations (X rows x p, row
 * major; p is 1 + the circuit's moving hosts, small): each iteration costs rows x p^2, where an
 * SVD of the weighted matrix, as GSL's robust fit does, costs several times that and dominated
 * a circuit's time.  The scale is the residuals' MAD, as GSL's.  1 if fitted, 0 if the normal
 * matrix is singular or nearly so (hosts whose loads move together: the caller falls back to
 * GSL's truncated SVD), -1 with ENOMEM. */
static int irls(const double *X, const double *y, size_t rows, size_t p, double *b, double *r2)
{
    double *wt = malloc(rows * sizeof *wt), *r = malloc(rows * sizeof *r);
    double *t = malloc(rows * sizeof *t), *acc = malloc((p * p + p) * sizeof *acc);
    gsl_matrix *A = gsl_matrix_alloc(p, p);
    gsl_vector *rhs = gsl_vector_alloc(p), *x = gsl_vector_alloc(p);
    int rc = -1;
    if (!wt || !r || !t || !acc || !A || !rhs || !x)
        goto out;
    for (size_t i = 0; i < rows; i++)
        wt[i] = 1;
    for (size_t a = 0; a < p; a++)
        b[a] = 0;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    for (int it = 0; it < FIT_MAXITER; it++) {
        /* X'WX (lower triangle) and X'Wy in plain arrays: this is the fit's inner loop. */
        double *ata = acc, *aty = acc + p * p;
        memset(acc, 0, (p * p + p) * sizeof *acc);
        for (size_t i = 0; i < rows; i++) {
            const double *xi = X + i * p;
            if (wt[i] == 0)
                continue;
            for (size_t a = 0; a < p; a++) {
                double xa = xi[a] * wt[i];
                aty[a] += xa * y[i];
                for (size_t c = 0; c <= a; c++)
                    ata[a * p + c] += xa * xi[c];
            }
        }
        for (size_t a = 0; a < p; a++) {
            gsl_vector_set(rhs, a, aty[a]);
            for (size_t c = 0; c <= a; c++) {
                gsl_matrix_set(A, a, c, ata[a * p + c]);
                gsl_matrix_set(A, c, a, ata[a * p + c]);
            }
        }
        double dmax = 0, dmin = INFINITY;
        int bad = gsl_linalg_cholesky_decomp1(A) != GSL_SUCCESS;
        for (size_t a = 0; a < p && !bad; a++) {
            double d = gsl_matrix_get(A, a, a);
            dmax = fmax(dmax, d * d);
            dmin = fmin(dmin, d * d);
        }
        /* A condition number past 1e10 leaves slopes that mean nothing. */
        if (bad || !(dmin > 1e-10 * dmax) || gsl_linalg_cholesky_solve(A, rhs, x) != GSL_SUCCESS) {
            rc = 0;
            gsl_set_error_handler(old);
            goto out;
        }
        double delta = 0, scale = 1;
        for (size_t a = 0; a < p; a++) {
            delta = fmax(delta, fabs(gsl_vector_get(x, a) - b[a]));
            b[a] = gsl_vector_get(x, a);
            scale = fmax(scale, fabs(b[a]));
        }
        for (size_t i = 0; i < rows; i++) {
            double f = 0;
            for (size_t a = 0; a < p; a++)
                f += X[i * p + a] * b[a];
            r[i] = y[i] - f;
            t[i] = fabs(r[i]);
        }
        double sigma = select_k(t, rows, rows / 2) * MAD_TO_SD;
        if (!(sigma > 0))
            break; /* an exact fit: nothing to reweight */
        for (size_t i = 0; i < rows; i++) {
            double q = r[i] / (BISQUARE_C * sigma);
            wt[i] = fabs(q) < 1 ? (1 - q * q) * (1 - q * q) : 0;
        }
        if (it > 0 && delta <= 1e-9 * scale)
            break;
    }
    gsl_set_error_handler(old);
    /* R^2 under the final weights, as GSL's robust statistics give it. */
    double sw = 0, swy = 0, sse = 0, sst = 0;
    for (size_t i = 0; i < rows; i++) {
        sw += wt[i];
        swy += wt[i] * y[i];
    }
    double ybar = sw > 0 ? swy / sw : 0;
    for (size_t i = 0; i < rows; i++) {
        double f = 0;
        for (size_t a = 0; a < p; a++)
            f += X[i * p + a] * b[a];
        sse += wt[i] * (y[i] - f) * (y[i] - f);
        sst += wt[i] * (y[i] - ybar) * (y[i] - ybar);
    }
    *r2 = sst > 0 ? 1 - sse / sst : NAN;
    rc = 1;
out:
    if (rc < 0)
        errno = ENOMEM;
    free(wt);
    free(r);
    free(t);
    free(acc);
    gsl_matrix_free(A);
    gsl_vector_free(rhs);
    gsl_vector_free(x);
    return rc;
}

/* GSL's robust fit (bisquare, truncated SVD): for the normal matrices irls() will not trust. */
static int gsl_fit(double *Xa, double *ya, size_t rows, size_t p, double *b, double *r2, char *err,
                   size_t errlen)
{
    gsl_matrix_view X = gsl_matrix_view_array(Xa, rows, p);
    gsl_vector_view y = gsl_vector_view_array(ya, rows);
    gsl_vector *bv = gsl_vector_alloc(p);
    gsl_matrix *cov = gsl_matrix_alloc(p, p);
    gsl_multifit_robust_workspace *ws =
        gsl_multifit_robust_alloc(gsl_multifit_robust_bisquare, rows, p);
    int rc = -1;
    if (!bv || !cov || !ws) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        goto out;
    }
    gsl_multifit_robust_maxiter(FIT_MAXITER, ws);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int g = gsl_multifit_robust(&X.matrix, &y.vector, bv, cov, ws);
    gsl_set_error_handler(old);
    /* GSL_EMAXITER still leaves the last iterate, which is a usable fit. */
    if (g != GSL_SUCCESS && g != GSL_EMAXITER) {
        errno = WA_ERANGE;
        wa_err(err, errlen, "robust fit failed: %s", gsl_strerror(g));
        goto out;
    }
    *r2 = gsl_multifit_robust_statistics(ws).Rsq;
    for (size_t a = 0; a < p; a++)
        b[a] = gsl_vector_get(bv, a);
    rc = 0;
out:
    gsl_multifit_robust_free(ws);
    gsl_matrix_free(cov);
    gsl_vector_free(bv);
    return rc;
}

/* The robust fit over [r0, r1).  Hosts whose load barely moves there cannot be told from the
 * idle: their slope is the declared max_w - idle_w (0 if not declared). */
static int fit(const double *w, const cr_host_t *h, size_t nh, size_t r0, size_t r1,
               cr_circuit_t *c, char *err, size_t errlen)
{
    size_t *col = malloc((nh ? nh : 1) * sizeof *col), p = 1;
    size_t rows = 0;
    int rc = -1;
    double *X = NULL, *y = NULL, b[1 + CR_FIT_HOSTS_MAX];
    if (!col)
        return -1;
    for (size_t k = 0; k < nh; k++) {
        col[k] = 0;
        c->slope[k] = h[k].cfg && h[k].cfg->max_w > 0 ? h[k].cfg->max_w - h[k].cfg->idle_w : 0;
        if (!h[k].u || p > CR_FIT_HOSTS_MAX)
            continue;
        double s = 0, ss = 0;
        size_t m = 0;
        for (size_t i = r0; i < r1; i++)
            if (!isnan(h[k].u[i])) {
                s += h[k].u[i];
                ss += h[k].u[i] * h[k].u[i];
                m++;
            }
        double var = m > 1 ? (ss - s * s / (double)m) / (double)(m - 1) : 0;
        if (var > 0.05 * 0.05)
            col[k] = p++;
    }
    for (size_t i = r0; i < r1; i++) {
        int ok = !isnan(w[i]);
        for (size_t k = 0; k < nh && ok; k++)
            ok = !h[k].u || !isnan(h[k].u[i]) || (!col[k] && c->slope[k] == 0);
        rows += (size_t)ok;
    }
    if (rows < 4 * p + 8) {
        errno = EINVAL;
        wa_err(err, errlen, "reference period has %zu usable samples for %zu unknowns", rows, p);
        goto out;
    }
    X = calloc(rows * p, sizeof *X);
    y = malloc(rows * sizeof *y);
    if (!X || !y) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        goto out;
    }
    size_t r = 0;
    for (size_t i = r0; i < r1; i++) {
        int ok = !isnan(w[i]);
        for (size_t k = 0; k < nh && ok; k++)
            ok = !h[k].u || !isnan(h[k].u[i]) || (!col[k] && c->slope[k] == 0);
        if (!ok)
            continue;
        double fixed = 0;
        X[r * p] = 1.0;
        for (size_t k = 0; k < nh; k++) {
            double u = h[k].u && !isnan(h[k].u[i]) ? h[k].u[i] : 0;
            if (col[k])
                X[r * p + col[k]] = u;
            else
                fixed += c->slope[k] * u;
        }
        y[r] = w[i] - fixed;
        r++;
    }
    int f = irls(X, y, rows, p, b, &c->r2);
    if (f < 0) {
        wa_err(err, errlen, "out of memory");
        goto out;
    }
    if (f == 0 && gsl_fit(X, y, rows, p, b, &c->r2, err, errlen) < 0)
        goto out;
    c->idle_w = b[0];
    for (size_t k = 0; k < nh; k++) {
        c->slope_fitted[k] = col[k] != 0;
        if (col[k])
            c->slope[k] = b[col[k]];
    }
    rc = 0;
out:
    free(X);
    free(y);
    free(col);
    return rc;
}

/* Known samples a day needs to count in a run: a day of which the jobs or the gaps left one
 * or two samples says nothing about a pattern (on an hourly grid, a night is 8 samples). */
#define MIN_KNOWN_PER_DAY 3

/* First index from which the day-long windows keep `hit` for at least `frac` of their known
 * samples to the end; n if never.  hit[i]: 1, 0, or -1 (unknown / not counted). */
static size_t persistent_onset(const signed char *hit, size_t n, size_t from, size_t day,
                               double frac, size_t min_days)
{
    size_t onset = n;
    /* Walk the days backwards: the onset is the start of the earliest day of an unbroken run
     * of qualifying days that reaches the end of the data. */
    size_t ndays = (n - from + day - 1) / day;
    for (size_t d = ndays; d-- > 0;) {
        size_t a = from + d * day, b = a + day < n ? a + day : n;
        size_t yes = 0, known = 0;
        for (size_t i = a; i < b; i++)
            if (hit[i] >= 0) {
                known++;
                yes += (size_t)hit[i];
            }
        if (known < (day < MIN_KNOWN_PER_DAY ? day : MIN_KNOWN_PER_DAY))
            continue; /* a day (nearly) without data neither breaks nor starts a run */
        if ((double)yes < frac * (double)known)
            break;
        onset = a;
    }
    /* A run shorter than min_days is a weekend or a long job, not a pattern yet. */
    if (onset < n && n - onset < min_days * day)
        return n;
    if (onset == n)
        return n;
    /* The run may have begun within the day before: extend it back over unbroken hits. */
    while (onset > from && hit[onset - 1] != 0)
        onset--;
    while (onset < n && hit[onset] != 1)
        onset++;
    return onset;
}

int cr_circuit_analyze(const double *w, size_t n, int64_t start, int step, const cr_host_t *hosts,
                       size_t nh, const cr_job_t *jobs, size_t nj, const cr_opts_t *opts,
                       cr_circuit_t *c, char *err, size_t errlen)
{
    cr_opts_t o = *opts;
    memset(c, 0, sizeof *c);
    if (!w || step <= 0 || (nh && !hosts)) {
        errno = EINVAL;
        return wa_err(err, errlen, "cr_circuit_analyze: bad arguments");
    }
    if (o.min_w <= 0)
        o.min_w = 100;
    if (o.busy <= 0)
        o.busy = 0.8;
    if (o.night_from == 0 && o.night_to == 0) {
        o.night_from = 22;
        o.night_to = 6;
    }
    if (o.max_lag <= 0)
        o.max_lag = 12;
    if (o.ref_from == 0 && o.ref_to == 0) {
        o.ref_from = start;
        o.ref_to = start + 7 * 86400;
    }
    size_t r0 = o.ref_from > start ? (size_t)((o.ref_from - start) / step) : 0;
    size_t r1 = o.ref_to > start ? (size_t)((o.ref_to - start) / step) : 0;
    if (r1 > n)
        r1 = n;
    size_t day = (size_t)(86400 / step);
    if (day == 0)
        day = 1;
    double *pred = malloc((n ? n : 1) * sizeof *pred);
    double *res = malloc((n ? n : 1) * sizeof *res);
    double *tmp = malloc((n ? 2 * n : 1) * sizeof *tmp); /* the MAD needs two halves */
    signed char *hit = malloc(n ? n : 1);
    size_t *mine = malloc((nj ? nj : 1) * sizeof *mine);
    signed char *offm = malloc(n ? n : 1); /* nights and weekends, computed once */
    c->slope = calloc(nh ? nh : 1, sizeof *c->slope);
    c->slope_fitted = calloc(nh ? nh : 1, sizeof *c->slope_fitted);
    c->n_hosts = nh;
    int rc = -1;
    if (!pred || !res || !tmp || !hit || !mine || !offm || !c->slope || !c->slope_fitted) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        offm[i] = (signed char)cr_off_hours(start + (int64_t)(i + 1) * step, &o);
    if (r1 <= r0 || fit(w, hosts, nh, r0, r1, c, err, errlen) < 0) {
        if (r1 <= r0) {
            errno = EINVAL;
            wa_err(err, errlen, "the reference period holds no data");
        }
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        double p = c->idle_w;
        for (size_t k = 0; k < nh; k++)
            if (hosts[k].u && !isnan(hosts[k].u[i]))
                p += c->slope[k] * hosts[k].u[i];
        pred[i] = p;
        res[i] = isnan(w[i]) ? NAN : w[i] - p;
    }

    /* Correlation of power with the explained load, and the lag that fits best. */
    c->pearson = cr_pearson(w, pred, n);
    c->spearman = spearman_sampled(w, pred, n, tmp);
    c->best_lag = 0;
    c->best_lag_r = c->pearson;
    for (int l = -o.max_lag; l <= o.max_lag; l++) {
        if (l == 0 || (size_t)abs(l) >= n)
            continue;
        size_t m = n - (size_t)abs(l);
        double r = l > 0 ? cr_pearson(w + l, pred, m) : cr_pearson(w, pred - l, m);
        if (!isnan(r) && (isnan(c->best_lag_r) || r > c->best_lag_r + 1e-9)) {
            c->best_lag_r = r;
            c->best_lag = l;
        }
    }

    /* The residual: scale from the reference period, then a persistent positive level. */
    double med = median_of(res, r0, r1, tmp);
    for (size_t i = r0; i < r1; i++)
        tmp[i - r0] = isnan(res[i]) ? NAN : fabs(res[i] - med);
    double mad = median_of(tmp, 0, r1 - r0, tmp + (r1 - r0)) * MAD_TO_SD;
    c->resid_mad_w = mad;
    double thr = fmax(o.min_w, 6 * mad);
    {
        double s = 0;
        size_t m = 0;
        for (size_t i = r1; i < n; i++)
            if (!isnan(res[i])) {
                s += res[i];
                m++;
            }
        c->resid_mean_w = m ? s / (double)m : NAN;
    }
    for (size_t i = 0; i < n; i++)
        hit[i] = isnan(res[i]) ? -1 : res[i] > thr;
    size_t on = persistent_onset(hit, n, r1, day, 0.9, 1);
    if (on < n) {
        cr_finding_t f = {.kind = CR_RESIDUAL};
        f.onset = start + (int64_t)on * step;
        f.w = median_of(res, on, n, tmp);
        double dsum = 0, nsum = 0;
        size_t dn = 0, nn = 0;
        for (size_t i = on; i < n; i++) {
            if (isnan(res[i]))
                continue;
            if (offm[i]) {
                nsum += res[i];
                nn++;
            } else {
                dsum += res[i];
                dn++;
            }
        }
        double dmean = dn ? dsum / (double)dn : NAN, nmean = nn ? nsum / (double)nn : NAN;
        f.count_min = (int)ceil(f.w / (RIG_W_MAX * 1.05));
        f.count_max = (int)floor(f.w / (RIG_W_MIN * 0.95));
        if (f.count_min < 1)
            f.count_min = 1;
        if (f.count_max < f.count_min)
            f.count_max = f.count_min;
        int flat = !isnan(dmean) && dmean > thr;
        f.cls = flat ? CR_DELIBERATE : CR_PASSIVE;
        snprintf(f.why, sizeof f.why,
                 flat ? "flat %.0f W day and night that no monitored host accounts for: a "
                        "dedicated machine without an exporter"
                      : "%.0f W at night and weekends only that no monitored host accounts for",
                 f.w);
        add_evidence(&f, "residual_w", f.w);
        add_evidence(&f, "threshold_w", thr);
        add_evidence(&f, "ref_mad_w", mad);
        add_evidence(&f, "day_mean_w", dmean);
        add_evidence(&f, "night_mean_w", nmean);
        add_evidence(&f, "fit_r2", c->r2);
        if (push_finding(c, &f) < 0)
            goto nomem;
    }

    /* Each host's own load, against the declared jobs. */
    for (size_t k = 0; k < nh; k++) {
        const double *u = hosts[k].u;
        const char *id = hosts[k].cfg ? hosts[k].cfg->id : "";
        if (!u)
            continue;
        size_t busy = 0, covered = 0, known = 0, nmine = 0;
        char jobs_seen[256] = "";
        /* This host's jobs, looked up once rather than at every sample. */
        for (size_t j = 0; j < nj; j++)
            if (host_in_job(&jobs[j], id))
                mine[nmine++] = j;
        /* hit: busy outside any job = 1, idle = 0, unknown or in a job = -1 */
        for (size_t i = 0; i < n; i++) {
            if (isnan(u[i])) {
                hit[i] = -1;
                continue;
            }
            known++;
            int b = u[i] >= o.busy;
            int64_t t = start + (int64_t)(i + 1) * step;
            int in = 0;
            for (size_t m = 0; m < nmine && !in; m++) {
                const cr_job_t *j = &jobs[mine[m]];
                /* A step that a job overlaps at all is the job's: on a coarse grid the hour
                 * a job ends in is busy for most of it, and is not a load outside jobs. */
                if (t > j->from && t - step < j->to) {
                    in = 1;
                    if (b && !list_has(jobs_seen, j->id) &&
                        strlen(jobs_seen) + strlen(j->id) + 2 < sizeof jobs_seen) {
                        if (jobs_seen[0])
                            strcat(jobs_seen, ",");
                        strcat(jobs_seen, j->id);
                    }
                }
            }
            busy += (size_t)b;
            covered += (size_t)(b && in);
            hit[i] = in ? -1 : b;
        }
        if (known == 0)
            continue;
        /* Off-hours only: blank the working hours and look for a run of busy nights. */
        size_t on_all = persistent_onset(hit, n, 0, day, 0.8, 3);
        signed char *night = malloc(n ? n : 1);
        if (!night)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            night[i] = offm[i] ? hit[i] : -1;
        size_t on_night = persistent_onset(night, n, 0, day, 0.8, 2);
        free(night);
        double slope = c->slope[k];
        cr_finding_t f = {0};
        wa_strlcpy(f.host, id, sizeof f.host);
        f.count_min = f.count_max = 1;
        const char *role = hosts[k].cfg ? hosts[k].cfg->role : "other";
        int office = !strcmp(role, "office_pc");
        if (on_all < n || on_night < n) {
            size_t at = on_all < n ? on_all : on_night;
            double us = 0, uo = 0;
            size_t um = 0, uom = 0, dbusy = 0, dknown = 0;
            for (size_t i = at; i < n; i++) {
                if (hit[i] < 0)
                    continue;
                us += u[i];
                um++;
                if (!offm[i]) {
                    dknown++;
                    dbusy += (size_t)hit[i];
                } else {
                    uo += u[i];
                    uom++;
                }
            }
            double day_busy = dknown ? (double)dbusy / (double)dknown : NAN;
            f.kind = on_all < n ? CR_HOST_FULL : CR_HOST_OFF_HOURS;
            f.onset = start + (int64_t)at * step;
            /* An off-hours load's size is what it draws when it runs: at nights and weekends. */
            f.w = slope * (f.kind == CR_HOST_OFF_HOURS ? (uom ? uo / (double)uom : 0)
                                                       : (um ? us / (double)um : 0));
            f.cls = (office || f.kind == CR_HOST_OFF_HOURS) ? CR_PASSIVE : CR_DELIBERATE;
            snprintf(f.why, sizeof f.why, "%s%s, no declared job covers it",
                     f.kind == CR_HOST_FULL ? "busy day and night" : "busy at night and weekends",
                     office ? " on an office PC (a trojan's pattern)"
                            : f.kind == CR_HOST_FULL ? " on a dedicated machine" : "");
            add_evidence(&f, "busy_fraction_after_onset", um ? us / (double)um : NAN);
            add_evidence(&f, "working_hours_busy_fraction", day_busy);
            add_evidence(&f, "slope_w", slope);
            add_evidence(&f, "slope_fitted", c->slope_fitted[k]);
            add_evidence(&f, "job_covered_fraction", busy ? (double)covered / (double)busy : 0);
            if (push_finding(c, &f) < 0)
                goto nomem;
        } else if (covered > 0 && (double)covered >= 0.5 * (double)busy) {
            f.kind = CR_HOST_RESEARCH;
            f.cls = CR_RESEARCH;
            size_t first = 0;
            double us = 0;
            size_t um = 0;
            for (size_t i = 0; i < n; i++)
                if (!isnan(u[i]) && u[i] >= o.busy && hit[i] < 0) {
                    if (!um)
                        first = i;
                    us += u[i];
                    um++;
                }
            f.onset = start + (int64_t)first * step;
            f.w = slope * (um ? us / (double)um : 0);
            wa_strlcpy(f.explained_by, jobs_seen, sizeof f.explained_by);
            snprintf(f.why, sizeof f.why, "%.0f%% of the busy time falls within declared jobs",
                     100.0 * (double)covered / (double)busy);
            add_evidence(&f, "job_covered_fraction", (double)covered / (double)busy);
            add_evidence(&f, "slope_w", slope);
            if (push_finding(c, &f) < 0)
                goto nomem;
        }
    }
    rc = 0;
    goto out;
nomem:
    errno = ENOMEM;
    wa_err(err, errlen, "out of memory");
out:
    free(pred);
    free(res);
    free(tmp);
    free(hit);
    free(mine);
    free(offm);
    if (rc < 0) {
        int e = errno;
        cr_circuit_free(c);
        errno = e;
    }
    return rc;
}

void cr_circuit_free(cr_circuit_t *c)
{
    if (!c)
        return;
    free(c->slope);
    free(c->slope_fitted);
    free(c->findings);
    memset(c, 0, sizeof *c);
}
