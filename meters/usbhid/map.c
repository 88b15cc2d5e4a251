/*
 * Which field is which quantity, and a sample from the reports that hold them.
 *
 * The generic rules below are the places the HID Power Device usage tables suggest and
 * vendors use, in priority order; vendor PATH quirks (quirks.c) are tried first.  A field
 * declared both as Feature and as Input under the same path is read as Feature: every UPS
 * answers GET_REPORT for features, not all do for inputs (NUT's libhid looks up features
 * first for the same reason).
 */
#include "meters/usbhid/usbhid-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const usbhid_rule_t rules[] = {
    {USBHID_Q_POWER_W, "UPS.Output.ActivePower"},
    {USBHID_Q_POWER_W, "UPS.PowerConverter.Output.ActivePower"},
    {USBHID_Q_POWER_W, "UPS.OutletSystem.Outlet.ActivePower"},
    {USBHID_Q_POWER_VA, "UPS.Output.ApparentPower"},
    {USBHID_Q_POWER_VA, "UPS.PowerConverter.Output.ApparentPower"},
    {USBHID_Q_POWER_VA, "UPS.OutletSystem.Outlet.ApparentPower"},
    {USBHID_Q_LOAD, "UPS.Output.PercentLoad"},
    {USBHID_Q_LOAD, "UPS.PowerConverter.Output.PercentLoad"},
    {USBHID_Q_LOAD, "UPS.PowerSummary.PercentLoad"},
    {USBHID_Q_LOAD, "UPS.OutletSystem.Outlet.PercentLoad"},
    {USBHID_Q_LOAD, "UPS.PowerConverter.PercentLoad"},
    {USBHID_Q_VOLTAGE, "UPS.Output.Voltage"},
    {USBHID_Q_VOLTAGE, "UPS.PowerConverter.Output.Voltage"},
    {USBHID_Q_VOLTAGE, "UPS.OutletSystem.Outlet.Voltage"},
    {USBHID_Q_CURRENT, "UPS.Output.Current"},
    {USBHID_Q_CURRENT, "UPS.PowerConverter.Output.Current"},
    {USBHID_Q_CURRENT, "UPS.OutletSystem.Outlet.Current"},
    {USBHID_Q_NOMINAL_VA, "UPS.Output.ConfigApparentPower"},
    {USBHID_Q_NOMINAL_VA, "UPS.PowerConverter.ConfigApparentPower"},
    {USBHID_Q_NOMINAL_VA, "UPS.Flow.[4].ConfigApparentPower"},
    {USBHID_Q_NOMINAL_VA, "UPS.Flow.ConfigApparentPower"},
    {USBHID_Q_NOMINAL_VA, "UPS.PowerSummary.ConfigApparentPower"},
    {USBHID_Q_NOMINAL_W, "UPS.Output.ConfigActivePower"},
    {USBHID_Q_NOMINAL_W, "UPS.PowerConverter.ConfigActivePower"},
    {USBHID_Q_NOMINAL_W, "UPS.Flow.[4].ConfigActivePower"},
    {USBHID_Q_NOMINAL_W, "UPS.Flow.ConfigActivePower"},
    {USBHID_Q_NOMINAL_W, "UPS.PowerSummary.ConfigActivePower"},
};

const usbhid_rule_t *usbhid_rules(size_t *n)
{
    if (n)
        *n = sizeof rules / sizeof rules[0];
    return rules;
}

const char *usbhid_qty_name(usbhid_qty_t q)
{
    static const char *const n[USBHID_Q_COUNT_] = {"power_w", "power_va", "load", "voltage",
                                                   "current", "nominal_va", "nominal_w"};
    return (unsigned)q < USBHID_Q_COUNT_ ? n[q] : "?";
}

static int applies(const usbhid_quirk_t *k, uint16_t vid, uint16_t pid)
{
    return k->vid == vid && (k->pid == 0 || k->pid == pid);
}

/* The field at path: Feature first, else Input; *twin gets the Input field at the same path
 * when a Feature was chosen.  -1 if none or the path does not parse. */
