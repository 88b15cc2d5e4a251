/* /api/compute: a circuit's measured power against the power its hosts' compute load explains,
 * and the residual, over a window, as the charts draw them (docs/dashboard.md, "Power against
 * compute load").
 *
 * The analyzer publishes the fit (an_corr_t: idle, a slope per host) but not the series, so
 * they are computed here from the same files and the same model (docs/correlate.md): power
 * from the channel's file, each host's utilisation max(cpu, gpu) clamped to 0..1 from
 * DATA/<site>/hosts/<host>.rrd, both through storage_fetch, and
 *     explained(t) = idle + sum over hosts of slope x utilisation(t),
 *     residual(t)  = power(t) - explained(t),
 * where a host whose utilisation is unknown at t adds nothing, as in the fit.  The window's
 * values are grouped as /api/series groups them (mean and extremes of each group).  Responses
 * are cached until the analysis or one of the files changes. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "dashboard/dash-private.h"
#include "storage/storage.h"

/* docs/correlate.md, "Findings": a residual is reported above max(100 W, 6 x the reference
 * residual's scale); the same line is drawn on the residual chart. */
#define RESID_MIN_W 100.0
#define RESID_SCALES 6.0

static const an_host_t *site_host(const an_site_result_t *s, const char *id)
{
    for (size_t i = 0; i < s->n_hosts; i++)
        if (strcmp(s->hosts[i].id, id) == 0)
            return &s->hosts[i];
    return NULL;
}

/* The residual finding's own threshold where there is one, else the documented rule. */
static double threshold_w(const an_corr_t *a)
{
    for (size_t i = 0; i < a->n_findings; i++)
        if (a->findings[i].kind == AN_CORR_RESIDUAL)
            for (size_t k = 0; k < a->findings[i].n_evidence && k < AN_EVIDENCE_MAX; k++)
                if (strcmp(a->findings[i].evidence[k].name, "threshold_w") == 0)
                    return a->findings[i].evidence[k].value;
    return a->fitted ? fmax(RESID_MIN_W, RESID_SCALES * a->resid_sd_w) : NAN;
}

cJSON *rj_corr(const an_site_result_t *site, const an_channel_result_t *c)
{
    const an_corr_t *a = c->corr;
    if (!a)
        return cJSON_CreateNull();
    double nan = NAN;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "fitted", a->fitted);
    cJSON_AddStringToObject(j, "note", a->note);
    cJSON_AddNumberToObject(j, "ref_from", (double)a->ref_from);
    cJSON_AddNumberToObject(j, "ref_to", (double)a->ref_to);
    cJSON_AddItemToObject(j, "idle_w", rj_num(a->fitted ? a->idle_w : nan));
    cJSON_AddItemToObject(j, "r2", rj_num(a->fitted ? a->r2 : nan));
    cJSON_AddItemToObject(j, "resid_sd_w", rj_num(a->fitted ? a->resid_sd_w : nan));
    cJSON_AddItemToObject(j, "resid_mean_w", rj_num(a->fitted ? a->resid_mean_w : nan));
    cJSON_AddItemToObject(j, "pearson", rj_num(a->fitted ? a->pearson : nan));
    cJSON_AddItemToObject(j, "spearman", rj_num(a->fitted ? a->spearman : nan));
    cJSON_AddItemToObject(j, "best_lag_s", rj_num(a->fitted ? (double)a->best_lag_s : nan));
    cJSON_AddItemToObject(j, "best_lag_r", rj_num(a->fitted ? a->best_lag_r : nan));
    cJSON_AddItemToObject(j, "threshold_w", rj_num(threshold_w(a)));
    cJSON *hs = cJSON_AddArrayToObject(j, "hosts");
    for (size_t k = 0; k < a->n_hosts; k++) {
        const an_corr_host_t *h = &a->hosts[k];
        const an_host_t *sh = site_host(site, h->id);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", h->id);
        cJSON_AddStringToObject(x, "role", sh ? sh->role : "");
        cJSON_AddItemToObject(x, "slope_w", rj_num(a->fitted ? h->slope_w : nan));
        cJSON_AddBoolToObject(x, "slope_fitted", a->fitted && h->slope_fitted);
        cJSON_AddItemToObject(x, "mean_util", rj_num(h->mean_util));
        cJSON_AddItemToObject(x, "coverage", rj_num(h->coverage));
        cJSON_AddStringToObject(x, "source", sh ? sh->source : "");
        cJSON_AddBoolToObject(x, "read", sh && sh->read);
        cJSON_AddStringToObject(x, "note", sh ? sh->note : "");
        cJSON *ips = cJSON_AddArrayToObject(x, "ips");
        for (size_t i = 0; sh && i < sh->n_ips && i < SC_HOST_IPS_MAX; i++)
            cJSON_AddItemToArray(ips, cJSON_CreateString(sh->ips[i]));
        cJSON_AddItemToArray(hs, x);
    }
    cJSON *fs = cJSON_AddArrayToObject(j, "findings");
    for (size_t i = 0; i < a->n_findings; i++) {
        const an_corr_finding_t *f = &a->findings[i];
        char id[300];
        dd_finding_id(c, 1, i, id, sizeof id);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", id);
        cJSON_AddStringToObject(x, "kind", an_corr_kind_name(f->kind));
        cJSON_AddItemToObject(x, "load_class", rj_class(f->cls));
        cJSON_AddStringToObject(x, "load_class_why", f->why);
        if (f->host[0])
            cJSON_AddStringToObject(x, "host", f->host);
        else
            cJSON_AddNullToObject(x, "host");
        cJSON_AddNumberToObject(x, "onset", (double)f->onset);
        cJSON_AddItemToObject(x, "w", rj_num(f->w));
        cJSON_AddNumberToObject(x, "count_min", f->count_min);
        cJSON_AddNumberToObject(x, "count_max", f->count_max);
        if (f->explained_by[0])
            cJSON_AddStringToObject(x, "explained_by", f->explained_by);
        else
            cJSON_AddNullToObject(x, "explained_by");
        cJSON_AddItemToArray(fs, x);
    }
    return j;
}

