/*
 * One bounded poll of one device; re-open after failures; hotplug; stale data.
 *
 * What USB UPSes really do: vanish and re-enumerate (often at the moment the mains fail),
 * stall GET_REPORT for input reports, stop answering for a few seconds, send interrupt
 * reports only when something changes.  A poll therefore never trusts the handle from the
 * last one blindly, never waits more than a few timeouts, and says which values are fresh.
 */
#include "meters/usbhid/usbhid-private.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/common.h"

/* Interrupt reports are drained with this short wait each: a pending report arrives within
 * one bInterval (at most 255 ms at full speed, USB 2.0 9.6.6; UPSes use 10 ms or so) of the
 * IN token, so a short wait finds what is queued without delaying the poll. */
#define DRAIN_WAIT_MS 20
/* A UPS sends a handful of reports per change (status, charge, load); more than this in one
 * poll means a chatty device, and the rest waits for the next poll. */
#define DRAIN_MAX 8
/* Longest interrupt report kept: a full-speed interrupt packet is at most 64 bytes (USB 2.0,
 * 5.7.3) and UPS input reports fit in one. */
#define INTR_MAX 64
/* Two timeouts in a row: the device is wedged, give up this poll and re-open next time. */
#define TIMEOUTS_ABORT 2
#define PLAN_MAX USBHID_Q_COUNT_
#define REPORT_MAX 1025 /* hidparse.c's 1024-byte report limit and the ID byte */

typedef struct intr_cache {
    uint8_t data[INTR_MAX];
    size_t len;
    double t; /* monotonic seconds; 0 = never */
} intr_cache_t;

struct usbhid_dev {
    libusb_context *ctx;
    usbhid_match_t m;
    usbhid_opts_t o;
    usbhid_conn_t c;
    int open;
    libusb_hotplug_callback_handle hp;
    int have_hp;
    int gone;
    usbhid_stats_t st;
    intr_cache_t cache[256];
    uint8_t rep[PLAN_MAX][REPORT_MAX];
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int hotplug_cb(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev,
                      void *arg)
{
    usbhid_dev_t *u = arg;
    (void)ctx;
    u->st.hotplug_events++;
    /* Only flags here: libusb forbids closing handles from inside a callback. */
    if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT && u->open && u->c.h &&
        libusb_get_device(u->c.h) == dev)
        u->gone = 1;
    return 0;
}

usbhid_dev_t *usbhid_new(const usbhid_match_t *m, const usbhid_opts_t *o, char *err,
                         size_t errlen)
{
    usbhid_dev_t *u = calloc(1, sizeof *u);
    if (!u) {
        errno = ENOMEM;
        wa_err(err, errlen, "out of memory");
        return NULL;
    }
    if (m)
        u->m = *m;
    if (o)
        u->o = *o;
    if (u->o.timeout_ms <= 0)
        u->o.timeout_ms = 1000;
    if (u->o.interval_s <= 0)
        u->o.interval_s = 60;
    if (!(u->o.max_age_s > 0))
        u->o.max_age_s = 2.0 * u->o.interval_s;
    int rc = libusb_init(&u->ctx);
    if (rc != 0) {
        errno = usbhid_errno(rc);
        wa_err(err, errlen, "libusb: %s", libusb_strerror(rc));
        free(u);
        return NULL;
    }
    if (!u->o.no_hotplug && libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
        rc = libusb_hotplug_register_callback(
            u->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
            u->m.vid ? u->m.vid : LIBUSB_HOTPLUG_MATCH_ANY,
            u->m.pid ? u->m.pid : LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, hotplug_cb,
            u, &u->hp);
        u->have_hp = rc == LIBUSB_SUCCESS;
    }
    return u;
}

void usbhid_close(usbhid_dev_t *u)
{
    if (!u || !u->open)
        return;
    usbhid_conn_close(&u->c);
    u->open = 0;
    u->gone = 0;
}

void usbhid_free(usbhid_dev_t *u)
{
    if (!u)
        return;
    usbhid_close(u);
    if (u->have_hp)
        libusb_hotplug_deregister_callback(u->ctx, u->hp);
    libusb_exit(u->ctx);
    free(u);
}

