/*
 * Compute load: every host of a site's inventory that has an exporter is scraped on its
 * interval, and each scrape stores one sample in DATA/<site>/hosts/<host>.rrd (the layout is in
 * docs/rrd-layout.md, "Host files"; the behaviour in docs/collector.md, "Hosts").
 *
 * A few worker threads share the hosts, so that a hung exporter holds one worker for at most
 * its timeouts and never a Modbus bus.  Real time: a worker takes the idle host due first and
 * sleeps until it is due.  Stepped time: the driver hands the hosts due at a cycle's time to the
 * workers (hosts_cycle) and waits for them, so that every scrape happens at one of the clock's
 * times and a simulated exporter reading the same clock answers for that moment.
 *
 * Locks: h->mu guards every host's busy and queued flags, its next due time and published
 * counters, and the cycle.  The rest of a host (its previous CPU counters, failure states and
 * working counters) belongs to the worker that holds it busy.
 */
#include "meters/collect/collect-private.h"

#include "meters/prom/prom.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prometheus's default scrape_timeout, 10 s (prometheus.io, Configuration, the `global`
 * section).  An exporter also gets no more than half the host's interval, so that a host's
 * two exporters together fit in one interval. */
#define SCRAPE_TIMEOUT_MS 10000
/* Workers at most.  Scrapes wait on the network, not on a core; four let three exporters
 * hang at once while the rest keep their times. */
#define WORKERS_MAX 4
/* The CPU counters of a good scrape serve as the base of the next one for this many intervals
 * (the host file's heartbeat); after a longer gap a scrape only primes them again. */
#define CPU_BRIDGE_INTERVALS 3

enum { EXP_NODE, EXP_GPU, EXP_COUNT_ };

static const char *const exp_names[EXP_COUNT_] = {"exporter", "gpu_exporter"};

typedef struct chost {
    const sc_site_t *site;
    const sc_host_t *cfg;
    char rel[3 * SC_ID_MAX + 8];    /* <site>/hosts/<host> */
    char label[2 * SC_ID_MAX + 16]; /* "site S host H" for messages */
    const char *url[EXP_COUNT_];    /* NULL: none configured */
    int timeout_ms;
    /* the scraping worker's own */
    int have_cpu;
    double cpu_total, cpu_idle, cpu_t; /* the last good node_exporter counters and when */
    int failing[EXP_COUNT_];
    char last_msg[EXP_COUNT_][320];
    collect_host_status_t work;
    /* under hosts.mu */
    int busy, queued;
    double next_due;
    collect_host_status_t st; /* the published copy of work */
} chost_t;

struct hosts {
    collector_t *c;
    chost_t *h;
    size_t n;
    pthread_mutex_t mu;
    pthread_cond_t work; /* a host was queued or went idle, or the collector stops */
    pthread_cond_t done; /* stepped: the last host of a cycle is done */
    pthread_t th[WORKERS_MAX];
    size_t n_th;
    int stepped;
    double cycle_t;
    size_t pending; /* stepped: hosts of the cycle not done yet */
};

