/*
 * regmap.c: a device's register image, laid out from its profile.
 *
 * Plain profiles: for each function code, one block from the lowest to the highest register
 * any row uses; registers no row names read 0.  SunSpec profiles: the block a SunSpec device
 * shows at 40000 -- the "SunS" marker, the common model, the profile's meter model and the end
 * marker -- served to function 03 and 04 alike.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meters/sim/sim-private.h"

/* SunSpec Information Model Specification (v1.0, 2015), "Device Modbus Map": a SunSpec device
 * starts its map at register 40001 (PDU address 40000) with the well-known value 0x53756e53
 * ("SunS"), then model 1, the common model (ID 1, length 66: Mn 16, Md 16, Opt 8, Vr 8,
 * SN 16 registers, DA 1, Pad 1), then further models, and ends with ID 0xFFFF, length 0. */
#define SUNSPEC_BASE 40000
#define SUNSPEC_MARKER_HI 0x5375
#define SUNSPEC_MARKER_LO 0x6E53
#define SUNSPEC_COMMON_LEN 66
#define SUNSPEC_END_ID 0xFFFF
#define SUNSPEC_NA_S16 0x8000 /* "not implemented" for int16 and sunssf */
/* The meter model's ID register: after the marker (2) and the common model (2 + 66). */
#define SUNSPEC_MODEL_AT (SUNSPEC_BASE + 2 + 2 + SUNSPEC_COMMON_LEN)

#define REG_SPACE 65536u    /* register addresses are 16 bits (Application Protocol 4.4) */
#define SF_MIN (-3)         /* finer than milli-units buys nothing but overflow risk */
#define SF_MAX 10           /* sunssf range -10..10 (SunSpec, type "sunssf") */
#define TEN_YEARS_H 87600.0 /* energy registers must hold ten years at peak power */

/* Model lengths (L) from the SunSpec model definitions: 201-204 are the integer meters with
 * sunssf scale factors (L = 105), 211-214 the float meters (L = 124). */
static uint32_t sunspec_model_len(int model)
{
    if (model >= 201 && model <= 204)
        return 105;
    if (model >= 211 && model <= 214)
        return 124;
    return 0;
}

static sim_region_t *region_of(sim_dev_t *dev, profile_fn_t fn)
{
    return &dev->region[fn == PROFILE_FN_INPUT ? 1 : 0];
}

static uint32_t sf_abs(const sim_dev_t *dev, const profile_reg_t *r)
{
    return (uint32_t)r->sf_address + (dev->prof->sunspec_model ? SUNSPEC_MODEL_AT : 0u);
}

/* Largest magnitude a raw register of type t holds. */
static double type_max(profile_type_t t)
{
    switch (t) {
    case PROFILE_T_U16:
        return 65535.0;
    case PROFILE_T_S16:
        return 32767.0;
    case PROFILE_T_U32:
        return 4294967295.0;
    case PROFILE_T_S32:
        return 2147483647.0;
    case PROFILE_T_U64:
    case PROFILE_T_S64:
        return 9.2e18;
    case PROFILE_T_F32:
        return FLT_MAX;
    case PROFILE_T_F64:
        return DBL_MAX;
    }
    return 0.0;
}

/* The largest canonical value the row must carry: from the channel's peak load, capped by
 * the row's own plausible range when it has one. */
static double row_magnitude(const sim_dev_t *dev, size_t r)
{
    const profile_reg_t *reg = &dev->prof->regs[r];
    double peak = 1.5 * sim_chan_peak_w(dev, (size_t)dev->row_ch[r]), m, bound = 0.0;
    if (peak < 1000.0)
        peak = 1000.0;
    switch (reg->quantity) {
    case Q_ENERGY_IMPORT:
    case Q_ENERGY_EXPORT:
        m = peak * TEN_YEARS_H;
        break;
    case Q_VOLTAGE:
        m = 300.0;
        break;
    case Q_CURRENT:
        m = peak / 200.0;
        break;
    case Q_PF:
        m = 1.0;
        break;
    case Q_FREQUENCY:
        m = 70.0;
        break;
    default:
        m = peak;
        break;
    }
    if (!isnan(reg->min) && fabs(reg->min) > bound)
        bound = fabs(reg->min);
    if (!isnan(reg->max) && fabs(reg->max) > bound)
        bound = fabs(reg->max);
    return bound > 0.0 && bound < m ? bound : m;
}

static double factor(const profile_reg_t *r)
{
    double f = fabs(r->unit_factor * r->scale);
    return f > 0.0 && isfinite(f) ? f : 1.0;
}

/* Smallest power of ten that lets the row's largest value fit its type. */
static int row_sf(const sim_dev_t *dev, size_t r)
{
    const profile_reg_t *reg = &dev->prof->regs[r];
    double raw = row_magnitude(dev, r) / factor(reg);
    for (int sf = SF_MIN; sf < SF_MAX; sf++)
        if (raw / pow(10.0, sf) <= type_max(reg->type))
            return sf;
    return SF_MAX;
}

