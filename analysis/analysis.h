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

/* A preset by name, optionally adjusted or replaced by ",key=value" items: kgce=, kgco2=,
 * tariff=, currency=, source= (the last one takes the rest of the spec, commas included).
 * "custom,kgce=0.3,kgco2=0.58,source=..." is a user-defined set: kgce, kgco2 and source are
 * then required, so that nothing is stated without a source.  0, or -1 with errno EINVAL or
 * ENOENT and the reason in err. */
int an_factors_parse(const char *spec, an_factors_t *out, char *err, size_t errlen);

/* v rounded to sig significant figures (sig >= 1). */
double an_round_sig(double v, int sig);
/* v rounded to sig significant figures, thousands separated by commas, no trailing zeros after
 * the point ("148,500", "60", "0.404").  Returns buf. */
char *an_format_sig(double v, int sig, char *buf, size_t len);

/* The officers' sentence for a daily saving: "148,500 kWh a day is 60 t of standard coal a day,
 * 21,900 t a year, and 54,000 t of CO2 a year (0.404 kgce and 0.997 kg CO2 per kWh)".
 * kWh to 4 significant figures, derived figures to 3 (docs/factors.md, "Rounding").
 * Returns the length written, as snprintf. */
int an_statement(double kwh_per_day, const an_factors_t *f, char *buf, size_t len);

/* ---- Rig catalogue (docs/analysis.md; configurable) ---- */

typedef struct an_rig {
    char kind[32];  /* "gpu_rig", "asic", "office_pc" */
    double w_min, w_max;
    char source[256];
} an_rig_t;

/* ---- Channel layer ---- */

typedef enum { AN_FLAT_24X7, AN_STEP_UP, AN_OFF_HOURS } an_kind_t;
const char *an_kind_name(an_kind_t k);

/* What a load looks like to the inspectors (docs/correlate.md, "Reading a finding's class"):
 * a machine someone runs on purpose (deliberate), a machine made to mine behind its owner's
 * back (passive: a trojan's pattern), or declared research.  NONE: not classed. */
typedef enum { AN_CLASS_NONE, AN_CLASS_DELIBERATE, AN_CLASS_PASSIVE, AN_CLASS_RESEARCH } an_class_t;
/* "", "deliberate", "passive", "research" (static strings). */
const char *an_class_name(an_class_t c);

#define AN_EVIDENCE_MAX 16
#define AN_RIG_FITS_MAX 6

/* One kind of the catalogue that fits a step: between min and max units of it draw it. */
typedef struct an_rig_fit {
    char kind[32];
    int min, max;
} an_rig_fit_t;

/* Why the rig estimate's first kind (rig_kind) comes first (docs/analysis.md, "Rig estimate"). */
typedef enum {
    AN_RIG_NONE,       /* no estimate: the finding is explained by a declared load */
    AN_RIG_ONLY_FIT,   /* only one kind of the catalogue fits the step */
    AN_RIG_POWER_ONLY, /* several fit and power cannot tell them apart: none is preferred; the
                          first needs the fewest units (catalogue order on ties) */
    AN_RIG_SCHEDULE,   /* the load runs outside working hours only (off_hours): office PCs */
    AN_RIG_NEAREST     /* no whole number of any kind fits: the nearest */
} an_rig_basis_t;
/* "none", "only_fit", "power_only", "schedule", "nearest". */
const char *an_rig_basis_name(an_rig_basis_t b);
/* A sentence for people: "power alone cannot tell them apart", ... ("" for NONE). */
const char *an_rig_basis_text(an_rig_basis_t b);

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
    /* Rig estimate, for unexplained findings only (explained: rig_kind "", counts 0).  The
     * kind listed first (rigs_min, rigs_max, rig_kind, and rig_fits[0]) and every other kind
     * of the catalogue that fits too, in catalogue order; rig_basis says why the first is
     * first.  Power alone seldom tells the kinds apart. */
    int rigs_min, rigs_max;
    char rig_kind[32];
    an_rig_fit_t rig_fits[AN_RIG_FITS_MAX];
    size_t n_rig_fits;
    an_rig_basis_t rig_basis;
    double excess_kwh;      /* energy of the load from onset to end */
    double score;           /* 0..1 */
    char explained_by[128]; /* "" = unexplained; else the declaration that covers it */
    int estimated;          /* 1: some of the power behind it was estimated, not measured (a
                               UPS that reports only percent load; docs/rrd-layout.md) */
    char estimated_how[96]; /* how it was estimated: "load % x nominal 600 W (device)" */
    an_evidence_t evidence[AN_EVIDENCE_MAX];
    size_t n_evidence;
    /* Set by the site layer (the channel layer leaves NONE): from the correlation with the
     * circuit's hosts where there is one, else from the finding's shape (docs/correlate.md). */
    an_class_t cls;
    char cls_why[192];      /* the reason in words */
} an_finding_t;

