/*
 * Setting up one device: which channels are recorded, which profile rows feed them, which
 * register ranges that takes, and where the channel files resume.
 */
#include "meters/collect/collect-private.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int device_quantity_ds(profile_quantity_t q)
{
    switch (q) {
    case Q_POWER: return STORAGE_DS_POWER;
    case Q_ENERGY_IMPORT: return STORAGE_DS_ENERGY_RAW;
    case Q_VOLTAGE: return STORAGE_DS_VOLTAGE;
    case Q_CURRENT: return STORAGE_DS_CURRENT;
    case Q_PF: return STORAGE_DS_PF;
    case Q_FREQUENCY: return STORAGE_DS_FREQUENCY;
    default: return -1; /* exported energy has no data source: auditing looks at what is drawn */
    }
}

static int profile_has_channel(const profile_t *p, const char *name)
{
    for (size_t i = 0; i < p->n_channels; i++)
        if (strcmp(p->channels[i], name) == 0)
            return 1;
    return 0;
}

static int add_rows(cdev_t *dev, size_t chan, const char *source)
{
    const profile_t *p = dev->prof;
    int seen[STORAGE_DS_COUNT_] = {0};
    /* Without quality data sources their registers are not read at all. */
    int n_ds = dev->c->cfg->storage.quality ? STORAGE_DS_COUNT_ : STORAGE_DS_VOLTAGE;
    for (size_t r = 0; r < p->n_regs; r++) {
        const profile_reg_t *reg = &p->regs[r];
        int ds = device_quantity_ds(reg->quantity);
        /* The first row of a quantity in the profile wins; a profile lists the preferred one
         * first. */
        if (strcmp(reg->channel, source) != 0 || ds < 0 || ds >= n_ds || seen[ds])
            continue;
        seen[ds] = 1;
        crow_t *row = &dev->rows[dev->n_rows++];
        memset(row, 0, sizeof *row);
        row->reg = reg;
        row->chan = chan;
        row->ds = (storage_ds_t)ds;
        row->sf_item = -1;
        if (ds == STORAGE_DS_ENERGY_RAW)
            dev->chans[chan].has_energy = 1;
    }
    return 0;
}

int device_setup(collector_t *c, cdev_t *dev, cbus_t *bus, const sc_site_t *site,
                 const sc_device_t *cfg, char *err, size_t errlen)
{
    const profile_t *p = bus->cfg->kind == SC_BUS_USB ? NULL : profile_set_find(c->ps, cfg->profile);
    size_t n_chans;

    memset(dev, 0, sizeof *dev);
    dev->c = c;
    dev->bus = bus;
    dev->site = site;
    dev->cfg = cfg;
    if (bus->cfg->kind == SC_BUS_USB)
        snprintf(dev->label, sizeof dev->label, "site %s bus %s (USB device %s)", site->id,
                 bus->cfg->id, cfg->id);
    else
        snprintf(dev->label, sizeof dev->label, "site %s bus %s unit %d (device %s)", site->id,
                 bus->cfg->id, cfg->unit, cfg->id);
    wa_strlcpy(dev->work.site, site->id, sizeof dev->work.site);
    wa_strlcpy(dev->work.bus, bus->cfg->id, sizeof dev->work.bus);
    wa_strlcpy(dev->work.device, cfg->id, sizeof dev->work.device);
    dev->work.unit = cfg->unit;
    dev->st = dev->work;
    if (bus->cfg->kind == SC_BUS_USB) {
        /* siteconf gives a USB device exactly one channel; it has no rows or plan. */
        if (cfg->n_channels != 1) {
            errno = WA_ECONFIG;
            return wa_err(err, errlen, "%s:%d: device \"%s\": a USB device has one channel",
                          c->cfg->file, cfg->line, cfg->id);
        }
        dev->chans = calloc(1, sizeof *dev->chans);
        if (!dev->chans)
            return wa_err(err, errlen, "out of memory");
        dev->n_chans = 1;
        dev->chans[0].id = cfg->channels[0].id;
        dev->chans[0].rated_w = cfg->channels[0].rated_w;
        snprintf(dev->chans[0].rel, sizeof dev->chans[0].rel, "%s/%s/%s", site->id, cfg->id,
                 cfg->channels[0].id);
        return usb_setup(dev, err, errlen);
    }
    if (!p) {
        errno = WA_EPROFILE;
        return wa_err(err, errlen, "%s:%d: device \"%s\": no profile \"%s\"", c->cfg->file,
                      cfg->line, cfg->id, cfg->profile);
    }
    dev->prof = p;
    dev->max_regs = plan_limit(cfg->max_regs, p->max_regs);
    n_chans = cfg->n_channels ? cfg->n_channels : p->n_channels;
    dev->chans = calloc(n_chans ? n_chans : 1, sizeof *dev->chans);
    /* Each channel takes at most one row per data source. */
    dev->rows = calloc(n_chans * STORAGE_DS_COUNT_ + 1, sizeof *dev->rows);
    if (!dev->chans || !dev->rows)
        return wa_err(err, errlen, "out of memory");
    for (size_t i = 0; i < n_chans; i++) {
        cchan_t *ch = &dev->chans[i];
        const char *source;
        if (cfg->n_channels) {
            const sc_channel_t *cc = &cfg->channels[i];
            if (!profile_has_channel(p, cc->source)) {
                errno = WA_ECONFIG;
                return wa_err(err, errlen, "%s:%d: channel \"%s\": profile \"%s\" has no channel "
                              "\"%s\"", c->cfg->file, cc->line, cc->id, p->name, cc->source);
            }
            ch->id = cc->id;
            ch->rated_w = cc->rated_w;
            source = cc->source;
        } else {
            ch->id = p->channels[i];
            source = p->channels[i];
        }
        snprintf(ch->rel, sizeof ch->rel, "%s/%s/%s", site->id, cfg->id, ch->id);
        energy_init(&ch->energy, 0, NAN, NAN);
        add_rows(dev, i, source);
        dev->n_chans++;
    }
    return 0;
}

