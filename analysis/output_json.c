/*
 * The JSON document (docs/analysis-json.md, schema "wattaudit.analysis/1", version in
 * AN_JSON_SCHEMA_VERSION).  Times are Unix
 * seconds; unknown numbers are null, never 0.
 */
#include "analysis/site-private.h"

#include "common/common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* cJSON prints NaN as null already; this keeps that promise explicit for every number. */
static void num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static cJSON *savings_json(const an_savings_t *s, int with_cost)
{
    cJSON *o = cJSON_CreateObject();
    num(o, "kwh_per_day", s->kwh_per_day);
    num(o, "kgce_per_day", s->kgce_per_day);
    num(o, "tce_per_year", s->tce_per_year);
    num(o, "tco2_per_year", s->tco2_per_year);
    if (with_cost)
        num(o, "cost_per_year", s->cost_per_year);
    return o;
}

static cJSON *evidence_json(const an_evidence_t *ev, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n && i < AN_EVIDENCE_MAX; i++) {
        const an_evidence_t *e = &ev[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", e->name);
        num(x, "value", e->value);
        num(x, "threshold", e->threshold);
        cJSON_AddStringToObject(x, "op", e->op);
        cJSON_AddBoolToObject(x, "passed", e->passed);
        cJSON_AddItemToArray(a, x);
    }
    return a;
}

/* "class" and "class_why"; null for a finding not classed. */
static void class_json(cJSON *o, an_class_t c, const char *why)
{
    if (c == AN_CLASS_NONE) {
        cJSON_AddNullToObject(o, "class");
        cJSON_AddNullToObject(o, "class_why");
        return;
    }
    cJSON_AddStringToObject(o, "class", an_class_name(c));
    cJSON_AddStringToObject(o, "class_why", why);
}

static cJSON *finding_json(const an_channel_result_t *c, const an_finding_t *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", an_kind_name(f->kind));
    num(o, "onset", (double)f->onset);
    num(o, "end", (double)f->end);
    cJSON_AddBoolToObject(o, "active", an_finding_active(c, f));
    num(o, "step_w", f->step_w);
    num(o, "step_lo_w", f->step_lo);
    num(o, "step_hi_w", f->step_hi);
    cJSON *rigs = cJSON_AddObjectToObject(o, "rigs");
    cJSON_AddStringToObject(rigs, "kind", f->rig_kind);
    cJSON_AddNumberToObject(rigs, "min", f->rigs_min);
    cJSON_AddNumberToObject(rigs, "max", f->rigs_max);
    cJSON_AddStringToObject(rigs, "basis", an_rig_basis_name(f->rig_basis));
    cJSON *fits = cJSON_AddArrayToObject(rigs, "fits");
    for (size_t i = 0; i < f->n_rig_fits && i < AN_RIG_FITS_MAX; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "kind", f->rig_fits[i].kind);
        cJSON_AddNumberToObject(x, "min", f->rig_fits[i].min);
        cJSON_AddNumberToObject(x, "max", f->rig_fits[i].max);
        cJSON_AddItemToArray(fits, x);
    }
    num(o, "excess_kwh", f->excess_kwh);
    num(o, "score", f->score);
    if (f->explained_by[0])
        cJSON_AddStringToObject(o, "explained_by", f->explained_by);
    else
        cJSON_AddNullToObject(o, "explained_by");
    cJSON_AddBoolToObject(o, "estimated", f->estimated);
    if (f->estimated)
        cJSON_AddStringToObject(o, "estimated_how", f->estimated_how);
    cJSON_AddItemToObject(o, "evidence", evidence_json(f->evidence, f->n_evidence));
    class_json(o, f->cls, f->cls_why);
    return o;
}

/* ---- correlation with the hosts (docs/correlate.md) ---- */

static cJSON *corr_finding_json(const an_corr_finding_t *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", an_corr_kind_name(f->kind));
    class_json(o, f->cls, f->why);
    if (f->host[0])
        cJSON_AddStringToObject(o, "host", f->host);
    else
        cJSON_AddNullToObject(o, "host");
    num(o, "onset", (double)f->onset);
    num(o, "w", f->w);
    cJSON_AddNumberToObject(o, "count_min", f->count_min);
    cJSON_AddNumberToObject(o, "count_max", f->count_max);
    if (f->explained_by[0])
        cJSON_AddStringToObject(o, "explained_by", f->explained_by);
    else
        cJSON_AddNullToObject(o, "explained_by");
    cJSON_AddItemToObject(o, "evidence", evidence_json(f->evidence, f->n_evidence));
    return o;
}