/* The rig estimate as people read it: "2-3 asic, or 4 gpu_rig, or 39-126 office_pc"; "" without
 * one.  Returns the length written, as snprintf. */
int an_rig_fits_format(const an_finding_t *f, char *buf, size_t len);

/* Load-shape metrics in the style of LBNL's loadshape package (docs/analysis.md). */
typedef struct an_shape {
    double mean_w, near_base_w, near_peak_w; /* daily 2.5th / 97.5th percentiles, medians over days */
    double base_to_peak, load_factor, night_day_ratio, weekend_weekday_ratio;
    double daily_amplitude, weekly_amplitude; /* harmonic regression, relative to the mean */
    double robust_sd;                         /* MAD-based noise estimate, W */
    double days_present;                      /* fraction of days with data */
} an_shape_t;

/* A load the site declares (a server room, a research job): a finding it covers is reported
 * as explained, not flagged.  Covered means: the declaration spans the finding's onset, and the
 * finding's 95% interval of step_w meets [w_min, w_max]. */
typedef struct an_declared {
    char name[64];
    int64_t from, to;            /* INT64_MIN = since ever, INT64_MAX = open-ended */
    double w_min, w_max;         /* power it may draw, W */
} an_declared_t;

typedef struct an_opts {
    const char *tz;              /* local time for days, nights and weekends */
    const an_rig_t *rigs;        /* catalogue; NULL = the built-in one */
    size_t n_rigs;
    /* Thresholds; zero = documented default. */
    double flat_load_factor;     /* default 0.8 */
    double min_step_w;           /* smallest step worth reporting, default 100 W */
    double persist_s;            /* a step must last this long to be persistent, default 5 days */
    const an_declared_t *declared; /* borrowed for the call; may be NULL */
    size_t n_declared;
    double noise_k;              /* a step must exceed noise_k x the base-load noise, default 5 */
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

/* The built-in rig catalogue (static, immutable; sources in each row and docs/analysis.md). */
const an_rig_t *an_rigs_builtin(size_t *n);

/* Fills f->rig_kind, rigs_min = ceil(step/w_max) and rigs_max = floor(step/w_min) (each at
 * least 1; w_min and w_max widened by 5% for meter and measurement error) from the catalogue
 * kind that fits step_w best: one where a whole number of units covers the step, fewest units
 * first, catalogue order on ties.  f->rig_fits lists that kind first, then every other kind
 * where a whole number of units covers the step, in catalogue order (at most AN_RIG_FITS_MAX);
 * f->rig_basis says why the first is first.  A non-empty `only` restricts the choice to that
 * kind when the catalogue has it (off_hours findings are office PCs: AN_RIG_SCHEDULE).
 * Returns 1 if a whole number of units fits, 0 if the nearest kind was taken, -1 with EINVAL
 * for an empty catalogue or a step that is not positive (f's estimate is then cleared). */
int an_rig_estimate(const an_rig_t *cat, size_t n, double step_w, const char *only,
                    an_finding_t *f);

/* ---- Power against compute load (docs/correlate.md) ---- */

typedef enum {
    AN_CORR_RESIDUAL,       /* power no monitored host accounts for: hidden equipment */
    AN_CORR_HOST_FULL,      /* a host at full load day and night that no job covers */
    AN_CORR_HOST_OFF_HOURS, /* a host busy at nights and weekends only that no job covers */
    AN_CORR_HOST_RESEARCH   /* a host's load that declared jobs cover */
} an_corr_kind_t;
/* "unexplained_residual", "host_full_load", "host_off_hours", "host_research". */
const char *an_corr_kind_name(an_corr_kind_t k);

typedef struct an_corr_finding {
    an_corr_kind_t kind;
    an_class_t cls;
    char host[SC_ID_MAX];     /* "" for a residual */
    int64_t onset;            /* Unix s: the start of the first step that shows it */
    double w;                 /* size, W */
    int count_min, count_max; /* machines: 1 for a host; a residual's range of GPU rigs */
    char explained_by[256];   /* research: the job ids ("4410,4412") */
    char why[256];            /* the class's evidence in words */
    an_evidence_t evidence[AN_EVIDENCE_MAX]; /* informative: threshold NaN, op "" */
    size_t n_evidence;
} an_corr_finding_t;

/* One host of a circuit in the fit. */
typedef struct an_corr_host {
    char id[SC_ID_MAX];
    double slope_w;           /* W at full load */
    int slope_fitted;         /* 0: its load barely moved in the reference period; the slope is
                                 the declared max_w - idle_w, or 0 if not declared */
    double mean_util;         /* over the circuit's window, 0..1; NaN if never known */
    double coverage;          /* fraction of the circuit's steps with a known utilisation */
} an_corr_host_t;

/* A series onto another grid, as the correlation brings a host's utilisation onto its
 * circuit's: dst[j], the step (d0 + j*ds, d0 + (j+1)*ds], is the mean of the known src values
 * over it, weighted by their overlap with it (src[i] covers (s0 + i*ss, s0 + (i+1)*ss]); NaN
 * when less than half of the step is known.  A coarser source is held over the finer steps it
 * covers.  Linear in n + m.  The dashboard draws the explained power with it. */
void an_regrid(const double *src, size_t m, int64_t s0, int ss, double *dst, size_t n,
               int64_t d0, int ds);

/* A circuit's fit, power = idle + sum of slope x utilisation, and what it found. */
typedef struct an_corr {
    int fitted;               /* 0: no fit (note says why); hosts are listed all the same */
    char note[256];
    int64_t ref_from, ref_to; /* the reference period of the fit */
    double idle_w;
    double r2;                /* of the robust fit over the reference period */
    double resid_sd_w;        /* the reference residual's scale, MAD x 1.4826 */
    double resid_mean_w;      /* mean residual after the reference period */
    double pearson, spearman; /* power against the explained load */
    int best_lag_s;           /* lag of the best cross-correlation; > 0: power follows load */
    double best_lag_r;
    an_corr_host_t *hosts;
    size_t n_hosts;
    an_corr_finding_t *findings;
    size_t n_findings;
} an_corr_t;

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
    /* The correlation's reference period (docs/correlate.md); 0, 0 = the first 7 days of each
     * circuit's window. */
    int64_t ref_from, ref_to;
    /* The correlation's grid step, s: a multiple of a circuit's step (rounded down to one, and
     * never finer); 0 = the storage's long step (1 h), or its mid step (5 min) for circuits
     * with too many hosts for a week of hours (docs/correlate.md, "The grid"). */
    int corr_step;
} an_run_opts_t;

