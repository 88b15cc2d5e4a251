/*
 * rigs.c: the built-in catalogue of what a hidden load may be, and the estimate of how many.
 *
 * The ranges are wall power while mining.  They are deliberately wide: a finding states a
 * range of units, not a model.  A site may pass its own catalogue (an_opts_t.rigs).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "analysis/analysis.h"
#include "common/common.h"

static const an_rig_t builtin[] = {
    {"gpu_rig", 1000.0, 1500.0,
     "6-8 GPUs at 150-200 W each (e.g. RTX 3070 ~220 W, RX 580 ~150 W while mining) plus a "
     "100-200 W host; vendors' mining power tables"},
    {"asic", 1300.0, 3500.0,
     "Bitmain Antminer S9 1323-1400 W (13.5-14 TH/s), S19j Pro 2950 W, S19 Pro 3250 W, "
     "WhatsMiner M10S 3500 W: makers' specifications"},
    {"office_pc", 40.0, 120.0,
     "a desktop's CPU at full load over its idle draw (~30 W idle office Core i5; 65-125 W CPU "
     "TDP under load): the increase a mining trojan causes per PC"},
};

const an_rig_t *an_rigs_builtin(size_t *n)
{
    if (n)
        *n = sizeof builtin / sizeof builtin[0];
    return builtin;
}

/* A measured step may read a little off the nameplate range: meter class and the step's own
 * uncertainty.  5% covers both for a class 1 meter (IEC 62053-21) and a step measured to a few
 * percent. */
#define RANGE_SLACK 0.05

/* How far step is from what a whole number of units can draw, relative to the step. */
static double misfit(const an_rig_t *r, double step, long *nmin, long *nmax)
{
    double lo = r->w_min * (1.0 - RANGE_SLACK), hi = r->w_max * (1.0 + RANGE_SLACK);
    *nmin = (long)ceil(step / hi);
    *nmax = (long)floor(step / lo);
    if (*nmin < 1)
        *nmin = 1;
    if (*nmax < 1)
        *nmax = 1;
    if (*nmin <= *nmax && step >= lo)
        return 0.0;
    /* No whole number fits: the nearest of n*w_max below and (n+1)*w_min above. */
    long k = (long)floor(step / hi);
    double below = k >= 1 ? step - (double)k * hi : INFINITY;
    double above = (double)(k + 1) * lo - step;
    return fmin(below, above) / step;
}

int an_rig_estimate(const an_rig_t *cat, size_t n, double step_w, const char *only,
                    an_finding_t *f)
{
    size_t best = n;
    double best_miss = INFINITY;
    long best_min = 0, best_max = 0;
    int restrict_kind = 0;

    if (!cat || n == 0 || !f || !(step_w > 0.0)) {
        errno = EINVAL;
        return -1;
    }
    if (only && only[0])
        for (size_t i = 0; i < n; i++)
            restrict_kind |= strcmp(cat[i].kind, only) == 0;
    for (size_t i = 0; i < n; i++) {
        long nmin, nmax;
        if (restrict_kind && strcmp(cat[i].kind, only) != 0)
            continue;
        if (!(cat[i].w_min > 0.0) || cat[i].w_max < cat[i].w_min)
            continue;
        double miss = misfit(&cat[i], step_w, &nmin, &nmax);
        /* Exact fits first, then fewer units; catalogue order breaks ties. */
        if (miss < best_miss || (miss == best_miss && nmin < best_min)) {
            best = i;
            best_miss = miss;
            best_min = nmin;
            best_max = nmax;
        }
    }
    if (best == n) {
        errno = EINVAL;
        return -1;
    }
    wa_strlcpy(f->rig_kind, cat[best].kind, sizeof f->rig_kind);
    f->rigs_min = (int)(best_min < best_max ? best_min : best_max);
    f->rigs_max = (int)(best_min < best_max ? best_max : best_min);
    return best_miss == 0.0;
}
