/*
 * pelt.c: change points in the daily base series, and the split that dates one at full
 * resolution.
 *
 * PELT: Killick, Fearnhead and Eckley, "Optimal detection of changepoints with a linear
 * computational cost", JASA 107 (2012) 1590-1598, with the normal mean-change cost (known
 * variance) and K = 0, which their pruning condition needs for this cost.
 */
#include <math.h>
#include <stdlib.h>

#include "analysis/detect-private.h"

size_t an_pelt(const double *x, size_t n, double sigma, double beta, size_t *cp)
{
    double *s1 = NULL, *s2 = NULL, *f = NULL;
    size_t *last = NULL, *keep = NULL, nk = 0, ncp = 0;
    double inv = 1.0 / (sigma * sigma);

    if (n < 2)
        return 0;
    s1 = malloc((n + 1) * sizeof *s1);
    s2 = malloc((n + 1) * sizeof *s2);
    f = malloc((n + 1) * sizeof *f);
    last = malloc((n + 1) * sizeof *last);
    keep = malloc((n + 1) * sizeof *keep);
    if (!s1 || !s2 || !f || !last || !keep)
        goto out;

    s1[0] = s2[0] = 0.0;
    for (size_t i = 0; i < n; i++) {
        s1[i + 1] = s1[i] + x[i];
        s2[i + 1] = s2[i] + x[i] * x[i];
    }
/* Cost of x[a..b): the residual sum of squares about its mean, in units of sigma^2. */
#define COST(a, b)                                                                                 \
    (((s2[b] - s2[a]) - (s1[b] - s1[a]) * (s1[b] - s1[a]) / (double)((b) - (a))) * inv)

    f[0] = -beta;
    keep[nk++] = 0;
    for (size_t t = 1; t <= n; t++) {
        double best = INFINITY;
        size_t arg = 0;
        for (size_t j = 0; j < nk; j++) {
            size_t tau = keep[j];
            double v = f[tau] + COST(tau, t) + beta;
            if (v < best) {
                best = v;
                arg = tau;
            }
        }
        f[t] = best;
        last[t] = arg;
        /* Prune: a tau that cannot beat t now never will (Killick et al. 2012, Theorem 3.1). */
        size_t m = 0;
        for (size_t j = 0; j < nk; j++) {
            size_t tau = keep[j];
            if (f[tau] + COST(tau, t) <= f[t])
                keep[m++] = tau;
        }
        keep[m++] = t;
        nk = m;
    }
#undef COST

    /* Walk back from n; the change points come out last first. */
    for (size_t t = last[n]; t > 0; t = last[t])
        cp[ncp++] = t;
    for (size_t i = 0; i < ncp / 2; i++) {
        size_t tmp = cp[i];
        cp[i] = cp[ncp - 1 - i];
        cp[ncp - 1 - i] = tmp;
    }
out:
    free(s1);
    free(s2);
    free(f);
    free(last);
    free(keep);
    return ncp;
}

long an_split(const double *r, const double *wt, size_t i0, size_t i1, int dir, double *step,
              double *t)
{
    double tw = 0.0, ts = 0.0, pw = 0.0, ps = 0.0, best = -INFINITY;
    size_t m = 0;
    long best_i = -1;

    for (size_t i = i0; i < i1; i++)
        if (isfinite(r[i]) && (!wt || wt[i] > 0.0)) {
            double w = wt ? wt[i] : 1.0;
            tw += w;
            ts += w * r[i];
            m++;
        }
    *step = *t = NAN;
    if (m < 2)
        return -1;
    /* The likelihood-ratio split for one change in the mean of independent values with
     * variances 1/w: maximise (mean after - mean before) / sqrt(1/W_before + 1/W_after), with
     * the sign asked for.  Unit weights give the least-squares split. */
    for (size_t i = i0; i < i1; i++) {
        if (!isfinite(r[i]) || (wt && !(wt[i] > 0.0)))
            continue;
        if (pw > 0.0) {
            double aw = tw - pw, d = (ts - ps) / aw - ps / pw;
            double v = (double)dir * d / sqrt(1.0 / pw + 1.0 / aw);
            if (v > best) {
                best = v;
                best_i = (long)i;
                *step = d;
            }
        }
        double w = wt ? wt[i] : 1.0;
        pw += w;
        ps += w * r[i];
    }
    if (best_i < 0)
        return -1;
    if (wt) {
        *t = (double)dir * best;
        return best_i;
    }
    /* Unit weights: the variance is not known, estimate it from the two sides. */
    double sb = 0.0, sa = 0.0, ss = 0.0;
    size_t nb = 0, na = 0;
    for (size_t i = i0; i < i1; i++) {
        if (!isfinite(r[i]))
            continue;
        if ((long)i < best_i) {
            sb += r[i];
            nb++;
        } else {
            sa += r[i];
            na++;
        }
    }
    double mb = sb / (double)nb, ma = sa / (double)na;
    for (size_t i = i0; i < i1; i++) {
        if (!isfinite(r[i]))
            continue;
        double d = r[i] - ((long)i < best_i ? mb : ma);
        ss += d * d;
    }
    double sd = m > 2 ? sqrt(ss / (double)(m - 2)) : 0.0;
    double se = sd * sqrt(1.0 / (double)nb + 1.0 / (double)na);
    *t = se > 0.0 ? *step / se : INFINITY;
    return best_i;
}
