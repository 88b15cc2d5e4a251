/* The analysis behind the pages, kept fresh, and the collector's status.
 *
 * A snapshot is one an_collect() over every site with the default window and factors.  A
 * thread looks at the channel files every refresh_s seconds and publishes a new snapshot when
 * one has changed; requests hold a reference to the snapshot they started with, so a refresh
 * never changes a page half-way.  Reports with their own sites, period and factors run
 * dd_run() on demand. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "dashboard/dash-private.h"

#define CACHE_SLOTS 64

struct cache_slot {
    char *key;
    time_t mtime;
    char *body;
    size_t len;
    uint64_t used;
};

struct dash_data {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int thread_started, stopping;
    siteconf_t cfg; /* shallow copy of the caller's, data_dir overridden */
    int have_cfg;
    char data_dir[SC_PATH_MAX], status_file[SC_PATH_MAX], factors[600], tz[SC_ID_MAX];
    int refresh_s;
    FILE *log;
    dd_snap_t *snap;
    uint64_t gen;
    /* status file cache */
    struct timespec status_mtime;
    cJSON *health;
    /* series cache */
    struct cache_slot cache[CACHE_SLOTS];
    uint64_t tick;
};

static void snap_free(dd_snap_t *s)
{
    if (!s)
        return;
    an_result_free(&s->r);
    free(s->findings);
    free(s);
}

static void base_opts(const dash_data_t *d, an_run_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->cfg = d->have_cfg ? &d->cfg : NULL;
    o->data_dir = d->have_cfg ? NULL : d->data_dir;
    o->rrdcached = d->have_cfg && d->cfg.storage.rrdcached[0] ? d->cfg.storage.rrdcached : NULL;
    o->channel.tz = d->tz[0] ? d->tz : NULL;
    o->format = AN_FMT_JSON;
    o->warn = d->log ? d->log : NULL;
}

static time_t newest_mtime(const an_result_t *r)
{
    time_t t = 0;
    struct stat sb;
    for (size_t s = 0; s < r->n_sites; s++)
        for (size_t c = 0; c < r->sites[s].n_channels; c++)
            if (stat(r->sites[s].channels[c].file, &sb) == 0 && sb.st_mtime > t)
                t = sb.st_mtime;
    return t;
}

static dd_snap_t *snap_build(dash_data_t *d, char *err, size_t errlen)
{
    an_run_opts_t o;
    base_opts(d, &o);
    if (an_factors_parse(d->factors, &o.factors, err, errlen) < 0)
        return NULL;
    dd_snap_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    FILE *quiet = d->log ? NULL : fopen("/dev/null", "w");
    if (quiet)
        o.warn = quiet;
    int rc = an_collect(&o, &s->r, err, errlen);
    if (quiet)
        fclose(quiet);
    if (rc < 0) {
        free(s);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->r.n_sites; i++)
        for (size_t c = 0; c < s->r.sites[i].n_channels; c++) {
            const an_channel_result_t *ch = &s->r.sites[i].channels[c];
            n += ch->ch.n_findings + (ch->corr ? ch->corr->n_findings : 0);
        }
    s->findings = calloc(n ? n : 1, sizeof *s->findings);
    if (!s->findings) {
        snap_free(s);
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < s->r.n_sites; i++)
        for (size_t c = 0; c < s->r.sites[i].n_channels; c++) {
            const an_channel_result_t *ch = &s->r.sites[i].channels[c];
            size_t nc = ch->corr ? ch->corr->n_findings : 0;
            for (size_t f = 0; f < ch->ch.n_findings + nc; f++) {
                dd_finding_ref_t *x = &s->findings[s->n_findings++];
                x->corr = f >= ch->ch.n_findings;
                x->site = i;
                x->channel = c;
                x->finding = x->corr ? f - ch->ch.n_findings : f;
                dd_finding_id(ch, x->corr, x->finding, x->id, sizeof x->id);
            }
        }
    s->computed = (int64_t)time(NULL);
    s->newest_mtime = newest_mtime(&s->r);
    return s;
}

static void publish(dash_data_t *d, dd_snap_t *s)
{
    pthread_mutex_lock(&d->lock);
    dd_snap_t *old = d->snap;
    s->gen = ++d->gen;
    s->refs = 1; /* the data's own reference */
    d->snap = s;
    if (old && --old->refs == 0)
        snap_free(old);
    pthread_mutex_unlock(&d->lock);
}