/* ---- the series ---- */

/* Data source ds of a host file onto the power's grid, the larger value kept in u.
 * 0, or -1 when the file cannot be read (a missing data source is no error: nothing added). */
static int add_util(const char *file, const char *ds, int64_t from, int64_t to, int want, double *u,
                    double *tmp, size_t n, int64_t start, int step)
{
    storage_series_t s = {0};
    char err[256];
    if (storage_fetch(file, ds, "AVERAGE", from, to, want, NULL, &s, err, sizeof err) < 0)
        return -1;
    /* As the analyzer brings host files onto a circuit's grid (docs/correlate.md). */
    an_regrid(s.v, s.n, s.start, s.step, tmp, n, start, step);
    free(s.v);
    for (size_t i = 0; i < n; i++) {
        double v = tmp[i];
        if (isnan(v))
            continue;
        v = v < 0 ? 0 : v > 1 ? 1 : v; /* a busy fraction; a collector may overshoot a little */
        u[i] = isnan(u[i]) || v > u[i] ? v : u[i];
    }
    return 0;
}

/* A copy of what the request needs from the snapshot, so that the files are read without it. */
struct plan {
    char file[512], tz[SC_ID_MAX];
    int polled, native, fitted;
    double idle;
    size_t nh;
    struct {
        char id[SC_ID_MAX], file[512];
        double slope;
        int cpu, gpu; /* data sources the analyzer found values in (an_host_t.source) */
    } * h;
    cJSON *fit; /* rj_corr() */
    int64_t from, to;
    uint64_t gen;
};

static int plan_of(const dd_snap_t *s, const an_site_result_t *site, const an_channel_result_t *c,
                   struct plan *p)
{
    const an_corr_t *a = c->corr;
    memset(p, 0, sizeof *p);
    wa_strlcpy(p->file, c->file, sizeof p->file);
    wa_strlcpy(p->tz, site->tz, sizeof p->tz);
    for (char *q = p->tz; *q; q++)
        if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20)
            *q = '_';
    p->polled = c->polled;
    p->native = c->step > 0 ? c->step : 60;
    p->fitted = a->fitted;
    p->idle = a->fitted ? a->idle_w : NAN;
    p->from = c->from;
    p->to = c->data_end > c->from ? c->data_end : site->to;
    p->gen = s->gen;
    p->nh = a->n_hosts;
    p->h = calloc(a->n_hosts ? a->n_hosts : 1, sizeof *p->h);
    p->fit = rj_corr(site, c);
    if (!p->h || !p->fit)
        return -1;
    for (size_t k = 0; k < a->n_hosts; k++) {
        const an_host_t *sh = site_host(site, a->hosts[k].id);
        wa_strlcpy(p->h[k].id, a->hosts[k].id, sizeof p->h[k].id);
        p->h[k].slope = a->hosts[k].slope_w;
        if (sh && sh->read) {
            wa_strlcpy(p->h[k].file, sh->file, sizeof p->h[k].file);
            p->h[k].cpu = strstr(sh->source, "cpu") != NULL;
            p->h[k].gpu = strstr(sh->source, "gpu") != NULL;
        }
    }
    return 0;
}

