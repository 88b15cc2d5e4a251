/*
 * The status file (docs/collector.md lists its fields) and the per-device and per-host log
 * summary.
 *
 * The file is written to a temporary name beside it and renamed over it, so a reader (a
 * monitoring check, the dashboard) sees the old file or the new one, never half of one.
 */
#include "meters/collect/collect-private.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bumped when a field changes meaning or goes away; new fields do not bump it. */
#define STATUS_VERSION 1

void status_snapshot(cdev_t *dev, collect_device_status_t *out)
{
    pthread_mutex_lock(&dev->bus->mu);
    *out = dev->st;
    pthread_mutex_unlock(&dev->bus->mu);
}

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Times as numbers (Unix seconds) or null when they never happened. */
static void add_time(cJSON *o, const char *key, double t)
{
    if (t > 0)
        cJSON_AddNumberToObject(o, key, t);
    else
        cJSON_AddNullToObject(o, key);
}

/* What a USB device's thread knows beyond the common counters. */
static void usb_json(cdev_t *dev, cJSON *o)
{
    cusb_status_t u;
    char id[16], match[256];
    const sc_usb_t *m = &dev->cfg->usb;
    cJSON *x = cJSON_AddObjectToObject(o, "usb"), *io;
    if (!x)
        return;
    usb_snapshot(dev, &u);
    snprintf(id, sizeof id, "%04x:%04x", m->vid, m->pid);
    /* The configured criteria, as the config writes them. */
    snprintf(match, sizeof match, "%s%s%s%s%s%s%s", m->vid ? "usb_id " : "", m->vid ? id : "",
             m->vid && (m->serial[0] || m->path[0]) ? " " : "", m->serial[0] ? "serial " : "",
             m->serial, m->serial[0] && m->path[0] ? " " : "", m->path[0] ? "usb_path " : "");
    wa_strlcpy(match + strlen(match), m->path, sizeof match - strlen(match));
    cJSON_AddStringToObject(x, "match", match);
    cJSON_AddBoolToObject(x, "open", u.open);
    if (u.bound) {
        snprintf(id, sizeof id, "%04x:%04x", u.dev.vid, u.dev.pid);
        cJSON_AddStringToObject(x, "usb_id", id);
        cJSON_AddStringToObject(x, "manufacturer", u.dev.manufacturer);
        cJSON_AddStringToObject(x, "product", u.dev.product);
        cJSON_AddStringToObject(x, "serial", u.dev.serial);
        cJSON_AddStringToObject(x, "usb_path", u.dev.path);
    }
    if (u.power < 0)
        cJSON_AddNullToObject(x, "power");
    else
        cJSON_AddStringToObject(x, "power", u.power ? "estimated" : "measured");
    cJSON_AddStringToObject(x, "how", u.how);
    cJSON_AddNumberToObject(x, "energy_wh", u.energy_wh);
    cJSON_AddNumberToObject(x, "estimated_wh", u.estimated_wh);
    cJSON_AddNumberToObject(x, "gaps", (double)u.gaps);
    cJSON_AddNumberToObject(x, "gap_s", u.gap_s);
    cJSON_AddNumberToObject(x, "stale", (double)u.stale);
    io = cJSON_AddObjectToObject(x, "io");
    if (io) {
        cJSON_AddNumberToObject(io, "opens", (double)u.io.opens);
        cJSON_AddNumberToObject(io, "disconnects", (double)u.io.disconnects);
        cJSON_AddNumberToObject(io, "get_reports", (double)u.io.get_reports);
        cJSON_AddNumberToObject(io, "interrupts", (double)u.io.interrupts);
        cJSON_AddNumberToObject(io, "timeouts", (double)u.io.timeouts);
        cJSON_AddNumberToObject(io, "stalls", (double)u.io.stalls);
        cJSON_AddNumberToObject(io, "refused", (double)u.io.refused);
    }
}

static cJSON *device_json(cdev_t *dev)
{
    collect_device_status_t s;
    cJSON *o = cJSON_CreateObject(), *un;
    status_snapshot(dev, &s);
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "site", s.site);
    cJSON_AddStringToObject(o, "bus", s.bus);
    cJSON_AddStringToObject(o, "device", s.device);
    cJSON_AddStringToObject(o, "kind", dev->usb ? "usb" : "modbus");
    if (dev->usb) {
        cJSON_AddNullToObject(o, "unit");
        cJSON_AddNullToObject(o, "profile");
    } else {
        cJSON_AddNumberToObject(o, "unit", s.unit);
        cJSON_AddStringToObject(o, "profile", dev->prof->name);
    }
    cJSON_AddNumberToObject(o, "interval", dev->cfg->interval_s);
    cJSON_AddNumberToObject(o, "polls", (double)s.polls);
    cJSON_AddNumberToObject(o, "ok", (double)s.ok);
    cJSON_AddNumberToObject(o, "errors", (double)s.errors);
    cJSON_AddNumberToObject(o, "rejected", (double)s.rejected);
    cJSON_AddNumberToObject(o, "resets", (double)s.resets);
    cJSON_AddNumberToObject(o, "requests", (double)s.requests);
    cJSON_AddBoolToObject(o, "quarantined", s.quarantined);
    add_time(o, "last_ok", s.last_ok);
    add_time(o, "last_error_time", s.last_error_time);
    cJSON_AddStringToObject(o, "last_error", s.last_error);
    /* Rows the device refuses: only the bus thread writes `unavailable`, and a torn read of
     * an int flag is harmless here, but take the lock for the sanitizers' sake. */
    un = cJSON_AddArrayToObject(o, "unavailable");
    pthread_mutex_lock(&dev->bus->mu);
    for (size_t r = 0; un && r < dev->n_rows; r++)
        if (dev->rows[r].unavailable) {
            char name[2 * PROFILE_NAME_MAX + 2];
            snprintf(name, sizeof name, "%s/%s", dev->rows[r].reg->channel,
                     profile_quantity_name(dev->rows[r].reg->quantity));
            cJSON_AddItemToArray(un, cJSON_CreateString(name));
        }
    pthread_mutex_unlock(&dev->bus->mu);
    if (dev->usb)
        usb_json(dev, o);
    return o;
}