static void put_string(uint16_t *w, size_t regs, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < regs; i++) {
        unsigned hi = 2 * i < n ? (unsigned char)s[2 * i] : 0;
        unsigned lo = 2 * i + 1 < n ? (unsigned char)s[2 * i + 1] : 0;
        w[i] = (uint16_t)(hi << 8 | lo);
    }
}

static int layout_sunspec(sim_dev_t *dev, char *err, size_t errlen)
{
    const profile_t *p = dev->prof;
    uint32_t len = sunspec_model_len(p->sunspec_model), need = 2, total;
    uint16_t *w, *common;

    for (size_t r = 0; r < p->n_regs; r++) {
        uint32_t end = p->regs[r].address + profile_type_words(p->regs[r].type);
        if (end > need)
            need = end;
        if (p->regs[r].sf_address >= 0 && (uint32_t)p->regs[r].sf_address + 1 > need)
            need = (uint32_t)p->regs[r].sf_address + 1;
    }
    if (need > len + 2)
        len = need - 2; /* a model the simulator has no length for: as long as its rows */
    total = SUNSPEC_MODEL_AT - SUNSPEC_BASE + 2 + len + 2;
    if (SUNSPEC_BASE + total > REG_SPACE) {
        errno = WA_ECONFIG;
        return wa_err(err, errlen, "%s: SunSpec model %d of %u registers does not fit below 65536",
                      p->file, p->sunspec_model, len);
    }
    if (!(w = calloc(total, sizeof *w))) {
        errno = ENOMEM;
        return wa_err(err, errlen, "sim: out of memory");
    }
    w[0] = SUNSPEC_MARKER_HI;
    w[1] = SUNSPEC_MARKER_LO;
    w[2] = 1;
    w[3] = SUNSPEC_COMMON_LEN;
    common = w + 4;
    put_string(common, 16, "wattaudit-sim");   /* Mn */
    put_string(common + 16, 16, p->model);     /* Md */
    put_string(common + 32, 8, p->name);       /* Opt: which profile is simulated */
    put_string(common + 40, 8, "0.1");         /* Vr */
    put_string(common + 48, 16, dev->cfg->id); /* SN */
    common[64] = (uint16_t)dev->cfg->unit;     /* DA */
    common[65] = SUNSPEC_NA_S16;               /* Pad */
    w[SUNSPEC_MODEL_AT - SUNSPEC_BASE] = (uint16_t)p->sunspec_model;
    w[SUNSPEC_MODEL_AT - SUNSPEC_BASE + 1] = (uint16_t)len;
    w[total - 2] = SUNSPEC_END_ID;
    w[total - 1] = 0;
    dev->region[0] = (sim_region_t){SUNSPEC_BASE, total, w, 0};
    dev->region[1] = (sim_region_t){SUNSPEC_BASE, total, w, 1};
    for (size_t r = 0; r < p->n_regs; r++)
        dev->row_addr[r] = SUNSPEC_MODEL_AT + p->regs[r].address;
    return 0;
}

static int layout_plain(sim_dev_t *dev, char *err, size_t errlen)
{
    const profile_t *p = dev->prof;
    for (int fi = 0; fi < 2; fi++) {
        profile_fn_t fn = fi ? PROFILE_FN_INPUT : PROFILE_FN_HOLDING;
        uint32_t lo = REG_SPACE, hi = 0;
        for (size_t r = 0; r < p->n_regs; r++) {
            const profile_reg_t *reg = &p->regs[r];
            uint32_t a = reg->address, e = a + profile_type_words(reg->type);
            if (reg->fn != fn)
                continue;
            if (reg->sf_address >= 0) {
                uint32_t s = sf_abs(dev, reg);
                lo = s < lo ? s : lo;
                hi = s + 1 > hi ? s + 1 : hi;
            }
            lo = a < lo ? a : lo;
            hi = e > hi ? e : hi;
        }
        if (hi > REG_SPACE) {
            errno = WA_ECONFIG;
            return wa_err(err, errlen, "%s: a register runs past address 65535", p->file);
        }
        if (lo >= hi)
            continue;
        if (!(dev->region[fi].words = calloc(hi - lo, sizeof(uint16_t)))) {
            errno = ENOMEM;
            return wa_err(err, errlen, "sim: out of memory");
        }
        dev->region[fi].start = (uint16_t)lo;
        dev->region[fi].count = hi - lo;
    }
    for (size_t r = 0; r < p->n_regs; r++)
        dev->row_addr[r] = p->regs[r].address;
    return 0;
}