static cJSON *corr_json(const an_corr_t *c)
{
    if (!c)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "fitted", c->fitted);
    if (c->note[0])
        cJSON_AddStringToObject(o, "note", c->note);
    num(o, "ref_from", (double)c->ref_from);
    num(o, "ref_to", (double)c->ref_to);
    num(o, "idle_w", c->fitted ? c->idle_w : NAN);
    num(o, "r2", c->fitted ? c->r2 : NAN);
    num(o, "resid_sd_w", c->fitted ? c->resid_sd_w : NAN);
    num(o, "resid_mean_w", c->fitted ? c->resid_mean_w : NAN);
    num(o, "pearson", c->fitted ? c->pearson : NAN);
    num(o, "spearman", c->fitted ? c->spearman : NAN);
    num(o, "best_lag_s", c->fitted ? (double)c->best_lag_s : NAN);
    num(o, "best_lag_r", c->fitted ? c->best_lag_r : NAN);
    cJSON *hs = cJSON_AddArrayToObject(o, "hosts");
    for (size_t i = 0; i < c->n_hosts; i++) {
        const an_corr_host_t *h = &c->hosts[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", h->id);
        num(x, "slope_w", c->fitted ? h->slope_w : NAN);
        cJSON_AddBoolToObject(x, "slope_fitted", c->fitted && h->slope_fitted);
        num(x, "mean_util", h->mean_util);
        num(x, "coverage", h->coverage);
        cJSON_AddItemToArray(hs, x);
    }
    cJSON *fs = cJSON_AddArrayToObject(o, "findings");
    for (size_t i = 0; i < c->n_findings; i++)
        cJSON_AddItemToArray(fs, corr_finding_json(&c->findings[i]));
    return o;
}

static cJSON *host_json(const an_host_t *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", h->id);
    cJSON_AddStringToObject(o, "role", h->role);
    if (h->channel[0])
        cJSON_AddStringToObject(o, "channel", h->channel);
    else
        cJSON_AddNullToObject(o, "channel");
    cJSON *ips = cJSON_AddArrayToObject(o, "ips");
    for (size_t i = 0; i < h->n_ips && i < SC_HOST_IPS_MAX; i++)
        cJSON_AddItemToArray(ips, cJSON_CreateString(h->ips[i]));
    cJSON_AddStringToObject(o, "file", h->file);
    cJSON_AddBoolToObject(o, "read", h->read);
    cJSON_AddStringToObject(o, "source", h->source);
    num(o, "mean_util", h->mean_util);
    num(o, "coverage", h->coverage);
    if (h->note[0])
        cJSON_AddStringToObject(o, "note", h->note);
    return o;
}

