/*
 * Energy of one channel over a window: exact from the energy register where the file has one,
 * else the integral of the known power steps.  Gaps are counted and listed, never filled: an
 * officer must be able to say which hours a figure does not cover.
 */
#include "analysis/site-private.h"

#include "common/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *an_energy_method_name(an_energy_method_t m)
{
    switch (m) {
    case AN_ENERGY_REGISTER:
        return "register";
    case AN_ENERGY_POWER:
        return "power";
    case AN_ENERGY_NONE:
        break;
    }
    return "none";
}

/* Steps wholly inside (from, to]. */
static int in_window(int64_t t_end, int step, int64_t from, int64_t to)
{
    return t_end - step >= from && t_end <= to;
}

/* Indexes of the first and last known register readings in the window, or -1 when there are
 * fewer than two or the register ever goes down (a reset the collector did not mend, or not a
 * counter at all): then it cannot be trusted for any span. */
static void register_span(const double *e, size_t n, int64_t start, int step, int64_t from,
                          int64_t to, long *a, long *b)
{
    double prev = NAN;
    *a = *b = -1;
    for (size_t i = 0; i < n; i++) {
        int64_t t = start + (int64_t)(i + 1) * step;
        if (!in_window(t, step, from, to) || isnan(e[i]))
            continue;
        if (!isnan(prev) && e[i] < prev) {
            *a = *b = -1;
            return;
        }
        prev = e[i];
        if (*a < 0)
            *a = (long)i;
        *b = (long)i;
    }
    if (*a == *b)
        *a = *b = -1;
}

void an_energy_compute(const double *w, const double *e_wh, size_t n, int64_t start, int step,
                       int64_t from, int64_t to, an_energy_t *out)
{
    memset(out, 0, sizeof *out);
    out->method = AN_ENERGY_NONE;
    out->kwh = out->kwh_register = out->mean_w = NAN;
    if (!w || step <= 0)
        return;

    long ra = -1, rb = -1;
    if (e_wh)
        register_span(e_wh, n, start, step, from, to, &ra, &rb);
    int64_t reg_from = 0, reg_to = 0;
    if (ra >= 0) {
        reg_from = start + (int64_t)(ra + 1) * step;
        reg_to = start + (int64_t)(rb + 1) * step;
        out->kwh_register = (e_wh[rb] - e_wh[ra]) / 1000.0;
        out->register_from = reg_from;
        out->register_to = reg_to;
    }

    double wh_all = 0, wh_outside = 0, sum_w = 0;
    size_t known = 0, covered = 0;
    int in_gap = 0;
    an_gap_t cur = {0};
    for (size_t i = 0; i < n; i++) {
        int64_t t = start + (int64_t)(i + 1) * step;
        if (!in_window(t, step, from, to))
            continue;
        out->n_steps++;
        int inside_reg = ra >= 0 && t > reg_from && t <= reg_to;
        if (inside_reg)
            covered++;
        if (!isnan(w[i])) {
            double wh = w[i] * step / 3600.0;
            wh_all += wh;
            sum_w += w[i];
            known++;
            if (!inside_reg) {
                wh_outside += wh;
                covered++;
            }
            if (in_gap) {
                if (out->n_gaps <= AN_GAPS_LISTED)
                    out->gaps[out->n_gaps - 1] = cur;
                in_gap = 0;
            }
            continue;
        }
        double h = step / 3600.0;
        out->gap_hours += h;
        if (!inside_reg)
            out->unbridged_gap_hours += h;
        if (!in_gap) {
            in_gap = 1;
            out->n_gaps++;
            cur.from = t - step;
            cur.bridged = 1;
        }
        cur.to = t;
        if (!inside_reg)
            cur.bridged = 0;
    }
    if (in_gap && out->n_gaps <= AN_GAPS_LISTED)
        out->gaps[out->n_gaps - 1] = cur;

    out->kwh_integrated = wh_all / 1000.0;
    if (known)
        out->mean_w = sum_w / (double)known;
    if (out->n_steps) {
        out->power_coverage = (double)known / (double)out->n_steps;
        out->coverage = (double)covered / (double)out->n_steps;
    }
    if (ra >= 0) {
        out->method = AN_ENERGY_REGISTER;
        out->kwh = out->kwh_register + wh_outside / 1000.0;
    } else if (known) {
        out->method = AN_ENERGY_POWER;
        out->kwh = out->kwh_integrated;
    }
}

const char *an_gap_position(const an_channel_result_t *c, int64_t to, const an_gap_t *g)
{
    if (g->from <= c->from)
        return "start";
    return g->to >= to ? "end" : "inside";
}

int an_gaps_describe(const an_channel_result_t *c, int64_t to, const char *tz, char *buf,
                     size_t len)
{
    const an_energy_t *en = &c->energy;
    size_t listed = en->n_gaps < AN_GAPS_LISTED ? en->n_gaps : AN_GAPS_LISTED;
    char dur[32], t[32], where[192] = "";
    const char *reg =
        en->unbridged_gap_hours < en->gap_hours ? " (the energy register spans some)" : "";
    if (len)
        buf[0] = '\0';
    if (!en->n_gaps)
        return 0;
    /* Short gaps in minutes: a step of a minute is not "0.0 h". */
    if (en->gap_hours < 1.0)
        snprintf(dur, sizeof dur, "%.0f min", en->gap_hours * 60.0);
    else
        snprintf(dur, sizeof dur, "%.1f h", en->gap_hours);
    int at_start = !strcmp(an_gap_position(c, to, &en->gaps[0]), "start");
    int at_end =
        listed == en->n_gaps && !strcmp(an_gap_position(c, to, &en->gaps[listed - 1]), "end");
    /* Data that begin late or stop early are said so: they are no hole in the middle. */
    if (en->n_gaps == 1 && (at_start || at_end))
        return snprintf(
            buf, len, "1 gap: no data %s %s, the window's %s %s%s", at_start ? "before" : "after",
            wa_time_format(at_start ? en->gaps[0].to : en->gaps[0].from, tz, t, sizeof t),
            at_start ? "first" : "last", dur, reg);
    size_t u = 0;
    if (at_start)
        u = (size_t)snprintf(where, sizeof where,
                             ", the first at the window's start (no data before %s)",
                             wa_time_format(en->gaps[0].to, tz, t, sizeof t));
    if (at_end && u < sizeof where)
        snprintf(where + u, sizeof where - u, ", the last at its end (no data after %s)",
                 wa_time_format(en->gaps[listed - 1].from, tz, t, sizeof t));
    return snprintf(buf, len, "%zu gap%s, %s%s%s", en->n_gaps, en->n_gaps == 1 ? "" : "s", dur,
                    where, reg);
}
