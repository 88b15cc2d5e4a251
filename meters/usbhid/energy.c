/*
 * Energy from power.  A UPS has no energy register, so energy is the integral of the power
 * readings (trapezoid rule).  An interval longer than max_gap_s, or one with an unknown end,
 * is not guessed: it is counted as a gap, so that findings built on this energy can say how
 * much of the period they do not cover.
 */
#include "meters/usbhid/usbhid-private.h"

#include <math.h>
#include <string.h>

void usbhid_energy_init(usbhid_energy_t *e, double start_wh, double max_gap_s)
{
    memset(e, 0, sizeof *e);
    e->wh = isfinite(start_wh) ? start_wh : 0;
    e->max_gap_s = max_gap_s > 0 ? max_gap_s : INFINITY;
    e->last_w = NAN;
}

int usbhid_energy_add(usbhid_energy_t *e, double t, double w, int estimated)
{
    int gap = 0;
    if (e->have) {
        double dt = t - e->last_t;
        if (dt <= 0)
            return 0; /* a repeated or earlier time adds nothing and moves nothing */
        if (dt > e->max_gap_s || isnan(w) || isnan(e->last_w)) {
            e->gaps++;
            e->gap_s += dt;
            gap = 1;
        } else {
            double wh = (e->last_w + w) / 2.0 * dt / 3600.0;
            e->wh += wh;
            if (estimated || e->last_estimated)
                e->wh_estimated += wh;
        }
    }
    e->have = 1;
    e->last_t = t;
    e->last_w = w;
    e->last_estimated = estimated;
    return gap;
}