/* Analyses every channel and writes the result to out in the chosen format (JSON schema
 * documented in docs/analysis-json.md).  0, or -1 with errno and err. */
int an_run(const an_run_opts_t *o, FILE *out, char *err, size_t errlen);

/* -- Energy of one channel over a window (docs/analysis-json.md, "Energy") -- */

typedef enum { AN_ENERGY_NONE, AN_ENERGY_REGISTER, AN_ENERGY_POWER } an_energy_method_t;
const char *an_energy_method_name(an_energy_method_t m);

typedef struct an_gap {
    int64_t from, to; /* the unknown power steps cover (from, to] */
    int bridged;      /* 1 = inside the register span: its energy is known all the same */
} an_gap_t;

#define AN_GAPS_LISTED 32
typedef struct an_energy {
    an_energy_method_t method;
    double kwh;             /* the channel's figure: register span + integrated power outside it */
    double kwh_integrated;  /* integral of the known power steps alone */
    double kwh_register;    /* E(last) - E(first) of the energy register; NaN without one */
    int64_t register_from, register_to;
    double mean_w;          /* mean of the known power steps; NaN if none */
    double coverage;        /* fraction of the window's steps whose energy is known */
    double power_coverage;  /* fraction with a known power value */
    size_t n_steps;
    size_t n_gaps;          /* runs of unknown power steps; the first AN_GAPS_LISTED are listed */
    double gap_hours, unbridged_gap_hours;
    an_gap_t gaps[AN_GAPS_LISTED];
} an_energy_t;

