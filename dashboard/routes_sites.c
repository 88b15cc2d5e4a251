/* /api/sites, /api/channels and /api/factors, and the JSON pieces the other routes share. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "dashboard/dash-private.h"

cJSON *rj_num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

int rj_time_arg(dash_req_t *r, const char *name, const char *tz, int64_t *out)
{
    const char *v = dr_arg(r, name);
    if (!v)
        return 0;
    /* Unix seconds or ISO 8601 (common.h wa_time_parse), within years 2000..2100. */
    if (wa_time_parse(v, tz, out) < 0 || *out < 946684800 || *out > 4102444800)
        return -1;
    return 1;
}

static void add_savings(cJSON *o, const an_savings_t *s, int cost)
{
    cJSON *j = cJSON_AddObjectToObject(o, "savings");
    cJSON_AddItemToObject(j, "kwh_per_day", rj_num(s->kwh_per_day));
    cJSON_AddItemToObject(j, "kgce_per_day", rj_num(s->kgce_per_day));
    cJSON_AddItemToObject(j, "tce_per_year", rj_num(s->tce_per_year));
    cJSON_AddItemToObject(j, "tco2_per_year", rj_num(s->tco2_per_year));
    if (cost)
        cJSON_AddItemToObject(j, "cost_per_year", rj_num(s->cost_per_year));
}

static cJSON *factors_json(const an_factors_t *f)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", f->name);
    cJSON_AddItemToObject(j, "kgce_per_kwh", rj_num(f->kgce_per_kwh));
    cJSON_AddItemToObject(j, "kgco2_per_kwh", rj_num(f->kgco2_per_kwh));
    if (f->tariff_per_kwh > 0) {
        cJSON_AddItemToObject(j, "tariff_per_kwh", rj_num(f->tariff_per_kwh));
        cJSON_AddStringToObject(j, "currency", f->currency);
    }
    cJSON_AddStringToObject(j, "source", f->source);
    return j;
}

cJSON *rj_channel(const an_channel_result_t *c)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", c->id);
    cJSON_AddStringToObject(j, "name", c->name);
    cJSON_AddStringToObject(j, "role", an_role_name(c->role));
    cJSON_AddBoolToObject(j, "counted", c->counted);
    cJSON_AddItemToObject(j, "kwh",
                          rj_num(c->energy.method == AN_ENERGY_NONE ? NAN : c->energy.kwh));
    cJSON_AddStringToObject(j, "method", an_energy_method_name(c->energy.method));
    cJSON_AddItemToObject(j, "mean_w", rj_num(c->energy.mean_w));
    cJSON_AddItemToObject(j, "coverage", rj_num(c->energy.coverage));
    cJSON_AddItemToObject(j, "power_coverage", rj_num(c->energy.power_coverage));
    cJSON_AddNumberToObject(j, "gaps", (double)c->energy.n_gaps);
    cJSON_AddNumberToObject(j, "step", c->step);
    cJSON_AddNumberToObject(j, "from", (double)c->from);
    cJSON_AddNumberToObject(j, "data_end", (double)c->data_end);
    cJSON_AddItemToObject(j, "excess_kwh", rj_num(c->excess_kwh));
    cJSON_AddNumberToObject(j, "findings", (double)c->ch.n_findings);
    cJSON_AddBoolToObject(j, "analyzed", c->analyzed);
    cJSON_AddStringToObject(j, "note", c->note);
    /* Hosts drawing from it (docs/correlate.md): its page then shows power against their
     * compute load. */
    cJSON_AddNumberToObject(j, "hosts", c->corr ? (double)c->corr->n_hosts : 0);
    cJSON_AddBoolToObject(j, "fitted", c->corr && c->corr->fitted);
    if (c->analyzed) {
        const an_shape_t *s = &c->ch.shape;
        cJSON *sh = cJSON_AddObjectToObject(j, "shape");
        cJSON_AddItemToObject(sh, "mean_w", rj_num(s->mean_w));
        cJSON_AddItemToObject(sh, "near_base_w", rj_num(s->near_base_w));
        cJSON_AddItemToObject(sh, "near_peak_w", rj_num(s->near_peak_w));
        cJSON_AddItemToObject(sh, "load_factor", rj_num(s->load_factor));
        cJSON_AddItemToObject(sh, "night_day_ratio", rj_num(s->night_day_ratio));
        cJSON_AddItemToObject(sh, "weekend_weekday_ratio", rj_num(s->weekend_weekday_ratio));
        cJSON_AddItemToObject(sh, "robust_sd", rj_num(s->robust_sd));
    }
    return j;
}

