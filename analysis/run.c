/*
 * The site layer's run: which channels there are (from the config, or from the folders), the
 * window, and for each channel one fetch, its energy, the channel layer, then the sums per site
 * and over all sites.  Only one channel's series is in memory at a time.
 */
#include "analysis/site-private.h"

#include "common/common.h"
#include "storage/storage.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_DAYS 28
/* Two class 1 meters (IEC 62053-21: +-1 % each) may disagree by 2 % on the same energy. */
#define PARTS_COVER_REL 0.02
#define SECONDS_PER_DAY 86400

const char *an_role_name(an_role_t r)
{
    switch (r) {
    case AN_ROLE_TOTAL:
        return "total";
    case AN_ROLE_PART:
        return "part";
    case AN_ROLE_METER:
        break;
    }
    return "meter";
}

/* ---- the channel list ---- */

static int add_channel(an_site_result_t *s, size_t *cap, const char *rel, const char *name,
                       const char *file)
{
    if (s->n_channels == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        an_channel_result_t *p = realloc(s->channels, nc * sizeof *p);
        if (!p)
            return -1;
        s->channels = p;
        *cap = nc;
    }
    an_channel_result_t *c = &s->channels[s->n_channels];
    memset(c, 0, sizeof *c);
    if (wa_strlcpy(c->id, rel, sizeof c->id) < 0 || wa_strlcpy(c->file, file, sizeof c->file) < 0)
        return -1;
    const char *last = strrchr(rel, '/');
    wa_strlcpy(c->name, name && *name ? name : last ? last + 1 : rel, sizeof c->name);
    s->n_channels++;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every "*.rrd" below dir (rel is dir's path below the data folder), sorted, hidden names
 * (temporary files of an import in progress among them) left out.  site: rel is a site's
 * folder, whose "hosts" folder holds host files (docs/rrd-layout.md), not channels. */
static int walk(const char *root, const char *rel, an_site_result_t *s, size_t *cap, int depth,
                int site)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", root, rel);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = NULL;
    size_t n = 0, ncap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == ncap) {
            ncap = ncap ? 2 * ncap : 32;
            char **p = realloc(names, ncap * sizeof *p);
            if (!p) {
                rc = -1;
                break;
            }
            names = p;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char sub[256], path[PATH_MAX]; /* sub becomes a channel id: an_channel_result_t.id */
        struct stat sb;
        int n1 = snprintf(sub, sizeof sub, "%s/%s", rel, names[i]);
        int n2 = snprintf(path, sizeof path, "%s/%s", root, sub);
        if (n1 < 0 || (size_t)n1 >= sizeof sub || n2 < 0 || (size_t)n2 >= sizeof path ||
            stat(path, &sb) < 0)
            continue; /* a name too long for a channel id is no channel of ours */
        size_t len = strlen(names[i]);
        if (S_ISDIR(sb.st_mode) && site && depth == 0 && strcmp(names[i], "hosts") == 0)
            continue;
        if (S_ISDIR(sb.st_mode) && depth < 16) {
            rc = walk(root, sub, s, cap, depth + 1, 0);
        } else if (S_ISREG(sb.st_mode) && len > 4 && strcmp(names[i] + len - 4, ".rrd") == 0) {
            sub[strlen(sub) - 4] = '\0';
            rc = add_channel(s, cap, sub, NULL, path);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int list_from_folders(const char *data_dir, an_result_t *r, char *err, size_t errlen)
{
    DIR *d = opendir(data_dir);
    if (!d) {
        int e = errno;
        wa_err(err, errlen, "%s: %s", data_dir, strerror(e));
        errno = e;
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char path[PATH_MAX];
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", data_dir, de->d_name);
        if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **p = realloc(names, cap * sizeof *p);
            if (!p)
                break;
            names = p;
        }
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    closedir(d);
    int rc = 0;
    if (names)
        qsort(names, n, sizeof *names, cmp_name);
    r->sites = calloc(n ? n : 1, sizeof *r->sites);
    if (!r->sites)
        rc = -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        an_site_result_t *s = &r->sites[r->n_sites++];
        size_t ccap = 0;
        wa_strlcpy(s->id, names[i], sizeof s->id);
        wa_strlcpy(s->name, names[i], sizeof s->name);
        rc = walk(data_dir, names[i], s, &ccap, 0, 1);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc < 0) {
        errno = ENOMEM;
        return wa_err(err, errlen, "%s: out of memory listing channels", data_dir);
    }
    if (r->n_sites == 0) {
        errno = ENOENT;
        return wa_err(err, errlen, "%s: no site folders (want DATA/<site>/.../<channel>.rrd)",
                      data_dir);
    }
    return 0;
}

/* The channel's `declared` loads from the site config (siteconf.h), named "kind id" so that
 * explained_by says what kind of load explains a finding. */
static int declarations(const siteconf_t *cfg, const sc_channel_t *ch, an_channel_result_t *c)
{
    (void)cfg;
    if (!ch->n_declared)
        return 0;
    c->declared = calloc(ch->n_declared, sizeof *c->declared);
    if (!c->declared)
        return -1;
    for (size_t i = 0; i < ch->n_declared; i++) {
        const sc_declared_t *sd = &ch->declared[i];
        an_declared_t *d = &c->declared[c->n_declared++];
        snprintf(d->name, sizeof d->name, "%.20s %.42s", sd->kind, sd->id);
        d->from = sd->from;
        d->to = sd->to;
        d->w_min = sd->w_min;
        d->w_max = sd->w_max;
    }
    return 0;
}

static int list_from_config(const siteconf_t *cfg, an_result_t *r, char *err, size_t errlen)
{
    const char *data_dir = cfg->storage.data_dir;
    r->sites = calloc(cfg->n_sites ? cfg->n_sites : 1, sizeof *r->sites);
    if (!r->sites)
        goto oom;
    for (size_t si = 0; si < cfg->n_sites; si++) {
        const sc_site_t *site = &cfg->sites[si];
        an_site_result_t *s = &r->sites[r->n_sites++];
        size_t cap = 0;
        wa_strlcpy(s->id, site->id, sizeof s->id);
        wa_strlcpy(s->name, site->name[0] ? site->name : site->id, sizeof s->name);
        wa_strlcpy(s->tz, site->timezone[0] ? site->timezone : cfg->timezone, sizeof s->tz);
        for (size_t b = 0; b < site->n_buses; b++)
            for (size_t d = 0; d < site->buses[b].n_devices; d++) {
                const sc_device_t *dev = &site->buses[b].devices[d];
                if (dev->n_channels == 0) {
                    /* Every channel of the profile: whatever files the collector made. */
                    char rel[256], dir[PATH_MAX];
                    struct stat sb;
                    snprintf(rel, sizeof rel, "%s/%s", site->id, dev->id);
                    snprintf(dir, sizeof dir, "%s/%s", data_dir, rel);
                    if (stat(dir, &sb) == 0 && walk(data_dir, rel, s, &cap, 0, 0) < 0)
                        goto oom;
                    continue;
                }
                for (size_t c = 0; c < dev->n_channels; c++) {
                    const sc_channel_t *ch = &dev->channels[c];
                    char rel[256], file[PATH_MAX];
                    snprintf(rel, sizeof rel, "%s/%s/%s", site->id, dev->id, ch->id);
                    snprintf(file, sizeof file, "%s/%s.rrd", data_dir, rel);
                    if (add_channel(s, &cap, rel, ch->name, file) < 0 ||
                        declarations(cfg, ch, &s->channels[s->n_channels - 1]) < 0)
                        goto oom;
                }
            }
    }
    return 0;
oom:
    errno = ENOMEM;
    return wa_err(err, errlen, "out of memory listing channels");
}

/* ---- roles: a device's total beside its parts ---- */

static int total_name(const char *id)
{
    static const char *const names[] = {"total", "inlet", "main", "mains", "incomer", "sum"};
    const char *last = strrchr(id, '/');
    last = last ? last + 1 : id;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(last, names[i]) == 0)
            return 1;
    return 0;
}

/* Length of the device part of an id ("site/device" of "site/device/channel"). */
static size_t device_len(const char *id)
{
    const char *last = strrchr(id, '/');
    return last ? (size_t)(last - id) : 0;
}

static int same_device(const char *a, const char *b)
{
    size_t la = device_len(a);
    return la == device_len(b) && strncmp(a, b, la) == 0;
}

/* Marks totals and parts, and adds the site's sums.  A device with a total channel beside
 * others is counted once: its energy is the total's; its excess and savings the larger of
 * what the total shows and what its parts show together (the same load appears in both). */
static void assign_roles(an_site_result_t *s)
{
    for (size_t i = 0; i < s->n_channels; i++)
        s->channels[i].role = AN_ROLE_METER;
    for (size_t i = 0; i < s->n_channels; i++) {
        an_channel_result_t *t = &s->channels[i];
        if (!total_name(t->id))
            continue;
        size_t parts = 0;
        for (size_t j = 0; j < s->n_channels; j++)
            parts += j != i && same_device(t->id, s->channels[j].id);
        if (!parts)
            continue;
        t->role = AN_ROLE_TOTAL;
        for (size_t j = 0; j < s->n_channels; j++)
            if (j != i && same_device(t->id, s->channels[j].id) &&
                s->channels[j].role == AN_ROLE_METER)
                s->channels[j].role = AN_ROLE_PART;
    }
}

/* A load declared on a part is a load on its device's total as well. */
static int declarations_to_totals(an_site_result_t *s)
{
    for (size_t i = 0; i < s->n_channels; i++) {
        an_channel_result_t *t = &s->channels[i];
        if (t->role != AN_ROLE_TOTAL)
            continue;
        size_t n = t->n_declared;
        for (size_t j = 0; j < s->n_channels; j++)
            if (s->channels[j].role == AN_ROLE_PART && same_device(t->id, s->channels[j].id))
                n += s->channels[j].n_declared;
        if (n == t->n_declared)
            continue;
        an_declared_t *d = realloc(t->declared, n * sizeof *d);
        if (!d)
            return -1;
        t->declared = d;
        for (size_t j = 0; j < s->n_channels; j++) {
            const an_channel_result_t *p = &s->channels[j];
            if (p->role != AN_ROLE_PART || !same_device(t->id, p->id) || !p->n_declared)
                continue;
            memcpy(d + t->n_declared, p->declared, p->n_declared * sizeof *d);
            t->n_declared += p->n_declared;
        }
    }
    return 0;
}

static void site_sums(an_site_result_t *s, const an_factors_t *f)
{
    /* Again: parts or totals whose files could not be read are gone by now. */
    assign_roles(s);
    double per_day = 0;
    s->kwh = s->excess_kwh = 0;
    for (size_t i = 0; i < s->n_channels; i++) {
        an_channel_result_t *c = &s->channels[i];
        c->counted = c->role != AN_ROLE_PART && !isnan(c->energy.kwh);
        if (c->counted)
            s->kwh += c->energy.kwh;
        if (c->role == AN_ROLE_PART)
            continue;
        double ex = c->excess_kwh, pd = c->active_kwh_per_day;
        if (c->role == AN_ROLE_TOTAL) {
            double pex = 0, ppd = 0, pkwh = 0;
            for (size_t j = 0; j < s->n_channels; j++)
                if (s->channels[j].role == AN_ROLE_PART && same_device(c->id, s->channels[j].id)) {
                    pex += s->channels[j].excess_kwh;
                    ppd += s->channels[j].active_kwh_per_day;
                    pkwh += isnan(s->channels[j].energy.kwh) ? 0 : s->channels[j].energy.kwh;
                }
            /* Parts whose energy adds up to the total's see every load the total sees, each on
             * a quieter channel: theirs are the findings.  Otherwise something on the total is
             * unmetered, and the larger figure is taken. */
            c->parts_cover = fabs(pkwh - c->energy.kwh) <= PARTS_COVER_REL * c->energy.kwh;
            ex = c->parts_cover ? pex : fmax(ex, pex);
            pd = c->parts_cover ? ppd : fmax(pd, ppd);
        }
        s->excess_kwh += ex;
        per_day += pd;
    }
    s->days = (double)(s->to - s->from) / SECONDS_PER_DAY;
    s->kgce = s->kwh * f->kgce_per_kwh;
    s->kgco2 = s->kwh * f->kgco2_per_kwh;
    s->cost = s->kwh * f->tariff_per_kwh;
    an_savings_compute(per_day, 1.0, f, &s->savings);
}

/* ---- one channel ---- */

int an_finding_active(const an_channel_result_t *c, const an_finding_t *f)
{
    /* Still on at the end of the channel's data, give or take two steps or an hour. */
    int64_t slack = 2 * (int64_t)c->step > 3600 ? 2 * (int64_t)c->step : 3600;
    return f->end >= c->data_end - slack;
}

static void warn_skip(const an_run_opts_t *o, an_result_t *r, const char *msg)
{
    fprintf(o->warn ? o->warn : stderr, "warning: %s; skipped\n", msg);
    r->n_skipped++;
}

/* The register at the power series' step: MAX of a bucket is its last reading, which is what
 * an archive coarser than the poll holds; at the finest step only AVERAGE exists and it is the
 * reading itself (docs/rrd-layout.md). */
static double *fetch_register(const char *file, const storage_series_t *p, int64_t from, int64_t to,
                              const char *rrdcached)
{
    static const char *const cfs[] = {"MAX", "AVERAGE"};
    char err[256];
    for (size_t k = 0; k < 2; k++) {
        storage_series_t e;
        if (storage_fetch(file, "energy", cfs[k], from, to, p->step, rrdcached, &e, err,
                          sizeof err) < 0)
            continue;
        if (e.step == p->step && e.start == p->start && e.n == p->n)
            return e.v;
        free(e.v);
    }
    return NULL;
}

/* A site none of whose files could be read: name each. */
static void warn_unreadable(const an_run_opts_t *o, an_result_t *r, const an_channel_result_t *c)
{
    char err[768];
    int64_t t;
    if (storage_last(c->file, &t, NULL, err, sizeof err) == 0)
        snprintf(err, sizeof err, "%.700s: no data", c->file);
    warn_skip(o, r, err);
}

/* A polled meter's file (docs/analysis-json.md, "Readings"): the row RRD stamps T holds the
 * power and energy read at T.  The power read at a poll is taken to hold until the next one,
 * so the row becomes the step that starts at T, (T, T + step]; the register at that step's end
 * is the next row's.  Everything after this works on steps in RRD's own convention. */
static void as_held_readings(storage_series_t *p, double *e)
{
    p->start += p->step;
    if (e && p->n) {
        memmove(e, e + 1, (p->n - 1) * sizeof *e);
        e[p->n - 1] = NAN;
    }
}

/* The collector's sidecar (docs/rrd-layout.md, "The sidecar"): periods in which a UPS's power
 * was estimated from its percent load.  Every finding that overlaps one says so, with how. */
static void mark_estimated(an_channel_result_t *c, FILE *warn)
{
    char path[sizeof c->file + 16];
    size_t len = strlen(c->file);
    cJSON *root, *periods, *per;
    char *text;
    size_t tlen;

    if (len < 4 || strcmp(c->file + len - 4, ".rrd") != 0 || !c->ch.n_findings)
        return;
    snprintf(path, sizeof path, "%.*s.meta.json", (int)(len - 4), c->file);
    if (!(text = wa_file_read(path, 1 << 20, &tlen, NULL, 0)))
        return; /* no sidecar: measured */
    root = cJSON_Parse(text);
    free(text);
    periods = root ? cJSON_GetObjectItem(root, "periods") : NULL;
    if (!cJSON_IsArray(periods)) {
        fprintf(warn, "wattaudit: %s: not a sidecar the collector wrote; its channel is taken "
                      "as measured\n", path);
        cJSON_Delete(root);
        return;
    }
    cJSON_ArrayForEach(per, periods)
    {
        const cJSON *pw = cJSON_GetObjectItem(per, "power"), *how = cJSON_GetObjectItem(per, "how");
        const cJSON *from = cJSON_GetObjectItem(per, "from"), *to = cJSON_GetObjectItem(per, "to");
        double t0, t1;
        if (!cJSON_IsString(pw) || strcmp(pw->valuestring, "estimated") != 0 ||
            !cJSON_IsNumber(from))
            continue;
        t0 = from->valuedouble;
        t1 = cJSON_IsNumber(to) ? to->valuedouble : INFINITY;
        for (size_t k = 0; k < c->ch.n_findings; k++) {
            an_finding_t *f = &c->ch.findings[k];
            if ((double)f->onset < t1 && (double)f->end >= t0) {
                f->estimated = 1;
                if (cJSON_IsString(how))
                    wa_strlcpy(f->estimated_how, how->valuestring, sizeof f->estimated_how);
            }
        }
    }
    cJSON_Delete(root);
}

static void analyze_channel(const an_run_opts_t *o, const char *rrdcached, an_site_corr_t *sc,
                            an_site_result_t *site, an_result_t *r, an_channel_result_t *c,
                            int *usable)
{
    char err[512];
    storage_series_t p;
    const char *tz = site->tz;
    *usable = 0;
    /* From a second before the window: a polled meter's reading at its start is the first
     * one the window needs. */
    if (storage_fetch(c->file, NULL, "AVERAGE", site->from - 1, site->to, 0, rrdcached, &p, err,
                      sizeof err) < 0) {
        warn_skip(o, r, err);
        return;
    }
    *usable = 1;
    c->step = p.step;
    double *e = fetch_register(c->file, &p, site->from - 1, site->to, rrdcached);
    if (c->polled)
        as_held_readings(&p, e);
    /* A default window does not reach back past the channel's first data: the time before a
     * meter was installed is no gap.  A window given with --from is kept whole.  The first
     * data: a step whose power is known, or whose energy the register gives (a reading at
     * each end). */
    c->from = site->from;
    for (size_t i = 0; o->from == 0 && i < p.n; i++) {
        int64_t t = p.start + (int64_t)(i + 1) * p.step;
        if (t - p.step < site->from || t > site->to)
            continue;
        if (!isnan(p.v[i]) || (e && i > 0 && !isnan(e[i - 1]) && !isnan(e[i]))) {
            c->from = t - p.step;
            break;
        }
    }
    an_energy_compute(p.v, e, p.n, p.start, p.step, c->from, site->to, &c->energy);
    free(e);

    /* The steps inside the window, for the channel layer. */
    size_t i0 = p.n, i1 = 0;
    for (size_t i = 0; i < p.n; i++) {
        int64_t t = p.start + (int64_t)(i + 1) * p.step;
        if (t - p.step < c->from || t > site->to)
            continue;
        if (i0 == p.n)
            i0 = i;
        i1 = i + 1;
        if (!isnan(p.v[i]))
            c->data_end = t;
    }
    if (i0 >= i1) {
        snprintf(c->note, sizeof c->note, "no steps inside the window");
        free(p.v);
        return;
    }
    an_opts_t co = o->channel;
    co.tz = tz && *tz ? tz : o->channel.tz;
    co.declared = c->declared;
    co.n_declared = c->n_declared;
    int64_t start = p.start + (int64_t)i0 * p.step;
    if (an_channel_analyze(p.v + i0, i1 - i0, start, p.step, &co, &c->ch, err, sizeof err) == 0) {
        c->analyzed = 1;
        mark_estimated(c, o->warn ? o->warn : stderr);
        /* Before the sums: a finding the hosts' declared jobs account for is explained. */
        an_channel_correlate(sc, o, rrdcached, site, c, p.v + i0, i1 - i0, start, p.step);
        for (size_t k = 0; k < c->ch.n_findings; k++) {
            const an_finding_t *f = &c->ch.findings[k];
            if (f->explained_by[0])
                continue;
            c->excess_kwh += f->excess_kwh;
            if (an_finding_active(c, f) && f->end > f->onset)
                c->active_kwh_per_day +=
                    f->excess_kwh / ((double)(f->end - f->onset) / SECONDS_PER_DAY);
        }
    } else {
        memset(&c->ch, 0, sizeof c->ch);
        wa_strlcpy(c->note, err, sizeof c->note);
        an_channel_correlate(sc, o, rrdcached, site, c, p.v + i0, i1 - i0, start, p.step);
    }
    free(p.v);
}

/* Whether a file holds a polled meter's readings, and where its data end: its last update,
 * and for readings, which hold until the next poll, one step later.  A file whose last update
 * carries an energy register reading was written by the collector from a meter (or a UPS it
 * integrates); imports have no register (docs/analysis-json.md, "Readings").  0, or -1 for a
 * file that cannot be read. */
static int probe_channel(an_channel_result_t *c, const char *rrdcached, int64_t *end)
{
    storage_sample_t last;
    storage_series_t p;
    char e[256];
    int64_t t;
    if (storage_last(c->file, &t, &last, e, sizeof e) != 0)
        return -1;
    c->polled = isfinite(last.v[STORAGE_DS_ENERGY]);
    *end = t;
    /* The step of the finest archive, from the last row alone. */
    if (c->polled && t > 0 &&
        storage_fetch(c->file, NULL, "AVERAGE", t - 1, t, 0, rrdcached, &p, e, sizeof e) == 0) {
        *end = t + p.step;
        free(p.v);
    }
    return 0;
}

/* A site's window: `to` defaults to the newest data end among its files (sites whose data
 * ended at different times each get their own last 28 days), `from` to 28 days before `to`. */
static int window(const an_run_opts_t *o, const char *rrdcached, an_site_result_t *s, char *err,
                  size_t errlen)
{
    s->from = o->from;
    s->to = o->to;
    int64_t newest = 0;
    for (size_t i = 0; i < s->n_channels; i++) {
        int64_t t;
        if (probe_channel(&s->channels[i], rrdcached, &t) == 0 && t > newest)
            newest = t;
    }
    if (s->to == 0) {
        s->to = newest;
        if (s->to == 0)
            return 1; /* nothing readable: every channel will be warned about */
    }
    if (s->from == 0)
        s->from = s->to - (int64_t)DEFAULT_DAYS * SECONDS_PER_DAY;
    if (s->from >= s->to) {
        errno = EINVAL;
        return wa_err(err, errlen, "the window is empty (from %lld >= to %lld)", (long long)s->from,
                      (long long)s->to);
    }
    return 0;
}

int an_collect(const an_run_opts_t *o, an_result_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!o || (!o->cfg && !o->data_dir)) {
        errno = EINVAL;
        return wa_err(err, errlen, "analysis: a site config or a data folder is needed");
    }
    out->factors = o->factors;
    const char *rrdcached = o->rrdcached;
    if (!rrdcached && o->cfg && o->cfg->storage.rrdcached[0])
        rrdcached = o->cfg->storage.rrdcached;
    int rc = o->cfg ? list_from_config(o->cfg, out, err, errlen)
                    : list_from_folders(o->data_dir, out, err, errlen);
    for (size_t s = 0; rc == 0 && s < out->n_sites; s++) {
        /* A site without a zone of its own (always so with --data) takes the run's. */
        if (!out->sites[s].tz[0] && o->channel.tz)
            wa_strlcpy(out->sites[s].tz, o->channel.tz, sizeof out->sites[s].tz);
        int w = window(o, rrdcached, &out->sites[s], err, errlen);
        if (w < 0)
            rc = -1;
        else if (w == 0 && (out->from == 0 || out->sites[s].from < out->from))
            out->from = out->sites[s].from;
        if (w == 0 && out->sites[s].to > out->to)
            out->to = out->sites[s].to;
    }
    if (rc == 0 && out->to == 0) {
        errno = ENOENT;
        rc = wa_err(err, errlen, "no channel file could be read: no data to analyse");
    }
    if (rc < 0) {
        int e = errno;
        an_result_free(out);
        errno = e;
        return -1;
    }
    double per_day = 0;
    out->from = 0;
    for (size_t s = 0; s < out->n_sites; s++) {
        an_site_result_t *site = &out->sites[s];
        an_site_corr_t *sc = NULL;
        size_t kept = 0;
        assign_roles(site);
        if (declarations_to_totals(site) < 0) {
            an_result_free(out);
            errno = ENOMEM;
            return wa_err(err, errlen, "out of memory");
        }
        /* The hosts and declarations of a config's site (list_from_config keeps its order);
         * a bad row in them stops the run, as a bad config would. */
        if (o->cfg && !(sc = an_site_corr_open(&o->cfg->sites[s], o->cfg->storage.data_dir, site,
                                               err, errlen))) {
            int e = errno;
            an_result_free(out);
            errno = e;
            return -1;
        }
        for (size_t i = 0; i < site->n_channels; i++) {
            int usable = 0;
            if (site->to > 0)
                analyze_channel(o, rrdcached, sc, site, out, &site->channels[i], &usable);
            else
                warn_unreadable(o, out, &site->channels[i]);
            if (!usable) {
                free(site->channels[i].declared);
                an_corr_free(site->channels[i].corr);
                continue;
            }
            if (kept != i)
                site->channels[kept] = site->channels[i];
            kept++;
        }
        site->n_channels = kept;
        an_site_corr_finish(sc, site);
        an_site_corr_close(sc);
        /* The site's window starts where its earliest channel's does. */
        int64_t first = site->to;
        for (size_t i = 0; i < site->n_channels; i++)
            if (site->channels[i].from < first)
                first = site->channels[i].from;
        if (site->n_channels)
            site->from = first;
        if (site->to > 0 && (out->from == 0 || site->from < out->from))
            out->from = site->from;
        site_sums(site, &out->factors);
        out->kwh += site->kwh;
        out->excess_kwh += site->excess_kwh;
        out->kgce += site->kgce;
        out->kgco2 += site->kgco2;
        out->cost += site->cost;
        per_day += site->savings.kwh_per_day;
    }
    an_savings_compute(per_day, 1.0, &out->factors, &out->savings);
    return 0;
}