static int find2(const usbhid_desc_t *d, const char *path, int *twin)
{
    usbhid_pattern_t p;
    int input = -1, feature = -1;
    if (twin)
        *twin = -1;
    if (usbhid_pattern_parse(path, &p) < 0)
        return -1;
    for (size_t i = 0; i < usbhid_desc_count(d); i++) {
        const usbhid_field_t *f = usbhid_desc_field(d, i);
        if (!usbhid_pattern_match(&p, f))
            continue;
        if (f->type == USBHID_FEATURE && feature < 0)
            feature = (int)i;
        if (f->type == USBHID_INPUT && input < 0)
            input = (int)i;
    }
    if (feature >= 0) {
        if (twin)
            *twin = input;
        return feature;
    }
    return input;
}

static int find(const usbhid_desc_t *d, const char *path)
{
    return find2(d, path, NULL);
}

int usbhid_bind(const usbhid_desc_t *d, uint16_t vid, uint16_t pid, usbhid_binding_t *b)
{
    size_t nq, nr;
    const usbhid_quirk_t *qk = usbhid_quirks(&nq);
    const usbhid_rule_t *rl = usbhid_rules(&nr);
    int found = 0;
    memset(b, 0, sizeof *b);
    b->vid = vid;
    b->pid = pid;
    for (int q = 0; q < USBHID_Q_COUNT_; q++) {
        b->q[q].field = -1;
        b->q[q].twin = -1;
        b->q[q].exp_override = USBHID_NO_EXP;
        b->q[q].scale = 1.0;
    }
    for (size_t i = 0; i < nq; i++) {
        const usbhid_quirk_t *k = &qk[i];
        if (!applies(k, vid, pid))
            continue;
        if (k->kind == USBHID_QK_PATH && b->q[k->q].field < 0)
            b->q[k->q].field = find2(d, k->path, &b->q[k->q].twin);
        if (k->kind == USBHID_QK_NO_INTERRUPT) {
            b->no_interrupt = 1;
            b->no_interrupt_why = k->source;
        }
    }
    for (size_t i = 0; i < nr; i++)
        if (b->q[rl[i].q].field < 0)
            b->q[rl[i].q].field = find2(d, rl[i].path, &b->q[rl[i].q].twin);
    for (size_t i = 0; i < nq; i++) {
        const usbhid_quirk_t *k = &qk[i];
        usbhid_source_t *s = &b->q[k->q];
        if (!applies(k, vid, pid) || s->field < 0)
            continue;
        const usbhid_field_t *f = usbhid_desc_field(d, (size_t)s->field);
        switch (k->kind) {
        case USBHID_QK_EXPONENT:
            s->exp_override = (int)k->arg;
            s->quirk = k->source;
            break;
        case USBHID_QK_SCALE:
            s->scale *= k->arg;
            s->quirk = k->source;
            break;
        case USBHID_QK_LOGICAL: {
            /* Only a range copied from the reference field is wrong; a device that states
             * its own range is left alone (NUT checks the same before fixing). */
            int r = find(d, k->path);
            const usbhid_field_t *ref = r >= 0 ? usbhid_desc_field(d, (size_t)r) : NULL;
            if (ref && ref->logical_min == f->logical_min && ref->logical_max == f->logical_max) {
                s->lmin = k->lmin;
                s->lmax = k->lmax;
                s->quirk = k->source;
            }
            break;
        }
        default: break;
        }
    }
    for (int q = 0; q < USBHID_Q_COUNT_; q++)
        found += b->q[q].field >= 0;
    return found;
}

size_t usbhid_plan(const usbhid_desc_t *d, const usbhid_binding_t *b, usbhid_report_ref_t *out,
                   size_t max)
{
    size_t n = 0;
    for (int q = 0; q < USBHID_Q_COUNT_; q++) {
        const usbhid_field_t *f =
            b->q[q].field >= 0 ? usbhid_desc_field(d, (size_t)b->q[q].field) : NULL;
        if (!f)
            continue;
        usbhid_report_ref_t r = {f->type, f->report_id};
        size_t i = 0;
        while (i < n && (out[i].id < r.id || (out[i].id == r.id && out[i].type < r.type)))
            i++;
        if (i < n && out[i].id == r.id && out[i].type == r.type)
            continue;
        if (n == max)
            continue;
        memmove(&out[i + 1], &out[i], (n - i) * sizeof *out);
        out[i] = r;
        n++;
    }
    return n;
}