cJSON *rj_class(an_class_t c)
{
    return c == AN_CLASS_NONE ? cJSON_CreateNull() : cJSON_CreateString(an_class_name(c));
}

static cJSON *evidence_json(const dd_view_t *v)
{
    cJSON *ev = cJSON_CreateArray();
    for (size_t i = 0; i < v->n_evidence; i++) {
        const an_evidence_t *e = &v->evidence[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", e->name);
        cJSON_AddItemToObject(x, "value", rj_num(e->value));
        cJSON_AddItemToObject(x, "threshold", rj_num(e->threshold));
        cJSON_AddStringToObject(x, "op", e->op);
        cJSON_AddBoolToObject(x, "passed", e->passed);
        cJSON_AddItemToArray(ev, x);
    }
    return ev;
}

/* The residual of power against compute load, as far as the finding's channel has one: the
 * circuit's mean residual after the fit's reference period (docs/dashboard.md, "Residual
 * against compute load").  The series itself is /api/compute's. */
static void residual_json(cJSON *j, const an_channel_result_t *c)
{
    const an_corr_t *a = c->corr;
    if (!a) {
        cJSON_AddNullToObject(j, "residual_w");
        cJSON_AddStringToObject(j, "residual_code", "no_hosts");
        cJSON_AddStringToObject(j, "residual_note",
                                "no host of the inventory draws from this "
                                "channel");
    } else if (!a->fitted) {
        cJSON_AddNullToObject(j, "residual_w");
        cJSON_AddStringToObject(j, "residual_code", "not_fitted");
        cJSON_AddStringToObject(j, "residual_note", a->note);
    } else {
        cJSON_AddItemToObject(j, "residual_w", rj_num(a->resid_mean_w));
        cJSON_AddStringToObject(j, "residual_code", "fitted");
        cJSON_AddStringToObject(j, "residual_note", "mean residual after the reference period");
    }
}

cJSON *rj_finding(const dd_snap_t *s, const dd_finding_ref_t *ref, int detail)
{
    dd_view_t v;
    dd_view(s, ref, &v);
    const an_site_result_t *site = v.site;
    const an_channel_result_t *c = v.channel;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", ref->id);
    cJSON_AddStringToObject(j, "site", site->id);
    cJSON_AddStringToObject(j, "site_name", site->name);
    cJSON_AddStringToObject(j, "tz", site->tz);
    cJSON_AddStringToObject(j, "channel", c->id);
    cJSON_AddStringToObject(j, "channel_name", c->name);
    cJSON_AddStringToObject(j, "source", v.corr ? "correlation" : "power");
    cJSON_AddStringToObject(j, "kind", v.kind);
    /* "class" is the rig kind, as before load classes existed (docs/api.md); the class of the
     * load (deliberate, passive, research) is "load_class". */
    cJSON_AddStringToObject(j, "class", v.units);
    cJSON_AddItemToObject(j, "load_class", rj_class(v.cls));
    if (v.cls != AN_CLASS_NONE)
        cJSON_AddStringToObject(j, "load_class_why", v.why);
    else
        cJSON_AddNullToObject(j, "load_class_why");
    if (v.cf && v.cf->host[0])
        cJSON_AddStringToObject(j, "host", v.cf->host);
    else
        cJSON_AddNullToObject(j, "host");
    cJSON_AddNumberToObject(j, "onset", (double)v.onset);
    if (v.power)
        cJSON_AddNumberToObject(j, "end", (double)v.power->end);
    else
        cJSON_AddNullToObject(j, "end");
    if (v.active < 0)
        cJSON_AddNullToObject(j, "active");
    else
        cJSON_AddBoolToObject(j, "active", v.active);
    cJSON_AddItemToObject(j, "step_w", rj_num(v.w));
    cJSON_AddItemToObject(j, "step_lo_w", rj_num(v.w_lo));
    cJSON_AddItemToObject(j, "step_hi_w", rj_num(v.w_hi));
    cJSON *rigs = cJSON_AddObjectToObject(j, "rigs");
    cJSON_AddStringToObject(rigs, "kind", v.units);
    cJSON_AddNumberToObject(rigs, "min", v.count_min);
    cJSON_AddNumberToObject(rigs, "max", v.count_max);
    cJSON_AddItemToObject(j, "excess_kwh", rj_num(v.excess_kwh));
    cJSON_AddItemToObject(j, "score", rj_num(v.score));
    if (v.explained_by[0])
        cJSON_AddStringToObject(j, "explained_by", v.explained_by);
    else
        cJSON_AddNullToObject(j, "explained_by");
    if (!detail)
        return j;
    cJSON_AddItemToObject(j, "evidence", evidence_json(&v));
    cJSON_AddItemToObject(j, "channel_detail", rj_channel(c));
    cJSON_AddItemToObject(j, "correlation", rj_corr(site, c));
    residual_json(j, c);
    return j;
}

static void count(cJSON *into, const char *key)
{
    cJSON *n = cJSON_GetObjectItemCaseSensitive(into, key);
    if (n)
        cJSON_SetNumberValue(n, n->valuedouble + 1);
    else
        cJSON_AddNumberToObject(into, key, 1);
}

/* Findings of both layers by kind, by rig kind ("class") and by load class. */
static cJSON *findings_summary(const dd_snap_t *snap, size_t si)
{
    cJSON *j = cJSON_CreateObject(), *kinds = cJSON_CreateObject(), *classes = cJSON_CreateObject();
    cJSON *load = cJSON_CreateObject();
    int total = 0, unexplained = 0, active = 0;
    for (size_t i = 0; i < snap->n_findings; i++) {
        if (snap->findings[i].site != si)
            continue;
        dd_view_t v;
        dd_view(snap, &snap->findings[i], &v);
        total++;
        unexplained += v.explained_by[0] == '\0';
        active += v.explained_by[0] == '\0' && v.active == 1;
        count(kinds, v.kind);
        count(classes, v.units[0] ? v.units : "unknown");
        count(load, v.cls != AN_CLASS_NONE ? an_class_name(v.cls) : "none");
    }
    cJSON_AddNumberToObject(j, "total", total);
    cJSON_AddNumberToObject(j, "unexplained", unexplained);
    cJSON_AddNumberToObject(j, "active", active);
    cJSON_AddItemToObject(j, "by_kind", kinds);
    cJSON_AddItemToObject(j, "by_class", classes);
    cJSON_AddItemToObject(j, "by_load_class", load);
    return j;
}

enum MHD_Result rt_sites(dash_req_t *r)
{
    /* The overview is the same for everyone until the analysis or the status file changes:
     * served from the response cache, keyed by both. */
    char key[96], stamp[48];
    size_t len;
    dd_snap_t *s = dd_acquire(r->d->data);
    dd_status_stamp(r->d->data, stamp, sizeof stamp);
    snprintf(key, sizeof key, "sites|%llu|%s", (unsigned long long)s->gen, stamp);
    char *cached = dd_cache_get(r->d->data, key, 0, &len);
    if (cached) {
        dd_release(r->d->data, s);
        return dr_send_owned(r, 200, "application/json; charset=utf-8", cached, len, NULL);
    }
    cJSON *health = dd_health(r->d->data);
    cJSON *hsites = health ? cJSON_DetachItemFromObjectCaseSensitive(health, "sites") : NULL;
    int cost = s->r.factors.tariff_per_kwh > 0;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "computed", (double)s->computed);
    cJSON_AddNumberToObject(j, "from", (double)s->r.from);
    cJSON_AddNumberToObject(j, "to", (double)s->r.to);
    cJSON_AddItemToObject(j, "factors", factors_json(&s->r.factors));
    cJSON *arr = cJSON_AddArrayToObject(j, "sites");
    for (size_t i = 0; i < s->r.n_sites; i++) {
        const an_site_result_t *site = &s->r.sites[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "site", site->id);
        cJSON_AddStringToObject(x, "name", site->name);
        cJSON_AddStringToObject(x, "tz", site->tz);
        cJSON_AddNumberToObject(x, "from", (double)site->from);
        cJSON_AddNumberToObject(x, "to", (double)site->to);
        cJSON_AddItemToObject(x, "days", rj_num(site->days));
        cJSON_AddItemToObject(x, "kwh", rj_num(site->kwh));
        cJSON_AddItemToObject(x, "excess_kwh", rj_num(site->excess_kwh));
        cJSON_AddItemToObject(x, "kgce", rj_num(site->kgce));
        cJSON_AddItemToObject(x, "kgco2", rj_num(site->kgco2));
        if (cost)
            cJSON_AddItemToObject(x, "cost", rj_num(site->cost));
        add_savings(x, &site->savings, cost);
        cJSON_AddNumberToObject(x, "channels", (double)site->n_channels);
        cJSON_AddItemToObject(x, "findings", findings_summary(s, i));
        cJSON_AddNumberToObject(x, "hosts", (double)site->n_hosts);
        cJSON_AddNumberToObject(x, "flagged", (double)site->n_flagged);
        cJSON *h = hsites ? cJSON_DetachItemFromObjectCaseSensitive(hsites, site->id) : NULL;
        cJSON_AddItemToObject(x, "health", h ? h : cJSON_CreateNull());
        cJSON_AddItemToArray(arr, x);
    }
    cJSON *t = cJSON_AddObjectToObject(j, "total");
    cJSON_AddItemToObject(t, "kwh", rj_num(s->r.kwh));
    cJSON_AddItemToObject(t, "excess_kwh", rj_num(s->r.excess_kwh));
    cJSON_AddItemToObject(t, "kgce", rj_num(s->r.kgce));
    cJSON_AddItemToObject(t, "kgco2", rj_num(s->r.kgco2));
    add_savings(t, &s->r.savings, cost);
    cJSON_AddItemToObject(j, "collector", health ? health : cJSON_CreateNull());
    cJSON_AddNumberToObject(j, "skipped_files", (double)s->r.n_skipped);
    cJSON_Delete(hsites);
    dd_release(r->d->data, s);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return dr_error(r, 500, I18N_INTERNAL, "memory");
    dd_cache_put(r->d->data, key, 0, text, strlen(text));
    return dr_send_owned(r, 200, "application/json; charset=utf-8", text, strlen(text), NULL);
}

