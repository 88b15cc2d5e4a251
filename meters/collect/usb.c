/*
 * USB HID power devices in the collector: each UPS is polled with usbhid_read() on its
 * interval, on the real clock, by a thread of its own (sched.c), so a UPS that stalls costs
 * no Modbus bus and no other UPS anything.  Its one channel is stored like a meter channel:
 * power, voltage, current, and energy integrated from power (usbhid_energy_*), continued
 * from the file's last value after a restart.  Power estimated from load x rating is marked
 * in the channel's sidecar (meta.c) and in the status file.
 *
 * Only the device's thread runs usb_poll(); dev->usb->st and dev->st are its published
 * copies, updated under the bus lock at the end of each poll.
 */
#include "meters/collect/collect-private.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Longest interval integrated, in intervals: the same as the RRD heartbeat (3 x step,
 * docs/rrd-layout.md), so energy is integrated exactly where the stored power is known. */
#define USB_MAX_GAP_INTERVALS 3
/* Power beyond this multiple of the channel's rated_w is a misreading (as in poll.c). */
#define USB_RATED_FACTOR 1.5

static void usb_publish(cdev_t *dev)
{
    pthread_mutex_lock(&dev->bus->mu);
    dev->st = dev->work;
    dev->usb->st = dev->usb->work;
    pthread_mutex_unlock(&dev->bus->mu);
}

void usb_snapshot(cdev_t *dev, cusb_status_t *out)
{
    pthread_mutex_lock(&dev->bus->mu);
    *out = dev->usb->st;
    pthread_mutex_unlock(&dev->bus->mu);
}

int usb_setup(cdev_t *dev, char *err, size_t errlen)
{
    const sc_device_t *cfg = dev->cfg;
    cusb_t *u = calloc(1, sizeof *u);
    char e2[256];
    if (!u) {
        errno = ENOMEM;
        return wa_err(err, errlen, "out of memory");
    }
    dev->usb = u;
    u->m.vid = cfg->usb.vid;
    u->m.pid = cfg->usb.pid;
    wa_strlcpy(u->m.serial, cfg->usb.serial, sizeof u->m.serial);
    wa_strlcpy(u->m.path, cfg->usb.path, sizeof u->m.path);
    u->o.timeout_ms = cfg->timeout_ms;
    u->o.interval_s = cfg->interval_s;
    u->o.rating.nominal_w = cfg->usb.nominal_w;
    u->o.rating.nominal_va = cfg->usb.nominal_va;
    u->work.power = -1;
    /* After a failed poll nothing is added: the next good one integrates across the missed
     * ones, as the RRD holds power across them, up to the heartbeat. */
    usbhid_energy_init(&u->energy, 0, USB_MAX_GAP_INTERVALS * (double)cfg->interval_s);
    dev->work.usb = 1;
    dev->st = dev->work;
    u->st = u->work;
    /* No libusb is no reason not to start: the Modbus buses go on, and each poll tries
     * again (and reports why it cannot). */
    u->u = usbhid_new(&u->m, &u->o, e2, sizeof e2);
    if (!u->u)
        wa_log(dev->c->log, WA_LOG_ERROR, "%s: %s", dev->label, e2);
    return 0;
}

void usb_free(cdev_t *dev)
{
    if (!dev->usb)
        return;
    usbhid_free(dev->usb->u);
    meta_free(&dev->usb->meta);
    free(dev->usb);
    dev->usb = NULL;
}

