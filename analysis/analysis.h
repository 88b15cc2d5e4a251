/*
 * analysis: finds persistent unexplained loads in power series, dates and sizes them, and states
 * their energy, standard coal and CO2 (docs/analysis.md).
 *
 * Two layers.  The channel layer works on one power series in memory and knows nothing of files:
 * load-shape metrics, the findings (flat_24x7, step_up, off_hours) with their evidence, and the
 * rig estimate.  The site layer reads channels through storage/, runs the channel layer one
 * channel at a time (memory does not grow with the number of channels), adds energy from the
 * energy registers, applies a factor preset and writes text, JSON or CSV.
 */
#ifndef WA_ANALYSIS_H
#define WA_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "siteconf/siteconf.h"

/* ---- Factors (docs/factors.md cites each preset) ---- */

typedef struct an_factors {
    char name[32];
    double kgce_per_kwh;   /* standard coal */
    double kgco2_per_kwh;
    double tariff_per_kwh; /* 0 = no cost figure */
    char currency[8];
    char source[512];
} an_factors_t;

/* Looks up a preset by name ("cn-popular", "cn-grid-2022", "cn-grid-east", ...).  0, or -1 with
 * errno ENOENT.  The table is static and immutable. */
int an_factors_find(const char *name, an_factors_t *out);
/* The presets in order, for listing. */
const an_factors_t *an_factors_presets(size_t *n);

/* The officers' form: savings if a load of excess_kwh over `days` days is removed. */
typedef struct an_savings {
    double kwh_per_day, kgce_per_day, tce_per_year, tco2_per_year, cost_per_year;
} an_savings_t;
void an_savings_compute(double excess_kwh, double days, const an_factors_t *f, an_savings_t *out);

/* ---- Rig catalogue (docs/analysis.md; configurable) ---- */

typedef struct an_rig {
    char kind[32];  /* "gpu_rig", "asic", "office_pc" */
    double w_min, w_max;
    char source[256];
} an_rig_t;

/* ---- Channel layer ---- */

typedef enum { AN_FLAT_24X7, AN_STEP_UP, AN_OFF_HOURS } an_kind_t;
const char *an_kind_name(an_kind_t k);

#define AN_EVIDENCE_MAX 16
typedef struct an_evidence {
    char name[32];      /* "load_factor", "night_day_ratio", "pelt_penalty", ... */
    double value;
    double threshold;   /* NaN when the item is informative only */
    char op[3];         /* ">=", "<=", ">" , "<", "" */
    int passed;
} an_evidence_t;

typedef struct an_finding {
    an_kind_t kind;
    int64_t onset;          /* Unix s at the data's resolution; flat_24x7: start of data */
    int64_t end;            /* last time the load was seen (the window's end if still on) */
    double step_w;          /* size of the load, W */
    double step_lo, step_hi; /* 95% interval of step_w */
    int rigs_min, rigs_max;
    char rig_kind[32];
    double excess_kwh;      /* energy of the load from onset to end */
    double score;           /* 0..1 */
    char explained_by[128]; /* "" = unexplained; else the declaration that covers it */
    an_evidence_t evidence[AN_EVIDENCE_MAX];
    size_t n_evidence;
} an_finding_t;

/* Load-shape metrics in the style of LBNL's loadshape package (docs/analysis.md). */
typedef struct an_shape {
    double mean_w, near_base_w, near_peak_w; /* daily 2.5th / 97.5th percentiles, medians over days */
    double base_to_peak, load_factor, night_day_ratio, weekend_weekday_ratio;
    double daily_amplitude, weekly_amplitude; /* harmonic regression, relative to the mean */
    double robust_sd;                         /* MAD-based noise estimate, W */
    double days_present;                      /* fraction of days with data */
} an_shape_t;

typedef struct an_opts {
    const char *tz;              /* local time for days, nights and weekends */
    const an_rig_t *rigs;        /* catalogue; NULL = the built-in one */
    size_t n_rigs;
    /* Thresholds; zero = documented default. */
    double flat_load_factor;     /* default 0.8 */
    double min_step_w;           /* smallest step worth reporting, default 100 W */
    double persist_s;            /* a step must last this long to be persistent, default 5 days */
} an_opts_t;

typedef struct an_channel {
    an_shape_t shape;
    double kwh_integrated;       /* integral of the known power values */
    double coverage;             /* fraction of steps with data */
    size_t n_gaps;               /* runs of unknown values */
    an_finding_t *findings;      /* caller frees with an_channel_free() */
    size_t n_findings;
} an_channel_t;

/* Analyses one power series: w[i] is the average power in W over the step ending at
 * start + (i+1)*step (RRD's convention), NaN = unknown.  0, or -1 with errno (EINVAL for a
 * series too short to judge, with the reason in err). */
int an_channel_analyze(const double *w, size_t n, int64_t start, int step, const an_opts_t *o,
                       an_channel_t *out, char *err, size_t errlen);
void an_channel_free(an_channel_t *c);

/* Declared loads (research jobs) from the site config mark findings as explained: a finding
 * whose onset and size fall within a declaration gets its name in explained_by. */

/* ---- Site layer ---- */

typedef enum { AN_FMT_TEXT, AN_FMT_JSON, AN_FMT_CSV } an_format_t;

typedef struct an_run_opts {
    const siteconf_t *cfg;   /* sites and channels from the config, or NULL with data_dir */
    const char *data_dir;    /* with cfg NULL: first-level folders are sites, *.rrd below channels */
    const char *rrdcached;   /* flush before reading; NULL = none */
    int64_t from, to;        /* 0 = the last 28 days of data */
    an_factors_t factors;
    an_format_t format;
    an_opts_t channel;
    FILE *warn;              /* files skipped and why; NULL = stderr */
} an_run_opts_t;

/* Analyses every channel and writes the result to out in the chosen format (JSON schema
 * documented in docs/analysis-json.md).  0, or -1 with errno and err. */
int an_run(const an_run_opts_t *o, FILE *out, char *err, size_t errlen);

#endif