/* w[i]: mean power in W over (start + i*step, start + (i+1)*step], NaN = unknown.  e_wh: NULL,
 * or the energy register in Wh at the end of each of the same steps.  Only steps that end
 * inside (from, to] count.  Never fills a gap: what is unknown is counted and listed.  A
 * register that goes down or has fewer than two known readings is not used. */
void an_energy_compute(const double *w, const double *e_wh, size_t n, int64_t start, int step,
                       int64_t from, int64_t to, an_energy_t *out);

/* -- The result of a run, before it is written -- */

typedef enum { AN_ROLE_METER, AN_ROLE_TOTAL, AN_ROLE_PART } an_role_t;
const char *an_role_name(an_role_t r);

typedef struct an_channel_result {
    char id[256];           /* "site/device/channel", the file's path below the data folder */
    char name[128];         /* label from the config, else the id's last part */
    char file[512];
    an_role_t role;         /* TOTAL: a device's total/inlet channel beside others (PART) */
    int parts_cover;        /* TOTAL: its parts' kWh add up to its own within 2 % */
    int polled;             /* its power values are a polled meter's readings, each taken to
                               hold until the next poll; 0: means over the step before their
                               time, RRD's own convention (docs/analysis-json.md, "Readings") */
    int counted;            /* its energy and findings are in the site's sums */
    an_energy_t energy;
    int analyzed;           /* 0: the channel layer could not judge it; note says why */
    char note[256];
    an_channel_t ch;        /* shape and findings; an_result_free() frees them */
    double excess_kwh;      /* unexplained findings' energy */
    double active_kwh_per_day; /* unexplained findings still on at the window's end */
    int step;
    int64_t from;           /* its window's start: the site's, or with no --from its first data */
    int64_t data_end;       /* end of the last step with a known power value */
    an_declared_t *declared; /* from the config (research jobs); an_result_free() frees */
    size_t n_declared;
    an_corr_t *corr;        /* NULL: no host of the inventory draws from this channel;
                               an_result_free() frees */
} an_channel_result_t;

/* A host of the site's inventory (siteconf hosts) and how its utilisation file was read. */
typedef struct an_host {
    char id[SC_ID_MAX];
    char role[SC_ID_MAX];
    char channel[256];      /* its circuit's channel id, "site/device/channel"; "" = not known */
    char ips[SC_HOST_IPS_MAX][46];
    size_t n_ips;
    char file[512];         /* DATA/<site>/hosts/<id>.rrd */
    int read;               /* 1: its utilisation was read and set against its circuit */
    char source[16];        /* data sources that had values: "cpu", "gpu", "cpu+gpu", "" */
    double mean_util;       /* over its circuit's window, 0..1; NaN if not read */
    double coverage;        /* fraction of its circuit's steps with a known utilisation */
    char note[256];         /* why it was not read or not used; "" */
} an_host_t;

/* An address network monitoring flagged, mapped to a host of the site and its circuit. */
typedef struct an_flagged_ip {
    char ip[46];
    int64_t seen;
    char host[SC_ID_MAX];   /* "" = unmapped: no host of the site has this address */
    char channel[256];      /* the host's circuit; "" when unmapped or not known */
} an_flagged_ip_t;