/* A value or null when unknown. */
static void add_value(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *host_json(collector_t *c, size_t i)
{
    collect_host_status_t s;
    const sc_host_t *hc;
    cJSON *o = cJSON_CreateObject(), *last;
    if (!o)
        return NULL;
    hosts_snapshot(c->hosts, i, &s, &hc);
    cJSON_AddStringToObject(o, "site", s.site);
    cJSON_AddStringToObject(o, "host", s.host);
    cJSON_AddStringToObject(o, "exporter", hc->exporter);
    cJSON_AddStringToObject(o, "gpu_exporter", hc->gpu_exporter);
    cJSON_AddNumberToObject(o, "interval", hc->interval_s);
    cJSON_AddNumberToObject(o, "scrapes", (double)s.scrapes);
    cJSON_AddNumberToObject(o, "ok", (double)s.ok);
    cJSON_AddNumberToObject(o, "errors", (double)s.errors);
    add_time(o, "last_ok", s.last_ok);
    add_time(o, "last_error_time", s.last_error_time);
    cJSON_AddStringToObject(o, "last_error", s.last_error);
    last = cJSON_AddObjectToObject(o, "last");
    if (last) {
        add_value(last, "cpu", s.cpu);
        add_value(last, "gpu", s.gpu);
        add_value(last, "gpu_w", s.gpu_w);
        add_value(last, "gauge", s.gauge);
    }
    return o;
}

int status_write(collector_t *c, char *err, size_t errlen)
{
    cJSON *root, *devs, *hs, *sto;
    storage_stats_t ss;
    char *text;
    int rc;

    if (!c->status_file || !c->status_file[0])
        return 0;
    root = cJSON_CreateObject();
    if (!root)
        return wa_err(err, errlen, "out of memory");
    cJSON_AddNumberToObject(root, "version", STATUS_VERSION);
    cJSON_AddNumberToObject(root, "pid", (double)getpid());
    cJSON_AddNumberToObject(root, "written", real_now());
    cJSON_AddNumberToObject(root, "started", c->started_real);
    cJSON_AddNumberToObject(root, "clock", collect_now(c));
    cJSON_AddBoolToObject(root, "stepped", wa_clock_is_stepped(c->clock));
    cJSON_AddNumberToObject(root, "cycles", (double)c->cycles);
    cJSON_AddNumberToObject(root, "stored", (double)atomic_load(&c->stored));
    storage_get_stats(c->st, &ss);
    sto = cJSON_AddObjectToObject(root, "storage");
    if (sto) {
        cJSON_AddNumberToObject(sto, "queued", (double)ss.queued);
        cJSON_AddNumberToObject(sto, "written", (double)ss.written);
        cJSON_AddNumberToObject(sto, "dropped_old", (double)ss.dropped_old);
        cJSON_AddNumberToObject(sto, "failed", (double)ss.failed);
        cJSON_AddNumberToObject(sto, "batches", (double)ss.batches);
    }
    devs = cJSON_AddArrayToObject(root, "devices");
    for (size_t i = 0; devs && i < c->n_devs; i++) {
        cJSON *d = device_json(&c->devs[i]);
        if (d)
            cJSON_AddItemToArray(devs, d);
    }
    hs = cJSON_AddArrayToObject(root, "hosts");
    for (size_t i = 0; hs && i < hosts_count(c->hosts); i++) {
        cJSON *h = host_json(c, i);
        if (h)
            cJSON_AddItemToArray(hs, h);
    }
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return wa_err(err, errlen, "out of memory");
    /* A snapshot rewritten every few seconds: not worth an fsync each time. */
    rc = wa_file_write_atomic_nosync(c->status_file, text, strlen(text), err, errlen);
    free(text);
    return rc;
}

void status_log_summary(collector_t *c, wa_log_level_t level)
{
    for (size_t i = 0; i < c->n_devs; i++) {
        collect_device_status_t s;
        status_snapshot(&c->devs[i], &s);
        char usb[160] = "";
        if (s.usb)
            snprintf(usb, sizeof usb, " gaps %llu stale %llu%s", (unsigned long long)s.gaps,
                     (unsigned long long)s.stale, s.estimated ? " power estimated" : "");
        wa_log(c->log, level,
               "%s: polls %llu ok %llu errors %llu rejected %llu resets %llu requests %llu%s%s%s%s",
               c->devs[i].label, (unsigned long long)s.polls, (unsigned long long)s.ok,
               (unsigned long long)s.errors, (unsigned long long)s.rejected,
               (unsigned long long)s.resets, (unsigned long long)s.requests, usb,
               s.quarantined ? " quarantined" : "", s.last_error[0] ? "; last error: " : "",
               s.last_error);
    }
    for (size_t i = 0; i < hosts_count(c->hosts); i++) {
        collect_host_status_t s;
        hosts_snapshot(c->hosts, i, &s, NULL);
        wa_log(c->log, level, "site %s host %s: scrapes %llu ok %llu errors %llu%s%s", s.site,
               s.host, (unsigned long long)s.scrapes, (unsigned long long)s.ok,
               (unsigned long long)s.errors, s.last_error[0] ? "; last error: " : "", s.last_error);
    }
}
