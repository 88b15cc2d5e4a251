/* /api/findings (filtered and sorted) and /api/finding (one finding with its evidence): the
 * channel layer's power findings and the correlation's findings alike (view.c). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard/dash-private.h"

static const char *const sort_keys[] = {"onset", "size",  "kwh",     "score",      "site",
                                        "kind",  "class", "channel", "load_class", NULL};

struct sort_ctx {
    const dd_snap_t *s;
    int key, desc;
};

/* Unknown figures (a correlation finding has no kWh or score) sort below every known one. */
static int cmp_num(double a, double b)
{
    a = isnan(a) ? -INFINITY : a;
    b = isnan(b) ? -INFINITY : b;
    return (a > b) - (a < b);
}

/* qsort has no context argument in C11: the context rides in front of each element. */
struct item {
    const struct sort_ctx *ctx;
    const dd_finding_ref_t *ref;
    dd_view_t v;
};

static int cmp_items(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;
    const dd_view_t *fa = &a->v, *fb = &b->v;
    int c = 0;
    switch (a->ctx->key) {
    case 0:
        c = cmp_num((double)fa->onset, (double)fb->onset);
        break;
    case 1:
        c = cmp_num(fa->w, fb->w);
        break;
    case 2:
        c = cmp_num(fa->excess_kwh, fb->excess_kwh);
        break;
    case 3:
        c = cmp_num(fa->score, fb->score);
        break;
    case 4:
        c = strcmp(fa->site->id, fb->site->id);
        break;
    case 5:
        c = strcmp(fa->kind, fb->kind);
        break;
    case 6:
        c = strcmp(fa->units, fb->units);
        break;
    case 7:
        c = strcmp(fa->channel->id, fb->channel->id);
        break;
    case 8:
        c = strcmp(an_class_name(fa->cls), an_class_name(fb->cls));
        break;
    default:
        break;
    }
    if (c == 0)
        c = strcmp(a->ref->id, b->ref->id); /* a total order: the same list every time */
    return a->ctx->desc ? -c : c;
}

/* "deliberate", "passive", "research", or "none" for a finding not classed. */
static int load_class_ok(const char *k)
{
    return strcmp(k, "deliberate") == 0 || strcmp(k, "passive") == 0 ||
           strcmp(k, "research") == 0 || strcmp(k, "none") == 0;
}

static int keep(const dd_view_t *v, dash_req_t *r, double min_w, double max_w, int64_t onset_from,
                int64_t onset_to)
{
    const char *site = dr_arg(r, "site"), *kind = dr_arg(r, "kind"), *cls = dr_arg(r, "class");
    const char *status = dr_arg(r, "status"), *chan = dr_arg(r, "channel");
    const char *lc = dr_arg(r, "load_class"), *src = dr_arg(r, "source");
    int explained = v->explained_by[0] != '\0';
    const char *lcn = v->cls != AN_CLASS_NONE ? an_class_name(v->cls) : "none";
    if ((site && strcmp(v->site->id, site) != 0) || (chan && strcmp(v->channel->id, chan) != 0) ||
        (kind && strcmp(v->kind, kind) != 0) || (cls && strcmp(v->units, cls) != 0) ||
        (lc && strcmp(lcn, lc) != 0) ||
        (src && strcmp(src, v->corr ? "correlation" : "power") != 0) ||
        (!isnan(v->w) && (v->w < min_w || v->w > max_w)) || v->onset < onset_from ||
        v->onset > onset_to)
        return 0;
    if (status && ((strcmp(status, "unexplained") == 0 && explained) ||
                   (strcmp(status, "explained") == 0 && !explained) ||
                   (strcmp(status, "active") == 0 && (explained || v->active != 1))))
        return 0;
    return 1;
}

