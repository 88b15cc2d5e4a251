/*
 * loads.c: the load models behind a simulated channel, and its power and energy.
 *
 * Each model is a small pure function of its load, the local wall-clock time and t.  The
 * figures and the sources they come from are in docs/simulator.md.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "meters/sim/sim-private.h"

#define TZ_BUCKET_S 900 /* offsets change on quarter hours: see sim_tz_t */

/* A time outside this range cannot be a meter reading; it also keeps every float-to-integer
 * conversion below defined (C11 6.3.1.4). */
#define T_LIMIT 1e13

void sim_tz_init(sim_tz_t *z, const char *tz)
{
    memset(z, 0, sizeof *z);
    z->tz = tz;
}

void sim_tz_local(sim_tz_t *z, double t, double *hour, int *wday)
{
    int64_t bucket = (int64_t)floor(t / TZ_BUCKET_S);
    double local, days;

    if (!z->valid || bucket != z->bucket) {
        struct tm tm;
        z->offset = wa_time_local(bucket * TZ_BUCKET_S, z->tz, &tm) == 0 ? tm.tm_gmtoff : 0;
        z->bucket = bucket;
        z->valid = 1;
    }
    local = t + (double)z->offset;
    days = floor(local / 86400.0);
    *hour = (local - days * 86400.0) / 3600.0;
    /* 1970-01-01, day 0, was a Thursday. */
    *wday = (int)(((int64_t)days % 7 + 7 + 4) % 7);
}

static int weekend(int wday)
{
    return wday == 0 || wday == 6;
}

/* 0 below h0, 1 above h1, linear between. */
static double ramp(double h, double h0, double h1)
{
    return h <= h0 ? 0.0 : h >= h1 ? 1.0 : (h - h0) / (h1 - h0);
}

/* Share of the working-hours level an office draws on a weekday: up from 07:30 to 08:30,
 * down from 17:30 to 18:30, and 30% less over lunch 12:15-13:15. */
static double office_share(double hour)
{
    double day = ramp(hour, 7.5, 8.5) - ramp(hour, 17.5, 18.5);
    double lunch = ramp(hour, 12.0, 12.25) - ramp(hour, 13.25, 13.5);
    return day - 0.3 * lunch;
}

static double m_office(const sc_load_t *ld, double w, double hour, int wday, double t)
{
    double share = weekend(wday) ? 0.0 : office_share(hour);
    return (ld->base_w + (w - ld->base_w) * share) * ld->count;
}

static double m_flat(const sc_load_t *ld, double w, double hour, int wday, double t)
{
    return w * ld->count;
}

/* GPU rigs breathe with the work they are fed: a 1.5% ripple with a period (97 s) that no
 * poll interval divides, so sampled readings are not all alike. */
static double m_gpu_rig(const sc_load_t *ld, double w, double hour, int wday, double t)
{
    return w * ld->count * (1.0 + 0.015 * sin(2.0 * M_PI * fmod(t, 97.0) / 97.0));
}

/* A trojan miner runs when nobody is at the desk: nights 19:00-07:00 and weekends. */
static double m_pc_mining(const sc_load_t *ld, double w, double hour, int wday, double t)
{
    return (weekend(wday) || hour >= 19.0 || hour < 7.0) ? w * ld->count : 0.0;
}

/* Utilisation, 0..1, of an active load: how far it is between its idle and its full draw. */
static double u_office(double hour, int wday)
{
    return weekend(wday) ? 0.0 : office_share(hour);
}

static double u_full(double hour, int wday)
{
    return 1.0;
}

static double u_pc_mining(double hour, int wday)
{
    return (weekend(wday) || hour >= 19.0 || hour < 7.0) ? 1.0 : 0.0;
}

/* A flat load is a machine's idle draw: it never moves between idle and full. */
static double u_idle(double hour, int wday)
{
    return 0.0;
}

static const struct model {
    const char *name;
    double (*power)(const sc_load_t *ld, double w, double hour, int wday, double t);
    double default_w; /* sources in docs/simulator.md, "Load models" */
    int needs_local;  /* depends on the wall clock of the site */
    double (*util)(double hour, int wday);
    int gpus;         /* GPUs per unit on a host with a DCGM exporter; 0 = a CPU load */
} models[] = {
    {"office", m_office, 0.0, 1, u_office, 0},
    {"server", m_flat, 0.0, 0, u_idle, 0},
    /* 7-GPU rigs measured at the wall: 930-1111 W (cryptomarketpool.com, "Estimating
     * electrical expenses for the warehouse"); 6-8 GPUs at 150-200 W plus the host: a
     * simulated rig shows the low end, 6 GPUs. */
    {"gpu_rig", m_gpu_rig, 1200.0, 0, u_full, 6},
    /* Bitmain Antminer S19 / S19 Pro: 3250 W rated (miningstore.com, "The Definitive Guide to
     * Antminer S19 Series Bitcoin Miners"). */
    {"asic", m_flat, 3250.0, 0, u_full, 0},
    /* A research job runs on GPU nodes of 4 GPUs each: a modelling choice (nodes carry 4 or 8). */
    {"research_job", m_flat, 0.0, 0, u_full, 4},
    /* Office desktop idle just under 30 W (experts-exchange.com, "What is it worth, your
     * computer?"), a desktop CPU at full load about 65 W: a CPU miner adds tens of W. */
    {"pc_mining", m_pc_mining, 40.0, 1, u_pc_mining, 0},
    {"constant", m_flat, 0.0, 0, u_idle, 0},
};

