/*
 * sim: a Modbus meter simulator (wattaudit sim).
 *
 * Serves every bus of a site config: a TCP server per gateway address, and for serial buses an
 * RTU server on a pseudo-terminal whose slave end is linked at the configured device path.
 * Each device presents its profile's register map; each channel's values come from the load
 * models of its `simulate` block at the time of a shared clock, and its energy registers
 * integrate its power.  Faults are injected per device as configured.
 *
 * Hosts of the site whose exporter URLs name a loopback address are served too, over HTTP on
 * those ports: node_exporter's CPU counters and the DCGM exporter's GPU utilisation and power,
 * from the loads that name the host, on the same clock.
 */
#ifndef WA_SIM_H
#define WA_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "meters/profile/profile.h"
#include "siteconf/siteconf.h"

/* Power in W of one channel's load models at time t (deterministic: noise is a hash of seed
 * and t).  tz is the site's time zone for office hours.  Used by the server and by tests
 * that need ground truth. */
double sim_power(const sc_sim_t *s, const char *tz, double t);

/* Energy in Wh of the load models between t0 and t1, integrated at 10 s resolution. */
double sim_energy(const sc_sim_t *s, const char *tz, double t0, double t1);

/* What a simulated host's exporters show at one instant: the CPU busy fraction (the rate of
 * node_cpu_seconds_total's busy modes), the mean GPU utilisation, 0..1 each, and the GPUs' board
 * power in W; NaN where the host has no such exporter (exporter, gpu_exporter).  A host's
 * utilisation comes from the loads that name it (docs/simulator.md, "Simulated hosts"). */
typedef struct sim_host_load {
    double cpu, gpu, gpu_w;
    size_t n_gpus;
} sim_host_load_t;

/* Ground truth for tests: host `host` of `site` at t.  0, or -1 with errno ENOENT (no such host)
 * or WA_ECONFIG (more GPUs than the simulator shows). */
int sim_host_load(const sc_site_t *site, const char *host, double t, sim_host_load_t *out);
/* The busy fraction its CPU counters show between scrapes at t0 and t1 (the mean utilisation
 * over (t0, t1] on the 10 s grid); NaN without a node exporter or such a host. */
double sim_host_cpu_busy(const sc_site_t *site, const char *host, double t0, double t1);

typedef struct sim_opts {
    const wa_log_t *log;
    const wa_clock_t *clock;         /* NULL = real time */
    double energy_origin;            /* time the energy registers start counting from;
                                        0 = the clock's time when sim_run starts */
    volatile sig_atomic_t *stop;
    const char *ready_file;          /* written once every server listens (for test fixtures) */
} sim_opts_t;

typedef struct sim_stats {
    uint64_t requests, replies, exceptions, dropped, timeouts, garbage;
    uint64_t by_fc[128];            /* requests seen per function code */
    uint64_t http_requests;         /* to the hosts' exporters, answered or refused */
    uint64_t http_errors;           /* of those, answered 4xx */
} sim_stats_t;

/* Serves until *stop.  0, or -1 with errno and err when a server could not start. */
int sim_run(const siteconf_t *cfg, const profile_set_t *ps, const sim_opts_t *o,
            sim_stats_t *stats, char *err, size_t errlen);

#endif