/* Index of the item (fn, addr, words), added if new. */
static size_t item_index(cdev_t *dev, uint8_t fn, uint16_t addr, uint8_t words)
{
    for (size_t i = 0; i < dev->n_items; i++)
        if (dev->items[i].it.fn == fn && dev->items[i].it.addr == addr &&
            dev->items[i].it.words == words)
            return i;
    memset(&dev->items[dev->n_items], 0, sizeof dev->items[0]);
    dev->items[dev->n_items].it = (plan_item_t){fn, addr, words};
    return dev->n_items++;
}

int device_build_plan(cdev_t *dev, char *err, size_t errlen)
{
    uint32_t base = dev->prof->sunspec_model ? dev->model_addr : 0;
    plan_item_t *flat;
    int n;

    free(dev->items);
    free(dev->plan);
    dev->items = calloc(2 * dev->n_rows + 1, sizeof *dev->items);
    dev->plan = NULL;
    dev->n_items = dev->n_plan = dev->cap_plan = 0;
    if (!dev->items)
        return wa_err(err, errlen, "out of memory");
    for (size_t r = 0; r < dev->n_rows; r++) {
        crow_t *row = &dev->rows[r];
        unsigned words = profile_type_words(row->reg->type);
        uint32_t a = base + row->reg->address;
        if (a + words > 0x10000u) {
            errno = WA_EPROFILE;
            return wa_err(err, errlen, "%s: row at %u runs past register 65535", dev->prof->file,
                          (unsigned)a);
        }
        row->item = item_index(dev, (uint8_t)row->reg->fn, (uint16_t)a, (uint8_t)words);
        row->sf_item = -1;
        if (row->reg->sf_address >= 0) {
            uint32_t s = base + (uint32_t)row->reg->sf_address;
            if (s + 1 > 0x10000u) {
                errno = WA_EPROFILE;
                return wa_err(err, errlen, "%s: sunssf at %u runs past register 65535",
                              dev->prof->file, (unsigned)s);
            }
            row->sf_item = (long)item_index(dev, (uint8_t)row->reg->fn, (uint16_t)s, 1);
        }
    }
    flat = calloc(dev->n_items + 1, sizeof *flat);
    dev->cap_plan = 2 * dev->n_items + 2;
    dev->plan = calloc(dev->cap_plan, sizeof *dev->plan);
    if (!flat || !dev->plan) {
        free(flat);
        return wa_err(err, errlen, "out of memory");
    }
    for (size_t i = 0; i < dev->n_items; i++)
        flat[i] = dev->items[i].it;
    n = plan_build(flat, dev->n_items, dev->cfg->max_gap, dev->max_regs, dev->plan);
    free(flat);
    if (n < 0)
        return wa_err(err, errlen, "cannot plan the reads: %s", wa_strerror(errno));
    dev->n_plan = (size_t)n;
    dev->planned = 1;
    return 0;
}

int device_open_storage(cdev_t *dev, int64_t start, char *err, size_t errlen)
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
    if (dev->usb)
        return usb_open_storage(dev, start, err, errlen);
    for (size_t i = 0; i < dev->n_chans; i++) {
        cchan_t *ch = &dev->chans[i];
        char e2[256];
        storage_sample_t last;
        int64_t t = 0;
        if (storage_ensure(dev->c->st, ch->rel, &lay, start, err, errlen) != 0)
            return -1;
        if (!ch->has_energy)
            continue;
        if (storage_resume(dev->c->st, ch->rel, &t, &last, e2, sizeof e2) == 0)
            energy_init(&ch->energy, (double)t, last.v[STORAGE_DS_ENERGY],
                        last.v[STORAGE_DS_ENERGY_RAW]);
        if (ch->energy.have)
            wa_log(dev->c->log, WA_LOG_INFO,
                   "%s channel %s: energy resumes at %.1f Wh (meter %.1f Wh)", dev->label, ch->id,
                   ch->energy.last_energy, ch->energy.last_raw);
    }
    return 0;
}

void device_free(cdev_t *dev)
{
    if (!dev)
        return;
    usb_free(dev);
    free(dev->chans);
    free(dev->rows);
    free(dev->items);
    free(dev->plan);
}