/* Each sunssf register serves the largest exponent any row scaled by it needs. */
static void fix_scale_factors(sim_dev_t *dev)
{
    const profile_t *p = dev->prof;
    for (size_t r = 0; r < p->n_regs; r++) {
        const profile_reg_t *reg = &p->regs[r];
        sim_region_t *rg = region_of(dev, reg->fn);
        int sf = SF_MIN;
        uint32_t at;
        if (reg->sf_address < 0)
            continue;
        at = sf_abs(dev, reg);
        for (size_t o = 0; o < p->n_regs; o++) {
            const profile_reg_t *other = &p->regs[o];
            if (other->sf_address >= 0 && sf_abs(dev, other) == at &&
                region_of(dev, other->fn)->words == rg->words) {
                int need = row_sf(dev, o);
                sf = need > sf ? need : sf;
            }
        }
        dev->row_sf[r] = sf;
        profile_encode(sf, PROFILE_T_S16, PROFILE_ABCD, rg->words + (at - rg->start));
    }
}

int sim_regmap_build(sim_dev_t *dev, char *err, size_t errlen)
{
    size_t n = dev->prof->n_regs ? dev->prof->n_regs : 1;
    dev->row_addr = calloc(n, sizeof *dev->row_addr);
    dev->row_sf = calloc(n, sizeof *dev->row_sf);
    if (!dev->row_addr || !dev->row_sf) {
        errno = ENOMEM;
        return wa_err(err, errlen, "sim: out of memory");
    }
    if ((dev->prof->sunspec_model ? layout_sunspec(dev, err, errlen)
                                  : layout_plain(dev, err, errlen)) != 0)
        return -1;
    fix_scale_factors(dev);
    sim_regmap_encode(dev);
    return 0;
}

static double row_value(const sim_dev_t *dev, const profile_reg_t *reg, const sim_values_t *v)
{
    switch (reg->quantity) {
    case Q_POWER:
        return v->p;
    case Q_ENERGY_IMPORT:
        return v->wh;
    case Q_ENERGY_EXPORT:
        return 0.0; /* the simulated loads never feed back */
    case Q_VOLTAGE:
        return v->v;
    case Q_CURRENT:
        return v->i;
    case Q_PF:
        return v->pf;
    case Q_FREQUENCY:
        return dev->freq;
    default:
        return 0.0;
    }
}

static int is_sentinel(const profile_reg_t *reg, const uint16_t *w)
{
    uint64_t raw = profile_raw(w, reg->type, reg->order);
    for (size_t i = 0; i < reg->n_sentinels && i < PROFILE_SENTINELS_MAX; i++)
        if (raw == reg->sentinels[i])
            return 1;
    return 0;
}

/* A true value that happens to encode as a "not available" pattern (SunSpec's acc32 reads 0
 * as "not accumulated") is served one raw step away, as a meter that has counted would show. */
static void encode_valid(const profile_reg_t *reg, double raw, uint16_t *w)
{
    profile_encode(raw, reg->type, reg->order, w);
    for (int dir = 1; dir >= -1 && is_sentinel(reg, w); dir -= 2) {
        double next = reg->type == PROFILE_T_F32   ? nextafterf((float)raw, dir * INFINITY)
                      : reg->type == PROFILE_T_F64 ? nextafter(raw, dir * INFINITY)
                                                   : round(raw) + dir;
        profile_encode(next, reg->type, reg->order, w);
    }
}

void sim_regmap_encode(sim_dev_t *dev)
{
    const profile_t *p = dev->prof;
    for (size_t r = 0; r < p->n_regs; r++) {
        const profile_reg_t *reg = &p->regs[r];
        sim_region_t *rg = region_of(dev, reg->fn);
        double raw = row_value(dev, reg, &dev->ch[dev->row_ch[r]].now);
        double f = reg->unit_factor * reg->scale;
        raw = f != 0.0 && isfinite(f) ? raw / f : raw;
        if (reg->sf_address >= 0) {
            int sf = dev->row_sf[r];
            /* Multiplying by an exact power of ten rounds better than dividing by 0.1. */
            raw = sf >= 0 ? raw / pow(10.0, sf) : raw * pow(10.0, -sf);
        }
        encode_valid(reg, raw, rg->words + (dev->row_addr[r] - rg->start));
    }
}

void sim_regmap_garble(sim_dev_t *dev, int fn, uint16_t addr, uint16_t count, uint16_t *words)
{
    const profile_t *p = dev->prof;
    const uint16_t *image = region_of(dev, (profile_fn_t)fn)->words;
    uint32_t lo = addr, hi = (uint32_t)addr + count;
    for (size_t r = 0; r < p->n_regs; r++) {
        const profile_reg_t *reg = &p->regs[r];
        uint32_t a = dev->row_addr[r];
        unsigned n = profile_type_words(reg->type);
        uint16_t g[4];
        if (region_of(dev, reg->fn)->words != image || a + n <= lo || a >= hi)
            continue;
        sim_garbage_row(reg, dev->row_sf[r], sim_next64(&dev->rng), g);
        for (unsigned k = 0; k < n; k++)
            if (a + k >= lo && a + k < hi)
                words[a + k - lo] = g[k];
        if (reg->sf_address >= 0 && sf_abs(dev, reg) >= lo && sf_abs(dev, reg) < hi)
            words[sf_abs(dev, reg) - lo] = SUNSPEC_NA_S16;
    }
}