static const struct model *find_model(const char *name)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
    return NULL;
}

double sim_load_default_w(const char *model)
{
    const struct model *m = find_model(model);
    return m ? m->default_w : 0.0;
}

static int active(const sc_load_t *ld, double t)
{
    return t >= (double)ld->from && t < (double)ld->to;
}

double sim_load_power(const sc_load_t *ld, double hour, int wday, double t)
{
    const struct model *m = find_model(ld->model);
    double w;
    if (!m || !active(ld, t))
        return 0.0;
    w = ld->w > 0.0 ? ld->w : m->default_w;
    return m->power(ld, w, hour, wday, t);
}

double sim_load_util(const sc_load_t *ld, double hour, int wday, double t, double *span)
{
    const struct model *m = find_model(ld->model);
    double w, idle;
    *span = 0.0;
    if (!m || m->util == u_idle)
        return 0.0;
    w = ld->w > 0.0 ? ld->w : m->default_w;
    idle = m->power == m_office ? ld->base_w : 0.0;
    *span = w > idle ? (w - idle) * ld->count : 0.0;
    return active(ld, t) ? m->util(hour, wday) : 0.0;
}

int sim_load_gpus(const sc_load_t *ld)
{
    const struct model *m = find_model(ld->model);
    return m ? m->gpus * ld->count : 0;
}

int sim_load_needs_local(const sc_load_t *ld)
{
    const struct model *m = find_model(ld->model);
    return m ? m->needs_local : 0;
}

double sim_power_tz(const sc_sim_t *s, sim_tz_t *z, double t)
{
    double p = 0.0, hour = 0.0;
    int wday = 1, have_local = 0;

    if (!s || !isfinite(t) || fabs(t) > T_LIMIT)
        return 0.0;
    for (size_t i = 0; i < s->n_loads && i < SC_LOADS_MAX; i++) {
        const struct model *m = find_model(s->loads[i].model);
        if (m && m->needs_local && !have_local) {
            sim_tz_local(z, t, &hour, &wday);
            have_local = 1;
        }
        p += sim_load_power(&s->loads[i], hour, wday, t);
    }
    /* Noise changes once a second: a reading repeated within the second is the same. */
    if (s->noise > 0.0 && p > 0.0)
        p *= 1.0 + s->noise * sim_gauss(s->seed, (int64_t)floor(t));
    return p > 0.0 ? p : 0.0;
}

double sim_energy_tz(const sc_sim_t *s, sim_tz_t *z, double t0, double t1)
{
    int64_t k;
    double g, pg, joules = 0.0;

    if (!s || !isfinite(t0) || !isfinite(t1) || !(t1 > t0) || fabs(t0) > T_LIMIT ||
        fabs(t1) > T_LIMIT)
        return 0.0;
    k = (int64_t)floor(t0 / SIM_GRID_S);
    g = (double)k * SIM_GRID_S;
    pg = sim_power_tz(s, z, g);
    while (g < t1) {
        double g1 = (double)(k + 1) * SIM_GRID_S;
        double pg1 = sim_power_tz(s, z, g1);
        double a = t0 > g ? t0 : g, b = t1 < g1 ? t1 : g1;
        if (b > a) {
            /* The trapezoid of the interpolant over [a, b], exact for a straight line. */
            double pa = pg + (pg1 - pg) * (a - g) / SIM_GRID_S;
            double pb = pg + (pg1 - pg) * (b - g) / SIM_GRID_S;
            joules += (b - a) * (pa + pb) / 2.0;
        }
        k++;
        g = g1;
        pg = pg1;
    }
    return joules / 3600.0;
}

double sim_power(const sc_sim_t *s, const char *tz, double t)
{
    sim_tz_t z;
    sim_tz_init(&z, tz);
    return sim_power_tz(s, &z, t);
}

double sim_energy(const sc_sim_t *s, const char *tz, double t0, double t1)
{
    sim_tz_t z;
    sim_tz_init(&z, tz);
    return sim_energy_tz(s, &z, t0, t1);
}
