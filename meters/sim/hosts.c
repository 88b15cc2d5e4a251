/*
 * hosts.c: simulated hosts -- the compute load behind the loads that name a host, as a
 * node_exporter and an NVIDIA DCGM exporter would show it.
 *
 * A host's utilisation comes from the same load models that drive its channel's power, at the
 * same instant, so the two agree by construction: a load draws idle + span x util, and the host
 * shows util.  CPU counters are integrated on the energy grid (SIM_GRID_S), so a busy fraction
 * between two scrapes is the mean utilisation over that span, as the energy between two polls is
 * the mean power.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meters/sim/sim-private.h"

/* Board power of a GPU load's GPUs as a share of the load's power at the wall: an 80 PLUS Gold
 * supply is 87-90% efficient from 20% to full load (80 PLUS program, 115 V internal), and the
 * rest of a rig (motherboard 25-50 W, CPU about 65 W; tradeacrypto.com, "Decoding Mining Rig
 * Wattage") is near a tenth of 1.2 kW. */
#define GPU_BOARD_SHARE 0.8

/* Busy CPU time split between user and system mode: a compute job or a miner spends nearly all
 * of it in user mode.  A modelling choice; readers sum the two. */
#define USER_SHARE 0.9

/* A time outside this range cannot be a reading (as in loads.c). */
#define T_LIMIT 1e13

int sim_host_init(sim_host_t *h, const sc_site_t *site, const sc_host_t *cfg, double origin,
                  char *err, size_t errlen)
{
    size_t gpus = 0;
    memset(h, 0, sizeof *h);
    h->cfg = cfg;
    h->gpu_side = cfg->gpu_exporter[0] != '\0';
    sim_tz_init(&h->tz, site->timezone);
    for (size_t b = 0; b < site->n_buses; b++)
        for (size_t d = 0; d < site->buses[b].n_devices; d++) {
            const sc_device_t *dev = &site->buses[b].devices[d];
            for (size_t c = 0; c < dev->n_channels; c++) {
                const sc_sim_t *sim = &dev->channels[c].sim;
                for (size_t l = 0; l < sim->n_loads && l < SC_LOADS_MAX; l++) {
                    const sc_load_t *ld = &sim->loads[l];
                    if (strcmp(ld->host, cfg->id) != 0)
                        continue;
                    /* siteconf keeps a host's loads on its one channel: at most SC_LOADS_MAX. */
                    if (h->n_loads == SC_LOADS_MAX) {
                        errno = WA_ECONFIG;
                        return wa_err(err, errlen, "host %s: more than %d simulated loads", cfg->id,
                                      SC_LOADS_MAX);
                    }
                    h->loads[h->n_loads++] = ld;
                    /* The host has as many GPUs as its largest GPU load needs: jobs that
                     * run one after another use the same boards. */
                    if (h->gpu_side && (size_t)sim_load_gpus(ld) > gpus)
                        gpus = (size_t)sim_load_gpus(ld);
                }
            }
        }
    if (gpus > SIM_HOST_GPUS_MAX) {
        errno = WA_ECONFIG;
        return wa_err(err, errlen, "host %s: its loads keep %zu GPUs busy; at most %d per host",
                      cfg->id, gpus, SIM_HOST_GPUS_MAX);
    }
    /* A DCGM exporter with no GPU load still has a GPU to show: an idle one. */
    h->n_gpus = h->gpu_side && gpus == 0 ? 1 : gpus;
    h->c_t = origin;
    return 0;
}

/* 1 if the load shows on the host's GPUs rather than its CPUs. */
static int on_gpu(const sim_host_t *h, const sc_load_t *ld)
{
    return h->gpu_side && sim_load_gpus(ld) > 0;
}

static void local(sim_host_t *h, double t, double *hour, int *wday)
{
    *hour = 0.0;
    *wday = 1;
    for (size_t i = 0; i < h->n_loads; i++)
        if (sim_load_needs_local(h->loads[i])) {
            sim_tz_local(&h->tz, t, hour, wday);
            return;
        }
}

/* The CPU side's utilisation: the loads' span x utilisation summed, over the largest span, at
 * most 1.  The host then draws its flat loads plus that span x utilisation, for one load at a
 * time or for loads that take turns (an office day, a miner's night); loads that run at once
 * beyond the largest span saturate at 1. */