hosts_t *hosts_new(collector_t *c, char *err, size_t errlen)
{
    const siteconf_t *cfg = c->cfg;
    size_t n = 0;
    hosts_t *h = calloc(1, sizeof *h);
    if (!h)
        goto nomem;
    for (size_t s = 0; s < cfg->n_sites; s++)
        for (size_t i = 0; i < cfg->sites[s].n_hosts; i++)
            n += cfg->sites[s].hosts[i].exporter[0] || cfg->sites[s].hosts[i].gpu_exporter[0];
    h->h = calloc(n ? n : 1, sizeof *h->h);
    if (!h->h)
        goto nomem;
    h->c = c;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->work, NULL);
    pthread_cond_init(&h->done, NULL);
    for (size_t s = 0; s < cfg->n_sites; s++)
        for (size_t i = 0; i < cfg->sites[s].n_hosts; i++) {
            const sc_host_t *hc = &cfg->sites[s].hosts[i];
            chost_t *ho = &h->h[h->n];
            int iv_ms = hc->interval_s > 0 ? hc->interval_s * 500 : 500;
            if (!hc->exporter[0] && !hc->gpu_exporter[0])
                continue;
            ho->site = &cfg->sites[s];
            ho->cfg = hc;
            ho->url[EXP_NODE] = hc->exporter[0] ? hc->exporter : NULL;
            ho->url[EXP_GPU] = hc->gpu_exporter[0] ? hc->gpu_exporter : NULL;
            ho->timeout_ms = iv_ms < SCRAPE_TIMEOUT_MS ? iv_ms : SCRAPE_TIMEOUT_MS;
            snprintf(ho->rel, sizeof ho->rel, "%s/hosts/%s", ho->site->id, hc->id);
            snprintf(ho->label, sizeof ho->label, "site %s host %s", ho->site->id, hc->id);
            wa_strlcpy(ho->work.site, ho->site->id, sizeof ho->work.site);
            wa_strlcpy(ho->work.host, hc->id, sizeof ho->work.host);
            ho->work.cpu = ho->work.gpu = ho->work.gpu_w = ho->work.gauge = NAN;
            ho->st = ho->work;
            h->n++;
        }
    return h;
nomem:
    if (h)
        free(h->h);
    free(h);
    errno = ENOMEM;
    wa_err(err, errlen, "out of memory");
    return NULL;
}

void hosts_free(hosts_t *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->work);
    pthread_cond_destroy(&h->done);
    free(h->h);
    free(h);
}

size_t hosts_count(const hosts_t *h)
{
    return h ? h->n : 0;
}

int hosts_open_storage(hosts_t *h, double t0, char *err, size_t errlen)
{
    const sc_storage_t *sc = &h->c->cfg->storage;
    int stepped = wa_clock_is_stepped(h->c->clock);
    for (size_t i = 0; i < h->n; i++) {
        chost_t *ho = &h->h[i];
        double iv = ho->cfg->interval_s > 0 ? ho->cfg->interval_s : 60;
        storage_layout_t lay = {
            .step_s = (int)iv,
            .full_days = sc->full_days,
            .mid_step_s = sc->mid_step_s,
            .mid_days = sc->mid_days,
            .long_step_s = sc->long_step_s,
            .long_days = sc->long_days,
        };
        /* As for devices: stepped time keeps to the interval's grid from the start, real time
         * scrapes at once; a new file starts one interval before the first scrape. */
        ho->next_due = stepped ? ceil(t0 / iv) * iv : t0;
        if (storage_ensure_host(h->c->st, ho->rel, &lay, (int64_t)floor(t0) - (int64_t)iv, err,
                                errlen) != 0)
            return -1;
    }
    return 0;
}

/* "URL: msg", unless msg names the URL already. */
static int url_err(char *why, size_t len, const char *url, const char *msg)
{
    if (strncmp(msg, url, strlen(url)) == 0)
        return wa_err(why, len, "%s", msg);
    return wa_err(why, len, "%s: %s", url, msg);
}

/* GETs and reads one exporter's page.  0, or -1 with the reason (the URL first) in why. */
static int scrape_one(const chost_t *ho, int e, prom_load_t *out, char *why, size_t len)
{
    char err[320], *body = NULL;
    size_t n = 0;
    const char *url = ho->url[e];
    prom_set_t *set;
    if (prom_scrape(url, ho->timeout_ms, 0, &body, &n, err, sizeof err) != 0)
        return url_err(why, len, url, err);
    set = prom_parse(body, n, url, err, sizeof err);
    free(body);
    if (!set)
        return url_err(why, len, url, err);
    prom_load_read(set, ho->cfg->gauge, out);
    prom_set_free(set);
    /* A page without the metrics this URL is configured for is a wrong URL, not a quiet host. */
    if (e == EXP_NODE && isnan(out->cpu_total))
        return wa_err(why, len, "%s: no node_cpu_seconds_total in the page", url);
    if (e == EXP_GPU && isnan(out->gpu_util) && isnan(out->gpu_power_w))
        return wa_err(why, len,
                      "%s: neither DCGM_FI_DEV_GPU_UTIL nor DCGM_FI_DEV_POWER_USAGE in the page",
                      url);
    return 0;
}

