/*
 * The correlation benchmark's site (bench/README.md, "correlate"): circuits on the phases of
 * panel meters, the hosts that draw from them, the GPU nodes' research jobs, and what is hidden
 * among them (GPU rigs behind a circuit, hosts mining at full load, office PCs with a trojan
 * busy at nights and weekends), all drawn from one seed.
 *
 * A circuit's power is its unmonitored base + the sum over its hosts of idle + slope x
 * utilisation + its hidden rigs + noise, where utilisation is the larger of a host's CPU and
 * GPU busy fractions (the analyzer's model, docs/correlate.md).  Each circuit draws its series
 * from a random stream of its own, so the same seed gives the same files whatever the number of
 * worker processes.  The plan (cb_site_t) is small; series are made step by step.
 */
#ifndef WA_BENCH_SITE_MODEL_H
#define WA_BENCH_SITE_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* Asia/Shanghai is UTC+8 all year (no DST), so the analyzer's one offset per run holds. */
#define CB_TZ "Asia/Shanghai"
#define CB_TZ_OFFSET_S (8 * 3600)
#define CB_STEP 60
/* 2026-01-05 00:00 in Asia/Shanghai, a Monday. */
#define CB_T0 INT64_C(1767542400)
#define CB_SITE "campus"
/* Hosts of the circuits at most (a panel phase feeds a rack or a floor). */
#define CB_HOSTS_PER_CIRCUIT_MAX 32

typedef enum { CB_SERVERS, CB_GPU, CB_OFFICE, CB_MIXED } cb_kind_t;
typedef enum { CB_SERVER, CB_STORAGE, CB_GPU_NODE, CB_OFFICE_PC } cb_role_t;

/* "server", "storage", "gpu_node", "office_pc": siteconf's role names. */
const char *cb_role_name(cb_role_t r);

#define CB_OUTAGES_MAX 3

typedef struct cb_host {
    char id[32];
    cb_role_t role;
    int circuit;
    double idle_w, slope_w;    /* the truth: W at idle, and W more at full utilisation */
    int declared;              /* idle_w and max_w are in the config's inventory */
    double base, amp, phase_h; /* servers' diurnal load: base + amp x a working-day bump */
    int64_t mine_from;         /* 0 = never: from here at full load day and night, no job */
    int64_t trojan_from;       /* 0 = never: from here busy at nights and weekends */
    int64_t out_from[CB_OUTAGES_MAX], out_to[CB_OUTAGES_MAX]; /* its exporter down */
    int n_out;
    char ip[46];
} cb_host_t;

typedef struct cb_job {
    int id;            /* Slurm job id */
    int host, n_hosts; /* hosts host .. host + n_hosts - 1 (one circuit's) */
    int64_t from, to;  /* to: past the data's end when still running */
    int running;       /* no end within the data: sacct says End = Unknown */
    const char *user;  /* static */
} cb_job_t;

typedef struct cb_circuit {
    char dev[16], ch[4]; /* "panel-013", "l2" */
    char name[48];
    cb_kind_t kind;
    int host0, n_hosts; /* its hosts: host0 .. host0 + n_hosts - 1 */
    double base_w;      /* unmonitored, always on (switches, KVM) */
    double office_w;    /* unmonitored working-hours load (lights, screens) */
    int rigs;           /* hidden GPU rigs behind it, none without an exporter */
    double rig_w;       /* each */
    int64_t rig_from;
} cb_circuit_t;

typedef struct cb_site {
    int days;
    uint64_t seed;
    int64_t t0, t_end; /* the data cover (t0, t_end] */
    size_t n_steps;
    cb_circuit_t *c;
    int nc;
    cb_host_t *h;
    int nh;
    cb_job_t *jobs; /* sorted by start; ids increase with it */
    int nj;
} cb_site_t;

/* Draws the site: circuits (at least 10), hosts (at least one per circuit, at most
 * CB_HOSTS_PER_CIRCUIT_MAX each), days (at least 28).  0, or -1 with errno (EINVAL, ENOMEM).
 * Free with cb_site_free. */
int cb_site_make(int circuits, int hosts, int days, uint64_t seed, cb_site_t *out);
void cb_site_free(cb_site_t *s);

/* 1 if local time at Unix t is a night (22-06) or a weekend day: the analyzer's off hours. */
int cb_off_hours(int64_t t);

/* What a host's files hold for one step: NaN = no such exporter, or it was down. */
typedef struct cb_row {
    double cpu, gpu, gpu_w;
} cb_row_t;

/* One circuit's series, made step by step (opaque; memory: its hosts' state). */
typedef struct cb_gen cb_gen_t;
/* NULL with errno ENOMEM. */
cb_gen_t *cb_gen_open(const cb_site_t *s, int circuit);
/* Step i covers (t0 + i*step, t0 + (i+1)*step]; steps are asked in order, from 0.  rows gets
 * one row per host of the circuit; *power_w the circuit's mean power over the step. */
void cb_gen_step(cb_gen_t *g, size_t i, cb_row_t *rows, double *power_w);
void cb_gen_close(cb_gen_t *g);

#endif