static double cpu_util_at(sim_host_t *h, double t)
{
    double hour, num = 0.0, top = 0.0;
    int wday;
    local(h, t, &hour, &wday);
    for (size_t i = 0; i < h->n_loads; i++) {
        double span, u;
        if (on_gpu(h, h->loads[i]))
            continue;
        u = sim_load_util(h->loads[i], hour, wday, t, &span);
        num += span * u;
        if (span > top)
            top = span;
    }
    return top > 0.0 ? (num < top ? num / top : 1.0) : 0.0;
}

typedef struct gpu_row {
    double util_pct, w;
} gpu_row_t;

/* Each GPU load runs on the first of the host's GPUs it needs, each at the load's utilisation
 * and its share of the load's board power; loads at the same time share them (at most 100%).
 * Returns the number of GPUs (at least 1 on a DCGM host). */
static size_t gpu_rows(sim_host_t *h, double t, gpu_row_t *rows)
{
    double hour;
    int wday;
    size_t n = h->n_gpus < SIM_HOST_GPUS_MAX ? h->n_gpus : SIM_HOST_GPUS_MAX;
    for (size_t k = 0; k < n; k++)
        rows[k] = (gpu_row_t){0.0, 0.0};
    local(h, t, &hour, &wday);
    for (size_t i = 0; i < h->n_loads; i++) {
        const sc_load_t *ld = h->loads[i];
        int g = sim_load_gpus(ld);
        double span, u, w;
        if (!on_gpu(h, ld))
            continue;
        u = sim_load_util(ld, hour, wday, t, &span);
        w = GPU_BOARD_SHARE * sim_load_power(ld, hour, wday, t) / g;
        for (size_t k = 0; k < (size_t)g && k < n; k++) {
            rows[k].util_pct += u * 100.0;
            rows[k].w += w;
        }
    }
    for (size_t k = 0; k < n; k++)
        if (rows[k].util_pct > 100.0)
            rows[k].util_pct = 100.0;
    return n;
}

void sim_host_now(sim_host_t *h, double t, sim_host_load_t *out)
{
    gpu_row_t rows[SIM_HOST_GPUS_MAX];
    double usum = 0.0, wsum = 0.0;
    size_t n;
    memset(out, 0, sizeof *out);
    out->cpu = h->cfg->exporter[0] ? cpu_util_at(h, t) : NAN;
    out->gpu = out->gpu_w = NAN;
    if (!h->gpu_side)
        return;
    n = gpu_rows(h, t, rows);
    for (size_t k = 0; k < n; k++) {
        usum += rows[k].util_pct / 100.0;
        wsum += rows[k].w;
    }
    out->n_gpus = n;
    out->gpu = n ? usum / (double)n : 0.0;
    out->gpu_w = wsum;
}

void sim_host_advance(sim_host_t *h, double t)
{
    int64_t k;
    double g, ug, a;
    if (!isfinite(t) || fabs(t) > T_LIMIT || !(t > h->c_t) || fabs(h->c_t) > T_LIMIT)
        return;
    /* The trapezoids of the utilisation sampled on the 10 s grid, as sim_energy_tz integrates
     * power: the counters at t do not depend on when they were read before. */
    k = (int64_t)floor(h->c_t / SIM_GRID_S);
    g = (double)k * SIM_GRID_S;
    ug = cpu_util_at(h, g);
    a = h->c_t;
    while (g < t) {
        double g1 = (double)(k + 1) * SIM_GRID_S;
        double ug1 = cpu_util_at(h, g1);
        double b = t < g1 ? t : g1;
        if (b > a) {
            double ua = ug + (ug1 - ug) * (a - g) / SIM_GRID_S;
            double ub = ug + (ug1 - ug) * (b - g) / SIM_GRID_S;
            double busy = (b - a) * (ua + ub) / 2.0;
            h->busy_s += busy;
            h->idle_s += (b - a) - busy;
        }
        k++;
        g = g1;
        ug = ug1;
        a = b;
    }
    h->c_t = t;
}

/* A growing text buffer; on allocation failure it keeps failing and the render returns NULL. */
typedef struct buf {
    char *p;
    size_t len, cap;
    int failed;
} buf_t;

static void put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->failed)
        return;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->len + (size_t)n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