/* A flagged address: where it maps, every finding on its circuit, and the answer. */
static cJSON *flagged_json(const an_site_result_t *s, const an_flagged_ip_t *ip)
{
    an_ip_answer_t a;
    cJSON *o = cJSON_CreateObject();
    an_ip_answer(s, ip, &a);
    cJSON_AddStringToObject(o, "ip", ip->ip);
    num(o, "seen", (double)ip->seen);
    cJSON_AddBoolToObject(o, "mapped", ip->host[0] != '\0');
    if (ip->host[0]) {
        cJSON_AddStringToObject(o, "host", ip->host);
        cJSON_AddStringToObject(o, "role", a.host ? a.host->role : "");
    } else {
        cJSON_AddNullToObject(o, "host");
        cJSON_AddNullToObject(o, "role");
    }
    if (ip->channel[0])
        cJSON_AddStringToObject(o, "channel", ip->channel);
    else
        cJSON_AddNullToObject(o, "channel");
    cJSON *ans = cJSON_AddObjectToObject(o, "answer");
    if (a.cls != AN_CLASS_NONE)
        cJSON_AddStringToObject(ans, "class", an_class_name(a.cls));
    else
        cJSON_AddNullToObject(ans, "class");
    cJSON_AddStringToObject(ans, "why", a.why);
    cJSON_AddStringToObject(ans, "kind", a.kind);
    num(ans, "since", a.since ? (double)a.since : NAN);
    num(ans, "w", a.w);
    cJSON_AddNumberToObject(ans, "count_min", a.count_min);
    cJSON_AddNumberToObject(ans, "count_max", a.count_max);
    cJSON *fs = cJSON_AddArrayToObject(o, "findings");
    const an_channel_result_t *c = a.channel;
    for (size_t i = 0; c && c->corr && i < c->corr->n_findings; i++) {
        const an_corr_finding_t *f = &c->corr->findings[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "source", "correlation");
        cJSON_AddStringToObject(x, "kind", an_corr_kind_name(f->kind));
        cJSON_AddStringToObject(x, "class", an_class_name(f->cls));
        if (f->host[0])
            cJSON_AddStringToObject(x, "host", f->host);
        else
            cJSON_AddNullToObject(x, "host");
        num(x, "onset", (double)f->onset);
        num(x, "w", f->w);
        cJSON_AddNumberToObject(x, "count_min", f->count_min);
        cJSON_AddNumberToObject(x, "count_max", f->count_max);
        cJSON_AddItemToArray(fs, x);
    }
    for (size_t i = 0; c && i < c->ch.n_findings; i++) {
        const an_finding_t *f = &c->ch.findings[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "source", "power");
        cJSON_AddStringToObject(x, "kind", an_kind_name(f->kind));
        cJSON_AddStringToObject(x, "class", an_class_name(f->cls));
        cJSON_AddNullToObject(x, "host");
        num(x, "onset", (double)f->onset);
        num(x, "w", f->step_w);
        cJSON_AddNumberToObject(x, "count_min", f->rigs_min);
        cJSON_AddNumberToObject(x, "count_max", f->rigs_max);
        if (f->explained_by[0])
            cJSON_AddStringToObject(x, "explained_by", f->explained_by);
        cJSON_AddItemToArray(fs, x);
    }
    return o;
}

static cJSON *channel_json(const an_channel_result_t *c, int64_t to)
{
    const an_energy_t *en = &c->energy;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "role", an_role_name(c->role));
    cJSON_AddBoolToObject(o, "counted", c->counted);
    if (c->role == AN_ROLE_TOTAL)
        cJSON_AddBoolToObject(o, "parts_cover", c->parts_cover);
    num(o, "kwh", en->kwh);
    cJSON_AddStringToObject(o, "method", an_energy_method_name(en->method));
    num(o, "kwh_integrated", en->kwh_integrated);
    num(o, "kwh_register", en->kwh_register);
    if (en->method == AN_ENERGY_REGISTER) {
        num(o, "register_from", (double)en->register_from);
        num(o, "register_to", (double)en->register_to);
    }
    num(o, "mean_w", en->mean_w);
    num(o, "coverage", en->coverage);
    num(o, "power_coverage", en->power_coverage);
    num(o, "from", (double)c->from);
    cJSON_AddNumberToObject(o, "step", c->step);
    cJSON_AddStringToObject(o, "power_values", c->polled ? "readings" : "means");
    cJSON_AddNumberToObject(o, "steps", (double)en->n_steps);
    cJSON *g = cJSON_AddObjectToObject(o, "gaps");
    cJSON_AddNumberToObject(g, "count", (double)en->n_gaps);
    num(g, "hours", en->gap_hours);
    num(g, "unbridged_hours", en->unbridged_gap_hours);
    cJSON *list = cJSON_AddArrayToObject(g, "list");
    for (size_t i = 0; i < en->n_gaps && i < AN_GAPS_LISTED; i++) {
        cJSON *x = cJSON_CreateObject();
        num(x, "from", (double)en->gaps[i].from);
        num(x, "to", (double)en->gaps[i].to);
        cJSON_AddBoolToObject(x, "bridged", en->gaps[i].bridged);
        cJSON_AddStringToObject(x, "at", an_gap_position(c, to, &en->gaps[i]));
        cJSON_AddItemToArray(list, x);
    }
    cJSON_AddBoolToObject(g, "truncated", en->n_gaps > AN_GAPS_LISTED);
    num(o, "excess_kwh", c->excess_kwh);
    num(o, "active_kwh_per_day", c->active_kwh_per_day);
    cJSON_AddBoolToObject(o, "analyzed", c->analyzed);
    if (c->note[0])
        cJSON_AddStringToObject(o, "note", c->note);
    if (c->analyzed) {
        const an_shape_t *s = &c->ch.shape;
        cJSON *sh = cJSON_AddObjectToObject(o, "shape");
        num(sh, "mean_w", s->mean_w);
        num(sh, "near_base_w", s->near_base_w);
        num(sh, "near_peak_w", s->near_peak_w);
        num(sh, "base_to_peak", s->base_to_peak);
        num(sh, "load_factor", s->load_factor);
        num(sh, "night_day_ratio", s->night_day_ratio);
        num(sh, "weekend_weekday_ratio", s->weekend_weekday_ratio);
        num(sh, "daily_amplitude", s->daily_amplitude);
        num(sh, "weekly_amplitude", s->weekly_amplitude);
        num(sh, "robust_sd", s->robust_sd);
        num(sh, "days_present", s->days_present);
    }
    cJSON *fa = cJSON_AddArrayToObject(o, "findings");
    for (size_t i = 0; i < c->ch.n_findings; i++)
        cJSON_AddItemToArray(fa, finding_json(c, &c->ch.findings[i]));
    cJSON_AddItemToObject(o, "correlation", corr_json(c->corr));
    return o;
}

