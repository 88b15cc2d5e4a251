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

const char *an_rig_basis_name(an_rig_basis_t b)
{
    switch (b) {
    case AN_RIG_ONLY_FIT: return "only_fit";
    case AN_RIG_POWER_ONLY: return "power_only";
    case AN_RIG_SCHEDULE: return "schedule";
    case AN_RIG_NEAREST: return "nearest";
    case AN_RIG_NONE: break;
    }
    return "none";
}

const char *an_rig_basis_text(an_rig_basis_t b)
{
    switch (b) {
    case AN_RIG_ONLY_FIT: return "the only kind whose power fits";
    case AN_RIG_POWER_ONLY: return "power alone cannot tell these apart";
    case AN_RIG_SCHEDULE: return "runs outside working hours only, as a trojan on office PCs does";
    case AN_RIG_NEAREST: return "no whole number of any kind fits; the nearest";
    case AN_RIG_NONE: break;
    }
    return "";
}

int an_rig_fits_format(const an_finding_t *f, char *buf, size_t len)
{
    size_t used = 0;
    int total = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; f && i < f->n_rig_fits && i < AN_RIG_FITS_MAX; i++) {
        const an_rig_fit_t *r = &f->rig_fits[i];
        char cnt[32];
        if (r->min == r->max)
            snprintf(cnt, sizeof cnt, "%d", r->min);
        else
            snprintf(cnt, sizeof cnt, "%d-%d", r->min, r->max);
        int w = snprintf(buf + used, len > used ? len - used : 0, "%s%s %s", i ? ", or " : "", cnt,
                         r->kind);
        if (w < 0)
            return w;
        total += w;
        used = (size_t)total < len ? (size_t)total : len;
    }
    return total;
}

static void clear_estimate(an_finding_t *f)
{
    f->rig_kind[0] = '\0';
    f->rigs_min = f->rigs_max = 0;
    f->n_rig_fits = 0;
    f->rig_basis = AN_RIG_NONE;
}

static void add_fit(an_finding_t *f, const char *kind, long nmin, long nmax)
{
    if (f->n_rig_fits >= AN_RIG_FITS_MAX)
        return;
    an_rig_fit_t *r = &f->rig_fits[f->n_rig_fits++];
    wa_strlcpy(r->kind, kind, sizeof r->kind);
    r->min = (int)(nmin < nmax ? nmin : nmax);
    r->max = (int)(nmin < nmax ? nmax : nmin);
}

int an_rig_estimate(const an_rig_t *cat, size_t n, double step_w, const char *only,
                    an_finding_t *f)
{
    size_t best = n, n_fit = 0;
    double best_miss = INFINITY;
    long best_min = 0, best_max = 0;
    int restrict_kind = 0;

    if (f)
        clear_estimate(f);
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
        n_fit += miss == 0.0;
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
    add_fit(f, cat[best].kind, best_min, best_max);
    f->rigs_min = f->rig_fits[0].min;
    f->rigs_max = f->rig_fits[0].max;
    /* Every other kind that fits as well, in catalogue order: power alone seldom tells a
     * GPU rig from an ASIC or from a few dozen PCs. */
    for (size_t i = 0; best_miss == 0.0 && i < n; i++) {
        long nmin, nmax;
        if (i == best || (restrict_kind && strcmp(cat[i].kind, only) != 0) ||
            !(cat[i].w_min > 0.0) || cat[i].w_max < cat[i].w_min)
            continue;
        if (misfit(&cat[i], step_w, &nmin, &nmax) == 0.0)
            add_fit(f, cat[i].kind, nmin, nmax);
    }
    f->rig_basis = best_miss > 0.0 ? AN_RIG_NEAREST
                   : restrict_kind ? AN_RIG_SCHEDULE
                   : n_fit == 1    ? AN_RIG_ONLY_FIT
                                   : AN_RIG_POWER_ONLY;
    return best_miss == 0.0;
}