void an_result_free(an_result_t *r)
{
    if (!r)
        return;
    for (size_t s = 0; s < r->n_sites; s++) {
        for (size_t i = 0; i < r->sites[s].n_channels; i++) {
            an_channel_free(&r->sites[s].channels[i].ch);
            free(r->sites[s].channels[i].declared);
            an_corr_free(r->sites[s].channels[i].corr);
        }
        free(r->sites[s].channels);
        free(r->sites[s].hosts);
        free(r->sites[s].flagged);
    }
    free(r->sites);
    memset(r, 0, sizeof *r);
}

int an_write(const an_result_t *r, an_format_t fmt, FILE *out, char *err, size_t errlen)
{
    switch (fmt) {
    case AN_FMT_JSON:
        return an_output_json(r, out, err, errlen);
    case AN_FMT_CSV:
        return an_output_csv(r, out, err, errlen);
    case AN_FMT_TEXT:
        break;
    }
    return an_output_text(r, out, err, errlen);
}

int an_run(const an_run_opts_t *o, FILE *out, char *err, size_t errlen)
{
    an_result_t r;
    if (an_collect(o, &r, err, errlen) < 0)
        return -1;
    int rc = an_write(&r, o->format, out, err, errlen);
    an_result_free(&r);
    return rc;
}