typedef struct an_site_result {
    char id[SC_ID_MAX];
    char name[SC_NAME_MAX];
    char tz[SC_ID_MAX];
    int64_t from, to;       /* the site's window: --to, else its newest data; --from, else 28 d
                               before, or its earliest channel's first data if later */
    an_channel_result_t *channels;
    size_t n_channels;
    double kwh, excess_kwh, kgce, kgco2, cost, days;
    an_savings_t savings;   /* removing the unexplained loads still on at the end */
    an_host_t *hosts;       /* the inventory, in config order; an_result_free() frees */
    size_t n_hosts;
    an_flagged_ip_t *flagged; /* in the file's order, unmapped ones included; freed likewise */
    size_t n_flagged;
    size_t n_jobs;          /* research jobs read from jobs_file and slurm_file */
} an_site_result_t;

/* The inspectors' three questions about a flagged address: which machine and circuit, how
 * many rigs since when, and deliberate, trojan (passive) or research. */
typedef struct an_ip_answer {
    const an_host_t *host;             /* NULL: unmapped */
    const an_channel_result_t *channel; /* NULL: unmapped, circuit not known or not read */
    an_class_t cls;                    /* NONE: nothing on its circuit says it mines */
    char kind[32];                     /* the finding the answer rests on; "" if none */
    int64_t since;                     /* its onset; 0 if none */
    double w;                          /* its size, W; NaN if none */
    int count_min, count_max;          /* how many of unit */
    char unit[32];                     /* "host" (the host itself), "gpu_rig" (a residual),
                                          or a power finding's rig kind */
    char why[256];                     /* in words */
} an_ip_answer_t;

/* Answers for ip (an entry of s->flagged); the pointers in out point into s.  Never fails. */
void an_ip_answer(const an_site_result_t *s, const an_flagged_ip_t *ip, an_ip_answer_t *out);

typedef struct an_result {
    int64_t from, to;       /* the earliest site's from, the latest site's to */
    an_factors_t factors;
    an_site_result_t *sites;
    size_t n_sites;
    double kwh, excess_kwh, kgce, kgco2, cost;
    an_savings_t savings;
    size_t n_skipped;       /* files named in warnings and left out */
} an_result_t;

/* Reads and analyses every channel into out (caller frees with an_result_free()), and with a
 * config correlates the circuits with the sites' hosts (docs/correlate.md).  0, or -1 with
 * errno and err; a declaration file (jobs_file, slurm_file, flagged_ips_file) that is missing
 * or has a bad row fails the run with "FILE:LINE: what".  Unusable channel files are warned
 * about on o->warn and skipped. */
int an_collect(const an_run_opts_t *o, an_result_t *out, char *err, size_t errlen);
void an_result_free(an_result_t *r);
/* Writes r in the format chosen.  0, or -1 with errno (EIO) and err. */
int an_write(const an_result_t *r, an_format_t fmt, FILE *out, char *err, size_t errlen);

/* -- Import of interval data from CSV (docs/import.md) -- */

/* PERCENT and FRACTION are a host's utilisation (an_import_opts_t.util_source). */
typedef enum {
    AN_UNIT_AUTO,
    AN_UNIT_KW,
    AN_UNIT_W,
    AN_UNIT_KWH,
    AN_UNIT_WH,
    AN_UNIT_PERCENT,
    AN_UNIT_FRACTION
} an_unit_t;

typedef struct an_import_opts {
    const char *tz;          /* zone of times without an offset; NULL = process TZ */
    an_unit_t unit;          /* AUTO: from the value column's header ("[kW]", "kWh"...) */
    const char *column;      /* value column: header name or 1-based number; NULL = guess */
    int step;                /* seconds; 0 = from the data (wide format: 86400 / columns) */
    int stamp_end;           /* long format: times mark the interval's end (default: start) */
    int skip_bad;            /* report bad rows and go on instead of refusing the file */
    FILE *warn;              /* skipped rows when skip_bad; NULL = stderr */
    const char *util_source; /* NULL: the values are power or energy; "cpu" or "gpu": a host's
                                utilisation in percent (0..100) or as a fraction (0..1), kept
                                as a fraction; a value outside that range is a bad row */
} an_import_opts_t;

