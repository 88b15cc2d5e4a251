/*
 * One poll of one device: a bounded pass over its learned plan, decoding and plausibility,
 * energy continuity, storage, and the device's health (retries, quarantine).
 *
 * Only the device's bus thread runs this.  dev->st is the published copy of the counters,
 * updated under the bus lock at the end of each poll; the rest of dev is the thread's own.
 */
#include "meters/collect/collect-private.h"

#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A row the device refused on its own is tried again after this many polls (an hour at the
 * default 60 s): firmware updates and meters that come up slowly exist. */
#define REPROBE_POLLS 60
/* First wait before a retry; it doubles per attempt, up to half the request timeout. */
#define RETRY_BACKOFF_MS 20

static void sleep_ms(double ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

double poll_align(double t, int interval_s)
{
    double iv = interval_s > 0 ? interval_s : 1;
    return (floor(t / iv) + 1) * iv;
}

/* A device rejects a request it cannot serve with one of these (Modbus Application Protocol
 * V1.1b3, 7: 01 illegal function, 02 illegal data address, 03 illegal data value); they do
 * not go away by asking again the same way. */
static int is_rejection(int e)
{
    return e == EMBXILFUN || e == EMBXILADD || e == EMBXILVAL;
}

/* Waits out the bus's inter-frame pause since the previous request on it. */
static void pace(cbus_t *b)
{
    double gap = b->cfg->inter_frame_ms / 1000.0;
    if (gap > 0 && b->last_req_mono > 0) {
        double wait = b->last_req_mono + gap - collect_mono();
        if (wait > 0)
            sleep_ms(wait * 1000);
    }
}

static int read_once(cdev_t *dev, int fn, uint16_t addr, uint16_t n, uint16_t *dst, char *err,
                     size_t errlen)
{
    cbus_t *b = dev->bus;
    mbus_stats_t before, after;
    int rc, e;
    pace(b);
    mbus_get_stats(b->mb, &before);
    rc = mbus_read(b->mb, dev->cfg->unit, fn, addr, n, dev->cfg->timeout_ms, dst, err, errlen);
    e = errno;
    mbus_get_stats(b->mb, &after);
    dev->work.requests += after.requests - before.requests;
    b->last_req_mono = collect_mono();
    errno = e;
    return rc;
}

/* One request with the device's retries and exponential back-off.  Refusals of the request
 * itself (a write code, a bad range) are not retried. */
static int read_retry(cdev_t *dev, int fn, uint16_t addr, uint16_t n, uint16_t *dst, char *err,
                      size_t errlen)
{
    double backoff = RETRY_BACKOFF_MS;
    for (int attempt = 0;; attempt++) {
        if (read_once(dev, fn, addr, n, dst, err, errlen) == 0)
            return 0;
        int e = errno;
        if (e == WA_EWRITEFC || e == EINVAL || attempt >= dev->cfg->retries ||
            atomic_load(&dev->c->quit)) {
            errno = e;
            return -1;
        }
        sleep_ms(fmin(backoff, dev->cfg->timeout_ms / 2.0));
        backoff *= 2;
        errno = e;
    }
}

static int sunspec_reader(void *arg, uint16_t addr, uint16_t n, uint16_t *dst, char *err,
                          size_t errlen)
{
    return read_retry(arg, PROFILE_FN_HOLDING, addr, n, dst, err, errlen);
}

static void mark_rows(cdev_t *dev, const plan_req_t *req, int unavailable)
{
    for (size_t r = 0; r < dev->n_rows; r++) {
        crow_t *row = &dev->rows[r];
        int hit = plan_covers(req, &dev->items[row->item].it) ||
                  (row->sf_item >= 0 && plan_covers(req, &dev->items[row->sf_item].it));
        if (!hit || row->unavailable == unavailable)
            continue;
        pthread_mutex_lock(&dev->bus->mu);
        row->unavailable = unavailable;
        pthread_mutex_unlock(&dev->bus->mu);
        wa_log(dev->c->log, unavailable ? WA_LOG_WARN : WA_LOG_INFO,
               "%s: %s %s/%s at %s register %u %s", dev->label, dev->prof->name,
               row->reg->channel, profile_quantity_name(row->reg->quantity),
               req->fn == 3 ? "holding" : "input", (unsigned)req->addr,
               unavailable ? "is refused by the device; marked unavailable"
                           : "answers again");
    }
}

/* Replaces plan[i] by the two halves of its items. */
static int split_req(cdev_t *dev, size_t i)
{
    plan_req_t half[2];
    plan_item_t *flat = calloc(dev->n_items + 1, sizeof *flat);
    int k;
    if (!flat)
        return -1;
    for (size_t j = 0; j < dev->n_items; j++)
        flat[j] = dev->items[j].it;
    k = plan_split(flat, dev->n_items, &dev->plan[i], half);
    free(flat);
    if (k != 2)
        return k;
    if (dev->n_plan + 1 > dev->cap_plan) {
        plan_req_t *p = realloc(dev->plan, (dev->cap_plan * 2) * sizeof *p);
        if (!p)
            return -1;
        dev->plan = p;
        dev->cap_plan *= 2;
    }
    wa_log(dev->c->log, WA_LOG_INFO,
           "%s: refuses %u registers at %u; reading them as %u at %u and %u at %u from now on",
           dev->label, (unsigned)dev->plan[i].n, (unsigned)dev->plan[i].addr, (unsigned)half[0].n,
           (unsigned)half[0].addr, (unsigned)half[1].n, (unsigned)half[1].addr);
    memmove(&dev->plan[i + 2], &dev->plan[i + 1], (dev->n_plan - i - 1) * sizeof *dev->plan);
    dev->plan[i] = half[0];
    dev->plan[i + 1] = half[1];
    dev->n_plan++;
    return 2;
}

/* Runs the plan; 0 if every request that should be read was read, else -1 with err. */
static int run_plan(cdev_t *dev, char *err, size_t errlen)
{
    uint16_t buf[PLAN_MAX_REGS];
    for (size_t i = 0; i < dev->n_items; i++)
        dev->items[i].have = 0;
    for (size_t i = 0; i < dev->n_plan;) {
        plan_req_t *req = &dev->plan[i];
        if (req->rejected && dev->work.polls < req->retry_poll) {
            i++;
            continue;
        }
        if (read_retry(dev, req->fn, req->addr, req->n, buf, err, errlen) == 0) {
            for (size_t k = 0; k < dev->n_items; k++) {
                citem_t *it = &dev->items[k];
                if (!plan_covers(req, &it->it))
                    continue;
                memcpy(it->w, buf + (it->it.addr - req->addr), it->it.words * sizeof *buf);
                it->have = 1;
            }
            if (req->rejected) {
                req->rejected = 0;
                mark_rows(dev, req, 0);
            }
            i++;
            continue;
        }
        if (!is_rejection(errno))
            return -1;
        int k = split_req(dev, i);
        if (k < 0)
            return wa_err(err, errlen, "out of memory");
        if (k == 0) {
            if (!req->rejected)
                mark_rows(dev, req, 1);
            req->rejected = 1;
            req->retry_poll = dev->work.polls + REPROBE_POLLS;
            i++;
        }
    }
    return 0;
}

/* Decodes one row from the words read; 0 with *v, or -1 (not read, or rejected). */
static int decode_row(cdev_t *dev, const crow_t *row, double *v)
{
    const citem_t *it = &dev->items[row->item];
    const cchan_t *ch = &dev->chans[row->chan];
    int sf = 0;
    if (!it->have || row->unavailable)
        return -1;
    if (row->sf_item >= 0) {
        const citem_t *s = &dev->items[row->sf_item];
        if (!s->have)
            return -1;
        sf = (int16_t)s->w[0];
    }
    if (profile_decode(row->reg, it->w, sf, v) != 0) {
        dev->work.rejected++;
        wa_log(dev->c->log, WA_LOG_DEBUG, "%s channel %s: %s rejected (%s)", dev->label, ch->id,
               profile_quantity_name(row->reg->quantity), wa_strerror(errno));
        return -1;
    }
    /* A channel drawing half again its rating is a misreading, not a load: breakers of the
     * rated size would have tripped. */
    if (row->ds == STORAGE_DS_POWER && ch->rated_w > 0 && fabs(*v) > 1.5 * ch->rated_w) {
        dev->work.rejected++;
        wa_log(dev->c->log, WA_LOG_DEBUG, "%s channel %s: power %.1f W rejected (rated %.0f W)",
               dev->label, ch->id, *v, ch->rated_w);
        return -1;
    }
    return 0;
}

static void store(cdev_t *dev, double t)
{
    storage_sample_t *s = calloc(dev->n_chans ? dev->n_chans : 1, sizeof *s);
    if (!s)
        return;
    for (size_t c = 0; c < dev->n_chans; c++)
        for (int k = 0; k < STORAGE_DS_COUNT_; k++)
            s[c].v[k] = NAN;
    for (size_t r = 0; r < dev->n_rows; r++) {
        double v;
        if (decode_row(dev, &dev->rows[r], &v) == 0)
            s[dev->rows[r].chan].v[dev->rows[r].ds] = v;
    }
    for (size_t c = 0; c < dev->n_chans; c++) {
        cchan_t *ch = &dev->chans[c];
        double raw = s[c].v[STORAGE_DS_ENERGY_RAW], e;
        int any = 0;
        if (ch->has_energy && isfinite(raw)) {
            double before = ch->energy.last_energy, last_raw = ch->energy.last_raw;
            energy_event_t ev = energy_update(&ch->energy, t, raw, s[c].v[STORAGE_DS_POWER],
                                              ch->rated_w, &e);
            s[c].v[STORAGE_DS_ENERGY] = e;
            if (ev == ENERGY_RESET) {
                dev->work.resets++;
                wa_log(dev->c->log, WA_LOG_WARN,
                       "%s channel %s: energy counter reset or meter changed (%.1f Wh, was "
                       "%.1f Wh): energy continues at %.1f Wh, was %.1f Wh",
                       dev->label, ch->id, raw, last_raw, e, before);
            } else if (ev == ENERGY_HELD) {
                wa_log(dev->c->log, WA_LOG_INFO,
                       "%s channel %s: energy counter %.1f Wh does not follow %.1f Wh; held "
                       "until the next reading", dev->label, ch->id, raw, last_raw);
            }
        }
        for (int k = 0; k < STORAGE_DS_COUNT_; k++)
            any |= isfinite(s[c].v[k]);
        if (any && storage_put(dev->c->st, ch->rel, (int64_t)floor(t), &s[c]) == 0)
            atomic_fetch_add(&dev->c->stored, 1);
    }
    free(s);
}

static void health(cdev_t *dev, double t, int ok, const char *err)
{
    const sc_device_t *cfg = dev->cfg;
    int quarantined = dev->fails >= cfg->quarantine_after;
    if (ok) {
        dev->work.ok++;
        dev->work.last_ok = t;
        if (quarantined)
            wa_log(dev->c->log, WA_LOG_INFO, "%s: answers again; quarantine lifted", dev->label);
        else if (dev->was_failing)
            wa_log(dev->c->log, WA_LOG_INFO, "%s: answers again", dev->label);
        dev->fails = 0;
        dev->q_backoff = 0;
        dev->was_failing = 0;
        dev->work.quarantined = 0;
        dev->next_due = poll_align(t, cfg->interval_s);
        return;
    }
    dev->work.errors++;
    dev->work.last_error_time = t;
    wa_strlcpy(dev->work.last_error, err, sizeof dev->work.last_error);
    wa_log(dev->c->log, dev->was_failing ? WA_LOG_DEBUG : WA_LOG_WARN, "%s: poll failed: %s",
           dev->label, err);
    dev->was_failing = 1;
    dev->fails++;
    if (dev->fails < cfg->quarantine_after) {
        dev->next_due = poll_align(t, cfg->interval_s);
        return;
    }
    if (!quarantined) {
        dev->q_backoff = fmin(2.0 * cfg->interval_s, cfg->quarantine_max_s);
        wa_log(dev->c->log, WA_LOG_WARN,
               "%s: quarantined after %d failed polls; next try in %.0f s", dev->label,
               dev->fails, dev->q_backoff);
    } else {
        dev->q_backoff = fmin(2.0 * dev->q_backoff, cfg->quarantine_max_s);
        wa_log(dev->c->log, WA_LOG_DEBUG, "%s: still quarantined; next try in %.0f s",
               dev->label, dev->q_backoff);
    }
    dev->work.quarantined = 1;
    dev->next_due = t + dev->q_backoff;
    /* A device that went away may come back as another one: find its SunSpec map again. */
    if (dev->prof->sunspec_model)
        dev->base_known = dev->planned = 0;
}

int poll_device(cdev_t *dev, double t)
{
    char err[512] = "";
    int ok = 1;

    dev->work.polls++;
    if (dev->prof->sunspec_model && !dev->base_known) {
        if (sunspec_find(sunspec_reader, dev, dev->prof->sunspec_model, NULL, &dev->model_addr,
                         err, sizeof err) != 0) {
            ok = 0;
            goto out;
        }
        dev->base_known = 1;
        dev->planned = 0;
        wa_log(dev->c->log, WA_LOG_INFO, "%s: SunSpec model %d at register %u", dev->label,
               dev->prof->sunspec_model, (unsigned)dev->model_addr);
    }
    if (!dev->planned && device_build_plan(dev, err, sizeof err) != 0) {
        ok = 0;
        goto out;
    }
    if (run_plan(dev, err, sizeof err) != 0)
        ok = 0;
    store(dev, t);
out:
    health(dev, t, ok, err);
    pthread_mutex_lock(&dev->bus->mu);
    dev->st = dev->work;
    pthread_mutex_unlock(&dev->bus->mu);
    return 1;
}
