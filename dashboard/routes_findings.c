/* /api/findings (filtered and sorted) and /api/finding (one finding with its evidence). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard/dash-private.h"

static const char *const sort_keys[] = {"onset", "size",  "kwh",     "score", "site",
                                        "kind",  "class", "channel", NULL};

struct sort_ctx {
    const dd_snap_t *s;
    int key, desc;
};

static const an_finding_t *fnd(const dd_snap_t *s, const dd_finding_ref_t *x)
{
    return &s->r.sites[x->site].channels[x->channel].ch.findings[x->finding];
}

static int cmp_num(double a, double b)
{
    return (a > b) - (a < b);
}

/* qsort has no context argument in C11: the context rides in front of each element. */
struct item {
    const struct sort_ctx *ctx;
    const dd_finding_ref_t *ref;
};

static int cmp_items(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;
    const dd_snap_t *s = a->ctx->s;
    const an_finding_t *fa = fnd(s, a->ref), *fb = fnd(s, b->ref);
    int c = 0;
    switch (a->ctx->key) {
    case 0:
        c = cmp_num((double)fa->onset, (double)fb->onset);
        break;
    case 1:
        c = cmp_num(fa->step_w, fb->step_w);
        break;
    case 2:
        c = cmp_num(fa->excess_kwh, fb->excess_kwh);
        break;
    case 3:
        c = cmp_num(fa->score, fb->score);
        break;
    case 4:
        c = strcmp(s->r.sites[a->ref->site].id, s->r.sites[b->ref->site].id);
        break;
    case 5:
        c = strcmp(an_kind_name(fa->kind), an_kind_name(fb->kind));
        break;
    case 6:
        c = strcmp(fa->rig_kind, fb->rig_kind);
        break;
    default:
        break;
    }
    if (c == 0)
        c = strcmp(a->ref->id, b->ref->id); /* a total order: the same list every time */
    return a->ctx->desc ? -c : c;
}

static int kind_ok(const char *k)
{
    return strcmp(k, "flat_24x7") == 0 || strcmp(k, "step_up") == 0 || strcmp(k, "off_hours") == 0;
}

enum MHD_Result rt_findings(dash_req_t *r)
{
    const char *site = dr_arg(r, "site"), *kind = dr_arg(r, "kind"), *cls = dr_arg(r, "class");
    const char *status = dr_arg(r, "status"), *sort = dr_arg(r, "sort"),
               *order = dr_arg(r, "order");
    double min_w = 0, max_w = INFINITY;
    int64_t onset_from = INT64_MIN, onset_to = INT64_MAX;
    long limit = 500, offset = 0;
    if (site && !dp_is_id(site))
        return dr_error(r, 400, I18N_BAD_PARAM, "site");
    if (kind && !kind_ok(kind))
        return dr_error(r, 400, I18N_BAD_PARAM, "kind");
    if (cls && !dp_is_id(cls))
        return dr_error(r, 400, I18N_BAD_PARAM, "class");
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
    int site_known = !site;
    for (size_t i = 0; site && i < s->r.n_sites; i++)
        site_known |= strcmp(s->r.sites[i].id, site) == 0;
    if (!site_known) {
        dd_release(r->d->data, s);
        return dr_error(r, 404, I18N_NO_SUCH_SITE, site);
    }
    struct item *items = malloc((s->n_findings ? s->n_findings : 1) * sizeof *items);
    size_t n = 0;
    for (size_t i = 0; items && i < s->n_findings; i++) {
        const dd_finding_ref_t *x = &s->findings[i];
        const an_channel_result_t *c = &s->r.sites[x->site].channels[x->channel];
        const an_finding_t *f = fnd(s, x);
        int64_t slack = 2 * (int64_t)c->step > 3600 ? 2 * (int64_t)c->step : 3600;
        int explained = f->explained_by[0] != '\0', active = f->end >= c->data_end - slack;
        if ((site && strcmp(s->r.sites[x->site].id, site) != 0) ||
            (kind && strcmp(an_kind_name(f->kind), kind) != 0) ||
            (cls && strcmp(f->rig_kind, cls) != 0) || f->step_w < min_w || f->step_w > max_w ||
            f->onset < onset_from || f->onset > onset_to)
            continue;
        if (status && ((strcmp(status, "unexplained") == 0 && explained) ||
                       (strcmp(status, "explained") == 0 && !explained) ||
                       (strcmp(status, "active") == 0 && (explained || !active))))
            continue;
        items[n].ctx = &ctx;
        items[n++].ref = x;
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
    if (!colon || (size_t)(colon - id) >= sizeof chan ||
        dp_parse_long(colon + 1, 0, 100000, &idx) < 0)
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