/* Logs a change of an exporter's state: a failure when it starts or its reason changes (the
 * repeats at debug level), a recovery once. */
static void note(const hosts_t *h, chost_t *ho, int e, const char *why)
{
    const wa_log_t *log = h->c->log;
    if (!why) {
        if (ho->failing[e])
            wa_log(log, WA_LOG_INFO, "%s: %s %s answers again", ho->label, exp_names[e],
                   ho->url[e]);
        ho->failing[e] = 0;
        return;
    }
    int same = ho->failing[e] && strcmp(ho->last_msg[e], why) == 0;
    wa_log(log, same ? WA_LOG_DEBUG : WA_LOG_WARN, "%s: scrape of its %s failed: %s", ho->label,
           exp_names[e], why);
    ho->failing[e] = 1;
    wa_strlcpy(ho->last_msg[e], why, sizeof ho->last_msg[e]);
}

/* One scrape of ho at clock time t: its exporters, one sample stored at t, the counters.
 * Returns the next due time. */
static double scrape_host(hosts_t *h, chost_t *ho, double t)
{
    collector_t *c = h->c;
    double iv = ho->cfg->interval_s > 0 ? ho->cfg->interval_s : 60;
    storage_sample_t s;
    prom_load_t l;
    char why[sizeof ho->work.last_error];
    int failed = 0;

    for (int i = 0; i < STORAGE_DS_COUNT_; i++)
        s.v[i] = NAN;
    if (ho->url[EXP_NODE]) {
        if (scrape_one(ho, EXP_NODE, &l, why, sizeof why) == 0) {
            if (ho->have_cpu && t - ho->cpu_t < (CPU_BRIDGE_INTERVALS + 0.5) * iv)
                s.v[STORAGE_HOST_CPU] =
                    prom_cpu_busy(ho->cpu_total, ho->cpu_idle, l.cpu_total, l.cpu_idle);
            ho->have_cpu = 1;
            ho->cpu_total = l.cpu_total;
            ho->cpu_idle = l.cpu_idle;
            ho->cpu_t = t;
            s.v[STORAGE_HOST_GAUGE] = l.gauge;
            note(h, ho, EXP_NODE, NULL);
        } else {
            failed++;
            note(h, ho, EXP_NODE, why);
            wa_strlcpy(ho->work.last_error, why, sizeof ho->work.last_error);
        }
    }
    if (ho->url[EXP_GPU]) {
        if (scrape_one(ho, EXP_GPU, &l, why, sizeof why) == 0) {
            /* DCGM gives percent (DCGM_FI_DEV_GPU_UTIL, "GPU utilization (in %)"). */
            s.v[STORAGE_HOST_GPU] = l.gpu_util / 100.0;
            s.v[STORAGE_HOST_GPU_W] = l.gpu_power_w;
            if (isnan(s.v[STORAGE_HOST_GAUGE]))
                s.v[STORAGE_HOST_GAUGE] = l.gauge;
            note(h, ho, EXP_GPU, NULL);
        } else {
            failed++;
            note(h, ho, EXP_GPU, why);
            wa_strlcpy(ho->work.last_error, why, sizeof ho->work.last_error);
        }
    }
    if (storage_put(c->st, ho->rel, (int64_t)floor(t), &s) == 0)
        atomic_fetch_add(&c->stored, 1);
    else
        wa_log(c->log, WA_LOG_WARN, "%s: cannot queue its sample: %s", ho->label,
               wa_strerror(errno));

    ho->work.scrapes++;
    if (failed) {
        ho->work.errors++;
        ho->work.last_error_time = t;
    } else {
        ho->work.ok++;
        ho->work.last_ok = t;
    }
    ho->work.cpu = s.v[STORAGE_HOST_CPU];
    ho->work.gpu = s.v[STORAGE_HOST_GPU];
    ho->work.gpu_w = s.v[STORAGE_HOST_GPU_W];
    ho->work.gauge = s.v[STORAGE_HOST_GAUGE];
    /* Real time: a scrape that overran its slot skips it rather than scraping twice in a row. */
    return poll_align(h->stepped ? t : collect_now(c), ho->cfg->interval_s);
}

