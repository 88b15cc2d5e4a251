/*
 * Correlation of a circuit's power with the compute load of the hosts on it (docs/correlate.md).
 *
 * One circuit at a time, in memory: the measured power and each host's utilisation (0..1) on
 * the same time grid.  A robust fit over a reference period (GSL's bisquare M-estimator) gives
 * the circuit's idle plus a slope per host; the residual (measured minus explained) and the
 * hosts' own load, set against the declared research jobs, give findings, each with a class
 * (deliberate, passive, research) and its evidence.  Flagged IP addresses map to hosts,
 * circuits and those findings.  The site layer (corr_run.c, hosts.c) calls it and copies the
 * results into analysis.h's public an_corr_t.
 */
#ifndef WA_CORRELATE_PRIVATE_H
#define WA_CORRELATE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "siteconf/siteconf.h"

typedef enum { CR_DELIBERATE, CR_PASSIVE, CR_RESEARCH } cr_class_t;
const char *cr_class_name(cr_class_t c);

typedef enum {
    CR_RESIDUAL,       /* power no monitored host accounts for: hidden equipment */
    CR_HOST_FULL,      /* a host at full load day and night, no job covers it */
    CR_HOST_OFF_HOURS, /* a host busy at night and at weekends only, no job covers it */
    CR_HOST_RESEARCH,  /* a host's load that declared jobs cover */
} cr_kind_t;
const char *cr_kind_name(cr_kind_t k);

/* A declared job: from a schedule file or a Slurm accounting export.  Times are Unix s. */
typedef struct cr_job {
    char id[64];
    char user[64];
    char hosts[512]; /* host ids, comma-separated, expanded from Slurm's node[01-03] */
    int64_t from, to;
} cr_job_t;

/* One host on the circuit, with its utilisation on the circuit's grid (the caller owns u). */
typedef struct cr_host {
    const sc_host_t *cfg;
    const double *u; /* n values 0..1 (CPU busy or GPU util / 100), NaN = unknown; NULL = none */
} cr_host_t;

typedef struct cr_opts {
    int64_t ref_from, ref_to;  /* the reference period for the fit; 0,0 = first 7 days */
    double min_w;              /* smallest residual reported, default 100 W */
    double busy;               /* utilisation counted as busy, default 0.8 */
    int night_from, night_to;  /* local hours of "night", default 22..6 */
    long tz_offset_s;          /* local time = UTC + this (no DST change within a run) */
    int max_lag;               /* cross-correlation lags tried either way, default 12 */
} cr_opts_t;

#define CR_EVIDENCE_MAX 8
typedef struct cr_finding {
    cr_kind_t kind;
    cr_class_t cls;
    char host[SC_ID_MAX];      /* "" for a residual */
    int64_t onset;             /* Unix s: the start of the first step that shows it */
    double w;                  /* size */
    int count_min, count_max;  /* machines: 1 for a host; a range of rigs for a residual */
    char explained_by[256];    /* research: the jobs */
    char why[256];             /* the class's evidence in words */
    struct {
        char name[32];
        double value;
    } evidence[CR_EVIDENCE_MAX];
    size_t n_evidence;
} cr_finding_t;

typedef struct cr_circuit {
    /* The fit: power = idle_w + sum slope[k] * u_k over the reference period. */
    double idle_w;
    double *slope;           /* per host, W at full load; n_hosts values */
    int *slope_fitted;       /* 1 = from the fit, 0 = declared max_w - idle_w (or 0: unknown) */
    size_t n_hosts;
    double r2;               /* of the fit over the reference period */
    double resid_mad_w;      /* scale of the reference residual (MAD * 1.4826) */
    double resid_mean_w;     /* mean residual after the reference period */
    double pearson, spearman;/* power against total explained load */
    int best_lag;            /* samples; > 0 = power follows load */
    double best_lag_r;
    cr_finding_t *findings;
    size_t n_findings;
} cr_circuit_t;

/* Analyses one circuit: w[n] measured power at start + (i+1)*step.  0, or -1 with errno
 * (EINVAL for a reference period with too little data, ENOMEM) and err.  Free with
 * cr_circuit_free(). */
int cr_circuit_analyze(const double *w, size_t n, int64_t start, int step, const cr_host_t *hosts,
                       size_t n_hosts, const cr_job_t *jobs, size_t n_jobs, const cr_opts_t *o,
                       cr_circuit_t *out, char *err, size_t errlen);
void cr_circuit_free(cr_circuit_t *c);

/* 1 if t falls in a night (o->night_from..night_to local hours) or on a weekend day, local
 * time being UTC + o->tz_offset_s. */
int cr_off_hours(int64_t t, const cr_opts_t *o);

/* Pearson and Spearman correlation of x and y over the pairs where both are known; NaN when
 * fewer than 3.  Exposed for the tests. */
double cr_pearson(const double *x, const double *y, size_t n);
double cr_spearman(const double *x, const double *y, size_t n);

/* Parses `sacct --parsable2` output (header row naming JobID, User, NodeList, Start, End in any
 * order; "|" separated) and the jobs schedule file (same format).  Times in tz.  Rows of job
 * steps ("123.batch") are skipped; End "Unknown" = still running (INT64_MAX).  Returns the
 * count and a malloc'd array in *out, or -1 with errno (WA_EPROTO, ENOMEM) and "name:line:". */
int cr_jobs_parse(const char *name, const char *text, size_t len, const char *tz,
                  cr_job_t **out, char *err, size_t errlen);

/* A flagged address, as network monitoring hands it over: "ip,seen" lines ('#' comments). */
typedef struct cr_flagged {
    char ip[46];
    int64_t seen;
} cr_flagged_t;
int cr_flagged_parse(const char *name, const char *text, size_t len, const char *tz,
                     cr_flagged_t **out, char *err, size_t errlen);

/* The host with this address in the site, or NULL (unmapped). */
const sc_host_t *cr_host_by_ip(const sc_site_t *s, const char *ip);

#endif
