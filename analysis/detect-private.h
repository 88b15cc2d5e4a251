/*
 * detect-private.h: what the channel layer's files share (shape.c, pelt.c, detect.c, rigs.c).
 * Not for other modules, nor for the site layer's files.
 *
 * The channel layer works on local days: every sample is assigned to the local day and hour
 * of its midpoint, and each day carries the few numbers the findings are built from (its
 * percentiles, noise, 24 hourly means and base level), so that everything after the one pass
 * over the samples works on days and hours, and only the onset refinement goes back to the
 * samples.
 */
#ifndef WA_DETECT_PRIVATE_H
#define WA_DETECT_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"

#define AN_SLOTS 48 /* (weekday, weekend) x hour of the day */

typedef struct an_day {
    int64_t t0;              /* local midnight, Unix s */
    size_t i0, i1;           /* samples whose midpoint falls in the day: [i0, i1) */
    int wday;                /* 0 = Sunday */
    int weekend;             /* Saturday or Sunday */
    size_t n_valid;
    size_t n_gaps;           /* runs of unknown values that start in the day */
    double sum;
    double p_lo, p_hi;       /* 2.5th and 97.5th percentiles of the day; NaN if too few */
    double noise;            /* robust sd of the day's sample-to-sample noise; NaN if unknown */
    double hour[24];         /* hourly means; NaN where the hour has no data */
    double base;             /* median of the hourly means over base slots; NaN if not judged */
    double badj;             /* base less its day type's offset: the series PELT reads */
    int kept;                /* enough data to enter the base-load series */
} an_day_t;

/* Everything analyze() computes once and the findings read.  Buffers are sized once per call. */
typedef struct an_work {
    const double *w;
    size_t n;
    int64_t start;
    int step;
    const char *tz;
    an_day_t *days;
    size_t n_days;
    size_t spd;              /* samples per day (at least 1) */
    double *scratch;         /* 2 * spd + 16 doubles */
    double *dscratch;        /* 4 * n_days + 64 doubles */
    double piv_lo[2], piv_hi[2]; /* tail pivots for the next weekday / weekend day (shape.c) */
    int piv_ok[2];
    /* Slot classes from the median hourly level of each slot over the days. */
    double slot_level[AN_SLOTS];
    int slot_base[AN_SLOTS]; /* at or near the channel's lowest level: nights, weekends */
    int slot_work[AN_SLOTS]; /* clearly above it: working hours */
    int has_cycle;           /* the slot levels span enough to tell base from working hours */
    double base_sigma;       /* robust noise of the daily base series, W */
    double pelt_penalty;
} an_work_t;

/* ---- shape.c ---- */

/* Builds the day table (one wa_time_local call per day) and each day's statistics in one pass
 * over the samples.  Fills the integrals of c.  0, or -1 with errno (ENOMEM, EINVAL). */
int an_days_build(an_work_t *wk, an_channel_t *c);
/* Load-shape metrics from the day table (harmonic regression through GSL). */
void an_shape_compute(an_work_t *wk, an_shape_t *s);
/* Slot classes, each day's base level, and the base series' noise. */
void an_base_compute(an_work_t *wk);
/* Slot index of a local hour on a day. */
static inline int an_slot(int weekend, int hour)
{
    return (weekend ? 24 : 0) + hour;
}
/* Median of the finite values among x[0..n) (x is reordered); NaN if none. */
double an_median(double *x, size_t n);

/* ---- pelt.c ---- */

/* Change points in the mean of x[0..n) by PELT (Killick, Fearnhead and Eckley 2012) with the
 * cost sum((x - mean)^2) / sigma^2 and penalty beta per change.  Writes the first index of
 * every segment after the first into cp (at most n - 1) and returns how many. */
size_t an_pelt(const double *x, size_t n, double sigma, double beta, size_t *cp);

/* The refined split inside samples [i0, i1): the first index whose sample belongs to the new
 * level, for an upward (dir > 0) or downward step, by the likelihood ratio for one change in
 * the mean of independent values with variances 1/wt (wt NULL: equal, unknown variance: least
 * squares).  NaN values and zero weights are skipped.  Gives the step between the (weighted)
 * means either side and its t statistic.  -1 if there are fewer than two usable values. */
long an_split(const double *r, const double *wt, size_t i0, size_t i1, int dir, double *step,
              double *t);

/* ---- rigs.c ---- */
/* (an_rigs_builtin and an_rig_estimate are public.) */

/* ---- detect.c ---- */

/* Appends an evidence item to f (silently ignores more than AN_EVIDENCE_MAX). */
void an_evidence_add(an_finding_t *f, const char *name, double value, double threshold,
                     const char *op);

#endif
