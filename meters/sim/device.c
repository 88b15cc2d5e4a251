/*
 * device.c: one simulated device: its channels' electrical values over time, and the running
 * energy state behind its energy registers.  The register image lives in regmap.c, the
 * answers and faults in faults.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meters/sim/sim-private.h"

/* Nominal low-voltage supply, line to neutral: 230 V (IEC 60038:2009, table 1).  A building's
 * supply wanders with the day's load; the simulator keeps within +-1% so that readings look
 * like a healthy grid (EN 50160 allows +-10%). */
#define V_NOMINAL 230.0
#define V_SPREAD 0.01
/* Nominal frequency 50 Hz; EN 50160 allows +-1% over 99.5% of a year, an interconnected grid
 * stays far closer; the simulator keeps within +-0.05 Hz. */
#define F_NOMINAL 50.0
#define F_SPREAD 0.05
/* Power factor of the simulated loads: switch-mode supplies with power-factor correction
 * (servers, mining rigs, PCs) run near 0.95 and better at load (IEC 61000-3-2 class D is what
 * forces the correction). */
#define PF_LOAD 0.95

static int summing_name(const char *name)
{
    return strcasecmp(name, "total") == 0 || strcasecmp(name, "inlet") == 0 ||
           strcasecmp(name, "inlet1") == 0;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Slow daily wander plus jitter, per channel (phases differ a little). */
static double voltage(uint32_t seed, double t)
{
    double phase = 2.0 * M_PI * sim_unit(sim_mix64(seed));
    double v = V_NOMINAL * (1.0 + 0.004 * sin(2.0 * M_PI * t / 86400.0 + phase) +
                            0.002 * sim_gauss(seed, (int64_t)floor(t)));
    return clampd(v, V_NOMINAL * (1.0 - V_SPREAD), V_NOMINAL * (1.0 + V_SPREAD));
}

static double load_pf(uint32_t seed, double t)
{
    return clampd(PF_LOAD + 0.01 * sim_gauss((uint64_t)seed << 1 | 1, (int64_t)floor(t)), 0.9,
                  0.99);
}

double sim_chan_peak_w(const sim_dev_t *dev, size_t ci)
{
    const sim_chan_t *c = &dev->ch[ci];
    double peak = 0.0;
    if (c->summing) {
        for (size_t j = 0; j < dev->n_ch; j++)
            if (!dev->ch[j].summing)
                peak += sim_chan_peak_w(dev, j);
        return peak;
    }
    for (size_t i = 0; c->sim && i < c->sim->n_loads && i < SC_LOADS_MAX; i++) {
        const sc_load_t *ld = &c->sim->loads[i];
        double w = ld->w > 0.0 ? ld->w : sim_load_default_w(ld->model);
        if (ld->base_w > w)
            w = ld->base_w;
        peak += w * ld->count;
    }
    return peak;
}

static const sc_channel_t *config_channel(const sc_device_t *d, const char *source)
{
    for (size_t i = 0; i < d->n_channels; i++)
        if (strcmp(d->channels[i].source, source) == 0)
            return &d->channels[i];
    return NULL;
}

sim_dev_t *sim_dev_new(const sc_device_t *d, const profile_t *p, const char *bus_id, const char *tz,
                       double energy_origin, char *err, size_t errlen)
{
    sim_dev_t *dev;

    if (!d || !p) {
        errno = EINVAL;
        wa_err(err, errlen, "sim: no device or profile");
        return NULL;
    }
    if (!(dev = calloc(1, sizeof *dev)))
        goto nomem;
    dev->cfg = d;
    dev->prof = p;
    dev->t = NAN;
    wa_strlcpy(dev->bus_id, bus_id ? bus_id : "", sizeof dev->bus_id);
    dev->n_ch = p->n_channels;
    dev->ch = calloc(p->n_channels ? p->n_channels : 1, sizeof *dev->ch);
    dev->row_ch = calloc(p->n_regs ? p->n_regs : 1, sizeof *dev->row_ch);
    if (!dev->ch || !dev->row_ch)
        goto nomem;
    for (size_t i = 0; i < dev->n_ch; i++) {
        sim_chan_t *c = &dev->ch[i];
        const sc_channel_t *cc = config_channel(d, p->channels[i]);
        wa_strlcpy(c->name, p->channels[i], sizeof c->name);
        c->sim = cc && cc->sim.enabled ? &cc->sim : NULL;
        c->summing = !c->sim && summing_name(c->name);
        c->seed = sim_fnv1a(c->name, sim_fnv1a(d->id, SIM_FNV_BASIS));
        sim_tz_init(&c->tz, tz);
        c->e_t = energy_origin;
        c->now.v = V_NOMINAL;
        c->now.pf = 1.0;
    }
    for (size_t r = 0; r < p->n_regs; r++) {
        dev->row_ch[r] = -1;
        for (size_t i = 0; i < dev->n_ch; i++)
            if (strcmp(p->regs[r].channel, dev->ch[i].name) == 0)
                dev->row_ch[r] = (int)i;
        if (dev->row_ch[r] < 0) {
            errno = WA_ECONFIG;
            wa_err(err, errlen, "%s:%d: channel \"%s\" is not in the profile's channel list",
                   p->file, p->regs[r].line, p->regs[r].channel);
            sim_dev_free(dev);
            return NULL;
        }
    }
    dev->rng =
        sim_mix64(sim_fnv1a(d->id, sim_fnv1a(dev->bus_id, SIM_FNV_BASIS)) ^ (uint64_t)d->unit);
    dev->freq = F_NOMINAL;
    if (sim_regmap_build(dev, err, errlen) != 0) {
        int e = errno;
        sim_dev_free(dev);
        errno = e;
        return NULL;
    }
    return dev;
nomem:
    sim_dev_free(dev);
    errno = ENOMEM;
    wa_err(err, errlen, "sim: out of memory");
    return NULL;
}

void sim_dev_free(sim_dev_t *dev)
{
    if (!dev)
        return;
    for (int i = 0; i < 2; i++)
        if (!dev->region[i].shared)
            free(dev->region[i].words);
    free(dev->ch);
    free(dev->row_ch);
    free(dev->row_addr);
    free(dev->row_sf);
    free(dev);
}

static void update_own(sim_chan_t *c, double t)
{
    sim_values_t *n = &c->now;
    if (c->sim) {
        n->p = sim_power_tz(c->sim, &c->tz, t);
        if (t > c->e_t) {
            c->e_wh += sim_energy_tz(c->sim, &c->tz, c->e_t, t);
            c->e_t = t;
        }
    } else {
        n->p = 0.0;
    }
    n->wh = c->e_wh;
    n->v = voltage(c->seed, t);
    n->pf = n->p > 0.0 ? load_pf(c->seed, t) : 1.0;
    n->i = n->p > 0.0 ? n->p / (n->v * n->pf) : 0.0;
}

/* A total or an inlet is what its branches draw: powers, currents and energies add; the
 * voltage is their mean; the power factor is real over apparent power. */
static void update_sum(sim_dev_t *dev, sim_chan_t *c, double t)
{
    sim_values_t *n = &c->now;
    double va = 0.0, vsum = 0.0;
    size_t nv = 0;
    memset(n, 0, sizeof *n);
    for (size_t j = 0; j < dev->n_ch; j++) {
        const sim_values_t *b = &dev->ch[j].now;
        if (dev->ch[j].summing)
            continue;
        n->p += b->p;
        n->i += b->i;
        n->wh += b->wh;
        va += b->v * b->i;
        vsum += b->v;
        nv++;
    }
    n->v = nv ? vsum / (double)nv : voltage(c->seed, t);
    n->pf = va > 0.0 ? clampd(n->p / va, 0.0, 1.0) : 1.0;
}

void sim_dev_update(sim_dev_t *dev, double t)
{
    uint64_t fseed;
    /* Beyond 1e13 s no reading makes sense, and float-to-integer conversions stay defined. */
    if (!dev || !isfinite(t) || fabs(t) > 1e13 || t == dev->t)
        return;
    for (size_t i = 0; i < dev->n_ch; i++)
        if (!dev->ch[i].summing)
            update_own(&dev->ch[i], t);
    for (size_t i = 0; i < dev->n_ch; i++)
        if (dev->ch[i].summing)
            update_sum(dev, &dev->ch[i], t);
    fseed = sim_fnv1a(dev->cfg->id, sim_fnv1a("frequency", SIM_FNV_BASIS));
    dev->freq = clampd(F_NOMINAL + 0.015 * sim_gauss(fseed, (int64_t)floor(t)),
                       F_NOMINAL - F_SPREAD, F_NOMINAL + F_SPREAD);
    dev->t = t;
    sim_regmap_encode(dev);
}

const sim_values_t *sim_dev_values(const sim_dev_t *dev, const char *channel)
{
    for (size_t i = 0; dev && channel && i < dev->n_ch; i++)
        if (strcmp(dev->ch[i].name, channel) == 0)
            return &dev->ch[i].now;
    return NULL;
}