static void plan_free(struct plan *p)
{
    free(p->h);
    cJSON_Delete(p->fit);
}

/* Groups of g values: the mean of the known ones, their min and max, into avg, mn, mx (m
 * each).  Counts the known values into *known. */
static void group(const double *v, size_t n, size_t g, size_t m, double *avg, double *mn,
                  double *mx, size_t *known)
{
    for (size_t j = 0; j < m; j++) {
        double sum = 0, lo = INFINITY, hi = -INFINITY;
        size_t k = 0;
        for (size_t i = j * g; i < (j + 1) * g && i < n; i++)
            if (!isnan(v[i])) {
                sum += v[i];
                k++;
                lo = v[i] < lo ? v[i] : lo;
                hi = v[i] > hi ? v[i] : hi;
            }
        *known += k;
        avg[j] = k ? sum / (double)k : NAN;
        mn[j] = k ? lo : NAN;
        mx[j] = k ? hi : NAN;
    }
}

/* ,"name":{"avg":[...]} with "min" and "max" when values were grouped and extremes wanted. */
static void put_group(jbuf_t *b, const char *name, const double *v, size_t n, size_t g, size_t m,
                      int extremes, double *tmp, size_t *known)
{
    size_t k = 0;
    group(v, n, g, m, tmp, tmp + m, tmp + 2 * m, &k);
    if (known)
        *known = k;
    jb_puts(b, ",\"");
    jb_puts(b, name);
    jb_puts(b, "\":{");
    jb_array(b, "avg", tmp, m);
    if (g > 1 && extremes) {
        jb_put(b, ",", 1);
        jb_array(b, "min", tmp + m, m);
        jb_put(b, ",", 1);
        jb_array(b, "max", tmp + 2 * m, m);
    }
    jb_put(b, "}", 1);
}

static time_t newest(const struct plan *p)
{
    struct stat sb;
    time_t t = stat(p->file, &sb) == 0 ? sb.st_mtime : 0;
    for (size_t k = 0; k < p->nh; k++)
        if (p->h[k].file[0] && stat(p->h[k].file, &sb) == 0 && sb.st_mtime > t)
            t = sb.st_mtime;
    return t;
}