int usb_open_storage(cdev_t *dev, int64_t start, char *err, size_t errlen)
{
    const sc_storage_t *sc = &dev->c->cfg->storage;
    storage_layout_t lay = {
        .step_s = dev->cfg->interval_s,
        .full_days = sc->full_days,
        .mid_step_s = sc->mid_step_s,
        .mid_days = sc->mid_days,
        .long_step_s = sc->long_step_s,
        .long_days = sc->long_days,
        .no_quality = !sc->quality,
    };
    cusb_t *u = dev->usb;
    cchan_t *ch = &dev->chans[0];
    char path[SC_PATH_MAX + 3 * SC_ID_MAX + 16], meta[sizeof path + 16], e2[512];
    storage_sample_t last;
    int64_t t = 0;
    size_t n;
    if (storage_ensure(dev->c->st, ch->rel, &lay, start, err, errlen) != 0)
        return -1;
    if (storage_path(dev->c->st, ch->rel, path, sizeof path) != 0)
        return wa_err(err, errlen, "%s: path too long", ch->rel);
    n = strlen(path);
    snprintf(meta, sizeof meta, "%.*s.meta.json", (int)(n - 4), path); /* path ends ".rrd" */
    int rc = meta_load(&u->meta, meta, ch->rel, e2, sizeof e2);
    if (rc < 0)
        return wa_err(err, errlen, "%s", e2);
    if (rc > 0)
        wa_log(dev->c->log, WA_LOG_WARN, "%s: %s", dev->label, e2);
    if (storage_resume(dev->c->st, ch->rel, &t, &last, e2, sizeof e2) == 0 &&
        isfinite(last.v[STORAGE_DS_ENERGY])) {
        /* Continue the counter; the first new reading closes the interval since the last
         * stored one (integrated if short enough, else counted as a gap). */
        usbhid_energy_init(&u->energy, last.v[STORAGE_DS_ENERGY], u->energy.max_gap_s);
        u->energy.have = 1;
        u->energy.last_t = (double)t;
        u->energy.last_w = last.v[STORAGE_DS_POWER];
        u->energy.last_estimated = meta_current(&u->meta) == 1;
        u->work.energy_wh = u->energy.wh;
        wa_log(dev->c->log, WA_LOG_INFO, "%s channel %s: energy resumes at %.1f Wh", dev->label,
               ch->id, u->energy.wh);
    }
    u->work.power = meta_current(&u->meta);
    dev->work.estimated = u->work.power == 1;
    usb_publish(dev);
    return 0;
}

/* "EATON 5E 1500i (0463:ffff, serial G118F00001)": which UPS gave the data.  The port is left
 * out: a UPS found by its serial may come back on another one. */
static void describe(const usbhid_found_t *f, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s%s%s (%04x:%04x", f->manufacturer,
                     f->manufacturer[0] && f->product[0] ? " " : "", f->product, f->vid, f->pid);
    if (n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, f->serial[0] ? ", serial %s)" : ")", f->serial);
}

static void health(cdev_t *dev, double t, int ok, const char *err)
{
    if (ok) {
        dev->work.ok++;
        dev->work.last_ok = t;
        if (dev->was_failing)
            wa_log(dev->c->log, WA_LOG_INFO, "%s: answers again", dev->label);
        dev->was_failing = 0;
        return;
    }
    dev->work.errors++;
    dev->work.last_error_time = t;
    wa_strlcpy(dev->work.last_error, err, sizeof dev->work.last_error);
    wa_log(dev->c->log, dev->was_failing ? WA_LOG_DEBUG : WA_LOG_WARN,
           "%s: poll failed: %s (data stale; tried again every %d s)", dev->label, err,
           dev->cfg->interval_s);
    dev->was_failing = 1;
}

/* A first open, or an open after a loss: say what was found and how its power is known. */
static void note_open(cdev_t *dev)
{
    cusb_t *u = dev->usb;
    usbhid_info_t info;
    usbhid_stats_t io;
    char what[320];
    usbhid_get_stats(u->u, &io);
    if (io.opens == u->opens_seen || usbhid_get_info(u->u, &info) != 0)
        return;
    u->opens_seen = io.opens;
    u->work.bound = 1;
    u->work.dev = info.dev;
    describe(&info.dev, what, sizeof what);
    int has_w = info.paths[USBHID_Q_POWER_W][0] != '\0';
    int can_estimate = info.binding.q[USBHID_Q_LOAD].field >= 0 &&
                       (info.binding.q[USBHID_Q_NOMINAL_W].field >= 0 || u->o.rating.nominal_w > 0);
    wa_log(dev->c->log, WA_LOG_INFO, "%s: %s at %s, power %s", dev->label, what, info.dev.path,
           has_w ? info.paths[USBHID_Q_POWER_W]
           : can_estimate ? "estimated from load x rating"
                          : "not reported");
    if (!has_w && !can_estimate && !u->warned_no_w) {
        u->warned_no_w = 1;
        wa_log(dev->c->log, WA_LOG_WARN,
               "%s: reports no active power, and no load with a rating in W to estimate it "
               "from; set nominal_w in the site configuration if it reports its load", dev->label);
    }
}

/* The method behind an estimate, without the load of the moment, so that it stays the same
 * from poll to poll: "load % x nominal 600 W (device)". */
static void method(const cusb_t *u, const usbhid_sample_t *s, char *buf, size_t len)
{
    double cfg = u->o.rating.nominal_w;
    double nom = cfg > 0 ? cfg : s->v[USBHID_Q_NOMINAL_W];
    snprintf(buf, len, "load %% x nominal %.0f W (%s)", nom, cfg > 0 ? "config" : "device");
}

