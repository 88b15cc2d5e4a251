/*
 * Scaling audited sites up to a population, as officers do when a few audited units stand for
 * a province: the ratio estimator (Cochran, "Sampling Techniques", 3rd ed., 1977, ch. 6) of the
 * population total, with a percentile bootstrap interval (Efron and Tibshirani, "An
 * Introduction to the Bootstrap", 1993, ch. 13) from resampling the audited sites.  The seed is
 * fixed by the caller so that a published statement can be reproduced to the digit.
 */
#include "analysis/analysis.h"

#include <errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REPLICATES 10000
#define MAX_REDRAWS 1000 /* per replicate, when a resample has no units at all */

int an_scale_ratio(const double *y, const double *x, size_t n, double population_x,
                   unsigned replicates, unsigned long seed, double level, an_scale_t *out)
{
    if (!y || !out || n < 2 || !(level > 0 && level < 1) || !(population_x > 0)) {
        errno = EINVAL;
        return -1;
    }
    memset(out, 0, sizeof *out);
    double sy = 0, sx = 0;
    for (size_t i = 0; i < n; i++) {
        double xi = x ? x[i] : 1.0;
        if (!isfinite(y[i]) || !isfinite(xi) || xi < 0) {
            errno = EINVAL;
            return -1;
        }
        sy += y[i];
        sx += xi;
    }
    if (!(sx > 0)) {
        errno = EINVAL;
        return -1;
    }
    if (replicates == 0)
        replicates = DEFAULT_REPLICATES;
    double *r = malloc(replicates * sizeof *r);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r || !rng) {
        free(r);
        gsl_rng_free(rng);
        errno = ENOMEM;
        return -1;
    }
    gsl_rng_set(rng, seed);
    unsigned kept = 0;
    for (unsigned b = 0; b < replicates; b++) {
        for (int tries = 0; tries < MAX_REDRAWS; tries++) {
            double by = 0, bx = 0;
            for (size_t i = 0; i < n; i++) {
                size_t k = (size_t)gsl_rng_uniform_int(rng, (unsigned long)n);
                by += y[k];
                bx += x ? x[k] : 1.0;
            }
            if (bx > 0) {
                r[kept++] = by / bx;
                break;
            }
        }
    }
    gsl_rng_free(rng);
    gsl_sort(r, 1, kept);
    double a = (1 - level) / 2;
    out->n = n;
    out->sample_y = sy;
    out->sample_x = sx;
    out->ratio = sy / sx;
    out->population_x = population_x;
    out->total = out->ratio * population_x;
    out->lo = gsl_stats_quantile_from_sorted_data(r, 1, kept, a) * population_x;
    out->hi = gsl_stats_quantile_from_sorted_data(r, 1, kept, 1 - a) * population_x;
    out->level = level;
    out->replicates = kept;
    out->seed = seed;
    free(r);
    return 0;
}
