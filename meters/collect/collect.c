/*
 * collect_run: sets up storage, the buses and their devices, runs the scheduler, and hands
 * back the counters.  collect_check: the checks of a config against the profiles.
 */
#include "meters/collect/collect-private.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void teardown(collector_t *c)
{
    for (size_t i = 0; i < c->n_devs; i++)
        device_free(&c->devs[i]);
    for (size_t i = 0; i < c->n_buses; i++) {
        mbus_free(c->buses[i].mb);
        free(c->buses[i].devs);
        pthread_mutex_destroy(&c->buses[i].mu);
    }
    free(c->devs);
    free(c->buses);
    hosts_free(c->hosts);
    storage_close(c->st);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->go);
    pthread_cond_destroy(&c->done);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->wake_mu);
    free(c);
}

/* A bus of one USB device, with the configured bus's id. */
static int add_usb_bus(collector_t *c, const sc_site_t *site, const sc_bus_t *bc,
                       const sc_device_t *dc, char *err, size_t errlen)
{
    cbus_t *b = &c->buses[c->n_buses++];
    cdev_t *dev;
    b->c = c;
    b->site = site;
    b->cfg = bc;
    b->usb = 1;
    pthread_mutex_init(&b->mu, NULL);
    b->devs = calloc(1, sizeof *b->devs);
    if (!b->devs) {
        errno = ENOMEM;
        return wa_err(err, errlen, "out of memory");
    }
    dev = &c->devs[c->n_devs++];
    if (device_setup(c, dev, b, site, dc, err, errlen) != 0)
        return -1;
    b->devs[b->n_devs++] = dev;
    return 0;
}