/* The idle host due first (real time), or the first queued one (stepped); NULL if none. */
static chost_t *pick(hosts_t *h)
{
    chost_t *best = NULL;
    for (size_t i = 0; i < h->n; i++) {
        chost_t *ho = &h->h[i];
        if (ho->busy)
            continue;
        if (h->stepped && ho->queued)
            return ho;
        if (!h->stepped && (!best || ho->next_due < best->next_due))
            best = ho;
    }
    return best;
}

static void *worker(void *arg)
{
    hosts_t *h = arg;
    collector_t *c = h->c;
    pthread_mutex_lock(&h->mu);
    while (!atomic_load(&c->quit)) {
        chost_t *ho = pick(h);
        double t;
        if (!ho) {
            pthread_cond_wait(&h->work, &h->mu);
            continue;
        }
        if (h->stepped) {
            t = h->cycle_t;
        } else {
            t = collect_now(c);
            if (ho->next_due > t) {
                /* Another worker that frees a host due sooner waits for that one itself. */
                double due = ho->next_due;
                pthread_mutex_unlock(&h->mu);
                sched_wait_until(c, c->clock, due);
                pthread_mutex_lock(&h->mu);
                continue;
            }
        }
        ho->busy = 1;
        ho->queued = 0;
        pthread_mutex_unlock(&h->mu);
        double next = scrape_host(h, ho, t);
        pthread_mutex_lock(&h->mu);
        ho->busy = 0;
        ho->next_due = next;
        ho->st = ho->work;
        if (h->stepped && h->pending > 0 && --h->pending == 0)
            pthread_cond_signal(&h->done);
        pthread_cond_broadcast(&h->work);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int hosts_start(hosts_t *h, int stepped, char *err, size_t errlen)
{
    size_t want = h->n < WORKERS_MAX ? h->n : WORKERS_MAX;
    h->stepped = stepped;
    for (h->n_th = 0; h->n_th < want; h->n_th++)
        if (pthread_create(&h->th[h->n_th], NULL, worker, h) != 0)
            return wa_err(err, errlen, "cannot start a thread to scrape the hosts");
    return 0;
}

void hosts_stop(hosts_t *h)
{
    /* c->quit is set: a worker that saw it clear under mu is waiting, and hears this. */
    pthread_mutex_lock(&h->mu);
    pthread_cond_broadcast(&h->work);
    pthread_cond_broadcast(&h->done);
    pthread_mutex_unlock(&h->mu);
    for (size_t i = 0; i < h->n_th; i++)
        pthread_join(h->th[i], NULL);
    h->n_th = 0;
}

/* Call with mu held. */
static double next_due_locked(const hosts_t *h)
{
    double t = INFINITY;
    for (size_t i = 0; i < h->n; i++)
        if (h->h[i].next_due < t)
            t = h->h[i].next_due;
    return t;
}

double hosts_cycle(hosts_t *h, double t)
{
    double next;
    pthread_mutex_lock(&h->mu);
    h->cycle_t = t;
    for (size_t i = 0; i < h->n; i++)
        if (h->h[i].next_due <= t) {
            h->h[i].queued = 1;
            h->pending++;
        }
    if (h->pending > 0 && h->n_th > 0)
        pthread_cond_broadcast(&h->work);
    while (h->pending > 0 && h->n_th > 0 && !atomic_load(&h->c->quit))
        pthread_cond_wait(&h->done, &h->mu);
    next = next_due_locked(h);
    pthread_mutex_unlock(&h->mu);
    return next;
}

double hosts_next_due(hosts_t *h)
{
    pthread_mutex_lock(&h->mu);
    double t = next_due_locked(h);
    pthread_mutex_unlock(&h->mu);
    return t;
}

void hosts_snapshot(hosts_t *h, size_t i, collect_host_status_t *out, const sc_host_t **cfg)
{
    pthread_mutex_lock(&h->mu);
    *out = h->h[i].st;
    if (cfg)
        *cfg = h->h[i].cfg;
    pthread_mutex_unlock(&h->mu);
}