int usb_poll(cdev_t *dev, double t)
{
    cusb_t *u = dev->usb;
    cchan_t *ch = &dev->chans[0];
    usbhid_sample_t s;
    usbhid_stats_t before, after;
    storage_sample_t ss;
    char err[512] = "";
    int64_t ts = (int64_t)floor(t);
    int rc;

    dev->work.polls++;
    if (!u->u)
        u->u = usbhid_new(&u->m, &u->o, err, sizeof err);
    usbhid_get_stats(u->u, &before);
    rc = u->u ? usbhid_read(u->u, &s, err, sizeof err) : -1;
    usbhid_get_stats(u->u, &after);
    dev->work.requests += after.get_reports - before.get_reports;
    u->work.io = after;
    {
        usbhid_info_t info;
        u->work.open = u->u && usbhid_get_info(u->u, &info) == 0;
    }
    if (rc != 0) {
        health(dev, t, 0, err);
        goto out;
    }
    note_open(dev);
    health(dev, t, 1, NULL);

    for (int k = 0; k < STORAGE_DS_COUNT_; k++)
        ss.v[k] = NAN;
    double w = s.v[USBHID_Q_POWER_W];
    int est = (s.estimated & (1u << USBHID_Q_POWER_W)) != 0;
    /* A stale value is an old interrupt report or a repeat: not the power at t. */
    if (s.stale & (1u << USBHID_Q_POWER_W))
        w = NAN;
    if (isfinite(w) && ch->rated_w > 0 && fabs(w) > USB_RATED_FACTOR * ch->rated_w) {
        dev->work.rejected++;
        wa_log(dev->c->log, WA_LOG_DEBUG, "%s: power %.1f W rejected (rated %.0f W)", dev->label,
               w, ch->rated_w);
        w = NAN;
    }
    if (!(s.stale & (1u << USBHID_Q_VOLTAGE)))
        ss.v[STORAGE_DS_VOLTAGE] = s.v[USBHID_Q_VOLTAGE];
    if (!(s.stale & (1u << USBHID_Q_CURRENT)))
        ss.v[STORAGE_DS_CURRENT] = s.v[USBHID_Q_CURRENT];
    if (isfinite(w)) {
        char how[96], what[320], e2[512];
        double gap0 = u->energy.gap_s;
        if (usbhid_energy_add(&u->energy, (double)ts, w, est)) {
            u->work.gaps++;
            wa_log(dev->c->log, WA_LOG_INFO,
                   "%s: %.0f s without power readings; not integrated (energy gap)", dev->label,
                   u->energy.gap_s - gap0);
        }
        ss.v[STORAGE_DS_POWER] = w;
        ss.v[STORAGE_DS_ENERGY] = u->energy.wh;
        if (est)
            method(u, &s, how, sizeof how);
        else
            how[0] = '\0';
        describe(&u->work.dev, what, sizeof what);
        if (meta_note(&u->meta, ts, est, how, what, e2, sizeof e2) < 0)
            wa_log(dev->c->log, WA_LOG_ERROR, "%s: sidecar: %s", dev->label, e2);
        if (u->work.power != est)
            wa_log(dev->c->log, est ? WA_LOG_WARN : WA_LOG_INFO, "%s: power is %s%s%s",
                   dev->label, est ? "estimated: " : "measured", est ? how : "",
                   est ? "; findings on it are marked estimated" : "");
        u->work.power = est;
        dev->work.estimated = est;
        wa_strlcpy(u->work.how, est ? s.how : "", sizeof u->work.how);
    } else {
        u->work.stale++;
        dev->work.stale++;
    }
    u->work.energy_wh = u->energy.wh;
    u->work.estimated_wh = u->energy.wh_estimated;
    u->work.gap_s = u->energy.gap_s;
    dev->work.gaps = u->work.gaps;
    {
        int any = 0;
        for (int k = 0; k < STORAGE_DS_COUNT_; k++)
            any |= isfinite(ss.v[k]);
        if (any && storage_put(dev->c->st, ch->rel, ts, &ss) == 0)
            atomic_fetch_add(&dev->c->stored, 1);
    }
out:
    /* A slow poll (a wedged UPS takes up to 3 timeouts) skips the slots it overran. */
    dev->next_due = poll_align(fmax(t, wa_clock_now(NULL)), dev->cfg->interval_s);
    usb_publish(dev);
    return 1;
}