static const usbhid_report_t *report_for(const usbhid_desc_t *d, const usbhid_field_t *f,
                                         const usbhid_report_t *reps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (reps[i].type != f->type || !reps[i].data)
            continue;
        if (!usbhid_desc_has_ids(d) || (reps[i].len > 0 && reps[i].data[0] == f->report_id))
            return &reps[i];
    }
    return NULL;
}

static double rating_or(double configured, double device)
{
    return configured > 0 ? configured : device;
}

/* power = load x rating, for devices that report the load only (a device that has a power
 * field but failed to answer this time gets a gap, not a guess). */
static void estimate(const usbhid_binding_t *b, usbhid_sample_t *s, usbhid_qty_t out,
                     usbhid_qty_t nominal, double cfg, const char *unit)
{
    double load = s->v[USBHID_Q_LOAD];
    double nom = rating_or(cfg, s->v[nominal]);
    if (b->q[out].field >= 0 || !isnan(s->v[out]) || isnan(load) || !(nom > 0))
        return;
    s->v[out] = load / 100.0 * nom;
    s->estimated |= 1u << out;
    if (s->stale & (1u << USBHID_Q_LOAD))
        s->stale |= 1u << out;
    if (s->how[0] == '\0')
        snprintf(s->how, sizeof s->how, "load %.1f %% x nominal %.0f %s (%s)", load, nom, unit,
                 cfg > 0 ? "config" : "device");
}

int usbhid_decode(const usbhid_desc_t *d, const usbhid_binding_t *b, const usbhid_report_t *reps,
                  size_t n, const usbhid_rating_t *rating, usbhid_sample_t *out)
{
    int known = 0;
    double cfg_w = rating ? rating->nominal_w : 0, cfg_va = rating ? rating->nominal_va : 0;
    double t = out->t;
    memset(out, 0, sizeof *out);
    out->t = t;
    for (int q = 0; q < USBHID_Q_COUNT_; q++) {
        const usbhid_source_t *s = &b->q[q];
        out->v[q] = NAN;
        if (s->field < 0)
            continue;
        const usbhid_field_t *f0 = usbhid_desc_field(d, (size_t)s->field);
        const usbhid_report_t *r = report_for(d, f0, reps, n);
        if (!r && s->twin >= 0) {
            f0 = usbhid_desc_field(d, (size_t)s->twin);
            r = report_for(d, f0, reps, n);
        }
        int64_t raw;
        if (!r || usbhid_field_raw(f0, r->data, r->len, &raw) < 0) {
            out->stale |= 1u << q;
            continue;
        }
        usbhid_field_t f = *f0;
        if (s->lmin < s->lmax) {
            f.logical_min = s->lmin;
            f.logical_max = s->lmax;
        }
        out->v[q] = usbhid_field_value(&f, raw, s->exp_override) * s->scale;
        if (r->stale)
            out->stale |= 1u << q;
    }
    if (cfg_w > 0 && isnan(out->v[USBHID_Q_NOMINAL_W]))
        out->v[USBHID_Q_NOMINAL_W] = cfg_w;
    if (cfg_va > 0 && isnan(out->v[USBHID_Q_NOMINAL_VA]))
        out->v[USBHID_Q_NOMINAL_VA] = cfg_va;
    estimate(b, out, USBHID_Q_POWER_W, USBHID_Q_NOMINAL_W, cfg_w, "W");
    estimate(b, out, USBHID_Q_POWER_VA, USBHID_Q_NOMINAL_VA, cfg_va, "VA");
    for (int q = 0; q < USBHID_Q_COUNT_; q++)
        known += !isnan(out->v[q]);
    return known;
}