static enum MHD_Result compute(dash_req_t *r, struct plan *p, const char *chan, long points)
{
    int want = (int)((p->to - p->from) / points);
    if (want < p->native)
        want = p->native;
    storage_series_t ps = {0};
    char err[512];
    if (storage_fetch(p->file, "power", "AVERAGE", p->from, p->to, want, NULL, &ps, err,
                      sizeof err) < 0 ||
        ps.n == 0 || ps.step <= 0) {
        free(ps.v);
        return dr_error(r, 404, I18N_NO_DATA, chan);
    }
    /* A polled meter's row stamped T is the step (T, T + step] (docs/analysis-json.md,
     * "Readings"); the analyzer fits it so, and so is it set against the hosts here.  At a
     * coarser archive each of its steps still moves by one native step. */
    if (p->polled)
        ps.start += p->native;
    size_t n = ps.n;
    double *u = malloc(5 * n * sizeof *u);
    if (!u) {
        free(ps.v);
        return dr_error(r, 500, I18N_INTERNAL, "memory");
    }
    double *tmp = u + n, *ex = u + 2 * n, *res = u + 3 * n, *known_u = u + 4 * n;
    /* The hosts over the power's own steps, which a polled meter's shift may have moved past
     * the window asked for. */
    int64_t end = ps.start + (int64_t)n * ps.step;
    for (size_t i = 0; i < n; i++) {
        ex[i] = p->idle;
        known_u[i] = 0;
    }
    for (size_t k = 0; k < p->nh; k++) {
        for (size_t i = 0; i < n; i++)
            u[i] = NAN;
        /* The host's utilisation as the fit saw it: the larger of CPU and GPU where both are
         * known, from the data sources the analyzer found values in. */
        if ((p->h[k].cpu && add_util(p->h[k].file, "cpu", ps.start, end, want, u, tmp, n, ps.start,
                                     ps.step) < 0) ||
            (p->h[k].gpu && add_util(p->h[k].file, "gpu", ps.start, end, want, u, tmp, n, ps.start,
                                     ps.step) < 0)) {
            free(u);
            free(ps.v);
            return dr_error(r, 404, I18N_NO_DATA, p->h[k].id);
        }
        for (size_t i = 0; i < n; i++)
            if (!isnan(u[i])) {
                ex[i] += p->h[k].slope * u[i];
                known_u[i] = 1;
            }
    }
    /* Where neither the power nor any host is known (past the end of the data), there is
     * nothing to explain: the idle alone would draw a line no data supports. */
    for (size_t i = 0; i < n; i++)
        if (isnan(ps.v[i]) && !known_u[i])
            ex[i] = NAN;
    for (size_t i = 0; i < n; i++)
        res[i] = ps.v[i] - ex[i]; /* NaN where power is unknown, or without a fit */
    size_t g = (n + (size_t)points - 1) / (size_t)points, m = (n + g - 1) / g, known = 0;
    double *gr = malloc(3 * m * sizeof *gr);
    char *fit = cJSON_PrintUnformatted(p->fit);
    jbuf_t b = {0};
    char head[1024];
    /* The channel id is checked ([A-Za-z0-9._-/]) and the zone cleaned (plan_of): neither
     * needs escaping. */
    snprintf(head, sizeof head,
             "{\"channel\":\"%s\",\"tz\":\"%s\",\"unit\":\"W\",\"from\":%lld,\"to\":%lld,"
             "\"start\":%lld,\"step\":%lld,\"rrd_step\":%d,\"n\":%zu,\"polled\":%s",
             chan, p->tz, (long long)p->from, (long long)p->to, (long long)ps.start,
             (long long)ps.step * (long long)g, ps.step, m, p->polled ? "true" : "false");
    jb_puts(&b, head);
    if (gr && fit) {
        put_group(&b, "power", ps.v, n, g, m, 1, gr, &known);
        put_group(&b, "explained", ex, n, g, m, 0, gr, NULL);
        put_group(&b, "residual", res, n, g, m, 1, gr, NULL);
        snprintf(head, sizeof head, ",\"known\":%zu,\"fit\":", known);
        jb_puts(&b, head);
        jb_puts(&b, fit);
        jb_put(&b, "}", 1);
    }
    int oom = !gr || !fit || b.oom;
    free(gr);
    free(fit);
    free(u);
    free(ps.v);
    if (oom) {
        free(b.p);
        return dr_error(r, 500, I18N_INTERNAL, "memory");
    }
    char *text = b.p;
    size_t len = strlen(text);
    char key[512];
    snprintf(key, sizeof key, "compute|%s|%lld|%lld|%ld|%llu", chan, (long long)p->from,
             (long long)p->to, points, (unsigned long long)p->gen);
    dd_cache_put(r->d->data, key, newest(p), text, len);
    return dr_send_owned(r, 200, "application/json; charset=utf-8", text, len, NULL);
}

enum MHD_Result rt_compute(dash_req_t *r)
{
    const char *chan = dr_arg(r, "channel");
    long points = 800;
    if (!chan || !dp_is_channel_id(chan))
        return dr_error(r, 400, I18N_BAD_PARAM, "channel");
    if (dr_arg(r, "points") && dp_parse_long(dr_arg(r, "points"), 10, 5000, &points) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "points");
    dd_snap_t *s = dd_acquire(r->d->data);
    size_t si;
    const an_channel_result_t *c = dd_channel(s, chan, &si);
    if (!c) {
        dd_release(r->d->data, s);
        return dr_error(r, 404, I18N_NO_SUCH_CHANNEL, chan);
    }
    if (!c->corr) {
        dd_release(r->d->data, s);
        return dr_error(r, 404, I18N_NO_HOSTS, chan);
    }
    struct plan p;
    int rc = plan_of(s, &s->r.sites[si], c, &p);
    dd_release(r->d->data, s);
    if (rc < 0) {
        plan_free(&p);
        return dr_error(r, 500, I18N_INTERNAL, "memory");
    }
    int rf = rj_time_arg(r, "from", p.tz, &p.from), rt = rj_time_arg(r, "to", p.tz, &p.to);
    enum MHD_Result out;
    /* At most about 5 years, the long archive's default span (docs/rrd-layout.md). */
    if (rf < 0 || (rt >= 0 && p.to - p.from > 5 * 366 * 86400LL))
        out = dr_error(r, 400, I18N_BAD_PARAM, "from");
    else if (rt < 0 || p.to <= p.from)
        out = dr_error(r, 400, I18N_BAD_PARAM, "to");
    else {
        char key[512];
        size_t len;
        snprintf(key, sizeof key, "compute|%s|%lld|%lld|%ld|%llu", chan, (long long)p.from,
                 (long long)p.to, points, (unsigned long long)p.gen);
        char *cached = dd_cache_get(r->d->data, key, newest(&p), &len);
        out = cached ? dr_send_owned(r, 200, "application/json; charset=utf-8", cached, len, NULL)
                     : compute(r, &p, chan, points);
    }
    plan_free(&p);
    return out;
}