static int ensure_open(usbhid_dev_t *u, char *err, size_t errlen)
{
    if (u->open && u->gone) {
        u->st.disconnects++;
        usbhid_close(u);
    }
    if (u->open)
        return 0;
    if (usbhid_find_and_open(u->ctx, &u->m, (unsigned)u->o.timeout_ms, &u->c, err, errlen) < 0)
        return -1;
    u->open = 1;
    u->gone = 0;
    u->st.opens++;
    memset(u->cache, 0, sizeof u->cache);
    return 0;
}

/* A transfer error that means the handle is dead (unplugged, re-enumerated). */
static int fatal(int rc)
{
    return rc == LIBUSB_ERROR_NO_DEVICE || rc == LIBUSB_ERROR_IO ||
           rc == LIBUSB_ERROR_NOT_FOUND;
}

static int drain(usbhid_dev_t *u)
{
    if (!u->c.ep_in || u->o.no_interrupt || u->c.binding.no_interrupt)
        return 0;
    for (int i = 0; i < DRAIN_MAX; i++) {
        uint8_t b[INTR_MAX];
        int got = 0;
        /* A whole report, not one packet: a report longer than wMaxPacketSize comes in
         * several packets and ends with a short one (USB 2.0, 5.7.3).  One that fills its
         * last packet exactly may end with no zero-length packet, and then arrives with a
         * timeout; its bytes are kept. */
        int rc = usbhid_door_interrupt_in(u->c.h, u->c.ep_in, b, INTR_MAX, &got, DRAIN_WAIT_MS);
        if (rc == LIBUSB_ERROR_TIMEOUT && got <= 0)
            return 0;
        if (rc == LIBUSB_ERROR_ACCESS) {
            u->st.refused++;
            return 0;
        }
        if (rc != 0 && rc != LIBUSB_ERROR_TIMEOUT)
            return fatal(rc) ? rc : 0;
        if (got <= 0)
            continue;
        u->st.interrupts++;
        uint8_t id = usbhid_desc_has_ids(u->c.desc) ? b[0] : 0;
        intr_cache_t *c = &u->cache[id];
        memcpy(c->data, b, (size_t)got);
        c->len = (size_t)got;
        c->t = mono();
        if (rc == LIBUSB_ERROR_TIMEOUT)
            return 0;
    }
    return 0;
}

static int have_report(const usbhid_report_t *reps, size_t n, uint8_t type, uint8_t id,
                       int ids)
{
    for (size_t i = 0; i < n; i++)
        if (reps[i].type == type && (!ids || (reps[i].len && reps[i].data[0] == id)))
            return 1;
    return 0;
}

/* Input reports that GET_REPORT did not give (stalled, timed out) but the interrupt pipe
 * did: for quantities bound to an Input field, or to a Feature with an Input twin.  Returns
 * 1 if any of them is fresh. */
static int from_interrupts(usbhid_dev_t *u, usbhid_report_t *reps, size_t *nrep)
{
    int ids = usbhid_desc_has_ids(u->c.desc), fresh = 0;
    for (int q = 0; q < USBHID_Q_COUNT_ && *nrep < PLAN_MAX; q++) {
        const usbhid_source_t *s = &u->c.binding.q[q];
        if (s->field < 0)
            continue;
        const usbhid_field_t *f = usbhid_desc_field(u->c.desc, (size_t)s->field);
        if (have_report(reps, *nrep, f->type, f->report_id, ids))
            continue;
        if (f->type != USBHID_INPUT)
            f = s->twin >= 0 ? usbhid_desc_field(u->c.desc, (size_t)s->twin) : NULL;
        if (!f || have_report(reps, *nrep, USBHID_INPUT, f->report_id, ids))
            continue;
        intr_cache_t *c = &u->cache[ids ? f->report_id : 0];
        if (c->t <= 0)
            continue;
        int stale = mono() - c->t > u->o.max_age_s;
        uint8_t *buf = u->rep[*nrep];
        memcpy(buf, c->data, c->len);
        reps[(*nrep)++] = (usbhid_report_t){USBHID_INPUT, buf, c->len, stale};
        fresh |= !stale;
    }
    return fresh;
}

