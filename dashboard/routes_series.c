/* /api/series: one data source of one channel over a window, as the charts draw it.
 *
 * RRD chooses the archive whose step fits the window; when it still returns more values than
 * the chart has points, consecutive values are grouped and each group gives its mean and its
 * extremes, so a spike narrower than a pixel still shows in the band (nothing is smoothed
 * away).  Responses are cached until the file changes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "dashboard/dash-private.h"
#include "storage/storage.h"

static const struct {
    const char *ds, *unit;
} sources[] = {
    {"power", "W"}, {"energy", "Wh"},    {"voltage", "V"}, {"current", "A"},
    {"pf", ""},     {"frequency", "Hz"}, {"util", "%"},
};

static void json_str(jbuf_t *b, const char *s)
{
    /* Ids are checked ([A-Za-z0-9._-/]); nothing in them needs escaping. */
    jb_put(b, "\"", 1);
    jb_puts(b, s);
    jb_put(b, "\"", 1);
}

enum MHD_Result rt_series(dash_req_t *r)
{
    const char *chan = dr_arg(r, "channel"), *ds = dr_arg(r, "ds");
    const char *unit = NULL;
    long points = 800;
    if (!chan || !dp_is_channel_id(chan))
        return dr_error(r, 400, I18N_BAD_PARAM, "channel");
    if (!ds)
        ds = "power";
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (strcmp(ds, sources[i].ds) == 0)
            unit = sources[i].unit;
    if (!unit)
        return dr_error(r, 400, I18N_BAD_PARAM, "ds");
    if (dr_arg(r, "points") && dp_parse_long(dr_arg(r, "points"), 10, 5000, &points) < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "points");

    dd_snap_t *s = dd_acquire(r->d->data);
    size_t site;
    const an_channel_result_t *c = dd_channel(s, chan, &site);
    if (!c) {
        dd_release(r->d->data, s);
        return dr_error(r, 404, I18N_NO_SUCH_CHANNEL, chan);
    }
    char file[sizeof c->file], tz[SC_ID_MAX];
    wa_strlcpy(file, c->file, sizeof file);
    wa_strlcpy(tz, s->r.sites[site].tz, sizeof tz);
    for (char *p = tz; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            *p = '_'; /* goes into JSON unescaped below */
    int64_t from = c->from, to = c->data_end > c->from ? c->data_end : s->r.sites[site].to;
    int native = c->step > 0 ? c->step : 60;
    dd_release(r->d->data, s);

    int rf = rj_time_arg(r, "from", tz, &from), rt = rj_time_arg(r, "to", tz, &to);
    if (rf < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "from");
    if (rt < 0)
        return dr_error(r, 400, I18N_BAD_PARAM, "to");
    /* At most about 5 years, the long archive's default span (docs/rrd-layout.md). */
    if (to <= from || to - from > 5 * 366 * 86400LL)
        return dr_error(r, 400, I18N_BAD_PARAM, to <= from ? "to" : "from");

    struct stat sb;
    if (stat(file, &sb) < 0)
        return dr_error(r, 404, I18N_NO_DATA, chan);
    char key[512];
    snprintf(key, sizeof key, "%s|%s|%lld|%lld|%ld", chan, ds, (long long)from, (long long)to,
             points);
    size_t len;
    char *cached = dd_cache_get(r->d->data, key, sb.st_mtime, &len);
    if (cached)
        return dr_send_owned(r, 200, "application/json; charset=utf-8", cached, len, NULL);

    int want = (int)((to - from) / points);
    if (want < native)
        want = native;
    storage_series_t ser = {0};
    char err[512];
    if (storage_fetch(file, ds, "AVERAGE", from, to, want, NULL, &ser, err, sizeof err) < 0 ||
        ser.n == 0 || ser.step <= 0) {
        free(ser.v);
        return dr_error(r, 404, I18N_NO_DATA, ds);
    }
    size_t group = (ser.n + (size_t)points - 1) / (size_t)points;
    size_t m = (ser.n + group - 1) / group;
    double *avg = malloc(3 * m * sizeof *avg);
    if (!avg) {
        free(ser.v);
        return dr_error(r, 500, I18N_INTERNAL, "memory");
    }
    double *mn = avg + m, *mx = avg + 2 * m;
    size_t n_known = 0;
    for (size_t g = 0; g < m; g++) {
        double sum = 0, lo = INFINITY, hi = -INFINITY;
        size_t known = 0;
        for (size_t i = g * group; i < (g + 1) * group && i < ser.n; i++)
            if (isfinite(ser.v[i])) {
                sum += ser.v[i];
                known++;
                lo = ser.v[i] < lo ? ser.v[i] : lo;
                hi = ser.v[i] > hi ? ser.v[i] : hi;
            }
        n_known += known;
        avg[g] = known ? sum / (double)known : NAN;
        mn[g] = known ? lo : NAN;
        mx[g] = known ? hi : NAN;
    }
    jbuf_t b = {0};
    char head[256];
    jb_puts(&b, "{\"channel\":");
    json_str(&b, chan);
    jb_puts(&b, ",\"ds\":");
    json_str(&b, ds);
    snprintf(head, sizeof head,
             ",\"unit\":\"%s\",\"tz\":\"%s\",\"from\":%lld,\"to\":%lld,\"start\":%lld,"
             "\"step\":%lld,\"rrd_step\":%d,\"n\":%zu,\"known\":%zu",
             unit, tz, (long long)from, (long long)to, (long long)ser.start,
             (long long)ser.step * (long long)group, ser.step, m, n_known);
    jb_puts(&b, head);
    jb_put(&b, ",", 1);
    jb_array(&b, "avg", avg, m);
    if (group > 1) {
        jb_put(&b, ",", 1);
        jb_array(&b, "min", mn, m);
        jb_put(&b, ",", 1);
        jb_array(&b, "max", mx, m);
    }
    jb_put(&b, "}", 1);
    free(avg);
    free(ser.v);
    if (b.oom) {
        free(b.p);
        return dr_error(r, 500, I18N_INTERNAL, "memory");
    }
    dd_cache_put(r->d->data, key, sb.st_mtime, b.p, b.len);
    return dr_send_owned(r, 200, "application/json; charset=utf-8", b.p, b.len, NULL);
}