cJSON *an_result_json(const an_result_t *r)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    int cost = r->factors.tariff_per_kwh > 0;
    cJSON_AddStringToObject(root, "schema", AN_JSON_SCHEMA);
    cJSON_AddStringToObject(root, "schema_version", AN_JSON_SCHEMA_VERSION);
    num(root, "from", (double)r->from);
    num(root, "to", (double)r->to);
    cJSON *f = cJSON_AddObjectToObject(root, "factors");
    cJSON_AddStringToObject(f, "name", r->factors.name);
    num(f, "kgce_per_kwh", r->factors.kgce_per_kwh);
    num(f, "kgco2_per_kwh", r->factors.kgco2_per_kwh);
    if (cost) {
        num(f, "tariff_per_kwh", r->factors.tariff_per_kwh);
        cJSON_AddStringToObject(f, "currency", r->factors.currency);
    }
    cJSON_AddStringToObject(f, "source", r->factors.source);
    cJSON *sites = cJSON_AddArrayToObject(root, "sites");
    for (size_t s = 0; s < r->n_sites; s++) {
        const an_site_result_t *site = &r->sites[s];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "site", site->id);
        cJSON_AddStringToObject(o, "name", site->name);
        cJSON_AddStringToObject(o, "tz", site->tz);
        num(o, "from", (double)site->from);
        num(o, "to", (double)site->to);
        num(o, "days", site->days);
        num(o, "kwh", site->kwh);
        num(o, "excess_kwh", site->excess_kwh);
        num(o, "kgce", site->kgce);
        num(o, "kgco2", site->kgco2);
        if (cost)
            num(o, "cost", site->cost);
        cJSON_AddItemToObject(o, "savings", savings_json(&site->savings, cost));
        cJSON *chs = cJSON_AddArrayToObject(o, "channels");
        for (size_t i = 0; i < site->n_channels; i++)
            cJSON_AddItemToArray(chs, channel_json(&site->channels[i], site->to));
        cJSON *hs = cJSON_AddArrayToObject(o, "hosts");
        for (size_t i = 0; i < site->n_hosts; i++)
            cJSON_AddItemToArray(hs, host_json(&site->hosts[i]));
        cJSON_AddNumberToObject(o, "jobs", (double)site->n_jobs);
        cJSON *fl = cJSON_AddArrayToObject(o, "flagged_ips");
        for (size_t i = 0; i < site->n_flagged; i++)
            cJSON_AddItemToArray(fl, flagged_json(site, &site->flagged[i]));
        cJSON_AddItemToArray(sites, o);
    }
    cJSON *t = cJSON_AddObjectToObject(root, "total");
    num(t, "kwh", r->kwh);
    num(t, "excess_kwh", r->excess_kwh);
    num(t, "kgce", r->kgce);
    num(t, "kgco2", r->kgco2);
    if (cost)
        num(t, "cost", r->cost);
    cJSON_AddItemToObject(t, "savings", savings_json(&r->savings, cost));
    cJSON_AddNumberToObject(root, "skipped_files", (double)r->n_skipped);
    return root;
}

int an_output_json(const an_result_t *r, FILE *out, char *err, size_t errlen)
{
    cJSON *root = an_result_json(r);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        errno = ENOMEM;
        return wa_err(err, errlen, "out of memory writing JSON");
    }
    int bad = fputs(text, out) < 0 || fputc('\n', out) == EOF || fflush(out) != 0;
    free(text);
    if (bad) {
        errno = EIO;
        return wa_err(err, errlen, "cannot write the JSON output");
    }
    return 0;
}