/* The parsed file: v[i] is the mean power in W (a utilisation: the fraction 0..1) over
 * (start + i*step, start + (i+1)*step], NaN where the file had no row. */
typedef struct an_import_series {
    int64_t start;
    int step;
    size_t n;
    double *v;
    size_t rows, bad_rows;
    int wide;                /* 1 = one row per day (date + 24, 48 or 96 columns) */
    char column[64];         /* the value column used */
    an_unit_t unit;
} an_import_series_t;

/* Parses CSV text (name is used in messages "NAME:LINE: what").  The caller frees out->v.
 * 0, or -1 with errno EINVAL (or ENOMEM) and the first bad row in err. */
int an_import_parse(const char *name, const char *text, size_t len, const an_import_opts_t *o,
                    an_import_series_t *out, char *err, size_t errlen);

/* Imports csv_path into data_dir/rel.rrd through storage/: written beside the target under a
 * temporary name and renamed only when complete; an existing target is kept unless replace.
 * stats may be NULL.  0, or -1 with errno and err; nothing is left behind on failure. */
int an_import_file(const char *csv_path, const char *data_dir, const char *rel, int replace,
                   const an_import_opts_t *o, an_import_series_t *stats, char *err,
                   size_t errlen);
/* Imports a host's utilisation from csv_path (o->util_source "cpu" or "gpu") into that data
 * source of its host file data_dir/<site>/hosts/<host>.rrd (host_rel "<site>/<host>";
 * docs/import.md), through storage/ and a temporary file as an_import_file().  An existing host
 * file keeps its other data sources: it is rebuilt at the import's step over both spans; data
 * it already has in the imported source are refused (EEXIST) unless replace, which drops them.
 * 0, or -1 with errno and err; nothing is left behind on failure. */
int an_import_host_file(const char *csv_path, const char *data_dir, const char *host_rel,
                        int replace, const an_import_opts_t *o, an_import_series_t *stats,
                        char *err, size_t errlen);
const char *an_unit_name(an_unit_t u);
/* "kW", "W", "kWh", "Wh", "%" or "percent", "fraction" (case-insensitive).  0, or -1 with
 * EINVAL. */
int an_unit_parse(const char *s, an_unit_t *out);

/* -- Scaling a sample of audited sites up to a population (docs/report.md) -- */

typedef struct an_scale {
    size_t n;                 /* audited units */
    double sample_y, sample_x; /* sums over the sample */
    double ratio;             /* sample_y / sample_x */
    double population_x;      /* the population's count (units, flagged addresses) */
    double total, lo, hi;     /* ratio * population_x and its bootstrap interval */
    double level;             /* 0.95 */
    unsigned replicates;
    unsigned long seed;
} an_scale_t;

/* Ratio estimate of a population total from y[i] (e.g. kWh per day saved at site i) and x[i]
 * (its units; NULL = one each), with a percentile bootstrap interval from `replicates`
 * resamples of the sites (GSL mt19937 with `seed`: the same statement every time).
 * 0, or -1 with errno EINVAL (n < 2, a sum of x that is not positive, bad level). */
int an_scale_ratio(const double *y, const double *x, size_t n, double population_x,
                   unsigned replicates, unsigned long seed, double level, an_scale_t *out);

/* -- The reporting officer's statement (docs/report.md) -- */

typedef enum { AN_REPORT_MARKDOWN, AN_REPORT_HTML, AN_REPORT_CSV, AN_REPORT_JSON } an_report_format_t;

typedef struct an_report_opts {
    an_report_format_t format;
    const char *title;           /* NULL = a default */
    const an_scale_t *scale;     /* NULL = no population estimate */
    const char *population_what; /* "flagged IP addresses", "units", ... */
} an_report_opts_t;

int an_report_write(const an_result_t *r, const an_report_opts_t *o, FILE *out, char *err,
                    size_t errlen);

#endif