static void *refresher(void *arg)
{
    dash_data_t *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += d->refresh_s;
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
        if (d->stopping)
            break;
        dd_snap_t *cur = d->snap;
        cur->refs++;
        pthread_mutex_unlock(&d->lock);
        time_t m = newest_mtime(&cur->r);
        int changed = m != cur->newest_mtime;
        dd_release(d, cur);
        if (changed) {
            char err[512];
            dd_snap_t *s = snap_build(d, err, sizeof err);
            if (s)
                publish(d, s);
            else if (d->log)
                fprintf(d->log, "dashboard: refresh failed: %s\n", err);
        }
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

dash_data_t *dd_open(const dd_opts_t *o, char *err, size_t errlen)
{
    dash_data_t *d = calloc(1, sizeof *d);
    if (!d) {
        wa_err(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    d->log = o->log;
    d->refresh_s = o->refresh_s > 0 ? o->refresh_s : 30;
    wa_strlcpy(d->factors, o->factors ? o->factors : "cn-grid-2022", sizeof d->factors);
    if (o->cfg) {
        d->cfg = *o->cfg;
        d->have_cfg = 1;
        if (o->data_dir)
            wa_strlcpy(d->cfg.storage.data_dir, o->data_dir, sizeof d->cfg.storage.data_dir);
        wa_strlcpy(d->data_dir, d->cfg.storage.data_dir, sizeof d->data_dir);
    } else if (!o->data_dir || wa_strlcpy(d->data_dir, o->data_dir, sizeof d->data_dir) < 0) {
        errno = EINVAL;
        wa_err(err, errlen, "a config or a data folder is needed");
        goto fail;
    }
    const char *st = o->status_file ? o->status_file : o->cfg ? o->cfg->status_file : "";
    wa_strlcpy(d->status_file, st, sizeof d->status_file);
    const char *tz = o->tz ? o->tz : o->cfg ? o->cfg->timezone : "";
    wa_strlcpy(d->tz, tz, sizeof d->tz);
    an_factors_t f;
    if (an_factors_parse(d->factors, &f, err, errlen) < 0)
        goto fail;
    dd_snap_t *s = snap_build(d, err, errlen);
    if (!s)
        goto fail;
    publish(d, s);
    if (pthread_create(&d->thread, NULL, refresher, d) != 0) {
        wa_err(err, errlen, "cannot start the refresh thread");
        goto fail;
    }
    d->thread_started = 1;
    return d;
fail:
    dd_close(d);
    return NULL;
}

void dd_close(dash_data_t *d)
{
    if (!d)
        return;
    if (d->thread_started) {
        pthread_mutex_lock(&d->lock);
        d->stopping = 1;
        pthread_cond_signal(&d->wake);
        pthread_mutex_unlock(&d->lock);
        pthread_join(d->thread, NULL);
    }
    if (d->snap && --d->snap->refs == 0)
        snap_free(d->snap);
    cJSON_Delete(d->health);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(d->cache[i].key);
        free(d->cache[i].body);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

dd_snap_t *dd_acquire(dash_data_t *d)
{
    pthread_mutex_lock(&d->lock);
    dd_snap_t *s = d->snap;
    s->refs++;
    pthread_mutex_unlock(&d->lock);
    return s;
}

void dd_release(dash_data_t *d, dd_snap_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&d->lock);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&d->lock);
    if (last)
        snap_free(s);
}

const an_channel_result_t *dd_channel(const dd_snap_t *s, const char *id, size_t *site)
{
    for (size_t i = 0; i < s->r.n_sites; i++)
        for (size_t c = 0; c < s->r.sites[i].n_channels; c++)
            if (strcmp(s->r.sites[i].channels[c].id, id) == 0) {
                if (site)
                    *site = i;
                return &s->r.sites[i].channels[c];
            }
    return NULL;
}

const dd_finding_ref_t *dd_finding(const dd_snap_t *s, const char *id)
{
    for (size_t i = 0; i < s->n_findings; i++)
        if (strcmp(s->findings[i].id, id) == 0)
            return &s->findings[i];
    return NULL;
}

const char *dd_default_factors(const dash_data_t *d)
{
    return d->factors;
}

/* Data-folder mode: a temporary folder of links to the chosen sites' folders. */
static int link_sites(const char *data_dir, char (*sites)[SC_ID_MAX], size_t n, char *tmp,
                      size_t tmplen, char *err, size_t errlen)
{
    snprintf(tmp, tmplen, "/tmp/wattaudit-report-XXXXXX");
    if (!mkdtemp(tmp))
        return wa_err(err, errlen, "mkdtemp: %s", strerror(errno));
    for (size_t i = 0; i < n; i++) {
        char src[3 * SC_PATH_MAX + SC_ID_MAX + 3], dst[SC_PATH_MAX + SC_ID_MAX + 2];
        struct stat sb;
        snprintf(src, sizeof src, "%s/%s", data_dir, sites[i]);
        snprintf(dst, sizeof dst, "%s/%s", tmp, sites[i]);
        if (src[0] != '/') {
            char cwd[SC_PATH_MAX];
            if (!getcwd(cwd, sizeof cwd))
                return wa_err(err, errlen, "getcwd: %s", strerror(errno));
            snprintf(src, sizeof src, "%s/%s/%s", cwd, data_dir, sites[i]);
        }
        if (stat(src, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
            errno = ENOENT;
            return wa_err(err, errlen, "%s", sites[i]);
        }
        if (symlink(src, dst) < 0)
            return wa_err(err, errlen, "symlink: %s", strerror(errno));
    }
    return 0;
}

static void unlink_sites(const char *tmp, char (*sites)[SC_ID_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char dst[SC_PATH_MAX + SC_ID_MAX + 2];
        snprintf(dst, sizeof dst, "%s/%s", tmp, sites[i]);
        unlink(dst);
    }
    rmdir(tmp);
}

int dd_run(dash_data_t *d, char (*sites)[SC_ID_MAX], size_t n, int64_t from, int64_t to,
           const an_factors_t *f, an_result_t *out, char *err, size_t errlen)
{
    an_run_opts_t o;
    base_opts(d, &o);
    o.from = from;
    o.to = to;
    o.factors = *f;
    siteconf_t sub;
    sc_site_t *chosen = NULL;
    char tmp[64] = "";
    if (n > 0 && d->have_cfg) {
        /* A shallow copy whose site list holds only the chosen sites, in the config's order. */
        sub = d->cfg;
        chosen = calloc(n, sizeof *chosen);
        if (!chosen)
            return wa_err(err, errlen, "out of memory");
        size_t k = 0;
        for (size_t i = 0; i < d->cfg.n_sites; i++)
            for (size_t j = 0; j < n; j++)
                if (strcmp(d->cfg.sites[i].id, sites[j]) == 0)
                    chosen[k++] = d->cfg.sites[i];
        if (k != n) {
            free(chosen);
            errno = ENOENT;
            for (size_t j = 0; j < n; j++) {
                size_t i = 0;
                while (i < d->cfg.n_sites && strcmp(d->cfg.sites[i].id, sites[j]) != 0)
                    i++;
                if (i == d->cfg.n_sites)
                    return wa_err(err, errlen, "%s", sites[j]);
            }
            return wa_err(err, errlen, "?");
        }
        sub.sites = chosen;
        sub.n_sites = k;
        o.cfg = &sub;
    } else if (n > 0) {
        if (link_sites(d->data_dir, sites, n, tmp, sizeof tmp, err, errlen) < 0) {
            int e = errno;
            if (tmp[0])
                unlink_sites(tmp, sites, n);
            errno = e;
            return -1;
        }
        o.data_dir = tmp;
    }
    FILE *quiet = d->log ? NULL : fopen("/dev/null", "w");
    if (quiet)
        o.warn = quiet;
    int rc = an_collect(&o, out, err, errlen);
    int e = errno;
    if (quiet)
        fclose(quiet);
    free(chosen);
    if (tmp[0])
        unlink_sites(tmp, sites, n);
    errno = e;
    return rc;
}

/* ---- The collector's status file (docs/collector.md, "The status file") ---- */

static double num(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

/* A device is stale when its last good poll is older than 3 poll intervals: the same three
 * intervals after which the RRD heartbeat makes its data unknown (docs/rrd-layout.md). */
#define STALE_INTERVALS 3

static cJSON *health_from(const char *text, int64_t now_real)
{
    cJSON *st = cJSON_Parse(text), *out = cJSON_CreateObject();
    if (!st || !out) {
        cJSON_Delete(st);
        cJSON_Delete(out);
        return NULL;
    }
    double written = num(st, "written"), clock = num(st, "clock");
    const cJSON *stepped = cJSON_GetObjectItemCaseSensitive(st, "stepped");
    /* On a stepped clock the collector's time is the reference; on a real one, time goes on
     * while nobody writes the file. */
    double now = cJSON_IsTrue(stepped) || !isfinite(written) ? clock : clock + (now_real - written);
    cJSON_AddItemToObject(out, "written", rj_num(written));
    cJSON_AddItemToObject(out, "written_age_s",
                          rj_num(isfinite(written) ? now_real - written : NAN));
    cJSON *sites = cJSON_AddObjectToObject(out, "sites");
    const cJSON *dev;
    cJSON_ArrayForEach(dev, cJSON_GetObjectItemCaseSensitive(st, "devices"))
    {
        const cJSON *site = cJSON_GetObjectItemCaseSensitive(dev, "site");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(dev, "device");
        if (!cJSON_IsString(site) || !cJSON_IsString(name))
            continue;
        cJSON *s = cJSON_GetObjectItemCaseSensitive(sites, site->valuestring);
        if (!s) {
            s = cJSON_AddObjectToObject(sites, site->valuestring);
            cJSON_AddNumberToObject(s, "up", 0);
            cJSON_AddNumberToObject(s, "stale", 0);
            cJSON_AddNumberToObject(s, "quarantined", 0);
            cJSON_AddArrayToObject(s, "devices");
        }
        double last_ok = num(dev, "last_ok"), interval = num(dev, "interval");
        if (!isfinite(interval) || interval <= 0)
            interval = 60;
        const char *state =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dev, "quarantined")) ? "quarantined"
            : isfinite(last_ok) && now - last_ok <= STALE_INTERVALS * interval ? "up"
                                                                               : "stale";
        cJSON *cnt = cJSON_GetObjectItemCaseSensitive(s, state);
        cJSON_SetNumberValue(cnt, cnt->valuedouble + 1);
        cJSON *dj = cJSON_CreateObject();
        cJSON_AddStringToObject(dj, "device", name->valuestring);
        cJSON_AddStringToObject(dj, "state", state);
        cJSON_AddItemToObject(dj, "last_ok", rj_num(last_ok));
        cJSON_AddItemToObject(dj, "errors", rj_num(num(dev, "errors")));
        const cJSON *le = cJSON_GetObjectItemCaseSensitive(dev, "last_error");
        cJSON_AddStringToObject(dj, "last_error", cJSON_IsString(le) ? le->valuestring : "");
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(s, "devices"), dj);
    }
    cJSON_Delete(st);
    return out;
}

cJSON *dd_health(dash_data_t *d)
{
    struct stat sb;
    if (!d->status_file[0] || stat(d->status_file, &sb) < 0)
        return NULL;
    pthread_mutex_lock(&d->lock);
    if (!d->health || sb.st_mtim.tv_sec != d->status_mtime.tv_sec ||
        sb.st_mtim.tv_nsec != d->status_mtime.tv_nsec) {
        FILE *f = fopen(d->status_file, "r");
        char *text = NULL;
        size_t cap = 0;
        if (f) {
            text = malloc((size_t)sb.st_size + 1);
            if (text) {
                cap = fread(text, 1, (size_t)sb.st_size, f);
                text[cap] = '\0';
            }
            fclose(f);
        }
        cJSON *h = text ? health_from(text, (int64_t)time(NULL)) : NULL;
        free(text);
        if (h) {
            cJSON_Delete(d->health);
            d->health = h;
            d->status_mtime = sb.st_mtim;
        }
    }
    cJSON *copy = d->health ? cJSON_Duplicate(d->health, 1) : NULL;
    pthread_mutex_unlock(&d->lock);
    return copy;
}

void dd_status_stamp(dash_data_t *d, char *buf, size_t len)
{
    struct stat sb;
    if (!d->status_file[0] || stat(d->status_file, &sb) < 0)
        snprintf(buf, len, "none");
    else
        snprintf(buf, len, "%lld.%09ld", (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
}

/* ---- Response cache for series (LRU of CACHE_SLOTS) ---- */

char *dd_cache_get(dash_data_t *d, const char *key, time_t mtime, size_t *len)
{
    char *out = NULL;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct cache_slot *c = &d->cache[i];
        if (c->key && c->mtime == mtime && strcmp(c->key, key) == 0) {
            if ((out = malloc(c->len + 1))) {
                memcpy(out, c->body, c->len + 1);
                *len = c->len;
                c->used = ++d->tick;
            }
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return out;
}

void dd_cache_put(dash_data_t *d, const char *key, time_t mtime, const char *body, size_t len)
{
    char *k = strdup(key), *b = malloc(len + 1);
    if (!k || !b) {
        free(k);
        free(b);
        return;
    }
    memcpy(b, body, len);
    b[len] = '\0';
    pthread_mutex_lock(&d->lock);
    struct cache_slot *victim = &d->cache[0];
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct cache_slot *c = &d->cache[i];
        if (c->key && strcmp(c->key, key) == 0) {
            victim = c;
            break;
        }
        if (c->used < victim->used)
            victim = c;
    }
    free(victim->key);
    free(victim->body);
    victim->key = k;
    victim->body = b;
    victim->len = len;
    victim->mtime = mtime;
    victim->used = ++d->tick;
    pthread_mutex_unlock(&d->lock);
}
