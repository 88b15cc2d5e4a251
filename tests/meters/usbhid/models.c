/*
 * Report descriptors written for the tests (see models.h).
 */
#include "models.h"

#include <string.h>

/* HID 1.11, 6.2.2.2 short items: prefix = tag << 4 | type << 2 | size code. */
static void item(dbuild_t *d, uint8_t tagtype, uint32_t v, int bytes)
{
    uint8_t code = bytes == 4 ? 3 : (uint8_t)bytes;
    if (d->n + 1 + (size_t)bytes > sizeof d->b)
        return;
    d->b[d->n++] = (uint8_t)(tagtype | code);
    for (int i = 0; i < bytes; i++)
        d->b[d->n++] = (uint8_t)(v >> (8 * i));
}

/* Fewest bytes whose sign extension gives v (signed items: logical/physical limits). */
static int sbytes(int32_t v)
{
    if (v >= -128 && v <= 127)
        return 1;
    if (v >= -32768 && v <= 32767)
        return 2;
    return 4;
}

static int ubytes(uint32_t v)
{
    return v <= 0xFF ? 1 : v <= 0xFFFF ? 2 : 4;
}

void d_page(dbuild_t *d, uint16_t page) { item(d, 0x04, page, ubytes(page)); }
void d_usage(dbuild_t *d, uint16_t id) { item(d, 0x08, id, ubytes(id)); }
void d_coll(dbuild_t *d, uint8_t kind) { item(d, 0xA0, kind, 1); }
void d_end(dbuild_t *d) { item(d, 0xC0, 0, 0); }
void d_rid(dbuild_t *d, uint8_t id) { item(d, 0x84, id, 1); }
void d_lmin(dbuild_t *d, int32_t v) { item(d, 0x14, (uint32_t)v, sbytes(v)); }
void d_lmax(dbuild_t *d, int32_t v) { item(d, 0x24, (uint32_t)v, sbytes(v)); }
void d_size(dbuild_t *d, uint8_t bits) { item(d, 0x74, bits, 1); }
void d_count(dbuild_t *d, uint8_t n) { item(d, 0x94, n, 1); }
void d_unit(dbuild_t *d, uint32_t unit) { item(d, 0x64, unit, ubytes(unit)); }
void d_uexp(dbuild_t *d, int8_t e) { item(d, 0x54, (uint32_t)(e & 0x0F), 1); }
void d_feature(dbuild_t *d) { item(d, 0xB0, 0x02, 1); } /* Data, Variable, Absolute */
void d_input(dbuild_t *d) { item(d, 0x80, 0x02, 1); }

void d_var(dbuild_t *d, uint16_t usage, uint8_t bits, int32_t lmin, int32_t lmax,
           uint32_t unit, int8_t uexp, int also_input)
{
    d_usage(d, usage);
    d_lmin(d, lmin);
    d_lmax(d, lmax);
    d_size(d, bits);
    d_count(d, 1);
    d_unit(d, unit);
    d_uexp(d, uexp);
    d_feature(d);
    if (also_input) {
        d_usage(d, usage);
        d_input(d);
    }
}

/* Usages, HID Power Device Usage Tables 1.0, 4.1. */
enum { UPS = 0x04, POWERCONVERTER = 0x16, OUTLETSYSTEM = 0x18, INPUT = 0x1A, OUTPUT = 0x1C,
       FLOW = 0x1E, FLOWID = 0x1F, OUTLET = 0x20, POWERSUMMARY = 0x24, PRESENTSTATUS = 0x02,
       VOLTAGE = 0x30, CURRENT = 0x31, APPARENT = 0x33, ACTIVE = 0x34, LOAD = 0x35,
       CFG_APPARENT = 0x43, CFG_ACTIVE = 0x44, HVT = 0x54 };
/* Units, HID Power Device Usage Tables 1.0, 3.2.3: volt, watt (and VA), ampere. */
#define VOLT 0x00F0D121u
#define WATT 0x0000D121u
#define AMP 0x00100001u

static void start(dbuild_t *d)
{
    memset(d, 0, sizeof *d);
    d_page(d, 0x84);
    d_usage(d, UPS);
    d_coll(d, 1);
}

void model_eaton(dbuild_t *d)
{
    start(d);
    d_usage(d, POWERSUMMARY);
    d_coll(d, 0);
    d_rid(d, 1);
    d_var(d, LOAD, 8, 0, 100, 0, 0, 1);
    d_end(d);
    d_usage(d, POWERCONVERTER);
    d_coll(d, 0);
    d_usage(d, OUTPUT);
    d_coll(d, 0);
    d_rid(d, 2);
    d_var(d, ACTIVE, 16, 0, 65535, WATT, 7, 0);
    d_var(d, APPARENT, 16, 0, 65535, WATT, 7, 0);
    d_rid(d, 3);
    d_var(d, VOLTAGE, 16, 0, 65535, VOLT, 6, 0); /* 0.1 V */
    d_var(d, CURRENT, 16, 0, 65535, AMP, -2, 0); /* 0.01 A */
    d_end(d);
    d_end(d);
    for (int i = 1; i <= 4; i++) {
        d_usage(d, FLOW);
        d_coll(d, (uint8_t)(0x80 | i)); /* MGE's numbered collections: Flow.[i] */
        d_rid(d, (uint8_t)(0x10 + i));
        d_var(d, FLOWID, 8, 0, 255, 0, 0, 0);
        if (i == 4) {
            d_var(d, CFG_APPARENT, 16, 0, 65535, WATT, 7, 0);
            d_var(d, CFG_ACTIVE, 16, 0, 65535, WATT, 7, 0);
        }
        d_end(d);
    }
    d_end(d);
}

