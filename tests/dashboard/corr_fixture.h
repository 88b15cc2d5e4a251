/* A lab site with its computers, for the dashboard's correlation pages: channel and host RRD
 * files written through storage/, a site config with the inventory, a Slurm export and the
 * flagged addresses (docs/correlate.md).  Used by test_dashboard and, through
 * dash_corr_fixture, by the browser test and the benchmark.
 *
 * 16 days at 5 min from Monday 2026-11-02 00:00 in Asia/Shanghai (reference: the first 7):
 *   lab/pdu/o1   gpu01, gpu02: research nodes; Slurm job 4410 runs both from day 9 on
 *   lab/pdu/o2   srv0, an office-hours server, and a 1,200 W rig no host accounts for from day
 *                9 10:00
 *   lab/pdu/o3   gpu07 (GPU at full load day and night from day 9, no job) and a web server
 *   lab/dist/l1  pc0..pc2: office PCs busy at nights and weekends from day 9; a polled
 *                meter's readings (it has an energy register)
 *   lab/pdu/o4   a printer room: no host
 * Flagged: 10.0.1.1 (gpu01), 10.0.2.1 (srv0), 10.0.3.7 (gpu07), 10.0.4.2 (pc1) and
 * 203.0.113.9, which no host has. */
#ifndef WA_TESTS_DASH_CORR_FIXTURE_H
#define WA_TESTS_DASH_CORR_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#define DCF_STEP 300
#define DCF_DAYS 16
#define DCF_N ((size_t)DCF_DAYS * 86400 / DCF_STEP)
/* 2026-11-02 00:00 +08:00, a Monday. */
#define DCF_T0 INT64_C(1793548800)
#define DCF_DAY(d) (DCF_T0 + (int64_t)(d)*86400)
#define DCF_RIG_FROM (DCF_DAY(9) + 10 * 3600)
#define DCF_RIG_W 1200.0
#define DCF_EVENTS_FROM DCF_DAY(9)
#define DCF_NH 8
#define DCF_NC 5

typedef struct dcf_host {
    const char *id, *circuit, *role, *ip;
    double idle, slope;
    int gpu; /* its load is on the GPU; its CPU stays light */
} dcf_host_t;

/* What was written, for the tests to check figures against: per host the utilisation
 * (max(cpu, gpu), the analyzer's choice) of step i, the step ending at DCF_T0 + (i+1)*step;
 * per circuit the power of that step. */
typedef struct dcf_truth {
    double u[DCF_NH][DCF_N];
    double w[DCF_NC][DCF_N];
} dcf_truth_t;

extern const dcf_host_t dcf_hosts[DCF_NH];
extern const char *const dcf_circuits[DCF_NC]; /* "pdu/o1", ... */

/* Writes dir/data/lab/..., dir/site.conf, dir/sacct.txt and dir/flagged.csv (dir must exist).
 * truth may be NULL.  0, or -1 with err. */
int dcf_write(const char *dir, dcf_truth_t *truth, char *err, size_t errlen);

#endif