enum MHD_Result rt_findings(dash_req_t *r)
{
    const char *site = dr_arg(r, "site"), *kind = dr_arg(r, "kind"), *cls = dr_arg(r, "class");
    const char *status = dr_arg(r, "status"), *sort = dr_arg(r, "sort"),
               *order = dr_arg(r, "order"), *chan = dr_arg(r, "channel"),
               *lc = dr_arg(r, "load_class"), *src = dr_arg(r, "source");
    double min_w = 0, max_w = INFINITY;
    int64_t onset_from = INT64_MIN, onset_to = INT64_MAX;
    long limit = 500, offset = 0;
    if (site && !dp_is_id(site))
        return dr_error(r, 400, I18N_BAD_PARAM, "site");
    if (chan && !dp_is_channel_id(chan))
        return dr_error(r, 400, I18N_BAD_PARAM, "channel");
    if (kind && !dd_kind_known(kind))
        return dr_error(r, 400, I18N_BAD_PARAM, "kind");
    if (cls && !dp_is_id(cls))
        return dr_error(r, 400, I18N_BAD_PARAM, "class");
    if (lc && !load_class_ok(lc))
        return dr_error(r, 400, I18N_BAD_PARAM, "load_class");
    if (src && strcmp(src, "power") != 0 && strcmp(src, "correlation") != 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "source");
    if (status && strcmp(status, "unexplained") != 0 && strcmp(status, "explained") != 0 &&
        strcmp(status, "active") != 0 && strcmp(status, "all") != 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "status");
    if (dr_arg(r, "min_w") && dp_parse_double(dr_arg(r, "min_w"), 0, 1e9, &min_w) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "min_w");
    if (dr_arg(r, "max_w") && dp_parse_double(dr_arg(r, "max_w"), 0, 1e9, &max_w) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "max_w");
    if (rj_time_arg(r, "onset_from", NULL, &onset_from) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "onset_from");
    if (rj_time_arg(r, "onset_to", NULL, &onset_to) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "onset_to");
    if (dr_arg(r, "limit") && dp_parse_long(dr_arg(r, "limit"), 1, 10000, &limit) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "limit");
    if (dr_arg(r, "offset") && dp_parse_long(dr_arg(r, "offset"), 0, 1000000, &offset) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "offset");
    struct sort_ctx ctx = {NULL, 0, 1};
    if (sort) {
        ctx.key = -1;
        for (int i = 0; sort_keys[i]; i++)
            if (strcmp(sort, sort_keys[i]) == 0)
                ctx.key = i;
        if (ctx.key < 0)
            return dr_error(r, 400, I18N_BAD_PARAM, "sort");
    }
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "order");
    ctx.desc = !order || strcmp(order, "desc") == 0;

    dd_snap_t *s = dd_acquire(r->d->data);
    ctx.s = s;
    int site_known = !site, chan_known = !chan;
    for (size_t i = 0; site && i < s->r.n_sites; i++)
        site_known |= strcmp(s->r.sites[i].id, site) == 0;
    if (chan)
        chan_known = dd_channel(s, chan, NULL) != NULL;
    if (!site_known || !chan_known) {
        dd_release(r->d->data, s);
        return site_known ? dr_error(r, 404, I18N_NO_SUCH_CHANNEL, chan)
                          : dr_error(r, 404, I18N_NO_SUCH_SITE, site);
    }
    struct item *items = malloc((s->n_findings ? s->n_findings : 1) * sizeof *items);
    size_t n = 0;
    for (size_t i = 0; items && i < s->n_findings; i++) {
        items[n].ctx = &ctx;
        items[n].ref = &s->findings[i];
        dd_view(s, &s->findings[i], &items[n].v);
        if (keep(&items[n].v, r, min_w, max_w, onset_from, onset_to))
            n++;
    }
    if (!items) {
        dd_release(r->d->data, s);
        return dr_error(r, 500, I18N_INTERNAL, "memory");
    }
    qsort(items, n, sizeof *items, cmp_items);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "total", (double)n);
    cJSON *arr = cJSON_AddArrayToObject(j, "findings");
    for (size_t i = (size_t)offset; i < n && i < (size_t)offset + (size_t)limit; i++)
        cJSON_AddItemToArray(arr, rj_finding(s, items[i].ref, 0));
    free(items);
    dd_release(r->d->data, s);
    return dr_json(r, 200, j);
}

enum MHD_Result rt_finding(dash_req_t *r)
{
    const char *id = dr_arg(r, "id");
    if (!id || !*id || strlen(id) > 290)
        return dr_error(r, 400, I18N_BAD_PARAM, "id");
    const char *colon = strrchr(id, ':');
    char chan[300];
    long idx;
    /* "<channel>:<n>" for a power finding, "<channel>:c<n>" for a correlation finding. */
    if (!colon || (size_t)(colon - id) >= sizeof chan ||
        dp_parse_long(colon + 1 + (colon[1] == 'c'), 0, 100000, &idx) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "id");
    memcpy(chan, id, (size_t)(colon - id));
    chan[colon - id] = '\0';
    if (!dp_is_channel_id(chan))
        return dr_error(r, 400, I18N_BAD_PARAM, "id");
    dd_snap_t *s = dd_acquire(r->d->data);
    const dd_finding_ref_t *f = dd_finding(s, id);
    if (!f) {
        dd_release(r->d->data, s);
        return dr_error(r, 404, I18N_NO_SUCH_FINDING, id);
    }
    cJSON *j = rj_finding(s, f, 1);
    dd_release(r->d->data, s);
    return dr_json(r, 200, j);
}