void model_cps(dbuild_t *d)
{
    start(d);
    d_usage(d, INPUT);
    d_coll(d, 0);
    d_rid(d, 0x0F);
    d_var(d, VOLTAGE, 16, 0, 511, VOLT, 7, 0);
    d_rid(d, 0x10);
    d_var(d, HVT, 16, 140, 150, VOLT, 7, 0);
    d_end(d);
    d_usage(d, OUTPUT);
    d_coll(d, 0);
    /* The CPS bug (NUT issue #439): no new limits before the output voltage, so it keeps
     * HighVoltageTransfer's 140..150. */
    d_rid(d, 0x12);
    d_usage(d, VOLTAGE);
    d_feature(d);
    d_rid(d, 0x13);
    d_var(d, LOAD, 8, 0, 100, 0, 0, 1);
    d_rid(d, 0x14);
    d_var(d, ACTIVE, 16, 0, 65535, WATT, 7, 0);
    d_var(d, APPARENT, 16, 0, 65535, WATT, 7, 0);
    d_rid(d, 0x18);
    d_var(d, CFG_ACTIVE, 16, 0, 65535, WATT, 7, 0);
    d_var(d, CFG_APPARENT, 16, 0, 65535, WATT, 7, 0);
    d_end(d);
    d_end(d);
}

void model_apc(dbuild_t *d)
{
    start(d);
    d_usage(d, OUTPUT);
    d_coll(d, 0);
    d_rid(d, 0x0C);
    d_var(d, LOAD, 8, 0, 100, 0, 0, 1);
    d_rid(d, 0x0D);
    d_var(d, VOLTAGE, 16, 0, 65535, VOLT, 7, 0);
    d_rid(d, 0x0E);
    d_var(d, CFG_ACTIVE, 16, 0, 65535, WATT, 7, 0);
    d_end(d);
    d_end(d);
}

void model_tripplite(dbuild_t *d)
{
    start(d);
    d_usage(d, POWERSUMMARY);
    d_coll(d, 0);
    d_rid(d, 0x30);
    /* Exponent 2 where 7 is meant: reads 10^5 too small (the SMART1500LCDT fault). */
    d_var(d, VOLTAGE, 16, 0, 65535, VOLT, 2, 0);
    d_end(d);
    d_usage(d, OUTLETSYSTEM);
    d_coll(d, 0);
    d_usage(d, OUTLET);
    d_coll(d, 0);
    d_rid(d, 0x31);
    d_var(d, ACTIVE, 16, 0, 65535, WATT, 7, 0);
    d_var(d, LOAD, 8, 0, 100, 0, 0, 0);
    d_end(d);
    d_end(d);
    d_usage(d, FLOW);
    d_coll(d, 0);
    d_rid(d, 0x32);
    d_var(d, CFG_APPARENT, 16, 0, 65535, WATT, 7, 0);
    d_end(d);
    d_end(d);
}

void model_single(dbuild_t *d)
{
    start(d);
    d_usage(d, OUTPUT);
    d_coll(d, 0);
    d_rid(d, 1);
    d_var(d, VOLTAGE, 16, 0, 65535, VOLT, 6, 0);
    d_var(d, LOAD, 8, 0, 100, 0, 0, 0);
    d_var(d, ACTIVE, 16, 0, 65535, WATT, 7, 0);
    d_var(d, APPARENT, 16, 0, 65535, WATT, 7, 0);
    d_var(d, CFG_ACTIVE, 16, 0, 65535, WATT, 7, 0);
    d_var(d, CFG_APPARENT, 16, 0, 65535, WATT, 7, 0);
    d_end(d);
    d_end(d);
}

void model_single_mge(dbuild_t *d)
{
    start(d);
    d_rid(d, 1);
    d_usage(d, POWERSUMMARY);
    d_coll(d, 0);
    d_var(d, LOAD, 8, 0, 100, 0, 0, 0);
    d_end(d);
    d_usage(d, POWERCONVERTER);
    d_coll(d, 0);
    d_usage(d, OUTPUT);
    d_coll(d, 0);
    d_var(d, ACTIVE, 16, 0, 65535, WATT, 7, 0);
    d_var(d, APPARENT, 16, 0, 65535, WATT, 7, 0);
    d_var(d, VOLTAGE, 16, 0, 65535, VOLT, 6, 0);
    d_var(d, CURRENT, 16, 0, 65535, AMP, -2, 0);
    d_end(d);
    d_end(d);
    for (int i = 1; i <= 4; i++) {
        d_usage(d, FLOW);
        d_coll(d, (uint8_t)(0x80 | i)); /* MGE's numbered collections: Flow.[i] */
        d_var(d, FLOWID, 8, 0, 255, 0, 0, 0);
        if (i == 4) {
            d_var(d, CFG_APPARENT, 16, 0, 65535, WATT, 7, 0);
            d_var(d, CFG_ACTIVE, 16, 0, 65535, WATT, 7, 0);
        }
        d_end(d);
    }
    d_end(d);
}