int usbhid_read(usbhid_dev_t *u, usbhid_sample_t *out, char *err, size_t errlen)
{
    usbhid_report_ref_t plan[PLAN_MAX];
    usbhid_report_t reps[PLAN_MAX];
    size_t nrep = 0;
    int last_err = 0, timeouts_in_row = 0, all_timeouts = 1, got_any = 0;
    struct timeval zero = {0, 0};
    if (!u || !out) {
        errno = EINVAL;
        return wa_err(err, errlen, "no device or no sample");
    }
    u->st.polls++;
    /* Deliver pending hotplug events (sets u->gone) before trusting the handle. */
    libusb_handle_events_timeout_completed(u->ctx, &zero, NULL);
    if (ensure_open(u, err, errlen) < 0) {
        u->st.errors++;
        return -1;
    }
    int rc = drain(u);
    if (rc != 0 && fatal(rc)) {
        u->st.errors++;
        u->st.disconnects++;
        usbhid_close(u);
        errno = usbhid_errno(rc);
        return wa_err(err, errlen, "%s: interrupt IN: %s", u->m.path[0] ? u->m.path : "device",
                      libusb_strerror(rc));
    }
    size_t n = usbhid_plan(u->c.desc, &u->c.binding, plan, PLAN_MAX);
    if (n == 0) {
        u->st.errors++;
        errno = WA_EPROTO;
        return wa_err(err, errlen, "%s: nothing known to read on %04x:%04x", u->c.info.path,
                      u->c.info.vid, u->c.info.pid);
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = usbhid_report_len(u->c.desc, plan[i].type, plan[i].id);
        if (len == 0 || len > REPORT_MAX)
            continue;
        uint8_t *buf = u->rep[nrep];
        u->st.get_reports++;
        rc = usbhid_door_control_in(u->c.h, USBHID_RT_CLASS_IFACE_IN, USBHID_REQ_GET_REPORT,
                                    (uint16_t)(plan[i].type << 8 | plan[i].id),
                                    (uint16_t)u->c.iface, buf, (uint16_t)len,
                                    (unsigned)u->o.timeout_ms);
        if (rc > 0 && (!usbhid_desc_has_ids(u->c.desc) || buf[0] == plan[i].id)) {
            reps[nrep++] = (usbhid_report_t){plan[i].type, buf, (size_t)rc, 0};
            got_any = 1;
            all_timeouts = 0;
            timeouts_in_row = 0;
            continue;
        }
        if (rc == LIBUSB_ERROR_ACCESS) {
            u->st.refused++;
            continue;
        }
        last_err = rc > 0 ? LIBUSB_ERROR_OTHER : rc;
        if (rc == LIBUSB_ERROR_TIMEOUT) {
            u->st.timeouts++;
            timeouts_in_row++;
        } else {
            all_timeouts = 0;
            timeouts_in_row = 0;
            if (rc == LIBUSB_ERROR_PIPE)
                u->st.stalls++;
        }
        if (fatal(rc))
            break;
        if (timeouts_in_row >= TIMEOUTS_ABORT)
            break;
    }
    got_any |= from_interrupts(u, reps, &nrep);
    if (last_err && (fatal(last_err) || (!got_any && all_timeouts))) {
        u->st.errors++;
        if (fatal(last_err))
            u->st.disconnects++;
        char path[32];
        wa_strlcpy(path, u->c.info.path, sizeof path);
        usbhid_close(u);
        errno = usbhid_errno(last_err);
        return wa_err(err, errlen, "%s: GET_REPORT: %s (closed, re-opened on the next poll)",
                      path, libusb_strerror(last_err));
    }
    out->t = wall();
    int known = usbhid_decode(u->c.desc, &u->c.binding, reps, nrep, &u->o.rating, out);
    if (!got_any || known == 0) {
        u->st.errors++;
        errno = last_err ? usbhid_errno(last_err) : WA_EPROTO;
        return wa_err(err, errlen, "%s: no value read (%s)", u->c.info.path,
                      last_err ? libusb_strerror(last_err) : "reports did not decode");
    }
    u->st.ok++;
    return 0;
}

int usbhid_get_info(const usbhid_dev_t *u, usbhid_info_t *out)
{
    if (!u || !out) {
        errno = EINVAL;
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!u->open) {
        errno = ENODEV;
        return -1;
    }
    out->open = 1;
    out->dev = u->c.info;
    out->binding = u->c.binding;
    for (int q = 0; q < USBHID_Q_COUNT_; q++) {
        int f = u->c.binding.q[q].field;
        if (f >= 0)
            usbhid_path_format(usbhid_desc_field(u->c.desc, (size_t)f), out->paths[q],
                               sizeof out->paths[q]);
    }
    return 0;
}

void usbhid_get_stats(const usbhid_dev_t *u, usbhid_stats_t *out)
{
    if (!out)
        return;
    if (!u) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = u->st;
}
