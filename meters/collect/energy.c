/*
 * The continuous energy counter.
 *
 * A meter's import register only grows, until it does not: the counter is reset, the meter
 * is replaced, or a corrupted reading slips through.  `energy` must stay usable for "kWh
 * between two times", so it must never drop and never spike.  An implausible reading is held
 * back once; if the next reading continues from it, the counter really changed and the offset
 * is re-based so that energy goes on from where it was plus what the channel drew in between
 * (estimated from its power); if not, the held reading was a glitch and is dropped.
 */
#include "meters/collect/collect-private.h"

#include <math.h>

/* Time added to the elapsed time before asking whether a step is plausible: covers a meter
 * that updates its energy register less often than its power (about 1 s on common DIN-rail
 * meters) and poll jitter, with room to spare. */
#define ENERGY_MARGIN_S 60.0
/* Steps smaller than this count as no change: the coarsest common counter resolution is
 * 0.01 kWh (10 Wh), and a float32 kWh register loses 2^-23 relative precision per ulp
 * (IEEE 754-2008 binary32, 24-bit significand), allowed for twice. */
#define ENERGY_SLACK_WH 10.0
#define ENERGY_SLACK_REL (2.0 / 8388608.0)
/* Power beyond this multiple of the rated power is rejected as implausible (see poll.c), so
 * no more energy than that can have been drawn. */
#define ENERGY_RATED_FACTOR 1.5
/* Without a rating, the largest power seen doubled is what the channel could still draw. */
#define ENERGY_SEEN_FACTOR 2.0

void energy_init(energy_state_t *s, double t, double last_energy, double last_raw)
{
    s->have = 0;
    s->last_raw = s->last_energy = s->offset = 0;
    s->last_t = t;
    s->last_power = NAN;
    s->max_power = 0;
    s->pending = 0;
    s->pend_raw = s->pend_t = 0;
    if (isfinite(last_energy) && isfinite(last_raw)) {
        s->have = 1;
        s->last_raw = last_raw;
        s->last_energy = last_energy;
        s->offset = last_energy - last_raw;
    }
}

static double slack(double raw)
{
    return ENERGY_SLACK_WH + fabs(raw) * ENERGY_SLACK_REL;
}

/* Most energy (Wh) the channel can plausibly draw in dt seconds; INFINITY when unknown. */
static double allowed(const energy_state_t *s, double rated_w, double dt, double raw)
{
    double cap;
    if (rated_w > 0)
        cap = ENERGY_RATED_FACTOR * rated_w;
    else if (s->max_power > 0)
        cap = ENERGY_SEEN_FACTOR * s->max_power;
    else
        return INFINITY;
    if (dt < 0)
        dt = 0;
    return cap * (dt + ENERGY_MARGIN_S) / 3600.0 + slack(raw);
}

static void accept(energy_state_t *s, double t, double raw, double power, double energy)
{
    s->have = 1;
    s->last_raw = raw;
    s->last_t = t;
    s->last_energy = energy;
    s->last_power = power;
    s->pending = 0;
}

/* What the channel drew between the last accepted reading and t, from the power at both ends
 * (trapezoid), bounded by what it could draw. */
static double estimate(const energy_state_t *s, double t, double power, double rated_w)
{
    double dt = t - s->last_t, p, e;
    if (dt <= 0)
        return 0;
    if (isfinite(s->last_power) && isfinite(power))
        p = (s->last_power + power) / 2;
    else if (isfinite(power))
        p = power;
    else if (isfinite(s->last_power))
        p = s->last_power;
    else
        return 0;
    e = p * dt / 3600.0;
    if (e < 0)
        e = 0;
    if (e > allowed(s, rated_w, dt, 0))
        e = allowed(s, rated_w, dt, 0);
    return e;
}

energy_event_t energy_update(energy_state_t *s, double t, double raw, double power,
                             double rated_w, double *energy)
{
    double d, lim;

    if (isfinite(power) && fabs(power) > s->max_power)
        s->max_power = fabs(power);
    if (!s->have) {
        *energy = raw + s->offset;
        accept(s, t, raw, power, *energy);
        return ENERGY_FIRST;
    }
    d = raw - s->last_raw;
    lim = allowed(s, rated_w, t - s->last_t, raw);
    if (d >= -slack(raw) && d <= lim) {
        /* A tiny step back is the register's rounding, not a reset: hold the line. */
        if (d < 0) {
            *energy = s->last_energy;
            s->last_t = t;
            s->last_power = power;
            s->pending = 0;
            return ENERGY_OK;
        }
        *energy = raw + s->offset;
        if (*energy < s->last_energy)
            *energy = s->last_energy;
        accept(s, t, raw, power, *energy);
        return ENERGY_OK;
    }
    if (s->pending) {
        double dp = raw - s->pend_raw;
        if (dp >= -slack(raw) && dp <= allowed(s, rated_w, t - s->pend_t, raw)) {
            double e = s->last_energy + estimate(s, t, power, rated_w);
            s->offset = e - raw;
            *energy = e;
            accept(s, t, raw, power, e);
            return ENERGY_RESET;
        }
    }
    s->pending = 1;
    s->pend_raw = raw;
    s->pend_t = t;
    *energy = NAN;
    return ENERGY_HELD;
}