static collector_t *setup(const siteconf_t *cfg, const profile_set_t *ps, const collect_opts_t *o,
                          char *err, size_t errlen)
{
    collector_t *c = calloc(1, sizeof *c);
    size_t nb = 0, nd = 0;
    struct timespec ts;

    if (!c) {
        wa_err(err, errlen, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->ps = ps;
    c->o = o;
    c->log = o->log;
    c->clock = o->clock;
    c->status_file = o->status_file ? o->status_file : cfg->status_file;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->started_real = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->go, NULL);
    pthread_cond_init(&c->done, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->wake, &ca);
        pthread_condattr_destroy(&ca);
    }
    pthread_mutex_init(&c->wake_mu, NULL);
    /* A USB device gets a bus (a thread) of its own: a UPS that stalls delays nothing else. */
    for (size_t s = 0; s < cfg->n_sites; s++)
        for (size_t i = 0; i < cfg->sites[s].n_buses; i++)
            nb += cfg->sites[s].buses[i].kind == SC_BUS_USB ? cfg->sites[s].buses[i].n_devices : 1;
    nd = siteconf_count_devices(cfg);
    c->buses = calloc(nb ? nb : 1, sizeof *c->buses);
    c->devs = calloc(nd ? nd : 1, sizeof *c->devs);
    if (!c->buses || !c->devs) {
        wa_err(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t s = 0; s < cfg->n_sites; s++)
        for (size_t i = 0; i < cfg->sites[s].n_buses; i++) {
            const sc_bus_t *bc = &cfg->sites[s].buses[i];
            if (bc->kind == SC_BUS_USB) {
                for (size_t d = 0; d < bc->n_devices; d++)
                    if (add_usb_bus(c, &cfg->sites[s], bc, &bc->devices[d], err, errlen) != 0)
                        goto fail;
                continue;
            }
            cbus_t *b = &c->buses[c->n_buses];
            b->c = c;
            b->site = &cfg->sites[s];
            b->cfg = bc;
            pthread_mutex_init(&b->mu, NULL);
            c->n_buses++;
            b->devs = calloc(bc->n_devices ? bc->n_devices : 1, sizeof *b->devs);
            if (!b->devs) {
                wa_err(err, errlen, "out of memory");
                goto fail;
            }
            c->n_stepped++;
            b->mb = mbus_new(bc, err, errlen);
            if (!b->mb)
                goto fail;
            for (size_t d = 0; d < bc->n_devices; d++) {
                cdev_t *dev = &c->devs[c->n_devs++];
                if (device_setup(c, dev, b, &cfg->sites[s], &bc->devices[d], err, errlen) != 0)
                    goto fail;
                b->devs[b->n_devs++] = dev;
            }
        }
    c->hosts = hosts_new(c, err, errlen);
    if (!c->hosts)
        goto fail;
    c->st = storage_open(cfg->storage.data_dir, cfg->storage.rrdcached, err, errlen);
    if (!c->st)
        goto fail;
    return c;
fail: {
    int e = errno;
    teardown(c);
    errno = e ? e : EINVAL;
    return NULL;
}
}

static void fill_result(collector_t *c, collect_result_t *res)
{
    size_t n_hosts = hosts_count(c->hosts);
    /* The hosts follow the devices in one block, so that callers who free(devices) free both;
     * the devices' size keeps the hosts aligned (both hold doubles and uint64_t only). */
    size_t dev_bytes = (c->n_devs ? c->n_devs : 1) * sizeof *res->devices;
    _Static_assert(_Alignof(collect_host_status_t) <= _Alignof(collect_device_status_t),
                   "host status aligned after the devices");
    memset(res, 0, sizeof *res);
    res->devices = calloc(1, dev_bytes + n_hosts * sizeof *res->hosts);
    if (res->devices) {
        for (size_t i = 0; i < c->n_devs; i++)
            status_snapshot(&c->devs[i], &res->devices[i]);
        res->n_devices = c->n_devs;
        if (n_hosts) {
            res->hosts = (collect_host_status_t *)(void *)((char *)res->devices + dev_bytes);
            for (size_t i = 0; i < n_hosts; i++)
                hosts_snapshot(c->hosts, i, &res->hosts[i], NULL);
            res->n_hosts = n_hosts;
        }
    }
    res->stored = atomic_load(&c->stored);
    res->cycles = c->cycles;
    for (size_t i = 0; i < c->n_buses; i++) {
        mbus_stats_t ms;
        mbus_get_stats(c->buses[i].mb, &ms);
        res->transactions += ms.requests;
    }
}

int collect_run(const siteconf_t *cfg, const profile_set_t *ps, const collect_opts_t *o,
                collect_result_t *res, char *err, size_t errlen)
{
    collector_t *c;
    double t0;
    int rc;

    if (res)
        memset(res, 0, sizeof *res);
    if (!cfg || !ps || !o) {
        errno = EINVAL;
        return wa_err(err, errlen, "collect_run: missing config, profiles or options");
    }
    if (collect_check(cfg, ps, err, errlen) != 0)
        return -1;
    c = setup(cfg, ps, o, err, errlen);
    if (!c)
        return -1;
    t0 = collect_now(c);
    for (size_t i = 0; i < c->n_devs; i++) {
        cdev_t *d = &c->devs[i];
        double iv = d->cfg->interval_s, t = d->usb ? wa_clock_now(NULL) : t0;
        /* Stepped time polls on the interval's grid from the start; real time starts at once
         * and then keeps to the grid.  A UPS is always read in real time. */
        d->next_due = wa_clock_is_stepped(c->clock) && !d->usb ? ceil(t / iv) * iv : t;
        /* A new file starts one interval before the first poll, so that the first reading
         * fills a whole step instead of 1 s of one (which RRD would leave unknown). */
        if (device_open_storage(d, (int64_t)floor(t) - (int64_t)iv, err, errlen) != 0) {
            int e = errno;
            teardown(c);
            errno = e;
            return -1;
        }
    }
    if (hosts_open_storage(c->hosts, t0, err, errlen) != 0) {
        int e = errno;
        teardown(c);
        errno = e;
        return -1;
    }
    {
        size_t n_usb = 0, n_cfg_buses = 0;
        for (size_t i = 0; i < c->n_devs; i++)
            n_usb += c->devs[i].usb != NULL;
        for (size_t s = 0; s < cfg->n_sites; s++)
            n_cfg_buses += cfg->sites[s].n_buses;
        wa_log(c->log, WA_LOG_INFO, "collecting from %zu devices on %zu buses and %zu hosts%s",
               c->n_devs, n_cfg_buses, hosts_count(c->hosts),
               wa_clock_is_stepped(c->clock) ? " (stepped clock)" : "");
        if (n_usb && wa_clock_is_stepped(c->clock))
            wa_log(c->log, WA_LOG_WARN, "%zu USB device(s) are read in real time, not on the "
                   "stepped clock", n_usb);
    }
    rc = sched_run(c, err, errlen);
    {
        char e2[512];
        if (storage_flush(c->st, e2, sizeof e2) != 0)
            wa_log(c->log, WA_LOG_ERROR, "storage: final flush failed: %s", e2);
        if (status_write(c, e2, sizeof e2) != 0)
            wa_log(c->log, WA_LOG_WARN, "status file: %s", e2);
    }
    status_log_summary(c, WA_LOG_INFO);
    if (res)
        fill_result(c, res);
    teardown(c);
    return rc;
}

/* quality: voltage, current, pf and frequency are stored too (storage.quality). */
static int stores_something(const profile_t *p, const char *channel, int quality)
{
    int n_ds = quality ? STORAGE_DS_COUNT_ : STORAGE_DS_VOLTAGE;
    for (size_t r = 0; r < p->n_regs; r++) {
        int ds = device_quantity_ds(p->regs[r].quantity);
        if (strcmp(p->regs[r].channel, channel) == 0 && ds >= 0 && ds < n_ds)
            return 1;
    }
    return 0;
}

static int has_channel(const profile_t *p, const char *channel)
{
    for (size_t i = 0; i < p->n_channels; i++)
        if (strcmp(p->channels[i], channel) == 0)
            return 1;
    return 0;
}

static int check_device(const siteconf_t *cfg, const profile_set_t *ps, const sc_device_t *d,
                        char *err, size_t errlen)
{
    const profile_t *p = profile_set_find(ps, d->profile);
    int max_regs;
    if (!p) {
        errno = WA_EPROFILE;
        return wa_err(err, errlen, "%s:%d: device \"%s\": no profile \"%s\" (see wattaudit "
                      "profiles)", cfg->file, d->line, d->id, d->profile);
    }
    max_regs = d->max_regs > 0 ? d->max_regs : p->max_regs;
    if (max_regs > PLAN_MAX_REGS) {
        errno = WA_ECONFIG;
        return wa_err(err, errlen, "%s:%d: device \"%s\": max_regs %d is more than the 125 "
                      "registers a Modbus read can carry", cfg->file, d->line, d->id, max_regs);
    }
    for (size_t k = 0; k < d->n_channels; k++) {
        const sc_channel_t *ch = &d->channels[k];
        errno = WA_ECONFIG;
        if (!has_channel(p, ch->source)) {
            char list[512] = "";
            size_t off = 0;
            for (size_t i = 0; i < p->n_channels && off < sizeof list - 2; i++)
                off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "",
                                        p->channels[i]);
            return wa_err(err, errlen, "%s:%d: channel \"%s\": profile \"%s\" has no channel "
                          "\"%s\" (it has: %s)", cfg->file, ch->line, ch->id, p->name, ch->source,
                          list);
        }
        if (!stores_something(p, ch->source, cfg->storage.quality))
            return wa_err(err, errlen, "%s:%d: channel \"%s\": profile \"%s\" channel \"%s\" has "
                          "no %s row to record", cfg->file, ch->line, ch->id, p->name, ch->source,
                          cfg->storage.quality ? "power, energy, voltage, current, pf or frequency"
                                               : "power or energy (storage.quality is false)");
    }
    return 0;
}

int collect_check(const siteconf_t *cfg, const profile_set_t *ps, char *err, size_t errlen)
{
    if (!cfg || !ps) {
        errno = EINVAL;
        return wa_err(err, errlen, "collect_check: missing config or profiles");
    }
    for (size_t s = 0; s < cfg->n_sites; s++)
        for (size_t b = 0; b < cfg->sites[s].n_buses; b++)
            for (size_t d = 0; d < cfg->sites[s].buses[b].n_devices; d++) {
                /* A USB device has no profile: what it reports is found on the device. */
                if (cfg->sites[s].buses[b].kind == SC_BUS_USB)
                    continue;
                if (check_device(cfg, ps, &cfg->sites[s].buses[b].devices[d], err, errlen) != 0)
                    return -1;
            }
    return 0;
}