enum MHD_Result rt_channels(dash_req_t *r)
{
    const char *site = dr_arg(r, "site");
    if (site && !dp_is_id(site))
        return dr_error(r, 400, I18N_BAD_PARAM, "site");
    dd_snap_t *s = dd_acquire(r->d->data);
    int found = 0;
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "channels");
    for (size_t i = 0; i < s->r.n_sites; i++) {
        if (site && strcmp(site, s->r.sites[i].id) != 0)
            continue;
        found = 1;
        for (size_t c = 0; c < s->r.sites[i].n_channels; c++) {
            cJSON *x = rj_channel(&s->r.sites[i].channels[c]);
            cJSON_AddStringToObject(x, "site", s->r.sites[i].id);
            cJSON_AddStringToObject(x, "tz", s->r.sites[i].tz);
            cJSON_AddItemToArray(arr, x);
        }
    }
    dd_release(r->d->data, s);
    if (site && !found) {
        cJSON_Delete(j);
        return dr_error(r, 404, I18N_NO_SUCH_SITE, site);
    }
    return dr_json(r, 200, j);
}

enum MHD_Result rt_factors(dash_req_t *r)
{
    size_t n;
    const an_factors_t *p = an_factors_presets(&n);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "default", dd_default_factors(r->d->data));
    cJSON *arr = cJSON_AddArrayToObject(j, "presets");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, factors_json(&p[i]));
    return dr_json(r, 200, j);
}