/* node_exporter's modes, in the order it prints them (sorted by name). */
static void render_node(sim_host_t *h, double t, buf_t *b)
{
    static const char *const modes[] = {"idle",    "iowait", "irq",    "nice",
                                        "softirq", "steal",  "system", "user"};
    sim_host_load_t now;
    sim_host_advance(h, t);
    sim_host_now(h, t, &now);
    put(b, "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
           "# TYPE node_cpu_seconds_total counter\n");
    for (int cpu = 0; cpu < SIM_HOST_CPUS; cpu++)
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            double v = 0.0;
            if (strcmp(modes[m], "idle") == 0)
                v = h->idle_s;
            else if (strcmp(modes[m], "user") == 0)
                v = h->busy_s * USER_SHARE;
            else if (strcmp(modes[m], "system") == 0)
                v = h->busy_s * (1.0 - USER_SHARE);
            /* /proc/stat counts in USER_HZ, 1/100 s: node_exporter prints two decimals. */
            put(b, "node_cpu_seconds_total{cpu=\"%d\",mode=\"%s\"} %.2f\n", cpu, modes[m], v);
        }
    /* The load average of a machine whose CPUs are busy this share of the time. */
    put(b, "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 %.2f\n",
        now.cpu * SIM_HOST_CPUS);
}

/* A UUID-shaped name per host and GPU, the same in every run. */
static void gpu_uuid(const char *host, unsigned gpu, char *out, size_t n)
{
    uint64_t a = sim_mix64(sim_fnv1a(host, SIM_FNV_BASIS) ^ ((uint64_t)gpu << 32));
    uint64_t c = sim_mix64(a ^ 0x9e3779b97f4a7c15u);
    snprintf(out, n, "GPU-%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffffu, (unsigned)a & 0xffffu, (unsigned)(c >> 48),
             (unsigned long long)(c & 0xffffffffffffull));
}

static void render_dcgm(sim_host_t *h, double t, buf_t *b)
{
    static const struct {
        const char *name, *help;
        int pct;
    } metrics[] = {
        /* HELP texts as dcgm-exporter prints them (recorded output, dcgm-exporter #250). */
        {"DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", 1},
        {"DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", 0},
    };
    gpu_row_t rows[SIM_HOST_GPUS_MAX];
    size_t n = gpu_rows(h, t, rows);
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
        put(b, "# HELP %s %s\n# TYPE %s gauge\n", metrics[m].name, metrics[m].help,
            metrics[m].name);
        for (size_t i = 0; i < n; i++) {
            char uuid[48];
            gpu_uuid(h->cfg->id, (unsigned)i, uuid, sizeof uuid);
            put(b,
                "%s{gpu=\"%zu\",UUID=\"%s\",device=\"nvidia%zu\",modelName=\"wattaudit simulated "
                "GPU\",Hostname=\"%s\"} ",
                metrics[m].name, i, uuid, i, h->cfg->id);
            /* DCGM reports utilisation in whole percent and power with six decimals. */
            if (metrics[m].pct)
                put(b, "%.0f\n", rows[i].util_pct);
            else
                put(b, "%.6f\n", rows[i].w);
        }
    }
}

char *sim_host_render(sim_host_t *h, sim_exporter_t kind, double t, size_t *len)
{
    buf_t b = {0};
    if (kind == SIM_EXPORTER_NODE)
        render_node(h, t, &b);
    else
        render_dcgm(h, t, &b);
    if (b.failed || !b.p) {
        free(b.p);
        errno = ENOMEM;
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static const sc_host_t *find_host(const sc_site_t *site, const char *id)
{
    for (size_t i = 0; site && id && i < site->n_hosts; i++)
        if (strcmp(site->hosts[i].id, id) == 0)
            return &site->hosts[i];
    return NULL;
}

int sim_host_load(const sc_site_t *site, const char *host, double t, sim_host_load_t *out)
{
    const sc_host_t *cfg = find_host(site, host);
    sim_host_t h;
    if (!cfg || !out) {
        errno = ENOENT;
        return -1;
    }
    if (sim_host_init(&h, site, cfg, t, NULL, 0) != 0)
        return -1;
    sim_host_now(&h, t, out);
    return 0;
}

double sim_host_cpu_busy(const sc_site_t *site, const char *host, double t0, double t1)
{
    const sc_host_t *cfg = find_host(site, host);
    sim_host_t h;
    if (!cfg || !cfg->exporter[0] || !(t1 > t0) || sim_host_init(&h, site, cfg, t0, NULL, 0) != 0)
        return NAN;
    sim_host_advance(&h, t1);
    return h.busy_s / (t1 - t0);
}
